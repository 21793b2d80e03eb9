/* latency.c - the log-linear latency histogram of the benchmarks (recording
 * is inline in report/latency.h; merging and quantiles are here). */
#include <string.h>

#include "report/latency.h"

#define SUB (1u << CXL_HIST_SUB_BITS)

/* Largest value that falls in bucket b. */
static uint64_t bucket_top(uint32_t b)
{
    if (b < SUB)
        return b;
    uint32_t shift = b / SUB - 1;
    uint64_t base = (uint64_t)(SUB + b % SUB) << shift;
    return base + ((1ull << shift) - 1);
}

void cxl_hist_init(struct cxl_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_ns = UINT64_MAX;
}

void cxl_hist_merge(struct cxl_hist *into, const struct cxl_hist *from)
{
    for (uint32_t i = 0; i < CXL_HIST_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    into->sum_ns += from->sum_ns;
    if (from->min_ns < into->min_ns)
        into->min_ns = from->min_ns;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

uint64_t cxl_hist_quantile(const struct cxl_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min_ns;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < CXL_HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= rank) {
            uint64_t top = bucket_top(b);
            return top < h->max_ns ? top : h->max_ns;
        }
    }
    return h->max_ns;
}

double cxl_hist_mean(const struct cxl_hist *h)
{
    return h->count ? (double)h->sum_ns / (double)h->count : 0.0;
}
