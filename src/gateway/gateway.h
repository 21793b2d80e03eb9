/* gateway.h - cxl_resp_gateway: RESP clients (redis-cli, redis-benchmark,
 * client libraries) on a TCP or Unix socket, their commands forwarded over
 * the shared-medium ring to the cxl_ring module, Redis's replies sent back
 * unchanged. One event loop (loop.c, on base/loop.h) over the sockets and
 * the ring(s); connection slots, buffers (base/buf.h), epoll interest and
 * the memory limits (conn.c); reading, parsing and dispatching a client's
 * commands (input.c); what each command becomes (route.c); in front of a
 * Redis Cluster node, node addresses in replies swapped for gateways'
 * (cluster.c); flags (options.c). */
#ifndef CXL_GATEWAY_H
#define CXL_GATEWAY_H

#include <stdint.h>

#include "config/options.h"
#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "base/buf.h"
#include "base/loop.h"
#include "base/ratelimit.h"
#include "net/pod_map.h"
#include "net/resp_request.h"
#include "cxl/wait.h"

#define GW_EXIT_OK 0
#define GW_EXIT_FAIL 1
#define GW_EXIT_USAGE 2
#define GW_MAX_RINGS 64

struct gw_opts {
    struct cxl_kv_config kv;
    struct cxl_shared_opts shared; /* the shared options (config/options.h) as given */
    struct cxl_sec_opts sec;
    const char *listen;          /* HOST:PORT, or NULL */
    const char *unix_path;       /* or a Unix socket */
    uint32_t rings;              /* rings to claim (connections spread over them) */
    uint32_t max_clients;
    uint64_t max_request;        /* bytes of one command (0: the ring's largest message) */
    uint64_t max_output;         /* bytes of replies a client may leave unread */
    uint64_t proto_max_bulk_len; /* bytes of one argument (Redis's proto-max-bulk-len) */
    uint64_t query_buffer_limit; /* bytes a client's input may hold (client-query-buffer-limit) */
    uint64_t maxmemory_clients;  /* bytes of all clients' buffers together (0: no limit) */
    int fast_paths;              /* GET/SET/DEL on the module's key API */
    const char *cluster_path;    /* --cluster POD.MAP, or NULL */
    struct cxl_pod_map pod;      /* its nodes (empty without --cluster) */
    int quiet;
};

int gw_options_parse(int argc, char **argv, struct gw_opts *o);

/* --- connections -------------------------------------------------------------- */

struct gw_conn {
    int fd;
    uint32_t gen;          /* reuse guard for in-flight replies */
    uint32_t ring;         /* the ring its commands go over (keeps their order) */
    uint32_t inflight;     /* commands sent, replies not yet back */
    uint32_t events;       /* epoll interest registered (0: not in the epoll set) */
    uint8_t read_closed;   /* peer shut down its side: finish replies, then close */
    uint8_t closing;       /* close once the output is written (protocol error, QUIT) */
    uint8_t blocked;       /* a parsed command waits (ring full, or order): not read */
    uint8_t touched;       /* in the loop's list of connections with new replies */
    uint8_t waiting;       /* in the list of connections waiting for room in a ring */
    uint8_t authed;        /* it sent AUTH or HELLO: its slot is dirty on its ring once it goes */
    uint8_t resetting;     /* its slot's RESET is in flight: nothing else goes until it answers */
    uint64_t dirty;        /* per ring (bit = ring): a connection of this slot authenticated
                            * there; the slot's next connection on that ring RESETs first,
                            * and the bit clears only when Redis answered +RESET */
    size_t mem;            /* its buffers' bytes, as counted in gw.mem */
    struct cxl_buf in, out; /* growable (base/buf.h) */
    struct cxl_resp_parser parser;
};

/* The gateway's state (one loop, one thread). */
struct gw {
    const struct gw_opts *o;
    struct cxl_loop loop;
    int tcp_fd, unix_fd;
    uint32_t tcp_mask, unix_mask;  /* the listeners' interest in the loop (0: paused) */
    int accept_paused;             /* out of file descriptors: not accepting for now */
    uint64_t paused_ms, paused_drops; /* since when, and the drop count then */
    uint64_t drops;                /* connections closed so far */
    struct cxl_kv *kv[GW_MAX_RINGS];
    uint32_t nkv, next_ring;
    uint64_t lost;                 /* rings to claim again (bit = ring), seen lost on submit */
    int failed;                    /* a ring failed and could not be claimed again: stop, exit 1 */
    struct gw_conn *conn;          /* max_clients slots; fd < 0 = free */
    uint32_t *free_slots, nfree;
    uint32_t inflight;
    uint32_t *touched, ntouched;   /* connections that got replies this round */
    uint32_t *waiting, nwaiting;   /* connections whose command found its ring full */
    uint64_t mem;                  /* bytes of every client's buffers */
    struct cxl_resp_args args;     /* the command being dispatched */
    struct cxl_resp_limits limits;
    struct cxl_backoff backoff;
    struct cxl_ratelimit log_limit; /* lines about clients closed for their limits */
    struct cxl_buf scratch;        /* a reply being rewritten (cluster.c) */
};

/* Slots and the epoll set (conn.c). */
int gw_conn_open(struct gw *g, int fd);
void gw_conn_drop(struct gw *g, uint32_t slot);
void gw_conn_interest(struct gw *g, uint32_t slot);
void gw_conn_flush(struct gw *g, uint32_t slot);
/* Account a connection's buffers after they changed; returns 0, or -1 when
 * its input went over client-query-buffer-limit and it was closed. */
int gw_conn_account(struct gw *g, uint32_t slot);
/* Over maxmemory-clients: close the biggest clients until under it. */
void gw_enforce_maxmemory(struct gw *g);
void gw_log_client(struct gw *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A connection's number on its ring (docs/KV.md, "Identity"): its own
 * Redis user there, as a TCP connection to Redis has. */
static inline uint16_t gw_conn_number(uint32_t slot) { return (uint16_t)(slot + 1); }
#define GW_MAX_CLIENTS 65535u /* connection numbers are 16 bits, 0 is the ring's own */
/* A command's ring tag: bit 63 its slot's RESET (input.c: its reply clears
 * the slot), bits 56..59 the kind of reply to rewrite in front of a cluster
 * node (cluster.c), bits 32..47 the connection's slot, bits 0..31 its
 * generation. */
#define GW_TAG_RESET (1ull << 63)
#define GW_TAG_KIND_SHIFT 56
#define GW_TAG_KIND_MASK 0xfull
static inline uint32_t gw_tag_slot(uint64_t tag) { return (uint32_t)(tag >> 32) & 0xffffu; }

/* A client's input (input.c). */
void gw_read_input(struct gw *g, uint32_t slot);
void gw_process_input(struct gw *g, uint32_t slot);
/* The answer to a slot's RESET: +RESET clears the slot on its ring,
 * anything else closes the connection and leaves the slot to reset again. */
void gw_reset_answered(struct gw *g, uint32_t slot, const struct cxl_kv_result *r);

/* --- routing: what a parsed command becomes -------------------------------------- */

enum gw_route {
    GW_FORWARD,   /* over the ring as a generic command */
    GW_FAST,      /* a GET, SET or DEL fast path */
    GW_LOCAL,     /* answered by the gateway itself (QUIT, CLIENT SETNAME ...) */
    GW_REFUSE,    /* cannot work through the gateway: an error reply */
    GW_ABORT,     /* POST or Host: (an HTTP request): closed at once, as Redis does */
};

/* Route argv (argc >= 1); for GW_LOCAL and GW_REFUSE, reply and len are the
 * reply to send (static text); *close_after for QUIT. */
enum gw_route gw_route(const struct gw_opts *o, const struct cxl_resp_args *a, const char **reply,
                       size_t *len, int *close_after);

/* The RESP bytes for a ring result (bulk, nil, +OK, :n, -ERR, or the raw
 * reply of a generic command). */
int gw_encode_result(struct cxl_buf *out, const struct cxl_kv_result *r);

/* --- in front of a Redis Cluster node (cluster.c) ----------------------------------- */

/* The tag bits of a command whose reply names nodes (0 without --cluster). */
uint64_t gw_cluster_tag(const struct gw *g, const struct cxl_resp_args *a);
/* The reply appended to out from byte `from` on (of the pending bytes),
 * for the command tagged tag: pod nodes' addresses swapped for their
 * gateways'. Anything it cannot parse stays as it is. */
void gw_cluster_reply(struct gw *g, struct cxl_buf *out, size_t from, uint64_t tag);

/* --- the loop ------------------------------------------------------------------------ */

int gw_run(const struct gw_opts *o);

#endif
