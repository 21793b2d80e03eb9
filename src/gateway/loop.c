/* loop.c - the gateway's event loop: one thread, epoll for the sockets, the
 * claimed ring(s) polled while commands are in flight. Each connection is
 * pinned to one ring, so its replies come back in the order of its commands
 * (a ring answers in order); replies are matched by a tag that carries the
 * connection's slot and generation, so a reply for a connection that went
 * away is dropped. A reply the gateway makes itself (QUIT, a refusal, a parse
 * error) waits until the connection's ring commands are answered, to keep
 * the order. A client that does not read its replies stops being read
 * (max_output); nobody else waits for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cxl/net.h"
#include "cxl/util.h"
#include "cxl/wait.h"
#include "gateway.h"

#define LISTEN_TCP 0xffffffffu
#define LISTEN_UNIX 0xfffffffeu
#define READ_CHUNK 65536
#define READ_BUDGET (256 * 1024) /* per connection per wake-up: fairness */

struct gw {
    const struct gw_opts *o;
    int ep, tcp_fd, unix_fd;
    struct cxl_kv *kv[GW_MAX_RINGS];
    uint32_t nkv, next_ring;
    struct gw_conn *conn; /* max_clients slots; fd < 0 = free */
    uint32_t inflight;
    uint32_t *touched, ntouched; /* connections that got replies this round */
    struct cxl_resp_args args;
    struct cxl_resp_limits limits;
    struct cxl_backoff backoff;
};

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

/* --- listening --------------------------------------------------------------- */

/* flag: the option the address came from, for messages. */
static int listen_on(const char *flag, const char *text)
{
    struct cxl_net_addr a;
    if (cxl_net_addr_parse(flag, text, &a) != 0)
        return -1;
    int fd = cxl_net_listen(&a, 512);
    return fd < 0 ? -1 : fd;
}

static int watch(struct gw *g, int fd, uint32_t id, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u32 = id};
    return epoll_ctl(g->ep, op, fd, &ev);
}

/* --- connections ------------------------------------------------------------------ */

static void drop(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->gen++; /* replies still on their way for it are dropped */
    g->inflight -= c->inflight;
    c->inflight = 0;
    gw_buf_free(&c->in);
    gw_buf_free(&c->out);
}

static void accept_all(struct gw *g, int lfd, int tcp)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        uint32_t slot = 0;
        while (slot < g->o->max_clients && g->conn[slot].fd >= 0)
            slot++;
        if (slot == g->o->max_clients) {
            static const char full[] = "-ERR max number of clients reached\r\n";
            if (write(fd, full, sizeof full - 1) < 0) { /* best effort */ }
            close(fd);
            continue;
        }
        if (tcp) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        struct gw_conn *c = &g->conn[slot];
        uint32_t gen = c->gen;
        *c = (struct gw_conn){.fd = fd, .gen = gen, .ring = g->next_ring++ % g->nkv};
        watch(g, fd, slot, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    }
}

/* Write what we can; arm EPOLLOUT for the rest. */
static void flush_out(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    while (c->out.end > c->out.start) {
        ssize_t n = write(c->fd, c->out.data + c->out.start, c->out.end - c->out.start);
        if (n > 0) {
            c->out.start += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        drop(g, slot); /* the peer is gone */
        return;
    }
    if (c->out.start == c->out.end)
        c->out.start = c->out.end = 0;
    int want = c->out.end > c->out.start;
    if (want != c->want_out) {
        c->want_out = want;
        watch(g, c->fd, slot, EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0), EPOLL_CTL_MOD);
    }
    if (!want && (c->closing || (c->read_closed && c->inflight == 0 && c->in.end == c->in.start)))
        drop(g, slot);
}

/* --- commands ------------------------------------------------------------------------- */

static uint64_t tag_of(uint32_t slot, uint32_t gen) { return ((uint64_t)slot << 32) | gen; }

static int submit(struct gw *g, struct gw_conn *c, uint64_t tag, enum gw_route route)
{
    struct cxl_kv *kv = g->kv[c->ring];
    const struct cxl_resp_args *a = &g->args;
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
 * Returns 1 if it was queued, 0 if parsing must pause. */
static int answer_here(struct gw_conn *c, const char *text, size_t len, int close_after)
{
    if (c->inflight)
        return 0;
    gw_buf_append(&c->out, text, len);
    c->closing |= close_after;
    return 1;
}

/* Parse and dispatch what the connection sent, as far as order allows. */
static void process_input(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    while (c->in.end > c->in.start && !c->closing && c->out.end - c->out.start < g->o->max_output) {
        int64_t n = cxl_resp_parse_request(c->in.data + c->in.start, c->in.end - c->in.start, &g->limits,
                                           &g->args);
        if (n == 0)
            break;
        if (n < 0) { /* malformed or too large: an error, then close */
            char text[300];
            int len = snprintf(text, sizeof text, "-ERR Protocol error: %s\r\n", cxl_last_error());
            if (answer_here(c, text, (size_t)len, 1))
                c->in.start = c->in.end;
            break;
        }
        const char *reply;
        size_t rlen;
        int close_after;
        enum gw_route route = gw_route(g->o, &g->args, &reply, &rlen, &close_after);
        if (route == GW_LOCAL || route == GW_REFUSE) {
            if (!answer_here(c, reply, rlen, close_after))
                break;
        } else {
            int rc = submit(g, c, tag_of(slot, c->gen), route);
            if (rc == CXL_EAGAIN)
                break; /* the ring is full: try again after replies */
            if (rc) {
                char text[300];
                int len = snprintf(text, sizeof text, "-ERR gateway: %s\r\n", cxl_last_error());
                if (!answer_here(c, text, (size_t)len, rc == CXL_ELOST))
                    break;
            } else {
                c->inflight++;
                g->inflight++;
            }
        }
        c->in.start += (size_t)n;
    }
    if (c->in.start == c->in.end)
        c->in.start = c->in.end = 0;
    flush_out(g, slot);
}

static void read_input(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    size_t budget = READ_BUDGET;
    while (budget && !c->read_closed && c->out.end - c->out.start < g->o->max_output) {
        if (c->in.end - c->in.start > g->limits.max_bulk + 64) {
            gw_buf_append(&c->out, "-ERR Protocol error: request too large\r\n", 40);
            c->closing = 1;
            break;
        }
        if (gw_buf_reserve(&c->in, READ_CHUNK)) {
            drop(g, slot);
            return;
        }
        ssize_t n = read(c->fd, c->in.data + c->in.end, READ_CHUNK);
        if (n > 0) {
            c->in.end += (size_t)n;
            budget -= budget < (size_t)n ? budget : (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        c->read_closed = 1; /* EOF or error: answer what was asked, then close */
    }
    process_input(g, slot);
}

/* Collect ring replies into their connections' output. */
static int collect(struct gw *g)
{
    int got = 0;
    for (uint32_t i = 0; i < g->nkv; i++) {
        cxl_kv_flush(g->kv[i]);
        struct cxl_kv_result r;
        int rc;
        while ((rc = cxl_kv_poll(g->kv[i], &r)) == 1) {
            got++;
            uint32_t slot = (uint32_t)(r.tag >> 32), gen = (uint32_t)r.tag;
            struct gw_conn *c = &g->conn[slot];
            if (c->fd < 0 || c->gen != gen)
                continue; /* its connection went away */
            c->inflight--;
            g->inflight--;
            gw_encode_result(&c->out, &r);
            if (!c->touched) {
                c->touched = 1;
                g->touched[g->ntouched++] = slot;
            }
        }
        if (rc < 0) {
            fprintf(stderr, "cxl_resp_gateway: ring %u: %s\n", cxl_kv_ring(g->kv[i]), cxl_last_error());
            stopping = 1;
        }
    }
    /* write replies; connections paused on order or a full ring go on */
    for (uint32_t i = 0; i < g->ntouched; i++) {
        uint32_t s = g->touched[i];
        g->conn[s].touched = 0;
        if (g->conn[s].fd >= 0)
            process_input(g, s);
    }
    g->ntouched = 0;
    return got;
}

/* --- the loop ----------------------------------------------------------------------------------- */

static void dispatch(struct gw *g, const struct epoll_event *ev)
{
    uint32_t id = ev->data.u32;
    if (id == LISTEN_TCP || id == LISTEN_UNIX) {
        accept_all(g, id == LISTEN_TCP ? g->tcp_fd : g->unix_fd, id == LISTEN_TCP);
        return;
    }
    if (g->conn[id].fd < 0)
        return;
    if (ev->events & EPOLLOUT)
        flush_out(g, id);
    if (g->conn[id].fd >= 0 && (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        read_input(g, id);
}

static int open_all(struct gw *g)
{
    const struct gw_opts *o = g->o;
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    char unix_addr[128];
    snprintf(unix_addr, sizeof unix_addr, "unix:%s", o->unix_path ? o->unix_path : "");
    g->tcp_fd = o->listen ? listen_on("--listen", o->listen) : -1;
    g->unix_fd = o->unix_path ? listen_on("--unix", unix_addr) : -1;
    if (g->ep < 0 || (o->listen && g->tcp_fd < 0) || (o->unix_path && g->unix_fd < 0))
        return -1;
    if (g->tcp_fd >= 0)
        watch(g, g->tcp_fd, LISTEN_TCP, EPOLLIN, EPOLL_CTL_ADD);
    if (g->unix_fd >= 0)
        watch(g, g->unix_fd, LISTEN_UNIX, EPOLLIN, EPOLL_CTL_ADD);
    for (uint32_t i = 0; i < o->rings; i++) {
        struct cxl_kv_config cfg = o->kv;
        if (cfg.ring >= 0)
            cfg.ring += (int)i;
        if (cxl_kv_open(&cfg, &g->kv[i]) != 0)
            return -1;
        g->nkv++;
    }
    g->conn = calloc(o->max_clients, sizeof *g->conn);
    g->touched = calloc(o->max_clients, sizeof *g->touched);
    if (!g->conn || !g->touched)
        return cxl_fail(CXL_ESYS, "out of memory"), -1;
    for (uint32_t s = 0; s < o->max_clients; s++)
        g->conn[s].fd = -1;
    return 0;
}

static void close_all(struct gw *g)
{
    for (uint32_t s = 0; g->conn && s < g->o->max_clients; s++)
        if (g->conn[s].fd >= 0)
            drop(g, s);
    for (uint32_t i = 0; i < g->nkv; i++)
        cxl_kv_close(g->kv[i]);
    if (g->tcp_fd >= 0)
        close(g->tcp_fd);
    if (g->unix_fd >= 0) {
        close(g->unix_fd);
        unlink(g->o->unix_path);
    }
    if (g->ep >= 0)
        close(g->ep);
    free(g->conn);
    free(g->touched);
    cxl_resp_args_free(&g->args);
}

int gw_run(const struct gw_opts *o)
{
    struct gw g = {.o = o, .ep = -1, .tcp_fd = -1, .unix_fd = -1,
                   .limits = {.max_args = 1u << 20, .max_inline = 64u << 10}};
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (open_all(&g) != 0) {
        fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
        close_all(&g);
        return GW_EXIT_FAIL;
    }
    /* a command must fit one ring message */
    uint32_t max_payload = cxl_kv_geometry(g.kv[0])->max_payload;
    g.limits.max_bulk = o->max_request && o->max_request < max_payload ? o->max_request : max_payload;
    if (!o->quiet)
        fprintf(stderr, "cxl_resp_gateway: %s%s%s%s -> %u ring(s) of %s\n", o->listen ? o->listen : "",
                o->listen && o->unix_path ? " and " : "", o->unix_path ? "unix:" : "",
                o->unix_path ? o->unix_path : "", g.nkv, o->kv.medium.path);
    cxl_backoff_init(&g.backoff, 20, 200, 50);
    struct epoll_event evs[256];
    while (!stopping) {
        int n = epoll_wait(g.ep, evs, 256, g.inflight ? 0 : 100);
        for (int i = 0; i < n; i++)
            dispatch(&g, &evs[i]);
        int got = g.inflight || n > 0 ? collect(&g) : 0;
        if (n > 0 || got)
            cxl_backoff_done(&g.backoff);
        else if (g.inflight)
            cxl_backoff_wait(&g.backoff);
    }
    close_all(&g);
    return GW_EXIT_OK;
}
