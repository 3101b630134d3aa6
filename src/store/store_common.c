/*
 * store_common.c — what every query file of the store uses: reading a
 * cursor's text, the time as stored, pages ({items, next}), the JSON text
 * of a column, the kinds of tokens as stored, and customers' data keys and
 * sealed fields.
 *
 * Invariants:
 *  1. Customer fields are sealed with the customer's data key; the key is
 *     stored wrapped by a key derived from the master key, with the customer
 *     id as associated data, so a wrapped key copied to another row is
 *     useless. A sealed field is bound to its customer and field name the
 *     same way (sti_seal_field, sti_open_field).
 *  2. An email is looked up by a keyed hash of its lower-cased form
 *     (sti_email_hash); the email itself is kept only sealed, as typed.
 *  3. These helpers run on the caller's connection, inside its transaction
 *     when it has one; none begins or ends a transaction.
 */
#include "store/store_int.h"
#include "util/log.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The key store's connection for a query: the caller's when the key store
 * is attached to it (SQLite), else one of the key store's own pool. */
static struct dbc *keys_conn(struct st_store *s, struct dbc *db)
{
    return s->keys ? db_acquire(s->keys) : db;
}

static void keys_done(struct st_store *s, struct dbc *k)
{
    if (s->keys) db_release(s->keys, k);
}

int sti_key_put(struct st_store *s, struct dbc *db, const char *cid, const void *wrapped,
                size_t len, const char *now)
{
    struct dbc *k = keys_conn(s, db);
    int rc = db_exec(k,
                     "INSERT INTO keys.customer_keys (customer_id, wrapped_key, created_at) "
                     "VALUES (?, ?, ?)",
                     "sbs", cid, wrapped, len, now);
    keys_done(s, k);
    return rc;
}

int sti_key_delete(struct st_store *s, struct dbc *db, const char *cid)
{
    struct dbc *k = keys_conn(s, db);
    int rc = db_exec(k, "DELETE FROM keys.customer_keys WHERE customer_id = ?", "s", cid);
    keys_done(s, k);
    return rc;
}

int sti_cust_key(struct st_store *s, struct dbc *db, const char *cid,
                 uint8_t ret[CRYPTO_KEY_LEN])
{
    struct db_cur *cur;
    struct dbc *k = keys_conn(s, db);
    int rc = db_query(k, &cur, "SELECT wrapped_key FROM keys.customer_keys WHERE customer_id = ?",
                      "s", cid);
    if (rc) {
        keys_done(s, k);
        return rc;
    }
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
    keys_done(s, k);
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


/* Token and key kinds by enum principal_kind, as stored. */
const char *const sti_kind_names[] = {"", "operator", "staff", "customer", "scanner",
                                      "display", "pos"};

/* The JSON text of a row's field, parsed; NULL when absent or not JSON. */
json_t *sti_json_parse_text(json_t *row, const char *field)
{
    const char *t = json_string_value(json_object_get(row, field));
    return t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
}
