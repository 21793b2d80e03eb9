/* kv_client.c - the client end of a ring (docs/KV.md, "Client matching"):
 * claims a ring, keeps it alive, encodes requests straight into their slots,
 * and matches responses to requests in order, turning missing answers into
 * CXL_ELOST, silent servers into timeouts, and strays into "stale". On a
 * secure medium requests are composed in private memory and sealed into
 * their slots, responses opened into private memory (docs/SECURITY.md). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "cxl/wait.h"
#include "ring/layout.h"
#include "sec/secure_end.h"

#define CLOCK_EVERY 64u        /* empty polls between clock reads */
#define SERVER_SILENT_NS (500ull * 1000 * 1000) /* the server beats every 50 ms */

struct pending {
    uint64_t seq, tag, t_ns;
    uint64_t srv_gen; /* secure ring: the server instance it was sealed for */
    uint16_t op;
    uint16_t idx;     /* secure ring: its index in its batch */
};

struct cxl_kv {
    struct cxl_kv_config cfg;
    struct cxl_medium *medium;
    struct cxl_layout *layout;
    struct cxl_claim claim;
    struct cxl_queue req, resp;
    struct pending *fifo; /* in-flight requests, oldest at head */
    uint32_t cap, head, count;
    int resp_held;        /* a result points into a peeked response */
    uint64_t now_ns;      /* clock, read every CLOCK_EVERY empty polls or submits */
    uint32_t empty_polls;
    uint64_t srv_beat, srv_beat_ns; /* last server heartbeat seen, and when */
    char errbuf[160];     /* text of synthesized error results */
    struct cxl_backoff backoff;
    struct cxl_kv_stats st;
    pthread_t hb_thread;
    int hb_started;
    volatile int hb_stop;
    volatile int lost;
    struct secure_end *sec; /* NULL on a plain ring */
    int watching;           /* the keyring keeps watch_ring's keys fresh */
    uint32_t watch_ring;
    uint16_t conn;          /* connection number carried by submits (cxl_kv_set_conn) */
    uint64_t srv_gen;       /* server instance the keys were derived for */
    /* secure ring: the batch of requests being composed (secure_end_stage),
     * the newest batch_count entries of the fifo */
    uint32_t batch_len, batch_count;
    int flush_wanted;       /* a flush found no room: poll tries again */
    int unsent_status;      /* why dropped batches' requests fail */
    uint64_t bad_ref;       /* the batch a response that did not open claimed to answer */
    char unsent_why[200];
    /* secure ring: the opened batch of replies being read */
    struct {
        int active;
        struct cxl_msg msg;         /* its header (position, ref, session) */
        const uint8_t *p, *end, *prev; /* next record, end, the record last read */
    } in;
};

void cxl_kv_config_init(struct cxl_kv_config *c)
{
    *c = (struct cxl_kv_config){.ring = -1, .timeout_ms = 5000, .reclaim_ms = CXL_DEFAULT_RECLAIM_MS,
                                .spin_us = 50, .yield_us = 500, .max_sleep_us = 50};
    cxl_medium_config_init(&c->medium);
    c->medium.map_size = 0; /* whatever the server made */
}

/* --- liveness -------------------------------------------------------------- */

int cxl_kv_heartbeat(struct cxl_kv *kv)
{
    int rc = cxl_ring_heartbeat(&kv->claim);
    if (rc == CXL_ELOST)
        __atomic_store_n(&kv->lost, 1, __ATOMIC_RELEASE);
    return rc;
}

static void *heartbeat_thread(void *arg)
{
    struct cxl_kv *kv = arg;
    struct timespec ts = {0, CXL_HEARTBEAT_MS * 1000000L / 2};
    while (!__atomic_load_n(&kv->hb_stop, __ATOMIC_ACQUIRE)) {
        if (cxl_kv_heartbeat(kv) == CXL_ELOST)
            break;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* The server rebased the ring under this claim (its indices had been forged
 * into the exhausted range: kv_server.c, repair()); the session is over. */
static int repaired_under_us(const struct cxl_kv *kv)
{
    const struct cxl_ring_ctl *c = cxl_ring_ctl_of(kv->layout, kv->claim.ring);
    return __atomic_load_n(&c->srv_state, __ATOMIC_ACQUIRE) == CXL_SRV_RING_REPAIRED &&
           __atomic_load_n(&c->srv_reason, __ATOMIC_ACQUIRE) >= kv->claim.gen;
}

static int check_lost(struct cxl_kv *kv)
{
    int lost = __atomic_load_n(&kv->lost, __ATOMIC_ACQUIRE);
    if (!lost && repaired_under_us(kv))
        __atomic_store_n(&kv->lost, lost = 2, __ATOMIC_RELEASE);
    if (!lost)
        return 0;
    if (lost == 2)
        return cxl_fail(CXL_ELOST, "ring %u: another host forged its indices and the server reset the ring; "
                        "this claim is over: open the ring again (a new claim)", kv->claim.ring);
    return cxl_fail(CXL_ELOST, "ring %u was taken over by another client (this one was declared dead)",
                    kv->claim.ring);
}

/* --- open / close ------------------------------------------------------------ */

/* Keys for the claimed ring, derived for this session and server instance. */
static int rekey(struct cxl_kv *kv)
{
    struct cxl_server_state srv;
    cxl_server_state(kv->layout, &srv);
    kv->srv_gen = srv.gen;
    return secure_end_rekey(kv->sec, kv->claim.gen, kv->claim.node_id, kv->claim.session, srv.nonce);
}

static int open_secure(struct cxl_kv *kv)
{
    int secure = (cxl_layout_geometry(kv->layout)->flags & CXL_LAYOUT_F_SECURE) != 0;
    if (!kv->cfg.keys)
        return secure ? cxl_fail(CXL_ECRYPTO, "the medium is secure: use --secure (with cxl_sec_mgr) "
                                 "or --crypto (with a key file)") : 0;
    if (!secure)
        return cxl_fail(CXL_ECRYPTO, "the medium is formatted plain; a secure client needs a secure medium");
    if (!(kv->sec = calloc(1, sizeof *kv->sec)))
        return cxl_fail(CXL_ESYS, "out of memory");
    int rc = secure_end_init(kv->sec, kv->cfg.keys, kv->layout, kv->claim.ring, CXL_PRODUCER);
    if (rc == 0)
        rc = cxl_keyring_fetch(kv->cfg.keys, kv->claim.ring);
    if (rc == 0 && (rc = cxl_keyring_watch(kv->cfg.keys, kv->claim.ring)) == 0)
        kv->watching = 1, kv->watch_ring = kv->claim.ring; /* fetched again when due, by the keyring's thread */
    return rc ? rc : rekey(kv);
}

static int open_ring(struct cxl_kv *kv)
{
    int rc = cxl_medium_open(&kv->cfg.medium, &kv->medium);
    if (rc == 0)
        rc = cxl_layout_attach(kv->medium, &kv->layout);
    if (rc)
        return rc;
    cxl_layout_set_delay(kv->layout, &kv->cfg.delay);
    struct cxl_claim_opts co = {.reclaim_ms = kv->cfg.reclaim_ms,
                                .wait_ms = kv->cfg.claim_wait_ms ? kv->cfg.claim_wait_ms
                                                                 : kv->cfg.reclaim_ms + 1000};
    /* with keys from cxl_sec_mgr, the node id claimed is the one they belong to */
    uint16_t node = kv->cfg.keys && cxl_keyring_node(kv->cfg.keys) ? cxl_keyring_node(kv->cfg.keys)
                                                                  : kv->cfg.node_id;
    if ((rc = cxl_ring_claim(kv->layout, kv->cfg.ring, node, &co, &kv->claim)) != 0)
        return rc;
    rc = cxl_queue_init(&kv->req, kv->layout, kv->claim.ring, CXL_REQ, CXL_PRODUCER);
    if (rc == 0)
        rc = cxl_queue_init(&kv->resp, kv->layout, kv->claim.ring, CXL_RESP, CXL_CONSUMER);
    return rc ? rc : open_secure(kv);
}

static int authenticate(struct cxl_kv *kv);

int cxl_kv_open(const struct cxl_kv_config *cfg, struct cxl_kv **out)
{
    struct cxl_kv *kv = calloc(1, sizeof *kv);
    if (!kv)
        return cxl_fail(CXL_ESYS, "out of memory");
    kv->unsent_status = CXL_ELOST;
    kv->bad_ref = UINT64_MAX;
    if (cfg)
        kv->cfg = *cfg;
    else
        cxl_kv_config_init(&kv->cfg);
    if (!kv->cfg.timeout_ms)
        kv->cfg.timeout_ms = 5000;
    kv->cap = 256;
    kv->fifo = malloc(kv->cap * sizeof *kv->fifo);
    int rc = kv->fifo ? open_ring(kv) : cxl_fail(CXL_ESYS, "out of memory");
    if (rc == 0 && !kv->cfg.no_heartbeat_thread) {
        if (pthread_create(&kv->hb_thread, NULL, heartbeat_thread, kv) != 0)
            rc = cxl_fail(CXL_ESYS, "cannot start the heartbeat thread");
        kv->hb_started = rc == 0;
    }
    if (rc) {
        cxl_kv_close(kv);
        return rc;
    }
    cxl_backoff_init(&kv->backoff, kv->cfg.spin_us, kv->cfg.yield_us, kv->cfg.max_sleep_us);
    kv->now_ns = cxl_now_ns();
    struct cxl_server_state s;
    cxl_server_state(kv->layout, &s);
    kv->srv_beat = s.heartbeat; /* watch the server's heartbeat from now on */
    kv->srv_beat_ns = kv->now_ns;
    if (kv->cfg.password && (rc = authenticate(kv)) != 0) {
        cxl_kv_close(kv);
        return rc;
    }
    *out = kv;
    return 0;
}

void cxl_kv_close(struct cxl_kv *kv)
{
    if (!kv)
        return;
    if (kv->hb_started) {
        __atomic_store_n(&kv->hb_stop, 1, __ATOMIC_RELEASE);
        pthread_join(kv->hb_thread, NULL);
    }
    if (kv->claim.layout) {
        if (kv->resp_held)
            cxl_queue_release(&kv->resp);
        cxl_ring_release(&kv->claim);
    }
    if (kv->watching)
        cxl_keyring_unwatch(kv->cfg.keys, kv->watch_ring);
    if (kv->sec) {
        secure_end_free(kv->sec);
        free(kv->sec);
    }
    if (kv->layout)
        cxl_layout_close(kv->layout);
    if (kv->medium)
        cxl_medium_close(kv->medium);
    free(kv->fifo);
    free(kv);
}

/* --- submitting -------------------------------------------------------------------- */

/* Room for one more in-flight request (before reserving its slots). */
static int fifo_room(struct cxl_kv *kv)
{
    if (kv->count < kv->cap)
        return 0;
    struct pending *f = malloc(2 * kv->cap * sizeof *f);
    if (!f)
        return cxl_fail(CXL_ESYS, "out of memory");
    for (uint32_t i = 0; i < kv->count; i++)
        f[i] = kv->fifo[(kv->head + i) % kv->cap];
    free(kv->fifo);
    kv->fifo = f;
    kv->head = 0;
    kv->cap *= 2;
    return 0;
}

static void push_pending(struct cxl_kv *kv, uint64_t seq, uint64_t tag, uint16_t op)
{
    /* The cached clock is as old as the last empty poll: after an idle spell
     * (nothing in flight) or a long run of answered polls it would date this
     * request in the past and time it out at once. */
    if (kv->count == 0 || kv->st.submitted % CLOCK_EVERY == 0)
        kv->now_ns = cxl_now_ns();
    kv->fifo[(kv->head + kv->count) % kv->cap] = (struct pending){.seq = seq, .tag = tag, .t_ns = kv->now_ns,
                                                                  .srv_gen = kv->srv_gen, .op = op};
    kv->count++;
}

/* Secure ring: keys up to date for this session, keyring and server? */
static int keys_current(struct cxl_kv *kv)
{
    struct cxl_server_state srv;
    cxl_server_state(kv->layout, &srv);
    if (!secure_end_stale(kv->sec, kv->claim.gen, kv->claim.node_id, cxl_now_ns()) && srv.gen == kv->srv_gen)
        return 0;
    return rekey(kv);
}

/* A request staged in the batch being composed has no position yet. */
#define SEQ_STAGED UINT64_MAX

/* Forget the batch being composed: its requests were never sent. Each one
 * fails with status and the reason when it reaches the head of the queue
 * (fail_unsent). */
static void drop_batch(struct cxl_kv *kv, int status, const char *why)
{
    if (kv->batch_count == 0)
        return;
    kv->batch_len = kv->batch_count = 0;
    kv->unsent_status = status;
    snprintf(kv->unsent_why, sizeof kv->unsent_why, "request not sent: %s", why);
}

/* Seal the batch being composed into one message and queue it (published
 * by cxl_queue_submit). 0; CXL_EAGAIN: no room yet, the batch stays; other
 * errors drop it. */
static int flush_batch(struct cxl_kv *kv)
{
    if (kv->batch_count == 0)
        return 0;
    struct cxl_msg_hdr h = {.session = kv->claim.gen};
    uint8_t *payload;
    int rc = keys_current(kv);
    if (rc == 0)
        rc = secure_end_header(kv->sec, &h);
    if (rc == 0)
        rc = cxl_queue_reserve(&kv->req, &h, kv->batch_len + CXL_SEAL_TAG, &payload);
    if (rc == CXL_EAGAIN) {
        kv->st.full++;
        return rc;
    }
    if (rc == CXL_ECORRUPT) /* the server's index is out of range */
        cxl_queue_resync(&kv->req);
    if (rc == 0)
        rc = secure_end_seal(kv->sec, &h, payload, secure_end_stage(kv->sec), kv->batch_len);
    sodium_memzero(secure_end_stage(kv->sec), kv->batch_len); /* the plaintext, staged privately */
    if (rc) { /* left unsealed (if reserved): the server refuses it */
        drop_batch(kv, rc, cxl_last_error());
        return rc;
    }
    for (uint32_t i = kv->count - kv->batch_count; i < kv->count; i++) /* (staged ones are never popped) */
        kv->fifo[(kv->head + i) % kv->cap].seq = h.seq;
    kv->batch_len = kv->batch_count = 0;
    kv->st.batches++;
    return 0;
}

/* Secure ring: the request becomes a record of the batch being composed
 * (in private memory; docs/SECURITY.md); a full batch is flushed first. */
static int stage_request(struct cxl_kv *kv, const struct cxl_msg_hdr *h, uint32_t len, uint8_t **payload)
{
    uint32_t max = cxl_layout_geometry(kv->layout)->max_payload - CXL_SEAL_TAG;
    if ((uint64_t)CXL_KV_RECORD_HDR + len > max)
        return cxl_fail(CXL_E2BIG, "request of %u bytes is larger than a sealed message can hold (%u)", len,
                        max - CXL_KV_RECORD_HDR);
    if (kv->batch_len + CXL_KV_RECORD_HDR + len > max || kv->batch_count == CXL_KV_BATCH_MAX) {
        int rc = flush_batch(kv);
        kv->flush_wanted = rc == CXL_EAGAIN; /* the next poll tries again */
        if (rc)
            return rc;
    }
    uint8_t *rec = secure_end_stage(kv->sec) + kv->batch_len;
    cxl_kv_record_put(rec, h, (uint16_t)kv->batch_count, rec + CXL_KV_RECORD_HDR, len); /* data: the caller's */
    *payload = rec + CXL_KV_RECORD_HDR;
    kv->batch_len += CXL_KV_RECORD_HDR + len;
    kv->batch_count++;
    return 0;
}

/* Reserve a request of len payload bytes with h's op and arguments; *payload
 * is where to write them: the medium on a plain ring, the batch being
 * composed (private) on a secure one. The header goes to the medium from
 * private values only (a producer never reads back what it wrote). */
static int begin_request(struct cxl_kv *kv, struct cxl_msg_hdr *h, uint32_t len, uint64_t tag, uint8_t **payload)
{
    int rc = check_lost(kv);
    if (rc == 0)
        rc = fifo_room(kv);
    if (rc == 0 && kv->sec)
        rc = keys_current(kv);
    if (rc)
        return rc;
    h->arg1 |= (uint32_t)kv->conn << CXL_KV_CONN_SHIFT;
    if (kv->sec) {
        rc = stage_request(kv, h, len, payload);
    } else {
        h->session = kv->claim.gen;
        rc = cxl_queue_reserve(&kv->req, h, len, payload);
        if (rc == CXL_EAGAIN)
            kv->st.full++;
        if (rc == CXL_ECORRUPT) /* the server's index is out of range */
            cxl_queue_resync(&kv->req);
    }
    if (rc)
        return rc;
    push_pending(kv, kv->sec ? SEQ_STAGED : h->seq, tag, h->op);
    if (kv->sec) /* its index in the batch: the record's */
        kv->fifo[(kv->head + kv->count - 1) % kv->cap].idx = (uint16_t)(kv->batch_count - 1);
    kv->st.submitted++;
    return 0;
}

static int too_big(const char *what, uint64_t n)
{
    return cxl_fail(CXL_E2BIG, "%s of %" PRIu64 " bytes is larger than a message can be", what, n);
}

/* GET and DEL: the payload is the key */
static int submit_key_op(struct cxl_kv *kv, uint16_t op, const void *key, uint32_t klen, uint64_t tag)
{
    uint8_t *p;
    int rc = begin_request(kv, &(struct cxl_msg_hdr){.op = op, .arg0 = klen}, klen, tag, &p);
    if (rc == 0)
        memcpy(p, key, klen);
    return rc;
}

int cxl_kv_submit_get(struct cxl_kv *kv, const void *key, uint32_t klen, uint64_t tag)
{
    return submit_key_op(kv, CXL_KV_GET, key, klen, tag);
}

int cxl_kv_submit_del(struct cxl_kv *kv, const void *key, uint32_t klen, uint64_t tag)
{
    return submit_key_op(kv, CXL_KV_DEL, key, klen, tag);
}

int cxl_kv_submit_set(struct cxl_kv *kv, const void *key, uint32_t klen, const void *val,
                      uint32_t vlen, uint64_t ttl_ms, uint64_t tag)
{
    uint64_t len = (uint64_t)klen + vlen;
    if (len > UINT32_MAX)
        return too_big("SET", len);
    struct cxl_msg_hdr h = {.op = CXL_KV_SET, .arg0 = klen, .arg1 = ttl_ms ? CXL_KV_SET_F_EXPIRE : 0,
                            .arg2 = ttl_ms};
    uint8_t *p;
    int rc = begin_request(kv, &h, (uint32_t)len, tag, &p);
    if (rc)
        return rc;
    memcpy(p, key, klen);
    memcpy(p + klen, val, vlen);
    return 0;
}

int cxl_kv_submit_command(struct cxl_kv *kv, int argc, const char *const *argv,
                          const size_t *argvlen, uint64_t tag)
{
    if (argc < 1 || (uint32_t)argc > CXL_KV_MAX_ARGC)
        return cxl_fail(CXL_EINVAL, "a command needs 1..%u arguments, not %d", CXL_KV_MAX_ARGC, argc);
    uint64_t len = cxl_kv_cmd_size(argc, argvlen);
    if (len > UINT32_MAX)
        return too_big("command", len);
    uint8_t *p;
    int rc = begin_request(kv, &(struct cxl_msg_hdr){.op = CXL_KV_CMD, .arg0 = (uint32_t)argc},
                           (uint32_t)len, tag, &p);
    if (rc == 0)
        cxl_kv_cmd_encode(p, argc, argv, argvlen);
    return rc;
}

void cxl_kv_flush(struct cxl_kv *kv)
{
    if (kv->sec) /* no room yet: the next poll tries again */
        kv->flush_wanted = flush_batch(kv) == CXL_EAGAIN;
    cxl_queue_submit(&kv->req);
}

/* --- completing ------------------------------------------------------------------------- */

static struct pending pop_pending(struct cxl_kv *kv)
{
    struct pending p = kv->fifo[kv->head];
    kv->head = (kv->head + 1) % kv->cap;
    kv->count--;
    kv->st.completed++;
    return p;
}

/* A result that did not come from the server. */
static int synthesize(struct cxl_kv *kv, struct cxl_kv_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int synthesize(struct cxl_kv *kv, struct cxl_kv_result *r, int status, const char *fmt, ...)
{
    struct pending p = pop_pending(kv);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(kv->errbuf, sizeof kv->errbuf, fmt, ap);
    va_end(ap);
    *r = (struct cxl_kv_result){.tag = p.tag, .status = status, .op = p.op,
                                .data = (const uint8_t *)kv->errbuf,
                                .len = (uint32_t)(n < (int)sizeof kv->errbuf ? n : (int)sizeof kv->errbuf - 1)};
    return 1;
}

/* Is the server alive? Tracks its heartbeat across calls. */
static int server_silent(struct cxl_kv *kv, uint64_t now)
{
    struct cxl_server_state s;
    cxl_server_state(kv->layout, &s);
    if (s.heartbeat != kv->srv_beat || kv->srv_beat_ns == 0) {
        kv->srv_beat = s.heartbeat;
        kv->srv_beat_ns = now;
        return 0;
    }
    return now - kv->srv_beat_ns > SERVER_SILENT_NS;
}

/* Nothing arrived: time out the oldest request if it waited too long. */
static int check_timeout(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    if (++kv->empty_polls % CLOCK_EVERY)
        return 0;
    uint64_t now = kv->now_ns = cxl_now_ns();
    int silent = server_silent(kv, now);
    if (kv->count == 0)
        return 0;
    uint64_t waited = now - kv->fifo[kv->head].t_ns;
    if (waited < (uint64_t)kv->cfg.timeout_ms * 1000000u)
        return 0;
    kv->st.timeouts++;
    if (kv->fifo[kv->head].seq == SEQ_STAGED) /* never sent (no room): nor will it be */
        drop_batch(kv, CXL_ETIMEDOUT, "the request queue stayed full");
    if (silent)
        return synthesize(kv, r, CXL_ESERVER, "no reply within %u ms: the server is not running "
                          "(its heartbeat stopped)", kv->cfg.timeout_ms);
    return synthesize(kv, r, CXL_ETIMEDOUT, "no reply within %u ms (the server is alive)",
                      kv->cfg.timeout_ms);
}

static void fill_result(struct cxl_kv_result *r, const struct pending *p, const struct cxl_msg *m)
{
    *r = (struct cxl_kv_result){.tag = p->tag, .status = m->hdr.op, .op = p->op, .data = m->payload,
                                .len = m->hdr.len, .integer = (int64_t)m->hdr.arg2};
    if (r->status > CXL_KV_INT)
        r->status = CXL_EPROTO;
}

/* Put m back to be read again by the next poll: a record of an opened
 * batch (secure ring) is read again from private memory, a plain message
 * from the queue. */
static void unread(struct cxl_kv *kv, const struct cxl_msg *m)
{
    if (kv->in.active)
        kv->in.p = kv->in.prev;
    else
        cxl_queue_rewind(&kv->resp, m);
}

/* The head request belongs to a batch that was dropped unsent. */
static int fail_unsent(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    if (kv->count <= kv->batch_count || kv->fifo[kv->head].seq != SEQ_STAGED)
        return 0;
    return synthesize(kv, r, kv->unsent_status, "%s", kv->unsent_why);
}

static int match(struct cxl_kv *kv, const struct cxl_msg *m, struct cxl_kv_result *r);
static int answered_by_another_server(const struct cxl_kv *kv);
static int outcome_unknown(struct cxl_kv *kv, struct cxl_kv_result *r);

/* A reply record (secure ring): the answer to request idx of the batch at
 * m's ref. Records name their request, so a request that was completed
 * otherwise (timed out) or whose answer was lost (in a message that did not
 * open) never takes another one's answer. 1 = a result, 0 = go on. */
static int match_record(struct cxl_kv *kv, const struct cxl_msg *m, uint16_t idx, struct cxl_kv_result *r)
{
    uint64_t ref = m->hdr.ref;
    if (m->hdr.arg1 & CXL_KV_RESP_F_RESYNC || kv->count == 0 || ref != kv->fifo[kv->head].seq)
        return match(kv, m, r); /* a resync, a stale answer, or the head's batch answered no more */
    const struct pending *head = &kv->fifo[kv->head];
    /* a refusal of a whole batch names the first request it refuses: it
     * answers that one and the later ones, never one before it (which ran,
     * and whose answer was lost) */
    int whole = m->hdr.arg1 & CXL_KV_RESP_F_BATCH && m->hdr.op == CXL_KV_ERR;
    if (!whole && idx < head->idx) {
        kv->st.stale++; /* for a request already completed (it timed out) */
        return 0;
    }
    if (idx > head->idx) { /* the head's answer never came: lost, or in a message that did not open */
        unread(kv, m);
        kv->st.lost++;
        if (kv->bad_ref == ref)
            return synthesize(kv, r, CXL_ECRYPTO, "its answer came in a message that did not open");
        return synthesize(kv, r, CXL_ELOST, "request lost: its answer never came; it may or may not have run");
    }
    return match(kv, m, r);
}

/* The next record of the opened batch of replies, matched: 1 = a result,
 * 0 = go on reading. */
static int next_record(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    struct cxl_msg m = kv->in.msg;
    uint16_t idx;
    kv->in.prev = kv->in.p;
    int rc = cxl_kv_record_next(&kv->in.p, kv->in.end, &m.hdr, &idx, &m.payload);
    if (rc == 1)
        return match_record(kv, &m, idx, r);
    kv->in.active = 0;
    if (rc == 0)
        return 0;
    kv->st.rejected++; /* sealed by a key holder, and malformed: what it answers is unknown */
    kv->bad_ref = kv->in.msg.hdr.ref;
    return 0;
}

/* A response this client can read: on a secure ring opened into private
 * memory; on a plain ring never a sealed one (its op and arguments travel
 * inside the ciphertext: read as plain, its zero op would say OK). 0 = go
 * on; 1 = a result (the request it claims to answer fails with
 * CXL_ECRYPTO); -1 = skip it. */
static int accept_response(struct cxl_kv *kv, struct cxl_msg *m, struct cxl_kv_result *r)
{
    uint64_t claimed_ref = m->hdr.ref; /* not authenticated yet */
    int sealed = (m->hdr.flags & CXL_MSG_F_SEALED) != 0, rc = 0;
    if (kv->sec)
        rc = sealed ? secure_end_open(kv->sec, m)
                    : cxl_fail(CXL_ECRYPTO, "ring %u: unsealed response on a secure ring", kv->claim.ring);
    else if (sealed)
        rc = cxl_fail(CXL_ECRYPTO, "ring %u: a sealed response, but this client runs without keys (is the "
                      "medium's server secure? then use --secure or --crypto)", kv->claim.ring);
    if (rc == 0)
        return 0;
    kv->st.rejected++;
    kv->bad_ref = claimed_ref; /* requests of that batch whose answers then go missing: CXL_ECRYPTO */
    /* only when it can answer nobody else: the head, alone of its batch */
    if (kv->count && claimed_ref == kv->fifo[kv->head].seq && claimed_ref != SEQ_STAGED &&
        (kv->count == 1 || kv->fifo[(kv->head + 1) % kv->cap].seq != claimed_ref))
        return synthesize(kv, r, CXL_ECRYPTO, "%s", cxl_last_error());
    return -1;
}

/* Secure ring: the response to the oldest request opened with the keys of
 * another server instance than the one the request was sealed for. That
 * instance could not open it, so its answer is a refusal; but the instance
 * that could may have run it before it went away (and its answer was lost):
 * nobody knows, and the request must not read as "not executed". */
static int answered_by_another_server(const struct cxl_kv *kv)
{
    return kv->sec && kv->fifo[kv->head].srv_gen != kv->srv_gen;
}

static int outcome_unknown(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    kv->st.lost++;
    return synthesize(kv, r, CXL_EUNKNOWN, "outcome unknown: the server restarted after this request was "
                      "sent (instance %" PRIu64 " took it, instance %" PRIu64 " answered); it may or may not "
                      "have run", kv->fifo[kv->head].srv_gen, kv->srv_gen);
}

/* 1 = result, 0 = go on reading, < 0 = error. */
static int match(struct cxl_kv *kv, const struct cxl_msg *m, struct cxl_kv_result *r)
{
    uint64_t ref = m->hdr.ref;
    if (m->hdr.arg1 & CXL_KV_RESP_F_RESYNC && m->hdr.op == CXL_KV_ERR) {
        /* the server dropped the requests in [arg2, ref); one before arg2
         * still waiting ran or not, its answer is lost */
        if (kv->count && kv->fifo[kv->head].seq < ref) {
            unread(kv, m); /* fail the next one with it, too */
            if (kv->fifo[kv->head].seq < m->hdr.arg2) {
                kv->st.lost++;
                return synthesize(kv, r, CXL_ELOST, "request lost: its answer never came (the "
                                  "response stream was disturbed); it may or may not have run");
            }
            if (answered_by_another_server(kv))
                return outcome_unknown(kv, r);
            struct pending p = pop_pending(kv);
            *r = (struct cxl_kv_result){.tag = p.tag, .status = CXL_KV_ERR, .op = p.op,
                                        .data = m->payload, .len = m->hdr.len};
            kv->resp_held = 1;
            return 1;
        }
        kv->st.stale++;
        return 0;
    }
    if (kv->count == 0 || ref < kv->fifo[kv->head].seq) {
        kv->st.stale++; /* answers a request nobody waits for */
        return 0;
    }
    if (ref > kv->fifo[kv->head].seq) { /* consumed but never answered */
        unread(kv, m);
        kv->st.lost++;
        return synthesize(kv, r, CXL_ELOST, "request lost: the server took it but never answered "
                          "(it restarted or dropped a corrupt stream)");
    }
    /* a refusal of a whole batch answers each request of it still waiting */
    int again = m->hdr.arg1 & CXL_KV_RESP_F_BATCH && m->hdr.op == CXL_KV_ERR && kv->count > 1 &&
                kv->fifo[(kv->head + 1) % kv->cap].seq == ref;
    if (again)
        unread(kv, m);
    if (answered_by_another_server(kv))
        return outcome_unknown(kv, r);
    struct pending p = pop_pending(kv);
    fill_result(r, &p, m);
    kv->resp_held = 1;
    return 1;
}

int cxl_kv_poll(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    if (kv->resp_held) {
        cxl_queue_release(&kv->resp);
        kv->resp_held = 0;
    }
    int rc = check_lost(kv);
    if (rc)
        return rc;
    if (kv->flush_wanted)
        cxl_kv_flush(kv);
    struct cxl_msg m;
    for (;;) {
        if ((rc = fail_unsent(kv, r)) != 0)
            return rc;
        if (kv->in.active) {
            if ((rc = next_record(kv, r)) != 0)
                return rc;
            continue;
        }
        rc = cxl_queue_peek(&kv->resp, &m);
        if (rc == 0)
            return check_timeout(kv, r);
        if (rc < 0) { /* the response stream is corrupt: drop it and go on */
            kv->st.resyncs++;
            if (cxl_queue_resync(&kv->resp) < 0)
                return check_timeout(kv, r);
            continue;
        }
        kv->empty_polls = 0;
        if ((rc = accept_response(kv, &m, r)) != 0) {
            if (rc == 1) {
                kv->resp_held = 1;
                return 1;
            }
            cxl_queue_release(&kv->resp);
            continue;
        }
        if (kv->sec) { /* a batch of replies, private now: read its records */
            cxl_queue_release(&kv->resp);
            kv->in.active = 1;
            kv->in.msg = m;
            kv->in.p = m.payload;
            kv->in.end = m.payload + m.hdr.len;
            continue;
        }
        if ((rc = match(kv, &m, r)) != 0)
            return rc;
        cxl_queue_release(&kv->resp);
    }
}

int cxl_kv_wait(struct cxl_kv *kv, struct cxl_kv_result *r)
{
    cxl_kv_flush(kv);
    for (;;) {
        int rc = cxl_kv_poll(kv, r);
        if (rc != 0) {
            cxl_backoff_done(&kv->backoff);
            kv->st.waited_ns = kv->backoff.waited_ns;
            kv->st.sleeps = kv->backoff.sleeps;
            return rc;
        }
        if (kv->count == 0)
            return 0;
        cxl_backoff_wait(&kv->backoff);
    }
}

int cxl_kv_command(struct cxl_kv *kv, int argc, const char *const *argv, const size_t *argvlen,
                   struct cxl_kv_result *r)
{
    int rc = cxl_kv_submit_command(kv, argc, argv, argvlen, 0);
    if (rc)
        return rc;
    rc = cxl_kv_wait(kv, r);
    return rc == 1 ? r->status : rc < 0 ? rc : CXL_EPROTO;
}

/* AUTH [user] password on the ring's own connection, as a TCP client would. */
static int authenticate(struct cxl_kv *kv)
{
    const char *argv[3] = {"AUTH"};
    int argc = 1;
    if (kv->cfg.user)
        argv[argc++] = kv->cfg.user;
    argv[argc++] = kv->cfg.password;
    size_t lens[3];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct cxl_kv_result r;
    int rc = cxl_kv_command(kv, argc, argv, lens, &r);
    if (rc == CXL_KV_REPLY && r.len >= 3 && memcmp(r.data, "+OK", 3) == 0)
        return 0;
    if (rc < 0 && rc != r.status)
        return rc;
    int n = (int)r.len;
    while (n > 0 && (r.data[n - 1] == '\n' || r.data[n - 1] == '\r'))
        n--;
    return cxl_fail(CXL_EDENIED, "AUTH refused on ring %u: %.*s", kv->claim.ring, n > 200 ? 200 : n,
                    (const char *)r.data + (n && r.data[0] == '-'));
}

void cxl_kv_set_conn(struct cxl_kv *kv, uint16_t conn) { kv->conn = conn; }
uint32_t cxl_kv_inflight(const struct cxl_kv *kv) { return kv->count; }
uint32_t cxl_kv_ring(const struct cxl_kv *kv) { return kv->claim.ring; }
const struct cxl_geometry *cxl_kv_geometry(const struct cxl_kv *kv) { return cxl_layout_geometry(kv->layout); }
struct cxl_layout *cxl_kv_layout(const struct cxl_kv *kv) { return kv->layout; }

void cxl_kv_get_stats(const struct cxl_kv *kv, struct cxl_kv_stats *st)
{
    *st = kv->st;
    st->waited_ns = kv->backoff.waited_ns;
    st->sleeps = kv->backoff.sleeps;
}
