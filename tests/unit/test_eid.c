/* test_eid.c — Eddystone-EID and provisioning against the published check
 * values (shared/specs/eddystone-eid.md), and the fast multi-window path
 * against the one-at-a-time definition, across a temporary-key roll-over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/eid.h"
#include "util/crypto.h"
#include "util/err.h"

#include <string.h>

static void hex(const char *h, uint8_t *out, size_t n) { assert_int_equal(hex_decode(h, out, n), 0); }

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char buf[130];
    hex_encode(got, n, buf);
    assert_string_equal(buf, want);
}

static void test_spec_vectors_k10(void **state)
{
    (void)state;
    uint8_t ik[16], tk[16], eid[8];
    hex("0102030405060708090a111213141516", ik, 16);
    assert_int_equal(eid_temp_key(ik, 0, tk), 0);
    assert_hex(tk, 16, "6f291c5c48264b8a0b38a19e7fed73cc");
    assert_int_equal(eid_compute(ik, 10, 0, eid), 0);
    assert_hex(eid, 8, "a9b76a71c5f89290");
    assert_int_equal(eid_compute(ik, 10, 2000, eid), 0);
    assert_hex(eid, 8, "4144413e45fefa58");
}

static void test_spec_vector_k12(void **state)
{
    (void)state;
    uint8_t ik[16], tk[16], eid[8];
    hex("00112233445566778899aabbccddeeff", ik, 16);
    assert_int_equal(eid_temp_key(ik, 1518080946u, tk), 0);
    assert_hex(tk, 16, "b7c2d909d27d22df8343271162480210");
    assert_int_equal(eid_compute(ik, 12, 1518080946u, eid), 0);
    assert_hex(eid, 8, "7dd8169dae94258c");
}

static void test_same_window_same_eid(void **state)
{
    (void)state;
    uint8_t ik[16], a[8], b[8], c[8];
    hex("0102030405060708090a111213141516", ik, 16);
    eid_compute(ik, 10, 1024, a);
    eid_compute(ik, 10, 2047, b);
    eid_compute(ik, 10, 2048, c);
    assert_memory_equal(a, b, 8);
    assert_memory_not_equal(b, c, 8);
    assert_int_equal(eid_compute(ik, 16, 0, a), SK_EINVAL);
}

static void test_windows_match_single_across_tk_rollover(void **state)
{
    (void)state;
    uint8_t ik[16], many[16 * 8], one[8];
    hex("00112233445566778899aabbccddeeff", ik, 16);
    struct crypto_aes *aes = crypto_aes_new();
    assert_non_null(aes);
    /* K = 12: windows of 4096 s; 65 536 - 3*4096 starts three windows before
     * the temporary key changes at t = 65 536. */
    uint32_t t0 = 65536 - 3 * 4096;
    assert_int_equal(eid_windows(aes, ik, 12, t0, 6, many), 0);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(eid_compute(ik, 12, t0 + i * 4096, one), 0);
        assert_memory_equal(many + 8 * i, one, 8);
    }
    uint8_t tk_before[16], tk_after[16];
    eid_temp_key(ik, 65535, tk_before);
    eid_temp_key(ik, 65536, tk_after);
    assert_memory_not_equal(tk_before, tk_after, 16);
    crypto_aes_free(aes);
}

static void test_provision_spec(void **state)
{
    (void)state;
    uint8_t rpriv[32], rpub[32], dpriv[32], dpub[32], pub[32], shared[32], ik[16];
    hex("61136adab1bf302f1c49e860196aeefd8fbaa41518b4c226372d6cc469c47278", rpriv, 32);
    hex("29769a045dcb811ba3025985b9de91eb9a57dadbceb68a1e6a3c2b1af4868e1f", rpub, 32);
    hex("6ea13b5ef3cc642fd6102c1d85c096b510f56efc488114a4562a987bf4525628", dpriv, 32);
    hex("c63e6f89aab47552c8d621a59c81d0af203f6570a4bd7a267a08a17561c8bc2b", dpub, 32);
    assert_int_equal(crypto_x25519_public(rpriv, pub), 0);
    assert_memory_equal(pub, rpub, 32);
    assert_int_equal(crypto_x25519(dpriv, rpub, shared), 0);
    assert_hex(shared, 32, "690821890fffb83bb348fb620d0a10e625fe3d919b5594e7b9258d50f829b90b");
    assert_int_equal(eid_provision(rpriv, dpub, rpub, dpub, ik), 0);
    assert_hex(ik, 16, "f40d6f18e5882260e847e99ca33ac44f");
    /* the device derives the same key from its side */
    memset(ik, 0, sizeof ik);
    assert_int_equal(eid_provision(dpriv, rpub, rpub, dpub, ik), 0);
    assert_hex(ik, 16, "f40d6f18e5882260e847e99ca33ac44f");
}

static void test_provision_rejects_zero_point(void **state)
{
    (void)state;
    uint8_t rpriv[32], rpub[32], zero[32] = {0}, ik[16];
    assert_int_equal(crypto_x25519_keypair(rpriv, rpub), 0);
    assert_int_equal(eid_provision(rpriv, zero, rpub, zero, ik), SK_ECRYPTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vectors_k10),
        cmocka_unit_test(test_spec_vector_k12),
        cmocka_unit_test(test_same_window_same_eid),
        cmocka_unit_test(test_windows_match_single_across_tk_rollover),
        cmocka_unit_test(test_provision_spec),
        cmocka_unit_test(test_provision_rejects_zero_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
