/* strmap.c — chained string hash map (see strmap.h). Invariant: nbuckets is
 * a power of two and count <= nbuckets after every put. */
#include "util/strmap.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static size_t sm__hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int strmap_init(struct strmap *m)
{
    m->nbuckets = 64;
    m->count = 0;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    return m->buckets ? 0 : SK_ENOMEM;
}

void strmap_release(struct strmap *m)
{
    if (!m || !m->buckets) return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i];
        while (e) {
            struct strmap_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->count = 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    for (struct strmap_entry *e = m->buckets[sm__hash(key) & (m->nbuckets - 1)]; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e->value;
    return NULL;
}

static int sm__grow(struct strmap *m)
{
    size_t n = m->nbuckets * 2;
    struct strmap_entry **b = calloc(n, sizeof *b);
    if (!b) return SK_ENOMEM;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i];
        while (e) {
            struct strmap_entry *next = e->next;
            size_t j = sm__hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

int strmap_put(struct strmap *m, const char *key, void *value)
{
    size_t i = sm__hash(key) & (m->nbuckets - 1);
    for (struct strmap_entry *e = m->buckets[i]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            e->value = value;
            return 0;
        }
    size_t len = strlen(key);
    struct strmap_entry *e = malloc(sizeof *e + len + 1);
    if (!e) return SK_ENOMEM;
    memcpy(e->key, key, len + 1);
    e->value = value;
    e->next = m->buckets[i];
    m->buckets[i] = e;
    m->count++;
    if (m->count > m->nbuckets) sm__grow(m);
    return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
    struct strmap_entry **pp = &m->buckets[sm__hash(key) & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct strmap_entry *e = *pp;
            void *v = e->value;
            *pp = e->next;
            free(e);
            m->count--;
            return v;
        }
    }
    return NULL;
}

struct strmap_entry *strmap_first(const struct strmap *m, size_t *pos)
{
    for (*pos = 0; *pos < m->nbuckets; (*pos)++)
        if (m->buckets[*pos]) return m->buckets[*pos];
    return NULL;
}

struct strmap_entry *strmap_next(const struct strmap *m, size_t *pos, struct strmap_entry *e)
{
    if (e->next) return e->next;
    for ((*pos)++; *pos < m->nbuckets; (*pos)++)
        if (m->buckets[*pos]) return m->buckets[*pos];
    return NULL;
}
