/* test_crypto.c — unit tests for src/util/crypto.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/crypto.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t key1[CRYPTO_KEY_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static const char aad1[] = "customer:cus_123|field:email";

static void test_seal_open_round_trip(void **state)
{
    (void)state;
    const char pt[] = "alice@example.com";
    uint8_t *blob = NULL, *out = NULL;
    size_t blob_len = 0, out_len = 0;

    assert_int_equal(crypto_seal(key1, aad1, strlen(aad1), pt, strlen(pt), &blob, &blob_len), 0);
    assert_non_null(blob);
    assert_int_equal(blob_len, strlen(pt) + CRYPTO_SEAL_OVERHEAD);
    assert_int_equal(blob[0], 1);
    /* The plaintext does not appear in the blob. */
    assert_null(memmem(blob, blob_len, pt, strlen(pt)));

    assert_int_equal(crypto_open(key1, aad1, strlen(aad1), blob, blob_len, &out, &out_len), 0);
    assert_int_equal(out_len, strlen(pt));
    assert_memory_equal(out, pt, strlen(pt));
    assert_int_equal(out[out_len], '\0'); /* NUL after the plaintext */
    assert_string_equal((char *)out, pt);
    free(out);
    free(blob);
}

static void test_seal_nonce_differs(void **state)
{
    (void)state;
    const char pt[] = "same text";
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(crypto_seal(key1, aad1, strlen(aad1), pt, strlen(pt), &a, &alen), 0);
    assert_int_equal(crypto_seal(key1, aad1, strlen(aad1), pt, strlen(pt), &b, &blen), 0);
    assert_int_equal(alen, blen);
    assert_memory_not_equal(a, b, alen);
    free(a);
    free(b);
}

static void test_seal_open_empty(void **state)
{
    (void)state;
    uint8_t *blob = NULL, *out = NULL;
    size_t blob_len = 0, out_len = 99;
    /* Empty plaintext and empty AAD. */
    assert_int_equal(crypto_seal(key1, NULL, 0, "", 0, &blob, &blob_len), 0);
    assert_int_equal(blob_len, CRYPTO_SEAL_OVERHEAD);
    assert_int_equal(crypto_open(key1, NULL, 0, blob, blob_len, &out, &out_len), 0);
    assert_int_equal(out_len, 0);
    assert_int_equal(out[0], '\0');
    free(out);
    /* Sealed with no AAD, it does not open with some. */
    out = NULL;
    assert_int_equal(crypto_open(key1, aad1, strlen(aad1), blob, blob_len, &out, &out_len),
                     SK_ECRYPTO);
    assert_null(out);
    free(blob);
}

static void test_open_failures(void **state)
{
    (void)state;
    const char pt[] = "a secret worth keeping";
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    assert_int_equal(crypto_seal(key1, aad1, strlen(aad1), pt, strlen(pt), &blob, &blob_len), 0);

    uint8_t *out = NULL;
    size_t out_len = 12345;

    /* Wrong key. */
    uint8_t key2[CRYPTO_KEY_LEN];
    memcpy(key2, key1, sizeof key2);
    key2[31] ^= 0x80;
    assert_int_equal(crypto_open(key2, aad1, strlen(aad1), blob, blob_len, &out, &out_len),
                     SK_ECRYPTO);

    /* Wrong AAD: the blob is bound to its owner and field. */
    const char aad2[] = "customer:cus_124|field:email";
    assert_int_equal(crypto_open(key1, aad2, strlen(aad2), blob, blob_len, &out, &out_len),
                     SK_ECRYPTO);
    assert_int_equal(crypto_open(key1, aad1, strlen(aad1) - 1, blob, blob_len, &out, &out_len),
                     SK_ECRYPTO);
    assert_int_equal(crypto_open(key1, NULL, 0, blob, blob_len, &out, &out_len), SK_ECRYPTO);

    /* A flipped byte anywhere (version, nonce, ciphertext, tag) fails. */
    uint8_t *copy = malloc(blob_len);
    assert_non_null(copy);
    const size_t at[] = {0, 1, 12, 13, 13 + strlen(pt) / 2, blob_len - 16, blob_len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(copy, blob, blob_len);
        copy[at[i]] ^= 0x01;
        if (crypto_open(key1, aad1, strlen(aad1), copy, blob_len, &out, &out_len) != SK_ECRYPTO)
            fail_msg("flipped byte %zu still opened", at[i]);
    }

    /* Truncated or too short. */
    assert_int_equal(crypto_open(key1, aad1, strlen(aad1), blob, blob_len - 1, &out, &out_len),
                     SK_ECRYPTO);
    assert_int_equal(crypto_open(key1, aad1, strlen(aad1), blob, CRYPTO_SEAL_OVERHEAD - 1, &out,
                                 &out_len),
                     SK_ECRYPTO);
    assert_int_equal(crypto_open(key1, aad1, strlen(aad1), blob, 0, &out, &out_len), SK_ECRYPTO);

    /* Outputs untouched on failure. */
    assert_null(out);
    assert_int_equal(out_len, 12345);

    /* And the original still opens. */
    assert_int_equal(crypto_open(key1, aad1, strlen(aad1), blob, blob_len, &out, &out_len), 0);
    assert_string_equal((char *)out, pt);
    free(out);
    free(copy);
    free(blob);
}

static void test_pwhash_verify(void **state)
{
    (void)state;
    char rec[CRYPTO_PWHASH_MAX], rec2[CRYPTO_PWHASH_MAX];
    assert_int_equal(crypto_pwhash("correct horse battery staple", rec), 0);
    assert_int_equal(strncmp(rec, "scrypt$16384$8$1$", 17), 0);
    /* "scrypt$16384$8$1$" + 32 hex salt + "$" + 64 hex hash */
    assert_int_equal(strlen(rec), 17 + 32 + 1 + 64);
    assert_int_equal(rec[17 + 32], '$');
    assert_int_equal(strspn(rec + 17, "0123456789abcdef"), 32);
    assert_int_equal(strspn(rec + 17 + 33, "0123456789abcdef"), 64);

    assert_int_equal(crypto_pwverify("correct horse battery staple", rec), 0);
    assert_int_equal(crypto_pwverify("correct horse battery stapl", rec), SK_EUNAUTH);
    assert_int_equal(crypto_pwverify("Correct horse battery staple", rec), SK_EUNAUTH);
    assert_int_equal(crypto_pwverify("", rec), SK_EUNAUTH);

    /* Same password, different salt, different record; both verify. */
    assert_int_equal(crypto_pwhash("correct horse battery staple", rec2), 0);
    assert_string_not_equal(rec, rec2);
    assert_memory_not_equal(rec + 17, rec2 + 17, 32);
    assert_int_equal(crypto_pwverify("correct horse battery staple", rec2), 0);
}

static void test_pwverify_known_record(void **state)
{
    (void)state;
    /* A record with small, cheap parameters computed independently (Python's
     * hashlib.scrypt: password "password", salt 00 01 .. 0f, N=16, r=1, p=1,
     * 32 bytes). The record carries its parameters, so it verifies. */
    static const char rec[] = "scrypt$16$1$1$000102030405060708090a0b0c0d0e0f$"
                              "94512e33c45a0549991de97375b4d1b1ec4a19d25def29220d10f314459dacc1";
    assert_int_equal(crypto_pwverify("password", rec), 0);
    assert_int_equal(crypto_pwverify("passwore", rec), SK_EUNAUTH);

    char bad[CRYPTO_PWHASH_MAX];
    /* Tamper with the stored hash. */
    strcpy(bad, rec);
    bad[strlen(bad) - 1] = '0';
    assert_int_equal(crypto_pwverify("password", bad), SK_EUNAUTH);
    /* Tamper with the salt. */
    strcpy(bad, rec);
    bad[14] = '1';
    assert_int_equal(crypto_pwverify("password", bad), SK_EUNAUTH);
    /* Different cost parameters give a different hash. */
    strcpy(bad, rec);
    bad[7] = '3'; /* N=36: not a power of two, scrypt refuses */
    assert_int_not_equal(crypto_pwverify("password", bad), 0);
    strcpy(bad, rec);
    bad[10] = '2'; /* r=2 */
    assert_int_equal(crypto_pwverify("password", bad), SK_EUNAUTH);
}

static void test_pwverify_malformed(void **state)
{
    (void)state;
    char rec[CRYPTO_PWHASH_MAX];
    assert_int_equal(crypto_pwhash("hunter22", rec), 0);
    const char *salt = rec + 17;  /* 32 hex */
    const char *hash = rec + 50;  /* 64 hex */
    char buf[512];

    static const char *const bad[] = {
        "",
        "scrypt",
        "scrypt$",
        "bcrypt$16384$8$1$00$00",
        "$2b$12$abcdefghijklmnopqrstuv",
        "plain-text-password",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (crypto_pwverify("hunter22", bad[i]) != SK_EINVAL) fail_msg("accepted \"%s\"", bad[i]);

    /* Short salt. */
    snprintf(buf, sizeof buf, "scrypt$16384$8$1$%.30s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    /* Short hash. */
    snprintf(buf, sizeof buf, "scrypt$16384$8$1$%.32s$%.60s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    /* Missing hash. */
    snprintf(buf, sizeof buf, "scrypt$16384$8$1$%.32s$", salt);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    /* Upper-case hex is not what we write. */
    snprintf(buf, sizeof buf, "scrypt$16384$8$1$%.32s$%s", "ABCDEF0123456789ABCDEF0123456789",
             hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    /* Parameters out of range. */
    snprintf(buf, sizeof buf, "scrypt$1$8$1$%.32s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    snprintf(buf, sizeof buf, "scrypt$%u$8$1$%.32s$%s", (1u << 21), salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    snprintf(buf, sizeof buf, "scrypt$16384$0$1$%.32s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    snprintf(buf, sizeof buf, "scrypt$16384$33$1$%.32s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    snprintf(buf, sizeof buf, "scrypt$16384$8$0$%.32s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    snprintf(buf, sizeof buf, "scrypt$16384$8$17$%.32s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);
    snprintf(buf, sizeof buf, "scrypt$x$8$1$%.32s$%s", salt, hash);
    assert_int_equal(crypto_pwverify("hunter22", buf), SK_EINVAL);

    /* The well-formed record itself is fine. */
    assert_int_equal(crypto_pwverify("hunter22", rec), 0);
}

static void test_hex_round_trip(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char hex[2 * sizeof in + 1];
    hex_encode(in, sizeof in, hex);
    assert_string_equal(hex, "00017f80abcdefff");

    uint8_t out[sizeof in];
    assert_int_equal(hex_decode(hex, out, sizeof out), 0);
    assert_memory_equal(out, in, sizeof in);

    /* Upper case decodes too. */
    memset(out, 0, sizeof out);
    assert_int_equal(hex_decode("00017F80ABCDEFFF", out, sizeof out), 0);
    assert_memory_equal(out, in, sizeof in);

    /* Empty. */
    char e[1] = {'x'};
    hex_encode(in, 0, e);
    assert_string_equal(e, "");
    assert_int_equal(hex_decode("", out, 0), 0);

    /* Every byte value survives. */
    uint8_t all[256], back[256];
    char allhex[513];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    hex_encode(all, sizeof all, allhex);
    assert_int_equal(strlen(allhex), 512);
    assert_int_equal(hex_decode(allhex, back, sizeof back), 0);
    assert_memory_equal(all, back, sizeof all);
}

static void test_hex_decode_rejects(void **state)
{
    (void)state;
    uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    const uint8_t untouched[4] = {0xaa, 0xaa, 0xaa, 0xaa};

    assert_int_equal(hex_decode("abc", out, 2), SK_EINVAL);       /* odd length */
    assert_int_equal(hex_decode("abcde", out, 2), SK_EINVAL);     /* too long */
    assert_int_equal(hex_decode("ab", out, 2), SK_EINVAL);        /* too short */
    assert_int_equal(hex_decode("abcg", out, 2), SK_EINVAL);      /* bad digit */
    assert_int_equal(hex_decode("zz00", out, 2), SK_EINVAL);
    assert_int_equal(hex_decode("0x12", out, 2), SK_EINVAL);
    assert_int_equal(hex_decode(" 1 2", out, 2), SK_EINVAL);
    assert_int_equal(hex_decode("12-4", out, 2), SK_EINVAL);
    /* Output untouched even when the bad digit comes late. */
    assert_int_equal(hex_decode("0102030g", out, 4), SK_EINVAL);
    assert_memory_equal(out, untouched, 4);
}

static void test_b64url_vectors(void **state)
{
    (void)state;
    char out[64];
    /* RFC 4648 test vectors, unpadded. */
    b64url_encode("", 0, out);
    assert_string_equal(out, "");
    b64url_encode("f", 1, out);
    assert_string_equal(out, "Zg");
    b64url_encode("fo", 2, out);
    assert_string_equal(out, "Zm8");
    b64url_encode("foo", 3, out);
    assert_string_equal(out, "Zm9v");
    b64url_encode("foob", 4, out);
    assert_string_equal(out, "Zm9vYg");
    b64url_encode("fooba", 5, out);
    assert_string_equal(out, "Zm9vYmE");
    b64url_encode("foobar", 6, out);
    assert_string_equal(out, "Zm9vYmFy");

    /* The URL-safe alphabet: '-' and '_' instead of '+' and '/'. */
    const uint8_t fbff[] = {0xfb, 0xff};
    b64url_encode(fbff, sizeof fbff, out);
    assert_string_equal(out, "-_8");
    const uint8_t ff3[] = {0xff, 0xff, 0xff};
    b64url_encode(ff3, sizeof ff3, out);
    assert_string_equal(out, "____");
    const uint8_t fb_ef[] = {0xfb, 0xef, 0xbe};
    b64url_encode(fb_ef, sizeof fb_ef, out);
    assert_string_equal(out, "----");
    const uint8_t zero3[] = {0, 0, 0};
    b64url_encode(zero3, sizeof zero3, out);
    assert_string_equal(out, "AAAA");
}

static void test_aes128_fips197(void **state)
{
    (void)state;
    /* FIPS-197 Appendix C.1. */
    uint8_t key[16], in[16], out[16], want[16];
    assert_int_equal(hex_decode("000102030405060708090a0b0c0d0e0f", key, 16), 0);
    assert_int_equal(hex_decode("00112233445566778899aabbccddeeff", in, 16), 0);
    assert_int_equal(hex_decode("69c4e0d86a7b0430d8cdb78070b4c55a", want, 16), 0);
    memset(out, 0, sizeof out);
    assert_int_equal(crypto_aes128_block(key, in, out), 0);
    assert_memory_equal(out, want, 16);

    char hex[33];
    hex_encode(out, 16, hex);
    assert_string_equal(hex, "69c4e0d86a7b0430d8cdb78070b4c55a");
}

static void test_sha256_hmac_equal(void **state)
{
    (void)state;
    uint8_t h[32];
    char hex[65];
    crypto_sha256("abc", 3, h);
    hex_encode(h, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* RFC 4231 test case 2. */
    crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, h);
    hex_encode(h, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    assert_int_equal(crypto_equal("abcd", "abcd", 4), 1);
    assert_int_equal(crypto_equal("abcd", "abce", 4), 0);
    assert_int_equal(crypto_equal("abcd", "xbcd", 0), 1);

    uint8_t r1[16] = {0}, r2[16] = {0};
    assert_int_equal(crypto_random(r1, sizeof r1), 0);
    assert_int_equal(crypto_random(r2, sizeof r2), 0);
    assert_memory_not_equal(r1, r2, sizeof r1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_open_round_trip),
        cmocka_unit_test(test_seal_nonce_differs),
        cmocka_unit_test(test_seal_open_empty),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_pwhash_verify),
        cmocka_unit_test(test_pwverify_known_record),
        cmocka_unit_test(test_pwverify_malformed),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_decode_rejects),
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_aes128_fips197),
        cmocka_unit_test(test_sha256_hmac_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
