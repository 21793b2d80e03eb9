/* args.c - the command line of cxl_shm: the option table, which options each
 * subcommand takes, validation of every value (errors name the flag), and the
 * --help text.
 *
 * Parsing is two passes of getopt_long with permutation disabled ("+"):
 *   1. common options up to the first non-option word, the subcommand;
 *   2. the words after the subcommand: common options and its own options.
 * A subcommand option before the subcommand, an option of another subcommand,
 * or any word left over after the options is a usage error. */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "config/options.h"
#include "cxl/error.h"
#include "cxl/util.h"
#include "sec/seal.h"
#include "shm_tool.h"

/* The shared options (config/options.h): the medium's, common to every
 * subcommand, and init's format options. */
static const enum cxl_opt_id medium_opts[] = {
    CXL_OPT_PATH, CXL_OPT_MAP_SIZE, CXL_OPT_MAP_OFFSET, CXL_OPT_UIO_MAP, CXL_OPT_NUMA_NODE,
    CXL_OPT_PREFAULT, CXL_OPT_FOREIGN,
};
static const enum cxl_opt_id format_opts[] = {CXL_OPT_RINGS, CXL_OPT_SLOT_SIZE, CXL_OPT_SECURE};
#define N_OF(a) (sizeof (a) / sizeof (a)[0])

/* The subcommands' own options. */
enum opt_id { OPT_OFFSET = 256, OPT_LEN, OPT_DATA, OPT_HEX };
#define SHARED(id) (CXL_OPT_BASE + (id))

static const struct option own_opts[] = {
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"len", required_argument, NULL, OPT_LEN},
    {"data", required_argument, NULL, OPT_DATA},
    {"hex", no_argument, NULL, OPT_HEX},
    {"help", no_argument, NULL, 'h'},
};
static struct option long_opts[N_OF(own_opts) + N_OF(medium_opts) + N_OF(format_opts) + 1];

static void build_long_opts(void)
{
    memcpy(long_opts, own_opts, sizeof own_opts);
    cxl_opts_longopts(medium_opts, N_OF(medium_opts), long_opts + N_OF(own_opts));
    cxl_opts_longopts(format_opts, N_OF(format_opts), long_opts + N_OF(own_opts) + N_OF(medium_opts));
}

static const char *const cmd_names[] = {
    [SHM_CMD_INFO] = "info", [SHM_CMD_INIT] = "init",
    [SHM_CMD_READ] = "read", [SHM_CMD_WRITE] = "write",
};
#define N_CMDS (sizeof cmd_names / sizeof cmd_names[0])

#define ON(c) (1u << (c))
#define ANY_CMD (ON(SHM_CMD_INFO) | ON(SHM_CMD_INIT) | ON(SHM_CMD_READ) | ON(SHM_CMD_WRITE))

/* Subcommands that accept option id. */
static unsigned opt_scope(int id)
{
    switch (id) {
    case SHARED(CXL_OPT_RINGS): case SHARED(CXL_OPT_SLOT_SIZE): case SHARED(CXL_OPT_SECURE):
        return ON(SHM_CMD_INIT);
    case OPT_OFFSET: return ON(SHM_CMD_READ) | ON(SHM_CMD_WRITE);
    case OPT_LEN: case OPT_HEX: return ON(SHM_CMD_READ);
    case OPT_DATA: return ON(SHM_CMD_WRITE);
    default: return ANY_CMD;
    }
}

static const char *opt_name(int id)
{
    static char buf[32];
    for (const struct option *op = long_opts; op->name; op++)
        if (op->val == id) {
            snprintf(buf, sizeof buf, "--%s", op->name);
            return buf;
        }
    return "?";
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("cxl_shm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(cxl_shm --help lists the subcommands and flags)\n", stderr);
    return SHM_EXIT_USAGE;
}

/* A library parser failed: its message already names the flag. */
static int value_error(void)
{
    return usage_error("%s", cxl_last_error());
}

static int parse_nonempty(const char *flag, const char *text, const char **out)
{
    if (!*text)
        return usage_error("%s: missing value", flag);
    *out = text;
    return 0;
}

/* Store the value of one option into o. */
static int apply_opt(struct shm_opts *o, int id, const char *arg)
{
    if (id == SHARED(CXL_OPT_PATH))
        return parse_nonempty("--path", arg, &o->shared.medium.path);
    int rc = cxl_opts_getopt(&o->shared, id, arg);
    if (rc <= 0)
        return rc ? value_error() : 0;
    rc = 0;
    switch (id) {
    case OPT_OFFSET: rc = cxl_parse_size("--offset", arg, &o->offset); break;
    case OPT_LEN:
        if ((rc = cxl_parse_size("--len", arg, &o->len)) == 0 && o->len == 0)
            return usage_error("--len: must be at least 1");
        break;
    case OPT_DATA: return parse_nonempty("--data", arg, &o->data);
    case OPT_HEX: o->hex = 1; break;
    }
    return rc ? value_error() : 0;
}

/* What getopt_long could not parse. */
static int getopt_error(int c, char **argv)
{
    if (c == ':')
        return usage_error("%s: missing value", opt_name(optopt));
    if ((optopt >= OPT_OFFSET && optopt <= OPT_HEX) || optopt >= CXL_OPT_BASE)
        return usage_error("%s takes no value", opt_name(optopt));
    if (optopt)
        return usage_error("unknown option '-%c'", optopt);
    return usage_error("unknown or ambiguous option '%s'", argv[optind - 1]);
}

/* One getopt pass. cmd < 0: before the subcommand (common options only).
 * Returns 0, SHM_EXIT_USAGE, or -1 for --help; *seen collects option ids. */
static int parse_pass(int argc, char **argv, int cmd, struct shm_opts *o, uint32_t *seen)
{
    int c;
    optind = 0; /* glibc: full re-initialisation for the second pass */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", long_opts, NULL)) != -1) {
        if (c == 'h') {
            shm_usage(stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return getopt_error(c, argv);
        unsigned scope = opt_scope(c);
        if (cmd < 0 && scope != ANY_CMD)
            return usage_error("%s belongs after the subcommand", opt_name(c));
        if (cmd >= 0 && !(scope & ON(cmd)))
            return usage_error("%s is not an option of '%s'", opt_name(c), cmd_names[cmd]);
        int rc = apply_opt(o, c, optarg);
        if (rc)
            return rc;
        if (c >= OPT_OFFSET && c <= OPT_HEX)
            *seen |= 1u << (c - OPT_OFFSET);
    }
    return 0;
}

static int find_cmd(const char *word)
{
    for (size_t i = 0; i < N_CMDS; i++)
        if (strcmp(word, cmd_names[i]) == 0)
            return (int)i;
    return -1;
}

static int check_required(const struct shm_opts *o, uint32_t seen)
{
    static const int need[][3] = {
        [SHM_CMD_INFO] = {0}, [SHM_CMD_INIT] = {0},
        [SHM_CMD_READ] = {OPT_OFFSET, OPT_LEN}, [SHM_CMD_WRITE] = {OPT_OFFSET, OPT_DATA},
    };
    for (int i = 0; need[o->cmd][i]; i++)
        if (!(seen & (1u << (need[o->cmd][i] - OPT_OFFSET))))
            return usage_error("'%s' needs %s", cmd_names[o->cmd], opt_name(need[o->cmd][i]));
    return 0;
}

int shm_parse_args(int argc, char **argv, struct shm_opts *o)
{
    *o = (struct shm_opts){0};
    cxl_opts_init(&o->shared);
    build_long_opts();
    uint32_t seen = 0;
    int rc = parse_pass(argc, argv, -1, o, &seen);
    if (rc)
        return rc;
    if (optind >= argc)
        return usage_error("missing subcommand (info, init, read or write)");
    int sub = optind, cmd = find_cmd(argv[sub]);
    if (cmd < 0)
        return usage_error("unknown subcommand '%s' (info, init, read or write)", argv[sub]);
    o->cmd = (enum shm_cmd)cmd;
    if ((rc = parse_pass(argc - sub, argv + sub, cmd, o, &seen)) != 0)
        return rc;
    if (sub + optind < argc)
        return usage_error("unexpected argument '%s' after '%s'", argv[sub + optind], cmd_names[cmd]);
    o->medium = o->shared.medium;
    o->format = o->shared.format;
    if (o->shared.sec.secure)
        o->format.flags |= cxl_cipher_layout_flags();
    /* Only init creates the medium (1 GiB unless told); the others map
     * whatever size it has. */
    if (o->cmd == SHM_CMD_INIT && !cxl_opts_given(&o->shared, CXL_OPT_MAP_SIZE))
        o->medium.map_size = CXL_DEFAULT_MAP_SIZE;
    return check_required(o, seen);
}

void shm_usage(FILE *f)
{
    fprintf(f,
"usage: cxl_shm [common flags] <subcommand> [subcommand flags] [common flags]\n"
"\n"
"Sanity tool for a cxl-dsm shared medium (docs/RING.md).\n"
"\n"
"subcommands:\n"
"  info                          header, server presence and every ring's state\n"
"  init [--rings N] [--slot-size B] [--secure]\n"
"                                format the medium (destroys its contents); creates\n"
"                                and sizes a regular file if needed; --secure: for\n"
"                                sealed messages (docs/SECURITY.md)\n"
"  write --offset O --data S     write the bytes of S at byte offset O of the mapping\n"
"                                (raw: no formatted layout needed)\n"
"  read --offset O --len N [--hex]\n"
"                                print N bytes at offset O: text with non-printable\n"
"                                bytes as \\xNN (and '\\' as \\\\), or hex lines\n"
"\n"
"common flags (before or after the subcommand):\n");
    cxl_opts_usage(f, medium_opts, N_OF(medium_opts));
    fprintf(f,
"  -h, --help            this text\n"
"init's format flags:\n");
    cxl_opts_usage(f, format_opts, N_OF(format_opts) - 1);
    fprintf(f,
"\n"
"--map-size: init's default is 1G; info, read and write map the whole medium\n"
"past --map-offset (0 means that too).\n"
"Sizes and offsets take K, M, G, T suffixes (powers of 1024) or 0x hex.\n"
"Flags are parsed in two passes with permutation disabled: common flags up to\n"
"the subcommand, then the subcommand's flags and common flags after it.\n"
"Exit status: 0 ok, 1 runtime error (medium, system), 2 usage error.\n");
}
