/* test_db_placeholders.c — the rewrite of SQLite-style placeholders to
 * PostgreSQL's (src/store/db.c): `?` counts on from the highest so far,
 * `?N` keeps its number, quotes and comments are left alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/db.h"

static void check(const char *in, const char *want, int want_n)
{
    char buf[256];
    assert_int_equal(db_placeholders_pg(in, buf, sizeof buf), want_n);
    assert_string_equal(buf, want);
}

static void test_rewrites(void **state)
{
    (void)state;
    check("SELECT 1", "SELECT 1", 0);
    check("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2", 2);
    check("UPDATE t SET a = ?2 WHERE id = ?1 OR owner = ?1", "UPDATE t SET a = $2 WHERE id = $1 OR owner = $1", 2);
    /* SQLite's rule: a bare ? after ?3 is ?4 */
    check("VALUES (?3, ?)", "VALUES ($3, $4)", 4);
    check("SELECT '?' || ? FROM \"odd?name\" -- why?\nWHERE x = ?",
          "SELECT '?' || $1 FROM \"odd?name\" -- why?\nWHERE x = $2", 2);
    check("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
}

static void test_refuses(void **state)
{
    (void)state;
    char small[8];
    assert_int_equal(db_placeholders_pg("SELECT ? + ?", small, sizeof small), -1);
    char buf[64];
    assert_int_equal(db_placeholders_pg("SELECT ?0", buf, sizeof buf), -1);
    assert_int_equal(db_placeholders_pg("SELECT ?99999", buf, sizeof buf), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrites),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
