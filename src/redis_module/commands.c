/* commands.c - CXLRING.STATS (per-ring counters, the serving loop's wait
 * time, the checks of ring connections' AUTH) and CXLRING.INFO (geometry and ring owners), usable over TCP. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "module.h"

static void pair_int(RedisModuleCtx *ctx, const char *name, long long v)
{
    rm.ReplyWithSimpleString(ctx, name);
    rm.ReplyWithLongLong(ctx, v);
}

static void pair_str(RedisModuleCtx *ctx, const char *name, const char *v)
{
    rm.ReplyWithSimpleString(ctx, name);
    rm.ReplyWithStringBuffer(ctx, v, strlen(v));
}

/* CXLRING.STATS -> [ [ring 0 ...], ..., [server ...] ], flat name/value pairs */
static int cmd_stats(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
    (void)argv;
    if (argc != 1)
        return rm.WrongArity(ctx);
    uint32_t n = cxl_layout_geometry(cxl_mod.layout)->ring_count;
    rm.ReplyWithArray(ctx, n + 1);
    for (uint32_t i = 0; i < n; i++) {
        struct cxl_kv_ring_stats st;
        cxl_kv_server_stats(cxl_mod.server, i, &st);
        rm.ReplyWithArray(ctx, 26);
        pair_int(ctx, "ring", i);
        pair_int(ctx, "requests", (long long)st.requests);
        pair_int(ctx, "errors", (long long)st.errors);
        pair_int(ctx, "rejected", (long long)st.rejected);
        pair_int(ctx, "rejected_crypto", (long long)st.rejected_crypto);
        pair_int(ctx, "resyncs", (long long)st.resyncs);
        pair_int(ctx, "replies_lost", (long long)st.resp_lost);
        pair_int(ctx, "stalls", (long long)st.stalls);
        pair_int(ctx, "bytes_in", (long long)st.bytes_in);
        pair_int(ctx, "bytes_out", (long long)st.bytes_out);
        pair_int(ctx, "batches", (long long)st.batches);
        pair_int(ctx, "broken", st.broken);
        pair_int(ctx, "repairs", (long long)st.repairs);
    }
    struct cxl_kv_server_wait w;
    cxl_kv_server_wait_stats(cxl_mod.server, &w);
    struct users_stats u = {0};
    users_stats(&u);
    rm.ReplyWithArray(ctx, 22);
    pair_str(ctx, "server", serve_mode_name(cxl_mod.cfg.serve));
    pair_int(ctx, "wait_us", (long long)(w.waited_ns / 1000));
    pair_int(ctx, "sleeps", (long long)w.sleeps);
    pair_int(ctx, "yields", (long long)w.yields);
    pair_int(ctx, "polls", (long long)w.polls);
    pair_int(ctx, "auth_connections", (long long)u.authenticated);
    pair_int(ctx, "auth_checks", (long long)u.checks);
    pair_int(ctx, "auth_full_checks", (long long)u.full_checks);
    pair_int(ctx, "auth_users_asked", (long long)u.users_asked);
    pair_int(ctx, "auth_conns_examined", (long long)u.conns_examined);
    pair_int(ctx, "auth_dropped", (long long)u.dropped);
    return RM_OK;
}

/* The node's place in Redis Cluster, as the module's slot map has it. */
#define CLUSTER_INFO_PAIRS 11
static void cluster_info(RedisModuleCtx *ctx)
{
    struct cluster_stats c;
    cluster_stats(&c);
    static char slots[16384 * 12]; /* every range "a-b " at worst; main thread only */
    cluster_my_slots(slots, sizeof slots);
    pair_int(ctx, "cluster_enabled", c.enabled);
    pair_str(ctx, "cluster_state", !c.enabled ? "" : c.state_ok ? "ok" : "fail");
    pair_str(ctx, "cluster_node_id", c.node_id);
    pair_str(ctx, "cluster_role", !c.enabled ? "" : c.replica ? "replica" : "master");
    pair_str(ctx, "cluster_slots", slots);
    pair_int(ctx, "cluster_map_age_ms", c.age_ms);
    pair_int(ctx, "cluster_map_refreshes", (long long)c.refreshes);
    pair_int(ctx, "cluster_map_refresh_us", (long long)(c.refresh_ns / 1000));
    pair_int(ctx, "cluster_state_check_us", (long long)(c.state_ns / 1000));
    pair_int(ctx, "cluster_checks", (long long)c.checks);
    pair_int(ctx, "cluster_redirects", (long long)c.redirects);
}

static const char *owner_name(uint32_t state)
{
    return state == CXL_OWNER_FREE ? "free" : state == CXL_OWNER_OWNED ? "owned" : "invalid";
}

/* CXLRING.INFO -> [name value ... rings [[ring 0 owner ...] ...]] */
static int cmd_info(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
    (void)argv;
    if (argc != 1)
        return rm.WrongArity(ctx);
    const struct cxl_geometry *g = cxl_layout_geometry(cxl_mod.layout);
    char id[32];
    snprintf(id, sizeof id, "%016" PRIx64, g->format_id);
    rm.ReplyWithArray(ctx, 30 + 2 * CLUSTER_INFO_PAIRS);
    pair_str(ctx, "path", cxl_mod.cfg.path);
    pair_str(ctx, "kind", cxl_medium_kind_name(cxl_medium_kind(cxl_mod.medium)));
    pair_int(ctx, "map_size", (long long)cxl_medium_size(cxl_mod.medium));
    pair_int(ctx, "layout_version", g->version);
    pair_str(ctx, "format_id", id);
    pair_int(ctx, "ring_count", g->ring_count);
    pair_int(ctx, "slot_size", g->slot_size);
    pair_int(ctx, "slots_per_ring", g->slots);
    pair_int(ctx, "max_payload", g->max_payload);
    pair_str(ctx, "serve", serve_mode_name(cxl_mod.cfg.serve));
    struct cxl_delay_model dm = cxl_layout_delay(cxl_mod.layout);
    char dms[64];
    pair_int(ctx, "delay_ns", dm.latency_ns);
    pair_str(ctx, "delay_model", cxl_delay_kind_name(dm.model));
    pair_int(ctx, "delay_bw_mbps", dm.bw_mbps);
    pair_str(ctx, "delay", cxl_delay_model_str(&dm, dms, sizeof dms));
    cluster_info(ctx);
    rm.ReplyWithSimpleString(ctx, "rings");
    rm.ReplyWithArray(ctx, g->ring_count);
    for (uint32_t i = 0; i < g->ring_count; i++) {
        struct cxl_ring_state st;
        cxl_layout_ring_state(cxl_mod.layout, i, &st);
        rm.ReplyWithArray(ctx, 16);
        pair_int(ctx, "ring", i);
        pair_str(ctx, "owner", owner_name(st.owner_state));
        pair_int(ctx, "node", st.owner_node);
        pair_int(ctx, "pid", st.owner_pid);
        pair_int(ctx, "gen", st.owner_gen);
        pair_int(ctx, "heartbeat", (long long)st.heartbeat);
        pair_int(ctx, "req_backlog", (long long)(st.req_tail - st.req_head));
        pair_int(ctx, "resp_backlog", (long long)(st.resp_tail - st.resp_head));
    }
    return RM_OK;
}

int commands_register(RedisModuleCtx *ctx)
{
    if (rm.CreateCommand(ctx, "cxlring.stats", cmd_stats, "readonly fast", 0, 0, 0) != RM_OK)
        return RM_ERR;
    return rm.CreateCommand(ctx, "cxlring.info", cmd_info, "readonly fast", 0, 0, 0);
}
