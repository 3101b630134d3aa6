/*
 * store_migrate.c — the migrations runner, the same for every engine (see
 * migrations.h): the numbered scripts embedded from src/store/migrations,
 * each applied in a write transaction of its own with its version recorded
 * in schema_migrations by the same transaction.
 *
 * Invariants:
 *  1. A database at a version above the last one known here is refused
 *     (SK_EVERSION), before anything is written.
 *  2. Whether a version is applied is read again inside the write
 *     transaction, which excludes other writers (db.h): two processes that
 *     start together on one database apply each migration once; the second
 *     finds it recorded and goes on.
 *  3. A failed script rolls its transaction back whole (PostgreSQL's DDL is
 *     transactional; SQLite's too), so the schema is at one version or the
 *     next, never between.
 */
#include "store/migrations.h"
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>

static int recorded(struct dbc *c, int64_t version)
{
    json_t *row;
    if (db_row(c, &row, "SELECT version FROM schema_migrations WHERE version = ?", "i", version))
        return 0;
    json_decref(row);
    return 1;
}

int sti_migrate(struct dbc *c, char *err, size_t errlen)
{
    int pg = db_conn_engine(c) == DB_POSTGRES;
    if (db_exec(c,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                NULL)) {
        snprintf(err, errlen, "cannot create the table schema_migrations");
        return SK_EDB;
    }
    json_t *row;
    int64_t have = 0;
    if (db_row(c, &row, "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations", NULL) ==
        0) {
        have = json_integer_value(json_object_get(row, "v"));
        json_decref(row);
    }
    int64_t known =
        store_migrations_count ? store_migrations[store_migrations_count - 1].version : 0;
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
        if (recorded(c, m->version)) continue;
        char now[TIME_RFC3339_LEN];
        int rc = db_tx_begin(c);
        if (!rc && recorded(c, m->version)) { /* another process was first */
            db_tx_end(c, SK_ECONFLICT); /* nothing written: roll back */
            continue;
        }
        if (!rc && db_script(c, pg ? m->sql_pg : m->sql)) {
            rc = SK_EDB;
            snprintf(err, errlen, "migration %s failed on %s (the log says which statement)",
                     m->name, pg ? "PostgreSQL" : "SQLite");
        }
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
