/* util.c - validated parsing of flag values, hashing, randomness, host id. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cxl/error.h"
#include "cxl/util.h"

static int parse_unsigned(const char *flag, const char *text, uint64_t *out, char **end)
{
    if (!text || !*text)
        return cxl_fail(CXL_EINVAL, "%s: missing value", flag);
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '-' || *p == '+')
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not an unsigned number", flag, text);
    errno = 0;
    int base = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10; /* no octal */
    unsigned long long v = strtoull(p, end, base);
    if (*end == p)
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not a number", flag, text);
    if (errno == ERANGE)
        return cxl_fail(CXL_EINVAL, "%s: '%s' is too large", flag, text);
    *out = v;
    return 0;
}

int cxl_parse_size(const char *flag, const char *text, uint64_t *out)
{
    static const struct { const char *suffix; unsigned shift; } units[] = {
        {"", 0},   {"b", 0},   {"k", 10},  {"kb", 10}, {"kib", 10}, {"m", 20},
        {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},
        {"tb", 40}, {"tib", 40},
    };
    uint64_t v;
    char *end;
    int rc = parse_unsigned(flag, text, &v, &end);
    if (rc)
        return rc;
    char unit[8];
    size_t n = strlen(end);
    if (n >= sizeof unit)
        return cxl_fail(CXL_EINVAL, "%s: unknown size unit in '%s' (use K, M, G, T)", flag, text);
    for (size_t i = 0; i <= n; i++)
        unit[i] = (char)tolower((unsigned char)end[i]);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].suffix) != 0)
            continue;
        if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
            return cxl_fail(CXL_EINVAL, "%s: '%s' is too large", flag, text);
        *out = v << units[i].shift;
        return 0;
    }
    return cxl_fail(CXL_EINVAL, "%s: unknown size unit in '%s' (use K, M, G, T)", flag, text);
}

int cxl_parse_u64(const char *flag, const char *text, uint64_t min, uint64_t max,
                  uint64_t *out)
{
    uint64_t v;
    char *end;
    int rc = parse_unsigned(flag, text, &v, &end);
    if (rc)
        return rc;
    if (*end)
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not a whole number", flag, text);
    if (v < min || v > max)
        return cxl_fail(CXL_EINVAL, "%s: %s is out of range [%llu, %llu]", flag, text,
                        (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

int cxl_parse_u32(const char *flag, const char *text, uint32_t min, uint32_t max,
                  uint32_t *out)
{
    uint64_t v;
    int rc = cxl_parse_u64(flag, text, min, max, &v);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

int cxl_parse_hostport(const char *flag, const char *text, char *host, size_t hostlen,
                       uint16_t *port)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    if (!colon || colon == text)
        return cxl_fail(CXL_EINVAL, "%s: '%s' is not HOST:PORT", flag, text ? text : "");
    size_t n = (size_t)(colon - text);
    if (n >= hostlen)
        return cxl_fail(CXL_EINVAL, "%s: host part of '%s' is too long", flag, text);
    uint32_t p;
    int rc = cxl_parse_u32(flag, colon + 1, 1, 65535, &p);
    if (rc)
        return rc;
    memcpy(host, text, n);
    host[n] = '\0';
    *port = (uint16_t)p;
    return 0;
}

uint64_t cxl_fnv1a64(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int cxl_random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cxl_fail_errno(CXL_ESYS, "getrandom");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

uint64_t cxl_host_id(void)
{
    static uint64_t cached;
    if (cached)
        return cached;
    char buf[64] = {0};
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    uint64_t h = cxl_fnv1a64(buf, strlen(buf));
    cached = h ? h : 1;
    return cached;
}
