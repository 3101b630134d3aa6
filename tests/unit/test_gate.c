/* test_gate.c — unit tests for src/util/gate.{h,c}: bounded slots and queue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/gate.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct waiter {
    struct gate *g;
    int rc;
    int64_t waited_us;
};

static void *wait_in(void *arg)
{
    struct waiter *w = arg;
    int64_t t0 = now_us();
    w->rc = gate_enter(w->g, 2000000);
    w->waited_us = now_us() - t0;
    if (w->rc == 0) gate_leave(w->g);
    return NULL;
}

static void test_slots_then_queue_then_refusal(void **state)
{
    (void)state;
    struct gate g;
    assert_int_equal(gate_init(&g, 2, 1), 0);
    assert_int_equal(gate_enter(&g, 0), 0);
    assert_int_equal(gate_enter(&g, 0), 0);
    /* both slots held: one may wait, the next is refused at once */
    struct waiter w = {.g = &g};
    pthread_t t;
    pthread_create(&t, NULL, wait_in, &w);
    while (1) { /* until the waiter is queued */
        pthread_mutex_lock(&g.mu);
        unsigned n = g.waiting;
        pthread_mutex_unlock(&g.mu);
        if (n == 1) break;
        usleep(1000);
    }
    int64_t t0 = now_us();
    assert_int_equal(gate_enter(&g, 1000000), SK_EBUSY);
    assert_true(now_us() - t0 < 200000); /* refused without waiting */
    assert_int_equal(g.turned_away, 1);
    usleep(50000);
    gate_leave(&g); /* the waiter gets the slot */
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_true(w.waited_us >= 40000);
    gate_leave(&g);
    assert_int_equal(g.busy, 0);
    gate_release(&g);
}

static void test_wait_times_out(void **state)
{
    (void)state;
    struct gate g;
    assert_int_equal(gate_init(&g, 1, 4), 0);
    assert_int_equal(gate_enter(&g, 0), 0);
    int64_t t0 = now_us();
    assert_int_equal(gate_enter(&g, 50000), SK_EBUSY);
    int64_t took = now_us() - t0;
    assert_true(took >= 45000 && took < 1000000);
    assert_int_equal(g.waiting, 0);
    gate_leave(&g);
    assert_int_equal(gate_enter(&g, 0), 0);
    gate_leave(&g);
    gate_release(&g);
    assert_int_equal(gate_init(&g, 0, 1), SK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_then_queue_then_refusal),
        cmocka_unit_test(test_wait_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
