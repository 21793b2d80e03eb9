/* input.c - a client's commands: read (at most READ_BUDGET a wake-up; a big
 * argument into a buffer sized for it once, as Redis does), parsed
 * incrementally (the parser keeps its place across reads: a 60 MB argument
 * is not scanned again on every read), and dispatched in order: over the
 * client's ring, or answered here once the commands before it are answered.
 * A command that cannot go yet (its ring is full, or an answer made here
 * waits for earlier replies) blocks the connection: it is not read until
 * that command went, so its input stays one request plus one read. A
 * protocol error gets Redis's reply and closes the connection after it, as
 * Redis does; an empty request ("*0", "*-1", an empty line) gets nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gateway.h"

#define READ_CHUNK 65536
#define READ_BUDGET (256 * 1024) /* per connection per wake-up: fairness */
#define BIG_ARG (32 * 1024)      /* Redis's PROTO_MBULK_BIG_ARG: read it into a buffer of its size */

static size_t out_pending(const struct gw_conn *c) { return cxl_buf_len(&c->out); }

static int wants_input(const struct gw *g, const struct gw_conn *c)
{
    return c->fd >= 0 && !c->read_closed && !c->closing && !c->blocked && out_pending(c) < g->o->max_output;
}

static uint64_t tag_of(uint32_t slot, uint32_t gen) { return ((uint64_t)slot << 32) | gen; }

/* A slot whose earlier connection authenticated on this ring: RESET its
 * connection number there before this connection's first command goes,
 * so that nobody inherits another client's user. The command waits for
 * the answer (gw_reset_answered): a RESET that did not happen (the ring
 * lost it, Redis refused it) must not let the command run as the earlier
 * user. 0 = the slot is clean, 1 = wait for the RESET, or a CXL_E* code. */
static int reset_slot(struct gw *g, uint32_t slot)
{
    static const char *const argv[] = {"RESET"};
    static const size_t len[] = {5};
    struct gw_conn *c = &g->conn[slot];
    if (!(c->dirty & (1ull << c->ring)))
        return 0;
    if (c->resetting)
        return 1;
    cxl_kv_set_conn(g->kv[c->ring], gw_conn_number(slot));
    int rc = cxl_kv_submit_command(g->kv[c->ring], 1, argv, len, GW_TAG_RESET | tag_of(slot, c->gen));
    if (rc)
        return rc;
    c->resetting = 1;
    c->inflight++;
    g->inflight++;
    return 1;
}

void gw_reset_answered(struct gw *g, uint32_t slot, const struct cxl_kv_result *r)
{
    struct gw_conn *c = &g->conn[slot];
    c->resetting = 0;
    if (r->status == CXL_KV_REPLY && r->len == 8 && memcmp(r->data, "+RESET\r\n", 8) == 0) {
        c->dirty &= ~(1ull << c->ring);
        return;
    }
    const char *why = r->status < 0 ? "the ring failed" : (const char *)r->data;
    const char *eol = r->status < 0 ? NULL : memchr(why, '\r', r->len);
    size_t n = r->status < 0 ? strlen(why) : eol ? (size_t)(eol - why) : r->len;
    gw_log_client(g, "ring %u: connection %u was not reset (%.*s): client closed, its slot resets again",
                  cxl_kv_ring(g->kv[c->ring]), gw_conn_number(slot), (int)(n > 80 ? 80 : n), why);
    gw_conn_drop(g, slot);
}

static int word_is(const struct cxl_resp_args *a, const char *w)
{
    size_t n = strlen(w);
    return a->argvlen[0] == n && strncasecmp(a->argv[0], w, n) == 0;
}

/* A command that leaves state on the connection in the module: its user
 * (AUTH, HELLO), or on a cluster node its ASKING / READONLY flags. The
 * slot's next client must not inherit it: the gateway RESETs the slot first. */
static int leaves_state(const struct cxl_resp_args *a)
{
    return word_is(a, "AUTH") || word_is(a, "HELLO") || word_is(a, "ASKING") || word_is(a, "READONLY") ||
           word_is(a, "READWRITE");
}

static int submit(struct gw *g, struct gw_conn *c, uint64_t tag, enum gw_route route)
{
    struct cxl_kv *kv = g->kv[c->ring];
    const struct cxl_resp_args *a = &g->args;
    cxl_kv_set_conn(kv, gw_conn_number(gw_tag_slot(tag)));
    if (leaves_state(a)) /* this slot's number may now have a user (or flags) on this ring */
        c->authed = 1;
    if (route == GW_FAST && a->argvlen[0] == 3 && (a->argv[0][0] | 32) == 'g')
        return cxl_kv_submit_get(kv, a->argv[1], (uint32_t)a->argvlen[1], tag);
    if (route == GW_FAST && a->argc == 2)
        return cxl_kv_submit_del(kv, a->argv[1], (uint32_t)a->argvlen[1], tag);
    if (route == GW_FAST)
        return cxl_kv_submit_set(kv, a->argv[1], (uint32_t)a->argvlen[1], a->argv[2],
                                 (uint32_t)a->argvlen[2], 0, tag);
    return cxl_kv_submit_command(kv, a->argc, a->argv, a->argvlen, tag);
}

/* An answer made here goes out only when nothing is in flight before it.
 * 1 if it was queued, 0 if the connection must wait. */
static int answer_here(struct gw_conn *c, const char *text, size_t len, int close_after)
{
    if (c->inflight)
        return 0;
    cxl_buf_append(&c->out, text, len);
    c->closing |= close_after;
    return 1;
}

static void wait_for_ring(struct gw *g, uint32_t slot)
{
    if (!g->conn[slot].waiting) {
        g->conn[slot].waiting = 1;
        g->waiting[g->nwaiting++] = slot;
    }
}

/* The parsed command in g->args: 1 = it went (or was answered), 0 = the
 * connection must wait, -1 = the connection was closed. */
static int dispatch(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    if (g->args.argc == 0)
        return 1; /* an empty request: Redis answers nothing */
    const char *reply;
    size_t rlen;
    int close_after;
    enum gw_route route = gw_route(g->o, &g->args, &reply, &rlen, &close_after);
    if (route == GW_ABORT) {
        gw_log_client(g, "possible cross-protocol attack: a client sent POST or Host:, connection closed");
        gw_conn_drop(g, slot);
        return -1;
    }
    if (route == GW_LOCAL || route == GW_REFUSE)
        return answer_here(c, reply, rlen, close_after);
    int rc = reset_slot(g, slot);
    if (rc == 1)
        return 0; /* again once Redis answered the RESET */
    if (rc == 0)
        rc = submit(g, c, tag_of(slot, c->gen) | gw_cluster_tag(g, &g->args), route);
    if (rc == CXL_EAGAIN) {
        wait_for_ring(g, slot); /* the ring is full: again when replies come */
        return 0;
    }
    if (rc) {
        char text[300];
        int len = snprintf(text, sizeof text, "-ERR gateway: %s\r\n", cxl_last_error());
        if (rc == CXL_ELOST)
            g->lost |= 1ull << c->ring; /* the loop claims it again */
        return answer_here(c, text, (size_t)len, rc == CXL_ELOST);
    }
    c->inflight++;
    g->inflight++;
    return 1;
}

/* Redis's reply to a malformed request, then close. 0 = wait (replies
 * before it are still to come), -1 = closed (out of memory). */
static int protocol_error(struct gw *g, uint32_t slot, int64_t rc)
{
    struct gw_conn *c = &g->conn[slot];
    if (rc != CXL_EPROTO) {
        gw_conn_drop(g, slot);
        return -1;
    }
    char text[CXL_RESP_ERR_MAX + 16];
    int len = snprintf(text, sizeof text, "-ERR %s\r\n", cxl_resp_parser_error(&c->parser));
    answer_here(c, text, (size_t)len, 1);
    return 0;
}

/* Parse and dispatch what the connection holds, as far as order allows.
 * -1 if the connection was closed. */
static int parse_all(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    c->blocked = 0;
    while (!c->closing && c->in.end > c->in.start && out_pending(c) < g->o->max_output) {
        int64_t n = cxl_resp_parse(&c->parser, c->in.data + c->in.start, c->in.end - c->in.start, &g->args);
        if (n == 0)
            break;
        if (n < 0) {
            if (protocol_error(g, slot, n) < 0)
                return -1;
            c->blocked = !c->closing;
            break;
        }
        int rc = dispatch(g, slot);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            c->blocked = 1;
            break;
        }
        c->in.start += (size_t)n;
        cxl_resp_parser_next(&c->parser);
    }
    if (c->in.start == c->in.end)
        c->in.start = c->in.end = 0;
    return gw_conn_account(g, slot);
}

void gw_process_input(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    for (;;) {
        if (c->fd < 0 || parse_all(g, slot) < 0)
            return;
        int was_full = out_pending(c) >= g->o->max_output;
        gw_conn_flush(g, slot);
        /* commands already read waited for room in the output: go on */
        if (c->fd < 0 || !was_full || out_pending(c) >= g->o->max_output || c->blocked || c->closing ||
            c->in.end == c->in.start)
            return;
    }
}

/* Room for the next read: a big argument's missing bytes at once, exactly;
 * otherwise a chunk. Returns how much to read, 0 when out of memory. */
static size_t make_room(struct gw_conn *c)
{
    size_t missing = cxl_resp_parser_missing(&c->parser, c->in.end - c->in.start);
    if (missing >= BIG_ARG)
        return cxl_buf_tail_exact(&c->in, missing) ? missing : 0;
    return cxl_buf_tail(&c->in, READ_CHUNK) ? READ_CHUNK : 0;
}

void gw_read_input(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    size_t budget = READ_BUDGET;
    while (budget && wants_input(g, c)) {
        size_t want = make_room(c);
        if (want == 0) {
            gw_conn_drop(g, slot);
            return;
        }
        ssize_t n = read(c->fd, c->in.data + c->in.end, want < budget ? want : budget);
        if (n > 0) {
            c->in.end += (size_t)n;
            budget -= (size_t)n < budget ? (size_t)n : budget;
            if (parse_all(g, slot) < 0)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) { /* reset: nobody to answer */
            gw_conn_drop(g, slot);
            return;
        }
        c->read_closed = 1; /* EOF: answer what was asked, then close; a half
                             * request left in the buffer is dropped */
    }
    gw_process_input(g, slot);
}
