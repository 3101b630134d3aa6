/*
 * strmap.h — a string-keyed hash map with chaining, for the small in-memory
 * tables of the recognition service (open visits, denied lookups). Keys are
 * copied; values are caller-owned pointers. Not thread-safe.
 */
#ifndef SK_STRMAP_H
#define SK_STRMAP_H

#include <stddef.h>

struct strmap_entry {
    struct strmap_entry *next;
    void *value;
    char key[];
};

struct strmap {
    struct strmap_entry **buckets;
    size_t nbuckets, count;
};

int strmap_init(struct strmap *m);
/* Frees the entries (not the values). */
void strmap_release(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; 0 or SK_ENOMEM. */
int strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);

/* Iteration: for (e = strmap_first(m, &i); e; e = strmap_next(m, &i, e)).
 * Deleting the current entry while iterating is not allowed. */
struct strmap_entry *strmap_first(const struct strmap *m, size_t *pos);
struct strmap_entry *strmap_next(const struct strmap *m, size_t *pos, struct strmap_entry *e);

#endif
