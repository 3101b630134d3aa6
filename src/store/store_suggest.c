/*
 * store_suggest.c — what the suggestion service reads and records: a
 * brand's baskets and catalogue (for training), one member's context under
 * current grants (for ranking), and the suggestions shown, their outcomes
 * and dismissals (for cooldowns, caps, the access log and the export).
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int sti_suggest_stamp(struct store *st, const char *bid, int64_t *ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *row;
    /* what changes when a purchase or an item is added, changed or removed
     * (the newest purchase's id rises: a removal and an addition between two
     * stamps still change it), folded into one number */
    int rc = db_row(db, &row,
                    "SELECT (SELECT count(*) FROM purchases WHERE brand_id = ?1) AS np, "
                    "(SELECT count(*) FROM items WHERE brand_id = ?1) AS ni, "
                    "(SELECT max(id) FROM purchases WHERE brand_id = ?1) AS lp, "
                    "(SELECT max(updated_at) FROM items WHERE brand_id = ?1) AS li",
                    "s", bid);
    db_release(s->db, db);
    if (rc) return rc;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the four */
    char buf[160];
    snprintf(buf, sizeof buf, "%lld|%lld|%s|%s",
             (long long)json_integer_value(json_object_get(row, "np")),
             (long long)json_integer_value(json_object_get(row, "ni")),
             json_string_value(json_object_get(row, "lp")) ? json_string_value(json_object_get(row, "lp")) : "",
             json_string_value(json_object_get(row, "li")) ? json_string_value(json_object_get(row, "li")) : "");
    for (const char *p = buf; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    *ret = (int64_t)(h >> 1);
    json_decref(row);
    return 0;
}

int sti_suggest_baskets(struct store *st, const char *bid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *items = NULL, *lines = NULL;
    int rc = db_read_begin(db);
    if (!rc)
        rc = db_rows(db, &items,
                     "SELECT sku, title, category, maker, tags, released, consumable FROM "
                     "items WHERE brand_id = ? ORDER BY sku",
                     "s", bid);
    if (!rc)
        rc = db_rows(db, &lines,
                     "SELECT l.purchase_id AS p, l.sku FROM purchase_lines l JOIN purchases "
                     "pu ON pu.id = l.purchase_id WHERE pu.brand_id = ? ORDER BY "
                     "l.purchase_id, l.n",
                     "s", bid);
    db_read_end(db);
    db_release(s->db, db);
    if (rc) {
        json_decref(items);
        json_decref(lines);
        return rc;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        json_t *tags = sti_json_parse_text(it, "tags");
        json_object_set_new(it, "tags", json_is_array(tags) ? tags : json_array());
        if (!json_is_array(tags)) json_decref(tags);
    }
    *ret = json_pack("{s:o, s:o}", "items", items, "lines", lines);
    return 0;
}

int sti_suggest_context(struct store *st, const char *bid, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    struct purpose_set ps;
    purpose_set_init(&ps);
    json_t *out = json_object(), *v = NULL;
    int rc = db_read_begin(db);
    if (!rc) {
        json_t *row;
        rc = db_row(db, &row, "SELECT 1 AS m FROM memberships WHERE customer_id = ? AND brand_id = ?",
                    "ss", cid, bid);
        if (!rc) json_decref(row);
    }
    if (!rc) rc = sti_load_purposes(db, cid, bid, &ps);
    if (!rc) json_object_set_new(out, "purposes", sti_purposes_json(&ps));
    int sugg = !rc && purpose_set_has(&ps, "suggestions");
    if (sugg) {
        /* the don't-list is only ever used to leave things out */
        rc = sti_prefs_read(s, db, cid, bid,
                            "SELECT choices_version, answers_enc, dont_enc, updated_at FROM "
                            "preferences WHERE brand_id = ? AND customer_id = ?",
                            &v);
        if (!rc) {
            json_object_set(out, "dont", json_object_get(v, "dont"));
            if (purpose_set_has(&ps, "preferences"))
                json_object_set(out, "answers", json_object_get(v, "answers"));
            json_decref(v);
        }
    }
    if (!rc && purpose_set_has(&ps, "history")) {
        /* "+pu.brand_id": without statistics SQLite would walk the brand's
         * (brand_id, at) index over every purchase of the brand to skip the
         * sort (419 ms p99 at 116k purchases, bench_suggest_svc); one
         * customer's purchases are few, so look them up and sort those. */
#define HISTORY_SQL(plus)                                                                \
    "SELECT l.sku, pu.at, pu.id AS purchase, l.qty, l.for_person AS person FROM "       \
    "purchase_lines l JOIN "                                                              \
    "purchases pu ON pu.id = l.purchase_id WHERE pu.customer_id = ? AND " plus           \
    "pu.brand_id = ? ORDER BY pu.at"
        /* PostgreSQL's planner keeps statistics and has no unary + on text */
        rc = db_rows(db, &v,
                     db_conn_engine(db) == DB_POSTGRES ? HISTORY_SQL("") : HISTORY_SQL("+"),
                     "ss", cid, bid);
#undef HISTORY_SQL
        if (!rc) json_object_set_new(out, "history", v);
    }
    if (sugg && !rc) {
        char cut[TIME_RFC3339_LEN];
        time_fmt_rfc3339(time_now_us() - (int64_t)31 * 86400 * 1000000, cut, sizeof cut);
        rc = db_rows(db, &v,
                     "SELECT sku, visit_id, person_id, reason, shown_at, outcome, outcome_at FROM "
                     "suggestion_events WHERE customer_id = ? AND brand_id = ? AND "
                     "(outcome = 'dismissed' OR shown_at >= ?) ORDER BY id",
                     "sss", cid, bid, cut);
        if (!rc) json_object_set_new(out, "events", v);
    }
    db_read_end(db);
    db_release(s->db, db);
    if (!rc && sugg) {
        rc = sti_person_list(st, cid, &v);
        if (!rc) json_object_set_new(out, "people", v);
    }
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

int sti_suggest_shown(struct store *st, const char *bid, const char *cid, const char *visit_id,
                      json_t *list)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (rc) break;
        rc = db_exec(db,
                     "INSERT INTO suggestion_events (customer_id, brand_id, sku, visit_id, "
                     "person_id, reason, shown_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING",
                     "sssssss", cid, bid, json_string_value(json_object_get(e, "sku")),
                     visit_id, json_string_value(json_object_get(e, "person")),
                     json_object_get(e, "person") ? "" : json_string_value(json_object_get(e, "reason")),
                     now);
    }
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    return rc;
}

int sti_suggest_outcome(struct store *st, const char *store_id, const char *visit_id,
                        const char *sku, const char *outcome, const struct actor *who,
                        char ret_cid[ID_MAX], char ret_bid[ID_MAX])
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_row(db, &row,
                    "SELECT e.id, e.customer_id, e.brand_id FROM suggestion_events e JOIN "
                    "visits v ON v.id = e.visit_id WHERE e.visit_id = ? AND e.sku = ? AND "
                    "v.store_id = ? AND e.outcome IS NULL",
                    "sss", visit_id, sku, store_id);
    if (!rc) {
        snprintf(ret_cid, ID_MAX, "%s", json_string_value(json_object_get(row, "customer_id")));
        snprintf(ret_bid, ID_MAX, "%s", json_string_value(json_object_get(row, "brand_id")));
        rc = db_exec(db, "UPDATE suggestion_events SET outcome = ?, outcome_at = ? WHERE id = ?",
                     "ssi", outcome, now,
                     (int64_t)json_integer_value(json_object_get(row, "id")));
    }
    if (!rc) {
        char fields[96];
        snprintf(fields, sizeof fields, "suggestion_outcome:%s", outcome);
        rc = sti_access_append(db, ret_cid, ret_bid, who, fields, "suggestions");
    }
    json_decref(row);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    return rc;
}

int sti_suggest_dismiss(struct store *st, const char *bid, const char *cid, const char *sku)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    int rc = db_tx_begin(db);
    if (!rc) rc = db_row(db, &row, "SELECT sku FROM items WHERE brand_id = ? AND sku = ?", "ss",
                         bid, sku);
    json_decref(row);
    if (!rc)
        rc = db_row(db, &row,
                    "SELECT 1 AS m FROM memberships WHERE customer_id = ? AND brand_id = ?",
                    "ss", cid, bid);
    if (!rc) {
        json_decref(row);
        rc = db_exec(db,
                     "INSERT INTO suggestion_events (customer_id, brand_id, sku, reason, "
                     "shown_at, outcome, outcome_at) VALUES (?, ?, ?, '', ?, 'dismissed', ?)",
                     "sssss", cid, bid, sku, now, now);
    }
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    return rc;
}

int sti_suggestions_export(struct dbc *db, const char *cid, json_t **ret)
{
    return db_rows(db, ret,
                   "SELECT e.brand_id, b.name AS brand_name, e.sku, e.visit_id AS visit, "
                   "e.reason, e.shown_at, e.outcome, e.outcome_at FROM suggestion_events e "
                   "JOIN brands b ON b.id = e.brand_id WHERE e.customer_id = ? ORDER BY e.id",
                   "s", cid);
}
