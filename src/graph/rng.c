/* rng.c - the random numbers cxl_graph draws, bit for bit those of GAPBS's
 * C++ build: std::mt19937 (the C++ standard's parameters), uniform integers
 * by unbiased modulo (a draw past the last whole multiple of the range is
 * redrawn: -u 10 then gives GAPBS's 16125 edges; libstdc++'s
 * std::uniform_int_distribution would give 16103), uniform floats as
 * std::uniform_real_distribution<float> (std::generate_canonical, one draw);
 * and GAPBS's source picking. */
#include "graph.h"

#include <math.h>

#define MT_N 624
#define MT_M 397

void graph_rng_seed(struct graph_rng *r, uint32_t seed)
{
    r->mt[0] = seed;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->idx = MT_N;
}

static void mt_twist(struct graph_rng *r)
{
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t x = r->mt[(i + MT_M) % MT_N] ^ (y >> 1);
        r->mt[i] = (y & 1u) ? x ^ 0x9908b0dfu : x;
    }
    r->idx = 0;
}

uint32_t graph_rng_next(struct graph_rng *r)
{
    if (r->idx >= MT_N)
        mt_twist(r);
    uint32_t y = r->mt[r->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

int64_t graph_rng_int(struct graph_rng *r, int64_t lo, int64_t hi)
{
    uint64_t mod = (uint64_t)(hi - lo) + 1;
    if (mod >= ((uint64_t)1 << 32))
        return lo + graph_rng_next(r);
    /* unbiased modulo: draws at or past the last whole multiple of mod are redrawn */
    uint64_t limit = ((uint64_t)1 << 32) - (((uint64_t)1 << 32) % mod);
    uint32_t x = graph_rng_next(r);
    while (x >= limit)
        x = graph_rng_next(r);
    return lo + (int64_t)(x % mod);
}

float graph_rng_float(struct graph_rng *r)
{
    float v = (float)graph_rng_next(r) / 4294967296.0f;
    if (v >= 1.0f)
        v = nextafterf(1.0f, 0.0f);
    return v;
}

#define GRAPH_SOURCE_SEED 27491095u

void graph_source_init(struct graph_source_picker *sp, int64_t fixed)
{
    graph_rng_seed(&sp->rng, GRAPH_SOURCE_SEED);
    sp->fixed = fixed;
}

graph_node graph_source_next(struct graph_source_picker *sp, const struct graph *g)
{
    if (sp->fixed >= 0 || g->m == 0)
        return (graph_node)(sp->fixed >= 0 ? sp->fixed : 0);
    for (;;) {
        graph_node s = (graph_node)graph_rng_int(&sp->rng, 0, g->n - 1);
        if (graph_out_degree(g, s) > 0)
            return s;
    }
}
