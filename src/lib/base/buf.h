/* base/buf.h - the one byte buffer of the gateway, the tunnel, the RESP
 * client and the tunnel's cryptography: bytes [start, end) of data[cap] are
 * pending. Readers consume from start, writers append at end (cxl_buf_tail
 * says where, compacting when that makes room).
 *
 * Two kinds, by the limit field:
 *   fixed capacity (limit <= cap, a zeroed buffer included): never grows; a
 *     full buffer is back-pressure (cxl_buf_tail says NULL), as the tunnel's
 *     buffers are. cxl_buf_alloc makes one, cxl_buf_resize changes its size.
 *   growable (limit > cap, CXL_BUF_GROWS: no limit but memory): room is made
 *     by doubling, from CXL_BUF_FIRST, up to limit; a buffer emptied keeps its
 *     memory until cxl_buf_free (cxl_buf_trim gives a big one back).
 * Non-inline parts, and sending a buffer to a socket, in buf.c. */
#ifndef CXL_BASE_BUF_H
#define CXL_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CXL_BUF_FIRST 16384u        /* a growable buffer's first size */
#define CXL_BUF_GROWS ((size_t)-1)  /* limit: grows as far as memory allows */

struct cxl_buf {
    uint8_t *data;
    size_t start, end, cap;
    size_t limit; /* what cap may grow to; <= cap: fixed capacity */
};

static inline size_t cxl_buf_len(const struct cxl_buf *b) { return b->end - b->start; }
/* Room without growing (the back-pressure of a fixed buffer). */
static inline size_t cxl_buf_room(const struct cxl_buf *b) { return b->cap - cxl_buf_len(b); }

/* The slow path of cxl_buf_tail: compact, then grow if the buffer may;
 * exact: grow to just the room asked for (a big argument, no doubling). */
uint8_t *cxl_buf_make_room(struct cxl_buf *b, size_t n, int exact);

/* Where n (> 0) more bytes go (compacting, or growing a growable buffer,
 * if needed), or NULL if they do not fit (fixed: full; growable: past its
 * limit or out of memory); the caller writes them and adds n to end. */
static inline uint8_t *cxl_buf_tail(struct cxl_buf *b, size_t n)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->cap - b->end >= n)
        return b->data + b->end;
    return cxl_buf_make_room(b, n, 0);
}

/* The same, a growable buffer grown to just the room asked for (a big
 * argument: no doubling past it). */
static inline uint8_t *cxl_buf_tail_exact(struct cxl_buf *b, size_t n)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    return cxl_buf_make_room(b, n, 1);
}

/* Append n bytes: 0, or -1 if they do not fit. */
static inline int cxl_buf_append(struct cxl_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t *dst = cxl_buf_tail(b, n);
    if (!dst)
        return -1;
    memcpy(dst, p, n);
    b->end += n;
    return 0;
}

/* Send what b holds to the socket fd (non-blocking) until it is all gone or
 * the socket is full: 0, or -1 with errno when the peer is gone. */
int cxl_buf_send(struct cxl_buf *b, int fd);

/* A fixed-capacity buffer of cap bytes (cap 0: holds nothing): 0 or -1. */
int cxl_buf_alloc(struct cxl_buf *b, size_t cap);
/* A fixed-capacity buffer made larger (to cap, keeping its bytes): 0 or -1. */
int cxl_buf_resize(struct cxl_buf *b, size_t cap);
/* An empty growable buffer, growing up to limit (CXL_BUF_GROWS: no limit). */
static inline struct cxl_buf cxl_buf_growable(size_t limit) { return (struct cxl_buf){.limit = limit}; }
/* Once emptied: a buffer larger than keep is freed (it stays growable). */
void cxl_buf_trim(struct cxl_buf *b, size_t keep);
/* Memory given back; the kind (limit) is kept, the bytes are gone. */
void cxl_buf_free(struct cxl_buf *b);

#endif
