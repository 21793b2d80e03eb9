/* sec/seal.h - the cryptography of the secure ring (docs/SECURITY.md):
 * session keys per ring, direction, client session and server instance;
 * sealing a message into the medium from private memory; opening it from the
 * medium into private memory; the strictly increasing position window that
 * stops replays and nonce reuse.
 *
 *     struct cxl_seal tx;
 *     struct cxl_seal_binding b = {format_id, ring, CXL_REQ, gen, node, client_session, server_nonce};
 *     cxl_seal_derive(&tx, cipher, node_key, epoch, &b);
 *     struct cxl_msg_hdr h = {.session = gen, .ref = ...};
 *     cxl_seal_header(&tx, &h);                              // SEALED, epoch; no op/args
 *     cxl_queue_reserve(&q, &h, plen + CXL_SEAL_TAG, &payload);
 *     cxl_seal_msg(&tx, &h, payload, plain, plen);           // plain: private
 *
 *     cxl_queue_peek(&q, &m);
 *     cxl_open_msg(&rx, &m, buf);   // m.payload = the plaintext in buf, m.hdr.len its length
 *
 * What the plaintext holds is the layer above's business (the KV layer puts a
 * batch of records there: docs/KV.md, docs/SECURITY.md). 
 */
#ifndef CXL_SEAL_H
#define CXL_SEAL_H

#include <sodium.h>
#include <stdint.h>

#include "cxl/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_SEAL_TAG 16u /* the AEAD tag, at the end of the payload */

enum cxl_cipher { CXL_CIPHER_AESGCM = 0, CXL_CIPHER_XCHACHA = 1 };

/* sodium_init, once. CXL_ECRYPTO if libsodium cannot be used. */
int cxl_crypto_init(void);
/* AES-256-GCM where the CPU has AES-NI and CLMUL, else XChaCha20-Poly1305. */
enum cxl_cipher cxl_cipher_default(void);
const char *cxl_cipher_name(enum cxl_cipher c);
/* The layout flags of a new secure medium: CXL_LAYOUT_F_SECURE, with the
 * default cipher's flag (cxl_shm init --secure, the module's secure=1). */
uint32_t cxl_cipher_layout_flags(void);
/* The cipher a secure medium uses (from its layout flags); CXL_ECRYPTO with a
 * message if this CPU cannot run it. */
int cxl_cipher_of_layout(const struct cxl_geometry *g, enum cxl_cipher *c);

/* One direction of one ring under one session key. */
struct cxl_seal {
    crypto_aead_aes256gcm_state aes; /* precomputed (AES-GCM) */
    unsigned char key[32];           /* XChaCha20-Poly1305 */
    enum cxl_cipher cipher;
    uint32_t epoch;
    uint32_t ring;
    uint8_t dir;
    int ready;
    uint64_t format_id;
    uint64_t next; /* lowest position this key may seal at / accept */
};

/* What a session key is bound to (docs/SECURITY.md, "Keys"): one ring, one
 * direction, one format of the medium, one claim of the ring (its
 * generation, the claimant's node and random session value) and one
 * server instance. A key never serves two of these, so positions that
 * restart (a new claim, a rebased ring, a restarted server) never meet a
 * key that already sealed there. */
struct cxl_seal_binding {
    uint64_t format_id;
    uint32_t ring;
    enum cxl_dir dir;
    uint32_t gen;      /* the ring's claim generation */
    uint16_t node;     /* the claimant's node id */
    uint8_t client_session[16];
    uint8_t server_nonce[16];
};

/* S = BLAKE2b-256(key = key, "cxl-dsm session" || ring u32 || dir u8 ||
 * format id u64 || gen u32 || node u16 || client session || server nonce);
 * key is the claimant's node key (or the shared region key in crypto mode). */
int cxl_seal_derive(struct cxl_seal *s, enum cxl_cipher cipher, const uint8_t key[32], uint32_t epoch,
                    const struct cxl_seal_binding *b);
void cxl_seal_wipe(struct cxl_seal *s);

/* Make hdr (the producer's private header, before cxl_queue_reserve) the
 * header of a message sealed with s: flag SEALED, s's epoch; op and
 * arguments zero (they travel inside the ciphertext). */
void cxl_seal_header(const struct cxl_seal *s, struct cxl_msg_hdr *hdr);

/* Seal into a reserved message. hdr is the producer's private header as
 * cxl_seal_header made it and cxl_queue_reserve completed it (seq; len =
 * plen + CXL_SEAL_TAG); payload is where the queue said the payload goes.
 * plain (plen bytes, private) is encrypted in place there, and only then are
 * the ciphertext and the tag copied to payload: nothing is computed from
 * what is in the medium (another host may rewrite it while we seal).
 * CXL_ECRYPTO if hdr->seq is below s->next (the queue was rewound: sealing
 * there would reuse a nonce). */
int cxl_seal_msg(struct cxl_seal *s, const struct cxl_msg_hdr *hdr, uint8_t *payload, uint8_t *plain,
                 uint32_t plen);

/* Open a peeked message into out (>= m->hdr.len bytes, private): copies the
 * ciphertext out of the medium first (it may change under us), checks epoch,
 * position window and tag, then rewrites *m: payload = out, hdr.len = the
 * plaintext's length. out holds at least m->hdr.len bytes (any length the
 * ring layer delivers: max_payload + CXL_MSG_HDR_MAX). CXL_ECRYPTO with
 * a message naming the reason otherwise; out holds nothing useful then. */
int cxl_open_msg(struct cxl_seal *s, struct cxl_msg *m, uint8_t *out);

#ifdef __cplusplus
}
#endif
#endif
