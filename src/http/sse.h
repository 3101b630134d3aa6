/*
 * sse.h — the server-sent events hub: counter displays subscribe to their
 * store; the recognition service publishes "card", "update" and "gone".
 *
 * Each subscriber has a bounded queue of bytes waiting to be sent; a
 * subscriber that falls more than SSE_QUEUE_MAX behind is cut off (it
 * reconnects and gets the current cards again). No thread waits for a
 * stream: an idle one is a suspended connection that a publish resumes
 * (sse.c). sse_tick, called about once a second, queues a keep-alive on
 * every stream quiet for SSE_KEEPALIVE_S seconds, which is also how a
 * vanished client is noticed. A stream opens with the comment
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
/* sse_tick looks at each quiet stream once in this many calls for a
 * client that has gone (closed its end): about 5 s at one call a second */
#define SSE_GONE_ROUNDS 5

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
/* The connection that carries c's stream: set before it is queued. */
void sse_attach(struct sse_client *c, struct MHD_Connection *conn);
/* Queues a keep-alive on every stream quiet for SSE_KEEPALIVE_S and ends
 * streams whose client has gone (a fifth of them each call); the count of
 * keep-alives. */
size_t sse_tick(struct sse_hub *h);
/* The MHD content reader and free callbacks (the daemon must allow
 * suspend/resume: an empty queue suspends the connection). */
ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max);
void sse_release(void *cls);

#endif
