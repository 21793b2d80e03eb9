/* kv_cluster_map.c - the cluster client's parsers (net/kv_cluster_map.h):
 * CLUSTER SLOTS, COMMAND INFO and redirection errors (the pod map is
 * net/pod_map.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "net/kv_cluster_map.h"
#include "net/resp.h"

/* --- replies ---------------------------------------------------------------------------- */

struct walk {
    const uint8_t *p;
    size_t len, at;
};

/* The next element's header (arrays: the header alone). */
static int next(struct walk *w, struct cxl_resp_elem *e)
{
    return cxl_resp_next(w->p, w->len, &w->at, e) ? 0 : CXL_EPROTO;
}

/* Skip one whole element. */
static int skip(struct walk *w)
{
    int64_t n = cxl_resp_reply_size(w->p + w->at, w->len - w->at);
    if (n <= 0)
        return CXL_EPROTO;
    w->at += (size_t)n;
    return 0;
}

static int not_a(const char *what, const uint8_t *rep, size_t len)
{
    if (len && rep[0] == '-') {
        size_t n = 1;
        while (n < len && rep[n] != '\r')
            n++;
        return cxl_fail(CXL_EPROTO, "%s: %.*s", what, (int)(n - 1 > 200 ? 200 : n - 1), (const char *)rep + 1);
    }
    return cxl_fail(CXL_EPROTO, "%s: not the reply expected", what);
}

/* One range: [first, last, [host, port, id, ...], replicas...] */
static int slot_range(struct walk *w, cxl_slot_range_fn fn, void *ctx, int *stop)
{
    struct cxl_resp_elem e, first, last, master, host, port;
    if (next(w, &e) || e.type != '*' || e.integer < 3 || next(w, &first) || first.type != ':' ||
        next(w, &last) || last.type != ':' || next(w, &master) || master.type != '*' || master.integer < 2 ||
        next(w, &host) || host.type != '$' || host.nil || next(w, &port) || port.type != ':')
        return CXL_EPROTO;
    if (first.integer < 0 || last.integer < first.integer || last.integer >= 16384 || port.integer <= 0 ||
        port.integer > 65535)
        return CXL_EPROTO;
    struct cxl_resp_elem id = {0};
    if (master.integer >= 3 && (next(w, &id) || id.type != '$' || id.nil))
        return CXL_EPROTO;
    for (int64_t i = 3; i < master.integer; i++)
        if (skip(w))
            return CXL_EPROTO;
    for (int64_t i = 3; i < e.integer; i++)
        if (skip(w))
            return CXL_EPROTO;
    *stop = fn(ctx, (uint32_t)first.integer, (uint32_t)last.integer, (const char *)host.str, host.len,
               (int)port.integer, (const char *)id.str, master.integer >= 3 ? id.len : 0);
    return 0;
}

int cxl_cluster_slots_parse(const uint8_t *rep, size_t len, cxl_slot_range_fn fn, void *ctx)
{
    struct walk w = {rep, len, 0};
    struct cxl_resp_elem top;
    if (next(&w, &top) || top.type != '*' || top.nil)
        return not_a("CLUSTER SLOTS", rep, len);
    int stop = 0;
    for (int64_t i = 0; i < top.integer && !stop; i++)
        if (slot_range(&w, fn, ctx, &stop))
            return not_a("CLUSTER SLOTS", rep, len);
    return 0;
}

int cxl_command_info_parse(const uint8_t *rep, size_t len, int *first, int *last, int *step)
{
    struct walk w = {rep, len, 0};
    struct cxl_resp_elem top, cmd, e[6];
    *first = *last = *step = 0;
    if (next(&w, &top) || top.type != '*' || top.integer != 1 || next(&w, &cmd))
        return not_a("COMMAND INFO", rep, len);
    if (cmd.nil)
        return 0; /* unknown to Redis: no keys, the node will say so */
    if (cmd.type != '*' || cmd.integer < 6 || next(&w, &e[0]) || next(&w, &e[1]) || skip(&w) ||
        next(&w, &e[3]) || next(&w, &e[4]) || next(&w, &e[5]) || e[3].type != ':' || e[4].type != ':' ||
        e[5].type != ':')
        return not_a("COMMAND INFO", rep, len);
    *first = (int)e[3].integer;
    *last = (int)e[4].integer;
    *step = (int)e[5].integer;
    return 0;
}

static int starts(const uint8_t *t, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(t, word, n) == 0;
}

/* "SLOT HOST:PORT" after MOVED/ASK */
static enum cxl_redirect slot_and_addr(enum cxl_redirect kind, const uint8_t *t, size_t len, uint32_t *slot,
                                       char *addr, size_t cap)
{
    char buf[CXL_NODE_ADDR_MAX + 16];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf - 1 ? len : sizeof buf - 1), (const char *)t);
    char *sp = strchr(buf, ' ');
    unsigned long s;
    char *end;
    if (!sp)
        return CXL_REDIR_NONE;
    *sp = 0;
    s = strtoul(buf, &end, 10);
    if (*end || s >= 16384 || !strchr(sp + 1, ':') || strlen(sp + 1) >= cap)
        return CXL_REDIR_NONE;
    *slot = (uint32_t)s;
    snprintf(addr, cap, "%s", sp + 1);
    return kind;
}

enum cxl_redirect cxl_redirect_parse(const uint8_t *text, size_t len, uint32_t *slot, char *addr, size_t cap)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (starts(text, len, "MOVED "))
        return slot_and_addr(CXL_REDIR_MOVED, text + 6, len - 6, slot, addr, cap);
    if (starts(text, len, "ASK "))
        return slot_and_addr(CXL_REDIR_ASK, text + 4, len - 4, slot, addr, cap);
    if (starts(text, len, "TRYAGAIN"))
        return CXL_REDIR_TRYAGAIN;
    if (starts(text, len, "CLUSTERDOWN"))
        return CXL_REDIR_DOWN;
    return CXL_REDIR_NONE;
}
