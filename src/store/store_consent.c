/*
 * store_consent.c — memberships, the consent ledger, and preferences (see
 * store.h, membership_*, consent_ledger, preferences_*).
 *
 * Invariants:
 *  1. consent_events is append-only: every grant, withdrawal and renewal is
 *     one entry, and the current grants (membership_purposes) are derived
 *     from it in the same transaction (ledger_append).
 *  2. Withdrawing "history" or leaving a brand unlinks the customer's
 *     purchases there in that same transaction; leaving deletes the
 *     membership and, by cascade, the preferences given to the brand.
 *  3. Preferences are written only under a current "preferences" grant
 *     (SK_EFORBIDDEN otherwise) and are sealed with the customer's key.
 */
#include "store/store_int.h"
#include "core/consent.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- consent ----------------------------------------------------------- */

int sti_load_purposes(struct dbc *db, const char *cid, const char *bid, struct purpose_set *ret)
{
    struct db_cur *cur;
    int rc = db_query(db, &cur,
                      "SELECT purpose FROM membership_purposes WHERE brand_id = ? AND "
                      "customer_id = ?",
                      "ss", bid, cid);
    if (rc) return rc;
    purpose_set_init(ret);
    int step;
    while ((step = db_next(cur)) == 1) purpose_set_add(ret, db_col_text(cur, 0, NULL));
    db_done(cur);
    return step < 0 ? step : 0;
}

json_t *sti_purposes_json(const struct purpose_set *ps)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ps->n; i++) json_array_append_new(a, json_string(ps->item[i]));
    return a;
}

/* Appends one ledger entry and applies it to membership_purposes. */
static int ledger_append(struct st_store *s, struct dbc *db, const char *cid, const char *bid,
                         const char *purpose, int grant, int64_t notice_version,
                         const char *via, const char *at)
{
    char id[ID_MAX], msg[512], receipt[65];
    uint8_t mac[32];
    if (id_new("cev", id)) return SK_ECRYPTO;
    const char *action = grant ? "grant" : "withdraw";
    snprintf(msg, sizeof msg, "%s|%s|%s|%s|%s|%lld|%s|%s", id, bid, cid, purpose, action,
             (long long)notice_version, via, at);
    crypto_hmac_sha256(s->k_receipt, sizeof s->k_receipt, msg, strlen(msg), mac);
    hex_encode(mac, 16, receipt);
    int rc = db_exec(db,
                    "INSERT INTO consent_events (id, brand_id, customer_id, purpose, action, "
                    "notice_version, via, at, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    "sssssisss", id, bid, cid, purpose, action, notice_version, via, at, receipt);
    if (rc) return rc;
    if (grant)
        return db_exec(db,
                      "INSERT INTO membership_purposes (brand_id, customer_id, purpose, "
                      "granted_at) VALUES (?, ?, ?, ?) "
                      /* a renewal under a new notice keeps the first grant's time */
                      "ON CONFLICT (brand_id, customer_id, purpose) DO NOTHING",
                      "ssss", bid, cid, purpose, at);
    return db_exec(db,
                  "DELETE FROM membership_purposes WHERE brand_id = ? AND customer_id = ? AND "
                  "purpose = ?",
                  "sss", bid, cid, purpose);
}

/* The notice version a member agreed to: of the purposes granted now, the
 * oldest notice version under which one was last granted; {v} */
#define MEMBER_NOTICE_VERSION_SQL                                                             \
    "SELECT MIN(v) AS v FROM (SELECT e.purpose, MAX(e.notice_version) AS v "                 \
    "FROM consent_events e JOIN membership_purposes mp ON mp.brand_id = e.brand_id AND "     \
    "mp.customer_id = e.customer_id AND mp.purpose = e.purpose "                             \
    "WHERE e.customer_id = ? AND e.brand_id = ? AND e.action = 'grant' GROUP BY e.purpose) g"

int sti_membership_read(struct dbc *db, const char *cid, const char *bid, json_t **ret)
{
    json_t *m;
    int rc = db_row(db, &m,
                   "SELECT b.id AS brand_id, b.slug AS brand_slug, b.name AS brand_name, "
                   "m.joined_at, m.updated_at FROM memberships m JOIN brands b ON b.id = "
                   "m.brand_id WHERE m.customer_id = ? AND m.brand_id = ?",
                   "ss", cid, bid);
    if (rc) return rc;
    struct purpose_set ps;
    rc = sti_load_purposes(db, cid, bid, &ps);
    if (rc) {
        json_decref(m);
        return rc;
    }
    json_t *out = json_pack("{s:{s:O, s:O, s:O}, s:o, s:O, s:O}", "brand", "id",
                            json_object_get(m, "brand_id"), "slug",
                            json_object_get(m, "brand_slug"), "name",
                            json_object_get(m, "brand_name"), "purposes", sti_purposes_json(&ps),
                            "joined_at", json_object_get(m, "joined_at"), "updated_at",
                            json_object_get(m, "updated_at"));
    json_decref(m);
    /* the notice the member agreed to: the oldest under which a purpose
     * they grant now was last granted (null when they grant nothing) */
    json_t *nv;
    if (db_row(db, &nv, MEMBER_NOTICE_VERSION_SQL, "ss", cid, bid) == 0) {
        json_object_set(out, "notice_version", json_object_get(nv, "v"));
        json_decref(nv);
    }
    *ret = out;
    return 0;
}

int sti_membership_put(struct store *st, const char *cid, const char *bid,
                       const struct purpose_set *wanted, const char *via, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *brand = NULL, *out = NULL, *changes = json_array();
    int rc = db_tx_begin(db);
    if (!rc) rc = db_row(db, &brand, "SELECT notice_version FROM brands WHERE id = ?", "s", bid);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO memberships (brand_id, customer_id, joined_at, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (brand_id, customer_id) DO UPDATE SET "
                    "updated_at = excluded.updated_at",
                    "ssss", bid, cid, now, now);
    struct purpose_set cur, grant, withdraw;
    if (!rc) rc = sti_load_purposes(db, cid, bid, &cur);
    if (!rc) {
        int64_t nv = json_integer_value(json_object_get(brand, "notice_version"));
        consent_plan(&cur, wanted, &grant, &withdraw);
        for (size_t i = 0; !rc && i < withdraw.n; i++) {
            rc = ledger_append(s, db, cid, bid, withdraw.item[i], 0, nv, via, now);
            /* withdrawing history unlinks the purchases, in this transaction */
            if (!rc && strcmp(withdraw.item[i], "history") == 0)
                rc = sti_purchases_unlink(db, cid, bid);
            json_array_append_new(changes, json_pack("{s:s, s:s}", "purpose", withdraw.item[i],
                                                     "action", "withdraw"));
        }
        for (size_t i = 0; !rc && i < grant.n; i++) {
            rc = ledger_append(s, db, cid, bid, grant.item[i], 1, nv, via, now);
            json_array_append_new(changes, json_pack("{s:s, s:s}", "purpose", grant.item[i],
                                                     "action", "grant"));
        }
        /* Choosing again after the notice changed is agreeing to the new
         * notice: what is kept is granted again under its version, so the
         * ledger says which notice each grant was given under. */
        json_t *last = NULL;
        if (!rc && cur.n &&
            db_row(db, &last, MEMBER_NOTICE_VERSION_SQL, "ss", cid, bid) == 0 &&
            json_integer_value(json_object_get(last, "v")) < nv) {
            for (size_t i = 0; !rc && i < cur.n; i++) {
                if (purpose_set_has(&withdraw, cur.item[i])) continue;
                rc = ledger_append(s, db, cid, bid, cur.item[i], 1, nv, via, now);
                json_array_append_new(changes, json_pack("{s:s, s:s}", "purpose", cur.item[i],
                                                         "action", "renew"));
            }
        }
        json_decref(last);
    }
    if (!rc) rc = sti_membership_read(db, cid, bid, &out);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    json_decref(brand);
    if (rc) {
        json_decref(out);
        json_decref(changes);
        return rc;
    }
    json_object_set_new(out, "changes", changes);
    *ret = out;
    return 0;
}

int sti_membership_leave(struct store *st, const char *cid, const char *bid,
                         const char *via)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *m = NULL;
    struct purpose_set cur;
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_row(db, &m,
                   "SELECT b.notice_version FROM memberships m JOIN brands b ON b.id = "
                   "m.brand_id WHERE m.customer_id = ? AND m.brand_id = ?",
                   "ss", cid, bid);
    if (!rc) rc = sti_load_purposes(db, cid, bid, &cur);
    for (size_t i = 0; !rc && i < cur.n; i++)
        rc = ledger_append(s, db, cid, bid, cur.item[i], 0,
                           json_integer_value(json_object_get(m, "notice_version")), via, now);
    if (!rc) rc = sti_purchases_unlink(db, cid, bid);
    /* Leaving removes what the brand held: the membership and, by cascade,
     * the preferences given to it. The ledger keeps the withdrawals. */
    if (!rc)
        rc = db_exec(db, "DELETE FROM memberships WHERE customer_id = ? AND brand_id = ?", "ss",
                    cid, bid);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    json_decref(m);
    return rc;
}

int sti_membership_get(struct store *st, const char *cid, const char *bid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_membership_read(db, cid, bid, ret);
    db_release(s->db, db);
    return rc;
}

int sti_membership_list(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows, *out = json_array();
    int rc = db_rows(db, &rows,
                    "SELECT m.brand_id FROM memberships m JOIN brands b ON b.id = m.brand_id "
                    "WHERE m.customer_id = ? ORDER BY b.name",
                    "s", cid);
    if (!rc) {
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            json_t *m;
            rc = sti_membership_read(db, cid, json_string_value(json_object_get(r, "brand_id")), &m);
            if (rc) break;
            json_array_append_new(out, m);
        }
        json_decref(rows);
    }
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

int sti_consent_ledger(struct store *st, const char *cid, const struct page *pg,
                       json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows;
    int rc = db_rows(db, &rows,
                    "SELECT e.id, e.brand_id, b.slug AS brand_slug, b.name AS brand_name, "
                    "e.purpose, e.action, e.notice_version, e.via, e.at, e.receipt "
                    "FROM consent_events e JOIN brands b ON b.id = e.brand_id "
                    "WHERE e.customer_id = ? AND e.id > ? ORDER BY e.id LIMIT ?",
                    "ssi", cid, pg->after ? pg->after : "", (int64_t)pg->limit + 1);
    db_release(s->db, db);
    if (!rc) *ret = sti_page_wrap(rows, pg->limit);
    return rc;
}

/* ---- preferences ------------------------------------------------------- */

int sti_preferences_put(struct store *st, const char *cid, const char *bid,
                        int64_t choices_version, json_t *answers, json_t *dont,
                        json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN], field_a[ID_MAX + 16], field_d[ID_MAX + 16];
    uint8_t key[CRYPTO_KEY_LEN];
    uint8_t *a_enc = NULL, *d_enc = NULL;
    size_t alen, dlen;
    char *a_text = json_dumps(answers, JSON_COMPACT), *d_text = json_dumps(dont, JSON_COMPACT);
    snprintf(field_a, sizeof field_a, "answers|%s", bid);
    snprintf(field_d, sizeof field_d, "dont|%s", bid);
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = (a_text && d_text) ? sti_cust_key(s, db, cid, key) : SK_ENOMEM;
    if (!rc) rc = sti_seal_field(key, cid, field_a, a_text, &a_enc, &alen);
    if (!rc) rc = sti_seal_field(key, cid, field_d, d_text, &d_enc, &dlen);
    if (!rc) rc = db_tx_begin(db);
    if (!rc) {
        /* Consent in the query: the row is written only under a current
         * preferences grant. */
        rc = db_exec(db,
                    "INSERT INTO preferences (brand_id, customer_id, choices_version, "
                    "answers_enc, dont_enc, updated_at) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
                    "(SELECT 1 FROM membership_purposes WHERE brand_id = ? AND customer_id = ? "
                    "AND purpose = 'preferences') ON CONFLICT (brand_id, customer_id) DO UPDATE "
                    "SET choices_version = excluded.choices_version, answers_enc = "
                    "excluded.answers_enc, dont_enc = excluded.dont_enc, updated_at = "
                    "excluded.updated_at",
                    "ssibbsss", bid, cid, choices_version, a_enc, alen, d_enc, dlen, now, bid,
                    cid);
        if (!rc && db_changes(db) == 0) rc = SK_EFORBIDDEN;
        rc = db_tx_end(db, rc);
    }
    db_release(s->db, db);
    memset(key, 0, sizeof key);
    free(a_enc);
    free(d_enc);
    free(a_text);
    free(d_text);
    if (!rc)
        *ret = json_pack("{s:I, s:O, s:O, s:s}", "choices_version", (json_int_t)choices_version,
                         "answers", answers, "dont", dont, "updated_at", now);
    return rc;
}

/* Reads a customer's preferences row for a brand; cols: version, answers,
 * dont, updated_at. Missing row: empty answers. */
int sti_prefs_read(struct st_store *s, struct dbc *db, const char *cid, const char *bid,
                   const char *sql, json_t **ret)
{
    struct db_cur *cur;
    int rc = db_query(db, &cur, sql, "ss", bid, cid);
    if (rc) return rc;
    json_t *out = NULL;
    if (db_next(cur) == 1 && !db_col_is_null(cur, 1)) {
        uint8_t key[CRYPTO_KEY_LEN];
        char field_a[ID_MAX + 16], field_d[ID_MAX + 16];
        snprintf(field_a, sizeof field_a, "answers|%s", bid);
        snprintf(field_d, sizeof field_d, "dont|%s", bid);
        json_t *answers = NULL, *dont = NULL;
        rc = sti_cust_key(s, db, cid, key);
        if (!rc) rc = sti_open_json(key, cid, field_a, cur, 1, &answers);
        if (!rc) rc = sti_open_json(key, cid, field_d, cur, 2, &dont);
        memset(key, 0, sizeof key);
        if (!rc)
            out = json_pack("{s:I, s:o, s:o, s:s}", "choices_version",
                            (json_int_t)db_col_int(cur, 0), "answers", answers, "dont", dont,
                            "updated_at", db_col_text(cur, 3, NULL));
        else {
            json_decref(answers);
            json_decref(dont);
        }
    } else {
        out = json_pack("{s:i, s:{}, s:[], s:n}", "choices_version", 0, "answers", "dont",
                        "updated_at");
    }
    db_done(cur);
    if (!rc) *ret = out;
    return rc;
}

int sti_preferences_get(struct store *st, const char *cid, const char *bid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_prefs_read(s, db, cid, bid,
                        "SELECT choices_version, answers_enc, dont_enc, updated_at FROM "
                        "preferences WHERE brand_id = ? AND customer_id = ?",
                        ret);
    db_release(s->db, db);
    return rc;
}
