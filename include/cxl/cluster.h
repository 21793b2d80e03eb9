/* cxl/cluster.h - Redis Cluster's key space as a client or a node sees it
 * (docs/CLUSTER.md): the hash slot of a key. */
#ifndef CXL_CLUSTER_H
#define CXL_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_CLUSTER_SLOTS 16384u

/* The hash slot of a key, as Redis Cluster computes it: CRC16 (XModem) of the
 * key, or of its hash tag - the bytes between the first '{' and the first
 * '}' after it, when there are any - modulo 16384. Any bytes; len 0 is slot 0. */
uint16_t cxl_cluster_slot(const void *key, size_t len);

#ifdef __cplusplus
}
#endif
#endif
