/*
 * recog.h — the recognition service: devices, sightings, presences, visits
 * and cards, held in memory on the hot path (resolve, check, de-duplicate,
 * publish) and recorded through the store.
 *
 * It knows nothing of HTTP: cards and their changes leave through the
 * publish callback (the SSE hub), as events "card", "update" and "gone".
 */
#ifndef SK_RECOG_H
#define SK_RECOG_H

#include "core/eid.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

struct recog_config {
    unsigned tolerance;    /* windows either side of the current (default 1) */
    int64_t quiet_s;       /* a visit closes after this long without presence (300) */
    unsigned k_min, k_max; /* accepted rotation exponents (4..15) */
    const char *node;      /* this node's name in a cluster, NULL alone (visits carry it);
                            * must outlive the service */
};

struct recog_events {
    void *ctx;
    /* data is borrowed for the call */
    void (*publish)(void *ctx, const char *store_id, const char *event, json_t *data);
    /* Optional: something changed here that other nodes must apply (with
     * recog_peer): what is "devices" (the customer's devices were added or
     * removed), "changed" (grants or answers; brand_id may be NULL) or
     * "erased". Not called for what recog_peer applies. */
    void (*peer)(void *ctx, const char *what, const char *customer_id, const char *brand_id);
};

struct recog_stats {
    uint64_t received, resolved, unknown, not_member, collisions, replay_flagged, presences,
        visits_opened, visits_joined, visits_closed;
    uint64_t visits_held; /* open visits in this node's table now */
};

/* One item of a scanner's batch, already validated. */
struct sighting {
    uint8_t eid[EID_LEN];
    int rssi;
    int64_t seen_us;
};

struct recog;

int recog_new(struct store *st, const struct recog_config *cfg, const struct recog_events *ev,
              struct recog **ret, char *err, size_t errlen);
void recog_free(struct recog *r);
/* Starts/stops the background tick (window roll-over, quiet visits). */
int recog_start(struct recog *r);
void recog_stop(struct recog *r);
/* Runs one tick at server time now (seconds); tests and the thread use it. */
void recog_tick(struct recog *r, int64_t now_s);
/* The service is stopping. Alone: closes every open visit ("gone"
 * published, rows closed with reason), no visit row may stay open for
 * ever. In a cluster: forgets them, having written when each was last
 * heard here; the other nodes carry them on or close them when quiet. */
void recog_close_all(struct recog *r, const char *reason);

void recog_public_key(const struct recog *r, uint8_t ret[32]);
const struct recog_config *recog_config(const struct recog *r);

/* Registers a device by X25519: derives the key, checks eid is the EID of
 * clock. SK_EINVAL with a message naming the field. */
int recog_register_x25519(struct recog *r, const char *customer_id, const char *name,
                          const uint8_t device_pub[32], unsigned k, uint32_t clock,
                          const uint8_t eid[EID_LEN], json_t **ret, char *err, size_t errlen);
/* Registers a tag whose key the service makes; the answer carries the key
 * and the clock value to program, once. */
int recog_register_shared(struct recog *r, const char *customer_id, const char *name, unsigned k,
                          json_t **ret);
int recog_device_delete(struct recog *r, const char *customer_id, const char *device_id);
/* {code, display, valid_until, qr} for the device's current window. */
int recog_counter_code(struct recog *r, const char *customer_id, const char *device_id,
                       json_t **ret);

/* A scanner's batch at store_id. Never says who resolved. */
int recog_sightings(struct recog *r, const char *store_id, const struct sighting *items,
                    size_t n);
/* App check-in or counter code: a presence of customer_id at store_id.
 * SK_EFORBIDDEN when the customer is not recognisable there. */
int recog_presence(struct recog *r, const char *store_id, const char *customer_id,
                   const char *channel);
/* Resolves a counter code to a customer: 0, SK_ENOTFOUND, SK_ECONFLICT. */
int recog_code_lookup(struct recog *r, const char *code, char ret_customer[ID_MAX]);

/* The customer's grants or answers changed (brand_id NULL: every brand):
 * open cards are updated or, without recognition, removed at once. */
void recog_customer_changed(struct recog *r, const char *customer_id, const char *brand_id);

/* The customer was erased: their devices stop resolving and their cards
 * leave every display, at once. */
void recog_customer_erased(struct recog *r, const char *customer_id);

/* Applies what another node announced (recog_events.peer): "devices"
 * reloads the customer's devices from the store, "changed" and "erased"
 * act as recog_customer_changed / recog_customer_erased do, without
 * announcing it again. SK_EINVAL for anything else. */
int recog_peer(struct recog *r, const char *what, const char *customer_id, const char *brand_id);
/* The customer, among those whose devices or open visits this node holds,
 * whose id has the SHA-256 digest_hex (64 lower-case hex digits): how the
 * outbox names an erased customer (migration 0013). 0, SK_ENOTFOUND (none
 * held here), SK_EINVAL. */
int recog_customer_of_digest(struct recog *r, const char *digest_hex, char ret[ID_MAX]);

/* The open cards of a store, newest first. */
int recog_cards(struct recog *r, const char *store_id, json_t **ret);
/* A card event from another node (cluster): a copy of that visit held here
 * follows it ("update": the card; "gone": dropped, nothing written). */
void recog_peer_card(struct recog *r, const char *event, json_t *data);
/* Served, once: the card gets served_at and undo_until (publishes "update"). */
int recog_served(struct recog *r, const char *store_id, const char *visit_id);
/* Undoes Served within RECOG_UNSERVE_S seconds (SK_ECONFLICT after; 0 when
 * the card was not served); every display of the store gets the update. */
#define RECOG_UNSERVE_S 60
int recog_unserve(struct recog *r, const char *store_id, const char *visit_id);

/* Where a card's suggestions come from (the suggestion service): for a
 * visit, *ret_list [{sku, title, reason, for?}] (already recorded as shown)
 * and *ret_usual {sku, title} or NULL. Called only when the card has the
 * suggestions part or may show the usual; never with a lock held. */
struct recog_suggester {
    void *ctx;
    int (*card)(void *ctx, const char *brand_id, const char *customer_id, const char *visit_id,
                json_t **ret_list, json_t **ret_usual);
};
void recog_set_suggester(struct recog *r, const struct recog_suggester *sg);
/* Staff answered a suggestion: it leaves the open card ("update"). */
int recog_suggestion_done(struct recog *r, const char *store_id, const char *visit_id,
                          const char *sku);

void recog_stats(struct recog *r, struct recog_stats *ret);
size_t recog_device_count(struct recog *r);

#endif
