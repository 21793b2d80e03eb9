/* sec_channel.c - the node <-> manager channel (docs/SECURITY.md, "The
 * handshake"): frames on a socket with a deadline on every read and write,
 * both halves of the handshake (on buffers, and blocking on a socket), and
 * the encrypted frames that follow: XChaCha20-Poly1305-IETF, one key and one
 * 64-bit frame counter (the nonce) per direction. The first failure closes a
 * channel for good. Every key, ephemeral secret and shared secret is wiped
 * when it is no longer needed, on every path. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "sec/seal.h"
#include "sec/sec.h"
#include "cxl/wait.h"
#include "sec/sec_wire.h"

/* The constants of the handshake: written here once. */
static const uint8_t HS_MAGIC[4] = {'C', 'X', 'L', 'S'};
#define HS_VERSION 1
static const char HS_CONTEXT[] = "cxl-dsm handshake v1";
static const char HS_CONFIRM_MANAGER[] = "manager";
static const char HS_CONFIRM_NODE[] = "node";
static const char HS_KEY_N2M[] = "n2m";
static const char HS_KEY_M2N[] = "m2n";

enum hs_stage { HS_NODE_SENT1, HS_MGR_SENT2, HS_DONE };

struct cxl_sec_hs {
    enum hs_stage stage;
    int known;                 /* manager: the node id is configured */
    uint16_t node_id;
    uint8_t self_secret[32];   /* own static secret */
    uint8_t peer_public[32];   /* the other side's static key (a decoy if unknown) */
    uint8_t e_secret[32], e_public[32]; /* own ephemeral */
    uint8_t msg1[CXL_SEC_MSG1_BYTES];
    uint8_t transcript[32];    /* T */
    uint8_t k[64];             /* K */
};

struct cxl_sec_chan {
    int fd;
    int closed;
    int node_side;             /* this end is the node (peer = the manager) */
    uint16_t peer;             /* the node id */
    uint32_t timeout_ms;
    uint64_t tx_count, rx_count;
    uint8_t tx_key[32], rx_key[32];
};

/* ---- deadlines and full reads/writes on a socket ------------------------------- */

static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = cxl_now_ms();
        if (now >= deadline)
            return cxl_fail(CXL_ETIMEDOUT, "the peer did not answer in time");
        struct pollfd p = {.fd = fd, .events = events};
        uint64_t left = deadline - now;
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno != EINTR)
            return cxl_fail_errno(CXL_ESYS, "poll");
        if (n > 0)
            return 0; /* ready, or an error the next call reports */
    }
}

/* Descriptors that came with one recvmsg (SCM_RIGHTS): the first into
 * *fd, any other closed and counted in *extra. */
static void take_fds(struct msghdr *mh, int *fd, int *extra)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int v;
            memcpy(&v, CMSG_DATA(cm) + i * sizeof v, sizeof v);
            if (*fd < 0)
                *fd = v;
            else
                close(v), (*extra)++;
        }
    }
    if (mh->msg_flags & MSG_CTRUNC)
        (*extra)++;
}

/* One recv, or with fd (not NULL) one recvmsg that keeps its descriptors. */
static ssize_t recv_some(int s, uint8_t *p, size_t len, int *fd, int *extra)
{
    if (!fd)
        return recv(s, p, len, MSG_DONTWAIT);
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = p, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n >= 0)
        take_fds(&mh, fd, extra);
    return n;
}

static int read_full_fd(int fd, uint8_t *p, size_t len, uint64_t deadline, int mid_frame,
                        int *got_fd, int *extra)
{
    while (len) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc)
            return rc;
        ssize_t n = recv_some(fd, p, len, got_fd, extra);
        if (n > 0) {
            p += n, len -= (size_t)n, mid_frame = 1;
        } else if (n == 0) {
            return cxl_fail(CXL_EPROTO, mid_frame ? "the peer closed the connection in the "
                            "middle of a frame (truncated)" : "the peer closed the connection");
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return errno == ECONNRESET ? cxl_fail(CXL_EPROTO, "the peer reset the connection")
                                       : cxl_fail_errno(CXL_ESYS, "recv");
        }
    }
    return 0;
}

static int write_full(int fd, const uint8_t *p, size_t len, uint64_t deadline)
{
    while (len) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc)
            return rc;
        ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            p += n, len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return errno == EPIPE || errno == ECONNRESET
                       ? cxl_fail(CXL_EPROTO, "the peer closed the connection")
                       : cxl_fail_errno(CXL_ESYS, "send");
        }
    }
    return 0;
}

/* ---- plain frames ------------------------------------------------------------------ */

int cxl_sec_frame_len(const uint8_t hdr[4], uint32_t *len)
{
    uint32_t n = sec_get32(hdr);
    if (n == 0 || n > CXL_SEC_FRAME_MAX)
        return cxl_fail(CXL_EPROTO, "frame length %u: must be 1..%u", n, CXL_SEC_FRAME_MAX);
    *len = n;
    return 0;
}

/* Header of a frame, then its body into a buffer of its own size (malloc'd
 * when body is NULL), all before deadline. */
static int frame_read_fd(int fd, uint8_t *body, size_t cap, size_t *len, uint64_t deadline,
                         int *got_fd, int *extra)
{
    uint8_t hdr[4];
    uint32_t n;
    int rc = read_full_fd(fd, hdr, 4, deadline, 0, got_fd, extra);
    if (rc == 0)
        rc = cxl_sec_frame_len(hdr, &n);
    if (rc == 0 && n > cap)
        rc = cxl_fail(CXL_EPROTO, "frame of %u bytes, at most %zu expected here", n, cap);
    if (rc == 0)
        rc = read_full_fd(fd, body, n, deadline, 1, got_fd, extra);
    if (rc == 0)
        *len = n;
    return rc;
}

static int frame_read(int fd, uint8_t *body, size_t cap, size_t *len, uint64_t deadline)
{
    return frame_read_fd(fd, body, cap, len, deadline, NULL, NULL);
}

int cxl_sec_frame_read(int fd, uint8_t *body, size_t cap, size_t *len, uint32_t timeout_ms)
{
    return frame_read(fd, body, cap, len, cxl_now_ms() + timeout_ms);
}

static int frame_write(int fd, const uint8_t *body, size_t len, uint64_t deadline)
{
    if (len == 0 || len > CXL_SEC_FRAME_MAX)
        return cxl_fail(CXL_EINVAL, "frame length %zu: must be 1..%u", len, CXL_SEC_FRAME_MAX);
    uint8_t hdr[4];
    sec_put32(hdr, (uint32_t)len);
    int rc = write_full(fd, hdr, 4, deadline);
    return rc ? rc : write_full(fd, body, len, deadline);
}

int cxl_sec_frame_write(int fd, const uint8_t *body, size_t len, uint32_t timeout_ms)
{
    return frame_write(fd, body, len, cxl_now_ms() + timeout_ms);
}

/* ---- the handshake's cryptography ----------------------------------------------------- */

void cxl_sec_hs_free(struct cxl_sec_hs *hs)
{
    if (!hs)
        return;
    sodium_memzero(hs, sizeof *hs);
    free(hs);
}

static int hs_new(struct cxl_sec_hs **out)
{
    int rc = cxl_crypto_init();
    if (rc)
        return rc;
    if ((*out = calloc(1, sizeof **out)) != NULL)
        return 0;
    cxl_fail(CXL_ESYS, "out of memory");
    return CXL_ESYS;
}

static int hs_ephemeral(struct cxl_sec_hs *hs)
{
    randombytes_buf(hs->e_secret, 32);
    if (crypto_scalarmult_base(hs->e_public, hs->e_secret) != 0)
        return cxl_fail(CXL_ECRYPTO, "X25519 key generation failed");
    return 0;
}

/* T = BLAKE2b-256(message 1 || e_m);
 * K = BLAKE2b-512(key = BLAKE2b-512(dh1 || dh2 || dh3), "cxl-dsm handshake v1" || T)
 * (BLAKE2b keys are at most 64 bytes: the 96 bytes of shared secrets are
 * compressed first). */
static void hs_derive(struct cxl_sec_hs *hs, const uint8_t dh[96], const uint8_t e_m[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, hs->msg1, sizeof hs->msg1);
    crypto_generichash_update(&st, e_m, 32);
    crypto_generichash_final(&st, hs->transcript, 32);

    uint8_t prk[64];
    crypto_generichash(prk, sizeof prk, dh, 96, NULL, 0);
    crypto_generichash_init(&st, prk, sizeof prk, sizeof hs->k);
    crypto_generichash_update(&st, (const uint8_t *)HS_CONTEXT, sizeof HS_CONTEXT - 1);
    crypto_generichash_update(&st, hs->transcript, sizeof hs->transcript);
    crypto_generichash_final(&st, hs->k, sizeof hs->k);
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(&st, sizeof st);
}

/* BLAKE2b-256(key = key, label || extra) */
static void keyed_label(uint8_t out[32], const uint8_t key[32], const char *label,
                        const uint8_t *extra, size_t extra_len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    if (extra_len)
        crypto_generichash_update(&st, extra, extra_len);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
}

static void hs_confirm_value(const struct cxl_sec_hs *hs, const char *who, uint8_t out[32])
{
    keyed_label(out, hs->k, who, hs->transcript, sizeof hs->transcript);
}

/* A handshake is driven once: done or failed, its secrets go. */
static void hs_finished(struct cxl_sec_hs *hs)
{
    hs->stage = HS_DONE;
    sodium_memzero(hs->k, sizeof hs->k);
    sodium_memzero(hs->e_secret, sizeof hs->e_secret);
    sodium_memzero(hs->self_secret, sizeof hs->self_secret);
}

static int hs_make_chan(struct cxl_sec_hs *hs, int node_side, struct cxl_sec_chan **out)
{
    struct cxl_sec_chan *c = calloc(1, sizeof *c);
    if (!c) {
        hs_finished(hs);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    c->fd = -1;
    c->node_side = node_side;
    c->peer = hs->node_id;
    c->timeout_ms = 5000;
    keyed_label(node_side ? c->tx_key : c->rx_key, hs->k + 32, HS_KEY_N2M, NULL, 0);
    keyed_label(node_side ? c->rx_key : c->tx_key, hs->k + 32, HS_KEY_M2N, NULL, 0);
    hs_finished(hs);
    *out = c;
    return 0;
}

/* dh1 || dh2 || dh3 in the spec's order, from three scalar multiplications. */
static int hs_dh(uint8_t dh[96], const uint8_t *s1, const uint8_t *p1, const uint8_t *s2,
                 const uint8_t *p2, const uint8_t *s3, const uint8_t *p3)
{
    if (crypto_scalarmult(dh, s1, p1) != 0 || crypto_scalarmult(dh + 32, s2, p2) != 0 ||
        crypto_scalarmult(dh + 64, s3, p3) != 0) {
        sodium_memzero(dh, 96);
        return cxl_fail(CXL_ECRYPTO, "handshake: a degenerate (low-order) public key");
    }
    return 0;
}

/* ---- node side ------------------------------------------------------------------------- */

int cxl_sec_hs_start(const struct cxl_node_key *k, uint16_t node_id,
                     uint8_t msg1[CXL_SEC_MSG1_BYTES], struct cxl_sec_hs **out)
{
    if (!k->has_manager_public)
        return cxl_fail(CXL_EINVAL, "the node key has no manager-public line (keygen --config "
                        "fills it in)");
    struct cxl_sec_hs *hs;
    int rc = hs_new(&hs);
    if (rc)
        return rc;
    if ((rc = hs_ephemeral(hs)) != 0) {
        cxl_sec_hs_free(hs);
        return rc;
    }
    hs->stage = HS_NODE_SENT1;
    hs->node_id = node_id;
    memcpy(hs->self_secret, k->secret, 32);
    memcpy(hs->peer_public, k->manager_public, 32);
    memcpy(hs->msg1, HS_MAGIC, 4);
    hs->msg1[4] = HS_VERSION;
    sec_put16(hs->msg1 + 5, node_id);
    memcpy(hs->msg1 + 7, hs->e_public, 32);
    memcpy(msg1, hs->msg1, sizeof hs->msg1);
    *out = hs;
    return 0;
}

int cxl_sec_hs_finish(struct cxl_sec_hs *hs, const uint8_t *msg2, size_t len,
                      uint8_t msg3[CXL_SEC_MSG3_BYTES], struct cxl_sec_chan **chan)
{
    if (hs->stage != HS_NODE_SENT1)
        return cxl_fail(CXL_EINVAL, "handshake: not waiting for message 2");
    if (len != CXL_SEC_MSG2_BYTES) {
        hs_finished(hs);
        return cxl_fail(CXL_EPROTO, "handshake: message 2 has %zu bytes, expected %u", len,
                        CXL_SEC_MSG2_BYTES);
    }
    const uint8_t *e_m = msg2;
    uint8_t dh[96], expect[32];
    /* dh1 = X25519(e_n, e_m), dh2 = X25519(e_n, S_m), dh3 = X25519(S_n, e_m) */
    int rc = hs_dh(dh, hs->e_secret, e_m, hs->e_secret, hs->peer_public, hs->self_secret, e_m);
    if (rc == 0) {
        hs_derive(hs, dh, e_m);
        hs_confirm_value(hs, HS_CONFIRM_MANAGER, expect);
        if (crypto_verify_32(expect, msg2 + 32) != 0)
            rc = cxl_fail(CXL_ECRYPTO, "handshake: the manager's confirmation did not verify "
                          "(a wrong manager key, or node %u is not configured with this key)",
                          hs->node_id);
    }
    if (rc == 0) {
        hs_confirm_value(hs, HS_CONFIRM_NODE, msg3);
        rc = hs_make_chan(hs, 1, chan);
    } else {
        hs_finished(hs);
    }
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(expect, sizeof expect);
    return rc;
}

/* ---- manager side ------------------------------------------------------------------------ */

static int parse_msg1(const uint8_t *msg1, size_t len)
{
    if (len != CXL_SEC_MSG1_BYTES)
        return cxl_fail(CXL_EPROTO, "handshake: message 1 has %zu bytes, expected %u", len,
                        CXL_SEC_MSG1_BYTES);
    if (memcmp(msg1, HS_MAGIC, 4) != 0)
        return cxl_fail(CXL_EPROTO, "handshake: message 1 is not a cxl-dsm handshake (magic)");
    if (msg1[4] != HS_VERSION)
        return cxl_fail(CXL_EPROTO, "handshake: version %u, this manager speaks %u", msg1[4],
                        HS_VERSION);
    return 0;
}

/* The node's static public key, or a decoy that makes the handshake fail
 * exactly like a wrong key would. The decoy is made either way, so an
 * unknown id costs the same time as a known one. */
static void hs_peer_key(struct cxl_sec_hs *hs, cxl_sec_lookup_fn lookup, void *ctx)
{
    uint8_t decoy_secret[32], decoy[32], pub[32];
    randombytes_buf(decoy_secret, sizeof decoy_secret);
    crypto_scalarmult_base(decoy, decoy_secret);
    hs->known = lookup(ctx, hs->node_id, pub) == 0;
    memcpy(hs->peer_public, hs->known ? pub : decoy, 32);
    sodium_memzero(decoy_secret, sizeof decoy_secret);
}

int cxl_sec_hs_answer(const struct cxl_node_key *mgr, cxl_sec_lookup_fn lookup, void *ctx,
                      const uint8_t *msg1, size_t len, uint8_t msg2[CXL_SEC_MSG2_BYTES],
                      struct cxl_sec_hs **out)
{
    struct cxl_sec_hs *hs;
    int rc = parse_msg1(msg1, len);
    if (rc || (rc = hs_new(&hs)) != 0)
        return rc;
    memcpy(hs->msg1, msg1, sizeof hs->msg1);
    hs->node_id = sec_get16(msg1 + 5);
    hs->stage = HS_MGR_SENT2;
    memcpy(hs->self_secret, mgr->secret, 32);
    hs_peer_key(hs, lookup, ctx);
    const uint8_t *e_n = hs->msg1 + 7;
    uint8_t dh[96];
    rc = hs_ephemeral(hs);
    /* dh1 = X25519(e_m, e_n), dh2 = X25519(S_m, e_n), dh3 = X25519(e_m, S_n) */
    if (rc == 0)
        rc = hs_dh(dh, hs->e_secret, e_n, hs->self_secret, e_n, hs->e_secret, hs->peer_public);
    if (rc == 0) {
        hs_derive(hs, dh, hs->e_public);
        memcpy(msg2, hs->e_public, 32);
        hs_confirm_value(hs, HS_CONFIRM_MANAGER, msg2 + 32);
        sodium_memzero(hs->e_secret, sizeof hs->e_secret);
        sodium_memzero(hs->self_secret, sizeof hs->self_secret);
    }
    sodium_memzero(dh, sizeof dh);
    if (rc) {
        cxl_sec_hs_free(hs);
        return rc;
    }
    *out = hs;
    return 0;
}

int cxl_sec_hs_confirm(struct cxl_sec_hs *hs, const uint8_t *msg3, size_t len,
                       struct cxl_sec_chan **chan)
{
    if (hs->stage != HS_MGR_SENT2)
        return cxl_fail(CXL_EINVAL, "handshake: not waiting for message 3");
    if (len != CXL_SEC_MSG3_BYTES) {
        hs_finished(hs);
        return cxl_fail(CXL_EPROTO, "handshake: message 3 has %zu bytes, expected %u", len,
                        CXL_SEC_MSG3_BYTES);
    }
    uint8_t expect[32];
    hs_confirm_value(hs, HS_CONFIRM_NODE, expect);
    int ok = crypto_verify_32(expect, msg3) == 0;
    sodium_memzero(expect, sizeof expect);
    if (hs->known && ok)
        return hs_make_chan(hs, 0, chan);
    hs_finished(hs);
    if (!hs->known)
        return cxl_fail(CXL_EDENIED, "handshake: node %u is not configured", hs->node_id);
    return cxl_fail(CXL_ECRYPTO, "handshake: node %u did not prove it holds its key",
                    hs->node_id);
}

uint16_t cxl_sec_hs_node(const struct cxl_sec_hs *hs) { return hs->node_id; }
int cxl_sec_hs_known(const struct cxl_sec_hs *hs) { return hs->known; }

/* ---- the handshake on a socket ----------------------------------------------------------- */

static void chan_attach(struct cxl_sec_chan *c, int fd, uint32_t timeout_ms)
{
    c->fd = fd;
    c->timeout_ms = timeout_ms;
}

int cxl_sec_accept(int fd, const struct cxl_node_key *mgr, cxl_sec_lookup_fn lookup, void *ctx,
                   uint32_t timeout_ms, struct cxl_sec_chan **out, uint16_t *node_id)
{
    uint8_t m1[CXL_SEC_MSG1_BYTES], m2[CXL_SEC_MSG2_BYTES], m3[CXL_SEC_MSG3_BYTES];
    size_t n;
    struct cxl_sec_hs *hs = NULL;
    if (node_id)
        *node_id = 0;
    uint64_t deadline = cxl_now_ms() + timeout_ms; /* the whole handshake */
    int rc = frame_read(fd, m1, sizeof m1, &n, deadline);
    if (rc == 0)
        rc = cxl_sec_hs_answer(mgr, lookup, ctx, m1, n, m2, &hs);
    if (rc == 0 && node_id)
        *node_id = cxl_sec_hs_node(hs);
    if (rc == 0)
        rc = frame_write(fd, m2, sizeof m2, deadline);
    if (rc == 0)
        rc = frame_read(fd, m3, sizeof m3, &n, deadline);
    if (rc == 0)
        rc = cxl_sec_hs_confirm(hs, m3, n, out);
    else if (hs && !cxl_sec_hs_known(hs)) /* the same refusal, whatever the node did */
        rc = cxl_fail(CXL_EDENIED, "handshake: node %u is not configured", hs->node_id);
    if (rc == 0)
        chan_attach(*out, fd, timeout_ms);
    cxl_sec_hs_free(hs);
    return rc;
}

int cxl_sec_initiate(int fd, uint16_t node_id, const struct cxl_node_key *k,
                     uint32_t timeout_ms, struct cxl_sec_chan **out)
{
    uint8_t m1[CXL_SEC_MSG1_BYTES], m2[CXL_SEC_MSG2_BYTES], m3[CXL_SEC_MSG3_BYTES];
    size_t n;
    struct cxl_sec_hs *hs = NULL;
    struct cxl_sec_chan *c = NULL;
    uint64_t deadline = cxl_now_ms() + timeout_ms; /* the whole handshake */
    int rc = cxl_sec_hs_start(k, node_id, m1, &hs);
    if (rc == 0)
        rc = frame_write(fd, m1, sizeof m1, deadline);
    if (rc == 0)
        rc = frame_read(fd, m2, sizeof m2, &n, deadline);
    if (rc == 0)
        rc = cxl_sec_hs_finish(hs, m2, n, m3, &c);
    if (rc == 0)
        rc = frame_write(fd, m3, sizeof m3, deadline);
    cxl_sec_hs_free(hs);
    if (rc) {
        cxl_sec_chan_free(c);
        return rc;
    }
    chan_attach(c, fd, timeout_ms);
    *out = c;
    return 0;
}

/* ---- encrypted frames --------------------------------------------------------------------- */

static const char *peer_name(const struct cxl_sec_chan *c, char *buf, size_t cap)
{
    if (c->node_side)
        return "the manager";
    snprintf(buf, cap, "node %u", c->peer);
    return buf;
}

/* The first failure closes the channel: keys wiped, socket closed. */
static int chan_break(struct cxl_sec_chan *c, int rc)
{
    c->closed = 1;
    sodium_memzero(c->tx_key, sizeof c->tx_key);
    sodium_memzero(c->rx_key, sizeof c->rx_key);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}

static int chan_usable(const struct cxl_sec_chan *c)
{
    return c->closed ? cxl_fail(CXL_EPROTO, "the channel is closed (an earlier failure)") : 0;
}

static void counter_nonce(uint8_t nonce[24], uint64_t n)
{
    memset(nonce, 0, 24);
    sec_put64(nonce, n);
}

int cxl_sec_chan_seal(struct cxl_sec_chan *c, const void *msg, size_t len, uint8_t *frame,
                      size_t cap, size_t *frame_len)
{
    int rc = chan_usable(c);
    if (rc)
        return rc;
    if (len > CXL_SEC_MSG_MAX)
        return cxl_fail(CXL_E2BIG, "message of %zu bytes: at most %u fit in a frame", len,
                        CXL_SEC_MSG_MAX);
    size_t body = len + CXL_SEC_TAG_BYTES;
    if (cap < 4 + body)
        return cxl_fail(CXL_EINVAL, "frame buffer of %zu bytes, %zu needed", cap, 4 + body);
    if (c->tx_count == UINT64_MAX)
        return chan_break(c, cxl_fail(CXL_EPROTO, "frame counter exhausted"));
    uint8_t nonce[24];
    unsigned long long clen;
    counter_nonce(nonce, c->tx_count++);
    sec_put32(frame, (uint32_t)body);
    crypto_aead_xchacha20poly1305_ietf_encrypt(frame + 4, &clen, msg, len, NULL, 0, NULL, nonce,
                                               c->tx_key);
    *frame_len = 4 + (size_t)clen;
    return 0;
}

int cxl_sec_chan_open(struct cxl_sec_chan *c, const uint8_t *body, size_t body_len, void *msg,
                      size_t cap, size_t *msg_len)
{
    char who[32];
    int rc = chan_usable(c);
    if (rc)
        return rc;
    if (body_len < CXL_SEC_TAG_BYTES || body_len > CXL_SEC_FRAME_MAX)
        return chan_break(c, cxl_fail(CXL_EPROTO, "encrypted frame of %zu bytes from %s",
                                      body_len, peer_name(c, who, sizeof who)));
    if (body_len - CXL_SEC_TAG_BYTES > cap)
        return chan_break(c, cxl_fail(CXL_EPROTO, "message of %zu bytes from %s, at most %zu "
                                      "expected", body_len - CXL_SEC_TAG_BYTES,
                                      peer_name(c, who, sizeof who), cap));
    uint8_t nonce[24];
    unsigned long long mlen;
    counter_nonce(nonce, c->rx_count);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(msg, &mlen, NULL, body, body_len, NULL, 0,
                                                   nonce, c->rx_key) != 0)
        return chan_break(c, cxl_fail(CXL_ECRYPTO, "frame %llu from %s failed authentication "
                                      "(tampered, replayed or out of order); channel closed",
                                      (unsigned long long)c->rx_count,
                                      peer_name(c, who, sizeof who)));
    c->rx_count++;
    *msg_len = (size_t)mlen;
    return 0;
}

int cxl_sec_chan_send(struct cxl_sec_chan *c, const void *msg, size_t len)
{
    int rc = chan_usable(c);
    if (rc == 0 && c->fd < 0)
        rc = cxl_fail(CXL_EINVAL, "the channel has no socket");
    if (rc)
        return rc;
    size_t cap = 4 + len + CXL_SEC_TAG_BYTES, n;
    uint8_t *frame = malloc(cap);
    if (!frame)
        return cxl_fail(CXL_ESYS, "out of memory");
    rc = cxl_sec_chan_seal(c, msg, len, frame, cap, &n);
    if (rc == 0 && (rc = write_full(c->fd, frame, n, cxl_now_ms() + c->timeout_ms)) != 0)
        chan_break(c, rc);
    free(frame);
    return rc;
}

int cxl_sec_chan_recv_fd(struct cxl_sec_chan *c, void *msg, size_t cap, size_t *len, int *fd)
{
    int rc = chan_usable(c), extra = 0;
    if (fd)
        *fd = -1;
    if (rc == 0 && c->fd < 0)
        rc = cxl_fail(CXL_EINVAL, "the channel has no socket");
    if (rc)
        return rc;
    size_t want = cap + CXL_SEC_TAG_BYTES, n;
    if (want > CXL_SEC_FRAME_MAX)
        want = CXL_SEC_FRAME_MAX;
    uint8_t *body = malloc(want);
    if (!body)
        return cxl_fail(CXL_ESYS, "out of memory");
    rc = frame_read_fd(c->fd, body, want, &n, cxl_now_ms() + c->timeout_ms, fd, &extra);
    if (rc == 0 && extra)
        rc = cxl_fail(CXL_EPROTO, "more than one descriptor came with a frame");
    if (rc)
        chan_break(c, rc);
    else
        rc = cxl_sec_chan_open(c, body, n, msg, cap, len);
    free(body);
    if (rc && fd && *fd >= 0)
        close(*fd), *fd = -1;
    return rc;
}

int cxl_sec_chan_recv(struct cxl_sec_chan *c, void *msg, size_t cap, size_t *len)
{
    return cxl_sec_chan_recv_fd(c, msg, cap, len, NULL);
}

void cxl_sec_chan_set_timeout(struct cxl_sec_chan *c, uint32_t timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

uint16_t cxl_sec_chan_peer(const struct cxl_sec_chan *c) { return c->peer; }

void cxl_sec_chan_free(struct cxl_sec_chan *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    sodium_memzero(c, sizeof *c);
    free(c);
}
