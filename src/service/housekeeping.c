/*
 * housekeeping.c — retention (see housekeeping.h). The periods are the
 * operator's (with safe defaults) and are shown to customers in the portal
 * and GET /v1/privacy; consent-ledger entries are not swept: they are the
 * record of what was agreed. Rate-limit windows that are over go in the same
 * sweep (only keyed hashes, but they would pile up), and so do the outbox's
 * rows between nodes (migration 0013) older than an hour.
 */
#include "service/housekeeping.h"
#include "service/outbox.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DAY_US (86400LL * 1000000)
#define SWEEP_EVERY_S 3600

struct housekeeping {
    struct store *st;
    struct retention r;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;
};

int retention_sweep_at(struct store *st, const struct retention *r, int64_t now_us, json_t **ret)
{
    json_t *out = NULL;
    int64_t n = 0;
    int rc = st->ops->retention_sweep(st, now_us - r->visits_days * DAY_US,
                                      now_us - r->access_log_days * DAY_US, &out);
    /* rate-limit windows that are over (kept only on a shared database) */
    if (!rc) rc = st->ops->limits_sweep(st, now_us, &n);
    if (!rc && json_object_set_new(out, "rate_limits_removed", json_integer(n))) rc = SK_ENOMEM;
    if (rc) json_decref(out);
    else *ret = out;
    return rc;
}

static void sweep_once(struct housekeeping *h)
{
    json_t *out;
    int rc = retention_sweep_at(h->st, &h->r, time_now_us(), &out);
    if (rc) {
        log_kv(LOG_ERROR, "retention.sweep", "error", sk_strerror(rc), NULL);
        return;
    }
    char v[24], a[24], l[24];
    snprintf(v, sizeof v, "%lld", (long long)json_integer_value(json_object_get(out, "visits_removed")));
    snprintf(a, sizeof a, "%lld",
             (long long)json_integer_value(json_object_get(out, "access_log_removed")));
    snprintf(l, sizeof l, "%lld",
             (long long)json_integer_value(json_object_get(out, "rate_limits_removed")));
    log_kv(LOG_INFO, "retention.sweep", "visits_removed", v, "access_log_removed", a,
           "rate_limits_removed", l, NULL);
    json_decref(out);
    /* the outbox between nodes (outbox.h): read within a second by every
     * node; kept an hour for a node that was cut off from the database */
    int64_t n = 0;
    rc = h->st->ops->changes_expire(h->st, time_now_us() - (int64_t)OUTBOX_KEEP_S * 1000000, &n);
    if (rc) log_kv(LOG_ERROR, "outbox.sweep", "error", sk_strerror(rc), NULL);
    else if (n) {
        snprintf(v, sizeof v, "%lld", (long long)n);
        log_kv(LOG_INFO, "outbox.sweep", "changes_removed", v, NULL);
    }
}

static void *hk_thread(void *arg)
{
    struct housekeeping *h = arg;
    pthread_mutex_lock(&h->mu);
    while (h->running) {
        pthread_mutex_unlock(&h->mu);
        sweep_once(h);
        pthread_mutex_lock(&h->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += SWEEP_EVERY_S;
        while (h->running && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0) {}
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int housekeeping_start(struct store *st, const struct retention *r, struct housekeeping **ret)
{
    struct housekeeping *h = calloc(1, sizeof *h);
    if (!h) return SK_ENOMEM;
    h->st = st;
    h->r = *r;
    h->running = 1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, hk_thread, h)) {
        free(h);
        return SK_ENOMEM;
    }
    *ret = h;
    return 0;
}

void housekeeping_stop(struct housekeeping *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->running = 0;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}
