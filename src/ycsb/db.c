/* db.c - the data model, YCSB's Redis binding's, on every transport
 * (docs/YCSB.md, "One data model"): a record is a hash (HSET, HGETALL,
 * HMGET), every key is also in the sorted set _indices scored by the Java
 * hash of the key (ZADD), a scan is ZRANGEBYSCORE _indices from the start
 * key's score with LIMIT then a read of each key, a delete DEL + ZREM.
 * redis.model=string keeps a record as one value (field=value&...: SET,
 * GET) and the same index. An operation's commands go one after the
 * other, each waited for, as YCSB's binding sends them (an insert is two
 * round trips, a scan of n keys 1 + n); with ycsb.batch=true they are
 * submitted together (an insert one round trip, a scan two). The same on
 * every transport. Every value read is checked against the one its key and field
 * determine (ycsb_value_ok). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "cxl/wait.h"
#include "net/resp.h"
#include "ycsb.h"

#define INDEX_KEY "_indices"
#define MAX_ARGS (2 + 2 * YCSB_MAX_FIELDS)
#define SCAN_WINDOW 128 /* ycsb.batch: a scan's reads in flight at most */

struct cmd {
    int argc;
    const char *argv[MAX_ARGS];
    size_t len[MAX_ARGS];
};

static void arg(struct cmd *c, const char *s, size_t n)
{
    c->argv[c->argc] = s;
    c->len[c->argc++] = n;
}
#define ARG(c, s) arg((c), (s), sizeof(s) - 1)

static enum ycsb_return fail(struct ycsb_db *d, enum ycsb_return r, const char *fmt, const char *what,
                             size_t n)
{
    snprintf(d->error, sizeof d->error, fmt, (int)(n > 120 ? 120 : n), what);
    return r;
}

static int submit(struct ycsb_db *d, const struct cmd *c)
{
    int rc = cxl_kv_any_command(d->kv, c->argc, c->argv, c->len, 0);
    if (rc) {
        d->broken = rc != CXL_E2BIG;
        fail(d, RET_ERROR, "cannot send: %.*s", cxl_strerror(rc), strlen(cxl_strerror(rc)));
    }
    return rc;
}

/* The next reply: RET_OK with *r, or RET_ERROR (an error reply, or the
 * transport failed: then the connection is broken). */
static enum ycsb_return next_reply(struct ycsb_db *d, struct cxl_kv_result *r)
{
    int rc = cxl_kv_any_wait(d->kv, r);
    if (rc != 1) {
        d->broken = 1;
        return fail(d, RET_ERROR, "transport: %.*s", rc ? cxl_last_error() : "no reply", 40);
    }
    if (r->status < 0) { /* this request failed in transport (timed out, the server gone) */
        d->broken = 1;
        return fail(d, RET_ERROR, "%.*s", r->data ? (const char *)r->data : cxl_strerror(r->status),
                    r->data ? r->len : strlen(cxl_strerror(r->status)));
    }
    if (r->status == CXL_KV_ERR || (r->status == CXL_KV_REPLY && r->len && r->data[0] == '-'))
        return fail(d, RET_ERROR, "Redis: %.*s", (const char *)r->data, r->len);
    if (r->status != CXL_KV_REPLY)
        return fail(d, RET_ERROR, "unexpected result kind %.*s", "", 0);
    return RET_OK;
}

/* Wait for n replies whose content does not matter beyond not being errors. */
static enum ycsb_return drain(struct ycsb_db *d, int n)
{
    enum ycsb_return worst = RET_OK;
    struct cxl_kv_result r;
    for (int i = 0; i < n && !d->broken; i++) {
        enum ycsb_return got = next_reply(d, &r);
        if (got != RET_OK)
            worst = got;
    }
    return d->broken ? RET_ERROR : worst;
}

/* "field<f>" into buf (f < YCSB_MAX_FIELDS): its length */
static size_t field_name(int64_t f, char buf[24])
{
    return (size_t)snprintf(buf, 24, "field%d", (int)(f % 100000000));
}

int ycsb_db_init(struct ycsb_db *d, struct ycsb_workload *w, struct ycsb_thread_state *t,
                 struct ycsb_measure *m)
{
    size_t fields = (size_t)w->fieldcount, scans = (size_t)w->maxscanlength;
    *d = (struct ycsb_db){.w = w, .t = t, .m = m};
    d->record_cap = fields * (24 + (size_t)w->fieldlength);
    d->values = malloc(fields * (size_t)w->fieldlength);
    d->value_len = calloc(fields, sizeof *d->value_len);
    d->field_names = calloc(fields, sizeof *d->field_names);
    d->record = malloc(d->record_cap);
    d->scan_keys = calloc(scans, sizeof *d->scan_keys);
    d->scan_klens = calloc(scans, sizeof *d->scan_klens);
    d->seen = calloc(fields, 1);
    d->scratch = malloc(YCSB_SCRATCH(w));
    if (!d->values || !d->value_len || !d->field_names || !d->record || !d->scan_keys || !d->scan_klens ||
        !d->seen || !d->scratch) {
        ycsb_db_free(d);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    return 0;
}

void ycsb_db_free(struct ycsb_db *d)
{
    free(d->values);
    free(d->value_len);
    free(d->field_names);
    free(d->record);
    free(d->scan_keys);
    free(d->scan_klens);
    free(d->seen);
    free(d->scratch);
    *d = (struct ycsb_db){0};
}

/* --- writes --------------------------------------------------------------------------- */

/* The record's values: fields [first, last] into d->values. */
static void make_values(struct ycsb_db *d, const char *key, size_t klen, int64_t first, int64_t last)
{
    for (int64_t f = first; f <= last; f++)
        d->value_len[f] = ycsb_field_value(d->w, d->t, key, klen, f, d->values + f * d->w->fieldlength, d->scratch);
}

/* field=value&field=value ... (redis.model=string), into buf of cap bytes */
static size_t encode_record(struct ycsb_db *d, char *buf, size_t cap)
{
    size_t n = 0;
    for (int64_t f = 0; f < d->w->fieldcount; f++) {
        char name[24];
        size_t nl = field_name(f, name);
        if (n + nl + 2 + d->value_len[f] > cap)
            break;
        if (f)
            buf[n++] = '&';
        memcpy(buf + n, name, nl), n += nl;
        buf[n++] = '=';
        memcpy(buf + n, d->values + f * d->w->fieldlength, d->value_len[f]), n += d->value_len[f];
    }
    return n;
}

static int submit_write(struct ycsb_db *d, const char *key, size_t klen, int64_t first, int64_t last)
{
    struct cmd c;
    c.argc = 0;
    make_values(d, key, klen, d->w->model == MODEL_STRING ? 0 : first,
                d->w->model == MODEL_STRING ? d->w->fieldcount - 1 : last);
    if (d->w->model == MODEL_STRING) { /* a record is one value: written whole */
        ARG(&c, "SET");
        arg(&c, key, klen);
        arg(&c, d->record, encode_record(d, d->record, d->record_cap));
        return submit(d, &c);
    }
    ARG(&c, "HSET");
    arg(&c, key, klen);
    for (int64_t f = first; f <= last; f++) {
        size_t nl = field_name(f, d->field_names[f]);
        arg(&c, d->field_names[f], nl);
        arg(&c, d->values + f * d->w->fieldlength, d->value_len[f]);
    }
    return submit(d, &c);
}

static int submit_index(struct ycsb_db *d, const char *verb, const char *key, size_t klen)
{
    char score[16];
    struct cmd c;
    c.argc = 0;
    arg(&c, verb, strlen(verb));
    ARG(&c, INDEX_KEY);
    if (strcmp(verb, "ZADD") == 0)
        arg(&c, score, (size_t)snprintf(score, sizeof score, "%d", ycsb_java_hash(key, klen)));
    arg(&c, key, klen);
    return submit(d, &c);
}

/* The record's command is submitted; its index command follows: after the
 * record's reply (YCSB's binding: each command waited for), or with it
 * (ycsb.batch: one round trip). */
static enum ycsb_return then_index(struct ycsb_db *d, const char *verb, const char *key, size_t klen)
{
    if (!d->w->batch) {
        enum ycsb_return r = drain(d, 1);
        if (r != RET_OK)
            return r;
    }
    if (submit_index(d, verb, key, klen))
        return RET_ERROR;
    return drain(d, d->w->batch ? 2 : 1);
}

enum ycsb_return ycsb_db_insert(struct ycsb_db *d, int64_t keynum)
{
    char key[YCSB_KEY_MAX];
    size_t klen = ycsb_key_name(d->w, keynum, key);
    if (submit_write(d, key, klen, 0, d->w->fieldcount - 1))
        return RET_ERROR;
    return then_index(d, "ZADD", key, klen);
}

enum ycsb_return ycsb_db_update(struct ycsb_db *d, int64_t keynum, int64_t field)
{
    char key[YCSB_KEY_MAX];
    size_t klen = ycsb_key_name(d->w, keynum, key);
    int64_t first = field < 0 ? 0 : field, last = field < 0 ? d->w->fieldcount - 1 : field;
    if (submit_write(d, key, klen, first, last))
        return RET_ERROR;
    return drain(d, 1);
}

enum ycsb_return ycsb_db_delete(struct ycsb_db *d, int64_t keynum)
{
    char key[YCSB_KEY_MAX];
    size_t klen = ycsb_key_name(d->w, keynum, key);
    struct cmd c;
    c.argc = 0;
    ycsb_key_mark_deleted(d->w, keynum); /* before: a reader that misses it then knows why */
    ARG(&c, "DEL");
    arg(&c, key, klen);
    if (submit(d, &c))
        return RET_ERROR;
    return then_index(d, "ZREM", key, klen);
}

/* --- reads and their checks ----------------------------------------------------------- */

static int submit_read(struct ycsb_db *d, const char *key, size_t klen, int64_t field)
{
    char name[24];
    struct cmd c;
    c.argc = 0;
    if (d->w->model == MODEL_STRING)
        ARG(&c, "GET");
    else if (field < 0)
        ARG(&c, "HGETALL");
    else
        ARG(&c, "HMGET");
    arg(&c, key, klen);
    if (field >= 0 && d->w->model == MODEL_HASH)
        arg(&c, name, field_name(field, name));
    return submit(d, &c);
}

/* "field<N>" with N < fieldcount: N, else -1 */
static int64_t field_number(const struct ycsb_workload *w, const uint8_t *s, size_t n)
{
    if (n < 6 || n > 5 + 7 || memcmp(s, "field", 5) != 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 5; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || (i == 5 && s[i] == '0' && n > 6))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < w->fieldcount ? v : -1;
}

/* One bulk string of a reply at *p: 1 with its bytes, 0 for nil, -1 malformed. */
static int bulk(const uint8_t **p, const uint8_t *end, const uint8_t **s, size_t *n)
{
    struct cxl_resp_elem e;
    int64_t used = cxl_resp_elem(*p, (size_t)(end - *p), &e);
    if (used <= 0 || e.type != '$')
        return -1;
    *p += used;
    *s = e.str, *n = e.len;
    return e.nil ? 0 : 1;
}

struct check {
    const char *key;
    size_t klen;
    int64_t field; /* -1: every field */
    int deleted;   /* the key was deleted before the reply came */
};

static enum ycsb_return unexpected(struct ycsb_db *d, const struct check *k, const char *what)
{
    snprintf(d->error, sizeof d->error, "%.*s: %s", (int)k->klen, k->key, what);
    return RET_UNEXPECTED;
}

/* HGETALL's reply: every field once, each value right. */
static enum ycsb_return check_all(struct ycsb_db *d, const struct check *k, const uint8_t *p, const uint8_t *end,
                                  int64_t pairs)
{
    uint8_t *seen = d->seen;
    memset(seen, 0, (size_t)d->w->fieldcount);
    for (int64_t i = 0; i < pairs; i++) {
        const uint8_t *name, *val;
        size_t nl, vl;
        if (bulk(&p, end, &name, &nl) != 1 || bulk(&p, end, &val, &vl) != 1)
            return unexpected(d, k, "a malformed HGETALL reply");
        int64_t f = field_number(d->w, name, nl);
        if (f < 0 || seen[f]++)
            return unexpected(d, k, "a field that is not the record's, or twice");
        if (!ycsb_value_ok(d->w, k->key, k->klen, f, val, vl, d->scratch))
            return unexpected(d, k, "a wrong value");
    }
    if (pairs == d->w->fieldcount)
        return RET_OK;
    /* a record deleted meanwhile (and partly written again by an update
     * racing the delete): fields missing, every one present right */
    return k->deleted ? RET_NOT_FOUND : unexpected(d, k, "fields missing");
}

/* GET's reply in redis.model=string: field=value&... in field order. */
static enum ycsb_return check_string(struct ycsb_db *d, const struct check *k, const uint8_t *s, size_t n)
{
    const uint8_t *end = s + n;
    for (int64_t f = 0; f < d->w->fieldcount; f++) {
        const uint8_t *eq = memchr(s, '=', (size_t)(end - s));
        if (!eq || field_number(d->w, s, (size_t)(eq - s)) != f)
            return unexpected(d, k, "a malformed record");
        const uint8_t *amp = memchr(eq + 1, '&', (size_t)(end - eq - 1));
        if (amp && f == d->w->fieldcount - 1)
            return unexpected(d, k, "a record longer than its fields");
        const uint8_t *vend = amp ? amp : end;
        if ((k->field < 0 || k->field == f) && !ycsb_value_ok(d->w, k->key, k->klen, f, eq + 1, (size_t)(vend - eq - 1), d->scratch))
            return unexpected(d, k, "a wrong value");
        s = amp ? amp + 1 : end;
    }
    return s == end ? RET_OK : unexpected(d, k, "a record longer than its fields");
}

/* A read's reply, checked: OK, NOT_FOUND (a deleted key), UNEXPECTED_STATE. */
static enum ycsb_return check_read(struct ycsb_db *d, const struct check *k, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len, *s;
    size_t n;
    struct cxl_resp_elem e;
    if (d->w->model == MODEL_STRING) {
        int got = bulk(&p, end, &s, &n);
        if (got < 0)
            return unexpected(d, k, "a malformed GET reply");
        if (got == 0)
            return k->deleted ? RET_NOT_FOUND : unexpected(d, k, "the record is missing");
        return check_string(d, k, s, n);
    }
    int64_t used = cxl_resp_elem(p, len, &e);
    if (used <= 0 || e.type != '*' || e.nil)
        return unexpected(d, k, "a reply that is not an array");
    p += used;
    if (k->field < 0) {
        if (e.integer == 0)
            return k->deleted ? RET_NOT_FOUND : unexpected(d, k, "the record is missing");
        if (e.integer % 2)
            return unexpected(d, k, "an odd HGETALL reply");
        return check_all(d, k, p, end, e.integer / 2);
    }
    int got = e.integer == 1 ? bulk(&p, end, &s, &n) : -1;
    if (got < 0)
        return unexpected(d, k, "a malformed HMGET reply");
    if (got == 0)
        return k->deleted ? RET_NOT_FOUND : unexpected(d, k, "the field is missing");
    return ycsb_value_ok(d->w, k->key, k->klen, k->field, s, n, d->scratch) ? RET_OK : unexpected(d, k, "a wrong value");
}

/* Wait for a read's reply and check it (the check timed as VERIFY). */
static enum ycsb_return finish_read(struct ycsb_db *d, const char *key, size_t klen, int64_t keynum, int64_t field)
{
    struct cxl_kv_result r;
    enum ycsb_return got = next_reply(d, &r);
    if (got != RET_OK)
        return got;
    uint64_t t0 = cxl_now_ns();
    /* a key read back from _indices whose number cannot be known (hashed
     * keys) may have been deleted meanwhile when the run deletes */
    int deleted = keynum < 0 ? d->w->deleted != NULL : ycsb_key_deleted(d->w, keynum);
    struct check k = {.key = key, .klen = klen, .field = field, .deleted = deleted};
    got = check_read(d, &k, r.data, r.len);
    if (d->w->dataintegrity) {
        uint64_t ns = cxl_now_ns() - t0;
        d->verify_ns += ns; /* not the read's latency: YCSB measures the check apart */
        ycsb_measure_record(d->m, OP_VERIFY, ns, got);
    }
    return got;
}

enum ycsb_return ycsb_db_read(struct ycsb_db *d, int64_t keynum, int64_t field)
{
    char key[YCSB_KEY_MAX];
    size_t klen = ycsb_key_name(d->w, keynum, key);
    if (submit_read(d, key, klen, field))
        return RET_ERROR;
    return finish_read(d, key, klen, keynum, field);
}

/* The key number behind a key read back from _indices (a key we did not
 * write: -1). Ordered keys carry it; hashed ones are not reversible, and a
 * deleted hashed key is only known by its missing record. */
static int64_t keynum_of(const struct ycsb_workload *w, const uint8_t *key, size_t n)
{
    if (!w->ordered || n < 5 || memcmp(key, "user", 4) != 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 4; i < n; i++) {
        if (key[i] < '0' || key[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1; /* not a key number of ours */
        v = v * 10 + (key[i] - '0');
    }
    return v;
}

enum ycsb_return ycsb_db_scan(struct ycsb_db *d, int64_t start_keynum, int64_t count, int64_t field)
{
    char(*keys)[YCSB_KEY_MAX] = d->scan_keys;
    size_t *klens = d->scan_klens;
    char start[YCSB_KEY_MAX], score[16], limit[24];
    size_t slen = ycsb_key_name(d->w, start_keynum, start);
    struct cmd c;
    c.argc = 0;
    ARG(&c, "ZRANGEBYSCORE");
    ARG(&c, INDEX_KEY);
    arg(&c, score, (size_t)snprintf(score, sizeof score, "%d", ycsb_java_hash(start, slen)));
    ARG(&c, "+inf");
    ARG(&c, "LIMIT");
    ARG(&c, "0");
    arg(&c, limit, (size_t)snprintf(limit, sizeof limit, "%lld", (long long)count));
    struct cxl_kv_result r;
    if (submit(d, &c))
        return RET_ERROR;
    enum ycsb_return got = next_reply(d, &r);
    if (got != RET_OK)
        return got;
    /* the keys, copied out of the reply before the reads reuse its buffer */
    const uint8_t *p = r.data, *end = r.data + r.len, *s;
    struct cxl_resp_elem e;
    int64_t used = cxl_resp_elem(p, r.len, &e), n = 0;
    if (used <= 0 || e.type != '*' || e.nil || e.integer > count)
        return fail(d, RET_UNEXPECTED, "a ZRANGEBYSCORE reply that is not %.*s", "an array of keys", 16);
    for (p += used; n < e.integer; n++) {
        size_t kl;
        if (bulk(&p, end, &s, &kl) != 1 || kl >= YCSB_KEY_MAX)
            return fail(d, RET_UNEXPECTED, "a key in _indices that is not %.*s", "one of ours", 11);
        memcpy(keys[n], s, kl), klens[n] = kl;
    }
    /* the reads: one after the other (YCSB's binding), or (ycsb.batch) up
     * to SCAN_WINDOW ahead, which every ring's queue holds */
    int64_t ahead = d->w->batch ? SCAN_WINDOW : 1, sent = 0;
    enum ycsb_return worst = RET_OK;
    for (int64_t i = 0; i < n && !d->broken; i++) {
        for (; sent < n && sent < i + ahead; sent++)
            if (submit_read(d, keys[sent], klens[sent], field))
                return RET_ERROR;
        got = finish_read(d, keys[i], klens[i], keynum_of(d->w, (const uint8_t *)keys[i], klens[i]), field);
        if (got != RET_OK && got != RET_NOT_FOUND)
            worst = got;
    }
    return d->broken ? RET_ERROR : worst;
}
