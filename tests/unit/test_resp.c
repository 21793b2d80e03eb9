/* test_resp.c - RESP: requests as redis-server reads them (multibulk and
 * inline, fed whole and in pieces of every size up to 9 bytes; Redis 7.0's
 * error texts; inline quoting as sdssplitargs; empty requests; limits; the
 * parser never reads a byte twice) and replies (size, nesting, redis-cli
 * formatting). tests/gateway_compat.py compares the same rules live with a
 * real redis-server. */
#define _GNU_SOURCE
#include "check.h"
#include "net/resp.h"
#include "net/resp_request.h"

static struct cxl_resp_args a;

/* Parse req (n bytes) fed in pieces of `piece` bytes (0 = all at once) into
 * a fresh parser: the result of the first request, its args in a. */
static int64_t feed(const char *req, size_t n, size_t piece, const struct cxl_resp_limits *lim,
                    struct cxl_resp_parser *ps, uint8_t *buf)
{
    memcpy(buf, req, n);
    cxl_resp_parser_init(ps, lim);
    if (piece == 0)
        return cxl_resp_parse(ps, buf, n, &a);
    for (size_t len = piece < n ? piece : n;; len = len + piece < n ? len + piece : n) {
        int64_t rc = cxl_resp_parse(ps, buf, len, &a);
        if (rc != 0 || len == n)
            return rc;
    }
}

/* One request, whole and at every piece size: same result; its args joined
 * with '|' must equal want (or the error text, or "" when incomplete). */
static void expect(const char *req, size_t n, const char *want, int64_t want_rc)
{
    static uint8_t buf[1 << 18];
    static char got[1 << 18];
    for (size_t piece = 0; piece <= n && piece <= 9; piece++) {
        struct cxl_resp_parser ps;
        int64_t rc = feed(req, n, piece, NULL, &ps, buf);
        size_t k = 0;
        if (rc > 0)
            for (int i = 0; i < a.argc; i++) {
                k += (size_t)sprintf(got + k, "%s", i ? "|" : "");
                memcpy(got + k, a.argv[i], a.argvlen[i]);
                k += a.argvlen[i];
            }
        else if (rc < 0)
            k = (size_t)sprintf(got, "%s", cxl_resp_parser_error(&ps));
        got[k] = 0;
        int ok = rc == want_rc && strcmp(got, want) == 0;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  request '%.*s' in pieces of %zu: rc %lld '%s', want %lld '%s'\n", (int)(n < 80 ? n : 80),
                    req, piece, (long long)rc, got, (long long)want_rc, want);
        cxl_resp_parser_free(&ps);
    }
}
#define EXPECT(req, want, rc) expect((req), sizeof(req) - 1, (want), (rc))

static void test_multibulk(void)
{
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nk\r1\r\n$0\r\n\r\n", "SET|k\r1|", 28); /* binary-safe */
    EXPECT("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", "PING", 14);   /* the first of two */
    EXPECT("*1\r\n$4\r\nPINGxx", "PING", 14);             /* the 2 bytes after an argument: not checked */
    EXPECT("*1\rX$4\rYPING\r\n", "PING", 14);             /* nor the byte after a CR */
    EXPECT("*1\r\n$4\r\nPIN", "", 0);                     /* incomplete */
    EXPECT("*2\r\n$3\r\nGET\r\n", "", 0);
    /* empty requests: no arguments, Redis answers nothing */
    EXPECT("*0\r\n", "", 4);
    EXPECT("*-1\r\n", "", 5);
    EXPECT("*-10\r\nPING\r\n", "", 6);
}

static void test_errors(void)
{
    EXPECT("*x\r\n", "Protocol error: invalid multibulk length", CXL_EPROTO);
    EXPECT("*01\r\n", "Protocol error: invalid multibulk length", CXL_EPROTO); /* string2ll: no leading 0 */
    EXPECT("*+1\r\n", "Protocol error: invalid multibulk length", CXL_EPROTO);
    EXPECT("*-0\r\n", "Protocol error: invalid multibulk length", CXL_EPROTO);
    EXPECT("*\r\n", "Protocol error: invalid multibulk length", CXL_EPROTO);
    EXPECT("*2147483648\r\n", "Protocol error: invalid multibulk length", CXL_EPROTO);
    EXPECT("*1\r\n$x\r\n", "Protocol error: invalid bulk length", CXL_EPROTO);
    EXPECT("*1\r\n$-1\r\n", "Protocol error: invalid bulk length", CXL_EPROTO);
    EXPECT("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length", CXL_EPROTO); /* > 512 MB */
    EXPECT("*1\r\n$99999999999999999999\r\n", "Protocol error: invalid bulk length", CXL_EPROTO);
    EXPECT("*1\r\n:12\r\n", "Protocol error: expected '$', got ':'", CXL_EPROTO);
    EXPECT("*1\r\n\r\n", "Protocol error: expected '$', got ' '", CXL_EPROTO);
    EXPECT("*2\r\n$1\r\na\r\nxyz\r\n", "Protocol error: expected '$', got 'x'", CXL_EPROTO);
    EXPECT("*1\r\n$", "", 0);  /* the '$' line has not ended: not judged yet */
    EXPECT("*1\r\nx", "", 0);
    EXPECT("SET k \"abc\r\n", "Protocol error: unbalanced quotes in request", CXL_EPROTO);
    /* a NUL before a line's end: the line never ends (Redis searches with
     * strchr), so it waits, then is too big */
    EXPECT("*1\0\r\n$4\r\nPING\r\n", "", 0);
    EXPECT("PI\0NG\r\n", "", 0);
    static char big[(64 << 10) + 64];
    memset(big, 'x', sizeof big);
    expect(big, sizeof big, "Protocol error: too big inline request", CXL_EPROTO);
    big[0] = '*';
    expect(big, sizeof big, "Protocol error: too big mbulk count string", CXL_EPROTO);
    memcpy(big, "*1\r\n$", 6);
    expect(big, sizeof big, "Protocol error: too big bulk count string", CXL_EPROTO);
    memcpy(big, "*1\0\r\n", 5);
    expect(big, sizeof big, "Protocol error: too big mbulk count string", CXL_EPROTO);
    memcpy(big, "PING\r\n", 6); /* a line of 4 bytes before the 64 KiB: fine */
    expect(big, sizeof big, "PING", 6);
}

static void test_inline(void)
{
    EXPECT("  SET  key  value \r\nGET key\n", "SET|key|value", 20);
    EXPECT("GET key\n", "GET|key", 8);
    EXPECT("\r\n", "", 2); /* an empty line: nothing */
    EXPECT("\n", "", 1);
    EXPECT(" \t \r\n", "", 5);
    EXPECT("PING", "", 0);
    /* sdssplitargs: quotes and escapes */
    EXPECT("SET k \"a\\x41b\"\r\n", "SET|k|aAb", 16);
    EXPECT("SET \"q k\" \"v 1\"\n", "SET|q k|v 1", 16);
    EXPECT("ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\z\"\n", "ECHO|\n\r\t\b\a\\\"z", 24);
    EXPECT("ECHO \"\\x4\"\n", "ECHO|x4", 11);           /* \x without two hex digits: x */
    EXPECT("ECHO \"\\xfF\\x41z\"\n", "ECHO|\xff" "Az", 17);
    EXPECT("ECHO 'it\\'s' 'a\\nb'\n", "ECHO|it's|a\\nb", 20); /* single quotes: only \' */
    EXPECT("ECHO a\"b c\"\n", "ECHO|ab c", 12);            /* quotes inside a word */
    EXPECT("ECHO \"\"\n", "ECHO|", 8);                       /* an empty word */
    EXPECT("ECHO \"a\"\tb\n", "ECHO|a|b", 11);              /* closing quote, then a blank */
    EXPECT("ECHO a\vb \vc\n", "ECHO|a\vb|c", 12);            /* \v ends no plain word */
    EXPECT("ECHO \"a\"b\n", "Protocol error: unbalanced quotes in request", CXL_EPROTO);
    EXPECT("ECHO 'a'b\n", "Protocol error: unbalanced quotes in request", CXL_EPROTO);
    EXPECT("ECHO 'a\n", "Protocol error: unbalanced quotes in request", CXL_EPROTO);
    EXPECT("ECHO \"a\\\"\n", "Protocol error: unbalanced quotes in request", CXL_EPROTO);
    EXPECT("ECHO \"a\\\n", "Protocol error: unbalanced quotes in request", CXL_EPROTO);
    /* \x00 puts a NUL inside a word; a raw NUL ends the line */
    struct cxl_resp_spans sp = {0};
    uint8_t line[] = "\"a\\x00b\" c\0d";
    CHECK_EQ(cxl_resp_split_inline(line, sizeof line - 1, 10, &sp), 0);
    CHECK(sp.n == 2 && sp.off[0] == 10 && sp.len[0] == 3 && memcmp(line, "a\0b", 3) == 0);
    CHECK(sp.len[1] == 1 && line[sp.off[1] - 10] == 'c');
    cxl_resp_spans_free(&sp);
}

/* Each byte is looked at once: after every piece, the framing bytes of the
 * elements already parsed (before ps.pos) are scribbled over and the bytes
 * are moved; a parser that started again from the request's first byte
 * would fail on them. */
static void test_incremental(void)
{
    static const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20\r\n01234567890123456789\r\n";
    size_t n = sizeof req - 1;
    static uint8_t buf1[128], buf2[128];
    uint8_t *cur = buf1, *other = buf2;
    struct cxl_resp_parser ps;
    cxl_resp_parser_init(&ps, NULL);
    size_t cuts[] = {2, 6, 11, 16, 24, 30, 45, n};
    size_t done = 0;
    static const char args[] = "SETk01234567890123456789";
    for (unsigned i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        memcpy(cur + done, req + done, cuts[i] - done);
        int64_t rc = cxl_resp_parse(&ps, cur, cuts[i], &a);
        CHECK_EQ(rc, cuts[i] == n ? (int64_t)n : 0);
        done = cuts[i];
        memcpy(other, cur, done);
        for (size_t k = 0; k < ps.pos && k < done; k++)
            if (!strchr(args, other[k]) || (k < 8 && other[k] != 'S'))
                other[k] = '#';
        uint8_t *t = cur;
        cur = other;
        other = t;
    }
    CHECK(cur[0] == '#' && cur[4] == '#' && cur[13] == '#' && cur[15] == '#');
    CHECK(a.argc == 3 && a.argvlen[2] == 20 && memcmp(a.argv[2], "01234567890123456789", 20) == 0);
    CHECK(a.argv[0] == (const char *)other + 8); /* into the buffer of the last call */
    /* a big argument: how many bytes it still needs, known once its length is */
    cxl_resp_parser_next(&ps);
    const char *head = "*2\r\n$3\r\nGET\r\n$1000000\r\nabc";
    CHECK_EQ(cxl_resp_parse(&ps, (uint8_t *)head, strlen(head), &a), 0);
    CHECK_EQ(cxl_resp_parser_missing(&ps, strlen(head)), 1000000 - 3 + 2);
    cxl_resp_parser_free(&ps);
}

static void test_limits(void)
{
    struct cxl_resp_limits lim = {.max_args = 2, .max_bulk = 10, .max_request = 30, .arg_overhead = 4};
    static uint8_t buf[256];
    struct cxl_resp_parser ps;
    const char *three = "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
    CHECK_EQ(feed(three, strlen(three), 0, &lim, &ps, buf), CXL_EPROTO);
    CHECK(strcmp(cxl_resp_parser_error(&ps), "Protocol error: invalid multibulk length") == 0);
    cxl_resp_parser_free(&ps);
    /* a big argument is refused from its length, before its bytes */
    const char *huge = "*1\r\n$11\r\n";
    CHECK_EQ(feed(huge, strlen(huge), 0, &lim, &ps, buf), CXL_EPROTO);
    CHECK(strcmp(cxl_resp_parser_error(&ps), "Protocol error: invalid bulk length") == 0);
    CHECK_EQ(cxl_resp_parse(&ps, buf, strlen(huge), &a), CXL_EPROTO); /* it stays failed */
    cxl_resp_parser_next(&ps);
    CHECK_EQ(cxl_resp_parse(&ps, buf, strlen(huge), &a), CXL_EPROTO);
    cxl_resp_parser_free(&ps);
    const char *total = "*2\r\n$10\r\n0123456789\r\n$10\r\n"; /* (10 + 4) x 2 = 28 */
    CHECK_EQ(feed(total, strlen(total), 0, &lim, &ps, buf), 0);
    cxl_resp_parser_free(&ps);
    lim.max_request = 27;
    CHECK_EQ(feed(total, strlen(total), 0, &lim, &ps, buf), CXL_EPROTO);
    CHECK(strstr(cxl_resp_parser_error(&ps), "request larger than 27 bytes") != NULL);
    cxl_resp_parser_free(&ps);
    /* many arguments grow the tables */
    static char big[64 * 1024];
    int n = sprintf(big, "*1000\r\n");
    for (int i = 0; i < 1000; i++)
        n += sprintf(big + n, "$1\r\n%c\r\n", 'a' + i % 26);
    static uint8_t copy[sizeof big];
    CHECK_EQ(feed(big, (size_t)n, 0, NULL, &ps, copy), n);
    CHECK_EQ(a.argc, 1000);
    cxl_resp_parser_free(&ps);
}

static void test_replies(void)
{
    const char *r = "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+OK\r\nextra";
    CHECK_EQ(cxl_resp_reply_size((const uint8_t *)r, strlen(r)), (int64_t)strlen(r) - 5);
    CHECK_EQ(cxl_resp_reply_size((const uint8_t *)r, 10), 0);
    char out[256] = {0};
    FILE *f = fmemopen(out, sizeof out, "w");
    CHECK(cxl_resp_print(f, (const uint8_t *)r, strlen(r), 0) > 0);
    fclose(f);
    CHECK(strcmp(out, "1) \"a\"\n2) 1) (integer) 1\n   2) (nil)\n3) OK\n") == 0);
    char deep[CXL_RESP_MAX_DEPTH * 4 + 16];
    int n = 0;
    for (int i = 0; i < CXL_RESP_MAX_DEPTH + 1; i++)
        n += sprintf(deep + n, "*1\r\n");
    n += sprintf(deep + n, ":1\r\n");
    CHECK_FAILS((int)cxl_resp_reply_size((const uint8_t *)deep, (size_t)n), CXL_EPROTO, "too deep");
}

int main(void)
{
    test_multibulk();
    test_errors();
    test_inline();
    test_incremental();
    test_limits();
    test_replies();
    cxl_resp_args_free(&a);
    return check_summary("test_resp");
}
