/* options.c - cxl_sodium_tunnel's flags, validated with messages naming them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "tunnel.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: cxl_sodium_tunnel --mode client --listen ADDR --connect ADDR --key FILE --peer-key FILE\n"
        "       cxl_sodium_tunnel --mode server --listen ADDR --backend ADDR --key FILE --peer-key FILE\n"
        "A libsodium-encrypted TCP tunnel (docs/TUNNEL.md): the client end takes plain\n"
        "connections and carries each, encrypted, to the server end, which connects it\n"
        "to the backend (Redis). Both ends authenticate each other by their key pairs;\n"
        "every connection gets fresh keys. ADDR: HOST:PORT or unix:/path.\n"
        "  --mode client|server\n"
        "  --listen ADDR         where plain (client) or encrypted (server) connections come\n"
        "  --connect ADDR        client: the server end\n"
        "  --backend ADDR        server: where each authenticated connection goes\n"
        "  --key FILE            this end's key pair (cxl_sec_mgr keygen --out FILE; mode 0600)\n"
        "  --peer-key FILE       the other end's public key: its key file, or a file with\n"
        "                        'public <64 hex>' or the 64 hex digits alone\n"
        "  --max-conns N         connections at once (default 1024)\n"
        "  --max-handshakes N    server: handshakes whose first frame has not proven the\n"
        "                        client end's key (default 256); beyond it (or at\n"
        "                        --max-conns) the oldest of them is dropped; one that\n"
        "                        proved it is kept until --handshake-ms\n"
        "  --handshake-ms T      handshake and backend connect deadline (default 5000)\n"
        "  --quiet               log failures only\n");
}

enum { T_MODE = 256, T_LISTEN, T_CONNECT, T_BACKEND, T_KEY, T_PEER_KEY, T_MAX_CONNS, T_MAX_HS,
       T_HS_MS, T_QUIET };

struct seen {
    const char *listen, *connect, *backend;
};

static int parse_one(int c, const char *arg, struct tun_opts *o, struct seen *s)
{
    switch (c) {
    case T_MODE:
        if (strcmp(arg, "client") == 0)
            o->mode = TUN_CLIENT;
        else if (strcmp(arg, "server") == 0)
            o->mode = TUN_SERVER;
        else
            return cxl_fail(CXL_EINVAL, "--mode: 'client' or 'server', not '%s'", arg);
        return 0;
    case T_LISTEN: s->listen = arg; return 0;
    case T_CONNECT: s->connect = arg; return 0;
    case T_BACKEND: s->backend = arg; return 0;
    case T_KEY: o->key_path = arg; return 0;
    case T_PEER_KEY: o->peer_key_path = arg; return 0;
    case T_MAX_CONNS: return cxl_parse_u32("--max-conns", arg, 1, 1u << 16, &o->max_conns);
    case T_MAX_HS: return cxl_parse_u32("--max-handshakes", arg, 1, 1u << 16, &o->max_handshakes);
    case T_HS_MS: return cxl_parse_u32("--handshake-ms", arg, 10, 600000, &o->handshake_ms);
    case T_QUIET: o->quiet = 1; return 0;
    default: return cxl_fail(CXL_EINVAL, "unknown option");
    }
}

/* The flags that belong together, after all are read. */
static int check(struct tun_opts *o, const struct seen *s, int mode_given)
{
    if (!mode_given)
        return cxl_fail(CXL_EINVAL, "--mode client|server is required");
    if (!s->listen)
        return cxl_fail(CXL_EINVAL, "--listen ADDR is required");
    const char *target = o->mode == TUN_CLIENT ? s->connect : s->backend;
    const char *flag = o->mode == TUN_CLIENT ? "--connect" : "--backend";
    const char *wrong = o->mode == TUN_CLIENT ? s->backend : s->connect;
    if (wrong)
        return cxl_fail(CXL_EINVAL, "%s is for --mode %s", o->mode == TUN_CLIENT ? "--backend" : "--connect",
                        o->mode == TUN_CLIENT ? "server" : "client");
    if (!target)
        return cxl_fail(CXL_EINVAL, "%s ADDR is required with --mode %s", flag,
                        o->mode == TUN_CLIENT ? "client" : "server");
    if (!o->key_path || !o->peer_key_path)
        return cxl_fail(CXL_EINVAL, "--key FILE and --peer-key FILE are required (keys are never flags)");
    if (cxl_net_addr_parse("--listen", s->listen, &o->listen) != 0 ||
        cxl_net_addr_parse(flag, target, &o->target) != 0)
        return CXL_EINVAL;
    return 0;
}

int tun_options_parse(int argc, char **argv, struct tun_opts *o)
{
    static const struct option longopts[] = {
        {"mode", 1, 0, T_MODE}, {"listen", 1, 0, T_LISTEN}, {"connect", 1, 0, T_CONNECT},
        {"backend", 1, 0, T_BACKEND}, {"key", 1, 0, T_KEY}, {"peer-key", 1, 0, T_PEER_KEY},
        {"max-conns", 1, 0, T_MAX_CONNS}, {"max-handshakes", 1, 0, T_MAX_HS}, {"handshake-ms", 1, 0, T_HS_MS}, {"quiet", 0, 0, T_QUIET},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    *o = (struct tun_opts){.max_conns = 1024, .max_handshakes = 256, .handshake_ms = 5000};
    struct seen s = {0};
    int c, mode_given = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(TUN_EXIT_OK);
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "cxl_sodium_tunnel: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return TUN_EXIT_USAGE;
        }
        mode_given |= c == T_MODE;
        if (parse_one(c, optarg, o, &s) != 0) {
            fprintf(stderr, "cxl_sodium_tunnel: %s\n", cxl_last_error());
            return TUN_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cxl_sodium_tunnel: unexpected argument '%s'\n", argv[optind]);
        return TUN_EXIT_USAGE;
    }
    if (check(o, &s, mode_given) != 0) {
        fprintf(stderr, "cxl_sodium_tunnel: %s\n", cxl_last_error());
        return TUN_EXIT_USAGE;
    }
    return TUN_EXIT_OK;
}
