/* resp_conn.c - blocking RESP2 client over TCP or Unix sockets. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cxl/error.h"
#include "cxl/resp.h"
#include "cxl/resp_conn.h"
#include "cxl/util.h"

struct cxl_conn {
    int fd;
    uint32_t timeout_ms;
    uint8_t *out;
    size_t out_len, out_cap;
    uint8_t *in;
    size_t in_start, in_end, in_cap;
};

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return cxl_fail(CXL_EINVAL, "unix socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int rc = cxl_fail_errno(CXL_ESYS, "cannot connect to unix:%s", path);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd;
}

static int connect_tcp(const char *addr)
{
    char host[256], port[8];
    uint16_t p;
    if (cxl_parse_hostport("address", addr, host, sizeof host, &p) != 0)
        return CXL_EINVAL;
    snprintf(port, sizeof port, "%u", p);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return cxl_fail(CXL_ESYS, "cannot resolve %s: %s", host, gai_strerror(gai));
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return cxl_fail_errno(CXL_ESYS, "cannot connect to %s", addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int cxl_conn_open(const char *addr, uint32_t timeout_ms, struct cxl_conn **out)
{
    int fd = strncmp(addr, "unix:", 5) == 0 ? connect_unix(addr + 5) : connect_tcp(addr);
    if (fd < 0)
        return fd;
    struct cxl_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    c->fd = fd;
    c->timeout_ms = timeout_ms ? timeout_ms : 5000;
    *out = c;
    return 0;
}

void cxl_conn_close(struct cxl_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->out);
    free(c->in);
    free(c);
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    uint8_t *b = realloc(*buf, n);
    if (!b)
        return cxl_fail(CXL_ESYS, "out of memory");
    *buf = b;
    *cap = n;
    return 0;
}

static int append(struct cxl_conn *c, const void *p, size_t n)
{
    int rc = reserve(&c->out, &c->out_cap, c->out_len + n);
    if (rc == 0) {
        memcpy(c->out + c->out_len, p, n);
        c->out_len += n;
    }
    return rc;
}

int cxl_conn_send(struct cxl_conn *c, int argc, const char *const *argv, const size_t *argvlen)
{
    char head[32];
    int n = snprintf(head, sizeof head, "*%d\r\n", argc);
    int rc = append(c, head, (size_t)n);
    for (int i = 0; rc == 0 && i < argc; i++) {
        n = snprintf(head, sizeof head, "$%zu\r\n", argvlen[i]);
        rc = append(c, head, (size_t)n);
        if (rc == 0)
            rc = append(c, argv[i], argvlen[i]);
        if (rc == 0)
            rc = append(c, "\r\n", 2);
    }
    return rc;
}

int cxl_conn_flush(struct cxl_conn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cxl_fail_errno(CXL_ESYS, "send failed");
        off += (size_t)n;
    }
    c->out_len = 0;
    return 0;
}

int cxl_conn_read(struct cxl_conn *c, const uint8_t **reply, size_t *len)
{
    int rc = cxl_conn_flush(c);
    if (rc)
        return rc;
    for (;;) {
        int64_t size = cxl_resp_reply_size(c->in + c->in_start, c->in_end - c->in_start);
        if (size < 0)
            return (int)size;
        if (size > 0) {
            *reply = c->in + c->in_start;
            *len = (size_t)size;
            c->in_start += (size_t)size;
            return 0;
        }
        if (c->in_start > 0) { /* compact */
            memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
            c->in_end -= c->in_start;
            c->in_start = 0;
        }
        if ((rc = reserve(&c->in, &c->in_cap, c->in_end + 65536)) != 0)
            return rc;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)c->timeout_ms);
        if (pr == 0)
            return cxl_fail(CXL_ETIMEDOUT, "no reply within %u ms", c->timeout_ms);
        ssize_t n = recv(c->fd, c->in + c->in_end, c->in_cap - c->in_end, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return cxl_fail(CXL_ESYS, "connection closed by the server");
        if (n < 0)
            return cxl_fail_errno(CXL_ESYS, "recv failed");
        c->in_end += (size_t)n;
    }
}

int cxl_conn_call(struct cxl_conn *c, int argc, const char *const *argv, const uint8_t **reply,
                  size_t *len)
{
    size_t lens[64];
    if (argc > 64)
        return cxl_fail(CXL_EINVAL, "cxl_conn_call takes at most 64 arguments");
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    int rc = cxl_conn_send(c, argc, argv, lens);
    return rc ? rc : cxl_conn_read(c, reply, len);
}
