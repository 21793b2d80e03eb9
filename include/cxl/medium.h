/* cxl/medium.h - open and map a shared memory medium.
 *
 * A medium is a byte range that several hosts map, each at its own address:
 *   - a regular file, /dev/shm included (created and sized on request),
 *   - a PCI BAR file, /sys/bus/pci/devices/<bdf>/resource2 (ivshmem in a guest),
 *   - a UIO device /dev/uioN (map index selects the mmap offset),
 *   - a device-DAX node /dev/daxX.Y (real CXL memory, 2 MiB alignment).
 * The kind is chosen from the path and what it refers to.
 */
#ifndef CXL_MEDIUM_H
#define CXL_MEDIUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_DEFAULT_PATH "/dev/shm/cxl_shared.raw"
#define CXL_DEFAULT_MAP_SIZE (1ull << 30)

enum cxl_medium_kind {
    CXL_MEDIUM_FILE = 1, /* regular file (tmpfs, disk, memory-backend-file) */
    CXL_MEDIUM_PCI_BAR,  /* /sys/bus/pci/devices/.../resourceN */
    CXL_MEDIUM_UIO,      /* /dev/uioN */
    CXL_MEDIUM_DAX,      /* /dev/daxX.Y */
};

struct cxl_medium_config {
    const char *path;    /* NULL: CXL_DEFAULT_PATH */
    uint64_t map_size;   /* bytes to map; 0: all of it past map_offset */
    uint64_t map_offset; /* byte offset into the backing; any value maps, but
                          * a ring layout needs a multiple of 128 (use 4096) */
    int create;          /* regular file: create it / grow it to fit */
    int numa_node;       /* file: bind pages to this node; -1: no binding */
    int prefault;        /* touch every page after mapping */
    int uio_map;         /* /dev/uioN: which map (mmap offset map*page) */
    int allow_foreign;   /* accept a path that another local user controls: a
                          * symbolic link, a file owned by another user or
                          * writable by everyone (refused by default) */
};

struct cxl_medium;

/* Fill cfg with defaults: CXL_DEFAULT_PATH, 1 GiB, offset 0, no create,
 * numa_node -1, no prefault, uio map 0. */
void cxl_medium_config_init(struct cxl_medium_config *cfg);

/* Open and map. On failure returns a CXL_E* code; cxl_last_error() says why
 * (the path, the sizes involved, the errno text). A file it creates is mode
 * 0600; a path another local user could control is refused with
 * CXL_EDENIED unless cfg->allow_foreign (they would see and drive the
 * rings: docs/SECURITY.md, "The medium's file"). */
int cxl_medium_open(const struct cxl_medium_config *cfg, struct cxl_medium **out);
void cxl_medium_close(struct cxl_medium *m);

/* Map size bytes (0: all past offset) at offset of an open regular file
 * or memfd (a duplicate of fd is kept; the caller keeps fd), shared,
 * read-only when readonly (an O_RDONLY descriptor, or a memfd sealed with
 * F_SEAL_WRITE, can be mapped no other way), never grown. name is its name
 * in messages ("fabric region graph"). docs/FABRIC.md. */
int cxl_medium_open_fd(int fd, const char *name, uint64_t offset, uint64_t size, int readonly,
                       struct cxl_medium **out);

void *cxl_medium_base(const struct cxl_medium *m);
uint64_t cxl_medium_size(const struct cxl_medium *m);
enum cxl_medium_kind cxl_medium_kind(const struct cxl_medium *m);
const char *cxl_medium_kind_name(enum cxl_medium_kind kind);
const char *cxl_medium_path(const struct cxl_medium *m);

/* Zero len bytes at off in the mapping (file media: the pages are given
 * back, a hole in the file; devices: written with zeros). */
int cxl_medium_zero(struct cxl_medium *m, uint64_t off, uint64_t len);

/* One line describing what was mapped ("file /dev/shm/x: 1073741824 bytes at
 * offset 0, numa node 0, prefaulted"). Returns buf. */
const char *cxl_medium_describe(const struct cxl_medium *m, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
