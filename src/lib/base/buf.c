/* buf.c - the non-inline parts of the byte buffer (base/buf.h): making room
 * (compacting, growing a growable buffer), allocating, resizing and freeing;
 * sending what a buffer holds to a socket. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "base/buf.h"

static void compact(struct cxl_buf *b)
{
    if (b->start == 0)
        return;
    memmove(b->data, b->data + b->start, b->end - b->start);
    b->end -= b->start;
    b->start = 0;
}

/* The size to grow to for n more bytes after end, or 0 if past the limit. */
static size_t grown_cap(const struct cxl_buf *b, size_t n, int exact)
{
    if (b->limit <= b->cap || n > b->limit - b->end)
        return 0;
    if (exact)
        return b->end + n;
    size_t cap = b->cap ? b->cap : CXL_BUF_FIRST < b->limit ? CXL_BUF_FIRST : b->limit;
    while (cap - b->end < n && cap <= b->limit / 2)
        cap *= 2;
    return cap - b->end < n ? b->limit : cap;
}

uint8_t *cxl_buf_make_room(struct cxl_buf *b, size_t n, int exact)
{
    compact(b);
    if (b->cap - b->end >= n)
        return b->data + b->end;
    size_t cap = grown_cap(b, n, exact);
    uint8_t *d = cap ? realloc(b->data, cap) : NULL;
    if (!d)
        return NULL;
    b->data = d;
    b->cap = cap;
    return b->data + b->end;
}

int cxl_buf_alloc(struct cxl_buf *b, size_t cap)
{
    *b = (struct cxl_buf){.data = cap ? malloc(cap) : NULL, .cap = cap, .limit = cap};
    if (b->data || !cap)
        return 0;
    b->cap = b->limit = 0;
    return -1;
}

int cxl_buf_resize(struct cxl_buf *b, size_t cap)
{
    if (b->cap >= cap)
        return 0;
    compact(b);
    uint8_t *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = b->limit = cap;
    return 0;
}

void cxl_buf_trim(struct cxl_buf *b, size_t keep)
{
    if (b->start != b->end)
        return;
    b->start = b->end = 0;
    if (b->cap > keep)
        cxl_buf_free(b);
}

void cxl_buf_free(struct cxl_buf *b)
{
    free(b->data);
    *b = (struct cxl_buf){.limit = b->limit > b->cap ? b->limit : 0};
}

int cxl_buf_send(struct cxl_buf *b, int fd)
{
    while (cxl_buf_len(b)) {
        ssize_t n = send(fd, b->data + b->start, cxl_buf_len(b), MSG_NOSIGNAL);
        if (n > 0)
            b->start += (size_t)n;
        else if (n < 0 && errno == EAGAIN)
            return 0;
        else if (n == 0 || errno != EINTR)
            return -1;
    }
    b->start = b->end = 0;
    return 0;
}
