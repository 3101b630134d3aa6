/*
 * db_sqlite.h — what the SQLite opener of the store (store_sqlite.c:
 * connection setup, migrations, the WAL hook) needs of the SQLite driver
 * beyond db.h: opening with its own setup, and the raw
 * handle of a connection. Queries go through db.h only. Nothing outside
 * src/store includes it.
 */
#ifndef SK_DB_SQLITE_H
#define SK_DB_SQLITE_H

#include "store/db.h"

#include <sqlite3.h>

/* Runs on each new connection before it joins the pool (pragmas, ATTACH,
 * hooks); 0 or an SK_E* code with err filled. */
typedef int (*db_sqlite_setup_fn)(sqlite3 *h, void *cls, char *err, size_t errlen);

/* A pool of `pool` connections to path, each set up by setup (NULL: WAL,
 * foreign keys, a busy timeout). */
int db_sqlite_open_with(const char *path, unsigned pool, db_sqlite_setup_fn setup, void *cls,
                        struct db **ret, char *err, size_t errlen);

sqlite3 *db_sqlite_handle(struct dbc *c);
/* Calls fn on every connection's handle (hooks, at start). */
void db_sqlite_each(struct db *d, void (*fn)(sqlite3 *h, void *cls), void *cls);

#endif
