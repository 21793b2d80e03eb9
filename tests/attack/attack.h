/* attack.h - the attacker suite (docs/SECURITY.md, "How the attacker suite
 * tests each claim"). Real processes only: cxl_sec_mgr, redis-server with
 * the module in secure mode, two honest clients (A on ring 1, B on ring 2)
 * that check every value they read, and an attacker M that maps the same
 * medium, holds a legitimate grant on ring 3 only, and tries every attack of
 * the threat model many times. Each attempt is judged by evidence from the
 * victims' side: the server's CXLRING.STATS counters and Redis's contents
 * over TCP, the clients' result statuses and values, the manager's audit
 * log. Messages are layout v2's: packed headers, a client's batch of
 * requests sealed as one message over several 64 B lines; M finds them by
 * walking headers from a position it knows and handles them whole. To
 * change a genuine batch before the server reads it, M pauses the server
 * process (SIGSTOP), standing in for a medium that delays what the server
 * sees; a control shows an untouched batch runs whole that way. An attempt
 * is "missed" when a tampered, replayed, forged or revoked
 * request was executed, a client accepted a wrong answer, a secret was found
 * in the medium or the manager gave in; "late" when the tampering reached
 * nobody (the receiver had read the message already).
 *
 * Processes: the referee (provisions, starts everything, revokes
 * when M asks, judges, prints the table), the daemon, redis-server, A, B and
 * M. They share a small anonymous mapping (the board: counters and the
 * flags that hold a client at a batch boundary so that an injection is
 * judged alone), never the medium. Everything dies with the referee
 * (PR_SET_PDEATHSIG); its files are removed at exit and on a crash signal.
 *
 * Usage: attack BUILD_DIR   (BUILD_DIR/cxl_ring.so, BUILD_DIR/bin/cxl_sec_mgr)
 * CXL_ATTACK_SEED=N repeats the attacker's choices of bits and messages
 * (timing differs from run to run); CXL_ATTACK_KEEP=1 keeps the work
 * directory (logs, keys, ACL, audit log) for a post-mortem.
 *
 * Files (tests/attack/): honest.c the honest clients; medium.c the attacker's
 * view of the medium (walking headers, capturing and placing whole
 * messages), the evidence from the victims, holding a client, pausing the
 * server; forge.c building messages, injecting them, making the server read
 * a queue again (and the two attacks made of that alone), changing a batch
 * in flight; scanner.c the scanner thread; phases.c the attack phases and
 * attacker_main; referee.c everything else and main. This header owns the
 * constants, the attack kinds, the board, the state every process knows,
 * and the declarations of what is used across files: a function's prefix
 * names its file (med_ medium.c, forge_/build_/held_ forge.c, scan_
 * scanner.c). */
#ifndef CXL_TEST_ATTACK_H
#define CXL_TEST_ATTACK_H

#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>

#include <sodium.h>

#include "redis_harness.h"
#include "sec_harness.h"
#include "cxl/keyring.h"
#include "cxl/kv.h"
#include "sec/seal.h"
#include "cxl/util.h"
#include "cxl/wait.h"
#include "ring/layout.h"

#define RINGS 4u
/* The line size the module formats the medium with: the default 64 B
 * (layout v2: a message takes ceil((header + payload) / line) lines). An
 * honest client's batch of six requests is one sealed message of 7 lines,
 * its reply one of 8: the attacker finds messages by walking their headers
 * from a position it knows (med_walk) and handles them whole (struct cap). */
#define SLOT_SIZE 64u
#define MSG_MAX 2048u    /* the largest message the attacker captures or builds */
#define MAP_SIZE "16M"
#define NODE_SERVER 1
#define NODE_A 2
#define NODE_B 3
#define NODE_M 4
#define RING_M 3u
/* The client node of each ring (ring 0 has none); its node key K(r, e, n)
 * is what the ring's session keys derive from (docs/SECURITY.md, "Keys"). */
static inline uint16_t ring_node(uint32_t r)
{
    return r == 1 ? NODE_A : r == 2 ? NODE_B : r == 3 ? NODE_M : 0;
}
#define NKEYS 8u         /* keys per honest client */
#define BATCH_KEYS 2u    /* keys per batch: GET, SET, GET each */
#define BATCH_MSGS (3u * BATCH_KEYS)
#define VAL_LEN 72u
#define MAX_MAYBE 32u
#define CLIENT_TIMEOUT_MS 250u
#define REFRESH_S 1u     /* the ACL's refresh */
#define REVOKE_MARGIN_MS 500u
#define KEY_GRACE_MS 500u /* keys are good for refresh + this after their fetch (keyring.c) */
#define RUN_LIMIT_S 100
#define MAX_NEEDLES 256u
#define FILTER_BITS 20
#define POOL 24u

/* --- the board: shared by the referee, the clients and the attacker ----------- */

enum kind {
    K_SCAN_TEXT, K_SCAN_KEYS, K_FLIP_REQ, K_FLIP_RESP, K_REPLAY_OLD, K_REPLAY_NEW, K_RELOC_RING,
    K_RELOC_POS, K_FORGE_RANDOM, K_FORGE_HEADER, K_FORGE_NOKEY, K_CROSS_KEY, K_DOUBLE_ANSWER, K_LOST_ANSWER, K_MGR_CLAIM,
    K_MGR_NOGRANT, K_MGR_DOWN, K_REVOKED_RING, K_REVOKED_FETCH, K_BATCH_TRUNC, K_BATCH_REORDER, K_BATCH_SPLICE,
    K_BATCH_REPLAY, K_COUNT
};


extern const char *const kind_name[K_COUNT]; /* referee.c */

enum { DETECTED, MISSED, LATE };

struct row {
    uint64_t attempts, detected, missed, late;
};

struct cli_board {
    uint64_t batches, ops, ok, nil, err_server, err_crypto, err_other, submit_err, wrong;
    uint64_t kv_rejected, kv_resyncs, kv_lost, kv_timeouts, kv_stale;
    int idle, failed;
    int hold, steps; /* written by the attacker */
    char wrong_text[256], fail_text[256];
};

struct board {
    struct cli_board cli[2];
    struct row rows[K_COUNT];
    int stop_clients, revoke_req, revoke_done, revoke_rc, nmisses;
    uint64_t revoke_ns;
    char attacker_error[512];
    char misses[10][300];
    char notes[3072];
};

#define LD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_ACQ_REL)

/* referee.c */
extern struct board *bd;

/* What every process knows (set before the forks). */
struct attack_cfg {
    char dir[256], medium[300], module[512], tool[512];
    char key[5][300]; /* manager, server, A, B, M */
    uint64_t seed;
    pid_t referee;
};
extern struct attack_cfg cfg;
extern struct sec_mgr mgr;
extern struct redis_proc redis;

static inline uint64_t ms_since(uint64_t t0) { return (cxl_now_ns() - t0) / 1000000u; }

/* --- honest.c -------------------------------------------------------------------------------- */

int honest_main(int who);

/* --- medium.c: the attacker's view of the medium, evidence, holding a client ----------------- */

extern struct cxl_medium *am;
extern struct cxl_layout *L;
extern const struct cxl_geometry *G;
extern enum cxl_cipher cipher;
extern struct cxl_conn *tcp; /* to Redis */
extern int gave_up;

struct cxl_ring_ctl *med_ctl(uint32_t r);
uint32_t med_ring_of(int c);
volatile uint64_t *med_tail_of(uint32_t r, enum cxl_dir d);
volatile uint64_t *med_head_of(uint32_t r, enum cxl_dir d);
uint8_t *med_slot_at(uint32_t r, enum cxl_dir d, uint64_t pos);

/* A whole message, copied out of the medium: header and payload, as many
 * lines as it takes. */
struct cap {
    uint64_t pos;          /* where it was (its full position) */
    struct cxl_msg_hdr h;  /* decoded; h.seq the low 32 bits */
    uint32_t hs, size;     /* header bytes; header + payload bytes */
    uint32_t lines;
    uint8_t b[MSG_MAX];
};

static inline uint32_t lines_for(uint32_t size) { return (size + SLOT_SIZE - 1) / SLOT_SIZE; }
enum { MSG_GARBAGE, MSG_ONE, MSG_PAD };
int med_read_msg(uint32_t r, enum cxl_dir d, uint64_t pos, struct cap *out, uint32_t *lines);
int med_walk(uint32_t r, enum cxl_dir d, uint64_t from, uint64_t to, uint64_t *starts, unsigned max, unsigned *n);
uint64_t med_place(uint32_t r, enum cxl_dir d, uint32_t lines);
void med_put(uint32_t r, enum cxl_dir d, uint64_t pos, const uint8_t *msg, uint32_t size);
uint8_t *med_catch(uint32_t r, enum cxl_dir d, uint64_t old, unsigned ms, uint64_t *pos, struct cxl_msg_hdr *h,
                   uint32_t *hs);
int med_server_pause(void);
void med_server_resume(void);
uint32_t med_gen_of(uint32_t r);
void med_server_nonce(uint8_t out[16]);
void med_session_of(uint32_t r, uint8_t out[16]);
uint16_t med_node_of(uint32_t r); /* ring r's claimant node, from its owner word */
uint32_t med_epoch_seen(uint32_t r);
void attacker_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void med_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void med_outcome(enum kind k, int res, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int med_wait_at_least(volatile uint64_t *v, uint64_t want, unsigned ms);
int med_capture_newest(uint32_t r, enum cxl_dir d, struct cap *out);

struct rstats {
    long long requests, rejected, resyncs;
};

struct snap {
    struct rstats ring[RINGS];
    struct {
        uint64_t batches, errors, err_server, err_crypto, wrong, kv_rejected, kv_resyncs;
    } cli[2];
};

void med_snap(struct snap *s);
long long med_refused(const struct snap *a, const struct snap *b, uint32_t r);
long long med_executed(const struct snap *a, const struct snap *b, uint32_t r);
int med_tcp_exists(const char *key);
int med_audit_reaches(const char *text, int want, unsigned ms);
int med_wait_batches(int c, uint64_t target, unsigned ms);
int med_hold(int c);
void med_unhold(int c);
int med_step(int c);

/* --- forge.c: building messages, injecting, making the server read again --------------------- */

struct forge {
    uint64_t n;
    const struct cap *copy; /* a captured message */
    uint32_t lines;      /* a forged SET padded to take exactly this many lines; 0: as small as it is */
    char key[64];        /* the key a forged SET would write */
    uint8_t region_key[32];
    uint32_t epoch;      /* for sealing with region_key; 0: the epoch seen on the ring */
    int ring;            /* derive for this ring's coordinates; -1: the target's */
};

/* Builds a message for position pos of ring r into msg (MSG_MAX bytes,
 * zeroed first); returns the bytes to write and publish (header + payload,
 * or what the forgery claims less or more of), 0 when it cannot. */
typedef uint32_t (*build_fn)(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);

void forge_derive(struct cxl_seal *s, const uint8_t region_key[32], uint32_t epoch, uint32_t r,
                  enum cxl_dir d);
uint32_t forge_reheader(uint8_t *msg, const struct cxl_msg_hdr *h);
uint32_t build_sealed_set(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_plain_set(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_random(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_bad_header(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_copy(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_next_pos(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_next_resp(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
uint32_t build_forged_answer(uint8_t *msg, uint32_t r, uint64_t pos, struct forge *f);
void held_request(enum kind k, int c, uint32_t r, build_fn build, struct forge *f, const char *what);
void held_response(enum kind k, int c, build_fn build, struct forge *f, const char *what);
int forge_rewind_server(uint32_t r, uint64_t from, uint64_t tail);
void forge_double_answer_one(void);
void forge_lost_answer_one(void);
typedef int (*tamper_fn)(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f);
int forge_in_flight_control(unsigned n);
void forge_in_flight(enum kind k, int c, tamper_fn fn, struct forge *f, const char *what);
int tamper_truncate(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f);
int tamper_reorder(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f);
int tamper_splice(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f);
int tamper_replay_after(uint8_t *msg, const struct cxl_msg_hdr *h, uint32_t hs, uint64_t pos, struct forge *f);

/* --- scanner.c --------------------------------------------------------------------------------- */

extern volatile int scan_stop;
void *scan_thread(void *arg);
void scan_plant_controls(void);
int scan_oracle_opens(uint32_t r, enum cxl_dir d);

/* --- phases.c ---------------------------------------------------------------------------------- */

int attacker_main(int unused);

#endif
