/* bc.c - betweenness centrality (`cxl_graph bc`). Owns graph_bc. Implements
 * Brandes, "A Faster Algorithm for Betweenness Centrality" (J. Math.
 * Sociol., 2001) for unweighted graphs, from a given set of sources: per
 * source, a level-synchronous parallel BFS records each node's depth and
 * the order nodes were reached, level by level, and in the same pass over
 * an edge u -> v into the next level adds u's shortest-path count sigma(u)
 * to sigma(v) (an atomic add) and marks the edge in a bitmap of successor
 * edges (a bit per edge offset; claimed nodes go through a per-thread
 * buffer, not one shared counter each); then the dependencies delta(u) = sigma(u) *
 * sum over successors v of (1 + delta(v)) / sigma(v) are pulled level by
 * level from the deepest up over the marked edges only (each node keeps
 * (1 + delta) / sigma, so a successor costs one read and an add), and added to the scores (the source's
 * own excluded). Finally every score is divided by the largest, as GAPBS
 * reports them. A checked graph's bad neighbour ids are skipped (each pass
 * inlined twice, checked and plain, chosen once per call). */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

struct bc_state {
    int32_t *depth;
    double *sigma;      /* shortest paths from the source */
    double *coef;       /* (1 + delta) / sigma, once delta is known */
    graph_node *order;  /* nodes in BFS order */
    int64_t *level;     /* level d is order[level[d] .. level[d + 1]) */
    uint64_t *succ;     /* bit e: out-edge e leads one level down */
};

#define BC_LOCAL 256 /* a thread's buffer of claimed nodes */

struct claimed {
    graph_node v[BC_LOCAL];
    int len;
};

static void flush(struct bc_state *s, struct claimed *c, int64_t *tail)
{
    int64_t at = __atomic_fetch_add(tail, c->len, __ATOMIC_RELAXED);
    memcpy(s->order + at, c->v, sizeof(graph_node) * (size_t)c->len);
    c->len = 0;
}

/* Set bits of succ: word w, the bits of one node's edges. */
static void mark(uint64_t *succ, int64_t w, uint64_t bits)
{
    if (bits)
        __atomic_fetch_or(&succ[w], bits, __ATOMIC_RELAXED);
}

static void add_double(double *p, double x)
{
    double old, sum;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    do
        sum = old + x;
    while (!__atomic_compare_exchange(p, &old, &sum, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

/* u (depth d) claims its unreached out-neighbours for depth d + 1 (into
 * c), adds its path count to every neighbour at depth d + 1 and marks
 * those edges in succ (a word's bits gathered, then or-ed in at once). */
ALWAYS_INLINE void claim(const struct graph *g, struct bc_state *s, graph_node u, int32_t d,
                         int64_t *tail, struct claimed *c, const int checked)
{
    const graph_node *out = graph_out(g, u);
    graph_offset base = g->out_index[u];
    double paths = s->sigma[u];
    int64_t word = base >> 6;
    uint64_t bits = 0;
    for (int64_t j = 0, deg = graph_out_degree(g, u); j < deg; j++) {
        graph_node v = graph_neigh(g, out, j, checked);
        if (graph_skip(v, checked))
            continue;
        int32_t dv = __atomic_load_n(&s->depth[v], __ATOMIC_RELAXED);
        if (dv == -1 && __atomic_compare_exchange_n(&s->depth[v], &dv, d + 1, 0,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            c->v[c->len++] = v;
            if (c->len == BC_LOCAL)
                flush(s, c, tail);
            dv = d + 1;
        }
        if (dv != d + 1)
            continue;
        add_double(&s->sigma[v], paths);
        int64_t e = base + j;
        if (e >> 6 != word)
            mark(s->succ, word, bits), word = e >> 6, bits = 0;
        bits |= (uint64_t)1 << (e & 63);
    }
    mark(s->succ, word, bits);
}

/* This thread's share of reaching the level after order[lo..hi). */
ALWAYS_INLINE void expand(const struct graph *g, struct bc_state *s, int64_t lo, int64_t hi,
                          int32_t d, int64_t *tail, const int checked)
{
    struct claimed c;
    c.len = 0;
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t i = lo; i < hi; i++)
        claim(g, s, s->order[i], d, tail, &c, checked);
    flush(s, &c, tail);
}

/* The sum over u's successors v (the marked edges; depth d + 1) of their
 * (1 + delta) / sigma. A checked graph's id may have changed since it was
 * marked: it is checked again, and its depth. */
ALWAYS_INLINE double dependency(const struct graph *g, const struct bc_state *s, graph_node u,
                                int32_t d, const int checked)
{
    const graph_node *all = g->out_neigh;
    graph_offset lo = g->out_index[u], hi = g->out_index[u + 1];
    double sum = 0.0;
    for (int64_t w = lo >> 6; lo < hi && w <= (hi - 1) >> 6; w++) {
        uint64_t bits = s->succ[w];
        if (w == lo >> 6)
            bits &= ~(uint64_t)0 << (lo & 63);
        if (w == (hi - 1) >> 6)
            bits &= ~(uint64_t)0 >> (63 - ((hi - 1) & 63));
        for (; bits; bits &= bits - 1) {
            graph_node v = graph_neigh(g, all, 64 * w + __builtin_ctzll(bits), checked);
            if (checked && (graph_skip(v, checked) || s->depth[v] != d + 1))
                continue;
            sum += s->coef[v];
        }
    }
    return sum;
}

/* This thread's share of level d's dependencies, added to the scores. */
ALWAYS_INLINE void accumulate(const struct graph *g, struct bc_state *s, int64_t lo, int64_t hi,
                              int32_t d, double *scores, graph_node source, const int checked)
{
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t i = lo; i < hi; i++) {
        graph_node u = s->order[i];
        double sigma = s->sigma[u], delta = sigma * dependency(g, s, u, d, checked);
        s->coef[u] = sigma > 0.0 ? (1.0 + delta) / sigma : 0.0;
        if (u != source)
            scores[u] += delta;
    }
}

/* One thread's part of one source: the levels down, then back up; a
 * barrier after each level. */
ALWAYS_INLINE void source_thread(const struct graph *g, struct bc_state *s, graph_node source,
                                 double *scores, int64_t *tail, const int checked)
{
    int32_t d = 0;
    while (s->level[d + 1] > s->level[d]) {
        expand(g, s, s->level[d], s->level[d + 1], d, tail, checked);
#pragma omp barrier
#pragma omp single
        s->level[d + 2] = *tail; /* the implicit barrier publishes it */
        d++;
    }
    for (; d >= 0; d--) {
        accumulate(g, s, s->level[d], s->level[d + 1], d, scores, source, checked);
#pragma omp barrier
    }
}

static void one_source(const struct graph *g, struct bc_state *s, graph_node source,
                       double *scores)
{
#pragma omp parallel
    {
#pragma omp for nowait
        for (int64_t u = 0; u < g->n; u++)
            s->depth[u] = -1, s->sigma[u] = 0.0;
#pragma omp for nowait
        for (int64_t w = 0; w < (g->m + 63) / 64; w++)
            s->succ[w] = 0;
    }
    s->depth[source] = 0, s->sigma[source] = 1.0;
    s->order[0] = source;
    s->level[0] = 0, s->level[1] = 1;
    int64_t tail = 1;
    const int checked = g->checked;
#pragma omp parallel
    {
        GRAPH_BY_MODE(checked, source_thread, g, s, source, scores, &tail);
    }
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
        malloc(sizeof(uint64_t) * ((size_t)(g->m + 63) / 64 + 1)),
    };
    double *scores = calloc(n, sizeof(double));
    int ok = s.depth && s.sigma && s.coef && s.order && s.level && s.succ && scores;
    for (int i = 0; ok && i < nsrc; i++)
        one_source(g, &s, sources[i], scores);
    if (ok)
        normalise(scores, g->n);
    free(s.depth), free(s.sigma), free(s.coef), free(s.order), free(s.level), free(s.succ);
    if (!ok) {
        free(scores);
        return NULL;
    }
    return scores;
}
