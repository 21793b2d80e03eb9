/* graph_kernels.c - the kernels of src/graph/kernels.h and their verifiers:
 * small hand-written graphs with known answers (a path, a star, a triangle
 * and an isolated node, several components, a directed graph, weighted
 * graphs with a shorter two-hop path), random graphs under the verifiers,
 * and each verifier shown a wrong answer. The CSRs are built here, from
 * edge lists (self loops and duplicates dropped, lists sorted, symmetrised
 * unless directed), so the test does not depend on the builder.
 * Checked graphs (zero-copy, graph.h): every kernel and verifier on a
 * neighbour id >= n, a negative one, a negative or huge weight, unsorted
 * and duplicated lists, and lists another thread keeps rewriting: each run
 * ends, the first fault is reported with its message, nothing reads out of
 * bounds (the ASan+UBSan build). */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph/kernels.h"

struct edge {
    graph_node u, v;
    graph_weight w;
};

struct tgraph {
    struct graph g;
    graph_offset *out_index, *in_index;
    void *out_neigh, *in_neigh;
};

static int by_ends(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;
    if (x->u != y->u)
        return x->u < y->u ? -1 : 1;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->w > y->w) - (x->w < y->w);
}

/* One direction's CSR from edges (sorted in place, deduplicated). */
static void csr(struct edge *e, int64_t ne, int64_t n, int weighted, graph_offset **index,
                void **neigh, int64_t *m)
{
    qsort(e, (size_t)ne, sizeof *e, by_ends);
    int64_t k = 0;
    for (int64_t i = 0; i < ne; i++)
        if (e[i].u != e[i].v && (k == 0 || e[k - 1].u != e[i].u || e[k - 1].v != e[i].v))
            e[k++] = e[i];
    *index = calloc((size_t)n + 1, sizeof(graph_offset));
    *neigh = malloc((size_t)(k ? k : 1) * (weighted ? sizeof(struct graph_wnode) : sizeof(graph_node)));
    for (int64_t i = 0; i < k; i++) {
        (*index)[e[i].u + 1]++;
        if (weighted)
            ((struct graph_wnode *)*neigh)[i] = (struct graph_wnode){e[i].v, e[i].w};
        else
            ((graph_node *)*neigh)[i] = e[i].v;
    }
    for (int64_t u = 0; u < n; u++)
        (*index)[u + 1] += (*index)[u];
    *m = k;
}

static struct tgraph *build(int64_t n, const struct edge *edges, int64_t ne, int directed,
                            int weighted)
{
    struct tgraph *t = calloc(1, sizeof *t);
    struct edge *e = malloc(sizeof *e * (size_t)(2 * ne + 1));
    int64_t k = 0;
    for (int64_t i = 0; i < ne; i++) {
        e[k++] = edges[i];
        if (!directed)
            e[k++] = (struct edge){edges[i].v, edges[i].u, edges[i].w};
    }
    csr(e, k, n, weighted, &t->out_index, &t->out_neigh, &t->g.m);
    t->g = (struct graph){n, t->g.m, directed, weighted, t->out_index, t->out_neigh,
                          t->out_index, t->out_neigh, NULL};
    if (directed) {
        int64_t m_in;
        for (int64_t i = 0; i < ne; i++)
            e[i] = (struct edge){edges[i].v, edges[i].u, edges[i].w};
        csr(e, ne, n, weighted, &t->in_index, &t->in_neigh, &m_in);
        t->g.in_index = t->in_index, t->g.in_neigh = t->in_neigh;
    }
    free(e);
    return t;
}

static void drop(struct tgraph *t)
{
    free(t->out_index), free(t->in_index), free(t->out_neigh), free(t->in_neigh), free(t);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* ne random edges; skewed: both ends drawn with a bias to low ids. */
static struct tgraph *random_graph(int64_t n, int64_t ne, int directed, int weighted,
                                   int skewed)
{
    struct edge *e = malloc(sizeof *e * (size_t)ne);
    for (int64_t i = 0; i < ne; i++) {
        graph_node u = (graph_node)(next_random() % (uint64_t)n);
        graph_node v = (graph_node)(next_random() % (uint64_t)n);
        if (skewed) {
            u = (graph_node)(next_random() % (1 + next_random() % (uint64_t)(1 + u)));
            v = (graph_node)(next_random() % (1 + next_random() % (uint64_t)(1 + v)));
        }
        e[i] = (struct edge){u, v, (graph_weight)(1 + next_random() % 255)};
    }
    struct tgraph *t = build(n, e, ne, directed, weighted);
    free(e);
    return t;
}

#define E(a, b) {a, b, 1}
#define W(a, b, w) {a, b, w}
#define BUILD(n, list, directed, weighted) \
    build(n, list, (int64_t)(sizeof list / sizeof list[0]), directed, weighted)

static double sum(const double *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

static int64_t count_labels(const graph_node *comp, int64_t n)
{
    int64_t k = 0;
    for (int64_t u = 0; u < n; u++)
        k += comp[u] == comp[comp[u]] && comp[u] == (graph_node)u; /* a root names itself */
    return k;
}

/* Both PageRanks: verified, and the sum of the scores near 1 when no node
 * is dangling (a dangling node leaks its score). */
static void check_pr(const struct graph *g, int dangling)
{
    double *a = graph_pr(g, 100, 1e-9), *b = graph_pr_spmv(g, 100, 1e-9);
    CHECK(a && graph_verify_pr(g, a, 1e-6));
    CHECK(b && graph_verify_pr(g, b, 1e-6));
    if (!dangling) {
        CHECK(a && fabs(sum(a, g->n) - 1.0) < 1e-6);
        CHECK(b && fabs(sum(b, g->n) - 1.0) < 1e-6);
    }
    free(a), free(b);
    /* the defaults: Gauss-Seidel converges within them on these graphs
     * (Jacobi on a bipartite path needs more than 20 iterations) */
    a = graph_pr(g, GRAPH_PR_MAX_ITERS, GRAPH_PR_TOLERANCE);
    CHECK(a && graph_verify_pr(g, a, GRAPH_PR_TOLERANCE * 10));
    free(a);
}

/* Both CCs verified; their number of components when want >= 0. */
static void check_cc(const struct graph *g, int64_t want)
{
    graph_node *a = graph_cc(g), *b = graph_cc_sv(g);
    CHECK(a && graph_verify_cc(g, a));
    CHECK(b && graph_verify_cc(g, b));
    if (want >= 0 && a && b) {
        CHECK_EQ(count_labels(a, g->n), want);
        CHECK_EQ(count_labels(b, g->n), want);
    }
    free(a), free(b);
}

static void check_tc(const struct graph *g, int64_t want)
{
    uint64_t plain = graph_tc_ordered(g, 0), relabelled = graph_tc_ordered(g, 1);
    CHECK(graph_verify_tc(g, plain));
    CHECK(graph_verify_tc(g, relabelled));
    CHECK(graph_verify_tc(g, graph_tc(g)));
    if (want >= 0)
        CHECK_EQ(plain, want);
}

static double *check_bc(const struct graph *g, const graph_node *src, int nsrc)
{
    double *s = graph_bc(g, src, nsrc);
    CHECK(s && graph_verify_bc(g, src, nsrc, s));
    return s;
}

static void known_path(void)
{
    struct edge e[] = {E(0, 1), E(1, 2), E(2, 3), E(3, 4)};
    struct tgraph *t = BUILD(5, e, 0, 0);
    check_pr(&t->g, 0);
    check_cc(&t->g, 1);
    check_tc(&t->g, 0);
    graph_node src[] = {0};
    double *bc = check_bc(&t->g, src, 1);
    /* from 0: node 1 is on 3 shortest paths, node 2 on 2, node 3 on 1 */
    CHECK(bc && bc[1] == 1.0 && fabs(bc[2] - 2.0 / 3) < 1e-12 && fabs(bc[3] - 1.0 / 3) < 1e-12 &&
          bc[0] == 0 && bc[4] == 0);
    free(bc);
    drop(t);
}

static void known_star(void)
{
    struct edge e[] = {E(0, 1), E(0, 2), E(0, 3), E(0, 4), E(0, 5)};
    struct tgraph *t = BUILD(6, e, 0, 0);
    check_pr(&t->g, 0);
    check_cc(&t->g, 1);
    check_tc(&t->g, 0);
    graph_node src[] = {1, 2, 3};
    double *bc = check_bc(&t->g, src, 3);
    CHECK(bc && bc[0] == 1.0 && bc[1] == 0 && bc[5] == 0);
    free(bc);
    double *pr = graph_pr(&t->g, 100, 1e-9);
    CHECK(pr && pr[0] > pr[1] && fabs(pr[1] - pr[5]) < 1e-9);
    free(pr);
    drop(t);
}

static void known_triangle_and_isolated(void)
{
    struct edge e[] = {E(0, 1), E(1, 2), E(2, 0), E(1, 0), E(2, 2)}; /* a duplicate, a self loop */
    struct tgraph *t = BUILD(4, e, 0, 0);
    CHECK_EQ(t->g.m, 6);
    check_pr(&t->g, 1);
    check_cc(&t->g, 2);
    check_tc(&t->g, 1);
    graph_node *c = graph_cc(&t->g);
    CHECK(c && c[0] == c[1] && c[1] == c[2] && c[3] != c[0]);
    free(c);
    drop(t);
}

static void known_components(void)
{
    /* a path 0-1-2, an edge 3-4, a K4 5..8, node 9 alone: 4 components, 4 triangles */
    struct edge e[] = {E(0, 1), E(1, 2), E(3, 4), E(5, 6), E(5, 7), E(5, 8),
                       E(6, 7), E(6, 8), E(7, 8)};
    struct tgraph *t = BUILD(10, e, 0, 0);
    check_cc(&t->g, 4);
    check_tc(&t->g, 4);
    check_pr(&t->g, 1);
    graph_node src[] = {0, 5, 9};
    free(check_bc(&t->g, src, 3));
    drop(t);
}

static void known_directed(void)
{
    /* 0->1->2, 3->2, 4 alone: weakly 2 components; 1 is on the only path through */
    struct edge e[] = {E(0, 1), E(1, 2), E(3, 2)};
    struct tgraph *t = BUILD(5, e, 1, 0);
    check_cc(&t->g, 2);
    check_pr(&t->g, 1);
    double *pr = graph_pr(&t->g, 100, 1e-12);
    CHECK(pr && sum(pr, 5) < 1.0 && pr[2] > pr[1] && pr[1] > pr[0]);
    free(pr);
    graph_node src[] = {0, 3};
    double *bc = check_bc(&t->g, src, 2);
    CHECK(bc && bc[1] == 1.0 && bc[0] == 0 && bc[2] == 0 && bc[3] == 0);
    free(bc);
    drop(t);
}

static void check_sssp(const struct graph *g, graph_node src, const int64_t *want)
{
    graph_weight deltas[] = {1, 2, 5, 1000};
    for (int i = 0; i < 4; i++) {
        graph_weight *d = graph_sssp(g, src, deltas[i]);
        CHECK(d && graph_verify_sssp(g, src, d));
        for (int64_t u = 0; d && want && u < g->n; u++)
            CHECK_EQ(d[u], want[u]);
        free(d);
    }
}

static void known_weighted(void)
{
    /* 0->1 costs 10, 0->2->1 costs 3 + 4; 1->3 1; 4 unreachable */
    struct edge e[] = {W(0, 1, 10), W(0, 2, 3), W(2, 1, 4), W(1, 3, 1)};
    struct tgraph *t = BUILD(5, e, 1, 1);
    int64_t want[] = {0, 7, 3, 8, GRAPH_DIST_INF};
    check_sssp(&t->g, 0, want);
    drop(t);
    /* undirected: from 3 back through 1, the two-hop 1-2-0 is shorter too */
    t = BUILD(5, e, 0, 1);
    int64_t want3[] = {8, 1, 5, 0, GRAPH_DIST_INF};
    check_sssp(&t->g, 3, want3);
    drop(t);
}

/* One node, no edge: every kernel's degenerate case. */
static void known_single_node(void)
{
    struct edge none[1] = {{0, 0, 1}}; /* a self loop: dropped */
    struct tgraph *t = build(1, none, 1, 0, 0);
    check_pr(&t->g, 1);
    check_cc(&t->g, 1);
    check_tc(&t->g, 0);
    graph_node src[] = {0};
    double *bc = check_bc(&t->g, src, 1);
    CHECK(bc && bc[0] == 0);
    free(bc);
    drop(t);
    t = build(1, none, 1, 0, 1);
    int64_t want[] = {0};
    check_sssp(&t->g, 0, want);
    drop(t);
}

/* Each verifier refuses a wrong answer. */
static void verifiers_refuse(void)
{
    fprintf(stderr, "(each verifier is shown a wrong answer: the refusals below are expected)\n");
    struct edge e[] = {W(0, 1, 2), W(1, 2, 2), W(2, 0, 5), W(3, 4, 1)};
    struct tgraph *t = BUILD(5, e, 0, 0);
    CHECK(!graph_verify_tc(&t->g, 0));
    graph_node comp[] = {0, 0, 0, 3, 4};
    CHECK(!graph_verify_cc(&t->g, comp)); /* edge 3-4 splits */
    graph_node comp2[] = {0, 0, 0, 0, 0};
    CHECK(!graph_verify_cc(&t->g, comp2)); /* one label for two components: wrong count */
    drop(t);
    t = BUILD(5, e, 0, 1);
    graph_weight dist[] = {0, 2, 4, GRAPH_DIST_INF, GRAPH_DIST_INF};
    CHECK(graph_verify_sssp(&t->g, 0, dist));
    dist[2] = 5;
    CHECK(!graph_verify_sssp(&t->g, 0, dist));
    drop(t);
    struct edge p[] = {E(0, 1), E(1, 2), E(2, 3)};
    t = BUILD(4, p, 0, 0);
    double *pr = graph_pr(&t->g, 100, 1e-12);
    CHECK(pr && graph_verify_pr(&t->g, pr, 1e-6));
    if (pr) {
        pr[0] += 1e-3;
        CHECK(!graph_verify_pr(&t->g, pr, 1e-4));
    }
    free(pr);
    graph_node src[] = {0};
    double *bc = graph_bc(&t->g, src, 1);
    if (bc) {
        bc[2] *= 1.001;
        CHECK(!graph_verify_bc(&t->g, src, 1, bc));
    }
    free(bc);
    drop(t);
}

/* Sources with out-edges, as cxl_graph picks them. */
static int pick_sources(const struct graph *g, graph_node *src, int k)
{
    int got = 0;
    for (int tries = 0; got < k && tries < 1000; tries++) {
        graph_node u = (graph_node)(next_random() % (uint64_t)g->n);
        if (graph_out_degree(g, u) > 0)
            src[got++] = u;
    }
    return got;
}

static void random_graphs(void)
{
    struct { int64_t n, ne; int directed, skewed; } cases[] = {
        {2000, 16000, 0, 0}, {2000, 16000, 1, 0}, {3000, 1500, 0, 0},
        {1500, 30000, 0, 1}, {1500, 30000, 1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct tgraph *t = random_graph(cases[c].n, cases[c].ne, cases[c].directed, 0,
                                        cases[c].skewed);
        check_pr(&t->g, 1);
        check_cc(&t->g, -1);
        if (!cases[c].directed) {
            check_tc(&t->g, -1);
            CHECK_EQ(graph_tc_worth_relabel(&t->g), cases[c].skewed);
        }
        graph_node src[4];
        int k = pick_sources(&t->g, src, 4);
        free(check_bc(&t->g, src, k));
        drop(t);
        t = random_graph(cases[c].n, cases[c].ne, cases[c].directed, 1, cases[c].skewed);
        check_sssp(&t->g, src[0], NULL);
        drop(t);
    }
}

/* --- checked graphs --------------------------------------------------- */

/* Every kernel and verifier once on g (sources: src; sssp when weighted, tc
 * when undirected); the verdicts are not looked at (a FAIL is allowed). */
static void run_all(const struct graph *g, graph_node src)
{
    if (g->weighted) {
        graph_weight *d = graph_sssp(g, src, 2);
        if (d)
            graph_verify_sssp(g, src, d);
        free(d);
        return;
    }
    graph_node *parent = malloc(sizeof(graph_node) * (size_t)g->n);
    graph_bfs(g, src, parent, 0);
    graph_bfs_verify(g, src, parent);
    free(parent);
    double *pr = graph_pr(g, 5, 1e-9), *spmv = graph_pr_spmv(g, 5, 1e-9);
    if (pr && spmv)
        graph_verify_pr(g, pr, 1e-4), graph_verify_pr(g, spmv, 1e-4);
    free(pr), free(spmv);
    graph_node *cc = graph_cc(g), *sv = graph_cc_sv(g);
    if (cc && sv)
        graph_verify_cc(g, cc), graph_verify_cc(g, sv);
    free(cc), free(sv);
    double *bc = graph_bc(g, &src, 1);
    if (bc)
        graph_verify_bc(g, &src, 1, bc);
    free(bc);
    if (!g->directed) {
        graph_verify_tc(g, graph_tc_ordered(g, 0));
        graph_verify_tc(g, graph_tc_ordered(g, 1));
    }
}

/* fault's message, after one kernel or verifier on a checked g */
static void check_fault(struct graph *g, struct graph_fault *f, const char *want,
                        const char *what)
{
    char msg[160] = "";
    int got = graph_fault_message(g, msg, sizeof msg);
    if (!got || strcmp(msg, want) != 0)
        fprintf(stderr, "%s: fault '%s', expected '%s'\n", what, got ? msg : "(none)", want);
    CHECK(got && strcmp(msg, want) == 0);
    memset(f, 0, sizeof *f);
}

/* Both PageRanks and the verifier report want (what: which list). */
static void check_pr_reports(struct graph *g, struct graph_fault *f, const char *want,
                             const char *what)
{
    char name[3][40];
    snprintf(name[0], sizeof name[0], "pr%s", what);
    snprintf(name[1], sizeof name[1], "pr_spmv%s", what);
    snprintf(name[2], sizeof name[2], "pr verify%s", what);
    free(graph_pr(g, 3, 0)), check_fault(g, f, want, name[0]);
    free(graph_pr_spmv(g, 3, 0)), check_fault(g, f, want, name[1]);
    double *pr = graph_pr(g, 3, 0);
    memset(f, 0, sizeof *f);
    graph_verify_pr(g, pr, 1), check_fault(g, f, want, name[2]);
    free(pr);
}

/* Each kernel, then each verifier, reports want: the bad element is in
 * src's list. */
static void each_reports(struct graph *g, struct graph_fault *f, graph_node src,
                         const char *want)
{
    graph_node *parent = malloc(sizeof(graph_node) * (size_t)g->n);
    graph_bfs(g, src, parent, 0), check_fault(g, f, want, "bfs");
    graph_bfs_verify(g, src, parent), check_fault(g, f, want, "bfs verify");
    free(parent);
    free(graph_cc(g)), check_fault(g, f, want, "cc");
    free(graph_cc_sv(g)), check_fault(g, f, want, "cc_sv");
    graph_node *cc = graph_singleton_labels(g->n);
    graph_verify_cc(g, cc), check_fault(g, f, want, "cc verify");
    free(cc);
    double *bc = graph_bc(g, &src, 1);
    check_fault(g, f, want, "bc");
    graph_verify_bc(g, &src, 1, bc), check_fault(g, f, want, "bc verify");
    free(bc);
    if (!g->directed) /* a directed graph's PageRank pulls over the in-lists only */
        check_pr_reports(g, f, want, "");
    if (!g->directed) {
        graph_tc_ordered(g, 0), check_fault(g, f, want, "tc");
        graph_tc_ordered(g, 1), check_fault(g, f, want, "tc relabelled");
        graph_verify_tc(g, 0), check_fault(g, f, want, "tc verify");
    }
}

static void bad_ids(int directed)
{
    struct tgraph *t = random_graph(500, 3000, directed, 0, 0);
    struct graph_fault f = {0};
    t->g.checked = 1, t->g.fault = &f;
    graph_node src = 0;
    while (graph_out_degree(&t->g, src) == 0 || graph_in_degree(&t->g, src) == 0)
        src++;
    graph_node *at = (graph_node *)t->out_neigh + t->out_index[src], keep = *at;
    graph_node bad[] = {500, 501, INT32_MAX, -1, -3, INT32_MIN};
    char want[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        *at = bad[i];
        snprintf(want, sizeof want, "graph region: OUT_NEIGH[%lld] = %d is not a node (n = 500)",
                 (long long)t->out_index[src], bad[i]);
        each_reports(&t->g, &f, src, want);
    }
    *at = keep;
    if (directed) { /* the in-lists: pr, pr_spmv and their verifier pull over them */
        at = (graph_node *)t->in_neigh + t->in_index[src];
        *at = -7;
        snprintf(want, sizeof want, "graph region: IN_NEIGH[%lld] = -7 is not a node (n = 500)",
                 (long long)t->in_index[src]);
        check_pr_reports(&t->g, &f, want, " in-list");
    }
    drop(t);
}

static void bad_weights(void)
{
    struct tgraph *t = random_graph(500, 3000, 1, 1, 0);
    struct graph_fault f = {0};
    t->g.checked = 1, t->g.fault = &f;
    graph_node src = 0;
    while (graph_out_degree(&t->g, src) == 0)
        src++;
    struct graph_wnode *at = (struct graph_wnode *)t->out_neigh + t->out_index[src];
    struct { graph_node v; graph_weight w; const char *fmt; } bad[] = {
        {1, -1, "graph region: OUT_NEIGH[%lld].w = -1 is not a weight in [0, 1073741823)"},
        {1, INT32_MIN, "graph region: OUT_NEIGH[%lld].w = -2147483648 is not a weight in [0, 1073741823)"},
        {1, INT32_MAX, "graph region: OUT_NEIGH[%lld].w = 2147483647 is not a weight in [0, 1073741823)"},
        {1, GRAPH_WEIGHT_LIMIT, "graph region: OUT_NEIGH[%lld].w = 1073741823 is not a weight in [0, 1073741823)"},
        {600, 3, "graph region: OUT_NEIGH[%lld] = 600 is not a node (n = 500)"},
        {-2, 3, "graph region: OUT_NEIGH[%lld] = -2 is not a node (n = 500)"},
    };
    char want[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at->v = bad[i].v, at->w = bad[i].w;
        snprintf(want, sizeof want, bad[i].fmt, (long long)t->out_index[src]);
        graph_weight *d = graph_sssp(&t->g, src, 1);
        check_fault(&t->g, &f, want, "sssp");
        CHECK(d != NULL);
        graph_verify_sssp(&t->g, src, d), check_fault(&t->g, &f, want, "sssp verify");
        free(d);
    }
    /* a large weight that is allowed: far buckets share the last one */
    at->v = 1, at->w = GRAPH_WEIGHT_LIMIT - 1;
    graph_weight *d = graph_sssp(&t->g, src, 1);
    CHECK(d && graph_verify_sssp(&t->g, src, d) && !graph_faulted(&t->g));
    free(d);
    drop(t);
}

/* Every list shuffled, a third of the entries copies of another: valid ids,
 * so no fault, and every kernel and verifier ends. */
static void unsorted_duplicated(int directed, int weighted)
{
    struct tgraph *t = random_graph(400, 4000, directed, weighted, 1);
    struct graph_fault f = {0};
    t->g.checked = 1, t->g.fault = &f;
    size_t size = weighted ? sizeof(struct graph_wnode) : sizeof(graph_node);
    char *e = t->out_neigh;
    for (int64_t i = t->g.m - 1; i > 0; i--) {
        int64_t j = (int64_t)(next_random() % (uint64_t)(i + 1));
        char tmp[sizeof(struct graph_wnode)];
        memcpy(tmp, e + i * size, size), memcpy(e + i * size, e + j * size, size);
        memcpy(e + j * size, tmp, size);
        if (next_random() % 3 == 0)
            memcpy(e + i * size, e + (i - 1) * size, size);
    }
    graph_node src = 0;
    while (graph_out_degree(&t->g, src) == 0)
        src++;
    run_all(&t->g, src);
    char msg[160];
    CHECK(!graph_fault_message(&t->g, msg, sizeof msg));
    drop(t);
}

struct flipper {
    int32_t *words;
    int64_t len;
    int stop;
    uint64_t rng;
};

/* Rewrite random words of the neighbour array (ids and weights alike) with
 * anything: a valid id, an id past n, a negative one, a random word. */
static void *flip(void *arg)
{
    struct flipper *fl = arg;
    while (!__atomic_load_n(&fl->stop, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 64; i++) {
            fl->rng ^= fl->rng << 13, fl->rng ^= fl->rng >> 7, fl->rng ^= fl->rng << 17;
            int64_t k = (int64_t)(fl->rng % (uint64_t)fl->len);
            uint32_t r = (uint32_t)(fl->rng >> 32);
            int32_t x = (r & 3) == 0 ? (int32_t)(r % 300) : (r & 3) == 1 ? 300 + (int32_t)(r % 9)
                      : (r & 3) == 2 ? -(int32_t)(r % 5) - 1 : (int32_t)r;
            __atomic_store_n(&fl->words[k], x, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

/* Kernels and verifiers again and again on lists a thread keeps rewriting,
 * for 0.3 s: each must end, nothing out of bounds. */
static void flipping(int directed, int weighted)
{
    struct tgraph *t = random_graph(300, 3000, directed, weighted, 0);
    struct graph_fault f = {0};
    t->g.checked = 1, t->g.fault = &f;
    struct flipper fl = {t->out_neigh, t->g.m * (weighted ? 2 : 1), 0, 0x853c49e6748fea9bull};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, flip, &fl), 0);
    double until = omp_get_wtime() + 0.3;
    int runs = 0;
    graph_node src = 0;
    while (graph_out_degree(&t->g, src) == 0)
        src++;
    while (omp_get_wtime() < until) {
        run_all(&t->g, src);
        memset(&f, 0, sizeof f);
        runs++;
    }
    __atomic_store_n(&fl.stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    CHECK(runs > 0);
    drop(t);
}

static void checked_graphs(void)
{
    bad_ids(0);
    bad_ids(1);
    bad_weights();
    unsorted_duplicated(0, 0);
    unsorted_duplicated(1, 0);
    unsorted_duplicated(1, 1);
    flipping(0, 0);
    flipping(1, 0);
    flipping(1, 1);
}

int main(void)
{
    for (int threads = 1; threads <= 4; threads *= 2) {
        omp_set_num_threads(threads);
        known_path();
        known_star();
        known_triangle_and_isolated();
        known_components();
        known_directed();
        known_weighted();
        known_single_node();
        verifiers_refuse();
        random_graphs();
        checked_graphs();
    }
    return check_summary("graph_kernels");
}
