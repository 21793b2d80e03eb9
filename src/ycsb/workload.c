/* workload.c - YCSB's CoreWorkload (docs/YCSB.md): the properties and their
 * defaults, the generators they choose, key names, field values (YCSB's
 * deterministic values, checked on every read), the operation mix and the
 * choice of a key for an operation. Delete is our extension (YCSB's
 * CoreWorkload has none): a deleted key's number is flagged so that later
 * operations never expect it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "ycsb.h"

/* Every property cxl_ycsb knows; anything else is a usage error. */
static const char *const known[] = {
    "workload", "db", "recordcount", "operationcount", "fieldcount", "fieldlength", "minfieldlength",
    "fieldlengthdistribution", "fieldnameprefix", "readproportion", "updateproportion", "insertproportion",
    "scanproportion", "readmodifywriteproportion", "deleteproportion", "requestdistribution",
    "zipfianconstant", "minscanlength", "maxscanlength", "scanlengthdistribution", "insertorder",
    "zeropadding", "readallfields", "writeallfields", "dataintegrity", "hotspotdatafraction",
    "hotspotopnfraction", "insertstart", "insertcount", "exponential.percentile", "exponential.frac",
    "seed", "maxexecutiontime", "threadcount", "target", "table", "ycsb.strict", "ycsb.batch", "redis.model",
    "redis.host", "redis.port", "redis.password", "redis.user", "redis.unix", "redis.podmap", "status.interval",
    NULL,
};

static const char *const op_names[OP_TYPES] = {"READ", "UPDATE", "INSERT", "SCAN", "READ-MODIFY-WRITE",
                                                "DELETE", "VERIFY"};
static const char *const op_columns[OP_TYPES] = {"read", "update", "insert", "scan", "rmw", "delete", "verify"};
static const char *const ret_names[RET_TYPES] = {"OK", "NOT_FOUND", "ERROR", "UNEXPECTED_STATE"};
static const char *const prop_names[OP_MIX] = {"readproportion", "updateproportion", "insertproportion",
                                                "scanproportion", "readmodifywriteproportion",
                                                "deleteproportion"};
static const double prop_defaults[OP_MIX] = {0.95, 0.05, 0, 0, 0, 0};

const char *ycsb_op_name(enum ycsb_op op) { return op < OP_TYPES ? op_names[op] : "?"; }
const char *ycsb_op_column(enum ycsb_op op) { return op < OP_TYPES ? op_columns[op] : "?"; }
const char *ycsb_return_name(enum ycsb_return r) { return r < RET_TYPES ? ret_names[r] : "?"; }

#define I64_MAX INT64_MAX
#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static int read_counts(struct ycsb_workload *w, const struct ycsb_props *p, int run)
{
    TRY(ycsb_props_i64(p, "recordcount", 1000, 0, I64_MAX / 4, &w->recordcount));
    TRY(ycsb_props_i64(p, "operationcount", 1000, 0, I64_MAX / 4, &w->operationcount));
    TRY(ycsb_props_i64(p, "insertstart", 0, 0, I64_MAX / 4, &w->insertstart));
    TRY(ycsb_props_i64(p, "maxexecutiontime", 0, 0, 365ll * 86400, &w->maxexecutiontime));
    if (w->insertstart > w->recordcount)
        return cxl_fail(CXL_EINVAL, "insertstart: %lld is past recordcount %lld", (long long)w->insertstart,
                        (long long)w->recordcount);
    TRY(ycsb_props_i64(p, "insertcount", w->recordcount - w->insertstart, 0, w->recordcount - w->insertstart,
                       &w->insertcount));
    if (!run && w->insertcount == 0)
        return cxl_fail(CXL_EINVAL, "recordcount/insertcount: the load has no record to insert");
    if (run && w->operationcount == 0 && w->maxexecutiontime == 0)
        return cxl_fail(CXL_EINVAL, "operationcount: 0 and no maxexecutiontime: the run would never end");
    return 0;
}

static int read_mix(struct ycsb_workload *w, const struct ycsb_props *p, int run)
{
    double sum = 0;
    TRY(ycsb_props_bool(p, "ycsb.strict", 0, &w->strict));
    for (int i = 0; i < OP_MIX; i++) {
        TRY(ycsb_props_double(p, prop_names[i], prop_defaults[i], 0, 1e9, &w->proportion[i]));
        if (i == OP_DELETE && w->strict)
            w->proportion[i] = 0; /* as Java YCSB: it reads no deleteproportion */
        sum += w->proportion[i];
    }
    if (run && !(sum > 0))
        return cxl_fail(CXL_EINVAL, "readproportion ... deleteproportion: all 0, a run has nothing to do");
    if (run && w->proportion[OP_READ] + w->proportion[OP_UPDATE] + w->proportion[OP_SCAN] +
                       w->proportion[OP_RMW] + w->proportion[OP_DELETE] > 0 &&
        w->recordcount == 0)
        return cxl_fail(CXL_EINVAL, "recordcount: 0, but the mix reads existing records");
    return 0;
}

static int read_fields(struct ycsb_workload *w, const struct ycsb_props *p)
{
    static const char *const lengths[] = {"constant", "uniform", "zipfian", NULL};
    static const char *const models[] = {"hash", "string", NULL};
    int dist, model;
    int64_t minlen;
    TRY(ycsb_props_i64(p, "fieldcount", 10, 1, YCSB_MAX_FIELDS, &w->fieldcount));
    TRY(ycsb_props_i64(p, "fieldlength", 100, 1, 1 << 20, &w->fieldlength));
    TRY(ycsb_props_i64(p, "minfieldlength", 1, 1, w->fieldlength, &minlen));
    TRY(ycsb_props_choice(p, "fieldlengthdistribution", "constant", lengths, &dist));
    TRY(ycsb_props_bool(p, "readallfields", 1, &w->readallfields));
    TRY(ycsb_props_bool(p, "writeallfields", 0, &w->writeallfields));
    TRY(ycsb_props_bool(p, "dataintegrity", 1, &w->dataintegrity));
    TRY(ycsb_props_bool(p, "ycsb.batch", 0, &w->batch));
    TRY(ycsb_props_choice(p, "redis.model", "hash", models, &model));
    w->model = (enum ycsb_model)model;
    const char *prefix = ycsb_props_get(p, "fieldnameprefix");
    if (prefix && strcmp(prefix, "field") != 0)
        return cxl_fail(CXL_EINVAL, "fieldnameprefix: only 'field' (the fields are field0, field1 ...)");
    if (w->dataintegrity && dist != 0)
        return cxl_fail(CXL_EINVAL, "fieldlengthdistribution: dataintegrity checks need constant field "
                                    "lengths (as YCSB); set dataintegrity=false to use %s",
                        lengths[dist]);
    if (dist == 0)
        ycsb_gen_constant(&w->field_length, w->fieldlength);
    else if (dist == 1)
        ycsb_gen_uniform(&w->field_length, minlen, w->fieldlength);
    else
        ycsb_gen_zipfian(&w->field_length, minlen, w->fieldlength, YCSB_ZIPFIAN_CONSTANT);
    ycsb_gen_uniform(&w->field_chooser, 0, w->fieldcount - 1);
    return 0;
}

static int read_scans(struct ycsb_workload *w, const struct ycsb_props *p)
{
    static const char *const dists[] = {"uniform", "zipfian", NULL};
    int dist;
    TRY(ycsb_props_i64(p, "minscanlength", 1, 1, YCSB_MAX_SCAN, &w->minscanlength));
    TRY(ycsb_props_i64(p, "maxscanlength", 1000, w->minscanlength, YCSB_MAX_SCAN, &w->maxscanlength));
    TRY(ycsb_props_choice(p, "scanlengthdistribution", "uniform", dists, &dist));
    if (dist == 0)
        ycsb_gen_uniform(&w->scan_length, w->minscanlength, w->maxscanlength);
    else
        ycsb_gen_zipfian(&w->scan_length, w->minscanlength, w->maxscanlength, YCSB_ZIPFIAN_CONSTANT);
    return 0;
}

/* CoreWorkload's key chooser for requestdistribution. */
static int read_keys(struct ycsb_workload *w, const struct ycsb_props *p)
{
    static const char *const orders[] = {"hashed", "ordered", NULL};
    static const char *const dists[] = {"uniform", "zipfian", "latest", "hotspot", "sequential",
                                        "exponential", NULL};
    int order, dist;
    double theta, hot_data, hot_opn, percentile, frac;
    TRY(ycsb_props_choice(p, "insertorder", "hashed", orders, &order));
    w->ordered = order == 1;
    TRY(ycsb_props_i64(p, "zeropadding", 1, 1, 40, &w->zeropadding));
    TRY(ycsb_props_choice(p, "requestdistribution", "uniform", dists, &dist));
    w->request_dist = dists[dist];
    TRY(ycsb_props_double(p, "zipfianconstant", YCSB_ZIPFIAN_CONSTANT, 0.01, 0.999999, &theta));
    TRY(ycsb_props_double(p, "hotspotdatafraction", 0.2, 0, 1, &hot_data));
    TRY(ycsb_props_double(p, "hotspotopnfraction", 0.8, 0, 1, &hot_opn));
    TRY(ycsb_props_double(p, "exponential.percentile", 95, 0.001, 99.999, &percentile));
    TRY(ycsb_props_double(p, "exponential.frac", 0.8571428571, 1e-9, 1, &frac));
    int64_t lo = w->insertstart, hi = w->insertstart + w->insertcount - 1;
    if (hi < lo)
        hi = lo;
    switch (dist) {
    case 0: ycsb_gen_uniform(&w->key_chooser, lo, hi); break;
    case 1: { /* room for the keys this run inserts, as YCSB: [insertstart, insertstart + insertcount +
               * expected new keys], both ends included (a draw past the last key is drawn again) */
        int64_t expected_new = (int64_t)((double)w->operationcount * w->proportion[OP_INSERT] * 2.0);
        ycsb_gen_scrambled_zipfian(&w->key_chooser, lo, w->insertstart + w->insertcount + expected_new);
        break;
    }
    case 2: ycsb_gen_latest(&w->key_chooser, &w->insert_keys); break;
    case 3: ycsb_gen_hotspot(&w->key_chooser, lo, hi, hot_data, hot_opn); break;
    case 4: ycsb_gen_sequential(&w->key_chooser, lo, hi, &w->sequence); break;
    default: ycsb_gen_exponential(&w->key_chooser, percentile, (double)w->recordcount * frac); break;
    }
    if (dist == 1 && theta != YCSB_ZIPFIAN_CONSTANT)
        return cxl_fail(CXL_EINVAL, "zipfianconstant: requestdistribution=zipfian uses YCSB's scrambled "
                                    "zipfian, whose constant is 0.99");
    return 0;
}

/* workload= names the Java class YCSB would load: this driver is CoreWorkload. */
static int check_workload_class(const struct ycsb_props *p)
{
    const char *cls = ycsb_props_get(p, "workload");
    if (!cls || !strcmp(cls, "site.ycsb.workloads.CoreWorkload") ||
        !strcmp(cls, "com.yahoo.ycsb.workloads.CoreWorkload"))
        return 0;
    return cxl_fail(CXL_EINVAL, "workload: '%s' (%s) is not a workload this driver runs: it runs YCSB's "
                    "CoreWorkload (site.ycsb.workloads.CoreWorkload)", cls, ycsb_props_origin(p, "workload"));
}

int ycsb_workload_init(struct ycsb_workload *w, const struct ycsb_props *p, int run)
{
    int64_t seed;
    *w = (struct ycsb_workload){0};
    TRY(ycsb_props_check_known(p, known));
    TRY(check_workload_class(p));
    TRY(read_counts(w, p, run));
    TRY(read_mix(w, p, run));
    TRY(read_fields(w, p));
    TRY(read_scans(w, p));
    TRY(ycsb_props_i64(p, "seed", 0, 0, I64_MAX, &seed));
    w->seed = (uint64_t)seed;
    ycsb_counter_init(&w->load_keys, w->insertstart);
    ycsb_counter_init(&w->sequence, 0);
    if (ycsb_acked_init(&w->insert_keys, w->recordcount) != 0)
        return cxl_fail(CXL_ESYS, "out of memory");
    int rc = read_keys(w, p);
    if (rc == 0 && run && w->proportion[OP_DELETE] > 0 && w->operationcount == 0)
        rc = cxl_fail(CXL_EINVAL, "deleteproportion: needs an operationcount (a run by maxexecutiontime alone "
                                  "cannot size the deleted keys' flags)");
    if (rc == 0 && run && w->proportion[OP_DELETE] > 0) {
        w->deleted_cap = w->recordcount + (w->operationcount ? w->operationcount : 0) + 1;
        w->deleted = calloc((size_t)w->deleted_cap, 1);
        if (!w->deleted)
            rc = cxl_fail(CXL_ESYS, "out of memory for the deleted keys' flags (%lld keys)",
                          (long long)w->deleted_cap);
    }
    if (rc)
        ycsb_workload_free(w);
    return rc;
}

void ycsb_workload_free(struct ycsb_workload *w)
{
    ycsb_acked_free(&w->insert_keys);
    free((void *)w->deleted);
    w->deleted = NULL;
}

void ycsb_workload_mix(const struct ycsb_workload *w, char *buf, size_t cap)
{
    static const char *const short_names[OP_MIX] = {"read", "update", "insert", "scan", "read-modify-write",
                                                     "delete"};
    double sum = 0;
    size_t n = (size_t)snprintf(buf, cap, "operations:");
    for (int i = 0; i < OP_MIX; i++)
        sum += w->proportion[i];
    for (int i = 0; i < OP_MIX && n < cap; i++)
        if (w->proportion[i] > 0)
            n += (size_t)snprintf(buf + n, cap - n, " %s %.4g", short_names[i], w->proportion[i] / sum);
}

void ycsb_thread_state_init(const struct ycsb_workload *w, uint32_t thread, struct ycsb_thread_state *t)
{
    ycsb_rng_seed(&t->rng, w->seed, thread);
    t->key_chooser = w->key_chooser;
    t->field_chooser = w->field_chooser;
    t->scan_length = w->scan_length;
    t->field_length = w->field_length;
}

/* --- keys and values -------------------------------------------------------------- */

size_t ycsb_key_name(const struct ycsb_workload *w, int64_t keynum, char key[YCSB_KEY_MAX])
{
    char digits[24];
    int64_t v = w->ordered ? keynum : ycsb_fnvhash64(keynum);
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v);
    int fill = (int)w->zeropadding - n;
    if (fill < 0)
        fill = 0;
    memcpy(key, "user", 4);
    memset(key + 4, '0', (size_t)fill);
    memcpy(key + 4 + fill, digits, (size_t)n + 1);
    return 4 + (size_t)fill + (size_t)n;
}

/* ":" and Java's Integer.toString(v) into buf[16]: its length. With the
 * value check on every read this is the client's hot path: two digits per
 * division, no snprintf. */
static int colon_int(char *buf, int32_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                   "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                   "8081828384858687888990919293949596979899";
    char digits[12];
    int n = 12, len = 0;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    while (u >= 100) {
        uint32_t r = u % 100;
        u /= 100;
        digits[--n] = pairs[2 * r + 1];
        digits[--n] = pairs[2 * r];
    }
    if (u >= 10) {
        digits[--n] = pairs[2 * u + 1];
        digits[--n] = pairs[2 * u];
    } else {
        digits[--n] = (char)('0' + u);
    }
    buf[len++] = ':';
    if (v < 0)
        buf[len++] = '-';
    memcpy(buf + len, digits + n, (size_t)(12 - n));
    return len + 12 - n;
}

/* Java's String.hashCode of s + t is hash(s) x 31^len(t) + hash(t): a
 * piece's hash is taken on its own (short, independent chains) and joined. */
static const uint32_t pow31[17] = {1u, 31u, 961u, 29791u, 923521u, 28629151u, 887503681u, 1742810335u,
                                   2487512833u, 4098453791u, 2498015937u, 129082719u, 4001564289u, 3789408671u, 1507551809u, 3784433119u, 1353309697u};

static uint32_t java_hash_piece(const char *s, size_t n)
{
    uint32_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = 31u * h + (uint8_t)s[i];
    return h;
}

/* YCSB's buildDeterministicValue: key:field, then, until long enough, ':'
 * and the Java hash of everything so far, that ':' included; cut to size.
 * The hash of the growing text is kept as it grows. out: size + 16 bytes
 * (the last piece may run past size). */
static void deterministic_value(const char *key, size_t klen, int64_t field, size_t size, char *out)
{
    memcpy(out, key, klen);
    size_t len = klen + (size_t)snprintf(out + klen, 16, ":field%d", (int)field);
    uint32_t h = java_hash_piece(out, len);
    while (len < size) {
        uint32_t with_colon = 31u * h + ':';
        int n = colon_int(out + len, (int32_t)with_colon); /* ':' and the digits */
        h = with_colon * pow31[n - 1] + java_hash_piece(out + len + 1, (size_t)n - 1);
        len += (size_t)n;
    }
}

size_t ycsb_field_value(const struct ycsb_workload *w, struct ycsb_thread_state *t, const char *key,
                        size_t klen, int64_t field, char *out, char *scratch)
{
    size_t size = (size_t)ycsb_gen_next(&t->field_length, &t->rng);
    if (w->dataintegrity) {
        deterministic_value(key, klen, field, size, scratch);
        memcpy(out, scratch, size);
        return size;
    }
    for (size_t i = 0; i < size; i++) { /* printable, as YCSB's RandomByteIterator, */
        char c = (char)(' ' + ycsb_rng_below(&t->rng, 95));
        out[i] = c == '&' || c == '=' ? '_' : c; /* but never redis.model=string's separators */
    }
    return size;
}

int ycsb_value_ok(const struct ycsb_workload *w, const char *key, size_t klen, int64_t field,
                  const uint8_t *value, size_t len, char *scratch)
{
    if (!w->dataintegrity)
        return 1;
    if (len != (size_t)w->fieldlength)
        return 0;
    deterministic_value(key, klen, field, len, scratch);
    return memcmp(scratch, value, len) == 0;
}

/* --- the mix and the keys ------------------------------------------------------------- */

enum ycsb_op ycsb_next_op(const struct ycsb_workload *w, struct ycsb_thread_state *t)
{
    double sum = 0;
    for (int i = 0; i < OP_MIX; i++)
        sum += w->proportion[i];
    double u = ycsb_rng_double(&t->rng) * sum;
    for (int i = 0; i < OP_MIX; i++) {
        if (u < w->proportion[i])
            return (enum ycsb_op)i;
        u -= w->proportion[i];
    }
    for (int i = OP_MIX - 1; i >= 0; i--) /* rounding: the last one with a share */
        if (w->proportion[i] > 0)
            return (enum ycsb_op)i;
    return OP_READ;
}

int ycsb_key_deleted(const struct ycsb_workload *w, int64_t keynum)
{
    return w->deleted && keynum >= 0 && keynum < w->deleted_cap &&
           atomic_load_explicit(&w->deleted[keynum], memory_order_acquire);
}

void ycsb_key_mark_deleted(struct ycsb_workload *w, int64_t keynum)
{
    if (w->deleted && keynum >= 0 && keynum < w->deleted_cap)
        atomic_store_explicit(&w->deleted[keynum], 1, memory_order_release);
}

#define KEY_TRIES 1000 /* draws before settling for a deleted key (then NOT_FOUND) */

int64_t ycsb_next_keynum(struct ycsb_workload *w, struct ycsb_thread_state *t)
{
    int64_t keynum = 0;
    for (int tries = 0; tries < KEY_TRIES; tries++) {
        int64_t last = ycsb_acked_last(&w->insert_keys);
        if (t->key_chooser.kind == YCSB_EXPONENTIAL) {
            do
                keynum = last - ycsb_gen_next(&t->key_chooser, &t->rng);
            while (keynum < 0);
        } else {
            do
                keynum = ycsb_gen_next(&t->key_chooser, &t->rng);
            while (keynum > last);
        }
        if (!ycsb_key_deleted(w, keynum))
            break;
    }
    return keynum;
}
