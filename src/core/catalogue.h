/*
 * catalogue.h — pure rules for catalogue items and purchases, and a small
 * RFC 4180 CSV reader for the bulk imports. No I/O.
 *
 * Every validator writes an error that names the field first
 * ("lines[2].qty: ..."), ready for a problem detail or an import summary.
 */
#ifndef SK_CATALOGUE_H
#define SK_CATALOGUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ITEM_SKU_MAX 64        /* [A-Za-z0-9_-] */
#define ITEM_TITLE_MAX 200
#define ITEM_CATEGORY_MAX 200  /* whole path */
#define ITEM_CATEGORY_DEPTH 8
#define ITEM_MAKER_MAX 120
#define ITEM_TAGS_MAX 30
#define ITEM_TAG_MAX 40
#define PURCHASE_LINES_MAX 200
#define PURCHASE_QTY_MAX 10000
#define PRICE_MAX_CENTS 100000000LL /* 1 000 000.00 */
#define PERSON_ID_MAX 64
#define IDEM_KEY_MAX 100
#define TXN_MAX 64
#define IMPORT_REJECTED_MAX 1000 /* rejected rows listed in a summary */

/* 1 if k is an Idempotency-Key: 1-100 printable ASCII characters */
int idem_key_is_valid(const char *k);
/* 1 if s is a SKU: 1-64 of A-Z a-z 0-9 _ - */
int sku_is_valid(const char *s);
/* 1 if s is YYYY-MM-DD, a real date */
int date_is_valid(const char *s);

/* {title, category?, maker?, tags?, released?, consumable?} -> the
 * normalized item {title, category, maker|null, tags, released|null,
 * consumable}. SK_EINVAL with err naming prefix+field. */
int item_normalize(json_t *in, const char *prefix, json_t **ret, char *err, size_t errlen);

/* A price: a JSON number or decimal text, 0 <= price <= 1 000 000, at most
 * two decimals -> cents. */
int price_from_json(json_t *v, int64_t *ret_cents);
int price_from_text(const char *s, int64_t *ret_cents);

/* POST /v1/brands/{brand}/purchases body -> {store, at, customer?, lines:
 * [{sku, qty, price_cents, for?}]}; at defaults to now_us. */
int purchase_normalize(json_t *in, int64_t now_us, json_t **ret, char *err, size_t errlen);

/* CSV reader: fields separated by ',', optionally quoted with '"' ("" is a
 * quote inside), records end at LF or CRLF outside quotes. A leading UTF-8
 * BOM is skipped, blank lines are skipped. */
struct csv {
    const char *p, *end;
    size_t line; /* 1-based line of p */
};
void csv_init(struct csv *c, const char *buf, size_t len);
/* 1 and *ret (array of strings; a field that is not valid UTF-8 text is
 * null) with *ret_line the line the record starts on; 0 at the end;
 * SK_EINVAL for an unterminated quote (*ret_line set). */
int csv_next(struct csv *c, json_t **ret, size_t *ret_line);
/* Bytes consumed so far (for progress). */
size_t csv_offset(const struct csv *c, const char *buf);

#endif
