/* test_queue.c - message framing and queue behaviour in one process:
 * publish/peek/release, batching, PAD at the end of the queue, full and
 * too-big messages, rewind, corrupt headers and indices, resync, delay. */
#include "check.h"
#include "fixture.h"
#include "cxl/wait.h"
#include "ring/layout.h"

static void fill(uint8_t *p, uint32_t len, uint64_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 31 + i);
}

static int same(const uint8_t *p, uint32_t len, uint64_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != (uint8_t)(seed * 31 + i))
            return 0;
    return 1;
}

/* lines a message of len payload bytes and a header with ref only occupies */
static uint64_t m_slots(struct cxl_layout *l, uint32_t len)
{
    uint32_t s = cxl_layout_geometry(l)->slot_size;
    return (len + CXL_MSG_HDR_FIXED + 8 + s - 1) / s;
}

/* Reserve a message with op and ref; its payload pointer, or NULL with *rc. */
static uint8_t *put(struct cxl_queue *q, uint32_t len, uint16_t op, uint64_t ref, int *rc)
{
    struct cxl_msg_hdr h = {.op = op, .ref = ref};
    uint8_t *payload = NULL;
    *rc = cxl_queue_reserve(q, &h, len, &payload);
    return *rc ? NULL : payload;
}

/* The same, expected to succeed. */
static uint8_t *put_ok(struct cxl_queue *q, uint32_t len, uint64_t ref)
{
    int rc;
    uint8_t *p = put(q, len, 1, ref | 1ull << 40, &rc); /* ref never 0: always on the wire */
    CHECK_EQ(rc, 0);
    return p;
}
#define REF(m) ((m).hdr.ref & ~(1ull << 40))

static void open_pair(struct cxl_layout *l, struct cxl_queue *prod, struct cxl_queue *cons)
{
    CHECK_EQ(cxl_queue_init(prod, l, 0, CXL_REQ, CXL_PRODUCER), 0);
    CHECK_EQ(cxl_queue_init(cons, l, 0, CXL_REQ, CXL_CONSUMER), 0);
}

static void test_basic(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg m;
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    struct cxl_msg_hdr h = {.op = 7, .ref = 99, .session = 5, .epoch = 6, .arg0 = 1, .arg1 = 2, .arg2 = 3};
    uint8_t *payload;
    CHECK_EQ(cxl_queue_reserve(&p, &h, 10, &payload), 0);
    CHECK_EQ(h.len, 10); /* the queue completed the private header */
    CHECK_EQ(h.seq, cxl_queue_reserved(&p));
    CHECK_EQ(payload - (c.slots + (uint64_t)c.idx * cxl_layout_geometry(l)->slot_size), CXL_MSG_HDR_MAX);
    fill(payload, 10, 1);
    CHECK_EQ(cxl_queue_peek(&c, &m), 0); /* reserved is not published */
    cxl_queue_submit(&p);
    uint32_t lines = (CXL_MSG_HDR_MAX + 10 + cxl_layout_geometry(l)->slot_size - 1) / cxl_layout_geometry(l)->slot_size;
    CHECK_EQ(cxl_queue_backlog(&p), lines);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.op, 7);
    CHECK_EQ(m.hdr.ref, 99);
    CHECK_EQ(m.hdr.session, 5);
    CHECK_EQ(m.hdr.epoch, 6);
    CHECK_EQ(m.hdr.arg0, 1);
    CHECK_EQ(m.hdr.arg1, 2);
    CHECK_EQ(m.hdr.arg2, 3);
    CHECK_EQ(m.hdr.len, 10);
    CHECK(same(m.payload, 10, 1));
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    CHECK_EQ(cxl_queue_backlog(&p), lines); /* not released yet */
    cxl_queue_release(&c);
    CHECK_EQ(cxl_queue_backlog(&p), 0);
    /* zero-length message with no optional field: 12 B, one line */
    struct cxl_msg_hdr z = {0};
    CHECK_EQ(cxl_queue_reserve(&p, &z, 0, &payload), 0);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_backlog(&p), 1);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.len, 0);
    CHECK_EQ(m.hdr.op, 0);
    cxl_queue_release(&c);
    /* a small request fits one line: 12 B header + session + arg0, 16 B key, 28 B value */
    struct cxl_msg_hdr small = {.op = 2, .session = 9, .arg0 = 16};
    CHECK_EQ(cxl_queue_reserve(&p, &small, 44, &payload), 0);
    fill(payload, 44, 3);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_backlog(&p), 1);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.nslots, 1);
    CHECK(same(m.payload, 44, 3));
    cxl_queue_release(&c);
}

static void test_batch_and_rewind(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg m, first;
    for (int i = 0; i < 5; i++)
        put_ok(&p, 20, (uint64_t)i);
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c, &first), 1);
    CHECK_EQ(REF(first), 0);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(REF(m), 1);
    cxl_queue_rewind(&c, &first);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(cxl_queue_peek(&c, &m), 1);
        CHECK_EQ(REF(m), (uint64_t)i);
    }
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    cxl_queue_release(&c);
}

/* Many variable sizes through a small queue: PAD, wrap, full, order. */
static void test_wrap_and_full(struct cxl_layout *l)
{
    const struct cxl_geometry *g = cxl_layout_geometry(l);
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    uint64_t sent = 0, got = 0, full = 0;
    uint32_t rng = 12345;
    while (got < 20000) {
        for (;;) { /* produce until full */
            rng = rng * 1103515245u + 12345u;
            uint32_t len = (rng >> 8) % (g->max_payload + 1);
            int rc;
            uint8_t *payload = put(&p, len, 1, sent | 1ull << 40, &rc);
            if (rc == CXL_EAGAIN) {
                full++;
                /* the reservation that failed is retried with another size;
                 * the consumer only checks ids and content */
                break;
            }
            CHECK_EQ(rc, 0);
            fill(payload, len, sent);
            sent++;
        }
        cxl_queue_submit(&p);
        struct cxl_msg m;
        int k = 0;
        while (k++ < 3 && cxl_queue_peek(&c, &m) == 1) { /* consume a few */
            CHECK_EQ(REF(m), got);
            CHECK(same(m.payload, m.hdr.len, got));
            CHECK(m.payload + m.hdr.len <= (const uint8_t *)c.slots + (uint64_t)g->slots * g->slot_size);
            got++;
        }
        cxl_queue_release(&c);
    }
    CHECK(full > 0);
    CHECK(p.stats.pads > 0);
    CHECK_EQ(p.stats.pads, c.stats.pads);
    struct cxl_msg m;
    while (cxl_queue_peek(&c, &m) == 1)
        CHECK_EQ(REF(m), got++);
    CHECK_EQ(got, sent);
    cxl_queue_release(&c);
}

static void test_too_big(struct cxl_layout *l)
{
    const struct cxl_geometry *g = cxl_layout_geometry(l);
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg_hdr full = {.session = 1, .epoch = 1, .ref = 1, .arg0 = 1, .arg1 = 1, .arg2 = 1};
    uint8_t *payload;
    CHECK_FAILS(cxl_queue_reserve(&p, &full, g->max_payload + 1, &payload), CXL_E2BIG, "does not fit");
    CHECK_EQ(cxl_queue_reserve(&p, &full, g->max_payload, &payload), 0); /* even with every field */
    CHECK_EQ(g->slot_size * (g->slots / 2) - CXL_MSG_HDR_MAX, g->max_payload);
    cxl_queue_submit(&p);
    struct cxl_msg m;
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.nslots, g->slots / 2);
    cxl_queue_release(&c);
}

/* Corrupt headers and indices are reported, never followed. */
static void test_corrupt(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg m;
    int rc;

    uint8_t *line = c.slots + (uint64_t)c.idx * cxl_layout_geometry(l)->slot_size;
    put(&p, 8, 1, 0, &rc); /* a 12 B header, no optional field */
    CHECK_EQ(rc, 0);
    cxl_queue_submit(&p);
    uint8_t hdr0[12]; /* the header as the producer wrote it */
    memcpy(hdr0, line, 12);
    uint32_t v;
    memcpy(&v, line, 4), v += 5, memcpy(line, &v, 4); /* replayed/relocated: seq does not match */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "has seq");
    memcpy(line, hdr0, 12);
    v = 0xffffff00u, memcpy(line + 4, &v, 4);
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "impossible length");
    memcpy(line, hdr0, 12);
    line[8] = 0x80; /* unknown flag */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "unknown flag");
    memcpy(line, hdr0, 12);
    line[9] = 0x40; /* unknown field */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "unknown flag or field");
    memcpy(line, hdr0, 12);
    line[9] = CXL_MSG_FIELD_KNOWN; /* every field: the header grows, the payload moves; still framed */
    v = 3 * cxl_layout_geometry(l)->slot_size, memcpy(line + 4, &v, 4); /* longer than published */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "past the published tail");
    memcpy(line, hdr0, 12);
    line[8] = CXL_MSG_F_PAD; /* a PAD that is not at the end, with a length */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "PAD");
    memcpy(line, hdr0, 12);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.len, 8);
    cxl_queue_release(&c);

    /* producer's tail out of range */
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, 0);
    uint64_t saved = r->req_tail.value;
    r->req_tail.value = saved + cxl_layout_geometry(l)->slots + 1;
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "producer tail");
    CHECK_FAILS(cxl_layout_check_ring(l, 0), CXL_ECORRUPT, "request queue");
    r->req_tail.value = saved - 1; /* behind the consumer */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "producer tail");
    r->req_tail.value = saved;
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);

    /* consumer's head out of range: the producer refuses to overwrite */
    struct cxl_queue p2;
    CHECK_EQ(cxl_queue_init(&p2, l, 0, CXL_REQ, CXL_PRODUCER), 0);
    uint64_t head = r->req_head.value;
    r->req_head.value = head + 1000000;
    put(&p2, 8, 1, 0, &rc);
    CHECK_FAILS(rc, CXL_ECORRUPT, "consumer head");
    r->req_head.value = head;
    put_ok(&p2, 8, 0);
    cxl_queue_submit(&p2);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    cxl_queue_release(&c);
}

static void test_resync(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg m;
    int rc;
    for (int i = 0; i < 3; i++)
        put_ok(&p, 8, 0);
    cxl_queue_submit(&p);
    /* scribble over the first message: the consumer drops what is pending */
    memset(c.slots + (uint64_t)c.idx * cxl_layout_geometry(l)->slot_size, 0xA5, 64);
    CHECK_EQ(cxl_queue_peek(&c, &m), CXL_ECORRUPT);
    CHECK_EQ(cxl_queue_resync(&c), 3 * m_slots(l, 8));
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    put_ok(&p, 8, 42);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(REF(m), 42);
    cxl_queue_release(&c);

    /* producer side: consumer head out of range -> producer makes the queue
     * empty from its side */
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, 0);
    r->req_head.value = r->req_tail.value + 1000000;
    CHECK_EQ(cxl_queue_init(&p, l, 0, CXL_REQ, CXL_PRODUCER), 0); /* no cached room */
    put(&p, 8, 1, 0, &rc);
    CHECK_EQ(rc, CXL_ECORRUPT);
    CHECK(cxl_queue_resync(&p) > 0);
    CHECK_EQ(cxl_layout_check_ring(l, 0), 0);
    put_ok(&p, 8, 43);
    cxl_queue_submit(&p);
    struct cxl_queue c2;
    CHECK_EQ(cxl_queue_init(&c2, l, 0, CXL_REQ, CXL_CONSUMER), 0);
    CHECK_EQ(cxl_queue_peek(&c2, &m), 1);
    CHECK_EQ(REF(m), 43);
    cxl_queue_release(&c2);

    /* a head at or past 2^63 cannot be adopted by the producer; the consumer
     * (who owns it) resyncs it to the tail */
    r->req_head.value = 0xdeadbeefdeadbeefull;
    CHECK_EQ(cxl_queue_init(&p, l, 0, CXL_REQ, CXL_PRODUCER), 0);
    put(&p, 8, 1, 0, &rc);
    CHECK_EQ(rc, CXL_ECORRUPT);
    CHECK_FAILS((int)cxl_queue_resync(&p), CXL_ECORRUPT, "past 2^63");
    CHECK_EQ(cxl_queue_init(&c2, l, 0, CXL_REQ, CXL_CONSUMER), 0);
    CHECK(cxl_queue_resync(&c2) >= 0);
    CHECK_EQ(cxl_layout_check_ring(l, 0), 0);
    put_ok(&p, 8, 44);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c2, &m), 1);
    CHECK_EQ(REF(m), 44);
    cxl_queue_release(&c2);
}

static void set_delay(struct cxl_layout *l, uint32_t ns, uint32_t bw_mbps, enum cxl_delay_kind k)
{
    cxl_layout_set_delay(l, &(struct cxl_delay_model){.latency_ns = ns, .bw_mbps = bw_mbps, .model = k});
}

/* The delay model (docs/RING.md): lower bounds only, the machine is noisy. */
static void test_delay(struct cxl_layout *l)
{
    /* serial: L per access, in series */
    set_delay(l, 2000, 0, CXL_DELAY_SERIAL);
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    uint64_t t0 = cxl_now_ns();
    struct cxl_msg m;
    for (int i = 0; i < 50; i++) {
        put_ok(&p, 8, 0);
        cxl_queue_submit(&p);
        CHECK_EQ(cxl_queue_peek(&c, &m), 1);
        cxl_queue_release(&c);
    }
    /* >= 4 delayed accesses per round (reserve, submit, peek, release) */
    CHECK(cxl_now_ns() - t0 >= 50ull * 4 * 2000);

    /* mlp: a batch of k messages of n lines costs the producer L (the
     * publish) + k n 64 B / BW, the consumer 2 L (the tail, the first
     * message) + k n 64 B / BW, and L for its release */
    const uint32_t L = 2000, bw = 1000, k = 16, len = 200; /* 1 GB/s: 64 ns per line */
    set_delay(l, L, bw, CXL_DELAY_MLP);
    open_pair(l, &p, &c);
    struct cxl_delay_model d = cxl_layout_delay(l);
    CHECK_EQ(d.latency_ns, L);
    CHECK_EQ(d.bw_mbps, bw);
    CHECK_EQ((int)d.model, (int)CXL_DELAY_MLP);
    char text[64];
    CHECK(strcmp(cxl_delay_model_str(&d, text, sizeof text), "mlp L=2000ns BW=1GB/s") == 0);
    for (int round = 0; round < 3; round++) {
        uint64_t lines = 0;
        t0 = cxl_now_ns();
        for (uint32_t i = 0; i < k; i++) {
            put_ok(&p, len, i);
            lines += (m_slots(l, len) * cxl_layout_geometry(l)->slot_size + 63) / 64;
        }
        cxl_queue_submit(&p);
        uint64_t t1 = cxl_now_ns();
        uint64_t bw_ns = lines * 64 * 1000 / bw;
        CHECK(t1 - t0 >= L + bw_ns * 9 / 10); /* (the header may be 8 B shorter than m_slots says) */
        for (uint32_t i = 0; i < k; i++)
            CHECK_EQ(cxl_queue_peek(&c, &m), 1);
        CHECK_EQ(cxl_queue_peek(&c, &m), 0);
        uint64_t t2 = cxl_now_ns();
        CHECK(t2 - t1 >= 2 * L + bw_ns * 9 / 10);
        cxl_queue_release(&c);
        CHECK(cxl_now_ns() - t2 >= L);
    }
    set_delay(l, 0, 0, CXL_DELAY_MLP);
    CHECK(strcmp(cxl_delay_model_str(&(struct cxl_delay_model){0}, text, sizeof text), "off") == 0);
    d = (struct cxl_delay_model){.latency_ns = 150, .model = CXL_DELAY_SERIAL};
    CHECK(strcmp(cxl_delay_model_str(&d, text, sizeof text), "serial L=150ns") == 0);
}

/* The header codec: every subset of the optional fields round-trips, in
 * the size cxl_msg_hdr_size says; unknown bits and short input are refused. */
static void test_codec(void)
{
    for (uint32_t fields = 0; fields <= CXL_MSG_FIELD_KNOWN; fields++) {
        struct cxl_msg_hdr h = {.seq = 0x1234567890ull, .len = 77, .flags = CXL_MSG_F_SEALED, .op = 0xbeef,
                                .session = fields & 1 ? 0x11111111u : 0, .epoch = fields & 2 ? 22 : 0,
                                .ref = fields & 4 ? 0x3333333333ull : 0, .arg0 = fields & 8 ? 44 : 0,
                                .arg1 = fields & 16 ? 55 : 0, .arg2 = fields & 32 ? 0x6666666666ull : 0};
        uint8_t wire[CXL_MSG_HDR_MAX + 8];
        memset(wire, 0xee, sizeof wire);
        uint32_t n = cxl_msg_encode(&h, wire);
        CHECK_EQ(n, cxl_msg_hdr_size(&h));
        CHECK_EQ(wire[n], 0xee); /* nothing written past the header */
        CHECK_EQ(wire[9], fields);
        struct cxl_msg_hdr d;
        CHECK_EQ(cxl_msg_decode(wire, n, &d), n);
        CHECK_EQ(d.seq, 0x34567890u); /* the low 32 bits travel */
        d.seq = h.seq;
        CHECK(memcmp(&d, &h, sizeof d) == 0);
        CHECK_EQ(cxl_msg_decode(wire, n - 1, &d), 0); /* runs past what is readable */
    }
    uint8_t wire[CXL_MSG_HDR_MAX] = {0};
    struct cxl_msg_hdr d;
    CHECK_EQ(cxl_msg_decode(wire, 11, &d), 0);
    CHECK_EQ(cxl_msg_decode(wire, 12, &d), 12);
    wire[9] = 0x40;
    CHECK_EQ(cxl_msg_decode(wire, sizeof wire, &d), 0);
    wire[9] = 0, wire[8] = 0x04;
    CHECK_EQ(cxl_msg_decode(wire, sizeof wire, &d), 0);
    struct cxl_msg_hdr pad_attempt = {.flags = 0xffff};
    CHECK_EQ(cxl_msg_encode(&pad_attempt, wire), 12);
    CHECK_EQ(wire[8], CXL_MSG_F_KNOWN); /* only ring flags reach the wire */
}

/* A producer never reads back what it wrote: another host rewriting a
 * reserved message (header and payload) before the next reserve changes
 * nothing the producer does next (positions, the next header). */
static void test_producer_never_reads_back(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    uint32_t line = cxl_layout_geometry(l)->slot_size;
    struct cxl_msg_hdr a = {.op = 1, .ref = 5, .arg0 = 7};
    uint8_t *pa;
    CHECK_EQ(cxl_queue_reserve(&p, &a, 100, &pa), 0);
    uint8_t *start = pa - cxl_msg_hdr_size(&a);
    uint64_t lines_a = (cxl_msg_hdr_size(&a) + 100 + line - 1) / line;
    memset(start, 0xff, lines_a * line); /* the attacker: garbage over all of it */
    struct cxl_msg_hdr b = {.op = 2, .ref = 6};
    uint8_t *pb;
    CHECK_EQ(cxl_queue_reserve(&p, &b, 8, &pb), 0);
    CHECK_EQ(b.seq, a.seq + lines_a); /* from the private cursor */
    CHECK(pb - cxl_msg_hdr_size(&b) == start + lines_a * line || b.seq % cxl_layout_geometry(l)->slots == 0);
    fill(pb, 8, 9);
    cxl_queue_submit(&p);
    struct cxl_msg m;
    CHECK_EQ(cxl_queue_peek(&c, &m), CXL_ECORRUPT); /* A is garbage now, and said so */
    CHECK(cxl_queue_resync(&c) >= 0);
    cxl_queue_release(&c);
}

int main(void)
{
    test_codec();
    struct fixture f;
    CHECK_EQ(fixture_open(&f, "/dev/shm", 64 * 1024, 1, 64), 0); /* a small queue: many wraps */
    const struct cxl_geometry *g = cxl_layout_geometry(f.layout);
    printf("queue geometry: %u slots of %u B, max payload %u\n", g->slots, g->slot_size, g->max_payload);
    test_basic(f.layout);
    test_batch_and_rewind(f.layout);
    test_wrap_and_full(f.layout);
    test_too_big(f.layout);
    test_corrupt(f.layout);
    test_resync(f.layout);
    test_delay(f.layout);
    test_producer_never_reads_back(f.layout);
    fixture_close(&f);

    CHECK_EQ(fixture_open(&f, "/dev/shm", 4 << 20, 2, 4096), 0); /* a large line size still works */
    test_basic(f.layout);
    test_wrap_and_full(f.layout);
    test_too_big(f.layout);
    fixture_close(&f);
    return check_summary("test_queue");
}
