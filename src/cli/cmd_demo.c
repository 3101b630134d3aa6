/*
 * cmd_demo.c — `shopkeeper demo`: fills an empty database with a believable
 * demo through the same store interface the API uses: three fictional
 * brands (a coffee chain, a bookshop chain, a department store) with stores,
 * staff, simple choices and notices, and a dozen shoppers with memberships
 * and preferences. Refuses to touch a database that already has brands.
 */
#include "cli/cli.h"
#include "core/catalogue.h"
#include "core/choices.h"
#include "core/purpose.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_PASSWORD "shopkeeper-demo"

struct demo_store {
    const char *name, *timezone, *city, *address;
};

struct demo_brand {
    const char *slug, *name;
    const char *choices;   /* JSON */
    const char *notice;    /* JSON */
    struct demo_store stores[3];
};

static const struct demo_brand brands[] = {
    {"pike-pine", "Pike & Pine Coffee",
     "[{\"key\":\"usual\",\"label\":\"Regular order\",\"kind\":\"choice\",\"options\":"
     "[\"Tall Drip Pike\",\"Grande Caramel Macchiato\",\"Flat White\",\"Oat Latte\","
     "\"Double Espresso\",\"Chai Tea Latte\"]},"
     "{\"key\":\"room_for_cream\",\"label\":\"Room for cream\",\"kind\":\"yesno\"},"
     "{\"key\":\"milk\",\"label\":\"Milk\",\"kind\":\"choice\",\"options\":[\"Whole\","
     "\"Skim\",\"Oat\",\"Almond\",\"No milk\"]},"
     "{\"key\":\"receipt\",\"label\":\"Wants a receipt\",\"kind\":\"yesno\"},"
     "{\"key\":\"cup_name\",\"label\":\"Name on the cup\",\"kind\":\"text\"}]",
     "{\"text\":\"Pike & Pine recognises members who opted in, so our baristas can greet you "
     "by name and start your usual. We keep your name, your answers to a few simple choices "
     "and what you never want to be asked. We never see anyone who has not joined, and you "
     "can leave with one click.\",\"faq\":[{\"q\":\"Do you track people walking by?\","
     "\"a\":\"No. A phone that is not a member's leaves no trace: we only count how many "
     "unknown signals we heard.\"},{\"q\":\"Can I stop being recognised?\",\"a\":\"Yes, "
     "switch off recognition or leave Pike & Pine in your Shopkeeper account; it takes "
     "effect at once, even on screens already showing you.\"}]}",
     {{"5th Avenue", "America/New_York", "New York", "500 5th Avenue"},
      {"Union Square", "America/New_York", "New York", "12 Union Square West"},
      {"Capitol Hill", "America/Los_Angeles", "Seattle", "1520 Pine Street"}}},
    {"marlowe-books", "Marlowe Books",
     "[{\"key\":\"format\",\"label\":\"Preferred format\",\"kind\":\"choice\",\"options\":"
     "[\"Hardback\",\"Paperback\",\"E-book\",\"Audiobook\"]},"
     "{\"key\":\"genres\",\"label\":\"Favourite genres\",\"kind\":\"text\"},"
     "{\"key\":\"authors\",\"label\":\"Authors I follow\",\"kind\":\"text\",\"purpose\":"
     "\"suggestions\"},"
     "{\"key\":\"gift_wrap\",\"label\":\"Gift wrap by default\",\"kind\":\"yesno\"},"
     "{\"key\":\"bag\",\"label\":\"Wants a bag\",\"kind\":\"yesno\"}]",
     "{\"text\":\"Marlowe Books remembers what members tell us they like to read, so our "
     "booksellers can point you to the one new book worth your time. We keep your name, "
     "your reading choices and your don't-list, only if you join.\",\"faq\":[{\"q\":\"Will "
     "you share what I read?\",\"a\":\"Only with a partner you name yourself, and only what "
     "you allow. You can see every look at your data in Shopkeeper.\"}]}",
     {{"Riverside", "America/New_York", "Boston", "88 Charles Street"},
      {"Old Town", "America/Chicago", "Chicago", "1401 N Wells Street"}}},
    {"harrow-vale", "Harrow & Vale",
     "[{\"key\":\"size\",\"label\":\"Clothing size\",\"kind\":\"choice\",\"options\":[\"XS\","
     "\"S\",\"M\",\"L\",\"XL\",\"XXL\"]},"
     "{\"key\":\"delivery\",\"label\":\"Delivery\",\"kind\":\"choice\",\"options\":[\"Take "
     "it with me\",\"Deliver home\"]},"
     "{\"key\":\"fitting_room\",\"label\":\"Fitting room help\",\"kind\":\"yesno\"},"
     "{\"key\":\"receipt\",\"label\":\"Receipt by email\",\"kind\":\"yesno\"}]",
     "{\"text\":\"Harrow & Vale lets members who opted in be recognised at the counter, so "
     "staff know your size and how you like your purchases delivered.\",\"faq\":[{\"q\":"
     "\"What does the counter screen show?\",\"a\":\"Your first name and the answers you "
     "chose to share, nothing else.\"}]}",
     {{"Oxford Street", "Europe/London", "London", "400 Oxford Street"},
      {"Deansgate", "Europe/London", "Manchester", "98 Deansgate"}}},
};

struct demo_member {
    const char *brand;
    const char *purposes; /* space-separated */
    const char *answers;  /* JSON object, or NULL */
    const char *dont;     /* JSON array, or NULL */
};

struct demo_customer {
    const char *name, *email;
    struct demo_member m[3];
};

static const struct demo_customer customers[] = {
    {"Jeff Morgan", "jeff@example.com",
     {{"pike-pine", "recognition preferences history suggestions",
       "{\"usual\":\"Tall Drip Pike\",\"room_for_cream\":true,\"milk\":\"Whole\","
       "\"receipt\":false}",
       "[\"pastry offers\"]"},
      {"marlowe-books", "recognition preferences history suggestions",
       "{\"format\":\"Hardback\",\"genres\":\"thrillers, mysteries, gardening\","
       "\"authors\":\"Tana French\",\"bag\":false}",
       "[\"children's books\"]"}}},
    {"Anna Schmidt", "anna@example.com",
     {{"marlowe-books", "recognition preferences history suggestions partner:pike-pine",
       "{\"format\":\"Paperback\",\"genres\":\"thrillers, biographies, travel\","
       "\"gift_wrap\":true}",
       NULL},
      {"pike-pine", "recognition preferences", "{\"usual\":\"Oat Latte\",\"milk\":\"Oat\"}",
       NULL}}},
    {"Ravi Patel", "ravi@example.com",
     {{"pike-pine", "recognition preferences",
       "{\"usual\":\"Double Espresso\",\"receipt\":true,\"cup_name\":\"Rav\"}",
       "[\"cup_name\"]"},
      {"harrow-vale", "recognition preferences", "{\"size\":\"L\",\"delivery\":\"Deliver home\"}",
       NULL}}},
    {"Mei Lin", "mei@example.com",
     {{"pike-pine", "recognition preferences",
       "{\"usual\":\"Chai Tea Latte\",\"milk\":\"Almond\",\"room_for_cream\":false}", NULL}}},
    {"Carlos Diaz", "carlos@example.com",
     {{"harrow-vale", "recognition preferences",
       "{\"size\":\"M\",\"fitting_room\":true,\"receipt\":true}", "[\"store card offers\"]"},
      {"pike-pine", "recognition", NULL, NULL}}},
    {"Fatima Okafor", "fatima@example.com",
     {{"marlowe-books", "recognition preferences",
       "{\"format\":\"Audiobook\",\"genres\":\"science fiction, poetry\"}", NULL}}},
    {"Tom Becker", "tom@example.com",
     {{"pike-pine", "recognition preferences",
       "{\"usual\":\"Grande Caramel Macchiato\",\"room_for_cream\":true,\"milk\":\"Skim\"}",
       "[\"receipt\"]"}}},
    {"Sofia Rossi", "sofia@example.com",
     {{"harrow-vale", "recognition preferences offers",
       "{\"size\":\"S\",\"delivery\":\"Take it with me\"}", NULL},
      {"marlowe-books", "recognition", NULL, NULL}}},
    {"Liam O'Brien", "liam@example.com",
     {{"pike-pine", "recognition preferences", "{\"usual\":\"Flat White\",\"milk\":\"Whole\"}",
       NULL}}},
    {"Yuki Tanaka", "yuki@example.com",
     {{"marlowe-books", "recognition preferences suggestions",
       "{\"format\":\"E-book\",\"genres\":\"history, cooking\",\"authors\":\"Yotam "
       "Ottolenghi\"}",
       NULL},
      {"harrow-vale", "preferences", "{\"size\":\"M\"}", NULL}}},
    {"Grace Kim", "grace@example.com",
     {{"pike-pine", "preferences", "{\"usual\":\"Oat Latte\",\"milk\":\"Oat\"}", NULL}}},
    {"Omar Haddad", "omar@example.com", {{0}}},
};

static const struct {
    const char *role, *local, *name;
} staff_roles[] = {
    {"admin", "admin", "Brand Admin"},
    {"manager", "manager", "Store Manager"},
    {"counter", "counter", "Counter Staff"},
};

/* The bookshop's catalogue: sku, title, category path, author, consumable. */
static const struct {
    const char *sku, *title, *category, *maker;
} books[] = {
    {"bk-001", "The Cold Harbour", "fiction/thrillers", "Tana Ferris"},
    {"bk-002", "Night Ferry", "fiction/thrillers", "Tana Ferris"},
    {"bk-003", "A Quiet Wire", "fiction/thrillers", "Mark Oduya"},
    {"bk-004", "The Glass Alibi", "fiction/thrillers", "Mark Oduya"},
    {"bk-005", "Dead Reckoning Street", "fiction/thrillers", "Ines Calder"},
    {"bk-006", "The Vicarage Ledger", "fiction/mysteries", "Ruth Penhallow"},
    {"bk-007", "Murder at Low Tide", "fiction/mysteries", "Ruth Penhallow"},
    {"bk-008", "The Lantern Keeper", "fiction/mysteries", "Oskar Lind"},
    {"bk-009", "Seven Keys to Kelso", "fiction/mysteries", "Oskar Lind"},
    {"bk-010", "A Life in Letters: Nora Vale", "nonfiction/biographies", "Helen Marsh"},
    {"bk-011", "The Engineer's Daughter", "nonfiction/biographies", "Helen Marsh"},
    {"bk-012", "Small Giants: Mary Anning", "nonfiction/biographies", "Peter Wyn"},
    {"bk-013", "The Long Walk Home", "nonfiction/biographies", "Peter Wyn"},
    {"bk-014", "The Year-Round Vegetable Bed", "home/gardening", "Alys Green"},
    {"bk-015", "Roses Without Fuss", "home/gardening", "Alys Green"},
    {"bk-016", "The Shade Garden", "home/gardening", "Tom Birch"},
    {"bk-017", "Pruning, Plainly", "home/gardening", "Tom Birch"},
    {"bk-018", "Slow Trains of Europe", "travel/europe", "Marta Sol"},
    {"bk-019", "Walking the Alps", "travel/europe", "Marta Sol"},
    {"bk-020", "Islands of the North", "travel/scandinavia", "Jonas Berg"},
    {"bk-021", "One Pot, Every Night", "food/cooking", "Sami Haddad"},
    {"bk-022", "The Weekend Baker", "food/cooking", "Lena Brot"},
    {"bk-023", "Vegetables First", "food/cooking", "Sami Haddad"},
    {"bk-024", "The Dragon Who Sneezed", "children/picture-books", "Pip Moss"},
    {"bk-025", "Space Pirates Go Home", "children/chapter-books", "Pip Moss"},
    {"bk-026", "The Tide Below", "fiction/thrillers", "Tana Ferris"},
    {"bk-027", "Letters from the Garden", "nonfiction/biographies", "Alys Green"},
    {"bk-028", "The Mapmaker's Wife", "nonfiction/biographies", "Helen Marsh"},
};
#define NBOOKS (sizeof books / sizeof books[0])

/* Reader "tastes" for the anonymous baskets: groups of books bought
 * together, so the co-purchase model has something to learn. */
static const int tastes[][6] = {
    {1, 2, 3, 5, 26, 0},    /* thrillers */
    {6, 7, 8, 9, 3, 0},     /* mysteries, a thriller */
    {10, 11, 12, 13, 28, 27}, /* biographies */
    {14, 15, 16, 17, 27, 0}, /* gardening */
    {18, 19, 20, 21, 0, 0},  /* travel, a cookbook */
    {21, 22, 23, 14, 0, 0},  /* cooking, a vegetable bed */
    {24, 25, 22, 0, 0, 0},   /* children */
};

static int demo_purchase(struct store *st, const char *bid, const char *sid, const char *cid,
                         const int *picks, int npicks, int64_t at_us)
{
    json_t *lines = json_array();
    for (int i = 0; i < npicks; i++)
        json_array_append_new(lines, json_pack("{s:s, s:i, s:s}", "sku",
                                               books[picks[i] - 1].sku, "qty", 1, "price",
                                               "14.99"));
    char at[TIME_RFC3339_LEN];
    json_t *in = json_pack("{s:s, s:s, s:o}", "store", sid, "at",
                           time_fmt_rfc3339(at_us, at, sizeof at), "lines", lines);
    if (cid) json_object_set_new(in, "customer", json_string(cid));
    json_t *norm, *out;
    char err[256];
    int replayed, bad, rc = purchase_normalize(in, time_now_us(), &norm, err, sizeof err);
    json_decref(in);
    if (rc) return rc;
    rc = st->ops->purchase_create(st, bid, NULL, NULL, norm, &out, &replayed, &bad);
    json_decref(norm);
    if (!rc) json_decref(out);
    return rc;
}

/* Marlowe Books: a catalogue, a few hundred anonymous baskets, Jeff's own
 * history and the person he also shops for (Anna, who likes biographies). */
static int demo_bookshop(struct store *st)
{
    json_t *b, *stores, *out;
    int rc = st->ops->brand_get(st, "marlowe-books", &b);
    if (rc) return rc;
    const char *bid = json_string_value(json_object_get(b, "id"));
    struct page pg = {NULL, 10};
    rc = st->ops->store_list(st, bid, &pg, &stores);
    const char *sid = rc ? NULL
                         : json_string_value(json_object_get(
                               json_array_get(json_object_get(stores, "items"), 0), "id"));
    for (size_t i = 0; !rc && i < NBOOKS; i++) {
        char err[256];
        json_t *item, *in = json_pack("{s:s, s:s, s:s, s:[s], s:b}", "title", books[i].title,
                                      "category", books[i].category, "maker", books[i].maker,
                                      "tags", "book", "consumable", 0);
        int created;
        rc = item_normalize(in, "", &item, err, sizeof err);
        json_decref(in);
        if (!rc) rc = st->ops->item_put(st, bid, books[i].sku, item, &out, &created);
        if (!rc) json_decref(out);
        json_decref(item);
    }
    /* anonymous baskets over the last 90 days: 2-4 books of one taste */
    uint32_t seed = 12345;
    int64_t now = time_now_us(), day = 86400LL * 1000000;
    for (int n = 0; !rc && n < 300; n++) {
        seed = seed * 1103515245u + 12345u;
        const int *t = tastes[(seed >> 16) % (sizeof tastes / sizeof tastes[0])];
        int len = 0;
        while (len < 6 && t[len]) len++;
        int picks[4], np = 2 + (int)((seed >> 8) % 3);
        for (int k = 0; k < np; k++) {
            seed = seed * 1103515245u + 12345u;
            picks[k] = t[(seed >> 16) % (uint32_t)len];
            for (int j = 0; j < k; j++)
                if (picks[j] == picks[k]) picks[k--] = 0, np--;
        }
        if (np > 0) rc = demo_purchase(st, bid, sid, NULL, picks, np, now - (int64_t)(n % 90) * day);
    }
    /* Jeff: thrillers, mysteries and gardening, linked under his history grant */
    json_t *jeff = NULL;
    struct login_rec lr;
    if (!rc) rc = st->ops->customer_login(st, "jeff@example.com", &lr);
    static const int jeff_buys[][2] = {{1, 6}, {2, 14}, {7, 0}, {3, 15}};
    for (size_t i = 0; !rc && i < sizeof jeff_buys / sizeof jeff_buys[0]; i++)
        rc = demo_purchase(st, bid, sid, lr.id, jeff_buys[i], jeff_buys[i][1] ? 2 : 1,
                           now - (int64_t)(40 - 10 * (int)i) * day);
    /* and the person he also shops for */
    if (!rc) {
        json_t *person = json_pack(
            "{s:s, s:{s:[s], s:[], s:[]}, s:{s:[s], s:[], s:[]}, s:[{s:s, s:s}]}", "label",
            "Anna", "likes", "categories", "biographies", "makers", "tags",
            "dislikes", "categories", "children", "makers", "tags", "occasions", "name",
            "birthday", "date", "03-14");
        rc = st->ops->person_create(st, lr.id, person, 20, &out);
        if (!rc) json_decref(out);
        json_decref(person);
    }
    json_decref(jeff);
    json_decref(stores);
    json_decref(b);
    return rc;
}

static const char demo_help[] =
    "usage: shopkeeper demo [--db PATH] [--master-key FILE] [--token-file FILE]\n\n"
    "Fills an empty database with three demo brands, their stores, staff, choices and\n"
    "notices, and a dozen shoppers with memberships and preferences. Does nothing to a\n"
    "database that already has brands. Prints the demo credentials.\n\n"
    "options:\n" DB_OPTS_HELP
    "  --token-file FILE    also write the demo operator's token to FILE (mode 0600)\n";

static int demo_fail(const char *what, int rc)
{
    fprintf(stderr, "shopkeeper demo: %s: %s\n", what, sk_strerror(rc));
    return 1;
}

static int demo_brand(struct store *st, const struct demo_brand *d, char *pwhash)
{
    json_t *b, *out, *norm;
    char err[256];
    int rc = st->ops->brand_create(st, d->name, d->slug, &b);
    if (rc) return demo_fail(d->slug, rc);
    const char *bid = json_string_value(json_object_get(b, "id"));
    json_t *defs = json_loads(d->choices, 0, NULL);
    rc = choices_validate(defs, &norm, err, sizeof err) ? SK_EINVAL : 0;
    json_decref(defs);
    if (!rc) {
        rc = st->ops->choices_put(st, bid, norm, &out);
        json_decref(norm);
        if (!rc) json_decref(out);
    }
    json_t *notice = json_loads(d->notice, 0, NULL);
    if (!rc) rc = notice ? st->ops->notice_put(st, bid, notice, &out) : SK_EINVAL;
    if (!rc) json_decref(out);
    json_decref(notice);
    char first_store[ID_MAX] = "";
    for (int i = 0; !rc && i < 3 && d->stores[i].name; i++) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "name", d->stores[i].name, "timezone",
                              d->stores[i].timezone, "city", d->stores[i].city, "address",
                              d->stores[i].address);
        rc = st->ops->store_create(st, bid, f, &out);
        json_decref(f);
        if (!rc && i == 0)
            snprintf(first_store, sizeof first_store, "%s",
                     json_string_value(json_object_get(out, "id")));
        if (!rc) json_decref(out);
    }
    /* the manager and the counter staff work at the brand's first store */
    for (size_t i = 0; !rc && i < sizeof staff_roles / sizeof staff_roles[0]; i++) {
        char email[128];
        snprintf(email, sizeof email, "%s@%s.example", staff_roles[i].local, d->slug);
        json_t *grant = json_pack("{s:s}", "role", staff_roles[i].role);
        if (role_is_store_scoped(role_bit(staff_roles[i].role)))
            json_object_set_new(grant, "store", json_string(first_store));
        json_t *grants = json_pack("[o]", grant);
        rc = st->ops->staff_create(st, bid, email, staff_roles[i].name, grants, pwhash, &out);
        json_decref(grants);
        if (!rc) json_decref(out);
    }
    json_decref(b);
    return rc ? demo_fail(d->slug, rc) : 0;
}

static int demo_customer(struct store *st, const struct demo_customer *c, const char *pwhash)
{
    json_t *cj, *out;
    int rc = st->ops->customer_create(st, c->name, c->email, pwhash, &cj);
    if (rc) return demo_fail(c->email, rc);
    const char *cid = json_string_value(json_object_get(cj, "id"));
    for (int i = 0; !rc && i < 3 && c->m[i].brand; i++) {
        const struct demo_member *m = &c->m[i];
        json_t *b;
        rc = st->ops->brand_get(st, m->brand, &b);
        if (rc) break;
        const char *bid = json_string_value(json_object_get(b, "id"));
        struct purpose_set ps;
        purpose_set_from_words(&ps, m->purposes);
        rc = st->ops->membership_put(st, cid, bid, &ps, "demo", &out);
        if (!rc) json_decref(out);
        if (!rc && m->answers) {
            json_t *answers = json_loads(m->answers, 0, NULL);
            json_t *dont = m->dont ? json_loads(m->dont, 0, NULL) : json_array();
            json_t *ndont = NULL;
            char err[256];
            if (!answers || !dont ||
                answers_validate(json_object_get(b, "choices"), answers, dont, &ndont, err,
                                 sizeof err)) {
                fprintf(stderr, "shopkeeper demo: %s at %s: %s\n", c->email, m->brand, err);
                rc = SK_EINVAL;
            } else {
                rc = st->ops->preferences_put(
                    st, cid, bid, json_integer_value(json_object_get(b, "choices_version")),
                    answers, ndont, &out);
                if (!rc) json_decref(out);
            }
            json_decref(answers);
            json_decref(dont);
            json_decref(ndont);
        }
        json_decref(b);
    }
    json_decref(cj);
    return rc ? demo_fail(c->email, rc) : 0;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},
        {"master-key", required_argument, 0, 'k'}, {"keys", required_argument, 0, 'K'},
        {"token-file", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct db_opts dbo;
    db_opts_defaults(&dbo);
    const char *token_file = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbo.db_path = optarg; break;
        case 'k': dbo.master_key_path = optarg; break;
        case 'K': dbo.keys_path = optarg; break;
        case 't': token_file = optarg; break;
        case 'h': fputs(demo_help, stdout); return 0;
        default: fputs(demo_help, stderr); return 2;
        }
    }
    struct store *st;
    if (db_open(&dbo, &st)) return 1;
    char db_shown[512];
    db_opts_describe(&dbo, db_shown, sizeof db_shown);
    json_t *existing;
    struct page pg = {NULL, 1};
    int rc = st->ops->brand_list(st, &pg, &existing);
    if (rc) {
        store_close(st);
        return demo_fail("reading brands", rc);
    }
    size_t have = json_array_size(json_object_get(existing, "items"));
    json_decref(existing);
    if (have) {
        printf("shopkeeper demo: %s already has brands; the demo was not added again\n",
               db_shown);
        store_close(st);
        return 0;
    }
    char pwhash[CRYPTO_PWHASH_MAX], token[64];
    rc = crypto_pwhash(DEMO_PASSWORD, pwhash) ? 1 : 0;
    for (size_t i = 0; !rc && i < sizeof brands / sizeof brands[0]; i++)
        rc = demo_brand(st, &brands[i], pwhash);
    for (size_t i = 0; !rc && i < sizeof customers / sizeof customers[0]; i++)
        rc = demo_customer(st, &customers[i], pwhash);
    if (!rc && demo_bookshop(st)) rc = demo_fail("the bookshop's catalogue and baskets", SK_EINVAL);
    if (!rc) rc = operator_new(st, "demo operator", token) ? 1 : 0;
    store_close(st);
    if (rc) return 1;
    if (token_file) {
        int fd = open(token_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token) ||
            write(fd, "\n", 1) != 1) {
            fprintf(stderr, "shopkeeper demo: cannot write %s\n", token_file);
            if (fd >= 0) close(fd);
            return 1;
        }
        close(fd);
    }
    printf("demo data added to %s\n\n", db_shown);
    printf("  operator token:  %s\n", token);
    printf("  staff logins:    admin@, manager@, counter@ + pike-pine.example,\n"
           "                   marlowe-books.example or harrow-vale.example\n");
    printf("  shopper logins:  jeff@example.com, anna@example.com, ravi@example.com, ...\n");
    printf("  every password:  %s\n", DEMO_PASSWORD);
    return 0;
}
