/* test_db.c — the behaviour a store needs from db.h, checked the same way
 * on every engine: each check takes a struct db * and knows nothing of the
 * engine beyond db_engine() for the one DDL type that differs.
 *
 * PostgreSQL: run when SHOPKEEPER_TEST_PG holds a connection string (""
 * means libpq's PG* variables, as scripts/with-pg.sh sets them for a
 * throwaway cluster; `make test` does that), skipped otherwise.
 * SQLite: a fresh file in /tmp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/db.h"
#include "util/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL 4
#define BIG INT64_C(9007199254740993) /* 2^53 + 1: a double would round it */

/* ---- the checks, engine-neutral --------------------------------------- */

/* Connections a check holds: a failed assertion jumps out of the check,
 * and the test's teardown gives back what it left, so that one failure
 * does not leave the pool short and hang the checks after it. */
static struct dbc *held[8];

static struct dbc *take(struct db *d)
{
    struct dbc *c = db_acquire(d);
    for (size_t i = 0; i < sizeof held / sizeof *held; i++) {
        if (!held[i]) {
            held[i] = c;
            break;
        }
    }
    return c;
}

static void give(struct db *d, struct dbc *c)
{
    for (size_t i = 0; i < sizeof held / sizeof *held; i++)
        if (held[i] == c) held[i] = NULL;
    db_release(d, c);
}

static int give_all(void **state)
{
    struct db *d = *(struct db **)*state;
    for (size_t i = 0; i < sizeof held / sizeof *held; i++) {
        if (held[i] && d) db_release(d, held[i]);
        held[i] = NULL;
    }
    return 0;
}

/* Fresh tables for each check. Names carry a prefix so that a run against
 * a real database cannot meet the service's tables. */
static void reset_tables(struct db *d)
{
    struct dbc *c = take(d);
    assert_int_equal(db_exec(c, "DROP TABLE IF EXISTS sk_test_items", NULL), 0);
    assert_int_equal(db_exec(c, "DROP TABLE IF EXISTS sk_test_counter", NULL), 0);
    assert_int_equal(db_exec(c,
                             db_engine(d) == DB_POSTGRES
                                 ? "CREATE TABLE sk_test_items (id BIGINT PRIMARY KEY, "
                                   "name TEXT NOT NULL UNIQUE, note TEXT, big BIGINT, data BYTEA)"
                                 : "CREATE TABLE sk_test_items (id INTEGER PRIMARY KEY, "
                                   "name TEXT NOT NULL UNIQUE, note TEXT, big BIGINT, data BLOB)",
                             NULL),
                     0);
    assert_int_equal(db_exec(c, "CREATE TABLE sk_test_counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
                             NULL),
                     0);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_counter (id, n) VALUES (1, 0)", NULL), 0);
    give(d, c);
}

static int64_t count_items(struct dbc *c)
{
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row, "SELECT COUNT(*) AS n FROM sk_test_items", NULL), 0);
    int64_t n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

/* Every format letter in, every column back: text, NULL text, a 64-bit
 * integer, bytes with a NUL and high bytes, empty bytes. */
static void check_formats(struct db *d)
{
    reset_tables(d);
    struct dbc *c = take(d);
    static const unsigned char blob[] = {0x00, 0xff, '\\', 'x', 0x80, 0x00, 0x7f};
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name, note, big, data) VALUES (?, ?, ?, ?, ?)",
                             "issib", (int64_t)1, "Jeff \xc3\xa9", (const char *)NULL, BIG,
                             (const void *)blob, sizeof blob),
                     0);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name, note, big, data) VALUES (?, ?, ?, ?, ?)",
                             "issib", (int64_t)2, "Anna", "it's \"quoted\" ?", (int64_t)-5,
                             (const void *)"", (size_t)0),
                     0);

    struct db_cur *cur = NULL;
    assert_int_equal(db_query(c, &cur, "SELECT id, name, note, big, data FROM sk_test_items ORDER BY id",
                              NULL),
                     0);
    assert_int_equal(db_next(cur), 1);
    assert_int_equal(db_col_int(cur, 0), 1);
    size_t len = 0;
    const char *name = db_col_text(cur, 1, &len);
    assert_non_null(name);
    assert_int_equal(len, strlen("Jeff \xc3\xa9"));
    assert_memory_equal(name, "Jeff \xc3\xa9", len);
    assert_true(db_col_is_null(cur, 2));
    assert_null(db_col_text(cur, 2, &len));
    assert_false(db_col_is_null(cur, 3));
    assert_true(db_col_int(cur, 3) == BIG);
    const void *bytes = db_col_bytes(cur, 4, &len);
    assert_int_equal(len, sizeof blob);
    assert_memory_equal(bytes, blob, sizeof blob);
    json_t *row = db_cur_row(cur);
    assert_non_null(row);
    assert_null(json_object_get(row, "data")); /* bytes are left out of rows */
    assert_true(json_is_null(json_object_get(row, "note")));
    assert_true(json_is_integer(json_object_get(row, "big")));
    assert_true(json_integer_value(json_object_get(row, "big")) == BIG);
    assert_string_equal(json_string_value(json_object_get(row, "name")), "Jeff \xc3\xa9");
    json_decref(row);

    assert_int_equal(db_next(cur), 1);
    assert_int_equal(db_col_int(cur, 3), -5);
    assert_string_equal(db_col_text(cur, 2, NULL), "it's \"quoted\" ?");
    db_col_bytes(cur, 4, &len);
    assert_int_equal(len, 0);
    assert_false(db_col_is_null(cur, 4)); /* empty bytes are not NULL */
    assert_int_equal(db_next(cur), 0);
    db_done(cur);

    /* the same rows through db_rows */
    json_t *rows = NULL;
    assert_int_equal(db_rows(c, &rows, "SELECT id, name, note, big FROM sk_test_items ORDER BY id", NULL),
                     0);
    assert_int_equal(json_array_size(rows), 2);
    json_t *r0 = json_array_get(rows, 0);
    assert_true(json_is_integer(json_object_get(r0, "id")));
    assert_true(json_integer_value(json_object_get(r0, "big")) == BIG);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "note")),
                        "it's \"quoted\" ?");
    json_decref(rows);
    give(d, c);
}

/* Types as JSON: integers (a 64-bit one through a parameter too), reals,
 * text that looks like a number stays text, NULL is null. */
static void check_json_types(struct db *d)
{
    struct dbc *c = take(d);
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row,
                            "SELECT ? AS big, 42 AS small, 1.5 AS r, CAST(? AS TEXT) AS digits, "
                            "CAST(NULL AS TEXT) AS missing" /* "nothing" is a keyword to SQLite */,
                            "is", BIG, "0123"),
                     0);
    assert_true(json_is_integer(json_object_get(row, "big")));
    assert_true(json_integer_value(json_object_get(row, "big")) == BIG);
    assert_true(json_is_integer(json_object_get(row, "small")));
    assert_int_equal(json_integer_value(json_object_get(row, "small")), 42);
    assert_true(json_is_real(json_object_get(row, "r")));
    assert_true(json_real_value(json_object_get(row, "r")) == 1.5);
    assert_true(json_is_string(json_object_get(row, "digits")));
    assert_string_equal(json_string_value(json_object_get(row, "digits")), "0123");
    assert_true(json_is_null(json_object_get(row, "missing")));
    json_decref(row);
    /* 64-bit arithmetic on a parameter */
    assert_int_equal(db_row(c, &row, "SELECT ? + 1 AS n", "i", BIG), 0);
    assert_true(json_integer_value(json_object_get(row, "n")) == BIG + 1);
    json_decref(row);
    give(d, c);
}

/* `?` numbers on from the highest so far, `?N` is N and may repeat, and a
 * `?` in a quoted string is text. */
static void check_placeholders(struct db *d)
{
    reset_tables(d);
    struct dbc *c = take(d);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name, note) VALUES (?2, ?1, ?1)", "si",
                             "same", (int64_t)7),
                     0);
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row, "SELECT id, name, note, '?' AS q FROM sk_test_items "
                                     "WHERE name = ?1 AND note = ?1 AND id = ?",
                            "si", "same", (int64_t)7),
                     0);
    assert_int_equal(json_integer_value(json_object_get(row, "id")), 7);
    assert_string_equal(json_string_value(json_object_get(row, "note")), "same");
    assert_string_equal(json_string_value(json_object_get(row, "q")), "?");
    json_decref(row);
    give(d, c);
}

/* A UNIQUE or PRIMARY KEY violation is SK_ECONFLICT and changes nothing;
 * inside a transaction it undoes only itself (a store may take a conflict
 * as "already there" and go on). */
static void check_conflict(struct db *d)
{
    reset_tables(d);
    struct dbc *c = take(d);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name, note) VALUES (1, 'a', 'first')", NULL),
                     0);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name, note) VALUES (2, ?, 'second')", "s",
                             "a"),
                     SK_ECONFLICT);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name) VALUES (1, 'b')", NULL), SK_ECONFLICT);
    assert_int_equal(db_exec(c, "UPDATE sk_test_items SET name = 'a' WHERE id = 1", NULL), 0);
    assert_int_equal(count_items(c), 1);
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row, "SELECT note FROM sk_test_items WHERE name = 'a'", NULL), 0);
    assert_string_equal(json_string_value(json_object_get(row, "note")), "first");
    json_decref(row);

    assert_int_equal(db_tx_begin(c), 0);
    int rc = db_exec(c, "INSERT INTO sk_test_items (id, name) VALUES (2, 'x')", NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name) VALUES (3, 'a')", NULL), SK_ECONFLICT);
    rc = db_exec(c, "INSERT INTO sk_test_items (id, name) VALUES (3, 'y')", NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(db_tx_end(c, rc), 0);
    assert_int_equal(count_items(c), 3);
    give(d, c);
}

/* db_row on no row is SK_ENOTFOUND and leaves *ret alone; db_rows gives
 * an empty array; a statement the engine refuses is SK_EDB. */
static void check_not_found(struct db *d)
{
    reset_tables(d);
    struct dbc *c = take(d);
    json_t *sentinel = json_string("untouched");
    json_t *row = sentinel;
    assert_int_equal(db_row(c, &row, "SELECT id FROM sk_test_items WHERE id = ?", "i", (int64_t)99),
                     SK_ENOTFOUND);
    assert_ptr_equal(row, sentinel);
    json_decref(sentinel);
    json_t *rows = NULL;
    assert_int_equal(db_rows(c, &rows, "SELECT id FROM sk_test_items", NULL), 0);
    assert_true(json_is_array(rows));
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    assert_int_equal(db_exec(c, "SELEC nonsense", NULL), SK_EDB);
    assert_int_equal(db_exec(c, "SELECT id FROM sk_test_no_such_table", NULL), SK_EDB);
    /* the connection is still good after an error */
    assert_int_equal(count_items(c), 0);
    give(d, c);
}

/* A transaction that ends with rc != 0 leaves nothing, and returns that
 * rc; one that ends with 0 keeps everything. */
static void check_transactions(struct db *d)
{
    reset_tables(d);
    struct dbc *c = take(d);
    assert_int_equal(db_tx_begin(c), 0);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name) VALUES (1, 'gone')", NULL), 0);
    assert_int_equal(db_exec(c, "UPDATE sk_test_counter SET n = 99", NULL), 0);
    assert_int_equal(count_items(c), 1); /* its own writes are visible to it */
    assert_int_equal(db_tx_begin(c), SK_EDB); /* no transaction inside one */
    assert_int_equal(count_items(c), 1);     /* and the open one goes on */
    assert_int_equal(db_tx_end(c, SK_EINVAL), SK_EINVAL);
    assert_int_equal(count_items(c), 0);
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row, "SELECT n FROM sk_test_counter", NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 0);
    json_decref(row);

    assert_int_equal(db_tx_begin(c), 0);
    assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name) VALUES (1, 'kept')", NULL), 0);
    assert_int_equal(db_tx_end(c, 0), 0);
    assert_int_equal(count_items(c), 1);
    give(d, c);
}

/* db_changes counts the rows of the last INSERT, UPDATE or DELETE. */
static void check_changes(struct db *d)
{
    reset_tables(d);
    struct dbc *c = take(d);
    for (int64_t i = 1; i <= 3; i++) {
        assert_int_equal(db_exec(c, "INSERT INTO sk_test_items (id, name, big) VALUES (?, ?, ?)", "isi", i,
                                 i == 1 ? "one" : i == 2 ? "two" : "three", i % 2),
                         0);
        assert_int_equal(db_changes(c), 1);
    }
    assert_int_equal(db_exec(c, "UPDATE sk_test_items SET note = 'odd' WHERE big = ?", "i", (int64_t)1), 0);
    assert_int_equal(db_changes(c), 2);
    assert_int_equal(db_exec(c, "DELETE FROM sk_test_items WHERE id > ?", "i", (int64_t)100), 0);
    assert_int_equal(db_changes(c), 0);
    assert_int_equal(db_exec(c, "DELETE FROM sk_test_items", NULL), 0);
    assert_int_equal(db_changes(c), 3);
    give(d, c);
}

/* Two threads each read the counter and write it + 1 inside a write
 * transaction, 200 times: a lost update shows as less than 400. */
#define ROUNDS 200

static void *counter_thread(void *arg)
{
    struct db *d = arg;
    intptr_t failures = 0;
    for (int i = 0; i < ROUNDS; i++) {
        struct dbc *c = db_acquire(d);
        int rc = db_tx_begin(c);
        if (rc) {
            failures++;
            db_release(d, c);
            continue;
        }
        json_t *row = NULL;
        rc = db_row(c, &row, "SELECT n FROM sk_test_counter WHERE id = 1", NULL);
        if (!rc) {
            int64_t n = json_integer_value(json_object_get(row, "n"));
            json_decref(row);
            if (i % 7 == 0) usleep(100); /* widen the window a lost update needs */
            rc = db_exec(c, "UPDATE sk_test_counter SET n = ? WHERE id = 1", "i", n + 1);
        }
        if (db_tx_end(c, rc)) failures++;
        db_release(d, c);
    }
    return (void *)failures;
}

static void check_writers_exclude(struct db *d)
{
    reset_tables(d);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, counter_thread, d), 0);
    intptr_t failures = 0;
    for (int i = 0; i < 2; i++) {
        void *f = NULL;
        pthread_join(t[i], &f);
        failures += (intptr_t)f;
    }
    assert_int_equal(failures, 0);
    struct dbc *c = take(d);
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row, "SELECT n FROM sk_test_counter WHERE id = 1", NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 2 * ROUNDS);
    json_decref(row);
    give(d, c);
}

/* ---- PostgreSQL ------------------------------------------------------- */

/* Each test gets &<engine>_db as its state and gives back, in its
 * teardown, any connection a failed assertion left it holding. */
#define DB_TEST(prefix, check)                                                               \
    cmocka_unit_test_prestate_setup_teardown(prefix##_##check, NULL, give_all, &prefix##_db)
#define ENGINE_TESTS(prefix)                                                                 \
    DB_TEST(prefix, formats), DB_TEST(prefix, json_types), DB_TEST(prefix, placeholders),    \
        DB_TEST(prefix, conflict), DB_TEST(prefix, not_found), DB_TEST(prefix, transactions), \
        DB_TEST(prefix, changes), DB_TEST(prefix, writers_exclude)

/* One cmocka test per check and engine; state is a struct db ** (NULL
 * inside when the engine is not there: skipped). */
#define ENGINE_CHECK(prefix, check)                                                          \
    static void prefix##_##check(void **state)                                               \
    {                                                                                        \
        struct db *d = *(struct db **)*state;                                                \
        if (!d) skip();                                                                      \
        check_##check(d);                                                                    \
    }
#define ENGINE_CHECKS(prefix)                                                                \
    ENGINE_CHECK(prefix, formats)                                                            \
    ENGINE_CHECK(prefix, json_types)                                                         \
    ENGINE_CHECK(prefix, placeholders)                                                       \
    ENGINE_CHECK(prefix, conflict)                                                           \
    ENGINE_CHECK(prefix, not_found)                                                          \
    ENGINE_CHECK(prefix, transactions)                                                       \
    ENGINE_CHECK(prefix, changes)                                                            \
    ENGINE_CHECK(prefix, writers_exclude)

static struct db *pg_db;
ENGINE_CHECKS(pg)

/* A connection the server dropped is found bad on acquire and reconnected:
 * one failed query, then work goes on. */
static void pg_reconnect(void **state)
{
    struct db *d = *(struct db **)*state;
    if (!d) skip();
    struct dbc *c = take(d);
    json_t *row = NULL;
    assert_int_equal(db_row(c, &row, "SELECT pg_backend_pid() AS pid", NULL), 0);
    int64_t pid = json_integer_value(json_object_get(row, "pid"));
    json_decref(row);
    assert_int_equal(db_exec(c, "SELECT pg_terminate_backend(pg_backend_pid())", NULL), SK_EDB);
    give(d, c);
    /* the pool hands out connections in order: take them all to be sure
     * of meeting the dropped one */
    struct dbc *all[POOL];
    for (int i = 0; i < POOL; i++) {
        all[i] = take(d);
        assert_int_equal(db_row(all[i], &row, "SELECT pg_backend_pid() AS pid", NULL), 0);
        assert_true(json_integer_value(json_object_get(row, "pid")) != pid);
        json_decref(row);
    }
    for (int i = 0; i < POOL; i++) give(d, all[i]);
}

/* Connection strings with a password that fail, to parse or to connect:
 * the message says why without the password. Needs no server (port 1 on
 * loopback refuses at once). */
static void pg_err_hides_password(void **state)
{
    (void)state;
    struct db *d = NULL;
    char err[512];
    static const char *const cases[] = {
        "host=127.0.0.1 port=1 user=u password=Hunter2Secret connect_timeout=2",
        "postgresql://u:Hunter2Secret@127.0.0.1:1/x?connect_timeout=2",
        "postgresql://u:Hunter2%zzSecret@127.0.0.1:1/x",     /* a bad %-escape */
        "host=127.0.0.1 password='Hunter2Secret unterminated", /* bad quoting */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err[0] = '\0';
        assert_true(db_pg_open(cases[i], 1, &d, err, sizeof err) < 0);
        assert_null(d);
        assert_true(err[0] != '\0');
        assert_null(strstr(err, "Hunter2"));
        assert_null(strstr(err, "Secret"));
    }
}

static int pg_setup(void **state)
{
    (void)state;
    const char *conninfo = getenv("SHOPKEEPER_TEST_PG");
    if (!conninfo) {
        printf("test_db: SHOPKEEPER_TEST_PG is not set: the PostgreSQL checks are skipped "
               "(make test runs them on a throwaway cluster: scripts/with-pg.sh)\n");
        return 0;
    }
    char err[512];
    if (db_pg_open(conninfo, POOL, &pg_db, err, sizeof err)) {
        printf("test_db: cannot open PostgreSQL: %s\n", err);
        return -1;
    }
    return 0;
}

static int pg_teardown(void **state)
{
    (void)state;
    if (pg_db) {
        struct dbc *c = db_acquire(pg_db);
        db_exec(c, "DROP TABLE IF EXISTS sk_test_items", NULL);
        db_exec(c, "DROP TABLE IF EXISTS sk_test_counter", NULL);
        db_release(pg_db, c);
    }
    db_close(pg_db);
    pg_db = NULL;
    return 0;
}

/* ---- SQLite: the same checks on the embedded engine --------------------- */
static struct db *sq_db;
static char sq_path[64];
ENGINE_CHECKS(sq)

static int sq_setup(void **state)
{
    (void)state;
    snprintf(sq_path, sizeof sq_path, "/tmp/sk_test_db_%ld.db", (long)getpid());
    char err[512];
    if (db_sqlite_open(sq_path, POOL, &sq_db, err, sizeof err)) {
        printf("test_db: cannot open SQLite: %s\n", err);
        return -1;
    }
    return 0;
}

static int sq_teardown(void **state)
{
    (void)state;
    db_close(sq_db);
    sq_db = NULL;
    char p[96];
    const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", sq_path, suffixes[i]);
        unlink(p);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest pg_tests[] = {
        ENGINE_TESTS(pg),
        DB_TEST(pg, reconnect),
        cmocka_unit_test(pg_err_hides_password),
    };
    int failed = cmocka_run_group_tests_name("postgresql", pg_tests, pg_setup, pg_teardown);
    const struct CMUnitTest sq_tests[] = {ENGINE_TESTS(sq)};
    failed += cmocka_run_group_tests_name("sqlite", sq_tests, sq_setup, sq_teardown);
    return failed;
}
