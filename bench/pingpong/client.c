/* client.c - the client loops of the ring ping-pong benchmark: the latency
 * loop (one message in flight), the throughput loop (W in flight), the stop
 * exchange, and the payload every request carries and every reply is checked
 * against.
 *
 * Each loop is written once for both rings and instantiated twice with a
 * constant impl (always_inline), so the bare and the library loops are the
 * same code around their own queue calls. Both carry --payload bytes each
 * way: the library behind its 12 B header (op only), the bare ring behind a
 * 12 B stamp (seq, length). A reply that is not the exact echo of its
 * request (length, op or stamp, any payload byte), a ring error, or a
 * server that died or went silent ends the run: the loop returns -1 with the
 * reason in its struct pp_err, and main.c exits 1. Every -1 comes from a
 * branch the loops take anyway (a failed ring call, a wrong reply, the
 * watchdog), so the checks fold into it and the loops stay as they were. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pingpong.h"

#define STALL_NS (10ull * 1000000000ull) /* no reply for this long: give up */

/* --- payload ------------------------------------------------------------------ */

/* Request/response payload of len bytes: word 0 is the sequence number,
 * the other words a pattern derived from it (a tail shorter than 8 bytes
 * holds the low bytes of its word), so a stale, shifted or torn echo cannot
 * pass. Written and checked a word at a time: plain 8-byte stores and loads
 * (a memcpy/memcmp of the whole payload here became `rep movs` and a libc
 * call, which cost more than the ring operations being measured). Both rings
 * use these functions, on payloads of the same length. */
static ALWAYS_INLINE uint64_t pattern_word(uint64_t seq, uint32_t i)
{
    return i == 0 ? seq : (seq + (uint64_t)i) * 0x9e3779b97f4a7c15ull ^ 0x5bd1e9955bd1e995ull;
}

static ALWAYS_INLINE void pattern_fill(uint8_t *p, uint32_t len, uint64_t seq)
{
    uint32_t words = len / 8, tail = len % 8;
    for (uint32_t i = 0; i < words; i++) {
        uint64_t v = pattern_word(seq, i);
        memcpy(p + 8 * i, &v, sizeof v);
    }
    if (__builtin_expect(tail != 0, 0)) {
        uint64_t v = pattern_word(seq, words);
        memcpy(p + 8 * words, &v, tail); /* little-endian: its low bytes */
    }
}

/* Word i of the payload p of len bytes as read (a tail: its bytes, the
 * rest 0) and as expected for seq (the same bytes of its pattern word). */
static ALWAYS_INLINE void pattern_pair(const uint8_t *p, uint32_t len, uint64_t seq, uint32_t i,
                                       uint64_t *got, uint64_t *want)
{
    uint32_t n = len - 8 * i < 8 ? len - 8 * i : 8;
    uint64_t mask = n == 8 ? ~0ull : (1ull << (8 * n)) - 1;
    *got = 0;
    memcpy(got, p + 8 * i, n);
    *want = pattern_word(seq, i) & mask;
}

/* The reply p to message seq is wrong (`what`): say where. */
static void __attribute__((noinline, cold)) mismatch(enum impl impl, uint64_t seq, const uint8_t *p,
                                                     uint32_t len, const char *what,
                                                     struct pp_err *err)
{
    for (uint32_t i = 0; p && i < (len + 7) / 8; i++) {
        uint64_t got, want;
        pattern_pair(p, len, seq, i, &got, &want);
        if (got != want) {
            pp_fail(err, "%s: echo of message %" PRIu64 " is wrong: %s; payload word %u (of %u B) "
                    "is 0x%016" PRIx64 " (expected 0x%016" PRIx64 ")", impl_name(impl), seq, what,
                    i, len, got, want);
            return;
        }
    }
    pp_fail(err, "%s: echo of message %" PRIu64 " is wrong: %s", impl_name(impl), seq, what);
}

/* 0 if p is the payload of seq (len bytes, every one checked), else -1. */
static ALWAYS_INLINE int pattern_check(enum impl impl, const uint8_t *p, uint32_t len, uint64_t seq,
                                       struct pp_err *err)
{
    uint32_t words = len / 8;
    uint64_t diff = 0;
    for (uint32_t i = 0; i < words; i++) {
        uint64_t got;
        memcpy(&got, p + 8 * i, sizeof got);
        diff |= got ^ pattern_word(seq, i);
    }
    if (__builtin_expect(len % 8 != 0, 0)) {
        uint64_t got, want;
        pattern_pair(p, len, seq, words, &got, &want);
        diff |= got ^ want;
    }
    if (__builtin_expect(diff != 0, 0)) {
        mismatch(impl, seq, p, len, "payload differs", err);
        return -1;
    }
    return 0;
}

/* A bare message: a 12 B stamp (u64 seq, u32 payload length: the bytes of
 * the library's fixed header), then the payload. */
static ALWAYS_INLINE void bare_fill(uint8_t *s, uint32_t len, uint64_t seq)
{
    memcpy(s, &seq, sizeof seq);
    memcpy(s + 8, &len, sizeof len);
    pattern_fill(s + BARE_STAMP, len, seq);
}

/* 0 if the bare message s is the echo of seq, else -1. */
static ALWAYS_INLINE int bare_check(const uint8_t *s, uint32_t len, uint64_t seq,
                                    struct pp_err *err)
{
    uint64_t got_seq;
    uint32_t got_len;
    memcpy(&got_seq, s, sizeof got_seq);
    memcpy(&got_len, s + 8, sizeof got_len);
    if (__builtin_expect(got_seq != seq || got_len != len, 0)) {
        char what[96];
        snprintf(what, sizeof what, "stamp seq %" PRIu64 " len %u", got_seq, got_len);
        mismatch(IMPL_BARE, seq, got_len == len ? s + BARE_STAMP : NULL, len, what, err);
        return -1;
    }
    return pattern_check(IMPL_BARE, s + BARE_STAMP, len, seq, err);
}

/* A library reply whose header is not that of the echo of seq. */
static void __attribute__((noinline, cold)) bad_header(uint64_t seq, const struct cxl_msg *m,
                                                       struct pp_err *err)
{
    char what[128];
    snprintf(what, sizeof what, "header len %u ref %" PRIu64 " op %u", m->hdr.len, m->hdr.ref,
             m->hdr.op);
    mismatch(IMPL_LIB, seq, NULL, 0, what, err);
}

static void __attribute__((noinline, cold)) ring_error(const char *call, int rc, struct pp_err *err)
{
    pp_fail(err, "libcxldsm: %s: %s: %s", call, cxl_strerror(rc), cxl_last_error());
}

/* --- one message each way ------------------------------------------------------- */

/* Reserve one request carrying seq and fill it: 1 done, 0 no room now, -1
 * a ring error. */
static ALWAYS_INLINE int send_one(struct client *c, const enum impl impl, uint64_t seq,
                                  struct pp_err *err)
{
    if (impl == IMPL_LIB) {
        struct cxl_msg_hdr h = {.op = seq == STOP_SEQ ? OP_STOP : OP_ECHO}; /* seq: payload word 0 */
        uint8_t *payload;
        int rc = cxl_queue_reserve(&c->req, &h, c->payload, &payload);
        if (rc == CXL_EAGAIN)
            return 0;
        if (rc) {
            ring_error("reserve", rc, err);
            return -1;
        }
        pattern_fill(payload, c->payload, seq);
        return 1;
    }
    uint8_t *s = bare_reserve(&c->breq);
    if (!s)
        return 0;
    bare_fill(s, c->bare_payload, seq);
    return 1;
}

static ALWAYS_INLINE void submit(struct client *c, const enum impl impl)
{
    if (impl == IMPL_LIB)
        cxl_queue_submit(&c->req);
    else
        bare_publish(&c->breq);
}

/* Peek the next response and check it is the echo of seq: 1 got, 0 none,
 * -1 a wrong reply or a ring error. */
static ALWAYS_INLINE int recv_one(struct client *c, const enum impl impl, uint64_t seq,
                                  struct pp_err *err)
{
    if (impl == IMPL_LIB) {
        struct cxl_msg m;
        int rc = cxl_queue_peek(&c->resp, &m);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            ring_error("peek", rc, err);
            return -1;
        }
        if (__builtin_expect(m.hdr.len != c->payload ||
                             m.hdr.op != (seq == STOP_SEQ ? OP_STOP : OP_ECHO), 0)) {
            bad_header(seq, &m, err);
            return -1;
        }
        return pattern_check(impl, m.payload, c->payload, seq, err) ? -1 : 1;
    }
    const uint8_t *s = bare_peek(&c->bresp);
    if (!s)
        return 0;
    return bare_check(s, c->bare_payload, seq, err) ? -1 : 1;
}

static ALWAYS_INLINE void release(struct client *c, const enum impl impl)
{
    if (impl == IMPL_LIB)
        cxl_queue_release(&c->resp);
    else
        bare_publish(&c->bresp);
}

/* --- waiting ------------------------------------------------------------------------ */

/* Called every 2^20 empty polls: 0, or -1 if the server died or has been
 * silent for STALL_NS. */
static int __attribute__((noinline)) watchdog(struct client *c, const char *what,
                                              struct pp_err *err)
{
    int pid = echo_check_alive(what, err);
    if (pid < 0)
        return -1;
    uint64_t now = cxl_now_ns();
    if (c->stall_since == 0)
        c->stall_since = now;
    else if (now - c->stall_since > STALL_NS)
        return pp_fail(err, "no progress for %llu s while the client %s (echo server pid %d alive "
                       "but silent)", STALL_NS / 1000000000ull, what, pid);
    return 0;
}

/* One empty poll (*idle counts them): 0, or -1 from the watchdog. */
static ALWAYS_INLINE int wait_poll(struct client *c, uint64_t *idle, const char *what,
                                   struct pp_err *err)
{
    cxl_cpu_relax();
    if ((++*idle & 0xfffff) == 0)
        return watchdog(c, what, err);
    return 0;
}

static ALWAYS_INLINE void progress_made(struct client *c, uint64_t *idle)
{
    if (*idle) {
        *idle = 0;
        c->stall_since = 0;
    }
}

/* Send request seq, polling while the request queue is full: 0 or -1. */
static ALWAYS_INLINE int send_wait(struct client *c, const enum impl impl, uint64_t seq,
                                   uint64_t *idle, const char *what, struct pp_err *err)
{
    int got;
    while ((got = send_one(c, impl, seq, err)) == 0)
        if (wait_poll(c, idle, what, err) != 0)
            return -1;
    return got < 0 ? -1 : 0;
}

/* Receive the echo of seq, polling until it is there: 0 or -1. */
static ALWAYS_INLINE int recv_wait(struct client *c, const enum impl impl, uint64_t seq,
                                   uint64_t *idle, const char *what, struct pp_err *err)
{
    int got;
    while ((got = recv_one(c, impl, seq, err)) == 0)
        if (wait_poll(c, idle, what, err) != 0)
            return -1;
    return got < 0 ? -1 : 0;
}

/* --- latency: one message in flight ---------------------------------------------- */

/* Sample i = stamp(i + 1) - stamp(i): the whole client cycle. */
static ALWAYS_INLINE int latency_loop(struct client *c, const enum impl impl, struct run *r,
                                      struct pp_err *err)
{
    uint64_t n = r->n, warm = c->warmup, total = warm + n, idle = 0;
    uint32_t *out = r->samples;
    struct progress pr;
    progress_start(&pr, r->label);
    uint64_t prev = 0, t_first = 0;
    for (uint64_t i = 0; i < total; i++) {
        uint64_t t = ticks();
        if (i > warm) {
            uint64_t d = t - prev;
            out[i - 1 - warm] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        } else if (i == warm) {
            t_first = t;
        }
        prev = t;
        if (send_wait(c, impl, i, &idle, "waited for room in the request queue", err) != 0)
            return -1;
        submit(c, impl);
        if (recv_wait(c, impl, i, &idle, "waited for a reply (latency)", err) != 0)
            return -1;
        release(c, impl);
        progress_made(c, &idle);
        if ((i & 0xffff) == 0)
            progress_tick(&pr, i < warm ? 0 : i - warm, n);
    }
    uint64_t t_end = ticks(), d = t_end - prev;
    out[n - 1] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    double secs = (double)(t_end - t_first) / c->clock.per_ns / 1e9;
    char sum[128];
    snprintf(sum, sizeof sum, "mean %.3f us, all %" PRIu64 " replies verified",
             secs * 1e6 / (double)n, total);
    progress_end(&pr, sum);
    r->seconds = secs;
    r->counted = n;
    return 0;
}

/* --- throughput: W messages in flight ------------------------------------------------ */

/* r->n measured round trips, or until r->limit_s seconds have passed if
 * that is > 0. Stamps per batch (stamp: cap entries, a power of two >= W)
 * feed r->h (latency under load, ns). One function on purpose: its state
 * stays in registers, as the measured client cycle should. */
static ALWAYS_INLINE int throughput_loop(struct client *c, const enum impl impl, struct run *r,
                                         uint64_t *stamp, uint64_t cap, struct pp_err *err)
{
    const struct tick_clock clk = c->clock;
    const uint32_t w = r->inflight;
    const uint64_t n = r->n;
    const double seconds = r->limit_s;
    struct cxl_hist *h = r->h;
    uint64_t sends = 0, recvs = 0;
    uint64_t warm = c->warmup;
    uint64_t total = seconds > 0 ? UINT64_MAX : warm + n;
    struct progress pr;
    progress_start(&pr, r->label);
    uint64_t sent = 0, recv = 0, idle = 0, next_check = 65536;
    uint64_t t0 = 0, recv0 = 0, t_end = 0, counted = 0, end_ns = 0;
    int timing = 0, ended = 0;
    for (;;) {
        uint64_t k = 0;
        while (sent - recv < w && sent < total) {
            int ok = send_one(c, impl, sent, err);
            if (ok < 0)
                return -1;
            if (ok == 0)
                break;
            sent++;
            k++;
        }
        if (k) {
            submit(c, impl);
            sends++;
            uint64_t t = ticks();
            for (uint64_t i = sent - k; i < sent; i++)
                stamp[i & (cap - 1)] = t;
        }
        uint64_t got = 0, tr = 0;
        while (recv < sent) {
            int ok = recv_one(c, impl, recv, err);
            if (ok < 0)
                return -1;
            if (ok == 0)
                break;
            if (got++ == 0)
                tr = ticks();
            if (timing)
                cxl_hist_record(h, ticks_to_ns(&clk, tr - stamp[recv & (cap - 1)]));
            recv++;
        }
        if (got) {
            release(c, impl);
            recvs++;
            progress_made(c, &idle);
            if (!timing && recv >= warm) {
                timing = 1;
                t0 = ticks();
                recv0 = recv;
                if (seconds > 0)
                    end_ns = cxl_now_ns() + (uint64_t)(seconds * 1e9);
            }
            if (recv == total)
                break;
            if (recv >= next_check) {
                next_check = recv + 65536;
                progress_tick(&pr, timing ? recv - recv0 : 0, seconds > 0 ? 0 : n);
                if (end_ns && !ended && cxl_now_ns() >= end_ns) {
                    t_end = ticks(); /* stop sending; drain what is in flight */
                    counted = recv - recv0;
                    total = sent;
                    ended = 1;
                    if (recv == total)
                        break;
                }
            }
        } else if (k == 0 && wait_poll(c, &idle, "waited for replies (throughput)", err) != 0) {
            return -1;
        }
    }
    if (!ended) {
        t_end = ticks();
        counted = recv - recv0;
    }
    double secs = (double)(t_end - t0) / clk.per_ns / 1e9;
    char sum[160];
    snprintf(sum, sizeof sum, "%.2f M round trips/s (%.2f M one-way msgs/s), all %" PRIu64
             " replies verified", (double)counted / secs / 1e6, 2 * (double)counted / secs / 1e6, recv);
    progress_end(&pr, sum);
    r->seconds = secs;
    r->counted = counted;
    c->sends += sends;
    c->recvs += recvs;
    c->msgs += sent;
    return 0;
}

/* The throughput loop with room for a stamp per message in flight. */
static int throughput(struct client *c, struct run *r, struct pp_err *err)
{
    uint64_t cap = 1;
    while (cap < r->inflight)
        cap <<= 1;
    uint64_t *stamp = calloc(cap, sizeof *stamp);
    if (!stamp)
        return pp_fail(err, "out of memory");
    int rc = r->impl == IMPL_LIB ? throughput_loop(c, IMPL_LIB, r, stamp, cap, err)
                                 : throughput_loop(c, IMPL_BARE, r, stamp, cap, err);
    free(stamp);
    return rc;
}

int client_run(struct client *c, struct run *r, struct pp_err *err)
{
    if (r->inflight)
        return throughput(c, r, err);
    return r->impl == IMPL_LIB ? latency_loop(c, IMPL_LIB, r, err)
                               : latency_loop(c, IMPL_BARE, r, err);
}

/* --- the stop message ----------------------------------------------------------------- */

static ALWAYS_INLINE int stop_exchange(struct client *c, const enum impl impl, struct pp_err *err)
{
    uint64_t idle = 0;
    if (send_wait(c, impl, STOP_SEQ, &idle, "waited to send stop", err) != 0)
        return -1;
    submit(c, impl);
    if (recv_wait(c, impl, STOP_SEQ, &idle, "waited for the stop echo", err) != 0)
        return -1;
    release(c, impl);
    c->stall_since = 0;
    return 0;
}

int client_send_stop(struct client *c, enum impl impl, struct pp_err *err)
{
    return impl == IMPL_LIB ? stop_exchange(c, IMPL_LIB, err) : stop_exchange(c, IMPL_BARE, err);
}
