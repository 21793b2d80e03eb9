/* graph.h - what the files of cxl_graph share (docs/GRAPH.md): the CSR graph
 * every kernel takes, wherever its arrays live (private memory, or the
 * shared medium in zero-copy mode), and the entry points of each file.
 *
 * A graph is directed or not; an undirected graph stores each edge in both
 * directions (m counts both) and its in-arrays are its out-arrays. Node ids
 * are int32_t, offsets int64_t; a weighted graph stores {neighbour, weight}
 * pairs, as GAPBS's .wsg does. Neighbour lists are sorted, without self
 * loops or duplicates (GAPBS's builder rules).
 *
 * A checked graph (zero-copy: its neighbour arrays are in a shared mapping
 * another host may write at any time) promises none of that: its offsets
 * are private and validated, but each neighbour id and weight may be
 * anything and may change between two reads. The kernels and verifiers
 * read its elements through graph_neigh / graph_wneigh only, each element
 * once, and skip an edge whose id is not a node (or whose weight is out of
 * range); the first such fault is recorded in *fault for
 * graph_fault_message. Results are then meaningless but every access stays
 * in bounds and every loop ends. */
#ifndef CXL_GRAPH_H
#define CXL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "config/options.h"
#include "cxl/wait.h"

typedef int32_t graph_node;
typedef int64_t graph_offset;
typedef int32_t graph_weight;

struct graph_wnode {
    graph_node v;
    graph_weight w;
};

struct graph {
    int64_t n;              /* nodes */
    int64_t m;              /* directed edges in the out arrays */
    int directed;
    int weighted;
    const graph_offset *out_index; /* n + 1 */
    const void *out_neigh;         /* graph_node[m] or struct graph_wnode[m] */
    const graph_offset *in_index;  /* directed: n + 1; else = out_index */
    const void *in_neigh;
    void *owned;                   /* private allocations to free, NULL for a view */
    int checked;                   /* 0, or GRAPH_CHECKED(_DELAY): the neighbour arrays are untrusted */
    struct graph_fault *fault;     /* where a checked graph's first fault goes */
    uint64_t delay_ticks;          /* checked: the delay model, one wait per 64-B line of
                                    * neighbours entered (cxl_delay_ticks); 0 off */
};

/* The first bad element a kernel met in a checked graph (written once,
 * through a const graph: the flag is claimed by compare-and-swap). */
enum graph_array { GRAPH_OUT_NEIGH, GRAPH_IN_NEIGH };
struct graph_fault {
    int flag;       /* 0, then 1 when claimed, 2 once the fields below are written */
    int array;      /* enum graph_array */
    int weight;     /* 1: a weight was bad, 0: a neighbour id */
    int64_t index;  /* the element's index in that array */
    int64_t value;
};

/* A weight must be in [0, GRAPH_WEIGHT_LIMIT): a distance under
 * GRAPH_DIST_INF plus one still fits an int32_t. */
#define GRAPH_WEIGHT_LIMIT (INT32_MAX / 2)

/* Record a fault (the first one wins); e points at the bad element. */
void graph_fault_record(const struct graph *g, const void *e, int weight, int64_t value);
/* Nonzero when a fault was recorded, with "graph region: OUT_NEIGH[i] = x is
 * not a node (n = N)" (or the weight's equivalent) in err. */
int graph_fault_message(const struct graph *g, char *err, size_t errlen);

static inline int graph_faulted(const struct graph *g)
{
    return g->checked && g->fault && __atomic_load_n(&g->fault->flag, __ATOMIC_RELAXED);
}

/* g->checked of a graph whose neighbour arrays are in the medium: every id
 * checked, and with GRAPH_CHECKED_DELAY the delay model on those reads. The
 * kernels take it as a constant argument (each mode's loops compiled apart:
 * the delay test alone cost 8% of pr's zero-copy time). */
enum { GRAPH_CHECKED = 1, GRAPH_CHECKED_DELAY = 2 };

/* FN(ARGS..., mode) with mode the constant that checked (g->checked) is: each
 * kernel's one dispatch to the copy of its loops compiled for that mode. */
#define GRAPH_BY_MODE(checked, FN, ...)                                                  \
    ((checked) == GRAPH_CHECKED_DELAY ? FN(__VA_ARGS__, GRAPH_CHECKED_DELAY)             \
     : (checked)                      ? FN(__VA_ARGS__, GRAPH_CHECKED)                   \
                                      : FN(__VA_ARGS__, 0))

/* The delay model on a checked graph's medium reads: a wait when a read
 * enters a new 64-B line (the line a miss to CXL memory would fetch). */
static inline void graph_medium_delay(const struct graph *g, const void *e, size_t size, const int checked)
{
    if (checked == GRAPH_CHECKED_DELAY && ((uintptr_t)e & 63) < size)
        cxl_delay_spin(g->delay_ticks);
}

/* nb[k] of g (nb a list of its out or in array); when checked (a constant
 * where called, so the plain path costs nothing) read once and -1 when it
 * is not a node (the fault recorded): the caller skips the edge. */
static inline graph_node graph_neigh(const struct graph *g, const graph_node *nb, int64_t k,
                                     const int checked)
{
    if (!checked)
        return nb[k];
    graph_medium_delay(g, &nb[k], sizeof nb[k], checked);
    graph_node v = __atomic_load_n(&nb[k], __ATOMIC_RELAXED);
    if ((uint32_t)v < (uint64_t)g->n)
        return v;
    graph_fault_record(g, &nb[k], 0, v);
    return -1;
}

/* v from graph_neigh is to be skipped (never when not checked). */
static inline int graph_skip(graph_node v, const int checked)
{
    return checked && v < 0;
}

/* e[k] of a weighted list into *v, *w; 0 when checked and the id is not a
 * node or the weight not in [0, GRAPH_WEIGHT_LIMIT) (the fault recorded). */
static inline int graph_wneigh(const struct graph *g, const struct graph_wnode *e, int64_t k,
                               graph_node *v, graph_weight *w, const int checked)
{
    if (!checked) {
        *v = e[k].v, *w = e[k].w;
        return 1;
    }
    graph_medium_delay(g, &e[k], sizeof e[k], checked);
    *v = __atomic_load_n(&e[k].v, __ATOMIC_RELAXED);
    *w = __atomic_load_n(&e[k].w, __ATOMIC_RELAXED);
    if ((uint32_t)*v >= (uint64_t)g->n) {
        graph_fault_record(g, &e[k], 0, *v);
        return 0;
    }
    if (*w < 0 || *w >= GRAPH_WEIGHT_LIMIT) {
        graph_fault_record(g, &e[k], 1, *w);
        return 0;
    }
    return 1;
}

static inline int64_t graph_out_degree(const struct graph *g, graph_node u)
{
    return g->out_index[u + 1] - g->out_index[u];
}

static inline const graph_node *graph_out(const struct graph *g, graph_node u)
{
    return (const graph_node *)g->out_neigh + g->out_index[u];
}

static inline const struct graph_wnode *graph_wout(const struct graph *g, graph_node u)
{
    return (const struct graph_wnode *)g->out_neigh + g->out_index[u];
}

static inline int64_t graph_in_degree(const struct graph *g, graph_node u)
{
    return g->in_index[u + 1] - g->in_index[u];
}

static inline const graph_node *graph_in(const struct graph *g, graph_node u)
{
    return (const graph_node *)g->in_neigh + g->in_index[u];
}

/* Undirected edges as GAPBS counts them (m / 2 for an undirected graph). */
static inline int64_t graph_edges(const struct graph *g)
{
    return g->directed ? g->m : g->m / 2;
}

/* --- rng.c: std::mt19937 and the uniform draws GAPBS makes from it */
struct graph_rng {
    uint32_t mt[624];
    int idx;
};
void graph_rng_seed(struct graph_rng *r, uint32_t seed);
uint32_t graph_rng_next(struct graph_rng *r);
/* uniform integer in [lo, hi] by unbiased modulo (GAPBS's draws) */
int64_t graph_rng_int(struct graph_rng *r, int64_t lo, int64_t hi);
/* libstdc++'s uniform_int_distribution over [0, range) and std::shuffle */
uint32_t graph_rng_lemire(struct graph_rng *r, uint64_t range);
void graph_rng_shuffle(struct graph_rng *r, graph_node *a, int64_t n);

/* std::mt19937_64, and a uniform integer in [lo, hi] from it (unbiased modulo) */
struct graph_rng64 {
    uint64_t mt[312];
    int idx;
};
void graph_rng64_seed(struct graph_rng64 *r, uint64_t seed);
uint64_t graph_rng64_next(struct graph_rng64 *r);
int64_t graph_rng64_int(struct graph_rng64 *r, int64_t lo, int64_t hi);

/* --- builder.c: an edge list to CSR (GAPBS's rules) */
struct graph_edge {
    graph_node u, v;
    graph_weight w;
};
struct graph_edges {
    struct graph_edge *e;
    int64_t len, cap;
    int weighted;
    int64_t max_node; /* largest id seen, -1 if none */
};
int graph_edges_push(struct graph_edges *el, graph_node u, graph_node v, graph_weight w);
/* Builds g from el (n = max(max id + 1, min_nodes)); 0, or -1 with errbuf. */
int graph_build(struct graph *g, const struct graph_edges *el, int directed,
                int64_t min_nodes, char *err, size_t errlen);

/* --- generator.c: Kronecker (RMAT) and uniform edge lists */
int graph_generate(struct graph_edges *el, int scale, int degree, int uniform,
                   char *err, size_t errlen);
/* Weights of a generated edge list (uniform in [1, 255], as GAPBS's); sets weighted. */
void graph_generate_weights(struct graph_edges *el);

/* --- reader.c / writer.c: .el .wel .gr .mtx .sg .wsg */
int graph_read(struct graph *g, const char *path, int symmetrize,
               char *err, size_t errlen);
/* .el .wel .gr .mtx: the edge list, to build apart (el->e to free) */
int graph_is_edge_list(const char *path);
int graph_read_edges(struct graph_edges *el, const char *path, char *err, size_t errlen);
int graph_write_sg(const struct graph *g, const char *path, char *err, size_t errlen);

/* --- bfs.c / verify.c */
/* parent[n]: parent in the BFS tree, source's own id for the source, -1 unreached */
void graph_bfs(const struct graph *g, graph_node source, graph_node *parent, int logging);
int graph_bfs_verify(const struct graph *g, graph_node source, const graph_node *parent);

/* Source picking as GAPBS: random nodes with out-degree > 0 (or the fixed one). */
struct graph_source_picker {
    struct graph_rng64 rng; /* GAPBS picks from a 64-bit engine */
    int64_t fixed;  /* -1: random */
};
void graph_source_init(struct graph_source_picker *sp, int64_t fixed);
graph_node graph_source_next(struct graph_source_picker *sp, const struct graph *g);

/* What a graph built or read here owns (g->owned); graph_free frees it. */
struct graph_owned {
    graph_offset *out_index, *in_index;
    void *out_neigh, *in_neigh;
};
void graph_free(struct graph *g);
/* An array of bytes for an attached graph's private copy (freed with free):
 * 2 MiB aligned and marked for transparent huge pages when that large (a
 * fault per 2 MiB instead of per 4 KiB: kron -g 18's copy attach 37 -> 18 ms,
 * 1 thread; no kernel speed difference measurable on this noisy machine, so
 * the builder keeps malloc and Native stays as measured against GAPBS). */
void *graph_array_alloc(uint64_t bytes);

/* --- cli.c: GAPBS's command line, and ours (long options) */
enum graph_mode { GRAPH_NATIVE, GRAPH_PUBLISH, GRAPH_ATTACH, GRAPH_AUTO };

struct graph_cli {
    const char *kernel;   /* "bfs", "convert", ... */
    const char *mode;     /* from argv[0]: "" , "ring", "ring-secure" ... */
    const char *file;     /* -f */
    const char *out_sg;   /* -b (convert) */
    int weighted_out;     /* -w (convert): keep the weights (.wsg) */
    int scale, uniform;   /* -g / -u; scale -1 when -f */
    int degree;           /* -k */
    int symmetrize, verify, logging, analysis, reduce_mem;
    int trials;           /* -n */
    int64_t source;       /* -r, -1 random */
    int iters;            /* -i; 0: the kernel's default (pr 20 iterations, bc 1 source) */
    double tolerance;     /* -t */
    int delta;            /* -d */
    /* the shared medium (docs/GRAPH.md, "The program"): long options, then
     * the original prototype's variables as defaults */
    enum graph_mode cxl_mode;
    int publish_only, pretouch;
    int publish_only_env, pretouch_env; /* set by GAPBS_CXL_PUBLISH_ONLY / _PRETOUCH, not a flag */
    int zero_copy;        /* attach: 1 in place, 0 a private copy; -1: in place when plain */
    uint32_t attach_timeout_ms;
    uint64_t expect_generation;
    uint8_t expect_publication[16];
    int expect_publication_given;
    int copy_given, zero_copy_given, region_given;
    const char *region;   /* --secure: the manager's region ("graph") */
    const char *csv, *label, *host, *vm;
    int mode_given, timeout_given;
    struct cxl_shared_opts shared; /* --path --map-size --map-offset --node-id --delay-ns --crypto --secure ... */
};
/* "Native", "MultihostRing", "Crypto", "Secure": the seed's mode labels. */
const char *graph_mode_label(const struct graph_cli *c);
/* 0, 1 when -h printed the help, -1 with err (a usage error: exit 2). envp
 * (may be NULL): GAPBS_CXL_MODE, GAPBS_CXL_PATH ... CXL_SHM_DELAY_NS,
 * CXL_SEC_* as defaults for what the command line left unset. */
int graph_cli_parse(struct graph_cli *c, int argc, char **argv, char *const *envp, char *err, size_t errlen);

/* --- bench.c: load the graph and run a kernel's trials as GAPBS does */
int graph_load(struct graph *g, const struct graph_cli *c);
/* "Graph has N nodes and M (un)directed edges for degree: D" */
void graph_print_size(const struct graph *g);
void graph_print_time(const char *label, double seconds);

struct graph_run_result {
    int trials;      /* trials run */
    double *times;   /* seconds of each (malloc'd; graph_run_result_free) */
    double edges;    /* bfs, sssp: edges of the sources' components, a trial's mean; else 0 */
    int verified;    /* -1: not asked (no -v); 1: every trial passed; 0: one failed */
};
struct graph_run_ctl {
    int (*after_trial)(void *ud); /* nonzero stops the run (the graph was re-published) */
    void *ud;
};
/* ctl and res may be NULL. 0; 1 on a failure (printed); 2 on a usage error. */
int graph_run(const struct graph *g, const struct graph_cli *c, const struct graph_run_ctl *ctl,
              struct graph_run_result *res);
void graph_run_result_free(struct graph_run_result *res);

/* --- mode.c: the whole run in the mode the command line names; main's exit code */
int graph_main(const struct graph_cli *c);

#endif
