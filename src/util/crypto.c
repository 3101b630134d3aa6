/*
 * crypto.c — OpenSSL libcrypto behind the functions of crypto.h.
 * Invariants: every failure path returns a negative SK_E* code and leaves
 * output parameters untouched; key material on the stack is cleansed.
 */
#include "util/crypto.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* scrypt cost: 2^15 * 8 * 128 = 32 MiB and ~60 ms per hash on this class of
 * machine; the record carries its parameters so they can rise later. */
#define PW_N 16384u
#define PW_R 8u
#define PW_P 1u
#define PW_SALT 16
#define PW_LEN 32
#define PW_MAXMEM (64u * 1024 * 1024)

int crypto_random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : SK_ECRYPTO;
}

void crypto_sha256(const void *data, size_t n, uint8_t out[32])
{
    SHA256(data, n, out);
}

void crypto_hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
                        uint8_t out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len);
}

int crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len,
                const void *pt, size_t pt_len, uint8_t **ret, size_t *ret_len)
{
    size_t len = CRYPTO_SEAL_OVERHEAD + pt_len;
    uint8_t *out = malloc(len);
    if (!out) return SK_ENOMEM;
    out[0] = 1;
    int rc = SK_ECRYPTO, n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) goto out;
    if (crypto_random(out + 1, 12)) goto out;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out + 1) != 1) goto out;
    if (aad_len && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) goto out;
    if (pt_len && EVP_EncryptUpdate(ctx, out + 13, &n, pt, (int)pt_len) != 1) goto out;
    if (EVP_EncryptFinal_ex(ctx, out + 13 + pt_len, &n) != 1) goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + 13 + pt_len) != 1) goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (rc) {
        free(out);
        return rc;
    }
    *ret = out;
    *ret_len = len;
    return 0;
}

int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len,
                const uint8_t *blob, size_t blob_len, uint8_t **ret, size_t *ret_len)
{
    if (blob_len < CRYPTO_SEAL_OVERHEAD || blob[0] != 1) return SK_ECRYPTO;
    size_t ct_len = blob_len - CRYPTO_SEAL_OVERHEAD;
    uint8_t *out = malloc(ct_len + 1);
    if (!out) return SK_ENOMEM;
    int rc = SK_ECRYPTO, n = 0;
    uint8_t tag[16];
    memcpy(tag, blob + 13 + ct_len, 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) goto out;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, blob + 1) != 1) goto out;
    if (aad_len && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) goto out;
    if (ct_len && EVP_DecryptUpdate(ctx, out, &n, blob + 13, (int)ct_len) != 1) goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) goto out;
    if (EVP_DecryptFinal_ex(ctx, out + ct_len, &n) != 1) goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (rc) {
        OPENSSL_cleanse(out, ct_len);
        free(out);
        return rc;
    }
    out[ct_len] = '\0';
    *ret = out;
    *ret_len = ct_len;
    return 0;
}

int crypto_aes128_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
    int n = 0, rc = SK_ECRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return SK_ENOMEM;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_EncryptUpdate(ctx, out, &n, in, 16) == 1 && n == 16)
        rc = 0;
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

struct crypto_aes {
    EVP_CIPHER_CTX *ctx;
};

struct crypto_aes *crypto_aes_new(void)
{
    struct crypto_aes *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->ctx || EVP_EncryptInit_ex(c->ctx, EVP_aes_128_ecb(), NULL, NULL, NULL) != 1) {
        EVP_CIPHER_CTX_free(c->ctx);
        free(c);
        return NULL;
    }
    EVP_CIPHER_CTX_set_padding(c->ctx, 0);
    return c;
}

void crypto_aes_free(struct crypto_aes *c)
{
    if (!c) return;
    EVP_CIPHER_CTX_free(c->ctx);
    free(c);
}

int crypto_aes128_ecb(struct crypto_aes *c, const uint8_t key[16], const uint8_t *in,
                      uint8_t *out, size_t nblocks)
{
    int n = 0;
    if (EVP_EncryptInit_ex(c->ctx, NULL, NULL, key, NULL) != 1) return SK_ECRYPTO;
    if (EVP_EncryptUpdate(c->ctx, out, &n, in, (int)(16 * nblocks)) != 1 ||
        (size_t)n != 16 * nblocks)
        return SK_ECRYPTO;
    return 0;
}

int crypto_x25519_public(const uint8_t priv[32], uint8_t ret_pub[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    size_t len = 32;
    int rc = (k && EVP_PKEY_get_raw_public_key(k, ret_pub, &len) == 1 && len == 32)
                 ? 0
                 : SK_ECRYPTO;
    EVP_PKEY_free(k);
    return rc;
}

int crypto_x25519_keypair(uint8_t ret_priv[32], uint8_t ret_pub[32])
{
    uint8_t priv[32];
    if (crypto_random(priv, sizeof priv)) return SK_ECRYPTO;
    int rc = crypto_x25519_public(priv, ret_pub);
    if (!rc) memcpy(ret_priv, priv, 32);
    OPENSSL_cleanse(priv, sizeof priv);
    return rc;
}

int crypto_x25519(const uint8_t priv[32], const uint8_t peer_pub[32], uint8_t ret_shared[32])
{
    int rc = SK_ECRYPTO;
    uint8_t shared[32];
    size_t len = sizeof shared;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, 32);
    EVP_PKEY_CTX *ctx = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    if (ctx && peer && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
        EVP_PKEY_derive(ctx, shared, &len) == 1 && len == 32) {
        static const uint8_t zero[32];
        if (!crypto_equal(shared, zero, 32)) {
            memcpy(ret_shared, shared, 32);
            rc = 0;
        }
    }
    OPENSSL_cleanse(shared, sizeof shared);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(k);
    return rc;
}

int crypto_pwhash(const char *password, char ret[CRYPTO_PWHASH_MAX])
{
    uint8_t salt[PW_SALT], hash[PW_LEN];
    char salt_hex[2 * PW_SALT + 1], hash_hex[2 * PW_LEN + 1];
    if (crypto_random(salt, sizeof salt)) return SK_ECRYPTO;
    if (EVP_PBE_scrypt(password, strlen(password), salt, sizeof salt, PW_N, PW_R, PW_P,
                       PW_MAXMEM, hash, sizeof hash) != 1)
        return SK_ECRYPTO;
    hex_encode(salt, sizeof salt, salt_hex);
    hex_encode(hash, sizeof hash, hash_hex);
    OPENSSL_cleanse(hash, sizeof hash);
    snprintf(ret, CRYPTO_PWHASH_MAX, "scrypt$%u$%u$%u$%s$%s", PW_N, PW_R, PW_P, salt_hex,
             hash_hex);
    return 0;
}

int crypto_pwverify(const char *password, const char *record)
{
    unsigned n, r, p;
    char salt_hex[2 * PW_SALT + 1], hash_hex[2 * PW_LEN + 1];
    uint8_t salt[PW_SALT], want[PW_LEN], got[PW_LEN];
    if (sscanf(record, "scrypt$%u$%u$%u$%32[0-9a-f]$%64[0-9a-f]", &n, &r, &p, salt_hex,
               hash_hex) != 5)
        return SK_EINVAL;
    if (n < 2 || n > (1u << 20) || (n & (n - 1)) || r < 1 || r > 32 || p < 1 || p > 16)
        return SK_EINVAL;
    if (hex_decode(salt_hex, salt, sizeof salt) || hex_decode(hash_hex, want, sizeof want))
        return SK_EINVAL;
    if (EVP_PBE_scrypt(password, strlen(password), salt, sizeof salt, n, r, p, PW_MAXMEM * 4,
                       got, sizeof got) != 1)
        return SK_ECRYPTO;
    int ok = crypto_equal(got, want, sizeof got);
    OPENSSL_cleanse(got, sizeof got);
    return ok ? 0 : SK_EUNAUTH;
}

void hex_encode(const void *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex__nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *in, void *out, size_t n)
{
    if (strlen(in) != 2 * n) return SK_EINVAL;
    uint8_t tmp[256];
    uint8_t *dst = n <= sizeof tmp ? tmp : NULL;
    if (!dst) return SK_ETOOBIG;
    for (size_t i = 0; i < n; i++) {
        int hi = hex__nibble(in[2 * i]), lo = hex__nibble(in[2 * i + 1]);
        if (hi < 0 || lo < 0) return SK_EINVAL;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, dst, n);
    return 0;
}

void b64url_encode(const void *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const uint8_t *p = in;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
}
