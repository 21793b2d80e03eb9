/* bench.c - GAPBS's benchmark driver: build or read the graph (printing
 * "Generate Time:", "Read Time:", "Build Time:" and "Graph has N nodes and M
 * (un)directed edges for degree: D"), then the kernel's trials ("Trial
 * Time:", with -v "Verification:" and "Verification Time:", then "Average
 * Time:"), sources picked as GAPBS picks them; the convert kernel writes
 * the graph (-b FILE). */
#include "graph.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_time(const char *label, double s)
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
    /* weights only for the kernels that use them (and convert to a .wsg) */
    el.weighted = el.weighted && (strcmp(c->kernel, "sssp") == 0 ||
                                  c->weighted_out || (c->out_sg && strstr(c->out_sg, ".wsg")));
    print_time(c->file ? "Read Time" : "Generate Time", omp_get_wtime() - t0);
    t0 = omp_get_wtime();
    /* n = largest id + 1, as GAPBS; generated graphs are undirected */
    int rc = graph_build(g, &el, c->file && !c->symmetrize, 0, err, errlen);
    free(el.e);
    if (rc == 0)
        print_time("Build Time", omp_get_wtime() - t0);
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
        print_time("Read Time", omp_get_wtime() - t0);
    printf("Graph has %lld nodes and %lld %sdirected edges for degree: %lld\n", (long long)g->n,
           (long long)graph_edges(g), g->directed ? "" : "un",
           (long long)(g->n ? graph_edges(g) / g->n : 0));
    return 0;
}

/* -a: how many nodes the tree reaches and its depth (walking up the parents). */
static void bfs_analysis(const struct graph *g, const graph_node *parent)
{
    int64_t reached = 0, max_depth = 0;
    for (int64_t u = 0; u < g->n; u++) {
        if (parent[u] < 0)
            continue;
        int64_t d = 0;
        for (graph_node v = (graph_node)u; parent[v] != v && d <= g->n; v = parent[v])
            d++;
        reached++;
        max_depth = d > max_depth ? d : max_depth;
    }
    printf("BFS Tree has %lld nodes and depth %lld\n", (long long)reached, (long long)max_depth);
}

static int run_bfs(const struct graph *g, const struct graph_cli *c)
{
    struct graph_source_picker sp, vsp;
    graph_node *parent = malloc((size_t)(g->n ? g->n : 1) * sizeof(*parent));
    double total = 0;
    int failures = 0;
    if (!parent) {
        fprintf(stderr, "cxl_graph: out of memory for %lld nodes\n", (long long)g->n);
        return 1;
    }
    graph_source_init(&sp, c->source);
    graph_source_init(&vsp, c->source);
    for (int t = 0; t < c->trials; t++) {
        graph_node s = graph_source_next(&sp, g);
        if (c->logging)
            printf("%-14s%14lld\n", "Source:", (long long)s);
        double t0 = omp_get_wtime();
        graph_bfs(g, s, parent, c->logging);
        double dt = omp_get_wtime() - t0;
        total += dt;
        print_time("Trial Time", dt);
        if (c->analysis && t == 0)
            bfs_analysis(g, parent);
        if (c->verify) {
            t0 = omp_get_wtime();
            int ok = graph_bfs_verify(g, graph_source_next(&vsp, g), parent);
            failures += !ok;
            print_label("Verification", ok ? "PASS" : "FAIL");
            print_time("Verification Time", omp_get_wtime() - t0);
        }
    }
    print_time("Average Time", total / c->trials);
    free(parent);
    return failures ? 1 : 0;
}

int graph_run(const struct graph *g, const struct graph_cli *c)
{
    char err[512];
    if (c->source >= g->n) {
        fprintf(stderr, "cxl_graph: -r: node %lld is not in the graph (%lld nodes)\n",
                (long long)c->source, (long long)g->n);
        return 2;
    }
    if (c->mode[0]) {
        fprintf(stderr, "cxl_graph: mode '%s' (from the program's name) is not built yet; "
                        "run it as %s\n", c->mode, c->kernel);
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
        return run_bfs(g, c);
    }
    fprintf(stderr, "cxl_graph: kernel %s is not built into this cxl_graph yet\n", c->kernel);
    return 2;
}
