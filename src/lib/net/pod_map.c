/* pod_map.c - reading the pod map (net/pod_map.h): one node a line, every
 * error naming the file and the line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "net/pod_map.h"

#define FORMAT "node HOST:PORT medium PATH [offset N] [ring R] [gateway HOST:PORT]"
#define MAX_TOKENS 16

struct where {
    const char *name;
    unsigned line;
};

static int bad(const struct where *w, const char *fmt, const char *what)
{
    return cxl_fail(CXL_EINVAL, "%s:%u: %s%s (expected: " FORMAT ")", w->name, w->line, fmt, what);
}

/* A HOST:PORT field: errors say where and which field. */
static int parse_addr(const struct where *w, const char *field, const char *text, struct cxl_pod_addr *a)
{
    char flag[64 + CXL_POD_PATH_MAX];
    snprintf(flag, sizeof flag, "%s:%u: %s", w->name, w->line, field);
    return cxl_parse_hostport(flag, text, a->host, sizeof a->host, &a->port) ? CXL_EINVAL : 0;
}

static int parse_number(const struct where *w, const char *field, const char *text, uint64_t max, uint64_t *v)
{
    char flag[64 + CXL_POD_PATH_MAX];
    snprintf(flag, sizeof flag, "%s:%u: %s", w->name, w->line, field);
    return cxl_parse_u64(flag, text, 0, max, v) ? CXL_EINVAL : 0;
}

/* One field and its value. */
static int parse_field(const struct where *w, const char *key, const char *val, struct cxl_pod_node *n)
{
    uint64_t v;
    if (strcmp(key, "medium") == 0) {
        if (strlen(val) >= sizeof n->medium)
            return bad(w, "medium path too long: ", val);
        strcpy(n->medium, val);
        return 0;
    }
    if (strcmp(key, "offset") == 0)
        return parse_number(w, "offset", val, UINT64_MAX, &n->offset);
    if (strcmp(key, "ring") == 0) {
        int rc = parse_number(w, "ring", val, 65535, &v);
        n->ring = (int)v;
        return rc;
    }
    if (strcmp(key, "gateway") == 0)
        return parse_addr(w, "gateway", val, &n->gateway);
    return bad(w, "unknown field ", key);
}

static int parse_tokens(const struct where *w, char **tok, int ntok, struct cxl_pod_node *n)
{
    *n = (struct cxl_pod_node){.ring = -1};
    if (strcmp(tok[0], "node") != 0)
        return bad(w, "a line starts with 'node', not ", tok[0]);
    if (ntok < 2)
        return bad(w, "no node address", "");
    if (parse_addr(w, "node", tok[1], &n->addr))
        return CXL_EINVAL;
    if (ntok % 2)
        return bad(w, "a field without its value: ", tok[ntok - 1]);
    for (int i = 2; i < ntok; i += 2)
        if (parse_field(w, tok[i], tok[i + 1], n))
            return CXL_EINVAL;
    if (!n->medium[0])
        return bad(w, "no medium for node ", tok[1]);
    return 0;
}

/* The line text[len] (no newline) into m: 0 or CXL_EINVAL. */
static int parse_line(const struct where *w, const char *text, size_t len, struct cxl_pod_map *m)
{
    char line[CXL_POD_LINE_MAX + 1], *tok[MAX_TOKENS], *save = NULL;
    if (len > CXL_POD_LINE_MAX)
        return bad(w, "line too long", "");
    if (memchr(text, '\0', len))
        return bad(w, "a NUL byte in the line", "");
    memcpy(line, text, len);
    line[len] = '\0';
    int ntok = 0;
    for (char *t = strtok_r(line, " \t\r", &save); t && t[0] != '#'; t = strtok_r(NULL, " \t\r", &save)) {
        if (ntok == MAX_TOKENS)
            return bad(w, "too many fields", "");
        tok[ntok++] = t;
    }
    if (ntok == 0) /* blank, or a comment */
        return 0;
    if (m->n == CXL_POD_MAX_NODES)
        return bad(w, "too many nodes", "");
    struct cxl_pod_node n;
    if (parse_tokens(w, tok, ntok, &n))
        return CXL_EINVAL;
    if (cxl_pod_map_find(m, n.addr.host, strlen(n.addr.host), n.addr.port))
        return bad(w, "node listed twice: ", tok[1]);
    struct cxl_pod_node *grown = realloc(m->node, (m->n + 1) * sizeof *grown);
    if (!grown)
        return cxl_fail(CXL_ESYS, "%s: out of memory", w->name);
    m->node = grown;
    m->node[m->n++] = n;
    return 0;
}

int cxl_pod_map_parse(const char *name, const char *text, size_t len, struct cxl_pod_map *m)
{
    *m = (struct cxl_pod_map){0};
    struct where w = {name, 0};
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        w.line++;
        int rc = parse_line(&w, text + off, n, m);
        if (rc) {
            cxl_pod_map_free(m);
            return rc;
        }
        off += n + 1;
    }
    return 0;
}

int cxl_pod_map_load(const char *path, struct cxl_pod_map *m)
{
    *m = (struct cxl_pod_map){0};
    FILE *f = fopen(path, "r");
    if (!f)
        return cxl_fail_errno(CXL_ESYS, "pod map %s", path);
    size_t cap = (size_t)CXL_POD_MAX_NODES * (CXL_POD_LINE_MAX + 1);
    char *text = malloc(cap + 1);
    size_t len = text ? fread(text, 1, cap + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    int rc;
    if (!text)
        rc = cxl_fail(CXL_ESYS, "pod map %s: out of memory", path);
    else if (err)
        rc = cxl_fail(CXL_ESYS, "pod map %s: read error", path);
    else if (len > cap)
        rc = cxl_fail(CXL_EINVAL, "pod map %s: larger than %zu bytes", path, cap);
    else
        rc = cxl_pod_map_parse(path, text, len, m);
    free(text);
    return rc;
}

void cxl_pod_map_free(struct cxl_pod_map *m)
{
    free(m->node);
    *m = (struct cxl_pod_map){0};
}

const struct cxl_pod_node *cxl_pod_map_find(const struct cxl_pod_map *m, const char *host, size_t hostlen,
                                            uint16_t port)
{
    for (size_t i = 0; m && i < m->n; i++) {
        const struct cxl_pod_node *n = &m->node[i];
        if (n->addr.port == port && strlen(n->addr.host) == hostlen && strncasecmp(n->addr.host, host, hostlen) == 0)
            return n;
    }
    return NULL;
}

const struct cxl_pod_node *cxl_pod_map_find_addr(const struct cxl_pod_map *m, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return NULL;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port == 0 || port > 65535)
        return NULL;
    const char *host = addr;
    size_t hlen = (size_t)(colon - addr);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']')
        host++, hlen -= 2;
    return cxl_pod_map_find(m, host, hlen, (uint16_t)port);
}

uint32_t cxl_pod_map_count(const char *path)
{
    struct cxl_pod_map m;
    if (!path || cxl_pod_map_load(path, &m) != 0)
        return 0;
    uint32_t n = (uint32_t)m.n;
    cxl_pod_map_free(&m);
    return n;
}
