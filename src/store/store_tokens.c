/*
 * store_tokens.c — operators and bearer tokens (see store.h, operator_*
 * and token_*).
 *
 * Invariants:
 *  1. A token is stored only as the SHA-256 of its text (hash); the kind is
 *     stored as its name (sti_kind_names).
 *  2. A lookup finds a token only while it is unexpired, its staff member
 *     enabled and its customer still there; a staff member's grants are read
 *     with the token at every lookup, so a change applies at the next
 *     request.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators and tokens ---------------------------------------------- */

int sti_operator_create(struct store *st, const char *name, char ret_id[ID_MAX])
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN];
    if (id_new("op", id)) return SK_ECRYPTO;
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "INSERT INTO operators (id, name, created_at) VALUES (?, ?, ?)", "sss", id,
                    name, sti_now_text(now));
    db_release(s->db, db);
    if (!rc) memcpy(ret_id, id, ID_MAX);
    return rc;
}


int sti_token_create(struct store *st, enum principal_kind kind, const char *subject_id,
                     const char *brand_id, const char *store_id, const char *hash,
                     int64_t expires_us)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN];
    if (expires_us) time_fmt_rfc3339(expires_us, exp, sizeof exp);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db,
                    "INSERT INTO tokens (hash, kind, subject_id, brand_id, store_id, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    "sssssss", hash, sti_kind_names[kind], subject_id, brand_id, store_id,
                    sti_now_text(now), expires_us ? exp : NULL);
    db_release(s->db, db);
    return rc;
}

int sti_token_lookup(struct store *st, const char *hash, int64_t now_us,
                     struct principal *ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    time_fmt_rfc3339(now_us, now, sizeof now);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur;
    int rc = db_query(db, &cur,
                      "SELECT t.kind, t.subject_id, t.brand_id, t.store_id "
                      "FROM tokens t LEFT JOIN staff st ON t.kind = 'staff' AND st.id = "
                      "t.subject_id "
                      "WHERE t.hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?) "
                      "AND (t.kind <> 'staff' OR (st.id IS NOT NULL AND st.disabled_at IS NULL)) "
                      "AND (t.kind <> 'customer' OR EXISTS (SELECT 1 FROM customers c WHERE "
                      "c.id = t.subject_id))",
                      "ss", hash, now);
    if (!rc) {
        if (db_next(cur) == 1) {
            struct principal p = {0};
            char kind[16];
            sti_cur_text(cur, 0, kind, sizeof kind);
            for (int k = PRINCIPAL_OPERATOR; k <= PRINCIPAL_POS; k++)
                if (strcmp(kind, sti_kind_names[k]) == 0) p.kind = (enum principal_kind)k;
            sti_cur_text(cur, 1, p.id, sizeof p.id);
            sti_cur_text(cur, 2, p.brand_id, sizeof p.brand_id);
            sti_cur_text(cur, 3, p.store_id, sizeof p.store_id);
            snprintf(p.token_hash, sizeof p.token_hash, "%s", hash);
            rc = p.kind ? 0 : SK_ENOTFOUND;
            db_done(cur);
            /* grants are read at every request: a change applies at once */
            if (!rc && p.kind == PRINCIPAL_STAFF) rc = sti_staff_grants_load(db, p.id, &p);
            if (!rc) *ret = p;
        } else {
            rc = SK_ENOTFOUND;
            db_done(cur);
        }
    }
    db_release(s->db, db);
    return rc;
}

int sti_token_revoke(struct store *st, const char *hash)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM tokens WHERE hash = ?", "s", hash);
    db_release(s->db, db);
    return rc;
}
