/*
 * pw.c — password hashing for handlers, under a bound.
 *
 * scrypt costs 32 MiB and tens of milliseconds of a core per call. Every
 * hash and check goes through the app's gate: as many at once as there are
 * cores, a short queue behind them, and anyone beyond gets 503 with
 * Retry-After instead of more memory and threads. Nothing here logs a
 * password or a hash.
 */
#include "http/http.h"
#include "util/crypto.h"
#include "util/err.h"

#include <stdio.h>

#define PW_WAIT_US (2 * 1000000LL) /* how long a caller waits for a free slot */

static int pw_enter(struct app *app, struct http_resp *resp)
{
    if (gate_enter(&app->pw_gate, PW_WAIT_US) == 0) return 0;
    snprintf(resp->retry_after, sizeof resp->retry_after, "2");
    resp_problem(resp, 503,
                 "too many people are signing in or up at this moment; try again in a few "
                 "seconds");
    return -1;
}

int http_pwhash(struct app *app, const char *password, char ret[CRYPTO_PWHASH_MAX],
                struct http_resp *resp)
{
    if (pw_enter(app, resp)) return -1;
    int rc = crypto_pwhash(password, ret);
    gate_leave(&app->pw_gate);
    if (rc) {
        resp_problem(resp, 500, "could not hash the password");
        return -1;
    }
    return 0;
}

int http_pwverify(struct app *app, const char *password, const char *hash,
                  struct http_resp *resp, int *ret_ok)
{
    if (pw_enter(app, resp)) return -1;
    *ret_ok = crypto_pwverify(password, hash) == 0;
    gate_leave(&app->pw_gate);
    return 0;
}
