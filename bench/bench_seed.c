/*
 * bench_seed.c — fills a database for the end-to-end benchmarks through the
 * storage interface: a brand with stores, MEMBERS customers who joined it
 * for recognition (each with one device), and STRANGERS further devices of
 * customers who joined nothing, so the server's resolver holds
 * MEMBERS + STRANGERS devices. Writes the members' and strangers' device
 * keys to KEYS (one "ik_hex k offset member?" line each) for the load
 * generator, and the scanner and display keys to TOKENS: a chain of
 * LATENCY_STORES stores with two counter displays each, and one big store
 * with FANOUT_DISPLAYS displays (the fan-out of one card).
 *
 * usage: bench_seed DB MEMBERS STRANGERS KEYS TOKENS
 */
#include "core/purpose.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEVICES_PER_STRANGER 1000
#define LATENCY_STORES 5000
#define FANOUT_DISPLAYS 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int token_for(struct store *st, const char *bid, const char *sid, enum principal_kind k,
                     FILE *out, const char *label)
{
    char token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    json_t *j;
    token_new(token);
    token_hash(token, hash);
    if (st->ops->store_key_create(st, bid, sid, k, label, hash, &j)) return 1;
    fprintf(out, "%s %s %s\n", label, sid, token);
    json_decref(j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_seed DB MEMBERS STRANGERS KEYS TOKENS\n");
        return 2;
    }
    size_t members = strtoul(argv[2], NULL, 10), strangers = strtoul(argv[3], NULL, 10);
    uint8_t master[32];
    char err[256];
    FILE *mk = fopen("/dev/null", "r");
    (void)mk;
    if (mk) fclose(mk);
    /* the master key file beside the database, as serve expects */
    char keypath[1024];
    snprintf(keypath, sizeof keypath, "%s.master.key", argv[1]);
    crypto_random(master, sizeof master);
    FILE *kf = fopen(keypath, "w");
    char hex[65];
    hex_encode(master, 32, hex);
    fprintf(kf, "%s\n", hex);
    fclose(kf);
    struct store *st;
    if (store_sqlite_open(argv[1], master, &st, err, sizeof err)) {
        fprintf(stderr, "bench_seed: %s\n", err);
        return 1;
    }
    double t0 = now_s();
    json_t *b, *s1, *s2, *out;
    st->ops->brand_create(st, "Bench Coffee", "bench", &b);
    const char *bid = json_string_value(json_object_get(b, "id"));
    json_t *f1 = json_pack("{s:s, s:s, s:s}", "name", "Main", "timezone", "UTC", "city", "A");
    json_t *f2 = json_pack("{s:s, s:s, s:s}", "name", "Spare", "timezone", "UTC", "city", "A");
    st->ops->store_create(st, bid, f1, &s1);
    st->ops->store_create(st, bid, f2, &s2);
    /* the load goes to one store; the latency is measured at another, whose
     * displays are not flooded with the load's cards */
    const char *sid = json_string_value(json_object_get(s1, "id"));
    FILE *tok = fopen(argv[5], "w");
    token_for(st, bid, sid, PRINCIPAL_SCANNER, tok, "scanner");
    /* a chain's counters: 5000 more stores with two displays and a scanner */
    json_decref(s2);
    s2 = NULL;
    for (int i = 0; i < LATENCY_STORES; i++) {
        char name[32];
        snprintf(name, sizeof name, "Latency %d", i);
        json_t *f = json_pack("{s:s, s:s, s:s}", "name", name, "timezone", "UTC", "city", "A");
        json_t *so;
        if (st->ops->store_create(st, bid, f, &so)) return 1;
        const char *lid = json_string_value(json_object_get(so, "id"));
        token_for(st, bid, lid, PRINCIPAL_SCANNER, tok, "lscanner");
        token_for(st, bid, lid, PRINCIPAL_DISPLAY, tok, "display");
        token_for(st, bid, lid, PRINCIPAL_DISPLAY, tok, "display");
        json_decref(so);
        json_decref(f);
    }
    /* one store with a thousand displays: a card's fan-out */
    json_t *ff = json_pack("{s:s, s:s, s:s}", "name", "Fan-out", "timezone", "UTC", "city", "A");
    json_t *fo;
    if (st->ops->store_create(st, bid, ff, &fo)) return 1;
    const char *fid = json_string_value(json_object_get(fo, "id"));
    token_for(st, bid, fid, PRINCIPAL_SCANNER, tok, "fscanner");
    for (int i = 0; i < FANOUT_DISPLAYS; i++)
        token_for(st, bid, fid, PRINCIPAL_DISPLAY, tok, "fdisplay");
    json_decref(fo);
    json_decref(ff);
    fclose(tok);

    FILE *keys = fopen(argv[4], "w");
    struct purpose_set ps;
    purpose_set_from_words(&ps, "recognition preferences");
    const char *pw = "scrypt$2$1$1$00000000000000000000000000000000$"
                     "0000000000000000000000000000000000000000000000000000000000000000";
    size_t total = members + strangers;
    char cid[ID_MAX] = "";
    for (size_t i = 0; i < total; i++) {
        int member = i < members;
        if (member || (i - members) % DEVICES_PER_STRANGER == 0) {
            char email[64];
            json_t *c;
            snprintf(email, sizeof email, "b%zu@bench.example", i);
            if (st->ops->customer_create(st, member ? "Bench Member" : "Bench Stranger", email, pw,
                                         &c))
                return 1;
            snprintf(cid, sizeof cid, "%s", json_string_value(json_object_get(c, "id")));
            json_decref(c);
            if (member) {
                st->ops->membership_put(st, cid, bid, &ps, "demo", &out);
                json_decref(out);
            }
        }
        uint8_t ik[16];
        crypto_random(ik, 16);
        uint32_t offset = (uint32_t)rand();
        if (st->ops->device_create(st, cid, "bench", "shared", ik, 10, offset, &out)) return 1;
        json_decref(out);
        hex_encode(ik, 16, hex);
        fprintf(keys, "%s 10 %u %d\n", hex, offset, member);
        if (i % 100000 == 0 && i) fprintf(stderr, "bench_seed: %zu devices (%.0f s)\n", i, now_s() - t0);
    }
    fclose(keys);
    printf("bench_seed: %zu devices (%zu members) in %.1f s\n", total, members, now_s() - t0);
    json_decref(f1);
    json_decref(f2);
    json_decref(s1);
    json_decref(s2);
    json_decref(b);
    store_close(st);
    return 0;
}
