/* client.c - the client loops of the ring ping-pong benchmark: the latency
 * loop (one message in flight), the throughput loop (W in flight), and the
 * payload every request carries and every reply is checked against.
 *
 * Each loop is written once for both rings and instantiated twice with a
 * constant impl (always_inline), so the bare and the library loops are the
 * same code around their own queue calls. A reply that is not the exact echo
 * of its request (length, ref, op, any payload byte) ends the run (exit 1). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pingpong.h"

#define STALL_NS (10ull * 1000000000ull) /* no reply for this long: give up */

/* --- payload ------------------------------------------------------------------ */

/* Request/response payload: word 0 is the sequence number, words 1..7 a
 * pattern derived from it, so a stale, shifted or torn echo cannot pass.
 * Written and checked a word at a time: plain 8-byte stores and loads (a
 * 64-byte memcpy/memcmp here became `rep movs` and a libc call, which cost
 * more than the ring operations being measured). */
static ALWAYS_INLINE uint64_t pattern_word(uint64_t seq, int i)
{
    return i == 0 ? seq : (seq + (uint64_t)i) * 0x9e3779b97f4a7c15ull ^ 0x5bd1e9955bd1e995ull;
}

static ALWAYS_INLINE void pattern_fill(uint8_t *p, uint64_t seq)
{
    for (int i = 0; i < 8; i++) {
        uint64_t v = pattern_word(seq, i);
        memcpy(p + 8 * i, &v, sizeof v);
    }
}

static void __attribute__((noinline, cold)) mismatch(enum impl impl, uint64_t seq, const uint8_t *p,
                                                     const char *what)
{
    for (int i = 0; i < 8; i++) {
        uint64_t got;
        memcpy(&got, p + 8 * i, sizeof got);
        if (got != pattern_word(seq, i))
            die("%s: echo of message %" PRIu64 " is wrong: %s; payload word %d is 0x%016" PRIx64
                " (expected 0x%016" PRIx64 ")", impl_name(impl), seq, what, i, got,
                pattern_word(seq, i));
    }
    die("%s: echo of message %" PRIu64 " is wrong: %s", impl_name(impl), seq, what);
}

static ALWAYS_INLINE void pattern_check(enum impl impl, const uint8_t *p, uint64_t seq)
{
    uint64_t diff = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t got;
        memcpy(&got, p + 8 * i, sizeof got);
        diff |= got ^ pattern_word(seq, i);
    }
    if (__builtin_expect(diff != 0, 0))
        mismatch(impl, seq, p, "payload differs");
}

/* --- one message each way ------------------------------------------------------- */

/* Reserve one request carrying seq and fill it: 1 done, 0 no room now. */
static ALWAYS_INLINE int send_one(struct client *c, const enum impl impl, uint64_t seq)
{
    if (impl == IMPL_LIB) {
        struct cxl_msg_hdr *h;
        int rc = cxl_queue_reserve(&c->req, MSG_SIZE, &h);
        if (rc == CXL_EAGAIN)
            return 0;
        if (rc)
            die("libcxldsm: reserve: %s: %s", cxl_strerror(rc), cxl_last_error());
        h->op = seq == STOP_SEQ ? OP_STOP : OP_ECHO;
        h->ref = seq;
        pattern_fill(cxl_msg_payload(h), seq);
        return 1;
    }
    uint8_t *s = bare_reserve(&c->breq);
    if (!s)
        return 0;
    pattern_fill(s, seq);
    if (__builtin_expect(c->bare_lines > 1, 0)) /* diagnostic: a "header" line too */
        pattern_fill(s + 64, seq);
    return 1;
}

static ALWAYS_INLINE void submit(struct client *c, const enum impl impl)
{
    if (impl == IMPL_LIB)
        cxl_queue_submit(&c->req);
    else
        bare_publish(&c->breq);
}

/* Peek the next response and check it is the echo of seq: 1 got, 0 none. */
static ALWAYS_INLINE int recv_one(struct client *c, const enum impl impl, uint64_t seq)
{
    if (impl == IMPL_LIB) {
        struct cxl_msg m;
        int rc = cxl_queue_peek(&c->resp, &m);
        if (rc == 0)
            return 0;
        if (rc < 0)
            die("libcxldsm: peek: %s: %s", cxl_strerror(rc), cxl_last_error());
        if (__builtin_expect(m.hdr.len != MSG_SIZE || m.hdr.ref != seq ||
                             m.hdr.op != (seq == STOP_SEQ ? OP_STOP : OP_ECHO), 0)) {
            char what[128];
            snprintf(what, sizeof what, "header len %u ref %" PRIu64 " op %u", m.hdr.len,
                     m.hdr.ref, m.hdr.op);
            mismatch(impl, seq, m.payload, what);
        }
        pattern_check(impl, m.payload, seq);
        return 1;
    }
    const uint8_t *s = bare_peek(&c->bresp);
    if (!s)
        return 0;
    pattern_check(impl, s, seq);
    if (__builtin_expect(c->bare_lines > 1, 0))
        pattern_check(impl, s + 64, seq);
    return 1;
}

static ALWAYS_INLINE void release(struct client *c, const enum impl impl)
{
    if (impl == IMPL_LIB)
        cxl_queue_release(&c->resp);
    else
        bare_publish(&c->bresp);
}

/* --- waiting ------------------------------------------------------------------------ */

/* Called every 2^20 empty polls: a dead or stuck server ends the run. */
static void __attribute__((noinline)) watchdog(struct client *c, const char *what)
{
    struct pp_err err = {0};
    int pid = echo_check_alive(what, &err);
    if (pid < 0)
        die("%s", err.msg);
    uint64_t now = cxl_now_ns();
    if (c->stall_since == 0)
        c->stall_since = now;
    else if (now - c->stall_since > STALL_NS)
        die("no progress for %llu s while the client %s (echo server pid %d alive but silent)",
            STALL_NS / 1000000000ull, what, pid);
}

#define WAIT_POLL(c, idle, what)                                   \
    do {                                                           \
        cxl_cpu_relax();                                           \
        if ((++(idle) & 0xfffff) == 0)                             \
            watchdog((c), (what));                                 \
    } while (0)

#define PROGRESS_MADE(c, idle)                                     \
    do {                                                           \
        if (idle) {                                                \
            (idle) = 0;                                            \
            (c)->stall_since = 0;                                  \
        }                                                          \
    } while (0)

/* --- latency: one message in flight ---------------------------------------------- */

/* Sample i = stamp(i + 1) - stamp(i): the whole client cycle. */
static ALWAYS_INLINE double latency_loop(struct client *c, const enum impl impl, uint64_t n,
                                         uint32_t *out, const char *label)
{
    uint64_t warm = c->warmup, total = warm + n, idle = 0;
    struct progress pr;
    progress_start(&pr, label);
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
        while (!send_one(c, impl, i))
            WAIT_POLL(c, idle, "waited for room in the request queue");
        submit(c, impl);
        while (!recv_one(c, impl, i))
            WAIT_POLL(c, idle, "waited for a reply (latency)");
        release(c, impl);
        PROGRESS_MADE(c, idle);
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
    return secs;
}

double client_latency(struct client *c, enum impl impl, uint64_t n, uint32_t *out,
                      const char *label)
{
    return impl == IMPL_LIB ? latency_loop(c, IMPL_LIB, n, out, label)
                            : latency_loop(c, IMPL_BARE, n, out, label);
}

/* --- throughput: W messages in flight ------------------------------------------------ */

/* n measured round trips, or until `seconds` have passed if seconds > 0.
 * Stamps per batch feed h (latency under load, ns). Returns the measured
 * seconds; *counted_out the measured round trips. One function on purpose:
 * its state stays in registers, as the measured client cycle should. */
static ALWAYS_INLINE double throughput_loop(struct client *c, const enum impl impl, uint32_t w,
                                            uint64_t n, double seconds, struct cxl_hist *h,
                                            uint64_t *counted_out, const char *label)
{
    const struct tick_clock clk = c->clock;
    uint64_t sends = 0, recvs = 0;
    uint64_t warm = c->warmup;
    uint64_t total = seconds > 0 ? UINT64_MAX : warm + n;
    uint64_t cap = 1;
    while (cap < w)
        cap <<= 1;
    uint64_t *stamp = calloc(cap, sizeof *stamp);
    if (!stamp)
        die("out of memory");
    struct progress pr;
    progress_start(&pr, label);
    uint64_t sent = 0, recv = 0, idle = 0, next_check = 65536;
    uint64_t t0 = 0, recv0 = 0, t_end = 0, counted = 0, end_ns = 0;
    int timing = 0, ended = 0;
    for (;;) {
        uint64_t k = 0;
        while (sent - recv < w && sent < total && send_one(c, impl, sent)) {
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
        while (recv < sent && recv_one(c, impl, recv)) {
            if (got++ == 0)
                tr = ticks();
            if (timing)
                cxl_hist_record(h, ticks_to_ns(&clk, tr - stamp[recv & (cap - 1)]));
            recv++;
        }
        if (got) {
            release(c, impl);
            recvs++;
            PROGRESS_MADE(c, idle);
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
        } else if (k == 0) {
            WAIT_POLL(c, idle, "waited for replies (throughput)");
        }
    }
    if (!ended) {
        t_end = ticks();
        counted = recv - recv0;
    }
    free(stamp);
    double secs = (double)(t_end - t0) / clk.per_ns / 1e9;
    char sum[160];
    snprintf(sum, sizeof sum, "%.2f M round trips/s (%.2f M one-way msgs/s), all %" PRIu64
             " replies verified", (double)counted / secs / 1e6, 2 * (double)counted / secs / 1e6, recv);
    progress_end(&pr, sum);
    *counted_out = counted;
    c->sends += sends;
    c->recvs += recvs;
    c->msgs += sent;
    return secs;
}

double client_throughput(struct client *c, enum impl impl, uint32_t w, uint64_t n,
                         double seconds, struct cxl_hist *h, uint64_t *counted,
                         const char *label)
{
    return impl == IMPL_LIB ? throughput_loop(c, IMPL_LIB, w, n, seconds, h, counted, label)
                            : throughput_loop(c, IMPL_BARE, w, n, seconds, h, counted, label);
}

/* --- the stop message ----------------------------------------------------------------- */

static ALWAYS_INLINE void stop_exchange(struct client *c, const enum impl impl)
{
    uint64_t idle = 0;
    while (!send_one(c, impl, STOP_SEQ))
        WAIT_POLL(c, idle, "waited to send stop");
    submit(c, impl);
    while (!recv_one(c, impl, STOP_SEQ))
        WAIT_POLL(c, idle, "waited for the stop echo");
    release(c, impl);
    c->stall_since = 0;
}

void client_send_stop(struct client *c, enum impl impl)
{
    if (impl == IMPL_LIB)
        stop_exchange(c, IMPL_LIB);
    else
        stop_exchange(c, IMPL_BARE);
}
