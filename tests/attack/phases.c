/* phases.c - the attacker M (a process): its legitimate life as a client
 * of ring 3, the attack phases in order (bit flips, replays, relocations,
 * forgeries, cross-key, double and lost answers, the manager, revocation),
 * opening and closing its view of the medium, and attacker_main. */
#define _GNU_SOURCE
#include <pthread.h>

#include "attack.h"

/* --- the attacker: the phases ---------------------------------------------------------------- */

static uint64_t rng;
static uint64_t rnd(void) /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static struct cap pool[2][POOL];        /* valid request batches captured early */
static unsigned pool_n[2];
static struct cxl_keyring *mkr;         /* M's keyring (node 4) */
static uint8_t m_key3[32];              /* M's legitimate ring-3 region key */
static uint32_t m_epoch3;

static void fill_pool(void)
{
    for (unsigned i = 0; i < POOL; i++) {
        for (int c = 0; c < 2; c++) {
            if (med_capture_newest(med_ring_of(c), CXL_REQ, &pool[c][pool_n[c]]))
                pool_n[c]++;
        }
        usleep(3000);
    }
    if (!pool_n[0] || !pool_n[1])
        attacker_fail("could not capture requests of rings 1 and 2");
    else
        med_note("captured: %u and %u request batches of A and B by walking headers; A's batch is one sealed "
                 "message of %u B (%u lines of %u B)", pool_n[0], pool_n[1], pool[0][0].size, pool[0][0].lines,
                 SLOT_SIZE);
}

/* M as the ACL allows: a client of ring 3. Keeps a copy of the region key
 * (as a malicious node would) and hands the ring back. */
static void m_legit(void)
{
    struct cxl_kv_config kc;
    struct cxl_kv *kv = NULL;
    struct cxl_kv_result r;
    struct cxl_ring_keys k;
    int rc = cxl_keyring_open_manager(mgr.addr, NODE_M, cfg.key[4], &mkr);
    cxl_kv_config_init(&kc);
    kc.medium.path = cfg.medium;
    kc.ring = (int)RING_M;
    kc.keys = mkr;
    kc.node_id = NODE_M;
    if (rc == 0)
        rc = cxl_kv_open(&kc, &kv);
    for (int i = 0; i < 10 && rc == 0; i++) {
        char key[32];
        snprintf(key, sizeof key, "M-LEGIT-%d", i);
        rc = cxl_kv_submit_set(kv, key, (uint32_t)strlen(key), "mine", 4, 0, (uint64_t)i);
        if (rc == 0 && (cxl_kv_wait(kv, &r) != 1 || r.status != CXL_KV_OK || med_tcp_exists(key) != 1))
            rc = CXL_EPROTO;
    }
    if (rc == 0 && (rc = cxl_keyring_lookup(mkr, RING_M, &k)) == 0) {
        memcpy(m_key3, k.key, 32);
        m_epoch3 = k.epoch;
        cxl_ring_keys_wipe(&k);
    }
    if (rc)
        attacker_fail("M as a legitimate client of ring 3: %s (%s)", cxl_strerror(rc), cxl_last_error());
    cxl_kv_close(kv);
}

/* The newest message of r/d, or the next one published if the walk to it
 * met garbage (a flipped header: the cursor restarted at the tail). */
static int capture_soon(uint32_t r, enum cxl_dir d, struct cap *out)
{
    for (int i = 0; i < 3; i++) {
        if (med_capture_newest(r, d, out))
            return 1;
        uint64_t t = cxl_load_acquire(med_tail_of(r, d));
        med_wait_at_least(med_tail_of(r, d), t + 1, 1000);
    }
    return 0;
}

/* One bit of the next batch of r/d flipped as soon as it is published.
 * The honest batches keep their shape, so the byte is chosen from the
 * newest one (found by walking headers) before the next is published, and
 * flipped without reading first (a receiver that spins reads fast); it
 * must lie in what the producer published. */
static void phase_flip_one(enum kind k, int c, enum cxl_dir d)
{
    static struct cap prev;
    uint32_t r = med_ring_of(c);
    struct snap s0, s1;
    if (!capture_soon(r, d, &prev))
        return;
    med_snap(&s0);
    /* one bit of a byte the receiver depends on, anywhere in the batch's
     * lines (layout v2: the header is packed, the tag is the payload's last
     * 16 bytes): half the time the ciphertext, a quarter the tag, a quarter
     * the packed header (the fixed bytes seq, len, flags, fields, op, and
     * the optional fields present: session, epoch, ref; all authenticated
     * or checked by the ring layer) */
    uint64_t x = rnd();
    uint32_t hs = prev.hs, clen = prev.h.len - CXL_SEAL_TAG;
    uint32_t off = x % 4 < 2 ? hs + (uint32_t)((x >> 8) % clen)
                 : x % 4 == 2 ? hs + clen + (uint32_t)((x >> 8) % CXL_SEAL_TAG)
                              : (uint32_t)((x >> 8) % hs);
    uint64_t old = cxl_load_acquire(med_tail_of(r, d)), t, t0 = cxl_now_ns();
    if (old % G->slots + prev.lines > G->slots) /* the next batch goes after a PAD */
        return;
    while ((t = cxl_load_acquire(med_tail_of(r, d))) == old) /* the next batch, as soon as it is published */
        if (ms_since(t0) > 1000)
            return;
    if ((t - old) * SLOT_SIZE <= off)
        return;
    med_slot_at(r, d, old)[off] ^= (uint8_t)(1u << ((x >> 40) % 8));
    if (!med_wait_batches(c, s0.cli[c].batches + 3, 3000))
        attacker_fail("client %c stalled after a flipped bit", 'A' + c);
    med_snap(&s1);
    int seen = d == CXL_REQ ? med_refused(&s0, &s1, r) > 0 || s1.cli[c].errors > s0.cli[c].errors
                            : s1.cli[c].kv_rejected > s0.cli[c].kv_rejected ||
                                  s1.cli[c].kv_resyncs > s0.cli[c].kv_resyncs || s1.cli[c].errors > s0.cli[c].errors;
    if (s1.cli[c].wrong > s0.cli[c].wrong)
        med_outcome(k, MISSED, "ring %u %s position %" PRIu64 " byte %u flipped: client %c took a wrong answer (%s)",
                r, d == CXL_REQ ? "request" : "response", old, off, 'A' + c, bd->cli[c].wrong_text);
    else
        med_outcome(k, seen ? DETECTED : LATE, "-");
}

static void phase_flips(void)
{
    for (unsigned i = 0; i < 160 && !gave_up; i++)
        phase_flip_one(K_FLIP_REQ, (int)(i % 2), CXL_REQ);
    for (unsigned i = 0; i < 100 && !gave_up; i++)
        phase_flip_one(K_FLIP_RESP, (int)(i % 2), CXL_RESP);
}

/* Executed batches read again at their own positions: the client runs 1
 * to 3 batches while held, the attacker finds them by walking the headers
 * from where the first one started, and the server is rewound to one of
 * them (it must refuse every batch it reads again: its replay window). */
static void replay_old_one(int c)
{
    uint32_t r = med_ring_of(c);
    uint64_t starts[8];
    unsigned n = 0, k = 1 + (unsigned)(rnd() % 3);
    if (gave_up || med_hold(c) != 0)
        goto out;
    uint64_t t0 = cxl_load_acquire(med_tail_of(r, CXL_REQ));
    for (unsigned i = 0; i < k; i++)
        if (med_step(c) != 0)
            goto out;
    uint64_t t = cxl_load_acquire(med_tail_of(r, CXL_REQ));
    if (med_walk(r, CXL_REQ, t0, t, starts, 8, &n) != 0 || n == 0)
        goto out; /* a PAD between them is fine; garbage is not */
    unsigned first = (unsigned)(rnd() % n), m = n - first;
    struct snap s0, s1;
    med_snap(&s0);
    int rc = forge_rewind_server(r, starts[first], t);
    med_snap(&s1);
    if (rc != 0) {
        attacker_fail("could not make the server re-read ring %u", r);
        goto out;
    }
    long long ex = med_executed(&s0, &s1, r), rej = s1.ring[r].rejected - s0.ring[r].rejected;
    for (unsigned i = 0; i < m; i++)
        if (ex > 0)
            med_outcome(K_REPLAY_OLD, MISSED, "ring %u rewound from %" PRIu64 " to %" PRIu64 " (%u batches): %lld "
                        "requests executed again", r, t, starts[first], m, ex);
        else
            med_outcome(K_REPLAY_OLD, (long long)i < rej ? DETECTED : LATE, "-");
out:
    med_unhold(c);
}

static void phase_replays(void)
{
    for (unsigned i = 0; i < 16 && !gave_up; i++)
        replay_old_one((int)(i % 2));
    for (unsigned i = 0; i < 40 && !gave_up; i++) {
        int c = (int)(i % 2);
        struct forge f = {.n = i, .copy = &pool[c][rnd() % pool_n[c]]};
        held_request(K_REPLAY_NEW, c, med_ring_of(c), build_copy, &f, "an old request replayed");
    }
}

static void phase_relocations(void)
{
    static struct cap copy;
    for (unsigned i = 0; i < 60 && !gave_up; i++) {
        int from = (int)(i % 2), to = 1 - from;
        enum cxl_dir d = (i / 2) % 2 ? CXL_RESP : CXL_REQ;
        struct forge f = {.n = i, .copy = &copy};
        if (!med_capture_newest(med_ring_of(from), d, &copy))
            continue;
        if (d == CXL_REQ)
            held_request(K_RELOC_RING, to, med_ring_of(to), build_copy, &f, "a request of the other ring");
        else
            held_response(K_RELOC_RING, to, build_copy, &f, "a response of the other ring");
    }
    for (unsigned i = 0; i < 50 && !gave_up; i++) {
        int c = (int)(i % 2);
        struct forge f = {.n = i};
        if ((i / 2) % 2)
            held_response(K_RELOC_POS, c, build_next_resp, &f, "the previous response");
        else
            held_request(K_RELOC_POS, c, med_ring_of(c), build_next_pos, &f, "the previous request");
    }
}

static void phase_forgeries(void)
{
    for (unsigned i = 0; i < 40 && !gave_up; i++) {
        struct forge f = {.n = i};
        held_request(K_FORGE_RANDOM, (int)(i % 2), med_ring_of((int)(i % 2)), build_random, &f, "random bytes");
    }
    for (unsigned i = 0; i < 36 && !gave_up; i++) { /* layout v2's header checks, each variant 6 times */
        int c = (int)(i % 2);
        struct forge f = {.n = i, .ring = -1};
        cxl_random_bytes(f.region_key, sizeof f.region_key);
        snprintf(f.key, sizeof f.key, "FORGED-HEADER-%u", i);
        held_request(K_FORGE_HEADER, c, med_ring_of(c), build_bad_header, &f, "a malformed v2 header");
    }
    for (unsigned i = 0; i < 60 && !gave_up; i++) {
        int c = (int)(i % 2);
        struct forge f = {.n = i, .ring = -1};
        cxl_random_bytes(f.region_key, sizeof f.region_key); /* a key of its own making */
        switch ((i / 2) % 3) {
        case 0:
            snprintf(f.key, sizeof f.key, "FORGED-SEALED-%u", i);
            held_request(K_FORGE_NOKEY, c, med_ring_of(c), build_sealed_set, &f, "a SET sealed under a made-up key");
            break;
        case 1:
            snprintf(f.key, sizeof f.key, "FORGED-PLAIN-%u", i);
            held_request(K_FORGE_NOKEY, c, med_ring_of(c), build_plain_set, &f, "a plain SET");
            break;
        default:
            held_response(K_FORGE_NOKEY, c, build_forged_answer, &f, "an answer sealed under a made-up key");
        }
    }
}

/* A genuine batch of A or B changed in flight, each way 30 times: the
 * server is paused from before the client publishes the batch until the
 * attacker has edited it (forge.c, forge_in_flight). */
static void phase_batches(void)
{
    int good = forge_in_flight_control(6);
    if (good != 6 && !gave_up)
        attacker_fail("control: %d of 6 untouched batches ran whole with the server paused", good);
    else
        med_note("controls: an untouched batch, the server paused the same way, runs whole (6 of 6)");
    for (unsigned i = 0; i < 30 && !gave_up; i++) {
        struct forge f = {.n = i / 2};
        forge_in_flight(K_BATCH_TRUNC, (int)(i % 2), tamper_truncate, &f, "a batch truncated");
    }
    for (unsigned i = 0; i < 30 && !gave_up; i++) {
        struct forge f = {.n = i / 2};
        forge_in_flight(K_BATCH_REORDER, (int)(i % 2), tamper_reorder, &f, "a batch's ciphertext reordered");
    }
    for (unsigned i = 0; i < 30 && !gave_up; i++) {
        int c = (int)(i % 2);
        struct forge f = {.n = i / 2, .copy = &pool[c][rnd() % pool_n[c]]};
        forge_in_flight(K_BATCH_SPLICE, c, tamper_splice, &f, "a batch spliced with an earlier one");
    }
    for (unsigned i = 0; i < 30 && !gave_up; i++) {
        struct forge f = {.n = i / 2};
        forge_in_flight(K_BATCH_REPLAY, (int)(i % 2), tamper_replay_after, &f, "a batch replayed right after itself");
    }
}

/* M's own ring: raw injection (M is its only producer), sealed with the
 * ring-3 key it was legitimately given. Returns the position. */
static struct cxl_claim m3_claim;
static uint64_t m3_send(const char *key, const uint8_t region_key[32], uint32_t epoch)
{
    struct forge f = {.ring = (int)RING_M, .epoch = epoch};
    static uint8_t msg[MSG_MAX];
    snprintf(f.key, sizeof f.key, "%s", key);
    memcpy(f.region_key, region_key, 32);
    uint64_t pos = cxl_load_acquire(med_tail_of(RING_M, CXL_REQ));
    uint32_t size = build_sealed_set(msg, RING_M, pos, &f);
    uint64_t at = med_place(RING_M, CXL_REQ, lines_for(size));
    if (at != pos)
        size = build_sealed_set(msg, RING_M, pos = at, &f);
    if (size)
        med_put(RING_M, CXL_REQ, pos, msg, size);
    /* nobody reads ring 3's answers: keep its response queue from filling */
    cxl_store_release(med_head_of(RING_M, CXL_RESP), cxl_load_acquire(med_tail_of(RING_M, CXL_RESP)));
    cxl_ring_heartbeat(&m3_claim);
    sodium_memzero(&f, sizeof f);
    return pos;
}

/* M claims ring 3 itself and checks that its hand-sealed requests run there
 * (the control that makes the cross-key attempts meaningful). */
static void m_manual_claim(void)
{
    struct cxl_claim_opts o = {.reclaim_ms = 2000, .wait_ms = 3000};
    int rc = cxl_ring_claim(L, (int)RING_M, NODE_M, &o, &m3_claim);
    if (rc) {
        attacker_fail("M cannot claim ring 3: %s", cxl_last_error());
        return;
    }
    for (int i = 0; i < 5; i++) {
        char key[32];
        snprintf(key, sizeof key, "M-MANUAL-%d", i);
        uint64_t pos = m3_send(key, m_key3, m_epoch3);
        if (!med_wait_at_least(med_head_of(RING_M, CXL_REQ), pos + 1, 2000) || med_tcp_exists(key) != 1) {
            attacker_fail("control: M's hand-sealed request on its own ring 3 did not run");
            return;
        }
    }
    med_note("controls: M's hand-sealed requests on its own ring 3 run (5 of 5); the same code builds the "
         "cross-key forgeries");
}

/* M's legitimate ring-3 key against rings 1 and 2: sealed for the target's
 * coordinates, and sealed for ring 3 and moved. */
static void phase_cross_key(void)
{
    for (unsigned i = 0; i < 40 && !gave_up; i++) {
        int c = i % 4 == 3 ? 1 : 0;
        struct forge f = {.n = i, .ring = (i % 2) ? (int)RING_M : -1, .epoch = (i % 2) ? m_epoch3 : 0};
        memcpy(f.region_key, m_key3, 32);
        snprintf(f.key, sizeof f.key, "CROSSKEY-%u", i);
        held_request(K_CROSS_KEY, c, med_ring_of(c), build_sealed_set, &f,
                     (i % 2) ? "a request sealed with M's ring-3 session key" : "a request sealed with M's ring-3 region key for the target ring");
        sodium_memzero(f.region_key, sizeof f.region_key);
    }
}

/* M's key, claiming the ids of A, of the server, of nobody: the manager
 * must refuse the handshake and log it. */
static void mgr_claims(const struct cxl_node_key *mk)
{
    static const uint16_t ids[3] = {NODE_A, NODE_SERVER, 77};
    static const char *const logs[3] = {"refuse node=2(client-a) reason=auth-failed",
                                        "refuse node=1(redis-server) reason=auth-failed",
                                        "refuse node=77(?) reason=unknown-node"};
    for (unsigned i = 0; i < 24; i++) {
        int before = sec_count_lines(mgr.audit, logs[i % 3]);
        struct cxl_mgr_conn *conn = NULL;
        int rc = cxl_mgr_connect(mgr.addr, ids[i % 3], mk, 3000, &conn);
        cxl_mgr_close(conn);
        if (rc == 0)
            med_outcome(K_MGR_CLAIM, MISSED, "M's key was accepted as node %u", ids[i % 3]);
        else if (med_audit_reaches(logs[i % 3], before + 1, 3000))
            med_outcome(K_MGR_CLAIM, DETECTED, "-");
        else
            med_outcome(K_MGR_CLAIM, MISSED, "refused as node %u but no '%s' in the audit log", ids[i % 3], logs[i % 3]);
    }
}

/* M as itself, asking for rings it has no grant on (by number and by
 * name): refused (no-grant) and logged. */
static void mgr_nogrant(const struct cxl_node_key *mk)
{
    struct cxl_mgr_conn *conn = NULL;
    if (cxl_mgr_connect(mgr.addr, NODE_M, mk, 3000, &conn) != 0) {
        attacker_fail("M cannot connect to the manager as itself: %s", cxl_last_error());
        return;
    }
    for (unsigned i = 0; i < 30; i++) {
        uint32_t ring = i % 3;
        char log[96], name[16];
        struct cxl_region_keys k = {0};
        snprintf(log, sizeof log, "refuse node=4(attacker-m) region=ring%u reason=no-grant", ring);
        snprintf(name, sizeof name, "ring%u", ring);
        int before = sec_count_lines(mgr.audit, log);
        int got = i % 2 ? cxl_mgr_get_keys_name(conn, name, &k) : cxl_mgr_get_keys_ring(conn, ring, &k);
        int why = got == CXL_EDENIED && strstr(cxl_last_error(), "no-grant") != NULL;
        cxl_region_keys_wipe(&k);
        if (got == 0)
            med_outcome(K_MGR_NOGRANT, MISSED, "the manager gave M the keys of ring %u", ring);
        else if (why && med_audit_reaches(log, before + 1, 3000))
            med_outcome(K_MGR_NOGRANT, DETECTED, "-");
        else
            med_outcome(K_MGR_NOGRANT, MISSED, "ring %u: %s, audit log: %s", ring, cxl_last_error(),
                    sec_count_lines(mgr.audit, log) > before ? "logged" : "no line");
    }
    cxl_mgr_close(conn);
}

static void phase_manager(void)
{
    struct cxl_node_key mk;
    if (cxl_node_key_load(cfg.key[4], &mk) != 0) {
        attacker_fail("M's key: %s", cxl_last_error());
        return;
    }
    mgr_claims(&mk);
    mgr_nogrant(&mk);
    cxl_node_key_wipe(&mk);
}

struct sent {
    uint64_t pos, ms; /* ms after the revoke */
    char key[32];
};

/* After the revoke, M's old ring-3 keys must stop working within refresh
 * (+ margin): every request sent later must not run. */
static void revoked_requests(void)
{
    static struct sent sent[400];
    unsigned n = 0;
    ST(bd->revoke_req, 1);
    uint64_t t0 = cxl_now_ns();
    while (!LD(bd->revoke_done) && ms_since(t0) < 10000)
        usleep(1000);
    if (!LD(bd->revoke_done) || LD(bd->revoke_rc) != 0) {
        attacker_fail("the referee could not revoke M");
        return;
    }
    uint64_t rev = LD(bd->revoke_ns), limit = REFRESH_S * 1000u + REVOKE_MARGIN_MS;
    while ((cxl_now_ns() - rev) / 1000000u < limit + 1000 && n < 400) {
        struct sent *s = &sent[n++];
        snprintf(s->key, sizeof s->key, "REVOKED-%u", n);
        s->ms = (cxl_now_ns() - rev) / 1000000u;
        s->pos = m3_send(s->key, m_key3, m_epoch3);
        usleep(10000);
    }
    med_wait_at_least(med_head_of(RING_M, CXL_REQ), sent[n - 1].pos + 1, 3000);
    uint64_t head = cxl_load_acquire(med_head_of(RING_M, CXL_REQ));
    long long last_run = -1, first_refused = -1;
    for (unsigned i = 0; i < n; i++) {
        int ran = med_tcp_exists(sent[i].key) != 0, consumed = head > sent[i].pos;
        if (ran)
            last_run = (long long)sent[i].ms;
        else if (first_refused < 0)
            first_refused = (long long)sent[i].ms;
        if (sent[i].ms > limit)
            med_outcome(K_REVOKED_RING, ran ? MISSED : consumed ? DETECTED : LATE,
                    "%s sent %" PRIu64 " ms after the revoke ran", sent[i].key, sent[i].ms);
    }
    med_note("revocation: M's old-key requests ran until %lld ms after the revoke, refused from %lld ms on "
         "(the bound: refresh %u s + %u ms margin)", last_run, first_refused, REFRESH_S, REVOKE_MARGIN_MS);
}

/* M stops the manager (SIGSTOP: its port still accepts, nothing answers),
 * so nobody can refresh keys; M keeps using its ring-3 keys, which nobody
 * revoked. The server must stop serving them once they expire (fail
 * closed: refresh + grace after its last fetch), and serve again once the
 * manager is back. */
static void manager_down(void)
{
    static struct sent sent[400];
    unsigned n = 0;
    uint64_t limit = REFRESH_S * 1000u + KEY_GRACE_MS + REVOKE_MARGIN_MS;
    if (kill(mgr.pid, SIGSTOP) != 0) {
        attacker_fail("M cannot stop the manager");
        return;
    }
    uint64_t t0 = cxl_now_ns();
    while (ms_since(t0) < limit + 1000 && n < 400) {
        struct sent *s = &sent[n++];
        snprintf(s->key, sizeof s->key, "MGR-DOWN-%u", n);
        s->ms = ms_since(t0);
        s->pos = m3_send(s->key, m_key3, m_epoch3);
        usleep(10000);
    }
    med_wait_at_least(med_head_of(RING_M, CXL_REQ), sent[n - 1].pos + 1, 3000);
    uint64_t head = cxl_load_acquire(med_head_of(RING_M, CXL_REQ));
    long long last_run = -1;
    for (unsigned i = 0; i < n; i++) {
        int ran = med_tcp_exists(sent[i].key) != 0, consumed = head > sent[i].pos;
        if (ran)
            last_run = (long long)sent[i].ms;
        if (sent[i].ms > limit)
            med_outcome(K_MGR_DOWN, ran ? MISSED : consumed ? DETECTED : LATE,
                        "%s sent %" PRIu64 " ms after the manager stopped ran", sent[i].key, sent[i].ms);
    }
    kill(mgr.pid, SIGCONT);
    /* the control: once the manager answers again, M's keys work again */
    int back = 0;
    uint64_t t1 = cxl_now_ns();
    for (unsigned i = 0; !back && ms_since(t1) < 15000; i++) {
        char key[32];
        snprintf(key, sizeof key, "MGR-BACK-%u", i);
        uint64_t pos = m3_send(key, m_key3, m_epoch3);
        med_wait_at_least(med_head_of(RING_M, CXL_REQ), pos + 1, 1000);
        back = med_tcp_exists(key) == 1;
        if (!back)
            usleep(100000);
    }
    if (!back)
        attacker_fail("control: M's ring-3 requests did not run again after the manager came back");
    med_note("manager down: M's unrevoked keys ran until %lld ms after the manager stopped (the bound: refresh "
             "%u s + %u ms grace + %u ms margin), again %" PRIu64 " ms after it resumed", last_run, REFRESH_S,
             KEY_GRACE_MS, REVOKE_MARGIN_MS, ms_since(t1));
}

static void revoked_fetches(void)
{
    struct cxl_node_key mk;
    const char *log = "refuse node=4(attacker-m) region=ring3 reason=revoked";
    if (cxl_node_key_load(cfg.key[4], &mk) != 0)
        return;
    for (unsigned i = 0; i < 8; i++) {
        int before = sec_count_lines(mgr.audit, log), rc;
        if (i % 2) {
            rc = cxl_keyring_fetch(mkr, RING_M);
        } else {
            struct cxl_mgr_conn *conn = NULL;
            struct cxl_region_keys k = {0};
            rc = cxl_mgr_connect(mgr.addr, NODE_M, &mk, 3000, &conn);
            if (rc == 0)
                rc = cxl_mgr_get_keys_ring(conn, RING_M, &k);
            cxl_region_keys_wipe(&k);
            cxl_mgr_close(conn);
        }
        if (rc == 0)
            med_outcome(K_REVOKED_FETCH, MISSED, "the manager gave the revoked node ring 3's keys");
        else if (rc == CXL_EDENIED && med_audit_reaches(log, before + 1, 3000))
            med_outcome(K_REVOKED_FETCH, DETECTED, "-");
        else
            med_outcome(K_REVOKED_FETCH, MISSED, "refused (%s) but no '%s' in the audit log", cxl_last_error(), log);
    }
    cxl_node_key_wipe(&mk);
}

static int attacker_open(void)
{
    struct cxl_medium_config mc;
    cxl_medium_config_init(&mc);
    mc.path = cfg.medium;
    mc.map_size = 0;
    if (cxl_medium_open(&mc, &am) != 0 || cxl_layout_attach(am, &L) != 0)
        return -1;
    G = cxl_layout_geometry(L);
    if (cxl_cipher_of_layout(G, &cipher) != 0 || G->slot_size != SLOT_SIZE || G->slots > (1u << 20))
        return -1;
    return cxl_conn_open(redis.addr, NULL, &tcp);
}

static void attacker_close(void)
{
    if (m3_claim.layout)
        cxl_ring_release(&m3_claim);
    cxl_keyring_close(mkr);
    sodium_memzero(m_key3, sizeof m_key3);
    if (tcp)
        cxl_conn_close(tcp);
    if (L)
        cxl_layout_close(L);
    if (am)
        cxl_medium_close(am);
}

/* The oracle's session keys must open real ring 1/2 traffic, else the key
 * scan looks for the wrong bytes. */
static void oracle_check(void)
{
    if (!scan_oracle_opens(1, CXL_REQ) || !scan_oracle_opens(2, CXL_RESP))
        attacker_fail("the oracle's session keys do not open ring 1/2 traffic: the key scan would be blind");
}

/* Answering a position twice, losing an answer: six of each. */
static void answers(void)
{
    for (unsigned i = 0; i < 6 && !gave_up; i++)
        forge_double_answer_one();
    for (unsigned i = 0; i < 6 && !gave_up; i++)
        forge_lost_answer_one();
}

/* The attack phases in order, with the time each took (a note). */
static void attacks(void)
{
    static const struct {
        void (*fn)(void);
        const char *name;
    } phases[] = {
        {m_legit, "legit"},        {oracle_check, "oracle"},       {fill_pool, "capture"},
        {phase_flips, "flips"},    {phase_replays, "replays"},     {phase_relocations, "relocations"},
        {phase_forgeries, "forgeries"}, {phase_batches, "batches"}, {m_manual_claim, "ring 3"},
        {phase_cross_key, "cross-key"}, {answers, "answers"},      {phase_manager, "manager"},
        {manager_down, "manager down"}, {revoked_requests, "revoked"}, {revoked_fetches, "revoked fetches"},
    };
    char times[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof phases / sizeof phases[0] && !gave_up; i++) {
        uint64_t t0 = cxl_now_ns();
        phases[i].fn();
        len += (size_t)snprintf(times + len, sizeof times - len, "%s%s %.1f", i ? ", " : "", phases[i].name,
                                (double)ms_since(t0) / 1000.0);
        if (len >= sizeof times)
            len = sizeof times - 1;
    }
    med_note("phases (s): %s", times);
}

int attacker_main(int unused)
{
    (void)unused;
    pthread_t scan;
    int scanning = 0;
    rng = cfg.seed ^ 0xA77AC4u;
    uint64_t t0 = cxl_now_ns();
    if (attacker_open() != 0) {
        attacker_fail("cannot map the medium or reach Redis: %s", cxl_last_error());
    } else if (!med_wait_batches(0, 20, 15000) || !med_wait_batches(1, 20, 15000)) {
        attacker_fail("the honest clients make no progress before the attack");
    } else {
        scan_plant_controls();
        scanning = pthread_create(&scan, NULL, scan_thread, NULL) == 0;
        attacks();
    }
    if (scanning) {
        __atomic_store_n(&scan_stop, 1, __ATOMIC_RELEASE);
        pthread_join(scan, NULL);
    }
    med_note("attacker: %.1f s", (double)ms_since(t0) / 1000.0);
    attacker_close();
    return bd->attacker_error[0] ? 1 : 0;
}
