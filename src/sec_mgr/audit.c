/* audit.c - the audit log of cxl_sec_mgr: append-only, mode 0600, one line
 * per grant, refusal, rotation and revocation, "<UTC time> <event>"
 * (docs/SECURITY.md), each line one write(2) so it is in the file as a
 * whole when the call returns. Never a key: events name nodes, regions and
 * epochs. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cxl/error.h"
#include "sec_mgr.h"

int audit_open(struct mgr_audit *a, const char *path)
{
    const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
    a->fd = open(path, flags | O_CREAT | O_EXCL, 0600);
    if (a->fd >= 0) { /* new: 0600 whatever the umask */
        if (fchmod(a->fd, 0600) == 0)
            return 0;
        int rc = cxl_fail_errno(CXL_ESYS, "audit log %s", path);
        audit_close(a);
        return rc;
    }
    if (errno != EEXIST)
        return cxl_fail_errno(CXL_ESYS, "audit log %s", path);
    if (cxl_private_file_check(path) != 0)
        return cxl_fail(CXL_EDENIED, "audit log: %s", cxl_last_error());
    if ((a->fd = open(path, flags)) < 0)
        return cxl_fail_errno(CXL_ESYS, "audit log %s", path);
    return 0;
}

void audit_log(struct mgr_audit *a, int also_stderr, const char *fmt, ...)
{
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + ((size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2);
    line[n++] = '\n';
    if (a->fd >= 0) {
        ssize_t w;
        while ((w = write(a->fd, line, n)) < 0 && errno == EINTR)
            ;
        if (w != (ssize_t)n)
            fprintf(stderr, "cxl_sec_mgr: cannot write the audit log: %s\n",
                    w < 0 ? strerror(errno) : "short write");
    }
    if (also_stderr)
        fprintf(stderr, "cxl_sec_mgr: %.*s", (int)n, line);
}

void audit_close(struct mgr_audit *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
}
