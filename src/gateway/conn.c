/* conn.c - a client connection: its slot (taken from a free list, so
 * thousands of short-lived clients cost O(1) each), its byte buffers
 * (base/buf.h's growable ones; a big one given back once empty), which
 * events it waits for in the epoll set (none while it cannot make progress:
 * a client that closed, or whose command waits, never wakes the loop),
 * writing its replies, and the memory limits: client-query-buffer-limit per
 * client, maxmemory-clients over all of them (the biggest closed first, as
 * Redis does). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"

#define BUF_KEEP (256u * 1024)   /* an empty buffer bigger than this is freed */
#define LOG_PER_SEC 5            /* lines about closed clients, the rest counted */
#define LOG_REPORT_MS 10000

static size_t out_pending(const struct gw_conn *c) { return cxl_buf_len(&c->out); }

/* --- slots and the epoll set ------------------------------------------------------ */

int gw_conn_open(struct gw *g, int fd)
{
    if (g->nfree == 0)
        return -1;
    uint32_t slot = g->free_slots[--g->nfree];
    struct gw_conn *c = &g->conn[slot];
    /* the generation and the list memberships outlive a slot's connection */
    *c = (struct gw_conn){.fd = fd, .gen = c->gen, .touched = c->touched, .waiting = c->waiting,
                          .dirty = c->dirty, .ring = g->next_ring++ % g->nkv,
                          .in = cxl_buf_growable(CXL_BUF_GROWS), .out = cxl_buf_growable(CXL_BUF_GROWS)};
    cxl_resp_parser_init(&c->parser, &g->limits);
    gw_conn_interest(g, slot);
    return 0;
}

void gw_conn_drop(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    if (c->fd < 0)
        return;
    cxl_loop_watch(&g->loop, c->fd, &c->events, 0, 0);
    close(c->fd);
    c->fd = -1;
    if (c->authed) /* the slot's next client on this ring must not inherit the user */
        c->dirty |= 1ull << c->ring;
    c->gen++; /* replies still on their way for it are dropped */
    g->inflight -= c->inflight;
    c->inflight = 0;
    cxl_buf_free(&c->in);
    cxl_buf_free(&c->out);
    cxl_resp_parser_free(&c->parser);
    g->mem -= c->mem;
    c->mem = 0;
    g->free_slots[g->nfree++] = slot;
    g->drops++;
}

/* Wait for input only while it can be used, for output only while some is
 * pending; in the epoll set only while waiting for either. */
void gw_conn_interest(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    uint32_t want = 0;
    if (!c->read_closed && !c->closing && !c->blocked && out_pending(c) < g->o->max_output)
        want |= EPOLLIN | EPOLLRDHUP;
    if (out_pending(c))
        want |= EPOLLOUT;
    if (cxl_loop_watch(&g->loop, c->fd, &c->events, want, slot) != 0)
        gw_conn_drop(g, slot);
}

/* Write what we can; close when done: after a protocol error or QUIT, or
 * once a client that shut its side has every reply it asked for. */
void gw_conn_flush(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    if (cxl_buf_send(&c->out, c->fd) != 0) {
        gw_conn_drop(g, slot); /* the peer is gone */
        return;
    }
    cxl_buf_trim(&c->out, BUF_KEEP);
    if (gw_conn_account(g, slot))
        return;
    int finished = c->closing || (c->read_closed && c->inflight == 0 && !c->blocked);
    if (!out_pending(c) && finished) {
        gw_conn_drop(g, slot);
        return;
    }
    gw_conn_interest(g, slot);
}

/* --- memory ------------------------------------------------------------------------ */

void gw_log_client(struct gw *g, const char *fmt, ...)
{
    uint64_t now = cxl_now_ms();
    uint64_t hidden = cxl_ratelimit_report(&g->log_limit, now, LOG_REPORT_MS);
    if (hidden)
        fprintf(stderr, "cxl_resp_gateway: %llu similar messages suppressed\n", (unsigned long long)hidden);
    if (!cxl_ratelimit_allow(&g->log_limit, now))
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("cxl_resp_gateway: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* What a connection holds: the bytes in its buffers (reserved room not
 * written to costs no memory) and its parser's argument table. */
static size_t held(const struct gw_conn *c)
{
    return c->in.end + c->out.end + (size_t)c->parser.args.cap * 2 * sizeof(size_t);
}

int gw_conn_account(struct gw *g, uint32_t slot)
{
    struct gw_conn *c = &g->conn[slot];
    size_t now = held(c);
    g->mem += now - c->mem;
    c->mem = now;
    size_t input = c->in.end - c->in.start;
    if (input <= g->o->query_buffer_limit)
        return 0;
    gw_log_client(g, "closing a client that reached client-query-buffer-limit (%zu bytes pending, "
                  "limit %llu)", input, (unsigned long long)g->o->query_buffer_limit);
    gw_conn_drop(g, slot);
    return -1;
}

void gw_enforce_maxmemory(struct gw *g)
{
    uint64_t limit = g->o->maxmemory_clients;
    while (limit && g->mem > limit) {
        uint32_t big = UINT32_MAX;
        for (uint32_t s = 0; s < g->o->max_clients; s++)
            if (g->conn[s].fd >= 0 && (big == UINT32_MAX || g->conn[s].mem > g->conn[big].mem))
                big = s;
        if (big == UINT32_MAX || g->conn[big].mem == 0)
            return;
        gw_log_client(g, "maxmemory-clients: all clients hold %llu bytes, over %llu: closing the biggest "
                      "(%zu bytes)", (unsigned long long)g->mem, (unsigned long long)limit, g->conn[big].mem);
        gw_conn_drop(g, big);
    }
}
