/* test_options.c - the table of the options the programs share
 * (config/options.h): every entry is complete; values are validated with
 * messages naming the option as the user spelled it; a flag or argument wins
 * over the environment, which is read from the array given (never from the
 * process); getopt entries, help lines and module keys come from the table;
 * the combinations of --secure/--crypto and the owner's node id rules. */
#include <string.h>

#include "check.h"
#include "config/options.h"
#include "cxl/error.h"
#include "cxl/kvserver.h"

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static void test_table(void)
{
    for (int id = 0; id < CXL_OPT_COUNT; id++) {
        const struct cxl_opt_def *d = &cxl_opt_defs[id];
        CHECK(d->help && *d->help);
        CHECK(d->flag || d->env || d->key); /* reachable somehow */
        for (int j = 0; j < id; j++) { /* one spelling each */
            if (d->flag && cxl_opt_defs[j].flag)
                CHECK(strcmp(d->flag, cxl_opt_defs[j].flag) != 0);
            if (d->key && cxl_opt_defs[j].key)
                CHECK(strcmp(d->key, cxl_opt_defs[j].key) != 0);
        }
        if (d->key)
            CHECK_EQ(cxl_opts_find_key(d->key), id);
    }
    CHECK_EQ(cxl_opts_find_key("no_such_key"), -1);
}

static void test_values(void)
{
    struct cxl_shared_opts o;
    cxl_opts_init(&o);
    CHECK_EQ(o.ring, -1);
    CHECK_EQ(o.medium.map_size, 0u); /* the whole medium unless told */
    CHECK_EQ(o.idle_after_ms, CXL_KV_SERVER_IDLE_AFTER_MS); /* the serving engine's idle back-off */
    CHECK_EQ(o.idle_sleep_us, CXL_KV_SERVER_IDLE_SLEEP_US);
    CHECK_EQ(cxl_opts_find_key("idle_sleep_us"), (int)CXL_OPT_IDLE_SLEEP_US);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_IDLE_SLEEP_US, "idle_sleep_us", "2000"), 0);
    CHECK_EQ(o.idle_sleep_us, 2000u);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_IDLE_SLEEP_US, "idle_sleep_us", "100001"), CXL_EINVAL);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_IDLE_AFTER_MS, "idle_after_ms", "0"), CXL_EINVAL);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_IDLE_AFTER_MS, "idle_after_ms", "250"), 0);
    CHECK_EQ(o.idle_after_ms, 250u);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_MAP_SIZE, "--map-size", "64M"), 0);
    CHECK_EQ(o.medium.map_size, 64ull << 20);
    CHECK(cxl_opts_given(&o, CXL_OPT_MAP_SIZE) && !cxl_opts_given(&o, CXL_OPT_RING));
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_SLOT_SIZE, "slot_size", "2K"), 0);
    CHECK_EQ(o.format.slot_size, 2048u);
    CHECK(cxl_opts_set(&o, CXL_OPT_SLOT_SIZE, "slot_size", "100") != 0);
    CHECK(strstr(cxl_last_error(), "slot_size: 100 is not a power of two") != NULL);
    CHECK(cxl_opts_set(&o, CXL_OPT_RING, "--ring", "256") != 0);
    CHECK(strstr(cxl_last_error(), "--ring") != NULL);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_NS, "CXL_SHM_DELAY_NS", "abc") != 0);
    CHECK(strstr(cxl_last_error(), "CXL_SHM_DELAY_NS") != NULL);
    CHECK(cxl_opts_set(&o, CXL_OPT_PATH, "--path", NULL) != 0); /* a value is needed */
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_PREFAULT, "--prefault", NULL), 0); /* a switch */
    CHECK_EQ(o.medium.prefault, 1);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_PREFAULT, "prefault", "0"), 0); /* a key: 0 or 1 */
    CHECK_EQ(o.medium.prefault, 0);
    CHECK(cxl_opts_set(&o, CXL_OPT_PREFAULT, "prefault", "2") != 0);
    CHECK_EQ(cxl_opts_getopt(&o, 'x', NULL), 1); /* not a shared option */
    CHECK_EQ(cxl_opts_getopt(&o, CXL_OPT_BASE + CXL_OPT_TIMEOUT_MS, "250"), 0);
    CHECK_EQ(o.timeout_ms, 250u);
    CHECK(cxl_opts_getopt(&o, CXL_OPT_BASE + CXL_OPT_TIMEOUT_MS, "0") != 0);
    CHECK(strstr(cxl_last_error(), "--timeout-ms") != NULL);
}

static void test_environment(void)
{
    char *env[] = {"CXL_SHM_DELAY_NS=150", "CXL_SEC_MGR=127.0.0.1:7000", "CXL_SEC_KEY=",
                   "CXL_SHM_DELAY_NS_X=9", "UNRELATED=1", NULL};
    const enum cxl_opt_id ids[] = {CXL_OPT_DELAY_NS, CXL_OPT_SEC_MGR, CXL_OPT_SEC_KEY};
    struct cxl_shared_opts o;
    cxl_opts_init(&o);
    CHECK_EQ(cxl_opts_env(&o, ids, N_OF(ids), env), 0);
    CHECK_EQ(o.delay.latency_ns, 150u);
    CHECK(o.sec.mgr && strcmp(o.sec.mgr, "127.0.0.1:7000") == 0);
    CHECK(o.sec.key == NULL); /* empty: as if unset */
    cxl_opts_init(&o); /* a flag wins */
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_DELAY_NS, "--delay-ns", "7"), 0);
    CHECK_EQ(cxl_opts_env(&o, ids, N_OF(ids), env), 0);
    CHECK_EQ(o.delay.latency_ns, 7u);
    cxl_opts_init(&o); /* only the ids asked for */
    const enum cxl_opt_id none[] = {CXL_OPT_RING};
    CHECK_EQ(cxl_opts_env(&o, none, 1, env), 0);
    CHECK_EQ(o.delay.latency_ns, 0u);
    char *bad[] = {"CXL_SHM_DELAY_NS=2000000", NULL};
    cxl_opts_init(&o);
    CHECK(cxl_opts_env(&o, ids, N_OF(ids), bad) != 0);
    CHECK(strstr(cxl_last_error(), "CXL_SHM_DELAY_NS: 2000000 is out of range") != NULL);
}

/* The delay model's options (docs/RING.md, "The delay model"). */
static void test_delay_model(void)
{
    struct cxl_shared_opts o;
    cxl_opts_init(&o);
    CHECK_EQ(o.delay.latency_ns, 0u); /* defaults: off, mlp, 25 GB/s */
    CHECK_EQ((int)o.delay.model, (int)CXL_DELAY_MLP);
    CHECK_EQ(o.delay.bw_mbps, 25000u);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_DELAY_MODEL, "--delay-model", "serial"), 0);
    CHECK_EQ((int)o.delay.model, (int)CXL_DELAY_SERIAL);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_DELAY_MODEL, "delay_model", "mlp"), 0);
    CHECK_EQ((int)o.delay.model, (int)CXL_DELAY_MLP);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_MODEL, "--delay-model", "fast") != 0);
    CHECK(strstr(cxl_last_error(), "--delay-model: 'fast' is not a delay model (serial or mlp)") != NULL);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_MODEL, "--delay-model", "") != 0);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "--delay-bw-gbps", "36"), 0);
    CHECK_EQ(o.delay.bw_mbps, 36000u);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "delay_bw_gbps", "12.5"), 0);
    CHECK_EQ(o.delay.bw_mbps, 12500u);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "--delay-bw-gbps", "0") != 0);
    CHECK(strstr(cxl_last_error(), "--delay-bw-gbps: 0 is out of range [1, 1000] GB/s") != NULL);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "--delay-bw-gbps", "2000") != 0);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "--delay-bw-gbps", "fast") != 0);
    CHECK(strstr(cxl_last_error(), "--delay-bw-gbps: 'fast' is not a number") != NULL);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "--delay-bw-gbps", "nan") != 0);
    CHECK(cxl_opts_set(&o, CXL_OPT_DELAY_BW, "--delay-bw-gbps", "") != 0);
    CHECK_EQ(cxl_opts_find_key("delay_model"), CXL_OPT_DELAY_MODEL);
    CHECK_EQ(cxl_opts_find_key("delay_bw_gbps"), CXL_OPT_DELAY_BW);
    char *env[] = {"CXL_SHM_DELAY_MODEL=serial", "CXL_SHM_DELAY_BW_GBPS=30", NULL};
    const enum cxl_opt_id ids[] = {CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW};
    cxl_opts_init(&o);
    CHECK_EQ(cxl_opts_env(&o, ids, N_OF(ids), env), 0);
    CHECK_EQ((int)o.delay.model, (int)CXL_DELAY_SERIAL);
    CHECK_EQ(o.delay.bw_mbps, 30000u);
    char *bad[] = {"CXL_SHM_DELAY_MODEL=parallel", NULL};
    cxl_opts_init(&o);
    CHECK(cxl_opts_env(&o, ids, N_OF(ids), bad) != 0);
    CHECK(strstr(cxl_last_error(), "CXL_SHM_DELAY_MODEL: 'parallel' is not a delay model") != NULL);
    struct cxl_kv_config kv;
    cxl_kv_config_init(&kv);
    cxl_opts_init(&o);
    CHECK_EQ(cxl_opts_set(&o, CXL_OPT_DELAY_NS, "--delay-ns", "150"), 0);
    cxl_opts_kv_config(&o, &kv);
    CHECK_EQ(kv.delay.latency_ns, 150u);
    CHECK_EQ(kv.delay.bw_mbps, 25000u);
}

static void test_finish(void)
{
    struct cxl_shared_opts o;
    cxl_opts_init(&o);
    cxl_opts_set(&o, CXL_OPT_SECURE, "--secure", NULL);
    cxl_opts_set(&o, CXL_OPT_CRYPTO, "--crypto", NULL);
    CHECK(cxl_opts_finish(&o) != 0 && strstr(cxl_last_error(), "exclude each other"));
    cxl_opts_init(&o);
    cxl_opts_set(&o, CXL_OPT_SECURE, "--secure", NULL);
    CHECK(cxl_opts_finish(&o) != 0 && strstr(cxl_last_error(), "--sec-mgr"));
    cxl_opts_set(&o, CXL_OPT_SEC_MGR, "--sec-mgr", "h:1");
    cxl_opts_set(&o, CXL_OPT_SEC_KEY, "--sec-key", "k");
    CHECK(cxl_opts_finish(&o) != 0 && strstr(cxl_last_error(), "--sec-node-id"));
    cxl_opts_set(&o, CXL_OPT_SEC_NODE_ID, "--sec-node-id", "5");
    cxl_opts_set(&o, CXL_OPT_NODE_ID, "--node-id", "3");
    CHECK_EQ(cxl_opts_finish(&o), 0);
    CHECK_EQ(o.node_id, 5); /* secure: the manager's node */
    /* plain ring: CXL_SEC_NODE_ID alone does not replace --node-id */
    char *env[] = {"CXL_SEC_NODE_ID=9", NULL};
    const enum cxl_opt_id ids[] = {CXL_OPT_SEC_NODE_ID};
    cxl_opts_init(&o);
    cxl_opts_set(&o, CXL_OPT_NODE_ID, "--node-id", "3");
    CHECK_EQ(cxl_opts_env(&o, ids, 1, env), 0);
    CHECK_EQ(cxl_opts_finish(&o), 0);
    CHECK_EQ(o.node_id, 3);
    cxl_opts_init(&o);
    cxl_opts_set(&o, CXL_OPT_CRYPTO, "--crypto", NULL);
    CHECK(cxl_opts_finish(&o) != 0 && strstr(cxl_last_error(), "--sec-key-file"));
}

static void test_getopt_and_help(void)
{
    const enum cxl_opt_id ids[] = {CXL_OPT_PATH, CXL_OPT_FOREIGN, CXL_OPT_TLS_CA_FILE};
    struct option lo[N_OF(ids)];
    cxl_opts_longopts(ids, N_OF(ids), lo);
    CHECK(strcmp(lo[0].name, "path") == 0 && lo[0].has_arg == 1 && lo[0].val == CXL_OPT_BASE + CXL_OPT_PATH);
    CHECK(strcmp(lo[1].name, "allow-foreign-medium") == 0 && lo[1].has_arg == 0);
    char buf[2048] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    cxl_opts_usage(f, ids, N_OF(ids));
    fclose(f);
    CHECK(strstr(buf, "  --path P              medium (default ") == buf);
    CHECK(strstr(buf, "  --allow-foreign-medium\n                        accept") != NULL);
    CHECK(strstr(buf, "CAFILE") == NULL); /* no flag: not in the help */
}

int main(void)
{
    test_table();
    test_values();
    test_environment();
    test_delay_model();
    test_finish();
    test_getopt_and_help();
    return check_summary("test_options");
}
