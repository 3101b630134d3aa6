/* test_workq.c — unit tests for src/util/workq.{h,c}: every accepted job
 * runs once, a full queue refuses at once, stopping runs what was queued. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/workq.h"

#include <pthread.h>

struct gatejob {
    struct workq_job job; /* first: the job is the struct */
    int ran;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int open_gate, started;

static void blocking(struct workq_job *job)
{
    struct gatejob *g = (struct gatejob *)job;
    pthread_mutex_lock(&mu);
    started++;
    pthread_cond_broadcast(&cv);
    while (!open_gate) pthread_cond_wait(&cv, &mu);
    g->ran++;
    pthread_mutex_unlock(&mu);
}

static void test_bound_and_drain(void **state)
{
    (void)state;
    struct workq *q;
    assert_int_equal(workq_new(1, 2, &q), 0);
    assert_int_equal(workq_threads(q), 1);
    struct gatejob j[4] = {{.job.fn = blocking}, {.job.fn = blocking},
                           {.job.fn = blocking}, {.job.fn = blocking}};
    open_gate = started = 0;
    assert_int_equal(workq_submit(q, &j[0].job), 0);
    /* the one worker takes the first job and is held inside it */
    pthread_mutex_lock(&mu);
    while (started < 1) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    assert_int_equal(workq_submit(q, &j[1].job), 0);
    assert_int_equal(workq_submit(q, &j[2].job), 0);
    assert_int_equal(workq_waiting(q), 2);
    /* two waiting is the bound: the fourth is refused, not queued */
    assert_int_equal(workq_submit(q, &j[3].job), SK_EBUSY);
    pthread_mutex_lock(&mu);
    open_gate = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    workq_free(q); /* runs what was accepted before it returns */
    assert_int_equal(j[0].ran + j[1].ran + j[2].ran, 3);
    assert_int_equal(j[3].ran, 0);
}

static void counting(struct workq_job *job)
{
    struct gatejob *g = (struct gatejob *)job;
    pthread_mutex_lock(&mu);
    g->ran++;
    pthread_mutex_unlock(&mu);
}

static void test_many_jobs_many_workers(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct gatejob jobs[N];
    struct workq *q;
    assert_int_equal(workq_new(4, N, &q), 0);
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct gatejob){.job.fn = counting};
        assert_int_equal(workq_submit(q, &jobs[i].job), 0);
    }
    workq_stop(q); /* every accepted job has run when it returns */
    for (int i = 0; i < N; i++) assert_int_equal(jobs[i].ran, 1);
    /* stopped: still safe to submit to (the server's network threads may),
     * refused as stopping, not queued and never run */
    struct gatejob late = {.job.fn = counting};
    assert_int_equal(workq_submit(q, &late.job), SK_ECONFLICT);
    workq_stop(q);
    workq_free(q);
    assert_int_equal(late.ran, 0);
    assert_int_equal(workq_new(0, 1, &q), SK_EINVAL);
    assert_int_equal(workq_new(1, 0, &q), SK_EINVAL);
    workq_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_and_drain),
        cmocka_unit_test(test_many_jobs_many_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
