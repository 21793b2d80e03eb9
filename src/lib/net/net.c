/* net.c - socket addresses, listening and connecting for every tool
 * (net/net.h): the gateway's listeners, the RESP client's connections, both
 * ends of cxl_sodium_tunnel. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cxl/error.h"
#include "net/net.h"
#include "cxl/util.h"

static int parse_unix(const char *flag, const char *path, struct cxl_net_addr *a)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&a->sa;
    if (!*path)
        return cxl_fail(CXL_EINVAL, "%s: unix: needs a path", flag);
    if (strlen(path) >= sizeof su->sun_path)
        return cxl_fail(CXL_EINVAL, "%s: unix socket path too long (%zu bytes, at most %zu)", flag,
                        strlen(path), sizeof su->sun_path - 1);
    su->sun_family = AF_UNIX;
    strcpy(su->sun_path, path);
    a->len = sizeof *su;
    a->is_unix = 1;
    return 0;
}

static int parse_inet(const char *flag, const char *text, struct cxl_net_addr *a)
{
    char host[256], port[8];
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
    snprintf(port, sizeof port, "%u", p);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return cxl_fail(CXL_EINVAL, "%s: cannot resolve '%s': %s", flag, host, gai_strerror(gai));
    memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int cxl_net_addr_parse(const char *flag, const char *text, struct cxl_net_addr *a)
{
    memset(a, 0, sizeof *a);
    if (!text || !*text)
        return cxl_fail(CXL_EINVAL, "%s: needs HOST:PORT or unix:/path", flag);
    if (strlen(text) >= sizeof a->text)
        return cxl_fail(CXL_EINVAL, "%s: address too long", flag);
    snprintf(a->text, sizeof a->text, "%s", text);
    return strncmp(text, "unix:", 5) == 0 ? parse_unix(flag, text + 5, a) : parse_inet(flag, text, a);
}

/* A Unix socket file nobody listens on is stale and may go; a live one, or a
 * file of another kind, stays. */
static int unix_path_free(const struct cxl_net_addr *a)
{
    const char *path = ((const struct sockaddr_un *)&a->sa)->sun_path;
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : cxl_fail_errno(CXL_ESYS, "%s", a->text);
    if (!S_ISSOCK(st.st_mode))
        return cxl_fail(CXL_EINVAL, "%s exists and is not a socket: not replacing it", path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int live = probe >= 0 && connect(probe, (const struct sockaddr *)&a->sa, a->len) == 0;
    if (probe >= 0)
        close(probe);
    if (live)
        return cxl_fail(CXL_EINVAL, "%s: another process is listening there", a->text);
    unlink(path);
    return 0;
}

int cxl_net_listen(const struct cxl_net_addr *a, int backlog)
{
    if (a->is_unix && unix_path_free(a) != 0)
        return CXL_EINVAL;
    int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "%s: socket", a->text);
    if (!a->is_unix)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&a->sa, a->len) != 0 || listen(fd, backlog) != 0) {
        int rc = cxl_fail_errno(CXL_ESYS, "cannot listen on %s", a->text);
        close(fd);
        return rc;
    }
    return fd;
}

int cxl_net_connect(const struct cxl_net_addr *a, int nonblock, int *pending)
{
    int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "%s: socket", a->text);
    if (pending)
        *pending = 0;
    if (connect(fd, (const struct sockaddr *)&a->sa, a->len) != 0) {
        if (nonblock && errno == EINPROGRESS && pending) {
            *pending = 1;
        } else {
            int rc = cxl_fail_errno(CXL_ESYS, "cannot connect to %s", a->text);
            close(fd);
            return rc;
        }
    }
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

void cxl_net_peer_name(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(buf, cap, "?");
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        snprintf(buf, cap, "%s:%u", host, ntohs(s4->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(buf, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else {
        snprintf(buf, cap, "unix");
    }
}
