/* redis_node_users.c - on a secure ring, each node runs as the Redis user
 * cxl_sec_mgr's ACL names for it (docs/SERVER.md, "Rights"; docs/SECURITY.md):
 * a node granted one ring cannot read another tenant's keys; a node claiming
 * a ring as another node id, or a claim whose node is changed under it,
 * gets nothing run (nor inherits the rights of a connection that
 * authenticated); a node without a user is NOAUTH. A real redis-server with
 * the module, a real cxl_sec_mgr.
 * Usage: redis_node_users BUILD_DIR */
#include "rights_harness.h"

enum { N_SERVER = 1, N_ALICE = 2, N_BOB = 3, N_PLAIN = 4 };
static struct sec_mgr mgr;
static char node_key[5][300];

static int provision_nodes(void)
{
    static char dir[64]; /* short: the control socket's path must fit a sockaddr_un */
    snprintf(dir, sizeof dir, "/tmp/cxl-rights.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    sec_init(&mgr, dir, mgr_tool);
    int rc = sec_provision(&mgr, 4, 1);
    rc |= sec_add_node_as(&mgr, N_SERVER, "redis-server", NULL, node_key[1], sizeof node_key[1]);
    rc |= sec_add_node_as(&mgr, N_ALICE, "alice-host", "alice", node_key[2], sizeof node_key[2]);
    rc |= sec_add_node_as(&mgr, N_BOB, "bob-host", "bob", node_key[3], sizeof node_key[3]);
    rc |= sec_add_node_as(&mgr, N_PLAIN, "plain-host", NULL, node_key[4], sizeof node_key[4]);
    for (int r = 0; r < 4; r++) {
        char region[16];
        snprintf(region, sizeof region, "ring%d", r);
        rc |= sec_add_grant(&mgr, "redis-server", region, "serve");
    }
    rc |= sec_add_grant(&mgr, "alice-host", "ring1", "rw"); /* ring 1 is shared by alice and bob */
    rc |= sec_add_grant(&mgr, "bob-host", "ring1", "rw");
    rc |= sec_add_grant(&mgr, "bob-host", "ring2", "rw");
    rc |= sec_add_grant(&mgr, "plain-host", "ring3", "rw");
    return rc || sec_make_master(&mgr) || sec_start(&mgr, N_SERVER, node_key[1]) ? -1 : 0;
}

static struct cxl_kv *node_open(int ring, int node, struct cxl_keyring **kr, int expect)
{
    struct cxl_kv_config cfg = ring_config(ring);
    struct cxl_kv *kv = NULL;
    CHECK_EQ(cxl_keyring_open_manager(mgr.addr, (uint16_t)node, node_key[node], kr), 0);
    cfg.keys = *kr;
    int rc = cxl_kv_open(&cfg, &kv);
    CHECK_EQ(rc, expect);
    if (rc && expect != rc)
        fprintf(stderr, "  node %d on ring %d: %s\n", node, ring, cxl_last_error());
    return kv;
}

static void node_close(struct cxl_kv *kv, struct cxl_keyring *kr)
{
    cxl_kv_close(kv);
    cxl_keyring_close(kr);
}

/* Seal one SET (key klen bytes, then the value) on ring 1 as claim (gen,
 * node, session) with key k, the way only a holder of k can, and put it on
 * the ring at its next position; the request comes from connection conn. */
static void forge_set(struct cxl_layout *l, const struct cxl_ring_keys *k, uint32_t gen, uint16_t node,
                      const uint8_t session[16], uint16_t conn, const char *payload, uint32_t klen)
{
    struct cxl_server_state srv;
    enum cxl_cipher cipher;
    CHECK_EQ(cxl_cipher_of_layout(cxl_layout_geometry(l), &cipher), 0);
    cxl_server_state(l, &srv);
    struct cxl_seal s;
    struct cxl_seal_binding b = {.format_id = cxl_layout_geometry(l)->format_id, .ring = 1, .dir = CXL_REQ,
                                 .gen = gen, .node = node};
    memcpy(b.client_session, session, 16);
    memcpy(b.server_nonce, srv.nonce, 16);
    CHECK_EQ(cxl_seal_derive(&s, cipher, k->key, k->epoch, &b), 0);
    struct cxl_queue q;
    CHECK_EQ(cxl_queue_init(&q, l, 1, CXL_REQ, CXL_PRODUCER), 0);
    uint8_t *dst; /* layout v2: the queue encodes our private header, we seal into the payload */
    uint8_t scratch[CXL_KV_RECORD_HDR + 64];
    uint32_t len = (uint32_t)strlen(payload);
    CHECK(len <= 64);
    struct cxl_msg_hdr h = {.session = gen};
    cxl_seal_header(&s, &h);
    CHECK_EQ(cxl_queue_reserve(&q, &h, (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + len, &dst), 0);
    CHECK_EQ(h.seq, cxl_queue_reserved(&q));
    CHECK_EQ(h.len, (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + len);
    struct cxl_msg_hdr in = {.op = CXL_KV_SET, .arg0 = klen, .arg1 = (uint32_t)conn << CXL_KV_CONN_SHIFT};
    CHECK_EQ(cxl_seal_msg(&s, &h, dst, scratch, cxl_kv_record_put(scratch, &in, 0, payload, len)), 0);
    cxl_queue_submit(&q);
    cxl_seal_wipe(&s);
}

static void wait_rejected(long long before)
{
    for (int i = 0; i < 100 && stat_of(1, "rejected_crypto") == before; i++)
        harness_sleep_ms(10);
    CHECK_EQ(stat_of(1, "rejected_crypto"), before + 1);
}

/* Node 2 (alice) claims ring 1 saying it is node 3 (bob) and seals a SET with
 * its own node key, the only ring-1 key it has: the server derives bob's
 * node key, so nothing opens and nothing runs. */
static void impersonate(struct cxl_keyring *alice_keys)
{
    struct cxl_medium_config mc;
    cxl_medium_config_init(&mc);
    mc.path = med.path;
    mc.map_size = 0;
    struct cxl_medium *m = NULL;
    struct cxl_layout *l = NULL;
    CHECK(cxl_medium_open(&mc, &m) == 0 && cxl_layout_attach(m, &l) == 0);
    struct cxl_claim_opts co = {.reclaim_ms = 2000, .wait_ms = 3000};
    struct cxl_claim claim;
    struct cxl_ring_keys k;
    CHECK_EQ(cxl_ring_claim(l, 1, N_BOB, &co, &claim), 0);
    CHECK_EQ(cxl_keyring_lookup(alice_keys, 1, &k), 0);
    long long before = stat_of(1, "rejected_crypto");
    forge_set(l, &k, claim.gen, N_BOB, claim.session, 0, "b:stolenyes", 8);
    wait_rejected(before);
    CHECK(same("bob's key was not written", TCP_AS("default", "adminpw", "EXISTS", "b:stolen"), ":0\r\n"));
    cxl_ring_keys_wipe(&k);
    cxl_ring_release(&claim);
    cxl_layout_close(l);
    cxl_medium_close(m);
}

/* Alice's connection 3 authenticated as the admin; bob (a client of ring 1
 * too) rewrites the node of alice's live claim to his own and seals a SET
 * on connection 3 with his node key. The session's node is alice's from
 * its first message on, so nothing of bob's runs, with or without her
 * connection's rights. */
static void hijack(struct cxl_kv *alice, struct cxl_keyring *bob_keys)
{
    CHECK(same("alice's conn 3 as admin", RING(alice, 3, "AUTH", "adminpw"), "+OK\r\n"));
    CHECK(same("admin SET c:1", ring_fast(alice, 3, CXL_KV_SET, "c:1", "z"), "+OK\r\n"));
    struct cxl_layout *l = cxl_kv_layout(alice);
    struct cxl_ring_ctl *c = cxl_ring_ctl_of(l, 1);
    uint64_t w = __atomic_load_n(&c->owner_word, __ATOMIC_ACQUIRE);
    uint8_t session[16];
    memcpy(session, c->session, sizeof session);
    struct cxl_ring_keys k;
    CHECK_EQ(cxl_keyring_lookup(bob_keys, 1, &k), 0);
    long long before = stat_of(1, "rejected_crypto");
    __atomic_store_n(&c->owner_word, (w & ~0xffffull) | N_BOB, __ATOMIC_RELEASE);
    forge_set(l, &k, cxl_owner_gen(w), N_BOB, session, 3, "c:ownedyes", 7);
    wait_rejected(before);
    __atomic_store_n(&c->owner_word, w, __ATOMIC_RELEASE);
    CHECK(same("bob wrote nothing as the admin", TCP_AS("default", "adminpw", "EXISTS", "c:owned"), ":0\r\n"));
    cxl_ring_keys_wipe(&k);
}

static void test_nodes(void)
{
    if (provision_nodes() != 0) {
        CHECK(!"cxl_sec_mgr did not start");
        return;
    }
    char mgr_arg[100], key_arg[340];
    snprintf(mgr_arg, sizeof mgr_arg, "sec_mgr=%s", mgr.addr);
    snprintf(key_arg, sizeof key_arg, "key=%s", node_key[1]);
    const char *server[] = {"--user", "alice", "on", "nopass", "~a:*", "+@all", "--user", "bob", "on", "nopass",
                            "~b:*", "+@all", "--requirepass", "adminpw", NULL};
    const char *margs[] = {"secure=1", mgr_arg, "node_id=1", key_arg, NULL};
    if (start(server, margs) != 0) {
        sec_stop(&mgr, SIGTERM);
        return;
    }
    struct cxl_keyring *ka, *kb, *kp, *kx;
    struct cxl_kv *alice = node_open(1, N_ALICE, &ka, 0), *bob = node_open(2, N_BOB, &kb, 0);
    struct cxl_kv *plain = node_open(3, N_PLAIN, &kp, 0);
    if (!alice || !bob || !plain)
        goto out;
    /* each node is its user: the same answers as that user over TCP */
    CHECK(same("alice SET a:1", ring_fast(alice, 0, CXL_KV_SET, "a:1", "x"), "+OK\r\n"));
    CHECK(same("bob SET b:1", ring_fast(bob, 0, CXL_KV_SET, "b:1", "y"), "+OK\r\n"));
    CHECK(same("alice GET b:1", ring_fast(alice, 0, CXL_KV_GET, "b:1", NULL), TCP_AS("alice", "x", "GET", "b:1")));
    CHECK(starts("alice GET b:1", ring_fast(alice, 0, CXL_KV_GET, "b:1", NULL), "-NOPERM"));
    CHECK(same("bob GET a:1", RING(bob, 0, "GET", "a:1"), TCP_AS("bob", "x", "GET", "a:1")));
    CHECK(same("alice KEYS", RING(alice, 0, "KEYS", "*"), TCP_AS("alice", "x", "KEYS", "*")));
    CHECK(same("bob GET b:1", ring_fast(bob, 0, CXL_KV_GET, "b:1", NULL), "$1\r\ny\r\n"));
    /* a node without a user, while Redis requires authentication */
    CHECK(same("plain node", ring_fast(plain, 0, CXL_KV_GET, "a:1", NULL), "-NOAUTH Authentication required.\r\n"));
    CHECK(same("plain node after AUTH", RING(plain, 0, "AUTH", "adminpw"), "+OK\r\n"));
    CHECK(same("plain node as default", ring_fast(plain, 0, CXL_KV_GET, "a:1", NULL), "$1\r\nx\r\n"));
    /* alice cannot get a ring she is not granted at all */
    struct cxl_kv *denied = node_open(0, N_ALICE, &kx, CXL_EDENIED);
    node_close(denied, kx);
    {
        struct cxl_keyring *kbi;
        CHECK_EQ(cxl_keyring_open_manager(mgr.addr, N_BOB, node_key[N_BOB], &kbi), 0);
        CHECK_EQ(cxl_keyring_fetch(kbi, 1), 0);
        hijack(alice, kbi);
        cxl_keyring_close(kbi);
    }
    /* a claim's node changed under it (owner word rewritten, same session):
     * the keys were alice's, so nothing of hers runs as bob */
    node_close(alice, ka);
    alice = NULL;
    ka = NULL;

    {
        struct cxl_kv *a2 = node_open(1, N_ALICE, &kx, 0);
        if (a2) {
            CHECK(same("alice on ring 1", ring_fast(a2, 0, CXL_KV_GET, "a:1", NULL), "$1\r\nx\r\n"));
            struct cxl_ring_ctl *c = cxl_ring_ctl_of(cxl_kv_layout(a2), 1);
            uint64_t w = __atomic_load_n(&c->owner_word, __ATOMIC_ACQUIRE);
            __atomic_store_n(&c->owner_word, (w & ~0xffffull) | N_BOB, __ATOMIC_RELEASE);
            const char *got = ring_fast(a2, 0, CXL_KV_GET, "b:1", NULL);
            CHECK(strstr(got, "$1\r\ny") == NULL); /* never bob's value */
            int refused = got[0] == '-' || strstr(got, "ring failed") || strstr(got, "transport error");
            if (!refused)
                fprintf(stderr, "  after the node flip: '%s'\n", got);
            CHECK(refused);
            __atomic_store_n(&c->owner_word, w, __ATOMIC_RELEASE);
            node_close(a2, kx);
        }
    }
    {
        struct cxl_keyring *kai;
        CHECK_EQ(cxl_keyring_open_manager(mgr.addr, N_ALICE, node_key[N_ALICE], &kai), 0);
        CHECK_EQ(cxl_keyring_fetch(kai, 1), 0);
        impersonate(kai);
        cxl_keyring_close(kai);
    }
out:
    node_close(alice, ka);
    node_close(bob, kb);
    node_close(plain, kp);
    stop();
    sec_stop(&mgr, SIGTERM);
    CHECK(!sec_sanitizer_report(&mgr));
    snprintf(key_arg, sizeof key_arg, "rm -rf %s", mgr.dir);
    if (system(key_arg) != 0)
        fprintf(stderr, "  could not remove %s\n", mgr.dir);
}


static const struct harness_scenario scenarios[] = {{"nodes", test_nodes}};

int main(int argc, char **argv)
{
    return rights_main(argc, argv, "redis_node_users", scenarios, 1);
}
