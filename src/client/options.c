/* options.c - cxl_ring_direct's flags (the original prototype's, plus --keyspace, --ops,
 * --key-size, --val-size), validated with messages that name the flag. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "net/pod_map.h"
#include "config/options.h"
#include "cxl/util.h"

static const char *op_names[OP_COUNT] = {"set", "get", "del", "incr", "ping", "cmd-set", "cmd-get"};

const char *bench_op_name(enum bench_op op)
{
    return op < OP_COUNT ? op_names[op] : "?";
}

/* The shared options cxl_ring_direct takes (config/options.h), in --help's
 * order, and those it also reads from the environment. */
static const enum cxl_opt_id medium_opts[] = {
    CXL_OPT_PATH, CXL_OPT_MAP_SIZE, CXL_OPT_MAP_OFFSET, CXL_OPT_FOREIGN, CXL_OPT_RING,
    CXL_OPT_NODE_ID, CXL_OPT_TIMEOUT_MS, CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW,
};
static const enum cxl_opt_id sec_opts[] = {
    CXL_OPT_SECURE, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_CRYPTO, CXL_OPT_SEC_KEY_FILE,
};
static const enum cxl_opt_id env_opts[] = {
    CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE,
    CXL_OPT_TLS_CA_FILE,
};
#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static void usage(FILE *out)
{
    fprintf(out,
        "usage: cxl_ring_direct [options] COMMAND [ARG...]     one command over the ring\n"
        "       cxl_ring_direct [options] --bench N [bench options]\n"
        "\n"
        "medium and ring:\n");
    cxl_opts_usage(out, medium_opts, N_OF(medium_opts));
    fprintf(out,
        "  --user U --pass P     AUTH as Redis ACL user U (default user: --pass alone)\n"
        "                        before the first command, as redis-cli does\n"
        "  --spin-us S           waiting for replies: spin S us (default 50; 2 when the\n"
        "                        client threads and the server outnumber the CPUs), then\n"
        "  --yield-us Y          yield the CPU for Y us (default 500), then sleep\n"
        "security (docs/SECURITY.md):\n");
    cxl_opts_usage(out, sec_opts, N_OF(sec_opts));
    fprintf(out,
        "environment: CXL_SHM_DELAY_NS, CXL_SHM_DELAY_MODEL, CXL_SHM_DELAY_BW_GBPS,\n"
        "CXL_SEC_MGR, CXL_SEC_NODE_ID, CXL_SEC_KEY,\n"
        "CXL_SEC_KEY_FILE, CXL_TLS_CAFILE (flags win)\n"
        "one-shot output:\n"
        "  --raw / --no-raw    raw or redis-cli tty formatting (default: raw unless a terminal)\n"
        "benchmark:\n"
        "  --bench N           N requests per thread for each op\n"
        "  --ops LIST          comma list of set,get,del,incr,ping,cmd-set,cmd-get (default set,get)\n"
        "  --threads T         client threads, one ring each (default 1)\n"
        "  --pipeline          keep up to --max-inflight requests outstanding (default: 1)\n"
        "  --max-inflight M    outstanding requests per thread with --pipeline (default 256)\n"
        "  --key-size K        key bytes (default 16)   --val-size V  value bytes (default 3)\n"
        "  --keyspace N        distinct keys (default N x threads)\n"
        "  --key-prefix S      keys are S<number> (default \"key:\")\n"
        "  --latency           per-request latency: avg p50 p75 p90 p99 p99.9 p99.99 (us)\n"
        "  --cost              submit retries (queue full) and time spent waiting\n"
        "  --csv PATH          append results (default results/ring_metrics.csv)\n"
        "  --label NAME        label of this run in the CSV (default ring)\n"
        "  --quiet             no progress lines\n"
        "  --via ADDR          benchmark a RESP server instead of the ring, with the same\n"
        "                      workload and checks: HOST:PORT, unix:PATH, tls:HOST:PORT\n"
        "                      (CXL_TLS_CAFILE names the CA to trust)\n"
        "  --compare-csv PATH  also append rows in the compare matrix format\n"
        "Redis Cluster (docs/CLUSTER.md), one command or the benchmark:\n"
        "  --cluster HOST:PORT any node of the cluster (tls:HOST:PORT: every node over TLS),\n"
        "                      reached over TCP to learn the slot map; each request goes to\n"
        "                      its key's node, redirections and failovers followed\n"
        "  --pod-map FILE      the nodes of this pod, reached over a ring of their medium\n"
        "                      (lines: node HOST:PORT medium PATH [offset N] [ring R]); the\n"
        "                      other nodes over TCP. Without it: every node over TCP\n");
}

static int parse_ops(const char *text, struct client_opts *o)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
        return cxl_fail(CXL_EINVAL, "--ops: list too long");
    o->nops = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int i = 0; i < OP_COUNT; i++)
            if (strcmp(tok, op_names[i]) == 0)
                found = i;
        if (found < 0)
            return cxl_fail(CXL_EINVAL, "--ops: unknown op '%s' (set, get, del, incr, ping, cmd-set, cmd-get)", tok);
        if (o->nops == MAX_OPS)
            return cxl_fail(CXL_EINVAL, "--ops: at most %d ops", MAX_OPS);
        o->ops[o->nops++] = (enum bench_op)found;
    }
    return o->nops ? 0 : cxl_fail(CXL_EINVAL, "--ops: empty list");
}

extern char **environ;

static int spin_given;

/* --cluster names the nodes' media in the pod map: refuse what would contradict it. */
static int cluster_conflicts(const struct client_opts *o)
{
    const char *why = NULL;
    if (o->pod_map && !o->cluster)
        why = "--pod-map is for --cluster HOST:PORT";
    else if (o->cluster && o->via)
        why = "--cluster or --via, not both (--via benchmarks one RESP server)";
    else if (o->cluster && (o->shared.sec.secure || o->shared.sec.crypto))
        why = "--cluster: --secure/--crypto rings to cluster nodes are not supported yet";
    else if (o->cluster && (cxl_opts_given(&o->shared, CXL_OPT_PATH) || cxl_opts_given(&o->shared, CXL_OPT_RING)))
        why = "--cluster: the pod map names each node's medium and ring (not --path/--ring)";
    if (why)
        fprintf(stderr, "cxl_ring_direct: %s\n", why);
    return why ? -1 : 0;
}

enum { O_RAW = 256, O_NO_RAW, O_BENCH, O_OPS, O_THREADS, O_PIPELINE, O_INFLIGHT, O_KEY_SIZE, O_VAL_SIZE,
       O_KEYSPACE, O_LATENCY, O_COST, O_CSV, O_LABEL, O_QUIET, O_KEY_PREFIX, O_SPIN, O_YIELD, O_VIA,
       O_COMPARE_CSV, O_USER, O_PASS, O_CLUSTER, O_POD_MAP };

static int parse_one(int c, const char *arg, struct client_opts *o)
{
    int rc = cxl_opts_getopt(&o->shared, c, arg);
    if (rc <= 0)
        return rc;
    rc = 0;
    switch (c) {
    case O_USER: o->kv.user = arg; break;
    case O_PASS: o->kv.password = arg; break;
    case O_RAW: o->raw = 1; break;
    case O_NO_RAW: o->raw = 0; break;
    case O_BENCH: rc = cxl_parse_u64("--bench", arg, 1, 1ull << 40, &o->bench); break;
    case O_OPS: rc = parse_ops(arg, o); break;
    case O_THREADS: rc = cxl_parse_u32("--threads", arg, 1, MAX_THREADS, &o->threads); break;
    case O_PIPELINE: o->pipeline = 1; break;
    case O_INFLIGHT: rc = cxl_parse_u32("--max-inflight", arg, 1, 1u << 20, &o->max_inflight); break;
    case O_KEY_SIZE: rc = cxl_parse_u32("--key-size", arg, 1, 1u << 20, &o->key_size); break;
    case O_VAL_SIZE: rc = cxl_parse_u32("--val-size", arg, 0, 1u << 30, &o->val_size); break;
    case O_KEYSPACE: rc = cxl_parse_u64("--keyspace", arg, 1, 1ull << 40, &o->keyspace); break;
    case O_LATENCY: o->latency = 1; break;
    case O_COST: o->cost = 1; break;
    case O_CSV: o->csv = arg; break;
    case O_LABEL: o->label = arg; break;
    case O_QUIET: o->quiet = 1; break;
    case O_SPIN:
        rc = cxl_parse_u32("--spin-us", arg, 0, 1000000, &o->kv.spin_us);
        spin_given = 1;
        break;
    case O_YIELD: rc = cxl_parse_u32("--yield-us", arg, 0, 10000000, &o->kv.yield_us); break;
    case O_VIA: o->via = arg; break;
    case O_COMPARE_CSV: o->compare_csv = arg; break;
    case O_CLUSTER: o->cluster = arg; break;
    case O_POD_MAP: o->pod_map = arg; break;
    case O_KEY_PREFIX:
        if (strlen(arg) > 64)
            return cxl_fail(CXL_EINVAL, "--key-prefix: longer than 64 bytes");
        o->key_prefix = arg;
        break;
    default: return cxl_fail(CXL_EINVAL, "unknown option");
    }
    return rc;
}

int options_parse(int argc, char **argv, struct client_opts *o)
{
    static const struct option own[] = {
        {"user", 1, 0, O_USER}, {"pass", 1, 0, O_PASS},
        {"raw", 0, 0, O_RAW}, {"no-raw", 0, 0, O_NO_RAW}, {"bench", 1, 0, O_BENCH},
        {"ops", 1, 0, O_OPS}, {"threads", 1, 0, O_THREADS}, {"pipeline", 0, 0, O_PIPELINE},
        {"max-inflight", 1, 0, O_INFLIGHT}, {"key-size", 1, 0, O_KEY_SIZE},
        {"val-size", 1, 0, O_VAL_SIZE}, {"keyspace", 1, 0, O_KEYSPACE}, {"latency", 0, 0, O_LATENCY},
        {"cost", 0, 0, O_COST}, {"csv", 1, 0, O_CSV}, {"label", 1, 0, O_LABEL},
        {"quiet", 0, 0, O_QUIET}, {"key-prefix", 1, 0, O_KEY_PREFIX}, {"spin-us", 1, 0, O_SPIN},
        {"yield-us", 1, 0, O_YIELD}, {"via", 1, 0, O_VIA},
        {"compare-csv", 1, 0, O_COMPARE_CSV}, {"cluster", 1, 0, O_CLUSTER}, {"pod-map", 1, 0, O_POD_MAP},
        {"help", 0, 0, 'h'},
    };
    struct option longopts[N_OF(own) + N_OF(medium_opts) + N_OF(sec_opts) + 1] = {0};
    memcpy(longopts, own, sizeof own);
    cxl_opts_longopts(medium_opts, N_OF(medium_opts), longopts + N_OF(own));
    cxl_opts_longopts(sec_opts, N_OF(sec_opts), longopts + N_OF(own) + N_OF(medium_opts));
    *o = (struct client_opts){.raw = -1, .threads = 1, .max_inflight = 256, .key_size = 16,
                              .val_size = 3, .csv = "results/ring_metrics.csv", .label = "ring",
                              .key_prefix = "key:",
                              .nops = 2, .ops = {OP_SET, OP_GET}};
    cxl_kv_config_init(&o->kv);
    cxl_opts_init(&o->shared);
    int c;
    opterr = 0;
    /* "+": stop at the first non-option, which starts the command */
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(CLIENT_EXIT_OK);
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "cxl_ring_direct: %s option '%s' (see --help)\n",
                    c == ':' ? "missing value for" : "unknown or incomplete", argv[optind - 1]);
            return CLIENT_EXIT_USAGE;
        }
        if (parse_one(c, optarg, o) != 0) {
            fprintf(stderr, "cxl_ring_direct: %s\n", cxl_last_error());
            return CLIENT_EXIT_USAGE;
        }
    }
    o->argc = argc - optind;
    o->argv = argv + optind;
    if (o->bench && o->argc) {
        fprintf(stderr, "cxl_ring_direct: --bench takes no command ('%s' given)\n", o->argv[0]);
        return CLIENT_EXIT_USAGE;
    }
    if (!o->bench && o->argc == 0) {
        fprintf(stderr, "cxl_ring_direct: give a command (GET k, SET k v, ...) or --bench N\n");
        usage(stderr);
        return CLIENT_EXIT_USAGE;
    }
    if (o->via && !o->bench) {
        fprintf(stderr, "cxl_ring_direct: --via is for --bench (use redis-cli for one command)\n");
        return CLIENT_EXIT_USAGE;
    }
    if (o->via && (o->shared.sec.secure || o->shared.sec.crypto)) {
        fprintf(stderr, "cxl_ring_direct: --via talks RESP to a socket; --secure/--crypto are for the ring\n");
        return CLIENT_EXIT_USAGE;
    }
    if (cluster_conflicts(o) != 0)
        return CLIENT_EXIT_USAGE;
    if (o->kv.user && !o->kv.password) {
        fprintf(stderr, "cxl_ring_direct: --user needs --pass\n");
        return CLIENT_EXIT_USAGE;
    }
    if (cxl_opts_env(&o->shared, env_opts, N_OF(env_opts), environ) != 0 || cxl_opts_finish(&o->shared) != 0) {
        fprintf(stderr, "cxl_ring_direct: %s\n", cxl_last_error());
        return CLIENT_EXIT_USAGE;
    }
    cxl_opts_kv_config(&o->shared, &o->kv);
    o->sec = o->shared.sec;
    o->tls_ca_file = o->shared.tls_ca_file;
    if (!o->pipeline)
        o->max_inflight = 1;
    /* Threads that spin while the server waits for a CPU slow everybody. */
    if (!spin_given)
        cxl_opts_spin_for_threads(&o->kv, o->threads, o->cluster ? cxl_pod_map_count(o->pod_map) : 1);
    if (o->raw < 0)
        o->raw = !isatty(STDOUT_FILENO);
    return CLIENT_EXIT_OK;
}
