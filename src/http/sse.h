/*
 * sse.h — the server-sent events hub: counter displays subscribe to their
 * store; the recognition service publishes "card", "update" and "gone".
 *
 * Each subscriber has a bounded queue of bytes waiting to be sent; a
 * subscriber that falls more than SSE_QUEUE_MAX behind is cut off (it
 * reconnects and gets the current cards again). No thread waits for a
 * stream: an idle one is a suspended connection, to whose socket a
 * publish writes the event itself, or, when its socket is full, queues
 * it and resumes the connection (sse.c). One whose socket (SSE_SNDBUF)
 * takes only part of an event is cut off too. sse_tick, called every
 * SSE_TICK_MS, sends a keep-alive on every stream quiet for
 * SSE_KEEPALIVE_S seconds and ends those whose client has gone. A stream opens with the comment
 * ": keep-alive every N s": a display that hears nothing for twice that
 * treats the server as gone.
 */
#ifndef SK_SSE_H
#define SK_SSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SSE_QUEUE_MAX (1024 * 1024)
#define SSE_KEEPALIVE_S 15
/* A stream socket's send buffer (SO_SNDBUF): dozens of cards' worth */
#define SSE_SNDBUF (32 * 1024)
/* sse_tick is called every SSE_TICK_MS and looks at one of
 * SSE_TICK_BUCKETS shares of the streams: each every 2.5 s, for its
 * keep-alive (so 15 to 17.5 s apart), and every SSE_GONE_EVERY looks
 * (5 s) whether a quiet stream's client has gone (closed its end) */
#define SSE_TICK_MS 100
#define SSE_TICK_BUCKETS 25
#define SSE_GONE_EVERY 2

struct sse_hub;
struct sse_client;

int sse_hub_new(struct sse_hub **ret);
/* Wakes every reader and makes them end their streams. */
void sse_hub_shutdown(struct sse_hub *h);
void sse_hub_free(struct sse_hub *h);
size_t sse_hub_clients(struct sse_hub *h);

/* Sends event with data (JSON) to every subscriber of store_id. */
void sse_publish(struct sse_hub *h, const char *store_id, const char *event, json_t *data);

/* A new subscriber of store_id, streaming for who_id (a display key or a
 * staff member; may be NULL). */
struct sse_client *sse_subscribe(struct sse_hub *h, const char *store_id, const char *who_id);
/* Ends the streams of who_id (NULL: anyone) at store_id (NULL: any store)
 * at once — a revoked key, a disabled person, a closed store; the count. */
size_t sse_cut(struct sse_hub *h, const char *who_id, const char *store_id);
/* Queues one event for this subscriber only. */
void sse_send(struct sse_client *c, const char *event, json_t *data);
struct MHD_Connection;
/* The connection that carries c's stream: set before it is queued.
 * chunked: libmicrohttpd frames it as a chunked body (an HTTP/1.1
 * request), so events may be written to its socket directly (sse.c). */
void sse_attach(struct sse_client *c, struct MHD_Connection *conn, int chunked);
/* Sends a keep-alive on every stream of this call's share quiet for
 * SSE_KEEPALIVE_S, and (one call in SSE_GONE_EVERY for each share) ends
 * those whose client has gone; the count of keep-alives. */
size_t sse_tick(struct sse_hub *h);
/* The MHD content reader and free callbacks (the daemon must allow
 * suspend/resume: an empty queue suspends the connection). */
ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max);
void sse_release(void *cls);

#endif
