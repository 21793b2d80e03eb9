/* gateway.h - cxl_resp_gateway: RESP clients (redis-cli, redis-benchmark,
 * client libraries) on a TCP or Unix socket, their commands forwarded over
 * the shared-medium ring to the cxl_ring module, Redis's replies sent back
 * unchanged. One event loop (loop.c) over epoll and the ring(s); connections
 * and their buffers (conn.c); what each command becomes (route.c); flags
 * (options.c). */
#ifndef CXL_GATEWAY_H
#define CXL_GATEWAY_H

#include <stdint.h>

#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "cxl/resp.h"

#define GW_EXIT_OK 0
#define GW_EXIT_FAIL 1
#define GW_EXIT_USAGE 2
#define GW_MAX_RINGS 64

struct gw_opts {
    struct cxl_kv_config kv;
    struct cxl_sec_opts sec;
    const char *listen;       /* HOST:PORT, or NULL */
    const char *unix_path;    /* or a Unix socket */
    uint32_t rings;           /* rings to claim (connections spread over them) */
    uint32_t max_clients;
    uint64_t max_request;     /* bytes of one request */
    uint64_t max_output;      /* bytes of replies a client may leave unread */
    int fast_paths;           /* GET/SET/DEL on the module's key API */
    int quiet;
};

int gw_options_parse(int argc, char **argv, struct gw_opts *o);

/* --- connections -------------------------------------------------------------- */

struct gw_buf {
    uint8_t *data;
    size_t start, end, cap;
};

struct gw_conn {
    int fd;
    uint32_t gen;          /* reuse guard for in-flight replies */
    uint32_t ring;         /* the ring its commands go over (keeps their order) */
    uint32_t inflight;     /* commands sent, replies not yet back */
    int read_closed;       /* peer shut down its side: finish replies, then close */
    int closing;           /* close once the output is written */
    int want_out;          /* EPOLLOUT armed */
    int touched;           /* in the loop's list of connections with new replies */
    struct gw_buf in, out;
};

int gw_buf_reserve(struct gw_buf *b, size_t more);
int gw_buf_append(struct gw_buf *b, const void *p, size_t n);
void gw_buf_free(struct gw_buf *b);

/* --- routing: what a parsed command becomes -------------------------------------- */

enum gw_route {
    GW_FORWARD,   /* over the ring as a generic command */
    GW_FAST,      /* a GET, SET or DEL fast path */
    GW_LOCAL,     /* answered by the gateway itself (QUIT, CLIENT SETNAME ...) */
    GW_REFUSE,    /* cannot work through the gateway: an error reply */
};

/* Route argv; for GW_LOCAL and GW_REFUSE, reply and len are the reply to send
 * (static text); *close_after for QUIT. */
enum gw_route gw_route(const struct gw_opts *o, const struct cxl_resp_args *a, const char **reply,
                       size_t *len, int *close_after);

/* The RESP bytes for a ring result (bulk, nil, +OK, :n, -ERR, or the raw
 * reply of a generic command). */
int gw_encode_result(struct gw_buf *out, const struct cxl_kv_result *r);

/* --- the loop ------------------------------------------------------------------------ */

int gw_run(const struct gw_opts *o);

#endif
