/* cli.c - GAPBS's command line: the kernel as the first argument or from the
 * program's name (bfs, bfs-ring, bfs-ring-crypto, bfs-ring-secure ...), then
 * its one-letter flags -f -s -g -u -k -m -a -n -r -v -l -i -t -d (and the
 * converter's -b FILE, serialized output, and -w, keep the weights); our own
 * long options for the shared medium and the CSV (docs/GRAPH.md), the
 * medium's and security's from the options table; the original prototype's
 * variables as defaults (graph_cli_env). Every bad value names its flag. */
#include "graph.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cxl/error.h"

static const char *const kernels[] = {"bfs", "sssp", "pr", "pr_spmv", "cc", "cc_sv",
                                      "bc", "tc", "convert", NULL};

static int known_kernel(const char *k, size_t len)
{
    for (int i = 0; kernels[i]; i++)
        if (strlen(kernels[i]) == len && strncmp(kernels[i], k, len) == 0)
            return 1;
    return 0;
}

static int parse_num(const char *s, const char *flag, long long lo, long long hi, long long *out,
                     char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        snprintf(err, errlen, "%s: '%s' is not a whole number in %lld..%lld", flag, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *s, char flag, long long lo, long long hi, long long *out,
                     char *err, size_t errlen)
{
    char name[3] = {'-', flag, 0};
    return parse_num(s, name, lo, hi, out, err, errlen);
}

static int parse_mode(const char *s, const char *flag, enum graph_mode *m, char *err, size_t errlen)
{
    static const char *const names[] = {"native", "publish", "attach", "auto"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *m = (enum graph_mode)i;
            return 0;
        }
    snprintf(err, errlen, "%s: '%s' is not native, publish, attach or auto", flag, s);
    return -1;
}

static int parse_switch(const char *s, const char *flag, int *out, char *err, size_t errlen)
{
    long long v;
    if (parse_num(s, flag, 0, 1, &v, err, errlen) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* The kernel and mode from argv[0]'s base name or argv[1]; 1 when argv[1] was used. */
static int pick_kernel(struct graph_cli *c, int argc, char **argv, char *err, size_t errlen)
{
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    size_t len = strcspn(base, "-");
    if (known_kernel(base, len)) {
        static char k[16];
        snprintf(k, sizeof(k), "%.*s", (int)len, base);
        c->kernel = k;
        c->mode = base[len] ? base + len + 1 : "";
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-' || !known_kernel(argv[1], strlen(argv[1]))) {
        snprintf(err, errlen, "the first argument must be a kernel (bfs sssp pr pr_spmv cc "
                              "cc_sv bc tc convert), got '%s'", argc < 2 ? "" : argv[1]);
        return -1;
    }
    c->kernel = argv[1];
    c->mode = "";
    return 1;
}

static const enum cxl_opt_id shared_ids[] = {
    CXL_OPT_PATH, CXL_OPT_MAP_SIZE, CXL_OPT_MAP_OFFSET, CXL_OPT_NUMA_NODE, CXL_OPT_PREFAULT,
    CXL_OPT_FOREIGN, CXL_OPT_NODE_ID, CXL_OPT_DELAY_NS, CXL_OPT_SECURE, CXL_OPT_CRYPTO,
    CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE, CXL_OPT_FABRIC,
};
#define N_SHARED (sizeof shared_ids / sizeof shared_ids[0])

enum long_opt {
    OPT_CXL_MODE = 0x100, OPT_PUBLISH_ONLY, OPT_ATTACH_TIMEOUT, OPT_PRETOUCH, OPT_ZERO_COPY, OPT_COPY,
    OPT_EXPECT_GEN, OPT_EXPECT_PUB, OPT_REGION, OPT_CSV, OPT_LABEL, OPT_HOST, OPT_VM,
};

static const struct option own_longopts[] = {
    {"cxl-mode", required_argument, NULL, OPT_CXL_MODE},
    {"publish-only", no_argument, NULL, OPT_PUBLISH_ONLY},
    {"attach-timeout-ms", required_argument, NULL, OPT_ATTACH_TIMEOUT},
    {"pretouch", no_argument, NULL, OPT_PRETOUCH},
    {"zero-copy", no_argument, NULL, OPT_ZERO_COPY},
    {"copy", no_argument, NULL, OPT_COPY},
    {"expect-generation", required_argument, NULL, OPT_EXPECT_GEN},
    {"expect-publication", required_argument, NULL, OPT_EXPECT_PUB},
    {"region", required_argument, NULL, OPT_REGION},
    {"csv", required_argument, NULL, OPT_CSV},
    {"label", required_argument, NULL, OPT_LABEL},
    {"host", required_argument, NULL, OPT_HOST},
    {"vm", required_argument, NULL, OPT_VM},
    {"help", no_argument, NULL, 'h'},
};
#define N_OWN (sizeof own_longopts / sizeof own_longopts[0])

static void usage(void)
{
    printf("cxl_graph KERNEL [-f FILE | -g SCALE | -u SCALE] [-k DEGREE] [-s] [-m] [-a]\n"
           "          [-n TRIALS] [-r SOURCE] [-v] [-l] [-i ITERS] [-t TOL] [-d DELTA] [-b OUT.sg]\n"
           " -f FILE   read the graph (.el .wel .sg .wsg)\n"
           " -s        symmetrize a graph read from an edge list\n"
           " -g SCALE  Kronecker graph of 2^SCALE nodes;  -u SCALE  uniform random graph\n"
           " -k DEG    average degree of a generated graph (default 16)\n"
           " -n N      trials (default 16);  -r NODE  start every trial from NODE\n"
           " -v        verify each trial;  -l  log each step;  -a  analysis of the last trial\n"
           " -m        reduce memory (accepted);  -i -t -d  kernel parameters\n"
           " -b FILE   (convert) write the graph as .sg (.wsg with -w or that suffix)\n"
           "The shared medium (docs/GRAPH.md):\n"
           " --cxl-mode M          native (default), publish, attach, or auto (one of the\n"
           "                       starters publishes, the others attach); GAPBS_CXL_MODE\n"
           " --publish-only        publish the graph and exit; GAPBS_CXL_PUBLISH_ONLY\n"
           " --attach-timeout-ms T wait for a publication at most T ms (default 60000)\n"
           " --pretouch            fault the region's pages in after attaching\n"
           " --zero-copy | --copy  run on the neighbours in the medium (plain default) or a\n"
           "                       private copy (always with --crypto / --secure)\n"
           " --expect-generation G refuse any other generation (even, >= 2)\n"
           " --expect-publication ID  refuse any other publication (its 32 hex digits, printed\n"
           "                       on attach): a replayed older one\n"
           " --region NAME         --secure: the manager's region of the graph (default graph)\n"
           " --csv FILE --label L --host H --vm V   append one row per run (docs/GRAPH.md)\n");
    cxl_opts_usage(stdout, shared_ids, sizeof shared_ids / sizeof shared_ids[0]);
    printf("Variables: GAPBS_CXL_MODE GAPBS_CXL_PATH GAPBS_CXL_MAP_SIZE GAPBS_CXL_MAP_OFFSET\n"
           "GAPBS_CXL_PUBLISH_ONLY GAPBS_CXL_ATTACH_TIMEOUT_MS GAPBS_CXL_PRETOUCH CXL_SHM_DELAY_NS\n"
           "CXL_SEC_MGR CXL_SEC_NODE_ID CXL_SEC_KEY CXL_SEC_KEY_FILE (flags win).\n");
}

static int parse_long(struct graph_cli *c, int opt, const char *arg, char *err, size_t errlen)
{
    long long v = 0;
    switch (opt) {
    case OPT_CXL_MODE: c->mode_given = 1; return parse_mode(arg, "--cxl-mode", &c->cxl_mode, err, errlen);
    case OPT_PUBLISH_ONLY: c->publish_only = 1; return 0;
    case OPT_PRETOUCH: c->pretouch = 1; return 0;
    case OPT_ZERO_COPY: c->zero_copy = 1, c->zero_copy_given = 1; return 0;
    case OPT_COPY: c->zero_copy = 0, c->copy_given = 1; return 0;
    case OPT_EXPECT_PUB:
        c->expect_publication_given = 1;
        if (strlen(arg) == 32 && sodium_hex2bin(c->expect_publication, 16, arg, 32, NULL, NULL, NULL) == 0)
            return 0;
        snprintf(err, errlen, "--expect-publication: '%s' is not 32 hex digits", arg);
        return -1;
    case OPT_ATTACH_TIMEOUT:
        c->timeout_given = 1;
        return parse_num(arg, "--attach-timeout-ms", 0, UINT32_MAX, &v, err, errlen) ? -1
               : (c->attach_timeout_ms = (uint32_t)v, 0);
    case OPT_EXPECT_GEN:
        if (parse_num(arg, "--expect-generation", 2, INT64_MAX, &v, err, errlen) != 0)
            return -1;
        if (v % 2) {
            snprintf(err, errlen, "--expect-generation: %lld is odd; a published graph's generation is even", v);
            return -1;
        }
        c->expect_generation = (uint64_t)v;
        return 0;
    case OPT_REGION:
        c->region_given = 1;
        if (strlen(arg) >= 1 && strlen(arg) <= 23) {
            c->region = arg;
            return 0;
        }
        snprintf(err, errlen, "--region: '%s' must be 1 to 23 characters", arg);
        return -1;
    case OPT_CSV: c->csv = arg; return 0;
    case OPT_LABEL: c->label = arg; return 0;
    case OPT_HOST: c->host = arg; return 0;
    case OPT_VM: c->vm = arg; return 0;
    }
    int rc = cxl_opts_getopt(&c->shared, opt, arg);
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "%s", rc < 0 ? cxl_last_error() : "unknown flag (see -h)");
    return -1;
}

static int parse_flag(struct graph_cli *c, int opt, const char *arg, char *err, size_t errlen)
{
    long long v = 0;
    switch (opt) {
    case 'f': c->file = arg; return 0;
    case 'b': c->out_sg = arg; return 0;
    case 's': c->symmetrize = 1; return 0;
    case 'v': c->verify = 1; return 0;
    case 'l': c->logging = 1; return 0;
    case 'a': c->analysis = 1; return 0;
    case 'm': c->reduce_mem = 1; return 0;
    case 'w': c->weighted_out = 1; return 0;
    case 'g': case 'u':
        c->uniform = opt == 'u';
        return parse_int(arg, (char)opt, 1, 30, &v, err, errlen) ? -1 : (c->scale = (int)v, 0);
    case 'k': return parse_int(arg, 'k', 1, 1 << 20, &v, err, errlen) ? -1 : (c->degree = (int)v, 0);
    case 'n': return parse_int(arg, 'n', 1, 1 << 20, &v, err, errlen) ? -1 : (c->trials = (int)v, 0);
    case 'r': return parse_int(arg, 'r', 0, INT32_MAX - 1, &v, err, errlen) ? -1 : (c->source = v, 0);
    case 'i': return parse_int(arg, 'i', 1, 1 << 20, &v, err, errlen) ? -1 : (c->iters = (int)v, 0);
    case 'd': return parse_int(arg, 'd', 1, INT32_MAX, &v, err, errlen) ? -1 : (c->delta = (int)v, 0);
    case 't': {
        char *end;
        c->tolerance = strtod(arg, &end);
        if (end == arg || *end || !(c->tolerance > 0) || !isfinite(c->tolerance)) {
            snprintf(err, errlen, "-t: '%s' is not a positive finite number", arg);
            return -1;
        }
        return 0;
    }
    default:
        return parse_long(c, opt, arg, err, errlen);
    }
}

/* The mode the program's name asks for: bfs-ring (plain), -ring-crypto, -ring-secure. */
static int mode_from_name(struct graph_cli *c, char *err, size_t errlen)
{
    if (!c->mode[0])
        return 0;
    if (strcmp(c->mode, "ring") != 0 && strcmp(c->mode, "ring-crypto") != 0 && strcmp(c->mode, "ring-secure") != 0) {
        snprintf(err, errlen, "mode '%s' in the program's name: expected ring, ring-crypto or ring-secure", c->mode);
        return -1;
    }
    c->cxl_mode = GRAPH_AUTO;
    if (strcmp(c->mode, "ring-crypto") == 0)
        cxl_opts_set(&c->shared, CXL_OPT_CRYPTO, "the program's name", NULL);
    else if (strcmp(c->mode, "ring-secure") == 0)
        cxl_opts_set(&c->shared, CXL_OPT_SECURE, "the program's name", NULL);
    return 0;
}

static void init_cli(struct graph_cli *c)
{
    *c = (struct graph_cli){.scale = -1, .degree = 16, .trials = 16, .source = -1,
                            .iters = 0, .tolerance = 1e-4, .delta = 1,
                            .cxl_mode = GRAPH_NATIVE, .zero_copy = -1, .attach_timeout_ms = 60000,
                            .region = "graph", .label = "", .host = "", .vm = ""};
    cxl_opts_init(&c->shared);
    c->shared.medium.path = "/dev/shm/cxl_graph.raw";
}

static int parse_args(struct graph_cli *c, int argc, char **argv, int shift, char *err, size_t errlen)
{
    struct option longopts[N_OWN + N_SHARED + 1];
    memcpy(longopts, own_longopts, sizeof own_longopts);
    cxl_opts_longopts(shared_ids, N_SHARED, longopts + N_OWN);
    memset(&longopts[N_OWN + N_SHARED], 0, sizeof longopts[0]);
    int opt;
    opterr = 0;
    optind = 1 + shift;
    while ((opt = getopt_long(argc, argv, ":hf:b:wsg:u:k:n:r:vlami:t:d:", longopts, NULL)) != -1) {
        if (opt == 'h') {
            usage();
            return 1;
        }
        if (opt == ':' || opt == '?') {
            const char *arg = argv[optind - 1];
            if (optopt)
                snprintf(err, errlen, opt == ':' ? "-%c needs a value" : "unknown flag -%c (see -h)", optopt);
            else
                snprintf(err, errlen, opt == ':' ? "%s needs a value" : "unknown flag %s (see -h)", arg);
            return -1;
        }
        if (parse_flag(c, opt, optarg, err, errlen) != 0)
            return -1;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

/* The first flag given that only a mode with the medium takes, or NULL. */
static const char *medium_only_flag(const struct graph_cli *c)
{
    return c->publish_only ? "--publish-only" : c->pretouch ? "--pretouch"
           : c->zero_copy_given ? "--zero-copy" : c->copy_given ? "--copy"
           : c->expect_generation ? "--expect-generation" : c->expect_publication_given ? "--expect-publication"
           : c->timeout_given ? "--attach-timeout-ms" : c->region_given ? "--region"
           : c->shared.delay.latency_ns ? "--delay-ns (or CXL_SHM_DELAY_NS)"
           : c->shared.fabric ? "--fabric (or CXL_FABRIC)" : NULL;
}

/* What the options mean together. */
static int check_cli(struct graph_cli *c, char *err, size_t errlen)
{
    const char *flag;
    int sealed = c->shared.sec.crypto || c->shared.sec.secure;
    if (sealed && c->cxl_mode == GRAPH_NATIVE)
        c->cxl_mode = GRAPH_AUTO; /* --crypto / --secure name a shared graph */
    if (c->cxl_mode == GRAPH_NATIVE) { /* variables are defaults for the modes with a medium, flags are asked */
        c->publish_only = c->publish_only_env ? 0 : c->publish_only;
        c->pretouch = c->pretouch_env ? 0 : c->pretouch;
        if ((c->shared.from_env >> CXL_OPT_DELAY_NS) & 1u)
            c->shared.delay.latency_ns = 0;
    }
    if (cxl_opts_finish(&c->shared) != 0) {
        snprintf(err, errlen, "%s", cxl_last_error());
        return -1;
    }
    if (c->cxl_mode == GRAPH_NATIVE && (flag = medium_only_flag(c))) {
        snprintf(err, errlen, "%s: Native mode has no medium (--cxl-mode publish, attach or auto)", flag);
        return -1;
    }
    if (c->copy_given && c->zero_copy_given) {
        snprintf(err, errlen, "--copy and --zero-copy: choose one");
        return -1;
    }
    if (c->cxl_mode == GRAPH_PUBLISH && c->publish_only &&
        (c->expect_generation || c->expect_publication_given)) {
        snprintf(err, errlen, "--expect-generation / --expect-publication: a publisher with --publish-only "
                              "attaches nothing");
        return -1;
    }
    if (c->zero_copy == 1 && sealed) {
        snprintf(err, errlen, "--zero-copy: a sealed graph (--crypto / --secure) is opened into private memory");
        return -1;
    }
    if (c->publish_only && c->cxl_mode == GRAPH_ATTACH) {
        snprintf(err, errlen, "--publish-only with --cxl-mode attach: nothing to do");
        return -1;
    }
    if (c->cxl_mode == GRAPH_ATTACH ? (c->file && c->scale >= 0) : !c->file == (c->scale < 0)) {
        snprintf(err, errlen, c->cxl_mode == GRAPH_ATTACH ? "give at most one graph: -f FILE, -g SCALE or -u SCALE"
                                                          : "give one graph: -f FILE, -g SCALE or -u SCALE");
        return -1;
    }
    if (strcmp(c->kernel, "convert") == 0 && c->cxl_mode != GRAPH_NATIVE) {
        snprintf(err, errlen, "convert works on a private graph (no --cxl-mode)");
        return -1;
    }
    return 0;
}


const char *graph_mode_label(const struct graph_cli *c)
{
    if (c->cxl_mode == GRAPH_NATIVE)
        return "Native";
    return c->shared.sec.secure ? "Secure" : c->shared.sec.crypto ? "Crypto" : "MultihostRing";
}

/* --- the original prototype's variables, as defaults */

static const char *env_get(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=' && envp[i][len + 1])
            return envp[i] + len + 1;
    return NULL;
}

static int env_shared(struct graph_cli *c, char *const *envp, const char *name, enum cxl_opt_id id)
{
    const char *v = env_get(envp, name);
    if (!v || cxl_opts_given(&c->shared, id))
        return 0;
    return cxl_opts_set(&c->shared, id, name, v) == 0 ? 0 : -1;
}

static int apply_env(struct graph_cli *c, char *const *envp, char *err, size_t errlen)
{
    static const enum cxl_opt_id sec_ids[] = {CXL_OPT_DELAY_NS, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID,
                                              CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE};
    const char *v;
    long long n;
    int rc = env_shared(c, envp, "GAPBS_CXL_PATH", CXL_OPT_PATH) |
             env_shared(c, envp, "GAPBS_CXL_MAP_SIZE", CXL_OPT_MAP_SIZE) |
             env_shared(c, envp, "GAPBS_CXL_MAP_OFFSET", CXL_OPT_MAP_OFFSET);
    if (rc == 0 && cxl_opts_env(&c->shared, sec_ids, sizeof sec_ids / sizeof sec_ids[0], envp) != 0)
        rc = -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s", cxl_last_error());
        return -1;
    }
    if ((v = env_get(envp, "GAPBS_CXL_MODE")) && !c->mode_given &&
        parse_mode(v, "GAPBS_CXL_MODE", &c->cxl_mode, err, errlen) != 0)
        return -1;
    if ((v = env_get(envp, "GAPBS_CXL_PUBLISH_ONLY")) && !c->publish_only) {
        if (parse_switch(v, "GAPBS_CXL_PUBLISH_ONLY", &c->publish_only, err, errlen) != 0)
            return -1;
        c->publish_only_env = c->publish_only;
    }
    if ((v = env_get(envp, "GAPBS_CXL_PRETOUCH")) && !c->pretouch) {
        if (parse_switch(v, "GAPBS_CXL_PRETOUCH", &c->pretouch, err, errlen) != 0)
            return -1;
        c->pretouch_env = c->pretouch;
    }
    if ((v = env_get(envp, "GAPBS_CXL_ATTACH_TIMEOUT_MS")) && !c->timeout_given) {
        if (parse_num(v, "GAPBS_CXL_ATTACH_TIMEOUT_MS", 0, UINT32_MAX, &n, err, errlen) != 0)
            return -1;
        c->attach_timeout_ms = (uint32_t)n;
    }
    return 0;
}

int graph_cli_parse(struct graph_cli *c, int argc, char **argv, char *const *envp, char *err, size_t errlen)
{
    init_cli(c);
    int shift = pick_kernel(c, argc, argv, err, errlen);
    if (shift < 0 || mode_from_name(c, err, errlen) != 0)
        return -1;
    int rc = parse_args(c, argc, argv, shift, err, errlen);
    if (rc == 0)
        rc = apply_env(c, envp, err, errlen);
    return rc != 0 ? rc : check_cli(c, err, errlen);
}
