/* resp_conn.c - RESP2 client over TCP, Unix sockets or TLS (OpenSSL): send
 * commands (pipelined), read replies blocking or as they come. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cxl/error.h"
#include "base/buf.h"
#include "base/addr.h"
#include "net/resp.h"
#include "net/resp_conn.h"
#include "cxl/util.h"

#define READ_CHUNK 65536 /* room for each read */

struct cxl_conn {
    int fd;
    SSL_CTX *tls_ctx; /* tls: addresses only */
    SSL *tls;
    uint32_t timeout_ms;
    struct cxl_buf out, in; /* growable (base/buf.h) */
};

static int connect_to(const char *addr)
{
    struct cxl_net_addr a;
    int rc = cxl_net_addr_parse("address", addr, &a);
    return rc ? rc : cxl_net_connect(&a, 0, NULL);
}

static int tls_fail(const char *what)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    return cxl_fail(CXL_ESYS, "TLS: %s: %s", what, buf);
}

/* TLS over an open TCP socket: the peer's chain is verified against ca if
 * given, else the system's CAs (the host name is not). */
/* SO_RCVTIMEO and SO_SNDTIMEO of a blocking socket; 0: none. */
static void set_io_timeout(int fd, uint32_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int start_tls(struct cxl_conn *c, const char *ca, const char *hint)
{
    if (!(c->tls_ctx = SSL_CTX_new(TLS_client_method())))
        return tls_fail("context");
    SSL_CTX_set_verify(c->tls_ctx, SSL_VERIFY_PEER, NULL);
    if (ca && *ca ? SSL_CTX_load_verify_locations(c->tls_ctx, ca, NULL) != 1
                  : SSL_CTX_set_default_verify_paths(c->tls_ctx) != 1)
        return tls_fail(ca && *ca ? ca : "system CA paths");
    if (!(c->tls = SSL_new(c->tls_ctx)) || SSL_set_fd(c->tls, c->fd) != 1)
        return tls_fail("session");
    /* the handshake blocks: bounded by the read timeout (a server that
     * never answers, a plain Redis port, would hold it forever) */
    set_io_timeout(c->fd, c->timeout_ms);
    errno = 0;
    int ret = SSL_connect(c->tls), timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
    set_io_timeout(c->fd, 0);
    if (ret != 1 && timed_out) /* OpenSSL says WANT_READ/WRITE: the timeout hit */
        return cxl_fail(CXL_ETIMEDOUT, "TLS: handshake: no answer within %u ms (is it a TLS port?)",
                        c->timeout_ms);
    if (ret != 1) {
        char what[160];
        snprintf(what, sizeof what, "handshake (is the server's certificate trusted? %s)",
                 hint ? hint : "name its CA");
        return tls_fail(what);
    }
    return 0;
}

int cxl_conn_open(const char *addr, const struct cxl_conn_opts *o, struct cxl_conn **out)
{
    int tls = strncmp(addr, "tls:", 4) == 0;
    int fd = connect_to(addr + (tls ? 4 : 0));
    if (fd < 0)
        return fd;
    struct cxl_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    c->fd = fd;
    c->out = c->in = cxl_buf_growable(CXL_BUF_GROWS);
    c->timeout_ms = o && o->timeout_ms ? o->timeout_ms : 5000;
    int rc = tls ? start_tls(c, o ? o->tls_ca_file : NULL, o ? o->tls_ca_hint : NULL) : 0;
    if (rc) {
        cxl_conn_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

static ssize_t conn_send(struct cxl_conn *c, const void *p, size_t n)
{
    if (!c->tls)
        return send(c->fd, p, n, MSG_NOSIGNAL);
    int w = SSL_write(c->tls, p, (int)(n > INT32_MAX ? INT32_MAX : n));
    return w > 0 ? w : -1;
}

/* dontwait: return -1 with errno EAGAIN instead of blocking */
static ssize_t conn_recv(struct cxl_conn *c, void *p, size_t n, int dontwait)
{
    if (!c->tls)
        return recv(c->fd, p, n, dontwait ? MSG_DONTWAIT : 0);
    if (dontwait && SSL_pending(c->tls) == 0) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) == 0) {
            errno = EAGAIN;
            return -1;
        }
    }
    int r = SSL_read(c->tls, p, (int)(n > INT32_MAX ? INT32_MAX : n));
    if (r > 0)
        return r;
    int e = SSL_get_error(c->tls, r);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = e == SSL_ERROR_WANT_READ ? EAGAIN : EIO;
    return -1;
}

void cxl_conn_close(struct cxl_conn *c)
{
    if (!c)
        return;
    if (c->tls) {
        SSL_shutdown(c->tls);
        SSL_free(c->tls);
    }
    if (c->tls_ctx)
        SSL_CTX_free(c->tls_ctx);
    close(c->fd);
    cxl_buf_free(&c->out);
    cxl_buf_free(&c->in);
    free(c);
}

static int append(struct cxl_conn *c, const void *p, size_t n)
{
    return cxl_buf_append(&c->out, p, n) ? cxl_fail(CXL_ESYS, "out of memory") : 0;
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
    while (cxl_buf_len(&c->out)) {
        ssize_t n = conn_send(c, c->out.data + c->out.start, cxl_buf_len(&c->out));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cxl_fail_errno(CXL_ESYS, "send failed");
        c->out.start += (size_t)n;
    }
    return 0;
}

/* A complete reply at the front of the input: 1 (taken), 0 none, < 0 bad. */
static int take_reply(struct cxl_conn *c, const uint8_t **reply, size_t *len)
{
    int64_t size = cxl_resp_reply_size(c->in.data + c->in.start, cxl_buf_len(&c->in));
    if (size <= 0)
        return (int)size;
    *reply = c->in.data + c->in.start;
    *len = (size_t)size;
    c->in.start += (size_t)size;
    return 1;
}

/* Read more input: > 0 bytes, 0 nothing now (dontwait), < 0 error. */
static int fill(struct cxl_conn *c, int dontwait)
{
    /* room for a read (replies handed out before may move) */
    if (!cxl_buf_tail(&c->in, READ_CHUNK))
        return cxl_fail(CXL_ESYS, "out of memory");
    if (!dontwait && !(c->tls && SSL_pending(c->tls))) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)c->timeout_ms) == 0)
            return cxl_fail(CXL_ETIMEDOUT, "no reply within %u ms", c->timeout_ms);
    }
    for (;;) {
        ssize_t n = conn_recv(c, c->in.data + c->in.end, c->in.cap - c->in.end, dontwait);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && dontwait)
            return 0;
        if (n == 0)
            return cxl_fail(CXL_ESYS, "connection closed by the server");
        if (n < 0)
            return cxl_fail_errno(CXL_ESYS, "recv failed");
        c->in.end += (size_t)n;
        return (int)n;
    }
}

int cxl_conn_read(struct cxl_conn *c, const uint8_t **reply, size_t *len)
{
    int rc = cxl_conn_flush(c);
    while (rc == 0 && (rc = take_reply(c, reply, len)) == 0)
        if ((rc = fill(c, 0)) > 0)
            rc = 0;
    return rc < 0 ? rc : 0;
}

int cxl_conn_try_read(struct cxl_conn *c, const uint8_t **reply, size_t *len)
{
    int rc = take_reply(c, reply, len);
    if (rc != 0)
        return rc;
    if ((rc = fill(c, 1)) <= 0)
        return rc;
    return take_reply(c, reply, len);
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
