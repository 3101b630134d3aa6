/*
 * choices.h — a brand's simple choices and a customer's answers to them.
 *
 * A choice is {key, label, kind, options?, purpose}:
 *   kind "choice" — the answer is one of options (strings);
 *   kind "yesno"  — the answer is true or false;
 *   kind "text"   — the answer is a short free text.
 * purpose (default "preferences") is what the customer must have granted for
 * the brand to see the answer. The don't-list holds choice keys ("never ask
 * me this") or short free texts ("no pastry offers").
 *
 * All functions are pure: they read JSON values and write a message naming
 * the offending field into err on failure (SK_EINVAL).
 */
#ifndef SK_CHOICES_H
#define SK_CHOICES_H

#include "core/purpose.h"

#include <jansson.h>
#include <stddef.h>

#define CHOICES_MAX 50
#define CHOICE_OPTIONS_MAX 30
#define CHOICE_KEY_MAX 40
#define CHOICE_LABEL_MAX 120
#define ANSWER_TEXT_MAX 200
#define DONT_MAX 30
#define DONT_TEXT_MAX 200

/* Validates a choices array; on success *ret is a new normalized array
 * (purpose filled in, options only for kind "choice"). */
int choices_validate(json_t *defs, json_t **ret, char *err, size_t errlen);
/* Validates answers (object) and dont (array) against defs. Either may be
 * NULL (not given). On success *ret_dont is a normalized copy of dont
 * (trimmed, unique) or NULL when dont was NULL. */
int answers_validate(json_t *defs, json_t *answers, json_t *dont, json_t **ret_dont,
                     char *err, size_t errlen);
/* The answers whose choice purpose is in granted, as a new object. Answers to
 * keys no longer defined are kept only under "preferences". */
json_t *answers_visible(json_t *defs, json_t *answers, const struct purpose_set *granted);
/* The definition of key in defs, or NULL (borrowed). */
json_t *choices_find(json_t *defs, const char *key);
/* 1 if s is valid UTF-8 with no control characters and 1..max code points. */
int text_is_clean(const char *s, size_t max_chars);
/* The same, with line breaks (\n) allowed: paragraphs of a notice. */
int text_is_clean_lines(const char *s, size_t max_chars);

#endif
