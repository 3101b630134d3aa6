/*
 * h_counter.c — store keys, sightings from scanners, counter codes, the
 * counter display's cards (list, live stream, served and its undo), and
 * pairing a display by a short code.
 *
 * Pairing: the display asks for a pairing (public, limited per address) and
 * shows its code; staff claim the code for a store (POST .../displays with
 * pairing_code); the display's poll, with the secret only it holds, collects
 * the new key once. The code is 40 random bits in Crockford base32, read
 * back as forgivingly as a shopper's counter code (core/countercode.h).
 */
#include "http/handlers.h"
#include "core/choices.h"
#include "core/countercode.h"
#include "http/sse.h"
#include "service/recog.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIRING_TTL_US (10 * 60 * 1000000LL) /* a code lasts 10 minutes */

/* The stored form of a code: SHA-256 of its canonical "ABCD-EFGH". */
static void pairing_code_hash(uint64_t prefix40, char ret_code[COUNTERCODE_DISPLAY],
                              char ret_hash[TOKEN_HASH_MAX])
{
    countercode_format(prefix40, ret_code);
    token_hash(ret_code, ret_hash);
}

/* Staff claim a display's pairing code for this store: no key in the answer
 * (the display collects it). */
static void display_claim(struct app *app, struct http_req *req, struct http_resp *resp,
                          const char *code, const char *name)
{
    uint64_t v;
    if (countercode_parse(code, &v)) {
        resp_problem(resp, 422,
                     "pairing_code: the 8 letters and digits shown on the counter display, "
                     "like ABCD-EFGH");
        return;
    }
    char canon[COUNTERCODE_DISPLAY], hash[TOKEN_HASH_MAX];
    pairing_code_hash(v, canon, hash);
    json_t *out;
    int rc = app->st->ops->pairing_claim(app->st, req->brand_id, req->store_id, hash, name,
                                         time_now_us() + PAIRING_TTL_US, &out);
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404,
                     "no counter display is waiting with the code %s; codes last 10 minutes "
                     "— show a new one on the display",
                     canon);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "pairing");
        return;
    }
    resp_json(resp, 201, out);
}

static void store_key_create(struct app *app, struct http_req *req, struct http_resp *resp,
                             enum principal_kind kind)
{
    const char *name = kind == PRINCIPAL_SCANNER ? "scanner"
                       : kind == PRINCIPAL_POS   ? "point of sale"
                                                 : "display";
    if (req->json) {
        json_t *body = req_object(req, resp);
        if (!body) return;
        int bad;
        const char *n = body_text_opt(body, "name", 60, resp, &bad);
        if (bad) return;
        if (n) name = n;
        const char *code =
            kind == PRINCIPAL_DISPLAY ? body_text_opt(body, "pairing_code", 20, resp, &bad) : NULL;
        if (bad) return;
        if (code) {
            display_claim(app, req, resp, code, name);
            return;
        }
    }
    char token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    if (token_new(token)) {
        resp_problem(resp, 500, "could not create a key");
        return;
    }
    token_hash(token, hash);
    json_t *out;
    int rc = app->st->ops->store_key_create(app->st, req->brand_id, req->store_id, kind, name,
                                            hash, &out);
    if (rc) {
        resp_store_error(resp, rc, "store key");
        return;
    }
    json_object_set_new(out, "key", json_string(token));
    resp_json(resp, 201, out);
}

void h_pairing_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_us(), wait_us = 0;
    /* pairings asked for per client address (app->rl_pairing) */
    int limited = limiter_take(&app->rl_pairing, req->remote, now, &wait_us);
    if (limited && limited != SK_ERATE) {
        limiter_unavailable(resp);
        return;
    }
    if (limited) {
        long long secs = (long long)(wait_us / 1000000 + 1);
        snprintf(resp->retry_after, sizeof resp->retry_after, "%lld", secs);
        resp_problem(resp, 429,
                     "this address asked for too many pairing codes; wait %lld second%s and a "
                     "new code appears",
                     secs, secs == 1 ? "" : "s");
        return;
    }
    char id[ID_MAX], secret[TOKEN_MAX], secret_hash[TOKEN_HASH_MAX];
    char code[COUNTERCODE_DISPLAY], code_hash[TOKEN_HASH_MAX];
    json_t *out = NULL;
    int rc = SK_ECONFLICT;
    /* a code already waiting is drawn again (1 in 2^40 per waiting code) */
    for (int tries = 0; rc == SK_ECONFLICT && tries < 4; tries++) {
        uint8_t r[5];
        if (id_new("dpr", id) || token_new(secret) || crypto_random(r, sizeof r)) {
            rc = SK_ECRYPTO;
            break;
        }
        uint64_t v = 0;
        for (size_t i = 0; i < sizeof r; i++) v = v << 8 | r[i];
        pairing_code_hash(v, code, code_hash);
        token_hash(secret, secret_hash);
        rc = app->st->ops->pairing_create(app->st, id, secret_hash, code_hash,
                                          now + PAIRING_TTL_US, &out);
    }
    if (rc) {
        resp_store_error(resp, rc, "pairing");
        return;
    }
    json_object_set_new(out, "code", json_string(code));
    json_object_set_new(out, "secret", json_string(secret));
    resp_json(resp, 201, out);
}

void h_pairing_poll(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *secret = body_text(body, "secret", TOKEN_MAX, resp);
    if (!secret) return;
    const char *id = req_param(req, "pairing");
    char secret_hash[TOKEN_HASH_MAX], key[TOKEN_MAX], key_hash[TOKEN_HASH_MAX];
    if (token_new(key)) {
        resp_problem(resp, 500, "could not create a key");
        return;
    }
    token_hash(secret, secret_hash);
    token_hash(key, key_hash);
    json_t *out;
    int rc = id_is_plausible(id)
                 ? app->st->ops->pairing_poll(app->st, id, secret_hash, key_hash, &out)
                 : SK_ENOTFOUND;
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404,
                     "no pairing with this id and secret; this display needs a new code");
        return;
    }
    if (rc == SK_ECONFLICT) {
        resp_problem(resp, 410, "this pairing code has expired; this display needs a new code");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "pairing");
        return;
    }
    /* the key exists from this answer on, and only in it */
    if (!strcmp(json_string_value(json_object_get(out, "status")), "paired"))
        json_object_set_new(out, "key", json_string(key));
    resp_json(resp, 200, out);
}

void h_scanner_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    store_key_create(app, req, resp, PRINCIPAL_SCANNER);
}

void h_display_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    store_key_create(app, req, resp, PRINCIPAL_DISPLAY);
}

void h_pos_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    store_key_create(app, req, resp, PRINCIPAL_POS);
}

void h_sightings(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    json_t *list = json_object_get(body, "sightings");
    if (!json_is_array(list)) {
        resp_problem(resp, 422, "sightings: required, an array");
        return;
    }
    size_t n = json_array_size(list);
    if (n > app->cfg.sightings_max) {
        resp_problem(resp, 413, "sightings: at most %zu in one batch, got %zu",
                     app->cfg.sightings_max, n);
        return;
    }
    struct sighting *items = n ? calloc(n, sizeof *items) : NULL;
    if (n && !items) {
        resp_problem(resp, 503, "out of memory");
        return;
    }
    int64_t now = time_now_us();
    size_t i;
    json_t *it;
    /* validate the whole batch before anything is applied */
    json_array_foreach(list, i, it) {
        const char *eid = json_string_value(json_object_get(it, "eid"));
        if (!json_is_object(it) || !eid || hex_decode(eid, items[i].eid, EID_LEN)) {
            resp_problem(resp, 422, "sightings[%zu].eid: required, 16 hex digits", i);
            goto out;
        }
        json_t *rssi = json_object_get(it, "rssi");
        if (rssi && !json_is_null(rssi) &&
            (!json_is_integer(rssi) || json_integer_value(rssi) < -127 ||
             json_integer_value(rssi) > 20)) {
            resp_problem(resp, 422, "sightings[%zu].rssi: a whole number from -127 to 20", i);
            goto out;
        }
        items[i].rssi = rssi ? (int)json_integer_value(rssi) : 0;
        items[i].seen_us = now;
        json_t *seen = json_object_get(it, "seen_at");
        if (seen && !json_is_null(seen)) {
            int64_t t;
            if (!json_is_string(seen) || time_parse_rfc3339(json_string_value(seen), &t)) {
                resp_problem(resp, 422, "sightings[%zu].seen_at: an RFC 3339 time", i);
                goto out;
            }
            if (t < now) items[i].seen_us = t;
        }
    }
    int rc = recog_sightings(app->recog, req->who.store_id, items, n);
    if (rc) resp_store_error(resp, rc, "sightings");
    else resp_json(resp, 202, json_pack("{s:I}", "received", (json_int_t)n));
out:
    free(items);
}

void h_code(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *code = body_text(body, "code", 20, resp);
    if (!code) return;
    char cid[ID_MAX];
    int rc = recog_code_lookup(app->recog, code, cid);
    if (rc == SK_EINVAL) {
        resp_problem(resp, 422, "code: 8 letters and digits, as shown in the shopper's app");
        return;
    }
    if (!rc) rc = recog_presence(app->recog, req->store_id, cid, "code");
    if (rc == SK_ENOTFOUND || rc == SK_EFORBIDDEN || rc == SK_ECONFLICT) {
        resp_problem(resp, 404, "this code is not recognised at this store; ask the shopper "
                                "for the code shown now");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "presence");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s}", "status", "recognised"));
}

void h_cards(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *items;
    int rc = recog_cards(app->recog, req->store_id, &items);
    if (rc) {
        resp_store_error(resp, rc, "cards");
        return;
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
}

void h_cards_stream(struct app *app, struct http_req *req, struct http_resp *resp)
{
    struct sse_client *c = sse_subscribe(app->hub, req->store_id, req->who.id);
    if (!c) {
        resp_problem(resp, 503, "cannot subscribe now");
        return;
    }
    /* the current cards first, so a (re)connecting display is up to date;
     * a card published meanwhile may come twice, which the page ignores */
    json_t *items;
    if (recog_cards(app->recog, req->store_id, &items) == 0) {
        size_t i;
        json_t *card;
        for (i = json_array_size(items); i-- > 0;) {
            card = json_array_get(items, i);
            sse_send(c, "card", card);
        }
        json_decref(items);
    }
    resp->status = 200;
    resp->stream = c;
    resp->content_type = "text/event-stream";
}

void h_served(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *vid = req_param(req, "visit");
    int rc = id_is_plausible(vid) ? recog_served(app->recog, req->store_id, vid) : SK_ENOTFOUND;
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "no open card for this visit at this store");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "visit");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:b}", "visit", vid, "served", 1));
}

void h_served_undo(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *vid = req_param(req, "visit");
    int rc = id_is_plausible(vid) ? recog_unserve(app->recog, req->store_id, vid) : SK_ENOTFOUND;
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "no open card for this visit at this store");
        return;
    }
    if (rc == SK_ECONFLICT) {
        resp_problem(resp, 409,
                     "this card was marked served more than %d seconds ago and can no longer "
                     "be undone",
                     RECOG_UNSERVE_S);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "visit");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:b}", "visit", vid, "served", 0));
}

void h_recog_stats(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    struct recog_stats s;
    recog_stats(app->recog, &s);
    resp_json(resp, 200,
              json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                        "received",
                        (json_int_t)s.received, "resolved", (json_int_t)s.resolved,
                        "dropped_unknown", (json_int_t)s.unknown, "dropped_not_member",
                        (json_int_t)s.not_member, "collisions", (json_int_t)s.collisions,
                        "replay_flagged", (json_int_t)s.replay_flagged, "presences",
                        (json_int_t)s.presences, "visits_opened", (json_int_t)s.visits_opened,
                        "visits_joined", (json_int_t)s.visits_joined, "visits_open",
                        (json_int_t)s.visits_held,
                        "visits_closed", (json_int_t)s.visits_closed, "devices",
                        (json_int_t)recog_device_count(app->recog), "displays_connected",
                        (json_int_t)sse_hub_clients(app->hub)));
}
