/* fault.c - the fault a kernel or verifier met in a checked graph (graph.h):
 * recording the first one, and the message naming it. */
#include <inttypes.h>
#include <stdio.h>

#include "graph.h"

static int within(const void *e, const void *base, int64_t m, size_t size)
{
    uintptr_t p = (uintptr_t)e, b = (uintptr_t)base;
    return b && p >= b && p - b < (uintptr_t)m * size;
}

void graph_fault_record(const struct graph *g, const void *e, int weight, int64_t value)
{
    struct graph_fault *f = g->fault;
    int unclaimed = 0;
    if (!f || !__atomic_compare_exchange_n(&f->flag, &unclaimed, 1, 0, __ATOMIC_ACQ_REL,
                                           __ATOMIC_RELAXED))
        return;
    size_t size = g->weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    int out = within(e, g->out_neigh, g->m, size);
    const char *base = out ? g->out_neigh : g->in_neigh;
    f->array = out ? GRAPH_OUT_NEIGH : GRAPH_IN_NEIGH;
    f->weight = weight;
    f->index = (int64_t)(((const char *)e - base) / (ptrdiff_t)size);
    f->value = value;
    __atomic_store_n(&f->flag, 2, __ATOMIC_RELEASE);
}

int graph_fault_message(const struct graph *g, char *err, size_t errlen)
{
    const struct graph_fault *f = g->fault;
    if (!f || __atomic_load_n(&f->flag, __ATOMIC_ACQUIRE) != 2)
        return 0;
    const char *array = f->array == GRAPH_OUT_NEIGH ? "OUT_NEIGH" : "IN_NEIGH";
    if (f->weight)
        snprintf(err, errlen, "graph region: %s[%" PRId64 "].w = %" PRId64
                 " is not a weight in [0, %d)", array, f->index, f->value, GRAPH_WEIGHT_LIMIT);
    else
        snprintf(err, errlen, "graph region: %s[%" PRId64 "] = %" PRId64
                 " is not a node (n = %" PRId64 ")", array, f->index, f->value, g->n);
    return 1;
}
