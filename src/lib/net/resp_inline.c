/* resp_inline.c - inline commands split into words exactly as redis-server
 * does it (sds.c sdssplitargs, Redis 7.0): blanks between words, double
 * quotes with escapes, single quotes with \' only, a closing quote that must
 * be followed by a blank or the end, and unbalanced quotes refused. The
 * words are unquoted in place: each output byte takes at least one input
 * byte, so the writer never passes the reader. */
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"
#include "net/resp_request.h"

int cxl_resp_spans_push(struct cxl_resp_spans *s, size_t off, size_t len)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 16;
        size_t *o = realloc(s->off, cap * sizeof *o);
        if (!o)
            return cxl_fail(CXL_ESYS, "out of memory");
        s->off = o;
        size_t *l = realloc(s->len, cap * sizeof *l);
        if (!l)
            return cxl_fail(CXL_ESYS, "out of memory");
        s->len = l;
        s->cap = cap;
    }
    s->off[s->n] = off;
    s->len[s->n++] = len;
    return 0;
}

void cxl_resp_spans_free(struct cxl_resp_spans *s)
{
    free(s->off);
    free(s->len);
    *s = (struct cxl_resp_spans){0};
}

/* isspace() in the C locale, which Redis runs in */
static int is_blank(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

struct splitter {
    uint8_t *s;
    size_t n, r, w; /* length, read and write positions */
};

/* the byte at i, 0 past the end (the line is a C string to Redis) */
static int at(const struct splitter *sp, size_t i) { return i < sp->n ? sp->s[i] : 0; }

static char unescape(int c)
{
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return (char)c;
    }
}

/* Inside "...": 1 = the word ends here, 0 = go on, -1 = unbalanced. */
static int double_quoted(struct splitter *sp)
{
    int c = at(sp, sp->r);
    if (c == '\\' && at(sp, sp->r + 1) == 'x' && hex_value(at(sp, sp->r + 2)) >= 0 &&
        hex_value(at(sp, sp->r + 3)) >= 0) {
        sp->s[sp->w++] = (uint8_t)(hex_value(at(sp, sp->r + 2)) * 16 + hex_value(at(sp, sp->r + 3)));
        sp->r += 4;
    } else if (c == '\\' && at(sp, sp->r + 1)) {
        sp->s[sp->w++] = (uint8_t)unescape(at(sp, sp->r + 1));
        sp->r += 2;
    } else if (c == '"') {
        int next = at(sp, sp->r + 1);
        if (next && !is_blank(next))
            return -1; /* a closing quote must end the word */
        sp->r++;
        return 1;
    } else if (!c) {
        return -1; /* the line ended inside the quotes */
    } else {
        sp->s[sp->w++] = (uint8_t)c;
        sp->r++;
    }
    return 0;
}

/* Inside '...': only \' is an escape. */
static int single_quoted(struct splitter *sp)
{
    int c = at(sp, sp->r);
    if (c == '\\' && at(sp, sp->r + 1) == '\'') {
        sp->s[sp->w++] = '\'';
        sp->r += 2;
    } else if (c == '\'') {
        int next = at(sp, sp->r + 1);
        if (next && !is_blank(next))
            return -1;
        sp->r++;
        return 1;
    } else if (!c) {
        return -1;
    } else {
        sp->s[sp->w++] = (uint8_t)c;
        sp->r++;
    }
    return 0;
}

/* One word from sp->r: 0, or -1 for unbalanced quotes. */
static int word(struct splitter *sp)
{
    enum { PLAIN, DOUBLE, SINGLE } mode = PLAIN;
    for (;;) {
        int rc = 0, c = at(sp, sp->r);
        if (mode == DOUBLE) {
            rc = double_quoted(sp);
        } else if (mode == SINGLE) {
            rc = single_quoted(sp);
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0) {
            sp->r += c != 0; /* only these end a plain word (not \v or \f) */
            return 0;
        } else if (c == '"' || c == '\'') {
            mode = c == '"' ? DOUBLE : SINGLE;
            sp->r++;
        } else {
            sp->s[sp->w++] = (uint8_t)c;
            sp->r++;
        }
        if (rc)
            return rc < 0 ? -1 : 0;
    }
}

int cxl_resp_split_inline(uint8_t *line, size_t n, size_t base, struct cxl_resp_spans *out)
{
    const uint8_t *nul = memchr(line, 0, n);
    struct splitter sp = {.s = line, .n = nul ? (size_t)(nul - line) : n};
    uint32_t first = out->n;
    for (;;) {
        while (sp.r < sp.n && is_blank(sp.s[sp.r]))
            sp.r++;
        if (sp.r >= sp.n)
            return 0;
        size_t start = sp.w;
        int rc = word(&sp);
        if (rc == 0)
            rc = cxl_resp_spans_push(out, base + start, sp.w - start);
        if (rc) {
            out->n = first; /* nothing half-split is left behind */
            return rc;
        }
    }
}
