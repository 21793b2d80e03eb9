/* net/cluster_reply.h - Redis Cluster replies with the addresses of pod
 * nodes swapped for their gateways' (docs/CLUSTER.md, section 2), so that a
 * cluster client in front of gateways reaches each pod node through its
 * gateway: the redirections -MOVED/-ASK, and CLUSTER SLOTS, SHARDS, NODES
 * and REPLICAS (RESP2, as Redis 7.0 writes them). A node that is not in the
 * pod map, or has no gateway there, keeps its address. Anything that does
 * not parse as expected passes unchanged: never an error, never a crash. */
#ifndef CXL_NET_CLUSTER_REPLY_H
#define CXL_NET_CLUSTER_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/pod_map.h"

/* What the reply answers (every kind: an error reply is checked for a redirection). */
enum cxl_cluster_reply {
    CXL_CLUSTER_ANY = 0,   /* any command: only -MOVED and -ASK change */
    CXL_CLUSTER_SLOTS,     /* CLUSTER SLOTS */
    CXL_CLUSTER_SHARDS,    /* CLUSTER SHARDS */
    CXL_CLUSTER_NODES,     /* CLUSTER NODES, REPLICAS, SLAVES: text lines "id ip:port@cport ..." */
};

/* The kind of reply the command argv (argc >= 1) gets. */
enum cxl_cluster_reply cxl_cluster_reply_kind(int argc, const char *const *argv, const size_t *argvlen);

/* The one complete reply in[len] rewritten into out (appended): 1 when out
 * holds the reply to send (the same bytes if no pod node with a gateway is
 * named), 0 when in passes as it is (out may hold partial bytes then: the
 * caller drops them), -1 when out cannot grow. */
int cxl_cluster_rewrite(enum cxl_cluster_reply kind, const struct cxl_pod_map *m, const uint8_t *in, size_t len,
                        struct cxl_buf *out);

#endif
