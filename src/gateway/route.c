/* route.c - what each command becomes at the gateway: forwarded over the
 * ring (everything Redis can run through RedisModule_Call), a GET/SET/DEL
 * fast path, answered here (QUIT, CLIENT SETNAME, SELECT 0), or refused with
 * a clear error because it cannot work through a ring (pub/sub, MONITOR,
 * transactions, replication), or, for an HTTP request (POST,
 * Host:), the connection closed as Redis closes it. And how a ring result
 * becomes RESP. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"

struct word {
    const char *text;
    size_t len;
};
#define W(s) {s, sizeof(s) - 1}

static int is_word(const struct cxl_resp_args *a, int i, struct word w)
{
    return i < a->argc && a->argvlen[i] == w.len && strncasecmp(a->argv[i], w.text, w.len) == 0;
}
#define is(a, i, s) is_word((a), (i), (struct word)W(s))

#define REDIS_EMBSTR_MAX 44 /* OBJ_ENCODING_EMBSTR_SIZE_LIMIT: longer values are raw */

#define REPLY(text) (*reply = (text), *len = sizeof(text) - 1)

static const struct word refused[] = {
    W("SUBSCRIBE"), W("PSUBSCRIBE"), W("SSUBSCRIBE"), W("UNSUBSCRIBE"), W("PUNSUBSCRIBE"),
    W("SUNSUBSCRIBE"), W("MONITOR"), W("MULTI"), W("EXEC"), W("DISCARD"), W("WATCH"), W("UNWATCH"),
    W("SYNC"), W("PSYNC"), W("REPLICAOF"), W("SLAVEOF"), W("WAIT"), W("WAITAOF"), {NULL, 0},
};

enum gw_route gw_route(const struct gw_opts *o, const struct cxl_resp_args *a, const char **reply,
                       size_t *len, int *close_after)
{
    *close_after = 0;
    /* the common case first: the fast paths (a SET only for a value Redis
     * stores raw: a shorter one it stores as int or embstr, which only its
     * own SET does) */
    if (o->fast_paths && ((a->argc == 2 && (is(a, 0, "GET") || is(a, 0, "DEL"))) ||
                          (a->argc == 3 && a->argvlen[2] > REDIS_EMBSTR_MAX && is(a, 0, "SET"))))
        return GW_FAST;
    if (is(a, 0, "POST") || is(a, 0, "Host:"))
        return GW_ABORT; /* what Redis does with an HTTP request (cross-protocol scripting) */
    for (int i = 0; refused[i].text; i++)
        if (is_word(a, 0, refused[i])) {
            REPLY("-ERR this command cannot run through the cxl ring gateway (pub/sub, MONITOR, "
                  "transactions and replication need a direct connection; see README)\r\n");
            return GW_REFUSE;
        }
    if (is(a, 0, "QUIT")) {
        *close_after = 1;
        REPLY("+OK\r\n");
        return GW_LOCAL;
    }
    /* AUTH, HELLO and RESET go to the ring: the module keeps each gateway
     * connection's Redis user (docs/KV.md, "Identity") */
    if (is(a, 0, "SELECT")) {
        if (a->argc == 2 && is(a, 1, "0")) {
            REPLY("+OK\r\n");
            return GW_LOCAL;
        }
        REPLY("-ERR the cxl ring gateway serves database 0 only\r\n");
        return GW_REFUSE;
    }
    if (is(a, 0, "CLIENT") && (is(a, 1, "SETNAME") || is(a, 1, "SETINFO"))) {
        REPLY("+OK\r\n");
        return GW_LOCAL;
    }
    if (is(a, 0, "CLIENT") && is(a, 1, "GETNAME")) {
        REPLY("$-1\r\n");
        return GW_LOCAL;
    }
    return GW_FORWARD;
}

/* An error text as one RESP error line (no CR/LF inside). */
static int append_error(struct cxl_buf *out, const char *prefix, const uint8_t *text, size_t n)
{
    if (!cxl_buf_tail(out, strlen(prefix) + n + 3))
        return -1;
    cxl_buf_append(out, "-", 1);
    cxl_buf_append(out, prefix, strlen(prefix));
    for (size_t i = 0; i < n; i++) {
        uint8_t c = text[i] == '\r' || text[i] == '\n' ? ' ' : text[i];
        cxl_buf_append(out, &c, 1);
    }
    return cxl_buf_append(out, "\r\n", 2);
}

int gw_encode_result(struct cxl_buf *out, const struct cxl_kv_result *r)
{
    char head[32];
    int n;
    switch (r->status) {
    case CXL_KV_REPLY:
        return cxl_buf_append(out, r->data, r->len);
    case CXL_KV_OK:
        if (r->op != CXL_KV_GET)
            return cxl_buf_append(out, "+OK\r\n", 5);
        n = snprintf(head, sizeof head, "$%u\r\n", r->len);
        if (!cxl_buf_tail(out, (size_t)n + r->len + 2))
            return -1;
        cxl_buf_append(out, head, (size_t)n);
        cxl_buf_append(out, r->data, r->len);
        return cxl_buf_append(out, "\r\n", 2);
    case CXL_KV_NIL:
        return cxl_buf_append(out, "$-1\r\n", 5);
    case CXL_KV_INT:
        n = snprintf(head, sizeof head, ":%lld\r\n", (long long)r->integer);
        return cxl_buf_append(out, head, (size_t)n);
    case CXL_KV_ERR:
        return append_error(out, "", r->data, r->len);
    default: /* the transport failed for this command */
        return append_error(out, "ERR gateway: ", r->data, r->len);
    }
}
