/*
 * purpose.h — the purposes a customer grants a brand, and sets of them.
 *
 * A purpose is one of the fixed names below or "partner:<brand-slug>".
 * A purpose_set is a small sorted array of unique purpose names; it never
 * allocates, so it can live on the stack of any thread.
 */
#ifndef SK_PURPOSE_H
#define SK_PURPOSE_H

#include <stddef.h>

#define PURPOSE_LEN 56     /* "partner:" + a slug of up to 40, plus NUL */
#define PURPOSE_SET_MAX 32 /* 8 fixed purposes + up to 24 partners */
#define SLUG_MAX 40

enum {
    PURPOSE_RECOGNITION,
    PURPOSE_PREFERENCES,
    PURPOSE_HISTORY,
    PURPOSE_SUGGESTIONS,
    PURPOSE_OFFERS,
    PURPOSE_MESSAGES,
    PURPOSE_CARE,
    PURPOSE_INSIGHTS,
    PURPOSE_FIXED_COUNT
};

extern const char *const purpose_names[PURPOSE_FIXED_COUNT];

struct purpose_set {
    size_t n;
    char item[PURPOSE_SET_MAX][PURPOSE_LEN];
};

/* 1 if s is a valid brand slug: [a-z0-9][a-z0-9-]{1,39}. */
int slug_is_valid(const char *s);
/* 0 if s names a purpose. For "partner:x", the slug is copied to
 * ret_partner (if non-NULL, PURPOSE_LEN bytes) — the caller checks it names
 * a brand; for a fixed purpose ret_partner gets "". */
int purpose_check(const char *s, char *ret_partner);
/* One plain sentence telling a shopper what granting the purpose allows. */
const char *purpose_explain(const char *purpose);

void purpose_set_init(struct purpose_set *s);
/* Adds keeping order; 0, SK_EINVAL (not a purpose) or SK_ETOOBIG (full). */
int purpose_set_add(struct purpose_set *s, const char *purpose);
int purpose_set_has(const struct purpose_set *s, const char *purpose);
void purpose_set_remove(struct purpose_set *s, const char *purpose);
/* ret = a \ b */
void purpose_set_minus(const struct purpose_set *a, const struct purpose_set *b,
                       struct purpose_set *ret);
/* Parses "a b c" (space-separated, as stored); invalid names are skipped. */
void purpose_set_from_words(struct purpose_set *s, const char *words);

#endif
