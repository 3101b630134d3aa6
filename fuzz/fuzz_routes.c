/*
 * fuzz_routes.c — libFuzzer harness: the real route handlers, in process.
 *
 * Each input is one request to one row of http_routes[], taken through the
 * same code as a request the server accepted: http_scope() ({brand},
 * {store}, staff grants, a closed store) and http_call() (Content-Type, the
 * JSON parse with duplicate keys refused or the CSV text, the handler), with
 * no socket: query arguments and headers come through req->lookup.
 *
 * An input:
 *   byte 0      the route (an index into the rows fuzzed, below)
 *   byte 1      bits 0-2: which caller among those the row allows;
 *               bit 3: one path parameter is the fuzzed string (line 4)
 *               instead of a seeded id; bits 4-5: which parameter
 *   line 1      the query string ("limit=5&after=..."), %-decoded as
 *               libmicrohttpd decodes it
 *   line 2      the Idempotency-Key header (empty: none)
 *   line 3      the Content-Type header (empty: none; the import route
 *               then takes text/csv, as its clients send)
 *   line 4      only with bit 3: the path parameter's value
 *   the rest    the body, at most the route's body limit
 * In the query line, the path parameter and the body, a placeholder such as
 * {{store}} becomes the seeded id of that name (brand, store, staff, key,
 * customer, device, visit, person, pairing, sku), and {{code}} the seeded
 * device's counter code of this moment: ids are random per run, and a
 * fuzzer could never guess them (corpus files use the placeholders).
 * Inputs the server could never hand to a handler are dropped: a NUL or %00
 * in the target, a '/' in a path parameter, a header with a NUL.
 *
 * The callers, seeded once at start-up through the handlers themselves into
 * a template database (temporary directory, SQLite, a master key of this
 * process): an operator; brand "fz-brand" with choices and a notice; a
 * store; its admin (brand-wide); a scanner, a display and a point-of-sale
 * key of that store; a shopper who is a member with recognition,
 * preferences and history granted, has a registered device, a person they
 * shop for and an open visit at the store; a catalogue item.
 *
 * Invariants checked (a violation is __builtin_trap()):
 *   - every answer has a status from 200 to 599;
 *   - every status >= 400 is a problem document with a non-empty "detail";
 *   - any other answer has a body (JSON that serializes, or raw bytes);
 *   - nothing leaks (LeakSanitizer, at exit and with -detect_leaks).
 *
 * Bounds: inputs over 8 KiB are dropped; the database is copied afresh
 * from the template every RESET_EVERY inputs, and after a request that
 * ended one of the seeded callers or their store (a sign-out, a closed
 * store, an erased shopper, ...), so it never grows without bound and the
 * seeded ids stay valid.
 *
 * Not fuzzed: GET /v1/stores/{store}/cards/stream, which hands its
 * connection to the display hub and answers only through libmicrohttpd
 * (sse_attach() needs a live connection; its handler's part is the same
 * recog_cards() as GET .../cards, which is fuzzed). Every other row is,
 * including the slow lane's (password hashing, imports, training,
 * exports): each is bounded by the route's body limit.
 */
#include "http/handlers.h"
#include "http/http.h"
#include "http/sse.h"
#include "service/recog.h"
#include "service/suggest_svc.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INPUT_MAX (8u * 1024)
#define RESET_EVERY 512
#define QUERY_MAX 16
#define SEED_PASSWORD "fuzz-password-1"

/* ---- the fuzzed request's query arguments and headers ------------------ */

struct fz_lookup {
    size_t nquery;
    char *qname[QUERY_MAX], *qvalue[QUERY_MAX];
    const char *idem;  /* Idempotency-Key, or NULL */
    const char *ctype; /* Content-Type, or NULL */
};

static const char *fz_lookup_fn(void *conn, int kind, const char *name)
{
    const struct fz_lookup *l = conn;
    if (kind == HTTP_LOOKUP_HEADER) {
        if (!strcasecmp(name, "Idempotency-Key")) return l->idem;
        if (!strcasecmp(name, "Content-Type")) return l->ctype;
        return NULL;
    }
    for (size_t i = 0; i < l->nquery; i++) /* the first, as libmicrohttpd answers */
        if (!strcmp(l->qname[i], name)) return l->qvalue[i];
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) in place ('+' a space, %XX a byte) into a C string; -1
 * for what the server refuses before any handler: %00, a stray %. */
static int url_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            s[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
            s[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return 0;
}

/* Splits a query string (NUL-terminated, writable) into l; -1 to drop. */
static int parse_query(char *q, struct fz_lookup *l)
{
    while (*q && l->nquery < QUERY_MAX) {
        char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (amp) *amp = '\0';
        if (len) {
            char *eq = memchr(q, '=', len);
            char *v = eq ? eq + 1 : q + len; /* "flag" alone: an empty value */
            if (eq) *eq = '\0';
            if (url_decode(q, eq ? (size_t)(eq - q) : len)) return -1;
            if (eq && url_decode(v, strlen(v))) return -1;
            l->qname[l->nquery] = q;
            l->qvalue[l->nquery] = v;
            l->nquery++;
        }
        if (!amp) break;
        q = amp + 1;
    }
    return 0;
}

/* A header value as libmicrohttpd hands it over: surrounding blanks
 * trimmed; NULL when empty (the header is absent). */
static const char *header_value(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return n ? s : NULL;
}

/* ---- the world: store, app and the seeded callers ---------------------- */

enum { WHO_I_NONE, WHO_I_OPERATOR, WHO_I_ADMIN, WHO_I_CUSTOMER, WHO_I_SCANNER, WHO_I_DISPLAY,
       WHO_I_POS, WHO_I_COUNT };

static char g_dir[256];
static uint8_t g_master[CRYPTO_KEY_LEN];
static struct store *g_st;
static struct app *g_app;
static struct principal g_who[WHO_I_COUNT];
static char g_token[WHO_I_COUNT][TOKEN_MAX];
static unsigned g_inputs;
static int g_verbose; /* FUZZ_ROUTES_VERBOSE=1: each request's answer on stderr */

/* What path parameters are, by name. */
static struct {
    char brand[ID_MAX], brand_slug[64], store[ID_MAX], staff[ID_MAX], key[ID_MAX];
    char customer[ID_MAX], device[ID_MAX], visit[ID_MAX], person[ID_MAX], pairing[ID_MAX];
    char sku[32];
} g_ids;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_routes: %s: %s\n", what, why);
    abort();
}

static void path_of(char *buf, size_t len, const char *name, const char *suffix)
{
    snprintf(buf, len, "%s/%s%s", g_dir, name, suffix);
}

static void copy_file(const char *from, const char *to)
{
    unlink(to);
    int in = open(from, O_RDONLY);
    if (in < 0) return; /* no such file in the template (a WAL already folded in) */
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) die("copy", to);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) die("copy", to);
    close(in);
    close(out);
}

static void publish_to_hub(void *ctx, const char *store_id, const char *event, json_t *data)
{
    sse_publish(ctx, store_id, event, data);
}

static int suggest_card_hook(void *ctx, const char *brand_id, const char *customer_id,
                             const char *visit_id, json_t **ret_list, json_t **ret_usual)
{
    return suggest_svc_card(ctx, brand_id, customer_id, visit_id, ret_list, ret_usual);
}

/* Opens the store at name and an app over it, as cmd_serve.c does, with
 * neither background thread started (recog's tick, suggestion training):
 * the harness calls handlers one at a time. */
static void world_open(const char *name)
{
    char db[512], keys[512], err[256];
    path_of(db, sizeof db, name, "");
    path_of(keys, sizeof keys, name, ".keys");
    int rc = store_sqlite_open_keys(db, keys, g_master, &g_st, err, sizeof err);
    if (rc) die("store", err[0] ? err : sk_strerror(rc));
    struct app_config cfg = {
        .listen = "127.0.0.1:0",
        .db_path = db,
        .web_dir = "web",
        .max_body = 1024 * 1024,
        .max_connections = 16,
        .signups_per_hour = 0, /* no limit: sign-up reaches the store */
        .sightings_max = 5000,
        .log_level = LOG_ERROR,
        .session_ttl_s = 30 * 24 * 3600,
        .staff_session_ttl_s = 12 * 3600,
        .retain_visits_days = 30,
        .retain_access_log_days = 395,
        .public_url = "http://127.0.0.1:8080",
    };
    g_app = malloc(sizeof *g_app);
    if (!g_app || app_init(g_app, g_st, &cfg)) die("app", "cannot start");
    struct recog_config rcfg = {.tolerance = 1, .quiet_s = 300, .k_min = 4, .k_max = 15};
    struct recog_events ev = {.publish = publish_to_hub};
    if (sse_hub_new(&g_app->hub)) die("hub", "cannot start");
    ev.ctx = g_app->hub;
    if (recog_new(g_st, &rcfg, &ev, &g_app->recog, err, sizeof err)) die("recog", err);
    if (suggest_svc_new(g_st, &g_app->sugg)) die("suggestions", "cannot start");
    struct recog_suggester sg = {.ctx = g_app->sugg, .card = suggest_card_hook};
    recog_set_suggester(g_app->recog, &sg);
}

static void world_close(void)
{
    if (!g_app) return;
    recog_close_all(g_app->recog, "shutdown");
    recog_free(g_app->recog);
    suggest_svc_free(g_app->sugg);
    sse_hub_free(g_app->hub);
    app_release(g_app);
    free(g_app);
    g_app = NULL;
    store_close(g_st);
    g_st = NULL;
}

static const struct route *route_by(const char *method, const char *pattern)
{
    for (size_t i = 0; i < http_routes_count; i++)
        if (!strcmp(http_routes[i].method, method) && !strcmp(http_routes[i].pattern, pattern))
            return &http_routes[i];
    die("no route", pattern);
    return NULL;
}

/* The seeded id a path parameter takes, or a plausible id of nothing. */
static const char *param_seed(const char *name)
{
    if (!strcmp(name, "brand")) return g_ids.brand;
    if (!strcmp(name, "store")) return g_ids.store;
    if (!strcmp(name, "staff")) return g_ids.staff;
    if (!strcmp(name, "key")) return g_ids.key;
    if (!strcmp(name, "customer")) return g_ids.customer;
    if (!strcmp(name, "device")) return g_ids.device;
    if (!strcmp(name, "visit")) return g_ids.visit;
    if (!strcmp(name, "person")) return g_ids.person;
    if (!strcmp(name, "pairing")) return g_ids.pairing;
    if (!strcmp(name, "sku")) return g_ids.sku;
    return "sk_0000000000000000000000000000000000000000000"; /* token, invitation */
}

/* Fills req's path parameters from r's pattern: seeded ids, or fuzzed
 * (non-NULL) for the which'th; names point into names. Returns how many. */
static size_t fill_params(const struct route *r, struct http_req *req, char (*names)[32],
                          const char *fuzzed, unsigned which)
{
    size_t n = 0;
    for (const char *p = strchr(r->pattern, '{'); p && n < HTTP_MAX_PARAMS;
         p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        snprintf(names[n], sizeof names[n], "%.*s", (int)(e - p - 1), p + 1);
        req->param_name[n] = names[n];
        req->param_value[n] = param_seed(names[n]);
        n++;
    }
    if (fuzzed && n) req->param_value[which % n] = fuzzed;
    req->nparams = n;
    return n;
}

/* One request through http_scope() and http_call(); resp filled. */
static void run(const struct route *r, const struct principal *who, struct fz_lookup *l,
                const char *fuzzed_param, unsigned which, const char *body, size_t len,
                struct http_req *req, struct http_resp *resp)
{
    char names[HTTP_MAX_PARAMS][32];
    memset(req, 0, sizeof *req);
    memset(resp, 0, sizeof *resp);
    req->method = r->method;
    req->path = r->pattern;
    req->conn = l;
    req->lookup = fz_lookup_fn;
    snprintf(req->remote, sizeof req->remote, "192.0.2.1");
    if (who) req->who = *who;
    fill_params(r, req, names, fuzzed_param, which);
    if (http_scope(g_app, r, req, resp) == 0) http_call(g_app, r, req, body, len, resp);
    /* the parameter names die with this frame: handlers are done with them */
    req->nparams = 0;
}

static void req_free(struct http_req *req, struct http_resp *resp)
{
    json_decref(req->json);
    json_decref(req->brand);
    json_decref(req->store);
    json_decref(resp->json);
    free(resp->raw);
    if (resp->stream) sse_release(resp->stream);
}

/* A seeding request: must succeed; returns its JSON answer (the caller's). */
static json_t *seed(const char *method, const char *pattern, int who, const char *body)
{
    struct fz_lookup l = {0};
    struct http_req req;
    struct http_resp resp;
    const struct route *r = route_by(method, pattern);
    run(r, who == WHO_I_NONE ? NULL : &g_who[who], &l, NULL, 0, body, body ? strlen(body) : 0,
        &req, &resp);
    if (resp.status < 200 || resp.status > 299) {
        char *s = resp.json ? json_dumps(resp.json, 0) : NULL;
        fprintf(stderr, "fuzz_routes: seeding %s %s: %d %s\n", method, pattern, resp.status,
                s ? s : "");
        abort();
    }
    json_t *out = resp.json;
    resp.json = NULL;
    req_free(&req, &resp);
    return out;
}

static void copy_id(char *dst, size_t len, json_t *obj, const char *field)
{
    const char *v = json_string_value(json_object_get(obj, field));
    if (!v) die("seed: no field", field);
    snprintf(dst, len, "%s", v);
}

static void principal_of(int who, const char *token)
{
    char hash[TOKEN_HASH_MAX];
    snprintf(g_token[who], sizeof g_token[who], "%s", token);
    token_hash(token, hash);
    if (g_st->ops->token_lookup(g_st, hash, time_now_us(), &g_who[who])) die("token", "lookup");
}

static void seed_template(void)
{
    world_open("template.db");
    /* the operator, as `shopkeeper demo` makes one */
    char id[ID_MAX], token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    if (g_st->ops->operator_create(g_st, "fuzz operator", id) || token_new(token))
        die("seed", "operator");
    token_hash(token, hash);
    if (g_st->ops->token_create(g_st, PRINCIPAL_OPERATOR, id, NULL, NULL, hash, 0))
        die("seed", "operator token");
    principal_of(WHO_I_OPERATOR, token);

    json_t *j = seed("POST", "/v1/brands", WHO_I_OPERATOR,
                     "{\"name\":\"Fuzz & Co\",\"slug\":\"fz-brand\"}");
    copy_id(g_ids.brand, sizeof g_ids.brand, j, "id");
    snprintf(g_ids.brand_slug, sizeof g_ids.brand_slug, "fz-brand");
    json_decref(j);
    json_decref(seed("PUT", "/v1/brands/{brand}/choices", WHO_I_OPERATOR,
                     "{\"choices\":[{\"key\":\"usual\",\"label\":\"Regular order\",\"kind\":"
                     "\"choice\",\"options\":[\"Flat White\",\"Oat Latte\"]},{\"key\":\"cream\","
                     "\"label\":\"Room for cream\",\"kind\":\"yesno\"},{\"key\":\"cup\",\"label\":"
                     "\"Name on the cup\",\"kind\":\"text\"}]}"));
    json_decref(seed("PUT", "/v1/brands/{brand}/notice", WHO_I_OPERATOR,
                     "{\"text\":\"We greet members who opted in.\",\"faq\":[{\"q\":\"Why?\","
                     "\"a\":\"To start your usual.\"}]}"));
    j = seed("POST", "/v1/brands/{brand}/stores", WHO_I_OPERATOR,
             "{\"name\":\"High Street\",\"timezone\":\"Europe/London\",\"city\":\"London\","
             "\"address\":\"1 High Street\"}");
    copy_id(g_ids.store, sizeof g_ids.store, j, "id");
    json_decref(j);
    j = seed("POST", "/v1/brands/{brand}/staff", WHO_I_OPERATOR,
             "{\"email\":\"admin@fz.example\",\"name\":\"Fuzz Admin\",\"grants\":[{\"role\":"
             "\"admin\"}],\"password\":\"" SEED_PASSWORD "\"}");
    copy_id(g_ids.staff, sizeof g_ids.staff, j, "id");
    json_decref(j);
    if (token_new(token)) die("seed", "staff token");
    token_hash(token, hash);
    if (g_st->ops->token_create(g_st, PRINCIPAL_STAFF, g_ids.staff, g_ids.brand, NULL, hash, 0))
        die("seed", "staff token");
    principal_of(WHO_I_ADMIN, token);

    static const struct {
        const char *pattern;
        int who;
    } keys[] = {{"/v1/stores/{store}/scanners", WHO_I_SCANNER},
                {"/v1/stores/{store}/displays", WHO_I_DISPLAY},
                {"/v1/stores/{store}/pos", WHO_I_POS}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        j = seed("POST", keys[i].pattern, WHO_I_ADMIN, NULL);
        if (keys[i].who == WHO_I_SCANNER) copy_id(g_ids.key, sizeof g_ids.key, j, "id");
        principal_of(keys[i].who, json_string_value(json_object_get(j, "key")));
        json_decref(j);
    }
    snprintf(g_ids.sku, sizeof g_ids.sku, "fw-1");
    json_decref(seed("PUT", "/v1/brands/{brand}/items/{sku}", WHO_I_ADMIN,
                     "{\"title\":\"Flat White\",\"category\":\"drinks/coffee\",\"price\":"
                     "\"3.40\",\"tags\":[\"hot\"],\"consumable\":true}"));

    j = seed("POST", "/v1/customers", WHO_I_NONE,
             "{\"name\":\"Jo Fuzz\",\"email\":\"jo@fz.example\",\"password\":\"" SEED_PASSWORD
             "\"}");
    copy_id(g_ids.customer, sizeof g_ids.customer, j, "id");
    principal_of(WHO_I_CUSTOMER, json_string_value(json_object_get(j, "token")));
    json_decref(j);
    json_decref(seed("PUT", "/v1/me/brands/{brand}", WHO_I_CUSTOMER,
                     "{\"purposes\":[\"recognition\",\"preferences\",\"history\","
                     "\"suggestions\"]}"));
    json_decref(seed("PUT", "/v1/me/brands/{brand}/preferences", WHO_I_CUSTOMER,
                     "{\"answers\":{\"usual\":\"Flat White\",\"cream\":true},\"dont\":[]}"));
    j = seed("POST", "/v1/me/devices", WHO_I_CUSTOMER,
             "{\"name\":\"Jo's phone\",\"method\":\"shared\",\"rotation_exponent\":8}");
    copy_id(g_ids.device, sizeof g_ids.device, j, "id");
    json_decref(j);
    j = seed("POST", "/v1/me/people", WHO_I_CUSTOMER,
             "{\"label\":\"Sam\",\"likes\":{\"categories\":[\"coffee\"],\"makers\":[],"
             "\"tags\":[]},\"dislikes\":{\"categories\":[],\"makers\":[],\"tags\":[]},"
             "\"occasions\":[{\"name\":\"birthday\",\"date\":\"03-14\"}]}");
    copy_id(g_ids.person, sizeof g_ids.person, j, "id");
    json_decref(j);
    j = seed("POST", "/v1/display-pairings", WHO_I_NONE, "{}");
    copy_id(g_ids.pairing, sizeof g_ids.pairing, j, "id");
    json_decref(j);
    world_close();
}

/* An open visit lives in the recognition service's memory: one per world. */
static void seed_visit(void)
{
    char body[128];
    snprintf(body, sizeof body, "{\"store\":\"%s\"}", g_ids.store);
    json_decref(seed("POST", "/v1/me/presence", WHO_I_CUSTOMER, body));
    json_t *cards = seed("GET", "/v1/stores/{store}/cards", WHO_I_DISPLAY, NULL);
    json_t *first = json_array_get(json_is_array(cards) ? cards : json_object_get(cards, "items"), 0);
    const char *v = json_string_value(json_object_get(first, "visit_id"));
    if (!v) v = json_string_value(json_object_get(first, "visit"));
    if (!v) v = json_string_value(json_object_get(first, "id"));
    if (!v) die("seed", "no open visit");
    snprintf(g_ids.visit, sizeof g_ids.visit, "%s", v);
    json_decref(cards);
}

/* A fresh copy of the template, and the world over it. */
static void world_reset(void)
{
    world_close();
    static const char *const suffixes[] = {"", "-wal", ".keys", ".keys-wal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char from[512], to[512];
        path_of(from, sizeof from, "template.db", suffixes[i]);
        path_of(to, sizeof to, "work.db", suffixes[i]);
        copy_file(from, to);
    }
    char shm[512];
    path_of(shm, sizeof shm, "work.db", "-shm");
    unlink(shm);
    path_of(shm, sizeof shm, "work.db", ".keys-shm");
    unlink(shm);
    world_open("work.db");
    seed_visit();
}

static void remove_dir(void)
{
    world_close();
    static const char *const names[] = {"template.db", "work.db"};
    static const char *const suffixes[] = {"", "-wal", "-shm", ".keys", ".keys-wal", ".keys-shm"};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
            char p[512];
            path_of(p, sizeof p, names[i], suffixes[k]);
            unlink(p);
        }
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    g_verbose = getenv("FUZZ_ROUTES_VERBOSE") != NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fuzz_routes.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) die("mkdtemp", strerror(errno));
    if (crypto_random(g_master, sizeof g_master)) die("master key", "no randomness");
    seed_template();
    world_reset();
    atexit(remove_dir);
    return 0;
}

/* ---- one input ---------------------------------------------------------- */

/* A copy of s[0..n) with each {{name}} placeholder replaced (see the top),
 * NUL-terminated; its length in *ret_len. NULL when out of memory. */
static char *expand(const char *s, size_t n, size_t *ret_len)
{
    size_t cap = n * 6 + 1, o = 0; /* "{{sku}}" (7) becomes at most ~40 */
    char *out = malloc(cap);
    if (!out) return NULL;
    for (size_t i = 0; i < n;) {
        const char *close = i + 4 < n && s[i] == '{' && s[i + 1] == '{'
                                ? memmem(s + i + 2, n - i - 2 < 12 ? n - i - 2 : 12, "}}", 2)
                                : NULL;
        char name[16], code[32] = "";
        const char *v = NULL;
        if (close) {
            snprintf(name, sizeof name, "%.*s", (int)(close - (s + i + 2)), s + i + 2);
            if (!strcmp(name, "code")) {
                json_t *c = NULL;
                if (!recog_counter_code(g_app->recog, g_ids.customer, g_ids.device, &c))
                    snprintf(code, sizeof code, "%s",
                             json_string_value(json_object_get(c, "plain")));
                json_decref(c);
                v = code;
            } else if (strcmp(name, "token") && strcmp(name, "invitation")) {
                v = param_seed(name);
                if (!strcmp(v, param_seed("token"))) v = NULL; /* not a seeded name */
            }
        }
        if (v && o + strlen(v) < cap) {
            memcpy(out + o, v, strlen(v));
            o += strlen(v);
            i = (size_t)(close + 2 - s);
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    *ret_len = o;
    return out;
}

/* The rows fuzzed: all but the display stream (see the top). */
static const struct route *pick_route(uint8_t b)
{
    static const struct route *rows[256];
    static size_t nrows;
    if (!nrows)
        for (size_t i = 0; i < http_routes_count && nrows < 256; i++)
            if (http_routes[i].fn != h_cards_stream) rows[nrows++] = &http_routes[i];
    return rows[b % nrows];
}

/* The caller: one of those the row allows, by sel. */
static const struct principal *pick_caller(const struct route *r, unsigned sel)
{
    static const struct {
        unsigned bit;
        int who;
    } map[] = {{WHO_PUBLIC, WHO_I_NONE},         {WHO_OPERATOR, WHO_I_OPERATOR},
               {WHO_STAFF, WHO_I_ADMIN},         {WHO_CUSTOMER, WHO_I_CUSTOMER},
               {WHO_SCANNER, WHO_I_SCANNER},     {WHO_DISPLAY, WHO_I_DISPLAY},
               {WHO_POS, WHO_I_POS}};
    int allowed[WHO_I_COUNT];
    size_t n = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (r->who & map[i].bit) allowed[n++] = map[i].who;
    int who = n ? allowed[sel % n] : WHO_I_NONE;
    return who == WHO_I_NONE ? NULL : &g_who[who];
}

/* Routes whose success ends a seeded caller, their store or what the next
 * inputs rely on: the world is copied afresh after one. */
static int ends_world(const struct route *r)
{
    return r->fn == h_session_delete || r->fn == h_store_close || r->fn == h_me_delete ||
           r->fn == h_store_key_revoke || r->fn == h_staff_patch ||
           r->fn == h_password_change || r->fn == h_my_brand_delete ||
           r->fn == h_device_delete || r->fn == h_me_patch || r->fn == h_password_link_use;
}

static void check(const struct http_resp *resp)
{
    if (resp->status < 200 || resp->status > 599) __builtin_trap();
    if (resp->status >= 400) {
        const char *detail = json_string_value(json_object_get(resp->json, "detail"));
        if (!detail || !detail[0]) __builtin_trap();
        if (json_integer_value(json_object_get(resp->json, "status")) != resp->status)
            __builtin_trap();
    } else if (!resp->json && !resp->raw) {
        __builtin_trap(); /* a handler whose answer could not be built */
    }
    if (resp->json) {
        /* what send_response() does; NULL would drop the connection */
        char *s = json_dumps(resp->json, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s) __builtin_trap();
        free(s);
    }
}

/* The next line of *p..end, NUL-terminated in place (the '\n' overwritten);
 * NULL at the end of the input. *ret_nul: the line holds a NUL byte (no
 * request target or header the server accepts does). */
static char *next_line(char **p, char *end, int *ret_nul)
{
    if (*p >= end) return NULL;
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) return NULL;
    if (memchr(s, '\0', (size_t)(nl - s))) *ret_nul = 1;
    *nl = '\0';
    *p = nl + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > INPUT_MAX) return 0;
    const struct route *r = pick_route(data[0]);
    unsigned flags = data[1];
    size_t n;
    char *buf = expand((const char *)data + 2, size - 2, &n);
    if (!buf) return 0;
    char *p = buf, *end = buf + n;
    int nul = 0;
    char *query = next_line(&p, end, &nul), *idem = next_line(&p, end, &nul);
    char *ctype = next_line(&p, end, &nul);
    char *param = (flags & 8) ? next_line(&p, end, &nul) : NULL;
    struct fz_lookup l = {0};
    /* a target or header the server would never hand on: dropped */
    int drop = nul || ((flags & 8) && !param);
    if (query && parse_query(query, &l)) drop = 1;
    if (param && (!param[0] || strchr(param, '/') || url_decode(param, strlen(param)))) drop = 1;
    if (!drop) {
        l.idem = idem ? header_value(idem) : NULL;
        l.ctype = ctype ? header_value(ctype) : NULL;
        if (!l.ctype && r->fn == h_item_import) l.ctype = "text/csv";
    }
    /* the body: what is left (with no line breaks at all, the whole input) */
    const char *body = query ? p : buf;
    size_t len = query ? (size_t)(end - p) : (size_t)(end - buf);
    if (len > route_body_limit(r, &g_app->cfg)) drop = 1; /* the server's 413 */
    if (drop) {
        free(buf);
        return 0;
    }
    struct http_req req;
    struct http_resp resp;
    run(r, pick_caller(r, flags & 7), &l, param, (flags >> 4) & 3, body, len, &req, &resp);
    if (g_verbose) {
        char *j = resp.json ? json_dumps(resp.json, JSON_COMPACT) : NULL;
        fprintf(stderr, "fuzz_routes: %s %s -> %d %.300s\n", r->method, r->pattern, resp.status,
                j ? j : "");
        free(j);
    }
    check(&resp);
    int reset = (resp.status >= 200 && resp.status < 300 && ends_world(r)) ||
                ++g_inputs % RESET_EVERY == 0;
    req_free(&req, &resp);
    free(buf);
    if (reset) world_reset();
    return 0;
}
