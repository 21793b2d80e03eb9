/* daemon.h - the private parts of the cxl_sec_mgr daemon, shared by
 * daemon.c (start, stop, the poll loop), conn.c (one connection: the node
 * protocol, a control request) and admit.c (the pools and their limits).
 *
 * A connection lives in exactly one pool of struct mgr_daemon:
 *   hs     node peers that have not authenticated yet (message 1 -> 3)
 *   chans  authenticated node channels (encrypted requests)
 *   ctl    control connections (one request line each)
 * Outside the event loop a pool holds only open connections; a connection
 * closed during the event loop (fd < 0) is freed by admit_sweep. */
#ifndef SEC_MGR_DAEMON_H
#define SEC_MGR_DAEMON_H

#include "base/buf.h"
#include "sec_mgr.h"

#define REQUEST_FRAME_MAX 1024u /* requests are one short line */
#define OUT_MAX 2048u
#define LINE_MAX_CTL 512u
#define CONTROL_MS 5000u        /* for a whole control request */

enum conn_kind { CONN_NODE, CONN_CONTROL };
enum conn_stage { ST_MSG1, ST_MSG3, ST_READY };

struct mgr_conn {
    int fd;
    uint32_t watched;      /* its interest in the daemon's loop (0: not watched) */
    enum conn_kind kind;
    enum conn_stage stage;
    char peer[80];
    uint8_t src[9];        /* the source for per-source limits: 4 + IPv4 address, 6 + IPv6 /64 */
    uint64_t deadline;     /* monotonic ms */
    uint64_t since;        /* monotonic ms: entered its stage (accepted, message 2 sent) */
    uint64_t last_active;  /* monotonic ms: its last request (channels) */
    uint64_t stamp;        /* conn_stamp() when since or last_active was set: the order */
    int got_bytes;
    int have_id;
    uint16_t node_id;
    uint8_t pub[32];       /* the key node_id had when message 1 came (public) */
    struct cxl_sec_hs *hs;
    struct cxl_sec_chan *chan;
    uint8_t hdr[4];
    size_t hdr_have;
    uint8_t body[REQUEST_FRAME_MAX];
    size_t body_len, body_have;
    uint8_t out[OUT_MAX];
    uint8_t *out_big;      /* a reply larger than out (a server's keys and client list) */
    struct cxl_buf pending; /* what is to be sent: over out, or out_big (base/buf.h, fixed) */
    int closing;           /* close once out is flushed */
    int on_fabric;         /* accepted on the fabric socket (docs/FABRIC.md) */
    int pass_fd;           /* a granted descriptor to send with the reply; -1: none */
    char line[LINE_MAX_CTL];
    size_t line_len;
};

/* ---- conn.c ------------------------------------------------------------------------ */

/* A connection on fd (NULL when out of memory: fd closed). */
struct mgr_conn *conn_new(int fd, enum conn_kind kind, uint64_t deadline);
void conn_close(struct mgr_conn *c); /* fd closed, secrets wiped; still to be freed */
void conn_flush(struct mgr_conn *c); /* send what is queued */
void conn_node_readable(struct mgr_daemon *d, struct mgr_conn *c);
void conn_control_readable(struct mgr_daemon *d, struct mgr_conn *c);
/* A handshake that failed, or a peer dropped: audit (rate-limited noise), close. */
void conn_refuse(struct mgr_daemon *d, struct mgr_conn *c, const char *reason);
void conn_expire(struct mgr_daemon *d, struct mgr_conn *c); /* its deadline passed */
uint32_t conn_idle_ms(const struct mgr_daemon *d);            /* an idle channel's */
uint32_t conn_handshake_ms(const struct mgr_daemon *d);
uint64_t conn_stamp(void); /* strictly increasing: orders events in the same millisecond */

/* ---- admit.c ----------------------------------------------------------------------- */

int admit_init(struct mgr_daemon *d);          /* the control socket's spare descriptor */
void admit_accept_control(struct mgr_daemon *d);
void admit_accept_nodes(struct mgr_daemon *d);
void admit_accept_fabric(struct mgr_daemon *d); /* the same pools, on the fabric socket */
void admit_promote(struct mgr_daemon *d);      /* finished handshakes -> channels */
void admit_sweep(struct mgr_daemon *d);        /* deadlines; closed connections freed */
void admit_free_all(struct mgr_daemon *d);
/* Milliseconds until the next deadline of any connection or the listener's rest. */
int admit_next_ms(const struct mgr_daemon *d, int upto);

#endif
