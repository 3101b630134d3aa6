/* test_ids.c — unit tests for src/util/ids.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/crypto.h"
#include "util/ids.h"

#include <stdlib.h>
#include <string.h>

#define MANY 2000

static int is_lower_hex(const char *s, size_t n)
{
    return strspn(s, "0123456789abcdef") == n && s[n] == '\0';
}

static void test_id_shape(void **state)
{
    (void)state;
    char id[ID_MAX];
    memset(id, 'x', sizeof id);
    assert_int_equal(id_new("cus", id), 0);
    /* "cus_" + 12 hex ms + 4 hex counter + 12 hex random */
    assert_int_equal(strlen(id), 4 + 28);
    assert_int_equal(strncmp(id, "cus_", 4), 0);
    assert_true(is_lower_hex(id + 4, 28));
    assert_int_equal(id_is_plausible(id), 1);

    assert_int_equal(id_new("brand", id), 0);
    assert_int_equal(strncmp(id, "brand_", 6), 0);
    assert_int_equal(strlen(id), 6 + 28);
    assert_true(is_lower_hex(id + 6, 28));
}

static void test_id_time_prefix(void **state)
{
    (void)state;
    char id[ID_MAX];
    assert_int_equal(id_new("x", id), 0);
    /* The first 12 hex digits are the current time in milliseconds. */
    char ms_hex[13];
    memcpy(ms_hex, id + 2, 12);
    ms_hex[12] = '\0';
    unsigned long long ms = strtoull(ms_hex, NULL, 16);
    assert_true(ms > 1600000000000ULL); /* after 2020 */
    assert_true(ms < 4102444800000ULL); /* before 2100 */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_id_unique_and_ordered(void **state)
{
    (void)state;
    char (*ids)[ID_MAX] = calloc(MANY, ID_MAX);
    char (*sorted)[ID_MAX] = calloc(MANY, ID_MAX);
    assert_non_null(ids);
    assert_non_null(sorted);
    for (size_t i = 0; i < MANY; i++) {
        assert_int_equal(id_new("evt", ids[i]), 0);
        assert_int_equal(strncmp(ids[i], "evt_", 4), 0);
    }
    /* Made in sequence, they sort in creation order (strictly: unique). */
    for (size_t i = 1; i < MANY; i++)
        if (strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("ids out of order: %s then %s", ids[i - 1], ids[i]);

    /* Uniqueness, checked independently of order. */
    memcpy(sorted, ids, (size_t)MANY * ID_MAX);
    qsort(sorted, MANY, ID_MAX, cmp_str);
    for (size_t i = 1; i < MANY; i++) assert_string_not_equal(sorted[i - 1], sorted[i]);

    /* The random tails differ too (not just the counter). */
    int same_tail = 0;
    for (size_t i = 1; i < MANY; i++) same_tail += strcmp(ids[i - 1] + 20, ids[i] + 20) == 0;
    assert_true(same_tail < 5);
    free(ids);
    free(sorted);
}

static void test_token_new(void **state)
{
    (void)state;
    char t1[TOKEN_MAX], t2[TOKEN_MAX];
    assert_int_equal(token_new(t1), 0);
    assert_int_equal(token_new(t2), 0);
    assert_int_equal(strncmp(t1, "sk_", 3), 0);
    /* 256 random bits in unpadded base64url: 43 characters. */
    assert_true(strlen(t1) - 3 >= 43);
    assert_int_equal(strlen(t1), 3 + 43);
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_int_equal(strspn(t1 + 3, alpha), 43);
    assert_string_not_equal(t1, t2);
    assert_int_equal(id_is_plausible(t1), 1);
}

static void test_token_hash(void **state)
{
    (void)state;
    char h1[TOKEN_HASH_MAX], h2[TOKEN_HASH_MAX], h3[TOKEN_HASH_MAX];
    token_hash("sk_abc", h1);
    token_hash("sk_abc", h2);
    token_hash("sk_abd", h3);
    assert_int_equal(strlen(h1), 64);
    assert_true(is_lower_hex(h1, 64));
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);

    /* It is SHA-256 of the token text. */
    token_hash("abc", h1);
    assert_string_equal(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    token_hash("", h1);
    assert_string_equal(h1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    char t[TOKEN_MAX];
    assert_int_equal(token_new(t), 0);
    token_hash(t, h1);
    token_hash(t, h2);
    assert_string_equal(h1, h2);
    assert_true(is_lower_hex(h1, 64));
}

static void test_id_is_plausible(void **state)
{
    (void)state;
    assert_int_equal(id_is_plausible("a"), 1);
    assert_int_equal(id_is_plausible("cus_0190a1b2c3d40001a1b2c3d4e5f6"), 1);
    assert_int_equal(id_is_plausible("corner-cafe"), 1);
    assert_int_equal(id_is_plausible("ABC_xyz-09"), 1);

    assert_int_equal(id_is_plausible(""), 0);
    assert_int_equal(id_is_plausible("a b"), 0);
    assert_int_equal(id_is_plausible("a/b"), 0);
    assert_int_equal(id_is_plausible("../etc"), 0);
    assert_int_equal(id_is_plausible("a.b"), 0);
    assert_int_equal(id_is_plausible("a%20"), 0);
    assert_int_equal(id_is_plausible("caf\xc3\xa9"), 0);
    assert_int_equal(id_is_plausible("a\n"), 0);

    char s[66];
    memset(s, 'a', 64);
    s[64] = '\0';
    assert_int_equal(id_is_plausible(s), 1);
    s[64] = 'a';
    s[65] = '\0';
    assert_int_equal(id_is_plausible(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_shape),
        cmocka_unit_test(test_id_time_prefix),
        cmocka_unit_test(test_id_unique_and_ordered),
        cmocka_unit_test(test_token_new),
        cmocka_unit_test(test_token_hash),
        cmocka_unit_test(test_id_is_plausible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
