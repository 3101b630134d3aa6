/*
 * choices.c — validating a brand's choices and a customer's answers
 * (see choices.h). Invariant: a normalized choice always has key, label,
 * kind and purpose; options exactly when kind is "choice".
 */
#include "core/choices.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

#define FAIL(...)                                                                          \
    do {                                                                                   \
        snprintf(err, errlen, __VA_ARGS__);                                                \
        goto fail;                                                                         \
    } while (0)

static int text__clean(const char *s, size_t max_chars, int lines);

int text_is_clean(const char *s, size_t max_chars)
{
    return text__clean(s, max_chars, 0);
}

int text_is_clean_lines(const char *s, size_t max_chars)
{
    return text__clean(s, max_chars, 1);
}

static int text__clean(const char *s, size_t max_chars, int lines)
{
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0) return 0;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xc0) != 0x80) return 0;
        if (len == 1 && (c < 0x20 || c == 0x7f) && !(lines && c == '\n')) return 0;
        if (len > 1) { /* no overlong forms, surrogates or code points past U+10FFFF */
            static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
            unsigned cp = c & (0x7fu >> len);
            for (size_t i = 1; i < len; i++) cp = cp << 6 | (p[i] & 0x3fu);
            if (cp < min_cp[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
            if (cp >= 0x80 && cp <= 0x9f) return 0; /* C1 controls */
        }
        p += len;
        chars++;
    }
    return chars >= 1 && chars <= max_chars;
}

static int choices__key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > CHOICE_KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return k[0] >= 'a' && k[0] <= 'z';
}

json_t *choices_find(json_t *defs, const char *key)
{
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d) {
        const char *k = json_string_value(json_object_get(d, "key"));
        if (k && strcmp(k, key) == 0) return d;
    }
    return NULL;
}

int choices_validate(json_t *defs, json_t **ret, char *err, size_t errlen)
{
    json_t *out = json_array();
    if (!json_is_array(defs)) FAIL("choices: must be an array");
    if (json_array_size(defs) > CHOICES_MAX) FAIL("choices: at most %d choices", CHOICES_MAX);
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d) {
        if (!json_is_object(d)) FAIL("choices[%zu]: must be an object", i);
        const char *key = json_string_value(json_object_get(d, "key"));
        const char *label = json_string_value(json_object_get(d, "label"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        json_t *purpose_j = json_object_get(d, "purpose");
        json_t *options = json_object_get(d, "options");
        if (!key || !choices__key_ok(key))
            FAIL("choices[%zu].key: required, lower-case letters, digits and _ (1-%d)", i,
                 CHOICE_KEY_MAX);
        if (choices_find(out, key)) FAIL("choices[%zu].key: duplicate key \"%s\"", i, key);
        if (!label || !text_is_clean(label, CHOICE_LABEL_MAX))
            FAIL("choices[%zu].label: required text of 1-%d characters", i, CHOICE_LABEL_MAX);
        if (!kind || (strcmp(kind, "choice") && strcmp(kind, "yesno") && strcmp(kind, "text")))
            FAIL("choices[%zu].kind: must be \"choice\", \"yesno\" or \"text\"", i);
        const char *purpose = "preferences";
        if (purpose_j && !json_is_null(purpose_j)) {
            purpose = json_string_value(purpose_j);
            if (!purpose || purpose_check(purpose, NULL))
                FAIL("choices[%zu].purpose: not a known purpose", i);
        }
        json_t *nd = json_pack("{s:s, s:s, s:s, s:s}", "key", key, "label", label, "kind", kind,
                               "purpose", purpose);
        json_array_append_new(out, nd);
        if (strcmp(kind, "choice") == 0) {
            if (!json_is_array(options) || json_array_size(options) < 1 ||
                json_array_size(options) > CHOICE_OPTIONS_MAX)
                FAIL("choices[%zu].options: kind \"choice\" needs 1-%d options", i,
                     CHOICE_OPTIONS_MAX);
            json_t *opts = json_array();
            json_object_set_new(nd, "options", opts);
            size_t j;
            json_t *o;
            json_array_foreach(options, j, o) {
                const char *s = json_string_value(o);
                if (!s || !text_is_clean(s, CHOICE_LABEL_MAX))
                    FAIL("choices[%zu].options[%zu]: must be text of 1-%d characters", i, j,
                         CHOICE_LABEL_MAX);
                size_t k;
                json_t *prev;
                json_array_foreach(opts, k, prev) {
                    if (strcmp(json_string_value(prev), s) == 0)
                        FAIL("choices[%zu].options[%zu]: duplicate option \"%s\"", i, j, s);
                }
                json_array_append_new(opts, json_string(s));
            }
        } else if (options && !json_is_null(options)) {
            FAIL("choices[%zu].options: only kind \"choice\" has options", i);
        }
    }
    *ret = out;
    return 0;
fail:
    json_decref(out);
    return SK_EINVAL;
}

static int answers__one(json_t *def, const char *key, json_t *v, char *err, size_t errlen)
{
    const char *kind = json_string_value(json_object_get(def, "kind"));
    if (strcmp(kind, "yesno") == 0) {
        if (!json_is_boolean(v)) FAIL("answers.%s: must be true or false", key);
    } else if (strcmp(kind, "text") == 0) {
        if (!json_is_string(v) || !text_is_clean(json_string_value(v), ANSWER_TEXT_MAX))
            FAIL("answers.%s: must be text of 1-%d characters", key, ANSWER_TEXT_MAX);
    } else {
        const char *s = json_string_value(v);
        if (!s) FAIL("answers.%s: must be one of the options", key);
        size_t j;
        json_t *o;
        json_array_foreach(json_object_get(def, "options"), j, o) {
            if (strcmp(json_string_value(o), s) == 0) return 0;
        }
        FAIL("answers.%s: \"%s\" is not one of the options", key, s);
    }
    return 0;
fail:
    return SK_EINVAL;
}

int answers_validate(json_t *defs, json_t *answers, json_t *dont, json_t **ret_dont,
                     char *err, size_t errlen)
{
    json_t *ndont = NULL;
    if (answers) {
        if (!json_is_object(answers)) FAIL("answers: must be an object");
        const char *key;
        json_t *v;
        json_object_foreach(answers, key, v) {
            json_t *def = choices_find(defs, key);
            if (!def) FAIL("answers.%s: the brand has no such choice", key);
            if (answers__one(def, key, v, err, errlen)) goto fail;
        }
    }
    if (dont) {
        if (!json_is_array(dont)) FAIL("dont: must be an array");
        if (json_array_size(dont) > DONT_MAX) FAIL("dont: at most %d entries", DONT_MAX);
        ndont = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(dont, i, v) {
            const char *raw = json_string_value(v);
            char s[4 * DONT_TEXT_MAX + 1];
            if (!raw || !text_is_clean(raw, DONT_TEXT_MAX))
                FAIL("dont[%zu]: must be text of 1-%d characters", i, DONT_TEXT_MAX);
            /* trimmed: " no pastry" and "no pastry" are one wish */
            while (*raw == ' ' || *raw == '\t') raw++;
            size_t n = strlen(raw);
            while (n && (raw[n - 1] == ' ' || raw[n - 1] == '\t')) n--;
            if (n == 0) FAIL("dont[%zu]: must not be blank", i);
            memcpy(s, raw, n);
            s[n] = '\0';
            int dup = 0;
            size_t j;
            json_t *p;
            json_array_foreach(ndont, j, p) dup |= strcmp(json_string_value(p), s) == 0;
            if (!dup) json_array_append_new(ndont, json_string(s));
        }
    }
    if (ret_dont) *ret_dont = ndont;
    else json_decref(ndont);
    return 0;
fail:
    json_decref(ndont);
    return SK_EINVAL;
}

json_t *answers_visible(json_t *defs, json_t *answers, const struct purpose_set *granted)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(answers, key, v) {
        json_t *def = choices_find(defs, key);
        const char *purpose = def ? json_string_value(json_object_get(def, "purpose"))
                                  : "preferences";
        if (purpose_set_has(granted, purpose)) json_object_set(out, key, v);
    }
    return out;
}
