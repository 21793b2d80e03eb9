/* fuzz_queue.c - libFuzzer target for message decoding: a consumer reading a
 * request queue that a hostile producer filled, and a producer facing a
 * hostile consumer index.
 *
 * Media: four small single-ring layouts in memfds (mapped through
 * /proc/self/fd/N like any file medium), formatted once and reused:
 *   0: 16 slots x 64 B    1: 16 slots x 128 B
 *   2: 24 slots x 512 B   3: 16 slots x 256 B
 * In 2 and 3 the request queue ends on a page boundary and the response
 * queue after it is PROT_NONE, so any access past the end of the queue
 * faults. 2 has a slot count that is not a power of two (as the default
 * geometry: 32767 slots), so position -> slot is a real modulo.
 *
 * Input: byte 0 flags, bytes 1..8 head (u64 LE), bytes 9..16 t (u64 LE),
 * then the request queue's slot bytes (zero-filled if the input is short).
 *   flags bits 0-1  medium (above)
 *         bit 2     tail = t as is (else head + t % (slots + 3): mostly in range)
 *         bit 3     seq fields as is (else each slot's natural position is
 *                   added to the u64 at its start, so zeros mean "valid seq")
 *         bit 4     after each message, rewind and peek it again
 *         bit 5     release after each message (else once at the end)
 *         bit 6     head = UINT64_MAX - head % 64 (indices about to wrap)
 *         bit 7     then a producer phase (lengths from the last 16 bytes)
 *
 * Consumer oracle: backlog is tail - head (0 if out of range); a returned
 * message lies inside the queue, inside its own slots and below the published
 * tail, in order; an out-of-range tail is CXL_ECORRUPT at the first peek;
 * after an error, resync recovers or reports CXL_ECORRUPT. Producer oracle:
 * room is what the consumer index leaves (0 if out of range); reserved
 * messages lie inside the queue; the consumer index is never written; what
 * was submitted is read back intact by a consumer. Anything else abort()s.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring/layout.h"

#define NMEDIA 4
#define MAX_STEPS 8 /* producer reservations per input */

struct fz_medium {
    struct cxl_medium *medium;
    struct cxl_layout *layout;
    struct cxl_ring_ctl *ctl;
    uint8_t *q0, *q1; /* request queue [q0, q1) */
    uint32_t slots, slot_size, max_payload;
};

static struct fz_medium media[NMEDIA];

static void die(const char *why, uint64_t a, uint64_t b)
{
    fprintf(stderr, "fuzz_queue: %s (%llu, %llu); last error: %s\n", why,
            (unsigned long long)a, (unsigned long long)b, cxl_last_error());
    abort();
}

static void setup(struct fz_medium *fm, uint32_t slots, uint32_t slot_size, int guard)
{
    uint64_t size = 8192 + (uint64_t)2 * slots * slot_size; /* data_off(1 ring) + 2 queues */
    int fd = memfd_create("fuzz_queue", 0);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        die("memfd", (uint64_t)fd, size);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct cxl_medium_config cfg;
    cxl_medium_config_init(&cfg);
    cfg.path = path;
    cfg.map_size = 0;
    cfg.allow_foreign = 1; /* /proc/self/fd/N is a link (to our own memfd) */
    struct cxl_format_params p = {.ring_count = 1, .slot_size = slot_size};
    if (cxl_medium_open(&cfg, &fm->medium) != 0 || cxl_layout_format(fm->medium, &p, &fm->layout) != 0)
        die("medium", slots, slot_size);
    const struct cxl_geometry *g = cxl_layout_geometry(fm->layout);
    if (g->slots != slots || g->data_off != 8192)
        die("geometry", g->slots, g->data_off);
    fm->slots = slots;
    fm->slot_size = slot_size;
    fm->max_payload = g->max_payload;
    fm->ctl = cxl_ring_ctl_of(fm->layout, 0);
    fm->q0 = cxl_queue_slots_of(fm->layout, 0, CXL_REQ);
    fm->q1 = fm->q0 + (uint64_t)slots * slot_size;
    if (guard && mprotect(fm->q1, (uint64_t)slots * slot_size, PROT_NONE) != 0)
        die("mprotect", 0, 0);
    close(fd); /* the mapping keeps the memory */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup(&media[0], 16, 64, 0);
    setup(&media[1], 16, 128, 0);
    setup(&media[2], 24, 512, 1); /* request queue = 3 pages */
    setup(&media[3], 16, 256, 1); /* request queue = 1 page */
    return 0;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void set_indices(struct fz_medium *fm, uint64_t head, uint64_t tail)
{
    cxl_store_release(&fm->ctl->req_head.value, head);
    cxl_store_release(&fm->ctl->req_tail.value, tail);
}

/* A message the consumer returned: where it may be, given what was published. */
static void check_msg(struct fz_medium *fm, const struct cxl_msg *m, uint64_t head,
                      uint64_t tail, uint64_t *next)
{
    if (m->idx >= fm->slots)
        die("message line", m->idx, fm->slots);
    const uint8_t *start = fm->q0 + (uint64_t)m->idx * fm->slot_size;
    uint64_t hs = (uint64_t)(m->payload - start); /* the header's size */
    if (m->payload < start || hs < CXL_MSG_HDR_FIXED || hs > CXL_MSG_HDR_MAX)
        die("payload not right after a header", hs, m->idx);
    if (m->payload + m->hdr.len > fm->q1)
        die("message outside the queue", (uint64_t)(start - fm->q0), m->hdr.len);
    if (m->nslots == 0 || m->idx + (uint64_t)m->nslots > fm->slots)
        die("message slots", m->idx, m->nslots);
    if (hs + (uint64_t)m->hdr.len > (uint64_t)m->nslots * fm->slot_size)
        die("payload longer than its lines", m->hdr.len, m->nslots);
    if (m->hdr.len > fm->max_payload + (CXL_MSG_HDR_MAX - CXL_MSG_HDR_FIXED))
        die("payload longer than any message", m->hdr.len, fm->max_payload);
    /* slot = position mod slots: positions >= 2^63 are rejected as corrupt,
     * so a returned message never sits across the 2^64 wrap */
    if (m->hdr.seq >= (1ull << 63) || m->hdr.seq % fm->slots != m->idx)
        die("seq does not match the slot", m->hdr.seq, m->idx);
    if (m->hdr.seq - head < *next - head)
        die("message before the previous one", m->hdr.seq, *next);
    if (m->hdr.seq - head + m->nslots > tail - head)
        die("message past the published tail", m->hdr.seq, tail);
    if (m->hdr.flags & CXL_MSG_F_PAD)
        die("PAD returned as a message", m->hdr.seq, m->hdr.flags);
    *next = m->hdr.seq + m->nslots;
    /* read every payload byte: a guard page or ASan sees a stray pointer */
    uint8_t sum = 0;
    for (uint32_t i = 0; i < m->hdr.len; i++)
        sum += m->payload[i];
    __asm__ __volatile__("" : : "r"(sum));
}

static void consume(struct fz_medium *fm, uint8_t flags, uint64_t head, uint64_t tail)
{
    struct cxl_queue q;
    if (cxl_queue_init(&q, fm->layout, 0, CXL_REQ, CXL_CONSUMER) != 0)
        die("queue init", 0, 0);
    const uint64_t limit = 1ull << 63; /* positions at or past 2^63 are corrupt */
    int in_range = head < limit && tail < limit && tail - head <= fm->slots;
    if (cxl_queue_backlog(&q) != (in_range ? tail - head : 0))
        die("backlog", cxl_queue_backlog(&q), tail - head);
    uint64_t next = head;
    int resyncs = 0;
    for (uint32_t step = 0; step < 2 * fm->slots + 4; step++) {
        struct cxl_msg m;
        cxl_fail(CXL_OK, "%s", "");
        int rc = cxl_queue_peek(&q, &m);
        if (step == 0 && !in_range && rc != CXL_ECORRUPT)
            die("out-of-range tail not reported", tail - head, (uint64_t)rc);
        if (step == 0 && tail == head && in_range && rc != 0)
            die("empty queue not empty", head, (uint64_t)rc);
        if (rc == 0)
            break;
        if (rc == 1) {
            if (resyncs)
                die("message after resync", m.hdr.seq, tail);
            check_msg(fm, &m, head, tail, &next);
            if (flags & 0x10) {
                struct cxl_msg again;
                cxl_queue_rewind(&q, &m);
                if (cxl_queue_peek(&q, &again) != 1 || again.hdr.seq != m.hdr.seq ||
                    again.hdr.len != m.hdr.len || again.payload != m.payload)
                    die("rewind did not return the same message", m.hdr.seq, again.hdr.seq);
            }
            if (flags & 0x20) {
                cxl_queue_release(&q);
                if (cxl_load_acquire(&fm->ctl->req_head.value) != next)
                    die("release did not publish the position", next, 0);
            }
            continue;
        }
        if (rc != CXL_ECORRUPT || cxl_last_error()[0] == '\0')
            die("peek failed without CXL_ECORRUPT and a message", (uint64_t)-rc, 0);
        cxl_fail(CXL_OK, "%s", "");
        uint64_t pub = cxl_load_acquire(&fm->ctl->req_head.value); /* what this consumer published */
        int64_t dropped = cxl_queue_resync(&q);
        /* the consumer adopts a tail below 2^63 within a queue of its head (any
         * such tail if its own head is unusable), and only such a tail */
        int adoptable = tail < limit && (pub >= limit || tail - pub <= fm->slots);
        if (dropped < 0) {
            if (dropped != CXL_ECORRUPT || adoptable || cxl_last_error()[0] == '\0')
                die("resync failed", (uint64_t)-dropped, in_range);
            return;
        }
        if (!adoptable)
            die("resync adopted a tail past 2^63 or more than a queue away", tail, pub);
        if (cxl_load_acquire(&fm->ctl->req_head.value) != tail)
            die("resync did not move head to tail", tail, 0);
        if (++resyncs > 1)
            die("second resync", 0, 0);
    }
    cxl_queue_release(&q);
}

/* The producer against consumer index chead, starting at tail ptail. What it
 * submits must be read back intact. */
static void produce(struct fz_medium *fm, uint64_t ptail, uint64_t chead, const uint8_t *lens,
                    size_t nlens)
{
    set_indices(fm, chead, ptail);
    struct cxl_queue p;
    if (cxl_queue_init(&p, fm->layout, 0, CXL_REQ, CXL_PRODUCER) != 0)
        die("producer init", 0, 0);
    uint32_t sent_len[MAX_STEPS];
    int sent = 0;
    uint64_t start = ptail;
    const uint64_t limit = 1ull << 63; /* positions at or past 2^63 are corrupt */
    int head_ok = chead < limit && ptail < limit && ptail - chead <= fm->slots;
    uint64_t room = head_ok ? fm->slots - (ptail - chead) : 0;
    if (head_ok && room > (limit - 1) - ptail) /* a tail never reaches 2^63 */
        room = (limit - 1) - ptail;
    if (cxl_queue_room(&p) != room)
        die("room", cxl_queue_room(&p), ptail - chead);
    for (size_t i = 0; i + 1 < nlens && sent < MAX_STEPS; i += 2) {
        uint32_t len = (uint32_t)(lens[i] | lens[i + 1] << 8) % (fm->max_payload + 2 * fm->slot_size);
        struct cxl_msg_hdr hd = {.ref = (uint64_t)sent, .op = (uint16_t)len}, *h = &hd;
        uint32_t hs = cxl_msg_hdr_size(h);
        uint8_t *payload;
        int rc = cxl_queue_reserve(&p, h, len, &payload);
        if (rc == 0) {
            uint8_t *b = payload - hs;
            if (b < fm->q0 || b + hs + len > fm->q1 || (uint64_t)(b - fm->q0) % fm->slot_size)
                die("reserved message outside the queue", (uint64_t)(b - fm->q0), len);
            if (h->len != len || (start % fm->slots + (h->seq - start)) % fm->slots !=
                                     (uint64_t)(b - fm->q0) / fm->slot_size)
                die("reserved header", h->seq, h->len);
            if ((uint64_t)len + hs > (uint64_t)(fm->slots / 2) * fm->slot_size)
                die("reserved a message larger than half the queue", len, fm->max_payload);
            for (uint32_t k = 0; k < len; k++)
                payload[k] = (uint8_t)(sent * 31 + k);
            sent_len[sent++] = len;
        } else if (rc == CXL_E2BIG) {
            if (len <= fm->max_payload)
                die("E2BIG for a payload that fits", len, fm->max_payload);
        } else if (rc == CXL_EAGAIN) {
            break;
        } else if (rc == CXL_ECORRUPT && head_ok && p.limit == limit - 1) {
            break; /* out of positions below 2^63 (a forged index): said, not "full" */
        } else if (rc == CXL_ECORRUPT) {
            if (head_ok || sent)
                die("producer saw a corrupt head that is in range", ptail, chead);
            /* unusable: a head past 2^63, or one behind the tail (a producer never goes back) */
            if (cxl_queue_resync(&p) < 0) {
                if (chead < limit && (ptail >= limit || chead >= ptail))
                    die("producer resync", 0, 0);
                return;
            }
            if (ptail < limit && chead < ptail)
                die("producer resync moved back", ptail, chead);
            start = chead;
            head_ok = 1;
        } else {
            die("reserve status", (uint64_t)-rc, len);
        }
    }
    cxl_queue_submit(&p);
    if (cxl_load_acquire(&fm->ctl->req_head.value) != chead)
        die("producer wrote the consumer index", chead, 0);

    if (start >= limit) { /* never repositioned: nothing can have been sent */
        if (sent)
            die("producer sent from a position past 2^63", start, (uint64_t)sent);
        return;
    }
    /* read it all back from where the producer started */
    cxl_store_release(&fm->ctl->req_head.value, start);
    struct cxl_queue c;
    if (cxl_queue_init(&c, fm->layout, 0, CXL_REQ, CXL_CONSUMER) != 0)
        die("consumer init", 0, 0);
    for (int i = 0; i < sent; i++) {
        struct cxl_msg m;
        if (cxl_queue_peek(&c, &m) != 1)
            die("submitted message not read back", (uint64_t)i, (uint64_t)sent);
        if (m.hdr.len != sent_len[i] || m.hdr.ref != (uint64_t)i || m.hdr.op != (uint16_t)sent_len[i])
            die("message read back differs", m.hdr.len, sent_len[i]);
        for (uint32_t k = 0; k < m.hdr.len; k++)
            if (m.payload[k] != (uint8_t)(i * 31 + k))
                die("payload read back differs", (uint64_t)i, k);
    }
    struct cxl_msg m;
    if (cxl_queue_peek(&c, &m) != 0)
        die("more messages read back than submitted", (uint64_t)sent, 0);
    cxl_queue_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[17] = {0};
    memcpy(hdr, data, size < sizeof hdr ? size : sizeof hdr);
    uint8_t flags = hdr[0];
    struct fz_medium *fm = &media[flags & 3];
    uint64_t head = get64(hdr + 1), t = get64(hdr + 9);
    if (flags & 0x40)
        head = UINT64_MAX - head % 64;
    uint64_t tail = (flags & 0x04) ? t : head + t % (fm->slots + 3);

    /* the hostile producer's slots */
    uint64_t qbytes = (uint64_t)fm->slots * fm->slot_size;
    size_t have = size > sizeof hdr ? size - sizeof hdr : 0;
    if (have > qbytes)
        have = qbytes;
    memcpy(fm->q0, data + sizeof hdr, have);
    memset(fm->q0 + have, 0, qbytes - have);
    if (!(flags & 0x08)) {
        for (uint32_t i = 0; i < fm->slots; i++) {
            uint64_t pos = head + (i + fm->slots - head % fm->slots) % fm->slots;
            uint8_t *s = fm->q0 + (uint64_t)i * fm->slot_size;
            uint64_t seq = get64(s) + pos;
            memcpy(s, &seq, sizeof seq);
        }
    }
    set_indices(fm, head, tail);
    consume(fm, flags, head, tail);

    if (flags & 0x80) {
        /* same numbers, roles swapped: tail = head, the consumer behind it */
        uint64_t chead = (flags & 0x04) ? t : head - t % (fm->slots + 3);
        size_t n = size > sizeof hdr ? size - sizeof hdr : 0;
        if (n > 2 * MAX_STEPS)
            n = 2 * MAX_STEPS;
        produce(fm, head, chead, data + size - n, n);
    }
    return 0;
}
