/*
 * catalogue.c — validating items and purchases, and reading CSV (see
 * catalogue.h). Invariant: a normalized item always has every field (null
 * where absent); a normalized purchase has store, at and 1..200 lines.
 */
#include "core/catalogue.h"
#include "core/choices.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                          \
    do {                                                                                   \
        snprintf(err, errlen, __VA_ARGS__);                                                \
        goto fail;                                                                         \
    } while (0)

int idem_key_is_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > IDEM_KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e) return 0;
    return 1;
}

int sku_is_valid(const char *s)
{
    /* "import" names the bulk route under /items */
    return s && id_is_plausible(s) && strcmp(s, "import") != 0;
}

int date_is_valid(const char *s)
{
    char buf[32];
    int64_t us;
    if (!s || strlen(s) != 10) return 0;
    snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
    return time_parse_rfc3339(buf, &us) == 0;
}

/* A category path: segments of clean text separated by '/', none empty. */
static int category_is_valid(const char *s)
{
    if (!text_is_clean(s, ITEM_CATEGORY_MAX)) return 0;
    size_t n = strlen(s), depth = 1;
    if (s[0] == '/' || s[n - 1] == '/' || strstr(s, "//")) return 0;
    for (size_t i = 0; i < n; i++) depth += s[i] == '/';
    return depth <= ITEM_CATEGORY_DEPTH;
}

int item_normalize(json_t *in, const char *prefix, json_t **ret, char *err, size_t errlen)
{
    json_t *out = NULL;
    if (!prefix) prefix = "";
    if (!json_is_object(in)) FAIL("%sthe item must be an object", prefix);
    const char *title = json_string_value(json_object_get(in, "title"));
    if (!title || !text_is_clean(title, ITEM_TITLE_MAX))
        FAIL("%stitle: required text of 1-%d characters", prefix, ITEM_TITLE_MAX);
    out = json_pack("{s:s}", "title", title);

    json_t *v = json_object_get(in, "category");
    const char *cat = "";
    if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v))) {
        cat = json_string_value(v);
        if (!cat || !category_is_valid(cat))
            FAIL("%scategory: a path like \"books/fiction/thrillers\": up to %d non-empty "
                 "segments, %d characters in all",
                 prefix, ITEM_CATEGORY_DEPTH, ITEM_CATEGORY_MAX);
    }
    json_object_set_new(out, "category", json_string(cat));

    v = json_object_get(in, "maker");
    if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v))) {
        const char *m = json_string_value(v);
        if (!m || !text_is_clean(m, ITEM_MAKER_MAX))
            FAIL("%smaker: text of 1-%d characters", prefix, ITEM_MAKER_MAX);
        json_object_set_new(out, "maker", json_string(m));
    } else {
        json_object_set_new(out, "maker", json_null());
    }

    json_t *tags = json_array();
    json_object_set_new(out, "tags", tags);
    v = json_object_get(in, "tags");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) > ITEM_TAGS_MAX)
            FAIL("%stags: an array of at most %d tags", prefix, ITEM_TAGS_MAX);
        size_t i;
        json_t *t;
        json_array_foreach(v, i, t) {
            const char *s = json_string_value(t);
            if (!s || !text_is_clean(s, ITEM_TAG_MAX))
                FAIL("%stags[%zu]: text of 1-%d characters", prefix, i, ITEM_TAG_MAX);
            int dup = 0;
            for (size_t k = 0; k < json_array_size(tags); k++)
                dup |= strcmp(json_string_value(json_array_get(tags, k)), s) == 0;
            if (!dup) json_array_append_new(tags, json_string(s));
        }
    }

    v = json_object_get(in, "released");
    if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v))) {
        const char *d = json_string_value(v);
        if (!date_is_valid(d)) FAIL("%sreleased: a date YYYY-MM-DD", prefix);
        json_object_set_new(out, "released", json_string(d));
    } else {
        json_object_set_new(out, "released", json_null());
    }

    v = json_object_get(in, "consumable");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        FAIL("%sconsumable: true or false", prefix);
    json_object_set_new(out, "consumable", json_boolean(json_is_true(v)));
    *ret = out;
    return 0;
fail:
    json_decref(out);
    return SK_EINVAL;
}

int price_from_json(json_t *v, int64_t *ret_cents)
{
    if (json_is_string(v)) return price_from_text(json_string_value(v), ret_cents);
    if (!json_is_number(v)) return SK_EINVAL;
    double d = json_number_value(v);
    if (!(d >= 0) || d > (double)PRICE_MAX_CENTS / 100.0) return SK_EINVAL;
    double c = d * 100.0;
    double r = floor(c + 0.5);
    if (fabs(c - r) > 1e-6 * (r > 1 ? r : 1)) return SK_EINVAL;
    *ret_cents = (int64_t)r;
    return 0;
}

int price_from_text(const char *s, int64_t *ret_cents)
{
    if (!s || !*s) return SK_EINVAL;
    int64_t units = 0, cents = 0;
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        units = units * 10 + (*p++ - '0');
        if (++digits > 7) return SK_EINVAL;
    }
    if (*p == '.') {
        p++;
        int d = 0;
        while (*p >= '0' && *p <= '9') {
            if (++d > 2) return SK_EINVAL;
            cents = cents * 10 + (*p++ - '0');
        }
        if (d == 0) return SK_EINVAL;
        if (d == 1) cents *= 10;
    } else if (digits == 0) {
        return SK_EINVAL;
    }
    if (*p) return SK_EINVAL;
    int64_t total = units * 100 + cents;
    if (total > PRICE_MAX_CENTS) return SK_EINVAL;
    *ret_cents = total;
    return 0;
}

int purchase_normalize(json_t *in, int64_t now_us, json_t **ret, char *err, size_t errlen)
{
    json_t *out = NULL;
    char at[TIME_RFC3339_LEN];
    if (!json_is_object(in)) FAIL("the body must be a JSON object");
    const char *store = json_string_value(json_object_get(in, "store"));
    if (!store || !id_is_plausible(store)) FAIL("store: required, a store id");
    json_t *v = json_object_get(in, "at");
    int64_t at_us = now_us;
    if (v && !json_is_null(v)) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) > 40 || time_parse_rfc3339(s, &at_us))
            FAIL("at: an RFC 3339 time");
        if (at_us > now_us + 24LL * 3600 * 1000000) FAIL("at: more than a day in the future");
    }
    time_fmt_rfc3339(at_us, at, sizeof at);
    out = json_pack("{s:s, s:s}", "store", store, "at", at);
    v = json_object_get(in, "customer");
    if (v && !json_is_null(v)) {
        const char *c = json_string_value(v);
        if (!c || !id_is_plausible(c)) FAIL("customer: a customer id");
        json_object_set_new(out, "customer", json_string(c));
    }
    json_t *lines = json_object_get(in, "lines");
    if (!json_is_array(lines) || json_array_size(lines) == 0 ||
        json_array_size(lines) > PURCHASE_LINES_MAX)
        FAIL("lines: required, an array of 1-%d lines", PURCHASE_LINES_MAX);
    json_t *nl = json_array();
    json_object_set_new(out, "lines", nl);
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l) {
        if (!json_is_object(l)) FAIL("lines[%zu]: must be an object", i);
        const char *sku = json_string_value(json_object_get(l, "sku"));
        if (!sku_is_valid(sku))
            FAIL("lines[%zu].sku: required, 1-%d of A-Z a-z 0-9 _ -", i, ITEM_SKU_MAX);
        json_t *q = json_object_get(l, "qty");
        if (!json_is_integer(q) || json_integer_value(q) < 1 ||
            json_integer_value(q) > PURCHASE_QTY_MAX)
            FAIL("lines[%zu].qty: required, a whole number from 1 to %d", i, PURCHASE_QTY_MAX);
        int64_t cents;
        if (price_from_json(json_object_get(l, "price"), &cents))
            FAIL("lines[%zu].price: required, a number from 0 to 1000000 with at most two "
                 "decimals",
                 i);
        json_t *o = json_pack("{s:s, s:I, s:I}", "sku", sku, "qty",
                              (json_int_t)json_integer_value(q), "price_cents", (json_int_t)cents);
        json_array_append_new(nl, o);
        v = json_object_get(l, "for");
        if (v && !json_is_null(v)) {
            const char *f = json_string_value(v);
            if (!f || !id_is_plausible(f)) FAIL("lines[%zu].for: a person id", i);
            json_object_set_new(o, "for", json_string(f));
        }
    }
    *ret = out;
    return 0;
fail:
    json_decref(out);
    return SK_EINVAL;
}

/* ---- CSV ---------------------------------------------------------------- */

void csv_init(struct csv *c, const char *buf, size_t len)
{
    c->p = buf;
    c->end = buf + len;
    c->line = 1;
    if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
        (unsigned char)buf[2] == 0xbf)
        c->p += 3;
}

size_t csv_offset(const struct csv *c, const char *buf)
{
    return (size_t)(c->p - buf);
}

static void field_push(json_t *rec, const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    if (v && !text_is_clean(json_string_value(v), (size_t)-1)) {
        /* control characters other than the quoted newlines: not text */
        int ok = 1;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') ok = 0;
        if (!ok) {
            json_decref(v);
            v = NULL;
        }
    }
    json_array_append_new(rec, v ? v : json_null());
}

int csv_next(struct csv *c, json_t **ret, size_t *ret_line)
{
    /* skip blank lines */
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n') c->line++;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    *ret_line = c->line;
    json_t *rec = json_array();
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    for (;;) {
        blen = 0;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                if (c->p >= c->end) {
                    free(buf);
                    json_decref(rec);
                    return SK_EINVAL;
                }
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') c->p++;
                    else break;
                }
                if (ch == '\n') c->line++;
                if (blen + 1 > bcap) {
                    bcap = bcap ? bcap * 2 : 64;
                    char *nb = realloc(buf, bcap);
                    if (!nb) {
                        free(buf);
                        json_decref(rec);
                        return SK_ENOMEM;
                    }
                    buf = nb;
                }
                buf[blen++] = ch;
            }
            /* anything after the closing quote up to the separator is kept */
            const char *s = c->p;
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') c->p++;
            size_t extra = (size_t)(c->p - s);
            if (extra) {
                char *nb = realloc(buf, blen + extra + 1);
                if (!nb) {
                    free(buf);
                    json_decref(rec);
                    return SK_ENOMEM;
                }
                buf = nb;
                bcap = blen + extra + 1;
                memcpy(buf + blen, s, extra);
                blen += extra;
            }
            field_push(rec, buf ? buf : "", blen);
        } else {
            const char *s = c->p;
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') c->p++;
            field_push(rec, s, (size_t)(c->p - s));
        }
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r') c->p++;
        if (c->p < c->end && *c->p == '\n') {
            c->p++;
            c->line++;
        }
        break;
    }
    free(buf);
    *ret = rec;
    return 1;
}
