/* net/kv_cluster_map.h - what the cluster client (net/kv_cluster.h) reads:
 * CLUSTER SLOTS and COMMAND INFO replies, and the
 * redirection errors (MOVED, ASK, TRYAGAIN, CLUSTERDOWN). Parsing only; no
 * connections. */
#ifndef CXL_NET_KV_CLUSTER_MAP_H
#define CXL_NET_KV_CLUSTER_MAP_H

#include <stddef.h>
#include <stdint.h>

#define CXL_NODE_ADDR_MAX 128

/* One slot range of CLUSTER SLOTS: its master's host (may be empty: the
 * node asked), port and node id (idlen 0: not given). Return non-zero to stop. */
typedef int (*cxl_slot_range_fn)(void *ctx, uint32_t first, uint32_t last, const char *host, size_t hlen,
                                 int port, const char *id, size_t idlen);
/* Walk a CLUSTER SLOTS reply: 0, or CXL_EPROTO (not one; an error reply's text in the message). */
int cxl_cluster_slots_parse(const uint8_t *rep, size_t len, cxl_slot_range_fn fn, void *ctx);

/* COMMAND INFO NAME's reply: the first key, last key and step (all 0: the
 * command has no keys, or is unknown). 0 or CXL_EPROTO. */
int cxl_command_info_parse(const uint8_t *rep, size_t len, int *first, int *last, int *step);

enum cxl_redirect { CXL_REDIR_NONE, CXL_REDIR_MOVED, CXL_REDIR_ASK, CXL_REDIR_TRYAGAIN, CXL_REDIR_DOWN };
/* An error text (without '-'): MOVED/ASK with *slot and addr ("HOST:PORT";
 * HOST may be empty), TRYAGAIN, CLUSTERDOWN, or NONE. */
enum cxl_redirect cxl_redirect_parse(const uint8_t *text, size_t len, uint32_t *slot, char *addr, size_t cap);

#endif
