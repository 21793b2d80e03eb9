/* bfs.c - direction-optimizing breadth-first search (Beamer, Asanovic and
 * Patterson, SC'12): top-down steps from a queue while the frontier is small,
 * bottom-up steps over a frontier bitmap (one bit per node: at -g 20 it is
 * 128 KiB, which the random probes find in cache) while the frontier's edges outnumber the unexplored edges / ALPHA, back to top-down
 * when the frontier shrinks under n / BETA. Output: the parent of each node.
 * The queue and bitmap convert into each other in parallel. A checked
 * graph's bad neighbour ids are skipped (graph.h); each thread's share of
 * a step is inlined twice, checked and plain, chosen once per call. */
#include "graph.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BFS_ALPHA 15
#define BFS_BETA 18
#define BFS_LOCAL 256 /* a thread's next-frontier buffer */

struct bfs_queue {
    graph_node *q;
    int64_t head, tail; /* current frontier: q[head..tail) */
};

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Claim u's unvisited out-neighbours: each appended to local (flushed to
 * the queue at next when full); returns the sum of their out-degrees. */
ALWAYS_INLINE int64_t claim_children(const struct graph *g, graph_node *parent, graph_node u, graph_node *local,
               int *nlocal, graph_node *q, int64_t *next, const int checked)
{
    int64_t scout = 0;
    const graph_node *nb = graph_out(g, u);
    for (int64_t k = 0, deg = graph_out_degree(g, u); k < deg; k++) {
        graph_node v = graph_neigh(g, nb, k, checked), expect = -1;
        if (graph_skip(v, checked) || __atomic_load_n(&parent[v], __ATOMIC_RELAXED) >= 0 ||
            !__atomic_compare_exchange_n(&parent[v], &expect, u, 0,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        scout += graph_out_degree(g, v);
        local[(*nlocal)++] = v;
        if (*nlocal == BFS_LOCAL) {
            int64_t at = __atomic_fetch_add(next, *nlocal, __ATOMIC_RELAXED);
            memcpy(q + at, local, sizeof(*local) * BFS_LOCAL);
            *nlocal = 0;
        }
    }
    return scout;
}

/* This thread's share of a top-down step (an orphaned worksharing loop);
 * returns the scout count of the nodes it claimed. */
ALWAYS_INLINE int64_t top_down_share(const struct graph *g, graph_node *parent,
                                     struct bfs_queue *fq, int64_t *next, const int checked)
{
    graph_node local[BFS_LOCAL];
    int nlocal = 0;
    int64_t scout = 0;
    #pragma omp for schedule(dynamic, 64) nowait
    for (int64_t i = fq->head; i < fq->tail; i++)
        scout += claim_children(g, parent, fq->q[i], local, &nlocal, fq->q, next, checked);
    int64_t at = __atomic_fetch_add(next, nlocal, __ATOMIC_RELAXED);
    memcpy(fq->q + at, local, (size_t)nlocal * sizeof(*local));
    return scout;
}

/* One top-down step: the next frontier appended after tail; returns the sum
 * of the new frontier's out-degrees (the scout count). */
static int64_t top_down_step(const struct graph *g, graph_node *parent, struct bfs_queue *fq)
{
    int64_t scout = 0, next = fq->tail;
    const int checked = g->checked;
    #pragma omp parallel reduction(+ : scout)
    scout += GRAPH_BY_MODE(checked, top_down_share, g, parent, fq, &next);
    fq->head = fq->tail;
    fq->tail = next;
    return scout;
}

static int in_bitmap(const uint64_t *bm, graph_node v)
{
    return (int)(bm[v >> 6] >> (v & 63)) & 1;
}

/* An in-neighbour of u in front, or -1. */
ALWAYS_INLINE graph_node parent_in_front(const struct graph *g, const uint64_t *front,
                                         graph_node u, const int checked)
{
    const graph_node *nb = graph_in(g, u);
    for (int64_t k = 0, deg = graph_in_degree(g, u); k < deg; k++) {
        graph_node v = graph_neigh(g, nb, k, checked);
        if (!graph_skip(v, checked) && in_bitmap(front, v))
            return v;
    }
    return -1;
}

/* This thread's share of a bottom-up step, 64 nodes (a word of next) at a
 * time; returns how many nodes it woke. */
ALWAYS_INLINE int64_t bottom_up_share(const struct graph *g, graph_node *parent,
                                      const uint64_t *front, uint64_t *next, const int checked)
{
    int64_t awake = 0, words = (g->n + 63) / 64;
    #pragma omp for schedule(dynamic, 16) nowait
    for (int64_t w = 0; w < words; w++) {
        uint64_t bits = 0;
        int64_t end = 64 * w + 64 < g->n ? 64 * w + 64 : g->n;
        for (int64_t u = 64 * w; u < end; u++) {
            if (parent[u] >= 0)
                continue;
            graph_node p = parent_in_front(g, front, (graph_node)u, checked);
            if (p >= 0) {
                parent[u] = p;
                bits |= (uint64_t)1 << (u & 63);
                awake++;
            }
        }
        next[w] = bits;
    }
    return awake;
}

/* One bottom-up step: every unvisited node looks for a parent in front. */
static int64_t bottom_up_step(const struct graph *g, graph_node *parent,
                              const uint64_t *front, uint64_t *next)
{
    int64_t awake = 0;
    const int checked = g->checked;
    #pragma omp parallel reduction(+ : awake)
    awake += GRAPH_BY_MODE(checked, bottom_up_share, g, parent, front, next);
    return awake;
}

static void queue_to_bitmap(const struct bfs_queue *fq, uint64_t *bm, int64_t n)
{
    #pragma omp parallel
    {
        #pragma omp for
        for (int64_t w = 0; w < (n + 63) / 64; w++)
            bm[w] = 0;
        #pragma omp for
        for (int64_t i = fq->head; i < fq->tail; i++)
            __atomic_fetch_or(&bm[fq->q[i] >> 6], (uint64_t)1 << (fq->q[i] & 63),
                              __ATOMIC_RELAXED);
    }
}

static void bitmap_to_queue(const uint64_t *bm, int64_t n, struct bfs_queue *fq)
{
    int64_t tail = 0;
    #pragma omp parallel
    {
        graph_node local[BFS_LOCAL];
        int nlocal = 0;
        #pragma omp for schedule(static) nowait
        for (int64_t w = 0; w < (n + 63) / 64; w++)
            for (uint64_t bits = bm[w]; bits; bits &= bits - 1) {
                local[nlocal++] = (graph_node)(64 * w + __builtin_ctzll(bits));
                if (nlocal == BFS_LOCAL) {
                    int64_t at = __atomic_fetch_add(&tail, nlocal, __ATOMIC_RELAXED);
                    memcpy(fq->q + at, local, sizeof(local));
                    nlocal = 0;
                }
            }
        int64_t at = __atomic_fetch_add(&tail, nlocal, __ATOMIC_RELAXED);
        memcpy(fq->q + at, local, (size_t)nlocal * sizeof(*local));
    }
    fq->head = 0;
    fq->tail = tail;
}

/* Bottom-up steps until the frontier is small and shrinking; returns them. */
static int bottom_up_phase(const struct graph *g, graph_node *parent, struct bfs_queue *fq,
                           uint64_t *front, uint64_t *next, int logging)
{
    int64_t awake = fq->tail - fq->head, old;
    queue_to_bitmap(fq, front, g->n);
    do {
        double t0 = omp_get_wtime();
        old = awake;
        awake = bottom_up_step(g, parent, front, next);
        uint64_t *t = front;
        front = next;
        next = t;
        if (logging)
            printf("%6s%11lld%10.5lf\n", "bu", (long long)awake, omp_get_wtime() - t0);
    } while (awake >= old || awake > g->n / BFS_BETA);
    bitmap_to_queue(front, g->n, fq);
    return 0;
}

void graph_bfs(const struct graph *g, graph_node source, graph_node *parent, int logging)
{
    struct bfs_queue fq = {malloc((size_t)g->n * sizeof(graph_node)), 0, 0};
    size_t words = (size_t)(g->n + 63) / 64 + 1;
    uint64_t *front = malloc(words * 8), *next = malloc(words * 8);
    if (!fq.q || !front || !next) {
        fprintf(stderr, "cxl_graph: bfs: out of memory for %lld nodes\n", (long long)g->n);
        exit(1);
    }
    #pragma omp parallel for
    for (int64_t u = 0; u < g->n; u++)
        parent[u] = -1;
    parent[source] = source;
    fq.q[fq.tail++] = source;
    int64_t edges_to_check = g->m, scout = graph_out_degree(g, source);
    while (fq.tail > fq.head) {
        if (scout > edges_to_check / BFS_ALPHA) {
            bottom_up_phase(g, parent, &fq, front, next, logging);
            scout = 1;
        } else {
            double t0 = omp_get_wtime();
            edges_to_check -= scout;
            scout = top_down_step(g, parent, &fq);
            if (logging)
                printf("%6s%11lld%10.5lf\n", "td", (long long)(fq.tail - fq.head),
                       omp_get_wtime() - t0);
        }
    }
    free(fq.q);
    free(front);
    free(next);
}
