/* test_batch_hostile.c - a hostile host (and a hostile keyed client) against the
 * secure ring's batches: answers matched to the wrong request (a timeout,
 * a split reply tampered with, a forged PAD or ref), a forged tail or head
 * that would black-hole a ring, parked replies without bound, ciphertext
 * read back while sealing, a whole-batch refusal after a spoiled answer, a
 * forged repair that would make the server seal a position twice. Each
 * asserts what docs/SECURITY.md promises. */
#define _GNU_SOURCE
#include <pthread.h>
#include "check.h"
#include "fixture.h"
#include "kv_fixture.h"
#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "cxl/kvserver.h"
#include "sec/seal.h"
#include "sec/sec.h"
#include "cxl/util.h"
#include "cxl/wait.h"
#include "ring/layout.h"

static struct fixture fx;
static struct cxl_kv_server *srv;
static struct cxl_keyring *srv_keys, *cli_keys;
static char secret_path[256];
static int executed;
static uint8_t bigval[1 << 17];
static uint32_t big_len;

/* GET k -> "val-k"; GET "L<c>" -> big_len bytes of c */
static void ex_execute(void *ud, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    (void)ud;
    executed++;
    if (r->op == CXL_KV_GET && r->klen == 2 && r->key[0] == 'L') {
        memset(bigval, r->key[1], big_len);
        return cxl_kv_reply(rp, CXL_KV_OK, bigval, big_len);
    }
    if (r->op == CXL_KV_GET && r->klen < 120) {
        char v[128];
        memcpy(v, "val-", 4);
        memcpy(v + 4, r->key, r->klen);
        return cxl_kv_reply(rp, CXL_KV_OK, v, 4 + r->klen);
    }
    cxl_kv_reply_error(rp, "ERR unsupported");
}

static void serve(int n)
{
    for (int i = 0; i < n; i++)
        cxl_kv_server_poll(srv);
}

static struct cxl_kv *client(int ring) { return kv_fixture_client(&fx, ring, cli_keys, 300, 0); }
static int roundtrip(struct cxl_kv *kv, struct cxl_kv_result *r) { return kv_fixture_roundtrip(srv, kv, r, 4000); }
static const struct cxl_geometry *geo(void) { return cxl_layout_geometry(fx.layout); }
static uint8_t *slot_of(uint32_t ring, enum cxl_dir dir, uint64_t pos) { return kv_fixture_line(&fx, ring, dir, pos); }
static struct cxl_ring_ctl *ctl(uint32_t ring) { return cxl_ring_ctl_of(fx.layout, ring); }

/* a request of a batch times out; the late reply batch's first
 * record (the answer to the timed-out request) is given to the next request
 * of the same batch. No attacker needed: a slow server. */
static void test_batch_timeout_mismatch(void)
{
    struct cxl_kv *kv = client(1);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK_EQ(cxl_kv_submit_get(kv, "a", 1, 1), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "b", 1, 2), 0);
    cxl_kv_flush(kv); /* one batch, not served yet (a slow server) */
    int rc = 0;
    uint64_t t0 = cxl_now_ns();
    while (rc == 0 && cxl_now_ns() - t0 < 3000000000ull)
        rc = cxl_kv_poll(kv, &r);
    CHECK_EQ(rc, 1);
    CHECK_EQ(r.tag, 1);
    CHECK_EQ(r.status, CXL_ETIMEDOUT);
    serve(1); /* the late reply batch: ["val-a", "val-b"] */
    rc = 0;
    for (int i = 0; i < 1000000 && rc == 0; i++)
        rc = cxl_kv_poll(kv, &r);
    CHECK_EQ(rc, 1);
    CHECK_EQ(r.tag, 2);
    if (r.status == CXL_KV_OK) {
        printf("timeout mismatch: request 2 (GET b) got status OK with '%.*s'\n", (int)r.len,
               (const char *)r.data);
        CHECK(r.len == 5 && memcmp(r.data, "val-b", 5) == 0);
    }
    cxl_kv_close(kv);
}

/* the replies to one batch are split over two sealed messages
 * M1 = [rA, rB], M2 = [rC]; an attacker without keys flips one ciphertext
 * bit of M1. The client fails A with CXL_ECRYPTO (only A), then gives M2's
 * first record (C's answer) to B. */
static void test_split_reply_tamper_mismatch(void)
{
    uint64_t max = (uint64_t)(geo()->slots / 2) * geo()->slot_size;
    big_len = (uint32_t)(max * 4 / 10);
    CHECK(big_len <= sizeof bigval);
    struct cxl_kv *kv = client(2);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK_EQ(cxl_kv_submit_get(kv, "LA", 2, 1), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "LB", 2, 2), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "LC", 2, 3), 0);
    cxl_kv_flush(kv);
    uint64_t rpos = ctl(2)->resp_tail.value;
    serve(1);
    struct cxl_msg_hdr h;
    uint32_t hs = cxl_msg_decode(slot_of(2, CXL_RESP, rpos), geo()->slot_size, &h);
    CHECK(hs != 0);
    if (h.flags & CXL_MSG_F_PAD) { /* M1 starts at the queue's start */
        rpos += geo()->slots - rpos % geo()->slots;
        hs = cxl_msg_decode(slot_of(2, CXL_RESP, rpos), geo()->slot_size, &h);
    }
    CHECK(hs != 0 && (h.flags & CXL_MSG_F_SEALED) && h.len > 2 * big_len && h.len < 3 * big_len);
    slot_of(2, CXL_RESP, rpos)[hs + 100] ^= 1; /* the attacker: one bit of M1's ciphertext */
    int got = 0;
    uint64_t t0 = cxl_now_ns();
    while (got < 3 && cxl_now_ns() - t0 < 2000000000ull) {
        int rc = cxl_kv_poll(kv, &r);
        if (rc != 1)
            continue;
        got++;
        printf("split reply tamper: tag %" PRIu64 " status %d first byte '%c'\n", r.tag, r.status,
               r.status == CXL_KV_OK && r.len ? r.data[0] : '-');
        if (r.status == CXL_KV_OK) /* an OK result must be its own answer */
            CHECK_EQ(r.data[0], "?ABC"[r.tag]);
    }
    CHECK_EQ(got, 3);
    big_len = 0;
    cxl_kv_close(kv);
}

/* one forged request tail, far ahead, makes the server resync
 * forward and mark every position below it "answered": every later request
 * on the ring is dropped without an answer, for this session and for every
 * later claim (open_next is never reset but by a repair). */
static void test_forged_tail_blackholes_ring(void)
{
    struct cxl_kv *kv = client(3);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    ctl(3)->req_tail.value = ctl(3)->req_head.value + (1ull << 40); /* the attacker, once */
    serve(2);
    CHECK_EQ(cxl_kv_submit_get(kv, "x", 1, 1), 0);
    int rc = roundtrip(kv, &r);
    printf("forged tail: same session: %d\n", rc);
    cxl_kv_close(kv);
    kv = client(3); /* a new claim */
    CHECK_EQ(cxl_kv_submit_get(kv, "y", 1, 2), 0);
    rc = roundtrip(kv, &r);
    printf("forged tail: new claim: %d\n", rc);
    CHECK_EQ(rc, CXL_KV_OK);
    cxl_kv_close(kv);
}

/* cxl_seal_msg encrypts into the medium and the AEAD then reads
 * the ciphertext back from there to compute the tag (libsodium's
 * ChaCha20-Poly1305: xor pass, then Poly1305 over c). A writer that changes
 * a ciphertext byte between the two passes gets a valid tag over its
 * ciphertext: a chosen bit flip of the plaintext that authenticates. */
struct flipper {
    volatile uint8_t *payload;
    size_t len;
    volatile int go, done, stop;
};

static void *flip(void *arg)
{
    struct flipper *f = arg;
    while (!f->stop) {
        if (!f->go)
            continue;
        /* the xor pass is done when the last bytes left the 0 prefill */
        while (!f->stop && f->go && (f->payload[f->len - 1] | f->payload[f->len - 2] | f->payload[f->len - 3]) == 0)
            ;
        if (f->go)
            f->payload[f->len - 8192] ^= 0x01;
        f->go = 0;
        f->done = 1;
    }
    return NULL;
}

static int seal_readback(enum cxl_cipher c)
{
    enum { LEN = 64 << 10 }; /* a full message of the test geometry (2032 x 64 B lines) */
    uint8_t key[32] = {1}, sess[16] = {2}, nonce[16] = {3};
    struct cxl_seal tx, rx;
    struct cxl_seal_binding b = {.format_id = 42, .ring = 0, .dir = CXL_REQ, .gen = 1, .node = 0};
    memcpy(b.client_session, sess, 16);
    memcpy(b.server_nonce, nonce, 16);
    CHECK_EQ(cxl_seal_derive(&tx, c, key, 1, &b), 0);
    CHECK_EQ(cxl_seal_derive(&rx, c, key, 1, &b), 0);
    uint8_t *slot = malloc(LEN + 64), *plain = malloc(LEN), *out = malloc(LEN + 64);
    memset(plain, 'p', LEN);
    struct flipper f = {.payload = slot, .len = LEN};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, flip, &f), 0);
    int forged = 0, rounds = 0;
    for (uint64_t pos = 1; pos < 200 && !forged; pos++, rounds++) {
        memset(slot, 0, LEN + 16);
        struct cxl_msg_hdr h = {.session = 5, .ref = pos};
        cxl_seal_header(&tx, &h);
        h.seq = pos;
        h.len = LEN + CXL_SEAL_TAG;
        f.done = 0;
        __atomic_store_n(&f.go, 1, __ATOMIC_SEQ_CST);
        CHECK_EQ(cxl_seal_msg(&tx, &h, slot, plain, LEN), 0);
        while (!f.done)
            ;
        struct cxl_msg m = {.hdr = h, .payload = slot};
        rx.next = 0;
        if (cxl_open_msg(&rx, &m, out) == 0 && memcmp(m.payload, plain, LEN) != 0)
            forged = 1;
    }
    f.stop = 1;
    pthread_join(t, NULL);
    printf("seal read-back (%s): %s after %d rounds\n", cxl_cipher_name(c),
           forged ? "a flipped plaintext bit AUTHENTICATED" : "no forgery", rounds);
    free(slot);
    free(plain);
    free(out);
    return forged;
}

static void test_seal_reads_back_ciphertext(void)
{
    CHECK_EQ(seal_readback(CXL_CIPHER_XCHACHA), 0);
    if (crypto_aead_aes256gcm_is_available())
        CHECK_EQ(seal_readback(CXL_CIPHER_AESGCM), 0);
}


/* one sealed request batch of many small GETs whose replies are
 * large: run_batch executes every record and parks every reply batch that
 * finds no room (malloc'd copies), with no bound. A keyed client that does
 * not read its responses makes the server hold (records x value size) bytes
 * from one message; a full default message (64 MiB of 26 B records) is
 * millions of replies. */
static void test_parked_amplification(void)
{
    uint64_t max = (uint64_t)(geo()->slots / 2) * geo()->slot_size;
    big_len = (uint32_t)(max * 4 / 10);
    struct cxl_kv *kv = client(0);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    int n = 0, before = executed;
    uint32_t limit = (uint32_t)(max - 44 - CXL_SEAL_TAG) / (CXL_KV_RECORD_HDR + 2);
    for (; (uint32_t)n < limit - 1; n++)
        if (cxl_kv_submit_get(kv, "LA", 2, 1000 + (uint64_t)n) != 0)
            break;
    cxl_kv_flush(kv);
    struct cxl_kv_ring_stats st0, st1;
    cxl_kv_server_stats(srv, 0, &st0);
    serve(1); /* the client never reads a response */
    cxl_kv_server_stats(srv, 0, &st1);
    uint64_t parked_bytes = (uint64_t)(st1.stalls - st0.stalls) * 2 * big_len;
    printf("parked amplification: one %u-record batch (%u B request) executed %d GETs, parked %" PRIu64
           " reply batches (~%" PRIu64 " MB held by the server)\n", n, n * (CXL_KV_RECORD_HDR + 2) + CXL_SEAL_TAG,
           executed - before, st1.stalls - st0.stalls, parked_bytes >> 20);
    CHECK(parked_bytes < 16ull * max); /* some bound on what one ring may hold */
    big_len = 0;
    cxl_kv_close(kv);
    serve(4);
}

/* the server's response producer is moved back by a forged
 * consumer head (lose_reply -> cxl_queue_resync -> reposition(head)); its
 * seal window (seal_next) is never reset but by a repair, so every reply
 * after that fails to seal (resp_lost) until positions catch up - for this
 * session and every later claim. */
static void test_resp_rewind_persistent(void)
{
    struct cxl_kv *kv = client(2);
    struct cxl_kv_result r;
    struct cxl_kv_ring_stats st;
    int hit = 0;
    for (int i = 0; i < 4000 && !hit; i++) {
        uint64_t real = ctl(2)->resp_head.value;
        if (real > geo()->slots + 8)
            ctl(2)->resp_head.value = 1; /* the attacker: a head far behind */
        CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0);
        cxl_kv_flush(kv);
        serve(1);
        cxl_kv_server_stats(srv, 2, &st);
        hit = st.resp_lost > 0;
        if (!hit && ctl(2)->resp_head.value == 1)
            ctl(2)->resp_head.value = real;
        for (int j = 0; j < 2000; j++) {
            int rc = cxl_kv_poll(kv, &r);
            if (rc)
                break;
            serve(1);
        }
    }
    printf("resp rewind: server lost a reply after forged head: %d\n", hit);
    cxl_kv_close(kv);
    kv = client(2); /* a new claim, no attacker any more */
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 2), 0);
        ok += roundtrip(kv, &r) == CXL_KV_OK;
    }
    cxl_kv_server_stats(srv, 2, &st);
    printf("resp rewind: new claim: %d of 20 round trips OK (server resp_lost %" PRIu64 ")\n", ok, st.resp_lost);
    CHECK_EQ(ok, 20);
    cxl_kv_close(kv);
}

/* the same shift without split replies: the attacker (no keys)
 * turns a PAD line in front of a reply batch into an unsealed "response"
 * claiming the batch's position. The client fails the batch's first request
 * with CXL_ECRYPTO and gives the first record of the genuine batch to the
 * second request. */
static void test_pad_forgery_mismatch(void)
{
    struct cxl_kv *kv = client(1);
    struct cxl_kv_result r;
    uint32_t ns = geo()->slots;
    char k70[70];
    memset(k70, 'q', sizeof k70);
    for (int i = 0; i < 3000; i++) { /* move the response cursor to the queue's last line */
        uint32_t idx = (uint32_t)(ctl(1)->resp_tail.value % ns), rem = ns - 1 - idx;
        if (rem == 0)
            break;
        if (rem % 2 && rem >= 3)
            CHECK_EQ(cxl_kv_submit_get(kv, k70, sizeof k70, 7), 0); /* a 3-line reply */
        else
            CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 7), 0); /* a 2-line reply */
        CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    }
    uint64_t p = ctl(1)->resp_tail.value;
    CHECK_EQ(p % ns, ns - 1);
    uint64_t s = ctl(1)->req_tail.value;
    CHECK_EQ(cxl_kv_submit_get(kv, "a", 1, 1), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "b", 1, 2), 0);
    cxl_kv_flush(kv);
    serve(1); /* PAD at p, the reply batch ["val-a", "val-b"] at the queue's start */
    struct cxl_msg_hdr h;
    CHECK(cxl_msg_decode(slot_of(1, CXL_RESP, p), geo()->slot_size, &h) != 0 && (h.flags & CXL_MSG_F_PAD));
    struct cxl_msg_hdr f = {.seq = p, .op = CXL_KV_OK, .ref = s}; /* the attacker's line */
    cxl_msg_encode(&f, slot_of(1, CXL_RESP, p));
    int got = 0;
    uint64_t t0 = cxl_now_ns();
    while (got < 2 && cxl_now_ns() - t0 < 2000000000ull) {
        if (cxl_kv_poll(kv, &r) != 1)
            continue;
        got++;
        printf("pad forgery: tag %" PRIu64 " status %d data '%.*s'\n", r.tag, r.status,
               r.status == CXL_KV_OK ? (int)r.len : 0, (const char *)r.data);
        if (r.status == CXL_KV_OK)
            CHECK(r.len == 5 && r.data[4] == "?ab"[r.tag]);
    }
    CHECK_EQ(got, 2);
    cxl_kv_close(kv);
}

/* an unsealed forged response whose (unauthenticated) ref is
 * UINT64_MAX = SEQ_STAGED matches a request that is only staged (not yet
 * flushed): it is popped while still counted in the batch, flush_batch's
 * "count - batch_count" underflows, the batch's other requests keep
 * SEQ_STAGED after they were sent, and fail_unsent completes them with
 * unsent_status - 0 (CXL_KV_OK, empty data) if no batch was ever dropped -
 * while the server executes them. */
static void test_forged_ref_staged(void)
{
    struct cxl_kv *kv = client(1);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK_EQ(cxl_kv_submit_get(kv, "a", 1, 1), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "b", 1, 2), 0); /* staged, not flushed */
    uint64_t p = ctl(1)->resp_tail.value;
    struct cxl_msg_hdr f = {.seq = p, .op = CXL_KV_OK, .ref = UINT64_MAX}; /* the attacker */
    cxl_msg_encode(&f, slot_of(1, CXL_RESP, p));
    ctl(1)->resp_tail.value = p + 1;
    CHECK_EQ(cxl_kv_poll(kv, &r), 0); /* a message that does not open completes no request not yet sent */
    cxl_kv_flush(kv);
    int before = executed, got = 0;
    /* the forged tail broke the response stream's framing (the client drops
     * it): each request completes in order, OK only with its own answer */
    for (uint64_t t0 = cxl_now_ns(); got < 2 && cxl_now_ns() - t0 < 3000000000ull;) {
        serve(1);
        if (cxl_kv_poll(kv, &r) == 1) {
            CHECK_EQ(r.tag, (uint64_t)got + 1);
            CHECK(r.status != CXL_KV_OK || r.len == 8);
            got++;
        }
    }
    CHECK_EQ(got, 2);
    printf("forged ref staged: server executed %d of the batch\n", executed - before);
    cxl_kv_close(kv);
}

/* a whole-batch refusal (CXL_KV_RESP_F_BATCH, "the rest did not run")
 * after a message that held the answer of a request that DID run, spoiled
 * by a host without keys: that request must not read as refused. */
static void test_whole_refusal_after_lost_reply(void)
{
    const uint32_t ring = 1;
    uint32_t largest = geo()->max_payload - CXL_SEAL_TAG - CXL_KV_RECORD_HDR;
    struct cxl_kv *kv = client(ring);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    /* fill the response queue: one big unread reply and one small */
    big_len = largest - 8;
    CHECK(big_len <= sizeof bigval);
    CHECK_EQ(cxl_kv_submit_get(kv, "LF", 2, 10), 0);
    cxl_kv_flush(kv);
    serve(1);
    CHECK_EQ(cxl_kv_submit_get(kv, "f2", 2, 11), 0);
    cxl_kv_flush(kv);
    serve(1);
    struct cxl_kv_ring_stats st0;
    cxl_kv_server_stats(srv, ring, &st0);
    /* the batch: A (big), B (big: the ERR record does not fit after it), C */
    big_len = largest - 60;
    uint64_t bseq = ctl(ring)->req_tail.value, apos = UINT64_MAX;
    int before = executed;
    CHECK_EQ(cxl_kv_submit_get(kv, "LA", 2, 1), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "LB", 2, 2), 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "c", 1, 3), 0);
    cxl_kv_flush(kv);
    serve(1);
    struct cxl_kv_ring_stats st1;
    cxl_kv_server_stats(srv, ring, &st1);
    printf("whole refusal: executed %d of the batch, stalls %" PRIu64 "\n", executed - before,
           st1.stalls - st0.stalls);
    int tampered = 0, got = 0, status[4] = {0};
    for (uint64_t t0 = cxl_now_ns(); got < 5 && cxl_now_ns() - t0 < 3000000000ull;) {
        serve(1);
        if (!tampered) { /* the attacker: one bit of the 2nd big sealed message answering the batch */
            uint64_t tail = ctl(ring)->resp_tail.value;
            for (uint64_t pos = tail > geo()->slots ? tail - geo()->slots : 0; pos < tail && !tampered; pos++) {
                struct cxl_msg_hdr h;
                uint32_t hs = cxl_msg_decode(slot_of(ring, CXL_RESP, pos), geo()->slot_size, &h);
                if (!hs || h.seq != (uint32_t)pos || !(h.flags & CXL_MSG_F_SEALED) || h.ref < bseq ||
                    h.len < big_len)
                    continue;
                if (apos == UINT64_MAX)
                    apos = pos;
                else if (pos > apos) {
                    printf("whole refusal: tampering message at %" PRIu64 " len %u (first at %" PRIu64 ")\n",
                           pos, h.len, apos);
                    slot_of(ring, CXL_RESP, pos)[hs + 10] ^= 1;
                    tampered = 1;
                }
            }
        }
        if (cxl_kv_poll(kv, &r) == 1) {
            got++;
            printf("whole refusal: tag %" PRIu64 " status %d %.*s\n", r.tag, r.status,
                   r.status == CXL_KV_OK ? 1 : (int)r.len, (const char *)r.data);
            if (r.tag >= 1 && r.tag <= 3)
                status[r.tag] = r.status;
        }
    }
    CHECK(tampered);
    CHECK_EQ(executed - before, 2); /* A and B ran, C did not */
    /* B ran: its answer is lost (ECRYPTO/ELOST), never "refused, did not run" */
    CHECK(status[2] != CXL_KV_ERR);
    big_len = 0;
    cxl_kv_close(kv);
}


/* nonce reuse after a forged repair. A host without keys writes
 * the server's request head into the exhausted range: the server repairs
 * the ring (its response tail back to 0, secure_end_restart: seal_next = 0)
 * and refuses the old session's requests. But handle_corrupt answers a
 * corrupt request stream with a RESYNC sealed for the owner word's session,
 * the old one: the same key (same gen, node, session, server nonce) at
 * response position 0 again, the nonce of that session's first reply. The
 * attacker XORs the two ciphertexts and reads the second reply in clear
 * (and, with GCM/Poly1305, can forge). */
static void test_repair_nonce_reuse(void)
{
    const uint32_t ring = 2;
    struct cxl_kv *kv = client(ring);
    struct cxl_kv_result r;
    uint64_t rpos = ctl(ring)->resp_tail.value;
    CHECK_EQ(rpos, 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "warm", 4, 99), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    struct cxl_msg_hdr h1, h2;
    uint32_t hs1 = cxl_msg_decode(slot_of(ring, CXL_RESP, 0), geo()->slot_size, &h1);
    CHECK(hs1 && (h1.flags & CXL_MSG_F_SEALED) && h1.seq == 0);
    uint8_t c1[32], p1[32], c2[32], p2[32];
    memcpy(c1, slot_of(ring, CXL_RESP, 0) + hs1, 32); /* the attacker reads the medium */
    struct cxl_msg_hdr rh = {.op = CXL_KV_OK};
    cxl_kv_record_put(p1, &rh, 0, "val-warm", 8); /* known plaintext: GET's answer */
    /* the attacker: one write into the exhausted range; housekeeping repairs */
    ctl(ring)->req_head.value = 1ull << 62;
    struct cxl_kv_ring_stats st;
    for (int i = 0; i < 5000; i++)
        cxl_kv_server_poll(srv);
    cxl_kv_server_stats(srv, ring, &st);
    printf("nonce reuse: repairs %" PRIu64 " broken %" PRIu64 "\n", (uint64_t)st.repairs, (uint64_t)st.broken);
    CHECK(st.repairs >= 1);
    /* the attacker: indices sane again, a corrupt line at request position 0 */
    memset(slot_of(ring, CXL_REQ, 0), 0xff, geo()->slot_size);
    ctl(ring)->req_tail.value = 1;
    ctl(ring)->resp_head.value = 0;
    serve(3);
    cxl_kv_server_stats(srv, ring, &st);
    printf("nonce reuse: broken %" PRIu64 " resyncs %" PRIu64 " resp_tail %" PRIu64 "\n", (uint64_t)st.broken,
           (uint64_t)st.resyncs, (uint64_t)ctl(ring)->resp_tail.value);
    uint32_t hs2 = cxl_msg_decode(slot_of(ring, CXL_RESP, 0), geo()->slot_size, &h2);
    CHECK(hs2 && h2.seq == 0);
    if (hs2 && (h2.flags & CXL_MSG_F_SEALED) && h2.len >= 32) {
        memcpy(c2, slot_of(ring, CXL_RESP, 0) + hs2, 32);
        for (int i = 0; i < 32; i++)
            p2[i] = c2[i] ^ c1[i] ^ p1[i];
        uint16_t op;
        memcpy(&op, p2, 2);
        printf("nonce reuse: second message at position 0 sealed again; decrypted without keys: op %u text '%.8s'\n",
               op, (const char *)p2 + 24);
        CHECK(!(op == CXL_KV_ERR && memcmp(p2 + 24, "ERR ring", 8) == 0)); /* keystream reused */
    }
    cxl_kv_close(kv);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK_EQ(cxl_crypto_init(), 0);
    snprintf(secret_path, sizeof secret_path, "/dev/shm/cxl_batch_hostile_secret_%d", (int)getpid());
    uint8_t s[32];
    CHECK_EQ(cxl_secret_file_create(secret_path, s), 0);
    sodium_memzero(s, sizeof s);
    struct cxl_kv_executor ex = {.execute = ex_execute};
    kv_fixture_secure(&fx, secret_path, &ex, &srv_keys, &cli_keys, &srv);
    printf("geometry: %u slots of %u B per queue\n", geo()->slots, geo()->slot_size);
    const char *only = argc > 1 ? argv[1] : "";
    if (!*only || strstr(only, "nonce")) /* first: it needs ring 2 fresh (position 0) */
        test_repair_nonce_reuse();
    if (!*only || strstr(only, "timeout"))
        test_batch_timeout_mismatch();
    if (!*only || strstr(only, "split"))
        test_split_reply_tamper_mismatch();
    if (!*only || strstr(only, "tail"))
        test_forged_tail_blackholes_ring();
    if (!*only || strstr(only, "pad"))
        test_pad_forgery_mismatch();
    if (!*only || strstr(only, "staged"))
        test_forged_ref_staged();
    if (!*only || strstr(only, "park"))
        test_parked_amplification();
    if (!*only || strstr(only, "rewind"))
        test_resp_rewind_persistent();
    if (!*only || strstr(only, "seal"))
        test_seal_reads_back_ciphertext();
    if (!*only || strstr(only, "whole"))
        test_whole_refusal_after_lost_reply();
    cxl_kv_server_destroy(srv);
    cxl_keyring_close(srv_keys);
    cxl_keyring_close(cli_keys);
    fixture_close(&fx);
    unlink(secret_path);
    return check_summary("test_batch_hostile");
}
