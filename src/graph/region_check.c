/* region_check.c - what a graph region must look like (docs/GRAPH.md, "The
 * region"): the array table of a graph (the publisher's layout), and the
 * checks an attacher runs on its private copies: the header field by field,
 * then the arrays (offsets from 0, never decreasing, ending at m; every
 * neighbour id a node). Every refusal names the field and its value. */
#include "region.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {"?", "OUT_INDEX", "OUT_NEIGH", "IN_INDEX", "IN_NEIGH"};

static const char *kind_name(uint32_t kind)
{
    return kind >= 1 && kind <= 4 ? kind_names[kind] : "?";
}

static uint64_t align_up(uint64_t v)
{
    return (v + GRAPH_REGION_ALIGN - 1) & ~(uint64_t)(GRAPH_REGION_ALIGN - 1);
}

/* Bytes array a takes in the region: its elements, plus a tag per chunk when sealed. */
static int stored_bytes(uint64_t elems, uint32_t elem_size, int sealed, uint64_t *out)
{
    uint64_t bytes;
    if (__builtin_mul_overflow(elems, (uint64_t)elem_size, &bytes))
        return -1;
    uint64_t chunks = sealed ? (bytes + GRAPH_SEAL_CHUNK - 1) / GRAPH_SEAL_CHUNK : 0;
    return __builtin_add_overflow(bytes, chunks * GRAPH_SEAL_TAG, out) ? -1 : 0;
}

static void set_array(struct graph_region_array *a, uint32_t kind, uint32_t elem_size, uint64_t elems,
                      int sealed, uint64_t *pos)
{
    *a = (struct graph_region_array){.kind = kind, .elem_size = elem_size, .offset = *pos,
                                     .elems = elems, .chunk_bytes = sealed ? GRAPH_SEAL_CHUNK : 0};
    stored_bytes(elems, elem_size, sealed, &a->stored_bytes);
    *pos = align_up(*pos + a->stored_bytes);
}

void graph_region_layout(struct graph_region_header *h, const struct graph *g, int sealed)
{
    uint32_t neigh = g->weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    uint64_t pos = GRAPH_REGION_HEADER;
    h->n_arrays = g->directed ? 4 : 2;
    set_array(&h->arrays[0], GRAPH_ARRAY_OUT_INDEX, sizeof(graph_offset), (uint64_t)g->n + 1, sealed, &pos);
    set_array(&h->arrays[1], GRAPH_ARRAY_OUT_NEIGH, neigh, (uint64_t)g->m, sealed, &pos);
    if (g->directed) {
        set_array(&h->arrays[2], GRAPH_ARRAY_IN_INDEX, sizeof(graph_offset), (uint64_t)g->n + 1, sealed, &pos);
        set_array(&h->arrays[3], GRAPH_ARRAY_IN_NEIGH, neigh, (uint64_t)g->m, sealed, &pos);
    }
}

uint64_t graph_region_need(const struct graph *g, int sealed)
{
    struct graph_region_header h;
    memset(&h, 0, sizeof h);
    graph_region_layout(&h, g, sealed);
    const struct graph_region_array *last = &h.arrays[h.n_arrays - 1];
    return align_up(last->offset + last->stored_bytes);
}

/* FNV-1a 64 of the header's publication fields (state and the MAC itself zeroed). */
uint64_t graph_region_checksum(const struct graph_region_header *h)
{
    struct graph_region_header c = *h;
    c.state = 0;
    memset(c.header_mac, 0, sizeof c.header_mac);
    const uint8_t *p = (const uint8_t *)&c;
    uint64_t x = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < sizeof c; i++)
        x = (x ^ p[i]) * 0x100000001b3ull;
    return x;
}

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "graph region: %s", what);
    return -1;
}

/* The expected kind, element size and count of array i. */
static void expected(const struct graph_region_header *h, uint32_t i, uint32_t *kind, uint32_t *size,
                     uint64_t *elems)
{
    int neigh = i % 2 == 1;
    *kind = i + 1;
    *size = !neigh ? sizeof(graph_offset)
            : (h->flags & GRAPH_REGION_WEIGHTED) ? sizeof(struct graph_wnode) : sizeof(graph_node);
    *elems = neigh ? (uint64_t)h->num_edges : (uint64_t)h->num_nodes + 1;
}

static int check_array(const struct graph_region_header *h, uint32_t i, uint64_t *end, uint64_t map_size,
                       char *err, size_t errlen)
{
    const struct graph_region_array *a = &h->arrays[i];
    uint32_t kind, size;
    uint64_t elems, stored = 0;
    char msg[256];
    int sealed = (h->flags & GRAPH_REGION_SEALED) != 0;
    expected(h, i, &kind, &size, &elems);
    if (a->kind != kind || a->elem_size != size || a->elems != elems)
        snprintf(msg, sizeof msg, "array %u is kind %u, %u-byte elements x %" PRIu64 "; expected %s, %u x %" PRIu64,
                 i, a->kind, a->elem_size, a->elems, kind_name(kind), size, elems);
    else if (stored_bytes(elems, size, sealed, &stored) != 0 || a->stored_bytes != stored ||
             a->chunk_bytes != (sealed ? GRAPH_SEAL_CHUNK : 0))
        snprintf(msg, sizeof msg, "%s stores %" PRIu64 " bytes in chunks of %" PRIu64 "; expected %" PRIu64,
                 kind_name(kind), a->stored_bytes, a->chunk_bytes, stored);
    else if (a->offset % GRAPH_REGION_ALIGN || a->offset < *end || a->offset > map_size ||
             map_size - a->offset < stored)
        snprintf(msg, sizeof msg, "%s at offset %" PRIu64 " + %" PRIu64 " bytes is not 64-B aligned past "
                 "offset %" PRIu64 " and inside the %" PRIu64 "-byte mapping",
                 kind_name(kind), a->offset, stored, *end, map_size);
    else {
        *end = a->offset + stored;
        return 0;
    }
    return bad(err, errlen, msg);
}

/* The provenance's names are ours or nothing: a generator we write, a
 * region name of printable bytes ending in a NUL (they are printed). */
static int provenance_check(const struct graph_provenance *p, char *err, size_t errlen)
{
    static const char known[][8] = {"kron", "uniform", "file"};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok |= memcmp(p->generator, known[i], sizeof p->generator) == 0;
    size_t len = strnlen(p->region, sizeof p->region);
    for (size_t i = 0; ok && i < sizeof p->region; i++)
        ok = i < len ? p->region[i] > ' ' && p->region[i] < 0x7f : p->region[i] == 0;
    return ok && len < sizeof p->region ? 0 : bad(err, errlen, "the provenance names a generator or region "
                                                               "this build does not write");
}

int graph_region_header_check(const struct graph_region_header *h, uint64_t map_size,
                              char *err, size_t errlen)
{
    char msg[256];
    if (memcmp(h->magic, GRAPH_REGION_MAGIC, 8) != 0)
        return bad(err, errlen, "no graph here (magic is not CXLGRAPH)");
    if (h->version != GRAPH_REGION_VERSION || h->header_size != GRAPH_REGION_HEADER) {
        snprintf(msg, sizeof msg, "layout version %u with a %u-byte header; this build reads version %u, %u",
                 h->version, h->header_size, GRAPH_REGION_VERSION, GRAPH_REGION_HEADER);
        return bad(err, errlen, msg);
    }
    if (h->generation % 2 || h->flags & ~(uint32_t)GRAPH_REGION_FLAGS_KNOWN ||
        h->num_nodes < 0 || h->num_nodes >= INT32_MAX || h->num_edges < 0) {
        snprintf(msg, sizeof msg, "generation %" PRIu64 ", flags 0x%x, %" PRId64 " nodes, %" PRId64
                 " edges: not a published graph", h->generation, h->flags, h->num_nodes, h->num_edges);
        return bad(err, errlen, msg);
    }
    if (provenance_check(&h->prov, err, errlen) != 0)
        return -1;
    uint32_t want = (h->flags & GRAPH_REGION_DIRECTED) ? 4 : 2;
    if (h->n_arrays != want) {
        snprintf(msg, sizeof msg, "%u arrays; a %sdirected graph has %u", h->n_arrays,
                 want == 4 ? "" : "un", want);
        return bad(err, errlen, msg);
    }
    uint64_t end = GRAPH_REGION_HEADER;
    for (uint32_t i = 0; i < want; i++)
        if (check_array(h, i, &end, map_size, err, errlen) != 0)
            return -1;
    return 0;
}

static int check_index(const graph_offset *idx, int64_t n, int64_t m, const char *name,
                       char *err, size_t errlen)
{
    char msg[256];
    if (idx[0] != 0 || idx[n] != m) {
        snprintf(msg, sizeof msg, "%s starts at %" PRId64 " and ends at %" PRId64 "; expected 0 and m = %" PRId64,
                 name, (int64_t)idx[0], (int64_t)idx[n], m);
        return bad(err, errlen, msg);
    }
    int64_t first_bad = INT64_MAX;
#pragma omp parallel for reduction(min : first_bad) schedule(static)
    for (int64_t u = 0; u < n; u++)
        if (idx[u + 1] < idx[u] && u < first_bad)
            first_bad = u;
    if (first_bad != INT64_MAX) {
        snprintf(msg, sizeof msg, "%s decreases at node %" PRId64 " (%" PRId64 " then %" PRId64 ")", name,
                 first_bad, (int64_t)idx[first_bad], (int64_t)idx[first_bad + 1]);
        return bad(err, errlen, msg);
    }
    return 0;
}

int64_t graph_neigh_scan(const void *neigh, int weighted, int64_t n, int64_t from, int64_t to)
{
    const graph_node *ids = neigh;
    const struct graph_wnode *w = neigh;
    if (!weighted) {
        uint32_t any = 0; /* branch-free over the block; find the element only if one is bad */
        for (int64_t i = from; i < to; i++)
            any |= (uint32_t)ids[i] >= (uint64_t)n;
        if (!any)
            return INT64_MAX;
    }
    for (int64_t i = from; i < to; i++) {
        int64_t v = weighted ? w[i].v : ids[i];
        if (v < 0 || v >= n || (weighted && w[i].w < 0))
            return i;
    }
    return INT64_MAX;
}

int graph_neigh_refuse(const void *neigh, int weighted, int64_t n, int64_t first_bad, const char *name,
                       char *err, size_t errlen)
{
    const graph_node *ids = neigh;
    const struct graph_wnode *w = neigh;
    char msg[256];
    if (weighted && w[first_bad].w < 0)
        snprintf(msg, sizeof msg, "%s[%" PRId64 "] has weight %d (weights are >= 0)", name, first_bad,
                 w[first_bad].w);
    else
        snprintf(msg, sizeof msg, "%s[%" PRId64 "] = %d is not a node (n = %" PRId64 ")", name, first_bad,
                 weighted ? w[first_bad].v : ids[first_bad], n);
    return bad(err, errlen, msg);
}

static int check_neigh(const void *neigh, int weighted, int64_t n, int64_t m, const char *name,
                       char *err, size_t errlen)
{
    const int64_t block = 1 << 16;
    int64_t first_bad = INT64_MAX;
#pragma omp parallel for reduction(min : first_bad) schedule(static)
    for (int64_t b = 0; b < (m + block - 1) / block; b++) {
        int64_t bad_at = graph_neigh_scan(neigh, weighted, n, b * block, b * block + block < m ? b * block + block : m);
        first_bad = bad_at < first_bad ? bad_at : first_bad;
    }
    return first_bad == INT64_MAX ? 0 : graph_neigh_refuse(neigh, weighted, n, first_bad, name, err, errlen);
}

int graph_region_arrays_check(const struct graph *g, int check_neighbours, char *err, size_t errlen)
{
    if (check_index(g->out_index, g->n, g->m, "OUT_INDEX", err, errlen) != 0 ||
        (g->directed && check_index(g->in_index, g->n, g->m, "IN_INDEX", err, errlen) != 0))
        return -1;
    if (!check_neighbours)
        return 0;
    if (check_neigh(g->out_neigh, g->weighted, g->n, g->m, "OUT_NEIGH", err, errlen) != 0 ||
        (g->directed && check_neigh(g->in_neigh, g->weighted, g->n, g->m, "IN_NEIGH", err, errlen) != 0))
        return -1;
    return 0;
}

int graph_provenance_match(const struct graph_provenance *a, const struct graph_provenance *b)
{
    return strncmp(a->generator, b->generator, sizeof a->generator) == 0 && a->scale == b->scale &&
           a->degree == b->degree && a->seed == b->seed && a->source_hash == b->source_hash;
}

void graph_provenance_describe(const struct graph_provenance *p, char *buf, size_t len)
{
    if (strncmp(p->generator, "file", sizeof p->generator) == 0)
        snprintf(buf, len, "a graph read from a file (source hash %016" PRIx64 ")", p->source_hash);
    else
        snprintf(buf, len, "%.8s -%c %d -k %d (seed %" PRIu64 ", variant %016" PRIx64 ")", p->generator,
                 strncmp(p->generator, "uniform", 8) == 0 ? 'u' : 'g', p->scale, p->degree, p->seed,
                 p->source_hash);
}
