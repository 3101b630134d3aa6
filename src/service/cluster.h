/*
 * cluster.h — what `serve` nodes sharing one database tell each other over
 * the bus (bus.h, NATS), issue 12: the live card events of every store (so
 * a display on one node shows a card opened on another) and the changes
 * the recognition service of every node must apply (a customer's devices,
 * grants, erasure). Everything here can be rebuilt from the database: a
 * message lost while NATS is away is a card that shows up at the next
 * event, never data lost.
 *
 * Subjects: "sk.cards.<store id>" carries {event, data} (event "card",
 * "update" or "gone", data as the SSE stream sends it); "sk.peer" carries
 * {what, customer, brand}. A node skips its own messages (the bus's origin
 * header). Hooks run on the bus's delivery threads.
 */
#ifndef SK_CLUSTER_H
#define SK_CLUSTER_H

#include "service/bus.h"

#include <jansson.h>

struct cluster_hooks {
    void *ctx;
    /* a card event of another node, for this node's displays of store_id */
    void (*card)(void *ctx, const char *store_id, const char *event, json_t *data);
    /* a change another node made (recog_peer) */
    void (*peer)(void *ctx, const char *what, const char *customer_id, const char *brand_id);
};

struct cluster_stats {
    uint64_t cards_out, cards_in, peer_out, peer_in, bad_in;
};

struct cluster;

/* Subscribes on b (which must outlive the cluster); node is the bus's node
 * name (bus_config.node), whose messages are skipped. 0 or an SK_E* code. */
int cluster_new(struct bus *b, const char *node, const struct cluster_hooks *h,
                struct cluster **ret);
/* Sends a card event of this node to the other nodes (never blocks). */
void cluster_card(struct cluster *c, const char *store_id, const char *event, json_t *data);
/* Sends a change of this node (recog_events.peer) to the other nodes. */
void cluster_peer(struct cluster *c, const char *what, const char *customer_id,
                  const char *brand_id);
void cluster_stats(struct cluster *c, struct cluster_stats *ret);
/* After bus_close of its bus (no hook runs any more). NULL allowed. */
void cluster_free(struct cluster *c);

#endif
