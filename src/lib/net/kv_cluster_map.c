/* kv_cluster_map.c - the cluster client's parsers (net/kv_cluster_map.h):
 * the pod map file, CLUSTER SLOTS, COMMAND INFO and redirection errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "net/kv_cluster_map.h"
#include "net/resp.h"

/* --- the pod map ------------------------------------------------------------------------ */

static int bad_line(const char *path, int line, const char *what, const char *word)
{
    return cxl_fail(CXL_EINVAL, "pod map %s line %d: %s%s%s%s (expected: node HOST:PORT medium PATH "
                    "[offset N] [ring R])", path, line, what, word ? " '" : "", word ? word : "", word ? "'" : "");
}

static int parse_number(const char *s, uint64_t max, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 0);
    if (!*s || *end || errno || s[0] == '-' || n > max)
        return -1;
    *v = n;
    return 0;
}

static int valid_addr(const char *a)
{
    const char *colon = strrchr(a, ':');
    uint64_t port;
    return colon && colon != a && strlen(a) < CXL_NODE_ADDR_MAX && parse_number(colon + 1, 65535, &port) == 0 &&
           port > 0;
}

/* The words of one line after "node": into n. */
static int parse_node(const char *path, int line, char **w, int nw, struct cxl_pod_node *n)
{
    *n = (struct cxl_pod_node){.ring = -1};
    if (nw < 2 || !valid_addr(w[1]))
        return bad_line(path, line, "a node needs HOST:PORT, not", nw < 2 ? "nothing" : w[1]);
    snprintf(n->addr, sizeof n->addr, "%s", w[1]);
    for (int i = 2; i < nw; i += 2) {
        uint64_t v;
        if (i + 1 >= nw)
            return bad_line(path, line, "no value after", w[i]);
        if (strcmp(w[i], "medium") == 0) {
            free(n->medium);
            if (!(n->medium = strdup(w[i + 1])))
                return cxl_fail(CXL_ESYS, "out of memory");
        } else if (strcmp(w[i], "offset") == 0) {
            if (parse_number(w[i + 1], UINT64_MAX, &v))
                return bad_line(path, line, "offset is not a number:", w[i + 1]);
            n->offset = v;
        } else if (strcmp(w[i], "ring") == 0) {
            if (parse_number(w[i + 1], 65535, &v))
                return bad_line(path, line, "ring is not a number:", w[i + 1]);
            n->ring = (int)v;
        } else {
            return bad_line(path, line, "unknown word", w[i]);
        }
    }
    return n->medium ? 0 : bad_line(path, line, "no medium PATH", NULL);
}

static int add_line(const char *path, int line, char *text, struct cxl_pod_map *m)
{
    char *w[16];
    int nw = 0;
    char *hash = strchr(text, '#');
    if (hash)
        *hash = 0;
    for (char *save, *t = strtok_r(text, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (nw == 16)
            return bad_line(path, line, "too many words", NULL);
        w[nw++] = t;
    }
    if (nw == 0)
        return 0;
    if (strcmp(w[0], "node") != 0)
        return bad_line(path, line, "unknown keyword", w[0]);
    struct cxl_pod_node *grown = realloc(m->nodes, (size_t)(m->count + 1) * sizeof *grown);
    if (!grown)
        return cxl_fail(CXL_ESYS, "out of memory");
    m->nodes = grown;
    int rc = parse_node(path, line, w, nw, &m->nodes[m->count]);
    if (rc) {
        free(m->nodes[m->count].medium);
        return rc;
    }
    if (cxl_pod_map_find(m, m->nodes[m->count].addr)) {
        free(m->nodes[m->count].medium);
        return bad_line(path, line, "node listed twice:", m->nodes[m->count].addr);
    }
    m->count++;
    return 0;
}

int cxl_pod_map_load(const char *path, struct cxl_pod_map *m)
{
    *m = (struct cxl_pod_map){0};
    FILE *f = fopen(path, "r");
    if (!f)
        return cxl_fail_errno(CXL_ESYS, "pod map %s", path);
    char buf[4096];
    int line = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        line++;
        if (!strchr(buf, '\n') && !feof(f))
            rc = bad_line(path, line, "longer than 4095 bytes", NULL);
        else
            rc = add_line(path, line, buf, m);
    }
    fclose(f);
    if (rc)
        cxl_pod_map_free(m);
    return rc;
}

void cxl_pod_map_free(struct cxl_pod_map *m)
{
    for (int i = 0; i < m->count; i++)
        free(m->nodes[i].medium);
    free(m->nodes);
    *m = (struct cxl_pod_map){0};
}

const struct cxl_pod_node *cxl_pod_map_find(const struct cxl_pod_map *m, const char *addr)
{
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->nodes[i].addr, addr) == 0)
            return &m->nodes[i];
    return NULL;
}

/* --- replies ---------------------------------------------------------------------------- */

struct walk {
    const uint8_t *p;
    size_t len, at;
};

/* The next element's header (arrays: the header alone). */
static int next(struct walk *w, struct cxl_resp_elem *e)
{
    int64_t n = cxl_resp_elem(w->p + w->at, w->len - w->at, e);
    if (n <= 0)
        return CXL_EPROTO;
    w->at += (size_t)n;
    return 0;
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
    for (int64_t i = 2; i < master.integer; i++)
        if (skip(w))
            return CXL_EPROTO;
    for (int64_t i = 3; i < e.integer; i++)
        if (skip(w))
            return CXL_EPROTO;
    *stop = fn(ctx, (uint32_t)first.integer, (uint32_t)last.integer, (const char *)host.str, host.len,
               (int)port.integer);
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
