/*
 * cmd_serve.c — `shopkeeper serve`: configuration from flags and
 * environment, the bootstrap operator, then the HTTP service.
 */
#include "cli/cli.h"
#include "http/http.h"
#include "http/sse.h"
#include "service/bus.h"
#include "service/cluster.h"
#include "service/housekeeping.h"
#include "service/mail.h"
#include "service/outbox.h"
#include "service/recog.h"
#include "service/suggest_svc.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The counter card's suggestions, from the suggestion service. */
static int suggest_card_hook(void *ctx, const char *brand_id, const char *customer_id,
                             const char *visit_id, json_t **ret_list, json_t **ret_usual)
{
    return suggest_svc_card(ctx, brand_id, customer_id, visit_id, ret_list, ret_usual);
}

static const char serve_help[] =
    "usage: shopkeeper serve [OPTIONS]\n\n"
    "Runs the HTTP service: the JSON API under /v1, /healthz and the web pages.\n\n"
    "options (each also read from the environment variable shown):\n"
    "  --listen ADDR:PORT   where to listen (SHOPKEEPER_LISTEN; default 127.0.0.1:8080;\n"
    "                       [::1]:8080 for IPv6, :8080 for every address)\n" DB_OPTS_HELP
    "  --log-level LEVEL    debug, info, warn or error (SHOPKEEPER_LOG_LEVEL; default info)\n"
    "  --web DIR            the static pages (SHOPKEEPER_WEB; default web/ beside the\n"
    "                       program's build directory, else ./web)\n"
    "  --max-body BYTES     largest request body accepted (SHOPKEEPER_MAX_BODY;\n"
    "                       default 1048576); larger bodies get 413\n"
    "  --max-connections N  simultaneous connections, counter displays included\n"
    "                       (SHOPKEEPER_MAX_CONNECTIONS; default 16000, lowered to fit\n"
    "                       the open-file limit, ulimit -n)\n"
    "  --threads N          network threads, each an epoll loop over its share of the\n"
    "                       connections (SHOPKEEPER_THREADS; default one per core)\n"
    "  --workers N          threads that run requests' handlers (SHOPKEEPER_WORKERS;\n"
    "                       default 8); password hashing, imports and exports run on\n"
    "                       a separate lane sized by the core count\n"
    "  --max-per-address N  simultaneous connections from one client address; more are\n"
    "                       closed at once (SHOPKEEPER_MAX_PER_ADDRESS; default 64;\n"
    "                       0: no limit, for behind a reverse proxy that limits them)\n"
    "  --signups-per-hour N  new shopper accounts from one client address in an hour\n"
    "                       (SHOPKEEPER_SIGNUPS_PER_HOUR; default 60; 0: no limit)\n"
    "  --header-timeout SECS  a request's headers must arrive within this, and an idle\n"
    "                       connection closes after it (SHOPKEEPER_HEADER_TIMEOUT; default 10)\n"
    "  --body-timeout SECS  a request's body must arrive within this after its headers\n"
    "                       (SHOPKEEPER_BODY_TIMEOUT; default 30)\n"
    "  --visit-quiet SECS   a visit closes after this long without a presence\n"
    "                       (SHOPKEEPER_VISIT_QUIET; default 300)\n"
    "  --eid-tolerance N    windows either side of a device's current EID window that\n"
    "                       still resolve (SHOPKEEPER_EID_TOLERANCE; default 1)\n"
    "  --max-sightings N    largest sightings batch (SHOPKEEPER_MAX_SIGHTINGS; default 5000)\n"
    "  --retain-visits-days N      closed visits are removed after N days\n"
    "                       (SHOPKEEPER_RETAIN_VISITS_DAYS; default 30)\n"
    "  --retain-access-log-days N  access-log entries are removed after N days\n"
    "                       (SHOPKEEPER_RETAIN_ACCESS_LOG_DAYS; default 395, 13 months)\n"
    "  --session-ttl SECS   how long a shopper's login lasts (SHOPKEEPER_SESSION_TTL;\n"
    "                       default 2592000, 30 days)\n"
    "  --staff-session-ttl SECS  how long a staff login lasts (console, counter staff;\n"
    "                       SHOPKEEPER_STAFF_SESSION_TTL; default 43200, 12 hours)\n"
    "  --smtp-url URL       the SMTP relay that sends password-reset and invitation mail\n"
    "                       (SHOPKEEPER_SMTP_URL; e.g. smtp://127.0.0.1:8025,\n"
    "                       smtps://user:pass@mail.example.com); none: no mail is sent\n"
    "  --mail-from ADDR     the sender of that mail (SHOPKEEPER_MAIL_FROM; default\n"
    "                       shopkeeper@localhost)\n"
    "  --public-url URL     the address people open, the base of links in mail\n"
    "                       (SHOPKEEPER_PUBLIC_URL; default http:// + --listen)\n"
    "  --nats URL           NATS server(s) of a cluster, nats://host:port, commas between\n"
    "                       several (SHOPKEEPER_NATS); without it the node runs alone.\n"
    "                       Nodes sharing one PostgreSQL pass card events and changes\n"
    "                       over it; a node starts and serves while NATS is down\n"
    "  --node NAME          this node's name in the cluster (SHOPKEEPER_NODE; default\n"
    "                       the host name and the --listen port)\n"
    "  -h, --help           this help\n\n"
    "environment only:\n"
    "  SHOPKEEPER_BOOTSTRAP_TOKEN  when set (at least 20 characters), an operator with\n"
    "                       exactly this bearer token exists: how a deployment script\n"
    "                       gets its first credential without a terminal\n\n"
    "Logs go to stderr, one event per line (key=value); no secret is ever logged.\n";

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static int parse_num(const char *what, const char *s, long long min, long long max,
                     long long *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "shopkeeper serve: %s must be a whole number from %lld to %lld\n", what,
                min, max);
        return -1;
    }
    *ret = v;
    return 0;
}

static const char *default_web_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(buf, len, "%s/../web", dirname(exe));
        struct stat sb;
        if (stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode)) return buf;
    }
    return "web";
}

static int bootstrap_operator(struct store *st, const char *token)
{
    if (strlen(token) < 20 || strlen(token) > 256) {
        fprintf(stderr, "shopkeeper serve: SHOPKEEPER_BOOTSTRAP_TOKEN must be 20-256 characters\n");
        return -1;
    }
    char hash[TOKEN_HASH_MAX], id[ID_MAX];
    struct principal p;
    token_hash(token, hash);
    int rc = st->ops->token_lookup(st, hash, time_now_us(), &p);
    if (rc == 0) return p.kind == PRINCIPAL_OPERATOR ? 0 : -1;
    rc = st->ops->operator_create(st, "bootstrap", id);
    if (!rc) rc = st->ops->token_create(st, PRINCIPAL_OPERATOR, id, NULL, NULL, hash, 0);
    if (rc) {
        fprintf(stderr, "shopkeeper serve: cannot create the bootstrap operator: %s\n",
                sk_strerror(rc));
        return -1;
    }
    log_kv(LOG_INFO, "operator.bootstrap", "id", id, NULL);
    return 0;
}

/* Where recognition's events go: this node's displays, and the other
 * nodes' through the cluster (when there is one); and what the other
 * nodes send, applied here. */
struct node_glue {
    struct sse_hub *hub;
    struct recog *recog;
    struct cluster *cluster;
    struct outbox *outbox; /* set before the bus opens; kicked when NATS comes back */
};

static void publish_to_hub(void *ctx, const char *store_id, const char *event, json_t *data)
{
    struct node_glue *g = ctx;
    sse_publish(g->hub, store_id, event, data);
    cluster_card(g->cluster, store_id, event, data);
}

static void tell_peers(void *ctx, const char *what, const char *customer_id, const char *brand_id)
{
    struct node_glue *g = ctx;
    cluster_peer(g->cluster, what, customer_id, brand_id);
}

static void card_from_peer(void *ctx, const char *store_id, const char *event, json_t *data)
{
    struct node_glue *g = ctx;
    if (g->recog) recog_peer_card(g->recog, event, data);
    sse_publish(g->hub, store_id, event, data);
}

static void change_from_peer(void *ctx, const char *what, const char *customer_id,
                             const char *brand_id)
{
    struct node_glue *g = ctx;
    if (g->recog) recog_peer(g->recog, what, customer_id, brand_id);
}

/* NATS came back: what was missed meanwhile is read now, not at the next
 * tick (nats.c's callback thread: outbox_kick only signals). */
static void nats_state(void *ctx, int connected)
{
    struct node_glue *g = ctx;
    if (connected) outbox_kick(g->outbox);
}

/* The default node name: the host's, and the port (several nodes on one
 * machine), in the characters a bus name allows. */
static void default_node(const char *listen, char *buf, size_t len)
{
    char host[64] = "node";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    const char *port = strrchr(listen, ':');
    snprintf(buf, len, "%.40s-%s", host, port ? port + 1 : "0");
    for (char *p = buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            *p = '-';
}

/* glibc gives each thread that allocates at once an arena of its own, up
 * to eight per core, and an arena's freed memory is rarely returned: with
 * two network threads and a few dozen workers, an hour of mixed load grew
 * the server 0.65 MB a minute (make soak) and did not level off, where two
 * arenas kept it flat at 48.6 MB. Only as many threads run at once as
 * there are cores, so that many arenas is all the concurrency malloc needs
 * (the sightings benchmark showed no difference beyond its noise).
 * MALLOC_ARENA_MAX in the environment still wins. */
static void bound_malloc_arenas(void)
{
#ifdef __GLIBC__
    if (getenv("MALLOC_ARENA_MAX")) return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, cores > 2 && cores < 64 ? (int)cores : 2);
#endif
}

int cmd_serve(int argc, char **argv)
{
    bound_malloc_arenas();
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},   {"db", required_argument, 0, 'd'},
        {"master-key", required_argument, 0, 'k'}, {"keys", required_argument, 0, 'K'}, {"log-level", required_argument, 0, 'L'},
        {"web", required_argument, 0, 'w'},      {"max-body", required_argument, 0, 'b'},
        {"max-connections", required_argument, 0, 't'},
        {"threads", required_argument, 0, 'N'},  {"workers", required_argument, 0, 'W'},
        {"max-per-address", required_argument, 0, 'a'},
        {"signups-per-hour", required_argument, 0, 'U'},
        {"header-timeout", required_argument, 0, 'H'}, {"body-timeout", required_argument, 0, 'B'},
        {"visit-quiet", required_argument, 0, 'Q'}, {"eid-tolerance", required_argument, 0, 'T'},
        {"max-sightings", required_argument, 0, 'S'},
        {"retain-visits-days", required_argument, 0, 'V'},
        {"retain-access-log-days", required_argument, 0, 'A'},  {"session-ttl", required_argument, 0, 's'},
        {"staff-session-ttl", required_argument, 0, 'e'},
        {"smtp-url", required_argument, 0, 'M'}, {"mail-from", required_argument, 0, 'F'},
        {"public-url", required_argument, 0, 'P'},
        {"nats", required_argument, 0, 'n'},     {"node", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    char webbuf[PATH_MAX + 8];
    struct db_opts dbo;
    db_opts_defaults(&dbo);
    struct app_config cfg = {
        .listen = env_or("SHOPKEEPER_LISTEN", "127.0.0.1:8080"),
        .web_dir = env_or("SHOPKEEPER_WEB", NULL),
        .max_body = 1024 * 1024,
        .max_connections = 16000,
        .max_per_address = 64,
        .signups_per_hour = 60,
        .header_timeout_s = 10,
        .body_timeout_s = 30,
        .sightings_max = 5000,
        .log_level = LOG_INFO,
        .session_ttl_s = 30 * 24 * 3600,
        .staff_session_ttl_s = 12 * 3600,
    };
    const char *level = env_or("SHOPKEEPER_LOG_LEVEL", "info");
    const char *max_body = env_or("SHOPKEEPER_MAX_BODY", NULL);
    const char *max_conn = env_or("SHOPKEEPER_MAX_CONNECTIONS", NULL);
    const char *threads = env_or("SHOPKEEPER_THREADS", NULL);
    const char *workers = env_or("SHOPKEEPER_WORKERS", NULL);
    const char *per_address = env_or("SHOPKEEPER_MAX_PER_ADDRESS", NULL);
    const char *signups = env_or("SHOPKEEPER_SIGNUPS_PER_HOUR", NULL);
    const char *header_timeout = env_or("SHOPKEEPER_HEADER_TIMEOUT", NULL);
    const char *body_timeout = env_or("SHOPKEEPER_BODY_TIMEOUT", NULL);
    const char *quiet = env_or("SHOPKEEPER_VISIT_QUIET", NULL);
    const char *tolerance = env_or("SHOPKEEPER_EID_TOLERANCE", NULL);
    const char *max_sightings = env_or("SHOPKEEPER_MAX_SIGHTINGS", NULL);
    const char *keep_visits = env_or("SHOPKEEPER_RETAIN_VISITS_DAYS", NULL);
    const char *keep_access = env_or("SHOPKEEPER_RETAIN_ACCESS_LOG_DAYS", NULL);
    struct retention retention = RETENTION_DEFAULTS;
    struct recog_config rcfg = {.tolerance = 1, .quiet_s = 300, .k_min = 4, .k_max = 15};
    const char *ttl = env_or("SHOPKEEPER_SESSION_TTL", NULL);
    const char *staff_ttl = env_or("SHOPKEEPER_STAFF_SESSION_TTL", NULL);
    struct mail_config mcfg = {.smtp_url = env_or("SHOPKEEPER_SMTP_URL", NULL),
                               .from = env_or("SHOPKEEPER_MAIL_FROM", "shopkeeper@localhost")};
    const char *public_url = env_or("SHOPKEEPER_PUBLIC_URL", NULL);
    const char *nats_url = env_or("SHOPKEEPER_NATS", NULL);
    const char *node = env_or("SHOPKEEPER_NODE", NULL);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': cfg.listen = optarg; break;
        case 'd': dbo.db_path = optarg; break;
        case 'k': dbo.master_key_path = optarg; break;
        case 'K': dbo.keys_path = optarg; break;
        case 'L': level = optarg; break;
        case 'w': cfg.web_dir = optarg; break;
        case 'b': max_body = optarg; break;
        case 't': max_conn = optarg; break;
        case 'N': threads = optarg; break;
        case 'W': workers = optarg; break;
        case 'a': per_address = optarg; break;
        case 'U': signups = optarg; break;
        case 'H': header_timeout = optarg; break;
        case 'B': body_timeout = optarg; break;
        case 'Q': quiet = optarg; break;
        case 'T': tolerance = optarg; break;
        case 'S': max_sightings = optarg; break;
        case 'V': keep_visits = optarg; break;
        case 'A': keep_access = optarg; break;
        case 's': ttl = optarg; break;
        case 'e': staff_ttl = optarg; break;
        case 'M': mcfg.smtp_url = optarg; break;
        case 'F': mcfg.from = optarg; break;
        case 'P': public_url = optarg; break;
        case 'n': nats_url = optarg; break;
        case 'o': node = optarg; break;
        case 'h': fputs(serve_help, stdout); return 0;
        default: fputs(serve_help, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "shopkeeper serve: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (log_parse_level(level, &cfg.log_level)) {
        fprintf(stderr, "shopkeeper serve: log level must be debug, info, warn or error\n");
        return 2;
    }
    long long v;
    if (max_body) {
        if (parse_num("--max-body", max_body, 1024, 1LL << 30, &v)) return 2;
        cfg.max_body = (size_t)v;
    }
    if (max_conn) {
        if (parse_num("--max-connections", max_conn, 16, 1000000, &v)) return 2;
        cfg.max_connections = (unsigned)v;
    }
    if (threads) {
        if (parse_num("--threads", threads, 1, 64, &v)) return 2;
        cfg.threads = (unsigned)v;
    }
    if (workers) {
        if (parse_num("--workers", workers, 1, 256, &v)) return 2;
        cfg.workers = (unsigned)v;
    }
    if (per_address) {
        if (parse_num("--max-per-address", per_address, 0, 100000, &v)) return 2;
        cfg.max_per_address = (unsigned)v;
    }
    if (signups) {
        if (parse_num("--signups-per-hour", signups, 0, 1000000, &v)) return 2;
        cfg.signups_per_hour = (unsigned)v;
    }
    if (header_timeout) {
        if (parse_num("--header-timeout", header_timeout, 1, 3600, &v)) return 2;
        cfg.header_timeout_s = (unsigned)v;
    }
    if (body_timeout) {
        if (parse_num("--body-timeout", body_timeout, 1, 3600, &v)) return 2;
        cfg.body_timeout_s = (unsigned)v;
    }
    if (quiet) {
        if (parse_num("--visit-quiet", quiet, 1, 86400, &v)) return 2;
        rcfg.quiet_s = v;
    }
    if (tolerance) {
        if (parse_num("--eid-tolerance", tolerance, 0, 7, &v)) return 2;
        rcfg.tolerance = (unsigned)v;
    }
    if (keep_visits) {
        if (parse_num("--retain-visits-days", keep_visits, 1, 3650, &v)) return 2;
        retention.visits_days = v;
    }
    if (keep_access) {
        if (parse_num("--retain-access-log-days", keep_access, 1, 3650, &v)) return 2;
        retention.access_log_days = v;
    }
    cfg.retain_visits_days = retention.visits_days;
    cfg.retain_access_log_days = retention.access_log_days;
    if (max_sightings) {
        if (parse_num("--max-sightings", max_sightings, 1, 100000, &v)) return 2;
        cfg.sightings_max = (size_t)v;
    }
    if (ttl) {
        if (parse_num("--session-ttl", ttl, 60, 365LL * 24 * 3600, &v)) return 2;
        cfg.session_ttl_s = v;
    }
    if (staff_ttl) {
        if (parse_num("--staff-session-ttl", staff_ttl, 60, 30LL * 24 * 3600, &v)) return 2;
        cfg.staff_session_ttl_s = v;
    }
    if (!cfg.web_dir) cfg.web_dir = default_web_dir(webbuf, sizeof webbuf);
    char urlbuf[300];
    if (public_url_resolve(public_url, cfg.listen, urlbuf, sizeof urlbuf)) {
        fprintf(stderr, "shopkeeper serve: --public-url must start with http:// or https:// "
                        "(at most 200 characters)\n");
        return 2;
    }
    cfg.public_url = urlbuf;
    if (mcfg.smtp_url && strncmp(mcfg.smtp_url, "smtp://", 7) &&
        strncmp(mcfg.smtp_url, "smtps://", 8)) {
        fprintf(stderr, "shopkeeper serve: --smtp-url must start with smtp:// or smtps://\n");
        return 2;
    }
    if (!strchr(mcfg.from, '@') || strpbrk(mcfg.from, " <>\r\n\t") || strlen(mcfg.from) > 254) {
        fprintf(stderr, "shopkeeper serve: --mail-from must be an email address\n");
        return 2;
    }
    log_set_level(cfg.log_level);
    char db_shown[512];
    cfg.db_path = db_opts_describe(&dbo, db_shown, sizeof db_shown);
    cfg.master_key_path = dbo.master_key_path;

    struct store *st;
    if (db_open(&dbo, &st)) return 1;
    const char *boot = getenv("SHOPKEEPER_BOOTSTRAP_TOKEN");
    if (boot && *boot && bootstrap_operator(st, boot)) {
        store_close(st);
        return 1;
    }
    struct app *app = malloc(sizeof *app);
    if (!app) {
        store_close(st);
        return 1;
    }
    if (app_init(app, st, &cfg)) {
        fprintf(stderr, "shopkeeper serve: out of memory\n");
        free(app);
        store_close(st);
        return 1;
    }
    char err[256];
    if (mcfg.smtp_url && mailer_new(&mcfg, &app->mail)) {
        fprintf(stderr, "shopkeeper serve: cannot start the mail queue\n");
        app_release(app);
        free(app);
        store_close(st);
        return 1;
    }
    if (!mcfg.smtp_url)
        log_kv(LOG_INFO, "mail.off", "hint",
               "no --smtp-url: password-reset mail is not sent; `shopkeeper admin "
               "password-link EMAIL` issues a link",
               NULL);
    struct node_glue glue = {0};
    struct recog_events ev = {.ctx = &glue, .publish = publish_to_hub, .peer = tell_peers};
    int rc = sse_hub_new(&app->hub);
    glue.hub = app->hub;
    char node_name[BUS_NAME_MAX + 1];
    if (!rc && nats_url) {
        if (node) snprintf(node_name, sizeof node_name, "%s", node);
        else default_node(cfg.listen, node_name, sizeof node_name);
        /* changes missed while NATS is away are read from the database's
         * outbox (outbox.h); it starts from now, before the devices load */
        if ((rc = outbox_new(st, &glue.outbox)))
            snprintf(err, sizeof err, "outbox: %s", sk_strerror(rc));
        app->outbox = glue.outbox;
        struct bus_config bc = {.url = nats_url, .node = node_name, .on_state = nats_state,
                                .state_cls = &glue};
        if (!rc) rc = bus_open(&bc, &app->bus, err, sizeof err);
        struct cluster_hooks ch = {.ctx = &glue, .card = card_from_peer, .peer = change_from_peer};
        if (!rc && (rc = cluster_new(app->bus, node_name, &ch, &glue.cluster)))
            snprintf(err, sizeof err, "nats: %s", sk_strerror(rc));
        app->cluster = glue.cluster;
        if (!rc) {
            bus_flush(app->bus, 1000); /* subscribed before the first request, when up */
            struct bus_stats bs;
            bus_stats(app->bus, &bs);
            log_kv(bs.connected ? LOG_INFO : LOG_WARN, "nats.open", "node", node_name,
                   "connected", bs.connected ? "yes" : "not yet: serving alone until it is",
                   NULL);
        }
    }
    rcfg.node = app->bus ? node_name : NULL;
    if (!rc) rc = recog_new(st, &rcfg, &ev, &app->recog, err, sizeof err);
    glue.recog = app->recog;
    if (!rc && (rc = suggest_svc_new(st, &app->sugg)))
        snprintf(err, sizeof err, "suggestions: %s", sk_strerror(rc));
    if (!rc) {
        struct recog_suggester sg = {.ctx = app->sugg, .card = suggest_card_hook};
        recog_set_suggester(app->recog, &sg);
        suggest_svc_start(app->sugg, SUGGEST_SVC_INTERVAL_S);
    }
    if (rc) {
        fprintf(stderr, "shopkeeper serve: %s\n", err);
    } else {
        char ndev[24];
        snprintf(ndev, sizeof ndev, "%zu", recog_device_count(app->recog));
        log_kv(LOG_INFO, "recog.ready", "devices", ndev, NULL);
        recog_start(app->recog);
        if (glue.outbox && outbox_start(glue.outbox, app->recog))
            log_kv(LOG_ERROR, "outbox.start", "error", "cannot start its thread", NULL);
        struct housekeeping *hk = NULL;
        housekeeping_start(st, &retention, &hk);
        rc = http_serve(app);
        outbox_stop(glue.outbox);
        housekeeping_stop(hk);
        recog_stop(app->recog);
        recog_close_all(app->recog, "shutdown");
    }
    mailer_free(app->mail);
    bus_close(app->bus); /* no peer hook runs after this */
    cluster_free(app->cluster);
    outbox_free(glue.outbox); /* after bus_close: no kick comes any more */
    if (app->bus) bus_shutdown();
    recog_free(app->recog);
    suggest_svc_free(app->sugg);
    sse_hub_free(app->hub);
    app_release(app);
    free(app);
    store_close(st);
    return rc ? 1 : 0;
}
