/* main.c - the ring ping-pong benchmark (build/bench/ring_pingpong): flags,
 * the TSC calibration, the rounds of every measurement, and the exit. It is
 * the top of the benchmark (pingpong.h draws the calls between the files)
 * and the only file that ends the process: a bad flag at once, an error from
 * below when it has come back up to main(); its exit and signal handler has
 * spawn.c kill the echo server and media.c remove the media.
 *
 * Round trips over one libcxldsm ring between two processes, against a bare
 * hand-written SPSC ring (bare_ring.h) measured in the same run, so that
 * every figure can be read as a ratio on a noisy machine. Both carry
 * --payload bytes (default 48) each way and move the same lines: the library
 * message is its 12 B header (op only) and the payload, ceil((12 + N) / 64)
 * lines; the bare message a 12 B stamp and the payload in a slot of as many
 * lines. Both queues hold the same bytes: --bare-slots messages (4096) for
 * the bare ring, the library medium formatted to a queue of that size
 * (media.c; --bare-slots 0: both fill --map-size). The bench process is
 * the client; for every run it starts an echo server by exec'ing itself
 * (spawn.c). Client and server are pinned to CPU 0 and CPU 1 (--no-pin to
 * disable).
 *
 * Measurements, each split into --rounds rounds; a round runs the bare ring
 * and the library back to back (order alternating: AB BA AB ...), so that
 * both see the same machine and a per-round ratio can be formed:
 *   latency     one message in flight, --round-trips round trips after
 *               --warmup; one TSC stamp per round trip, so a sample is the
 *               whole client cycle (fill, submit, wait, verify, release);
 *   throughput  W messages in flight for each W of --inflight: reserve what
 *               the window and the ring allow, submit once, peek every
 *               response, release once; --messages round trips (or
 *               --seconds); latency under load from one stamp per batch.
 * Reported (report.c): percentiles over all samples of all rounds; round
 * trips/s is the median of the rounds; lib/bare is the median of the
 * per-round ratios.
 *
 * Diagnostics: --bare-lines L (more lines than the message needs, filled
 * with pattern) and --bare-slot-size S (a wider stride) change the
 * baseline's memory pattern, which separates the cost of the memory touched
 * from the cost of the code; the mean batch sizes and the preemption count
 * tell how a run went. A bad flag exits 2, a failure 1.
 *
 * Output: a table on stdout, progress on stderr, and with --csv PATH one row
 * per measurement and implementation appended to PATH (docs/BENCHMARKS.md). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/options.h"
#include "cxl/error.h"
#include "cxl/util.h"

#include "pingpong.h"

extern char **environ;

/* The flags' defaults. */
static const struct opts opts_default = {
    .map_size = 64ull << 20,
    .slot_size = CXL_DEFAULT_SLOT_SIZE,
    .ring_count = 1,
    .round_trips = 1000000,
    .warmup = 100000,
    .inflight = {64, 512},
    .n_inflight = 2,
    .messages = 20000000,
    .pin = 1,
    .payload = PAYLOAD_DEFAULT,
    .bare_slots = 4096,
    .rounds = 5,
    .echo_spin = 1u << 16,
    .run_bare = 1,
    .run_lib = 1,
    .ready_fd = -1,
    .cpu = -1,
};

/* Print "ring_pingpong: ..." (the echo server: "ring_pingpong (echo
 * server): ...") and exit with status; the client's exit handler (below)
 * kills the server and removes the media. */
static void __attribute__((noreturn)) vdie(const struct opts *o, int status, const char *fmt,
                                           va_list ap)
{
    fprintf(stderr, "\nring_pingpong%s: ", o->role_echo ? " (echo server)" : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(status);
}

/* A failure: exit 1. */
static void __attribute__((format(printf, 2, 3), noreturn)) die(const struct opts *o,
                                                                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie(o, 1, fmt, ap);
}

/* A bad flag or a bad combination of flags: exit 2. */
static void __attribute__((format(printf, 2, 3), noreturn)) bad_flag(const struct opts *o,
                                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie(o, 2, fmt, ap);
}

/* --- exit: however the client ends, the server is killed, the media go ------ */

static pid_t g_client; /* the client; a child between fork and exec is not */

static void cleanup(void)
{
    if (getpid() != g_client)
        return;
    echo_kill();
    media_remove();
}

static void on_signal(int sig)
{
    if (getpid() != g_client) /* a child between fork and exec */
        _exit(128 + sig);
    cleanup();
    static const char msg[] = "\nring_pingpong: interrupted: echo server killed, media removed\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* From here on, exit() and SIGINT/SIGTERM/SIGHUP/SIGQUIT clean up. */
static void install_cleanup(void)
{
    g_client = getpid();
    atexit(cleanup);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
}

/* --- clock -------------------------------------------------------------------- */

/* The rate of ticks() against CLOCK_MONOTONIC, over 50 ms. */
static struct tick_clock calibrate_ticks(void)
{
    uint64_t n0 = cxl_now_ns(), t0 = ticks();
    while (cxl_now_ns() - n0 < 50000000ull)
        cxl_cpu_relax();
    uint64_t n1 = cxl_now_ns(), t1 = ticks();
    struct tick_clock k = {.per_ns = (double)(t1 - t0) / (double)(n1 - n0)};
    if (k.per_ns <= 0)
        k.per_ns = 1.0;
    k.ns_q32 = (uint64_t)(4294967296.0 / k.per_ns);
    return k;
}

/* Cost of one timestamp call in ns (back-to-back calls). */
static double stamp_overhead_ns(int use_clock)
{
    enum { N = 200000 };
    volatile uint64_t sink = 0;
    uint64_t t0 = cxl_now_ns();
    for (int i = 0; i < N; i++)
        sink += use_clock ? cxl_now_ns() : ticks();
    (void)sink;
    return (double)(cxl_now_ns() - t0) / N;
}

/* --- flags -------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ring_pingpong [flags]\n"
        "  --path P          library medium (formatted here; default a unique /dev/shm temp file);\n"
        "                    the baseline uses P.bare; files created here are removed at exit\n"
        "  --map-size S      bytes of each medium (default 64M)\n"
        "  --payload N       payload bytes of every message, both rings, %u..%u (default %u: with\n"
        "                    the library's 12 B header, one 64 B line)\n"
        "  --slot-size S     library slot size, power of two 64..1M (default 64)\n"
        "  --rings N         rings in the library layout; ring 0 is used (default 1;\n"
        "                    --ring-count N too)\n"
        "  --delay-ns N      delay model: L ns, both rings (default CXL_SHM_DELAY_NS or 0)\n"
        "  --delay-model M   mlp or serial, library ring (CXL_SHM_DELAY_MODEL; default mlp;\n"
        "                    the bare ring: L per access); --delay-bw-gbps N: mlp's GB/s (25)\n"
        "  --round-trips N   latency phase round trips (default 1000000; 0 skips the phase)\n"
        "  --warmup N        round trips before measuring, every phase (default 100000)\n"
        "  --inflight LIST   throughput windows, e.g. 64,512 (default; 0 skips the phase)\n"
        "  --messages N      round trips per throughput window (default 20000000)\n"
        "  --seconds S       throughput phases run S seconds each instead of --messages\n"
        "  --csv PATH        append one CSV row per measurement to PATH\n"
        "  --no-pin          do not pin the client to CPU 0 and the server to CPU 1\n"
        "  --prefault        open both media with .prefault = 1 (client and server)\n"
        "  --hugepage        madvise(MADV_HUGEPAGE) + MADV_COLLAPSE on both media, report the result\n"
        "  --bare-slots N    messages per baseline queue, power of two (default 4096); the library\n"
        "                    queue is formatted to the same bytes; 0: both fill --map-size\n"
        "  --bare-lines N    diagnostic: 64 B lines per baseline message (default: as many as the\n"
        "                    library's message takes, ceil((12 + payload) / 64)); more lines are\n"
        "                    filled with pattern, fewer cannot hold the payload\n"
        "  --bare-slot-size S  diagnostic: baseline slot (stride) in bytes, a multiple of 64\n"
        "                    (default 64 x lines)\n"
        "  --rounds R        split every measurement in R bare/library rounds (default 5)\n"
        "  --echo-spin N     server: empty polls before backing off (default 65536; 0: back off at once)\n"
        "  --impl WHICH      both (default), lib or bare\n"
        "A bad flag exits 2, a failure 1.\n", PAYLOAD_MIN, PAYLOAD_MAX, PAYLOAD_DEFAULT);
}

static void parse_inflight(struct opts *o, const char *text)
{
    char buf[256];
    if (strlen(text) >= sizeof buf)
        bad_flag(o, "--inflight: list too long");
    strcpy(buf, text);
    o->n_inflight = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint32_t v;
        if (cxl_parse_u32("--inflight", tok, 0, 1u << 20, &v) != 0)
            bad_flag(o, "%s", cxl_last_error());
        if (v == 0)
            continue;
        if (o->n_inflight == MAX_INFLIGHT_SETS)
            bad_flag(o, "--inflight: at most %d windows", MAX_INFLIGHT_SETS);
        o->inflight[o->n_inflight++] = v;
    }
}

static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

static void parse_payload(struct opts *o, const char *v)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || v[0] == '-' || n < PAYLOAD_MIN || n > PAYLOAD_MAX)
        bad_flag(o, "--payload %s: payload bytes per message must be a number in %u..%u", v,
                 PAYLOAD_MIN, PAYLOAD_MAX);
    o->payload = (uint32_t)n;
}

#define NOT_MINE 1 /* a parse_*_flag result: f is not one of its flags */

/* A flag of the table of the options the tools share (config/options.h),
 * validated there: --path, --map-size, --slot-size, --rings, --delay-ns. */
static int set_shared(struct opts *o, enum cxl_opt_id id, const char *name, const char *value)
{
    struct cxl_shared_opts s;
    cxl_opts_init(&s);
    int rc = cxl_opts_set(&s, id, name, value);
    if (rc)
        return rc;
    switch (id) {
    case CXL_OPT_PATH: o->path = s.medium.path; break;
    case CXL_OPT_MAP_SIZE: o->map_size = s.medium.map_size; break;
    case CXL_OPT_SLOT_SIZE: o->slot_size = s.format.slot_size; break;
    case CXL_OPT_RINGS: o->ring_count = s.format.ring_count; break;
    case CXL_OPT_DELAY_NS: o->delay_ns = s.delay.latency_ns, o->delay_set |= 1; break;
    case CXL_OPT_DELAY_MODEL: o->delay.model = s.delay.model, o->delay_set |= 2; break;
    case CXL_OPT_DELAY_BW: o->delay.bw_mbps = s.delay.bw_mbps, o->delay_set |= 4; break;
    default: break;
    }
    return 0;
}

/* The delay model from CXL_SHM_DELAY_NS, _MODEL, _BW_GBPS, read once (the
 * flags win); the defaults otherwise. */
static int delay_from_env(struct opts *o)
{
    static const enum cxl_opt_id env[] = {CXL_OPT_DELAY_NS, CXL_OPT_DELAY_MODEL, CXL_OPT_DELAY_BW};
    struct cxl_shared_opts s;
    cxl_opts_init(&s);
    int rc = cxl_opts_env(&s, env, 3, environ);
    if (rc == 0 && !(o->delay_set & 1))
        o->delay_ns = s.delay.latency_ns;
    if (rc == 0 && !(o->delay_set & 2))
        o->delay.model = s.delay.model;
    if (rc == 0 && !(o->delay_set & 4))
        o->delay.bw_mbps = s.delay.bw_mbps;
    return rc;
}

/* Is f the flag `name`? It takes a value, which must be there. */
static int flag_is(const struct opts *o, const char *f, const char *name, const char *v)
{
    if (strcmp(f, name) != 0)
        return 0;
    if (!v)
        bad_flag(o, "%s needs a value (see --help)", f);
    return 1;
}

/* Flags that shape the media: 0, a cxl_parse_* error, or NOT_MINE. */
static int parse_medium_flag(struct opts *o, const char *f, const char *v)
{
    int rc = 0;
    if (flag_is(o, f, "--path", v)) {
        rc = set_shared(o, CXL_OPT_PATH, f, v);
    } else if (flag_is(o, f, "--map-size", v)) {
        rc = set_shared(o, CXL_OPT_MAP_SIZE, f, v);
    } else if (flag_is(o, f, "--slot-size", v)) {
        rc = set_shared(o, CXL_OPT_SLOT_SIZE, f, v);
    } else if (flag_is(o, f, "--rings", v) || flag_is(o, f, "--ring-count", v)) {
        rc = set_shared(o, CXL_OPT_RINGS, f, v);
    } else if (flag_is(o, f, "--delay-ns", v)) {
        rc = set_shared(o, CXL_OPT_DELAY_NS, f, v);
    } else if (flag_is(o, f, "--delay-model", v)) {
        rc = set_shared(o, CXL_OPT_DELAY_MODEL, f, v);
    } else if (flag_is(o, f, "--delay-bw-gbps", v)) {
        rc = set_shared(o, CXL_OPT_DELAY_BW, f, v);
    } else if (flag_is(o, f, "--bare-slots", v)) {
        rc = cxl_parse_u64(f, v, 0, 1ull << 32, &o->bare_slots);
        if (!rc && o->bare_slots && (o->bare_slots < 2 || !is_pow2(o->bare_slots)))
            bad_flag(o, "--bare-slots %s: must be a power of two >= 2, or 0", v);
    } else if (flag_is(o, f, "--bare-lines", v)) {
        rc = cxl_parse_u32(f, v, 1, msg_lines(PAYLOAD_MAX), &o->bare_lines);
        o->bare_lines_set = 1;
    } else if (flag_is(o, f, "--bare-slot-size", v)) {
        if ((rc = cxl_parse_size(f, v, &o->bare_slot)) == 0 && o->bare_slot &&
            (o->bare_slot > (1u << 20) || o->bare_slot % LINE))
            bad_flag(o, "--bare-slot-size %s: must be a multiple of 64 up to 1M, or 0", v);
    } else if (flag_is(o, f, "--payload", v)) {
        parse_payload(o, v);
    } else {
        rc = NOT_MINE;
    }
    return rc;
}

static void parse_impl(struct opts *o, const char *v)
{
    if (strcmp(v, "both") && strcmp(v, "lib") && strcmp(v, "libcxldsm") && strcmp(v, "bare"))
        bad_flag(o, "--impl %s: expected both, lib or bare", v);
    o->run_bare = strcmp(v, "lib") && strcmp(v, "libcxldsm");
    o->run_lib = strcmp(v, "bare") != 0;
    o->impl = o->run_lib && !o->run_bare ? IMPL_LIB : IMPL_BARE;
}

/* The echo server's flags, set by spawn.c: 0, an error, or NOT_MINE. */
static int parse_echo_flag(struct opts *o, const char *f, const char *v)
{
    int rc = 0;
    uint32_t u = 0;
    if (flag_is(o, f, "--role", v)) {
        if (strcmp(v, "echo") != 0)
            bad_flag(o, "--role %s: the only role is echo", v);
        o->role_echo = 1;
    } else if (flag_is(o, f, "--ready-fd", v)) {
        rc = cxl_parse_u32(f, v, 0, 1u << 20, &u);
        o->ready_fd = (int)u;
    } else if (flag_is(o, f, "--cpu", v)) {
        if (strcmp(v, "-1") != 0)
            rc = cxl_parse_u32(f, v, 0, CPU_SETSIZE - 1, &u);
        o->cpu = strcmp(v, "-1") ? (int)u : -1;
    } else {
        rc = NOT_MINE;
    }
    return rc;
}

/* Flags that shape the run: 0, a cxl_parse_* error, or NOT_MINE. */
static int parse_run_flag(struct opts *o, const char *f, const char *v)
{
    int rc = 0;
    if (flag_is(o, f, "--round-trips", v))
        rc = cxl_parse_u64(f, v, 0, 1ull << 32, &o->round_trips);
    else if (flag_is(o, f, "--warmup", v))
        rc = cxl_parse_u64(f, v, 0, 1ull << 40, &o->warmup);
    else if (flag_is(o, f, "--inflight", v))
        parse_inflight(o, v);
    else if (flag_is(o, f, "--messages", v))
        rc = cxl_parse_u64(f, v, 1, 1ull << 48, &o->messages);
    else if (flag_is(o, f, "--seconds", v))
        rc = cxl_parse_u64(f, v, 0, 86400, &o->seconds);
    else if (flag_is(o, f, "--csv", v))
        o->csv = v;
    else if (flag_is(o, f, "--rounds", v))
        rc = cxl_parse_u32(f, v, 1, MAX_ROUNDS, &o->rounds);
    else if (flag_is(o, f, "--echo-spin", v))
        rc = cxl_parse_u32(f, v, 0, UINT32_MAX, &o->echo_spin);
    else if (flag_is(o, f, "--impl", v))
        parse_impl(o, v);
    else
        rc = parse_echo_flag(o, f, v);
    return rc;
}

/* Flags without a value: 1 if f is one (and handled). */
static int parse_switch(struct opts *o, const char *f)
{
    if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
        usage(stdout);
        exit(0);
    } else if (!strcmp(f, "--no-pin")) {
        o->pin = 0;
    } else if (!strcmp(f, "--prefault")) {
        o->prefault = 1;
    } else if (!strcmp(f, "--hugepage")) {
        o->hugepage = 1;
    } else {
        return 0;
    }
    return 1;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (parse_switch(o, f))
            continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = parse_medium_flag(o, f, v);
        if (rc == NOT_MINE)
            rc = parse_run_flag(o, f, v);
        if (rc == NOT_MINE) {
            usage(stderr);
            bad_flag(o, "unknown flag %s", f);
        }
        if (rc)
            bad_flag(o, "%s", cxl_last_error());
        i++;
    }
}

/* What only the client checks, once all flags are known. */
static void check_flags(struct opts *o)
{
    if ((o->round_trips && o->round_trips < o->rounds) ||
        (o->n_inflight && !o->seconds && o->messages < o->rounds))
        bad_flag(o, "--round-trips and --messages must be at least --rounds (%u)", o->rounds);
    if (!o->bare_lines_set)
        o->bare_lines = msg_lines(o->payload);
    else if (o->bare_lines < msg_lines(o->payload))
        bad_flag(o, "--bare-lines %u: a bare message of a 12 B stamp and %u B of payload needs %u "
                 "lines of 64 B", o->bare_lines, o->payload, msg_lines(o->payload));
    if (o->bare_slot && o->bare_slot < (uint64_t)LINE * o->bare_lines)
        bad_flag(o, "--bare-slot-size %" PRIu64 " is smaller than %u lines x 64 B", o->bare_slot,
                 o->bare_lines);
    if (delay_from_env(o) != 0)
        bad_flag(o, "%s", cxl_last_error());
    if (o->pin) {
        cpu_set_t allowed;
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || !CPU_ISSET(0, &allowed) ||
            !CPU_ISSET(1, &allowed))
            die(o, "CPUs 0 and 1 are not both available to this process (use --no-pin)");
        struct pp_err err = {0};
        if (pin_to(0, "client", &err) != 0)
            die(o, "%s", err.msg);
    }
}

/* --- the measurements ------------------------------------------------------------ */

/* What the measurements of the client share. */
struct bench {
    const struct opts *o;
    struct client c;
    int shown[2];               /* the server's ready line was shown, per impl */
    struct pp_err *err;
};

/* "1 line" / "17 lines" (of 64 B), and "(1 slot of 4096 B)" if show: a
 * slot size other than the default's. */
static const char *lines_text(char *buf, size_t len, uint32_t lines, uint64_t slot, uint64_t bytes,
                              int show)
{
    uint64_t slots = (bytes + slot - 1) / slot;
    int n = snprintf(buf, len, "%u line%s", lines, lines == 1 ? "" : "s");
    if (show && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " (%" PRIu64 " slot%s of %" PRIu64 " B)", slots,
                 slots == 1 ? "" : "s", slot);
    return buf;
}

static void print_setup(const struct opts *o, const struct client *c, double oh_tsc,
                        double oh_clock)
{
    char desc[512], lib[64], bare[64], dm[64];
    struct cxl_delay_model d = pp_delay(o);
    const struct cxl_geometry *g = cxl_layout_geometry(c->layout);
    uint32_t bare_bytes_msg = BARE_STAMP + bare_payload(o);
    printf("ring_pingpong: %u B payload each way; per message libcxldsm moves %s (12 B header + "
           "payload), bare %s (12 B stamp + %u B%s); delay model %s (bare: %u ns per access); map %" PRIu64
           " B%s%s; %u rounds\n",
           o->payload, lines_text(lib, sizeof lib, msg_lines(o->payload), g->slot_size,
                                  CXL_MSG_HDR_FIXED + o->payload, g->slot_size != LINE),
           lines_text(bare, sizeof bare, o->bare_lines, bare_slot_size(o), bare_bytes_msg,
                      o->bare_slot != 0),
           bare_payload(o), o->bare_lines_set ? ", --bare-lines diagnostic" : "", cxl_delay_model_str(&d, dm, sizeof dm),
           o->delay_ns,
           o->map_size, o->prefault ? ", prefaulted" : "", o->hugepage ? ", MADV_HUGEPAGE" : "",
           o->rounds);
    printf("queues: libcxldsm %u slots of %u B = %" PRIu64 " KiB; bare %" PRIu64 " slots of %" PRIu64
           " B = %" PRIu64 " KiB (%s)\n", g->slots, g->slot_size,
           (uint64_t)g->slots * g->slot_size >> 10, c->breq.nslots, bare_slot_size(o),
           c->breq.nslots * bare_slot_size(o) >> 10,
           o->bare_slots ? "--bare-slots messages, the library queue formatted to the same bytes"
                         : "--bare-slots 0: both fill --map-size");
    printf("client pid %d on CPU %d, echo server on CPU %s; library medium: %s\n", (int)getpid(),
           sched_getcpu(), o->pin ? "1" : "any (unpinned)",
           cxl_medium_describe(c->lib_medium, desc, sizeof desc));
    printf("timestamps: %s at %.3f ticks/ns, %.1f ns per call (clock_gettime: %.1f ns per call); "
           "one stamp per round trip, its cost is inside every sample\n",
           TICKS_NAME, c->clock.per_ns, oh_tsc, oh_clock);
    fflush(stdout);
}

/* Set up a measurement pair: w in flight (1: latency), room for its samples
 * (latency) or its histogram (throughput). 0 or -1. */
static int alloc_pair(const struct opts *o, struct meas pair[2], uint32_t w, uint64_t total,
                      int latency, struct pp_err *err)
{
    for (int i = 0; i < 2; i++) {
        struct meas *m = &pair[i];
        m->impl = (enum impl)i;
        m->inflight = w;
        m->rounds = o->rounds;
        m->have = i == IMPL_LIB ? o->run_lib : o->run_bare;
        if (!m->have)
            continue;
        if (latency && !(m->samples = malloc(total * sizeof *m->samples)))
            return pp_fail(err, "out of memory for %" PRIu64 " samples", total);
        if (!latency && !(m->h = malloc(sizeof *m->h)))
            return pp_fail(err, "out of memory");
        if (m->h)
            cxl_hist_init(m->h);
    }
    return 0;
}

/* Compute the figures of a pair and free what it recorded. */
static void finish_pair(struct meas pair[2], const struct tick_clock *k)
{
    for (int i = 0; i < 2; i++) {
        finish_meas(&pair[i], k);
        free(pair[i].samples);
        pair[i].samples = NULL;
        free(pair[i].h);
        pair[i].h = NULL;
    }
}

/* Start the server of impl; its ready line is shown the first time. */
static int start_echo(struct bench *b, enum impl impl)
{
    char info[256];
    if (spawn_echo(b->o, impl, media_path(impl), info, sizeof info, b->err) != 0)
        return -1;
    if (!b->shown[impl]) {
        fprintf(stderr, "echo server (%s): %s; the client mapped it at %p\n", impl_name(impl), info,
                cxl_medium_base(impl == IMPL_LIB ? b->c.lib_medium : b->c.bare_medium));
        b->shown[impl] = 1;
    }
    return 0;
}

/* Add what a round of m did: the client's run, the server's stats. */
static void account(struct bench *b, struct meas *m, uint32_t r, const struct run *run,
                    const struct echo_stats *es)
{
    struct client *c = &b->c;
    m->preempted += es->preempted;
    m->echo_batches += es->batches;
    m->echo_msgs += es->msgs;
    m->sends += c->sends;
    m->recvs += c->recvs;
    m->msgs += c->msgs;
    c->sends = c->recvs = c->msgs = 0;
    m->rate[r] = (double)run->counted / run->seconds;
    m->round_trips += run->counted;
    m->seconds += run->seconds;
}

/* One implementation in round r of a measurement (latency if w == 0):
 * start its server, run n round trips, stop the server, account. */
static int run_one(struct bench *b, struct meas *m, uint32_t w, uint32_t r, uint64_t n)
{
    const struct opts *o = b->o;
    enum impl impl = m->impl;
    char label[128];
    uint64_t wall0 = cxl_now_ns();
    if (start_echo(b, impl) != 0)
        return -1;
    struct run run = {.impl = impl, .inflight = w, .n = n, .label = label};
    uint64_t csw0 = involuntary_switches();
    if (w == 0) {
        snprintf(label, sizeof label, "latency %s, round %u/%u", impl_name(impl), r + 1, o->rounds);
        run.samples = m->samples + m->round_trips;
    } else {
        snprintf(label, sizeof label, "throughput W=%u %s, round %u/%u", w, impl_name(impl), r + 1,
                 o->rounds);
        run.limit_s = o->seconds ? (double)o->seconds / o->rounds : 0;
        run.h = m->h;
    }
    if (client_run(&b->c, &run, b->err) != 0)
        return -1;
    m->preempted += involuntary_switches() - csw0;
    struct echo_stats es;
    if (client_send_stop(&b->c, impl, b->err) != 0 || stop_echo(impl, &es, b->err) != 0)
        return -1;
    m->wall += (double)(cxl_now_ns() - wall0) / 1e9;
    account(b, m, r, &run, &es);
    return 0;
}

/* A measurement: w in flight (0: the latency one), total round trips split
 * over the rounds, bare and library alternating (AB BA AB ...). */
static int run_measurement(struct bench *b, struct meas pair[2], uint32_t w, uint64_t total)
{
    uint32_t R = b->o->rounds;
    if (alloc_pair(b->o, pair, w ? w : 1, total, w == 0, b->err) != 0)
        return -1;
    for (uint32_t r = 0; r < R; r++) {
        /* this round's share of the round trips; the last takes the rest */
        uint64_t n = total / R + (r == R - 1 ? total % R : 0);
        for (int k = 0; k < 2; k++) {
            enum impl impl = (r & 1) ? (k ? IMPL_BARE : IMPL_LIB) : (k ? IMPL_LIB : IMPL_BARE);
            if (pair[impl].have && n != 0 && run_one(b, &pair[impl], w, r, n) != 0)
                return -1;
        }
    }
    finish_pair(pair, &b->c.clock);
    return 0;
}

/* Every measurement: latency, then each --inflight window. */
static int run_all(struct bench *b, struct meas lat[2], struct meas tp[][2])
{
    const struct opts *o = b->o;
    if (o->round_trips && run_measurement(b, lat, 0, o->round_trips) != 0)
        return -1;
    for (int i = 0; i < o->n_inflight; i++)
        if (run_measurement(b, tp[i], o->inflight[i], o->messages) != 0)
            return -1;
    return 0;
}

static void print_huge(const struct opts *o, const struct client *c)
{
    printf("huge pages: the client's library mapping has %" PRIu64 " kB, its bare mapping %" PRIu64
           " kB mapped with 2 MiB pages (of %" PRIu64 " kB each)\n",
           pmd_mapped_kb(cxl_medium_base(c->lib_medium)),
           pmd_mapped_kb(cxl_medium_base(c->bare_medium)), o->map_size >> 10);
}

/* The client: the media, every measurement, the report. 0 or -1. */
static int run_client(const struct opts *o, struct pp_err *err)
{
    label_impls(o);
    struct tick_clock clock = calibrate_ticks();
    double oh_tsc = stamp_overhead_ns(0), oh_clock = stamp_overhead_ns(1);
    struct bench b = {
        .o = o,
        .c = {.clock = clock, .warmup = o->warmup, .payload = o->payload,
              .bare_payload = bare_payload(o)},
        .err = err,
    };
    if (media_setup_client(&b.c, o, err) != 0)
        return -1;
    print_setup(o, &b.c, oh_tsc, oh_clock);
    struct meas lat[2], tp[MAX_INFLIGHT_SETS][2];
    memset(lat, 0, sizeof lat);
    memset(tp, 0, sizeof tp);
    if (run_all(&b, lat, tp) != 0)
        return -1;
    print_report(o, lat, tp);
    if (o->hugepage)
        print_huge(o, &b.c);
    const struct cxl_geometry *g = cxl_layout_geometry(b.c.layout);
    uint64_t queue_bytes[2] = {[IMPL_BARE] = b.c.breq.nslots * bare_slot_size(o),
                               [IMPL_LIB] = (uint64_t)g->slots * g->slot_size};
    if (o->csv && write_csv(o, lat, tp, queue_bytes, err) != 0)
        return -1;
    media_teardown_client(&b.c);
    return 0;
}

/* The only place that ends the process on an error from below. */
int main(int argc, char **argv)
{
    struct opts o = opts_default;
    struct pp_err err = {0};
    int rc;
    parse_args(&o, argc, argv);
    if (o.role_echo) {
        rc = echo_main(&o, &err);
    } else {
        install_cleanup();
        check_flags(&o);
        rc = run_client(&o, &err);
    }
    if (rc != 0)
        die(&o, "%s", err.msg ? err.msg : "out of memory");
    return 0;
}
