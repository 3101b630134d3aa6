/*
 * http.h — what per-resource handlers see of HTTP.
 *
 * The libmicrohttpd glue (server.c) turns a request into a struct http_req:
 * the route's captured path parameters, the parsed JSON body, the resolved
 * caller (principal) and, for routes under /v1/brands/{brand}, the brand.
 * A handler fills a struct http_resp with resp_json() or resp_problem()
 * and never touches a socket. Nothing below this layer knows HTTP.
 * The helpers below live in request.c, which needs no socket either: a
 * request's query arguments and headers are reached through req->lookup,
 * so a harness can drive the handlers in process (fuzz/fuzz_routes.c).
 */
#ifndef SK_HTTP_H
#define SK_HTTP_H

#include "core/account.h"
#include "core/ratelimit.h"
#include "http/limiter.h"
#include "core/roles.h"
#include "store/store.h"
#include "util/log.h"
#include "util/gate.h"
#include "util/strmap.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_PAGE_DEFAULT 50
#define HTTP_PAGE_MAX 200

struct app_config {
    const char *listen;          /* ADDR:PORT */
    const char *db_path;
    const char *master_key_path;
    const char *web_dir;
    size_t max_body;             /* bytes: the ceiling of every route's own limit */
    unsigned max_connections;
    unsigned max_per_address;    /* connections from one client address; 0: no limit */
    unsigned threads;            /* network threads (epoll loops); 0: one per core */
    unsigned workers;            /* the fast lane's handler threads; 0: the default (8) */
    unsigned signups_per_hour;   /* new accounts from one client address; 0: no limit */
    unsigned header_timeout_s;   /* a request's headers complete within this; also the idle timeout */
    unsigned body_timeout_s;     /* a request's body complete within this after its headers */
    enum log_level log_level;
    int64_t session_ttl_s;       /* a shopper's sign-in */
    int64_t staff_session_ttl_s; /* a staff sign-in (a shared till computer: shorter) */
    size_t sightings_max;        /* largest sightings batch */
    int64_t retain_visits_days;  /* retention, shown to customers */
    int64_t retain_access_log_days;
    const char *public_url;      /* the base of links in mail ("http://host:port") */
};

struct recog;
struct conn_watch;
struct suggest_svc;
struct sse_hub;
struct mailer;
struct workq;

/* Process-wide state shared by every handler. */
struct app {
    struct store *st;
    struct recog *recog;   /* the recognition service, or NULL */
    struct suggest_svc *sugg; /* the suggestion service, or NULL */
    struct sse_hub *hub;   /* counter display streams */
    struct mailer *mail;   /* the SMTP relay's queue, or NULL when none is configured */
    struct bus *bus;       /* NATS between nodes (--nats), or NULL: this node runs alone */
    struct cluster *cluster; /* what travels on it (cluster.h), or NULL */
    struct outbox *outbox;   /* catch-up from the database (outbox.h), with the bus */
    struct workq *lane_fast, *lane_slow; /* handler workers (server.c), while serving */
    struct metrics *metrics;     /* requests by route and status, latencies (GET /metrics) */
    struct app_config cfg;
    /* rate limits (limiter.h): in memory on SQLite, in the store on PostgreSQL */
    struct limiter rl_addr;    /* login attempts per client address */
    struct limiter rl_account; /* failed logins per address+account (h_staff.c) */
    struct limiter rl_invite;  /* household invitations per customer */
    struct gate pw_gate;         /* password hashing: bounded (pw.c) */
    struct limiter rl_signup;  /* sign-ups per client address */
    pthread_mutex_t watch_mu;    /* connections waiting for a request's headers */
    struct conn_watch *watch_head, *watch_tail; /* oldest first (server.c) */
    pthread_mutex_t seen_mu;
    struct strmap seen;          /* store key id -> int64_t last written (us) */
    struct limiter rl_reset_addr;  /* password-reset requests per address */
    struct limiter rl_reset_email; /* reset mails per email address */
    struct limiter rl_pwcheck;     /* wrong current passwords per signed-in account */
    struct limiter rl_pairing;     /* display pairings asked for per address (h_counter.c) */
};

#define KEY_SEEN_EVERY_US (60 * 1000000LL) /* a key's last use is written once a minute */

/* What req->lookup is asked for. */
enum { HTTP_LOOKUP_QUERY = 0, HTTP_LOOKUP_HEADER = 1 };

struct http_req {
    const char *method;
    const char *path;
    void *conn; /* the transport's request, passed to lookup (server.c: struct MHD_Connection) */
    /* A query argument (decoded) or a header (name case-insensitive) of the
     * request, or NULL when absent; valid while the request is. NULL lookup:
     * the request has neither. */
    const char *(*lookup)(void *conn, int kind, const char *name);
    const char *param_name[HTTP_MAX_PARAMS];
    const char *param_value[HTTP_MAX_PARAMS];
    size_t nparams;
    json_t *json;     /* parsed body, or NULL when there was none */
    const char *csv;  /* a text/csv body instead (not parsed as JSON), or NULL */
    size_t csv_len;
    struct principal who;
    json_t *brand;    /* the {brand} of the path, resolved; or NULL */
    const char *brand_id;
    json_t *store;    /* the {store} of the path, resolved; or NULL */
    const char *store_id;
    char remote[64];  /* client address, for rate limits */
};

struct http_resp {
    int status;
    json_t *json;            /* body to serialize, owned */
    char *raw;               /* or a raw body, owned (malloc) */
    size_t raw_len;
    const char *content_type;
    char location[256];
    char retry_after[16];
    void *stream;            /* an SSE subscriber: the body is streamed */
};

#define INVITES_PER_HOUR 20 /* household invitations sent per customer */
#define RESETS_PER_ADDR_HOUR 10 /* password-reset requests per client address */
#define RESETS_PER_EMAIL_HOUR 3 /* reset mails to one address (more are not sent) */
#define PAIRINGS_PER_MINUTE 10  /* display pairing codes asked for per client address */

typedef void (*http_handler)(struct app *app, struct http_req *req, struct http_resp *resp);

/* Who may call a route: a bitmask of these. */
enum {
    WHO_PUBLIC = 1u << 0,
    WHO_OPERATOR = 1u << 1,
    WHO_STAFF = 1u << 2,
    WHO_CUSTOMER = 1u << 3,
    WHO_SCANNER = 1u << 4,
    WHO_DISPLAY = 1u << 5,
    WHO_POS = 1u << 6, /* a store's point-of-sale key */
};

/* Which staff roles (when WHO_STAFF is allowed): a bitmask of ROLE_*
 * (core/roles.h); 0 = any role. A store route's grant must cover its store. */

/* A route's largest request body (bytes), checked against Content-Length
 * before any of it is read, and again as it streams in; cfg.max_body is the
 * ceiling of all. 0 in a row means BODY_DEFAULT. */
#define BODY_SMALL (4u * 1024)     /* sign-in, sign-up, a password: a few fields */
#define BODY_DEFAULT (16u * 1024)  /* most JSON routes */
#define BODY_LARGE (64u * 1024)    /* lists a person edits: people, answers, a sale */
#define BODY_DOCUMENT (512u * 1024) /* the brand's choices, its notice and FAQ */
#define BODY_BULK ((size_t)-1)     /* sightings batches, CSV imports: cfg.max_body */

struct route {
    const char *method;
    const char *pattern; /* "/v1/brands/{brand}/staff" */
    http_handler fn;
    unsigned who;
    unsigned roles;
    const char *summary;
    size_t max_body;     /* 0: BODY_DEFAULT */
    unsigned lane;       /* LANE_FAST (0) or LANE_SLOW: which workers run it */
    unsigned takes;      /* TAKES_JSON (0) or TAKES_CSV: what a body must be */
};

/* A route's body: JSON (whatever the client calls it), or a CSV import
 * (text/csv, read by the handler itself); anything else is a 415. */
enum { TAKES_JSON = 0, TAKES_CSV = 1 };

/* Handlers run on two pools of workers, never on the network threads: the
 * fast lane for everything quick, the slow lane for routes that may hold a
 * worker for long (routes.c marks them). */
enum { LANE_FAST = 0, LANE_SLOW = 1 };

/* The body limit of r under cfg (the smaller of the route's and the ceiling). */
size_t route_body_limit(const struct route *r, const struct app_config *cfg);

extern const struct route http_routes[];
extern const size_t http_routes_count;


/* ---- helpers for handlers (request.c) --------------------------------- */

const char *req_param(const struct http_req *req, const char *name);
const char *req_query(const struct http_req *req, const char *name);
const char *req_header(const struct http_req *req, const char *name);
/* The body as an object, or a 400/422 problem and NULL. */
json_t *req_object(struct http_req *req, struct http_resp *resp);
/* limit/after from the query; a 422 problem and -1 when invalid. */
int req_page(struct http_req *req, struct http_resp *resp, struct page *ret);

/* A required string field of 1..max characters of clean text; else a 422
 * naming the field, and NULL. */
const char *body_text(json_t *obj, const char *field, size_t max, struct http_resp *resp);
/* Optional: NULL without a problem when absent or null. */
const char *body_text_opt(json_t *obj, const char *field, size_t max, struct http_resp *resp,
                          int *ret_bad);

/* A required email field, lower-cased into ret; else a 422 naming the field,
 * and -1. */
#define EMAIL_BUF (EMAIL_MAX + 2)
int body_email(json_t *obj, const char *field, char ret[EMAIL_BUF], struct http_resp *resp);

/* Password hashing and checking through the app's bounded gate (pw.c): 0, or
 * -1 with a 503 (Retry-After) when it is full, or a 500, in resp. */
int http_pwhash(struct app *app, const char *password, char ret[CRYPTO_PWHASH_MAX],
                struct http_resp *resp);
int http_pwverify(struct app *app, const char *password, const char *hash,
                  struct http_resp *resp, int *ret_ok);

void resp_json(struct http_resp *resp, int status, json_t *body);
void resp_problem(struct http_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a store error code to a problem; what names the thing ("brand"). */
void resp_store_error(struct http_resp *resp, int rc, const char *what);

/* The caller is the store's own key of kind k (PRINCIPAL_SCANNER/DISPLAY). */
int who_is_store_key(const struct http_req *req, enum principal_kind k);
/* The staff member of req->who may act for req->brand_id with one of roles
 * (0: any) at the request's store, or brand-wide when it has none. */
int who_is_brand_staff(const struct http_req *req, unsigned roles);
/* An operator, or staff of req->brand_id with one grant of roles covering
 * store_id (NULL: any store of theirs) — for a store named in a body. */
int who_may_act_at_store(const struct http_req *req, unsigned roles, const char *store_id);

/* ---- a request past its caller (request.c) ----------------------------- */

/* With req->who settled and allowed by r: resolves {brand} and {store} into
 * req (req->brand and req->store are new references, the caller's to
 * release), keeps staff and store keys inside their own brand and store,
 * checks a staff member's grants for r, and refuses a change at a closed
 * store. 0, or -1 with a problem in resp. */
int http_scope(struct app *app, const struct route *r, struct http_req *req,
               struct http_resp *resp);
/* With the body (len 0: none): notes a store key's use, parses the body
 * (JSON with duplicate keys refused, or a text/csv body left as text in
 * req->csv) and calls r->fn. resp always has a status afterwards. body
 * must outlive req; req->json is the caller's to release. */
void http_call(struct app *app, const struct route *r, struct http_req *req, const char *body,
               size_t len, struct http_resp *resp);

int app_init(struct app *app, struct store *st, const struct app_config *cfg);
void app_release(struct app *app);
/* Serves until SIGINT/SIGTERM. */
int http_serve(struct app *app);

#endif
