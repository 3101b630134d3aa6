/* h_customers.c — signing up, and the customer's own profile (name and
 * email; changing the email needs the current password, and the email stays
 * unique whatever its case). */
#include "http/handlers.h"
#include "core/account.h"
#include "service/recog.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <string.h>

void h_customer_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *name = body_text(body, "name", NAME_MAX_CHARS, resp);
    if (!name) return;
    const char *email = body_text(body, "email", 254, resp);
    if (!email) return;
    char lower[256];
    if (!email_normalize(email, lower, sizeof lower)) {
        resp_problem(resp, 422, "email: not an email address");
        return;
    }
    const char *password = body_text(body, "password", PASSWORD_MAX, resp);
    if (!password) return;
    if (strlen(password) < PASSWORD_MIN) {
        resp_problem(resp, 422, "password: at least %d characters", PASSWORD_MIN);
        return;
    }
    /* new accounts per client address: each costs a password hash */
    int64_t now = time_now_us(), wait_us = 0;
    int limited = app->cfg.signups_per_hour
                      ? limiter_take(&app->rl_signup, req->remote, now, &wait_us)
                      : 0;
    if (limited == SK_ERATE) {
        resp_too_many_attempts(resp, wait_us);
        return;
    }
    if (limited) { /* could not be counted: refused (limiter.h) */
        limiter_unavailable(resp);
        return;
    }
    char pwhash[CRYPTO_PWHASH_MAX];
    if (http_pwhash(app, password, pwhash, resp)) return;
    json_t *c;
    /* sealed exactly as typed; found at login by its lower-cased form */
    int rc = app->st->ops->customer_create(app->st, name, email, pwhash, &c);
    if (rc == SK_ECONFLICT) {
        resp_problem(resp, 409, "email: an account with this email already exists; sign in");
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "customer");
        return;
    }
    char token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    const char *id = json_string_value(json_object_get(c, "id"));
    if (token_new(token)) {
        json_decref(c);
        resp_problem(resp, 500, "could not create a token");
        return;
    }
    token_hash(token, hash);
    rc = app->st->ops->token_create(app->st, PRINCIPAL_CUSTOMER, id, NULL, NULL, hash,
                                    time_now_us() + app->cfg.session_ttl_s * 1000000);
    if (rc) {
        json_decref(c);
        resp_store_error(resp, rc, "session");
        return;
    }
    json_object_set_new(c, "token", json_string(token));
    snprintf(resp->location, sizeof resp->location, "/v1/me");
    resp_json(resp, 201, c);
}

void h_me_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *c;
    int rc = app->st->ops->customer_get(app->st, req->who.id, &c);
    if (rc) {
        resp_store_error(resp, rc, "customer");
        return;
    }
    resp_json(resp, 200, c);
}

/* PATCH /v1/me: {name?, email?, current_password (with email)}. Everything
 * is checked before anything changes. */
void h_me_patch(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    int bad;
    const char *name = body_text_opt(body, "name", NAME_MAX_CHARS, resp, &bad);
    if (bad) return;
    const char *email = body_text_opt(body, "email", EMAIL_MAX, resp, &bad);
    if (bad) return;
    if (!name && !email) {
        resp_problem(resp, 422, "name or email: say what to change");
        return;
    }
    if (email) {
        char lower[EMAIL_MAX + 2];
        if (!email_normalize(email, lower, sizeof lower)) {
            resp_problem(resp, 422, "email: not an email address");
            return;
        }
        const char *current = body_text_opt(body, "current_password", PASSWORD_MAX, resp, &bad);
        if (bad) return;
        if (!current) {
            resp_problem(resp, 422, "current_password: needed to change your email");
            return;
        }
        if (account_check_password(app, req, resp, current)) return;
        /* sealed exactly as typed; found at login by its lower-cased form */
        int rc = app->st->ops->customer_email_set(app->st, req->who.id, email);
        if (rc == SK_ECONFLICT) {
            resp_problem(resp, 409, "email: another account uses this email");
            return;
        }
        if (rc) {
            resp_store_error(resp, rc, "customer");
            return;
        }
    }
    if (name) {
        int rc = app->st->ops->customer_rename(app->st, req->who.id, name);
        if (rc) {
            resp_store_error(resp, rc, "customer");
            return;
        }
        if (app->recog) recog_customer_changed(app->recog, req->who.id, NULL);
    }
    h_me_get(app, req, resp);
}
