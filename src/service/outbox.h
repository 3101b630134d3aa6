/*
 * outbox.h — catch-up between nodes (issue 12, "Many nodes"): each node
 * with --nats reads, every OUTBOX_POLL_MS and at once when NATS comes back,
 * the changes other nodes made (the `changes` table, migration 0013,
 * written by triggers in the change's own transaction) and applies them to
 * its recognition service, so that a node cut off from NATS still stops
 * resolving a deleted device or showing a withdrawn shopper's card within
 * about a second. NATS stays the fast path; this is what makes a missed
 * message harmless.
 */
#ifndef SK_OUTBOX_H
#define SK_OUTBOX_H

#include "service/recog.h"
#include "store/store.h"

#include <stdint.h>

#define OUTBOX_POLL_MS 1000
/* Rows older than this are removed by the housekeeping sweep (which runs
 * hourly, so a row lives one to two of these). */
#define OUTBOX_KEEP_S 3600

struct outbox_stats {
    uint64_t applied; /* changes applied to this node's recognition service */
    uint64_t failed;  /* reads or applications that failed (retried at the next read) */
    int64_t last_read_us; /* when the outbox was last read without error (µs since the epoch) */
};
/* /healthz says "degraded" when the outbox has not been read for this long:
 * changes that NATS drops would then not reach this node */
#define OUTBOX_STALE_S 10

struct outbox;

/* Starts from now: the changes of transactions still running or yet to
 * come are read, older ones are not (the recognition service, made after
 * this, loads them from the store). 0 or an SK_E* code. */
int outbox_new(struct store *st, struct outbox **ret);
/* Starts the reading thread, which applies what it reads to r (r must
 * outlive outbox_stop). 0 or SK_ENOMEM. */
int outbox_start(struct outbox *o, struct recog *r);
/* Reads now rather than at the next tick (NATS came back). Any thread,
 * also after outbox_stop; NULL is a no-op. */
void outbox_kick(struct outbox *o);
/* One read and the application of what it found, on the caller's thread
 * (the reading thread, tests). 0 or an SK_E* code. */
int outbox_poll(struct outbox *o, struct recog *r);
void outbox_stats(struct outbox *o, struct outbox_stats *ret);
/* Stops and joins the reading thread; NULL and a second call are no-ops. */
void outbox_stop(struct outbox *o);
/* After outbox_stop, and once nothing can call outbox_kick (bus_close).
 * NULL allowed. */
void outbox_free(struct outbox *o);

#endif
