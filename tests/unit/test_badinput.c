/* test_badinput.c - attaching to hostile media (docs/RING.md, "Failure cases").
 *
 * A medium that is too small, not formatted, foreign, of another version, of an
 * impossible geometry, or with ring indices out of range must be refused with
 * the right status and a message naming the field and its value. Attach must
 * never crash, never read outside the mapping and never write to the medium:
 * every refused attach runs with the mapping read-only and is followed by a
 * byte-for-byte comparison with a snapshot. The last part writes random garbage
 * into the header page and ring table (seeded; CXL_TEST_SEED=N repeats a run).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "cxl/util.h"
#include "ring/layout.h"

#define MEDIUM_SIZE (8u << 20)
#define RINGS 4u
#define SLOT_SIZE 4096u
#define RANDOM_ROUNDS 2000
#define HOFF(f) offsetof(struct cxl_hdr, f)

static struct fixture fx;    /* the formatted medium every case corrupts */
static uint8_t *base;        /* its mapping */
static uint64_t msize;       /* its mapped size */
static struct cxl_geometry geo; /* what format produced */
static uint8_t *good;        /* pristine header page and ring table */
static uint64_t good_len;    /* = geo.data_off */
static uint8_t *snapshot;    /* medium bytes before a refused attach */

/* --- helpers ------------------------------------------------------------- */

static void put32(uint8_t *p, uint64_t off, uint32_t v) { memcpy(p + off, &v, sizeof v); }
static void put64(uint8_t *p, uint64_t off, uint64_t v) { memcpy(p + off, &v, sizeof v); }
static uint64_t get64(const uint8_t *p, uint64_t off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static void put(uint64_t off, unsigned width, uint64_t v)
{
    if (width == 4)
        put32(base, off, (uint32_t)v);
    else
        put64(base, off, v);
}

/* What a careful writer of a forged header would do: make the checksum match,
 * so that validation has to catch the field itself. */
static void fix_checksum(uint8_t *p) { put64(p, HOFF(checksum), cxl_fnv1a64(p, 64)); }

static void restore(void) { memcpy(base, good, good_len); }

static void clear_error(void) { cxl_fail(CXL_OK, "%s", ""); }

/* A refused attach runs with the medium read-only, so a write faults. Say so
 * (and remove the test file), then let the previous handler (ASan's, or the
 * default) report the fault with its stack trace. */
static struct sigaction old_segv;
static uint8_t *protected_base;
static uint64_t protected_size;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    uint8_t *a = si->si_addr;
    if (protected_base && a >= protected_base && a < protected_base + protected_size) {
        char msg[96] = "test_badinput: attach wrote to the medium at offset 0x";
        char *p = msg + strlen(msg);
        uint64_t off = (uint64_t)(a - protected_base);
        for (int sh = 60; sh >= 0; sh -= 4)
            *p++ = "0123456789abcdef"[(off >> sh) & 0xf];
        *p++ = '\n';
        ssize_t wr = write(2, msg, (size_t)(p - msg));
        (void)wr;
        unlink(fx.path);
    }
    sigaction(SIGSEGV, &old_segv, NULL); /* the access faults again, there */
}

static void catch_faults(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
}

static void protect(struct cxl_medium *m, int readonly)
{
    uint8_t *b = cxl_medium_base(m);
    uintptr_t slack = (uintptr_t)b % (uintptr_t)sysconf(_SC_PAGESIZE);
    protected_base = readonly ? b : NULL;
    protected_size = cxl_medium_size(m);
    int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    if (mprotect(b - slack, cxl_medium_size(m) + slack, prot) != 0) {
        perror("mprotect");
        exit(2);
    }
}

static uint64_t ring_idx_off(uint32_t ring, size_t field)
{
    return CXL_HEADER_SIZE + (uint64_t)ring * CXL_RING_CTL_SIZE + field;
}

/* Attach, then check every ring's indices: the full validation. */
static int attach_checked(struct cxl_medium *m, struct cxl_layout **l)
{
    int rc = cxl_layout_attach(m, l);
    for (uint32_t r = 0; rc == 0 && r < cxl_layout_geometry(*l)->ring_count; r++)
        rc = cxl_layout_check_ring(*l, r);
    if (rc && *l) {
        cxl_layout_close(*l);
        *l = NULL;
    }
    return rc;
}

/* Attach to m, expecting status and text in the message (status 0: success).
 * The mapping is read-only during the call (a write would fault) and compared
 * with a snapshot afterwards (cmp_len bytes from the start). */
static void expect_attach_on(struct cxl_medium *m, uint64_t cmp_len, int status,
                             const char *text, const char *what)
{
    int failures = check_failures;
    uint8_t *b = cxl_medium_base(m);
    memcpy(snapshot, b, cmp_len);
    struct cxl_layout *l = NULL;
    clear_error();
    protect(m, 1);
    int rc = attach_checked(m, &l);
    protect(m, 0);
    if (status == 0) {
        CHECK_EQ(rc, 0);
    } else {
        CHECK_FAILS(rc, status, text);
        CHECK(l == NULL);
    }
    CHECK(memcmp(snapshot, b, cmp_len) == 0);
    if (rc == 0 && l)
        cxl_layout_close(l);
    if (check_failures != failures)
        fprintf(stderr, "    in case: %s\n", what);
}

static void expect_attach(int status, const char *text, const char *what)
{
    expect_attach_on(fx.medium, msize, status, text, what);
}

/* The pristine header attaches again (a case must not leave damage behind). */
static void expect_restored(const char *what)
{
    restore();
    expect_attach_on(fx.medium, good_len, 0, "", what);
}

/* One header field set to v. fix: recompute the checksum afterwards. */
static void bad_header(const char *field, uint64_t off, unsigned width, uint64_t v,
                       int fix, int status, const char *text)
{
    char what[160];
    snprintf(what, sizeof what, "%s = 0x%" PRIx64 "%s", field, v,
             fix ? " (checksum recomputed)" : "");
    restore();
    put(off, width, v);
    if (fix)
        fix_checksum(base);
    expect_attach(status, text, what);
    expect_restored(what);
}

/* A field checked before the checksum (magic, version, state, checksum). */
static void bad_ident(const char *field, uint64_t off, unsigned width, uint64_t v,
                      int status, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void bad_ident(const char *field, uint64_t off, unsigned width, uint64_t v,
                      int status, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    bad_header(field, off, width, v, 0, status, text);
}

/* A checksummed field: as is, the checksum catches it; with the checksum
 * recomputed, the field's own check must (status and text from fmt). */
static void bad_geometry(const char *field, uint64_t off, unsigned width, uint64_t v,
                         int status, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void bad_geometry(const char *field, uint64_t off, unsigned width, uint64_t v,
                         int status, const char *fmt, ...)
{
    char text[256], sum[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(sum, sizeof sum, "header checksum 0x%016" PRIx64 " does not match",
             get64(good, HOFF(checksum)));
    bad_header(field, off, width, v, 0, CXL_EFORMAT, sum);
    bad_header(field, off, width, v, 1, status, text);
}

/* --- the header, field by field ------------------------------------------------ */

static void test_identity(void)
{
    const uint64_t magics[] = {UINT64_MAX, CXL_MAGIC + 1, CXL_MAGIC - 1,
                               __builtin_bswap64(CXL_MAGIC), CXL_MAGIC ^ 0x20 /* "cXL-DSM" */};
    bad_ident("magic", HOFF(magic), 8, 0, CXL_EFORMAT, "medium is not formatted (magic is 0)");
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        bad_ident("magic", HOFF(magic), 8, magics[i], CXL_EFORMAT,
                  "foreign magic 0x%016" PRIx64, magics[i]);

    const uint32_t versions[] = {0, 1, CXL_LAYOUT_VERSION + 1, UINT32_MAX, 0x01000000u};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        bad_ident("version", HOFF(version), 4, versions[i], CXL_EFORMAT,
                  "layout v%u, this build reads v2: reformat with `cxl_shm init`", versions[i]);

    const uint32_t states[] = {0, UINT32_MAX, CXL_STATE_READY + 1, CXL_STATE_READY - 1,
                               __builtin_bswap32(CXL_STATE_READY)};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        bad_ident("state", HOFF(state), 4, states[i], CXL_EFORMAT,
                  "state 0x%08x: medium is being formatted", states[i]);

    uint64_t sum = get64(good, HOFF(checksum));
    const uint64_t sums[] = {0, UINT64_MAX, sum + 1, sum - 1, sum ^ (1ull << 63)};
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
        bad_ident("checksum", HOFF(checksum), 8, sums[i], CXL_EFORMAT,
                  "header checksum 0x%016" PRIx64 " does not match its fields (0x%016" PRIx64 ")",
                  sums[i], sum);
}

static void test_geometry_fields(void)
{
    uint64_t end = geo.data_off + (uint64_t)2 * geo.ring_count * geo.slots * geo.slot_size;
    CHECK_EQ(end, geo.layout_size);

    const uint32_t hsizes[] = {0, UINT32_MAX, CXL_HEADER_SIZE - 1, CXL_HEADER_SIZE + 1,
                               2 * CXL_HEADER_SIZE};
    for (size_t i = 0; i < sizeof hsizes / sizeof hsizes[0]; i++)
        bad_geometry("header_size", HOFF(header_size), 4, hsizes[i], CXL_EGEOMETRY,
                     "header_size = %u (expected %u)", hsizes[i], CXL_HEADER_SIZE);

    const uint32_t rings[] = {0, CXL_MAX_RINGS + 1, UINT32_MAX, 1u << 31};
    for (size_t i = 0; i < sizeof rings / sizeof rings[0]; i++)
        bad_geometry("ring_count", HOFF(ring_count), 4, rings[i], CXL_EGEOMETRY,
                     "ring_count = %u: must be 1..%u", rings[i], CXL_MAX_RINGS);
    /* In range but the ring table would overlap the data: data_off names it. */
    bad_geometry("ring_count", HOFF(ring_count), 4, RINGS + 1, CXL_EGEOMETRY,
                 "data_off = %" PRIu64 " (expected 12288 for %u rings)", geo.data_off, RINGS + 1);
    bad_geometry("ring_count", HOFF(ring_count), 4, CXL_MAX_RINGS, CXL_EGEOMETRY,
                 "data_off = %" PRIu64 " (expected 266240 for %u rings)", geo.data_off, CXL_MAX_RINGS);

    const uint32_t ssizes[] = {0, UINT32_MAX, SLOT_SIZE - 1, SLOT_SIZE + 1, 3u << 10, 1,
                               CXL_MIN_SLOT_SIZE / 2, CXL_MAX_SLOT_SIZE * 2, 1u << 31};
    for (size_t i = 0; i < sizeof ssizes / sizeof ssizes[0]; i++)
        bad_geometry("slot_size", HOFF(slot_size), 4, ssizes[i], CXL_EGEOMETRY,
                     "slot_size = %u: must be a power of two in [%u, %u]", ssizes[i],
                     CXL_MIN_SLOT_SIZE, CXL_MAX_SLOT_SIZE);
    /* A legal slot size that makes the rings run past layout_size. */
    const uint32_t big_slots[] = {SLOT_SIZE * 2, CXL_MAX_SLOT_SIZE};
    for (size_t i = 0; i < sizeof big_slots / sizeof big_slots[0]; i++)
        bad_geometry("slot_size", HOFF(slot_size), 4, big_slots[i], CXL_EGEOMETRY,
                     "layout_size = %" PRIu64 " but %u rings x 2 queues x %u slots x %u B end at %" PRIu64,
                     geo.layout_size, RINGS, geo.slots, big_slots[i],
                     geo.data_off + (uint64_t)2 * RINGS * geo.slots * big_slots[i]);

    const uint32_t few[] = {0, 1, CXL_MIN_SLOTS - 1};
    for (size_t i = 0; i < sizeof few / sizeof few[0]; i++)
        bad_geometry("slots", HOFF(slots), 4, few[i], CXL_EGEOMETRY,
                     "slots = %u: must be at least %u", few[i], CXL_MIN_SLOTS);
    const uint32_t many[] = {geo.slots + 1, UINT32_MAX, 1u << 31};
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        bad_geometry("slots", HOFF(slots), 4, many[i], CXL_EGEOMETRY,
                     "layout_size = %" PRIu64 " but %u rings x 2 queues x %u slots x %u B end at %" PRIu64,
                     geo.layout_size, RINGS, many[i], SLOT_SIZE,
                     geo.data_off + (uint64_t)2 * RINGS * many[i] * SLOT_SIZE);

    const uint32_t flags[] = {0x4, UINT32_MAX, 0x80000000u, CXL_LAYOUT_F_SECURE | 0x100};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        bad_geometry("flags", HOFF(flags), 4, flags[i], CXL_EGEOMETRY,
                     "flags = 0x%x: unknown bits 0x%x", flags[i], flags[i] & ~CXL_LAYOUT_F_KNOWN);
    /* a cipher on a plain medium means nothing: refused */
    bad_geometry("flags", HOFF(flags), 4, CXL_LAYOUT_F_XCHACHA, CXL_EGEOMETRY,
                 "flags = 0x%x: a cipher bit on a plain medium", CXL_LAYOUT_F_XCHACHA);

    const uint64_t tables[] = {0, UINT64_MAX, CXL_HEADER_SIZE - 1, CXL_HEADER_SIZE + 1,
                               2 * CXL_HEADER_SIZE, 1ull << 32 | CXL_HEADER_SIZE};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        bad_geometry("ring_table_off", HOFF(ring_table_off), 8, tables[i], CXL_EGEOMETRY,
                     "ring_table_off = %" PRIu64 " (expected %u)", tables[i], CXL_HEADER_SIZE);

    const uint64_t datas[] = {0, UINT64_MAX, geo.data_off - 1, geo.data_off + 1, CXL_HEADER_SIZE,
                              geo.data_off + 4096, 1ull << 32 | geo.data_off, msize};
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++)
        bad_geometry("data_off", HOFF(data_off), 8, datas[i], CXL_EGEOMETRY,
                     "data_off = %" PRIu64 " (expected %" PRIu64 " for %u rings)", datas[i],
                     geo.data_off, RINGS);

    const uint64_t shorts[] = {0, 1, geo.data_off, end - 1, end - SLOT_SIZE};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++)
        bad_geometry("layout_size", HOFF(layout_size), 8, shorts[i], CXL_EGEOMETRY,
                     "layout_size = %" PRIu64 " but %u rings x 2 queues x %u slots x %u B end at %" PRIu64,
                     shorts[i], RINGS, geo.slots, SLOT_SIZE, end);
    const uint64_t longs[] = {msize + 1, UINT64_MAX, 1ull << 63, 2 * msize};
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++)
        bad_geometry("layout_size", HOFF(layout_size), 8, longs[i], CXL_ETOOSMALL,
                     "medium too small: layout_size = %" PRIu64 " but only %" PRIu64 " bytes are mapped",
                     longs[i], msize);

    /* One less ring, slot or half the slot size (checksum recomputed) is a
     * consistent geometry that ends before layout_size: attach may accept it
     * (everything still lies inside the layout) or refuse it naming
     * layout_size, but nothing else. The secure flag is a known bit. */
    const struct {
        const char *field;
        uint64_t off;
        uint32_t v;
    } smaller[] = {
        {"ring_count", HOFF(ring_count), RINGS - 1},
        {"ring_count", HOFF(ring_count), 1},
        {"slots", HOFF(slots), geo.slots - 1},
        {"slots", HOFF(slots), CXL_MIN_SLOTS},
        {"slot_size", HOFF(slot_size), SLOT_SIZE / 2},
        {"slot_size", HOFF(slot_size), CXL_MIN_SLOT_SIZE},
        {"flags", HOFF(flags), CXL_LAYOUT_F_SECURE},
    };
    for (size_t i = 0; i < sizeof smaller / sizeof smaller[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s = %u (consistent, checksum recomputed)", smaller[i].field,
                 smaller[i].v);
        int failures = check_failures;
        restore();
        put32(base, smaller[i].off, smaller[i].v);
        fix_checksum(base);
        memcpy(snapshot, base, good_len);
        struct cxl_layout *l = NULL;
        clear_error();
        protect(fx.medium, 1);
        int rc = attach_checked(fx.medium, &l);
        protect(fx.medium, 0);
        CHECK(memcmp(snapshot, base, good_len) == 0);
        if (rc == 0) {
            const struct cxl_geometry *g = cxl_layout_geometry(l);
            uint32_t got = smaller[i].off == HOFF(ring_count) ? g->ring_count
                         : smaller[i].off == HOFF(slots)      ? g->slots
                         : smaller[i].off == HOFF(slot_size)  ? g->slot_size
                                                              : g->flags;
            CHECK_EQ(got, smaller[i].v);
            CHECK(g->data_off + (uint64_t)2 * g->ring_count * g->slots * g->slot_size <= g->layout_size);
            cxl_layout_close(l);
        } else {
            CHECK_FAILS(rc, CXL_EGEOMETRY, "layout_size");
        }
        if (check_failures != failures)
            fprintf(stderr, "    in case: %s\n", what);
        expect_restored(what);
    }

    /* layout_size must equal the end of the queues exactly (format writes
     * it so); a new format_id is not an error. The checksum catches both
     * when it is not recomputed. */
    restore();
    put64(base, HOFF(layout_size), msize);
    expect_attach(CXL_EFORMAT, "header checksum", "layout_size = mapped size, stale checksum");
    fix_checksum(base);
    expect_attach(CXL_EGEOMETRY, "layout_size = ", "layout_size = mapped size (checksum recomputed)");
    restore();
    put64(base, HOFF(format_id), get64(good, HOFF(format_id)) ^ 0x5a5a5a5a5a5a5a5aull);
    expect_attach(CXL_EFORMAT, "header checksum", "format_id changed, stale checksum");
    fix_checksum(base);
    expect_attach(0, "", "format_id changed (checksum recomputed)");
    expect_restored("format_id");
}

/* Several fields forged together into a self-consistent geometry whose rings
 * end far past the mapping: only the comparison with the mapped size stops it. */
static void test_rings_past_the_end(void)
{
    struct {
        uint32_t rings, slot_size, slots;
    } cases[] = {
        {CXL_MAX_RINGS, CXL_MAX_SLOT_SIZE, CXL_MIN_SLOTS},
        {RINGS, CXL_MAX_SLOT_SIZE, CXL_MIN_SLOTS},
        {1, CXL_MIN_SLOT_SIZE, UINT32_MAX},
        {CXL_MAX_RINGS, CXL_MAX_SLOT_SIZE, UINT32_MAX},
        {RINGS, SLOT_SIZE, 256}, /* one slot per queue too many for 8 MiB */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t data_off = (CXL_HEADER_SIZE + (uint64_t)cases[i].rings * CXL_RING_CTL_SIZE + 4095) / 4096 * 4096;
        uint64_t end = data_off + (uint64_t)2 * cases[i].rings * cases[i].slots * cases[i].slot_size;
        char what[128], text[160];
        snprintf(what, sizeof what, "%u rings x %u slots x %u B: end %" PRIu64 " past the mapping",
                 cases[i].rings, cases[i].slots, cases[i].slot_size, end);
        snprintf(text, sizeof text, "layout_size = %" PRIu64 " but only %" PRIu64 " bytes are mapped",
                 end, msize);
        restore();
        put32(base, HOFF(ring_count), cases[i].rings);
        put32(base, HOFF(slot_size), cases[i].slot_size);
        put32(base, HOFF(slots), cases[i].slots);
        put64(base, HOFF(data_off), data_off);
        put64(base, HOFF(layout_size), end);
        fix_checksum(base);
        expect_attach(CXL_ETOOSMALL, text, what);
        /* Same, with layout_size left as formatted: now it is the end check. */
        put64(base, HOFF(layout_size), geo.layout_size);
        fix_checksum(base);
        snprintf(text, sizeof text, "layout_size = %" PRIu64 " but %u rings x 2 queues x %u slots x %u B end at %" PRIu64,
                 geo.layout_size, cases[i].rings, cases[i].slots, cases[i].slot_size, end);
        expect_attach(CXL_EGEOMETRY, text, what);
        expect_restored(what);
    }
}

/* --- ring indices ------------------------------------------------------------ */

static void test_ring_indices(void)
{
    static const struct {
        const char *name, *queue;
        size_t off;
        int is_tail;
    } idx[] = {
        {"req_tail", "request", offsetof(struct cxl_ring_ctl, req_tail), 1},
        {"req_head", "request", offsetof(struct cxl_ring_ctl, req_head), 0},
        {"resp_tail", "response", offsetof(struct cxl_ring_ctl, resp_tail), 1},
        {"resp_head", "response", offsetof(struct cxl_ring_ctl, resp_head), 0},
    };
    /* The formatted medium has every index at 0; the other index stays 0. */
    const uint64_t bad_tails[] = {(uint64_t)geo.slots + 1, (uint64_t)2 * geo.slots, UINT64_MAX,
                                  1ull << 63, 1ull << 32};
    const uint64_t bad_heads[] = {1, geo.slots, (uint64_t)geo.slots + 1, 1ull << 63,
                                  UINT64_MAX - geo.slots};
    for (uint32_t r = 0; r < RINGS; r++) {
        for (size_t i = 0; i < 4; i++) {
            uint64_t off = ring_idx_off(r, idx[i].off);
            const uint64_t *vals = idx[i].is_tail ? bad_tails : bad_heads;
            for (size_t k = 0; k < 5; k++) {
                uint64_t head = idx[i].is_tail ? 0 : vals[k];
                uint64_t tail = idx[i].is_tail ? vals[k] : 0;
                char what[96], text[160];
                snprintf(what, sizeof what, "ring %u %s = %" PRIu64, r, idx[i].name, vals[k]);
                snprintf(text, sizeof text, "ring %u %s queue: head %" PRIu64 " / tail %" PRIu64
                         " out of range", r, idx[i].queue, head, tail);
                restore();
                put64(base, off, vals[k]);
                expect_attach(CXL_ECORRUPT, text, what);
                expect_restored(what);
            }
        }
        /* The edges of the legal range (indices are free-running positions;
         * positions across the 2^64 wrap are left out on purpose: see the
         * note on the wrap in docs/FUZZING.md). */
        char what[64];
        snprintf(what, sizeof what, "ring %u full queues", r);
        restore();
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, req_tail)), geo.slots);
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, resp_head)), 1ull << 40);
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, resp_tail)), ((uint64_t)1 << 40) + geo.slots);
        expect_attach(0, "", what);
        /* Large but consistent positions on one queue, off by one on the other. */
        snprintf(what, sizeof what, "ring %u large positions", r);
        restore();
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, req_head)), 1ull << 50);
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, req_tail)), ((uint64_t)1 << 50) + 3);
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, resp_head)), 1ull << 40);
        put64(base, ring_idx_off(r, offsetof(struct cxl_ring_ctl, resp_tail)),
              ((uint64_t)1 << 40) + geo.slots + 1);
        char text[160];
        snprintf(text, sizeof text, "ring %u response queue: head %" PRIu64 " / tail %" PRIu64,
                 r, (uint64_t)1 << 40, ((uint64_t)1 << 40) + geo.slots + 1);
        expect_attach(CXL_ECORRUPT, text, what);
        expect_restored(what);
    }
}

/* --- sizes of the mapping ------------------------------------------------------ */

static int map_again(const char *path, uint64_t map_size, struct cxl_medium **m)
{
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = path;
    cfg.map_size = map_size;
    return cxl_medium_open(&cfg, m);
}

static void test_sizes(void)
{
    char what[96], text[128];
    /* The formatted file, mapped too short for the header. */
    const uint64_t tiny[] = {1, 64, 100, 2048, CXL_HEADER_SIZE - 1};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        struct cxl_medium *m = NULL;
        CHECK_EQ(map_again(fx.path, tiny[i], &m), 0);
        if (!m)
            continue;
        snprintf(what, sizeof what, "formatted medium mapped with %" PRIu64 " bytes", tiny[i]);
        snprintf(text, sizeof text, "medium too small: mapped size %" PRIu64 " bytes, the header alone needs %u",
                 tiny[i], CXL_HEADER_SIZE);
        expect_attach_on(m, cxl_medium_size(m), CXL_ETOOSMALL, text, what);
        cxl_medium_close(m);
    }
    /* Mapped with room for the header but not for the whole layout. */
    const uint64_t shortmaps[] = {CXL_HEADER_SIZE, geo.data_off, 1u << 20,
                                  (geo.layout_size - 1) / 4096 * 4096, geo.layout_size - 1};
    for (size_t i = 0; i < sizeof shortmaps / sizeof shortmaps[0]; i++) {
        struct cxl_medium *m = NULL;
        CHECK_EQ(map_again(fx.path, shortmaps[i], &m), 0);
        if (!m)
            continue;
        snprintf(what, sizeof what, "formatted medium mapped with %" PRIu64 " bytes", shortmaps[i]);
        snprintf(text, sizeof text, "medium too small: layout_size = %" PRIu64 " but only %" PRIu64
                 " bytes are mapped", geo.layout_size, shortmaps[i]);
        expect_attach_on(m, cxl_medium_size(m), CXL_ETOOSMALL, text, what);
        cxl_medium_close(m);
    }
    /* The formatted file mapped from a misaligned offset: no header there. */
    const uint64_t offsets[] = {64, 4096 + 64};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        struct cxl_medium_config cfg;
        cxl_medium_config_init(&cfg);
        cfg.path = fx.path;
        cfg.map_size = 1u << 20;
        cfg.map_offset = offsets[i];
        struct cxl_medium *m = NULL;
        CHECK_EQ(cxl_medium_open(&cfg, &m), 0);
        if (!m)
            continue;
        snprintf(what, sizeof what, "formatted medium mapped from offset %" PRIu64, offsets[i]);
        expect_attach_on(m, cxl_medium_size(m), CXL_EINVAL, "not 128-byte aligned", what);
        cxl_medium_close(m);
    }
    /* Exactly the layout is enough. */
    struct cxl_medium *m = NULL;
    CHECK_EQ(map_again(fx.path, geo.layout_size, &m), 0);
    if (m) {
        expect_attach_on(m, cxl_medium_size(m), 0, "", "mapped exactly layout_size bytes");
        cxl_medium_close(m);
    }

    /* A file smaller than a header, and an all-zero file. */
    struct fixture small, zero;
    CHECK_EQ(fixture_open(&small, "/dev/shm", 100, 0, 0), 0);
    if (small.medium)
        expect_attach_on(small.medium, 100, CXL_ETOOSMALL, "mapped size 100 bytes", "100-byte file");
    fixture_close(&small);
    CHECK_EQ(fixture_open(&zero, "/dev/shm", 1u << 20, 0, 0), 0);
    if (zero.medium)
        expect_attach_on(zero.medium, 1u << 20, CXL_EFORMAT, "medium is not formatted (magic is 0)",
                         "all-zero file");
    fixture_close(&zero);
}

/* A heap buffer of exactly n bytes (ASan sees any read past the end), aligned
 * as a layout must be. */
static void *exact_alloc(uint64_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n) != 0)
        return NULL;
    return p;
}

/* cxl_layout_validate on heap buffers of exactly n bytes. The buffers hold the
 * start of a valid image. */
static void test_validate_buffers(void)
{
    struct cxl_geometry g;
    for (uint64_t n = 0; n <= CXL_HEADER_SIZE; n += 512) {
        uint8_t *buf = exact_alloc(n);
        CHECK(buf != NULL || n == 0);
        if (n)
            memcpy(buf, good, n);
        char text[96];
        if (n < CXL_HEADER_SIZE) {
            snprintf(text, sizeof text, "mapped size %" PRIu64 " bytes", n);
            CHECK_FAILS(cxl_layout_validate(buf, n, &g), CXL_ETOOSMALL, text);
        } else {
            snprintf(text, sizeof text, "layout_size = %" PRIu64 " but only %" PRIu64, geo.layout_size, n);
            CHECK_FAILS(cxl_layout_validate(buf, n, &g), CXL_ETOOSMALL, text);
        }
        free(buf);
    }
    /* The smallest legal layout (1 ring, 4 slots of 64 B), built by hand into
     * a buffer of exactly its size, then one byte short. */
    struct cxl_format_params p = {.ring_count = 1, .slot_size = CXL_MIN_SLOT_SIZE};
    struct cxl_geometry pg;
    CHECK_EQ(cxl_layout_plan(&p, 8192 + 2 * CXL_MIN_SLOTS * CXL_MIN_SLOT_SIZE, &pg), 0);
    CHECK_EQ(pg.slots, CXL_MIN_SLOTS);
    uint64_t n = pg.layout_size;
    uint8_t *img = exact_alloc(n);
    CHECK(img != NULL);
    if (!img)
        return;
    memset(img, 0, n);
    put64(img, HOFF(magic), CXL_MAGIC);
    put32(img, HOFF(version), CXL_LAYOUT_VERSION);
    put32(img, HOFF(header_size), CXL_HEADER_SIZE);
    put64(img, HOFF(layout_size), n);
    put32(img, HOFF(ring_count), pg.ring_count);
    put32(img, HOFF(slot_size), pg.slot_size);
    put32(img, HOFF(slots), pg.slots);
    put64(img, HOFF(ring_table_off), CXL_HEADER_SIZE);
    put64(img, HOFF(data_off), pg.data_off);
    fix_checksum(img);
    put32(img, HOFF(state), CXL_STATE_READY);
    memset(&g, 0, sizeof g);
    CHECK_EQ(cxl_layout_validate(img, n, &g), 0);
    CHECK_EQ(g.slots, CXL_MIN_SLOTS);
    CHECK_EQ(g.max_payload, 2 * CXL_MIN_SLOT_SIZE - CXL_MSG_HDR_MAX);
    /* A layout must start on a 128 B boundary (the indices' cache lines). */
    uint8_t *odd = exact_alloc(n + 64);
    CHECK(odd != NULL);
    if (odd) {
        memcpy(odd + 64, img, n);
        CHECK_FAILS(cxl_layout_validate(odd + 64, n, &g), CXL_EINVAL, "not 128-byte aligned");
        free(odd);
    }
    uint8_t *shorter = exact_alloc(n - 1);
    CHECK(shorter != NULL);
    if (shorter) {
        memcpy(shorter, img, n - 1);
        CHECK_FAILS(cxl_layout_validate(shorter, n - 1, &g), CXL_ETOOSMALL, "layout_size = 8704 but only 8703");
        free(shorter);
    }
    free(img);
}

/* --- random garbage ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t interesting(void)
{
    const uint64_t v[] = {0, 1, 2, 3, 4, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 8191, 8192,
                          geo.slots, geo.slots + 1ull, geo.layout_size, msize, msize + 1,
                          CXL_MAX_SLOT_SIZE, UINT32_MAX, 1ull << 31, 1ull << 32, 1ull << 63,
                          UINT64_MAX, UINT64_MAX - 1};
    uint64_t x = v[rnd() % (sizeof v / sizeof v[0])];
    return rnd() % 4 ? x : rnd();
}

static void garble(void)
{
    int n = 1 + (int)(rnd() % 6);
    for (int k = 0; k < n; k++) {
        switch (rnd() % 5) {
        case 0: /* an interesting value over a header field */
        case 1: {
            uint64_t off = (rnd() % 20) * 4;
            if (rnd() % 2 && off % 8 == 0)
                put64(base, off, interesting());
            else
                put32(base, off, (uint32_t)interesting());
            break;
        }
        case 2: /* random bytes in the first lines of the header */
            for (int b = 1 + (int)(rnd() % 8); b > 0; b--)
                base[rnd() % 160] = (uint8_t)rnd();
            break;
        case 3: { /* a ring index */
            uint32_t r = (uint32_t)(rnd() % RINGS);
            uint64_t off = ring_idx_off(r, 128 * (1 + rnd() % 4));
            put64(base, off, rnd() % 2 ? interesting() : get64(base, off) + rnd() % ((uint64_t)2 * geo.slots + 2));
            break;
        }
        default: /* random bytes anywhere in the header page and ring table */
            for (int b = 1 + (int)(rnd() % 16); b > 0; b--)
                base[rnd() % good_len] = (uint8_t)rnd();
            break;
        }
    }
    if (rnd() % 4)
        fix_checksum(base);
    if (rnd() % 4)
        put32(base, HOFF(state), CXL_STATE_READY);
}

static void test_random(void)
{
    const char *env = getenv("CXL_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0)
                                : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    printf("test_badinput: random garbage, %d rounds, seed %" PRIu64 " (CXL_TEST_SEED=%" PRIu64
           " repeats it)\n", RANDOM_ROUNDS, seed, seed);
    rng_state = seed;
    int outcome[16] = {0}; /* by -status */
    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        int failures = check_failures;
        restore();
        garble();
        /* The whole medium every 100 rounds, else what was garbled. */
        uint64_t cmp_len = i % 100 == 0 ? msize : good_len;
        memcpy(snapshot, base, cmp_len);
        struct cxl_layout *l = NULL;
        clear_error();
        protect(fx.medium, 1);
        int rc = attach_checked(fx.medium, &l);
        protect(fx.medium, 0);
        CHECK(memcmp(snapshot, base, cmp_len) == 0);
        if (rc == 0) {
            const struct cxl_geometry *g = cxl_layout_geometry(l);
            CHECK(g->ring_count >= 1 && g->ring_count <= CXL_MAX_RINGS);
            CHECK(g->slots >= CXL_MIN_SLOTS);
            CHECK(g->data_off + (uint64_t)2 * g->ring_count * g->slots * g->slot_size <= g->layout_size);
            CHECK(g->layout_size <= msize);
            for (uint32_t r = 0; r < g->ring_count; r++)
                CHECK_EQ(cxl_layout_check_ring(l, r), 0);
            cxl_layout_close(l);
        } else {
            CHECK(rc == CXL_ETOOSMALL || rc == CXL_EFORMAT || rc == CXL_EGEOMETRY ||
                  rc == CXL_ECORRUPT);
            CHECK(cxl_last_error()[0] != '\0');
            CHECK(l == NULL);
        }
        outcome[rc <= 0 && rc > -16 ? -rc : 15]++;
        if (check_failures != failures) {
            fprintf(stderr, "    in random round %d (seed %" PRIu64 "): %s: %s\n", i, seed,
                    cxl_strerror(rc), cxl_last_error());
            break;
        }
    }
    printf("test_badinput: random outcomes: ok %d, ETOOSMALL %d, EFORMAT %d, EGEOMETRY %d, ECORRUPT %d\n",
           outcome[0], outcome[-CXL_ETOOSMALL], outcome[-CXL_EFORMAT], outcome[-CXL_EGEOMETRY],
           outcome[-CXL_ECORRUPT]);
    expect_restored("after random garbage");
}

int main(void)
{
    int rc = fixture_open(&fx, "/dev/shm", MEDIUM_SIZE, RINGS, SLOT_SIZE);
    CHECK_EQ(rc, 0);
    if (rc) {
        fixture_close(&fx);
        return check_summary("test_badinput");
    }
    catch_faults();
    geo = *cxl_layout_geometry(fx.layout);
    cxl_layout_close(fx.layout); /* every case attaches on its own */
    fx.layout = NULL;
    base = cxl_medium_base(fx.medium);
    msize = cxl_medium_size(fx.medium);
    good_len = geo.data_off;
    good = malloc(good_len);
    snapshot = malloc(msize);
    if (!good || !snapshot) {
        fprintf(stderr, "test_badinput: out of memory\n");
        return 2;
    }
    memcpy(good, base, good_len);
    CHECK_EQ(geo.ring_count, RINGS);
    CHECK_EQ(geo.slot_size, SLOT_SIZE);
    CHECK_EQ(geo.data_off, CXL_HEADER_SIZE + RINGS * CXL_RING_CTL_SIZE);
    expect_restored("freshly formatted");

    test_identity();
    test_geometry_fields();
    test_rings_past_the_end();
    test_ring_indices();
    test_sizes();
    test_validate_buffers();
    test_random();

    free(good);
    free(snapshot);
    fixture_close(&fx);
    return check_summary("test_badinput");
}
