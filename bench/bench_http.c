/*
 * bench_http.c — end-to-end figures against a running `shopkeeper serve`
 * seeded by bench_seed, over HTTP on loopback, from a separate process:
 *
 *   throughput  POST /v1/sightings in batches of 1000 from several client
 *               connections for a fixed time; 10% of sightings are members'
 *               devices, 45% other registered devices (not members), 45%
 *               random EIDs that resolve to nobody.
 *   latency     with 1000 counter displays connected (two at each of 500
 *               stores), post one member's EID at a store and time its
 *               "card" event at that store's displays; p50/p99 over all
 *               deliveries.
 *
 * usage: bench_http PORT KEYS TOKENS [SECONDS] [CLIENTS] [SAMPLES]
 */
#include "core/eid.h"
#include "util/crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define NBODIES 64

struct dev {
    uint8_t ik[16];
    unsigned k;
    uint32_t offset;
};

static int port;
static struct dev *members, *others;
static size_t nmembers, nothers;
static char scanner[128];
struct lstore {
    char id[64], scanner[128];
    int disp[4], ndisp;
};
static struct lstore *lstores;
static size_t nlstores;
static char **displays;
static char **display_store;
static size_t ndisplays;
static char *bodies[NBODIES];
static size_t body_len[NBODIES];
static volatile int stop_flag;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends one POST on a keep-alive connection and reads the answer; returns
 * the status or -1. */
static int post(int fd, const char *path, const char *token, const char *body, size_t len)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      path, token, len);
    if (write_all(fd, head, (size_t)hn) || write_all(fd, body, len)) return -1;
    char buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        const char *cl = strcasestr(buf, "Content-Length:");
        size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        while (got < want) {
            r = read(fd, buf + got, sizeof buf - 1 - got);
            if (r <= 0) return -1;
            got += (size_t)r;
        }
        return atoi(buf + 9);
    }
}

static void eid_hex(const struct dev *d, uint32_t now, char out[17])
{
    uint8_t e[8];
    eid_compute(d->ik, d->k, now + d->offset, e);
    hex_encode(e, 8, out);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* members [0, nload) feed the throughput phase; the rest are kept unseen
 * for the latency samples (a visit opens once per quiet time) */
static size_t nload;

static void build_bodies(void)
{
    uint32_t now = (uint32_t)time(NULL);
    for (int b = 0; b < NBODIES; b++) {
        size_t cap = BATCH * 48 + 64, n = 0;
        char *s = malloc(cap);
        n += (size_t)sprintf(s, "{\"sightings\":[");
        for (int i = 0; i < BATCH; i++) {
            char e[17];
            unsigned r = (unsigned)(rnd() % 100);
            if (r < 10 && nload) eid_hex(&members[rnd() % nload], now, e);
            else if (r < 55 && nothers) eid_hex(&others[rnd() % nothers], now, e);
            else {
                uint8_t x[8];
                uint64_t v = rnd();
                memcpy(x, &v, 8);
                hex_encode(x, 8, e);
            }
            n += (size_t)sprintf(s + n, "%s{\"eid\":\"%s\",\"rssi\":-%d}", i ? "," : "", e,
                                 50 + (int)(rnd() % 40));
        }
        n += (size_t)sprintf(s + n, "]}");
        bodies[b] = s;
        body_len[b] = n;
    }
}

struct load {
    long batches, errors;
};

static void *load_thread(void *arg)
{
    struct load *l = arg;
    int fd = connect_server();
    unsigned i = (unsigned)((uintptr_t)arg >> 4);
    while (!stop_flag && fd >= 0) {
        unsigned j = i++ % NBODIES;
        int st = post(fd, "/v1/sightings", scanner, bodies[j], body_len[j]);
        if (st == 202) l->batches++;
        else {
            l->errors++;
            close(fd);
            fd = connect_server();
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int load_file(const char *keys, const char *tokens)
{
    FILE *f = fopen(keys, "r");
    if (!f) return -1;
    size_t cap = 1 << 20;
    members = malloc(cap * sizeof *members);
    others = malloc(cap * sizeof *others);
    char hex[40];
    unsigned k, off;
    int member;
    while (fscanf(f, "%39s %u %u %d", hex, &k, &off, &member) == 4) {
        struct dev d = {.k = k, .offset = off};
        hex_decode(hex, d.ik, 16);
        if (member) {
            if (nmembers < cap) members[nmembers++] = d;
        } else if (nothers < cap) {
            others[nothers++] = d;
        }
    }
    fclose(f);
    f = fopen(tokens, "r");
    if (!f) return -1;
    displays = malloc(2000 * sizeof *displays);
    display_store = malloc(2000 * sizeof *display_store);
    lstores = calloc(1000, sizeof *lstores);
    char label[32], sid[64], tok[128];
    while (fscanf(f, "%31s %63s %127s", label, sid, tok) == 3) {
        if (!strcmp(label, "scanner")) {
            snprintf(scanner, sizeof scanner, "%s", tok);
        } else if (!strcmp(label, "lscanner") && nlstores < 1000) {
            snprintf(lstores[nlstores].id, sizeof lstores[nlstores].id, "%s", sid);
            snprintf(lstores[nlstores].scanner, sizeof lstores[nlstores].scanner, "%s", tok);
            nlstores++;
        } else if (!strcmp(label, "display") && ndisplays < 2000 && nlstores) {
            struct lstore *ls = &lstores[nlstores - 1];
            if (ls->ndisp < 4) ls->disp[ls->ndisp++] = (int)ndisplays;
            display_store[ndisplays] = strdup(sid);
            displays[ndisplays++] = strdup(tok);
        }
    }
    fclose(f);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_http PORT KEYS TOKENS [SECONDS] [CLIENTS] [SAMPLES]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    port = atoi(argv[1]);
    double seconds = argc > 4 ? atof(argv[4]) : 10;
    int clients = argc > 5 ? atoi(argv[5]) : 4;
    int samples = argc > 6 ? atoi(argv[6]) : 100;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (load_file(argv[2], argv[3])) {
        fprintf(stderr, "bench_http: cannot read %s or %s\n", argv[2], argv[3]);
        return 1;
    }
    nload = nmembers > (size_t)samples ? nmembers - (size_t)samples : 0;
    build_bodies();

    /* ---- throughput ---- */
    pthread_t th[64];
    struct load loads[64];
    memset(loads, 0, sizeof loads);
    double t0 = now_s();
    for (int i = 0; i < clients; i++) pthread_create(&th[i], NULL, load_thread, &loads[i]);
    while (now_s() - t0 < seconds) usleep(50000);
    stop_flag = 1;
    long batches = 0, errors = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        batches += loads[i].batches;
        errors += loads[i].errors;
    }
    double el = now_s() - t0, rate = batches * (double)BATCH / el;
    printf("http: cores=%ld devices=%zu (members %zu) batch=%d clients=%d\n", cores,
           nmembers + nothers, nmembers, BATCH, clients);
    printf("  sightings/s        %.0f            (target >= 200000)            %s\n", rate,
           rate >= 200000 ? "ok" : "MISSED");
    printf("  batches            %ld in %.1f s, %ld errors\n", batches, el, errors);

    /* ---- sighting-to-card latency with displays connected ---- */
    size_t nd = ndisplays;
    int *fds = malloc(nd * sizeof *fds);
    for (size_t i = 0; i < nd; i++) {
        fds[i] = connect_server();
        char req[512];
        int n = snprintf(req, sizeof req,
                         "GET /v1/stores/%s/cards/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                         display_store[i], displays[i]);
        if (fds[i] < 0 || write_all(fds[i], req, (size_t)n)) {
            fprintf(stderr, "bench_http: display %zu could not connect\n", i);
            return 1;
        }
    }
    /* drain the initial bytes (headers, current cards) */
    usleep(500000);
    char buf[65536];
    for (size_t i = 0; i < nd; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        while (poll(&p, 1, 0) > 0 && read(fds[i], buf, sizeof buf) > 0) {}
    }
    double *lat = malloc((size_t)samples * nd * sizeof *lat);
    size_t nlat = 0, missing = 0;
    /* epoll, so that reading a thousand streams costs what arrives, not a
     * scan of every socket per wake-up */
    int ep = epoll_create1(0);
    for (size_t i = 0; i < nd; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    struct epoll_event *evs = malloc(nd * sizeof *evs);
    int post_fd = connect_server();
    /* members the throughput phase did not bring in: each opens a new visit */
    for (int s = 0; s < samples && (size_t)s < nmembers; s++) {
        char e[17], body[128];
        eid_hex(&members[nmembers - 1 - (size_t)s], (uint32_t)time(NULL), e);
        int n = snprintf(body, sizeof body, "{\"sightings\":[{\"eid\":\"%s\"}]}", e);
        struct lstore *ls = &lstores[(size_t)s % nlstores];
        size_t want = (size_t)ls->ndisp;
        char *got = calloc(nd, 1);
        size_t seen = 0;
        double start = now_s();
        post(post_fd, "/v1/sightings", ls->scanner, body, (size_t)n);
        while (seen < want && now_s() - start < 2.0) {
            int k = epoll_wait(ep, evs, (int)nd, 100);
            double t = now_s();
            for (int j = 0; j < k; j++) {
                size_t i = (size_t)evs[j].data.u64;
                ssize_t r = read(fds[i], buf, sizeof buf - 1);
                if (r <= 0) continue;
                buf[r] = '\0';
                if (!got[i] && strstr(buf, "event: card")) {
                    got[i] = 1;
                    seen++;
                    lat[nlat++] = (t - start) * 1000.0;
                }
            }
        }
        missing += want - seen;
        free(got);
        usleep(5000);
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(size_t)(nlat * 0.99)] : 0;
    printf("  sighting->card     p50 %.2f ms  p99 %.2f ms over %zu deliveries, %zu displays "
           "connected at %zu stores (target p99 < 10 ms)  %s\n",
           p50, p99, nlat, nd, nlstores, p99 < 10 && nlat && !missing ? "ok" : "MISSED");
    if (missing) printf("  missing deliveries %zu\n", missing);
    for (size_t i = 0; i < nd; i++) close(fds[i]);
    close(post_fd);
    return 0;
}
