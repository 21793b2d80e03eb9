/* kv_server.c - the serving engine behind the Redis module: one pass over all
 * rings finds those with requests, brackets the work with the executor's
 * begin/end (Redis's lock), validates each request, executes it, writes the
 * reply, and publishes replies and freed request slots once per ring and
 * pass. Bad rings are recovered here: a corrupt request stream is dropped and
 * answered with one RESYNC error; a full response queue parks the replies
 * (in order) and pauses that ring only; unusable indices mark the ring broken
 * until they are sane again. Nothing here blocks on a ring. On a secure
 * medium a request message is a batch of records, opened once into private
 * memory before anything acts on it, and the replies to a batch are sealed
 * as one batch (secure_end.c, docs/SECURITY.md). (docs/SERVER.md, docs/KV.md) */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/kvserver.h"
#include "cxl/wait.h"
#include "ring/layout.h"
#include "sec/secure_end.h"

/* Counters have one writer (the serving thread) and readers elsewhere. */
#define STAT_ADD(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

#define HEARTBEAT_NS (50ull * 1000 * 1000)
#define HOUSEKEEPING_NS (10ull * 1000 * 1000) /* run(): poll at least this often */
#define BROKEN_REASON_INDICES 1u

struct reply_fields {
    uint64_t ref, integer;
    uint32_t session, arg0, flags;
    uint16_t status;
    uint16_t idx; /* secure ring: the request's index in its batch */
};

struct parked { /* a reply (or a batch of them) waiting for room in the response queue */
    struct parked *next;
    struct reply_fields f;
    int batch;    /* data is a batch of reply records, to seal */
    uint32_t len;
    uint8_t data[];
};

struct kv_ring {
    struct cxl_queue req, resp;
    struct cxl_kv_ring_stats st;
    struct parked *parked, *parked_tail; /* in order */
    /* secure ring: the batch of replies being composed in secure_end_stage() */
    uint32_t out_len, out_session;
    uint64_t out_ref;
    uint32_t index;
    uint64_t owner_word; /* cached per pass */
    struct secure_end *sec; /* NULL on a plain medium */
    uint32_t refused_upto;  /* after a repair: sessions up to this one are refused */
    int repaired;           /* state REPAIRED announced, no session served since */
};

struct cxl_kv_reply {
    struct kv_ring *ring;
    const struct cxl_msg *req;
    int done;
    int whole_batch; /* a refusal of a whole batch (secure ring), before any record was read */
    uint16_t idx;    /* secure ring: the request's index in its batch */
};

struct cxl_kv_server {
    struct cxl_layout *layout;
    struct cxl_kv_server_config cfg;
    struct cxl_kv_executor ex;
    uint32_t nrings;
    struct kv_ring *rings;
    struct cxl_backoff backoff;
    uint64_t polls;
    uint64_t pass_ns;     /* clock at the start of the current pass */
    uint64_t last_beat_ns;
    uint8_t server_nonce[16]; /* private copy of this instance's nonce */
};

/* --- writing replies ------------------------------------------------------- */

/* A secure ring seals its replies once it has keys; until then (no grant,
 * manager unreachable) they go out plain and the client refuses them. */
static int sealing(const struct kv_ring *r)
{
    return r->sec && r->sec->ready;
}

/* Behind what is already parked, in order. */
static void park(struct kv_ring *r, const struct reply_fields *f, int batch, const void *data, uint32_t len)
{
    struct parked *p = malloc(sizeof *p + len);
    if (!p) { /* cannot even park: the reply is lost, the client times out */
        STAT_ADD(r->st.resp_lost, 1);
        return;
    }
    *p = (struct parked){.f = *f, .batch = batch, .len = len};
    memcpy(p->data, data, len);
    if (r->parked)
        r->parked_tail->next = p;
    else
        r->parked = p;
    r->parked_tail = p;
    STAT_ADD(r->st.stalls, 1);
}

/* Reserve a plain reply and write it. 0 or the queue's error. */
static int put_reply(struct kv_ring *r, const struct reply_fields *f, const void *data, uint32_t len)
{
    struct cxl_msg_hdr h = {.ref = f->ref, .session = f->session, .op = f->status, .arg0 = f->arg0,
                            .arg1 = f->flags, .arg2 = f->integer};
    uint8_t *payload;
    int rc = cxl_queue_reserve(&r->resp, &h, len, &payload);
    if (rc == 0)
        memcpy(payload, data, len);
    return rc;
}

/* Reserve a sealed message for a batch of reply records (plain, private)
 * and seal it. 0 or the queue's error; a refused seal (rewound queue)
 * leaves the message unsealed, and the client rejects it. */
static int put_batch(struct kv_ring *r, const struct reply_fields *f, uint8_t *plain, uint32_t len)
{
    struct cxl_msg_hdr h = {.ref = f->ref, .session = f->session};
    uint8_t *payload;
    if (secure_end_header(r->sec, &h) != 0) { /* the keys went (a failed rekey): nothing to seal with */
        STAT_ADD(r->st.resp_lost, 1);
        return 0;
    }
    int rc = cxl_queue_reserve(&r->resp, &h, len + CXL_SEAL_TAG, &payload);
    if (rc)
        return rc;
    if (secure_end_seal(r->sec, &h, payload, plain, len) != 0)
        STAT_ADD(r->st.resp_lost, 1);
    return 0;
}

/* The client's response index is out of range: drop the response stream. */
static void lose_reply(struct kv_ring *r)
{
    STAT_ADD(r->st.resp_lost, 1);
    cxl_queue_resync(&r->resp);
}

/* (a batch is sealed in place: data is spent afterwards) */
static int put_either(struct kv_ring *r, const struct reply_fields *f, int batch, uint8_t *data, uint32_t len)
{
    return batch ? put_batch(r, f, data, len) : put_reply(r, f, data, len);
}

/* Send a plain reply or a batch, or park it behind the parked ones. */
static void send_or_park(struct kv_ring *r, const struct reply_fields *f, int batch, uint8_t *data, uint32_t len)
{
    int rc = r->parked ? CXL_EAGAIN : put_either(r, f, batch, data, len);
    if (rc == CXL_EAGAIN)
        park(r, f, batch, data, len);
    else if (rc != 0)
        lose_reply(r);
}

/* The reply batch being composed (secure rings) goes out. */
static void flush_replies(struct kv_ring *r)
{
    if (r->out_len == 0)
        return;
    struct reply_fields f = {.ref = r->out_ref, .session = r->out_session};
    send_or_park(r, &f, 1, secure_end_stage(r->sec), r->out_len);
    sodium_memzero(secure_end_stage(r->sec), r->out_len); /* the replies' plaintext */
    r->out_len = 0;
}

/* The largest reply one message holds, sealed or not. */
static uint32_t largest_reply(const struct kv_ring *r)
{
    uint64_t max = ((uint64_t)r->resp.max_msg_slots << r->resp.slot_shift) - CXL_MSG_HDR_MAX;
    return (uint32_t)(sealing(r) ? max - CXL_SEAL_TAG - CXL_KV_RECORD_HDR : max);
}

static void write_reply(struct kv_ring *r, const struct reply_fields *f, const void *data, uint32_t len)
{
    if (len > largest_reply(r)) {
        char text[160];
        int n = snprintf(text, sizeof text, "ERR reply of %u bytes exceeds the ring's largest message "
                         "(%u bytes); the command did run", len, largest_reply(r));
        struct reply_fields e = *f;
        e.status = CXL_KV_ERR;
        STAT_ADD(r->st.errors, 1);
        write_reply(r, &e, text, (uint32_t)n);
        return;
    }
    STAT_ADD(r->st.bytes_out, len);
    if (!sealing(r)) { /* a plain reply is only read (put_reply, park copy it) */
        send_or_park(r, f, 0, (uint8_t *)(uintptr_t)data, len);
        return;
    }
    /* a record in the batch of replies to one request batch (docs/SECURITY.md) */
    if (r->out_len && (f->ref != r->out_ref || f->session != r->out_session ||
                       (uint64_t)r->out_len + CXL_KV_RECORD_HDR + len > largest_reply(r) + CXL_KV_RECORD_HDR))
        flush_replies(r);
    struct cxl_msg_hdr h = {.op = f->status, .arg0 = f->arg0, .arg1 = f->flags, .arg2 = f->integer};
    r->out_len += cxl_kv_record_put(secure_end_stage(r->sec) + r->out_len, &h, f->idx, data, len);
    r->out_ref = f->ref;
    r->out_session = f->session;
}

static void free_parked(struct parked *p)
{
    if (p->batch) /* replies' plaintext */
        sodium_memzero(p->data, p->len);
    free(p);
}

/* 1 when nothing is parked any more. */
static int flush_parked(struct kv_ring *r)
{
    while (r->parked) {
        struct parked *p = r->parked;
        int rc = put_either(r, &p->f, p->batch, p->data, p->len);
        if (rc == CXL_EAGAIN)
            return 0;
        if (rc != 0)
            lose_reply(r);
        r->parked = p->next;
        free_parked(p);
    }
    return 1;
}

static void drop_parked(struct kv_ring *r)
{
    while (r->parked) {
        struct parked *p = r->parked;
        r->parked = p->next;
        free_parked(p);
    }
}

static void reply_to(struct cxl_kv_reply *rp, uint16_t status, uint64_t integer, const void *data,
                     uint32_t len)
{
    if (rp->done)
        return;
    rp->done = 1;
    struct kv_ring *r = rp->ring;
    struct reply_fields f = {.ref = rp->req->hdr.seq, .integer = integer,
                             .session = rp->req->hdr.session, .status = status,
                             .flags = rp->whole_batch ? CXL_KV_RESP_F_BATCH : 0, .idx = rp->idx};
    if (status == CXL_KV_ERR || (status == CXL_KV_REPLY && len && *(const char *)data == '-'))
        STAT_ADD(r->st.errors, 1); /* Redis's error replies count too */
    write_reply(r, &f, data, len);
}

void cxl_kv_reply(struct cxl_kv_reply *rp, uint16_t status, const void *data, uint32_t len)
{
    reply_to(rp, status, 0, data, len);
}

void cxl_kv_reply_int(struct cxl_kv_reply *rp, int64_t value)
{
    reply_to(rp, CXL_KV_INT, (uint64_t)value, "", 0);
}

void cxl_kv_reply_error(struct cxl_kv_reply *rp, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof text)
        n = sizeof text - 1;
    reply_to(rp, CXL_KV_ERR, 0, text, (uint32_t)n);
}

/* --- requests ----------------------------------------------------------------- */

static uint64_t owner_word(const struct cxl_kv_server *s, uint32_t ring)
{
    return __atomic_load_n(&cxl_ring_ctl_of(s->layout, ring)->owner_word, __ATOMIC_ACQUIRE);
}

/* A request belongs to the ring's current owner session. */
static int session_ok(struct cxl_kv_server *s, struct kv_ring *r, uint32_t session)
{
    for (int fresh = 0; fresh < 2; fresh++) {
        uint64_t w = r->owner_word;
        if (cxl_owner_state(w) == CXL_OWNER_OWNED && cxl_owner_gen(w) == session)
            return 1;
        r->owner_word = owner_word(s, r->index); /* claimed since the pass began? */
    }
    return 0;
}

/* Secure ring: the keys of the ring's owner session as r->owner_word has
 * it, re-derived when the session or the keyring changed. CXL_EDENIED if
 * the owner's node has no grant (the keys are gone then, and replies go out
 * plain: the client refuses them). */
static int current_keys(struct cxl_kv_server *s, struct kv_ring *r)
{
    uint32_t gen = cxl_owner_gen(r->owner_word);
    uint16_t node = (uint16_t)cxl_owner_node(r->owner_word);
    /* a session the repair ended: its keys are never derived again (positions
     * restarted under them: sealing would reuse a nonce) */
    if (r->refused_upto && gen <= r->refused_upto)
        return cxl_fail(CXL_EDENIED, "ring %u: session %u ended with the ring's repair", r->index, gen);
    if (!secure_end_stale(r->sec, gen, node, s->pass_ns))
        return 0;
    uint8_t session[16];
    memcpy(session, cxl_ring_ctl_of(s->layout, r->index)->session, sizeof session);
    return secure_end_rekey(r->sec, gen, node, session, s->server_nonce);
}

/* Secure ring: open the request into private memory (keys re-derived when
 * the session or the keyring changed). 0, or the reply is already sent. */
static int open_request(struct cxl_kv_server *s, struct kv_ring *r, struct cxl_msg *m,
                        struct cxl_kv_reply *rp)
{
    if (!(m->hdr.flags & CXL_MSG_F_SEALED)) {
        STAT_ADD(r->st.rejected_crypto, 1);
        cxl_kv_reply_error(rp, "ERR ring %u: unsealed request on a secure ring", r->index);
        return -1;
    }
    uint32_t gen = cxl_owner_gen(r->owner_word);
    uint16_t node = (uint16_t)cxl_owner_node(r->owner_word);
    if (r->sec->opened && r->sec->open_gen == gen && r->sec->open_node != node) {
        /* a session's node is the one its first message proved: the owner
         * word rewritten under it would hand its connections to another */
        STAT_ADD(r->st.rejected_crypto, 1);
        cxl_kv_reply_error(rp, "ERR ring %u: the claim's node changed under its session (node %u, now %u): "
                           "refused", r->index, r->sec->open_node, node);
        return -1;
    }
    if (current_keys(s, r) == CXL_EDENIED) {
        STAT_ADD(r->st.rejected_crypto, 1);
        cxl_kv_reply_error(rp, "ERR %s", cxl_last_error());
        return -1;
    }
    if (secure_end_open(r->sec, m) != 0) {
        STAT_ADD(r->st.rejected_crypto, 1);
        cxl_kv_reply_error(rp, "ERR ring %u: %s", r->index, cxl_last_error());
        return -1;
    }
    return 0;
}

/* Decode one request (a message, or record idx of a batch: m then holds
 * the record's op, arguments and data, and the batch's position and
 * session) and execute it; its reply is written. */
static void run_request(struct cxl_kv_server *s, struct kv_ring *r, const struct cxl_msg *m, uint16_t idx)
{
    struct cxl_kv_reply rp = {.ring = r, .req = m, .idx = idx};
    struct cxl_kv_request req;
    if (cxl_kv_decode_request(&m->hdr, m->payload, &req) != 0) {
        STAT_ADD(r->st.rejected, 1);
        cxl_kv_reply_error(&rp, "ERR protocol: %s", cxl_last_error());
        return;
    }
    if (r->repaired) { /* a session after the repair is served: say the ring is fine */
        r->repaired = 0;
        cxl_server_set_ring_state(s->layout, r->index, CXL_SRV_RING_OK, 0);
    }
    req.ring = r->index;
    req.session = m->hdr.session;
    /* on a secure ring, the node the keys that opened it belong to */
    req.node = r->sec ? r->sec->node : (uint16_t)cxl_owner_node(r->owner_word);
    s->ex.execute(s->ex.ud, &req, &rp);
    STAT_ADD(r->st.requests, 1);
    if (!rp.done)
        cxl_kv_reply_error(&rp, "ERR the server produced no reply for %s", cxl_kv_op_name(req.op));
}

/* An opened batch (private): its requests in order, each record carrying
 * its index; their replies go out as one sealed batch (or several, when
 * they do not fit one message). A malformed batch, which only a holder of
 * the key can have sealed, is refused from the first bad record on. */
static void run_batch(struct cxl_kv_server *s, struct kv_ring *r, const struct cxl_msg *batch)
{
    const uint8_t *p = batch->payload, *end = p + batch->hdr.len;
    struct cxl_msg m = *batch;
    uint32_t i = 0;
    uint16_t idx;
    int rc;
    while ((rc = cxl_kv_record_next(&p, end, &m.hdr, &idx, &m.payload)) == 1) {
        if (idx != i || i == CXL_KV_BATCH_MAX) {
            rc = cxl_fail(CXL_EPROTO, "protocol: batch record %u has index %u", i, idx);
            break;
        }
        if (r->parked) { /* replies wait for room: run no more of it (parked memory stays bounded) */
            rc = cxl_fail(CXL_EAGAIN, "ring %u: the response queue is full (replies are not being read): "
                          "the rest of the batch did not run", r->index);
            break;
        }
        run_request(s, r, &m, (uint16_t)i++);
    }
    if (rc < 0 || batch->hdr.len == 0) { /* the records from the bad one on: refused */
        struct cxl_kv_reply rp = {.ring = r, .req = batch, .whole_batch = 1, .idx = (uint16_t)i};
        STAT_ADD(r->st.rejected, 1);
        cxl_kv_reply_error(&rp, "ERR %s", rc < 0 ? cxl_last_error() : "protocol: an empty batch");
    }
    flush_replies(r);
}

static void handle(struct cxl_kv_server *s, struct kv_ring *r, struct cxl_msg *m)
{
    struct cxl_kv_reply rp = {.ring = r, .req = m, .whole_batch = r->sec != NULL};
    STAT_ADD(r->st.bytes_in, m->hdr.len);
    if (r->sec && secure_end_answered(r->sec, m->hdr.seq)) {
        STAT_ADD(r->st.rejected, 1); /* a replay, or read again after a rewind: */
        STAT_ADD(r->st.rejected_crypto, 1); /* its position had its one answer */
        return;
    }
    if (r->refused_upto && m->hdr.session <= r->refused_upto) {
        STAT_ADD(r->st.rejected, 1); /* its session ended with the repair: no answer */
        return;
    }
    if (!session_ok(s, r, m->hdr.session)) {
        STAT_ADD(r->st.rejected, 1);
        cxl_kv_reply_error(&rp, "ERR ring %u: request from session %u, but the ring's owner session is %u",
                           r->index, m->hdr.session, cxl_owner_gen(r->owner_word));
        return;
    }
    if (r->sec) {
        if (open_request(s, r, m, &rp) != 0) {
            STAT_ADD(r->st.rejected, 1);
            return;
        }
        run_batch(s, r, m);
        return;
    }
    if (m->hdr.flags & CXL_MSG_F_SEALED) {
        STAT_ADD(r->st.rejected, 1);
        cxl_kv_reply_error(&rp, "ERR ring %u: sealed request but this server runs without security", r->index);
        return;
    }
    run_request(s, r, m, 0);
}

/* The request stream cannot be framed any more: drop what is published,
 * tell the client once, carry on. */
static void mark_broken(struct cxl_kv_server *s, struct kv_ring *r);

static void handle_corrupt(struct cxl_kv_server *s, struct kv_ring *r, uint32_t session)
{
    char why[400];
    snprintf(why, sizeof why, "%s", cxl_last_error());
    uint64_t first = r->req.pos; /* the first position dropped */
    int64_t dropped = cxl_queue_resync(&r->req);
    if (dropped < 0) {
        mark_broken(s, r);
        return;
    }
    if (r->sec) { /* the RESYNC error answers every position dropped, */
        secure_end_skip(r->sec, r->req.pos);
        r->owner_word = owner_word(s, r->index); /* sealed for the session there now */
        if (r->refused_upto && cxl_owner_gen(r->owner_word) <= r->refused_upto) {
            STAT_ADD(r->st.resyncs, 1); /* a session the repair ended gets no answer (handle()) */
            return;
        }
        current_keys(s, r);
    }
    STAT_ADD(r->st.resyncs, 1);
    char text[512];
    int n = snprintf(text, sizeof text, "ERR ring %u: corrupt request stream (%s); dropped %" PRId64
                     " slots of requests", r->index, why, dropped);
    struct reply_fields f = {.ref = r->req.pos, .session = session, .status = CXL_KV_ERR,
                             .flags = CXL_KV_RESP_F_RESYNC, .arg0 = (uint32_t)dropped, .integer = first};
    STAT_ADD(r->st.errors, 1);
    write_reply(r, &f, text, (uint32_t)(n < (int)sizeof text ? n : (int)sizeof text - 1));
}

static int serve_ring(struct cxl_kv_server *s, struct kv_ring *r)
{
    int n = 0;
    struct cxl_msg m;
    while ((uint32_t)n < s->cfg.batch && !r->parked) {
        int rc = cxl_queue_peek(&r->req, &m);
        if (rc == 0)
            break;
        if (rc < 0) {
            handle_corrupt(s, r, cxl_owner_gen(r->owner_word));
            if (r->sec)
                flush_replies(r);
            break;
        }
        handle(s, r, &m);
        if (r->sec) /* an error that answered the whole batch */
            flush_replies(r);
        if (r->sec) /* m's position has had its answer, whatever it was */
            secure_end_skip(r->sec, r->req.pos);
        n++;
    }
    cxl_queue_submit(&r->resp); /* replies first: they may copy from requests */
    cxl_queue_release(&r->req);
    STAT_ADD(r->st.batches, 1);
    return n;
}

/* --- rings that went bad ----------------------------------------------------------- */

static int init_queues(struct cxl_kv_server *s, struct kv_ring *r)
{
    int rc = cxl_queue_init(&r->req, s->layout, r->index, CXL_REQ, CXL_CONSUMER);
    if (rc == 0)
        rc = cxl_queue_init(&r->resp, s->layout, r->index, CXL_RESP, CXL_PRODUCER);
    return rc;
}

static void mark_broken(struct cxl_kv_server *s, struct kv_ring *r)
{
    if (!r->st.broken) {
        r->st.broken = 1;
        if (!r->repaired) /* REPAIRED stays: it is what ends the owner's session */
            cxl_server_set_ring_state(s->layout, r->index, CXL_SRV_RING_BROKEN, BROKEN_REASON_INDICES);
    }
}

/* Indices forged into the exhausted range leave no room to move: the ring
 * is rebased. Ours go back to 0 (the claimant's follow at the next claim,
 * owner.c), the secure windows restart with them, and the session that was
 * using the ring is over: positions restarting under its keys would let old
 * messages of it be accepted again, so it is refused from now on (no
 * answers) and its owner, told by the ring's state, claims the ring again
 * (docs/RING.md, "Repair"). */
static void repair(struct cxl_kv_server *s, struct kv_ring *r)
{
    struct cxl_ring_ctl *c = cxl_ring_ctl_of(s->layout, r->index);
    cxl_store_release(&c->req_head.value, 0);
    cxl_store_release(&c->resp_tail.value, 0);
    r->refused_upto = cxl_owner_gen(owner_word(s, r->index));
    drop_parked(r);
    r->out_len = 0;
    if (r->sec)
        secure_end_restart(r->sec);
    r->repaired = 1;
    STAT_ADD(r->st.repairs, 1);
    cxl_server_set_ring_state(s->layout, r->index, CXL_SRV_RING_REPAIRED, r->refused_upto);
}

static int exhausted(const struct cxl_kv_server *s, const struct kv_ring *r)
{
    const struct cxl_ring_ctl *c = cxl_ring_ctl_of(s->layout, r->index);
    return cxl_load_acquire(&c->req_head.value) >= CXL_POS_REBASE ||
           cxl_load_acquire(&c->resp_tail.value) >= CXL_POS_REBASE;
}

/* A broken ring comes back when its indices are sane again: ours we rebase
 * if they are exhausted, the client's it resets when it claims the ring
 * (docs/RING.md). Otherwise our positions are read back from the medium. */
static int try_recover(struct cxl_kv_server *s, struct kv_ring *r)
{
    if (exhausted(s, r))
        repair(s, r);
    if (cxl_layout_check_ring(s->layout, r->index) != 0 || init_queues(s, r) != 0)
        return 0;
    r->st.broken = 0;
    if (!r->repaired)
        cxl_server_set_ring_state(s->layout, r->index, CXL_SRV_RING_OK, 0);
    return 1;
}

/* A ring whose indices (ours in the medium, or the positions we took over
 * from a forged peer) are in the exhausted range is rebased, whoever owns
 * it: no honest ring gets there (checked when housekeeping). */
static void check_exhausted(struct cxl_kv_server *s, struct kv_ring *r)
{
    if (exhausted(s, r) || r->req.pos >= CXL_POS_REBASE || r->resp.pos >= CXL_POS_REBASE) {
        repair(s, r);
        mark_broken(s, r); /* picked up again by try_recover once sane */
    }
}

/* Does this ring need serving now? */
static int ring_ready(struct cxl_kv_server *s, struct kv_ring *r)
{
    if (r->st.broken && !try_recover(s, r))
        return 0;
    if (r->parked) {
        int flushed = flush_parked(r);
        cxl_queue_submit(&r->resp); /* published now, even if no request follows */
        if (!flushed)
            return 0;
    }
    int rc = cxl_queue_ready(&r->req);
    if (rc < 0) { /* the client's tail is out of range: drop to it if we can */
        if (cxl_queue_resync(&r->req) < 0 || cxl_layout_check_ring(s->layout, r->index) != 0) {
            mark_broken(s, r);
            return 0;
        }
        if (r->sec) /* positions skipped are never read later (no answer) */
            secure_end_skip(r->sec, r->req.pos);
        STAT_ADD(r->st.resyncs, 1);
        return 0;
    }
    return rc;
}

/* Rare checks that no request triggers (a ring forged exhausted). */
static void housekeep(struct cxl_kv_server *s)
{
    for (uint32_t i = 0; i < s->nrings; i++) {
        struct kv_ring *r = &s->rings[i];
        if (r->st.broken)
            continue;
        check_exhausted(s, r);
        /* a state another host wrote (REPAIRED would end every session) */
        const struct cxl_ring_ctl *c = cxl_ring_ctl_of(s->layout, i);
        if (!r->repaired && !r->st.broken && __atomic_load_n(&c->srv_state, __ATOMIC_ACQUIRE) != CXL_SRV_RING_OK)
            cxl_server_set_ring_state(s->layout, i, CXL_SRV_RING_OK, 0);
    }
}

/* --- the engine ------------------------------------------------------------------------ */

int cxl_kv_server_poll(struct cxl_kv_server *s)
{
    int n = 0;
    __atomic_store_n(&s->polls, s->polls + 1, __ATOMIC_RELAXED);
    if (s->polls % 4096 == 0) /* drivers without run() get it too */
        housekeep(s);
    if (s->ex.pass && s->ex.pass(s->ex.ud) != 0)
        return 0; /* not now: the requests stay in the rings */
    if (s->cfg.keys) /* keys expire (fail closed): judged once per pass */
        s->pass_ns = cxl_now_ns();
    for (uint32_t i = 0; i < s->nrings; i++) {
        struct kv_ring *r = &s->rings[i];
        if (!ring_ready(s, r))
            continue;
        r->owner_word = owner_word(s, i);
        n += serve_ring(s, r);
    }
    return n;
}

int cxl_kv_server_pending(const struct cxl_kv_server *s)
{
    for (uint32_t i = 0; i < s->nrings; i++) {
        const struct cxl_ring_ctl *c = cxl_ring_ctl_of(s->layout, i);
        if (cxl_load_acquire(&c->req_tail.value) != cxl_load_acquire(&c->req_head.value) ||
            __atomic_load_n(&s->rings[i].parked, __ATOMIC_RELAXED)) /* a hint; poll decides */
            return 1;
    }
    return 0;
}

void cxl_kv_server_beat(struct cxl_kv_server *s)
{
    uint64_t now = cxl_now_ns();
    if (now - s->last_beat_ns >= HEARTBEAT_NS) {
        cxl_server_heartbeat(s->layout);
        s->last_beat_ns = now;
    }
}

static int locked_poll(struct cxl_kv_server *s, int housekeeping)
{
    if (s->ex.begin)
        s->ex.begin(s->ex.ud);
    if (housekeeping)
        housekeep(s);
    int n = cxl_kv_server_poll(s);
    if (s->ex.end)
        s->ex.end(s->ex.ud);
    return n;
}

void cxl_kv_server_run(struct cxl_kv_server *s, volatile int *stop)
{
    uint32_t busy = 0;
    uint64_t last_poll = cxl_now_ns();
    while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
        if (cxl_kv_server_pending(s) && locked_poll(s, 0) > 0) {
            cxl_backoff_done(&s->backoff);
            if (++busy % 4096 == 0) {
                last_poll = cxl_now_ns();
                cxl_kv_server_beat(s);
            }
            continue;
        }
        cxl_backoff_wait(&s->backoff);
        uint64_t now = s->backoff.now_ns;
        if (now - last_poll >= HOUSEKEEPING_NS) { /* parked replies, broken rings */
            if (locked_poll(s, 1) > 0) /* it served requests: the wait is over (no idle sleep next) */
                cxl_backoff_done(&s->backoff);
            last_poll = now;
            cxl_kv_server_beat(s);
        }
    }
}

int cxl_kv_server_create(struct cxl_layout *l, const struct cxl_kv_server_config *cfg,
                         const struct cxl_kv_executor *ex, struct cxl_kv_server **out)
{
    if (!ex || !ex->execute)
        return cxl_fail(CXL_EINVAL, "kv server needs an executor");
    struct cxl_kv_server *s = calloc(1, sizeof *s);
    uint32_t n = cxl_layout_geometry(l)->ring_count;
    if (!s || !(s->rings = calloc(n, sizeof *s->rings))) {
        free(s);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    s->layout = l;
    s->cfg = cfg ? *cfg : (struct cxl_kv_server_config){0};
    if (!s->cfg.batch)
        s->cfg.batch = 64;
    if (!s->cfg.spin_us)
        s->cfg.spin_us = 50;
    if (!s->cfg.yield_us)
        s->cfg.yield_us = 1000;
    if (!s->cfg.idle_after_ms)
        s->cfg.idle_after_ms = CXL_KV_SERVER_IDLE_AFTER_MS;
    if (!s->cfg.idle_sleep_us)
        s->cfg.idle_sleep_us = CXL_KV_SERVER_IDLE_SLEEP_US;
    s->ex = *ex;
    s->nrings = n;
    cxl_backoff_init(&s->backoff, s->cfg.spin_us, s->cfg.yield_us, s->cfg.max_sleep_us);
    cxl_backoff_set_idle(&s->backoff, s->cfg.idle_after_ms, s->cfg.idle_sleep_us);
    cxl_backoff_set_busy(&s->backoff, s->cfg.busy_spin_us);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        struct kv_ring *r = &s->rings[i];
        r->index = i;
        if (exhausted(s, r)) /* forged while no server ran */
            repair(s, r);
        init_queues(s, r);
        if (cxl_layout_check_ring(l, i) != 0)
            mark_broken(s, r);
        else if (!r->repaired)
            cxl_server_set_ring_state(l, i, CXL_SRV_RING_OK, 0);
        if (s->cfg.keys && (r->sec = calloc(1, sizeof *r->sec)) == NULL)
            rc = cxl_fail(CXL_ESYS, "out of memory");
        if (r->sec && rc == 0)
            rc = secure_end_init(r->sec, s->cfg.keys, l, i, CXL_CONSUMER);
    }
    if (rc == 0 && !s->cfg.keys && (cxl_layout_geometry(l)->flags & CXL_LAYOUT_F_SECURE))
        rc = cxl_fail(CXL_ECRYPTO, "the medium is formatted secure: the server needs keys "
                      "(secure=1 with the manager, or crypto=1 with a key file)");
    if (rc == 0)
        rc = cxl_server_announce(l, s->cfg.node_id, NULL, s->server_nonce);
    if (rc) {
        cxl_kv_server_destroy(s);
        return rc;
    }
    s->last_beat_ns = cxl_now_ns();
    *out = s;
    return 0;
}

void cxl_kv_server_destroy(struct cxl_kv_server *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nrings; i++) {
        drop_parked(&s->rings[i]);
        if (s->rings[i].sec) {
            secure_end_free(s->rings[i].sec);
            free(s->rings[i].sec);
        }
    }
    free(s->rings);
    sodium_memzero(s->server_nonce, sizeof s->server_nonce);
    free(s);
}

void cxl_kv_server_stats(const struct cxl_kv_server *s, uint32_t ring, struct cxl_kv_ring_stats *st)
{
    if (ring >= s->nrings) {
        *st = (struct cxl_kv_ring_stats){0};
        return;
    }
    const struct cxl_kv_ring_stats *src = &s->rings[ring].st;
    st->requests = __atomic_load_n(&src->requests, __ATOMIC_RELAXED);
    st->errors = __atomic_load_n(&src->errors, __ATOMIC_RELAXED);
    st->rejected = __atomic_load_n(&src->rejected, __ATOMIC_RELAXED);
    st->rejected_crypto = __atomic_load_n(&src->rejected_crypto, __ATOMIC_RELAXED);
    st->resyncs = __atomic_load_n(&src->resyncs, __ATOMIC_RELAXED);
    st->resp_lost = __atomic_load_n(&src->resp_lost, __ATOMIC_RELAXED);
    st->stalls = __atomic_load_n(&src->stalls, __ATOMIC_RELAXED);
    st->bytes_in = __atomic_load_n(&src->bytes_in, __ATOMIC_RELAXED);
    st->bytes_out = __atomic_load_n(&src->bytes_out, __ATOMIC_RELAXED);
    st->batches = __atomic_load_n(&src->batches, __ATOMIC_RELAXED);
    st->broken = __atomic_load_n(&src->broken, __ATOMIC_RELAXED);
    st->repairs = __atomic_load_n(&src->repairs, __ATOMIC_RELAXED);
}

void cxl_kv_server_wait_stats(const struct cxl_kv_server *s, struct cxl_kv_server_wait *w)
{
    *w = (struct cxl_kv_server_wait){
        .waited_ns = __atomic_load_n(&s->backoff.waited_ns, __ATOMIC_RELAXED),
        .sleeps = __atomic_load_n(&s->backoff.sleeps, __ATOMIC_RELAXED),
        .yields = __atomic_load_n(&s->backoff.yields, __ATOMIC_RELAXED),
        .polls = __atomic_load_n(&s->polls, __ATOMIC_RELAXED),
    };
}
