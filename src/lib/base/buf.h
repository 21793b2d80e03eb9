/* base/buf.h - a byte buffer of fixed capacity (back-pressure, never
 * growth): bytes [start, end) of data[cap] are pending. Readers consume from
 * start, writers append at end; cxl_buf_tail compacts when that makes room.
 * The one buffer of the gateway, the tunnel and the RESP client. */
#ifndef CXL_BASE_BUF_H
#define CXL_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cxl_buf {
    uint8_t *data;
    size_t start, end, cap;
};

static inline size_t cxl_buf_len(const struct cxl_buf *b) { return b->end - b->start; }
static inline size_t cxl_buf_room(const struct cxl_buf *b) { return b->cap - cxl_buf_len(b); }

/* Where n more bytes go (compacting first if needed), or NULL if they do
 * not fit; the caller writes them and adds n to end. */
static inline uint8_t *cxl_buf_tail(struct cxl_buf *b, size_t n)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->cap - b->end < n && b->start > 0) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    return b->cap - b->end >= n ? b->data + b->end : NULL;
}

#endif
