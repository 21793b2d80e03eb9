/* options.c - cxl_ring_direct's flags (the original prototype's, plus --keyspace, --ops,
 * --key-size, --val-size), validated with messages that name the flag. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cxl/util.h"

static const char *op_names[OP_COUNT] = {"set", "get", "del", "incr", "ping", "cmd-set", "cmd-get"};

const char *bench_op_name(enum bench_op op)
{
    return op < OP_COUNT ? op_names[op] : "?";
}

static void usage(FILE *out)
{
    fprintf(out,
        "usage: cxl_ring_direct [options] COMMAND [ARG...]     one command over the ring\n"
        "       cxl_ring_direct [options] --bench N [bench options]\n"
        "\n"
        "medium and ring:\n"
        "  --path P            medium (default " CXL_DEFAULT_PATH ")\n"
        "  --map-size S        bytes to map (default: the whole medium)\n"
        "  --map-offset O      offset of the layout in the medium (default 0)\n"
        "  --allow-foreign-medium  accept a medium file of another user, writable by\n"
        "                      everyone, or a symbolic link (refused by default)\n"
        "  --ring R            claim ring R (default: any free ring; with --threads, the first)\n"
        "  --node-id N         node id recorded as the ring owner (default 0)\n"
        "  --user U --pass P   AUTH as Redis ACL user U (default user: --pass alone)\n"
        "                      before the first command, as redis-cli does\n"
        "  --timeout-ms T      per-request timeout (default 5000)\n"
        "  --spin-us S         waiting for replies: spin S us (default 50; 2 when the\n"
        "                      client threads and the server outnumber the CPUs), then\n"
        "  --yield-us Y        yield the CPU for Y us (default 500), then sleep\n"
        "security (docs/SECURITY.md):\n"
        "  --secure            sealed messages, keys from cxl_sec_mgr; with\n"
        "  --sec-mgr HOST:PORT --sec-node-id N --sec-key FILE  (this node's key file)\n"
        "  --crypto            sealed messages, keys from a shared secret file:\n"
        "  --sec-key-file FILE (env: CXL_SEC_MGR, CXL_SEC_NODE_ID, CXL_SEC_KEY, CXL_SEC_KEY_FILE)\n"
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
        "  --compare-csv PATH  also append rows in the compare matrix format\n");
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

static int spin_given;

enum { O_PATH = 256, O_MAP_SIZE, O_MAP_OFFSET, O_RING, O_NODE, O_TIMEOUT, O_RAW, O_NO_RAW, O_BENCH,
       O_OPS, O_THREADS, O_PIPELINE, O_INFLIGHT, O_KEY_SIZE, O_VAL_SIZE, O_KEYSPACE, O_LATENCY,
       O_COST, O_CSV, O_LABEL, O_QUIET, O_KEY_PREFIX, O_SPIN, O_YIELD, O_SECURE, O_SEC_MGR,
       O_SEC_NODE, O_SEC_KEY, O_CRYPTO, O_SEC_KEY_FILE, O_VIA, O_COMPARE_CSV, O_FOREIGN, O_USER, O_PASS };

static int parse_one(int c, const char *arg, struct client_opts *o)
{
    uint32_t u;
    int rc = 0;
    switch (c) {
    case O_PATH: o->kv.medium.path = arg; break;
    case O_MAP_SIZE: rc = cxl_parse_size("--map-size", arg, &o->kv.medium.map_size); break;
    case O_MAP_OFFSET: rc = cxl_parse_size("--map-offset", arg, &o->kv.medium.map_offset); break;
    case O_FOREIGN: o->kv.medium.allow_foreign = 1; break;
    case O_USER: o->kv.user = arg; break;
    case O_PASS: o->kv.password = arg; break;
    case O_RING: rc = cxl_parse_u32("--ring", arg, 0, CXL_MAX_RINGS - 1, &u); o->kv.ring = (int)u; break;
    case O_NODE: rc = cxl_parse_u32("--node-id", arg, 0, 65535, &u); o->kv.node_id = (uint16_t)u; break;
    case O_TIMEOUT: rc = cxl_parse_u32("--timeout-ms", arg, 1, 3600000, &o->kv.timeout_ms); break;
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
    case O_SECURE: o->sec.secure = 1; break;
    case O_CRYPTO: o->sec.crypto = 1; break;
    case O_SEC_MGR: o->sec.mgr = arg; break;
    case O_SEC_KEY: o->sec.key = arg; break;
    case O_SEC_KEY_FILE: o->sec.key_file = arg; break;
    case O_SEC_NODE:
        rc = cxl_parse_u32("--sec-node-id", arg, 0, 65535, &u);
        o->sec.node_id = o->kv.node_id = (uint16_t)u;
        o->sec.node_id_given = 1;
        break;
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
    static const struct option longopts[] = {
        {"path", 1, 0, O_PATH}, {"map-size", 1, 0, O_MAP_SIZE}, {"map-offset", 1, 0, O_MAP_OFFSET},
        {"allow-foreign-medium", 0, 0, O_FOREIGN}, {"user", 1, 0, O_USER}, {"pass", 1, 0, O_PASS},
        {"ring", 1, 0, O_RING}, {"node-id", 1, 0, O_NODE}, {"timeout-ms", 1, 0, O_TIMEOUT},
        {"raw", 0, 0, O_RAW}, {"no-raw", 0, 0, O_NO_RAW}, {"bench", 1, 0, O_BENCH},
        {"ops", 1, 0, O_OPS}, {"threads", 1, 0, O_THREADS}, {"pipeline", 0, 0, O_PIPELINE},
        {"max-inflight", 1, 0, O_INFLIGHT}, {"key-size", 1, 0, O_KEY_SIZE},
        {"val-size", 1, 0, O_VAL_SIZE}, {"keyspace", 1, 0, O_KEYSPACE}, {"latency", 0, 0, O_LATENCY},
        {"cost", 0, 0, O_COST}, {"csv", 1, 0, O_CSV}, {"label", 1, 0, O_LABEL},
        {"quiet", 0, 0, O_QUIET}, {"key-prefix", 1, 0, O_KEY_PREFIX}, {"spin-us", 1, 0, O_SPIN},
        {"yield-us", 1, 0, O_YIELD}, {"secure", 0, 0, O_SECURE}, {"sec-mgr", 1, 0, O_SEC_MGR},
        {"sec-node-id", 1, 0, O_SEC_NODE}, {"sec-key", 1, 0, O_SEC_KEY}, {"crypto", 0, 0, O_CRYPTO},
        {"sec-key-file", 1, 0, O_SEC_KEY_FILE}, {"via", 1, 0, O_VIA},
        {"compare-csv", 1, 0, O_COMPARE_CSV}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (struct client_opts){.raw = -1, .threads = 1, .max_inflight = 256, .key_size = 16,
                              .val_size = 3, .csv = "results/ring_metrics.csv", .label = "ring",
                              .key_prefix = "key:",
                              .nops = 2, .ops = {OP_SET, OP_GET}};
    cxl_kv_config_init(&o->kv);
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
    if (o->via && (o->sec.secure || o->sec.crypto)) {
        fprintf(stderr, "cxl_ring_direct: --via talks RESP to a socket; --secure/--crypto are for the ring\n");
        return CLIENT_EXIT_USAGE;
    }
    if (o->kv.user && !o->kv.password) {
        fprintf(stderr, "cxl_ring_direct: --user needs --pass\n");
        return CLIENT_EXIT_USAGE;
    }
    if (cxl_sec_opts_finish(&o->sec) != 0) {
        fprintf(stderr, "cxl_ring_direct: %s\n", cxl_last_error());
        return CLIENT_EXIT_USAGE;
    }
    if (o->sec.node_id_given || o->sec.secure)
        o->kv.node_id = o->sec.node_id;
    if (!o->pipeline)
        o->max_inflight = 1;
    /* Threads that spin while the server waits for a CPU slow everybody. */
    if (!spin_given && o->threads + 1 > (uint32_t)sysconf(_SC_NPROCESSORS_ONLN))
        o->kv.spin_us = 2;
    if (o->raw < 0)
        o->raw = !isatty(STDOUT_FILENO);
    o->tls_ca_file = getenv("CXL_TLS_CAFILE");
    return CLIENT_EXIT_OK;
}
