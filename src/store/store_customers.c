/*
 * store_customers.c — customer accounts: creation with their data key,
 * login by email, reading and renaming (see store.h, customer_*).
 *
 * Invariants:
 *  1. A customer's name and email are sealed with the customer's own data
 *     key (store_common.c); the data key is made with the account, in the
 *     same transaction, and kept wrapped in the key store (keys.*).
 *  2. Login finds an account by the keyed hash of its email only.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- customers --------------------------------------------------------- */

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

int sti_customer_create(struct store *st, const char *name, const char *email,
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
    /* the key first (store_int.h: a key store of its own commits it now) */
    if (!rc) rc = sti_key_put(s, db, id, wrapped, wlen, now);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO customers (id, email_hash, email_enc, name_enc, password_hash, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    "ssbbss", id, eh, email_enc, elen, name_enc, nlen, pwhash, now);
    rc = db_tx_end(db, rc);
    if (rc && s->keys) sti_key_delete(s, db, id); /* the account was not made */
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

int sti_customer_login(struct store *st, const char *email, struct login_rec *ret)
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

int sti_customer_get(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_customer_read(s, db, cid, ret);
    db_release(s->db, db);
    return rc;
}

int sti_customer_rename(struct store *st, const char *cid, const char *name)
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
