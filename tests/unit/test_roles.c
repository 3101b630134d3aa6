/* test_roles.c — unit tests for src/core/roles.{h,c}: one grant decides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/roles.h"

#include <string.h>

static struct staff_grant G(unsigned role, const char *store)
{
    struct staff_grant g = {.role = role};
    strcpy(g.store_id, store);
    return g;
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(role_bit("admin"), ROLE_ADMIN);
    assert_int_equal(role_bit("comms"), ROLE_COMMS);
    assert_int_equal(role_bit("root"), 0);
    assert_int_equal(role_bit(NULL), 0);
    assert_string_equal(role_name(ROLE_MANAGER), "manager");
    assert_null(role_name(ROLE_ADMIN | ROLE_MANAGER));
    assert_true(role_is_store_scoped(ROLE_COUNTER));
    assert_false(role_is_store_scoped(ROLE_ADMIN));
}

static void test_admin_covers_every_store(void **state)
{
    (void)state;
    struct staff_grant g[] = {G(ROLE_ADMIN, "")};
    assert_true(grants_allow(g, 1, ROLE_ADMIN, NULL));
    assert_true(grants_allow(g, 1, ROLE_ADMIN | ROLE_MANAGER, "sto_a"));
    assert_false(grants_allow(g, 1, ROLE_COUNTER, "sto_a"));
    assert_true(grants_allow(g, 1, 0, "sto_b"));
}

static void test_store_grant_stays_in_its_store(void **state)
{
    (void)state;
    struct staff_grant g[] = {G(ROLE_MANAGER, "sto_a")};
    assert_true(grants_allow(g, 1, ROLE_MANAGER, "sto_a"));
    assert_false(grants_allow(g, 1, ROLE_MANAGER, "sto_b"));
    assert_false(grants_allow(g, 1, 0, "sto_b"));
    /* a brand-level request the role may make */
    assert_true(grants_allow(g, 1, ROLE_ADMIN | ROLE_MANAGER, NULL));
    assert_false(grants_allow(g, 1, ROLE_ADMIN, NULL));
}

static void test_several_roles_never_add_up(void **state)
{
    (void)state;
    /* counter at A, manager at B: not a manager at A */
    struct staff_grant g[] = {G(ROLE_COUNTER, "sto_a"), G(ROLE_MANAGER, "sto_b")};
    assert_false(grants_allow(g, 2, ROLE_MANAGER, "sto_a"));
    assert_true(grants_allow(g, 2, ROLE_MANAGER, "sto_b"));
    assert_true(grants_allow(g, 2, ROLE_COUNTER, "sto_a"));
    assert_false(grants_allow(g, 2, ROLE_COUNTER, "sto_b"));
    assert_true(grants_allow(g, 2, 0, "sto_a"));
    assert_false(grants_allow(g, 2, 0, "sto_c"));
    /* an unknown role bit allows nothing */
    struct staff_grant odd[] = {G(1u << 12, "")};
    assert_false(grants_allow(odd, 1, 0, NULL));
    assert_false(grants_allow(NULL, 0, 0, NULL));
}

static void test_may_give(void **state)
{
    (void)state;
    struct staff_grant admin[] = {G(ROLE_ADMIN, "")};
    struct staff_grant mgr[] = {G(ROLE_MANAGER, "sto_a"), G(ROLE_COUNTER, "sto_b")};
    struct staff_grant w;
    w = G(ROLE_ADMIN, "");
    assert_true(grants_may_give(admin, 1, &w));
    assert_false(grants_may_give(mgr, 2, &w));
    w = G(ROLE_COUNTER, "sto_a");
    assert_true(grants_may_give(mgr, 2, &w));
    w = G(ROLE_MANAGER, "sto_a");
    assert_true(grants_may_give(mgr, 2, &w));
    w = G(ROLE_COUNTER, "sto_b"); /* a counter gives nothing */
    assert_false(grants_may_give(mgr, 2, &w));
    w = G(ROLE_AGENT, "sto_a");
    assert_false(grants_may_give(mgr, 2, &w));
    w = G(ROLE_MANAGER, "");
    assert_false(grants_may_give(mgr, 2, &w));
}

static void test_primary_role(void **state)
{
    (void)state;
    struct staff_grant g[] = {G(ROLE_COUNTER, "sto_a"), G(ROLE_MANAGER, "sto_b")};
    assert_string_equal(grants_primary_role(g, 2), "manager");
    assert_string_equal(grants_primary_role(g, 0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_admin_covers_every_store),
        cmocka_unit_test(test_store_grant_stays_in_its_store),
        cmocka_unit_test(test_several_roles_never_add_up),
        cmocka_unit_test(test_may_give),
        cmocka_unit_test(test_primary_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
