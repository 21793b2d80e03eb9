/* net/net.h - socket addresses and connections every tool uses: "HOST:PORT"
 * ([v6]:PORT allowed, names resolved when parsed) or "unix:/path"; listening
 * and connecting, blocking or not. Every call returns 0 / a descriptor or a
 * negative CXL_E* code with a message that names the flag or address. */
#ifndef CXL_NET_H
#define CXL_NET_H

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_net_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    int is_unix;
    char text[128]; /* as given, for messages */
};

/* flag names the option in messages ("--listen"). */
int cxl_net_addr_parse(const char *flag, const char *text, struct cxl_net_addr *a);

/* A listening socket (non-blocking, close-on-exec, SO_REUSEADDR for TCP).
 * Unix: a stale socket file (nobody accepts on it) is replaced; a live one or
 * any other kind of file is refused. */
int cxl_net_listen(const struct cxl_net_addr *a, int backlog);

/* Connect. nonblock = 0: blocking, TCP_NODELAY set. nonblock = 1: the
 * socket is returned at once and *pending = 1 while the connect is in
 * progress (wait for writability, then cxl_net_connect_result). */
int cxl_net_connect(const struct cxl_net_addr *a, int nonblock, int *pending);
/* The outcome of a non-blocking connect: 0 or an errno value. */
int cxl_net_connect_result(int fd);

void cxl_net_nodelay(int fd); /* TCP_NODELAY; a no-op on Unix sockets */

/* The peer of a connected socket as text ("127.0.0.1:5555", "unix"). */
void cxl_net_peer_name(int fd, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
