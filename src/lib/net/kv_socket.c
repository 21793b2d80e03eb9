/* kv_socket.c - the cxl_kv client shape over a RESP connection: commands are
 * pipelined into the connection's output, replies matched in order to the
 * requests' tags, and normalised the way the ring reports them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/kv_socket.h"
#include "net/resp.h"
#include "net/resp_conn.h"

struct pending {
    uint64_t tag;
    uint16_t op;
};

struct cxl_kvs {
    struct cxl_conn *conn;
    struct pending *fifo;
    uint32_t cap, head, count;
};

int cxl_kvs_open(const char *addr, const struct cxl_conn_opts *o, struct cxl_kvs **out)
{
    struct cxl_kvs *k = calloc(1, sizeof *k);
    if (!k)
        return cxl_fail(CXL_ESYS, "out of memory");
    k->cap = 256;
    k->fifo = malloc(k->cap * sizeof *k->fifo);
    int rc = k->fifo ? cxl_conn_open(addr, o, &k->conn) : cxl_fail(CXL_ESYS, "out of memory");
    if (rc) {
        cxl_kvs_close(k);
        return rc;
    }
    *out = k;
    return 0;
}

int cxl_kvs_auth(struct cxl_kvs *k, const char *user, const char *password)
{
    const char *argv[3] = {"AUTH"};
    int argc = 1;
    if (user)
        argv[argc++] = user;
    argv[argc++] = password;
    const uint8_t *rep;
    size_t len;
    int rc = cxl_conn_call(k->conn, argc, argv, &rep, &len);
    if (rc)
        return rc;
    if (len >= 3 && memcmp(rep, "+OK", 3) == 0)
        return 0;
    int n = (int)len;
    while (n > 0 && (rep[n - 1] == '\n' || rep[n - 1] == '\r'))
        n--;
    return cxl_fail(CXL_EDENIED, "AUTH refused: %.*s", n > 200 ? 200 : n, (const char *)rep + (n && rep[0] == '-'));
}

void cxl_kvs_close(struct cxl_kvs *k)
{
    if (!k)
        return;
    cxl_conn_close(k->conn);
    free(k->fifo);
    free(k);
}

static int push(struct cxl_kvs *k, uint64_t tag, uint16_t op)
{
    if (k->count == k->cap) {
        struct pending *f = malloc(2 * k->cap * sizeof *f);
        if (!f)
            return cxl_fail(CXL_ESYS, "out of memory");
        for (uint32_t i = 0; i < k->count; i++)
            f[i] = k->fifo[(k->head + i) % k->cap];
        free(k->fifo);
        k->fifo = f;
        k->head = 0;
        k->cap *= 2;
    }
    k->fifo[(k->head + k->count++) % k->cap] = (struct pending){tag, op};
    return 0;
}

static int send_cmd(struct cxl_kvs *k, uint16_t op, uint64_t tag, int argc, const char *const *argv,
                    const size_t *lens)
{
    int rc = push(k, tag, op);
    if (rc == 0 && (rc = cxl_conn_send(k->conn, argc, argv, lens)) != 0)
        k->count--;
    return rc;
}

int cxl_kvs_submit_get(struct cxl_kvs *k, const void *key, uint32_t klen, uint64_t tag)
{
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, klen};
    return send_cmd(k, CXL_KV_GET, tag, 2, argv, lens);
}

int cxl_kvs_submit_del(struct cxl_kvs *k, const void *key, uint32_t klen, uint64_t tag)
{
    const char *argv[] = {"DEL", key};
    size_t lens[] = {3, klen};
    return send_cmd(k, CXL_KV_DEL, tag, 2, argv, lens);
}

int cxl_kvs_submit_set(struct cxl_kvs *k, const void *key, uint32_t klen, const void *val,
                       uint32_t vlen, uint64_t ttl_ms, uint64_t tag)
{
    char ms[24];
    int n = snprintf(ms, sizeof ms, "%llu", (unsigned long long)ttl_ms);
    const char *argv[] = {"SET", key, val, "PX", ms};
    size_t lens[] = {3, klen, vlen, 2, (size_t)n};
    return send_cmd(k, CXL_KV_SET, tag, ttl_ms ? 5 : 3, argv, lens);
}

int cxl_kvs_submit_command(struct cxl_kvs *k, int argc, const char *const *argv,
                           const size_t *argvlen, uint64_t tag)
{
    return send_cmd(k, CXL_KV_CMD, tag, argc, argv, argvlen);
}

void cxl_kvs_flush(struct cxl_kvs *k)
{
    cxl_conn_flush(k->conn); /* a failure shows at the next read */
}

/* The reply to a GET/SET/DEL as the ring reports it; a CMD's as RESP. */
static void normalise(const struct pending *p, const uint8_t *rep, size_t len, struct cxl_kv_result *r)
{
    *r = (struct cxl_kv_result){.tag = p->tag, .op = p->op, .status = CXL_KV_REPLY, .data = rep,
                                .len = (uint32_t)len};
    if (p->op == CXL_KV_CMD)
        return;
    struct cxl_resp_elem e;
    if (cxl_resp_elem(rep, len, &e) <= 0)
        return;
    if (e.type == '-' || e.type == '+') {
        r->status = e.type == '-' ? CXL_KV_ERR : CXL_KV_OK;
        r->data = e.str;
        r->len = (uint32_t)e.len;
    } else if (e.type == '$') {
        r->status = e.nil ? CXL_KV_NIL : CXL_KV_OK;
        r->data = e.nil ? rep : e.str;
        r->len = e.nil ? 0 : (uint32_t)e.len;
    } else if (e.type == ':') {
        r->status = CXL_KV_INT;
        r->integer = e.integer;
        r->len = 0;
    }
}

static int deliver(struct cxl_kvs *k, const uint8_t *rep, size_t len, struct cxl_kv_result *r)
{
    if (k->count == 0)
        return cxl_fail(CXL_EPROTO, "a reply nobody asked for");
    struct pending p = k->fifo[k->head];
    k->head = (k->head + 1) % k->cap;
    k->count--;
    normalise(&p, rep, len, r);
    return 1;
}

int cxl_kvs_poll(struct cxl_kvs *k, struct cxl_kv_result *r)
{
    const uint8_t *rep;
    size_t len;
    int rc = cxl_conn_try_read(k->conn, &rep, &len);
    return rc == 1 ? deliver(k, rep, len, r) : rc;
}

int cxl_kvs_wait(struct cxl_kvs *k, struct cxl_kv_result *r)
{
    if (k->count == 0)
        return 0;
    const uint8_t *rep;
    size_t len;
    int rc = cxl_conn_read(k->conn, &rep, &len);
    return rc == 0 ? deliver(k, rep, len, r) : rc;
}

