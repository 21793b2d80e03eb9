/* conn.c - one connection of the cxl_sec_mgr daemon, non-blocking: a node
 * goes message 1 -> message 2 -> message 3 -> encrypted requests (the
 * handshake and the frames are the library's, sec/sec.h, on buffers; the
 * decisions policy.c's); a control connection sends one request line and
 * gets one reply line. On the fabric socket a granted descriptor goes with
 * the first byte of its reply frame (SCM_RIGHTS, docs/FABRIC.md). Which
 * pool a connection is in, and when it is dropped for another, is
 * admit.c's business. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "daemon.h"

uint32_t conn_idle_ms(const struct mgr_daemon *d)
{
    return 60000u + 2000u * d->cfg.refresh_s;
}

uint32_t conn_handshake_ms(const struct mgr_daemon *d)
{
    return d->lim.handshake_timeout_s * 1000u;
}

uint64_t conn_stamp(void)
{
    static uint64_t last;
    return ++last;
}

/* Output goes to mem (cap bytes), nothing in it yet. */
static void pending_over(struct mgr_conn *c, uint8_t *mem, size_t cap)
{
    c->pending = (struct cxl_buf){.data = mem, .cap = cap, .limit = cap};
}

struct mgr_conn *conn_new(int fd, enum conn_kind kind, uint64_t deadline)
{
    struct mgr_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        fprintf(stderr, "cxl_sec_mgr: out of memory for a connection\n");
        return NULL;
    }
    c->fd = fd;
    c->pass_fd = -1;
    c->kind = kind;
    pending_over(c, c->out, sizeof c->out);
    c->deadline = deadline;
    c->since = c->last_active = cxl_now_ms();
    c->stamp = conn_stamp();
    return c;
}

static void drop_big(struct mgr_conn *c)
{
    if (c->out_big)
        sodium_free(c->out_big); /* wipes it */
    c->out_big = NULL;
    pending_over(c, c->out, sizeof c->out);
}

void conn_close(struct mgr_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->pass_fd >= 0)
        close(c->pass_fd);
    drop_big(c);
    cxl_sec_hs_free(c->hs);
    cxl_sec_chan_free(c->chan);
    sodium_memzero(c, sizeof *c);
    c->fd = -1;
    c->pass_fd = -1;
}

/* The start of the queued reply with c->pass_fd attached (SCM_RIGHTS); the
 * rest, if any, goes as usual. Our copy of the descriptor is closed either
 * way. -1: not sent (the peer's buffer is full or it went away, or the
 * kernel's limit of descriptors in flight): the connection is to close. */
static int send_with_fd(struct mgr_conn *c)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = c->pending.data + c->pending.start,
                        .iov_len = cxl_buf_len(&c->pending)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &c->pass_fd, sizeof(int));
    ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    int err = errno;
    close(c->pass_fd);
    c->pass_fd = -1;
    if (n <= 0) {
        fprintf(stderr, "cxl_sec_mgr: fabric: a descriptor for node %u not sent (%s): "
                "connection closed\n", c->node_id, n < 0 ? strerror(err) : "nothing sent");
        return -1;
    }
    c->pending.start += (size_t)n;
    return 0;
}

/* Send what is queued; close when done and asked to. */
void conn_flush(struct mgr_conn *c)
{
    if (c->pass_fd >= 0 && send_with_fd(c) != 0) {
        conn_close(c);
        return;
    }
    if (cxl_buf_send(&c->pending, c->fd) != 0) {
        conn_close(c); /* the peer went away */
        return;
    }
    if (cxl_buf_len(&c->pending))
        return;
    drop_big(c);
    if (c->closing)
        conn_close(c);
}

static void queue_frame(struct mgr_conn *c, const uint8_t *body, size_t len)
{
    uint8_t *p = cxl_buf_tail(&c->pending, 4 + len); /* handshake messages: they fit */
    p[0] = (uint8_t)len, p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)(len >> 16), p[3] = 0;
    memcpy(p + 4, body, len);
    c->pending.end += 4 + len;
}

enum { FRAME_READY = 1, FRAME_MORE = 0, FRAME_CLOSED = -1, FRAME_MALFORMED = -2 };

/* Read towards a whole frame of at most max bytes. */
static int read_frame(struct mgr_conn *c, size_t max)
{
    for (;;) {
        int in_hdr = c->hdr_have < 4;
        uint8_t *dst = in_hdr ? c->hdr + c->hdr_have : c->body + c->body_have;
        size_t want = in_hdr ? 4 - c->hdr_have : c->body_len - c->body_have;
        ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return FRAME_MORE;
        if (n <= 0)
            return FRAME_CLOSED;
        c->got_bytes = 1;
        if (in_hdr && (c->hdr_have += (size_t)n) == 4) {
            uint32_t len;
            if (cxl_sec_frame_len(c->hdr, &len) != 0 || len > max)
                return FRAME_MALFORMED;
            c->body_len = len, c->body_have = 0;
        } else if (!in_hdr) {
            c->body_have += (size_t)n;
        }
        if (c->hdr_have == 4 && c->body_have == c->body_len) {
            c->hdr_have = 0;
            return FRAME_READY;
        }
    }
}

/* ---- the node protocol -------------------------------------------------------------- */

void conn_refuse(struct mgr_daemon *d, struct mgr_conn *c, const char *reason)
{
    int unknown = c->hs && !cxl_sec_hs_known(c->hs);
    policy_refuse_peer(d, c->have_id, c->node_id, unknown ? "unknown-node" : reason, c->peer);
    conn_close(c);
}

static void on_msg1(struct mgr_daemon *d, struct mgr_conn *c)
{
    uint8_t m2[CXL_SEC_MSG2_BYTES];
    if (c->body_len == CXL_SEC_MSG1_BYTES) { /* the id, for the log, even if the rest is bad */
        c->node_id = (uint16_t)(c->body[5] | c->body[6] << 8);
        c->have_id = 1;
    }
    if (cxl_sec_hs_answer(&d->key, policy_lookup, d, c->body, c->body_len, m2, &c->hs) != 0) {
        conn_refuse(d, c, "malformed");
        return;
    }
    if (policy_lookup(d, c->node_id, c->pub) != 0) /* unknown: refused at message 3 */
        memset(c->pub, 0, sizeof c->pub);
    queue_frame(c, m2, sizeof m2);
    c->stage = ST_MSG3;
    c->since = cxl_now_ms();
    c->stamp = conn_stamp();
}

static void on_msg3(struct mgr_daemon *d, struct mgr_conn *c)
{
    int rc = cxl_sec_hs_confirm(c->hs, c->body, c->body_len, &c->chan);
    if (rc) {
        conn_refuse(d, c, rc == CXL_EPROTO ? "malformed" : "auth-failed");
        return;
    }
    const struct mgr_node *n = config_node_by_id(&d->cfg, c->node_id);
    if (!n || sodium_memcmp(n->pub, c->pub, 32) != 0) { /* a reload changed its key */
        conn_refuse(d, c, "auth-failed");
        return;
    }
    cxl_sec_hs_free(c->hs);
    c->hs = NULL;
    c->stage = ST_READY; /* admit_promote moves it to the channels */
    c->last_active = cxl_now_ms();
    c->stamp = conn_stamp();
    c->deadline = c->last_active + conn_idle_ms(d);
}

/* Where a sealed reply of len bytes goes: out, or a buffer of its own. */
static uint8_t *reply_room(struct mgr_conn *c, size_t len, size_t *cap)
{
    size_t need = 4 + len + CXL_SEC_TAG_BYTES;
    *cap = sizeof c->out;
    if (need <= sizeof c->out)
        return c->out;
    drop_big(c);
    if (!(c->out_big = sodium_malloc(need)))
        return NULL;
    *cap = need;
    return c->out_big;
}

static void on_request(struct mgr_daemon *d, struct mgr_conn *c)
{
    static uint8_t reply[CXL_SEC_MSG_MAX]; /* one request at a time */
    uint8_t msg[REQUEST_FRAME_MAX], *room = NULL;
    size_t n, frame, cap = 0;
    int rc = cxl_sec_chan_open(c->chan, c->body, c->body_len, msg, sizeof msg, &n);
    struct mgr_req_conn on = {.on_fabric = c->on_fabric, .sock = c->fd, .pass_fd = &c->pass_fd};
    int len = rc ? rc : policy_request(d, c->node_id, c->pub, msg, n, &on, reply, sizeof reply);
    if (len >= 0 && !(room = reply_room(c, (size_t)len, &cap)))
        rc = cxl_fail(CXL_ESYS, "out of memory for a reply");
    if (len >= 0 && room)
        rc = cxl_sec_chan_seal(c->chan, reply, (size_t)len, room, cap, &frame);
    sodium_memzero(reply, len > 0 ? (size_t)len : 0);
    sodium_memzero(msg, sizeof msg);
    if (rc || len < 0) {
        conn_refuse(d, c, rc ? "bad-frame" : "bad-request");
        return;
    }
    pending_over(c, room, cap);
    c->pending.end = frame;
    c->last_active = cxl_now_ms();
    c->stamp = conn_stamp();
    c->deadline = c->last_active + conn_idle_ms(d);
}

void conn_node_readable(struct mgr_daemon *d, struct mgr_conn *c)
{
    static const size_t max[] = {[ST_MSG1] = CXL_SEC_MSG1_BYTES, [ST_MSG3] = CXL_SEC_MSG3_BYTES,
                                 [ST_READY] = REQUEST_FRAME_MAX};
    int r = read_frame(c, max[c->stage]);
    if (r == FRAME_MORE)
        return;
    if (r == FRAME_MALFORMED) {
        conn_refuse(d, c, "malformed");
        return;
    }
    if (r == FRAME_CLOSED) { /* a node that stops after message 2 could not verify us */
        if (c->stage == ST_MSG3)
            conn_refuse(d, c, "auth-failed");
        else if (c->stage == ST_MSG1 && c->got_bytes)
            conn_refuse(d, c, "malformed");
        else
            conn_close(c); /* a probe, or a node done with its channel */
        return;
    }
    if (c->stage == ST_MSG1)
        on_msg1(d, c);
    else if (c->stage == ST_MSG3)
        on_msg3(d, c);
    else
        on_request(d, c);
    if (c->fd >= 0)
        conn_flush(c);
}

void conn_expire(struct mgr_daemon *d, struct mgr_conn *c)
{
    if (c->kind == CONN_NODE && c->stage != ST_READY && (c->got_bytes || c->stage == ST_MSG3))
        conn_refuse(d, c, "timeout");
    else
        conn_close(c);
}

/* ---- control connections ------------------------------------------------------------- */

void conn_control_readable(struct mgr_daemon *d, struct mgr_conn *c)
{
    ssize_t n = recv(c->fd, c->line + c->line_len, sizeof c->line - 1 - c->line_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->line_len += (size_t)n;
    c->line[c->line_len] = '\0';
    char *nl = strchr(c->line, '\n');
    char reply[OUT_MAX - 1];
    if (!nl && c->line_len < sizeof c->line - 1)
        return;
    if (nl)
        *nl = '\0';
    if (nl)
        control_handle(d, c->line, reply, sizeof reply);
    else
        snprintf(reply, sizeof reply, "ERR request line too long");
    cxl_buf_append(&c->pending, reply, strlen(reply)); /* fits: reply is smaller than out */
    cxl_buf_append(&c->pending, "\n", 1);
    c->closing = 1;
    conn_flush(c);
}
