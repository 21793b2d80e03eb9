/* daemon.c - the cxl_sec_mgr daemon: start-up (config, manager key, audit
 * log, state, sockets) and one poll loop over the TCP listener, the control
 * socket and every connection. All sockets are non-blocking and every
 * connection has a deadline (the handshake, an idle channel, a control
 * request), so a slow or dead peer never holds up the others. A node
 * connection goes message 1 -> message 2 -> message 3 -> encrypted requests;
 * the handshake and the frames are the library's (cxl/sec.h, on buffers),
 * the decisions policy.c's. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "sec_mgr.h"

#define MAX_CONNS 1024
#define HANDSHAKE_MS 5000u
#define CONTROL_MS 5000u
#define REQUEST_FRAME_MAX 1024u /* requests are one short line */
#define OUT_MAX 2048u
#define LINE_MAX_CTL 512u

enum conn_kind { CONN_NODE, CONN_CONTROL };
enum conn_stage { ST_MSG1, ST_MSG3, ST_READY };

struct mgr_conn {
    int fd;
    enum conn_kind kind;
    enum conn_stage stage;
    char peer[80];
    uint64_t deadline;  /* monotonic ms */
    int got_bytes;
    int have_id;
    uint16_t node_id;
    struct cxl_sec_hs *hs;
    struct cxl_sec_chan *chan;
    uint8_t hdr[4];
    size_t hdr_have;
    uint8_t body[REQUEST_FRAME_MAX];
    size_t body_len, body_have;
    uint8_t out[OUT_MAX];
    size_t out_len, out_off;
    int closing;        /* close once out is flushed */
    char line[LINE_MAX_CTL];
    size_t line_len;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static uint32_t idle_ms(const struct mgr_daemon *d)
{
    return 60000u + 2000u * d->cfg.refresh_s;
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_close(struct mgr_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    cxl_sec_hs_free(c->hs);
    cxl_sec_chan_free(c->chan);
    sodium_memzero(c, sizeof *c);
    c->fd = -1;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "local");
    }
}

static struct mgr_conn *conn_add(struct mgr_daemon *d, int fd, enum conn_kind kind)
{
    struct mgr_conn *c = calloc(1, sizeof *c);
    struct mgr_conn **arr = c ? realloc(d->conns, (d->n_conns + 1) * sizeof *arr) : NULL;
    if (!arr) {
        free(c);
        close(fd);
        fprintf(stderr, "cxl_sec_mgr: out of memory for a connection\n");
        return NULL;
    }
    d->conns = arr;
    c->fd = fd;
    c->kind = kind;
    c->deadline = mgr_mono_ms() + (kind == CONN_NODE ? HANDSHAKE_MS : CONTROL_MS);
    d->conns[d->n_conns++] = c;
    return c;
}

/* Send what is queued; close when done and asked to. */
static void conn_flush(struct mgr_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        conn_close(c); /* the peer went away */
        return;
    }
    c->out_off = c->out_len = 0;
    if (c->closing)
        conn_close(c);
}

static void queue_frame(struct mgr_conn *c, const uint8_t *body, size_t len)
{
    uint8_t *p = c->out + c->out_len;
    p[0] = (uint8_t)len, p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)(len >> 16), p[3] = 0;
    memcpy(p + 4, body, len);
    c->out_len += 4 + len;
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

/* ---- the node protocol -------------------------------------------------------------------- */

static void node_refuse(struct mgr_daemon *d, struct mgr_conn *c, const char *reason)
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
        node_refuse(d, c, "malformed");
        return;
    }
    queue_frame(c, m2, sizeof m2);
    c->stage = ST_MSG3;
}

static void on_msg3(struct mgr_daemon *d, struct mgr_conn *c)
{
    int rc = cxl_sec_hs_confirm(c->hs, c->body, c->body_len, &c->chan);
    if (rc) {
        node_refuse(d, c, rc == CXL_EPROTO ? "malformed" : "auth-failed");
        return;
    }
    cxl_sec_hs_free(c->hs);
    c->hs = NULL;
    c->stage = ST_READY;
    c->deadline = mgr_mono_ms() + idle_ms(d);
}

static void on_request(struct mgr_daemon *d, struct mgr_conn *c)
{
    uint8_t msg[REQUEST_FRAME_MAX], reply[512];
    size_t n, frame;
    int rc = cxl_sec_chan_open(c->chan, c->body, c->body_len, msg, sizeof msg, &n);
    int len = rc ? rc : policy_request(d, c->node_id, msg, n, reply, sizeof reply);
    if (len >= 0)
        rc = cxl_sec_chan_seal(c->chan, reply, (size_t)len, c->out, sizeof c->out, &frame);
    sodium_memzero(reply, sizeof reply);
    sodium_memzero(msg, sizeof msg);
    if (rc || len < 0) {
        node_refuse(d, c, rc ? "bad-frame" : "bad-request");
        return;
    }
    c->out_len = frame;
    c->out_off = 0;
    c->deadline = mgr_mono_ms() + idle_ms(d);
}

static void on_node_readable(struct mgr_daemon *d, struct mgr_conn *c)
{
    static const size_t max[] = {[ST_MSG1] = CXL_SEC_MSG1_BYTES, [ST_MSG3] = CXL_SEC_MSG3_BYTES,
                                 [ST_READY] = REQUEST_FRAME_MAX};
    int r = read_frame(c, max[c->stage]);
    if (r == FRAME_MORE)
        return;
    if (r == FRAME_MALFORMED) {
        node_refuse(d, c, "malformed");
        return;
    }
    if (r == FRAME_CLOSED) { /* a node that stops after message 2 could not verify us */
        if (c->stage == ST_MSG3)
            node_refuse(d, c, "auth-failed");
        else if (c->stage == ST_MSG1 && c->got_bytes)
            node_refuse(d, c, "malformed");
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

/* ---- control connections --------------------------------------------------------------- */

static void on_control_readable(struct mgr_daemon *d, struct mgr_conn *c)
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
    size_t len = strlen(reply);
    memcpy(c->out, reply, len);
    c->out[len] = '\n';
    c->out_len = len + 1;
    c->closing = 1;
    conn_flush(c);
}

/* ---- listeners ---------------------------------------------------------------------------- */

static int tcp_listen(const char *hostport, int *out)
{
    char host[256], port[8];
    uint16_t p;
    int rc = cxl_parse_hostport("--listen", hostport, host, sizeof host, &p);
    if (rc)
        return rc;
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
        memmove(host, host + 1, hl - 2), host[hl - 2] = '\0';
    snprintf(port, sizeof port, "%u", p);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai)
        return cxl_fail(CXL_EINVAL, "--listen %s: %s", hostport, gai_strerror(gai));
    rc = cxl_fail(CXL_ESYS, "--listen %s: no usable address", hostport);
    for (struct addrinfo *ai = res; ai && rc; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
            *out = fd;
            rc = 0;
        } else {
            rc = cxl_fail_errno(CXL_ESYS, "--listen %s", hostport);
            close(fd);
        }
    }
    freeaddrinfo(res);
    return rc;
}

static void accept_nodes(struct mgr_daemon *d)
{
    static uint64_t last_full_msg;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(d->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (d->n_conns >= MAX_CONNS) {
            close(fd);
            if (mgr_mono_ms() - last_full_msg > 1000)
                fprintf(stderr, "cxl_sec_mgr: %d connections open: refusing more\n", MAX_CONNS);
            last_full_msg = mgr_mono_ms();
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct mgr_conn *c = conn_add(d, fd, CONN_NODE);
        if (c)
            peer_name(&ss, c->peer, sizeof c->peer);
    }
}

static void accept_control(struct mgr_daemon *d)
{
    for (;;) {
        int fd = accept4(d->control_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (!control_peer_ok(fd) || d->n_conns >= MAX_CONNS) {
            fprintf(stderr, "cxl_sec_mgr: control connection refused (another user, or full)\n");
            close(fd);
            continue;
        }
        struct mgr_conn *c = conn_add(d, fd, CONN_CONTROL);
        if (c)
            snprintf(c->peer, sizeof c->peer, "control");
    }
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void expire(struct mgr_daemon *d, struct mgr_conn *c)
{
    if (c->kind == CONN_NODE && c->stage != ST_READY && (c->got_bytes || c->stage == ST_MSG3))
        node_refuse(d, c, "timeout");
    else
        conn_close(c);
}

static void sweep(struct mgr_daemon *d)
{
    size_t j = 0;
    uint64_t now = mgr_mono_ms();
    for (size_t i = 0; i < d->n_conns; i++) {
        struct mgr_conn *c = d->conns[i];
        if (c->fd >= 0 && now >= c->deadline)
            expire(d, c);
        if (c->fd >= 0)
            d->conns[j++] = c;
        else
            free(c);
    }
    d->n_conns = j;
}

static int poll_timeout(const struct mgr_daemon *d)
{
    uint64_t now = mgr_mono_ms();
    int t = policy_next_ms(d);
    for (size_t i = 0; i < d->n_conns; i++) {
        uint64_t left = d->conns[i]->deadline > now ? d->conns[i]->deadline - now : 0;
        if (left < (uint64_t)t)
            t = (int)left;
    }
    return t;
}

static int serve(struct mgr_daemon *d)
{
    struct pollfd *p = NULL;
    while (!stop_flag) {
        struct pollfd *np = realloc(p, (d->n_conns + 2) * sizeof *p);
        if (!np)
            break;
        p = np;
        p[0] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = d->control_fd, .events = POLLIN};
        for (size_t i = 0; i < d->n_conns; i++) {
            struct mgr_conn *c = d->conns[i];
            p[i + 2] = (struct pollfd){.fd = c->fd,
                                       .events = c->out_len > c->out_off ? POLLOUT : POLLIN};
        }
        size_t n = d->n_conns;
        if (poll(p, n + 2, poll_timeout(d)) < 0 && errno != EINTR) {
            fprintf(stderr, "cxl_sec_mgr: poll: %s\n", strerror(errno));
            break;
        }
        for (size_t i = 0; i < n; i++) {
            struct mgr_conn *c = d->conns[i];
            short ev = p[i + 2].revents;
            if (!ev || c->fd < 0)
                continue;
            if (c->out_len > c->out_off)
                conn_flush(c);
            else if (c->kind == CONN_NODE)
                on_node_readable(d, c);
            else
                on_control_readable(d, c);
        }
        if (p[0].revents)
            accept_nodes(d);
        if (p[1].revents)
            accept_control(d);
        sweep(d);
        policy_tick(d);
    }
    free(p);
    return stop_flag ? 0 : -1;
}

/* ---- start and stop ------------------------------------------------------------------------ */

static void mark_revoked(struct mgr_daemon *d)
{
    for (size_t i = 0; i < d->cfg.n_nodes; i++) {
        struct mgr_node *n = &d->cfg.nodes[i];
        if (!state_is_revoked(&d->state, n->pub))
            continue;
        n->revoked = 1;
        fprintf(stderr, "cxl_sec_mgr: %s:%d: node %u(%s) holds a revoked key (state file): it is "
                "refused; remove it from the config, or give it a new key\n", d->cfg.path,
                n->line, n->id, n->name);
    }
}

static int start(struct mgr_daemon *d, const char *config_path, const char *listen)
{
    int rc;
    if (config_load(config_path, 1, &d->cfg, stderr) != 0)
        return cxl_fail(CXL_EINVAL, "%s: not started (cxl_sec_mgr check --config %s)",
                        config_path, config_path);
    /* the sockets first: a second daemon stops before it touches any file */
    if ((rc = cxl_node_key_load(d->cfg.manager_key, &d->key)) != 0 ||
        (rc = control_listen(d->cfg.control, &d->control_fd)) != 0 ||
        (rc = tcp_listen(listen, &d->listen_fd)) != 0 ||
        (rc = audit_open(&d->audit, d->cfg.audit)) != 0 ||
        (rc = state_open(&d->state, &d->cfg, &d->audit)) != 0)
        return rc;
    mark_revoked(d);
    snprintf(d->listen_addr, sizeof d->listen_addr, "%s", listen);
    return 0;
}

static void stop(struct mgr_daemon *d)
{
    for (size_t i = 0; i < d->n_conns; i++) {
        conn_close(d->conns[i]);
        free(d->conns[i]);
    }
    free(d->conns);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->control_fd >= 0) {
        close(d->control_fd);
        unlink(d->cfg.control);
    }
    audit_close(&d->audit);
    state_close(&d->state);
    cxl_node_key_wipe(&d->key);
    config_free(&d->cfg);
}

static void signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int daemon_run(const char *config_path, const char *listen)
{
    struct mgr_daemon d = {.listen_fd = -1, .control_fd = -1, .audit = {.fd = -1}};
    signals();
    int rc = start(&d, config_path, listen);
    if (rc == 0) {
        fprintf(stderr, "cxl_sec_mgr: listening on %s: %zu nodes, %zu regions, %zu grants; "
                "control %s; rotate %u s, refresh %u s\n", listen, d.cfg.n_nodes,
                d.cfg.n_regions, d.cfg.n_grants, d.cfg.control, d.cfg.rotate_s,
                d.cfg.refresh_s);
        rc = serve(&d) == 0 ? 0 : CXL_ESYS;
        fprintf(stderr, "cxl_sec_mgr: stopped\n");
    } else {
        fprintf(stderr, "cxl_sec_mgr: %s\n", cxl_last_error());
    }
    stop(&d);
    return rc ? MGR_EXIT_FAIL : MGR_EXIT_OK;
}
