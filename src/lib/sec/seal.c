/* seal.c - AEAD sealing and opening of ring messages (docs/SECURITY.md,
 * "Keys" and "The secure message"). The associated data binds every header
 * field the receiver acts on, the ring, the direction and the medium's
 * format id; the nonce is the message's position, and each key only moves
 * forward through positions. */
#include <inttypes.h>
#include <string.h>

#include "sec/seal.h"
#include "cxl/util.h"

static const char SEAL_CONTEXT[] = "cxl-dsm seal v2";
static const char SESSION_CONTEXT[] = "cxl-dsm session";

int cxl_crypto_init(void)
{
    static int done;
    if (done)
        return 0;
    if (sodium_init() < 0)
        return cxl_fail(CXL_ECRYPTO, "libsodium failed to initialise");
    done = 1;
    return 0;
}

enum cxl_cipher cxl_cipher_default(void)
{
    cxl_crypto_init();
    return crypto_aead_aes256gcm_is_available() ? CXL_CIPHER_AESGCM : CXL_CIPHER_XCHACHA;
}

uint32_t cxl_cipher_layout_flags(void)
{
    return CXL_LAYOUT_F_SECURE | (cxl_cipher_default() == CXL_CIPHER_XCHACHA ? CXL_LAYOUT_F_XCHACHA : 0);
}

const char *cxl_cipher_name(enum cxl_cipher c)
{
    return c == CXL_CIPHER_AESGCM ? "aes256gcm" : "xchacha20poly1305";
}

int cxl_cipher_of_layout(const struct cxl_geometry *g, enum cxl_cipher *c)
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    if (!(g->flags & CXL_LAYOUT_F_SECURE))
        return cxl_fail(CXL_ECRYPTO, "the medium is formatted plain, not secure (reformat with --secure)");
    *c = (g->flags & CXL_LAYOUT_F_XCHACHA) ? CXL_CIPHER_XCHACHA : CXL_CIPHER_AESGCM;
    if (*c == CXL_CIPHER_AESGCM && !crypto_aead_aes256gcm_is_available())
        return cxl_fail(CXL_ECRYPTO, "the medium uses AES-256-GCM but this CPU lacks AES-NI/CLMUL");
    return 0;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int cxl_seal_derive(struct cxl_seal *s, enum cxl_cipher cipher, const uint8_t key[32], uint32_t epoch,
                    const struct cxl_seal_binding *b)
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    uint8_t in[sizeof SESSION_CONTEXT - 1 + 4 + 1 + 8 + 4 + 2 + 16 + 16], *p = in;
    memcpy(p, SESSION_CONTEXT, sizeof SESSION_CONTEXT - 1), p += sizeof SESSION_CONTEXT - 1;
    put32(p, b->ring), p += 4;
    *p++ = (uint8_t)b->dir;
    put64(p, b->format_id), p += 8;
    put32(p, b->gen), p += 4;
    memcpy(p, &b->node, 2), p += 2;
    memcpy(p, b->client_session, 16), p += 16;
    memcpy(p, b->server_nonce, 16);
    uint32_t ring = b->ring;
    enum cxl_dir dir = b->dir;
    uint64_t format_id = b->format_id;
    cxl_seal_wipe(s);
    crypto_generichash(s->key, sizeof s->key, in, sizeof in, key, 32);
    if (cipher == CXL_CIPHER_AESGCM && crypto_aead_aes256gcm_beforenm(&s->aes, s->key) != 0) {
        cxl_seal_wipe(s);
        return cxl_fail(CXL_ECRYPTO, "AES-256-GCM is not available on this CPU");
    }
    s->cipher = cipher;
    s->epoch = epoch;
    s->ring = ring;
    s->dir = (uint8_t)dir;
    s->format_id = format_id;
    s->next = 0;
    s->ready = 1;
    return 0;
}

void cxl_seal_wipe(struct cxl_seal *s)
{
    sodium_memzero(s, sizeof *s);
}

/* The associated data of a message: everything the receiver acts on. */
enum { AD_LEN = sizeof SEAL_CONTEXT - 1 + 4 + 1 + 8 + 8 + 4 + 2 + 4 + 4 + 8 };
static void build_ad(const struct cxl_seal *s, const struct cxl_msg_hdr *h, uint8_t ad[AD_LEN])
{
    uint8_t *p = ad;
    memcpy(p, SEAL_CONTEXT, sizeof SEAL_CONTEXT - 1), p += sizeof SEAL_CONTEXT - 1;
    put32(p, s->ring), p += 4;
    *p++ = s->dir;
    put64(p, s->format_id), p += 8;
    put64(p, h->seq), p += 8;
    put32(p, h->len), p += 4;
    memcpy(p, &h->flags, 2), p += 2;
    put32(p, h->session), p += 4;
    put32(p, h->epoch), p += 4;
    put64(p, h->ref);
}

static void build_nonce(uint64_t seq, uint8_t nonce[24])
{
    memset(nonce, 0, 24);
    put64(nonce, seq);
}

void cxl_seal_header(const struct cxl_seal *s, struct cxl_msg_hdr *hdr)
{
    hdr->flags |= CXL_MSG_F_SEALED;
    hdr->epoch = s->epoch;
    hdr->op = 0;
    hdr->arg0 = hdr->arg1 = 0;
    hdr->arg2 = 0;
}

int cxl_seal_msg(struct cxl_seal *s, const struct cxl_msg_hdr *hdr, uint8_t *payload, uint8_t *plain,
                 uint32_t plen)
{
    if (!s->ready)
        return cxl_fail(CXL_ECRYPTO, "ring %u: no key to seal with", s->ring);
    if (hdr->seq < s->next)
        return cxl_fail(CXL_ECRYPTO, "ring %u: position %" PRIu64 " was already sealed under this key "
                        "(queue rewound); the ring must be claimed again", s->ring, hdr->seq);
    if (plen > UINT32_MAX - CXL_SEAL_TAG || hdr->len != plen + CXL_SEAL_TAG)
        return cxl_fail(CXL_EINVAL, "seal: message length %u is not %u + %u", hdr->len, plen, CXL_SEAL_TAG);
    if (!(hdr->flags & CXL_MSG_F_SEALED) || hdr->epoch != s->epoch || hdr->op || hdr->arg0 || hdr->arg1 ||
        hdr->arg2)
        return cxl_fail(CXL_EINVAL, "seal: the header was not made by cxl_seal_header for this key");
    uint8_t ad[AD_LEN], nonce[24];
    build_ad(s, hdr, ad);
    build_nonce(hdr->seq, nonce);
    /* In place, in private memory, then copied out: an AEAD may read its
     * output back (libsodium's ChaCha20-Poly1305 MACs the ciphertext it has
     * just written), and a writer changing the medium between the two would
     * get its own ciphertext authenticated. */
    unsigned long long taglen;
    uint8_t tag[CXL_SEAL_TAG];
    if (s->cipher == CXL_CIPHER_AESGCM)
        crypto_aead_aes256gcm_encrypt_detached_afternm(plain, tag, &taglen, plain, plen, ad, AD_LEN, NULL, nonce,
                                                       &s->aes);
    else
        crypto_aead_xchacha20poly1305_ietf_encrypt_detached(plain, tag, &taglen, plain, plen, ad, AD_LEN, NULL,
                                                            nonce, s->key);
    memcpy(payload, plain, plen);
    memcpy(payload + plen, tag, CXL_SEAL_TAG);
    s->next = hdr->seq + 1;
    return 0;
}

int cxl_open_msg(struct cxl_seal *s, struct cxl_msg *m, uint8_t *out)
{
    struct cxl_msg_hdr *h = &m->hdr;
    if (!s->ready)
        return cxl_fail(CXL_ECRYPTO, "ring %u: no key to open with", s->ring);
    if (!(h->flags & CXL_MSG_F_SEALED))
        return cxl_fail(CXL_ECRYPTO, "ring %u: message at %" PRIu64 " is not sealed", s->ring, h->seq);
    if (h->epoch != s->epoch)
        return cxl_fail(CXL_ECRYPTO, "ring %u: message at %" PRIu64 " is sealed for epoch %u, key is epoch %u",
                        s->ring, h->seq, h->epoch, s->epoch);
    if (h->seq < s->next)
        return cxl_fail(CXL_ECRYPTO, "ring %u: message at %" PRIu64 " is a replay (next accepted position %" PRIu64 ")",
                        s->ring, h->seq, s->next);
    if (h->len < CXL_SEAL_TAG)
        return cxl_fail(CXL_ECRYPTO, "ring %u: sealed message at %" PRIu64 " is too short (%u bytes)",
                        s->ring, h->seq, h->len);
    if (h->op || h->arg0 || h->arg1 || h->arg2) /* they travel inside the ciphertext */
        return cxl_fail(CXL_ECRYPTO, "ring %u: sealed message at %" PRIu64 " has clear op/argument fields",
                        s->ring, h->seq);
    /* Private copy first: the medium may change between the tag check and
     * the decryption, which would hand out unauthenticated plaintext. */
    memcpy(out, m->payload, h->len);
    uint8_t ad[AD_LEN], nonce[24];
    build_ad(s, h, ad);
    build_nonce(h->seq, nonce);
    uint32_t clen = h->len - CXL_SEAL_TAG;
    int bad = s->cipher == CXL_CIPHER_AESGCM
                  ? crypto_aead_aes256gcm_decrypt_detached_afternm(out, NULL, out, clen, out + clen, ad,
                                                                   AD_LEN, nonce, &s->aes)
                  : crypto_aead_xchacha20poly1305_ietf_decrypt_detached(out, NULL, out, clen, out + clen, ad,
                                                                        AD_LEN, nonce, s->key);
    if (bad) {
        sodium_memzero(out, h->len);
        return cxl_fail(CXL_ECRYPTO, "ring %u: message at %" PRIu64 " fails authentication (tampered, "
                        "relocated or sealed with another key)", s->ring, h->seq);
    }
    s->next = h->seq + 1;
    h->len = clen;
    m->payload = out;
    return 0;
}
