/*
 * store_members.c — the brand's view of a member (member_view, card_data)
 * and the customer's access log (appending, listing).
 *
 * Invariants:
 *  1. Consent in the query: a read on behalf of a brand joins
 *     membership_purposes, and a field leaves the database only when its
 *     purpose is granted at that moment; a non-member yields no row at all
 *     (sti_member_read).
 *  2. Every look at a member's data is logged in the same transaction as
 *     the read (sti_access_append), naming the fields and purposes read.
 *  3. The access log is a hash chain per customer: each entry's hash covers
 *     the previous one's; its id and time are taken under the write lock,
 *     so order by id, by time and by chain agree (store_rights.c checks it,
 *     and retention anchors what it cuts).
 */
#include "store/store_int.h"
#include "core/choices.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the brand's view and the access log ------------------------------- */

/* The chained hash of one access-log entry. */
void sti_access_hash(const char *prev, const char *id, const char *cid, const char *bid,
                        const char *store_id, const char *kind, const char *role,
                        const char *fields, const char *purpose, const char *at, char ret[65])
{
    char msg[1024];
    uint8_t h[32];
    snprintf(msg, sizeof msg, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", prev, id, cid, bid,
             store_id ? store_id : "", kind, role, fields, purpose, at);
    crypto_sha256(msg, strlen(msg), h);
    hex_encode(h, sizeof h, ret);
}

/* The hash the customer's next entry chains to: the newest entry's, else
 * the anchor left by retention, else zeros. */
void sti_access_head(struct dbc *db, const char *cid, char ret[65])
{
    json_t *row;
    snprintf(ret, 65, "%s", ZERO_HASH);
    if (db_row(db, &row,
              "SELECT hash FROM access_log WHERE customer_id = ? ORDER BY id DESC LIMIT 1", "s",
              cid) == 0 ||
        db_row(db, &row, "SELECT hash FROM access_log_anchors WHERE customer_id = ?", "s", cid) ==
            0) {
        snprintf(ret, 65, "%s", json_string_value(json_object_get(row, "hash")));
        json_decref(row);
    }
}

/* Appends one entry (within the caller's write transaction). Its id and
 * time are both taken here, under the write lock, so a customer's entries
 * are in the same order by id, by time and by chain: a sweep's cutoff by
 * time then always removes a head of the chain. */
int sti_access_append(struct dbc *db, const char *cid, const char *bid, const struct actor *who,
                         const char *fields, const char *purpose)
{
    char id[ID_MAX], prev[65], hash[65], at[TIME_RFC3339_LEN];
    if (id_new("acc", id)) return SK_ECRYPTO;
    sti_now_text(at);
    sti_access_head(db, cid, prev);
    sti_access_hash(prev, id, cid, bid, who->store_id, who->kind, who->role, fields, purpose, at,
                hash);
    return db_exec(db,
                  "INSERT INTO access_log (id, customer_id, brand_id, store_id, actor_kind, "
                  "actor_role, fields, purpose, at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?)",
                  "sssssssssss", id, cid, bid, who->store_id, who->kind, who->role, fields,
                  purpose, at, prev, hash);
}

/* The brand's consent-filtered view of a member (within the caller's
 * transaction). Consent in the query: each field is selected only under
 * its purpose; a non-member yields no row at all. ret_fields/ret_purposes
 * name what was read, for the access log. */
int sti_member_read(struct st_store *s, struct dbc *db, const char *bid, const char *cid,
                    json_t **ret, char *ret_fields, size_t flen, char *ret_purposes,
                    size_t plen)
{
    struct purpose_set ps;
    int rc = sti_load_purposes(db, cid, bid, &ps);
    if (rc) return rc;
    struct db_cur *cur;
    rc = db_query(db, &cur,
                  "SELECT m.joined_at, "
                  " CASE WHEN EXISTS (SELECT 1 FROM membership_purposes mp WHERE "
                  "  mp.brand_id = m.brand_id AND mp.customer_id = m.customer_id AND "
                  "  mp.purpose = 'recognition') THEN c.name_enc END AS name_enc, "
                  " CASE WHEN EXISTS (SELECT 1 FROM membership_purposes mp WHERE "
                  "  mp.brand_id = m.brand_id AND mp.customer_id = m.customer_id AND "
                  "  mp.purpose = 'preferences') THEN 1 ELSE 0 END AS prefs "
                  "FROM memberships m JOIN customers c ON c.id = m.customer_id "
                  "WHERE m.brand_id = ? AND m.customer_id = ?",
                  "ss", bid, cid);
    if (rc) return rc;
    json_t *out = NULL;
    ret_fields[0] = ret_purposes[0] = '\0';
    if (db_next(cur) == 1) {
        out = json_pack("{s:s, s:s, s:o}", "id", cid, "member_since", db_col_text(cur, 0, NULL),
                        "purposes", sti_purposes_json(&ps));
        uint8_t key[CRYPTO_KEY_LEN];
        rc = sti_cust_key(s, db, cid, key);
        if (!rc && !db_col_is_null(cur, 1)) {
            char *name;
            size_t n;
            const void *enc = db_col_bytes(cur, 1, &n);
            rc = sti_open_field(key, cid, "name", enc, n, &name);
            if (!rc) {
                json_object_set_new(out, "name", json_string(name));
                free(name);
                snprintf(ret_fields, flen, "name");
                snprintf(ret_purposes, plen, "recognition");
            }
        }
        memset(key, 0, sizeof key);
        if (!rc && db_col_int(cur, 2)) {
            json_t *prefs;
            rc = sti_prefs_read(s, db, cid, bid,
                            "SELECT p.choices_version, p.answers_enc, p.dont_enc, "
                            "p.updated_at FROM preferences p JOIN membership_purposes mp "
                            "ON mp.brand_id = p.brand_id AND mp.customer_id = "
                            "p.customer_id AND mp.purpose = 'preferences' WHERE p.brand_id "
                            "= ? AND p.customer_id = ?",
                            &prefs);
            /* Each answer also needs the purpose of its choice (a choice
             * may be under "suggestions", say): keep only the answers whose
             * purpose is granted now, judged by the current choices. */
            json_t *crow = NULL, *defs = NULL;
            if (!rc) {
                int crc = db_row(db, &crow,
                                "SELECT c.body FROM brand_choices c JOIN brands b ON b.id = "
                                "c.brand_id AND b.choices_version = c.version WHERE b.id = ?",
                                "s", bid);
                if (crc == 0) {
                    defs = sti_json_parse_text(crow, "body");
                    json_decref(crow);
                    if (!defs) crc = SK_EDB;
                }
                if (crc && crc != SK_ENOTFOUND) {
                    json_decref(prefs);
                    rc = crc;
                }
            }
            if (!rc)
                json_object_set_new(prefs, "answers",
                                    answers_visible(defs, json_object_get(prefs, "answers"), &ps));
            json_decref(defs);
            if (!rc) {
                json_object_set_new(out, "preferences", prefs);
                size_t n = strlen(ret_fields);
                snprintf(ret_fields + n, flen - n, "%spreferences", n ? " " : "");
                n = strlen(ret_purposes);
                snprintf(ret_purposes + n, plen - n, "%spreferences", n ? " " : "");
            }
        }
    } else {
        rc = SK_ENOTFOUND;
    }
    db_done(cur);
    if (rc) {
        json_decref(out);
        return rc;
    }
    if (!ret_fields[0]) snprintf(ret_fields, flen, "membership");
    *ret = out;
    return 0;
}

int sti_member_view(struct store *st, const char *bid, const char *cid,
                    const struct actor *who, json_t **ret)
{
    struct st_store *s = ST(st);
    char fields[128], purposes[64];
    struct dbc *db = db_acquire(s->db);
    json_t *out = NULL;
    int rc = db_tx_begin(db);
    if (!rc) rc = sti_member_read(s, db, bid, cid, &out, fields, sizeof fields, purposes, sizeof purposes);
    if (!rc) rc = sti_access_append(db, cid, bid, who, fields, purposes);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

int sti_card_data(struct store *st, const char *bid, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    char fields[128], purposes[64];
    struct dbc *db = db_acquire(s->db);
    json_t *m = NULL, *choices = NULL;
    int rc = sti_member_read(s, db, bid, cid, &m, fields, sizeof fields, purposes, sizeof purposes);
    json_t *prefs = rc ? NULL : json_object_get(m, "preferences");
    if (!rc) {
        /* labels come from the version of the choices the answers were given under */
        int64_t v = json_integer_value(json_object_get(prefs, "choices_version"));
        json_t *row;
        if (v > 0 ? db_row(db, &row, "SELECT body FROM brand_choices WHERE brand_id = ? AND version = ?",
                          "si", bid, v) == 0
                  : db_row(db, &row,
                          "SELECT c.body FROM brand_choices c JOIN brands b ON b.id = c.brand_id "
                          "AND b.choices_version = c.version WHERE b.id = ?",
                          "s", bid) == 0) {
            choices = sti_json_parse_text(row, "body");
            json_decref(row);
        }
    }
    db_release(s->db, db);
    if (rc) return rc;
    json_t *out = json_pack("{s:O, s:o}", "purposes", json_object_get(m, "purposes"), "choices",
                            choices ? choices : json_array());
    if (json_object_get(m, "name")) json_object_set(out, "name", json_object_get(m, "name"));
    if (prefs) {
        json_object_set(out, "answers", json_object_get(prefs, "answers"));
        json_object_set(out, "dont", json_object_get(prefs, "dont"));
    }
    json_decref(m);
    *ret = out;
    return 0;
}

int sti_access_log_add(struct store *st, const char *cid, const char *bid,
                       const struct actor *who, const char *fields, const char *purpose)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc) rc = sti_access_append(db, cid, bid, who, fields, purpose);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    return rc;
}


/* ---- the customer's access log ----------------------------------------- */

int sti_access_log_list(struct store *st, const char *cid, const char *bid,
                        const struct page *pg, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows;
    int rc = db_rows(db, &rows,
                    "SELECT a.id, a.brand_id, b.slug AS brand_slug, b.name AS brand_name, "
                    "a.store_id, so.name AS store_name, a.actor_kind, a.actor_role, a.fields, "
                    "a.purpose, a.at FROM access_log a JOIN brands b ON b.id = a.brand_id "
                    "LEFT JOIN stores so ON so.id = a.store_id "
                    "WHERE a.customer_id = ? AND (? IS NULL OR a.brand_id = ?) "
                    "AND (? IS NULL OR a.id < ?) ORDER BY a.id DESC LIMIT ?",
                    "sssssi", cid, bid, bid, pg->after, pg->after, (int64_t)pg->limit + 1);
    db_release(s->db, db);
    if (!rc) *ret = sti_page_wrap(rows, pg->limit);
    return rc;
}
