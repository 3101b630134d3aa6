/*
 * sqlite.c — the SQLite backend of the storage interface (see store.h).
 *
 * Invariants:
 *  1. Connections come from a fixed pool; a connection is used by one thread
 *     at a time (db_acquire/db_release, db.h), so SQLite runs in its
 *     multi-thread mode with WAL, a busy handler (conn_busy) and foreign keys on.
 *  2. Every write is one BEGIN IMMEDIATE ... COMMIT; any error rolls back.
 *  3. Customer fields are sealed with the customer's data key; the key is
 *     stored wrapped by a key derived from the master key, with the customer
 *     id as associated data, so a wrapped key copied to another row is
 *     useless.
 *  4. Queries on behalf of a brand join membership_purposes: a field leaves
 *     the database only when its purpose is granted at that moment.
 *  5. Commits never checkpoint the WAL (wal_autocheckpoint is off on the
 *     pool); a background thread checkpoints passively every second, or as
 *     soon as a commit sees the WAL pass WAL_WAKE_FRAMES, so a request never
 *     pays for copying pages back into the database. Passive checkpoints
 *     alone never let the WAL start over under steady writes (the next
 *     writer restarts it only if it found every frame copied back and no
 *     reader in it), so past WAL_RESTART_FRAMES the checkpointer runs a
 *     RESTART checkpoint, which holds writers back for the few frames left
 *     and waits for readers briefly (ckpt_busy); journal_size_limit then
 *     cuts the file back to WAL_SIZE_LIMIT when the log restarts.
 *  6. Pool connections keep the statements they ran prepared (the cache
 *     below) and reset each one as its query ends.
 */
#include "store/store.h"
#include "store/migrations.h"
#include "core/choices.h"
#include "core/consent.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db_sqlite.h"
#include "store/store_int.h"

/* ---- query helpers (on db.h) ------------------------------------------ */

/* Copies the text of the cursor's column i into buf (truncating); "" for
 * NULL. */
void sti_cur_text(struct db_cur *cur, int i, char *buf, size_t len)
{
    const char *t = db_col_text(cur, i, NULL);
    snprintf(buf, len, "%s", t ? t : "");
}

char *sti_now_text(char buf[TIME_RFC3339_LEN])
{
    return time_fmt_rfc3339(time_now_us(), buf, TIME_RFC3339_LEN);
}

/* Wraps rows fetched with LIMIT n+1 into {items, next}. */
json_t *sti_page_wrap(json_t *rows, int limit)
{
    json_t *next = json_null();
    if ((int)json_array_size(rows) > limit) {
        json_array_remove(rows, (size_t)limit);
        next = json_incref(json_object_get(json_array_get(rows, (size_t)limit - 1), "id"));
    }
    return json_pack("{s:o, s:o}", "items", rows, "next", next);
}

/* ---- customer keys and sealed fields ----------------------------------- */

int sti_cust_key(struct st_store *s, struct dbc *db, const char *cid,
                 uint8_t ret[CRYPTO_KEY_LEN])
{
    struct db_cur *cur;
    int rc = db_query(db, &cur, "SELECT wrapped_key FROM keys.customer_keys WHERE customer_id = ?",
                      "s", cid);
    if (rc) return rc;
    rc = SK_ENOTFOUND;
    if (db_next(cur) == 1) {
        char aad[ID_MAX + 8];
        snprintf(aad, sizeof aad, "key|%s", cid);
        uint8_t *pt;
        size_t n, wlen;
        const void *wrapped = db_col_bytes(cur, 0, &wlen);
        rc = crypto_open(s->k_wrap, aad, strlen(aad), wrapped, wlen, &pt, &n);
        if (!rc) {
            if (n == CRYPTO_KEY_LEN) memcpy(ret, pt, n);
            else rc = SK_ECRYPTO;
            memset(pt, 0, n);
            free(pt);
        }
    }
    db_done(cur);
    return rc;
}

int sti_seal_field(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *field,
                      const char *text, uint8_t **ret, size_t *ret_len)
{
    char aad[ID_MAX + 80];
    snprintf(aad, sizeof aad, "%s|%s", cid, field);
    return crypto_seal(key, aad, strlen(aad), text, strlen(text), ret, ret_len);
}

int sti_open_field(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *field,
                      const void *blob, size_t len, char **ret)
{
    char aad[ID_MAX + 80];
    snprintf(aad, sizeof aad, "%s|%s", cid, field);
    uint8_t *pt;
    size_t n;
    int rc = crypto_open(key, aad, strlen(aad), blob, len, &pt, &n);
    if (rc) return rc;
    *ret = (char *)pt;
    return 0;
}

/* Opens a sealed JSON column into a JSON value. */
int sti_open_json(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *field,
                  struct db_cur *cur, int col, json_t **ret)
{
    char *text;
    size_t n;
    const void *blob = db_col_bytes(cur, col, &n);
    int rc = sti_open_field(key, cid, field, blob, n, &text);
    if (rc) return rc;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    free(text);
    if (!v) return SK_ECRYPTO;
    *ret = v;
    return 0;
}

/* The login key of an email: a keyed hash of its lower-cased form (the
 * email itself is sealed exactly as the customer typed it). */
void sti_email_hash(struct st_store *s, const char *email, char ret[65])
{
    uint8_t h[32];
    char lower[320];
    size_t n = strlen(email);
    if (n >= sizeof lower) n = sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
    lower[n] = '\0';
    crypto_hmac_sha256(s->k_email, sizeof s->k_email, lower, n, h);
    hex_encode(h, sizeof h, ret);
}

/* ---- operators and tokens ---------------------------------------------- */

static int sq_operator_create(struct store *st, const char *name, char ret_id[ID_MAX])
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

static const char *const kind_names[] = {"", "operator", "staff", "customer", "scanner",
                                         "display", "pos"};

static int sq_token_create(struct store *st, enum principal_kind kind, const char *subject_id,
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
                    "sssssss", hash, kind_names[kind], subject_id, brand_id, store_id,
                    sti_now_text(now), expires_us ? exp : NULL);
    db_release(s->db, db);
    return rc;
}

static int sq_token_lookup(struct store *st, const char *hash, int64_t now_us,
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
                if (strcmp(kind, kind_names[k]) == 0) p.kind = (enum principal_kind)k;
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

static int sq_token_revoke(struct store *st, const char *hash)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM tokens WHERE hash = ?", "s", hash);
    db_release(s->db, db);
    return rc;
}

/* ---- brands ------------------------------------------------------------ */

json_t *sti_json_parse_text(json_t *row, const char *field)
{
    const char *t = json_string_value(json_object_get(row, field));
    return t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
}

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

static int sq_brand_create(struct store *st, const char *name, const char *slug, json_t **ret)
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

static int sq_brand_get(struct store *st, const char *ref, json_t **ret)
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

static int sq_brand_list(struct store *st, const struct page *pg, json_t **ret)
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

static int sq_choices_put(struct store *st, const char *brand_id, json_t *normalized,
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

static int sq_notice_get(struct store *st, const char *brand_id, int64_t version, json_t **ret)
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

static int sq_choices_get(struct store *st, const char *brand_id, int64_t version, json_t **ret)
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

static int sq_notice_put(struct store *st, const char *brand_id, json_t *notice, json_t **ret)
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

static int login_fill(struct dbc *db, const char *sql, const char *key, struct login_rec *ret)
{
    struct db_cur *cur;
    int rc = db_query(db, &cur, sql, "s", key);
    if (rc) return rc;
    if (db_next(cur) == 1) {
        struct login_rec r;
        sti_cur_text(cur, 0, r.id, sizeof r.id);
        sti_cur_text(cur, 1, r.brand_id, sizeof r.brand_id);
        sti_cur_text(cur, 2, r.role, sizeof r.role);
        sti_cur_text(cur, 3, r.pwhash, sizeof r.pwhash);
        *ret = r;
    } else {
        rc = SK_ENOTFOUND;
    }
    db_done(cur);
    return rc;
}

/* ---- stores ------------------------------------------------------------ */

#define STORE_INSERT_COLS "id, brand_id, name, timezone, city, address, beacon_id, created_at"
#define STORE_COLS STORE_INSERT_COLS ", closed_at"

static int sq_store_create(struct store *st, const char *brand_id, json_t *f, json_t **ret)
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

static int sq_store_get(struct store *st, const char *brand_id, const char *store_id,
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

static int sq_store_list(struct store *st, const char *brand_id, const struct page *pg,
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

/* ---- customers --------------------------------------------------------- */

int sti_customer_read(struct st_store *s, struct dbc *db, const char *cid, json_t **ret)
{
    uint8_t key[CRYPTO_KEY_LEN];
    int rc = sti_cust_key(s, db, cid, key);
    if (rc) return rc;
    struct db_cur *cur;
    rc = db_query(db, &cur,
                  "SELECT id, name_enc, email_enc, created_at FROM customers WHERE id = ?", "s",
                  cid);
    if (rc) return rc;
    if (db_next(cur) == 1) {
        char *name = NULL, *email = NULL;
        size_t n;
        const void *enc = db_col_bytes(cur, 1, &n);
        rc = sti_open_field(key, cid, "name", enc, n, &name);
        if (!rc) {
            enc = db_col_bytes(cur, 2, &n);
            rc = sti_open_field(key, cid, "email", enc, n, &email);
        }
        if (!rc)
            *ret = json_pack("{s:s, s:s, s:s, s:s}", "id", cid, "name", name, "email", email,
                             "created_at", db_col_text(cur, 3, NULL));
        free(name);
        free(email);
    } else {
        rc = SK_ENOTFOUND;
    }
    db_done(cur);
    memset(key, 0, sizeof key);
    return rc;
}

static int sq_customer_create(struct store *st, const char *name, const char *email,
                              const char *pwhash, json_t **ret)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN], eh[65], aad[ID_MAX + 8];
    uint8_t key[CRYPTO_KEY_LEN];
    uint8_t *wrapped = NULL, *name_enc = NULL, *email_enc = NULL;
    size_t wlen, nlen, elen;
    int rc = SK_ECRYPTO;
    if (id_new("cus", id) || crypto_random(key, sizeof key)) return SK_ECRYPTO;
    snprintf(aad, sizeof aad, "key|%s", id);
    if (crypto_seal(s->k_wrap, aad, strlen(aad), key, sizeof key, &wrapped, &wlen)) goto out;
    if (sti_seal_field(key, id, "name", name, &name_enc, &nlen)) goto out;
    if (sti_seal_field(key, id, "email", email, &email_enc, &elen)) goto out;
    sti_email_hash(s, email, eh);
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    rc = db_tx_begin(db);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO customers (id, email_hash, email_enc, name_enc, password_hash, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    "ssbbss", id, eh, email_enc, elen, name_enc, nlen, pwhash, now);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO keys.customer_keys (customer_id, wrapped_key, created_at) VALUES "
                    "(?, ?, ?)",
                    "sbs", id, wrapped, wlen, now);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc)
        *ret = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name, "email", email,
                         "created_at", now);
out:
    memset(key, 0, sizeof key);
    free(wrapped);
    free(name_enc);
    free(email_enc);
    return rc;
}

static int sq_customer_login(struct store *st, const char *email, struct login_rec *ret)
{
    struct st_store *s = ST(st);
    char eh[65];
    sti_email_hash(s, email, eh);
    struct dbc *db = db_acquire(s->db);
    int rc = login_fill(db,
                        "SELECT id, '', '', password_hash FROM customers WHERE email_hash = ?",
                        eh, ret);
    db_release(s->db, db);
    return rc;
}

static int sq_customer_get(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_customer_read(s, db, cid, ret);
    db_release(s->db, db);
    return rc;
}

static int sq_customer_rename(struct store *st, const char *cid, const char *name)
{
    struct st_store *s = ST(st);
    uint8_t key[CRYPTO_KEY_LEN];
    uint8_t *enc = NULL;
    size_t len;
    struct dbc *db = db_acquire(s->db);
    int rc = sti_cust_key(s, db, cid, key);
    if (!rc) rc = sti_seal_field(key, cid, "name", name, &enc, &len);
    if (!rc) rc = db_exec(db, "UPDATE customers SET name_enc = ? WHERE id = ?", "bs", enc, len, cid);
    db_release(s->db, db);
    memset(key, 0, sizeof key);
    free(enc);
    return rc;
}

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
    "WHERE e.customer_id = ? AND e.brand_id = ? AND e.action = 'grant' GROUP BY e.purpose)"

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

static int sq_membership_put(struct store *st, const char *cid, const char *bid,
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

static int sq_membership_leave(struct store *st, const char *cid, const char *bid,
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

static int sq_membership_get(struct store *st, const char *cid, const char *bid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_membership_read(db, cid, bid, ret);
    db_release(s->db, db);
    return rc;
}

static int sq_membership_list(struct store *st, const char *cid, json_t **ret)
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

static int sq_consent_ledger(struct store *st, const char *cid, const struct page *pg,
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

static int sq_preferences_put(struct store *st, const char *cid, const char *bid,
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

static int sq_preferences_get(struct store *st, const char *cid, const char *bid, json_t **ret)
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
static int member_read(struct st_store *s, struct dbc *db, const char *bid, const char *cid,
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

static int sq_member_view(struct store *st, const char *bid, const char *cid,
                          const struct actor *who, json_t **ret)
{
    struct st_store *s = ST(st);
    char fields[128], purposes[64];
    struct dbc *db = db_acquire(s->db);
    json_t *out = NULL;
    int rc = db_tx_begin(db);
    if (!rc) rc = member_read(s, db, bid, cid, &out, fields, sizeof fields, purposes, sizeof purposes);
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

static int sq_card_data(struct store *st, const char *bid, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    char fields[128], purposes[64];
    struct dbc *db = db_acquire(s->db);
    json_t *m = NULL, *choices = NULL;
    int rc = member_read(s, db, bid, cid, &m, fields, sizeof fields, purposes, sizeof purposes);
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

static int sq_access_log_add(struct store *st, const char *cid, const char *bid,
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

/* ---- devices, store keys, visits, service keys -------------------------- */

static int sq_device_create(struct store *st, const char *cid, const char *name,
                            const char *method, const uint8_t ik[16], unsigned k,
                            uint32_t clock_offset, json_t **ret)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], now[TIME_RFC3339_LEN], field[ID_MAX + 8], aad[2 * ID_MAX + 16];
    uint8_t key[CRYPTO_KEY_LEN], *enc = NULL;
    size_t len;
    if (id_new("dev", id)) return SK_ECRYPTO;
    snprintf(field, sizeof field, "ik|%s", id);
    snprintf(aad, sizeof aad, "%s|%s", cid, field);
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_cust_key(s, db, cid, key);
    if (!rc) rc = crypto_seal(key, aad, strlen(aad), ik, 16, &enc, &len);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO devices (id, customer_id, name, method, ik_enc, "
                    "rotation_exponent, clock_offset, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    "ssssbiis", id, cid, name, method, enc, len, (int64_t)k, (int64_t)clock_offset,
                    now);
    db_release(s->db, db);
    memset(key, 0, sizeof key);
    free(enc);
    if (!rc)
        *ret = json_pack("{s:s, s:s, s:s, s:i, s:s}", "id", id, "name", name, "method", method,
                         "rotation_exponent", (int)k, "created_at", now);
    return rc;
}

static int sq_device_list(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_rows(db, ret,
                    "SELECT id, name, method, rotation_exponent, created_at FROM devices "
                    "WHERE customer_id = ? ORDER BY id",
                    "s", cid);
    db_release(s->db, db);
    return rc;
}

static int sq_device_delete(struct store *st, const char *cid, const char *did)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM devices WHERE id = ? AND customer_id = ?", "ss", did, cid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    return rc;
}

static int sq_device_each(struct store *st,
                          int (*fn)(void *ctx, const char *device_id, const char *customer_id,
                                    const uint8_t ik[16], unsigned k, uint32_t clock_offset),
                          void *ctx)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur = NULL;
    int rc = db_query(db, &cur,
                      "SELECT id, customer_id, ik_enc, rotation_exponent, clock_offset FROM "
                      "devices ORDER BY customer_id",
                      NULL);
    char last[ID_MAX] = "";
    uint8_t key[CRYPTO_KEY_LEN];
    int step = 0, have_key = 0;
    long long skipped = 0;
    while (!rc && (step = db_next(cur)) == 1) {
        const char *did = db_col_text(cur, 0, NULL);
        const char *cid = db_col_text(cur, 1, NULL);
        if (strcmp(cid, last) != 0) {
            rc = sti_cust_key(s, db, cid, key);
            /* no data key: the customer was erased and this is a copy of
             * the database from before (a restored backup); their devices
             * can never be opened again, so they are not loaded */
            have_key = rc == 0;
            if (rc == SK_ENOTFOUND) rc = 0;
            if (rc) break;
            snprintf(last, sizeof last, "%s", cid);
        }
        if (!have_key) {
            skipped++;
            continue;
        }
        char aad[2 * ID_MAX + 16];
        snprintf(aad, sizeof aad, "%s|ik|%s", cid, did);
        uint8_t *ik;
        size_t n, enc_len;
        const void *enc = db_col_bytes(cur, 2, &enc_len);
        rc = crypto_open(key, aad, strlen(aad), enc, enc_len, &ik, &n);
        if (rc) break;
        if (n == 16)
            rc = fn(ctx, did, cid, ik, (unsigned)db_col_int(cur, 3),
                    (uint32_t)db_col_int(cur, 4));
        memset(ik, 0, n);
        free(ik);
    }
    if (!rc && step < 0) rc = SK_EDB;
    memset(key, 0, sizeof key);
    db_done(cur);
    db_release(s->db, db);
    if (!rc && skipped) {
        /* counts only, never whose (an operator restoring a backup, or
         * naming the wrong --keys, should notice) */
        char n[24];
        snprintf(n, sizeof n, "%lld", skipped);
        log_kv(LOG_WARN, "store.devices_without_key", "count", n, "note",
               "devices whose customer's data key is not in the key store were not loaded "
               "(customers erased after this database copy was made, or the wrong --keys)",
               NULL);
    }
    return rc;
}

static int sq_service_key_get(struct store *st, const char *name, uint8_t *ret, size_t len)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur;
    int rc = db_query(db, &cur, "SELECT value_enc FROM service_keys WHERE name = ?", "s", name);
    if (!rc) {
        if (db_next(cur) == 1) {
            uint8_t *pt;
            size_t n, enc_len;
            const void *enc = db_col_bytes(cur, 0, &enc_len);
            rc = crypto_open(s->k_service, name, strlen(name), enc, enc_len, &pt, &n);
            if (!rc) {
                if (n == len) memcpy(ret, pt, n);
                else rc = SK_ECRYPTO;
                memset(pt, 0, n);
                free(pt);
            }
        } else {
            rc = SK_ENOTFOUND;
        }
        db_done(cur);
    }
    db_release(s->db, db);
    return rc;
}

static int sq_service_key_put(struct store *st, const char *name, const uint8_t *value,
                              size_t len)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    uint8_t *enc;
    size_t n;
    int rc = crypto_seal(s->k_service, name, strlen(name), value, len, &enc, &n);
    if (rc) return rc;
    struct dbc *db = db_acquire(s->db);
    rc = db_exec(db, "INSERT INTO service_keys (name, value_enc, created_at) VALUES (?, ?, ?)",
                "sbs", name, enc, n, sti_now_text(now));
    db_release(s->db, db);
    free(enc);
    return rc;
}

static int sq_store_key_create(struct store *st, const char *bid, const char *sid,
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
                    "ssssss", id, bid, sid, kind_names[kind], name, now);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO tokens (hash, kind, subject_id, brand_id, store_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    "ssssss", hash, kind_names[kind], id, bid, sid, now);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc)
        *ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind", kind_names[kind],
                         "name", name, "brand_id", bid, "store_id", sid, "created_at", now);
    return rc;
}

static int sq_visit_open(struct store *st, const char *bid, const char *sid, const char *cid,
                         const char *channel, int64_t at_us, char ret_id[ID_MAX])
{
    struct st_store *s = ST(st);
    char id[ID_MAX], at[TIME_RFC3339_LEN];
    if (id_new("vis", id)) return SK_ECRYPTO;
    time_fmt_rfc3339(at_us, at, sizeof at);
    struct dbc *db = db_acquire(s->db);
    /* Consent in the query: a visit row exists only under a current
     * recognition grant at the store's brand. */
    int rc = db_exec(db,
                    "INSERT INTO visits (id, brand_id, store_id, customer_id, channel, opened_at, "
                    "last_seen_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM "
                    "membership_purposes mp JOIN stores so ON so.brand_id = mp.brand_id WHERE "
                    "so.id = ? AND mp.brand_id = ? AND mp.customer_id = ? AND mp.purpose = "
                    "'recognition')",
                    "ssssssssss", id, bid, sid, cid, channel, at, at, sid, bid, cid);
    if (!rc && db_changes(db) == 0) rc = SK_EFORBIDDEN;
    db_release(s->db, db);
    if (!rc) memcpy(ret_id, id, ID_MAX);
    return rc;
}

static int sq_visit_close(struct store *st, const char *vid, int64_t last_seen_us,
                          int64_t closed_us, const char *reason)
{
    struct st_store *s = ST(st);
    char seen[TIME_RFC3339_LEN], closed[TIME_RFC3339_LEN];
    time_fmt_rfc3339(last_seen_us, seen, sizeof seen);
    time_fmt_rfc3339(closed_us, closed, sizeof closed);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db,
                    "UPDATE visits SET last_seen_at = ?, closed_at = ?, close_reason = ? WHERE "
                    "id = ? AND closed_at IS NULL",
                    "ssss", seen, closed, reason, vid);
    db_release(s->db, db);
    return rc;
}

static int sq_visit_served(struct store *st, const char *vid, int64_t at_us)
{
    struct st_store *s = ST(st);
    char at[TIME_RFC3339_LEN];
    time_fmt_rfc3339(at_us, at, sizeof at);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "UPDATE visits SET served_at = ? WHERE id = ?", "ss",
                     at_us ? at : NULL, vid);
    db_release(s->db, db);
    return rc;
}

static int sq_access_log_list(struct store *st, const char *cid, const char *bid,
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

static int sq_visits_close_open(struct store *st, int64_t closed_us, const char *reason,
                                int64_t *ret_n)
{
    struct st_store *s = ST(st);
    char closed[TIME_RFC3339_LEN];
    time_fmt_rfc3339(closed_us, closed, sizeof closed);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "UPDATE visits SET closed_at = ?, close_reason = ? WHERE closed_at IS NULL",
                    "ss", closed, reason);
    if (!rc && ret_n) *ret_n = db_changes(db);
    db_release(s->db, db);
    return rc;
}

/* ---- the customer's rights: export, erasure, the log's integrity ------- */

#define ACCESS_COLS                                                                        \
    "a.id, a.brand_id, b.slug AS brand_slug, b.name AS brand_name, a.store_id, so.name AS " \
    "store_name, a.actor_kind, a.actor_role, a.fields, a.purpose, a.at"

static int sq_customer_export(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *out = json_object(), *v = NULL;
    /* one read transaction: a consistent snapshot of everything */
    int rc = db_exec(db, "BEGIN", NULL);
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
    db_exec(db, "COMMIT", NULL);
    db_release(s->db, db);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

static int sq_customer_erase(struct store *st, const char *cid, char ret_pseudonym[ID_MAX])
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
    /* the ledger is kept, pseudonymised: proof of what was consented to,
     * linked to no one (docs/privacy.md) */
    if (!rc)
        rc = db_exec(db, "UPDATE consent_events SET customer_id = ? WHERE customer_id = ?", "ss",
                    pseudo, cid);
    if (!rc) rc = db_exec(db, "PRAGMA defer_foreign_keys = ON", NULL);
    /* every other table with a customer_id column, found from the schema so
     * a new table cannot be forgotten */
    if (!rc)
        rc = db_rows(db, &tables,
                    "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE "
                    "m.type = 'table' AND p.name = 'customer_id' AND m.name <> 'consent_events'",
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
    /* destroying the data key makes every copy of the sealed fields unreadable */
    if (!rc) rc = db_exec(db, "DELETE FROM keys.customer_keys WHERE customer_id = ?", "s", cid);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc && ret_pseudonym) memcpy(ret_pseudonym, pseudo, ID_MAX);
    return rc;
}

static int sq_access_log_verify(struct store *st, const char *cid, json_t **ret)
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

static int sq_retention_sweep(struct store *st, int64_t visits_before_us,
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

static int sq_brand_member_export(struct store *st, const char *bid, const char *cid,
                                  const struct actor *who, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN], fields[128], purposes[64];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *out = NULL, *v;
    int rc = db_tx_begin(db);
    if (!rc) rc = member_read(s, db, bid, cid, &out, fields, sizeof fields, purposes, sizeof purposes);
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

static void sq_close(struct store *st);

static const struct store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .operator_create = sq_operator_create,
    .token_create = sq_token_create,
    .token_lookup = sq_token_lookup,
    .token_revoke = sq_token_revoke,
    .brand_create = sq_brand_create,
    .brand_get = sq_brand_get,
    .brand_list = sq_brand_list,
    .choices_put = sq_choices_put,
    .choices_get = sq_choices_get,
    .notice_put = sq_notice_put,
    .notice_get = sq_notice_get,
    .staff_create = sti_staff_create,
    .staff_list = sti_staff_list,
    .staff_get = sti_staff_get,
    .staff_update = sti_staff_update,
    .staff_login = sti_staff_login,
    .store_update = sti_store_update,
    .store_close = sti_store_close,
    .store_key_list = sti_store_key_list,
    .store_key_revoke = sti_store_key_revoke,
    .store_key_seen = sti_store_key_seen,
    .member_search = sti_member_search,
    .store_create = sq_store_create,
    .store_get = sq_store_get,
    .store_list = sq_store_list,
    .customer_create = sq_customer_create,
    .customer_login = sq_customer_login,
    .customer_get = sq_customer_get,
    .customer_rename = sq_customer_rename,
    .membership_put = sq_membership_put,
    .membership_leave = sq_membership_leave,
    .membership_get = sq_membership_get,
    .membership_list = sq_membership_list,
    .consent_ledger = sq_consent_ledger,
    .preferences_put = sq_preferences_put,
    .preferences_get = sq_preferences_get,
    .member_view = sq_member_view,
    .device_create = sq_device_create,
    .device_list = sq_device_list,
    .device_delete = sq_device_delete,
    .device_each = sq_device_each,
    .service_key_get = sq_service_key_get,
    .service_key_put = sq_service_key_put,
    .store_key_create = sq_store_key_create,
    .visit_open = sq_visit_open,
    .visit_close = sq_visit_close,
    .visit_served = sq_visit_served,
    .visits_close_open = sq_visits_close_open,
    .card_data = sq_card_data,
    .access_log_add = sq_access_log_add,
    .customer_export = sq_customer_export,
    .customer_erase = sq_customer_erase,
    .access_log_verify = sq_access_log_verify,
    .retention_sweep = sq_retention_sweep,
    .brand_member_export = sq_brand_member_export,
    .access_log_list = sq_access_log_list,
    .item_put = sti_item_put,
    .item_get = sti_item_get,
    .item_list = sti_item_list,
    .purchase_create = sti_purchase_create,
    .purchase_list_mine = sti_purchase_list_mine,
    .person_create = sti_person_create,
    .person_list = sti_person_list,
    .person_get = sti_person_get,
    .person_put = sti_person_put,
    .person_delete = sti_person_delete,
    .household_invite = sti_household_invite,
    .household_get = sti_household_get,
    .household_answer = sti_household_answer,
    .household_cancel = sti_household_cancel,
    .household_unlink = sti_household_unlink,
    .suggest_stamp = sti_suggest_stamp,
    .suggest_baskets = sti_suggest_baskets,
    .suggest_context = sti_suggest_context,
    .suggest_shown = sti_suggest_shown,
    .suggest_outcome = sti_suggest_outcome,
    .suggest_dismiss = sti_suggest_dismiss,
    .account_pwhash_get = sti_account_pwhash_get,
    .account_password_set = sti_account_password_set,
    .customer_email_set = sti_customer_email_set,
    .pwlink_create = sti_pwlink_create,
    .pwlink_use = sti_pwlink_use,
    .pwlink_get = sti_pwlink_get,
    .pairing_create = sti_pairing_create,
    .pairing_poll = sti_pairing_poll,
    .pairing_claim = sti_pairing_claim,
};

/* ==== engine-specific: the PostgreSQL store will have its own ===========
 * Everything below speaks SQLite itself, and is the only part of the
 * backend that does: the migrations runner (whole scripts), the WAL
 * checkpointer and its hook, each connection's setup (pragmas, the key
 * store attached), opening and closing. */

/* ---- migrations -------------------------------------------------------- */

/* Brings the schema up to date on c; each script runs whole through the
 * raw handle (sqlite3_exec: several statements a text). */
static int migrate(struct dbc *c, char *err, size_t errlen)
{
    sqlite3 *db = db_sqlite_handle(c);
    if (db_exec(c,
               "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
               NULL)) {
        snprintf(err, errlen, "cannot create schema_migrations: %s", sqlite3_errmsg(db));
        return SK_EDB;
    }
    json_t *row;
    int64_t have = 0;
    if (db_row(c, &row, "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations", NULL) ==
        0) {
        have = json_integer_value(json_object_get(row, "v"));
        json_decref(row);
    }
    int64_t known = store_migrations_count
                        ? store_migrations[store_migrations_count - 1].version
                        : 0;
    if (have > known) {
        snprintf(err, errlen,
                 "the database is at schema version %lld but this shopkeeper knows only up to "
                 "%lld: it was written by a newer version; upgrade shopkeeper or use another "
                 "--db",
                 (long long)have, (long long)known);
        return SK_EVERSION;
    }
    for (size_t i = 0; i < store_migrations_count; i++) {
        const struct migration *m = &store_migrations[i];
        /* versions may have gaps: apply each one not yet recorded */
        if (db_row(c, &row, "SELECT version FROM schema_migrations WHERE version = ?", "i",
                   (int64_t)m->version) == 0) {
            json_decref(row);
            continue;
        }
        char now[TIME_RFC3339_LEN];
        int rc = db_tx_begin(c);
        if (!rc && sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK) rc = SK_EDB;
        if (rc) snprintf(err, errlen, "migration %s failed: %s", m->name, sqlite3_errmsg(db));
        if (!rc)
            rc = db_exec(c, "INSERT INTO schema_migrations VALUES (?, ?, ?)", "iss",
                        (int64_t)m->version, m->name, sti_now_text(now));
        rc = db_tx_end(c, rc);
        if (rc) {
            if (!*err) snprintf(err, errlen, "migration %s could not be recorded", m->name);
            return rc;
        }
    }
    return 0;
}

/* ---- the WAL checkpointer ----------------------------------------------
 * Sizes in WAL frames (one page, 4 KiB, each): at ~500 purchases a second
 * the log grows by ~27 MB a second, so waiting for the once-a-second tick
 * is not enough; a commit that sees the log past WAL_WAKE_FRAMES wakes the
 * checkpointer at once (wal_hook: a lock and a signal, no I/O). */
#define WAL_WAKE_FRAMES 4096             /* 16 MiB: wake the checkpointer */
#define WAL_RESTART_FRAMES 8192          /* 32 MiB: make the log start over */
#define WAL_SIZE_LIMIT (32 * 1024 * 1024) /* journal_size_limit, bytes */
#define CKPT_BUSY_STEPS 200              /* x 250 us: wait 50 ms for readers */

static int wal_hook(void *arg, sqlite3 *db, const char *zdb, int frames)
{
    (void)db;
    (void)zdb;
    struct st_store *s = arg;
    if (frames >= WAL_WAKE_FRAMES) {
        pthread_mutex_lock(&s->ckpt_mu);
        if (!s->ckpt_wake) {
            s->ckpt_wake = 1;
            pthread_cond_signal(&s->ckpt_cv);
        }
        pthread_mutex_unlock(&s->ckpt_mu);
    }
    return SQLITE_OK;
}

/* The checkpointer's busy handler. A RESTART checkpoint holds the write
 * lock while it waits for readers still in the old log, so it waits only
 * briefly; if they are not done it gives up (SQLITE_BUSY), writers go on,
 * and the next round tries again. */
static int ckpt_busy(void *arg, int n)
{
    (void)arg;
    if (n >= CKPT_BUSY_STEPS) return 0;
    struct timespec ts = {0, 250 * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* One round: copy back what can be copied without waiting; then, for a
 * log past WAL_RESTART_FRAMES, a RESTART checkpoint so that the next
 * writer starts the log over (a passive checkpoint just before leaves
 * only the frames written since for it to copy while writers wait). */
static int checkpoint_round(struct st_store *s)
{
    static const char *const dbs[] = {"main", "keys"};
    int busy = 0;
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        int log = 0, done = 0;
        sqlite3_wal_checkpoint_v2(s->ckpt_db, dbs[i], SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (log < WAL_RESTART_FRAMES) continue;
        int64_t t0 = time_now_us();
        int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, dbs[i], SQLITE_CHECKPOINT_RESTART, &log,
                                           &done);
        char frames[16], ms[24];
        snprintf(frames, sizeof frames, "%d", log);
        snprintf(ms, sizeof ms, "%.2f", (double)(time_now_us() - t0) / 1000.0);
        log_kv(rc == SQLITE_OK ? LOG_DEBUG : LOG_INFO, "sqlite.checkpoint", "db", dbs[i], "mode",
               "restart", "frames", frames, "result", rc == SQLITE_OK ? "ok" : "readers busy",
               "ms", ms, NULL);
        if (rc != SQLITE_OK) busy = 1;
    }
    return busy;
}

static void *checkpointer(void *arg)
{
    struct st_store *s = arg;
    long backoff_ms = 0; /* after a RESTART gave up: a long reader; writers go first */
    pthread_mutex_lock(&s->ckpt_mu);
    while (s->ckpt_running) {
        if (!s->ckpt_wake || backoff_ms) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long ms = backoff_ms ? backoff_ms : 1000;
            ts.tv_sec += ms / 1000;
            ts.tv_nsec += (ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            /* woken early only to stop while backing off */
            while (s->ckpt_running && (backoff_ms || !s->ckpt_wake) &&
                   pthread_cond_timedwait(&s->ckpt_cv, &s->ckpt_mu, &ts) == 0)
                ;
        }
        if (!s->ckpt_running) break;
        s->ckpt_wake = 0;
        pthread_mutex_unlock(&s->ckpt_mu);
        int busy = checkpoint_round(s);
        backoff_ms = !busy ? 0 : backoff_ms ? (backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2) : 50;
        pthread_mutex_lock(&s->ckpt_mu);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return NULL;
}

static void sq_close(struct store *st)
{
    struct st_store *s = ST(st);
    pthread_mutex_lock(&s->ckpt_mu);
    int was = s->ckpt_running;
    s->ckpt_running = 0;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
    if (was) pthread_join(s->ckpt, NULL);
    if (s->ckpt_db) sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    sqlite3_close(s->ckpt_db);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    db_close(s->db);
    memset(s, 0, sizeof *s);
    free(s);
}


/* Waits while another connection writes. SQLite's own busy timeout sleeps
 * 1 ms at the least, then longer; a write here holds the lock for a tenth
 * of that, so a card that met another card's write waited ten times what it
 * had to. Short sleeps first, doubling to 1 ms, for BUSY_TIMEOUT_MS in all. */
static int conn_busy(void *arg, int n)
{
    (void)arg;
    enum { STEPS = 6, FIRST_US = 25 }; /* 25, 50 ... 800 us: 1.6 ms */
    if (n >= STEPS + BUSY_TIMEOUT_MS) return 0;
    long us = n < STEPS ? (long)FIRST_US << n : 1000;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* Sets up one connection (db_sqlite.c's pool calls it for each): the
 * busy handler, pragmas, and the key store attached. cls: the key store's
 * path. */
static int conn_setup(sqlite3 *db, void *cls, char *err, size_t errlen)
{
    const char *keys = cls, *path = sqlite3_db_filename(db, "main");
    if (!path) path = "";
    sqlite3_busy_handler(db, conn_busy, NULL);
    /* SHOPKEEPER_SQLITE_SYNC: NORMAL (default; safe with WAL), FULL, or OFF
     * for bulk loads such as the benchmarks' seeding, never in production */
    const char *sync = getenv("SHOPKEEPER_SQLITE_SYNC");
    if (!sync || (strcmp(sync, "OFF") && strcmp(sync, "FULL"))) sync = "NORMAL";
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = ON; "
             "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d;",
             sync, WAL_SIZE_LIMIT);
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure database %s: %s", path, sqlite3_errmsg(db));
        return SK_EDB;
    }
    /* the key store: a file of its own, so a copy of the database holds no
     * key (see migration 0003); erased rows are overwritten, not left in
     * free pages */
    sqlite3_stmt *att;
    int ok = sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS keys", -1, &att, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(att, 1, keys, -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(att) == SQLITE_DONE;
        sqlite3_finalize(att);
    }
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA keys.journal_mode = WAL; PRAGMA keys.synchronous = %s; "
             "PRAGMA secure_delete = ON; PRAGMA keys.secure_delete = ON; "
             "PRAGMA keys.journal_size_limit = %d;",
             sync, WAL_SIZE_LIMIT);
    if (!ok || sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the key store %s: %s", keys, sqlite3_errmsg(db));
        return SK_EDB;
    }
    return 0;
}

/* A connection outside the pool (the checkpointer's), set up the same. */
static int conn_open(const char *path, const char *keys, sqlite3 **ret, char *err, size_t errlen)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return SK_EDB;
    }
    int rc = conn_setup(db, (void *)keys, err, errlen);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *ret = db;
    return 0;
}

static void install_wal_hook(sqlite3 *db, void *s) { sqlite3_wal_hook(db, wal_hook, s); }

int store_sqlite_open(const char *path, const uint8_t master_key[CRYPTO_KEY_LEN],
                      struct store **ret, char *err, size_t errlen)
{
    return store_sqlite_open_keys(path, NULL, master_key, ret, err, errlen);
}

/* Once per process, before SQLite starts: no memory statistics, which
 * SQLite keeps under one global mutex that every allocation of every
 * connection takes (requests on two cores queued on it). */
static void sqlite_configure(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

int store_sqlite_open_keys(const char *path, const char *keys_path,
                           const uint8_t master_key[CRYPTO_KEY_LEN], struct store **ret,
                           char *err, size_t errlen)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, sqlite_configure);
    err[0] = '\0';
    char keys[1100];
    if (keys_path) snprintf(keys, sizeof keys, "%s", keys_path);
    else snprintf(keys, sizeof keys, "%s.keys", path);
    struct st_store *s = calloc(1, sizeof *s);
    if (!s) return SK_ENOMEM;
    s->base.ops = &sq_ops;
    pthread_mutex_init(&s->ckpt_mu, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper wrap v1", 18, s->k_wrap);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper email v1", 19, s->k_email);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper receipt v1", 21, s->k_receipt);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper service v1", 21, s->k_service);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper pseudonym v1", 23, s->k_pseudo);
    int rc = db_sqlite_open_with(path, POOL_SIZE, conn_setup, keys, &s->db, err, errlen);
    if (!rc) {
        struct dbc *c = db_acquire(s->db);
        rc = migrate(c, err, errlen);
        db_release(s->db, c);
    }
    if (!rc) rc = conn_open(path, keys, &s->ckpt_db, err, errlen);
    if (!rc) {
        db_sqlite_each(s->db, install_wal_hook, s);
        sqlite3_busy_handler(s->ckpt_db, ckpt_busy, NULL);
        s->ckpt_running = 1;
        if (pthread_create(&s->ckpt, NULL, checkpointer, s)) s->ckpt_running = 0;
    }
    if (rc) {
        sq_close(&s->base);
        return rc;
    }
    *ret = &s->base;
    return 0;
}
