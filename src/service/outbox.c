/*
 * outbox.c — catch-up between nodes through the outbox table (outbox.h).
 *
 * Invariants:
 *  1. No change is skipped. The cursor is a transaction id, not a row id
 *     (store_outbox.c, invariant 1): identity values in PostgreSQL are not
 *     committed in order, so "id > last" would lose the row of a
 *     transaction that took id 5 and committed after id 6 was read. A read
 *     takes the rows of the transactions that began at or after the cursor
 *     and have all ended, and the cursor moves to the oldest transaction
 *     still running; a row whose transaction commits late is read by the
 *     first read after its commit. The price: a transaction held open
 *     somewhere delays (never loses) what commits after it began.
 *  2. The cursor moves only when every row of a read was applied; a failed
 *     read or application leaves it where it was, and the next read takes
 *     the same rows again (counted as failed once each time). After
 *     OUTBOX_RETRIES failed applications in a row it moves on, with an
 *     error in the log, so that one row that cannot be applied does not
 *     stop every later change.
 *  3. Applying is idempotent and order does not matter: "devices" reloads
 *     the customer's devices as the store has them now, "changed"
 *     re-evaluates the customer's open cards against the grants now (an
 *     unchanged card is not published again, nor logged as a look), and
 *     "erased" drops whatever this node holds of the customer. So a change
 *     that also came over NATS, or that this node made itself (rows do not
 *     say which node wrote them), costs one more store read and nothing
 *     else; the node's state after applying is the store's, whatever came
 *     first.
 *  4. An erased customer is named by the SHA-256 of their id (no row keeps
 *     the id of an erased account): the node finds it among the customers
 *     it holds (recog_customer_of_digest); none found, nothing to drop.
 *  5. The node starts from now (outbox_new, before the recognition service
 *     loads every device): what committed before is in what it loads.
 *  6. Rows live OUTBOX_KEEP_S at least. A node that could not read for
 *     longer may have lost rows: it says so in its log (outbox.gap) every
 *     time it reads again after such a gap; a restart reloads everything.
 *     Customer ids are never logged.
 */
#include "service/outbox.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUTBOX_RETRIES 5
#define OUTBOX_RETRIES_TEXT "5"

struct outbox {
    struct store *st;
    int64_t cursor;     /* a transaction id (invariant 1); the reading thread's */
    int64_t last_ok_us; /* the last read that succeeded; the reading thread's */
    int retries;        /* failed applications at this cursor; the reading thread's */
    struct recog *r;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, started, kicked; /* under mu */
    _Atomic uint64_t applied, failed;
    _Atomic int64_t last_read_us; /* last_ok_us, for outbox_stats on any thread */
};

int outbox_new(struct store *st, struct outbox **ret)
{
    struct outbox *o = calloc(1, sizeof *o);
    if (!o) return SK_ENOMEM;
    o->st = st;
    json_t *none = NULL;
    int rc = st->ops->change_list(st, &o->cursor, &none); /* cursor 0: only "from now" */
    json_decref(none);
    if (rc) {
        free(o);
        return rc;
    }
    o->last_ok_us = time_now_us();
    atomic_store(&o->last_read_us, o->last_ok_us);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    *ret = o;
    return 0;
}

static int apply_one(struct recog *r, json_t *row)
{
    const char *what = json_string_value(json_object_get(row, "what"));
    const char *cid = json_string_value(json_object_get(row, "customer_id"));
    const char *bid = json_string_value(json_object_get(row, "brand_id"));
    if (!what || !cid) return SK_EINVAL;
    if (!strcmp(what, "erased")) {
        char held[ID_MAX];
        int rc = recog_customer_of_digest(r, cid, held);
        if (rc == SK_ENOTFOUND) return 0; /* nothing of theirs here */
        return rc ? rc : recog_peer(r, "erased", held, NULL);
    }
    if (!id_is_plausible(cid) || (bid && !id_is_plausible(bid))) return SK_EINVAL;
    return recog_peer(r, what, cid, bid);
}

int outbox_poll(struct outbox *o, struct recog *r)
{
    int64_t next = o->cursor;
    json_t *rows = NULL;
    int rc = o->st->ops->change_list(o->st, &next, &rows);
    if (rc) {
        atomic_fetch_add(&o->failed, 1);
        return rc;
    }
    int64_t now = time_now_us();
    if (now - o->last_ok_us > (int64_t)OUTBOX_KEEP_S * 1000000) {
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", (long long)((now - o->last_ok_us) / 1000000));
        log_kv(LOG_ERROR, "outbox.gap", "seconds_unread", secs, "hint",
               "changes made meanwhile may have been swept before this node read them: "
               "restart it to reload every device",
               NULL);
    }
    o->last_ok_us = now;
    atomic_store(&o->last_read_us, now);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        int arc = apply_one(r, row);
        if (arc == SK_EINVAL) { /* a row no node can apply: never retried */
            log_kv(LOG_WARN, "outbox.malformed", "what",
                   json_string_value(json_object_get(row, "what")), NULL);
            continue;
        }
        if (arc) {
            if (!rc) rc = arc;
            continue;
        }
        atomic_fetch_add(&o->applied, 1);
    }
    json_decref(rows);
    if (rc) {
        atomic_fetch_add(&o->failed, 1);
        if (++o->retries < OUTBOX_RETRIES) {
            log_kv(LOG_WARN, "outbox.apply", "error", sk_strerror(rc), "note",
                   "read again at the next tick", NULL);
            return rc;
        }
        log_kv(LOG_ERROR, "outbox.apply", "error", sk_strerror(rc), "note",
               "failed " OUTBOX_RETRIES_TEXT " times: passed over", NULL);
    }
    o->retries = 0;
    o->cursor = next;
    return rc;
}

static void *outbox_thread(void *arg)
{
    struct outbox *o = arg;
    pthread_mutex_lock(&o->mu);
    while (o->running) {
        o->kicked = 0;
        pthread_mutex_unlock(&o->mu);
        outbox_poll(o, o->r);
        pthread_mutex_lock(&o->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)OUTBOX_POLL_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (o->running && !o->kicked && pthread_cond_timedwait(&o->cv, &o->mu, &ts) == 0) {}
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int outbox_start(struct outbox *o, struct recog *r)
{
    o->r = r;
    pthread_mutex_lock(&o->mu);
    o->running = 1;
    int rc = pthread_create(&o->thread, NULL, outbox_thread, o);
    if (rc) o->running = 0;
    else o->started = 1;
    pthread_mutex_unlock(&o->mu);
    return rc ? SK_ENOMEM : 0;
}

void outbox_kick(struct outbox *o)
{
    if (!o) return;
    pthread_mutex_lock(&o->mu);
    o->kicked = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void outbox_stats(struct outbox *o, struct outbox_stats *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!o) return;
    ret->applied = atomic_load(&o->applied);
    ret->failed = atomic_load(&o->failed);
    ret->last_read_us = atomic_load(&o->last_read_us);
}

void outbox_stop(struct outbox *o)
{
    if (!o) return;
    pthread_mutex_lock(&o->mu);
    int join = o->started;
    o->running = 0;
    o->started = 0;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    if (join) pthread_join(o->thread, NULL);
}

void outbox_free(struct outbox *o)
{
    if (!o) return;
    outbox_stop(o);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o);
}
