/*
 * housekeeping.h — the retention sweep, run at start and every hour by
 * `serve`, and on demand by `shopkeeper sweep` (with a chosen clock).
 */
#ifndef SK_HOUSEKEEPING_H
#define SK_HOUSEKEEPING_H

#include "store/store.h"

#include <stdint.h>

struct retention {
    int64_t visits_days;     /* closed visits (presence data): 30 */
    int64_t access_log_days; /* access-log entries: 395 (13 months) */
};

#define RETENTION_DEFAULTS {30, 395}

/* One sweep at time now_us; the counts removed in *ret (new reference). */
int retention_sweep_at(struct store *st, const struct retention *r, int64_t now_us, json_t **ret);

struct housekeeping;
int housekeeping_start(struct store *st, const struct retention *r, struct housekeeping **ret);
void housekeeping_stop(struct housekeeping *h);

#endif
