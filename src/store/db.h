/*
 * db.h — one SQL interface over the database engines (issue 12): SQLite,
 * embedded, and PostgreSQL through libpq. The store's query files are
 * written once against this; each engine is a small driver (db_sqlite.c,
 * db_pg.c) that fills a struct db_driver.
 *
 * SQL texts are shared by both engines: standard SQL with `?` or `?N`
 * placeholders (the PostgreSQL driver rewrites them to `$N`), ON CONFLICT,
 * RETURNING, CTEs. Where an engine needs its own text, both texts sit side
 * by side in the query file and db_engine() picks.
 *
 * Arguments bind by a format string, one letter an argument:
 *   s  const char *  text (NULL binds NULL)
 *   i  int64_t       integer
 *   b  const void *, size_t   bytes (SQLite BLOB, PostgreSQL bytea)
 * Rows come back as JSON objects: integers, reals, text and NULL by column
 * name; bytes are left out (read them through a cursor).
 *
 * Every function returns 0 or a negative SK_E* code: a constraint violation
 * (unique, foreign key, check) is SK_ECONFLICT, no row for db_row is
 * SK_ENOTFOUND, anything else the engine refuses is SK_EDB.
 *
 * A connection (struct dbc) is used by one thread at a time: db_acquire
 * waits for a free one of the pool, db_release gives it back. Writes are
 * db_tx_begin ... db_tx_end(c, rc): a write transaction on either engine
 * excludes other writers until it ends (SQLite: BEGIN IMMEDIATE; PostgreSQL:
 * a transaction-scoped advisory lock), so a read-check-write inside one
 * sees no other writer's change — the guarantee the store was written for.
 */
#ifndef SK_DB_H
#define SK_DB_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum db_engine { DB_SQLITE, DB_POSTGRES };

struct db;     /* a pool of connections to one database */
struct dbc;    /* one connection of it */
struct db_cur; /* the rows of one query, read one at a time */

struct db_driver {
    const char *name; /* "sqlite", "postgresql" */
    enum db_engine engine;
    struct dbc *(*acquire)(struct db *d);
    void (*release)(struct db *d, struct dbc *c);
    void (*close)(struct db *d);
    int (*execv)(struct dbc *c, const char *sql, const char *fmt, va_list ap);
    int (*rowsv)(struct dbc *c, json_t **ret, const char *sql, const char *fmt, va_list ap);
    int (*rowv)(struct dbc *c, json_t **ret, const char *sql, const char *fmt, va_list ap);
    int64_t (*changes)(struct dbc *c);
    int (*queryv)(struct dbc *c, struct db_cur **ret, const char *sql, const char *fmt,
                  va_list ap);
    int (*next)(struct db_cur *cur); /* 1: a row, 0: no more, < 0: error */
    const char *(*col_text)(struct db_cur *cur, int i, size_t *len); /* NULL for NULL */
    int64_t (*col_int)(struct db_cur *cur, int i);
    const void *(*col_bytes)(struct db_cur *cur, int i, size_t *len);
    int (*col_is_null)(struct db_cur *cur, int i);
    json_t *(*cur_row)(struct db_cur *cur); /* the current row as db_row gives it */
    void (*done)(struct db_cur *cur);
    int (*script)(struct dbc *c, const char *sql); /* several statements, no parameters */
    int (*tx_begin)(struct dbc *c);
    int (*tx_commit)(struct dbc *c);
    void (*tx_rollback)(struct dbc *c);
};

/* Each engine's struct db and struct dbc start with these. */
struct db {
    const struct db_driver *drv;
};
struct dbc {
    const struct db_driver *drv;
};
struct db_cur {
    const struct db_driver *drv;
};

static inline enum db_engine db_engine(const struct db *d) { return d->drv->engine; }
static inline enum db_engine db_conn_engine(const struct dbc *c) { return c->drv->engine; }
static inline struct dbc *db_acquire(struct db *d) { return d->drv->acquire(d); }
static inline void db_release(struct db *d, struct dbc *c) { d->drv->release(d, c); }
/* Closes every connection and frees d. NULL is allowed. */
static inline void db_close(struct db *d)
{
    if (d) d->drv->close(d);
}

/* Runs a statement to its end. */
int db_exec(struct dbc *c, const char *sql, const char *fmt, ...);
/* Every row, as an array of objects. */
int db_rows(struct dbc *c, json_t **ret, const char *sql, const char *fmt, ...);
/* The first row as an object, or SK_ENOTFOUND. */
int db_row(struct dbc *c, json_t **ret, const char *sql, const char *fmt, ...);
/* Rows changed by the last db_exec on c. */
static inline int64_t db_changes(struct dbc *c) { return c->drv->changes(c); }

/* A query read row by row (large results, bytes): db_next until it returns
 * 0, then db_done (always, also after an error). */
int db_query(struct dbc *c, struct db_cur **ret, const char *sql, const char *fmt, ...);
static inline int db_next(struct db_cur *cur) { return cur->drv->next(cur); }
static inline const char *db_col_text(struct db_cur *cur, int i, size_t *len)
{
    return cur->drv->col_text(cur, i, len);
}
static inline int64_t db_col_int(struct db_cur *cur, int i) { return cur->drv->col_int(cur, i); }
static inline const void *db_col_bytes(struct db_cur *cur, int i, size_t *len)
{
    return cur->drv->col_bytes(cur, i, len);
}
static inline int db_col_is_null(struct db_cur *cur, int i) { return cur->drv->col_is_null(cur, i); }
static inline json_t *db_cur_row(struct db_cur *cur) { return cur->drv->cur_row(cur); }
static inline void db_done(struct db_cur *cur)
{
    if (cur) cur->drv->done(cur);
}

/* A text of several statements separated by `;` and no parameters (a
 * migration), run in order; stops at the first error. */
static inline int db_script(struct dbc *c, const char *sql) { return c->drv->script(c, sql); }

/* A read that must see one state of the database across its statements (an
 * export, a training read): begin, the queries, then db_read_end, always.
 * SQLite: a deferred transaction; PostgreSQL: REPEATABLE READ, READ ONLY.
 * No write may run inside it. */
int db_read_begin(struct dbc *c);
void db_read_end(struct dbc *c);

/* A write: begin, then db_tx_end(c, rc) commits when rc is 0, else rolls
 * back; it returns the final rc (a failed commit is SK_EDB). */
static inline int db_tx_begin(struct dbc *c) { return c->drv->tx_begin(c); }
int db_tx_end(struct dbc *c, int rc);

/* Opening. pool: connections kept (at least 1). On failure err says why
 * in words (never a password from conninfo). */
int db_sqlite_open(const char *path, unsigned pool, struct db **ret, char *err, size_t errlen);
int db_pg_open(const char *conninfo, unsigned pool, struct db **ret, char *err, size_t errlen);
/* The same server and settings as conninfo, but the database dbname (NULL:
 * conninfo's own). */
int db_pg_open_as(const char *conninfo, const char *dbname, unsigned pool, struct db **ret,
                  char *err, size_t errlen);
/* PostgreSQL's bulk load, for migrate-data: COPY table (cols) FROM STDIN in
 * text format (columns separated by tabs, rows by newlines, NULL as \N,
 * backslash escapes; bytea as \\x and hex digits), fed in pieces by put;
 * end(c, rc) finishes it (rc != 0 abandons it) and returns the result.
 * SK_EINVAL on a connection of another engine. */
int db_pg_copy_begin(struct dbc *c, const char *table, const char *cols);
int db_pg_copy_put(struct dbc *c, const char *data, size_t len);
int db_pg_copy_end(struct dbc *c, int rc);
/* conninfo as key=value pairs without the password, for logs and messages. */
int db_pg_redact(const char *conninfo, char *buf, size_t len);
/* 1 when s names a PostgreSQL database (a postgresql:// or postgres:// URI,
 * or key=value pairs) rather than a SQLite file. */
int db_is_pg(const char *s);

/* For drivers: rewrites `?` and `?N` placeholders (outside quotes) to
 * PostgreSQL's `$N` into buf; the number of parameters, or -1 when buf is
 * too small or a number is out of range. */
int db_placeholders_pg(const char *sql, char *buf, size_t len);

#endif
