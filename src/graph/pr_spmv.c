/* pr_spmv.c - PageRank, pull direction, Jacobi (`cxl_graph pr_spmv`). Owns
 * graph_pr_spmv. PageRank as Page, Brin, Motwani & Winograd (1999) define
 * it (damping d, base (1 - d) / n); each iteration is one sparse
 * matrix-vector product: every new score is computed from the previous
 * iteration's contributions only (Jacobi). The contributions are double
 * buffered: a node's new score and its next contribution are written in the
 * same pass, so an iteration is one pass and one parallel region.
 * A checked graph's bad in-neighbours are skipped; each thread's share of
 * the pass is inlined twice, checked and plain, chosen once per call. */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

struct spmv {
    const float *contrib; /* this iteration's */
    float *next;
    double *scores;
    double base, error;
};

/* This thread's share of one iteration (an orphaned worksharing loop). */
ALWAYS_INLINE void step(const struct graph *g, struct spmv *p, const int checked)
{
    const float *contrib = p->contrib;
    float *next = p->next;
    double *scores = p->scores, base = p->base, error = 0.0;
#pragma omp for schedule(dynamic, GRAPH_PR_CHUNK) nowait
    for (int64_t u = 0; u < g->n; u++) {
        double s = base + GRAPH_PR_DAMPING * graph_pr_pull(g, contrib, (graph_node)u, checked, 0);
        error += fabs(s - scores[u]);
        scores[u] = s;
        next[u] = graph_pr_contribution(g, (graph_node)u, s, checked);
    }
#pragma omp atomic
    p->error += error;
}

double *graph_pr_spmv(const struct graph *g, int max_iters, double tol)
{
    return graph_pr_spmv_logged(g, max_iters, tol, 0);
}

double *graph_pr_spmv_logged(const struct graph *g, int max_iters, double tol, int logging)
{
    int64_t n = g->n;
    double *scores;
    float *contrib, *next = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!next || graph_pr_arrays(n, &scores, &contrib) != 0) {
        free(next);
        return NULL;
    }
#pragma omp parallel for
    for (int64_t u = 0; u < n; u++) {
        scores[u] = 1.0 / (double)n;
        contrib[u] = graph_pr_contribution(g, (graph_node)u, scores[u], 1);
    }
    struct spmv p = {contrib, next, scores, (1.0 - GRAPH_PR_DAMPING) / (double)n, 0.0};
    const int checked = g->checked;
    for (int it = 0; it < max_iters && !graph_faulted(g); it++) {
        p.error = 0.0;
#pragma omp parallel
        {
            /* a private copy: the compiler keeps its arrays in registers
             * (the stores could alias *g) */
            const struct graph lg = *g;
            GRAPH_BY_MODE(checked, step, &lg, &p);
        }
        float *t = (float *)p.contrib;
        p.contrib = p.next, p.next = t;
        if (logging)
            graph_pr_log_step(it, p.error);
        if (p.error < tol)
            break;
    }
    free(contrib), free(next);
    return scores;
}
