/*
 * test_limiter.c — unit tests for src/http/limiter.{h,c}: the same checks on
 * both backends, in memory and in the store (its windows in the rate_limits
 * table), the store ones on each engine: SQLite in a temporary directory,
 * and PostgreSQL in databases of their own when SHOPKEEPER_TEST_PG is set
 * (pgtest.h; skipped otherwise). Two limiters on one store stand for two
 * nodes sharing a database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/limiter.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"

#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC 1000000LL
#define T0 (1800000000LL * SEC)

struct fx {
    char dir[64], path[96]; /* SQLite */
    struct pgtest_db pg;    /* PostgreSQL */
    struct store *st;       /* NULL: the limiters count in memory */
};

static int fx_memory(void **state)
{
    *state = calloc(1, sizeof(struct fx));
    return *state ? 0 : -1;
}

static int fx_sqlite(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/sk_test_limiter_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/shopkeeper.db", f->dir);
    uint8_t master[CRYPTO_KEY_LEN];
    if (crypto_random(master, sizeof master)) return -1;
    char err[256];
    if (store_sqlite_open(f->path, master, &f->st, err, sizeof err)) {
        fprintf(stderr, "store_sqlite_open: %s\n", err);
        return -1;
    }
    return 0;
}

/* Without SHOPKEEPER_TEST_PG the state stays NULL and the test skips. */
static int fx_pg(void **state)
{
    *state = NULL;
    if (!pgtest_conninfo()) return 0;
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    uint8_t master[CRYPTO_KEY_LEN];
    if (crypto_random(master, sizeof master)) return -1;
    char err[512];
    if (pgtest_create("limiter", &f->pg, err, sizeof err) ||
        store_pg_open(f->pg.conninfo, NULL, master, &f->st, err, sizeof err)) {
        fprintf(stderr, "fx_pg: %s\n", err);
        return -1;
    }
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f) return 0;
    store_close(f->st);
    pgtest_drop(&f->pg);
    if (f->path[0]) {
        char p[160];
        const char *tails[] = {"", "-wal", "-shm", ".keys", ".keys-wal", ".keys-shm"};
        for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
            snprintf(p, sizeof p, "%s%s", f->path, tails[i]);
            unlink(p);
        }
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

/* The test's fixture; skips the test when its engine is not there. */
static struct fx *fx_of(void **state)
{
    struct fx *f = *state;
    if (!f) skip();
    return f;
}

static void test_take_until_the_limit(void **state)
{
    struct fx *f = fx_of(state);
    struct limiter l;
    assert_int_equal(limiter_init(&l, "login-addr", 3, 60 * SEC, 64, f->st), 0);
    int64_t wait = -1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(limiter_take(&l, "192.0.2.1", T0 + i * SEC, &wait), 0);
    assert_int_equal(wait, -1); /* untouched when allowed */
    assert_int_equal(limiter_take(&l, "192.0.2.1", T0 + 10 * SEC, &wait), SK_ERATE);
    assert_int_equal(wait, 50 * SEC); /* the window began at the first take */
    assert_int_equal(limiter_check(&l, "192.0.2.1", T0 + 20 * SEC, &wait), SK_ERATE);
    assert_int_equal(wait, 40 * SEC);
    /* another subject is free */
    assert_int_equal(limiter_check(&l, "192.0.2.2", T0 + 20 * SEC, &wait), 0);
    /* the window over: allowed again, a new window */
    assert_int_equal(limiter_take(&l, "192.0.2.1", T0 + 60 * SEC, &wait), 0);
    assert_int_equal(limiter_check(&l, "192.0.2.1", T0 + 61 * SEC, NULL), 0);
    limiter_release(&l);
}

static void test_hit_check_clear(void **state)
{
    struct fx *f = fx_of(state);
    struct limiter l;
    assert_int_equal(limiter_init(&l, "login-account", 2, 900 * SEC, 64, f->st), 0);
    const char *pair = "192.0.2.1|ann@example.com";
    assert_int_equal(limiter_check(&l, pair, T0, NULL), 0);
    assert_int_equal(limiter_hit(&l, pair, T0), 0);
    assert_int_equal(limiter_check(&l, pair, T0 + SEC, NULL), 0);
    assert_int_equal(limiter_hit(&l, pair, T0 + SEC), 0);
    int64_t wait = 0;
    assert_int_equal(limiter_check(&l, pair, T0 + 2 * SEC, &wait), SK_ERATE);
    assert_int_equal(wait, 898 * SEC);
    assert_int_equal(limiter_clear(&l, pair), 0);
    assert_int_equal(limiter_check(&l, pair, T0 + 3 * SEC, NULL), 0);
    assert_int_equal(limiter_clear(&l, "never seen"), 0);
    limiter_release(&l);
}

/* Two limiters of the same name on one store: two nodes sharing it. */
static void test_nodes_share_windows(void **state)
{
    struct fx *f = fx_of(state);
    if (!f->st) skip();
    struct limiter a, b, other;
    assert_int_equal(limiter_init(&a, "signup", 4, 3600 * SEC, 0, f->st), 0);
    assert_int_equal(limiter_init(&b, "signup", 4, 3600 * SEC, 0, f->st), 0);
    assert_int_equal(limiter_init(&other, "invite", 4, 3600 * SEC, 0, f->st), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(limiter_take(i % 2 ? &b : &a, "198.51.100.7", T0 + i, NULL), 0);
    assert_int_equal(limiter_take(&a, "198.51.100.7", T0 + 5, NULL), SK_ERATE);
    assert_int_equal(limiter_take(&b, "198.51.100.7", T0 + 6, NULL), SK_ERATE);
    /* a limit of another name counts apart */
    assert_int_equal(limiter_take(&other, "198.51.100.7", T0 + 7, NULL), 0);

    /* the sweep removes windows that are over, and only those */
    int64_t n = -1;
    assert_int_equal(f->st->ops->limits_sweep(f->st, T0 + 3599 * SEC, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(f->st->ops->limits_sweep(f->st, T0 + 3600 * SEC, &n), 0);
    assert_int_equal(n, 1); /* signup's; invite's began 7 us later */
    assert_int_equal(f->st->ops->limits_sweep(f->st, T0 + 3600 * SEC + 7, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(limiter_check(&a, "198.51.100.7", T0 + 3600 * SEC, NULL), 0);
    limiter_release(&a);
    limiter_release(&b);
    limiter_release(&other);
}

/* The store's op directly: the count and the window's start, a new window
 * once the last is over. */
static void test_store_hit_returns_count_and_start(void **state)
{
    struct fx *f = fx_of(state);
    if (!f->st) skip();
    int64_t hits = 0, start = 0;
    assert_int_equal(f->st->ops->limit_hit(f->st, "k|x", 10 * SEC, T0, &hits, &start), 0);
    assert_int_equal(hits, 1);
    assert_int_equal(start, T0);
    assert_int_equal(f->st->ops->limit_hit(f->st, "k|x", 10 * SEC, T0 + 9 * SEC, &hits, &start), 0);
    assert_int_equal(hits, 2);
    assert_int_equal(start, T0);
    assert_int_equal(f->st->ops->limit_get(f->st, "k|x", T0 + 9 * SEC, &hits, &start), 0);
    assert_int_equal(hits, 2);
    assert_int_equal(f->st->ops->limit_get(f->st, "k|x", T0 + 10 * SEC, &hits, &start), 0);
    assert_int_equal(hits, 0);
    assert_int_equal(start, T0 + 10 * SEC);
    assert_int_equal(f->st->ops->limit_hit(f->st, "k|x", 10 * SEC, T0 + 10 * SEC, &hits, &start),
                     0);
    assert_int_equal(hits, 1);
    assert_int_equal(start, T0 + 10 * SEC);
    assert_int_equal(f->st->ops->limit_hit(f->st, "k|x", 0, T0, &hits, &start), SK_EINVAL);
}

static void test_release_null_and_zeroed(void **state)
{
    (void)state;
    struct limiter l;
    memset(&l, 0, sizeof l);
    limiter_release(NULL);
    limiter_release(&l);
}

/* The checks on a store, on the fixture setup makes (fx_sqlite, fx_pg). */
#define T(test, setup) cmocka_unit_test_setup_teardown(test, setup, fx_teardown)
#define STORE_TESTS(setup)                                                               \
    T(test_take_until_the_limit, setup), T(test_hit_check_clear, setup),                 \
        T(test_nodes_share_windows, setup), T(test_store_hit_returns_count_and_start, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_take_until_the_limit, fx_memory),
        T(test_hit_check_clear, fx_memory),
        STORE_TESTS(fx_sqlite),
        cmocka_unit_test(test_release_null_and_zeroed),
    };
    int failed = cmocka_run_group_tests_name("memory and sqlite", tests, NULL, NULL);
    pgtest_say_skipped("test_limiter");
    const struct CMUnitTest pg_tests[] = {STORE_TESTS(fx_pg)};
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
    return failed;
}
