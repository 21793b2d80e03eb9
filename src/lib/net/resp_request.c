/* resp_request.c - the incremental RESP request parser (what a Redis server
 * reads from a client), with Redis 7.0's framing rules and error texts:
 * a request starting with '*' is multibulk, anything else is an inline
 * line; lines are found by their CR (multibulk) or LF (inline), a NUL before
 * the end keeps a line from ever ending (Redis searches with strchr), a line
 * still open after 64 KiB is refused, numbers are read as string2ll reads
 * them, the two bytes after a line's CR and after an argument are skipped
 * unchecked. The parser's place (state, position, arguments so far) lives in
 * struct cxl_resp_parser, so every byte is looked at once. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "net/resp_request.h"

#define REDIS_MAX_BULK (512ull << 20) /* proto-max-bulk-len's default */
#define NUMBER_MAX_DIGITS 20           /* string2ll: 21 bytes or more are never a number */

enum state { START, INLINE, COUNT, BULK_LEN, BULK_DATA, DONE, FAILED };

void cxl_resp_parser_init(struct cxl_resp_parser *ps, const struct cxl_resp_limits *lim)
{
    static const struct cxl_resp_limits redis = {.max_args = INT_MAX, .max_bulk = REDIS_MAX_BULK};
    *ps = (struct cxl_resp_parser){.lim = lim ? *lim : redis};
}

void cxl_resp_parser_free(struct cxl_resp_parser *ps)
{
    cxl_resp_spans_free(&ps->args);
    ps->state = START;
}

void cxl_resp_parser_next(struct cxl_resp_parser *ps)
{
    if (ps->state == FAILED)
        return;
    ps->state = START;
    ps->pos = ps->scan = 0;
    ps->line_blocked = 0;
    ps->left = ps->bulklen = 0;
    ps->size = 0;
    ps->args.n = 0;
    if (ps->args.cap > 4096) /* do not keep a huge command's table */
        cxl_resp_spans_free(&ps->args);
}

const char *cxl_resp_parser_error(const struct cxl_resp_parser *ps)
{
    return ps->state == FAILED ? ps->err : "";
}

size_t cxl_resp_parser_missing(const struct cxl_resp_parser *ps, size_t len)
{
    if (ps->state != BULK_DATA)
        return 0;
    size_t need = ps->pos + (size_t)ps->bulklen + 2;
    return need > len ? need - len : 0;
}

void cxl_resp_args_free(struct cxl_resp_args *a)
{
    free(a->argv);
    free(a->argvlen);
    *a = (struct cxl_resp_args){0};
}

__attribute__((format(printf, 2, 3)))
static int64_t fail(struct cxl_resp_parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, sizeof ps->err, fmt, ap);
    va_end(ap);
    ps->state = FAILED;
    return cxl_fail(CXL_EPROTO, "%s", ps->err);
}

/* Redis's string2ll: optional '-', no leading zeros or '+', fits a long long. */
static int read_number(const uint8_t *p, size_t n, long long *v)
{
    if (n == 0 || n > NUMBER_MAX_DIGITS)
        return 0;
    if (n == 1 && p[0] == '0') {
        *v = 0;
        return 1;
    }
    size_t i = p[0] == '-';
    if (i == n || p[i] < '1' || p[i] > '9')
        return 0;
    unsigned long long acc = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        unsigned d = (unsigned)(p[i] - '0');
        if (acc > (ULLONG_MAX - d) / 10)
            return 0;
        acc = acc * 10 + d;
    }
    if (p[0] == '-') {
        if (acc > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *v = acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)acc;
    } else {
        if (acc > (unsigned long long)LLONG_MAX)
            return 0;
        *v = (long long)acc;
    }
    return 1;
}

/* Find the end byte of the line that starts at from: its index, or -1 while
 * it has not arrived (or never will: a NUL came first). Resumes where the
 * last search stopped. */
static int64_t find_end(struct cxl_resp_parser *ps, const uint8_t *p, size_t from, size_t len, int end)
{
    if (ps->scan < from)
        ps->scan = from;
    if (ps->line_blocked || ps->scan >= len)
        return -1;
    const uint8_t *e = memchr(p + ps->scan, end, len - ps->scan);
    size_t stop = e ? (size_t)(e - p) : len;
    if (memchr(p + ps->scan, 0, stop - ps->scan)) {
        ps->line_blocked = 1;
        return -1;
    }
    ps->scan = stop;
    return e ? (int64_t)stop : -1;
}

/* A line that has not ended: refused once more than 64 KiB wait. */
static int64_t open_line(struct cxl_resp_parser *ps, size_t from, size_t len, const char *what)
{
    return len - from > CXL_RESP_INLINE_MAX ? fail(ps, "Protocol error: too big %s", what) : 0;
}

static int64_t parse_inline(struct cxl_resp_parser *ps, uint8_t *p, size_t len)
{
    int64_t nl = find_end(ps, p, 0, len, '\n');
    if (nl < 0)
        return open_line(ps, 0, len, "inline request");
    size_t line = (size_t)nl;
    if (line > 0 && p[line - 1] == '\r')
        line--;
    int rc = cxl_resp_split_inline(p, line, 0, &ps->args);
    if (rc == CXL_ESYS)
        return rc;
    if (rc)
        return fail(ps, "Protocol error: unbalanced quotes in request");
    ps->pos = (size_t)nl + 1;
    ps->state = DONE;
    return 1;
}

static int64_t parse_count(struct cxl_resp_parser *ps, const uint8_t *p, size_t len)
{
    int64_t cr = find_end(ps, p, 0, len, '\r');
    if (cr < 0)
        return open_line(ps, 0, len, "mbulk count string");
    if ((size_t)cr + 2 > len)
        return 0; /* the byte after the CR (not checked) */
    long long count;
    if (!read_number(p + 1, (size_t)cr - 1, &count) || count > INT_MAX || count > (long long)ps->lim.max_args)
        return fail(ps, "Protocol error: invalid multibulk length");
    ps->pos = (size_t)cr + 2;
    ps->left = count;
    ps->state = count <= 0 ? DONE : BULK_LEN; /* Redis ignores "*0" and "*-1" */
    return 1;
}

static int64_t parse_bulk_len(struct cxl_resp_parser *ps, const uint8_t *p, size_t len)
{
    int64_t cr = find_end(ps, p, ps->pos, len, '\r');
    if (cr < 0)
        return open_line(ps, ps->pos, len, "bulk count string");
    if ((size_t)cr + 2 > len)
        return 0;
    int first = p[ps->pos];
    if (first != '$')
        return fail(ps, "Protocol error: expected '$', got '%c'", first == '\r' || first == '\n' ? ' ' : first);
    long long n;
    if (!read_number(p + ps->pos + 1, (size_t)cr - ps->pos - 1, &n) || n < 0 || (uint64_t)n > ps->lim.max_bulk)
        return fail(ps, "Protocol error: invalid bulk length");
    ps->size += (uint64_t)n + ps->lim.arg_overhead;
    if (ps->lim.max_request && ps->size > ps->lim.max_request)
        return fail(ps, "Protocol error: request larger than %llu bytes", (unsigned long long)ps->lim.max_request);
    ps->bulklen = n;
    ps->pos = (size_t)cr + 2;
    ps->state = BULK_DATA;
    return 1;
}

static int64_t parse_bulk_data(struct cxl_resp_parser *ps, size_t len)
{
    if (len - ps->pos < (size_t)ps->bulklen + 2)
        return 0; /* the argument and the two bytes after it (not checked) */
    int rc = cxl_resp_spans_push(&ps->args, ps->pos, (size_t)ps->bulklen);
    if (rc)
        return rc;
    ps->pos += (size_t)ps->bulklen + 2;
    ps->state = --ps->left ? BULK_LEN : DONE;
    return 1;
}

/* One step: 1 = progress, 0 = more bytes needed, < 0 = error. */
static int64_t step(struct cxl_resp_parser *ps, uint8_t *p, size_t len)
{
    switch (ps->state) {
    case START:
        if (len == 0)
            return 0;
        ps->state = p[0] == '*' ? COUNT : INLINE;
        return 1;
    case INLINE: return parse_inline(ps, p, len);
    case COUNT: return parse_count(ps, p, len);
    case BULK_LEN: return parse_bulk_len(ps, p, len);
    case BULK_DATA: return parse_bulk_data(ps, len);
    default: return cxl_fail(CXL_EPROTO, "%s", ps->err);
    }
}

static int fill_args(const struct cxl_resp_parser *ps, const uint8_t *p, struct cxl_resp_args *out)
{
    uint32_t n = ps->args.n;
    if ((int)n > out->cap) {
        const char **v = realloc(out->argv, n * sizeof *v);
        if (!v)
            return cxl_fail(CXL_ESYS, "out of memory");
        out->argv = v;
        size_t *l = realloc(out->argvlen, n * sizeof *l);
        if (!l)
            return cxl_fail(CXL_ESYS, "out of memory");
        out->argvlen = l;
        out->cap = (int)n;
    }
    for (uint32_t i = 0; i < n; i++) {
        out->argv[i] = (const char *)p + ps->args.off[i];
        out->argvlen[i] = ps->args.len[i];
    }
    out->argc = (int)n;
    return 0;
}

int64_t cxl_resp_parse(struct cxl_resp_parser *ps, uint8_t *p, size_t len, struct cxl_resp_args *out)
{
    out->argc = 0;
    int64_t rc = 0;
    while (ps->state != DONE && (rc = step(ps, p, len)) > 0)
        ;
    if (ps->state != DONE)
        return ps->state == FAILED ? CXL_EPROTO : rc;
    rc = fill_args(ps, p, out);
    return rc ? rc : (int64_t)ps->pos;
}
