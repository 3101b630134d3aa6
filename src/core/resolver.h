/*
 * resolver.h — the in-memory index that turns a heard EID into a device.
 *
 * For every registered device it keeps the EIDs of the windows around the
 * device's current one (tolerance windows either side: previous, current,
 * next by default), keyed by EID in an open-addressing hash table, so a
 * lookup is one hash probe. Windows roll as time passes: resolver_refresh
 * recomputes the devices whose window changed.
 *
 * Two devices that share an EID (chance about (N*W)^2 / 2^65) resolve to
 * neither; the collision is counted.
 *
 * Not thread-safe: the caller serialises writers against readers.
 * Pure logic over the crypto adapter: no I/O, no clock (callers pass now).
 */
#ifndef SK_RESOLVER_H
#define SK_RESOLVER_H

#include "core/eid.h"

#include <stddef.h>
#include <stdint.h>

#define RESOLVER_TOLERANCE_MAX 7

struct resolver_device {
    uint8_t ik[EID_IK_LEN];
    uint32_t clock_offset; /* device clock = (uint32_t)(now + clock_offset) */
    uint32_t center;       /* window index the entries are centred on */
    uint32_t owner;        /* the caller's handle for this device */
    uint8_t k;
    uint8_t live;
    uint8_t entered;       /* its windows are in the table (a failed roll leaves none) */
};

#define RESOLVER_COLLIDED UINT32_MAX

/* An EID held by more than one live device, and by how many. */
struct resolver_shared {
    uint64_t key;
    uint32_t holders;
};

struct resolver {
    struct resolver_device *dev;
    uint64_t *eids;          /* ndev * width EIDs as entered, for removal */
    uint32_t *free_list;
    size_t ndev, capdev, nfree;
    uint64_t *keys;          /* EIDs as big-endian integers */
    uint32_t *devs;          /* device index + 1; 0 empty; RESOLVER_COLLIDED shared */
    size_t nslots;
    size_t used;
    unsigned tolerance;      /* windows either side of the current one */
    unsigned width;          /* 2 * tolerance + 1 */
    uint64_t collisions;
    struct resolver_shared *shared; /* the RESOLVER_COLLIDED slots' holder counts (rare) */
    size_t nshared, capshared;
    struct crypto_aes *aes;
};

int resolver_init(struct resolver *r, unsigned tolerance, size_t expected_devices);
void resolver_release(struct resolver *r);
/* Adds a device; *ret_handle identifies it for resolver_remove. */
int resolver_add(struct resolver *r, const uint8_t ik[EID_IK_LEN], unsigned k,
                 uint32_t clock_offset, uint32_t owner, int64_t now, uint32_t *ret_handle);
int resolver_remove(struct resolver *r, uint32_t handle);
/* 0 with *ret_owner; SK_ENOTFOUND; SK_ECONFLICT for a shared EID. */
int resolver_lookup(const struct resolver *r, const uint8_t eid[EID_LEN], uint32_t *ret_owner);
/* Resolves by the top 40 bits of an EID (a counter code): 0 with
 * *ret_owner, SK_ENOTFOUND, or SK_ECONFLICT when two devices match. */
int resolver_lookup_prefix(const struct resolver *r, uint64_t prefix40, uint32_t *ret_owner);
/* Rolls every device whose window changed since its entries were made;
 * returns how many were rolled. */
size_t resolver_refresh(struct resolver *r, int64_t now);
/* The same in two steps, so a caller can find the due devices under a read
 * lock and hold a write lock only to roll them: resolver_due writes up to
 * max device handles (from *cursor on; *cursor advances, 0 when done) whose
 * window changed; resolver_roll rolls one if it is still due. */
size_t resolver_due(const struct resolver *r, int64_t now, size_t *cursor, uint32_t *ret,
                    size_t max);
int resolver_roll(struct resolver *r, uint32_t handle, int64_t now);
/* The device's clock at server time now. */
static inline uint32_t resolver_device_clock(const struct resolver_device *d, int64_t now)
{
    return (uint32_t)((uint64_t)now + d->clock_offset);
}
/* Bytes held by the index (tables and arrays), for the memory benchmark. */
size_t resolver_bytes(const struct resolver *r);

#endif
