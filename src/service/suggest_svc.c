/* suggest_svc.c — the suggestion service (see suggest_svc.h). */
#include "service/suggest_svc.h"
#include "core/item_index.h"
#include "core/suggest.h"
#include "core/suggest_rules.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY 86400
#define NEW_DAYS 30
#define RECENCY_DAYS 180.0
#define PER_LIST 20

static int64_t parse_s(const char *t)
{
    int64_t us;
    return t && !time_parse_rfc3339(t, &us) ? us / 1000000 : 0;
}

static int64_t parse_date_s(const char *d)
{
    if (!d || strlen(d) < 10) return 0;
    char buf[32];
    snprintf(buf, sizeof buf, "%.10sT00:00:00Z", d);
    return parse_s(buf);
}

/* The rules' view of catalogue item i (tags borrowed from the json). */
struct item_view {
    struct sr_item it; /* first: the index reads the views as sr_items */
    const char *tags[16];
    int64_t released; /* seconds, 0: unknown */
};

static void item_view(json_t *item, struct item_view *v)
{
    memset(v, 0, sizeof *v);
    v->it.title = json_string_value(json_object_get(item, "title"));
    v->it.category = json_string_value(json_object_get(item, "category"));
    v->it.maker = json_string_value(json_object_get(item, "maker"));
    json_t *tags = json_object_get(item, "tags");
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        if (v->it.ntags == 16) break;
        v->tags[v->it.ntags++] = json_string_value(t);
    }
    v->it.tags = v->tags;
    json_t *c = json_object_get(item, "consumable");
    v->it.consumable = json_is_true(c) || json_integer_value(c) != 0;
    v->released = parse_date_s(json_string_value(json_object_get(item, "released")));
}

/* A trained model with the catalogue it was trained on; shared by
 * reference count, immutable once published. */
struct bmodel {
    int refs;
    int64_t stamp;
    int64_t trained_us; /* when it was made, for GET /metrics */
    struct suggest_model *m;
    json_t *items; /* array, index = model item */
    json_t *index; /* sku -> index */
    struct item_view *views; /* the rules' view of each item, made once */
    struct item_index *ix;   /* the views by segment, maker, tag, title */
    size_t baskets;
};

struct suggest_svc {
    struct store *st;
    pthread_mutex_t mu;   /* the model table and references */
    pthread_mutex_t train_mu; /* one training at a time */
    struct strmap models; /* brand id -> bmodel */
    pthread_t thread;
    int running;
    int64_t interval_s;
    pthread_cond_t stop_cv;
};

static void bmodel_unref(struct suggest_svc *s, struct bmodel *b)
{
    if (!b) return;
    pthread_mutex_lock(&s->mu);
    int last = --b->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last) return;
    suggest_model_free(b->m);
    item_index_free(b->ix);
    free(b->views);
    json_decref(b->items);
    json_decref(b->index);
    free(b);
}

int suggest_svc_new(struct store *st, struct suggest_svc **ret)
{
    struct suggest_svc *s = calloc(1, sizeof *s);
    if (!s) return SK_ENOMEM;
    s->st = st;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->train_mu, NULL);
    pthread_cond_init(&s->stop_cv, NULL);
    if (strmap_init(&s->models)) {
        free(s);
        return SK_ENOMEM;
    }
    *ret = s;
    return 0;
}

void suggest_svc_free(struct suggest_svc *s)
{
    if (!s) return;
    suggest_svc_stop(s);
    size_t pos;
    for (struct strmap_entry *e = strmap_first(&s->models, &pos); e;
         e = strmap_next(&s->models, &pos, e))
        bmodel_unref(s, e->value);
    strmap_release(&s->models);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->train_mu);
    pthread_cond_destroy(&s->stop_cv);
    free(s);
}

void suggest_svc_models(struct suggest_svc *s,
                        void (*fn)(void *cls, const char *brand_id, int64_t trained_us,
                                   size_t items),
                        void *cls)
{
    pthread_mutex_lock(&s->mu);
    size_t pos;
    for (struct strmap_entry *e = strmap_first(&s->models, &pos); e;
         e = strmap_next(&s->models, &pos, e)) {
        const struct bmodel *b = e->value;
        fn(cls, e->key, b->trained_us, json_array_size(b->items));
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- training ------------------------------------------------------------ */

static int train(struct suggest_svc *s, const char *bid, json_t **ret)
{
    int64_t t0 = time_now_us(), stamp = 0;
    json_t *data;
    int rc = s->st->ops->suggest_stamp(s->st, bid, &stamp);
    if (!rc) rc = s->st->ops->suggest_baskets(s->st, bid, &data);
    if (rc) return rc;
    if (json_array_size(json_object_get(data, "items")) == 0) { /* no catalogue, no model */
        json_decref(data);
        return SK_ENOTFOUND;
    }
    json_t *items = json_incref(json_object_get(data, "items"));
    json_t *lines = json_object_get(data, "lines");
    json_t *index = json_object();
    size_t i, nl = json_array_size(lines), nb = 0;
    json_t *it;
    json_array_foreach(items, i, it)
        json_object_set_new(index, json_string_value(json_object_get(it, "sku")), json_integer((json_int_t)i));
    size_t *off = malloc((nl + 2) * sizeof *off);
    uint32_t *idx = malloc((nl + 1) * sizeof *idx);
    struct bmodel *b = calloc(1, sizeof *b);
    if (!off || !idx || !b) rc = SK_ENOMEM;
    const char *prev = NULL;
    size_t n = 0;
    if (!rc) {
        off[0] = 0;
        json_array_foreach(lines, i, it) {
            const char *p = json_string_value(json_object_get(it, "p"));
            json_t *ix = json_object_get(index, json_string_value(json_object_get(it, "sku")));
            if (!ix) continue;
            if (!prev || strcmp(prev, p)) {
                if (prev) off[++nb] = n;
                prev = p;
            }
            idx[n++] = (uint32_t)json_integer_value(ix);
        }
        if (prev) off[++nb] = n;
    }
    struct suggest_model *m = NULL;
    if (!rc) {
        struct suggest_data d = {.n_items = (uint32_t)json_array_size(items),
                                 .n_baskets = nb,
                                 .off = off,
                                 .items = idx,
                                 .weights = NULL};
        struct suggest_params p;
        suggest_params_default(&p, SUGGEST_EASE);
        p.lambda = SUGGEST_SVC_LAMBDA;
        rc = suggest_train(&d, &p, &m);
        if (rc == SK_ECONFLICT) { /* not positive definite: fall back */
            suggest_params_default(&p, SUGGEST_KNN);
            rc = suggest_train(&d, &p, &m);
        }
    }
    free(off);
    free(idx);
    json_decref(data);
    if (rc) {
        free(b);
        json_decref(items);
        json_decref(index);
        return rc;
    }
    size_t n_items = json_array_size(items);
    b->views = malloc((n_items + 1) * sizeof *b->views);
    if (!b->views) {
        suggest_model_free(m);
        free(b);
        json_decref(items);
        json_decref(index);
        return SK_ENOMEM;
    }
    for (size_t v = 0; v < n_items; v++) item_view(json_array_get(items, v), &b->views[v]);
    rc = item_index_build(&b->views[0].it, sizeof *b->views, (uint32_t)n_items, &b->ix);
    if (rc) {
        suggest_model_free(m);
        free(b->views);
        free(b);
        json_decref(items);
        json_decref(index);
        return rc;
    }
    b->refs = 1;
    b->stamp = stamp;
    b->trained_us = time_now_us();
    b->m = m;
    b->items = items;
    b->index = index;
    b->baskets = nb;
    struct bmodel *old;
    pthread_mutex_lock(&s->mu);
    old = strmap_del(&s->models, bid);
    rc = strmap_put(&s->models, bid, b);
    pthread_mutex_unlock(&s->mu);
    bmodel_unref(s, old);
    if (rc) {
        bmodel_unref(s, b);
        return rc;
    }
    if (ret)
        *ret = json_pack("{s:s, s:I, s:I, s:I, s:s, s:I}", "brand", bid, "items",
                         (json_int_t)json_array_size(items), "baskets", (json_int_t)nb,
                         "modelled", (json_int_t)suggest_model_modelled(m), "method",
                         suggest_model_method(m) == SUGGEST_EASE ? "ease" : "knn", "ms",
                         (json_int_t)((time_now_us() - t0) / 1000));
    return 0;
}

int suggest_svc_train(struct suggest_svc *s, const char *brand_id, json_t **ret)
{
    pthread_mutex_lock(&s->train_mu);
    int rc = train(s, brand_id, ret);
    pthread_mutex_unlock(&s->train_mu);
    return rc;
}

/* The brand's current model, referenced, or NULL when none is trained. */
static struct bmodel *model_peek(struct suggest_svc *s, const char *bid)
{
    pthread_mutex_lock(&s->mu);
    struct bmodel *b = strmap_get(&s->models, bid);
    if (b) b->refs++;
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* The brand's current model, referenced; trained first when there is none. */
static int model_get(struct suggest_svc *s, const char *bid, struct bmodel **ret)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        struct bmodel *b = model_peek(s, bid);
        if (b) {
            *ret = b;
            return 0;
        }
        pthread_mutex_lock(&s->train_mu);
        pthread_mutex_lock(&s->mu);
        int have = strmap_get(&s->models, bid) != NULL;
        pthread_mutex_unlock(&s->mu);
        int rc = have ? 0 : train(s, bid, NULL);
        pthread_mutex_unlock(&s->train_mu);
        if (rc) return rc;
    }
    return SK_ENOTFOUND;
}

static void *svc_thread(void *arg)
{
    struct suggest_svc *s = arg;
    pthread_mutex_lock(&s->mu);
    while (s->running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->interval_s;
        pthread_cond_timedwait(&s->stop_cv, &s->mu, &ts);
        if (!s->running) break;
        /* the brands with a model whose data changed since */
        size_t pos, n = 0;
        char (*due)[ID_MAX] = malloc((s->models.count + 1) * sizeof *due);
        int64_t *stamps = malloc((s->models.count + 1) * sizeof *stamps);
        for (struct strmap_entry *e = strmap_first(&s->models, &pos); e && due && stamps;
             e = strmap_next(&s->models, &pos, e)) {
            snprintf(due[n], ID_MAX, "%s", e->key);
            stamps[n++] = ((struct bmodel *)e->value)->stamp;
        }
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < n; i++) {
            int64_t now_stamp;
            if (s->st->ops->suggest_stamp(s->st, due[i], &now_stamp) || now_stamp == stamps[i])
                continue;
            int rc = suggest_svc_train(s, due[i], NULL);
            if (rc) log_kv(LOG_ERROR, "suggest.train", "brand", due[i], "error", sk_strerror(rc), NULL);
        }
        free(due);
        free(stamps);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int suggest_svc_start(struct suggest_svc *s, int64_t interval_s)
{
    s->interval_s = interval_s > 0 ? interval_s : SUGGEST_SVC_INTERVAL_S;
    s->running = 1;
    if (pthread_create(&s->thread, NULL, svc_thread, s)) {
        s->running = 0;
        return SK_ENOMEM;
    }
    return 0;
}

void suggest_svc_stop(struct suggest_svc *s)
{
    pthread_mutex_lock(&s->mu);
    int was = s->running;
    s->running = 0;
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->mu);
    if (was) pthread_join(s->thread, NULL);
}

/* ---- ranking --------------------------------------------------------------- */

enum cand_kind {
    C_HISTORY,    /* a neighbour of the customer's own purchases */
    C_BOUGHT_FOR, /* a neighbour of what was bought for a person */
    C_LIKES,      /* what a person likes */
    C_NEW,        /* new from a maker a person likes */
};

/* A ranked item and where it came from; its reason is written only when
 * the merge chooses it. */
struct cand {
    struct suggest_scored s;
    enum cand_kind kind;
    json_t *person; /* the person's entry in the context, or NULL */
};

/* Which text of the likes matches the item: the kind and the matched text. */
static int likes_match(json_t *likes, const struct sr_item *it, char *buf, size_t len,
                       int *ret_maker)
{
    static const char *const keys[3] = {"categories", "makers", "tags"};
    for (int k = 0; k < 3; k++) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(likes, keys[k]), i, t) {
            int kind = sr_taste_match(it, json_string_value(t), buf, len);
            if (kind) {
                *ret_maker = kind == 2;
                return 1;
            }
        }
    }
    return 0;
}

/* A purchase line's recency weight: e^(-age / RECENCY_DAYS). */
static float recency(json_t *line, int64_t now)
{
    double age = (double)(now - parse_s(json_string_value(json_object_get(line, "at")))) / DAY;
    return (float)exp(-(age < 0 ? 0 : age) / RECENCY_DAYS);
}

/* Non-zero when pid names one of the people the customer shops for (a line
 * for a person since deleted counts as the customer's own). */
static int person_known(json_t *people, const char *pid)
{
    size_t i;
    json_t *p;
    if (!pid) return 0;
    json_array_foreach(people, i, p)
        if (strcmp(json_string_value(json_object_get(p, "id")), pid) == 0) return 1;
    return 0;
}

/* Best first, ties to the lower item. */
static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->s.score != y->s.score) return x->s.score > y->s.score ? -1 : 1;
    return x->s.item < y->s.item ? -1 : x->s.item > y->s.item;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Scratch of one ranking: O(catalogue) once, reused for every person. */
struct rank_scratch {
    uint8_t *ex;   /* the exclusions of the list being made */
    uint8_t *mark; /* 1: a liked seed; 2: bought for the person */
    uint32_t *buf; /* the index's answers */
    uint32_t *seeds;
    float *seed_w;
    size_t nseeds;
    float *score;
    uint32_t *because;
};

static void rs_release(struct rank_scratch *r)
{
    free(r->ex);
    free(r->mark);
    free(r->buf);
    free(r->seeds);
    free(r->seed_w);
    free(r->score);
    free(r->because);
}

static int rs_init(struct rank_scratch *r, uint32_t n, size_t history)
{
    memset(r, 0, sizeof *r);
    r->ex = malloc(n + 1);
    r->mark = calloc(n + 1, 1);
    r->buf = malloc((n + 1) * sizeof *r->buf);
    r->seeds = malloc((n + history + 1) * sizeof *r->seeds);
    r->seed_w = malloc((n + history + 1) * sizeof *r->seed_w);
    r->score = malloc((n + 1) * sizeof *r->score);
    r->because = malloc((n + 1) * sizeof *r->because);
    if (r->ex && r->mark && r->buf && r->seeds && r->seed_w && r->score && r->because) return 0;
    rs_release(r);
    return SK_ENOMEM;
}

/* Every item a person's likes or dislikes name, through the model's index. */
static void tastes_each(const struct bmodel *b, json_t *taste, struct rank_scratch *r,
                        void (*fn)(struct rank_scratch *r, uint32_t item))
{
    static const char *const keys[3] = {"categories", "makers", "tags"};
    for (int k = 0; k < 3; k++) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(taste, keys[k]), i, t) {
            size_t got = item_index_taste(b->ix, json_string_value(t), r->buf);
            for (size_t j = 0; j < got; j++) fn(r, r->buf[j]);
        }
    }
}

static void exclude_item(struct rank_scratch *r, uint32_t item) { r->ex[item] = 1; }

static void add_seed(struct rank_scratch *r, uint32_t item)
{
    if (r->mark[item]) return;
    r->mark[item] = 1;
    r->seeds[r->nseeds] = item;
    r->seed_w[r->nseeds++] = 1;
}

/* The customer's own list: neighbours of their own purchases (not those
 * for a person they listed), best first. */
static int own_list(const struct bmodel *b, json_t *ctx, const uint8_t *exclude0, const float *fatigue,
                    int64_t now, struct rank_scratch *r, struct cand **ret, size_t *ret_n,
                    double *ret_weight)
{
    json_t *people = json_object_get(ctx, "people"), *h;
    size_t i, nh = 0;
    double own_w = 0;
    json_array_foreach(json_object_get(ctx, "history"), i, h) {
        if (person_known(people, json_string_value(json_object_get(h, "person")))) continue;
        json_t *ix = json_object_get(b->index, json_string_value(json_object_get(h, "sku")));
        if (!ix) continue;
        r->seeds[nh] = (uint32_t)json_integer_value(ix);
        r->seed_w[nh] = recency(h, now);
        own_w += r->seed_w[nh++];
    }
    *ret_n = 0;
    if (!nh) return 0;
    struct suggest_scored out[PER_LIST];
    struct cand *cs = malloc(PER_LIST * sizeof *cs);
    if (!cs) return SK_ENOMEM;
    int got = suggest_rank(b->m, r->seeds, nh, r->seed_w, out, PER_LIST, exclude0);
    size_t kept = 0;
    for (int j = 0; j < got; j++) {
        if (out[j].because == SUGGEST_NO_REASON || out[j].score <= 0) continue;
        cs[kept] = (struct cand){.s = out[j], .kind = C_HISTORY};
        cs[kept++].s.score *= fatigue[out[j].item];
    }
    qsort(cs, kept, sizeof *cs, cand_cmp);
    *ret = cs;
    *ret_n = kept;
    *ret_weight = own_w > 0 ? 1.0 / own_w : 1.0;
    return 0;
}

/*
 * One person's list: the best PER_LIST neighbours of what was bought for
 * them, and every item their likes name, scored by what the other seeds say
 * of it (the model), a little popularity, and a lift when it is new from a
 * maker they like; their dislikes are excluded. Best first.
 */
static int person_list(const struct bmodel *b, json_t *person, json_t *history, const uint8_t *exclude0,
                       const float *fatigue, int64_t now, struct rank_scratch *r, struct cand **ret,
                       size_t *ret_n, double *ret_weight)
{
    uint32_t n = (uint32_t)json_array_size(b->items);
    json_t *likes = json_object_get(person, "likes"), *h;
    const char *pid = json_string_value(json_object_get(person, "id"));
    memcpy(r->ex, exclude0, n);
    tastes_each(b, json_object_get(person, "dislikes"), r, exclude_item);
    r->nseeds = 0;
    tastes_each(b, likes, r, add_seed);
    size_t nliked = r->nseeds, hi;
    for (size_t j = 0; j < nliked; j++) r->mark[r->seeds[j]] = 0;
    /* in catalogue order, as a walk over it would find them */
    qsort(r->seeds, nliked, sizeof *r->seeds, u32_cmp);
    json_array_foreach(history, hi, h) {
        const char *for_p = json_string_value(json_object_get(h, "person"));
        json_t *ix = json_object_get(b->index, json_string_value(json_object_get(h, "sku")));
        if (!for_p || !pid || strcmp(for_p, pid) || !ix) continue;
        r->seeds[r->nseeds] = (uint32_t)json_integer_value(ix);
        r->seed_w[r->nseeds++] = recency(h, now);
    }
    size_t ns = r->nseeds;
    *ret_n = 0;
    if (!ns) return 0;
    double seed_w = 0;
    for (size_t j = 0; j < ns; j++) seed_w += r->seed_w[j];
    int rc = suggest_score(b->m, r->seeds, ns, r->seed_w, r->score, r->because);
    if (rc) return rc;
    struct cand *cs = malloc((nliked + PER_LIST) * sizeof *cs);
    if (!cs) return SK_ENOMEM;
    size_t kept = 0;
    /* neighbours whose reason is a purchase for them (not a liked seed) */
    for (size_t j = nliked; j < ns; j++) r->mark[r->seeds[j]] = 2;
    for (uint32_t i = 0; nliked < ns && i < n; i++) {
        uint32_t by = r->because[i];
        if (by == SUGGEST_NO_REASON || r->ex[i] || !(r->score[i] > 0) || r->mark[by] != 2) continue;
        struct cand c = {.s = {i, r->score[i], by}, .kind = C_BOUGHT_FOR, .person = person};
        if (kept == PER_LIST && cand_cmp(&c, &cs[kept - 1]) >= 0) continue;
        size_t at = kept < PER_LIST ? kept++ : PER_LIST - 1;
        for (; at > 0 && cand_cmp(&c, &cs[at - 1]) < 0; at--) cs[at] = cs[at - 1];
        cs[at] = c;
    }
    for (size_t j = nliked; j < ns; j++) r->mark[r->seeds[j]] = 0;
    for (size_t j = 0; j < kept; j++) cs[j].s.score *= fatigue[cs[j].s.item];
    size_t from_bought = kept;
    for (size_t j = 0; j < nliked; j++) {
        uint32_t i = r->seeds[j];
        if (r->ex[i]) continue;
        size_t dup = 0;
        while (dup < from_bought && cs[dup].s.item != i) dup++;
        if (dup < from_bought) continue;
        int64_t rel = b->views[i].released;
        int fresh = 0;
        if (rel && rel <= now && now - rel <= (int64_t)NEW_DAYS * DAY) {
            char what[2];
            likes_match(likes, &b->views[i].it, what, sizeof what, &fresh); /* by a maker they like */
        }
        float sc = r->score[i] + 0.001f * (float)suggest_model_popularity(b->m, i) + (fresh ? 100.0f : 0);
        cs[kept++] = (struct cand){.s = {i, sc * fatigue[i], SUGGEST_NO_REASON},
                                   .kind = fresh ? C_NEW : C_LIKES,
                                   .person = person};
    }
    qsort(cs, kept, sizeof *cs, cand_cmp);
    *ret = cs;
    *ret_n = kept;
    *ret_weight = seed_w > 0 ? 1.0 / seed_w : 1.0;
    return 0;
}

/* The reason a person reads for a chosen candidate; returns its source. */
static const char *cand_reason(const struct bmodel *b, const struct cand *c, char *buf, size_t len)
{
    const char *label = c->person ? json_string_value(json_object_get(c->person, "label")) : NULL;
    const char *because = c->s.because != SUGGEST_NO_REASON ? b->views[c->s.because].it.title : "";
    char what[128] = "";
    int maker;
    switch (c->kind) {
    case C_HISTORY:
        snprintf(buf, len, "because you bought %s", because);
        return "history";
    case C_BOUGHT_FOR:
        snprintf(buf, len, "for %s — because you bought %s for %s", label ? label : "", because,
                 label ? label : "them");
        return "person";
    case C_NEW:
        likes_match(json_object_get(c->person, "likes"), &b->views[c->s.item].it, what, sizeof what, &maker);
        snprintf(buf, len, "new from %s you follow", what);
        return "new";
    case C_LIKES:
        break;
    }
    likes_match(json_object_get(c->person, "likes"), &b->views[c->s.item].it, what, sizeof what, &maker);
    snprintf(buf, len, "for %s — likes %s", label ? label : "", what);
    return "person";
}

/* One merged suggestion as the API shows it. */
static json_t *cand_json(const struct bmodel *b, const struct cand *c)
{
    char reason[256];
    const char *source = cand_reason(b, c, reason, sizeof reason);
    json_t *item = json_array_get(b->items, c->s.item);
    json_t *e = json_pack("{s:O, s:O, s:s}", "sku", json_object_get(item, "sku"), "title",
                          json_object_get(item, "title"), "reason", reason);
    json_t *why = json_pack("{s:s}", "source", source);
    if (c->s.because != SUGGEST_NO_REASON)
        json_object_set(why, "because", json_object_get(json_array_get(b->items, c->s.because), "sku"));
    if (c->person) {
        json_t *label = json_object_get(c->person, "label");
        if (json_is_string(label)) {
            json_object_set(e, "for", label);
            json_object_set(why, "person", label);
        }
        json_object_set(e, "person", json_object_get(c->person, "id"));
    }
    json_object_set_new(e, "why", why);
    return e;
}

/* Whether the list of person (NULL: the customer) is wanted when only
 * names one list (SUGGEST_FOR_ME or a person's id; NULL: all of them). */
static int list_wanted(const char *only, json_t *person)
{
    if (!only) return 1;
    if (!person) return strcmp(only, SUGGEST_FOR_ME) == 0;
    const char *id = json_string_value(json_object_get(person, "id"));
    return id && strcmp(id, only) == 0;
}

/*
 * Ranks for the customer: k items, the caller's exclusions already applied
 * (exclude per item) and each score multiplied by fatigue per item (what
 * earlier showings left). One list for the customer's own purchases, one per
 * person they shop for, merged so that each is represented; only the list
 * only names when it is not NULL.
 */
static int rank(struct bmodel *b, json_t *ctx, const uint8_t *exclude0, const float *fatigue,
                size_t k, int64_t now, const char *only, json_t **ret)
{
    uint32_t n = (uint32_t)json_array_size(b->items);
    json_t *people = json_object_get(ctx, "people"), *history = json_object_get(ctx, "history");
    size_t np = json_array_size(people), nlists = 0;
    struct suggest_person_list *lists = calloc(np + 1, sizeof *lists);
    struct suggest_scored **scored = calloc(np + 1, sizeof *scored);
    struct cand **cands = calloc(np + 1, sizeof *cands);
    struct rank_scratch r;
    int rc = lists && scored && cands ? rs_init(&r, n, json_array_size(history)) : SK_ENOMEM;
    int have_scratch = !rc;
    for (size_t p = 0; !rc && p <= np; p++) {
        struct cand *cs = NULL;
        size_t got = 0;
        double weight = 1;
        if (!list_wanted(only, p == 0 ? NULL : json_array_get(people, p - 1))) continue;
        rc = p == 0 ? own_list(b, ctx, exclude0, fatigue, now, &r, &cs, &got, &weight)
                    : person_list(b, json_array_get(people, p - 1), history, exclude0, fatigue, now, &r, &cs,
                                  &got, &weight);
        if (rc || !got) {
            free(cs);
            continue;
        }
        if (got > PER_LIST) got = PER_LIST;
        struct suggest_scored *sc = malloc(got * sizeof *sc);
        if (!sc) {
            free(cs);
            rc = SK_ENOMEM;
            break;
        }
        for (size_t j = 0; j < got; j++) sc[j] = cs[j].s;
        cands[nlists] = cs;
        scored[nlists] = sc;
        lists[nlists++] = (struct suggest_person_list){.items = sc, .n = got, .weight = weight};
    }
    json_t *list = json_array();
    if (!rc && nlists && k) {
        struct suggest_merged *m = calloc(k, sizeof *m);
        size_t got = m ? suggest_merge(lists, nlists, SUGGEST_MERGE_SUM, m, k) : 0;
        if (!m) rc = SK_ENOMEM;
        for (size_t j = 0; j < got; j++) {
            const struct suggest_person_list *l = &lists[m[j].person];
            size_t pos = 0;
            while (pos < l->n && l->items[pos].item != m[j].s.item) pos++;
            json_array_append_new(list, cand_json(b, &cands[m[j].person][pos]));
        }
        free(m);
    }
    for (size_t j = 0; j < nlists; j++) {
        free(scored[j]);
        free(cands[j]);
    }
    free(lists);
    free(scored);
    free(cands);
    if (have_scratch) rs_release(&r);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *ret = list;
    return 0;
}

/* Where an item's history is gathered while reading the context. */
struct seen_item {
    uint32_t item;
    struct sr_history h;
};

static struct sr_history *seen_at(struct seen_item *seen, size_t *n, uint32_t *slot, uint32_t item)
{
    if (slot[item] == UINT32_MAX) {
        seen[*n] = (struct seen_item){.item = item};
        slot[item] = (uint32_t)(*n)++;
    }
    return &seen[slot[item]].h;
}

/* Per item: what the rules exclude for the customer (don't-list, bought,
 * dismissed, cooldowns), and the factor its past showings leave on its
 * score (sr_showing_factor of each). Reads only the items the customer's
 * history and showings name, and those the don't-list names (the index). */
static int exclusions(struct bmodel *b, json_t *ctx, int64_t now, uint8_t **ret, float **ret_fatigue)
{
    uint32_t n = (uint32_t)json_array_size(b->items);
    json_t *history = json_object_get(ctx, "history"), *events = json_object_get(ctx, "events");
    size_t cap = json_array_size(history) + json_array_size(events), ns = 0;
    uint8_t *ex = calloc(n + 1, 1);
    float *fat = malloc((n + 1) * sizeof *fat);
    uint32_t *slot = malloc((n + 1) * sizeof *slot);
    struct seen_item *seen = malloc((cap + 1) * sizeof *seen);
    if (!ex || !fat || !slot || !seen) {
        free(ex);
        free(fat);
        free(slot);
        free(seen);
        return SK_ENOMEM;
    }
    for (uint32_t j = 0; j <= n; j++) {
        fat[j] = 1.0f;
        slot[j] = UINT32_MAX;
    }
    size_t i;
    json_t *e;
    json_array_foreach(history, i, e) {
        json_t *ix = json_object_get(b->index, json_string_value(json_object_get(e, "sku")));
        if (!ix) continue;
        int64_t at = parse_s(json_string_value(json_object_get(e, "at")));
        struct sr_history *x = seen_at(seen, &ns, slot, (uint32_t)json_integer_value(ix));
        if (at > x->last_bought) x->last_bought = at;
        if (!x->last_bought) x->last_bought = 1;
    }
    json_array_foreach(events, i, e) {
        json_t *ix = json_object_get(b->index, json_string_value(json_object_get(e, "sku")));
        if (!ix) continue;
        struct sr_history *x = seen_at(seen, &ns, slot, (uint32_t)json_integer_value(ix));
        enum sr_outcome o = sr_outcome_parse(json_string_value(json_object_get(e, "outcome")));
        if (o == SR_DISMISSED) {
            x->dismissed = 1;
            continue;
        }
        int64_t at = parse_s(json_string_value(json_object_get(e, "shown_at")));
        fat[json_integer_value(ix)] *= (float)sr_showing_factor(at, o, now);
        if (at >= x->last_shown) {
            x->last_shown = at;
            x->last_outcome = o;
        }
    }
    for (size_t j = 0; j < ns; j++)
        if (sr_excluded(&b->views[seen[j].item].it, &seen[j].h, NULL, 0, now)) ex[seen[j].item] = 1;
    /* the don't-list: items by title, whole categories (slot is free now:
     * it takes the index's answers) */
    json_array_foreach(json_object_get(ctx, "dont"), i, e) {
        size_t got = item_index_dont(b->ix, json_string_value(e), slot);
        for (size_t j = 0; j < got; j++) ex[slot[j]] = 1;
    }
    free(slot);
    free(seen);
    *ret = ex;
    *ret_fatigue = fat;
    return 0;
}

static int has_purpose(json_t *ctx, const char *p)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ctx, "purposes"), i, v)
        if (strcmp(json_string_value(v), p) == 0) return 1;
    return 0;
}

/* k suggestions for the customer from model b: the rules, then the ranking. */
static int ranked(struct bmodel *b, json_t *ctx, size_t k, int64_t now, const char *only, json_t **ret)
{
    uint8_t *ex = NULL;
    float *fat = NULL;
    int rc = exclusions(b, ctx, now, &ex, &fat);
    if (!rc) rc = rank(b, ctx, ex, fat, k, now, only, ret);
    free(ex);
    free(fat);
    return rc;
}

int suggest_svc_mine(struct suggest_svc *s, const char *brand_id, const char *customer_id,
                     const char *only, size_t k, json_t **ret, int *ret_catalogue)
{
    json_t *ctx;
    int rc = s->st->ops->suggest_context(s->st, brand_id, customer_id, &ctx);
    if (rc) return rc;
    int catalogue = 1;
    struct bmodel *b = NULL;
    if (has_purpose(ctx, "suggestions")) {
        rc = model_get(s, brand_id, &b);
        if (rc == SK_ENOTFOUND) { /* the member is known: it is the catalogue that is missing */
            catalogue = 0;
            rc = 0;
        }
    } else {
        /* nothing is ranked; whether there is a catalogue is still worth saying */
        b = model_peek(s, brand_id);
        if (!b && model_get(s, brand_id, &b) == SK_ENOTFOUND) catalogue = 0;
    }
    json_t *out = NULL;
    if (!rc && b && has_purpose(ctx, "suggestions"))
        rc = ranked(b, ctx, k, time_now_us() / 1000000, only, &out);
    if (b) bmodel_unref(s, b);
    json_decref(ctx);
    if (rc) return rc;
    *ret = out ? out : json_array();
    if (ret_catalogue) *ret_catalogue = catalogue;
    return 0;
}

/* A catalogue item: from the model's copy when it has the item, else from
 * the store (an item added since the model was trained). */
static int item_of(struct suggest_svc *s, const struct bmodel *b, const char *bid, const char *sku,
                   json_t **ret)
{
    json_t *ix = b ? json_object_get(b->index, sku) : NULL;
    if (!ix) return s->st->ops->item_get(s->st, bid, sku, ret);
    *ret = json_incref(json_array_get(b->items, (size_t)json_integer_value(ix)));
    return 0;
}

/* "The usual" from the customer's history: an item bought on separate
 * purchases (core/suggest_rules.h: sr_usual), or NULL. */
static json_t *usual_of(struct suggest_svc *s, const struct bmodel *b, const char *bid, json_t *ctx)
{
    json_t *history = json_object_get(ctx, "history");
    size_t n = json_array_size(history), i;
    if (n == 0) return NULL;
    struct sr_bought *lines = malloc(n * sizeof *lines);
    if (!lines) return NULL;
    json_t *h;
    size_t got = 0;
    json_array_foreach(history, i, h) {
        const char *sku = json_string_value(json_object_get(h, "sku"));
        int64_t us = 0;
        if (!sku || time_parse_rfc3339(json_string_value(json_object_get(h, "at")), &us)) continue;
        lines[got++] = (struct sr_bought){
            .sku = sku, .at = us, .purchase = json_string_value(json_object_get(h, "purchase"))};
    }
    long best = sr_usual(lines, got);
    json_t *out = NULL, *item;
    if (best >= 0 && !item_of(s, b, bid, lines[best].sku, &item)) {
        out = json_pack("{s:s, s:O}", "sku", lines[best].sku, "title", json_object_get(item, "title"));
        json_decref(item);
    }
    free(lines);
    return out;
}

/* A person's reason is never stored in clear (it names their sealed
 * tastes): it is made again from the person's likes. */
static void person_reason(json_t *ctx, const char *pid, json_t *item, json_t *o)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(ctx, "people"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "id")), pid)) continue;
        struct item_view v;
        item_view(item, &v);
        char what[128], reason[256];
        int mk;
        const char *label = json_string_value(json_object_get(p, "label"));
        if (likes_match(json_object_get(p, "likes"), &v.it, what, sizeof what, &mk))
            snprintf(reason, sizeof reason, "for %s — likes %s", label ? label : "", what);
        else /* it came from what was bought for them */
            snprintf(reason, sizeof reason, "for %s", label ? label : "them");
        json_object_set_new(o, "reason", json_string(reason));
        if (label) json_object_set_new(o, "for", json_string(label));
        return;
    }
}

int suggest_svc_card(struct suggest_svc *s, const char *brand_id, const char *customer_id,
                     const char *visit_id, json_t **ret_list, json_t **ret_usual)
{
    *ret_list = NULL;
    *ret_usual = NULL;
    json_t *ctx;
    int rc = s->st->ops->suggest_context(s->st, brand_id, customer_id, &ctx);
    if (rc) return rc;
    struct bmodel *b = model_peek(s, brand_id); /* trained below only if it ranks */
    if (has_purpose(ctx, "history")) *ret_usual = usual_of(s, b, brand_id, ctx);
    json_t *list = json_array();
    if (!has_purpose(ctx, "suggestions")) {
        if (b) bmodel_unref(s, b);
        json_decref(ctx);
        *ret_list = list;
        return 0;
    }
    int64_t now = time_now_us() / 1000000;
    char today[TIME_RFC3339_LEN];
    time_fmt_rfc3339(time_now_us(), today, sizeof today);
    size_t in_visit = 0, on_day = 0, i;
    json_t *e;
    json_t *open = json_array();
    json_array_foreach(json_object_get(ctx, "events"), i, e) {
        const char *v = json_string_value(json_object_get(e, "visit_id"));
        if (!v) continue;
        const char *at = json_string_value(json_object_get(e, "shown_at"));
        if (at && strncmp(at, today, 10) == 0) on_day++;
        if (!visit_id || strcmp(v, visit_id)) continue;
        in_visit++;
        if (json_is_null(json_object_get(e, "outcome")) || !json_object_get(e, "outcome"))
            json_array_append(open, e);
    }
    /* what is still open on this visit stays as it was shown */
    json_array_foreach(open, i, e) {
        json_t *item;
        const char *sku = json_string_value(json_object_get(e, "sku"));
        if (item_of(s, b, brand_id, sku, &item)) continue;
        json_t *o = json_pack("{s:s, s:O, s:O}", "sku", sku, "title", json_object_get(item, "title"),
                              "reason", json_object_get(e, "reason"));
        const char *pid = json_string_value(json_object_get(e, "person_id"));
        if (pid) person_reason(ctx, pid, item, o);
        json_array_append_new(list, o);
        json_decref(item);
    }
    json_decref(open);
    size_t allow = sr_allowance(in_visit, on_day);
    json_t *fresh = NULL;
    if (allow && !b) rc = model_get(s, brand_id, &b);
    if (rc == SK_ENOTFOUND) { /* no catalogue: nothing to mention, the usual stays */
        rc = 0;
        allow = 0;
    }
    if (allow && !rc) rc = ranked(b, ctx, allow, now, NULL, &fresh);
    if (!rc && fresh && json_array_size(fresh) && visit_id) {
        /* recorded before it is shown: cooldowns apply from now */
        json_t *rec = json_array();
        json_array_foreach(fresh, i, e) {
            json_t *r = json_pack("{s:O, s:O}", "sku", json_object_get(e, "sku"), "reason",
                                  json_object_get(e, "reason"));
            if (json_object_get(e, "person")) json_object_set(r, "person", json_object_get(e, "person"));
            json_array_append_new(rec, r);
        }
        rc = s->st->ops->suggest_shown(s->st, brand_id, customer_id, visit_id, rec);
        json_decref(rec);
    }
    if (!rc && fresh) {
        json_array_foreach(fresh, i, e) {
            json_t *o = json_pack("{s:O, s:O, s:O}", "sku", json_object_get(e, "sku"), "title",
                                  json_object_get(e, "title"), "reason", json_object_get(e, "reason"));
            if (json_object_get(e, "for")) json_object_set(o, "for", json_object_get(e, "for"));
            json_array_append_new(list, o);
        }
    }
    json_decref(fresh);
    if (b) bmodel_unref(s, b);
    json_decref(ctx);
    if (rc) {
        json_decref(list);
        json_decref(*ret_usual);
        *ret_usual = NULL;
        return rc;
    }
    *ret_list = list;
    return 0;
}
