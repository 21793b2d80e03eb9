/* pr_spmv.c - PageRank, pull direction, Jacobi (`cxl_graph pr_spmv`). Owns
 * graph_pr_spmv. PageRank as Page, Brin, Motwani & Winograd (1999) define
 * it (damping d, base (1 - d) / n); each iteration is one sparse
 * matrix-vector product: every new score is computed from the previous
 * iteration's scores only (Jacobi), then all contributions are refreshed.
 * A checked graph's bad in-neighbours are skipped; the pull is inlined
 * twice, checked and plain, chosen once per node. */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

static inline __attribute__((always_inline)) double
pull(const struct graph *g, const double *contrib, graph_node u, const int checked)
{
    const graph_node *in = graph_in(g, u);
    int64_t deg = graph_in_degree(g, u);
    double sum = 0.0;
    for (int64_t i = 0; i < deg; i++) {
        graph_node v = graph_neigh(g, in, i, checked);
        if (!graph_skip(v, checked))
            sum += contrib[v];
    }
    return sum;
}

static void refresh(const struct graph *g, const double *scores, double *contrib)
{
#pragma omp parallel for
    for (int64_t u = 0; u < g->n; u++) {
        int64_t deg = graph_out_degree(g, (graph_node)u);
        contrib[u] = deg ? scores[u] / (double)deg : 0.0;
    }
}

double *graph_pr_spmv(const struct graph *g, int max_iters, double tol)
{
    int64_t n = g->n;
    double *scores, *contrib;
    if (graph_pr_arrays(n, &scores, &contrib) != 0)
        return NULL;
    const double base = (1.0 - GRAPH_PR_DAMPING) / (double)n;
#pragma omp parallel for
    for (int64_t u = 0; u < n; u++)
        scores[u] = 1.0 / (double)n;
    const int checked = g->checked;
    for (int it = 0; it < max_iters && !graph_faulted(g); it++) {
        double error = 0.0;
        refresh(g, scores, contrib);
#pragma omp parallel for reduction(+ : error) schedule(dynamic, 64)
        for (int64_t u = 0; u < n; u++) {
            double in = checked ? pull(g, contrib, (graph_node)u, 1)
                                : pull(g, contrib, (graph_node)u, 0);
            double s = base + GRAPH_PR_DAMPING * in;
            error += fabs(s - scores[u]);
            scores[u] = s;
        }
        if (error < tol)
            break;
    }
    free(contrib);
    return scores;
}
