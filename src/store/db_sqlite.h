/*
 * db_sqlite.h — what the SQLite store (sqlite*.c) needs of the SQLite
 * driver beyond db.h, while its query files move onto db.h: the raw
 * handle of a connection, its statement cache, and the binding and row
 * conversion every query shares. Nothing outside src/store includes it.
 */
#ifndef SK_DB_SQLITE_H
#define SK_DB_SQLITE_H

#include "store/db.h"

#include <sqlite3.h>
#include <stdarg.h>

/* Runs on each new connection before it joins the pool (pragmas, ATTACH,
 * hooks); 0 or an SK_E* code with err filled. */
typedef int (*db_sqlite_setup_fn)(sqlite3 *h, void *cls, char *err, size_t errlen);

/* A pool of `pool` connections to path, each set up by setup (NULL: WAL,
 * foreign keys, a busy timeout). */
int db_sqlite_open_with(const char *path, unsigned pool, db_sqlite_setup_fn setup, void *cls,
                        struct db **ret, char *err, size_t errlen);

sqlite3 *db_sqlite_handle(struct dbc *c);
/* The pool connection whose handle is h, or NULL. */
struct dbc *db_sqlite_conn_of(struct db *d, sqlite3 *h);
/* A connection of no pool, without a statement cache, over h (a caller
 * that holds only a raw handle); db_sqlite_unwrap frees the wrapper, not h.
 * NULL when out of memory; unwrap takes NULL. */
struct dbc *db_sqlite_wrap(sqlite3 *h);
void db_sqlite_unwrap(struct dbc *c);
/* Calls fn on every connection's handle (hooks, at start). */
void db_sqlite_each(struct db *d, void (*fn)(sqlite3 *h, void *cls), void *cls);

/* A statement for sql from c's cache (taken out while it runs, so a query
 * nested in another of the same text gets its own), or prepared; give it
 * back with db_sqlite_stmt_give (reset, bindings cleared, kept or
 * finalized). NULL when SQLite refuses the text. */
sqlite3_stmt *db_sqlite_stmt_take(struct dbc *c, const char *sql);
void db_sqlite_stmt_give(struct dbc *c, const char *sql, sqlite3_stmt *stmt);

/* Binds arguments by db.h's format letters. */
int db_sqlite_bind(sqlite3_stmt *stmt, const char *fmt, va_list ap);
/* The current row as db_row gives it. */
json_t *db_sqlite_row_json(sqlite3_stmt *stmt);
/* A step's result code as an SK_E* code (0 for a row or the end). */
int db_sqlite_step_err(int rc);

#endif
