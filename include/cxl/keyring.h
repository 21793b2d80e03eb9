/* cxl/keyring.h - the region keys a node holds for its rings (and, on
 * request, for a named region such as a published graph), and where they
 * come from: crypto mode (a 32-byte secret file on every node, epoch 0) or
 * cxl_sec_mgr (fetched over the authenticated channel, valid for `refresh`
 * seconds; docs/SECURITY.md). Thread-safe: the keyring's own thread fetches
 * the watched rings' keys when due, the serving or client threads look up
 * cached copies and notice changes by the version number. Keys are wiped when replaced and on close. */
#ifndef CXL_KEYRING_H
#define CXL_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cxl_keyring;

/* What a keyring's keys of a ring are (docs/SECURITY.md, "Keys"). */
enum cxl_keys_binding {
    CXL_KEYS_SHARED = 0, /* crypto mode: the same key on every node */
    CXL_KEYS_REGION = 1, /* the region key K(r, e): this node serves the ring,
                          * or is granted a range region (every such node holds it) */
    CXL_KEYS_NODE = 2,   /* this node's key K(r, e, n): a client of the ring */
};

/* The keys of one ring (or named region): the current epoch and, during a
 * rotation's grace, the previous one. */
struct cxl_ring_keys {
    enum cxl_keys_binding binding;
    uint32_t epoch;
    uint8_t key[32];
    int has_prev;
    uint32_t prev_epoch;
    uint8_t prev_key[32];
    uint64_t expires_ns;  /* cxl_now_ns() after which they must not be used
                           * (fetched + valid_for + a slow fetch of slack); crypto mode: never */
};

int cxl_keyring_open_crypto(const char *secret_file, struct cxl_keyring **out);
int cxl_keyring_open_manager(const char *mgr_hostport, uint16_t node_id, const char *key_file,
                             struct cxl_keyring **out);
void cxl_keyring_close(struct cxl_keyring *kr);

/* Ask the manager now for ring's keys (crypto mode: derive). Blocking; any
 * thread (fetches take turns on the keyring's one manager channel).
 * CXL_EDENIED if the ACL refuses, CXL_ESYS/CXL_ECRYPTO if unreachable. */
int cxl_keyring_fetch(struct cxl_keyring *kr, uint32_t ring);

/* The cached keys of ring, if held and not expired: 0, or CXL_EAGAIN (never
 * fetched) / CXL_ETIMEDOUT (expired: the manager was not reachable in time;
 * fail closed) with a message. Never blocks on the network. Whoever keeps a
 * copy must stop using it at out->expires_ns and look up again. */
int cxl_keyring_lookup(struct cxl_keyring *kr, uint32_t ring, struct cxl_ring_keys *out);

/* May node use ring (it is one of the ring's clients the manager listed
 * for this serving node)? 1 with the node's Redis ACL user in user (""
 * when the manager names none), 0 if not; crypto mode: 1 for any node,
 * user "". CXL_EAGAIN without keys. */
int cxl_keyring_client(struct cxl_keyring *kr, uint32_t ring, uint16_t node, char *user, size_t cap);

/* The keys of a region by name (a byte range such as a published graph,
 * docs/SECURITY.md, "Keys"), asked for now and not kept: blocking, any
 * thread (takes turns with ring fetches on the keyring's one manager
 * channel, reconnecting once if it broke). Manager mode: `KEYS name
 * <region>`; a range region's keys are its region key K(r, e), the same on
 * every granted node (binding CXL_KEYS_REGION), with the previous epoch
 * during a rotation's grace and expires_ns as for a ring. Crypto mode:
 * K(region, 0) from the secret file (binding CXL_KEYS_SHARED, epoch 0,
 * never expires). region: 1..63 of [A-Za-z0-9_.-], starting with a letter
 * (else CXL_EINVAL). CXL_EDENIED if the manager refuses (the message names
 * the region and the reason: no-grant, revoked, unknown-region),
 * CXL_ESYS/CXL_ECRYPTO if unreachable; *out is zeroed on every failure.
 * Not cached, not watched: ask again before out->expires_ns, and wipe the
 * copy with cxl_ring_keys_wipe. */
int cxl_keyring_region_keys(struct cxl_keyring *kr, const char *region, struct cxl_ring_keys *out);

/* The node id this keyring authenticates as to the manager (0 in crypto mode). */
uint16_t cxl_keyring_node(const struct cxl_keyring *kr);

/* Keeping keys fresh: the keyring's own thread (started by the first
 * cxl_keyring_watch, stopped by close) looks every 100 ms at the rings
 * watched and fetches each that is due; a ring is watched while more
 * cxl_keyring_watch than cxl_keyring_unwatch calls were made for it. The
 * thread's first look comes a tick after it starts: fetch what is needed at
 * once yourself, or call cxl_keyring_refresh (one pass on the calling thread;
 * returns how many fetches failed). report, set before the first watch,
 * hears each fetch's outcome (rc), on the thread that fetched. */
int cxl_keyring_watch(struct cxl_keyring *kr, uint32_t ring);
void cxl_keyring_unwatch(struct cxl_keyring *kr, uint32_t ring);
int cxl_keyring_refresh(struct cxl_keyring *kr);
void cxl_keyring_on_refresh(struct cxl_keyring *kr, void (*report)(void *ud, uint32_t ring, int rc), void *ud);

/* Bumps whenever any held key changes. */
uint64_t cxl_keyring_version(const struct cxl_keyring *kr);

void cxl_ring_keys_wipe(struct cxl_ring_keys *k);

/* The security flags every client tool takes (--secure --sec-mgr --sec-node-id
 * --sec-key / --crypto --sec-key-file), with the original prototype's environment variables
 * CXL_SEC_MGR, CXL_SEC_NODE_ID, CXL_SEC_KEY, CXL_SEC_KEY_FILE as defaults. */
struct cxl_sec_opts {
    int secure, crypto;
    const char *mgr;      /* HOST:PORT */
    const char *key;      /* this node's key file */
    const char *key_file; /* crypto mode: the shared secret */
    uint16_t node_id;
    int node_id_given;
};
/* The keyring those options ask for; *out = NULL when neither is set. */
int cxl_keyring_open_opts(const struct cxl_sec_opts *o, struct cxl_keyring **out);

#ifdef __cplusplus
}
#endif
#endif
