/*
 * store_staff.c — staff, stores and store keys: what the brand console
 * manages.
 *
 * Invariants:
 *  - a staff member's grants are replaced whole, in one transaction with the
 *    rest of the change; a grant naming a store outside the brand fails the
 *    whole write (SK_EINVAL) and nothing changes;
 *  - disabling a staff member, revoking a store key and closing a store
 *    delete the bearer tokens in the same transaction: they stop working at
 *    the next request;
 *  - a staff member who was invited and has not set a password yet has an
 *    empty password hash and cannot sign in.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

/* ---- grants ------------------------------------------------------------ */

int sti_staff_grants_load(struct dbc *db, const char *staff_id, struct principal *p)
{
    struct db_cur *cur;
    int rc = db_query(db, &cur,
                      "SELECT role, store_id FROM staff_grants WHERE staff_id = ? "
                      "ORDER BY role, store_id",
                      "s", staff_id);
    if (rc) return rc;
    size_t n = 0;
    while (db_next(cur) == 1 && n < GRANTS_MAX) {
        char role[ROLE_MAX];
        sti_cur_text(cur, 0, role, sizeof role);
        unsigned bit = role_bit(role);
        if (!bit) continue;
        p->grants[n].role = bit;
        sti_cur_text(cur, 1, p->grants[n].store_id, sizeof p->grants[n].store_id);
        n++;
    }
    db_done(cur);
    p->ngrants = n;
    snprintf(p->role, sizeof p->role, "%s", grants_primary_role(p->grants, n));
    return 0;
}

/* Replaces the staff member's grants with g: [{role, store?}] (normalized by
 * the caller). Within the caller's transaction. */
static int grants_write(struct dbc *db, const char *bid, const char *sid, json_t *g)
{
    int rc = db_exec(db, "DELETE FROM staff_grants WHERE staff_id = ?", "s", sid);
    size_t i;
    json_t *v;
    json_array_foreach(g, i, v) {
        if (rc) break;
        const char *role = json_string_value(json_object_get(v, "role"));
        const char *store = json_string_value(json_object_get(v, "store"));
        if (store) {
            /* the store must be the brand's own and open */
            rc = db_exec(db,
                         "INSERT INTO staff_grants (staff_id, brand_id, role, store_id) "
                         "SELECT ?, brand_id, ?, id FROM stores WHERE id = ? AND brand_id = ? "
                         "AND closed_at IS NULL",
                         "ssss", sid, role, store, bid);
            if (!rc && db_changes(db) == 0) rc = SK_EINVAL;
        } else {
            rc = db_exec(db,
                         "INSERT INTO staff_grants (staff_id, brand_id, role, store_id) "
                         "VALUES (?, ?, ?, '')",
                         "sss", sid, bid, role);
        }
    }
    return rc == SK_ECONFLICT ? 0 : rc; /* a repeated grant is the same grant */
}

/* ---- staff ------------------------------------------------------------- */

#define STAFF_COLS                                                                           \
    "s.id, s.brand_id, s.email, s.name, s.created_at, s.disabled_at, "                      \
    "CASE WHEN s.password_hash = '' THEN 1 ELSE 0 END AS invited"

/* A staff row as the API shows it: grants as [{role, store?}], flags as
 * booleans. */
static int staff_read(struct dbc *db, const char *bid, const char *sid, json_t **ret)
{
    json_t *row, *grants;
    int rc = db_row(db, &row,
                    "SELECT " STAFF_COLS " FROM staff s WHERE s.id = ? AND s.brand_id = ?",
                    "ss", sid, bid);
    if (rc) return rc;
    rc = db_rows(db, &grants,
                 "SELECT role, NULLIF(store_id, '') AS store FROM staff_grants "
                 "WHERE staff_id = ? ORDER BY role, store_id",
                 "s", sid);
    if (rc) {
        json_decref(row);
        return rc;
    }
    size_t i;
    json_t *g;
    json_array_foreach(grants, i, g) if (json_is_null(json_object_get(g, "store")))
        json_object_del(g, "store");
    json_object_set_new(row, "grants", grants);
    json_object_set_new(row, "role", json_string(""));
    struct principal p = {0};
    if (sti_staff_grants_load(db, sid, &p) == 0)
        json_object_set_new(row, "role", json_string(p.role));
    json_object_set_new(row, "invited",
                        json_boolean(json_integer_value(json_object_get(row, "invited"))));
    json_object_set_new(row, "disabled", json_boolean(!json_is_null(json_object_get(row, "disabled_at"))));
    *ret = row;
    return 0;
}

int sti_staff_create(struct store *st, const char *bid, const char *email, const char *name,
                     json_t *grants, const char *pwhash, json_t **ret)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN];
    if (id_new("stf", id)) return SK_ECRYPTO;
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_exec(db,
                     "INSERT INTO staff (id, brand_id, email, name, password_hash, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     "ssssss", id, bid, email, name, pwhash ? pwhash : "", sti_now_text(now));
    if (!rc) rc = grants_write(db, bid, id, grants);
    json_t *row = NULL;
    if (!rc) rc = staff_read(db, bid, id, &row);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) json_decref(row);
    else *ret = row;
    return rc;
}

int sti_staff_get(struct store *st, const char *bid, const char *sid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = staff_read(db, bid, sid, ret);
    db_release(s->db, db);
    return rc;
}

int sti_staff_list(struct store *st, const char *bid, const char *store_id,
                   const struct page *pg, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *ids;
    int rc;
    if (store_id)
        rc = db_rows(db, &ids,
                     "SELECT DISTINCT s.id FROM staff s JOIN staff_grants g ON g.staff_id = s.id "
                     "WHERE s.brand_id = ? AND g.store_id = ? AND s.id > ? ORDER BY s.id LIMIT ?",
                     "sssi", bid, store_id, pg->after ? pg->after : "", (int64_t)pg->limit + 1);
    else
        rc = db_rows(db, &ids,
                     "SELECT id FROM staff WHERE brand_id = ? AND id > ? ORDER BY id LIMIT ?",
                     "ssi", bid, pg->after ? pg->after : "", (int64_t)pg->limit + 1);
    json_t *rows = json_array();
    size_t i;
    json_t *v;
    if (!rc) json_array_foreach(ids, i, v) {
            json_t *row;
            rc = staff_read(db, bid, json_string_value(json_object_get(v, "id")), &row);
            if (rc) break;
            json_array_append_new(rows, row);
        }
    if (!rc) json_decref(ids);
    db_release(s->db, db);
    if (rc) {
        json_decref(rows);
        return rc;
    }
    *ret = sti_page_wrap(rows, pg->limit);
    return 0;
}

int sti_staff_update(struct store *st, const char *bid, const char *sid, json_t *f,
                     json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    int rc = db_tx_begin(db);
    if (!rc) rc = staff_read(db, bid, sid, &row);
    json_decref(row);
    row = NULL;
    const char *name = json_string_value(json_object_get(f, "name"));
    if (!rc && name) rc = db_exec(db, "UPDATE staff SET name = ? WHERE id = ?", "ss", name, sid);
    json_t *grants = json_object_get(f, "grants");
    if (!rc && grants) rc = grants_write(db, bid, sid, grants);
    json_t *disabled = json_object_get(f, "disabled");
    if (!rc && json_is_true(disabled)) {
        rc = db_exec(db,
                     "UPDATE staff SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?",
                     "ss", now, sid);
        if (!rc)
            rc = db_exec(db, "DELETE FROM tokens WHERE kind = 'staff' AND subject_id = ?", "s",
                         sid);
    } else if (!rc && json_is_false(disabled)) {
        rc = db_exec(db, "UPDATE staff SET disabled_at = NULL WHERE id = ?", "s", sid);
    }
    /* new grants take effect on the sessions already open: their grants are
     * read at every request */
    if (!rc) rc = staff_read(db, bid, sid, &row);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) json_decref(row);
    else *ret = row;
    return rc;
}

int sti_staff_login(struct store *st, const char *email, struct login_rec *ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur;
    int rc = db_query(db, &cur,
                      "SELECT id, brand_id, password_hash FROM staff WHERE email = ? "
                      "AND disabled_at IS NULL AND password_hash <> ''",
                      "s", email);
    struct login_rec r = {0};
    if (!rc) {
        if (db_next(cur) == 1) {
            sti_cur_text(cur, 0, r.id, sizeof r.id);
            sti_cur_text(cur, 1, r.brand_id, sizeof r.brand_id);
            sti_cur_text(cur, 2, r.pwhash, sizeof r.pwhash);
        } else {
            rc = SK_ENOTFOUND;
        }
        db_done(cur);
    }
    struct principal p = {0};
    if (!rc) rc = sti_staff_grants_load(db, r.id, &p);
    db_release(s->db, db);
    if (!rc) {
        snprintf(r.role, sizeof r.role, "%s", p.role);
        *ret = r;
    }
    return rc;
}

/* ---- stores ------------------------------------------------------------ */

int sti_store_update(struct store *st, const char *bid, const char *sid, json_t *f,
                     json_t **ret)
{
    struct st_store *s = ST(st);
    static const char *const cols[] = {"name", "timezone", "city", "address"};
    struct dbc *db = db_acquire(s->db);
    json_t *row;
    int rc = db_tx_begin(db);
    if (!rc) {
        rc = db_row(db, &row, "SELECT closed_at FROM stores WHERE id = ? AND brand_id = ?",
                    "ss", sid, bid);
        if (!rc) {
            if (!json_is_null(json_object_get(row, "closed_at"))) rc = SK_ECONFLICT;
            json_decref(row);
        }
    }
    for (size_t i = 0; !rc && i < sizeof cols / sizeof cols[0]; i++) {
        const char *v = json_string_value(json_object_get(f, cols[i]));
        if (!v) continue;
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE stores SET %s = ? WHERE id = ?", cols[i]);
        rc = db_exec(db, sql, "ss", v, sid);
    }
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc) rc = st->ops->store_get(st, bid, sid, ret);
    return rc;
}

/* Revokes one key of the store (key_id) or all of them (NULL) and deletes
 * their bearer tokens, within the caller's transaction: they stop working at
 * the next request. SK_ENOTFOUND when key_id is not the store's. */
static int keys_revoke(struct dbc *db, const char *sid, const char *key_id, const char *now)
{
    int rc = db_exec(db,
                     "UPDATE store_keys SET revoked_at = COALESCE(revoked_at, ?) "
                     "WHERE store_id = ? AND (? IS NULL OR id = ?)",
                     "ssss", now, sid, key_id, key_id);
    if (!rc && key_id && db_changes(db) == 0) return SK_ENOTFOUND;
    if (!rc)
        rc = db_exec(db,
                     "DELETE FROM tokens WHERE store_id = ? AND kind IN ('scanner', "
                     "'display', 'pos') AND (? IS NULL OR subject_id = ?)",
                     "sss", sid, key_id, key_id);
    return rc;
}

int sti_store_close(struct store *st, const char *bid, const char *sid, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_exec(db,
                     "UPDATE stores SET closed_at = COALESCE(closed_at, ?) "
                     "WHERE id = ? AND brand_id = ?",
                     "sss", now, sid, bid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    if (!rc) rc = keys_revoke(db, sid, NULL, now);
    /* nobody is a manager or counter of a closed store any more */
    if (!rc) rc = db_exec(db, "DELETE FROM staff_grants WHERE store_id = ?", "s", sid);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc) rc = st->ops->store_get(st, bid, sid, ret);
    return rc;
}

/* ---- store keys -------------------------------------------------------- */

#define KEY_COLS "id, kind, name, store_id, created_at, last_seen_at, revoked_at"

int sti_store_key_list(struct store *st, const char *sid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_rows(db, ret,
                     "SELECT " KEY_COLS " FROM store_keys WHERE store_id = ? "
                     "ORDER BY revoked_at IS NOT NULL, kind, created_at",
                     "s", sid);
    db_release(s->db, db);
    return rc;
}

int sti_store_key_revoke(struct store *st, const char *sid, const char *key_id, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc) rc = keys_revoke(db, sid, key_id, now);
    json_t *row = NULL;
    if (!rc)
        rc = db_row(db, &row,
                    "SELECT " KEY_COLS " FROM store_keys WHERE id = ?",
                    "s", key_id);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) json_decref(row);
    else *ret = row;
    return rc;
}

int sti_store_key_seen(struct store *st, const char *key_id, int64_t at_us)
{
    struct st_store *s = ST(st);
    char at[TIME_RFC3339_LEN];
    time_fmt_rfc3339(at_us, at, sizeof at);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "UPDATE store_keys SET last_seen_at = ? WHERE id = ?", "ss", at,
                     key_id);
    db_release(s->db, db);
    return rc;
}

/* ---- the console's member search --------------------------------------- */

int sti_member_search(struct store *st, const char *bid, const char *q, int limit,
                      const struct actor *who, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *out = json_array();
    /* Consent in the query: a name is read only under a current
     * recognition grant, as in the member view. Names are sealed per
     * customer, so matching opens each one (no index can hold them). */
    int rc = db_tx_begin(db);
    struct db_cur *cur = NULL;
    if (!rc)
        rc = db_query(db, &cur,
                      "SELECT m.customer_id, m.joined_at, c.name_enc FROM memberships m "
                      "JOIN customers c ON c.id = m.customer_id "
                      "JOIN membership_purposes mp ON mp.brand_id = m.brand_id AND "
                      "mp.customer_id = m.customer_id AND mp.purpose = 'recognition' "
                      "WHERE m.brand_id = ? ORDER BY m.customer_id",
                      "s", bid);
    while (!rc && (int)json_array_size(out) < limit && db_next(cur) == 1) {
        char cid[ID_MAX];
        sti_cur_text(cur, 0, cid, sizeof cid);
        uint8_t key[CRYPTO_KEY_LEN];
        char *name = NULL;
        size_t name_len;
        const void *name_enc = db_col_bytes(cur, 2, &name_len);
        if (sti_cust_key(s, db, cid, key) == 0 &&
            sti_open_field(key, cid, "name", name_enc, name_len, &name) == 0 &&
            strcasestr(name, q))
            json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "id", cid, "name", name,
                                                 "member_since", db_col_text(cur, 1, NULL)));
        free(name);
        memset(key, 0, sizeof key);
    }
    db_done(cur);
    /* each name shown is a look the customer can read */
    size_t i;
    json_t *v;
    json_array_foreach(out, i, v) {
        if (rc) break;
        rc = sti_access_append(db, json_string_value(json_object_get(v, "id")), bid, who, "name",
                               "recognition");
    }
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

/* ---- stores (create, read, list) -------------------------------------- */

#define STORE_INSERT_COLS "id, brand_id, name, timezone, city, address, beacon_id, created_at"
#define STORE_COLS STORE_INSERT_COLS ", closed_at"

int sti_store_create(struct store *st, const char *brand_id, json_t *f, json_t **ret)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN], beacon[33];
    uint8_t rnd[16];
    if (id_new("sto", id) || crypto_random(rnd, sizeof rnd)) return SK_ECRYPTO;
    hex_encode(rnd, sizeof rnd, beacon);
    const char *city = json_string_value(json_object_get(f, "city"));
    const char *address = json_string_value(json_object_get(f, "address"));
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db,
                    "INSERT INTO stores (" STORE_INSERT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    "ssssssss", id, brand_id, json_string_value(json_object_get(f, "name")),
                    json_string_value(json_object_get(f, "timezone")), city ? city : "",
                    address ? address : "", beacon, sti_now_text(now));
    json_t *row = NULL;
    if (!rc) rc = db_row(db, &row, "SELECT " STORE_COLS " FROM stores WHERE id = ?", "s", id);
    db_release(s->db, db);
    if (!rc) *ret = row;
    return rc;
}

int sti_store_get(struct store *st, const char *brand_id, const char *store_id,
                  json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc;
    if (brand_id)
        rc = db_row(db, ret, "SELECT " STORE_COLS " FROM stores WHERE id = ? AND brand_id = ?",
                   "ss", store_id, brand_id);
    else
        rc = db_row(db, ret, "SELECT " STORE_COLS " FROM stores WHERE id = ?", "s", store_id);
    db_release(s->db, db);
    return rc;
}

int sti_store_list(struct store *st, const char *brand_id, const struct page *pg,
                   json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows;
    int rc = db_rows(db, &rows,
                    "SELECT " STORE_COLS " FROM stores WHERE brand_id = ? AND id > ? "
                    "ORDER BY id LIMIT ?",
                    "ssi", brand_id, pg->after ? pg->after : "", (int64_t)pg->limit + 1);
    db_release(s->db, db);
    if (!rc) *ret = sti_page_wrap(rows, pg->limit);
    return rc;
}

/* ---- store keys: creation ----------------------------------------------- */

int sti_store_key_create(struct store *st, const char *bid, const char *sid,
                         enum principal_kind kind, const char *name, const char *hash,
                         json_t **ret)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN];
    if (id_new(kind == PRINCIPAL_SCANNER ? "scn" : kind == PRINCIPAL_POS ? "pos" : "dsp", id))
        return SK_ECRYPTO;
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO store_keys (id, brand_id, store_id, kind, name, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    "ssssss", id, bid, sid, sti_kind_names[kind], name, now);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO tokens (hash, kind, subject_id, brand_id, store_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    "ssssss", hash, sti_kind_names[kind], id, bid, sid, now);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc)
        *ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind", sti_kind_names[kind],
                         "name", name, "brand_id", bid, "store_id", sid, "created_at", now);
    return rc;
}
