/* test_card.c — card assembly (src/core/card.{h,c}) under each combination
 * of purposes: the name only under recognition; the answers ({key, label,
 * value}, in the brand's order) and the don't-list only under preferences,
 * each answer only when its choice's own purpose is granted; answers to
 * choices no longer defined never shown; a don't entry naming a choice reads
 * as that choice's label; suggestions only under suggestions; and the fields
 * string names exactly what was shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/card.h"
#include "core/choices.h"
#include "core/purpose.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) fail_msg("bad test JSON (%s): %s", e.text, text);
    return v;
}

static void assert_json_is(json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fprintf(stderr, "got:  %s\nwant: %s\n", g ? g : "(null)", w ? w : "(null)");
        free(g);
        free(w);
        json_decref(want);
        fail_msg("JSON differs");
    }
    json_decref(want);
}

/* The brand's choices as the store keeps them (normalized by
 * choices_validate): "size" and "receipt" under preferences, "pastry" under
 * suggestions. Deliberately not in alphabetical order. */
static json_t *brand_choices(void)
{
    json_t *raw = parse("[{\"key\":\"size\",\"label\":\"Usual size\",\"kind\":\"choice\","
                        "  \"options\":[\"Tall\",\"Grande\",\"Venti\"]},"
                        " {\"key\":\"receipt\",\"label\":\"Wants a receipt\",\"kind\":\"yesno\"},"
                        " {\"key\":\"pastry\",\"label\":\"Favourite pastry\",\"kind\":\"text\","
                        "  \"purpose\":\"suggestions\"}]");
    json_t *defs = NULL;
    char err[256] = "";
    if (choices_validate(raw, &defs, err, sizeof err)) fail_msg("choices: %s", err);
    json_decref(raw);
    return defs;
}

struct fixture {
    json_t *defs, *answers, *dont;
    struct purpose_set granted;
    struct card_input in;
    char fields[64];
};

/* A visit whose customer answered every choice (listed in an order unlike
 * the brand's) plus one choice the brand has since removed ("milk"), and
 * whose don't-list holds a choice key and a free text. */
static void fixture_init(struct fixture *f, const char *purposes)
{
    memset(f, 0, sizeof *f);
    f->defs = brand_choices();
    f->answers = parse("{\"pastry\":\"Almond croissant\",\"milk\":\"Oat\","
                       " \"receipt\":false,\"size\":\"Tall\"}");
    f->dont = parse("[\"receipt\",\"no pastry offers\"]");
    purpose_set_init(&f->granted);
    purpose_set_from_words(&f->granted, purposes);
    f->in = (struct card_input){
        .visit_id = "vis_1",
        .store_id = "sto_1",
        .channel = "device",
        .opened_at = "2026-11-22T08:30:00.000Z",
        .served = 0,
        .name = "Jeff",
        .choices = f->defs,
        .answers = f->answers,
        .dont = f->dont,
        .granted = &f->granted,
    };
    memset(f->fields, 'x', sizeof f->fields); /* card_build must reset it */
    f->fields[sizeof f->fields - 1] = '\0';
}

static void fixture_release(struct fixture *f)
{
    json_decref(f->defs);
    json_decref(f->answers);
    json_decref(f->dont);
}

static json_t *build(struct fixture *f)
{
    json_t *card = card_build(&f->in, f->fields, sizeof f->fields);
    assert_non_null(card);
    /* the frame every card carries, whatever the grants */
    assert_string_equal(json_string_value(json_object_get(card, "visit")), "vis_1");
    assert_string_equal(json_string_value(json_object_get(card, "store")), "sto_1");
    assert_string_equal(json_string_value(json_object_get(card, "channel")), "device");
    assert_string_equal(json_string_value(json_object_get(card, "opened_at")),
                        "2026-11-22T08:30:00.000Z");
    assert_true(json_is_boolean(json_object_get(card, "served")));
    return card;
}

static int has_name(json_t *card)
{
    return json_object_get(json_object_get(card, "customer"), "name") != NULL;
}

/* ---- purpose combinations ---------------------------------------------- */

static void test_no_purpose_shows_nothing_personal(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "");
    json_t *card = build(&f);
    assert_false(has_name(card));
    assert_null(json_object_get(card, "choices"));
    assert_null(json_object_get(card, "dont"));
    assert_null(json_object_get(card, "suggestions"));
    assert_string_equal(f.fields, "");
    json_decref(card);
    fixture_release(&f);
}

static void test_recognition_only_shows_the_name(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition");
    json_t *card = build(&f);
    assert_json_is(json_object_get(card, "customer"), "{\"name\":\"Jeff\"}");
    assert_null(json_object_get(card, "choices"));
    assert_null(json_object_get(card, "dont"));
    assert_null(json_object_get(card, "suggestions"));
    assert_string_equal(f.fields, "name");
    json_decref(card);
    fixture_release(&f);
}

static void test_preferences_only_shows_answers_and_dont_without_name(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "preferences");
    json_t *card = build(&f);
    assert_false(has_name(card));
    /* brand's order (size, receipt), the "suggestions" choice hidden, the
     * answer to the removed "milk" choice not shown at all */
    /* "receipt" is answered but on the don't-list: shown only there */
    assert_json_is(json_object_get(card, "choices"),
                   "[{\"key\":\"size\",\"label\":\"Usual size\",\"value\":\"Tall\"}]");
    assert_json_is(json_object_get(card, "dont"), "[\"Wants a receipt\",\"no pastry offers\"]");
    assert_null(json_object_get(card, "suggestions"));
    assert_string_equal(f.fields, "choices dont");
    json_decref(card);
    fixture_release(&f);
}

static void test_recognition_and_preferences(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences");
    json_t *card = build(&f);
    assert_json_is(json_object_get(card, "customer"), "{\"name\":\"Jeff\"}");
    /* "receipt" is answered but on the don't-list: shown only there */
    assert_json_is(json_object_get(card, "choices"),
                   "[{\"key\":\"size\",\"label\":\"Usual size\",\"value\":\"Tall\"}]");
    assert_json_is(json_object_get(card, "dont"), "[\"Wants a receipt\",\"no pastry offers\"]");
    assert_null(json_object_get(card, "suggestions"));
    assert_string_equal(f.fields, "name choices dont");
    json_decref(card);
    fixture_release(&f);
}

static void test_suggestions_choice_shown_only_when_its_purpose_is_granted(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences suggestions");
    json_t *card = build(&f);
    assert_json_is(json_object_get(card, "choices"),
                   "[{\"key\":\"size\",\"label\":\"Usual size\",\"value\":\"Tall\"},"
                   " {\"key\":\"pastry\",\"label\":\"Favourite pastry\","
                   "  \"value\":\"Almond croissant\"}]");
    assert_true(json_is_array(json_object_get(card, "suggestions")));
    assert_string_equal(f.fields, "name choices dont");
    json_decref(card);
    fixture_release(&f);
}

static void test_suggestions_without_preferences_shows_no_answers(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition suggestions");
    json_t *card = build(&f);
    assert_true(has_name(card));
    /* the "pastry" choice is under suggestions, but answers and the
     * don't-list are a preferences part of the card */
    assert_null(json_object_get(card, "choices"));
    assert_null(json_object_get(card, "dont"));
    assert_true(json_is_array(json_object_get(card, "suggestions")));
    assert_string_equal(f.fields, "name");
    json_decref(card);
    fixture_release(&f);
}

static void test_other_purposes_show_nothing_extra(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "history offers messages care insights");
    json_t *card = build(&f);
    assert_false(has_name(card));
    assert_null(json_object_get(card, "choices"));
    assert_null(json_object_get(card, "dont"));
    assert_null(json_object_get(card, "suggestions"));
    assert_string_equal(f.fields, "");
    json_decref(card);
    fixture_release(&f);
}

/* ---- details ----------------------------------------------------------- */

static void test_name_not_fetched_is_not_shown_or_logged(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences");
    f.in.name = NULL;
    json_t *card = build(&f);
    assert_false(has_name(card));
    assert_string_equal(f.fields, "choices dont");
    json_decref(card);
    fixture_release(&f);
}

static void test_preferences_with_nothing_answered(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences");
    f.in.answers = NULL;
    f.in.dont = NULL;
    json_t *card = build(&f);
    /* the parts are there, empty; the log names nothing that was not shown */
    assert_json_is(json_object_get(card, "choices"), "[]");
    assert_json_is(json_object_get(card, "dont"), "[]");
    assert_string_equal(f.fields, "name");
    json_decref(card);
    fixture_release(&f);
}

static void test_only_dont_given_logs_only_dont(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "preferences");
    json_t *empty = json_object();
    f.in.answers = empty;
    json_t *card = build(&f);
    assert_json_is(json_object_get(card, "choices"), "[]");
    assert_json_is(json_object_get(card, "dont"), "[\"Wants a receipt\",\"no pastry offers\"]");
    assert_string_equal(f.fields, "dont");
    json_decref(card);
    json_decref(empty);
    fixture_release(&f);
}

static void test_only_undefined_answers_shows_no_choices(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences");
    json_t *answers = parse("{\"milk\":\"Oat\",\"syrup\":\"Vanilla\"}");
    json_t *dont = json_array();
    f.in.answers = answers;
    f.in.dont = dont;
    json_t *card = build(&f);
    assert_json_is(json_object_get(card, "choices"), "[]");
    assert_json_is(json_object_get(card, "dont"), "[]");
    assert_string_equal(f.fields, "name");
    /* nowhere in the card: no key, no label-less value */
    char *text = json_dumps(card, JSON_COMPACT);
    assert_non_null(text);
    assert_null(strstr(text, "milk"));
    assert_null(strstr(text, "Oat"));
    assert_null(strstr(text, "Vanilla"));
    free(text);
    json_decref(card);
    json_decref(answers);
    json_decref(dont);
    fixture_release(&f);
}

static void test_dont_keys_read_as_labels_in_given_order(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "preferences");
    json_t *dont = parse("[\"cash only please\",\"pastry\",\"size\",\"Receipt\"]");
    f.in.dont = dont;
    json_t *card = build(&f);
    /* keys become labels (even of a choice under another purpose: the label
     * is the brand's text, not the customer's answer); "Receipt" is not the
     * key "receipt" and stays as typed */
    assert_json_is(json_object_get(card, "dont"),
                   "[\"cash only please\",\"Favourite pastry\",\"Usual size\",\"Receipt\"]");
    json_decref(card);
    json_decref(dont);
    fixture_release(&f);
}

/* Staff must not read "Wants a receipt: no" and "don't ask: Wants a
 * receipt" on one card: a choice on the don't-list is never an answer too,
 * whatever was answered before; free text on the list hides nothing. */
static void test_an_answer_on_the_dont_list_is_shown_only_there(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences suggestions");
    json_t *dont = parse("[\"size\",\"pastry\",\"Tall\"]");
    f.in.dont = dont;
    json_t *card = build(&f);
    assert_json_is(json_object_get(card, "choices"),
                   "[{\"key\":\"receipt\",\"label\":\"Wants a receipt\",\"value\":false}]");
    assert_json_is(json_object_get(card, "dont"), "[\"Usual size\",\"Favourite pastry\",\"Tall\"]");
    json_decref(card);
    json_decref(dont);
    fixture_release(&f);
}

static void test_served_and_inputs_untouched(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences suggestions");
    f.in.served = 1;
    json_t *defs_before = json_deep_copy(f.defs);
    json_t *answers_before = json_deep_copy(f.answers);
    json_t *dont_before = json_deep_copy(f.dont);
    json_t *card = build(&f);
    assert_true(json_is_true(json_object_get(card, "served")));
    /* the card holds its own references: the caller's inputs are unchanged
     * and the card survives their release */
    assert_true(json_equal(f.defs, defs_before));
    assert_true(json_equal(f.answers, answers_before));
    assert_true(json_equal(f.dont, dont_before));
    fixture_release(&f);
    assert_json_is(json_object_get(card, "dont"), "[\"Wants a receipt\",\"no pastry offers\"]");
    assert_int_equal(json_array_size(json_object_get(card, "choices")), 2);
    json_decref(card);
    json_decref(defs_before);
    json_decref(answers_before);
    json_decref(dont_before);
}

static void test_fields_string_truncates_safely(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "recognition preferences");
    char small[8];
    memset(small, 'x', sizeof small);
    json_t *card = card_build(&f.in, small, sizeof small);
    assert_non_null(card);
    assert_true(memchr(small, '\0', sizeof small) != NULL);
    assert_int_equal(strncmp(small, "name ch", sizeof small - 1), 0);
    json_decref(card);
    fixture_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_purpose_shows_nothing_personal),
        cmocka_unit_test(test_recognition_only_shows_the_name),
        cmocka_unit_test(test_preferences_only_shows_answers_and_dont_without_name),
        cmocka_unit_test(test_recognition_and_preferences),
        cmocka_unit_test(test_suggestions_choice_shown_only_when_its_purpose_is_granted),
        cmocka_unit_test(test_suggestions_without_preferences_shows_no_answers),
        cmocka_unit_test(test_other_purposes_show_nothing_extra),
        cmocka_unit_test(test_name_not_fetched_is_not_shown_or_logged),
        cmocka_unit_test(test_preferences_with_nothing_answered),
        cmocka_unit_test(test_only_dont_given_logs_only_dont),
        cmocka_unit_test(test_only_undefined_answers_shows_no_choices),
        cmocka_unit_test(test_dont_keys_read_as_labels_in_given_order),
        cmocka_unit_test(test_an_answer_on_the_dont_list_is_shown_only_there),
        cmocka_unit_test(test_served_and_inputs_untouched),
        cmocka_unit_test(test_fields_string_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
