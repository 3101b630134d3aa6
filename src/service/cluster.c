/*
 * cluster.c — card events and peer changes between nodes (cluster.h).
 *
 * Invariants:
 *  1. Only ids and what a display already receives travel: a card event is
 *     the SSE event's own data; a peer change names a customer, a brand and
 *     a kind of change, never personal data. Payloads are never logged.
 *  2. A message from this node (origin = this node's name) is skipped; one
 *     that does not parse, or names a store id that is not an id, is
 *     counted (bad_in) and dropped.
 *  3. Sending never blocks a request: bus_publish returns at once and what
 *     it cannot send is counted by the bus as dropped.
 */
#include "service/cluster.h"
#include "util/err.h"
#include "util/ids.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CARDS_PREFIX "sk.cards."
#define PEER_SUBJECT "sk.peer"

struct cluster {
    struct bus *bus;
    char self[BUS_NAME_MAX + 1]; /* this node's name: its own messages are skipped */
    struct cluster_hooks h;
    _Atomic uint64_t cards_out, cards_in, peer_out, peer_in, bad_in;
};

static void send_json(struct cluster *c, const char *subject, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text) bus_publish(c->bus, subject, text, strlen(text));
    free(text);
}

static void on_card(void *cls, const char *subject, const void *data, size_t len,
                    const char *origin)
{
    struct cluster *c = cls;
    if (origin && !strcmp(origin, c->self)) return;
    const char *store_id = subject + strlen(CARDS_PREFIX);
    json_t *msg = json_loadb(data, len, 0, NULL);
    const char *event = json_string_value(json_object_get(msg, "event"));
    json_t *d = json_object_get(msg, "data");
    if (!event || !json_is_object(d) || !id_is_plausible(store_id)) {
        atomic_fetch_add(&c->bad_in, 1);
    } else {
        atomic_fetch_add(&c->cards_in, 1);
        if (c->h.card) c->h.card(c->h.ctx, store_id, event, d);
    }
    json_decref(msg);
}

static void on_peer(void *cls, const char *subject, const void *data, size_t len,
                    const char *origin)
{
    (void)subject;
    struct cluster *c = cls;
    if (origin && !strcmp(origin, c->self)) return;
    json_t *msg = json_loadb(data, len, 0, NULL);
    const char *what = json_string_value(json_object_get(msg, "what"));
    const char *cid = json_string_value(json_object_get(msg, "customer"));
    const char *bid = json_string_value(json_object_get(msg, "brand"));
    if (!what || !cid || !id_is_plausible(cid) || (bid && !id_is_plausible(bid))) {
        atomic_fetch_add(&c->bad_in, 1);
    } else {
        atomic_fetch_add(&c->peer_in, 1);
        if (c->h.peer) c->h.peer(c->h.ctx, what, cid, bid);
    }
    json_decref(msg);
}

int cluster_new(struct bus *b, const char *node, const struct cluster_hooks *h,
                struct cluster **ret)
{
    if (!node || strlen(node) > BUS_NAME_MAX) return SK_EINVAL;
    struct cluster *c = calloc(1, sizeof *c);
    if (!c) return SK_ENOMEM;
    c->bus = b;
    snprintf(c->self, sizeof c->self, "%s", node);
    c->h = *h;
    int rc = bus_subscribe(b, CARDS_PREFIX ">", on_card, c);
    if (!rc) rc = bus_subscribe(b, PEER_SUBJECT, on_peer, c);
    if (rc) {
        free(c);
        return rc;
    }
    *ret = c;
    return 0;
}

void cluster_card(struct cluster *c, const char *store_id, const char *event, json_t *data)
{
    if (!c || !id_is_plausible(store_id)) return;
    char subject[BUS_SUBJECT_MAX];
    snprintf(subject, sizeof subject, CARDS_PREFIX "%s", store_id);
    json_t *msg = json_pack("{s:s, s:O}", "event", event, "data", data);
    if (!msg) return;
    send_json(c, subject, msg);
    json_decref(msg);
    atomic_fetch_add(&c->cards_out, 1);
}

void cluster_peer(struct cluster *c, const char *what, const char *customer_id,
                  const char *brand_id)
{
    if (!c) return;
    json_t *msg = json_pack("{s:s, s:s, s:s?}", "what", what, "customer", customer_id, "brand",
                            brand_id);
    if (!msg) return;
    send_json(c, PEER_SUBJECT, msg);
    json_decref(msg);
    atomic_fetch_add(&c->peer_out, 1);
}

void cluster_stats(struct cluster *c, struct cluster_stats *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!c) return;
    ret->cards_out = atomic_load(&c->cards_out);
    ret->cards_in = atomic_load(&c->cards_in);
    ret->peer_out = atomic_load(&c->peer_out);
    ret->peer_in = atomic_load(&c->peer_in);
    ret->bad_in = atomic_load(&c->bad_in);
}

void cluster_free(struct cluster *c) { free(c); }
