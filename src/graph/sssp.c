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

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Relax u's out-edges (u taken from bucket lo / delta): a neighbour whose
 * distance drops joins this thread's bucket of its new distance. */
ALWAYS_INLINE int relax(const struct graph *g, graph_weight *dist, graph_node u, int64_t lo,
                        graph_weight delta, struct bins *mine, const int checked)
{
    int64_t du = __atomic_load_n(&dist[u], __ATOMIC_RELAXED);
    if (du < lo)
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

/* This thread's lowest non-empty bucket >= from, or INT64_MAX. */
static int64_t lowest_bucket(const struct bins *mine, int64_t from)
{
    for (int64_t b = from; b < mine->nb; b++)
        if (mine->b[b].len)
            return b;
    return INT64_MAX;
}

/* What the threads share while they step through the buckets together. */
struct sweep {
    struct bins *t;          /* each thread's buckets */
    struct bin *taken;       /* each thread's share of the current bucket */
    int64_t next[2];         /* the lowest bucket any thread holds, by parity */
    int failed;
};

/* Hand this thread's bucket b over as its share of the frontier (its
 * previous share becomes the storage the bucket refills). */
static void take(struct sweep *sw, int tid, int64_t b)
{
    struct bin *mine = &sw->t[tid].b[b], *share = &sw->taken[tid];
    struct bin spare = {share->v, 0, share->cap};
    *share = *mine;
    *mine = spare;
}

/* One thread's part of the run: every thread relaxes a slice of each
 * thread's share of the bucket, then the threads agree on the next bucket;
 * two barriers a bucket, no serial step. */
ALWAYS_INLINE void sweep_thread(const struct graph *g, graph_weight *dist, graph_weight delta,
                                struct sweep *sw, const int checked)
{
    int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    struct bins *mine = &sw->t[tid];
    int64_t bucket = 0;
    for (int parity = 0;; parity ^= 1) {
        if (bucket < mine->nb && mine->b[bucket].len)
            take(sw, tid, bucket);
        else
            sw->taken[tid].len = 0;
        if (tid == 0)
            sw->next[parity ^ 1] = INT64_MAX;
#pragma omp barrier
        int failed = 0;
        for (int j = 0; j < nt; j++) {
            const struct bin share = sw->taken[j];
#pragma omp for schedule(dynamic, 64) nowait
            for (int64_t i = 0; i < share.len; i++)
                failed |= relax(g, dist, share.v[i], bucket * delta, delta, mine, checked);
        }
        if (failed)
            __atomic_store_n(&sw->failed, 1, __ATOMIC_RELAXED);
        int64_t low = lowest_bucket(mine, bucket), seen = sw->next[parity ^ 1];
        while (low < seen && !__atomic_compare_exchange_n(&sw->next[parity ^ 1], &seen, low, 0,
                                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
#pragma omp barrier
        bucket = sw->next[parity ^ 1];
        if (bucket == INT64_MAX || __atomic_load_n(&sw->failed, __ATOMIC_RELAXED))
            break;
    }
}

static int run(const struct graph *g, graph_weight *dist, graph_node source,
               graph_weight delta, struct bins *t, int nt)
{
    struct sweep sw = {t, calloc((size_t)nt, sizeof(struct bin)), {0, 0}, 0};
    if (!sw.taken || push(&t[0], 0, source) != 0) {
        free(sw.taken);
        return -1;
    }
    dist[source] = 0;
    const int checked = g->checked;
#pragma omp parallel num_threads(nt)
    {
        GRAPH_BY_MODE(checked, sweep_thread, g, dist, delta, &sw);
    }
    for (int i = 0; i < nt; i++)
        free(sw.taken[i].v);
    free(sw.taken);
    return sw.failed ? -1 : 0;
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
