/*
 * sse.c — the server-sent events hub (see sse.h).
 * No thread waits for a stream: when a client's queue is empty its reader
 * suspends the connection (libmicrohttpd takes it out of its poll set) and
 * returns "nothing yet"; whoever queues bytes for it resumes it. So ten
 * thousand quiet displays cost ten thousand sockets and queues, not threads.
 *
 * Waking many at once: each MHD_resume_connection takes the connection's
 * network thread's mutex, and that thread, when it wakes, walks every
 * connection it holds suspended (libmicrohttpd 0.9.75) under the same
 * mutex. A card for a store with a thousand displays resumed one by one
 * from a worker would fight that walk a thousand times. So the first
 * stream woken on a network thread (its "lane") is resumed directly; the
 * others woken meanwhile wait on the lane, and the first one's reader,
 * running on that network thread, resumes them all in one go: one walk.
 *
 * Invariants: the client list is guarded by the hub's rwlock and each
 * client's queue and state by its own mutex. `state` becomes SUSPENDED
 * only in the reader (libmicrohttpd's thread for that connection); the
 * waker moves it to PENDING (on its lane's list) or RUNNING (resumed), and
 * a drain of the lane moves PENDING to RUNNING, all under the client's
 * mutex, so each suspension is resumed exactly once and no wake-up is lost
 * between "empty" and "suspended". A lane's list is drained by any reader
 * on that lane and by sse_release, so a leader whose connection dies still
 * lets the others go. A suspended or pending client's connection cannot
 * close, and a client is unlinked only by sse_release (MHD's free callback,
 * when its connection closes), so no one resumes a freed one.
 */
#include "http/sse.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/strmap.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sys/socket.h>
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

enum client_state { RUNNING, SUSPENDED, PENDING };

/* The streams of one network thread that are waiting to be resumed. */
struct lane {
    struct MHD_Daemon *daemon;  /* the network thread's daemon; NULL: unused */
    pthread_mutex_t mu;         /* after a client's mu, never before */
    struct sse_client *pending; /* PENDING clients (wnext) */
    int leader;                 /* a resumed stream will drain the list */
};

#define LANES_MAX 256 /* beyond --threads' 64: a lane per network thread */

struct sse_client {
    struct sse_hub *hub;
    struct lane *lane;              /* set by sse_attach */
    struct sse_client *wnext;       /* the lane's pending list */
    struct sse_client *prev, *next; /* every client; guarded by the hub's lock */
    struct sse_client *sprev, *snext; /* the same store's clients; the hub's lock */
    char store_id[ID_MAX];
    char who_id[ID_MAX];            /* the display key or staff member streaming */
    pthread_mutex_t mu;             /* guards the queue and the state below */
    struct MHD_Connection *conn;    /* set once the stream is queued (sse_attach) */
    enum client_state state;        /* SUSPENDED: the reader found nothing */
    int64_t last_us;                /* when bytes last left the queue */
    char *buf;
    size_t len, off, cap;
    int cut; /* fell too far behind, or its client is gone */
    int fd;                         /* conn's socket (sse_attach) */
    unsigned seq;                   /* which of sse_tick's rounds looks at it */
    int shutdown;
};

struct sse_hub {
    pthread_rwlock_t lock; /* the client list: publishers read, (un)subscribers write */
    struct sse_client *head;
    struct strmap stores; /* store id -> the first of its clients (snext) */
    size_t count;
    int shutdown;
    unsigned seq, round; /* subscriptions made; sse_tick's calls */
    pthread_mutex_t lanes_mu; /* finding or adding a lane */
    struct lane lanes[LANES_MAX];
};

/* Lets the client's connection run again if its reader suspended it
 * (c->mu held): at once if no stream of its lane is on its way to drain
 * the lane, else on the lane's list for that one. */
static void client_wake(struct sse_client *c)
{
    if (c->state != SUSPENDED) return;
    struct lane *l = c->lane;
    pthread_mutex_lock(&l->mu);
    if (l->leader) {
        c->state = PENDING;
        c->wnext = l->pending;
        l->pending = c;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    l->leader = 1;
    pthread_mutex_unlock(&l->mu);
    c->state = RUNNING;
    MHD_resume_connection(c->conn);
}

/* Resumes every stream waiting on the lane (no client's mu held). */
static void lane_drain(struct lane *l)
{
    pthread_mutex_lock(&l->mu);
    struct sse_client *c = l->pending;
    l->pending = NULL;
    l->leader = 0;
    pthread_mutex_unlock(&l->mu);
    while (c) {
        struct sse_client *next = c->wnext;
        pthread_mutex_lock(&c->mu);
        c->wnext = NULL;
        if (c->state == PENDING) {
            c->state = RUNNING;
            MHD_resume_connection(c->conn);
        }
        pthread_mutex_unlock(&c->mu);
        c = next;
    }
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
    pthread_mutex_init(&h->lanes_mu, NULL);
    for (size_t i = 0; i < LANES_MAX; i++) pthread_mutex_init(&h->lanes[i].mu, NULL);
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
    /* and those waiting for a lane's leader, without waiting for it */
    pthread_mutex_lock(&h->lanes_mu);
    for (size_t i = 0; i < LANES_MAX && h->lanes[i].daemon; i++) lane_drain(&h->lanes[i]);
    pthread_mutex_unlock(&h->lanes_mu);
}

void sse_hub_free(struct sse_hub *h)
{
    if (!h) return;
    strmap_release(&h->stores);
    for (size_t i = 0; i < LANES_MAX; i++) pthread_mutex_destroy(&h->lanes[i].mu);
    pthread_mutex_destroy(&h->lanes_mu);
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
    /* Only the store's own streams; every queue first, then the wake-ups
     * (most of them only join their lane's list: client_wake). */
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
    c->fd = -1;
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
    c->seq = h->seq++;
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
    /* the lane of the network thread that holds conn */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    struct MHD_Daemon *d = ci ? ci->daemon : NULL;
    struct sse_hub *h = c->hub;
    struct lane *l = &h->lanes[LANES_MAX - 1]; /* shared past LANES_MAX: correct, only slower */
    pthread_mutex_lock(&h->lanes_mu);
    for (size_t i = 0; i < LANES_MAX; i++) {
        if (h->lanes[i].daemon == d || !h->lanes[i].daemon) {
            h->lanes[i].daemon = d;
            l = &h->lanes[i];
            break;
        }
    }
    pthread_mutex_unlock(&h->lanes_mu);
    pthread_mutex_lock(&c->mu);
    c->conn = conn;
    c->lane = l;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    pthread_mutex_unlock(&c->mu);
}

/* Whether a suspended stream's client has closed its end (c->mu held,
 * c->state == SUSPENDED: libmicrohttpd cannot close the socket meanwhile).
 * A display sends nothing after its request, so a readable socket is an
 * end of file or an error; anything else it might send is left unread. */
static int client_gone(const struct sse_client *c)
{
    if (c->fd < 0) return 0;
    char b;
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

size_t sse_tick(struct sse_hub *h)
{
    int64_t now = mono_us(), every = (int64_t)SSE_KEEPALIVE_S * 1000000;
    size_t n = 0;
    pthread_rwlock_rdlock(&h->lock);
    /* libmicrohttpd does not watch a suspended connection, so a display
     * that went away would hold its socket (and its address's share of
     * --max-per-address) until a keep-alive failed: look at a fifth of
     * the quiet streams each round instead */
    unsigned round = h->round++ % SSE_GONE_ROUNDS; /* one caller: the serve loop */
    for (struct sse_client *c = h->head; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->state == SUSPENDED && c->seq % SSE_GONE_ROUNDS == round && client_gone(c)) {
            c->cut = 1;
            client_wake(c);
        } else if (c->off == c->len && now - c->last_us >= every) {
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
    /* on this connection's network thread: let go the lane's others */
    if (c->lane) lane_drain(c->lane);
    pthread_mutex_lock(&c->mu);
    if (c->cut || (c->shutdown && c->off == c->len)) {
        pthread_mutex_unlock(&c->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (c->off == c->len) {
        /* nothing to send: out of the poll set until someone queues bytes */
        c->state = SUSPENDED;
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
    /* it may have been the one its lane was waiting for */
    if (c->lane) lane_drain(c->lane);
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
