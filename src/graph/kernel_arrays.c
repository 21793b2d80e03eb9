/* kernel_arrays.c - the arrays several kernels start from: PageRank's
 * scores and contributions (pr.c, pr_spmv.c), every node its own component
 * (cc.c, cc_sv.c); PageRank's -l line (pr.c, pr_spmv.c). */
#include <stdio.h>
#include <stdlib.h>

#include "kernels.h"

int graph_pr_arrays(int64_t n, double **scores, float **contrib)
{
    *scores = malloc(sizeof(double) * (size_t)(n ? n : 1));
    *contrib = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (*scores && *contrib)
        return 0;
    free(*scores);
    free(*contrib);
    *scores = NULL;
    *contrib = NULL;
    return -1;
}

graph_node *graph_singleton_labels(int64_t n)
{
    graph_node *comp = malloc(sizeof(graph_node) * (size_t)(n ? n : 1));
    if (!comp)
        return NULL;
#pragma omp parallel for
    for (int64_t u = 0; u < n; u++)
        comp[u] = (graph_node)u;
    return comp;
}

void graph_pr_log_step(int iteration, double error)
{
    printf("%5d%23.5lf\n", iteration, error);
}
