/* pgtest.h — a fresh PostgreSQL store for a unit test (issue 12): the
 * store-level tests (test_recog, test_limiter) run their cases on SQLite
 * and, when SHOPKEEPER_TEST_PG holds a connection string, on PostgreSQL
 * too. "" means libpq's PG* variables, as scripts/with-pg.sh sets them for
 * a throwaway cluster (`make test` does that); without the variable the
 * PostgreSQL half is skipped.
 *
 * Each test gets two databases of its own, made here and dropped after:
 * <name> for the data and <name>_keys for the key store (store_pg_open's
 * default), so every test starts from an empty store however the one
 * before it ended. The connection string for them is the one under test
 * with its dbname replaced (parsed by libpq, so a postgresql:// URI and
 * key=value pairs both work). */
#ifndef SK_TEST_PGTEST_H
#define SK_TEST_PGTEST_H

#include "store/db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pgtest_db {
    char name[64];        /* the data's database; the key store's is name + "_keys" */
    char conninfo[2048];  /* the connection string under test, on that database */
};

/* The connection string under test, or NULL: no PostgreSQL to test on. */
static inline const char *pgtest_conninfo(void) { return getenv("SHOPKEEPER_TEST_PG"); }

/* Appends key='val' (libpq's quoting: backslash before ' and \) to buf. */
static inline int pgtest__append(char *buf, size_t len, size_t *n, const char *key,
                                 const char *val)
{
    int w = snprintf(buf + *n, len - *n, "%s%s='", *n ? " " : "", key);
    if (w < 0 || (size_t)w >= len - *n) return -1;
    *n += (size_t)w;
    for (const char *p = val; *p; p++) {
        if (*n + 3 >= len) return -1;
        if (*p == '\'' || *p == '\\') buf[(*n)++] = '\\';
        buf[(*n)++] = *p;
    }
    if (*n + 2 > len) return -1;
    buf[(*n)++] = '\'';
    buf[*n] = '\0';
    return 0;
}

/* base with its dbname replaced by dbname, as key=value pairs. */
static inline int pgtest__conninfo_for(const char *base, const char *dbname, char *buf,
                                       size_t len)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &perr);
    PQfreemem(perr);
    if (!opts) return -1;
    size_t n = 0;
    int rc = 0;
    buf[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword && !rc; o++)
        if (o->val && o->val[0] && strcmp(o->keyword, "dbname") != 0)
            rc = pgtest__append(buf, len, &n, o->keyword, o->val);
    if (!rc) rc = pgtest__append(buf, len, &n, "dbname", dbname);
    PQconninfoFree(opts);
    return rc;
}

/* Runs one statement on the server under test, outside any transaction
 * (CREATE DATABASE must), on the database the connection string names. */
static inline int pgtest__admin(const char *sql, char *err, size_t errlen)
{
    struct db *d = NULL;
    if (db_pg_open(pgtest_conninfo(), 1, &d, err, errlen)) return -1;
    struct dbc *c = db_acquire(d);
    int rc = db_exec(c, sql, NULL);
    db_release(d, c);
    db_close(d);
    if (rc) snprintf(err, errlen, "PostgreSQL refused: %s", sql);
    return rc ? -1 : 0;
}

/* Makes the two empty databases of a test; tag names the test program. */
static inline int pgtest_create(const char *tag, struct pgtest_db *t, char *err, size_t errlen)
{
    static unsigned seq;
    const char *base = pgtest_conninfo();
    if (!base) {
        snprintf(err, errlen, "SHOPKEEPER_TEST_PG is not set");
        return -1;
    }
    snprintf(t->name, sizeof t->name, "sk_t_%s_%ld_%u", tag, (long)getpid(), ++seq);
    if (pgtest__conninfo_for(base, t->name, t->conninfo, sizeof t->conninfo)) {
        snprintf(err, errlen, "SHOPKEEPER_TEST_PG does not parse as a connection string");
        return -1;
    }
    char sql[160];
    for (int keys = 0; keys < 2; keys++) {
        snprintf(sql, sizeof sql, "CREATE DATABASE \"%s%s\"", t->name, keys ? "_keys" : "");
        if (pgtest__admin(sql, err, errlen)) return -1;
    }
    return 0;
}

/* Drops the test's databases (after the store on them is closed). */
static inline void pgtest_drop(struct pgtest_db *t)
{
    if (!t->name[0]) return;
    char sql[160], err[512];
    for (int keys = 0; keys < 2; keys++) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s%s\" WITH (FORCE)", t->name,
                 keys ? "_keys" : "");
        if (pgtest__admin(sql, err, sizeof err)) fprintf(stderr, "pgtest: %s\n", err);
    }
    t->name[0] = '\0';
}

/* Said once by a test program run without SHOPKEEPER_TEST_PG. */
static inline void pgtest_say_skipped(const char *prog)
{
    if (!pgtest_conninfo())
        printf("%s: SHOPKEEPER_TEST_PG is not set: the PostgreSQL half is skipped "
               "(make test runs it on a throwaway cluster: scripts/with-pg.sh)\n",
               prog);
}

#endif
