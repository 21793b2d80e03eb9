/* secure_end.h - one end of a secure ring (private to libcxldsm): the keys
 * it opens with (current and previous epoch) and seals with, derived from the
 * keyring, the ring's client session and the server instance; the position
 * windows that outlive key changes; private plaintext buffers. The server end
 * opens requests and seals replies, the client end the reverse.
 * docs/SECURITY.md is the specification. */
#ifndef CXL_SECURE_END_H
#define CXL_SECURE_END_H

#include "cxl/keyring.h"
#include "sec/seal.h"

struct secure_end {
    struct cxl_keyring *keys;
    enum cxl_cipher cipher;
    uint32_t ring;
    enum cxl_dir open_dir, seal_dir;
    uint64_t format_id;
    uint64_t keys_version;   /* keyring version the keys were derived at */
    uint64_t expires_ns;     /* the keys' end of validity (cxl_now_ns) */
    uint32_t gen;            /* ring owner generation (session number) */
    uint16_t node;           /* the claimant's node id the keys are bound to */
    int opened;              /* a message of session (open_gen, open_node) opened: the */
    uint32_t open_gen;       /* session's node is that one from then on (kv_server.c) */
    uint16_t open_node;
    uint8_t session[16];     /* the client's session value */
    uint8_t server_nonce[16];
    struct cxl_seal open_cur, open_prev, seal;
    int have_prev, ready;
    uint64_t open_next, seal_next; /* position windows, kept across re-keying */
    uint8_t *open_buf, *seal_buf;  /* max_payload + CXL_MSG_HDR_MAX each */
};

/* role: CXL_CONSUMER for the server end (opens requests), CXL_PRODUCER for
 * the client end (seals requests). */
int secure_end_init(struct secure_end *e, struct cxl_keyring *keys, const struct cxl_layout *l,
                    uint32_t ring, enum cxl_role role);
void secure_end_free(struct secure_end *e);

/* (Re)derive the keys for this session from the keyring's current keys,
 * bound to node, the claimant's node id (docs/SECURITY.md, "Keys"): a
 * server end derives that node's key from the region key, and refuses a
 * node that is not one of the ring's clients; a client end uses its own
 * node key. */
int secure_end_rekey(struct secure_end *e, uint32_t gen, uint16_t node, const uint8_t session[16],
                     const uint8_t server_nonce[16]);

/* Do the keys need re-deriving (keyring changed, other session or node,
 * or they expired: a refresh that did not change them extends them, one
 * that failed leaves the end without keys - fail closed)? now: cxl_now_ns(). */
static inline int secure_end_stale(const struct secure_end *e, uint32_t gen, uint16_t node, uint64_t now)
{
    return !e->ready || e->gen != gen || e->node != node || cxl_keyring_version(e->keys) != e->keys_version ||
           now >= e->expires_ns;
}

/* One answer per position: every position below open_next has had its
 * answer (the request ran, was refused, or was dropped with a corrupt
 * stream). A message there is neither opened nor answered again, whatever
 * key it carries: else a position refused for a forgery could later run the
 * genuine request (its client was told ERR), or a replay of a request that
 * ran could be answered ERR (docs/SECURITY.md, "The secure message"). */
static inline int secure_end_answered(const struct secure_end *e, uint64_t pos)
{
    return pos < e->open_next;
}
void secure_end_skip(struct secure_end *e, uint64_t next);

/* The ring was rebased: positions start again at 0. Keys are dropped (the
 * session that held them is over) and the windows restart. */
void secure_end_restart(struct secure_end *e);

/* Open a peeked message into open_buf (see cxl_open_msg), with the key of
 * its epoch. */
int secure_end_open(struct secure_end *e, struct cxl_msg *m);

/* Make the private header hdr a sealed one, before it is reserved (see
 * cxl_seal_header). CXL_ECRYPTO if there are no keys. */
int secure_end_header(struct secure_end *e, struct cxl_msg_hdr *hdr);

/* Seal plen bytes of private plaintext (encrypted in place, then copied)
 * into the reserved message's payload, from the private header hdr (see
 * cxl_seal_msg). The plaintext may be
 * composed in secure_end_stage(e) (secure_end_stage_size(e) bytes). */
int secure_end_seal(struct secure_end *e, const struct cxl_msg_hdr *hdr, uint8_t *payload, uint8_t *plain,
                    uint32_t plen);
static inline uint8_t *secure_end_stage(struct secure_end *e)
{
    return e->seal_buf;
}

#endif
