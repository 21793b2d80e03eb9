/* test_resp.c - RESP: requests as a server reads them (multibulk, inline,
 * every split point of a pipeline, limits, malformed input) and replies
 * (size, nesting, redis-cli formatting). */
#define _GNU_SOURCE
#include "check.h"
#include "cxl/resp.h"

static struct cxl_resp_args a;

static void test_multibulk_splits(void)
{
    static const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\r1\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n";
    size_t n = sizeof req - 1;
    /* every prefix of the first command is incomplete, never an error */
    for (size_t cut = 0; cut < 28; cut++)
        CHECK_EQ(cxl_resp_parse_request((const uint8_t *)req, cut, NULL, &a), 0);
    int64_t used = cxl_resp_parse_request((const uint8_t *)req, n, NULL, &a);
    CHECK_EQ(used, 28);
    CHECK_EQ(a.argc, 3);
    CHECK(a.argvlen[1] == 3 && memcmp(a.argv[1], "k\r1", 3) == 0); /* binary-safe */
    CHECK_EQ(a.argvlen[2], 0);
    CHECK_EQ(cxl_resp_parse_request((const uint8_t *)req + used, n - (size_t)used, NULL, &a), 14);
    CHECK(a.argc == 1 && memcmp(a.argv[0], "PING", 4) == 0);
}

static void test_inline(void)
{
    const char *req = "  SET  key  value \r\nGET key\n\r\n";
    int64_t used = cxl_resp_parse_request((const uint8_t *)req, strlen(req), NULL, &a);
    CHECK_EQ(used, 20);
    CHECK_EQ(a.argc, 3);
    CHECK(a.argvlen[2] == 5 && memcmp(a.argv[2], "value", 5) == 0);
    req += used;
    used = cxl_resp_parse_request((const uint8_t *)req, strlen(req), NULL, &a);
    CHECK_EQ(used, 8);
    CHECK_EQ(a.argc, 2);
    req += used;
    CHECK_EQ(cxl_resp_parse_request((const uint8_t *)req, strlen(req), NULL, &a), 2);
    CHECK_EQ(a.argc, 0); /* an empty line */
    CHECK_EQ(cxl_resp_parse_request((const uint8_t *)"PING", 4, NULL, &a), 0);
}

static void test_limits_and_junk(void)
{
    struct cxl_resp_limits lim = {.max_args = 2, .max_bulk = 10, .max_inline = 16};
    const char *three = "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
    CHECK_FAILS((int)cxl_resp_parse_request((const uint8_t *)three, strlen(three), &lim, &a), CXL_E2BIG,
                "3 arguments");
    /* a huge bulk is refused before its bytes arrive */
    const char *huge = "*1\r\n$99999\r\n";
    CHECK_FAILS((int)cxl_resp_parse_request((const uint8_t *)huge, strlen(huge), &lim, &a), CXL_E2BIG,
                "99999 bytes");
    char longline[64];
    memset(longline, 'x', sizeof longline);
    CHECK_FAILS((int)cxl_resp_parse_request((const uint8_t *)longline, sizeof longline, &lim, &a), CXL_E2BIG,
                "inline command longer");
    static const char *junk[] = {"*abc\r\n", "*1\r\n$-5\r\n", "*1\r\n:12\r\n", "*1\r\n$3\r\nabcXY",
                                 "*-7\r\n", "*1\r\n$3\nabc\r\n"};
    for (unsigned i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int64_t rc = cxl_resp_parse_request((const uint8_t *)junk[i], strlen(junk[i]), NULL, &a);
        CHECK(rc < 0);
        CHECK(cxl_last_error()[0] != '\0');
    }
    /* many arguments grow the arrays */
    char big[64 * 1024];
    int n = sprintf(big, "*1000\r\n");
    for (int i = 0; i < 1000; i++)
        n += sprintf(big + n, "$1\r\n%c\r\n", 'a' + i % 26);
    CHECK_EQ(cxl_resp_parse_request((const uint8_t *)big, (size_t)n, NULL, &a), n);
    CHECK_EQ(a.argc, 1000);
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
    test_multibulk_splits();
    test_inline();
    test_limits_and_junk();
    test_replies();
    cxl_resp_args_free(&a);
    return check_summary("test_resp");
}
