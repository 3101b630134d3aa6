/*
 * sse.c — the server-sent events hub (see sse.h).
 * No thread waits for a stream: when a client's queue is empty its reader
 * suspends the connection (libmicrohttpd takes it out of its poll set) and
 * returns "nothing yet"; whoever queues bytes for it resumes it. So ten
 * thousand quiet displays cost ten thousand sockets and queues, not threads.
 * Invariants: the client list is guarded by the hub's rwlock and each
 * client's queue by its own mutex; `suspended` is set only by the reader
 * (libmicrohttpd's thread for that connection) and cleared only by the one
 * who resumes it, both under the client's mutex, so each suspension is
 * resumed exactly once and no wake-up is lost between "empty" and
 * "suspended". A client is unlinked only by sse_release (MHD's free
 * callback, when its connection closes), so no one resumes a freed one.
 */
#include "http/sse.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/strmap.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct sse_client {
    struct sse_hub *hub;
    struct sse_client *prev, *next; /* every client; guarded by the hub's lock */
    struct sse_client *sprev, *snext; /* the same store's clients; the hub's lock */
    char store_id[ID_MAX];
    char who_id[ID_MAX];            /* the display key or staff member streaming */
    pthread_mutex_t mu;             /* guards the queue and the state below */
    struct MHD_Connection *conn;    /* set once the stream is queued (sse_attach) */
    int suspended;                  /* the reader found nothing and suspended conn */
    int64_t last_us;                /* when bytes last left the queue */
    char *buf;
    size_t len, off, cap;
    int cut; /* fell too far behind */
    int shutdown;
};

struct sse_hub {
    pthread_rwlock_t lock; /* the client list: publishers read, (un)subscribers write */
    struct sse_client *head;
    struct strmap stores; /* store id -> the first of its clients (snext) */
    size_t count;
    int shutdown;
};

/* Lets the client's connection run again if its reader suspended it
 * (c->mu held). */
static void client_wake(struct sse_client *c)
{
    if (!c->suspended) return;
    c->suspended = 0;
    MHD_resume_connection(c->conn);
}

int sse_hub_new(struct sse_hub **ret)
{
    struct sse_hub *h = calloc(1, sizeof *h);
    if (!h) return SK_ENOMEM;
    if (strmap_init(&h->stores)) {
        free(h);
        return SK_ENOMEM;
    }
    pthread_rwlock_init(&h->lock, NULL);
    *ret = h;
    return 0;
}

void sse_hub_shutdown(struct sse_hub *h)
{
    pthread_rwlock_wrlock(&h->lock);
    h->shutdown = 1;
    for (struct sse_client *c = h->head; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        c->shutdown = 1;
        client_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_rwlock_unlock(&h->lock);
}

void sse_hub_free(struct sse_hub *h)
{
    if (!h) return;
    strmap_release(&h->stores);
    pthread_rwlock_destroy(&h->lock);
    free(h);
}

size_t sse_hub_clients(struct sse_hub *h)
{
    pthread_rwlock_rdlock(&h->lock);
    size_t n = h->count;
    pthread_rwlock_unlock(&h->lock);
    return n;
}

/* Appends bytes to a client's queue, without waking it (c->mu held). */
static void client_queue(struct sse_client *c, const char *s, size_t n)
{
    if (c->cut) return;
    if (c->off > 0 && c->off == c->len) c->off = c->len = 0;
    if (c->len - c->off + n > SSE_QUEUE_MAX) {
        c->cut = 1;
        return;
    }
    if (c->len + n > c->cap) {
        if (c->off) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n) cap *= 2;
        char *nb = realloc(c->buf, cap);
        if (!nb) {
            c->cut = 1;
            return;
        }
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

/* Appends bytes to a client's queue and wakes it (c->mu held). */
static void client_append(struct sse_client *c, const char *s, size_t n)
{
    client_queue(c, s, n);
    client_wake(c);
}

static char *event_text(const char *event, json_t *data, size_t *ret_len)
{
    char *d = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!d) return NULL;
    size_t n = strlen(event) + strlen(d) + 32;
    char *out = malloc(n);
    if (out) *ret_len = (size_t)snprintf(out, n, "event: %s\ndata: %s\n\n", event, d);
    free(d);
    return out;
}

void sse_publish(struct sse_hub *h, const char *store_id, const char *event, json_t *data)
{
    size_t n;
    char *text = event_text(event, data, &n);
    if (!text) return;
    /* Only the store's own streams; every queue first, then the wake-ups:
     * waking a stream hands it to a network thread at once, and a burst
     * of wake-ups with nothing between them is what lets those threads
     * take many streams per turn (a thousand displays in one store). */
    pthread_rwlock_rdlock(&h->lock);
    struct sse_client *first = strmap_get(&h->stores, store_id);
    for (struct sse_client *c = first; c; c = c->snext) {
        pthread_mutex_lock(&c->mu);
        client_queue(c, text, n);
        pthread_mutex_unlock(&c->mu);
    }
    for (struct sse_client *c = first; c; c = c->snext) {
        pthread_mutex_lock(&c->mu);
        client_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_rwlock_unlock(&h->lock);
    free(text);
}

struct sse_client *sse_subscribe(struct sse_hub *h, const char *store_id, const char *who_id)
{
    struct sse_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->hub = h;
    snprintf(c->store_id, sizeof c->store_id, "%s", store_id);
    snprintf(c->who_id, sizeof c->who_id, "%s", who_id ? who_id : "");
    pthread_mutex_init(&c->mu, NULL);
    c->last_us = mono_us();
    /* tell the browser how soon to reconnect after a drop, and (in a
     * comment, which clients that do not care skip) how often a keep-alive
     * comes: a page that hears nothing for twice that is offline */
    char hello[96];
    int n = snprintf(hello, sizeof hello, "retry: 2000\n: keep-alive every %d s\n\n",
                     SSE_KEEPALIVE_S);
    client_append(c, hello, (size_t)n);
    pthread_rwlock_wrlock(&h->lock);
    struct sse_client *first = strmap_get(&h->stores, c->store_id);
    if (strmap_put(&h->stores, c->store_id, c)) {
        pthread_rwlock_unlock(&h->lock);
        pthread_mutex_destroy(&c->mu);
        free(c->buf);
        free(c);
        return NULL;
    }
    c->snext = first;
    if (first) first->sprev = c;
    c->shutdown = h->shutdown;
    c->next = h->head;
    if (h->head) h->head->prev = c;
    h->head = c;
    h->count++;
    pthread_rwlock_unlock(&h->lock);
    return c;
}

size_t sse_cut(struct sse_hub *h, const char *who_id, const char *store_id)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&h->lock);
    struct sse_client *c = store_id ? strmap_get(&h->stores, store_id) : h->head;
    for (; c; c = store_id ? c->snext : c->next) {
        if (who_id && strcmp(c->who_id, who_id) != 0) continue;
        pthread_mutex_lock(&c->mu);
        c->cut = 1;
        client_wake(c);
        pthread_mutex_unlock(&c->mu);
        n++;
    }
    pthread_rwlock_unlock(&h->lock);
    return n;
}

void sse_send(struct sse_client *c, const char *event, json_t *data)
{
    size_t n;
    char *text = event_text(event, data, &n);
    if (!text) return;
    pthread_mutex_lock(&c->mu);
    client_append(c, text, n);
    pthread_mutex_unlock(&c->mu);
    free(text);
}

void sse_attach(struct sse_client *c, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&c->mu);
    c->conn = conn;
    pthread_mutex_unlock(&c->mu);
}

size_t sse_tick(struct sse_hub *h)
{
    int64_t now = mono_us(), every = (int64_t)SSE_KEEPALIVE_S * 1000000;
    size_t n = 0;
    pthread_rwlock_rdlock(&h->lock);
    for (struct sse_client *c = h->head; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->off == c->len && now - c->last_us >= every) {
            client_append(c, ": keep-alive\n\n", 14);
            c->last_us = now;
            n++;
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_rwlock_unlock(&h->lock);
    return n;
}

ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct sse_client *c = cls;
    pthread_mutex_lock(&c->mu);
    if (c->cut || (c->shutdown && c->off == c->len)) {
        pthread_mutex_unlock(&c->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (c->off == c->len) {
        /* nothing to send: out of the poll set until someone queues bytes */
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    size_t n = c->len - c->off;
    if (n > max) n = max;
    memcpy(buf, c->buf + c->off, n);
    c->off += n;
    c->last_us = mono_us();
    pthread_mutex_unlock(&c->mu);
    return (ssize_t)n;
}

void sse_release(void *cls)
{
    struct sse_client *c = cls;
    struct sse_hub *h = c->hub;
    pthread_rwlock_wrlock(&h->lock);
    if (c->prev) c->prev->next = c->next;
    else h->head = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->sprev) c->sprev->snext = c->snext;
    else if (c->snext) strmap_put(&h->stores, c->store_id, c->snext); /* replaces: no allocation */
    else strmap_del(&h->stores, c->store_id);
    if (c->snext) c->snext->sprev = c->sprev;
    h->count--;
    pthread_rwlock_unlock(&h->lock);
    pthread_mutex_destroy(&c->mu);
    free(c->buf);
    free(c);
}
