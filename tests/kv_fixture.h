/* kv_fixture.h - a KV client and server in one test process over a fixture
 * medium (fixture.h): the client with a test's settings, one round trip
 * served by the test itself, a queue's line at a position. */
#ifndef CXL_TEST_KV_FIXTURE_H
#define CXL_TEST_KV_FIXTURE_H

#include "check.h"
#include "fixture.h"
#include "cxl/kv.h"
#include "cxl/keyring.h"
#include "cxl/kvserver.h"
#include "sec/seal.h"
#include "ring/layout.h" /* the queues' lines, for tests that play the other host */

/* A client of ring (keys NULL: a plain ring) with a test's settings: no
 * heartbeat thread, short spins, timeout_ms per request; expect_rc is what
 * cxl_kv_open must return. */
static inline struct cxl_kv *kv_fixture_client(const struct fixture *f, int ring, struct cxl_keyring *keys,
                                               uint32_t timeout_ms, int expect_rc)
{
    struct cxl_kv_config cfg;
    cxl_kv_config_init(&cfg);
    cfg.medium.path = f->path;
    cfg.ring = ring;
    cfg.keys = keys;
    cfg.timeout_ms = timeout_ms;
    cfg.claim_wait_ms = 100;
    cfg.no_heartbeat_thread = 1;
    cfg.spin_us = cfg.yield_us = 1;
    struct cxl_kv *kv = NULL;
    CHECK_EQ(cxl_kv_open(&cfg, &kv), expect_rc);
    return kv;
}

/* Flush, then let srv serve and kv poll until a result: its status, or the
 * poll's error, or -999 after tries passes. */
static inline int kv_fixture_roundtrip(struct cxl_kv_server *srv, struct cxl_kv *kv, struct cxl_kv_result *r,
                                       int tries)
{
    cxl_kv_flush(kv);
    for (int i = 0; i < tries; i++) {
        cxl_kv_server_poll(srv);
        int rc = cxl_kv_poll(kv, r);
        if (rc)
            return rc == 1 ? r->status : rc;
    }
    return -999;
}

/* The line of a queue at position pos. */
static inline uint8_t *kv_fixture_line(const struct fixture *f, uint32_t ring, enum cxl_dir dir, uint64_t pos)
{
    const struct cxl_geometry *g = cxl_layout_geometry(f->layout);
    return cxl_queue_slots_of(f->layout, ring, dir) + (pos % g->slots) * g->slot_size;
}

/* A secure medium for f (1 MiB, 4 rings, this CPU's default cipher), keys
 * from the shared secret file at secret_path for the server (every ring
 * fetched) and for the client, and a serving engine running ex. */
static inline void kv_fixture_secure(struct fixture *f, const char *secret_path, const struct cxl_kv_executor *ex,
                                     struct cxl_keyring **srv_keys, struct cxl_keyring **cli_keys,
                                     struct cxl_kv_server **srv)
{
    uint32_t flags = CXL_LAYOUT_F_SECURE |
                     (cxl_cipher_default() == CXL_CIPHER_XCHACHA ? CXL_LAYOUT_F_XCHACHA : 0);
    CHECK_EQ(fixture_open_flags(f, "/dev/shm", 1 << 20, 4, CXL_DEFAULT_SLOT_SIZE, flags), 0);
    CHECK_EQ(cxl_keyring_open_crypto(secret_path, srv_keys), 0);
    CHECK_EQ(cxl_keyring_open_crypto(secret_path, cli_keys), 0);
    for (uint32_t i = 0; i < 4; i++)
        CHECK_EQ(cxl_keyring_fetch(*srv_keys, i), 0);
    struct cxl_kv_server_config sc = {.keys = *srv_keys};
    CHECK_EQ(cxl_kv_server_create(f->layout, &sc, ex, srv), 0);
}

#endif
