/* bench.c - the ring benchmark: T threads, one ring each, run every op of
 * --ops for --bench requests per thread. Threads start each phase together
 * (a barrier) and every reply is checked: a wrong status or value is counted
 * as an error and makes the run exit non-zero. Values are a pure function of
 * the key, so any thread can verify any key. A GET phase with no SET before
 * it in this run loads the keyspace first (untimed). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "report/latency.h"
#include "cxl/wait.h"

struct worker {
    const struct client_opts *o;
    uint32_t id;
    struct cxl_kv_any *db;
    pthread_t thread;
    pthread_barrier_t *barrier;
    const enum bench_op *phase; /* op of the current phase (shared) */
    uint8_t *key, *val, *expect;
    uint64_t *t_submit;         /* per window position, with --latency */
    struct cxl_hist hist;
    uint64_t errors, done;
    char first_error[200];
    double t0, t1;
};

static uint64_t keyspace(const struct client_opts *o)
{
    return o->keyspace ? o->keyspace : o->bench * o->threads;
}

/* Decimal digits of k into the end of buf[24]; returns how many. */
static int u64_digits(char buf[24], uint64_t k)
{
    int n = 0;
    do {
        buf[23 - n++] = (char)('0' + k % 10);
        k /= 10;
    } while (k);
    memmove(buf, buf + 24 - n, (size_t)n);
    return n;
}

/* <prefix><index>, the index zero-padded to key_size (or longer if it must be) */
static uint32_t make_key(const struct client_opts *o, uint8_t *buf, uint64_t k)
{
    char digits[24];
    int n = u64_digits(digits, k);
    uint32_t p = (uint32_t)strlen(o->key_prefix);
    uint32_t len = o->key_size > (uint32_t)n + p ? o->key_size : (uint32_t)n + p;
    memcpy(buf, o->key_prefix, p);
    memset(buf + p, '0', len - p - (uint32_t)n);
    memcpy(buf + len - (uint32_t)n, digits, (size_t)n);
    return len;
}

/* The value of key k: the alphabet, starting at letter (7k mod 26). */
static void make_value(const struct client_opts *o, uint8_t *buf, uint64_t k)
{
    static const char twice[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz";
    const char *from = twice + (k * 7) % 26;
    for (uint32_t j = 0; j < o->val_size; j += 26)
        memcpy(buf + j, from, o->val_size - j < 26 ? o->val_size - j : 26);
}

static void error_at(struct worker *w, uint64_t tag, const char *what, const struct cxl_kv_result *r)
{
    if (w->errors++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "request %llu: %s (status %d: %.*s)",
                 (unsigned long long)tag, what, r->status, (int)(r->len < 100 ? r->len : 100),
                 (const char *)r->data);
}

/* Is this the reply the op must get? */
static void verify(struct worker *w, enum bench_op op, const struct cxl_kv_result *r)
{
    const struct client_opts *o = w->o;
    uint64_t k = (w->id * o->bench + r->tag) % keyspace(o);
    char bulk[64];
    switch (op) {
    case OP_SET:
        if (r->status != CXL_KV_OK)
            error_at(w, r->tag, "SET not OK", r);
        return;
    case OP_GET:
        make_value(o, w->expect, k);
        if (r->status != CXL_KV_OK || r->len != o->val_size || memcmp(r->data, w->expect, r->len))
            error_at(w, r->tag, "GET returned another value", r);
        return;
    case OP_DEL:
        if (r->status != CXL_KV_INT || r->integer < 0 || r->integer > 1)
            error_at(w, r->tag, "DEL not 0 or 1", r);
        return;
    case OP_INCR:
        if (r->status != CXL_KV_REPLY || r->len < 4 || r->data[0] != ':')
            error_at(w, r->tag, "INCR not an integer", r);
        return;
    case OP_PING:
        if (r->status != CXL_KV_REPLY || r->len != 7 || memcmp(r->data, "+PONG\r\n", 7))
            error_at(w, r->tag, "PING not PONG", r);
        return;
    case OP_CMD_SET:
        if (r->status != CXL_KV_REPLY || r->len != 5 || memcmp(r->data, "+OK\r\n", 5))
            error_at(w, r->tag, "SET not +OK", r);
        return;
    case OP_CMD_GET: {
        make_value(o, w->expect, k);
        int n = snprintf(bulk, sizeof bulk, "$%u\r\n", o->val_size);
        if (r->status != CXL_KV_REPLY || r->len != (uint32_t)n + o->val_size + 2 ||
            memcmp(r->data, bulk, (size_t)n) || memcmp(r->data + n, w->expect, o->val_size))
            error_at(w, r->tag, "GET returned another value", r);
        return;
    }
    default:
        return;
    }
}

static int submit(struct worker *w, enum bench_op op, uint64_t tag)
{
    const struct client_opts *o = w->o;
    uint64_t k = (w->id * o->bench + tag) % keyspace(o);
    uint32_t klen = make_key(o, w->key, k);
    const char *argv[3];
    size_t lens[3];
    char counter[32];
    switch (op) {
    case OP_SET:
        make_value(o, w->val, k);
        return cxl_kv_any_set(w->db, w->key, klen, w->val, o->val_size, tag);
    case OP_GET: return cxl_kv_any_get(w->db, w->key, klen, tag);
    case OP_DEL: return cxl_kv_any_del(w->db, w->key, klen, tag);
    case OP_INCR:
        lens[1] = (size_t)snprintf(counter, sizeof counter, "counter:%u", w->id);
        argv[0] = "INCR", lens[0] = 4, argv[1] = counter;
        return cxl_kv_any_command(w->db, 2, argv, lens, tag);
    case OP_PING:
        argv[0] = "PING", lens[0] = 4;
        return cxl_kv_any_command(w->db, 1, argv, lens, tag);
    case OP_CMD_SET:
        make_value(o, w->val, k);
        argv[0] = "SET", lens[0] = 3, argv[1] = (const char *)w->key, lens[1] = klen;
        argv[2] = (const char *)w->val, lens[2] = o->val_size;
        return cxl_kv_any_command(w->db, 3, argv, lens, tag);
    case OP_CMD_GET:
        argv[0] = "GET", lens[0] = 3, argv[1] = (const char *)w->key, lens[1] = klen;
        return cxl_kv_any_command(w->db, 2, argv, lens, tag);
    default:
        return CXL_EINVAL;
    }
}

static void complete(struct worker *w, enum bench_op op, const struct cxl_kv_result *r)
{
    if (w->o->latency)
        cxl_hist_record(&w->hist, cxl_now_ns() - w->t_submit[r->tag % w->o->max_inflight]);
    verify(w, op, r);
    w->done++;
}

/* N requests of one op, at most max_inflight outstanding. */
static int run_phase(struct worker *w, enum bench_op op)
{
    const struct client_opts *o = w->o;
    uint64_t sent = 0, window = o->max_inflight;
    struct cxl_kv_result r;
    w->done = 0;
    while (w->done < o->bench) {
        while (sent < o->bench && sent - w->done < window) {
            int rc = submit(w, op, sent);
            if (rc == CXL_EAGAIN)
                break;
            if (rc) {
                snprintf(w->first_error, sizeof w->first_error, "submit: %s", cxl_last_error());
                return -1;
            }
            if (o->latency)
                w->t_submit[sent % window] = cxl_now_ns();
            sent++;
        }
        int rc = cxl_kv_any_wait(w->db, &r); /* flushes, then waits for one */
        if (rc < 0 || (rc == 0 && sent == w->done)) {
            snprintf(w->first_error, sizeof w->first_error, "wait: %s", cxl_last_error());
            return -1;
        }
        if (rc == 1)
            complete(w, op, &r);
        while (cxl_kv_any_poll(w->db, &r) == 1)
            complete(w, op, &r);
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        pthread_barrier_wait(w->barrier); /* phase start (or exit) */
        enum bench_op op = *w->phase;
        if (op == OP_COUNT)
            return NULL;
        cxl_hist_init(&w->hist);
        w->errors = 0;
        w->t0 = cxl_now_ns() / 1e9;
        if (run_phase(w, op) != 0)
            w->errors++;
        w->t1 = cxl_now_ns() / 1e9;
        pthread_barrier_wait(w->barrier); /* phase end */
    }
}

static int open_workers(const struct client_opts *o, struct worker *ws, pthread_barrier_t *b,
                        const enum bench_op *phase)
{
    for (uint32_t i = 0; i < o->threads; i++) {
        struct worker *w = &ws[i];
        *w = (struct worker){.o = o, .id = i, .barrier = b, .phase = phase};
        size_t kmax = o->key_size + strlen(o->key_prefix) + 32;
        w->key = malloc(kmax);
        w->val = malloc(o->val_size + 1);
        w->expect = malloc(o->val_size + 1);
        w->t_submit = calloc(o->max_inflight, sizeof *w->t_submit);
        if (!w->key || !w->val || !w->expect || !w->t_submit) {
            fprintf(stderr, "cxl_ring_direct: out of memory\n");
            return -1;
        }
        if (transport_open(o, i, &w->db) != 0) {
            fprintf(stderr, "cxl_ring_direct: thread %u: %s\n", i, cxl_last_error());
            return -1;
        }
    }
    return 0;
}

static void close_workers(const struct client_opts *o, struct worker *ws)
{
    for (uint32_t i = 0; i < o->threads; i++) {
        cxl_kv_any_close(ws[i].db);
        free(ws[i].key);
        free(ws[i].val);
        free(ws[i].expect);
        free(ws[i].t_submit);
    }
}

/* Run one phase on all threads; fill p from their counters. */
static void phase(const struct client_opts *o, struct worker *ws, pthread_barrier_t *b,
                  enum bench_op *cur, enum bench_op op, struct phase_result *p)
{
    struct cxl_kv_stats before[MAX_THREADS];
    for (uint32_t i = 0; i < o->threads; i++)
        cxl_kv_any_stats(ws[i].db, &before[i]);
    *cur = op;
    pthread_barrier_wait(b); /* go */
    pthread_barrier_wait(b); /* all done */
    *p = (struct phase_result){.op = op, .requests = o->bench * o->threads,
                               .rings = cxl_kv_any_rings(ws[0].db)};
    double t0 = ws[0].t0, t1 = ws[0].t1;
    for (uint32_t i = 0; i < o->threads; i++) {
        struct worker *w = &ws[i];
        struct cxl_kv_stats s;
        cxl_kv_any_stats(w->db, &s);
        t0 = w->t0 < t0 ? w->t0 : t0;
        t1 = w->t1 > t1 ? w->t1 : t1;
        p->errors += w->errors;
        p->push_retries += s.full - before[i].full;
        p->waited_ns += s.waited_ns - before[i].waited_ns;
        p->sleeps += s.sleeps - before[i].sleeps;
        p->lost += s.lost - before[i].lost;
        p->timeouts += s.timeouts - before[i].timeouts;
        if (w->errors)
            fprintf(stderr, "cxl_ring_direct: %s thread %u: %llu errors, first: %s\n", bench_op_name(op), i,
                    (unsigned long long)w->errors, w->first_error);
        if (o->latency && i > 0)
            cxl_hist_merge(&ws[0].hist, &w->hist);
    }
    p->seconds = t1 - t0;
    p->hist = o->latency ? &ws[0].hist : NULL;
}

/* --cluster: what the threads' cluster clients had to follow, summed. */
static void report_cluster(const struct worker *ws, uint32_t opened)
{
    struct cxl_kvc_stats sum = {0}, s;
    for (uint32_t i = 0; i < opened; i++) {
        cxl_kv_any_cluster_stats(ws[i].db, &s);
        sum.moved += s.moved, sum.asked += s.asked, sum.retried += s.retried, sum.refreshes += s.refreshes;
        sum.node_failures += s.node_failures, sum.ring_fallbacks += s.ring_fallbacks;
    }
    printf("cluster: %llu MOVED and %llu ASK followed, %llu retried (TRYAGAIN, CLUSTERDOWN), %llu map refreshes, "
           "%llu node failures, %llu pod nodes over TCP (ring unusable)\n",
           (unsigned long long)sum.moved, (unsigned long long)sum.asked, (unsigned long long)sum.retried,
           (unsigned long long)sum.refreshes, (unsigned long long)sum.node_failures,
           (unsigned long long)sum.ring_fallbacks);
}

int bench_run(const struct client_opts *o)
{
    struct worker *ws = calloc(o->threads, sizeof *ws);
    pthread_barrier_t b;
    enum bench_op cur = OP_COUNT;
    if (!ws || pthread_barrier_init(&b, NULL, o->threads + 1) != 0)
        return CLIENT_EXIT_FAIL;
    int rc = open_workers(o, ws, &b, &cur) == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_FAIL;
    uint32_t started = 0;
    for (; rc == CLIENT_EXIT_OK && started < o->threads; started++)
        if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0)
            rc = CLIENT_EXIT_FAIL;
    int loaded = 0;
    for (uint32_t i = 0; rc == CLIENT_EXIT_OK && i < o->nops; i++) {
        enum bench_op op = o->ops[i];
        struct phase_result p;
        if ((op == OP_GET || op == OP_CMD_GET) && !loaded) { /* untimed load */
            phase(o, ws, &b, &cur, OP_SET, &p);
            if (p.errors)
                rc = CLIENT_EXIT_FAIL;
        }
        loaded |= op == OP_SET || op == OP_CMD_SET;
        if (rc != CLIENT_EXIT_OK)
            break;
        phase(o, ws, &b, &cur, op, &p);
        report_phase(o, &p);
        if (report_csv(o, &p) != 0 || p.errors)
            rc = CLIENT_EXIT_FAIL;
        loaded &= op != OP_DEL;
    }
    if (started == o->threads) { /* release the threads */
        cur = OP_COUNT;
        pthread_barrier_wait(&b);
    }
    for (uint32_t i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    if (o->cluster && started == o->threads)
        report_cluster(ws, started);
    close_workers(o, ws);
    pthread_barrier_destroy(&b);
    free(ws);
    return rc;
}
