/*
 * consent.h — the consent ledger's rules.
 *
 * Consent is a ledger, not a flag: grants and withdrawals are appended and
 * the current state is derived from them (consent_derive). Changing what is
 * granted is planned as the smallest set of new ledger entries
 * (consent_plan): a grant per newly wanted purpose, a withdrawal per purpose
 * no longer wanted, nothing for what is unchanged.
 */
#ifndef SK_CONSENT_H
#define SK_CONSENT_H

#include "core/purpose.h"

struct consent_event {
    const char *purpose;
    int grant; /* 1 grant, 0 withdraw */
};

/* The purposes granted after replaying ev[0..n) in order. */
void consent_derive(const struct consent_event *ev, size_t n, struct purpose_set *ret);
void consent_plan(const struct purpose_set *current, const struct purpose_set *wanted,
                  struct purpose_set *ret_grant, struct purpose_set *ret_withdraw);

#endif
