/* region.h - a CSR graph published in a region of the shared medium
 * (docs/GRAPH.md, "The region"): the layout as it is stored, the state
 * machine, and the calls that publish, wait for, attach and re-check it.
 *
 * The region starts with a 4 KiB header; the arrays follow, 64-B aligned.
 * Every field is little-endian and every position is an offset from the
 * region's start. Ordering, in one place:
 *   - a publisher takes the region by compare-and-swap of `state` (EMPTY or
 *     READY -> WRITING; --cxl-mode publish takes WRITING too), then adds 1 to
 *     `generation` (odd: being written), writes the arrays and the header's
 *     other fields, stores generation + 1 (even) and last stores READY with
 *     release;
 *   - an attacher loads READY with acquire, then the generation, copies the
 *     header to private memory and validates only the copy; it reads the
 *     generation again after copying the arrays and after every trial: a
 *     change means a re-publication under the run.
 * Nothing read from the region is trusted: the header copy is validated
 * field by field (sealed regions: by MAC first), the arrays are validated
 * after the copy (offsets from 0, never decreasing, ending at m; every
 * neighbour id a node), and in zero-copy mode each neighbour id is checked
 * where a kernel reads it (graph.h, checked graphs). */
#ifndef CXL_GRAPH_REGION_H
#define CXL_GRAPH_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/medium.h"
#include "graph.h"

#define GRAPH_REGION_MAGIC "CXLGRAPH"
#define GRAPH_REGION_VERSION 1u
#define GRAPH_REGION_HEADER 4096u
#define GRAPH_REGION_ALIGN 64u
#define GRAPH_REGION_MAX_ARRAYS 4u
#define GRAPH_SEAL_CHUNK 65536u /* plaintext bytes per sealed chunk */
#define GRAPH_SEAL_TAG 16u

enum graph_region_state {
    GRAPH_REGION_EMPTY = 0,
    GRAPH_REGION_WRITING = 1,
    GRAPH_REGION_READY = 2,
};

enum graph_region_flag {
    GRAPH_REGION_DIRECTED = 1u << 0,
    GRAPH_REGION_WEIGHTED = 1u << 1,
    GRAPH_REGION_SEALED = 1u << 2,       /* Crypto or Secure: every array sealed */
    GRAPH_REGION_KEY_MANAGER = 1u << 3,  /* Secure: the key came from cxl_sec_mgr */
    GRAPH_REGION_XCHACHA = 1u << 4,      /* sealed with XChaCha20-Poly1305 (else AES-256-GCM) */
    GRAPH_REGION_FLAGS_KNOWN = (1u << 5) - 1,
};

enum graph_array_kind {
    GRAPH_ARRAY_OUT_INDEX = 1,
    GRAPH_ARRAY_OUT_NEIGH = 2,
    GRAPH_ARRAY_IN_INDEX = 3,
    GRAPH_ARRAY_IN_NEIGH = 4,
};

struct graph_region_array {  /* 48 bytes */
    uint32_t kind, elem_size;
    uint64_t offset;         /* from the region's start, GRAPH_REGION_ALIGN aligned */
    uint64_t elems;
    uint64_t stored_bytes;   /* elems * elem_size, plus GRAPH_SEAL_TAG per chunk when sealed */
    uint64_t chunk_bytes;    /* sealed: GRAPH_SEAL_CHUNK; plain: 0 */
    uint64_t reserved;
};

/* What the graph is, so that auto starters and attachers can tell whether
 * the published graph is the one they were asked for. */
struct graph_provenance {    /* 64 bytes */
    char generator[8];       /* "kron", "uniform", "file" */
    int32_t scale, degree;   /* generated graphs; -1 for a file */
    uint64_t seed;
    uint64_t source_hash;    /* file: FNV-1a of its path, size and mtime; plus -s, weights */
    uint32_t key_epoch;      /* sealed: the epoch of the region key */
    uint32_t reserved;
    char region[24];         /* sealed: the key's region name ("graph") */
};

struct graph_region_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t state;          /* atomic: enum graph_region_state */
    uint32_t owner_node;     /* who took WRITING (and published) */
    uint64_t generation;     /* atomic: odd while writing */
    uint8_t publication_id[16];
    uint32_t flags;
    uint32_t n_arrays;
    int64_t num_nodes, num_edges;
    struct graph_region_array arrays[GRAPH_REGION_MAX_ARRAYS];
    struct graph_provenance prov;
    uint64_t published_ns;   /* wall clock when it became READY */
    uint32_t publish_ms;
    uint32_t reserved;
    uint8_t header_mac[16];  /* sealed: keyed BLAKE2b; plain: FNV-1a 64 (accidents only) */
};

/* The region key of a sealed graph (seal.c). */
struct graph_seal_key {
    uint8_t key[32];
    uint32_t epoch;
    int has_prev;            /* a rotation's grace: the previous epoch's key */
    uint32_t prev_epoch;
    uint8_t prev_key[32];
    int from_manager;
    char region[24];
};

struct graph_region_opts {
    struct cxl_medium_config medium; /* path, offset, size (0: as needed / all) */
    uint16_t node_id;
    uint32_t attach_timeout_ms;
    uint32_t delay_ns;               /* the delay model on reads of the region */
    int zero_copy;                   /* attach: kernels read the neighbours in place */
    int pretouch;                    /* attach: fault every page of the region in */
    uint64_t expect_generation;      /* attach: refuse another generation; 0: any */
    const uint8_t *expect_publication; /* attach: refuse another publication id (16 B); NULL: any */
    const struct graph_seal_key *key;/* NULL: plain */
    int use_fd;                      /* map fd (the fabric's memfd, docs/FABRIC.md), not medium.path */
    int fd;                          /* use_fd: the caller's; read-only if O_RDONLY or write-sealed */
    const char *fd_name;             /* use_fd: its name in messages */
};

struct graph_region;

/* Maps the region's header (creating a regular file of one header if there is none). */
int graph_region_open(const struct graph_region_opts *o, struct graph_region **out,
                      char *err, size_t errlen);
void graph_region_close(struct graph_region *r);

/* Bytes a publication of g needs (header, arrays, tags when sealed). */
uint64_t graph_region_need(const struct graph *g, int sealed);

/* 0 when a publisher may write extent bytes (at least the header) at the
 * region's offset; -1 with err when a ring layout would meet them: a valid
 * ring header whose layout overlaps them (a regular file is scanned from its
 * start on the layouts' 128-B grid; a device from the region's offset, and
 * at offset 0), or a ring header, valid or not, at the region's offset. A
 * graph region never goes inside the rings. */
int graph_region_check_writable(struct graph_region *r, uint64_t extent, char *err, size_t errlen);

/* Takes the region for writing: 1 taken, 0 another holds it (or, when
 * !take_over, it is READY with the same provenance: nothing to do).
 * take_over: from any state (--cxl-mode publish). */
int graph_region_claim(struct graph_region *r, const struct graph_provenance *want, int take_over);
/* Gives up a claim (the graph could not be built): WRITING -> EMPTY. */
void graph_region_abandon(struct graph_region *r);
/* Writes g into the claimed region and makes it READY. -1 with err. */
int graph_region_publish(struct graph_region *r, const struct graph *g,
                         const struct graph_provenance *prov, char *err, size_t errlen);
/* Waits until READY (attach_timeout_ms); -1 with err naming who writes since when. */
int graph_region_wait(struct graph_region *r, char *err, size_t errlen);
/* A private (or, zero-copy, partly in place) validated graph from the
 * READY region. want (may be NULL) must match the published provenance. */
int graph_region_attach(struct graph_region *r, struct graph *g, const struct graph_provenance *want,
                        char *err, size_t errlen);
/* -1 with err if the graph was re-published since attach. */
int graph_region_check(const struct graph_region *r, char *err, size_t errlen);
/* The fabric (docs/FABRIC.md). Sealed: the region's memfd has F_SEAL_WRITE
 * (nobody can write it any more: attach validates once, re-checks nothing);
 * read-only: it is mapped read-only (an ro grant, or sealed). */
int graph_region_sealed(const struct graph_region *r);
int graph_region_readonly(const struct graph_region *r);
/* The publisher, after READY: unmap the writable mapping, add F_SEAL_WRITE,
 * map it again read-only. -1 with err (EBUSY: another holder maps it
 * writable; the region stays mapped as it was). */
int graph_region_seal(struct graph_region *r, char *err, size_t errlen);
/* The attached publication's header (private copy) and the path. */
const struct graph_region_header *graph_region_header(const struct graph_region *r);
const char *graph_region_path(const struct graph_region *r);

/* --- region_check.c: validating the private copies */
int graph_region_header_check(const struct graph_region_header *h, uint64_t map_size,
                              char *err, size_t errlen);
int graph_region_arrays_check(const struct graph *g, int check_neigh, char *err, size_t errlen);
/* The first element of neigh[from, to) that is not a node (or has a negative
 * weight), or INT64_MAX; graph_neigh_refuse words the refusal of element i. */
int64_t graph_neigh_scan(const void *neigh, int weighted, int64_t n, int64_t from, int64_t to);
int graph_neigh_refuse(const void *neigh, int weighted, int64_t n, int64_t i, const char *name,
                       char *err, size_t errlen);
void graph_region_layout(struct graph_region_header *h, const struct graph *g, int sealed);
uint64_t graph_region_checksum(const struct graph_region_header *h);
int graph_provenance_match(const struct graph_provenance *a, const struct graph_provenance *b);
void graph_provenance_describe(const struct graph_provenance *p, char *buf, size_t len);

/* --- seal.c: sealed arrays (docs/GRAPH.md, "Modes") */
struct graph_pub_keys {
    uint8_t enc[32], mac[32];
    int xchacha;
};
/* AES-256-GCM where the CPU runs it (AES-NI), else XChaCha20-Poly1305. */
int graph_seal_prefers_xchacha(void);
int graph_seal_derive(const uint8_t region_key[32], const uint8_t publication_id[16], int xchacha,
                      struct graph_pub_keys *k);
void graph_seal_wipe(struct graph_pub_keys *k);
void graph_seal_header_mac(const struct graph_pub_keys *k, const struct graph_region_header *h,
                           uint8_t mac[16]);
/* Seals plaintext array a (its bytes) into its stored chunks at dst, each
 * chunk built in private memory and then copied (the medium is never read back). */
int graph_seal_array(const struct graph_pub_keys *k, const struct graph_region_header *h,
                     const struct graph_region_array *a, const void *plain, uint8_t *dst);
/* Opens every chunk of a from src (the medium) into dst (private); with
 * scan (the node count) each opened chunk's ids are checked at once and the
 * first bad element is left in *bad_elem (else INT64_MAX). -1 with err
 * naming the chunk that fails to authenticate. */
int graph_open_array(const struct graph_pub_keys *k, const struct graph_region_header *h,
                     const struct graph_region_array *a, const uint8_t *src, void *dst,
                     uint64_t delay_ticks, int64_t scan, int64_t *bad_elem, char *err, size_t errlen);

#endif
