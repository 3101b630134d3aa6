/*
 * store_limits.c — fixed-window rate limits kept in the database, so that
 * every serve node sharing it counts against the same windows (issue 12;
 * migration 0012). The HTTP layer uses them when the store is PostgreSQL
 * (src/http/limits.h); one node alone keeps its windows in memory.
 *
 * A key's window, in one row of rate_limits:
 *
 *    (no row) --hit--> RUNNING (hits = 1, window_start = now,
 *                        |  ^      window_end = now + window)
 *                        |  |hit: hits + 1 (window_end > now)
 *                        |  |hit after window_end: hits = 1, a new window
 *                        |  +-------------------------------------------+
 *                        | clear, or sweep once window_end <= now
 *                        v
 *                     (no row)
 *
 * Invariants:
 *  1. A hit is one statement (INSERT ... ON CONFLICT DO UPDATE ...
 *     RETURNING), atomic on both engines: hits counted at once on several
 *     nodes are all counted, and each caller reads the count its own hit
 *     made. It runs outside a write transaction, so it never waits for the
 *     store's writer lock (db.h); a login costs one or two such statements.
 *  2. Only a keyed hash of the key is stored (HMAC-SHA256 under k_limit,
 *     derived from the master key, which every node of a deployment holds):
 *     no client address or email is kept in clear.
 *  3. Times are integers (microseconds since the epoch), compared and
 *     added in the statement itself; a window's end is stored so that the
 *     sweep needs no knowledge of any limit's length.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <string.h>

/* The stored form of a key. */
static void limit_key_hash(struct st_store *s, const char *key, char ret[65])
{
    uint8_t h[32];
    crypto_hmac_sha256(s->k_limit, sizeof s->k_limit, key, strlen(key), h);
    hex_encode(h, sizeof h, ret);
}

/* hits and window_start of a row; SK_EDB when a column is missing. */
static int limit_row_read(json_t *row, int64_t *ret_hits, int64_t *ret_start)
{
    json_t *h = json_object_get(row, "hits"), *w = json_object_get(row, "window_start");
    if (!json_is_integer(h) || !json_is_integer(w)) return SK_EDB;
    *ret_hits = json_integer_value(h);
    *ret_start = json_integer_value(w);
    return 0;
}

int sti_limit_hit(struct store *st, const char *key, int64_t window_us, int64_t now_us,
                  int64_t *ret_hits, int64_t *ret_start_us)
{
    struct st_store *s = ST(st);
    char k[65];
    if (window_us <= 0) return SK_EINVAL;
    limit_key_hash(s, key, k);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    /* ?2 now, ?3 the end of a window that would start now */
    int rc = db_row(db, &row,
                    "INSERT INTO rate_limits (key, window_start, window_end, hits) "
                    "VALUES (?1, ?2, ?3, 1) ON CONFLICT (key) DO UPDATE SET "
                    "hits = CASE WHEN rate_limits.window_end <= ?2 THEN 1 "
                    "ELSE rate_limits.hits + 1 END, "
                    "window_start = CASE WHEN rate_limits.window_end <= ?2 THEN ?2 "
                    "ELSE rate_limits.window_start END, "
                    "window_end = CASE WHEN rate_limits.window_end <= ?2 THEN ?3 "
                    "ELSE rate_limits.window_end END "
                    "RETURNING hits, window_start",
                    "sii", k, now_us, now_us + window_us);
    db_release(s->db, db);
    int64_t hits = 0, start = 0;
    if (!rc) rc = limit_row_read(row, &hits, &start);
    json_decref(row);
    if (!rc) {
        *ret_hits = hits;
        *ret_start_us = start;
    }
    return rc;
}

int sti_limit_get(struct store *st, const char *key, int64_t now_us, int64_t *ret_hits,
                  int64_t *ret_start_us)
{
    struct st_store *s = ST(st);
    char k[65];
    limit_key_hash(s, key, k);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    int rc = db_row(db, &row,
                    "SELECT hits, window_start FROM rate_limits WHERE key = ? AND "
                    "window_end > ?",
                    "si", k, now_us);
    db_release(s->db, db);
    int64_t hits = 0, start = now_us;
    if (!rc) rc = limit_row_read(row, &hits, &start);
    else if (rc == SK_ENOTFOUND) rc = 0; /* no window running: nothing counted */
    json_decref(row);
    if (!rc) {
        *ret_hits = hits;
        *ret_start_us = start;
    }
    return rc;
}

int sti_limit_clear(struct store *st, const char *key)
{
    struct st_store *s = ST(st);
    char k[65];
    limit_key_hash(s, key, k);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM rate_limits WHERE key = ?", "s", k);
    db_release(s->db, db);
    return rc;
}

int sti_limits_sweep(struct store *st, int64_t now_us, int64_t *ret_n)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM rate_limits WHERE window_end <= ?", "i", now_us);
    int64_t n = rc ? 0 : db_changes(db);
    db_release(s->db, db);
    if (!rc && ret_n) *ret_n = n;
    return rc;
}
