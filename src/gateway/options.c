/* options.c - cxl_resp_gateway's flags, validated with messages naming them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/options.h"
#include "cxl/util.h"
#include "gateway.h"

#define REDIS_PROTO_MAX_BULK_LEN (512ull << 20) /* Redis's defaults */
#define REDIS_QUERY_BUFFER_LIMIT (1ull << 30)
#define DEFAULT_MAXMEMORY_CLIENTS (1ull << 30)  /* Redis's is 0 (none); a gateway's clients are strangers */

/* The shared options the gateway takes (config/options.h), in --help's
 * order, and those it also reads from the environment. */
static const enum cxl_opt_id medium_opts[] = {
    CXL_OPT_PATH, CXL_OPT_MAP_SIZE, CXL_OPT_MAP_OFFSET, CXL_OPT_FOREIGN, CXL_OPT_RING, CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW,
};
static const enum cxl_opt_id sec_opts[] = {
    CXL_OPT_TIMEOUT_MS, CXL_OPT_SECURE, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY,
    CXL_OPT_CRYPTO, CXL_OPT_SEC_KEY_FILE,
};
static const enum cxl_opt_id env_opts[] = {
    CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE,
};
#define N_OF(a) (sizeof (a) / sizeof (a)[0])

extern char **environ;

static void usage(FILE *out)
{
    fprintf(out,
        "usage: cxl_resp_gateway --path P [--listen HOST:PORT] [--unix PATH] [options]\n"
        "RESP clients (redis-cli, redis-benchmark, client libraries) talk to Redis through\n"
        "the shared medium: each command crosses the ring to the cxl_ring module.\n");
    cxl_opts_usage(out, medium_opts, N_OF(medium_opts));
    fprintf(out,
        "  --listen HOST:PORT    TCP (default 127.0.0.1:6380 unless --unix is given)\n"
        "  --unix PATH           a Unix socket\n"
        "  --rings N             rings to claim from --ring on, connections spread over\n"
        "                        them (default 1)\n"
        "  --max-clients N       (default 1024, at most 65535: each connection has its own\n"
        "                        Redis user on the ring after AUTH, as over TCP)\n"
        "  --max-request BYTES   largest command, its arguments with 4 bytes each (default\n"
        "                        and at most: what one ring message carries); larger:\n"
        "                        a protocol error, the connection closed\n"
        "  --proto-max-bulk-len BYTES  largest argument (default 512mb, as Redis; at most\n"
        "                        --max-request); larger: 'Protocol error: invalid bulk\n"
        "                        length', the connection closed, as Redis does\n"
        "  --client-query-buffer-limit BYTES  input a client may have pending (default\n"
        "                        1gb, as Redis; a client holds at most one command plus\n"
        "                        one 64 KiB read); over it: closed without a reply\n"
        "  --maxmemory-clients BYTES  all clients' buffers together (default 1gb, 0 = no\n"
        "                        limit); over it the biggest clients are closed, as Redis does\n"
        "  --max-output BYTES    replies a client may leave unread before it stops\n"
        "                        being read (default 64M)\n"
        "  --cluster POD.MAP     in front of a Redis Cluster node: pod nodes' addresses in\n"
        "                        -MOVED/-ASK and CLUSTER SLOTS/SHARDS/NODES/REPLICAS replies\n"
        "                        become their gateways' (lines 'node HOST:PORT medium PATH\n"
        "                        gateway HOST:PORT', docs/CLUSTER.md)\n"
        "  --no-fast-paths       GET/SET/DEL as generic commands too (then they are\n"
        "                        propagated to replicas/AOF like any command)\n"
        "  --quiet\n");
    cxl_opts_usage(out, sec_opts, N_OF(sec_opts));
    fprintf(out,
        "environment: CXL_SHM_DELAY_NS, CXL_SHM_DELAY_MODEL, CXL_SHM_DELAY_BW_GBPS,\n"
        "CXL_SEC_MGR, CXL_SEC_NODE_ID, CXL_SEC_KEY,\n"
        "CXL_SEC_KEY_FILE (flags win)\n"
        "Requests are read as redis-server 7.0 reads them (inline quoting, Redis's protocol\n"
        "errors, the connection closed after one as Redis does).\n"
        "Not through the gateway (an error reply, by design): SUBSCRIBE and the other pub/sub\n"
        "commands, MONITOR, MULTI/EXEC/WATCH, replication commands, HELLO 3 (RESP3), SELECT\n"
        "other than 0. Blocking commands (BLPOP ...) answer at once: their data if there is\n"
        "some, else ERR ... would block.\n");
}

enum { G_LISTEN = 256, G_UNIX, G_RINGS, G_MAX_CLIENTS, G_MAX_REQUEST, G_MAX_OUTPUT, G_NO_FAST, G_QUIET,
       G_MAX_BULK, G_QUERY_LIMIT, G_MAXMEMORY_CLIENTS, G_CLUSTER };

static int parse_one(int c, const char *arg, struct gw_opts *o)
{
    int rc = cxl_opts_getopt(&o->shared, c, arg);
    if (rc <= 0)
        return rc;
    rc = 0;
    switch (c) {
    case G_LISTEN: o->listen = arg; break;
    case G_UNIX: o->unix_path = arg; break;
    case G_RINGS: rc = cxl_parse_u32("--rings", arg, 1, GW_MAX_RINGS, &o->rings); break;
    case G_MAX_CLIENTS: rc = cxl_parse_u32("--max-clients", arg, 1, GW_MAX_CLIENTS, &o->max_clients); break;
    case G_MAX_REQUEST: rc = cxl_parse_size("--max-request", arg, &o->max_request); break;
    case G_MAX_OUTPUT: rc = cxl_parse_size("--max-output", arg, &o->max_output); break;
    case G_MAX_BULK: rc = cxl_parse_size("--proto-max-bulk-len", arg, &o->proto_max_bulk_len); break;
    case G_QUERY_LIMIT: rc = cxl_parse_size("--client-query-buffer-limit", arg, &o->query_buffer_limit); break;
    case G_MAXMEMORY_CLIENTS: rc = cxl_parse_size("--maxmemory-clients", arg, &o->maxmemory_clients); break;
    case G_NO_FAST: o->fast_paths = 0; break;
    case G_CLUSTER: o->cluster_path = arg; break;
    case G_QUIET: o->quiet = 1; break;
    default: return cxl_fail(CXL_EINVAL, "unknown option");
    }
    return rc;
}

/* --cluster's pod map: read, and not empty. */
static int load_pod_map(struct gw_opts *o)
{
    int rc = cxl_pod_map_load(o->cluster_path, &o->pod);
    if (rc == 0 && o->pod.n == 0)
        rc = cxl_fail(CXL_EINVAL, "%s: no 'node' line", o->cluster_path);
    if (rc)
        fprintf(stderr, "cxl_resp_gateway: --cluster: %s\n", cxl_last_error());
    return rc;
}

int gw_options_parse(int argc, char **argv, struct gw_opts *o)
{
    static const struct option own[] = {
        {"listen", 1, 0, G_LISTEN}, {"unix", 1, 0, G_UNIX}, {"rings", 1, 0, G_RINGS},
        {"max-clients", 1, 0, G_MAX_CLIENTS},
        {"max-request", 1, 0, G_MAX_REQUEST}, {"max-output", 1, 0, G_MAX_OUTPUT},
        {"proto-max-bulk-len", 1, 0, G_MAX_BULK}, {"client-query-buffer-limit", 1, 0, G_QUERY_LIMIT},
        {"maxmemory-clients", 1, 0, G_MAXMEMORY_CLIENTS},
        {"cluster", 1, 0, G_CLUSTER}, {"no-fast-paths", 0, 0, G_NO_FAST}, {"quiet", 0, 0, G_QUIET}, {"help", 0, 0, 'h'},
    };
    struct option longopts[N_OF(own) + N_OF(medium_opts) + N_OF(sec_opts) + 1] = {0};
    memcpy(longopts, own, sizeof own);
    cxl_opts_longopts(medium_opts, N_OF(medium_opts), longopts + N_OF(own));
    cxl_opts_longopts(sec_opts, N_OF(sec_opts), longopts + N_OF(own) + N_OF(medium_opts));
    *o = (struct gw_opts){.rings = 1, .max_clients = 1024, .max_output = 64ull << 20, .fast_paths = 1,
                          .proto_max_bulk_len = REDIS_PROTO_MAX_BULK_LEN, .query_buffer_limit = REDIS_QUERY_BUFFER_LIMIT,
                          .maxmemory_clients = DEFAULT_MAXMEMORY_CLIENTS};
    cxl_kv_config_init(&o->kv);
    cxl_opts_init(&o->shared);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(GW_EXIT_OK);
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "cxl_resp_gateway: unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
            return GW_EXIT_USAGE;
        }
        if (parse_one(c, optarg, o) != 0) {
            fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
            return GW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cxl_resp_gateway: unexpected argument '%s'\n", argv[optind]);
        return GW_EXIT_USAGE;
    }
    if (!o->listen && !o->unix_path)
        o->listen = "127.0.0.1:6380";
    if (cxl_opts_env(&o->shared, env_opts, N_OF(env_opts), environ) != 0 || cxl_opts_finish(&o->shared) != 0) {
        fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
        return GW_EXIT_USAGE;
    }
    if (o->cluster_path && load_pod_map(o) != 0)
        return GW_EXIT_USAGE;
    cxl_opts_kv_config(&o->shared, &o->kv);
    o->sec = o->shared.sec;
    o->kv.node_id = o->sec.node_id; /* the gateway has no --node-id: its rings' owner is its node */
    return GW_EXIT_OK;
}
