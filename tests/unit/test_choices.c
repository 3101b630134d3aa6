/* test_choices.c — unit tests for src/core/choices.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* Validates defs (a JSON text), expecting failure with a message containing
 * needle; *ret must be left alone. */
static void choices_expect_invalid(const char *defs_text, const char *needle)
{
    json_t *defs = parse(defs_text);
    json_t *sentinel = json_true();
    json_t *ret = sentinel;
    char err[256] = "";
    int rc = choices_validate(defs, &ret, err, sizeof err);
    if (rc != SK_EINVAL) fail_msg("accepted (rc %d): %s", rc, defs_text);
    assert_ptr_equal(ret, sentinel);
    assert_contains(err, needle);
    json_decref(defs);
}

static json_t *choices_ok(const char *defs_text)
{
    json_t *defs = parse(defs_text);
    json_t *ret = NULL;
    char err[256] = "";
    int rc = choices_validate(defs, &ret, err, sizeof err);
    if (rc != 0) fail_msg("rejected (%s): %s", err, defs_text);
    assert_non_null(ret);
    json_decref(defs);
    return ret;
}

/* A validated set of definitions used by the answers tests. */
static const char DEFS[] =
    "[{\"key\": \"drink\", \"label\": \"Usual drink\", \"kind\": \"choice\","
    "  \"options\": [\"tea\", \"coffee\", \"hot chocolate\"]},"
    " {\"key\": \"oat_milk\", \"label\": \"Oat milk?\", \"kind\": \"yesno\"},"
    " {\"key\": \"name_on_cup\", \"label\": \"Name on the cup\", \"kind\": \"text\","
    "  \"purpose\": \"recognition\"},"
    " {\"key\": \"cafe_card\", \"label\": \"Cafe card number\", \"kind\": \"text\","
    "  \"purpose\": \"partner:corner-cafe\"}]";

static json_t *defs_fixture(void) { return choices_ok(DEFS); }

/* A string of n copies of unit. */
static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* ---- choices_validate ------------------------------------------------- */

static void test_choices_normalizes(void **state)
{
    (void)state;
    json_t *out = choices_ok(
        "[{\"key\": \"drink\", \"label\": \"Usual drink\", \"kind\": \"choice\","
        "  \"options\": [\"tea\", \"coffee\"]},"
        " {\"key\": \"oat_milk\", \"label\": \"Oat milk?\", \"kind\": \"yesno\","
        "  \"purpose\": null, \"options\": null},"
        " {\"key\": \"name_on_cup\", \"label\": \"Name on the cup\", \"kind\": \"text\","
        "  \"purpose\": \"recognition\", \"colour\": \"blue\"},"
        " {\"key\": \"card\", \"label\": \"Card\", \"kind\": \"text\","
        "  \"purpose\": \"partner:corner-cafe\"}]");
    /* Default purpose filled in; unknown fields and null options dropped. */
    assert_json_is(out,
                   "[{\"key\": \"drink\", \"label\": \"Usual drink\", \"kind\": \"choice\","
                   "  \"purpose\": \"preferences\", \"options\": [\"tea\", \"coffee\"]},"
                   " {\"key\": \"oat_milk\", \"label\": \"Oat milk?\", \"kind\": \"yesno\","
                   "  \"purpose\": \"preferences\"},"
                   " {\"key\": \"name_on_cup\", \"label\": \"Name on the cup\","
                   "  \"kind\": \"text\", \"purpose\": \"recognition\"},"
                   " {\"key\": \"card\", \"label\": \"Card\", \"kind\": \"text\","
                   "  \"purpose\": \"partner:corner-cafe\"}]");
    assert_null(json_object_get(json_array_get(out, 1), "options"));
    json_decref(out);

    out = choices_ok("[]");
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
}

static void test_choices_returns_new_array(void **state)
{
    (void)state;
    json_t *defs = parse("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\"}]");
    json_t *out = NULL;
    char err[128];
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), 0);
    assert_ptr_not_equal(out, defs);
    /* The input is not modified. */
    assert_null(json_object_get(json_array_get(defs, 0), "purpose"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "purpose")),
                        "preferences");
    json_decref(out);
    json_decref(defs);
}

static void test_choices_rejects_non_array(void **state)
{
    (void)state;
    choices_expect_invalid("{}", "choices: must be an array");
    choices_expect_invalid("\"drink\"", "choices: must be an array");
    choices_expect_invalid("null", "choices: must be an array");
    choices_expect_invalid("42", "choices: must be an array");

    json_t *ret = json_true();
    char err[128] = "";
    assert_int_equal(choices_validate(NULL, &ret, err, sizeof err), SK_EINVAL);
    assert_ptr_equal(ret, json_true());
    assert_contains(err, "choices");

    choices_expect_invalid("[1]", "choices[0]: must be an object");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\"}, []]",
                           "choices[1]: must be an object");
}

static void test_choices_rejects_bad_key(void **state)
{
    (void)state;
    const char *ok = "{\"key\": \"ok\", \"label\": \"Fine\", \"kind\": \"yesno\"}";
    static const char *const bad_keys[] = {
        "\"Drink\"", "\"my-key\"", "\"my key\"", "\"1abc\"", "\"_a\"", "\"\"",
        "\"caf\\u00e9\"", "\"a.b\"", "42", "null",
        "\"a2345678901234567890123456789012345678901\"", /* 41 */
    };
    char buf[512];
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        snprintf(buf, sizeof buf, "[%s, {\"key\": %s, \"label\": \"L\", \"kind\": \"yesno\"}]",
                 ok, bad_keys[i]);
        choices_expect_invalid(buf, "choices[1].key");
    }
    snprintf(buf, sizeof buf, "[%s, {\"label\": \"L\", \"kind\": \"yesno\"}]", ok);
    choices_expect_invalid(buf, "choices[1].key");

    /* 40 characters, digits and _ after the first letter, are fine. */
    json_t *out = choices_ok("[{\"key\": \"a23456789012345678901234567890123456789_\","
                             "  \"label\": \"L\", \"kind\": \"yesno\"},"
                             " {\"key\": \"x\", \"label\": \"L\", \"kind\": \"yesno\"},"
                             " {\"key\": \"z9_\", \"label\": \"L\", \"kind\": \"yesno\"}]");
    assert_int_equal(json_array_size(out), 3);
    json_decref(out);
}

static void test_choices_rejects_duplicate_key(void **state)
{
    (void)state;
    choices_expect_invalid("[{\"key\": \"drink\", \"label\": \"A\", \"kind\": \"yesno\"},"
                           " {\"key\": \"size\", \"label\": \"B\", \"kind\": \"yesno\"},"
                           " {\"key\": \"drink\", \"label\": \"C\", \"kind\": \"text\"}]",
                           "choices[2].key: duplicate key \"drink\"");
}

static void test_choices_rejects_label(void **state)
{
    (void)state;
    choices_expect_invalid("[{\"key\": \"a\", \"kind\": \"yesno\"}]", "choices[0].label");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"\", \"kind\": \"yesno\"}]",
                           "choices[0].label");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": 7, \"kind\": \"yesno\"}]",
                           "choices[0].label");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"two\\nlines\", \"kind\": \"yesno\"}]",
                           "choices[0].label");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\"},"
                           " {\"key\": \"b\", \"kind\": \"yesno\"}]",
                           "choices[1].label");

    /* CHOICE_LABEL_MAX characters are fine, one more is not. */
    char *label = repeat("\xc3\xa9", CHOICE_LABEL_MAX); /* é: 2 bytes, 1 character */
    json_t *defs = json_pack("[{s:s, s:s, s:s}]", "key", "a", "label", label, "kind", "yesno");
    json_t *out = NULL;
    char err[256];
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), 0);
    json_decref(out);
    json_decref(defs);
    free(label);

    label = repeat("x", CHOICE_LABEL_MAX + 1);
    defs = json_pack("[{s:s, s:s, s:s}]", "key", "a", "label", label, "kind", "yesno");
    out = json_true();
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), SK_EINVAL);
    assert_contains(err, "choices[0].label");
    json_decref(defs);
    free(label);
}

static void test_choices_rejects_kind(void **state)
{
    (void)state;
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"multi\"}]",
                           "choices[0].kind");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"Choice\"}]",
                           "choices[0].kind");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\"}]", "choices[0].kind");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": true}]",
                           "choices[0].kind");
}

static void test_choices_rejects_options(void **state)
{
    (void)state;
    /* kind "choice" needs 1..CHOICE_OPTIONS_MAX options. */
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\"},"
                           " {\"key\": \"b\", \"label\": \"B\", \"kind\": \"choice\"}]",
                           "choices[1].options");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\", \"options\": []}]",
        "choices[0].options");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\", \"options\": \"tea\"}]",
        "choices[0].options");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\", \"options\": null}]",
        "choices[0].options");

    /* Options only for kind "choice". */
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\", \"options\": [\"y\", \"n\"]}]",
        "choices[0].options: only kind \"choice\" has options");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\", \"options\": []}]",
        "choices[0].options");

    /* Each option is clean, unique text. */
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\","
                           "  \"options\": [\"tea\", \"coffee\", \"tea\"]}]",
                           "choices[0].options[2]: duplicate option \"tea\"");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\","
                           "  \"options\": [\"tea\", 3]}]",
                           "choices[0].options[1]");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\","
                           "  \"options\": [\"\"]}]",
                           "choices[0].options[0]");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"choice\","
                           "  \"options\": [\"tea\\u0007\"]}]",
                           "choices[0].options[0]");

    /* Exactly CHOICE_OPTIONS_MAX options are fine, one more is not. */
    json_t *opts = json_array();
    char o[16];
    for (int i = 0; i < CHOICE_OPTIONS_MAX; i++) {
        snprintf(o, sizeof o, "opt %d", i);
        json_array_append_new(opts, json_string(o));
    }
    json_t *defs = json_pack("[{s:s, s:s, s:s, s:O}]", "key", "a", "label", "A", "kind",
                             "choice", "options", opts);
    json_t *out = NULL;
    char err[256];
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(json_array_get(out, 0), "options")),
                     CHOICE_OPTIONS_MAX);
    json_decref(out);
    json_decref(defs);

    json_array_append_new(opts, json_string("one too many"));
    defs = json_pack("[{s:s, s:s, s:s, s:O}]", "key", "a", "label", "A", "kind", "choice",
                     "options", opts);
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), SK_EINVAL);
    assert_contains(err, "choices[0].options");
    json_decref(defs);
    json_decref(opts);
}

static void test_choices_rejects_purpose(void **state)
{
    (void)state;
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\", \"purpose\": \"marketing\"}]",
        "choices[0].purpose");
    choices_expect_invalid("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\"},"
                           " {\"key\": \"b\", \"label\": \"B\", \"kind\": \"yesno\","
                           "  \"purpose\": \"Preferences\"}]",
                           "choices[1].purpose");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\", \"purpose\": \"partner:\"}]",
        "choices[0].purpose");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\", \"purpose\": 1}]",
        "choices[0].purpose");
    choices_expect_invalid(
        "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"yesno\", \"purpose\": \"\"}]",
        "choices[0].purpose");
}

static void test_choices_max(void **state)
{
    (void)state;
    json_t *defs = json_array();
    char key[16];
    for (int i = 0; i < CHOICES_MAX; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_array_append_new(defs, json_pack("{s:s, s:s, s:s}", "key", key, "label", "L",
                                              "kind", "yesno"));
    }
    json_t *out = NULL;
    char err[256];
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), 0);
    assert_int_equal(json_array_size(out), CHOICES_MAX);
    json_decref(out);

    json_array_append_new(defs, json_pack("{s:s, s:s, s:s}", "key", "one_more", "label", "L",
                                          "kind", "yesno"));
    out = json_true();
    assert_int_equal(choices_validate(defs, &out, err, sizeof err), SK_EINVAL);
    assert_ptr_equal(out, json_true());
    assert_contains(err, "choices: at most 50 choices");
    json_decref(defs);
}

static void test_choices_find(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    json_t *d = choices_find(defs, "oat_milk");
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "yesno");
    assert_ptr_equal(choices_find(defs, "drink"), json_array_get(defs, 0));
    assert_null(choices_find(defs, "colour"));
    assert_null(choices_find(defs, ""));
    json_decref(defs);
}

/* ---- answers_validate ------------------------------------------------- */

/* Expects answers_validate to fail with a message containing needle. */
static void answers_expect_invalid(json_t *defs, const char *answers_text,
                                   const char *dont_text, const char *needle)
{
    json_t *answers = answers_text ? parse(answers_text) : NULL;
    json_t *dont = dont_text ? parse(dont_text) : NULL;
    json_t *sentinel = json_true();
    json_t *ret = sentinel;
    char err[256] = "";
    int rc = answers_validate(defs, answers, dont, &ret, err, sizeof err);
    if (rc != SK_EINVAL)
        fail_msg("accepted (rc %d): answers %s dont %s", rc, answers_text ? answers_text : "-",
                 dont_text ? dont_text : "-");
    assert_ptr_equal(ret, sentinel);
    assert_contains(err, needle);
    json_decref(answers);
    json_decref(dont);
}

static void test_answers_valid(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    json_t *answers = parse("{\"drink\": \"hot chocolate\", \"oat_milk\": false,"
                            " \"name_on_cup\": \"Sam\", \"cafe_card\": \"12345\"}");
    json_t *ret = json_true();
    char err[256] = "";
    assert_int_equal(answers_validate(defs, answers, NULL, &ret, err, sizeof err), 0);
    assert_null(ret); /* dont not given */

    /* Nothing given at all is fine; an empty object is fine. */
    ret = json_true();
    assert_int_equal(answers_validate(defs, NULL, NULL, &ret, err, sizeof err), 0);
    assert_null(ret);
    json_t *empty = json_object();
    assert_int_equal(answers_validate(defs, empty, NULL, NULL, err, sizeof err), 0);
    json_decref(empty);

    /* A subset of keys is fine. */
    json_t *some = parse("{\"oat_milk\": true}");
    assert_int_equal(answers_validate(defs, some, NULL, NULL, err, sizeof err), 0);
    json_decref(some);

    json_decref(answers);
    json_decref(defs);
}

static void test_answers_unknown_key(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    answers_expect_invalid(defs, "{\"drink\": \"tea\", \"colour\": \"blue\"}", NULL,
                           "answers.colour");
    answers_expect_invalid(defs, "{\"Drink\": \"tea\"}", NULL, "answers.Drink");
    /* No definitions at all: every key is unknown. */
    json_t *none = json_array();
    answers_expect_invalid(none, "{\"drink\": \"tea\"}", NULL, "answers.drink");
    json_decref(none);
    answers_expect_invalid(defs, "[\"tea\"]", NULL, "answers: must be an object");
    answers_expect_invalid(defs, "\"tea\"", NULL, "answers: must be an object");
    json_decref(defs);
}

static void test_answers_choice_value(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    answers_expect_invalid(defs, "{\"drink\": \"juice\"}", NULL,
                           "answers.drink: \"juice\" is not one of the options");
    answers_expect_invalid(defs, "{\"drink\": \"Tea\"}", NULL, "answers.drink");
    answers_expect_invalid(defs, "{\"drink\": \"tea \"}", NULL, "answers.drink");
    answers_expect_invalid(defs, "{\"drink\": 1}", NULL, "answers.drink");
    answers_expect_invalid(defs, "{\"drink\": [\"tea\"]}", NULL, "answers.drink");
    answers_expect_invalid(defs, "{\"drink\": null}", NULL, "answers.drink");
    json_decref(defs);
}

static void test_answers_yesno_bool(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    answers_expect_invalid(defs, "{\"oat_milk\": \"yes\"}", NULL,
                           "answers.oat_milk: must be true or false");
    answers_expect_invalid(defs, "{\"oat_milk\": 1}", NULL, "answers.oat_milk");
    answers_expect_invalid(defs, "{\"oat_milk\": 0}", NULL, "answers.oat_milk");
    answers_expect_invalid(defs, "{\"oat_milk\": null}", NULL, "answers.oat_milk");
    answers_expect_invalid(defs, "{\"oat_milk\": \"true\"}", NULL, "answers.oat_milk");
    json_decref(defs);
}

static void test_answers_text(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    char err[256];

    /* ANSWER_TEXT_MAX characters (not bytes) are fine, one more is not. */
    char *s = repeat("\xe2\x82\xac", ANSWER_TEXT_MAX); /* €: 3 bytes */
    json_t *a = json_pack("{s:s}", "name_on_cup", s);
    assert_non_null(a);
    assert_int_equal(answers_validate(defs, a, NULL, NULL, err, sizeof err), 0);
    json_decref(a);
    free(s);

    s = repeat("x", ANSWER_TEXT_MAX + 1);
    a = json_pack("{s:s}", "name_on_cup", s);
    assert_int_equal(answers_validate(defs, a, NULL, NULL, err, sizeof err), SK_EINVAL);
    assert_contains(err, "answers.name_on_cup");
    json_decref(a);
    free(s);

    answers_expect_invalid(defs, "{\"name_on_cup\": \"\"}", NULL, "answers.name_on_cup");
    answers_expect_invalid(defs, "{\"name_on_cup\": 5}", NULL, "answers.name_on_cup");
    answers_expect_invalid(defs, "{\"name_on_cup\": true}", NULL, "answers.name_on_cup");
    answers_expect_invalid(defs, "{\"name_on_cup\": \"Sam\\u0001\"}", NULL,
                           "answers.name_on_cup");
    answers_expect_invalid(defs, "{\"name_on_cup\": \"Sam\\tB\"}", NULL, "answers.name_on_cup");
    answers_expect_invalid(defs, "{\"cafe_card\": \"\\u001b[31m\"}", NULL, "answers.cafe_card");

    /* Invalid UTF-8 that slipped past the JSON layer is still refused. */
    static const char *const bad_utf8[] = {"\xff", "Sam\x80", "\xc3", "\xc3(", "\xe2\x82",
                                           "\xc0\xaf"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        a = json_object();
        json_object_set_new(a, "name_on_cup", json_string_nocheck(bad_utf8[i]));
        err[0] = '\0';
        if (answers_validate(defs, a, NULL, NULL, err, sizeof err) != SK_EINVAL)
            fail_msg("accepted invalid UTF-8 #%zu", i);
        assert_contains(err, "answers.name_on_cup");
        json_decref(a);
    }
    json_decref(defs);
}

static void test_dont_dedup(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    json_t *dont = parse("[\"drink\", \"no pastry offers\", \"drink\", \"oat_milk\","
                         " \"no pastry offers\"]");
    json_t *ret = NULL;
    char err[256] = "";
    assert_int_equal(answers_validate(defs, NULL, dont, &ret, err, sizeof err), 0);
    assert_non_null(ret);
    assert_ptr_not_equal(ret, dont);
    assert_json_is(ret, "[\"drink\", \"no pastry offers\", \"oat_milk\"]");
    json_decref(ret);

    /* An empty list stays an empty list (not NULL). */
    json_t *empty = json_array();
    ret = NULL;
    assert_int_equal(answers_validate(defs, NULL, empty, &ret, err, sizeof err), 0);
    assert_non_null(ret);
    assert_int_equal(json_array_size(ret), 0);
    json_decref(ret);
    json_decref(empty);

    /* ret_dont may be NULL: the copy is dropped (LeakSanitizer checks). */
    assert_int_equal(answers_validate(defs, NULL, dont, NULL, err, sizeof err), 0);
    json_decref(dont);
    json_decref(defs);
}

static void test_dont_limits(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    char err[256];

    answers_expect_invalid(defs, NULL, "{}", "dont: must be an array");
    answers_expect_invalid(defs, NULL, "\"drink\"", "dont: must be an array");
    answers_expect_invalid(defs, NULL, "[\"ok\", 3]", "dont[1]");
    answers_expect_invalid(defs, NULL, "[\"\"]", "dont[0]");
    answers_expect_invalid(defs, NULL, "[\"ok\", \"fine\", \"a\\nb\"]", "dont[2]");
    /* A bad answer is reported even when dont is fine, and vice versa. */
    answers_expect_invalid(defs, "{\"oat_milk\": \"no\"}", "[\"drink\"]", "answers.oat_milk");
    answers_expect_invalid(defs, "{\"oat_milk\": true}", "[null]", "dont[0]");

    /* DONT_MAX entries are fine, one more is not. */
    json_t *dont = json_array();
    char t[32];
    for (int i = 0; i < DONT_MAX; i++) {
        snprintf(t, sizeof t, "thing %d", i);
        json_array_append_new(dont, json_string(t));
    }
    json_t *ret = NULL;
    assert_int_equal(answers_validate(defs, NULL, dont, &ret, err, sizeof err), 0);
    assert_int_equal(json_array_size(ret), DONT_MAX);
    json_decref(ret);
    json_array_append_new(dont, json_string("one too many"));
    ret = json_true();
    assert_int_equal(answers_validate(defs, NULL, dont, &ret, err, sizeof err), SK_EINVAL);
    assert_ptr_equal(ret, json_true());
    assert_contains(err, "dont: at most 30 entries");
    json_decref(dont);

    /* DONT_TEXT_MAX characters per entry, counted as characters. */
    char *s = repeat("\xc3\xb1", DONT_TEXT_MAX); /* ñ */
    dont = json_pack("[s]", s);
    ret = NULL;
    assert_int_equal(answers_validate(defs, NULL, dont, &ret, err, sizeof err), 0);
    assert_int_equal(json_array_size(ret), 1);
    json_decref(ret);
    json_decref(dont);
    free(s);
    s = repeat("n", DONT_TEXT_MAX + 1);
    dont = json_pack("[s, s]", "fine", s);
    assert_int_equal(answers_validate(defs, NULL, dont, NULL, err, sizeof err), SK_EINVAL);
    assert_contains(err, "dont[1]");
    json_decref(dont);
    free(s);

    /* Invalid UTF-8 in the don't-list. */
    dont = json_array();
    json_array_append_new(dont, json_string_nocheck("no \xfe"));
    assert_int_equal(answers_validate(defs, NULL, dont, NULL, err, sizeof err), SK_EINVAL);
    assert_contains(err, "dont[0]");
    json_decref(dont);
    json_decref(defs);
}

/* ---- answers_visible -------------------------------------------------- */

static void test_answers_visible(void **state)
{
    (void)state;
    json_t *defs = defs_fixture();
    json_t *answers = parse("{\"drink\": \"tea\", \"oat_milk\": true, \"name_on_cup\": \"Sam\","
                            " \"cafe_card\": \"12345\", \"old_key\": \"kept?\"}");
    struct purpose_set g;

    purpose_set_init(&g);
    json_t *v = answers_visible(defs, answers, &g);
    assert_json_is(v, "{}");
    json_decref(v);

    purpose_set_from_words(&g, "recognition");
    v = answers_visible(defs, answers, &g);
    assert_json_is(v, "{\"name_on_cup\": \"Sam\"}");
    json_decref(v);

    /* Answers to keys no longer defined count as "preferences". */
    purpose_set_from_words(&g, "preferences");
    v = answers_visible(defs, answers, &g);
    assert_json_is(v, "{\"drink\": \"tea\", \"oat_milk\": true, \"old_key\": \"kept?\"}");
    json_decref(v);

    purpose_set_from_words(&g, "partner:corner-cafe offers");
    v = answers_visible(defs, answers, &g);
    assert_json_is(v, "{\"cafe_card\": \"12345\"}");
    json_decref(v);

    /* A different partner sees nothing of corner-cafe's. */
    purpose_set_from_words(&g, "partner:other-shop history");
    v = answers_visible(defs, answers, &g);
    assert_json_is(v, "{}");
    json_decref(v);

    purpose_set_from_words(&g, "recognition preferences partner:corner-cafe");
    v = answers_visible(defs, answers, &g);
    assert_ptr_not_equal(v, answers);
    assert_true(json_equal(v, answers));
    json_decref(v);

    /* The input is left whole. */
    assert_int_equal(json_object_size(answers), 5);
    json_decref(answers);
    json_decref(defs);
}

/* ---- text_is_clean ---------------------------------------------------- */

static void test_text_is_clean_basic(void **state)
{
    (void)state;
    assert_int_equal(text_is_clean("hello", 5), 1);
    assert_int_equal(text_is_clean("hello", 4), 0);
    assert_int_equal(text_is_clean("a", 1), 1);
    assert_int_equal(text_is_clean("", 10), 0);
    assert_int_equal(text_is_clean(" ", 1), 1);
    assert_int_equal(text_is_clean("no pastry offers", 100), 1);
    assert_int_equal(text_is_clean("~!@#$%^&*()", 100), 1);
}

static void test_text_is_clean_controls(void **state)
{
    (void)state;
    static const char *const bad[] = {"\t", "a\nb", "a\r", "\x01", "\x1b[0m", "x\x1f",
                                      "del\x7f", "\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (text_is_clean(bad[i], 100)) fail_msg("accepted control #%zu", i);
}

static void test_text_is_clean_counts_code_points(void **state)
{
    (void)state;
    /* é is 2 bytes, 日 3 bytes, 😀 4 bytes; each counts as one. */
    assert_int_equal(text_is_clean("\xc3\xa9\xc3\xa9\xc3\xa9", 3), 1);
    assert_int_equal(text_is_clean("\xc3\xa9\xc3\xa9\xc3\xa9", 2), 0);
    assert_int_equal(text_is_clean("\xe6\x97\xa5\xe6\x9c\xac", 2), 1);
    assert_int_equal(text_is_clean("\xe6\x97\xa5\xe6\x9c\xac", 1), 0);
    assert_int_equal(text_is_clean("\xf0\x9f\x98\x80", 1), 1);
    assert_int_equal(text_is_clean("a\xf0\x9f\x98\x80z", 3), 1);
    assert_int_equal(text_is_clean("a\xf0\x9f\x98\x80z", 2), 0);
    assert_int_equal(text_is_clean("caf\xc3\xa9", 4), 1);
}

static void test_text_is_clean_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xff",                 /* never valid */
        "\xfe",
        "\x80",                 /* lone continuation byte */
        "a\xbf",
        "\xc3",                 /* truncated at the end */
        "\xc3(",                /* bad continuation */
        "\xe6\x97",             /* truncated 3-byte */
        "\xe6\x97(",
        "\xf0\x9f\x98",         /* truncated 4-byte */
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
        "\xc0\xaf",             /* overlong '/' */
        "\xc0\x80",             /* overlong NUL */
        "\xc1\xbf",             /* overlong */
        "\xe0\x80\xaf",         /* overlong 3-byte */
        "\xf0\x80\x80\xaf",     /* overlong 4-byte */
        "\xed\xa0\x80",         /* UTF-16 surrogate U+D800 */
        "\xed\xbf\xbf",         /* UTF-16 surrogate U+DFFF */
        "\xf4\x90\x80\x80",     /* U+110000, past Unicode */
        "\xf5\x80\x80\x80",
        "\xf7\xbf\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (text_is_clean(bad[i], 100)) fail_msg("accepted invalid UTF-8 #%zu", i);

    /* The edges of the valid ranges are accepted. */
    static const char *const good[] = {
        "\xc2\xa0",         /* U+00A0 */
        "\xdf\xbf",         /* U+07FF */
        "\xe0\xa0\x80",     /* U+0800 */
        "\xed\x9f\xbf",     /* U+D7FF */
        "\xee\x80\x80",     /* U+E000 */
        "\xef\xbf\xbd",     /* U+FFFD */
        "\xf0\x90\x80\x80", /* U+10000 */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!text_is_clean(good[i], 1)) fail_msg("refused valid UTF-8 #%zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choices_normalizes),
        cmocka_unit_test(test_choices_returns_new_array),
        cmocka_unit_test(test_choices_rejects_non_array),
        cmocka_unit_test(test_choices_rejects_bad_key),
        cmocka_unit_test(test_choices_rejects_duplicate_key),
        cmocka_unit_test(test_choices_rejects_label),
        cmocka_unit_test(test_choices_rejects_kind),
        cmocka_unit_test(test_choices_rejects_options),
        cmocka_unit_test(test_choices_rejects_purpose),
        cmocka_unit_test(test_choices_max),
        cmocka_unit_test(test_choices_find),
        cmocka_unit_test(test_answers_valid),
        cmocka_unit_test(test_answers_unknown_key),
        cmocka_unit_test(test_answers_choice_value),
        cmocka_unit_test(test_answers_yesno_bool),
        cmocka_unit_test(test_answers_text),
        cmocka_unit_test(test_dont_dedup),
        cmocka_unit_test(test_dont_limits),
        cmocka_unit_test(test_answers_visible),
        cmocka_unit_test(test_text_is_clean_basic),
        cmocka_unit_test(test_text_is_clean_controls),
        cmocka_unit_test(test_text_is_clean_counts_code_points),
        cmocka_unit_test(test_text_is_clean_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
