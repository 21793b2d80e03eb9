/* builder.c - an edge list to a CSR graph by GAPBS's rules: each neighbour
 * list sorted, self loops and duplicate edges removed, each edge stored in
 * both directions unless the graph is directed (then the in-arrays are the
 * transpose). Degrees are counted and lists filled and sorted in parallel
 * (OpenMP); the result does not depend on the thread count. Also owns the
 * edge list's growth and graph_free. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int graph_edges_push(struct graph_edges *el, graph_node u, graph_node v, graph_weight w)
{
    if (el->len == el->cap) {
        int64_t cap = el->cap ? el->cap * 2 : 1024;
        struct graph_edge *e = realloc(el->e, (size_t)cap * sizeof(*e));
        if (!e)
            return -1;
        el->e = e;
        el->cap = cap;
    }
    el->e[el->len++] = (struct graph_edge){u, v, w};
    if (u > el->max_node)
        el->max_node = u;
    if (v > el->max_node)
        el->max_node = v;
    return 0;
}

/* Sorts node ids in place: insertion sort below 32, else quicksort on the
 * median of three, recursing into the smaller side (qsort's calls through
 * a pointer are most of the build's time on a Kronecker graph). */
static void sort_nodes(graph_node *a, int64_t len)
{
    while (len > 32) {
        graph_node x = a[0], y = a[len / 2], z = a[len - 1];
        graph_node pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t i = 0, j = len - 1;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                graph_node t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (j + 1 < len - i) {
            sort_nodes(a, j + 1);
            a += i;
            len -= i;
        } else {
            sort_nodes(a + i, len - i);
            len = j + 1;
        }
    }
    for (int64_t i = 1; i < len; i++) {
        graph_node x = a[i];
        int64_t k = i;
        for (; k > 0 && a[k - 1] > x; k--)
            a[k] = a[k - 1];
        a[k] = x;
    }
}

static int cmp_wnode(const void *a, const void *b)
{
    const struct graph_wnode *x = a, *y = b;
    if (x->v != y->v)
        return (x->v > y->v) - (x->v < y->v);
    return (x->w > y->w) - (x->w < y->w);
}

/* Sorts list u in place, drops self loops and duplicates; returns its length. */
static int64_t squish_list(void *list, int64_t len, graph_node u, int weighted)
{
    int64_t k = 0;
    if (weighted) {
        struct graph_wnode *a = list;
        qsort(a, (size_t)len, sizeof(*a), cmp_wnode);
        for (int64_t i = 0; i < len; i++)
            if (a[i].v != u && (k == 0 || a[k - 1].v != a[i].v))
                a[k++] = a[i];
    } else {
        graph_node *a = list;
        sort_nodes(a, len);
        for (int64_t i = 0; i < len; i++)
            if (a[i] != u && (k == 0 || a[k - 1] != a[i]))
                a[k++] = a[i];
    }
    return k;
}

/* One direction: lists of sources (transpose = 0) or of targets' sources. */
static int build_side(const struct graph_edges *el, int64_t n, int both, int transpose,
                      graph_offset **index_out, void **neigh_out)
{
    size_t esz = el->weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    graph_offset *deg = calloc((size_t)n + 1, sizeof(*deg));
    graph_offset *index = calloc((size_t)n + 1, sizeof(*index));
    if (!deg || !index)
        goto fail;
    #pragma omp parallel for
    for (int64_t i = 0; i < el->len; i++) {
        graph_node s = transpose ? el->e[i].v : el->e[i].u;
        #pragma omp atomic
        deg[s]++;
        if (both) {
            #pragma omp atomic
            deg[transpose ? el->e[i].u : el->e[i].v]++;
        }
    }
    for (int64_t u = 0; u < n; u++)
        index[u + 1] = index[u] + deg[u];
    char *raw = malloc((size_t)(index[n] ? index[n] : 1) * esz);
    if (!raw)
        goto fail;
    memcpy(deg, index, (size_t)n * sizeof(*deg)); /* deg: next free slot */
    /* filled in any order: each list is sorted by (neighbour, weight) next */
    #pragma omp parallel for
    for (int64_t i = 0; i < el->len; i++) {
        const struct graph_edge *e = &el->e[i];
        for (int dir = 0; dir < (both ? 2 : 1); dir++) {
            graph_node s = (dir ^ transpose) ? e->v : e->u, d = (dir ^ transpose) ? e->u : e->v;
            graph_offset at = __atomic_fetch_add(&deg[s], 1, __ATOMIC_RELAXED);
            if (el->weighted)
                ((struct graph_wnode *)raw)[at] = (struct graph_wnode){d, e->w};
            else
                ((graph_node *)raw)[at] = d;
        }
    }
    #pragma omp parallel for schedule(dynamic, 1024)
    for (int64_t u = 0; u < n; u++)
        deg[u] = squish_list(raw + (size_t)index[u] * esz, index[u + 1] - index[u],
                             (graph_node)u, el->weighted);
    int64_t k = 0;
    for (int64_t u = 0; u < n; u++) {
        memmove(raw + (size_t)k * esz, raw + (size_t)index[u] * esz, (size_t)deg[u] * esz);
        index[u] = k;
        k += deg[u];
    }
    index[n] = k;
    free(deg);
    *index_out = index;
    *neigh_out = raw;
    return 0;
fail:
    free(deg);
    free(index);
    return -1;
}

int graph_build(struct graph *g, const struct graph_edges *el, int directed,
                int64_t min_nodes, char *err, size_t errlen)
{
    int64_t n = el->max_node + 1 > min_nodes ? el->max_node + 1 : min_nodes;
    struct graph_owned *own = calloc(1, sizeof(*own));
    memset(g, 0, sizeof(*g));
    if (n > INT32_MAX) {
        snprintf(err, errlen, "graph has %lld nodes: more than 2^31 - 1 is refused", (long long)n);
        free(own);
        return -1;
    }
    if (!own || build_side(el, n, !directed, 0, &own->out_index, &own->out_neigh) != 0 ||
        (directed && build_side(el, n, 0, 1, &own->in_index, &own->in_neigh) != 0)) {
        snprintf(err, errlen, "out of memory building a graph of %lld nodes", (long long)n);
        g->owned = own;
        graph_free(g);
        return -1;
    }
    g->n = n;
    g->m = own->out_index[n];
    g->directed = directed;
    g->weighted = el->weighted;
    g->out_index = own->out_index;
    g->out_neigh = own->out_neigh;
    g->in_index = directed ? own->in_index : own->out_index;
    g->in_neigh = directed ? own->in_neigh : own->out_neigh;
    g->owned = own;
    return 0;
}

void *graph_array_alloc(uint64_t bytes)
{
    const uint64_t huge = 2u << 20;
    if (bytes < huge)
        return malloc(bytes ? bytes : 1);
    void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
    if (p)
        madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE); /* a hint; refused is fine */
    return p;
}

void graph_free(struct graph *g)
{
    struct graph_owned *own = g->owned;
    if (own) {
        free(own->out_index);
        free(own->in_index);
        free(own->out_neigh);
        free(own->in_neigh);
        free(own);
    }
    memset(g, 0, sizeof(*g));
}
