/* region.c - publishing a graph into a region of the medium and attaching
 * to it (docs/GRAPH.md, "Publishing and attaching"; the ordering rules are
 * in region.h). The region is mapped twice at most: its header first (a
 * regular file is created with just the header, so that starters in auto
 * mode can race for it before anyone knows the graph's size), then as much
 * as the publication needs. The medium is never read back by the publisher
 * (sealed chunks are built in private memory) and never trusted by the
 * attacher (region_check.c validates the private copies). */
#define _GNU_SOURCE /* F_ADD_SEALS, F_SEAL_WRITE */
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <omp.h>
#include <sodium.h>

#include "cxl/error.h"
#include "cxl/ring.h"
#include "cxl/wait.h"

struct graph_region {
    struct graph_region_opts o;
    struct cxl_medium *med;
    struct graph_region_header *live;  /* in the medium */
    uint64_t map_size;
    struct graph_region_header hdr;    /* the attached publication's private copy */
    uint64_t claim_gen;                /* odd: the generation this process holds WRITING at */
    uint64_t gen_seen;                 /* the generation attached */
    uint64_t delay_ticks;
    struct graph_fault fault;          /* zero-copy: the first bad neighbour a kernel met */
    int readonly, sealed;              /* use_fd: mapped read-only; F_SEAL_WRITE seen */
};

/* What the fabric's descriptor allows: read-only (O_RDONLY or write-sealed), sealed. */
static void fd_access(struct graph_region *r)
{
    int fl = fcntl(r->o.fd, F_GETFL), seals = fcntl(r->o.fd, F_GET_SEALS);
    r->sealed = seals >= 0 && (seals & F_SEAL_WRITE);
    r->readonly = r->sealed || (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY);
}

static uint32_t load_state(const struct graph_region *r)
{
    return __atomic_load_n(&r->live->state, __ATOMIC_ACQUIRE);
}

static uint64_t load_gen(const struct graph_region *r)
{
    return __atomic_load_n(&r->live->generation, __ATOMIC_ACQUIRE);
}

static int fail_medium(char *err, size_t errlen)
{
    snprintf(err, errlen, "graph region: %s", cxl_last_error());
    return -1;
}

/* (Re)maps the region with size bytes (0: all of the medium past the offset). */
static int map_region(struct graph_region *r, uint64_t size, int create, char *err, size_t errlen)
{
    struct cxl_medium_config cfg = r->o.medium;
    cfg.map_size = size;
    cfg.create = create;
    struct cxl_medium *m = NULL;
    if (r->o.use_fd ? cxl_medium_open_fd(r->o.fd, r->o.fd_name ? r->o.fd_name : "fabric region",
                                         cfg.map_offset, size, r->readonly, &m) != 0
                    : cxl_medium_open(&cfg, &m) != 0)
        return fail_medium(err, errlen);
    if (cxl_medium_size(m) < GRAPH_REGION_HEADER) {
        snprintf(err, errlen, "graph region: %s maps %" PRIu64 " bytes at offset %" PRIu64
                 "; a graph region needs at least its %u-byte header", cxl_medium_path(m),
                 cxl_medium_size(m), cfg.map_offset, GRAPH_REGION_HEADER);
        cxl_medium_close(m);
        return -1;
    }
    cxl_medium_close(r->med);
    r->med = m;
    r->live = cxl_medium_base(m);
    r->map_size = cxl_medium_size(m);
    return 0;
}

int graph_region_open(const struct graph_region_opts *o, struct graph_region **out, char *err,
                      size_t errlen)
{
    struct graph_region *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "graph region: out of memory");
        return -1;
    }
    if (o->medium.map_offset % GRAPH_REGION_ALIGN) {
        snprintf(err, errlen, "graph region: --map-offset %" PRIu64 " is not a multiple of %u",
                 o->medium.map_offset, GRAPH_REGION_ALIGN);
        free(r);
        return -1;
    }
    r->o = *o;
    r->delay_ticks = o->delay_ns ? cxl_delay_ticks(o->delay_ns) : 0;
    if (o->use_fd) { /* a memfd of fixed size: mapped as it is */
        fd_access(r);
        if (map_region(r, o->medium.map_size, 0, err, errlen) != 0) {
            free(r);
            return -1;
        }
        *out = r;
        return 0;
    }
    struct cxl_medium_config probe = o->medium;
    probe.create = 0;
    struct cxl_medium *m = NULL;
    /* an existing medium as it is; a missing or empty file gets a header's worth */
    int exists = cxl_medium_open(&probe, &m) == 0 && cxl_medium_size(m) >= GRAPH_REGION_HEADER;
    cxl_medium_close(m);
    int rc = exists ? map_region(r, o->medium.map_size, 0, err, errlen)
                    : map_region(r, o->medium.map_size ? o->medium.map_size : GRAPH_REGION_HEADER, 1,
                                 err, errlen);
    if (rc != 0) {
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void graph_region_close(struct graph_region *r)
{
    if (!r)
        return;
    cxl_medium_close(r->med);
    sodium_memzero(&r->hdr, sizeof r->hdr);
    free(r);
}

const struct graph_region_header *graph_region_header(const struct graph_region *r)
{
    return &r->hdr;
}

int graph_region_sealed(const struct graph_region *r) { return r->sealed; }
int graph_region_readonly(const struct graph_region *r) { return r->readonly; }

int graph_region_seal(struct graph_region *r, char *err, size_t errlen)
{
    if (!r->o.use_fd) {
        snprintf(err, errlen, "graph region: only a fabric region (a memfd) can be sealed");
        return -1;
    }
    uint64_t size = r->map_size;
    cxl_medium_close(r->med); /* F_SEAL_WRITE: no writable shared mapping may exist */
    r->med = NULL, r->live = NULL;
    int rc = fcntl(r->o.fd, F_ADD_SEALS, F_SEAL_WRITE), e = errno;
    fd_access(r);
    if (map_region(r, size, 0, err, errlen) != 0)
        return -1;
    if (rc != 0) {
        snprintf(err, errlen, "graph region: F_SEAL_WRITE refused (%s)%s", strerror(e),
                 e == EBUSY ? ": another holder of a read-write descriptor still maps the region writable"
                            : "");
        return -1;
    }
    return 0;
}

const char *graph_region_path(const struct graph_region *r)
{
    return cxl_medium_path(r->med);
}

static int check_origin(const struct graph_region *r, const struct graph_region_header *h,
                        struct graph_pub_keys *keys, int *have_keys, char *err, size_t errlen);

/* A READY region holding the graph want describes, authenticated (auto
 * mode: attach it, do not publish again). */
static int ready_with(const struct graph_region *r, const struct graph_provenance *want)
{
    struct graph_region_header h;
    struct graph_pub_keys keys;
    char err[256];
    int have_keys = 0;
    memcpy(&h, r->live, sizeof h);
    int ok = want && memcmp(h.magic, GRAPH_REGION_MAGIC, 8) == 0 && h.version == GRAPH_REGION_VERSION &&
             graph_provenance_match(&h.prov, want) &&
             check_origin(r, &h, &keys, &have_keys, err, sizeof err) == 0;
    if (have_keys)
        graph_seal_wipe(&keys);
    return ok;
}

/* publish mode on a region being written: wait for the writer up to the
 * attach timeout, then take over (it is believed dead). */
static void wait_writer(struct graph_region *r)
{
    uint64_t start = cxl_now_ms();
    while (load_state(r) == GRAPH_REGION_WRITING && cxl_now_ms() - start < r->o.attach_timeout_ms) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (load_state(r) == GRAPH_REGION_WRITING)
        fprintf(stderr, "cxl_graph: taking the graph region over from node %u, writing for %" PRIu64
                " ms (generation %" PRIu64 ")\n", __atomic_load_n(&r->live->owner_node, __ATOMIC_RELAXED),
                cxl_now_ms() - start, load_gen(r));
}

/* The first bytes of a ring medium's header (CXL_MAGIC, src/lib/ring/layout.h),
 * and the grid a layout starts on (cxl/medium.h: a multiple of 128). */
static const char RING_MEDIUM_MAGIC[8] = "CXL-DSM";
#define RING_LAYOUT_GRID 128u
#define RING_PAGE 4096u

static int refuse_rings(const struct graph_region *r, uint64_t at, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen, "graph region: offset %" PRIu64 " of %s: %s at offset %" PRIu64 ": a graph region "
             "never goes inside the rings (use another file, or a --map-offset past the ring layout)",
             r->o.medium.map_offset, cxl_medium_path(r->med), why, at);
    return -1;
}

/* Ring layouts whose header lies in [probe, probe_end) of the mapping m
 * (offset 0 of the backing) that would meet the region [from, to): a valid
 * header whose layout overlaps it, or a header at from (damaged or not: the
 * claim would write into it). */
static int scan_rings(const struct graph_region *r, const struct cxl_medium *m, uint64_t probe,
                      uint64_t probe_end, uint64_t from, uint64_t to, char *err, size_t errlen)
{
    const uint8_t *base = cxl_medium_base(m);
    uint64_t size = cxl_medium_size(m);
    unsigned char resident = 1;
    for (uint64_t o = probe; o < probe_end && o + sizeof RING_MEDIUM_MAGIC <= size; o += RING_LAYOUT_GRID) {
        /* a page of a file that holds no data holds no header: not read (a
         * read would allocate it on tmpfs) */
        if (o == probe || o % RING_PAGE == 0)
            resident = mincore((void *)(base + o - o % RING_PAGE), RING_PAGE, &resident) != 0 || (resident & 1);
        if (!resident || memcmp(base + o, RING_MEDIUM_MAGIC, sizeof RING_MEDIUM_MAGIC) != 0)
            continue;
        struct cxl_geometry geo;
        if (cxl_layout_validate(base + o, size - o, &geo) == 0) {
            if (o < to && o + geo.layout_size > from)
                return refuse_rings(r, o, "a ring layout (cxl_shm init, or the module's offset=) lies there",
                                    err, errlen);
        } else if (o == from) {
            return refuse_rings(r, o, "a ring medium's header (damaged) lies there", err, errlen);
        }
    }
    return 0;
}

int graph_region_check_writable(struct graph_region *r, uint64_t extent, char *err, size_t errlen)
{
    if (r->o.use_fd)
        return 0; /* a fabric region is a memfd of its own */
    uint64_t from = r->o.medium.map_offset, to = from + (extent > GRAPH_REGION_HEADER ? extent : GRAPH_REGION_HEADER);
    /* the backing from offset 0, mapped to look only: no prefault, no NUMA
     * binding (those are the region's, not the whole medium's) */
    struct cxl_medium_config cfg = r->o.medium;
    cfg.map_offset = 0, cfg.map_size = 0, cfg.create = 0, cfg.prefault = 0, cfg.numa_node = -1;
    struct cxl_medium *m = NULL;
    if (cxl_medium_open(&cfg, &m) != 0) /* the start is not ours to read: the region's own bytes then */
        return memcmp(r->live, RING_MEDIUM_MAGIC, sizeof RING_MEDIUM_MAGIC) == 0
                   ? refuse_rings(r, from, "a ring medium's header lies there", err, errlen) : 0;
    /* a regular file is scanned from its start (a layout before the region
     * may reach into it); a device, whose reads are slow, from the region's
     * offset, and for a layout at offset 0 */
    int file = cxl_medium_kind(m) == CXL_MEDIUM_FILE;
    int rc = scan_rings(r, m, file ? 0 : from - from % RING_LAYOUT_GRID, to, from, to, err, errlen);
    if (rc == 0 && !file && from >= RING_LAYOUT_GRID)
        rc = scan_rings(r, m, 0, 1, from, to, err, errlen);
    cxl_medium_close(m);
    return rc;
}

int graph_region_claim(struct graph_region *r, const struct graph_provenance *want, int take_over)
{
    if (take_over)
        wait_writer(r);
    for (;;) {
        uint32_t s = load_state(r);
        if (!take_over && (s == GRAPH_REGION_WRITING || (s == GRAPH_REGION_READY && ready_with(r, want))))
            return 0;
        if (__atomic_compare_exchange_n(&r->live->state, &s, GRAPH_REGION_WRITING, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    __atomic_store_n(&r->live->owner_node, r->o.node_id, __ATOMIC_RELAXED);
    uint64_t gen = __atomic_add_fetch(&r->live->generation, 1, __ATOMIC_ACQ_REL);
    if (gen % 2 == 0) /* a torn or forged even value: make it odd */
        gen = __atomic_add_fetch(&r->live->generation, 1, __ATOMIC_ACQ_REL);
    r->claim_gen = gen;
    return 1;
}

void graph_region_abandon(struct graph_region *r)
{
    uint64_t gen = r->claim_gen;
    if (gen && __atomic_compare_exchange_n(&r->live->generation, &gen, gen + 1, 0, __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE)) {
        uint32_t s = GRAPH_REGION_WRITING;
        __atomic_compare_exchange_n(&r->live->state, &s, GRAPH_REGION_EMPTY, 0, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED);
    }
    r->claim_gen = 0;
}

static void copy_parallel(void *dst, const void *src, uint64_t bytes)
{
    const uint64_t step = 1u << 20;
    int64_t blocks = (int64_t)((bytes + step - 1) / step);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        uint64_t off = (uint64_t)b * step;
        memcpy((uint8_t *)dst + off, (const uint8_t *)src + off, bytes - off < step ? bytes - off : step);
    }
}

static const void *array_of(const struct graph *g, uint32_t kind)
{
    switch (kind) {
    case GRAPH_ARRAY_OUT_INDEX: return g->out_index;
    case GRAPH_ARRAY_OUT_NEIGH: return g->out_neigh;
    case GRAPH_ARRAY_IN_INDEX: return g->in_index;
    default: return g->in_neigh;
    }
}

static int key_for_epoch(const struct graph_seal_key *k, uint32_t epoch, const uint8_t **key)
{
    if (k->epoch == epoch)
        *key = k->key;
    else if (k->has_prev && k->prev_epoch == epoch)
        *key = k->prev_key;
    else
        return -1;
    return 0;
}

static void fill_header(struct graph_region *r, struct graph_region_header *h, const struct graph *g,
                        const struct graph_provenance *prov)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, GRAPH_REGION_MAGIC, 8);
    h->version = GRAPH_REGION_VERSION;
    h->header_size = GRAPH_REGION_HEADER;
    h->state = GRAPH_REGION_WRITING;
    h->owner_node = r->o.node_id;
    h->generation = r->claim_gen + 1;
    randombytes_buf(h->publication_id, sizeof h->publication_id);
    h->flags = (g->directed ? GRAPH_REGION_DIRECTED : 0) | (g->weighted ? GRAPH_REGION_WEIGHTED : 0);
    h->num_nodes = g->n;
    h->num_edges = g->m;
    h->prov = *prov;
    if (r->o.key) {
        h->flags |= GRAPH_REGION_SEALED | (r->o.key->from_manager ? GRAPH_REGION_KEY_MANAGER : 0);
        h->prov.key_epoch = r->o.key->epoch;
        snprintf(h->prov.region, sizeof h->prov.region, "%s", r->o.key->region);
    }
    graph_region_layout(h, g, r->o.key != NULL);
}

/* Still this publisher's claim (nobody took the region over since)? */
static int still_mine(const struct graph_region *r)
{
    return load_gen(r) == r->claim_gen && load_state(r) == GRAPH_REGION_WRITING;
}

static int write_arrays(struct graph_region *r, struct graph_region_header *h, const struct graph *g,
                        struct graph_pub_keys *keys)
{
    uint8_t *base = (uint8_t *)r->live;
    for (uint32_t i = 0; i < h->n_arrays; i++) {
        const struct graph_region_array *a = &h->arrays[i];
        const void *src = array_of(g, a->kind);
        if (!still_mine(r))
            return -2; /* taken over: stop writing over the other publisher's arrays */
        if (!keys)
            copy_parallel(base + a->offset, src, a->elems * a->elem_size);
        else if (graph_seal_array(keys, h, a, src, base + a->offset) != 0)
            return -1;
    }
    return 0;
}

/* The header's fields, then the even generation, then READY (release), each
 * step only while the claim is still this publisher's: two publishers never
 * both make the region READY. -1 when it was taken over. */
static int write_header(struct graph_region *r, const struct graph_region_header *h)
{
    struct graph_region_header *live = r->live;
    size_t after_gen = offsetof(struct graph_region_header, publication_id);
    if (!still_mine(r))
        return -1;
    memcpy(live->magic, h->magic, offsetof(struct graph_region_header, state));
    memcpy((uint8_t *)live + after_gen, (const uint8_t *)h + after_gen, sizeof *h - after_gen);
    uint64_t gen = r->claim_gen;
    uint32_t writing = GRAPH_REGION_WRITING;
    if (!__atomic_compare_exchange_n(&live->generation, &gen, h->generation, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return -1;
    return __atomic_compare_exchange_n(&live->state, &writing, GRAPH_REGION_READY, 0, __ATOMIC_RELEASE,
                                       __ATOMIC_RELAXED) ? 0 : -1;
}

static uint64_t array_end(const struct graph_region_header *h)
{
    uint64_t end = GRAPH_REGION_HEADER;
    for (uint32_t i = 0; i < h->n_arrays && i < GRAPH_REGION_MAX_ARRAYS; i++) {
        uint64_t e;
        if (__builtin_add_overflow(h->arrays[i].offset, h->arrays[i].stored_bytes, &e))
            return UINT64_MAX;
        end = e > end ? e : end;
    }
    return end;
}

/* Zeroes what an older, larger publication left past this one (its bytes,
 * plaintext perhaps, must not outlive it): up to the old header's last
 * array, read before this publication's header replaces it, within the
 * mapping. Never past that: other data may follow the region on a device. */
static void scrub_tail(struct graph_region *r, const struct graph_region_header *old, uint64_t end)
{
    if (memcmp(old->magic, GRAPH_REGION_MAGIC, 8) != 0)
        return;
    uint64_t old_end = array_end(old);
    old_end = old_end < r->map_size ? old_end : r->map_size;
    if (end < old_end)
        cxl_medium_zero(r->med, end, old_end - end);
}

static int grow_for(struct graph_region *r, uint64_t need, char *err, size_t errlen)
{
    if (r->map_size >= need)
        return 0;
    if (r->o.medium.map_size) {
        snprintf(err, errlen, "graph region: the graph needs %" PRIu64 " bytes (%.1f MB) at offset %" PRIu64
                 " of %s; --map-size is %" PRIu64 ": pass --map-size %" PRIu64 " or more", need, need / 1e6,
                 r->o.medium.map_offset, cxl_medium_path(r->med), r->o.medium.map_size, need);
        return -1;
    }
    /* a regular file grows to fit; a device is as large as it is */
    if (cxl_medium_kind(r->med) != CXL_MEDIUM_FILE) {
        snprintf(err, errlen, "graph region: the graph needs %" PRIu64 " bytes (%.1f MB) at offset %" PRIu64
                 "; %s has %" PRIu64 " there", need, need / 1e6, r->o.medium.map_offset,
                 cxl_medium_path(r->med), r->map_size);
        return -1;
    }
    return map_region(r, need, 1, err, errlen);
}

int graph_region_publish(struct graph_region *r, const struct graph *g, const struct graph_provenance *prov,
                         char *err, size_t errlen)
{
    uint64_t t0 = cxl_now_ns();
    if (g->n >= INT32_MAX) {
        snprintf(err, errlen, "graph region: %" PRId64 " nodes: at most %d can be published", g->n, INT32_MAX - 1);
        return -1;
    }
    if (graph_region_check_writable(r, graph_region_need(g, r->o.key != NULL), err, errlen) != 0 ||
        grow_for(r, graph_region_need(g, r->o.key != NULL), err, errlen) != 0)
        return -1;
    struct graph_region_header h, old;
    memcpy(&old, r->live, sizeof old); /* the previous publication's extent, for scrub_tail */
    fill_header(r, &h, g, prov);
    struct graph_pub_keys keys;
    const uint8_t *key = NULL;
    int rc = 0;
    if (r->o.key) {
        key_for_epoch(r->o.key, r->o.key->epoch, &key);
        rc = graph_seal_derive(key, h.publication_id, graph_seal_prefers_xchacha(), &keys);
        h.flags |= keys.xchacha ? GRAPH_REGION_XCHACHA : 0;
    }
    if (rc == 0)
        rc = write_arrays(r, &h, g, key ? &keys : NULL);
    if (rc != 0) {
        snprintf(err, errlen, rc == -2 ? "graph region: another publisher took the region over while this one "
                                         "wrote (generation %" PRIu64 " -> %" PRIu64 ")"
                                       : "graph region: sealing failed", r->claim_gen, load_gen(r));
        graph_seal_wipe(&keys);
        return -1;
    }
    scrub_tail(r, &old, graph_region_need(g, key != NULL));
    h.published_ns = cxl_wall_ns();
    h.publish_ms = (uint32_t)((cxl_now_ns() - t0) / 1000000u);
    if (key) {
        graph_seal_header_mac(&keys, &h, h.header_mac);
        graph_seal_wipe(&keys);
    } else {
        uint64_t sum = graph_region_checksum(&h);
        memcpy(h.header_mac, &sum, sizeof sum);
    }
    if (write_header(r, &h) != 0) {
        snprintf(err, errlen, "graph region: another publisher took the region over while this one wrote "
                 "(generation %" PRIu64 " -> %" PRIu64 "); the region is theirs", r->claim_gen, load_gen(r));
        return -1;
    }
    r->hdr = h;
    r->hdr.state = GRAPH_REGION_READY;
    r->gen_seen = h.generation;
    return 0;
}

int graph_region_wait(struct graph_region *r, char *err, size_t errlen)
{
    uint64_t start = cxl_now_ms(), writing_since = 0;
    for (;;) {
        uint32_t s = load_state(r);
        if (s == GRAPH_REGION_READY)
            return 0;
        if (s > GRAPH_REGION_READY) {
            snprintf(err, errlen, "graph region: state %u in %s is not a graph region's (0 empty, 1 writing, "
                     "2 ready): not a graph region, or a damaged one", s, cxl_medium_path(r->med));
            return -1;
        }
        uint64_t now = cxl_now_ms();
        if (s == GRAPH_REGION_WRITING && !writing_since)
            writing_since = now;
        if (now - start >= r->o.attach_timeout_ms)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    uint32_t s = load_state(r);
    if (s == GRAPH_REGION_WRITING)
        snprintf(err, errlen, "graph region: node %u has been writing the graph in %s for at least %" PRIu64
                 " ms (generation %" PRIu64 "); if it stopped, publish again with --cxl-mode publish",
                 __atomic_load_n(&r->live->owner_node, __ATOMIC_RELAXED), cxl_medium_path(r->med),
                 cxl_now_ms() - writing_since, load_gen(r));
    else
        snprintf(err, errlen, "graph region: no graph was published in %s at offset %" PRIu64 " within %u ms "
                 "(state %u; --attach-timeout-ms)", cxl_medium_path(r->med), r->o.medium.map_offset,
                 r->o.attach_timeout_ms, s);
    return -1;
}

/* Authenticates a private header copy h: the MAC under the epoch's key (sealed), or the checksum. */
static int check_origin(const struct graph_region *r, const struct graph_region_header *h,
                        struct graph_pub_keys *keys, int *have_keys, char *err, size_t errlen)
{
    int sealed = (h->flags & GRAPH_REGION_SEALED) != 0;
    if (sealed != (r->o.key != NULL)) {
        snprintf(err, errlen, sealed ? "graph region: the graph is sealed: attach with --crypto or --secure"
                                     : "graph region: the graph is not sealed; refusing a plain publication "
                                       "in a sealed mode (Crypto/Secure)");
        return -1;
    }
    if (sealed && !!(h->flags & GRAPH_REGION_KEY_MANAGER) != r->o.key->from_manager) {
        snprintf(err, errlen, "graph region: the graph's key comes from %s: attach with %s",
                 r->o.key->from_manager ? "a shared key file (Crypto)" : "cxl_sec_mgr (Secure)",
                 r->o.key->from_manager ? "--crypto" : "--secure");
        return -1;
    }
    if (!sealed) {
        uint64_t sum = graph_region_checksum(h);
        if (memcmp(&sum, h->header_mac, sizeof sum) == 0)
            return 0;
        snprintf(err, errlen, "graph region: the header's checksum does not match (a damaged or edited header)");
        return -1;
    }
    const uint8_t *key;
    if (key_for_epoch(r->o.key, h->prov.key_epoch, &key) != 0) {
        snprintf(err, errlen, "graph region: the graph was sealed under key epoch %u; this node holds epoch %u "
                 "(re-publish it, or this node's grant was revoked)", h->prov.key_epoch, r->o.key->epoch);
        return -1;
    }
    if (graph_seal_derive(key, h->publication_id, (h->flags & GRAPH_REGION_XCHACHA) != 0, keys) != 0) {
        snprintf(err, errlen, "graph region: this CPU cannot open the graph's cipher");
        return -1;
    }
    *have_keys = 1;
    uint8_t mac[16];
    graph_seal_header_mac(keys, h, mac);
    if (sodium_memcmp(mac, h->header_mac, sizeof mac) == 0)
        return 0;
    snprintf(err, errlen, "graph region: the header failed to authenticate (edited, or sealed under another key)");
    return -1;
}

static int check_wanted(const struct graph_region *r, const struct graph_provenance *want, char *err,
                        size_t errlen)
{
    const struct graph_region_header *h = &r->hdr;
    if (r->o.expect_generation && h->generation != r->o.expect_generation) {
        snprintf(err, errlen, "graph region: publication generation %" PRIu64 ", expected %" PRIu64
                 " (--expect-generation): an older or newer graph", h->generation, r->o.expect_generation);
        return -1;
    }
    if (r->o.expect_publication && sodium_memcmp(h->publication_id, r->o.expect_publication, 16) != 0) {
        char got[33];
        sodium_bin2hex(got, sizeof got, h->publication_id, 16);
        snprintf(err, errlen, "graph region: publication %s is not the one expected (--expect-publication): "
                 "an older or newer graph", got);
        return -1;
    }
    if (want && !graph_provenance_match(&h->prov, want)) {
        char a[128], b[128];
        graph_provenance_describe(&h->prov, a, sizeof a);
        graph_provenance_describe(want, b, sizeof b);
        snprintf(err, errlen, "graph region: it holds %s, not the %s asked for", a, b);
        return -1;
    }
    return 0;
}

/* Maps the pages of [p, p + len) of the medium in one call rather than a
 * fault per page (a hint: older kernels say no, and that is fine). */
static void populate(const void *p, uint64_t len)
{
#ifdef MADV_POPULATE_READ
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)4095;
    madvise((void *)start, (uintptr_t)p + len - start, MADV_POPULATE_READ);
#else
    (void)p, (void)len;
#endif
}

/* Copies a plain array block by block, each neighbour block checked while
 * it is in cache (scan: the node count; 0 for an index array). */
static int64_t copy_checked(void *dst, const uint8_t *src, const struct graph_region_array *a, int64_t scan,
                            int weighted, uint64_t delay_ticks)
{
    const uint64_t step = 1u << 20, bytes = a->elems * a->elem_size;
    int64_t first_bad = INT64_MAX, blocks = (int64_t)((bytes + step - 1) / step);
#pragma omp parallel for schedule(static) reduction(min : first_bad)
    for (int64_t b = 0; b < blocks; b++) {
        uint64_t off = (uint64_t)b * step, len = bytes - off < step ? bytes - off : step;
        memcpy((uint8_t *)dst + off, src + off, len);
        for (uint64_t page = 0; delay_ticks && page < len; page += 4096)
            cxl_delay_spin(delay_ticks);
        int64_t bad_at = scan ? graph_neigh_scan(dst, weighted, scan, (int64_t)(off / a->elem_size),
                                                 (int64_t)((off + len) / a->elem_size)) : INT64_MAX;
        first_bad = bad_at < first_bad ? bad_at : first_bad;
    }
    return first_bad;
}

/* One private array: decrypted, or copied (the delay model per 4 KiB page);
 * a neighbour array's ids checked on the way. */
static void *private_array(struct graph_region *r, const struct graph_region_array *a,
                           const struct graph_pub_keys *keys, char *err, size_t errlen)
{
    uint64_t bytes = a->elems * a->elem_size;
    int weighted = (r->hdr.flags & GRAPH_REGION_WEIGHTED) != 0;
    int64_t scan = a->kind % 2 == 0 ? r->hdr.num_nodes : 0, first_bad = INT64_MAX;
    void *p = graph_array_alloc(bytes);
    if (!p) {
        snprintf(err, errlen, "graph region: out of memory for %" PRIu64 " bytes", bytes);
        return NULL;
    }
    const uint8_t *src = (const uint8_t *)r->live + a->offset;
    populate(src, a->stored_bytes);
    if (keys && graph_open_array(keys, &r->hdr, a, src, p, r->delay_ticks, scan, &first_bad, err, errlen) != 0) {
        free(p);
        return NULL;
    }
    if (!keys)
        first_bad = copy_checked(p, src, a, scan, weighted, r->delay_ticks);
    if (first_bad != INT64_MAX) {
        graph_neigh_refuse(p, weighted, r->hdr.num_nodes, first_bad,
                           a->kind == GRAPH_ARRAY_OUT_NEIGH ? "OUT_NEIGH" : "IN_NEIGH", err, errlen);
        free(p);
        return NULL;
    }
    return p;
}

static int load_arrays(struct graph_region *r, struct graph *g, const struct graph_pub_keys *keys, char *err,
                       size_t errlen)
{
    const struct graph_region_header *h = &r->hdr;
    struct graph_owned *own = calloc(1, sizeof *own);
    *g = (struct graph){.n = h->num_nodes, .m = h->num_edges, .owned = own,
                        .directed = (h->flags & GRAPH_REGION_DIRECTED) != 0,
                        .weighted = (h->flags & GRAPH_REGION_WEIGHTED) != 0};
    if (!own) {
        snprintf(err, errlen, "graph region: out of memory");
        return -1;
    }
    int zero_copy = r->o.zero_copy && !keys;
    void **slots[] = {(void **)&own->out_index, &own->out_neigh, (void **)&own->in_index, &own->in_neigh};
    for (uint32_t i = 0; i < h->n_arrays; i++) {
        const struct graph_region_array *a = &h->arrays[i];
        if (zero_copy && i % 2 == 1)
            continue; /* neighbours stay in the medium */
        if (!(*slots[i] = private_array(r, a, keys, err, errlen)))
            return -1;
    }
    const uint8_t *base = (const uint8_t *)r->live;
    g->out_index = own->out_index;
    g->out_neigh = zero_copy ? base + h->arrays[1].offset : own->out_neigh;
    g->in_index = g->directed ? own->in_index : own->out_index;
    g->in_neigh = !g->directed ? g->out_neigh : zero_copy ? base + h->arrays[3].offset : own->in_neigh;
    /* a write-sealed region cannot change after this: its ids are checked
     * once here and the kernels run unchecked (docs/FABRIC.md) */
    int once = zero_copy && r->sealed;
    g->delay_ticks = zero_copy ? r->delay_ticks : 0;
    g->checked = zero_copy && !once ? (g->delay_ticks ? GRAPH_CHECKED_DELAY : GRAPH_CHECKED) : 0;
    g->fault = g->checked ? &r->fault : NULL;
    return graph_region_arrays_check(g, once, err, errlen); /* the offsets; copied ids were checked as copied */
}

static void pretouch(const struct graph_region *r)
{
    volatile uint8_t sink = 0;
    const uint8_t *p = (const uint8_t *)r->live;
    for (uint64_t off = 0; off < r->map_size; off += 4096)
        sink ^= p[off];
    (void)sink;
}

/* One attempt: 1 when the graph was re-published under it (try again). */
static int attach_once(struct graph_region *r, struct graph *g, const struct graph_provenance *want,
                       char *err, size_t errlen)
{
    *g = (struct graph){0};
    uint64_t gen = load_gen(r);
    memcpy(&r->hdr, r->live, sizeof r->hdr);
    if (r->hdr.generation != gen || load_state(r) != GRAPH_REGION_READY)
        return 1;
    /* what it is (magic, version), then who wrote it (MAC or checksum), then every field */
    if ((memcmp(r->hdr.magic, GRAPH_REGION_MAGIC, 8) != 0 || r->hdr.version != GRAPH_REGION_VERSION) &&
        graph_region_header_check(&r->hdr, UINT64_MAX, err, errlen) != 0)
        return -1;
    struct graph_pub_keys keys;
    int have_keys = 0, rc = check_origin(r, &r->hdr, &keys, &have_keys, err, errlen);
    if (rc == 0)
        rc = graph_region_header_check(&r->hdr, UINT64_MAX, err, errlen);
    if (rc == 0)
        rc = check_wanted(r, want, err, errlen);
    uint64_t end = array_end(&r->hdr);
    if (rc == 0 && end > r->map_size && !r->o.medium.map_size)
        rc = map_region(r, 0, 0, err, errlen); /* the publisher grew the file */
    if (rc == 0)
        rc = graph_region_header_check(&r->hdr, r->map_size, err, errlen);
    if (rc == 0 && r->o.pretouch)
        pretouch(r);
    if (rc == 0)
        rc = load_arrays(r, g, have_keys ? &keys : NULL, err, errlen);
    if (have_keys)
        graph_seal_wipe(&keys);
    int moved = load_gen(r) != gen || load_state(r) != GRAPH_REGION_READY;
    if (rc != 0 && !moved)
        return -1;
    if (moved) { /* re-published under the copy: what failed may be honest bytes of the next one */
        if (g->owned)
            graph_free(g);
        return 1;
    }
    r->gen_seen = gen;
    return 0;
}

int graph_region_attach(struct graph_region *r, struct graph *g, const struct graph_provenance *want,
                        char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (graph_region_wait(r, err, errlen) != 0)
            return -1;
        int rc = attach_once(r, g, want, err, errlen);
        if (rc <= 0) {
            if (rc < 0 && g->owned)
                graph_free(g);
            return rc;
        }
    }
    snprintf(err, errlen, "graph region: the graph was re-published three times while attaching");
    return -1;
}

int graph_region_check(const struct graph_region *r, char *err, size_t errlen)
{
    if (r->sealed && r->gen_seen)
        return 0; /* write-sealed since before the attach: it cannot be re-published */
    uint64_t gen = load_gen(r);
    uint32_t s = load_state(r);
    if (gen == r->gen_seen && s == GRAPH_REGION_READY)
        return 0;
    snprintf(err, errlen, "graph region: the graph was re-published during the run (generation %" PRIu64
             " -> %" PRIu64 ", state %u)", r->gen_seen, gen, s);
    return -1;
}
