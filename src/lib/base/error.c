/* error.c - status names and the per-thread error message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cxl/error.h"

static _Thread_local char last_error[512];

const char *cxl_strerror(int status)
{
    switch (status) {
    case CXL_OK: return "CXL_OK";
    case CXL_EINVAL: return "CXL_EINVAL";
    case CXL_ESYS: return "CXL_ESYS";
    case CXL_ETOOSMALL: return "CXL_ETOOSMALL";
    case CXL_EFORMAT: return "CXL_EFORMAT";
    case CXL_EGEOMETRY: return "CXL_EGEOMETRY";
    case CXL_ECORRUPT: return "CXL_ECORRUPT";
    case CXL_EAGAIN: return "CXL_EAGAIN";
    case CXL_EBUSY: return "CXL_EBUSY";
    case CXL_ELOST: return "CXL_ELOST";
    case CXL_ETIMEDOUT: return "CXL_ETIMEDOUT";
    case CXL_E2BIG: return "CXL_E2BIG";
    case CXL_EPROTO: return "CXL_EPROTO";
    case CXL_ECRYPTO: return "CXL_ECRYPTO";
    case CXL_EDENIED: return "CXL_EDENIED";
    case CXL_ESERVER: return "CXL_ESERVER";
    case CXL_EUNKNOWN: return "CXL_EUNKNOWN";
    default: return "CXL_E?";
    }
}

const char *cxl_last_error(void)
{
    return last_error;
}

int cxl_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

int cxl_fail_errno(int status, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_error)
        snprintf(last_error + n, sizeof last_error - (size_t)n, ": %s", strerror(saved));
    errno = saved;
    return status;
}
