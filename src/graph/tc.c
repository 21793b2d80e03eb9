/* tc.c - triangle counting (`cxl_graph tc`; undirected graphs only). Owns
 * graph_tc, graph_tc_ordered and graph_tc_worth_relabel. The ordered count
 * of Schank & Wagner, "Finding, counting and listing all triangles in large
 * graphs" (WEA 2005): a triangle w < v < u is counted once, at u, by
 * merging u's neighbours below v with v's neighbours below v (the lists
 * are sorted). Relabelling the nodes by decreasing degree first (Schank &
 * Wagner's "forward" ordering: a node only looks at its neighbours of
 * higher degree) bounds the work per node; it is worth its cost only on a
 * graph whose degrees are skewed, which a sample of degrees tells.
 * A checked graph: its ids are read once each through graph_neigh, a bad
 * one skipped (each thread's share of the count inlined twice, checked
 * and plain, chosen once per call); a relabelled copy is private and its
 * ids valid (a bad one becomes a self loop, which never counts), so it is
 * counted plain. Unsorted or duplicated lists give a wrong count, every
 * merge still ends. */
#include <stdlib.h>

#include "kernels.h"

#define TC_SAMPLES 1000

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Skewed: a mean degree of at least 10 and a sampled median under half of
 * it (a heavy tail pulls the mean up, not the median). */
int graph_tc_worth_relabel(const struct graph *g)
{
    if (g->n < 2 || g->m < 10 * g->n)
        return 0;
    int64_t sample[TC_SAMPLES];
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < TC_SAMPLES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sample[i] = graph_out_degree(g, (graph_node)(x % (uint64_t)g->n));
    }
    qsort(sample, TC_SAMPLES, sizeof sample[0], cmp_i64);
    double mean = (double)g->m / (double)g->n;
    return (double)sample[TC_SAMPLES / 2] < mean / 2.0;
}

struct lists { /* a CSR's two arrays, the graph's own or relabelled */
    const graph_offset *index;
    const graph_node *neigh;
};

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* |{x in a[0..na)} & {y in b[0..nb) : y < below}|, both lists ascending:
 * a merge that reads each element once and stops at b's first id >= below. */
ALWAYS_INLINE uint64_t common_below(const struct graph *g, const graph_node *a, int64_t na,
                                    const graph_node *b, int64_t nb, graph_node below,
                                    const int checked)
{
    uint64_t count = 0;
    if (na == 0 || nb == 0)
        return 0;
    int64_t i = 0, j = 0;
    graph_node x = graph_neigh(g, a, 0, checked), y = graph_neigh(g, b, 0, checked);
    while (y < below) {
        if (x < y) {
            if (++i == na)
                break;
            x = graph_neigh(g, a, i, checked);
        } else if (y < x) {
            if (++j == nb)
                break;
            y = graph_neigh(g, b, j, checked);
        } else {
            count++;
            if (++i == na || ++j == nb)
                break;
            x = graph_neigh(g, a, i, checked), y = graph_neigh(g, b, j, checked);
        }
    }
    return count;
}

/* Triangles w < v < u counted at u: nu[0..du) are u's neighbours below u. */
ALWAYS_INLINE uint64_t count_at(const struct graph *g, const graph_node *nu, int64_t du,
                                const struct lists *l, const int checked)
{
    uint64_t count = 0;
    for (int64_t i = 1; i < du; i++) {
        graph_node v = graph_neigh(g, nu, i, checked);
        if (graph_skip(v, checked))
            continue;
        const graph_node *nv = l->neigh + l->index[v];
        count += common_below(g, nu, i, nv, l->index[v + 1] - l->index[v], v, checked);
    }
    return count;
}

/* This thread's share of the count (an orphaned worksharing loop), added
 * to *total. */
ALWAYS_INLINE void count_share(const struct graph *g, const struct lists *l, uint64_t *total,
                               const int checked)
{
    uint64_t count = 0;
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t u = 0; u < g->n; u++) {
        const graph_node *nu = l->neigh + l->index[u];
        int64_t du = 0, deg = l->index[u + 1] - l->index[u];
        while (du < deg && graph_neigh(g, nu, du, checked) < u)
            du++;
        count += count_at(g, nu, du, l, checked);
    }
#pragma omp atomic
    *total += count;
}

/* checked: l is g's own arrays, g checked. */
static uint64_t count_lists(const struct graph *g, const struct lists *l, int checked)
{
    uint64_t total = 0;
#pragma omp parallel
    {
        GRAPH_BY_MODE(checked, count_share, g, l, &total);
    }
    return total;
}

struct ranked {
    int64_t degree;
    graph_node id;
};

/* Decreasing degree, ties by increasing id. */
static int by_degree(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->degree != y->degree)
        return x->degree > y->degree ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

#define SORT_SMALL 24 /* lists this short are insertion-sorted */

static void insertion_sort(graph_node *a, int64_t len)
{
    for (int64_t i = 1; i < len; i++) {
        graph_node x = a[i];
        int64_t j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Ascending ids, in place: quicksort (median of three, the smaller side
 * first by recursion, the larger by looping: depth O(log len)) down to
 * short runs, which insertion sort finishes; no comparator calls. */
static void sort_ids(graph_node *a, int64_t len)
{
    while (len > SORT_SMALL) {
        graph_node x = a[0], y = a[len / 2], z = a[len - 1];
        graph_node pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t i = 0, j = len - 1;
        for (;;) { /* Hoare partition: a[..j] <= pivot <= a[i..] */
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            graph_node t = a[i];
            a[i++] = a[j], a[j--] = t;
        }
        int64_t left = j + 1;
        if (left < len - left) {
            sort_ids(a, left);
            a += left, len -= left;
        } else {
            sort_ids(a + left, len - left);
            len = left;
        }
    }
    insertion_sort(a, len);
}

/* New ids by decreasing degree (ties by old id): id[old] = new. */
static graph_node *degree_ranks(const struct graph *g)
{
    struct ranked *order = malloc(sizeof(*order) * (size_t)g->n);
    graph_node *id = malloc(sizeof(graph_node) * (size_t)g->n);
    if (order && id) {
        for (int64_t u = 0; u < g->n; u++)
            order[u] = (struct ranked){graph_out_degree(g, (graph_node)u), (graph_node)u};
        qsort(order, (size_t)g->n, sizeof(*order), by_degree);
        for (int64_t r = 0; r < g->n; r++)
            id[order[r].id] = (graph_node)r;
    } else {
        free(id);
        id = NULL;
    }
    free(order);
    return id;
}

/* The graph under new ids: index and neighbour lists, sorted again. */
static int relabelled(const struct graph *g, const graph_node *id, graph_offset *index,
                      graph_node *neigh)
{
    index[0] = 0;
    graph_node *old = malloc(sizeof(graph_node) * (size_t)g->n);
    if (!old)
        return -1;
    for (int64_t u = 0; u < g->n; u++)
        old[id[u]] = (graph_node)u;
    for (int64_t r = 0; r < g->n; r++)
        index[r + 1] = index[r] + graph_out_degree(g, old[r]);
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t r = 0; r < g->n; r++) {
        const graph_node *out = graph_out(g, old[r]);
        graph_node *mine = neigh + index[r];
        for (int64_t i = 0; i < index[r + 1] - index[r]; i++) {
            graph_node v = graph_neigh(g, out, i, g->checked);
            mine[i] = v < 0 ? (graph_node)r : id[v];
        }
        sort_ids(mine, index[r + 1] - index[r]);
    }
    free(old);
    return 0;
}

static int64_t count_relabelled(const struct graph *g)
{
    graph_node *id = degree_ranks(g);
    graph_offset *index = malloc(sizeof(graph_offset) * (size_t)(g->n + 1));
    graph_node *neigh = malloc(sizeof(graph_node) * (size_t)(g->m ? g->m : 1));
    int64_t count = -1;
    if (id && index && neigh && relabelled(g, id, index, neigh) == 0) {
        struct lists l = {index, neigh};
        count = (int64_t)count_lists(g, &l, 0);
    }
    free(id), free(index), free(neigh);
    return count;
}

/* UINT64_MAX when memory ran out for the relabelling. */
uint64_t graph_tc_ordered(const struct graph *g, int relabel)
{
    if (g->n == 0)
        return 0;
    if (relabel)
        return (uint64_t)count_relabelled(g);
    struct lists l = {g->out_index, g->out_neigh};
    return count_lists(g, &l, g->checked);
}

uint64_t graph_tc(const struct graph *g)
{
    return graph_tc_ordered(g, graph_tc_worth_relabel(g));
}
