/* generator.c - synthetic edge lists: uniform random (-u SCALE) and Kronecker
 * (-g SCALE, RMAT with A = 0.57, B = 0.19, C = 0.19, then node ids permuted).
 * 2^SCALE nodes, 2^SCALE * DEGREE edges, drawn in blocks of 2^18 edges, block
 * b from its own std::mt19937 seeded 27491095 + b: the same graph on any
 * thread count. Weights, when a kernel wants them (graph_generate_weights),
 * are integers uniform in [1, 255], drawn afresh in the same blocks: block b
 * from a std::mt19937 seeded 27491095 + b again, one draw per edge in order
 * (GAPBS's .wsg of a generated graph, byte for byte). */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>

#define GEN_SEED 27491095u
#define GEN_BLOCK ((int64_t)1 << 18)

static void uniform_block(struct graph_edge *e, int64_t from, int64_t to, int64_t n,
                          struct graph_rng *r)
{
    for (int64_t i = from; i < to; i++) {
        e[i].u = (graph_node)graph_rng_int(r, 0, n - 1);
        e[i].v = (graph_node)graph_rng_int(r, 0, n - 1);
        e[i].w = 1;
    }
}

/* Each level of the recursion draws one 32-bit number x and compares
 * x / (2^32 - 1) in double with the double thresholds A, A + B, A + B + C:
 * the rare draws within 2^-24 of a threshold then fall on the side GAPBS's
 * graphs show (float draws or thresholds, or x / 2^32, move a few edges
 * from -g 16 on; checked byte for byte up to -g 20). */
static void rmat_block(struct graph_edge *e, int64_t from, int64_t to, int scale,
                       struct graph_rng *r)
{
    const double a = 0.57, b = 0.19, c = 0.19;
    const double ta = a, tab = a + b, tabc = a + b + c;
    for (int64_t i = from; i < to; i++) {
        graph_node s = 0, d = 0;
        for (int depth = 0; depth < scale; depth++) {
            double p = graph_rng_next(r) / 4294967295.0;
            s <<= 1;
            d <<= 1;
            if (p < tab) {
                d += p > ta;
            } else {
                s++;
                d += p > tabc;
            }
        }
        e[i] = (struct graph_edge){s, d, 1};
    }
}

/* Relabels the nodes by a random permutation (std::shuffle of 0..n-1 from a
 * std::mt19937 seeded GEN_SEED, as GAPBS). */
static int permute_ids(struct graph_edge *e, int64_t m, int64_t n)
{
    graph_node *perm = malloc((size_t)n * sizeof(*perm));
    if (!perm)
        return -1;
    for (int64_t i = 0; i < n; i++)
        perm[i] = (graph_node)i;
    struct graph_rng r;
    graph_rng_seed(&r, GEN_SEED);
    graph_rng_shuffle(&r, perm, n);
    #pragma omp parallel for
    for (int64_t i = 0; i < m; i++) {
        e[i].u = perm[e[i].u];
        e[i].v = perm[e[i].v];
    }
    free(perm);
    return 0;
}

#define GEN_WEIGHT_MAX 255

void graph_generate_weights(struct graph_edges *el)
{
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < (el->len + GEN_BLOCK - 1) / GEN_BLOCK; b++) {
        struct graph_rng r;
        int64_t from = b * GEN_BLOCK, to = from + GEN_BLOCK < el->len ? from + GEN_BLOCK : el->len;
        graph_rng_seed(&r, (uint32_t)(GEN_SEED + b));
        for (int64_t i = from; i < to; i++)
            el->e[i].w = (graph_weight)graph_rng_int(&r, 1, GEN_WEIGHT_MAX);
    }
    el->weighted = 1;
}

int graph_generate(struct graph_edges *el, int scale, int degree, int uniform,
                   char *err, size_t errlen)
{
    if (scale < 1 || scale > 30 || degree < 1) {
        snprintf(err, errlen, "scale must be 1..30 and degree >= 1 (got %d, %d)", scale, degree);
        return -1;
    }
    int64_t n = (int64_t)1 << scale, m = n * degree;
    struct graph_edges out = {.len = m, .cap = m, .max_node = -1};
    out.e = malloc((size_t)m * sizeof(*out.e));
    if (!out.e) {
        snprintf(err, errlen, "out of memory for %lld edges", (long long)m);
        return -1;
    }
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < (m + GEN_BLOCK - 1) / GEN_BLOCK; b++) {
        struct graph_rng r;
        int64_t from = b * GEN_BLOCK, to = from + GEN_BLOCK < m ? from + GEN_BLOCK : m;
        graph_rng_seed(&r, (uint32_t)(GEN_SEED + b));
        if (uniform)
            uniform_block(out.e, from, to, n, &r);
        else
            rmat_block(out.e, from, to, scale, &r);
    }
    if (!uniform && permute_ids(out.e, m, n) != 0) {
        free(out.e);
        snprintf(err, errlen, "out of memory for %lld nodes", (long long)n);
        return -1;
    }
    int64_t max_node = -1; /* n is then the largest id + 1, as GAPBS counts */
    #pragma omp parallel for reduction(max : max_node)
    for (int64_t i = 0; i < m; i++) {
        int64_t hi = out.e[i].u > out.e[i].v ? out.e[i].u : out.e[i].v;
        max_node = hi > max_node ? hi : max_node;
    }
    out.max_node = max_node;
    *el = out;
    return 0;
}
