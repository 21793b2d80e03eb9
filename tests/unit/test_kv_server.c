/* test_kv_server.c - the serving engine and the client library in one
 * process, with a small in-memory executor standing in for Redis (the real
 * Redis runs in tests/redis_ring.c). Runs under ASan/UBSan. Covers request
 * validation, stale sessions, full response queues (parked replies), replies
 * too large for the ring, corrupt request streams (RESYNC), broken rings and
 * their recovery, lost requests, timeouts and the server heartbeat. */
#define _GNU_SOURCE
#include <pthread.h>

#include "check.h"
#include "fixture.h"
#include "kv_fixture.h"
#include "cxl/kv.h"
#include "cxl/kvserver.h"
#include "cxl/util.h"
#include "ring/layout.h"

/* --- a tiny executor: one key/value table ---------------------------------------- */

#define NKEYS 64
struct table {
    char key[NKEYS][32];
    uint8_t *val[NKEYS];
    uint32_t vlen[NKEYS];
    int begun, ended, executed;
    uint32_t big_reply; /* reply this many bytes to CMD */
};

static int find(struct table *t, const uint8_t *k, uint32_t n, int create)
{
    for (int i = 0; i < NKEYS; i++)
        if (t->val[i] && strlen(t->key[i]) == n && memcmp(t->key[i], k, n) == 0)
            return i;
    for (int i = 0; create && i < NKEYS && n < 32; i++)
        if (!t->val[i]) {
            memcpy(t->key[i], k, n);
            t->key[i][n] = '\0';
            return i;
        }
    return -1;
}

static void ex_begin(void *ud) { ((struct table *)ud)->begun++; }
static void ex_end(void *ud) { ((struct table *)ud)->ended++; }

static void ex_execute(void *ud, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    struct table *t = ud;
    t->executed++;
    int i;
    switch (r->op) {
    case CXL_KV_SET:
        if ((i = find(t, r->key, r->klen, 1)) < 0)
            return cxl_kv_reply_error(rp, "ERR table full");
        free(t->val[i]);
        t->val[i] = malloc(r->vlen + 1);
        memcpy(t->val[i], r->val, r->vlen);
        t->vlen[i] = r->vlen;
        return cxl_kv_reply(rp, CXL_KV_OK, "", 0);
    case CXL_KV_GET:
        if ((i = find(t, r->key, r->klen, 0)) < 0)
            return cxl_kv_reply(rp, CXL_KV_NIL, "", 0);
        return cxl_kv_reply(rp, CXL_KV_OK, t->val[i], t->vlen[i]);
    case CXL_KV_DEL:
        if ((i = find(t, r->key, r->klen, 0)) >= 0) {
            free(t->val[i]);
            t->val[i] = NULL;
        }
        return cxl_kv_reply_int(rp, i >= 0);
    case CXL_KV_CMD: {
        if (t->big_reply) {
            uint8_t *b = calloc(1, t->big_reply);
            cxl_kv_reply(rp, CXL_KV_REPLY, b, t->big_reply);
            free(b);
            return;
        }
        struct cxl_kv_args it;
        const uint8_t *a;
        uint32_t n, count = 0;
        cxl_kv_args_init(&it, r);
        while (cxl_kv_args_next(&it, &a, &n) == 1)
            count++;
        char out[32];
        int len = snprintf(out, sizeof out, ":%u\r\n", count); /* argc back */
        return cxl_kv_reply(rp, CXL_KV_REPLY, out, (uint32_t)len);
    }
    }
}

static struct table table;
static struct cxl_kv_server *srv;
static struct fixture fx;

static void serve(int passes)
{
    for (int i = 0; i < passes; i++)
        cxl_kv_server_poll(srv);
}

static struct cxl_kv *client(int ring, uint32_t timeout_ms)
{
    return kv_fixture_client(&fx, ring, NULL, timeout_ms, 0);
}

/* The result's text (not NUL-terminated) contains s. */
static int has(const struct cxl_kv_result *r, const char *s)
{
    return memmem(r->data, r->len, s, strlen(s)) != NULL;
}

/* Submit-flush, serve, poll one result. */
static int roundtrip(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    cxl_kv_flush(kv);
    for (int i = 0; i < 1000; i++) {
        serve(1);
        int rc = cxl_kv_poll(kv, r);
        if (rc)
            return rc == 1 ? r->status : rc;
    }
    return -999;
}

static void test_basic(void)
{
    struct cxl_kv *kv = client(0, 1000);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_set(kv, "a", 1, "hello", 5, 0, 1), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK_EQ(cxl_kv_submit_get(kv, "a", 1, 2), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK(r.len == 5 && memcmp(r.data, "hello", 5) == 0 && r.tag == 2);
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 3), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_NIL);
    CHECK_EQ(cxl_kv_submit_del(kv, "a", 1, 4), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_INT);
    CHECK_EQ(r.integer, 1);
    const char *argv[] = {"X", "y", "z"};
    size_t lens[] = {1, 1, 1};
    CHECK_EQ(cxl_kv_submit_command(kv, 3, argv, lens, 5), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_REPLY);
    CHECK(r.len == 4 && memcmp(r.data, ":3\r\n", 4) == 0);
    CHECK_EQ(table.begun, 0); /* poll() leaves locking to its caller */
    /* a batch: one pass serves many requests */
    for (int i = 0; i < 40; i++)
        CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, (uint64_t)i), 0);
    cxl_kv_flush(kv);
    CHECK_EQ(cxl_kv_server_pending(srv), 1);
    serve(1);
    CHECK_EQ(cxl_kv_server_pending(srv), 0);
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(cxl_kv_poll(kv, &r), 1);
        CHECK_EQ(r.tag, (uint64_t)i);
    }
    cxl_kv_close(kv);
}

/* The serving loop on its own thread: begin/end around its polls. */
static volatile int stop_run;
static void *run_thread(void *arg)
{
    cxl_kv_server_run(arg, &stop_run);
    return NULL;
}

static void test_run_loop(void)
{
    struct cxl_kv *kv = client(0, 2000);
    struct cxl_kv_result r;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, run_thread, srv), 0);
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(cxl_kv_submit_set(kv, "run", 3, "x", 1, 0, (uint64_t)i), 0);
        CHECK_EQ(cxl_kv_wait(kv, &r), 1);
        CHECK(r.status == CXL_KV_OK && r.tag == (uint64_t)i);
    }
    stop_run = 1;
    pthread_join(t, NULL);
    CHECK(table.begun > 0);
    CHECK_EQ(table.begun, table.ended);
    cxl_kv_close(kv);
}

/* Requests the engine must refuse without executing. */
static void test_rejects(void)
{
    struct cxl_kv *kv = client(1, 1000);
    struct cxl_kv_result r;
    int executed = table.executed;
    struct { uint16_t op; uint32_t len, arg0, arg1, session_delta; const char *why; } bad[] = {
        {CXL_KV_GET, 4, 5, 0, 0, "key length"},
        {CXL_KV_SET, 4, 9, 0, 0, "past the payload"},
        {CXL_KV_SET, 4, 1, 0x8, 0, "unknown flags"},
        {CXL_KV_CMD, 4, 0, 0, 0, "argc 0"},
        {CXL_KV_CMD, 4, 2, 0, 0, "past the payload"},
        {99, 0, 0, 0, 0, "unknown op"},
        {CXL_KV_GET, 1, 1, 0, 1, "session"},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* written by hand into the client's queue position (as a buggy or
         * hostile client would), then matched by the client as its own */
        CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, i), 0); /* a pending entry */
        cxl_kv_flush(kv);
        /* rewrite the header in place before the server sees it */
        struct cxl_ring_ctl *c = cxl_ring_ctl_of(fx.layout, 1);
        uint64_t pos = c->req_tail.value - 1; /* 1-slot message */
        uint8_t *line = cxl_queue_slots_of(fx.layout, 1, CXL_REQ) +
                        (pos % cxl_layout_geometry(fx.layout)->slots) * cxl_layout_geometry(fx.layout)->slot_size;
        struct cxl_msg_hdr m;
        CHECK(cxl_msg_decode(line, 64, &m) > 0);
        m.op = bad[i].op;
        m.len = bad[i].len;
        m.arg0 = bad[i].arg0;
        m.arg1 = bad[i].arg1;
        m.session += bad[i].session_delta;
        memset(line + cxl_msg_encode(&m, line), 0xff, 4); /* the whole message, rewritten */
        CHECK_EQ(roundtrip(kv, &r), CXL_KV_ERR);
        if (!has(&r, bad[i].why))
            fprintf(stderr, "reject %u: '%.*s' lacks '%s'\n", i, (int)r.len, (const char *)r.data, bad[i].why);
        CHECK(has(&r, bad[i].why));
    }
    CHECK_EQ(table.executed, executed);
    struct cxl_kv_ring_stats st;
    cxl_kv_server_stats(srv, 1, &st);
    CHECK_EQ(st.rejected, sizeof bad / sizeof bad[0]);
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 0), 0); /* and it goes on */
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_NIL);
    cxl_kv_close(kv);
}

/* The client stops reading: replies park, the ring pauses, nothing is lost. */
static void test_parking(void)
{
    struct cxl_kv *kv = client(2, 5000);
    struct cxl_kv_result r;
    uint32_t big = cxl_layout_geometry(fx.layout)->max_payload - 16;
    uint8_t *v = malloc(big);
    memset(v, 'v', big);
    CHECK_EQ(cxl_kv_submit_set(kv, "big", 3, v, big, 0, 0), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    for (int i = 0; i < 4; i++) /* 4 replies of half a queue each */
        CHECK_EQ(cxl_kv_submit_get(kv, "big", 3, (uint64_t)i), 0);
    cxl_kv_flush(kv);
    serve(10);
    struct cxl_kv_ring_stats st;
    cxl_kv_server_stats(srv, 2, &st);
    CHECK(st.stalls >= 1);
    for (int i = 0; i < 4; i++) {
        int rc = 0;
        for (int k = 0; k < 100 && rc == 0; k++) {
            serve(1);
            rc = cxl_kv_poll(kv, &r);
        }
        CHECK_EQ(rc, 1);
        CHECK(r.status == CXL_KV_OK && r.tag == (uint64_t)i && r.len == big && r.data[big - 1] == 'v');
    }
    /* a reply that can never fit: an error, and the ring goes on */
    table.big_reply = cxl_layout_geometry(fx.layout)->max_payload + CXL_MSG_HDR_MAX; /* even with a 12 B header */
    const char *argv[] = {"BIG"};
    size_t lens[] = {3};
    CHECK_EQ(cxl_kv_submit_command(kv, 1, argv, lens, 9), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_ERR);
    CHECK(has(&r, "exceeds the ring's largest message"));
    table.big_reply = 0;
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 10), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_NIL);
    free(v);
    cxl_kv_close(kv);
}

/* Garbage in the request stream, then an impossible index. */
static void test_corrupt_and_broken(void)
{
    struct cxl_kv *kv = client(3, 1000);
    struct cxl_kv_result r;
    struct cxl_ring_ctl *c = cxl_ring_ctl_of(fx.layout, 3);
    const struct cxl_geometry *g = cxl_layout_geometry(fx.layout);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, (uint64_t)i), 0);
    cxl_kv_flush(kv);
    uint64_t first = c->req_tail.value - 3;
    memset(cxl_queue_slots_of(fx.layout, 3, CXL_REQ) + (first % g->slots) * g->slot_size, 0xA5, 64);
    for (int i = 0; i < 3; i++) { /* all three fail with the RESYNC error */
        int rc = roundtrip(kv, &r);
        CHECK_EQ(rc, CXL_KV_ERR);
        CHECK(has(&r, "corrupt request stream"));
    }
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 4), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_NIL);
    struct cxl_kv_ring_stats st;
    cxl_kv_server_stats(srv, 3, &st);
    CHECK_EQ(st.resyncs, 1);
    cxl_kv_close(kv);
    /* an index past 2^63: broken until a claimant resets it */
    c->req_tail.value = (1ull << 63) + 1;
    serve(3);
    cxl_kv_server_stats(srv, 3, &st);
    CHECK_EQ(st.broken, 1);
    struct cxl_ring_state rs;
    cxl_layout_ring_state(fx.layout, 3, &rs);
    CHECK_EQ(rs.srv_state, CXL_SRV_RING_BROKEN);
    kv = client(3, 1000);
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 5), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_NIL);
    cxl_kv_server_stats(srv, 3, &st);
    CHECK_EQ(st.broken, 0);
    cxl_kv_close(kv);
}

/* A request the server consumed but never answered, and a silent server. */
static void test_lost_and_timeout(void)
{
    struct cxl_kv *kv = client(0, 300);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 1), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 2), 0);
    cxl_kv_flush(kv);
    /* a "server" that takes request 1 and dies: consume one message */
    struct cxl_queue q;
    CHECK_EQ(cxl_queue_init(&q, fx.layout, 0, CXL_REQ, CXL_CONSUMER), 0);
    struct cxl_msg m;
    CHECK_EQ(cxl_queue_peek(&q, &m), 1);
    cxl_queue_release(&q);
    cxl_kv_server_destroy(srv); /* the restarted server picks up request 2 */
    struct cxl_kv_executor ex = {.ud = &table, .begin = ex_begin, .end = ex_end, .execute = ex_execute};
    CHECK_EQ(cxl_kv_server_create(fx.layout, NULL, &ex, &srv), 0);
    serve(2);
    CHECK_EQ(cxl_kv_poll(kv, &r), 1);
    CHECK_EQ(r.status, CXL_ELOST);
    CHECK_EQ(r.tag, 1);
    CHECK_EQ(cxl_kv_poll(kv, &r), 1);
    CHECK_EQ(r.status, CXL_KV_NIL);
    CHECK_EQ(r.tag, 2);
    /* nobody serves: a timeout that names the silent server */
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 3), 0);
    int rc = cxl_kv_wait(kv, &r);
    CHECK_EQ(rc, 1);
    CHECK(r.status == CXL_ESERVER || r.status == CXL_ETIMEDOUT);
    CHECK(has(&r, "no reply within 300 ms"));
    /* the late answer is discarded as stale */
    serve(2);
    CHECK_EQ(cxl_kv_submit_get(kv, "zz", 2, 4), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_NIL);
    CHECK_EQ(r.tag, 4);
    struct cxl_kv_stats st;
    cxl_kv_get_stats(kv, &st);
    CHECK_EQ(st.lost, 1);
    CHECK_EQ(st.timeouts, 1);
    CHECK(st.stale >= 1);
    cxl_kv_close(kv);
}

int main(void)
{
    CHECK_EQ(fixture_open(&fx, "/dev/shm", 1 << 20, 4, 256), 0);
    struct cxl_kv_executor ex = {.ud = &table, .begin = ex_begin, .end = ex_end, .execute = ex_execute};
    CHECK_EQ(cxl_kv_server_create(fx.layout, NULL, &ex, &srv), 0);
    test_basic();
    test_run_loop();
    test_rejects();
    test_parking();
    test_corrupt_and_broken();
    test_lost_and_timeout();
    cxl_kv_server_destroy(srv);
    for (int i = 0; i < NKEYS; i++)
        free(table.val[i]);
    fixture_close(&fx);
    return check_summary("test_kv_server");
}
