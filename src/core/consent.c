/* consent.c — deriving consent state from the ledger (see consent.h). */
#include "core/consent.h"

void consent_derive(const struct consent_event *ev, size_t n, struct purpose_set *ret)
{
    purpose_set_init(ret);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].grant) purpose_set_add(ret, ev[i].purpose);
        else purpose_set_remove(ret, ev[i].purpose);
    }
}

void consent_plan(const struct purpose_set *current, const struct purpose_set *wanted,
                  struct purpose_set *ret_grant, struct purpose_set *ret_withdraw)
{
    purpose_set_minus(wanted, current, ret_grant);
    purpose_set_minus(current, wanted, ret_withdraw);
}
