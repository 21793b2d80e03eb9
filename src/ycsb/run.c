/* run.c - the threads of a phase (docs/YCSB.md, "Measurement"): one
 * connection or ring each, one operation in flight each, as YCSB. The load
 * inserts insertcount records (key numbers from a shared counter); the run
 * draws operationcount operations from the mix. With -target every thread
 * is paced to its share and a latency counts from the operation's intended
 * start (no coordinated omission). A broken connection fails the operation
 * it was in and is opened again before the next (a few times, then the
 * thread stops and says why). The main thread waits, printing YCSB's
 * status line with -s and the load's progress. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cxl/error.h"
#include "cxl/wait.h"
#include "ycsb.h"

#define RECONNECTS 5      /* per thread, then it stops */
#define RECONNECT_WAIT_MS 200
#define PROGRESS_MS 5000  /* the load's progress line (without -s) */
#define LOGGED_ERRORS 5   /* failures a thread describes on stderr */

struct worker {
    const struct ycsb_opts *o;
    struct ycsb_workload *w;
    uint32_t id;
    int64_t todo;
    struct ycsb_thread_state ts;
    struct ycsb_db db;
    struct ycsb_measure m;
    _Atomic int64_t done;
    _Atomic int finished;  /* the thread left its loop (done, deadline, or stopped) */
    int reconnects;
    int logged;
    char last_error[200];
    char stopped[300];    /* why the thread stopped early */
    uint64_t start_ns, deadline_ns, end_ns;
    pthread_t thread;
    pthread_barrier_t *go;
};

static int64_t share(int64_t total, uint32_t threads, uint32_t i)
{
    return total / threads + ((int64_t)i < total % threads);
}

/* The pacer's wait for an operation's intended start. The thread's timer
 * slack is 1 ns (worker_main): with the default 50 us every paced sleep
 * overshot, and the latency, counted from the intended start, with it (YCSB
 * C at 4000 ops/s over the ring: 78 us average, 28 us with 1 ns). A spin for
 * the last stretch was tried and dropped: on 2 cores a spinning pacer beside
 * a spinning ring server made paced runs fall behind. */
static void sleep_until(uint64_t t_ns)
{
    uint64_t now = cxl_now_ns();
    if (t_ns > now) {
        struct timespec ts = {.tv_sec = (time_t)((t_ns - now) / 1000000000u), .tv_nsec = (long)((t_ns - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
}

static int connect_worker(struct worker *k)
{
    struct cxl_kv_any_config c = k->o->conn;
    if (!c.addr && !c.cluster_seed && c.kv.ring >= 0)
        c.kv.ring += (int)k->id; /* --ring R: thread t claims ring R + t */
    return cxl_kv_any_open(&c, &k->db.kv);
}

/* The connection broke: open it again (RECONNECTS times per thread). */
static int reconnect(struct worker *k)
{
    cxl_kv_any_close(k->db.kv);
    k->db.kv = NULL;
    k->db.broken = 0;
    while (k->reconnects++ < RECONNECTS) {
        usleep(RECONNECT_WAIT_MS * 1000);
        if (connect_worker(k) == 0)
            return 0;
    }
    snprintf(k->stopped, sizeof k->stopped, "thread %u: stopped after %d failed operations in a row, each "
             "followed by a reconnect (the last: %s)", k->id, RECONNECTS, k->last_error);
    return -1;
}

static int64_t pick_field(struct worker *k, int all)
{
    return all ? -1 : ycsb_gen_next(&k->ts.field_chooser, &k->ts.rng);
}

/* One operation of the run: the type drawn, done, measured. */
static void run_op(struct worker *k, uint64_t t0)
{
    struct ycsb_workload *w = k->w;
    struct ycsb_db *d = &k->db;
    enum ycsb_op op = ycsb_next_op(w, &k->ts);
    enum ycsb_return r;
    int64_t keynum;
    d->verify_ns = 0;
    switch (op) {
    case OP_INSERT:
        keynum = ycsb_acked_next(&w->insert_keys);
        r = ycsb_db_insert(d, keynum);
        ycsb_acked_ack(&w->insert_keys, keynum); /* YCSB acknowledges failed inserts too */
        break;
    case OP_UPDATE: keynum = ycsb_next_keynum(w, &k->ts); r = ycsb_db_update(d, keynum, pick_field(k, w->writeallfields)); break;
    case OP_SCAN: {
        keynum = ycsb_next_keynum(w, &k->ts);
        int64_t len = ycsb_gen_next(&k->ts.scan_length, &k->ts.rng);
        r = ycsb_db_scan(d, keynum, len, pick_field(k, w->readallfields));
        break;
    }
    case OP_RMW: { /* its read and its update are measured as such too, as YCSB's DBWrapper does */
        keynum = ycsb_next_keynum(w, &k->ts);
        r = ycsb_db_read(d, keynum, pick_field(k, w->readallfields));
        uint64_t t1 = cxl_now_ns();
        ycsb_measure_record(&k->m, OP_READ, t1 - t0 - d->verify_ns, r);
        enum ycsb_return u = d->broken ? RET_ERROR : ycsb_db_update(d, keynum, pick_field(k, w->writeallfields));
        ycsb_measure_record(&k->m, OP_UPDATE, cxl_now_ns() - t1, u);
        if (r == RET_OK || r == RET_NOT_FOUND)
            r = u;
        break;
    }
    case OP_DELETE: keynum = ycsb_next_keynum(w, &k->ts); r = ycsb_db_delete(d, keynum); break;
    default: keynum = ycsb_next_keynum(w, &k->ts); r = ycsb_db_read(d, keynum, pick_field(k, w->readallfields)); break;
    }
    uint64_t ns = cxl_now_ns() - t0;
    /* a read's or a scan's latency without the checks of its values (as
     * YCSB's, measured around the binding's call); a read-modify-write's
     * includes them, as YCSB's (measured around the whole operation) */
    ycsb_measure_record(&k->m, op, op == OP_RMW ? ns : ns - d->verify_ns, r);
    k->m.failed += r == RET_ERROR || r == RET_UNEXPECTED;
}

static void *worker_main(void *arg)
{
    struct worker *k = arg;
    uint64_t period = k->o->target > 0 ? (uint64_t)(1e9 * k->o->threads / k->o->target) : 0;
    if (period)
        prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* the pacer's sleeps end on time */
    pthread_barrier_wait(k->go);
    for (int64_t i = 0; i < k->todo; i++) {
        uint64_t t0 = cxl_now_ns();
        if (k->deadline_ns && t0 >= k->deadline_ns)
            break;
        if (period) { /* the intended start: latency counts from it, late or not */
            t0 = k->start_ns + (uint64_t)i * period;
            sleep_until(t0);
        }
        if (!k->db.kv && reconnect(k) != 0)
            break;
        if (k->o->run) {
            run_op(k, t0);
        } else {
            enum ycsb_return r = ycsb_db_insert(&k->db, ycsb_counter_next(&k->w->load_keys));
            ycsb_measure_record(&k->m, OP_INSERT, cxl_now_ns() - t0, r);
            k->m.failed += r == RET_ERROR || r == RET_UNEXPECTED;
        }
        if (k->db.error[0]) {
            snprintf(k->last_error, sizeof k->last_error, "%s", k->db.error);
            if (k->logged++ < LOGGED_ERRORS)
                fprintf(stderr, "cxl_ycsb: thread %u: %s%s\n", k->id, k->db.error,
                        k->logged == LOGGED_ERRORS ? " (the thread's further failures are counted, not shown)" : "");
            k->db.error[0] = 0;
        }
        if (!k->db.broken)
            k->reconnects = 0; /* the budget is for failures in a row */
        else if (reconnect(k) != 0)
            break;
        atomic_store_explicit(&k->done, i + 1, memory_order_relaxed);
    }
    k->end_ns = cxl_now_ns();
    atomic_store_explicit(&k->finished, 1, memory_order_release);
    return NULL;
}

/* --- the main thread: status and progress ------------------------------------------------ */

static int64_t done_so_far(const struct worker *ks, uint32_t n)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += atomic_load_explicit(&ks[i].done, memory_order_relaxed);
    return sum;
}

/* YCSB's status line: time, operations, current ops/sec, per type counts and averages. */
static void status_line(const struct worker *ks, uint32_t n, double secs, int64_t ops, int64_t last_ops,
                        double interval)
{
    char stamp[64];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(stderr, "%s %.0f sec: %lld operations; %.1f current ops/sec;", stamp, secs, (long long)ops,
            interval > 0 ? (double)(ops - last_ops) / interval : 0.0);
    for (int op = 0; op < OP_TYPES; op++) {
        uint64_t count = 0, sum = 0;
        for (uint32_t i = 0; i < n; i++) {
            count += atomic_load_explicit(&ks[i].m.op[op].live_count, memory_order_relaxed);
            sum += atomic_load_explicit(&ks[i].m.op[op].live_sum_ns, memory_order_relaxed);
        }
        if (count)
            fprintf(stderr, " [%s: Count=%llu, Avg=%.2f]", ycsb_op_name((enum ycsb_op)op), (unsigned long long)count,
                    (double)sum / (double)count / 1000.0);
    }
    fputc('\n', stderr);
}

static void watch(const struct ycsb_opts *o, struct worker *ks, int64_t total)
{
    uint64_t t0 = ks[0].start_ns, last_status = t0, last_progress = t0;
    int64_t last_ops = 0;
    for (;;) {
        int running = 0;
        for (uint32_t i = 0; i < o->threads; i++)
            running |= !atomic_load_explicit(&ks[i].finished, memory_order_acquire);
        if (!running) {
            if (o->status) /* the last line, as YCSB's status thread prints when the workload ends */
                status_line(ks, o->threads, (cxl_now_ns() - t0) / 1e9, done_so_far(ks, o->threads), last_ops,
                            (cxl_now_ns() - last_status) / 1e9);
            return;
        }
        usleep(20000);
        uint64_t now = cxl_now_ns();
        int64_t ops = done_so_far(ks, o->threads);
        if (o->status && now - last_status >= o->status_ms * 1000000ull) {
            status_line(ks, o->threads, (now - t0) / 1e9, ops, last_ops, (now - last_status) / 1e9);
            last_status = now, last_ops = ops;
        }
        if (!o->status && !o->run && !o->quiet && now - last_progress >= PROGRESS_MS * 1000000ull) {
            fprintf(stderr, "cxl_ycsb: loaded %lld of %lld records (%.0f%%), %.0f records/s\n", (long long)ops,
                    (long long)total, 100.0 * ops / total, ops / ((now - t0) / 1e9));
            last_progress = now;
        }
    }
}

/* --- a phase ------------------------------------------------------------------------------- */

static int open_workers(const struct ycsb_opts *o, struct ycsb_workload *w, struct worker *ks, int64_t total)
{
    for (uint32_t i = 0; i < o->threads; i++) {
        struct worker *k = &ks[i];
        k->o = o, k->w = w, k->id = i, k->todo = share(total, o->threads, i);
        ycsb_thread_state_init(w, i, &k->ts);
        ycsb_measure_init(&k->m);
        if (ycsb_db_init(&k->db, w, &k->ts, &k->m) != 0)
            return -1;
        if (connect_worker(k) != 0) {
            char why[300];
            snprintf(why, sizeof why, "%s", cxl_last_error());
            return cxl_fail(CXL_ESYS, "thread %u: cannot connect: %s", i, why);
        }
    }
    return 0;
}

static void close_workers(struct worker *ks, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        cxl_kv_any_close(ks[i].db.kv);
        ycsb_db_free(&ks[i].db);
    }
}

int ycsb_run(const struct ycsb_opts *o, struct ycsb_workload *w, struct ycsb_result *res)
{
    int64_t total = o->run ? (w->operationcount ? w->operationcount : INT64_MAX / 2) : w->insertcount;
    *res = (struct ycsb_result){0}; /* (a phase that cannot start reports nothing) */
    struct worker *ks = calloc(o->threads, sizeof *ks);
    pthread_barrier_t go;
    if (!ks)
        return cxl_fail(CXL_ESYS, "out of memory");
    int rc = open_workers(o, w, ks, total);
    if (rc) {
        close_workers(ks, o->threads);
        free(ks);
        return rc;
    }
    pthread_barrier_init(&go, NULL, o->threads + 1);
    uint32_t started = 0;
    for (; started < o->threads; started++) {
        ks[started].go = &go;
        if (pthread_create(&ks[started].thread, NULL, worker_main, &ks[started]) != 0)
            break;
    }
    if (started < o->threads) { /* (the barrier cannot be left half way: stop here) */
        fprintf(stderr, "cxl_ycsb: cannot start thread %u\n", started);
        exit(YCSB_EXIT_FAIL);
    }
    uint64_t t0 = cxl_now_ns();
    for (uint32_t i = 0; i < o->threads; i++) {
        ks[i].start_ns = t0;
        ks[i].deadline_ns = w->maxexecutiontime ? t0 + (uint64_t)w->maxexecutiontime * 1000000000ull : 0;
    }
    pthread_barrier_wait(&go);
    watch(o, ks, total);
    *res = (struct ycsb_result){0};
    ycsb_measure_init(&res->total);
    uint64_t end = t0;
    for (uint32_t i = 0; i < o->threads; i++) {
        pthread_join(ks[i].thread, NULL);
        end = ks[i].end_ns > end ? ks[i].end_ns : end; /* the last thread's end, not the watcher's */
        ycsb_measure_merge(&res->total, &ks[i].m);
        res->operations += (uint64_t)atomic_load(&ks[i].done);
        if (ks[i].stopped[0]) {
            fprintf(stderr, "cxl_ycsb: %s\n", ks[i].stopped);
            rc = CXL_ESYS;
        }
    }
    res->seconds = (end - t0) / 1e9;
    pthread_barrier_destroy(&go);
    close_workers(ks, o->threads);
    free(ks);
    return rc;
}
