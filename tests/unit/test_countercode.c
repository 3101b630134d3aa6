/* test_countercode.c — counter codes (src/core/countercode.{h,c}): the
 * prefix is the EID's first 40 bits; the display form is "ABCD-EFGH" in
 * Crockford's base32; format and parse round-trip; parsing forgives case,
 * spaces, dashes and the look-alikes O/0, I/L/1, and rejects U, other
 * characters and the wrong length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/countercode.h"
#include "core/eid.h"
#include "util/crypto.h"
#include "util/err.h"

#include <ctype.h>
#include <string.h>

#define MASK40 ((UINT64_C(1) << 40) - 1)

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64_t random40(void)
{
    uint64_t v;
    assert_int_equal(crypto_random(&v, sizeof v), 0);
    return v & MASK40;
}

static uint64_t parsed(const char *s)
{
    uint64_t v = ~UINT64_C(0);
    int rc = countercode_parse(s, &v);
    if (rc) fail_msg("\"%s\" was rejected (%d)", s, rc);
    return v;
}

static void rejected(const char *s)
{
    uint64_t v = 12345;
    int rc = countercode_parse(s, &v);
    if (rc != SK_EINVAL) fail_msg("\"%s\" was not rejected (rc %d, value %llx)", s, rc,
                                  (unsigned long long)v);
    assert_int_equal(v, 12345); /* left alone */
}

static void test_prefix_is_first_40_bits(void **state)
{
    (void)state;
    const uint8_t eid[EID_LEN] = {0xa9, 0xb7, 0x6a, 0x71, 0xc5, 0xf8, 0x92, 0x90};
    assert_int_equal(countercode_prefix(eid), UINT64_C(0xa9b76a71c5));
    const uint8_t ones[EID_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(countercode_prefix(ones), MASK40);
    const uint8_t low[EID_LEN] = {0, 0, 0, 0, 0, 0xff, 0xff, 0xff};
    assert_int_equal(countercode_prefix(low), 0);

    /* the spec's EID for IK 0102...16, K 10, t 0 */
    uint8_t ik[16], e[8];
    assert_int_equal(hex_decode("0102030405060708090a111213141516", ik, 16), 0);
    assert_int_equal(eid_compute(ik, 10, 0, e), 0);
    assert_int_equal(countercode_prefix(e), UINT64_C(0xa9b76a71c5));

    /* random EIDs: equal to the top 40 bits read big-endian */
    for (int i = 0; i < 1000; i++) {
        uint8_t r[EID_LEN];
        assert_int_equal(crypto_random(r, sizeof r), 0);
        uint64_t full = 0;
        for (int j = 0; j < EID_LEN; j++) full = full << 8 | r[j];
        assert_int_equal(countercode_prefix(r), full >> 24);
    }
}

static void test_display_form(void **state)
{
    (void)state;
    char code[COUNTERCODE_DISPLAY];
    countercode_format(0, code);
    assert_string_equal(code, "0000-0000");
    countercode_format(MASK40, code);
    assert_string_equal(code, "ZZZZ-ZZZZ");
    countercode_format(1, code);
    assert_string_equal(code, "0000-0001");
    countercode_format(UINT64_C(1) << 35, code);
    assert_string_equal(code, "1000-0000");
    /* 5 bits a character, most significant first: 0..31 then 31..0 */
    countercode_format(UINT64_C(0x08864298e8), code); /* 00001 00010 00011 ... */
    assert_string_equal(code, "1234-5678");
    /* 0xa9b76a71c5 = 10101 00110 11011 10110 10100 11100 01110 00101 */
    countercode_format(UINT64_C(0xa9b76a71c5), code);
    assert_string_equal(code, "N6VP-MWE5");
    /* bits above 40 are not part of the code */
    countercode_format(UINT64_C(0xffffff0000000000), code);
    assert_string_equal(code, "0000-0000");

    for (int i = 0; i < 2000; i++) {
        countercode_format(random40(), code);
        assert_int_equal(strlen(code), COUNTERCODE_DISPLAY - 1);
        for (int j = 0; j < COUNTERCODE_DISPLAY - 1; j++) {
            if (j == 4) {
                assert_int_equal(code[j], '-');
                continue;
            }
            /* the human-safe alphabet: no I, L, O, U, no lower case */
            assert_non_null(memchr(CROCKFORD, code[j], 32));
            assert_null(strchr("ILOU", code[j]));
        }
    }
}

static void test_round_trip_random(void **state)
{
    (void)state;
    char code[COUNTERCODE_DISPLAY], plain[COUNTERCODE_LEN + 1];
    for (int i = 0; i < 20000; i++) {
        uint64_t p = random40();
        countercode_format(p, code);
        assert_int_equal(parsed(code), p);
        /* without the dash, and in lower case */
        memcpy(plain, code, 4);
        memcpy(plain + 4, code + 5, 4);
        plain[8] = '\0';
        assert_int_equal(parsed(plain), p);
        for (char *c = plain; *c; c++) *c = (char)tolower((unsigned char)*c);
        assert_int_equal(parsed(plain), p);
    }
    /* the edges */
    countercode_format(0, code);
    assert_int_equal(parsed(code), 0);
    countercode_format(MASK40, code);
    assert_int_equal(parsed(code), MASK40);
}

static void test_parse_forgives(void **state)
{
    (void)state;
    uint64_t want = parsed("N6VP-MWE5");
    assert_int_equal(want, UINT64_C(0xa9b76a71c5));
    assert_int_equal(parsed("n6vp-mwe5"), want);
    assert_int_equal(parsed("N6vP mWe5"), want);
    assert_int_equal(parsed("N6VPMWE5"), want);
    assert_int_equal(parsed("  N 6 V P - M W E 5  "), want);
    assert_int_equal(parsed("N6-VP-MW-E5"), want);
    assert_int_equal(parsed("--N6VP--MWE5--"), want);
    /* look-alikes */
    assert_int_equal(parsed("O0o0-0000"), 0);
    assert_int_equal(parsed("OOOO-OOOO"), 0);
    assert_int_equal(parsed("1111-1111"), parsed("IiLl-LIli"));
    assert_int_equal(parsed("0000-000I"), 1);
    assert_int_equal(parsed("0000-000l"), 1);
    assert_int_equal(parsed("0000-000L"), 1);
    assert_int_equal(parsed("1000-0000"), UINT64_C(1) << 35);
    assert_int_equal(parsed("I000-OOOO"), UINT64_C(1) << 35);
    assert_int_equal(parsed("zzzz-zzzz"), MASK40);
    /* as the device's QR code carries it, read by the counter's scanner */
    assert_int_equal(parsed("SHOPKEEPER:N6VPMWE5"), want);
    assert_int_equal(parsed("shopkeeper:n6vp-mwe5"), want);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    rejected("");
    rejected("-");
    rejected("    ");
    rejected("ABCD-EFG");     /* 7 */
    rejected("ABCD-EFGHJ");   /* 9 */
    rejected("ABCDEFGHJKMN"); /* 12 */
    rejected("ABCD-EFGU");    /* U is not in the alphabet */
    rejected("uBCD-EFGH");
    rejected("ABCD_EFGH");
    rejected("ABCD.EFGH");
    rejected("ABCD-EF!H");
    rejected("ABCD\tEFGH");
    rejected("ABCD-EFGH\n");
    rejected("ABCD-EFG\xc3\xa9");
    rejected("ABCD+EFGH");
    /* too long even when every extra character is forgivable */
    rejected("0000-0000-0");
    /* the QR's prefix once, at the start, and a code after it */
    rejected("SHOPKEEPER:");
    rejected("SHOPKEEPER:SHOPKEEPER:N6VPMWE5");
    rejected("N6VPMWE5SHOPKEEPER:");
    rejected("SHOP:N6VPMWE5");
}

static void test_code_of_an_eid_parses_back_to_its_prefix(void **state)
{
    (void)state;
    uint8_t ik[16];
    assert_int_equal(crypto_random(ik, sizeof ik), 0);
    char code[COUNTERCODE_DISPLAY];
    for (uint32_t t = 0; t < 200 * 1024; t += 1024) {
        uint8_t eid[EID_LEN];
        assert_int_equal(eid_compute(ik, 10, t, eid), 0);
        countercode_format(countercode_prefix(eid), code);
        uint64_t p = parsed(code);
        uint8_t top[5];
        for (int i = 0; i < 5; i++) top[i] = (uint8_t)(p >> (32 - 8 * i));
        assert_memory_equal(top, eid, 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_is_first_40_bits),
        cmocka_unit_test(test_display_form),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_parse_forgives),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_code_of_an_eid_parses_back_to_its_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
