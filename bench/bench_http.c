/*
 * bench_http.c — end-to-end figures against a running `shopkeeper serve`
 * seeded by bench_seed, over HTTP on loopback, from a separate process:
 *
 *   throughput  POST /v1/sightings in batches of 1000 from several client
 *               connections for a fixed time; 10% of sightings are members'
 *               devices, 45% other registered devices (not members), 45%
 *               random EIDs that resolve to nobody.
 *   displays    connect every counter display of the seed: two at each of
 *               5000 stores and 1000 at one store (11 000 streams); with
 *               BENCH_SERVER_PID set, the server's threads and resident
 *               memory while they are connected.
 *   latency     post one member's EID at a store of the chain and time its
 *               "card" event at that store's displays; p50/p99 over all
 *               deliveries, with every display connected.
 *   fan-out     post a member's EID at the store with 1000 displays and time
 *               the card's arrival at the last of them.
 *
 * usage: bench_http PORT KEYS TOKENS [SECONDS] [CLIENTS] [SAMPLES] [throughput]
 * With "throughput" last, only the throughput phase runs (bench_cluster.py
 * points it at haproxy's port and at one node's in turn).
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
#define FANOUT_SAMPLES 20

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
/* every display: the chain's first, then the fan-out store's */
static char **displays;
static char **display_store;
static size_t ndisplays, nchain, cap_displays;
static char fstore[64], fscanner[128];
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

/* Sends one POST on a keep-alive connection (its answer not read). */
static int send_post(int fd, const char *path, const char *token, const char *body, size_t len)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      path, token, len);
    return write_all(fd, head, (size_t)hn) || write_all(fd, body, len) ? -1 : 0;
}

/* Reads one answer on fd; its status or -1. */
static int read_answer(int fd)
{
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

/* Sends one POST on a keep-alive connection and reads the answer; returns
 * the status or -1. */
static int post(int fd, const char *path, const char *token, const char *body, size_t len)
{
    return send_post(fd, path, token, body, len) ? -1 : read_answer(fd);
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
    lstores = calloc(10000, sizeof *lstores);
    char label[32], sid[64], tok[128];
    while (fscanf(f, "%31s %63s %127s", label, sid, tok) == 3) {
        if (!strcmp(label, "scanner")) {
            snprintf(scanner, sizeof scanner, "%s", tok);
        } else if (!strcmp(label, "lscanner") && nlstores < 10000) {
            snprintf(lstores[nlstores].id, sizeof lstores[nlstores].id, "%s", sid);
            snprintf(lstores[nlstores].scanner, sizeof lstores[nlstores].scanner, "%s", tok);
            nlstores++;
        } else if (!strcmp(label, "fscanner")) {
            snprintf(fstore, sizeof fstore, "%s", sid);
            snprintf(fscanner, sizeof fscanner, "%s", tok);
        } else if (!strcmp(label, "display") || !strcmp(label, "fdisplay")) {
            int chain = label[0] == 'd';
            if (chain && (!nlstores || nchain != ndisplays)) continue; /* chain's come first */
            if (ndisplays == cap_displays) {
                cap_displays = cap_displays ? cap_displays * 2 : 4096;
                displays = realloc(displays, cap_displays * sizeof *displays);
                display_store = realloc(display_store, cap_displays * sizeof *display_store);
            }
            if (chain) {
                struct lstore *ls = &lstores[nlstores - 1];
                if (ls->ndisp < 4) ls->disp[ls->ndisp++] = (int)ndisplays;
                nchain++;
            }
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

/* A process's CPU time (user + system) in ms, from /proc; 0 when unknown. */
static double proc_cpu_ms(int pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')'); /* fields after the command name */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static void proc_status(int pid, long *threads, long *rss_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Threads:", 8)) *threads = atol(line + 8);
        if (!strncmp(line, "VmRSS:", 6)) *rss_kb = atol(line + 6);
    }
    fclose(f);
}

/* Opens a card stream for every display, in rounds of 500 (each round's
 * streams answered before the next, as a chain's displays come up over
 * time rather than in one burst past the listen queue); every socket is
 * added to ep. */
static int connect_displays(int *fds, size_t nd, int ep, struct epoll_event *evs)
{
    char buf[65536];
    for (size_t start = 0; start < nd; start += 500) {
        size_t end = start + 500 < nd ? start + 500 : nd;
        for (size_t i = start; i < end; i++) {
            fds[i] = connect_server();
            char req[512];
            int n = snprintf(req, sizeof req,
                             "GET /v1/stores/%s/cards/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                             display_store[i], displays[i]);
            if (fds[i] < 0 || write_all(fds[i], req, (size_t)n)) {
                fprintf(stderr, "bench_http: display %zu could not connect (%s)\n", i,
                        strerror(errno));
                return -1;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
            epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        }
        /* each answers 200 and its opening comment (and the current cards) */
        size_t want = end - start, ok = 0;
        double t0 = now_s();
        char *seen = calloc(end - start, 1);
        while (ok < want && now_s() - t0 < 30) {
            int k = epoll_wait(ep, evs, (int)nd, 100);
            for (int j = 0; j < k; j++) {
                size_t i = (size_t)evs[j].data.u64;
                ssize_t r = read(fds[i], buf, sizeof buf - 1);
                if (r <= 0 || i < start || i >= end || seen[i - start]) continue;
                buf[r] = '\0';
                if (strstr(buf, "keep-alive every")) {
                    seen[i - start] = 1;
                    ok++;
                } else if (strncmp(buf, "HTTP/1.1 200", 12) != 0) {
                    fprintf(stderr, "bench_http: display %zu refused: %.200s\n", i, buf);
                    return -1;
                }
            }
        }
        free(seen);
        if (ok < want) {
            fprintf(stderr, "bench_http: %zu of %zu displays did not open their stream\n",
                    want - ok, want);
            return -1;
        }
    }
    return 0;
}

/* Posts member's EID at a store (its scanner key) and waits up to 2 s for
 * the "card" event at each of the store's displays idx[0..n); t[k] is the
 * k-th arrival in ms after the post began; the number that arrived. The
 * scanner's own answer (202) is read as it comes, among the displays'
 * events (post_fd is in ep as POST_ID): a display does not wait for it. */
#define POST_ID UINT64_MAX
static size_t deliver(int post_fd, int ep, struct epoll_event *evs, const int *fds, char *got,
                      const char *scanner_key, const struct dev *member, const int *idx,
                      size_t n, double *t, char *buf, size_t buflen)
{
    char e[17], body[128];
    eid_hex(member, (uint32_t)time(NULL), e);
    int len = snprintf(body, sizeof body, "{\"sightings\":[{\"eid\":\"%s\"}]}", e);
    memset(got, 2, ndisplays); /* 2: not this store's, 0: awaited, 1: arrived */
    for (size_t k = 0; k < n; k++) got[idx[k]] = 0;
    size_t seen = 0;
    double start = now_s();
    int answered = send_post(post_fd, "/v1/sightings", scanner_key, body, (size_t)len) != 0;
    while ((seen < n || !answered) && now_s() - start < 2.0) {
        int k = epoll_wait(ep, evs, (int)ndisplays + 1, 100);
        for (int j = 0; j < k; j++) {
            if (evs[j].data.u64 == POST_ID) {
                if (read_answer(post_fd) != 202) fprintf(stderr, "bench_http: sighting refused\n");
                answered = 1;
                continue;
            }
            size_t i = (size_t)evs[j].data.u64;
            ssize_t r = read(fds[i], buf, buflen - 1);
            double at = now_s();
            if (r <= 0) continue;
            buf[r] = '\0';
            if (got[i] == 0 && strstr(buf, "event: card")) {
                got[i] = 1;
                t[seen++] = (at - start) * 1000.0;
            }
        }
    }
    return seen;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_http PORT KEYS TOKENS [SECONDS] [CLIENTS] [SAMPLES] [throughput]\n");
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
    int only_throughput = argc > 7 && !strcmp(argv[7], "throughput");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (load_file(argv[2], argv[3])) {
        fprintf(stderr, "bench_http: cannot read %s or %s\n", argv[2], argv[3]);
        return 1;
    }
    size_t reserved = (size_t)samples + FANOUT_SAMPLES;
    nload = nmembers > reserved ? nmembers - reserved : 0;
    build_bodies();

    /* ---- throughput ---- */
    pthread_t th[64];
    struct load loads[64];
    memset(loads, 0, sizeof loads);
    struct rusage tu0, tu1;
    getrusage(RUSAGE_SELF, &tu0);
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
    getrusage(RUSAGE_SELF, &tu1);
    printf("http: cores=%ld devices=%zu (members %zu) batch=%d clients=%d\n", cores,
           nmembers + nothers, nmembers, BATCH, clients);
    printf("  sightings/s        %.0f            (target >= 200000)            %s\n", rate,
           rate >= 200000 ? "ok" : "MISSED");
    printf("  batches            %ld in %.1f s, %ld errors\n", batches, el, errors);
    if (only_throughput) {
        printf("  load generator     %.2f s of CPU\n",
               (double)(tu1.ru_utime.tv_sec - tu0.ru_utime.tv_sec) +
                   (tu1.ru_utime.tv_usec - tu0.ru_utime.tv_usec) / 1e6 +
                   (double)(tu1.ru_stime.tv_sec - tu0.ru_stime.tv_sec) +
                   (tu1.ru_stime.tv_usec - tu0.ru_stime.tv_usec) / 1e6);
        return errors ? 1 : 0;
    }

    /* ---- every display connected ---- */
    size_t nd = ndisplays;
    int *fds = malloc(nd * sizeof *fds);
    int ep = epoll_create1(0);
    struct epoll_event *evs = malloc((nd + 1) * sizeof *evs);
    char buf[65536];
    double c0 = now_s();
    if (connect_displays(fds, nd, ep, evs)) return 1;
    double connect_s = now_s() - c0;
    printf("displays: %zu connected (two at each of %zu stores, %zu at one store) in %.1f s\n",
           nd, nlstores, nd - nchain, connect_s);
    const char *spid = getenv("BENCH_SERVER_PID");
    if (spid) {
        long threads = 0, rss_kb = 0;
        proc_status(atoi(spid), &threads, &rss_kb);
        printf("  server             %ld threads, %.0f MiB resident with %zu streams open "
               "(target: 10000 displays on one node)  %s\n",
               threads, rss_kb / 1024.0, nd, nd >= 10000 ? "ok" : "MISSED");
    }

    /* ---- sighting-to-card latency at the chain's stores ---- */
    double *lat = malloc((size_t)samples * 4 * sizeof *lat);
    size_t nlat = 0, missing = 0;
    char *got = calloc(nd, 1);
    int post_fd = connect_server();
    struct epoll_event pev = {.events = EPOLLIN, .data.u64 = POST_ID};
    epoll_ctl(ep, EPOLL_CTL_ADD, post_fd, &pev);
    /* members the throughput phase did not bring in: each opens a new visit */
    for (int s = 0; s < samples && (size_t)s < nmembers; s++) {
        struct lstore *ls = &lstores[((size_t)s * 37) % nlstores];
        double t[4];
        size_t seen = deliver(post_fd, ep, evs, fds, got, ls->scanner,
                              &members[nmembers - 1 - (size_t)s], ls->disp,
                              (size_t)ls->ndisp, t, buf, sizeof buf);
        for (size_t k = 0; k < seen; k++) lat[nlat++] = t[k];
        missing += (size_t)ls->ndisp - seen;
        usleep(5000);
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(size_t)(nlat * 0.99)] : 0;
    printf("  sighting->card     p50 %.2f ms  p99 %.2f ms over %zu deliveries, %zu displays "
           "connected at %zu stores (target p99 < 5 ms)  %s\n",
           p50, p99, nlat, nd, nlstores + 1, p99 < 5 && nlat && !missing ? "ok" : "MISSED");
    if (missing) printf("  missing deliveries %zu\n", missing);

    /* ---- fan-out: one card to the thousand displays of one store ---- */
    size_t nf = nd - nchain;
    if (nf && fscanner[0]) {
        int *idx = malloc(nf * sizeof *idx);
        double *t = malloc(nf * sizeof *t), last[FANOUT_SAMPLES], first[FANOUT_SAMPLES];
        for (size_t i = 0; i < nf; i++) idx[i] = (int)(nchain + i);
        int nlast = 0;
        size_t fmissing = 0;
        struct rusage ru0, ru1;
        getrusage(RUSAGE_SELF, &ru0);
        int spid_n = spid ? atoi(spid) : 0;
        double srv0 = spid_n ? proc_cpu_ms(spid_n) : 0;
        for (int s = 0; s < FANOUT_SAMPLES; s++) {
            size_t m = nmembers - 1 - (size_t)samples - (size_t)s;
            size_t seen = deliver(post_fd, ep, evs, fds, got, fscanner, &members[m], idx, nf,
                                  t, buf, sizeof buf);
            if (seen == nf) {
                double mx = 0, mn = 1e9;
                for (size_t k = 0; k < nf; k++) {
                    mx = t[k] > mx ? t[k] : mx;
                    mn = t[k] < mn ? t[k] : mn;
                }
                first[nlast] = mn;
                last[nlast++] = mx;
            }
            fmissing += nf - seen;
            usleep(20000);
        }
        getrusage(RUSAGE_SELF, &ru1);
        double cpu_ms = ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e3 +
                         (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e3 +
                         (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
                         (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3) / FANOUT_SAMPLES;
        double srv_ms = spid_n ? (proc_cpu_ms(spid_n) - srv0) / FANOUT_SAMPLES : 0;
        qsort(last, (size_t)nlast, sizeof *last, cmp_double);
        qsort(first, (size_t)nlast, sizeof *first, cmp_double);
        double worst = nlast ? last[nlast - 1] : 0;
        printf("  fan-out            to the last of %zu displays at one store: p50 %.2f ms, "
               "worst %.2f ms over %d cards (target < 10 ms)  %s\n",
               nf, nlast ? last[nlast / 2] : 0, worst, nlast,
               nlast == FANOUT_SAMPLES && worst < 10 ? "ok" : "MISSED");
        if (nlast)
            printf("                     (the first display has it after p50 %.2f ms: the rest "
                   "is the delivery to the others;\n"
                   "                     on the same %ld cores, CPU per card: this load generator "
                   "%.1f ms reading it, the server %.1f ms)\n",
                   first[nlast / 2], cores, cpu_ms, srv_ms);
        if (fmissing) printf("  missing deliveries %zu\n", fmissing);
        free(idx);
        free(t);
    }
    for (size_t i = 0; i < nd; i++) close(fds[i]);
    close(post_fd);
    free(got);
    return 0;
}
