/* transport.c - what a benchmark thread (or the one-shot command with
 * --cluster) talks to: its own ring, or, with --via, a RESP socket (TCP,
 * Unix, TLS, the gateway, the sodium tunnel), or, with --cluster, a Redis
 * Cluster (each thread its own cluster handle: a ring of each pod node's
 * medium, any free one or the pod map's, and TCP to the other nodes),
 * through the library's one client for all three (net/kv_any.h), so every
 * transport runs the same workload and has its replies checked the same way. */
#include "client.h"

int transport_open(const struct client_opts *o, uint32_t thread, struct cxl_kv_any **out)
{
    struct cxl_kv_any_config c = {.addr = o->via, .kv = o->kv, .tls_ca_file = o->tls_ca_file,
                                  .tls_ca_hint = "set CXL_TLS_CAFILE", .cluster_seed = o->cluster,
                                  .pod_map = o->pod_map};
    if (!o->via && !o->cluster && c.kv.ring >= 0)
        c.kv.ring += (int)thread; /* thread t claims ring --ring + t */
    return cxl_kv_any_open(&c, out);
}
