/* h_stores.c — a brand's stores. */
#include "http/handlers.h"
#include "util/err.h"
#include "util/ids.h"

#include <string.h>

/* "UTC" or an IANA-style Area/Location name. */
static int tz_is_plausible(const char *tz)
{
    size_t n = strlen(tz);
    if (n < 3 || n > 64 || strstr(tz, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = tz[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return strcmp(tz, "UTC") == 0 || (strchr(tz, '/') && tz[0] != '/' && tz[n - 1] != '/');
}

void h_store_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    int bad;
    if (!body_text(body, "name", 100, resp)) return;
    const char *tz = body_text(body, "timezone", 64, resp);
    if (!tz) return;
    if (!tz_is_plausible(tz)) {
        resp_problem(resp, 422, "timezone: an IANA time zone such as \"America/New_York\" or \"UTC\"");
        return;
    }
    body_text_opt(body, "city", 100, resp, &bad);
    if (bad) return;
    body_text_opt(body, "address", 200, resp, &bad);
    if (bad) return;
    json_t *out;
    int rc = app->st->ops->store_create(app->st, req->brand_id, body, &out);
    if (rc) {
        resp_store_error(resp, rc, "store");
        return;
    }
    snprintf(resp->location, sizeof resp->location, "/v1/brands/%s/stores/%s", req->brand_id,
             json_string_value(json_object_get(out, "id")));
    resp_json(resp, 201, out);
}

void h_store_list(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    if (req_page(req, resp, &pg)) return;
    json_t *out;
    int rc = app->st->ops->store_list(app->st, req->brand_id, &pg, &out);
    if (rc) {
        resp_store_error(resp, rc, "store list");
        return;
    }
    resp_json(resp, 200, out);
}

void h_store_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *sid = req_param(req, "store");
    json_t *out;
    int rc = id_is_plausible(sid) ? app->st->ops->store_get(app->st, req->brand_id, sid, &out)
                                  : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "store");
        return;
    }
    resp_json(resp, 200, out);
}

void h_store_public(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    resp_json(resp, 200, json_incref(req->store));
}
