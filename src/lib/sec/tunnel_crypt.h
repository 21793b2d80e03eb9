/* sec/tunnel_crypt.h - the cryptography of one cxl_sodium_tunnel connection,
 * on buffers (docs/TUNNEL.md): the mutual X25519 handshake of
 * docs/SECURITY.md with a proof of the client end's key in its first frame
 * (tunnel_hello.c), then one crypto_secretstream_xchacha20poly1305 stream
 * per direction (tunnel_crypt.c). No I/O: the tunnel's relay moves the bytes. */
#ifndef CXL_SEC_TUNNEL_CRYPT_H
#define CXL_SEC_TUNNEL_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "sec/sec.h"

#define TUN_NODE_ID 1                 /* the client's node id in the handshake */
#define TUN_FRAME_MAX CXL_SEC_FRAME_MAX /* largest frame body: 64 KiB */
#define TUN_SS_ABYTES 17u             /* secretstream: tag byte + MAC */
#define TUN_PLAIN_MAX (TUN_FRAME_MAX - TUN_SS_ABYTES) /* data in one frame */
#define TUN_WIRE_MAX (4u + TUN_FRAME_MAX)             /* length prefix + body */
#define TUN_FRAME_OVERHEAD (4u + TUN_SS_ABYTES)

/* This end's key pair; self.manager_public holds the peer's public key
 * (the handshake's "other side", whichever role this end plays). */
struct tun_keys {
    struct cxl_node_key self;
};

/* ---- the first frame's proof (hello.c) ------------------------------------------------- */

/* The client end's first frame: message 1 || stamp (u64) || MAC (16 B), the
 * MAC keyed with what only the holders of the two static keys can compute. */
#define TUN_HELLO_BYTES (CXL_SEC_MSG1_BYTES + 8u + 16u)
enum { TUN_HELLO_FRESH = 1, TUN_HELLO_STALE = 2 };

struct tun_hello; /* one per end, shared by its connections */

int tun_hello_new(const struct tun_keys *k, struct tun_hello **out);
void tun_hello_free(struct tun_hello *h); /* wipes; NULL ok */

/* Client end: msg1 with a stamp later than every one before, and the MAC. */
void tun_hello_seal(struct tun_hello *h, const uint8_t msg1[CXL_SEC_MSG1_BYTES], uint8_t out[TUN_HELLO_BYTES]);

/* Server end: TUN_HELLO_FRESH (made with the peer's key, never seen, not
 * older than the newest by more than a minute), TUN_HELLO_STALE (made with
 * the key but old: an old recording, or a client whose clock went back; the
 * handshake may go on, the connection is not trusted before message 3), or
 * a failure: CXL_EPROTO (size), CXL_ECRYPTO (not made with the key),
 * CXL_EDENIED (a proof seen before: a replay). Remembers what it accepted. */
int tun_hello_check(struct tun_hello *h, const uint8_t *body, size_t len);

/* ---- one connection's cryptography (crypt.c) ------------------------------------------ */

struct tun_crypt;

/* initiator: the client end (node role), else the server end. keys and
 * hello (this end's, made from the same keys) must outlive the connection. */
int tun_crypt_new(const struct tun_keys *keys, struct tun_hello *hello, int initiator,
                  struct tun_crypt **out);
void tun_crypt_free(struct tun_crypt *c); /* wipes; NULL ok */

/* Initiator: the first frame (message 1 and its proof), appended to out. */
int tun_crypt_start(struct tun_crypt *c, struct cxl_buf *out);

/* Take every complete frame of in that can be handled now: handshake
 * replies and this end's stream opening go to out, data to plain. Stops,
 * returning 0, at an incomplete frame or when plain lacks room for the next
 * frame's data. A failure (CXL_EPROTO, CXL_ECRYPTO, CXL_EDENIED, with a
 * message) ends the connection's cryptography for good. */
int tun_crypt_input(struct tun_crypt *c, struct cxl_buf *in, struct cxl_buf *out,
                    struct cxl_buf *plain);

/* Seal len (<= TUN_PLAIN_MAX) bytes as one frame appended to out, which
 * must have room for len + TUN_FRAME_OVERHEAD; final: the stream's last
 * frame (TAG_FINAL; len may be 0). Only once tun_crypt_can_send. */
int tun_crypt_seal(struct tun_crypt *c, const uint8_t *data, size_t len, int final,
                   struct cxl_buf *out);

/* The peer closed its side; pending = bytes left over in the input buffer.
 * 0 after the peer's final frame, else a failure saying what the close means
 * at this stage (during the handshake, truncated stream ...). */
int tun_crypt_eof(struct tun_crypt *c, size_t pending);

int tun_crypt_authenticated(const struct tun_crypt *c); /* the peer proved its key */
int tun_crypt_vouched(const struct tun_crypt *c);       /* server: its first frame was fresh and proven */
int tun_crypt_can_send(const struct tun_crypt *c);      /* our stream is open */
int tun_crypt_established(const struct tun_crypt *c);   /* both streams are open */
int tun_crypt_finished(const struct tun_crypt *c);      /* the peer's final frame came */
int tun_crypt_final_sent(const struct tun_crypt *c);

#endif
