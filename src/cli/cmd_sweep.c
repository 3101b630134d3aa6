/*
 * cmd_sweep.c — `shopkeeper sweep`: one retention sweep now (or at a given
 * time), the same sweep `serve` runs every hour.
 */
#include "cli/cli.h"
#include "service/housekeeping.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char sweep_help[] =
    "usage: shopkeeper sweep [OPTIONS]\n\n"
    "Removes closed visits and access-log entries past their retention period, as\n"
    "`serve` does every hour, and prints what it removed.\n\n"
    "options:\n" DB_OPTS_HELP
    "  --now TIME           sweep as if it were TIME (RFC 3339), e.g. to check a policy\n"
    "  --retain-visits-days N      (SHOPKEEPER_RETAIN_VISITS_DAYS; default 30)\n"
    "  --retain-access-log-days N  (SHOPKEEPER_RETAIN_ACCESS_LOG_DAYS; default 395)\n";

int cmd_sweep(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},
        {"master-key", required_argument, 0, 'k'}, {"keys", required_argument, 0, 'K'},
        {"now", required_argument, 0, 'n'},
        {"retain-visits-days", required_argument, 0, 'V'},
        {"retain-access-log-days", required_argument, 0, 'A'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct db_opts dbo;
    db_opts_defaults(&dbo);
    struct retention r = RETENTION_DEFAULTS;
    const char *e;
    if ((e = getenv("SHOPKEEPER_RETAIN_VISITS_DAYS")) && *e) r.visits_days = atoll(e);
    if ((e = getenv("SHOPKEEPER_RETAIN_ACCESS_LOG_DAYS")) && *e) r.access_log_days = atoll(e);
    int64_t now = time_now_us();
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbo.db_path = optarg; break;
        case 'k': dbo.master_key_path = optarg; break;
        case 'K': dbo.keys_path = optarg; break;
        case 'n':
            if (time_parse_rfc3339(optarg, &now)) {
                fprintf(stderr, "shopkeeper sweep: --now must be an RFC 3339 time\n");
                return 2;
            }
            break;
        case 'V': r.visits_days = atoll(optarg); break;
        case 'A': r.access_log_days = atoll(optarg); break;
        case 'h': fputs(sweep_help, stdout); return 0;
        default: fputs(sweep_help, stderr); return 2;
        }
    }
    if (r.visits_days < 1 || r.access_log_days < 1) {
        fprintf(stderr, "shopkeeper sweep: retention periods must be at least one day\n");
        return 2;
    }
    struct store *st;
    if (db_open(&dbo, &st)) return 1;
    json_t *out;
    int rc = retention_sweep_at(st, &r, now, &out);
    store_close(st);
    if (rc) {
        fprintf(stderr, "shopkeeper sweep: %s\n", sk_strerror(rc));
        return 1;
    }
    char *s = json_dumps(out, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(out);
    return 0;
}
