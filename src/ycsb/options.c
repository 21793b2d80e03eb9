/* options.c - cxl_ycsb's command line: YCSB's own flags (-load, -run, -db,
 * -P, -p, -threads, -target, -s) and, as the project's other tools, the
 * shared options table's (--path, --map-size, --ring, --sec-*) plus the
 * sockets' (--host, --port, --unix). Properties: -P files in order, then
 * every -p (YCSB: -p wins). Validated here with messages that name the
 * flag; the properties are validated by workload.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cxl/error.h"
#include "cxl/util.h"
#include "ycsb.h"
#include "net/pod_map.h"

static const char *const db_names[] = {"ring", "ring-crypto", "ring-secure", "tcp", "unix", "tls", "sodium", "cluster",
                                       NULL};

static const enum cxl_opt_id medium_opts[] = {
    CXL_OPT_PATH, CXL_OPT_MAP_SIZE, CXL_OPT_MAP_OFFSET, CXL_OPT_FOREIGN, CXL_OPT_RING,
    CXL_OPT_NODE_ID, CXL_OPT_TIMEOUT_MS, CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW,
};
static const enum cxl_opt_id sec_opts[] = {
    CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE,
};
static const enum cxl_opt_id env_opts[] = {
    CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW, CXL_OPT_SEC_MGR, CXL_OPT_SEC_NODE_ID, CXL_OPT_SEC_KEY, CXL_OPT_SEC_KEY_FILE,
    CXL_OPT_TLS_CA_FILE,
};
#define N_OF(a) (sizeof(a) / sizeof(a)[0])

static void usage(FILE *out)
{
    fprintf(out,
        "usage: cxl_ycsb -load|-run -db DB -P WORKLOAD [-p name=value ...] [-threads N]\n"
        "                [-target OPS] [-s] [connection options] [--csv FILE --label L]\n"
        "\n"
        "YCSB's CoreWorkload over Redis, one data model on every transport (docs/YCSB.md).\n"
        "  -load / -run (-t)     insert the records / run the operation mix\n"
        "  -db DB                ring, ring-crypto, ring-secure (a ring of the shared medium),\n"
        "                        tcp, unix, tls (Redis's sockets), sodium (the sodium tunnel's\n"
        "                        client end, by --host/--port), cluster (a Redis Cluster: --host/\n"
        "                        --port any node, --pod-map the nodes reached over rings)\n"
        "  -P FILE               a workload file (YCSB's properties); several: in order\n"
        "  -p NAME=VALUE         a property (wins over the files): recordcount, operationcount,\n"
        "                        fieldcount, fieldlength, readproportion ... (docs/YCSB.md), seed,\n"
        "                        deleteproportion (our extension), ycsb.strict, redis.model\n"
        "  -threads N            client threads, one connection or ring each (default 1)\n"
        "  -target OPS           operations per second over all threads (default: unthrottled)\n"
        "  -s                    a status line every 10 s on stderr (-p status.interval=S)\n"
        "sockets:\n"
        "  --host H --port P     tcp, tls, sodium (default 127.0.0.1:6379; or -p redis.host/port)\n"
        "  --unix PATH           unix (or -p redis.unix)\n"
        "  --user U --pass P     AUTH as Redis ACL user U (or -p redis.user/redis.password)\n"
        "  --tls-ca-file F       tls: the CA to trust (or CXL_TLS_CAFILE)\n"
        "  --pod-map FILE        cluster: the nodes of this pod and their media (or -p\n"
        "                        redis.podmap; lines: node HOST:PORT medium PATH [offset N]\n"
        "                        [ring R]); the others over TCP (docs/CLUSTER.md)\n"
        "medium and ring:\n");
    cxl_opts_usage(out, medium_opts, N_OF(medium_opts));
    fprintf(out, "security (ring-crypto: --sec-key-file; ring-secure: the manager's):\n");
    cxl_opts_usage(out, sec_opts, N_OF(sec_opts));
    fprintf(out,
        "output:\n"
        "  --csv FILE            append a row per phase (header when new)\n"
        "  --label L             the row's label (default: the -db name)\n"
        "  --quiet               no progress lines\n"
        "environment: CXL_SHM_DELAY_NS, CXL_SHM_DELAY_MODEL, CXL_SHM_DELAY_BW_GBPS,\n"
        "CXL_SEC_MGR, CXL_SEC_NODE_ID, CXL_SEC_KEY,\n"
        "CXL_SEC_KEY_FILE, CXL_TLS_CAFILE (flags win)\n"
        "exit: 0, 1 if an operation failed or a value read was wrong, 2 usage\n");
}

static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "cxl_ycsb: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see --help)\n");
    return YCSB_EXIT_USAGE;
}

/* --- YCSB's single-dash flags ------------------------------------------------------------- */

struct ycsb_args {
    const char *files[64];
    int nfiles;
    const char *props[256];
    int nprops;
    const char *threads, *target;
};

static const char *const ycsb_flags[] = {"-load", "-run", "-t", "-db", "-P", "-p", "-threads", "-target", "-s", NULL};

static int is_ycsb_flag(const char *a)
{
    for (int i = 0; ycsb_flags[i]; i++)
        if (strcmp(a, ycsb_flags[i]) == 0)
            return 1;
    return 0;
}

/* One of YCSB's flags at argv[*i] (its value, if any, consumed). */
static int take_ycsb_flag(int argc, char **argv, int *i, struct ycsb_opts *o, struct ycsb_args *a, int *phase)
{
    const char *f = argv[*i];
    if (!strcmp(f, "-load") || !strcmp(f, "-run") || !strcmp(f, "-t")) {
        int run = strcmp(f, "-load") != 0;
        if (*phase >= 0 && *phase != run)
            return usage_error("%s: give -load or -run, not both", f);
        *phase = run;
        return 0;
    }
    if (!strcmp(f, "-s")) {
        o->status = 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return usage_error("%s needs a value", f);
    const char *v = argv[++*i];
    if (!strcmp(f, "-db")) {
        int k = 0;
        while (db_names[k] && strcmp(db_names[k], v) != 0)
            k++;
        if (!db_names[k])
            return usage_error("-db: unknown '%s' (ring, ring-crypto, ring-secure, tcp, unix, tls, sodium, cluster)", v);
        o->db = (enum ycsb_transport)k, o->db_name = db_names[k];
    } else if (!strcmp(f, "-P")) {
        if (a->nfiles == (int)N_OF(a->files))
            return usage_error("%s: too many workload files", f);
        a->files[a->nfiles++] = v;
    } else if (!strcmp(f, "-p")) {
        if (a->nprops == (int)N_OF(a->props))
            return usage_error("%s: too many properties", f);
        a->props[a->nprops++] = v;
    } else if (!strcmp(f, "-threads")) {
        a->threads = v;
    } else {
        a->target = v;
    }
    return 0;
}

/* --- the double-dash flags: the options table and the sockets' ------------------------------ */

enum { O_HOST = 256, O_PORT, O_UNIX, O_USER, O_PASS, O_CSV, O_LABEL, O_QUIET, O_TLS_CA, O_POD_MAP };

struct sock_args {
    const char *host, *port, *unix_path, *user, *pass, *tls_ca, *pod_map;
};

static int parse_long(int argc, char **argv, struct ycsb_opts *o, struct sock_args *s)
{
    static const struct option own[] = {
        {"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT}, {"unix", 1, 0, O_UNIX}, {"user", 1, 0, O_USER},
        {"pass", 1, 0, O_PASS}, {"csv", 1, 0, O_CSV}, {"label", 1, 0, O_LABEL}, {"quiet", 0, 0, O_QUIET},
        {"tls-ca-file", 1, 0, O_TLS_CA}, {"pod-map", 1, 0, O_POD_MAP}, {"help", 0, 0, 'h'},
    };
    struct option longopts[N_OF(own) + N_OF(medium_opts) + N_OF(sec_opts) + 1] = {0};
    memcpy(longopts, own, sizeof own);
    cxl_opts_longopts(medium_opts, N_OF(medium_opts), longopts + N_OF(own));
    cxl_opts_longopts(sec_opts, N_OF(sec_opts), longopts + N_OF(own) + N_OF(medium_opts));
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        const char *arg = optarg;
        switch (c) {
        case 'h': usage(stdout); exit(YCSB_EXIT_OK);
        case '?':
        case ':': return usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
        case O_HOST: s->host = arg; break;
        case O_PORT: s->port = arg; break;
        case O_UNIX: s->unix_path = arg; break;
        case O_USER: s->user = arg; break;
        case O_PASS: s->pass = arg; break;
        case O_CSV: o->csv = arg; break;
        case O_LABEL: o->label = arg; break;
        case O_QUIET: o->quiet = 1; break;
        case O_TLS_CA: s->tls_ca = arg; break;
        case O_POD_MAP: s->pod_map = arg; break;
        default:
            if (cxl_opts_getopt(&o->shared, c, arg) != 0)
                return usage_error("%s", cxl_last_error());
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

/* --- the connection ---------------------------------------------------------------------------- */

static int is_ring(enum ycsb_transport db) { return db == DB_RING || db == DB_RING_CRYPTO || db == DB_RING_SECURE; }

static const char *or_prop(const char *flag, const struct ycsb_props *p, const char *name, const char *def)
{
    const char *v = flag ? flag : ycsb_props_get(p, name);
    return v ? v : def;
}

static int socket_addr(struct ycsb_opts *o, const struct sock_args *s)
{
    const char *host = or_prop(s->host, &o->props, "redis.host", "127.0.0.1");
    const char *port = or_prop(s->port, &o->props, "redis.port", "6379");
    const char *path = or_prop(s->unix_path, &o->props, "redis.unix", NULL);
    uint32_t p;
    if (cxl_parse_u32("--port", port, 1, 65535, &p) != 0)
        return usage_error("%s", cxl_last_error());
    if (o->db == DB_UNIX && !path)
        return usage_error("%s: give the socket with --unix PATH (or -p redis.unix=PATH)", "-db unix");
    if (o->db == DB_UNIX)
        snprintf(o->addr, sizeof o->addr, "unix:%s", path);
    else
        snprintf(o->addr, sizeof o->addr, "%s%s:%u", o->db == DB_TLS ? "tls:" : "", host, p);
    if (o->db == DB_CLUSTER) { /* the seed: any node, over TCP */
        o->conn.cluster_seed = o->addr;
        o->conn.pod_map = or_prop(s->pod_map, &o->props, "redis.podmap", NULL);
    } else {
        o->conn.addr = o->addr;
    }
    o->conn.tls_ca_file = s->tls_ca ? s->tls_ca : o->shared.tls_ca_file;
    o->conn.tls_ca_hint = "--tls-ca-file or CXL_TLS_CAFILE";
    return 0;
}

static int connection(struct ycsb_opts *o, const struct sock_args *s)
{
    const uint64_t medium_given = o->shared.given & ~o->shared.from_env & ~(1ull << CXL_OPT_DELAY_NS) &
                                  ~(1ull << CXL_OPT_DELAY_MODEL) & ~(1ull << CXL_OPT_DELAY_BW) &
                                  ~(1ull << CXL_OPT_TIMEOUT_MS);
    if (o->db != DB_CLUSTER && (s->pod_map || ycsb_props_get(&o->props, "redis.podmap")))
        return usage_error("%s: only for -db cluster", "--pod-map (redis.podmap)");
    if (o->db == DB_CLUSTER && s->unix_path)
        return usage_error("%s: the cluster's seed is --host/--port", "-db cluster");
    if (is_ring(o->db) && (s->host || s->port || s->unix_path))
        return usage_error("-db %s: --host/--port/--unix are for the sockets (tcp, unix, tls, sodium)", o->db_name);
    if (!is_ring(o->db) && medium_given)
        return usage_error("-db %s: the medium's and the keys' options are for the rings", o->db_name);
    if (o->db == DB_RING_CRYPTO && cxl_opts_set(&o->shared, CXL_OPT_CRYPTO, "-db ring-crypto", NULL) != 0)
        return usage_error("%s", cxl_last_error());
    if (o->db == DB_RING_SECURE && cxl_opts_set(&o->shared, CXL_OPT_SECURE, "-db ring-secure", NULL) != 0)
        return usage_error("%s", cxl_last_error());
    if (cxl_opts_finish(&o->shared) != 0)
        return usage_error("%s", cxl_last_error());
    cxl_kv_config_init(&o->conn.kv);
    cxl_opts_kv_config(&o->shared, &o->conn.kv);
    o->conn.kv.user = or_prop(s->user, &o->props, "redis.user", NULL);
    o->conn.kv.password = or_prop(s->pass, &o->props, "redis.password", NULL);
    if (o->conn.kv.user && !o->conn.kv.password)
        return usage_error("%s needs --pass (or -p redis.password)", "--user");
    cxl_opts_spin_for_threads(&o->conn.kv, o->threads, o->db == DB_CLUSTER ? cxl_pod_map_count(o->conn.pod_map) : 1);
    return is_ring(o->db) ? 0 : socket_addr(o, s);
}

/* --- all of it -------------------------------------------------------------------------------- */

static int load_properties(struct ycsb_opts *o, const struct ycsb_args *a)
{
    for (int i = 0; i < a->nfiles; i++)
        if (ycsb_props_load_file(&o->props, a->files[i]) != 0)
            return usage_error("%s", cxl_last_error());
    for (int i = 0; i < a->nprops; i++)
        if (ycsb_props_set_arg(&o->props, a->props[i]) != 0)
            return usage_error("%s", cxl_last_error());
    if (a->nfiles) {
        const char *slash = strrchr(a->files[a->nfiles - 1], '/');
        o->workload_name = slash ? slash + 1 : a->files[a->nfiles - 1];
    }
    return 0;
}

static int threads_and_target(struct ycsb_opts *o, const struct ycsb_args *a)
{
    int64_t threads, target, interval;
    if (a->threads && ycsb_props_set(&o->props, "threadcount", a->threads, "-threads") != 0)
        return usage_error("%s", cxl_last_error());
    if (a->target && ycsb_props_set(&o->props, "target", a->target, "-target") != 0)
        return usage_error("%s", cxl_last_error());
    if (ycsb_props_i64(&o->props, "threadcount", 1, 1, YCSB_MAX_THREADS, &threads) != 0 ||
        ycsb_props_i64(&o->props, "target", 0, 0, 1000000000, &target) != 0 ||
        ycsb_props_i64(&o->props, "status.interval", 10, 1, 86400, &interval) != 0)
        return usage_error("%s", cxl_last_error());
    o->status_ms = (uint64_t)interval * 1000;
    o->threads = (uint32_t)threads;
    o->target = (double)target;
    return 0;
}

extern char **environ;

int ycsb_options_parse(int argc, char **argv, struct ycsb_opts *o)
{
    struct ycsb_args a = {0};
    struct sock_args s = {0};
    int phase = -1, rc = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    *o = (struct ycsb_opts){.db = -1, .workload_name = "custom"};
    ycsb_props_init(&o->props);
    cxl_opts_init(&o->shared);
    if (!rest)
        return usage_error("%s", "out of memory");
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "-help") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(rest);
            exit(YCSB_EXIT_OK);
        }
        if (is_ycsb_flag(argv[i])) {
            if ((rc = take_ycsb_flag(argc, argv, &i, o, &a, &phase)) != 0)
                break;
        } else if (!strncmp(argv[i], "--", 2)) {
            rest[nrest++] = argv[i]; /* with its value, if separate: getopt sorts it out */
            if (!strchr(argv[i], '=') && i + 1 < argc && strncmp(argv[i + 1], "-", 1) != 0)
                rest[nrest++] = argv[++i];
        } else {
            rc = usage_error("unknown argument '%s'", argv[i]);
            break;
        }
        rc = 0;
    }
    if (rc == 0)
        rc = parse_long(nrest, rest, o, &s);
    free(rest);
    if (rc)
        return rc;
    if (phase < 0)
        return usage_error("%s", "give -load (insert the records) or -run (the operations)");
    if ((int)o->db < 0)
        return usage_error("%s", "give -db ring|ring-crypto|ring-secure|tcp|unix|tls|sodium|cluster");
    if (a.nfiles == 0 && a.nprops == 0)
        return usage_error("%s", "give a workload: -P workloads/workloada (and/or -p name=value)");
    o->run = phase;
    if ((rc = load_properties(o, &a)) || (rc = threads_and_target(o, &a)))
        return rc;
    if (cxl_opts_env(&o->shared, env_opts, N_OF(env_opts), environ) != 0)
        return usage_error("%s", cxl_last_error());
    return connection(o, &s);
}

void ycsb_options_free(struct ycsb_opts *o)
{
    ycsb_props_free(&o->props);
}
