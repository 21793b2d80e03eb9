/* keyring.c - region keys per ring, from a secret file (crypto mode) or from
 * cxl_sec_mgr (secure mode); cached, refreshed, expired fail-closed. Also a
 * named region's keys on request (cxl_keyring_region_keys: a range region
 * such as a published graph), fetched through the same channel and the same
 * request path, and not cached. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cxl/keyring.h"
#include "cxl/ring.h"
#include "sec/seal.h"
#include "sec/sec.h"
#include "cxl/util.h"
#include "cxl/wait.h"

#define EXPIRY_GRACE_NS (500ull * 1000 * 1000) /* one slow fetch of slack */

struct entry {
    int have;
    struct cxl_ring_keys k;
    uint64_t fetched_ns, valid_ns;
};

/* A served ring's clients (public: kept outside the locked key memory). */
struct clients {
    uint32_t n;
    struct cxl_region_client c[];
};

struct cxl_keyring {
    pthread_mutex_t mu;          /* the entries, clients, version */
    pthread_mutex_t fetch_mu;    /* one fetch at a time: it owns conn (threads share a keyring) */
    pthread_mutex_t refresh_mu;  /* one refresh pass at a time: reports never overlap */
    int manager;                 /* 0: crypto mode */
    uint8_t master[32];          /* crypto mode */
    char mgr[256];
    uint16_t node_id;
    struct cxl_node_key node_key;
    struct cxl_mgr_conn *conn;
    uint64_t version;
    struct entry e[CXL_MAX_RINGS];
    struct clients **clients; /* [CXL_MAX_RINGS], for rings served (binding REGION) */
    /* keeping keys fresh: the rings watched (a count each, under mu), the thread */
    uint16_t watched[CXL_MAX_RINGS];
    pthread_t fresh_thread;
    int fresh_started, fresh_stop;
    void (*report)(void *ud, uint32_t ring, int rc);
    void *report_ud;
};

static int new_keyring(struct cxl_keyring **out)
{
    struct cxl_keyring *kr = sodium_malloc(sizeof *kr);
    if (!kr)
        return cxl_fail(CXL_ESYS, "out of (locked) memory for keys");
    memset(kr, 0, sizeof *kr);
    pthread_mutex_init(&kr->mu, NULL);
    pthread_mutex_init(&kr->fetch_mu, NULL);
    pthread_mutex_init(&kr->refresh_mu, NULL);
    if (!(kr->clients = calloc(CXL_MAX_RINGS, sizeof *kr->clients))) {
        sodium_free(kr);
        return cxl_fail(CXL_ESYS, "out of memory");
    }
    *out = kr;
    return 0;
}

int cxl_keyring_open_crypto(const char *secret_file, struct cxl_keyring **out)
{
    if (!secret_file || !*secret_file)
        return cxl_fail(CXL_EINVAL, "crypto mode needs a key file (--sec-key-file / key_file=)");
    struct cxl_keyring *kr = NULL;
    int rc = cxl_crypto_init();
    if (rc == 0)
        rc = new_keyring(&kr);
    if (rc)
        return rc;
    if ((rc = cxl_secret_file_load(secret_file, kr->master)) != 0) {
        cxl_keyring_close(kr);
        return rc;
    }
    *out = kr;
    return 0;
}

int cxl_keyring_open_manager(const char *mgr_hostport, uint16_t node_id, const char *key_file,
                             struct cxl_keyring **out)
{
    if (!mgr_hostport || !*mgr_hostport || !key_file || !*key_file)
        return cxl_fail(CXL_EINVAL, "secure mode needs the manager address and this node's key file");
    struct cxl_keyring *kr = NULL;
    int rc = cxl_crypto_init();
    if (rc == 0)
        rc = new_keyring(&kr);
    if (rc)
        return rc;
    kr->manager = 1;
    kr->node_id = node_id;
    snprintf(kr->mgr, sizeof kr->mgr, "%s", mgr_hostport);
    if ((rc = cxl_node_key_load(key_file, &kr->node_key)) != 0) {
        cxl_keyring_close(kr);
        return rc;
    }
    *out = kr;
    return 0;
}

void cxl_keyring_close(struct cxl_keyring *kr)
{
    if (!kr)
        return;
    if (kr->fresh_started) {
        __atomic_store_n(&kr->fresh_stop, 1, __ATOMIC_RELEASE);
        pthread_join(kr->fresh_thread, NULL);
    }
    if (kr->conn)
        cxl_mgr_close(kr->conn);
    cxl_node_key_wipe(&kr->node_key);
    for (uint32_t i = 0; kr->clients && i < CXL_MAX_RINGS; i++)
        free(kr->clients[i]);
    free(kr->clients);
    pthread_mutex_destroy(&kr->mu);
    pthread_mutex_destroy(&kr->fetch_mu);
    pthread_mutex_destroy(&kr->refresh_mu);
    sodium_free(kr); /* wipes */
}

void cxl_ring_keys_wipe(struct cxl_ring_keys *k)
{
    sodium_memzero(k, sizeof *k);
}

/* Crypto mode: K(region, 0), the same on every holder of the file. */
static int derive_named(const struct cxl_keyring *kr, const char *region, struct cxl_ring_keys *k)
{
    *k = (struct cxl_ring_keys){.epoch = 0, .binding = CXL_KEYS_SHARED, .expires_ns = UINT64_MAX};
    int rc = cxl_region_key(kr->master, region, 0, k->key);
    if (rc)
        cxl_ring_keys_wipe(k);
    return rc;
}

/* Crypto mode: the region of ring n is "ring<n>", epoch 0, forever. */
static int derive(struct cxl_keyring *kr, uint32_t ring, struct entry *e)
{
    char name[16];
    snprintf(name, sizeof name, "ring%u", ring);
    int rc = derive_named(kr, name, &e->k);
    if (rc == 0)
        e->valid_ns = UINT64_MAX / 2;
    return rc;
}

static struct clients *copy_clients(const struct cxl_region_keys *got)
{
    struct clients *c = malloc(sizeof *c + got->n_clients * sizeof c->c[0]);
    if (c) {
        c->n = got->n_clients;
        memcpy(c->c, got->clients, got->n_clients * sizeof c->c[0]);
    }
    return c;
}

/* Manager mode: one KEYS request (region by name if not NULL, else ring) on
 * the (re)connected channel: a broken channel gets one fresh handshake. The
 * caller holds fetch_mu (the request owns conn). */
static int ask_mgr(struct cxl_keyring *kr, const char *region, uint32_t ring, struct cxl_region_keys *got)
{
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!kr->conn && (rc = cxl_mgr_connect(kr->mgr, kr->node_id, &kr->node_key, 3000, &kr->conn)) != 0)
            return rc;
        rc = region ? cxl_mgr_get_keys_name(kr->conn, region, got) : cxl_mgr_get_keys_ring(kr->conn, ring, got);
        if (rc == 0 || rc == CXL_EDENIED)
            break;
        cxl_mgr_close(kr->conn);
        kr->conn = NULL;
    }
    return rc;
}

/* The keys of a KEYS reply (expires_ns left to the caller). */
static void keys_from(const struct cxl_region_keys *got, struct cxl_ring_keys *k)
{
    *k = (struct cxl_ring_keys){.epoch = (uint32_t)got->epoch, .has_prev = got->has_prev,
                                .prev_epoch = (uint32_t)got->prev_epoch,
                                .binding = got->binding == CXL_SEC_BIND_REGION ? CXL_KEYS_REGION : CXL_KEYS_NODE};
    memcpy(k->key, got->key, 32);
    memcpy(k->prev_key, got->prev_key, 32);
}

/* Manager mode: a ring's keys (and, if it is served here, its clients). */
static int ask_into(struct cxl_keyring *kr, uint32_t ring, struct cxl_region_keys *got, struct entry *e,
                    struct clients **clients)
{
    int rc = ask_mgr(kr, NULL, ring, got);
    if (rc)
        return rc;
    keys_from(got, &e->k);
    if (got->binding == CXL_SEC_BIND_REGION && !(*clients = copy_clients(got)))
        return cxl_fail(CXL_ESYS, "out of memory for ring %u's clients", ring);
    e->valid_ns = (uint64_t)got->valid_for_ms * 1000000u;
    return 0;
}

/* A reply's room in locked memory (large: the client list); sodium_free wipes it. */
static struct cxl_region_keys *reply_room(void)
{
    struct cxl_region_keys *got = sodium_malloc(sizeof *got);
    if (!got)
        cxl_fail(CXL_ESYS, "out of (locked) memory for keys");
    return got;
}

static int ask(struct cxl_keyring *kr, uint32_t ring, struct entry *e, struct clients **clients)
{
    struct cxl_region_keys *got = reply_room();
    if (!got)
        return CXL_ESYS;
    int rc = ask_into(kr, ring, got, e, clients);
    sodium_free(got); /* wipes */
    return rc;
}

/* Manager mode: a region's keys by name, not cached. */
static int ask_region(struct cxl_keyring *kr, const char *region, struct cxl_ring_keys *out)
{
    struct cxl_region_keys *got = reply_room();
    if (!got)
        return CXL_ESYS;
    pthread_mutex_lock(&kr->fetch_mu);
    int rc = ask_mgr(kr, region, 0, got);
    pthread_mutex_unlock(&kr->fetch_mu);
    if (rc == 0) {
        keys_from(got, out);
        out->expires_ns = cxl_now_ns() + (uint64_t)got->valid_for_ms * 1000000u + EXPIRY_GRACE_NS;
    }
    sodium_free(got); /* wipes */
    return rc;
}

int cxl_keyring_region_keys(struct cxl_keyring *kr, const char *region, struct cxl_ring_keys *out)
{
    memset(out, 0, sizeof *out);
    if (!cxl_sec_name_valid(region))
        return cxl_fail(CXL_EINVAL, "'%.64s' is not a region name (1..63 of [A-Za-z0-9_.-], "
                        "starting with a letter)", region ? region : "(null)");
    return kr->manager ? ask_region(kr, region, out) : derive_named(kr, region, out);
}

static int same_clients(const struct clients *a, const struct clients *b)
{
    if (!a || !b)
        return a == b;
    return a->n == b->n && memcmp(a->c, b->c, a->n * sizeof a->c[0]) == 0;
}

int cxl_keyring_fetch(struct cxl_keyring *kr, uint32_t ring)
{
    if (ring >= CXL_MAX_RINGS)
        return cxl_fail(CXL_EINVAL, "ring %u out of range", ring);
    struct entry fresh = {0};
    struct clients *clients = NULL;
    pthread_mutex_lock(&kr->fetch_mu);
    int rc = kr->manager ? ask(kr, ring, &fresh, &clients) : derive(kr, ring, &fresh);
    pthread_mutex_unlock(&kr->fetch_mu);
    pthread_mutex_lock(&kr->mu);
    struct entry *e = &kr->e[ring];
    if (rc == 0) {
        int changed = !e->have || e->k.epoch != fresh.k.epoch || e->k.has_prev != fresh.k.has_prev ||
                      e->k.binding != fresh.k.binding || !same_clients(kr->clients[ring], clients);
        cxl_ring_keys_wipe(&e->k);
        *e = fresh;
        free(kr->clients[ring]);
        kr->clients[ring] = clients;
        clients = NULL;
        e->have = 1;
        e->fetched_ns = cxl_now_ns();
        if (changed)
            __atomic_add_fetch(&kr->version, 1, __ATOMIC_RELEASE);
    } else if (rc == CXL_EDENIED && e->have) { /* revoked: forget at once */
        cxl_ring_keys_wipe(&e->k);
        e->have = 0;
        __atomic_add_fetch(&kr->version, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&kr->mu);
    free(clients);
    cxl_ring_keys_wipe(&fresh.k);
    return rc;
}

int cxl_keyring_lookup(struct cxl_keyring *kr, uint32_t ring, struct cxl_ring_keys *out)
{
    if (ring >= CXL_MAX_RINGS)
        return cxl_fail(CXL_EINVAL, "ring %u out of range", ring);
    pthread_mutex_lock(&kr->mu);
    const struct entry *e = &kr->e[ring];
    int rc = 0;
    if (!e->have)
        rc = cxl_fail(CXL_EAGAIN, "no keys for ring %u (not granted, or not fetched yet)", ring);
    else if (cxl_now_ns() - e->fetched_ns > e->valid_ns + EXPIRY_GRACE_NS)
        rc = cxl_fail(CXL_ETIMEDOUT, "keys for ring %u expired: the manager was not reachable", ring);
    else {
        *out = e->k;
        out->expires_ns = kr->manager ? e->fetched_ns + e->valid_ns + EXPIRY_GRACE_NS : UINT64_MAX;
    }
    pthread_mutex_unlock(&kr->mu);
    return rc;
}

int cxl_keyring_client(struct cxl_keyring *kr, uint32_t ring, uint16_t node, char *user, size_t cap)
{
    if (ring >= CXL_MAX_RINGS)
        return cxl_fail(CXL_EINVAL, "ring %u out of range", ring);
    int rc = 0;
    if (cap)
        user[0] = '\0';
    pthread_mutex_lock(&kr->mu);
    const struct entry *e = &kr->e[ring];
    const struct clients *c = kr->clients[ring];
    if (!e->have)
        rc = cxl_fail(CXL_EAGAIN, "no keys for ring %u", ring);
    else if (e->k.binding == CXL_KEYS_SHARED)
        rc = 1;
    for (uint32_t i = 0; e->have && e->k.binding == CXL_KEYS_REGION && c && i < c->n && rc == 0; i++)
        if (c->c[i].node == node) {
            snprintf(user, cap, "%s", c->c[i].user);
            rc = 1;
        }
    pthread_mutex_unlock(&kr->mu);
    return rc;
}

uint16_t cxl_keyring_node(const struct cxl_keyring *kr)
{
    return kr->manager ? kr->node_id : 0;
}

/* Is a fetch due for ring (half its validity elapsed, or never fetched)? */
static int due(struct cxl_keyring *kr, uint32_t ring)
{
    if (ring >= CXL_MAX_RINGS)
        return 0;
    pthread_mutex_lock(&kr->mu);
    const struct entry *e = &kr->e[ring];
    int due = !e->have || cxl_now_ns() - e->fetched_ns >= e->valid_ns / 2;
    pthread_mutex_unlock(&kr->mu);
    return due;
}

uint64_t cxl_keyring_version(const struct cxl_keyring *kr)
{
    return __atomic_load_n(&kr->version, __ATOMIC_ACQUIRE);
}

/* --- keeping keys fresh -------------------------------------------------------- */

#define FRESH_TICK_MS 100

void cxl_keyring_on_refresh(struct cxl_keyring *kr, void (*report)(void *ud, uint32_t ring, int rc), void *ud)
{
    kr->report = report;
    kr->report_ud = ud;
}

int cxl_keyring_refresh(struct cxl_keyring *kr)
{
    uint16_t watched[CXL_MAX_RINGS];
    pthread_mutex_lock(&kr->mu);
    memcpy(watched, kr->watched, sizeof watched);
    pthread_mutex_unlock(&kr->mu);
    int failed = 0;
    pthread_mutex_lock(&kr->refresh_mu);
    for (uint32_t r = 0; r < CXL_MAX_RINGS; r++) {
        if (!watched[r] || !due(kr, r))
            continue;
        int rc = cxl_keyring_fetch(kr, r); /* refused: lookups fail, requests too */
        failed += rc != 0;
        if (kr->report)
            kr->report(kr->report_ud, r, rc);
    }
    pthread_mutex_unlock(&kr->refresh_mu);
    return failed;
}

static void *fresh_thread(void *arg)
{
    struct cxl_keyring *kr = arg;
    struct timespec tick = {0, FRESH_TICK_MS * 1000000L};
    while (!__atomic_load_n(&kr->fresh_stop, __ATOMIC_ACQUIRE)) {
        nanosleep(&tick, NULL); /* the caller fetched what it needs first */
        cxl_keyring_refresh(kr);
    }
    return NULL;
}

int cxl_keyring_watch(struct cxl_keyring *kr, uint32_t ring)
{
    if (ring >= CXL_MAX_RINGS)
        return cxl_fail(CXL_EINVAL, "ring %u out of range", ring);
    pthread_mutex_lock(&kr->mu);
    kr->watched[ring]++;
    int start = !kr->fresh_started;
    kr->fresh_started = 1;
    pthread_mutex_unlock(&kr->mu);
    if (start && pthread_create(&kr->fresh_thread, NULL, fresh_thread, kr) != 0) {
        pthread_mutex_lock(&kr->mu);
        kr->watched[ring]--;
        kr->fresh_started = 0;
        pthread_mutex_unlock(&kr->mu);
        return cxl_fail(CXL_ESYS, "cannot start the keyring's refresh thread");
    }
    return 0;
}

void cxl_keyring_unwatch(struct cxl_keyring *kr, uint32_t ring)
{
    pthread_mutex_lock(&kr->mu);
    if (ring < CXL_MAX_RINGS && kr->watched[ring])
        kr->watched[ring]--;
    pthread_mutex_unlock(&kr->mu);
}

/* --- the tools' security options (config/options.c fills them) -------------- */

int cxl_keyring_open_opts(const struct cxl_sec_opts *o, struct cxl_keyring **out)
{
    *out = NULL;
    if (o->secure)
        return cxl_keyring_open_manager(o->mgr, o->node_id, o->key, out);
    if (o->crypto)
        return cxl_keyring_open_crypto(o->key_file, out);
    return 0;
}
