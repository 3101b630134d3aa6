/*
 * h_catalogue.c — a brand's catalogue (items, CSV import), purchases from
 * staff and point-of-sale keys (idempotent), and the customer's own purchase
 * history. The store keeps consent: a purchase is linked to the customer only
 * under a current "history" grant, checked in the INSERT itself.
 */
#include "http/handlers.h"
#include "core/catalogue.h"
#include "service/import.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>

void h_item_put(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *sku = req_param(req, "sku");
    if (!sku_is_valid(sku)) {
        resp_problem(resp, 422, "sku: 1-%d of A-Z a-z 0-9 _ -", ITEM_SKU_MAX);
        return;
    }
    json_t *body = req_object(req, resp);
    if (!body) return;
    json_t *item;
    char err[256];
    if (item_normalize(body, "", &item, err, sizeof err)) {
        resp_problem(resp, 422, "%s", err);
        return;
    }
    json_t *out;
    int created = 0;
    int rc = app->st->ops->item_put(app->st, req->brand_id, sku, item, &out, &created);
    json_decref(item);
    if (rc) {
        resp_store_error(resp, rc, "item");
        return;
    }
    resp_json(resp, created ? 201 : 200, out);
}

void h_item_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *sku = req_param(req, "sku");
    json_t *out;
    int rc = sku_is_valid(sku) ? app->st->ops->item_get(app->st, req->brand_id, sku, &out)
                               : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "item");
        return;
    }
    resp_json(resp, 200, out);
}

void h_item_list(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    if (req_page(req, resp, &pg)) return;
    json_t *out;
    int rc = app->st->ops->item_list(app->st, req->brand_id, &pg, &out);
    if (rc) {
        resp_store_error(resp, rc, "catalogue");
        return;
    }
    resp_json(resp, 200, out);
}

void h_item_import(struct app *app, struct http_req *req, struct http_resp *resp)
{
    if (!req->csv) {
        resp_problem(resp, 415, "send the catalogue as a text/csv body (Content-Type: text/csv)");
        return;
    }
    json_t *out;
    char err[256];
    int rc = import_items(app->st, req->brand_id, req->csv, req->csv_len, NULL, NULL, &out, err,
                          sizeof err);
    if (rc == SK_EINVAL) {
        resp_problem(resp, 422, "%s", err);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "import");
        return;
    }
    resp_json(resp, 200, out);
}


void h_purchase_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *key = req_header(req, "Idempotency-Key");
    if (!key) {
        resp_problem(resp, 422,
                     "Idempotency-Key: required header (one per sale, the same on a retry)");
        return;
    }
    if (!idem_key_is_valid(key)) {
        resp_problem(resp, 422, "Idempotency-Key: 1-%d printable ASCII characters", IDEM_KEY_MAX);
        return;
    }
    json_t *body = req_object(req, resp);
    if (!body) return;
    json_t *p;
    char err[256];
    if (purchase_normalize(body, time_now_us(), &p, err, sizeof err)) {
        resp_problem(resp, 422, "%s", err);
        return;
    }
    const char *store = json_string_value(json_object_get(p, "store"));
    /* a point-of-sale key posts only for its own store */
    if (req->who.kind == PRINCIPAL_POS && strcmp(req->who.store_id, store) != 0) {
        json_decref(p);
        resp_problem(resp, 403, "store: this point-of-sale key belongs to another store");
        return;
    }
    /* staff record sales where one of their roles holds */
    if (req->who.kind == PRINCIPAL_STAFF && !who_may_act_at_store(req, 0, store)) {
        resp_problem(resp, 403, "store: you hold no role at the store %s (you hold %s)", store,
                     req->who.role[0] ? req->who.role : "no role");
        json_decref(p); /* store points into p */
        return;
    }
    json_object_set_new(p, "source", json_string("api"));
    /* the request as sent, canonical: a retry must carry the same body */
    char hash[65];
    uint8_t h[32];
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    crypto_sha256(canon ? canon : "", canon ? strlen(canon) : 0, h);
    free(canon);
    hex_encode(h, sizeof h, hash);
    json_t *out;
    int replayed = 0, bad = -1;
    int rc = app->st->ops->purchase_create(app->st, req->brand_id, key, hash, p, &out, &replayed,
                                           &bad);
    json_decref(p);
    if (rc == SK_EINVAL && bad >= 0) {
        resp_problem(resp, 422, "lines[%d].sku: no such item in the brand's catalogue", bad);
        return;
    }
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 422, "store: no such store in this brand");
        return;
    }
    if (rc == SK_ECONFLICT) {
        resp_problem(resp, 409,
                     "Idempotency-Key: already used for a different purchase; use a new key");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "purchase");
        return;
    }
    /* a retry gets the same answer: the purchase the key made */
    (void)replayed;
    resp_json(resp, 201, out);
}

void h_my_purchases(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct page pg;
    if (req_page(req, resp, &pg)) return;
    json_t *out;
    int rc =
        app->st->ops->purchase_list_mine(app->st, req->who.id, req->brand_id, &pg, &out);
    if (rc) {
        resp_store_error(resp, rc, "purchases");
        return;
    }
    resp_json(resp, 200, out);
}
