/*
 * h_team.c — the brand's staff: add (with a password, or invited), list,
 * read, change roles and stores, rename, disable.
 *
 * Who may change whom: an admin of the whole brand anyone else; a manager
 * the managers and counter staff of their own stores, giving only what they
 * hold themselves (core/roles.c grants_may_give). Nobody changes their own
 * roles or disables themselves, so nobody raises their own role.
 */
#include "http/handlers.h"
#include "core/account.h"
#include "http/sse.h"
#include "service/mail.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"

#include <stdio.h>
#include <string.h>

/* Whether the caller may hand out (or take away) every grant in arr; names
 * the first one they may not in a 403. Operators may do anything. */
static int may_give_all(const struct http_req *req, json_t *arr, struct http_resp *resp)
{
    if (req->who.kind == PRINCIPAL_OPERATOR) return 1;
    struct staff_grant g[GRANTS_MAX];
    size_t n = grants_from_json(arr, g);
    for (size_t i = 0; i < n; i++) {
        if (grants_may_give(req->who.grants, req->who.ngrants, &g[i])) continue;
        if (g[i].store_id[0])
            resp_problem(resp, 403,
                         "only an admin, or a manager of that store, may give or take the "
                         "role %s at a store (%s); you hold %s",
                         role_name(g[i].role), g[i].store_id, req->who.role);
        else
            resp_problem(resp, 403,
                         "only an admin may give or take the role %s for the whole brand; you "
                         "hold %s",
                         role_name(g[i].role), req->who.role);
        return 0;
    }
    return 1;
}

static int grants_from_body(json_t *body, json_t **ret, struct http_resp *resp)
{
    char err[160];
    if (grants_normalize(body, ret, err, sizeof err)) {
        resp_problem(resp, 422, "%s", err);
        return -1;
    }
    return 0;
}

static const char invite_text[] =
    "Hello %s,\n\n"
    "You have been added to %s's Shopkeeper console, where the brand's staff\n"
    "manage stores, counter displays, choices and members. Choose your password\n"
    "here to sign in. The link works once, for the next 7 days:\n\n"
    "%s\n\n"
    "If you did not expect this, ignore this message.\n";

/* An invited staff member's one-time link: in the answer for the person who
 * added them, and by mail when a relay is configured. 0, or a problem. */
static int invite(struct app *app, struct http_req *req, json_t *row, struct http_resp *resp)
{
    char url[512], body[1536];
    int rc = account_link_new(app, PRINCIPAL_STAFF, json_string_value(json_object_get(row, "id")),
                              "invite", PWLINK_INVITE_TTL_S, url, sizeof url);
    if (rc) {
        resp_store_error(resp, rc, "invitation");
        return -1;
    }
    int sent = 0;
    if (app->mail) {
        const char *brand = json_string_value(json_object_get(req->brand, "name"));
        snprintf(body, sizeof body, invite_text, json_string_value(json_object_get(row, "name")),
                 brand ? brand : "your brand", url);
        sent = mailer_send(app->mail, json_string_value(json_object_get(row, "email")),
                           "Your Shopkeeper console invitation", body) == 0;
        memset(body, 0, sizeof body);
    }
    json_object_set_new(row, "invite_url", json_string(url));
    json_object_set_new(row, "invite_sent", json_boolean(sent));
    memset(url, 0, sizeof url);
    return 0;
}

void h_staff_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    char lower[EMAIL_BUF];
    if (body_email(body, "email", lower, resp)) return;
    const char *name = body_text(body, "name", NAME_MAX_CHARS, resp);
    if (!name) return;
    json_t *grants;
    if (grants_from_body(body, &grants, resp)) return;
    int bad;
    const char *password = body_text_opt(body, "password", PASSWORD_MAX, resp, &bad);
    char pwhash[CRYPTO_PWHASH_MAX];
    if (bad) goto out;
    if (password && strlen(password) < PASSWORD_MIN) {
        resp_problem(resp, 422, "password: at least %d characters", PASSWORD_MIN);
        goto out;
    }
    if (!may_give_all(req, grants, resp)) goto out;
    if (password && http_pwhash(app, password, pwhash, resp)) goto out;
    json_t *row;
    int rc = app->st->ops->staff_create(app->st, req->brand_id, lower, name, grants,
                                        password ? pwhash : NULL, &row);
    if (rc == SK_ECONFLICT)
        resp_problem(resp, 409, "email: a staff member with this email already exists");
    else if (rc == SK_EINVAL)
        resp_problem(resp, 422, "stores: each must be an open store of this brand");
    else if (rc)
        resp_store_error(resp, rc, "staff member");
    else if (!password && invite(app, req, row, resp))
        json_decref(row);
    else
        resp_json(resp, 201, row);
out:
    json_decref(grants);
}

/* The store a manager's list is about: ?store= one of their stores; staff
 * with no brand-wide role must name one. NULL for the whole brand. */
static int list_scope(struct http_req *req, struct http_resp *resp, const char **ret)
{
    const char *store = req_query(req, "store");
    if (store && !id_is_plausible(store)) {
        resp_problem(resp, 422, "store: not a store id");
        return -1;
    }
    if (req->who.kind == PRINCIPAL_STAFF &&
        !grants_allow(req->who.grants, req->who.ngrants, ROLE_ADMIN, NULL)) {
        if (!store) {
            resp_problem(resp, 403,
                         "a manager sees the staff of their own stores: add ?store=<store id>");
            return -1;
        }
        if (!who_may_act_at_store(req, ROLE_MANAGER, store)) {
            resp_problem(resp, 403, "you are not a manager of the store %s", store);
            return -1;
        }
    }
    *ret = store;
    return 0;
}

void h_staff_list(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    const char *store;
    if (req_page(req, resp, &pg) || list_scope(req, resp, &store)) return;
    json_t *out;
    int rc = app->st->ops->staff_list(app->st, req->brand_id, store, &pg, &out);
    if (rc) {
        resp_store_error(resp, rc, "staff list");
        return;
    }
    resp_json(resp, 200, out);
}

/* The staff member of the path, if the caller may see them: admins see
 * everyone, managers those holding a role at one of their stores. */
static json_t *target(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *sid = req_param(req, "staff");
    json_t *row;
    int rc = id_is_plausible(sid) ? app->st->ops->staff_get(app->st, req->brand_id, sid, &row)
                                  : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "staff member");
        return NULL;
    }
    if (req->who.kind != PRINCIPAL_STAFF ||
        grants_allow(req->who.grants, req->who.ngrants, ROLE_ADMIN, NULL))
        return row;
    struct staff_grant g[GRANTS_MAX];
    size_t n = grants_from_json(json_object_get(row, "grants"), g);
    for (size_t i = 0; i < n; i++)
        if (g[i].store_id[0] && who_may_act_at_store(req, ROLE_MANAGER, g[i].store_id))
            return row;
    json_decref(row);
    resp_problem(resp, 404, "no such staff member at your stores");
    return NULL;
}

void h_staff_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *row = target(app, req, resp);
    if (row) resp_json(resp, 200, row);
}

void h_staff_patch(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    json_t *row = target(app, req, resp);
    if (!row) return;
    json_t *f = json_object(), *grants = NULL, *out;
    int bad;
    const char *name = body_text_opt(body, "name", NAME_MAX_CHARS, resp, &bad);
    if (bad) goto out;
    if (name) json_object_set_new(f, "name", json_string(name));
    json_t *disabled = json_object_get(body, "disabled");
    if (disabled && !json_is_boolean(disabled)) {
        resp_problem(resp, 422, "disabled: true or false");
        goto out;
    }
    int roles_change = json_object_get(body, "grants") || json_object_get(body, "role");
    if (roles_change && grants_from_body(body, &grants, resp)) goto out;
    int self = req->who.kind == PRINCIPAL_STAFF &&
               strcmp(req->who.id, json_string_value(json_object_get(row, "id"))) == 0;
    if (self && (grants || disabled)) {
        resp_problem(resp, 403,
                     "you cannot change your own roles or disable yourself; ask another admin");
        goto out;
    }
    /* taking away what they hold and giving what is asked both need the right */
    if ((grants || disabled) && !may_give_all(req, json_object_get(row, "grants"), resp))
        goto out;
    if (grants && !may_give_all(req, grants, resp)) goto out;
    if (grants) json_object_set(f, "grants", grants);
    if (disabled) json_object_set(f, "disabled", disabled);
    int rc = app->st->ops->staff_update(app->st, req->brand_id, req_param(req, "staff"), f, &out);
    if (rc == SK_EINVAL)
        resp_problem(resp, 422, "stores: each must be an open store of this brand");
    else if (rc)
        resp_store_error(resp, rc, "staff member");
    else {
        /* a disabled person's open card streams end with their sessions, and a
         * changed person's reconnect under their new grants */
        if ((json_is_true(disabled) || grants) && app->hub)
            sse_cut(app->hub, req_param(req, "staff"), NULL);
        resp_json(resp, 200, out);
    }
out:
    json_decref(grants);
    json_decref(f);
    json_decref(row);
}
