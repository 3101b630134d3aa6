/*
 * h_members.c — the brand's view of one member, and the customer's own
 * access log. Every member view is consent-filtered in the store and leaves
 * an access-log entry the customer can read.
 */
#include "http/handlers.h"
#include "util/err.h"
#include "core/choices.h"
#include "service/recog.h"
#include "util/ids.h"

#include <string.h>

#define SEARCH_MAX 20 /* members one search shows (each one logged) */

/* GET /v1/brands/{brand}/members?q=: by name (under recognition), or by a
 * counter code the shopper shows; each member listed is a logged look. */
void h_member_search(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *q = req_query(req, "q");
    if (!q || !text_is_clean(q, 100) || strlen(q) < 2) {
        resp_problem(resp, 422, "q: type at least 2 characters of a name, or a counter code");
        return;
    }
    struct actor who = {.kind = "staff", .role = req->who.role, .store_id = NULL};
    char cid[ID_MAX];
    json_t *items = NULL;
    /* a counter code (8 letters and digits, with or without its dash) */
    if (app->recog && recog_code_lookup(app->recog, q, cid) == 0) {
        json_t *view;
        int rc = app->st->ops->member_view(app->st, req->brand_id, cid, &who, &view);
        items = json_array();
        if (rc == 0) {
            json_object_set_new(view, "matched", json_string("code"));
            json_array_append_new(items, view);
        } else if (rc != SK_ENOTFOUND) {
            json_decref(items);
            resp_store_error(resp, rc, "member");
            return;
        }
    } else {
        int rc = app->st->ops->member_search(app->st, req->brand_id, q, SEARCH_MAX, &who, &items);
        if (rc) {
            resp_store_error(resp, rc, "member search");
            return;
        }
    }
    resp_json(resp, 200, json_pack("{s:o, s:i}", "items", items, "limit", SEARCH_MAX));
}

void h_member_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *cid = req_param(req, "customer");
    struct actor who = {.kind = "staff", .role = req->who.role, .store_id = NULL};
    json_t *out;
    int rc = id_is_plausible(cid)
                 ? app->st->ops->member_view(app->st, req->brand_id, cid, &who, &out)
                 : SK_ENOTFOUND;
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "no such member");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "member");
        return;
    }
    resp_json(resp, 200, out);
}

void h_my_access_log(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    if (req_page(req, resp, &pg)) return;
    const char *brand = req_query(req, "brand");
    json_t *b = NULL;
    const char *bid = NULL;
    if (brand) {
        if (!id_is_plausible(brand) || app->st->ops->brand_get(app->st, brand, &b)) {
            resp_problem(resp, 422, "brand: no such brand \"%.64s\"", brand);
            return;
        }
        bid = json_string_value(json_object_get(b, "id"));
    }
    json_t *out;
    int rc = app->st->ops->access_log_list(app->st, req->who.id, bid, &pg, &out);
    json_decref(b);
    if (rc) {
        resp_store_error(resp, rc, "access log");
        return;
    }
    resp_json(resp, 200, out);
}
