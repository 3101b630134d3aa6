/*
 * bus.c — the message bus between serve nodes, over nats.c (see bus.h).
 *
 * Invariants:
 *  1. One natsConnection per bus, made with unlimited reconnects and retry
 *     on failed connect, so after bus_open the connection is never given up
 *     by nats.c: it is closed only by bus_close (or by nats.c when every
 *     server refuses us for good, which the closed callback logs).
 *  2. The connection state (connected, reconnects, changed_us) is written
 *     only under mu, by the connection callbacks, which nats.c runs one at
 *     a time and in order on its single callback thread; bus_open sets
 *     connected itself only when no callback ran before it. on_state is
 *     called after mu is released, so it may call bus_stats.
 *  3. published, received and dropped are atomics: bus_publish and the
 *     delivery threads never take mu.
 *  4. Every message published carries BUS_ORIGIN_HEADER = the node name.
 *     nats.c refuses headers until a server has told it that it supports
 *     them (its INFO), so before the first connection a publish is dropped
 *     (SK_EIO) rather than sent without its origin. After that nats.c keeps
 *     the server's INFO across reconnects and buffers publishes.
 *  5. Nothing of the bus is freed while a nats.c thread may still use it:
 *     bus_close waits for the closed callback (the last connection
 *     callback nats.c posts) and for each subscription's completion
 *     callback (run by its delivery thread after its handler returned for
 *     the last time) before it destroys anything.
 *  6. Payloads and server URLs (which may hold credentials) are never
 *     logged or copied into err; log lines name the node and the event.
 *  7. Subjects are checked before nats.c sees them: a space or an empty
 *     token in a subject would make the server drop the connection.
 */
#include "service/bus.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The connect attempt (TCP connect plus the NATS handshake) holds nats.c's
 * connection lock, which bus_publish needs too: this bounds how long a
 * publish can wait while a server is unreachable but not refusing. */
#define BUS_CONNECT_TIMEOUT_MS 1000
/* A write to a server that stopped reading fails after this, rather than
 * blocking the publishing thread (nats.c then reconnects). */
#define BUS_WRITE_DEADLINE_MS 250
/* A silent server (a dead link, no RST) is found after about
 * BUS_PING_MS * BUS_PINGS_OUT. */
#define BUS_PING_MS 5000
#define BUS_PINGS_OUT 3

struct bus_sub {
    struct bus *b;
    bus_handler fn;
    void *cls;
    natsSubscription *sub;
    int done; /* under b->mu: the delivery thread will not call fn again */
    struct bus_sub *next;
};

struct bus {
    natsOptions *opts;
    natsConnection *nc;
    char *node;
    void (*on_state)(void *cls, int connected);
    void *state_cls;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    int connected, closed;
    uint64_t events; /* connection callbacks run so far */
    uint64_t reconnects;
    int64_t changed_us;
    struct bus_sub *subs;

    atomic_uint_fast64_t published, received, dropped;
};

static void bus__errf(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
}

/* Records a connection event; reports a change of connected to the log and
 * to on_state. Runs on nats.c's callback thread. */
static void bus__event(struct bus *b, int connected, int reconnected)
{
    pthread_mutex_lock(&b->mu);
    int changed = b->connected != connected;
    b->connected = connected;
    b->events++;
    if (reconnected) b->reconnects++;
    if (changed) b->changed_us = time_now_us();
    pthread_mutex_unlock(&b->mu);
    if (!changed) return;
    log_kv(connected ? LOG_INFO : LOG_WARN, connected ? "bus.connected" : "bus.disconnected",
           "node", b->node, NULL);
    if (b->on_state) b->on_state(b->state_cls, connected);
}

static void bus__on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    bus__event(closure, 1, 0);
}

static void bus__on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    bus__event(closure, 1, 1);
}

static void bus__on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    bus__event(closure, 0, 0);
}

static void bus__on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    struct bus *b = closure;
    bus__event(b, 0, 0);
    pthread_mutex_lock(&b->mu);
    b->closed = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void bus__on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    (void)nc;
    struct bus *b = closure;
    /* NATS_SLOW_CONSUMER: a handler is too slow and nats.c drops messages
     * of its subscription (reported once per episode). */
    const char *subject = sub ? natsSubscription_GetSubject(sub) : NULL;
    log_kv(LOG_WARN, "bus.error", "node", b->node, "error", natsStatus_GetText(s), "subject",
           subject ? subject : "", NULL);
}

static void bus__on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    struct bus_sub *bs = closure;
    const char *origin = NULL;
    if (natsMsgHeader_Get(msg, BUS_ORIGIN_HEADER, &origin) != NATS_OK) origin = NULL;
    atomic_fetch_add(&bs->b->received, 1);
    bs->fn(bs->cls, natsMsg_GetSubject(msg), natsMsg_GetData(msg),
           (size_t)natsMsg_GetDataLength(msg), origin);
    natsMsg_Destroy(msg);
}

static void bus__on_sub_complete(void *closure)
{
    struct bus_sub *bs = closure;
    pthread_mutex_lock(&bs->b->mu);
    bs->done = 1;
    pthread_cond_broadcast(&bs->b->cv);
    pthread_mutex_unlock(&bs->b->mu);
}

/* 0, SK_ETOOBIG or SK_EINVAL. A subject is dot-separated non-empty tokens
 * of printable non-space ASCII; with wildcards, "*" may be a whole token
 * and ">" the whole last token. */
static int bus__check_subject(const char *subject, int wildcards)
{
    if (!subject) return SK_EINVAL;
    size_t n = strnlen(subject, BUS_SUBJECT_MAX + 1);
    if (n > BUS_SUBJECT_MAX) return SK_ETOOBIG;
    if (n == 0) return SK_EINVAL;
    const char *tok = subject;
    for (;;) {
        const char *end = strchr(tok, '.');
        size_t len = end ? (size_t)(end - tok) : strlen(tok);
        if (len == 0) return SK_EINVAL;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)tok[i];
            if (c <= ' ' || c >= 0x7f) return SK_EINVAL;
            if (c == '*' || c == '>') {
                if (!wildcards || len != 1) return SK_EINVAL;
                if (c == '>' && end) return SK_EINVAL;
            }
        }
        if (!end) return 0;
        tok = end + 1;
    }
}

static int bus__check_node(const char *node)
{
    if (!node) return SK_EINVAL;
    size_t n = strnlen(node, BUS_NAME_MAX + 1);
    if (n == 0 || n > BUS_NAME_MAX) return SK_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = node[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return SK_EINVAL;
    }
    return 0;
}

/* Splits the comma-separated url into trimmed items of buf (a copy the
 * caller frees); 0 or SK_EINVAL/SK_ENOMEM with err set. */
static int bus__split_urls(const char *url, char **ret_buf, const char **urls, int *ret_n,
                           char *err, size_t errlen)
{
    char *buf = strdup(url);
    if (!buf) return SK_ENOMEM;
    int n = 0;
    char *save = NULL;
    for (char *p = buf;; p = NULL) {
        char *item = strtok_r(p, ",", &save);
        if (!item) break;
        while (*item == ' ' || *item == '\t') item++;
        size_t len = strlen(item);
        while (len && (item[len - 1] == ' ' || item[len - 1] == '\t')) item[--len] = '\0';
        if (n == BUS_URLS_MAX) {
            bus__errf(err, errlen, "bus url: too many servers");
            goto fail;
        }
        if (strncmp(item, "nats://", 7) != 0 || len <= 7) {
            bus__errf(err, errlen, "bus url: every item must be a nats://host:port URL");
            goto fail;
        }
        urls[n++] = item;
    }
    if (n == 0) {
        bus__errf(err, errlen, "bus url: no server given");
        goto fail;
    }
    *ret_buf = buf;
    *ret_n = n;
    return 0;
fail:
    free(buf);
    return SK_EINVAL;
}

static int bus__status_err(natsStatus s)
{
    return s == NATS_NO_MEMORY ? SK_ENOMEM : SK_EIO;
}

static void bus__free(struct bus *b)
{
    struct bus_sub *bs = b->subs;
    while (bs) {
        struct bus_sub *next = bs->next;
        natsSubscription_Destroy(bs->sub);
        free(bs);
        bs = next;
    }
    natsConnection_Destroy(b->nc);
    natsOptions_Destroy(b->opts);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b->node);
    free(b);
}

int bus_open(const struct bus_config *cfg, struct bus **ret, char *err, size_t errlen)
{
    if (!cfg || !ret) return SK_EINVAL;
    if (!cfg->url) {
        bus__errf(err, errlen, "bus url: missing");
        return SK_EINVAL;
    }
    if (bus__check_node(cfg->node)) {
        bus__errf(err, errlen, "bus node name: 1 to 64 of A-Z a-z 0-9 . _ -");
        return SK_EINVAL;
    }
    if (cfg->reconnect_buf < 0) {
        bus__errf(err, errlen, "bus reconnect buffer: must not be negative");
        return SK_EINVAL;
    }
    const char *urls[BUS_URLS_MAX];
    char *urlbuf = NULL;
    int nurls = 0;
    int rc = bus__split_urls(cfg->url, &urlbuf, urls, &nurls, err, errlen);
    if (rc) return rc;

    struct bus *b = calloc(1, sizeof *b);
    if (!b) {
        free(urlbuf);
        return SK_ENOMEM;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->on_state = cfg->on_state;
    b->state_cls = cfg->state_cls;
    b->changed_us = time_now_us();
    b->node = strdup(cfg->node);
    if (!b->node) {
        rc = SK_ENOMEM;
        goto fail;
    }

    natsStatus s = natsOptions_Create(&b->opts);
    if (s == NATS_OK) s = natsOptions_SetServers(b->opts, urls, nurls);
    if (s == NATS_OK) s = natsOptions_SetName(b->opts, b->node);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(b->opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(b->opts, BUS_RECONNECT_WAIT_MS);
    if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(b->opts, true, bus__on_connected, b);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(b->opts, bus__on_disconnected, b);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(b->opts, bus__on_reconnected, b);
    if (s == NATS_OK) s = natsOptions_SetClosedCB(b->opts, bus__on_closed, b);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(b->opts, bus__on_error, b);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(
            b->opts, cfg->reconnect_buf ? cfg->reconnect_buf : BUS_RECONNECT_BUF_DEFAULT);
    if (s == NATS_OK) s = natsOptions_SetTimeout(b->opts, BUS_CONNECT_TIMEOUT_MS);
    if (s == NATS_OK) s = natsOptions_SetWriteDeadline(b->opts, BUS_WRITE_DEADLINE_MS);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(b->opts, BUS_PING_MS);
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(b->opts, BUS_PINGS_OUT);
    if (s != NATS_OK) {
        bus__errf(err, errlen, "bus: cannot set up the NATS client options");
        rc = bus__status_err(s);
        goto fail;
    }

    s = natsConnection_Connect(&b->nc, b->opts);
    if (s == NATS_OK) {
        pthread_mutex_lock(&b->mu);
        if (!b->events) b->connected = 1; /* else a callback already said (2) */
        pthread_mutex_unlock(&b->mu);
        log_kv(LOG_INFO, "bus.connected", "node", b->node, NULL);
    } else if (s == NATS_NOT_YET_CONNECTED) {
        log_kv(LOG_WARN, "bus.waiting", "node", b->node, "note",
               "no NATS server answers yet; retrying in the background", NULL);
    } else {
        /* nats.c posts no callback for a connection it did not return */
        if (err && errlen) snprintf(err, errlen, "bus: cannot connect: %s", natsStatus_GetText(s));
        b->nc = NULL;
        rc = bus__status_err(s);
        goto fail;
    }
    free(urlbuf); /* natsOptions_SetServers copied the URLs */
    *ret = b;
    return 0;

fail:
    free(urlbuf);
    bus__free(b);
    return rc;
}

int bus_publish(struct bus *b, const char *subject, const void *data, size_t len)
{
    if (!b) return SK_EINVAL;
    int rc = bus__check_subject(subject, 0);
    if (rc) return rc;
    if (len > BUS_PAYLOAD_MAX) return SK_ETOOBIG;
    if (!data && len) return SK_EINVAL;

    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, BUS_ORIGIN_HEADER, b->node);
    if (s == NATS_OK) s = natsConnection_PublishMsg(b->nc, msg);
    natsMsg_Destroy(msg);
    if (s == NATS_OK) {
        atomic_fetch_add(&b->published, 1);
        return 0;
    }
    atomic_fetch_add(&b->dropped, 1);
    /* not logged per message: a long outage would flood the log; dropped
     * is in bus_stats */
    switch (s) {
    case NATS_INSUFFICIENT_BUFFER: return SK_EBUSY;
    case NATS_NO_MEMORY: return SK_ENOMEM;
    default: return SK_EIO; /* closed, draining, never connected (4), write failed */
    }
}

int bus_subscribe(struct bus *b, const char *subject, bus_handler fn, void *cls)
{
    if (!b || !fn) return SK_EINVAL;
    int rc = bus__check_subject(subject, 1);
    if (rc) return rc;
    struct bus_sub *bs = calloc(1, sizeof *bs);
    if (!bs) return SK_ENOMEM;
    bs->b = b;
    bs->fn = fn;
    bs->cls = cls;
    natsStatus s = natsConnection_Subscribe(&bs->sub, b->nc, subject, bus__on_msg, bs);
    if (s != NATS_OK) {
        free(bs);
        return bus__status_err(s);
    }
    s = natsSubscription_SetOnCompleteCB(bs->sub, bus__on_sub_complete, bs);
    pthread_mutex_lock(&b->mu);
    /* Failing here means the subscription is already closed (the
     * connection was closed meanwhile): its delivery thread is ending, and
     * bs stays on the list to be freed by bus_close after the connection. */
    if (s != NATS_OK) bs->done = 1;
    bs->next = b->subs;
    b->subs = bs;
    pthread_mutex_unlock(&b->mu);
    return s == NATS_OK ? 0 : SK_EIO;
}

int bus_flush(struct bus *b, int timeout_ms)
{
    if (!b || timeout_ms <= 0) return SK_EINVAL;
    return natsConnection_FlushTimeout(b->nc, timeout_ms) == NATS_OK ? 0 : SK_EIO;
}

void bus_stats(struct bus *b, struct bus_stats *ret)
{
    struct bus_stats st = {0};
    if (!b) {
        *ret = st;
        return;
    }
    pthread_mutex_lock(&b->mu);
    st.connected = b->connected;
    st.reconnects = b->reconnects;
    st.changed_us = b->changed_us;
    pthread_mutex_unlock(&b->mu);
    st.published = atomic_load(&b->published);
    st.received = atomic_load(&b->received);
    st.dropped = atomic_load(&b->dropped);
    *ret = st;
}

void bus_close(struct bus *b)
{
    if (!b) return;
    /* Drain (connected only): unsubscribe, deliver what already arrived,
     * send what is buffered, then close; else close at once. Either way
     * nats.c posts the closed callback once the connection is closed. */
    if (natsConnection_DrainTimeout(b->nc, BUS_DRAIN_MS) != NATS_OK) natsConnection_Close(b->nc);
    pthread_mutex_lock(&b->mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BUS_DRAIN_MS / 1000 + 2;
    while (!b->closed) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &until)) {
            /* the drain is stuck past its own timeout: close it ourselves
             * (a no-op when it is closed already) and wait on */
            pthread_mutex_unlock(&b->mu);
            natsConnection_Close(b->nc);
            pthread_mutex_lock(&b->mu);
            while (!b->closed) pthread_cond_wait(&b->cv, &b->mu);
        }
    }
    for (struct bus_sub *bs = b->subs; bs; bs = bs->next)
        while (!bs->done) pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    uint64_t dropped = atomic_load(&b->dropped);
    char nbuf[24];
    snprintf(nbuf, sizeof nbuf, "%llu", (unsigned long long)dropped);
    log_kv(LOG_INFO, "bus.closed", "node", b->node, "dropped", nbuf, NULL);
    bus__free(b);
}

void bus_shutdown(void)
{
    /* Waits for nats.c's own threads to end, so that nothing of the
     * library is left when the process exits (the leak checker of the
     * sanitizer build would see it). */
    nats_CloseAndWait(5000);
}
