/* net/resp_request.h - RESP requests as redis-server reads them: multibulk
 * (*N CRLF $len CRLF bytes CRLF ...) and inline (a line of words, quotes and
 * escapes as Redis's sdssplitargs reads them), with Redis 7.0's rules and
 * error texts (networking.c: processMultibulkBuffer, processInlineBuffer).
 *
 * The parser is incremental: it keeps its place across reads, so a request
 * that arrives in many pieces (a 500 MB argument in 64 KiB reads) is never
 * scanned again from its start. It stores offsets, not pointers: the caller
 * may move the bytes (compact or grow its buffer) between calls, as long as
 * the request still starts at the pointer it passes. Used by
 * cxl_resp_gateway; fuzzed by fuzz/fuzz_decoders.c. */
#ifndef CXL_RESP_REQUEST_H
#define CXL_RESP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Redis's PROTO_INLINE_MAX_SIZE: an inline line, or a "*N" or "$N" line,
 * still without its end after this many bytes is refused. */
#define CXL_RESP_INLINE_MAX (64u << 10)
#define CXL_RESP_ERR_MAX 96

struct cxl_resp_limits {
    uint32_t max_args;     /* arguments per command ("invalid multibulk length") */
    uint64_t max_bulk;     /* bytes per argument: proto-max-bulk-len ("invalid bulk length") */
    uint64_t max_request;  /* a command's size, sum of (length + arg_overhead); 0 = no limit */
    uint32_t arg_overhead; /* what each argument adds to that size (its framing elsewhere) */
};

/* A complete request: pointers into the caller's buffer. */
struct cxl_resp_args {
    int argc;
    const char **argv;
    size_t *argvlen;
    int cap;
};

/* Argument positions: offsets from the request's first byte. */
struct cxl_resp_spans {
    size_t *off, *len;
    uint32_t n, cap;
};

struct cxl_resp_parser {
    struct cxl_resp_limits lim;
    int state;
    size_t pos;        /* bytes of the request parsed so far */
    size_t scan;       /* how far the line being read was searched */
    int line_blocked;  /* a NUL came before the line's end: it never ends */
    int64_t left;      /* multibulk: arguments still to come */
    int64_t bulklen;   /* the argument being read */
    uint64_t size;     /* the request's size toward lim.max_request */
    struct cxl_resp_spans args;
    char err[CXL_RESP_ERR_MAX];
};

/* lim NULL: Redis's defaults (INT_MAX arguments, 512 MB per argument). */
void cxl_resp_parser_init(struct cxl_resp_parser *ps, const struct cxl_resp_limits *lim);
void cxl_resp_parser_free(struct cxl_resp_parser *ps);

/* Go on parsing the request that starts at p, of which len bytes have
 * arrived (the same bytes as before, plus more). p is written to: inline
 * arguments are unquoted in place.
 *   > 0  the request is complete, that many bytes; out has its arguments
 *        (argc 0: an empty request, which Redis ignores: "*0", "*-1", an
 *        empty line). Calling again returns the same request until
 *        cxl_resp_parser_next().
 *   0    more bytes are needed.
 *   < 0  CXL_EPROTO (or CXL_ESYS: out of memory): the text Redis answers,
 *        e.g. "Protocol error: invalid bulk length", is in
 *        cxl_resp_parser_error(); Redis then closes the connection. The
 *        parser stays in that state. */
int64_t cxl_resp_parse(struct cxl_resp_parser *ps, uint8_t *p, size_t len, struct cxl_resp_args *out);

/* The complete request was consumed: the next one starts after it. */
void cxl_resp_parser_next(struct cxl_resp_parser *ps);

/* Bytes still missing for the argument being read, given len bytes of the
 * request have arrived (0 when not inside an argument's bytes): lets the
 * caller size its buffer for a big argument once. */
size_t cxl_resp_parser_missing(const struct cxl_resp_parser *ps, size_t len);

/* The text of the protocol error the parser stopped on ("" if none). */
const char *cxl_resp_parser_error(const struct cxl_resp_parser *ps);

void cxl_resp_args_free(struct cxl_resp_args *args);

/* Split one inline line (no line end) as Redis does (sdssplitargs):
 * blank-separated words; "double quotes" with \n \r \t \b \a \xHH and \<any>
 * escapes; 'single quotes' with \' only; a closing quote must be followed by
 * a blank or the end; a NUL ends the line. The words are unquoted in place
 * (line is rewritten) and appended to out as offsets base + position.
 * 0, or -1 for unbalanced quotes (CXL_ESYS when out of memory). */
int cxl_resp_split_inline(uint8_t *line, size_t n, size_t base, struct cxl_resp_spans *out);
int cxl_resp_spans_push(struct cxl_resp_spans *s, size_t off, size_t len);
void cxl_resp_spans_free(struct cxl_resp_spans *s);

#ifdef __cplusplus
}
#endif
#endif
