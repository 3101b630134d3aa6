/* test_recog.c — the recognition service (src/service/recog.{h,c}) over a
 * real store, every case on each engine: SQLite in a temporary directory,
 * and PostgreSQL in databases of its own when SHOPKEEPER_TEST_PG is set
 * (pgtest.h; skipped otherwise). The visit state machine
 * (a sighting opens a visit and publishes "card"; more presences keep it
 * open silently; a preference change publishes "update"; withdrawing
 * recognition or leaving publishes "gone" and later sightings drop; a quiet
 * visit closes on the tick), strangers and non-members leave no row, served,
 * the app and counter-code channels, device removal, X25519 registration,
 * reloading devices at start, the replay flag across cities, and two nodes
 * of a cluster sharing one visit (joined, closed when quiet everywhere, left
 * open by a node that stops, closed by another when nobody hears the shopper). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/countercode.h"
#include "core/choices.h"
#include "core/eid.h"
#include "service/recog.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUIET_S 300

/* ---- published events ---------------------------------------------------- */

#define EVENTS_MAX 64

struct event {
    char store_id[ID_MAX];
    char name[16];
    json_t *data; /* a copy */
};

struct recorder {
    struct event ev[EVENTS_MAX];
    size_t n;
};

static void on_publish(void *ctx, const char *store_id, const char *event, json_t *data)
{
    struct recorder *rec = ctx;
    if (rec->n == EVENTS_MAX) fail_msg("too many events");
    struct event *e = &rec->ev[rec->n++];
    snprintf(e->store_id, sizeof e->store_id, "%s", store_id);
    snprintf(e->name, sizeof e->name, "%s", event);
    e->data = json_deep_copy(data);
}

static void recorder_clear(struct recorder *rec)
{
    for (size_t i = 0; i < rec->n; i++) json_decref(rec->ev[i].data);
    rec->n = 0;
}

/* ---- fixture: a brand with choices, a store in Seattle, a member ----------- */

struct fx {
    char dir[64], path[96];   /* SQLite */
    struct pgtest_db pg;      /* PostgreSQL */
    uint8_t master[CRYPTO_KEY_LEN];
    struct store *st;
    struct db *peek;          /* the same database, for the tests to look at */
    struct recog *r;
    struct recorder rec;
    char brand[ID_MAX], store_id[ID_MAX], customer[ID_MAX];
};

static const struct recog_config CFG = {
    .tolerance = 1, .quiet_s = QUIET_S, .k_min = 4, .k_max = 15};

static int64_t now_s(void) { return time_now_us() / 1000000; }

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) fail_msg("bad test JSON (%s): %s", e.text, text);
    return v;
}

static void make_store(struct fx *f, const char *name, const char *city, char ret[ID_MAX])
{
    json_t *fields = json_pack("{s:s, s:s, s:s}", "name", name, "timezone", "America/Los_Angeles",
                               "city", city);
    json_t *row;
    assert_int_equal(f->st->ops->store_create(f->st, f->brand, fields, &row), 0);
    snprintf(ret, ID_MAX, "%s", json_string_value(json_object_get(row, "id")));
    json_decref(row);
    json_decref(fields);
}

static void make_customer(struct fx *f, const char *name, const char *email, char ret[ID_MAX])
{
    json_t *row;
    assert_int_equal(f->st->ops->customer_create(f->st, name, email, "unused", &row), 0);
    snprintf(ret, ID_MAX, "%s", json_string_value(json_object_get(row, "id")));
    json_decref(row);
}

static void grant(struct fx *f, const char *customer, const char *purposes)
{
    struct purpose_set ps;
    purpose_set_from_words(&ps, purposes);
    json_t *m;
    assert_int_equal(f->st->ops->membership_put(f->st, customer, f->brand, &ps, "api", &m), 0);
    json_decref(m);
}

static void answer(struct fx *f, const char *customer, const char *answers, const char *dont)
{
    json_t *a = parse(answers), *d = parse(dont), *out;
    assert_int_equal(f->st->ops->preferences_put(f->st, customer, f->brand, 1, a, d, &out), 0);
    json_decref(out);
    json_decref(a);
    json_decref(d);
}

/* The brand, its store and member on the fresh store f->st, and the service. */
static int fx_fill(struct fx *f)
{
    char err[256];
    int rc;
    json_t *b;
    assert_int_equal(f->st->ops->brand_create(f->st, "Bean There", "bean-there", &b), 0);
    snprintf(f->brand, sizeof f->brand, "%s", json_string_value(json_object_get(b, "id")));
    json_decref(b);
    json_t *raw = parse("[{\"key\":\"drink\",\"label\":\"The usual\",\"kind\":\"text\"},"
                        " {\"key\":\"receipt\",\"label\":\"Wants a receipt\",\"kind\":\"yesno\"}]");
    json_t *defs, *row;
    assert_int_equal(choices_validate(raw, &defs, err, sizeof err), 0);
    assert_int_equal(f->st->ops->choices_put(f->st, f->brand, defs, &row), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "version")), 1);
    json_decref(row);
    json_decref(defs);
    json_decref(raw);

    make_store(f, "Pike Place", "Seattle", f->store_id);
    make_customer(f, "Jeff", "jeff@example.com", f->customer);
    grant(f, f->customer, "recognition preferences");
    answer(f, f->customer, "{\"drink\":\"Tall Drip Pike\",\"receipt\":false}", "[\"receipt\"]");

    struct recog_events ev = {.ctx = &f->rec, .publish = on_publish};
    rc = recog_new(f->st, &CFG, &ev, &f->r, err, sizeof err);
    if (rc) fail_msg("recog_new: %s", err);
    return 0;
}

static int fx_sqlite(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/sk_test_recog_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/shopkeeper.db", f->dir);
    assert_int_equal(crypto_random(f->master, sizeof f->master), 0);
    char err[256];
    int rc = store_sqlite_open(f->path, f->master, &f->st, err, sizeof err);
    if (rc) fail_msg("store_sqlite_open: %s", err);
    if (db_sqlite_open(f->path, 1, &f->peek, err, sizeof err)) fail_msg("db_sqlite_open: %s", err);
    return fx_fill(f);
}

/* Without SHOPKEEPER_TEST_PG the state stays NULL and the test skips. */
static int fx_pg(void **state)
{
    *state = NULL;
    if (!pgtest_conninfo()) return 0;
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    char err[512];
    if (pgtest_create("recog", &f->pg, err, sizeof err)) fail_msg("pgtest_create: %s", err);
    assert_int_equal(crypto_random(f->master, sizeof f->master), 0);
    int rc = store_pg_open(f->pg.conninfo, NULL, f->master, &f->st, err, sizeof err);
    if (rc) fail_msg("store_pg_open: %s", err);
    if (db_pg_open(f->pg.conninfo, 1, &f->peek, err, sizeof err)) fail_msg("db_pg_open: %s", err);
    return fx_fill(f);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f) return 0;
    recog_free(f->r);
    store_close(f->st);
    db_close(f->peek);
    recorder_clear(&f->rec);
    if (f->path[0]) {
        const char *suffix[] = {"", "-wal", "-shm", "-journal", ".keys", ".keys-wal", ".keys-shm"};
        for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
            char p[128];
            snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
            unlink(p);
        }
        rmdir(f->dir);
    }
    pgtest_drop(&f->pg);
    free(f);
    return 0;
}

/* The test's fixture; skips the test when its engine is not there. */
static struct fx *fx_of(void **state)
{
    struct fx *f = *state;
    if (!f) skip();
    return f;
}

/* ---- devices, as a tag provisioned at a desk would hold them -------------- */

struct device {
    char id[ID_MAX];
    uint8_t ik[EID_IK_LEN];
    unsigned k;
    uint32_t clock0;   /* its clock when registered */
    int64_t at_s;      /* server seconds then */
};

static void register_device(struct fx *f, const char *customer, unsigned k, struct device *d)
{
    json_t *ans;
    memset(d, 0, sizeof *d);
    assert_int_equal(recog_register_shared(f->r, customer, "tag", k, &ans), 0);
    d->at_s = now_s();
    snprintf(d->id, sizeof d->id, "%s", json_string_value(json_object_get(ans, "id")));
    const char *hex = json_string_value(json_object_get(ans, "identity_key"));
    assert_non_null(hex);
    assert_int_equal(hex_decode(hex, d->ik, sizeof d->ik), 0);
    json_t *clock = json_object_get(ans, "clock");
    assert_true(json_is_integer(clock));
    d->clock0 = (uint32_t)json_integer_value(clock);
    d->k = k;
    json_decref(ans);
}

static uint32_t device_clock(const struct device *d)
{
    return d->clock0 + (uint32_t)(now_s() - d->at_s);
}

static void device_eid(const struct device *d, uint8_t eid[EID_LEN])
{
    assert_int_equal(eid_compute(d->ik, d->k, device_clock(d), eid), 0);
}

static int sight_eid(struct fx *f, const char *store_id, const uint8_t eid[EID_LEN])
{
    struct sighting s = {.rssi = -60, .seen_us = time_now_us()};
    memcpy(s.eid, eid, EID_LEN);
    return recog_sightings(f->r, store_id, &s, 1);
}

static void sight(struct fx *f, const char *store_id, const struct device *d)
{
    uint8_t eid[EID_LEN];
    device_eid(d, eid);
    assert_int_equal(sight_eid(f, store_id, eid), 0);
}

/* ---- looking at the database directly ------------------------------------ */

/* One row of one column, through the engine under test (`?` binds param,
 * when there is one, as text). */
static struct db_cur *db_one(struct fx *f, struct dbc **c, const char *sql, const char *param)
{
    *c = db_acquire(f->peek);
    struct db_cur *cur = NULL;
    int rc = db_query(*c, &cur, sql, param ? "s" : NULL, param);
    if (rc) {
        db_release(f->peek, *c);
        fail_msg("%s: %s", sql, sk_strerror(rc));
    }
    if (db_next(cur) != 1) {
        db_done(cur);
        db_release(f->peek, *c);
        fail_msg("%s: no row", sql);
    }
    return cur;
}

static long long db_count(struct fx *f, const char *sql, const char *param)
{
    struct dbc *c;
    struct db_cur *cur = db_one(f, &c, sql, param);
    long long n = db_col_int(cur, 0);
    db_done(cur);
    db_release(f->peek, c);
    return n;
}

static void db_text(struct fx *f, const char *sql, const char *param, char *out, size_t len)
{
    struct dbc *c;
    struct db_cur *cur = db_one(f, &c, sql, param);
    const char *t = db_col_text(cur, 0, NULL);
    snprintf(out, len, "%s", t ? t : "(null)");
    db_done(cur);
    db_release(f->peek, c);
}

static long long visits_of(struct fx *f, const char *customer)
{
    return db_count(f, "SELECT count(*) FROM visits WHERE customer_id = ?", customer);
}

/* ---- event checks --------------------------------------------------------- */

static const struct event *last_event(struct fx *f) { return &f->rec.ev[f->rec.n - 1]; }

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Expects exactly one new "card" for the fixture's member; returns its visit. */
static void expect_card(struct fx *f, size_t before, const char *store_id, const char *channel,
                        char visit[ID_MAX])
{
    assert_int_equal(f->rec.n, before + 1);
    const struct event *e = last_event(f);
    assert_string_equal(e->name, "card");
    assert_string_equal(e->store_id, store_id);
    assert_string_equal(str(e->data, "store"), store_id);
    assert_string_equal(str(e->data, "channel"), channel);
    assert_string_equal(str(json_object_get(e->data, "customer"), "name"), "Jeff");
    assert_true(json_is_false(json_object_get(e->data, "served")));
    assert_non_null(str(e->data, "opened_at"));
    assert_int_equal(strncmp(str(e->data, "visit"), "vis_", 4), 0);
    snprintf(visit, ID_MAX, "%s", str(e->data, "visit"));
}

/* ---- the visit state machine ------------------------------------------------ */

static void test_sighting_opens_one_visit(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    assert_int_equal(recog_device_count(f->r), 1);

    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);
    json_t *card = f->rec.ev[0].data;
    /* "receipt" is answered but on the don't-list: it shows only there */
    json_t *want = parse("[{\"key\":\"drink\",\"label\":\"The usual\","
                         "  \"value\":\"Tall Drip Pike\"}]");
    assert_true(json_equal(json_object_get(card, "choices"), want));
    json_decref(want);
    want = parse("[\"Wants a receipt\"]");
    assert_true(json_equal(json_object_get(card, "dont"), want));
    json_decref(want);

    /* the row, and the look in the customer's access log */
    assert_int_equal(visits_of(f, f->customer), 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits WHERE id = ? AND closed_at IS NULL "
                                 "AND channel = 'device'",
                              visit),
                     1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM access_log WHERE customer_id = ? AND "
                                 "actor_kind = 'display'",
                              f->customer),
                     1);
    char fields[64];
    db_text(f, "SELECT fields FROM access_log WHERE customer_id = ? AND actor_kind = 'display'",
            f->customer, fields, sizeof fields);
    assert_string_equal(fields, "name choices dont");

    /* the same visit: no new event, no new row, no new look */
    sight(f, f->store_id, &d);
    sight(f, f->store_id, &d);
    assert_int_equal(f->rec.n, 1);
    assert_int_equal(visits_of(f, f->customer), 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM access_log WHERE customer_id = ? AND "
                                 "actor_kind = 'display'",
                              f->customer),
                     1);

    /* one open card at the store */
    json_t *cards;
    assert_int_equal(recog_cards(f->r, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 1);
    assert_string_equal(str(json_array_get(cards, 0), "visit"), visit);
    json_decref(cards);

    struct recog_stats s;
    recog_stats(f->r, &s);
    assert_int_equal(s.received, 3);
    assert_int_equal(s.resolved, 3);
    assert_int_equal(s.unknown, 0);
    assert_int_equal(s.visits_opened, 1);
    assert_int_equal(s.presences, 3);
    assert_int_equal(s.visits_closed, 0);
}

static void test_batch_with_repeats_and_strangers(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    struct sighting items[6];
    memset(items, 0, sizeof items);
    for (int i = 0; i < 6; i++) {
        items[i].rssi = -70 + i;
        items[i].seen_us = time_now_us();
        if (i % 2)
            assert_int_equal(crypto_random(items[i].eid, EID_LEN), 0);
        else
            device_eid(&d, items[i].eid);
    }
    assert_int_equal(recog_sightings(f->r, f->store_id, items, 6), 0);
    /* three sightings of one member in a batch: one card */
    assert_int_equal(f->rec.n, 1);
    assert_string_equal(f->rec.ev[0].name, "card");
    assert_int_equal(visits_of(f, f->customer), 1);
    struct recog_stats s;
    recog_stats(f->r, &s);
    assert_int_equal(s.received, 6);
    assert_int_equal(s.resolved, 3);
    assert_int_equal(s.unknown, 3);
    assert_int_equal(s.presences, 1); /* one presence per customer per batch */
    assert_int_equal(s.visits_opened, 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits", NULL), 1);
    /* an empty batch is fine */
    assert_int_equal(recog_sightings(f->r, f->store_id, NULL, 0), 0);
    /* an unknown store is not */
    assert_int_equal(recog_sightings(f->r, "sto_nope", items, 1), SK_ENOTFOUND);
}

static void test_preference_change_updates_the_card(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);

    /* nothing changed: nothing published */
    recog_customer_changed(f->r, f->customer, f->brand);
    recog_customer_changed(f->r, f->customer, NULL);
    assert_int_equal(f->rec.n, 1);

    answer(f, f->customer, "{\"drink\":\"Grande Latte\",\"receipt\":true}", "[]");
    recog_customer_changed(f->r, f->customer, f->brand);
    assert_int_equal(f->rec.n, 2);
    const struct event *e = last_event(f);
    assert_string_equal(e->name, "update");
    assert_string_equal(e->store_id, f->store_id);
    assert_string_equal(str(e->data, "visit"), visit);
    assert_string_equal(str(json_object_get(e->data, "customer"), "name"), "Jeff");
    json_t *want = parse("[{\"key\":\"drink\",\"label\":\"The usual\",\"value\":\"Grande Latte\"},"
                         " {\"key\":\"receipt\",\"label\":\"Wants a receipt\",\"value\":true}]");
    assert_true(json_equal(json_object_get(e->data, "choices"), want));
    json_decref(want);
    assert_int_equal(json_array_size(json_object_get(e->data, "dont")), 0);
    /* the open card is the updated one */
    json_t *cards;
    assert_int_equal(recog_cards(f->r, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 1);
    assert_true(json_equal(json_array_get(cards, 0), e->data));
    json_decref(cards);

    /* withdrawing only preferences keeps the visit: the card loses them */
    grant(f, f->customer, "recognition");
    recog_customer_changed(f->r, f->customer, NULL);
    assert_int_equal(f->rec.n, 3);
    e = last_event(f);
    assert_string_equal(e->name, "update");
    assert_string_equal(str(json_object_get(e->data, "customer"), "name"), "Jeff");
    assert_null(json_object_get(e->data, "choices"));
    assert_null(json_object_get(e->data, "dont"));
    assert_int_equal(visits_of(f, f->customer), 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits WHERE closed_at IS NULL", NULL), 1);
}

static void test_withdrawn_recognition_is_gone_and_stays_gone(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);

    grant(f, f->customer, "preferences"); /* recognition withdrawn */
    recog_customer_changed(f->r, f->customer, f->brand);
    assert_int_equal(f->rec.n, 2);
    const struct event *e = last_event(f);
    assert_string_equal(e->name, "gone");
    assert_string_equal(e->store_id, f->store_id);
    json_t *want = json_pack("{s:s}", "visit", visit);
    assert_true(json_equal(e->data, want));
    json_decref(want);
    char reason[32];
    db_text(f, "SELECT close_reason FROM visits WHERE id = ?", visit, reason, sizeof reason);
    assert_string_equal(reason, "withdrawn");
    json_t *cards;
    assert_int_equal(recog_cards(f->r, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 0);
    json_decref(cards);

    /* later sightings drop: no event, no new row, no new look */
    long long looks = db_count(f, "SELECT count(*) FROM access_log WHERE customer_id = ?",
                               f->customer);
    sight(f, f->store_id, &d);
    sight(f, f->store_id, &d);
    assert_int_equal(f->rec.n, 2);
    assert_int_equal(visits_of(f, f->customer), 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM access_log WHERE customer_id = ?",
                              f->customer),
                     looks);
    struct recog_stats s;
    recog_stats(f->r, &s);
    assert_int_equal(s.not_member, 2);
    assert_int_equal(s.visits_closed, 1);
    /* the app channel is refused too */
    assert_int_equal(recog_presence(f->r, f->store_id, f->customer, "app"), SK_EFORBIDDEN);
    assert_int_equal(f->rec.n, 2);

    /* granting again: the next sighting opens a new visit at once */
    grant(f, f->customer, "recognition preferences");
    recog_customer_changed(f->r, f->customer, f->brand);
    assert_int_equal(f->rec.n, 2);
    char visit2[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 2, f->store_id, "device", visit2);
    assert_string_not_equal(visit, visit2);
    assert_int_equal(visits_of(f, f->customer), 2);
}

static void test_leaving_the_brand_is_gone(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);
    assert_int_equal(f->st->ops->membership_leave(f->st, f->customer, f->brand, "api"), 0);
    recog_customer_changed(f->r, f->customer, NULL);
    assert_int_equal(f->rec.n, 2);
    assert_string_equal(last_event(f)->name, "gone");
    assert_string_equal(str(last_event(f)->data, "visit"), visit);
    sight(f, f->store_id, &d);
    assert_int_equal(f->rec.n, 2);
    assert_int_equal(visits_of(f, f->customer), 1);
}

static void test_quiet_visit_closes_on_tick(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);

    int64_t now = now_s();
    recog_tick(f->r, now);
    recog_tick(f->r, now + QUIET_S - 2);
    assert_int_equal(f->rec.n, 1);
    recog_tick(f->r, now + QUIET_S + 1);
    assert_int_equal(f->rec.n, 2);
    const struct event *e = last_event(f);
    assert_string_equal(e->name, "gone");
    assert_string_equal(str(e->data, "visit"), visit);
    char reason[32];
    db_text(f, "SELECT close_reason FROM visits WHERE id = ?", visit, reason, sizeof reason);
    assert_string_equal(reason, "quiet");
    json_t *cards;
    assert_int_equal(recog_cards(f->r, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 0);
    json_decref(cards);
    /* closed once */
    recog_tick(f->r, now + 2 * QUIET_S);
    assert_int_equal(f->rec.n, 2);

    /* back to the present: the next sighting is a new visit */
    recog_tick(f->r, now_s());
    char visit2[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 2, f->store_id, "device", visit2);
    assert_string_not_equal(visit, visit2);
}

static void test_non_member_leaves_no_trace(void **state)
{
    struct fx *f = fx_of(state);
    char stranger[ID_MAX], half[ID_MAX];
    make_customer(f, "Stranger", "stranger@example.com", stranger);
    make_customer(f, "Half", "half@example.com", half);
    grant(f, half, "preferences"); /* a member without recognition */
    struct device ds, dh;
    register_device(f, stranger, 8, &ds);
    register_device(f, half, 8, &dh);

    sight(f, f->store_id, &ds);
    sight(f, f->store_id, &dh);
    sight(f, f->store_id, &ds);
    uint8_t random_eid[EID_LEN];
    assert_int_equal(crypto_random(random_eid, sizeof random_eid), 0);
    assert_int_equal(sight_eid(f, f->store_id, random_eid), 0);
    assert_int_equal(recog_presence(f->r, f->store_id, stranger, "app"), SK_EFORBIDDEN);
    assert_int_equal(recog_presence(f->r, f->store_id, half, "app"), SK_EFORBIDDEN);

    assert_int_equal(f->rec.n, 0);
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits", NULL), 0);
    assert_int_equal(db_count(f, "SELECT count(*) FROM access_log", NULL), 0);
    json_t *cards;
    assert_int_equal(recog_cards(f->r, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 0);
    json_decref(cards);
    struct recog_stats s;
    recog_stats(f->r, &s);
    assert_int_equal(s.received, 4);
    assert_int_equal(s.resolved, 3);
    assert_int_equal(s.unknown, 1);
    assert_int_equal(s.visits_opened, 0);
    assert_true(s.not_member >= 3);
}

static void test_served_updates_the_card(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);
    json_t *before = json_deep_copy(f->rec.ev[0].data);

    char other[ID_MAX];
    make_store(f, "Capitol Hill", "Seattle", other);
    assert_int_equal(recog_served(f->r, other, visit), SK_ENOTFOUND);
    assert_int_equal(recog_served(f->r, f->store_id, "vis_nope"), SK_ENOTFOUND);
    assert_int_equal(f->rec.n, 1);

    assert_int_equal(recog_served(f->r, f->store_id, visit), 0);
    assert_int_equal(f->rec.n, 2);
    const struct event *e = last_event(f);
    assert_string_equal(e->name, "update");
    assert_string_equal(e->store_id, f->store_id);
    assert_true(json_is_true(json_object_get(e->data, "served")));
    /* otherwise the same card, with when and until when it can be undone */
    json_object_set_new(before, "served", json_true());
    assert_non_null(str(e->data, "served_at"));
    assert_non_null(str(e->data, "undo_until"));
    assert_true(strcmp(str(e->data, "undo_until"), str(e->data, "served_at")) > 0);
    json_object_set(before, "served_at", json_object_get(e->data, "served_at"));
    json_object_set(before, "undo_until", json_object_get(e->data, "undo_until"));
    assert_true(json_equal(e->data, before));
    json_decref(before);
    /* the first event's data was not changed under the subscriber */
    assert_true(json_is_false(json_object_get(f->rec.ev[0].data, "served")));
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits WHERE id = ? AND served_at IS NOT "
                                 "NULL",
                              visit),
                     1);
    /* served survives a later update */
    answer(f, f->customer, "{\"drink\":\"Short Flat White\"}", "[]");
    recog_customer_changed(f->r, f->customer, f->brand);
    assert_int_equal(f->rec.n, 3);
    assert_true(json_is_true(json_object_get(last_event(f)->data, "served")));
    assert_non_null(str(last_event(f)->data, "undo_until"));

    /* undone within the minute: unserved everywhere, in the row too */
    assert_int_equal(recog_unserve(f->r, other, visit), SK_ENOTFOUND);
    assert_int_equal(recog_unserve(f->r, f->store_id, visit), 0);
    assert_int_equal(f->rec.n, 4);
    assert_string_equal(last_event(f)->name, "update");
    assert_true(json_is_false(json_object_get(last_event(f)->data, "served")));
    assert_null(json_object_get(last_event(f)->data, "undo_until"));
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits WHERE id = ? AND served_at IS "
                                 "NULL",
                              visit),
                     1);
    /* undoing again changes nothing and publishes nothing */
    assert_int_equal(recog_unserve(f->r, f->store_id, visit), 0);
    assert_int_equal(f->rec.n, 4);
}

static void test_app_presence(void **state)
{
    struct fx *f = fx_of(state);
    char visit[ID_MAX];
    assert_int_equal(recog_presence(f->r, f->store_id, f->customer, "app"), 0);
    expect_card(f, 0, f->store_id, "app", visit);
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits WHERE id = ? AND channel = 'app'",
                              visit),
                     1);
    /* again, and a device sighting meanwhile: the same visit */
    assert_int_equal(recog_presence(f->r, f->store_id, f->customer, "app"), 0);
    struct device d;
    register_device(f, f->customer, 6, &d);
    sight(f, f->store_id, &d);
    assert_int_equal(f->rec.n, 1);
    assert_int_equal(visits_of(f, f->customer), 1);
    /* an unknown store */
    assert_int_equal(recog_presence(f->r, "sto_nope", f->customer, "app"), SK_ENOTFOUND);
    /* one visit per store: another store of the brand is another visit */
    char other[ID_MAX], visit2[ID_MAX];
    make_store(f, "Capitol Hill", "Seattle", other);
    assert_int_equal(recog_presence(f->r, other, f->customer, "app"), 0);
    expect_card(f, 1, other, "app", visit2);
    assert_string_not_equal(visit, visit2);
    json_t *cards;
    assert_int_equal(recog_cards(f->r, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 1);
    json_decref(cards);
    /* withdrawal removes every open card at the brand's stores */
    grant(f, f->customer, "preferences");
    recog_customer_changed(f->r, f->customer, f->brand);
    assert_int_equal(f->rec.n, 4);
    assert_string_equal(f->rec.ev[2].name, "gone");
    assert_string_equal(f->rec.ev[3].name, "gone");
}

static void test_counter_code(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    json_t *cc;
    assert_int_equal(recog_counter_code(f->r, f->customer, d.id, &cc), 0);
    const char *code = str(cc, "code");
    assert_non_null(code);
    assert_int_equal(strlen(code), COUNTERCODE_DISPLAY - 1);
    assert_int_equal(code[4], '-');
    assert_non_null(str(cc, "valid_until"));
    /* the code is the top 40 bits of the device's current EID */
    uint8_t eid[EID_LEN];
    device_eid(&d, eid);
    char want[COUNTERCODE_DISPLAY];
    countercode_format(countercode_prefix(eid), want);
    assert_string_equal(code, want);

    char who[ID_MAX] = "";
    assert_int_equal(recog_code_lookup(f->r, code, who), 0);
    assert_string_equal(who, f->customer);
    /* as staff might type it */
    char typed[16];
    snprintf(typed, sizeof typed, "%.4s %.4s", code, code + 5);
    for (char *c = typed; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    memset(who, 0, sizeof who);
    assert_int_equal(recog_code_lookup(f->r, typed, who), 0);
    assert_string_equal(who, f->customer);
    assert_int_equal(recog_code_lookup(f->r, "no code!", who), SK_EINVAL);
    assert_int_equal(recog_code_lookup(f->r, "ABC-DEF", who), SK_EINVAL);
    assert_int_equal(recog_code_lookup(f->r, "UUUU-UUUU", who), SK_EINVAL);

    /* the counter channel: staff typed the code */
    char visit[ID_MAX];
    assert_int_equal(recog_presence(f->r, f->store_id, who, "code"), 0);
    expect_card(f, 0, f->store_id, "code", visit);

    /* someone else's device is not the customer's to show */
    char other[ID_MAX];
    make_customer(f, "Other", "other@example.com", other);
    json_t *none = NULL;
    assert_int_equal(recog_counter_code(f->r, other, d.id, &none), SK_ENOTFOUND);
    assert_null(none);

    /* after removal the code resolves to nobody */
    assert_int_equal(recog_device_delete(f->r, f->customer, d.id), 0);
    assert_int_equal(recog_code_lookup(f->r, code, who), SK_ENOTFOUND);
    assert_int_equal(recog_counter_code(f->r, f->customer, d.id, &none), SK_ENOTFOUND);
    json_decref(cc);
}

static void test_device_delete_stops_resolving(void **state)
{
    struct fx *f = fx_of(state);
    struct device d1, d2;
    register_device(f, f->customer, 4, &d1);
    register_device(f, f->customer, 4, &d2);
    assert_int_equal(recog_device_count(f->r), 2);
    /* only the owner can delete it */
    char other[ID_MAX];
    make_customer(f, "Other", "other@example.com", other);
    assert_int_equal(recog_device_delete(f->r, other, d1.id), SK_ENOTFOUND);
    assert_int_equal(recog_device_count(f->r), 2);

    assert_int_equal(recog_device_delete(f->r, f->customer, d1.id), 0);
    assert_int_equal(recog_device_count(f->r), 1);
    assert_int_equal(recog_device_delete(f->r, f->customer, d1.id), SK_ENOTFOUND);
    sight(f, f->store_id, &d1);
    assert_int_equal(f->rec.n, 0);
    struct recog_stats s;
    recog_stats(f->r, &s);
    assert_int_equal(s.unknown, 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM devices WHERE id = ?", d1.id), 0);
    /* the other device still works */
    char visit[ID_MAX];
    sight(f, f->store_id, &d2);
    expect_card(f, 0, f->store_id, "device", visit);
}

static void test_register_by_x25519(void **state)
{
    struct fx *f = fx_of(state);
    uint8_t rpub[32], dpriv[32], dpub[32], ik[EID_IK_LEN], eid[EID_LEN];
    recog_public_key(f->r, rpub);
    assert_int_equal(crypto_x25519_keypair(dpriv, dpub), 0);
    /* the device derives the key from its side; its clock is its own */
    assert_int_equal(eid_provision(dpriv, rpub, rpub, dpub, ik), 0);
    const unsigned k = 9;
    uint32_t clock0 = 3000000000u;
    int64_t at = now_s();
    assert_int_equal(eid_compute(ik, k, clock0, eid), 0);

    char err[256] = "";
    json_t *dev = NULL;
    uint8_t bad[EID_LEN];
    memcpy(bad, eid, EID_LEN);
    bad[0] ^= 1;
    assert_int_equal(recog_register_x25519(f->r, f->customer, "phone", dpub, k, clock0, bad, &dev,
                                           err, sizeof err),
                     SK_EINVAL);
    assert_non_null(strstr(err, "eid"));
    assert_int_equal(recog_register_x25519(f->r, f->customer, "phone", dpub, 3, clock0, eid, &dev,
                                           err, sizeof err),
                     SK_EINVAL);
    assert_non_null(strstr(err, "rotation_exponent"));
    uint8_t zero[32] = {0};
    assert_int_equal(recog_register_x25519(f->r, f->customer, "phone", zero, k, clock0, eid, &dev,
                                           err, sizeof err),
                     SK_EINVAL);
    assert_non_null(strstr(err, "public_key"));
    assert_null(dev);
    assert_int_equal(recog_device_count(f->r), 0);

    assert_int_equal(recog_register_x25519(f->r, f->customer, "phone", dpub, k, clock0, eid, &dev,
                                           err, sizeof err),
                     0);
    assert_non_null(dev);
    assert_null(json_object_get(dev, "identity_key")); /* the key never travels */
    json_decref(dev);
    assert_int_equal(recog_device_count(f->r), 1);

    /* the service keeps the device's clock offset: the EID it broadcasts
     * now, on its own clock, resolves */
    uint32_t t = clock0 + (uint32_t)(now_s() - at);
    assert_int_equal(eid_compute(ik, k, t, eid), 0);
    assert_int_equal(sight_eid(f, f->store_id, eid), 0);
    char visit[ID_MAX];
    expect_card(f, 0, f->store_id, "device", visit);
    /* the server's own clock is not the device's */
    uint8_t wrong[EID_LEN];
    assert_int_equal(eid_compute(ik, k, (uint32_t)now_s(), wrong), 0);
    struct recog_stats s;
    recog_stats(f->r, &s);
    uint64_t unknown = s.unknown;
    assert_int_equal(sight_eid(f, f->store_id, wrong), 0);
    recog_stats(f->r, &s);
    assert_int_equal(s.unknown, unknown + 1);
}

static void test_devices_reload_at_start(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    recog_free(f->r);
    f->r = NULL;
    char err[256];
    struct recog_events ev = {.ctx = &f->rec, .publish = on_publish};
    assert_int_equal(recog_new(f->st, &CFG, &ev, &f->r, err, sizeof err), 0);
    assert_int_equal(recog_device_count(f->r), 1);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);
}

static void test_same_device_in_another_city_is_flagged(void **state)
{
    struct fx *f = fx_of(state);
    char portland[ID_MAX], nearby[ID_MAX];
    make_store(f, "Pearl District", "Portland", portland);
    make_store(f, "Capitol Hill", "seattle", nearby);
    struct device d;
    register_device(f, f->customer, 10, &d);
    char visit[ID_MAX];
    sight(f, f->store_id, &d);
    expect_card(f, 0, f->store_id, "device", visit);
    /* heard in Portland within the same window: a replay, shown nowhere */
    sight(f, portland, &d);
    assert_int_equal(f->rec.n, 1);
    struct recog_stats s;
    recog_stats(f->r, &s);
    assert_int_equal(s.replay_flagged, 1);
    assert_int_equal(db_count(f, "SELECT count(*) FROM visits WHERE store_id = ?", portland), 0);
    /* another store in the same city is fine */
    char visit2[ID_MAX];
    sight(f, nearby, &d);
    expect_card(f, 1, nearby, "device", visit2);
}

/* ---- two nodes on one database (a cluster, serve --nats) ------------------- */

static struct recog *node_new(struct fx *f, const char *name, struct recorder *rec)
{
    struct recog_config cfg = CFG;
    cfg.node = name;
    struct recog_events ev = {.ctx = rec, .publish = on_publish};
    struct recog *r;
    char err[256];
    if (recog_new(f->st, &cfg, &ev, &r, err, sizeof err)) fail_msg("recog_new: %s", err);
    return r;
}

static void sight_on(struct recog *r, const char *store_id, const struct device *d)
{
    struct sighting s = {.rssi = -60, .seen_us = time_now_us()};
    device_eid(d, s.eid);
    assert_int_equal(recog_sightings(r, store_id, &s, 1), 0);
}

static void test_two_nodes_share_one_visit(void **state)
{
    struct fx *f = fx_of(state);
    struct device d;
    register_device(f, f->customer, 10, &d);
    struct recorder rec1 = {0}, rec2 = {0};
    struct recog *n1 = node_new(f, "n1", &rec1), *n2 = node_new(f, "n2", &rec2);
    const char *open_sql = "SELECT count(*) FROM visits WHERE customer_id = ? AND closed_at IS NULL";

    /* heard at n1: opened there; heard at n2: joined, no second card */
    sight_on(n1, f->store_id, &d);
    assert_int_equal(rec1.n, 1);
    assert_string_equal(rec1.ev[0].name, "card");
    char visit[ID_MAX];
    snprintf(visit, sizeof visit, "%s", str(rec1.ev[0].data, "visit"));
    sight_on(n2, f->store_id, &d);
    sight_on(n1, f->store_id, &d);
    assert_int_equal(rec2.n, 0);
    assert_int_equal(rec1.n, 1);
    assert_int_equal(db_count(f, open_sql, f->customer), 1);
    struct recog_stats st;
    recog_stats(n2, &st);
    assert_int_equal(st.visits_joined, 1);
    assert_int_equal(st.visits_opened, 0);
    assert_int_equal(st.visits_held, 1);

    /* n2 heard the shopper later than n1 did (its write, 200 s on): when
     * n1's own table says quiet, the database does not, and it stays */
    int64_t now = now_s();
    assert_int_equal(f->st->ops->visit_seen(f->st, visit, (now + 200) * 1000000), 0);
    recog_tick(n1, now + QUIET_S + 1);
    assert_int_equal(rec1.n, 1);
    assert_int_equal(db_count(f, open_sql, f->customer), 1);

    /* quiet everywhere: n1 closes it, once; n2 finds it closed and drops
     * its copy (saying gone to its displays, in case the event was lost) */
    recog_tick(n1, now + 200 + QUIET_S + 1);
    assert_int_equal(rec1.n, 2);
    assert_string_equal(rec1.ev[1].name, "gone");
    assert_int_equal(db_count(f, open_sql, f->customer), 0);
    recog_tick(n2, now + 200 + QUIET_S + 1);
    assert_int_equal(rec2.n, 1);
    assert_string_equal(rec2.ev[0].name, "gone");
    recog_stats(n2, &st);
    assert_int_equal(st.visits_held, 0);
    assert_int_equal(st.visits_closed, 0); /* n1 closed it */

    /* n1 stops cleanly: its visit stays open for the others */
    sight_on(n1, f->store_id, &d);
    assert_int_equal(rec1.n, 3);
    snprintf(visit, sizeof visit, "%s", str(rec1.ev[2].data, "visit"));
    recog_close_all(n1, "shutdown");
    assert_int_equal(rec1.n, 3);
    assert_int_equal(db_count(f, open_sql, f->customer), 1);
    /* a display connecting at a third node gets its card */
    struct recorder rec3 = {0};
    struct recog *n3 = node_new(f, "n3", &rec3);
    json_t *cards;
    assert_int_equal(recog_cards(n3, f->store_id, &cards), 0);
    assert_int_equal(json_array_size(cards), 1);
    assert_string_equal(str(json_array_get(cards, 0), "visit"), visit);
    json_decref(cards);
    recog_free(n1);

    /* nobody hears the shopper: n2, which never held the visit, closes it
     * after the quiet time and the grace for the nodes' writes (as it
     * would a dead node's); n3 then drops its copy */
    now = now_s();
    recog_tick(n2, now + 1000);
    assert_int_equal(rec2.n, 2);
    assert_string_equal(rec2.ev[1].name, "gone");
    assert_string_equal(str(rec2.ev[1].data, "visit"), visit);
    assert_int_equal(db_count(f, open_sql, f->customer), 0);
    char reason[32];
    db_text(f, "SELECT close_reason FROM visits WHERE id = ?", visit, reason, sizeof reason);
    assert_string_equal(reason, "quiet");
    recog_tick(n3, now + 1000);
    assert_int_equal(rec3.n, 1);
    assert_string_equal(rec3.ev[0].name, "gone");
    recog_free(n3);
    recorder_clear(&rec3);

    recog_free(n2);
    recorder_clear(&rec1);
    recorder_clear(&rec2);
}

/* Every case, on the fixture setup makes (fx_sqlite, fx_pg). */
#define T(test, setup) cmocka_unit_test_setup_teardown(test, setup, fx_teardown)
#define RECOG_TESTS(setup)                                                           \
    T(test_sighting_opens_one_visit, setup),                                         \
    T(test_batch_with_repeats_and_strangers, setup),                                 \
    T(test_preference_change_updates_the_card, setup),                               \
    T(test_withdrawn_recognition_is_gone_and_stays_gone, setup),                     \
    T(test_leaving_the_brand_is_gone, setup),                                        \
    T(test_quiet_visit_closes_on_tick, setup),                                       \
    T(test_non_member_leaves_no_trace, setup),                                       \
    T(test_served_updates_the_card, setup),                                          \
    T(test_app_presence, setup),                                                     \
    T(test_counter_code, setup),                                                     \
    T(test_device_delete_stops_resolving, setup),                                    \
    T(test_register_by_x25519, setup),                                               \
    T(test_devices_reload_at_start, setup),                                          \
    T(test_same_device_in_another_city_is_flagged, setup),                           \
    T(test_two_nodes_share_one_visit, setup)

int main(void)
{
    const struct CMUnitTest sq_tests[] = {RECOG_TESTS(fx_sqlite)};
    int failed = cmocka_run_group_tests_name("sqlite", sq_tests, NULL, NULL);
    pgtest_say_skipped("test_recog");
    const struct CMUnitTest pg_tests[] = {RECOG_TESTS(fx_pg)};
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
    return failed;
}
