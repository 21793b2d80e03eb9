/* addr.c - socket addresses, listening, accepting and connecting for every
 * tool (base/addr.h): the gateway's listeners, the RESP client's
 * connections, both ends of cxl_sodium_tunnel, cxl_sec_mgr's listener and
 * the keyring's connection to it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cxl/error.h"
#include "base/addr.h"
#include "cxl/util.h"

/* ---- parsing ------------------------------------------------------------------------- */

int cxl_net_addr_unix(const char *path, struct cxl_net_addr *a)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&a->sa[0];
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof su->sun_path)
        return CXL_EINVAL;
    snprintf(a->text, sizeof a->text, "unix:%s", path);
    su->sun_family = AF_UNIX;
    strcpy(su->sun_path, path);
    a->len[0] = sizeof *su;
    a->n = 1;
    a->is_unix = 1;
    return 0;
}

static int parse_unix(const char *flag, const char *path, struct cxl_net_addr *a)
{
    if (!*path)
        return cxl_fail(CXL_EINVAL, "%s: unix: needs a path", flag);
    if (cxl_net_addr_unix(path, a) != 0)
        return cxl_fail(CXL_EINVAL, "%s: unix socket path too long (%zu bytes, at most %zu)", flag,
                        strlen(path), sizeof ((struct sockaddr_un *)0)->sun_path - 1);
    return 0;
}

/* Every address host:port resolves to (up to CXL_NET_ADDR_MAX), in order.
 * tcp_only: a failure is said as cxl_sec_mgr always said it. */
static int resolve(const char *flag, const char *host, uint16_t port, int tcp_only, struct cxl_net_addr *a)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0 && tcp_only)
        return cxl_fail(CXL_EINVAL, "%s %s: %s", flag, a->text, gai_strerror(gai));
    if (gai != 0)
        return cxl_fail(CXL_EINVAL, "%s: cannot resolve '%s': %s", flag, host, gai_strerror(gai));
    for (const struct addrinfo *ai = res; ai && a->n < CXL_NET_ADDR_MAX; ai = ai->ai_next, a->n++) {
        memcpy(&a->sa[a->n], ai->ai_addr, ai->ai_addrlen);
        a->len[a->n] = ai->ai_addrlen;
    }
    freeaddrinfo(res);
    return 0;
}

static int parse_inet(const char *flag, const char *text, int tcp_only, struct cxl_net_addr *a)
{
    char host[256];
    uint16_t p;
    int rc = cxl_parse_hostport(flag, text, host, sizeof host, &p);
    if (rc)
        return rc;
    size_t n = strlen(host); /* [v6] */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (!*host)
        return cxl_fail(CXL_EINVAL, "%s: '%s' has no host", flag, text);
    return resolve(flag, host, p, tcp_only, a);
}

/* Cleared, the text kept for messages. */
static int addr_init(const char *flag, const char *text, struct cxl_net_addr *a)
{
    memset(a, 0, sizeof *a);
    if (text && strlen(text) >= sizeof a->text)
        return cxl_fail(CXL_EINVAL, "%s: address too long", flag);
    snprintf(a->text, sizeof a->text, "%s", text ? text : "");
    return 0;
}

int cxl_net_addr_parse(const char *flag, const char *text, struct cxl_net_addr *a)
{
    if (!text || !*text) {
        memset(a, 0, sizeof *a);
        return cxl_fail(CXL_EINVAL, "%s: needs HOST:PORT or unix:/path", flag);
    }
    int rc = addr_init(flag, text, a);
    if (rc)
        return rc;
    return strncmp(text, "unix:", 5) == 0 ? parse_unix(flag, text + 5, a) : parse_inet(flag, text, 0, a);
}

int cxl_net_addr_parse_tcp(const char *flag, const char *text, struct cxl_net_addr *a)
{
    int rc = addr_init(flag, text, a);
    return rc ? rc : parse_inet(flag, text, 1, a);
}

/* ---- listening and accepting ------------------------------------------------------------ */

int cxl_net_unix_claim(const struct cxl_net_addr *a)
{
    const char *path = ((const struct sockaddr_un *)&a->sa[0])->sun_path;
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : CXL_ESYS;
    if (!S_ISSOCK(st.st_mode))
        return CXL_EINVAL;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return CXL_ESYS;
    int live = connect(probe, (const struct sockaddr *)&a->sa[0], a->len[0]) == 0;
    close(probe);
    if (live)
        return CXL_EBUSY;
    return unlink(path) == 0 ? 0 : CXL_ESYS;
}

/* The listener's words for a path cxl_net_unix_claim did not free. */
static int unix_path_free(const struct cxl_net_addr *a)
{
    const char *path = ((const struct sockaddr_un *)&a->sa[0])->sun_path;
    switch (cxl_net_unix_claim(a)) {
    case 0: return 0;
    case CXL_EINVAL: return cxl_fail(CXL_EINVAL, "%s exists and is not a socket: not replacing it", path);
    case CXL_EBUSY: return cxl_fail(CXL_EINVAL, "%s: another process is listening there", a->text);
    default: return cxl_fail_errno(CXL_ESYS, "%s", a->text);
    }
}

static int listen_one(const struct cxl_net_addr *a, unsigned i, int backlog)
{
    int fd = socket(a->sa[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "%s: socket", a->text);
    if (!a->is_unix)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&a->sa[i], a->len[i]) != 0 || listen(fd, backlog) != 0) {
        int rc = cxl_fail_errno(CXL_ESYS, "cannot listen on %s", a->text), e = errno;
        close(fd);
        errno = e;
        return rc;
    }
    return fd;
}

int cxl_net_listen(const struct cxl_net_addr *a, int backlog)
{
    if (a->is_unix && unix_path_free(a) != 0)
        return CXL_EINVAL;
    if (a->n == 0)
        return cxl_fail(CXL_EINVAL, "%s: no address", a->text);
    int fd = -1;
    for (unsigned i = 0; i < a->n && fd < 0; i++)
        fd = listen_one(a, i, backlog);
    return fd;
}

int cxl_net_accept(int listen_fd, struct sockaddr_storage *ss)
{
    for (;;) {
        socklen_t len = sizeof *ss;
        int fd = accept4(listen_fd, (struct sockaddr *)ss, ss ? &len : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 || (errno != EINTR && errno != ECONNABORTED))
            return fd;
    }
}

int cxl_net_out_of_fds(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* ---- connecting ----------------------------------------------------------------------------- */

enum { DIAL_SOCKET = -2, DIAL_CONNECT = -1 };

/* Address i: a socket connected or, non-blocking, connecting (*pending);
 * DIAL_SOCKET or DIAL_CONNECT with errno. */
static int dial(const struct cxl_net_addr *a, unsigned i, int nonblock, int *pending)
{
    int fd = socket(a->sa[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return DIAL_SOCKET;
    *pending = 0;
    if (connect(fd, (const struct sockaddr *)&a->sa[i], a->len[i]) == 0)
        return fd;
    if (nonblock && errno == EINPROGRESS) {
        *pending = 1;
        return fd;
    }
    int e = errno;
    close(fd);
    errno = e;
    return DIAL_CONNECT;
}

static int dial_failed(const struct cxl_net_addr *a, int how)
{
    return how == DIAL_SOCKET ? cxl_fail_errno(CXL_ESYS, "%s: socket", a->text)
                              : cxl_fail_errno(CXL_ESYS, "cannot connect to %s", a->text);
}

int cxl_net_connect(const struct cxl_net_addr *a, int nonblock, int *pending)
{
    int fd = DIAL_CONNECT, in_progress = 0;
    errno = EADDRNOTAVAIL;
    for (unsigned i = 0; i < a->n && fd < 0; i++)
        fd = dial(a, i, nonblock && pending, &in_progress);
    if (fd < 0)
        return dial_failed(a, fd);
    if (pending)
        *pending = in_progress;
    cxl_net_nodelay(fd);
    return fd;
}

/* A connect in progress on fd: 0 once done, or an errno value (ETIMEDOUT). */
static int finish_within(int fd, uint32_t timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n;
    while ((n = poll(&p, 1, (int)timeout_ms)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        return ETIMEDOUT;
    return n < 0 ? errno : cxl_net_connect_result(fd);
}

int cxl_net_connect_within(const struct cxl_net_addr *a, uint32_t timeout_ms)
{
    int fd = DIAL_CONNECT, pending, err;
    errno = EADDRNOTAVAIL;
    for (unsigned i = 0; i < a->n && fd < 0; i++) {
        fd = dial(a, i, 1, &pending);
        if (fd >= 0 && pending && (err = finish_within(fd, timeout_ms)) != 0) {
            close(fd);
            fd = DIAL_CONNECT;
            errno = err;
        }
    }
    if (fd < 0 && errno == ETIMEDOUT)
        return cxl_fail(CXL_ETIMEDOUT, "cannot connect to %s: no answer in %u ms", a->text, timeout_ms);
    if (fd < 0)
        return dial_failed(a, fd);
    cxl_net_nodelay(fd);
    return fd;
}

int cxl_net_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    return err;
}

void cxl_net_nodelay(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int one = 1;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- names ------------------------------------------------------------------------------------ */

void cxl_net_sockaddr_name(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        snprintf(buf, cap, "%s:%u", host, ntohs(s4->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(buf, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else {
        snprintf(buf, cap, "unix");
    }
}

void cxl_net_peer_name(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        snprintf(buf, cap, "?");
    else
        cxl_net_sockaddr_name(&ss, buf, cap);
}
