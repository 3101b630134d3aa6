/* test_bus.c — tests for src/service/bus.{h,c} against a real nats-server,
 * started here as a child process on a free loopback port, killed and
 * restarted: delivery between two nodes with the origin header, wildcard
 * subscriptions, skipping one's own messages, an outage (the state goes to
 * disconnected, publishes return at once and are buffered or counted
 * dropped), reconnection by itself when the server is back, a node started
 * before any server, and the size limits.
 *
 * nats-server is required (scripts/install-deps.sh --test installs it):
 * without it this test fails, it does not skip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/bus.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- the nats-server child ---- */

static pid_t server_pid;
static char nats_server_path[4096];

static int find_nats_server(void)
{
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/sbin:/usr/local/sbin", path);
    char *save = NULL;
    for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(nats_server_path, sizeof nats_server_path, "%s/nats-server", dir);
        if (access(nats_server_path, X_OK) == 0) return 0;
    }
    return -1;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void server_start(int port)
{
    assert_int_equal(server_pid, 0);
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    char *argv[] = {nats_server_path, "-a", "127.0.0.1", "-p", portbuf, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&server_pid, nats_server_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) fail_msg("cannot start %s: %s", nats_server_path, strerror(rc));
    for (int64_t until = now_ms() + 5000; !port_accepts(port);) {
        int st;
        if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
            server_pid = 0;
            fail_msg("nats-server exited at start (port %d taken?)", port);
        }
        if (now_ms() > until) fail_msg("nats-server does not accept on port %d", port);
        sleep_ms(10);
    }
}

static void server_kill(void)
{
    if (!server_pid) return;
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    server_pid = 0;
}

static int teardown(void **state)
{
    (void)state;
    server_kill();
    return 0;
}

/* ---- what a node saw ---- */

#define SEEN_MAX 32

struct probe {
    const char *self; /* messages with this origin are counted as own and skipped */
    const char *watch; /* messages on this subject are counted in watched */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state, state_calls;
    int own, n, total, watched;
    char subject[SEEN_MAX][64], origin[SEEN_MAX][32], data[SEEN_MAX][64];
    size_t len[SEEN_MAX];
};

static void probe_init(struct probe *p, const char *self)
{
    memset(p, 0, sizeof *p);
    p->self = self;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

static void on_state(void *cls, int connected)
{
    struct probe *p = cls;
    pthread_mutex_lock(&p->mu);
    p->state = connected;
    p->state_calls++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void on_msg(void *cls, const char *subject, const void *data, size_t len, const char *origin)
{
    struct probe *p = cls;
    pthread_mutex_lock(&p->mu);
    p->total++;
    if (p->watch && !strcmp(subject, p->watch)) p->watched++;
    if (origin && p->self && strcmp(origin, p->self) == 0) {
        p->own++; /* what a real handler does: its own node's news is old news */
    } else if (p->n < SEEN_MAX) {
        snprintf(p->subject[p->n], sizeof p->subject[0], "%s", subject);
        snprintf(p->origin[p->n], sizeof p->origin[0], "%s", origin ? origin : "(none)");
        p->len[p->n] = len;
        memcpy(p->data[p->n], data, len < sizeof p->data[0] ? len : sizeof p->data[0]);
        p->n++;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Waits until *field >= want (or == want when exact); returns the value. */
static int probe_wait(struct probe *p, const int *field, int want, int exact, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (exact ? *field != want : *field < want)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT) break;
    int v = *field;
    pthread_mutex_unlock(&p->mu);
    return v;
}

static struct bus *open_node(const char *url, const char *node, struct probe *p, int rbuf)
{
    struct bus_config cfg = {.url = url, .node = node, .on_state = on_state, .state_cls = p,
                             .reconnect_buf = rbuf};
    struct bus *b = NULL;
    char err[256] = "";
    int rc = bus_open(&cfg, &b, err, sizeof err);
    if (rc) fail_msg("bus_open %s: %s (%s)", node, sk_strerror(rc), err);
    return b;
}

static int connected(struct bus *b)
{
    struct bus_stats st;
    bus_stats(b, &st);
    return st.connected;
}

/* ---- tests ---- */

/* A's messages reach B with origin "A", through a wildcard subscription
 * over several subjects, and A sees its own and can skip them. */
static void test_delivery_and_origin(void **state)
{
    (void)state;
    static struct probe pa, pb;
    probe_init(&pa, "A");
    probe_init(&pb, "B");
    int port = free_port();
    server_start(port);
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    struct bus *a = open_node(url, "A", &pa, 0);
    struct bus *b = open_node(url, "B", &pb, 0);
    assert_int_equal(connected(a), 1);
    assert_int_equal(connected(b), 1);

    assert_int_equal(bus_subscribe(b, "sk.cards.>", on_msg, &pb), 0);
    assert_int_equal(bus_subscribe(a, "sk.cards.>", on_msg, &pa), 0);
    assert_int_equal(bus_flush(a, 2000), 0);
    assert_int_equal(bus_flush(b, 2000), 0);

    assert_int_equal(bus_publish(a, "sk.cards.updated", "c1", 2), 0);
    assert_int_equal(bus_publish(a, "sk.cards.brand.7.revoked", "c2", 2), 0);
    assert_int_equal(bus_publish(a, "sk.presence.store1", "p", 1), 0); /* not subscribed */
    assert_int_equal(bus_publish(a, "sk.cards.empty", NULL, 0), 0);

    assert_int_equal(probe_wait(&pb, &pb.n, 3, 0, 3000), 3);
    pthread_mutex_lock(&pb.mu);
    assert_string_equal(pb.subject[0], "sk.cards.updated");
    assert_string_equal(pb.origin[0], "A");
    assert_int_equal(pb.len[0], 2);
    assert_memory_equal(pb.data[0], "c1", 2);
    assert_string_equal(pb.subject[1], "sk.cards.brand.7.revoked");
    assert_string_equal(pb.origin[1], "A");
    assert_memory_equal(pb.data[1], "c2", 2);
    assert_string_equal(pb.subject[2], "sk.cards.empty");
    assert_int_equal(pb.len[2], 0);
    pthread_mutex_unlock(&pb.mu);

    /* A's own subscription got its three sk.cards messages, all marked as
     * its own, and nothing from anyone else */
    assert_int_equal(probe_wait(&pa, &pa.own, 3, 0, 3000), 3);
    assert_int_equal(pa.n, 0);

    /* B answers: A receives it with origin "B" */
    assert_int_equal(bus_publish(b, "sk.cards.seen", "x", 1), 0);
    assert_int_equal(probe_wait(&pa, &pa.n, 1, 0, 3000), 1);
    assert_string_equal(pa.origin[0], "B");

    struct bus_stats st;
    bus_stats(a, &st);
    assert_int_equal(st.published, 4);
    assert_int_equal(st.received, 4); /* its own three and B's one */
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.reconnects, 0);
    bus_close(a);
    bus_close(b);
    server_kill();
}

/* The server dies: both nodes say disconnected, publishing returns at
 * once (buffered, or dropped once the small buffer of C is full); the
 * server comes back on the same port and the nodes reconnect by
 * themselves and messages flow again. */
static void test_outage_and_reconnect(void **state)
{
    (void)state;
    static struct probe pa, pb, pc;
    probe_init(&pa, "A");
    probe_init(&pb, "B");
    probe_init(&pc, "C");
    int port = free_port();
    server_start(port);
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    struct bus *a = open_node(url, "A", &pa, 0);
    struct bus *b = open_node(url, "B", &pb, 0);
    struct bus *c = open_node(url, "C", &pc, 2048);
    assert_int_equal(bus_subscribe(b, "sk.cards.>", on_msg, &pb), 0);
    assert_int_equal(bus_flush(b, 2000), 0);

    server_kill();
    assert_int_equal(probe_wait(&pa, &pa.state_calls, 1, 0, 3000), 1);
    assert_int_equal(probe_wait(&pb, &pb.state_calls, 1, 0, 3000), 1);
    assert_int_equal(probe_wait(&pc, &pc.state_calls, 1, 0, 3000), 1);
    assert_int_equal(pa.state, 0);
    assert_int_equal(connected(a), 0);
    assert_int_equal(connected(b), 0);

    /* A (8 MiB buffer) buffers everything; C (2 KiB) drops once full;
     * neither waits. nats.c tries to reconnect every 250 ms meanwhile. */
    char payload[512];
    memset(payload, 'p', sizeof payload);
    int64_t worst = 0;
    int busy = 0;
    for (int i = 0; i < 40; i++) {
        int64_t t0 = now_ms();
        assert_int_equal(bus_publish(a, "sk.cards.during", payload, sizeof payload), 0);
        int rc = bus_publish(c, "sk.cards.during", payload, sizeof payload);
        int64_t dt = now_ms() - t0;
        if (dt > worst) worst = dt;
        if (rc == SK_EBUSY) busy++;
        else assert_int_equal(rc, 0);
        if (i % 10 == 0) sleep_ms(20); /* spread over reconnect attempts */
    }
    assert_true(worst < 50);
    assert_true(busy > 0);
    struct bus_stats st;
    bus_stats(c, &st);
    assert_int_equal(st.dropped, busy);
    assert_int_equal(st.published, 40 - busy);
    bus_stats(a, &st);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.published, 40);
    assert_int_equal(st.connected, 0);

    sleep_ms(300); /* at least one failed reconnect attempt */
    server_start(port);
    int64_t back = now_ms();
    assert_int_equal(probe_wait(&pa, &pa.state, 1, 1, 3000), 1);
    assert_int_equal(probe_wait(&pb, &pb.state, 1, 1, 3000), 1);
    assert_int_equal(probe_wait(&pc, &pc.state, 1, 1, 3000), 1);
    int64_t rejoin = now_ms() - back;
    bus_stats(a, &st);
    assert_int_equal(st.connected, 1);
    assert_int_equal(st.reconnects, 1);
    assert_true(st.changed_us > 0);

    /* new messages flow again; what A buffered was sent on reconnection,
     * but may have reached the server before B subscribed again (so it is
     * counted, not required) */
    assert_int_equal(bus_flush(b, 2000), 0);
    pthread_mutex_lock(&pb.mu);
    pb.watch = "sk.cards.after";
    int buffered_seen = pb.total;
    pthread_mutex_unlock(&pb.mu);
    assert_int_equal(bus_publish(a, "sk.cards.after", "ok", 2), 0);
    assert_int_equal(probe_wait(&pb, &pb.watched, 1, 0, 3000), 1);
    print_message("outage: all three reconnected %lld ms after the server accepted again\n",
                  (long long)rejoin);
    print_message("outage: slowest publish %lld ms; C dropped %d of 40; "
                  "B got %d of the %d buffered by A and C\n",
                  (long long)worst, busy, buffered_seen, 40 + 40 - busy);
    bus_close(a);
    bus_close(b);
    bus_close(c);
    server_kill();
}

/* A node opened with no server running starts, and connects when the
 * server appears. */
static void test_start_before_server(void **state)
{
    (void)state;
    static struct probe pl, pm;
    probe_init(&pl, "L");
    probe_init(&pm, "M");
    int port = free_port();
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    int64_t t0 = now_ms();
    struct bus *l = open_node(url, "L", &pl, 0);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(connected(l), 0);
    assert_int_equal(bus_subscribe(l, "sk.presence.*", on_msg, &pl), 0);
    /* before any server was seen nats.c cannot send headers: dropped */
    assert_int_equal(bus_publish(l, "sk.presence.early", "e", 1), SK_EIO);
    struct bus_stats st;
    bus_stats(l, &st);
    assert_int_equal(st.dropped, 1);

    server_start(port);
    assert_int_equal(probe_wait(&pl, &pl.state, 1, 1, 3000), 1);
    assert_int_equal(connected(l), 1);
    bus_stats(l, &st);
    assert_int_equal(st.reconnects, 0); /* a first connection, not a re-connection */

    struct bus *m = open_node(url, "M", &pm, 0);
    assert_int_equal(bus_subscribe(m, "sk.presence.*", on_msg, &pm), 0);
    assert_int_equal(bus_flush(m, 2000), 0);
    assert_int_equal(bus_flush(l, 2000), 0);
    assert_int_equal(bus_publish(m, "sk.presence.store2", "m", 1), 0);
    assert_int_equal(bus_publish(l, "sk.presence.store1", "l", 1), 0);
    assert_int_equal(probe_wait(&pl, &pl.n, 1, 0, 3000), 1);
    assert_string_equal(pl.origin[0], "M");
    assert_int_equal(probe_wait(&pm, &pm.n, 1, 0, 3000), 1);
    assert_string_equal(pm.origin[0], "L");
    assert_string_equal(pm.subject[0], "sk.presence.store1");
    bus_close(l);
    bus_close(m);
    server_kill();
}

/* Sizes and shapes refused before anything is sent; no server needed. */
static void test_limits(void **state)
{
    (void)state;
    static struct probe p;
    probe_init(&p, "N");
    int port = free_port();
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    struct bus *b = open_node(url, "N", &p, 0);

    char subject[BUS_SUBJECT_MAX + 2];
    memset(subject, 'a', sizeof subject);
    subject[BUS_SUBJECT_MAX + 1] = '\0';
    assert_int_equal(bus_publish(b, subject, "x", 1), SK_ETOOBIG);
    assert_int_equal(bus_subscribe(b, subject, on_msg, &p), SK_ETOOBIG);
    static char big[BUS_PAYLOAD_MAX + 1];
    assert_int_equal(bus_publish(b, "sk.cards.big", big, sizeof big), SK_ETOOBIG);

    const char *bad[] = {"", "sk..cards", ".sk", "sk.", "sk cards", "sk.\r\n", "sk.*", "sk.>",
                         "sk.c*"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(bus_publish(b, bad[i], "x", 1), SK_EINVAL);
    assert_int_equal(bus_publish(b, NULL, "x", 1), SK_EINVAL);
    assert_int_equal(bus_publish(b, "sk.x", NULL, 1), SK_EINVAL);
    assert_int_equal(bus_subscribe(b, "sk.>.x", on_msg, &p), SK_EINVAL);
    assert_int_equal(bus_subscribe(b, "sk.a>", on_msg, &p), SK_EINVAL);
    assert_int_equal(bus_subscribe(b, "sk.*.x", on_msg, &p), 0);
    struct bus_stats st;
    bus_stats(b, &st);
    assert_int_equal(st.dropped, 0); /* refusals are not drops */
    assert_int_equal(st.published, 0);

    /* the largest allowed ones pass the checks (and, never connected, are
     * dropped by nats.c) */
    subject[BUS_SUBJECT_MAX] = '\0';
    assert_int_equal(bus_publish(b, subject, big, BUS_PAYLOAD_MAX), SK_EIO);
    bus_close(b);

    struct bus *none = NULL;
    char err[128];
    struct bus_config cfg = {.url = url, .node = "bad name"};
    assert_int_equal(bus_open(&cfg, &none, err, sizeof err), SK_EINVAL);
    cfg = (struct bus_config){.url = "http://127.0.0.1:4222", .node = "n"};
    assert_int_equal(bus_open(&cfg, &none, err, sizeof err), SK_EINVAL);
    cfg = (struct bus_config){.url = " , ", .node = "n"};
    assert_int_equal(bus_open(&cfg, &none, err, sizeof err), SK_EINVAL);
    cfg = (struct bus_config){.url = NULL, .node = "n"};
    assert_int_equal(bus_open(&cfg, &none, err, sizeof err), SK_EINVAL);
    assert_null(none);
    bus_close(NULL);
}

/* Several URLs, the first dead: the node connects to the live one. */
static void test_url_list(void **state)
{
    (void)state;
    static struct probe p;
    probe_init(&p, "U");
    int dead = free_port(), live = free_port();
    server_start(live);
    char url[128];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d, nats://127.0.0.1:%d", dead, live);
    struct bus *b = open_node(url, "U", &p, 0);
    if (!connected(b)) assert_int_equal(probe_wait(&p, &p.state, 1, 1, 3000), 1);
    assert_int_equal(bus_flush(b, 2000), 0);
    bus_close(b);
    server_kill();
}

int main(void)
{
    if (find_nats_server()) {
        fprintf(stderr, "test_bus: FAILED: nats-server is not installed (not on PATH); "
                        "run scripts/install-deps.sh --test\n");
        return 1;
    }
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_limits, teardown),
        cmocka_unit_test_teardown(test_delivery_and_origin, teardown),
        cmocka_unit_test_teardown(test_outage_and_reconnect, teardown),
        cmocka_unit_test_teardown(test_start_before_server, teardown),
        cmocka_unit_test_teardown(test_url_list, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    server_kill();
    bus_shutdown();
    return failed;
}
