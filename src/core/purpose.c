/*
 * purpose.c — purpose names and sets (see purpose.h).
 * Invariant: a purpose_set's items are valid purposes, unique, sorted by
 * strcmp, and n <= PURPOSE_SET_MAX.
 */
#include "core/purpose.h"
#include "util/err.h"

#include <string.h>

const char *const purpose_names[PURPOSE_FIXED_COUNT] = {
    "recognition", "preferences", "history", "suggestions",
    "offers",      "messages",    "care",    "insights",
};

static const char *const purpose__explanations[PURPOSE_FIXED_COUNT] = {
    "Staff may see your name on the counter screen when you arrive at a store.",
    "Staff may see your answers to the brand's simple choices and what you never want to be asked.",
    "The brand may keep your purchases linked to you, to know your usual order.",
    "Staff may mention one thing you might like, with the reason, never from your don't-list.",
    "The brand may send you offers, within your limits and quiet hours.",
    "The brand may send you messages, such as news from an author you follow.",
    "The brand's care team may link what you say on social networks to your account to help you.",
    "Your data may count, anonymously and only in large groups, in the brand's insights.",
};

int slug_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > SLUG_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
        if (!ok) return 0;
    }
    return 1;
}

static int purpose__fixed(const char *s)
{
    for (int i = 0; i < PURPOSE_FIXED_COUNT; i++)
        if (strcmp(s, purpose_names[i]) == 0) return i;
    return -1;
}

int purpose_check(const char *s, char *ret_partner)
{
    if (purpose__fixed(s) >= 0) {
        if (ret_partner) ret_partner[0] = '\0';
        return 0;
    }
    if (strncmp(s, "partner:", 8) == 0 && slug_is_valid(s + 8)) {
        if (ret_partner) strcpy(ret_partner, s + 8); /* slug_is_valid bounds it */
        return 0;
    }
    return SK_EINVAL;
}

const char *purpose_explain(const char *purpose)
{
    int i = purpose__fixed(purpose);
    if (i >= 0) return purpose__explanations[i];
    if (strncmp(purpose, "partner:", 8) == 0)
        return "The brand may share what you like with this partner brand, and only that.";
    return "";
}

void purpose_set_init(struct purpose_set *s) { s->n = 0; }

int purpose_set_has(const struct purpose_set *s, const char *purpose)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->item[i], purpose) == 0) return 1;
    return 0;
}

int purpose_set_add(struct purpose_set *s, const char *purpose)
{
    if (purpose_check(purpose, NULL)) return SK_EINVAL;
    size_t at = 0;
    while (at < s->n) {
        int c = strcmp(s->item[at], purpose);
        if (c == 0) return 0;
        if (c > 0) break;
        at++;
    }
    if (s->n == PURPOSE_SET_MAX) return SK_ETOOBIG;
    memmove(s->item[at + 1], s->item[at], (s->n - at) * PURPOSE_LEN);
    strcpy(s->item[at], purpose); /* purpose_check bounds its length */
    s->n++;
    return 0;
}

void purpose_set_remove(struct purpose_set *s, const char *purpose)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->item[i], purpose) == 0) {
            memmove(s->item[i], s->item[i + 1], (s->n - i - 1) * PURPOSE_LEN);
            s->n--;
            return;
        }
    }
}

void purpose_set_minus(const struct purpose_set *a, const struct purpose_set *b,
                       struct purpose_set *ret)
{
    purpose_set_init(ret);
    for (size_t i = 0; i < a->n; i++)
        if (!purpose_set_has(b, a->item[i])) purpose_set_add(ret, a->item[i]);
}

void purpose_set_from_words(struct purpose_set *s, const char *words)
{
    purpose_set_init(s);
    const char *p = words;
    while (p && *p) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n > 0 && n < PURPOSE_LEN) {
            char w[PURPOSE_LEN];
            memcpy(w, p, n);
            w[n] = '\0';
            purpose_set_add(s, w);
        }
        p += n;
    }
}
