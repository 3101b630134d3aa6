/*
 * h_privacy.c — the shopper's rights: their export, erasure and the
 * integrity of their access log; a brand's export of one member; and the
 * public retention policy.
 */
#include "http/handlers.h"
#include "service/recog.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#define EXPORT_FORMAT_VERSION 1

static json_t *retention_json(const struct app *app)
{
    json_t *r = json_pack(
        "{s:I, s:I, s:s}", "visits_days", (json_int_t)app->cfg.retain_visits_days,
        "access_log_days", (json_int_t)app->cfg.retain_access_log_days, "consent_ledger",
        "kept as the record of what you agreed to; after erasure, under a pseudonym that "
        "links it to no one");
    /* purchases have no time limit today: they are linked to the customer
     * only under a current "history" grant (docs/privacy.md) */
    json_object_set_new(
        r, "purchases",
        json_string("kept linked to you, with no time limit, for as long as you allow history at "
                    "that brand; switching history off or leaving the brand unlinks them at once "
                    "(the brand keeps each sale without your name), and deleting your account "
                    "deletes them"));
    /* how long a card stays on a counter screen after the last presence */
    if (app->recog)
        json_object_set_new(r, "visit_quiet_seconds",
                            json_integer((json_int_t)recog_config(app->recog)->quiet_s));
    return r;
}

void h_privacy(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    resp_json(resp, 200, json_pack("{s:o}", "retention", retention_json(app)));
}

void h_my_export(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *out;
    int rc = app->st->ops->customer_export(app->st, req->who.id, &out);
    if (rc) {
        resp_store_error(resp, rc, "export");
        return;
    }
    char now[TIME_RFC3339_LEN];
    json_object_set_new(out, "format", json_string("shopkeeper-export"));
    json_object_set_new(out, "format_version", json_integer(EXPORT_FORMAT_VERSION));
    json_object_set_new(out, "exported_at",
                        json_string(time_fmt_rfc3339(time_now_us(), now, sizeof now)));
    json_object_set_new(out, "retention", retention_json(app));
    resp_json(resp, 200, out);
}

void h_me_delete(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    if (!json_is_true(json_object_get(body, "confirm"))) {
        resp_problem(resp, 422, "confirm: must be true; erasure deletes your account and "
                                "everything held about you, and cannot be undone");
        return;
    }
    char pseudonym[ID_MAX];
    int rc = app->st->ops->customer_erase(app->st, req->who.id, pseudonym);
    if (rc) {
        resp_store_error(resp, rc, "customer");
        return;
    }
    if (app->recog) recog_customer_erased(app->recog, req->who.id);
    resp_json(resp, 200,
              json_pack("{s:b, s:s}", "erased", 1, "consent_ledger_pseudonym", pseudonym));
}

void h_my_access_log_verify(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *out;
    int rc = app->st->ops->access_log_verify(app->st, req->who.id, &out);
    if (rc) {
        resp_store_error(resp, rc, "access log");
        return;
    }
    resp_json(resp, 200, out);
}

void h_member_export(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *cid = req_param(req, "customer");
    struct actor who = {.kind = "export", .role = req->who.role[0] ? req->who.role : "operator",
                        .store_id = NULL};
    json_t *out;
    int rc = id_is_plausible(cid)
                 ? app->st->ops->brand_member_export(app->st, req->brand_id, cid, &who, &out)
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
