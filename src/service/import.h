/*
 * import.h — bulk CSV imports of a brand's catalogue and of historic till
 * data, shared by POST /v1/brands/{brand}/items/import and `shopkeeper
 * import`. Every row is validated on its own: a bad row is reported in the
 * summary with its line number and reason, and never stops the good ones.
 * Columns are in docs/api.md ("Catalogue and purchases").
 */
#ifndef SK_IMPORT_H
#define SK_IMPORT_H

#include "store/store.h"

#include <stddef.h>

/* Called as work advances: done out of total (rows or transactions). */
typedef void (*import_progress_fn)(void *ctx, size_t done, size_t total);

/* Items: *ret = {imported, updated, rejected: [{line, reason}],
 * rejected_count}. SK_EINVAL with err when the header row is unusable
 * (then nothing is imported). */
int import_items(struct store *st, const char *brand_id, const char *csv, size_t len,
                 import_progress_fn fn, void *ctx, json_t **ret, char *err, size_t errlen);

/* Purchases (columns txn, store, at, customer_email?, sku, qty, price; the
 * rows of one (store, txn) are one purchase): *ret = {imported, duplicates,
 * linked, anonymous, rejected: [{line, reason}], rejected_count}. A
 * transaction with a bad row is rejected whole (each of its rows listed).
 * Re-importing a file counts its transactions as duplicates. */
int import_purchases(struct store *st, const char *brand_id, const char *csv, size_t len,
                     import_progress_fn fn, void *ctx, json_t **ret, char *err, size_t errlen);

#endif
