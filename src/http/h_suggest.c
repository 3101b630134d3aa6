/*
 * h_suggest.c — suggestions: the customer's own view (with why) and their
 * "never again", staff's one-tap answer on a counter card, and retraining a
 * brand's model on demand.
 */
#include "http/handlers.h"
#include "core/catalogue.h"
#include "core/suggest_rules.h"
#include "service/recog.h"
#include "service/suggest_svc.h"
#include "util/err.h"
#include "util/ids.h"

#include <string.h>

#define MINE_MAX 10

/* ?for=me | <person id>: one list, not everyone's merged. */
void h_my_suggestions(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *only = req_query(req, "for");
    if (only && strcmp(only, SUGGEST_FOR_ME) != 0) {
        json_t *p = NULL;
        int rc = id_is_plausible(only) ? app->st->ops->person_get(app->st, req->who.id, only, &p)
                                       : SK_ENOTFOUND;
        if (rc == SK_ENOTFOUND)
            resp_problem(resp, 404,
                         "for: \"me\" or the id of a person you shop for (GET /v1/me/people lists them); "
                         "there is no such person");
        else if (rc)
            resp_store_error(resp, rc, "person");
        json_decref(p);
        if (rc) return;
    }
    json_t *out;
    int catalogue = 1;
    int rc = app->sugg ? suggest_svc_mine(app->sugg, req->brand_id, req->who.id, only, MINE_MAX, &out,
                                          &catalogue)
                       : SK_ENOTFOUND;
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "you are not a member of this brand: join it first "
                                "(PUT /v1/me/brands/{brand})");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "suggestions");
        return;
    }
    /* the person's id stays out of the answer: "for" names them */
    size_t i;
    json_t *e;
    json_array_foreach(out, i, e) json_object_del(e, "person");
    /* "catalogue": false — the brand sells nothing through Shopkeeper yet, so
     * there is nothing to suggest (not an error: a page hides the section) */
    resp_json(resp, 200, json_pack("{s:o, s:b}", "items", out, "catalogue", catalogue));
}

void h_my_suggestion_dismiss(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *sku = req_param(req, "sku");
    int rc = sku_is_valid(sku)
                 ? app->st->ops->suggest_dismiss(app->st, req->brand_id, req->who.id, sku)
                 : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "item");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:s}", "sku", sku, "outcome", "dismissed"));
}

void h_suggestion_outcome(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *vid = req_param(req, "visit"), *sku = req_param(req, "sku");
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *outcome = json_string_value(json_object_get(body, "outcome"));
    enum sr_outcome o = sr_outcome_parse(outcome);
    if (o != SR_ACCEPTED && o != SR_DECLINED && o != SR_NOT_NOW) {
        resp_problem(resp, 422, "outcome: accepted, declined or not_now");
        return;
    }
    int display = req->who.kind == PRINCIPAL_DISPLAY;
    struct actor who = {.kind = display ? "display" : "staff",
                        .role = display ? "counter display" : req->who.role,
                        .store_id = req->store_id};
    char cid[ID_MAX], bid[ID_MAX];
    int rc = id_is_plausible(vid) && sku_is_valid(sku)
                 ? app->st->ops->suggest_outcome(app->st, req->store_id, vid, sku, outcome, &who,
                                                 cid, bid)
                 : SK_ENOTFOUND;
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "no open suggestion of this item on this visit at this store");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "suggestion");
        return;
    }
    if (app->recog) recog_suggestion_done(app->recog, req->store_id, vid, sku);
    resp_json(resp, 200, json_pack("{s:s, s:s, s:s}", "visit", vid, "sku", sku, "outcome", outcome));
}

void h_brand_train(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *out;
    int rc = app->sugg ? suggest_svc_train(app->sugg, req->brand_id, &out) : SK_ENOTFOUND;
    if (rc == SK_EINVAL || rc == SK_ENOTFOUND) {
        resp_problem(resp, 409, "nothing to learn from yet: the brand has no catalogue items "
                                "or no purchases");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "model");
        return;
    }
    resp_json(resp, 200, out);
}
