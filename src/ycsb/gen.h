/* gen.h - YCSB's number generators (docs/YCSB.md, "Generators"), as Java
 * YCSB's CoreWorkload defines them, with a seeded per-thread random engine
 * so that a run is reproducible.
 *
 * A generator (struct ycsb_gen) is a value each thread copies: its random
 * draws come from the caller's engine, its caches (a Zipfian's zeta) are
 * the thread's own. What several threads share is behind a pointer: the
 * counter of a sequential generator and the acknowledged insert counter a
 * latest generator reads. Key numbers are int64_t, as YCSB's longs. */
#ifndef CXL_YCSB_GEN_H
#define CXL_YCSB_GEN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* --- the random engine: xoshiro256**, seeded by splitmix64 -------------- */
struct ycsb_rng {
    uint64_t s[4];
};
/* Stream `stream` of seed `seed`: distinct streams are independent. */
void ycsb_rng_seed(struct ycsb_rng *r, uint64_t seed, uint64_t stream);
uint64_t ycsb_rng_u64(struct ycsb_rng *r);
double ycsb_rng_double(struct ycsb_rng *r);                  /* [0, 1), 53 bits */
uint64_t ycsb_rng_below(struct ycsb_rng *r, uint64_t n);     /* [0, n), n > 0, unbiased */

/* --- YCSB's helpers ----------------------------------------------------- */
/* Utils.fnvhash64: FNV-1a 64 over the 8 bytes of v, low byte first, then
 * Math.abs (so < 2^63; Long.MIN_VALUE stays as Java leaves it). */
int64_t ycsb_fnvhash64(int64_t v);
/* Java String.hashCode of n bytes (ASCII: each byte is one char). */
int32_t ycsb_java_hash(const char *s, size_t n);
/* initial + sum over i in (from, to] of 1 / i^theta: zeta(n) is
 * ycsb_zeta(0, n, theta, 0), and a zeta extended from m to n items is
 * ycsb_zeta(m, n, theta, zeta(m)) (YCSB's incremental zeta). */
double ycsb_zeta(uint64_t from, uint64_t to, double theta, double initial);

#define YCSB_ZIPFIAN_CONSTANT 0.99
#define YCSB_SCRAMBLED_ITEMS 10000000000ll    /* ScrambledZipfianGenerator.ITEM_COUNT */
#define YCSB_SCRAMBLED_ZETAN 26.46902820178302 /* its zeta(ITEM_COUNT, 0.99) */

/* --- shared counters ------------------------------------------------------ */
/* CounterGenerator: next() hands out start, start+1, ... to every thread. */
struct ycsb_counter {
    _Atomic int64_t next;
};
void ycsb_counter_init(struct ycsb_counter *c, int64_t start);
int64_t ycsb_counter_next(struct ycsb_counter *c);
int64_t ycsb_counter_last(struct ycsb_counter *c); /* the last handed out (start - 1 before any) */

/* AcknowledgedCounterGenerator: next() as a counter; last() is the highest
 * value v such that every value from start to v was acknowledged (start - 1
 * before any), so a reader of "the latest key" never asks for one whose
 * insert has not returned. A window of YCSB_ACK_WINDOW values may be in
 * flight; acknowledging one further ahead fails (-1). */
#define YCSB_ACK_WINDOW (1u << 20)
struct ycsb_acked {
    _Atomic int64_t next;
    _Atomic int64_t limit;
    _Atomic uint8_t *window; /* YCSB_ACK_WINDOW flags */
    pthread_mutex_t lock;
};
int ycsb_acked_init(struct ycsb_acked *a, int64_t start); /* 0 or -1 (out of memory) */
void ycsb_acked_free(struct ycsb_acked *a);
int64_t ycsb_acked_next(struct ycsb_acked *a);
int ycsb_acked_ack(struct ycsb_acked *a, int64_t v);
int64_t ycsb_acked_last(struct ycsb_acked *a);

/* --- ZipfianGenerator (Gray et al. 1994) ---------------------------------- */
struct ycsb_zipfian {
    int64_t base, items;        /* values base .. base + items - 1 */
    double theta, alpha, zeta2, zetan, eta;
    int64_t count_for_zeta;     /* items zetan was computed for */
};
/* zetan <= 0: computed (sum over items); else taken as given (ScrambledZipfian). */
void ycsb_zipfian_init(struct ycsb_zipfian *z, int64_t min, int64_t max, double theta, double zetan);
/* nextLong(items): a draw over base .. base + items - 1; when items grew
 * since the last draw zeta is extended incrementally (YCSB's; a shrinking
 * count recomputes it). */
int64_t ycsb_zipfian_next(struct ycsb_zipfian *z, struct ycsb_rng *r, int64_t items);

/* --- the generators a workload names --------------------------------------- */
enum ycsb_dist {
    YCSB_CONSTANT,          /* lo */
    YCSB_UNIFORM,           /* lo .. hi */
    YCSB_SEQUENTIAL,        /* lo + (shared counter % (hi - lo + 1)); the counter starts at 0 */
    YCSB_ZIPFIAN,           /* ZipfianGenerator(lo, hi) (scan and field lengths) */
    YCSB_SCRAMBLED_ZIPFIAN, /* ScrambledZipfianGenerator(lo, hi): requestdistribution=zipfian */
    YCSB_LATEST,            /* SkewedLatestGenerator over *basis: 1 .. last(); last() if < 1 */
    YCSB_HOTSPOT,           /* HotspotIntegerGenerator(lo, hi, hot_data, hot_opn) */
    YCSB_EXPONENTIAL,       /* ExponentialGenerator(percentile, range): 0, 1, 2 ... */
};

struct ycsb_gen {
    enum ycsb_dist kind;
    int64_t lo, hi;
    double hot_data, hot_opn;   /* hotspot: fractions of the data and of the operations */
    double gamma;               /* exponential */
    struct ycsb_zipfian zipf;   /* zipfian, scrambled zipfian, latest */
    struct ycsb_counter *seq;   /* sequential: shared */
    struct ycsb_acked *basis;   /* latest: shared */
};

void ycsb_gen_constant(struct ycsb_gen *g, int64_t value);
void ycsb_gen_uniform(struct ycsb_gen *g, int64_t lo, int64_t hi);
void ycsb_gen_sequential(struct ycsb_gen *g, int64_t lo, int64_t hi, struct ycsb_counter *shared);
void ycsb_gen_zipfian(struct ycsb_gen *g, int64_t lo, int64_t hi, double theta);
void ycsb_gen_scrambled_zipfian(struct ycsb_gen *g, int64_t lo, int64_t hi);
void ycsb_gen_latest(struct ycsb_gen *g, struct ycsb_acked *basis);
void ycsb_gen_hotspot(struct ycsb_gen *g, int64_t lo, int64_t hi, double hot_data, double hot_opn);
/* percentile: of the draws below `range` (YCSB: exponential.percentile 95,
 * range = recordcount x exponential.frac 0.8571428571) */
void ycsb_gen_exponential(struct ycsb_gen *g, double percentile, double range);
int64_t ycsb_gen_next(struct ycsb_gen *g, struct ycsb_rng *r);

#endif
