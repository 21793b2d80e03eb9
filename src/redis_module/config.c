/* config.c - cxl_ring.so arguments: "key=value" words after --loadmodule,
 * with the original prototype's environment variables as defaults. The
 * options the programs share (path, map_size, rings, delay_ns, secure, ...)
 * are parsed by the table of config/options.c; the module's own here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/options.h"
#include "sec/seal.h"
#include "cxl/util.h"
#include "cxl/wait.h"
#include "module.h"

const char *serve_mode_name(enum serve_mode m)
{
    return m == SERVE_EVENTLOOP ? "eventloop" : m == SERVE_THREAD_ONLY ? "thread-only" : "thread";
}

static int say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* user=NAME (every ring) or user.N=NAME (ring N): the Redis ACL user the
 * ring's requests run as until a connection authenticates otherwise. */
static int apply_user(struct module_config *c, const char *key, const char *val, char *err, size_t errlen)
{
    size_t n = strlen(val);
    if (n == 0 || n >= CXL_USER_NAME_MAX)
        return say(err, errlen, "%s: a user name of 1..%d characters", key, CXL_USER_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (val[i] <= ' ' || val[i] == 0x7f)
            return say(err, errlen, "%s: '%s' has a blank or control character", key, val);
    char *dst = c->user;
    if (key[4] == '.') {
        uint32_t ring;
        if (cxl_parse_u32(key, key + 5, 0, CXL_MAX_RINGS - 1, &ring) != 0)
            return say(err, errlen, "%s: the ring after 'user.' must be 0..%u", key, CXL_MAX_RINGS - 1);
        dst = c->ring_user[ring];
    }
    memcpy(dst, val, n + 1);
    return 0;
}

/* The options the module also takes from the environment (the original
 * prototype's variables): read first, each checked as its argument would be
 * (a bad value refuses the load, named "(from VAR)"), then the arguments
 * override them. */
static const enum cxl_opt_id env_opts[] = {
    CXL_OPT_PATH, CXL_OPT_MAP_SIZE, CXL_OPT_MAP_OFFSET, CXL_OPT_RINGS, CXL_OPT_SLOT_SIZE,
    CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE,
};

/* Where a string option's value is kept: it must outlive the argument. */
static char *string_slot(struct module_config *c, int id)
{
    switch (id) {
    case CXL_OPT_PATH: return c->path;
    case CXL_OPT_SEC_MGR: return c->sec_mgr;
    case CXL_OPT_SEC_KEY: return c->key;
    case CXL_OPT_SEC_KEY_FILE: return c->key_file;
    default: return NULL;
    }
}

/* A shared option (config/options.h) by its key. */
static int apply_shared(struct module_config *c, int id, const char *key, const char *val, char *err,
                        size_t errlen)
{
    char *slot = string_slot(c, id);
    if (slot) {
        if (!*val || strlen(val) >= sizeof c->path)
            return say(err, errlen, "%s: '%s' is empty or too long", key, val);
        if (slot != val)
            snprintf(slot, sizeof c->path, "%s", val);
        val = slot;
    }
    if (cxl_opts_set(&c->shared, (enum cxl_opt_id)id, key, val) != 0)
        return say(err, errlen, "%s", cxl_last_error());
    if (id == CXL_OPT_MAP_SIZE && c->shared.medium.map_size == 0)
        return say(err, errlen, "map_size: must be greater than 0");
    return 0;
}

/* One setting by name: a shared option, or one of the module's own. */
static int apply(struct module_config *c, const char *key, const char *val, char *err, size_t errlen)
{
    int rc = 0, id = cxl_opts_find_key(key);
    if (id >= 0)
        return apply_shared(c, id, key, val, err, errlen);
    if (strcmp(key, "batch") == 0) {
        rc = cxl_parse_u32(key, val, 1, 4096, &c->batch);
    } else if (strcmp(key, "max_sleep_us") == 0) {
        rc = cxl_parse_u32(key, val, 1, 100000, &c->max_sleep_us);
    } else if (strcmp(key, "spin_us") == 0) {
        rc = cxl_parse_u32(key, val, 1, 100000, &c->spin_us);
    } else if (strcmp(key, "busy_spin_us") == 0) {
        rc = cxl_parse_u32(key, val, 0, 100000, &c->busy_spin_us);
        c->busy_spin_given = 1;
    } else if (strcmp(key, "yield_us") == 0) {
        rc = cxl_parse_u32(key, val, 1, 1000000, &c->yield_us);
    } else if (strcmp(key, "user") == 0 || strncmp(key, "user.", 5) == 0) {
        return apply_user(c, key, val, err, errlen);
    } else if (strcmp(key, "max_conns") == 0) {
        rc = cxl_parse_u32(key, val, 1, CXL_KV_MAX_CONN, &c->max_conns);
    } else if (strcmp(key, "serve") == 0) {
        if (strcmp(val, "thread") == 0)
            c->serve = SERVE_THREAD;
        else if (strcmp(val, "eventloop") == 0)
            c->serve = SERVE_EVENTLOOP;
        else if (strcmp(val, "thread-only") == 0)
            c->serve = SERVE_THREAD_ONLY;
        else
            return say(err, errlen, "serve: '%s' is not thread, thread-only or eventloop", val);
    } else {
        return say(err, errlen, "unknown argument '%s' (known: path map_size offset rings slot_size "
                   "delay_ns delay_model delay_bw_gbps batch max_sleep_us spin_us busy_spin_us yield_us idle_after_ms idle_sleep_us node_id numa_node prefault serve secure sec_mgr key "
                   "crypto key_file user user.N max_conns allow_foreign_medium)", key);
    }
    return rc ? say(err, errlen, "%s", cxl_last_error()) : 0;
}

/* The environment's values, before the arguments (which override them),
 * under the same checks as the arguments with the same keys. */
static int apply_env(struct module_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof env_opts / sizeof env_opts[0]; i++) {
        const struct cxl_opt_def *d = &cxl_opt_defs[env_opts[i]];
        const char *v = getenv(d->env);
        if (!v || !*v)
            continue;
        if (apply_shared(c, env_opts[i], d->key, v, err, errlen) != 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, " (from %s)", d->env);
            return -1;
        }
    }
    return 0;
}

/* The shared options into the module's config. */
static void take_shared(struct module_config *c)
{
    const struct cxl_shared_opts *s = &c->shared;
    c->medium = s->medium;
    c->medium.path = c->path;
    c->format.ring_count = s->format.ring_count;
    c->format.slot_size = s->format.slot_size;
    c->delay = s->delay;
    c->node_id = s->sec.node_id;
    c->secure = s->sec.secure;
    c->crypto = s->sec.crypto;
    c->idle_after_ms = s->idle_after_ms;
    c->idle_sleep_us = s->idle_sleep_us;
}

int config_parse(struct module_config *c, RedisModuleString **argv, int argc, char *err, size_t errlen)
{
    *c = (struct module_config){0};
    cxl_opts_init(&c->shared);
    c->shared.medium.create = 1;
    c->shared.medium.map_size = CXL_DEFAULT_MAP_SIZE;
    snprintf(c->path, sizeof c->path, "%s", CXL_DEFAULT_PATH);
    c->shared.medium.path = c->path;
    c->batch = 64;
    c->max_sleep_us = 1000;
    c->max_conns = CXL_KV_MAX_CONN; /* a gateway numbers its connections up to 65535 */
    if (apply_env(c, err, errlen))
        return -1;
    for (int i = 0; i < argc; i++) {
        size_t len;
        const char *arg = rm.StringPtrLen(argv[i], &len);
        const char *eq = memchr(arg, '=', len);
        char key[64], val[512];
        if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key || len - (size_t)(eq - arg) > sizeof val)
            return say(err, errlen, "argument '%.*s' is not key=value", (int)len, arg);
        memcpy(key, arg, (size_t)(eq - arg));
        key[eq - arg] = '\0';
        memcpy(val, eq + 1, len - (size_t)(eq - arg) - 1);
        val[len - (size_t)(eq - arg) - 1] = '\0';
        if (apply(c, key, val, err, errlen))
            return -1;
    }
    take_shared(c);
    if (c->secure && c->crypto)
        return say(err, errlen, "secure=1 and crypto=1 exclude each other");
    if (c->secure && (!*c->sec_mgr || !*c->key))
        return say(err, errlen, "secure=1 needs sec_mgr=HOST:PORT and key=FILE (this node's key)");
    if (c->crypto && !*c->key_file)
        return say(err, errlen, "crypto=1 needs key_file=FILE (the shared secret)");
    if (c->secure || c->crypto) /* a blank medium is formatted secure */
        c->format.flags |= cxl_cipher_layout_flags();
    /* no map_size: an existing medium is mapped whole, a new file gets 1 GiB */
    if (!cxl_opts_given(&c->shared, CXL_OPT_MAP_SIZE) && access(c->path, F_OK) == 0)
        c->medium.map_size = 0;
    return 0;
}
