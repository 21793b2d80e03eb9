/* crypt.c - the cryptography of one tunnel connection, on buffers
 * (docs/TUNNEL.md, "One connection"): the cxl_sec_mgr handshake with the
 * client end as the node and the server end as the manager (its message 1
 * carrying the proof of hello.c), the exchange of
 * secretstream keys inside its channel, then one
 * crypto_secretstream_xchacha20poly1305 stream per direction. No I/O here:
 * the relay moves the bytes. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cxl/error.h"
#include "sec/seal.h"
#include "sec/tunnel_crypt.h"

#define SS_KEY crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define OPENING_BYTES (SS_KEY + SS_HEADER)

_Static_assert(TUN_SS_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "secretstream overhead");

enum stage {
    WAIT_MSG1,    /* server: the client's message 1 */
    WAIT_MSG2,    /* client: the server's message 2 */
    WAIT_MSG3,    /* server: the client's message 3 */
    WAIT_OPENING, /* both: the peer's stream key and header */
    DATA,         /* both: the peer's data frames */
    DONE,         /* the peer's final frame came */
    FAILED,
};

struct tun_crypt {
    const struct tun_keys *keys;
    struct tun_hello *hello;
    int initiator;
    enum stage stage;
    struct cxl_sec_hs *hs;
    struct cxl_sec_chan *chan;
    crypto_secretstream_xchacha20poly1305_state tx, rx;
    int can_send, authenticated, final_sent;
    int vouched; /* server: the first frame was fresh and made with the peer's key */
};

static int fail(struct tun_crypt *c, int code, const char *what)
{
    c->stage = FAILED;
    c->can_send = 0;
    return cxl_fail(code, "%s", what);
}

/* Keep the library's message (the handshake's reason) and end for good. */
static int fail_kept(struct tun_crypt *c, int code)
{
    c->stage = FAILED;
    c->can_send = 0;
    return code;
}

int tun_crypt_new(const struct tun_keys *keys, struct tun_hello *hello, int initiator,
                  struct tun_crypt **out)
{
    if (cxl_crypto_init() != 0)
        return CXL_ECRYPTO;
    struct tun_crypt *c = calloc(1, sizeof *c);
    if (!c)
        return cxl_fail(CXL_ESYS, "out of memory");
    c->keys = keys;
    c->hello = hello;
    c->initiator = initiator;
    c->stage = initiator ? WAIT_MSG2 : WAIT_MSG1;
    *out = c;
    return 0;
}

void tun_crypt_free(struct tun_crypt *c)
{
    if (!c)
        return;
    cxl_sec_hs_free(c->hs);
    cxl_sec_chan_free(c->chan);
    sodium_memzero(c, sizeof *c);
    free(c);
}

/* u32 length || body, appended to out. */
static int put_frame(struct tun_crypt *c, struct cxl_buf *out, const uint8_t *body, size_t len)
{
    uint8_t *p = cxl_buf_tail(out, 4 + len);
    if (!p)
        return fail(c, CXL_EPROTO, "no room for a handshake frame");
    p[0] = (uint8_t)len, p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)(len >> 16), p[3] = (uint8_t)(len >> 24);
    memcpy(p + 4, body, len);
    out->end += 4 + len;
    return 0;
}

int tun_crypt_start(struct tun_crypt *c, struct cxl_buf *out)
{
    uint8_t msg1[CXL_SEC_MSG1_BYTES], first[TUN_HELLO_BYTES];
    if (!c->initiator || c->hs)
        return fail(c, CXL_EPROTO, "the handshake was already started");
    if (cxl_sec_hs_start(&c->keys->self, TUN_NODE_ID, msg1, &c->hs) != 0)
        return fail_kept(c, CXL_ECRYPTO);
    tun_hello_seal(c->hello, msg1, first);
    return put_frame(c, out, first, sizeof first);
}

/* This end's stream: a fresh key, its header, both sent in the channel. */
static int send_opening(struct tun_crypt *c, struct cxl_buf *out)
{
    uint8_t opening[OPENING_BYTES], frame[4 + OPENING_BYTES + CXL_SEC_TAG_BYTES];
    size_t len;
    crypto_secretstream_xchacha20poly1305_keygen(opening);
    crypto_secretstream_xchacha20poly1305_init_push(&c->tx, opening + SS_KEY, opening);
    int rc = cxl_sec_chan_seal(c->chan, opening, sizeof opening, frame, sizeof frame, &len);
    sodium_memzero(opening, sizeof opening);
    uint8_t *p = rc == 0 ? cxl_buf_tail(out, len) : NULL;
    if (p) {
        memcpy(p, frame, len);
        out->end += len;
    }
    sodium_memzero(frame, sizeof frame);
    if (!p)
        return rc ? fail_kept(c, rc) : fail(c, CXL_EPROTO, "no room for the stream opening");
    c->can_send = 1;
    return 0;
}

static int recv_opening(struct tun_crypt *c, const uint8_t *body, size_t len)
{
    uint8_t opening[OPENING_BYTES];
    size_t n;
    int rc = cxl_sec_chan_open(c->chan, body, len, opening, sizeof opening, &n);
    if (rc == 0 && n != OPENING_BYTES)
        rc = cxl_fail(CXL_EPROTO, "the peer's stream opening has %zu bytes, not %u", n, OPENING_BYTES);
    if (rc == 0 && crypto_secretstream_xchacha20poly1305_init_pull(&c->rx, opening + SS_KEY, opening) != 0)
        rc = cxl_fail(CXL_ECRYPTO, "the peer's stream header is invalid");
    sodium_memzero(opening, sizeof opening);
    if (rc != 0)
        return fail_kept(c, rc);
    /* the handshake's job is done: its channel is not used again */
    cxl_sec_chan_free(c->chan);
    c->chan = NULL;
    c->stage = DATA;
    return 0;
}

static int lookup_peer(void *ctx, uint16_t node_id, uint8_t pub[32])
{
    const struct tun_keys *k = ctx;
    if (node_id != TUN_NODE_ID)
        return -1;
    memcpy(pub, k->self.manager_public, 32);
    return 0;
}

static int handshake_step(struct tun_crypt *c, const uint8_t *body, size_t len, struct cxl_buf *out)
{
    uint8_t msg[CXL_SEC_MSG2_BYTES];
    int rc;
    switch (c->stage) {
    case WAIT_MSG1: /* the proof first: no X25519 for a frame anyone could make */
        rc = tun_hello_check(c->hello, body, len);
        if (rc < 0)
            return fail_kept(c, rc);
        c->vouched = rc == TUN_HELLO_FRESH;
        rc = cxl_sec_hs_answer(&c->keys->self, lookup_peer, (void *)c->keys, body, CXL_SEC_MSG1_BYTES,
                               msg, &c->hs);
        if (rc != 0)
            return fail_kept(c, rc);
        c->stage = WAIT_MSG3;
        return put_frame(c, out, msg, CXL_SEC_MSG2_BYTES);
    case WAIT_MSG2:
        rc = cxl_sec_hs_finish(c->hs, body, len, msg, &c->chan);
        if (rc != 0)
            return fail_kept(c, rc);
        c->authenticated = 1;
        c->stage = WAIT_OPENING;
        if ((rc = put_frame(c, out, msg, CXL_SEC_MSG3_BYTES)) != 0)
            return rc;
        return send_opening(c, out);
    case WAIT_MSG3:
        rc = cxl_sec_hs_confirm(c->hs, body, len, &c->chan);
        if (rc != 0)
            return fail_kept(c, rc);
        c->authenticated = 1;
        c->stage = WAIT_OPENING;
        return send_opening(c, out);
    case WAIT_OPENING:
        return recv_opening(c, body, len);
    default:
        return fail(c, CXL_EPROTO, "unexpected handshake frame");
    }
}

/* One data frame into plain; 1 = no room yet (nothing consumed). */
static int data_frame(struct tun_crypt *c, const uint8_t *body, size_t len, struct cxl_buf *plain)
{
    if (len < TUN_SS_ABYTES)
        return fail(c, CXL_EPROTO, "a data frame shorter than its authentication tag");
    size_t mlen = len - TUN_SS_ABYTES;
    uint8_t *dst = cxl_buf_tail(plain, mlen ? mlen : 1);
    if (!dst)
        return 1;
    unsigned char tag;
    unsigned long long got;
    if (crypto_secretstream_xchacha20poly1305_pull(&c->rx, dst, &got, &tag, body, len, NULL, 0) != 0)
        return fail(c, CXL_ECRYPTO, "a data frame failed authentication (tampered, replayed, "
                    "reordered or dropped)");
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL &&
        tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
        sodium_memzero(dst, got);
        return fail(c, CXL_EPROTO, "a data frame with an unknown tag");
    }
    plain->end += got;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        c->stage = DONE;
    return 0;
}

int tun_crypt_input(struct tun_crypt *c, struct cxl_buf *in, struct cxl_buf *out, struct cxl_buf *plain)
{
    while (c->stage != FAILED) {
        size_t avail = cxl_buf_len(in);
        uint32_t flen;
        if (avail < 4)
            return 0;
        const uint8_t *hdr = in->data + in->start;
        if (cxl_sec_frame_len(hdr, &flen) != 0)
            return fail_kept(c, CXL_EPROTO);
        if (c->stage == WAIT_MSG1 && flen != TUN_HELLO_BYTES) /* refused before its body comes */
            return cxl_fail(CXL_EPROTO, "the first frame announces %u bytes, a tunnel client end's has %u",
                            flen, TUN_HELLO_BYTES), fail_kept(c, CXL_EPROTO);
        if (avail < 4 + (size_t)flen)
            return 0;
        int rc;
        if (c->stage == DATA) {
            rc = data_frame(c, hdr + 4, flen, plain);
            if (rc == 1)
                return 0;
        } else if (c->stage == DONE) {
            rc = fail(c, CXL_EPROTO, "a frame after the peer's final frame");
        } else {
            rc = handshake_step(c, hdr + 4, flen, out);
        }
        if (rc != 0)
            return rc;
        in->start += 4 + (size_t)flen;
    }
    return cxl_fail(CXL_EPROTO, "the connection's cryptography has failed before");
}

int tun_crypt_seal(struct tun_crypt *c, const uint8_t *data, size_t len, int final, struct cxl_buf *out)
{
    if (!c->can_send || c->final_sent || len > TUN_PLAIN_MAX)
        return cxl_fail(CXL_EPROTO, "cannot send now (stream not open, finished, or %zu bytes)", len);
    size_t blen = len + TUN_SS_ABYTES;
    uint8_t *p = cxl_buf_tail(out, 4 + blen);
    if (!p)
        return cxl_fail(CXL_EPROTO, "no room for a frame of %zu bytes", len);
    p[0] = (uint8_t)blen, p[1] = (uint8_t)(blen >> 8), p[2] = (uint8_t)(blen >> 16), p[3] = 0;
    unsigned char tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                              : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    crypto_secretstream_xchacha20poly1305_push(&c->tx, p + 4, NULL, data, len, NULL, 0, tag);
    out->end += 4 + blen;
    c->final_sent = final;
    return 0;
}

int tun_crypt_eof(struct tun_crypt *c, size_t pending)
{
    if (c->stage == DONE && pending == 0)
        return 0;
    if (c->stage == FAILED)
        return cxl_fail(CXL_EPROTO, "closed after a failure");
    if (pending)
        return cxl_fail(CXL_EPROTO, "closed in the middle of a frame (%zu bytes left)", pending);
    if (c->stage == DATA)
        return cxl_fail(CXL_EPROTO, "stream truncated: closed without its final frame");
    return cxl_fail(CXL_EPROTO, "closed during the handshake (a peer with other keys, or not a tunnel)");
}

int tun_crypt_authenticated(const struct tun_crypt *c) { return c->authenticated && c->stage != FAILED; }
int tun_crypt_vouched(const struct tun_crypt *c) { return c->vouched && c->stage != FAILED; }
int tun_crypt_can_send(const struct tun_crypt *c) { return c->can_send && !c->final_sent; }
int tun_crypt_established(const struct tun_crypt *c) { return c->stage == DATA || c->stage == DONE; }
int tun_crypt_finished(const struct tun_crypt *c) { return c->stage == DONE; }
int tun_crypt_final_sent(const struct tun_crypt *c) { return c->final_sent; }
