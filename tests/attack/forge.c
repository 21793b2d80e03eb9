/* forge.c - building the attacker's messages (the build_* functions of
 * type build_fn, sealing under a key of the attacker's choosing),
 * injecting one while a client is held (held_request, held_response),
 * and making the server read a queue again (forge_rewind_server), with
 * the two attacks made of those alone: answering a position twice and
 * losing an answer (forge_double_answer_one, forge_lost_answer_one). */
#define _GNU_SOURCE
#include "attack.h"

/* --- the attacker: building messages ---------------------------------------------------- */

/* A session key from a region key and ring r's public values, as the ends
 * derive it (docs/SECURITY.md, "Keys"). */
void forge_derive(struct cxl_seal *s, const uint8_t region_key[32], uint32_t epoch, uint32_t r,
                  enum cxl_dir d)
{
    struct cxl_seal_binding b = {.format_id = G->format_id, .ring = r, .dir = d, .gen = med_gen_of(r),
                                 .node = med_node_of(r)};
    med_session_of(r, b.client_session);
    med_server_nonce(b.server_nonce);
    cxl_seal_derive(s, cipher, region_key, epoch, &b);
}

/* Rewrite the header of the message in msg (a private line, SLOT_SIZE
 * bytes) to *h, keeping its payload (the first h->len bytes after the old
 * header). Layout v2 packs a header to its non-zero fields, so an edit can
 * change its size: then the payload moves with it and the attacker writes
 * a whole new message, header and payload, as any host can. Returns 0, or
 * -1 if msg holds no header or the result does not fit in the line. */
int forge_reheader(uint8_t *msg, const struct cxl_msg_hdr *h)
{
    struct cxl_msg_hdr old;
    uint32_t ohs = cxl_msg_decode(msg, SLOT_SIZE, &old), nhs = cxl_msg_hdr_size(h);
    if (ohs == 0 || (uint64_t)nhs + h->len > SLOT_SIZE || (uint64_t)ohs + h->len > SLOT_SIZE)
        return -1;
    if (nhs != ohs) {
        uint8_t payload[SLOT_SIZE];
        memcpy(payload, msg + ohs, h->len);
        memset(msg, 0, SLOT_SIZE);
        memcpy(msg + nhs, payload, h->len);
    }
    return cxl_msg_encode(h, msg) == nhs ? 0 : -1;
}

/* A sealed SET key=<attacker value> at position pos, with session field
 * session, under s: the whole message (packed header, then the ciphertext
 * of the inner header and data, then the tag) in msg. */
static void seal_set(uint8_t *msg, struct cxl_seal *s, uint64_t pos, uint32_t session, const char *key)
{
    char val[48];
    uint8_t data[160], scratch[256];
    uint32_t klen = (uint32_t)strlen(key);
    uint32_t vlen = (uint32_t)snprintf(val, sizeof val, "attacker-value-%" PRIu64, pos);
    memcpy(data, key, klen);
    memcpy(data + klen, val, vlen);
    memset(msg, 0, SLOT_SIZE);
    struct cxl_msg_hdr h = {.session = session, .ref = pos};
    cxl_seal_header(s, &h);
    h.seq = pos;
    h.len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + klen + vlen;
    uint32_t hs = cxl_msg_encode(&h, msg);
    struct cxl_msg_hdr in = {.op = CXL_KV_SET, .arg0 = klen};
    s->next = 0;
    if (hs + h.len > SLOT_SIZE || cxl_seal_msg(s, &h, msg + hs, scratch, cxl_kv_record_put(scratch, &in, 0, data, klen + vlen)) != 0)
        attacker_fail("cannot seal a forged SET: %s", cxl_last_error());
}

/* A sealed GET answer carrying a value of the honest format: accepted, it
 * would be a wrong value. */
static void seal_answer(uint8_t *msg, struct cxl_seal *s, uint64_t pos, uint64_t ref, uint32_t session)
{
    uint8_t data[VAL_LEN], scratch[256];
    memset(data, '.', VAL_LEN);
    memcpy(data, "FORGED-ANSWER", 13);
    memset(msg, 0, SLOT_SIZE);
    struct cxl_msg_hdr h = {.session = session, .ref = ref};
    cxl_seal_header(s, &h);
    h.seq = pos;
    h.len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + VAL_LEN;
    uint32_t hs = cxl_msg_encode(&h, msg);
    struct cxl_msg_hdr in = {.op = CXL_KV_OK};
    s->next = 0;
    if (hs + h.len > SLOT_SIZE || cxl_seal_msg(s, &h, msg + hs, scratch, cxl_kv_record_put(scratch, &in, 0, data, VAL_LEN)) != 0)
        attacker_fail("cannot seal a forged answer: %s", cxl_last_error());
}

/* The forged SET under f's region key, for ring f->ring's coordinates
 * (default: the target's), the session field of the target. */
void build_sealed_set(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    struct cxl_seal s;
    uint32_t as = f->ring >= 0 ? (uint32_t)f->ring : r;
    forge_derive(&s, f->region_key, f->epoch ? f->epoch : med_epoch_seen(r), as, CXL_REQ);
    seal_set(msg, &s, pos, med_gen_of(r), f->key);
    cxl_seal_wipe(&s);
}

/* A well-formed plain SET: what a host without any key can write. */
void build_plain_set(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    memset(msg, 0, SLOT_SIZE);
    uint32_t klen = (uint32_t)strlen(f->key);
    struct cxl_msg_hdr h = {.seq = pos, .len = klen + 5, .op = CXL_KV_SET, .arg0 = klen,
                            .session = med_gen_of(r)};
    uint32_t hs = cxl_msg_encode(&h, msg);
    memcpy(msg + hs, f->key, klen);
    memcpy(msg + hs + klen, "owned", 5);
}

void build_random(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    (void)r;
    cxl_random_bytes(msg, SLOT_SIZE);
    if (f->n % 2) { /* past the ring layer's position check (the low 32 bits of pos) */
        uint32_t seq = (uint32_t)pos;
        memcpy(msg, &seq, 4);
    }
    if (f->n % 4 == 3) { /* and past its other checks: a header that decodes, a length that fits the line */
        msg[8] = CXL_MSG_F_SEALED;
        msg[9] &= CXL_MSG_FIELD_KNOWN;
        struct cxl_msg_hdr h;
        uint32_t hs = cxl_msg_decode(msg, SLOT_SIZE, &h);
        uint32_t len = hs ? (uint32_t)((f->n * 0x9E3779B97F4A7C15ull) >> 40) % (SLOT_SIZE - hs + 1) : 0;
        memcpy(msg + 4, &len, 4);
    }
}

/* Layout v2's own header checks, each with everything else valid (a SET
 * sealed under a made-up key, at the right position): the fields a v1
 * header had at fixed offsets are now a bitmap and a packed list, so the
 * forgeries are about those. f->n picks one:
 *   0 an unknown bit in the fields byte (0x40 / 0x80)
 *   1 an unknown bit in the flags byte
 *   2 a PAD that carries optional fields (and so a longer header)
 *   3 a length that runs past the line into one the producer never published
 *   4 a length past the largest message (past the end of the queue)
 *   5 a fields byte that claims one more optional field than was written
 *     (the payload's first bytes read as that field: the header "runs" into
 *     the payload; a header cannot run past a line, 44 B < 64 B, so this is
 *     its v2 equivalent)
 * The ring layer must refuse 0..4 (CXL_ECORRUPT: the server resyncs) and the
 * secure layer 5 (an argument in a sealed header, else the tag); nothing may
 * execute. */
void build_bad_header(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    build_sealed_set(msg, r, pos, f);
    struct cxl_msg_hdr h;
    uint32_t hs = cxl_msg_decode(msg, SLOT_SIZE, &h), len = h.len;
    if (hs == 0) {
        attacker_fail("bad header: the forged SET does not decode");
        return;
    }
    switch (f->n % 6) {
    case 0:
        msg[9] |= (uint8_t)(f->n / 6 % 2 ? 0x80u : 0x40u);
        break;
    case 1:
        msg[8] |= (uint8_t)(0x04u << (f->n / 6 % 6));
        break;
    case 2:
        msg[8] = CXL_MSG_F_PAD;
        break;
    case 3:
        len = SLOT_SIZE - hs + 1 + (uint32_t)(f->n / 6 % 64);
        memcpy(msg + 4, &len, 4);
        break;
    case 4:
        len = f->n / 6 % 2 ? UINT32_MAX : G->max_payload + 1;
        memcpy(msg + 4, &len, 4);
        break;
    default: /* the first absent field: arg0 (op and args travel sealed, so they are absent) */
        msg[9] |= CXL_MSG_FIELD_ARG0;
        break;
    }
}

/* A captured valid message, moved: its seq says the new position (else the
 * ring layer alone would refuse it) and its session field the target's.
 * Decoded, edited, encoded again (the whole message if the header's size
 * changed). */
void build_copy(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    memcpy(msg, f->copy, SLOT_SIZE);
    struct cxl_msg_hdr h;
    if (cxl_msg_decode(msg, SLOT_SIZE, &h) == 0) {
        attacker_fail("a captured message does not decode");
        return;
    }
    h.seq = pos;
    h.session = med_gen_of(r);
    if (forge_reheader(msg, &h) != 0)
        attacker_fail("cannot move a captured message to position %" PRIu64, pos);
}

/* The message at pos - 1 of r/d (just read), one position on: only seq
 * changes, so the header keeps its size. */
static void build_next(uint8_t *msg, uint32_t r, enum cxl_dir d, uint64_t pos)
{
    memcpy(msg, med_slot_at(r, d, pos - 1), SLOT_SIZE);
    struct cxl_msg_hdr h;
    if (cxl_msg_decode(msg, SLOT_SIZE, &h) == 0) { /* not a header: still moved, by its seq bytes */
        uint32_t seq = (uint32_t)pos;
        memcpy(msg, &seq, 4);
        return;
    }
    h.seq = pos;
    if (forge_reheader(msg, &h) != 0) { /* a length past the line: the seq bytes alone */
        uint32_t seq = (uint32_t)pos;
        memcpy(msg, &seq, 4);
    }
}

/* The newest request of the held ring (just executed), one position on. */
void build_next_pos(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    (void)f;
    build_next(msg, r, CXL_REQ, pos);
}

void build_next_resp(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    (void)f;
    build_next(msg, r, CXL_RESP, pos);
}

/* An answer to the held client's next request, sealed under a made-up key. */
void build_forged_answer(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    struct cxl_seal s;
    forge_derive(&s, f->region_key, med_epoch_seen(r), r, CXL_RESP);
    seal_answer(msg, &s, pos, cxl_load_acquire(med_tail_of(r, CXL_REQ)), med_gen_of(r));
    cxl_seal_wipe(&s);
}

/* --- the attacker: injecting while a client is held ----------------------------------------- */

/* Put a message at the tail of ring r's request queue and publish it, as a
 * host that writes the medium can, while the ring's client (c, or none) is
 * held. Judged by the ring's counters (a rejection must show, an execution
 * must not) and by the key a forged SET would have written. */
void held_request(enum kind k, int c, uint32_t r, build_fn build, struct forge *f, const char *what)
{
    if (gave_up || (c >= 0 && med_hold(c) != 0))
        goto out;
    uint64_t pos = cxl_load_acquire(med_tail_of(r, CXL_REQ));
    uint8_t msg[SLOT_SIZE];
    build(msg, r, pos, f);
    struct snap s0, s1;
    med_snap(&s0);
    memcpy(med_slot_at(r, CXL_REQ, pos), msg, SLOT_SIZE);
    cxl_store_release(med_tail_of(r, CXL_REQ), pos + 1);
    int consumed = med_wait_at_least(med_head_of(r, CXL_REQ), pos + 1, 2000);
    med_snap(&s1);
    long long ex = med_executed(&s0, &s1, r), rej = med_refused(&s0, &s1, r);
    int exists = f->key[0] ? med_tcp_exists(f->key) : 0;
    if (ex > 0 || exists > 0)
        med_outcome(k, MISSED, "%s at ring %u position %" PRIu64 ": %lld request(s) executed%s%s", what, r, pos, ex,
                exists > 0 ? ", Redis now has " : "", exists > 0 ? f->key : "");
    else
        med_outcome(k, consumed && rej > 0 ? DETECTED : LATE, "-");
out:
    if (c >= 0)
        med_unhold(c);
}

/* Put a message at the tail of client c's response queue, then let the
 * client run one batch: it must refuse the message (its `rejected` count)
 * and never take a wrong value from it. */
void held_response(enum kind k, int c, build_fn build, struct forge *f, const char *what)
{
    uint32_t r = med_ring_of(c);
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint64_t pos = cxl_load_acquire(med_tail_of(r, CXL_RESP));
    uint8_t msg[SLOT_SIZE];
    build(msg, r, pos, f);
    struct snap s0, s1;
    med_snap(&s0);
    memcpy(med_slot_at(r, CXL_RESP, pos), msg, SLOT_SIZE);
    cxl_store_release(med_tail_of(r, CXL_RESP), pos + 1);
    int stepped = med_step(c) == 0;
    med_snap(&s1);
    if (s1.cli[c].wrong > s0.cli[c].wrong)
        med_outcome(k, MISSED, "%s at ring %u response position %" PRIu64 ": client %c took a wrong value (%s)", what,
                r, pos, 'A' + c, bd->cli[c].wrong_text);
    else
        med_outcome(k, stepped && s1.cli[c].kv_rejected > s0.cli[c].kv_rejected ? DETECTED : LATE, "-");
out:
    med_unhold(c);
}

/* --- the attacker: making the server read a queue again ------------------------------------ */

static int wait_ring_state(uint32_t r, uint32_t state, uint64_t events, unsigned ms)
{
    uint64_t t0 = cxl_now_ns();
    while (__atomic_load_n(&med_ctl(r)->srv_state, __ATOMIC_ACQUIRE) != state ||
           __atomic_load_n(&med_ctl(r)->srv_events, __ATOMIC_ACQUIRE) == events) {
        if (ms_since(t0) > ms)
            return 0;
        sched_yield();
    }
    return 1;
}

/* The server keeps its read position privately, but re-reads it from the
 * medium when it recovers a broken ring (kv_server.c, try_recover): an
 * impossible tail breaks the ring; with the head moved back to from and the
 * tail restored, the server reads [from, tail) again. */
int forge_rewind_server(uint32_t r, uint64_t from, uint64_t tail)
{
    struct cxl_ring_ctl *c = med_ctl(r);
    uint64_t ev = __atomic_load_n(&c->srv_events, __ATOMIC_ACQUIRE);
    cxl_store_release(&c->req_tail.value, CXL_POS_LIMIT | 1);
    if (!wait_ring_state(r, CXL_SRV_RING_BROKEN, ev, 2000)) {
        cxl_store_release(&c->req_tail.value, tail);
        return -1;
    }
    ev = __atomic_load_n(&c->srv_events, __ATOMIC_ACQUIRE);
    cxl_store_release(&c->req_head.value, from);
    cxl_store_release(&c->req_tail.value, tail);
    if (!wait_ring_state(r, CXL_SRV_RING_OK, ev, 2000))
        return -1;
    return med_wait_at_least(&c->req_head.value, tail, 2000) ? 0 : -1;
}

/* The server answers a forgery at position p with a sealed ERR for p. The
 * client's genuine request at p gets that ERR as its answer ("refused, not
 * executed"). Rewound, the server reads p again: now the genuine request.
 * It must refuse it too (p was answered), never execute it. */
void forge_double_answer_one(void)
{
    const int c = 0;
    const uint32_t r = 1;
    struct snap s0, s1, s2, s3;
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint64_t t = cxl_load_acquire(med_tail_of(r, CXL_REQ));
    if (t % G->slots + BATCH_MSGS > G->slots)
        goto out;
    med_snap(&s0);
    for (unsigned i = 0; i < BATCH_MSGS; i++) { /* one forgery per request of the next batch */
        uint8_t msg[SLOT_SIZE];
        struct forge f = {.n = i, .ring = -1};
        cxl_random_bytes(f.region_key, sizeof f.region_key);
        snprintf(f.key, sizeof f.key, "DOUBLE-%" PRIu64, t + i);
        build_sealed_set(msg, r, t + i, &f);
        memcpy(med_slot_at(r, CXL_REQ, t + i), msg, SLOT_SIZE);
    }
    cxl_store_release(med_tail_of(r, CXL_REQ), t + BATCH_MSGS);
    int consumed = med_wait_at_least(med_head_of(r, CXL_REQ), t + BATCH_MSGS, 2000);
    med_snap(&s1);
    int stepped = consumed && med_step(c) == 0; /* the genuine batch, at the same positions */
    med_snap(&s2);
    int rewound = stepped && forge_rewind_server(r, t, t + BATCH_MSGS) == 0;
    med_snap(&s3);
    if (!rewound) {
        attacker_fail("answer twice: could not set it up (consumed %d, stepped %d)", consumed, stepped);
        goto out;
    }
    long long ex = med_executed(&s2, &s3, r), told = (long long)(s2.cli[c].err_server - s1.cli[c].err_server);
    if (ex > 0)
        med_outcome(K_DOUBLE_ANSWER, MISSED, "ring 1 positions %" PRIu64 "..%" PRIu64 ": client A was answered ERR "
                "%lld times (the server's answers to forgeries there), then the server executed %lld of A's "
                "requests at those positions", t, t + BATCH_MSGS - 1, told, ex);
    else
        med_outcome(K_DOUBLE_ANSWER, med_refused(&s2, &s3, r) > 0 ? DETECTED : LATE, "-");
out:
    med_unhold(c);
}

/* The answer to an executed request never reaches the client (its response
 * tail is moved past the batch's answers: it resyncs over them), and the
 * server is rewound over the executed requests: it must not answer the
 * replays with an ERR that the waiting client takes for "refused". */
void forge_lost_answer_one(void)
{
    const int c = 0;
    const uint32_t r = 1;
    struct snap s0, s1;
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint64_t t = cxl_load_acquire(med_tail_of(r, CXL_REQ)), q = cxl_load_acquire(med_tail_of(r, CXL_RESP));
    if (t % G->slots + BATCH_MSGS > G->slots || q % G->slots + BATCH_MSGS > G->slots)
        goto out;
    med_snap(&s0);
    uint64_t n = LD(bd->cli[c].batches);
    cxl_store_release(med_tail_of(r, CXL_RESP), q + BATCH_MSGS);
    __atomic_add_fetch(&bd->cli[c].steps, 1, __ATOMIC_ACQ_REL);
    int ran = med_wait_at_least(med_head_of(r, CXL_REQ), t + BATCH_MSGS, 2000);
    int rewound = ran && forge_rewind_server(r, t, t + BATCH_MSGS) == 0;
    int done = med_wait_batches(c, n + 1, 3000);
    while (done && !LD(bd->cli[c].idle))
        usleep(20);
    med_snap(&s1);
    if (!rewound || !done) {
        attacker_fail("lost answer: could not set it up (ran %d, rewound %d, done %d)", ran, rewound, done);
        goto out;
    }
    long long ex = med_executed(&s0, &s1, r), told = (long long)(s1.cli[c].err_server - s0.cli[c].err_server);
    if (ex > 0 && told > 0)
        med_outcome(K_LOST_ANSWER, MISSED, "ring 1 positions %" PRIu64 "..%" PRIu64 ": the server executed %lld of "
                "A's requests, A skipped their answers, the rewound server answered the replays: A was told ERR "
                "(refused) %lld times", t, t + BATCH_MSGS - 1, ex, told);
    else if (med_refused(&s0, &s1, r) > 0 && s1.cli[c].errors > s0.cli[c].errors)
        med_outcome(K_LOST_ANSWER, DETECTED, "-");
    else
        med_outcome(K_LOST_ANSWER, LATE, "-"); /* A read its answers before the tail moved */
out:
    med_unhold(c);
}
