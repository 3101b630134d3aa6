/*
 * store_recognition.c — what recognition needs stored: customers' devices,
 * the service's own keys, and visits (see store.h, device_*,
 * service_key_*, visit_*).
 *
 * Invariants:
 *  1. A device's identity key is sealed with its customer's data key; a
 *     device whose customer's key is gone (erased) is skipped, and counted
 *     in the log, when devices are loaded (device_each).
 *  2. The service's keys are sealed under a key derived from the master key.
 *  3. Consent in the query: a visit row is written only under a current
 *     recognition grant at the store's brand (SK_EFORBIDDEN otherwise).
 */
#include "store/store_int.h"
#include "util/log.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- devices, store keys, visits, service keys -------------------------- */

int sti_device_create(struct store *st, const char *cid, const char *name,
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

int sti_device_list(struct store *st, const char *cid, json_t **ret)
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

int sti_device_delete(struct store *st, const char *cid, const char *did)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM devices WHERE id = ? AND customer_id = ?", "ss", did, cid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    return rc;
}

/* Every device is read in pages of DEVICE_PAGE rows, in the order of the
 * index devices_customer (customer, then device), each page starting after
 * the last row of the one before: libpq holds a query's whole result in
 * memory, which for a million devices was about 250 MB at a node's start
 * that the process then kept (freed in pieces among the index's own
 * allocations, so never given back); SQLite steps through either way. */
#define DEVICE_PAGE 10000

int sti_device_each(struct store *st, const char *only,
                    int (*fn)(void *ctx, const char *device_id, const char *customer_id,
                              const uint8_t ik[16], unsigned k, uint32_t clock_offset),
                    void *ctx)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
#define DEVICES_SQL "SELECT id, customer_id, ik_enc, rotation_exponent, clock_offset FROM devices"
    char last[ID_MAX] = "";                        /* the customer whose key is in key */
    char after_c[ID_MAX] = "", after_d[ID_MAX] = ""; /* the last row read */
    uint8_t key[CRYPTO_KEY_LEN];
    int rc = 0, have_key = 0;
    long long skipped = 0;
    for (;;) {
        struct db_cur *cur = NULL;
        /* one customer's by the index, or every device a page at a time */
        rc = only ? db_query(db, &cur, DEVICES_SQL " WHERE customer_id = ?", "s", only)
                  : db_query(db, &cur,
                             DEVICES_SQL " WHERE (customer_id, id) > (?, ?) "
                                         "ORDER BY customer_id, id LIMIT ?",
                             "ssi", after_c, after_d, (int64_t)DEVICE_PAGE);
        int step = 0;
        long rows = 0;
        while (!rc && (step = db_next(cur)) == 1) {
            const char *did = db_col_text(cur, 0, NULL);
            const char *cid = db_col_text(cur, 1, NULL);
            rows++;
            snprintf(after_c, sizeof after_c, "%s", cid);
            snprintf(after_d, sizeof after_d, "%s", did);
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
        db_done(cur);
        if (rc || only || rows < DEVICE_PAGE) break;
    }
#undef DEVICES_SQL
    memset(key, 0, sizeof key);
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

int sti_service_key_get(struct store *st, const char *name, uint8_t *ret, size_t len)
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

int sti_service_key_put(struct store *st, const char *name, const uint8_t *value,
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

/* Reads a visit row: id, brand, store, customer, channel, opened,
 * last seen, served (the column order of VISIT_COLS). */
#define VISIT_COLS                                                                              \
    "id, brand_id, store_id, customer_id, channel, opened_at, last_seen_at, served_at"

static void visit_row_read(struct db_cur *cur, struct visit_row *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", db_col_text(cur, 0, NULL));
    snprintf(v->brand_id, sizeof v->brand_id, "%s", db_col_text(cur, 1, NULL));
    snprintf(v->store_id, sizeof v->store_id, "%s", db_col_text(cur, 2, NULL));
    snprintf(v->customer_id, sizeof v->customer_id, "%s", db_col_text(cur, 3, NULL));
    snprintf(v->channel, sizeof v->channel, "%s", db_col_text(cur, 4, NULL));
    time_parse_rfc3339(db_col_text(cur, 5, NULL), &v->opened_us);
    time_parse_rfc3339(db_col_text(cur, 6, NULL), &v->last_seen_us);
    if (!db_col_is_null(cur, 7)) time_parse_rfc3339(db_col_text(cur, 7, NULL), &v->served_us);
}

int sti_visit_open(struct store *st, const char *bid, const char *sid, const char *cid,
                   const char *channel, int64_t at_us, const char *node, struct visit_row *ret,
                   int *ret_joined)
{
    struct st_store *s = ST(st);
    char id[ID_MAX], at[TIME_RFC3339_LEN];
    if (id_new("vis", id)) return SK_ECRYPTO;
    time_fmt_rfc3339(at_us, at, sizeof at);
    struct dbc *db = db_acquire(s->db);
    /* Consent in the query: a visit row exists only under a current
     * recognition grant at the store's brand. One open visit per customer
     * and store (visits_open_one): when another node opened it first,
     * nothing is inserted and the open one is read below. */
    int rc = db_exec(db,
                    "INSERT INTO visits (id, brand_id, store_id, customer_id, channel, opened_at, "
                    "last_seen_at, node) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 "
                    "FROM membership_purposes mp JOIN stores so ON so.brand_id = mp.brand_id "
                    "WHERE so.id = ? AND mp.brand_id = ? AND mp.customer_id = ? AND mp.purpose "
                    "= 'recognition') ON CONFLICT (customer_id, store_id) WHERE closed_at IS "
                    "NULL DO NOTHING",
                    "sssssssssss", id, bid, sid, cid, channel, at, at, node, sid, bid, cid);
    *ret_joined = 0;
    if (!rc && db_changes(db) == 1) {
        memset(ret, 0, sizeof *ret);
        memcpy(ret->id, id, ID_MAX);
        snprintf(ret->brand_id, sizeof ret->brand_id, "%s", bid);
        snprintf(ret->store_id, sizeof ret->store_id, "%s", sid);
        snprintf(ret->customer_id, sizeof ret->customer_id, "%s", cid);
        snprintf(ret->channel, sizeof ret->channel, "%s", channel);
        ret->opened_us = ret->last_seen_us = at_us;
    } else if (!rc) {
        /* not granted, or open already (the card checks the grant again) */
        struct db_cur *cur;
        rc = db_query(db, &cur,
                      "SELECT " VISIT_COLS " FROM visits WHERE customer_id = ? AND store_id = ? "
                      "AND closed_at IS NULL",
                      "ss", cid, sid);
        if (!rc) {
            int step = db_next(cur);
            if (step == 1) {
                visit_row_read(cur, ret);
                *ret_joined = 1;
            } else {
                rc = step < 0 ? SK_EDB : SK_EFORBIDDEN;
            }
            db_done(cur);
        }
    }
    db_release(s->db, db);
    return rc;
}

/* last_seen_at only moves forward (text in one fixed format compares as
 * time); several nodes write it */
#define SEEN_MAX "CASE WHEN last_seen_at < ? THEN ? ELSE last_seen_at END"

int sti_visit_seen(struct store *st, const char *vid, int64_t last_seen_us)
{
    struct st_store *s = ST(st);
    char seen[TIME_RFC3339_LEN];
    time_fmt_rfc3339(last_seen_us, seen, sizeof seen);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "UPDATE visits SET last_seen_at = " SEEN_MAX " WHERE id = ?", "sss",
                     seen, seen, vid);
    db_release(s->db, db);
    return rc;
}

int sti_visit_close(struct store *st, const char *vid, int64_t last_seen_us,
                    int64_t closed_us, const char *reason)
{
    struct st_store *s = ST(st);
    char seen[TIME_RFC3339_LEN], closed[TIME_RFC3339_LEN];
    time_fmt_rfc3339(last_seen_us, seen, sizeof seen);
    time_fmt_rfc3339(closed_us, closed, sizeof closed);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db,
                    "UPDATE visits SET last_seen_at = " SEEN_MAX ", closed_at = ?, close_reason "
                    "= ? WHERE id = ? AND closed_at IS NULL",
                    "sssss", seen, seen, closed, reason, vid);
    db_release(s->db, db);
    return rc;
}

int sti_visit_close_quiet(struct store *st, const char *vid, int64_t last_seen_us,
                          int64_t cutoff_us, int64_t closed_us, int64_t *ret_last_seen_us)
{
    struct st_store *s = ST(st);
    char seen[TIME_RFC3339_LEN], cutoff[TIME_RFC3339_LEN], closed[TIME_RFC3339_LEN];
    time_fmt_rfc3339(last_seen_us, seen, sizeof seen);
    time_fmt_rfc3339(cutoff_us, cutoff, sizeof cutoff);
    time_fmt_rfc3339(closed_us, closed, sizeof closed);
    struct dbc *db = db_acquire(s->db);
    /* closed only when no node has heard the shopper since the cut-off */
    int rc = db_exec(db,
                    "UPDATE visits SET last_seen_at = " SEEN_MAX ", closed_at = ?, close_reason "
                    "= 'quiet' WHERE id = ? AND closed_at IS NULL AND last_seen_at <= ?",
                    "sssss", seen, seen, closed, vid, cutoff);
    if (!rc && db_changes(db) == 0) {
        struct db_cur *cur;
        rc = db_query(db, &cur, "SELECT last_seen_at FROM visits WHERE id = ? AND closed_at IS NULL",
                      "s", vid);
        if (!rc) {
            int step = db_next(cur);
            if (step == 1) {
                time_parse_rfc3339(db_col_text(cur, 0, NULL), ret_last_seen_us);
                rc = SK_EBUSY;
            } else {
                rc = step < 0 ? SK_EDB : SK_ENOTFOUND;
            }
            db_done(cur);
        }
    }
    db_release(s->db, db);
    return rc;
}

int sti_visits_open_each(struct store *st, const char *sid, const char *vid,
                         int (*fn)(void *ctx, const struct visit_row *v), void *ctx)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur;
    int rc = vid ? db_query(db, &cur,
                            "SELECT " VISIT_COLS " FROM visits WHERE id = ? AND store_id = ? AND "
                            "closed_at IS NULL",
                            "ss", vid, sid)
                 : db_query(db, &cur,
                            "SELECT " VISIT_COLS " FROM visits WHERE store_id = ? AND closed_at "
                            "IS NULL ORDER BY opened_at",
                            "s", sid);
    if (!rc) {
        int step;
        struct visit_row v;
        while (!rc && (step = db_next(cur)) == 1) {
            visit_row_read(cur, &v);
            rc = fn(ctx, &v);
        }
        if (!rc && step < 0) rc = SK_EDB;
        db_done(cur);
    }
    db_release(s->db, db);
    return rc;
}

int sti_visits_close_orphans(struct store *st, int64_t cutoff_us, int64_t closed_us,
                             int (*fn)(void *ctx, const struct visit_row *v), void *ctx)
{
    struct st_store *s = ST(st);
    char cutoff[TIME_RFC3339_LEN], closed[TIME_RFC3339_LEN];
    time_fmt_rfc3339(cutoff_us, cutoff, sizeof cutoff);
    time_fmt_rfc3339(closed_us, closed, sizeof closed);
    struct dbc *db = db_acquire(s->db);
    struct db_cur *cur;
    int rc = db_query(db, &cur,
                      "UPDATE visits SET closed_at = ?, close_reason = 'quiet' WHERE closed_at IS "
                      "NULL AND last_seen_at <= ? RETURNING " VISIT_COLS,
                      "ss", closed, cutoff);
    if (!rc) {
        int step, frc = 0;
        struct visit_row v;
        while ((step = db_next(cur)) == 1) {
            visit_row_read(cur, &v);
            if (!frc) frc = fn(ctx, &v); /* every row is read: the statement completes */
        }
        rc = step < 0 ? SK_EDB : frc;
        db_done(cur);
    }
    db_release(s->db, db);
    return rc;
}

int sti_visit_served(struct store *st, const char *vid, int64_t at_us)
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

int sti_visits_close_open(struct store *st, int64_t closed_us, const char *reason,
                          const char *node, int64_t *ret_n)
{
    struct st_store *s = ST(st);
    char closed[TIME_RFC3339_LEN];
    time_fmt_rfc3339(closed_us, closed, sizeof closed);
    struct dbc *db = db_acquire(s->db);
    int rc = node ? db_exec(db,
                            "UPDATE visits SET closed_at = ?, close_reason = ? WHERE closed_at "
                            "IS NULL AND node = ?",
                            "sss", closed, reason, node)
                  : db_exec(db, "UPDATE visits SET closed_at = ?, close_reason = ? WHERE "
                                "closed_at IS NULL",
                            "ss", closed, reason);
    if (!rc && ret_n) *ret_n = db_changes(db);
    db_release(s->db, db);
    return rc;
}
