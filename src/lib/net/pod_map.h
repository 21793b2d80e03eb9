/* net/pod_map.h - the pod map (docs/CLUSTER.md, section 2): which Redis
 * Cluster nodes share this pod's medium, one line per node:
 *   node HOST:PORT medium PATH [offset N] [ring R] [gateway HOST:PORT]
 * fields after the address in any order; blank lines, and anything from a
 * word starting with '#' to the end of its line, are skipped. HOST:PORT is the node's address as the cluster announces it (in
 * MOVED, CLUSTER SLOTS ...); gateway, the cxl_resp_gateway fronting that
 * node's ring. Every node not listed is reached over TCP. */
#ifndef CXL_NET_POD_MAP_H
#define CXL_NET_POD_MAP_H

#include <stddef.h>
#include <stdint.h>

#define CXL_POD_HOST_MAX 256   /* a host name or address, with its NUL */
#define CXL_POD_PATH_MAX 4096
#define CXL_POD_MAX_NODES 1024
#define CXL_POD_LINE_MAX 8192

struct cxl_pod_addr {
    char host[CXL_POD_HOST_MAX];
    uint16_t port; /* 0: not given */
};

struct cxl_pod_node {
    struct cxl_pod_addr addr;    /* the Redis node */
    char medium[CXL_POD_PATH_MAX];
    uint64_t offset;             /* offset N (0 when not given) */
    int ring;                    /* ring R, -1 when not given */
    struct cxl_pod_addr gateway; /* port 0: no gateway */
};

struct cxl_pod_map {
    struct cxl_pod_node *node;
    size_t n;
};

/* Read the map in the file path: 0, or CXL_EINVAL naming the file and line
 * (CXL_ESYS when it cannot be read). m is empty on failure. */
int cxl_pod_map_load(const char *path, struct cxl_pod_map *m);
/* The same from text[len]; name is what messages call it. */
int cxl_pod_map_parse(const char *name, const char *text, size_t len, struct cxl_pod_map *m);
void cxl_pod_map_free(struct cxl_pod_map *m);
/* The nodes in the map at path (0: none, unreadable or invalid: opening it
 * will say why). */
uint32_t cxl_pod_map_count(const char *path);

/* The node at host[hostlen]:port (host compared without case), or NULL. */
const struct cxl_pod_node *cxl_pod_map_find(const struct cxl_pod_map *m, const char *host, size_t hostlen,
                                            uint16_t port);
/* The same for "HOST:PORT" (an IPv6 host may be bracketed or not). */
const struct cxl_pod_node *cxl_pod_map_find_addr(const struct cxl_pod_map *m, const char *addr);

#endif
