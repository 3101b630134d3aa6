/* suggest_rules.c — the "never nag" filters (see suggest_rules.h). */
#include "core/suggest_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define DAY 86400

static int seg_eq(const char *s, size_t n, const char *text)
{
    return strlen(text) == n && strncasecmp(s, text, n) == 0;
}

/* Calls each '/'-separated segment of the category; returns the first that
 * equals text (its start, length in *n), or NULL. */
static const char *category_segment(const char *cat, const char *text, size_t *n)
{
    if (!cat) return NULL;
    /* a leading part of the path ("nonfiction/biographies") names its last
     * segment */
    size_t tl = strlen(text);
    if (strchr(text, '/') && strncasecmp(cat, text, tl) == 0 && (cat[tl] == '\0' || cat[tl] == '/')) {
        const char *last = text + tl;
        while (last > text && last[-1] != '/') last--;
        *n = tl - (size_t)(last - text);
        return cat + (last - text);
    }
    const char *p = cat;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && seg_eq(p, len, text)) {
            *n = len;
            return p;
        }
        if (!e) break;
        p = e + 1;
    }
    return NULL;
}

int sr_matches_dont(const struct sr_item *it, const char *text)
{
    size_t n;
    if (!text || !*text) return 0;
    if (it->title && strcasecmp(it->title, text) == 0) return 1;
    if (category_segment(it->category, text, &n)) return 1;
    /* "children's books" names the category "children": the text's first
     * word, when it is a category segment of three letters or more (not for
     * a path: "books/children" must not name all of "books") */
    if (strchr(text, '/')) return 0;
    size_t w = 0;
    while (text[w] && (isalnum((unsigned char)text[w]) || text[w] == '-')) w++;
    if (w >= 3 && w < 64) {
        char word[64];
        memcpy(word, text, w);
        word[w] = '\0';
        return category_segment(it->category, word, &n) != NULL;
    }
    return 0;
}

int sr_taste_match(const struct sr_item *it, const char *text, char *buf, size_t len)
{
    size_t n;
    if (len) buf[0] = '\0';
    if (!text || !*text) return 0;
    const char *seg = category_segment(it->category, text, &n);
    if (seg) {
        snprintf(buf, len, "%.*s", (int)n, seg);
        return 1;
    }
    if (it->maker && strcasecmp(it->maker, text) == 0) {
        snprintf(buf, len, "%s", it->maker);
        return 2;
    }
    for (size_t i = 0; i < it->ntags; i++)
        if (it->tags[i] && strcasecmp(it->tags[i], text) == 0) {
            snprintf(buf, len, "%s", it->tags[i]);
            return 3;
        }
    return 0;
}

int sr_matches_taste(const struct sr_item *it, const char *text)
{
    char buf[2];
    return sr_taste_match(it, text, buf, sizeof buf) != 0;
}

int sr_excluded(const struct sr_item *it, const struct sr_history *h, const char *const *dont,
                size_t ndont, int64_t now)
{
    for (size_t i = 0; i < ndont; i++)
        if (sr_matches_dont(it, dont[i])) return 1;
    if (!h) return 0;
    if (h->dismissed) return 1;
    if (h->last_bought) {
        if (!it->consumable) return 1;
        if (now - h->last_bought < (int64_t)SR_CONSUMABLE_DAYS * DAY) return 1;
    }
    if (h->last_shown) {
        int64_t age = now - h->last_shown, days;
        switch (h->last_outcome) {
        case SR_DECLINED: days = SR_DECLINED_DAYS; break;
        case SR_NOT_NOW: days = SR_NOT_NOW_DAYS; break;
        case SR_DISMISSED: return 1;
        default: days = SR_SHOWN_DAYS; break;
        }
        if (age < days * DAY) return 1;
    }
    return 0;
}

double sr_showing_factor(int64_t shown_at, enum sr_outcome o, int64_t now)
{
    if (o == SR_ACCEPTED || shown_at > now) return 1.0;
    double left = 1.0 - (double)(now - shown_at) / ((double)SR_FATIGUE_DAYS * DAY);
    return left <= 0 ? 1.0 : 1.0 - SR_FATIGUE_STEP * left;
}

size_t sr_allowance(size_t shown_this_visit, size_t shown_today)
{
    if (shown_this_visit >= SR_PER_VISIT || shown_today >= SR_PER_DAY) return 0;
    size_t a = SR_PER_VISIT - shown_this_visit, b = SR_PER_DAY - shown_today;
    return a < b ? a : b;
}

static const char *const names[] = {"", "accepted", "declined", "not_now", "dismissed"};

enum sr_outcome sr_outcome_parse(const char *s)
{
    for (int i = 1; i < 5; i++)
        if (s && strcmp(s, names[i]) == 0) return (enum sr_outcome)i;
    return SR_NONE;
}

const char *sr_outcome_name(enum sr_outcome o)
{
    return (unsigned)o < 5 ? names[o] : "";
}

static int bought_cmp(const void *a, const void *b)
{
    const struct sr_bought *x = a, *y = b;
    int c = strcmp(x->sku, y->sku);
    if (c) return c;
    if (x->at != y->at) return (x->at > y->at) - (x->at < y->at);
    return strcmp(x->purchase ? x->purchase : "", y->purchase ? y->purchase : "");
}

/* Whether two lines of one item (sorted next to each other) are of
 * separate purchases: two sales in one millisecond are two purchases. */
static int separate(const struct sr_bought *a, const struct sr_bought *b)
{
    if (a->purchase && b->purchase) return strcmp(a->purchase, b->purchase) != 0;
    return a->at != b->at;
}

long sr_usual(struct sr_bought *lines, size_t n)
{
    if (!lines || n == 0) return -1;
    qsort(lines, n, sizeof *lines, bought_cmp);
    long best = -1;
    size_t best_n = 0;
    int64_t best_last = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, times = 0;
        int64_t last = 0;
        for (; j < n && strcmp(lines[j].sku, lines[i].sku) == 0; j++) {
            if (j == i || separate(&lines[j], &lines[j - 1])) times++;
            last = lines[j].at;
        }
        if (times >= SR_USUAL_MIN && (times > best_n || (times == best_n && last > best_last))) {
            best = (long)i;
            best_n = times;
            best_last = last;
        }
        i = j;
    }
    return best;
}
