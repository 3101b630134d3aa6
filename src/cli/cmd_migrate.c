/*
 * cmd_migrate.c — `shopkeeper migrate-data`: a SQLite database (and its key
 * store) copied into an empty PostgreSQL one, with a progress bar and a
 * count check at the end, so that a chain that outgrows one machine can
 * move (store_copy, src/store/store_copy.c).
 */
#include "cli/cli.h"
#include "store/db.h"
#include "util/err.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char migrate_help[] =
    "usage: shopkeeper migrate-data --from PATH --to URL [OPTIONS]\n\n"
    "Copies a SQLite database and its key store into an empty PostgreSQL database\n"
    "and its key store, in one transaction each, then checks every table's row\n"
    "count on both sides. Stop `serve` on the SQLite database first. The sealed\n"
    "fields are copied as they are: serve the copy with the same master key.\n\n"
    "options:\n"
    "  --from PATH          the SQLite database\n"
    "  --from-keys PATH     its key store (default PATH.keys)\n"
    "  --to URL             the PostgreSQL database: a postgresql:// URL or libpq\n"
    "                       key=value pairs; it must exist and be empty\n"
    "  --to-keys URL        its key store (default: the database named like --to's\n"
    "                       + _keys on the same server; it must exist and be empty)\n"
    "  --master-key FILE    the master key (default master.key beside --from)\n\n"
    "A progress bar goes to standard error when it is a terminal; the counts go\n"
    "to standard output as JSON. Exit status: 0 copied and checked, 1 nothing\n"
    "copied (the message says why), 2 bad usage.\n";

static void on_progress(void *cls, const char *table, int64_t done, int64_t total)
{
    progress_bar_show(cls, table, done, total);
}

int cmd_migrate_data(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, 0, 'f'}, {"from-keys", required_argument, 0, 'F'},
        {"to", required_argument, 0, 't'},   {"to-keys", required_argument, 0, 'T'},
        {"master-key", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct db_opts from = {0}, to = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': from.db_path = optarg; break;
        case 'F': from.keys_path = optarg; break;
        case 't': to.db_path = optarg; break;
        case 'T': to.keys_path = optarg; break;
        case 'k': from.master_key_path = optarg; break;
        case 'h': fputs(migrate_help, stdout); return 0;
        default: fputs(migrate_help, stderr); return 2;
        }
    }
    if (optind < argc || !from.db_path || !to.db_path) {
        fprintf(stderr, "shopkeeper migrate-data: --from and --to are required\n\n%s",
                migrate_help);
        return 2;
    }
    if (db_is_pg(from.db_path) || !db_is_pg(to.db_path)) {
        fprintf(stderr, "shopkeeper migrate-data: --from is a SQLite file and --to a "
                        "PostgreSQL URL (postgresql://... or key=value pairs)\n");
        return 2;
    }
    if (access(from.db_path, R_OK) != 0) {
        fprintf(stderr, "shopkeeper migrate-data: cannot read %s\n", from.db_path);
        return 1;
    }
    /* one master key for both: the default is SQLite's, beside the file */
    char keypath[1024];
    if (!from.master_key_path) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", from.db_path);
        snprintf(keypath, sizeof keypath, "%s/master.key", dirname(tmp));
        from.master_key_path = keypath;
    }
    to.master_key_path = from.master_key_path;

    struct store *src = NULL, *dst = NULL;
    if (db_open(&from, &src)) return 1;
    if (db_open(&to, &dst)) {
        store_close(src);
        return 1;
    }
    struct progress_bar bar = {stderr, isatty(STDERR_FILENO), -1};
    struct copy_progress pr = {on_progress, &bar};
    json_t *out = NULL;
    char err[512];
    int rc = store_copy(src, dst, &pr, &out, err, sizeof err);
    if (bar.tty && bar.last >= 0) fputc('\n', stderr);
    store_close(dst);
    store_close(src);
    if (rc) {
        fprintf(stderr, "shopkeeper migrate-data: %s; nothing was copied\n", err);
        return 1;
    }
    json_object_set_new(out, "check", json_string("every table's row count matches"));
    char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(s);
    free(s);
    json_decref(out);
    return 0;
}
