/*
 * server.c — the libmicrohttpd glue: the only file that speaks MHD.
 *
 * For each request, from its headers alone (precheck(), before any of the
 * body is read; a refusal is answered at once and the body never read):
 *   1. refuse ambiguous framing (two Content-Lengths, Transfer-Encoding with
 *      Content-Length) and a target with %00 or a stray % (on_uri());
 *   2. match the route table (router: no pattern 404, wrong method 405);
 *   3. authenticate the bearer token, check the route's WHO_* and roles;
 *   4. resolve {brand} and keep staff and store keys inside their brand
 *      (http_scope(), request.c);
 *   5. a Content-Length over the route's body limit: 413.
 * Then, with the body:
 *   6. accumulate it up to the route's limit (past it: 413, the rest
 *      dropped), within cfg.body_timeout_s of the headers;
 *   7. suspend the connection and hand the request to a worker of the
 *      route's lane (run_job(); a full lane: 503 with Retry-After);
 *   8. the worker parses a JSON body (400 on malformed JSON or invalid
 *      UTF-8), calls the handler (dispatch(), http_call() in request.c)
 *      and resumes the connection;
 *   9. back on the network thread, serialize the response, log one line.
 * Threads: a few network threads (libmicrohttpd's pool, each an epoll
 * loop over its share of the connections) never run a handler or wait
 * for the database; two lanes of workers run handlers. A counter display's
 * stream holds no thread at all between events (sse.c).
 * Paths outside /v1 and /healthz are static files from cfg.web_dir; any
 * other GET of a path outside /v1 is web/404.html with status 404 (a person
 * followed a link), while /v1 keeps answering problem documents.
 * What handlers use of a request (req_query(), resp_problem(), ...) is in
 * request.c, which speaks no MHD: the request's arguments and headers
 * reach it through req->lookup (mhd_lookup() here).
 * Invariant: every response is JSON (or a problem document) except static
 * files; no header, token or body is ever logged.
 */
#include "http/http.h"
#include "core/account.h"
#include "core/choices.h"
#include "http/sse.h"
#include "service/recog.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/strmap.h"
#include "util/timeutil.h"
#include "util/workq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_MAX (4u * 1024 * 1024)
#define STREAM_TIMEOUT_S 120 /* a counter display's stream: several keep-alives */

/* ---- per-connection state --------------------------------------------- */

/* Every open connection, with since when it has been waiting for a
 * request's headers (0: it is not: a request is being read or answered, a
 * stream included). libmicrohttpd's own timeout is an idle one, which a
 * client trickling a header byte a second never meets; the serve loop
 * closes a connection whose headers took longer than cfg.header_timeout_s
 * (watch_headers()). Only connections waiting for headers are on the list,
 * oldest first (each joins at the tail when it starts waiting), so the
 * loop looks at the expired ones and one more, never at the thousands of
 * display streams. An entry lives from the connection's start to its close
 * notification, which libmicrohttpd makes before it closes the socket, so
 * the watchdog never touches a descriptor reused by another. */
struct conn_watch {
    struct conn_watch *prev, *next; /* on the waiting list iff since_us != 0 */
    int fd;
    int64_t since_us;
};

/* watch_mu held */
static void watch_unlink(struct app *app, struct conn_watch *w)
{
    if (!w->since_us) return;
    if (w->prev) w->prev->next = w->next;
    else app->watch_head = w->next;
    if (w->next) w->next->prev = w->prev;
    else app->watch_tail = w->prev;
    w->prev = w->next = NULL;
    w->since_us = 0;
}

/* watch_mu held; since_us > 0 */
static void watch_append(struct app *app, struct conn_watch *w, int64_t since_us)
{
    watch_unlink(app, w);
    w->since_us = since_us;
    w->prev = app->watch_tail;
    if (w->prev) w->prev->next = w;
    else app->watch_head = w;
    app->watch_tail = w;
}

static void watch_set(struct app *app, struct MHD_Connection *conn, int64_t since_us)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_watch *w = ci ? ci->socket_context : NULL;
    if (!w) return;
    pthread_mutex_lock(&app->watch_mu);
    if (since_us) watch_append(app, w, since_us);
    else watch_unlink(app, w);
    pthread_mutex_unlock(&app->watch_mu);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct app *app = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_watch *w = fi ? calloc(1, sizeof *w) : NULL;
        if (!w) return;
        w->fd = fi->connect_fd;
        pthread_mutex_lock(&app->watch_mu);
        watch_append(app, w, time_now_us());
        pthread_mutex_unlock(&app->watch_mu);
        *socket_context = w;
        return;
    }
    struct conn_watch *w = *socket_context;
    if (!w) return;
    pthread_mutex_lock(&app->watch_mu);
    watch_unlink(app, w);
    pthread_mutex_unlock(&app->watch_mu);
    free(w);
    *socket_context = NULL;
}

/* Closes connections whose request headers have taken too long; the count. */
static size_t watch_headers(struct app *app, int64_t now_us)
{
    if (!app->cfg.header_timeout_s) return 0;
    int64_t limit = (int64_t)app->cfg.header_timeout_s * 1000000;
    size_t n = 0;
    pthread_mutex_lock(&app->watch_mu);
    struct conn_watch *w;
    while ((w = app->watch_head) && now_us - w->since_us > limit) {
        shutdown(w->fd, SHUT_RDWR); /* its network thread sees the end and closes it */
        watch_unlink(app, w);
        n++;
    }
    pthread_mutex_unlock(&app->watch_mu);
    return n;
}

/* One request's state, from its headers to its completion. libmicrohttpd
 * calls on_request first when the headers are complete (nothing of the body
 * read): the route, the caller and the body limit are settled then, and a
 * request refused there is answered at once and its body never read. */
enum phase { PHASE_BODY, PHASE_QUEUED, PHASE_DONE };

struct conn_state {
    struct workq_job job;    /* the worker's link (run_job) */
    struct app *app;
    struct MHD_Connection *conn;
    enum phase phase;        /* written by the worker before it resumes conn */
    size_t counted_as;       /* GET /metrics: the route's index, or http_routes_count */
    struct http_resp resp;   /* the worker's answer, sent by the network thread */
    char *body;
    size_t len, cap;
    size_t limit;            /* this route's body limit (bytes) */
    int too_big;             /* the body passed the limit: 413, the rest dropped */
    int chunked;             /* an HTTP/1.1 GET: a stream's body is chunked */
    int64_t started_us;      /* the headers were complete */
    const struct route *route; /* NULL: no route (a static page) */
    struct http_req req;     /* matched and authorized from the headers */
    char path_copy[1024];    /* req's captured path segments point here */
    char names[HTTP_MAX_PARAMS][32];
};

static void conn_state_free(struct conn_state *cs)
{
    if (!cs) return;
    json_decref(cs->resp.json);
    free(cs->resp.raw);
    if (cs->resp.stream) sse_release(cs->resp.stream);
    free(cs->body);
    json_decref(cs->req.json);
    json_decref(cs->req.brand);
    json_decref(cs->req.store);
    free(cs);
}

/* req->lookup: the request's query arguments and headers as libmicrohttpd
 * parsed them (header names case-insensitively, as HTTP wants). */
static const char *mhd_lookup(void *conn, int kind, const char *name)
{
    return MHD_lookup_connection_value(
        conn, kind == HTTP_LOOKUP_HEADER ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND, name);
}

/* ---- routing ----------------------------------------------------------- */

/* Matches path against pattern, capturing {name} segments into req.
 * path_copy is a writable copy of the path that the captures point into. */
static int route_match(const char *pattern, char *path_copy, struct http_req *req,
                       char (*names)[32])
{
    size_t np = 0;
    const char *p = pattern;
    char *s = path_copy;
    while (*p && *s) {
        if (*p != '/' || *s != '/') return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        char *se = strchr(s, '/');
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || np == HTTP_MAX_PARAMS) return 0;
            snprintf(names[np], sizeof names[np], "%.*s", (int)(plen - 2), p + 1);
            req->param_name[np] = names[np];
            req->param_value[np] = s;
            np++;
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s) return 0;
    req->nparams = np;
    return 1;
}

/* Finds the route; *ret_path_matched is set when a pattern matched but not
 * the method (for 405). Captured values are NUL-terminated in place. */
static const struct route *route_find(const char *method, const char *path, char *path_copy,
                                      size_t cap, char (*names)[32], struct http_req *req,
                                      int *ret_path_matched)
{
    *ret_path_matched = 0;
    for (size_t i = 0; i < http_routes_count; i++) {
        snprintf(path_copy, cap, "%s", path);
        struct http_req tmp = *req;
        if (!route_match(http_routes[i].pattern, path_copy, &tmp, names)) continue;
        if (strcmp(http_routes[i].method, method) != 0) {
            *ret_path_matched = 1;
            continue;
        }
        /* terminate captured segments */
        for (size_t k = 0; k < tmp.nparams; k++) {
            char *v = (char *)tmp.param_value[k];
            char *slash = strchr(v, '/');
            if (slash) *slash = '\0';
        }
        *req = tmp;
        return &http_routes[i];
    }
    return NULL;
}

/* ---- authentication ---------------------------------------------------- */

static unsigned who_bit(enum principal_kind k)
{
    switch (k) {
    case PRINCIPAL_OPERATOR: return WHO_OPERATOR;
    case PRINCIPAL_STAFF: return WHO_STAFF;
    case PRINCIPAL_CUSTOMER: return WHO_CUSTOMER;
    case PRINCIPAL_SCANNER: return WHO_SCANNER;
    case PRINCIPAL_DISPLAY: return WHO_DISPLAY;
    case PRINCIPAL_POS: return WHO_POS;
    default: return 0;
    }
}

/* 0 with req->who set (kind NONE when no header), or a problem filled. */
static int authenticate(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *h = req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h) return 0;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        resp_problem(resp, 401, "Authorization must be \"Bearer <token>\"");
        return -1;
    }
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    size_t n = strlen(tok);
    if (n < 16 || n > 256) {
        resp_problem(resp, 401, "the bearer token is not valid");
        return -1;
    }
    char hash[TOKEN_HASH_MAX];
    token_hash(tok, hash);
    int rc = app->st->ops->token_lookup(app->st, hash, time_now_us(), &req->who);
    if (rc == SK_ENOTFOUND) {
        resp_problem(resp, 401, "the bearer token is not valid, expired or was revoked");
        return -1;
    }
    if (rc) {
        resp_store_error(resp, rc, "token");
        return -1;
    }
    return 0;
}

static int authorize(struct app *app, const struct route *r, struct http_req *req,
                     struct http_resp *resp)
{
    if (authenticate(app, req, resp)) return -1;
    if (r->who & WHO_PUBLIC) return 0;
    if (req->who.kind == PRINCIPAL_NONE) {
        resp_problem(resp, 401, "this endpoint needs \"Authorization: Bearer <token>\"");
        return -1;
    }
    if (!(r->who & who_bit(req->who.kind))) {
        resp_problem(resp, 403, "%s token may not call %s %s",
                     req->who.kind == PRINCIPAL_OPERATOR   ? "an operator"
                     : req->who.kind == PRINCIPAL_STAFF    ? "a staff"
                     : req->who.kind == PRINCIPAL_CUSTOMER ? "a customer"
                     : req->who.kind == PRINCIPAL_SCANNER  ? "a scanner"
                     : req->who.kind == PRINCIPAL_POS      ? "a point-of-sale"
                                                           : "a display",
                     r->method, r->pattern);
        return -1;
    }
    return 0;
}

/* ---- static files ------------------------------------------------------ */

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot) return "application/octet-stream";
    if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".svg")) return "image/svg+xml";
    if (!strcmp(dot, ".png")) return "image/png";
    if (!strcmp(dot, ".json")) return "application/json";
    if (!strcmp(dot, ".ico")) return "image/x-icon";
    return "application/octet-stream";
}

/* Pages by path; anything else under /static/. */
static const struct {
    const char *path;
    const char *file;
} static_pages[] = {
    {"/", "index.html"},
    {"/counter", "counter.html"},
    {"/me", "me.html"},
    {"/console", "console.html"},
    {"/favicon.ico", "favicon.ico"},
    {"/reset", "reset.html"},
    /* the API as a contract: the OpenAPI document and its reference page,
     * rendered by Redoc from npm (web/package.json), served from the tree */
    {"/openapi.json", "openapi.json"},
    {"/docs/api", "api.html"},
    {"/static/vendor/redoc.standalone.js", "node_modules/redoc/bundles/redoc.standalone.js"},
};

#define PAGE_NOT_FOUND "404.html"

/* Loads web/<rel> into resp with status; -1 when it cannot be read. */
static int static_file(struct app *app, const char *rel, int status, struct http_resp *resp)
{
    char full[512];
    snprintf(full, sizeof full, "%s/%s", app->cfg.web_dir, rel);
    FILE *f = fopen(full, "rb");
    if (!f) return -1;
    struct stat sb;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > STATIC_MAX) {
        fclose(f);
        return -1;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)sb.st_size) {
        free(buf);
        return -1;
    }
    resp->status = status;
    resp->raw = buf;
    resp->raw_len = n;
    resp->content_type = mime_of(rel);
    return 0;
}

static int serve_static(struct app *app, const char *path, struct http_resp *resp)
{
    char rel[256] = "";
    for (size_t i = 0; i < sizeof static_pages / sizeof static_pages[0]; i++)
        if (strcmp(path, static_pages[i].path) == 0)
            snprintf(rel, sizeof rel, "%s", static_pages[i].file);
    /* the public notice of a store, for the sign at the door: /stores/{id};
     * for a store that does not exist the page says so, with status 404 */
    int status = 200;
    if (!rel[0] && strncmp(path, "/stores/", 8) == 0 && id_is_plausible(path + 8)) {
        json_t *store = NULL;
        if (app->st->ops->store_get(app->st, NULL, path + 8, &store) == SK_ENOTFOUND) status = 404;
        json_decref(store);
        snprintf(rel, sizeof rel, "store.html");
    }
    if (!rel[0] && strncmp(path, "/static/", 8) == 0 && strlen(path) < 200 &&
        !strstr(path, "..") && !strstr(path, "//"))
        snprintf(rel, sizeof rel, "%s", path + 1);
    if (!rel[0]) return -1;
    return static_file(app, rel, status, resp);
}

/* ---- framing ----------------------------------------------------------- */

/* What the headers say about the body's framing (libmicrohttpd 0.9.75 reads
 * the first Content-Length and lets Transfer-Encoding win without a word). */
struct framing {
    unsigned n_length;        /* Content-Length headers */
    unsigned n_encoding;      /* Transfer-Encoding headers */
    int bad_length;           /* a Content-Length that is not a plain number */
    int bad_encoding;         /* a Transfer-Encoding other than chunked */
    unsigned long long length;
    int conflicting;          /* two Content-Length values that differ */
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (!value) value = "";
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        const char *p = value;
        while (*p == ' ' || *p == '\t') p++;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (*p < '0' || *p > '9' || *end || errno) f->bad_length = 1;
        if (f->n_length && v != f->length) f->conflicting = 1;
        f->length = v;
        f->n_length++;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        if (strcasecmp(value, "chunked") != 0) f->bad_encoding = 1;
        f->n_encoding++;
    }
    return MHD_YES;
}

/* 0, or a 400 problem for framing two parsers could read differently. */
static int check_framing(struct MHD_Connection *conn, struct framing *f, struct http_resp *resp)
{
    memset(f, 0, sizeof *f);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, f);
    if (f->n_length && f->n_encoding) {
        resp_problem(resp, 400, "a request may not carry both Transfer-Encoding and "
                                "Content-Length: send one of them");
        return -1;
    }
    if (f->n_length > 1) {
        resp_problem(resp, 400, "%s: send Content-Length once",
                     f->conflicting ? "the request has two different Content-Length values"
                                    : "the request repeats Content-Length");
        return -1;
    }
    if (f->bad_length) {
        resp_problem(resp, 400, "Content-Length must be a number of bytes");
        return -1;
    }
    if (f->n_encoding > 1 || f->bad_encoding) {
        resp_problem(resp, 400, "the only Transfer-Encoding accepted is a single \"chunked\"");
        return -1;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The request target as the client sent it, before libmicrohttpd decodes
 * it (which cuts a path at %00 and keeps a stray % as it is). Returns NULL
 * when it is well formed, else why not. */
static const char *target_defect(const char *uri)
{
    for (const char *p = uri; *p; p++) {
        if (*p != '%') continue;
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (hi < 0 || lo < 0)
            return "the address has a % that is not followed by two hexadecimal digits";
        if (hi == 0 && lo == 0) return "the address contains an encoded NUL (%00)";
        p += 2;
    }
    return NULL;
}

/* The marker *con_cls holds for a request whose target is malformed; it is
 * answered 400 when its headers are complete (nothing to free). */
static char bad_target_marker[] = "bad-target";

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    if (!uri) return NULL;
    if (target_defect(uri)) return bad_target_marker;
    /* libmicrohttpd 0.9.75 hands over the request line's target ending at
     * the space before the version, which it has overwritten with NUL: the
     * version follows at once. Anything else there means a NUL byte inside
     * the target, which would otherwise be answered as the path before it. */
    const char *end = uri + strlen(uri);
    if (strncmp(end + 1, "HTTP/", 5) != 0) return bad_target_marker;
    return NULL;
}

/* ---- dispatch ---------------------------------------------------------- */

/* From the headers alone: framing, the route, the caller, their scope and
 * the body limit. Fills resp when the request is refused (its body is then
 * never read); otherwise cs->route (NULL for a page) and cs->limit are set. */
static void precheck(struct app *app, struct MHD_Connection *conn, struct conn_state *cs,
                     struct http_resp *resp)
{
    struct http_req *req = &cs->req;
    struct framing f;
    if (check_framing(conn, &f, resp)) return;
    if (strlen(req->path) >= sizeof cs->path_copy) {
        resp_problem(resp, 404, "no such resource");
        return;
    }
    int path_matched;
    const struct route *r = route_find(req->method, req->path, cs->path_copy,
                                       sizeof cs->path_copy, cs->names, req, &path_matched);
    if (!r) {
        if (path_matched) {
            resp_problem(resp, 405, "%s is not supported on %s", req->method, req->path);
            return;
        }
        if ((!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) &&
            strncmp(req->path, "/v1/", 4) != 0 && strcmp(req->path, "/v1") != 0) {
            /* a page: served when the request is complete; it takes no body */
            cs->limit = 0;
            if (f.n_encoding || f.length > 0)
                resp_problem(resp, 413, "a page request takes no body");
            return;
        }
        resp_problem(resp, 404, "no such resource: %s %s", req->method, req->path);
        return;
    }
    cs->counted_as = (size_t)(r - http_routes); /* refused or not, it counts here */
    if (authorize(app, r, req, resp)) return;
    cs->route = r;
    cs->limit = route_body_limit(r, &app->cfg);
    if (f.n_length && f.length > cs->limit) {
        resp_problem(resp, 413, "the request body is over this endpoint's limit of %zu bytes",
                     cs->limit);
        return;
    }
    http_scope(app, r, req, resp); /* {brand}, {store}, grants, a closed store */
}

/* With the body complete: parse it and call the route's handler (or serve
 * a page). */
static void dispatch(struct app *app, struct conn_state *cs, struct http_resp *resp)
{
    struct http_req *req = &cs->req;
    const struct route *r = cs->route;
    if (cs->too_big) {
        if (r)
            resp_problem(resp, 413, "the request body is over this endpoint's limit of %zu bytes",
                         cs->limit);
        else resp_problem(resp, 413, "a page request takes no body");
        return;
    }
    if (!r) {
        if (serve_static(app, req->path, resp) == 0) return;
        /* a person followed a link: a page that says so and leads home */
        if (static_file(app, PAGE_NOT_FOUND, 404, resp) == 0) return;
        resp_problem(resp, 404, "no such resource: %s %s", req->method, req->path);
        return;
    }
    http_call(app, r, req, cs->body, cs->len, resp);
}

/* A worker's job: the handler, then the connection is let go on again
 * (libmicrohttpd calls on_request once more, which sends the answer). */
static void run_job(struct workq_job *job)
{
    struct conn_state *cs = (struct conn_state *)((char *)job - offsetof(struct conn_state, job));
    dispatch(cs->app, cs, &cs->resp);
    cs->phase = PHASE_DONE;
    MHD_resume_connection(cs->conn);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_resp *resp,
                                     int chunked)
{
    char *body;
    size_t len;
    if (resp->stream) {
        struct MHD_Response *r = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 4096, sse_read, resp->stream, sse_release);
        if (!r) {
            sse_release(resp->stream);
            return MHD_NO;
        }
        sse_attach(resp->stream, conn, chunked);
        resp->stream = NULL;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (resp->json) {
        body = json_dumps(resp->json, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!body) return MHD_NO;
        len = strlen(body);
    } else {
        body = resp->raw ? resp->raw : strdup("");
        len = resp->raw ? resp->raw_len : 0;
        resp->raw = NULL;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (resp->status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (resp->location[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    if (resp->retry_after[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, resp->retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends resp (no body for HEAD), logs the request's one line, frees resp. */
static enum MHD_Result finish(struct MHD_Connection *conn, struct conn_state *cs,
                              const char *method, const char *url, struct http_resp *resp)
{
    if (resp->stream) {
        /* events are small writes that must leave at once, not wait for
         * the previous one's acknowledgement (Nagle) */
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        int one = 1, sndbuf = SSE_SNDBUF;
        if (fi) setsockopt(fi->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* and a display that stops reading holds that much kernel memory
         * (the kernel doubles it), not the megabytes TCP would grow to */
        if (fi) setsockopt(fi->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        /* a stream is quiet between keep-alives: not the idle timeout of a
         * request still being sent */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)STREAM_TIMEOUT_S);
    }
    if (!strcmp(method, "HEAD")) {
        free(resp->raw);
        resp->raw = NULL;
        json_decref(resp->json);
        resp->json = NULL;
    }
    enum MHD_Result ret = send_response(conn, resp, cs->chunked);

    char status[8], ms[24];
    snprintf(status, sizeof status, "%d", resp->status);
    snprintf(ms, sizeof ms, "%.2f", (double)(time_now_us() - cs->started_us) / 1000.0);
    /* a one-time link's token (sk_...) travels in its path: never logged */
    char redacted[256];
    const char *at = strstr(url, "/sk_");
    if (at) {
        const char *end = strchr(at + 1, '/');
        int keep = at - url < 120 ? (int)(at - url) : 120;
        snprintf(redacted, sizeof redacted, "%.*s/{token}%.100s", keep, url, end ? end : "");
        url = redacted;
    }
    log_kv(resp->status >= 500 ? LOG_ERROR : LOG_INFO, "http.request", "method", method, "path",
           url, "status", status, "ms", ms, NULL);
    metrics_observe(cs->app->metrics, cs->counted_as, resp->status,
                    time_now_us() - cs->started_us);
    json_decref(resp->json);
    free(resp->raw);
    resp->json = NULL;
    resp->raw = NULL;
    return ret;
}

static void client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
}

/* Called (1) when the headers are complete, (2) for each piece of the body,
 * (3) once more when the body is complete. A request refused at (1) gets its
 * answer there and libmicrohttpd closes the connection without reading the
 * body (no memory, no time spent on it). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct app *app = cls;
    struct conn_state *cs = *con_cls;
    if (!cs || *con_cls == (void *)bad_target_marker) {
        int bad_target = *con_cls == (void *)bad_target_marker;
        watch_set(app, conn, 0); /* the headers are in */
        *con_cls = NULL;
        cs = calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        cs->job.fn = run_job;
        *con_cls = cs;
        cs->started_us = time_now_us();
        cs->chunked = version && !strcmp(version, MHD_HTTP_VERSION_1_1) && !strcmp(method, "GET");
        cs->app = app;
        cs->conn = conn;
        cs->counted_as = http_routes_count; /* no route, until one matches */
        cs->req.method = method;
        cs->req.path = url;
        cs->req.conn = conn;
        cs->req.lookup = mhd_lookup;
        client_address(conn, cs->req.remote, sizeof cs->req.remote);
        struct http_resp resp = {0};
        if (bad_target) {
            resp_problem(&resp, 400, "the request's address is malformed: a NUL byte "
                                     "(also as %%00) is never accepted, and a %% must be "
                                     "followed by two hexadecimal digits");
        } else {
            precheck(app, conn, cs, &resp);
        }
        if (resp.status) return finish(conn, cs, method, url, &resp);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (app->cfg.body_timeout_s &&
            time_now_us() - cs->started_us > (int64_t)app->cfg.body_timeout_s * 1000000) {
            /* a body trickling in: the connection goes (no answer can be
             * queued before the body is complete) */
            log_kv(LOG_WARN, "http.body_timeout", "method", method, "remote", cs->req.remote,
                   NULL);
            return MHD_NO;
        }
        if (cs->too_big || cs->len + n > cs->limit) {
            /* past the limit (a chunked body, or one longer than announced):
             * the rest is read and dropped, then answered 413 */
            cs->too_big = 1;
            free(cs->body);
            cs->body = NULL;
            cs->len = cs->cap = 0;
            return MHD_YES;
        }
        if (cs->len + n > cs->cap) {
            size_t cap = cs->cap ? cs->cap : 4096;
            while (cap < cs->len + n) cap *= 2;
            if (cap > cs->limit) cap = cs->limit;
            char *nb = realloc(cs->body, cap);
            if (!nb) return MHD_NO;
            cs->body = nb;
            cs->cap = cap;
        }
        memcpy(cs->body + cs->len, upload_data, n);
        cs->len += n;
        return MHD_YES;
    }

    switch (cs->phase) {
    case PHASE_DONE: return finish(conn, cs, method, url, &cs->resp);
    case PHASE_QUEUED: return MHD_YES; /* not before the worker resumes it */
    case PHASE_BODY: break;
    }
    if (!cs->route) {
        /* a page: a file read, no worker needed */
        dispatch(app, cs, &cs->resp);
        return finish(conn, cs, method, url, &cs->resp);
    }
    /* the body is in: a worker runs the handler while this thread serves
     * other connections; suspended first, so its resume cannot come early */
    struct workq *lane = cs->route->lane == LANE_SLOW ? app->lane_slow : app->lane_fast;
    cs->phase = PHASE_QUEUED;
    MHD_suspend_connection(conn);
    int rc = workq_submit(lane, &cs->job);
    if (rc) {
        if (rc != SK_EBUSY)
            resp_problem(&cs->resp, 503, "the server is shutting down; try again in a few seconds");
        else if (lane == app->lane_slow)
            resp_problem(&cs->resp, 503, "too many people are signing in or up, or importing, "
                                         "at this moment; try again in a few seconds");
        else
            resp_problem(&cs->resp, 503, "the server has more requests waiting than it "
                                         "takes at once; try again in a few seconds");
        snprintf(cs->resp.retry_after, sizeof cs->resp.retry_after, "2");
        cs->phase = PHASE_DONE;
        MHD_resume_connection(conn);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    watch_set(cls, conn, time_now_us()); /* kept alive: the next request's headers */
    if (*con_cls != (void *)bad_target_marker) conn_state_free(*con_cls);
    *con_cls = NULL;
}

/* printf-like (clang's -Wformat-nonliteral wants it said) */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
                                                             va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    /* a client that left (a display closed, a phone lost its network) is
     * everyday news, not a warning */
    int left = strstr(msg, "no longer available") || strstr(msg, "forcibly closed by remote peer");
    log_kv(left ? LOG_DEBUG : LOG_WARN, "http.server", "message", msg, NULL);
}

/* ---- lifecycle --------------------------------------------------------- */

int app_init(struct app *app, struct store *st, const struct app_config *cfg)
{
    memset(app, 0, sizeof *app);
    app->st = st;
    app->cfg = *cfg;
    /* one node alone (SQLite) counts in memory; nodes sharing a PostgreSQL
     * database count in it, so that limits hold across them (limiter.h) */
    struct store *shared = st && !strcmp(st->ops->name, "postgresql") ? st : NULL;
    const int64_t minute = 60 * 1000000LL, hour = 60 * minute;
    int rc = limiter_init(&app->rl_addr, "login-addr", 30, minute, 4096, shared);
    if (!rc) rc = limiter_init(&app->rl_account, "login-account", 5, 15 * minute, 4096, shared);
    if (!rc)
        rc = limiter_init(&app->rl_invite, "invite", INVITES_PER_HOUR, hour, 1024, shared);
    if (!rc)
        rc = limiter_init(&app->rl_signup, "signup",
                          cfg->signups_per_hour ? cfg->signups_per_hour : 1, hour, 1024, shared);
    if (!rc)
        rc = limiter_init(&app->rl_reset_addr, "reset-addr", RESETS_PER_ADDR_HOUR, hour, 1024,
                          shared);
    if (!rc)
        rc = limiter_init(&app->rl_reset_email, "reset-email", RESETS_PER_EMAIL_HOUR, hour, 1024,
                          shared);
    if (!rc) rc = limiter_init(&app->rl_pwcheck, "pwcheck", 5, 15 * minute, 1024, shared);
    if (!rc)
        rc = limiter_init(&app->rl_pairing, "pairing", PAIRINGS_PER_MINUTE, minute, 1024, shared);
    if (rc) return rc;
    /* as many password hashes at once as there are cores, a short queue */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned slots = cores > 0 && cores < 64 ? (unsigned)cores : 2;
    if (gate_init(&app->pw_gate, slots, 4 * slots)) return SK_ENOMEM;
    pthread_mutex_init(&app->seen_mu, NULL);
    pthread_mutex_init(&app->watch_mu, NULL);
    if (strmap_init(&app->seen)) return SK_ENOMEM;
    /* GET /metrics labels each route "METHOD pattern", as `shopkeeper routes` prints it */
    char(*labels)[160] = calloc(http_routes_count, sizeof *labels);
    const char **lp = calloc(http_routes_count, sizeof *lp);
    rc = labels && lp ? 0 : SK_ENOMEM;
    for (size_t i = 0; !rc && i < http_routes_count; i++) {
        snprintf(labels[i], sizeof labels[i], "%s %s", http_routes[i].method,
                 http_routes[i].pattern);
        lp[i] = labels[i];
    }
    if (!rc) rc = metrics_new(lp, http_routes_count, &app->metrics);
    free(labels);
    free(lp);
    return rc;
}

void app_release(struct app *app)
{
    if (!app) return;
    struct limiter *limits[] = {&app->rl_addr,     &app->rl_account,    &app->rl_invite,
                                &app->rl_signup,   &app->rl_reset_addr, &app->rl_reset_email,
                                &app->rl_pwcheck,  &app->rl_pairing};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) limiter_release(limits[i]);
    size_t pos;
    for (struct strmap_entry *e = strmap_first(&app->seen, &pos); e;
         e = strmap_next(&app->seen, &pos, e))
        free(e->value);
    strmap_release(&app->seen);
    pthread_mutex_destroy(&app->seen_mu);
    gate_release(&app->pw_gate);
    pthread_mutex_destroy(&app->watch_mu);
    metrics_free(app->metrics);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ret, int *ret_v6)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon) return SK_EINVAL;
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof host) return SK_EINVAL;
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535) return SK_EINVAL;
    memset(ret, 0, sizeof *ret);
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ret;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) return SK_EINVAL;
        *ret_v6 = 1;
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ret;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (hlen == 0) a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) return SK_EINVAL;
    *ret_v6 = 0;
    return 0;
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int http_serve(struct app *app)
{
    struct sockaddr_storage addr;
    int v6 = 0;
    if (parse_listen(app->cfg.listen, &addr, &v6)) {
        log_kv(LOG_ERROR, "serve.listen", "error", "bad --listen, expected ADDR:PORT", "listen",
               app->cfg.listen, NULL);
        return SK_EINVAL;
    }
    /* Event-driven: a few network threads, each an epoll loop over its
     * share of the connections; handlers on the lanes' workers; an idle
     * display stream suspended (no thread, no poll entry) until an event. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = app->cfg.threads ? app->cfg.threads
                                        : cores > 0 && cores < 64 ? (unsigned)cores : 2;
    unsigned workers = app->cfg.workers ? app->cfg.workers : 8;
    /* the slow lane holds as many as the password gate lets in or queues
     * (pw.c), and queues a few more: a flood past that is a 503 at once */
    unsigned slow = app->pw_gate.slots + app->pw_gate.max_waiting;
    if (workq_new(workers, 4096, &app->lane_fast) ||
        workq_new(slow, app->pw_gate.slots, &app->lane_slow)) {
        workq_free(app->lane_fast);
        app->lane_fast = NULL;
        log_kv(LOG_ERROR, "serve.listen", "error", "cannot start the worker threads", NULL);
        return SK_ENOMEM;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    /* every display holds a socket: allow as many as the hard limit does */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    unsigned max_conn = app->cfg.max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        max_conn + 64 > rl.rlim_cur) {
        /* a connection past the descriptor limit would fail in accept():
         * refuse it cleanly instead, and say so once */
        max_conn = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
        char want[24], got[24];
        snprintf(want, sizeof want, "%u", app->cfg.max_connections);
        snprintf(got, sizeof got, "%u", max_conn);
        log_kv(LOG_WARN, "serve.limits", "message",
               "--max-connections is above the open-file limit (ulimit -n); lowered",
               "asked", want, "using", got, NULL);
    }
    if (v6) flags |= MHD_USE_IPv6;
    /* The logger comes first: MHD reports through it only from there on. */
    /* Bounds on what one client can hold: connections per address, and a
     * short idle timeout while a request's headers or body arrive (a
     * stream lifts it for its own connection, finish()). Each connection's
     * buffer is 16 KiB, not libmicrohttpd's 32: ten thousand open display
     * streams hold 85 MB less, and a request's headers still have ample
     * room (larger ones get its 431). */
    unsigned idle_s = app->cfg.header_timeout_s ? app->cfg.header_timeout_s : 10;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, &on_request, app, MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, app,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, app,
        MHD_OPTION_URI_LOG_CALLBACK, &on_uri, app, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
        MHD_OPTION_NOTIFY_CONNECTION, &on_connection, app,
        MHD_OPTION_CONNECTION_LIMIT, max_conn,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, app->cfg.max_per_address, MHD_OPTION_END);
    if (!d) {
        log_kv(LOG_ERROR, "serve.listen", "error", "cannot listen (address in use?)", "listen",
               app->cfg.listen, NULL);
        workq_free(app->lane_fast);
        workq_free(app->lane_slow);
        app->lane_fast = app->lane_slow = NULL;
        return SK_EIO;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    char nthreads[16], nworkers[16];
    snprintf(nthreads, sizeof nthreads, "%u", threads);
    snprintf(nworkers, sizeof nworkers, "%u+%u", workers, slow);
    log_kv(LOG_INFO, "serve.ready", "listen", app->cfg.listen, "db", app->cfg.db_path,
           "network_threads", nthreads, "workers", nworkers, NULL);
    for (unsigned tick = 1; !stop_requested; tick++) {
        usleep(SSE_TICK_MS * 1000);
        size_t cut = watch_headers(app, time_now_us());
        if (cut) {
            char n[24];
            snprintf(n, sizeof n, "%zu", cut);
            log_kv(LOG_WARN, "http.header_timeout", "closed", n, NULL);
        }
        if (app->hub) sse_tick(app->hub); /* keep-alives: a share of the streams */
    }
    log_kv(LOG_INFO, "serve.stopping", NULL);
    /* Nothing may stay suspended when the daemon stops: streams end (their
     * connections resumed), the workers finish what they hold (each resumes
     * its connection), and a request arriving after that is a 503.
     * (MHD_quiesce_daemon would stop new connections first, but 0.9.75
     * panics on it with a thread pool over epoll.) */
    if (app->hub) sse_hub_shutdown(app->hub);
    workq_stop(app->lane_fast);
    workq_stop(app->lane_slow);
    MHD_stop_daemon(d);
    workq_free(app->lane_fast);
    workq_free(app->lane_slow);
    app->lane_fast = app->lane_slow = NULL;
    return 0;
}
