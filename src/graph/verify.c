/* verify.c - serial checkers of the kernels' outputs. BFS: a serial BFS gives
 * each node's depth; the parent array must reach exactly the nodes it
 * reaches, the source must be its own parent, and every other reached node's
 * parent must be an in-neighbour one level closer to the source. A checked
 * graph's elements are read once each through graph_neigh (bad ones
 * skipped): the verdict may be FAIL, the reads stay in bounds. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>

static int64_t *serial_depths(const struct graph *g, graph_node source)
{
    int64_t *depth = malloc((size_t)g->n * sizeof(*depth));
    graph_node *queue = malloc((size_t)g->n * sizeof(*queue));
    if (!depth || !queue) {
        free(depth);
        free(queue);
        return NULL;
    }
    for (int64_t u = 0; u < g->n; u++)
        depth[u] = -1;
    int64_t head = 0, tail = 0;
    depth[source] = 0;
    queue[tail++] = source;
    while (head < tail) {
        graph_node u = queue[head++];
        const graph_node *nb = graph_out(g, u);
        for (int64_t k = 0; k < graph_out_degree(g, u); k++) {
            graph_node v = graph_neigh(g, nb, k, g->checked);
            if (v >= 0 && depth[v] < 0) {
                depth[v] = depth[u] + 1;
                queue[tail++] = v;
            }
        }
    }
    free(queue);
    return depth;
}

static int is_in_neighbour(const struct graph *g, graph_node u, graph_node p)
{
    const graph_node *nb = graph_in(g, u);
    for (int64_t k = 0; k < graph_in_degree(g, u); k++)
        if (graph_neigh(g, nb, k, g->checked) == p)
            return 1;
    return 0;
}

/* 1 if parent[u] is right for depth; else prints why and returns 0. */
static int check_node(const struct graph *g, graph_node source, const graph_node *parent,
                      const int64_t *depth, graph_node u)
{
    graph_node p = parent[u];
    if ((depth[u] < 0) != (p < 0)) {
        fprintf(stderr, "bfs verify: node %d %s\n", u,
                p < 0 ? "is reachable but was not reached" : "was reached but is not reachable");
        return 0;
    }
    if (p < 0)
        return 1;
    if (p >= g->n || (u == source && p != u)) {
        fprintf(stderr, "bfs verify: node %d has parent %d\n", u, p);
        return 0;
    }
    if (u != source && (!is_in_neighbour(g, u, p) || depth[p] + 1 != depth[u])) {
        fprintf(stderr, "bfs verify: node %d (depth %lld) has parent %d (depth %lld, %s)\n", u,
                (long long)depth[u], p, (long long)depth[p],
                is_in_neighbour(g, u, p) ? "an in-neighbour" : "not an in-neighbour");
        return 0;
    }
    return 1;
}

int graph_bfs_verify(const struct graph *g, graph_node source, const graph_node *parent)
{
    int64_t *depth = serial_depths(g, source);
    if (!depth) {
        fprintf(stderr, "bfs verify: out of memory\n");
        return 0;
    }
    int ok = 1;
    for (int64_t u = 0; u < g->n && ok; u++)
        ok = check_node(g, source, parent, depth, (graph_node)u);
    free(depth);
    return ok;
}
