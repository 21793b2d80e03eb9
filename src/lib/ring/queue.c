/* queue.c - the single-producer/single-consumer message queues of a ring.
 *
 * Hot path: reserve/submit on the producer, peek/release on the consumer.
 * Each end keeps a private cursor and a cached copy of the other end's index,
 * and loads that index only when the cache says full (producer) or empty
 * (consumer). Every value loaded from the medium is range-checked before use;
 * every header is validated on a private copy (docs/RING.md). Ordering rules
 * are in src/lib/ring/layout.h. */
#include <inttypes.h>
#include <string.h>

#include "cxl/wait.h"
#include "ring/layout.h"

static const char *queue_name(const struct cxl_queue *q)
{
    return q->dir == CXL_REQ ? "request" : "response";
}

/* The optional fields of a wire header (docs/RING.md, "Messages"): one copy
 * out of the medium, then parsed from the copy. */
uint32_t cxl_msg_decode_fields_(const uint8_t *src, uint32_t avail, uint32_t fields, struct cxl_msg_hdr *h)
{
    if (fields & ~CXL_MSG_FIELD_KNOWN)
        return 0;
    uint32_t size = CXL_MSG_HDR_FIXED + 4u * (uint32_t)__builtin_popcount(fields & 0x1bu) +
                    8u * (uint32_t)__builtin_popcount(fields & 0x24u);
    if (size > avail)
        return 0;
    uint8_t copy[CXL_MSG_HDR_MAX - CXL_MSG_HDR_FIXED];
    memcpy(copy, src + CXL_MSG_HDR_FIXED, size - CXL_MSG_HDR_FIXED);
    const uint8_t *p = copy;
    if (fields & CXL_MSG_FIELD_SESSION) memcpy(&h->session, p, 4), p += 4;
    if (fields & CXL_MSG_FIELD_EPOCH) memcpy(&h->epoch, p, 4), p += 4;
    if (fields & CXL_MSG_FIELD_REF) memcpy(&h->ref, p, 8), p += 8;
    if (fields & CXL_MSG_FIELD_ARG0) memcpy(&h->arg0, p, 4), p += 4;
    if (fields & CXL_MSG_FIELD_ARG1) memcpy(&h->arg1, p, 4), p += 4;
    if (fields & CXL_MSG_FIELD_ARG2) memcpy(&h->arg2, p, 8);
    return size;
}

static inline uint8_t *slot_at(const struct cxl_queue *q, uint32_t idx)
{
    return q->slots + ((uint64_t)idx << q->slot_shift);
}

/* --- the delay model (docs/RING.md, "The delay model") ---------------------
 * serial: L per access (medium_access). mlp: L per dependent access and per
 * publish (delay_latency), which also pays the bandwidth terms accumulated
 * since (delay_lines); those are paid at once when they add up to L. */

static inline void medium_access(const struct cxl_queue *q)
{
    if (__builtin_expect(q->delay_ticks != 0, 0))
        cxl_delay_spin(q->delay_ticks);
}

static inline int delay_mlp(const struct cxl_queue *q)
{
    return q->delay_ticks != 0 && !q->delay_serial;
}

/* mlp: L plus the bandwidth debt; serial: L */
static void delay_latency(struct cxl_queue *q)
{
    if (__builtin_expect(q->delay_ticks == 0, 1))
        return;
    uint64_t t = q->delay_ticks;
    if (!q->delay_serial) {
        t += q->delay_debt_q16 >> 16;
        q->delay_debt_q16 &= 0xffff;
    }
    cxl_delay_spin(t);
}

/* mlp: the bandwidth term of bytes in 64-B lines */
static void delay_lines(struct cxl_queue *q, uint64_t bytes)
{
    q->delay_debt_q16 += ((bytes + 63) >> 6) * q->delay_line_q16;
    if ((q->delay_debt_q16 >> 16) >= q->delay_ticks) {
        cxl_delay_spin(q->delay_debt_q16 >> 16);
        q->delay_debt_q16 &= 0xffff;
    }
}


int cxl_queue_init(struct cxl_queue *q, struct cxl_layout *l, uint32_t ring,
                   enum cxl_dir dir, enum cxl_role role)
{
    if (ring >= l->geo.ring_count)
        return cxl_fail(CXL_EINVAL, "ring %u does not exist (ring_count = %u)", ring, l->geo.ring_count);
    if ((dir != CXL_REQ && dir != CXL_RESP) || (role != CXL_PRODUCER && role != CXL_CONSUMER))
        return cxl_fail(CXL_EINVAL, "queue direction %d / role %d invalid", (int)dir, (int)role);
    struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, ring);
    volatile uint64_t *tail = dir == CXL_REQ ? &r->req_tail.value : &r->resp_tail.value;
    volatile uint64_t *head = dir == CXL_REQ ? &r->req_head.value : &r->resp_head.value;
    *q = (struct cxl_queue){
        .slots = cxl_queue_slots_of(l, ring, dir),
        .mine = role == CXL_PRODUCER ? tail : head,
        .theirs = role == CXL_PRODUCER ? head : tail,
        .nslots = l->geo.slots,
        .slot_shift = (uint32_t)__builtin_ctz(l->geo.slot_size),
        .max_msg_slots = l->geo.slots / 2,
        .ring = ring,
        .dir = (uint8_t)dir,
        .role = (uint8_t)role,
        .delay_ticks = cxl_delay_ticks(l->delay.latency_ns),
        .delay_serial = l->delay.model == CXL_DELAY_SERIAL,
    };
    if (l->delay.latency_ns) /* (the clock's calibration takes 5 ms: only when on) */
        q->delay_line_q16 = cxl_delay_line_q16(l->delay.bw_mbps ? l->delay.bw_mbps : CXL_DELAY_BW_DEFAULT_MBPS);
    q->pos = q->published = cxl_load_acquire(q->mine);
    q->idx = (uint32_t)(q->pos % q->nslots);
    /* limit == pos forces a validated load of the other index on first use
     * (producer: "full", consumer: "empty"). */
    q->limit = q->pos;
    return 0;
}

/* --- producer --------------------------------------------------------------- */

static int producer_refresh(struct cxl_queue *q)
{
    uint64_t head = cxl_load_acquire(q->theirs);
    delay_latency(q); /* dependent: what follows depends on it */
    if (__builtin_expect(head >= CXL_POS_LIMIT || q->published >= CXL_POS_LIMIT ||
                         q->published - head > q->nslots, 0)) {
        q->stats.corrupt++;
        return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: consumer head %" PRIu64 " out of range "
                        "(tail %" PRIu64 ", %u slots)", q->ring, queue_name(q), head, q->published, q->nslots);
    }
    q->limit = head + q->nslots; /* head < 2^63: no wrap */
    if (q->limit >= CXL_POS_LIMIT) /* a tail stays below 2^63; only a forged head */
        q->limit = CXL_POS_LIMIT - 1; /* gets here, and reserve says so */
    return 0;
}

static inline int has_room(const struct cxl_queue *q, uint32_t n)
{
    return (int64_t)(q->limit - q->pos) >= (int64_t)n;
}

/* Largest header plus payload of one message. */
static inline uint64_t max_msg_bytes(const struct cxl_queue *q)
{
    return (uint64_t)q->max_msg_slots << q->slot_shift;
}

int cxl_queue_reserve_slow(struct cxl_queue *q, struct cxl_msg_hdr *h, uint32_t len, uint8_t **payload)
{
    uint32_t hs = cxl_msg_hdr_size(h);
    if (__builtin_expect((uint64_t)len + hs > max_msg_bytes(q), 0))
        return cxl_fail(CXL_E2BIG, "message of %u bytes does not fit a queue of %u lines of %u B "
                        "(largest payload %" PRIu64 ")", len, q->nslots, 1u << q->slot_shift,
                        max_msg_bytes(q) - CXL_MSG_HDR_MAX);
    uint32_t n = (uint32_t)cxl_queue_lines_for_(q, hs, len);
    uint32_t pad = q->idx + n > q->nslots ? q->nslots - q->idx : 0;
    if (!has_room(q, n + pad)) {
        int rc = producer_refresh(q);
        if (rc)
            return rc;
        if (!has_room(q, n + pad) && q->limit == CXL_POS_LIMIT - 1) {
            q->stats.corrupt++; /* not full: out of positions (a forged index) */
            return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: positions exhausted (at %" PRIu64 "; the "
                            "indices were forged near 2^63): the server resets such a ring",
                            q->ring, queue_name(q), q->pos);
        }
        if (!has_room(q, n + pad)) {
            q->stats.full++;
            return CXL_EAGAIN;
        }
    }
    if (!delay_mlp(q))
        medium_access(q);
    else { /* posted stores: the bandwidth term */
        if (pad)
            delay_lines(q, CXL_MSG_HDR_FIXED);
        delay_lines(q, (uint64_t)hs + len);
    }
    if (pad) {
        struct cxl_msg_hdr p = {.seq = q->pos, .flags = CXL_MSG_F_PAD};
        cxl_msg_encode(&p, slot_at(q, q->idx));
        cxl_queue_advance_(q, pad);
        q->stats.pads++;
    }
    uint8_t *line = slot_at(q, q->idx);
    h->seq = q->reserved = q->pos;
    h->len = len;
    h->flags &= CXL_MSG_F_SEALED;
    *payload = line + cxl_msg_encode(h, line);
    cxl_queue_advance_(q, n);
    q->stats.msgs++;
    q->stats.bytes += len;
    return 0;
}

/* cxl_queue_submit and cxl_queue_release, when there is something to publish */
void cxl_queue_publish_slow(struct cxl_queue *q)
{
    delay_latency(q); /* the release waits for the stores before it */
    cxl_store_release(q->mine, q->pos);
    q->published = q->pos;
}

uint64_t cxl_queue_room(struct cxl_queue *q)
{
    if (producer_refresh(q) != 0)
        return 0;
    int64_t room = (int64_t)(q->limit - q->pos);
    return room > 0 ? (uint64_t)room : 0;
}

/* --- consumer --------------------------------------------------------------- */

static int consumer_refresh(struct cxl_queue *q)
{
    uint64_t tail = cxl_load_acquire(q->theirs);
    delay_latency(q);
    if (__builtin_expect(tail >= CXL_POS_LIMIT || q->published >= CXL_POS_LIMIT ||
                         tail - q->published > q->nslots ||
                         tail - q->pos > q->nslots, 0)) {
        q->stats.corrupt++;
        return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: producer tail %" PRIu64 " out of range "
                        "(head %" PRIu64 ", %u slots)", q->ring, queue_name(q), tail, q->published, q->nslots);
    }
    if (tail != q->limit)
        q->delay_dep = 1; /* mlp: the first message after it is dependent */
    q->limit = tail;
    return 0;
}

static int bad_header(struct cxl_queue *q, const char *what, uint64_t value)
{
    q->stats.corrupt++;
    return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: message at position %" PRIu64 " (slot %u): %s %" PRIu64,
                    q->ring, queue_name(q), q->pos, q->idx, what, value);
}

/* Decode and validate the header at the cursor into the private *h; on
 * success *hs is its size and *n the message's lines. */
static int check_header(struct cxl_queue *q, const uint8_t *line, struct cxl_msg_hdr *h, uint32_t *hs,
                        uint32_t *n)
{
    *hs = cxl_msg_decode(line, 1u << q->slot_shift, h);
    if (*hs == 0)
        return bad_header(q, "has unknown flag or field bits", h->flags);
    if (h->seq != (uint32_t)q->pos)
        return bad_header(q, "has seq", h->seq);
    h->seq = q->pos;
    uint32_t to_end = q->nslots - q->idx;
    if (h->flags & CXL_MSG_F_PAD) {
        if (h->len != 0 || *hs != CXL_MSG_HDR_FIXED)
            return bad_header(q, "is a PAD with length or fields; length", h->len);
        *n = to_end;
    } else {
        if ((uint64_t)h->len + *hs > max_msg_bytes(q))
            return bad_header(q, "has impossible length", h->len);
        *n = (uint32_t)cxl_queue_lines_for_(q, *hs, h->len);
        if (*n > to_end)
            return bad_header(q, "crosses the end of the queue with length", h->len);
    }
    if (*n > q->limit - q->pos)
        return bad_header(q, "extends past the published tail; lines", *n);
    return 0;
}

int cxl_queue_peek_slow(struct cxl_queue *q, struct cxl_msg *m)
{
    for (;;) {
        if (q->pos == q->limit) {
            int rc = consumer_refresh(q);
            if (rc)
                return rc;
            if (q->pos == q->limit)
                return 0;
        }
        const uint8_t *line = slot_at(q, q->idx);
        if (!delay_mlp(q))
            medium_access(q);
        else if (q->delay_dep) {
            q->delay_dep = 0;
            delay_latency(q);
        }
        uint32_t hs = 0, n = 0;
        int rc = check_header(q, line, &m->hdr, &hs, &n);
        if (rc)
            return rc;
        if (delay_mlp(q)) /* the lines of a batch overlap: bandwidth only */
            delay_lines(q, (uint64_t)hs + (m->hdr.flags & CXL_MSG_F_PAD ? 0 : m->hdr.len));
        if (m->hdr.flags & CXL_MSG_F_PAD) {
            cxl_queue_advance_(q, n);
            q->stats.pads++;
            continue;
        }
        m->payload = line + hs;
        m->idx = q->idx;
        m->nslots = n;
        cxl_queue_advance_(q, n);
        q->stats.msgs++;
        q->stats.bytes += m->hdr.len;
        return 1;
    }
}

int cxl_queue_ready(struct cxl_queue *q)
{
    if (q->pos != q->limit)
        return 1;
    int rc = consumer_refresh(q);
    if (rc)
        return rc;
    return q->pos != q->limit;
}

void cxl_queue_rewind(struct cxl_queue *q, const struct cxl_msg *m)
{
    q->pos = m->hdr.seq;
    q->idx = m->idx;
}

/* --- recovery ----------------------------------------------------------------- */

static void reposition(struct cxl_queue *q, uint64_t pos)
{
    q->pos = pos;
    q->idx = (uint32_t)(pos % q->nslots);
    cxl_store_release(q->mine, pos);
    q->published = pos;
}

int64_t cxl_queue_resync(struct cxl_queue *q)
{
    uint64_t other = cxl_load_acquire(q->theirs);
    if (q->role == CXL_CONSUMER) { /* adopt the producer's tail, if usable */
        if (other >= CXL_POS_LIMIT)
            return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: cannot resync, producer tail %" PRIu64
                            " is past 2^63", q->ring, queue_name(q), other);
        uint64_t behind = other - q->published;
        /* a tail more than a queue ahead (or behind) was not published by
         * an honest producer: following it would skip positions that were
         * never used (a secure window would then refuse everything below) */
        if (q->published < CXL_POS_LIMIT && behind > q->nslots)
            return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: cannot resync, producer tail %" PRIu64
                            " is not within a queue of head %" PRIu64, q->ring, queue_name(q), other,
                            q->published);
        int64_t dropped = (int64_t)(behind <= q->nslots ? behind : q->nslots);
        reposition(q, other);
        q->limit = other;
        return dropped;
    }
    if (other < CXL_POS_LIMIT && q->published < CXL_POS_LIMIT &&
        q->published - other <= q->nslots) { /* sane: drop unsubmitted reservations */
        reposition(q, q->published);
        q->limit = q->pos;
        return 0;
    }
    if (other >= CXL_POS_LIMIT)
        return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: cannot resync, consumer head %" PRIu64
                        " is past 2^63", q->ring, queue_name(q), other);
    if (q->published < CXL_POS_LIMIT && other < q->published) /* positions only grow: a producer */
        return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: cannot resync, consumer head %" PRIu64 /* never */
                        " is more than a queue behind tail %" PRIu64 " (its owner resets it)", /* goes back */
                        q->ring, queue_name(q), other, q->published);
    int64_t dropped = (int64_t)q->nslots;
    reposition(q, other); /* make the queue empty from our side */
    q->limit = q->pos;       /* next reserve loads and checks the head again */
    return dropped;
}

uint64_t cxl_queue_backlog(struct cxl_queue *q)
{
    uint64_t other = cxl_load_acquire(q->theirs);
    if (other >= CXL_POS_LIMIT || q->published >= CXL_POS_LIMIT)
        return 0;
    uint64_t v = q->role == CXL_PRODUCER ? q->published - other : other - q->published;
    return v <= q->nslots ? v : 0;
}
