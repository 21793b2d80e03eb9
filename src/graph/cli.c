/* cli.c - GAPBS's command line: the kernel as the first argument or from the
 * program's name (bfs, bfs-ring, bfs-ring-secure ...), then its one-letter
 * flags -f -s -g -u -k -m -a -n -r -v -l -i -t -d (and the converter's
 * -b FILE, serialized output, and -w, keep the weights). Every bad value names its flag. */
#include "graph.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kernels[] = {"bfs", "sssp", "pr", "pr_spmv", "cc", "cc_sv",
                                      "bc", "tc", "convert", NULL};

static int known_kernel(const char *k, size_t len)
{
    for (int i = 0; kernels[i]; i++)
        if (strlen(kernels[i]) == len && strncmp(kernels[i], k, len) == 0)
            return 1;
    return 0;
}

static int parse_int(const char *s, char flag, long long lo, long long hi, long long *out,
                     char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        snprintf(err, errlen, "-%c: '%s' is not a whole number in %lld..%lld", flag, s, lo, hi);
        return -1;
    }
    *out = v;
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

static void usage(void)
{
    printf("cxl_graph KERNEL [-f FILE | -g SCALE | -u SCALE] [-k DEGREE] [-s] [-m] [-a]\n"
           "          [-n TRIALS] [-r SOURCE] [-v] [-l] [-i ITERS] [-t TOL] [-d DELTA] [-b OUT.sg]\n"
           " -f FILE   read the graph (.el .wel .sg .wsg)\n"
           " -s        symmetrize a graph read from an edge list\n"
           " -g SCALE  Kronecker graph of 2^SCALE nodes;  -u SCALE  uniform random graph\n"
           " -k DEG    average degree of a generated graph (default 16)\n"
           " -n N      trials (default 16);  -r NODE  start every trial from NODE\n"
           " -v        verify each trial;  -l  log each step;  -a  analysis of the first trial\n"
           " -m        reduce memory (accepted);  -i -t -d  kernel parameters\n"
           " -b FILE   (convert) write the graph as .sg (.wsg with -w or that suffix)\n");
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
        if (end == arg || *end || !(c->tolerance > 0)) {
            snprintf(err, errlen, "-t: '%s' is not a positive number", arg);
            return -1;
        }
        return 0;
    }
    default:
        snprintf(err, errlen, "unknown flag (see -h)");
        return -1;
    }
}

int graph_cli_parse(struct graph_cli *c, int argc, char **argv, char *err, size_t errlen)
{
    *c = (struct graph_cli){.scale = -1, .degree = 16, .trials = 16, .source = -1,
                            .iters = 0, .tolerance = 1e-4, .delta = 1};
    int shift = pick_kernel(c, argc, argv, err, errlen);
    if (shift < 0)
        return -1;
    int opt;
    opterr = 0;
    optind = 1 + shift;
    while ((opt = getopt(argc, argv, ":hf:b:wsg:u:k:n:r:vlami:t:d:")) != -1) {
        if (opt == 'h') {
            usage();
            return 1;
        }
        if (opt == ':' || opt == '?') {
            snprintf(err, errlen, opt == ':' ? "-%c needs a value" : "unknown flag -%c (see -h)",
                     optopt);
            return -1;
        }
        if (parse_flag(c, opt, optarg, err, errlen) != 0)
            return -1;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!c->file == (c->scale < 0)) {
        snprintf(err, errlen, "give one graph: -f FILE, -g SCALE or -u SCALE");
        return -1;
    }
    return 0;
}
