/*
 * cmd_simulate.c — `shopkeeper simulate`: the demo's devices and scanners.
 *
 * Through the public API only, as real devices and scanners would: it logs
 * in as the demo shoppers, registers one device each by X25519 (keeping the
 * device keys in a state file, 0600, as a phone keeps its own), creates a
 * scanner key per store, then walks shoppers in and out of stores by posting
 * the EIDs their devices would broadcast, mixed with strangers whose EIDs
 * resolve to nobody. It can also create a display key for a store and write
 * its pairing URL, so the counter display comes alive with no further step.
 */
#include "cli/cli.h"
#include "cli/httpc.h"
#include "core/eid.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_PASSWORD "shopkeeper-demo"
#define SIM_K 8 /* 256-second windows */
#define MAX_STORES 32

static const char *const sim_emails[] = {
    "jeff@example.com",   "anna@example.com",  "ravi@example.com",  "mei@example.com",
    "carlos@example.com", "fatima@example.com", "tom@example.com",   "sofia@example.com",
    "liam@example.com",   "yuki@example.com",  "grace@example.com", "omar@example.com",
};
#define NSHOPPERS (sizeof sim_emails / sizeof sim_emails[0])

static const char *const sim_brands[] = {"pike-pine", "marlowe-books", "harrow-vale"};

struct sim_store {
    char id[64], name[128], brand_id[64], brand_name[128], scanner[80];
};

struct sim_shopper {
    const char *email;
    char name[128];
    uint8_t ik[16];
    uint32_t offset;
    int has_device;
    char brands[4][64]; /* brand ids they are members of */
    int nbrands;
    int inside;          /* store index, or -1 */
    int64_t leave_at;
};

static volatile sig_atomic_t sim_stop;
static void sim_on_signal(int s)
{
    (void)s;
    sim_stop = 1;
}

static uint64_t sim_rng;
static uint32_t rnd(uint32_t n)
{
    sim_rng ^= sim_rng << 13;
    sim_rng ^= sim_rng >> 7;
    sim_rng ^= sim_rng << 17;
    return (uint32_t)(sim_rng % n);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int login(struct httpc *h, const char *email, char *ret_token, size_t len)
{
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", SIM_PASSWORD), *out;
    long st;
    int rc = httpc_json(h, "POST", "/v1/sessions", NULL, body, &st, &out);
    json_decref(body);
    if (rc || st != 201) {
        if (!rc) json_decref(out);
        return SK_EUNAUTH;
    }
    snprintf(ret_token, len, "%s", jstr(out, "token"));
    json_decref(out);
    return 0;
}

/* ---- state file: the devices' own keys --------------------------------- */

static json_t *state_load(const char *path)
{
    json_t *s = path ? json_load_file(path, 0, NULL) : NULL;
    return json_is_object(s) ? s : (json_decref(s), json_object());
}

static void state_save(const char *path, json_t *s)
{
    if (!path) return;
    char *text = json_dumps(s, JSON_INDENT(1));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) fprintf(stderr, "simulate: cannot write %s\n", path);
        close(fd);
    }
    free(text);
}

/* Registers a device for the shopper by X25519, as a phone would. */
static int register_device(struct httpc *h, const char *token, const uint8_t resolver_pub[32],
                           struct sim_shopper *s)
{
    uint8_t priv[32], pub[32], eid[8];
    char pub_hex[65], eid_hex[17];
    if (crypto_x25519_keypair(priv, pub)) return SK_ECRYPTO;
    if (eid_provision(priv, resolver_pub, resolver_pub, pub, s->ik)) return SK_ECRYPTO;
    memset(priv, 0, sizeof priv);
    uint32_t clock = rnd(1u << 30); /* the device's own counter, not wall time */
    s->offset = clock - (uint32_t)(time_now_us() / 1000000);
    eid_compute(s->ik, SIM_K, clock, eid);
    hex_encode(pub, 32, pub_hex);
    hex_encode(eid, 8, eid_hex);
    json_t *body = json_pack("{s:s, s:s, s:i, s:I, s:s}", "name", "Phone (simulated)",
                             "public_key", pub_hex, "rotation_exponent", SIM_K, "clock",
                             (json_int_t)clock, "eid", eid_hex),
           *out;
    long st;
    int rc = httpc_json(h, "POST", "/v1/me/devices", token, body, &st, &out);
    json_decref(body);
    if (rc) return rc;
    if (st != 201) {
        fprintf(stderr, "simulate: registering a device for %s: HTTP %ld %s\n", s->email, st,
                jstr(out, "detail"));
        rc = SK_EINVAL;
    }
    json_decref(out);
    if (!rc) s->has_device = 1;
    return rc;
}

static void current_eid_hex(const struct sim_shopper *s, char out[17])
{
    uint8_t eid[8];
    uint32_t clock = (uint32_t)(time_now_us() / 1000000) + s->offset;
    eid_compute(s->ik, SIM_K, clock, eid);
    hex_encode(eid, 8, out);
}

static const char sim_help[] =
    "usage: shopkeeper simulate [OPTIONS]\n\n"
    "Acts as the demo's devices and scanners against a running server: registers a\n"
    "device for each demo shopper, then walks shoppers in and out of stores by posting\n"
    "their EIDs from the stores' scanners, with strangers mixed in.\n\n"
    "options:\n"
    "  --url URL            the server (default http://127.0.0.1:8080)\n"
    "  --state FILE         where the simulated devices keep their keys\n"
    "                       (default var/simulator.json)\n"
    "  --display-file FILE  create a display key for the first demo store and write\n"
    "                       its pairing URL to FILE\n"
    "  --rounds N           stop after N rounds of 2 seconds (default: until Ctrl-C)\n"
    "  --interval SECS      seconds between rounds (default 2)\n"
    "  -q, --quiet          do not narrate arrivals and departures\n";

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, 0, 'u'},     {"state", required_argument, 0, 's'},
        {"display-file", required_argument, 0, 'd'}, {"rounds", required_argument, 0, 'r'},
        {"interval", required_argument, 0, 'i'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    const char *url = "http://127.0.0.1:8080", *state_path = "var/simulator.json";
    const char *display_file = NULL;
    long rounds = -1, interval = 2;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 's': state_path = optarg; break;
        case 'd': display_file = optarg; break;
        case 'r': rounds = strtol(optarg, NULL, 10); break;
        case 'i': interval = strtol(optarg, NULL, 10); break;
        case 'q': quiet = 1; break;
        case 'h': fputs(sim_help, stdout); return 0;
        default: fputs(sim_help, stderr); return 2;
        }
    }
    if (interval < 1) interval = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    crypto_random(&sim_rng, sizeof sim_rng);
    sim_rng |= 1;
    struct httpc *h = httpc_new(url);
    if (!h) return 1;

    /* the resolver's public key */
    json_t *params;
    long st;
    uint8_t resolver_pub[32];
    if (httpc_json(h, "GET", "/v1/eid-params", NULL, NULL, &st, &params) || st != 200 ||
        hex_decode(jstr(params, "public_key"), resolver_pub, 32)) {
        fprintf(stderr, "simulate: cannot reach %s (is `shopkeeper serve` running?)\n", url);
        httpc_free(h);
        return 1;
    }
    json_decref(params);

    /* stores and a scanner key for each, as a brand admin would set up */
    static struct sim_store stores[MAX_STORES];
    int nstores = 0;
    json_t *state = state_load(state_path);
    json_t *scanners = json_object_get(state, "scanners");
    if (!json_is_object(scanners)) {
        scanners = json_object();
        json_object_set_new(state, "scanners", scanners);
    }
    char display_url[512] = "";
    for (size_t b = 0; b < sizeof sim_brands / sizeof sim_brands[0]; b++) {
        char email[128], token[128], path[256];
        snprintf(email, sizeof email, "admin@%s.example", sim_brands[b]);
        if (login(h, email, token, sizeof token)) {
            fprintf(stderr, "simulate: cannot log in as %s (is this the demo database?)\n", email);
            continue;
        }
        json_t *brand, *list;
        snprintf(path, sizeof path, "/v1/brands/%s", sim_brands[b]);
        if (httpc_json(h, "GET", path, NULL, NULL, &st, &brand) || st != 200) continue;
        snprintf(path, sizeof path, "/v1/brands/%s/stores?limit=50", sim_brands[b]);
        if (httpc_json(h, "GET", path, NULL, NULL, &st, &list) || st != 200) {
            json_decref(brand);
            continue;
        }
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(list, "items"), i, s) {
            if (nstores == MAX_STORES) break;
            struct sim_store *ss = &stores[nstores];
            snprintf(ss->id, sizeof ss->id, "%s", jstr(s, "id"));
            snprintf(ss->name, sizeof ss->name, "%s", jstr(s, "name"));
            snprintf(ss->brand_id, sizeof ss->brand_id, "%s", jstr(brand, "id"));
            snprintf(ss->brand_name, sizeof ss->brand_name, "%s", jstr(brand, "name"));
            const char *known = json_string_value(json_object_get(scanners, ss->id));
            if (known) {
                snprintf(ss->scanner, sizeof ss->scanner, "%s", known);
            } else {
                json_t *out, *body = json_pack("{s:s}", "name", "simulated scanner");
                snprintf(path, sizeof path, "/v1/stores/%s/scanners", ss->id);
                if (httpc_json(h, "POST", path, token, body, &st, &out) || st != 201) {
                    fprintf(stderr, "simulate: cannot create a scanner for %s\n", ss->name);
                    json_decref(body);
                    continue;
                }
                json_decref(body);
                snprintf(ss->scanner, sizeof ss->scanner, "%s", jstr(out, "key"));
                json_object_set_new(scanners, ss->id, json_string(ss->scanner));
                json_decref(out);
            }
            if (display_file && !display_url[0]) {
                json_t *out, *body = json_pack("{s:s}", "name", "demo counter");
                snprintf(path, sizeof path, "/v1/stores/%s/displays", ss->id);
                if (httpc_json(h, "POST", path, token, body, &st, &out) == 0 && st == 201) {
                    snprintf(display_url, sizeof display_url, "%s/counter#pair=%s", url,
                             jstr(out, "key"));
                    FILE *f = fopen(display_file, "w");
                    if (f) {
                        fchmod(fileno(f), 0600);
                        fprintf(f, "%s\n%s · %s\n", display_url, ss->brand_name, ss->name);
                        fclose(f);
                    }
                }
                json_decref(out);
                json_decref(body);
            }
            nstores++;
        }
        json_decref(list);
        json_decref(brand);
    }
    if (nstores == 0) {
        fprintf(stderr, "simulate: no demo stores found; run `shopkeeper demo` on the database\n");
        json_decref(state);
        httpc_free(h);
        return 1;
    }

    /* shoppers and their devices */
    static struct sim_shopper shoppers[NSHOPPERS];
    json_t *devices = json_object_get(state, "devices");
    if (!json_is_object(devices)) {
        devices = json_object();
        json_object_set_new(state, "devices", devices);
    }
    size_t nshop = 0;
    for (size_t i = 0; i < NSHOPPERS; i++) {
        struct sim_shopper *s = &shoppers[nshop];
        memset(s, 0, sizeof *s);
        s->email = sim_emails[i];
        s->inside = -1;
        char token[128];
        if (login(h, s->email, token, sizeof token)) continue;
        json_t *me, *mb;
        if (httpc_json(h, "GET", "/v1/me", token, NULL, &st, &me) == 0) {
            snprintf(s->name, sizeof s->name, "%s", jstr(me, "name"));
            json_decref(me);
        }
        if (httpc_json(h, "GET", "/v1/me/brands", token, NULL, &st, &mb) == 0) {
            size_t j;
            json_t *m;
            json_array_foreach(json_object_get(mb, "items"), j, m) {
                if (s->nbrands < 4)
                    snprintf(s->brands[s->nbrands++], 64, "%s",
                             jstr(json_object_get(m, "brand"), "id"));
            }
            json_decref(mb);
        }
        json_t *d = json_object_get(devices, s->email);
        json_t *mine;
        int known = 0;
        if (d && httpc_json(h, "GET", "/v1/me/devices", token, NULL, &st, &mine) == 0) {
            size_t j;
            json_t *x;
            json_array_foreach(json_object_get(mine, "items"), j, x)
                known |= strcmp(jstr(x, "id"), jstr(d, "id")) == 0;
            json_decref(mine);
        }
        if (known && hex_decode(jstr(d, "ik"), s->ik, 16) == 0) {
            s->offset = (uint32_t)json_integer_value(json_object_get(d, "offset"));
            s->has_device = 1;
        } else if (register_device(h, token, resolver_pub, s) == 0) {
            json_t *list;
            char ikhex[33];
            hex_encode(s->ik, 16, ikhex);
            const char *id = "";
            if (httpc_json(h, "GET", "/v1/me/devices", token, NULL, &st, &list) == 0) {
                size_t n = json_array_size(json_object_get(list, "items"));
                id = n ? jstr(json_array_get(json_object_get(list, "items"), n - 1), "id") : "";
                json_object_set_new(devices, s->email,
                                    json_pack("{s:s, s:s, s:I}", "id", id, "ik", ikhex, "offset",
                                              (json_int_t)s->offset));
                json_decref(list);
            }
        }
        if (s->has_device) nshop++;
    }
    state_save(state_path, state);
    json_decref(state);
    if (!quiet)
        printf("simulate: %zu shoppers with devices, %d stores; walking them in and out\n", nshop,
               nstores);
    if (display_url[0] && !quiet) printf("simulate: counter display: %s\n", display_url);

    signal(SIGINT, sim_on_signal);
    signal(SIGTERM, sim_on_signal);
    for (long round = 0; !sim_stop && (rounds < 0 || round < rounds); round++) {
        int64_t now = time_now_us() / 1000000;
        /* arrivals and departures */
        for (size_t i = 0; i < nshop; i++) {
            struct sim_shopper *s = &shoppers[i];
            if (s->inside >= 0 && now >= s->leave_at) {
                if (!quiet)
                    printf("  %s leaves %s\n", s->name, stores[s->inside].name);
                s->inside = -1;
            } else if (s->inside < 0 && rnd(100) < 12) {
                int pick = -1;
                if (s->nbrands && rnd(100) < 85) {
                    const char *b = s->brands[rnd((uint32_t)s->nbrands)];
                    int cands[MAX_STORES], nc = 0;
                    for (int k = 0; k < nstores; k++)
                        if (strcmp(stores[k].brand_id, b) == 0) cands[nc++] = k;
                    if (nc) pick = cands[rnd((uint32_t)nc)];
                    /* the demo's counter display is at the first store:
                     * send most of its brand's members there */
                    if (nc && strcmp(stores[0].brand_id, b) == 0 && rnd(100) < 60) pick = 0;
                }
                if (pick < 0) pick = (int)rnd((uint32_t)nstores);
                s->inside = pick;
                s->leave_at = now + 20 + rnd(50);
                if (!quiet)
                    printf("  %s walks into %s, %s\n", s->name, stores[pick].brand_name,
                           stores[pick].name);
            }
        }
        /* each store's scanner posts what it hears: insiders and strangers */
        for (int k = 0; k < nstores; k++) {
            json_t *items = json_array();
            for (size_t i = 0; i < nshop; i++) {
                if (shoppers[i].inside != k) continue;
                char eid[17];
                current_eid_hex(&shoppers[i], eid);
                json_array_append_new(items, json_pack("{s:s, s:i}", "eid", eid, "rssi",
                                                       -50 - (int)rnd(30)));
            }
            for (uint32_t j = rnd(4); j > 0; j--) {
                uint8_t r8[8];
                char eid[17];
                crypto_random(r8, 8);
                hex_encode(r8, 8, eid);
                json_array_append_new(items, json_pack("{s:s, s:i}", "eid", eid, "rssi",
                                                       -70 - (int)rnd(25)));
            }
            json_t *body = json_pack("{s:o}", "sightings", items);
            if (httpc_json(h, "POST", "/v1/sightings", stores[k].scanner, body, &st, NULL) ||
                st != 202)
                fprintf(stderr, "simulate: posting sightings for %s failed (HTTP %ld)\n",
                        stores[k].name, st);
            json_decref(body);
        }
        for (long t = 0; t < interval * 10 && !sim_stop; t++) usleep(100000);
    }
    httpc_free(h);
    return 0;
}
