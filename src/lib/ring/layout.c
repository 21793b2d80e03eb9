/* layout.c - format a medium, attach to one, and validate the header and the
 * ring indices (docs/RING.md). An attacher copies the geometry into private
 * memory once; nothing later re-reads it from the medium. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/util.h"
#include "cxl/wait.h"
#include "ring/layout.h"

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

static uint64_t data_offset(uint32_t rings)
{
    return align_up(CXL_HEADER_SIZE + (uint64_t)rings * CXL_RING_CTL_SIZE, 4096);
}

static uint32_t max_payload(uint32_t slots, uint32_t slot_size)
{
    uint64_t v = (uint64_t)(slots / 2) * slot_size - CXL_MSG_HDR_MAX; /* whatever the header */
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int cxl_layout_plan(const struct cxl_format_params *p, uint64_t mapped_size,
                    struct cxl_geometry *g)
{
    uint32_t rings = p && p->ring_count ? p->ring_count : CXL_DEFAULT_RINGS;
    uint32_t slot = p && p->slot_size ? p->slot_size : CXL_DEFAULT_SLOT_SIZE;
    uint64_t size = p && p->layout_size ? p->layout_size : mapped_size;
    uint32_t flags = p ? p->flags : 0;
    if (rings > CXL_MAX_RINGS)
        return cxl_fail(CXL_EINVAL, "rings = %u: must be 1..%u", rings, CXL_MAX_RINGS);
    if (!is_pow2(slot) || slot < CXL_MIN_SLOT_SIZE || slot > CXL_MAX_SLOT_SIZE)
        return cxl_fail(CXL_EINVAL, "slot size = %u: must be a power of two in [%u, %u]",
                        slot, CXL_MIN_SLOT_SIZE, CXL_MAX_SLOT_SIZE);
    if (flags & ~CXL_LAYOUT_F_KNOWN)
        return cxl_fail(CXL_EINVAL, "layout flags 0x%x: unknown bits", flags);
    if (size > mapped_size)
        return cxl_fail(CXL_ETOOSMALL, "layout size %" PRIu64 " is larger than the %" PRIu64
                        " bytes mapped", size, mapped_size);
    uint64_t data_off = data_offset(rings);
    uint64_t per_slot_all = 2ull * rings * slot;
    uint64_t slots = size > data_off ? (size - data_off) / per_slot_all : 0;
    if (slots < CXL_MIN_SLOTS)
        return cxl_fail(CXL_ETOOSMALL,
                        "medium too small: %" PRIu64 " bytes hold %" PRIu64 " slots per queue for %u rings of "
                        "%u B slots; need at least %u (that is %" PRIu64 " bytes)",
                        size, slots, rings, slot, CXL_MIN_SLOTS, data_off + CXL_MIN_SLOTS * per_slot_all);
    if (slots > UINT32_MAX)
        slots = UINT32_MAX;
    *g = (struct cxl_geometry){
        .version = CXL_LAYOUT_VERSION,
        .ring_count = rings,
        .slot_size = slot,
        .slots = (uint32_t)slots,
        .flags = flags,
        .max_payload = max_payload((uint32_t)slots, slot),
        .layout_size = data_off + slots * per_slot_all,
        .data_off = data_off,
    };
    return 0;
}

/* Header checks, in the order docs/RING.md lists them. */
static int check_header(const struct cxl_hdr *h, uint64_t mapped, struct cxl_geometry *g)
{
    if (mapped < CXL_HEADER_SIZE)
        return cxl_fail(CXL_ETOOSMALL, "medium too small: mapped size %" PRIu64
                        " bytes, the header alone needs %u", mapped, CXL_HEADER_SIZE);
    /* Validate a private copy: the medium may change under us. */
    uint32_t state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
    struct cxl_hdr c;
    memcpy(&c, h, sizeof c);
    if (c.magic == 0)
        return cxl_fail(CXL_EFORMAT, "medium is not formatted (magic is 0); run cxl_shm init or start the server");
    if (c.magic != CXL_MAGIC)
        return cxl_fail(CXL_EFORMAT, "foreign magic 0x%016" PRIx64 " (expected 0x%016" PRIx64
                        "): this is not a cxl-dsm medium", c.magic, (uint64_t)CXL_MAGIC);
    if (c.version != CXL_LAYOUT_VERSION)
        return cxl_fail(CXL_EFORMAT, "layout v%u, this build reads v%u: reformat with `cxl_shm init`%s",
                        c.version, CXL_LAYOUT_VERSION,
                        c.version == 1 ? " (v1 had fixed 64 B headers in 4 KiB slots; v2 packs messages "
                                         "into 64 B lines)" : "");
    if (state != CXL_STATE_READY)
        return cxl_fail(CXL_EFORMAT, "state 0x%08x: medium is being formatted or formatting was interrupted", state);
    uint64_t sum = cxl_fnv1a64(&c, 64);
    if (c.checksum != sum)
        return cxl_fail(CXL_EFORMAT, "header checksum 0x%016" PRIx64 " does not match its fields (0x%016" PRIx64 ")",
                        c.checksum, sum);
    /* The checksum is not a security feature: keep validating every field. */
    if (c.header_size != CXL_HEADER_SIZE)
        return cxl_fail(CXL_EGEOMETRY, "header_size = %u (expected %u)", c.header_size, CXL_HEADER_SIZE);
    if (c.ring_count == 0 || c.ring_count > CXL_MAX_RINGS)
        return cxl_fail(CXL_EGEOMETRY, "ring_count = %u: must be 1..%u", c.ring_count, CXL_MAX_RINGS);
    if (!is_pow2(c.slot_size) || c.slot_size < CXL_MIN_SLOT_SIZE || c.slot_size > CXL_MAX_SLOT_SIZE)
        return cxl_fail(CXL_EGEOMETRY, "slot_size = %u: must be a power of two in [%u, %u]",
                        c.slot_size, CXL_MIN_SLOT_SIZE, CXL_MAX_SLOT_SIZE);
    if (c.slots < CXL_MIN_SLOTS)
        return cxl_fail(CXL_EGEOMETRY, "slots = %u: must be at least %u", c.slots, CXL_MIN_SLOTS);
    if (c.ring_table_off != CXL_HEADER_SIZE)
        return cxl_fail(CXL_EGEOMETRY, "ring_table_off = %" PRIu64 " (expected %u)", c.ring_table_off, CXL_HEADER_SIZE);
    if (c.data_off != data_offset(c.ring_count))
        return cxl_fail(CXL_EGEOMETRY, "data_off = %" PRIu64 " (expected %" PRIu64 " for %u rings)",
                        c.data_off, data_offset(c.ring_count), c.ring_count);
    /* slots < 2^32, slot_size <= 2^20, rings <= 2^8: the product fits in 61 bits */
    uint64_t end = c.data_off + 2ull * c.ring_count * c.slots * c.slot_size;
    if (c.layout_size > mapped)
        return cxl_fail(CXL_ETOOSMALL, "medium too small: layout_size = %" PRIu64 " but only %" PRIu64
                        " bytes are mapped (map size too small?)", c.layout_size, mapped);
    if (c.layout_size != end)
        return cxl_fail(CXL_EGEOMETRY, "layout_size = %" PRIu64 " but %u rings x 2 queues x %u slots x %u B end at %" PRIu64,
                        c.layout_size, c.ring_count, c.slots, c.slot_size, end);
    if (c.flags & ~CXL_LAYOUT_F_KNOWN)
        return cxl_fail(CXL_EGEOMETRY, "flags = 0x%x: unknown bits 0x%x", c.flags, c.flags & ~CXL_LAYOUT_F_KNOWN);
    if ((c.flags & CXL_LAYOUT_F_XCHACHA) && !(c.flags & CXL_LAYOUT_F_SECURE))
        return cxl_fail(CXL_EGEOMETRY, "flags = 0x%x: a cipher bit on a plain medium", c.flags);
    *g = (struct cxl_geometry){
        .version = c.version,
        .ring_count = c.ring_count,
        .slot_size = c.slot_size,
        .slots = c.slots,
        .flags = c.flags,
        .max_payload = max_payload(c.slots, c.slot_size),
        .layout_size = c.layout_size,
        .data_off = c.data_off,
        .format_id = c.format_id,
    };
    return 0;
}

static int check_queue(uint32_t ring, const char *name, uint64_t head, uint64_t tail, uint32_t slots)
{
    if (head >= CXL_POS_LIMIT || tail >= CXL_POS_LIMIT || tail - head > slots)
        return cxl_fail(CXL_ECORRUPT, "ring %u %s queue: head %" PRIu64 " / tail %" PRIu64
                        " out of range (tail - head must be 0..%u, both below 2^63)", ring, name, head, tail, slots);
    return 0;
}

int cxl_layout_check_ring(const struct cxl_layout *l, uint32_t ring)
{
    if (ring >= l->geo.ring_count)
        return cxl_fail(CXL_EINVAL, "ring %u does not exist (ring_count = %u)", ring, l->geo.ring_count);
    const struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, ring);
    int rc = check_queue(ring, "request", cxl_load_acquire(&r->req_head.value),
                         cxl_load_acquire(&r->req_tail.value), l->geo.slots);
    if (rc)
        return rc;
    return check_queue(ring, "response", cxl_load_acquire(&r->resp_head.value),
                       cxl_load_acquire(&r->resp_tail.value), l->geo.slots);
}

/* Shared words must be naturally aligned (the owner CAS must not be a split
 * lock) and every index block must start a cache line. */
static int check_base(const void *base)
{
    if ((uintptr_t)base % CXL_IDX_BLOCK)
        return cxl_fail(CXL_EINVAL, "layout start is not %u-byte aligned: the map offset must be a "
                        "multiple of %u (4096 recommended)", CXL_IDX_BLOCK, CXL_IDX_BLOCK);
    return 0;
}

static int validate(const void *base, uint64_t mapped, int check_rings, struct cxl_geometry *out)
{
    int rc = check_base(base);
    if (rc)
        return rc;
    struct cxl_layout l = {.base = (uint8_t *)base};
    if ((rc = check_header(base, mapped, &l.geo)) != 0)
        return rc;
    for (uint32_t i = 0; check_rings && i < l.geo.ring_count; i++)
        if ((rc = cxl_layout_check_ring(&l, i)) != 0)
            return rc;
    if (out)
        *out = l.geo;
    return 0;
}

int cxl_layout_validate(const void *base, uint64_t mapped, struct cxl_geometry *out)
{
    return validate(base, mapped, 1, out);
}

static int new_layout(struct cxl_medium *m, const struct cxl_geometry *g, struct cxl_layout **out)
{
    struct cxl_layout *l = calloc(1, sizeof *l);
    if (!l)
        return cxl_fail(CXL_ESYS, "out of memory");
    l->medium = m;
    l->base = cxl_medium_base(m);
    l->geo = *g;
    *out = l;
    return 0;
}

int cxl_layout_attach(struct cxl_medium *m, struct cxl_layout **out)
{
    struct cxl_geometry g;
    int rc = validate(cxl_medium_base(m), cxl_medium_size(m), 0, &g);
    if (rc)
        return rc;
    return new_layout(m, &g, out);
}



int cxl_layout_format(struct cxl_medium *m, const struct cxl_format_params *p,
                      struct cxl_layout **out)
{
    struct cxl_geometry g;
    int rc = check_base(cxl_medium_base(m));
    if (rc == 0)
        rc = cxl_layout_plan(p, cxl_medium_size(m), &g);
    if (rc)
        return rc;
    if ((rc = cxl_random_bytes(&g.format_id, sizeof g.format_id)) != 0)
        return rc;
    struct cxl_hdr *h = cxl_medium_base(m);
    __atomic_store_n(&h->state, 0u, __ATOMIC_RELEASE);
    /* Zero everything the layout covers, slots included: a reader never
     * looks past a published tail, but what an earlier layout left there
     * (plaintext values of a plain medium formatted secure) must not stay
     * readable in the medium. */
    if ((rc = cxl_medium_zero(m, 0, g.layout_size)) != 0)
        return rc;
    h->magic = CXL_MAGIC;
    h->version = g.version;
    h->header_size = CXL_HEADER_SIZE;
    h->layout_size = g.layout_size;
    h->ring_count = g.ring_count;
    h->slot_size = g.slot_size;
    h->slots = g.slots;
    h->flags = g.flags;
    h->ring_table_off = CXL_HEADER_SIZE;
    h->data_off = g.data_off;
    h->format_id = g.format_id;
    h->checksum = cxl_fnv1a64(h, 64);
    __atomic_store_n(&h->state, CXL_STATE_READY, __ATOMIC_RELEASE);
    return new_layout(m, &g, out);
}

static int same_geometry(const struct cxl_format_params *p, const struct cxl_geometry *g)
{
    if (p->ring_count && p->ring_count != g->ring_count)
        return cxl_fail(CXL_EGEOMETRY, "medium is formatted with %u rings, %u were asked for "
                        "(reformat with cxl_shm init to change it)", g->ring_count, p->ring_count);
    if (p->slot_size && p->slot_size != g->slot_size)
        return cxl_fail(CXL_EGEOMETRY, "medium is formatted with %u B slots, %u B were asked for "
                        "(reformat with cxl_shm init to change it)", g->slot_size, p->slot_size);
    if ((p->flags & CXL_LAYOUT_F_SECURE) != (g->flags & CXL_LAYOUT_F_SECURE))
        return cxl_fail(CXL_EGEOMETRY, "medium is formatted %s, but %s was asked for",
                        (g->flags & CXL_LAYOUT_F_SECURE) ? "secure" : "plain",
                        (p->flags & CXL_LAYOUT_F_SECURE) ? "secure" : "plain");
    return 0;
}

int cxl_layout_open(struct cxl_medium *m, const struct cxl_format_params *p,
                    struct cxl_layout **out)
{
    const struct cxl_hdr *h = cxl_medium_base(m);
    int rc = check_base(h);
    if (rc)
        return rc;
    if (cxl_medium_size(m) >= CXL_HEADER_SIZE && h->magic == 0)
        return cxl_layout_format(m, p, out);
    rc = cxl_layout_attach(m, out);
    if (rc || !p)
        return rc;
    if ((rc = same_geometry(p, &(*out)->geo)) != 0) {
        cxl_layout_close(*out);
        *out = NULL;
    }
    return rc;
}

void cxl_layout_close(struct cxl_layout *l) { free(l); }
const struct cxl_geometry *cxl_layout_geometry(const struct cxl_layout *l) { return &l->geo; }
struct cxl_medium *cxl_layout_medium(const struct cxl_layout *l) { return l->medium; }
void cxl_layout_set_delay(struct cxl_layout *l, const struct cxl_delay_model *d)
{
    l->delay = *d;
    if (l->delay.bw_mbps == 0)
        l->delay.bw_mbps = CXL_DELAY_BW_DEFAULT_MBPS;
}
struct cxl_delay_model cxl_layout_delay(const struct cxl_layout *l) { return l->delay; }

int cxl_layout_ring_state(const struct cxl_layout *l, uint32_t ring, struct cxl_ring_state *st)
{
    if (ring >= l->geo.ring_count)
        return cxl_fail(CXL_EINVAL, "ring %u does not exist (ring_count = %u)", ring, l->geo.ring_count);
    const struct cxl_ring_ctl *r = cxl_ring_ctl_of(l, ring);
    uint64_t w = __atomic_load_n(&r->owner_word, __ATOMIC_ACQUIRE);
    *st = (struct cxl_ring_state){
        .ring = ring,
        .owner_gen = cxl_owner_gen(w),
        .owner_state = cxl_owner_state(w),
        .owner_node = cxl_owner_node(w),
        .owner_pid = r->owner_pid,
        .heartbeat = r->heartbeat,
        .req_head = cxl_load_acquire(&r->req_head.value),
        .req_tail = cxl_load_acquire(&r->req_tail.value),
        .resp_head = cxl_load_acquire(&r->resp_head.value),
        .resp_tail = cxl_load_acquire(&r->resp_tail.value),
        .srv_state = r->srv_state,
        .srv_reason = r->srv_reason,
        .srv_events = r->srv_events,
    };
    return 0;
}
