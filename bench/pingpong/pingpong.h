/* pingpong.h - what the files of the ring ping-pong benchmark share: the
 * flags, the error that travels up to main.c, the TSC clock, the client's
 * ends of both rings, the results of a measurement, and the entry points of
 * each file.
 *
 * The benchmark measures round trips over one libcxldsm ring between two
 * processes, against a bare hand-written SPSC ring (bare_ring.h) in the same
 * run, so every figure can be read as a ratio on a noisy machine
 * (docs/BENCHMARKS.md). Both carry --payload bytes each way in the same
 * number of 64 B lines, in queues of the same bytes (main.c). Files:
 *   main.c    flags, clock calibration, the rounds of every measurement, and
 *             the exit: the only file that ends the process
 *   client.c  the client loops (latency, throughput) and reply verification
 *   echo.c    the echo server process (--role echo)
 *   spawn.c   starting, stopping, reaping and killing the echo server
 *   media.c   the two media: paths, creation, removal, format, huge pages
 *   report.c  progress, percentiles, the tables and the CSV rows
 *
 * Who calls whom (a DAG: a file calls only the files to the right of its
 * arrow, and nothing calls main.c):
 *   main.c   -> client.c echo.c spawn.c media.c report.c
 *   client.c -> spawn.c (is the server alive?), report.c (progress)
 *   echo.c   -> spawn.c (pin_to), media.c (open, attach, huge pages)
 *   spawn.c, media.c, report.c -> no other file of the benchmark
 * The flags are a struct opts local to main(), handed down as a const
 * struct opts * or as the few values a piece needs (struct client, struct
 * run). A call below main.c that fails returns -1 with the message in a
 * struct pp_err; main() prints "ring_pingpong: <message>" and exits 1. On
 * every exit of the client (exit, SIGINT/SIGTERM/SIGHUP/SIGQUIT) main.c's
 * handler calls echo_kill (spawn.c) and media_remove (media.c). */
#ifndef BENCH_PINGPONG_H
#define BENCH_PINGPONG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report/latency.h"
#include "cxl/ring.h"
#include "cxl/wait.h"

#include "bare_ring.h"

#define PAYLOAD_DEFAULT 48u     /* payload bytes: with the 12 B header, one 64 B line */
#define PAYLOAD_MIN 8u
#define PAYLOAD_MAX 65536u
#define LINE 64u                /* a cache line */
#define OP_ECHO 1u
#define OP_STOP 0xfffeu
#define STOP_SEQ UINT64_MAX     /* sequence number of the stop message */
#define MAX_INFLIGHT_SETS 8
#define MAX_ROUNDS 64
#define ALWAYS_INLINE inline __attribute__((always_inline))

enum impl { IMPL_BARE = 0, IMPL_LIB = 1 };

static inline const char *impl_name(enum impl impl)
{
    return impl == IMPL_LIB ? "libcxldsm" : "bare";
}

struct opts {
    const char *path;       /* library medium; NULL: unique temp file */
    uint64_t map_size;
    uint32_t slot_size;
    uint32_t ring_count;
    uint32_t delay_ns;
    struct cxl_delay_model delay;  /* .model, .bw_mbps (latency: delay_ns) */
    int delay_set;                 /* bits: 1 --delay-ns, 2 --delay-model, 4 --delay-bw-gbps */
    uint64_t round_trips;
    uint64_t warmup;
    uint32_t inflight[MAX_INFLIGHT_SETS];
    int n_inflight;
    uint64_t messages;
    uint64_t seconds;
    const char *csv;
    int pin;
    int prefault;
    int hugepage;
    uint32_t payload;       /* payload bytes of every message, both rings */
    uint64_t bare_slots;    /* messages per bare queue; the library queue is
                               formatted to the same bytes. 0: both fill --map-size */
    uint32_t bare_lines;    /* cache lines per bare message; 0: as many as the
                               library's message takes (check_flags sets it) */
    int bare_lines_set;     /* --bare-lines given (diagnostic) */
    uint64_t bare_slot;     /* bare slot bytes; 0: 64 x bare_lines (diagnostic) */
    uint32_t rounds;
    uint32_t echo_spin;     /* empty polls before the server backs off */
    int run_bare, run_lib;
    /* internal, for the echo server */
    int role_echo;
    enum impl impl;
    int ready_fd;
    int cpu;
};

/* The library rings' delay model (docs/RING.md); the bare ring waits
 * delay_ns per access (serial). */
static inline struct cxl_delay_model pp_delay(const struct opts *o)
{
    return (struct cxl_delay_model){.latency_ns = o->delay_ns, .bw_mbps = o->delay.bw_mbps,
                                    .model = o->delay.model};
}

/* 64 B lines a message of payload bytes takes behind the library's 12 B
 * header (an op only: no optional field); the bare ring's default. */
static inline uint32_t msg_lines(uint32_t payload)
{
    return (CXL_MSG_HDR_FIXED + payload + LINE - 1) / LINE;
}

/* The bare ring's slot (stride) in bytes. */
static inline uint64_t bare_slot_size(const struct opts *o)
{
    return o->bare_slot ? o->bare_slot : (uint64_t)LINE * o->bare_lines;
}

/* Payload bytes of a bare message: the payload, or more (pattern) when a
 * diagnostic --bare-lines asks for more lines than the message needs, so
 * that every line of it is written, copied and read. */
static inline uint32_t bare_payload(const struct opts *o)
{
    if (o->bare_lines <= msg_lines(o->payload))
        return o->payload;
    return o->bare_lines * LINE - BARE_STAMP;
}

/* --- errors: they travel up to main.c, which prints them and exits 1 ------------ */

struct pp_err {
    char *msg;              /* NULL until a failure sets it */
};

/* Set the message (printf-style) and return -1: `return pp_fail(err, ...)`. */
static inline int __attribute__((format(printf, 2, 3))) pp_fail(struct pp_err *err,
                                                                const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *msg = len < 0 ? NULL : malloc((size_t)len + 1);
    if (msg)
        vsnprintf(msg, (size_t)len + 1, fmt, again);
    va_end(again);
    va_end(ap);
    free(err->msg);
    err->msg = msg; /* NULL: out of memory, main.c says so */
    return -1;
}

/* --- clock: the TSC where there is one ------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
static ALWAYS_INLINE uint64_t ticks(void) { return __builtin_ia32_rdtsc(); }
#define TICKS_NAME "rdtsc"
#else
static ALWAYS_INLINE uint64_t ticks(void) { return cxl_now_ns(); }
#define TICKS_NAME "clock_gettime(CLOCK_MONOTONIC)"
#endif

/* The rate of ticks(), calibrated once by main.c. */
struct tick_clock {
    double per_ns;          /* ticks per ns */
    uint64_t ns_q32;        /* ns per tick, as a 32.32 fixed-point factor */
};

static inline double ticks_to_us(const struct tick_clock *k, double t)
{
    return t / k->per_ns / 1000.0;
}

static ALWAYS_INLINE uint64_t ticks_to_ns(const struct tick_clock *k, uint64_t t)
{
    return (uint64_t)(((unsigned __int128)t * k->ns_q32) >> 32);
}

/* --- the client ----------------------------------------------------------------- */

struct client {
    struct cxl_medium *lib_medium, *bare_medium;
    struct cxl_layout *layout;
    struct cxl_claim claim;
    struct cxl_queue req, resp;  /* library: request producer, response consumer */
    struct bare_q breq, bresp;   /* baseline */
    /* the same for every run, set by main.c */
    struct tick_clock clock;
    uint64_t warmup;             /* round trips before measuring (--warmup) */
    uint32_t payload;            /* library payload bytes (--payload) */
    uint32_t bare_payload;       /* bare payload bytes: --payload, more with --bare-lines */
    /* the loops' own */
    uint64_t stall_since;        /* ns when the current wait became long */
    uint64_t sends, recvs;       /* throughput: batches submitted / received */
    uint64_t msgs;               /* throughput: messages sent */
};

/* One run of a client loop against a started server. */
struct run {
    enum impl impl;
    uint32_t inflight;           /* 0: latency, one message in flight */
    uint64_t n;                  /* round trips to measure after c->warmup */
    double limit_s;              /* throughput: run this long instead, if > 0 */
    uint32_t *samples;           /* latency: out, n samples, the whole client
                                    cycle of each round trip in ticks */
    struct cxl_hist *h;          /* throughput: batch-submit-to-receipt times, ns */
    const char *label;           /* for the progress line */
    double seconds;              /* out: the measured seconds */
    uint64_t counted;            /* out: the measured round trips */
};

/* Run r: 0, or -1 with err set (a wrong reply, a ring error, a server that
 * died or went silent, no memory). */
int client_run(struct client *c, struct run *r, struct pp_err *err);
/* Send the stop message and check its echo: 0 or -1. */
int client_send_stop(struct client *c, enum impl impl, struct pp_err *err);

/* --- the echo server and its process ------------------------------------------ */

/* What the server did, reported to the client when it stops. */
struct echo_stats {
    uint64_t batches, msgs, empty;
    uint64_t preempted;          /* its involuntary context switches */
};

int echo_main(const struct opts *o, struct pp_err *err); /* echo.c: --role echo */

void echo_kill(void);                            /* spawn.c; async-signal-safe */
int pin_to(int cpu, const char *who, struct pp_err *err);
int spawn_echo(const struct opts *o, enum impl impl, const char *path, char *info, size_t infolen,
               struct pp_err *err);
int echo_check_alive(const char *what, struct pp_err *err);
int stop_echo(enum impl impl, struct echo_stats *st, struct pp_err *err);
uint64_t involuntary_switches(void);

/* --- media --------------------------------------------------------------------------- */

int open_medium(const struct opts *o, const char *path, int create, struct cxl_medium **m);
const char *media_path(enum impl impl);
void media_remove(void);                         /* async-signal-safe */
int media_setup_client(struct client *c, const struct opts *o, struct pp_err *err);
void media_teardown_client(struct client *c);
int bare_attach(struct cxl_medium *m, uint64_t slot_size, struct bare_ctl **ctl,
                struct pp_err *err);
void advise_huge(struct cxl_medium *m, const char *who);
uint64_t pmd_mapped_kb(const void *base);

/* --- results ----------------------------------------------------------------------------- */

/* One implementation in one measurement, over all its rounds. */
struct meas {
    int have;
    enum impl impl;
    uint32_t inflight;          /* 1: the latency measurement */
    uint32_t rounds;
    double rate[MAX_ROUNDS];    /* round trips/s of each round */
    uint64_t round_trips;       /* measured, all rounds */
    double seconds;             /* measured, all rounds */
    uint32_t *samples;          /* latency: one per round trip, in ticks */
    struct cxl_hist *h;         /* throughput: submit-to-receipt, in ns */
    /* computed by finish_meas */
    double p50, p99, p999, max; /* us */
    double rt_per_s, rt_min, rt_max; /* median, min, max of the rounds */
    uint64_t preempted;         /* involuntary context switches, client + server */
    double wall;                /* seconds from server start to stop, all rounds */
    uint64_t sends, recvs;      /* client batches: submits, non-empty peek rounds */
    uint64_t msgs;              /* client messages, warm-up included */
    uint64_t echo_batches, echo_msgs; /* server batches and messages */
};

struct progress {
    const char *label;
    uint64_t start_ns, last_ns;
    int tty;
};

void progress_start(struct progress *p, const char *label);
void progress_tick(struct progress *p, uint64_t done, uint64_t total);
void progress_end(struct progress *p, const char *summary);

void label_impls(const struct opts *o);
void finish_meas(struct meas *m, const struct tick_clock *k);
void print_report(const struct opts *o, const struct meas lat[2], struct meas tp[][2]);
int write_csv(const struct opts *o, const struct meas lat[2], struct meas tp[][2],
              const uint64_t queue_bytes[2], struct pp_err *err);

#endif
