/* check.h - the test harness: CHECK macros that report file:line and the
 * values involved, and a summary line. Tests are plain executables: exit 0
 * when every check passed. */
#ifndef CXL_TEST_CHECK_H
#define CXL_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxl/error.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                              \
    do {                                                                         \
        check_count++;                                                           \
        if (!(cond)) {                                                           \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        long long va_ = (long long)(a), vb_ = (long long)(b);                    \
        check_count++;                                                           \
        if (va_ != vb_) {                                                        \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld (%s)\n", \
                    __FILE__, __LINE__, #a, va_, #b, vb_, cxl_last_error());     \
        }                                                                        \
    } while (0)

/* The call fails with status and its message contains text. */
#define CHECK_FAILS(call, status, text)                                          \
    do {                                                                         \
        int rc_ = (call);                                                        \
        check_count++;                                                           \
        if (rc_ != (status) || !strstr(cxl_last_error(), (text))) {              \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: %s returned %s, message '%s'; expected %s with '%s'\n", \
                    __FILE__, __LINE__, #call, cxl_strerror(rc_), cxl_last_error(), \
                    cxl_strerror(status), (text));                               \
        }                                                                        \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
