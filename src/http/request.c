/*
 * request.c — what a handler uses of its request and response, and the
 * steps of a request that need its headers and body but no socket.
 *
 * Split from server.c so that the route handlers can be driven in process
 * (fuzz/fuzz_routes.c) by exactly the code the server runs: server.c owns
 * the connection, framing, routing and the bearer token; from there on a
 * request is a struct http_req whose query arguments and headers are
 * reached only through req->lookup, and http_scope() and http_call() take
 * it the rest of the way to the handler.
 * Invariants:
 *  - nothing here includes microhttpd.h or touches a descriptor;
 *  - a response with status >= 400 is always a problem document with a
 *    detail (resp_problem), whose text is valid UTF-8 whatever the client
 *    sent;
 *  - http_call() always leaves a status in resp (500 when a handler gave
 *    none).
 */
#include "http/http.h"
#include "core/choices.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROBLEM_BASE "https://shopkeeper.example/problems/"

/* ---- request helpers --------------------------------------------------- */

const char *req_param(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->param_name[i], name) == 0) return req->param_value[i];
    return NULL;
}

/* A request without a lookup (built by hand, e.g. in a test) has no query
 * arguments and no headers: NULL, as for an argument the client left out. */
const char *req_query(const struct http_req *req, const char *name)
{
    return req->lookup ? req->lookup(req->conn, HTTP_LOOKUP_QUERY, name) : NULL;
}

const char *req_header(const struct http_req *req, const char *name)
{
    return req->lookup ? req->lookup(req->conn, HTTP_LOOKUP_HEADER, name) : NULL;
}

json_t *req_object(struct http_req *req, struct http_resp *resp)
{
    if (!req->json) {
        resp_problem(resp, 400, "this request needs a JSON object body");
        return NULL;
    }
    if (!json_is_object(req->json)) {
        resp_problem(resp, 400, "the body must be a JSON object");
        return NULL;
    }
    return req->json;
}

int req_page(struct http_req *req, struct http_resp *resp, struct page *ret)
{
    struct page pg = {NULL, HTTP_PAGE_DEFAULT};
    const char *limit = req_query(req, "limit");
    if (limit) {
        char *end;
        errno = 0;
        long v = strtol(limit, &end, 10);
        if (errno || *end || end == limit || v < 1 || v > HTTP_PAGE_MAX) {
            resp_problem(resp, 422, "limit: must be a whole number from 1 to %d",
                         HTTP_PAGE_MAX);
            return -1;
        }
        pg.limit = (int)v;
    }
    const char *after = req_query(req, "after");
    if (after) {
        if (!id_is_plausible(after)) {
            resp_problem(resp, 422, "after: not a cursor this API returned");
            return -1;
        }
        pg.after = after;
    }
    *ret = pg;
    return 0;
}

const char *body_text_opt(json_t *obj, const char *field, size_t max, struct http_resp *resp,
                          int *ret_bad)
{
    json_t *v = json_object_get(obj, field);
    *ret_bad = 0;
    if (!v || json_is_null(v)) return NULL;
    const char *s = json_string_value(v);
    if (!s || !text_is_clean(s, max)) {
        resp_problem(resp, 422, "%s: must be text of 1-%zu characters", field, max);
        *ret_bad = 1;
        return NULL;
    }
    return s;
}

const char *body_text(json_t *obj, const char *field, size_t max, struct http_resp *resp)
{
    int bad;
    const char *s = body_text_opt(obj, field, max, resp, &bad);
    if (!s && !bad) resp_problem(resp, 422, "%s: required", field);
    return s;
}

int body_email(json_t *obj, const char *field, char ret[EMAIL_BUF], struct http_resp *resp)
{
    const char *email = body_text(obj, field, EMAIL_MAX, resp);
    if (!email) return -1;
    if (!email_normalize(email, ret, EMAIL_BUF)) {
        resp_problem(resp, 422, "%s: not an email address", field);
        return -1;
    }
    return 0;
}

/* ---- responses --------------------------------------------------------- */

void resp_json(struct http_resp *resp, int status, json_t *body)
{
    json_decref(resp->json);
    resp->status = status;
    resp->json = body;
    resp->content_type = "application/json";
}

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

static const char *status_slug(int status)
{
    switch (status) {
    case 400: return "malformed";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not-found";
    case 405: return "method-not-allowed";
    case 409: return "conflict";
    case 413: return "too-large";
    case 415: return "unsupported-media-type";
    case 422: return "invalid-field";
    case 429: return "rate-limited";
    default: return "server-error";
    }
}

/* Replaces each byte that does not begin a valid UTF-8 sequence with '?'.
 * A detail may quote what the client sent (a path, a key) or be cut short
 * inside a character; JSON strings must be valid UTF-8, or the problem
 * document could not be built and the client would get an empty body. */
static void utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned c = p[0];
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        uint32_t cp = c & (len == 2 ? 0x1fu : len == 3 ? 0x0fu : 0x07u);
        size_t i = 1;
        while (i < len && (p[i] & 0xc0) == 0x80) cp = (cp << 6) | (p[i++] & 0x3fu);
        int ok = len && i == len;
        if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ok = 0;
        if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ok = 0;
        if (ok) p += len;
        else *p++ = '?';
    }
}

void resp_problem(struct http_resp *resp, int status, const char *fmt, ...)
{
    char detail[1024], type[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    utf8_scrub(detail);
    snprintf(type, sizeof type, PROBLEM_BASE "%s", status_slug(status));
    resp_json(resp, status,
              json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", status_title(status),
                        "status", status, "detail", detail));
    resp->content_type = "application/problem+json";
}

void resp_store_error(struct http_resp *resp, int rc, const char *what)
{
    switch (rc) {
    case SK_ENOTFOUND: resp_problem(resp, 404, "no such %s", what); break;
    case SK_ECONFLICT: resp_problem(resp, 409, "this %s already exists", what); break;
    case SK_EFORBIDDEN: resp_problem(resp, 403, "not allowed for this %s", what); break;
    case SK_EINVAL: resp_problem(resp, 422, "invalid %s", what); break;
    default:
        log_kv(LOG_ERROR, "store.error", "what", what, "error", sk_strerror(rc), NULL);
        resp_problem(resp, 500, "the %s could not be processed; the error is logged", what);
    }
}

int who_is_store_key(const struct http_req *req, enum principal_kind k)
{
    return req->who.kind == k && req->store_id && strcmp(req->who.store_id, req->store_id) == 0;
}

int who_is_brand_staff(const struct http_req *req, unsigned roles)
{
    if (req->who.kind != PRINCIPAL_STAFF || !req->brand_id) return 0;
    if (strcmp(req->who.brand_id, req->brand_id) != 0) return 0;
    return grants_allow(req->who.grants, req->who.ngrants, roles, req->store_id);
}

int who_may_act_at_store(const struct http_req *req, unsigned roles, const char *store_id)
{
    if (req->who.kind == PRINCIPAL_OPERATOR) return 1;
    if (req->who.kind != PRINCIPAL_STAFF || !req->brand_id ||
        strcmp(req->who.brand_id, req->brand_id) != 0)
        return 0;
    return grants_allow(req->who.grants, req->who.ngrants, roles, store_id);
}


/* ---- scope and grants -------------------------------------------------- */

/* Appends "a or b" for the role bits of mask. */
static void roles_words(unsigned mask, char *buf, size_t len)
{
    size_t off = 0;
    int first = 1;
    buf[0] = '\0';
    for (int i = 0; i < ROLE_COUNT && off < len; i++) {
        if (!(mask & (1u << i))) continue;
        off += (size_t)snprintf(buf + off, len - off, "%s%s", first ? "" : " or ", role_names[i]);
        first = 0;
    }
}

/* A staff member's grants must cover the request: one grant with an
 * accepted role whose scope holds the request's store (core/roles.h). The
 * refusal names the role and the scope missing, and what they hold. */
static int authorize_grants(const struct route *r, struct http_req *req, struct http_resp *resp)
{
    if (req->who.kind != PRINCIPAL_STAFF || (r->who & WHO_PUBLIC)) return 0;
    /* about themselves (who am I, sign out, their password): no grant needed,
     * so a person whose last role ended can still see so and sign out */
    if (!req->brand_id && !req->store_id) return 0;
    if (grants_allow(req->who.grants, req->who.ngrants, r->roles, req->store_id)) return 0;
    char need[96], held[256];
    char roles[80];
    roles_words(r->roles, roles, sizeof roles);
    if (r->roles) snprintf(need, sizeof need, "the role %s", roles);
    else snprintf(need, sizeof need, "a staff role");
    size_t off = 0;
    held[0] = '\0';
    for (size_t i = 0; i < req->who.ngrants && off < sizeof held; i++) {
        const struct staff_grant *g = &req->who.grants[i];
        const char *where = !g->store_id[0]  ? "the whole brand"
                            : !req->store_id ? "a store"
                            : !strcmp(g->store_id, req->store_id) ? "this store"
                                                                  : "another store";
        off += (size_t)snprintf(held + off, sizeof held - off, "%s%s at %s", i ? ", " : "",
                                role_name(g->role), where);
    }
    const char *store_name =
        req->store ? json_string_value(json_object_get(req->store, "name")) : NULL;
    if (store_name)
        resp_problem(resp, 403, "%s %s needs %s at the store \"%s\"; you hold %s",
                     r->method, r->pattern, need, store_name, held[0] ? held : "no role");
    else
        resp_problem(resp, 403, "%s %s needs %s in this brand; you hold %s", r->method,
                     r->pattern, need, held[0] ? held : "no role");
    return -1;
}

/* Remembers when a store key was last used: in memory at every request,
 * written to the store at most once a minute per key. */
static void note_key_seen(struct app *app, const struct http_req *req)
{
    enum principal_kind k = req->who.kind;
    if (k != PRINCIPAL_SCANNER && k != PRINCIPAL_DISPLAY && k != PRINCIPAL_POS) return;
    int64_t now = time_now_us();
    int write = 0;
    pthread_mutex_lock(&app->seen_mu);
    int64_t *last = strmap_get(&app->seen, req->who.id);
    if (!last) {
        last = malloc(sizeof *last);
        if (last && strmap_put(&app->seen, req->who.id, last)) {
            free(last);
            last = NULL;
        }
        if (last) *last = 0;
    }
    if (last && now - *last >= KEY_SEEN_EVERY_US) {
        *last = now;
        write = 1;
    }
    pthread_mutex_unlock(&app->seen_mu);
    if (write && app->st->ops->store_key_seen(app->st, req->who.id, now))
        log_kv(LOG_WARN, "store_key.seen", "error", "could not record last use", NULL);
}

/* Resolves {brand} and keeps staff and store keys inside their own brand. */
static int scope_brand(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *ref = req_param(req, "brand");
    if (!ref) return 0;
    if (!id_is_plausible(ref)) {
        resp_problem(resp, 404, "no such brand \"%.64s\"", ref);
        return -1;
    }
    int rc = app->st->ops->brand_get(app->st, ref, &req->brand);
    if (rc) {
        if (rc == SK_ENOTFOUND) resp_problem(resp, 404, "no such brand \"%s\"", ref);
        else resp_store_error(resp, rc, "brand");
        return -1;
    }
    req->brand_id = json_string_value(json_object_get(req->brand, "id"));
    enum principal_kind k = req->who.kind;
    if ((k == PRINCIPAL_STAFF || k == PRINCIPAL_SCANNER || k == PRINCIPAL_DISPLAY ||
         k == PRINCIPAL_POS) &&
        strcmp(req->who.brand_id, req->brand_id) != 0) {
        resp_problem(resp, 403, "this token belongs to another brand");
        return -1;
    }
    return 0;
}

/* Resolves {store}: its brand becomes the request's brand. Staff reach only
 * their brand's stores; a store key reaches only its own store. */
static int scope_store(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *ref = req_param(req, "store");
    if (!ref) return 0;
    int rc = id_is_plausible(ref) ? app->st->ops->store_get(app->st, NULL, ref, &req->store)
                                  : SK_ENOTFOUND;
    if (rc) {
        if (rc == SK_ENOTFOUND) resp_problem(resp, 404, "no such store \"%.64s\"", ref);
        else resp_store_error(resp, rc, "store");
        return -1;
    }
    req->store_id = json_string_value(json_object_get(req->store, "id"));
    const char *bid = json_string_value(json_object_get(req->store, "brand_id"));
    if (req->brand_id && strcmp(req->brand_id, bid) != 0) {
        resp_problem(resp, 404, "no such store \"%.64s\" in this brand", ref);
        return -1;
    }
    req->brand_id = bid;
    enum principal_kind k = req->who.kind;
    if (k == PRINCIPAL_STAFF && strcmp(req->who.brand_id, bid) != 0) {
        resp_problem(resp, 403, "this token belongs to another brand");
        return -1;
    }
    if ((k == PRINCIPAL_SCANNER || k == PRINCIPAL_DISPLAY || k == PRINCIPAL_POS) &&
        strcmp(req->who.store_id, req->store_id) != 0) {
        resp_problem(resp, 403, "this key belongs to another store");
        return -1;
    }
    return 0;
}


/* ---- the rest of a request, past its caller ---------------------------- */

int http_scope(struct app *app, const struct route *r, struct http_req *req,
               struct http_resp *resp)
{
    if (scope_brand(app, req, resp)) return -1;
    if (scope_store(app, req, resp)) return -1;
    if (authorize_grants(r, req, resp)) return -1;
    if (req->store && !json_is_null(json_object_get(req->store, "closed_at")) &&
        strcmp(req->method, "GET") != 0) {
        resp_problem(resp, 409, "the store \"%s\" is closed; nothing can be added or changed there",
                     json_string_value(json_object_get(req->store, "name")));
        return -1;
    }
    return 0;
}

void http_call(struct app *app, const struct route *r, struct http_req *req, const char *body,
               size_t len, struct http_resp *resp)
{
    note_key_seen(app, req);
    if (len > 0) {
        /* Bodies are JSON whatever the client called them (curl -d says
         * form-urlencoded); only multipart is surely something else. */
        const char *ct = req_header(req, "Content-Type");
        if (ct && strncasecmp(ct, "multipart/", 10) == 0) {
            resp_problem(resp, 415, "send the body as application/json");
            return;
        }
        /* a CSV import: the handler reads the text itself; CSV anywhere
         * else would be dropped unread, so it is refused instead */
        if (ct && strncasecmp(ct, "text/csv", 8) == 0) {
            if (r->takes != TAKES_CSV) {
                resp_problem(resp, 415, "this endpoint takes a JSON body (application/json), "
                                        "not text/csv: CSV is for POST "
                                        "/v1/brands/{brand}/items/import");
                return;
            }
            req->csv = body;
            req->csv_len = len;
            r->fn(app, req, resp);
            if (resp->status == 0) resp_problem(resp, 500, "the handler gave no answer");
            return;
        }
        json_error_t jerr;
        req->json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req->json) {
            resp_problem(resp, 400, "the body is not valid JSON (line %d, column %d): %s",
                         jerr.line, jerr.column, jerr.text);
            return;
        }
    }
    r->fn(app, req, resp);
    if (resp->status == 0) resp_problem(resp, 500, "the handler gave no answer");
}
