/* sssp.c - single-source shortest paths by delta-stepping (`cxl_graph
 * sssp`). Owns graph_sssp. Implements Meyer & Sanders, "Delta-stepping: a
 * parallelizable shortest path algorithm" (J. Algorithms, 2003): nodes wait
 * in buckets of width delta by tentative distance; the lowest non-empty
 * bucket is taken as a frontier and all its nodes relax their edges in
 * parallel (an atomic minimum on the distance), an improved node joining
 * the bucket of its new distance; a bucket is repeated until it stays empty
 * (light edges refill it), then the next non-empty one is taken. Each
 * thread keeps its own buckets; stale entries (a node moved to a lower
 * bucket since) are skipped. Weights must be >= 0; a distance that would
 * reach GRAPH_DIST_INF is not representable and is left unreached. A
 * checked graph's edges with a bad id or a weight outside [0,
 * GRAPH_WEIGHT_LIMIT) are skipped: a node is pushed only when its distance
 * drops, into a bucket no lower than the current one, so the run ends
 * whatever the edges (relax inlined twice, checked and plain). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

struct bin {
    graph_node *v;
    int64_t len, cap;
};

struct bins { /* one thread's buckets, indexed by bucket number */
    struct bin *b;
    int64_t nb;
};

/* Buckets past this one are one bucket, drained as the others (a node is
 * re-pushed there while its distance drops), so hostile weights cannot
 * make a thread's bucket table huge. */
#define SSSP_LAST_BUCKET ((int64_t)1 << 20)

static int push(struct bins *t, int64_t bucket, graph_node v)
{
    if (bucket > SSSP_LAST_BUCKET)
        bucket = SSSP_LAST_BUCKET;
    if (bucket >= t->nb) {
        int64_t nb = bucket + 1 > 2 * t->nb ? bucket + 1 : 2 * t->nb;
        struct bin *b = realloc(t->b, sizeof(*b) * (size_t)nb);
        if (!b)
            return -1;
        memset(b + t->nb, 0, sizeof(*b) * (size_t)(nb - t->nb));
        t->b = b, t->nb = nb;
    }
    struct bin *bin = &t->b[bucket];
    if (bin->len == bin->cap) {
        int64_t cap = bin->cap ? 2 * bin->cap : 64;
        graph_node *v2 = realloc(bin->v, sizeof(*v2) * (size_t)cap);
        if (!v2)
            return -1;
        bin->v = v2, bin->cap = cap;
    }
    bin->v[bin->len++] = v;
    return 0;
}

/* Lower dist[v] to d if that is lower; 1 when it did. */
static int lower(graph_weight *dist, graph_node v, graph_weight d)
{
    graph_weight old = __atomic_load_n(&dist[v], __ATOMIC_RELAXED);
    while (d < old)
        if (__atomic_compare_exchange_n(&dist[v], &old, d, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return 1;
    return 0;
}

static inline __attribute__((always_inline)) int
relax(const struct graph *g, graph_weight *dist, graph_node u, int64_t bucket,
      graph_weight delta, struct bins *mine, const int checked)
{
    int64_t du = __atomic_load_n(&dist[u], __ATOMIC_RELAXED);
    if (du / delta < bucket)
        return 0; /* stale: settled from a lower bucket already */
    const struct graph_wnode *out = graph_wout(g, u);
    for (int64_t i = 0, deg = graph_out_degree(g, u); i < deg; i++) {
        graph_node v;
        graph_weight w;
        if (!graph_wneigh(g, out, i, &v, &w, checked))
            continue;
        int64_t d = du + w;
        if (d < GRAPH_DIST_INF && lower(dist, v, (graph_weight)d) && push(mine, d / delta, v))
            return -1;
    }
    return 0;
}

/* The lowest bucket >= from that some thread holds nodes in, or -1. */
static int64_t next_bucket(const struct bins *t, int nt, int64_t from)
{
    int64_t best = -1;
    for (int i = 0; i < nt; i++)
        for (int64_t b = from; b < t[i].nb && (best < 0 || b < best); b++)
            if (t[i].b[b].len) {
                best = b;
                break;
            }
    return best;
}

/* Move every thread's bucket b into *frontier; its size, or -1. */
static int64_t gather(struct bins *t, int nt, int64_t b, graph_node **frontier, int64_t *cap)
{
    int64_t size = 0;
    for (int i = 0; i < nt; i++)
        if (b < t[i].nb)
            size += t[i].b[b].len;
    if (size > *cap) {
        graph_node *f = realloc(*frontier, sizeof(*f) * (size_t)size);
        if (!f)
            return -1;
        *frontier = f, *cap = size;
    }
    size = 0;
    for (int i = 0; i < nt; i++) {
        if (b >= t[i].nb || t[i].b[b].len == 0)
            continue;
        memcpy(*frontier + size, t[i].b[b].v, sizeof(graph_node) * (size_t)t[i].b[b].len);
        size += t[i].b[b].len;
        t[i].b[b].len = 0;
    }
    return size;
}

static int run(const struct graph *g, graph_weight *dist, graph_node source,
               graph_weight delta, struct bins *t, int nt)
{
    int64_t cap = 1, size = 1, bucket = 0;
    graph_node *frontier = malloc(sizeof(graph_node));
    if (!frontier)
        return -1;
    frontier[0] = source;
    dist[source] = 0;
    int failed = 0;
    const int checked = g->checked;
    while (size > 0 && !failed) {
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
        for (int64_t i = 0; i < size; i++) {
            struct bins *mine = &t[omp_get_thread_num()];
            failed |= (checked ? relax(g, dist, frontier[i], bucket, delta, mine, 1)
                               : relax(g, dist, frontier[i], bucket, delta, mine, 0)) != 0;
        }
        bucket = next_bucket(t, nt, bucket);
        size = bucket < 0 ? 0 : gather(t, nt, bucket, &frontier, &cap);
        failed |= size < 0;
    }
    free(frontier);
    return failed ? -1 : 0;
}

graph_weight *graph_sssp(const struct graph *g, graph_node source, graph_weight delta)
{
    int nt = omp_get_max_threads();
    graph_weight *dist = malloc(sizeof(graph_weight) * (size_t)(g->n ? g->n : 1));
    struct bins *t = calloc((size_t)nt, sizeof(*t));
    int rc = dist && t ? 0 : -1;
    if (rc == 0) {
#pragma omp parallel for
        for (int64_t u = 0; u < g->n; u++)
            dist[u] = GRAPH_DIST_INF;
        rc = run(g, dist, source, delta < 1 ? 1 : delta, t, nt);
    }
    for (int i = 0; t && i < nt; i++) {
        for (int64_t b = 0; b < t[i].nb; b++)
            free(t[i].b[b].v);
        free(t[i].b);
    }
    free(t);
    if (rc) {
        free(dist);
        return NULL;
    }
    return dist;
}
