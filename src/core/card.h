/*
 * card.h — what a counter display may show for one visit.
 *
 * A card is {visit, store, channel, opened_at, served, customer: {name},
 * choices: [{key, label, value}], dont: [...], suggestions: [...]}, each
 * part present only under its purpose: the name under recognition; the
 * answers and the don't-list under preferences (and each answer only when
 * its choice's own purpose is granted, and never when the choice is on the
 * don't-list: there it reads as its label, "don't ask about"). Assembled from plain inputs; the
 * caller fetched them under the same grants.
 */
#ifndef SK_CARD_H
#define SK_CARD_H

#include "core/purpose.h"

#include <jansson.h>
#include <stddef.h>

struct card_input {
    const char *visit_id;
    const char *store_id;
    const char *channel;   /* device | app | code */
    const char *opened_at; /* RFC 3339 */
    int served;
    const char *name;      /* NULL when not fetched */
    json_t *choices;       /* the brand's choice definitions (borrowed) */
    json_t *answers;       /* object or NULL (borrowed) */
    json_t *dont;          /* array or NULL (borrowed) */
    const struct purpose_set *granted;
};

/* A new card object. ret_fields (len bytes) gets the space-separated fields
 * shown, for the access log: "name", "choices", "dont". */
json_t *card_build(const struct card_input *in, char *ret_fields, size_t len);

/* A card from the store's card_data document {purposes, name?, answers?,
 * dont?, choices}: in->granted, name, choices, answers and dont are taken
 * from data (the other fields of in are used as given). *ret_recognised
 * says whether recognition is granted — without it no card is shown. */
json_t *card_from_data(json_t *data, const struct card_input *in, char *ret_fields, size_t len,
                       int *ret_recognised);

/* Adds what the suggestion service found to a card: the suggestions list
 * (only where the card has its suggestions part, i.e. under the suggestions
 * purpose) and "the usual" as a choice {key: "usual"} unless the customer
 * answered the brand's own "usual" choice. Either may be NULL. Appends
 * "suggestions" / "usual" to ret_fields (len bytes) for what it added;
 * returns non-zero when the usual was added. */
int card_add_suggestions(json_t *card, json_t *list, json_t *usual, char *ret_fields, size_t len);

#endif
