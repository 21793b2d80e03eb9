/* base/addr.h - socket addresses and connections every tool uses: "HOST:PORT"
 * ([v6]:PORT allowed, names resolved when parsed) or "unix:/path"; listening,
 * accepting and connecting, blocking, non-blocking or within a time. In base
 * (not net) so that the security layer's connection to cxl_sec_mgr uses it
 * too; the names keep their cxl_net_ prefix. Every call returns 0 / a
 * descriptor or a negative CXL_E* code with a message that names the flag
 * or address (errno is the cause's). */
#ifndef CXL_BASE_ADDR_H
#define CXL_BASE_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CXL_NET_ADDR_MAX 4 /* resolved addresses kept, tried in order */

struct cxl_net_addr {
    struct sockaddr_storage sa[CXL_NET_ADDR_MAX];
    socklen_t len[CXL_NET_ADDR_MAX];
    unsigned n;     /* how many (1 for a Unix socket) */
    int is_unix;
    char text[128]; /* as given, for messages */
};

/* flag names the option in messages ("--listen"). */
int cxl_net_addr_parse(const char *flag, const char *text, struct cxl_net_addr *a);
/* HOST:PORT only ("unix:..." is not special); a name that does not resolve
 * is said as cxl_sec_mgr always said it ("--listen HOST:PORT: reason"). */
int cxl_net_addr_parse_tcp(const char *flag, const char *text, struct cxl_net_addr *a);

/* A Unix socket's address ("unix:PATH" its text), saying nothing (for
 * callers with words of their own): 0, or CXL_EINVAL when path does not
 * fit in a sockaddr_un. */
int cxl_net_addr_unix(const char *path, struct cxl_net_addr *a);
/* Make a Unix socket's path free to listen on, saying nothing: 0 (nothing
 * there, or a stale socket nobody accepts on, removed), CXL_EBUSY (someone
 * accepts there), CXL_EINVAL (a file of another kind), CXL_ESYS (errno). */
int cxl_net_unix_claim(const struct cxl_net_addr *a);

/* A listening socket (non-blocking, close-on-exec, SO_REUSEADDR for TCP) on
 * the first address that binds. Unix: a stale socket file (nobody accepts
 * on it) is replaced; a live one or any other kind of file is refused. */
int cxl_net_listen(const struct cxl_net_addr *a, int backlog);

/* A connection (non-blocking, close-on-exec), or -1 with errno: EAGAIN,
 * nothing waiting; anything cxl_net_out_of_fds() names, out of
 * descriptors or memory (the listener keeps being readable). ss: the
 * peer's address, may be NULL. */
int cxl_net_accept(int listen_fd, struct sockaddr_storage *ss);
int cxl_net_out_of_fds(int err);

/* Connect, trying each address in turn. nonblock = 0 (or pending NULL):
 * blocking. nonblock = 1: the socket is returned at once and *pending = 1 while the connect is
 * in progress (wait for writability, then cxl_net_connect_result). TCP_NODELAY
 * is set. */
int cxl_net_connect(const struct cxl_net_addr *a, int nonblock, int *pending);
/* The same, each address given at most timeout_ms (CXL_ETIMEDOUT, errno
 * ETIMEDOUT, when the last one did not answer); the socket is non-blocking. */
int cxl_net_connect_within(const struct cxl_net_addr *a, uint32_t timeout_ms);
/* The outcome of a non-blocking connect: 0 or an errno value. */
int cxl_net_connect_result(int fd);

void cxl_net_nodelay(int fd); /* TCP_NODELAY; a no-op on Unix sockets */

/* An address as text ("127.0.0.1:5555", "[::1]:7000", "unix"); the peer of
 * a connected socket the same way ("?" when it has none). */
void cxl_net_sockaddr_name(const struct sockaddr_storage *ss, char *buf, size_t cap);
void cxl_net_peer_name(int fd, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
