/*
 * suggest_svc.h — the suggestion service: one trained model per brand (the
 * last complete one, swapped in under a lock; readers hold a reference, so a
 * retrain never blocks a card), retrained in a background thread when the
 * brand's purchases changed, and on demand; ranking for one customer under
 * current grants with the "never nag" rules (core/suggest_rules.h), merged
 * per person (core/suggest.h) so each person is represented. With each model
 * go the rules' view of every item and an index of them by category segment,
 * maker, tag and title (core/item_index.h): a ranking reads the items a
 * customer's history, tastes and don't-list name, never the whole catalogue
 * as text (docs/performance.md has what a card costs).
 *
 * Grants: nothing at all without "suggestions"; the customer's own purchases
 * only under "history"; the people they shop for only as their stated
 * likes/dislikes. The don't-list only ever leaves things out.
 */
#ifndef SK_SUGGEST_SVC_H
#define SK_SUGGEST_SVC_H

#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define SUGGEST_SVC_LAMBDA 200.0  /* EASE ridge, chosen in bench/bench_suggest.c */
#define SUGGEST_SVC_INTERVAL_S 600 /* background retrain check */

struct suggest_svc;

int suggest_svc_new(struct store *st, struct suggest_svc **ret);
void suggest_svc_free(struct suggest_svc *s);
/* Starts/stops the background retraining (every interval_s, brands whose
 * purchases or items changed since their model). */
int suggest_svc_start(struct suggest_svc *s, int64_t interval_s);
void suggest_svc_stop(struct suggest_svc *s);

/* Trains the brand's model now and swaps it in: {brand, items, baskets,
 * modelled, method, ms}. SK_ENOTFOUND when the brand has no catalogue. */
int suggest_svc_train(struct suggest_svc *s, const char *brand_id, json_t **ret);

/* Calls fn once per brand with a model in memory: the brand's id, when the
 * model was trained (microseconds since the epoch) and its item count.
 * fn runs under the service's lock: it must not call back into it. */
void suggest_svc_models(struct suggest_svc *s,
                        void (*fn)(void *cls, const char *brand_id, int64_t trained_us,
                                   size_t items),
                        void *cls);

/* The customer's own view: up to k suggestions [{sku, title, reason, for?,
 * why: {source, because?, person?}}], nothing recorded, no caps. With only
 * NULL, everyone's lists merged (as on the card); SUGGEST_FOR_ME, the
 * customer's own list; a person's id, that person's list (empty when the
 * customer lists no such person). *ret_catalogue (may be NULL) is 0 when
 * the brand has no catalogue, so nothing can ever be suggested (the list is
 * then empty, not an error). SK_ENOTFOUND for a non-member. */
#define SUGGEST_FOR_ME "me"
int suggest_svc_mine(struct suggest_svc *s, const char *brand_id, const char *customer_id,
                     const char *only, size_t k, json_t **ret, int *ret_catalogue);

/* For a visit's card: the suggestions still open on this visit plus new ones
 * within the caps (2 per visit, 6 per day), new ones recorded as shown.
 * *ret_list [{sku, title, reason, for?}] (empty when the brand has no
 * catalogue); *ret_usual {sku, title} under history: the item the customer
 * bought on at least SR_USUAL_MIN separate purchases (sr_usual), or NULL. With visit_id NULL:
 * what a new visit would show now ("what staff will see"), nothing
 * recorded. */
int suggest_svc_card(struct suggest_svc *s, const char *brand_id, const char *customer_id,
                     const char *visit_id, json_t **ret_list, json_t **ret_usual);

#endif
