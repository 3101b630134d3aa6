/* test_consent.c — unit tests for src/core/consent.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/consent.h"
#include "core/purpose.h"

#include <string.h>

static void assert_set_is(const struct purpose_set *s, const char *const *want, size_t n)
{
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(s->item[i], want[i]);
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void test_derive_empty(void **state)
{
    (void)state;
    struct purpose_set s;
    s.n = 7; /* garbage: derive must start from nothing */
    consent_derive(NULL, 0, &s);
    assert_int_equal(s.n, 0);
}

static void test_derive_grants(void **state)
{
    (void)state;
    const struct consent_event ev[] = {
        {"recognition", 1},
        {"offers", 1},
        {"care", 1},
        {"offers", 1}, /* granting twice is the same as once */
    };
    struct purpose_set s;
    consent_derive(ev, N_OF(ev), &s);
    static const char *const want[] = {"care", "offers", "recognition"};
    assert_set_is(&s, want, N_OF(want));
}

static void test_derive_grant_withdraw_regrant(void **state)
{
    (void)state;
    struct purpose_set s;

    const struct consent_event ev1[] = {
        {"recognition", 1},
        {"offers", 1},
        {"offers", 0},
    };
    consent_derive(ev1, N_OF(ev1), &s);
    static const char *const want1[] = {"recognition"};
    assert_set_is(&s, want1, N_OF(want1));

    const struct consent_event ev2[] = {
        {"recognition", 1},
        {"offers", 1},
        {"offers", 0},
        {"offers", 1},
    };
    consent_derive(ev2, N_OF(ev2), &s);
    static const char *const want2[] = {"offers", "recognition"};
    assert_set_is(&s, want2, N_OF(want2));

    /* Order matters: the same events with the withdrawal last. */
    const struct consent_event ev3[] = {
        {"recognition", 1},
        {"offers", 1},
        {"offers", 1},
        {"offers", 0},
    };
    consent_derive(ev3, N_OF(ev3), &s);
    assert_set_is(&s, want1, N_OF(want1));
}

static void test_derive_withdraw_never_granted(void **state)
{
    (void)state;
    const struct consent_event ev[] = {
        {"history", 0},            /* never granted: harmless */
        {"partner:bookshop", 0},   /* never granted: harmless */
        {"preferences", 1},
        {"insights", 0},           /* never granted: harmless */
        {"partner:bookshop", 1},
        {"history", 1},
    };
    struct purpose_set s;
    consent_derive(ev, N_OF(ev), &s);
    static const char *const want[] = {"history", "partner:bookshop", "preferences"};
    assert_set_is(&s, want, N_OF(want));

    const struct consent_event only_withdraw[] = {{"offers", 0}, {"offers", 0}};
    consent_derive(only_withdraw, N_OF(only_withdraw), &s);
    assert_int_equal(s.n, 0);
}

static void test_derive_withdraw_all(void **state)
{
    (void)state;
    const struct consent_event ev[] = {
        {"recognition", 1}, {"preferences", 1}, {"partner:cafe", 1},
        {"preferences", 0}, {"recognition", 0}, {"partner:cafe", 0},
    };
    struct purpose_set s;
    consent_derive(ev, N_OF(ev), &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(purpose_set_has(&s, "recognition"), 0);
}

static void test_plan_changes(void **state)
{
    (void)state;
    struct purpose_set cur, want, g, w;
    purpose_set_from_words(&cur, "recognition preferences offers partner:bookshop");
    purpose_set_from_words(&want, "recognition preferences history partner:cafe");

    consent_plan(&cur, &want, &g, &w);
    static const char *const grants[] = {"history", "partner:cafe"};
    static const char *const withdraws[] = {"offers", "partner:bookshop"};
    assert_set_is(&g, grants, N_OF(grants));
    assert_set_is(&w, withdraws, N_OF(withdraws));

    /* Unchanged purposes appear in neither list. */
    assert_int_equal(purpose_set_has(&g, "recognition"), 0);
    assert_int_equal(purpose_set_has(&w, "recognition"), 0);
    assert_int_equal(purpose_set_has(&g, "preferences"), 0);
    assert_int_equal(purpose_set_has(&w, "preferences"), 0);
}

static void test_plan_replayed_reaches_wanted(void **state)
{
    (void)state;
    /* Applying the plan to the current ledger yields exactly what was wanted. */
    const struct consent_event ledger[] = {
        {"recognition", 1}, {"offers", 1}, {"care", 1}, {"care", 0}, {"messages", 1},
    };
    struct purpose_set cur, want, g, w;
    consent_derive(ledger, N_OF(ledger), &cur);
    purpose_set_from_words(&want, "care messages suggestions");
    consent_plan(&cur, &want, &g, &w);

    static const char *const grants[] = {"care", "suggestions"};
    static const char *const withdraws[] = {"offers", "recognition"};
    assert_set_is(&g, grants, N_OF(grants));
    assert_set_is(&w, withdraws, N_OF(withdraws));

    struct consent_event all[16];
    size_t n = 0;
    for (size_t i = 0; i < N_OF(ledger); i++) all[n++] = ledger[i];
    for (size_t i = 0; i < g.n; i++) all[n++] = (struct consent_event){g.item[i], 1};
    for (size_t i = 0; i < w.n; i++) all[n++] = (struct consent_event){w.item[i], 0};
    struct purpose_set after;
    consent_derive(all, n, &after);
    assert_int_equal(after.n, want.n);
    for (size_t i = 0; i < want.n; i++) assert_string_equal(after.item[i], want.item[i]);
}

static void test_plan_same_is_empty(void **state)
{
    (void)state;
    struct purpose_set cur, want, g, w;
    purpose_set_from_words(&cur, "recognition offers partner:bookshop");
    purpose_set_from_words(&want, "partner:bookshop offers recognition");
    g.n = 3;
    w.n = 3; /* garbage: the plan must reset them */
    consent_plan(&cur, &want, &g, &w);
    assert_int_equal(g.n, 0);
    assert_int_equal(w.n, 0);

    struct purpose_set empty;
    purpose_set_init(&empty);
    consent_plan(&empty, &empty, &g, &w);
    assert_int_equal(g.n, 0);
    assert_int_equal(w.n, 0);
}

static void test_plan_from_and_to_nothing(void **state)
{
    (void)state;
    struct purpose_set empty, some, g, w;
    purpose_set_init(&empty);
    purpose_set_from_words(&some, "insights recognition");
    static const char *const all[] = {"insights", "recognition"};

    consent_plan(&empty, &some, &g, &w);
    assert_set_is(&g, all, N_OF(all));
    assert_int_equal(w.n, 0);

    consent_plan(&some, &empty, &g, &w);
    assert_int_equal(g.n, 0);
    assert_set_is(&w, all, N_OF(all));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_empty),
        cmocka_unit_test(test_derive_grants),
        cmocka_unit_test(test_derive_grant_withdraw_regrant),
        cmocka_unit_test(test_derive_withdraw_never_granted),
        cmocka_unit_test(test_derive_withdraw_all),
        cmocka_unit_test(test_plan_changes),
        cmocka_unit_test(test_plan_replayed_reaches_wanted),
        cmocka_unit_test(test_plan_same_is_empty),
        cmocka_unit_test(test_plan_from_and_to_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
