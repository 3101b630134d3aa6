/*
 * suggest_rules.h — the "never nag" filters of suggestions, pure: what may
 * not be suggested to a customer at a brand, and the caps.
 *
 * An item is excluded when
 *   - its title or a segment of its category path equals (case-insensitive)
 *     a text on the customer's don't-list, or a person's dislikes name its
 *     category segment, maker or a tag (only for that person's list);
 *   - it was bought before and is not consumable, or is consumable and was
 *     bought within SR_CONSUMABLE_DAYS;
 *   - it was dismissed for good;
 *   - it was shown and declined within SR_DECLINED_DAYS, answered "not now"
 *     within SR_NOT_NOW_DAYS, or shown without response within
 *     SR_SHOWN_DAYS (accepted: treated as a purchase-like signal and kept off
 *     for SR_SHOWN_DAYS too).
 *
 * Past those cooldowns an item still carries its showings: each showing
 * that was declined, put off or went unanswered multiplies the item's score
 * by sr_showing_factor — halved on the day, back to whole linearly over
 * SR_FATIGUE_DAYS — so a suggestion mentioned once comes back only when
 * nothing better is left, and one mentioned every morning sinks.
 */
#ifndef SK_SUGGEST_RULES_H
#define SK_SUGGEST_RULES_H

#include <stddef.h>
#include <stdint.h>

#define SR_CONSUMABLE_DAYS 7
#define SR_DECLINED_DAYS 30
#define SR_NOT_NOW_DAYS 7
#define SR_SHOWN_DAYS 3
#define SR_FATIGUE_DAYS 30
#define SR_FATIGUE_STEP 0.5
#define SR_PER_VISIT 2
#define SR_PER_DAY 6
#define SR_USUAL_MIN 2 /* separate purchases before an item is "the usual" */

enum sr_outcome { SR_NONE = 0, SR_ACCEPTED, SR_DECLINED, SR_NOT_NOW, SR_DISMISSED };

struct sr_item {
    const char *title;
    const char *category; /* "books/fiction/thrillers" */
    const char *maker;    /* or NULL */
    const char *const *tags;
    size_t ntags;
    int consumable;
};

/* What is known of the item for this customer (times in seconds, 0: never). */
struct sr_history {
    int64_t last_bought;
    int64_t last_shown;
    enum sr_outcome last_outcome; /* of the latest showing */
    int dismissed;
};

/* Non-zero when text (case-insensitive) equals the title or a segment of the
 * category path of it. */
int sr_matches_dont(const struct sr_item *it, const char *text);
/* Non-zero when text equals a category segment, the maker or a tag. */
int sr_matches_taste(const struct sr_item *it, const char *text);
/* The first matching category segment / maker / tag for text, copied into
 * buf ("" when none); returns the kind: 1 category, 2 maker, 3 tag, 0 none. */
int sr_taste_match(const struct sr_item *it, const char *text, char *buf, size_t len);

/* Non-zero when the item must not be suggested now (dont: n texts). */
int sr_excluded(const struct sr_item *it, const struct sr_history *h, const char *const *dont,
                size_t ndont, int64_t now);

/* The factor (0, 1] one showing at shown_at (seconds) with outcome o leaves
 * on the item's score at now: 1 - SR_FATIGUE_STEP when it was shown, rising
 * linearly to 1 after SR_FATIGUE_DAYS; 1 for accepted (a welcome
 * suggestion is not a nag) and for showings in the future. */
double sr_showing_factor(int64_t shown_at, enum sr_outcome o, int64_t now);

/* How many more may be shown: per visit and per day caps. */
size_t sr_allowance(size_t shown_this_visit, size_t shown_today);

/* One line of a customer's purchase history: the item and the time of the
 * purchase it was on (lines of one purchase share it). */
struct sr_bought {
    const char *sku;
    int64_t at;
    const char *purchase; /* the purchase's id; NULL: lines at one time are one purchase */
};

/* "The usual": the item bought on the most separate purchases, at least
 * SR_USUAL_MIN of them (a purchase counts once, whatever its quantity or
 * lines); between equals, the one bought last, then the smaller sku. One
 * purchase is a purchase, not a habit. Sorts lines (n) in place; returns the
 * index of a line of that item in the sorted array, or -1 when no item was
 * bought often enough. */
long sr_usual(struct sr_bought *lines, size_t n);

enum sr_outcome sr_outcome_parse(const char *s);
const char *sr_outcome_name(enum sr_outcome o);

#endif
