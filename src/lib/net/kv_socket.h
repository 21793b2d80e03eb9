/* net/kv_socket.h - the cxl_kv client shape (submit, flush, poll, wait,
 * results in order with tags) over a RESP socket: TCP, a Unix socket, TLS, or
 * anything that speaks RESP (the gateway, the sodium tunnel). The benchmarks
 * drive the ring and every socket baseline through the same calls and check
 * the same results. GET/SET/DEL replies come back as the ring reports them
 * (OK with the value, NIL, INT); a generic command's reply as its RESP bytes. */
#ifndef CXL_KV_SOCKET_H
#define CXL_KV_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/kv.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_kvs;
struct cxl_conn_opts; /* net/resp_conn.h */

/* addr and o as for cxl_conn_open: "HOST:PORT", "unix:PATH", "tls:HOST:PORT". */
int cxl_kvs_open(const char *addr, const struct cxl_conn_opts *o, struct cxl_kvs **out);
void cxl_kvs_close(struct cxl_kvs *k);
/* AUTH [user] password, waited for: 0, or CXL_EDENIED with Redis's answer. */
int cxl_kvs_auth(struct cxl_kvs *k, const char *user, const char *password);

int cxl_kvs_submit_get(struct cxl_kvs *k, const void *key, uint32_t klen, uint64_t tag);
int cxl_kvs_submit_set(struct cxl_kvs *k, const void *key, uint32_t klen, const void *val,
                       uint32_t vlen, uint64_t ttl_ms, uint64_t tag);
int cxl_kvs_submit_del(struct cxl_kvs *k, const void *key, uint32_t klen, uint64_t tag);
int cxl_kvs_submit_command(struct cxl_kvs *k, int argc, const char *const *argv,
                           const size_t *argvlen, uint64_t tag);
void cxl_kvs_flush(struct cxl_kvs *k);
/* 1 = a result, 0 = none yet, < 0 = the connection failed */
int cxl_kvs_poll(struct cxl_kvs *k, struct cxl_kv_result *r);
/* flush, then wait for the next result (1), < 0 on failure, 0 if none in flight */
int cxl_kvs_wait(struct cxl_kvs *k, struct cxl_kv_result *r);

#ifdef __cplusplus
}
#endif
#endif
