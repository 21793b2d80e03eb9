/* graph.h - what the files of cxl_graph share (docs/GRAPH.md): the CSR graph
 * every kernel takes, wherever its arrays live (private memory, or the
 * shared medium in zero-copy mode), and the entry points of each file.
 *
 * A graph is directed or not; an undirected graph stores each edge in both
 * directions (m counts both) and its in-arrays are its out-arrays. Node ids
 * are int32_t, offsets int64_t; a weighted graph stores {neighbour, weight}
 * pairs, as GAPBS's .wsg does. Neighbour lists are sorted, without self
 * loops or duplicates (GAPBS's builder rules). */
#ifndef CXL_GRAPH_H
#define CXL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t graph_node;
typedef int64_t graph_offset;
typedef int32_t graph_weight;

struct graph_wnode {
    graph_node v;
    graph_weight w;
};

struct graph {
    int64_t n;              /* nodes */
    int64_t m;              /* directed edges in the out arrays */
    int directed;
    int weighted;
    const graph_offset *out_index; /* n + 1 */
    const void *out_neigh;         /* graph_node[m] or struct graph_wnode[m] */
    const graph_offset *in_index;  /* directed: n + 1; else = out_index */
    const void *in_neigh;
    void *owned;                   /* private allocations to free, NULL for a view */
};

static inline int64_t graph_out_degree(const struct graph *g, graph_node u)
{
    return g->out_index[u + 1] - g->out_index[u];
}

static inline const graph_node *graph_out(const struct graph *g, graph_node u)
{
    return (const graph_node *)g->out_neigh + g->out_index[u];
}

static inline const struct graph_wnode *graph_wout(const struct graph *g, graph_node u)
{
    return (const struct graph_wnode *)g->out_neigh + g->out_index[u];
}

static inline int64_t graph_in_degree(const struct graph *g, graph_node u)
{
    return g->in_index[u + 1] - g->in_index[u];
}

static inline const graph_node *graph_in(const struct graph *g, graph_node u)
{
    return (const graph_node *)g->in_neigh + g->in_index[u];
}

/* Undirected edges as GAPBS counts them (m / 2 for an undirected graph). */
static inline int64_t graph_edges(const struct graph *g)
{
    return g->directed ? g->m : g->m / 2;
}

void graph_free(struct graph *g);

#endif
