/* sec_mgr.h - what the files of cxl_sec_mgr share (docs/SECURITY.md,
 * "cxl_sec_mgr: the ACL and key authority").
 *
 *   main.c     the subcommand, and nothing else
 *   args.c     command line -> struct mgr_opts, and the --help text
 *   config.c   the configuration file: the keyword table, the parser, and
 *              every error `check` reports
 *   state.c    the master secret, epochs per region, who held each region and
 *              revoked keys (the state file), and the keys a node is handed
 *   audit.c    the audit log
 *   noise.c    the rate limit on audit/stderr lines of unauthenticated noise
 *   policy.c   decisions: a node's requests, rotate, revoke, the rotation timer
 *   holders.c  who holds which region; rotation when a holder loses it
 *   reload.c   `reload`: a new configuration in the running daemon
 *   daemon.c   start, stop and the poll loop (daemon.h: its private parts)
 *   conn.c     one connection: the node protocol, a control request
 *   admit.c    the connection pools, their limits, the descriptor budget
 *   control.c  the control socket: its listener and line protocol, and the
 *              revoke/rotate/reload/ping clients
 *   keygen.c   `keygen`, `check`, and the debugging `fetch` (a node's side)
 *   fabric.c   the fabric socket, a memfd per range region, `FD` requests
 *              (docs/FABRIC.md)
 */
#ifndef SEC_MGR_H
#define SEC_MGR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/loop.h"
#include "base/ratelimit.h"
#include "sec/sec.h"
#include "cxl/wait.h"

#define MGR_EXIT_OK 0
#define MGR_EXIT_FAIL 1  /* refused, failed, or `check` found errors */
#define MGR_EXIT_USAGE 2 /* bad flag, value or subcommand */

#define MGR_NAME_MAX 64  /* node and region names: 1..63 bytes + NUL */
#define MGR_PATH_MAX 1024

/* ---- the configuration (config.c) ------------------------------------------------ */

struct mgr_node {
    uint16_t id;
    char name[MGR_NAME_MAX];
    uint8_t pub[32];
    char user[CXL_SEC_USER_MAX + 1]; /* the Redis ACL user it runs as; "": none named */
    int line;
    int revoked; /* set by the daemon (revoke, or a revoked key in the state file) */
};

enum mgr_region_kind { MGR_REGION_RING, MGR_REGION_RANGE };

struct mgr_region {
    char name[MGR_NAME_MAX];
    enum mgr_region_kind kind;
    uint32_t ring;          /* ring */
    uint64_t offset, length; /* range */
    int line;
};

/* config.c's grant_modes[] names them. RW: a client of the region (its
 * node key); SERVE: the region's server (the region key and its clients);
 * RO: a range region only: its key, and a read-only descriptor of its
 * memfd on the fabric socket (docs/FABRIC.md). */
enum mgr_grant_mode { MGR_GRANT_RW, MGR_GRANT_SERVE, MGR_GRANT_RO };

struct mgr_grant {
    size_t node, region; /* indices */
    enum mgr_grant_mode mode;
    int line;
    int active;          /* cleared by revoke in the running daemon */
};

/* Every setting (one value per statement); config.c's keyword table gives
 * each its keyword, range and default. */
enum mgr_setting {
    MGR_SET_MANAGER_KEY, MGR_SET_MASTER, MGR_SET_STATE, MGR_SET_AUDIT, MGR_SET_CONTROL,
    MGR_SET_ROTATE, MGR_SET_REFRESH, MGR_SET_MAX_CONTROL, MGR_SET_MAX_CHANNELS,
    MGR_SET_MAX_CHANNELS_PER_NODE, MGR_SET_MAX_HANDSHAKES, MGR_SET_MAX_HANDSHAKES_PER_SOURCE,
    MGR_SET_HANDSHAKE_TIMEOUT, MGR_SET_LOG_REFUSALS, MGR_SET_FABRIC, MGR_SET_COUNT
};

/* The daemon's connection limits (docs/SECURITY.md, "Daemon limits"). */
struct mgr_limits {
    uint32_t max_control;               /* control connections at once */
    uint32_t max_channels;              /* authenticated node channels */
    uint32_t max_channels_per_node;     /* ... of one node id */
    uint32_t max_handshakes;            /* unauthenticated peers */
    uint32_t max_handshakes_per_source; /* ... from one address (IPv6: one /64) */
    uint32_t handshake_timeout_s;       /* for the whole handshake */
    uint32_t log_refusals;              /* lines per second per kind of noise */
};

struct mgr_config {
    char path[MGR_PATH_MAX];
    char manager_key[MGR_PATH_MAX], master[MGR_PATH_MAX], state[MGR_PATH_MAX],
        audit[MGR_PATH_MAX], control[MGR_PATH_MAX];
    char fabric[MGR_PATH_MAX]; /* the fabric's Unix socket; "": none (docs/FABRIC.md) */
    uint32_t rotate_s;  /* 0: on demand only */
    uint32_t refresh_s; /* = valid_for_ms / 1000 */
    struct mgr_limits lim;
    int line[MGR_SET_COUNT]; /* where each setting was given; 0: its default */
    struct mgr_node *nodes;
    size_t n_nodes;
    struct mgr_region *regions;
    size_t n_regions;
    struct mgr_grant *grants;
    size_t n_grants;
};

/* Parse path into c. Every error goes to errs (may be NULL) as
 * "path:line: message". check_files: also examine the files the config
 * names (manager key loadable, files 0600). Returns the number of errors
 * (0: c is usable; free it in any case with config_free). */
int config_load(const char *path, int check_files, struct mgr_config *c, FILE *errs);
void config_free(struct mgr_config *c);

struct mgr_node *config_node_by_id(const struct mgr_config *c, uint16_t id);
struct mgr_node *config_node_by_name(const struct mgr_config *c, const char *name_or_id);
struct mgr_region *config_region_by_ring(const struct mgr_config *c, uint32_t ring);
struct mgr_region *config_region_by_name(const struct mgr_config *c, const char *name);
/* An active grant of region ri to node ni. */
/* node ni's active grant of region ri, or NULL */
const struct mgr_grant *config_grant(const struct mgr_config *c, size_t ni, size_t ri);
/* The keyword of a setting, for messages. */
const char *config_setting_name(enum mgr_setting s);

/* ---- the audit log (audit.c) ------------------------------------------------------- */

struct mgr_audit {
    int fd;
};

int audit_open(struct mgr_audit *a, const char *path);
/* One line "<UTC time> <text>", one write(2), so each line is on disk as a
 * whole when it returns. also_stderr: the same line on stderr. */
void audit_log(struct mgr_audit *a, int also_stderr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void audit_close(struct mgr_audit *a);

/* ---- rate limit of network noise (noise.c) ----------------------------------------- */

/* Refusals of peers that have not authenticated, one kind per reason. */
enum mgr_noise_kind { NOISE_MALFORMED, NOISE_TIMEOUT, NOISE_UNKNOWN_NODE, NOISE_AUTH_FAILED,
                      NOISE_EVICTED, NOISE_FULL, NOISE_KINDS };

struct mgr_noise {
    uint32_t rate;                          /* lines a second per kind (log-refusals) */
    struct cxl_ratelimit rl[NOISE_KINDS];
};

void noise_init(struct mgr_noise *n, uint32_t rate);
/* The kind of a refusal reason, or -1: not noise (always logged). */
int noise_kind(const char *reason);
/* May a line of this kind be written now? (Counts it as suppressed if not.) */
int noise_allow(struct mgr_noise *n, int kind, uint64_t now_ms);
/* `refuse reason=R suppressed=K` for each kind with suppressed lines, at
 * most once a second per kind (force: now, at exit or a change of rate). */
void noise_summaries(struct mgr_noise *n, struct mgr_audit *a, uint64_t now_ms, int force);

/* ---- master secret and epochs (state.c) -------------------------------------------- */

/* A node's public key in the state file: its fingerprint (cxl_key_fingerprint). */
typedef char mgr_fp[CXL_SEC_FINGERPRINT_LEN + 1];

struct mgr_region_state {
    char name[MGR_NAME_MAX];
    uint64_t epoch;          /* current, >= 1 */
    uint64_t prev_epoch;     /* 0: none */
    uint64_t grace_until_ms; /* wall clock: prev_epoch is handed out until then */
    uint64_t rotated_at_s;   /* wall clock of the last new epoch */
    int has_holders;         /* holders recorded (not in version 1 state files) */
    mgr_fp *holders;         /* the nodes granted it at the last record, sorted */
    size_t n_holders;
};

struct mgr_state {
    char path[MGR_PATH_MAX];
    uint8_t master[32];
    struct mgr_region_state *regions; /* configured ones and those only in the file */
    size_t n_regions;
    uint8_t (*revoked)[32];           /* public keys refused for good */
    char (*revoked_names)[MGR_NAME_MAX];
    size_t n_revoked;
    int dirty;                        /* a save failed: retried by the timer */
    int loaded_version;               /* of the file read at start; 0: there was none */
};

/* Load or create the master secret, load the state file (if any), give each
 * configured region without an epoch its first one (audited), save. */
int state_open(struct mgr_state *s, const struct mgr_config *c, struct mgr_audit *a);
/* The first epoch (audited) of each configured region without one. */
int state_add_regions(struct mgr_state *s, const struct mgr_config *c, struct mgr_audit *a);
int state_save(struct mgr_state *s);
/* Replace r's holder record with fps (n sorted fingerprints; taken over). */
void state_set_holders(struct mgr_region_state *r, mgr_fp *fps, size_t n);
void state_close(struct mgr_state *s); /* wipes the master secret */

struct mgr_region_state *state_region(const struct mgr_state *s, const char *name);
/* A new epoch; grace_ms = 0 drops the previous one at once (revoke). */
int state_new_epoch(struct mgr_state *s, struct mgr_region_state *r, uint64_t grace_ms);
/* The keys of region r now, valid for valid_ms. */
int state_keys(const struct mgr_state *s, const struct mgr_region_state *r, uint32_t valid_ms,
               struct cxl_region_keys *out);
int state_is_revoked(const struct mgr_state *s, const uint8_t pub[32]);
int state_add_revoked(struct mgr_state *s, const uint8_t pub[32], const char *name);


/* ---- the running daemon (daemon.c, policy.c, control.c) ------------------------------ */

struct mgr_conn;

/* The connections of one kind (admit.c keeps each within its limits). */
struct mgr_pool {
    struct mgr_conn **c;
    size_t n, cap;
};

/* A range region's memfd (fabric.c), made at the first request for it. */
struct mgr_fabric_region {
    char name[MGR_NAME_MAX];
    int fd;        /* read-write, sealed SHRINK|GROW, mode 0400; never mapped here */
    uint64_t size;
};

struct mgr_daemon {
    struct mgr_config cfg;
    struct mgr_state state;
    struct mgr_audit audit;
    struct mgr_noise noise;
    struct cxl_node_key key; /* the manager's key pair */
    int listen_fd, control_fd;
    struct cxl_loop loop;        /* the event loop (daemon.c) */
    uint32_t listen_mask, control_mask; /* the listeners' interest in it (0: not watched) */
    int control_spare_fd;    /* a descriptor held for the control socket (EMFILE) */
    uint64_t listen_rest_until; /* monotonic ms: the listener rests (out of descriptors) */
    char listen_addr[128];
    struct mgr_limits lim;   /* in force: the config's, fitted to the descriptors */
    struct mgr_pool hs, chans, ctl; /* handshaking peers, node channels, control */
    int fabric_fd;           /* the fabric's Unix listener; -1: none */
    uint32_t fabric_mask;
    struct mgr_fabric_region *fab;
    size_t n_fab;
};

int daemon_run(const char *config_path, const char *listen);

/* policy.c */
int policy_lookup(void *daemon, uint16_t id, uint8_t pub[32]);
/* A decrypted request on a channel authenticated as node_id with key pub:
 * the reply to seal (its length), or CXL_EPROTO for a request that is not
 * one, or a channel whose node is gone or has another key now (the
 * connection is closed). */
/* on: the connection a request came on, for `FD` (fabric.c): on the fabric
 * socket or not, the socket (its peer's credentials for the audit line),
 * and where a granted descriptor goes (-1: none). */
struct mgr_req_conn {
    int on_fabric, sock;
    int *pass_fd;
};
int policy_request(struct mgr_daemon *d, uint16_t node_id, const uint8_t pub[32],
                   const uint8_t *msg, size_t len, const struct mgr_req_conn *on,
                   uint8_t *reply, size_t cap);

/* fabric.c */
int fabric_listen(struct mgr_daemon *d);  /* the fabric socket, if configured */
void fabric_close(struct mgr_daemon *d);  /* the socket and every memfd */
/* A region moved to a new epoch without grace: later grants get a new
 * memfd (audited; those who hold the old one keep it). */
void fabric_retire(struct mgr_daemon *d, const char *region, const char *reason);
/* `retire REGION` (control): the same on request, for a new publication. */
int fabric_retire_request(struct mgr_daemon *d, const char *region, char *msg, size_t cap);
/* `FD name <region>` from node n: the reply (its length) and, when
 * granted, a new descriptor in *pass_fd; every grant and refusal audited. */
int fabric_request(struct mgr_daemon *d, const struct mgr_node *n, const char *region,
                   int on_fabric, int sock, int *pass_fd, uint8_t *reply, size_t cap);
/* A peer refused before it authenticated: the audit line (rate-limited by
 * kind, noise.c). have_id: message 1 named node_id. */
void policy_refuse_peer(struct mgr_daemon *d, int have_id, uint16_t node_id, const char *reason,
                        const char *peer);
/* Mark the configured nodes whose key the state file revokes (verbose: say so). */
void policy_mark_revoked(struct mgr_daemon *d, int verbose);
/* Control requests: 0 and a message, or an error with the message. */
int policy_rotate(struct mgr_daemon *d, const char *region, const char *reason, char *msg,
                  size_t cap);
int policy_revoke(struct mgr_daemon *d, const char *node, char *msg, size_t cap);
void policy_tick(struct mgr_daemon *d); /* periodic rotation, state retries, summaries */
/* Milliseconds until policy_tick has something to do (at most 1000). */
int policy_next_ms(const struct mgr_daemon *d);
/* The state could not be saved: say so after msg, return CXL_ESYS. */
int policy_not_saved(struct mgr_daemon *d, char *msg, size_t cap);

/* holders.c */
/* Every configured region whose recorded holders include a key that no
 * longer holds it (grant removed, node removed, node key changed) moves to a
 * new epoch without grace (audit `rotate ... reason=acl-change`); then the
 * current holders are recorded and the state saved. msg: "ring1=5 ..." (the
 * rotated regions) or "". */
int holders_apply(struct mgr_daemon *d, char *msg, size_t cap);
/* Record the current holders of every configured region, no rotation (the
 * caller saves). */
void holders_record(struct mgr_daemon *d);

/* reload.c: re-read the daemon's config and apply it, or keep the old one
 * and say why (0, or an error; msg either way). by: "SIGHUP", "control". */
int reload_config(struct mgr_daemon *d, const char *by, char *msg, size_t cap);

/* admit.c (the pools; daemon.h has the rest) */
/* Fit c's limits into RLIMIT_NOFILE, raising the soft limit up to the hard
 * one: 0 and the limits in force in out (note: what was lowered, or ""), or
 * an error when the config's own numbers do not fit. */
int admit_budget(const struct mgr_config *c, struct mgr_limits *out, char *note, size_t cap);
/* Close the channels (and handshakes past message 1) whose node is gone or
 * has another key now (after a reload): how many. */
size_t admit_drop_stale(struct mgr_daemon *d);

/* control.c */
int control_listen(const char *path, int *fd);
/* One request line from the control socket: the reply line (OK ... / ERR ...). */
void control_handle(struct mgr_daemon *d, const char *line, char *reply, size_t cap);
/* Is the peer of a control connection allowed (same user or root)? */
int control_peer_ok(int fd);

/* ---- subcommands ------------------------------------------------------------------------ */

enum mgr_cmd { MGR_CMD_DAEMON, MGR_CMD_KEYGEN, MGR_CMD_CHECK, MGR_CMD_REVOKE, MGR_CMD_ROTATE,
               MGR_CMD_FETCH, MGR_CMD_RELOAD, MGR_CMD_PING, MGR_CMD_RETIRE };

struct mgr_opts {
    enum mgr_cmd cmd;
    const char *config;   /* --config */
    const char *listen;   /* --listen HOST:PORT (daemon) */
    const char *out;      /* keygen --out */
    int force;            /* keygen --force */
    int manager;          /* keygen --manager */
    uint16_t node_id;     /* keygen --id, fetch --node-id */
    int node_id_given;
    const char *name;     /* keygen --name */
    const char *key;      /* fetch --key */
    const char *mgr;      /* fetch --mgr HOST:PORT */
    uint32_t ring;        /* fetch --ring */
    int ring_given;
    const char *region;   /* fetch --region */
    int ping;             /* fetch --ping */
    uint32_t timeout_ms;  /* fetch --timeout-ms */
    const char *arg;      /* revoke NODE, rotate [REGION], retire REGION */
};

/* args.c: MGR_EXIT_OK to go on, MGR_EXIT_USAGE after saying why, -1 after --help. */
int mgr_parse_args(int argc, char **argv, struct mgr_opts *o);
void mgr_usage(FILE *f);

int cmd_keygen(const struct mgr_opts *o);
int cmd_fetch(const struct mgr_opts *o);
int cmd_check(const struct mgr_opts *o);
int cmd_control(const struct mgr_opts *o); /* revoke, rotate, reload, ping, retire */

#endif
