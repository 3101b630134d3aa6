/* suggest_svc.c — the suggestion service (see suggest_svc.h). */
#include "service/suggest_svc.h"
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

/* The rules' view of catalogue item i (tags borrowed from the json). */
struct item_view {
    struct sr_item it;
    const char *tags[16];
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
}

/* A trained model with the catalogue it was trained on; shared by
 * reference count, immutable once published. */
struct bmodel {
    int refs;
    int64_t stamp;
    struct suggest_model *m;
    json_t *items; /* array, index = model item */
    json_t *index; /* sku -> index */
    struct item_view *views; /* the rules' view of each item, made once */
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

/* ---- training ------------------------------------------------------------ */

static int train(struct suggest_svc *s, const char *bid, json_t **ret)
{
    int64_t t0 = time_now_us(), stamp = 0;
    json_t *data;
    int rc = s->st->ops->suggest_stamp(s->st, bid, &stamp);
    if (!rc) rc = s->st->ops->suggest_baskets(s->st, bid, &data);
    if (rc) return rc;
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
    b->refs = 1;
    b->stamp = stamp;
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

/* The brand's current model, referenced; trained first when there is none. */
static int model_get(struct suggest_svc *s, const char *bid, struct bmodel **ret)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&s->mu);
        struct bmodel *b = strmap_get(&s->models, bid);
        if (b) b->refs++;
        pthread_mutex_unlock(&s->mu);
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

struct cand { /* what a ranked item came with */
    char reason[256];
    const char *person_id;
    const char *label;
    const char *source;
    const char *because; /* sku */
};

struct ranking {
    json_t *list;  /* [{sku, title, reason, for?, person?, why}] */
    json_t *usual; /* or NULL */
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

static int dislikes_match(json_t *dislikes, const struct sr_item *it)
{
    static const char *const keys[3] = {"categories", "makers", "tags"};
    for (int k = 0; k < 3; k++) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(dislikes, keys[k]), i, t)
            if (sr_matches_taste(it, json_string_value(t))) return 1;
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

/* Sorts a list best first (ties to the lower item), its reasons alongside. */
static void sort_list(struct suggest_scored *out, struct cand *cs, size_t n)
{
    for (size_t a = 1; a < n; a++)
        for (size_t c = a; c > 0 && (out[c].score > out[c - 1].score ||
                                     (out[c].score == out[c - 1].score && out[c].item < out[c - 1].item)); c--) {
            struct suggest_scored t = out[c];
            out[c] = out[c - 1];
            out[c - 1] = t;
            struct cand tc = cs[c];
            cs[c] = cs[c - 1];
            cs[c - 1] = tc;
        }
}

/*
 * Ranks for the customer: k items, the caller's exclusions already applied
 * (exclude per item) and each score multiplied by fatigue per item (what
 * earlier showings left).
 */
static int rank(struct bmodel *b, json_t *ctx, const uint8_t *exclude0, const float *fatigue,
                size_t k, int64_t now, json_t **ret)
{
    uint32_t n = (uint32_t)json_array_size(b->items);
    json_t *people = json_object_get(ctx, "people");
    size_t np = json_array_size(people);
    size_t nlists = 0;
    struct suggest_person_list *lists = calloc(np + 1, sizeof *lists);
    struct suggest_scored **bufs = calloc(np + 1, sizeof *bufs);
    struct cand **cands = calloc(np + 1, sizeof *cands);
    uint8_t *ex = malloc(n + 1);
    uint32_t *hist = malloc((json_array_size(json_object_get(ctx, "history")) + n + 1) * sizeof *hist);
    float *hw = malloc((json_array_size(json_object_get(ctx, "history")) + n + 1) * sizeof *hw);
    const struct item_view *views = b->views;
    int rc = lists && bufs && cands && ex && hist && hw ? 0 : SK_ENOMEM;

    /* the customer themself, from their consented history */
    json_t *history = json_object_get(ctx, "history");
    size_t nh = 0;
    double own_w = 0;
    if (!rc && json_array_size(history)) {
        size_t i;
        json_t *h;
        json_array_foreach(history, i, h) {
            if (person_known(people, json_string_value(json_object_get(h, "person")))) continue;
            json_t *ix = json_object_get(b->index, json_string_value(json_object_get(h, "sku")));
            if (!ix) continue;
            hist[nh] = (uint32_t)json_integer_value(ix);
            hw[nh++] = recency(h, now);
        }
        struct suggest_scored *out = calloc(PER_LIST, sizeof *out);
        struct cand *cs = calloc(PER_LIST, sizeof *cs);
        if (!out || !cs) rc = SK_ENOMEM;
        for (size_t j = 0; j < nh; j++) own_w += hw[j];
        int got = rc || !nh ? 0 : suggest_rank(b->m, hist, nh, hw, out, PER_LIST, exclude0);
        size_t kept = 0;
        for (int j = 0; j < got; j++) {
            if (out[j].because == SUGGEST_NO_REASON || out[j].score <= 0) continue;
            out[kept] = out[j];
            out[kept].score *= fatigue[out[j].item];
            snprintf(cs[kept].reason, sizeof cs[kept].reason, "because you bought %s",
                     views[out[j].because].it.title);
            cs[kept].source = "history";
            cs[kept].because = json_string_value(json_object_get(json_array_get(b->items, out[j].because), "sku"));
            kept++;
        }
        sort_list(out, cs, kept);
        if (kept) {
            bufs[nlists] = out;
            cands[nlists] = cs;
            lists[nlists].items = out;
            lists[nlists].n = kept;
            lists[nlists].weight = own_w > 0 ? 1.0 / own_w : 1.0;
            nlists++;
        } else {
            free(out);
            free(cs);
        }
    }

    /* each person, from their stated likes */
    size_t pi;
    json_t *p;
    json_array_foreach(people, pi, p) {
        if (rc) break;
        json_t *likes = json_object_get(p, "likes"), *dislikes = json_object_get(p, "dislikes");
        const char *pid = json_string_value(json_object_get(p, "id"));
        memcpy(ex, exclude0, n);
        size_t ns = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (!ex[i] && dislikes_match(dislikes, &views[i].it)) ex[i] = 1;
            char buf[2];
            int mk;
            if (likes_match(likes, &views[i].it, buf, sizeof buf, &mk)) {
                hist[ns] = i;
                hw[ns++] = 1;
            }
        }
        /* what was bought for them: its neighbours are candidates too */
        size_t nliked = ns;
        json_t *h;
        size_t hi;
        json_array_foreach(history, hi, h) {
            const char *for_p = json_string_value(json_object_get(h, "person"));
            json_t *ix = json_object_get(b->index, json_string_value(json_object_get(h, "sku")));
            if (!for_p || !pid || strcmp(for_p, pid) || !ix) continue;
            hist[ns] = (uint32_t)json_integer_value(ix);
            hw[ns++] = recency(h, now);
        }
        if (!ns) continue;
        double seed_w = 0;
        for (size_t j = 0; j < ns; j++) seed_w += hw[j];
        struct suggest_scored *out = calloc(ns + PER_LIST, sizeof *out);
        struct cand *cs = calloc(ns + PER_LIST, sizeof *cs);
        if (!out || !cs) {
            free(out);
            free(cs);
            rc = SK_ENOMEM;
            break;
        }
        /* the seeds themselves are the candidates, scored by what the
         * other seeds say of them (the model) and by popularity */
        struct suggest_scored *all = calloc(n, sizeof *all);
        int got = all ? suggest_rank(b->m, hist, ns, hw, all, n, ex) : SK_ENOMEM;
        if (got < 0) {
            free(all);
            free(out);
            free(cs);
            rc = got;
            break;
        }
        float *score = calloc(n, sizeof *score);
        for (int j = 0; score && j < got; j++) score[all[j].item] = all[j].score;
        size_t kept = 0;
        const char *label = json_string_value(json_object_get(p, "label"));
        /* neighbours of what was bought for them, best first */
        for (int j = 0; nliked < ns && j < got && kept < PER_LIST; j++) {
            struct suggest_scored *x = &all[j];
            if (x->because == SUGGEST_NO_REASON || x->score <= 0) break;
            /* the reason must be a purchase for them, not a liked seed */
            size_t q = nliked;
            while (q < ns && hist[q] != x->because) q++;
            if (q == ns) continue;
            out[kept] = *x;
            out[kept].score *= fatigue[x->item];
            snprintf(cs[kept].reason, sizeof cs[kept].reason, "for %s — because you bought %s for %s",
                     label ? label : "", views[x->because].it.title, label ? label : "them");
            cs[kept].source = "person";
            cs[kept].because = json_string_value(json_object_get(json_array_get(b->items, x->because), "sku"));
            cs[kept].person_id = pid;
            cs[kept].label = label;
            kept++;
        }
        size_t from_bought = kept;
        for (size_t j = 0; j < nliked; j++) {
            uint32_t i = hist[j];
            if (ex[i]) continue;
            size_t dup = 0;
            while (dup < from_bought && out[dup].item != i) dup++;
            if (dup < from_bought) continue;
            char what[128];
            int is_maker = 0;
            likes_match(likes, &views[i].it, what, sizeof what, &is_maker);
            int64_t rel = parse_date_s(json_string_value(json_object_get(json_array_get(b->items, i), "released")));
            int fresh = is_maker && rel && rel <= now && now - rel <= (int64_t)NEW_DAYS * DAY;
            out[kept].item = i;
            out[kept].score = ((score ? score[i] : 0) + 0.001f * (float)suggest_model_popularity(b->m, i) +
                               (fresh ? 100.0f : 0)) * fatigue[i];
            out[kept].because = SUGGEST_NO_REASON;
            if (fresh) {
                snprintf(cs[kept].reason, sizeof cs[kept].reason, "new from %s you follow", what);
                cs[kept].source = "new";
            } else {
                snprintf(cs[kept].reason, sizeof cs[kept].reason, "for %s — likes %s", label ? label : "", what);
                cs[kept].source = "person";
            }
            cs[kept].person_id = json_string_value(json_object_get(p, "id"));
            cs[kept].label = label;
            kept++;
        }
        free(score);
        free(all);
        sort_list(out, cs, kept);
        if (!kept) {
            free(out);
            free(cs);
            continue;
        }
        bufs[nlists] = out;
        cands[nlists] = cs;
        lists[nlists].items = out;
        lists[nlists].n = kept < PER_LIST ? kept : PER_LIST;
        lists[nlists].weight = seed_w > 0 ? 1.0 / seed_w : 1.0;
        nlists++;
    }

    json_t *list = json_array();
    if (!rc && nlists && k) {
        struct suggest_merged *m = calloc(k, sizeof *m);
        size_t got = m ? suggest_merge(lists, nlists, SUGGEST_MERGE_SUM, m, k) : 0;
        for (size_t j = 0; j < got; j++) {
            const struct suggest_person_list *l = &lists[m[j].person];
            size_t pos = 0;
            while (pos < l->n && l->items[pos].item != m[j].s.item) pos++;
            struct cand *c = &cands[m[j].person][pos];
            json_t *item = json_array_get(b->items, m[j].s.item);
            json_t *e = json_pack("{s:O, s:O, s:s}", "sku", json_object_get(item, "sku"), "title",
                                  json_object_get(item, "title"), "reason", c->reason);
            json_t *why = json_pack("{s:s}", "source", c->source);
            if (c->because) json_object_set_new(why, "because", json_string(c->because));
            if (c->label) {
                json_object_set_new(e, "for", json_string(c->label));
                json_object_set_new(why, "person", json_string(c->label));
            }
            if (c->person_id) json_object_set_new(e, "person", json_string(c->person_id));
            json_object_set_new(e, "why", why);
            json_array_append_new(list, e);
        }
        free(m);
    }
    for (size_t j = 0; j < nlists; j++) {
        free(bufs[j]);
        free(cands[j]);
    }
    free(lists);
    free(bufs);
    free(cands);
    free(ex);
    free(hist);
    free(hw);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *ret = list;
    return 0;
}

/* Per item: what the rules exclude for the customer (don't-list, bought,
 * dismissed, cooldowns), and the factor its past showings leave on its
 * score (sr_showing_factor of each). */
static int exclusions(struct bmodel *b, json_t *ctx, int64_t now, uint8_t **ret, float **ret_fatigue)
{
    uint32_t n = (uint32_t)json_array_size(b->items);
    struct sr_history *h = calloc(n + 1, sizeof *h);
    uint8_t *ex = calloc(n + 1, 1);
    float *fat = malloc((n + 1) * sizeof *fat);
    json_t *dont = json_object_get(ctx, "dont");
    size_t nd = json_array_size(dont);
    const char **dl = calloc(nd + 1, sizeof *dl);
    if (!h || !ex || !dl || !fat) {
        free(h);
        free(ex);
        free(dl);
        free(fat);
        return SK_ENOMEM;
    }
    for (uint32_t j = 0; j <= n; j++) fat[j] = 1.0f;
    for (size_t i = 0; i < nd; i++) dl[i] = json_string_value(json_array_get(dont, i));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(ctx, "history"), i, e) {
        json_t *ix = json_object_get(b->index, json_string_value(json_object_get(e, "sku")));
        if (!ix) continue;
        int64_t at = parse_s(json_string_value(json_object_get(e, "at")));
        struct sr_history *x = &h[json_integer_value(ix)];
        if (at > x->last_bought) x->last_bought = at;
        if (!x->last_bought) x->last_bought = 1;
    }
    json_array_foreach(json_object_get(ctx, "events"), i, e) {
        json_t *ix = json_object_get(b->index, json_string_value(json_object_get(e, "sku")));
        if (!ix) continue;
        struct sr_history *x = &h[json_integer_value(ix)];
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
    for (uint32_t j = 0; j < n; j++) ex[j] = (uint8_t)sr_excluded(&b->views[j].it, &h[j], dl, nd, now);
    free(h);
    free(dl);
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

static int ranked(struct suggest_svc *s, const char *bid, json_t *ctx, size_t k, int64_t now,
                  struct bmodel **ret_b, json_t **ret)
{
    struct bmodel *b;
    int rc = model_get(s, bid, &b);
    if (rc) return rc;
    uint8_t *ex = NULL;
    float *fat = NULL;
    rc = exclusions(b, ctx, now, &ex, &fat);
    if (!rc) rc = rank(b, ctx, ex, fat, k, now, ret);
    free(ex);
    free(fat);
    if (rc || !ret_b)
        bmodel_unref(s, b);
    else
        *ret_b = b;
    return rc;
}

int suggest_svc_mine(struct suggest_svc *s, const char *brand_id, const char *customer_id,
                     size_t k, json_t **ret)
{
    json_t *ctx;
    int rc = s->st->ops->suggest_context(s->st, brand_id, customer_id, &ctx);
    if (rc) return rc;
    if (!has_purpose(ctx, "suggestions")) {
        json_decref(ctx);
        *ret = json_array();
        return 0;
    }
    rc = ranked(s, brand_id, ctx, k, time_now_us() / 1000000, NULL, ret);
    json_decref(ctx);
    return rc;
}

/* The customer's most frequent item in their history, or NULL. */
static json_t *usual_of(struct suggest_svc *s, const char *bid, json_t *ctx)
{
    json_t *counts = json_object();
    const char *best = NULL;
    json_int_t bestn = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(ctx, "history"), i, h) {
        const char *sku = json_string_value(json_object_get(h, "sku"));
        json_int_t c = json_integer_value(json_object_get(counts, sku)) + 1;
        json_object_set_new(counts, sku, json_integer(c));
        if (c > bestn) {
            bestn = c;
            best = sku;
        }
    }
    json_t *out = NULL, *item;
    if (best && !s->st->ops->item_get(s->st, bid, best, &item)) {
        out = json_pack("{s:s, s:O}", "sku", best, "title", json_object_get(item, "title"));
        json_decref(item);
    }
    json_decref(counts);
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
    if (has_purpose(ctx, "history")) *ret_usual = usual_of(s, brand_id, ctx);
    json_t *list = json_array();
    if (!has_purpose(ctx, "suggestions")) {
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
    struct bmodel *b = NULL;
    json_array_foreach(open, i, e) {
        json_t *item;
        const char *sku = json_string_value(json_object_get(e, "sku"));
        if (s->st->ops->item_get(s->st, brand_id, sku, &item)) continue;
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
    if (allow) rc = ranked(s, brand_id, ctx, allow, now, &b, &fresh);
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
