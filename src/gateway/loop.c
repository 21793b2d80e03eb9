/* loop.c - the gateway's event loop: one thread, epoll for the sockets, the
 * claimed ring(s) polled while commands are in flight. Each connection is
 * pinned to one ring, so its replies come back in the order of its commands
 * (a ring answers in order); replies are matched by a tag that carries the
 * connection's slot and generation, so a reply for a connection that went
 * away is dropped. Connections whose command found its ring full are tried
 * again when replies come. Out of file descriptors, accepting pauses until a
 * connection closes (or a second passes) instead of spinning on the
 * listening socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cxl/kvproto.h"
#include "base/addr.h"
#include "sec/seal.h"
#include "cxl/util.h"
#include "gateway.h"

#define LISTEN_TCP 0xffffffffu
#define LISTEN_UNIX 0xfffffffeu
#define LISTEN_BACKLOG 512
#define FD_RESERVE 64            /* descriptors besides the clients' (medium, epoll, logs) */
#define ACCEPT_RETRY_MS 1000     /* out of descriptors: try accepting again after this */
#define IDLE_WAIT_MS 100
#define EVENTS_PER_WAKE 256
#define KV_ARG_PREFIX 4          /* a generic command's argument: u32 length, bytes (docs/KV.md) */

/* --- listening --------------------------------------------------------------- */

/* flag: the option the address came from, for messages. */
static int listen_on(const char *flag, const char *text)
{
    struct cxl_net_addr a;
    if (cxl_net_addr_parse(flag, text, &a) != 0)
        return -1;
    int fd = cxl_net_listen(&a, LISTEN_BACKLOG);
    return fd < 0 ? -1 : fd;
}

static void watch_listeners(struct gw *g, uint32_t want)
{
    if (g->tcp_fd >= 0)
        cxl_loop_watch(&g->loop, g->tcp_fd, &g->tcp_mask, want, LISTEN_TCP);
    if (g->unix_fd >= 0)
        cxl_loop_watch(&g->loop, g->unix_fd, &g->unix_mask, want, LISTEN_UNIX);
}

static void pause_accepting(struct gw *g)
{
    if (g->accept_paused)
        return;
    watch_listeners(g, 0);
    g->accept_paused = 1;
    g->paused_ms = cxl_now_ms();
    g->paused_drops = g->drops;
    gw_log_client(g, "out of file descriptors (%s): not accepting until a client leaves", strerror(errno));
}

static void maybe_resume_accepting(struct gw *g)
{
    if (!g->accept_paused || (g->drops == g->paused_drops && cxl_now_ms() - g->paused_ms < ACCEPT_RETRY_MS))
        return;
    g->accept_paused = 0;
    watch_listeners(g, EPOLLIN);
}

static void accept_all(struct gw *g, int lfd)
{
    for (;;) {
        int fd = cxl_net_accept(lfd, NULL);
        if (fd < 0) {
            if (cxl_net_out_of_fds(errno))
                pause_accepting(g);
            return;
        }
        cxl_net_nodelay(fd);
        if (gw_conn_open(g, fd) != 0) {
            static const char full[] = "-ERR max number of clients reached\r\n";
            if (write(fd, full, sizeof full - 1) < 0) { /* best effort */ }
            close(fd);
        }
    }
}

/* --- ring replies ------------------------------------------------------------------ */

static void take_result(struct gw *g, uint32_t ring, const struct cxl_kv_result *r)
{
    uint32_t slot = gw_tag_slot(r->tag), gen = (uint32_t)r->tag;
    struct gw_conn *c = &g->conn[slot];
    if (c->fd < 0 || c->gen != gen || c->ring != ring)
        return; /* its connection went away */
    c->inflight--;
    g->inflight--;
    if (r->tag & GW_TAG_RESET)
        gw_reset_answered(g, slot, r);
    else {
        size_t from = cxl_buf_len(&c->out);
        gw_encode_result(&c->out, r);
        if (g->o->cluster_path)
            gw_cluster_reply(g, &c->out, from, r->tag);
    }
    if (c->fd >= 0 && !c->touched) {
        c->touched = 1;
        g->touched[g->ntouched++] = slot;
    }
}

/* Connections whose command found its ring full: try again. */
static void retry_waiting(struct gw *g)
{
    uint32_t n = g->nwaiting;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = g->waiting[i];
        g->conn[s].waiting = 0;
        gw_process_input(g, s); /* may wait again: appended after n */
    }
    memmove(g->waiting, g->waiting + n, (g->nwaiting - n) * sizeof *g->waiting);
    g->nwaiting -= n;
}

/* The ring was lost (taken over, or reset by the server after another host
 * forged its indices): the server forgot its connections' users with the
 * session, so its clients are disconnected, as Redis's clients are when
 * the server goes away, and the ring is claimed again for new ones. */
static int reopen_ring(struct gw *g, uint32_t i)
{
    gw_log_client(g, "ring %u: %s; its clients are disconnected, the ring is claimed again",
                  cxl_kv_ring(g->kv[i]), cxl_last_error());
    for (uint32_t s = 0; s < g->o->max_clients; s++) {
        if (g->conn[s].fd >= 0 && g->conn[s].ring == i)
            gw_conn_drop(g, s);
        g->conn[s].dirty &= ~(1ull << i); /* a new session: no user left there */
    }
    struct cxl_kv_config cfg = g->o->kv;
    cfg.ring = cxl_kv_ring(g->kv[i]);
    cxl_kv_close(g->kv[i]);
    g->kv[i] = NULL;
    if (cxl_kv_open(&cfg, &g->kv[i]) == 0)
        return 0;
    fprintf(stderr, "cxl_resp_gateway: ring %d cannot be claimed again: %s\n", cfg.ring, cxl_last_error());
    return -1;
}

/* Collect ring replies into their connections' output. */
static int collect(struct gw *g)
{
    for (uint32_t i = 0; g->lost && i < g->nkv; i++)
        if ((g->lost & (1ull << i)) && cxl_kv_poll(g->kv[i], &(struct cxl_kv_result){0}) == CXL_ELOST &&
            reopen_ring(g, i) != 0)
            g->failed = 1;
    g->lost = 0;
    int got = 0;
    for (uint32_t i = 0; i < g->nkv && !g->failed; i++) {
        cxl_kv_flush(g->kv[i]);
        struct cxl_kv_result r;
        int rc;
        while ((rc = cxl_kv_poll(g->kv[i], &r)) == 1) {
            got++;
            take_result(g, i, &r);
        }
        if (rc == CXL_ELOST) {
            g->failed |= reopen_ring(g, i) != 0;
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "cxl_resp_gateway: ring %u: %s\n", cxl_kv_ring(g->kv[i]), cxl_last_error());
            g->failed = 1;
        }
    }
    if (g->failed)
        return got; /* a ring is gone for good: the loop stops */
    /* write replies; connections paused on order go on */
    for (uint32_t i = 0; i < g->ntouched; i++) {
        uint32_t s = g->touched[i];
        g->conn[s].touched = 0;
        gw_process_input(g, s);
    }
    g->ntouched = 0;
    if (got && g->nwaiting)
        retry_waiting(g);
    return got;
}

/* --- the loop ----------------------------------------------------------------------------------- */

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
    struct gw *g = ctx;
    uint32_t id = (uint32_t)tag;
    if (id == LISTEN_TCP || id == LISTEN_UNIX) {
        accept_all(g, id == LISTEN_TCP ? g->tcp_fd : g->unix_fd);
        return;
    }
    if (g->conn[id].fd < 0)
        return;
    if (events & EPOLLOUT)
        gw_process_input(g, id); /* writes, and parses what waited for room */
    if (g->conn[id].fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        gw_read_input(g, id);
}

/* Room for max_clients descriptors, as Redis raises its own limit. */
static void raise_fd_limit(uint32_t clients)
{
    uint64_t hard;
    cxl_fd_limit_raise((uint64_t)clients + FD_RESERVE, &hard); /* as far as the hard limit goes */
}

static int open_all(struct gw *g)
{
    const struct gw_opts *o = g->o;
    raise_fd_limit(o->max_clients);
    if (cxl_loop_open(&g->loop, EVENTS_PER_WAKE) != 0)
        return -1;
    char unix_addr[128];
    snprintf(unix_addr, sizeof unix_addr, "unix:%s", o->unix_path ? o->unix_path : "");
    g->tcp_fd = o->listen ? listen_on("--listen", o->listen) : -1;
    g->unix_fd = o->unix_path ? listen_on("--unix", unix_addr) : -1;
    if ((o->listen && g->tcp_fd < 0) || (o->unix_path && g->unix_fd < 0))
        return -1;
    watch_listeners(g, EPOLLIN);
    for (uint32_t i = 0; i < o->rings; i++) {
        struct cxl_kv_config cfg = o->kv;
        if (cfg.ring >= 0)
            cfg.ring += (int)i;
        if (cxl_kv_open(&cfg, &g->kv[i]) != 0)
            return -1;
        g->nkv++;
    }
    g->conn = calloc(o->max_clients, sizeof *g->conn);
    g->free_slots = calloc(o->max_clients, sizeof *g->free_slots);
    g->touched = calloc(o->max_clients, sizeof *g->touched);
    g->waiting = calloc(o->max_clients, sizeof *g->waiting);
    if (!g->conn || !g->free_slots || !g->touched || !g->waiting)
        return cxl_fail(CXL_ESYS, "out of memory"), -1;
    for (uint32_t s = 0; s < o->max_clients; s++) {
        g->conn[s].fd = -1;
        g->free_slots[s] = o->max_clients - 1 - s; /* slot 0 first */
    }
    g->nfree = o->max_clients;
    return 0;
}

static void close_all(struct gw *g)
{
    for (uint32_t s = 0; g->conn && s < g->o->max_clients; s++)
        gw_conn_drop(g, s);
    for (uint32_t i = 0; i < g->nkv; i++)
        cxl_kv_close(g->kv[i]);
    if (g->tcp_fd >= 0)
        close(g->tcp_fd);
    if (g->unix_fd >= 0) {
        close(g->unix_fd);
        unlink(g->o->unix_path);
    }
    cxl_loop_close(&g->loop);
    free(g->conn);
    free(g->free_slots);
    free(g->touched);
    free(g->waiting);
    cxl_buf_free(&g->scratch);
    cxl_resp_args_free(&g->args);
}

/* What a command may be: an argument up to proto-max-bulk-len, the whole
 * command within one ring message, sealed or not (and --max-request). */
static void set_limits(struct gw *g)
{
    /* a sealed batch holds one record of it at least */
    uint64_t max_payload = cxl_kv_geometry(g->kv[0])->max_payload - CXL_SEAL_TAG - CXL_KV_RECORD_HDR;
    uint64_t max_request = g->o->max_request && g->o->max_request < max_payload ? g->o->max_request : max_payload;
    g->limits = (struct cxl_resp_limits){
        .max_args = CXL_KV_MAX_ARGC,
        .max_bulk = g->o->proto_max_bulk_len < max_request ? g->o->proto_max_bulk_len : max_request,
        .max_request = max_request,
        .arg_overhead = KV_ARG_PREFIX,
    };
}

static void report_start(const struct gw *g)
{
    const struct gw_opts *o = g->o;
    if (o->quiet)
        return;
    fprintf(stderr, "cxl_resp_gateway: %s%s%s%s -> %u ring(s) of %s; commands up to %llu bytes\n",
            o->listen ? o->listen : "", o->listen && o->unix_path ? " and " : "", o->unix_path ? "unix:" : "",
            o->unix_path ? o->unix_path : "", g->nkv, o->kv.medium.path,
            (unsigned long long)g->limits.max_request);
}

int gw_run(const struct gw_opts *o)
{
    struct gw g = {.o = o, .loop = {.ep = -1}, .tcp_fd = -1, .unix_fd = -1, .scratch = cxl_buf_growable(CXL_BUF_GROWS)};
    cxl_loop_stop_on_signals();
    cxl_ratelimit_init(&g.log_limit, 5, 20);
    if (open_all(&g) != 0) {
        fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
        close_all(&g);
        return GW_EXIT_FAIL;
    }
    set_limits(&g);
    report_start(&g);
    cxl_backoff_init(&g.backoff, 20, 200, 50);
    while (!cxl_loop_stopping() && !g.failed) {
        int n = cxl_loop_wait(&g.loop, g.inflight ? 0 : IDLE_WAIT_MS, NULL, on_event, &g);
        /* idle too (every IDLE_WAIT_MS): a ring taken over or reset is seen
         * before a client sends anything */
        int got = collect(&g);
        gw_enforce_maxmemory(&g);
        maybe_resume_accepting(&g);
        if (n > 0 || got)
            cxl_backoff_done(&g.backoff);
        else if (g.inflight)
            cxl_backoff_wait(&g.backoff);
    }
    close_all(&g);
    return g.failed ? GW_EXIT_FAIL : GW_EXIT_OK;
}
