/* aead_cost.h - the AEAD benchmark's one interface between its two files:
 * aeads.c owns the four AEADs (libsodium's AES-256-GCM and
 * XChaCha20-Poly1305, OpenSSL's EVP AES-256-GCM and ChaCha20-Poly1305), each
 * behind the same seal/open calls; main.c owns the flags, the self-check, the
 * timing and the report (build/bench/aead_cost, docs/BENCHMARKS.md "AEAD
 * cost on this machine (issue 15)"). */
#ifndef AEAD_COST_H
#define AEAD_COST_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_BYTES 32
#define AEAD_TAG_BYTES 16
#define AEAD_MAX_NONCE_BYTES 24

struct aead; /* one keyed instance: key schedule or reusable contexts */

/* One AEAD. seal encrypts n bytes of pt into ct (same length) and writes a
 * detached 16 B tag; open checks the tag over ad and ct and decrypts into
 * pt. Both return 0 on success, -1 on failure (open: a forgery). */
struct aead_ops {
    const char *name;
    size_t nonce_bytes;
    int (*available)(void);
    struct aead *(*create)(const uint8_t key[AEAD_KEY_BYTES]);
    int (*seal)(struct aead *a, uint8_t *ct, uint8_t tag[AEAD_TAG_BYTES], const uint8_t *pt,
                size_t n, const uint8_t *ad, size_t adn, const uint8_t *nonce);
    int (*open)(struct aead *a, uint8_t *pt, const uint8_t *ct, size_t n,
                const uint8_t tag[AEAD_TAG_BYTES], const uint8_t *ad, size_t adn,
                const uint8_t *nonce);
    void (*destroy)(struct aead *a); /* zeroes the key material, frees */
};

#define AEAD_COUNT 4
extern const struct aead_ops *const aead_all[AEAD_COUNT];

#endif
