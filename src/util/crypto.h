/*
 * crypto.h — the small adapter over OpenSSL libcrypto. Nothing else in the
 * tree includes an OpenSSL header, so the primitives Shopkeeper relies on are
 * listed here and nowhere else.
 *
 * Sealed blobs (crypto_seal) are laid out as
 *   0x01 | nonce[12] | ciphertext | tag[16]
 * with AES-256-GCM and caller-supplied associated data binding the blob to
 * its owner and field, so a blob copied to another row does not open.
 */
#ifndef SK_CRYPTO_H
#define SK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_SEAL_OVERHEAD (1 + 12 + 16)
#define CRYPTO_PWHASH_MAX 160

int crypto_random(void *buf, size_t n);
void crypto_sha256(const void *data, size_t n, uint8_t out[32]);
void crypto_hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
                        uint8_t out[32]);
/* Constant-time equality of two equal-length buffers. */
int crypto_equal(const void *a, const void *b, size_t n);

/* AES-256-GCM. *ret is malloc'd (caller frees), *ret_len its length. */
int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len,
                const void *pt, size_t pt_len, uint8_t **ret, size_t *ret_len);
/* Opens a sealed blob; *ret is malloc'd with a NUL after the plaintext. */
int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len,
                const uint8_t *blob, size_t blob_len, uint8_t **ret, size_t *ret_len);

/* AES-128-ECB of one block (Eddystone-EID). */
int crypto_aes128_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]);

/* A reusable AES-128-ECB context, for the many short encryptions of the
 * EID resolver: keying an existing context is much cheaper than a new one.
 * One context per thread. */
struct crypto_aes;
struct crypto_aes *crypto_aes_new(void);
void crypto_aes_free(struct crypto_aes *c);
/* Encrypts nblocks 16-byte blocks of in under key into out. */
int crypto_aes128_ecb(struct crypto_aes *c, const uint8_t key[16], const uint8_t *in,
                      uint8_t *out, size_t nblocks);

/* X25519 (RFC 7748). Keys are 32 bytes, little-endian as X25519 defines. */
int crypto_x25519_keypair(uint8_t ret_priv[32], uint8_t ret_pub[32]);
int crypto_x25519_public(const uint8_t priv[32], uint8_t ret_pub[32]);
/* The shared secret; SK_ECRYPTO when it is all zero (a low-order point). */
int crypto_x25519(const uint8_t priv[32], const uint8_t peer_pub[32], uint8_t ret_shared[32]);

/* scrypt password hashing: "scrypt$N$r$p$salt_hex$hash_hex". */
int crypto_pwhash(const char *password, char ret[CRYPTO_PWHASH_MAX]);
/* 0 when password matches, SK_EUNAUTH when not, SK_EINVAL on a bad record. */
int crypto_pwverify(const char *password, const char *record);

/* Lower-case hex; out must hold 2n+1. */
void hex_encode(const void *in, size_t n, char *out);
/* Decodes exactly n bytes from 2n hex digits; SK_EINVAL otherwise. */
int hex_decode(const char *in, void *out, size_t n);
/* Unpadded base64url; out must hold 4*ceil(n/3)+1. */
void b64url_encode(const void *in, size_t n, char *out);

#endif
