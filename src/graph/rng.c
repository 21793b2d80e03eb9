/* rng.c - the random numbers cxl_graph draws, bit for bit those of GAPBS's
 * C++ build: std::mt19937 (the C++ standard's parameters), uniform integers
 * by unbiased modulo (a draw past the last whole multiple of the range is
 * redrawn: -u 10 then gives GAPBS's 16125 edges; libstdc++'s
 * std::uniform_int_distribution would give 16103), libstdc++'s Lemire draw
 * and std::shuffle (the Kronecker permutation); and GAPBS's source picking
 * (std::mt19937_64's low 32 bits, unbiased modulo: source_draw). */
#include "graph.h"

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

/* libstdc++'s std::uniform_int_distribution on a 32-bit engine: Lemire's
 * multiply-and-reject, for a range of at most 2^32 values. */
uint32_t graph_rng_lemire(struct graph_rng *r, uint64_t range)
{
    if (range >= ((uint64_t)1 << 32))
        return graph_rng_next(r);
    uint32_t rg = (uint32_t)range;
    uint64_t product = (uint64_t)graph_rng_next(r) * rg;
    uint32_t low = (uint32_t)product;
    if (low < rg) {
        uint32_t threshold = (uint32_t)(-rg) % rg;
        while (low < threshold) {
            product = (uint64_t)graph_rng_next(r) * rg;
            low = (uint32_t)product;
        }
    }
    return (uint32_t)(product >> 32);
}

/* std::shuffle as libstdc++ 12 does it with a 32-bit engine: while n^2 fits
 * the engine's range, positions drawn two at a time (one draw over b0 * b1
 * values gives x / b1 and x % b1); otherwise one draw per position. */
void graph_rng_shuffle(struct graph_rng *r, graph_node *a, int64_t n)
{
    if (n < 2)
        return;
    int64_t i = 1;
    if (0xffffffffull / (uint64_t)n >= (uint64_t)n) {
        if (n % 2 == 0) {
            int64_t j = graph_rng_lemire(r, 2);
            graph_node t = a[i]; a[i] = a[j]; a[j] = t;
            i++;
        }
        while (i < n) {
            uint64_t b0 = (uint64_t)i + 1, b1 = b0 + 1;
            uint64_t x = graph_rng_lemire(r, b0 * b1);
            int64_t j0 = (int64_t)(x / b1), j1 = (int64_t)(x % b1);
            graph_node t = a[i]; a[i] = a[j0]; a[j0] = t;
            i++;
            t = a[i]; a[i] = a[j1]; a[j1] = t;
            i++;
        }
        return;
    }
    for (; i < n; i++) {
        int64_t j = graph_rng_lemire(r, (uint64_t)i + 1);
        graph_node t = a[i]; a[i] = a[j]; a[j] = t;
    }
}

#define MT64_N 312
#define MT64_M 156

void graph_rng64_seed(struct graph_rng64 *r, uint64_t seed)
{
    r->mt[0] = seed;
    for (int i = 1; i < MT64_N; i++)
        r->mt[i] = 6364136223846793005ull * (r->mt[i - 1] ^ (r->mt[i - 1] >> 62)) + (uint64_t)i;
    r->idx = MT64_N;
}

static void mt64_twist(struct graph_rng64 *r)
{
    for (int i = 0; i < MT64_N; i++) {
        uint64_t y = (r->mt[i] & 0xffffffff80000000ull) | (r->mt[(i + 1) % MT64_N] & 0x7fffffffull);
        uint64_t x = r->mt[(i + MT64_M) % MT64_N] ^ (y >> 1);
        r->mt[i] = (y & 1u) ? x ^ 0xb5026f5aa96619e9ull : x;
    }
    r->idx = 0;
}

uint64_t graph_rng64_next(struct graph_rng64 *r)
{
    if (r->idx >= MT64_N)
        mt64_twist(r);
    uint64_t y = r->mt[r->idx++];
    y ^= (y >> 29) & 0x5555555555555555ull;
    y ^= (y << 17) & 0x71d67fffeda60000ull;
    y ^= (y << 37) & 0xfff7eee000000000ull;
    y ^= y >> 43;
    return y;
}

int64_t graph_rng64_int(struct graph_rng64 *r, int64_t lo, int64_t hi)
{
    uint64_t mod = (uint64_t)(hi - lo) + 1;
    if (mod == 0)
        return lo + (int64_t)graph_rng64_next(r);
    uint64_t rem = UINT64_MAX % mod; /* 2^64 % mod, less one (mod - 1 when it divides) */
    uint64_t x = graph_rng64_next(r);
    if (rem != mod - 1)
        while (x >= UINT64_MAX - rem)
            x = graph_rng64_next(r);
    return lo + (int64_t)(x % mod);
}

#define GRAPH_SOURCE_SEED 27491095u

/* A node id as GAPBS's source picker draws it (seen from its outputs): the
 * low 32 bits of the mt19937_64 draw, modulo n, redrawn at or past the
 * 64-bit engine's cutoff (2^64 - 1 less (2^64 - 1) % n) cut to 32 bits,
 * never when n divides 2^64. The low bits equal the full draw's modulo a
 * power of two; -g 14 (16381 nodes) picks 1598 15861 13585 16324 as GAPBS,
 * not the full draw's 10368 15645 .... The cutoff is inferred, not seen:
 * it differs from the 32-bit one (2^32 - 2^32 % n) only for a draw within n
 * of 2^32, and none of the compared runs drew one on a node of degree > 0. */
static graph_node source_draw(struct graph_rng64 *r, uint64_t n)
{
    uint64_t rem = UINT64_MAX % n;
    uint32_t cutoff = (uint32_t)(UINT64_MAX - rem);
    uint32_t x = (uint32_t)graph_rng64_next(r);
    if (rem != n - 1)
        while (x >= cutoff)
            x = (uint32_t)graph_rng64_next(r);
    return (graph_node)(x % n);
}

void graph_source_init(struct graph_source_picker *sp, int64_t fixed)
{
    graph_rng64_seed(&sp->rng, GRAPH_SOURCE_SEED);
    sp->fixed = fixed;
}

graph_node graph_source_next(struct graph_source_picker *sp, const struct graph *g)
{
    if (sp->fixed >= 0 || g->m == 0)
        return (graph_node)(sp->fixed >= 0 ? sp->fixed : 0);
    for (;;) {
        graph_node s = source_draw(&sp->rng, (uint64_t)g->n);
        if (graph_out_degree(g, s) > 0)
            return s;
    }
}
