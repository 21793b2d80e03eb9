/* test_secure.c - the secure ring in one process (crypto mode: keys from a
 * shared secret file), the serving engine with a small executor, the client
 * library; runs under ASan. Proves: round trips work sealed; no plaintext
 * in the medium; tampering, replay, relocation to another position or ring,
 * forged messages, a wrong key and a stale epoch are rejected and never
 * executed; the client refuses forged responses; a plain client cannot use
 * a secure medium. The full attacker with Redis and the manager is
 * tests/attack.c. */
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
#include "ring/layout.h"

static struct fixture fx;
static struct cxl_kv_server *srv;
static struct cxl_keyring *srv_keys, *cli_keys;
static char secret_path[256], other_path[256];
static int executed;
static char store_key[64], store_val[256];
static uint32_t store_vlen;

static void ex_execute(void *ud, const struct cxl_kv_request *r, struct cxl_kv_reply *rp)
{
    (void)ud;
    executed++;
    if (r->op == CXL_KV_SET && r->klen < sizeof store_key && r->vlen <= sizeof store_val) {
        memcpy(store_key, r->key, r->klen);
        store_key[r->klen] = '\0';
        memcpy(store_val, r->val, r->vlen);
        store_vlen = r->vlen;
        return cxl_kv_reply(rp, CXL_KV_OK, "", 0);
    }
    if (r->op == CXL_KV_GET)
        return cxl_kv_reply(rp, CXL_KV_OK, store_val, store_vlen);
    cxl_kv_reply_error(rp, "ERR unsupported");
}

static void serve(int n)
{
    for (int i = 0; i < n; i++)
        cxl_kv_server_poll(srv);
}

static struct cxl_kv *client(int ring, struct cxl_keyring *keys, int expect_rc)
{
    return kv_fixture_client(&fx, ring, keys, 300, expect_rc);
}

static int roundtrip(struct cxl_kv *kv, struct cxl_kv_result *r) { return kv_fixture_roundtrip(srv, kv, r, 2000); }

static const struct cxl_geometry *geo(void) { return cxl_layout_geometry(fx.layout); }

static uint8_t *slot_of(uint32_t ring, enum cxl_dir dir, uint64_t pos) { return kv_fixture_line(&fx, ring, dir, pos); }

static struct cxl_ring_ctl *ctl(uint32_t ring) { return cxl_ring_ctl_of(fx.layout, ring); }

/* Layout v2: a message starts at a line (geo()->slot_size, 64 B here) and
 * takes the lines its packed header and payload need, so a position is a
 * line, not a message: the tests note where a message starts (the tail
 * before it is published) instead of taking tail - 1. */

/* The header of the message at pos, decoded into a private copy (seq: low
 * 32 bits); its size in the medium, 0 if none. */
static uint32_t hdr_at(uint32_t ring, enum cxl_dir dir, uint64_t pos, struct cxl_msg_hdr *h)
{
    return cxl_msg_decode(slot_of(ring, dir, pos), geo()->slot_size, h);
}

/* Lines a message of header size hs and len payload bytes takes. */
static uint64_t lines_for(uint32_t hs, uint32_t len)
{
    return ((uint64_t)hs + len + geo()->slot_size - 1) / geo()->slot_size;
}

/* Give the message at pos the header nh, keeping its payload: decode, edit
 * a private copy, encode it back. If the header's size changes, the
 * attacker writes the whole message again (header, then the payload moved
 * after it); the published tail stays where the producer put it. */
static void rewrite_msg(uint32_t ring, enum cxl_dir dir, uint64_t pos, const struct cxl_msg_hdr *nh)
{
    uint8_t *line = slot_of(ring, dir, pos);
    struct cxl_msg_hdr old;
    uint32_t ohs = hdr_at(ring, dir, pos, &old);
    CHECK(ohs != 0);
    if (ohs == 0)
        return;
    uint32_t nhs = cxl_msg_hdr_size(nh);
    if (nhs != ohs) {
        static uint8_t payload[4096];
        CHECK(old.len <= sizeof payload);
        memcpy(payload, line + ohs, old.len);
        memcpy(line + nhs, payload, old.len);
    }
    CHECK_EQ(cxl_msg_encode(nh, line), nhs);
}

static long long stat_of(uint32_t ring, int crypto)
{
    struct cxl_kv_ring_stats st;
    cxl_kv_server_stats(srv, ring, &st);
    return crypto ? (long long)st.rejected_crypto : (long long)st.rejected;
}

static long long resyncs_of(uint32_t ring)
{
    struct cxl_kv_ring_stats st;
    cxl_kv_server_stats(srv, ring, &st);
    return (long long)st.resyncs;
}

static void test_roundtrip_and_no_plaintext(void)
{
    struct cxl_kv *kv = client(0, cli_keys, 0);
    struct cxl_kv_result r;
    static const char key[] = "secret-key-PLAINTEXT-MARKER";
    static const char val[] = "secret-value-PLAINTEXT-MARKER-0123456789";
    CHECK_EQ(cxl_kv_submit_set(kv, key, sizeof key - 1, val, sizeof val - 1, 0, 1), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK(strcmp(store_key, key) == 0);
    uint64_t get_pos = ctl(0)->req_tail.value;
    CHECK_EQ(cxl_kv_submit_get(kv, key, sizeof key - 1, 2), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    CHECK(r.len == sizeof val - 1 && memcmp(r.data, val, r.len) == 0);
    /* the medium holds neither the key nor the value nor the secret */
    uint8_t *base = cxl_medium_base(fx.medium);
    uint64_t size = cxl_medium_size(fx.medium);
    CHECK(memmem(base, size, "PLAINTEXT-MARKER", 16) == NULL);
    uint8_t secret[32];
    CHECK_EQ(cxl_secret_file_load(secret_path, secret), 0);
    CHECK(memmem(base, size, secret, 32) == NULL);
    sodium_memzero(secret, sizeof secret);
    /* the headers carry no op or lengths in the clear: the packed header of
     * the GET has no argument fields at all, op 0 */
    struct cxl_msg_hdr h;
    CHECK(hdr_at(0, CXL_REQ, get_pos, &h) != 0);
    CHECK((uint32_t)get_pos == h.seq);
    CHECK(h.flags & CXL_MSG_F_SEALED);
    CHECK(h.op == 0 && h.arg0 == 0 && h.arg1 == 0 && h.arg2 == 0);
    CHECK((slot_of(0, CXL_REQ, get_pos)[9] & (CXL_MSG_FIELD_ARG0 | CXL_MSG_FIELD_ARG1 | CXL_MSG_FIELD_ARG2)) == 0);
    cxl_kv_close(kv);
}

/* Write a request, let the attacker change the medium before the server
 * looks, and check it is rejected without being executed. The attacked
 * request is the first of a new session (the server derives the session's
 * keys when it opens it), or, with warm, the second: a header the ring
 * layer cannot frame (v2: an unknown field bit, a length past the tail) is
 * refused before anything is opened, so the server's RESYNC answer is only
 * readable once the session's first request has given it the keys. */
static void attack_request_(const char *what, void (*attack)(uint64_t pos), int warm)
{
    struct cxl_kv *kv = client(1, cli_keys, 0);
    struct cxl_kv_result r;
    if (warm) {
        CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 6), 0);
        CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    }
    int before = executed;
    long long rej = stat_of(1, 0), resyncs = resyncs_of(1);
    uint64_t pos = ctl(1)->req_tail.value; /* where the request starts */
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 7), 0);
    cxl_kv_flush(kv);
    CHECK(ctl(1)->req_tail.value > pos);
    attack(pos);
    int rc = roundtrip(kv, &r);
    if (rc == CXL_KV_OK)
        fprintf(stderr, "attack '%s' was not detected\n", what);
    CHECK(rc != CXL_KV_OK);
    CHECK_EQ(executed, before);
    /* refused: by the secure layer (rejected) or, for a header the ring
     * layer cannot frame (v2: unknown field bit, a length past the tail), by
     * a resync of the request stream */
    CHECK(stat_of(1, 0) > rej || resyncs_of(1) > resyncs);
    /* and the ring still works */
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 8), 0);
    rc = roundtrip(kv, &r);
    if (rc != CXL_KV_OK)
        fprintf(stderr, "after attack '%s' the ring fails: %d\n", what, rc);
    CHECK_EQ(rc, CXL_KV_OK);
    cxl_kv_close(kv);
}

static void attack_request(const char *what, void (*attack)(uint64_t pos))
{
    attack_request_(what, attack, 0);
}

/* The payload of a sealed message: the ciphertext of the inner header and
 * data, then the 16 B tag (its last bytes: with 64 B lines, in the
 * message's second line). */
static void flip_payload(uint64_t pos)
{
    struct cxl_msg_hdr h;
    uint32_t hs = hdr_at(1, CXL_REQ, pos, &h);
    CHECK(hs != 0 && h.len > (CXL_KV_RECORD_HDR + CXL_SEAL_TAG));
    slot_of(1, CXL_REQ, pos)[hs + 3] ^= 0x01;
}
static void flip_tag(uint64_t pos)
{
    struct cxl_msg_hdr h;
    uint32_t hs = hdr_at(1, CXL_REQ, pos, &h);
    CHECK(hs != 0 && h.len >= (CXL_KV_RECORD_HDR + CXL_SEAL_TAG));
    slot_of(1, CXL_REQ, pos)[hs + h.len - CXL_SEAL_TAG + 5] ^= 0x80;
}
/* ref, as associated data: changed (kept non-zero, the header keeps its
 * size), or, if the request carries none, one added (a whole new message) */
static void flip_ref(uint64_t pos)
{
    struct cxl_msg_hdr h;
    CHECK(hdr_at(1, CXL_REQ, pos, &h) != 0);
    h.seq = pos;
    h.ref ^= h.ref == 1 ? 2 : 1;
    rewrite_msg(1, CXL_REQ, pos, &h);
}
static void set_epoch(uint64_t pos)
{
    struct cxl_msg_hdr h;
    CHECK(hdr_at(1, CXL_REQ, pos, &h) != 0);
    CHECK(h.epoch != 5);
    h.seq = pos;
    h.epoch = 5;
    rewrite_msg(1, CXL_REQ, pos, &h);
}
static void unseal_flag(uint64_t pos) { slot_of(1, CXL_REQ, pos)[8] &= (uint8_t)~CXL_MSG_F_SEALED; }
/* v2: no tag field in the header any more; its fields byte instead. A
 * present field dropped (the rest of the header and the payload shift:
 * the AD and the ciphertext change), an unknown field bit (the ring layer's
 * refusal), an argument in the clear added (op and args travel sealed). */
static void drop_epoch_field(uint64_t pos) { slot_of(1, CXL_REQ, pos)[9] ^= CXL_MSG_FIELD_EPOCH; }
static void unknown_field(uint64_t pos) { slot_of(1, CXL_REQ, pos)[9] |= 0x40; }
static void clear_arg(uint64_t pos)
{
    struct cxl_msg_hdr h;
    CHECK(hdr_at(1, CXL_REQ, pos, &h) != 0);
    CHECK(h.arg0 == 0);
    h.seq = pos;
    h.arg0 = 1; /* a header 4 B longer: the whole message is written again */
    rewrite_msg(1, CXL_REQ, pos, &h);
}
/* a length one line longer than the producer published */
static void len_past_tail(uint64_t pos)
{
    struct cxl_msg_hdr h;
    CHECK(hdr_at(1, CXL_REQ, pos, &h) != 0);
    h.seq = pos;
    h.len += geo()->slot_size;
    CHECK_EQ(cxl_msg_encode(&h, slot_of(1, CXL_REQ, pos)), cxl_msg_hdr_size(&h));
}

static uint8_t saved[4096];
static uint64_t saved_pos;
/* replay: the request saved earlier (a valid message from another
 * position), written whole over the new one with the new position in its
 * seq: the ring layer's check passes; the AEAD's must not */
static void replay_old(uint64_t pos)
{
    struct cxl_msg_hdr h;
    uint32_t hs = cxl_msg_decode(saved, geo()->slot_size, &h);
    CHECK(hs != 0 && hs + h.len <= sizeof saved);
    memcpy(slot_of(1, CXL_REQ, pos), saved, hs + h.len);
    h.seq = pos;
    CHECK_EQ(cxl_msg_encode(&h, slot_of(1, CXL_REQ, pos)), hs);
}

/* relocation: a valid request of ring 2 copied into ring 1, with ring 1's
 * position and session (both non-zero: the header keeps its size) */
static uint8_t other_ring[4096];
static void relocate_ring(uint64_t pos)
{
    struct cxl_msg_hdr mine, h;
    CHECK(hdr_at(1, CXL_REQ, pos, &mine) != 0);
    uint32_t hs = cxl_msg_decode(other_ring, geo()->slot_size, &h);
    CHECK(hs != 0 && hs + h.len <= sizeof other_ring);
    memcpy(slot_of(1, CXL_REQ, pos), other_ring, hs + h.len);
    h.seq = pos;
    h.session = mine.session;
    CHECK(h.session != 0);
    CHECK_EQ(cxl_msg_encode(&h, slot_of(1, CXL_REQ, pos)), hs);
}

static void test_attacks(void)
{
    attack_request("flip a payload bit", flip_payload);
    attack_request("flip a tag bit", flip_tag);
    attack_request("change ref (associated data)", flip_ref);
    attack_request("claim another epoch", set_epoch);
    attack_request("clear the sealed flag", unseal_flag);
    attack_request("drop the epoch field (fields byte)", drop_epoch_field);
    attack_request_("set an unknown field bit", unknown_field, 1);
    attack_request("add an argument in the clear", clear_arg);
    attack_request_("claim a length past the published tail", len_past_tail, 1);
    /* capture a valid request of ring 1, then replay it later */
    struct cxl_kv *kv = client(1, cli_keys, 0);
    saved_pos = ctl(1)->req_tail.value;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 9), 0);
    cxl_kv_flush(kv);
    memcpy(saved, slot_of(1, CXL_REQ, saved_pos), (ctl(1)->req_tail.value - saved_pos) * geo()->slot_size);
    struct cxl_kv_result r;
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    cxl_kv_close(kv);
    attack_request("replay an old request at a new position", replay_old);
    /* capture a valid request of ring 2 and relocate it into ring 1 */
    kv = client(2, cli_keys, 0);
    uint64_t p2 = ctl(2)->req_tail.value;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 10), 0);
    cxl_kv_flush(kv);
    memcpy(other_ring, slot_of(2, CXL_REQ, p2), (ctl(2)->req_tail.value - p2) * geo()->slot_size);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    cxl_kv_close(kv);
    attack_request("relocate a request from ring 2", relocate_ring);
}

/* The attacker makes the server read [from, tail) of ring 1 again: it keeps
 * its read position privately, but an impossible tail breaks the ring, and
 * with the head moved back and the tail restored it recovers there
 * (kv_server.c, try_recover). */
static void rewind_server(uint64_t from, uint64_t tail)
{
    ctl(1)->req_tail.value = 1ull << 63;
    serve(1);
    ctl(1)->req_head.value = from;
    ctl(1)->req_tail.value = tail;
    serve(1);
}

/* Replay at the same position: the rewound server reads a request it
 * executed; it refuses it, without a second answer. */
static void test_replay_same_position(void)
{
    struct cxl_kv *kv = client(1, cli_keys, 0);
    struct cxl_kv_result r;
    uint64_t p = ctl(1)->req_tail.value;
    CHECK_EQ(cxl_kv_submit_set(kv, "once", 4, "x", 1, 0, 1), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    int before = executed;
    long long rej = stat_of(1, 0);
    uint64_t tail = ctl(1)->req_tail.value, answers = ctl(1)->resp_tail.value;
    rewind_server(p, tail);
    CHECK_EQ(executed, before);
    CHECK_EQ(stat_of(1, 0), rej + 1);
    CHECK_EQ(ctl(1)->resp_tail.value, answers);
    cxl_kv_close(kv);
}

/* One answer per position: a forgery refused at p does not let the genuine
 * request at p run later (its client was told ERR); a replay of a request
 * that ran is not answered ERR (a client that lost the answer would take it). */
static void test_one_answer_per_position(void)
{
    struct cxl_kv *kv = client(1, cli_keys, 0);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    uint64_t p = ctl(1)->req_tail.value;
    struct cxl_msg_hdr fh = {.seq = p, .len = 40, .flags = CXL_MSG_F_SEALED,
                             .session = cxl_owner_gen(ctl(1)->owner_word)};
    uint8_t *line = slot_of(1, CXL_REQ, p);
    uint32_t fhs = cxl_msg_encode(&fh, line); /* a whole message: header, 40 zero bytes */
    memset(line + fhs, 0, fh.len);
    ctl(1)->req_tail.value = p + lines_for(fhs, fh.len);
    serve(1); /* refused: a sealed ERR for p */
    int before = executed;
    CHECK_EQ(cxl_kv_submit_set(kv, "twice", 5, "x", 1, 0, 2), 0); /* lands at p */
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_ERR);
    rewind_server(p, ctl(1)->req_tail.value);
    CHECK_EQ(executed, before);
    cxl_kv_close(kv);

    kv = client(1, cli_keys, 0);
    p = ctl(1)->req_tail.value;
    before = executed;
    CHECK_EQ(cxl_kv_submit_set(kv, "once", 4, "y", 1, 0, 3), 0);
    cxl_kv_flush(kv);
    uint64_t ap = ctl(1)->resp_tail.value; /* where its answer will start */
    serve(1);
    CHECK_EQ(executed, before + 1);
    CHECK(ctl(1)->resp_tail.value > ap);
    slot_of(1, CXL_RESP, ap)[0] ^= 1; /* answer lost: the low bit of its seq */
    CHECK_EQ(cxl_kv_poll(kv, &r), 0);
    rewind_server(p, ctl(1)->req_tail.value);
    CHECK(roundtrip(kv, &r) != CXL_KV_ERR);
    CHECK_EQ(executed, before + 1);
    cxl_kv_close(kv);
}

/* Responses: the client refuses a tampered or forged one. */
static void test_response_attacks(void)
{
    struct cxl_kv *kv = client(3, cli_keys, 0);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0);
    cxl_kv_flush(kv);
    uint64_t pos = ctl(3)->resp_tail.value; /* where the answer starts */
    serve(1);
    struct cxl_msg_hdr h;
    uint32_t hs = hdr_at(3, CXL_RESP, pos, &h);
    CHECK(hs != 0 && h.len > (CXL_KV_RECORD_HDR + CXL_SEAL_TAG));
    slot_of(3, CXL_RESP, pos)[hs + 1] ^= 0x10;
    int rc = cxl_kv_poll(kv, &r);
    CHECK_EQ(rc, 1);
    CHECK_EQ(r.status, CXL_ECRYPTO);
    struct cxl_kv_stats st;
    cxl_kv_get_stats(kv, &st);
    CHECK_EQ(st.rejected, 1);
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 2), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    cxl_kv_close(kv);
}

/* Without the right keys: refused, and nothing gets executed. */
static void test_wrong_keys(void)
{
    client(0, NULL, CXL_ECRYPTO); /* a plain client on a secure medium */
    struct cxl_kv *kv = client(0, NULL, CXL_ECRYPTO);
    CHECK(kv == NULL);
    struct cxl_keyring *other;
    CHECK_EQ(cxl_keyring_open_crypto(other_path, &other), 0);
    kv = client(0, other, 0);
    struct cxl_kv_result r;
    int before = executed;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0);
    int rc = roundtrip(kv, &r);
    CHECK(rc == CXL_ECRYPTO || rc == CXL_ETIMEDOUT || rc == CXL_ESERVER);
    CHECK_EQ(executed, before);
    cxl_kv_close(kv);
    cxl_keyring_close(other);
}

static void start_server(void)
{
    struct cxl_kv_executor ex = {.execute = ex_execute};
    struct cxl_kv_server_config sc = {.keys = srv_keys};
    CHECK_EQ(cxl_kv_server_create(fx.layout, &sc, &ex, &srv), 0);
}

/* "ERR means not executed" across a server restart: the server runs a SET,
 * a host without keys destroys the answer, the server restarts and the host
 * rewinds the request queue, so the new instance reads the old request. It
 * cannot open it (sealed for the old instance) and refuses it; the client
 * must report that request's outcome as unknown, never as refused. */
static void test_restart_outcome_unknown(void)
{
    struct cxl_kv *kv = client(2, cli_keys, 0);
    if (!kv)
        return;
    struct cxl_ring_ctl *c = cxl_ring_ctl_of(fx.layout, 2);
    uint64_t head0 = c->req_head.value, tail0 = c->resp_tail.value;
    int before = executed;
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_set(kv, "ctr", 3, "1", 1, 0, 1), 0);
    cxl_kv_flush(kv);
    serve(1);
    CHECK_EQ(executed, before + 1);       /* it ran */
    c->resp_tail.value = tail0;           /* its answer is gone */
    cxl_kv_server_destroy(srv);
    c->req_head.value = head0;            /* the new server reads it again */
    start_server();
    CHECK_EQ(cxl_kv_submit_get(kv, "ctr", 3, 2), 0); /* sealed for the new instance */
    CHECK_EQ(roundtrip(kv, &r), CXL_EUNKNOWN);
    CHECK_EQ(r.tag, 1);
    CHECK(strstr((const char *)r.data, "outcome unknown") != NULL);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK); /* the new instance serves the new request */
    CHECK_EQ(r.tag, 2);
    CHECK_EQ(executed, before + 2);
    cxl_kv_close(kv);
}

/* The indices of a free secure ring forged to 2^63 - 1 (valid, no room to
 * move): the server rebases it to 0, and the next session works from
 * position 0, below where the server's windows were (they restart too). */
static void test_exhausted_secure(void)
{
    struct cxl_kv *kv = client(1, cli_keys, 0);
    if (!kv)
        return;
    struct cxl_kv_result r;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(cxl_kv_submit_set(kv, "k", 1, "v", 1, 0, 1), 0);
        CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    }
    cxl_kv_close(kv);
    struct cxl_ring_ctl *c = cxl_ring_ctl_of(fx.layout, 1);
    const uint64_t worst = (1ull << 63) - 1;
    c->req_head.value = c->resp_tail.value = c->req_tail.value = c->resp_head.value = worst;
    serve(4096); /* housekeeping finds it */
    struct cxl_kv_ring_stats st;
    cxl_kv_server_stats(srv, 1, &st);
    CHECK_EQ(st.repairs, 1);
    kv = client(1, cli_keys, 0);
    if (!kv)
        return;
    CHECK(c->req_tail.value == 0 && c->req_head.value == 0 && c->resp_head.value == 0);
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 3), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    cxl_kv_close(kv);
}

/* The keystream a session key gives at position pos (what a nonce reuse
 * would repeat): the encryption of zeros. */
static void keystream(const struct cxl_seal *s, uint64_t pos, uint8_t *out, size_t len)
{
    uint8_t zeros[256] = {0}, nonce[24] = {0}, tag[16];
    memcpy(nonce, &pos, 8);
    unsigned long long tl;
    if (s->cipher == CXL_CIPHER_AESGCM)
        crypto_aead_aes256gcm_encrypt_detached_afternm(out, tag, &tl, zeros, len, NULL, 0, NULL, nonce, &s->aes);
    else
        crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, tag, &tl, zeros, len, NULL, 0, NULL, nonce, s->key);
}

/* Does a sealed message's payload, XORed with ks, start with a plausible
 * inner header of status op (op u16, pad u16 = 0)? */
static int reads_as(const uint8_t *msg, const uint8_t *ks, uint16_t op)
{
    uint8_t p[4];
    struct cxl_msg_hdr h;
    uint32_t hs = cxl_msg_decode(msg, geo()->slot_size, &h);
    if (hs == 0 || h.len < (CXL_KV_RECORD_HDR + CXL_SEAL_TAG))
        return 0;
    for (int i = 0; i < 4; i++)
        p[i] = msg[hs + i] ^ ks[i];
    return p[0] == (op & 0xff) && p[1] == op >> 8 && p[2] == 0 && p[3] == 0;
}

/* A host with no keys forces a rebase of a ring (an exhausted index), then
 * claims it as a newer session with the session bytes of the session that
 * used it, and sends a message the server must refuse. The refusal goes to
 * response position 0 again: it must not be sealed with the old session's
 * key (a repeated key and nonce would give away the old reply, and under
 * GCM the authentication key): the claim generation is part of the key. */
static void test_rebase_no_nonce_reuse(void)
{
    struct fixture saved_fx = fx;
    struct cxl_kv_server *saved_srv = srv;
    uint32_t flags = CXL_LAYOUT_F_SECURE | (cxl_cipher_default() == CXL_CIPHER_XCHACHA ? CXL_LAYOUT_F_XCHACHA : 0);
    CHECK_EQ(fixture_open_flags(&fx, "/dev/shm", 1 << 20, 4, CXL_DEFAULT_SLOT_SIZE, flags), 0);
    start_server();
    struct cxl_kv *kv = client(1, cli_keys, 0);
    struct cxl_kv_result r;
    struct cxl_ring_ctl *c = ctl(1);
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK); /* answered at response position 0 */
    uint8_t old[256], now[256], session[16];
    memcpy(old, slot_of(1, CXL_RESP, 0), sizeof old);
    memcpy(session, c->session, 16);
    uint32_t gen = cxl_owner_gen(c->owner_word);
    cxl_kv_close(kv);
    /* the old session's keystream at position 0, as the test can derive it */
    uint8_t master[32], K[32], ks[256];
    struct cxl_seal s;
    struct cxl_seal_binding b = {.format_id = geo()->format_id, .ring = 1, .dir = CXL_RESP, .gen = gen, .node = 0};
    memcpy(b.client_session, session, 16);
    memcpy(b.server_nonce, cxl_hdr_of(fx.layout)->server_nonce, 16);
    CHECK_EQ(cxl_secret_file_load(secret_path, master), 0);
    CHECK_EQ(cxl_region_key(master, "ring1", 0, K), 0);
    CHECK_EQ(cxl_seal_derive(&s, cxl_cipher_default(), K, 0, &b), 0);
    keystream(&s, 0, ks, sizeof ks);
    CHECK(reads_as(old, ks, CXL_KV_OK)); /* the control: it reads the old reply */
    /* the forced rebase, the newer session, a message of random bytes */
    c->req_head.value = 1ull << 62;
    serve(4096);
    c->owner_word = cxl_owner_word(gen + 1, CXL_OWNER_OWNED, 0);
    memcpy(c->session, session, 16);
    c->req_tail.value = c->resp_head.value = 0;
    uint8_t *line = slot_of(1, CXL_REQ, 0);
    cxl_random_bytes(line, 128);
    struct cxl_msg_hdr fh = {.seq = 0, .len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + 8, .flags = CXL_MSG_F_SEALED, .session = gen + 1};
    uint32_t fhs = cxl_msg_encode(&fh, line); /* random payload (and tag) after it */
    c->req_tail.value = lines_for(fhs, fh.len);
    serve(50);
    memcpy(now, slot_of(1, CXL_RESP, 0), sizeof now);
    struct cxl_msg_hdr nh;
    CHECK(cxl_msg_decode(now, geo()->slot_size, &nh) != 0);
    CHECK(nh.seq == 0 && (nh.flags & CXL_MSG_F_SEALED)); /* the refusal is there, sealed */
    CHECK(!reads_as(now, ks, CXL_KV_ERR));                 /* ... under another key */
    cxl_seal_wipe(&s);
    sodium_memzero(master, sizeof master);
    sodium_memzero(K, sizeof K);
    cxl_kv_server_destroy(srv);
    fixture_close(&fx);
    fx = saved_fx;
    srv = saved_srv;
}

/* A host flips the medium's secure flag off (checksum recomputed): a client
 * started without keys attaches, but the secure server's sealed answer must
 * never read as a plain one (a sealed message's clear op is 0: "OK"). */
static void test_flag_flipped(void)
{
    struct cxl_hdr *h = cxl_hdr_of(fx.layout);
    uint32_t flags = h->flags;
    h->flags &= ~(uint32_t)(CXL_LAYOUT_F_SECURE | CXL_LAYOUT_F_XCHACHA);
    h->checksum = cxl_fnv1a64(h, 64);
    struct cxl_kv *kv = client(2, NULL, 0); /* it looks plain now */
    h->flags = flags;
    h->checksum = cxl_fnv1a64(h, 64);
    if (!kv)
        return;
    int before = executed;
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0);
    CHECK_EQ(roundtrip(kv, &r), CXL_ECRYPTO); /* the server's sealed refusal, not "OK" */
    CHECK(r.len > 0 && strstr((const char *)r.data, "sealed response") != NULL);
    CHECK_EQ(executed, before);
    struct cxl_kv_stats st;
    cxl_kv_get_stats(kv, &st);
    CHECK_EQ(st.rejected, 1);
    cxl_kv_close(kv);
}

/* A host rewrites the header of the message being sealed, as fast as it
 * can, while the producer seals: the seal must come only from the
 * producer's private header (seq = nonce, len = bytes encrypted), so every
 * message opens with the header the producer meant, and nothing is written
 * past the message. Layout v2: the queue encodes the private header into the
 * line (as cxl_queue_reserve does), then cxl_seal_msg writes the payload
 * after it; the scribbler rewrites the packed header's bytes in the line
 * (seq, len, flags, fields, op and the optional fields' bytes: session,
 * epoch, ref), never the payload. */
struct scribbler {
    volatile uint8_t *line;
    uint32_t hsize; /* bytes of the packed header */
    volatile int stop;
    uint64_t writes;
};

static void *scribble(void *arg)
{
    struct scribbler *s = arg;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    while (!s->stop) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t seq = (uint32_t)(x & 7), len = (uint32_t)(x >> 32);
        for (int i = 0; i < 4; i++) {
            s->line[i] = (uint8_t)(seq >> (8 * i));       /* a position already sealed: a nonce reuse if believed */
            s->line[4 + i] = (uint8_t)(len >> (8 * i));   /* any length: an overflow if believed */
        }
        s->line[8] = (uint8_t)(x >> 8);                   /* flags */
        s->line[9] = (uint8_t)(x >> 16);                  /* fields: another layout of the header */
        for (uint32_t i = 12; i < s->hsize; i++)          /* session, epoch, ref */
            s->line[i] = (uint8_t)(x >> (i % 8 * 8));
        s->writes++;
    }
    return NULL;
}

static void test_seal_race(void)
{
    enum { LEN = 100, ROUNDS = 20000 };
    uint8_t key[32] = {1}, sess[16] = {2}, nonce[16] = {3};
    struct cxl_seal tx, rx;
    enum cxl_cipher c = cxl_cipher_default();
    struct cxl_seal_binding b = {.format_id = 42, .ring = 0, .dir = CXL_REQ, .gen = 1, .node = 0};
    memcpy(b.client_session, sess, 16);
    memcpy(b.server_nonce, nonce, 16);
    CHECK_EQ(cxl_seal_derive(&tx, c, key, 1, &b), 0);
    CHECK_EQ(cxl_seal_derive(&rx, c, key, 1, &b), 0);
    uint8_t *slot = aligned_alloc(64, 4096), scratch[CXL_KV_RECORD_HDR + LEN], plain[LEN], out[(CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + LEN];
    memset(slot, 0, 4096);
    memset(plain, 'p', sizeof plain);
    struct cxl_msg_hdr h0 = {.seq = 8, .len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + LEN, .session = 5, .ref = 8};
    cxl_seal_header(&tx, &h0);
    uint32_t hs = cxl_msg_hdr_size(&h0); /* the same for every round: ref = pos stays non-zero */
    struct scribbler sc = {.line = slot, .hsize = hs};
    memset(slot + hs + (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + LEN, 0xa5, 64); /* a guard after the message */
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, scribble, &sc), 0);
    int bad = 0;
    for (uint64_t pos = 8; pos < 8 + ROUNDS; pos++) {
        struct cxl_msg_hdr h = {.session = 5, .ref = pos};
        cxl_seal_header(&tx, &h);
        h.seq = pos;
        h.len = (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + LEN;
        struct cxl_msg_hdr in = {.op = CXL_KV_GET, .arg0 = LEN};
        if (cxl_msg_encode(&h, slot) != hs || cxl_seal_msg(&tx, &h, slot + hs, scratch, cxl_kv_record_put(scratch, &in, 0, plain, LEN)) != 0) {
            bad++;
            continue;
        }
        /* open what the producer meant: its private header, the line's ciphertext and tag */
        struct cxl_msg m = {.hdr = h, .payload = slot + hs};
        const uint8_t *rec;
        uint16_t ridx = 1;
        if (cxl_open_msg(&rx, &m, out) != 0)
            bad++;
        else if (rec = m.payload, cxl_kv_record_next(&rec, m.payload + m.hdr.len, &m.hdr, &ridx, &m.payload) != 1 ||
                 rec != out + m.hdr.len + CXL_KV_RECORD_HDR || ridx != 0 || m.hdr.len != LEN || m.hdr.op != CXL_KV_GET ||
                 m.hdr.arg0 != LEN || memcmp(m.payload, plain, LEN) != 0)
            bad++;
    }
    sc.stop = 1;
    pthread_join(t, NULL);
    printf("seal race: %u messages sealed while another thread rewrote their header %" PRIu64 " times\n",
           ROUNDS, sc.writes);
    CHECK_EQ(bad, 0);
    CHECK(sc.writes > 0);
    int guard_ok = 1;
    for (int i = 0; i < 64; i++)
        guard_ok &= slot[hs + (CXL_KV_RECORD_HDR + CXL_SEAL_TAG) + LEN + i] == 0xa5;
    CHECK(guard_ok); /* nothing written past the message */
    free(slot);
}

/* --- batches: one AEAD per flush ------------------------------------------------ */

#define BATCH_N 16

/* Submit n GETs tagged base.. and flush: one sealed message; its position. */
static uint64_t submit_batch(struct cxl_kv *kv, int n, uint64_t base)
{
    uint64_t pos = ctl(1)->req_tail.value;
    for (int i = 0; i < n; i++)
        CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, base + (uint64_t)i), 0);
    cxl_kv_flush(kv);
    return pos;
}

/* Collect results until n arrived (or give up): how many; *ok counts OK,
 * and every result must come in submission order. */
static int collect(struct cxl_kv *kv, int n, uint64_t base, int *ok)
{
    struct cxl_kv_result r;
    int got = 0;
    *ok = 0;
    for (int i = 0; i < 20000 && got < n; i++) {
        serve(1);
        int rc = cxl_kv_poll(kv, &r);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        CHECK_EQ(r.tag, base + (uint64_t)got);
        *ok += r.status == CXL_KV_OK;
        got++;
    }
    return got;
}

static uint8_t batch_a[4096]; /* an earlier batch, whole, for replay and splice */
static uint32_t batch_a_size;

static uint32_t msg_size_at(uint64_t pos)
{
    struct cxl_msg_hdr h;
    uint32_t hs = hdr_at(1, CXL_REQ, pos, &h);
    return hs ? hs + h.len : 0;
}

/* the last record cut off: a shorter length (in the associated data) */
static void truncate_batch(uint64_t pos)
{
    struct cxl_msg_hdr h;
    CHECK(hdr_at(1, CXL_REQ, pos, &h) != 0);
    h.seq = pos;
    h.len -= CXL_KV_RECORD_HDR + 1;
    CHECK_EQ(cxl_msg_encode(&h, slot_of(1, CXL_REQ, pos)), cxl_msg_hdr_size(&h));
}
/* two 25 B records of the ciphertext swapped: the order of the requests */
static void reorder_batch(uint64_t pos)
{
    struct cxl_msg_hdr h;
    uint32_t hs = hdr_at(1, CXL_REQ, pos, &h);
    uint8_t *p = slot_of(1, CXL_REQ, pos) + hs, tmp[CXL_KV_RECORD_HDR + 1];
    memcpy(tmp, p, sizeof tmp);
    memcpy(p, p + sizeof tmp, sizeof tmp);
    memcpy(p + sizeof tmp, tmp, sizeof tmp);
}
/* the second half of an earlier batch's ciphertext spliced into this one */
static void splice_batch(uint64_t pos)
{
    struct cxl_msg_hdr h, a;
    uint32_t hs = hdr_at(1, CXL_REQ, pos, &h), ahs = cxl_msg_decode(batch_a, sizeof batch_a, &a);
    CHECK(hs && ahs && a.len == h.len);
    memcpy(slot_of(1, CXL_REQ, pos) + hs + h.len / 2, batch_a + ahs + a.len / 2, h.len - h.len / 2);
}
/* an earlier batch written whole at this position, with this position */
static void replay_batch(uint64_t pos)
{
    struct cxl_msg_hdr h;
    uint32_t hs = cxl_msg_decode(batch_a, sizeof batch_a, &h);
    CHECK(hs != 0 && msg_size_at(pos) == batch_a_size);
    memcpy(slot_of(1, CXL_REQ, pos), batch_a, batch_a_size);
    h.seq = pos;
    CHECK_EQ(cxl_msg_encode(&h, slot_of(1, CXL_REQ, pos)), hs);
}

/* A batch attacked before the server reads it: not one request runs, each
 * gets a refusal (never OK), and the next batch is served. */
static void batch_attack(const char *what, void (*attack)(uint64_t pos))
{
    struct cxl_kv *kv = client(1, cli_keys, 0);
    struct cxl_kv_result r;
    CHECK_EQ(cxl_kv_submit_get(kv, "k", 1, 1), 0); /* the session's keys, first */
    CHECK_EQ(roundtrip(kv, &r), CXL_KV_OK);
    int before = executed, ok = 0;
    long long rej = stat_of(1, 0);
    uint64_t pos = submit_batch(kv, BATCH_N, 300);
    attack(pos);
    int got = collect(kv, BATCH_N, 300, &ok);
    if (ok)
        fprintf(stderr, "batch attack '%s': %d requests answered OK\n", what, ok);
    CHECK_EQ(ok, 0);
    CHECK_EQ(got, BATCH_N); /* every request of it answered: refused */
    CHECK_EQ(executed, before);
    CHECK(stat_of(1, 0) > rej || resyncs_of(1) > 0);
    pos = submit_batch(kv, BATCH_N, 400);
    CHECK_EQ(collect(kv, BATCH_N, 400, &ok), BATCH_N);
    CHECK_EQ(ok, BATCH_N);
    cxl_kv_close(kv);
}

static void test_batches(void)
{
    struct cxl_kv *kv = client(1, cli_keys, 0);
    int before = executed, ok = 0;
    uint64_t pos = submit_batch(kv, BATCH_N, 100), rpos = ctl(1)->resp_tail.value;
    /* one message of BATCH_N records, one AEAD */
    struct cxl_msg_hdr h;
    uint32_t hs = hdr_at(1, CXL_REQ, pos, &h);
    CHECK(hs != 0 && h.len == BATCH_N * (CXL_KV_RECORD_HDR + 1) + CXL_SEAL_TAG);
    CHECK_EQ(ctl(1)->req_tail.value - pos, lines_for(hs, h.len));
    batch_a_size = hs + h.len;
    CHECK(batch_a_size <= sizeof batch_a);
    memcpy(batch_a, slot_of(1, CXL_REQ, pos), batch_a_size);
    CHECK_EQ(collect(kv, BATCH_N, 100, &ok), BATCH_N);
    CHECK_EQ(ok, BATCH_N);
    CHECK_EQ(executed - before, BATCH_N);
    /* the replies: one message too */
    hs = hdr_at(1, CXL_RESP, rpos, &h);
    CHECK(hs != 0 && h.len == BATCH_N * (CXL_KV_RECORD_HDR + store_vlen) + CXL_SEAL_TAG);
    CHECK_EQ(ctl(1)->resp_tail.value - rpos, lines_for(hs, h.len));
    struct cxl_kv_stats st;
    cxl_kv_get_stats(kv, &st);
    CHECK_EQ(st.batches, 1);
    /* a batch larger than one message: flushed in pieces, answered in order */
    char val[200]; /* 400 x 225 B of records: more than a message holds (half a queue) */
    memset(val, 'b', sizeof val);
    int n = 0;
    for (; n < 400; n++)
        CHECK_EQ(cxl_kv_submit_set(kv, "k", 1, val, sizeof val, 0, 1000 + (uint64_t)n), 0);
    cxl_kv_flush(kv);
    cxl_kv_get_stats(kv, &st);
    CHECK_EQ(st.batches, 3);
    CHECK_EQ(collect(kv, n, 1000, &ok), n);
    CHECK_EQ(ok, n);
    cxl_kv_close(kv);
    batch_attack("truncate a batch by one record", truncate_batch);
    batch_attack("reorder two records of a batch", reorder_batch);
    batch_attack("splice two batches", splice_batch);
    batch_attack("replay an earlier batch", replay_batch);
}

int main(void)
{
    CHECK_EQ(cxl_crypto_init(), 0);
    snprintf(secret_path, sizeof secret_path, "/dev/shm/cxl_test_secret_%d", (int)getpid());
    snprintf(other_path, sizeof other_path, "/dev/shm/cxl_test_other_%d", (int)getpid());
    uint8_t s[32];
    CHECK_EQ(cxl_secret_file_create(secret_path, s), 0);
    CHECK_EQ(cxl_secret_file_create(other_path, s), 0);
    sodium_memzero(s, sizeof s);
    struct cxl_kv_executor ex = {.execute = ex_execute};
    kv_fixture_secure(&fx, secret_path, &ex, &srv_keys, &cli_keys, &srv);
    printf("cipher: %s\n", cxl_cipher_name(cxl_cipher_default()));
    test_roundtrip_and_no_plaintext();
    test_attacks();
    test_replay_same_position();
    test_one_answer_per_position();
    test_response_attacks();
    test_wrong_keys();
    test_flag_flipped();
    test_restart_outcome_unknown();
    test_exhausted_secure();
    test_rebase_no_nonce_reuse();
    test_seal_race();
    test_batches();
    cxl_kv_server_destroy(srv);
    cxl_keyring_close(srv_keys);
    cxl_keyring_close(cli_keys);
    fixture_close(&fx);
    unlink(secret_path);
    unlink(other_path);
    return check_summary("test_secure");
}
