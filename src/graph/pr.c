/* pr.c - PageRank, pull direction, Gauss-Seidel (`cxl_graph pr`). Owns
 * graph_pr. Implements PageRank as Page, Brin, Motwani & Winograd (1999)
 * define it, with damping d: score(u) = (1 - d) / n + d * sum over in-edges
 * v->u of score(v) / outdeg(v). Gauss-Seidel: each node pulls from its
 * in-neighbours and its new score is used at once by the nodes after it,
 * as Beamer, Asanovic & Patterson's GAP specification (2015) allows. The
 * contributions are read and written with relaxed atomics: another thread
 * may be updating the one read (on x86-64 these are plain moves). A checked
 * graph's bad in-neighbours are skipped; the pull is inlined twice, checked
 * and plain, chosen once per node. */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

static double contribution(const struct graph *g, graph_node u, double score)
{
    int64_t deg = graph_out_degree(g, u);
    return deg ? score / (double)deg : 0.0;
}

static inline __attribute__((always_inline)) double
pull(const struct graph *g, const double *contrib, graph_node u, const int checked)
{
    const graph_node *in = graph_in(g, u);
    int64_t deg = graph_in_degree(g, u);
    double sum = 0.0;
    for (int64_t i = 0; i < deg; i++) {
        graph_node v = graph_neigh(g, in, i, checked);
        if (graph_skip(v, checked))
            continue;
        double c;
        __atomic_load(&contrib[v], &c, __ATOMIC_RELAXED);
        sum += c;
    }
    return sum;
}

double *graph_pr(const struct graph *g, int max_iters, double tol)
{
    int64_t n = g->n;
    double *scores, *contrib;
    if (graph_pr_arrays(n, &scores, &contrib) != 0)
        return NULL;
    const double base = (1.0 - GRAPH_PR_DAMPING) / (double)n;
#pragma omp parallel for
    for (int64_t u = 0; u < n; u++) {
        scores[u] = 1.0 / (double)n;
        contrib[u] = contribution(g, (graph_node)u, scores[u]);
    }
    const int checked = g->checked;
    for (int it = 0; it < max_iters && !graph_faulted(g); it++) {
        double error = 0.0;
#pragma omp parallel for reduction(+ : error) schedule(dynamic, 64)
        for (int64_t u = 0; u < n; u++) {
            double old = scores[u];
            double in = checked ? pull(g, contrib, (graph_node)u, 1)
                                : pull(g, contrib, (graph_node)u, 0);
            scores[u] = base + GRAPH_PR_DAMPING * in;
            error += fabs(scores[u] - old);
            double c = contribution(g, (graph_node)u, scores[u]);
            __atomic_store(&contrib[u], &c, __ATOMIC_RELAXED);
        }
        if (error < tol)
            break;
    }
    free(contrib);
    return scores;
}
