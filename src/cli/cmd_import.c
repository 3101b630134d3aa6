/*
 * cmd_import.c — `shopkeeper import items|purchases FILE.csv --brand B`:
 * bulk CSV imports straight into the database, with a progress bar when
 * stdout is a terminal, and the summary (imported, updated or duplicates,
 * rejected rows with line numbers and reasons) as JSON at the end.
 * Exit status: 0 all rows imported, 1 some rows were rejected (the summary
 * says which) or the import failed, 2 bad usage or an unusable header.
 */
#include "cli/cli.h"
#include "service/import.h"
#include "util/err.h"
#include "util/ids.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_FILE_MAX (512u * 1024 * 1024)

static const char import_help[] =
    "usage: shopkeeper import items FILE.csv --brand BRAND [OPTIONS]\n"
    "       shopkeeper import purchases FILE.csv --brand BRAND [OPTIONS]\n\n"
    "Imports a brand's catalogue, or historic till data, from a CSV file whose\n"
    "first line names the columns (docs/api.md, \"Catalogue and purchases\"):\n"
    "  items:     sku, title, category, maker (or author/brand), tags (separated\n"
    "             by ;), released (YYYY-MM-DD), consumable (yes/no)\n"
    "  purchases: txn, store, at (RFC 3339), customer_email (optional), sku, qty,\n"
    "             price; the rows of one (store, txn) are one purchase\n"
    "A bad row never stops the good ones: it is listed in the summary with its\n"
    "line number and the reason. A purchase is linked to the customer only when\n"
    "they grant the brand \"history\"; re-importing a file counts duplicates.\n"
    "Shows a progress bar when stdout is a terminal. Exit status: 0 all rows\n"
    "imported, 1 some rejected or failure, 2 bad usage or header.\n\n"
    "options:\n"
    "  --brand BRAND        the brand's id or slug (required)\n" DB_OPTS_HELP;

static void progress(void *ctx, size_t done, size_t total)
{
    progress_bar_show(ctx, NULL, (int64_t)done, (int64_t)total);
}

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > IMPORT_FILE_MAX) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)sb.st_size) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brand", required_argument, 0, 'b'}, {"db", required_argument, 0, 'd'},
        {"master-key", required_argument, 0, 'k'}, {"keys", required_argument, 0, 'K'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0},
    };
    struct db_opts dbo;
    db_opts_defaults(&dbo);
    const char *brand = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': brand = optarg; break;
        case 'd': dbo.db_path = optarg; break;
        case 'k': dbo.master_key_path = optarg; break;
        case 'K': dbo.keys_path = optarg; break;
        case 'h': fputs(import_help, stdout); return 0;
        default: fputs(import_help, stderr); return 2;
        }
    }
    if (argc - optind != 2 || !brand ||
        (strcmp(argv[optind], "items") != 0 && strcmp(argv[optind], "purchases") != 0)) {
        fputs(import_help, stderr);
        return 2;
    }
    int items = strcmp(argv[optind], "items") == 0;
    const char *path = argv[optind + 1];
    size_t len = 0;
    char *csv = read_file(path, &len);
    if (!csv) {
        fprintf(stderr, "shopkeeper import: cannot read %s (a regular file up to %u bytes)\n",
                path, IMPORT_FILE_MAX);
        return 2;
    }
    struct store *st;
    if (db_open(&dbo, &st)) {
        free(csv);
        return 1;
    }
    json_t *b = NULL;
    if (!id_is_plausible(brand) || st->ops->brand_get(st, brand, &b)) {
        fprintf(stderr, "shopkeeper import: no brand \"%s\"\n", brand);
        store_close(st);
        free(csv);
        return 2;
    }
    struct progress_bar bar = {stdout, isatty(STDOUT_FILENO), -1};
    json_t *out = NULL;
    char err[256];
    const char *bid = json_string_value(json_object_get(b, "id"));
    int rc = items ? import_items(st, bid, csv, len, progress, &bar, &out, err, sizeof err)
                   : import_purchases(st, bid, csv, len, progress, &bar, &out, err, sizeof err);
    if (bar.tty && bar.last >= 0) printf("\n");
    store_close(st);
    json_decref(b);
    free(csv);
    if (rc == SK_EINVAL) {
        fprintf(stderr, "shopkeeper import: %s: %s\n", path, err);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "shopkeeper import: %s\n", sk_strerror(rc));
        return 1;
    }
    char *s = json_dumps(out, JSON_INDENT(2));
    puts(s);
    free(s);
    int rejected = json_integer_value(json_object_get(out, "rejected_count")) > 0;
    json_decref(out);
    return rejected ? 1 : 0;
}
