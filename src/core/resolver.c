/*
 * resolver.c — EID → device index (see resolver.h).
 *
 * Invariants:
 *  1. For each live device d, eids[d*width .. +width) are the EIDs of the
 *     windows center-tolerance .. center+tolerance, and each is in the
 *     table pointing at d (or at RESOLVER_COLLIDED).
 *  2. The table (parallel arrays keys/devs, 12 bytes a slot) is linear
 *     probing with backward-shift deletion and a load factor of at most 1/2.
 *     A slot's home depends only on the top 40 bits of its EID, so lookups
 *     by a counter code (those 40 bits) walk the same chain; EIDs sharing
 *     those bits simply sit in one chain and are told apart by the rest.
 *  3. A RESOLVER_COLLIDED slot has an entry in shared counting the live
 *     devices that entered its EID and have not left it. The slot stays
 *     COLLIDED until that count reaches 0: a device leaving a shared EID
 *     (rolling its windows, or removed) never hands the EID to another
 *     holder's owner, and never drops it from under the others.
 */
#include "core/resolver.h"
#include "util/crypto.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static uint64_t res__key(const uint8_t eid[EID_LEN])
{
    uint64_t v = 0;
    for (int i = 0; i < EID_LEN; i++) v = v << 8 | eid[i];
    return v;
}

/* Home slot of a key: hashed on its top 40 bits (the counter-code prefix),
 * so an EID and its counter code share one probe chain. */
static size_t res__home(uint64_t key, size_t n)
{
    uint64_t h = (key >> 24) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return (size_t)(((unsigned __int128)h * n) >> 64);
}

static size_t res__next(size_t i, size_t n) { return i + 1 == n ? 0 : i + 1; }

static int res__alloc(size_t n, uint64_t **ret_keys, uint32_t **ret_devs)
{
    uint64_t *k = malloc(n * sizeof *k);
    uint32_t *d = calloc(n, sizeof *d);
    if (!k || !d) {
        free(k);
        free(d);
        return SK_ENOMEM;
    }
    *ret_keys = k;
    *ret_devs = d;
    return 0;
}

static int res__grow(struct resolver *r)
{
    size_t n = r->nslots * 2;
    uint64_t *keys;
    uint32_t *devs;
    if (res__alloc(n, &keys, &devs)) return SK_ENOMEM;
    for (size_t i = 0; i < r->nslots; i++) {
        if (!r->devs[i]) continue;
        size_t j = res__home(r->keys[i], n);
        while (devs[j]) j = res__next(j, n);
        keys[j] = r->keys[i];
        devs[j] = r->devs[i];
    }
    free(r->keys);
    free(r->devs);
    r->keys = keys;
    r->devs = devs;
    r->nslots = n;
    return 0;
}

static struct resolver_shared *res__shared(const struct resolver *r, uint64_t key)
{
    for (size_t i = 0; i < r->nshared; i++)
        if (r->shared[i].key == key) return &r->shared[i];
    return NULL;
}

static int res__insert(struct resolver *r, uint64_t key, uint32_t dev)
{
    if ((r->used + 1) * 2 > r->nslots && res__grow(r)) return SK_ENOMEM;
    size_t n = r->nslots, i = res__home(key, n);
    while (r->devs[i]) {
        if (r->keys[i] == key) {
            if (r->devs[i] == dev) return 0;
            if (r->devs[i] == RESOLVER_COLLIDED) {
                struct resolver_shared *sh = res__shared(r, key);
                if (sh) sh->holders++;
                return 0;
            }
            if (r->nshared == r->capshared) {
                size_t cap = r->capshared ? r->capshared * 2 : 4;
                struct resolver_shared *ns = realloc(r->shared, cap * sizeof *ns);
                if (!ns) return SK_ENOMEM;
                r->shared = ns;
                r->capshared = cap;
            }
            r->shared[r->nshared++] = (struct resolver_shared){.key = key, .holders = 2};
            r->devs[i] = RESOLVER_COLLIDED;
            r->collisions++;
            return 0;
        }
        i = res__next(i, n);
    }
    r->keys[i] = key;
    r->devs[i] = dev;
    r->used++;
    return 0;
}

static void res__delete(struct resolver *r, uint64_t key, uint32_t dev)
{
    size_t n = r->nslots, i = res__home(key, n);
    while (r->devs[i]) {
        if (r->keys[i] == key) break;
        i = res__next(i, n);
    }
    if (!r->devs[i]) return;
    if (r->devs[i] == RESOLVER_COLLIDED) {
        /* shared: the slot goes only with its last holder */
        struct resolver_shared *sh = res__shared(r, key);
        if (sh && --sh->holders > 0) return;
        if (sh) *sh = r->shared[--r->nshared];
    } else if (r->devs[i] != dev) {
        return;
    }
    /* backward-shift deletion keeps every probe chain unbroken */
    size_t j = i;
    for (;;) {
        r->devs[i] = 0;
        for (;;) {
            j = res__next(j, n);
            if (!r->devs[j]) {
                r->used--;
                return;
            }
            size_t home = res__home(r->keys[j], n);
            /* move j back to i unless its home lies cyclically in (i, j] */
            int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) break;
        }
        r->keys[i] = r->keys[j];
        r->devs[i] = r->devs[j];
        i = j;
    }
}

int resolver_init(struct resolver *r, unsigned tolerance, size_t expected)
{
    if (tolerance > RESOLVER_TOLERANCE_MAX) return SK_EINVAL;
    memset(r, 0, sizeof *r);
    r->tolerance = tolerance;
    r->width = 2 * tolerance + 1;
    r->nslots = expected * r->width * 2 + 64;
    r->aes = crypto_aes_new();
    if (!r->aes || res__alloc(r->nslots, &r->keys, &r->devs)) {
        resolver_release(r);
        return SK_ENOMEM;
    }
    return 0;
}

void resolver_release(struct resolver *r)
{
    if (!r) return;
    if (r->dev) memset(r->dev, 0, r->capdev * sizeof *r->dev);
    free(r->dev);
    free(r->eids);
    free(r->free_list);
    free(r->keys);
    free(r->devs);
    free(r->shared);
    crypto_aes_free(r->aes);
    memset(r, 0, sizeof *r);
}

/* Computes and enters the windows around the device's current window: all
 * of them, or (on failure) none. */
static int res__enter(struct resolver *r, uint32_t d, int64_t now)
{
    struct resolver_device *dv = &r->dev[d];
    uint32_t t = resolver_device_clock(dv, now);
    uint32_t center = t >> dv->k;
    uint32_t first = center - r->tolerance; /* wraps like the device clock */
    uint8_t out[EID_LEN * (2 * RESOLVER_TOLERANCE_MAX + 1)];
    int rc = eid_windows(r->aes, dv->ik, dv->k, first << dv->k, r->width, out);
    if (rc) return rc;
    for (unsigned w = 0; w < r->width; w++) {
        uint64_t key = res__key(out + EID_LEN * w);
        r->eids[(size_t)d * r->width + w] = key;
        if ((rc = res__insert(r, key, d + 1))) {
            while (w--) res__delete(r, r->eids[(size_t)d * r->width + w], d + 1);
            return rc;
        }
    }
    dv->center = center;
    dv->entered = 1;
    return 0;
}

static void res__leave(struct resolver *r, uint32_t d)
{
    if (!r->dev[d].entered) return;
    for (unsigned w = 0; w < r->width; w++)
        res__delete(r, r->eids[(size_t)d * r->width + w], d + 1);
    r->dev[d].entered = 0;
}

int resolver_add(struct resolver *r, const uint8_t ik[EID_IK_LEN], unsigned k,
                 uint32_t clock_offset, uint32_t owner, int64_t now, uint32_t *ret_handle)
{
    if (k > EID_K_MAX) return SK_EINVAL;
    uint32_t d;
    if (r->nfree) {
        d = r->free_list[--r->nfree];
    } else {
        if (r->ndev == r->capdev) {
            size_t cap = r->capdev ? r->capdev * 2 : 64;
            struct resolver_device *nd = realloc(r->dev, cap * sizeof *nd);
            if (!nd) return SK_ENOMEM;
            r->dev = nd;
            uint64_t *ne = realloc(r->eids, cap * r->width * sizeof *ne);
            if (!ne) return SK_ENOMEM;
            r->eids = ne;
            uint32_t *nf = realloc(r->free_list, cap * sizeof *nf);
            if (!nf) return SK_ENOMEM;
            r->free_list = nf;
            r->capdev = cap;
        }
        d = (uint32_t)r->ndev++;
    }
    struct resolver_device *dv = &r->dev[d];
    memcpy(dv->ik, ik, EID_IK_LEN);
    dv->k = (uint8_t)k;
    dv->clock_offset = clock_offset;
    dv->owner = owner;
    dv->live = 1;
    dv->entered = 0;
    int rc = res__enter(r, d, now);
    if (rc) {
        dv->live = 0;
        r->free_list[r->nfree++] = d;
        return rc;
    }
    *ret_handle = d;
    return 0;
}

int resolver_remove(struct resolver *r, uint32_t handle)
{
    if (handle >= r->ndev || !r->dev[handle].live) return SK_ENOTFOUND;
    res__leave(r, handle);
    memset(&r->dev[handle], 0, sizeof r->dev[handle]);
    r->free_list[r->nfree++] = handle;
    return 0;
}

int resolver_lookup(const struct resolver *r, const uint8_t eid[EID_LEN], uint32_t *ret_owner)
{
    uint64_t key = res__key(eid);
    size_t n = r->nslots, i = res__home(key, n);
    while (r->devs[i]) {
        if (r->keys[i] == key) {
            uint32_t d = r->devs[i];
            if (d == RESOLVER_COLLIDED) return SK_ECONFLICT;
            *ret_owner = r->dev[d - 1].owner;
            return 0;
        }
        i = res__next(i, n);
    }
    return SK_ENOTFOUND;
}

int resolver_lookup_prefix(const struct resolver *r, uint64_t prefix40, uint32_t *ret_owner)
{
    size_t n = r->nslots, i = res__home(prefix40 << 24, n);
    uint32_t found = 0;
    while (r->devs[i]) {
        if ((r->keys[i] >> 24) == prefix40) {
            uint32_t d = r->devs[i];
            if (d == RESOLVER_COLLIDED || (found && found != d)) return SK_ECONFLICT;
            found = d;
        }
        i = res__next(i, n);
    }
    if (!found) return SK_ENOTFOUND;
    *ret_owner = r->dev[found - 1].owner;
    return 0;
}

size_t resolver_refresh(struct resolver *r, int64_t now)
{
    size_t rolled = 0;
    for (uint32_t d = 0; d < r->ndev; d++) {
        struct resolver_device *dv = &r->dev[d];
        if (!dv->live) continue;
        if (dv->entered && (resolver_device_clock(dv, now) >> dv->k) == dv->center) continue;
        res__leave(r, d);
        if (res__enter(r, d, now) == 0) rolled++;
    }
    return rolled;
}

size_t resolver_due(const struct resolver *r, int64_t now, size_t *cursor, uint32_t *ret,
                    size_t max)
{
    size_t n = 0, d = *cursor;
    for (; d < r->ndev && n < max; d++) {
        const struct resolver_device *dv = &r->dev[d];
        if (dv->live && (resolver_device_clock(dv, now) >> dv->k) != dv->center)
            ret[n++] = (uint32_t)d;
    }
    *cursor = d < r->ndev ? d : 0;
    return n;
}

int resolver_roll(struct resolver *r, uint32_t d, int64_t now)
{
    if (d >= r->ndev) return SK_ENOTFOUND;
    struct resolver_device *dv = &r->dev[d];
    if (!dv->live || (resolver_device_clock(dv, now) >> dv->k) == dv->center) return 0;
    res__leave(r, d);
    return res__enter(r, d, now);
}

size_t resolver_bytes(const struct resolver *r)
{
    return r->nslots * (sizeof *r->keys + sizeof *r->devs) + r->capshared * sizeof *r->shared +
           r->capdev * (sizeof *r->dev + r->width * sizeof *r->eids + sizeof *r->free_list);
}
