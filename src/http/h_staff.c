/*
 * h_staff.c — sessions: log in (staff or customer), who am I, log out.
 * Login attempts are limited per client address (30 a minute) and failed
 * ones per address+account (5 in 15 minutes); over either, 429 with
 * Retry-After. There is deliberately no limit per account alone: wrong
 * passwords from a stranger's address never refuse the owner at another
 * address (a stranger with many addresses is slowed by the per-address
 * limits and by scrypt, not by locking the account).
 * The counts hold across the nodes sharing a PostgreSQL database
 * (limiter.h); a count that cannot be checked or made refuses the login
 * with 503 (fail closed), never lets it through uncounted.
 */
#include "http/handlers.h"
#include "core/account.h"
#include "core/choices.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

/* The key of an address+account counter. */
static void pair_key(char *buf, size_t len, const char *remote, const char *email)
{
    snprintf(buf, len, "%s|%s", remote, email);
}

/* A login refused by a limit: 429 when over it, 503 when it could not be
 * checked (limiter.h: fail closed). */
static void login_refused(struct http_resp *resp, int rc, int64_t wait_us)
{
    if (rc == SK_ERATE) resp_too_many_attempts(resp, wait_us);
    else limiter_unavailable(resp);
}

void h_session_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *email = body_text(body, "email", 254, resp);
    if (!email) return;
    const char *password = body_text(body, "password", PASSWORD_MAX, resp);
    if (!password) return;
    int bad;
    const char *kind = body_text_opt(body, "kind", 10, resp, &bad);
    if (bad) return;
    if (kind && strcmp(kind, "staff") && strcmp(kind, "customer")) {
        resp_problem(resp, 422, "kind: must be \"staff\" or \"customer\"");
        return;
    }
    char lower[256];
    if (!email_normalize(email, lower, sizeof lower)) {
        resp_problem(resp, 422, "email: not an email address");
        return;
    }

    int64_t now = time_now_us(), wait_us = 0;
    char pair[sizeof req->remote + sizeof lower + 2];
    pair_key(pair, sizeof pair, req->remote, lower);
    int limited = limiter_check(&app->rl_addr, req->remote, now, &wait_us);
    if (!limited) limited = limiter_check(&app->rl_account, pair, now, &wait_us);
    if (!limited) limited = limiter_take(&app->rl_addr, req->remote, now, &wait_us);
    if (limited) {
        login_refused(resp, limited, wait_us);
        return;
    }

    struct login_rec rec;
    enum principal_kind pk = PRINCIPAL_NONE;
    int ok = 0;
    if ((!kind || !strcmp(kind, "staff")) && app->st->ops->staff_login(app->st, lower, &rec) == 0) {
        if (http_pwverify(app, password, rec.pwhash, resp, &ok)) return;
        if (ok) pk = PRINCIPAL_STAFF;
    }
    if (pk == PRINCIPAL_NONE && (!kind || !strcmp(kind, "customer")) &&
        app->st->ops->customer_login(app->st, lower, &rec) == 0) {
        if (http_pwverify(app, password, rec.pwhash, resp, &ok)) return;
        if (ok) pk = PRINCIPAL_CUSTOMER;
    }
    if (pk == PRINCIPAL_NONE) {
        /* a failure that cannot be counted is refused: else a database that
         * answers reads but not writes would leave guesses uncounted */
        if (limiter_hit(&app->rl_account, pair, now)) {
            limiter_unavailable(resp);
            return;
        }
        resp_problem(resp, 401, "the email or the password is wrong");
        return;
    }
    /* a window not forgotten still ends by itself: the sign-in goes on */
    (void)limiter_clear(&app->rl_account, pair);

    char token[TOKEN_MAX], hash[TOKEN_HASH_MAX], exp[TIME_RFC3339_LEN];
    if (token_new(token)) {
        resp_problem(resp, 500, "could not create a token");
        return;
    }
    token_hash(token, hash);
    int64_t ttl = pk == PRINCIPAL_STAFF && app->cfg.staff_session_ttl_s
                      ? app->cfg.staff_session_ttl_s
                      : app->cfg.session_ttl_s;
    int64_t expires = now + ttl * 1000000;
    int rc = app->st->ops->token_create(app->st, pk, rec.id,
                                        pk == PRINCIPAL_STAFF ? rec.brand_id : NULL, NULL, hash,
                                        expires);
    if (rc) {
        resp_store_error(resp, rc, "session");
        return;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "token", token, "kind",
                            pk == PRINCIPAL_STAFF ? "staff" : "customer", "id", rec.id,
                            "expires_at", time_fmt_rfc3339(expires, exp, sizeof exp));
    if (pk == PRINCIPAL_STAFF) {
        json_object_set_new(out, "brand_id", json_string(rec.brand_id));
        json_object_set_new(out, "role", json_string(rec.role));
    }
    resp_json(resp, 201, out);
}

void h_session_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    static const char *const kinds[] = {"",        "operator", "staff", "customer",
                                        "scanner", "display",  "pos"};
    json_t *out = json_pack("{s:s, s:s}", "kind", kinds[req->who.kind], "id", req->who.id);
    if (req->who.brand_id[0]) json_object_set_new(out, "brand_id", json_string(req->who.brand_id));
    if (req->who.role[0]) json_object_set_new(out, "role", json_string(req->who.role));
    if (req->who.kind == PRINCIPAL_STAFF) {
        json_t *grants = json_array();
        for (size_t i = 0; i < req->who.ngrants; i++) {
            json_t *g = json_pack("{s:s}", "role", role_name(req->who.grants[i].role));
            if (req->who.grants[i].store_id[0])
                json_object_set_new(g, "store", json_string(req->who.grants[i].store_id));
            json_array_append_new(grants, g);
        }
        json_object_set_new(out, "grants", grants);
    }
    if (req->who.store_id[0]) json_object_set_new(out, "store_id", json_string(req->who.store_id));
    resp_json(resp, 200, out);
}

void h_session_delete(struct app *app, struct http_req *req, struct http_resp *resp)
{
    int rc = app->st->ops->token_revoke(app->st, req->who.token_hash);
    if (rc) {
        resp_store_error(resp, rc, "session");
        return;
    }
    resp_json(resp, 200, json_pack("{s:b}", "revoked", 1));
}
