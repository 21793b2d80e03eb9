/* ycsb.h - what the files of cxl_ycsb share (docs/YCSB.md): the options,
 * the workload (YCSB's CoreWorkload: its properties, generators and shared
 * counters), the data model's operations, the measurements and the run.
 *
 *   options.c   the command line (YCSB's flags and the options table's)
 *   workload.c  CoreWorkload: properties, keys, values, the operation mix
 *   db.c        the data model (YCSB's Redis binding) as commands over
 *               net/kv_any.h, and the check of every value read
 *   measure.c   latencies and returns per operation type, the status line
 *   report.c    YCSB's output and the CSV row
 *   run.c       the threads: load and run phases, pacing, reconnects
 *   gen.c, props.c (gen.h, props.h) YCSB's generators and properties */
#ifndef CXL_YCSB_H
#define CXL_YCSB_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/options.h"
#include "gen.h"
#include "net/kv_any.h"
#include "props.h"
#include "report/latency.h"

#define YCSB_EXIT_OK 0
#define YCSB_EXIT_FAIL 1  /* an operation failed or a value read was wrong */
#define YCSB_EXIT_USAGE 2
#define YCSB_MAX_THREADS 256
#define YCSB_MAX_FIELDS 1024
#define YCSB_MAX_SCAN 100000
#define YCSB_KEY_MAX 64      /* "user" + up to 20 digits of padding ... */

/* --- options (options.c) ------------------------------------------------------ */
enum ycsb_transport { DB_RING, DB_RING_CRYPTO, DB_RING_SECURE, DB_TCP, DB_UNIX, DB_TLS, DB_SODIUM, DB_CLUSTER };

struct ycsb_opts {
    int run;                     /* 0: -load, 1: -run */
    enum ycsb_transport db;
    const char *db_name;
    uint32_t threads;
    double target;               /* ops/s over all threads; 0: as fast as possible */
    int status;                  /* -s */
    uint64_t status_ms;          /* status.interval (s), default 10 */
    struct ycsb_props props;
    const char *workload_name;   /* basename of the last -P (or "custom") */
    const char *command_line;    /* as given, for the report's header */
    struct cxl_shared_opts shared;
    struct cxl_kv_any_config conn; /* kv from the shared options; addr for sockets */
    char addr[300];
    const char *csv, *label;
    int quiet;                   /* no progress lines */
};

int ycsb_options_parse(int argc, char **argv, struct ycsb_opts *o);
void ycsb_options_free(struct ycsb_opts *o);

/* --- the workload (workload.c) ------------------------------------------------ */
enum ycsb_op { OP_READ, OP_UPDATE, OP_INSERT, OP_SCAN, OP_RMW, OP_DELETE, OP_VERIFY, OP_TYPES };
#define OP_MIX OP_VERIFY /* the operations a run draws: READ .. DELETE */

enum ycsb_return { RET_OK, RET_NOT_FOUND, RET_ERROR, RET_UNEXPECTED, RET_TYPES };

enum ycsb_model { MODEL_HASH, MODEL_STRING };

struct ycsb_workload {
    /* YCSB's properties */
    int64_t recordcount, operationcount, insertstart, insertcount, maxexecutiontime;
    int64_t fieldcount, fieldlength, minscanlength, maxscanlength;
    double proportion[OP_MIX];  /* the mix after ycsb.strict */
    int readallfields, writeallfields, dataintegrity, ordered, strict;
    int batch;                  /* ycsb.batch: an operation's commands in one round trip */
    int64_t zeropadding;
    enum ycsb_model model;
    uint64_t seed;
    const char *request_dist;
    /* generators every thread copies */
    struct ycsb_gen key_chooser, field_chooser, scan_length, field_length;
    /* shared by the threads */
    struct ycsb_counter load_keys;    /* the load's key numbers (insertstart on) */
    struct ycsb_acked insert_keys;    /* the run's inserts (recordcount on) */
    struct ycsb_counter sequence;     /* requestdistribution=sequential */
    _Atomic uint8_t *deleted;         /* deleteproportion > 0: a flag per key number */
    int64_t deleted_cap;
};

/* Properties -> workload (validated; a message naming the property). */
int ycsb_workload_init(struct ycsb_workload *w, const struct ycsb_props *p, int run);
void ycsb_workload_free(struct ycsb_workload *w);
/* "operations: read 0.5 update 0.5" (the effective mix) into buf */
void ycsb_workload_mix(const struct ycsb_workload *w, char *buf, size_t cap);
const char *ycsb_op_name(enum ycsb_op op);       /* "READ", "READ-MODIFY-WRITE" ... */
const char *ycsb_op_column(enum ycsb_op op);     /* "read", "rmw" ... */
const char *ycsb_return_name(enum ycsb_return r); /* "OK", "UNEXPECTED_STATE" ... */

/* A thread's own copy of the generators and buffers. */
struct ycsb_thread_state {
    struct ycsb_rng rng;
    struct ycsb_gen key_chooser, field_chooser, scan_length, field_length;
};
void ycsb_thread_state_init(const struct ycsb_workload *w, uint32_t thread, struct ycsb_thread_state *t);

/* user<number>, YCSB's buildKeyName: the key's length */
size_t ycsb_key_name(const struct ycsb_workload *w, int64_t keynum, char key[YCSB_KEY_MAX]);
/* The value of a field (YCSB's buildDeterministicValue with dataintegrity,
 * else printable random bytes from t's engine): its length, <= fieldlength.
 * scratch: YCSB_SCRATCH(w) bytes. */
#define YCSB_SCRATCH(w) ((size_t)(w)->fieldlength + YCSB_KEY_MAX + 32)
size_t ycsb_field_value(const struct ycsb_workload *w, struct ycsb_thread_state *t, const char *key,
                        size_t klen, int64_t field, char *out, char *scratch);
/* Does value (len bytes) match the deterministic value of key's field? */
int ycsb_value_ok(const struct ycsb_workload *w, const char *key, size_t klen, int64_t field,
                  const uint8_t *value, size_t len, char *scratch);
enum ycsb_op ycsb_next_op(const struct ycsb_workload *w, struct ycsb_thread_state *t);
/* CoreWorkload.nextKeynum: a key already inserted (and not deleted) */
int64_t ycsb_next_keynum(struct ycsb_workload *w, struct ycsb_thread_state *t);
int ycsb_key_deleted(const struct ycsb_workload *w, int64_t keynum);
void ycsb_key_mark_deleted(struct ycsb_workload *w, int64_t keynum);

/* --- the data model (db.c) ------------------------------------------------------ */
struct ycsb_measure;

struct ycsb_db {
    struct cxl_kv_any *kv;
    struct ycsb_workload *w;
    struct ycsb_thread_state *t;
    struct ycsb_measure *m;
    /* buffers, sized by ycsb_db_init for the workload */
    char *values;               /* fieldcount x fieldlength bytes */
    size_t *value_len;
    char (*field_names)[24];    /* field0 ... */
    char *record;               /* redis.model=string: a record's encoding */
    size_t record_cap;
    char (*scan_keys)[YCSB_KEY_MAX];
    size_t *scan_klens;
    uint8_t *seen;              /* fields seen in a reply */
    char *scratch;              /* YCSB_SCRATCH bytes */
    char error[200];            /* the last ERROR or UNEXPECTED_STATE, for the log */
    int broken;                 /* the transport failed: reconnect before the next operation */
    uint64_t verify_ns;         /* time spent checking values since the caller zeroed it */
};

int ycsb_db_init(struct ycsb_db *d, struct ycsb_workload *w, struct ycsb_thread_state *t,
                 struct ycsb_measure *m); /* buffers; d->kv is the caller's */
void ycsb_db_free(struct ycsb_db *d);
/* Each returns what YCSB's binding would (RET_*); a read's values are
 * checked (RET_UNEXPECTED on a wrong or missing field, RET_NOT_FOUND for a
 * deleted key). field < 0: every field. */
enum ycsb_return ycsb_db_insert(struct ycsb_db *d, int64_t keynum);
enum ycsb_return ycsb_db_read(struct ycsb_db *d, int64_t keynum, int64_t field);
enum ycsb_return ycsb_db_update(struct ycsb_db *d, int64_t keynum, int64_t field);
enum ycsb_return ycsb_db_scan(struct ycsb_db *d, int64_t start_keynum, int64_t count, int64_t field);
enum ycsb_return ycsb_db_delete(struct ycsb_db *d, int64_t keynum);

/* --- measurements (measure.c) ---------------------------------------------------- */
struct ycsb_op_stats {
    struct cxl_hist hist;                 /* latencies, ns */
    uint64_t returns[RET_TYPES];
    _Atomic uint64_t live_count, live_sum_ns; /* for the status line */
};
struct ycsb_measure {
    struct ycsb_op_stats op[OP_TYPES];
    uint64_t failed; /* operations (a read-modify-write is one) that returned ERROR or UNEXPECTED_STATE */
};
void ycsb_measure_init(struct ycsb_measure *m);
void ycsb_measure_record(struct ycsb_measure *m, enum ycsb_op op, uint64_t ns, enum ycsb_return r);
void ycsb_measure_merge(struct ycsb_measure *into, const struct ycsb_measure *from);
uint64_t ycsb_measure_failures(const struct ycsb_measure *m); /* ->failed */

/* --- the run (run.c) and the report (report.c) ---------------------------------- */
struct ycsb_result {
    struct ycsb_measure total;
    uint64_t operations;   /* operations done (a read-modify-write is one) */
    double seconds;
};
int ycsb_run(const struct ycsb_opts *o, struct ycsb_workload *w, struct ycsb_result *res);
void ycsb_report(FILE *out, const struct ycsb_result *res);
int ycsb_report_csv(const struct ycsb_opts *o, const struct ycsb_workload *w, const struct ycsb_result *res);

#endif
