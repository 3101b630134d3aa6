/*
 * h_stores.c — a brand's stores: open, edit, close; and a store's keys
 * (scanners, counter displays, tills): list with last use, revoke.
 */
#include "http/handlers.h"
#include "core/qr.h"
#include "http/sse.h"
#include "util/err.h"
#include "util/ids.h"

#include <stdio.h>
#include <string.h>

#define ZONEINFO "/usr/share/zoneinfo"

/* "UTC" or a zone of the tz database (Debian's tzdata): the name is safe
 * characters only, and a TZif file by that name exists. */
static int tz_is_known(const char *tz)
{
    size_t n = strlen(tz);
    if (n < 3 || n > 64 || strstr(tz, "..") || tz[0] == '/' || tz[n - 1] == '/') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = tz[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    if (strcmp(tz, "UTC") == 0) return 1;
    char path[128];
    snprintf(path, sizeof path, ZONEINFO "/%s", tz);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[4];
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    return ok;
}

/* Checks the store fields of body; required ones must be there on create. */
static int store_fields_ok(json_t *body, int create, struct http_resp *resp)
{
    int bad;
    const char *name = body_text_opt(body, "name", 100, resp, &bad);
    if (bad) return 0;
    if (create && !name) {
        resp_problem(resp, 422, "name: required");
        return 0;
    }
    const char *tz = body_text_opt(body, "timezone", 64, resp, &bad);
    if (bad) return 0;
    if (create && !tz) {
        resp_problem(resp, 422, "timezone: required");
        return 0;
    }
    if (tz && !tz_is_known(tz)) {
        resp_problem(resp, 422,
                     "timezone: \"%.64s\" is not a time zone; use one such as "
                     "\"America/New_York\", \"Europe/London\" or \"UTC\"",
                     tz);
        return 0;
    }
    body_text_opt(body, "city", 100, resp, &bad);
    if (bad) return 0;
    body_text_opt(body, "address", 200, resp, &bad);
    return !bad;
}

void h_store_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    if (!store_fields_ok(body, 1, resp)) return;
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

void h_store_patch(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body || !store_fields_ok(body, 0, resp)) return;
    json_t *out;
    int rc = app->st->ops->store_update(app->st, req->brand_id, req->store_id, body, &out);
    if (rc == SK_ECONFLICT) {
        resp_problem(resp, 409, "this store is closed; a closed store cannot be changed");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "store");
        return;
    }
    resp_json(resp, 200, out);
}

void h_store_close(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *out;
    int rc = app->st->ops->store_close(app->st, req->brand_id, req->store_id, &out);
    if (rc) {
        resp_store_error(resp, rc, "store");
        return;
    }
    if (app->hub) sse_cut(app->hub, NULL, req->store_id); /* its displays go dark now */
    resp_json(resp, 200, out);
}

void h_store_keys(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *rows;
    int rc = app->st->ops->store_key_list(app->st, req->store_id, &rows);
    if (rc) {
        resp_store_error(resp, rc, "key list");
        return;
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", rows));
}

void h_store_key_revoke(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *kid = req_param(req, "key");
    json_t *row;
    int rc = id_is_plausible(kid)
                 ? app->st->ops->store_key_revoke(app->st, req->store_id, kid, &row)
                 : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "key of this store");
        return;
    }
    if (app->hub) sse_cut(app->hub, kid, NULL); /* a display streaming with it stops now */
    resp_json(resp, 200, row);
}

/* Printable ASCII only: what an address in a QR code and a JSON string can
 * both carry as it is. */
static int is_printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

/* The door sign's QR code: the address of the store's public notice, built
 * from the base the page was opened at (?base=https://host). The base is
 * printable ASCII (a browser sends a host in punycode): a decoded %EF or
 * %0A would otherwise reach the answer, and a byte that is not UTF-8 makes
 * the JSON answer impossible to build (it went out as an empty 200). */
void h_store_sign(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    const char *base = req_query(req, "base");
    if (!base || strlen(base) > 120 || !is_printable_ascii(base) ||
        (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) ||
        strpbrk(base, " \"<>?#")) {
        resp_problem(resp, 422, "base: the address the service is reached at, such as "
                                "https://shop.example (up to 120 characters)");
        return;
    }
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    char url[256];
    snprintf(url, sizeof url, "%.*s/stores/%s", (int)n, base, req->store_id);
    static _Thread_local struct qr q;
    static _Thread_local char svg[65536];
    if (qr_encode(url, &q) || qr_svg(&q, 4, svg, sizeof svg)) {
        resp_problem(resp, 422, "base: too long for a QR code");
        return;
    }
    resp_json(resp, 200,
              json_pack("{s:s, s:s, s:s}", "url", url, "svg", svg, "store",
                        json_string_value(json_object_get(req->store, "name"))));
}
