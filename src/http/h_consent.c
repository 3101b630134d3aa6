/*
 * h_consent.c — the customer's memberships, consent ledger and preferences.
 * Joining, changing grants and leaving all go through the store's
 * membership_put/membership_leave, which append to the ledger and update the
 * current grants in one transaction.
 */
#include "http/handlers.h"
#include "core/choices.h"
#include "core/purpose.h"
#include "service/recog.h"
#include "util/err.h"

#include <string.h>

/* Grants or answers changed: cards already on counter screens follow at
 * once (updated, or removed without recognition). */
static void cards_follow(struct app *app, struct http_req *req)
{
    if (app->recog) recog_customer_changed(app->recog, req->who.id, req->brand_id);
}

static const char *via_of(json_t *body, struct http_resp *resp)
{
    int bad;
    const char *via = body ? body_text_opt(body, "via", 10, resp, &bad) : NULL;
    if (body && bad) return NULL;
    if (!via) return "api";
    if (strcmp(via, "api") && strcmp(via, "portal")) {
        resp_problem(resp, 422, "via: must be \"api\" or \"portal\"");
        return NULL;
    }
    return via;
}

void h_my_brands(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *items;
    int rc = app->st->ops->membership_list(app->st, req->who.id, &items);
    if (rc) {
        resp_store_error(resp, rc, "memberships");
        return;
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
}

static void not_member(struct http_req *req, struct http_resp *resp)
{
    resp_problem(resp, 404, "you are not a member of %s; join it with PUT /v1/me/brands/%s",
                 json_string_value(json_object_get(req->brand, "name")),
                 json_string_value(json_object_get(req->brand, "slug")));
}

void h_my_brand_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *m;
    int rc = app->st->ops->membership_get(app->st, req->who.id, req->brand_id, &m);
    if (rc == SK_ENOTFOUND) { not_member(req, resp); return; }
    if (rc) {
        resp_store_error(resp, rc, "membership");
        return;
    }
    resp_json(resp, 200, m);
}

void h_my_brand_put(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    json_t *purposes = json_object_get(body, "purposes");
    if (!json_is_array(purposes)) {
        resp_problem(resp, 422, "purposes: required, an array of purpose names (may be empty)");
        return;
    }
    if (json_array_size(purposes) > PURPOSE_SET_MAX) {
        resp_problem(resp, 422, "purposes: at most %d", PURPOSE_SET_MAX);
        return;
    }
    struct purpose_set want;
    purpose_set_init(&want);
    size_t i;
    json_t *p;
    json_array_foreach(purposes, i, p) {
        const char *name = json_string_value(p);
        char partner[PURPOSE_LEN];
        if (!name || strlen(name) >= PURPOSE_LEN || purpose_check(name, partner)) {
            resp_problem(resp, 422,
                         "purposes[%zu]: unknown purpose; use recognition, preferences, "
                         "history, suggestions, offers, messages, care, insights or "
                         "partner:<brand-slug>",
                         i);
            return;
        }
        if (partner[0]) {
            json_t *pb;
            if (app->st->ops->brand_get(app->st, partner, &pb)) {
                resp_problem(resp, 422, "purposes[%zu]: no partner brand \"%s\"", i, partner);
                return;
            }
            int self = strcmp(json_string_value(json_object_get(pb, "id")), req->brand_id) == 0;
            json_decref(pb);
            if (self) {
                resp_problem(resp, 422, "purposes[%zu]: a brand cannot be its own partner", i);
                return;
            }
        }
        purpose_set_add(&want, name);
    }
    const char *via = via_of(body, resp);
    if (!via) return;
    json_t *nv = json_object_get(body, "notice_version");
    int64_t current_nv = json_integer_value(json_object_get(req->brand, "notice_version"));
    if (nv && !json_is_null(nv)) {
        if (!json_is_integer(nv)) {
            resp_problem(resp, 422, "notice_version: must be a whole number");
            return;
        }
        if (json_integer_value(nv) != current_nv) {
            resp_problem(resp, 409,
                         "notice_version: the brand's notice is now version %lld; read it "
                         "again before granting",
                         (long long)current_nv);
            return;
        }
    }
    json_t *m;
    int rc = app->st->ops->membership_put(app->st, req->who.id, req->brand_id, &want, via, &m);
    if (rc) {
        resp_store_error(resp, rc, "membership");
        return;
    }
    cards_follow(app, req);
    resp_json(resp, 200, m);
}

void h_my_brand_delete(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *via = via_of(req->json && json_is_object(req->json) ? req->json : NULL, resp);
    if (!via) return;
    int rc = app->st->ops->membership_leave(app->st, req->who.id, req->brand_id, via);
    if (rc == SK_ENOTFOUND) { not_member(req, resp); return; }
    if (rc) {
        resp_store_error(resp, rc, "membership");
        return;
    }
    cards_follow(app, req);
    resp_json(resp, 200,
              json_pack("{s:b, s:{s:s, s:s, s:s}}", "left", 1, "brand", "id", req->brand_id,
                        "slug", json_string_value(json_object_get(req->brand, "slug")), "name",
                        json_string_value(json_object_get(req->brand, "name"))));
}

void h_my_consents(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    if (req_page(req, resp, &pg)) return;
    json_t *out;
    int rc = app->st->ops->consent_ledger(app->st, req->who.id, &pg, &out);
    if (rc) {
        resp_store_error(resp, rc, "consent ledger");
        return;
    }
    resp_json(resp, 200, out);
}

void h_my_prefs_put(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    json_t *m;
    int rc = app->st->ops->membership_get(app->st, req->who.id, req->brand_id, &m);
    if (rc == SK_ENOTFOUND) { not_member(req, resp); return; }
    if (rc) {
        resp_store_error(resp, rc, "membership");
        return;
    }
    int granted = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(m, "purposes"), i, p)
        granted |= strcmp(json_string_value(p), "preferences") == 0;
    json_decref(m);
    if (!granted) {
        resp_problem(resp, 403,
                     "grant the \"preferences\" purpose to %s before setting preferences",
                     json_string_value(json_object_get(req->brand, "name")));
        return;
    }
    json_t *answers = json_object_get(body, "answers");
    json_t *dont = json_object_get(body, "dont");
    if (answers && json_is_null(answers)) answers = NULL;
    if (dont && json_is_null(dont)) dont = NULL;
    char err[256];
    json_t *ndont = NULL;
    if (answers_validate(json_object_get(req->brand, "choices"), answers, dont, &ndont, err,
                         sizeof err)) {
        resp_problem(resp, 422, "%s", err);
        return;
    }
    json_t *a = answers ? json_incref(answers) : json_object();
    json_t *d = ndont ? ndont : json_array();
    json_t *out;
    rc = app->st->ops->preferences_put(app->st, req->who.id, req->brand_id,
                                       json_integer_value(
                                           json_object_get(req->brand, "choices_version")),
                                       a, d, &out);
    json_decref(a);
    json_decref(d);
    if (rc == SK_EFORBIDDEN) {
        resp_problem(resp, 403, "the \"preferences\" purpose was withdrawn meanwhile");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "preferences");
        return;
    }
    cards_follow(app, req);
    resp_json(resp, 200, out);
}

void h_my_prefs_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *m;
    int rc = app->st->ops->membership_get(app->st, req->who.id, req->brand_id, &m);
    if (rc == SK_ENOTFOUND) { not_member(req, resp); return; }
    if (rc) {
        resp_store_error(resp, rc, "membership");
        return;
    }
    json_decref(m);
    json_t *out;
    rc = app->st->ops->preferences_get(app->st, req->who.id, req->brand_id, &out);
    if (rc) {
        resp_store_error(resp, rc, "preferences");
        return;
    }
    resp_json(resp, 200, out);
}
