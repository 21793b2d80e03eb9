/* keyring_threads.c - one keyring shared by several threads, as
 * `cxl_ring_direct --threads N --secure` shares it: each connection's
 * heartbeat thread fetches its ring's keys when they are due, through the
 * keyring's one channel to cxl_sec_mgr. Fetches from four threads at once
 * must each get their ring's keys (a real cxl_sec_mgr, refresh 1 s).
 * Then the keys of a range region by name (cxl_keyring_region_keys, a
 * published graph), from the same manager: every granted node (rw or serve)
 * gets the same region key, a node without a grant `no-grant`; after a
 * revoke the others get a new epoch without grace and the revoked node
 * `revoked`. Crypto mode: the same key from the same secret file, another
 * for another name.
 * Usage: keyring_threads BUILD_DIR */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "sec_harness.h"
#include "cxl/keyring.h"
#include "cxl/wait.h"

#define THREADS 4
#define FETCHES 150

static struct cxl_keyring *kr;

static void *fetcher(void *arg)
{
    uint32_t ring = (uint32_t)(uintptr_t)arg;
    uintptr_t failed = 0;
    for (int i = 0; i < FETCHES; i++) {
        struct cxl_ring_keys k;
        if (cxl_keyring_fetch(kr, ring) != 0 || cxl_keyring_lookup(kr, ring, &k) != 0) {
            if (!failed)
                fprintf(stderr, "  ring %u, fetch %d: %s\n", ring, i, cxl_last_error());
            failed++;
            continue;
        }
        cxl_ring_keys_wipe(&k);
    }
    return (void *)failed;
}

/* Nodes 2 and 3 are granted the range region graph rw, node 4 serve; node
 * 1 (the threads' client) has rings only. */
#define GRAPH_NODES 3
static const char *const graph_node[GRAPH_NODES] = {"pub-a", "pub-b", "graph-srv"};
static const char *const graph_mode[GRAPH_NODES] = {"rw", "rw", "serve"};

static int provision(struct sec_mgr *m, char *client_key, char graph_key[][300])
{
    int rc = sec_provision(m, THREADS, 1) | sec_add_node(m, 1, "client", client_key, 300);
    rc |= sec_append(m, "region graph range 0x10000000 0x08000000\n");
    for (int r = 0; r < THREADS; r++) {
        char region[16];
        snprintf(region, sizeof region, "ring%d", r);
        rc |= sec_add_grant(m, "client", region, "rw");
    }
    for (unsigned i = 0; i < GRAPH_NODES; i++)
        rc |= sec_add_node(m, 2 + i, graph_node[i], graph_key[i], 300) |
              sec_add_grant(m, graph_node[i], "graph", graph_mode[i]);
    return rc;
}

static void threads_fetch(void)
{
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, fetcher, (void *)i), 0);
    uintptr_t failed = 0;
    for (int i = 0; i < THREADS; i++) {
        void *f;
        pthread_join(t[i], &f);
        failed += (uintptr_t)f;
    }
    printf("%d threads x %d fetches on one keyring: %lu failed\n", THREADS, FETCHES, (unsigned long)failed);
    CHECK_EQ(failed, 0);
}

static int same_keys(const struct cxl_ring_keys *a, const struct cxl_ring_keys *b)
{
    return a->epoch == b->epoch && a->binding == b->binding && a->has_prev == b->has_prev &&
           sodium_memcmp(a->key, b->key, 32) == 0;
}

/* Every granted node's keys of graph, in g[]; all the same region key. */
static void graph_keys(struct cxl_keyring **gkr, struct cxl_ring_keys *g)
{
    for (int i = 0; i < GRAPH_NODES; i++) {
        CHECK_EQ(cxl_keyring_region_keys(gkr[i], "graph", &g[i]), 0);
        CHECK_EQ(g[i].binding, CXL_KEYS_REGION);
        CHECK(g[i].expires_ns > cxl_now_ns() && g[i].expires_ns < cxl_now_ns() + 2000000000ull);
        CHECK(same_keys(&g[0], &g[i]));
    }
}

static void range_region(struct sec_mgr *m, struct cxl_keyring **gkr)
{
    struct cxl_ring_keys g[GRAPH_NODES], before, k;
    graph_keys(gkr, g);
    CHECK(g[0].epoch >= 1 && !g[0].has_prev);
    before = g[0];
    CHECK_FAILS(cxl_keyring_region_keys(kr, "graph", &k), CXL_EDENIED, "region graph: no-grant");
    CHECK_FAILS(cxl_keyring_region_keys(gkr[0], "nosuch", &k), CXL_EDENIED, "region nosuch: unknown-region");
    CHECK_FAILS(cxl_keyring_region_keys(gkr[0], "9graph", &k), CXL_EINVAL, "not a region name");
    CHECK(sec_count_lines(m->audit, "grant node=3(pub-b) region=graph") >= 1);
    CHECK(sec_count_lines(m->audit, "refuse node=1(client) region=graph reason=no-grant") == 1);
    char out[512];
    CHECK_EQ(sec_revoke(m, "pub-b", out, sizeof out), 0);
    CHECK_FAILS(cxl_keyring_region_keys(gkr[1], "graph", &k), CXL_EDENIED, "region graph: revoked");
    CHECK_EQ(cxl_keyring_region_keys(gkr[0], "graph", &g[0]), 0);
    CHECK_EQ(cxl_keyring_region_keys(gkr[2], "graph", &g[2]), 0);
    CHECK_EQ(g[0].epoch, before.epoch + 1);
    CHECK(!g[0].has_prev && sodium_memcmp(g[0].key, before.key, 32) != 0);
    CHECK(same_keys(&g[0], &g[2]));
    printf("range region graph: %d nodes, one key at epoch %u, epoch %u after the revoke\n", GRAPH_NODES,
           before.epoch, g[0].epoch);
    cxl_ring_keys_wipe(&before);
    for (int i = 0; i < GRAPH_NODES; i++)
        cxl_ring_keys_wipe(&g[i]);
}

static void crypto_regions(const char *dir)
{
    char file[300];
    uint8_t secret[32];
    snprintf(file, sizeof file, "%s/crypto.secret", dir);
    CHECK_EQ(cxl_secret_file_create(file, secret), 0);
    sodium_memzero(secret, sizeof secret);
    struct cxl_keyring *a = NULL, *b = NULL;
    struct cxl_ring_keys ka, kb, ko;
    CHECK_EQ(cxl_keyring_open_crypto(file, &a), 0);
    CHECK_EQ(cxl_keyring_open_crypto(file, &b), 0);
    if (!a || !b)
        return;
    CHECK_EQ(cxl_keyring_region_keys(a, "graph", &ka), 0);
    CHECK_EQ(cxl_keyring_region_keys(b, "graph", &kb), 0);
    CHECK_EQ(cxl_keyring_region_keys(b, "other", &ko), 0);
    CHECK(same_keys(&ka, &kb) && ka.binding == CXL_KEYS_SHARED && ka.epoch == 0);
    CHECK(ka.expires_ns == UINT64_MAX && !ka.has_prev);
    CHECK(sodium_memcmp(ka.key, ko.key, 32) != 0);
    CHECK_FAILS(cxl_keyring_region_keys(a, "", &ko), CXL_EINVAL, "not a region name");
    cxl_ring_keys_wipe(&ka);
    cxl_ring_keys_wipe(&kb);
    cxl_keyring_close(a);
    cxl_keyring_close(b);
}

int main(int argc, char **argv)
{
    const char *build = argc > 1 ? argv[1] : "build";
    char module[512], tool[512], mgr_tool[512], logdir[300], dir[64] = "/tmp/cxl-keyring.XXXXXX", key[300];
    char graph_key[GRAPH_NODES][300];
    if (harness_paths(build, "keyring_threads", module, tool, mgr_tool, logdir) != 0 || !mkdtemp(dir))
        return 1;
    struct sec_mgr m;
    sec_init(&m, dir, mgr_tool);
    CHECK_EQ(provision(&m, key, graph_key), 0);
    CHECK_EQ(sec_make_master(&m), 0);
    CHECK_EQ(sec_start(&m, 1, key), 0);
    CHECK_EQ(cxl_keyring_open_manager(m.addr, 1, key, &kr), 0);
    struct cxl_keyring *gkr[GRAPH_NODES] = {0};
    int open = kr != NULL;
    for (unsigned i = 0; i < GRAPH_NODES; i++) {
        CHECK_EQ(cxl_keyring_open_manager(m.addr, (uint16_t)(2 + i), graph_key[i], &gkr[i]), 0);
        open &= gkr[i] != NULL;
    }
    if (open) {
        threads_fetch();
        range_region(&m, gkr);
    }
    for (unsigned i = 0; i < GRAPH_NODES; i++)
        cxl_keyring_close(gkr[i]);
    cxl_keyring_close(kr);
    CHECK_EQ(sec_stop(&m, SIGTERM), 0);
    CHECK(!sec_sanitizer_report(&m));
    crypto_regions(dir);
    snprintf(key, sizeof key, "rm -rf %s", dir);
    CHECK_EQ(system(key), 0);
    return check_summary("keyring_threads");
}
