/*
 * item_index.h — which catalogue items a text on a taste or don't-list can
 * name, without reading the whole catalogue: per category segment, maker,
 * tag and title (lowercased), the items that carry it.
 *
 * The keys are what the rules in src/core/suggest_rules.c compare
 * (case-insensitive equality with a segment, the maker, a tag, the title;
 * a don't-list text's first word), so a lookup's lists are its matches;
 * only a path ("books/fiction", which names its last segment under that
 * path alone) is checked item by item with sr_matches_taste /
 * sr_matches_dont. tests/unit/test_item_index.c holds the answers to those
 * of a walk over every item with the two functions. Build once per
 * catalogue; a built index is read-only and may be shared by threads.
 */
#ifndef SK_ITEM_INDEX_H
#define SK_ITEM_INDEX_H

#include "core/suggest_rules.h"

#include <stddef.h>
#include <stdint.h>

struct item_index;

/* An index of n items; item i is *(const struct sr_item *)((const char *)
 * items + i * stride), which must outlive the index. 0, SK_ENOMEM. */
int item_index_build(const struct sr_item *items, size_t stride, uint32_t n,
                     struct item_index **ret);
void item_index_free(struct item_index *x);

/* The items text names as a taste (sr_matches_taste), ascending, each once,
 * into out (room for the catalogue's n items is always enough); returns the
 * count. */
size_t item_index_taste(const struct item_index *x, const char *text, uint32_t *out);
/* The same for a don't-list text (sr_matches_dont). */
size_t item_index_dont(const struct item_index *x, const char *text, uint32_t *out);

#endif
