/* verify_kernels.c - serial checkers of the kernels of kernels.h (as strict
 * as GAPBS's verifiers; none shares code with the kernel it checks).
 * PR: one more Jacobi step from the scores changes them by less than the
 * tolerance (sum of absolute changes). CC: every edge joins equal labels and
 * the labels partition the nodes exactly as a serial BFS labelling does.
 * SSSP: the distances equal a serial Dijkstra's (binary heap). BC: a serial
 * Brandes (FIFO queue, predecessor lists) on the same sources, normalised
 * the same way, within a relative error. TC: a serial count of the
 * triangles u < v < w by binary search. A checked graph's elements are
 * read once each through graph_neigh / graph_wneigh (bad ones skipped): the
 * verdict may be FAIL, every read stays in bounds and every loop ends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define BC_REL_ERROR 1e-6

/* --- PR ------------------------------------------------------------------ */

int graph_verify_pr(const struct graph *g, const double *scores, double tol)
{
    const double base = (1.0 - GRAPH_PR_DAMPING) / (double)g->n;
    double error = 0.0;
    for (int64_t u = 0; u < g->n; u++) {
        const graph_node *in = graph_in(g, (graph_node)u);
        double sum = 0.0;
        for (int64_t i = 0; i < graph_in_degree(g, (graph_node)u); i++) {
            graph_node v = graph_neigh(g, in, i, g->checked);
            if (v >= 0)
                sum += scores[v] / (double)graph_out_degree(g, v);
        }
        error += fabs(base + GRAPH_PR_DAMPING * sum - scores[u]);
    }
    if (error < tol)
        return 1;
    fprintf(stderr, "verify pr: one more step changes the scores by %g (tolerance %g)\n",
            error, tol);
    return 0;
}

/* --- CC ------------------------------------------------------------------ */

/* Serial BFS labels over out- and in-edges; the number of components. */
static int64_t bfs_labels(const struct graph *g, int64_t *label, graph_node *queue)
{
    int64_t comps = 0;
    for (int64_t u = 0; u < g->n; u++)
        label[u] = -1;
    for (int64_t s = 0; s < g->n; s++) {
        if (label[s] >= 0)
            continue;
        int64_t head = 0, tail = 0;
        label[s] = comps, queue[tail++] = (graph_node)s;
        while (head < tail) {
            graph_node u = queue[head++];
            for (int dir = 0; dir < 2; dir++) {
                const graph_node *nb = dir ? graph_in(g, u) : graph_out(g, u);
                int64_t deg = dir ? graph_in_degree(g, u) : graph_out_degree(g, u);
                for (int64_t i = 0; i < deg; i++) {
                    graph_node v = graph_neigh(g, nb, i, g->checked);
                    if (v >= 0 && label[v] < 0)
                        label[v] = comps, queue[tail++] = v;
                }
            }
        }
        comps++;
    }
    return comps;
}

/* comp and label name the same partition: a bijection between labels. */
static int same_partition(const struct graph *g, const graph_node *comp, const int64_t *label,
                          int64_t comps)
{
    int64_t *to_bfs = malloc(sizeof(int64_t) * (size_t)g->n);  /* comp label -> bfs label */
    int64_t *to_comp = malloc(sizeof(int64_t) * (size_t)comps); /* bfs label -> comp label */
    int ok = to_bfs && to_comp;
    for (int64_t i = 0; ok && i < g->n; i++)
        to_bfs[i] = -1;
    for (int64_t i = 0; ok && i < comps; i++)
        to_comp[i] = -1;
    for (int64_t u = 0; ok && u < g->n; u++) {
        if (comp[u] < 0 || comp[u] >= g->n) {
            fprintf(stderr, "verify cc: node %lld has label %d, not a node\n", (long long)u,
                    comp[u]);
            ok = 0;
        } else if (to_bfs[comp[u]] < 0 && to_comp[label[u]] < 0) {
            to_bfs[comp[u]] = label[u], to_comp[label[u]] = comp[u];
        } else if (to_bfs[comp[u]] != label[u] || to_comp[label[u]] != comp[u]) {
            fprintf(stderr, "verify cc: node %lld (label %d) is not in the component a BFS "
                    "finds\n", (long long)u, comp[u]);
            ok = 0;
        }
    }
    free(to_bfs), free(to_comp);
    return ok;
}

int graph_verify_cc(const struct graph *g, const graph_node *comp)
{
    for (int64_t u = 0; u < g->n; u++)
        for (int64_t i = 0; i < graph_out_degree(g, (graph_node)u); i++) {
            graph_node v = graph_neigh(g, graph_out(g, (graph_node)u), i, g->checked);
            if (v >= 0 && comp[u] != comp[v]) {
                fprintf(stderr, "verify cc: edge %lld -> %d joins labels %d and %d\n",
                        (long long)u, v, comp[u], comp[v]);
                return 0;
            }
        }
    int64_t *label = malloc(sizeof(int64_t) * (size_t)(g->n ? g->n : 1));
    graph_node *queue = malloc(sizeof(graph_node) * (size_t)(g->n ? g->n : 1));
    int ok = label && queue && same_partition(g, comp, label, bfs_labels(g, label, queue));
    free(label), free(queue);
    return ok;
}

/* --- SSSP ---------------------------------------------------------------- */

struct heap_item {
    int64_t d;
    graph_node v;
};

static void heap_push(struct heap_item *h, int64_t *len, struct heap_item x)
{
    int64_t i = (*len)++;
    while (i > 0 && h[(i - 1) / 2].d > x.d)
        h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = x;
}

static struct heap_item heap_pop(struct heap_item *h, int64_t *len)
{
    struct heap_item top = h[0], last = h[--(*len)];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= *len)
            break;
        if (c + 1 < *len && h[c + 1].d < h[c].d)
            c++;
        if (h[c].d >= last.d)
            break;
        h[i] = h[c], i = c;
    }
    h[i] = last;
    return top;
}

/* Dijkstra with lazy deletion: at most m + 1 entries in the heap. */
static void dijkstra(const struct graph *g, graph_node source, int64_t *dist,
                     struct heap_item *heap)
{
    int64_t len = 0;
    for (int64_t u = 0; u < g->n; u++)
        dist[u] = GRAPH_DIST_INF;
    dist[source] = 0;
    heap_push(heap, &len, (struct heap_item){0, source});
    while (len > 0) {
        struct heap_item it = heap_pop(heap, &len);
        if (it.d > dist[it.v])
            continue;
        const struct graph_wnode *out = graph_wout(g, it.v);
        for (int64_t i = 0; i < graph_out_degree(g, it.v); i++) {
            graph_node v;
            graph_weight w;
            if (!graph_wneigh(g, out, i, &v, &w, g->checked))
                continue;
            int64_t d = it.d + w;
            if (d < dist[v] && d < GRAPH_DIST_INF) {
                dist[v] = d;
                heap_push(heap, &len, (struct heap_item){d, v});
            }
        }
    }
}

int graph_verify_sssp(const struct graph *g, graph_node source, const graph_weight *dist)
{
    int64_t *want = malloc(sizeof(int64_t) * (size_t)(g->n ? g->n : 1));
    struct heap_item *heap = malloc(sizeof(*heap) * (size_t)(g->m + 1));
    int ok = want && heap;
    if (ok)
        dijkstra(g, source, want, heap);
    for (int64_t u = 0; ok && u < g->n; u++)
        if (dist[u] != want[u]) {
            fprintf(stderr, "verify sssp: dist[%lld] = %d, Dijkstra says %lld\n", (long long)u,
                    dist[u], (long long)want[u]);
            ok = 0;
        }
    free(want), free(heap);
    return ok;
}

/* --- BC ------------------------------------------------------------------ */

struct brandes {
    int64_t *depth, *stack;
    double *sigma, *delta;
};

/* One source: BFS in FIFO order (the queue doubles as the stack), then the
 * dependencies in reverse order over the successors of each node. */
static void brandes_source(const struct graph *g, struct brandes *b, graph_node s,
                           double *scores)
{
    for (int64_t u = 0; u < g->n; u++)
        b->depth[u] = -1, b->sigma[u] = 0, b->delta[u] = 0;
    int64_t head = 0, tail = 0;
    b->depth[s] = 0, b->sigma[s] = 1, b->stack[tail++] = s;
    while (head < tail) {
        graph_node u = (graph_node)b->stack[head++];
        for (int64_t i = 0; i < graph_out_degree(g, u); i++) {
            graph_node v = graph_neigh(g, graph_out(g, u), i, g->checked);
            if (v < 0)
                continue;
            if (b->depth[v] < 0)
                b->depth[v] = b->depth[u] + 1, b->stack[tail++] = v;
            if (b->depth[v] == b->depth[u] + 1)
                b->sigma[v] += b->sigma[u];
        }
    }
    while (tail > 0) {
        graph_node u = (graph_node)b->stack[--tail];
        for (int64_t i = 0; i < graph_out_degree(g, u); i++) {
            graph_node v = graph_neigh(g, graph_out(g, u), i, g->checked);
            if (v >= 0 && b->depth[v] == b->depth[u] + 1)
                b->delta[u] += b->sigma[u] / b->sigma[v] * (1 + b->delta[v]);
        }
        if (u != s)
            scores[u] += b->delta[u];
    }
}

int graph_verify_bc(const struct graph *g, const graph_node *sources, int nsrc,
                    const double *scores)
{
    size_t n = (size_t)(g->n ? g->n : 1);
    struct brandes b = {malloc(sizeof(int64_t) * n), malloc(sizeof(int64_t) * n),
                        malloc(sizeof(double) * n), malloc(sizeof(double) * n)};
    double *want = calloc(n, sizeof(double));
    int ok = b.depth && b.stack && b.sigma && b.delta && want;
    for (int i = 0; ok && i < nsrc; i++)
        brandes_source(g, &b, sources[i], want);
    double biggest = 0;
    for (int64_t u = 0; ok && u < g->n; u++)
        biggest = want[u] > biggest ? want[u] : biggest;
    for (int64_t u = 0; ok && u < g->n; u++) {
        double w = biggest > 0 ? want[u] / biggest : want[u];
        if (fabs(scores[u] - w) > BC_REL_ERROR * fmax(fabs(w), 1e-300) &&
            fabs(scores[u] - w) > 1e-12) {
            fprintf(stderr, "verify bc: score[%lld] = %.12g, Brandes says %.12g\n",
                    (long long)u, scores[u], w);
            ok = 0;
        }
    }
    free(b.depth), free(b.stack), free(b.sigma), free(b.delta), free(want);
    return ok;
}

/* --- TC ------------------------------------------------------------------ */

static int has_edge(const struct graph *g, graph_node u, graph_node v)
{
    const graph_node *out = graph_out(g, u);
    int64_t lo = 0, hi = graph_out_degree(g, u);
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (graph_neigh(g, out, mid, g->checked) < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < graph_out_degree(g, u) && graph_neigh(g, out, lo, g->checked) == v;
}

int graph_verify_tc(const struct graph *g, uint64_t count)
{
    uint64_t want = 0;
    for (int64_t u = 0; u < g->n; u++)
        for (int64_t i = 0; i < graph_out_degree(g, (graph_node)u); i++) {
            graph_node v = graph_neigh(g, graph_out(g, (graph_node)u), i, g->checked);
            for (int64_t j = 0; v > u && j < graph_out_degree(g, v); j++) {
                graph_node w = graph_neigh(g, graph_out(g, v), j, g->checked);
                want += w > v && has_edge(g, (graph_node)u, w);
            }
        }
    if (count == want)
        return 1;
    fprintf(stderr, "verify tc: %llu triangles, a serial count says %llu\n",
            (unsigned long long)count, (unsigned long long)want);
    return 0;
}
