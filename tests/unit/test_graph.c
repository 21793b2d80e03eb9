/* test_graph.c - cxl_graph's core without its main: the random engines
 * (the C++ standard's 10000th outputs of std::mt19937 and std::mt19937_64),
 * the builder's rules (self loops and duplicates dropped, lists sorted,
 * symmetrized or transposed), the generator's independence from the thread
 * count, BFS against its verifier, and the verifier catching bad trees;
 * the weights of generated graphs and the sources picked on a graph of
 * 16381 nodes, known answers taken from GAPBS b5e3e19's outputs. */
#include <omp.h>

#include "check.h"
#include "graph.h"

static void test_engines(void)
{
    struct graph_rng r;
    struct graph_rng64 r64;
    uint32_t x = 0;
    uint64_t y = 0;
    graph_rng_seed(&r, 5489u);
    for (int i = 0; i < 10000; i++)
        x = graph_rng_next(&r);
    CHECK_EQ(x, 4123659995u); /* [rand.predef]: mt19937 */
    graph_rng64_seed(&r64, 5489u);
    for (int i = 0; i < 10000; i++)
        y = graph_rng64_next(&r64);
    CHECK(y == 9981545732273789042ull); /* [rand.predef]: mt19937_64 */
    for (int i = 0; i < 1000; i++) {
        int64_t v = graph_rng_int(&r, 3, 9), w = graph_rng64_int(&r64, 0, 6);
        CHECK(v >= 3 && v <= 9);
        CHECK(w >= 0 && w <= 6);
        CHECK(graph_rng_lemire(&r, 7) < 7);
    }
}

static void build(struct graph *g, const int (*e)[2], int len, int directed)
{
    struct graph_edges el = {.max_node = -1};
    char err[256];
    for (int i = 0; i < len; i++)
        CHECK_EQ(graph_edges_push(&el, e[i][0], e[i][1], 1), 0);
    CHECK_EQ(graph_build(g, &el, directed, 0, err, sizeof(err)), 0);
    free(el.e);
}

static void test_builder(void)
{
    static const int e[][2] = {{2, 0}, {0, 2}, {0, 2}, {1, 1}, {3, 0}, {0, 1}, {3, 3}};
    struct graph g;
    build(&g, e, 7, 0);
    CHECK_EQ(g.n, 4);
    CHECK_EQ(graph_edges(&g), 3); /* 0-1 0-2 0-3 */
    CHECK_EQ(graph_out_degree(&g, 0), 3);
    CHECK_EQ(graph_out(&g, 0)[0], 1);
    CHECK_EQ(graph_out(&g, 0)[2], 3);
    CHECK_EQ(graph_out_degree(&g, 1), 1);
    CHECK(g.in_index == g.out_index);
    graph_free(&g);
    build(&g, e, 7, 1);
    CHECK_EQ(g.m, 4); /* 2->0 0->2 3->0 0->1 */
    CHECK_EQ(graph_out_degree(&g, 0), 2);
    CHECK_EQ(graph_in_degree(&g, 0), 2);
    CHECK_EQ(graph_in(&g, 0)[0], 2);
    CHECK_EQ(graph_in(&g, 0)[1], 3);
    CHECK_EQ(graph_in_degree(&g, 3), 0);
    graph_free(&g);
}

/* A long list (the builder's quicksort, not only its insertion sort):
 * 5000 random targets of node 0, many repeated, some 0 itself. */
static void test_builder_long_list(void)
{
    struct graph_edges el = {.max_node = -1};
    struct graph_rng r;
    struct graph g;
    char err[256];
    static uint8_t seen[700];
    int distinct = 0;
    graph_rng_seed(&r, 7);
    for (int i = 0; i < 5000; i++) {
        graph_node v = (graph_node)graph_rng_int(&r, 0, 699);
        CHECK_EQ(graph_edges_push(&el, 0, v, 1), 0);
        if (v != 0 && !seen[v]++)
            distinct++;
    }
    CHECK_EQ(graph_build(&g, &el, 1, 0, err, sizeof(err)), 0);
    CHECK_EQ(graph_out_degree(&g, 0), distinct);
    for (int64_t k = 1; k < graph_out_degree(&g, 0); k++)
        CHECK(graph_out(&g, 0)[k - 1] < graph_out(&g, 0)[k]);
    CHECK(graph_out(&g, 0)[0] > 0);
    free(el.e);
    graph_free(&g);
}

static void test_generator_threads(void)
{
    struct graph_edges a, b;
    char err[256];
    omp_set_num_threads(1);
    CHECK_EQ(graph_generate(&a, 11, 8, 0, err, sizeof(err)), 0);
    omp_set_num_threads(4);
    CHECK_EQ(graph_generate(&b, 11, 8, 0, err, sizeof(err)), 0);
    CHECK_EQ(a.len, b.len);
    CHECK(memcmp(a.e, b.e, (size_t)a.len * sizeof(*a.e)) == 0);
    free(a.e);
    free(b.e);
}

/* The weighted CSR of -g 10 / -u 10 as GAPBS's `converter -w -b` writes it:
 * node 0's first neighbours {v, w}, then over the m {v, w} pairs in order the
 * sum of the weights and the sum of (i + 1) * w_i. */
static void check_weights(int scale, int uniform, int64_t m, const int (*first)[2], int nfirst,
                          int64_t sum, int64_t possum)
{
    struct graph_edges el;
    struct graph g;
    char err[256];
    CHECK_EQ(graph_generate(&el, scale, 16, uniform, err, sizeof(err)), 0);
    graph_generate_weights(&el);
    CHECK_EQ(el.weighted, 1);
    CHECK_EQ(graph_build(&g, &el, 0, 0, err, sizeof(err)), 0);
    free(el.e);
    CHECK_EQ(g.weighted, 1);
    CHECK_EQ(g.m, m);
    CHECK(graph_out_degree(&g, 0) >= nfirst);
    for (int i = 0; i < nfirst && i < graph_out_degree(&g, 0); i++) {
        CHECK_EQ(graph_wout(&g, 0)[i].v, first[i][0]);
        CHECK_EQ(graph_wout(&g, 0)[i].w, first[i][1]);
    }
    const struct graph_wnode *all = g.out_neigh;
    int64_t s = 0, ps = 0, lo = 255, hi = 1;
    for (int64_t i = 0; i < g.m; i++) {
        s += all[i].w;
        ps += (i + 1) * all[i].w;
        lo = all[i].w < lo ? all[i].w : lo;
        hi = all[i].w > hi ? all[i].w : hi;
    }
    CHECK_EQ(s, sum);
    CHECK_EQ(ps, possum);
    CHECK_EQ(lo, 1);
    CHECK_EQ(hi, 255);
    graph_free(&g);
}

static void test_generated_weights(void)
{
    static const int g10[][2] = {{164, 218}, {871, 19}, {995, 33}};
    static const int u10[][2] = {{28, 175}, {112, 65}, {152, 94}, {154, 154}, {167, 200}};
    check_weights(10, 0, 20992, g10, 3, 2406752, 25323424370ll);
    check_weights(10, 1, 32250, u10, 5, 4101898, 66068102135ll);
}

/* -g 14 has 16381 nodes: GAPBS draws sources from the low 32 bits of its
 * mt19937_64 (the full 64-bit draw would give 10368 15645 ...). */
static void test_sources_not_power_of_two(void)
{
    struct graph_edges el;
    struct graph g;
    char err[256];
    static const graph_node want[] = {1598, 15861, 13585, 16324};
    CHECK_EQ(graph_generate(&el, 14, 16, 0, err, sizeof(err)), 0);
    CHECK_EQ(graph_build(&g, &el, 0, 0, err, sizeof(err)), 0);
    free(el.e);
    CHECK_EQ(g.n, 16381);
    struct graph_source_picker sp;
    graph_source_init(&sp, -1);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(graph_source_next(&sp, &g), want[i]);
    graph_free(&g);
}

static void test_bfs(void)
{
    struct graph_edges el;
    struct graph g;
    char err[256];
    CHECK_EQ(graph_generate(&el, 12, 16, 0, err, sizeof(err)), 0);
    CHECK_EQ(graph_build(&g, &el, 0, 0, err, sizeof(err)), 0);
    free(el.e);
    graph_node *parent = malloc((size_t)g.n * sizeof(*parent));
    struct graph_source_picker sp;
    graph_source_init(&sp, -1);
    for (int t = 0; t < 4; t++) {
        graph_node s = graph_source_next(&sp, &g);
        graph_bfs(&g, s, parent, 0);
        CHECK(graph_bfs_verify(&g, s, parent));
    }
    /* a wrong tree: a reached node made unreached, a parent that is no neighbour */
    graph_node s = graph_source_next(&sp, &g), u = graph_out(&g, s)[0];
    graph_bfs(&g, s, parent, 0);
    parent[u] = -1;
    CHECK(!graph_bfs_verify(&g, s, parent));
    graph_bfs(&g, s, parent, 0);
    parent[s] = u;
    CHECK(!graph_bfs_verify(&g, s, parent));
    free(parent);
    graph_free(&g);
}

int main(void)
{
    test_engines();
    test_builder();
    test_builder_long_list();
    test_generator_threads();
    test_bfs();
    test_generated_weights();
    test_sources_not_power_of_two();
    return check_summary("test_graph");
}
