/* cc_sv.c - connected components by Shiloach-Vishkin (`cxl_graph cc_sv`).
 * Owns graph_cc_sv. Implements Shiloach & Vishkin, "An O(log n) Parallel
 * Connectivity Algorithm" (J. Algorithms, 1982), in its common simplified
 * form: repeat { hooking: for every edge whose ends are in different trees,
 * the root of the larger label is hooked under the smaller label;
 * shortcutting: pointer jumping until every node points at its root } until
 * no hook happens. Each edge is looked at from both ends' labels, so the
 * out-edges alone give the weak components of a directed graph. A hook
 * only ever lowers a root's label, so the rounds end whatever the edges; a
 * checked graph's bad neighbour ids are skipped (each thread's share of a
 * pass inlined twice, checked and plain, chosen once per call). */
#include <stdlib.h>

#include "kernels.h"

/* Hook across u's out-edges; 1 when a root was hooked. */
static inline __attribute__((always_inline)) int
hook_node(const struct graph *g, graph_node *comp, graph_node u, const int checked)
{
    int changed = 0;
    const graph_node *out = graph_out(g, u);
    for (int64_t i = 0, deg = graph_out_degree(g, u); i < deg; i++) {
        graph_node v = graph_neigh(g, out, i, checked);
        if (graph_skip(v, checked))
            continue;
        graph_node cu = __atomic_load_n(&comp[u], __ATOMIC_RELAXED);
        graph_node cv = __atomic_load_n(&comp[v], __ATOMIC_RELAXED);
        if (cu == cv)
            continue;
        graph_node high = cu > cv ? cu : cv, low = cu + cv - high;
        if (__atomic_load_n(&comp[high], __ATOMIC_RELAXED) == high) {
            __atomic_store_n(&comp[high], low, __ATOMIC_RELAXED);
            changed = 1;
        }
    }
    return changed;
}

/* This thread's share of a hooking pass (an orphaned worksharing loop):
 * sets *changed when it hooked a root. */
static inline __attribute__((always_inline)) void
hook_share(const struct graph *g, graph_node *comp, int *changed, const int checked)
{
    int mine = 0;
#pragma omp for schedule(dynamic, 2048) nowait
    for (int64_t u = 0; u < g->n; u++)
        mine |= hook_node(g, comp, (graph_node)u, checked);
    if (mine)
        __atomic_store_n(changed, 1, __ATOMIC_RELAXED);
}

static int hook(const struct graph *g, graph_node *comp)
{
    int changed = 0;
    const int checked = g->checked;
#pragma omp parallel
    {
        GRAPH_BY_MODE(checked, hook_share, g, comp, &changed);
    }
    return changed;
}

static void shortcut(graph_node *comp, int64_t n)
{
#pragma omp parallel for schedule(dynamic, 2048)
    for (int64_t u = 0; u < n; u++) {
        graph_node first = __atomic_load_n(&comp[u], __ATOMIC_RELAXED), c = first, p;
        while (c != (p = __atomic_load_n(&comp[c], __ATOMIC_RELAXED)))
            c = p;
        if (c != first) /* an unchanged label is not written back */
            __atomic_store_n(&comp[u], c, __ATOMIC_RELAXED);
    }
}

graph_node *graph_cc_sv(const struct graph *g)
{
    int64_t n = g->n;
    graph_node *comp = graph_singleton_labels(n);
    if (!comp)
        return NULL;
    while (hook(g, comp))
        shortcut(comp, n);
    return comp;
}
