/* args.c - the command line of cxl_sec_mgr: the subcommand (none = the
 * daemon), its options (an option of another subcommand is an error), the
 * required ones, positional arguments, and the --help text. */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "sec_mgr.h"

enum opt_id {
    OPT_CONFIG = 256, OPT_LISTEN, OPT_OUT, OPT_FORCE, OPT_MANAGER, OPT_ID, OPT_NAME, OPT_KEY,
    OPT_NODE_ID, OPT_MGR, OPT_RING, OPT_REGION, OPT_PING, OPT_TIMEOUT, OPT_END_
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"out", required_argument, NULL, OPT_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {"manager", no_argument, NULL, OPT_MANAGER},
    {"id", required_argument, NULL, OPT_ID},
    {"name", required_argument, NULL, OPT_NAME},
    {"key", required_argument, NULL, OPT_KEY},
    {"node-id", required_argument, NULL, OPT_NODE_ID},
    {"mgr", required_argument, NULL, OPT_MGR},
    {"ring", required_argument, NULL, OPT_RING},
    {"region", required_argument, NULL, OPT_REGION},
    {"ping", no_argument, NULL, OPT_PING},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const cmd_names[] = {
    [MGR_CMD_DAEMON] = "the daemon", [MGR_CMD_KEYGEN] = "keygen", [MGR_CMD_CHECK] = "check",
    [MGR_CMD_REVOKE] = "revoke",   [MGR_CMD_ROTATE] = "rotate", [MGR_CMD_FETCH] = "fetch",
    [MGR_CMD_RELOAD] = "reload",   [MGR_CMD_PING] = "ping",     [MGR_CMD_RETIRE] = "retire",
};
#define N_CMDS (sizeof cmd_names / sizeof cmd_names[0])
#define ON(c) (1u << (c))

static unsigned opt_scope(int id)
{
    switch (id) {
    case OPT_CONFIG: return ON(MGR_CMD_DAEMON) | ON(MGR_CMD_KEYGEN) | ON(MGR_CMD_CHECK) |
                            ON(MGR_CMD_REVOKE) | ON(MGR_CMD_ROTATE) | ON(MGR_CMD_RELOAD) |
                            ON(MGR_CMD_PING) | ON(MGR_CMD_RETIRE);
    case OPT_LISTEN: return ON(MGR_CMD_DAEMON);
    case OPT_OUT: case OPT_FORCE: case OPT_MANAGER: case OPT_ID: case OPT_NAME:
        return ON(MGR_CMD_KEYGEN);
    default: return ON(MGR_CMD_FETCH);
    }
}

/* Options each subcommand must have. */
static const int required[N_CMDS][3] = {
    [MGR_CMD_DAEMON] = {OPT_CONFIG, OPT_LISTEN}, [MGR_CMD_KEYGEN] = {OPT_OUT},
    [MGR_CMD_CHECK] = {OPT_CONFIG}, [MGR_CMD_REVOKE] = {OPT_CONFIG},
    [MGR_CMD_ROTATE] = {OPT_CONFIG}, [MGR_CMD_FETCH] = {OPT_KEY, OPT_NODE_ID, OPT_MGR},
    [MGR_CMD_RELOAD] = {OPT_CONFIG}, [MGR_CMD_PING] = {OPT_CONFIG}, [MGR_CMD_RETIRE] = {OPT_CONFIG},
};

void mgr_usage(FILE *f)
{
    fputs("usage:\n"
          "  cxl_sec_mgr --config C --listen HOST:PORT      the daemon\n"
          "  cxl_sec_mgr keygen --out F [--config C] [--id N] [--name NAME] [--force]\n"
          "                                                 a node key pair (0600); prints the\n"
          "                                                 `node` line for the config\n"
          "  cxl_sec_mgr keygen --manager --out F [--force] the manager's key pair\n"
          "  cxl_sec_mgr check --config C                   every error, with its line number\n"
          "  cxl_sec_mgr revoke --config C NODE             via the daemon's control socket\n"
          "  cxl_sec_mgr rotate --config C [REGION]         new epoch(s) now\n"
          "  cxl_sec_mgr reload --config C                  the daemon re-reads its config (as\n"
          "                                                 SIGHUP does); regions that lost a\n"
          "                                                 holder get a new epoch, no grace\n"
          "  cxl_sec_mgr ping --config C                    is the daemon answering?\n"
          "  cxl_sec_mgr retire --config C REGION           the fabric: the next grant of a range\n"
          "                                                 region gets a new, empty memfd (a new\n"
          "                                                 publication; docs/FABRIC.md)\n"
          "debugging (a node's side; prints key fingerprints, never keys):\n"
          "  cxl_sec_mgr fetch --key F --node-id N --mgr HOST:PORT (--ring N | --region R | --ping)\n"
          "                    [--timeout-ms MS]\n"
          "exit status: 0 ok, 1 refused or failed (check: errors found), 2 usage\n"
          "docs/SECURITY.md describes the configuration, the handshake and the audit log.\n",
          f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("cxl_sec_mgr: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(cxl_sec_mgr --help lists the subcommands and flags)\n", stderr);
    return MGR_EXIT_USAGE;
}

static const char *opt_name(int id)
{
    static char buf[32];
    for (const struct option *op = long_opts; op->name; op++)
        if (op->val == id)
            return snprintf(buf, sizeof buf, "--%s", op->name), buf;
    return "?";
}

static int apply_opt(struct mgr_opts *o, int id, const char *arg)
{
    uint32_t v;
    int rc = 0;
    switch (id) {
    case OPT_CONFIG: o->config = arg; break;
    case OPT_LISTEN: o->listen = arg; break;
    case OPT_OUT: o->out = arg; break;
    case OPT_FORCE: o->force = 1; break;
    case OPT_MANAGER: o->manager = 1; break;
    case OPT_ID: case OPT_NODE_ID:
        if ((rc = cxl_parse_u32(opt_name(id), arg, 1, 65535, &v)) == 0)
            o->node_id = (uint16_t)v, o->node_id_given = 1;
        break;
    case OPT_NAME: o->name = arg; break;
    case OPT_KEY: o->key = arg; break;
    case OPT_MGR: o->mgr = arg; break;
    case OPT_RING: rc = cxl_parse_u32("--ring", arg, 0, UINT32_MAX, &o->ring), o->ring_given = 1; break;
    case OPT_REGION: o->region = arg; break;
    case OPT_PING: o->ping = 1; break;
    case OPT_TIMEOUT: rc = cxl_parse_u32("--timeout-ms", arg, 1, 600000, &o->timeout_ms); break;
    }
    if (rc)
        return usage_error("%s", cxl_last_error());
    if (arg && !*arg)
        return usage_error("%s: missing value", opt_name(id));
    return 0;
}

static int parse_opts(int argc, char **argv, struct mgr_opts *o, uint32_t *seen)
{
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        if (c == 'h')
            return mgr_usage(stdout), -1;
        if (c == ':')
            return usage_error("%s: missing value", opt_name(optopt));
        if (c == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if (!(opt_scope(c) & ON(o->cmd)))
            return usage_error("%s is not an option of %s", opt_name(c), cmd_names[o->cmd]);
        int rc = apply_opt(o, c, optarg);
        if (rc)
            return rc;
        *seen |= 1u << (c - OPT_CONFIG);
    }
    return 0;
}

/* Required options, positional arguments, combinations. */
static int check_opts(int argc, char **argv, struct mgr_opts *o, uint32_t seen)
{
    for (int i = 0; i < 3 && required[o->cmd][i]; i++)
        if (!(seen & (1u << (required[o->cmd][i] - OPT_CONFIG))))
            return usage_error("%s needs %s", cmd_names[o->cmd], opt_name(required[o->cmd][i]));
    int npos = argc - optind;
    int one = o->cmd == MGR_CMD_REVOKE || o->cmd == MGR_CMD_RETIRE;
    int max = one || o->cmd == MGR_CMD_ROTATE ? 1 : 0;
    if (npos > max || (one && npos < 1))
        return usage_error(o->cmd == MGR_CMD_REVOKE ? "revoke takes one NODE (name or id)"
                           : o->cmd == MGR_CMD_RETIRE ? "retire takes one REGION"
                                                      : "unexpected argument '%s'",
                           argv[optind + (npos > max ? max : 0)]);
    o->arg = npos ? argv[optind] : NULL;
    if (o->arg && !cxl_sec_name_valid(o->arg) && strspn(o->arg, "0123456789") != strlen(o->arg))
        return usage_error("'%s' is not a node or region name", o->arg);
    if (o->cmd == MGR_CMD_FETCH && (!!o->ring_given + !!o->region + o->ping) != 1)
        return usage_error("fetch needs exactly one of --ring, --region, --ping");
    if (o->cmd == MGR_CMD_KEYGEN && o->manager && (o->config || o->node_id_given || o->name))
        return usage_error("keygen --manager takes only --out and --force");
    return 0;
}

int mgr_parse_args(int argc, char **argv, struct mgr_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = 5000;
    o->cmd = MGR_CMD_DAEMON;
    if (argc < 2) {
        mgr_usage(stderr);
        return MGR_EXIT_USAGE;
    }
    for (size_t i = 1; argc > 1 && i < N_CMDS; i++)
        if (strcmp(argv[1], cmd_names[i]) == 0) {
            o->cmd = (enum mgr_cmd)i;
            argc--, argv++; /* the subcommand plays argv[0] */
            break;
        }
    if (o->cmd == MGR_CMD_DAEMON && argc > 1 && argv[1][0] != '-')
        return usage_error("unknown subcommand '%s'", argv[1]);
    uint32_t seen = 0;
    int rc = parse_opts(argc, argv, o, &seen);
    return rc ? rc : check_opts(argc, argv, o, seen);
}
