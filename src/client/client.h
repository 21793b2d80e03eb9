/* client.h - cxl_ring_direct: a one-shot Redis client over the ring
 * (oneshot.c) and its benchmark (bench.c, report.c), configured by
 * options.c. The ring protocol itself lives in libcxldsm (cxl/kv.h). */
#ifndef CXL_CLIENT_H
#define CXL_CLIENT_H

#include <stdint.h>

#include "config/options.h"
#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "net/kv_any.h"
#include "report/latency.h"

#define CLIENT_EXIT_OK 0
#define CLIENT_EXIT_FAIL 1
#define CLIENT_EXIT_USAGE 2
#define MAX_THREADS 256
#define MAX_OPS 16

enum bench_op { OP_SET, OP_GET, OP_DEL, OP_INCR, OP_PING, OP_CMD_SET, OP_CMD_GET, OP_COUNT };

struct client_opts {
    struct cxl_kv_config kv;
    struct cxl_shared_opts shared; /* the shared options (config/options.h) as given */
    struct cxl_sec_opts sec; /* kv.keys is opened from these in main */
    /* one-shot */
    int argc;
    char **argv;
    int raw; /* -1: raw when stdout is not a terminal (like redis-cli) */
    /* benchmark */
    uint64_t bench;       /* requests per thread per op; 0 = one-shot */
    int pipeline;
    uint32_t threads;
    uint32_t max_inflight;
    int latency, cost;
    const char *csv;
    const char *label;
    uint32_t key_size, val_size;
    const char *key_prefix;
    const char *via;         /* benchmark a RESP socket instead of the ring */
    const char *tls_ca_file; /* --via tls:...: the CA to trust (CXL_TLS_CAFILE) */
    const char *compare_csv; /* also append rows in the compare matrix format */
    const char *cluster;     /* a Redis Cluster's seed node HOST:PORT (net/kv_cluster.h) */
    const char *pod_map;     /* with cluster: the pod map file */
    uint64_t keyspace;    /* 0: bench x threads */
    enum bench_op ops[MAX_OPS];
    uint32_t nops;
    int quiet;
};

int options_parse(int argc, char **argv, struct client_opts *o);

/* transport.c: a benchmark thread's ring or socket (net/kv_any.h) */
int transport_open(const struct client_opts *o, uint32_t thread, struct cxl_kv_any **out);
const char *bench_op_name(enum bench_op op);

int oneshot_run(const struct client_opts *o);
int bench_run(const struct client_opts *o);

/* report.c: one phase's figures, printed and appended to the CSV */
struct phase_result {
    enum bench_op op;
    uint64_t requests, errors;
    double seconds;
    struct cxl_hist *hist; /* NULL without --latency */
    uint64_t push_retries, waited_ns, sleeps, lost, timeouts;
    uint32_t rings;
};
void report_phase(const struct client_opts *o, const struct phase_result *p);
int report_csv(const struct client_opts *o, const struct phase_result *p);

#endif
