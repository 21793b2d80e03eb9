/* net/resp.h - RESP2 (the Redis protocol): validating replies, walking them,
 * and printing them the way redis-cli does. Used by the clients to show
 * CMD replies (which the ring carries as Redis's own RESP bytes) and by the
 * TCP side of the benchmarks. Every length is bounds-checked. Requests (what
 * a RESP server reads): net/resp_request.h. */
#ifndef CXL_RESP_H
#define CXL_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_RESP_MAX_DEPTH 64
#define CXL_RESP_MAX_BULK (512ll << 20)

/* One element's header. For '*' the children follow it in the buffer. */
struct cxl_resp_elem {
    char type;          /* '+', '-', ':', '$', '*' */
    int nil;            /* $-1 or *-1 */
    const uint8_t *str; /* '+', '-', '$': the bytes */
    size_t len;
    int64_t integer;    /* ':' value; '*' element count */
};

/* Parse the element header at p. > 0: bytes of the header (for strings and
 * integers: of the whole element), 0: incomplete, < 0: malformed (CXL_EPROTO,
 * message in cxl_last_error()). */
int64_t cxl_resp_elem(const uint8_t *p, size_t len, struct cxl_resp_elem *e);
/* The same at p[*off], walking a reply: 1 and *off moved past the element's
 * header (a string or an integer: all of it), or 0 (incomplete or malformed;
 * *off stays). */
int cxl_resp_next(const uint8_t *p, size_t len, size_t *off, struct cxl_resp_elem *e);

/* Size in bytes of one complete reply (nested arrays included) at p: > 0,
 * 0 if incomplete, < 0 if malformed or nested deeper than CXL_RESP_MAX_DEPTH. */
int64_t cxl_resp_reply_size(const uint8_t *p, size_t len);

/* Print one reply as redis-cli does: tty style ("(integer) 1", quoted
 * strings, numbered arrays) or raw. Returns bytes consumed or < 0. */
int64_t cxl_resp_print(FILE *out, const uint8_t *p, size_t len, int raw);

/* Print a string as redis-cli quotes it ("a\"b\n" -> "a\"b\n" escaped). */
void cxl_resp_print_quoted(FILE *out, const uint8_t *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
