/* resp.c - RESP2 reply parsing, validation and redis-cli style printing. */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "cxl/error.h"
#include "net/resp.h"

static int bad(const char *why)
{
    return cxl_fail(CXL_EPROTO, "malformed RESP: %s", why);
}

/* Find the CRLF ending the line at p: 1 with *n = its length, 0 if the line
 * is incomplete, < 0 if it has a bare CR or LF. */
static int line_end(const uint8_t *p, size_t len, size_t *n)
{
    const uint8_t *cr = memchr(p, '\r', len);
    if (!cr) {
        if (memchr(p, '\n', len))
            return bad("line ends without CR");
        return 0;
    }
    *n = (size_t)(cr - p);
    if (*n + 1 >= len)
        return 0;
    if (cr[1] != '\n' || memchr(p, '\n', *n))
        return bad("line does not end with CRLF");
    return 1;
}

static int parse_int(const uint8_t *p, size_t n, int64_t *v)
{
    if (n == 0 || n > 20)
        return bad("bad number");
    int neg = p[0] == '-';
    size_t i = neg;
    if (i == n)
        return bad("bad number");
    uint64_t acc = 0;
    for (; i < n; i++) {
        if (!isdigit(p[i]))
            return bad("bad number");
        if (acc > (UINT64_MAX - 9) / 10)
            return bad("number too large");
        acc = acc * 10 + (uint64_t)(p[i] - '0');
    }
    if (acc > (uint64_t)INT64_MAX + neg)
        return bad("number too large");
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

int64_t cxl_resp_elem(const uint8_t *p, size_t len, struct cxl_resp_elem *e)
{
    if (len < 1)
        return 0;
    size_t n = 0;
    int rc = line_end(p + 1, len - 1, &n);
    if (rc < 0)
        return rc;
    int number = p[0] == ':' || p[0] == '$' || p[0] == '*';
    if (rc == 0)
        return number && len > 1 + 21 + 2 ? bad("number line too long") : 0;
    *e = (struct cxl_resp_elem){.type = (char)p[0]};
    size_t head = 1 + n + 2;
    switch (p[0]) {
    case '+':
    case '-':
        e->str = p + 1;
        e->len = n;
        return (int64_t)head;
    case ':':
        return parse_int(p + 1, n, &e->integer) ? CXL_EPROTO : (int64_t)head;
    case '$': {
        int64_t blen;
        if (parse_int(p + 1, n, &blen))
            return CXL_EPROTO;
        if (blen == -1) {
            e->nil = 1;
            return (int64_t)head;
        }
        if (blen < 0 || blen > CXL_RESP_MAX_BULK)
            return bad("bulk length out of range");
        if (len - head < (uint64_t)blen + 2)
            return 0;
        if (p[head + blen] != '\r' || p[head + blen + 1] != '\n')
            return bad("bulk string not followed by CRLF");
        e->str = p + head;
        e->len = (size_t)blen;
        return (int64_t)(head + (size_t)blen + 2);
    }
    case '*':
        if (parse_int(p + 1, n, &e->integer))
            return CXL_EPROTO;
        if (e->integer == -1) {
            e->nil = 1;
            e->integer = 0;
        } else if (e->integer < 0 || e->integer > INT32_MAX) {
            return bad("array length out of range");
        }
        return (int64_t)head;
    default:
        return bad("unknown type byte");
    }
}

int64_t cxl_resp_reply_size(const uint8_t *p, size_t len)
{
    int64_t left[CXL_RESP_MAX_DEPTH]; /* elements still to read per level */
    int depth = 0;
    size_t off = 0;
    left[0] = 1;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        struct cxl_resp_elem e;
        int64_t n = cxl_resp_elem(p + off, len - off, &e);
        if (n <= 0)
            return n;
        off += (size_t)n;
        left[depth]--;
        if (e.type == '*' && e.integer > 0) {
            if (depth + 1 >= CXL_RESP_MAX_DEPTH)
                return bad("arrays nested too deep");
            left[++depth] = e.integer;
        }
    }
    return (int64_t)off;
}

void cxl_resp_print_quoted(FILE *out, const uint8_t *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '\\': fputs("\\\\", out); break;
        case '"': fputs("\\\"", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\a': fputs("\\a", out); break;
        case '\b': fputs("\\b", out); break;
        default:
            if (isprint(c))
                fputc(c, out);
            else
                fprintf(out, "\\x%02x", c);
        }
    }
    fputc('"', out);
}

/* tty style; prefix is the indentation for the 2nd.. elements of arrays */
static int64_t print_tty(FILE *out, const uint8_t *p, size_t len, const char *prefix, int depth)
{
    struct cxl_resp_elem e;
    int64_t n = cxl_resp_elem(p, len, &e);
    if (n <= 0)
        return n < 0 ? n : bad("incomplete reply");
    if (depth > CXL_RESP_MAX_DEPTH)
        return bad("arrays nested too deep");
    switch (e.type) {
    case '+': fprintf(out, "%.*s\n", (int)e.len, e.str); return n;
    case '-': fprintf(out, "(error) %.*s\n", (int)e.len, e.str); return n;
    case ':': fprintf(out, "(integer) %" PRId64 "\n", e.integer); return n;
    case '$':
        if (e.nil) {
            fputs("(nil)\n", out);
        } else {
            cxl_resp_print_quoted(out, e.str, e.len);
            fputc('\n', out);
        }
        return n;
    }
    if (e.nil) {
        fputs("(nil)\n", out);
        return n;
    }
    if (e.integer == 0) {
        fputs("(empty array)\n", out);
        return n;
    }
    int idxlen = snprintf(NULL, 0, "%" PRId64, e.integer);
    char child[512];
    snprintf(child, sizeof child, "%s%*s", prefix, idxlen + 2, "");
    size_t off = (size_t)n;
    for (int64_t i = 0; i < e.integer; i++) {
        fprintf(out, "%s%*" PRId64 ") ", i == 0 ? "" : prefix, idxlen, i + 1);
        int64_t m = print_tty(out, p + off, len - off, child, depth + 1);
        if (m < 0)
            return m;
        off += (size_t)m;
    }
    return (int64_t)off;
}

static int64_t print_raw(FILE *out, const uint8_t *p, size_t len, int depth)
{
    struct cxl_resp_elem e;
    int64_t n = cxl_resp_elem(p, len, &e);
    if (n <= 0)
        return n < 0 ? n : bad("incomplete reply");
    if (depth > CXL_RESP_MAX_DEPTH)
        return bad("arrays nested too deep");
    switch (e.type) {
    case '+':
    case '$': fwrite(e.str, 1, e.len, out); return n; /* nil: nothing */
    case '-': fprintf(out, "%.*s\n", (int)e.len, e.str); return n;
    case ':': fprintf(out, "%" PRId64, e.integer); return n;
    }
    size_t off = (size_t)n;
    for (int64_t i = 0; i < e.integer; i++) {
        if (i)
            fputc('\n', out);
        int64_t m = print_raw(out, p + off, len - off, depth + 1);
        if (m < 0)
            return m;
        off += (size_t)m;
    }
    return (int64_t)off;
}

int64_t cxl_resp_print(FILE *out, const uint8_t *p, size_t len, int raw)
{
    int64_t size = cxl_resp_reply_size(p, len); /* validate before printing */
    if (size <= 0)
        return size < 0 ? size : bad("incomplete reply");
    if (!raw)
        return print_tty(out, p, (size_t)size, "", 0);
    int64_t n = print_raw(out, p, (size_t)size, 0);
    if (n > 0)
        fputc('\n', out);
    return n;
}

int cxl_resp_next(const uint8_t *p, size_t len, size_t *off, struct cxl_resp_elem *e)
{
    int64_t n = *off <= len ? cxl_resp_elem(p + *off, len - *off, e) : 0;
    if (n <= 0)
        return 0;
    *off += (size_t)n;
    return 1;
}
