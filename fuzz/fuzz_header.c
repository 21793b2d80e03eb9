/* fuzz_header.c - libFuzzer target for header and ring-index validation
 * (cxl_layout_validate, what every attach runs first).
 *
 * The input is a medium image. It is validated three ways, each in a heap
 * buffer of exactly the size validated (ASan sees any read past it), aligned
 * as a mapped layout is:
 *   A. as is;
 *   B. with the checksum recomputed and state set to READY, so that mutations
 *      of the geometry reach the field checks instead of dying at the checksum;
 *   C. as B, zero-extended to the layout_size the header claims (up to
 *      512 KiB), so that a short input (a header alone) can describe a whole
 *      layout.
 * A success must satisfy the geometry invariants of docs/RING.md; a failure
 * must be a validation status with a message. Validation must not write to
 * the image (checked in A and B). Anything else abort()s. See docs/FUZZING.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/util.h"
#include "ring/layout.h"

#define EXTEND_MAX (512u << 10) /* > the smallest 256-ring layout (388 KiB) */
#define HDR_LINE 80 /* magic .. state */

static void die(const char *pass, const char *why, uint64_t a, uint64_t b)
{
    fprintf(stderr, "fuzz_header: pass %s: %s (%llu, %llu)\n", pass, why,
            (unsigned long long)a, (unsigned long long)b);
    abort();
}

static uint64_t align_4k(uint64_t v) { return (v + 4095) / 4096 * 4096; }

/* What a successful validation promises about the image it accepted. */
static void check_geometry(const char *pass, const uint8_t *img, uint64_t size,
                           const struct cxl_geometry *g)
{
    const struct cxl_hdr *h = (const struct cxl_hdr *)img;
    if (g->version != CXL_LAYOUT_VERSION)
        die(pass, "version", g->version, CXL_LAYOUT_VERSION);
    if (g->ring_count < 1 || g->ring_count > CXL_MAX_RINGS)
        die(pass, "ring_count", g->ring_count, CXL_MAX_RINGS);
    if (g->slot_size < CXL_MIN_SLOT_SIZE || g->slot_size > CXL_MAX_SLOT_SIZE ||
        (g->slot_size & (g->slot_size - 1)))
        die(pass, "slot_size", g->slot_size, 0);
    if (g->slots < CXL_MIN_SLOTS)
        die(pass, "slots", g->slots, CXL_MIN_SLOTS);
    if (g->flags & ~CXL_LAYOUT_F_KNOWN)
        die(pass, "flags", g->flags, CXL_LAYOUT_F_KNOWN);
    if (g->data_off != align_4k(CXL_HEADER_SIZE + (uint64_t)g->ring_count * CXL_RING_CTL_SIZE))
        die(pass, "data_off", g->data_off, g->ring_count);
    uint64_t end = g->data_off + (uint64_t)2 * g->ring_count * g->slots * g->slot_size;
    if (end > g->layout_size)
        die(pass, "rings end past layout_size", end, g->layout_size);
    if (g->layout_size > size)
        die(pass, "layout_size past the image", g->layout_size, size);
    uint64_t mp = (uint64_t)(g->slots / 2) * g->slot_size - CXL_MSG_HDR_MAX;
    if (g->max_payload != (mp > UINT32_MAX ? UINT32_MAX : mp))
        die(pass, "max_payload", g->max_payload, mp);
    /* the copy agrees with the image it was taken from */
    if (g->ring_count != h->ring_count || g->slot_size != h->slot_size || g->slots != h->slots ||
        g->layout_size != h->layout_size || g->data_off != h->data_off ||
        g->format_id != h->format_id || g->flags != h->flags)
        die(pass, "geometry differs from the header", g->ring_count, h->ring_count);
    /* every ring's indices are in range (read in bounds: ASan checks) */
    for (uint32_t r = 0; r < g->ring_count; r++) {
        const struct cxl_ring_ctl *c =
            (const struct cxl_ring_ctl *)(img + CXL_HEADER_SIZE + (uint64_t)r * CXL_RING_CTL_SIZE);
        if (c->req_tail.value - c->req_head.value > g->slots)
            die(pass, "request indices out of range", c->req_head.value, c->req_tail.value);
        if (c->resp_tail.value - c->resp_head.value > g->slots)
            die(pass, "response indices out of range", c->resp_head.value, c->resp_tail.value);
    }
    /* the last queue's last byte is inside the image */
    volatile uint8_t last = img[end - 1];
    (void)last;
}

/* Validate size bytes at img; if before is given, img must not change. */
static void run(const char *pass, uint8_t *img, uint64_t size, uint8_t *before)
{
    if (before)
        memcpy(before, img, size);
    struct cxl_geometry g;
    memset(&g, 0xa5, sizeof g);
    cxl_fail(CXL_OK, "%s", "");
    int rc = cxl_layout_validate(img, size, &g);
    if (before && memcmp(before, img, size) != 0)
        die(pass, "validation wrote to the image", size, 0);
    if (rc == 0) {
        check_geometry(pass, img, size, &g);
        return;
    }
    if (rc != CXL_ETOOSMALL && rc != CXL_EFORMAT && rc != CXL_EGEOMETRY && rc != CXL_ECORRUPT)
        die(pass, "unexpected status", (uint64_t)-rc, 0);
    if (cxl_last_error()[0] == '\0')
        die(pass, "failure without a message", (uint64_t)-rc, 0);
}

/* posix_memalign keeps the exact size for ASan; 4096 is the layout's usual
 * alignment (the library requires 128). */
static uint8_t *exact(uint64_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n ? n : 1) != 0)
        abort();
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *img = exact(size), *before = exact(size);
    memcpy(img, data, size);
    run("A", img, size, before);

    if (size >= HDR_LINE) {
        memcpy(img, data, size);
        uint64_t sum = cxl_fnv1a64(img, 64);
        uint32_t ready = CXL_STATE_READY;
        memcpy(img + offsetof(struct cxl_hdr, checksum), &sum, sizeof sum);
        memcpy(img + offsetof(struct cxl_hdr, state), &ready, sizeof ready);
        run("B", img, size, before);

        uint64_t want;
        memcpy(&want, img + offsetof(struct cxl_hdr, layout_size), sizeof want);
        if (want > size && want <= EXTEND_MAX) {
            uint8_t *big = exact(want);
            memcpy(big, img, size);
            memset(big + size, 0, want - size);
            run("C", big, want, NULL);
            free(big);
        }
    }
    free(img);
    free(before);
    return 0;
}
