/* gen.c - YCSB's number generators (gen.h; docs/YCSB.md, "Generators"): the
 * seeded random engine, Utils.fnvhash64 and String.hashCode, the Zipfian of
 * Gray et al. with YCSB's incremental zeta, the shared counters (plain and
 * acknowledged) and the generators a workload names. Where a definition
 * departs from Java YCSB's, the comment at the function says how and why. */
#include "gen.h"

#include <math.h>
#include <stdlib.h>

/* --- the random engine ----------------------------------------------------- */

#define GOLDEN 0x9e3779b97f4a7c15ull

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += GOLDEN);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The seed goes through splitmix64 once, the stream (times the golden
 * ratio) is mixed into that, and four more splitmix64 outputs fill the
 * state: (seed, stream) pairs with equal xor do not collide. */
void ycsb_rng_seed(struct ycsb_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ (stream * GOLDEN);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* xoshiro's one forbidden state */
}

uint64_t ycsb_rng_u64(struct ycsb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double ycsb_rng_double(struct ycsb_rng *r)
{
    return (double)(ycsb_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-and-reject: unbiased (Java's abs(nextLong()) % n is
 * slightly biased; the distribution meant is the uniform one). */
uint64_t ycsb_rng_below(struct ycsb_rng *r, uint64_t n)
{
    if (n == 0)
        return 0; /* outside the contract; no division by zero */
    unsigned __int128 m = (unsigned __int128)ycsb_rng_u64(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t floor = -n % n;
        while (low < floor) {
            m = (unsigned __int128)ycsb_rng_u64(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* --- YCSB's helpers ----------------------------------------------------------- */

int64_t ycsb_fnvhash64(int64_t v)
{
    uint64_t h = 0xcbf29ce484222325ull, x = (uint64_t)v;
    for (int i = 0; i < 8; i++) {
        h ^= x & 0xff;
        h *= 1099511628211ull;
        x >>= 8;
    }
    if (h == (1ull << 63))
        return INT64_MIN; /* Math.abs(Long.MIN_VALUE) */
    int64_t s = (int64_t)h;
    return s < 0 ? -s : s;
}

int32_t ycsb_java_hash(const char *s, size_t n)
{
    uint32_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = 31 * h + (unsigned char)s[i];
    return (int32_t)h;
}

double ycsb_zeta(uint64_t from, uint64_t to, double theta, double initial)
{
    double sum = initial;
    for (uint64_t i = from; i < to; i++)
        sum += 1 / pow((double)(i + 1), theta);
    return sum;
}

/* --- shared counters ------------------------------------------------------------ */

void ycsb_counter_init(struct ycsb_counter *c, int64_t start)
{
    atomic_init(&c->next, start);
}

int64_t ycsb_counter_next(struct ycsb_counter *c)
{
    return atomic_fetch_add(&c->next, 1);
}

int64_t ycsb_counter_last(struct ycsb_counter *c)
{
    return atomic_load(&c->next) - 1;
}

int ycsb_acked_init(struct ycsb_acked *a, int64_t start)
{
    a->window = calloc(YCSB_ACK_WINDOW, sizeof(*a->window));
    if (!a->window)
        return -1;
    if (pthread_mutex_init(&a->lock, NULL)) {
        free((void *)a->window);
        a->window = NULL;
        return -1;
    }
    atomic_init(&a->next, start);
    atomic_init(&a->limit, start - 1);
    return 0;
}

void ycsb_acked_free(struct ycsb_acked *a)
{
    if (!a->window)
        return;
    pthread_mutex_destroy(&a->lock);
    free((void *)a->window);
    a->window = NULL;
}

int64_t ycsb_acked_next(struct ycsb_acked *a)
{
    return atomic_fetch_add(&a->next, 1);
}

int64_t ycsb_acked_last(struct ycsb_acked *a)
{
    return atomic_load(&a->limit);
}

static _Atomic uint8_t *ack_slot(struct ycsb_acked *a, int64_t v)
{
    return &a->window[(uint64_t)v & (YCSB_ACK_WINDOW - 1)];
}

/* Under the lock: move limit over the acknowledged run after it, clearing
 * the flags it passes (at most one window). */
static void ack_advance(struct ycsb_acked *a)
{
    int64_t limit = atomic_load(&a->limit);
    for (uint32_t i = 0; i < YCSB_ACK_WINDOW; i++) {
        _Atomic uint8_t *slot = ack_slot(a, limit + 1);
        if (!atomic_load(slot))
            break;
        atomic_store(slot, 0);
        limit++;
    }
    atomic_store(&a->limit, limit);
}

/* As YCSB: the flag is set, and whoever wins tryLock advances limit. YCSB
 * stops there, so an ack whose tryLock lost to a thread that had already
 * looked at its slot stays behind limit until the next ack; here the
 * loser's flag is looked at again after every unlock, so once every value
 * is acknowledged limit is the last of them. Outside (limit, limit +
 * window] (acknowledged twice, or too far ahead; YCSB throws) -> -1. */
int ycsb_acked_ack(struct ycsb_acked *a, int64_t v)
{
    int64_t limit = atomic_load(&a->limit);
    if (v <= limit || (uint64_t)(v - limit) > YCSB_ACK_WINDOW)
        return -1;
    _Atomic uint8_t *slot = ack_slot(a, v);
    if (atomic_exchange(slot, 1))
        return -1;
    while (pthread_mutex_trylock(&a->lock) == 0) {
        ack_advance(a);
        pthread_mutex_unlock(&a->lock);
        if (!atomic_load(ack_slot(a, atomic_load(&a->limit) + 1)))
            break;
    }
    return 0;
}

/* --- ZipfianGenerator ------------------------------------------------------------ */

/* eta for n items. YCSB computes it with the constructor's item count even
 * after zeta was extended to more items; Gray's formula (and docs/YCSB.md)
 * has the current count, which is what we use: the two differ by a hair
 * for a grown count, and ours stays defined for a latest generator made
 * before any insert (0 items). */
static double zipf_eta(const struct ycsb_zipfian *z, int64_t n)
{
    if (n < 1 || z->zetan <= 0)
        return 0; /* no items: never drawn from */
    return (1 - pow(2.0 / (double)n, 1 - z->theta)) / (1 - z->zeta2 / z->zetan);
}

void ycsb_zipfian_init(struct ycsb_zipfian *z, int64_t min, int64_t max, double theta, double zetan)
{
    z->base = min;
    z->items = max - min + 1;
    z->theta = theta;
    z->zeta2 = ycsb_zeta(0, 2, theta, 0);
    z->alpha = 1.0 / (1.0 - theta);
    z->zetan = zetan > 0 ? zetan : ycsb_zeta(0, z->items > 0 ? (uint64_t)z->items : 0, theta, 0);
    z->count_for_zeta = z->items;
    z->eta = zipf_eta(z, z->items);
}

/* A count that shrank recomputes zeta from scratch (YCSB by default keeps
 * the old zeta, allowitemcountdecrease = false; gen.h asks for the exact
 * one). */
static void zipf_resize(struct ycsb_zipfian *z, int64_t items)
{
    if (items > z->count_for_zeta)
        z->zetan = ycsb_zeta(z->count_for_zeta > 0 ? (uint64_t)z->count_for_zeta : 0, (uint64_t)items,
                             z->theta, z->count_for_zeta > 0 ? z->zetan : 0);
    else
        z->zetan = ycsb_zeta(0, items > 0 ? (uint64_t)items : 0, z->theta, 0);
    z->count_for_zeta = items;
    z->eta = zipf_eta(z, items);
}

int64_t ycsb_zipfian_next(struct ycsb_zipfian *z, struct ycsb_rng *r, int64_t items)
{
    if (items != z->count_for_zeta)
        zipf_resize(z, items);
    double u = ycsb_rng_double(r), uz = u * z->zetan;
    if (uz < 1.0)
        return z->base;
    if (uz < 1.0 + pow(0.5, z->theta))
        return z->base + 1;
    return z->base + (int64_t)((double)items * pow(z->eta * u - z->eta + 1, z->alpha));
}

/* --- the generators ------------------------------------------------------------------ */

static void gen_clear(struct ycsb_gen *g, enum ycsb_dist kind, int64_t lo, int64_t hi)
{
    *g = (struct ycsb_gen){.kind = kind, .lo = lo, .hi = hi};
}

void ycsb_gen_constant(struct ycsb_gen *g, int64_t value)
{
    gen_clear(g, YCSB_CONSTANT, value, value);
}

void ycsb_gen_uniform(struct ycsb_gen *g, int64_t lo, int64_t hi)
{
    gen_clear(g, YCSB_UNIFORM, lo, hi);
}

/* The shared counter is YCSB's SequentialGenerator's own, which starts at
 * 0: initialize it with ycsb_counter_init(shared, 0). */
void ycsb_gen_sequential(struct ycsb_gen *g, int64_t lo, int64_t hi, struct ycsb_counter *shared)
{
    gen_clear(g, YCSB_SEQUENTIAL, lo, hi);
    g->seq = shared;
}

void ycsb_gen_zipfian(struct ycsb_gen *g, int64_t lo, int64_t hi, double theta)
{
    gen_clear(g, YCSB_ZIPFIAN, lo, hi);
    ycsb_zipfian_init(&g->zipf, lo, hi, theta, 0);
}

/* As YCSB: a Zipfian over 0 .. ITEM_COUNT (ITEM_COUNT + 1 items) with the
 * precomputed zeta, its draw hashed into lo .. hi. */
void ycsb_gen_scrambled_zipfian(struct ycsb_gen *g, int64_t lo, int64_t hi)
{
    gen_clear(g, YCSB_SCRAMBLED_ZIPFIAN, lo, hi);
    ycsb_zipfian_init(&g->zipf, 0, YCSB_SCRAMBLED_ITEMS, YCSB_ZIPFIAN_CONSTANT, YCSB_SCRAMBLED_ZETAN);
}

/* As YCSB's SkewedLatestGenerator: a Zipfian over the keys acknowledged
 * when made, extended as the basis grows. */
void ycsb_gen_latest(struct ycsb_gen *g, struct ycsb_acked *basis)
{
    int64_t last = ycsb_acked_last(basis);
    gen_clear(g, YCSB_LATEST, 0, last);
    g->basis = basis;
    ycsb_zipfian_init(&g->zipf, 0, (last > 0 ? last : 0) - 1, YCSB_ZIPFIAN_CONSTANT, 0);
}

void ycsb_gen_hotspot(struct ycsb_gen *g, int64_t lo, int64_t hi, double hot_data, double hot_opn)
{
    gen_clear(g, YCSB_HOTSPOT, lo, hi);
    g->hot_data = hot_data;
    g->hot_opn = hot_opn;
}

void ycsb_gen_exponential(struct ycsb_gen *g, double percentile, double range)
{
    gen_clear(g, YCSB_EXPONENTIAL, 0, 0);
    g->gamma = -log(1.0 - percentile / 100.0) / range;
}

static int64_t gen_uniform(struct ycsb_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0) /* the whole of int64 */
        return (int64_t)ycsb_rng_u64(r);
    return (int64_t)((uint64_t)lo + ycsb_rng_below(r, span));
}

static int64_t gen_sequential(struct ycsb_gen *g)
{
    int64_t n = g->hi - g->lo + 1, c = ycsb_counter_next(g->seq) % n;
    return g->lo + (c < 0 ? c + n : c);
}

/* The hash taken unsigned: YCSB's Math.abs leaves 2^63 negative, and a
 * key below lo; here it is reduced like any other. */
static int64_t gen_scrambled(struct ycsb_gen *g, struct ycsb_rng *r)
{
    uint64_t h = (uint64_t)ycsb_fnvhash64(ycsb_zipfian_next(&g->zipf, r, g->zipf.items));
    return g->lo + (int64_t)(h % (uint64_t)(g->hi - g->lo + 1));
}

/* YCSB: max - zipfian.nextLong(max), so lo .. max is 1 .. max (key 0 is
 * never the latest). With max < 1 there is no Zipfian to draw from: max
 * itself (0: the one key; negative: no key acknowledged yet, which the
 * caller must not read). */
static int64_t gen_latest(struct ycsb_gen *g, struct ycsb_rng *r)
{
    int64_t max = ycsb_acked_last(g->basis);
    if (max < 1)
        return max;
    return max - ycsb_zipfian_next(&g->zipf, r, max);
}

/* YCSB's HotspotIntegerGenerator; an empty hot or cold set (which YCSB
 * divides by) sends every draw to the other one. */
static int64_t gen_hotspot(struct ycsb_gen *g, struct ycsb_rng *r)
{
    int64_t interval = g->hi - g->lo + 1, hot = (int64_t)((double)interval * g->hot_data);
    int64_t cold = interval - hot;
    int hot_draw = ycsb_rng_double(r) < g->hot_opn;
    if (hot <= 0)
        hot_draw = 0;
    else if (cold <= 0)
        hot_draw = 1;
    if (hot_draw)
        return g->lo + (int64_t)ycsb_rng_below(r, (uint64_t)hot);
    return g->lo + hot + (int64_t)ycsb_rng_below(r, (uint64_t)cold);
}

/* YCSB draws -ln(u) / gamma with u in [0, 1); -ln(1 - u) is the same
 * distribution without ln(0). */
static int64_t gen_exponential(struct ycsb_gen *g, struct ycsb_rng *r)
{
    return (int64_t)(-log(1.0 - ycsb_rng_double(r)) / g->gamma);
}

int64_t ycsb_gen_next(struct ycsb_gen *g, struct ycsb_rng *r)
{
    switch (g->kind) {
    case YCSB_CONSTANT:
        return g->lo;
    case YCSB_UNIFORM:
        return gen_uniform(r, g->lo, g->hi);
    case YCSB_SEQUENTIAL:
        return gen_sequential(g);
    case YCSB_ZIPFIAN:
        return ycsb_zipfian_next(&g->zipf, r, g->zipf.items);
    case YCSB_SCRAMBLED_ZIPFIAN:
        return gen_scrambled(g, r);
    case YCSB_LATEST:
        return gen_latest(g, r);
    case YCSB_HOTSPOT:
        return gen_hotspot(g, r);
    case YCSB_EXPONENTIAL:
        return gen_exponential(g, r);
    }
    return g->lo;
}
