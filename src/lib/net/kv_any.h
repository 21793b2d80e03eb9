/* net/kv_any.h - one Redis client over whichever transport a tool is told
 * to use: a ring of the shared medium (cxl/kv.h), a RESP socket (TCP, a
 * Unix socket, TLS, or anything that speaks RESP: the gateway, the sodium
 * tunnel; net/kv_socket.h), or a Redis Cluster (rings to the nodes of the
 * caller's pod, TCP to the others, each request routed by its key's slot;
 * net/kv_cluster.h), behind the cxl_kv calls. The benchmarks (the
 * ring benchmark of cxl_ring_direct, cxl_ycsb) run the same work over every
 * transport through it, so that the transports differ only in how the
 * bytes travel.
 *
 *     struct cxl_kv_any_config c = {.addr = "127.0.0.1:6379"};   // or .kv for a ring
 *     cxl_kv_config_init(&c.kv);
 *     struct cxl_kv_any *db;
 *     cxl_kv_any_open(&c, &db);
 *     cxl_kv_any_command(db, argc, argv, lens, tag);
 *     cxl_kv_any_wait(db, &r);     // flushes, then the next result in order
 *
 * Results as cxl_kv reports them (a generic command's reply: its RESP
 * bytes, CXL_KV_REPLY), data valid until the next poll/wait/close. One
 * handle per thread. */
#ifndef CXL_NET_KV_ANY_H
#define CXL_NET_KV_ANY_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/kv.h"
#include "net/kv_cluster.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_kv_any_config {
    const char *addr;        /* a RESP socket: "HOST:PORT", "unix:PATH", "tls:HOST:PORT"; NULL: a ring */
    struct cxl_kv_config kv; /* the ring (cxl_kv_config_init first); for a socket its
                              * timeout_ms, user and password are used */
    const char *tls_ca_file; /* tls: the CA to trust (NULL: the system's) */
    const char *tls_ca_hint; /* tls: how the user names that CA, for a failed handshake's message */
    /* A Redis Cluster (addr NULL): cluster_seed is any node's "HOST:PORT", reached over TCP
     * ("tls:HOST:PORT": every node over TLS) to learn the slot map; pod_map (NULL: none) the
     * file naming the nodes of this pod and their media (net/kv_cluster.h), each reached
     * over a ring of its medium opened with kv (its medium path, offset and ring replaced by
     * the node's); every other node over TCP. */
    const char *cluster_seed;
    const char *pod_map;
};

struct cxl_kv_any;

/* Connect (and with kv.password AUTH, as a TCP client would): 0, or a
 * CXL_E* code with a message. */
int cxl_kv_any_open(const struct cxl_kv_any_config *c, struct cxl_kv_any **out);
void cxl_kv_any_close(struct cxl_kv_any *db);

int cxl_kv_any_get(struct cxl_kv_any *db, const void *key, uint32_t klen, uint64_t tag);
int cxl_kv_any_set(struct cxl_kv_any *db, const void *key, uint32_t klen, const void *val, uint32_t vlen,
                   uint64_t tag);
int cxl_kv_any_del(struct cxl_kv_any *db, const void *key, uint32_t klen, uint64_t tag);
int cxl_kv_any_command(struct cxl_kv_any *db, int argc, const char *const *argv, const size_t *argvlen,
                       uint64_t tag);
void cxl_kv_any_flush(struct cxl_kv_any *db);
/* 1 = *r holds the next result, 0 = none ready (poll) / none in flight
 * (wait), < 0 = the connection or ring is unusable. */
int cxl_kv_any_poll(struct cxl_kv_any *db, struct cxl_kv_result *r);
int cxl_kv_any_wait(struct cxl_kv_any *db, struct cxl_kv_result *r);

int cxl_kv_any_is_ring(const struct cxl_kv_any *db);
int cxl_kv_any_is_cluster(const struct cxl_kv_any *db);
/* The ring's counters (a socket: zeros; a cluster: summed over its open rings) and the
 * medium's ring count (a socket or a cluster: 0). */
void cxl_kv_any_stats(const struct cxl_kv_any *db, struct cxl_kv_stats *st);
uint32_t cxl_kv_any_rings(const struct cxl_kv_any *db);
/* A cluster's redirections, refreshes and node failures so far (others: zeros). */
void cxl_kv_any_cluster_stats(const struct cxl_kv_any *db, struct cxl_kvc_stats *st);

#ifdef __cplusplus
}
#endif
#endif
