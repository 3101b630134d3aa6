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
 *
 * Writing itself: even one resume costs its network thread a walk of all
 * the connections it holds suspended (half a millisecond and more with
 * 5 000 displays), then a pass through libmicrohttpd per stream. But a
 * suspended stream's socket is idle between two chunks: libmicrohttpd
 * calls the reader only once the last chunk has left (0.9.75 to 1.0.1:
 * its write buffer is empty then), sends nothing after it returns "nothing
 * yet", and neither closes nor watches a suspended connection. So an
 * event for a suspended HTTP/1.1 stream with nothing queued is framed as
 * the chunk libmicrohttpd would have made and sent by the publisher, at
 * once, without waking anyone (client_send). A socket that takes none of
 * it (full) gets it through the queue as before; one that takes part of
 * it can no longer be framed, so it is shut and the stream cut (the
 * display reconnects and gets the current cards). A display's socket
 * holds SSE_SNDBUF (doubled by the kernel): one that falls that far
 * behind, dozens of cards, has stopped reading.
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
#include <unistd.h>

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
#define SSE_SPLIT_MIN 64 /* a store's streams worth two writers */

struct sse_client {
    struct sse_hub *hub;
    struct lane *lane;              /* set by sse_attach */
    struct sse_client *wnext;       /* the lane's pending list */
    struct sse_client *prev, *next; /* its tick bucket's clients; the hub's lock */
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
    int chunked;                    /* an HTTP/1.1 stream: client_send may write to fd */
    unsigned bucket;                /* which of sse_tick's calls looks at it */
    int shutdown;
};

/* An event's text, and the same framed as one chunk of a chunked body
 * (hex size, CRLF, the text, CRLF), which client_send writes whole. */
struct event {
    char *chunk;
    size_t chunk_len;
    const char *text; /* within chunk */
    size_t len;
};

/* Part of a store's streams for one event (from up to, not including, to). */
struct part {
    struct sse_client *from, *to;
    const struct event *ev;
    int queued; /* one of them had to queue it */
    int done;   /* the sender has finished it (the sender's mu) */
};

/* A thread that writes half of a big store's event while the publisher
 * writes the other half (on loopback each write also does the display's
 * receiving; on any machine, two cores write twice as fast). One part at
 * a time: a publisher that finds it busy writes all of its own. */
struct sender {
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a part given, a part done, stop */
    struct part *part; /* given and not yet done */
    int stop;
};

struct sse_hub {
    pthread_rwlock_t lock; /* the client list: publishers read, (un)subscribers write */
    struct sse_client *bucket[SSE_TICK_BUCKETS]; /* every client, in sse_tick's shares */
    struct strmap stores; /* store id -> the first of its clients (snext) */
    size_t count;
    int shutdown;
    unsigned seq, round; /* subscriptions made; sse_tick's calls (one caller) */
    pthread_mutex_t lanes_mu; /* finding or adding a lane */
    struct lane lanes[LANES_MAX];
    struct sender sender;
};

static void *sender_main(void *arg);

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
    pthread_mutex_init(&h->sender.mu, NULL);
    pthread_cond_init(&h->sender.cv, NULL);
    /* one core: nothing to gain from a second writer */
    h->sender.running = sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
                        pthread_create(&h->sender.thread, NULL, sender_main, h) == 0;
    *ret = h;
    return 0;
}

void sse_hub_shutdown(struct sse_hub *h)
{
    pthread_rwlock_wrlock(&h->lock);
    h->shutdown = 1;
    for (size_t b = 0; b < SSE_TICK_BUCKETS; b++) {
        for (struct sse_client *c = h->bucket[b]; c; c = c->next) {
            pthread_mutex_lock(&c->mu);
            c->shutdown = 1;
            client_wake(c);
            pthread_mutex_unlock(&c->mu);
        }
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
    if (h->sender.running) {
        pthread_mutex_lock(&h->sender.mu);
        h->sender.stop = 1;
        pthread_cond_broadcast(&h->sender.cv);
        pthread_mutex_unlock(&h->sender.mu);
        pthread_join(h->sender.thread, NULL);
    }
    pthread_cond_destroy(&h->sender.cv);
    pthread_mutex_destroy(&h->sender.mu);
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

static int event_make(struct event *ev, const char *event, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!d) return SK_ENOMEM;
    size_t len = strlen("event: \ndata: \n\n") + strlen(event) + strlen(d);
    size_t cap = 16 + 2 + len + 2 + 1;
    ev->chunk = malloc(cap);
    if (!ev->chunk) {
        free(d);
        return SK_ENOMEM;
    }
    int h = snprintf(ev->chunk, cap, "%zx\r\n", len);
    snprintf(ev->chunk + h, cap - (size_t)h, "event: %s\ndata: %s\n\n\r\n", event, d);
    free(d);
    ev->text = ev->chunk + h;
    ev->len = len;
    ev->chunk_len = (size_t)h + len + 2;
    return 0;
}

/* Sends an event itself if c's stream is suspended with nothing queued
 * (c->mu held): 1 when done (or the stream was cut trying), 0 when it
 * must go through the queue. */
static int client_send(struct sse_client *c, const struct event *ev)
{
    if (!c->chunked || c->state != SUSPENDED || c->off != c->len || c->cut || c->fd < 0 ||
        ev->chunk_len > SSE_SNDBUF / 2)
        return 0;
    ssize_t r;
    do r = send(c->fd, ev->chunk, ev->chunk_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)ev->chunk_len) {
        c->last_us = mono_us();
        return 1;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    /* part of a chunk is out (its framing is lost), or the client has
     * gone: libmicrohttpd ends the stream when it resumes it */
    shutdown(c->fd, SHUT_RDWR);
    c->cut = 1;
    client_wake(c);
    return 1;
}

/* Delivers an event to c (c->mu held): itself, else queued and woken. */
static void client_deliver(struct sse_client *c, const struct event *ev)
{
    if (!client_send(c, ev)) client_append(c, ev->text, ev->len);
}

/* Writes or queues the event on each stream of the part (the hub's lock
 * held by the publisher). */
static void part_write(struct part *p)
{
    for (struct sse_client *c = p->from; c != p->to; c = c->snext) {
        pthread_mutex_lock(&c->mu);
        if (!client_send(c, p->ev)) {
            client_queue(c, p->ev->text, p->ev->len);
            p->queued = 1;
        }
        pthread_mutex_unlock(&c->mu);
    }
}

static void *sender_main(void *arg)
{
    struct sender *s = &((struct sse_hub *)arg)->sender;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && (!s->part || s->part->done)) pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop) break;
        struct part *p = s->part;
        pthread_mutex_unlock(&s->mu);
        part_write(p); /* its publisher waits for it, holding the hub's lock */
        pthread_mutex_lock(&s->mu);
        p->done = 1;
        s->part = NULL;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void sse_publish(struct sse_hub *h, const char *store_id, const char *event, json_t *data)
{
    struct event ev;
    if (event_make(&ev, event, data)) return;
    /* Only the store's own streams: those it can, written at once
     * (client_send; a big store's second half by the sender, if free);
     * the others' queues, then their wake-ups (most of them only join
     * their lane's list: client_wake). */
    pthread_rwlock_rdlock(&h->lock);
    struct sse_client *first = strmap_get(&h->stores, store_id);
    struct part mine = {first, NULL, &ev, 0, 0}, theirs = {NULL, NULL, &ev, 0, 0};
    size_t n = 0;
    for (struct sse_client *c = first; c && n < SSE_SPLIT_MIN; c = c->snext) n++;
    if (n == SSE_SPLIT_MIN && h->sender.running) {
        for (struct sse_client *c = first->snext; c; c = c->snext) n++;
        struct sse_client *mid = first;
        for (size_t i = 0; i < n / 2; i++) mid = mid->snext;
        pthread_mutex_lock(&h->sender.mu);
        if (!h->sender.part) {
            theirs.from = mid;
            h->sender.part = &theirs;
            mine.to = mid;
            pthread_cond_broadcast(&h->sender.cv);
        }
        pthread_mutex_unlock(&h->sender.mu);
    }
    part_write(&mine);
    if (theirs.from) {
        pthread_mutex_lock(&h->sender.mu);
        while (!theirs.done) pthread_cond_wait(&h->sender.cv, &h->sender.mu);
        pthread_mutex_unlock(&h->sender.mu);
    }
    for (struct sse_client *c = mine.queued || theirs.queued ? first : NULL; c; c = c->snext) {
        pthread_mutex_lock(&c->mu);
        if (c->off != c->len || c->cut) client_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_rwlock_unlock(&h->lock);
    free(ev.chunk);
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
    c->bucket = h->seq++ % SSE_TICK_BUCKETS;
    c->next = h->bucket[c->bucket];
    if (c->next) c->next->prev = c;
    h->bucket[c->bucket] = c;
    h->count++;
    pthread_rwlock_unlock(&h->lock);
    return c;
}

/* Ends c's stream if it streams for who_id (NULL: anyone); 1 if so
 * (the hub's lock held). */
static size_t cut_one(struct sse_client *c, const char *who_id)
{
    if (who_id && strcmp(c->who_id, who_id) != 0) return 0;
    pthread_mutex_lock(&c->mu);
    c->cut = 1;
    client_wake(c);
    pthread_mutex_unlock(&c->mu);
    return 1;
}

size_t sse_cut(struct sse_hub *h, const char *who_id, const char *store_id)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&h->lock);
    if (store_id) {
        for (struct sse_client *c = strmap_get(&h->stores, store_id); c; c = c->snext)
            n += cut_one(c, who_id);
    } else {
        for (size_t b = 0; b < SSE_TICK_BUCKETS; b++)
            for (struct sse_client *c = h->bucket[b]; c; c = c->next) n += cut_one(c, who_id);
    }
    pthread_rwlock_unlock(&h->lock);
    return n;
}

void sse_send(struct sse_client *c, const char *event, json_t *data)
{
    struct event ev;
    if (event_make(&ev, event, data)) return;
    pthread_mutex_lock(&c->mu);
    client_deliver(c, &ev);
    pthread_mutex_unlock(&c->mu);
    free(ev.chunk);
}

void sse_attach(struct sse_client *c, struct MHD_Connection *conn, int chunked)
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
    /* never around TLS (none here: it ends at the proxy), were it added */
    c->chunked = chunked && !MHD_get_connection_info(conn, MHD_CONNECTION_INFO_PROTOCOL);
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
    /* one bucket a call, so that no call holds a core for long: with
     * 11 000 streams, looking at all of them at once took 5-7 ms, which
     * a card's fan-out running meanwhile felt. libmicrohttpd does not
     * watch a suspended connection, so a display that went away would
     * hold its socket (and its address's share of --max-per-address)
     * until a keep-alive failed: every SSE_GONE_EVERY visits, a look */
    unsigned round = h->round++;
    int look = (round / SSE_TICK_BUCKETS) % SSE_GONE_EVERY == 0;
    for (struct sse_client *c = h->bucket[round % SSE_TICK_BUCKETS]; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (look && c->state == SUSPENDED && client_gone(c)) {
            c->cut = 1;
            client_wake(c);
        } else if (c->off == c->len && now - c->last_us >= every) {
            static char chunk[] = "e\r\n: keep-alive\n\n\r\n"; /* 0xe bytes */
            const struct event ka = {chunk, sizeof chunk - 1, chunk + 3, 14};
            client_deliver(c, &ka);
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
    else h->bucket[c->bucket] = c->next;
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
