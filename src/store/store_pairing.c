/*
 * store_pairing.c — counter displays paired by a short code (issue 10;
 * migration 0009).
 *
 * A pairing goes through three states, each a row change in one
 * transaction:
 *
 *    (none) --create--> WAITING --claim (staff, by code)--> CLAIMED
 *                          |                                  |
 *                          | expires_at passed                | poll (display, by secret):
 *                          v                                  v key created, row deleted
 *                       removed by the next create          (none)
 *
 * Written against db.h only (no engine call), as every query file is, so
 * that both engines run the same texts.
 *
 * Invariants: only SHA-256 hashes of the secret and the code are stored; the
 * display key is made by the poll that deletes the row (so it is handed out
 * once, and never stored in clear); a claim sets a fresh expiry so that the
 * display has time to collect its key.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int sti_pairing_create(struct store *st, const char *id, const char *secret_hash,
                       const char *code_hash, int64_t expires_us, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN];
    sti_now_text(now);
    time_fmt_rfc3339(expires_us, exp, sizeof exp);
    struct dbc *db = db_acquire(s->db);
    int rc = db_tx_begin(db);
    if (!rc) rc = db_exec(db, "DELETE FROM display_pairings WHERE expires_at <= ?", "s", now);
    if (!rc)
        rc = db_exec(db,
                    "INSERT INTO display_pairings (id, secret_hash, code_hash, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?)",
                    "sssss", id, secret_hash, code_hash, now, exp);
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    if (!rc) *ret = json_pack("{s:s, s:s}", "id", id, "expires_at", exp);
    return rc;
}

int sti_pairing_poll(struct store *st, const char *id, const char *secret_hash,
                     const char *key_hash, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL, *store = NULL, *out = NULL;
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_row(db, &row,
                    "SELECT secret_hash, expires_at, brand_id, store_id, display_id, name, "
                    "claimed_at FROM display_pairings WHERE id = ?",
                    "s", id);
    if (!rc && strcmp(json_string_value(json_object_get(row, "secret_hash")), secret_hash) != 0)
        rc = SK_ENOTFOUND;
    const char *exp = row ? json_string_value(json_object_get(row, "expires_at")) : NULL;
    if (!rc && strcmp(exp, now) <= 0) rc = SK_ECONFLICT;
    if (!rc && json_is_null(json_object_get(row, "claimed_at"))) {
        out = json_pack("{s:s, s:s}", "status", "waiting", "expires_at", exp);
    } else if (!rc) {
        const char *bid = json_string_value(json_object_get(row, "brand_id"));
        const char *sid = json_string_value(json_object_get(row, "store_id"));
        const char *did = json_string_value(json_object_get(row, "display_id"));
        const char *name = json_string_value(json_object_get(row, "name"));
        rc = db_row(db, &store,
                    "SELECT id, brand_id, name, timezone, city, address FROM stores "
                    "WHERE id = ?",
                    "s", sid);
        if (!rc)
            rc = db_exec(db,
                        "INSERT INTO store_keys (id, brand_id, store_id, kind, name, "
                        "created_at) VALUES (?, ?, ?, 'display', ?, ?)",
                        "sssss", did, bid, sid, name, now);
        if (!rc)
            rc = db_exec(db,
                        "INSERT INTO tokens (hash, kind, subject_id, brand_id, store_id, "
                        "created_at) VALUES (?, 'display', ?, ?, ?, ?)",
                        "sssss", key_hash, did, bid, sid, now);
        if (!rc) rc = db_exec(db, "DELETE FROM display_pairings WHERE id = ?", "s", id);
        if (!rc)
            out = json_pack("{s:s, s:O, s:{s:s, s:s}}", "status", "paired", "store", store,
                            "display", "id", did, "name", name);
    }
    if (!rc && !out) rc = SK_ENOMEM;
    rc = db_tx_end(db, rc);
    db_release(s->db, db);
    json_decref(row);
    json_decref(store);
    if (rc) json_decref(out);
    else *ret = out;
    return rc;
}

int sti_pairing_claim(struct store *st, const char *bid, const char *sid, const char *code_hash,
                      const char *name, int64_t expires_us, json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN], did[ID_MAX];
    if (id_new("dsp", did)) return SK_ECRYPTO;
    sti_now_text(now);
    time_fmt_rfc3339(expires_us, exp, sizeof exp);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db,
                    "UPDATE display_pairings SET brand_id = ?, store_id = ?, display_id = ?, "
                    "name = ?, claimed_at = ?, expires_at = ? WHERE code_hash = ? AND "
                    "claimed_at IS NULL AND expires_at > ?",
                    "ssssssss", bid, sid, did, name, now, exp, code_hash, now);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    if (!rc)
        *ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", did, "kind", "display", "name",
                         name, "brand_id", bid, "store_id", sid, "paired", 1);
    return rc;
}
