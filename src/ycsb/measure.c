/* measure.c - what a thread measures per operation type: a latency
 * histogram (report/latency.h) and the count of each return (OK,
 * NOT_FOUND, ERROR, UNEXPECTED_STATE); merged across threads at the end.
 * The status line's running count and sum are atomics another thread
 * reads while the run goes on. */
#include <string.h>

#include "ycsb.h"

void ycsb_measure_init(struct ycsb_measure *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < OP_TYPES; i++)
        cxl_hist_init(&m->op[i].hist);
}

void ycsb_measure_record(struct ycsb_measure *m, enum ycsb_op op, uint64_t ns, enum ycsb_return r)
{
    struct ycsb_op_stats *s = &m->op[op];
    cxl_hist_record(&s->hist, ns);
    s->returns[r]++;
    atomic_fetch_add_explicit(&s->live_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->live_sum_ns, ns, memory_order_relaxed);
}

void ycsb_measure_merge(struct ycsb_measure *into, const struct ycsb_measure *from)
{
    for (int i = 0; i < OP_TYPES; i++) {
        cxl_hist_merge(&into->op[i].hist, &from->op[i].hist);
        for (int r = 0; r < RET_TYPES; r++)
            into->op[i].returns[r] += from->op[i].returns[r];
    }
    into->failed += from->failed;
}

uint64_t ycsb_measure_failures(const struct ycsb_measure *m)
{
    return m->failed;
}
