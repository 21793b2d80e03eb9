/* bench.c - GAPBS's benchmark driver: build or read the graph (printing
 * "Generate Time:", "Read Time:", "Build Time:" and "Graph has N nodes and M
 * (un)directed edges for degree: D"), then the kernel's trials ("Trial
 * Time:", with -v "Verification:" and "Verification Time:", then "Average
 * Time:"), sources picked as GAPBS picks them; the convert kernel writes
 * the graph (-b FILE). */
#include "graph.h"
#include "kernels.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void graph_print_time(const char *label, double s)
{
    char l[64];
    snprintf(l, sizeof(l), "%s:", label);
    printf("%-21s%3.5lf\n", l, s);
}

static void print_label(const char *label, const char *val)
{
    char l[64];
    snprintf(l, sizeof(l), "%s:", label);
    printf("%-21s%7s\n", l, val);
}

/* An edge list generated or read, then built: "Generate/Read Time", "Build Time". */
static int make_edges(struct graph *g, const struct graph_cli *c, char *err, size_t errlen)
{
    struct graph_edges el;
    double t0 = omp_get_wtime();
    if (c->file ? graph_read_edges(&el, c->file, err, errlen)
                : graph_generate(&el, c->scale, c->degree, c->uniform, err, errlen))
        return -1;
    /* weights only for the kernels that use them (and convert to a .wsg);
     * a generated graph then gets GAPBS's random ones */
    int want_weights = strcmp(c->kernel, "sssp") == 0 || c->weighted_out ||
                       (c->out_sg && strstr(c->out_sg, ".wsg"));
    if (!c->file && want_weights)
        graph_generate_weights(&el);
    el.weighted = el.weighted && want_weights;
    graph_print_time(c->file ? "Read Time" : "Generate Time", omp_get_wtime() - t0);
    t0 = omp_get_wtime();
    /* n = largest id + 1, as GAPBS; generated graphs are undirected */
    int rc = graph_build(g, &el, c->file && !c->symmetrize, 0, err, errlen);
    free(el.e);
    if (rc == 0)
        graph_print_time("Build Time", omp_get_wtime() - t0);
    return rc;
}

int graph_load(struct graph *g, const struct graph_cli *c)
{
    char err[512];
    double t0 = omp_get_wtime();
    int serialized = c->file && !graph_is_edge_list(c->file);
    int rc = serialized ? graph_read(g, c->file, c->symmetrize, err, sizeof(err))
                        : make_edges(g, c, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "cxl_graph: %s\n", err);
        return -1;
    }
    if (serialized)
        graph_print_time("Read Time", omp_get_wtime() - t0);
    graph_print_size(g);
    return 0;
}

void graph_print_size(const struct graph *g)
{
    printf("Graph has %lld nodes and %lld %sdirected edges for degree: %lld\n", (long long)g->n,
           (long long)graph_edges(g), g->directed ? "" : "un",
           (long long)(g->n ? graph_edges(g) / g->n : 0));
}

/* --- the trials' log: times, verification, the re-publication check */

struct trials {
    const struct graph_run_ctl *ctl;
    struct graph_run_result res;
    double total, edges;
    int failures;
};

static int trials_init(struct trials *t, const struct graph_cli *c, const struct graph_run_ctl *ctl)
{
    *t = (struct trials){.ctl = ctl, .res = {.verified = c->verify ? 1 : -1}};
    t->res.times = malloc((size_t)c->trials * sizeof *t->res.times);
    return t->res.times ? 0 : -1;
}

/* One trial done: 0 to go on, 1 to stop (the hook found a re-publication). */
static int trial_done(struct trials *t, double dt, double edges)
{
    t->res.times[t->res.trials++] = dt;
    t->total += dt;
    t->edges += edges;
    graph_print_time("Trial Time", dt);
    return t->ctl && t->ctl->after_trial && t->ctl->after_trial(t->ctl->ud) ? 1 : 0;
}

static void trial_verified(struct trials *t, int ok, double seconds)
{
    t->failures += !ok;
    t->res.verified = t->res.verified && ok;
    print_label("Verification", ok ? "PASS" : "FAIL");
    graph_print_time("Verification Time", seconds);
}

/* "Average Time"; the result to the caller; 0, or 1 after a failure or a stop. */
static int trials_end(struct trials *t, int stopped, struct graph_run_result *res)
{
    if (t->res.trials && !stopped)
        graph_print_time("Average Time", t->total / t->res.trials);
    t->res.edges = t->res.trials ? t->edges / t->res.trials : 0;
    if (res)
        *res = t->res;
    else
        free(t->res.times);
    return t->failures || stopped ? 1 : 0;
}

void graph_run_result_free(struct graph_run_result *res)
{
    free(res->times);
    res->times = NULL;
}

/* Edges of the nodes a search reached (TEPS): out-degrees summed, halved when undirected. */
static double reached_edges(const struct graph *g, const int32_t *mark, int32_t unreached)
{
    int64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (int64_t u = 0; u < g->n; u++)
        if (mark[u] != unreached)
            sum += graph_out_degree(g, (graph_node)u);
    return g->directed ? (double)sum : sum / 2.0;
}

/* --- -a: GAPBS's analysis of the last trial's result, in its words ------------------ */

/* A reached node's depth: up the parents to the root or to a node whose depth
 * is known, then up again from u writing each one's (every node's depth is
 * written once: O(n) for the whole tree). */
static int64_t tree_depth(const graph_node *parent, int64_t *depth, int64_t n, graph_node u)
{
    int64_t steps = 0;
    graph_node v = u;
    while (depth[v] < 0 && parent[v] != v && parent[v] >= 0 && steps <= n)
        v = parent[v], steps++;
    if (depth[v] < 0)
        depth[v] = 0; /* the root (or a broken chain's end) */
    int64_t top = depth[v];
    for (graph_node w = u; steps > 0; w = parent[w], steps--)
        depth[w] = top + steps;
    return depth[u];
}

/* "BFS Tree has N nodes and E edges" (the nodes reached, their out-degrees
 * summed), then ours: the tree's depth. */
static void bfs_analysis(const struct graph *g, const graph_node *parent)
{
    int64_t reached = 0, edges = 0, max_depth = 0;
    int64_t *depth = malloc((size_t)(g->n ? g->n : 1) * sizeof *depth);
    for (int64_t u = 0; depth && u < g->n; u++)
        depth[u] = -1;
    for (int64_t u = 0; u < g->n; u++) {
        if (parent[u] < 0)
            continue;
        reached++;
        edges += graph_out_degree(g, (graph_node)u);
        int64_t d = depth ? tree_depth(parent, depth, g->n, (graph_node)u) : 0;
        max_depth = d > max_depth ? d : max_depth;
    }
    free(depth);
    printf("BFS Tree has %lld nodes and %lld edges\n", (long long)reached, (long long)edges);
    printf("BFS Tree depth:      %lld\n", (long long)max_depth);
}

enum { TOP_K = 5 };

/* The ids of the k (<= TOP_K) highest values, from the highest (ties: the
 * lower id first); returns how many. */
static int top_k(const double *scores, int64_t n, int k, int64_t top[TOP_K])
{
    k = k < TOP_K ? k : TOP_K;
    int have = 0;
    for (int64_t u = 0; u < n; u++) {
        int at = have;
        while (at > 0 && scores[u] > scores[top[at - 1]])
            at--;
        if (at >= k)
            continue;
        if (have < k)
            have++;
        memmove(&top[at + 1], &top[at], (size_t)(have - 1 - at) * sizeof *top);
        top[at] = u;
    }
    return have;
}

/* "node:score" for the five highest scores (printed as GAPBS's stream does: 6 digits). */
static void print_top_scores(const double *scores, int64_t n)
{
    int64_t top[TOP_K];
    for (int i = 0, have = top_k(scores, n, TOP_K, top); i < have; i++)
        printf("%lld:%g\n", (long long)top[i], scores[top[i]]);
}

/* "K biggest clusters", "label:size" from the biggest, "There are C components". */
static void cc_analysis(const struct graph *g, const graph_node *label)
{
    int64_t *size = calloc((size_t)(g->n ? g->n : 1), sizeof *size);
    if (!size)
        return;
    int64_t components = 0;
    for (int64_t u = 0; u < g->n; u++)
        if (label[u] >= 0 && label[u] < g->n)
            components += size[label[u]]++ == 0;
    double *as_score = malloc((size_t)(g->n ? g->n : 1) * sizeof *as_score);
    if (as_score) {
        for (int64_t u = 0; u < g->n; u++)
            as_score[u] = (double)size[u];
        int64_t top[TOP_K];
        int have = top_k(as_score, g->n, components < TOP_K ? (int)components : TOP_K, top);
        printf("\n%d biggest clusters\n", have);
        for (int i = 0; i < have; i++) /* sizes as integers: a million-node cluster is 1000000, not 1e+06 */
            printf("%lld:%lld\n", (long long)top[i], (long long)size[top[i]]);
        printf("There are %lld components\n", (long long)components);
    }
    free(as_score);
    free(size);
}

static void sssp_analysis(const struct graph *g, const graph_weight *dist)
{
    int64_t reached = 0;
    for (int64_t u = 0; u < g->n; u++)
        reached += dist[u] != GRAPH_DIST_INF;
    printf("SSSP Tree reaches %lld nodes\n", (long long)reached);
}

static int run_bfs(const struct graph *g, const struct graph_cli *c, const struct graph_run_ctl *ctl,
                   struct graph_run_result *res)
{
    struct graph_source_picker sp, vsp;
    graph_node *parent = malloc((size_t)(g->n ? g->n : 1) * sizeof(*parent));
    struct trials tl;
    int stopped = 0;
    if (!parent || trials_init(&tl, c, ctl) != 0) {
        fprintf(stderr, "cxl_graph: out of memory for %lld nodes\n", (long long)g->n);
        free(parent);
        return 1;
    }
    graph_source_init(&sp, c->source);
    graph_source_init(&vsp, c->source);
    for (int t = 0; t < c->trials && !stopped; t++) {
        graph_node s = graph_source_next(&sp, g);
        if (c->logging)
            printf("%-14s%14lld\n", "Source:", (long long)s);
        double t0 = omp_get_wtime();
        graph_bfs(g, s, parent, c->logging);
        stopped = trial_done(&tl, omp_get_wtime() - t0, reached_edges(g, parent, -1));
        if (c->analysis && t == c->trials - 1 && !stopped)
            bfs_analysis(g, parent);
        if (c->verify && !stopped) {
            t0 = omp_get_wtime();
            int ok = graph_bfs_verify(g, graph_source_next(&vsp, g), parent);
            trial_verified(&tl, ok, omp_get_wtime() - t0);
        }
    }
    free(parent);
    return trials_end(&tl, stopped, res);
}

/* --- the other kernels: one trial = run (timed), then verify (timed apart) --- */

struct kernel {
    const char *name;
    int sources;      /* sources per trial: 0 none, 1, or -1: -i of them (bc) */
    int undirected;   /* refuses a directed graph (tc) */
    int weighted;     /* needs weights (sssp) */
    void *(*run)(const struct graph *g, const struct graph_cli *c, const graph_node *src, int nsrc);
    int (*verify)(const struct graph *g, const struct graph_cli *c, const graph_node *src, int nsrc,
                  const void *result);
    double (*edges)(const struct graph *g, const void *result); /* TEPS: NULL where undefined */
    void (*analyze)(const struct graph *g, const void *result);  /* -a, after the last trial */
};

static int pr_iters(const struct graph_cli *c) { return c->iters ? c->iters : GRAPH_PR_MAX_ITERS; }

static void *run_pr(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)s, (void)n;
    return graph_pr_logged(g, pr_iters(c), c->tolerance, c->logging);
}

static void *run_pr_spmv(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)s, (void)n;
    return graph_pr_spmv_logged(g, pr_iters(c), c->tolerance, c->logging);
}

static int verify_pr(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n,
                     const void *r)
{
    (void)s, (void)n;
    return graph_verify_pr(g, r, c->tolerance);
}

static void *run_cc(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)c, (void)s, (void)n;
    return graph_cc(g);
}

static void *run_cc_sv(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)c, (void)s, (void)n;
    return graph_cc_sv(g);
}

static int verify_cc(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n,
                     const void *r)
{
    (void)c, (void)s, (void)n;
    return graph_verify_cc(g, r);
}

static void *run_sssp(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)n;
    return graph_sssp(g, s[0], c->delta);
}

static int verify_sssp(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n,
                       const void *r)
{
    (void)c, (void)n;
    return graph_verify_sssp(g, s[0], r);
}

static double sssp_edges(const struct graph *g, const void *r)
{
    return reached_edges(g, r, GRAPH_DIST_INF);
}

static void *run_bc(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)c;
    return graph_bc(g, s, n);
}

static int verify_bc(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n,
                     const void *r)
{
    (void)c;
    return graph_verify_bc(g, s, n, r);
}

static void *run_tc(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n)
{
    (void)c, (void)s, (void)n;
    uint64_t *count = malloc(sizeof *count);
    if (count && (*count = graph_tc(g)) == UINT64_MAX) {
        free(count);
        return NULL;
    }
    return count;
}

static int verify_tc(const struct graph *g, const struct graph_cli *c, const graph_node *s, int n,
                     const void *r)
{
    (void)c, (void)s, (void)n;
    return graph_verify_tc(g, *(const uint64_t *)r);
}

static void scores_analysis(const struct graph *g, const void *r) { print_top_scores(r, g->n); }
static void labels_analysis(const struct graph *g, const void *r) { cc_analysis(g, r); }
static void dist_analysis(const struct graph *g, const void *r) { sssp_analysis(g, r); }
static void tc_analysis(const struct graph *g, const void *r)
{
    (void)g;
    printf("%llu triangles\n", (unsigned long long)*(const uint64_t *)r);
}

static const struct kernel kernels[] = {
    {"pr", 0, 0, 0, run_pr, verify_pr, NULL, scores_analysis},
    {"pr_spmv", 0, 0, 0, run_pr_spmv, verify_pr, NULL, scores_analysis},
    {"cc", 0, 0, 0, run_cc, verify_cc, NULL, labels_analysis},
    {"cc_sv", 0, 0, 0, run_cc_sv, verify_cc, NULL, labels_analysis},
    {"sssp", 1, 0, 1, run_sssp, verify_sssp, sssp_edges, dist_analysis},
    {"bc", -1, 0, 0, run_bc, verify_bc, NULL, scores_analysis},
    {"tc", 0, 1, 0, run_tc, verify_tc, NULL, tc_analysis},
};

/* The sources of one trial from picker sp (GAPBS's sequence). */
static void pick_sources(struct graph_source_picker *sp, const struct graph *g, graph_node *src, int n,
                         int logging)
{
    for (int i = 0; i < n; i++) {
        src[i] = graph_source_next(sp, g);
        if (logging)
            printf("%-14s%14lld\n", "Source:", (long long)src[i]);
    }
}

static int refuse(const struct kernel *k, const struct graph *g, const struct graph_cli *c)
{
    if (k->undirected && g->directed) {
        fprintf(stderr, "cxl_graph: %s needs an undirected graph (-s symmetrizes one)\n", k->name);
        return 1;
    }
    if (!k->weighted && g->weighted) { /* the pairs are not a list of ids */
        fprintf(stderr, "cxl_graph: %s takes an unweighted graph; this one is weighted (published or read "
                        "for sssp)\n", k->name);
        return 1;
    }
    if (k->weighted && !g->weighted) {
        fprintf(stderr, "cxl_graph: %s needs a weighted graph (-f FILE.wsg, .wel or .gr, or -g/-u)\n",
                k->name);
        return 1;
    }
    if (k->sources && g->m == 0 && c->source < 0) {
        fprintf(stderr, "cxl_graph: %s: the graph has no edges to pick a source from (-r)\n", k->name);
        return 1;
    }
    return 0;
}

static int run_kernel(const struct kernel *k, const struct graph *g, const struct graph_cli *c,
                      const struct graph_run_ctl *ctl, struct graph_run_result *res)
{
    int nsrc = k->sources < 0 ? (c->iters ? c->iters : 1) : k->sources;
    graph_node *src = malloc((size_t)(nsrc ? nsrc : 1) * sizeof *src);
    graph_node *vsrc = malloc((size_t)(nsrc ? nsrc : 1) * sizeof *vsrc);
    struct graph_source_picker sp, vsp;
    struct trials tl = {0};
    int stopped = 0, oom = !src || !vsrc || trials_init(&tl, c, ctl) != 0;
    graph_source_init(&sp, c->source);
    graph_source_init(&vsp, c->source);
    for (int t = 0; !oom && t < c->trials && !stopped; t++) {
        pick_sources(&sp, g, src, nsrc, c->logging);
        double t0 = omp_get_wtime();
        void *result = k->run(g, c, src, nsrc);
        double dt = omp_get_wtime() - t0;
        if (!result) {
            oom = 1;
            break;
        }
        stopped = trial_done(&tl, dt, k->edges ? k->edges(g, result) : 0);
        if (c->analysis && t == c->trials - 1 && !stopped)
            k->analyze(g, result);
        if (c->verify && !stopped) {
            pick_sources(&vsp, g, vsrc, nsrc, 0);
            t0 = omp_get_wtime();
            int ok = k->verify(g, c, vsrc, nsrc, result);
            trial_verified(&tl, ok, omp_get_wtime() - t0);
        }
        free(result);
    }
    free(src);
    free(vsrc);
    if (oom) {
        fprintf(stderr, "cxl_graph: %s: out of memory for %lld nodes\n", k->name, (long long)g->n);
        free(tl.res.times);
        return 1;
    }
    return trials_end(&tl, stopped, res);
}

/* rc, or 1 with the message when a checked graph's kernel met a bad element */
static int unless_faulted(const struct graph *g, int rc)
{
    char err[256];
    if (!graph_fault_message(g, err, sizeof err))
        return rc;
    fprintf(stderr, "cxl_graph: %s\n", err);
    return 1;
}

/* FNV-1a of the arrays (the same graph gives the same sum in every mode). */
static void print_checksum(const struct graph *g)
{
    size_t neigh = g->weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    struct { const void *p; size_t bytes; } parts[] = {
        {g->out_index, (size_t)(g->n + 1) * sizeof(graph_offset)}, {g->out_neigh, (size_t)g->m * neigh},
        {g->in_index, (size_t)(g->n + 1) * sizeof(graph_offset)}, {g->in_neigh, (size_t)g->m * neigh}};
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < (g->directed ? 4 : 2); i++)
        for (size_t b = 0; b < parts[i].bytes; b++)
            h = (h ^ ((const uint8_t *)parts[i].p)[b]) * 0x100000001b3ull;
    printf("Graph checksum:      %016llx\n", (unsigned long long)h);
}

int graph_run(const struct graph *g, const struct graph_cli *c, const struct graph_run_ctl *ctl,
              struct graph_run_result *res)
{
    char err[512];
    if (c->analysis)
        print_checksum(g);
    if (c->source >= g->n) {
        fprintf(stderr, "cxl_graph: -r: node %lld is not in the graph (%lld nodes)\n",
                (long long)c->source, (long long)g->n);
        return 2;
    }
    if (strcmp(c->kernel, "convert") == 0) {
        if (!c->out_sg) {
            fprintf(stderr, "cxl_graph: convert needs -b FILE.sg\n");
            return 2;
        }
        if (graph_write_sg(g, c->out_sg, err, sizeof(err)) != 0) {
            fprintf(stderr, "cxl_graph: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (strcmp(c->kernel, "bfs") == 0) {
        if (g->m == 0 && c->source < 0) {
            fprintf(stderr, "cxl_graph: bfs: the graph has no edges to pick a source from (-r)\n");
            return 1;
        }
        if (g->weighted) {
            fprintf(stderr, "cxl_graph: bfs: %s is weighted; bfs takes .sg (or a text edge list)\n",
                    c->file);
            return 1;
        }
        return unless_faulted(g, run_bfs(g, c, ctl, res));
    }
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        if (strcmp(c->kernel, kernels[i].name) == 0)
            return refuse(&kernels[i], g, c) ? 1 : unless_faulted(g, run_kernel(&kernels[i], g, c, ctl, res));
    fprintf(stderr, "cxl_graph: unknown kernel '%s'\n", c->kernel);
    return 2;
}
