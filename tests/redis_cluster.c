/* redis_cluster.c - cxl_ring.so on Redis Cluster nodes (docs/CLUSTER.md,
 * section 1): every ring request for keys the node does not serve gets the
 * bytes redis-server gives a TCP client (MOVED, ASK, CROSSSLOT, TRYAGAIN,
 * CLUSTERDOWN), compared byte for byte; ASKING and READONLY per ring
 * connection; the slot map follows CLUSTER SETSLOT at once.
 *
 * Usage: redis_cluster PORT0 PORT1 REPLICA_PORT MEDIUM_DIR_PATTERN
 * The nodes are started by tests/cli_cluster_module.sh (scripts/cluster.sh):
 * PORT0 and PORT1 are masters, REPLICA_PORT a replica of PORT0; node P's
 * medium is the pattern with %d replaced by P. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cxl/cluster.h"
#include "cxl/kv.h"
#include "net/resp_conn.h"

struct node {
    int port;
    char addr[32], medium[256], id[48];
    struct cxl_conn *tcp;
    struct cxl_kv *kv;
};

static struct node n0, n1, rep;
static char tcp_reply[1 << 16], ring_reply[1 << 16];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* A TCP command's reply, as a C string (RESP bytes). */
static const char *tcp(struct node *n, int argc, const char *const *argv)
{
    const uint8_t *rep_ = NULL;
    size_t len = 0;
    if (cxl_conn_call(n->tcp, argc, argv, &rep_, &len) != 0 || len >= sizeof tcp_reply)
        return "(tcp failed)";
    memcpy(tcp_reply, rep_, len);
    tcp_reply[len] = '\0';
    return tcp_reply;
}

/* A ring result as the RESP bytes a TCP client would read. */
static const char *as_resp(const struct cxl_kv_result *r)
{
    switch (r->status) {
    case CXL_KV_OK:
        if (r->op == CXL_KV_SET)
            return "+OK\r\n";
        snprintf(ring_reply, sizeof ring_reply, "$%u\r\n%.*s\r\n", r->len, (int)r->len, (const char *)r->data);
        return ring_reply;
    case CXL_KV_NIL: return "$-1\r\n";
    case CXL_KV_INT: snprintf(ring_reply, sizeof ring_reply, ":%lld\r\n", (long long)r->integer); return ring_reply;
    case CXL_KV_ERR:
        snprintf(ring_reply, sizeof ring_reply, "-%.*s\r\n", (int)r->len, (const char *)r->data);
        return ring_reply;
    case CXL_KV_REPLY: snprintf(ring_reply, sizeof ring_reply, "%.*s", (int)r->len, (const char *)r->data); return ring_reply;
    default: snprintf(ring_reply, sizeof ring_reply, "(ring status %d)", r->status); return ring_reply;
    }
}

/* One ring request on connection conn: GET/SET/DEL of argv[1] on the fast
 * paths when fast, else the generic path. */
static const char *ring(struct node *n, uint16_t conn, int fast, int argc, const char *const *argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    cxl_kv_set_conn(n->kv, conn);
    int rc;
    if (fast && !strcmp(argv[0], "GET"))
        rc = cxl_kv_submit_get(n->kv, argv[1], (uint32_t)lens[1], 1);
    else if (fast && !strcmp(argv[0], "SET"))
        rc = cxl_kv_submit_set(n->kv, argv[1], (uint32_t)lens[1], argv[2], (uint32_t)lens[2], 0, 1);
    else if (fast && !strcmp(argv[0], "DEL"))
        rc = cxl_kv_submit_del(n->kv, argv[1], (uint32_t)lens[1], 1);
    else
        rc = cxl_kv_submit_command(n->kv, argc, argv, lens, 1);
    struct cxl_kv_result r;
    if (rc != 0 || cxl_kv_wait(n->kv, &r) != 1)
        return "(ring failed)";
    return as_resp(&r);
}

#define ARGS(...) (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__}
#define TCP(n, ...) tcp(n, ARGS(__VA_ARGS__))
#define RING(n, conn, fast, ...) ring(n, conn, fast, ARGS(__VA_ARGS__))

/* ring and TCP give the same bytes */
#define SAME(n, conn, fast, ...)                                                                             \
    do {                                                                                                     \
        char t_[4096];                                                                                       \
        snprintf(t_, sizeof t_, "%s", TCP(n, __VA_ARGS__));                                                   \
        const char *r_ = RING(n, conn, fast, __VA_ARGS__);                                                   \
        check_count++;                                                                                       \
        if (strcmp(t_, r_)) {                                                                                \
            check_failures++;                                                                                \
            fprintf(stderr, "%s:%d: node %d: tcp '%.100s' ring '%.100s'\n", __FILE__, __LINE__, (n)->port, t_, r_); \
        }                                                                                                    \
    } while (0)

#define IS(got, want)                                                                                        \
    do {                                                                                                     \
        const char *g_ = (got);                                                                              \
        check_count++;                                                                                       \
        if (strcmp(g_, want)) {                                                                              \
            check_failures++;                                                                                \
            fprintf(stderr, "%s:%d: got '%.100s' want '%.100s'\n", __FILE__, __LINE__, g_, want);            \
        }                                                                                                    \
    } while (0)

static int node_open(struct node *n, int port, const char *pattern)
{
    n->port = port;
    snprintf(n->addr, sizeof n->addr, "127.0.0.1:%d", port);
    snprintf(n->medium, sizeof n->medium, pattern, port);
    if (cxl_conn_open(n->addr, NULL, &n->tcp) != 0)
        return fprintf(stderr, "cannot reach %s: %s\n", n->addr, cxl_last_error()), -1;
    struct cxl_kv_config c;
    cxl_kv_config_init(&c);
    c.medium.path = n->medium;
    c.claim_wait_ms = 6000;
    if (cxl_kv_open(&c, &n->kv) != 0)
        return fprintf(stderr, "cannot open a ring of %s: %s\n", n->medium, cxl_last_error()), -1;
    const char *id = TCP(n, "CLUSTER", "MYID"); /* $40\r\n<id>\r\n */
    snprintf(n->id, sizeof n->id, "%.40s", strstr(id, "\r\n") ? strstr(id, "\r\n") + 2 : "");
    return 0;
}

/* A hash tag "{prefixN}" whose slot node n serves. */
static void tag_of(struct node *n, const char *prefix, char *tag, size_t cap)
{
    for (int i = 0; i < 100000; i++) {
        char k[64];
        snprintf(tag, cap, "{%s%d}", prefix, i);
        snprintf(k, sizeof k, "%sx", tag);
        if (strncmp(TCP(n, "GET", k), "-MOVED", 6))
            return;
    }
}

/* A key of each slot owner: keys k0..k299 fall on every master. */
static void test_redirects(void)
{
    char k[32], v[32];
    int moved = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        SAME(&n0, 0, 1, "SET", k, v);
        SAME(&n0, 0, 1, "GET", k);
        SAME(&n0, 0, 0, "GET", k);
        SAME(&n0, 0, 0, "STRLEN", k);
        SAME(&n0, 0, 0, "PEXPIRE", k, "1000000");
        char gone[32];
        snprintf(gone, sizeof gone, "gone%d", i);
        SAME(&n0, 0, 1, "DEL", gone); /* DEL twice would differ: a key nobody set */
        SAME(&n1, 0, 1, "GET", k);
        moved += strncmp(TCP(&n0, "GET", k), "-MOVED ", 7) == 0;
    }
    CHECK(moved > 100 && moved < 300); /* both kinds seen */
    SAME(&n0, 0, 0, "MSET", "a", "1", "b", "2");             /* CROSSSLOT */
    SAME(&n0, 0, 0, "DEL", "a", "b", "c");
    SAME(&n0, 0, 0, "MSET", "{t}a", "1", "{t}b", "2");       /* one slot: run, or MOVED */
    SAME(&n0, 0, 0, "MGET", "{t}a", "{t}b");
    SAME(&n1, 0, 0, "MSET", "{t}a", "1", "{t}b", "2");
    SAME(&n0, 0, 0, "EVAL", "return redis.call('get', KEYS[1])", "1", "k7");
    SAME(&n0, 0, 0, "PING");                                 /* no key: runs anywhere */
    SAME(&n0, 0, 0, "DBSIZE");
}

/* A slot of n0 moving to n1: ASK, TRYAGAIN, ASKING per connection, and
 * the module follows CLUSTER SETSLOT without waiting. */
static void test_migration(void)
{
    char tag[32], k[64], missing[64], slot[16];
    tag_of(&n0, "mig", tag, sizeof tag);
    snprintf(k, sizeof k, "%spresent", tag);
    snprintf(missing, sizeof missing, "%smissing", tag);
    snprintf(slot, sizeof slot, "%u", cxl_cluster_slot(k, strlen(k)));
    IS(TCP(&n0, "SET", k, "here"), "+OK\r\n");
    IS(TCP(&n1, "CLUSTER", "SETSLOT", slot, "IMPORTING", n0.id), "+OK\r\n");
    IS(TCP(&n0, "CLUSTER", "SETSLOT", slot, "MIGRATING", n1.id), "+OK\r\n");
    /* at once: no sleep since the SETSLOT */
    SAME(&n0, 0, 1, "GET", missing);                          /* ASK to n1 */
    CHECK(strncmp(RING(&n0, 0, 1, "GET", missing), "-ASK ", 5) == 0);
    SAME(&n0, 0, 1, "GET", k);                                /* present: served */
    SAME(&n0, 0, 1, "SET", missing, "x");                     /* ASK */
    SAME(&n0, 0, 0, "MGET", k, missing);                      /* TRYAGAIN */
    SAME(&n0, 0, 0, "HGET", missing, "f");                    /* ASK on the generic path */
    /* the target: MOVED without ASKING; with it, one command, on that connection only */
    SAME(&n1, 0, 1, "GET", missing);
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    CHECK(strncmp(RING(&n1, 4, 1, "GET", missing), "-MOVED ", 7) == 0); /* another connection */
    IS(RING(&n1, 3, 1, "SET", missing, "arrived"), "+OK\r\n");
    CHECK(strncmp(RING(&n1, 3, 1, "GET", missing), "-MOVED ", 7) == 0); /* used up */
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    IS(RING(&n1, 3, 1, "GET", missing), "$7\r\narrived\r\n");
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    CHECK(strncmp(RING(&n1, 3, 0, "HGET", missing, "f"), "-TRYAGAIN ", 10) == 0); /* generic path: documented */
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    IS(RING(&n1, 3, 0, "PING"), "+PONG\r\n");                 /* any command uses it up */
    CHECK(strncmp(RING(&n1, 3, 1, "GET", missing), "-MOVED ", 7) == 0);
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    (void)RING(&n1, 3, 0, "HELLO", "2");                    /* answered by the module's identity code */
    CHECK(strncmp(RING(&n1, 3, 1, "SET", missing, "x"), "-MOVED ", 7) == 0); /* still used up: no write here */
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    CHECK(strncmp(RING(&n1, 3, 0, ""), "-ERR unknown command", 20) == 0); /* refused early: used up too */
    CHECK(strncmp(RING(&n1, 3, 1, "SET", missing, "x"), "-MOVED ", 7) == 0);
    IS(RING(&n1, 3, 0, "ASKING"), "+OK\r\n");
    IS(RING(&n1, 3, 0, "RESET"), "+RESET\r\n");                /* RESET forgets it */
    CHECK(strncmp(RING(&n1, 3, 1, "GET", missing), "-MOVED ", 7) == 0);
    /* the move completes: the key migrated, n1 owns the slot, n0 answers MOVED at once */
    char port1[16];
    snprintf(port1, sizeof port1, "%d", n1.port);
    IS(TCP(&n0, "MIGRATE", "127.0.0.1", port1, k, "0", "5000"), "+OK\r\n");
    SAME(&n0, 0, 1, "GET", k);                                /* now missing here: ASK */
    IS(TCP(&n1, "CLUSTER", "SETSLOT", slot, "NODE", n1.id), "+OK\r\n");
    IS(TCP(&n0, "CLUSTER", "SETSLOT", slot, "NODE", n1.id), "+OK\r\n");
    SAME(&n0, 0, 1, "GET", k);                                /* MOVED to n1 */
    CHECK(strncmp(RING(&n0, 0, 1, "GET", k), "-MOVED ", 7) == 0);
    IS(RING(&n1, 0, 1, "GET", missing), "$7\r\narrived\r\n");
    IS(RING(&n1, 0, 1, "GET", k), "$4\r\nhere\r\n");
    IS(TCP(&n1, "DEL", missing, k), ":2\r\n");
    /* back to n0, as it was */
    IS(TCP(&n0, "CLUSTER", "SETSLOT", slot, "NODE", n0.id), "+OK\r\n");
    IS(TCP(&n1, "CLUSTER", "SETSLOT", slot, "NODE", n0.id), "+OK\r\n");
    SAME(&n0, 0, 1, "GET", k);
}

/* A replica: MOVED to its master; READONLY lets GET read, not write. */
static void test_replica(void)
{
    char tag[32], k[64];
    tag_of(&n0, "ro", tag, sizeof tag);
    snprintf(k, sizeof k, "%skey", tag);
    IS(RING(&n0, 0, 1, "SET", k, "replicated"), "+OK\r\n"); /* the ring's writes reach the replica */
    for (int i = 0; i < 100 && strcmp(TCP(&rep, "READONLY"), "+OK\r\n") == 0; i++) { /* wait for the copy */
        struct cxl_conn *c;
        cxl_conn_open(rep.addr, NULL, &c);
        const uint8_t *x;
        size_t xl;
        const char *ro[] = {"READONLY"}, *get[] = {"GET", k};
        cxl_conn_call(c, 1, ro, &x, &xl);
        int ok = cxl_conn_call(c, 2, get, &x, &xl) == 0 && xl > 0 && x[0] == '$' && x[1] != '-';
        cxl_conn_close(c);
        if (ok)
            break;
        sleep_ms(50);
    }
    rep.tcp = (cxl_conn_close(rep.tcp), NULL);
    cxl_conn_open(rep.addr, NULL, &rep.tcp); /* a fresh connection: no READONLY */
    SAME(&rep, 0, 1, "GET", k);                               /* MOVED to the master */
    CHECK(strncmp(RING(&rep, 0, 1, "GET", k), "-MOVED ", 7) == 0);
    IS(RING(&rep, 5, 0, "READONLY"), "+OK\r\n");
    IS(RING(&rep, 5, 1, "GET", k), "$10\r\nreplicated\r\n");  /* READONLY: served by the replica */
    CHECK(strncmp(RING(&rep, 5, 1, "SET", k, "x"), "-MOVED ", 7) == 0); /* writes still go to the master */
    CHECK(strncmp(RING(&rep, 6, 1, "GET", k), "-MOVED ", 7) == 0);      /* only that connection */
    IS(RING(&rep, 5, 0, "READWRITE"), "+OK\r\n");
    CHECK(strncmp(RING(&rep, 5, 1, "GET", k), "-MOVED ", 7) == 0);
    SAME(&rep, 0, 0, "SET", k, "x");   /* the any-command path on a replica: MOVED, not READONLY */
    SAME(&rep, 0, 0, "HSET", "h", "f", "v");
    SAME(&rep, 0, 1, "SET", k, "x");
    /* a ring DEL, and a SET with an expiry, reach it too (as DEL and SET ... PXAT) */
    IS(RING(&n0, 0, 1, "DEL", k), ":1\r\n");
    IS(RING(&rep, 5, 0, "READONLY"), "+OK\r\n");
    int gone = 0;
    for (int i = 0; i < 100 && !(gone = !strcmp(RING(&rep, 5, 1, "GET", k), "$-1\r\n")); i++)
        sleep_ms(20);
    CHECK(gone);
    size_t kl = strlen(k);
    cxl_kv_set_conn(n0.kv, 0);
    struct cxl_kv_result res;
    CHECK(cxl_kv_submit_set(n0.kv, k, (uint32_t)kl, "ttl", 3, 600000, 9) == 0 && cxl_kv_wait(n0.kv, &res) == 1 &&
          res.status == CXL_KV_OK);
    long long pttl = -9;
    IS(TCP(&rep, "READONLY"), "+OK\r\n");
    for (int i = 0; i < 100 && pttl < 0; i++) {
        const char *t = TCP(&rep, "PTTL", k);
        pttl = t[0] == ':' ? atoll(t + 1) : -9;
        if (pttl < 0)
            sleep_ms(20);
    }
    CHECK(pttl > 500000 && pttl <= 600000);
}

/* Clients paused (CLIENT PAUSE, as a manual failover does): ring writes wait
 * for the end of the pause, as TCP clients do, and nothing propagates
 * meanwhile (Redis 7.0 asserts that; a ring write then crashed it). */
static void test_pause(void)
{
    char tag[32], k[64];
    tag_of(&n0, "pause", tag, sizeof tag);
    snprintf(k, sizeof k, "%skey", tag);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    IS(TCP(&n0, "CLIENT", "PAUSE", "600", "WRITE"), "+OK\r\n");
    IS(RING(&n0, 0, 1, "SET", k, "paused"), "+OK\r\n");
    IS(RING(&n0, 0, 0, "SET", k, "paused2"), "+OK\r\n");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(waited >= 0.5); /* served after the pause */
    IS(TCP(&n0, "GET", k), "$7\r\npaused2\r\n");
    IS(TCP(&n0, "PING"), "+PONG\r\n"); /* alive */
}

/* Settings Redis reads at run time; MULTI refused over the ring. */
static void test_settings(void)
{
    char k[32];
    int i;
    for (i = 0; i < 1000; i++) { /* a key of another node */
        snprintf(k, sizeof k, "other%d", i);
        if (!strncmp(TCP(&n0, "GET", k), "-MOVED", 6))
            break;
    }
    IS(TCP(&n0, "CONFIG", "SET", "cluster-preferred-endpoint-type", "unknown-endpoint"), "+OK\r\n");
    SAME(&n0, 0, 1, "GET", k);                                 /* MOVED slot :port, at once */
    SAME(&n0, 0, 0, "HGET", k, "f");
    IS(TCP(&n0, "CONFIG", "SET", "cluster-preferred-endpoint-type", "ip"), "+OK\r\n");
    SAME(&n0, 0, 1, "GET", k);
    CHECK(strncmp(RING(&n0, 0, 0, "MULTI"), "-ERR MULTI and WATCH cannot run over the ring", 45) == 0);
    CHECK(strncmp(RING(&n0, 0, 0, "WATCH", k), "-ERR MULTI and WATCH cannot run over the ring", 45) == 0);
}

/* A slot nobody serves, then the whole cluster down: CLUSTERDOWN as TCP. */
static void test_down(void)
{
    char tag[32], k[64], other[64], slot[16];
    tag_of(&n0, "down", tag, sizeof tag);
    snprintf(k, sizeof k, "%skey", tag);
    tag_of(&n0, "up", tag, sizeof tag);
    snprintf(other, sizeof other, "%skey", tag);
    snprintf(slot, sizeof slot, "%u", cxl_cluster_slot(k, strlen(k)));
    IS(TCP(&n0, "CLUSTER", "DELSLOTS", slot), "+OK\r\n");
    SAME(&n0, 0, 1, "GET", k);                                 /* CLUSTERDOWN Hash slot not served */
    CHECK(strncmp(RING(&n0, 0, 1, "GET", k), "-CLUSTERDOWN ", 13) == 0);
    for (int i = 0; i < 100 && strncmp(TCP(&n0, "GET", other), "-CLUSTERDOWN", 12); i++)
        sleep_ms(50); /* Redis sees the hole in its next cron */
    sleep_ms(300);    /* the module reads cluster_state at least every 100 ms */
    SAME(&n0, 0, 1, "GET", other);                             /* The cluster is down */
    SAME(&n0, 0, 0, "HGET", other, "f");
    IS(TCP(&n0, "CLUSTER", "ADDSLOTS", slot), "+OK\r\n");
    for (int i = 0; i < 100 && strncmp(TCP(&n0, "GET", other), "$", 1); i++)
        sleep_ms(50);
    sleep_ms(300);
    SAME(&n0, 0, 1, "GET", other);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: redis_cluster PORT0 PORT1 REPLICA_PORT MEDIUM_PATTERN\n");
        return 2;
    }
    if (node_open(&n0, atoi(argv[1]), argv[4]) || node_open(&n1, atoi(argv[2]), argv[4]) ||
        node_open(&rep, atoi(argv[3]), argv[4]))
        return 1;
    test_redirects();
    test_migration();
    test_replica();
    test_pause();
    test_settings();
    test_down();
    IS(strstr(TCP(&n0, "CXLRING.INFO"), "cluster_node_id") ? "yes" : "no", "yes");
    IS(strstr(TCP(&n0, "CXLRING.INFO"), n0.id) ? "yes" : "no", "yes");
    cxl_kv_close(n0.kv), cxl_kv_close(n1.kv), cxl_kv_close(rep.kv);
    cxl_conn_close(n0.tcp), cxl_conn_close(n1.tcp), cxl_conn_close(rep.tcp);
    return check_summary("redis_cluster");
}
