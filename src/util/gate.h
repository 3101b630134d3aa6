/*
 * gate.h — a bounded gate: at most `slots` callers inside at once, at most
 * `max_waiting` more waiting their turn; anyone beyond is turned away at
 * once instead of queueing without bound. Password hashing goes through one
 * (each scrypt takes 32 MiB and a core for tens of milliseconds), so a flood
 * of sign-ups costs a bounded amount of memory and CPU and the rest of the
 * service keeps answering.
 */
#ifndef SK_GATE_H
#define SK_GATE_H

#include <pthread.h>
#include <stdint.h>

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned slots, busy;
    unsigned waiting, max_waiting;
    uint64_t turned_away; /* how many were refused, for metrics and tests */
};

int gate_init(struct gate *g, unsigned slots, unsigned max_waiting);
void gate_release(struct gate *g);
/* 0 with a slot held (leave it with gate_leave); SK_EBUSY when max_waiting
 * callers are already waiting, or when no slot freed within wait_us. */
int gate_enter(struct gate *g, int64_t wait_us);
void gate_leave(struct gate *g);

#endif
