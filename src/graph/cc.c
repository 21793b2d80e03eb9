/* cc.c - connected components by Afforest (`cxl_graph cc`). Owns graph_cc.
 * Implements Sutton, Ben-Nun & Barak, "Optimizing Parallel Graph
 * Connectivity Computation via Subgraph Sampling" (IPDPS 2018): a forest of
 * parent pointers joined by a lock-free link (a root is hooked under the
 * smaller label by compare-and-swap); first only each node's first
 * GRAPH_CC_ROUNDS neighbours are linked, round by round with a compression
 * after each; then the largest component is estimated from a sample of
 * GRAPH_CC_SAMPLES nodes and its nodes skip the rest of their edges (the
 * others link all of them, and their in-edges too in a directed graph).
 * Links only ever hook a root under a smaller label, so the forest stays a
 * forest whatever the edges; a checked graph's bad neighbour ids are
 * skipped (each thread's share of a pass inlined twice, checked and
 * plain, chosen once per call). */
#include <stdlib.h>

#include "kernels.h"

#define GRAPH_CC_ROUNDS 2
#define GRAPH_CC_SAMPLES 1024

static graph_node load(graph_node *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Join the trees of u and v: the root with the larger label is hooked under
 * the smaller one; a lost race retries from the new parents. */
static void link(graph_node *comp, graph_node u, graph_node v)
{
    graph_node p1 = load(&comp[u]), p2 = load(&comp[v]);
    while (p1 != p2) {
        graph_node high = p1 > p2 ? p1 : p2, low = p1 + p2 - high;
        graph_node p_high = load(&comp[high]);
        if (p_high == low)
            return;
        if (p_high == high &&
            __atomic_compare_exchange_n(&comp[high], &p_high, low, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return;
        p1 = load(&comp[load(&comp[high])]);
        p2 = load(&comp[low]);
    }
}

/* Point every node straight at its root: follow the parents up (labels
 * only decrease along the way, so the walk ends), write only a change. */
static void compress(graph_node *comp, int64_t n)
{
#pragma omp parallel for schedule(dynamic, 2048)
    for (int64_t u = 0; u < n; u++) {
        graph_node first = load(&comp[u]), c = first, p;
        while ((p = load(&comp[c])) != c)
            c = p;
        if (c != first)
            __atomic_store_n(&comp[u], c, __ATOMIC_RELAXED);
    }
}

static int by_label(const void *a, const void *b)
{
    graph_node x = *(const graph_node *)a, y = *(const graph_node *)b;
    return (x > y) - (x < y);
}

/* The most frequent label among GRAPH_CC_SAMPLES nodes drawn at random. */
static graph_node largest_label(const graph_node *comp, int64_t n)
{
    graph_node sample[GRAPH_CC_SAMPLES];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < GRAPH_CC_SAMPLES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sample[i] = comp[x % (uint64_t)n];
    }
    qsort(sample, GRAPH_CC_SAMPLES, sizeof sample[0], by_label);
    graph_node best = sample[0];
    int best_run = 0, run = 0;
    for (int i = 0; i < GRAPH_CC_SAMPLES; i++) {
        run = i && sample[i] == sample[i - 1] ? run + 1 : 1;
        if (run > best_run)
            best = sample[i], best_run = run;
    }
    return best;
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Link u to nb[from..deg). */
ALWAYS_INLINE void link_list(const struct graph *g, graph_node *comp, graph_node u,
                             const graph_node *nb, int64_t from, int64_t deg, const int checked)
{
    for (int64_t i = from; i < deg; i++) {
        graph_node v = graph_neigh(g, nb, i, checked);
        if (!graph_skip(v, checked))
            link(comp, u, v);
    }
}

/* This thread's share of the final pass (an orphaned worksharing loop):
 * the nodes outside the component labelled skip link their other edges. */
ALWAYS_INLINE void link_rest(const struct graph *g, graph_node *comp, graph_node skip,
                             const int checked)
{
#pragma omp for schedule(dynamic, 2048) nowait
    for (int64_t u = 0; u < g->n; u++) {
        if (load(&comp[u]) == skip)
            continue;
        link_list(g, comp, (graph_node)u, graph_out(g, (graph_node)u), GRAPH_CC_ROUNDS,
                  graph_out_degree(g, (graph_node)u), checked);
        if (g->directed)
            link_list(g, comp, (graph_node)u, graph_in(g, (graph_node)u), 0,
                      graph_in_degree(g, (graph_node)u), checked);
    }
}

/* This thread's share of round r: every node linked to its r-th
 * out-neighbour. */
ALWAYS_INLINE void link_round(const struct graph *g, graph_node *comp, int r, const int checked)
{
#pragma omp for schedule(dynamic, 2048) nowait
    for (int64_t u = 0; u < g->n; u++) {
        int64_t deg = graph_out_degree(g, (graph_node)u);
        if (deg > r)
            link_list(g, comp, (graph_node)u, graph_out(g, (graph_node)u), r, r + 1, checked);
    }
}

graph_node *graph_cc(const struct graph *g)
{
    int64_t n = g->n;
    graph_node *comp = graph_singleton_labels(n);
    if (!comp)
        return NULL;
    const int checked = g->checked;
    for (int r = 0; r < GRAPH_CC_ROUNDS; r++) {
#pragma omp parallel
        {
            GRAPH_BY_MODE(checked, link_round, g, comp, r);
        }
        compress(comp, n);
    }
    graph_node skip = n > 0 ? largest_label(comp, n) : 0;
#pragma omp parallel
    {
        GRAPH_BY_MODE(checked, link_rest, g, comp, skip);
    }
    compress(comp, n);
    return comp;
}
