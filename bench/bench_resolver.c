/*
 * bench_resolver.c — the EID index in process: build time for N devices,
 * lookups per second (a mix of hits and misses), the ratio to a bare
 * hash-probe loop over the same table, and bytes per device.
 * usage: bench_resolver [DEVICES]   (default 1000000)
 */
#include "core/eid.h"
#include "core/resolver.h"
#include "util/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct resolver r;
    if (resolver_init(&r, 1, n)) return 1;
    int64_t now = 1790000000;
    double t0 = now_s();
    uint8_t ik[16];
    for (size_t i = 0; i < n; i++) {
        uint64_t a = xorshift(), b = xorshift();
        memcpy(ik, &a, 8);
        memcpy(ik + 8, &b, 8);
        uint32_t h;
        if (resolver_add(&r, ik, 8 + (unsigned)(i % 3), (uint32_t)xorshift(), (uint32_t)i, now, &h))
            return 1;
    }
    double build = now_s() - t0;

    /* queries: 10% present (current window of a device), 90% random */
    enum { Q = 4000000 };
    uint8_t *q = malloc((size_t)Q * 8);
    for (size_t i = 0; i < Q; i++) {
        if (i % 10 == 0) {
            const struct resolver_device *d = &r.dev[xorshift() % n];
            eid_compute(d->ik, d->k, resolver_device_clock(d, now), q + 8 * i);
        } else {
            uint64_t v = xorshift();
            memcpy(q + 8 * i, &v, 8);
        }
    }
    size_t hits = 0;
    t0 = now_s();
    for (size_t i = 0; i < Q; i++) {
        uint32_t owner;
        if (resolver_lookup(&r, q + 8 * i, &owner) == 0) hits++;
    }
    double look = now_s() - t0;

    /* the limit: a bare probe loop over the same slot array */
    size_t bare_hits = 0, ns = r.nslots;
    t0 = now_s();
    for (size_t i = 0; i < Q; i++) {
        uint64_t key;
        memcpy(&key, q + 8 * i, 8);
        key = __builtin_bswap64(key);
        uint64_t h = (key >> 24) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
        size_t j = (size_t)(((unsigned __int128)h * ns) >> 64);
        while (r.devs[j]) {
            if (r.keys[j] == key) {
                bare_hits++;
                break;
            }
            j = j + 1 == ns ? 0 : j + 1;
        }
    }
    double bare = now_s() - t0;

    t0 = now_s();
    size_t rolled = resolver_refresh(&r, now + 600);
    double refresh = now_s() - t0;

    double rate = Q / look, bare_rate = Q / bare;
    printf("resolver: cores=%ld devices=%zu\n", cores, n);
    printf("  index build        %.2f s            (target < 2 s on one core)   %s\n", build,
           build < 2 ? "ok" : "MISSED");
    printf("  lookups            %.2f M/s          (target >= 2 M/s per core)   %s\n",
           rate / 1e6, rate >= 2e6 ? "ok" : "MISSED");
    printf("  bare probe loop    %.2f M/s          ratio resolver/bare = %.2f\n", bare_rate / 1e6,
           rate / bare_rate);
    printf("  hits               %zu of %d (bare %zu)\n", hits, Q, bare_hits);
    printf("  index bytes/device %.0f\n", (double)resolver_bytes(&r) / (double)n);
    printf("  refresh after 600s %zu devices rolled in %.2f s\n", rolled, refresh);
    free(q);
    resolver_release(&r);
    return 0;
}
