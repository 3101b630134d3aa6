/* h_system.c — health, metrics and the list of purposes. */
#include "http/handlers.h"
#include "core/purpose.h"
#include "http/sse.h"
#include "service/bus.h"
#include "service/cluster.h"
#include "service/outbox.h"
#include "service/recog.h"
#include "service/suggest_svc.h"
#include "util/metrics.h"
#include "util/timeutil.h"
#include "util/workq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SHOPKEEPER_VERSION
#define SHOPKEEPER_VERSION "dev"
#endif

/* 200 whenever this node serves: "degraded" when it belongs to a cluster
 * and NATS is out of reach (it serves its own displays; the others' cards
 * and changes do not reach it until NATS is back), so that a load balancer
 * keeps sending it requests while an operator sees what is wrong. */
void h_healthz(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    json_t *out = json_pack("{s:s, s:s, s:s}", "status", "ok", "version", SHOPKEEPER_VERSION,
                            "store", app->st->ops->name);
    if (app->bus) {
        struct bus_stats b;
        bus_stats(app->bus, &b);
        char since[TIME_RFC3339_LEN];
        time_fmt_rfc3339(b.changed_us, since, sizeof since);
        json_object_set_new(out, "nats",
                            json_pack("{s:b, s:s, s:I}", "connected", b.connected, "since", since,
                                      "reconnects", (json_int_t)b.reconnects));
        if (!b.connected) json_object_set_new(out, "status", json_string("degraded"));
    }
    if (app->outbox) {
        /* the catch-up path: how long since this node last read the changes
         * other nodes made (every second while all is well) */
        struct outbox_stats o;
        outbox_stats(app->outbox, &o);
        char last[TIME_RFC3339_LEN];
        time_fmt_rfc3339(o.last_read_us, last, sizeof last);
        int64_t behind = (time_now_us() - o.last_read_us) / 1000000;
        if (behind < 0) behind = 0;
        json_object_set_new(out, "outbox",
                            json_pack("{s:s, s:I}", "last_read", last, "seconds_since",
                                      (json_int_t)behind));
        if (behind > OUTBOX_STALE_S) json_object_set_new(out, "status", json_string("degraded"));
    }
    resp_json(resp, 200, out);
}

void h_purposes(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    (void)req;
    json_t *items = json_array();
    for (int i = 0; i < PURPOSE_FIXED_COUNT; i++)
        json_array_append_new(items, json_pack("{s:s, s:s}", "name", purpose_names[i],
                                               "explanation", purpose_explain(purpose_names[i])));
    json_array_append_new(items, json_pack("{s:s, s:s}", "name", "partner:<brand>",
                                           "explanation", purpose_explain("partner:x")));
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
}

/* ---- GET /metrics ---------------------------------------------------------
 * Prometheus text format (version 0.0.4), for an operator's scraper
 * (bearer token in its scrape config). Counts and timings only: never a
 * customer, a token or anything a person typed. */

static void metric(FILE *out, const char *name, const char *type, const char *help, double v)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* One metric with several labelled series: {labels, value} each. */
struct series {
    const char *labels; /* `outcome="received"` */
    uint64_t v;
};

static void metric_series(FILE *out, const char *name, const char *type, const char *help,
                          const struct series *s, size_t n)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s{%s} %llu\n", name, s[i].labels, (unsigned long long)s[i].v);
}

struct model_walk {
    FILE *out;
    int64_t now_us;
};

static void model_age(void *cls, const char *brand_id, int64_t trained_us, size_t items)
{
    struct model_walk *w = cls;
    char label[128];
    metrics_label(label, sizeof label, brand_id);
    fprintf(w->out, "shopkeeper_suggest_model_age_seconds{brand=\"%s\"} %.3f\n", label,
            (double)(w->now_us - trained_us) / 1e6);
    fprintf(w->out, "shopkeeper_suggest_model_items{brand=\"%s\"} %zu\n", label, items);
}

/* this process's resident memory (bytes) and threads, from /proc */
static void process_figures(double *rss, double *threads)
{
    *rss = *threads = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) *rss = strtod(line + 6, NULL) * 1024;
        else if (!strncmp(line, "Threads:", 8)) *threads = strtod(line + 8, NULL);
    }
    fclose(f);
}

void h_metrics(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) {
        resp_problem(resp, 503, "cannot assemble the metrics now; try again");
        return;
    }
    metrics_write(app->metrics, out);

    if (app->recog) {
        struct recog_stats s;
        recog_stats(app->recog, &s);
        const struct series sightings[] = {
            {"outcome=\"received\"", s.received},
            {"outcome=\"resolved\"", s.resolved},
            {"outcome=\"dropped_unknown\"", s.unknown},
            {"outcome=\"dropped_not_member\"", s.not_member},
            {"outcome=\"replay_flagged\"", s.replay_flagged},
        };
        metric_series(out, "shopkeeper_sightings_total", "counter",
                      "Sightings received from scanners, and what became of them.", sightings,
                      sizeof sightings / sizeof sightings[0]);
        metric(out, "shopkeeper_eid_collisions_total", "counter",
               "Identifiers that matched more than one device.", (double)s.collisions);
        metric(out, "shopkeeper_visits_opened_total", "counter", "Visits opened.",
               (double)s.visits_opened);
        metric(out, "shopkeeper_visits_joined_total", "counter",
               "Visits another node opened that this node joined (it heard the shopper too, "
               "or a display here asked for the store's cards).",
               (double)s.visits_joined);
        metric(out, "shopkeeper_visits_closed_total", "counter", "Visits closed.",
               (double)s.visits_closed);
        metric(out, "shopkeeper_visits_open", "gauge", "Visits open now that this node holds.",
               (double)s.visits_held);
        metric(out, "shopkeeper_devices", "gauge", "Devices the resolver holds.",
               (double)recog_device_count(app->recog));
    }
    if (app->hub)
        metric(out, "shopkeeper_displays_connected", "gauge",
               "Card streams open (counter displays and staff screens).",
               (double)sse_hub_clients(app->hub));
    if (app->lane_fast && app->lane_slow) {
        fputs("# HELP shopkeeper_requests_waiting Requests waiting for a worker, by lane.\n"
              "# TYPE shopkeeper_requests_waiting gauge\n", out);
        fprintf(out, "shopkeeper_requests_waiting{lane=\"fast\"} %zu\n",
                workq_waiting(app->lane_fast));
        fprintf(out, "shopkeeper_requests_waiting{lane=\"slow\"} %zu\n",
                workq_waiting(app->lane_slow));
    }

    if (app->bus) {
        struct bus_stats b;
        struct cluster_stats c;
        bus_stats(app->bus, &b);
        cluster_stats(app->cluster, &c);
        metric(out, "shopkeeper_nats_connected", "gauge",
               "1 when this node is connected to NATS (--nats).", b.connected);
        metric(out, "shopkeeper_nats_reconnects_total", "counter",
               "Connections to NATS re-established after a loss.", (double)b.reconnects);
        const struct series messages[] = {
            {"direction=\"out\"", b.published},
            {"direction=\"in\"", b.received},
            {"direction=\"dropped\"", b.dropped},
        };
        metric_series(out, "shopkeeper_nats_messages_total", "counter",
                      "Messages between nodes, by direction.", messages,
                      sizeof messages / sizeof messages[0]);
        struct outbox_stats o;
        outbox_stats(app->outbox, &o);
        const struct series events[] = {
            {"kind=\"card\",direction=\"out\"", c.cards_out},
            {"kind=\"card\",direction=\"in\"", c.cards_in},
            {"kind=\"change\",direction=\"out\"", c.peer_out},
            {"kind=\"change\",direction=\"in\"", c.peer_in},
            {"kind=\"change\",direction=\"caught_up\"", o.applied},
            {"kind=\"malformed\",direction=\"in\"", c.bad_in},
        };
        metric_series(out, "shopkeeper_cluster_events_total", "counter",
                      "Card events and changes exchanged with other nodes; caught_up: changes "
                      "applied from the database's outbox.",
                      events, sizeof events / sizeof events[0]);
        metric(out, "shopkeeper_outbox_failures_total", "counter",
               "Reads of the outbox, or applications of a change read there, that failed "
               "(retried).",
               (double)o.failed);
        if (app->outbox)
            metric(out, "shopkeeper_outbox_read_age_seconds", "gauge",
                   "Seconds since this node last read the outbox without error (about 1 "
                   "while all is well; /healthz says degraded past 10).",
                   o.last_read_us ? (double)(time_now_us() - o.last_read_us) / 1e6 : 0);
    }

    /* the database answers a small read, and how long it took */
    int64_t t0 = time_now_us();
    struct page pg = {.after = NULL, .limit = 1};
    json_t *probe = NULL;
    int rc = app->st->ops->brand_list(app->st, &pg, &probe);
    json_decref(probe);
    metric(out, "shopkeeper_database_up", "gauge",
           "1 when the database answered a small read just now.", rc == 0 ? 1 : 0);
    metric(out, "shopkeeper_database_probe_seconds", "gauge", "How long that read took.",
           (double)(time_now_us() - t0) / 1e6);

    if (app->sugg) {
        fputs("# HELP shopkeeper_suggest_model_age_seconds Time since the brand's suggestion "
              "model was trained.\n# TYPE shopkeeper_suggest_model_age_seconds gauge\n"
              "# HELP shopkeeper_suggest_model_items Items in the brand's model.\n"
              "# TYPE shopkeeper_suggest_model_items gauge\n", out);
        struct model_walk w = {out, time_now_us()};
        suggest_svc_models(app->sugg, model_age, &w);
    }

    double rss, threads;
    process_figures(&rss, &threads);
    metric(out, "shopkeeper_process_resident_bytes", "gauge", "Resident memory.", rss);
    metric(out, "shopkeeper_process_threads", "gauge", "Threads.", threads);
    if (fclose(out) != 0 || !text) {
        free(text);
        resp_problem(resp, 503, "cannot assemble the metrics now; try again");
        return;
    }
    resp->status = 200;
    resp->raw = text;
    resp->raw_len = len;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
