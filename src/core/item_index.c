/* item_index.c — catalogue items by segment, maker, tag and title (see
 * item_index.h). Keys are one kind letter and the lowercased text; each
 * posting list is ascending without repeats (items are added in order). */
#include "core/item_index.h"
#include "util/err.h"
#include "util/strmap.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256 /* longer than any catalogue text (titles: 200) */

enum { K_SEGMENT = 's', K_MAKER = 'm', K_TAG = 't', K_TITLE = 'T' };

struct posting {
    uint32_t n, cap;
    uint32_t *v;
};

struct item_index {
    const char *items;
    size_t stride;
    uint32_t n;
    struct strmap map; /* key -> struct posting */
};

static const struct sr_item *ii__item(const struct item_index *x, uint32_t i)
{
    return (const struct sr_item *)(const void *)(x->items + (size_t)i * x->stride);
}

/* key = kind + lowercase(text[0..len)); 0 when it does not fit. */
static int ii__key(char *key, int kind, const char *text, size_t len)
{
    if (len + 2 > KEY_MAX) return 0;
    key[0] = (char)kind;
    for (size_t i = 0; i < len; i++) key[i + 1] = (char)tolower((unsigned char)text[i]);
    key[len + 1] = '\0';
    return 1;
}

static int ii__add(struct item_index *x, int kind, const char *text, size_t len, uint32_t item)
{
    char key[KEY_MAX];
    if (!text || !len || !ii__key(key, kind, text, len)) return 0;
    struct posting *p = strmap_get(&x->map, key);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p) return SK_ENOMEM;
        if (strmap_put(&x->map, key, p)) {
            free(p);
            return SK_ENOMEM;
        }
    }
    if (p->n && p->v[p->n - 1] == item) return 0;
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 4;
        uint32_t *v = realloc(p->v, cap * sizeof *v);
        if (!v) return SK_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = item;
    return 0;
}

static int ii__add_item(struct item_index *x, uint32_t i)
{
    const struct sr_item *it = ii__item(x, i);
    int rc = 0;
    if (it->title) rc = ii__add(x, K_TITLE, it->title, strlen(it->title), i);
    if (!rc && it->maker) rc = ii__add(x, K_MAKER, it->maker, strlen(it->maker), i);
    for (size_t t = 0; !rc && t < it->ntags; t++)
        if (it->tags[t]) rc = ii__add(x, K_TAG, it->tags[t], strlen(it->tags[t]), i);
    for (const char *s = it->category; !rc && s && *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        rc = ii__add(x, K_SEGMENT, s, len, i);
        if (!e) break;
        s = e + 1;
    }
    return rc;
}

void item_index_free(struct item_index *x)
{
    if (!x) return;
    size_t pos;
    for (struct strmap_entry *e = strmap_first(&x->map, &pos); e; e = strmap_next(&x->map, &pos, e)) {
        struct posting *p = e->value;
        free(p->v);
        free(p);
    }
    strmap_release(&x->map);
    free(x);
}

int item_index_build(const struct sr_item *items, size_t stride, uint32_t n,
                     struct item_index **ret)
{
    struct item_index *x = calloc(1, sizeof *x);
    if (!x) return SK_ENOMEM;
    x->items = (const char *)items;
    x->stride = stride;
    x->n = n;
    if (strmap_init(&x->map)) {
        free(x);
        return SK_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        if (ii__add_item(x, i)) {
            item_index_free(x);
            return SK_ENOMEM;
        }
    *ret = x;
    return 0;
}

static const struct posting *ii__find(const struct item_index *x, int kind, const char *text,
                                      size_t len)
{
    char key[KEY_MAX];
    return len && ii__key(key, kind, text, len) ? strmap_get(&x->map, key) : NULL;
}

/* The last '/'-separated part of text: what a category path names. */
static const char *ii__last_segment(const char *text, size_t *len)
{
    const char *s = strrchr(text, '/');
    s = s ? s + 1 : text;
    *len = strlen(s);
    return s;
}

/* One list to merge: exact when every item on it matches the text; the
 * others (a path's last segment) are checked with the rule. */
struct ii_list {
    const struct posting *p;
    int exact;
};

/* Merges up to three ascending posting lists into out, each item once: an
 * item on an exact list is in; one only on the others when match accepts
 * it for text. */
static size_t ii__gather(const struct item_index *x, const struct ii_list *lists, int nl,
                         int (*match)(const struct sr_item *, const char *), const char *text,
                         uint32_t *out)
{
    uint32_t at[3] = {0, 0, 0};
    size_t got = 0;
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (int l = 0; l < nl; l++)
            if (lists[l].p && at[l] < lists[l].p->n && lists[l].p->v[at[l]] < best) best = lists[l].p->v[at[l]];
        if (best == UINT32_MAX) return got;
        int exact = 0;
        for (int l = 0; l < nl; l++)
            if (lists[l].p && at[l] < lists[l].p->n && lists[l].p->v[at[l]] == best) {
                exact |= lists[l].exact;
                at[l]++;
            }
        if (exact || match(ii__item(x, best), text)) out[got++] = best;
    }
}

/*
 * Which lists hold exactly the matches (see suggest_rules.c): a text without
 * '/' equals a segment, a maker, a tag or a title (case-insensitive), which
 * is what the keys are; a path ("books/fiction") names its last segment only
 * under that path, so its segment list is checked item by item.
 */
size_t item_index_taste(const struct item_index *x, const char *text, uint32_t *out)
{
    if (!x || !text || !*text) return 0;
    size_t len = strlen(text), sl;
    const char *seg = ii__last_segment(text, &sl);
    int path = seg != text;
    struct ii_list lists[3] = {{ii__find(x, K_SEGMENT, seg, sl), !path},
                               {ii__find(x, K_MAKER, text, len), 1},
                               {ii__find(x, K_TAG, text, len), 1}};
    return ii__gather(x, lists, 3, sr_matches_taste, text, out);
}

size_t item_index_dont(const struct item_index *x, const char *text, uint32_t *out)
{
    if (!x || !text || !*text) return 0;
    size_t len = strlen(text), sl, w = 0;
    const char *seg = ii__last_segment(text, &sl);
    int path = seg != text;
    /* the first word may name a category ("children's books"), not in a path */
    while (text[w] && (isalnum((unsigned char)text[w]) || text[w] == '-')) w++;
    int word = !path && w >= 3 && w < 64;
    struct ii_list lists[3] = {{ii__find(x, K_TITLE, text, len), 1},
                               {ii__find(x, K_SEGMENT, seg, sl), !path},
                               {word ? ii__find(x, K_SEGMENT, text, w) : NULL, 1}};
    return ii__gather(x, lists, 3, sr_matches_dont, text, out);
}
