/*
 * metrics.h — request counters and latency histograms, per route, for
 * GET /metrics (Prometheus text format).
 *
 * Recording is a few relaxed atomic additions: no lock, no allocation, so
 * the network threads can count every answer. Routes are known at start
 * (the route table), statuses are folded into a fixed list (anything else
 * counts as "other"), and latencies into fixed buckets, so memory does not
 * grow with traffic or with what clients send.
 */
#ifndef SK_METRICS_H
#define SK_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct metrics;

/* nroutes labels ("GET /v1/brands/{brand}"), copied; one more slot,
 * index nroutes, counts requests that matched no route (pages, 404s). */
int metrics_new(const char *const *labels, size_t nroutes, struct metrics **ret);
void metrics_free(struct metrics *m);
/* One answered request: its route (nroutes: none), status, time taken. */
void metrics_observe(struct metrics *m, size_t route, int status, int64_t dur_us);
/* Writes shopkeeper_http_requests_total and
 * shopkeeper_http_request_duration_seconds (only routes that have been
 * called, so an idle node's page stays short). */
void metrics_write(struct metrics *m, FILE *out);

/* Prometheus label-value escaping of s into buf (backslash, quote, newline). */
void metrics_label(char *buf, size_t len, const char *s);

#endif
