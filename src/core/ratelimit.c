/* ratelimit.c — fixed-window counters (see ratelimit.h). */
#include "core/ratelimit.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static uint64_t rl__hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

void ratelimit_init(struct ratelimit *rl, struct ratelimit_slot *slots, size_t nslots,
                    unsigned limit, int64_t window_us)
{
    memset(slots, 0, nslots * sizeof *slots);
    rl->slots = slots;
    rl->nslots = nslots;
    rl->limit = limit;
    rl->window_us = window_us;
}

int ratelimit_check(const struct ratelimit *rl, const char *key, int64_t now,
                    int64_t *ret_retry_us)
{
    uint64_t h = rl__hash(key);
    const struct ratelimit_slot *s = &rl->slots[h % rl->nslots];
    if (s->key == 0 || now - s->window_start >= rl->window_us) return 0;
    if (s->count < rl->limit) return 0;
    if (ret_retry_us) *ret_retry_us = s->window_start + rl->window_us - now;
    return SK_ERATE;
}

void ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now)
{
    uint64_t h = rl__hash(key);
    struct ratelimit_slot *s = &rl->slots[h % rl->nslots];
    if (s->key == 0 || now - s->window_start >= rl->window_us) {
        s->key = h;
        s->window_start = now;
        s->count = 0;
    }
    s->count++;
}

void ratelimit_clear(struct ratelimit *rl, const char *key)
{
    uint64_t h = rl__hash(key);
    struct ratelimit_slot *s = &rl->slots[h % rl->nslots];
    if (s->key == h) memset(s, 0, sizeof *s);
}

int64_t ratelimit_wait_seconds(int64_t wait_us)
{
    int64_t s = (wait_us + 999999) / 1000000;
    return s < 1 ? 1 : s;
}

void ratelimit_wait_words(int64_t wait_us, char *buf, size_t len)
{
    int64_t s = ratelimit_wait_seconds(wait_us);
    if (s < 60) {
        snprintf(buf, len, "%lld second%s", (long long)s, s == 1 ? "" : "s");
        return;
    }
    int64_t m = (s + 59) / 60;
    snprintf(buf, len, "%lld minute%s", (long long)m, m == 1 ? "" : "s");
}
