/* cxl/kvserver.h - the serving engine: polls every ring of a layout, decodes
 * and validates KV requests, hands them to an executor, writes the replies,
 * and recovers rings that go bad. The Redis module plugs Redis into it (the
 * executor); docs/SERVER.md says how and why.
 *
 * Threading: cxl_kv_server_poll() touches the engine's state and may be
 * called by several threads only if they hold a common lock (the module: the
 * Redis lock, held by Redis's main thread in its before-sleep hook and taken
 * by the serving thread). cxl_kv_server_run() is the serving thread's loop: it
 * checks for requests without touching the engine's state, and brackets each
 * poll with the executor's begin()/end() (the module takes Redis's lock
 * there). cxl_kv_server_pending(), cxl_kv_server_beat() and the stats calls
 * may be called from any thread. */
#ifndef CXL_KVSERVER_H
#define CXL_KVSERVER_H

#include <stdint.h>

#include "cxl/kvproto.h"
#include "cxl/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where an executor writes its one reply for one request. */
struct cxl_kv_reply;

/* Reply with a status and payload (copied into the response slot). */
void cxl_kv_reply(struct cxl_kv_reply *rp, uint16_t status, const void *data, uint32_t len);
void cxl_kv_reply_int(struct cxl_kv_reply *rp, int64_t value);
void cxl_kv_reply_error(struct cxl_kv_reply *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct cxl_kv_executor {
    void *ud;
    void (*begin)(void *ud); /* run(): before a poll (may be NULL) */
    void (*end)(void *ud);   /* run(): after a poll (may be NULL) */
    void (*execute)(void *ud, const struct cxl_kv_request *req, struct cxl_kv_reply *rp);
    int (*pass)(void *ud);   /* at the start of every pass, before any execute (may be NULL);
                             * non-zero: serve nothing this pass (the requests wait) */
};

struct cxl_keyring;

/* The idle back-off's defaults (docs/RING.md, "Waiting"): a wait of 100 ms
 * is idle, and an idle server sleeps up to 5 ms between polls. */
#define CXL_KV_SERVER_IDLE_AFTER_MS 100u
#define CXL_KV_SERVER_IDLE_SLEEP_US 5000u
/* A dense stream (requests found within spin_us) keeps the server spinning
 * up to 2 ms between requests (cxl_backoff_set_busy, cxl/wait.h). */
#define CXL_KV_SERVER_BUSY_SPIN_US 2000u

struct cxl_kv_server_config {
    struct cxl_keyring *keys; /* secure ring (docs/SECURITY.md); NULL: plain */
    uint32_t batch;         /* max requests per ring per pass (default 64) */
    uint32_t spin_us;       /* idle: spin this long (default 50) */
    uint32_t busy_spin_us;  /* a dense stream: spin up to this (0: spin_us; the module's default:
                             * CXL_KV_SERVER_BUSY_SPIN_US) */
    uint32_t yield_us;      /* then yield this long (default 1000) */
    uint32_t max_sleep_us;  /* then sleep, up to this (default 1000) */
    uint32_t idle_after_ms; /* a wait this long is idle (default 100) */
    uint32_t idle_sleep_us; /* idle: sleep up to this (default 5000; <= max_sleep_us: no deeper sleep) */
    uint32_t node_id;       /* announced in the header */
};

struct cxl_kv_ring_stats {
    uint64_t requests;  /* requests executed */
    uint64_t errors;    /* ERR replies (Redis errors included) */
    uint64_t rejected;  /* invalid or stale requests, not executed */
    uint64_t rejected_crypto; /* of which: failed to open (tampered, replayed, wrong key or epoch) */
    uint64_t resyncs;   /* times the request stream was dropped as corrupt */
    uint64_t resp_lost; /* replies lost because the response queue was corrupt */
    uint64_t stalls;    /* replies parked because the response queue was full */
    uint64_t bytes_in, bytes_out;
    uint64_t batches;
    uint64_t repairs;   /* times the ring was rebased (indices forged exhausted) */
    uint32_t broken;    /* ring unusable right now (indices out of range) */
};

struct cxl_kv_server_wait {
    uint64_t waited_ns, sleeps, yields, polls;
};

struct cxl_kv_server;

int cxl_kv_server_create(struct cxl_layout *l, const struct cxl_kv_server_config *cfg,
                         const struct cxl_kv_executor *ex, struct cxl_kv_server **out);
void cxl_kv_server_destroy(struct cxl_kv_server *s);

/* One pass over every ring: returns the number of requests handled. Does not
 * call begin()/end(): the caller holds whatever lock that needs. */
int cxl_kv_server_poll(struct cxl_kv_server *s);

/* Does any ring have requests waiting? Reads only the shared indices, so any
 * thread may ask at any time (for wake-up decisions). */
int cxl_kv_server_pending(const struct cxl_kv_server *s);

/* Poll until *stop becomes non-zero: polls (within begin/end) when requests
 * wait and every 10 ms regardless (parked replies, broken rings), backs off
 * when idle, beats the server heartbeat. */
void cxl_kv_server_run(struct cxl_kv_server *s, volatile int *stop);

/* Beat the server heartbeat if 50 ms have passed (one thread only). */
void cxl_kv_server_beat(struct cxl_kv_server *s);

void cxl_kv_server_stats(const struct cxl_kv_server *s, uint32_t ring,
                         struct cxl_kv_ring_stats *st);
void cxl_kv_server_wait_stats(const struct cxl_kv_server *s, struct cxl_kv_server_wait *w);

#ifdef __cplusplus
}
#endif
#endif
