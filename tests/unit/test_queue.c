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

/* slots a message of len payload bytes occupies */
static uint64_t m_slots(struct cxl_layout *l, uint32_t len)
{
    uint32_t s = cxl_layout_geometry(l)->slot_size;
    return (len + CXL_MSG_HDR_SIZE + s - 1) / s;
}

static void open_pair(struct cxl_layout *l, struct cxl_queue *prod, struct cxl_queue *cons)
{
    CHECK_EQ(cxl_queue_init(prod, l, 0, CXL_REQ, CXL_PRODUCER), 0);
    CHECK_EQ(cxl_queue_init(cons, l, 0, CXL_REQ, CXL_CONSUMER), 0);
}

static void test_basic(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg_hdr *h;
    struct cxl_msg m;
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    CHECK_EQ(cxl_queue_reserve(&p, 10, &h), 0);
    CHECK_EQ(h->len, 10);
    h->op = 7;
    h->ref = 99;
    fill(cxl_msg_payload(h), 10, 1);
    CHECK_EQ(cxl_queue_peek(&c, &m), 0); /* reserved is not published */
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_backlog(&p), m_slots(l, 10));
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.op, 7);
    CHECK_EQ(m.hdr.ref, 99);
    CHECK_EQ(m.hdr.len, 10);
    CHECK(same(m.payload, 10, 1));
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    CHECK_EQ(cxl_queue_backlog(&p), m_slots(l, 10)); /* not released yet */
    cxl_queue_release(&c);
    CHECK_EQ(cxl_queue_backlog(&p), 0);
    /* zero-length message */
    CHECK_EQ(cxl_queue_reserve(&p, 0, &h), 0);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.len, 0);
    cxl_queue_release(&c);
}

static void test_batch_and_rewind(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg_hdr *h;
    struct cxl_msg m, first;
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(cxl_queue_reserve(&p, 20, &h), 0);
        h->ref = (uint64_t)i;
    }
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c, &first), 1);
    CHECK_EQ(first.hdr.ref, 0);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.ref, 1);
    cxl_queue_rewind(&c, &first);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(cxl_queue_peek(&c, &m), 1);
        CHECK_EQ(m.hdr.ref, (uint64_t)i);
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
            struct cxl_msg_hdr *h;
            int rc = cxl_queue_reserve(&p, len, &h);
            if (rc == CXL_EAGAIN) {
                full++;
                /* the reservation that failed is retried with another size;
                 * the consumer only checks ids and content */
                break;
            }
            CHECK_EQ(rc, 0);
            h->ref = sent;
            fill(cxl_msg_payload(h), len, sent);
            sent++;
        }
        cxl_queue_submit(&p);
        struct cxl_msg m;
        int k = 0;
        while (k++ < 3 && cxl_queue_peek(&c, &m) == 1) { /* consume a few */
            CHECK_EQ(m.hdr.ref, got);
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
        CHECK_EQ(m.hdr.ref, got++);
    CHECK_EQ(got, sent);
    cxl_queue_release(&c);
}

static void test_too_big(struct cxl_layout *l)
{
    const struct cxl_geometry *g = cxl_layout_geometry(l);
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg_hdr *h;
    CHECK_FAILS(cxl_queue_reserve(&p, g->max_payload + 1, &h), CXL_E2BIG, "does not fit");
    CHECK_EQ(cxl_queue_reserve(&p, g->max_payload, &h), 0);
    CHECK_EQ(g->slot_size * (g->slots / 2) - CXL_MSG_HDR_SIZE, g->max_payload);
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
    struct cxl_msg_hdr *h;
    struct cxl_msg m;

    CHECK_EQ(cxl_queue_reserve(&p, 8, &h), 0);
    cxl_queue_submit(&p);
    h->seq += 5; /* replayed/relocated: seq does not match position */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "has seq");
    h->seq -= 5;
    h->len = 0xffffff00u;
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "impossible length");
    h->len = 8;
    h->flags = 0x0080;
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "unknown flags");
    h->flags = 0;
    h->len = 3 * cxl_layout_geometry(l)->slot_size; /* longer than published */
    CHECK_FAILS(cxl_queue_peek(&c, &m), CXL_ECORRUPT, "past the published tail");
    h->len = 8;
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
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
    CHECK_FAILS(cxl_queue_reserve(&p2, 8, &h), CXL_ECORRUPT, "consumer head");
    r->req_head.value = head;
    CHECK_EQ(cxl_queue_reserve(&p2, 8, &h), 0);
    cxl_queue_submit(&p2);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    cxl_queue_release(&c);
}

static void test_resync(struct cxl_layout *l)
{
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    struct cxl_msg_hdr *h;
    struct cxl_msg m;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cxl_queue_reserve(&p, 8, &h), 0);
    cxl_queue_submit(&p);
    /* scribble over the first message: the consumer drops what is pending */
    memset(c.slots + (uint64_t)c.idx * cxl_layout_geometry(l)->slot_size, 0xA5, 64);
    CHECK_EQ(cxl_queue_peek(&c, &m), CXL_ECORRUPT);
    CHECK_EQ(cxl_queue_resync(&c), 3 * m_slots(l, 8));
    CHECK_EQ(cxl_queue_peek(&c, &m), 0);
    CHECK_EQ(cxl_queue_reserve(&p, 8, &h), 0);
    h->ref = 42;
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c, &m), 1);
    CHECK_EQ(m.hdr.ref, 42);
    cxl_queue_release(&c);

    /* producer side: consumer head out of range -> producer makes the queue
     * empty from its side */
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, 0);
    r->req_head.value = r->req_tail.value + 1000000;
    CHECK_EQ(cxl_queue_init(&p, l, 0, CXL_REQ, CXL_PRODUCER), 0); /* no cached room */
    CHECK_EQ(cxl_queue_reserve(&p, 8, &h), CXL_ECORRUPT);
    CHECK(cxl_queue_resync(&p) > 0);
    CHECK_EQ(cxl_layout_check_ring(l, 0), 0);
    CHECK_EQ(cxl_queue_reserve(&p, 8, &h), 0);
    h->ref = 43;
    cxl_queue_submit(&p);
    struct cxl_queue c2;
    CHECK_EQ(cxl_queue_init(&c2, l, 0, CXL_REQ, CXL_CONSUMER), 0);
    CHECK_EQ(cxl_queue_peek(&c2, &m), 1);
    CHECK_EQ(m.hdr.ref, 43);
    cxl_queue_release(&c2);

    /* a head at or past 2^63 cannot be adopted by the producer; the consumer
     * (who owns it) resyncs it to the tail */
    r->req_head.value = 0xdeadbeefdeadbeefull;
    CHECK_EQ(cxl_queue_init(&p, l, 0, CXL_REQ, CXL_PRODUCER), 0);
    CHECK_EQ(cxl_queue_reserve(&p, 8, &h), CXL_ECORRUPT);
    CHECK_FAILS((int)cxl_queue_resync(&p), CXL_ECORRUPT, "past 2^63");
    CHECK_EQ(cxl_queue_init(&c2, l, 0, CXL_REQ, CXL_CONSUMER), 0);
    CHECK(cxl_queue_resync(&c2) >= 0);
    CHECK_EQ(cxl_layout_check_ring(l, 0), 0);
    CHECK_EQ(cxl_queue_reserve(&p, 8, &h), 0);
    h->ref = 44;
    cxl_queue_submit(&p);
    CHECK_EQ(cxl_queue_peek(&c2, &m), 1);
    CHECK_EQ(m.hdr.ref, 44);
    cxl_queue_release(&c2);
}

static void test_delay(struct cxl_layout *l)
{
    cxl_layout_set_delay_ns(l, 2000);
    struct cxl_queue p, c;
    open_pair(l, &p, &c);
    uint64_t t0 = cxl_now_ns();
    struct cxl_msg_hdr *h;
    struct cxl_msg m;
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(cxl_queue_reserve(&p, 8, &h), 0);
        cxl_queue_submit(&p);
        CHECK_EQ(cxl_queue_peek(&c, &m), 1);
        cxl_queue_release(&c);
    }
    /* >= 4 delayed accesses per round (reserve, submit, peek, release) */
    CHECK(cxl_now_ns() - t0 >= 50ull * 4 * 2000);
    cxl_layout_set_delay_ns(l, 0);
}

int main(void)
{
    struct fixture f;
    CHECK_EQ(fixture_open(&f, "/dev/shm", 64 * 1024, 1, 64), 0); /* tiny slots: many wraps */
    const struct cxl_geometry *g = cxl_layout_geometry(f.layout);
    printf("queue geometry: %u slots of %u B, max payload %u\n", g->slots, g->slot_size, g->max_payload);
    test_basic(f.layout);
    test_batch_and_rewind(f.layout);
    test_wrap_and_full(f.layout);
    test_too_big(f.layout);
    test_corrupt(f.layout);
    test_resync(f.layout);
    test_delay(f.layout);
    fixture_close(&f);

    CHECK_EQ(fixture_open(&f, "/dev/shm", 4 << 20, 2, 4096), 0); /* default slot size */
    test_basic(f.layout);
    test_wrap_and_full(f.layout);
    test_too_big(f.layout);
    fixture_close(&f);
    return check_summary("test_queue");
}
