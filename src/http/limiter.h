/*
 * limiter.h — the HTTP layer's rate limits (logins, sign-ups, resets,
 * invitations, display pairings), one interface over two backends so that
 * handlers do not care which holds the counts:
 *
 *   in memory (core/ratelimit.h)  when this process is the only node: the
 *                                 database is SQLite, one file, one server;
 *   in the store (store.h limit_*) when the database is PostgreSQL, which
 *                                 several serve nodes may share behind a
 *                                 load balancer: every node counts against
 *                                 the same windows, so a guesser gets no more
 *                                 attempts by spreading them over the nodes.
 *
 * A limiter is a fixed window of window_us holding at most max events per
 * subject (an address, an address+account, an account id, an email). In
 * the store a subject is keyed "name|subject", and stored only as a keyed
 * hash (store_limits.c).
 *
 * Every call returns 0 (allowed), SK_ERATE with *ret_wait_us (over the
 * limit: wait that long) or, in the store only, another SK_E* code when the
 * database did not answer. Handlers refuse on any non-zero code
 * (limiter_refuse): a limit that cannot be checked fails closed. Thread-safe.
 */
#ifndef SK_LIMITER_H
#define SK_LIMITER_H

#include "core/ratelimit.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct http_resp;

struct limiter {
    const char *name;             /* names the limit in the store's keys: "login-addr" */
    unsigned max;                 /* events per window */
    int64_t window_us;
    struct store *shared;         /* the store holding the windows, or NULL: in memory */
    pthread_mutex_t mu;           /* in memory: guards mem */
    struct ratelimit mem;
    struct ratelimit_slot *slots; /* in memory: owned */
};

/* shared NULL: in memory, in a table of nslots; else the windows live in
 * shared. 0 or SK_ENOMEM. */
int limiter_init(struct limiter *l, const char *name, unsigned max, int64_t window_us,
                 size_t nslots, struct store *shared);
/* NULL allowed; as is a limiter never initialised (zeroed). */
void limiter_release(struct limiter *l);

/* Is subject over the limit at now? Counts nothing. */
int limiter_check(struct limiter *l, const char *subject, int64_t now, int64_t *ret_wait_us);
/* Counts one event for subject when it is under the limit (in the store,
 * in one atomic statement: nodes taking at once never pass the limit
 * together). */
int limiter_take(struct limiter *l, const char *subject, int64_t now, int64_t *ret_wait_us);
/* Counts one event whatever the count (a failed login). */
int limiter_hit(struct limiter *l, const char *subject, int64_t now);
/* Forgets subject's window (a successful login). */
int limiter_clear(struct limiter *l, const char *subject);

/* The answer to a refusal that is not SK_ERATE: the limit could not be
 * checked, so the request is refused with 503, Retry-After and a detail
 * that says why (SK_ERATE has each handler's own 429). */
void limiter_unavailable(struct http_resp *resp);

#endif
