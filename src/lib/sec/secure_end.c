/* secure_end.c - one end of a secure ring: key derivation from the keyring
 * and the session values, epoch selection, windows kept across re-keying. */
#include <stdlib.h>
#include <string.h>

#include "cxl/util.h"
#include "sec/sec.h"
#include "sec/secure_end.h"

int secure_end_init(struct secure_end *e, struct cxl_keyring *keys, const struct cxl_layout *l,
                    uint32_t ring, enum cxl_role role)
{
    memset(e, 0, sizeof *e);
    const struct cxl_geometry *g = cxl_layout_geometry(l);
    int rc = cxl_cipher_of_layout(g, &e->cipher);
    if (rc)
        return rc;
    e->keys = keys;
    e->ring = ring;
    e->format_id = g->format_id;
    e->open_dir = role == CXL_CONSUMER ? CXL_REQ : CXL_RESP;
    e->seal_dir = role == CXL_CONSUMER ? CXL_RESP : CXL_REQ;
    /* any length the ring layer delivers (a header of 12 B leaves room for
     * max_payload + 32), and any message this end can reserve */
    e->open_buf = malloc((size_t)g->max_payload + CXL_MSG_HDR_MAX);
    e->seal_buf = malloc((size_t)g->max_payload + CXL_MSG_HDR_MAX);
    if (!e->open_buf || !e->seal_buf) {
        secure_end_free(e);
        return cxl_fail(CXL_ESYS, "out of memory for the secure ring buffers");
    }
    return 0;
}

static void wipe_keys(struct secure_end *e)
{
    cxl_seal_wipe(&e->open_cur);
    cxl_seal_wipe(&e->open_prev);
    cxl_seal_wipe(&e->seal);
    e->ready = 0;
}

void secure_end_free(struct secure_end *e)
{
    wipe_keys(e);
    free(e->open_buf);
    free(e->seal_buf);
    e->open_buf = e->seal_buf = NULL;
}

/* The key the session keys derive from: the claimant's node key. A server
 * end holds the region key and derives it; a client end holds it. */
static int bound_key(struct secure_end *e, uint16_t node, const uint8_t held[32], enum cxl_keys_binding b,
                     uint8_t out[32])
{
    if (b == CXL_KEYS_SHARED || (b == CXL_KEYS_NODE && e->open_dir == CXL_RESP)) {
        memcpy(out, held, 32);
        return 0;
    }
    if (b == CXL_KEYS_NODE) /* a server end with a client's grant */
        return cxl_fail(CXL_EDENIED, "ring %u: this server holds the ring's keys as a client (an rw grant): "
                        "a server needs 'grant <node> <region> serve' in cxl_sec_mgr's ACL", e->ring);
    return cxl_node_region_key(held, node, out);
}

static int derive_all(struct secure_end *e, const struct cxl_ring_keys *k, uint32_t gen, uint16_t node,
                      const uint8_t session[16], const uint8_t server_nonce[16])
{
    uint8_t cur[32], prev[32];
    struct cxl_seal_binding open = {.format_id = e->format_id, .ring = e->ring, .dir = e->open_dir, .gen = gen,
                                    .node = node}, seal = open;
    seal.dir = e->seal_dir;
    memcpy(open.client_session, session, 16);
    memcpy(open.server_nonce, server_nonce, 16);
    memcpy(seal.client_session, session, 16);
    memcpy(seal.server_nonce, server_nonce, 16);
    int rc = bound_key(e, node, k->key, k->binding, cur);
    if (rc == 0)
        rc = cxl_seal_derive(&e->open_cur, e->cipher, cur, k->epoch, &open);
    if (rc == 0)
        rc = cxl_seal_derive(&e->seal, e->cipher, cur, k->epoch, &seal);
    e->have_prev = rc == 0 && k->has_prev;
    if (e->have_prev && (rc = bound_key(e, node, k->prev_key, k->binding, prev)) == 0)
        rc = cxl_seal_derive(&e->open_prev, e->cipher, prev, k->prev_epoch, &open);
    sodium_memzero(cur, sizeof cur);
    sodium_memzero(prev, sizeof prev);
    return rc;
}

int secure_end_rekey(struct secure_end *e, uint32_t gen, uint16_t node, const uint8_t session[16],
                     const uint8_t server_nonce[16])
{
    uint64_t version = cxl_keyring_version(e->keys);
    struct cxl_ring_keys k;
    wipe_keys(e);
    int rc = cxl_keyring_lookup(e->keys, e->ring, &k);
    if (rc)
        return rc;
    if (e->open_dir == CXL_REQ && k.binding == CXL_KEYS_REGION) { /* a server: is node a client? */
        char user[8];
        int member = cxl_keyring_client(e->keys, e->ring, node, user, sizeof user);
        if (member != 1) {
            cxl_ring_keys_wipe(&k);
            return member < 0 ? member
                              : cxl_fail(CXL_EDENIED, "ring %u: node %u is not one of its clients in "
                                         "cxl_sec_mgr's ACL (no rw grant)", e->ring, node);
        }
    }
    uint64_t expires = k.expires_ns;
    rc = derive_all(e, &k, gen, node, session, server_nonce);
    cxl_ring_keys_wipe(&k);
    if (rc) {
        wipe_keys(e);
        return rc;
    }
    e->open_cur.next = e->open_prev.next = e->open_next;
    e->seal.next = e->seal_next;
    e->gen = gen;
    e->node = node;
    memcpy(e->session, session, 16);
    memcpy(e->server_nonce, server_nonce, 16);
    e->keys_version = version;
    e->expires_ns = expires;
    e->ready = 1;
    return 0;
}

int secure_end_open(struct secure_end *e, struct cxl_msg *m)
{
    if (!e->ready)
        return cxl_fail(CXL_ECRYPTO, "ring %u: no keys (not granted, expired, or revoked)", e->ring);
    struct cxl_seal *s = NULL;
    if (m->hdr.epoch == e->open_cur.epoch)
        s = &e->open_cur;
    else if (e->have_prev && m->hdr.epoch == e->open_prev.epoch)
        s = &e->open_prev;
    if (!s)
        return cxl_fail(CXL_ECRYPTO, "ring %u: message sealed for epoch %u, which is not accepted "
                        "(current epoch %u)", e->ring, m->hdr.epoch, e->open_cur.epoch);
    int rc = cxl_open_msg(s, m, e->open_buf);
    if (rc == 0) {
        e->open_next = e->open_cur.next = e->open_prev.next = s->next;
        e->opened = 1;
        e->open_gen = e->gen;
        e->open_node = e->node;
    }
    return rc;
}

void secure_end_restart(struct secure_end *e)
{
    wipe_keys(e);
    e->open_next = e->seal_next = 0;
    e->gen = 0;
    e->opened = 0;
}

void secure_end_skip(struct secure_end *e, uint64_t next)
{
    if (next > e->open_next)
        e->open_next = e->open_cur.next = e->open_prev.next = next;
}

int secure_end_header(struct secure_end *e, struct cxl_msg_hdr *hdr)
{
    if (!e->ready)
        return cxl_fail(CXL_ECRYPTO, "ring %u: no keys to seal with", e->ring);
    cxl_seal_header(&e->seal, hdr);
    return 0;
}

int secure_end_seal(struct secure_end *e, const struct cxl_msg_hdr *hdr, uint8_t *payload, uint8_t *plain,
                    uint32_t plen)
{
    if (!e->ready)
        return cxl_fail(CXL_ECRYPTO, "ring %u: no keys to seal with", e->ring);
    int rc = cxl_seal_msg(&e->seal, hdr, payload, plain, plen);
    if (rc == 0)
        e->seal_next = e->seal.next;
    return rc;
}
