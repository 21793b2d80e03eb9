/* fuzz_graph.c - libFuzzer target for what cxl_graph trusts least
 * (docs/GRAPH.md, "Threats and failures"). The first input byte picks:
 *   0: a region header (the rest of the input, zero-padded to the header's
 *      size) through graph_region_header_check, with its checksum recomputed
 *      half of the time so mutations reach the field checks; an accepted
 *      header must describe arrays inside the size it was checked against;
 *   1: a graph in copy mode: n and the degrees from the input, offsets
 *      valid, neighbour ids raw from the input (and, for half the inputs,
 *      offsets raw too); graph_region_arrays_check must refuse or accept,
 *      and an accepted graph runs bfs with its verifier;
 *   2: a checked (zero-copy) graph: valid private offsets, raw neighbour
 *      ids and weights from the input; every kernel and verifier must stay in
 *      bounds (ASan) and terminate, whatever the ids.
 * Anything else abort()s or is caught by ASan/UBSan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "graph.h"
#include "kernels.h"
#include "region.h"

static void fuzz_header(const uint8_t *data, size_t size)
{
    struct graph_region_header h;
    char err[256];
    memset(&h, 0, sizeof h);
    memcpy(&h, data + 1, size - 1 < sizeof h ? size - 1 : sizeof h);
    if (data[0] & 0x80) {
        memcpy(h.magic, GRAPH_REGION_MAGIC, 8);
        h.version = GRAPH_REGION_VERSION;
        h.header_size = GRAPH_REGION_HEADER;
    }
    uint64_t map = (uint64_t)(data[0] & 0x7f) << 16;
    if (graph_region_header_check(&h, map, err, sizeof err) != 0)
        return;
    for (uint32_t i = 0; i < h.n_arrays; i++)
        if (h.arrays[i].offset < GRAPH_REGION_HEADER || h.arrays[i].offset + h.arrays[i].stored_bytes > map)
            abort();
}

/* n nodes with degrees from the input (each < 8), ids raw from the input. */
struct fuzz_graph {
    struct graph g;
    graph_offset *index;
    void *neigh;
    struct graph_fault fault;
};

static int build(struct fuzz_graph *f, const uint8_t *p, size_t len, int weighted, int raw_offsets)
{
    if (len < 2)
        return -1;
    int64_t n = 1 + p[0] % 64;
    p++, len--;
    f->index = calloc((size_t)n + 1, sizeof *f->index);
    for (int64_t u = 0; u < n; u++)
        f->index[u + 1] = f->index[u] + (u < (int64_t)len ? p[u] % 8 : 0);
    int64_t m = f->index[n];
    size_t elem = weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    f->neigh = calloc((size_t)m + 1, elem);
    size_t have = len > (size_t)n ? len - (size_t)n : 0;
    memcpy(f->neigh, p + (len > (size_t)n ? n : (int64_t)len), have < m * elem ? have : m * elem);
    if (raw_offsets && have > m * elem + 8) /* one offset overwritten with raw bytes */
        memcpy(&f->index[1 + p[0] % n], p + n + m * elem, 8);
    f->g = (struct graph){.n = n, .m = m, .weighted = weighted, .out_index = f->index,
                          .out_neigh = f->neigh, .in_index = f->index, .in_neigh = f->neigh};
    return 0;
}

static void release(struct fuzz_graph *f)
{
    free(f->index);
    free(f->neigh);
}

static void fuzz_copy(const uint8_t *data, size_t size)
{
    struct fuzz_graph f = {0};
    char err[256];
    if (build(&f, data + 1, size - 1, 0, data[0] & 1) != 0)
        return;
    if (graph_region_arrays_check(&f.g, 1, err, sizeof err) == 0) {
        graph_node *parent = malloc((size_t)f.g.n * sizeof *parent);
        graph_bfs(&f.g, 0, parent, 0);
        graph_bfs_verify(&f.g, 0, parent);
        free(parent);
    }
    release(&f);
}

static void fuzz_checked(const uint8_t *data, size_t size)
{
    struct fuzz_graph f = {0};
    int weighted = data[0] & 1;
    if (build(&f, data + 1, size - 1, weighted, 0) != 0)
        return;
    f.g.checked = 1;
    f.g.fault = &f.fault;
    graph_node src = 0;
    if (weighted) {
        free(graph_sssp(&f.g, src, 1 + (data[0] >> 1) % 4));
    } else {
        graph_node *parent = malloc((size_t)f.g.n * sizeof *parent);
        graph_bfs(&f.g, src, parent, 0);
        graph_bfs_verify(&f.g, src, parent);
        free(parent);
        free(graph_pr(&f.g, 3, 1e-4));
        free(graph_pr_spmv(&f.g, 3, 1e-4));
        free(graph_cc(&f.g));
        free(graph_cc_sv(&f.g));
        free(graph_bc(&f.g, &src, 1));
        graph_tc_ordered(&f.g, data[0] & 2);
    }
    char err[256];
    graph_fault_message(&f.g, err, sizeof err);
    release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        omp_set_num_threads(1);
        once = 1;
    }
    if (size < 2)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_header(data + 1, size - 1); break;
    case 1: fuzz_copy(data + 1, size - 1); break;
    default: fuzz_checked(data + 1, size - 1); break;
    }
    return 0;
}
