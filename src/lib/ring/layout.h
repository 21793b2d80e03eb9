/* layout.h - the shared layout of a cxl-dsm medium (layout version 2).
 *
 * Private to libcxldsm. docs/RING.md is the prose version of this file; keep
 * them in step. Everything here lives in the shared medium, so it holds
 * offsets and counters only, never pointers. Every word has one writer role:
 *   [fmt]    the formatter, once, before publishing state = READY
 *   [client] the owner of the ring
 *   [server] the serving process
 *
 * Cache-line placement: each index that one side writes and the other polls
 * sits alone in a 128 B block (its line plus the adjacent-line prefetch
 * partner), so a producer publishing its tail never invalidates the line the
 * consumer publishes its head on.
 *
 * Memory ordering (the only place it is described in code):
 *   producer: write message bytes; store_release(tail)
 *   consumer: load_acquire(tail); read messages; store_release(head)
 *   producer: load_acquire(head) before reusing slots below head + slots
 *   claim:    CAS(owner_word) (sequentially consistent), then plain stores of
 *             the owner fields, published to the server by the release of the
 *             first request's tail
 *   format:   every field, then store_release(state = READY); attach reads
 *             state with load_acquire before any other field.
 */
#ifndef CXL_LAYOUT_H
#define CXL_LAYOUT_H

#include <stdint.h>

#include "cxl/ring.h"

#define CXL_MAGIC 0x004d53442d4c5843ull /* "CXL-DSM\0" */
#define CXL_STATE_READY 0x59444552u     /* "REDY" */
#define CXL_IDX_BLOCK 128u
/* Positions at or above 2^63 are corrupt: keeps pos % slots continuous
 * (no 2^64 wrap) for centuries at 10^9 messages/s. */
#define CXL_POS_LIMIT (1ull << 63)
/* Positions at or above 2^62 are valid but "exhausted": an honest ring
 * never gets there (146 years at 10^9 messages/s), so only a forged index
 * puts a ring there, and the server rebases such a ring to 0 (repair(),
 * kv_server.c; docs/RING.md, "Repair"). */
#define CXL_POS_REBASE (1ull << 62)

struct cxl_hdr {
    /* line 0 [fmt]: identity and geometry, covered by checksum */
    uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint64_t layout_size;
    uint32_t ring_count;
    uint32_t slot_size;
    uint32_t slots;
    uint32_t flags;
    uint64_t ring_table_off;
    uint64_t data_off;
    uint64_t format_id;
    /* line 1 [fmt] */
    uint64_t checksum; /* FNV-1a-64 of line 0 */
    uint32_t state;
    uint32_t pad1_;
    uint8_t pad1b_[48];
    /* line 2 [server] */
    uint64_t server_gen;
    uint64_t server_heartbeat;
    uint32_t server_pid;
    uint32_t server_node;
    uint8_t server_nonce[16];
};

struct cxl_idx {
    uint64_t value;
    uint8_t pad_[CXL_IDX_BLOCK - sizeof(uint64_t)];
};

struct cxl_ring_ctl {
    /* [client] ownership block */
    uint64_t owner_word; /* gen << 32 | state << 24 | node */
    uint32_t owner_pid;
    uint32_t owner_pad_;
    uint64_t heartbeat;
    uint8_t session[16];
    uint64_t host_id;
    uint8_t owner_fill_[CXL_IDX_BLOCK - 48];
    struct cxl_idx req_tail;  /* [client] */
    struct cxl_idx req_head;  /* [server] */
    struct cxl_idx resp_tail; /* [server] */
    struct cxl_idx resp_head; /* [client] */
    /* [server] per-ring status */
    uint32_t srv_state;
    uint32_t srv_reason;
    uint64_t srv_events;
    uint8_t srv_fill_[CXL_IDX_BLOCK - 16];
    uint8_t reserved_[CXL_RING_CTL_SIZE - 6 * CXL_IDX_BLOCK];
};

_Static_assert(sizeof(struct cxl_hdr) <= CXL_HEADER_SIZE, "header page");
_Static_assert(__builtin_offsetof(struct cxl_hdr, checksum) == 64, "line 0");
_Static_assert(__builtin_offsetof(struct cxl_hdr, server_gen) == 128, "line 2");
_Static_assert(sizeof(struct cxl_ring_ctl) == CXL_RING_CTL_SIZE, "ring ctl");
_Static_assert(__builtin_offsetof(struct cxl_ring_ctl, req_tail) == 128, "req");
_Static_assert(__builtin_offsetof(struct cxl_ring_ctl, srv_state) == 640, "srv");
_Static_assert(CXL_MSG_HDR_MAX <= CXL_MIN_SLOT_SIZE, "a header always sits in its first line");

static inline uint32_t cxl_owner_gen(uint64_t w) { return (uint32_t)(w >> 32); }
static inline uint32_t cxl_owner_state(uint64_t w) { return (uint32_t)(w >> 24) & 0xffu; }
static inline uint32_t cxl_owner_node(uint64_t w) { return (uint32_t)(w & 0xffffu); }
static inline uint64_t cxl_owner_word(uint32_t gen, uint32_t state, uint32_t node)
{
    return ((uint64_t)gen << 32) | ((uint64_t)(state & 0xffu) << 24) | (node & 0xffffu);
}

static inline uint64_t cxl_load_acquire(const volatile uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void cxl_store_release(volatile uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* What an attached process keeps privately: the validated geometry. */
struct cxl_layout {
    struct cxl_medium *medium;
    uint8_t *base;
    struct cxl_geometry geo;
    struct cxl_delay_model delay;
};

static inline struct cxl_hdr *cxl_hdr_of(const struct cxl_layout *l)
{
    return (struct cxl_hdr *)l->base;
}

static inline struct cxl_ring_ctl *cxl_ring_ctl_of(const struct cxl_layout *l, uint32_t ring)
{
    return (struct cxl_ring_ctl *)(l->base + CXL_HEADER_SIZE +
                                   (uint64_t)ring * CXL_RING_CTL_SIZE);
}

static inline uint8_t *cxl_queue_slots_of(const struct cxl_layout *l, uint32_t ring,
                                          enum cxl_dir dir)
{
    uint64_t qbytes = (uint64_t)l->geo.slots * l->geo.slot_size;
    return l->base + l->geo.data_off + (2ull * ring + (uint32_t)dir) * qbytes;
}

#endif
