/* medium.c - open and map a shared medium: regular file (/dev/shm included),
 * PCI BAR resource file, UIO device or device-DAX node. Owns the mapping, the
 * size/alignment rules of each kind, NUMA binding and pre-faulting. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cxl/error.h"
#include "cxl/medium.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct cxl_medium {
    enum cxl_medium_kind kind;
    char path[256];
    int fd;
    void *map;          /* what mmap returned */
    size_t map_len;     /* what was passed to mmap */
    uint8_t *base;      /* start of the usable range (map + alignment slack) */
    uint64_t size;      /* usable bytes */
    uint64_t offset;    /* offset into the backing */
    int numa_node;
    int prefaulted;
};

void cxl_medium_config_init(struct cxl_medium_config *cfg)
{
    *cfg = (struct cxl_medium_config){
        .path = CXL_DEFAULT_PATH,
        .map_size = CXL_DEFAULT_MAP_SIZE,
        .numa_node = -1,
    };
}

const char *cxl_medium_kind_name(enum cxl_medium_kind kind)
{
    switch (kind) {
    case CXL_MEDIUM_FILE: return "file";
    case CXL_MEDIUM_PCI_BAR: return "pci-bar";
    case CXL_MEDIUM_UIO: return "uio";
    case CXL_MEDIUM_DAX: return "devdax";
    }
    return "?";
}

static int read_sysfs_u64(const char *file, uint64_t *out)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return cxl_fail_errno(CXL_ESYS, "cannot read %s", file);
    unsigned long long v;
    int ok = fscanf(f, "%lli", (long long *)&v) == 1;
    fclose(f);
    if (!ok)
        return cxl_fail(CXL_ESYS, "%s does not hold a number", file);
    *out = v;
    return 0;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A file that a sandbox shows as a character device with no device number:
 * Gramine's untrusted_shm mount presents its host files so (S_IFCHR, rdev
 * 0:0, st_size the host file's size), and they take only open, fstat and
 * mmap(MAP_SHARED), which is all a medium file needs. On Linux itself no
 * driver answers 0:0 (opening such a node fails with ENXIO). */
static int sandbox_shm_file(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0 && st->st_size > 0;
}

/* Decide the kind from the path and what it is. */
static int classify(const char *path, const struct stat *st, int exists,
                    enum cxl_medium_kind *kind)
{
    if (!exists || S_ISREG(st->st_mode)) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        *kind = (has_prefix(path, "/sys/") && has_prefix(base, "resource"))
                    ? CXL_MEDIUM_PCI_BAR : CXL_MEDIUM_FILE;
        return 0;
    }
    if (S_ISCHR(st->st_mode)) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (has_prefix(base, "uio")) {
            *kind = CXL_MEDIUM_UIO;
            return 0;
        }
        if (has_prefix(base, "dax")) {
            *kind = CXL_MEDIUM_DAX;
            return 0;
        }
        if (sandbox_shm_file(st)) {
            *kind = CXL_MEDIUM_FILE;
            return 0;
        }
        return cxl_fail(CXL_EINVAL, "%s: character device is neither /dev/uioN nor /dev/daxX.Y", path);
    }
    return cxl_fail(CXL_EINVAL, "%s: not a regular file, PCI resource, UIO or DAX device", path);
}

/* Backing size and mmap granularity for each kind. For UIO, *pgoff is the
 * mmap offset that selects the map. */
static int backing_geometry(struct cxl_medium *m, const struct cxl_medium_config *cfg,
                            const struct stat *st, uint64_t *total, uint64_t *align,
                            uint64_t *pgoff)
{
    char file[512];
    long page = sysconf(_SC_PAGESIZE);
    *align = (uint64_t)page;
    *pgoff = 0;
    switch (m->kind) {
    case CXL_MEDIUM_FILE:
    case CXL_MEDIUM_PCI_BAR:
        *total = (uint64_t)st->st_size;
        return 0;
    case CXL_MEDIUM_UIO: {
        const char *name = strrchr(m->path, '/') + 1;
        if (cfg->uio_map < 0 || cfg->uio_map > 4)
            return cxl_fail(CXL_EINVAL, "uio map index %d out of range [0, 4]", cfg->uio_map);
        snprintf(file, sizeof file, "/sys/class/uio/%s/maps/map%d/size", name, cfg->uio_map);
        *pgoff = (uint64_t)cfg->uio_map * (uint64_t)page;
        return read_sysfs_u64(file, total);
    }
    case CXL_MEDIUM_DAX: {
        snprintf(file, sizeof file, "/sys/dev/char/%u:%u/size", major(st->st_rdev),
                 minor(st->st_rdev));
        int rc = read_sysfs_u64(file, total);
        if (rc)
            return rc;
        snprintf(file, sizeof file, "/sys/dev/char/%u:%u/align", major(st->st_rdev),
                 minor(st->st_rdev));
        if (read_sysfs_u64(file, align) != 0 || *align == 0)
            *align = 2u << 20;
        return 0;
    }
    }
    return cxl_fail(CXL_EINVAL, "unknown medium kind");
}

/* Create or grow a regular file so that offset + size fits. */
static int size_file(struct cxl_medium *m, const struct cxl_medium_config *cfg,
                     uint64_t *total)
{
    uint64_t need = cfg->map_offset + cfg->map_size;
    if (cfg->map_size == 0 || *total >= need)
        return 0;
    if (!cfg->create)
        return cxl_fail(CXL_ETOOSMALL,
                        "%s is %" PRIu64 " bytes but map offset %" PRIu64 " + map size %" PRIu64
                        " needs %" PRIu64 " (create it with cxl_shm init, or pass a smaller --map-size)",
                        m->path, *total, cfg->map_offset, cfg->map_size, need);
    if (ftruncate(m->fd, (off_t)need) != 0)
        return cxl_fail_errno(CXL_ESYS, "cannot size %s to %" PRIu64 " bytes", m->path, need);
    *total = need;
    return 0;
}

static int bind_numa(struct cxl_medium *m, int node)
{
    if (numa_available() < 0)
        return cxl_fail(CXL_EINVAL, "NUMA binding to node %d requested but this kernel has no NUMA support", node);
    if (node > numa_max_node())
        return cxl_fail(CXL_EINVAL, "NUMA node %d does not exist (max node %d)", node, numa_max_node());
    unsigned long mask[16] = {0};
    mask[node / (8 * sizeof(unsigned long))] |= 1ul << (node % (8 * sizeof(unsigned long)));
    if (mbind(m->map, m->map_len, MPOL_BIND, mask, sizeof mask * 8, MPOL_MF_MOVE) != 0)
        return cxl_fail_errno(CXL_ESYS, "mbind of %s to NUMA node %d", m->path, node);
    m->numa_node = node;
    return 0;
}

static void prefault(struct cxl_medium *m)
{
    if (madvise(m->map, m->map_len, MADV_POPULATE_WRITE) != 0) {
        long page = sysconf(_SC_PAGESIZE);
        for (size_t off = 0; off < m->map_len; off += (size_t)page)
            (void)*(volatile uint8_t *)((uint8_t *)m->map + off);
    }
    m->prefaulted = 1;
}

/* A directory on the way to the medium: root's or ours, and not one where
 * others may rename entries (writable by them without the sticky bit). */
static int trusted_dir(const char *path, const char *comp, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return cxl_fail_errno(CXL_ESYS, "cannot stat %s of %s", comp, path);
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return cxl_fail(CXL_EDENIED, "medium %s: directory '%s' on its path belongs to uid %u: that user could "
                        "swap the medium; refused (allow it explicitly with --allow-foreign-medium)",
                        path, comp, (unsigned)st.st_uid);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return cxl_fail(CXL_EDENIED, "medium %s: directory '%s' on its path is writable by others without the "
                        "sticky bit (mode 0%o); refused (allow it explicitly with --allow-foreign-medium)",
                        path, comp, (unsigned)(st.st_mode & 07777));
    return 0;
}

#define MAX_LINKS 40 /* as the kernel's ELOOP */

/* A symbolic link met on the way: only root's or ours are followed, and
 * not by the kernel - its target's components replace the link's in rest
 * (from / if absolute), so each one is walked and checked in turn. */
static int splice_link(const char *path, int *fd, const char *comp, const struct stat *st, char *rest,
                       size_t cap, int *links)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return cxl_fail(CXL_EDENIED, "medium %s: '%s' on its path is a symbolic link of uid %u: it could point "
                        "anywhere; refused (name the target, or allow it explicitly with --allow-foreign-medium)",
                        path, comp, (unsigned)st->st_uid);
    if (++*links > MAX_LINKS)
        return cxl_fail(CXL_EINVAL, "medium %s: more than %d symbolic links on its path", path, MAX_LINKS);
    char target[PATH_MAX];
    ssize_t n = readlinkat(*fd, comp, target, sizeof target - 1);
    if (n <= 0)
        return cxl_fail_errno(CXL_ESYS, "cannot read the link '%s' on the path of medium %s", comp, path);
    target[n] = '\0';
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", target, rest) >= sizeof joined)
        return cxl_fail(CXL_EINVAL, "medium %s: its path through '%s' is too long", path, comp);
    snprintf(rest, cap, "%s", joined);
    if (target[0] == '/') {
        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
            return cxl_fail_errno(CXL_ESYS, "cannot open / for medium %s", path);
        close(*fd);
        *fd = root;
    }
    return 0;
}

/* Take the first component of rest (a '/'-separated list) into comp. */
static int next_component(char *rest, char *comp, size_t cap)
{
    size_t skip = strspn(rest, "/"), n = strcspn(rest + skip, "/");
    if (n == 0 || n >= cap)
        return n == 0 ? 0 : -1;
    memcpy(comp, rest + skip, n);
    comp[n] = '\0';
    memmove(rest, rest + skip + n, strlen(rest + skip + n) + 1);
    return 1;
}

/* One step of the walk: fd moves to the directory comp (checked). */
static int step(const char *path, int *fd, const char *comp, char *rest, size_t cap, int *links)
{
    struct stat st;
    if (fstatat(*fd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return cxl_fail_errno(CXL_ESYS, "cannot open medium %s ('%s')", path, comp);
    if (S_ISLNK(st.st_mode))
        return splice_link(path, fd, comp, &st, rest, cap, links);
    int next = openat(*fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (next < 0)
        return cxl_fail_errno(CXL_ESYS, "cannot open medium %s ('%s')", path, comp);
    close(*fd);
    *fd = next;
    return trusted_dir(path, comp, next);
}

/* Walk path's directories from / (or the working directory) one at a time,
 * so that no symbolic link another user planted on the way - a link in
 * /dev/shm pointing at /etc would make a root server format /etc/passwd -
 * is followed: a link is followed only if root or this user owns it, its
 * target walked the same way, and every directory reached must be
 * trusted_dir(). *dirfd: the directory holding the last component, *leaf:
 * that component. */
static int open_parent(const char *path, int *dirfd, const char **leaf)
{
    const char *end = strrchr(path, '/');
    *leaf = end ? end + 1 : path;
    if (!**leaf)
        return cxl_fail(CXL_EINVAL, "medium %s names a directory, not a file", path);
    char rest[PATH_MAX], comp[NAME_MAX + 1];
    if ((size_t)(*leaf - path) >= sizeof rest)
        return cxl_fail(CXL_EINVAL, "medium path %s is too long", path);
    memcpy(rest, path, (size_t)(*leaf - path));
    rest[*leaf - path] = '\0';
    int fd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC), links = 0, got, rc = 0;
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "cannot open the directories of %s", path);
    while (rc == 0 && (got = next_component(rest, comp, sizeof comp)) != 0)
        rc = got < 0 ? cxl_fail(CXL_EINVAL, "medium %s: a name on its path is too long", path)
                     : step(path, &fd, comp, rest, sizeof rest, &links);
    if (rc) {
        close(fd);
        return rc;
    }
    *dirfd = fd;
    return 0;
}

/* The path as it is, not followed: a symbolic link at the end of it could
 * send us anywhere its owner likes. */
static int look(int dirfd, const char *path, const char *leaf, const struct cxl_medium_config *cfg,
                struct stat *st, int *exists)
{
    *exists = fstatat(dirfd, leaf, st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!*exists)
        return errno == ENOENT && cfg->create ? 0 : cxl_fail_errno(CXL_ESYS, "cannot open medium %s", path);
    if (!S_ISLNK(st->st_mode))
        return 0;
    if (!cfg->allow_foreign)
        return cxl_fail(CXL_EDENIED, "medium %s is a symbolic link: refused (its owner could point it anywhere); "
                        "name the target, or allow it explicitly (--allow-foreign-medium)", path);
    *exists = fstatat(dirfd, leaf, st, 0) == 0;
    return *exists || (errno == ENOENT && cfg->create) ? 0 : cxl_fail_errno(CXL_ESYS, "cannot open medium %s", path);
}

/* A regular file: created 0600 if it is not there, opened without
 * following a link; one that another local user controls is refused. */
static int open_file(struct cxl_medium *m, int dirfd, const char *leaf, const struct cxl_medium_config *cfg)
{
    int flags = O_RDWR | O_CLOEXEC | (cfg->allow_foreign ? 0 : O_NOFOLLOW);
    m->fd = cfg->create ? openat(dirfd, leaf, flags | O_CREAT | O_EXCL, 0600) : -1;
    if (m->fd < 0 && (!cfg->create || errno == EEXIST))
        m->fd = openat(dirfd, leaf, flags);
    if (m->fd < 0)
        return cxl_fail_errno(errno == ELOOP ? CXL_EDENIED : CXL_ESYS, "cannot open medium %s", m->path);
    struct stat st;
    if (fstat(m->fd, &st) != 0)
        return cxl_fail_errno(CXL_ESYS, "cannot stat %s", m->path);
    if (!S_ISREG(st.st_mode) && !sandbox_shm_file(&st))
        return cxl_fail(CXL_EINVAL, "medium %s is not a regular file any more", m->path);
    if (cfg->allow_foreign)
        return 0;
    if (st.st_uid != geteuid())
        return cxl_fail(CXL_EDENIED, "medium %s belongs to uid %u, not to this user (uid %u): another local user "
                        "could see and drive its rings; refused (chown it, or allow it explicitly with "
                        "--allow-foreign-medium)", m->path, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & S_IWOTH)
        return cxl_fail(CXL_EDENIED, "medium %s is writable by every local user (mode 0%o): refused (chmod o-w it, "
                        "or allow it explicitly with --allow-foreign-medium)", m->path, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* Open the medium's file or device (m->fd) and classify it. */
static int open_backing(struct cxl_medium *m, const struct cxl_medium_config *cfg)
{
    int dirfd = AT_FDCWD, rc;
    const char *leaf = m->path;
    if (!cfg->allow_foreign && (rc = open_parent(m->path, &dirfd, &leaf)) != 0)
        return rc;
    struct stat st;
    int exists;
    rc = look(dirfd, m->path, leaf, cfg, &st, &exists);
    if (rc == 0)
        rc = classify(m->path, &st, exists, &m->kind);
    if (rc == 0 && m->kind == CXL_MEDIUM_FILE)
        rc = open_file(m, dirfd, leaf, cfg);
    else if (rc == 0 && (m->fd = openat(dirfd, leaf, O_RDWR | O_CLOEXEC)) < 0)
        rc = cxl_fail_errno(CXL_ESYS, "cannot open medium %s", m->path);
    if (dirfd != AT_FDCWD)
        close(dirfd);
    return rc;
}

static int map_medium(struct cxl_medium *m, const struct cxl_medium_config *cfg)
{
    int rc = open_backing(m, cfg);
    if (rc)
        return rc;
    struct stat st;
    if (fstat(m->fd, &st) != 0)
        return cxl_fail_errno(CXL_ESYS, "cannot stat %s", m->path);
    uint64_t total, align, pgoff;
    if ((rc = backing_geometry(m, cfg, &st, &total, &align, &pgoff)) != 0)
        return rc;
    if (m->kind == CXL_MEDIUM_FILE && (rc = size_file(m, cfg, &total)) != 0)
        return rc;
    if (cfg->map_offset >= total)
        return cxl_fail(CXL_ETOOSMALL, "%s: map offset %" PRIu64 " is past its end (%" PRIu64 " bytes)",
                        m->path, cfg->map_offset, total);
    uint64_t size = cfg->map_size ? cfg->map_size : total - cfg->map_offset;
    if (size > total - cfg->map_offset)
        return cxl_fail(CXL_ETOOSMALL,
                        "%s (%s) is %" PRIu64 " bytes; map offset %" PRIu64 " + map size %" PRIu64 " does not fit",
                        m->path, cxl_medium_kind_name(m->kind), total, cfg->map_offset, size);
    /* Map from the aligned-down offset; the slack is skipped in base. */
    uint64_t slack = cfg->map_offset % align;
    uint64_t file_off = cfg->map_offset - slack;
    if (m->kind == CXL_MEDIUM_UIO) { /* UIO selects the map by offset */
        slack = cfg->map_offset;
        file_off = pgoff;
    }
    uint64_t len = slack + size;
    if (m->kind == CXL_MEDIUM_DAX) /* device-DAX maps whole alignment units */
        len = (len + align - 1) / align * align;
    m->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, (off_t)file_off);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        return cxl_fail_errno(CXL_ESYS, "mmap of %" PRIu64 " bytes of %s at offset %" PRIu64,
                              len, m->path, file_off);
    }
    m->map_len = len;
    m->base = (uint8_t *)m->map + slack;
    m->size = size;
    m->offset = cfg->map_offset;
    if (cfg->numa_node >= 0 && (rc = bind_numa(m, cfg->numa_node)) != 0)
        return rc;
    if (cfg->prefault)
        prefault(m);
    return 0;
}

int cxl_medium_open(const struct cxl_medium_config *cfg, struct cxl_medium **out)
{
    struct cxl_medium_config defaults;
    if (!cfg) {
        cxl_medium_config_init(&defaults);
        cfg = &defaults;
    }
    const char *path = cfg->path ? cfg->path : CXL_DEFAULT_PATH;
    if (!*path)
        return cxl_fail(CXL_EINVAL, "medium path is empty");
    if (strlen(path) >= sizeof(((struct cxl_medium *)0)->path))
        return cxl_fail(CXL_EINVAL, "medium path too long: %s", path);
    struct cxl_medium *m = calloc(1, sizeof *m);
    if (!m)
        return cxl_fail(CXL_ESYS, "out of memory");
    strcpy(m->path, path);
    m->fd = -1;
    m->numa_node = -1;
    int rc = map_medium(m, cfg);
    if (rc) {
        cxl_medium_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Map m->fd (a regular file or memfd) as asked. */
static int map_fd(struct cxl_medium *m, uint64_t offset, uint64_t size, int readonly)
{
    struct stat st;
    if (fstat(m->fd, &st) != 0)
        return cxl_fail_errno(CXL_ESYS, "cannot stat %s", m->path);
    if (!S_ISREG(st.st_mode))
        return cxl_fail(CXL_EINVAL, "%s: not a regular file or memfd", m->path);
    uint64_t total = (uint64_t)st.st_size, page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (offset >= total || (size && size > total - offset))
        return cxl_fail(CXL_ETOOSMALL, "%s is %" PRIu64 " bytes; map offset %" PRIu64 " + map size %" PRIu64
                        " does not fit", m->path, total, offset, size);
    if (!size)
        size = total - offset;
    uint64_t slack = offset % page;
    int prot = PROT_READ | (readonly ? 0 : PROT_WRITE);
    m->map = mmap(NULL, slack + size, prot, MAP_SHARED, m->fd, (off_t)(offset - slack));
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        return cxl_fail_errno(CXL_ESYS, "mmap %s of %" PRIu64 " bytes of %s", readonly ? "read-only" : "read-write",
                              size, m->path);
    }
    m->map_len = slack + size;
    m->base = (uint8_t *)m->map + slack;
    m->size = size;
    m->offset = offset;
    return 0;
}

int cxl_medium_open_fd(int fd, const char *name, uint64_t offset, uint64_t size, int readonly,
                       struct cxl_medium **out)
{
    struct cxl_medium *m = calloc(1, sizeof *m);
    if (!m)
        return cxl_fail(CXL_ESYS, "out of memory");
    snprintf(m->path, sizeof m->path, "%s", name);
    m->kind = CXL_MEDIUM_FILE;
    m->numa_node = -1;
    m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    int rc = m->fd < 0 ? cxl_fail_errno(CXL_ESYS, "%s: descriptor %d", name, fd)
                       : map_fd(m, offset, size, readonly);
    if (rc) {
        cxl_medium_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void cxl_medium_close(struct cxl_medium *m)
{
    if (!m)
        return;
    if (m->map)
        munmap(m->map, m->map_len);
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

int cxl_medium_zero(struct cxl_medium *m, uint64_t off, uint64_t len)
{
    if (off > m->size || len > m->size - off)
        return cxl_fail(CXL_EINVAL, "zeroing %" PRIu64 " bytes at %" PRIu64 " past the mapping (%" PRIu64 " bytes)",
                        len, off, m->size);
    /* whole pages of a file: punch a hole (cheap, and a sparse file stays
     * sparse); the partial pages at either end, and devices: write zeros */
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), start = m->offset + off, end = start + len;
    uint64_t a = (start + page - 1) / page * page, b = end / page * page;
    if (m->kind == CXL_MEDIUM_FILE && b > a &&
        fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)a, (off_t)(b - a)) == 0) {
        memset(m->base + off, 0, a - start);
        memset(m->base + (b - m->offset), 0, end - b);
        return 0;
    }
    memset(m->base + off, 0, len);
    return 0;
}

void *cxl_medium_base(const struct cxl_medium *m) { return m->base; }
uint64_t cxl_medium_size(const struct cxl_medium *m) { return m->size; }
enum cxl_medium_kind cxl_medium_kind(const struct cxl_medium *m) { return m->kind; }
const char *cxl_medium_path(const struct cxl_medium *m) { return m->path; }

const char *cxl_medium_describe(const struct cxl_medium *m, char *buf, size_t len)
{
    char numa[32] = "no numa binding";
    if (m->numa_node >= 0)
        snprintf(numa, sizeof numa, "numa node %d", m->numa_node);
    snprintf(buf, len, "%s %s: %" PRIu64 " bytes at offset %" PRIu64 ", %s, %s",
             cxl_medium_kind_name(m->kind), m->path, m->size, m->offset, numa,
             m->prefaulted ? "prefaulted" : "faulted on demand");
    return buf;
}
