/* test_refusal_repair.c - a whole-batch refusal never answers a request that
 * ran (its answer lost in a message a host without keys spoiled), and a
 * ring repaired after forged indices never seals again under the keys of the
 * session the repair ended (positions restart: that would reuse a nonce). */
#define _GNU_SOURCE
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

/* the whole-batch refusal (CXL_KV_RESP_F_BATCH, "the rest did not
 * run") carries no record index; the client gives it to whatever request of
 * the batch is at the head. When the message before it (holding the answer
 * of a request that DID run) does not open, that request reads as refused. */
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
    snprintf(secret_path, sizeof secret_path, "/dev/shm/cxl_refusal_repair_secret_%d", (int)getpid());
    uint8_t s[32];
    CHECK_EQ(cxl_secret_file_create(secret_path, s), 0);
    sodium_memzero(s, sizeof s);
    struct cxl_kv_executor ex = {.execute = ex_execute};
    kv_fixture_secure(&fx, secret_path, &ex, &srv_keys, &cli_keys, &srv);
    printf("geometry: %u slots of %u B per queue, max_payload %u\n", geo()->slots, geo()->slot_size,
           geo()->max_payload);
    const char *only = argc > 1 ? argv[1] : "";
    if (!*only || strstr(only, "whole"))
        test_whole_refusal_after_lost_reply();
    if (!*only || strstr(only, "nonce"))
        test_repair_nonce_reuse();
    cxl_kv_server_destroy(srv);
    cxl_keyring_close(srv_keys);
    cxl_keyring_close(cli_keys);
    fixture_close(&fx);
    unlink(secret_path);
    return check_summary("test_refusal_repair");
}
