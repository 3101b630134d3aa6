/* test_suggest_rules.c — the "never nag" filters (src/core/suggest_rules.c):
 * the don't-list (items by title, whole categories by path segment,
 * case-insensitive), recently bought (non-consumables ever, consumables
 * within 7 days), dismissed, the cooldowns after declined / not now / shown
 * without response, the caps, each alone and together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/suggest_rules.h"

#define DAY 86400
#define NOW ((int64_t)1700000000)

static const char *const tags[] = {"cosy", "series"};
static const struct sr_item book = {.title = "The Long Walk", .category = "books/fiction/thrillers",
                                    .maker = "Ann Author", .tags = tags, .ntags = 2, .consumable = 0};
static const struct sr_item coffee = {.title = "Caramel Macchiato", .category = "drinks/coffee",
                                      .maker = NULL, .tags = NULL, .ntags = 0, .consumable = 1};

static void test_dont_list(void **state)
{
    (void)state;
    const char *cat[] = {"Thrillers"}, *top[] = {"BOOKS"}, *title[] = {"the long walk"},
               *other[] = {"children"}, *partial[] = {"thrill"};
    assert_true(sr_excluded(&book, NULL, cat, 1, NOW));
    assert_true(sr_excluded(&book, NULL, top, 1, NOW));
    assert_true(sr_excluded(&book, NULL, title, 1, NOW));
    assert_false(sr_excluded(&book, NULL, other, 1, NOW));
    assert_false(sr_excluded(&book, NULL, partial, 1, NOW));
    /* a path names its last segment, and only under that path */
    const char *path[] = {"books/fiction"}, *elsewhere[] = {"books/children"},
               *words[] = {"thrillers for grown-ups"};
    assert_true(sr_excluded(&book, NULL, path, 1, NOW));
    assert_false(sr_excluded(&book, NULL, elsewhere, 1, NOW));
    assert_true(sr_excluded(&book, NULL, words, 1, NOW)); /* first word names a segment */
    assert_false(sr_excluded(&book, NULL, NULL, 0, NOW));
}

static void test_bought(void **state)
{
    (void)state;
    struct sr_history h = {.last_bought = NOW - 400 * DAY};
    assert_true(sr_excluded(&book, &h, NULL, 0, NOW)); /* non-consumable: ever */
    assert_false(sr_excluded(&coffee, &h, NULL, 0, NOW));
    h.last_bought = NOW - 6 * DAY;
    assert_true(sr_excluded(&coffee, &h, NULL, 0, NOW)); /* consumable: 7 days */
    h.last_bought = NOW - 8 * DAY;
    assert_false(sr_excluded(&coffee, &h, NULL, 0, NOW));
}

static void test_cooldowns(void **state)
{
    (void)state;
    struct sr_history h = {.last_shown = NOW - 2 * DAY};
    assert_true(sr_excluded(&coffee, &h, NULL, 0, NOW)); /* shown, no answer: 3 days */
    h.last_shown = NOW - 4 * DAY;
    assert_false(sr_excluded(&coffee, &h, NULL, 0, NOW));
    h.last_outcome = SR_NOT_NOW;
    assert_true(sr_excluded(&coffee, &h, NULL, 0, NOW)); /* not now: 7 days */
    h.last_shown = NOW - 8 * DAY;
    assert_false(sr_excluded(&coffee, &h, NULL, 0, NOW));
    h.last_outcome = SR_DECLINED;
    assert_true(sr_excluded(&coffee, &h, NULL, 0, NOW)); /* declined: 30 days */
    h.last_shown = NOW - 31 * DAY;
    assert_false(sr_excluded(&coffee, &h, NULL, 0, NOW));
    struct sr_history d = {.dismissed = 1};
    assert_true(sr_excluded(&coffee, &d, NULL, 0, NOW)); /* dismissed: for good */
}

static void test_fatigue(void **state)
{
    (void)state;
    /* halved on the day, three quarters after 15 days, whole after 30 */
    assert_float_equal(sr_showing_factor(NOW, SR_NONE, NOW), 0.5, 1e-9);
    assert_float_equal(sr_showing_factor(NOW - 15 * DAY, SR_DECLINED, NOW), 0.75, 1e-9);
    assert_float_equal(sr_showing_factor(NOW - 30 * DAY, SR_NOT_NOW, NOW), 1.0, 1e-9);
    assert_float_equal(sr_showing_factor(NOW - 90 * DAY, SR_NONE, NOW), 1.0, 1e-9);
    /* monotone: an older showing weighs less */
    double prev = 0;
    for (int d = 0; d <= 31; d++) {
        double f = sr_showing_factor(NOW - d * DAY, SR_NONE, NOW);
        assert_true(f >= prev && f > 0 && f <= 1);
        prev = f;
    }
    /* an accepted suggestion is not a nag; a clock skewed into the future
     * does not punish */
    assert_float_equal(sr_showing_factor(NOW, SR_ACCEPTED, NOW), 1.0, 1e-9);
    assert_float_equal(sr_showing_factor(NOW + DAY, SR_NONE, NOW), 1.0, 1e-9);
    /* each showing lowers it further: every morning for five days */
    double f = 1;
    for (int d = 4; d < 9; d++) f *= sr_showing_factor(NOW - d * DAY, SR_NONE, NOW);
    assert_true(f < 0.1);
}

static void test_caps(void **state)
{
    (void)state;
    assert_int_equal(sr_allowance(0, 0), 2);
    assert_int_equal(sr_allowance(1, 0), 1);
    assert_int_equal(sr_allowance(2, 0), 0);
    assert_int_equal(sr_allowance(0, 5), 1);
    assert_int_equal(sr_allowance(0, 6), 0);
    assert_int_equal(sr_allowance(1, 6), 0);
}

static void test_together(void **state)
{
    (void)state;
    const char *dont[] = {"coffee"};
    struct sr_history h = {.last_bought = NOW - 30 * DAY, .last_shown = NOW - 40 * DAY,
                           .last_outcome = SR_DECLINED};
    assert_false(sr_excluded(&coffee, &h, NULL, 0, NOW)); /* every rule passes */
    assert_true(sr_excluded(&coffee, &h, dont, 1, NOW));  /* the don't-list alone */
    h.last_bought = NOW - DAY;
    assert_true(sr_excluded(&coffee, &h, NULL, 0, NOW));
}

static void test_taste_and_outcomes(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(sr_taste_match(&book, "thrillers", buf, sizeof buf), 1);
    assert_string_equal(buf, "thrillers");
    assert_int_equal(sr_taste_match(&book, "ann author", buf, sizeof buf), 2);
    assert_int_equal(sr_taste_match(&book, "COSY", buf, sizeof buf), 3);
    assert_int_equal(sr_taste_match(&book, "gardening", buf, sizeof buf), 0);
    assert_int_equal(sr_outcome_parse("not_now"), SR_NOT_NOW);
    assert_int_equal(sr_outcome_parse("maybe"), SR_NONE);
    assert_string_equal(sr_outcome_name(SR_DECLINED), "declined");
}

/* "The usual": a habit, not one purchase. */
static void test_usual(void **state)
{
    (void)state;
    /* one purchase of each: nothing is the usual, however many lines */
    struct sr_bought once[] = {{"latte", NOW, NULL}, {"scone", NOW, NULL}, {"latte", NOW, NULL}};
    assert_int_equal(sr_usual(once, 3), -1);
    assert_int_equal(sr_usual(NULL, 0), -1);
    /* bought on two separate purchases: the usual */
    struct sr_bought twice[] = {{"scone", NOW, NULL}, {"latte", NOW - DAY, NULL}, {"latte", NOW, NULL}};
    long i = sr_usual(twice, 3);
    assert_true(i >= 0);
    assert_string_equal(twice[i].sku, "latte");
    /* two sales in the same millisecond are still two purchases */
    struct sr_bought same_ms[] = {{"latte", NOW, "pur_1"}, {"latte", NOW, "pur_2"},
                                  {"scone", NOW, "pur_2"}};
    i = sr_usual(same_ms, 3);
    assert_true(i >= 0);
    assert_string_equal(same_ms[i].sku, "latte");
    /* and two lines of one purchase are one */
    struct sr_bought one_sale[] = {{"latte", NOW, "pur_1"}, {"latte", NOW, "pur_1"}};
    assert_int_equal(sr_usual(one_sale, 2), -1);
    /* the most purchases wins over the latest */
    struct sr_bought most[] = {{"tea", NOW - 3 * DAY, NULL}, {"tea", NOW - 2 * DAY, NULL}, {"tea", NOW - DAY, NULL},
                               {"mocha", NOW - DAY / 2, NULL}, {"mocha", NOW, NULL}};
    i = sr_usual(most, 5);
    assert_string_equal(most[i].sku, "tea");
    /* between equals, the one bought last */
    struct sr_bought tie[] = {{"tea", NOW - 3 * DAY, NULL}, {"mocha", NOW - 2 * DAY, NULL}, {"tea", NOW - DAY, NULL},
                              {"mocha", NOW, NULL}};
    i = sr_usual(tie, 4);
    assert_string_equal(tie[i].sku, "mocha");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dont_list), cmocka_unit_test(test_bought), cmocka_unit_test(test_usual),
        cmocka_unit_test(test_cooldowns), cmocka_unit_test(test_fatigue), cmocka_unit_test(test_caps),
        cmocka_unit_test(test_together),  cmocka_unit_test(test_taste_and_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
