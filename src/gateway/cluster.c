/* cluster.c - the gateway in front of a Redis Cluster node (--cluster
 * POD.MAP, docs/CLUSTER.md section 2): which commands get replies that name
 * nodes (their kind rides in the command's ring tag), and those replies,
 * as they come back, with the addresses of pod nodes swapped for their
 * gateways' (net/cluster_reply.h): -MOVED/-ASK of any command, CLUSTER
 * SLOTS, SHARDS, NODES, REPLICAS. Everything else goes back unchanged. */
#include <string.h>

#include "net/cluster_reply.h"
#include "gateway.h"

#define SCRATCH_KEEP (64 * 1024) /* a rewrite buffer bigger than this is given back */

uint64_t gw_cluster_tag(const struct gw *g, const struct cxl_resp_args *a)
{
    if (!g->o->cluster_path)
        return 0;
    return (uint64_t)cxl_cluster_reply_kind(a->argc, a->argv, a->argvlen) << GW_TAG_KIND_SHIFT;
}

void gw_cluster_reply(struct gw *g, struct cxl_buf *out, size_t from, uint64_t tag)
{
    enum cxl_cluster_reply kind = (enum cxl_cluster_reply)((tag >> GW_TAG_KIND_SHIFT) & GW_TAG_KIND_MASK);
    size_t n = cxl_buf_len(out) - from;
    const uint8_t *reply = out->data + out->start + from;
    if (n == 0 || (kind == CXL_CLUSTER_ANY && reply[0] != '-'))
        return; /* the common case: not an error, not a CLUSTER command */
    struct cxl_buf *s = &g->scratch;
    s->start = s->end = 0;
    if (cxl_cluster_rewrite(kind, &g->o->pod, reply, n, s) == 1) {
        size_t len = cxl_buf_len(s);
        /* room first (it may move the pending bytes, from stays theirs) */
        if (len <= n || cxl_buf_tail(out, len - n)) {
            memcpy(out->data + out->start + from, s->data + s->start, len);
            out->end = out->start + from + len;
        }
    }
    s->start = s->end = 0;
    cxl_buf_trim(s, SCRATCH_KEEP);
}
