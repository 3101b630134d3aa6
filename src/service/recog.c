/*
 * recog.c — the recognition service (see recog.h).
 *
 * The visit state machine (one visit per customer and store):
 *
 *                 presence, recognition granted
 *    (no visit) ---------------------------------> OPEN ---+ presence:
 *        ^          [open_visit: row written,       |  ^   | last_seen = now
 *        |           card published, look logged]   |  +---+ served: flag set
 *        |                                          |      (undone within RECOG_UNSERVE_S)
 *        |                                          |
 *        |   quiet_s without presence [recog_tick]  |
 *        |   recognition withdrawn, left, erased    |
 *        +------------------ CLOSED <---------------+
 *                 [close_visit: row closed, "gone" published]
 *
 * A presence that does not resolve to a member with recognition granted at
 * that moment is dropped at once: no row, no log line, only counters.
 *
 * In a cluster (cfg.node set) the database holds one open visit per
 * customer and store; this node's tables hold those it has a part in:
 *  - opened here (card published to every node, look logged), or joined:
 *    another node opened it first (nothing published, nothing logged), or
 *    adopted for a display or a Served tap here (the same);
 *  - the last sighting is written at most every flush_every_s, and a visit
 *    closes as quiet only when the database agrees that no node heard the
 *    shopper since the cut-off (one conditional UPDATE: exactly one node
 *    closes it); a copy whose row another node closed is dropped;
 *  - a peer's "update" replaces the copy's card, its "gone" drops it;
 *  - visits nobody writes to any more (a dead node's) are closed by any
 *    node's sweep after the quiet time and twice the flush interval;
 *  - stopping leaves the visits open for the others (they are written first).
 *
 * Locks, always taken in this order:
 *   open_mu  serialises opening and re-checking visits (they touch the store)
 *   idx      rwlock over the resolver and the owner table
 *   mu       the visit tables, the denied cache, counters
 * The store is never called with idx or mu held.
 */
#include "service/recog.h"
#include "core/card.h"
#include "core/countercode.h"
#include "core/resolver.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DENIED_TTL_S 30

/* What the service knows of a registered device, by owner index: 40 bytes,
 * ids packed (a million devices fit the memory budget). */
struct owner {
    uint8_t device_id[ID_PACKED];   /* "dev_..." */
    uint8_t customer_id[ID_PACKED]; /* "cus_..." */
    uint32_t handle;                /* in the resolver */
    uint32_t last_city;             /* hash of the city it was last heard in */
    uint32_t last_seen;             /* server seconds, truncated */
};

struct visit_rec {
    char id[ID_MAX];
    char customer_id[ID_MAX];
    char store_id[ID_MAX];
    char brand_id[ID_MAX];
    char channel[8];
    char opened_at[TIME_RFC3339_LEN];
    int64_t last_seen_us;
    int served;
    int64_t served_us; /* when Served was tapped (0: not served) */
    int64_t flushed_us; /* the last_seen the database has from this node */
    json_t *card;
};

struct store_info {
    char brand_id[ID_MAX];
    uint32_t city;
};

struct recog {
    struct store *st;
    struct recog_config cfg;
    struct recog_events ev;
    uint8_t priv[32], pub[32];

    pthread_mutex_t open_mu;
    pthread_rwlock_t idx;
    struct resolver res;
    struct owner *owners;
    size_t nowners, capowners;
    uint32_t *free_owners;
    size_t nfree;

    pthread_mutex_t mu;
    struct strmap visits;   /* "customer|store" -> visit_rec */
    struct strmap by_id;    /* visit id -> visit_rec */
    struct strmap denied;   /* "customer|brand" -> expiry (server seconds) */
    struct strmap stores;   /* store id -> store_info */
    struct recog_stats stats;

    pthread_t thread;
    int running;
    int64_t orphans_next; /* server seconds: the next sweep for a stopped node's visits */
    pthread_cond_t stop_cv;
    struct recog_suggester sg;
};

void recog_set_suggester(struct recog *r, const struct recog_suggester *sg)
{
    r->sg = *sg;
}

static uint32_t city_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)(*s | 0x20)) * 16777619u;
    return h ? h : 1;
}

static int64_t now_s(void) { return time_now_us() / 1000000; }

/* ---- owners and the index ---------------------------------------------- */

static int owner_add(struct recog *r, const char *device_id, const char *customer_id,
                     const uint8_t ik[16], unsigned k, uint32_t offset, int64_t now)
{
    uint32_t o;
    if (r->nfree) {
        o = r->free_owners[--r->nfree];
    } else {
        if (r->nowners == r->capowners) {
            size_t cap = r->capowners ? r->capowners * 2 : 256;
            struct owner *no = realloc(r->owners, cap * sizeof *no);
            if (!no) return SK_ENOMEM;
            r->owners = no;
            uint32_t *nf = realloc(r->free_owners, cap * sizeof *nf);
            if (!nf) return SK_ENOMEM;
            r->free_owners = nf;
            r->capowners = cap;
        }
        o = (uint32_t)r->nowners++;
    }
    struct owner *ow = &r->owners[o];
    memset(ow, 0, sizeof *ow);
    int rc = id_pack(device_id, ow->device_id);
    if (!rc) rc = id_pack(customer_id, ow->customer_id);
    if (!rc) rc = resolver_add(&r->res, ik, k, offset, o, now, &ow->handle);
    if (rc) {
        memset(ow, 0, sizeof *ow);
        r->free_owners[r->nfree++] = o;
        return rc;
    }
    return 0;
}

static int load_device(void *ctx, const char *device_id, const char *customer_id,
                       const uint8_t ik[16], unsigned k, uint32_t offset)
{
    struct recog *r = ctx;
    return owner_add(r, device_id, customer_id, ik, k, offset, now_s());
}

/* Finds the owner of device_id belonging to customer_id (idx held); a
 * linear scan: removals and code requests are rare next to sightings. */
static struct owner *owner_find(struct recog *r, const char *customer_id, const char *device_id)
{
    uint8_t d[ID_PACKED], c[ID_PACKED];
    if (id_pack(device_id, d) || id_pack(customer_id, c)) return NULL;
    for (size_t i = 0; i < r->nowners; i++) {
        struct owner *o = &r->owners[i];
        if (memcmp(o->device_id, d, ID_PACKED) == 0 && memcmp(o->customer_id, c, ID_PACKED) == 0 &&
            r->res.dev[o->handle].live)
            return o;
    }
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static int service_keypair(struct recog *r)
{
    int rc = r->st->ops->service_key_get(r->st, "eid_x25519", r->priv, sizeof r->priv);
    if (rc == SK_ENOTFOUND) {
        rc = crypto_x25519_keypair(r->priv, r->pub);
        if (!rc) rc = r->st->ops->service_key_put(r->st, "eid_x25519", r->priv, sizeof r->priv);
        if (!rc) log_kv(LOG_INFO, "recog.keypair", "note", "a new EID resolver key pair was made", NULL);
        return rc;
    }
    if (rc) return rc;
    return crypto_x25519_public(r->priv, r->pub);
}

int recog_new(struct store *st, const struct recog_config *cfg, const struct recog_events *ev,
              struct recog **ret, char *err, size_t errlen)
{
    struct recog *r = calloc(1, sizeof *r);
    if (!r) return SK_ENOMEM;
    r->st = st;
    r->cfg = *cfg;
    r->ev = *ev;
    pthread_mutex_init(&r->open_mu, NULL);
    pthread_rwlock_init(&r->idx, NULL);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->stop_cv, NULL);
    int rc = resolver_init(&r->res, cfg->tolerance, 1024);
    if (!rc) rc = strmap_init(&r->visits);
    if (!rc) rc = strmap_init(&r->by_id);
    if (!rc) rc = strmap_init(&r->denied);
    if (!rc) rc = strmap_init(&r->stores);
    if (rc) {
        snprintf(err, errlen, "recognition: cannot allocate its tables");
        recog_free(r);
        return rc;
    }
    rc = service_keypair(r);
    if (rc) {
        snprintf(err, errlen, "recognition: cannot load or make the resolver key pair (%s)",
                 sk_strerror(rc));
        recog_free(r);
        return rc;
    }
    /* visits left open by a crash: their cards are on no screen any more
     * (in a cluster the other nodes may still hear those shoppers: a
     * visit nobody hears is closed by the tick's orphan sweep on any node) */
    int64_t stale = 0;
    if (!cfg->node && st->ops->visits_close_open(st, time_now_us(), "restart", NULL, &stale) == 0 &&
        stale) {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)stale);
        log_kv(LOG_WARN, "recog.stale_visits_closed", "count", n, NULL);
    }
    rc = st->ops->device_each(st, NULL, load_device, r);
    if (rc) {
        snprintf(err, errlen, "recognition: cannot load the devices (%s)", sk_strerror(rc));
        recog_free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

static void visit_free(struct visit_rec *v)
{
    if (!v) return;
    json_decref(v->card);
    free(v);
}

void recog_free(struct recog *r)
{
    if (!r) return;
    recog_stop(r);
    size_t pos;
    for (struct strmap_entry *e = r->by_id.buckets ? strmap_first(&r->by_id, &pos) : NULL; e;
         e = strmap_next(&r->by_id, &pos, e))
        visit_free(e->value);
    for (struct strmap_entry *e = r->stores.buckets ? strmap_first(&r->stores, &pos) : NULL; e;
         e = strmap_next(&r->stores, &pos, e))
        free(e->value);
    strmap_release(&r->visits);
    strmap_release(&r->by_id);
    strmap_release(&r->denied);
    strmap_release(&r->stores);
    resolver_release(&r->res);
    free(r->owners);
    free(r->free_owners);
    memset(r->priv, 0, sizeof r->priv);
    pthread_mutex_destroy(&r->open_mu);
    pthread_rwlock_destroy(&r->idx);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->stop_cv);
    free(r);
}

static void *recog_thread(void *arg)
{
    struct recog *r = arg;
    pthread_mutex_lock(&r->mu);
    while (r->running) {
        pthread_mutex_unlock(&r->mu);
        recog_tick(r, now_s());
        pthread_mutex_lock(&r->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (r->running) pthread_cond_timedwait(&r->stop_cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int recog_start(struct recog *r)
{
    r->running = 1;
    if (pthread_create(&r->thread, NULL, recog_thread, r)) {
        r->running = 0;
        return SK_ENOMEM;
    }
    return 0;
}

void recog_stop(struct recog *r)
{
    pthread_mutex_lock(&r->mu);
    int was = r->running;
    r->running = 0;
    pthread_cond_broadcast(&r->stop_cv);
    pthread_mutex_unlock(&r->mu);
    if (was) pthread_join(r->thread, NULL);
}

void recog_public_key(const struct recog *r, uint8_t ret[32]) { memcpy(ret, r->pub, 32); }
const struct recog_config *recog_config(const struct recog *r) { return &r->cfg; }

/* ---- devices ----------------------------------------------------------- */

/* Tells the other nodes (events.peer) what changed here, for them to apply
 * with recog_peer. */
static void notify_peers(struct recog *r, const char *what, const char *customer_id,
                         const char *brand_id)
{
    if (r->ev.peer) r->ev.peer(r->ev.ctx, what, customer_id, brand_id);
}


static int device_store(struct recog *r, const char *customer_id, const char *name,
                        const char *method, const uint8_t ik[16], unsigned k, uint32_t offset,
                        json_t **ret)
{
    json_t *dev;
    int rc = r->st->ops->device_create(r->st, customer_id, name, method, ik, k, offset, &dev);
    if (rc) return rc;
    pthread_rwlock_wrlock(&r->idx);
    rc = owner_add(r, json_string_value(json_object_get(dev, "id")), customer_id, ik, k, offset,
                   now_s());
    pthread_rwlock_unlock(&r->idx);
    if (rc) {
        r->st->ops->device_delete(r->st, customer_id, json_string_value(json_object_get(dev, "id")));
        json_decref(dev);
        return rc;
    }
    *ret = dev;
    notify_peers(r, "devices", customer_id, NULL);
    return 0;
}

int recog_register_x25519(struct recog *r, const char *customer_id, const char *name,
                          const uint8_t device_pub[32], unsigned k, uint32_t clock,
                          const uint8_t eid[EID_LEN], json_t **ret, char *err, size_t errlen)
{
    if (k < r->cfg.k_min || k > r->cfg.k_max) {
        snprintf(err, errlen, "rotation_exponent: must be from %u to %u", r->cfg.k_min,
                 r->cfg.k_max);
        return SK_EINVAL;
    }
    uint8_t ik[16], want[EID_LEN];
    if (eid_provision(r->priv, device_pub, r->pub, device_pub, ik)) {
        snprintf(err, errlen, "public_key: not a usable X25519 public key");
        return SK_EINVAL;
    }
    int rc = eid_compute(ik, k, clock, want);
    if (!rc && !crypto_equal(want, eid, EID_LEN)) {
        snprintf(err, errlen,
                 "eid: does not match the EID of this key at the given clock; check the "
                 "service public key (GET /v1/eid-params), rotation_exponent and clock");
        rc = SK_EINVAL;
    }
    uint32_t offset = clock - (uint32_t)now_s();
    if (!rc) rc = device_store(r, customer_id, name, "x25519", ik, k, offset, ret);
    memset(ik, 0, sizeof ik);
    return rc;
}

int recog_register_shared(struct recog *r, const char *customer_id, const char *name, unsigned k,
                          json_t **ret)
{
    if (k < r->cfg.k_min || k > r->cfg.k_max) return SK_EINVAL;
    uint8_t ik[16];
    char hex[33];
    if (crypto_random(ik, sizeof ik)) return SK_ECRYPTO;
    json_t *dev;
    int rc = device_store(r, customer_id, name, "shared", ik, k, 0, &dev);
    if (!rc) {
        hex_encode(ik, sizeof ik, hex);
        json_object_set_new(dev, "identity_key", json_string(hex));
        json_object_set_new(dev, "clock", json_integer((json_int_t)(uint32_t)now_s()));
        *ret = dev;
    }
    memset(ik, 0, sizeof ik);
    return rc;
}

int recog_device_delete(struct recog *r, const char *customer_id, const char *device_id)
{
    int rc = r->st->ops->device_delete(r->st, customer_id, device_id);
    if (rc) return rc;
    pthread_rwlock_wrlock(&r->idx);
    struct owner *o = owner_find(r, customer_id, device_id);
    if (o) {
        resolver_remove(&r->res, o->handle);
        memset(o, 0, sizeof *o);
        r->free_owners[r->nfree++] = (uint32_t)(o - r->owners);
    }
    pthread_rwlock_unlock(&r->idx);
    notify_peers(r, "devices", customer_id, NULL);
    return 0;
}

int recog_counter_code(struct recog *r, const char *customer_id, const char *device_id,
                       json_t **ret)
{
    int64_t now = now_s();
    uint8_t eid[EID_LEN];
    int rc = SK_ENOTFOUND;
    int64_t until = 0;
    pthread_rwlock_rdlock(&r->idx);
    struct owner *o = owner_find(r, customer_id, device_id);
    if (o) {
        const struct resolver_device *d = &r->res.dev[o->handle];
        uint32_t t = resolver_device_clock(d, now);
        rc = eid_compute(d->ik, d->k, t, eid);
        uint32_t window_end = ((t >> d->k) + 1) << d->k;
        until = now + (int64_t)(window_end - t);
    }
    pthread_rwlock_unlock(&r->idx);
    if (rc) return rc;
    char code[COUNTERCODE_DISPLAY], plain[COUNTERCODE_LEN + 1], until_s[TIME_RFC3339_LEN];
    countercode_format(countercode_prefix(eid), code);
    memcpy(plain, code, 4);
    memcpy(plain + 4, code + 5, 4);
    plain[8] = '\0';
    char qr[32];
    snprintf(qr, sizeof qr, COUNTERCODE_QR_PREFIX "%s", plain);
    *ret = json_pack("{s:s, s:s, s:s, s:s}", "code", code, "plain", plain, "qr", qr,
                     "valid_until", time_fmt_rfc3339(until * 1000000, until_s, sizeof until_s));
    return 0;
}

int recog_code_lookup(struct recog *r, const char *code, char ret_customer[ID_MAX])
{
    uint64_t prefix;
    if (countercode_parse(code, &prefix)) return SK_EINVAL;
    uint32_t o;
    pthread_rwlock_rdlock(&r->idx);
    int rc = resolver_lookup_prefix(&r->res, prefix, &o);
    if (!rc) id_unpack("cus", r->owners[o].customer_id, ret_customer);
    pthread_rwlock_unlock(&r->idx);
    return rc;
}

size_t recog_device_count(struct recog *r)
{
    pthread_rwlock_rdlock(&r->idx);
    size_t n = r->nowners - r->nfree;
    pthread_rwlock_unlock(&r->idx);
    return n;
}

/* ---- stores ------------------------------------------------------------- */

static int store_info(struct recog *r, const char *store_id, struct store_info *ret)
{
    pthread_mutex_lock(&r->mu);
    struct store_info *si = strmap_get(&r->stores, store_id);
    if (si) *ret = *si;
    pthread_mutex_unlock(&r->mu);
    if (si) return 0;
    json_t *s;
    int rc = r->st->ops->store_get(r->st, NULL, store_id, &s);
    if (rc) return rc;
    struct store_info *n = calloc(1, sizeof *n);
    if (!n) {
        json_decref(s);
        return SK_ENOMEM;
    }
    snprintf(n->brand_id, sizeof n->brand_id, "%s", json_string_value(json_object_get(s, "brand_id")));
    n->city = city_hash(json_string_value(json_object_get(s, "city")));
    json_decref(s);
    *ret = *n;
    pthread_mutex_lock(&r->mu);
    if (strmap_get(&r->stores, store_id) || strmap_put(&r->stores, store_id, n)) free(n);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* ---- visits and cards ---------------------------------------------------- */

static void visit_key(char *buf, size_t len, const char *a, const char *b)
{
    snprintf(buf, len, "%s|%s", a, b);
}

/* A served card says when, and until when Served can be undone. */
static void card_served_times(json_t *card, int64_t served_us)
{
    char at[TIME_RFC3339_LEN], until[TIME_RFC3339_LEN];
    time_fmt_rfc3339(served_us, at, sizeof at);
    time_fmt_rfc3339(served_us + RECOG_UNSERVE_S * 1000000LL, until, sizeof until);
    json_object_set_new(card, "served_at", json_string(at));
    json_object_set_new(card, "undo_until", json_string(until));
}

/* Builds the card of a visit from the store's consent-filtered data.
 * SK_EFORBIDDEN when recognition is no longer granted. */
static int card_make(struct recog *r, const struct visit_rec *v, json_t **ret, char *fields,
                     size_t flen, char *purposes, size_t plen)
{
    json_t *data;
    int rc = r->st->ops->card_data(r->st, v->brand_id, v->customer_id, &data);
    if (rc == SK_ENOTFOUND) return SK_EFORBIDDEN;
    if (rc) return rc;
    struct card_input in = {
        .visit_id = v->id,
        .store_id = v->store_id,
        .channel = v->channel,
        .opened_at = v->opened_at,
        .served = v->served,
    };
    int recognised;
    json_t *card = card_from_data(data, &in, fields, flen, &recognised);
    if (v->served) card_served_times(card, v->served_us);
    if (!recognised) {
        json_decref(card);
        json_decref(data);
        return SK_EFORBIDDEN;
    }
    int usual_shown = 0;
    if (r->sg.card) {
        json_t *list = NULL, *usual = NULL;
        if (!r->sg.card(r->sg.ctx, v->brand_id, v->customer_id, v->id, &list, &usual))
            usual_shown = card_add_suggestions(card, list, usual, fields, flen);
        json_decref(list);
        json_decref(usual);
    }
    *ret = card;
    purposes[0] = '\0';
    snprintf(purposes, plen, "recognition%s%s%s",
             strstr(fields, "choices") || strstr(fields, "dont") ? " preferences" : "",
             usual_shown ? " history" : "", strstr(fields, "suggestions") ? " suggestions" : "");
    json_decref(data);
    return 0;
}

static void log_look(struct recog *r, const struct visit_rec *v, const char *fields,
                     const char *purposes)
{
    struct actor who = {.kind = "display", .role = "counter display", .store_id = v->store_id};
    int rc = r->st->ops->access_log_add(r->st, v->customer_id, v->brand_id, &who, fields, purposes);
    if (rc) log_kv(LOG_ERROR, "recog.access_log", "error", sk_strerror(rc), NULL);
}

static void publish(struct recog *r, const char *store_id, const char *event, json_t *data)
{
    if (r->ev.publish) r->ev.publish(r->ev.ctx, store_id, event, data);
}

static void publish_gone(struct recog *r, const struct visit_rec *v)
{
    json_t *d = json_pack("{s:s}", "visit", v->id);
    publish(r, v->store_id, "gone", d);
    json_decref(d);
}

/* Removes a visit from the tables (mu held); the caller frees it. */
static void visit_unlink(struct recog *r, struct visit_rec *v)
{
    char key[2 * ID_MAX + 2];
    visit_key(key, sizeof key, v->customer_id, v->store_id);
    strmap_del(&r->visits, key);
    strmap_del(&r->by_id, v->id);
}

static void visit_finish(struct recog *r, struct visit_rec *v, const char *reason)
{
    int rc = r->st->ops->visit_close(r->st, v->id, v->last_seen_us, time_now_us(), reason);
    if (rc) log_kv(LOG_ERROR, "recog.visit_close", "error", sk_strerror(rc), NULL);
    publish_gone(r, v);
    pthread_mutex_lock(&r->mu);
    r->stats.visits_closed++;
    pthread_mutex_unlock(&r->mu);
    visit_free(v);
}

/* A visit as the database has it (opened here or by another node). */
static void visit_from_row(struct visit_rec *v, const struct visit_row *row)
{
    snprintf(v->id, sizeof v->id, "%s", row->id);
    snprintf(v->customer_id, sizeof v->customer_id, "%s", row->customer_id);
    snprintf(v->store_id, sizeof v->store_id, "%s", row->store_id);
    snprintf(v->brand_id, sizeof v->brand_id, "%s", row->brand_id);
    snprintf(v->channel, sizeof v->channel, "%s", row->channel);
    time_fmt_rfc3339(row->opened_us, v->opened_at, sizeof v->opened_at);
    v->last_seen_us = v->flushed_us = row->last_seen_us;
    v->served = row->served_us != 0;
    v->served_us = row->served_us;
}

static int presence(struct recog *r, const char *store_id, const struct store_info *si,
                    const char *customer_id, const char *channel, int64_t now_us)
{
    char key[2 * ID_MAX + 2], dkey[2 * ID_MAX + 2];
    visit_key(key, sizeof key, customer_id, store_id);
    visit_key(dkey, sizeof dkey, customer_id, si->brand_id);

    pthread_mutex_lock(&r->mu);
    struct visit_rec *v = strmap_get(&r->visits, key);
    if (v) {
        /* a late report of an older sighting never moves it back */
        if (now_us > v->last_seen_us) v->last_seen_us = now_us;
        r->stats.presences++;
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    intptr_t until = (intptr_t)strmap_get(&r->denied, dkey);
    if (until && until > now_us / 1000000) {
        r->stats.not_member++;
        pthread_mutex_unlock(&r->mu);
        return SK_EFORBIDDEN;
    }
    pthread_mutex_unlock(&r->mu);

    pthread_mutex_lock(&r->open_mu);
    pthread_mutex_lock(&r->mu);
    v = strmap_get(&r->visits, key); /* opened meanwhile by another batch */
    if (v && now_us > v->last_seen_us) v->last_seen_us = now_us;
    pthread_mutex_unlock(&r->mu);
    if (v) {
        pthread_mutex_unlock(&r->open_mu);
        return 0;
    }
    struct visit_rec *nv = calloc(1, sizeof *nv);
    if (!nv) {
        pthread_mutex_unlock(&r->open_mu);
        return SK_ENOMEM;
    }
    /* opened here, or joined: another node heard the shopper first and its
     * card is on every display already */
    struct visit_row row;
    int joined = 0;
    int rc = r->st->ops->visit_open(r->st, si->brand_id, store_id, customer_id, channel, now_us,
                                    r->cfg.node, &row, &joined);
    if (!rc) visit_from_row(nv, &row);
    if (now_us > nv->last_seen_us) nv->last_seen_us = now_us;
    char fields[64], purposes[64];
    if (!rc) rc = card_make(r, nv, &nv->card, fields, sizeof fields, purposes, sizeof purposes);
    if (rc == SK_EFORBIDDEN) {
        if (nv->id[0]) r->st->ops->visit_close(r->st, nv->id, now_us, now_us, "withdrawn");
        if (joined) publish_gone(r, nv);
        pthread_mutex_lock(&r->mu);
        strmap_put(&r->denied, dkey, (void *)(intptr_t)(now_us / 1000000 + DENIED_TTL_S));
        r->stats.not_member++;
        pthread_mutex_unlock(&r->mu);
    }
    if (rc) {
        pthread_mutex_unlock(&r->open_mu);
        visit_free(nv);
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    strmap_put(&r->visits, key, nv);
    strmap_put(&r->by_id, nv->id, nv);
    r->stats.presences++;
    if (joined) r->stats.visits_joined++;
    else r->stats.visits_opened++;
    json_t *card = json_incref(nv->card);
    pthread_mutex_unlock(&r->mu);
    if (!joined) { /* else shown on every node and logged by the node that opened it */
        publish(r, store_id, "card", card);
        log_look(r, nv, fields, purposes);
    }
    json_decref(card);
    pthread_mutex_unlock(&r->open_mu);
    return 0;
}

int recog_presence(struct recog *r, const char *store_id, const char *customer_id,
                   const char *channel)
{
    struct store_info si;
    int rc = store_info(r, store_id, &si);
    if (rc) return rc;
    return presence(r, store_id, &si, customer_id, channel, time_now_us());
}

int recog_sightings(struct recog *r, const char *store_id, const struct sighting *items, size_t n)
{
    struct store_info si;
    int rc = store_info(r, store_id, &si);
    if (rc) return rc;
    int64_t now = now_s();
    /* heard longer ago than the quiet time: that visit is already over */
    int64_t stale_us = time_now_us() - r->cfg.quiet_s * 1000000;
    struct hit {
        uint8_t customer_id[ID_PACKED];
        int64_t seen_us;
    } *hits = n ? malloc(n * sizeof *hits) : NULL;
    if (n && !hits) return SK_ENOMEM;
    size_t nhits = 0;
    uint64_t unknown = 0, collided = 0, replay = 0;

    pthread_rwlock_rdlock(&r->idx);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        uint32_t o;
        int lrc = resolver_lookup(&r->res, items[i].eid, &o);
        if (lrc == SK_ECONFLICT) collided++;
        if (lrc) {
            unknown++;
            continue;
        }
        struct owner *ow = &r->owners[o];
        if (items[i].seen_us <= stale_us) continue;
        /* the same device heard in another city within one window: a
         * recorded EID replayed elsewhere; show neither */
        int64_t window = (int64_t)1 << r->res.dev[ow->handle].k;
        if (ow->last_city && ow->last_city != si.city && (uint32_t)now - ow->last_seen < window) {
            replay++;
            continue;
        }
        ow->last_city = si.city;
        ow->last_seen = (uint32_t)now;
        int dup = 0;
        for (size_t j = 0; j < nhits && !dup; j++) {
            dup = memcmp(hits[j].customer_id, ow->customer_id, ID_PACKED) == 0;
            /* heard twice in one batch: the later sighting counts */
            if (dup && items[i].seen_us > hits[j].seen_us) hits[j].seen_us = items[i].seen_us;
        }
        if (dup) continue;
        memcpy(hits[nhits].customer_id, ow->customer_id, ID_PACKED);
        hits[nhits].seen_us = items[i].seen_us;
        nhits++;
    }
    r->stats.received += n;
    r->stats.resolved += n - unknown;
    r->stats.unknown += unknown;
    r->stats.collisions += collided;
    r->stats.replay_flagged += replay;
    pthread_mutex_unlock(&r->mu);
    pthread_rwlock_unlock(&r->idx);

    for (size_t i = 0; i < nhits; i++) {
        char cid[ID_MAX];
        id_unpack("cus", hits[i].customer_id, cid);
        presence(r, store_id, &si, cid, "device", hits[i].seen_us);
    }
    free(hits);
    return 0;
}

/* Copies the open visits matching customer (and brand, when given) out of
 * the tables, unlinked when unlink is set (mu held by the caller). */
static size_t visits_of(struct recog *r, const char *customer_id, const char *brand_id,
                        struct visit_rec ***ret)
{
    size_t n = 0, pos;
    struct visit_rec **list = NULL;
    for (struct strmap_entry *e = strmap_first(&r->by_id, &pos); e;
         e = strmap_next(&r->by_id, &pos, e)) {
        struct visit_rec *v = e->value;
        if (strcmp(v->customer_id, customer_id)) continue;
        if (brand_id && strcmp(v->brand_id, brand_id)) continue;
        struct visit_rec **nl = realloc(list, (n + 1) * sizeof *nl);
        if (!nl) break;
        list = nl;
        list[n++] = v;
    }
    *ret = list;
    return n;
}

static void customer_changed(struct recog *r, const char *customer_id, const char *brand_id)
{
    pthread_mutex_lock(&r->open_mu);
    pthread_mutex_lock(&r->mu);
    /* grants changed: forget cached refusals of this customer */
    size_t pos, plen = strlen(customer_id);
    char **drop = NULL;
    size_t ndrop = 0;
    for (struct strmap_entry *e = strmap_first(&r->denied, &pos); e;
         e = strmap_next(&r->denied, &pos, e)) {
        if (strncmp(e->key, customer_id, plen) == 0 && e->key[plen] == '|') {
            char **nd = realloc(drop, (ndrop + 1) * sizeof *nd);
            if (!nd) break;
            drop = nd;
            drop[ndrop++] = strdup(e->key);
        }
    }
    for (size_t i = 0; i < ndrop; i++) {
        if (drop[i]) strmap_del(&r->denied, drop[i]);
        free(drop[i]);
    }
    free(drop);
    struct visit_rec **list;
    size_t n = visits_of(r, customer_id, brand_id, &list);
    pthread_mutex_unlock(&r->mu);

    for (size_t i = 0; i < n; i++) {
        struct visit_rec *v = list[i];
        json_t *card = NULL;
        char fields[64], purposes[64];
        int rc = card_make(r, v, &card, fields, sizeof fields, purposes, sizeof purposes);
        if (rc == SK_EFORBIDDEN) {
            pthread_mutex_lock(&r->mu);
            visit_unlink(r, v);
            pthread_mutex_unlock(&r->mu);
            visit_finish(r, v, "withdrawn");
            continue;
        }
        if (rc) continue;
        pthread_mutex_lock(&r->mu);
        int changed = !json_equal(card, v->card);
        if (changed) {
            json_decref(v->card);
            v->card = json_incref(card);
        }
        pthread_mutex_unlock(&r->mu);
        if (changed) {
            publish(r, v->store_id, "update", card);
            log_look(r, v, fields, purposes);
        }
        json_decref(card);
    }
    free(list);
    pthread_mutex_unlock(&r->open_mu);
}

void recog_close_all(struct recog *r, const char *reason)
{
    pthread_mutex_lock(&r->open_mu);
    pthread_mutex_lock(&r->mu);
    size_t n = 0, pos;
    struct visit_rec **list = r->by_id.count ? malloc(r->by_id.count * sizeof *list) : NULL;
    for (struct strmap_entry *e = list ? strmap_first(&r->by_id, &pos) : NULL; e;
         e = strmap_next(&r->by_id, &pos, e))
        list[n++] = e->value;
    for (size_t i = 0; i < n; i++) visit_unlink(r, list[i]);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        if (!r->cfg.node) {
            visit_finish(r, list[i], reason);
            continue;
        }
        /* in a cluster the shopper may still be at the counter, heard by
         * the other nodes: the visit stays open with when it was last
         * heard here, and closes when no node hears them any more */
        r->st->ops->visit_seen(r->st, list[i]->id, list[i]->last_seen_us);
        visit_free(list[i]);
    }
    free(list);
    pthread_mutex_unlock(&r->open_mu);
}

/* Removes every device of the customer from the index (idx held). */
static void owners_drop(struct recog *r, const char *customer_id)
{
    uint8_t c[ID_PACKED];
    if (id_pack(customer_id, c)) return;
    for (size_t i = 0; i < r->nowners; i++) {
        struct owner *o = &r->owners[i];
        if (memcmp(o->customer_id, c, ID_PACKED) || !r->res.dev[o->handle].live) continue;
        resolver_remove(&r->res, o->handle);
        memset(o, 0, sizeof *o);
        r->free_owners[r->nfree++] = (uint32_t)i;
    }
}

static void customer_erased(struct recog *r, const char *customer_id)
{
    /* the devices stop resolving at once */
    pthread_rwlock_wrlock(&r->idx);
    owners_drop(r, customer_id);
    pthread_rwlock_unlock(&r->idx);
    /* and their cards leave every display */
    pthread_mutex_lock(&r->open_mu);
    pthread_mutex_lock(&r->mu);
    struct visit_rec **list;
    size_t n = visits_of(r, customer_id, NULL, &list);
    for (size_t i = 0; i < n; i++) visit_unlink(r, list[i]);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++) visit_finish(r, list[i], "erased");
    free(list);
    pthread_mutex_unlock(&r->open_mu);
}

void recog_customer_changed(struct recog *r, const char *customer_id, const char *brand_id)
{
    customer_changed(r, customer_id, brand_id);
    notify_peers(r, "changed", customer_id, brand_id);
}

void recog_customer_erased(struct recog *r, const char *customer_id)
{
    customer_erased(r, customer_id);
    notify_peers(r, "erased", customer_id, NULL);
}

/* A customer's devices as the store has them now, for devices_reload. */
struct dev_copy {
    char id[ID_MAX];
    uint8_t ik[16];
    unsigned k;
    uint32_t offset;
};
struct dev_list {
    struct dev_copy *v;
    size_t n, cap;
};

static int dev_collect(void *ctx, const char *device_id, const char *customer_id,
                       const uint8_t ik[16], unsigned k, uint32_t offset)
{
    (void)customer_id;
    struct dev_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct dev_copy *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) return SK_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    struct dev_copy *d = &l->v[l->n++];
    snprintf(d->id, sizeof d->id, "%s", device_id);
    memcpy(d->ik, ik, 16);
    d->k = k;
    d->offset = offset;
    return 0;
}

/* The index holds exactly the customer's devices in the store: read them
 * (no lock held), then swap them in under idx. */
static int devices_reload(struct recog *r, const char *customer_id)
{
    struct dev_list l = {0};
    int rc = r->st->ops->device_each(r->st, customer_id, dev_collect, &l);
    if (!rc) {
        int64_t now = now_s();
        pthread_rwlock_wrlock(&r->idx);
        owners_drop(r, customer_id);
        for (size_t i = 0; !rc && i < l.n; i++)
            rc = owner_add(r, l.v[i].id, customer_id, l.v[i].ik, l.v[i].k, l.v[i].offset, now);
        pthread_rwlock_unlock(&r->idx);
    }
    if (l.v) memset(l.v, 0, l.cap * sizeof *l.v);
    free(l.v);
    return rc;
}

int recog_peer(struct recog *r, const char *what, const char *customer_id, const char *brand_id)
{
    if (!what || !customer_id) return SK_EINVAL;
    if (!strcmp(what, "devices")) return devices_reload(r, customer_id);
    if (!strcmp(what, "changed")) {
        customer_changed(r, customer_id, brand_id);
        return 0;
    }
    if (!strcmp(what, "erased")) {
        customer_erased(r, customer_id);
        return 0;
    }
    return SK_EINVAL;
}

static void visits_tick(struct recog *r, int64_t now);

void recog_tick(struct recog *r, int64_t now)
{
    /* find the devices whose window rolled under the read lock (sightings
     * go on meanwhile), then roll them in short write-locked batches */
    uint32_t due[256];
    size_t cursor = 0;
    do {
        pthread_rwlock_rdlock(&r->idx);
        size_t n = resolver_due(&r->res, now, &cursor, due, sizeof due / sizeof due[0]);
        pthread_rwlock_unlock(&r->idx);
        if (!n) continue;
        pthread_rwlock_wrlock(&r->idx);
        for (size_t i = 0; i < n; i++) resolver_roll(&r->res, due[i], now);
        pthread_rwlock_unlock(&r->idx);
    } while (cursor);

    visits_tick(r, now);
}

/* How often a node writes when it last heard a shopper (cluster only: a
 * node alone writes it when the visit closes), and how long after the
 * quiet time a visit nobody writes to is closed by any node. */
static int64_t flush_every_s(const struct recog *r)
{
    int64_t f = r->cfg.quiet_s / 5;
    return f < 1 ? 1 : f > 30 ? 30 : f;
}

static int orphan_closed(void *ctx, const struct visit_row *row)
{
    struct recog *r = ctx;
    pthread_mutex_lock(&r->mu);
    struct visit_rec *v = strmap_get(&r->by_id, row->id);
    if (v) visit_unlink(r, v);
    r->stats.visits_closed++;
    pthread_mutex_unlock(&r->mu);
    struct visit_rec gone = {0};
    visit_from_row(&gone, row);
    publish_gone(r, &gone);
    visit_free(v);
    return 0;
}

/* Quiet visits close: here, when no node heard the shopper since the cut-off
 * (the database has every node's last sighting); a visit another node closed
 * meanwhile leaves this node's table too. In a cluster the node also writes
 * its sightings' times, and closes the visits of a node that stopped. */
static void visits_tick(struct recog *r, int64_t now)
{
    struct vq {
        struct visit_rec *v;
        int64_t seen, flushed;
    } *list = NULL;
    int64_t cutoff = (now - r->cfg.quiet_s) * 1000000, now_us = now * 1000000;
    int64_t flush_us = r->cfg.node ? flush_every_s(r) * 1000000 : INT64_MAX;

    pthread_mutex_lock(&r->open_mu);
    pthread_mutex_lock(&r->mu);
    size_t n = 0, pos;
    if (r->by_id.count) list = malloc(r->by_id.count * sizeof *list);
    for (struct strmap_entry *e = list ? strmap_first(&r->by_id, &pos) : NULL; e;
         e = strmap_next(&r->by_id, &pos, e)) {
        struct visit_rec *v = e->value;
        if (v->last_seen_us > cutoff && v->last_seen_us - v->flushed_us < flush_us) continue;
        list[n++] = (struct vq){v, v->last_seen_us, v->flushed_us};
    }
    pthread_mutex_unlock(&r->mu);

    /* the store is called with open_mu held: no presence opens or joins a
     * visit meanwhile, and only this thread frees visits outside it */
    for (size_t i = 0; i < n; i++) {
        struct visit_rec *v = list[i].v;
        if (list[i].seen > cutoff) { /* heard: say so to the other nodes */
            if (!r->st->ops->visit_seen(r->st, v->id, list[i].seen)) {
                pthread_mutex_lock(&r->mu);
                v->flushed_us = list[i].seen;
                pthread_mutex_unlock(&r->mu);
            }
            continue;
        }
        int64_t db_seen = 0;
        int rc = r->st->ops->visit_close_quiet(r->st, v->id, list[i].seen, cutoff, now_us,
                                               &db_seen);
        if (rc == SK_EBUSY) { /* another node heard the shopper since */
            pthread_mutex_lock(&r->mu);
            if (db_seen > v->last_seen_us) v->last_seen_us = db_seen;
            v->flushed_us = db_seen;
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        if (rc && rc != SK_ENOTFOUND) {
            log_kv(LOG_ERROR, "recog.visit_close", "error", sk_strerror(rc), NULL);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        visit_unlink(r, v);
        if (!rc) r->stats.visits_closed++;
        pthread_mutex_unlock(&r->mu);
        publish_gone(r, v); /* closed elsewhere: said there too, the displays don't mind twice */
        visit_free(v);
    }
    free(list);

    if (r->cfg.node && now >= r->orphans_next) {
        r->orphans_next = now + flush_every_s(r);
        int64_t grace = 2 * flush_every_s(r) + 2;
        int rc = r->st->ops->visits_close_orphans(r->st, (now - r->cfg.quiet_s - grace) * 1000000,
                                                  now_us, orphan_closed, r);
        if (rc) log_kv(LOG_ERROR, "recog.orphan_visits", "error", sk_strerror(rc), NULL);
    }
    pthread_mutex_unlock(&r->open_mu);
}

static int card_newer(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "opened_at"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "opened_at"));
    return strcmp(y, x);
}

/* ---- visits other nodes opened ------------------------------------------ */

static int visit_held(struct recog *r, const char *visit_id)
{
    pthread_mutex_lock(&r->mu);
    int held = strmap_get(&r->by_id, visit_id) != NULL;
    pthread_mutex_unlock(&r->mu);
    return held;
}

struct rows {
    struct visit_row *v;
    size_t n, cap;
};

static int row_collect(void *ctx, const struct visit_row *v)
{
    struct rows *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct visit_row *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) return SK_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *v;
    return 0;
}

/* In a cluster, takes into this node's table the store's open visits (or
 * the one visit_id) that other nodes opened: a display that connects here
 * gets every current card, and Served works on any node. Nothing is logged
 * or published: the node that opened the visit did. */
static void visits_adopt(struct recog *r, const char *store_id, const char *visit_id)
{
    if (!r->cfg.node) return; /* alone, this node's table is all there is */
    struct rows l = {0};
    pthread_mutex_lock(&r->open_mu);
    int rc = r->st->ops->visits_open_each(r->st, store_id, visit_id, row_collect, &l);
    for (size_t i = 0; !rc && i < l.n; i++) {
        char key[2 * ID_MAX + 2];
        visit_key(key, sizeof key, l.v[i].customer_id, l.v[i].store_id);
        pthread_mutex_lock(&r->mu);
        int held = strmap_get(&r->visits, key) != NULL;
        pthread_mutex_unlock(&r->mu);
        if (held) continue;
        struct visit_rec *v = calloc(1, sizeof *v);
        if (!v) break;
        visit_from_row(v, &l.v[i]);
        char fields[64], purposes[64];
        if (card_make(r, v, &v->card, fields, sizeof fields, purposes, sizeof purposes)) {
            visit_free(v); /* withdrawn meanwhile: the withdrawal closes it */
            continue;
        }
        pthread_mutex_lock(&r->mu);
        strmap_put(&r->visits, key, v);
        strmap_put(&r->by_id, v->id, v);
        r->stats.visits_joined++;
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&r->open_mu);
    free(l.v);
}

void recog_peer_card(struct recog *r, const char *event, json_t *data)
{
    const char *vid = json_string_value(json_object_get(data, "visit"));
    if (!vid) return;
    int gone = !strcmp(event, "gone");
    if (!gone && strcmp(event, "update")) return; /* "card": a visit opened there */
    pthread_mutex_lock(&r->open_mu);
    pthread_mutex_lock(&r->mu);
    struct visit_rec *v = strmap_get(&r->by_id, vid);
    if (v && gone) {
        visit_unlink(r, v);
    } else if (v) {
        json_decref(v->card);
        v->card = json_deep_copy(data);
        v->served = json_is_true(json_object_get(data, "served"));
        const char *at = json_string_value(json_object_get(data, "served_at"));
        if (!v->served || !at || time_parse_rfc3339(at, &v->served_us)) v->served_us = 0;
    }
    pthread_mutex_unlock(&r->mu);
    if (v && gone) visit_free(v);
    pthread_mutex_unlock(&r->open_mu);
}

int recog_cards(struct recog *r, const char *store_id, json_t **ret)
{
    visits_adopt(r, store_id, NULL);
    pthread_mutex_lock(&r->mu);
    size_t n = 0, pos;
    json_t **cards = malloc((r->by_id.count + 1) * sizeof *cards);
    if (!cards) {
        pthread_mutex_unlock(&r->mu);
        return SK_ENOMEM;
    }
    for (struct strmap_entry *e = strmap_first(&r->by_id, &pos); e;
         e = strmap_next(&r->by_id, &pos, e)) {
        struct visit_rec *v = e->value;
        if (strcmp(v->store_id, store_id) == 0) cards[n++] = json_incref(v->card);
    }
    pthread_mutex_unlock(&r->mu);
    qsort(cards, n, sizeof *cards, card_newer);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, cards[i]);
    free(cards);
    *ret = items;
    return 0;
}

int recog_served(struct recog *r, const char *store_id, const char *visit_id)
{
    if (!visit_held(r, visit_id)) visits_adopt(r, store_id, visit_id);
    pthread_mutex_lock(&r->mu);
    struct visit_rec *v = strmap_get(&r->by_id, visit_id);
    if (!v || strcmp(v->store_id, store_id)) {
        pthread_mutex_unlock(&r->mu);
        return SK_ENOTFOUND;
    }
    int64_t now = time_now_us();
    if (v->served) { /* a second tap changes nothing: the undo time stays */
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    v->served = 1;
    v->served_us = now;
    /* cards are shared with readers: replace, never mutate in place */
    json_t *card = json_deep_copy(v->card);
    json_object_set_new(card, "served", json_true());
    card_served_times(card, now);
    json_decref(v->card);
    v->card = json_incref(card);
    pthread_mutex_unlock(&r->mu);
    int rc = r->st->ops->visit_served(r->st, visit_id, now);
    publish(r, store_id, "update", card);
    json_decref(card);
    return rc;
}

int recog_unserve(struct recog *r, const char *store_id, const char *visit_id)
{
    if (!visit_held(r, visit_id)) visits_adopt(r, store_id, visit_id);
    pthread_mutex_lock(&r->mu);
    struct visit_rec *v = strmap_get(&r->by_id, visit_id);
    if (!v || strcmp(v->store_id, store_id)) {
        pthread_mutex_unlock(&r->mu);
        return SK_ENOTFOUND;
    }
    if (!v->served) { /* nothing to undo: already as asked */
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    if (time_now_us() - v->served_us > RECOG_UNSERVE_S * 1000000LL) {
        pthread_mutex_unlock(&r->mu);
        return SK_ECONFLICT;
    }
    v->served = 0;
    v->served_us = 0;
    json_t *card = json_deep_copy(v->card);
    json_object_set_new(card, "served", json_false());
    json_object_del(card, "served_at");
    json_object_del(card, "undo_until");
    json_decref(v->card);
    v->card = json_incref(card);
    pthread_mutex_unlock(&r->mu);
    int rc = r->st->ops->visit_served(r->st, visit_id, 0);
    publish(r, store_id, "update", card);
    json_decref(card);
    return rc;
}

int recog_suggestion_done(struct recog *r, const char *store_id, const char *visit_id,
                          const char *sku)
{
    if (!visit_held(r, visit_id)) visits_adopt(r, store_id, visit_id);
    pthread_mutex_lock(&r->mu);
    struct visit_rec *v = strmap_get(&r->by_id, visit_id);
    if (!v || strcmp(v->store_id, store_id)) {
        pthread_mutex_unlock(&r->mu);
        return SK_ENOTFOUND;
    }
    json_t *card = json_deep_copy(v->card);
    json_t *list = json_object_get(card, "suggestions");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(list, i), "sku"));
        if (s && strcmp(s, sku) == 0) {
            json_array_remove(list, i);
            break;
        }
    }
    json_decref(v->card);
    v->card = json_incref(card);
    pthread_mutex_unlock(&r->mu);
    publish(r, store_id, "update", card);
    json_decref(card);
    return 0;
}

void recog_stats(struct recog *r, struct recog_stats *ret)
{
    pthread_mutex_lock(&r->mu);
    *ret = r->stats;
    ret->visits_held = r->by_id.count;
    pthread_mutex_unlock(&r->mu);
}

/* Erasure as the outbox tells it (0013: the id is gone, its SHA-256 is
 * not): one SHA-256 per customer with a device, under the read lock
 * (sightings go on), then the open visits; erasures are rare. */
int recog_customer_of_digest(struct recog *r, const char *digest_hex, char ret[ID_MAX])
{
    if (!digest_hex || strlen(digest_hex) != 64) return SK_EINVAL;
    char cid[ID_MAX], hex[65];
    uint8_t d[32], last[ID_PACKED] = {0};
    int found = 0;
    pthread_rwlock_rdlock(&r->idx);
    for (size_t i = 0; !found && i < r->nowners; i++) {
        const struct owner *o = &r->owners[i];
        if (!memcmp(o->customer_id, last, ID_PACKED) || !r->res.dev[o->handle].live) continue;
        memcpy(last, o->customer_id, ID_PACKED);
        id_unpack("cus", o->customer_id, cid);
        crypto_sha256(cid, strlen(cid), d);
        hex_encode(d, sizeof d, hex);
        found = !strcmp(hex, digest_hex);
    }
    pthread_rwlock_unlock(&r->idx);
    pthread_mutex_lock(&r->mu);
    size_t pos;
    for (struct strmap_entry *e = strmap_first(&r->by_id, &pos); !found && e;
         e = strmap_next(&r->by_id, &pos, e)) {
        const struct visit_rec *v = e->value;
        snprintf(cid, sizeof cid, "%s", v->customer_id);
        crypto_sha256(cid, strlen(cid), d);
        hex_encode(d, sizeof d, hex);
        found = !strcmp(hex, digest_hex);
    }
    pthread_mutex_unlock(&r->mu);
    if (!found) return SK_ENOTFOUND;
    memcpy(ret, cid, ID_MAX);
    return 0;
}
