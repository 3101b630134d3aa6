/*
 * eid.h — Eddystone-EID: the rotating identifier a shopper's device
 * broadcasts, and provisioning its identity key without sending it
 * (see shared/specs/eddystone-eid.md).
 *
 *   TK  = AES-128(IK, 0x00*11 | 0xff | 0x00 0x00 | (t >> 16) as 2 bytes BE)
 *   EID = first 8 bytes of AES-128(TK, 0x00*11 | K | (t with K low bits cleared) BE32)
 *   IK  = HKDF-SHA256(salt = resolver_pub | device_pub, ikm = X25519 shared)[0..16)
 *
 * Pure computation over the crypto adapter; no I/O.
 */
#ifndef SK_EID_H
#define SK_EID_H

#include <stddef.h>
#include <stdint.h>

#define EID_LEN 8
#define EID_IK_LEN 16
#define EID_K_MAX 15

struct crypto_aes;

/* The EID of device key ik with exponent k at device clock t. */
int eid_compute(const uint8_t ik[EID_IK_LEN], unsigned k, uint32_t t, uint8_t ret[EID_LEN]);
int eid_temp_key(const uint8_t ik[EID_IK_LEN], uint32_t t, uint8_t ret[16]);

/* EIDs of n consecutive windows starting at the window holding t0, with a
 * caller-kept AES context (fast path for the resolver index). ret holds
 * n * EID_LEN bytes; n <= 16. */
int eid_windows(struct crypto_aes *aes, const uint8_t ik[EID_IK_LEN], unsigned k, uint32_t t0,
                unsigned n, uint8_t *ret);

/* Derives the identity key on either side: my_priv is the resolver's
 * private key with peer = device_pub, or the device's with peer =
 * resolver_pub. SK_ECRYPTO for a degenerate (all-zero) shared secret. */
int eid_provision(const uint8_t my_priv[32], const uint8_t peer_pub[32],
                  const uint8_t resolver_pub[32], const uint8_t device_pub[32],
                  uint8_t ret_ik[EID_IK_LEN]);

/* The window index of clock t: t >> k. */
static inline uint32_t eid_window(uint32_t t, unsigned k) { return t >> k; }

#endif
