/* bc.c - betweenness centrality (`cxl_graph bc`). Owns graph_bc. Implements
 * Brandes, "A Faster Algorithm for Betweenness Centrality" (J. Math.
 * Sociol., 2001) for unweighted graphs, from a given set of sources: per
 * source, a level-synchronous parallel BFS records each node's depth and
 * the order nodes were reached, level by level; the shortest-path counts
 * sigma are pulled from the previous level's in-neighbours; then the
 * dependencies delta(u) = sum over successors v of sigma(u) / sigma(v) *
 * (1 + delta(v)) are pulled level by level from the deepest up, and added
 * to the scores (the source's own excluded). Finally every score is divided
 * by the largest, as GAPBS reports them. A checked graph's bad neighbour
 * ids are skipped (each loop inlined twice, checked and plain); a successor
 * whose in-list lost its predecessor has sigma 0 and is not divided by. */
#include <stdlib.h>

#include "kernels.h"

struct bc_state {
    int32_t *depth;
    double *sigma, *delta;
    graph_node *order;  /* nodes in BFS order */
    int64_t *level;     /* level d is order[level[d] .. level[d + 1]) */
};

/* Claim u's unreached out-neighbours for depth d + 1, appended at *tail. */
static inline __attribute__((always_inline)) void
claim(const struct graph *g, struct bc_state *s, graph_node u, int32_t d, int64_t *tail,
      const int checked)
{
    const graph_node *out = graph_out(g, u);
    for (int64_t j = 0, deg = graph_out_degree(g, u); j < deg; j++) {
        graph_node v = graph_neigh(g, out, j, checked);
        int32_t unseen = -1;
        if (!graph_skip(v, checked) && __atomic_load_n(&s->depth[v], __ATOMIC_RELAXED) == -1 &&
            __atomic_compare_exchange_n(&s->depth[v], &unseen, d + 1, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            s->order[__atomic_fetch_add(tail, 1, __ATOMIC_RELAXED)] = v;
    }
}

/* Reach the level after order[lo..hi): claim each unreached out-neighbour. */
static int64_t expand(const struct graph *g, struct bc_state *s, int64_t lo, int64_t hi,
                      int32_t d)
{
    int64_t tail = hi;
    const int checked = g->checked;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = lo; i < hi; i++) {
        if (checked)
            claim(g, s, s->order[i], d, &tail, 1);
        else
            claim(g, s, s->order[i], d, &tail, 0);
    }
    return tail;
}

/* The sum of sigma over v's in-neighbours at depth d - 1. */
static inline __attribute__((always_inline)) double
paths_to(const struct graph *g, const struct bc_state *s, graph_node v, int32_t d,
         const int checked)
{
    const graph_node *in = graph_in(g, v);
    double sum = 0.0;
    for (int64_t j = 0, deg = graph_in_degree(g, v); j < deg; j++) {
        graph_node p = graph_neigh(g, in, j, checked);
        if (!graph_skip(p, checked) && s->depth[p] == d - 1)
            sum += s->sigma[p];
    }
    return sum;
}

/* sigma of each node of order[lo..hi) (depth d): the sum over its
 * in-neighbours at depth d - 1. */
static void count_paths(const struct graph *g, struct bc_state *s, int64_t lo, int64_t hi,
                        int32_t d)
{
    const int checked = g->checked;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = lo; i < hi; i++) {
        graph_node v = s->order[i];
        s->sigma[v] = checked ? paths_to(g, s, v, d, 1) : paths_to(g, s, v, d, 0);
    }
}

/* u's dependency: over its successors v (depth d + 1), sigma(u) / sigma(v)
 * * (1 + delta(v)). */
static inline __attribute__((always_inline)) double
dependency(const struct graph *g, const struct bc_state *s, graph_node u, int32_t d,
           const int checked)
{
    const graph_node *out = graph_out(g, u);
    double sum = 0.0;
    for (int64_t j = 0, deg = graph_out_degree(g, u); j < deg; j++) {
        graph_node v = graph_neigh(g, out, j, checked);
        if (graph_skip(v, checked) || s->depth[v] != d + 1 || (checked && s->sigma[v] == 0.0))
            continue;
        sum += s->sigma[u] / s->sigma[v] * (1.0 + s->delta[v]);
    }
    return sum;
}

static void accumulate(const struct graph *g, struct bc_state *s, int64_t lo, int64_t hi,
                       int32_t d, double *scores, graph_node source)
{
    const int checked = g->checked;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = lo; i < hi; i++) {
        graph_node u = s->order[i];
        double sum = checked ? dependency(g, s, u, d, 1) : dependency(g, s, u, d, 0);
        s->delta[u] = sum;
        if (u != source)
            scores[u] += sum;
    }
}

static void one_source(const struct graph *g, struct bc_state *s, graph_node source,
                       double *scores)
{
#pragma omp parallel for
    for (int64_t u = 0; u < g->n; u++)
        s->depth[u] = -1, s->sigma[u] = 0.0, s->delta[u] = 0.0;
    s->depth[source] = 0, s->sigma[source] = 1.0;
    s->order[0] = source;
    s->level[0] = 0, s->level[1] = 1;
    int32_t d = 0;
    while (s->level[d + 1] > s->level[d]) {
        s->level[d + 2] = expand(g, s, s->level[d], s->level[d + 1], d);
        count_paths(g, s, s->level[d + 1], s->level[d + 2], d + 1);
        d++;
    }
    for (; d >= 0; d--)
        accumulate(g, s, s->level[d], s->level[d + 1], d, scores, source);
}

static void normalise(double *scores, int64_t n)
{
    double biggest = 0.0;
    for (int64_t u = 0; u < n; u++)
        biggest = scores[u] > biggest ? scores[u] : biggest;
    if (biggest > 0.0)
        for (int64_t u = 0; u < n; u++)
            scores[u] /= biggest;
}

double *graph_bc(const struct graph *g, const graph_node *sources, int nsrc)
{
    size_t n = (size_t)(g->n ? g->n : 1);
    struct bc_state s = {
        malloc(sizeof(int32_t) * n), malloc(sizeof(double) * n), malloc(sizeof(double) * n),
        malloc(sizeof(graph_node) * n), malloc(sizeof(int64_t) * (n + 2)),
    };
    double *scores = calloc(n, sizeof(double));
    int ok = s.depth && s.sigma && s.delta && s.order && s.level && scores;
    for (int i = 0; ok && i < nsrc; i++)
        one_source(g, &s, sources[i], scores);
    if (ok)
        normalise(scores, g->n);
    free(s.depth), free(s.sigma), free(s.delta), free(s.order), free(s.level);
    if (!ok) {
        free(scores);
        return NULL;
    }
    return scores;
}
