/*
 * gate.c — a bounded gate (see gate.h).
 * Invariants (under mu): busy <= slots; waiting <= max_waiting; a caller
 * that returned 0 from gate_enter holds exactly one slot until gate_leave.
 */
#include "util/gate.h"
#include "util/err.h"

#include <errno.h>
#include <time.h>

int gate_init(struct gate *g, unsigned slots, unsigned max_waiting)
{
    if (slots == 0) return SK_EINVAL;
    *g = (struct gate){.slots = slots, .max_waiting = max_waiting};
    if (pthread_mutex_init(&g->mu, NULL)) return SK_ENOMEM;
    if (pthread_cond_init(&g->cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        return SK_ENOMEM;
    }
    return 0;
}

void gate_release(struct gate *g)
{
    if (!g) return;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

int gate_enter(struct gate *g, int64_t wait_us)
{
    pthread_mutex_lock(&g->mu);
    if (g->busy < g->slots && g->waiting == 0) {
        g->busy++;
        pthread_mutex_unlock(&g->mu);
        return 0;
    }
    if (g->waiting >= g->max_waiting) {
        g->turned_away++;
        pthread_mutex_unlock(&g->mu);
        return SK_EBUSY;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(wait_us / 1000000);
    until.tv_nsec += (long)(wait_us % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    g->waiting++;
    int rc = 0;
    while (g->busy >= g->slots) {
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT &&
            g->busy >= g->slots) {
            rc = SK_EBUSY;
            break;
        }
    }
    g->waiting--;
    if (rc) g->turned_away++;
    else g->busy++;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void gate_leave(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    if (g->busy) g->busy--;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}
