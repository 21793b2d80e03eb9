/* fuzz_cluster_reply.c - the gateway's --cluster rewriting of replies from
 * Redis (net/cluster_reply.h) and the pod map's parser (net/pod_map.h) on
 * arbitrary bytes. Byte 0: bit 7 set, the rest is a pod map's text; else
 * its low 2 bits pick the kind of reply (any, SLOTS, SHARDS, NODES) and the
 * rest is the reply, in a heap buffer of exactly its size. Oracles: no
 * crash or over-read (ASan/UBSan); a rewritten reply is exactly one
 * complete RESP reply; a map that parsed has nodes with a medium each. */
#include <stdlib.h>
#include <string.h>

#include "net/cluster_reply.h"
#include "net/resp.h"

static const char map_text[] =
    "node 127.0.0.1:7000 medium /dev/shm/a.raw gateway 127.0.0.1:8000\n"
    "node 127.0.0.1:7001 medium /dev/shm/b.raw gateway gw:8001\n"
    "node ::1:7002 medium /dev/shm/c.raw\n";

static void pod_map(const uint8_t *d, size_t n)
{
    struct cxl_pod_map m;
    if (cxl_pod_map_parse("fuzz", (const char *)d, n, &m) != 0) {
        if (m.n || m.node)
            abort();
        return;
    }
    for (size_t i = 0; i < m.n; i++)
        if (!m.node[i].medium[0] || !m.node[i].addr.port)
            abort();
    cxl_pod_map_free(&m);
}

static void reply(int kind, const uint8_t *d, size_t n)
{
    static struct cxl_pod_map m;
    if (!m.n && cxl_pod_map_parse("fuzz", map_text, sizeof map_text - 1, &m) != 0)
        abort();
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, d, n);
    struct cxl_buf out = cxl_buf_growable(CXL_BUF_GROWS);
    int rc = cxl_cluster_rewrite((enum cxl_cluster_reply)kind, &m, copy, n, &out);
    if (rc == 1 && cxl_resp_reply_size(out.data + out.start, cxl_buf_len(&out)) != (int64_t)cxl_buf_len(&out))
        abort();
    if (rc == 1 && cxl_resp_reply_size(copy, n) != (int64_t)n)
        abort(); /* only a complete reply is ever rewritten */
    cxl_buf_free(&out);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        pod_map(data + 1, size - 1);
    else
        reply(data[0] & 3, data + 1, size - 1);
    return 0;
}
