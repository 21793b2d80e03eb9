/* module.c - cxl_ring.so for stock Redis 7: serves Redis over the rings of a
 * shared medium. Loaded with
 *   redis-server --loadmodule cxl_ring.so path=/dev/shm/cxl_shared.raw rings=4 ...
 * it opens the medium, formats it if it is blank (attaches otherwise), starts
 * the serving engine and registers CXLRING.STATS / CXLRING.INFO. Arguments
 * that do not parse make the module refuse to load, saying why. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "module.h"

#define MODULE_NAME "cxlring"
#define MODULE_VERSION 1

struct cxl_module cxl_mod;

static int refuse(RedisModuleCtx *ctx, const char *what, const char *why)
{
    rm.Log(ctx, "warning", "cxl ring: cannot load: %s: %s", what, why);
    cxl_keyring_close(cxl_mod.keys); /* its thread reports to the refresher until then */
    keys_stop(cxl_mod.refresher);
    if (cxl_mod.layout)
        cxl_layout_close(cxl_mod.layout);
    if (cxl_mod.medium)
        cxl_medium_close(cxl_mod.medium);
    executor_destroy(cxl_mod.exec);
    cxl_mod = (struct cxl_module){0};
    return RM_ERR;
}

static int open_rings(RedisModuleCtx *ctx)
{
    struct module_config *c = &cxl_mod.cfg;
    if (cxl_medium_open(&c->medium, &cxl_mod.medium) != 0)
        return refuse(ctx, "medium", cxl_last_error());
    if (cxl_layout_open(cxl_mod.medium, &c->format, &cxl_mod.layout) != 0)
        return refuse(ctx, "layout", cxl_last_error());
    cxl_layout_set_delay(cxl_mod.layout, &c->delay);
    char err[512];
    if (keys_start(c, cxl_layout_geometry(cxl_mod.layout)->ring_count, &cxl_mod.keys,
                   &cxl_mod.refresher, err, sizeof err) != 0)
        return refuse(ctx, "keys", err);
    cxl_mod.exec = executor_create(ctx, c->serve != SERVE_EVENTLOOP, c,
                                   cxl_layout_geometry(cxl_mod.layout)->ring_count, cxl_mod.keys, err, sizeof err);
    if (!cxl_mod.exec)
        return refuse(ctx, "executor", err);
    struct cxl_kv_executor ex = executor_callbacks(cxl_mod.exec);
    struct cxl_kv_server_config sc = {.batch = c->batch, .max_sleep_us = c->max_sleep_us,
                                      .spin_us = c->spin_us, .yield_us = c->yield_us,
                                      /* spin_us= set (e.g. 1: yield, never spin) and no busy_spin_us=: off */
                                      .busy_spin_us = c->busy_spin_given ? c->busy_spin_us
                                                      : c->spin_us      ? 0
                                                                        : CXL_KV_SERVER_BUSY_SPIN_US,
                                      .idle_after_ms = c->idle_after_ms, .idle_sleep_us = c->idle_sleep_us,
                                      .node_id = c->node_id, .keys = cxl_mod.keys};
    if (cxl_kv_server_create(cxl_mod.layout, &sc, &ex, &cxl_mod.server) != 0)
        return refuse(ctx, "server", cxl_last_error());
    return RM_OK;
}

/* Who the rings' requests run as, said once at load (docs/SERVER.md, "Rights"). */
static void log_rights(RedisModuleCtx *ctx)
{
    const struct module_config *c = &cxl_mod.cfg;
    int named = c->user[0] != 0;
    for (uint32_t i = 0; i < CXL_MAX_RINGS && !named; i++)
        named = c->ring_user[i][0] != 0;
    if (c->secure)
        rm.Log(ctx, "notice", "cxl ring: each node runs as the Redis user cxl_sec_mgr's ACL names for it "
               "(node ... user NAME)%s", named ? ", else as user=" : "");
    if (!access_state.auth_required && !named)
        rm.Log(ctx, "warning", "cxl ring: Redis requires no authentication and no user= is named: %s can act "
               "as Redis's default user on the rings", c->secure ? "a node the ACL names no user for"
                                                                 : "any process that can map the medium");
    else if (access_state.auth_required)
        rm.Log(ctx, "notice", "cxl ring: Redis requires authentication: a ring connection without a named "
               "user answers NOAUTH until it authenticates");
}

static void log_enabled(RedisModuleCtx *ctx)
{
    const struct cxl_geometry *g = cxl_layout_geometry(cxl_mod.layout);
    const struct module_config *c = &cxl_mod.cfg;
    rm.Log(ctx, "notice",
           "cxl ring: enabled path=%s kind=%s map_size=%" PRIu64 " offset=%" PRIu64 " rings=%u "
           "slots_per_ring=%u slot_size=%u max_payload=%u serve=%s delay_ns=%u delay_model=%s delay_bw_gbps=%g format_id=%016" PRIx64
           " security=%s%s%s",
           c->path, cxl_medium_kind_name(cxl_medium_kind(cxl_mod.medium)), cxl_medium_size(cxl_mod.medium),
           c->medium.map_offset, g->ring_count, g->slots, g->slot_size, g->max_payload,
           serve_mode_name(c->serve), c->delay.latency_ns,
           cxl_delay_kind_name(c->delay.model), c->delay.bw_mbps / 1000.0, g->format_id, keys_mode_name(c),
           (g->flags & CXL_LAYOUT_F_SECURE) ? " cipher=" : "",
           (g->flags & CXL_LAYOUT_F_SECURE) ? ((g->flags & CXL_LAYOUT_F_XCHACHA) ? "xchacha20poly1305" : "aes256gcm") : "");
}

__attribute__((visibility("default")))
int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
    const char *missing = NULL;
    if (rm_api_load(ctx, &missing) != 0)
        return RM_ERR; /* cannot even log: this Redis lacks part of the API */
    if (rm.IsModuleNameBusy(MODULE_NAME))
        return RM_ERR;
    rm.SetModuleAttribs(ctx, MODULE_NAME, MODULE_VERSION, RM_APIVER_1);
    if (cxl_mod.server)
        return refuse(ctx, "load", "cxl_ring is already loaded");
    char err[512];
    if (config_parse(&cxl_mod.cfg, argv, argc, err, sizeof err) != 0)
        return refuse(ctx, "arguments", err);
    if (open_rings(ctx) != RM_OK)
        return RM_ERR;
    if (commands_register(ctx) != RM_OK)
        return refuse(ctx, "commands", "cannot register CXLRING.*");
    users_watch(ctx);
    if (cluster_init(ctx, cxl_layout_geometry(cxl_mod.layout)->ring_count, cxl_mod.cfg.max_conns + 1, err,
                     sizeof err) != 0)
        return refuse(ctx, "cluster", err);
    if (driver_start(ctx, cxl_mod.cfg.serve, cxl_mod.server, &cxl_mod.driver, err, sizeof err) != 0)
        return refuse(ctx, "driver", err);
    log_enabled(ctx);
    log_rights(ctx);
    return RM_OK;
}

/* The serving thread may be waiting for Redis's lock, which MODULE UNLOAD
 * holds: stopping it here could deadlock, so unloading is refused. */
__attribute__((visibility("default")))
int RedisModule_OnUnload(RedisModuleCtx *ctx)
{
    rm.Log(ctx, "warning", "cxl ring: cannot be unloaded while it serves rings; restart Redis instead");
    return RM_ERR;
}
