/*
 * roles.h — staff roles and the scope each grant covers.
 *
 * A staff member holds grants: a role, for the whole brand or for one store.
 * A request is allowed when ONE grant covers it alone — its role is one the
 * route accepts and its scope contains the store the request is about — so
 * holding several roles never adds up to more than any one of them grants
 * (a counter at store A plus a manager at store B is not a manager at A).
 * Pure logic: no I/O.
 */
#ifndef SK_ROLES_H
#define SK_ROLES_H

#include "util/ids.h"

#include <jansson.h>
#include <stddef.h>

/* Role bits; a route's mask of accepted roles (0: any role). */
enum {
    ROLE_ADMIN = 1u << 0,        /* the whole brand */
    ROLE_MANAGER = 1u << 1,      /* the stores they are assigned to */
    ROLE_COUNTER = 1u << 2,      /* their store's counter; no customer lookups */
    ROLE_AGENT = 1u << 3,        /* social care (later issues) */
    ROLE_TEAM_MANAGER = 1u << 4,
    ROLE_COMMS = 1u << 5,
};
#define ROLE_COUNT 6
#define GRANTS_MAX 32 /* grants one staff member may hold */

extern const char *const role_names[ROLE_COUNT];

struct staff_grant {
    unsigned role;         /* one ROLE_* bit */
    char store_id[ID_MAX]; /* "" = the whole brand */
};

/* Role name <-> bit; 0 for an unknown name, NULL for a bit that is not one role. */
unsigned role_bit(const char *name);
const char *role_name(unsigned bit);
/* Whether the role must be given per store (manager, counter). */
int role_is_store_scoped(unsigned bit);

/* Whether one grant covers a request needing any of roles (0: any) about
 * store_id (NULL: a brand-level request, which a store grant also covers
 * when its role is accepted). */
int grants_allow(const struct staff_grant *g, size_t n, unsigned roles, const char *store_id);

/* Whether a grantor holding g may hand out grant want: an admin of the whole
 * brand may give anything; a manager of a store may give manager or counter
 * at that store; nobody else gives anything. */
int grants_may_give(const struct staff_grant *g, size_t n, const struct staff_grant *want);

/* The most senior role held (admin > manager > counter > team_manager >
 * agent > comms), for display and the access log; "" when none. */
const char *grants_primary_role(const struct staff_grant *g, size_t n);

/* Normalizes what a client sent as a staff member's roles: either
 * {"grants": [{"role", "store"?}]} or the short form {"role", "stores"?: [ids]}.
 * Store roles (manager, counter) need a store each; the others are for the
 * whole brand and take none. Duplicates are merged. On success *ret is a new
 * array [{role, store?}] and 0 is returned; otherwise a sentence for a person
 * is in err and SK_EINVAL is returned. Store ids are checked for shape only:
 * the store decides whether they are the brand's. */
int grants_normalize(json_t *body, json_t **ret, char *err, size_t errlen);
/* The array form into g (at most GRANTS_MAX); the count. */
size_t grants_from_json(json_t *arr, struct staff_grant *g);

#endif
