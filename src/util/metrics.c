/*
 * metrics.c — per-route counters and histograms (see metrics.h).
 * Invariant: for each route, the sum of its status counts equals the sum
 * of its bucket counts (each observation adds one to each), though a
 * reader racing a writer may see one ahead of the other for an instant.
 */
#include "util/metrics.h"
#include "util/err.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* the statuses this service answers; anything else is "other" */
static const int statuses[] = {200, 201, 202, 204, 301, 302, 303, 304, 400, 401, 403,
                               404, 405, 406, 409, 410, 412, 413, 414, 415, 422, 428,
                               429, 431, 500, 501, 502, 503, 504, 505};
#define NSTATUS (sizeof statuses / sizeof statuses[0] + 1) /* + other */

/* upper bounds in microseconds; the last bucket is +Inf */
static const int64_t bounds_us[] = {500,    1000,   2500,   5000,    10000,   25000,  50000,
                                    100000, 250000, 500000, 1000000, 2500000, 5000000};
#define NBUCKET (sizeof bounds_us / sizeof bounds_us[0] + 1)

struct route_metrics {
    _Atomic uint64_t by_status[NSTATUS];
    _Atomic uint64_t buckets[NBUCKET];
    _Atomic uint64_t sum_us;
};

struct metrics {
    size_t nroutes;
    char **labels;                /* nroutes + 1 */
    struct route_metrics *routes; /* nroutes + 1 */
};

int metrics_new(const char *const *labels, size_t nroutes, struct metrics **ret)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m) return SK_ENOMEM;
    m->nroutes = nroutes;
    m->labels = calloc(nroutes + 1, sizeof *m->labels);
    m->routes = calloc(nroutes + 1, sizeof *m->routes);
    if (!m->labels || !m->routes) {
        metrics_free(m);
        return SK_ENOMEM;
    }
    for (size_t i = 0; i <= nroutes; i++) {
        m->labels[i] = strdup(i < nroutes ? labels[i] : "none");
        if (!m->labels[i]) {
            metrics_free(m);
            return SK_ENOMEM;
        }
    }
    *ret = m;
    return 0;
}

void metrics_free(struct metrics *m)
{
    if (!m) return;
    if (m->labels)
        for (size_t i = 0; i <= m->nroutes; i++) free(m->labels[i]);
    free(m->labels);
    free(m->routes);
    free(m);
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status) return i;
    return NSTATUS - 1;
}

void metrics_observe(struct metrics *m, size_t route, int status, int64_t dur_us)
{
    if (!m) return;
    if (route > m->nroutes) route = m->nroutes;
    if (dur_us < 0) dur_us = 0;
    struct route_metrics *r = &m->routes[route];
    size_t b = 0;
    while (b < NBUCKET - 1 && dur_us > bounds_us[b]) b++;
    atomic_fetch_add_explicit(&r->by_status[status_slot(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint64_t)dur_us, memory_order_relaxed);
}

void metrics_label(char *buf, size_t len, const char *s)
{
    size_t n = 0;
    for (; *s && n + 2 < len; s++) {
        if (*s == '\\' || *s == '"') buf[n++] = '\\', buf[n++] = *s;
        else if (*s == '\n') buf[n++] = '\\', buf[n++] = 'n';
        else buf[n++] = *s;
    }
    buf[n] = '\0';
}

void metrics_write(struct metrics *m, FILE *out)
{
    char label[256];
    fputs("# HELP shopkeeper_http_requests_total Requests answered, by route and status.\n"
          "# TYPE shopkeeper_http_requests_total counter\n", out);
    for (size_t i = 0; i <= m->nroutes; i++) {
        struct route_metrics *r = &m->routes[i];
        metrics_label(label, sizeof label, m->labels[i]);
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t n = atomic_load_explicit(&r->by_status[s], memory_order_relaxed);
            if (!n) continue;
            if (s < NSTATUS - 1)
                fprintf(out, "shopkeeper_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                        label, statuses[s], (unsigned long long)n);
            else
                fprintf(out, "shopkeeper_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                        label, (unsigned long long)n);
        }
    }
    fputs("# HELP shopkeeper_http_request_duration_seconds Time from a request's headers to "
          "its answer, by route.\n"
          "# TYPE shopkeeper_http_request_duration_seconds histogram\n", out);
    for (size_t i = 0; i <= m->nroutes; i++) {
        struct route_metrics *r = &m->routes[i];
        uint64_t counts[NBUCKET], total = 0;
        for (size_t b = 0; b < NBUCKET; b++)
            total += counts[b] = atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
        if (!total) continue;
        metrics_label(label, sizeof label, m->labels[i]);
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            cum += counts[b];
            if (b < NBUCKET - 1)
                fprintf(out,
                        "shopkeeper_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                        "%llu\n",
                        label, (double)bounds_us[b] / 1e6, (unsigned long long)cum);
            else
                fprintf(out,
                        "shopkeeper_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                        "%llu\n",
                        label, (unsigned long long)cum);
        }
        fprintf(out, "shopkeeper_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label,
                (double)atomic_load_explicit(&r->sum_us, memory_order_relaxed) / 1e6);
        fprintf(out, "shopkeeper_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label,
                (unsigned long long)cum);
    }
}
