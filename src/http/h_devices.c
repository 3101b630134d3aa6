/*
 * h_devices.c — the shopper's devices (Eddystone-EID), their counter code,
 * and the app check-in channel.
 */
#include "http/handlers.h"
#include "core/card.h"
#include "core/choices.h"
#include "core/qr.h"
#include "service/recog.h"
#include "service/suggest_svc.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <string.h>

#define DEVICE_NAME_MAX 60

void h_eid_params(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    uint8_t pub[32];
    char hex[65];
    recog_public_key(app->recog, pub);
    hex_encode(pub, sizeof pub, hex);
    const struct recog_config *c = recog_config(app->recog);
    resp_json(resp, 200,
              json_pack("{s:s, s:i, s:i, s:i, s:[s,s]}", "public_key", hex,
                        "min_rotation_exponent", (int)c->k_min, "max_rotation_exponent",
                        (int)c->k_max, "tolerance_windows", (int)c->tolerance, "methods",
                        "x25519", "shared"));
}

static int int_field(json_t *body, const char *name, long long min, long long max,
                     long long *ret, struct http_resp *resp)
{
    json_t *v = json_object_get(body, name);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        resp_problem(resp, 422, "%s: required, a whole number from %lld to %lld", name, min, max);
        return -1;
    }
    *ret = json_integer_value(v);
    return 0;
}

static int hex_field(json_t *body, const char *name, uint8_t *out, size_t n,
                     struct http_resp *resp)
{
    const char *s = json_string_value(json_object_get(body, name));
    if (!s || hex_decode(s, out, n)) {
        resp_problem(resp, 422, "%s: required, %zu hex digits", name, 2 * n);
        return -1;
    }
    return 0;
}

void h_device_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *name = body_text(body, "name", DEVICE_NAME_MAX, resp);
    if (!name) return;
    int bad;
    const char *method = body_text_opt(body, "method", 10, resp, &bad);
    if (bad) return;
    if (!method) method = "x25519";
    long long k;
    const struct recog_config *c = recog_config(app->recog);
    if (int_field(body, "rotation_exponent", c->k_min, c->k_max, &k, resp)) return;
    json_t *dev;
    int rc;
    if (strcmp(method, "shared") == 0) {
        rc = recog_register_shared(app->recog, req->who.id, name, (unsigned)k, &dev);
    } else if (strcmp(method, "x25519") == 0) {
        uint8_t pub[32], eid[EID_LEN];
        long long clock;
        if (hex_field(body, "public_key", pub, sizeof pub, resp)) return;
        if (int_field(body, "clock", 0, 4294967295LL, &clock, resp)) return;
        if (hex_field(body, "eid", eid, sizeof eid, resp)) return;
        char err[256];
        rc = recog_register_x25519(app->recog, req->who.id, name, pub, (unsigned)k,
                                   (uint32_t)clock, eid, &dev, err, sizeof err);
        if (rc == SK_EINVAL) {
            resp_problem(resp, 422, "%s", err);
            return;
        }
    } else {
        resp_problem(resp, 422, "method: must be \"x25519\" or \"shared\"");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "device");
        return;
    }
    snprintf(resp->location, sizeof resp->location, "/v1/me/devices/%s",
             json_string_value(json_object_get(dev, "id")));
    resp_json(resp, 201, dev);
}

void h_device_list(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *items;
    int rc = app->st->ops->device_list(app->st, req->who.id, &items);
    if (rc) {
        resp_store_error(resp, rc, "devices");
        return;
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
}

void h_device_delete(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *id = req_param(req, "device");
    int rc = id_is_plausible(id) ? recog_device_delete(app->recog, req->who.id, id) : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "device");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:b}", "id", id, "deleted", 1));
}

void h_device_code(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *id = req_param(req, "device");
    json_t *out;
    int rc = id_is_plausible(id) ? recog_counter_code(app->recog, req->who.id, id, &out)
                                 : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "device");
        return;
    }
    /* the same code as a QR image, for the counter's scanner */
    struct qr q;
    char svg[8192];
    if (qr_encode(json_string_value(json_object_get(out, "qr")), &q) == 0 &&
        qr_svg(&q, 4, svg, sizeof svg) == 0)
        json_object_set_new(out, "svg", json_string(svg));
    resp_json(resp, 200, out);
}

void h_my_presence(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *sid = body_text(body, "store", ID_MAX, resp);
    if (!sid) return;
    json_t *store;
    if (!id_is_plausible(sid) || app->st->ops->store_get(app->st, NULL, sid, &store)) {
        resp_problem(resp, 422, "store: no such store");
        return;
    }
    int closed = !json_is_null(json_object_get(store, "closed_at"));
    json_decref(store);
    if (closed) {
        resp_problem(resp, 409, "this store has closed; it cannot recognise anyone any more");
        return;
    }
    int rc = recog_presence(app->recog, sid, req->who.id, "app");
    if (rc == SK_EFORBIDDEN) {
        resp_problem(resp, 403,
                     "this store's brand cannot recognise you: join it and grant "
                     "\"recognition\" first");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "presence");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s}", "status", "recognised"));
}

/* "What staff will see": the card a counter display would show now, under
 * the current grants. The customer looking at their own data is not a
 * brand's look, so nothing is logged. */
void h_card_preview(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *data;
    int rc = app->st->ops->card_data(app->st, req->brand_id, req->who.id, &data);
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "you are not a member of %s",
                     json_string_value(json_object_get(req->brand, "name")));
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "card");
        return;
    }
    char now[TIME_RFC3339_LEN], fields[64];
    struct card_input in = {
        .visit_id = "preview",
        .store_id = "",
        .channel = "device",
        .opened_at = time_fmt_rfc3339(time_now_us(), now, sizeof now),
    };
    int recognised;
    json_t *card = card_from_data(data, &in, fields, sizeof fields, &recognised);
    /* what a new visit would add: suggestions and the usual, nothing
     * recorded as shown */
    json_t *list = NULL, *usual = NULL;
    if (recognised && app->sugg &&
        !suggest_svc_card(app->sugg, req->brand_id, req->who.id, NULL, &list, &usual))
        card_add_suggestions(card, list, usual, fields, sizeof fields);
    json_decref(list);
    json_decref(usual);
    /* without recognition no card is shown at all */
    json_t *out = json_pack("{s:b, s:o, s:O}", "shown", recognised, "card", card, "purposes",
                            json_object_get(data, "purposes"));
    json_decref(data);
    resp_json(resp, 200, out);
}
