/* test_account.c — unit tests for src/core/account.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/account.h"

#include <string.h>

static void test_email_normalize_lowercases(void **state)
{
    (void)state;
    char out[EMAIL_MAX + 1];
    assert_int_equal(email_normalize("Alice@Example.COM", out, sizeof out), 1);
    assert_string_equal(out, "alice@example.com");
    assert_int_equal(email_normalize("bob@example.com", out, sizeof out), 1);
    assert_string_equal(out, "bob@example.com");
    assert_int_equal(email_normalize("First.Last+Tag@Sub.Example.Co.UK", out, sizeof out), 1);
    assert_string_equal(out, "first.last+tag@sub.example.co.uk");
    assert_int_equal(email_normalize("a@b.c", out, sizeof out), 1);
    assert_string_equal(out, "a@b.c");
}

static void test_email_normalize_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "a",
        "a@",
        "@b",
        "alice",
        "alice.example.com",
        "@example.com",
        "alice@",
        "alice@example",
        "alice@example.",
        "alice@@example.com",
        "a@b@example.com",
        "al ice@example.com",
        "alice@exam ple.com",
        " alice@example.com",
        "alice@example.com ",
        "alice@example.com\n",
        "alice\t@example.com",
        "alice@example\x7f.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[EMAIL_MAX + 1] = "untouched";
        if (email_normalize(bad[i], out, sizeof out) != 0)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_string_equal(out, "untouched");
    }
}

static void test_email_normalize_lengths(void **state)
{
    (void)state;
    char in[EMAIL_MAX + 2], out[EMAIL_MAX + 1];
    /* EMAIL_MAX characters: "aaaa...a@example.com" */
    const char *dom = "@example.com";
    size_t local = EMAIL_MAX - strlen(dom);
    memset(in, 'A', local);
    strcpy(in + local, dom);
    assert_int_equal(strlen(in), EMAIL_MAX);
    assert_int_equal(email_normalize(in, out, sizeof out), 1);
    assert_int_equal(strlen(out), EMAIL_MAX);
    assert_int_equal(out[0], 'a');

    /* One more is too long. */
    memset(in, 'a', local + 1);
    strcpy(in + local + 1, dom);
    assert_int_equal(strlen(in), EMAIL_MAX + 1);
    assert_int_equal(email_normalize(in, out, sizeof out), 0);

    /* The output buffer must hold the address and its NUL. */
    char small[17];
    assert_int_equal(email_normalize("alice@example.com", small, 17), 0); /* 17 chars */
    char fits[18];
    assert_int_equal(email_normalize("alice@example.com", fits, 18), 1);
    assert_string_equal(fits, "alice@example.com");
}

static void test_role_is_valid(void **state)
{
    (void)state;
    static const char *const good[] = {"admin", "manager", "counter", "agent", "team_manager",
                                       "comms"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(role_is_valid(good[i]), 1);
    static const char *const bad[] = {"",       "Admin",         "ADMIN",   "admin ",
                                      "owner",  "team-manager",  "teammanager", "operator",
                                      "staff",  "manager\n",     "comm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (role_is_valid(bad[i])) fail_msg("accepted role \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_normalize_lowercases),
        cmocka_unit_test(test_email_normalize_rejects),
        cmocka_unit_test(test_email_normalize_lengths),
        cmocka_unit_test(test_role_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
