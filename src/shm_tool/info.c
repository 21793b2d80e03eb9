/* info.c - `cxl_shm info`: attach to a formatted medium (which validates the
 * header and every ring index) and print the header, the server presence
 * words, then one line per ring. Header lines are `key: value`; ring lines are
 * `ring N: key=value ...`, always the same keys in the same order. */
#include <inttypes.h>

#include "cxl/error.h"
#include "shm_tool.h"

static const char *owner_state_name(uint32_t s, char *buf, size_t len)
{
    if (s == CXL_OWNER_FREE)
        return "free";
    if (s == CXL_OWNER_OWNED)
        return "owned";
    snprintf(buf, len, "0x%x", s);
    return buf;
}

static const char *srv_state_name(uint32_t s, char *buf, size_t len)
{
    if (s == CXL_SRV_RING_OK)
        return "ok";
    if (s == CXL_SRV_RING_BROKEN)
        return "broken";
    if (s == CXL_SRV_RING_REPAIRED)
        return "repaired";
    snprintf(buf, len, "0x%x", s);
    return buf;
}

static void print_server(const struct cxl_layout *l)
{
    struct cxl_server_state s;
    cxl_server_state(l, &s);
    printf("server_gen: %" PRIu64 "\n", s.gen);
    printf("server_heartbeat: %" PRIu64 "\n", s.heartbeat);
    printf("server_pid: %u\n", s.pid);
    printf("server_node: %u\n", s.node);
}

/* One snapshot line. Backlogs are in slots (tail - head); "indices=corrupt"
 * when a queue breaks 0 <= tail - head <= slots in this snapshot. */
static int print_ring(const struct cxl_layout *l, uint32_t ring)
{
    struct cxl_ring_state st;
    if (cxl_layout_ring_state(l, ring, &st) != 0)
        return shm_runtime_error("info");
    uint32_t slots = cxl_layout_geometry(l)->slots;
    uint64_t req = st.req_tail - st.req_head, resp = st.resp_tail - st.resp_head;
    char ob[16], sb[16];
    printf("ring %u: owner=%s node=%u pid=%u gen=%u heartbeat=%" PRIu64
           " req_head=%" PRIu64 " req_tail=%" PRIu64 " req_backlog=%" PRIu64
           " resp_head=%" PRIu64 " resp_tail=%" PRIu64 " resp_backlog=%" PRIu64
           " server=%s reason=%u events=%" PRIu64 " indices=%s\n",
           st.ring, owner_state_name(st.owner_state, ob, sizeof ob), st.owner_node,
           st.owner_pid, st.owner_gen, st.heartbeat, st.req_head, st.req_tail, req,
           st.resp_head, st.resp_tail, resp, srv_state_name(st.srv_state, sb, sizeof sb),
           st.srv_reason, st.srv_events, (req > slots || resp > slots) ? "corrupt" : "ok");
    return SHM_EXIT_OK;
}

int shm_cmd_info(const struct shm_opts *o)
{
    struct cxl_medium *m;
    if (shm_open_medium(o, 0, &m) != 0)
        return shm_runtime_error("info");
    struct cxl_layout *l;
    if (cxl_layout_attach(m, &l) != 0) { /* header only: show broken rings too */
        int rc = shm_runtime_error("info");
        cxl_medium_close(m);
        return rc;
    }
    shm_print_medium(m);
    shm_print_geometry(cxl_layout_geometry(l));
    print_server(l);
    int rc = SHM_EXIT_OK;
    for (uint32_t r = 0; r < cxl_layout_geometry(l)->ring_count && rc == SHM_EXIT_OK; r++)
        rc = print_ring(l, r);
    for (uint32_t r = 0; r < cxl_layout_geometry(l)->ring_count && rc == SHM_EXIT_OK; r++)
        if (cxl_layout_check_ring(l, r) != 0)
            rc = shm_runtime_error("info");
    cxl_layout_close(l);
    cxl_medium_close(m);
    return rc;
}
