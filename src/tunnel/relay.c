/* relay.c - cxl_sodium_tunnel's event loop: one thread, epoll
 * (level-triggered, base/loop.h). A pair joins a plain connection (the local
 * client on the client end, the backend on the server end) and its
 * encrypted one ("wire").
 *
 *   plain --read--> seal --> wire_out --write--> wire
 *   wire --read--> wire_in --open--> plain_out --write--> plain
 *
 * Buffers have fixed sizes: when one fills, the side feeding it is no longer
 * read (its epoll interest drops) and TCP flow control pushes back on the
 * sender; other pairs are unaffected. Writes are tried as soon as there is
 * something to write (no wait for an epoll round), EPOLLOUT only when the
 * kernel's buffer is full. A fd with no interest is not registered at all,
 * so a hung-up socket we no longer read does not wake the loop. Events carry
 * the pair's slot and generation: an event for a pair closed earlier in the
 * same batch is dropped.
 *
 * Handshake slots (server end, docs/TUNNEL.md "Handshake slots"): a
 * connection whose first frame has not (yet) proven the client end's key
 * waits in a queue, oldest first; at --max-handshakes such connections, or
 * at --max-conns, the oldest of them makes room for the new one. A
 * connection whose first frame was a fresh proof leaves the queue: nothing
 * that lacks the key can push it out before its deadline.
 *
 * Log lines anyone can cause (connections still in their handshake, every
 * connection of the client end, refusals) go through a rate limit, with a
 * count of the suppressed ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "base/loop.h"
#include "base/ratelimit.h"
#include "cxl/wait.h"
#include "tunnel.h"

#define WIRE_IN_CAP (2u * TUN_WIRE_MAX)
#define WIRE_OUT_CAP (2u * TUN_WIRE_MAX)
#define PLAIN_OUT_CAP (2u * TUN_PLAIN_MAX)
/* The server end gives a peer that has not authenticated only this much:
 * enough for the handshake's frames, not for data. */
#define HANDSHAKE_CAP 4096u
#define MIN_SEAL 4096u /* read the plain side only when this much fits in a frame */
#define SLOT_LISTEN 0xffffffu
#define NONE UINT32_MAX
#define NOISE_PER_SEC 10u /* log lines a second about unauthenticated connections, */
#define NOISE_BURST 20u   /* in bursts of at most this many */
#define NOISE_REPORT_MS 1000u
#define EVENTS_PER_WAKE 128
#define WAIT_MS 200 /* at most, between sweeps of the deadlines */

enum side { PLAIN = 0, WIRE = 1 };

struct pair {
    int fd[2];         /* PLAIN, WIRE; -1 if none (yet) */
    int connecting[2]; /* a non-blocking connect in progress */
    uint32_t mask[2];  /* registered epoll interest, 0 = not registered */
    int eof[2];        /* read 0 bytes from it */
    int shut[2];       /* we shut down our write side */
    struct cxl_buf wire_in, wire_out, plain_out;
    struct tun_crypt *crypt;
    uint64_t deadline_ms; /* handshake (and backend connect) deadline, 0 = met */
    uint32_t gen;
    int used;
    int queued;              /* in the queue of unvouched handshakes (server) */
    uint32_t q_prev, q_next; /* its neighbours there, older and newer */
    char peer[64];
};

struct relay {
    const struct tun_opts *o;
    const struct tun_keys *k;
    struct cxl_loop loop;
    int listen_fd;
    uint32_t listen_mask; /* the listener's interest (0: resting) */
    struct pair *pairs;
    uint32_t npairs, active, next_free;
    uint32_t q_head, q_tail, queued; /* unvouched handshakes, oldest first (server) */
    uint64_t accept_paused_until;   /* out of descriptors: the listener rests until then */
    uint64_t last_sweep, last_fd_warning;
    uint64_t opened, failed, dropped;
    struct tun_hello *hello;
    struct cxl_ratelimit noise;
    uint8_t seal_buf[TUN_PLAIN_MAX];
};

static const char *mode_name(const struct relay *r) { return r->o->mode == TUN_CLIENT ? "client" : "server"; }

static uint64_t event_id(uint32_t slot, uint32_t gen, enum side s)
{
    return (uint64_t)gen << 32 | (uint64_t)slot << 1 | (uint64_t)s;
}

/* Register, change or drop a fd's interest. */
static void set_interest(struct relay *r, struct pair *p, enum side s, uint32_t want)
{
    if (p->fd[s] >= 0)
        cxl_loop_watch(&r->loop, p->fd[s], &p->mask[s], want, event_id((uint32_t)(p - r->pairs), p->gen, s));
}

static void watch_listener(struct relay *r, uint32_t want)
{
    cxl_loop_watch(&r->loop, r->listen_fd, &r->listen_mask, want, (uint64_t)SLOT_LISTEN << 1);
}

/* A line about a connection anyone can open (or about the listener): at
 * most NOISE_PER_SEC a second, the rest counted. */
__attribute__((format(printf, 2, 3))) static void noise(struct relay *r, const char *fmt, ...)
{
    if (!cxl_ratelimit_allow(&r->noise, cxl_now_ms()))
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* How many noise lines were held back (at most once a second; always at the end). */
static void noise_report(struct relay *r, int final)
{
    uint64_t n = cxl_ratelimit_report(&r->noise, cxl_now_ms(), final ? 0 : NOISE_REPORT_MS);
    if (n)
        fprintf(stderr, "cxl_sodium_tunnel %s: %llu similar messages suppressed (about connections anyone "
                "can open: at most %u a second are written)\n", mode_name(r), (unsigned long long)n,
                NOISE_PER_SEC);
}

/* ---- the queue of unvouched handshakes (server end) ---------------------------------- */

static void queue_push(struct relay *r, struct pair *p)
{
    uint32_t i = (uint32_t)(p - r->pairs);
    p->queued = 1;
    p->q_prev = r->q_tail;
    p->q_next = NONE;
    if (r->q_tail != NONE)
        r->pairs[r->q_tail].q_next = i;
    else
        r->q_head = i;
    r->q_tail = i;
    r->queued++;
}

static void queue_drop(struct relay *r, struct pair *p)
{
    if (!p->queued)
        return;
    if (p->q_prev != NONE)
        r->pairs[p->q_prev].q_next = p->q_next;
    else
        r->q_head = p->q_next;
    if (p->q_next != NONE)
        r->pairs[p->q_next].q_prev = p->q_prev;
    else
        r->q_tail = p->q_prev;
    p->queued = 0;
    r->queued--;
}

/* ---- pairs ------------------------------------------------------------------------ */

static void buf_free(struct cxl_buf *b, int secret)
{
    if (b->data && secret)
        sodium_memzero(b->data, b->cap);
    cxl_buf_free(b);
}

/* abort: the plain side gets a reset, not a clean end (its data may be cut). */
static void pair_close(struct relay *r, struct pair *p, int abort)
{
    for (int s = 0; s < 2; s++) {
        if (p->fd[s] < 0)
            continue;
        if (abort && s == PLAIN) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(p->fd[s], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(p->fd[s]);
    }
    queue_drop(r, p);
    tun_crypt_free(p->crypt);
    buf_free(&p->wire_in, 0);
    buf_free(&p->wire_out, 0);
    buf_free(&p->plain_out, 1);
    uint32_t gen = p->gen + 1;
    memset(p, 0, sizeof *p);
    p->gen = gen;
    p->fd[0] = p->fd[1] = -1;
    r->active--;
}

/* A failure is noise (rate-limited) during the handshake, and on the client
 * end (any local process can open its connections); on the server end a
 * failure after the handshake concerns a peer that proved the key: a line. */
static void pair_fail(struct relay *r, struct pair *p, const char *what)
{
    static const char fmt[] = "cxl_sodium_tunnel %s: connection %s: %s%s%s\n";
    r->failed++;
    if (p->deadline_ms || r->o->mode == TUN_CLIENT)
        noise(r, fmt, mode_name(r), p->peer, what, what[0] ? ": " : "", cxl_last_error());
    else
        fprintf(stderr, fmt, mode_name(r), p->peer, what, what[0] ? ": " : "", cxl_last_error());
    pair_close(r, p, 1);
}

static struct pair *pair_new(struct relay *r)
{
    for (uint32_t i = 0; i < r->npairs; i++) {
        struct pair *p = &r->pairs[(r->next_free + i) % r->npairs];
        if (p->used)
            continue;
        r->next_free = (uint32_t)(p - r->pairs + 1) % r->npairs;
        p->used = 1;
        p->fd[0] = p->fd[1] = -1;
        int server = r->o->mode == TUN_SERVER; /* full buffers once the peer authenticated */
        if (cxl_buf_alloc(&p->wire_in, server ? HANDSHAKE_CAP : WIRE_IN_CAP) ||
            cxl_buf_alloc(&p->wire_out, server ? HANDSHAKE_CAP : WIRE_OUT_CAP) ||
            cxl_buf_alloc(&p->plain_out, server ? 0 : PLAIN_OUT_CAP) ||
            tun_crypt_new(r->k, r->hello, r->o->mode == TUN_CLIENT, &p->crypt) != 0) {
            r->active++;
            pair_close(r, p, 0);
            return NULL;
        }
        r->active++;
        r->opened++;
        p->deadline_ms = cxl_now_ms() + r->o->handshake_ms;
        if (server)
            queue_push(r, p);
        return p;
    }
    return NULL;
}

/* Connect the pair's other side: the server end (client mode) or the backend. */
static int pair_connect(struct relay *r, struct pair *p, enum side s)
{
    int pending;
    int fd = cxl_net_connect(&r->o->target, 1, &pending);
    if (fd < 0)
        return -1;
    p->fd[s] = fd;
    p->connecting[s] = pending;
    if (!pending && s == WIRE)
        return tun_crypt_start(p->crypt, &p->wire_out);
    return 0;
}

/* Out of descriptors (or memory): the listening socket stays readable, so
 * rest it for 100 ms instead of spinning on accept, and say so once a second. */
static void pause_accept(struct relay *r, const char *why)
{
    uint64_t now = cxl_now_ms();
    watch_listener(r, 0);
    r->accept_paused_until = now + 100;
    if (now - r->last_fd_warning >= 1000) {
        r->last_fd_warning = now;
        noise(r, "cxl_sodium_tunnel %s: accept: %s (%u connections open): not accepting for 100 ms\n",
              mode_name(r), why, r->active);
    }
}

static void resume_accept(struct relay *r)
{
    if (r->accept_paused_until && cxl_now_ms() >= r->accept_paused_until) {
        watch_listener(r, EPOLLIN);
        r->accept_paused_until = 0;
    }
}

/* The server end at --max-handshakes unvouched handshakes, or at
 * --max-conns: the oldest connection whose first frame has not proven the
 * client end's key makes room for the new one (which has not sent anything
 * yet either). Connections that proved it are never dropped for room. */
static void make_room(struct relay *r)
{
    int crowded = r->queued >= r->o->max_handshakes;
    if (r->o->mode != TUN_SERVER || r->q_head == NONE || (!crowded && r->active < r->o->max_conns))
        return;
    if (crowded)
        cxl_fail(CXL_EDENIED, "--max-handshakes (%u) in progress, this one the oldest without a fresh proof of "
                 "the client end's key", r->o->max_handshakes);
    else
        cxl_fail(CXL_EDENIED, "--max-conns (%u) reached, this one the oldest handshake without a fresh proof of "
                 "the client end's key", r->o->max_conns);
    r->dropped++;
    pair_fail(r, &r->pairs[r->q_head], "dropped");
}

static void on_accept(struct relay *r)
{
    for (int i = 0; i < 64; i++) {
        int fd = cxl_net_accept(r->listen_fd, NULL);
        if (fd < 0) {
            if (cxl_net_out_of_fds(errno))
                pause_accept(r, strerror(errno));
            else if (errno != EAGAIN)
                noise(r, "cxl_sodium_tunnel %s: accept: %s\n", mode_name(r), strerror(errno));
            return;
        }
        cxl_net_nodelay(fd);
        char peer[64];
        cxl_net_peer_name(fd, peer, sizeof peer);
        make_room(r);
        int full = r->active >= r->o->max_conns;
        struct pair *p = full ? NULL : pair_new(r);
        if (!p) {
            noise(r, "cxl_sodium_tunnel %s: connection %s refused: %s\n", mode_name(r), peer,
                  full ? "--max-conns reached" : "out of memory");
            close(fd);
            continue;
        }
        snprintf(p->peer, sizeof p->peer, "%s", peer);
        enum side s = r->o->mode == TUN_CLIENT ? PLAIN : WIRE;
        p->fd[s] = fd;
        if (s == PLAIN && pair_connect(r, p, WIRE) != 0) {
            pair_fail(r, p, "cannot reach the server end");
            continue;
        }
        set_interest(r, p, s, EPOLLIN);
        if (p->fd[WIRE ^ s] >= 0)
            set_interest(r, p, WIRE ^ s, EPOLLOUT);
    }
}

/* ---- moving bytes ------------------------------------------------------------------ */

/* Write what b holds; -1 on a broken connection. */
static int flush(int fd, struct cxl_buf *b)
{
    return cxl_buf_send(b, fd) ? cxl_fail_errno(CXL_ESYS, "send") : 0;
}

/* Read the wire into wire_in; -1 on error. */
static int read_wire(struct pair *p)
{
    struct cxl_buf *b = &p->wire_in;
    if (!cxl_buf_tail(b, 1))
        return 0;
    ssize_t n = recv(p->fd[WIRE], b->data + b->end, b->cap - b->end, 0);
    if (n > 0)
        b->end += (size_t)n;
    else if (n == 0)
        p->eof[WIRE] = 1;
    else if (errno != EAGAIN && errno != EINTR)
        return cxl_fail_errno(CXL_ESYS, "reading the encrypted connection");
    return 0;
}

/* Read the plain side and seal it as one frame (or the final frame at its end). */
static int read_plain(struct relay *r, struct pair *p)
{
    size_t room = cxl_buf_room(&p->wire_out);
    if (room < TUN_FRAME_OVERHEAD + MIN_SEAL)
        return 0;
    size_t want = room - TUN_FRAME_OVERHEAD;
    if (want > TUN_PLAIN_MAX)
        want = TUN_PLAIN_MAX;
    ssize_t n = recv(p->fd[PLAIN], r->seal_buf, want, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : cxl_fail_errno(CXL_ESYS, "reading the plain side");
    if (n == 0)
        p->eof[PLAIN] = 1;
    int rc = tun_crypt_seal(p->crypt, r->seal_buf, (size_t)n, n == 0, &p->wire_out);
    sodium_memzero(r->seal_buf, (size_t)n);
    return rc;
}

/* A non-blocking connect finished: 0, or -1 with a message. */
static int connect_done(struct relay *r, struct pair *p, enum side s)
{
    int err = cxl_net_connect_result(p->fd[s]);
    if (err)
        return cxl_fail(CXL_ESYS, "cannot connect to %s: %s", r->o->target.text, strerror(err));
    p->connecting[s] = 0;
    return s == WIRE ? tun_crypt_start(p->crypt, &p->wire_out) : 0;
}

/* ---- one pair's progress -------------------------------------------------------------- */

/* The interest each side needs now. */
static void update_interest(struct relay *r, struct pair *p)
{
    uint32_t plain = 0, wire = 0;
    if (p->connecting[WIRE] || cxl_buf_len(&p->wire_out))
        wire |= EPOLLOUT;
    if (!p->connecting[WIRE] && !p->eof[WIRE] && cxl_buf_room(&p->wire_in))
        wire |= EPOLLIN;
    if (p->connecting[PLAIN] || cxl_buf_len(&p->plain_out))
        plain |= EPOLLOUT;
    if (!p->connecting[PLAIN] && !p->eof[PLAIN] && tun_crypt_can_send(p->crypt) &&
        cxl_buf_room(&p->wire_out) >= TUN_FRAME_OVERHEAD + MIN_SEAL)
        plain |= EPOLLIN;
    set_interest(r, p, WIRE, wire);
    set_interest(r, p, PLAIN, plain);
}

/* Open what the wire brought and hand it to the plain side until neither
 * moves. Input stops when plain_out is full; a flush that empties it must be
 * followed by more input, or whole frames would wait in a full wire_in with
 * no event left to wake them (the wire is not read while wire_in is full,
 * and an empty plain_out asks for no EPOLLOUT). 0, or -1 = the pair failed. */
static int deliver(struct relay *r, struct pair *p)
{
    for (;;) {
        size_t in = cxl_buf_len(&p->wire_in), out = cxl_buf_len(&p->plain_out);
        if (in && tun_crypt_input(p->crypt, &p->wire_in, &p->wire_out, &p->plain_out) != 0)
            return pair_fail(r, p, tun_crypt_established(p->crypt) ? "closed" : "handshake failed"), -1;
        if (!p->plain_out.cap && tun_crypt_authenticated(p->crypt)) {
            /* the server's peer just authenticated: now it gets data buffers */
            if (cxl_buf_resize(&p->wire_in, WIRE_IN_CAP) || cxl_buf_resize(&p->wire_out, WIRE_OUT_CAP) ||
                cxl_buf_resize(&p->plain_out, PLAIN_OUT_CAP))
                return cxl_fail(CXL_ESYS, "out of memory"), pair_fail(r, p, "closed"), -1;
            continue;
        }
        if (r->o->mode == TUN_SERVER && p->fd[PLAIN] < 0 && tun_crypt_authenticated(p->crypt) &&
            pair_connect(r, p, PLAIN) != 0)
            return pair_fail(r, p, "backend"), -1;
        if (p->fd[PLAIN] >= 0 && !p->connecting[PLAIN] && flush(p->fd[PLAIN], &p->plain_out) != 0)
            return pair_fail(r, p, "writing the plain side"), -1;
        int moved = cxl_buf_len(&p->wire_in) != in || (out && !cxl_buf_len(&p->plain_out));
        if (!moved || !cxl_buf_len(&p->wire_in) || cxl_buf_len(&p->plain_out))
            return 0;
    }
}

/* Everything that can happen now without blocking. 0 = the pair lives on. */
static int pump(struct relay *r, struct pair *p, int readable_plain, int readable_wire)
{
    if (readable_wire && read_wire(p) != 0)
        return pair_fail(r, p, "closed"), -1;
    if (deliver(r, p) != 0)
        return -1;
    if (p->queued && (tun_crypt_vouched(p->crypt) || tun_crypt_authenticated(p->crypt)))
        queue_drop(r, p); /* it proved the key: no longer the one to make room */
    if (readable_plain && p->fd[PLAIN] >= 0 && !p->connecting[PLAIN] && tun_crypt_can_send(p->crypt) &&
        read_plain(r, p) != 0)
        return pair_fail(r, p, "closed"), -1;
    if (!p->connecting[WIRE] && flush(p->fd[WIRE], &p->wire_out) != 0)
        return pair_fail(r, p, "writing the encrypted connection"), -1;
    /* a wire that ended: fine after the peer's final frame, else a truncation
     * (unless whole frames still wait for the plain side to take plain_out) */
    if (p->eof[WIRE] && !tun_crypt_finished(p->crypt) && !cxl_buf_len(&p->plain_out) &&
        tun_crypt_eof(p->crypt, cxl_buf_len(&p->wire_in)) != 0)
        return pair_fail(r, p, tun_crypt_established(p->crypt) ? "encrypted connection ended"
                                                                : "handshake failed"), -1;
    if (p->deadline_ms && tun_crypt_established(p->crypt) && p->fd[PLAIN] >= 0 && !p->connecting[PLAIN])
        p->deadline_ms = 0;
    /* half-closes: each direction ends on its own */
    if (tun_crypt_finished(p->crypt) && !cxl_buf_len(&p->plain_out) && !p->shut[PLAIN] && p->fd[PLAIN] >= 0 &&
        !p->connecting[PLAIN]) {
        shutdown(p->fd[PLAIN], SHUT_WR);
        p->shut[PLAIN] = 1;
    }
    if (tun_crypt_final_sent(p->crypt) && !cxl_buf_len(&p->wire_out) && !p->shut[WIRE]) {
        shutdown(p->fd[WIRE], SHUT_WR);
        p->shut[WIRE] = 1;
    }
    if (p->shut[PLAIN] && p->shut[WIRE]) {
        pair_close(r, p, 0);
        return -1;
    }
    update_interest(r, p);
    return 0;
}

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
    struct relay *r = ctx;
    if ((tag >> 1) == SLOT_LISTEN) {
        on_accept(r);
        return;
    }
    uint32_t slot = (uint32_t)(tag >> 1) & 0x7fffffffu, gen = (uint32_t)(tag >> 32);
    enum side s = (enum side)(tag & 1);
    if (slot >= r->npairs)
        return;
    struct pair *p = &r->pairs[slot];
    if (!p->used || p->gen != gen || p->fd[s] < 0)
        return;
    if (p->connecting[s] && connect_done(r, p, s) != 0) {
        pair_fail(r, p, s == WIRE ? "cannot reach the server end" : "backend");
        return;
    }
    int readable = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
    pump(r, p, s == PLAIN && readable, s == WIRE && readable);
}

/* Handshakes (and backend connects) past their deadline. */
static void sweep(struct relay *r)
{
    uint64_t now = cxl_now_ms();
    if (now - r->last_sweep < 100)
        return;
    r->last_sweep = now;
    noise_report(r, 0);
    for (uint32_t i = 0; i < r->npairs; i++) {
        struct pair *p = &r->pairs[i];
        if (p->used && p->deadline_ms && now > p->deadline_ms) {
            cxl_fail(CXL_ETIMEDOUT, "no handshake%s within %u ms",
                     r->o->mode == TUN_SERVER ? " and backend connection" : "", r->o->handshake_ms);
            pair_fail(r, p, "timed out");
        }
    }
}

/* Each connection holds two descriptors: raise the soft limit to what
 * --max-conns needs, or refuse to start with the numbers. */
static int fd_budget(const struct tun_opts *o)
{
    uint64_t need = 2 * (uint64_t)o->max_conns + 32, hard;
    int rc = cxl_fd_limit_raise(need, &hard);
    if (hard < need)
        return cxl_fail(CXL_EINVAL, "--max-conns %u needs %llu file descriptors, the limit is %llu "
                        "(raise ulimit -n or lower --max-conns)", o->max_conns,
                        (unsigned long long)need, (unsigned long long)hard);
    return rc == 0 ? 0 : cxl_fail_errno(CXL_ESYS, "setrlimit(RLIMIT_NOFILE)");
}

static void relay_free(struct relay *r)
{
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    cxl_loop_close(&r->loop);
    tun_hello_free(r->hello);
    free(r->pairs);
    free(r);
}

/* The relay, listening; NULL (said why) if it cannot start. */
static struct relay *relay_new(const struct tun_opts *o, const struct tun_keys *k)
{
    struct relay *r = calloc(1, sizeof *r);
    if (!r || !(r->pairs = calloc(o->max_conns, sizeof *r->pairs))) {
        fprintf(stderr, "cxl_sodium_tunnel: out of memory\n");
        free(r);
        return NULL;
    }
    *r = (struct relay){.o = o, .k = k, .pairs = r->pairs, .npairs = o->max_conns, .q_head = NONE,
                        .q_tail = NONE, .loop = {.ep = -1}, .listen_fd = -1};
    for (uint32_t i = 0; i < r->npairs; i++)
        r->pairs[i].fd[0] = r->pairs[i].fd[1] = -1;
    cxl_ratelimit_init(&r->noise, NOISE_PER_SEC, NOISE_BURST);
    int rc = fd_budget(o) != 0 || tun_hello_new(k, &r->hello) != 0;
    if (!rc) {
        cxl_loop_stop_on_signals();
        rc = cxl_loop_open(&r->loop, EVENTS_PER_WAKE) != 0 ||
             (r->listen_fd = cxl_net_listen(&o->listen, 1024)) < 0;
    }
    if (rc) {
        fprintf(stderr, "cxl_sodium_tunnel: %s\n", cxl_last_error());
        relay_free(r);
        return NULL;
    }
    watch_listener(r, EPOLLIN);
    return r;
}

int tun_run(const struct tun_opts *o, const struct tun_keys *k)
{
    struct relay *r = relay_new(o, k);
    if (!r)
        return TUN_EXIT_FAIL;
    char fp[CXL_SEC_FINGERPRINT_LEN + 1], pfp[CXL_SEC_FINGERPRINT_LEN + 1];
    cxl_key_fingerprint(k->self.public_key, fp);
    cxl_key_fingerprint(k->self.manager_public, pfp);
    if (!o->quiet)
        fprintf(stderr, "cxl_sodium_tunnel %s: %s -> %s (key %s, peer key %s)\n", mode_name(r), o->listen.text,
                o->target.text, fp, pfp);
    while (!cxl_loop_stopping()) {
        cxl_loop_wait(&r->loop, WAIT_MS, NULL, on_event, r);
        sweep(r);
        resume_accept(r);
    }
    for (uint32_t i = 0; i < r->npairs; i++)
        if (r->pairs[i].used)
            pair_close(r, &r->pairs[i], 0);
    if (o->listen.is_unix)
        unlink(o->listen.text + 5);
    noise_report(r, 1);
    if (!o->quiet)
        fprintf(stderr, "cxl_sodium_tunnel %s: stopped: %llu connections, %llu failed (%llu dropped for room)\n",
                mode_name(r), (unsigned long long)r->opened, (unsigned long long)r->failed,
                (unsigned long long)r->dropped);
    relay_free(r);
    return TUN_EXIT_OK;
}
