/*
 * sse.c — the server-sent events hub (see sse.h).
 * Invariants: the client list is guarded by the hub's rwlock and each
 * client's queue by its own mutex, so a publish wakes each reader without
 * making them queue on one lock; a client is unlinked only by sse_release
 * (MHD's free callback), so a reader never sees its client freed under it.
 */
#include "http/sse.h"
#include "util/err.h"
#include "util/ids.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sse_client {
    struct sse_hub *hub;
    struct sse_client *prev, *next; /* guarded by the hub's lock */
    char store_id[ID_MAX];
    char who_id[ID_MAX];            /* the display key or staff member streaming */
    pthread_mutex_t mu;             /* guards the queue below */
    pthread_cond_t cv;
    char *buf;
    size_t len, off, cap;
    int cut; /* fell too far behind */
    int shutdown;
};

struct sse_hub {
    pthread_rwlock_t lock; /* the client list: publishers read, (un)subscribers write */
    struct sse_client *head;
    size_t count;
    int shutdown;
};

int sse_hub_new(struct sse_hub **ret)
{
    struct sse_hub *h = calloc(1, sizeof *h);
    if (!h) return SK_ENOMEM;
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
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_rwlock_unlock(&h->lock);
}

void sse_hub_free(struct sse_hub *h)
{
    if (!h) return;
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

/* Appends bytes to a client's queue (c->mu held). */
static void client_append(struct sse_client *c, const char *s, size_t n)
{
    if (c->cut) return;
    if (c->off > 0 && c->off == c->len) c->off = c->len = 0;
    if (c->len - c->off + n > SSE_QUEUE_MAX) {
        c->cut = 1;
        pthread_cond_signal(&c->cv);
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
    pthread_cond_signal(&c->cv);
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
    pthread_rwlock_rdlock(&h->lock);
    for (struct sse_client *c = h->head; c; c = c->next) {
        if (strcmp(c->store_id, store_id) != 0) continue;
        pthread_mutex_lock(&c->mu);
        client_append(c, text, n);
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
    pthread_cond_init(&c->cv, NULL);
    /* tell the browser how soon to reconnect after a drop, and (in a
     * comment, which clients that do not care skip) how often a keep-alive
     * comes: a page that hears nothing for twice that is offline */
    char hello[96];
    int n = snprintf(hello, sizeof hello, "retry: 2000\n: keep-alive every %d s\n\n",
                     SSE_KEEPALIVE_S);
    client_append(c, hello, (size_t)n);
    pthread_rwlock_wrlock(&h->lock);
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
    for (struct sse_client *c = h->head; c; c = c->next) {
        if (who_id && strcmp(c->who_id, who_id) != 0) continue;
        if (store_id && strcmp(c->store_id, store_id) != 0) continue;
        pthread_mutex_lock(&c->mu);
        c->cut = 1;
        pthread_cond_signal(&c->cv);
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

ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct sse_client *c = cls;
    pthread_mutex_lock(&c->mu);
    while (c->off == c->len && !c->cut && !c->shutdown) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += SSE_KEEPALIVE_S;
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0 && c->off == c->len)
            client_append(c, ": keep-alive\n\n", 14);
    }
    if (c->cut || (c->shutdown && c->off == c->len)) {
        pthread_mutex_unlock(&c->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = c->len - c->off;
    if (n > max) n = max;
    memcpy(buf, c->buf + c->off, n);
    c->off += n;
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
    h->count--;
    pthread_rwlock_unlock(&h->lock);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->buf);
    free(c);
}
