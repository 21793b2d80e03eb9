/* seal.c - a graph sealed at rest in the medium (docs/GRAPH.md, "Modes"):
 * per publication keys, the header's MAC, and each array cut in chunks of
 * GRAPH_SEAL_CHUNK plaintext bytes sealed with an AEAD.
 *
 *   enc key, mac key = BLAKE2b-256(key = region key, "cxl-dsm graph enc|mac v1" || publication id)
 *   nonce(array kind, chunk) = kind u32 || chunk u64 (zero-padded to 24 B for XChaCha20)
 *   associated data = n || m || flags || the array's table entry || chunk u64
 *   header MAC = BLAKE2b-128(key = mac key, the header with state and MAC zeroed)
 *
 * The publication id is 16 random bytes per publication, so no key and nonce
 * pair repeats across publications, restarts or re-publications; within one
 * publication the (kind, chunk) pair is unique. A chunk moved to another
 * place, array or publication, or a header edited, fails to open. Chunks are
 * sealed in private memory and then copied into the medium: the publisher
 * never reads back what it wrote (an attacker rewriting a ciphertext while
 * it is being authenticated cannot get a tag over bytes of its choosing);
 * attachers open from the medium into private memory, never in place. */
#include "region.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cxl/wait.h"
#include "sec/seal.h"

int graph_seal_prefers_xchacha(void)
{
    return cxl_cipher_default() == CXL_CIPHER_XCHACHA;
}

static int derive_one(const uint8_t region_key[32], const char *label, const uint8_t id[16], uint8_t out[32])
{
    crypto_generichash_state st;
    if (crypto_generichash_init(&st, region_key, 32, 32) != 0)
        return -1;
    crypto_generichash_update(&st, (const unsigned char *)label, strlen(label));
    crypto_generichash_update(&st, id, 16);
    int rc = crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
    return rc;
}

int graph_seal_derive(const uint8_t region_key[32], const uint8_t publication_id[16], int xchacha,
                      struct graph_pub_keys *k)
{
    memset(k, 0, sizeof *k);
    if (cxl_crypto_init() != 0 || (!xchacha && !crypto_aead_aes256gcm_is_available()))
        return -1;
    k->xchacha = xchacha;
    if (derive_one(region_key, "cxl-dsm graph enc v1", publication_id, k->enc) != 0 ||
        derive_one(region_key, "cxl-dsm graph mac v1", publication_id, k->mac) != 0) {
        graph_seal_wipe(k);
        return -1;
    }
    return 0;
}

void graph_seal_wipe(struct graph_pub_keys *k)
{
    sodium_memzero(k, sizeof *k);
}

void graph_seal_header_mac(const struct graph_pub_keys *k, const struct graph_region_header *h, uint8_t mac[16])
{
    struct graph_region_header c = *h;
    c.state = 0;
    memset(c.header_mac, 0, sizeof c.header_mac);
    crypto_generichash(mac, 16, (const unsigned char *)&c, sizeof c, k->mac, sizeof k->mac);
}

struct chunk_ad {
    int64_t n, m;
    uint32_t flags, pad;
    struct graph_region_array array;
    uint64_t chunk;
};

static void chunk_params(const struct graph_region_header *h, const struct graph_region_array *a, uint64_t c,
                         uint8_t nonce[24], struct chunk_ad *ad)
{
    memset(nonce, 0, 24);
    memcpy(nonce, &a->kind, 4);
    memcpy(nonce + 4, &c, 8);
    memset(ad, 0, sizeof *ad);
    *ad = (struct chunk_ad){.n = h->num_nodes, .m = h->num_edges, .flags = h->flags, .array = *a, .chunk = c};
}

static uint64_t chunks_of(const struct graph_region_array *a, uint64_t *bytes)
{
    *bytes = a->elems * a->elem_size;
    return (*bytes + GRAPH_SEAL_CHUNK - 1) / GRAPH_SEAL_CHUNK;
}

static void seal_chunk(const struct graph_pub_keys *k, const uint8_t nonce[24], const struct chunk_ad *ad,
                       const uint8_t *in, uint64_t len, uint8_t *out)
{
    unsigned long long clen;
    if (k->xchacha)
        crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, in, len, (const unsigned char *)ad, sizeof *ad,
                                                   NULL, nonce, k->enc);
    else
        crypto_aead_aes256gcm_encrypt(out, &clen, in, len, (const unsigned char *)ad, sizeof *ad, NULL, nonce,
                                      k->enc);
}

static int open_chunk(const struct graph_pub_keys *k, const uint8_t nonce[24], const struct chunk_ad *ad,
                      const uint8_t *in, uint64_t len, uint8_t *out)
{
    unsigned long long mlen;
    if (k->xchacha)
        return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, len + GRAPH_SEAL_TAG,
                                                          (const unsigned char *)ad, sizeof *ad, nonce, k->enc);
    return crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, in, len + GRAPH_SEAL_TAG, (const unsigned char *)ad,
                                         sizeof *ad, nonce, k->enc);
}

int graph_seal_array(const struct graph_pub_keys *k, const struct graph_region_header *h,
                     const struct graph_region_array *a, const void *plain, uint8_t *dst)
{
    uint64_t bytes, chunks = chunks_of(a, &bytes);
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        uint8_t *buf = malloc(GRAPH_SEAL_CHUNK + GRAPH_SEAL_TAG);
        failed |= !buf;
#pragma omp for schedule(static)
        for (int64_t c = 0; c < (int64_t)chunks; c++) {
            if (!buf)
                continue;
            uint64_t off = (uint64_t)c * GRAPH_SEAL_CHUNK;
            uint64_t len = bytes - off < GRAPH_SEAL_CHUNK ? bytes - off : GRAPH_SEAL_CHUNK;
            uint8_t nonce[24];
            struct chunk_ad ad;
            chunk_params(h, a, (uint64_t)c, nonce, &ad);
            seal_chunk(k, nonce, &ad, (const uint8_t *)plain + off, len, buf);
            memcpy(dst + (uint64_t)c * (GRAPH_SEAL_CHUNK + GRAPH_SEAL_TAG), buf, len + GRAPH_SEAL_TAG);
        }
        free(buf);
    }
    return failed ? -1 : 0;
}

static const char *kind_label(uint32_t kind)
{
    static const char *const names[] = {"?", "OUT_INDEX", "OUT_NEIGH", "IN_INDEX", "IN_NEIGH"};
    return kind <= 4 ? names[kind] : "?";
}

int graph_open_array(const struct graph_pub_keys *k, const struct graph_region_header *h,
                     const struct graph_region_array *a, const uint8_t *src, void *dst, uint64_t delay_ticks,
                     int64_t scan, int64_t *bad_elem, char *err, size_t errlen)
{
    uint64_t bytes, chunks = chunks_of(a, &bytes);
    int64_t first_bad = INT64_MAX, elem_bad = INT64_MAX;
    int weighted = (h->flags & GRAPH_REGION_WEIGHTED) != 0;
#pragma omp parallel reduction(min : first_bad, elem_bad)
    {
        /* the ciphertext is copied first: authenticate and decrypt bytes that cannot change */
        uint8_t *buf = malloc(GRAPH_SEAL_CHUNK + GRAPH_SEAL_TAG);
#pragma omp for schedule(static)
        for (int64_t c = 0; c < (int64_t)chunks; c++) {
            uint64_t off = (uint64_t)c * GRAPH_SEAL_CHUNK;
            uint64_t len = bytes - off < GRAPH_SEAL_CHUNK ? bytes - off : GRAPH_SEAL_CHUNK;
            uint8_t nonce[24];
            struct chunk_ad ad;
            chunk_params(h, a, (uint64_t)c, nonce, &ad);
            if (buf)
                memcpy(buf, src + (uint64_t)c * (GRAPH_SEAL_CHUNK + GRAPH_SEAL_TAG), len + GRAPH_SEAL_TAG);
            for (uint64_t p = 0; delay_ticks && p < len; p += 4096)
                cxl_delay_spin(delay_ticks);
            if ((!buf || open_chunk(k, nonce, &ad, buf, len, (uint8_t *)dst + off) != 0) && c < first_bad)
                first_bad = c;
            else if (scan) { /* the ids while the chunk is in cache */
                int64_t e = graph_neigh_scan(dst, weighted, scan, (int64_t)(off / a->elem_size),
                                             (int64_t)((off + len) / a->elem_size));
                elem_bad = e < elem_bad ? e : elem_bad;
            }
        }
        free(buf);
    }
    *bad_elem = elem_bad;
    if (first_bad == INT64_MAX)
        return 0;
    snprintf(err, errlen, "graph region: chunk %" PRId64 " of %s failed to authenticate (edited, moved, "
             "from another publication, or another key)", first_bad, kind_label(a->kind));
    return -1;
}
