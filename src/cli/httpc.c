/*
 * httpc.c — a small JSON-over-HTTP client (libcurl) for the subcommands that
 * act as devices, scanners and load generators against a running server.
 * One handle per thread; the caller owns every returned JSON value.
 */
#include "cli/httpc.h"
#include "util/err.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpc {
    CURL *curl;
    char base[256];
    char *buf;
    size_t len, cap;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct httpc *h = ud;
    size_t add = size * n;
    if (h->len + add + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap < h->len + add + 1) cap *= 2;
        char *nb = realloc(h->buf, cap);
        if (!nb) return 0;
        h->buf = nb;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, add);
    h->len += add;
    h->buf[h->len] = '\0';
    return add;
}

struct httpc *httpc_new(const char *base_url)
{
    static int inited;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    struct httpc *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return NULL;
    }
    snprintf(h->base, sizeof h->base, "%s", base_url);
    size_t n = strlen(h->base);
    while (n && h->base[n - 1] == '/') h->base[--n] = '\0';
    return h;
}

void httpc_free(struct httpc *h)
{
    if (!h) return;
    curl_easy_cleanup(h->curl);
    free(h->buf);
    free(h);
}

int httpc_raw(struct httpc *h, const char *method, const char *path, const char *token,
              const char *body, size_t body_len, long *ret_status, const char **ret_body)
{
    char url[1024], auth[512];
    snprintf(url, sizeof url, "%s%s", h->base, path);
    CURL *c = h->curl;
    curl_easy_reset(c);
    h->len = 0;
    if (h->buf) h->buf[0] = '\0';
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK) return SK_EIO;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
    if (ret_body) *ret_body = h->buf ? h->buf : "";
    return 0;
}

int httpc_json(struct httpc *h, const char *method, const char *path, const char *token,
               json_t *body, long *ret_status, json_t **ret)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    const char *out;
    int rc = httpc_raw(h, method, path, token, text, text ? strlen(text) : 0, ret_status, &out);
    free(text);
    if (rc) return rc;
    if (ret) {
        *ret = out[0] ? json_loads(out, 0, NULL) : json_null();
        if (!*ret) *ret = json_null();
    }
    return 0;
}
