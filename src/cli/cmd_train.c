/*
 * cmd_train.c — `shopkeeper train --brand B`: asks the running service to
 * retrain a brand's suggestion model now (POST /v1/brands/{brand}/train).
 * The models live in the service's memory; it trains beside the requests,
 * which keep using the last complete model until the new one is swapped in.
 */
#include "cli/cli.h"
#include "cli/httpc.h"
#include "core/purpose.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char train_help[] =
    "usage: shopkeeper train --brand BRAND [--url URL] [--token-file FILE]\n\n"
    "Asks the running service to retrain BRAND's suggestion model now and prints\n"
    "what it learned from (baskets, items) and how long it took. The service also\n"
    "retrains by itself when purchases or items changed.\n\n"
    "options:\n"
    "  --brand BRAND        the brand's slug or id\n"
    "  --url URL            the service (default http://127.0.0.1:8080)\n"
    "  --token-file FILE    a file holding an operator or brand admin/manager token\n"
    "                       (else SHOPKEEPER_TOKEN; make run writes the demo operator's\n"
    "                       token to var/demo-operator.token)\n";

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brand", required_argument, 0, 'b'},
        {"url", required_argument, 0, 'u'},
        {"token-file", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *brand = NULL, *url = "http://127.0.0.1:8080", *token_file = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': brand = optarg; break;
        case 'u': url = optarg; break;
        case 't': token_file = optarg; break;
        case 'h': fputs(train_help, stdout); return 0;
        default: fputs(train_help, stderr); return 2;
        }
    }
    if (!brand || strlen(brand) > 64) {
        fputs(train_help, stderr);
        return 2;
    }
    char token[300] = "";
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        if (!f || !fgets(token, sizeof token, f)) {
            fprintf(stderr, "shopkeeper train: cannot read %s\n", token_file);
            if (f) fclose(f);
            return 2;
        }
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
    } else if (getenv("SHOPKEEPER_TOKEN")) {
        snprintf(token, sizeof token, "%s", getenv("SHOPKEEPER_TOKEN"));
    }
    if (!token[0]) {
        fprintf(stderr, "shopkeeper train: give a token (--token-file or SHOPKEEPER_TOKEN)\n");
        return 2;
    }
    struct httpc *h = httpc_new(url);
    if (!h) return 1;
    char path[128];
    snprintf(path, sizeof path, "/v1/brands/%s/train", brand);
    long st;
    json_t *out;
    int rc = httpc_json(h, "POST", path, token, NULL, &st, &out);
    httpc_free(h);
    if (rc) {
        fprintf(stderr, "shopkeeper train: cannot reach %s\n", url);
        return 1;
    }
    char *s = json_dumps(out, JSON_INDENT(2));
    if (st == 200) puts(s);
    else fprintf(stderr, "shopkeeper train: HTTP %ld %s\n", st, s ? s : "");
    free(s);
    json_decref(out);
    return st == 200 ? 0 : 1;
}
