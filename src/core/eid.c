/*
 * eid.c — Eddystone-EID computation and key provisioning (see eid.h).
 * Invariant: every intermediate key is wiped before returning.
 */
#include "core/eid.h"
#include "util/crypto.h"
#include "util/err.h"

#include <string.h>

static void eid__tk_block(uint32_t t, uint8_t b[16])
{
    memset(b, 0, 16);
    b[11] = 0xff;
    b[14] = (uint8_t)(t >> 24);
    b[15] = (uint8_t)(t >> 16);
}

static void eid__eid_block(unsigned k, uint32_t t, uint8_t b[16])
{
    uint32_t q = k >= 32 ? 0 : (t >> k) << k;
    memset(b, 0, 16);
    b[11] = (uint8_t)k;
    b[12] = (uint8_t)(q >> 24);
    b[13] = (uint8_t)(q >> 16);
    b[14] = (uint8_t)(q >> 8);
    b[15] = (uint8_t)q;
}

int eid_temp_key(const uint8_t ik[EID_IK_LEN], uint32_t t, uint8_t ret[16])
{
    uint8_t b[16];
    eid__tk_block(t, b);
    return crypto_aes128_block(ik, b, ret);
}

int eid_compute(const uint8_t ik[EID_IK_LEN], unsigned k, uint32_t t, uint8_t ret[EID_LEN])
{
    if (k > EID_K_MAX) return SK_EINVAL;
    uint8_t tk[16], b[16], out[16];
    int rc = eid_temp_key(ik, t, tk);
    if (!rc) {
        eid__eid_block(k, t, b);
        rc = crypto_aes128_block(tk, b, out);
    }
    if (!rc) memcpy(ret, out, EID_LEN);
    memset(tk, 0, sizeof tk);
    return rc;
}

int eid_windows(struct crypto_aes *aes, const uint8_t ik[EID_IK_LEN], unsigned k, uint32_t t0,
                unsigned n, uint8_t *ret)
{
    if (k > EID_K_MAX || n == 0 || n > 16) return SK_EINVAL;
    uint8_t tkin[16 * 16], tks[16 * 16], in[16 * 16], out[16 * 16];
    uint32_t base = (t0 >> k) << k;
    /* Temporary keys change every 65 536 s: compute each distinct one once. */
    unsigned ntk = 0;
    uint32_t tk_hi[16];
    unsigned tk_of[16];
    for (unsigned i = 0; i < n; i++) {
        uint32_t t = base + (i << k);
        uint32_t hi = t >> 16;
        if (ntk == 0 || tk_hi[ntk - 1] != hi) {
            tk_hi[ntk] = hi;
            eid__tk_block(t, tkin + 16 * ntk);
            ntk++;
        }
        tk_of[i] = ntk - 1;
        eid__eid_block(k, t, in + 16 * i);
    }
    int rc = crypto_aes128_ecb(aes, ik, tkin, tks, ntk);
    for (unsigned j = 0; !rc && j < ntk; j++) {
        /* encrypt the run of windows sharing temporary key j */
        unsigned first = n, count = 0;
        for (unsigned i = 0; i < n; i++)
            if (tk_of[i] == j) {
                if (first == n) first = i;
                count++;
            }
        rc = crypto_aes128_ecb(aes, tks + 16 * j, in + 16 * first, out + 16 * first, count);
    }
    if (!rc)
        for (unsigned i = 0; i < n; i++) memcpy(ret + EID_LEN * i, out + 16 * i, EID_LEN);
    memset(tks, 0, sizeof tks);
    return rc;
}

int eid_provision(const uint8_t my_priv[32], const uint8_t peer_pub[32],
                  const uint8_t resolver_pub[32], const uint8_t device_pub[32],
                  uint8_t ret_ik[EID_IK_LEN])
{
    uint8_t shared[32], salt[64], prk[32], okm[32];
    int rc = crypto_x25519(my_priv, peer_pub, shared);
    if (rc) return rc;
    memcpy(salt, resolver_pub, 32);
    memcpy(salt + 32, device_pub, 32);
    crypto_hmac_sha256(salt, sizeof salt, shared, sizeof shared, prk);
    static const uint8_t one = 0x01;
    crypto_hmac_sha256(prk, sizeof prk, &one, 1, okm);
    memcpy(ret_ik, okm, EID_IK_LEN);
    memset(shared, 0, sizeof shared);
    memset(prk, 0, sizeof prk);
    memset(okm, 0, sizeof okm);
    return 0;
}
