/*
 * migrations.h — the numbered SQL files of src/store/migrations, embedded at
 * build time (CMake generates migrations_data.c). Versions rise, possibly
 * with gaps; each version not yet recorded in the database is applied, in
 * order. A database whose highest recorded version is above the last one
 * known here is from a newer Shopkeeper and is refused.
 */
#ifndef SK_MIGRATIONS_H
#define SK_MIGRATIONS_H

#include <stddef.h>

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration store_migrations[];
extern const size_t store_migrations_count;

#endif
