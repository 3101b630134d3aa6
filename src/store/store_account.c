/*
 * store_account.c — account changes: a subject's
 * password (read to check it, set with its sessions revoked), a customer's
 * email, and one-time password links (reset, staff invitation).
 *
 * Invariants:
 *  1. A link is stored only as the SHA-256 of its token (like bearer tokens).
 *  2. A link works once: pwlink_use checks it (unused, unexpired) and marks
 *     it used in the same write transaction that sets the password (writers
 *     exclude each other, db.h: two concurrent uses are serialised, the
 *     second finds it used).
 *  3. A password that changes, by any route, revokes the subject's sessions
 *     (but the one making the change, when it is a signed-in change) and
 *     every link of the subject still unused: a reset link mailed earlier
 *     cannot undo a newer password.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "customers" or "staff", and the link's column for that kind; NULL for
 * any other kind. */
static const char *subject_table(enum principal_kind kind)
{
    return kind == PRINCIPAL_CUSTOMER ? "customers" : kind == PRINCIPAL_STAFF ? "staff" : NULL;
}

static const char *link_column(enum principal_kind kind)
{
    return kind == PRINCIPAL_CUSTOMER ? "customer_id" : "staff_id";
}

int sti_account_pwhash_get(struct store *st, enum principal_kind kind, const char *id,
                           char ret[CRYPTO_PWHASH_MAX])
{
    struct st_store *s = ST(st);
    const char *table = subject_table(kind);
    if (!table) return SK_EINVAL;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT password_hash FROM %s WHERE id = ?", table);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur;
    int rc = db_query(db, &cur, sql, "s", id);
    if (!rc) {
        if (db_next(cur) == 1)
            sti_cur_text(cur, 0, ret, CRYPTO_PWHASH_MAX);
        else
            rc = SK_ENOTFOUND;
        db_done(cur);
    }
    db_release(s->db, db);
    return rc;
}

/* Within the caller's transaction: the new password hash, the subject's
 * sessions gone (but keep), its unused links spent. */
static int password_replace(struct dbc *db, enum principal_kind kind, const char *id,
                            const char *pwhash, const char *keep, const char *now)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE %s SET password_hash = ? WHERE id = ?",
             subject_table(kind));
    int rc = db_exec(db, sql, "ss", pwhash, id);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    if (!rc)
        rc = db_exec(db,
                     "DELETE FROM tokens WHERE subject_id = ? AND kind = ? AND hash <> ?", "sss",
                     id, kind == PRINCIPAL_STAFF ? "staff" : "customer", keep ? keep : "");
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "UPDATE password_links SET used_at = ? WHERE %s = ? AND used_at IS NULL",
                 link_column(kind));
        rc = db_exec(db, sql, "ss", now, id);
    }
    return rc;
}

int sti_account_password_set(struct store *st, enum principal_kind kind, const char *id,
                             const char *pwhash, const char *keep_token_hash)
{
    struct st_store *s = ST(st);
    if (!subject_table(kind)) return SK_EINVAL;
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc) rc = password_replace(db, kind, id, pwhash, keep_token_hash, now);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    return rc;
}

int sti_customer_email_set(struct store *st, const char *cid, const char *email)
{
    struct st_store *s = ST(st);
    uint8_t key[CRYPTO_KEY_LEN];
    uint8_t *enc = NULL;
    size_t len;
    char eh[65];
    sti_email_hash(s, email, eh);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_cust_key(s, db, cid, key);
    if (!rc) rc = sti_seal_field(key, cid, "email", email, &enc, &len);
    if (!rc)
        rc = db_exec(db, "UPDATE customers SET email_enc = ?, email_hash = ? WHERE id = ?",
                     "bss", enc, len, eh, cid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    memset(key, 0, sizeof key);
    free(enc);
    return rc;
}

int sti_pwlink_create(struct store *st, enum principal_kind kind, const char *id,
                      const char *purpose, const char *token_hash, int64_t expires_us)
{
    struct st_store *s = ST(st);
    if (!subject_table(kind)) return SK_EINVAL;
    if (strcmp(purpose, "reset") && strcmp(purpose, "invite")) return SK_EINVAL;
    char now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN], sql[200];
    sti_now_text(now);
    time_fmt_rfc3339(expires_us, exp, sizeof exp);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    /* links past their time are of no use to anyone: they go as new ones come */
    if (!rc)
        rc = db_exec(db, "DELETE FROM password_links WHERE expires_at <= ?", "s", now);
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO password_links (token_hash, %s, purpose, created_at, expires_at) "
                 "SELECT ?, id, ?, ?, ? FROM %s WHERE id = ?",
                 link_column(kind), subject_table(kind));
        rc = db_exec(db, sql, "sssss", token_hash, purpose, now, exp, id);
        if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    }
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    return rc;
}

#define LINK_LIVE "l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ?"

int sti_pwlink_use(struct store *st, const char *token_hash, int64_t now_us, const char *pwhash,
                   struct principal *ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    time_fmt_rfc3339(now_us, now, sizeof now);
    struct principal p = {0};
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    struct db_cur *cur = NULL;
    if (!rc)
        rc = db_query(db, &cur,
                      "SELECT l.customer_id, l.staff_id, st.brand_id "
                      "FROM password_links l LEFT JOIN staff st ON st.id = l.staff_id "
                      "WHERE " LINK_LIVE " AND (l.staff_id IS NULL OR "
                      "(st.id IS NOT NULL AND st.disabled_at IS NULL))",
                      "ss", token_hash, now);
    if (!rc) {
        if (db_next(cur) == 1) {
            if (!db_col_is_null(cur, 0)) {
                p.kind = PRINCIPAL_CUSTOMER;
                sti_cur_text(cur, 0, p.id, sizeof p.id);
            } else {
                p.kind = PRINCIPAL_STAFF;
                sti_cur_text(cur, 1, p.id, sizeof p.id);
                sti_cur_text(cur, 2, p.brand_id, sizeof p.brand_id);
            }
        } else {
            rc = SK_ENOTFOUND;
        }
        db_done(cur);
    }
    /* a disabled staff member's link is dead: no password is set */
    if (!rc && p.kind == PRINCIPAL_STAFF) rc = sti_staff_grants_load(db, p.id, &p);
    /* spends this link and every other unused one of the subject */
    if (!rc) rc = password_replace(db, p.kind, p.id, pwhash, NULL, now);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc) *ret = p;
    return rc;
}

int sti_pwlink_get(struct store *st, const char *token_hash, int64_t now_us, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    time_fmt_rfc3339(now_us, now, sizeof now);
    struct dbc *db = db_acquire(s->db);
    int rc = db_row(db, ret,
                    "SELECT CASE WHEN l.customer_id IS NULL THEN 'staff' ELSE 'customer' END "
                    "AS kind, l.purpose, l.expires_at FROM password_links l WHERE " LINK_LIVE,
                    "ss", token_hash, now);
    db_release(s->db, db);
    return rc;
}
