/* main.c - the AEAD cost benchmark (build/bench/aead_cost, issue 15): flags,
 * the self-check, the timing and the report. The AEADs themselves are in
 * aeads.c (aead_cost.h).
 *
 * For each AEAD available on this machine it measures, in one run:
 *   seal / open        one message of 0..4096 B with a 32 B AD (the secure
 *                      ring's per-message AD), ns per operation;
 *   batch_seal / _open one AEAD over K messages of 48 B (K*48 B of payload,
 *                      an AD of 16 + 8*K B: a batch record listing the
 *                      positions and lengths), ns per message;
 *   separate_seal/_open the same K messages sealed (opened) one by one, each
 *                      with its 32 B AD, ns per message.
 * Every figure is the median of --reps repetitions of ~20 ms (~1 ms with
 * --quick), timed with CLOCK_MONOTONIC, after a calibration that is also the
 * warm-up; the repetitions run in rounds (each round times every figure
 * once), so that other work on the machine spoils a few samples of many
 * figures, which the median drops, rather than every sample of a few. Before timing, each AEAD must open its own seal and refuse
 * a flipped byte of ciphertext, tag or AD (else exit 1); the two AES-GCMs
 * must agree, and OpenSSL's ChaCha20-Poly1305 with libsodium's IETF one.
 * Exit: 0 done, 1 a failed check or an I/O error, 2 a bad flag. */
#define _GNU_SOURCE
#include "aead_cost.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_BYTES 48   /* a small ring message */
#define MSG_AD 32      /* the ring's per-message AD */
#define MAX_BATCH 256
#define MAX_PAYLOAD (MAX_BATCH * MSG_BYTES)
#define MAX_RESULTS 256

static const size_t sizes[] = {0, 16, 48, 64, 256, 1024, 4096};
static const size_t batches[] = {1, 4, 16, 64, 256};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define NBATCHES (sizeof batches / sizeof batches[0])

struct opts {
    int reps;
    double target_ns; /* length of one repetition */
    const char *csv;
    int quick;
};

/* one measurement: per iteration, `pieces` seals (opens) of `piece` bytes */
struct job {
    const struct aead_ops *ops;
    struct aead *a;
    int open;
    size_t pieces, piece, adn;
    uint64_t ctr; /* seal: the nonce counter */
};

/* one figure: what it times, and its median */
struct result {
    int aead;
    const char *op;
    size_t bytes, batch;
    double ns_op, ns_msg, mbps;
    struct job job;
    uint64_t n; /* iterations per repetition */
};

static struct {
    uint8_t pt[MAX_PAYLOAD], ct[MAX_PAYLOAD], out[MAX_PAYLOAD];
    uint8_t ad[16 + 8 * MAX_BATCH];
    uint8_t tags[MAX_BATCH][AEAD_TAG_BYTES];
} buf;
static uint8_t key[AEAD_KEY_BYTES];
static uint8_t nonce_base[AEAD_MAX_NONCE_BYTES];
static struct aead *inst[AEAD_COUNT]; /* NULL: not available here */
static struct result results[MAX_RESULTS];
static int nresults;

/* --- flags ------------------------------------------------------------------ */
static void usage(FILE *f)
{
    fprintf(f, "usage: aead_cost [--reps N] [--csv FILE] [--quick] [--help]\n"
               "  Seal/open cost of libsodium's AES-256-GCM and XChaCha20-Poly1305 and\n"
               "  OpenSSL's AES-256-GCM and ChaCha20-Poly1305, per message (0..4096 B,\n"
               "  32 B AD) and per batch of K x 48 B (K = 1..256) vs K separate seals.\n"
               "  --reps N    repetitions per figure, the median is reported (default 7)\n"
               "  --csv FILE  also write aead,op,bytes,batch,ns_per_op,ns_per_msg,mb_per_s\n"
               "  --quick     ~1 ms repetitions, 3 of them unless --reps (for tests)\n");
}

static void bad_flag(const char *fmt, const char *arg)
{
    fprintf(stderr, "aead_cost: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    exit(2);
}

static int parse_reps(const char *s)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < 1 || v > 1000)
        bad_flag("--reps: need a number 1..1000, not '%s'", s ? s : "");
    return (int)v;
}

static struct opts parse_flags(int argc, char **argv)
{
    struct opts o = {0, 20e6, NULL, 0};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(f, "--quick")) {
            o.quick = 1;
        } else if (!strcmp(f, "--reps")) {
            o.reps = parse_reps(i + 1 < argc ? argv[++i] : NULL);
        } else if (!strcmp(f, "--csv")) {
            if (i + 1 >= argc || !argv[i + 1][0])
                bad_flag("--csv: needs a file name%s", "");
            o.csv = argv[++i];
        } else {
            bad_flag(f[0] == '-' ? "unknown flag '%s'" : "unexpected argument '%s'", f);
        }
    }
    if (o.quick)
        o.target_ns = 1e6;
    if (!o.reps)
        o.reps = o.quick ? 3 : 7;
    return o;
}

/* --- the machine ---------------------------------------------------------------- */
static void print_machine(const struct opts *o)
{
    char line[512], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(model, sizeof model, "%s", colon + 1 + (colon[1] == ' '));
            model[strcspn(model, "\n")] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
    printf("aead_cost: median of %d reps of ~%.0f ms per figure\n", o->reps, o->target_ns / 1e6);
    printf("processor: %s\n", model);
    printf("AES-NI: %s, PCLMUL: %s (libsodium runtime detection)\n",
           sodium_runtime_has_aesni() ? "yes" : "no", sodium_runtime_has_pclmul() ? "yes" : "no");
    printf("libraries: libsodium %s, %s\n", sodium_version_string(),
           OpenSSL_version(OPENSSL_VERSION));
    for (int i = 0; i < AEAD_COUNT; i++)
        if (!aead_all[i]->available())
            printf("%s: not available on this machine, skipped\n", aead_all[i]->name);
}

/* --- the self-check --------------------------------------------------------------- */
static void set_ctr(uint8_t *nonce, uint64_t ctr) { memcpy(nonce, &ctr, sizeof ctr); }

static int refuses(int i, size_t n, uint8_t *flip, const uint8_t *nonce)
{
    *flip ^= 0x01;
    int r = aead_all[i]->open(inst[i], buf.out, buf.ct, n, buf.tags[0], buf.ad, MSG_AD, nonce);
    *flip ^= 0x01;
    return r != 0;
}

static int check_one(int i, size_t n)
{
    const struct aead_ops *ops = aead_all[i];
    uint8_t nonce[AEAD_MAX_NONCE_BYTES], other[AEAD_MAX_NONCE_BYTES], none = 0;
    memcpy(nonce, nonce_base, sizeof nonce);
    set_ctr(nonce, 7);
    if (ops->seal(inst[i], buf.ct, buf.tags[0], buf.pt, n, buf.ad, MSG_AD, nonce) ||
        ops->open(inst[i], buf.out, buf.ct, n, buf.tags[0], buf.ad, MSG_AD, nonce) ||
        memcmp(buf.out, buf.pt, n))
        return -1;
    if ((n && !refuses(i, n, &buf.ct[n / 2], nonce)) || !refuses(i, n, &buf.tags[0][5], nonce) ||
        !refuses(i, n, &buf.ad[MSG_AD - 1], nonce))
        return -1;
    memcpy(other, nonce, sizeof other);
    set_ctr(other, 8);
    if (!refuses(i, n, &none, other)) /* the wrong nonce, nothing else flipped */
        return -1;
    return 0;
}

/* the reused contexts give the standard's answer: the two AES-GCMs agree, and
 * OpenSSL's ChaCha20-Poly1305 agrees with libsodium's IETF construction */
static int check_agree(size_t n)
{
    uint8_t nonce[AEAD_MAX_NONCE_BYTES], ct2[4096], tag2[AEAD_TAG_BYTES];
    memcpy(nonce, nonce_base, sizeof nonce);
    if (inst[0] && (aead_all[0]->seal(inst[0], buf.ct, buf.tags[0], buf.pt, n, buf.ad, MSG_AD, nonce) ||
                    aead_all[2]->seal(inst[2], ct2, tag2, buf.pt, n, buf.ad, MSG_AD, nonce) ||
                    memcmp(buf.ct, ct2, n) || memcmp(buf.tags[0], tag2, sizeof tag2)))
        return -1;
    unsigned long long taglen;
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf.ct, buf.tags[0], &taglen, buf.pt, n,
                                                       buf.ad, MSG_AD, NULL, nonce, key);
    if (aead_all[3]->seal(inst[3], ct2, tag2, buf.pt, n, buf.ad, MSG_AD, nonce) ||
        memcmp(buf.ct, ct2, n) || memcmp(buf.tags[0], tag2, sizeof tag2))
        return -1;
    return 0;
}

static int self_check(void)
{
    static const size_t check_sizes[] = {0, 48, 4096};
    int bad = 0;
    for (int i = 0; i < AEAD_COUNT; i++)
        for (size_t s = 0; inst[i] && s < 3; s++)
            if (check_one(i, check_sizes[s])) {
                fprintf(stderr, "aead_cost: %s failed its check at %zu B (seal, open, or a "
                                "flipped byte accepted)\n", aead_all[i]->name, check_sizes[s]);
                bad = 1;
            }
    for (size_t s = 0; s < 3; s++)
        if (check_agree(check_sizes[s])) {
            fprintf(stderr, "aead_cost: OpenSSL and libsodium disagree at %zu B\n",
                    check_sizes[s]);
            bad = 1;
        }
    return bad ? -1 : 0;
}

/* --- timing ------------------------------------------------------------------ */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* n iterations of the job; -1 if an AEAD call fails */
static int run_job(struct job *j, uint64_t n)
{
    uint8_t nonce[AEAD_MAX_NONCE_BYTES];
    memcpy(nonce, nonce_base, sizeof nonce);
    for (uint64_t it = 0; it < n; it++)
        for (size_t k = 0; k < j->pieces; k++) {
            size_t off = k * j->piece;
            int r;
            if (j->open) {
                set_ctr(nonce, k);
                r = j->ops->open(j->a, buf.out + off, buf.ct + off, j->piece, buf.tags[k], buf.ad,
                                 j->adn, nonce);
            } else {
                set_ctr(nonce, ++j->ctr);
                r = j->ops->seal(j->a, buf.ct + off, buf.tags[k], buf.pt + off, j->piece, buf.ad,
                                 j->adn, nonce);
            }
            if (r)
                return -1;
        }
    return 0;
}

/* ns taken by n iterations, or -1 */
static double time_job(struct job *j, uint64_t n)
{
    double t0 = now_ns();
    if (run_job(j, n))
        return -1;
    return now_ns() - t0;
}

/* an open job opens what was sealed with nonces 0..pieces-1 */
static int prepare_open(struct job *j)
{
    struct job seal = *j;
    seal.open = 0;
    seal.ctr = (uint64_t)-1; /* the first seal uses counter 0 */
    return run_job(&seal, 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* one timed repetition of a figure: ns per iteration, or -1 */
static double sample(struct result *r)
{
    if (r->job.open && prepare_open(&r->job)) /* a seal figure overwrote the buffers */
        return -1;
    double t = time_job(&r->job, r->n);
    return t < 0 ? -1 : t / (double)r->n;
}

/* the warm-up: double the count until a run takes a quarter of a repetition,
 * then size the repetitions to ~o->target_ns and run one untimed */
static int calibrate(struct result *r, const struct opts *o)
{
    double t;
    r->n = 1;
    if (r->job.open && prepare_open(&r->job))
        return -1;
    while ((t = time_job(&r->job, r->n)) >= 0 && t < o->target_ns / 4)
        r->n *= 2;
    if (t < 0)
        return -1;
    r->n = (uint64_t)((double)r->n * o->target_ns / t) + 1;
    return sample(r) < 0 ? -1 : 0;
}

/* --- the measurements ------------------------------------------------------------ */
static void plan(int i, const char *op, size_t pieces, size_t piece, size_t adn, int open,
                 size_t batch)
{
    struct result *r = &results[nresults++];
    *r = (struct result){i, op, pieces * piece, batch, 0, 0, 0};
    r->job = (struct job){aead_all[i], inst[i], open, pieces, piece, adn, (uint64_t)1 << 40};
}

static void plan_aead(int i)
{
    for (size_t s = 0; s < NSIZES; s++) {
        plan(i, "seal", 1, sizes[s], MSG_AD, 0, 1);
        plan(i, "open", 1, sizes[s], MSG_AD, 1, 1);
    }
    for (size_t b = 0; b < NBATCHES; b++) {
        size_t k = batches[b], adn = 16 + 8 * k;
        plan(i, "batch_seal", 1, k * MSG_BYTES, adn, 0, k);
        plan(i, "batch_open", 1, k * MSG_BYTES, adn, 1, k);
        plan(i, "separate_seal", k, MSG_BYTES, MSG_AD, 0, k);
        plan(i, "separate_open", k, MSG_BYTES, MSG_AD, 1, k);
    }
}

static int failed(const struct result *r)
{
    fprintf(stderr, "aead_cost: %s %s failed while timing\n", aead_all[r->aead]->name, r->op);
    return -1;
}

/* every figure calibrated, then o->reps rounds, each timing every figure once:
 * a burst of other work on the machine spoils a few samples of many figures
 * rather than all the samples of a few, and the median drops those */
static int measure_all(const struct opts *o)
{
    double *samples = calloc((size_t)nresults * (size_t)o->reps, sizeof *samples);
    int rc = samples ? 0 : -1;
    for (int f = 0; !rc && f < nresults; f++)
        if (calibrate(&results[f], o))
            rc = failed(&results[f]);
    for (int rep = 0; !rc && rep < o->reps; rep++)
        for (int f = 0; !rc && f < nresults; f++)
            if ((samples[f * o->reps + rep] = sample(&results[f])) < 0)
                rc = failed(&results[f]);
    for (int f = 0; !rc && f < nresults; f++) {
        struct result *r = &results[f];
        r->ns_op = median(&samples[f * o->reps], o->reps);
        r->ns_msg = r->ns_op / (double)r->batch;
        r->mbps = (double)r->bytes * 1e3 / r->ns_op;
    }
    free(samples);
    return rc;
}

/* --- the report -------------------------------------------------------------------- */
static const struct result *find(int i, const char *op, size_t bytes, size_t batch)
{
    for (int r = 0; r < nresults; r++)
        if (results[r].aead == i && !strcmp(results[r].op, op) && results[r].bytes == bytes &&
            results[r].batch == batch)
            return &results[r];
    return NULL;
}

/* seal + open of one message of n bytes, ns */
static double seal_open(int i, size_t n)
{
    return find(i, "seal", n, 1)->ns_op + find(i, "open", n, 1)->ns_op;
}

/* seal + open per message in a batch of k x 48 B (prefix "batch" or "separate") */
static double per_msg(int i, const char *prefix, size_t k)
{
    char seal[32], open[32];
    snprintf(seal, sizeof seal, "%s_seal", prefix);
    snprintf(open, sizeof open, "%s_open", prefix);
    return find(i, seal, k * MSG_BYTES, k)->ns_msg + find(i, open, k * MSG_BYTES, k)->ns_msg;
}

static void print_messages(void)
{
    printf("\none message, %d B AD: ns per operation\n", MSG_AD);
    printf("%-26s %6s %9s %9s %10s %10s\n", "aead", "bytes", "seal", "open", "seal+open",
           "seal MB/s");
    for (size_t s = 0; s < NSIZES; s++)
        for (int i = 0; i < AEAD_COUNT; i++)
            if (inst[i]) {
                const struct result *se = find(i, "seal", sizes[s], 1), *op = find(i, "open", sizes[s], 1);
                printf("%-26s %6zu %9.1f %9.1f %10.1f %10.1f\n", aead_all[i]->name, sizes[s],
                       se->ns_op, op->ns_op, se->ns_op + op->ns_op, se->mbps);
            }
}

static void print_batches(void)
{
    printf("\nK x %d B: one AEAD per batch (AD 16+8K B) vs K separate (AD %d B each), "
           "ns per message\n", MSG_BYTES, MSG_AD);
    printf("%-26s %4s %9s %9s %9s %9s %10s %10s %7s\n", "aead", "K", "batch sl", "batch op",
           "sep seal", "sep open", "batch s+o", "sep s+o", "saved");
    for (size_t b = 0; b < NBATCHES; b++)
        for (int i = 0; i < AEAD_COUNT; i++)
            if (inst[i]) {
                size_t k = batches[b];
                double bt = per_msg(i, "batch", k), sp = per_msg(i, "separate", k);
                printf("%-26s %4zu %9.1f %9.1f %9.1f %9.1f %10.1f %10.1f %6.0f%%\n",
                       aead_all[i]->name, k, find(i, "batch_seal", k * MSG_BYTES, k)->ns_msg,
                       find(i, "batch_open", k * MSG_BYTES, k)->ns_msg,
                       find(i, "separate_seal", k * MSG_BYTES, k)->ns_msg,
                       find(i, "separate_open", k * MSG_BYTES, k)->ns_msg, bt, sp,
                       100.0 * (sp - bt) / sp);
            }
}

/* seal + open per message: of one n-byte message (batch 0), or in one AEAD
 * over a batch of `batch` x 48 B */
static double cost(int i, size_t n, size_t batch)
{
    return batch ? per_msg(i, "batch", batch) : seal_open(i, n);
}

/* "fastest for LABEL: name", then every AEAD's cost against it */
static int print_fastest(const char *label, size_t n, size_t batch)
{
    int best = -1;
    for (int i = 0; i < AEAD_COUNT; i++)
        if (inst[i] && (best < 0 || cost(i, n, batch) < cost(best, n, batch)))
            best = i;
    printf("fastest for %s: %s\n", label, aead_all[best]->name);
    for (int i = 0; i < AEAD_COUNT; i++)
        if (inst[i])
            printf("  %-26s %9.1f ns seal+open%s  %5.2fx the fastest\n", aead_all[i]->name,
                   cost(i, n, batch), batch ? " per message" : "",
                   cost(i, n, batch) / cost(best, n, batch));
    return best;
}

static void print_summary(void)
{
    printf("\n");
    int best = print_fastest("small messages (48 B seal+open)", MSG_BYTES, 0);
    print_fastest("4 KiB", 4096, 0);
    print_fastest("batches of 16 x 48 B", 0, 16);
    print_fastest("batches of 256 x 48 B", 0, 256);
    for (size_t b = 0; b < NBATCHES; b++)
        if (batches[b] >= 16)
            printf("batching %zu x %d B with %s: %.1f ns per message vs %.1f separate\n",
                   batches[b], MSG_BYTES, aead_all[best]->name, per_msg(best, "batch", batches[b]),
                   per_msg(best, "separate", batches[b]));
}

static int write_csv(FILE *f)
{
    fprintf(f, "aead,op,bytes,batch,ns_per_op,ns_per_msg,mb_per_s\n");
    for (int r = 0; r < nresults; r++)
        fprintf(f, "%s,%s,%zu,%zu,%.2f,%.2f,%.1f\n", aead_all[results[r].aead]->name,
                results[r].op, results[r].bytes, results[r].batch, results[r].ns_op,
                results[r].ns_msg, results[r].mbps);
    return fflush(f) || ferror(f) ? -1 : 0;
}

/* --- main -------------------------------------------------------------------------- */
static int create_all(void)
{
    for (int i = 0; i < AEAD_COUNT; i++)
        if (aead_all[i]->available() && !(inst[i] = aead_all[i]->create(key))) {
            fprintf(stderr, "aead_cost: %s: could not set up\n", aead_all[i]->name);
            return -1;
        }
    return 0;
}

static void destroy_all(void)
{
    for (int i = 0; i < AEAD_COUNT; i++)
        if (inst[i])
            aead_all[i]->destroy(inst[i]);
    sodium_memzero(key, sizeof key);
    sodium_memzero(&buf, sizeof buf);
}

static int run(const struct opts *o, FILE *csv)
{
    randombytes_buf(key, sizeof key);
    randombytes_buf(nonce_base, sizeof nonce_base);
    randombytes_buf(&buf, sizeof buf);
    if (create_all() || self_check())
        return -1;
    printf("self-check: every AEAD opens its own seal and refuses a flipped byte; "
           "OpenSSL and libsodium agree\n");
    fflush(stdout);
    for (int i = 0; i < AEAD_COUNT; i++)
        if (inst[i])
            plan_aead(i);
    if (measure_all(o))
        return -1;
    print_messages();
    print_batches();
    print_summary();
    if (csv && write_csv(csv)) {
        fprintf(stderr, "aead_cost: %s: write failed\n", o->csv);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = parse_flags(argc, argv);
    if (sodium_init() < 0) {
        fprintf(stderr, "aead_cost: sodium_init failed\n");
        return 1;
    }
    FILE *csv = NULL;
    if (o.csv && !(csv = fopen(o.csv, "w"))) {
        fprintf(stderr, "aead_cost: %s: %s\n", o.csv, strerror(errno));
        return 1;
    }
    print_machine(&o);
    int rc = run(&o, csv) ? 1 : 0;
    destroy_all();
    if (csv && fclose(csv) && !rc) {
        fprintf(stderr, "aead_cost: %s: %s\n", o.csv, strerror(errno));
        rc = 1;
    }
    return rc;
}
