/* kernels.h - the GAP kernels other than BFS (docs/GRAPH.md), one file each,
 * and their serial verifiers (verify_kernels.c). Every kernel takes the CSR
 * of graph.h, read-only; results are malloc'd arrays the caller frees (NULL
 * when memory ran out). Kept apart from graph.h so the kernels' declarations
 * and the builder's never touch the same lines. */
#ifndef CXL_GRAPH_KERNELS_H
#define CXL_GRAPH_KERNELS_H

#include <stdint.h>

#include "graph.h"

#define GRAPH_PR_DAMPING 0.85
#define GRAPH_PR_TOLERANCE 1e-4
#define GRAPH_PR_MAX_ITERS 20
/* SSSP: the distance of an unreachable node (GAPBS's kDistInf). */
#define GRAPH_DIST_INF (INT32_MAX / 2)

/* PageRank, pull direction; stops after max_iters iterations or when one
 * changes the scores by less than tol (sum of absolute changes).
 * graph_pr: Gauss-Seidel (a score updated in an iteration is used at once);
 * graph_pr_spmv: Jacobi (each iteration a sparse matrix-vector product). */
double *graph_pr(const struct graph *g, int max_iters, double tol);
double *graph_pr_spmv(const struct graph *g, int max_iters, double tol);
/* The same, printing each iteration's change when logging, as GAPBS's -l
 * ("%5d%23.5lf": iteration, sum of absolute changes). */
double *graph_pr_logged(const struct graph *g, int max_iters, double tol, int logging);
double *graph_pr_spmv_logged(const struct graph *g, int max_iters, double tol, int logging);
void graph_pr_log_step(int iteration, double error);

/* Connected components (weakly, for a directed graph): comp[u] names u's
 * component; two nodes share a label iff they are connected.
 * graph_cc: Afforest (Sutton et al. 2018); graph_cc_sv: Shiloach-Vishkin. */
graph_node *graph_cc(const struct graph *g);
graph_node *graph_cc_sv(const struct graph *g);

/* Single-source shortest paths on a weighted graph (weights >= 0; the
 * caller gives an unweighted graph weights first, as GAPBS does) by
 * delta-stepping (Meyer & Sanders 2003); GRAPH_DIST_INF when unreachable.
 * delta < 1 is taken as 1. */
graph_weight *graph_sssp(const struct graph *g, graph_node source, graph_weight delta);

/* Betweenness centrality (Brandes 2001; unweighted, over out-edges) from
 * the nsrc given sources (the caller picks them, GAPBS: nodes with
 * out-edges), each score divided by the largest (as GAPBS reports them). */
double *graph_bc(const struct graph *g, const graph_node *sources, int nsrc);

/* Triangles of an undirected graph, each counted once (ordered count); the
 * caller refuses a directed graph, as GAPBS's tc does.
 * graph_tc relabels by degree first when graph_tc_worth_relabel says so;
 * graph_tc_ordered lets the caller choose. UINT64_MAX when memory ran out. */
int graph_tc_worth_relabel(const struct graph *g);
uint64_t graph_tc_ordered(const struct graph *g, int relabel);
uint64_t graph_tc(const struct graph *g);

/* Shared by the kernels (kernel_arrays.c): PageRank's n scores (double)
 * and n contributions (float: the pull reads them at random, and half the
 * bytes stay cached twice as well); -1 when memory ran out, neither
 * allocated; n labels, each node its own (NULL when memory ran out). */
int graph_pr_arrays(int64_t n, double **scores, float **contrib);

/* PageRank's shared pieces (pr.c, pr_spmv.c): */
/* nodes a thread takes at a time: few enough takes that the shared
 * counter's cache line does not bounce for every 64 nodes */
#define GRAPH_PR_CHUNK 4096

/* score / outdeg(u), 0 when u has no out-edge. On the plain path no
 * in-list names such a u (its contribution is never read): it is divided by
 * 1 instead, without a branch (isolated nodes are scattered at random). */
static inline __attribute__((always_inline)) float
graph_pr_contribution(const struct graph *g, graph_node u, double score, const int checked)
{
    int64_t deg = graph_out_degree(g, u);
    if (!checked)
        return (float)(score / (double)(deg + (deg == 0)));
    return deg ? (float)(score / (double)deg) : 0.0f;
}

/* in[i]'s contribution; 0 for a checked graph's bad id. shared: a relaxed
 * load (pr's Gauss-Seidel sweep, where another thread may be writing it: a
 * stale or a fresh contribution are both valid Gauss-Seidel inputs, but a
 * plain load racing a store would be a data race); otherwise (pr_spmv's
 * Jacobi step reads last iteration's array, which nobody writes) a plain
 * one, which the compiler folds into the float addition (a relaxed float
 * load is an integer load and a move). */
static inline __attribute__((always_inline)) float
graph_pr_contrib(const struct graph *g, const float *contrib, const graph_node *in, int64_t i,
                 const int checked, const int shared)
{
    graph_node v = graph_neigh(g, in, i, checked);
    if (graph_skip(v, checked))
        return 0.0f;
    if (!shared)
        return contrib[v];
    float c;
    __atomic_load(&contrib[v], &c, __ATOMIC_RELAXED);
    return c;
}

/* The sum of u's in-neighbours' contributions, one chain of float additions
 * (float, as the contributions are, so each load folds into its addition:
 * 24% fewer instructions for pr than a double sum). Two chains (even and odd
 * positions) were faster while the contributions fitted in the caches (the
 * chain's latency bound it), and 10-15% slower at -g 20 (4 MB of them, most
 * lists short: the pairing's overhead per list), where GAPBS's one chain won. */
static inline __attribute__((always_inline)) double
graph_pr_pull(const struct graph *g, const float *contrib, graph_node u, const int checked,
              const int shared)
{
    const graph_node *in = graph_in(g, u);
    int64_t deg = graph_in_degree(g, u);
    float sum = 0.0f;
    for (int64_t i = 0; i < deg; i++)
        sum += graph_pr_contrib(g, contrib, in, i, checked, shared);
    return sum;
}
graph_node *graph_singleton_labels(int64_t n);

/* Serial verifiers: 1 when the result is right, else 0 with the first
 * difference printed to stderr. */
int graph_verify_pr(const struct graph *g, const double *scores, double tol);
int graph_verify_cc(const struct graph *g, const graph_node *comp);
int graph_verify_sssp(const struct graph *g, graph_node source, const graph_weight *dist);
int graph_verify_bc(const struct graph *g, const graph_node *sources, int nsrc,
                    const double *scores);
int graph_verify_tc(const struct graph *g, uint64_t count);

#endif
