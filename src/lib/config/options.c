/* options.c - the table of the options the programs share, and their
 * parsing and validation (config/options.h, docs/ARCHITECTURE.md). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/options.h"
#include "cxl/error.h"
#include "cxl/kvserver.h"
#include "cxl/util.h"

#define DELAY_NS_MAX 1000000u
#define TIMEOUT_MS_MAX 3600000u
#define NUMA_NODE_MAX 1023u /* the medium's node mask holds 1024 nodes */
#define UIO_MAP_MAX 4u
#define NODE_ID_MAX 65535u
#define IDLE_AFTER_MS_MAX 3600000u
#define IDLE_SLEEP_US_MAX 100000u /* an idle server answers within 100 ms at worst */

const struct cxl_opt_def cxl_opt_defs[CXL_OPT_COUNT] = {
    [CXL_OPT_PATH] = {"path", "path", "CXL_RING_PATH", "P",
                      "medium (default " CXL_DEFAULT_PATH "): a file,\n/sys/.../resourceN, /dev/uioN or /dev/daxX.Y"},
    [CXL_OPT_MAP_SIZE] = {"map-size", "map_size", "CXL_RING_MAP_SIZE", "SIZE",
                          "bytes to map (K, M, G suffixes; default: the whole\nmedium)"},
    [CXL_OPT_MAP_OFFSET] = {"map-offset", "offset", "CXL_RING_MAP_OFFSET", "OFF",
                            "where the mapping starts in the medium (default 0)"},
    [CXL_OPT_UIO_MAP] = {"uio-map", NULL, NULL, "N", "/dev/uioN map index, 0..4 (default 0)"},
    [CXL_OPT_NUMA_NODE] = {"numa-node", "numa_node", NULL, "N", "bind the mapping's pages to NUMA node N"},
    [CXL_OPT_PREFAULT] = {"prefault", "prefault", NULL, NULL, "touch every page after mapping"},
    [CXL_OPT_FOREIGN] = {"allow-foreign-medium", "allow_foreign_medium", NULL, NULL,
                         "accept a medium file of another user, writable by\n"
                         "everyone, or a symbolic link (refused by default: its\n"
                         "owner could see and drive the rings)"},
    [CXL_OPT_RINGS] = {"rings", "rings", "CXL_RING_COUNT", "N", "rings of a new layout (default 4)"},
    [CXL_OPT_SLOT_SIZE] = {"slot-size", "slot_size", "CXL_RING_SLOT_SIZE", "B",
                           "line bytes of a new layout's queues, a power of\ntwo in [64, 1M] (default 64: a cache line)"},
    [CXL_OPT_RING] = {"ring", NULL, NULL, "R", "claim ring R (default: any free ring)"},
    [CXL_OPT_NODE_ID] = {"node-id", NULL, NULL, "N", "node id recorded as the ring owner (default 0)"},
    [CXL_OPT_TIMEOUT_MS] = {"timeout-ms", NULL, NULL, "T", "per request (default 5000)"},
    [CXL_OPT_DELAY_NS] = {"delay-ns", "delay_ns", "CXL_SHM_DELAY_NS", "N",
                          "delay model: the extra latency L of a CXL miss in ns\n(default 0: off; docs/RING.md)"},
    [CXL_OPT_DELAY_MODEL] = {"delay-model", "delay_model", "CXL_SHM_DELAY_MODEL", "M",
                             "mlp (default: L per dependent access and publish,\nbandwidth per line) or serial (L per access)"},
    [CXL_OPT_DELAY_BW] = {"delay-bw-gbps", "delay_bw_gbps", "CXL_SHM_DELAY_BW_GBPS", "N",
                          "mlp: the device's bandwidth in GB/s, 1..1000\n(default 25)"},
    [CXL_OPT_SECURE] = {"secure", "secure", NULL, NULL,
                        "sealed messages, keys from cxl_sec_mgr; needs\n--sec-mgr, --sec-node-id and --sec-key"},
    [CXL_OPT_CRYPTO] = {"crypto", "crypto", NULL, NULL, "sealed messages, keys from a shared secret file;\nneeds --sec-key-file"},
    [CXL_OPT_SEC_MGR] = {"sec-mgr", "sec_mgr", "CXL_SEC_MGR", "HOST:PORT", "the manager"},
    [CXL_OPT_SEC_NODE_ID] = {"sec-node-id", "node_id", "CXL_SEC_NODE_ID", "N", "this node's id at the manager"},
    [CXL_OPT_SEC_KEY] = {"sec-key", "key", "CXL_SEC_KEY", "FILE", "this node's key file"},
    [CXL_OPT_SEC_KEY_FILE] = {"sec-key-file", "key_file", "CXL_SEC_KEY_FILE", "FILE",
                              "--crypto: the shared secret's file"},
    [CXL_OPT_TLS_CA_FILE] = {NULL, NULL, "CXL_TLS_CAFILE", "FILE", "the CA to trust for tls: addresses"},
    [CXL_OPT_IDLE_AFTER_MS] = {NULL, "idle_after_ms", NULL, "MS",
                               "the serving engine: a wait this long is idle\n(default 100)"},
    [CXL_OPT_IDLE_SLEEP_US] = {NULL, "idle_sleep_us", NULL, "US",
                               "the serving engine, idle: sleep up to US between\npolls (default 5000; "
                               "not above max_sleep_us: no\ndeeper sleep)"},
    [CXL_OPT_FABRIC] = {"fabric", NULL, "CXL_FABRIC", "SOCKET",
                        "take the region from cxl_sec_mgr's fabric socket\n(a memfd by ACL; needs --sec-node-id and\n"
                        "--sec-key; docs/FABRIC.md)"},
};

void cxl_opts_init(struct cxl_shared_opts *o)
{
    *o = (struct cxl_shared_opts){.ring = -1, .timeout_ms = 5000, .idle_after_ms = CXL_KV_SERVER_IDLE_AFTER_MS,
                                  .idle_sleep_us = CXL_KV_SERVER_IDLE_SLEEP_US,
                                  .delay = {.bw_mbps = CXL_DELAY_BW_DEFAULT_MBPS, .model = CXL_DELAY_MLP}};
    cxl_medium_config_init(&o->medium);
    o->medium.map_size = 0; /* the whole medium; who creates one picks its size */
}

static int parse_switch(const char *name, const char *value, int *out)
{
    uint32_t u = 1;
    int rc = value ? cxl_parse_u32(name, value, 0, 1, &u) : 0;
    if (rc == 0)
        *out = (int)u;
    return rc;
}

/* An empty string is kept: what it names is checked where it is used (the
 * medium: "medium path is empty"; the keyring: "secure mode needs ..."), as
 * the programs did before the table. */
static int parse_string(const char *name, const char *value, const char **out)
{
    if (!value)
        return cxl_fail(CXL_EINVAL, "%s: missing value", name);
    *out = value;
    return 0;
}

static int parse_slot_size(const char *name, const char *value, uint32_t *out)
{
    uint64_t v;
    int rc = cxl_parse_size(name, value, &v);
    if (rc)
        return rc;
    if (v < CXL_MIN_SLOT_SIZE || v > CXL_MAX_SLOT_SIZE || (v & (v - 1)))
        return cxl_fail(CXL_EINVAL, "%s: %s is not a power of two in [%u, %u]", name, value,
                        CXL_MIN_SLOT_SIZE, CXL_MAX_SLOT_SIZE);
    *out = (uint32_t)v;
    return 0;
}

static int parse_id(const char *name, const char *value, uint32_t max, uint16_t *out)
{
    uint32_t u;
    int rc = cxl_parse_u32(name, value, 0, max, &u);
    if (rc == 0)
        *out = (uint16_t)u;
    return rc;
}

static int parse_int(const char *name, const char *value, uint32_t max, int *out)
{
    uint32_t u;
    int rc = cxl_parse_u32(name, value, 0, max, &u);
    if (rc == 0)
        *out = (int)u;
    return rc;
}

/* GB/s as a whole or decimal number (25, 36.5) into MB/s, 1..1000 GB/s */
static int parse_gbps(const char *name, const char *value, uint32_t *mbps)
{
    char *end = NULL;
    double g = value && *value ? strtod(value, &end) : 0;
    if (!value || !*value || *end || !(g == g))
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not a number", name, value ? value : "");
    if (g < 1 || g > 1000)
        return cxl_fail(CXL_EINVAL, "%s: %s is out of range [1, 1000] GB/s", name, value);
    *mbps = (uint32_t)(g * 1000 + 0.5);
    return 0;
}

static int set_value(struct cxl_shared_opts *o, enum cxl_opt_id id, const char *name, const char *v)
{
    struct cxl_medium_config *m = &o->medium;
    switch (id) {
    case CXL_OPT_PATH: return parse_string(name, v, &m->path);
    case CXL_OPT_MAP_SIZE: return cxl_parse_size(name, v, &m->map_size);
    case CXL_OPT_MAP_OFFSET: return cxl_parse_size(name, v, &m->map_offset);
    case CXL_OPT_UIO_MAP: return parse_int(name, v, UIO_MAP_MAX, &m->uio_map);
    case CXL_OPT_NUMA_NODE: return parse_int(name, v, NUMA_NODE_MAX, &m->numa_node);
    case CXL_OPT_PREFAULT: return parse_switch(name, v, &m->prefault);
    case CXL_OPT_FOREIGN: return parse_switch(name, v, &m->allow_foreign);
    case CXL_OPT_RINGS: return cxl_parse_u32(name, v, 1, CXL_MAX_RINGS, &o->format.ring_count);
    case CXL_OPT_SLOT_SIZE: return parse_slot_size(name, v, &o->format.slot_size);
    case CXL_OPT_RING: return parse_int(name, v, CXL_MAX_RINGS - 1, &o->ring);
    case CXL_OPT_NODE_ID: return parse_id(name, v, NODE_ID_MAX, &o->node_id);
    case CXL_OPT_TIMEOUT_MS: return cxl_parse_u32(name, v, 1, TIMEOUT_MS_MAX, &o->timeout_ms);
    case CXL_OPT_DELAY_NS: return cxl_parse_u32(name, v, 0, DELAY_NS_MAX, &o->delay.latency_ns);
    case CXL_OPT_DELAY_MODEL: return cxl_delay_kind_parse(name, v, &o->delay.model);
    case CXL_OPT_DELAY_BW: return parse_gbps(name, v, &o->delay.bw_mbps);
    case CXL_OPT_SECURE: return parse_switch(name, v, &o->sec.secure);
    case CXL_OPT_CRYPTO: return parse_switch(name, v, &o->sec.crypto);
    case CXL_OPT_SEC_MGR: return parse_string(name, v, &o->sec.mgr);
    case CXL_OPT_SEC_NODE_ID: return parse_id(name, v, NODE_ID_MAX, &o->sec.node_id);
    case CXL_OPT_SEC_KEY: return parse_string(name, v, &o->sec.key);
    case CXL_OPT_SEC_KEY_FILE: return parse_string(name, v, &o->sec.key_file);
    case CXL_OPT_FABRIC: return parse_string(name, v, &o->fabric);
    case CXL_OPT_TLS_CA_FILE: return parse_string(name, v, &o->tls_ca_file);
    case CXL_OPT_IDLE_AFTER_MS: return cxl_parse_u32(name, v, 1, IDLE_AFTER_MS_MAX, &o->idle_after_ms);
    case CXL_OPT_IDLE_SLEEP_US: return cxl_parse_u32(name, v, 1, IDLE_SLEEP_US_MAX, &o->idle_sleep_us);
    case CXL_OPT_COUNT: break;
    }
    return cxl_fail(CXL_EINVAL, "%s: not an option", name);
}

int cxl_opts_set(struct cxl_shared_opts *o, enum cxl_opt_id id, const char *name, const char *value)
{
    if ((unsigned)id >= CXL_OPT_COUNT)
        return cxl_fail(CXL_EINVAL, "%s: not an option", name);
    if (!value && cxl_opt_defs[id].metavar)
        return cxl_fail(CXL_EINVAL, "%s: missing value", name);
    int rc = set_value(o, id, name, value);
    if (rc == 0)
        o->given |= 1ull << id;
    return rc;
}

int cxl_opts_getopt(struct cxl_shared_opts *o, int c, const char *arg)
{
    if (c < CXL_OPT_BASE || c >= CXL_OPT_BASE + CXL_OPT_COUNT)
        return 1;
    enum cxl_opt_id id = (enum cxl_opt_id)(c - CXL_OPT_BASE);
    char name[40];
    snprintf(name, sizeof name, "--%s", cxl_opt_defs[id].flag);
    return cxl_opts_set(o, id, name, arg);
}

int cxl_opts_find_key(const char *key)
{
    for (int id = 0; id < CXL_OPT_COUNT; id++)
        if (cxl_opt_defs[id].key && strcmp(cxl_opt_defs[id].key, key) == 0)
            return id;
    return -1;
}

/* The value of NAME in envp, or NULL. */
static const char *env_value(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

int cxl_opts_env(struct cxl_shared_opts *o, const enum cxl_opt_id *ids, size_t n, char *const *envp)
{
    for (size_t i = 0; i < n; i++) {
        const struct cxl_opt_def *d = &cxl_opt_defs[ids[i]];
        const char *v = d->env ? env_value(envp, d->env) : NULL;
        if (!v || !*v || cxl_opts_given(o, ids[i]))
            continue;
        int rc = cxl_opts_set(o, ids[i], d->env, v);
        if (rc)
            return rc;
        o->from_env |= 1ull << ids[i];
    }
    return 0;
}

void cxl_opts_longopts(const enum cxl_opt_id *ids, size_t n, struct option *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct option){cxl_opt_defs[ids[i]].flag, cxl_opt_defs[ids[i]].metavar ? 1 : 0, NULL,
                                 CXL_OPT_BASE + (int)ids[i]};
}

/* "  --flag METAVAR" padded to the help column, then the help text; its
 * continuation lines indented to the same column. */
void cxl_opts_usage(FILE *f, const enum cxl_opt_id *ids, size_t n)
{
    enum { COLUMN = 24 };
    for (size_t i = 0; i < n; i++) {
        const struct cxl_opt_def *d = &cxl_opt_defs[ids[i]];
        if (!d->flag)
            continue;
        int w = fprintf(f, "  --%s%s%s", d->flag, d->metavar ? " " : "", d->metavar ? d->metavar : "");
        if (w < COLUMN)
            fprintf(f, "%*s", COLUMN - w, "");
        else
            fprintf(f, "\n%*s", COLUMN, "");
        for (const char *p = d->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n')
                fprintf(f, "%*s", COLUMN, "");
        }
        fputc('\n', f);
    }
}

int cxl_opts_finish(struct cxl_shared_opts *o)
{
    struct cxl_sec_opts *s = &o->sec;
    s->node_id_given = cxl_opts_given(o, CXL_OPT_SEC_NODE_ID);
    if (s->secure && s->crypto)
        return cxl_fail(CXL_EINVAL, "--secure and --crypto exclude each other");
    if (s->secure && (!s->mgr || !s->key))
        return cxl_fail(CXL_EINVAL, "--secure needs --sec-mgr HOST:PORT and --sec-key FILE (or CXL_SEC_MGR, CXL_SEC_KEY)");
    if (s->secure && !s->node_id_given)
        return cxl_fail(CXL_EINVAL, "--secure needs --sec-node-id N (or CXL_SEC_NODE_ID)");
    if (s->crypto && !s->key_file)
        return cxl_fail(CXL_EINVAL, "--crypto needs --sec-key-file FILE (or CXL_SEC_KEY_FILE)");
    if (o->fabric && (!s->key || !s->node_id_given))
        return cxl_fail(CXL_EINVAL, "--fabric needs --sec-key FILE and --sec-node-id N: this node's identity "
                        "at cxl_sec_mgr (or CXL_SEC_KEY, CXL_SEC_NODE_ID)");
    if (o->fabric && cxl_opts_given(o, CXL_OPT_PATH) && !((o->from_env >> CXL_OPT_PATH) & 1u))
        return cxl_fail(CXL_EINVAL, "--fabric and --path: the region is the fabric's memfd, not a path; choose one");
    /* on a secure ring the owner is the node the manager knows; a
     * --sec-node-id flag names this node too, CXL_SEC_NODE_ID alone does not */
    if (s->secure || (s->node_id_given && !((o->from_env >> CXL_OPT_SEC_NODE_ID) & 1u)))
        o->node_id = s->node_id;
    return 0;
}

void cxl_opts_kv_config(const struct cxl_shared_opts *o, struct cxl_kv_config *kv)
{
    kv->medium = o->medium;
    kv->ring = o->ring;
    kv->node_id = o->node_id;
    kv->timeout_ms = o->timeout_ms;
    kv->delay = o->delay;
}

void cxl_opts_spin_for_threads(struct cxl_kv_config *kv, uint32_t threads, uint32_t servers)
{
    uint32_t cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads + servers <= cpus)
        return;
    kv->spin_us = 2;
    if (servers > 1) /* yield, never sleep: the server waited for may be the one needing this CPU */
        kv->spin_us = 1, kv->yield_us = 100000;
}
