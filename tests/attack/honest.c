/* honest.c - the honest clients of the attacker suite: A on ring 1, B on
 * ring 2. Each runs batches of GET, SET, GET on its own keys, checks every
 * result against what it knows about its keys (a wrong value is recorded
 * on the board), publishes its counters, and stops at a batch boundary
 * when the attacker holds it. Owns honest_main (a process). */
#define _GNU_SOURCE
#include "attack.h"

/* --- honest clients ---------------------------------------------------------------- */

/* What a client knows about one of its keys: the value it confirmed last
 * (or none: NIL), and the SETs whose outcome it could not learn. A server
 * ERR means "refused, not executed" (docs/SECURITY.md), so it adds nothing. */
struct key_model {
    int set;
    uint64_t confirmed;
    uint64_t maybe[MAX_MAYBE];
    unsigned nmaybe;
};

struct expect {
    unsigned key;
    int is_set;
    uint64_t n; /* SET: the value's counter */
};

struct client {
    int who;
    struct cli_board *b;
    struct cxl_keyring *kr;
    struct cxl_kv *kv;
    struct key_model keys[NKEYS];
    uint64_t counter, batch;
};

static void key_of(int who, unsigned k, char *out, size_t cap)
{
    snprintf(out, cap, "HONESTKEY-%c-%u", 'A' + who, k);
}

static void value_of(int who, unsigned k, uint64_t n, char out[VAL_LEN + 1])
{
    int m = snprintf(out, VAL_LEN + 1, "HONESTVAL-%c-k%u-n%" PRIu64 "-", 'A' + who, k, n);
    memset(out + m, '.', VAL_LEN - (size_t)m);
    out[VAL_LEN] = '\0';
}

static int value_is(int who, unsigned k, uint64_t n, const uint8_t *v, uint32_t len)
{
    char want[VAL_LEN + 1];
    value_of(who, k, n, want);
    return len == VAL_LEN && memcmp(v, want, VAL_LEN) == 0;
}

static void wrong(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wrong(struct client *c, const char *fmt, ...)
{
    if (INC(c->b->wrong) > 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->b->wrong_text, sizeof c->b->wrong_text, fmt, ap);
    va_end(ap);
}

static void got_value(struct client *c, unsigned k, const struct cxl_kv_result *r)
{
    struct key_model *m = &c->keys[k];
    if (m->set && value_is(c->who, k, m->confirmed, r->data, r->len)) {
        m->nmaybe = 0;
        return;
    }
    for (unsigned i = 0; i < m->nmaybe; i++)
        if (value_is(c->who, k, m->maybe[i], r->data, r->len)) {
            m->set = 1;
            m->confirmed = m->maybe[i];
            m->nmaybe = 0;
            return;
        }
    wrong(c, "GET of key %u returned '%.*s' (confirmed: %s n%" PRIu64 ", %u unknown SETs)", k,
          (int)(r->len < 60 ? r->len : 60), (const char *)r->data, m->set ? "value" : "none",
          m->confirmed, m->nmaybe);
}

static void got_nil(struct client *c, unsigned k)
{
    if (c->keys[k].set)
        wrong(c, "GET of key %u returned NIL, but n%" PRIu64 " was confirmed", k, c->keys[k].confirmed);
    c->keys[k].nmaybe = 0;
}

static void add_maybe(struct key_model *m, uint64_t n)
{
    if (m->nmaybe == MAX_MAYBE)
        memmove(m->maybe, m->maybe + 1, (MAX_MAYBE - 1) * sizeof m->maybe[0]);
    m->maybe[m->nmaybe < MAX_MAYBE ? m->nmaybe++ : MAX_MAYBE - 1] = n;
}

static void on_result(struct client *c, const struct expect *e, const struct cxl_kv_result *r)
{
    struct cli_board *b = c->b;
    INC(b->ops);
    if (r->status < 0) { /* no answer we can trust: a SET may or may not have run */
        INC(*(r->status == CXL_ECRYPTO ? &b->err_crypto : &b->err_other));
        if (e->is_set)
            add_maybe(&c->keys[e->key], e->n);
        return;
    }
    if (r->status == CXL_KV_ERR) {
        INC(b->err_server);
        return;
    }
    if (r->status == CXL_KV_OK && e->is_set && r->len == 0) {
        INC(b->ok);
        c->keys[e->key] = (struct key_model){.set = 1, .confirmed = e->n};
    } else if (r->status == CXL_KV_OK && !e->is_set) {
        INC(b->ok);
        got_value(c, e->key, r);
    } else if (r->status == CXL_KV_NIL && !e->is_set) {
        INC(b->nil);
        got_nil(c, e->key);
    } else {
        wrong(c, "%s of key %u answered with status %d and %u bytes", e->is_set ? "SET" : "GET", e->key,
              r->status, r->len);
    }
}

static void client_fail(struct client *c, const char *what, int rc)
{
    snprintf(c->b->fail_text, sizeof c->b->fail_text, "%s: %s (%s)", what, cxl_strerror(rc), cxl_last_error());
    ST(c->b->failed, 1);
}

static int submit(struct client *c, unsigned k, int is_set, struct expect *ex, unsigned *n)
{
    char key[32], val[VAL_LEN + 1];
    key_of(c->who, k, key, sizeof key);
    uint64_t tag = c->batch * 16 + *n;
    int rc;
    if (is_set) {
        value_of(c->who, k, ++c->counter, val);
        rc = cxl_kv_submit_set(c->kv, key, (uint32_t)strlen(key), val, VAL_LEN, 0, tag);
    } else {
        rc = cxl_kv_submit_get(c->kv, key, (uint32_t)strlen(key), tag);
    }
    if (rc == 0)
        ex[(*n)++] = (struct expect){.key = k, .is_set = is_set, .n = c->counter};
    else
        INC(c->b->submit_err);
    return rc == CXL_ELOST ? rc : 0;
}

static void publish_stats(struct client *c)
{
    struct cxl_kv_stats st;
    cxl_kv_get_stats(c->kv, &st);
    ST(c->b->kv_rejected, st.rejected);
    ST(c->b->kv_resyncs, st.resyncs);
    ST(c->b->kv_lost, st.lost);
    ST(c->b->kv_timeouts, st.timeouts);
    ST(c->b->kv_stale, st.stale);
}

/* One batch: GET, SET, GET on BATCH_KEYS keys, then every result checked in
 * order against what this client knows. */
static void run_batch(struct client *c)
{
    struct expect ex[BATCH_MSGS];
    unsigned n = 0;
    int rc = 0;
    for (unsigned j = 0; j < BATCH_KEYS && rc == 0; j++) {
        unsigned k = (unsigned)((c->batch * BATCH_KEYS + j) % NKEYS);
        rc = submit(c, k, 0, ex, &n);
        if (rc == 0)
            rc = submit(c, k, 1, ex, &n);
        if (rc == 0)
            rc = submit(c, k, 0, ex, &n);
    }
    for (unsigned i = 0; i < n && rc == 0; i++) {
        struct cxl_kv_result r;
        rc = cxl_kv_wait(c->kv, &r);
        if (rc != 1)
            break;
        rc = 0;
        if (r.tag != c->batch * 16 + i)
            wrong(c, "result %u of batch %" PRIu64 " has tag %" PRIu64, i, c->batch, r.tag);
        on_result(c, &ex[i], &r);
    }
    if (rc < 0)
        client_fail(c, "the ring is unusable", rc);
    c->batch++;
    publish_stats(c);
    INC(c->b->batches);
}

/* The attacker may hold the client at a batch boundary (nothing in flight)
 * and let it run single batches. */
static void hold_point(struct client *c)
{
    struct cli_board *b = c->b;
    if (!LD(b->hold))
        return;
    ST(b->idle, 1);
    while (LD(b->hold) && !LD(bd->stop_clients)) {
        int s = LD(b->steps);
        if (s > 0 && __atomic_compare_exchange_n(&b->steps, &s, s - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
        usleep(50);
    }
    ST(b->idle, 0);
}

int honest_main(int who)
{
    struct client c = {.who = who, .b = &bd->cli[who]};
    int rc = cxl_keyring_open_manager(mgr.addr, (uint16_t)(NODE_A + who), cfg.key[2 + who], &c.kr);
    struct cxl_kv_config kc;
    cxl_kv_config_init(&kc);
    kc.medium.path = cfg.medium;
    kc.ring = 1 + who;
    kc.keys = c.kr;
    kc.node_id = (uint16_t)(NODE_A + who);
    kc.timeout_ms = CLIENT_TIMEOUT_MS;
    kc.claim_wait_ms = 5000;
    kc.spin_us = 20;
    kc.yield_us = 100;
    kc.max_sleep_us = 50;
    if (rc == 0)
        rc = cxl_kv_open(&kc, &c.kv);
    if (rc)
        client_fail(&c, "open", rc);
    while (!rc && !LD(c.b->failed) && !LD(bd->stop_clients)) {
        hold_point(&c);
        if (!LD(bd->stop_clients))
            run_batch(&c);
    }
    cxl_kv_close(c.kv);
    cxl_keyring_close(c.kr);
    return LD(c.b->failed) ? 1 : 0;
}
