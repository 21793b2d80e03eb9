/* redis_ring.c - the Redis module and the ring client against a real
 * redis-server (Debian's), started and killed by this test:
 *   ops       fast GET/SET/DEL, expiry, generic commands, errors, binary data,
 *             each cross-checked over TCP
 *   sizes     values from 0 B to 1 MiB, too-large requests and replies
 *   parallel  4 cxl_ring_direct processes on 4 rings at once
 *   killed    a client killed mid-pipeline, its ring reclaimed
 *   restart   Redis killed and restarted under a running client
 *   garbage   a scribbling host: garbage messages, garbage indices, a
 *             clobbered live ring; other rings keep serving
 * Usage: redis_ring BUILD_DIR [test-name...] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>

#include "check.h"
#include "fixture.h"
#include "redis_harness.h"
#include "cxl/kv.h"
#include "cxl/util.h"
#include "cxl/wait.h"
#include "ring/layout.h"

static char module[512], tool[512], mgr_tool[512], logdir[300];
static struct fixture med;
static struct redis_proc redis;
static const char *module_args[] = {NULL /* path=... */, "map_size=64M", "rings=4", NULL};

/* --- helpers ------------------------------------------------------------------ */

static struct cxl_kv *kv_open(int ring, uint32_t timeout_ms)
{
    struct cxl_kv_config cfg;
    cxl_kv_config_init(&cfg);
    cfg.medium.path = med.path;
    cfg.ring = ring;
    cfg.timeout_ms = timeout_ms;
    cfg.claim_wait_ms = 6000;
    struct cxl_kv *kv = NULL;
    int rc = cxl_kv_open(&cfg, &kv);
    CHECK_EQ(rc, 0);
    return rc ? NULL : kv;
}

/* Run a command over the ring; r holds the result. */
static int ring_cmd(struct cxl_kv *kv, struct cxl_kv_result *r, int argc, const char *const *argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return cxl_kv_command(kv, argc, argv, lens, r);
}

#define RING(kv, r, ...) ring_cmd(kv, r, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), \
                                  (const char *[]){__VA_ARGS__})

static int reply_is(const struct cxl_kv_result *r, const char *resp)
{
    size_t n = strlen(resp);
    if (r->status == CXL_KV_REPLY && r->len == n && memcmp(r->data, resp, n) == 0)
        return 1;
    fprintf(stderr, "  reply: status %d '%.*s', expected '%s'\n", r->status, (int)(r->len < 200 ? r->len : 200),
            (const char *)r->data, resp);
    return 0;
}

static char tcpbuf[1 << 21];
#define TCP(...) (redis_tcp(&redis, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), \
                            (const char *[]){__VA_ARGS__}, tcpbuf, sizeof tcpbuf) == 0 ? tcpbuf : "(tcp failed)")

static int wait_result(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    int rc = cxl_kv_wait(kv, r);
    return rc == 1 ? r->status : rc < 0 ? rc : -999;
}

static int start_redis(void)
{
    int rc = redis_start(&redis, module, module_args, logdir);
    if (rc)
        fprintf(stderr, "redis-server did not start; see %s\n", redis.log);
    return rc;
}

/* --- ops --------------------------------------------------------------------------- */

static void test_ops(void)
{
    struct cxl_kv *kv = kv_open(0, 5000);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_set(kv, "k", 1, "v", 1, 0, 7), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK_EQ(r.tag, 7);
    CHECK(strcmp(TCP("GET", "k"), "$1\r\nv\r\n") == 0);
    CHECK(strcmp(TCP("SET", "t", "fromtcp"), "+OK\r\n") == 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "t", 1, 8), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(r.len == 7 && memcmp(r.data, "fromtcp", 7) == 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "missing", 7, 9), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_NIL);
    CHECK_EQ(cxl_kv_submit_del(kv, "k", 1, 10), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_INT);
    CHECK_EQ(r.integer, 1);
    CHECK_EQ(cxl_kv_submit_del(kv, "k", 1, 11), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_INT);
    CHECK_EQ(r.integer, 0);
    CHECK(strcmp(TCP("EXISTS", "k"), ":0\r\n") == 0);
    /* expiry on the fast path */
    CHECK_EQ(cxl_kv_submit_set(kv, "e", 1, "x", 1, 100000, 12), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    long long pttl = atoll(TCP("PTTL", "e") + 1);
    CHECK(pttl > 90000 && pttl <= 100000);
    /* SET without expiry clears it, as SET does */
    CHECK_EQ(cxl_kv_submit_set(kv, "e", 1, "y", 1, 0, 13), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(strcmp(TCP("PTTL", "e"), ":-1\r\n") == 0);
    /* SET over other encodings and types: a shared integer, a list */
    CHECK(strcmp(TCP("SET", "n", "5"), "+OK\r\n") == 0);
    CHECK_EQ(cxl_kv_submit_set(kv, "n", 1, "a longer string value", 21, 0, 20), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(strcmp(TCP("GET", "n"), "$21\r\na longer string value\r\n") == 0);
    CHECK_EQ(cxl_kv_submit_set(kv, "n", 1, "x", 1, 0, 21), 0); /* shrink in place */
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(strcmp(TCP("GET", "n"), "$1\r\nx\r\n") == 0);
    CHECK(strcmp(TCP("RPUSH", "alist", "a"), ":1\r\n") == 0);
    CHECK_EQ(cxl_kv_submit_set(kv, "alist", 5, "now a string", 12, 0, 22), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(strcmp(TCP("TYPE", "alist"), "+string\r\n") == 0);
    CHECK_EQ(cxl_kv_submit_set(kv, "zero", 4, "", 0, 0, 23), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(strcmp(TCP("EXISTS", "zero"), ":1\r\n") == 0);
    /* generic commands: the reply is Redis's own RESP */
    RING(kv, &r, "INCR", "c");
    RING(kv, &r, "INCR", "c");
    CHECK(RING(kv, &r, "INCR", "c") == CXL_KV_REPLY && reply_is(&r, ":3\r\n"));
    /* blocking commands: data at once is the answer; nothing yet is an
     * error that says so (a ring request cannot block), never a timeout's nil */
    CHECK(RING(kv, &r, "RPUSH", "bl", "x") == CXL_KV_REPLY && reply_is(&r, ":1\r\n"));
    CHECK(RING(kv, &r, "BLPOP", "bl", "5") == CXL_KV_REPLY && reply_is(&r, "*2\r\n$2\r\nbl\r\n$1\r\nx\r\n"));
    CHECK(RING(kv, &r, "BLPOP", "bl", "0.1") == CXL_KV_ERR && r.len > 20 &&
          memcmp(r.data, "ERR BLPOP would block", 21) == 0);
    CHECK(RING(kv, &r, "BZPOPMIN", "nozset", "0") == CXL_KV_ERR);
    CHECK(RING(kv, &r, "XREAD", "BLOCK", "10", "STREAMS", "nostream", "$") == CXL_KV_ERR);
    CHECK(RING(kv, &r, "XREAD", "STREAMS", "nostream", "0") == CXL_KV_REPLY && reply_is(&r, "*-1\r\n"));
    CHECK(RING(kv, &r, "LPOP", "bl") == CXL_KV_REPLY && reply_is(&r, "$-1\r\n"));
    CHECK(RING(kv, &r, "HSET", "h", "a", "1", "b", "2") == CXL_KV_REPLY && reply_is(&r, ":2\r\n"));
    CHECK(RING(kv, &r, "HGETALL", "h") == CXL_KV_REPLY &&
          reply_is(&r, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"));
    CHECK(strcmp(TCP("HGET", "h", "b"), "$1\r\n2\r\n") == 0);
    CHECK(RING(kv, &r, "LPUSH", "l", "a", "b") == CXL_KV_REPLY && reply_is(&r, ":2\r\n"));
    CHECK(RING(kv, &r, "LRANGE", "l", "0", "-1") == CXL_KV_REPLY && reply_is(&r, "*2\r\n$1\r\nb\r\n$1\r\na\r\n"));
    CHECK(strcmp(TCP("LLEN", "l"), ":2\r\n") == 0);
    CHECK(RING(kv, &r, "EXPIRE", "l", "100") == CXL_KV_REPLY && reply_is(&r, ":1\r\n"));
    CHECK(RING(kv, &r, "TTL", "l") == CXL_KV_REPLY && (reply_is(&r, ":100\r\n") || reply_is(&r, ":99\r\n")));
    CHECK(RING(kv, &r, "GET", "nothing") == CXL_KV_REPLY && reply_is(&r, "$-1\r\n"));
    CHECK(RING(kv, &r, "PING") == CXL_KV_REPLY && reply_is(&r, "+PONG\r\n"));
    /* errors: Redis's, through both paths */
    CHECK(RING(kv, &r, "NOSUCHCOMMAND", "x") == CXL_KV_REPLY && r.len > 20 &&
          memcmp(r.data, "-ERR unknown command", 20) == 0);
    CHECK(RING(kv, &r, "INCR", "h") == CXL_KV_REPLY && r.len > 10 && memcmp(r.data, "-WRONGTYPE", 10) == 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "l", 1, 14), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_ERR);
    CHECK(r.len > 9 && memcmp(r.data, "WRONGTYPE", 9) == 0);
    /* binary-safe keys and values, and the empty key */
    static const char bin[] = "a\0b\r\nc$*";
    CHECK_EQ(cxl_kv_submit_set(kv, "bin\0key", 7, bin, sizeof bin - 1, 0, 15), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    const char *argv[] = {"GET", "bin\0key"};
    size_t lens[] = {3, 7};
    CHECK_EQ(cxl_kv_command(kv, 2, argv, lens, &r), CXL_KV_REPLY);
    CHECK(r.len == 4 + 8 + 2 && memcmp(r.data + 4, bin, 8) == 0);
    CHECK_EQ(cxl_kv_submit_set(kv, "", 0, "empty", 5, 0, 16), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK(strcmp(TCP("GET", ""), "$5\r\nempty\r\n") == 0);
    /* a pipeline keeps its order */
    for (int i = 0; i < 100; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "p%d", i);
        CHECK_EQ(cxl_kv_submit_set(kv, key, (uint32_t)n, key, (uint32_t)n, 0, (uint64_t)(2 * i)), 0);
        CHECK_EQ(cxl_kv_submit_get(kv, key, (uint32_t)n, (uint64_t)(2 * i + 1)), 0);
    }
    for (uint64_t i = 0; i < 200; i++) {
        CHECK_EQ(cxl_kv_wait(kv, &r), 1);
        CHECK_EQ(r.tag, i);
        if (i % 2) {
            char key[16];
            int n = snprintf(key, sizeof key, "p%d", (int)(i / 2));
            CHECK(r.status == CXL_KV_OK && r.len == (uint32_t)n && memcmp(r.data, key, (size_t)n) == 0);
        }
    }
    CHECK_EQ(cxl_kv_inflight(kv), 0);
    cxl_kv_close(kv);
}

/* --- sizes ------------------------------------------------------------------------- */

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static void test_sizes(void)
{
    static const uint32_t sizes[] = {0, 1, 63, 64, 65, 4031, 4032, 4033, 4096, 65536, 262144, 1 << 20};
    struct cxl_kv *kv = kv_open(1, 10000);
    struct cxl_kv_result r;
    uint8_t *buf = malloc((1 << 20) + 64);
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint32_t n = sizes[i];
        char key[32];
        snprintf(key, sizeof key, "size:%u", n);
        pattern(buf, n, i);
        CHECK_EQ(cxl_kv_submit_set(kv, key, (uint32_t)strlen(key), buf, n, 0, i), 0);
        CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
        CHECK_EQ(cxl_kv_submit_get(kv, key, (uint32_t)strlen(key), i), 0);
        CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
        CHECK(r.len == n && memcmp(r.data, buf, n) == 0);
        char want[32];
        snprintf(want, sizeof want, ":%u\r\n", n);
        CHECK(strcmp(TCP("STRLEN", key), want) == 0);
        /* the generic path carries the same bytes as a RESP bulk */
        CHECK(RING(kv, &r, "GET", key) == CXL_KV_REPLY);
        int h = snprintf(want, sizeof want, "$%u\r\n", n);
        CHECK(r.len == (uint32_t)h + n + 2 && memcmp(r.data, want, (size_t)h) == 0 &&
              memcmp(r.data + h, buf, n) == 0);
        /* and TCP sees exactly what the ring wrote */
        TCP("GET", key);
        CHECK(memcmp(tcpbuf + h, buf, n < sizeof tcpbuf - 64 ? n : 0) == 0);
    }
    /* too large to send: refused in the client, nothing sent */
    uint32_t max = cxl_kv_geometry(kv)->max_payload;
    CHECK_EQ(cxl_kv_submit_get(kv, buf, max + CXL_MSG_HDR_MAX, 99), CXL_E2BIG); /* even with a small header */
    CHECK_EQ(cxl_kv_inflight(kv), 0);
    /* too large to answer: an error reply (the value is set over TCP) */
    uint8_t *big = malloc((size_t)max + 100);
    memset(big, 'z', (size_t)max + 100);
    struct cxl_conn *c;
    CHECK_EQ(cxl_conn_open(redis.addr, NULL, &c), 0);
    const char *argv[] = {"SET", "huge", (const char *)big};
    size_t lens[] = {3, 4, (size_t)max + 100};
    const uint8_t *rep;
    size_t rlen;
    CHECK_EQ(cxl_conn_send(c, 3, argv, lens), 0);
    CHECK_EQ(cxl_conn_read(c, &rep, &rlen), 0);
    cxl_conn_close(c);
    CHECK_EQ(cxl_kv_submit_get(kv, "huge", 4, 100), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_ERR);
    CHECK(memmem(r.data, r.len, "exceeds the ring's largest message", 34) != NULL);
    CHECK(RING(kv, &r, "PING") == CXL_KV_REPLY); /* the ring is fine */
    free(big);
    free(buf);
    cxl_kv_close(kv);
}

/* --- parallel processes -------------------------------------------------------------- */

static pid_t spawn_tool(const char *const *extra)
{
    const char *argv[32] = {tool, "--path", med.path, "--quiet"};
    int n = 4;
    for (int i = 0; extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid;
    int out = open("/dev/null", O_WRONLY);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    int rc = posix_spawn(&pid, tool, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out);
    return rc == 0 ? pid : -1;
}

static int wait_exit(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_parallel(void)
{
    char csv[400];
    snprintf(csv, sizeof csv, "%s/parallel.csv", logdir);
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        char ring[4], prefix[16];
        snprintf(ring, sizeof ring, "%d", i);
        snprintf(prefix, sizeof prefix, "proc%d:", i);
        const char *extra[] = {"--ring", ring, "--bench", "20000", "--pipeline", "--max-inflight", "32",
                               "--ops", "set,get,incr,del", "--csv", csv, "--label", "parallel",
                               "--key-prefix", prefix, NULL};
        pids[i] = spawn_tool(extra);
    }
    for (int i = 0; i < 4; i++)
        CHECK_EQ(wait_exit(pids[i]), 0);
}

/* --- a client killed mid-pipeline ------------------------------------------------------- */

static void test_killed_client(void)
{
    const char *extra[] = {"--ring", "0", "--bench", "100000000", "--pipeline", "--max-inflight", "512",
                           "--ops", "set", "--csv", "/dev/null", NULL};
    pid_t pid = spawn_tool(extra);
    harness_sleep_ms(400);
    kill(pid, SIGKILL);
    CHECK_EQ(wait_exit(pid), 128 + SIGKILL);
    uint64_t t0 = cxl_now_ns();
    struct cxl_kv *kv = kv_open(0, 5000); /* same host: reclaimed once its pid is gone */
    uint64_t ms = (cxl_now_ns() - t0) / 1000000;
    printf("killed client's ring reclaimed in %llu ms\n", (unsigned long long)ms);
    CHECK(ms < 3000);
    struct cxl_kv_result r;
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(cxl_kv_submit_set(kv, "after-kill", 10, "ok", 2, 0, (uint64_t)i), 0);
        CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
        CHECK_EQ(r.tag, (uint64_t)i);
    }
    CHECK(RING(kv, &r, "GET", "after-kill") == CXL_KV_REPLY && reply_is(&r, "$2\r\nok\r\n"));
    struct cxl_kv_stats st;
    cxl_kv_get_stats(kv, &st);
    printf("stale responses of the dead client discarded: %llu\n", (unsigned long long)st.stale);
    cxl_kv_close(kv);
}

/* --- Redis restarted under a running client ---------------------------------------------- */

static void test_restart(void)
{
    struct cxl_kv *kv = kv_open(2, 1500);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_set(kv, "a", 1, "1", 1, 0, 1), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    uint64_t format_id = cxl_kv_geometry(kv)->format_id;
    redis_stop(&redis, SIGKILL);
    /* a clear error while Redis is down */
    CHECK_EQ(cxl_kv_submit_get(kv, "a", 1, 2), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_ESERVER);
    printf("while Redis is down: %.*s\n", (int)r.len, (const char *)r.data);
    /* a request sent while it is down is answered once it is back */
    cxl_kv_close(kv);
    kv = kv_open(2, 15000);
    CHECK_EQ(cxl_kv_submit_set(kv, "b", 1, "2", 1, 0, 3), 0);
    cxl_kv_flush(kv);
    CHECK_EQ(start_redis(), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    CHECK_EQ(r.tag, 3);
    CHECK(strcmp(TCP("GET", "b"), "$1\r\n2\r\n") == 0);
    /* the restarted server attached to the same layout */
    struct cxl_kv *kv2 = kv_open(3, 5000);
    CHECK_EQ(cxl_kv_geometry(kv2)->format_id, format_id);
    cxl_kv_close(kv2);
    cxl_kv_close(kv);
}

/* --- a scribbling host ---------------------------------------------------------------------- */

/* Another mapping of the medium, as a hostile host has. */
static struct cxl_layout *attacker_layout(struct cxl_medium **m)
{
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = med.path;
    cfg.map_size = 0;
    struct cxl_layout *l = NULL;
    if (cxl_medium_open(&cfg, m) == 0)
        cxl_layout_attach(*m, &l);
    return l;
}

static long long ring_stat(int ring, const char *name)
{
    struct cxl_conn *c;
    long long v = -1;
    if (cxl_conn_open(redis.addr, NULL, &c) != 0)
        return -1;
    const char *argv[] = {"CXLRING.STATS"};
    const uint8_t *rep;
    size_t len;
    if (cxl_conn_call(c, 1, argv, &rep, &len) == 0) {
        /* flat text search: "+ring\r\n:<ring>\r\n" ... "+name\r\n:<v>" */
        char needle[64];
        snprintf(needle, sizeof needle, "+ring\r\n:%d\r\n", ring);
        const char *p = memmem(rep, len, needle, strlen(needle));
        snprintf(needle, sizeof needle, "+%s\r\n:", name);
        const char *q = p ? memmem(p, len - (size_t)((const uint8_t *)p - rep), needle, strlen(needle)) : NULL;
        if (q)
            v = atoll(q + strlen(needle));
    }
    cxl_conn_close(c);
    return v;
}

/* An honest client on another ring works the whole time. */
static void honest_round(struct cxl_kv *kv, int n)
{
    struct cxl_kv_result r;
    if (!kv)
        return; /* the open already failed a check */
    for (int i = 0; i < n; i++) {
        char v[16];
        int len = snprintf(v, sizeof v, "%d", i);
        CHECK_EQ(cxl_kv_submit_set(kv, "honest", 6, v, (uint32_t)len, 0, 1), 0);
        CHECK_EQ(cxl_kv_submit_get(kv, "honest", 6, 2), 0);
        CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
        CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
        CHECK(r.len == (uint32_t)len && memcmp(r.data, v, (size_t)len) == 0);
    }
}

static void test_garbage(void)
{
    struct cxl_medium *am;
    struct cxl_layout *al = attacker_layout(&am);
    CHECK(al != NULL);
    struct cxl_kv *honest = kv_open(1, 5000);
    uint64_t t0 = cxl_now_ns();

    /* 1. random bytes published as requests on an unclaimed ring */
    struct cxl_ring_ctl *r3 = cxl_ring_ctl_of(al, 3);
    uint8_t *slots = cxl_queue_slots_of(al, 3, CXL_REQ);
    uint32_t slot = cxl_layout_geometry(al)->slot_size, nslots = cxl_layout_geometry(al)->slots;
    uint64_t tail = r3->req_tail.value;
    cxl_random_bytes(slots + (tail % nslots) * slot, slot);
    __atomic_store_n(&r3->req_tail.value, tail + 1, __ATOMIC_RELEASE);
    honest_round(honest, 50);
    CHECK(ring_stat(3, "resyncs") >= 1);
    /* 2. a well-formed message from no session, and one with a bad op */
    struct cxl_queue q;
    CHECK_EQ(cxl_queue_init(&q, al, 3, CXL_REQ, CXL_PRODUCER), 0);
    struct cxl_msg_hdr h = {.op = CXL_KV_GET, .arg0 = 3, .session = 12345};
    uint8_t *payload;
    CHECK_EQ(cxl_queue_reserve(&q, &h, 3, &payload), 0);
    memcpy(payload, "key", 3);
    h = (struct cxl_msg_hdr){.op = 77, .session = cxl_owner_gen(cxl_ring_ctl_of(al, 3)->owner_word)};
    CHECK_EQ(cxl_queue_reserve(&q, &h, 0, &payload), 0);
    cxl_queue_submit(&q);
    honest_round(honest, 50);
    CHECK(ring_stat(3, "rejected") >= 1);
    CHECK_EQ(ring_stat(3, "requests"), 0); /* nothing from the garbage was executed */
    /* 3. a client claims ring 3 afterwards and gets clean service */
    struct cxl_kv *kv3 = kv_open(3, 5000);
    honest_round(kv3, 50);
    cxl_kv_close(kv3);

    /* 4. an impossible index on ring 2: the ring is broken until a client
     *    claims it (which resets the index it owns) */
    struct cxl_ring_ctl *r2 = cxl_ring_ctl_of(al, 2);
    __atomic_store_n(&r2->req_tail.value, (1ull << 63) + 7, __ATOMIC_RELEASE);
    harness_sleep_ms(100);
    honest_round(honest, 20);
    CHECK_EQ(ring_stat(2, "broken"), 1);
    struct cxl_kv *kv2 = kv_open(2, 5000);
    honest_round(kv2, 20);
    CHECK_EQ(ring_stat(2, "broken"), 0);
    cxl_kv_close(kv2);

    /* 5. a live ring clobbered under its client: garbage messages pushed
     *    past its tail, its index rewound. Every request completes (with its
     *    value or an error), none hangs, and the ring recovers. */
    struct cxl_kv *victim = kv_open(0, 2000);
    struct cxl_ring_ctl *r0 = cxl_ring_ctl_of(al, 0);
    uint8_t *s0 = cxl_queue_slots_of(al, 0, CXL_REQ);
    struct cxl_kv_result r;
    uint64_t ok = 0, errors = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 20; i++) {
            char v[16];
            int len = snprintf(v, sizeof v, "%d.%d", round, i);
            CHECK_EQ(cxl_kv_submit_set(victim, "victim", 6, v, (uint32_t)len, 0, 0), 0);
        }
        cxl_kv_flush(victim);
        uint64_t t = r0->req_tail.value;
        if (round % 2 == 0) { /* garbage after the tail, published */
            cxl_random_bytes(s0 + (t % nslots) * slot, slot);
            __atomic_store_n(&r0->req_tail.value, t + 1, __ATOMIC_RELEASE);
        } else { /* flip bits in the newest requests */
            uint8_t *p = s0 + ((t - 1) % nslots) * slot;
            p[(unsigned)round % 64] ^= 0x5a;
        }
        while (cxl_kv_inflight(victim)) {
            int rc = cxl_kv_wait(victim, &r);
            CHECK_EQ(rc, 1);
            if (rc != 1)
                break;
            if (r.status == CXL_KV_OK)
                ok++;
            else
                errors++;
        }
    }
    printf("clobbered ring: %llu requests answered OK, %llu failed with an error, none hung\n",
           (unsigned long long)ok, (unsigned long long)errors);
    CHECK(errors > 0);
    /* afterwards: clean service again (after at most one more resync) */
    cxl_kv_close(victim);
    victim = kv_open(0, 5000);
    honest_round(victim, 100);
    cxl_kv_close(victim);
    honest_round(honest, 20);
    CHECK(strcmp(TCP("PING"), "+PONG\r\n") == 0);
    printf("garbage scenarios done in %.1f s; ring 0 resyncs %lld rejected %lld\n",
           (cxl_now_ns() - t0) / 1e9, ring_stat(0, "resyncs"), ring_stat(0, "rejected"));
    cxl_kv_close(honest);
    cxl_layout_close(al);
    cxl_medium_close(am);
}

/* --- a ring forged into the exhausted range ------------------------------------------------ */

static void forge_all(struct cxl_layout *al, uint32_t ring, uint64_t v)
{
    struct cxl_ring_ctl *c = cxl_ring_ctl_of(al, ring);
    __atomic_store_n(&c->req_tail.value, v, __ATOMIC_RELEASE);
    __atomic_store_n(&c->req_head.value, v, __ATOMIC_RELEASE);
    __atomic_store_n(&c->resp_tail.value, v, __ATOMIC_RELEASE);
    __atomic_store_n(&c->resp_head.value, v, __ATOMIC_RELEASE);
}

/* Run the one-shot client; its stdout+stderr in out. Returns its exit status. */
static int oneshot(const char *ring, const char *cmd, char *out, size_t cap)
{
    char line[900];
    snprintf(line, sizeof line, "%s --path %s --ring %s --timeout-ms 2000 %s", tool, med.path, ring, cmd);
    return harness_run(line, out, cap);
}

/* Every index of a ring set to 2^63 - 1 (valid, but no room to move): a free
 * ring is rebased before anyone claims it; a ring in use is rebased under
 * its owner, which is told why and claims again; the one-shot client says
 * what happened; a Redis started on such a medium rebases it at once. */
static void test_exhausted(void)
{
    struct cxl_medium *am;
    struct cxl_layout *al = attacker_layout(&am);
    CHECK(al != NULL);
    if (!al)
        return;
    const uint64_t worst = (1ull << 63) - 1;
    /* a free ring */
    long long repairs = ring_stat(1, "repairs");
    forge_all(al, 1, worst);
    harness_sleep_ms(200); /* the server's housekeeping, every 10 ms */
    CHECK_EQ(ring_stat(1, "repairs"), repairs + 1);
    char out[2000];
    int rc = oneshot("1", "SET exhausted:1 yes", out, sizeof out);
    if (rc != 0 || strcmp(out, "OK\n") != 0)
        fprintf(stderr, "  one-shot on a rebased ring: exit %d, '%s'\n", rc, out);
    CHECK(rc == 0 && strcmp(out, "OK\n") == 0);
    /* a ring in use: every request completes, each failure says why, and
     * the ring serves again (the same claim, or a new one after CXL_ELOST) */
    struct cxl_kv *kv = kv_open(2, 300);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_set(kv, "exhausted:2", 11, "a", 1, 0, 1), 0);
    CHECK_EQ(wait_result(kv, &r), CXL_KV_OK);
    forge_all(al, 2, worst);
    int served = 0, failures = 0, reclaims = 0, silent = 0;
    for (int i = 0; i < 100 && !served; i++) {
        rc = cxl_kv_submit_get(kv, "exhausted:2", 11, 2);
        if (rc == 0)
            rc = wait_result(kv, &r);
        served = rc == CXL_KV_OK && r.len == 1 && r.data[0] == 'a';
        if (served)
            break;
        failures++;
        silent += rc < 0 && rc != CXL_EAGAIN && !*cxl_last_error() && !(rc == r.status && r.len);
        if (rc == CXL_ELOST) {
            printf("ring in use, forged exhausted: %s\n", cxl_last_error());
            cxl_kv_close(kv);
            kv = kv_open(2, 300);
            reclaims++;
        }
    }
    printf("ring in use, forged exhausted: served again after %d failed requests, %d new claims\n", failures,
           reclaims);
    CHECK(served);
    CHECK_EQ(silent, 0);
    /* one index only (the server's response tail) while the ring is idle:
     * the housekeeping rebases the ring all the same and its owner is told
     * so (CXL_ELOST), then served again */
    __atomic_store_n(&cxl_ring_ctl_of(al, 2)->resp_tail.value, 1ull << 62, __ATOMIC_RELEASE);
    harness_sleep_ms(200);
    served = reclaims = 0;
    for (int i = 0; i < 100 && !served; i++) {
        rc = cxl_kv_submit_get(kv, "exhausted:2", 11, 3);
        if (rc == 0)
            rc = wait_result(kv, &r);
        served = rc == CXL_KV_OK && r.len == 1 && r.data[0] == 'a';
        if (rc == CXL_ELOST) {
            cxl_kv_close(kv);
            kv = kv_open(2, 300);
            reclaims++;
        }
    }
    printf("ring in use, its response tail forged exhausted: %s after %d new claims\n",
           served ? "served again" : "NOT served", reclaims);
    CHECK(served);
    CHECK_EQ(reclaims, 1);
    cxl_kv_close(kv);
    /* the one-shot client, right after the forgery: a clear answer */
    forge_all(al, 3, worst);
    rc = oneshot("3", "PING", out, sizeof out);
    printf("one-shot right after the forgery: exit %d: %s", rc, out);
    /* (claimed before the server's housekeeping rebased it: it says which index is wrong) */
    CHECK(rc == 0 ? strcmp(out, "PONG\n") == 0
                  : strstr(out, "reset the ring") != NULL || strstr(out, "9223372036854775807 out of range") != NULL);
    /* and the ring serves again once the housekeeping (10 ms) rebased it:
     * a one-shot that started before that may still see the forgery */
    for (int i = 0; i < 20 && (rc = oneshot("3", "PING", out, sizeof out)) != 0; i++)
        harness_sleep_ms(50);
    if (rc != 0)
        fprintf(stderr, "  one-shot again: exit %d: %s", rc, out);
    CHECK_EQ(rc, 0);
    /* while Redis is down, then a restart */
    redis_stop(&redis, SIGKILL);
    forge_all(al, 0, worst);
    CHECK_EQ(start_redis(), 0);
    CHECK_EQ(oneshot("0", "SET exhausted:0 again", out, sizeof out), 0);
    CHECK(strcmp(out, "OK\n") == 0);
    CHECK_EQ(ring_stat(0, "repairs"), 1);
    cxl_layout_close(al);
    cxl_medium_close(am);
}

/* --- bad module arguments: Redis refuses to start, the log says why ----------------------------- */

static void test_bad_args(void)
{
    char path_arg[300], other[300], open_arg[320], open_file[300];
    snprintf(path_arg, sizeof path_arg, "path=%s", med.path); /* formatted: 4 rings */
    snprintf(other, sizeof other, "path=%s.new", med.path);
    /* a medium another local user could have made: writable by everyone */
    snprintf(open_file, sizeof open_file, "%s.open", med.path);
    snprintf(open_arg, sizeof open_arg, "path=%s", open_file);
    int fd = open(open_file, O_RDWR | O_CREAT | O_TRUNC, 0666);
    CHECK(fd >= 0 && fchmod(fd, 0666) == 0 && ftruncate(fd, 16 << 20) == 0);
    if (fd >= 0)
        close(fd);
    struct { const char *args[4]; const char *why; } cases[] = {
        {{other, "rings=0", NULL}, "rings: 0 is out of range"},
        {{other, "slot_size=1000", NULL}, "slot_size: 1000 is not a power of two"},
        {{other, "serve=bogus", NULL}, "serve: 'bogus' is not"},
        {{other, "frobnicate=1", NULL}, "unknown argument 'frobnicate'"},
        {{other, "map_size=12Q", NULL}, "map_size: unknown size unit"},
        {{other, "norings", NULL}, "'norings' is not key=value"},
        {{"path=/tmp", NULL}, "not a regular file"},
        {{path_arg, "rings=8", NULL}, "formatted with 4 rings, 8 were asked for"},
        {{open_arg, NULL}, "writable by every local user (mode 0666)"},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct redis_proc bad = {0};
        int rc = redis_start(&bad, module, cases[i].args, logdir);
        CHECK(rc != 0);
        if (rc == 0)
            redis_stop(&bad, SIGKILL);
        int found = harness_file_has(bad.log, cases[i].why) && harness_file_has(bad.log, "cxl ring: cannot load");
        if (!found)
            fprintf(stderr, "  case %u: log %s lacks '%s'\n", i, bad.log, cases[i].why);
        CHECK(found);
    }
    char newfile[320];
    snprintf(newfile, sizeof newfile, "%s.new", med.path);
    unlink(newfile);
    /* allowed explicitly, the same file serves */
    struct redis_proc ok = {0};
    const char *allow[] = {open_arg, "allow_foreign_medium=1", "map_size=16M", NULL};
    CHECK_EQ(redis_start(&ok, module, allow, logdir), 0);
    redis_stop(&ok, SIGTERM);
    unlink(open_file);
}

/* --- main ------------------------------------------------------------------------------------- */

static const struct harness_scenario tests[] = {
    {"ops", test_ops},         {"sizes", test_sizes},     {"parallel", test_parallel},
    {"killed", test_killed_client}, {"restart", test_restart}, {"garbage", test_garbage},
    {"exhausted", test_exhausted}, {"badargs", test_bad_args},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *build = argc > 1 ? argv[1] : "build";
    if (harness_paths(build, "redis_ring", module, tool, mgr_tool, logdir) != 0)
        return 1;
    fixture_path(&med, "/dev/shm", "redis");
    char path_arg[300];
    snprintf(path_arg, sizeof path_arg, "path=%s", med.path);
    module_args[0] = path_arg;
    if (start_redis() != 0)
        return 1;
    harness_run_scenarios(argc, argv, tests, sizeof tests / sizeof tests[0]);
    redis_stop(&redis, SIGTERM);
    CHECK(!redis_sanitizer_report(&redis));
    unlink(med.path);
    return check_summary("redis_ring");
}
