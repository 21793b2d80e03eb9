/* bare_ring.h - the baseline of the ring ping-pong benchmark (bench/pingpong): a bare, minimal
 * single-producer/single-consumer ring pair in a shared mapping.
 *
 * It is what a careful programmer writes by hand when nothing but speed
 * matters, and it is the yardstick the library is measured against:
 *   - fixed slots, one message each (by default as many 64 B lines as the
 *     library's message of the same payload takes: ping-pong writes a 12 B
 *     stamp, then the payload), no validation of anything read from the
 *     shared memory;
 *   - slots is a power of two, the slot size a multiple of 64 B (position ->
 *     slot is a mask and a multiply);
 *   - free-running 64-bit head/tail, each alone in a 128 B block (its line
 *     plus the adjacent-line prefetch partner), so publishing one never
 *     invalidates the other;
 *   - each end caches the other end's index and reloads it only when the
 *     cache says full (producer) or empty (consumer);
 *   - batched publish: reserve/peek move a private cursor, one store-release
 *     publishes it; the other side load-acquires.
 * It has the call pattern of cxl_queue_* so the bench drives both with the
 * same loops. With a delay model (ns > 0) it spins at the same points as the
 * library does (docs/RING.md, "The delay model"): per reserved or peeked
 * message, per load of the other index, per publish.
 *
 * Layout of the bare medium (offsets from its start):
 *   0     magic, slots, slot_size, server pid and address (diagnostics)
 *   128   req.tail   (client)      256 req.head  (server)
 *   384   resp.tail  (server)      512 resp.head (client)
 *   4096  request slots, then response slots (slots x slot_size each) */
#ifndef BENCH_BARE_RING_H
#define BENCH_BARE_RING_H

#include <stdint.h>

#include "cxl/wait.h"

#define BARE_MAGIC 0x474e495245524142ull /* "BARERING" */
#define BARE_LINE 64u                    /* a cache line: the unit of a bare slot */
#define BARE_STAMP 12u                   /* u64 seq, u32 len: as big as the library's header */
#define BARE_BLOCK 128u
#define BARE_DATA_OFF 4096u

struct bare_idx {
    volatile uint64_t value;
    uint8_t pad_[BARE_BLOCK - sizeof(uint64_t)];
};

struct bare_ctl {
    uint64_t magic;
    uint64_t slots;
    uint64_t slot_size;
    uint64_t server_pid;
    uint64_t server_base;
    uint8_t pad_[BARE_BLOCK - 40];
    struct bare_idx req_tail, req_head, resp_tail, resp_head;
};

_Static_assert(sizeof(struct bare_ctl) == 5 * BARE_BLOCK, "bare ctl");
_Static_assert(sizeof(struct bare_ctl) <= BARE_DATA_OFF, "bare ctl fits");

/* One end of one queue. */
struct bare_q {
    uint8_t *slots;
    volatile uint64_t *mine;   /* index this end publishes */
    volatile uint64_t *theirs; /* index the other end publishes */
    uint64_t pos;              /* private cursor */
    uint64_t published;        /* last value stored to *mine */
    uint64_t limit;            /* producer: head + slots; consumer: tail */
    uint64_t mask;
    uint64_t nslots;
    uint64_t stride;           /* slot size in bytes */
    uint64_t delay_ticks;      /* delay model, 0 = off */
};

/* Bytes a bare medium needs for slots per queue of slot_size bytes. */
static inline uint64_t bare_bytes(uint64_t slots, uint64_t slot_size)
{
    return BARE_DATA_OFF + 2 * slots * slot_size;
}

/* dir 0: requests, 1: responses; producer: 1 if this end produces. The
 * control page must have been checked (magic, power-of-two slot count). */
static inline void bare_init(struct bare_q *q, void *base, int dir, int producer,
                             uint64_t delay_ticks)
{
    struct bare_ctl *c = base;
    volatile uint64_t *tail = dir ? &c->resp_tail.value : &c->req_tail.value;
    volatile uint64_t *head = dir ? &c->resp_head.value : &c->req_head.value;
    q->nslots = c->slots;
    q->mask = c->slots - 1;
    q->stride = c->slot_size;
    q->slots = (uint8_t *)base + BARE_DATA_OFF + (uint64_t)dir * c->slots * c->slot_size;
    q->mine = producer ? tail : head;
    q->theirs = producer ? head : tail;
    q->pos = q->published = __atomic_load_n(q->mine, __ATOMIC_ACQUIRE);
    q->limit = __atomic_load_n(q->theirs, __ATOMIC_ACQUIRE) + (producer ? q->nslots : 0);
    q->delay_ticks = delay_ticks;
}

static inline void bare_access(const struct bare_q *q)
{
    if (__builtin_expect(q->delay_ticks != 0, 0))
        cxl_delay_spin(q->delay_ticks);
}

/* Producer: the next free slot, or NULL if the ring is full. */
static inline uint8_t *bare_reserve(struct bare_q *q)
{
    if (q->pos == q->limit) {
        q->limit = __atomic_load_n(q->theirs, __ATOMIC_ACQUIRE) + q->nslots;
        bare_access(q);
        if (q->pos == q->limit)
            return NULL;
    }
    bare_access(q);
    return q->slots + (q->pos++ & q->mask) * q->stride;
}

/* Either end: publish the cursor (producer: submit, consumer: release). */
static inline void bare_publish(struct bare_q *q)
{
    if (q->pos == q->published)
        return;
    bare_access(q);
    __atomic_store_n(q->mine, q->pos, __ATOMIC_RELEASE);
    q->published = q->pos;
}

/* Consumer: the next message, or NULL if the ring is empty. */
static inline const uint8_t *bare_peek(struct bare_q *q)
{
    if (q->pos == q->limit) {
        q->limit = __atomic_load_n(q->theirs, __ATOMIC_ACQUIRE);
        bare_access(q);
        if (q->pos == q->limit)
            return NULL;
    }
    bare_access(q);
    return q->slots + (q->pos++ & q->mask) * q->stride;
}

/* Consumer: un-peek the last message (it will be peeked again). */
static inline void bare_unpeek(struct bare_q *q)
{
    q->pos--;
}

#endif
