/* echo.c - the echo server of the ring ping-pong benchmark (--role echo):
 * a process of its own that maps the medium at its own address and echoes
 * every request of ring 0 (library) or of the bare ring, until the stop
 * message.
 *
 * Both servers run the same loop: peek every available request, reserve a
 * response of the same length for each, copy the message (library: a 12 B
 * header with the request's op, then the payload; bare: its 12 B stamp and
 * the payload, the same bytes), then submit the responses and release the
 * requests once per batch. They poll in a tight loop while work arrives and
 * for --echo-spin empty polls after, then wait with cxl_backoff. On its --ready-fd the server writes a "ready" line when it
 * serves and a "stats" line (its batches) when it stops. A failure goes back
 * to main.c (echo_main returns -1), which prints it and exits 1. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "pingpong.h"

/* Tight polling for echo_spin empty polls (one pause each), then cxl_backoff:
 * its own spin phase is not used (the polls above are it), it yields for
 * ECHO_YIELD_US, then sleeps 1, 2, 4 .. 1000 us. */
#define ECHO_YIELD_US 1000u
struct idle {
    uint32_t polls;
    uint32_t spin;               /* --echo-spin */
    struct cxl_backoff b;
};

static void idle_init(struct idle *s, uint32_t spin)
{
    *s = (struct idle){.spin = spin};
    cxl_backoff_init(&s->b, 0, ECHO_YIELD_US, 0);
}

static ALWAYS_INLINE void echo_idle(struct idle *s)
{
    if (s->polls < s->spin) {
        s->polls++;
        cxl_cpu_relax();
    } else {
        cxl_backoff_wait(&s->b);
    }
}

static ALWAYS_INLINE void echo_busy(struct idle *s)
{
    if (s->polls) {
        if (s->polls >= s->spin)
            cxl_backoff_done(&s->b);
        s->polls = 0;
    }
}

/* Both servers copy what they echo the same way: libc's memcpy, whose
 * small-size paths (overlapping vector moves) suit every length here. */
static ALWAYS_INLINE void copy_payload(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    memcpy(dst, src, len);
}

/* Echo until the stop message: 0, or -1 on a ring error. */
static int echo_lib(struct cxl_queue *req, struct cxl_queue *resp, uint32_t spin,
                    struct echo_stats *st, struct pp_err *err)
{
    struct idle s;
    idle_init(&s, spin);
    for (;;) {
        struct cxl_msg m;
        uint32_t n = 0;
        int rc, stop = 0;
        while ((rc = cxl_queue_peek(req, &m)) == 1) {
            struct cxl_msg_hdr h = {.op = m.hdr.op};
            uint8_t *payload;
            int rr = cxl_queue_reserve(resp, &h, m.hdr.len, &payload);
            if (rr == CXL_EAGAIN) { /* responses full: answer it next batch */
                cxl_queue_rewind(req, &m);
                break;
            }
            if (rr)
                return pp_fail(err, "libcxldsm: reserve response: %s: %s", cxl_strerror(rr),
                               cxl_last_error());
            copy_payload(payload, m.payload, m.hdr.len);
            n++;
            if (m.hdr.op == OP_STOP) {
                stop = 1;
                break;
            }
        }
        if (rc < 0)
            return pp_fail(err, "libcxldsm: peek request: %s: %s", cxl_strerror(rc),
                           cxl_last_error());
        if (n) {
            cxl_queue_submit(resp);
            cxl_queue_release(req);
            echo_busy(&s);
            st->batches++;
            st->msgs += n;
        } else {
            echo_idle(&s);
            st->empty++;
        }
        if (stop)
            return 0;
    }
}

/* Echo until the stop message; len: the bytes of a bare message (its 12 B
 * stamp and its payload), all copied, as the library's server writes a 12 B
 * header and copies the payload. */
static void echo_bare(struct bare_q *req, struct bare_q *resp, uint32_t len, uint32_t spin,
                      struct echo_stats *st)
{
    struct idle s;
    idle_init(&s, spin);
    for (;;) {
        const uint8_t *in;
        uint32_t n = 0;
        int stop = 0;
        while ((in = bare_peek(req)) != NULL) {
            uint8_t *out = bare_reserve(resp);
            if (!out) {
                bare_unpeek(req);
                break;
            }
            copy_payload(out, in, len);
            n++;
            uint64_t seq;
            memcpy(&seq, out, sizeof seq);
            if (seq == STOP_SEQ) {
                stop = 1;
                break;
            }
        }
        if (n) {
            bare_publish(resp);
            bare_publish(req);
            echo_busy(&s);
            st->batches++;
            st->msgs += n;
        } else {
            echo_idle(&s);
            st->empty++;
        }
        if (stop)
            return;
    }
}

/* The server's ends of ring 0 of the library medium; *l its layout. */
static int attach_lib(const struct opts *o, struct cxl_medium *m, struct cxl_queue *req,
                      struct cxl_queue *resp, struct cxl_layout **l, struct pp_err *err)
{
    int rc;
    if ((rc = cxl_layout_attach(m, l)) != 0)
        return pp_fail(err, "attach %s: %s: %s", o->path, cxl_strerror(rc), cxl_last_error());
    struct cxl_delay_model d = pp_delay(o);
    cxl_layout_set_delay(*l, &d);
    if ((rc = cxl_queue_init(req, *l, 0, CXL_REQ, CXL_CONSUMER)) != 0 ||
        (rc = cxl_queue_init(resp, *l, 0, CXL_RESP, CXL_PRODUCER)) != 0) {
        pp_fail(err, "queue init: %s: %s", cxl_strerror(rc), cxl_last_error());
        cxl_layout_close(*l);
        return -1;
    }
    cxl_server_announce(*l, 1, NULL, NULL);
    return 0;
}

/* The server's ends of the bare ring (the client wrote its control page). */
static int attach_bare(const struct opts *o, struct cxl_medium *m, struct bare_q *req,
                       struct bare_q *resp, struct pp_err *err)
{
    struct bare_ctl *c;
    if (bare_attach(m, bare_slot_size(o), &c, err) != 0)
        return -1;
    uint64_t dt = cxl_delay_ticks(o->delay_ns);
    bare_init(req, c, 0, 0, dt);
    bare_init(resp, c, 1, 1, dt);
    c->server_pid = (uint64_t)getpid();
    c->server_base = (uint64_t)(uintptr_t)c;
    return 0;
}

/* The server's two lines on --ready-fd: "ready" when it serves, "stats"
 * when it stops. */
static void say_ready(const struct opts *o, struct cxl_medium *m)
{
    if (o->ready_fd >= 0)
        dprintf(o->ready_fd, "ready pid=%d base=%p cpu=%d\n", (int)getpid(), cxl_medium_base(m),
                sched_getcpu());
}

static void say_stats(const struct opts *o, const struct echo_stats *st)
{
    if (o->ready_fd >= 0) {
        dprintf(o->ready_fd, "stats batches=%" PRIu64 " msgs=%" PRIu64 " empty=%" PRIu64 "\n",
                st->batches, st->msgs, st->empty);
        close(o->ready_fd);
    }
}

/* Serve ring 0 of the library medium m until the stop message. */
static int serve_lib(const struct opts *o, struct cxl_medium *m, struct pp_err *err)
{
    struct cxl_queue req, resp;
    struct cxl_layout *l;
    struct echo_stats st = {0};
    if (attach_lib(o, m, &req, &resp, &l, err) != 0)
        return -1;
    say_ready(o, m);
    int rc = echo_lib(&req, &resp, o->echo_spin, &st, err);
    if (rc == 0)
        say_stats(o, &st);
    cxl_layout_close(l);
    return rc;
}

/* Serve the bare ring of medium m until the stop message. */
static int serve_bare(const struct opts *o, struct cxl_medium *m, struct pp_err *err)
{
    struct bare_q req, resp;
    struct echo_stats st = {0};
    if (attach_bare(o, m, &req, &resp, err) != 0)
        return -1;
    say_ready(o, m);
    echo_bare(&req, &resp, BARE_STAMP + bare_payload(o), o->echo_spin, &st);
    say_stats(o, &st);
    return 0;
}

int echo_main(const struct opts *o, struct pp_err *err)
{
    prctl(PR_SET_NAME, "pingpong-echo"); /* tell it from the client in ps/perf */
    if (o->cpu >= 0 && pin_to(o->cpu, "echo server", err) != 0)
        return -1;
    if (!o->path)
        return pp_fail(err, "--role echo needs --path");
    struct cxl_medium *m;
    int rc = open_medium(o, o->path, 0, &m);
    if (rc)
        return pp_fail(err, "open %s: %s: %s", o->path, cxl_strerror(rc), cxl_last_error());
    if (o->hugepage)
        advise_huge(m, NULL); /* silently: the client reports */
    rc = o->impl == IMPL_LIB ? serve_lib(o, m, err) : serve_bare(o, m, err);
    cxl_medium_close(m);
    return rc;
}
