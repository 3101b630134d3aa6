/* h_brands.c — brands, their simple choices and their notice. */
#include "http/handlers.h"
#include "core/choices.h"
#include "core/purpose.h"
#include "util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BRAND_NAME_MAX 100
#define NOTICE_TEXT_MAX 8000
#define FAQ_MAX 40
#define FAQ_TEXT_MAX 2000

void h_brand_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *name = body_text(body, "name", BRAND_NAME_MAX, resp);
    if (!name) return;
    const char *slug = body_text(body, "slug", SLUG_MAX, resp);
    if (!slug) return;
    if (!slug_is_valid(slug)) {
        resp_problem(resp, 422,
                     "slug: 2-%d lower-case letters, digits and '-', starting with a letter "
                     "or digit",
                     SLUG_MAX);
        return;
    }
    if (strncmp(slug, "brd_", 4) == 0) {
        resp_problem(resp, 422, "slug: may not start with \"brd_\"");
        return;
    }
    json_t *b;
    int rc = app->st->ops->brand_create(app->st, name, slug, &b);
    if (rc == SK_ECONFLICT) {
        resp_problem(resp, 409, "slug: a brand with slug \"%s\" already exists", slug);
        return;
    }
    if (rc) { resp_store_error(resp, rc, "brand"); return; }
    snprintf(resp->location, sizeof resp->location, "/v1/brands/%s",
             json_string_value(json_object_get(b, "id")));
    resp_json(resp, 201, b);
}

void h_brand_list(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    if (req_page(req, resp, &pg)) return;
    json_t *out;
    int rc = app->st->ops->brand_list(app->st, &pg, &out);
    if (rc) { resp_store_error(resp, rc, "brand list"); return; }
    resp_json(resp, 200, out);
}

void h_brand_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    resp_json(resp, 200, json_incref(req->brand));
}

void h_choices_put(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *defs = req->json;
    if (json_is_object(defs)) defs = json_object_get(defs, "choices");
    if (!defs) {
        resp_problem(resp, 400, "send the choices as a JSON array (or {\"choices\": [...]})");
        return;
    }
    char err[256];
    json_t *norm;
    if (choices_validate(defs, &norm, err, sizeof err)) {
        resp_problem(resp, 422, "%s", err);
        return;
    }
    /* A choice's purpose names a partner brand that must exist. */
    size_t i;
    json_t *d;
    json_array_foreach(norm, i, d) {
        char partner[PURPOSE_LEN];
        purpose_check(json_string_value(json_object_get(d, "purpose")), partner);
        json_t *pb;
        if (partner[0] && app->st->ops->brand_get(app->st, partner, &pb)) {
            resp_problem(resp, 422, "choices[%zu].purpose: no brand \"%s\"", i, partner);
            json_decref(norm);
            return;
        }
        if (partner[0]) json_decref(pb);
    }
    json_t *out;
    int rc = app->st->ops->choices_put(app->st, req->brand_id, norm, &out);
    json_decref(norm);
    if (rc) { resp_store_error(resp, rc, "choices"); return; }
    resp_json(resp, 200, out);
}

void h_choices_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    int64_t version = 0;
    const char *v = req_query(req, "version");
    if (v) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || *end || end == v || n < 1) {
            resp_problem(resp, 422, "version: must be a whole number from 1");
            return;
        }
        version = n;
    }
    json_t *out;
    int rc = app->st->ops->choices_get(app->st, req->brand_id, version, &out);
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "the brand has no choices version %lld", (long long)version);
        return;
    }
    if (rc) { resp_store_error(resp, rc, "choices"); return; }
    resp_json(resp, 200, out);
}

void h_notice_put(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *text = json_string_value(json_object_get(body, "text"));
    if (!text || !text_is_clean_lines(text, NOTICE_TEXT_MAX)) {
        resp_problem(resp, 422,
                     "text: required, 1-%d characters; line breaks are kept, other control "
                     "characters (tabs included) are not allowed",
                     NOTICE_TEXT_MAX);
        return;
    }
    json_t *faq = json_object_get(body, "faq");
    json_t *nfaq = json_array();
    if (faq && !json_is_null(faq)) {
        if (!json_is_array(faq) || json_array_size(faq) > FAQ_MAX) {
            resp_problem(resp, 422, "faq: must be an array of at most %d {q, a}", FAQ_MAX);
            json_decref(nfaq);
            return;
        }
        size_t i;
        json_t *e;
        json_array_foreach(faq, i, e) {
            const char *q = json_string_value(json_object_get(e, "q"));
            const char *a = json_string_value(json_object_get(e, "a"));
            if (!q || !a || !text_is_clean(q, FAQ_TEXT_MAX) ||
                !text_is_clean_lines(a, FAQ_TEXT_MAX)) {
                resp_problem(resp, 422,
                             "faq[%zu]: needs q (one line) and a (line breaks allowed), each "
                             "1-%d characters",
                             i, FAQ_TEXT_MAX);
                json_decref(nfaq);
                return;
            }
            json_array_append_new(nfaq, json_pack("{s:s, s:s}", "q", q, "a", a));
        }
    }
    json_t *notice = json_pack("{s:s, s:o}", "text", text, "faq", nfaq);
    json_t *out;
    int rc = app->st->ops->notice_put(app->st, req->brand_id, notice, &out);
    json_decref(notice);
    if (rc) { resp_store_error(resp, rc, "notice"); return; }
    resp_json(resp, 200, out);
}

void h_notice_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *v = req_query(req, "version");
    if (v) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*end || end == v || n < 1 || n > 1000000) {
            resp_problem(resp, 422, "version: a version number (1, 2, ...)");
            return;
        }
        json_t *out;
        int rc = app->st->ops->notice_get(app->st, req->brand_id, n, &out);
        if (rc == SK_ENOTFOUND)
            resp_problem(resp, 404, "the brand has no notice version %lld", n);
        else if (rc)
            resp_store_error(resp, rc, "notice");
        else
            resp_json(resp, 200, out);
        return;
    }
    json_t *n = json_object_get(req->brand, "notice");
    if (!n || json_is_null(n)) {
        resp_problem(resp, 404, "the brand has not published a notice yet");
        return;
    }
    resp_json(resp, 200, json_incref(n));
}
