/* transport.c - what a benchmark thread talks to: its own ring (cxl_kv), or,
 * with --via, a RESP socket (TCP, Unix, TLS, the gateway, the sodium tunnel)
 * through the same calls (cxl_kvs), so every transport runs the same
 * workload and has its replies checked the same way. */
#include <stdio.h>

#include "client.h"
#include "net/kv_socket.h"
#include "net/resp_conn.h"

/* ring */
static int r_get(void *h, const void *k, uint32_t n, uint64_t t) { return cxl_kv_submit_get(h, k, n, t); }
static int r_del(void *h, const void *k, uint32_t n, uint64_t t) { return cxl_kv_submit_del(h, k, n, t); }
static int r_set(void *h, const void *k, uint32_t n, const void *v, uint32_t vn, uint64_t t)
{
    return cxl_kv_submit_set(h, k, n, v, vn, 0, t);
}
static int r_cmd(void *h, int argc, const char *const *argv, const size_t *lens, uint64_t t)
{
    return cxl_kv_submit_command(h, argc, argv, lens, t);
}
static int r_poll(void *h, struct cxl_kv_result *r) { return cxl_kv_poll(h, r); }
static int r_wait(void *h, struct cxl_kv_result *r) { return cxl_kv_wait(h, r); }
static void r_stats(void *h, struct cxl_kv_stats *st) { cxl_kv_get_stats(h, st); }
static void r_close(void *h) { cxl_kv_close(h); }

/* socket */
static int s_get(void *h, const void *k, uint32_t n, uint64_t t) { return cxl_kvs_submit_get(h, k, n, t); }
static int s_del(void *h, const void *k, uint32_t n, uint64_t t) { return cxl_kvs_submit_del(h, k, n, t); }
static int s_set(void *h, const void *k, uint32_t n, const void *v, uint32_t vn, uint64_t t)
{
    return cxl_kvs_submit_set(h, k, n, v, vn, 0, t);
}
static int s_cmd(void *h, int argc, const char *const *argv, const size_t *lens, uint64_t t)
{
    return cxl_kvs_submit_command(h, argc, argv, lens, t);
}
static int s_poll(void *h, struct cxl_kv_result *r) { return cxl_kvs_poll(h, r); }
static int s_wait(void *h, struct cxl_kv_result *r)
{
    cxl_kvs_flush(h);
    return cxl_kvs_wait(h, r);
}
static void s_stats(void *h, struct cxl_kv_stats *st) { (void)h, *st = (struct cxl_kv_stats){0}; }
static void s_close(void *h) { cxl_kvs_close(h); }

int transport_open(const struct client_opts *o, uint32_t thread, struct transport *t)
{
    if (o->via) {
        *t = (struct transport){.get = s_get, .set = s_set, .del = s_del, .cmd = s_cmd, .poll = s_poll,
                                .wait = s_wait, .stats = s_stats, .close = s_close};
        int rc = cxl_kvs_open(o->via, &(struct cxl_conn_opts){.timeout_ms = o->kv.timeout_ms,
                                                         .tls_ca_file = o->tls_ca_file,
                                                         .tls_ca_hint = "set CXL_TLS_CAFILE"},
                              (struct cxl_kvs **)&t->h);
        if (rc == 0 && o->kv.password && (rc = cxl_kvs_auth(t->h, o->kv.user, o->kv.password)) != 0) {
            cxl_kvs_close(t->h);
            t->h = NULL;
        }
        return rc;
    }
    *t = (struct transport){.get = r_get, .set = r_set, .del = r_del, .cmd = r_cmd, .poll = r_poll,
                            .wait = r_wait, .stats = r_stats, .close = r_close};
    struct cxl_kv_config cfg = o->kv;
    if (cfg.ring >= 0)
        cfg.ring += (int)thread;
    int rc = cxl_kv_open(&cfg, (struct cxl_kv **)&t->h);
    if (rc == 0)
        t->rings = cxl_kv_geometry(t->h)->ring_count;
    return rc;
}

void transport_close(struct transport *t)
{
    if (t->h)
        t->close(t->h);
    t->h = NULL;
}
