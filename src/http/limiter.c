/*
 * limiter.c — rate limits in memory or in the shared store (see limiter.h).
 *
 * Invariants:
 *  1. The backend is chosen once, at limiter_init, and never changes.
 *  2. In memory, a check and a count happen under the limiter's mutex, so
 *     limiter_take is atomic within the process; in the store,
 *     limiter_take is one limit_hit statement (atomic across nodes) and the
 *     hit that passed the limit is counted too, which changes nothing: the
 *     window's end stays where it was.
 *  3. Failure modes: the store failing (a lost connection, a database that
 *     is down or read-only) is reported to the caller, who refuses the
 *     request (fail closed) — a limit that stopped counting while the
 *     database is unwell would hand a guesser unlimited attempts. The
 *     requests it guards read or write that same database anyway, so
 *     failing closed refuses little that would have worked. Forgetting a
 *     window (limiter_clear) after a successful login is the one failure
 *     callers may ignore: the window ends by itself. Each failure is
 *     logged (the limit's name and the error, never the subject).
 */
#include "http/limiter.h"
#include "http/http.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMITER_KEY_MAX 600 /* "name|subject": subjects are an address+email at most */

int limiter_init(struct limiter *l, const char *name, unsigned max, int64_t window_us,
                 size_t nslots, struct store *shared)
{
    memset(l, 0, sizeof *l);
    l->name = name;
    l->max = max;
    l->window_us = window_us;
    l->shared = shared;
    pthread_mutex_init(&l->mu, NULL);
    if (shared) return 0;
    l->slots = calloc(nslots, sizeof *l->slots);
    if (!l->slots) return SK_ENOMEM;
    ratelimit_init(&l->mem, l->slots, nslots, max, window_us);
    return 0;
}

void limiter_release(struct limiter *l)
{
    if (!l || !l->name) return;
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    l->slots = NULL;
    l->name = NULL;
}

/* The store's key of subject; SK_EINVAL when it does not fit (refused). */
static int limiter_key(const struct limiter *l, const char *subject, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s|%s", l->name, subject);
    return n < 0 || (size_t)n >= len ? SK_EINVAL : 0;
}

static int limiter_failed(const struct limiter *l, int rc)
{
    log_kv(LOG_WARN, "ratelimit.unavailable", "limit", l->name, "error", sk_strerror(rc), NULL);
    return rc;
}

/* SK_ERATE with the wait when hits have reached max in the window from start. */
static int limiter_over(const struct limiter *l, int64_t hits, int64_t start, int64_t now,
                        int64_t *ret_wait_us)
{
    if (hits < (int64_t)l->max) return 0;
    if (ret_wait_us) *ret_wait_us = start + l->window_us - now;
    return SK_ERATE;
}

int limiter_check(struct limiter *l, const char *subject, int64_t now, int64_t *ret_wait_us)
{
    if (!l->shared) {
        pthread_mutex_lock(&l->mu);
        int rc = ratelimit_check(&l->mem, subject, now, ret_wait_us);
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    char key[LIMITER_KEY_MAX];
    int64_t hits = 0, start = now;
    int rc = limiter_key(l, subject, key, sizeof key);
    if (!rc) rc = l->shared->ops->limit_get(l->shared, key, now, &hits, &start);
    if (rc) return limiter_failed(l, rc);
    return limiter_over(l, hits, start, now, ret_wait_us);
}

int limiter_take(struct limiter *l, const char *subject, int64_t now, int64_t *ret_wait_us)
{
    if (!l->shared) {
        pthread_mutex_lock(&l->mu);
        int rc = ratelimit_check(&l->mem, subject, now, ret_wait_us);
        if (!rc) ratelimit_hit(&l->mem, subject, now);
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    char key[LIMITER_KEY_MAX];
    int64_t hits = 0, start = now;
    int rc = limiter_key(l, subject, key, sizeof key);
    if (!rc) rc = l->shared->ops->limit_hit(l->shared, key, l->window_us, now, &hits, &start);
    if (rc) return limiter_failed(l, rc);
    /* this hit is counted: the ones before it decide */
    return limiter_over(l, hits - 1, start, now, ret_wait_us);
}

int limiter_hit(struct limiter *l, const char *subject, int64_t now)
{
    if (!l->shared) {
        pthread_mutex_lock(&l->mu);
        ratelimit_hit(&l->mem, subject, now);
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    char key[LIMITER_KEY_MAX];
    int64_t hits, start;
    int rc = limiter_key(l, subject, key, sizeof key);
    if (!rc) rc = l->shared->ops->limit_hit(l->shared, key, l->window_us, now, &hits, &start);
    return rc ? limiter_failed(l, rc) : 0;
}

int limiter_clear(struct limiter *l, const char *subject)
{
    if (!l->shared) {
        pthread_mutex_lock(&l->mu);
        ratelimit_clear(&l->mem, subject);
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    char key[LIMITER_KEY_MAX];
    int rc = limiter_key(l, subject, key, sizeof key);
    if (!rc) rc = l->shared->ops->limit_clear(l->shared, key);
    return rc ? limiter_failed(l, rc) : 0;
}

void limiter_unavailable(struct http_resp *resp)
{
    snprintf(resp->retry_after, sizeof resp->retry_after, "5");
    resp_problem(resp, 503,
                 "The limit on attempts could not be checked: the service's database did not "
                 "answer. Nothing was done; try again in a few seconds.");
}
