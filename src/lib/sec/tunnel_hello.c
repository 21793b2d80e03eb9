/* hello.c - the proof in the client end's first frame (docs/TUNNEL.md,
 * "Handshake slots"). Message 1 of the cxl_sec handshake can be made by
 * anyone; the tunnel's first frame adds a stamp and a MAC keyed with what
 * only the two static key holders can compute, so the server end can tell,
 * before any X25519 of its own and before answering, that a new connection
 * comes from the client end's key. Owns: that MAC key, the client's stamps
 * (strictly increasing) and the server's memory of the proofs it has seen
 * (a replayed one is refused; an old one is allowed but not trusted).
 *
 *   first frame = message 1 (39 B) || stamp (u64 LE, microseconds) || MAC (16 B)
 *   MAC = BLAKE2b-128(key = K_hello, message 1 || stamp)
 *   K_hello = BLAKE2b-256(key = X25519(own secret, peer public), "cxl-dsm tunnel hello v1") */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cxl/error.h"
#include "sec/seal.h"
#include "cxl/wait.h"
#include "sec/tunnel_crypt.h"

#define STAMP_BYTES 8u
#define MAC_BYTES 16u
#define SEEN_SLOTS 4096u                      /* proofs remembered */
#define FRESH_US (60ull * 1000000u)           /* how far behind the newest a stamp is still fresh */

_Static_assert(TUN_HELLO_BYTES == CXL_SEC_MSG1_BYTES + STAMP_BYTES + MAC_BYTES, "first frame layout");

struct seen {
    uint64_t tag;   /* the MAC's first 8 bytes: which proof */
    uint64_t stamp;
};

struct tun_hello {
    uint8_t key[32];
    uint64_t last_sent;      /* client end: the last stamp sent */
    uint64_t newest, floor;  /* server end: the newest fresh stamp; every forgotten one is <= floor */
    uint32_t next;
    struct seen seen[SEEN_SLOTS];
};

static const char LABEL[] = "cxl-dsm tunnel hello v1";

int tun_hello_new(const struct tun_keys *k, struct tun_hello **out)
{
    uint8_t ss[32];
    if (cxl_crypto_init() != 0)
        return CXL_ECRYPTO;
    struct tun_hello *h = calloc(1, sizeof *h);
    if (!h)
        return cxl_fail(CXL_ESYS, "out of memory");
    if (crypto_scalarmult(ss, k->self.secret, k->self.manager_public) != 0) {
        free(h);
        return cxl_fail(CXL_ECRYPTO, "the peer's public key is a low-order point");
    }
    crypto_generichash(h->key, sizeof h->key, (const uint8_t *)LABEL, sizeof LABEL - 1, ss, sizeof ss);
    sodium_memzero(ss, sizeof ss);
    /* until the first fresh proof, our own clock stands for the newest: a
     * recording from before this start is not trusted (a client whose clock
     * is behind ours is served, only not protected, until it catches up) */
    h->newest = (cxl_wall_ns() / 1000u);
    *out = h;
    return 0;
}

void tun_hello_free(struct tun_hello *h)
{
    if (!h)
        return;
    sodium_memzero(h->key, sizeof h->key);
    free(h);
}

static void mac(const struct tun_hello *h, const uint8_t *msg1_stamp, uint8_t out[MAC_BYTES])
{
    crypto_generichash(out, MAC_BYTES, msg1_stamp, CXL_SEC_MSG1_BYTES + STAMP_BYTES, h->key, sizeof h->key);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void tun_hello_seal(struct tun_hello *h, const uint8_t msg1[CXL_SEC_MSG1_BYTES], uint8_t out[TUN_HELLO_BYTES])
{
    uint64_t now = (cxl_wall_ns() / 1000u);
    uint64_t stamp = now > h->last_sent ? now : h->last_sent + 1;
    h->last_sent = stamp;
    memcpy(out, msg1, CXL_SEC_MSG1_BYTES);
    for (unsigned i = 0; i < STAMP_BYTES; i++)
        out[CXL_SEC_MSG1_BYTES + i] = (uint8_t)(stamp >> (8 * i));
    mac(h, out, out + CXL_SEC_MSG1_BYTES + STAMP_BYTES);
}

static int seen_before(const struct tun_hello *h, uint64_t tag)
{
    for (uint32_t i = 0; i < SEEN_SLOTS; i++)
        if (h->seen[i].stamp && h->seen[i].tag == tag) /* (stamp 0: an empty slot) */
            return 1;
    return 0;
}

/* Remember a proof; the one it replaces is forgotten, so the floor rises to it. */
static void remember(struct tun_hello *h, uint64_t tag, uint64_t stamp)
{
    struct seen *s = &h->seen[h->next];
    if (s->stamp > h->floor)
        h->floor = s->stamp;
    *s = (struct seen){tag, stamp};
    h->next = (h->next + 1) % SEEN_SLOTS;
}

int tun_hello_check(struct tun_hello *h, const uint8_t *body, size_t len)
{
    uint8_t expect[MAC_BYTES];
    if (len != TUN_HELLO_BYTES)
        return cxl_fail(CXL_EPROTO, "the first frame has %zu bytes, a tunnel client end's has %u", len,
                        TUN_HELLO_BYTES);
    mac(h, body, expect);
    if (crypto_verify_16(expect, body + CXL_SEC_MSG1_BYTES + STAMP_BYTES) != 0)
        return cxl_fail(CXL_ECRYPTO, "the first frame does not prove the client end's key (not a "
                        "tunnel client end, or one with another key)");
    uint64_t tag = get64(expect), stamp = get64(body + CXL_SEC_MSG1_BYTES);
    if (seen_before(h, tag))
        return cxl_fail(CXL_EDENIED, "the first frame is a replay of one seen before");
    int fresh = stamp > h->floor && (h->newest <= FRESH_US || stamp > h->newest - FRESH_US);
    if (fresh && stamp > h->newest)
        h->newest = stamp;
    remember(h, tag, stamp);
    return fresh ? TUN_HELLO_FRESH : TUN_HELLO_STALE;
}
