/*
 * store_rights.c — the customer's rights and the data's lifetime: export,
 * erasure, the access log's integrity, the retention sweep, and what a
 * brand may export of a member (see store.h).
 *
 * Invariants:
 *  1. An export is read in one transaction, so its sections agree.
 *  2. Erasure deletes every row with the customer's id (the tables are
 *     found from the schema, so a new one cannot be forgotten) and destroys
 *     the data key, in one transaction (a key store of its own: the key
 *     first, store_int.h); consent entries stay under a pseudonym derived
 *     from the id with a key of the service. The schema query has a text
 *     per engine, side by side.
 *  3. The retention sweep anchors each customer's access-log chain at the
 *     newest entry it removes, so what remains still verifies.
 *  4. A brand's export is under current grants, as member_view, and logged.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the customer's rights: export, erasure, the log's integrity ------- */

#define ACCESS_COLS                                                                        \
    "a.id, a.brand_id, b.slug AS brand_slug, b.name AS brand_name, a.store_id, so.name AS " \
    "store_name, a.actor_kind, a.actor_role, a.fields, a.purpose, a.at"

int sti_customer_export(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *out = json_object(), *v = NULL;
    /* one read transaction: a consistent snapshot of everything */
    int rc = db_read_begin(db);
    if (!rc) rc = sti_customer_read(s, db, cid, &v);
    if (!rc) json_object_set_new(out, "profile", v);
    json_t *members = json_array(), *rows = NULL;
    if (!rc)
        rc = db_rows(db, &rows,
                    "SELECT m.brand_id FROM memberships m JOIN brands b ON b.id = m.brand_id "
                    "WHERE m.customer_id = ? ORDER BY b.name",
                    "s", cid);
    json_t *prefs = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *bid = json_string_value(json_object_get(r, "brand_id"));
        json_t *m, *p;
        if (rc || (rc = sti_membership_read(db, cid, bid, &m))) break;
        json_array_append_new(members, m);
        rc = sti_prefs_read(s, db, cid, bid,
                        "SELECT choices_version, answers_enc, dont_enc, updated_at FROM "
                        "preferences WHERE brand_id = ? AND customer_id = ?",
                        &p);
        if (rc) break;
        if (!json_is_null(json_object_get(p, "updated_at"))) {
            json_object_set(p, "brand", json_object_get(m, "brand"));
            json_array_append(prefs, p);
        }
        json_decref(p);
    }
    json_decref(rows);
    json_object_set_new(out, "memberships", members);
    json_object_set_new(out, "preferences", prefs);
    if (!rc)
        rc = db_rows(db, &v,
                    "SELECT e.id, e.brand_id, b.slug AS brand_slug, b.name AS brand_name, "
                    "e.purpose, e.action, e.notice_version, e.via, e.at, e.receipt "
                    "FROM consent_events e JOIN brands b ON b.id = e.brand_id "
                    "WHERE e.customer_id = ? ORDER BY e.id",
                    "s", cid);
    if (!rc) json_object_set_new(out, "consents", v);
    if (!rc)
        rc = db_rows(db, &v,
                    "SELECT id, name, method, rotation_exponent, created_at FROM devices WHERE "
                    "customer_id = ? ORDER BY id",
                    "s", cid);
    if (!rc) json_object_set_new(out, "devices", v);
    if (!rc)
        rc = db_rows(db, &v,
                    "SELECT v.id, v.brand_id, b.name AS brand_name, v.store_id, so.name AS "
                    "store_name, v.channel, v.opened_at, v.last_seen_at, v.served_at, "
                    "v.closed_at, v.close_reason FROM visits v JOIN brands b ON b.id = "
                    "v.brand_id JOIN stores so ON so.id = v.store_id WHERE v.customer_id = ? "
                    "ORDER BY v.id",
                    "s", cid);
    if (!rc) json_object_set_new(out, "visits", v);
    if (!rc) rc = sti_purchases_export(db, cid, &v);
    if (!rc) json_object_set_new(out, "purchases", v);
    if (!rc) rc = sti_suggestions_export(db, cid, &v);
    if (!rc) json_object_set_new(out, "suggestions", v);
    if (!rc)
        rc = db_rows(db, &v,
                    "SELECT " ACCESS_COLS ", a.prev_hash, a.hash FROM access_log a JOIN brands b "
                    "ON b.id = a.brand_id LEFT JOIN stores so ON so.id = a.store_id WHERE "
                    "a.customer_id = ? ORDER BY a.id",
                    "s", cid);
    if (!rc) json_object_set_new(out, "access_log", v);
    if (!rc) rc = sti_people_export(s, db, cid, out);
    db_read_end(db);
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

int sti_customer_erase(struct store *st, const char *cid, char ret_pseudonym[ID_MAX])
{
    struct st_store *s = ST(st);
    char pseudo[ID_MAX], hex[2 * 14 + 1];
    uint8_t mac[32];
    crypto_hmac_sha256(s->k_pseudo, sizeof s->k_pseudo, cid, strlen(cid), mac);
    hex_encode(mac, 14, hex);
    snprintf(pseudo, sizeof pseudo, "anon_%s", hex);
    struct dbc *db = db_acquire(s->db);
    json_t *tables = NULL, *row;
    int rc = db_tx_begin(db);
    if (!rc) rc = db_row(db, &row, "SELECT id FROM customers WHERE id = ?", "s", cid);
    if (!rc) json_decref(row);
    /* destroying the data key makes every copy of the sealed fields
     * unreadable, backups included; first (store_int.h: a key store of its
     * own commits it now) */
    if (!rc) rc = sti_key_delete(s, db, cid);
    /* the ledger is kept, pseudonymised: proof of what was consented to,
     * linked to no one (docs/privacy.md) */
    if (!rc)
        rc = db_exec(db, "UPDATE consent_events SET customer_id = ? WHERE customer_id = ?", "ss",
                    pseudo, cid);
    /* every other table with a customer_id column, found from the schema so
     * a new table cannot be forgotten; SQLite checks foreign keys at the
     * commit (the tables come in no particular order), PostgreSQL's
     * cascade as each row goes */
    int pg = db_conn_engine(db) == DB_POSTGRES;
    if (!rc && !pg) rc = db_exec(db, "PRAGMA defer_foreign_keys = ON", NULL);
    if (!rc)
        rc = db_rows(db, &tables,
                    pg ? "SELECT c.table_name AS name FROM information_schema.columns c JOIN "
                         "information_schema.tables t ON t.table_schema = c.table_schema AND "
                         "t.table_name = c.table_name WHERE c.table_schema = current_schema() "
                         "AND t.table_type = 'BASE TABLE' AND c.column_name = 'customer_id' "
                         "AND c.table_name <> 'consent_events' ORDER BY 1"
                       : "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE "
                         "m.type = 'table' AND p.name = 'customer_id' AND m.name <> "
                         "'consent_events'",
                    NULL);
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        char sql[200];
        if (rc) break;
        snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE customer_id = ?",
                 json_string_value(json_object_get(t, "name")));
        rc = db_exec(db, sql, "s", cid);
    }
    json_decref(tables);
    if (!rc) rc = db_exec(db, "DELETE FROM tokens WHERE subject_id = ?", "s", cid);
    if (!rc) rc = db_exec(db, "DELETE FROM customers WHERE id = ?", "s", cid);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc && ret_pseudonym) memcpy(ret_pseudonym, pseudo, ID_MAX);
    return rc;
}

int sti_access_log_verify(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    char expect[65] = ZERO_HASH, got[65];
    json_t *row;
    int anchored = 0;
    if (db_row(db, &row, "SELECT hash FROM access_log_anchors WHERE customer_id = ?", "s", cid) ==
        0) {
        snprintf(expect, sizeof expect, "%s", json_string_value(json_object_get(row, "hash")));
        json_decref(row);
        anchored = 1;
    }
    struct db_cur *cur = NULL;
    int rc = db_query(db, &cur,
                      "SELECT id, brand_id, store_id, actor_kind, actor_role, fields, purpose, "
                      "at, prev_hash, hash FROM access_log WHERE customer_id = ? ORDER BY id",
                      "s", cid);
    size_t n = 0;
    char broken[ID_MAX] = "";
    while (!rc && db_next(cur) == 1) {
        const char *c[10];
        for (int k = 0; k < 10; k++) c[k] = db_col_text(cur, k, NULL);
        sti_access_hash(expect, c[0], cid, c[1] ? c[1] : "", c[2], c[3] ? c[3] : "",
                    c[4] ? c[4] : "", c[5] ? c[5] : "", c[6] ? c[6] : "", c[7] ? c[7] : "", got);
        n++;
        if (!c[8] || !c[9] || strcmp(c[8], expect) != 0 || strcmp(c[9], got) != 0) {
            snprintf(broken, sizeof broken, "%s", c[0]);
            break;
        }
        snprintf(expect, sizeof expect, "%s", got);
    }
    db_done(cur);
    db_release(s->db, db);
    if (rc) return rc;
    json_t *out = json_pack("{s:b, s:I, s:b}", "intact", broken[0] == '\0', "checked",
                            (json_int_t)n, "anchored", anchored);
    if (broken[0]) json_object_set_new(out, "first_broken", json_string(broken));
    *ret = out;
    return 0;
}

int sti_retention_sweep(struct store *st, int64_t visits_before_us,
                        int64_t access_before_us, json_t **ret)
{
    struct st_store *s = ST(st);
    char vb[TIME_RFC3339_LEN], ab[TIME_RFC3339_LEN], now[TIME_RFC3339_LEN];
    time_fmt_rfc3339(visits_before_us, vb, sizeof vb);
    time_fmt_rfc3339(access_before_us, ab, sizeof ab);
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int64_t visits = 0, access = 0, tokens = 0;
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_exec(db, "DELETE FROM visits WHERE closed_at IS NOT NULL AND closed_at < ?", "s",
                    vb);
    if (!rc) visits = db_changes(db);
    /* the newest expiring entry of each customer anchors what remains */
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO access_log_anchors (customer_id, hash) SELECT a.customer_id, "
                    "a.hash FROM access_log a WHERE a.at < ? AND a.id = (SELECT MAX(b.id) FROM "
                    "access_log b WHERE b.customer_id = a.customer_id AND b.at < ?) "
                    "ON CONFLICT (customer_id) DO UPDATE SET hash = excluded.hash",
                    "ss", ab, ab);
    if (!rc) rc = db_exec(db, "DELETE FROM access_log WHERE at < ?", "s", ab);
    if (!rc) access = db_changes(db);
    if (!rc) rc = db_exec(db, "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at < ?", "s", now);
    if (!rc) tokens = db_changes(db);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc)
        *ret = json_pack("{s:I, s:I, s:I}", "visits_removed", (json_int_t)visits,
                         "access_log_removed", (json_int_t)access, "expired_tokens_removed",
                         (json_int_t)tokens);
    return rc;
}

int sti_brand_member_export(struct store *st, const char *bid, const char *cid,
                            const struct actor *who, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN], fields[128], purposes[64];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *out = NULL, *v;
    int rc = db_tx_begin(db);
    if (!rc) rc = sti_member_read(s, db, bid, cid, &out, fields, sizeof fields, purposes, sizeof purposes);
    /* visits are recognition data: exported only under that grant, in the query */
    if (!rc)
        rc = db_rows(db, &v,
                    "SELECT v.id, v.store_id, so.name AS store_name, v.channel, v.opened_at, "
                    "v.last_seen_at, v.served_at, v.closed_at FROM visits v JOIN stores so ON "
                    "so.id = v.store_id WHERE v.brand_id = ? AND v.customer_id = ? AND EXISTS "
                    "(SELECT 1 FROM membership_purposes mp WHERE mp.brand_id = v.brand_id AND "
                    "mp.customer_id = v.customer_id AND mp.purpose = 'recognition') ORDER BY v.id",
                    "ss", bid, cid);
    if (!rc) {
        json_object_set_new(out, "visits", v);
        if (json_array_size(v)) {
            size_t n = strlen(fields);
            snprintf(fields + n, sizeof fields - n, " visits");
        }
    }
    /* the brand's own record of what this customer consented to */
    if (!rc)
        rc = db_rows(db, &v,
                    "SELECT id, purpose, action, notice_version, via, at FROM consent_events "
                    "WHERE brand_id = ? AND customer_id = ? ORDER BY id",
                    "ss", bid, cid);
    if (!rc) json_object_set_new(out, "consents", v);
    if (!rc) rc = sti_access_append(db, cid, bid, who, fields, purposes[0] ? purposes : "membership");
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    json_object_set_new(out, "format", json_string("shopkeeper-brand-export"));
    json_object_set_new(out, "exported_at", json_string(now));
    *ret = out;
    return 0;
}
