/*
 * h_account.c — a signed-in person's password, and forgotten passwords.
 *
 *   PUT  /v1/sessions/current/password   change my password (staff or shopper;
 *                                        the current one required; my other
 *                                        sessions end)
 *   POST /v1/password-resets             mail a one-time link (public; the
 *                                        same 202 whether the email is known)
 *   GET  /v1/password-links/{token}      what a link is for, while it works
 *   POST /v1/password-links/{token}      choose the password through a link
 *
 * Invariants:
 *  1. Asking for a reset changes nothing but creating a link: the password
 *     changes only when the link is used.
 *  2. The reset answer is the same body, status and work on the request
 *     thread for a known and an unknown email: looking the email up, making
 *     the link and sending the mail all happen on the mailer's thread.
 *  3. Links, tokens and passwords are never logged (server.c redacts an
 *     sk_ token in a logged path).
 *  4. Wrong current passwords are limited per signed-in account (5 in 15
 *     minutes), so a stolen session cannot be used to guess the password.
 *  5. The limits hold across the nodes sharing a PostgreSQL database
 *     (limiter.h); one that cannot be checked refuses with 503, the same
 *     for every email.
 */
#include "http/handlers.h"
#include "core/account.h"
#include "core/ratelimit.h"
#include "service/mail.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_too_many_attempts(struct http_resp *resp, int64_t wait_us)
{
    char words[32];
    snprintf(resp->retry_after, sizeof resp->retry_after, "%lld",
             (long long)ratelimit_wait_seconds(wait_us));
    ratelimit_wait_words(wait_us, words, sizeof words);
    resp_problem(resp, 429, "Too many attempts. Try again in %s.", words);
}

/* A new password from field of body, with the sign-up rules; else a 422. */
static const char *new_password(json_t *body, const char *field, struct http_resp *resp)
{
    const char *pw = body_text(body, field, PASSWORD_MAX, resp);
    if (!pw) return NULL;
    if (strlen(pw) < PASSWORD_MIN) {
        resp_problem(resp, 422, "%s: at least %d characters", field, PASSWORD_MIN);
        return NULL;
    }
    return pw;
}

int account_check_password(struct app *app, struct http_req *req, struct http_resp *resp,
                           const char *password)
{
    int64_t now = time_now_us(), wait_us = 0;
    int limited = limiter_check(&app->rl_pwcheck, req->who.id, now, &wait_us);
    if (limited == SK_ERATE) {
        resp_too_many_attempts(resp, wait_us);
        return -1;
    }
    if (limited) {
        limiter_unavailable(resp);
        return -1;
    }
    char pwhash[CRYPTO_PWHASH_MAX];
    int rc = app->st->ops->account_pwhash_get(app->st, req->who.kind, req->who.id, pwhash);
    if (rc) {
        resp_store_error(resp, rc, "account");
        return -1;
    }
    int ok = 0;
    rc = http_pwverify(app, password, pwhash, resp, &ok);
    memset(pwhash, 0, sizeof pwhash);
    if (rc) return -1;
    if (ok) {
        (void)limiter_clear(&app->rl_pwcheck, req->who.id); /* ends by itself otherwise */
    } else if (limiter_hit(&app->rl_pwcheck, req->who.id, now)) {
        limiter_unavailable(resp); /* a wrong guess is never left uncounted */
        return -1;
    }
    if (!ok) {
        resp_problem(resp, 403, "current_password: this is not your current password");
        return -1;
    }
    return 0;
}

void h_password_change(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *current = body_text(body, "current_password", PASSWORD_MAX, resp);
    if (!current) return;
    const char *password = new_password(body, "password", resp);
    if (!password) return;
    if (account_check_password(app, req, resp, current)) return;
    char pwhash[CRYPTO_PWHASH_MAX];
    if (http_pwhash(app, password, pwhash, resp)) return;
    int rc = app->st->ops->account_password_set(app->st, req->who.kind, req->who.id, pwhash,
                                                req->who.token_hash);
    if (rc) {
        resp_store_error(resp, rc, "account");
        return;
    }
    resp_json(resp, 200, json_pack("{s:b, s:b}", "changed", 1, "other_sessions_ended", 1));
}

/* ---- one-time links ------------------------------------------------------ */

int account_link_new(struct app *app, enum principal_kind kind, const char *subject_id,
                     const char *purpose, int64_t ttl_s, char *ret_url, size_t len)
{
    char token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    if (token_new(token)) return SK_ECRYPTO;
    token_hash(token, hash);
    int rc = app->st->ops->pwlink_create(app->st, kind, subject_id, purpose, hash,
                                         time_now_us() + ttl_s * 1000000);
    if (!rc) snprintf(ret_url, len, "%s/reset#token=%s", app->cfg.public_url, token);
    memset(token, 0, sizeof token);
    return rc;
}

static const char reset_customer_text[] =
    "Hello,\n\n"
    "Someone (we hope you) asked to reset the password of your Shopkeeper account.\n"
    "Choose a new password here. The link works once, for the next 30 minutes:\n\n"
    "%s\n\n"
    "If you did not ask, ignore this message: your password stays as it is.\n";

static const char reset_staff_text[] =
    "Hello,\n\n"
    "Someone (we hope you) asked to reset the password you use to sign in to your\n"
    "brand's Shopkeeper console. Choose a new password here. The link works once,\n"
    "for the next 30 minutes:\n\n"
    "%s\n\n"
    "If you did not ask, ignore this message: your password stays as it is.\n";

/* Mails a reset link to the account of kind with this (lower-cased) email,
 * if there is one. Says nothing to the caller either way. */
static void reset_send(struct app *app, enum principal_kind kind, const char *email)
{
    struct login_rec rec;
    int rc = kind == PRINCIPAL_STAFF ? app->st->ops->staff_login(app->st, email, &rec)
                                     : app->st->ops->customer_login(app->st, email, &rec);
    memset(rec.pwhash, 0, sizeof rec.pwhash);
    if (rc) return;
    char to[EMAIL_MAX + 1];
    snprintf(to, sizeof to, "%s", email);
    if (kind == PRINCIPAL_CUSTOMER) {
        json_t *c; /* the address as the shopper typed it */
        if (app->st->ops->customer_get(app->st, rec.id, &c) == 0) {
            const char *typed = json_string_value(json_object_get(c, "email"));
            if (typed) snprintf(to, sizeof to, "%s", typed);
            json_decref(c);
        }
    }
    char url[512], body[1024];
    rc = account_link_new(app, kind, rec.id, "reset", PWLINK_RESET_TTL_S, url, sizeof url);
    if (rc) {
        log_kv(LOG_ERROR, "password_reset.failed", "error", sk_strerror(rc), NULL);
        return;
    }
    snprintf(body, sizeof body, kind == PRINCIPAL_STAFF ? reset_staff_text : reset_customer_text,
             url);
    rc = mailer_send(app->mail, to, "Choose a new Shopkeeper password", body);
    memset(url, 0, sizeof url);
    memset(body, 0, sizeof body);
    if (rc) log_kv(LOG_WARN, "password_reset.not_queued", "error", sk_strerror(rc), NULL);
}

struct reset_job {
    struct app *app;
    char email[EMAIL_MAX + 2];
};

/* On the mailer's thread: whether the email has accounts, and their links. */
static void reset_run(void *ctx)
{
    struct reset_job *job = ctx;
    reset_send(job->app, PRINCIPAL_STAFF, job->email);
    reset_send(job->app, PRINCIPAL_CUSTOMER, job->email);
    free(job);
}

void h_password_reset_request(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    char lower[EMAIL_BUF];
    if (body_email(body, "email", lower, resp)) return;
    int64_t now = time_now_us(), wait_us = 0;
    int limited = limiter_take(&app->rl_reset_addr, req->remote, now, &wait_us);
    int quiet = 0;
    if (!limited) {
        /* a flood of mail to one address is cut off without saying so: a
         * 429 here would answer differently for known emails */
        quiet = limiter_take(&app->rl_reset_email, lower, now, NULL);
        if (quiet && quiet != SK_ERATE) limited = quiet; /* not checked: refused */
    }
    if (limited == SK_ERATE) {
        resp_too_many_attempts(resp, wait_us);
        return;
    }
    if (limited) { /* the same for every email: it says nothing of accounts */
        limiter_unavailable(resp);
        return;
    }
    if (!quiet && app->mail) {
        struct reset_job *job = malloc(sizeof *job);
        if (job) {
            job->app = app;
            snprintf(job->email, sizeof job->email, "%s", lower);
        }
        if (!job || mailer_defer(app->mail, reset_run, job)) {
            free(job);
            log_kv(LOG_WARN, "password_reset.not_queued", "error", "the mail queue is full", NULL);
        }
    } else if (!app->mail) {
        log_kv(LOG_WARN, "password_reset.no_relay", "hint",
               "no --smtp-url: nothing was sent; an operator can issue a link with "
               "`shopkeeper admin password-link EMAIL`",
               NULL);
    }
    resp_json(resp, 202,
              json_pack("{s:s, s:i}", "message",
                        "If an account uses this email, a link to choose a new password is on "
                        "its way. It works once, for 30 minutes.",
                        "expires_in_minutes", PWLINK_RESET_TTL_S / 60));
}

/* The link's token from the path, hashed; else a 404 problem. */
static int link_hash(struct http_req *req, struct http_resp *resp, char ret[TOKEN_HASH_MAX])
{
    const char *token = req_param(req, "token");
    if (!token || strncmp(token, "sk_", 3) || strlen(token) >= TOKEN_MAX) {
        resp_problem(resp, 404, "This link is not one of ours. Check that it was copied whole.");
        return -1;
    }
    token_hash(token, ret);
    return 0;
}

static const char link_gone[] =
    "This link has been used or has expired. Ask for a new one: \"Forgot your password?\" "
    "on the sign-in page.";

void h_password_link_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    char hash[TOKEN_HASH_MAX];
    if (link_hash(req, resp, hash)) return;
    json_t *out;
    int rc = app->st->ops->pwlink_get(app->st, hash, time_now_us(), &out);
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "%s", link_gone);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "link");
        return;
    }
    resp_json(resp, 200, out);
}

void h_password_link_use(struct app *app, struct http_req *req, struct http_resp *resp)
{
    char hash[TOKEN_HASH_MAX];
    if (link_hash(req, resp, hash)) return;
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *password = new_password(body, "password", resp);
    if (!password) return;
    int64_t now = time_now_us();
    json_t *link;
    int rc = app->st->ops->pwlink_get(app->st, hash, now, &link);
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 404, "%s", link_gone);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "link");
        return;
    }
    char pwhash[CRYPTO_PWHASH_MAX];
    if (http_pwhash(app, password, pwhash, resp)) {
        json_decref(link);
        return;
    }
    struct principal who;
    rc = app->st->ops->pwlink_use(app->st, hash, time_now_us(), pwhash, &who);
    if (rc == SK_ENOTFOUND) {
        json_decref(link);
        resp_problem(resp, 404, "%s", link_gone);
        return;
    }
    if (rc) {
        json_decref(link);
        resp_store_error(resp, rc, "link");
        return;
    }
    json_t *out = json_pack("{s:s, s:O}", "kind",
                            who.kind == PRINCIPAL_STAFF ? "staff" : "customer", "purpose",
                            json_object_get(link, "purpose"));
    json_decref(link);
    resp_json(resp, 200, out);
}
