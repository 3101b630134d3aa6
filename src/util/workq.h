/*
 * workq.h — a fixed pool of worker threads fed by a bounded queue.
 *
 * The HTTP server's network threads never run a handler themselves: a
 * request whose body is in is suspended and handed to a worker, so a slow
 * database write or a password hash holds one worker, never the thousands
 * of connections a network thread watches. Jobs are intrusive (the caller
 * owns a struct workq_job inside its own state), so submitting allocates
 * nothing; a full queue refuses at once (the caller answers 503).
 */
#ifndef SK_WORKQ_H
#define SK_WORKQ_H

#include <stddef.h>

struct workq;

struct workq_job {
    struct workq_job *next; /* the queue's link: the caller leaves it alone */
    void (*fn)(struct workq_job *job);
};

/* A pool of `threads` workers; at most `max_queued` jobs wait for one. */
int workq_new(unsigned threads, size_t max_queued, struct workq **ret);
/* Queues job (job->fn set by the caller), run once by a worker. SK_EBUSY
 * when max_queued jobs are already waiting, SK_ECONFLICT once stopping. */
int workq_submit(struct workq *q, struct workq_job *job);
/* Refuses further jobs (workq_submit: SK_ECONFLICT), runs every job
 * already queued and joins the workers; q stays valid for workq_submit
 * until workq_free. Idempotent; NULL is allowed. */
void workq_stop(struct workq *q);
/* workq_stop, then frees q. NULL is allowed. */
void workq_free(struct workq *q);
/* Jobs waiting (not yet taken by a worker). */
size_t workq_waiting(struct workq *q);
unsigned workq_threads(const struct workq *q);

#endif
