/* pr.c - PageRank, pull direction, Gauss-Seidel (`cxl_graph pr`). Owns
 * graph_pr. Implements PageRank as Page, Brin, Motwani & Winograd (1999)
 * define it, with damping d: score(u) = (1 - d) / n + d * sum over in-edges
 * v->u of score(v) / outdeg(v). Gauss-Seidel: each node pulls from its
 * in-neighbours and its new score is used at once by the nodes after it,
 * as Beamer, Asanovic & Patterson's GAP specification (2015) allows. The
 * contributions are read and written with relaxed atomics: another thread
 * may be updating the one read (on x86-64 these are plain moves). A checked
 * graph's bad in-neighbours are skipped; each thread's share of an iteration is
 * inlined twice, checked and plain, chosen once per call. */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* This thread's share of one iteration (an orphaned worksharing loop);
 * adds its change of the scores to *error. */
ALWAYS_INLINE void sweep(const struct graph *g, double *scores, float *contrib, double base,
                         double *error, const int checked)
{
    double err = 0.0;
#pragma omp for schedule(dynamic, GRAPH_PR_CHUNK) nowait
    for (int64_t u = 0; u < g->n; u++) {
        double old = scores[u];
        scores[u] = base + GRAPH_PR_DAMPING * graph_pr_pull(g, contrib, (graph_node)u, checked, 1);
        err += fabs(scores[u] - old);
        float c = graph_pr_contribution(g, (graph_node)u, scores[u], checked);
        __atomic_store(&contrib[u], &c, __ATOMIC_RELAXED);
    }
#pragma omp atomic
    *error += err;
}

double *graph_pr(const struct graph *g, int max_iters, double tol)
{
    return graph_pr_logged(g, max_iters, tol, 0);
}

double *graph_pr_logged(const struct graph *g, int max_iters, double tol, int logging)
{
    int64_t n = g->n;
    double *scores;
    float *contrib;
    if (graph_pr_arrays(n, &scores, &contrib) != 0)
        return NULL;
    const double base = (1.0 - GRAPH_PR_DAMPING) / (double)n;
#pragma omp parallel for
    for (int64_t u = 0; u < n; u++) {
        scores[u] = 1.0 / (double)n;
        contrib[u] = graph_pr_contribution(g, (graph_node)u, scores[u], 1);
    }
    const int checked = g->checked;
    for (int it = 0; it < max_iters && !graph_faulted(g); it++) {
        double error = 0.0;
#pragma omp parallel
        {
            /* a private copy: the compiler keeps its arrays in registers
             * (the contribution stores could alias *g) */
            const struct graph lg = *g;
            GRAPH_BY_MODE(checked, sweep, &lg, scores, contrib, base, &error);
        }
        if (logging)
            graph_pr_log_step(it, error);
        if (error < tol)
            break;
    }
    free(contrib);
    return scores;
}
