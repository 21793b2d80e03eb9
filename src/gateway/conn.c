/* conn.c - a client connection's byte buffers: growable, compacted in place,
 * with a hard cap enforced by the caller (request and output limits). */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

int gw_buf_reserve(struct gw_buf *b, size_t more)
{
    if (b->cap - b->end >= more)
        return 0;
    if (b->start > 0) { /* compact first */
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        if (b->cap - b->end >= more)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 16384;
    while (cap - b->end < more)
        cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int gw_buf_append(struct gw_buf *b, const void *p, size_t n)
{
    if (gw_buf_reserve(b, n))
        return -1;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return 0;
}

void gw_buf_free(struct gw_buf *b)
{
    free(b->data);
    *b = (struct gw_buf){0};
}
