/*
 * roles.c — staff roles and grant scope (see roles.h).
 * Invariant: a decision is always made by a single grant, never by the
 * union of several; an unknown role allows nothing.
 */
#include "core/roles.h"

#include "util/err.h"

#include <stdio.h>
#include <string.h>

const char *const role_names[ROLE_COUNT] = {"admin", "manager", "counter", "agent",
                                            "team_manager", "comms"};

unsigned role_bit(const char *name)
{
    if (!name) return 0;
    for (int i = 0; i < ROLE_COUNT; i++)
        if (strcmp(name, role_names[i]) == 0) return 1u << i;
    return 0;
}

const char *role_name(unsigned bit)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        if (bit == 1u << i) return role_names[i];
    return NULL;
}

int role_is_store_scoped(unsigned bit)
{
    return bit == ROLE_MANAGER || bit == ROLE_COUNTER;
}

static int grant_covers_store(const struct staff_grant *g, const char *store_id)
{
    return g->store_id[0] == '\0' || !store_id || strcmp(g->store_id, store_id) == 0;
}

int grants_allow(const struct staff_grant *g, size_t n, unsigned roles, const char *store_id)
{
    for (size_t i = 0; i < n; i++) {
        if (!role_name(g[i].role)) continue;
        if (roles && !(g[i].role & roles)) continue;
        if (grant_covers_store(&g[i], store_id)) return 1;
    }
    return 0;
}

int grants_may_give(const struct staff_grant *g, size_t n, const struct staff_grant *want)
{
    if (!role_name(want->role)) return 0;
    for (size_t i = 0; i < n; i++) {
        if (g[i].role == ROLE_ADMIN && g[i].store_id[0] == '\0') return 1;
        if (g[i].role == ROLE_MANAGER && g[i].store_id[0] && want->store_id[0] &&
            strcmp(g[i].store_id, want->store_id) == 0 &&
            (want->role == ROLE_MANAGER || want->role == ROLE_COUNTER))
            return 1;
    }
    return 0;
}

const char *grants_primary_role(const struct staff_grant *g, size_t n)
{
    static const unsigned order[ROLE_COUNT] = {ROLE_ADMIN, ROLE_MANAGER,      ROLE_COUNTER,
                                               ROLE_TEAM_MANAGER, ROLE_AGENT, ROLE_COMMS};
    for (int k = 0; k < ROLE_COUNT; k++)
        for (size_t i = 0; i < n; i++)
            if (g[i].role == order[k]) return role_name(order[k]);
    return "";
}

/* Appends {role, store?} to out unless already there. */
static int grants_add(json_t *out, const char *role, const char *store, char *err, size_t errlen)
{
    size_t i;
    json_t *v;
    json_array_foreach(out, i, v) {
        const char *s = json_string_value(json_object_get(v, "store"));
        if (!strcmp(json_string_value(json_object_get(v, "role")), role) &&
            ((!s && !store) || (s && store && !strcmp(s, store))))
            return 0;
    }
    if (json_array_size(out) >= GRANTS_MAX) {
        snprintf(err, errlen, "grants: at most %d roles and stores per person", GRANTS_MAX);
        return SK_EINVAL;
    }
    json_t *g = json_pack("{s:s}", "role", role);
    if (store) json_object_set_new(g, "store", json_string(store));
    json_array_append_new(out, g);
    return 0;
}

static int grant_check(const char *role, const char *store, char *err, size_t errlen)
{
    unsigned bit = role_bit(role);
    if (!bit) {
        snprintf(err, errlen,
                 "role: must be one of admin, manager, counter, agent, team_manager, comms");
        return SK_EINVAL;
    }
    if (role_is_store_scoped(bit) && !store) {
        snprintf(err, errlen, "stores: a %s works at the stores you name; give at least one",
                 role);
        return SK_EINVAL;
    }
    if (!role_is_store_scoped(bit) && store) {
        snprintf(err, errlen, "stores: the %s role is for the whole brand and takes no store",
                 role);
        return SK_EINVAL;
    }
    if (store && !id_is_plausible(store)) {
        snprintf(err, errlen, "stores: \"%.40s\" is not a store id", store);
        return SK_EINVAL;
    }
    return 0;
}

int grants_normalize(json_t *body, json_t **ret, char *err, size_t errlen)
{
    json_t *out = json_array();
    json_t *grants = json_object_get(body, "grants");
    int rc = 0;
    if (grants) {
        if (!json_is_array(grants) || json_array_size(grants) == 0) {
            snprintf(err, errlen, "grants: a list of {\"role\", \"store\"} with at least one");
            rc = SK_EINVAL;
        }
        size_t i;
        json_t *g;
        json_array_foreach(grants, i, g) {
            if (rc) break;
            const char *role = json_string_value(json_object_get(g, "role"));
            json_t *sv = json_object_get(g, "store");
            const char *store = json_string_value(sv);
            if (!json_is_object(g) || !role || (sv && !json_is_null(sv) && !store)) {
                snprintf(err, errlen, "grants: each is {\"role\": text, \"store\": store id}");
                rc = SK_EINVAL;
                break;
            }
            rc = grant_check(role, store, err, errlen);
            if (!rc) rc = grants_add(out, role, store, err, errlen);
        }
    } else {
        const char *role = json_string_value(json_object_get(body, "role"));
        json_t *stores = json_object_get(body, "stores");
        if (!role) {
            snprintf(err, errlen, "role: required (or grants)");
            rc = SK_EINVAL;
        } else if (stores && !json_is_null(stores) &&
                   (!json_is_array(stores) || json_array_size(stores) > GRANTS_MAX)) {
            snprintf(err, errlen, "stores: a list of at most %d store ids", GRANTS_MAX);
            rc = SK_EINVAL;
        } else if (!json_array_size(stores)) {
            rc = grant_check(role, NULL, err, errlen);
            if (!rc) rc = grants_add(out, role, NULL, err, errlen);
        } else {
            size_t i;
            json_t *s;
            json_array_foreach(stores, i, s) {
                if (rc) break;
                if (!json_is_string(s)) {
                    snprintf(err, errlen, "stores: a list of store ids");
                    rc = SK_EINVAL;
                    break;
                }
                rc = grant_check(role, json_string_value(s), err, errlen);
                if (!rc) rc = grants_add(out, role, json_string_value(s), err, errlen);
            }
        }
    }
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

size_t grants_from_json(json_t *arr, struct staff_grant *g)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (n == GRANTS_MAX) break;
        unsigned bit = role_bit(json_string_value(json_object_get(v, "role")));
        if (!bit) continue;
        const char *s = json_string_value(json_object_get(v, "store"));
        g[n].role = bit;
        snprintf(g[n].store_id, sizeof g[n].store_id, "%s", s ? s : "");
        n++;
    }
    return n;
}
