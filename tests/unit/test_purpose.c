/* test_purpose.c — unit tests for src/core/purpose.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/purpose.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

/* Asserts the set holds exactly the given items, in that order. */
static void assert_set_is(const struct purpose_set *s, const char *const *want, size_t n)
{
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(s->item[i], want[i]);
}

static void test_purpose_check_fixed_names(void **state)
{
    (void)state;
    static const char *const fixed[] = {"recognition", "preferences", "history", "suggestions",
                                        "offers",      "messages",    "care",    "insights"};
    assert_int_equal(PURPOSE_FIXED_COUNT, 8);
    for (size_t i = 0; i < 8; i++) {
        char partner[PURPOSE_LEN];
        memset(partner, 'x', sizeof partner);
        assert_string_equal(purpose_names[i], fixed[i]);
        assert_int_equal(purpose_check(fixed[i], partner), 0);
        assert_string_equal(partner, "");
        assert_int_equal(purpose_check(fixed[i], NULL), 0);
    }
}

static void test_purpose_check_partner(void **state)
{
    (void)state;
    char partner[PURPOSE_LEN];
    assert_int_equal(purpose_check("partner:bookshop", partner), 0);
    assert_string_equal(partner, "bookshop");
    assert_int_equal(purpose_check("partner:ab", partner), 0);
    assert_string_equal(partner, "ab");
    assert_int_equal(purpose_check("partner:corner-cafe-2", partner), 0);
    assert_string_equal(partner, "corner-cafe-2");
    assert_int_equal(purpose_check("partner:bookshop", NULL), 0);

    /* The longest slug (40) is accepted and copied whole. */
    char slug[SLUG_MAX + 1], p[64];
    memset(slug, 'a', SLUG_MAX);
    slug[SLUG_MAX] = '\0';
    snprintf(p, sizeof p, "partner:%s", slug);
    assert_int_equal(purpose_check(p, partner), 0);
    assert_string_equal(partner, slug);
}

static void test_purpose_check_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "Recognition",
        "RECOGNITION",
        " recognition",
        "recognition ",
        "recognitions",
        "partner:",
        "partner:X",
        "partner:a",       /* slug too short */
        "partner:-ab",     /* slug starts with '-' */
        "partner:Bookshop",
        "partner:book_shop",
        "partner:book shop",
        "Partner:bookshop",
        "partner",
        "partner:bookshop:x",
        "unknown",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char partner[PURPOSE_LEN] = "untouched";
        if (purpose_check(bad[i], partner) != SK_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(purpose_check(bad[i], NULL), SK_EINVAL);
    }

    /* A slug one over the limit (41). */
    char slug[SLUG_MAX + 2], p[64];
    memset(slug, 'a', SLUG_MAX + 1);
    slug[SLUG_MAX + 1] = '\0';
    snprintf(p, sizeof p, "partner:%s", slug);
    assert_int_equal(purpose_check(p, NULL), SK_EINVAL);

    /* Something far longer than any purpose. */
    char longp[300];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(purpose_check(longp, NULL), SK_EINVAL);
    memcpy(longp, "partner:", 8);
    assert_int_equal(purpose_check(longp, NULL), SK_EINVAL);
}

static void test_slug_is_valid(void **state)
{
    (void)state;
    assert_int_equal(slug_is_valid("ab"), 1);
    assert_int_equal(slug_is_valid("a1"), 1);
    assert_int_equal(slug_is_valid("1a"), 1);
    assert_int_equal(slug_is_valid("a-"), 1);
    assert_int_equal(slug_is_valid("corner-cafe"), 1);
    assert_int_equal(slug_is_valid("0123456789"), 1);

    assert_int_equal(slug_is_valid(""), 0);
    assert_int_equal(slug_is_valid("a"), 0);
    assert_int_equal(slug_is_valid("-a"), 0);
    assert_int_equal(slug_is_valid("Ab"), 0);
    assert_int_equal(slug_is_valid("a_b"), 0);
    assert_int_equal(slug_is_valid("a b"), 0);
    assert_int_equal(slug_is_valid("a.b"), 0);
    assert_int_equal(slug_is_valid("caf\xc3\xa9"), 0);

    char s[SLUG_MAX + 2];
    memset(s, 'z', SLUG_MAX);
    s[SLUG_MAX] = '\0';
    assert_int_equal(slug_is_valid(s), 1);
    s[SLUG_MAX] = 'z';
    s[SLUG_MAX + 1] = '\0';
    assert_int_equal(slug_is_valid(s), 0);
}

static void test_purpose_set_add_sorted_unique(void **state)
{
    (void)state;
    struct purpose_set s;
    purpose_set_init(&s);
    assert_int_equal(s.n, 0);
    assert_int_equal(purpose_set_has(&s, "offers"), 0);

    assert_int_equal(purpose_set_add(&s, "offers"), 0);
    assert_int_equal(purpose_set_add(&s, "care"), 0);
    assert_int_equal(purpose_set_add(&s, "recognition"), 0);
    assert_int_equal(purpose_set_add(&s, "partner:bookshop"), 0);
    assert_int_equal(purpose_set_add(&s, "history"), 0);
    assert_int_equal(purpose_set_add(&s, "offers"), 0); /* duplicate: no change */
    assert_int_equal(purpose_set_add(&s, "care"), 0);

    static const char *const want[] = {"care", "history", "offers", "partner:bookshop",
                                       "recognition"};
    assert_set_is(&s, want, 5);

    assert_int_equal(purpose_set_has(&s, "care"), 1);
    assert_int_equal(purpose_set_has(&s, "partner:bookshop"), 1);
    assert_int_equal(purpose_set_has(&s, "recognition"), 1);
    assert_int_equal(purpose_set_has(&s, "insights"), 0);
    assert_int_equal(purpose_set_has(&s, "partner:other"), 0);
    assert_int_equal(purpose_set_has(&s, "Care"), 0);

    /* Invalid names are refused and leave the set as it was. */
    assert_int_equal(purpose_set_add(&s, "Offers"), SK_EINVAL);
    assert_int_equal(purpose_set_add(&s, ""), SK_EINVAL);
    assert_int_equal(purpose_set_add(&s, "partner:"), SK_EINVAL);
    assert_set_is(&s, want, 5);
}

static void test_purpose_set_remove(void **state)
{
    (void)state;
    struct purpose_set s;
    purpose_set_init(&s);
    for (int i = 0; i < PURPOSE_FIXED_COUNT; i++)
        assert_int_equal(purpose_set_add(&s, purpose_names[i]), 0);
    assert_int_equal(s.n, 8);

    purpose_set_remove(&s, "offers");      /* middle */
    purpose_set_remove(&s, "care");        /* first */
    purpose_set_remove(&s, "suggestions"); /* last */
    purpose_set_remove(&s, "offers");      /* already gone: harmless */
    purpose_set_remove(&s, "partner:nope");

    static const char *const want[] = {"history", "insights", "messages", "preferences",
                                       "recognition"};
    assert_set_is(&s, want, 5);
    assert_int_equal(purpose_set_has(&s, "offers"), 0);

    /* Still sorted after removing: a re-add goes to its place. */
    assert_int_equal(purpose_set_add(&s, "offers"), 0);
    static const char *const want2[] = {"history", "insights", "messages", "offers",
                                        "preferences", "recognition"};
    assert_set_is(&s, want2, 6);

    for (size_t i = 0; i < 6; i++) purpose_set_remove(&s, want2[i]);
    assert_int_equal(s.n, 0);
}

static void test_purpose_set_minus(void **state)
{
    (void)state;
    struct purpose_set a, b, r;
    purpose_set_from_words(&a, "care history offers partner:bookshop recognition");
    purpose_set_from_words(&b, "offers insights recognition");

    purpose_set_minus(&a, &b, &r);
    static const char *const want_ab[] = {"care", "history", "partner:bookshop"};
    assert_set_is(&r, want_ab, 3);

    purpose_set_minus(&b, &a, &r);
    static const char *const want_ba[] = {"insights"};
    assert_set_is(&r, want_ba, 1);

    purpose_set_minus(&a, &a, &r);
    assert_int_equal(r.n, 0);

    struct purpose_set empty;
    purpose_set_init(&empty);
    purpose_set_minus(&a, &empty, &r);
    static const char *const want_a[] = {"care", "history", "offers", "partner:bookshop",
                                         "recognition"};
    assert_set_is(&r, want_a, 5);
    purpose_set_minus(&empty, &a, &r);
    assert_int_equal(r.n, 0);
}

static void test_purpose_set_overflow(void **state)
{
    (void)state;
    struct purpose_set s;
    purpose_set_init(&s);
    char p[PURPOSE_LEN];
    for (int i = 0; i < PURPOSE_SET_MAX; i++) {
        snprintf(p, sizeof p, "partner:brand-%02d", i);
        assert_int_equal(purpose_set_add(&s, p), 0);
    }
    assert_int_equal(s.n, PURPOSE_SET_MAX);

    /* Full: a new purpose is refused, whether it sorts first, middle or last. */
    assert_int_equal(purpose_set_add(&s, "care"), SK_ETOOBIG);
    assert_int_equal(purpose_set_add(&s, "partner:brand-05x"), SK_ETOOBIG);
    assert_int_equal(purpose_set_add(&s, "recognition"), SK_ETOOBIG);
    assert_int_equal(s.n, PURPOSE_SET_MAX);
    assert_int_equal(purpose_set_has(&s, "care"), 0);

    /* An existing one is still fine (no change), and order is intact. */
    assert_int_equal(purpose_set_add(&s, "partner:brand-00"), 0);
    assert_int_equal(s.n, PURPOSE_SET_MAX);
    for (int i = 0; i < PURPOSE_SET_MAX; i++) {
        snprintf(p, sizeof p, "partner:brand-%02d", i);
        assert_string_equal(s.item[i], p);
    }

    /* After a removal there is room again. */
    purpose_set_remove(&s, "partner:brand-10");
    assert_int_equal(purpose_set_add(&s, "care"), 0);
    assert_string_equal(s.item[0], "care");
    assert_int_equal(s.n, PURPOSE_SET_MAX);
}

static void test_purpose_set_from_words(void **state)
{
    (void)state;
    struct purpose_set s;
    purpose_set_from_words(&s, "offers recognition care");
    static const char *const want[] = {"care", "offers", "recognition"};
    assert_set_is(&s, want, 3);

    /* Invalid words are skipped; extra spaces and duplicates are harmless. */
    purpose_set_from_words(&s, "  offers  Bogus partner:X partner:bookshop offers "
                               "partner: history   ");
    static const char *const want2[] = {"history", "offers", "partner:bookshop"};
    assert_set_is(&s, want2, 3);

    /* A word longer than any purpose is skipped, not truncated into one. */
    char words[200];
    snprintf(words, sizeof words, "care partner:%s insights",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    purpose_set_from_words(&s, words);
    static const char *const want3[] = {"care", "insights"};
    assert_set_is(&s, want3, 2);

    /* Words right at the buffer size (PURPOSE_LEN - 1, PURPOSE_LEN, + 1) are
     * skipped cleanly (ASan would see any overrun of the word buffer). */
    for (size_t len = PURPOSE_LEN - 1; len <= PURPOSE_LEN + 1; len++) {
        char w[PURPOSE_LEN + 16];
        memcpy(w, "partner:", 8);
        memset(w + 8, 'b', len - 8);
        w[len] = '\0';
        snprintf(words, sizeof words, "offers %s care", w);
        purpose_set_from_words(&s, words);
        static const char *const want4[] = {"care", "offers"};
        assert_set_is(&s, want4, 2);
    }

    /* It replaces, not extends, the previous contents. */
    purpose_set_from_words(&s, "");
    assert_int_equal(s.n, 0);
    purpose_set_from_words(&s, "messages");
    purpose_set_from_words(&s, "   ");
    assert_int_equal(s.n, 0);
    purpose_set_from_words(&s, NULL);
    assert_int_equal(s.n, 0);
}

static void test_purpose_explain(void **state)
{
    (void)state;
    for (int i = 0; i < PURPOSE_FIXED_COUNT; i++) {
        const char *e = purpose_explain(purpose_names[i]);
        assert_non_null(e);
        assert_true(strlen(e) > 10);
        /* Each explanation is its own sentence. */
        for (int j = 0; j < i; j++)
            assert_string_not_equal(e, purpose_explain(purpose_names[j]));
    }
    assert_true(strlen(purpose_explain("partner:bookshop")) > 10);
    assert_string_equal(purpose_explain("bogus"), "");
    assert_string_equal(purpose_explain(""), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purpose_check_fixed_names),
        cmocka_unit_test(test_purpose_check_partner),
        cmocka_unit_test(test_purpose_check_invalid),
        cmocka_unit_test(test_slug_is_valid),
        cmocka_unit_test(test_purpose_set_add_sorted_unique),
        cmocka_unit_test(test_purpose_set_remove),
        cmocka_unit_test(test_purpose_set_minus),
        cmocka_unit_test(test_purpose_set_overflow),
        cmocka_unit_test(test_purpose_set_from_words),
        cmocka_unit_test(test_purpose_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
