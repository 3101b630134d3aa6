/*
 * store_copy.c — `shopkeeper migrate-data`: a SQLite store copied into an
 * empty PostgreSQL one, the key store included, so that a growing chain can
 * move (store.h: store_copy).
 *
 * Invariants:
 *  1. Both stores are at the same schema version (each was migrated when it
 *     was opened, by the same program), so every table and column of the
 *     destination exists in the source. The destination's columns are the
 *     list: each is read from the source by name, and written as its
 *     destination type says (bigint, bytea, text).
 *  2. The destination must be empty — every table but schema_migrations, and
 *     the key store — else nothing is written (SK_ECONFLICT).
 *  3. The data is copied in one write transaction on the destination and
 *     the key store in one on the key store's database; rows are checked
 *     (a count per table, both sides) before either commits, and any
 *     failure rolls both back. The key store commits first: if the data's
 *     commit then failed, the keys are there without data, and a second run
 *     is refused by (2) until the key store is emptied (the message says so).
 *  4. Tables go in the order of their foreign keys (a referenced table
 *     first), taken from the destination's catalogue; rows are sent with
 *     COPY (db_pg_copy_*), the values escaped for COPY's text format.
 *     Sealed fields are copied as they are: the same master key opens them.
 *  5. Identity columns (suggestion_events.id) continue after the highest
 *     copied value.
 *  6. Copying writes no row of the outbox between nodes (0013): its
 *     triggers are off for the copy's transaction.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (256 * 1024)
#define PROGRESS_EVERY 2000

/* ---- COPY's text format ------------------------------------------------ */

struct copybuf {
    char *p;
    size_t n, cap;
};

static int cb_need(struct copybuf *b, size_t more)
{
    if (b->n + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : COPY_CHUNK;
    while (cap < b->n + more) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) return SK_ENOMEM;
    b->p = q;
    b->cap = cap;
    return 0;
}

static int cb_put(struct copybuf *b, const char *s, size_t len)
{
    if (cb_need(b, len)) return SK_ENOMEM;
    memcpy(b->p + b->n, s, len);
    b->n += len;
    return 0;
}

/* Text with COPY's escapes: backslash, tab, newline and carriage return. */
static int cb_text(struct copybuf *b, const char *s, size_t len)
{
    if (cb_need(b, 2 * len)) return SK_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        const char *esc = ch == '\\' ? "\\\\" : ch == '\t' ? "\\t" : ch == '\n' ? "\\n"
                        : ch == '\r' ? "\\r" : NULL;
        if (esc) {
            b->p[b->n++] = esc[0];
            b->p[b->n++] = esc[1];
        } else {
            b->p[b->n++] = ch;
        }
    }
    return 0;
}

/* bytea in hex: the value's text "\x0a1b..." with its backslash escaped. */
static int cb_bytes(struct copybuf *b, const unsigned char *v, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (cb_need(b, 3 + 2 * len)) return SK_ENOMEM;
    memcpy(b->p + b->n, "\\\\x", 3);
    b->n += 3;
    for (size_t i = 0; i < len; i++) {
        b->p[b->n++] = hex[v[i] >> 4];
        b->p[b->n++] = hex[v[i] & 15];
    }
    return 0;
}

/* ---- one table ---------------------------------------------------------- */

enum coltype { COL_TEXT, COL_INT, COL_BYTES };

struct table {
    char name[64];
    char cols[1024]; /* "a, b, c" */
    enum coltype type[32];
    int ncols;
    int64_t rows;    /* in the source */
    int identity;    /* index of an identity column, or -1 */
};

/* The destination's columns of t, in order. */
static int table_columns(struct dbc *dst, const char *schema, struct table *t)
{
    json_t *rows;
    int rc = db_rows(dst, &rows,
                     "SELECT column_name AS c, data_type AS t, is_identity AS i FROM "
                     "information_schema.columns WHERE table_schema = coalesce(?, "
                     "current_schema()) AND table_name = ? ORDER BY ordinal_position",
                     "ss", schema, t->name);
    if (rc) return rc;
    size_t i;
    json_t *r;
    t->ncols = 0;
    t->cols[0] = '\0';
    t->identity = -1;
    json_array_foreach(rows, i, r) {
        const char *c = json_string_value(json_object_get(r, "c"));
        const char *ty = json_string_value(json_object_get(r, "t"));
        if (t->ncols == (int)(sizeof t->type / sizeof t->type[0]) ||
            strlen(t->cols) + strlen(c) + 3 >= sizeof t->cols) {
            rc = SK_ETOOBIG;
            break;
        }
        t->type[t->ncols] = !strcmp(ty, "bytea")    ? COL_BYTES
                            : !strcmp(ty, "bigint") || !strcmp(ty, "integer") ? COL_INT
                                                                               : COL_TEXT;
        if (!strcmp(json_string_value(json_object_get(r, "i")), "YES")) t->identity = t->ncols;
        if (t->ncols) strcat(t->cols, ", ");
        strcat(t->cols, c);
        t->ncols++;
    }
    json_decref(rows);
    return rc ? rc : t->ncols ? 0 : SK_ENOTFOUND;
}

static int64_t count_rows(struct dbc *c, const char *table)
{
    char sql[160];
    json_t *row;
    snprintf(sql, sizeof sql, "SELECT count(*) AS n FROM %s", table);
    if (db_row(c, &row, sql, NULL)) return -1;
    int64_t n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

/* Copies src_table (on src) into dst_table (on dst) with COPY. */
static int copy_table(struct dbc *src, const char *src_table, struct dbc *dst,
                      const char *dst_table, const struct table *t, int64_t *done,
                      int64_t total, const struct copy_progress *pr)
{
    char sql[1400];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s", t->cols, src_table);
    struct db_cur *cur = NULL;
    int rc = db_query(src, &cur, sql, NULL);
    if (!rc) rc = db_pg_copy_begin(dst, dst_table, t->cols);
    if (rc) {
        db_done(cur);
        return rc;
    }
    struct copybuf b = {0};
    int64_t n = 0;
    int more;
    while (!rc && (more = db_next(cur)) == 1) {
        for (int i = 0; !rc && i < t->ncols; i++) {
            if (i) rc = cb_put(&b, "\t", 1);
            if (rc) break;
            if (db_col_is_null(cur, i)) {
                rc = cb_put(&b, "\\N", 2);
            } else if (t->type[i] == COL_INT) {
                char num[24];
                int len = snprintf(num, sizeof num, "%lld", (long long)db_col_int(cur, i));
                rc = cb_put(&b, num, (size_t)len);
            } else if (t->type[i] == COL_BYTES) {
                size_t len;
                const void *v = db_col_bytes(cur, i, &len);
                rc = cb_bytes(&b, v, len);
            } else {
                size_t len;
                const char *v = db_col_text(cur, i, &len);
                rc = cb_text(&b, v ? v : "", v ? len : 0);
            }
        }
        if (!rc) rc = cb_put(&b, "\n", 1);
        if (!rc && b.n >= COPY_CHUNK) {
            rc = db_pg_copy_put(dst, b.p, b.n);
            b.n = 0;
        }
        if (++n % PROGRESS_EVERY == 0 && pr && pr->fn) pr->fn(pr->cls, t->name, *done + n, total);
    }
    if (!rc && more < 0) rc = SK_EDB;
    if (!rc && b.n) rc = db_pg_copy_put(dst, b.p, b.n);
    free(b.p);
    db_done(cur);
    rc = db_pg_copy_end(dst, rc);
    *done += n;
    if (pr && pr->fn) pr->fn(pr->cls, t->name, *done, total);
    return rc;
}

/* ---- the order of the tables --------------------------------------------- */

/* The destination's tables (not schema_migrations), each after the tables
 * it references. */
static int table_order(struct dbc *dst, struct table **ret, int *ret_n)
{
    json_t *tabs = NULL, *refs = NULL;
    int rc = db_rows(dst, &tabs,
                     "SELECT table_name AS t FROM information_schema.tables WHERE table_schema "
                     "= current_schema() AND table_type = 'BASE TABLE' AND table_name <> "
                     "'schema_migrations' ORDER BY 1",
                     NULL);
    if (!rc)
        rc = db_rows(dst, &refs,
                     "SELECT DISTINCT c.conrelid::regclass::text AS t, "
                     "c.confrelid::regclass::text AS r FROM pg_constraint c WHERE c.contype = "
                     "'f' AND c.conrelid <> c.confrelid",
                     NULL);
    size_t n = json_array_size(tabs);
    struct table *out = rc ? NULL : calloc(n ? n : 1, sizeof *out);
    if (!rc && !out) rc = SK_ENOMEM;
    int *placed = rc ? NULL : calloc(n ? n : 1, sizeof *placed);
    if (!rc && !placed) rc = SK_ENOMEM;
    size_t k = 0;
    /* repeatedly place every table whose referenced tables are placed */
    while (!rc && k < n) {
        size_t before = k;
        for (size_t i = 0; i < n; i++) {
            if (placed[i]) continue;
            const char *name = json_string_value(json_object_get(json_array_get(tabs, i), "t"));
            int ready = 1;
            size_t j;
            json_t *r;
            json_array_foreach(refs, j, r) {
                if (strcmp(json_string_value(json_object_get(r, "t")), name)) continue;
                const char *dep = json_string_value(json_object_get(r, "r"));
                for (size_t m = 0; m < n; m++)
                    if (!placed[m] &&
                        !strcmp(json_string_value(json_object_get(json_array_get(tabs, m), "t")),
                                dep))
                        ready = 0;
            }
            if (!ready) continue;
            placed[i] = 1;
            snprintf(out[k++].name, sizeof out->name, "%s", name);
        }
        if (k == before) rc = SK_EINVAL; /* a cycle of foreign keys */
    }
    free(placed);
    json_decref(tabs);
    json_decref(refs);
    if (rc) {
        free(out);
        return rc;
    }
    *ret = out;
    *ret_n = (int)n;
    return 0;
}

/* ---- the copy ------------------------------------------------------------ */

int store_copy(struct store *from, struct store *to, const struct copy_progress *pr,
               json_t **ret, char *err, size_t errlen)
{
    struct st_store *s = ST(from), *d = ST(to);
    err[0] = '\0';
    if (db_engine(s->db) != DB_SQLITE || db_engine(d->db) != DB_POSTGRES || !d->keys) {
        snprintf(err, errlen, "migrate-data copies a SQLite store into a PostgreSQL one");
        return SK_EINVAL;
    }
    struct dbc *src = db_acquire(s->db), *dst = db_acquire(d->db), *kdst = db_acquire(d->keys);
    struct table *tabs = NULL, keys = {.name = "customer_keys"};
    int n = 0;
    int64_t total = 0, done = 0;
    json_t *counts = json_object();
    int rc = db_read_begin(src); /* one state of the source throughout */
    int reading = !rc;
    if (!rc) rc = table_order(dst, &tabs, &n);
    if (rc && !err[0]) snprintf(err, errlen, "cannot read the destination's tables");
    for (int i = 0; !rc && i < n; i++) {
        if ((rc = table_columns(dst, NULL, &tabs[i]))) {
            snprintf(err, errlen, "cannot read the columns of %s", tabs[i].name);
            break;
        }
        int64_t have = count_rows(dst, tabs[i].name);
        if (have != 0) {
            snprintf(err, errlen,
                     "the destination is not empty (%s holds %lld rows): migrate-data copies "
                     "into an empty database only",
                     tabs[i].name, (long long)have);
            rc = have < 0 ? SK_EDB : SK_ECONFLICT;
            break;
        }
        if ((tabs[i].rows = count_rows(src, tabs[i].name)) < 0) {
            snprintf(err, errlen, "the source has no table %s: is it from another version?",
                     tabs[i].name);
            rc = SK_EINVAL;
        }
        total += tabs[i].rows;
    }
    if (!rc && (rc = table_columns(kdst, "keys", &keys)))
        snprintf(err, errlen, "cannot read the key store's columns");
    if (!rc) {
        int64_t have = count_rows(kdst, "keys.customer_keys");
        keys.rows = count_rows(src, "keys.customer_keys");
        if (have != 0 || keys.rows < 0) {
            snprintf(err, errlen,
                     "the destination's key store is not empty (%lld keys): empty "
                     "keys.customer_keys there (no data refers to them) and run again",
                     (long long)have);
            rc = SK_ECONFLICT;
        }
        total += keys.rows;
    }

    /* the data, then the key store, each in one transaction */
    int data_tx = 0, keys_tx = 0;
    if (!rc && !(rc = db_tx_begin(dst))) data_tx = 1;
    /* copied rows are not changes a node must apply: the outbox's
     * triggers (0013_outbox.pg.sql) stay quiet in this transaction */
    if (!rc) rc = db_exec(dst, "SET LOCAL shopkeeper.outbox = 'off'", NULL);
    for (int i = 0; !rc && i < n; i++) {
        rc = copy_table(src, tabs[i].name, dst, tabs[i].name, &tabs[i], &done, total, pr);
        if (rc) {
            snprintf(err, errlen, "copying %s failed (the log says why)", tabs[i].name);
            break;
        }
        int64_t got = count_rows(dst, tabs[i].name);
        json_object_set_new(counts, tabs[i].name, json_integer(got));
        if (got != tabs[i].rows) {
            snprintf(err, errlen, "%s: %lld rows in the source but %lld copied", tabs[i].name,
                     (long long)tabs[i].rows, (long long)got);
            rc = SK_EDB;
        }
        if (!rc && tabs[i].identity >= 0) {
            char sql[400], col[64];
            const char *c = tabs[i].cols;
            for (int k = 0; k < tabs[i].identity; k++) c = strstr(c, ", ") + 2;
            snprintf(col, sizeof col, "%.*s", (int)strcspn(c, ","), c);
            snprintf(sql, sizeof sql,
                     "SELECT setval(pg_get_serial_sequence('%s', '%s'), coalesce(max(%s), 0) + "
                     "1, false) FROM %s",
                     tabs[i].name, col, col, tabs[i].name);
            json_t *row;
            if (!(rc = db_row(dst, &row, sql, NULL))) json_decref(row);
        }
    }
    if (!rc && !(rc = db_tx_begin(kdst))) keys_tx = 1;
    if (!rc) {
        rc = copy_table(src, "keys.customer_keys", kdst, "keys.customer_keys", &keys, &done,
                        total, pr);
        int64_t got = rc ? -1 : count_rows(kdst, "keys.customer_keys");
        json_object_set_new(counts, "keys.customer_keys", json_integer(got));
        if (!rc && got != keys.rows) {
            snprintf(err, errlen, "the key store: %lld keys in the source but %lld copied",
                     (long long)keys.rows, (long long)got);
            rc = SK_EDB;
        }
        if (rc && !err[0]) snprintf(err, errlen, "copying the key store failed");
    }
    if (keys_tx) rc = db_tx_end(kdst, rc);
    if (data_tx) {
        int drc = db_tx_end(dst, rc);
        if (drc && !rc) {
            snprintf(err, errlen,
                     "the data could not be committed after the key store was: empty "
                     "keys.customer_keys in the key store and run again");
            rc = drc;
        }
    }
    if (reading) db_read_end(src);
    db_release(d->keys, kdst);
    db_release(d->db, dst);
    db_release(s->db, src);
    free(tabs);
    if (rc) {
        json_decref(counts);
        if (!err[0]) snprintf(err, errlen, "%s", sk_strerror(rc));
        return rc;
    }
    *ret = json_pack("{s:I, s:o}", "rows", (json_int_t)done, "tables", counts);
    return 0;
}
