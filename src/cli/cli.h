/*
 * cli.h — subcommands and what they share.
 * Each subcommand is one row of the table in main.c; it gets argv starting
 * at its own name and returns the process exit status.
 */
#ifndef SK_CLI_H
#define SK_CLI_H

#include "store/store.h"

#include <stdint.h>
#include <stdio.h>

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

int cmd_serve(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_migrate_data(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Where the database and master key are; flags override environment. */
struct db_opts {
    const char *db_path;         /* --db, SHOPKEEPER_DB, var/shopkeeper.db */
    const char *master_key_path; /* --master-key, SHOPKEEPER_MASTER_KEY, <db dir>/master.key */
    const char *keys_path;       /* --keys, SHOPKEEPER_KEYS, <db>.keys */
};

void db_opts_defaults(struct db_opts *o);
/* Loads (or, when none was given, creates) the master key and opens the
 * store. Prints a clear error and returns non-zero on failure. */
int db_open(const struct db_opts *o, struct store **ret);
/* What --db names, fit to print or log: a file path as it is, a PostgreSQL
 * connection string without its password. */
const char *db_opts_describe(const struct db_opts *o, char *buf, size_t len);
/* A progress bar on a terminal ("[####....]  42%  label"); nothing when
 * tty is 0. Redraws only when the percentage changes. */
struct progress_bar {
    FILE *out;
    int tty;
    int last; /* the percentage drawn last; -1 at first */
};
void progress_bar_show(struct progress_bar *b, const char *label, int64_t done, int64_t total);

/* Creates an operator and prints nothing; *ret_token gets its bearer token. */
int operator_new(struct store *st, const char *name, char ret_token[64]);
/* The base of links people open: url (http:// or https://, trailing '/'
 * dropped) or, when NULL, "http://" + listen (":8080" -> 127.0.0.1:8080).
 * -1 when url is not such an address. */
int public_url_resolve(const char *url, const char *listen, char *ret, size_t len);

#define DB_OPTS_HELP                                                                       \
    "  --db PATH|URL        the database (env SHOPKEEPER_DB): a SQLite file (default\n"     \
    "                       var/shopkeeper.db), or PostgreSQL: a postgresql:// URL or\n"     \
    "                       libpq key=value pairs\n"                                         \
    "  --master-key FILE    file holding the 32-byte master key as 64 hex digits\n"       \
    "                       (env SHOPKEEPER_MASTER_KEY; SQLite: default master.key\n"      \
    "                       beside the database, generated on first run with a\n"          \
    "                       warning; PostgreSQL: required, the same on every node)\n"      \
    "  --keys PATH|URL      the key store: customers' wrapped data keys, kept apart\n"   \
    "                       from database backups (env SHOPKEEPER_KEYS; SQLite: default\n" \
    "                       the database path + .keys; PostgreSQL: default the\n"          \
    "                       database named like --db's + _keys, same server)\n"

#endif
