/*
 * import.c — bulk CSV imports (see import.h). Invariant: every data row ends
 * up counted exactly once in the summary — imported, updated, duplicate or
 * rejected with its line number and a reason naming the column.
 */
#include "service/import.h"
#include "core/catalogue.h"
#include "core/choices.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COLS_MAX 16

struct summary {
    json_t *out, *rejected;
    size_t rejected_count;
};

static void summary_init(struct summary *s, json_t *out)
{
    s->out = out;
    s->rejected = json_array();
    s->rejected_count = 0;
}

static void reject(struct summary *s, size_t line, const char *reason)
{
    s->rejected_count++;
    if (json_array_size(s->rejected) < IMPORT_REJECTED_MAX)
        json_array_append_new(s->rejected,
                              json_pack("{s:I, s:s}", "line", (json_int_t)line, "reason", reason));
}

static json_t *summary_done(struct summary *s)
{
    json_object_set_new(s->out, "rejected", s->rejected);
    json_object_set_new(s->out, "rejected_count", json_integer((json_int_t)s->rejected_count));
    return s->out;
}

static void count_add(json_t *out, const char *k)
{
    json_object_set_new(out, k, json_integer(json_integer_value(json_object_get(out, k)) + 1));
}

/* Copies a field with surrounding blanks trimmed; NULL for a field that is
 * not UTF-8 text. */
static char *field_trim(json_t *rec, int col)
{
    if (col < 0) return strdup("");
    const char *v = json_string_value(json_array_get(rec, (size_t)col));
    if (!v) return NULL;
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    return strndup(v, n);
}

/* Maps the header row to column indices by name (case-insensitive).
 * names[k] may list aliases separated by '|'. */
static int header_map(json_t *hdr, const char *const *names, int ncols, const int *required,
                      int *idx, char *err, size_t errlen)
{
    for (int k = 0; k < ncols; k++) idx[k] = -1;
    size_t i;
    json_t *h;
    json_array_foreach(hdr, i, h) {
        const char *v = json_string_value(h);
        char name[64];
        snprintf(name, sizeof name, "%s", v ? v : "");
        char *p = name;
        while (*p == ' ') p++;
        size_t n = strlen(p);
        while (n && p[n - 1] == ' ') p[--n] = '\0';
        int found = -1;
        for (int k = 0; k < ncols && found < 0; k++) {
            char alias[128];
            snprintf(alias, sizeof alias, "%s", names[k]);
            for (char *save, *a = strtok_r(alias, "|", &save); a; a = strtok_r(NULL, "|", &save))
                if (strcasecmp(a, p) == 0) found = k;
        }
        if (found < 0) {
            snprintf(err, errlen, "header: unknown column \"%.40s\" (line 1)", p);
            return SK_EINVAL;
        }
        if (idx[found] >= 0) {
            snprintf(err, errlen, "header: column \"%.40s\" appears twice", p);
            return SK_EINVAL;
        }
        idx[found] = (int)i;
    }
    for (int k = 0; k < ncols; k++)
        if (required[k] && idx[k] < 0) {
            char first[64];
            snprintf(first, sizeof first, "%s", names[k]);
            char *bar = strchr(first, '|');
            if (bar) *bar = '\0';
            snprintf(err, errlen, "header: the column \"%s\" is required", first);
            return SK_EINVAL;
        }
    return 0;
}

/* Reads the header: SK_EINVAL with err when there is none or it is bad. */
static int read_header(struct csv *c, const char *const *names, int ncols, const int *required,
                       int *idx, size_t *ret_width, char *err, size_t errlen)
{
    json_t *hdr;
    size_t line;
    int r = csv_next(c, &hdr, &line);
    if (r <= 0) {
        snprintf(err, errlen, "header: the file is empty; the first line names the columns");
        return SK_EINVAL;
    }
    int rc = header_map(hdr, names, ncols, required, idx, err, errlen);
    *ret_width = json_array_size(hdr);
    json_decref(hdr);
    return rc;
}

/* ---- items ----------------------------------------------------------------- */

enum { IC_SKU, IC_TITLE, IC_CATEGORY, IC_MAKER, IC_TAGS, IC_RELEASED, IC_CONSUMABLE, IC_N };
static const char *const item_cols[IC_N] = {"sku",  "title",    "category|category_path",
                                           "maker|author|brand", "tags", "released|release_date",
                                           "consumable"};
static const int item_required[IC_N] = {1, 1, 0, 0, 0, 0, 0};

/* One data row -> a normalized item; reason in err on failure. */
static int item_row(json_t *rec, const int *idx, size_t width, char *sku, json_t **ret,
                    char *err, size_t errlen)
{
    if (json_array_size(rec) != width) {
        snprintf(err, errlen, "expected %zu fields, found %zu", width, json_array_size(rec));
        return SK_EINVAL;
    }
    char *v[IC_N] = {0};
    int rc = 0;
    for (int k = 0; k < IC_N && !rc; k++) {
        v[k] = field_trim(rec, idx[k]);
        if (!v[k]) {
            snprintf(err, errlen, "%s: not valid UTF-8 text", strtok(strdupa(item_cols[k]), "|"));
            rc = SK_EINVAL;
        }
    }
    json_t *in = NULL;
    if (!rc && !sku_is_valid(v[IC_SKU])) {
        snprintf(err, errlen, "sku: required, 1-%d of A-Z a-z 0-9 _ -", ITEM_SKU_MAX);
        rc = SK_EINVAL;
    }
    if (!rc) {
        in = json_pack("{s:s, s:s, s:s}", "title", v[IC_TITLE], "category", v[IC_CATEGORY],
                       "maker", v[IC_MAKER]);
        if (*v[IC_RELEASED]) json_object_set_new(in, "released", json_string(v[IC_RELEASED]));
        json_t *tags = json_array();
        char *save;
        for (char *t = strtok_r(v[IC_TAGS], ";|", &save); t; t = strtok_r(NULL, ";|", &save)) {
            while (*t == ' ') t++;
            size_t n = strlen(t);
            while (n && t[n - 1] == ' ') t[--n] = '\0';
            if (*t) json_array_append_new(tags, json_string(t));
        }
        json_object_set_new(in, "tags", tags);
        const char *c = v[IC_CONSUMABLE];
        if (!*c || !strcasecmp(c, "no") || !strcasecmp(c, "false") || !strcmp(c, "0") ||
            !strcasecmp(c, "n"))
            json_object_set_new(in, "consumable", json_false());
        else if (!strcasecmp(c, "yes") || !strcasecmp(c, "true") || !strcmp(c, "1") ||
                 !strcasecmp(c, "y"))
            json_object_set_new(in, "consumable", json_true());
        else {
            snprintf(err, errlen, "consumable: yes or no");
            rc = SK_EINVAL;
        }
    }
    if (!rc) {
        rc = item_normalize(in, "", ret, err, errlen);
        if (!rc) snprintf(sku, ITEM_SKU_MAX + 1, "%s", v[IC_SKU]);
    }
    json_decref(in);
    for (int k = 0; k < IC_N; k++) free(v[k]);
    return rc;
}

int import_items(struct store *st, const char *bid, const char *csv, size_t len,
                 import_progress_fn fn, void *ctx, json_t **ret, char *err, size_t errlen)
{
    struct csv c;
    int idx[IC_N];
    size_t width;
    csv_init(&c, csv, len);
    int rc = read_header(&c, item_cols, IC_N, item_required, idx, &width, err, errlen);
    if (rc) return rc;
    struct summary s;
    summary_init(&s, json_pack("{s:i, s:i}", "imported", 0, "updated", 0));
    for (;;) {
        json_t *rec;
        size_t line;
        int r = csv_next(&c, &rec, &line);
        if (r == 0) break;
        if (r < 0) {
            reject(&s, line, "an unterminated quoted field runs to the end of the file");
            break;
        }
        char reason[256], sku[ITEM_SKU_MAX + 1];
        json_t *item;
        if (item_row(rec, idx, width, sku, &item, reason, sizeof reason)) {
            reject(&s, line, reason);
        } else {
            json_t *out;
            int created = 0;
            int src = st->ops->item_put(st, bid, sku, item, &out, &created);
            if (src) {
                snprintf(reason, sizeof reason, "could not be stored: %s", sk_strerror(src));
                reject(&s, line, reason);
            } else {
                count_add(s.out, created ? "imported" : "updated");
                json_decref(out);
            }
            json_decref(item);
        }
        json_decref(rec);
        if (fn) fn(ctx, csv_offset(&c, csv), len);
    }
    *ret = summary_done(&s);
    return 0;
}

/* ---- purchases ------------------------------------------------------------ */

enum { PC_TXN, PC_STORE, PC_AT, PC_EMAIL, PC_SKU, PC_QTY, PC_PRICE, PC_N };
static const char *const purchase_cols[PC_N] = {"txn|transaction", "store", "at|time",
                                               "customer_email|email", "sku", "qty|quantity",
                                               "price"};
static const int purchase_required[PC_N] = {1, 1, 1, 0, 1, 1, 1};

struct group {
    json_t *p;         /* normalized purchase being built */
    size_t first_line; /* of the transaction */
    json_t *lines;     /* line numbers of its rows */
    size_t bad_line;   /* 0: none */
    char bad_reason[256];
    char txn[TXN_MAX + 1];
};

/* Validates a row into its parts; reason in err. */
static int purchase_row(json_t *rec, const int *idx, size_t width, char **v, char *err,
                        size_t errlen)
{
    if (json_array_size(rec) != width) {
        snprintf(err, errlen, "expected %zu fields, found %zu", width, json_array_size(rec));
        return SK_EINVAL;
    }
    for (int k = 0; k < PC_N; k++) {
        v[k] = field_trim(rec, idx[k]);
        if (!v[k]) {
            snprintf(err, errlen, "%s: not valid UTF-8 text",
                     strtok(strdupa(purchase_cols[k]), "|"));
            return SK_EINVAL;
        }
    }
    int64_t us;
    if (!text_is_clean(v[PC_TXN], TXN_MAX)) {
        snprintf(err, errlen, "txn: required text of 1-%d characters", TXN_MAX);
        return SK_EINVAL;
    }
    if (!id_is_plausible(v[PC_STORE])) {
        snprintf(err, errlen, "store: required, a store id");
        return SK_EINVAL;
    }
    if (time_parse_rfc3339(v[PC_AT], &us)) {
        snprintf(err, errlen, "at: an RFC 3339 time");
        return SK_EINVAL;
    }
    if (*v[PC_EMAIL] && (!text_is_clean(v[PC_EMAIL], 254) || !strchr(v[PC_EMAIL], '@'))) {
        snprintf(err, errlen, "customer_email: an email address");
        return SK_EINVAL;
    }
    if (!sku_is_valid(v[PC_SKU])) {
        snprintf(err, errlen, "sku: required, 1-%d of A-Z a-z 0-9 _ -", ITEM_SKU_MAX);
        return SK_EINVAL;
    }
    char *end;
    long q = strtol(v[PC_QTY], &end, 10);
    if (!*v[PC_QTY] || *end || q < 1 || q > PURCHASE_QTY_MAX) {
        snprintf(err, errlen, "qty: a whole number from 1 to %d", PURCHASE_QTY_MAX);
        return SK_EINVAL;
    }
    int64_t cents;
    if (price_from_text(v[PC_PRICE], &cents)) {
        snprintf(err, errlen, "price: a number from 0 to 1000000 with at most two decimals");
        return SK_EINVAL;
    }
    return 0;
}

static void group_bad(struct group *g, size_t line, const char *reason)
{
    if (g->bad_line) return;
    g->bad_line = line;
    snprintf(g->bad_reason, sizeof g->bad_reason, "%s", reason);
}

/* Rejects every row of a group: the bad one with its reason, the others
 * pointing at it. */
static void group_reject(struct summary *s, struct group *g, const char *reason_all)
{
    size_t i;
    json_t *l;
    json_array_foreach(g->lines, i, l) {
        size_t line = (size_t)json_integer_value(l);
        char reason[384];
        if (g->bad_line == line) snprintf(reason, sizeof reason, "%s", g->bad_reason);
        else if (g->bad_line)
            snprintf(reason, sizeof reason,
                     "txn %s: not imported, line %zu of the same transaction was rejected",
                     g->txn, g->bad_line);
        else snprintf(reason, sizeof reason, "%s", reason_all);
        reject(s, line, reason);
    }
}

int import_purchases(struct store *st, const char *bid, const char *csv, size_t len,
                     import_progress_fn fn, void *ctx, json_t **ret, char *err, size_t errlen)
{
    struct csv c;
    int idx[PC_N];
    size_t width;
    csv_init(&c, csv, len);
    int rc = read_header(&c, purchase_cols, PC_N, purchase_required, idx, &width, err, errlen);
    if (rc) return rc;
    struct summary s;
    summary_init(&s, json_pack("{s:i, s:i, s:i, s:i}", "imported", 0, "duplicates", 0,
                               "linked", 0, "anonymous", 0));
    json_t *index = json_object(); /* "store txn" -> group number */
    struct group *groups = NULL;
    size_t ng = 0, cap = 0;
    /* pass 1: rows into transactions */
    for (;;) {
        json_t *rec;
        size_t line;
        int r = csv_next(&c, &rec, &line);
        if (r == 0) break;
        if (r < 0) {
            reject(&s, line, "an unterminated quoted field runs to the end of the file");
            break;
        }
        char *v[PC_N] = {0}, reason[256] = "";
        int bad = purchase_row(rec, idx, width, v, reason, sizeof reason);
        /* the transaction of the row, when its txn and store are readable: a
         * bad row spoils its whole transaction */
        struct group *g = NULL;
        if (v[PC_TXN] && v[PC_STORE] && *v[PC_TXN] && *v[PC_STORE] &&
            text_is_clean(v[PC_TXN], TXN_MAX) && id_is_plausible(v[PC_STORE])) {
            char key[200];
            snprintf(key, sizeof key, "%s %s", v[PC_STORE], v[PC_TXN]);
            json_t *gi = json_object_get(index, key);
            if (gi) {
                g = &groups[json_integer_value(gi)];
            } else {
                if (ng == cap) {
                    cap = cap ? cap * 2 : 64;
                    struct group *ngp = realloc(groups, cap * sizeof *groups);
                    if (!ngp) {
                        for (int k = 0; k < PC_N; k++) free(v[k]);
                        json_decref(rec);
                        rc = SK_ENOMEM;
                        break;
                    }
                    groups = ngp;
                }
                g = &groups[ng];
                memset(g, 0, sizeof *g);
                g->first_line = line;
                g->lines = json_array();
                snprintf(g->txn, sizeof g->txn, "%s", v[PC_TXN]);
                json_object_set_new(index, key, json_integer((json_int_t)ng));
                ng++;
            }
            json_array_append_new(g->lines, json_integer((json_int_t)line));
        }
        if (bad) {
            if (g) group_bad(g, line, reason);
            else reject(&s, line, reason);
        } else if (!g->p) {
            int64_t us;
            char at[TIME_RFC3339_LEN];
            time_parse_rfc3339(v[PC_AT], &us);
            time_fmt_rfc3339(us, at, sizeof at);
            g->p = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "store", v[PC_STORE], "at", at,
                             "source", "import", "txn", v[PC_TXN], "lines");
            if (*v[PC_EMAIL]) json_object_set_new(g->p, "customer_email", json_string(v[PC_EMAIL]));
            g->first_line = line;
        } else {
            int64_t a, b;
            time_parse_rfc3339(v[PC_AT], &a);
            time_parse_rfc3339(json_string_value(json_object_get(g->p, "at")), &b);
            const char *em = json_string_value(json_object_get(g->p, "customer_email"));
            if (a != b)
                snprintf(reason, sizeof reason, "at: differs from line %zu of the same transaction",
                         g->first_line);
            else if (strcmp(em ? em : "", v[PC_EMAIL]) != 0)
                snprintf(reason, sizeof reason,
                         "customer_email: differs from line %zu of the same transaction",
                         g->first_line);
            if (reason[0]) group_bad(g, line, reason);
        }
        if (!bad && g->p) {
            json_t *lines = json_object_get(g->p, "lines");
            if (json_array_size(lines) >= PURCHASE_LINES_MAX) {
                snprintf(reason, sizeof reason, "txn %s: more than %d lines", g->txn,
                         PURCHASE_LINES_MAX);
                group_bad(g, line, reason);
            } else {
                int64_t cents = 0;
                price_from_text(v[PC_PRICE], &cents);
                json_array_append_new(lines, json_pack("{s:s, s:I, s:I}", "sku", v[PC_SKU], "qty",
                                                       (json_int_t)atol(v[PC_QTY]), "price_cents",
                                                       (json_int_t)cents));
            }
        }
        for (int k = 0; k < PC_N; k++) free(v[k]);
        json_decref(rec);
    }
    /* pass 2: one purchase per transaction, idempotent by (store, txn) */
    for (size_t i = 0; i < ng && !rc; i++) {
        struct group *g = &groups[i];
        if (g->bad_line || !g->p) {
            group_reject(&s, g, "");
        } else {
            char key[IDEM_KEY_MAX + 64], hash[65], reason[256];
            uint8_t h[32];
            snprintf(key, sizeof key, "import:%s:%s",
                     json_string_value(json_object_get(g->p, "store")), g->txn);
            char *canon = json_dumps(g->p, JSON_COMPACT | JSON_SORT_KEYS);
            crypto_sha256(canon ? canon : "", canon ? strlen(canon) : 0, h);
            free(canon);
            hex_encode(h, sizeof h, hash);
            json_t *out = NULL;
            int replayed = 0, bad = -1;
            int prc = st->ops->purchase_create(st, bid, key, hash, g->p, &out, &replayed, &bad);
            if (!prc) {
                if (replayed) count_add(s.out, "duplicates");
                else {
                    count_add(s.out, "imported");
                    count_add(s.out, json_is_true(json_object_get(out, "linked")) ? "linked"
                                                                                   : "anonymous");
                }
                json_decref(out);
            } else if (prc == SK_EINVAL && bad >= 0) {
                g->bad_line = (size_t)json_integer_value(json_array_get(g->lines, (size_t)bad));
                snprintf(g->bad_reason, sizeof g->bad_reason, "sku: no such item in the catalogue");
                group_reject(&s, g, "");
            } else {
                if (prc == SK_ENOTFOUND) snprintf(reason, sizeof reason, "store: no such store in this brand");
                else if (prc == SK_ECONFLICT)
                    snprintf(reason, sizeof reason,
                             "txn %s: already imported with different lines", g->txn);
                else snprintf(reason, sizeof reason, "could not be stored: %s", sk_strerror(prc));
                group_reject(&s, g, reason);
            }
        }
        if (fn) fn(ctx, i + 1, ng);
    }
    for (size_t i = 0; i < ng; i++) {
        json_decref(groups[i].p);
        json_decref(groups[i].lines);
    }
    free(groups);
    json_decref(index);
    if (rc) {
        json_decref(summary_done(&s));
        return rc;
    }
    *ret = summary_done(&s);
    return 0;
}
