/* test_resolver.c — the EID index: previous/current/next windows resolve,
 * farther ones do not; windows roll with time (across a temporary-key
 * boundary); the device's clock offset is honoured; removal is immediate;
 * a shared EID resolves to nobody and is counted; deletions keep every other
 * entry reachable; clock drift of less than a window is tolerated (and with
 * tolerance 0 only the current window resolves); counter-code lookups by the
 * 40-bit prefix; the 32-bit device clock wrapping past 2^32. */
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

/* ---- clock drift ------------------------------------------------------- */

/* A device registered with offset 'offset' whose clock has since drifted by
 * drift seconds (ahead > 0, behind < 0) broadcasts the EID of
 * now + offset + drift. */
static int resolves_drifted(struct resolver *r, const uint8_t ik[16], unsigned k, uint32_t offset,
                            int64_t now, int32_t drift, uint32_t *owner)
{
    return resolves(r, ik, k, (uint32_t)((uint64_t)now + offset + (uint32_t)drift), owner);
}

static void test_drift_within_one_window_resolves(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    const unsigned k = 6; /* 64 s windows */
    const int32_t win = 1 << k;
    const uint32_t offset = 123456789u;
    int64_t start = 1700000000;
    uint32_t h, owner;
    assert_int_equal(resolver_add(&r, IK1, k, offset, 5, start, &h), 0);
    /* over several windows of server time, refreshed as the service does,
     * every drift of less than one window either way resolves */
    for (int64_t now = start; now < start + 6 * win; now += 5) {
        resolver_refresh(&r, now);
        for (int32_t drift = -(win - 1); drift <= win - 1; drift += 3) {
            owner = 0;
            int rc = resolves_drifted(&r, IK1, k, offset, now, drift, &owner);
            if (rc) fail_msg("now %lld drift %d: rc %d", (long long)(now - start), drift, rc);
            assert_int_equal(owner, 5);
        }
        assert_int_equal(resolves_drifted(&r, IK1, k, offset, now, win - 1, &owner), 0);
        assert_int_equal(resolves_drifted(&r, IK1, k, offset, now, -(win - 1), &owner), 0);
        /* two windows or more away is never live */
        assert_int_equal(resolves_drifted(&r, IK1, k, offset, now, 2 * win, &owner), SK_ENOTFOUND);
        assert_int_equal(resolves_drifted(&r, IK1, k, offset, now, -2 * win, &owner),
                         SK_ENOTFOUND);
    }
    resolver_release(&r);
}

static void test_tolerance_zero_only_current_window(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 0, 4), 0);
    assert_int_equal(r.width, 1);
    const unsigned k = 6;
    const uint32_t win = 1u << k;
    const uint32_t offset = 77u;
    int64_t now = 1700000000;
    uint32_t h, owner = 0;
    assert_int_equal(resolver_add(&r, IK2, k, offset, 9, now, &h), 0);
    uint32_t t = (uint32_t)((uint64_t)now + offset);
    uint32_t first = (t >> k) << k, last = first + win - 1;
    /* every clock value in the current window resolves */
    for (uint32_t c = first; c <= last; c++) {
        owner = 0;
        assert_int_equal(resolves(&r, IK2, k, c, &owner), 0);
        assert_int_equal(owner, 9);
    }
    /* one second either side of it does not */
    assert_int_equal(resolves(&r, IK2, k, first - 1, &owner), SK_ENOTFOUND);
    assert_int_equal(resolves(&r, IK2, k, last + 1, &owner), SK_ENOTFOUND);
    assert_int_equal(resolves(&r, IK2, k, first - win, &owner), SK_ENOTFOUND);
    assert_int_equal(resolves(&r, IK2, k, last + win, &owner), SK_ENOTFOUND);
    assert_int_equal(r.used, 1);
    /* the window rolls: now only the new one */
    now += (int64_t)(last + 1 - t);
    assert_int_equal(resolver_refresh(&r, now), 1);
    assert_int_equal(resolves(&r, IK2, k, last + 1, &owner), 0);
    assert_int_equal(resolves(&r, IK2, k, last, &owner), SK_ENOTFOUND);
    assert_int_equal(r.used, 1);
    resolver_release(&r);
}

static void test_tolerance_bounds(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, RESOLVER_TOLERANCE_MAX + 1, 4), SK_EINVAL);
    assert_int_equal(resolver_init(&r, RESOLVER_TOLERANCE_MAX, 4), 0);
    uint32_t h, owner;
    const unsigned k = 4;
    assert_int_equal(resolver_add(&r, IK1, k, 0, 3, 100000, &h), 0);
    assert_int_equal(r.used, 2 * RESOLVER_TOLERANCE_MAX + 1);
    int32_t w = 1 << k;
    for (int32_t d = -RESOLVER_TOLERANCE_MAX; d <= RESOLVER_TOLERANCE_MAX; d++)
        assert_int_equal(resolves(&r, IK1, k, (uint32_t)(100000 + d * w), &owner), 0);
    assert_int_equal(resolves(&r, IK1, k, (uint32_t)(100000 + (RESOLVER_TOLERANCE_MAX + 1) * w),
                              &owner),
                     SK_ENOTFOUND);
    assert_int_equal(resolves(&r, IK1, k, (uint32_t)(100000 - (RESOLVER_TOLERANCE_MAX + 1) * w),
                              &owner),
                     SK_ENOTFOUND);
    assert_int_equal(resolver_add(&r, IK2, EID_K_MAX + 1, 0, 4, 100000, &h), SK_EINVAL);
    resolver_release(&r);
}

/* ---- counter-code (40-bit prefix) lookups -------------------------------- */

static uint64_t prefix_of(const uint8_t ik[16], unsigned k, uint32_t devclock)
{
    uint8_t eid[8];
    assert_int_equal(eid_compute(ik, k, devclock, eid), 0);
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) v = v << 8 | eid[i];
    return v;
}

/* resolver_lookup_prefix of the code of ik's EID at device clock t. */
static int code_resolves(struct resolver *r, const uint8_t ik[16], unsigned k, uint32_t t,
                         uint32_t *owner)
{
    return resolver_lookup_prefix(r, prefix_of(ik, k, t), owner);
}

static void test_prefix_lookup_finds_live_windows(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 8), 0);
    const unsigned k = 8;
    const uint32_t win = 1u << k;
    int64_t now = 1700000000;
    uint32_t h1, h2, owner;
    assert_int_equal(resolver_add(&r, IK1, k, 1000, 11, now, &h1), 0);
    assert_int_equal(resolver_add(&r, IK2, k, 5000000, 22, now, &h2), 0);
    uint32_t t1 = (uint32_t)(now + 1000), t2 = (uint32_t)(now + 5000000);
    for (int w = -1; w <= 1; w++) {
        owner = 0;
        assert_int_equal(code_resolves(&r, IK1, k, t1 + (uint32_t)w * win, &owner), 0);
        assert_int_equal(owner, 11);
        owner = 0;
        assert_int_equal(code_resolves(&r, IK2, k, t2 + (uint32_t)w * win, &owner), 0);
        assert_int_equal(owner, 22);
    }
    /* windows that are not live, and the other device's clock, do not */
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(IK1, k, t1 + 2 * win), &owner),
                     SK_ENOTFOUND);
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(IK1, k, t1 - 2 * win), &owner),
                     SK_ENOTFOUND);
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(IK1, k, t2), &owner), SK_ENOTFOUND);
    /* the low 24 bits of the EID are not part of the lookup: the full EID
     * as a number is not a prefix */
    uint8_t eid[8];
    assert_int_equal(eid_compute(IK1, k, t1, eid), 0);
    uint64_t full = 0;
    for (int i = 0; i < 8; i++) full = full << 8 | eid[i];
    assert_int_equal(resolver_lookup_prefix(&r, full, &owner), SK_ENOTFOUND);

    /* removal is immediate for codes too; the other device is untouched */
    assert_int_equal(resolver_remove(&r, h1), 0);
    for (int w = -1; w <= 1; w++) {
        assert_int_equal(code_resolves(&r, IK1, k, t1 + (uint32_t)w * win, &owner), SK_ENOTFOUND);
        assert_int_equal(code_resolves(&r, IK2, k, t2 + (uint32_t)w * win, &owner), 0);
        assert_int_equal(owner, 22);
    }

    /* the windows roll for codes as for EIDs */
    now += 3 * win;
    assert_int_equal(resolver_refresh(&r, now), 1);
    t2 = (uint32_t)(now + 5000000);
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(IK2, k, t2), &owner), 0);
    assert_int_equal(owner, 22);
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(IK2, k, t2 - 3 * win), &owner),
                     SK_ENOTFOUND);
    resolver_release(&r);
}

/* Identity keys of the form 0..3: i big-endian, 4..15: a fixed pattern. */
static void ik_numbered(uint32_t i, uint8_t ik[16])
{
    for (int b = 0; b < 16; b++) ik[b] = (uint8_t)(0x5a ^ (b * 17));
    ik[0] = (uint8_t)(i >> 24);
    ik[1] = (uint8_t)(i >> 16);
    ik[2] = (uint8_t)(i >> 8);
    ik[3] = (uint8_t)i;
}

static void test_prefix_shared_by_two_devices_conflicts(void **state)
{
    (void)state;
    /* Found by a search over ik_numbered keys with K = 10 (birthday bound
     * over ~2^21 EIDs): device 18445 in window 8 and device 78325 in window
     * 9 have EIDs that differ but share their top 40 bits 0x10507c395c. */
    const unsigned k = 10;
    const uint64_t shared = UINT64_C(0x10507c395c);
    uint8_t ika[16], ikb[16], ea[8], eb[8];
    ik_numbered(18445, ika);
    ik_numbered(78325, ikb);
    uint32_t ta = 8 * 1024 + 500, tb = 9 * 1024 + 100;
    assert_int_equal(eid_compute(ika, k, ta, ea), 0);
    assert_int_equal(eid_compute(ikb, k, tb, eb), 0);
    assert_int_equal(prefix_of(ika, k, ta), shared);
    assert_int_equal(prefix_of(ikb, k, tb), shared);
    assert_memory_not_equal(ea, eb, 8);

    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    int64_t now = 1700000000;
    uint32_t ha, hb, owner;
    /* A's current window and B's previous window hold the shared prefix */
    assert_int_equal(resolver_add(&r, ika, k, ta - (uint32_t)now, 1, now, &ha), 0);
    assert_int_equal(resolver_add(&r, ikb, k, tb + 1024 - (uint32_t)now, 2, now, &hb), 0);
    /* full EIDs still tell them apart; nothing is counted as a collision */
    assert_int_equal(resolver_lookup(&r, ea, &owner), 0);
    assert_int_equal(owner, 1);
    assert_int_equal(resolver_lookup(&r, eb, &owner), 0);
    assert_int_equal(owner, 2);
    assert_int_equal(r.collisions, 0);
    /* the code is ambiguous: nobody */
    owner = 77;
    assert_int_equal(resolver_lookup_prefix(&r, shared, &owner), SK_ECONFLICT);
    assert_int_equal(owner, 77);
    /* codes of their other windows are not */
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(ika, k, ta + 1024), &owner), 0);
    assert_int_equal(owner, 1);
    assert_int_equal(resolver_lookup_prefix(&r, prefix_of(ikb, k, tb + 1024), &owner), 0);
    assert_int_equal(owner, 2);
    /* once one of them is gone, the code is the other's */
    assert_int_equal(resolver_remove(&r, ha), 0);
    assert_int_equal(resolver_lookup_prefix(&r, shared, &owner), 0);
    assert_int_equal(owner, 2);
    assert_int_equal(resolver_remove(&r, hb), 0);
    assert_int_equal(resolver_lookup_prefix(&r, shared, &owner), SK_ENOTFOUND);
    assert_int_equal(r.used, 0);
    resolver_release(&r);
}

static void test_prefix_of_a_collided_eid_conflicts(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    uint32_t h1, h2, owner = 99;
    /* the same key twice: every live EID is shared */
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 1, 5000, &h1), 0);
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 2, 5000, &h2), 0);
    for (int w = -1; w <= 1; w++)
        assert_int_equal(code_resolves(&r, IK1, 10, (uint32_t)(5000 + w * 1024), &owner),
                         SK_ECONFLICT);
    assert_int_equal(owner, 99);
    resolver_release(&r);
}

static void test_prefix_lookup_many_devices(void **state)
{
    (void)state;
    /* every device's code resolves to it among many, with deletions and
     * table growth in between */
    struct resolver r;
    enum { N = 2000 };
    assert_int_equal(resolver_init(&r, 1, 8), 0);
    static uint32_t handles[N];
    uint8_t ik[16];
    int64_t now = 1700000000;
    for (uint32_t i = 0; i < N; i++) {
        ik_numbered(i + 1000000, ik);
        assert_int_equal(resolver_add(&r, ik, 7, i * 104729u, i, now, &handles[i]), 0);
    }
    for (uint32_t i = 0; i < N; i += 3) assert_int_equal(resolver_remove(&r, handles[i]), 0);
    for (uint32_t i = 0; i < N; i++) {
        ik_numbered(i + 1000000, ik);
        uint32_t owner = UINT32_MAX;
        int rc = code_resolves(&r, ik, 7, (uint32_t)(now + i * 104729u), &owner);
        if (i % 3 == 0) {
            assert_int_equal(rc, SK_ENOTFOUND);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(owner, i);
        }
    }
    resolver_release(&r);
}

/* ---- 32-bit device clock wrap-around ----------------------------------- */

static void test_refresh_across_device_clock_wrap(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    const unsigned k = 5; /* 32 s windows */
    int64_t now = 1700000000;
    /* the device clock reads 2^32 - 40 now: two windows before it wraps */
    uint32_t offset = (uint32_t)(UINT64_C(0x100000000) - 40 - (uint64_t)now);
    uint32_t h, owner = 0;
    assert_int_equal(resolver_add(&r, IK1, k, offset, 8, now, &h), 0);
    assert_int_equal(resolver_device_clock(&r.dev[h], now), UINT32_MAX - 39);
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX - 39, &owner), 0);
    assert_int_equal(owner, 8);
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX - 39 - 32, &owner), 0); /* previous */
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX - 5, &owner), 0);       /* next: the last */
    assert_int_equal(resolves(&r, IK1, k, 3, &owner), SK_ENOTFOUND);        /* after the wrap */

    /* 20 s later: the last window before the wrap; its next is window 0 */
    now += 20;
    assert_int_equal(resolver_refresh(&r, now), 1);
    assert_int_equal(resolver_device_clock(&r.dev[h], now), UINT32_MAX - 19);
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX - 19, &owner), 0);
    assert_int_equal(resolves(&r, IK1, k, 3, &owner), 0); /* next, after the wrap */
    assert_int_equal(owner, 8);
    assert_int_equal(resolves(&r, IK1, k, 40, &owner), SK_ENOTFOUND);

    /* its very last second, then its first after the wrap */
    now += 19;
    assert_int_equal(resolver_refresh(&r, now), 0);
    assert_int_equal(resolver_device_clock(&r.dev[h], now), UINT32_MAX);
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX, &owner), 0);
    now += 1;
    assert_int_equal(resolver_refresh(&r, now), 1);
    assert_int_equal(resolver_device_clock(&r.dev[h], now), 0);
    assert_int_equal(resolves(&r, IK1, k, 0, &owner), 0);
    assert_int_equal(owner, 8);

    /* 10 s later: the device clock reads 10, still window 0 */
    now += 10;
    assert_int_equal(resolver_refresh(&r, now), 0);
    assert_int_equal(resolver_device_clock(&r.dev[h], now), 10);
    assert_int_equal(resolves(&r, IK1, k, 10, &owner), 0);
    assert_int_equal(owner, 8);
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX - 19, &owner), 0); /* previous, before */
    assert_int_equal(resolves(&r, IK1, k, 40, &owner), 0);              /* next */
    assert_int_equal(resolves(&r, IK1, k, UINT32_MAX - 39, &owner), SK_ENOTFOUND);
    assert_int_equal(resolver_refresh(&r, now), 0);

    /* and keeps going */
    now += 64;
    assert_int_equal(resolver_refresh(&r, now), 1);
    assert_int_equal(resolves(&r, IK1, k, 74, &owner), 0);
    assert_int_equal(resolves(&r, IK1, k, 10, &owner), SK_ENOTFOUND);
    assert_int_equal(r.used, 3);
    resolver_release(&r);
}

static void test_device_added_right_after_wrap_with_drift(void **state)
{
    (void)state;
    /* a device whose clock just wrapped, running 31 s behind: the EID it
     * sends is from before the wrap, and resolves */
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    const unsigned k = 5;
    int64_t now = 4000000000LL + 123; /* server time itself past 2^31 */
    uint32_t offset = (uint32_t)(5 - (uint64_t)now); /* device clock reads 5 */
    uint32_t h, owner = 0;
    assert_int_equal(resolver_add(&r, IK2, k, offset, 6, now, &h), 0);
    assert_int_equal(resolves_drifted(&r, IK2, k, offset, now, -31, &owner), 0);
    assert_int_equal(owner, 6);
    assert_int_equal(resolves_drifted(&r, IK2, k, offset, now, 31, &owner), 0);
    resolver_release(&r);
}

/* ---- shared EIDs stay shared as windows roll ------------------------------ */

static void test_collision_survives_one_device_rolling(void **state)
{
    (void)state;
    /* The same key registered twice (say, one device key under two
     * accounts) with clocks half a window apart: their windows hold the same
     * EIDs but roll at different moments. An EID both hold must never
     * resolve to one of them. */
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    const unsigned k = 4;
    int64_t now = 16 * 1000 + 4; /* A's clock 16004, B's 16012: both in window 1000 */
    uint32_t ha, hb, owner;
    assert_int_equal(resolver_add(&r, IK1, k, 0, 1, now, &ha), 0);
    assert_int_equal(resolver_add(&r, IK1, k, 8, 2, now, &hb), 0);
    for (uint32_t w = 999; w <= 1001; w++)
        assert_int_equal(resolves(&r, IK1, k, w * 16, &owner), SK_ECONFLICT);

    now += 5; /* B moves to window 1001, A stays in 1000 */
    assert_int_equal(resolver_refresh(&r, now), 1);
    /* A: 999..1001, B: 1000..1002 */
    owner = 0;
    int rc = resolves(&r, IK1, k, 1000 * 16, &owner);
    if (rc != SK_ECONFLICT) fail_msg("A's current EID: rc %d owner %u", rc, owner);
    rc = resolves(&r, IK1, k, 1001 * 16, &owner);
    if (rc != SK_ECONFLICT) fail_msg("the next EID of both: rc %d owner %u", rc, owner);
    /* held by one of them only: that one, or (conservatively) nobody; never
     * the other */
    rc = resolves(&r, IK1, k, 999 * 16, &owner);
    assert_true(rc == SK_ECONFLICT || (rc == 0 && owner == 1));
    rc = resolves(&r, IK1, k, 1002 * 16, &owner);
    assert_true(rc == 0 && owner == 2);

    now = 16 * 1000 + 18; /* A (16018) moves to window 1001 too; B (16026) stays */
    assert_int_equal(resolver_refresh(&r, now), 1);
    for (uint32_t w = 1000; w <= 1002; w++)
        assert_int_equal(resolves(&r, IK1, k, w * 16, &owner), SK_ECONFLICT);
    assert_int_equal(resolves(&r, IK1, k, 999 * 16, &owner), SK_ENOTFOUND);

    /* after a full window both are alone in nothing */
    now += 16;
    assert_int_equal(resolver_refresh(&r, now), 2);
    for (uint32_t w = 1001; w <= 1003; w++)
        assert_int_equal(resolves(&r, IK1, k, w * 16, &owner), SK_ECONFLICT);
    /* every slot is accounted for: 3 shared EIDs */
    assert_int_equal(r.used, 3);
    resolver_release(&r);
}

static void test_removing_one_holder_of_a_shared_eid(void **state)
{
    (void)state;
    struct resolver r;
    assert_int_equal(resolver_init(&r, 1, 4), 0);
    uint32_t h1, h2, owner;
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 1, 5000, &h1), 0);
    assert_int_equal(resolver_add(&r, IK1, 10, 0, 2, 5000, &h2), 0);
    assert_int_equal(resolver_remove(&r, h2), 0);
    /* the one left never resolves to the removed one's owner; it is either
     * itself or (until its window rolls) nobody, and its EIDs are not lost */
    for (int w = -1; w <= 1; w++) {
        owner = 0;
        int rc = resolves(&r, IK1, 10, (uint32_t)(5000 + w * 1024), &owner);
        assert_true(rc == SK_ECONFLICT || (rc == 0 && owner == 1));
    }
    /* once its window rolls, it resolves to itself again */
    assert_int_equal(resolver_refresh(&r, 5000 + 1024), 1);
    for (int w = 0; w <= 2; w++) {
        owner = 0;
        assert_int_equal(resolves(&r, IK1, 10, (uint32_t)(5000 + w * 1024), &owner), 0);
        assert_int_equal(owner, 1);
    }
    /* removing the last holder leaves nothing behind */
    assert_int_equal(resolver_remove(&r, h1), 0);
    assert_int_equal(r.used, 0);
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
        cmocka_unit_test(test_drift_within_one_window_resolves),
        cmocka_unit_test(test_tolerance_zero_only_current_window),
        cmocka_unit_test(test_tolerance_bounds),
        cmocka_unit_test(test_prefix_lookup_finds_live_windows),
        cmocka_unit_test(test_prefix_shared_by_two_devices_conflicts),
        cmocka_unit_test(test_prefix_of_a_collided_eid_conflicts),
        cmocka_unit_test(test_prefix_lookup_many_devices),
        cmocka_unit_test(test_refresh_across_device_clock_wrap),
        cmocka_unit_test(test_device_added_right_after_wrap_with_drift),
        cmocka_unit_test(test_collision_survives_one_device_rolling),
        cmocka_unit_test(test_removing_one_holder_of_a_shared_eid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
