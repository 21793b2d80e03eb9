/* report/latency.h - a latency histogram for the benchmarks: log-linear buckets
 * (64 sub-buckets per power of two, < 1.6% error), constant-time record,
 * mergeable across threads, percentiles in nanoseconds. */
#ifndef CXL_LATENCY_H
#define CXL_LATENCY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_HIST_SUB_BITS 6
#define CXL_HIST_BUCKETS ((64 - CXL_HIST_SUB_BITS + 1) << CXL_HIST_SUB_BITS)

struct cxl_hist {
    uint64_t count, sum_ns, min_ns, max_ns;
    uint64_t bucket[CXL_HIST_BUCKETS];
};

void cxl_hist_init(struct cxl_hist *h);

/* Bucket b covers values whose top CXL_HIST_SUB_BITS+1 significant bits are
 * equal; values below 2^SUB_BITS have exact buckets. */
static inline uint32_t cxl_hist_bucket_(uint64_t v)
{
    if (v < (1u << CXL_HIST_SUB_BITS))
        return (uint32_t)v;
    uint32_t msb = 63u - (uint32_t)__builtin_clzll(v);
    uint32_t shift = msb - CXL_HIST_SUB_BITS;
    uint32_t sub = (uint32_t)(v >> shift) - (1u << CXL_HIST_SUB_BITS);
    return (shift + 1) * (1u << CXL_HIST_SUB_BITS) + sub;
}

/* Inline: it sits inside measured loops. */
static inline void cxl_hist_record(struct cxl_hist *h, uint64_t ns)
{
    h->bucket[cxl_hist_bucket_(ns)]++;
    h->count++;
    h->sum_ns += ns;
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}
void cxl_hist_merge(struct cxl_hist *into, const struct cxl_hist *from);
/* Value at quantile q in [0, 1] (upper edge of its bucket, capped at max). */
uint64_t cxl_hist_quantile(const struct cxl_hist *h, double q);
double cxl_hist_mean(const struct cxl_hist *h);

#ifdef __cplusplus
}
#endif
#endif
