/* options.c - cxl_resp_gateway's flags, validated with messages naming them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/util.h"
#include "gateway.h"

#define REDIS_PROTO_MAX_BULK_LEN (512ull << 20) /* Redis's defaults */
#define REDIS_QUERY_BUFFER_LIMIT (1ull << 30)
#define DEFAULT_MAXMEMORY_CLIENTS (1ull << 30)  /* Redis's is 0 (none); a gateway's clients are strangers */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: cxl_resp_gateway --path P [--listen HOST:PORT] [--unix PATH] [options]\n"
        "RESP clients (redis-cli, redis-benchmark, client libraries) talk to Redis through\n"
        "the shared medium: each command crosses the ring to the cxl_ring module.\n"
        "  --path P              medium (default " CXL_DEFAULT_PATH ")\n"
        "  --map-size S --map-offset O\n"
        "  --allow-foreign-medium  accept a medium file of another user, writable by\n"
        "                        everyone, or a symbolic link (refused by default)\n"
        "  --listen HOST:PORT    TCP (default 127.0.0.1:6380 unless --unix is given)\n"
        "  --unix PATH           a Unix socket\n"
        "  --rings N             rings to claim, connections spread over them (default 1)\n"
        "  --ring R              first ring to claim (default: any free)\n"
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
        "  --no-fast-paths       GET/SET/DEL as generic commands too (then they are\n"
        "                        propagated to replicas/AOF like any command)\n"
        "  --timeout-ms T        per command (default 5000)\n"
        "  --secure --sec-mgr HOST:PORT --sec-node-id N --sec-key FILE | --crypto --sec-key-file F\n"
        "  --quiet\n"
        "Requests are read as redis-server 7.0 reads them (inline quoting, Redis's protocol\n"
        "errors, the connection closed after one as Redis does).\n"
        "Not through the gateway (an error reply, by design): SUBSCRIBE and the other pub/sub\n"
        "commands, MONITOR, MULTI/EXEC/WATCH, replication commands, HELLO 3 (RESP3), SELECT\n"
        "other than 0. Blocking commands (BLPOP ...) answer at once: their data if there is\n"
        "some, else ERR ... would block.\n");
}

enum { G_PATH = 256, G_MAP_SIZE, G_MAP_OFFSET, G_FOREIGN, G_LISTEN, G_UNIX, G_RINGS, G_RING, G_MAX_CLIENTS,
       G_MAX_REQUEST, G_MAX_OUTPUT, G_NO_FAST, G_TIMEOUT, G_SECURE, G_SEC_MGR, G_SEC_NODE, G_SEC_KEY,
       G_CRYPTO, G_SEC_KEY_FILE, G_QUIET, G_MAX_BULK, G_QUERY_LIMIT, G_MAXMEMORY_CLIENTS };

static int parse_one(int c, const char *arg, struct gw_opts *o)
{
    uint32_t u;
    int rc = 0;
    switch (c) {
    case G_PATH: o->kv.medium.path = arg; break;
    case G_MAP_SIZE: rc = cxl_parse_size("--map-size", arg, &o->kv.medium.map_size); break;
    case G_MAP_OFFSET: rc = cxl_parse_size("--map-offset", arg, &o->kv.medium.map_offset); break;
    case G_FOREIGN: o->kv.medium.allow_foreign = 1; break;
    case G_LISTEN: o->listen = arg; break;
    case G_UNIX: o->unix_path = arg; break;
    case G_RINGS: rc = cxl_parse_u32("--rings", arg, 1, GW_MAX_RINGS, &o->rings); break;
    case G_RING: rc = cxl_parse_u32("--ring", arg, 0, CXL_MAX_RINGS - 1, &u); o->kv.ring = (int)u; break;
    case G_MAX_CLIENTS: rc = cxl_parse_u32("--max-clients", arg, 1, GW_MAX_CLIENTS, &o->max_clients); break;
    case G_MAX_REQUEST: rc = cxl_parse_size("--max-request", arg, &o->max_request); break;
    case G_MAX_OUTPUT: rc = cxl_parse_size("--max-output", arg, &o->max_output); break;
    case G_MAX_BULK: rc = cxl_parse_size("--proto-max-bulk-len", arg, &o->proto_max_bulk_len); break;
    case G_QUERY_LIMIT: rc = cxl_parse_size("--client-query-buffer-limit", arg, &o->query_buffer_limit); break;
    case G_MAXMEMORY_CLIENTS: rc = cxl_parse_size("--maxmemory-clients", arg, &o->maxmemory_clients); break;
    case G_NO_FAST: o->fast_paths = 0; break;
    case G_TIMEOUT: rc = cxl_parse_u32("--timeout-ms", arg, 1, 3600000, &o->kv.timeout_ms); break;
    case G_SECURE: o->sec.secure = 1; break;
    case G_CRYPTO: o->sec.crypto = 1; break;
    case G_SEC_MGR: o->sec.mgr = arg; break;
    case G_SEC_KEY: o->sec.key = arg; break;
    case G_SEC_KEY_FILE: o->sec.key_file = arg; break;
    case G_SEC_NODE:
        rc = cxl_parse_u32("--sec-node-id", arg, 0, 65535, &u);
        o->sec.node_id = (uint16_t)u;
        o->sec.node_id_given = 1;
        break;
    case G_QUIET: o->quiet = 1; break;
    default: return cxl_fail(CXL_EINVAL, "unknown option");
    }
    return rc;
}

int gw_options_parse(int argc, char **argv, struct gw_opts *o)
{
    static const struct option longopts[] = {
        {"path", 1, 0, G_PATH}, {"map-size", 1, 0, G_MAP_SIZE}, {"map-offset", 1, 0, G_MAP_OFFSET},
        {"allow-foreign-medium", 0, 0, G_FOREIGN},
        {"listen", 1, 0, G_LISTEN}, {"unix", 1, 0, G_UNIX}, {"rings", 1, 0, G_RINGS},
        {"ring", 1, 0, G_RING}, {"max-clients", 1, 0, G_MAX_CLIENTS},
        {"max-request", 1, 0, G_MAX_REQUEST}, {"max-output", 1, 0, G_MAX_OUTPUT},
        {"proto-max-bulk-len", 1, 0, G_MAX_BULK}, {"client-query-buffer-limit", 1, 0, G_QUERY_LIMIT},
        {"maxmemory-clients", 1, 0, G_MAXMEMORY_CLIENTS},
        {"no-fast-paths", 0, 0, G_NO_FAST}, {"timeout-ms", 1, 0, G_TIMEOUT},
        {"secure", 0, 0, G_SECURE}, {"sec-mgr", 1, 0, G_SEC_MGR}, {"sec-node-id", 1, 0, G_SEC_NODE},
        {"sec-key", 1, 0, G_SEC_KEY}, {"crypto", 0, 0, G_CRYPTO}, {"sec-key-file", 1, 0, G_SEC_KEY_FILE},
        {"quiet", 0, 0, G_QUIET}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    *o = (struct gw_opts){.rings = 1, .max_clients = 1024, .max_output = 64ull << 20, .fast_paths = 1,
                          .proto_max_bulk_len = REDIS_PROTO_MAX_BULK_LEN, .query_buffer_limit = REDIS_QUERY_BUFFER_LIMIT,
                          .maxmemory_clients = DEFAULT_MAXMEMORY_CLIENTS};
    cxl_kv_config_init(&o->kv);
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
    if (cxl_sec_opts_finish(&o->sec) != 0) {
        fprintf(stderr, "cxl_resp_gateway: %s\n", cxl_last_error());
        return GW_EXIT_USAGE;
    }
    o->kv.node_id = o->sec.node_id;
    return GW_EXIT_OK;
}
