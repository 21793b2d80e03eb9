/* cxl/kv.h - a Redis client over a cxl-dsm ring.
 *
 * cxl_kv_open() maps the medium, claims a ring and keeps it alive (a helper
 * thread beats the ring's heartbeat). Requests are submitted without being
 * published, cxl_kv_flush() publishes everything submitted so far (one
 * store), and results come back in submission order from cxl_kv_poll() (does
 * not wait) or cxl_kv_wait() (waits, up to the timeout). A result's data
 * stays valid until the next poll/wait/close on the same handle.
 *
 *     cxl_kv_submit_set(kv, "k", 1, "v", 1, 0, 1);
 *     cxl_kv_submit_get(kv, "k", 1, 2);
 *     struct cxl_kv_result r;
 *     while (cxl_kv_inflight(kv) && cxl_kv_wait(kv, &r) == 1)
 *         use(r.tag, r.status, r.data, r.len);
 *
 * One handle is driven by one thread at a time. Use one handle (one ring) per
 * thread for parallelism. */
#ifndef CXL_KV_H
#define CXL_KV_H

#include <stddef.h>
#include <stdint.h>

#include "cxl/kvproto.h"
#include "cxl/medium.h"
#include "cxl/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_keyring;

struct cxl_kv_config {
    struct cxl_medium_config medium;
    struct cxl_keyring *keys; /* secure ring (cxl/keyring.h); NULL: plain */
    int ring;                /* ring to claim; -1: any free one */
    uint16_t node_id;
    uint32_t timeout_ms;     /* per request (default 5000) */
    uint32_t claim_wait_ms;  /* wait for a ring (default reclaim_ms + 1000) */
    uint32_t reclaim_ms;     /* a silent owner is dead after (default 2000) */
    uint32_t spin_us;        /* waiting: spin this long (default 50) */
    uint32_t yield_us;       /* then yield this long (default 500) */
    uint32_t max_sleep_us;   /* then sleep, up to this (default 50) */
    struct cxl_delay_model delay; /* the delay model (cxl/wait.h, docs/RING.md; default off) */
    int no_heartbeat_thread; /* the caller calls cxl_kv_heartbeat() itself */
    const char *user;        /* with password: AUTH as this Redis ACL user on */
    const char *password;    /* open (user NULL: the default user), as a TCP client would */
};

void cxl_kv_config_init(struct cxl_kv_config *c);

struct cxl_kv_result {
    uint64_t tag;          /* as given at submit */
    int status;            /* CXL_KV_OK/NIL/ERR/REPLY/INT, or a negative CXL_E* */
    uint16_t op;           /* the request's op */
    const uint8_t *data;   /* value, error text, or RESP reply bytes */
    uint32_t len;
    int64_t integer;       /* CXL_KV_INT */
};

struct cxl_kv_stats {
    uint64_t submitted, completed;
    uint64_t full;      /* submits refused: request queue full */
    uint64_t lost;      /* requests the server consumed but never answered */
    uint64_t timeouts;
    uint64_t stale;     /* responses to requests nobody waits for any more */
    uint64_t resyncs;   /* corrupt response streams dropped */
    uint64_t rejected;  /* responses that failed to open (secure ring) */
    uint64_t batches;   /* sealed request batches sent (secure ring: one AEAD each) */
    uint64_t waited_ns, sleeps;
};

struct cxl_kv;

/* Map, claim, and with cfg->password authenticate the ring's own connection
 * (CXL_EDENIED with Redis's answer if it refuses). */
int cxl_kv_open(const struct cxl_kv_config *cfg, struct cxl_kv **out);
void cxl_kv_close(struct cxl_kv *kv);

/* Submit (not yet published). 0, CXL_EAGAIN (queue full: poll, then retry),
 * CXL_E2BIG (never fits), CXL_ELOST (ring lost), CXL_ECORRUPT. */
int cxl_kv_submit_get(struct cxl_kv *kv, const void *key, uint32_t klen, uint64_t tag);
int cxl_kv_submit_set(struct cxl_kv *kv, const void *key, uint32_t klen, const void *val,
                      uint32_t vlen, uint64_t ttl_ms, uint64_t tag);
int cxl_kv_submit_del(struct cxl_kv *kv, const void *key, uint32_t klen, uint64_t tag);
int cxl_kv_submit_command(struct cxl_kv *kv, int argc, const char *const *argv,
                          const size_t *argvlen, uint64_t tag);

void cxl_kv_flush(struct cxl_kv *kv);

/* 1 = *r holds the next result, 0 = none ready, < 0 = the handle is unusable
 * (CXL_ELOST). A request that timed out completes with status CXL_ETIMEDOUT,
 * or CXL_ESERVER when the server's heartbeat has stopped. */
int cxl_kv_poll(struct cxl_kv *kv, struct cxl_kv_result *r);
/* Flush, then wait for the next result (1), or < 0 as for poll. 0 only if
 * nothing is in flight. */
int cxl_kv_wait(struct cxl_kv *kv, struct cxl_kv_result *r);

/* One request, waited for. Returns the result's status. */
int cxl_kv_command(struct cxl_kv *kv, int argc, const char *const *argv, const size_t *argvlen,
                   struct cxl_kv_result *r);

/* The connection the next submits come from (0, the default, is the ring's
 * own). A client that multiplexes several connections over one ring (the
 * RESP gateway) names each, so that AUTH, HELLO ... AUTH and RESET change
 * that connection's Redis user only (docs/KV.md, "Identity"). */
void cxl_kv_set_conn(struct cxl_kv *kv, uint16_t conn);

uint32_t cxl_kv_inflight(const struct cxl_kv *kv);
uint32_t cxl_kv_ring(const struct cxl_kv *kv);
const struct cxl_geometry *cxl_kv_geometry(const struct cxl_kv *kv);
struct cxl_layout *cxl_kv_layout(const struct cxl_kv *kv);
void cxl_kv_get_stats(const struct cxl_kv *kv, struct cxl_kv_stats *st);

/* With no_heartbeat_thread: prove liveness at least every 100 ms. */
int cxl_kv_heartbeat(struct cxl_kv *kv);

#ifdef __cplusplus
}
#endif
#endif
