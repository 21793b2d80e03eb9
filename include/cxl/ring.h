/* cxl/ring.h - the ring layout in a medium: format, attach, message queues,
 * ring ownership and server presence.
 *
 * The layout (header page, ring control blocks, slots), its invariants and its
 * memory ordering are specified in docs/RING.md and defined in src/lib/ring/layout.h.
 *
 * A ring is a pair of single-producer/single-consumer message queues:
 * requests (client -> server) and responses (server -> client). A message is a
 * packed header (12..44 B, struct cxl_msg_hdr decoded) followed by its
 * payload, taking as many consecutive 64 B lines as it needs (layout
 * version 2). Producer side:
 *
 *     struct cxl_msg_hdr h = {.op = ..., .arg0 = ...};   // private
 *     uint8_t *payload;
 *     if (cxl_queue_reserve(&q, &h, len, &payload) == 0) {  // header written
 *         memcpy(payload, data, len);
 *         cxl_queue_submit(&q);          // one publish for all reserved so far
 *     }
 *
 * Consumer side:
 *
 *     struct cxl_msg m;
 *     while (cxl_queue_peek(&q, &m) == 1)   // validated private header copy
 *         handle(&m.hdr, m.payload);        // payload points into the medium
 *     cxl_queue_release(&q);                // one publish: slots are free again
 */
#ifndef CXL_RING_H
#define CXL_RING_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/error.h"
#include "cxl/medium.h"
#include "cxl/wait.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_LAYOUT_VERSION 2u
#define CXL_HEADER_SIZE 4096u
#define CXL_RING_CTL_SIZE 1024u
#define CXL_MAX_RINGS 256u
#define CXL_MIN_SLOTS 4u
#define CXL_MIN_SLOT_SIZE 64u
#define CXL_MAX_SLOT_SIZE (1u << 20)
#define CXL_DEFAULT_RINGS 4u
#define CXL_DEFAULT_SLOT_SIZE 64u /* one cache line */

/* Layout flags (header, bit field). */
#define CXL_LAYOUT_F_SECURE 0x1u  /* rings carry only sealed messages */
#define CXL_LAYOUT_F_XCHACHA 0x2u /* secure cipher: XChaCha20-Poly1305, else AES-256-GCM */
#define CXL_LAYOUT_F_KNOWN  0x3u

/* Message flags (the wire header's flags byte; the ring layer owns them). */
#define CXL_MSG_F_PAD    0x01u /* filler up to the end of the queue */
#define CXL_MSG_F_SEALED 0x02u /* payload is AEAD ciphertext ending with its tag */
#define CXL_MSG_F_KNOWN  (CXL_MSG_F_PAD | CXL_MSG_F_SEALED)

/* A message header, decoded: the private form both ends work with. In the
 * medium it is packed (docs/RING.md, "Messages"): 12 fixed bytes, then only
 * the fields that are not zero. seq and len are set by the ring layer; the
 * rest belongs to the application. */
struct cxl_msg_hdr {
    uint64_t seq;     /* position of the message's first line in its queue */
    uint32_t len;     /* payload bytes following the header */
    uint16_t flags;   /* CXL_MSG_F_* */
    uint16_t op;      /* request opcode or response status */
    uint32_t session; /* claim generation of the ring when sent */
    uint32_t epoch;   /* key epoch of a sealed payload, else 0 */
    uint64_t ref;     /* in a response: seq of the request */
    uint32_t arg0;    /* application arguments (key length, argc, ...) */
    uint32_t arg1;
    uint64_t arg2;
};

/* The wire header's codec. */
#define CXL_MSG_HDR_FIXED 12u /* seq32, len, flags, fields, op */
#define CXL_MSG_HDR_MAX 44u   /* with every optional field */
#define CXL_MSG_FIELD_SESSION 0x01u
#define CXL_MSG_FIELD_EPOCH   0x02u
#define CXL_MSG_FIELD_REF     0x04u
#define CXL_MSG_FIELD_ARG0    0x08u
#define CXL_MSG_FIELD_ARG1    0x10u
#define CXL_MSG_FIELD_ARG2    0x20u
#define CXL_MSG_FIELD_KNOWN   0x3fu

/* Bytes the header h takes in the medium (12..44). */
static inline uint32_t cxl_msg_hdr_size(const struct cxl_msg_hdr *h)
{
    return CXL_MSG_HDR_FIXED + (h->session ? 4u : 0u) + (h->epoch ? 4u : 0u) + (h->ref ? 8u : 0u) +
           (h->arg0 ? 4u : 0u) + (h->arg1 ? 4u : 0u) + (h->arg2 ? 8u : 0u);
}
/* Write h into dst (cxl_msg_hdr_size(h) bytes, the low 32 bits of seq, the
 * ring flags only); returns that size. */
static inline uint32_t cxl_msg_encode(const struct cxl_msg_hdr *h, uint8_t *dst)
{
    uint32_t fields = (h->session ? CXL_MSG_FIELD_SESSION : 0u) | (h->epoch ? CXL_MSG_FIELD_EPOCH : 0u) |
                      (h->ref ? CXL_MSG_FIELD_REF : 0u) | (h->arg0 ? CXL_MSG_FIELD_ARG0 : 0u) |
                      (h->arg1 ? CXL_MSG_FIELD_ARG1 : 0u) | (h->arg2 ? CXL_MSG_FIELD_ARG2 : 0u);
    uint64_t w0 = (uint32_t)h->seq | (uint64_t)h->len << 32;
    uint32_t w1 = (h->flags & CXL_MSG_F_KNOWN) | fields << 8 | (uint32_t)h->op << 16;
    __builtin_memcpy(dst, &w0, 8);
    __builtin_memcpy(dst + 8, &w1, 4);
    uint8_t *p = dst + CXL_MSG_HDR_FIXED;
    if (fields) {
        if (h->session) __builtin_memcpy(p, &h->session, 4), p += 4;
        if (h->epoch) __builtin_memcpy(p, &h->epoch, 4), p += 4;
        if (h->ref) __builtin_memcpy(p, &h->ref, 8), p += 8;
        if (h->arg0) __builtin_memcpy(p, &h->arg0, 4), p += 4;
        if (h->arg1) __builtin_memcpy(p, &h->arg1, 4), p += 4;
        if (h->arg2) __builtin_memcpy(p, &h->arg2, 8), p += 8;
    }
    return (uint32_t)(p - dst);
}

/* Decode a header from src (avail bytes readable there) into the private
 * *h; h->seq receives the low 32 bits only (the reader knows the position).
 * Returns the header's size, or 0 if src holds no header: unknown flag or
 * field bits, or a header longer than avail. Each byte is read once. */
uint32_t cxl_msg_decode_fields_(const uint8_t *src, uint32_t avail, uint32_t fields, struct cxl_msg_hdr *h);
static inline uint32_t cxl_msg_decode(const uint8_t *src, uint32_t avail, struct cxl_msg_hdr *h)
{
    if (avail < CXL_MSG_HDR_FIXED)
        return 0;
    uint64_t w0;
    uint32_t w1;
    __builtin_memcpy(&w0, src, 8);
    __builtin_memcpy(&w1, src + 8, 4);
    uint32_t flags = w1 & 0xffu, fields = (w1 >> 8) & 0xffu;
    *h = (struct cxl_msg_hdr){.seq = (uint32_t)w0, .len = (uint32_t)(w0 >> 32), .flags = (uint16_t)flags,
                              .op = (uint16_t)(w1 >> 16)};
    if (flags & ~CXL_MSG_F_KNOWN)
        return 0;
    return fields ? cxl_msg_decode_fields_(src, avail, fields, h) : CXL_MSG_HDR_FIXED;
}

/* --- layout ------------------------------------------------------------- */

struct cxl_geometry {
    uint32_t version;
    uint32_t ring_count;
    uint32_t slot_size;
    uint32_t slots;        /* per queue */
    uint32_t flags;        /* CXL_LAYOUT_F_* */
    uint32_t max_payload;  /* largest payload of one message */
    uint64_t layout_size;  /* bytes the layout occupies */
    uint64_t data_off;     /* offset of the first slot */
    uint64_t format_id;    /* random, new at every format */
};

struct cxl_format_params {
    uint32_t ring_count;  /* 0: CXL_DEFAULT_RINGS */
    uint32_t slot_size;   /* 0: CXL_DEFAULT_SLOT_SIZE */
    uint64_t layout_size; /* 0: the whole mapping */
    uint32_t flags;       /* CXL_LAYOUT_F_* */
};

struct cxl_layout;

/* Compute a geometry without touching any medium (used by format and tests). */
int cxl_layout_plan(const struct cxl_format_params *p, uint64_t mapped_size,
                    struct cxl_geometry *out);

/* Format the medium (destroys what was there) and attach to it. */
int cxl_layout_format(struct cxl_medium *m, const struct cxl_format_params *p,
                      struct cxl_layout **out);

/* Attach to a formatted medium: validates the header (every field, against
 * the mapped size). Ring indices are not checked here, so that one broken
 * ring cannot keep anybody from using the others: cxl_ring_claim() checks and
 * repairs the ring it claims, the server marks rings it cannot use as broken,
 * every queue operation checks the index it loads, and cxl_layout_check_ring()
 * / cxl_layout_validate() report them. */
int cxl_layout_attach(struct cxl_medium *m, struct cxl_layout **out);

/* Attach; if the medium is not formatted at all (zero magic), format it with p.
 * A medium formatted with another geometry than p asks for is an error
 * (CXL_EGEOMETRY) unless p's fields are 0 ("whatever is there"). */
int cxl_layout_open(struct cxl_medium *m, const struct cxl_format_params *p,
                    struct cxl_layout **out);

/* Validate a layout image without attaching (mapped_size bytes at base): the
 * header and every ring's indices. */
int cxl_layout_validate(const void *base, uint64_t mapped_size,
                        struct cxl_geometry *out);

void cxl_layout_close(struct cxl_layout *l); /* the medium stays open */
const struct cxl_geometry *cxl_layout_geometry(const struct cxl_layout *l);
struct cxl_medium *cxl_layout_medium(const struct cxl_layout *l);

/* The delay model (cxl/wait.h, docs/RING.md "The delay model"): off after
 * attach and format; queues initialised afterwards use the new value. */
void cxl_layout_set_delay(struct cxl_layout *l, const struct cxl_delay_model *d);
struct cxl_delay_model cxl_layout_delay(const struct cxl_layout *l);

/* A snapshot of one ring, for tools and diagnostics. */
struct cxl_ring_state {
    uint32_t ring;
    uint32_t owner_gen;
    uint32_t owner_state; /* CXL_OWNER_FREE / CXL_OWNER_OWNED / other: bad */
    uint32_t owner_node;
    uint32_t owner_pid;
    uint64_t heartbeat;
    uint64_t req_head, req_tail, resp_head, resp_tail;
    uint32_t srv_state, srv_reason;
    uint64_t srv_events;
};
int cxl_layout_ring_state(const struct cxl_layout *l, uint32_t ring,
                          struct cxl_ring_state *st);

/* Check one ring's indices (0 <= tail - head <= slots). */
int cxl_layout_check_ring(const struct cxl_layout *l, uint32_t ring);

/* --- queues ------------------------------------------------------------- */

enum cxl_dir { CXL_REQ = 0, CXL_RESP = 1 };
enum cxl_role { CXL_PRODUCER = 0, CXL_CONSUMER = 1 };

struct cxl_queue_stats {
    uint64_t msgs;    /* messages reserved (producer) or peeked (consumer) */
    uint64_t bytes;   /* payload bytes */
    uint64_t pads;    /* PAD messages written or skipped */
    uint64_t full;    /* reserve found no room (producer) */
    uint64_t corrupt; /* bad indices or headers seen */
};

/* One end of one queue. Embed it; the fields are private. */
struct cxl_queue {
    uint8_t *slots;             /* first slot of the queue */
    volatile uint64_t *mine;    /* index this end publishes */
    volatile uint64_t *theirs;  /* index the other end publishes */
    uint64_t pos;               /* private cursor (next reserve / peek) */
    uint64_t reserved;          /* producer: position of the last reserved message */
    uint64_t published;         /* last value stored to *mine */
    uint64_t limit;             /* producer: head + slots; consumer: tail */
    uint32_t idx;               /* pos mod slots */
    uint32_t nslots;            /* slots in the queue */
    uint32_t slot_shift;        /* log2(slot_size) */
    uint32_t max_msg_slots;     /* nslots / 2 */
    uint32_t ring;
    uint8_t dir, role;
    uint8_t delay_serial;       /* delay model serial (else mlp) */
    uint8_t delay_dep;          /* mlp, consumer: the next peek is dependent */
    uint64_t delay_ticks;       /* delay model: L in ticks, 0 = off */
    uint64_t delay_line_q16;    /* mlp: ticks per 64-B line x 65536 */
    uint64_t delay_debt_q16;    /* mlp: bandwidth ticks not waited yet, x 65536 */
    struct cxl_queue_stats stats;
};

/* Messages as a consumer sees them. */
struct cxl_msg {
    struct cxl_msg_hdr hdr;  /* private, validated copy */
    const uint8_t *payload;  /* hdr.len bytes inside the message's slots */
    uint32_t idx;            /* first slot index (for cxl_queue_rewind) */
    uint32_t nslots;
};

int cxl_queue_init(struct cxl_queue *q, struct cxl_layout *l, uint32_t ring,
                   enum cxl_dir dir, enum cxl_role role);

/* The hot calls below are inline: the common case is a few loads, compares
 * and stores on the private cursor, with no call. Everything else (PAD, a
 * stale cached index, the delay model, any check that fails) goes to the
 * out-of-line *_slow functions in queue.c, which do the full work and write
 * the error messages. Not for callers: use the calls below. */
int cxl_queue_reserve_slow(struct cxl_queue *q, struct cxl_msg_hdr *h, uint32_t len, uint8_t **payload);
int cxl_queue_peek_slow(struct cxl_queue *q, struct cxl_msg *m);
void cxl_queue_publish_slow(struct cxl_queue *q);

/* Lines a message of hsize header and len payload bytes takes. */
static inline uint64_t cxl_queue_lines_for_(const struct cxl_queue *q, uint32_t hsize, uint32_t len)
{
    return ((uint64_t)len + hsize + (1u << q->slot_shift) - 1) >> q->slot_shift;
}

static inline void cxl_queue_advance_(struct cxl_queue *q, uint32_t n)
{
    q->pos += n;
    q->idx += n; /* a message never wraps, so idx + n <= nslots */
    if (q->idx == q->nslots)
        q->idx = 0;
}

/* Producer: reserve room for a message of len payload bytes whose header is
 * the caller's private *h (op, session, ref, args, SEALED as the message
 * needs them). On 0 the queue has set h->seq and h->len, written the header
 * into the medium from *h, and *payload points where the len payload bytes
 * go (in the medium); write them, then cxl_queue_submit(). CXL_EAGAIN: not
 * enough room now. CXL_E2BIG: never fits. CXL_ECORRUPT: the consumer's index
 * is out of range. */
static inline int cxl_queue_reserve(struct cxl_queue *q, struct cxl_msg_hdr *h, uint32_t len,
                                    uint8_t **payload)
{
    uint32_t hs = cxl_msg_hdr_size(h);
    uint64_t n = cxl_queue_lines_for_(q, hs, len); /* n > max_msg_slots <=> CXL_E2BIG */
    if (__builtin_expect(n > q->max_msg_slots || q->idx + n > q->nslots ||
                         (int64_t)(q->limit - q->pos) < (int64_t)n || q->delay_ticks != 0, 0))
        return cxl_queue_reserve_slow(q, h, len, payload);
    uint8_t *line = q->slots + ((uint64_t)q->idx << q->slot_shift);
    h->seq = q->reserved = q->pos;
    h->len = len;
    h->flags &= CXL_MSG_F_SEALED; /* PAD is the ring's own */
    *payload = line + cxl_msg_encode(h, line);
    cxl_queue_advance_(q, (uint32_t)n);
    q->stats.msgs++;
    q->stats.bytes += len;
    return 0;
}

/* Producer: the position (seq) of the message the last successful reserve
 * returned, from private memory: a producer never reads back from the
 * medium what it wrote there (another host may have changed it). */
static inline uint64_t cxl_queue_reserved(const struct cxl_queue *q)
{
    return q->reserved;
}

/* Producer: publish every message reserved so far (one release store). */
static inline void cxl_queue_submit(struct cxl_queue *q)
{
    if (q->pos != q->published)
        cxl_queue_publish_slow(q);
}

/* Producer: free slots right now (refreshes the cached consumer index). */
uint64_t cxl_queue_room(struct cxl_queue *q);

/* Consumer: next message. 1 = *m filled (the cursor moves past it), 0 = empty,
 * CXL_ECORRUPT = bad index or header (cxl_last_error() names it). The inline
 * part accepts a message below the cached tail whose private header copy
 * passes every check of docs/RING.md (seq, ring flags, length, end of queue,
 * tail); anything else, PAD included, is re-read and judged by the slow path. */
static inline int cxl_queue_peek(struct cxl_queue *q, struct cxl_msg *m)
{
    if (__builtin_expect(q->pos == q->limit || q->delay_ticks != 0, 0))
        return cxl_queue_peek_slow(q, m);
    const uint8_t *line = q->slots + ((uint64_t)q->idx << q->slot_shift);
    uint32_t hs = cxl_msg_decode(line, 1u << q->slot_shift, &m->hdr);
    uint64_t n = cxl_queue_lines_for_(q, hs, m->hdr.len);
    if (__builtin_expect(hs == 0 || m->hdr.seq != (uint32_t)q->pos || (m->hdr.flags & CXL_MSG_F_PAD) != 0 ||
                         n > q->max_msg_slots || n > q->nslots - q->idx || n > q->limit - q->pos, 0))
        return cxl_queue_peek_slow(q, m);
    m->hdr.seq = q->pos;
    m->payload = line + hs;
    m->idx = q->idx;
    m->nslots = (uint32_t)n;
    cxl_queue_advance_(q, (uint32_t)n);
    q->stats.msgs++;
    q->stats.bytes += m->hdr.len;
    return 1;
}

/* Consumer: is a message waiting? 1 = yes, 0 = empty, CXL_ECORRUPT = the
 * producer's index is out of range. Loads the producer index only when the
 * cached copy says empty. */
int cxl_queue_ready(struct cxl_queue *q);

/* Consumer: the caller is done with every message peeked so far; publish. */
static inline void cxl_queue_release(struct cxl_queue *q)
{
    if (q->pos != q->published)
        cxl_queue_publish_slow(q);
}

/* Consumer: move the cursor back to m (m and the messages after it will be
 * peeked again). m must have been peeked since the last release. */
void cxl_queue_rewind(struct cxl_queue *q, const struct cxl_msg *m);

/* Consumer: drop everything published so far (recovery after corruption).
 * Producer: drop unsubmitted reservations; if the consumer's index is out of
 * range, make the queue look empty from this end. Returns the slots dropped,
 * or CXL_ECORRUPT if the other side's index is unusable. */
int64_t cxl_queue_resync(struct cxl_queue *q);

/* Either end: slots published and not yet released by the consumer. */
uint64_t cxl_queue_backlog(struct cxl_queue *q);

/* --- ownership -------------------------------------------------------------- */

#define CXL_OWNER_FREE 0u
#define CXL_OWNER_OWNED 1u
#define CXL_DEFAULT_RECLAIM_MS 2000u
#define CXL_HEARTBEAT_MS 100u

struct cxl_claim_opts {
    uint32_t reclaim_ms; /* owner dead after this long without heartbeat */
    uint32_t wait_ms;    /* how long to wait for a ring to become free */
};

struct cxl_claim {
    struct cxl_layout *layout;
    uint32_t ring;
    uint32_t gen;          /* claim generation: the session number */
    uint16_t node_id;
    uint64_t word;         /* owner word we installed */
    uint64_t req_tail0;    /* request position at claim time */
    uint8_t session[16];   /* random session value written at claim */
    uint64_t beats;
};

/* Claim ring (or any ring if ring < 0, free ones first, then dead ones). */
int cxl_ring_claim(struct cxl_layout *l, int ring, uint16_t node_id,
                   const struct cxl_claim_opts *o, struct cxl_claim *c);
/* Prove liveness; CXL_ELOST if someone else owns the ring now. */
int cxl_ring_heartbeat(struct cxl_claim *c);
int cxl_ring_release(struct cxl_claim *c);

/* --- server presence -------------------------------------------------------- */

struct cxl_server_state {
    uint64_t gen;
    uint64_t heartbeat;
    uint32_t pid;
    uint32_t node;
    uint8_t nonce[16]; /* random per server instance (secure rings) */
};

/* A serving process announces itself: gen += 1, a fresh random nonce (its
 * private copy returned in nonce if not NULL); then it beats. */
int cxl_server_announce(struct cxl_layout *l, uint32_t node_id, uint64_t *gen, uint8_t nonce[16]);
void cxl_server_heartbeat(struct cxl_layout *l);
void cxl_server_state(const struct cxl_layout *l, struct cxl_server_state *st);

#define CXL_SRV_RING_OK 0u
#define CXL_SRV_RING_BROKEN 1u
/* The server reset the ring (its indices had been forged into the
 * exhausted range): reason = the last claim generation it refuses; that
 * session's owner must claim the ring again. */
#define CXL_SRV_RING_REPAIRED 2u
void cxl_server_set_ring_state(struct cxl_layout *l, uint32_t ring,
                               uint32_t state, uint32_t reason);

#ifdef __cplusplus
}
#endif
#endif
