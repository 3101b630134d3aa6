/* test_strmap.c — the chained string map (src/util/strmap.{h,c}): put, get,
 * replace and delete; keys are copied; growth past many entries keeps every
 * entry reachable; iteration visits every entry exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *val(uintptr_t v) { return (void *)v; }

static void test_put_get_replace_del(void **state)
{
    (void)state;
    struct strmap m;
    assert_int_equal(strmap_init(&m), 0);
    assert_int_equal(m.count, 0);
    assert_null(strmap_get(&m, "a"));
    assert_null(strmap_del(&m, "a"));

    assert_int_equal(strmap_put(&m, "a", val(1)), 0);
    assert_int_equal(strmap_put(&m, "b", val(2)), 0);
    assert_int_equal(strmap_put(&m, "", val(3)), 0); /* the empty key is a key */
    assert_int_equal(m.count, 3);
    assert_ptr_equal(strmap_get(&m, "a"), val(1));
    assert_ptr_equal(strmap_get(&m, "b"), val(2));
    assert_ptr_equal(strmap_get(&m, ""), val(3));
    assert_null(strmap_get(&m, "A"));
    assert_null(strmap_get(&m, "ab"));

    /* replace: same key, new value, no new entry */
    assert_int_equal(strmap_put(&m, "a", val(10)), 0);
    assert_int_equal(m.count, 3);
    assert_ptr_equal(strmap_get(&m, "a"), val(10));

    /* del returns the value and forgets the key; others stay */
    assert_ptr_equal(strmap_del(&m, "a"), val(10));
    assert_int_equal(m.count, 2);
    assert_null(strmap_get(&m, "a"));
    assert_null(strmap_del(&m, "a"));
    assert_int_equal(m.count, 2);
    assert_ptr_equal(strmap_get(&m, "b"), val(2));
    assert_ptr_equal(strmap_del(&m, ""), val(3));
    assert_ptr_equal(strmap_del(&m, "b"), val(2));
    assert_int_equal(m.count, 0);

    /* a deleted key can come back */
    assert_int_equal(strmap_put(&m, "a", val(4)), 0);
    assert_ptr_equal(strmap_get(&m, "a"), val(4));
    assert_int_equal(m.count, 1);
    strmap_release(&m);
    assert_null(m.buckets);
    assert_int_equal(m.count, 0);
    strmap_release(&m); /* twice is harmless */
}

static void test_keys_are_copied(void **state)
{
    (void)state;
    struct strmap m;
    assert_int_equal(strmap_init(&m), 0);
    char key[32];
    snprintf(key, sizeof key, "cus_1|sto_1");
    assert_int_equal(strmap_put(&m, key, val(7)), 0);
    memset(key, 'z', sizeof key - 1);
    assert_ptr_equal(strmap_get(&m, "cus_1|sto_1"), val(7));
    assert_null(strmap_get(&m, key));
    /* a long key */
    char big[4096];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(strmap_put(&m, big, val(8)), 0);
    big[100] = 'j';
    assert_null(strmap_get(&m, big));
    big[100] = 'k';
    assert_ptr_equal(strmap_get(&m, big), val(8));
    /* NULL values are stored, though get cannot tell them from absence */
    assert_int_equal(strmap_put(&m, "nothing", NULL), 0);
    assert_int_equal(m.count, 3);
    strmap_release(&m);
}

static void test_growth_many_entries(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct strmap m;
    assert_int_equal(strmap_init(&m), 0);
    size_t initial = m.nbuckets;
    char key[32];
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        assert_int_equal(strmap_put(&m, key, val(i + 1)), 0);
        /* the invariant of strmap.c: a power of two, count <= nbuckets */
        assert_true(m.count <= m.nbuckets);
    }
    assert_int_equal(m.count, N);
    assert_true(m.nbuckets > initial);
    assert_int_equal(m.nbuckets & (m.nbuckets - 1), 0);
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        assert_ptr_equal(strmap_get(&m, key), val(i + 1));
    }
    snprintf(key, sizeof key, "key-%d", N);
    assert_null(strmap_get(&m, key));

    /* replace every third, delete every other, after growth */
    for (uintptr_t i = 0; i < N; i += 3) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        assert_int_equal(strmap_put(&m, key, val(i + 1000000)), 0);
    }
    assert_int_equal(m.count, N);
    size_t left = N;
    for (uintptr_t i = 0; i < N; i += 2) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        uintptr_t want = i % 3 ? i + 1 : i + 1000000;
        assert_ptr_equal(strmap_del(&m, key), val(want));
        left--;
    }
    assert_int_equal(m.count, left);
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%lu", (unsigned long)i);
        void *got = strmap_get(&m, key);
        if (i % 2 == 0)
            assert_null(got);
        else
            assert_ptr_equal(got, val(i % 3 ? i + 1 : i + 1000000));
    }
    strmap_release(&m);
}

/* Counts visits per entry by the value, which is the entry's index + 1. */
static void check_iteration(const struct strmap *m, size_t n, const unsigned char *present)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    assert_non_null(seen);
    size_t pos, visits = 0;
    char key[32];
    for (struct strmap_entry *e = strmap_first(m, &pos); e; e = strmap_next(m, &pos, e)) {
        uintptr_t v = (uintptr_t)e->value;
        assert_true(v >= 1 && v <= n);
        assert_true(present[v - 1]);
        assert_int_equal(seen[v - 1], 0); /* once */
        seen[v - 1] = 1;
        snprintf(key, sizeof key, "it-%lu", (unsigned long)(v - 1));
        assert_string_equal(e->key, key);
        visits++;
    }
    assert_int_equal(visits, m->count);
    for (size_t i = 0; i < n; i++) assert_int_equal(seen[i], present[i]);
    free(seen);
}

static void test_iteration_visits_each_once(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct strmap m;
    assert_int_equal(strmap_init(&m), 0);
    static unsigned char present[N];
    memset(present, 0, sizeof present);

    size_t pos;
    assert_null(strmap_first(&m, &pos)); /* empty */

    char key[32];
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "it-%lu", (unsigned long)i);
        assert_int_equal(strmap_put(&m, key, val(i + 1)), 0);
        present[i] = 1;
        /* at a few sizes, including right around growth */
        if (i == 0 || i == 63 || i == 64 || i == 65 || i == 128 || i == 1000)
            check_iteration(&m, N, present);
    }
    check_iteration(&m, N, present);
    /* replacing does not duplicate */
    for (uintptr_t i = 0; i < N; i += 7) {
        snprintf(key, sizeof key, "it-%lu", (unsigned long)i);
        assert_int_equal(strmap_put(&m, key, val(i + 1)), 0);
    }
    check_iteration(&m, N, present);
    /* after deletions */
    for (uintptr_t i = 0; i < N; i += 3) {
        snprintf(key, sizeof key, "it-%lu", (unsigned long)i);
        assert_non_null(strmap_del(&m, key));
        present[i] = 0;
    }
    check_iteration(&m, N, present);
    /* delete everything: iteration finds nothing */
    for (uintptr_t i = 0; i < N; i++) {
        if (!present[i]) continue;
        snprintf(key, sizeof key, "it-%lu", (unsigned long)i);
        assert_non_null(strmap_del(&m, key));
        present[i] = 0;
    }
    assert_int_equal(m.count, 0);
    assert_null(strmap_first(&m, &pos));
    strmap_release(&m);
}

static void test_collect_then_delete_pattern(void **state)
{
    (void)state;
    /* what recog.c does: collect matching keys while iterating, delete
     * after; the map ends with exactly the others */
    struct strmap m;
    assert_int_equal(strmap_init(&m), 0);
    char key[32];
    for (int c = 0; c < 40; c++)
        for (int s = 0; s < 10; s++) {
            snprintf(key, sizeof key, "cus_%d|sto_%d", c, s);
            assert_int_equal(strmap_put(&m, key, val((uintptr_t)(c * 10 + s + 1))), 0);
        }
    char *drop[400];
    size_t ndrop = 0, pos;
    for (struct strmap_entry *e = strmap_first(&m, &pos); e; e = strmap_next(&m, &pos, e))
        if (strncmp(e->key, "cus_7|", 6) == 0) drop[ndrop++] = strdup(e->key);
    assert_int_equal(ndrop, 10);
    for (size_t i = 0; i < ndrop; i++) {
        assert_non_null(strmap_del(&m, drop[i]));
        free(drop[i]);
    }
    assert_int_equal(m.count, 390);
    for (int s = 0; s < 10; s++) {
        snprintf(key, sizeof key, "cus_7|sto_%d", s);
        assert_null(strmap_get(&m, key));
        snprintf(key, sizeof key, "cus_17|sto_%d", s);
        assert_ptr_equal(strmap_get(&m, key), val((uintptr_t)(170 + s + 1)));
    }
    strmap_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_keys_are_copied),
        cmocka_unit_test(test_growth_many_entries),
        cmocka_unit_test(test_iteration_visits_each_once),
        cmocka_unit_test(test_collect_then_delete_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
