/* net/kv_cluster.h - a slot-aware Redis Cluster client behind the cxl_kv
 * calls (docs/CLUSTER.md, section 2), the cluster transport of
 * net/kv_any.h. It learns the slot map with CLUSTER SLOTS, reaches each
 * node of the caller's pod (the pod map) over a ring of that node's medium
 * and every other node over TCP (TLS when the seed is "tls:..."), routes
 * each request by its key's hash slot (a generic command by its first key,
 * its position learnt once per command name with COMMAND INFO), and follows
 * MOVED, ASK, TRYAGAIN, CLUSTERDOWN and dead nodes (a failover) by itself.
 * Results come back in submission order with the caller's tags; requests
 * may be pipelined to several nodes at once. One handle per thread.
 *
 * The pod map: one node per line, `node HOST:PORT medium PATH [offset N]
 * [ring R]`, '#' comments and blank lines allowed. HOST:PORT is the
 * address the cluster announces for the node (CLUSTER SLOTS). */
#ifndef CXL_NET_KV_CLUSTER_H
#define CXL_NET_KV_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/kv.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_kvc_config {
    const char *seed;          /* "HOST:PORT" (or "tls:HOST:PORT": every TCP node over TLS) */
    const char *pod_map;       /* the pod map file; NULL: every node over TCP */
    struct cxl_kv_config kv;   /* the rings' config (medium path, offset and ring replaced per
                                * node); timeout_ms, user, password also for the sockets */
    const char *tls_ca_file;   /* tls: the CA to trust (NULL: the system's) */
    const char *tls_ca_hint;   /* tls: how the user names that CA */
    uint32_t retry_ms;         /* TRYAGAIN retried for up to this (0: 2000) */
    uint32_t failover_ms;      /* a dead node or CLUSTERDOWN waited out for up to this (0: 15000) */
    uint32_t max_redirects;    /* MOVED/ASK followed per request at most (0: 16) */
};

struct cxl_kvc;

/* Read the pod map, learn the slot map from the seed: 0, or a CXL_E* code
 * with a message (a bad pod map line names the file and line). Node
 * connections are opened when first used. */
int cxl_kvc_open(const struct cxl_kvc_config *c, struct cxl_kvc **out);
void cxl_kvc_close(struct cxl_kvc *k);

/* As cxl_kv_submit_*: 0, or CXL_ESYS (out of memory). A request is queued
 * even if its node cannot take it yet (sent on the next poll/wait). */
int cxl_kvc_submit_get(struct cxl_kvc *k, const void *key, uint32_t klen, uint64_t tag);
int cxl_kvc_submit_set(struct cxl_kvc *k, const void *key, uint32_t klen, const void *val,
                       uint32_t vlen, uint64_t tag);
int cxl_kvc_submit_del(struct cxl_kvc *k, const void *key, uint32_t klen, uint64_t tag);
int cxl_kvc_submit_command(struct cxl_kvc *k, int argc, const char *const *argv,
                           const size_t *argvlen, uint64_t tag);
void cxl_kvc_flush(struct cxl_kvc *k);
/* 1 = *r holds the next result in submission order (its data valid until the
 * next poll/wait/close), 0 = none ready (poll) / none in flight (wait). A
 * request the cluster could not serve in the bounds above completes with
 * its last error (a Redis error, or a negative CXL_E* status with a text). */
int cxl_kvc_poll(struct cxl_kvc *k, struct cxl_kv_result *r);
int cxl_kvc_wait(struct cxl_kvc *k, struct cxl_kv_result *r);

/* Counters: MOVED and ASK followed, map refreshes, nodes found dead. */
struct cxl_kvc_stats {
    uint64_t moved, asked, retried, refreshes, node_failures;
    uint64_t ring_fallbacks; /* pod nodes whose ring would not open or failed: over TCP since */
};
void cxl_kvc_get_stats(const struct cxl_kvc *k, struct cxl_kvc_stats *st);
/* The rings' counters summed over the pod nodes' rings open now. */
void cxl_kvc_ring_stats(const struct cxl_kvc *k, struct cxl_kv_stats *st);

#ifdef __cplusplus
}
#endif
#endif
