/*
 * store_catalogue.c — the catalogue and purchases (see store.h, item_*
 * and purchase_*).
 *
 * Invariants:
 *  1. A purchase is linked to a customer only when the INSERT itself finds a
 *     current "history" grant for the brand (membership_purposes); a line's
 *     person ("for") is kept only on a linked purchase.
 *  2. Withdrawing "history" or leaving the brand unlinks (sti_purchases_unlink,
 *     inside the caller's ledger transaction): the rows stay as anonymous
 *     baskets.
 *  3. An Idempotency-Key is stored per brand with the request's hash and the
 *     purchase it made, in the purchase's own transaction: a retry returns
 *     that purchase, a different request under the key is SK_ECONFLICT.
 */
#include "store/store_int.h"
#include "util/err.h"
#include "util/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- items --------------------------------------------------------------- */

#define ITEM_COLS                                                                          \
    "sku, title, category, maker, tags, released, consumable, created_at, updated_at"

/* A row of ITEM_COLS into the API shape. */
static void item_shape(json_t *row)
{
    json_t *tags = sti_json_parse_text(row, "tags");
    json_object_set_new(row, "tags", json_is_array(tags) ? tags : json_array());
    if (!json_is_array(tags)) json_decref(tags);
    json_object_set_new(row, "consumable",
                        json_boolean(json_integer_value(json_object_get(row, "consumable"))));
}

static int item_read(struct dbc *db, const char *bid, const char *sku, json_t **ret)
{
    json_t *row;
    int rc = db_row(db, &row, "SELECT " ITEM_COLS " FROM items WHERE brand_id = ? AND sku = ?",
                    "ss", bid, sku);
    if (rc) return rc;
    item_shape(row);
    *ret = row;
    return 0;
}

int sti_item_put(struct store *st, const char *bid, const char *sku, json_t *item, json_t **ret,
                int *ret_created)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    char *tags = json_dumps(json_object_get(item, "tags"), JSON_COMPACT);
    if (!tags) return SK_ENOMEM;
    struct dbc *db = db_acquire(s->db);
    json_t *old = NULL, *out = NULL;
    int created = 0;
    int rc = db_tx_begin(db);
    if (!rc) {
        rc = db_row(db, &old, "SELECT sku FROM items WHERE brand_id = ? AND sku = ?", "ss",
                    bid, sku);
        created = rc == SK_ENOTFOUND;
        if (created) rc = 0;
        json_decref(old);
    }
    if (!rc)
        rc = db_exec(db,
                     "INSERT INTO items (brand_id, sku, title, category, maker, tags, released, "
                     "consumable, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (brand_id, sku) DO UPDATE SET title = excluded.title, "
                     "category = excluded.category, maker = excluded.maker, tags = "
                     "excluded.tags, released = excluded.released, consumable = "
                     "excluded.consumable, updated_at = excluded.updated_at",
                     "sssssssiss", bid, sku, json_string_value(json_object_get(item, "title")),
                     json_string_value(json_object_get(item, "category")),
                     json_string_value(json_object_get(item, "maker")), tags,
                     json_string_value(json_object_get(item, "released")),
                     (int64_t)json_is_true(json_object_get(item, "consumable")), now, now);
    if (!rc) rc = item_read(db, bid, sku, &out);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    free(tags);
    if (rc) {
        json_decref(out);
        return rc;
    }
    if (ret_created) *ret_created = created;
    *ret = out;
    return 0;
}

int sti_item_get(struct store *st, const char *bid, const char *sku, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = item_read(db, bid, sku, ret);
    db_release(s->db, db);
    return rc;
}

int sti_item_list(struct store *st, const char *bid, const struct page *pg, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows;
    int rc = db_rows(db, &rows,
                     "SELECT " ITEM_COLS " FROM items WHERE brand_id = ? AND sku > ? ORDER BY "
                     "sku LIMIT ?",
                     "ssi", bid, pg->after ? pg->after : "", (int64_t)pg->limit + 1);
    db_release(s->db, db);
    if (rc) return rc;
    json_t *next = json_null();
    if ((int)json_array_size(rows) > pg->limit) {
        json_array_remove(rows, (size_t)pg->limit);
        next = json_incref(json_object_get(json_array_get(rows, (size_t)pg->limit - 1), "sku"));
    }
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) item_shape(r);
    *ret = json_pack("{s:o, s:o}", "items", rows, "next", next);
    return 0;
}

/* ---- purchases ----------------------------------------------------------- */

/* The lines of a purchase; with_for: include each line's person. */
static int lines_read(struct dbc *db, const char *pid, int with_for, json_t **ret)
{
    json_t *rows;
    int rc = db_rows(db, &rows,
                     "SELECT l.sku, i.title, i.category, l.qty, l.price_cents, l.for_person "
                     "FROM purchase_lines l JOIN items i ON i.brand_id = l.brand_id AND i.sku = "
                     "l.sku WHERE l.purchase_id = ? ORDER BY l.n",
                     "s", pid);
    if (rc) return rc;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_int_t cents = json_integer_value(json_object_get(r, "price_cents"));
        json_object_set_new(r, "price", json_real((double)cents / 100.0));
        json_object_del(r, "price_cents");
        if (with_for) json_object_set(r, "for", json_object_get(r, "for_person"));
        json_object_del(r, "for_person");
    }
    *ret = rows;
    return 0;
}

static json_t *total_of(json_t *lines)
{
    int64_t cents = 0;
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l) {
        double p = json_real_value(json_object_get(l, "price"));
        cents += json_integer_value(json_object_get(l, "qty")) * (int64_t)(p * 100.0 + 0.5);
    }
    return json_real((double)cents / 100.0);
}

/* The brand's view of one purchase: the customer only while linked. */
static int purchase_read(struct dbc *db, const char *pid, json_t **ret)
{
    json_t *p, *lines;
    int rc = db_row(db, &p,
                    "SELECT id, brand_id, store_id AS store, customer_id AS customer, at, "
                    "source, txn, created_at FROM purchases WHERE id = ?",
                    "s", pid);
    if (rc) return rc;
    rc = lines_read(db, pid, 1, &lines);
    if (rc) {
        json_decref(p);
        return rc;
    }
    json_object_set_new(p, "linked", json_boolean(!json_is_null(json_object_get(p, "customer"))));
    json_object_set_new(p, "total", total_of(lines));
    json_object_set_new(p, "lines", lines);
    *ret = p;
    return 0;
}

int sti_purchase_create(struct store *st, const char *bid, const char *key, const char *body_hash,
                       json_t *p, json_t **ret, int *ret_replayed, int *ret_bad_line)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN], cid[ID_MAX] = "";
    if (id_new("pur", id)) return SK_ECRYPTO;
    sti_now_text(now);
    *ret_bad_line = -1;
    *ret_replayed = 0;
    const char *email = json_string_value(json_object_get(p, "customer_email"));
    const char *cust = json_string_value(json_object_get(p, "customer"));
    char eh[65];
    if (email) sti_email_hash(s, email, eh);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL, *out = NULL;
    int rc = db_tx_begin(db);
    if (!rc && key) {
        rc = db_row(db, &row,
                    "SELECT body_hash, purchase_id FROM purchase_keys WHERE brand_id = ? AND "
                    "key = ?",
                    "ss", bid, key);
        if (!rc) {
            if (strcmp(json_string_value(json_object_get(row, "body_hash")), body_hash) != 0) {
                rc = SK_ECONFLICT;
            } else {
                rc = purchase_read(db, json_string_value(json_object_get(row, "purchase_id")),
                                   &out);
                if (!rc) *ret_replayed = 1;
            }
            json_decref(row);
            rc = db_tx_end(db, rc);
            db_release(s->db, db);
            if (!rc) *ret = out;
            return rc;
        }
        if (rc == SK_ENOTFOUND) rc = 0;
    }
    const char *sid = json_string_value(json_object_get(p, "store"));
    if (!rc) {
        rc = db_row(db, &row, "SELECT id FROM stores WHERE id = ? AND brand_id = ?", "ss", sid,
                    bid);
        json_decref(rc ? NULL : row);
    }
    if (!rc && email) {
        /* an unknown email is an anonymous basket, not an error: the till
         * never learns who has an account */
        if (!db_row(db, &row, "SELECT id FROM customers WHERE email_hash = ?", "s", eh)) {
            snprintf(cid, sizeof cid, "%s", json_string_value(json_object_get(row, "id")));
            json_decref(row);
        }
    } else if (cust) {
        snprintf(cid, sizeof cid, "%s", cust);
    }
    /* Consent in the query: customer_id is set only under a current
     * "history" grant at this brand; otherwise NULL (anonymous basket). */
    if (!rc)
        rc = db_exec(db,
                     "INSERT INTO purchases (id, brand_id, store_id, customer_id, at, source, "
                     "txn, created_at) SELECT ?, ?, ?, (SELECT customer_id FROM "
                     "membership_purposes WHERE brand_id = ? AND customer_id = ? AND purpose = "
                     "'history'), ?, ?, ?, ?",
                     "sssssssss", id, bid, sid, bid, cid,
                     json_string_value(json_object_get(p, "at")),
                     json_string_value(json_object_get(p, "source")) ? json_string_value(
                                                                           json_object_get(
                                                                               p, "source"))
                                                                     : "api",
                     json_string_value(json_object_get(p, "txn")), now);
    int linked = 0;
    if (!rc) {
        rc = db_row(db, &row, "SELECT customer_id IS NOT NULL AS linked FROM purchases WHERE id = ?",
                    "s", id);
        if (!rc) {
            linked = (int)json_integer_value(json_object_get(row, "linked"));
            json_decref(row);
        }
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(p, "lines"), i, l) {
        if (rc) break;
        const char *sku = json_string_value(json_object_get(l, "sku"));
        const char *who = linked ? json_string_value(json_object_get(l, "for")) : NULL;
        rc = db_exec(db,
                     "INSERT INTO purchase_lines (purchase_id, n, brand_id, sku, qty, "
                     "price_cents, for_person) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT "
                     "1 FROM items WHERE brand_id = ? AND sku = ?)",
                     "sissiisss", id, (int64_t)i, bid, sku,
                     (int64_t)json_integer_value(json_object_get(l, "qty")),
                     (int64_t)json_integer_value(json_object_get(l, "price_cents")), who, bid,
                     sku);
        if (!rc && db_changes(db) == 0) {
            rc = SK_EINVAL;
            *ret_bad_line = (int)i;
        }
    }
    if (!rc && key)
        rc = db_exec(db,
                     "INSERT INTO purchase_keys (brand_id, key, body_hash, purchase_id, "
                     "created_at) VALUES (?, ?, ?, ?, ?)",
                     "sssss", bid, key, body_hash, id, now);
    if (!rc) rc = purchase_read(db, id, &out);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

/* The customer's own purchases (linked ones), newest first, with lines. */
static int mine_read(struct dbc *db, const char *cid, const char *bid, const char *after,
                     int64_t limit, json_t **ret)
{
    json_t *rows;
    int rc = db_rows(db, &rows,
                     "SELECT p.id, p.brand_id, b.slug AS brand_slug, b.name AS brand_name, "
                     "p.store_id, so.name AS store_name, p.at FROM purchases p JOIN brands b "
                     "ON b.id = p.brand_id JOIN stores so ON so.id = p.store_id WHERE "
                     "p.customer_id = ? AND (? IS NULL OR p.brand_id = ?) AND (? IS NULL OR "
                     "p.id < ?) ORDER BY p.id DESC LIMIT ?",
                     "sssssi", cid, bid, bid, after, after, limit);
    if (rc) return rc;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_t *lines;
        rc = lines_read(db, json_string_value(json_object_get(r, "id")), 1, &lines);
        if (rc) {
            json_decref(rows);
            return rc;
        }
        json_object_set_new(r, "total", total_of(lines));
        json_object_set_new(r, "lines", lines);
    }
    *ret = rows;
    return 0;
}

int sti_purchase_list_mine(struct store *st, const char *cid, const char *bid,
                          const struct page *pg, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows;
    int rc = db_read_begin(db);
    if (!rc) {
        rc = mine_read(db, cid, bid, pg->after, (int64_t)pg->limit + 1, &rows);
        db_read_end(db);
    }
    db_release(s->db, db);
    if (rc) return rc;
    *ret = sti_page_wrap(rows, pg->limit);
    return 0;
}

int sti_purchases_export(struct dbc *db, const char *cid, json_t **ret)
{
    return mine_read(db, cid, NULL, NULL, INT64_MAX, ret);
}

int sti_purchases_unlink(struct dbc *db, const char *cid, const char *bid)
{
    int rc = db_exec(db,
                     "UPDATE purchase_lines SET for_person = NULL WHERE for_person IS NOT NULL "
                     "AND purchase_id IN (SELECT id FROM purchases WHERE customer_id = ? AND "
                     "brand_id = ?)",
                     "ss", cid, bid);
    if (!rc)
        rc = db_exec(db, "UPDATE purchases SET customer_id = NULL WHERE customer_id = ? AND "
                         "brand_id = ?",
                     "ss", cid, bid);
    return rc;
}
