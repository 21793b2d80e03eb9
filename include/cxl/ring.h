/* cxl/ring.h - the ring layout in a medium: format, attach, message queues,
 * ring ownership and server presence.
 *
 * The layout (header page, ring control blocks, slots), its invariants and its
 * memory ordering are specified in docs/RING.md and defined in src/lib/ring/layout.h.
 *
 * A ring is a pair of single-producer/single-consumer message queues:
 * requests (client -> server) and responses (server -> client). A message is a
 * 64 B header (struct cxl_msg_hdr) followed by its payload, spanning as many
 * consecutive slots as it needs. Producer side:
 *
 *     struct cxl_msg_hdr *h;
 *     if (cxl_queue_reserve(&q, len, &h) == 0) {
 *         h->op = ...; memcpy(cxl_msg_payload(h), data, len);
 *         cxl_queue_submit(&q);          // one publish for all reserved so far
 *     }
 *
 * Consumer side:
 *
 *     struct cxl_msg m;
 *     while (cxl_queue_peek(&q, &m) == 1)   // validated private header copy
 *         handle(&m.hdr, m.payload);        // payload points into the slot
 *     cxl_queue_release(&q);                // one publish: slots are free again
 */
#ifndef CXL_RING_H
#define CXL_RING_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/error.h"
#include "cxl/medium.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_LAYOUT_VERSION 1u
#define CXL_HEADER_SIZE 4096u
#define CXL_RING_CTL_SIZE 1024u
#define CXL_MSG_HDR_SIZE 64u
#define CXL_MAX_RINGS 256u
#define CXL_MIN_SLOTS 4u
#define CXL_MIN_SLOT_SIZE 64u
#define CXL_MAX_SLOT_SIZE (1u << 20)
#define CXL_DEFAULT_RINGS 4u
#define CXL_DEFAULT_SLOT_SIZE 4096u

/* Layout flags (header, bit field). */
#define CXL_LAYOUT_F_SECURE 0x1u  /* rings carry only sealed messages */
#define CXL_LAYOUT_F_XCHACHA 0x2u /* secure cipher: XChaCha20-Poly1305, else AES-256-GCM */
#define CXL_LAYOUT_F_KNOWN  0x3u

/* Message flags. The ring layer owns PAD; the rest is for the layers above. */
#define CXL_MSG_F_PAD    0x0001u /* filler up to the end of the queue */
#define CXL_MSG_F_SEALED 0x0002u /* payload is AEAD ciphertext, tag in hdr */
#define CXL_MSG_F_RING_MASK 0x00ffu /* bits the ring layer validates */
#define CXL_MSG_F_RING_KNOWN (CXL_MSG_F_PAD | CXL_MSG_F_SEALED)

/* The 64 B header at the start of every message (wire format, little-endian).
 * seq and len are written by the ring layer; the rest by the application. */
struct cxl_msg_hdr {
    uint64_t seq;     /* position of the first slot in its queue */
    uint32_t len;     /* payload bytes following this header */
    uint16_t flags;   /* CXL_MSG_F_* */
    uint16_t op;      /* request opcode or response status */
    uint32_t session; /* claim generation of the ring when sent */
    uint32_t epoch;   /* key epoch of a sealed payload, else 0 */
    uint64_t ref;     /* request id; in a response: seq of the request */
    uint32_t arg0;    /* application arguments (key length, argc, ...) */
    uint32_t arg1;
    uint64_t arg2;
    uint8_t tag[16];  /* AEAD tag of a sealed payload, else zero */
};

static inline uint8_t *cxl_msg_payload(struct cxl_msg_hdr *h)
{
    return (uint8_t *)h + CXL_MSG_HDR_SIZE;
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

/* Software delay per medium access in ns (docs/RING.md): 0 after attach and
 * format; queues initialised afterwards use the new value. */
void cxl_layout_set_delay_ns(struct cxl_layout *l, uint32_t ns);
uint32_t cxl_layout_delay_ns(const struct cxl_layout *l);

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
    uint16_t pad_;
    uint64_t delay_ticks;       /* delay model, 0 = off */
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
int cxl_queue_reserve_slow(struct cxl_queue *q, uint32_t len, struct cxl_msg_hdr **hdr);
int cxl_queue_peek_slow(struct cxl_queue *q, struct cxl_msg *m);
void cxl_queue_publish_slow(struct cxl_queue *q);

static inline uint64_t cxl_queue_slots_for_(const struct cxl_queue *q, uint32_t len)
{
    return ((uint64_t)len + CXL_MSG_HDR_SIZE + (1u << q->slot_shift) - 1) >> q->slot_shift;
}

static inline void cxl_queue_advance_(struct cxl_queue *q, uint32_t n)
{
    q->pos += n;
    q->idx += n; /* a message never wraps, so idx + n <= nslots */
    if (q->idx == q->nslots)
        q->idx = 0;
}

/* Producer: reserve room for a message of len payload bytes. On 0, *hdr points
 * at the message in the medium with seq and len set and the other fields zero;
 * fill it in, then cxl_queue_submit(). CXL_EAGAIN: not enough room now.
 * CXL_E2BIG: never fits. CXL_ECORRUPT: the consumer's index is out of range. */
static inline int cxl_queue_reserve(struct cxl_queue *q, uint32_t len, struct cxl_msg_hdr **hdr)
{
    uint64_t n = cxl_queue_slots_for_(q, len); /* n > max_msg_slots <=> CXL_E2BIG */
    if (__builtin_expect(n > q->max_msg_slots || q->idx + n > q->nslots ||
                         (int64_t)(q->limit - q->pos) < (int64_t)n || q->delay_ticks != 0, 0))
        return cxl_queue_reserve_slow(q, len, hdr);
    struct cxl_msg_hdr *h = (struct cxl_msg_hdr *)(q->slots + ((uint64_t)q->idx << q->slot_shift));
    __builtin_memset(h, 0, sizeof *h);
    h->seq = q->reserved = q->pos;
    h->len = len;
    cxl_queue_advance_(q, (uint32_t)n);
    q->stats.msgs++;
    q->stats.bytes += len;
    *hdr = h;
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
    const uint8_t *slot = q->slots + ((uint64_t)q->idx << q->slot_shift);
    __builtin_memcpy(&m->hdr, slot, sizeof m->hdr);
    uint64_t n = cxl_queue_slots_for_(q, m->hdr.len);
    if (__builtin_expect(m->hdr.seq != q->pos ||
                         (m->hdr.flags & (CXL_MSG_F_RING_MASK & ~CXL_MSG_F_SEALED)) != 0 ||
                         n > q->max_msg_slots || n > q->nslots - q->idx || n > q->limit - q->pos, 0))
        return cxl_queue_peek_slow(q, m);
    m->payload = slot + CXL_MSG_HDR_SIZE;
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
