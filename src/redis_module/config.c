/* config.c - cxl_ring.so arguments: "key=value" words after --loadmodule,
 * with the original prototype's environment variables as defaults. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* One setting by name, from the environment or an argument. */
static int apply(struct module_config *c, const char *key, const char *val, char *err, size_t errlen)
{
    int rc = 0;
    uint32_t u;
    if (strcmp(key, "path") == 0) {
        if (!*val || strlen(val) >= sizeof c->path)
            return say(err, errlen, "path: '%s' is empty or too long", val);
        snprintf(c->path, sizeof c->path, "%s", val);
    } else if (strcmp(key, "map_size") == 0) {
        c->map_size_given = 1;
        rc = cxl_parse_size(key, val, &c->medium.map_size);
        if (rc == 0 && c->medium.map_size == 0)
            return say(err, errlen, "map_size: must be greater than 0");
    } else if (strcmp(key, "offset") == 0) {
        rc = cxl_parse_size(key, val, &c->medium.map_offset);
    } else if (strcmp(key, "rings") == 0) {
        rc = cxl_parse_u32(key, val, 1, CXL_MAX_RINGS, &c->format.ring_count);
    } else if (strcmp(key, "slot_size") == 0) {
        rc = cxl_parse_u32(key, val, CXL_MIN_SLOT_SIZE, CXL_MAX_SLOT_SIZE, &c->format.slot_size);
        if (rc == 0 && (c->format.slot_size & (c->format.slot_size - 1)))
            return say(err, errlen, "slot_size: %s is not a power of two", val);
    } else if (strcmp(key, "delay_ns") == 0) {
        rc = cxl_parse_u32(key, val, 0, 1000000, &c->delay_ns);
    } else if (strcmp(key, "batch") == 0) {
        rc = cxl_parse_u32(key, val, 1, 4096, &c->batch);
    } else if (strcmp(key, "max_sleep_us") == 0) {
        rc = cxl_parse_u32(key, val, 1, 100000, &c->max_sleep_us);
    } else if (strcmp(key, "spin_us") == 0) {
        rc = cxl_parse_u32(key, val, 1, 100000, &c->spin_us);
    } else if (strcmp(key, "yield_us") == 0) {
        rc = cxl_parse_u32(key, val, 1, 1000000, &c->yield_us);
    } else if (strcmp(key, "node_id") == 0) {
        rc = cxl_parse_u32(key, val, 0, 65535, &c->node_id);
    } else if (strcmp(key, "numa_node") == 0) {
        rc = cxl_parse_u32(key, val, 0, 1023, &u);
        c->medium.numa_node = (int)u;
    } else if (strcmp(key, "allow_foreign_medium") == 0) {
        rc = cxl_parse_u32(key, val, 0, 1, &u);
        c->medium.allow_foreign = (int)u;
    } else if (strcmp(key, "prefault") == 0) {
        rc = cxl_parse_u32(key, val, 0, 1, &u);
        c->medium.prefault = (int)u;
    } else if (strcmp(key, "secure") == 0 || strcmp(key, "crypto") == 0) {
        rc = cxl_parse_u32(key, val, 0, 1, &u);
        *(key[0] == 's' ? &c->secure : &c->crypto) = (int)u;
    } else if (strcmp(key, "sec_mgr") == 0 || strcmp(key, "key") == 0 || strcmp(key, "key_file") == 0) {
        char *dst = key[0] == 's' ? c->sec_mgr : strcmp(key, "key") == 0 ? c->key : c->key_file;
        if (!*val || strlen(val) >= sizeof c->key)
            return say(err, errlen, "%s: '%s' is empty or too long", key, val);
        snprintf(dst, sizeof c->key, "%s", val);
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
                   "delay_ns batch max_sleep_us spin_us yield_us node_id numa_node prefault serve secure sec_mgr key "
                   "crypto key_file user user.N max_conns allow_foreign_medium)", key);
    }
    return rc ? say(err, errlen, "%s", cxl_last_error()) : 0;
}

static int apply_env(struct module_config *c, const char *env, const char *key, char *err, size_t errlen)
{
    const char *v = getenv(env);
    if (!v || !*v)
        return 0;
    if (apply(c, key, v, err, errlen) == 0)
        return 0;
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, " (from %s)", env);
    return -1;
}

int config_parse(struct module_config *c, RedisModuleString **argv, int argc, char *err, size_t errlen)
{
    *c = (struct module_config){0};
    cxl_medium_config_init(&c->medium);
    c->medium.create = 1;
    snprintf(c->path, sizeof c->path, "%s", CXL_DEFAULT_PATH);
    c->batch = 64;
    c->max_sleep_us = 1000;
    c->max_conns = CXL_KV_MAX_CONN; /* a gateway numbers its connections up to 65535 */
    static const char *env[][2] = {
        {"CXL_RING_PATH", "path"},      {"CXL_RING_MAP_SIZE", "map_size"},
        {"CXL_RING_MAP_OFFSET", "offset"}, {"CXL_RING_COUNT", "rings"},
        {"CXL_RING_SLOT_SIZE", "slot_size"}, {"CXL_SHM_DELAY_NS", "delay_ns"},
        {"CXL_SEC_MGR", "sec_mgr"}, {"CXL_SEC_NODE_ID", "node_id"}, {"CXL_SEC_KEY", "key"},
        {"CXL_SEC_KEY_FILE", "key_file"},
    };
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        if (apply_env(c, env[i][0], env[i][1], err, errlen))
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
    if (c->secure && c->crypto)
        return say(err, errlen, "secure=1 and crypto=1 exclude each other");
    if (c->secure && (!*c->sec_mgr || !*c->key))
        return say(err, errlen, "secure=1 needs sec_mgr=HOST:PORT and key=FILE (this node's key)");
    if (c->crypto && !*c->key_file)
        return say(err, errlen, "crypto=1 needs key_file=FILE (the shared secret)");
    if (c->secure || c->crypto) /* a blank medium is formatted secure */
        c->format.flags |= CXL_LAYOUT_F_SECURE |
                           (cxl_cipher_default() == CXL_CIPHER_XCHACHA ? CXL_LAYOUT_F_XCHACHA : 0);
    c->medium.path = c->path;
    /* no map_size: an existing medium is mapped whole, a new file gets 1 GiB */
    if (!c->map_size_given && access(c->path, F_OK) == 0)
        c->medium.map_size = 0;
    return 0;
}
