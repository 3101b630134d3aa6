/*
 * db_pg.c — the PostgreSQL driver of db.h, through libpq (issue 12).
 *
 * Invariants:
 *  1. A pool of `pool` connections opened at db_pg_open; a connection is
 *     used by one thread at a time (pg_acquire/pg_release under mu, waiters
 *     on cv). A connection found broken on acquire (PQstatus, which a failed
 *     query or a server restart leaves bad) is reset there, so one outage
 *     costs each connection one failed query, not the process.
 *  2. No server-side prepared statements: every query is PQexecParams (an
 *     unnamed statement, parsed each time), so the driver works unchanged
 *     behind pgbouncer in transaction mode, where consecutive statements of
 *     a connection outside a transaction may reach different servers.
 *     Placeholders are rewritten (db_placeholders_pg) into a buffer the
 *     connection keeps; the rewrite is one pass over the text, as cheap as
 *     the hash lookup a cache of rewritten texts would need, so none is kept.
 *  3. Parameters and results travel as text, except bytes ('b'), sent as a
 *     binary bytea parameter (OID 17) so that no escaping is needed. A text
 *     parameter is declared text (OID 25) and an integer int8, so that
 *     `? IS NULL` and other places where nothing else says a type work as
 *     on SQLite, and arithmetic on an integer is done in 64 bits as SQLite
 *     does; the schema's columns are TEXT, BIGINT and BYTEA only, so a text
 *     never meets a number (a query that compares one casts it).
 *  4. Writers exclude each other like SQLite's BEGIN IMMEDIATE (db.h): a
 *     write transaction is READ COMMITTED and first takes a transaction-
 *     scoped advisory lock (PG_WRITE_LOCK); it is released by COMMIT or
 *     ROLLBACK. READ COMMITTED matters: each statement after the lock takes
 *     a fresh snapshot, so it sees the previous writer's commit. Being
 *     transaction-scoped, the lock also works behind pgbouncer in
 *     transaction mode (a session lock would not).
 *  5. Inside a transaction, a write that fails undoes only itself, as in
 *     SQLite (a store may treat a conflict as "already there" and go on,
 *     e.g. a repeated staff grant): each statement other than a SELECT
 *     runs between SAVEPOINT and RELEASE, sent as one pipeline (one round
 *     trip), and on failure the driver rolls back to the savepoint.
 *     Without this PostgreSQL would abort the whole transaction and COMMIT
 *     would silently roll it back; pg_tx_commit also checks that COMMIT
 *     really committed. A failed SELECT still aborts the transaction (the
 *     store ends it on any read error). Cost: each write inside a
 *     transaction is a subtransaction; past 64 in one transaction the
 *     server's subtransaction cache overflows and every session's
 *     snapshots slow down until it ends, so bulk writes belong in
 *     INSERT ... ON CONFLICT DO NOTHING batches, not a statement a row.
 *  6. A connection goes back to the pool outside any transaction: one left
 *     open by a caller is rolled back on release.
 *  7. The password of the connection string never reaches err or a log
 *     line: a string libpq cannot parse gets a message of our own (libpq's
 *     quotes the offending token, which may be the password), and every
 *     libpq message is scrubbed of the password before it is shown.
 *     Server error messages are not logged either (they can quote values,
 *     which may be personal data): only the SQLSTATE and the SQL text.
 */
#include "store/db.h"
#include "util/err.h"
#include "util/log.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The key of the advisory lock every write transaction holds; any fixed
 * number will do as long as nothing else in the database uses it ("SKPR"). */
#define PG_WRITE_LOCK "1397444690"

/* OIDs of the built-in types (pg_type.h, stable across versions). */
enum {
    PG_BOOL = 16,
    PG_BYTEA = 17,
    PG_INT8 = 20,
    PG_INT2 = 21,
    PG_INT4 = 23,
    PG_TEXT = 25,
    PG_FLOAT4 = 700,
    PG_FLOAT8 = 701,
    PG_NUMERIC = 1700,
};

/* The protocol's limit on the parameters of one statement. */
#define PG_MAX_PARAMS 65535

struct pg_db;

struct pg_conn {
    struct dbc base;
    struct pg_db *owner;
    PGconn *conn;
    int busy;        /* held by a thread (under owner->mu) */
    int64_t changes; /* rows changed by the last INSERT/UPDATE/DELETE/MERGE */
    char *sql;       /* the last rewritten SQL text; grows as needed */
    size_t sqlcap;
};

struct pg_db {
    struct db base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *password; /* from the connection string, to scrub messages; may be NULL */
    unsigned n;
    struct pg_conn *conns;
};

struct pg_cur {
    struct db_cur base;
    PGresult *res;
    int row, nrows, ncols;
    unsigned char **bytes; /* unescaped bytea per column of the current row */
    size_t *nbytes;
};

static const struct db_driver pg_driver;

/* ---- messages ---------------------------------------------------------- */

/* Copies a libpq message into err on one line (runs of white space become
 * one space), with the password (if any) replaced by "***". */
static void pg__message(char *err, size_t errlen, const char *prefix, const char *msg,
                        const char *password)
{
    if (!err || errlen == 0) return;
    size_t plen = password ? strlen(password) : 0;
    int w = snprintf(err, errlen, "%s", prefix);
    size_t n = w < 0 ? 0 : (size_t)w;
    for (const char *p = msg ? msg : ""; *p && n + 1 < errlen;) {
        if (plen && strncmp(p, password, plen) == 0) {
            const char *mask = "***";
            for (; *mask && n + 1 < errlen; mask++) err[n++] = *mask;
            p += plen;
            continue;
        }
        char ch = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : *p;
        if (ch != ' ' || (n > 0 && err[n - 1] != ' ')) err[n++] = ch;
        p++;
    }
    if (n >= errlen) n = errlen - 1;
    while (n > 0 && err[n - 1] == ' ') n--;
    err[n] = '\0';
}

/* Notices (a NOTICE for DROP TABLE IF EXISTS, a WARNING for ROLLBACK with
 * nothing open) would go to stderr, which is the service's structured log:
 * keep them as debug events, without the text (it can quote values). */
static void pg__notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    log_kv(LOG_DEBUG, "pg.notice", "sqlstate", state ? state : "", NULL);
}

/* ---- connections ------------------------------------------------------- */

/* Opens one connection; NULL with err filled on failure. client_encoding
 * is forced to UTF-8 because rows become JSON, which is UTF-8. */
static PGconn *pg__connect(const char *conninfo, const char *dbname, const char *password,
                           char *err, size_t errlen)
{
    /* a second "dbname" is a plain name and overrides the string's */
    const char *keys[] = {"dbname", "client_encoding", "fallback_application_name",
                          dbname ? "dbname" : NULL, NULL};
    const char *vals[] = {conninfo, "UTF8", "shopkeeper", dbname, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        pg__message(err, errlen, "PostgreSQL: out of memory", "", NULL);
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pg__message(err, errlen, "PostgreSQL: ", PQerrorMessage(conn), password);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, pg__notice, NULL);
    return conn;
}

static struct dbc *pg_acquire(struct db *d)
{
    struct pg_db *db = (struct pg_db *)d;
    struct pg_conn *c = NULL;
    pthread_mutex_lock(&db->mu);
    while (!c) {
        for (unsigned i = 0; i < db->n; i++) {
            if (!db->conns[i].busy) {
                c = &db->conns[i];
                c->busy = 1;
                break;
            }
        }
        if (!c) pthread_cond_wait(&db->cv, &db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        /* Reconnect outside the lock: it takes a round trip or a timeout.
         * A failure leaves the connection bad; its queries fail with
         * SK_EDB and the next acquire tries again. */
        PQreset(c->conn);
        if (PQstatus(c->conn) == CONNECTION_OK) {
            log_kv(LOG_INFO, "pg.reconnect", "result", "ok", NULL);
        } else {
            char msg[256];
            pg__message(msg, sizeof msg, "", PQerrorMessage(c->conn), db->password);
            log_kv(LOG_WARN, "pg.reconnect", "result", "failed", "error", msg, NULL);
        }
    }
    return &c->base;
}

static void pg_release(struct db *d, struct dbc *dc)
{
    struct pg_db *db = (struct pg_db *)d;
    struct pg_conn *c = (struct pg_conn *)dc;
    PGTransactionStatusType ts = PQtransactionStatus(c->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        log_kv(LOG_WARN, "pg.release", "note", "transaction left open: rolled back", NULL);
        PQclear(PQexec(c->conn, "ROLLBACK"));
    }
    pthread_mutex_lock(&db->mu);
    c->busy = 0;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

static void pg_close(struct db *d)
{
    struct pg_db *db = (struct pg_db *)d;
    for (unsigned i = 0; i < db->n; i++) {
        PQfinish(db->conns[i].conn);
        free(db->conns[i].sql);
    }
    free(db->conns);
    free(db->password);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

int db_pg_open(const char *conninfo, unsigned pool, struct db **ret, char *err, size_t errlen)
{
    return db_pg_open_as(conninfo, NULL, pool, ret, err, errlen);
}

int db_pg_redact(const char *conninfo, char *buf, size_t len)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    PQfreemem(perr);
    if (!opts) {
        snprintf(buf, len, "(a PostgreSQL connection string that does not parse)");
        return SK_EINVAL;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !o->val[0] || strcmp(o->keyword, "password") == 0) continue;
        int w = snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "", o->keyword, o->val);
        if (w < 0 || (size_t)w >= len - n) break;
        n += (size_t)w;
    }
    PQconninfoFree(opts);
    return 0;
}

int db_pg_open_as(const char *conninfo, const char *dbname, unsigned pool, struct db **ret,
                  char *err, size_t errlen)
{
    if (pool == 0) pool = 1;
    /* Parse first: libpq's own parse errors quote the token they choke on,
     * which may be the password, so this message is ours. */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (!opts) {
        PQfreemem(perr);
        pg__message(err, errlen,
                    "PostgreSQL: the connection string is not valid (key=value pairs or a "
                    "postgresql:// URI)",
                    "", NULL);
        return SK_EINVAL;
    }
    char *password = NULL;
    int rc = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0]) {
            if (!(password = strdup(o->val))) rc = SK_ENOMEM;
        }
    }
    PQconninfoFree(opts);
    if (rc) goto out_nomem;

    struct pg_db *db = calloc(1, sizeof *db);
    if (!db) goto out_password;
    db->base.drv = &pg_driver;
    db->password = password;
    password = NULL;
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    if (!(db->conns = calloc(pool, sizeof *db->conns))) {
        pg_close(&db->base);
        goto out_nomem;
    }
    for (unsigned i = 0; i < pool; i++) {
        struct pg_conn *c = &db->conns[i];
        c->base.drv = &pg_driver;
        c->owner = db;
        if (!(c->conn = pg__connect(conninfo ? conninfo : "", dbname, db->password, err,
                                    errlen))) {
            pg_close(&db->base);
            return SK_EDB;
        }
        db->n = i + 1;
    }
    *ret = &db->base;
    return 0;

out_password:
    free(password);
out_nomem:
    pg__message(err, errlen, "PostgreSQL: out of memory", "", NULL);
    return SK_ENOMEM;
}

/* ---- running a statement ------------------------------------------------ */

/* Maps a failed result (or none: out of memory, connection lost) to an
 * SK_E* code, and logs what is safe to log. */
static int pg__error(const PGresult *res, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strncmp(state, "23", 2) == 0) return SK_ECONFLICT;
    char head[1024];
    snprintf(head, sizeof head, "%s", sql);
    log_kv(LOG_WARN, "pg.error", "sqlstate", state ? state : "none", "sql", head, NULL);
    return SK_EDB;
}

static int pg__ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The parameters of one statement, in one allocation. */
struct pg_params {
    int n;
    const char **values;
    int *lengths;
    int *formats;
    Oid *types;
    char (*ints)[24];
};

static int pg__params(struct pg_params *p, const char *fmt, va_list ap)
{
    size_t n = fmt ? strlen(fmt) : 0;
    memset(p, 0, sizeof *p);
    if (n == 0) return 0;
    if (n > PG_MAX_PARAMS) return SK_EINVAL;
    /* pointers first, then the 4-byte arrays, then the digits: each part
     * starts aligned for its type */
    size_t sz = n * (sizeof(char *) + 2 * sizeof(int) + sizeof(Oid) + 24);
    char *block = malloc(sz);
    if (!block) return SK_ENOMEM;
    p->n = (int)n;
    p->values = (const char **)(void *)block;
    p->lengths = (int *)(void *)(block + n * sizeof(char *));
    p->formats = p->lengths + n;
    p->types = (Oid *)(void *)(p->formats + n);
    p->ints = (char (*)[24])(void *)(p->types + n);
    for (size_t i = 0; i < n; i++) {
        p->lengths[i] = 0;
        p->formats[i] = 0;
        p->types[i] = 0;
        switch (fmt[i]) {
        case 's':
            p->values[i] = va_arg(ap, const char *);
            p->types[i] = PG_TEXT;
            break;
        case 'i':
            snprintf(p->ints[i], sizeof p->ints[i], "%" PRId64, va_arg(ap, int64_t));
            p->values[i] = p->ints[i];
            p->types[i] = PG_INT8;
            break;
        case 'b': {
            const void *v = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            if (len > INT32_MAX) {
                free(block);
                return SK_ETOOBIG;
            }
            p->values[i] = v; /* NULL binds NULL, as SQLite does */
            p->lengths[i] = (int)len;
            p->formats[i] = 1;
            p->types[i] = PG_BYTEA;
            break;
        }
        default:
            free(block);
            return SK_EINVAL;
        }
    }
    return 0;
}

static void pg__params_free(struct pg_params *p) { free((void *)p->values); }

/* Rewrites sql's placeholders into c->sql. */
static int pg__rewrite(struct pg_conn *c, const char *sql)
{
    if (c->sql && db_placeholders_pg(sql, c->sql, c->sqlcap) >= 0) return 0;
    /* `?` becomes `$` and at most five digits, so 8 bytes a byte is room
     * enough; a rewrite that still fails has a bad placeholder. */
    size_t need = strlen(sql) * 8 + 16;
    if (need > c->sqlcap) {
        char *grown = realloc(c->sql, need);
        if (!grown) return SK_ENOMEM;
        c->sql = grown;
        c->sqlcap = need;
    }
    return db_placeholders_pg(sql, c->sql, c->sqlcap) >= 0 ? 0 : SK_EINVAL;
}

/* Inside a transaction: SAVEPOINT, the write, RELEASE, as one pipeline
 * (invariant 5). Returns the statement's result (NULL if none came). */
static PGresult *pg__exec_in_tx(PGconn *conn, const char *sql, const struct pg_params *p)
{
    if (!PQenterPipelineMode(conn)) return NULL;
    int sent = PQsendQueryParams(conn, "SAVEPOINT sk_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
               PQsendQueryParams(conn, sql, p->n, p->types, p->values, p->lengths, p->formats,
                                 0) &&
               PQsendQueryParams(conn, "RELEASE SAVEPOINT sk_stmt", 0, NULL, NULL, NULL, NULL,
                                 0) &&
               PQpipelineSync(conn);
    PGresult *stmt = NULL;
    int savepoint_ok = 0;
    if (sent) {
        /* Each query's results end with a NULL; the sync's result last. */
        for (int q = 0; q < 3 && PQstatus(conn) == CONNECTION_OK; q++) {
            PGresult *r;
            while ((r = PQgetResult(conn))) {
                if (q == 0) savepoint_ok = PQresultStatus(r) == PGRES_COMMAND_OK;
                if (q == 1 && !stmt) stmt = r;
                else PQclear(r);
            }
        }
        PGresult *r;
        while (PQstatus(conn) == CONNECTION_OK && (r = PQgetResult(conn))) {
            int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
            if (sync) break;
        }
    }
    if (!PQexitPipelineMode(conn) && PQstatus(conn) == CONNECTION_OK) {
        /* results left uncollected (a send failed half way): the
         * connection cannot run another query; start it afresh, which
         * ends the transaction, as a lost connection would */
        log_kv(LOG_WARN, "pg.pipeline", "note", "could not leave pipeline mode: reconnecting",
               NULL);
        PQclear(stmt);
        PQreset(conn);
        return NULL;
    }
    if (savepoint_ok && PQtransactionStatus(conn) == PQTRANS_INERROR)
        PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT sk_stmt; RELEASE SAVEPOINT sk_stmt"));
    return stmt;
}

/* A statement that only reads: it starts with SELECT (after white space
 * and opening parentheses). Only writes raise constraint errors, the ones
 * a store goes on from; a failed read ends the transaction in the store
 * anyway, so reads skip the savepoint and its cost. */
static int pg__is_read(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(') sql++;
    return strncasecmp(sql, "SELECT", 6) == 0 &&
           !((sql[6] >= 'a' && sql[6] <= 'z') || (sql[6] >= 'A' && sql[6] <= 'Z') ||
             (sql[6] >= '0' && sql[6] <= '9') || sql[6] == '_');
}

/* Runs one statement; on success *ret holds its result (the caller
 * PQclears it). Counts changes as sqlite3_changes does: only INSERT,
 * UPDATE, DELETE (and MERGE) set them. */
static int pg__run(struct pg_conn *c, PGresult **ret, const char *sql, const char *fmt,
                   va_list ap)
{
    int rc = pg__rewrite(c, sql);
    if (rc) return rc;
    struct pg_params p;
    if ((rc = pg__params(&p, fmt, ap))) return rc;
    PGresult *res;
    if (PQtransactionStatus(c->conn) == PQTRANS_INTRANS && !pg__is_read(sql))
        res = pg__exec_in_tx(c->conn, c->sql, &p);
    else
        res = PQexecParams(c->conn, c->sql, p.n, p.types, p.values, p.lengths, p.formats, 0);
    pg__params_free(&p);
    if (!res || !pg__ok(res)) {
        rc = pg__error(res, sql);
        PQclear(res);
        return rc;
    }
    const char *tag = PQcmdStatus(res);
    if (!strncmp(tag, "INSERT", 6) || !strncmp(tag, "UPDATE", 6) || !strncmp(tag, "DELETE", 6) ||
        !strncmp(tag, "MERGE", 5))
        c->changes = strtoll(PQcmdTuples(res), NULL, 10);
    *ret = res;
    return 0;
}

/* ---- rows as JSON ----------------------------------------------------- */

/* Row r as an object, by the column types (invariant 3; bytea left out,
 * as SQLite's blobs are). */
static json_t *pg__row_json(const PGresult *res, int r)
{
    json_t *o = json_object();
    if (!o) return NULL;
    int n = PQnfields(res);
    for (int i = 0; i < n; i++) {
        const char *name = PQfname(res, i);
        if (PQgetisnull(res, r, i)) {
            json_object_set_new(o, name, json_null());
            continue;
        }
        const char *v = PQgetvalue(res, r, i);
        json_t *j = NULL;
        switch (PQftype(res, i)) {
        case PG_INT2:
        case PG_INT4:
        case PG_INT8:
            j = json_integer(strtoll(v, NULL, 10));
            break;
        case PG_NUMERIC: /* sum() of integers: an integer, as SQLite gives */
            if (!strpbrk(v, ".eEN")) {
                j = json_integer(strtoll(v, NULL, 10));
                break;
            }
            /* fall through */
        case PG_FLOAT4:
        case PG_FLOAT8:
            j = json_real(strtod(v, NULL)); /* NULL for NaN and infinities: */
            break;                          /* those stay text below */
        case PG_BOOL: /* 1 or 0, as SQLite gives a comparison */
            j = json_integer(v[0] == 't');
            break;
        case PG_BYTEA:
            continue;
        default:
            break;
        }
        if (!j) j = json_stringn(v, (size_t)PQgetlength(res, r, i));
        json_object_set_new(o, name, j);
    }
    return o;
}

static int pg_execv(struct dbc *dc, const char *sql, const char *fmt, va_list ap)
{
    PGresult *res;
    int rc = pg__run((struct pg_conn *)dc, &res, sql, fmt, ap);
    if (!rc) PQclear(res);
    return rc;
}

static int pg_rowsv(struct dbc *dc, json_t **ret, const char *sql, const char *fmt, va_list ap)
{
    PGresult *res;
    int rc = pg__run((struct pg_conn *)dc, &res, sql, fmt, ap);
    if (rc) return rc;
    json_t *arr = json_array();
    int n = PQntuples(res);
    for (int r = 0; arr && r < n; r++) {
        if (json_array_append_new(arr, pg__row_json(res, r))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    PQclear(res);
    if (!arr) return SK_ENOMEM;
    *ret = arr;
    return 0;
}

static int pg_rowv(struct dbc *dc, json_t **ret, const char *sql, const char *fmt, va_list ap)
{
    PGresult *res;
    int rc = pg__run((struct pg_conn *)dc, &res, sql, fmt, ap);
    if (rc) return rc;
    json_t *row = NULL;
    if (PQntuples(res) == 0) rc = SK_ENOTFOUND;
    else if (!(row = pg__row_json(res, 0))) rc = SK_ENOMEM;
    PQclear(res);
    if (!rc) *ret = row;
    return rc;
}

static int64_t pg_changes(struct dbc *dc) { return ((struct pg_conn *)dc)->changes; }

/* ---- cursors ------------------------------------------------------------ */

static void pg__cur_free_bytes(struct pg_cur *cur)
{
    for (int i = 0; i < cur->ncols; i++) {
        if (cur->bytes[i]) PQfreemem(cur->bytes[i]);
        cur->bytes[i] = NULL;
    }
}

static int pg_queryv(struct dbc *dc, struct db_cur **ret, const char *sql, const char *fmt,
                     va_list ap)
{
    PGresult *res;
    int rc = pg__run((struct pg_conn *)dc, &res, sql, fmt, ap);
    if (rc) return rc;
    int ncols = PQnfields(res);
    struct pg_cur *cur = calloc(1, sizeof *cur);
    if (cur) {
        cur->bytes = calloc((size_t)ncols + 1, sizeof *cur->bytes);
        cur->nbytes = calloc((size_t)ncols + 1, sizeof *cur->nbytes);
    }
    if (!cur || !cur->bytes || !cur->nbytes) {
        if (cur) {
            free(cur->bytes);
            free(cur->nbytes);
        }
        free(cur);
        PQclear(res);
        return SK_ENOMEM;
    }
    cur->base.drv = &pg_driver;
    cur->res = res;
    cur->row = -1;
    cur->nrows = PQntuples(res);
    cur->ncols = ncols;
    *ret = &cur->base;
    return 0;
}

static int pg_next(struct db_cur *dcur)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    pg__cur_free_bytes(cur);
    if (cur->row < cur->nrows) cur->row++;
    return cur->row < cur->nrows;
}

/* Column i of the current row exists and is not NULL. */
static int pg__has(const struct pg_cur *cur, int i)
{
    return cur->row >= 0 && cur->row < cur->nrows && i >= 0 && i < cur->ncols &&
           !PQgetisnull(cur->res, cur->row, i);
}

static const char *pg_col_text(struct db_cur *dcur, int i, size_t *len)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    if (!pg__has(cur, i)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = (size_t)PQgetlength(cur->res, cur->row, i);
    return PQgetvalue(cur->res, cur->row, i);
}

static int64_t pg_col_int(struct db_cur *dcur, int i)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    if (!pg__has(cur, i)) return 0;
    const char *v = PQgetvalue(cur->res, cur->row, i);
    if (PQftype(cur->res, i) == PG_BOOL) return v[0] == 't';
    return strtoll(v, NULL, 10);
}

/* bytea arrives escaped (hex) in a text result: unescaped here, kept until
 * the next row or db_done. Other columns give their text's bytes. */
static const void *pg_col_bytes(struct db_cur *dcur, int i, size_t *len)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    if (!pg__has(cur, i)) {
        if (len) *len = 0;
        return NULL;
    }
    if (PQftype(cur->res, i) != PG_BYTEA) return pg_col_text(dcur, i, len);
    if (!cur->bytes[i]) {
        size_t n = 0;
        cur->bytes[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(cur->res, cur->row, i), &n);
        cur->nbytes[i] = n;
    }
    if (len) *len = cur->bytes[i] ? cur->nbytes[i] : 0;
    return cur->bytes[i];
}

static int pg_col_is_null(struct db_cur *dcur, int i)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    return !pg__has(cur, i);
}

static json_t *pg_cur_row(struct db_cur *dcur)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    if (cur->row < 0 || cur->row >= cur->nrows) return NULL;
    return pg__row_json(cur->res, cur->row);
}

static void pg_done(struct db_cur *dcur)
{
    struct pg_cur *cur = (struct pg_cur *)dcur;
    pg__cur_free_bytes(cur);
    free(cur->bytes);
    free(cur->nbytes);
    PQclear(cur->res);
    free(cur);
}

/* ---- transactions ------------------------------------------------------- */

/* One round trip: the simple protocol runs both statements in order. */
static int pg_tx_begin(struct dbc *dc)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    static const char sql[] = "BEGIN ISOLATION LEVEL READ COMMITTED; "
                              "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")";
    /* PostgreSQL only warns about a BEGIN inside a transaction; SQLite
     * refuses it, and so does this (a nested write is a bug). */
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
        log_kv(LOG_WARN, "pg.error", "sqlstate", "none", "sql", "BEGIN",
               "note", "a transaction is already open", NULL);
        return SK_EDB;
    }
    PGresult *res = PQexec(c->conn, sql);
    int rc = res && pg__ok(res) ? 0 : pg__error(res, sql);
    PQclear(res);
    if (rc && PQtransactionStatus(c->conn) != PQTRANS_IDLE) PQclear(PQexec(c->conn, "ROLLBACK"));
    return rc;
}

/* COMMIT of a transaction that failed answers "ROLLBACK", not an error:
 * that is a failed commit too. */
static int pg_tx_commit(struct dbc *dc)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    PGresult *res = PQexec(c->conn, "COMMIT");
    int rc = 0;
    if (!res || !pg__ok(res)) {
        rc = pg__error(res, "COMMIT");
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        log_kv(LOG_WARN, "pg.error", "sqlstate", "none", "sql", "COMMIT",
               "note", "the transaction had failed: rolled back", NULL);
        rc = SK_EDB;
    }
    PQclear(res);
    return rc;
}

static void pg_tx_rollback(struct dbc *dc)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE) PQclear(PQexec(c->conn, "ROLLBACK"));
}

/* ---- COPY (bulk load, PostgreSQL only) --------------------------------- */

static int pg__is_pg(struct dbc *dc) { return dc->drv == &pg_driver; }

int db_pg_copy_begin(struct dbc *dc, const char *table, const char *cols)
{
    if (!pg__is_pg(dc)) return SK_EINVAL;
    struct pg_conn *c = (struct pg_conn *)dc;
    char sql[2048];
    int n = snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", table, cols);
    if (n < 0 || (size_t)n >= sizeof sql) return SK_ETOOBIG;
    PGresult *res = PQexec(c->conn, sql);
    int rc = res && PQresultStatus(res) == PGRES_COPY_IN ? 0 : pg__error(res, sql);
    PQclear(res);
    return rc;
}

int db_pg_copy_put(struct dbc *dc, const char *data, size_t len)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    if (len > INT32_MAX) return SK_ETOOBIG;
    return PQputCopyData(c->conn, data, (int)len) == 1 ? 0 : SK_EDB;
}

int db_pg_copy_end(struct dbc *dc, int rc)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    if (PQputCopyEnd(c->conn, rc ? "the copy was abandoned" : NULL) != 1) rc = SK_EDB;
    PGresult *res;
    while ((res = PQgetResult(c->conn))) {
        if (!rc && !pg__ok(res)) rc = pg__error(res, "COPY ... FROM STDIN");
        PQclear(res);
    }
    if (!rc) c->changes = 0;
    return rc;
}

/* The simple protocol runs a text of several statements in order and stops
 * at the first error (the caller's transaction then rolls back). */
static int pg_script(struct dbc *dc, const char *sql)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    PGresult *res = PQexec(c->conn, sql);
    int rc = res && pg__ok(res) ? 0 : pg__error(res, "(script)");
    PQclear(res);
    return rc;
}

static const struct db_driver pg_driver = {
    .name = "postgresql",
    .engine = DB_POSTGRES,
    .acquire = pg_acquire,
    .release = pg_release,
    .close = pg_close,
    .execv = pg_execv,
    .rowsv = pg_rowsv,
    .rowv = pg_rowv,
    .changes = pg_changes,
    .queryv = pg_queryv,
    .next = pg_next,
    .col_text = pg_col_text,
    .col_int = pg_col_int,
    .col_bytes = pg_col_bytes,
    .col_is_null = pg_col_is_null,
    .cur_row = pg_cur_row,
    .done = pg_done,
    .script = pg_script,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
};
