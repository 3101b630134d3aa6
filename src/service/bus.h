/*
 * bus.h — the message bus between `shopkeeper serve` nodes (issue 12), over
 * NATS with nats.c.
 *
 * Nodes share one database; the bus only carries what can be rebuilt from
 * it (live card events, cache invalidations, presence), so delivery is
 * at-most-once: a message published while NATS is unreachable is kept in
 * nats.c's reconnect buffer and sent on reconnection, or, once that buffer
 * is full, dropped and counted. Nothing waits for the bus: a node starts
 * while NATS is down and connects when it comes up, and bus_publish never
 * blocks its caller for long.
 *
 * Every message carries the publishing node's name in the NATS header
 * BUS_ORIGIN_HEADER, so a handler can tell (and skip) its own node's
 * messages: a node receives what it publishes itself when it subscribes to
 * the subject. Payloads are opaque bytes and are never logged.
 *
 * Threads: bus_publish and bus_stats may be called from any thread.
 * bus_subscribe from any thread, bus_close from one thread when no other
 * call on the bus is running or will run. Callbacks come from nats.c's own
 * threads (see bus_handler and bus_config.on_state); neither may call
 * bus_close.
 *
 * nats.c keeps global state (its callback thread, its timers): it is
 * started by the first bus_open and torn down by bus_shutdown(), which
 * main calls once, at the very end, after every bus has been closed.
 */
#ifndef SK_BUS_H
#define SK_BUS_H

#include <stddef.h>
#include <stdint.h>

#define BUS_SUBJECT_MAX 256          /* bytes; longer is SK_ETOOBIG */
#define BUS_PAYLOAD_MAX (64 * 1024)  /* bytes; larger is SK_ETOOBIG */
#define BUS_NAME_MAX 64              /* node name: [A-Za-z0-9._-], 1..64 bytes */
#define BUS_URLS_MAX 16              /* servers in bus_config.url */
#define BUS_ORIGIN_HEADER "Sk-Origin"
#define BUS_RECONNECT_WAIT_MS 250    /* between attempts to reach a server */
#define BUS_DRAIN_MS 2000            /* bus_close waits this long to send */
/* What nats.c keeps while reconnecting when bus_config.reconnect_buf is 0. */
#define BUS_RECONNECT_BUF_DEFAULT (8 * 1024 * 1024)

struct bus;

struct bus_config {
    /* One or more nats://host:port URLs separated by commas (spaces around
     * them allowed); credentials in a URL (nats://user:pass@host) are used
     * and never logged. */
    const char *url;
    /* This node's name: the NATS connection name and the origin header of
     * every message it publishes. */
    const char *node;
    /* Called with 1 when the connection is (re)established and with 0 when
     * it is lost or closed, on each change after bus_open returns (the
     * state at that moment is bus_stats().connected; the last call, with
     * 0, may come during bus_close, never after it). It runs on nats.c's
     * single callback thread, shared by all connections of the process:
     * it must return quickly. Optional (NULL). */
    void (*on_state)(void *cls, int connected);
    void *state_cls;
    /* Bytes of published messages held while disconnected; past it a
     * publish is dropped (SK_EBUSY). 0: BUS_RECONNECT_BUF_DEFAULT. */
    int reconnect_buf;
};

/* A message handler. subject, data and origin are valid only during the
 * call (copy what you keep); origin is the publisher's node name, or NULL
 * when the message has none (published by something other than a bus).
 * Called on the subscription's own delivery thread (one per bus_subscribe,
 * made by nats.c): one message at a time and in order for a subscription,
 * concurrently across subscriptions. It may call bus_publish. */
typedef void (*bus_handler)(void *cls, const char *subject, const void *data, size_t len,
                            const char *origin);

struct bus_stats {
    int connected;          /* 1 when connected to a server now */
    uint64_t reconnects;    /* connections re-established after a loss */
    uint64_t published;     /* accepted by bus_publish (sent or buffered) */
    uint64_t received;      /* handed to a handler */
    uint64_t dropped;       /* refused by bus_publish (buffer full, closed) */
    int64_t changed_us;     /* wall time (time_now_us) of the last change of
                               connected, or of bus_open */
};

/* Connects, or goes on trying in the background when no server answers
 * now (with no limit on attempts, every BUS_RECONNECT_WAIT_MS): a node
 * starts whether NATS is up or not. The strings of cfg are copied.
 * 0; SK_EINVAL for a missing or malformed url or node name (err says
 * which), SK_EIO when nats.c cannot set up the connection, SK_ENOMEM. */
int bus_open(const struct bus_config *cfg, struct bus **ret, char *err, size_t errlen);

/* Publishes len bytes of data (NULL when len is 0) on subject, which must
 * be a subject without wildcards ("sk.cards.updated"). Returns at once: 0
 * when the message was sent or buffered; SK_EBUSY when disconnected and the
 * reconnect buffer is full, SK_EIO when it cannot be sent at all (the
 * connection is closed, or it never reached a server yet: nats.c can only
 * send headers, hence the origin, once a server said it supports them) —
 * both counted as dropped; SK_ETOOBIG when subject or payload is over its
 * limit, SK_EINVAL when subject is malformed (not counted). */
int bus_publish(struct bus *b, const char *subject, const void *data, size_t len);

/* Subscribes fn to subject, which may hold the wildcards * (one token) and
 * > (the rest, last token only): "sk.cards.>". The subscription lasts until
 * bus_close; it survives reconnects. 0; SK_EINVAL or SK_ETOOBIG for a bad
 * subject, SK_EIO when the connection is closed, SK_ENOMEM. cls is the
 * caller's and must outlive the bus. */
int bus_subscribe(struct bus *b, const char *subject, bus_handler fn, void *cls);

/* Waits (at most timeout_ms) until the server has processed everything
 * this bus sent before: its subscriptions are live and its messages were
 * routed. For start-up and tests; 0, or SK_EIO when not connected or the
 * server did not answer in time. */
int bus_flush(struct bus *b, int timeout_ms);

/* A consistent snapshot of the counters; any thread. A NULL bus reads as
 * all zero (never connected). */
void bus_stats(struct bus *b, struct bus_stats *ret);

/* Stops delivery, sends what is buffered when connected (waiting at most
 * BUS_DRAIN_MS), closes the connection, and frees everything once no
 * callback of this bus can run any more. NULL is a no-op. */
void bus_close(struct bus *b);

/* Releases nats.c's global state; once, at process end, after every
 * bus_close. */
void bus_shutdown(void);

#endif
