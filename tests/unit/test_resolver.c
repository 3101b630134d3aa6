/* test_resolver.c — the EID index: previous/current/next windows resolve,
 * farther ones do not; windows roll with time (across a temporary-key
 * boundary); the device's clock offset is honoured; removal is immediate;
 * a shared EID resolves to nobody and is counted; deletions keep every other
 * entry reachable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/eid.h"
#include "core/resolver.h"
#include "util/err.h"

#include <string.h>

static const uint8_t IK1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16};
static const uint8_t IK2[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static int resolves(struct resolver *r, const uint8_t ik[16], unsigned k, uint32_t devclock,
                    uint32_t *owner)
{
    uint8_t eid[8];
    assert_int_equal(eid_compute(ik, k, devclock, eid), 0);
    return resolver_lookup(r, eid, owner);
}

static void test_windows_around_now(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    uint32_t h, owner = 0;
    int64_t now = 1000000; /* server time; device clock = now + offset */
    uint32_t offset = (uint32_t)-999000; /* device clock reads 1000 */
    assert_int_equal(resolver_add(&r, IK1, 4, offset, 42, now, &h), 0);
    /* K = 4: 16 s windows; device clock 1000 is in window 62 (992..1007) */
    assert_int_equal(resolves(&r, IK1, 4, 1000, &owner), 0);
    assert_int_equal(owner, 42);
    assert_int_equal(resolves(&r, IK1, 4, 980, &owner), 0);  /* previous window */
    assert_int_equal(resolves(&r, IK1, 4, 1010, &owner), 0); /* next window */
    assert_int_equal(resolves(&r, IK1, 4, 960, &owner), SK_ENOTFOUND);
    assert_int_equal(resolves(&r, IK1, 4, 1030, &owner), SK_ENOTFOUND);
    /* the server clock value itself is not the device's clock */
    assert_int_equal(resolves(&r, IK1, 4, (uint32_t)now, &owner), SK_ENOTFOUND);
    resolver_release(&r);
}

static void test_refresh_rolls_windows_across_tk_boundary(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    uint32_t h, owner;
    int64_t now = 65536 - 100; /* offset 0: device clock = server clock */
    assert_int_equal(resolver_add(&r, IK2, 5, 0, 7, now, &h), 0);
    assert_int_equal(resolver_refresh(&r, now), 0);
    assert_int_equal(resolves(&r, IK2, 5, 65536 + 10, &owner), SK_ENOTFOUND);
    now = 65536 + 10; /* two windows later, new temporary key */
    assert_int_equal(resolver_refresh(&r, now), 1);
    assert_int_equal(resolves(&r, IK2, 5, 65536 + 10, &owner), 0);
    assert_int_equal(owner, 7);
    assert_int_equal(resolves(&r, IK2, 5, 65536 - 100, &owner), SK_ENOTFOUND);
    resolver_release(&r);
}

static void test_remove_is_immediate_and_slot_reused(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 2), 0);
    uint32_t h1, h2, h3, owner;
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 1, 5000, &h1), 0);
    assert_int_equal(resolver_add(&r, IK2, 10, 0, 2, 5000, &h2), 0);
    assert_int_equal(resolver_remove(&r, h1), 0);
    assert_int_equal(resolves(&r, IK1, 10, 5000, &owner), SK_ENOTFOUND);
    assert_int_equal(resolves(&r, IK2, 10, 5000, &owner), 0);
    assert_int_equal(owner, 2);
    assert_int_equal(resolver_remove(&r, h1), SK_ENOTFOUND);
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 3, 5000, &h3), 0);
    assert_int_equal(h3, h1);
    assert_int_equal(resolves(&r, IK1, 10, 5000, &owner), 0);
    assert_int_equal(owner, 3);
    resolver_release(&r);
}

static void test_collision_resolves_to_nobody(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 2), 0);
    uint32_t h1, h2, owner;
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 1, 5000, &h1), 0);
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 2, 5000, &h2), 0);
    assert_int_equal(resolves(&r, IK1, 10, 5000, &owner), SK_ECONFLICT);
    assert_int_equal(r.collisions, 3);
    resolver_release(&r);
}

static void test_many_devices_with_deletes(void **state)
{
    (void)state;
    struct resolver r;
    enum { N = 3000 };
    assert_int_equal(resolver_init(&r, 1, 16), 0); /* forces growth */
    static uint32_t handles[N];
    uint8_t ik[16] = {0};
    for (uint32_t i = 0; i < N; i++) {
        memcpy(ik, &i, sizeof i);
        assert_int_equal(resolver_add(&r, ik, 8, i * 7919u, i, 100000, &handles[i]), 0);
    }
    for (uint32_t i = 0; i < N; i += 2) assert_int_equal(resolver_remove(&r, handles[i]), 0);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t owner = 0;
        memcpy(ik, &i, sizeof i);
        int rc = resolves(&r, ik, 8, 100000 + i * 7919u, &owner);
        if (i % 2) {
            assert_int_equal(rc, 0);
            assert_int_equal(owner, i);
        } else {
            assert_int_equal(rc, SK_ENOTFOUND);
        }
    }
    assert_int_equal(r.used, (N / 2) * 3);
    resolver_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_around_now),
        cmocka_unit_test(test_refresh_rolls_windows_across_tk_boundary),
        cmocka_unit_test(test_remove_is_immediate_and_slot_reused),
        cmocka_unit_test(test_collision_resolves_to_nobody),
        cmocka_unit_test(test_many_devices_with_deletes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
