/*
 * db_sqlite.c — the SQLite driver of db.h.
 *
 * A pool of connections, each with a cache of its prepared statements by
 * SQL text: parsing and planning one of our queries costs more than running
 * it, so a connection runs the statements it has seen again after a reset.
 * A statement is taken out of the cache (its entry set to NULL) while it
 * runs, so a query nested in another of the same text gets its own; it is
 * reset when given back, so no statement holds a read transaction open
 * between queries.
 *
 * Invariants: a connection is busy from db_acquire to db_release and used
 * by that one thread meanwhile; only that thread touches its cache.
 * Writes begin with BEGIN IMMEDIATE: one writer at a time (db.h).
 */
#include "store/db_sqlite.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_CACHE_MAX 256 /* statements kept per connection */
#define DEFAULT_BUSY_MS 5000

struct sq_dbc {
    struct dbc base;
    sqlite3 *h;
    int busy;
    struct strmap stmts; /* SQL text -> a prepared statement, NULL while in use */
};

struct sq_db {
    struct db base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned n;
    struct sq_dbc *conns;
};

struct sq_cur {
    struct db_cur base;
    struct sq_dbc *c;
    sqlite3_stmt *stmt;
    const char *sql;
};

static const struct db_driver sq_driver;

/* ---- connections --------------------------------------------------------- */

static struct dbc *sq_acquire(struct db *d)
{
    struct sq_db *s = (struct sq_db *)d;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (unsigned i = 0; i < s->n; i++) {
            if (!s->conns[i].busy) {
                s->conns[i].busy = 1;
                pthread_mutex_unlock(&s->mu);
                return &s->conns[i].base;
            }
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
}

static void sq_release(struct db *d, struct dbc *c)
{
    struct sq_db *s = (struct sq_db *)d;
    pthread_mutex_lock(&s->mu);
    ((struct sq_dbc *)c)->busy = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void conn_close(struct sq_dbc *c)
{
    if (c->stmts.buckets) {
        size_t pos;
        for (struct strmap_entry *e = strmap_first(&c->stmts, &pos); e;
             e = strmap_next(&c->stmts, &pos, e))
            sqlite3_finalize(e->value);
        strmap_release(&c->stmts);
    }
    sqlite3_close(c->h);
    c->h = NULL;
}

static void sq_close(struct db *d)
{
    struct sq_db *s = (struct sq_db *)d;
    for (unsigned i = 0; s->conns && i < s->n; i++) conn_close(&s->conns[i]);
    free(s->conns);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

sqlite3 *db_sqlite_handle(struct dbc *c) { return ((struct sq_dbc *)c)->h; }

void db_sqlite_each(struct db *d, void (*fn)(sqlite3 *h, void *cls), void *cls)
{
    struct sq_db *s = (struct sq_db *)d;
    for (unsigned i = 0; i < s->n; i++) fn(s->conns[i].h, cls);
}

static int default_setup(sqlite3 *h, void *cls, char *err, size_t errlen)
{
    (void)cls;
    sqlite3_busy_timeout(h, DEFAULT_BUSY_MS);
    if (sqlite3_exec(h, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure the database: %s", sqlite3_errmsg(h));
        return SK_EDB;
    }
    return 0;
}

int db_sqlite_open_with(const char *path, unsigned pool, db_sqlite_setup_fn setup, void *cls,
                        struct db **ret, char *err, size_t errlen)
{
    if (pool == 0) pool = 1;
    struct sq_db *s = calloc(1, sizeof *s);
    if (!s) return SK_ENOMEM;
    s->base.drv = &sq_driver;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->conns = calloc(pool, sizeof *s->conns);
    if (!s->conns) {
        sq_close(&s->base);
        return SK_ENOMEM;
    }
    s->n = pool;
    int rc = 0;
    for (unsigned i = 0; !rc && i < pool; i++) {
        struct sq_dbc *c = &s->conns[i];
        c->base.drv = &sq_driver;
        rc = strmap_init(&c->stmts);
        if (rc) break;
        if (sqlite3_open_v2(path, &c->h,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot open database %s: %s", path,
                     c->h ? sqlite3_errmsg(c->h) : "out of memory");
            rc = SK_EDB;
            break;
        }
        rc = (setup ? setup : default_setup)(c->h, cls, err, errlen);
    }
    if (rc) {
        sq_close(&s->base);
        return rc;
    }
    *ret = &s->base;
    return 0;
}

int db_sqlite_open(const char *path, unsigned pool, struct db **ret, char *err, size_t errlen)
{
    return db_sqlite_open_with(path, pool, NULL, NULL, ret, err, errlen);
}

/* ---- statements ---------------------------------------------------------- */

/* A statement for sql from c's cache (taken out while it runs, so a query
 * nested in another of the same text gets its own), or prepared; give it
 * back with stmt_give (reset, bindings cleared, kept or finalized). NULL
 * when SQLite refuses the text. */
static sqlite3_stmt *stmt_take(struct dbc *dc, const char *sql)
{
    struct sq_dbc *c = (struct sq_dbc *)dc;
    sqlite3_stmt *stmt = c->stmts.buckets ? strmap_get(&c->stmts, sql) : NULL;
    if (stmt) {
        strmap_put(&c->stmts, sql, NULL); /* the key exists: cannot fail */
        return stmt;
    }
    if (sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

static void stmt_give(struct dbc *dc, const char *sql, sqlite3_stmt *stmt)
{
    struct sq_dbc *c = (struct sq_dbc *)dc;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!c->stmts.buckets || strmap_get(&c->stmts, sql) || c->stmts.count >= STMT_CACHE_MAX ||
        strmap_put(&c->stmts, sql, stmt))
        sqlite3_finalize(stmt);
}

/* Binds arguments by db.h's format letters. */
static int bind_args(sqlite3_stmt *stmt, const char *fmt, va_list ap)
{
    for (int i = 0; fmt && fmt[i]; i++) {
        int rc;
        switch (fmt[i]) {
        case 's': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(stmt, i + 1, v, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(stmt, i + 1);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = sqlite3_bind_blob(stmt, i + 1, p, (int)n, SQLITE_TRANSIENT);
            break;
        }
        default:
            return SK_EINVAL;
        }
        if (rc != SQLITE_OK) return SK_EDB;
    }
    return 0;
}

/* A step's result code as an SK_E* code (0 for a row or the end). */
static int step_err(int rc)
{
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return SK_ECONFLICT;
    return SK_EDB;
}

/* The current row as db_row gives it. */
static json_t *row_json(sqlite3_stmt *stmt)
{
    json_t *o = json_object();
    int n = sqlite3_column_count(stmt);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
            json_object_set_new(o, name, json_integer(sqlite3_column_int64(stmt, i)));
            break;
        case SQLITE_FLOAT:
            json_object_set_new(o, name, json_real(sqlite3_column_double(stmt, i)));
            break;
        case SQLITE_TEXT:
            json_object_set_new(o, name,
                                json_stringn((const char *)sqlite3_column_text(stmt, i),
                                             (size_t)sqlite3_column_bytes(stmt, i)));
            break;
        case SQLITE_NULL:
            json_object_set_new(o, name, json_null());
            break;
        default: /* bytes: through a cursor */
            break;
        }
    }
    return o;
}

/* A statement for sql with the arguments bound, from c's cache. */
static int prepare(struct sq_dbc *c, sqlite3_stmt **ret, const char *sql, const char *fmt,
                   va_list ap)
{
    sqlite3_stmt *stmt = stmt_take(&c->base, sql);
    if (!stmt) return SK_EDB;
    int rc = bind_args(stmt, fmt, ap);
    if (rc) {
        stmt_give(&c->base, sql, stmt);
        return rc;
    }
    *ret = stmt;
    return 0;
}

static int sq_execv(struct dbc *dc, const char *sql, const char *fmt, va_list ap)
{
    struct sq_dbc *c = (struct sq_dbc *)dc;
    sqlite3_stmt *stmt;
    int rc = prepare(c, &stmt, sql, fmt, ap);
    if (rc) return rc;
    int s;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {}
    rc = step_err(s);
    stmt_give(dc, sql, stmt);
    return rc;
}

static int sq_rowsv(struct dbc *dc, json_t **ret, const char *sql, const char *fmt, va_list ap)
{
    struct sq_dbc *c = (struct sq_dbc *)dc;
    sqlite3_stmt *stmt;
    int rc = prepare(c, &stmt, sql, fmt, ap);
    if (rc) return rc;
    json_t *arr = json_array();
    int s;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) json_array_append_new(arr, row_json(stmt));
    rc = step_err(s);
    stmt_give(dc, sql, stmt);
    if (rc || !arr) {
        json_decref(arr);
        return rc ? rc : SK_ENOMEM;
    }
    *ret = arr;
    return 0;
}

static int sq_rowv(struct dbc *dc, json_t **ret, const char *sql, const char *fmt, va_list ap)
{
    struct sq_dbc *c = (struct sq_dbc *)dc;
    sqlite3_stmt *stmt;
    int rc = prepare(c, &stmt, sql, fmt, ap);
    if (rc) return rc;
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW) *ret = row_json(stmt);
    else rc = s == SQLITE_DONE ? SK_ENOTFOUND : step_err(s);
    stmt_give(dc, sql, stmt);
    return rc;
}

static int64_t sq_changes(struct dbc *dc) { return sqlite3_changes64(((struct sq_dbc *)dc)->h); }

/* ---- cursors --------------------------------------------------------------- */

static int sq_queryv(struct dbc *dc, struct db_cur **ret, const char *sql, const char *fmt,
                     va_list ap)
{
    struct sq_dbc *c = (struct sq_dbc *)dc;
    struct sq_cur *cur = calloc(1, sizeof *cur);
    if (!cur) return SK_ENOMEM;
    int rc = prepare(c, &cur->stmt, sql, fmt, ap);
    if (rc) {
        free(cur);
        return rc;
    }
    cur->base.drv = &sq_driver;
    cur->c = c;
    cur->sql = sql;
    *ret = &cur->base;
    return 0;
}

static int sq_next(struct db_cur *dcur)
{
    struct sq_cur *cur = (struct sq_cur *)dcur;
    int s = sqlite3_step(cur->stmt);
    if (s == SQLITE_ROW) return 1;
    return s == SQLITE_DONE ? 0 : step_err(s);
}

static const char *sq_col_text(struct db_cur *dcur, int i, size_t *len)
{
    struct sq_cur *cur = (struct sq_cur *)dcur;
    const char *t = (const char *)sqlite3_column_text(cur->stmt, i);
    if (len) *len = t ? (size_t)sqlite3_column_bytes(cur->stmt, i) : 0;
    return t;
}

static int64_t sq_col_int(struct db_cur *dcur, int i)
{
    return sqlite3_column_int64(((struct sq_cur *)dcur)->stmt, i);
}

static const void *sq_col_bytes(struct db_cur *dcur, int i, size_t *len)
{
    struct sq_cur *cur = (struct sq_cur *)dcur;
    const void *p = sqlite3_column_blob(cur->stmt, i);
    *len = p ? (size_t)sqlite3_column_bytes(cur->stmt, i) : 0;
    return p;
}

static int sq_col_is_null(struct db_cur *dcur, int i)
{
    return sqlite3_column_type(((struct sq_cur *)dcur)->stmt, i) == SQLITE_NULL;
}

static json_t *sq_cur_row(struct db_cur *dcur)
{
    return row_json(((struct sq_cur *)dcur)->stmt);
}

static void sq_done(struct db_cur *dcur)
{
    struct sq_cur *cur = (struct sq_cur *)dcur;
    stmt_give(&cur->c->base, cur->sql, cur->stmt);
    free(cur);
}

/* ---- transactions ---------------------------------------------------------- */

static int sq_tx_begin(struct dbc *c) { return db_exec(c, "BEGIN IMMEDIATE", NULL); }
static int sq_tx_commit(struct dbc *c) { return db_exec(c, "COMMIT", NULL); }
static void sq_tx_rollback(struct dbc *c)
{
    sqlite3_exec(((struct sq_dbc *)c)->h, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_script(struct dbc *c, const char *sql)
{
    sqlite3 *h = ((struct sq_dbc *)c)->h;
    if (sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK) return 0;
    log_kv(LOG_WARN, "sqlite.error", "error", sqlite3_errmsg(h), "sql", "(script)", NULL);
    return SK_EDB;
}

static const struct db_driver sq_driver = {
    .name = "sqlite",
    .engine = DB_SQLITE,
    .acquire = sq_acquire,
    .release = sq_release,
    .close = sq_close,
    .execv = sq_execv,
    .rowsv = sq_rowsv,
    .rowv = sq_rowv,
    .changes = sq_changes,
    .queryv = sq_queryv,
    .next = sq_next,
    .col_text = sq_col_text,
    .col_int = sq_col_int,
    .col_bytes = sq_col_bytes,
    .col_is_null = sq_col_is_null,
    .cur_row = sq_cur_row,
    .done = sq_done,
    .script = sq_script,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
};
