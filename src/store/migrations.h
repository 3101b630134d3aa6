/*
 * migrations.h — the numbered SQL files of src/store/migrations, embedded at
 * build time (CMake generates migrations_data.c). Versions rise, possibly
 * with gaps; each version not yet recorded in the database is applied, in
 * order. A database whose highest recorded version is above the last one
 * known here is from a newer Shopkeeper and is refused.
 *
 * The runner (sti_migrate, store_migrate.c) is the same for both engines:
 * each migration in a write transaction of its own, the recorded versions
 * read again inside it, so that nodes starting together against one
 * PostgreSQL apply each migration once.
 */
#ifndef SK_MIGRATIONS_H
#define SK_MIGRATIONS_H

#include <stddef.h>

struct migration {
    int version;
    const char *name;
    const char *sql;    /* SQLite's text */
    const char *sql_pg; /* PostgreSQL's (embed_migrations.cmake) */
};

extern const struct migration store_migrations[];
extern const size_t store_migrations_count;

#endif
