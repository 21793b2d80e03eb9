/* aeads.c - the four AEADs the benchmark compares, each behind struct
 * aead_ops (aead_cost.h), set up the way a ring would use it on its hot path:
 *   sodium-aes256gcm          libsodium crypto_aead_aes256gcm, key expanded
 *                             once (beforenm), *_afternm per message; only
 *                             where crypto_aead_aes256gcm_is_available();
 *   sodium-xchacha20poly1305  libsodium crypto_aead_xchacha20poly1305_ietf;
 *   openssl-aes256gcm         OpenSSL 3 EVP_aes_256_gcm,
 *   openssl-chacha20poly1305  EVP_chacha20_poly1305: one encrypting and one
 *                             decrypting context, keyed once at create; per
 *                             message only a re-init with the IV.
 * It owns the key material: destroy zeroes it (sodium_memzero, and
 * EVP_CIPHER_CTX_free cleanses the contexts). */
#include "aead_cost.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct aead {
    crypto_aead_aes256gcm_state aes; /* 16-byte aligned: first member */
    uint8_t key[AEAD_KEY_BYTES];
    EVP_CIPHER_CTX *enc, *dec;
};

static struct aead *aead_alloc(void)
{
    size_t size = (sizeof(struct aead) + 63) & ~(size_t)63;
    struct aead *a = aligned_alloc(64, size);
    if (a) {
        sodium_memzero(a, sizeof *a);
        a->enc = a->dec = NULL;
    }
    return a;
}

static void aead_free(struct aead *a)
{
    if (!a)
        return;
    EVP_CIPHER_CTX_free(a->enc);
    EVP_CIPHER_CTX_free(a->dec);
    sodium_memzero(a, sizeof *a);
    free(a);
}

static int always(void) { return 1; }

/* --- libsodium AES-256-GCM, precomputed state ---------------------------------- */
static int sodium_aes_available(void) { return crypto_aead_aes256gcm_is_available(); }

static struct aead *sodium_aes_create(const uint8_t key[AEAD_KEY_BYTES])
{
    struct aead *a = aead_alloc();
    if (a && crypto_aead_aes256gcm_beforenm(&a->aes, key) != 0) {
        aead_free(a);
        return NULL;
    }
    return a;
}

static int sodium_aes_seal(struct aead *a, uint8_t *ct, uint8_t tag[AEAD_TAG_BYTES],
                           const uint8_t *pt, size_t n, const uint8_t *ad, size_t adn,
                           const uint8_t *nonce)
{
    return crypto_aead_aes256gcm_encrypt_detached_afternm(ct, tag, NULL, pt, n, ad, adn, NULL,
                                                          nonce, &a->aes);
}

static int sodium_aes_open(struct aead *a, uint8_t *pt, const uint8_t *ct, size_t n,
                           const uint8_t tag[AEAD_TAG_BYTES], const uint8_t *ad, size_t adn,
                           const uint8_t *nonce)
{
    return crypto_aead_aes256gcm_decrypt_detached_afternm(pt, NULL, ct, n, tag, ad, adn, nonce,
                                                          &a->aes);
}

static const struct aead_ops sodium_aes = {
    "sodium-aes256gcm", crypto_aead_aes256gcm_NPUBBYTES, sodium_aes_available,
    sodium_aes_create,  sodium_aes_seal,                 sodium_aes_open,
    aead_free,
};

/* --- libsodium XChaCha20-Poly1305 (IETF) --------------------------------------- */
static struct aead *sodium_xchacha_create(const uint8_t key[AEAD_KEY_BYTES])
{
    struct aead *a = aead_alloc();
    if (a)
        memcpy(a->key, key, AEAD_KEY_BYTES);
    return a;
}

static int sodium_xchacha_seal(struct aead *a, uint8_t *ct, uint8_t tag[AEAD_TAG_BYTES],
                               const uint8_t *pt, size_t n, const uint8_t *ad, size_t adn,
                               const uint8_t *nonce)
{
    return crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct, tag, NULL, pt, n, ad, adn,
                                                               NULL, nonce, a->key);
}

static int sodium_xchacha_open(struct aead *a, uint8_t *pt, const uint8_t *ct, size_t n,
                               const uint8_t tag[AEAD_TAG_BYTES], const uint8_t *ad, size_t adn,
                               const uint8_t *nonce)
{
    return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, n, tag, ad, adn,
                                                               nonce, a->key);
}

static const struct aead_ops sodium_xchacha = {
    "sodium-xchacha20poly1305", crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    always, sodium_xchacha_create, sodium_xchacha_seal, sodium_xchacha_open, aead_free,
};

/* --- OpenSSL EVP: contexts keyed once, re-initialised with the IV only ---------- */
static struct aead *evp_create(const EVP_CIPHER *cipher, const uint8_t key[AEAD_KEY_BYTES])
{
    struct aead *a = aead_alloc();
    if (!a)
        return NULL;
    a->enc = EVP_CIPHER_CTX_new();
    a->dec = EVP_CIPHER_CTX_new();
    if (!a->enc || !a->dec || EVP_EncryptInit_ex(a->enc, cipher, NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(a->dec, cipher, NULL, key, NULL) != 1) {
        aead_free(a);
        return NULL;
    }
    return a;
}

static struct aead *evp_aes_create(const uint8_t key[AEAD_KEY_BYTES])
{
    return evp_create(EVP_aes_256_gcm(), key);
}

static struct aead *evp_chacha_create(const uint8_t key[AEAD_KEY_BYTES])
{
    return evp_create(EVP_chacha20_poly1305(), key);
}

static int evp_seal(struct aead *a, uint8_t *ct, uint8_t tag[AEAD_TAG_BYTES], const uint8_t *pt,
                    size_t n, const uint8_t *ad, size_t adn, const uint8_t *nonce)
{
    uint8_t end[AEAD_TAG_BYTES];
    int len;
    if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, nonce) != 1)
        return -1;
    if (adn && EVP_EncryptUpdate(a->enc, NULL, &len, ad, (int)adn) != 1)
        return -1;
    if (n && EVP_EncryptUpdate(a->enc, ct, &len, pt, (int)n) != 1)
        return -1;
    if (EVP_EncryptFinal_ex(a->enc, end, &len) != 1)
        return -1;
    return EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_BYTES, tag) == 1 ? 0 : -1;
}

static int evp_open(struct aead *a, uint8_t *pt, const uint8_t *ct, size_t n,
                    const uint8_t tag[AEAD_TAG_BYTES], const uint8_t *ad, size_t adn,
                    const uint8_t *nonce)
{
    uint8_t end[AEAD_TAG_BYTES];
    int len;
    if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_BYTES, (void *)tag) != 1)
        return -1;
    if (adn && EVP_DecryptUpdate(a->dec, NULL, &len, ad, (int)adn) != 1)
        return -1;
    if (n && EVP_DecryptUpdate(a->dec, pt, &len, ct, (int)n) != 1)
        return -1;
    return EVP_DecryptFinal_ex(a->dec, end, &len) > 0 ? 0 : -1;
}

static const struct aead_ops evp_aes = {
    "openssl-aes256gcm", 12, always, evp_aes_create, evp_seal, evp_open, aead_free,
};

static const struct aead_ops evp_chacha = {
    "openssl-chacha20poly1305", 12, always, evp_chacha_create, evp_seal, evp_open, aead_free,
};

const struct aead_ops *const aead_all[AEAD_COUNT] = {
    &sodium_aes, &sodium_xchacha, &evp_aes, &evp_chacha,
};
