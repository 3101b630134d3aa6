/*
 * store_outbox.c — the outbox of changes between nodes (store.h,
 * change_list and changes_expire; migration 0013).
 *
 * Written against db.h only; the reading query is PostgreSQL's own (the
 * snapshot functions), and only PostgreSQL's triggers fill the table: a
 * SQLite store is one process and reads nothing here.
 *
 * Invariants:
 *  1. The cursor is a transaction id, never a row id. A row's id is taken
 *     when it is inserted, but its transaction may commit after a row with a
 *     higher id is already visible: a reader that went by id would skip it
 *     for good. Each row carries its transaction's id (tx), and a read
 *     takes exactly the rows of the transactions in [cursor, horizon),
 *     where horizon is the oldest transaction still running in the read's
 *     own snapshot (pg_snapshot_xmin): every transaction below it has
 *     committed or rolled back, and the same snapshot shows all that
 *     committed. The next read starts at horizon, so each row is read once,
 *     none is skipped, and a late commit is read as soon as it is visible.
 *  2. One statement computes the horizon and reads the rows, so both come
 *     from one snapshot.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>

#define HORIZON "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

int sti_change_list(struct store *st, int64_t *cursor, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    json_t *rows = NULL, *out = json_array();
    int rc = out ? 0 : SK_ENOMEM;
    if (!rc && db_conn_engine(db) != DB_POSTGRES) {
        db_release(s->db, db);
        *ret = out;
        return 0;
    }
    if (!rc && *cursor <= 0)
        rc = db_rows(db, &rows, "SELECT " HORIZON " AS horizon", NULL);
    else if (!rc)
        rc = db_rows(db, &rows,
                     "SELECT h.horizon, c.id, c.what, c.customer_id, c.brand_id FROM (SELECT "
                     HORIZON " AS horizon) h LEFT JOIN changes c ON c.tx >= ? AND c.tx < "
                     "h.horizon ORDER BY c.id",
                     "i", *cursor);
    db_release(s->db, db);
    int64_t horizon = 0;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        horizon = json_integer_value(json_object_get(r, "horizon"));
        if (!json_is_integer(json_object_get(r, "id"))) continue; /* no change: the LEFT JOIN's row */
        json_object_del(r, "horizon");
        if (!rc && json_array_append(out, r)) rc = SK_ENOMEM;
    }
    json_decref(rows);
    if (!rc && horizon <= 0) rc = SK_EDB;
    if (rc) {
        json_decref(out);
        return rc;
    }
    *cursor = horizon;
    *ret = out;
    return 0;
}

int sti_changes_expire(struct store *st, int64_t before_us, int64_t *ret_n)
{
    struct st_store *s = ST(st);
    char before[TIME_RFC3339_LEN];
    time_fmt_rfc3339(before_us, before, sizeof before);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM changes WHERE at < ?", "s", before);
    int64_t n = rc ? 0 : db_changes(db);
    db_release(s->db, db);
    if (!rc && ret_n) *ret_n = n;
    return rc;
}
