/* rights_harness.h - what the tests of a ring client's rights share
 * (redis_rights.c, redis_node_users.c): a real redis-server with the module
 * on a /dev/shm medium, the same command sent over the ring and over TCP as
 * the same Redis user, replies compared byte for byte, and the runner of
 * named scenarios. One program includes it (its statics are the program's). */
#ifndef RIGHTS_HARNESS_H
#define RIGHTS_HARNESS_H

#define _GNU_SOURCE
#include "check.h"
#include "fixture.h"
#include "redis_harness.h"
#include "sec_harness.h"
#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "sec/seal.h"
#include "cxl/util.h"
#include "ring/layout.h"

static char module[512], tool[512], mgr_tool[512], logdir[300];
static struct fixture med;
static struct redis_proc redis;
static char path_arg[300];

/* --- helpers ---------------------------------------------------------------- */

static inline int start(const char *const *server_args, const char *const *extra_module_args)
{
    const char *args[16] = {path_arg, "map_size=16M", "rings=4", "slot_size=1024"};
    int n = 4;
    for (int i = 0; extra_module_args && extra_module_args[i] && n < 15; i++)
        args[n++] = extra_module_args[i];
    args[n] = NULL;
    redis.port = 0;
    unlink(med.path);
    int rc = redis_start_with(&redis, server_args, module, args, logdir);
    if (rc)
        fprintf(stderr, "redis-server did not start; see %s\n", redis.log);
    CHECK_EQ(rc, 0); /* a scenario that could not run did not pass */
    return rc;
}

static inline void stop(void)
{
    redis_stop(&redis, SIGTERM);
    CHECK(!redis_sanitizer_report(&redis));
}

static inline struct cxl_kv_config ring_config(int ring)
{
    struct cxl_kv_config cfg;
    cxl_kv_config_init(&cfg);
    cfg.medium.path = med.path;
    cfg.ring = ring;
    cfg.timeout_ms = 5000;
    cfg.claim_wait_ms = 6000;
    return cfg;
}

static inline struct cxl_kv *ring_open(int ring)
{
    struct cxl_kv_config cfg = ring_config(ring);
    struct cxl_kv *kv = NULL;
    CHECK_EQ(cxl_kv_open(&cfg, &kv), 0);
    return kv;
}

/* A ring result as the RESP bytes Redis would have sent (the gateway's
 * rendering). */
static inline const char *as_resp(const struct cxl_kv_result *r, char *buf, size_t cap)
{
    switch (r->status) {
    case CXL_KV_REPLY: snprintf(buf, cap, "%.*s", (int)r->len, (const char *)r->data); break;
    case CXL_KV_OK:
        if (r->op == CXL_KV_GET)
            snprintf(buf, cap, "$%u\r\n%.*s\r\n", r->len, (int)r->len, (const char *)r->data);
        else
            snprintf(buf, cap, "+OK\r\n");
        break;
    case CXL_KV_NIL: snprintf(buf, cap, "$-1\r\n"); break;
    case CXL_KV_INT: snprintf(buf, cap, ":%lld\r\n", (long long)r->integer); break;
    case CXL_KV_ERR: snprintf(buf, cap, "-%.*s\r\n", (int)r->len, (const char *)r->data); break;
    default: snprintf(buf, cap, "(transport error %d: %.*s)", r->status, (int)r->len, (const char *)r->data);
    }
    return buf;
}

static char ring_buf[1 << 16], tcp_buf[1 << 16];

/* One command over the ring on connection conn (arguments of lens bytes). */
static inline const char *ring_lv(struct cxl_kv *kv, uint16_t conn, int argc, const char *const *argv, const size_t *lens)
{
    struct cxl_kv_result r;
    cxl_kv_set_conn(kv, conn);
    int rc = cxl_kv_command(kv, argc, argv, lens, &r);
    if (rc < 0 && rc != r.status)
        return snprintf(ring_buf, sizeof ring_buf, "(ring failed: %s)", cxl_last_error()), ring_buf;
    return as_resp(&r, ring_buf, sizeof ring_buf);
}

static inline const char *ring_v(struct cxl_kv *kv, uint16_t conn, int argc, const char *const *argv)
{
    size_t lens[32];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return ring_lv(kv, conn, argc, argv, lens);
}

/* GET/SET/DEL on the fast paths. */
static inline const char *ring_fast(struct cxl_kv *kv, uint16_t conn, uint16_t op, const char *key, const char *val)
{
    cxl_kv_set_conn(kv, conn);
    int rc = op == CXL_KV_GET   ? cxl_kv_submit_get(kv, key, (uint32_t)strlen(key), 1)
             : op == CXL_KV_SET ? cxl_kv_submit_set(kv, key, (uint32_t)strlen(key), val, (uint32_t)strlen(val), 0, 1)
                                : cxl_kv_submit_del(kv, key, (uint32_t)strlen(key), 1);
    struct cxl_kv_result r;
    if (rc != 0 || cxl_kv_wait(kv, &r) != 1)
        return snprintf(ring_buf, sizeof ring_buf, "(ring failed: %s)", cxl_last_error()), ring_buf;
    return as_resp(&r, ring_buf, sizeof ring_buf);
}

/* One command over TCP, first authenticated as user/pass if user is set. */
static inline const char *tcp_v(const char *user, const char *pass, int argc, const char *const *argv)
{
    struct cxl_conn *c;
    if (cxl_conn_open(redis.addr, NULL, &c) != 0)
        return "(tcp connect failed)";
    const uint8_t *rep;
    size_t len;
    if (user) {
        const char *auth[] = {"AUTH", user, pass};
        if (cxl_conn_call(c, 3, auth, &rep, &len) != 0 || len < 3 || memcmp(rep, "+OK", 3) != 0) {
            cxl_conn_close(c);
            return "(tcp auth failed)";
        }
    }
    int rc = cxl_conn_call(c, argc, argv, &rep, &len);
    snprintf(tcp_buf, sizeof tcp_buf, "%.*s", rc == 0 ? (int)len : 0, rc == 0 ? (const char *)rep : "");
    cxl_conn_close(c);
    return rc == 0 ? tcp_buf : "(tcp failed)";
}

#define ARGV(...) (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__}
#define RING(kv, conn, ...) ring_v(kv, conn, ARGV(__VA_ARGS__))
#define TCP(...) tcp_v(NULL, NULL, ARGV(__VA_ARGS__))
#define TCP_AS(user, pass, ...) tcp_v(user, pass, ARGV(__VA_ARGS__))

static inline int same(const char *what, const char *ring, const char *tcp)
{
    if (strcmp(ring, tcp) == 0)
        return 1;
    fprintf(stderr, "  %s: ring answered '%s', TCP '%s'\n", what, ring, tcp);
    return 0;
}

static inline int starts(const char *what, const char *got, const char *prefix)
{
    if (strncmp(got, prefix, strlen(prefix)) == 0)
        return 1;
    fprintf(stderr, "  %s: got '%s', expected '%s...'\n", what, got, prefix);
    return 0;
}

/* cxl_ring_direct with args; its stdout+stderr in out, its exit status. */
static inline int tool_run(const char *args, char *out, size_t cap)
{
    char line[1200];
    snprintf(line, sizeof line, "%s --path %s %s", tool, med.path, args);
    return harness_run(line, out, cap);
}

/* A counter of CXLRING.STATS: of ring (or of the server, ring < 0). */
static inline long long stat_of(int ring, const char *name)
{
    const char *reply = TCP_AS("default", "adminpw", "CXLRING.STATS");
    char needle[64];
    if (ring >= 0)
        snprintf(needle, sizeof needle, "+ring\r\n:%d\r\n", ring);
    else
        snprintf(needle, sizeof needle, "+server\r\n");
    const char *p = strstr(reply, needle);
    snprintf(needle, sizeof needle, "+%s\r\n:", name);
    p = p ? strstr(p, needle) : NULL;
    return p ? atoll(p + strlen(needle)) : -1;
}

/* --- the runner ------------------------------------------------------------------ */

/* Usage: PROGRAM BUILD_DIR [scenario...] (all of them when none is named). */
static inline int rights_main(int argc, char **argv, const char *program, const struct harness_scenario *sc,
                              size_t n)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *build = argc > 1 ? argv[1] : "build";
    if (harness_paths(build, program, module, tool, mgr_tool, logdir) != 0)
        return 1;
    fixture_path(&med, "/dev/shm", "rights");
    snprintf(path_arg, sizeof path_arg, "path=%s", med.path);
    harness_run_scenarios(argc, argv, sc, n);
    unlink(med.path);
    return check_summary(program);
}

#endif
