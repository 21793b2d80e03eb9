/* cluster_reply.c - node addresses in Redis Cluster replies swapped for
 * their gateways' (net/cluster_reply.h). Each kind is walked element by
 * element with net/resp.h's parser, bounds-checked; what is not rewritten is
 * copied byte for byte. Walkers return > 0 (done), 0 (not the expected
 * shape: the reply passes unchanged) or < 0 (out of memory). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/cluster_reply.h"
#include "net/resp.h"

#define TRY(x)                  \
    do {                        \
        int rc_ = (x);          \
        if (rc_ <= 0)           \
            return rc_;         \
    } while (0)

/* --- reading ------------------------------------------------------------------ */

struct rd {
    const uint8_t *p;
    size_t len, off;
};

/* The next element's header (a string or integer: the whole element). */
static int next(struct rd *r, struct cxl_resp_elem *e) { return cxl_resp_next(r->p, r->len, &r->off, e); }

/* The next array's header, not nil. */
static int next_array(struct rd *r, struct cxl_resp_elem *e)
{
    return next(r, e) && e->type == '*' && !e->nil;
}

static int next_bulk(struct rd *r, struct cxl_resp_elem *e)
{
    return next(r, e) && e->type == '$' && !e->nil;
}

/* Past one whole element (nested arrays included); *e its header. */
static int skip_one(struct rd *r, struct cxl_resp_elem *e)
{
    int64_t n = cxl_resp_reply_size(r->p + r->off, r->len - r->off);
    if (n <= 0 || cxl_resp_elem(r->p + r->off, (size_t)n, e) <= 0)
        return 0;
    r->off += (size_t)n;
    return 1;
}

static int is_key(const struct cxl_resp_elem *e, const char *word)
{
    return e->len == strlen(word) && strncasecmp((const char *)e->str, word, e->len) == 0;
}

/* --- writing ---------------------------------------------------------------------- */

static int put(struct cxl_buf *out, const void *p, size_t n)
{
    return cxl_buf_append(out, p, n) ? -1 : 1;
}

static int put_head(struct cxl_buf *out, char type, int64_t n)
{
    char h[32];
    int k = snprintf(h, sizeof h, "%c%lld\r\n", type, (long long)n);
    return put(out, h, (size_t)k);
}

static int put_bulk(struct cxl_buf *out, const void *s, size_t n)
{
    TRY(put_head(out, '$', (int64_t)n));
    TRY(put(out, s, n));
    return put(out, "\r\n", 2);
}

static int put_addr(struct cxl_buf *out, const struct cxl_pod_addr *a)
{
    char text[CXL_POD_HOST_MAX + 8];
    int k = snprintf(text, sizeof text, "%s:%u", a->host, a->port);
    return put(out, text, (size_t)k);
}

/* Copy one whole element. */
static int copy_one(struct rd *r, struct cxl_buf *out)
{
    struct cxl_resp_elem e;
    size_t from = r->off;
    TRY(skip_one(r, &e));
    return put(out, r->p + from, r->off - from);
}

/* --- the pod map -------------------------------------------------------------------- */

static const struct cxl_pod_addr *gateway_of(const struct cxl_pod_map *m, const uint8_t *host, size_t hostlen,
                                             int64_t port)
{
    if (port < 1 || port > 65535)
        return NULL;
    const struct cxl_pod_node *n = cxl_pod_map_find(m, (const char *)host, hostlen, (uint16_t)port);
    return n && n->gateway.port ? &n->gateway : NULL;
}

/* The gateway of the node at text[len], "HOST:PORT" (the last ':' splits). */
static const struct cxl_pod_addr *gateway_at(const struct cxl_pod_map *m, const uint8_t *text, size_t len)
{
    const uint8_t *colon = memrchr(text, ':', len);
    if (!colon)
        return NULL;
    size_t hostlen = (size_t)(colon - text), n = len - hostlen - 1;
    int64_t port = 0;
    if (n == 0 || n > 5)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit(colon[1 + i]))
            return NULL;
        port = port * 10 + (colon[1 + i] - '0');
    }
    return gateway_of(m, text, hostlen, port);
}

/* --- -MOVED slot host:port, -ASK slot host:port ---------------------------------------- */

static int rewrite_redirect(const struct cxl_pod_map *m, const uint8_t *in, size_t len, struct cxl_buf *out)
{
    struct cxl_resp_elem e;
    if (cxl_resp_elem(in, len, &e) != (int64_t)len || e.type != '-')
        return 0;
    const uint8_t *s = e.str;
    size_t n = e.len, i = n >= 6 && memcmp(s, "MOVED ", 6) == 0 ? 6 : n >= 4 && memcmp(s, "ASK ", 4) == 0 ? 4 : 0;
    if (i == 0)
        return 0;
    size_t digits = i;
    while (i < n && isdigit(s[i]))
        i++;
    if (i == digits || i >= n || s[i] != ' ')
        return 0;
    const struct cxl_pod_addr *gw = gateway_at(m, s + i + 1, n - i - 1);
    if (!gw)
        return 0;
    TRY(put(out, "-", 1));
    TRY(put(out, s, i + 1));
    TRY(put_addr(out, gw));
    return put(out, "\r\n", 2);
}

/* --- CLUSTER SLOTS: [[start, end, [ip, port, id, ...], replicas ...] ...] -------------- */

static int slots_node(const struct cxl_pod_map *m, struct rd *r, struct cxl_buf *out)
{
    struct rd at = *r;
    struct cxl_resp_elem node, ip, port;
    if (!next_array(r, &node) || node.integer < 2 || !next_bulk(r, &ip) || !next(r, &port) || port.type != ':')
        return 0;
    const struct cxl_pod_addr *gw = gateway_of(m, ip.str, ip.len, port.integer);
    if (!gw) {
        *r = at;
        return copy_one(r, out);
    }
    TRY(put_head(out, '*', node.integer));
    TRY(put_bulk(out, gw->host, strlen(gw->host)));
    TRY(put_head(out, ':', gw->port));
    for (int64_t i = 2; i < node.integer; i++)
        TRY(copy_one(r, out));
    return 1;
}

static int rewrite_slots(const struct cxl_pod_map *m, struct rd *r, struct cxl_buf *out)
{
    struct cxl_resp_elem all, range;
    if (!next_array(r, &all))
        return 0;
    TRY(put_head(out, '*', all.integer));
    for (int64_t i = 0; i < all.integer; i++) {
        if (!next_array(r, &range) || range.integer < 2)
            return 0;
        TRY(put_head(out, '*', range.integer));
        TRY(copy_one(r, out)); /* start */
        TRY(copy_one(r, out)); /* end */
        for (int64_t j = 2; j < range.integer; j++)
            TRY(slots_node(m, r, out));
    }
    return 1;
}

/* --- CLUSTER SHARDS: [[slots, [...], nodes, [[id, ..., port, n, ip, ..., endpoint, ...] ...]] ...] */

/* A node's map: its ip and port, then the map copied with ip, endpoint,
 * hostname (when set) and port those of its gateway. */
static int shards_node(const struct cxl_pod_map *m, struct rd *r, struct cxl_buf *out)
{
    struct rd at = *r;
    struct cxl_resp_elem map, key, val, ip = {0};
    int64_t port = 0;
    if (!next_array(r, &map) || map.integer % 2)
        return 0;
    for (int64_t i = 0; i < map.integer; i += 2) {
        if (!next_bulk(r, &key) || !skip_one(r, &val))
            return 0;
        if (is_key(&key, "ip") && val.type == '$' && !val.nil)
            ip = val;
        if (is_key(&key, "port") && val.type == ':')
            port = val.integer;
    }
    const struct cxl_pod_addr *gw = ip.str ? gateway_of(m, ip.str, ip.len, port) : NULL;
    *r = at;
    if (!gw)
        return copy_one(r, out);
    next_array(r, &map);
    TRY(put_head(out, '*', map.integer));
    for (int64_t i = 0; i < map.integer; i += 2) {
        size_t from = r->off;
        next_bulk(r, &key);
        TRY(put(out, r->p + from, r->off - from));
        from = r->off;
        skip_one(r, &val);
        int set = val.type == '$' && !val.nil && val.len > 0;
        if (is_key(&key, "ip") || is_key(&key, "endpoint") || (is_key(&key, "hostname") && set))
            TRY(put_bulk(out, gw->host, strlen(gw->host)));
        else if (is_key(&key, "port"))
            TRY(put_head(out, ':', gw->port));
        else
            TRY(put(out, r->p + from, r->off - from));
    }
    return 1;
}

static int rewrite_shards(const struct cxl_pod_map *m, struct rd *r, struct cxl_buf *out)
{
    struct cxl_resp_elem all, shard, key, nodes;
    if (!next_array(r, &all))
        return 0;
    TRY(put_head(out, '*', all.integer));
    for (int64_t i = 0; i < all.integer; i++) {
        if (!next_array(r, &shard) || shard.integer % 2)
            return 0;
        TRY(put_head(out, '*', shard.integer));
        for (int64_t j = 0; j < shard.integer; j += 2) {
            size_t from = r->off;
            if (!next_bulk(r, &key))
                return 0;
            TRY(put(out, r->p + from, r->off - from));
            if (!is_key(&key, "nodes")) {
                TRY(copy_one(r, out));
                continue;
            }
            if (!next_array(r, &nodes))
                return 0;
            TRY(put_head(out, '*', nodes.integer));
            for (int64_t k = 0; k < nodes.integer; k++)
                TRY(shards_node(m, r, out));
        }
    }
    return 1;
}

/* --- CLUSTER NODES, REPLICAS: lines "id ip:port@cport[,hostname] flags ..." ------------------ */

/* One line (without its newline): the address before '@' (or ',') swapped. */
static int nodes_line(const struct cxl_pod_map *m, const uint8_t *s, size_t n, struct cxl_buf *out)
{
    const uint8_t *sp = memchr(s, ' ', n);
    if (!sp)
        return put(out, s, n);
    const uint8_t *f = sp + 1;
    size_t rest = n - (size_t)(f - s), alen = 0;
    while (alen < rest && f[alen] != '@' && f[alen] != ',' && f[alen] != ' ')
        alen++;
    const struct cxl_pod_addr *gw = gateway_at(m, f, alen);
    if (!gw)
        return put(out, s, n);
    TRY(put(out, s, (size_t)(f - s)));
    TRY(put_addr(out, gw));
    return put(out, f + alen, rest - alen);
}

/* A bulk string of lines, rewritten line by line. */
static int nodes_text(const struct cxl_pod_map *m, const struct cxl_resp_elem *e, struct cxl_buf *out)
{
    struct cxl_buf t = cxl_buf_growable(CXL_BUF_GROWS);
    int rc = 1;
    for (size_t off = 0; off < e->len && rc > 0;) {
        const uint8_t *nl = memchr(e->str + off, '\n', e->len - off);
        size_t n = nl ? (size_t)(nl - (e->str + off)) : e->len - off;
        rc = nodes_line(m, e->str + off, n, &t);
        if (rc > 0 && nl)
            rc = put(&t, "\n", 1);
        off += n + 1;
    }
    if (rc > 0) /* (an empty text: t has no buffer at all) */
        rc = put_bulk(out, cxl_buf_len(&t) ? t.data + t.start : (const uint8_t *)"", cxl_buf_len(&t));
    cxl_buf_free(&t);
    return rc;
}

static int rewrite_nodes(const struct cxl_pod_map *m, struct rd *r, struct cxl_buf *out)
{
    struct cxl_resp_elem e;
    if (!next(r, &e) || e.nil)
        return 0;
    if (e.type == '$')
        return nodes_text(m, &e, out);
    if (e.type != '*')
        return 0;
    TRY(put_head(out, '*', e.integer));
    for (int64_t i = 0; i < e.integer; i++) {
        struct cxl_resp_elem line;
        if (!next_bulk(r, &line))
            return 0;
        TRY(nodes_text(m, &line, out));
    }
    return 1;
}

/* --- the entry points ------------------------------------------------------------------------ */

static int is_word(const char *arg, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(arg, word, len) == 0;
}

enum cxl_cluster_reply cxl_cluster_reply_kind(int argc, const char *const *argv, const size_t *argvlen)
{
    if (argc < 2 || !is_word(argv[0], argvlen[0], "CLUSTER"))
        return CXL_CLUSTER_ANY;
    if (is_word(argv[1], argvlen[1], "SLOTS"))
        return CXL_CLUSTER_SLOTS;
    if (is_word(argv[1], argvlen[1], "SHARDS"))
        return CXL_CLUSTER_SHARDS;
    if (is_word(argv[1], argvlen[1], "NODES") || is_word(argv[1], argvlen[1], "REPLICAS") ||
        is_word(argv[1], argvlen[1], "SLAVES"))
        return CXL_CLUSTER_NODES;
    return CXL_CLUSTER_ANY;
}

int cxl_cluster_rewrite(enum cxl_cluster_reply kind, const struct cxl_pod_map *m, const uint8_t *in, size_t len,
                        struct cxl_buf *out)
{
    if (!m || !in || len == 0 || cxl_resp_reply_size(in, len) != (int64_t)len)
        return 0;
    if (in[0] == '-')
        return rewrite_redirect(m, in, len, out);
    struct rd r = {in, len, 0};
    int rc;
    switch (kind) {
    case CXL_CLUSTER_SLOTS: rc = rewrite_slots(m, &r, out); break;
    case CXL_CLUSTER_SHARDS: rc = rewrite_shards(m, &r, out); break;
    case CXL_CLUSTER_NODES: rc = rewrite_nodes(m, &r, out); break;
    default: return 0;
    }
    return rc < 0 ? -1 : rc > 0 && r.off == len;
}
