/* test_timeutil.c — unit tests for src/util/timeutil.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/timeutil.h"

#include <string.h>

#define SEC 1000000LL

static void test_fmt_epoch(void **state)
{
    (void)state;
    char buf[TIME_RFC3339_LEN];
    char *r = time_fmt_rfc3339(0, buf, sizeof buf);
    assert_ptr_equal(r, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

static void test_fmt_known_instants(void **state)
{
    (void)state;
    char buf[TIME_RFC3339_LEN];
    /* 2026-11-22T20:30:00Z is 1795379400 s after the epoch. */
    time_fmt_rfc3339(1795379400LL * SEC + 123456, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T20:30:00.123Z"); /* ms, truncated */
    time_fmt_rfc3339(951782400LL * SEC, buf, sizeof buf);
    assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
    time_fmt_rfc3339(1234567890LL * SEC + 999999, buf, sizeof buf);
    assert_string_equal(buf, "2009-02-13T23:31:30.999Z");
    /* Before the epoch. */
    time_fmt_rfc3339(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    time_fmt_rfc3339(-1 * SEC, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.000Z");
    time_fmt_rfc3339(-1 * SEC - 500000, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:58.500Z");
}

static void test_fmt_sorts_as_text(void **state)
{
    (void)state;
    char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];
    time_fmt_rfc3339(999999999LL * SEC, a, sizeof a);
    time_fmt_rfc3339(1000000000LL * SEC, b, sizeof b);
    assert_string_equal(a, "2001-09-09T01:46:39.000Z");
    assert_string_equal(b, "2001-09-09T01:46:40.000Z");
    assert_true(strcmp(a, b) < 0);
}

static void test_parse_known(void **state)
{
    (void)state;
    int64_t us = -1;
    assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:00Z", &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00Z", &us), 0);
    assert_int_equal(us, 1795379400LL * SEC);
    assert_int_equal(time_parse_rfc3339("2026-11-22t20:30:00z", &us), 0);
    assert_int_equal(us, 1795379400LL * SEC);
    assert_int_equal(time_parse_rfc3339("2000-02-29T00:00:00Z", &us), 0);
    assert_int_equal(us, 951782400LL * SEC);
    assert_int_equal(time_parse_rfc3339("1969-12-31T23:59:59Z", &us), 0);
    assert_int_equal(us, -1 * SEC);
    assert_int_equal(time_parse_rfc3339("2024-12-31T23:59:59Z", &us), 0);
    assert_int_equal(us, 1735689599LL * SEC);
}

static void test_round_trip(void **state)
{
    (void)state;
    const int64_t instants[] = {
        0,
        1795379400LL * SEC + 123000,
        1234567890LL * SEC + 999000,
        951782400LL * SEC,
        4102444799LL * SEC + 1000, /* 2099-12-31T23:59:59.001Z */
        -86400LL * SEC + 5000,
    };
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        char buf[TIME_RFC3339_LEN];
        int64_t back = 42;
        time_fmt_rfc3339(instants[i], buf, sizeof buf);
        assert_int_equal(time_parse_rfc3339(buf, &back), 0);
        if (back != instants[i]) fail_msg("%s parsed back as %lld", buf, (long long)back);
    }
    char buf[TIME_RFC3339_LEN];
    int64_t us;
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.123Z", &us), 0);
    time_fmt_rfc3339(us, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T20:30:00.123Z");
}

static void test_parse_offsets(void **state)
{
    (void)state;
    int64_t us;
    const int64_t base = 1795379400LL * SEC; /* 2026-11-22T20:30:00Z */

    assert_int_equal(time_parse_rfc3339("2026-11-22T22:30:00+02:00", &us), 0);
    assert_int_equal(us, base);
    assert_int_equal(time_parse_rfc3339("2026-11-22T15:00:00-05:30", &us), 0);
    assert_int_equal(us, base);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00+00:00", &us), 0);
    assert_int_equal(us, base);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00-00:00", &us), 0);
    assert_int_equal(us, base);
    /* Offsets that cross midnight. */
    assert_int_equal(time_parse_rfc3339("2026-11-23T01:30:00+05:00", &us), 0);
    assert_int_equal(us, base);
    assert_int_equal(time_parse_rfc3339("1969-12-31T19:00:00-05:00", &us), 0);
    assert_int_equal(us, 0);

    char buf[TIME_RFC3339_LEN];
    assert_int_equal(time_parse_rfc3339("2026-11-22T15:00:00.250-05:30", &us), 0);
    time_fmt_rfc3339(us, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T20:30:00.250Z");
}

static void test_parse_fractions(void **state)
{
    (void)state;
    int64_t us;
    const int64_t base = 1795379400LL * SEC;
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.5Z", &us), 0);
    assert_int_equal(us, base + 500000);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.05Z", &us), 0);
    assert_int_equal(us, base + 50000);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.123Z", &us), 0);
    assert_int_equal(us, base + 123000);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.000001Z", &us), 0);
    assert_int_equal(us, base + 1);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.123456Z", &us), 0);
    assert_int_equal(us, base + 123456);
    /* Digits beyond microseconds are ignored, not rounded. */
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.1234569Z", &us), 0);
    assert_int_equal(us, base + 123456);
    assert_int_equal(time_parse_rfc3339("2026-11-22T20:30:00.999999999+01:00", &us), 0);
    assert_int_equal(us, base - 3600 * SEC + 999999);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-22",
        "2026-11-22T20:30:00",       /* missing zone */
        "2026-11-22T20:30Z",         /* missing seconds */
        "2026-13-01T00:00:00Z",      /* month 13 */
        "2026-00-01T00:00:00Z",      /* month 0 */
        "2026-02-30T00:00:00Z",      /* Feb 30 */
        "2026-04-31T00:00:00Z",      /* Apr 31 */
        "2026-01-32T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2025-02-29T00:00:00Z",      /* not a leap year */
        "1900-02-29T00:00:00Z",      /* divisible by 100, not by 400 */
        "2026-11-22T24:00:00Z",
        "2026-11-22T20:60:00Z",
        "2026-11-22T20:30:61Z",
        "2026-11-22T20:30:00ZZ",     /* trailing junk */
        "2026-11-22T20:30:00Z ",
        "2026-11-22T20:30:00.123Zjunk",
        "2026-11-22T20:30:00+02:00x",
        "2026-11-22T20:30:00.Z",     /* empty fraction */
        "2026-11-22T20:30:00+0200",  /* offset without colon */
        "2026-11-22T20:30:00+02",
        "2026-11-22T20:30:00+24:00",
        "2026-11-22T20:30:00+02:60",
        "2026-11-22 20:30:00Z",      /* space instead of T */
        "2026/11/22T20:30:00Z",
        "26-11-22T20:30:00Z",
        "2026-1-22T20:30:00Z",
        "2026-11-22T2:30:00Z",
        " 2026-11-22T20:30:00Z",
        "2026-11-22T20:30:00UTC",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 7;
        if (time_parse_rfc3339(bad[i], &us) != SK_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
        if (us != 7) fail_msg("\"%s\" wrote its output on failure", bad[i]);
    }
}

static void test_parse_leap_years(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(time_parse_rfc3339("2024-02-29T12:00:00Z", &us), 0);
    assert_int_equal(us, 1709208000LL * SEC);
    assert_int_equal(time_parse_rfc3339("2000-02-29T00:00:00Z", &us), 0);
    assert_int_equal(time_parse_rfc3339("1600-02-29T00:00:00Z", &us), 0);
    assert_int_equal(time_parse_rfc3339("2100-02-29T00:00:00Z", &us), SK_EINVAL);
    assert_int_equal(time_parse_rfc3339("2023-02-28T00:00:00Z", &us), 0);
    assert_int_equal(us, 1677542400LL * SEC);
}

static void test_parse_leap_second(void **state)
{
    (void)state;
    /* :60 is accepted and held at :59 (no leap-second table). */
    int64_t us;
    assert_int_equal(time_parse_rfc3339("2016-12-31T23:59:60Z", &us), 0);
    assert_int_equal(us, 1483228799LL * SEC);
}

static void test_now(void **state)
{
    (void)state;
    int64_t a = time_now_us();
    int64_t b = time_now_us();
    assert_true(a > 1600000000LL * SEC); /* after 2020 */
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_epoch),
        cmocka_unit_test(test_fmt_known_instants),
        cmocka_unit_test(test_fmt_sorts_as_text),
        cmocka_unit_test(test_parse_known),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_leap_second),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
