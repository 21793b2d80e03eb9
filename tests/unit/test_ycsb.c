/* test_ycsb.c - cxl_ycsb's generators and properties without the program:
 * YCSB's known answers (fnvhash64, String.hashCode, zeta(1000, 0.99)), the
 * random engine's determinism and uniformity (chi-square), the shapes of
 * the distributions (Zipfian's head, the scrambled head's hashed place,
 * latest near the newest acknowledged key, hotspot, exponential), the
 * acknowledged counter in and out of order and from two threads, and the
 * properties: files, -p, the typed getters and their messages. Every
 * random draw comes from a fixed seed, so each check has one outcome. */
#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "gen.h"
#include "props.h"
#include "ycsb.h"

#define SEED 20261203u

static void test_helpers(void)
{
    CHECK(ycsb_fnvhash64(0) == 6284781860667377211ll);
    CHECK(ycsb_fnvhash64(1000) == 5952875239596136740ll);
    for (int64_t v = -1000; v < 1000; v++)
        CHECK(ycsb_fnvhash64(v) >= 0);
    CHECK_EQ(ycsb_java_hash("user0", 5), 111578565);
    CHECK_EQ(ycsb_java_hash("user1000", 8), -267579734);
    CHECK_EQ(ycsb_java_hash("", 0), 0);
    double z = ycsb_zeta(0, 1000, 0.99, 0);
    CHECK(fabs(z - 7.728953217285) < 1e-9);
    double inc = ycsb_zeta(400, 1000, 0.99, ycsb_zeta(0, 400, 0.99, 0));
    CHECK(fabs(inc - z) < 1e-12);
    CHECK(fabs(ycsb_zeta(0, 2, 0.99, 0) - (1 + pow(0.5, 0.99))) < 1e-15);
}

static void test_rng(void)
{
    struct ycsb_rng a, b, c;
    ycsb_rng_seed(&a, SEED, 3);
    ycsb_rng_seed(&b, SEED, 3);
    ycsb_rng_seed(&c, SEED, 4);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = ycsb_rng_u64(&a), y = ycsb_rng_u64(&b), w = ycsb_rng_u64(&c);
        same &= x == y;
        differ += x != w;
    }
    CHECK(same);
    CHECK_EQ(differ, 1000);
    ycsb_rng_seed(&b, SEED + 1, 3);
    CHECK(ycsb_rng_u64(&a) != ycsb_rng_u64(&b));
    int in_range = 1;
    for (int i = 0; i < 100000; i++) {
        double d = ycsb_rng_double(&a);
        in_range &= d >= 0 && d < 1;
        in_range &= ycsb_rng_below(&a, 7) < 7;
        in_range &= ycsb_rng_below(&a, 1) == 0;
        in_range &= ycsb_rng_below(&a, (1ull << 63) + 5) < (1ull << 63) + 5;
    }
    CHECK(in_range);
}

/* 100 buckets, 10^6 draws: 99 degrees of freedom, mean 99 and standard
 * deviation 14; 200 is beyond p = 1e-8. */
static void test_uniform_chi_square(void)
{
    enum { BUCKETS = 100, DRAWS = 1000000 };
    static long count[BUCKETS];
    struct ycsb_rng r;
    ycsb_rng_seed(&r, SEED, 0);
    for (int i = 0; i < DRAWS; i++)
        count[ycsb_rng_below(&r, BUCKETS)]++;
    double expect = (double)DRAWS / BUCKETS, chi = 0;
    for (int i = 0; i < BUCKETS; i++)
        chi += (count[i] - expect) * (count[i] - expect) / expect;
    CHECK(chi < 200);
    struct ycsb_gen g;
    ycsb_gen_uniform(&g, -3, 3);
    int seen[7] = {0}, in_range = 1;
    for (int i = 0; i < 1000; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        in_range &= v >= -3 && v <= 3;
        if (v >= -3 && v <= 3)
            seen[v + 3] = 1;
    }
    CHECK(in_range);
    for (int i = 0; i < 7; i++)
        CHECK(seen[i]);
    ycsb_gen_constant(&g, 42);
    CHECK_EQ(ycsb_gen_next(&g, &r), 42);
}

static void test_zipfian(void)
{
    enum { N = 1000, DRAWS = 1000000 };
    static long count[N];
    struct ycsb_rng r;
    struct ycsb_gen g;
    ycsb_rng_seed(&r, SEED, 1);
    ycsb_gen_zipfian(&g, 0, N - 1, YCSB_ZIPFIAN_CONSTANT);
    int in_range = 1;
    for (int i = 0; i < DRAWS; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        in_range &= v >= 0 && v < N;
        if (v >= 0 && v < N)
            count[v]++;
    }
    CHECK(in_range);
    double share = (double)count[0] / DRAWS;
    CHECK(fabs(share - 1 / ycsb_zeta(0, N, 0.99, 0)) < 0.003); /* 12.9% */
    for (int i = 0; i < 9; i++)
        CHECK(count[i] > count[i + 1]);
    for (int i = 10; i < N; i++)
        CHECK(count[i] < count[9]);
    /* a base other than 0 */
    ycsb_gen_zipfian(&g, 500, 509, YCSB_ZIPFIAN_CONSTANT);
    int64_t v = ycsb_gen_next(&g, &r);
    CHECK(v >= 500 && v <= 509);
}

static void test_zipfian_resize(void)
{
    struct ycsb_rng r;
    struct ycsb_zipfian z;
    ycsb_rng_seed(&r, SEED, 2);
    ycsb_zipfian_init(&z, 0, 999, 0.99, 0);
    CHECK(fabs(z.zetan - 7.728953217285) < 1e-9);
    int in_range = 1;
    for (int i = 0; i < 1000; i++) {
        int64_t v = ycsb_zipfian_next(&z, &r, 2000);
        in_range &= v >= 0 && v < 2000;
    }
    CHECK(in_range);
    CHECK_EQ(z.count_for_zeta, 2000);
    CHECK(fabs(z.zetan - ycsb_zeta(0, 2000, 0.99, 0)) < 1e-9);
    ycsb_zipfian_next(&z, &r, 500);
    CHECK_EQ(z.count_for_zeta, 500);
    CHECK(fabs(z.zetan - ycsb_zeta(0, 500, 0.99, 0)) < 1e-12);
    ycsb_zipfian_init(&z, 7, 7, 0.99, 0); /* one item */
    CHECK_EQ(ycsb_zipfian_next(&z, &r, 1), 7);
}

static int64_t most_frequent(const long *count, int n, int64_t skip)
{
    int64_t best = -1;
    for (int i = 0; i < n; i++)
        if (i != skip && (best < 0 || count[i] > count[best]))
            best = i;
    return best;
}

static void test_scrambled(void)
{
    enum { LO = 100, N = 1000, DRAWS = 200000 };
    static long count[N];
    struct ycsb_rng r;
    struct ycsb_gen g;
    ycsb_rng_seed(&r, SEED, 5);
    ycsb_gen_scrambled_zipfian(&g, LO, LO + N - 1);
    int in_range = 1;
    for (int i = 0; i < DRAWS; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        in_range &= v >= LO && v < LO + N;
        if (v >= LO && v < LO + N)
            count[v - LO]++;
    }
    CHECK(in_range);
    int64_t first = most_frequent(count, N, -1), second = most_frequent(count, N, first);
    CHECK_EQ(first, ycsb_fnvhash64(0) % N); /* 211, not 0 */
    CHECK_EQ(second, ycsb_fnvhash64(1) % N);
    CHECK(first >= 10 && second >= 10);
}

static void test_acked(void)
{
    struct ycsb_acked a;
    CHECK_EQ(ycsb_acked_init(&a, 10), 0);
    CHECK_EQ(ycsb_acked_last(&a), 9);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(ycsb_acked_next(&a), 10 + i);
    CHECK_EQ(ycsb_acked_ack(&a, 12), 0);
    CHECK_EQ(ycsb_acked_ack(&a, 11), 0);
    CHECK_EQ(ycsb_acked_last(&a), 9); /* 10 is the gap */
    CHECK_EQ(ycsb_acked_ack(&a, 10), 0);
    CHECK_EQ(ycsb_acked_last(&a), 12);
    CHECK_EQ(ycsb_acked_ack(&a, 12), -1); /* twice */
    CHECK_EQ(ycsb_acked_ack(&a, 9), -1);  /* before start */
    CHECK_EQ(ycsb_acked_ack(&a, 12 + YCSB_ACK_WINDOW + 1), -1);
    CHECK_EQ(ycsb_acked_ack(&a, 12 + YCSB_ACK_WINDOW), 0); /* the window's end */
    CHECK_EQ(ycsb_acked_ack(&a, 13), 0);
    CHECK_EQ(ycsb_acked_last(&a), 13);
    ycsb_acked_free(&a);
    ycsb_acked_free(&a); /* twice is harmless */
    struct ycsb_counter c;
    ycsb_counter_init(&c, 5);
    CHECK_EQ(ycsb_counter_last(&c), 4);
    CHECK_EQ(ycsb_counter_next(&c), 5);
    CHECK_EQ(ycsb_counter_last(&c), 5);
}

enum { PER_THREAD = 200000 };

/* Each thread takes values and acknowledges them two at a time, the
 * second first, so limit waits for gaps of both threads. */
static void *acker(void *arg)
{
    struct ycsb_acked *a = arg;
    long failed = 0;
    for (int i = 0; i < PER_THREAD / 2; i++) {
        int64_t x = ycsb_acked_next(a), y = ycsb_acked_next(a);
        failed += ycsb_acked_ack(a, y) != 0;
        failed += ycsb_acked_ack(a, x) != 0;
    }
    return (void *)failed;
}

static void test_acked_threads(void)
{
    struct ycsb_acked a;
    pthread_t t[2];
    void *failed[2];
    CHECK_EQ(ycsb_acked_init(&a, 0), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, acker, &a), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(pthread_join(t[i], &failed[i]), 0);
        CHECK_EQ((long)failed[i], 0);
    }
    CHECK_EQ(ycsb_acked_last(&a), 2 * PER_THREAD - 1);
    ycsb_acked_free(&a);
}

static void ack_upto(struct ycsb_acked *a, int64_t last)
{
    while (ycsb_acked_last(a) < last)
        CHECK_EQ(ycsb_acked_ack(a, ycsb_acked_next(a)), 0);
}

static void test_latest(void)
{
    struct ycsb_acked a;
    struct ycsb_rng r;
    struct ycsb_gen g;
    ycsb_rng_seed(&r, SEED, 6);
    CHECK_EQ(ycsb_acked_init(&a, 0), 0);
    ycsb_gen_latest(&g, &a);
    CHECK_EQ(ycsb_gen_next(&g, &r), -1); /* no key yet */
    ack_upto(&a, 999);
    long top = 0, newest = 0, bad = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        bad += v < 1 || v > 999;
        top += v >= 900;
        newest += v == 999;
    }
    CHECK_EQ(bad, 0);
    CHECK(top > 60000);                    /* zeta(100) / zeta(999): 67% */
    CHECK(fabs(newest / 1e5 - 0.1294) < 0.005); /* the Zipfian's head */
    ack_upto(&a, 1099);
    newest = bad = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        bad += v < 1 || v > 1099;
        newest += v == 1099;
    }
    CHECK_EQ(bad, 0);
    CHECK(newest > 12000);
    CHECK_EQ(g.zipf.count_for_zeta, 1099);
    ycsb_acked_free(&a);
}

static void test_hotspot(void)
{
    struct ycsb_rng r;
    struct ycsb_gen g;
    ycsb_rng_seed(&r, SEED, 7);
    ycsb_gen_hotspot(&g, 1000, 1999, 0.2, 0.8);
    long hot = 0, bad = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        bad += v < 1000 || v > 1999;
        hot += v < 1200;
    }
    CHECK_EQ(bad, 0);
    CHECK(fabs(hot / 1e5 - 0.8) < 0.01);
    const double data[] = {0.0, 1.0, 0.0001};
    for (int k = 0; k < 3; k++) {
        ycsb_gen_hotspot(&g, 0, 9, data[k], 0.5);
        bad = 0;
        for (int i = 0; i < 1000; i++) {
            int64_t v = ycsb_gen_next(&g, &r);
            bad += v < 0 || v > 9;
        }
        CHECK_EQ(bad, 0);
    }
}

static void test_exponential(void)
{
    struct ycsb_rng r;
    struct ycsb_gen g;
    ycsb_rng_seed(&r, SEED, 8);
    ycsb_gen_exponential(&g, 95, 1000);
    long below = 0, bad = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t v = ycsb_gen_next(&g, &r);
        bad += v < 0;
        below += v < 1000;
    }
    CHECK_EQ(bad, 0);
    CHECK(fabs(below / 1e5 - 0.95) < 0.005);
}

static void test_sequential(void)
{
    struct ycsb_counter c;
    struct ycsb_gen g, h;
    struct ycsb_rng r;
    ycsb_rng_seed(&r, SEED, 9);
    ycsb_counter_init(&c, 0);
    ycsb_gen_sequential(&g, 5, 7, &c);
    h = g; /* a thread's copy shares the counter */
    const int64_t want[] = {5, 6, 7, 5, 6, 7, 5};
    for (int i = 0; i < 7; i++)
        CHECK_EQ(ycsb_gen_next(i % 2 ? &h : &g, &r), want[i]);
}

/* --- properties ------------------------------------------------------------------ */

static void write_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
}

static void test_props_file(void)
{
    char path[] = "/tmp/test_ycsb_XXXXXX", origin[64];
    write_file(path, "# a comment\n"
                     "! another\n"
                     "\n"
                     "recordcount=1000\n"
                     "  operationcount : 50  \n"
                     "readproportion=0.5\n"
                     "\tfieldcount = 10\n"
                     "recordcount=2000\n"
                     "readproportio=0.5\n"
                     "workload=site.ycsb.workloads.CoreWorkload\n"
                     "insertorder = ordered\r\n");
    struct ycsb_props p;
    ycsb_props_init(&p);
    CHECK_EQ(ycsb_props_load_file(&p, path), 0);
    CHECK_EQ(p.n, 7);
    CHECK(!strcmp(ycsb_props_get(&p, "insertorder"), "ordered")); /* CRLF */
    CHECK(!strcmp(ycsb_props_get(&p, "recordcount"), "2000"));
    snprintf(origin, sizeof(origin), "%s:8", path);
    CHECK(!strcmp(ycsb_props_origin(&p, "recordcount"), origin));
    CHECK(!strcmp(ycsb_props_get(&p, "operationcount"), "50"));
    CHECK(!strcmp(ycsb_props_get(&p, "fieldcount"), "10"));
    CHECK(!strcmp(ycsb_props_get(&p, "workload"), "site.ycsb.workloads.CoreWorkload"));
    CHECK(!ycsb_props_get(&p, "scanproportion"));
    CHECK(!ycsb_props_origin(&p, "scanproportion"));
    static const char *const known[] = {"recordcount", "operationcount", "readproportion", "fieldcount",
                                        "workload", "insertorder", NULL};
    snprintf(origin, sizeof(origin), "unknown property 'readproportio' (%s:9)", path);
    CHECK_FAILS(ycsb_props_check_known(&p, known), CXL_EINVAL, origin);
    CHECK_EQ(ycsb_props_set_arg(&p, "readproportio=0.5"), 0);
    CHECK_FAILS(ycsb_props_check_known(&p, known), CXL_EINVAL, "unknown property 'readproportio' (-p)");
    CHECK_EQ(ycsb_props_set_arg(&p, "recordcount=3000"), 0); /* -p after -P wins */
    CHECK(!strcmp(ycsb_props_get(&p, "recordcount"), "3000"));
    CHECK(!strcmp(ycsb_props_origin(&p, "recordcount"), "-p"));
    CHECK_EQ(ycsb_props_load_file(&p, path), 0); /* and a later -P over it */
    CHECK(!strcmp(ycsb_props_get(&p, "recordcount"), "2000"));
    ycsb_props_free(&p);
    CHECK_EQ(p.n, 0);
    unlink(path);
}

static void test_props_malformed(void)
{
    char path[] = "/tmp/test_ycsb_XXXXXX", text[96];
    struct ycsb_props p;
    ycsb_props_init(&p);
    write_file(path, "recordcount=10\nreadproportion 0.5\n");
    snprintf(text, sizeof(text), "%s:2: expected name=value", path);
    CHECK_FAILS(ycsb_props_load_file(&p, path), CXL_EINVAL, text);
    unlink(path);
    CHECK_FAILS(ycsb_props_load_file(&p, path), CXL_ESYS, path);
    CHECK_FAILS(ycsb_props_set_arg(&p, "recordcount"), CXL_EINVAL, "-p 'recordcount': expected name=value");
    CHECK_FAILS(ycsb_props_set_arg(&p, "=5"), CXL_EINVAL, "expected name=value");
    CHECK_EQ(ycsb_props_set_arg(&p, "a=b=c"), 0);
    CHECK(!strcmp(ycsb_props_get(&p, "a"), "b=c"));
    char name[16];
    int rc = 0;
    for (int i = 0; i < YCSB_PROPS_MAX && !rc; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        rc = ycsb_props_set(&p, name, "1", "-p");
    }
    CHECK_FAILS(rc, CXL_EINVAL, "too many properties");
    ycsb_props_free(&p);
}

static void test_props_typed(void)
{
    struct ycsb_props p;
    int64_t i;
    double d;
    int b, c;
    ycsb_props_init(&p);
    CHECK_EQ(ycsb_props_i64(&p, "recordcount", 7, 0, INT64_MAX, &i), 0);
    CHECK_EQ(i, 7);
    CHECK_EQ(ycsb_props_set_arg(&p, "recordcount=-5"), 0);
    CHECK_FAILS(ycsb_props_i64(&p, "recordcount", 7, 0, INT64_MAX, &i), CXL_EINVAL,
                "recordcount: -5 is not an integer in 0..9223372036854775807 (-p)");
    CHECK_EQ(ycsb_props_set(&p, "recordcount", "12x", "w:3"), 0);
    CHECK_FAILS(ycsb_props_i64(&p, "recordcount", 7, 0, INT64_MAX, &i), CXL_EINVAL,
                "recordcount: 12x is not an integer in 0..9223372036854775807 (w:3)");
    CHECK_EQ(ycsb_props_set(&p, "recordcount", "", "w:3"), 0);
    CHECK_FAILS(ycsb_props_i64(&p, "recordcount", 7, 0, INT64_MAX, &i), CXL_EINVAL, "'' is not an integer");
    CHECK_EQ(ycsb_props_set(&p, "recordcount", "99999999999999999999", "w:3"), 0);
    CHECK_FAILS(ycsb_props_i64(&p, "recordcount", 7, 0, INT64_MAX, &i), CXL_EINVAL, "not an integer");
    CHECK_EQ(ycsb_props_set(&p, "recordcount", "+42", "w:3"), 0);
    CHECK_EQ(ycsb_props_i64(&p, "recordcount", 7, 0, INT64_MAX, &i), 0);
    CHECK_EQ(i, 42);

    CHECK_EQ(ycsb_props_double(&p, "readproportion", 0.95, 0, 1, &d), 0);
    CHECK(d == 0.95);
    CHECK_EQ(ycsb_props_set(&p, "readproportion", "0.25", "w:4"), 0);
    CHECK_EQ(ycsb_props_double(&p, "readproportion", 0.95, 0, 1, &d), 0);
    CHECK(d == 0.25);
    const char *bad_doubles[] = {"1.5", "nan", "x", "-0.1", ""};
    for (int k = 0; k < 5; k++) {
        CHECK_EQ(ycsb_props_set(&p, "readproportion", bad_doubles[k], "w:4"), 0);
        CHECK_FAILS(ycsb_props_double(&p, "readproportion", 0.95, 0, 1, &d), CXL_EINVAL,
                    "readproportion: ");
    }
    CHECK(strstr(cxl_last_error(), "is not a number in 0..1 (w:4)"));

    CHECK_EQ(ycsb_props_bool(&p, "readallfields", 1, &b), 0);
    CHECK_EQ(b, 1);
    const char *trues[] = {"true", "TRUE", "True", "1"}, *falses[] = {"false", "FaLsE", "0"};
    for (int k = 0; k < 4; k++) {
        CHECK_EQ(ycsb_props_set(&p, "readallfields", trues[k], "-p"), 0);
        b = 0;
        CHECK_EQ(ycsb_props_bool(&p, "readallfields", 0, &b), 0);
        CHECK_EQ(b, 1);
    }
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(ycsb_props_set(&p, "readallfields", falses[k], "-p"), 0);
        b = 1;
        CHECK_EQ(ycsb_props_bool(&p, "readallfields", 1, &b), 0);
        CHECK_EQ(b, 0);
    }
    CHECK_EQ(ycsb_props_set(&p, "readallfields", "yes", "w:9"), 0);
    CHECK_FAILS(ycsb_props_bool(&p, "readallfields", 1, &b), CXL_EINVAL,
                "readallfields: 'yes' is not a boolean (true, false, 1 or 0) (w:9)");

    static const char *const dists[] = {"uniform", "zipfian", "latest", NULL};
    CHECK_EQ(ycsb_props_choice(&p, "requestdistribution", "uniform", dists, &c), 0);
    CHECK_EQ(c, 0);
    CHECK_EQ(ycsb_props_set(&p, "requestdistribution", "latest", "w:5"), 0);
    CHECK_EQ(ycsb_props_choice(&p, "requestdistribution", "uniform", dists, &c), 0);
    CHECK_EQ(c, 2);
    CHECK_EQ(ycsb_props_set(&p, "requestdistribution", "Zipfian", "w:5"), 0);
    CHECK_FAILS(ycsb_props_choice(&p, "requestdistribution", "uniform", dists, &c), CXL_EINVAL,
                "requestdistribution: unknown value 'Zipfian' (w:5); allowed: uniform, zipfian, latest");
    ycsb_props_free(&p);
}

/* The workload files of workloads/ (the test runs from the top of the
 * tree): they parse, name only CoreWorkload's properties (and our
 * deleteproportion), and their proportions add up to 1. */
static void test_workload_files(void)
{
    static const char *const files[] = {"workloada", "workloadb", "workloadc", "workloadd",
                                        "workloade", "workloadf", "workload_cxl_crudscan"};
    static const char *const known[] = {
        "recordcount", "operationcount", "workload", "readallfields", "writeallfields",
        "readproportion", "updateproportion", "scanproportion", "insertproportion",
        "readmodifywriteproportion", "deleteproportion", "requestdistribution", "maxscanlength",
        "scanlengthdistribution", "insertorder", NULL};
    static const char *const ops[] = {"readproportion", "updateproportion", "scanproportion", "insertproportion",
                                      "readmodifywriteproportion", "deleteproportion"};
    char path[64];
    for (int f = 0; f < 7; f++) {
        struct ycsb_props p;
        ycsb_props_init(&p);
        snprintf(path, sizeof(path), "workloads/%s", files[f]);
        CHECK_EQ(ycsb_props_load_file(&p, path), 0);
        CHECK_EQ(ycsb_props_check_known(&p, known), 0);
        double sum = 0, v;
        for (int k = 0; k < 6; k++) {
            CHECK_EQ(ycsb_props_double(&p, ops[k], 0, 0, 1, &v), 0);
            sum += v;
        }
        CHECK(fabs(sum - 1) < 1e-9);
        CHECK(!strcmp(ycsb_props_get(&p, "workload"), "site.ycsb.workloads.CoreWorkload"));
        ycsb_props_free(&p);
    }
}

/* The workload: keys as YCSB names them, YCSB's deterministic values
 * (known answers computed with Java's String.hashCode rules), the check of
 * a value, the mix, and the properties' errors naming the property. */
static int workload_from(struct ycsb_workload *w, const char *const *kv, int run)
{
    struct ycsb_props p;
    ycsb_props_init(&p);
    for (int i = 0; kv[i]; i++)
        CHECK_EQ(ycsb_props_set_arg(&p, kv[i]), 0);
    int rc = ycsb_workload_init(w, &p, run);
    ycsb_props_free(&p);
    return rc;
}

static void test_workload_values(void)
{
    static const char *const props[] = {"recordcount=100", "operationcount=10", "workload=site.ycsb.workloads.CoreWorkload", NULL};
    struct ycsb_workload w;
    struct ycsb_thread_state t;
    char key[YCSB_KEY_MAX], value[200], scratch[400];
    CHECK_EQ(workload_from(&w, props, 1), 0);
    ycsb_thread_state_init(&w, 0, &t);
    CHECK(ycsb_key_name(&w, 0, key) == 23 && strcmp(key, "user6284781860667377211") == 0);
    size_t n = ycsb_field_value(&w, &t, key, 23, 0, value, scratch);
    /* YCSB's buildDeterministicValue run by hand (Java's String.hashCode
     * of the text so far, the ':' before each number included) */
    const char *want = "user6284781860667377211:field0:-56807877:2032869390:-165488160:1762371712:"
                       "-169193395:-1039977118:-10";
    CHECK(n == 100 && memcmp(value, want, 100) == 0);
    CHECK(ycsb_value_ok(&w, key, 23, 0, (const uint8_t *)want, 100, scratch));
    CHECK(!ycsb_value_ok(&w, key, 23, 1, (const uint8_t *)want, 100, scratch)); /* another field's */
    CHECK(!ycsb_value_ok(&w, key, 23, 0, (const uint8_t *)want, 99, scratch));
    value[50] ^= 1;
    CHECK(!ycsb_value_ok(&w, key, 23, 0, (const uint8_t *)value, 100, scratch));
    /* the scrambled zipfian's keys as YCSB's: [insertstart, insertstart + insertcount + 2 x the
     * inserts expected], both ends included */
    static const char *const zipf[] = {"recordcount=1000", "operationcount=100", "insertproportion=0.1",
                                       "requestdistribution=zipfian", NULL};
    struct ycsb_workload wz;
    CHECK_EQ(workload_from(&wz, zipf, 1), 0);
    CHECK(wz.key_chooser.lo == 0 && wz.key_chooser.hi == 1000 + 20);
    ycsb_workload_free(&wz);
    strcpy(key, "user1");
    n = ycsb_field_value(&w, &t, key, 5, 9, value, scratch);
    CHECK(n == 100 && memcmp(value, "user1:field9:-1268390937:701431326:1606534939:-534149429:-1854609471:"
                                    "-1563934887:1739619784:-7954596", 100) == 0);
    ycsb_workload_free(&w);
    static const char *const ordered[] = {"insertorder=ordered", "zeropadding=6", NULL};
    CHECK_EQ(workload_from(&w, ordered, 0), 0);
    CHECK(ycsb_key_name(&w, 42, key) == 10 && strcmp(key, "user000042") == 0);
    ycsb_workload_free(&w);
}

static void test_workload_errors(void)
{
    static const char *const cases[][4] = {
        {"readproportio=1", NULL, NULL, "unknown property 'readproportio'"},
        {"readproportion=0", "updateproportion=0", NULL, "all 0"},
        {"recordcount=-1", NULL, NULL, "recordcount"},
        {"operationcount=-5", NULL, NULL, "operationcount"},
        {"requestdistribution=pareto", NULL, NULL, "requestdistribution"},
        {"fieldlengthdistribution=uniform", NULL, NULL, "dataintegrity"},
        {"insertstart=500", "recordcount=100", NULL, "insertstart"},
        {"operationcount=0", NULL, NULL, "never end"},
        {"workload=site.ycsb.workloads.TimeSeriesWorkload", NULL, NULL, "CoreWorkload"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ycsb_workload w;
        const char *const kv[] = {cases[i][0], cases[i][1], cases[i][2], NULL};
        CHECK_FAILS(workload_from(&w, kv, 1), CXL_EINVAL, cases[i][3]);
    }
    /* ycsb.strict: delete ignored, as Java YCSB; the mix printed */
    static const char *const strict[] = {"readproportion=0.5", "deleteproportion=0.5", "ycsb.strict=true", NULL};
    struct ycsb_workload w;
    char mix[200];
    CHECK_EQ(workload_from(&w, strict, 1), 0);
    ycsb_workload_mix(&w, mix, sizeof mix);
    CHECK(strstr(mix, "read") && !strstr(mix, "delete"));
    ycsb_workload_free(&w);
}

int main(void)
{
    test_workload_values();
    test_workload_errors();
    test_helpers();
    test_rng();
    test_uniform_chi_square();
    test_zipfian();
    test_zipfian_resize();
    test_scrambled();
    test_acked();
    test_acked_threads();
    test_latest();
    test_hotspot();
    test_exponential();
    test_sequential();
    test_props_file();
    test_props_malformed();
    test_props_typed();
    test_workload_files();
    return check_summary("test_ycsb");
}
