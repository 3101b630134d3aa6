/*
 * ratelimit.h — fixed-window counters keyed by string, for login attempts.
 *
 * Pure logic: the caller passes the time and serialises access. The table is
 * direct-mapped by key hash with a fixed number of slots, so its memory is
 * bounded whatever clients send; a slot taken by another live key is
 * reclaimed when its window is over, otherwise shared (which errs on the side
 * of limiting).
 */
#ifndef SK_RATELIMIT_H
#define SK_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit_slot {
    uint64_t key;
    int64_t window_start;
    unsigned count;
};

struct ratelimit {
    struct ratelimit_slot *slots;
    size_t nslots;
    unsigned limit;
    int64_t window_us;
};

/* slots is caller-owned storage of nslots entries (zeroed by init). */
void ratelimit_init(struct ratelimit *rl, struct ratelimit_slot *slots, size_t nslots,
                    unsigned limit, int64_t window_us);
/* Is key over its limit at now? 0 allowed; SK_ERATE with *ret_retry_us. */
int ratelimit_check(const struct ratelimit *rl, const char *key, int64_t now,
                    int64_t *ret_retry_us);
/* Counts one event for key at now. */
void ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now);
void ratelimit_clear(struct ratelimit *rl, const char *key);
/* A wait in words for people, rounded up: "15 minutes", "1 minute", "42
 * seconds" (seconds only under a minute). */
void ratelimit_wait_words(int64_t wait_us, char *buf, size_t len);
/* The wait in whole seconds, rounded up (at least 1): for Retry-After. */
int64_t ratelimit_wait_seconds(int64_t wait_us);

#endif
