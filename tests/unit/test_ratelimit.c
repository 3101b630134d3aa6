/* test_ratelimit.c — unit tests for src/core/ratelimit.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/ratelimit.h"
#include "util/err.h"

#include <stdio.h>

#define SEC 1000000LL
#define NSLOTS 4096 /* large, so the few keys used here do not share a slot */

static struct ratelimit_slot slots[NSLOTS];

static void test_fresh_key_allowed(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, slots, NSLOTS, 3, 60 * SEC);
    int64_t retry = -42;
    assert_int_equal(ratelimit_check(&rl, "alice@example.com", 1000 * SEC, &retry), 0);
    assert_int_equal(retry, -42); /* untouched when allowed */
    assert_int_equal(ratelimit_check(&rl, "alice@example.com", 1000 * SEC, NULL), 0);
}

static void test_limit_reached(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, slots, NSLOTS, 3, 60 * SEC);
    const int64_t t0 = 1000 * SEC;
    int64_t retry = 0;

    for (int i = 0; i < 3; i++) {
        /* Under the limit: allowed before each hit. */
        assert_int_equal(ratelimit_check(&rl, "k", t0 + i * SEC, &retry), 0);
        ratelimit_hit(&rl, "k", t0 + i * SEC);
    }
    /* Three hits in the window: the fourth attempt is refused. */
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 10 * SEC, &retry), SK_ERATE);
    assert_true(retry > 0);
    assert_int_equal(retry, 50 * SEC); /* window started at t0, lasts 60 s */

    /* Later in the same window, the wait is shorter but still positive. */
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 59 * SEC, &retry), SK_ERATE);
    assert_int_equal(retry, 1 * SEC);
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 60 * SEC - 1, &retry), SK_ERATE);
    assert_int_equal(retry, 1);

    /* NULL retry pointer is allowed. */
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 30 * SEC, NULL), SK_ERATE);
}

static void test_window_expiry_resets(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, slots, NSLOTS, 2, 10 * SEC);
    const int64_t t0 = 5000 * SEC;
    int64_t retry;

    ratelimit_hit(&rl, "k", t0);
    ratelimit_hit(&rl, "k", t0 + 1);
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 2, &retry), SK_ERATE);

    /* Exactly one window after its start the counter no longer applies. */
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 10 * SEC, &retry), 0);
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 100 * SEC, &retry), 0);

    /* A hit after expiry starts a new window counting from one. */
    ratelimit_hit(&rl, "k", t0 + 20 * SEC);
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 20 * SEC, &retry), 0);
    ratelimit_hit(&rl, "k", t0 + 21 * SEC);
    assert_int_equal(ratelimit_check(&rl, "k", t0 + 22 * SEC, &retry), SK_ERATE);
    assert_int_equal(retry, 8 * SEC);
}

static void test_clear_resets(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, slots, NSLOTS, 1, 60 * SEC);
    const int64_t t0 = 77 * SEC;
    int64_t retry;

    ratelimit_hit(&rl, "bob", t0);
    assert_int_equal(ratelimit_check(&rl, "bob", t0 + 1, &retry), SK_ERATE);
    ratelimit_clear(&rl, "bob");
    assert_int_equal(ratelimit_check(&rl, "bob", t0 + 2, &retry), 0);

    /* Clearing starts over: one more hit reaches the limit of one again. */
    ratelimit_hit(&rl, "bob", t0 + 3);
    assert_int_equal(ratelimit_check(&rl, "bob", t0 + 4, &retry), SK_ERATE);
    assert_int_equal(retry, 60 * SEC - 1);

    /* Clearing a key never hit is harmless. */
    ratelimit_clear(&rl, "never-seen");
    assert_int_equal(ratelimit_check(&rl, "bob", t0 + 5, &retry), SK_ERATE);
}

static void test_keys_independent(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, slots, NSLOTS, 2, 60 * SEC);
    const int64_t t0 = 9 * SEC;
    int64_t retry;

    ratelimit_hit(&rl, "alice@example.com", t0);
    ratelimit_hit(&rl, "alice@example.com", t0);
    assert_int_equal(ratelimit_check(&rl, "alice@example.com", t0, &retry), SK_ERATE);
    assert_int_equal(ratelimit_check(&rl, "bob@example.com", t0, &retry), 0);
    assert_int_equal(ratelimit_check(&rl, "10.0.0.1", t0, &retry), 0);

    ratelimit_hit(&rl, "bob@example.com", t0);
    assert_int_equal(ratelimit_check(&rl, "bob@example.com", t0, &retry), 0);

    /* Clearing one key leaves the other limited. */
    ratelimit_hit(&rl, "bob@example.com", t0);
    assert_int_equal(ratelimit_check(&rl, "bob@example.com", t0, &retry), SK_ERATE);
    ratelimit_clear(&rl, "alice@example.com");
    assert_int_equal(ratelimit_check(&rl, "alice@example.com", t0, &retry), 0);
    assert_int_equal(ratelimit_check(&rl, "bob@example.com", t0, &retry), SK_ERATE);

    /* Many distinct keys, each hit once under a limit of two, stay allowed. */
    char key[32];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        ratelimit_hit(&rl, key, t0);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        assert_int_equal(ratelimit_check(&rl, key, t0, &retry), 0);
    }
}

static void test_init_zeroes_slots(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, slots, NSLOTS, 1, 60 * SEC);
    ratelimit_hit(&rl, "k", 1 * SEC);
    assert_int_equal(ratelimit_check(&rl, "k", 1 * SEC, NULL), SK_ERATE);
    /* Re-initialising over the same storage forgets everything. */
    ratelimit_init(&rl, slots, NSLOTS, 1, 60 * SEC);
    assert_int_equal(ratelimit_check(&rl, "k", 1 * SEC, NULL), 0);
    for (size_t i = 0; i < NSLOTS; i++) assert_int_equal(slots[i].key, 0);
}

/* Waits are said in words a person reads, rounded up, never "897 seconds". */
static void test_wait_words(void **state)
{
    (void)state;
    static const struct {
        int64_t us;
        const char *words;
        int64_t seconds;
    } cases[] = {
        {1, "1 second", 1},
        {999999, "1 second", 1},
        {1000001, "2 seconds", 2},
        {59 * SEC, "59 seconds", 59},
        {59 * SEC + 1, "1 minute", 60},
        {60 * SEC, "1 minute", 60},
        {61 * SEC, "2 minutes", 61},
        {897 * SEC, "15 minutes", 897},
        {15 * 60 * SEC, "15 minutes", 900},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ratelimit_wait_words(cases[i].us, buf, sizeof buf);
        assert_string_equal(buf, cases[i].words);
        assert_int_equal(ratelimit_wait_seconds(cases[i].us), cases[i].seconds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_key_allowed),
        cmocka_unit_test(test_limit_reached),
        cmocka_unit_test(test_window_expiry_resets),
        cmocka_unit_test(test_clear_resets),
        cmocka_unit_test(test_keys_independent),
        cmocka_unit_test(test_init_zeroes_slots),
        cmocka_unit_test(test_wait_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
