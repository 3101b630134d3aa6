/*
 * store_brands.c — brands, and their versioned choices and notice (see
 * store.h, brand_*, choices_*, notice_*).
 *
 * Invariants:
 *  1. Choices and notice are append-only versions: a put adds version n+1
 *     and moves the brand's current version in the same transaction
 *     (brand_version_put); an old version stays readable by number, since
 *     consent entries name the notice version they were given under.
 *  2. A brand row as returned carries its current choices and notice
 *     (brand_decorate).
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- brands ------------------------------------------------------------ */

/* Adds choices and notice (current versions) to a brand row. */
static int brand_decorate(struct dbc *db, json_t *b)
{
    const char *id = json_string_value(json_object_get(b, "id"));
    json_t *row;
    json_t *choices = json_array();
    if (db_row(db, &row,
              "SELECT c.body FROM brand_choices c JOIN brands b ON b.id = c.brand_id "
              "AND b.choices_version = c.version WHERE b.id = ?",
              "s", id) == 0) {
        json_t *v = sti_json_parse_text(row, "body");
        if (v) {
            json_decref(choices);
            choices = v;
        }
        json_decref(row);
    }
    json_object_set_new(b, "choices", choices);
    json_t *notice = json_null();
    if (db_row(db, &row,
              "SELECT n.body, n.version, n.created_at FROM brand_notices n JOIN brands b ON "
              "b.id = n.brand_id AND b.notice_version = n.version WHERE b.id = ?",
              "s", id) == 0) {
        json_t *v = sti_json_parse_text(row, "body");
        if (v) {
            json_decref(notice);
            notice = v;
            json_object_set(notice, "version", json_object_get(row, "version"));
            json_object_set(notice, "updated_at", json_object_get(row, "created_at"));
        }
        json_decref(row);
    }
    json_object_set_new(b, "notice", notice);
    return 0;
}

#define BRAND_COLS "id, slug, name, choices_version, notice_version, created_at"

int sti_brand_create(struct store *st, const char *name, const char *slug, json_t **ret)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN];
    if (id_new("brd", id)) return SK_ECRYPTO;
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "INSERT INTO brands (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
                    "ssss", id, slug, name, sti_now_text(now));
    json_t *b = NULL;
    if (!rc) rc = db_row(db, &b, "SELECT " BRAND_COLS " FROM brands WHERE id = ?", "s", id);
    if (!rc) brand_decorate(db, b);
    db_release(s->db, db);
    if (!rc) *ret = b;
    return rc;
}

int sti_brand_get(struct store *st, const char *ref, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *b;
    int rc = db_row(db, &b, "SELECT " BRAND_COLS " FROM brands WHERE id = ? OR slug = ?", "ss",
                   ref, ref);
    if (!rc) brand_decorate(db, b);
    db_release(s->db, db);
    if (!rc) *ret = b;
    return rc;
}

int sti_brand_list(struct store *st, const struct page *pg, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows;
    int rc = db_rows(db, &rows,
                    "SELECT " BRAND_COLS " FROM brands WHERE id > ? ORDER BY id LIMIT ?", "si",
                    pg->after ? pg->after : "", (int64_t)pg->limit + 1);
    if (!rc) {
        size_t i;
        json_t *b;
        json_array_foreach(rows, i, b) brand_decorate(db, b);
    }
    db_release(s->db, db);
    if (!rc) *ret = sti_page_wrap(rows, pg->limit);
    return rc;
}

/* Appends a new version of a brand's versioned document (choices, notice). */
static int brand_version_put(struct st_store *s, const char *brand_id, const char *table,
                             const char *column, json_t *body, json_t **ret)
{
    char sql[256], now[TIME_RFC3339_LEN];
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) return SK_ENOMEM;
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    int rc = db_tx_begin(db);
    if (!rc) {
        snprintf(sql, sizeof sql, "UPDATE brands SET %s = %s + 1 WHERE id = ?", column, column);
        rc = db_exec(db, sql, "s", brand_id);
    }
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s (brand_id, version, body, created_at) SELECT id, %s, ?, ? "
                 "FROM brands WHERE id = ?",
                 table, column);
        rc = db_exec(db, sql, "sss", text, sti_now_text(now), brand_id);
    }
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "SELECT version, created_at FROM %s WHERE brand_id = ? ORDER BY version DESC "
                 "LIMIT 1",
                 table);
        rc = db_row(db, &row, sql, "s", brand_id);
    }
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    free(text);
    if (rc) {
        json_decref(row);
        return rc;
    }
    *ret = row;
    return 0;
}

int sti_choices_put(struct store *st, const char *brand_id, json_t *normalized,
                    json_t **ret)
{
    json_t *row;
    int rc = brand_version_put(ST(st), brand_id, "brand_choices", "choices_version", normalized,
                               &row);
    if (rc) return rc;
    json_object_set(row, "choices", normalized);
    *ret = row;
    return 0;
}

int sti_notice_get(struct store *st, const char *brand_id, int64_t version, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *row;
    int rc = db_row(db, &row,
                    "SELECT version, body, created_at FROM brand_notices WHERE brand_id = ? "
                    "AND version = ?",
                    "si", brand_id, version);
    db_release(s->db, db);
    if (rc) return rc;
    json_t *notice = sti_json_parse_text(row, "body");
    if (!notice) {
        json_decref(row);
        return SK_EDB;
    }
    json_object_set(notice, "version", json_object_get(row, "version"));
    json_object_set(notice, "updated_at", json_object_get(row, "created_at"));
    json_decref(row);
    *ret = notice;
    return 0;
}

int sti_choices_get(struct store *st, const char *brand_id, int64_t version, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *row;
    int rc;
    if (version > 0)
        rc = db_row(db, &row,
                   "SELECT version, body, created_at FROM brand_choices WHERE brand_id = ? AND "
                   "version = ?",
                   "si", brand_id, version);
    else
        rc = db_row(db, &row,
                   "SELECT c.version, c.body, c.created_at FROM brand_choices c JOIN brands b "
                   "ON b.id = c.brand_id AND b.choices_version = c.version WHERE b.id = ?",
                   "s", brand_id);
    db_release(s->db, db);
    if (rc == SK_ENOTFOUND && version <= 0) {
        *ret = json_pack("{s:i, s:[], s:n}", "version", 0, "choices", "created_at");
        return 0;
    }
    if (rc) return rc;
    json_t *body = sti_json_parse_text(row, "body");
    json_object_del(row, "body");
    json_object_set_new(row, "choices", body ? body : json_array());
    *ret = row;
    return 0;
}

int sti_notice_put(struct store *st, const char *brand_id, json_t *notice, json_t **ret)
{
    json_t *row;
    int rc = brand_version_put(ST(st), brand_id, "brand_notices", "notice_version", notice, &row);
    if (rc) return rc;
    json_t *out = json_deep_copy(notice);
    json_object_set(out, "version", json_object_get(row, "version"));
    json_object_set(out, "updated_at", json_object_get(row, "created_at"));
    json_decref(row);
    *ret = out;
    return 0;
}
