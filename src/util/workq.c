/*
 * workq.c — a fixed pool of workers and a bounded queue (see workq.h).
 * Invariants (under mu): waiting is the length of the list head..tail;
 * waiting <= max_queued; once stopping, nothing is added, and the workers
 * leave only when the list is empty, so every accepted job runs.
 */
#include "util/workq.h"
#include "util/err.h"

#include <pthread.h>
#include <stdlib.h>

struct workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct workq_job *head, *tail;
    size_t waiting, max_queued;
    int stopping, joined;
    unsigned nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct workq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
        struct workq_job *job = q->head;
        if (!job) break; /* stopping, and nothing left */
        q->head = job->next;
        if (!q->head) q->tail = NULL;
        q->waiting--;
        pthread_mutex_unlock(&q->mu);
        job->next = NULL;
        job->fn(job);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int workq_new(unsigned threads, size_t max_queued, struct workq **ret)
{
    if (threads == 0 || max_queued == 0) return SK_EINVAL;
    struct workq *q = calloc(1, sizeof *q);
    if (!q) return SK_ENOMEM;
    q->threads = calloc(threads, sizeof *q->threads);
    if (!q->threads) {
        free(q);
        return SK_ENOMEM;
    }
    q->max_queued = max_queued;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    for (; q->nthreads < threads; q->nthreads++) {
        if (pthread_create(&q->threads[q->nthreads], &attr, worker, q)) {
            pthread_attr_destroy(&attr);
            workq_free(q);
            return SK_ENOMEM;
        }
    }
    pthread_attr_destroy(&attr);
    *ret = q;
    return 0;
}

int workq_submit(struct workq *q, struct workq_job *job)
{
    pthread_mutex_lock(&q->mu);
    int rc = q->stopping ? SK_ECONFLICT : q->waiting >= q->max_queued ? SK_EBUSY : 0;
    if (rc == 0) {
        job->next = NULL;
        if (q->tail) q->tail->next = job;
        else q->head = job;
        q->tail = job;
        q->waiting++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void workq_stop(struct workq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->joined) return; /* one caller joins: the server's main thread */
    for (unsigned i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
    q->joined = 1;
}

void workq_free(struct workq *q)
{
    if (!q) return;
    workq_stop(q);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q);
}

size_t workq_waiting(struct workq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->waiting;
    pthread_mutex_unlock(&q->mu);
    return n;
}

unsigned workq_threads(const struct workq *q)
{
    return q->nthreads;
}
