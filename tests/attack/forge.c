/* forge.c - building the attacker's messages (the build_* functions of
 * type build_fn, sealing under a key of the attacker's choosing),
 * injecting one while a client is held (held_request, held_response),
 * and making the server read a queue again (forge_rewind_server), with
 * the two attacks made of those alone: answering a position twice and
 * losing an answer (forge_double_answer_one, forge_lost_answer_one); and
 * changing a client's genuine batch in flight (forge_in_flight with the
 * tamper_* functions: truncated, reordered, spliced, replayed after
 * itself). Every message is a whole v2 message of one or more lines. */
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

/* Rewrite the header of the message in msg (a private copy, MSG_MAX
 * bytes) to *h, keeping its payload (the first h->len bytes after the old
 * header). Layout v2 packs a header to its non-zero fields, so an edit can
 * change its size: then the payload moves with it and the attacker writes
 * a whole new message, header and payload, as any host can. Returns the
 * message's new size (header + payload), or 0 if msg holds no header or
 * the result does not fit. */
uint32_t forge_reheader(uint8_t *msg, const struct cxl_msg_hdr *h)
{
    static uint8_t payload[MSG_MAX];
    struct cxl_msg_hdr old;
    uint32_t ohs = cxl_msg_decode(msg, SLOT_SIZE, &old), nhs = cxl_msg_hdr_size(h);
    if (ohs == 0 || (uint64_t)nhs + h->len > MSG_MAX || (uint64_t)ohs + h->len > MSG_MAX)
        return 0;
    if (nhs != ohs) {
        memcpy(payload, msg + ohs, h->len);
        memset(msg, 0, MSG_MAX);
        memcpy(msg + nhs, payload, h->len);
    }
    return cxl_msg_encode(h, msg) == nhs ? nhs + h->len : 0;
}

/* A sealed batch of one SET key=<attacker value> at position pos, with
 * session field session, under s: the whole message (packed header, then
 * the ciphertext of the record, then the tag) in msg; the value padded so
 * that the message takes exactly `lines` lines if lines. Its size. */
static uint32_t seal_set(uint8_t *msg, struct cxl_seal *s, uint64_t pos, uint32_t session, const char *key,
                         uint32_t lines)
{
    static uint8_t data[MSG_MAX], scratch[MSG_MAX];
    uint32_t klen = (uint32_t)strlen(key);
    uint32_t vlen = (uint32_t)snprintf((char *)data + klen, 48, "attacker-value-%" PRIu64, pos);
    memcpy(data, key, klen);
    struct cxl_msg_hdr h = {.session = session, .ref = pos};
    cxl_seal_header(s, &h);
    h.seq = pos;
    uint32_t hs = cxl_msg_hdr_size(&h), fixed = hs + CXL_KV_RECORD_HDR + CXL_SEAL_TAG + klen;
    if (lines && lines * SLOT_SIZE > fixed + vlen && lines * SLOT_SIZE <= MSG_MAX) {
        uint32_t to = lines * SLOT_SIZE - fixed; /* fill the last line */
        memset(data + klen + vlen, '-', to - vlen);
        vlen = to;
    }
    h.len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + klen + vlen;
    memset(msg, 0, MSG_MAX);
    cxl_msg_encode(&h, msg);
    struct cxl_msg_hdr in = {.op = CXL_KV_SET, .arg0 = klen};
    s->next = 0;
    if (hs + h.len > MSG_MAX ||
        cxl_seal_msg(s, &h, msg + hs, scratch, cxl_kv_record_put(scratch, &in, 0, data, klen + vlen)) != 0) {
        attacker_fail("cannot seal a forged SET: %s", cxl_last_error());
        return 0;
    }
    return hs + h.len;
}

/* A sealed GET answer carrying a value of the honest format: accepted, it
 * would be a wrong value. */
static uint32_t seal_answer(uint8_t *msg, struct cxl_seal *s, uint64_t pos, uint64_t ref, uint32_t session)
{
    uint8_t data[VAL_LEN], scratch[256];
    memset(data, '.', VAL_LEN);
    memcpy(data, "FORGED-ANSWER", 13);
    memset(msg, 0, MSG_MAX);
    struct cxl_msg_hdr h = {.session = session, .ref = ref};
    cxl_seal_header(s, &h);
    h.seq = pos;
    h.len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + VAL_LEN;
    uint32_t hs = cxl_msg_encode(&h, msg);
    struct cxl_msg_hdr in = {.op = CXL_KV_OK};
    s->next = 0;
    if (cxl_seal_msg(s, &h, msg + hs, scratch, cxl_kv_record_put(scratch, &in, 0, data, VAL_LEN)) != 0) {
        attacker_fail("cannot seal a forged answer: %s", cxl_last_error());
        return 0;
    }
    return hs + h.len;
}

/* The forged SET under f's region key, for ring f->ring's coordinates
 * (default: the target's), the session field of the target. */
uint32_t build_sealed_set(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    struct cxl_seal s;
    uint32_t as = f->ring >= 0 ? (uint32_t)f->ring : r;
    forge_derive(&s, f->region_key, f->epoch ? f->epoch : med_epoch_seen(r), as, CXL_REQ);
    uint32_t size = seal_set(msg, &s, pos, med_gen_of(r), f->key, f->lines);
    cxl_seal_wipe(&s);
    return size;
}

/* A well-formed plain SET: what a host without any key can write. */
uint32_t build_plain_set(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    memset(msg, 0, MSG_MAX);
    uint32_t klen = (uint32_t)strlen(f->key);
    struct cxl_msg_hdr h = {.seq = pos, .len = klen + 5, .op = CXL_KV_SET, .arg0 = klen,
                            .session = med_gen_of(r)};
    uint32_t hs = cxl_msg_encode(&h, msg);
    memcpy(msg + hs, f->key, klen);
    memcpy(msg + hs + klen, "owned", 5);
    return hs + h.len;
}

/* Random bytes over 1 to 4 lines. */
uint32_t build_random(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    (void)r;
    uint32_t size = (1 + (uint32_t)(f->n / 4 % 4)) * SLOT_SIZE;
    memset(msg, 0, MSG_MAX);
    cxl_random_bytes(msg, size);
    if (f->n % 2) { /* past the ring layer's position check (the low 32 bits of pos) */
        uint32_t seq = (uint32_t)pos;
        memcpy(msg, &seq, 4);
    }
    if (f->n % 4 == 3) { /* and past its other checks: a header that decodes, a length inside what is published */
        msg[8] = CXL_MSG_F_SEALED;
        msg[9] &= CXL_MSG_FIELD_KNOWN;
        struct cxl_msg_hdr h;
        uint32_t hs = cxl_msg_decode(msg, SLOT_SIZE, &h);
        uint32_t len = hs ? (uint32_t)((f->n * 0x9E3779B97F4A7C15ull) >> 40) % (size - hs + 1) : 0;
        memcpy(msg + 4, &len, 4);
    }
    return size;
}

/* Layout v2's own header checks, each with everything else valid (a SET
 * sealed under a made-up key, at the right position): the fields a v1
 * header had at fixed offsets are now a bitmap and a packed list, so the
 * forgeries are about those. f->n picks one:
 *   0 an unknown bit in the fields byte (0x40 / 0x80)
 *   1 an unknown bit in the flags byte
 *   2 a PAD that carries optional fields (and so a longer header)
 *   3 a length that runs past the lines published into ones the producer
 *     never published
 *   4 a length past the largest message (past the end of the queue)
 *   5 a fields byte that claims one more optional field than was written
 *     (the payload's first bytes read as that field: the header "runs" into
 *     the payload; a header cannot run past a line, 44 B < 64 B, so this is
 *     its v2 equivalent)
 * The ring layer must refuse 0..4 (CXL_ECORRUPT: the server resyncs) and the
 * secure layer 5 (an argument in a sealed header, else the tag); nothing may
 * execute. Only the message's own lines are published. */
uint32_t build_bad_header(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    uint32_t size = build_sealed_set(msg, r, pos, f);
    struct cxl_msg_hdr h;
    uint32_t hs = cxl_msg_decode(msg, SLOT_SIZE, &h), len = h.len;
    if (size == 0 || hs == 0) {
        attacker_fail("bad header: the forged SET does not decode");
        return 0;
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
        len = lines_for(size) * SLOT_SIZE - hs + 1 + (uint32_t)(f->n / 6 % 64);
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
    return size;
}

/* A captured valid message, moved whole: its seq says the new position
 * (else the ring layer alone would refuse it) and its session field the
 * target's. Decoded, edited, encoded again (the whole message if the
 * header's size changed). */
uint32_t build_copy(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    memcpy(msg, f->copy->b, MSG_MAX);
    struct cxl_msg_hdr h = f->copy->h;
    h.seq = pos;
    h.session = med_gen_of(r);
    uint32_t size = forge_reheader(msg, &h);
    if (size == 0)
        attacker_fail("cannot move a captured message to position %" PRIu64, pos);
    return size;
}

/* The newest message of r/d (just read: found by walking the headers),
 * whole, at pos: only seq changes, so the header keeps its size. 0 if
 * there is none to capture. */
static uint32_t build_next(uint8_t *msg, uint32_t r, enum cxl_dir d, uint64_t pos)
{
    static struct cap c;
    if (!med_capture_newest(r, d, &c))
        return 0;
    memcpy(msg, c.b, MSG_MAX);
    c.h.seq = pos;
    return forge_reheader(msg, &c.h);
}

/* The newest request batch of the held ring (just executed), moved on. */
uint32_t build_next_pos(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    (void)f;
    return build_next(msg, r, CXL_REQ, pos);
}

uint32_t build_next_resp(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    (void)f;
    return build_next(msg, r, CXL_RESP, pos);
}

/* An answer to the held client's next request batch (it will start at the
 * request tail), sealed under a made-up key. */
uint32_t build_forged_answer(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f)
{
    struct cxl_seal s;
    forge_derive(&s, f->region_key, med_epoch_seen(r), r, CXL_RESP);
    uint32_t size = seal_answer(msg, &s, pos, cxl_load_acquire(med_tail_of(r, CXL_REQ)), med_gen_of(r));
    cxl_seal_wipe(&s);
    return size;
}

/* --- the attacker: injecting while a client is held ----------------------------------------- */

/* Build a message for r/d's tail into msg; if it does not fit before the
 * end of the queue, a PAD goes at the tail and the message is built again
 * for the next lap's first line. Its size (0: none), its position in *pos. */
static uint32_t build_at_tail(uint8_t *msg, uint32_t r, enum cxl_dir d, build_fn build, struct forge *f,
                              uint64_t *pos)
{
    *pos = cxl_load_acquire(med_tail_of(r, d));
    uint32_t size = build(msg, r, *pos, f);
    if (size == 0)
        return 0;
    uint64_t at = med_place(r, d, lines_for(size));
    if (at != *pos) {
        *pos = at;
        size = build(msg, r, at, f);
    }
    return size;
}

/* Put a message at the tail of ring r's request queue and publish it, as a
 * host that writes the medium can, while the ring's client (c, or none) is
 * held. Judged by the ring's counters (a rejection must show, an execution
 * must not) and by the key a forged SET would have written. */
void held_request(enum kind k, int c, uint32_t r, build_fn build, struct forge *f, const char *what)
{
    static uint8_t msg[MSG_MAX];
    uint64_t pos;
    if (gave_up || (c >= 0 && med_hold(c) != 0))
        goto out;
    uint32_t size = build_at_tail(msg, r, CXL_REQ, build, f, &pos);
    if (size == 0)
        goto out;
    struct snap s0, s1;
    med_snap(&s0);
    med_put(r, CXL_REQ, pos, msg, size);
    int consumed = med_wait_at_least(med_head_of(r, CXL_REQ), pos + lines_for(size), 2000);
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
    static uint8_t msg[MSG_MAX];
    uint32_t r = med_ring_of(c);
    uint64_t pos;
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint32_t size = build_at_tail(msg, r, CXL_RESP, build, f, &pos);
    if (size == 0)
        goto out;
    struct snap s0, s1;
    med_snap(&s0);
    med_put(r, CXL_RESP, pos, msg, size);
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

/* The line count of client c's newest batch in direction d (the next
 * one has the same: the honest batches do not change size), 0 if none. */
static uint32_t batch_lines(int c, enum cxl_dir d)
{
    static struct cap cp;
    return med_capture_newest(med_ring_of(c), d, &cp) ? cp.lines : 0;
}

/* The server answers a forgery at position p with a sealed ERR for p. The
 * client's genuine batch at p gets that ERR as its answer ("refused, not
 * executed"). Rewound, the server reads p again: now the genuine batch.
 * It must refuse it too (p was answered), never execute it. The forgery
 * takes exactly the lines the client's batch will take, so that the
 * client's batch lands on the same lines and ends where it ends. */
void forge_double_answer_one(void)
{
    const int c = 0;
    const uint32_t r = 1;
    static uint8_t msg[MSG_MAX];
    struct snap s0, s1, s2, s3;
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint32_t n = batch_lines(c, CXL_REQ);
    uint64_t t = cxl_load_acquire(med_tail_of(r, CXL_REQ));
    if (n == 0 || t % G->slots + n > G->slots)
        goto out;
    med_snap(&s0);
    struct forge f = {.n = t, .ring = -1, .lines = n};
    cxl_random_bytes(f.region_key, sizeof f.region_key);
    snprintf(f.key, sizeof f.key, "DOUBLE-%" PRIu64, t);
    uint32_t size = build_sealed_set(msg, r, t, &f);
    if (size == 0 || lines_for(size) != n)
        goto out;
    med_put(r, CXL_REQ, t, msg, size);
    int consumed = med_wait_at_least(med_head_of(r, CXL_REQ), t + n, 2000);
    med_snap(&s1);
    int stepped = consumed && med_step(c) == 0; /* the genuine batch, at the same lines */
    med_snap(&s2);
    int rewound = stepped && forge_rewind_server(r, t, t + n) == 0;
    med_snap(&s3);
    if (!rewound) {
        attacker_fail("answer twice: could not set it up (consumed %d, stepped %d)", consumed, stepped);
        goto out;
    }
    long long ex = med_executed(&s2, &s3, r), told = (long long)(s2.cli[c].err_server - s1.cli[c].err_server);
    if (ex > 0 || med_tcp_exists(f.key) > 0)
        med_outcome(K_DOUBLE_ANSWER, MISSED, "ring 1 batch at %" PRIu64 " (%u lines): client A was answered ERR "
                "%lld times (the server's answer to a forgery there), then the server executed %lld of A's "
                "requests there", t, n, told, ex);
    else
        med_outcome(K_DOUBLE_ANSWER, med_refused(&s2, &s3, r) > 0 ? DETECTED : LATE, "-");
out:
    med_unhold(c);
}

/* The answer to an executed batch never reaches the client (its response
 * tail is moved past the lines the batch's reply will take: it resyncs
 * over them), and the server is rewound over the executed batch: it must
 * not answer the replay with an ERR that the waiting client takes for
 * "refused". */
void forge_lost_answer_one(void)
{
    const int c = 0;
    const uint32_t r = 1;
    struct snap s0, s1;
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint32_t nq = batch_lines(c, CXL_REQ), np = batch_lines(c, CXL_RESP);
    uint64_t t = cxl_load_acquire(med_tail_of(r, CXL_REQ)), q = cxl_load_acquire(med_tail_of(r, CXL_RESP));
    if (!nq || !np || t % G->slots + nq > G->slots || q % G->slots + np > G->slots)
        goto out;
    med_snap(&s0);
    uint64_t n = LD(bd->cli[c].batches);
    cxl_store_release(med_tail_of(r, CXL_RESP), q + np);
    __atomic_add_fetch(&bd->cli[c].steps, 1, __ATOMIC_ACQ_REL);
    int ran = med_wait_at_least(med_head_of(r, CXL_REQ), t + nq, 2000);
    int rewound = ran && forge_rewind_server(r, t, t + nq) == 0;
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
        med_outcome(K_LOST_ANSWER, MISSED, "ring 1 batch at %" PRIu64 ": the server executed %lld of A's requests, "
                "A skipped their answers, the rewound server answered the replay: A was told ERR (refused) %lld "
                "times", t, ex, told);
    else if (med_refused(&s0, &s1, r) > 0 && s1.cli[c].errors > s0.cli[c].errors)
        med_outcome(K_LOST_ANSWER, DETECTED, "-");
    else
        med_outcome(K_LOST_ANSWER, LATE, "-"); /* A read its answers before the tail moved */
out:
    med_unhold(c);
}

/* --- the attacker: a batch changed in flight ---------------------------------------------- */

/* Where the records of an honest batch are in its plaintext (and so in its
 * ciphertext: the cipher is a stream), as anyone knows the format: GET,
 * SET, GET on two keys of 13 bytes, values of VAL_LEN. off[i] is record
 * i's start, off[6] the end. 0 if clen is not that size. */
static int honest_layout(uint32_t clen, uint32_t off[BATCH_MSGS + 1])
{
    const uint32_t get = CXL_KV_RECORD_HDR + 13, set = get + VAL_LEN;
    off[0] = 0;
    for (unsigned i = 0; i < BATCH_MSGS; i++)
        off[i + 1] = off[i] + (i % 3 == 1 ? set : get);
    return off[BATCH_MSGS] == clen;
}

static void swap_bytes(uint8_t *a, uint8_t *b, uint32_t n)
{
    uint8_t t[256];
    while (n) {
        uint32_t k = n < sizeof t ? n : (uint32_t)sizeof t;
        memcpy(t, a, k);
        memcpy(a, b, k);
        memcpy(b, t, k);
        a += k, b += k, n -= k;
    }
}

static void set_len(uint8_t *msg, uint32_t len) { memcpy(msg + 4, &len, 4); }

/* Cut the batch: f->n % 3 picks (0) its last record cut off whole, the tag
 * moved up to the new end; (1) a record cut inside, the tag moved; (2) the
 * payload's end (and so the tag) cut. The header's len says the new size. */
int tamper_truncate(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f)
{
    (void)pos;
    uint32_t off[BATCH_MSGS + 1], clen = h->len - CXL_SEAL_TAG, cut;
    int known = honest_layout(clen, off);
    uint8_t *c = msg + hs;
    switch (f->n % 3) {
    case 0:
    case 1:
        cut = f->n % 3 == 0 && known ? clen - off[BATCH_MSGS - 1] : 1 + (uint32_t)(f->n / 3 % 36);
        if (cut >= clen)
            return -1;
        memmove(c + clen - cut, c + clen, CXL_SEAL_TAG);
        set_len(msg, h->len - cut);
        break;
    default:
        set_len(msg, h->len - (1 + (uint32_t)(f->n / 3 % 40)));
    }
    return 0;
}

/* Swap ciphertext: f->n % 3 picks (0) the two GETs that open each key's
 * triple (records 0 and 3, the same length), (1) the two SETs (1 and 4),
 * (2) two 16-byte blocks. */
int tamper_reorder(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f)
{
    (void)pos;
    uint32_t off[BATCH_MSGS + 1], clen = h->len - CXL_SEAL_TAG, blocks = clen / 16;
    uint8_t *c = msg + hs;
    if (f->n % 3 < 2 && honest_layout(clen, off)) {
        unsigned i = (unsigned)(f->n % 3);
        swap_bytes(c + off[i], c + off[i + 3], off[i + 1] - off[i]);
        return 0;
    }
    if (blocks < 2)
        return -1;
    uint32_t i = (uint32_t)(f->n % blocks), j = (uint32_t)((f->n / blocks + 1 + i) % blocks);
    if (i == j)
        j = (i + 1) % blocks;
    swap_bytes(c + 16 * i, c + 16 * j, 16);
    return 0;
}

/* Two batches as one: the genuine batch's header and first records with
 * an earlier batch's last records and tag (f->n even), or the earlier
 * batch's first records with the genuine's last ones and tag (odd); cut at
 * a record boundary (records 0..2 | 3..5). f->copy: the earlier batch, of
 * the same client and size. */
int tamper_splice(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f)
{
    (void)pos;
    uint32_t off[BATCH_MSGS + 1], clen = h->len - CXL_SEAL_TAG;
    const struct cap *o = f->copy;
    if (!o || o->h.len != h->len)
        return -1;
    uint32_t split = honest_layout(clen, off) ? off[3] : clen / 2;
    if (f->n % 2 == 0)
        memcpy(msg + hs + split, o->b + o->hs + split, h->len - split);
    else
        memcpy(msg + hs, o->b + o->hs, split);
    return 0;
}

/* The genuine batch, whole, again right after itself: seq rewritten for
 * the next position (f->n even) or the bytes copied as they are (odd). The
 * server gets both; it must run the batch once. */
int tamper_replay_after(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f)
{
    static uint8_t copy[MSG_MAX];
    uint32_t r = (uint32_t)f->ring, size = hs + h->len, n = lines_for(size);
    uint64_t at = pos + n;
    if (size > MSG_MAX || at % G->slots + n > G->slots)
        return -1;
    memset(copy, 0, MSG_MAX);
    memcpy(copy, msg, size);
    if (f->n % 2 == 0) {
        struct cxl_msg_hdr nh = *h;
        nh.seq = at;
        if (forge_reheader(copy, &nh) != size)
            return -1;
    }
    med_put(r, CXL_REQ, at, copy, size);
    return 0;
}

/* What one batch changed in flight did. */
struct flight {
    struct snap s0, s1;
    uint64_t pos;
    long long ex, rej;
    int applied;
};

/* Client c (held) runs one batch while the server is paused; fn changes
 * the batch in the medium before the server can read it (fn NULL: left as
 * it is), then the server runs again and the client finishes its batch. 0,
 * or -1 if the server does not pause. */
static int run_in_flight(int c, tamper_fn fn, struct forge *f, struct flight *fl)
{
    uint32_t r = med_ring_of(c), hs = 0;
    struct cxl_msg_hdr h;
    uint64_t old = cxl_load_acquire(med_tail_of(r, CXL_REQ)), nb = LD(bd->cli[c].batches);
    med_snap(&fl->s0);
    if (med_server_pause() != 0) {
        attacker_fail("cannot pause the server (SIGSTOP)");
        return -1;
    }
    __atomic_add_fetch(&bd->cli[c].steps, 1, __ATOMIC_ACQ_REL);
    uint8_t *m = med_catch(r, CXL_REQ, old, 1000, &fl->pos, &h, &hs);
    f->ring = (int)r;
    int batch = m && h.flags == CXL_MSG_F_SEALED && h.len > CXL_KV_RECORD_HDR + CXL_SEAL_TAG;
    fl->applied = batch && (!fn || fn(m, &h, hs, fl->pos, f) == 0);
    med_server_resume();
    int done = med_wait_batches(c, nb + 1, 3000);
    for (uint64_t t0 = cxl_now_ns(); done && !LD(bd->cli[c].idle) && ms_since(t0) < 3000;)
        usleep(20);
    med_snap(&fl->s1);
    fl->ex = med_executed(&fl->s0, &fl->s1, r);
    fl->rej = med_refused(&fl->s0, &fl->s1, r);
    return 0;
}

/* The control for the in-flight rows: with the server paused the same way
 * and the batch left as it is, the batch runs whole and nothing is
 * refused (so a refusal in those rows is the edit's doing). Returns how
 * many of n controls behaved. */
int forge_in_flight_control(unsigned n)
{
    unsigned good = 0;
    for (unsigned i = 0; i < n && !gave_up; i++) {
        int c = (int)(i % 2);
        struct forge f = {.n = i};
        struct flight fl;
        if (med_hold(c) == 0 && run_in_flight(c, NULL, &f, &fl) == 0)
            good += fl.applied && fl.ex == BATCH_MSGS && fl.rej == 0;
        med_unhold(c);
    }
    return (int)good;
}

/* A changed batch: judged by the ring's counters: nothing of it may run
 * (K_BATCH_REPLAY: the genuine batch runs once, no more), and the refusal
 * must show; the client must take no wrong value. */
void forge_in_flight(enum kind k, int c, tamper_fn fn, struct forge *f, const char *what)
{
    uint32_t r = med_ring_of(c);
    struct flight fl;
    if (gave_up || med_hold(c) != 0 || run_in_flight(c, fn, f, &fl) != 0)
        goto out;
    long long allowed = k == K_BATCH_REPLAY ? BATCH_MSGS : 0;
    if (fl.applied && fl.ex > allowed)
        med_outcome(k, MISSED, "%s at ring %u position %" PRIu64 ": %lld request(s) executed (%lld allowed)", what,
                    r, fl.pos, fl.ex, allowed);
    else if (fl.s1.cli[c].wrong > fl.s0.cli[c].wrong)
        med_outcome(k, MISSED, "%s at ring %u position %" PRIu64 ": client %c took a wrong value (%s)", what, r,
                    fl.pos, 'A' + c, bd->cli[c].wrong_text);
    else
        med_outcome(k, fl.applied && fl.rej > 0 ? DETECTED : LATE, "-");
out:
    med_unhold(c);
}
