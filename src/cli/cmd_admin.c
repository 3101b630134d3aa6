/*
 * cmd_admin.c — `shopkeeper admin OBJECT VERB ...`: the operator's command
 * line for what a deployment needs before anyone can log in. One table row
 * per action; each validates with the same core rules as the API.
 */
#include "cli/cli.h"
#include "core/account.h"
#include "core/choices.h"
#include "core/purpose.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin_action {
    const char *object, *verb;
    int nargs;
    int (*fn)(struct store *st, char **args);
    const char *usage;
};

static int resolve_brand(struct store *st, const char *ref, json_t **ret)
{
    if (!id_is_plausible(ref) || st->ops->brand_get(st, ref, ret)) {
        fprintf(stderr, "shopkeeper admin: no brand \"%s\"\n", ref);
        return 1;
    }
    return 0;
}

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2));
    puts(s);
    free(s);
}

static int a_operator_create(struct store *st, char **args)
{
    char token[TOKEN_MAX];
    if (!text_is_clean(args[0], NAME_MAX_CHARS)) {
        fprintf(stderr, "shopkeeper admin: NAME must be 1-%d characters\n", NAME_MAX_CHARS);
        return 1;
    }
    int rc = operator_new(st, args[0], token);
    if (rc) {
        fprintf(stderr, "shopkeeper admin: cannot create operator: %s\n", sk_strerror(rc));
        return 1;
    }
    printf("operator \"%s\" created; its bearer token (shown once, keep it safe):\n%s\n", args[0],
           token);
    return 0;
}

static int a_brand_create(struct store *st, char **args)
{
    if (!slug_is_valid(args[0])) {
        fprintf(stderr, "shopkeeper admin: SLUG must be 2-%d of a-z, 0-9 and '-'\n", SLUG_MAX);
        return 1;
    }
    if (!text_is_clean(args[1], 100)) {
        fprintf(stderr, "shopkeeper admin: NAME must be 1-100 characters\n");
        return 1;
    }
    json_t *b;
    int rc = st->ops->brand_create(st, args[1], args[0], &b);
    if (rc) {
        fprintf(stderr, "shopkeeper admin: cannot create brand: %s\n",
                rc == SK_ECONFLICT ? "that slug is taken" : sk_strerror(rc));
        return 1;
    }
    print_json(b);
    json_decref(b);
    return 0;
}

static int a_brand_list(struct store *st, char **args)
{
    (void)args;
    struct page pg = {NULL, 200};
    for (;;) {
        json_t *out;
        if (st->ops->brand_list(st, &pg, &out)) return 1;
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(out, "items"), i, b)
            printf("%s  %-24s %s\n", json_string_value(json_object_get(b, "id")),
                   json_string_value(json_object_get(b, "slug")),
                   json_string_value(json_object_get(b, "name")));
        json_t *next = json_object_get(out, "next");
        static char after[ID_MAX];
        int more = json_is_string(next);
        if (more) snprintf(after, sizeof after, "%s", json_string_value(next));
        json_decref(out);
        if (!more) return 0;
        pg.after = after;
    }
}

static int a_staff_create(struct store *st, char **args)
{
    json_t *b;
    if (resolve_brand(st, args[0], &b)) return 1;
    char email[EMAIL_MAX + 2], pwhash[CRYPTO_PWHASH_MAX], generated[TOKEN_MAX];
    json_t *grants = NULL;
    int rc = 1;
    if (!email_normalize(args[1], email, sizeof email)) {
        fprintf(stderr, "shopkeeper admin: \"%s\" is not an email address\n", args[1]);
        goto out;
    }
    if (!text_is_clean(args[2], NAME_MAX_CHARS)) {
        fprintf(stderr, "shopkeeper admin: NAME must be 1-%d characters\n", NAME_MAX_CHARS);
        goto out;
    }
    /* ROLE, or ROLE:STORE[,STORE...] for the roles given per store */
    json_t *spec = json_object();
    char role[32], errbuf[160];
    const char *colon = strchr(args[3], ':');
    snprintf(role, sizeof role, "%.*s", colon ? (int)(colon - args[3]) : 31, args[3]);
    json_object_set_new(spec, "role", json_string(role));
    if (colon) {
        json_t *stores = json_array();
        char list[512];
        snprintf(list, sizeof list, "%s", colon + 1);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(stores, json_string(t));
        json_object_set_new(spec, "stores", stores);
    }
    int grc = grants_normalize(spec, &grants, errbuf, sizeof errbuf);
    json_decref(spec);
    if (grc) {
        fprintf(stderr, "shopkeeper admin: %s (ROLE is admin, manager:STORE[,STORE], "
                        "counter:STORE[,STORE], agent, team_manager or comms)\n", errbuf);
        goto out;
    }
    const char *password = getenv("SHOPKEEPER_PASSWORD");
    if (!password || !*password) {
        if (token_new(generated)) goto out;
        password = generated + 3;
    } else if (strlen(password) < PASSWORD_MIN) {
        fprintf(stderr, "shopkeeper admin: SHOPKEEPER_PASSWORD needs %d characters or more\n",
                PASSWORD_MIN);
        goto out;
    }
    json_t *s;
    if (crypto_pwhash(password, pwhash)) goto out;
    int src = st->ops->staff_create(st, json_string_value(json_object_get(b, "id")), email,
                                    args[2], grants, pwhash, &s);
    if (src) {
        fprintf(stderr, "shopkeeper admin: cannot create staff member: %s\n",
                src == SK_ECONFLICT ? "that email is taken"
                : src == SK_EINVAL  ? "each store must be an open store of this brand"
                                    : sk_strerror(src));
        goto out;
    }
    print_json(s);
    json_decref(s);
    if (password == generated + 3) printf("password (shown once): %s\n", password);
    rc = 0;
out:
    json_decref(grants);
    json_decref(b);
    return rc;
}

static int a_store_create(struct store *st, char **args)
{
    json_t *b;
    if (resolve_brand(st, args[0], &b)) return 1;
    int rc = 1;
    if (!text_is_clean(args[1], 100) || !text_is_clean(args[2], 64)) {
        fprintf(stderr, "shopkeeper admin: NAME and TIMEZONE must be short text\n");
        goto out;
    }
    json_t *f = json_pack("{s:s, s:s, s:s}", "name", args[1], "timezone", args[2], "city",
                          args[3]);
    json_t *s;
    int src = st->ops->store_create(st, json_string_value(json_object_get(b, "id")), f, &s);
    json_decref(f);
    if (src) {
        fprintf(stderr, "shopkeeper admin: cannot create store: %s\n", sk_strerror(src));
        goto out;
    }
    print_json(s);
    json_decref(s);
    rc = 0;
out:
    json_decref(b);
    return rc;
}

/* password-link EMAIL [--purpose reset|invite] [--kind staff|customer]
 * [--public-url URL]: a one-time link, printed, for an operator without a
 * mail relay. args is NULL-terminated. */
static int a_password_link(struct store *st, char **args)
{
    const char *purpose = "reset", *kind = NULL, *email = NULL;
    const char *url = getenv("SHOPKEEPER_PUBLIC_URL");
    for (char **a = args; *a; a++) {
        const char **opt = !strcmp(*a, "--purpose") ? &purpose
                           : !strcmp(*a, "--kind")    ? &kind
                           : !strcmp(*a, "--public-url") ? &url
                                                         : NULL;
        if (opt) {
            if (!a[1]) {
                fprintf(stderr, "shopkeeper admin: %s needs a value\n", *a);
                return 2;
            }
            *opt = *++a;
        } else if (!email && (*a)[0] != '-') {
            email = *a;
        } else {
            fprintf(stderr, "shopkeeper admin: unexpected \"%s\"\n", *a);
            return 2;
        }
    }
    char lower[EMAIL_MAX + 2], base[300], token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    if (!email || !email_normalize(email, lower, sizeof lower)) {
        fprintf(stderr, "shopkeeper admin: password-link needs an EMAIL address\n");
        return 2;
    }
    if (strcmp(purpose, "reset") && strcmp(purpose, "invite")) {
        fprintf(stderr, "shopkeeper admin: --purpose must be reset or invite\n");
        return 2;
    }
    if (kind && strcmp(kind, "staff") && strcmp(kind, "customer")) {
        fprintf(stderr, "shopkeeper admin: --kind must be staff or customer\n");
        return 2;
    }
    if (public_url_resolve(url, getenv("SHOPKEEPER_LISTEN"), base, sizeof base)) {
        fprintf(stderr, "shopkeeper admin: --public-url must start with http:// or https://\n");
        return 2;
    }
    struct login_rec staff, cust;
    int is_staff = (!kind || !strcmp(kind, "staff")) && st->ops->staff_login(st, lower, &staff) == 0;
    int is_cust =
        (!kind || !strcmp(kind, "customer")) && st->ops->customer_login(st, lower, &cust) == 0;
    if (is_staff && is_cust) {
        fprintf(stderr, "shopkeeper admin: %s is a staff member and a shopper; say which with "
                        "--kind staff or --kind customer\n", lower);
        return 2;
    }
    if (!is_staff && !is_cust) {
        fprintf(stderr, "shopkeeper admin: no account uses %s\n", lower);
        return 1;
    }
    if (!strcmp(purpose, "invite") && !is_staff) {
        fprintf(stderr, "shopkeeper admin: invitations are for staff; a shopper gets --purpose "
                        "reset\n");
        return 2;
    }
    int64_t ttl = !strcmp(purpose, "invite") ? PWLINK_INVITE_TTL_S : PWLINK_RESET_TTL_S;
    if (token_new(token)) return 1;
    token_hash(token, hash);
    int rc = st->ops->pwlink_create(st, is_staff ? PRINCIPAL_STAFF : PRINCIPAL_CUSTOMER,
                                    is_staff ? staff.id : cust.id, purpose, hash,
                                    time_now_us() + ttl * 1000000);
    if (rc) {
        fprintf(stderr, "shopkeeper admin: cannot create the link: %s\n", sk_strerror(rc));
        return 1;
    }
    printf("%s/reset#token=%s\n", base, token);
    fprintf(stderr,
            "a one-time link for %s (%s) to choose a %spassword; it works once, for %s.\n"
            "Give it to them privately: whoever opens it can set the password.\n",
            lower, is_staff ? "staff" : "shopper", strcmp(purpose, "invite") ? "new " : "",
            ttl == PWLINK_RESET_TTL_S ? "30 minutes" : "7 days");
    memset(token, 0, sizeof token);
    return 0;
}

static const struct admin_action actions[] = {
    {"operator", "create", 1, a_operator_create, "operator create NAME"},
    {"brand", "create", 2, a_brand_create, "brand create SLUG NAME"},
    {"brand", "list", 0, a_brand_list, "brand list"},
    {"staff", "create", 4, a_staff_create,
     "staff create BRAND EMAIL NAME ROLE   (password from SHOPKEEPER_PASSWORD, else generated)"},
    {"store", "create", 4, a_store_create, "store create BRAND NAME TIMEZONE CITY"},
    {"password-link", NULL, -1, a_password_link,
     "password-link EMAIL [--purpose reset|invite] [--kind staff|customer] [--public-url URL]\n"
     "      prints a one-time link to choose a password (reset: 30 minutes; invite, staff\n"
     "      only: 7 days); the link's base is --public-url, else SHOPKEEPER_PUBLIC_URL,\n"
     "      else http:// + SHOPKEEPER_LISTEN"},
};

static void admin_usage(FILE *f)
{
    fprintf(f, "usage: shopkeeper admin [--db PATH] [--master-key FILE] ACTION\n\nactions:\n");
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        fprintf(f, "  %s\n", actions[i].usage);
    fprintf(f, "\noptions:\n" DB_OPTS_HELP
               "\nBRAND is a brand's id or slug. ROLE is admin, manager:STORE[,STORE...],\ncounter:STORE[,STORE...], agent,\n"
               "team_manager or comms.\n");
}

int cmd_admin(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},
        {"master-key", required_argument, 0, 'k'}, {"keys", required_argument, 0, 'K'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct db_opts dbo;
    db_opts_defaults(&dbo);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbo.db_path = optarg; break;
        case 'k': dbo.master_key_path = optarg; break;
        case 'K': dbo.keys_path = optarg; break;
        case 'h': admin_usage(stdout); return 0;
        default: admin_usage(stderr); return 2;
        }
    }
    int left = argc - optind;
    char **args = argv + optind;
    if (left < 1) {
        admin_usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        const struct admin_action *a = &actions[i];
        /* a row without a verb takes the rest of the line (nargs -1: 1 or more) */
        int used = a->verb ? 2 : 1;
        if (left < used || strcmp(args[0], a->object) || (a->verb && strcmp(args[1], a->verb)))
            continue;
        if (a->nargs >= 0 ? left - used != a->nargs : left - used < 1) {
            fprintf(stderr, "usage: shopkeeper admin %s\n", a->usage);
            return 2;
        }
        struct store *st;
        if (db_open(&dbo, &st)) return 1;
        int rc = a->fn(st, args + used);
        store_close(st);
        return rc;
    }
    fprintf(stderr, "shopkeeper admin: unknown action \"%s %s\"\n\n", args[0],
            left > 1 ? args[1] : "");
    admin_usage(stderr);
    return 2;
}
