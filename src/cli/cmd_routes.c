/* cmd_routes.c — `shopkeeper routes`: the route table as JSON, for docs and
 * for the API tests that walk every route (brand isolation). */
#include "cli/cli.h"
#include "http/http.h"

#include <stdio.h>
#include <string.h>

int cmd_routes(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: shopkeeper routes\n\nPrints every HTTP route as a JSON array of\n"
             "{method, pattern, who, roles, summary, body_limit}: body_limit is the\n"
             "largest body the route reads, in bytes, or \"--max-body\" for routes\n"
             "that take bulk (sighting batches, CSV), capped by that flag.");
        return 0;
    }
    static const char *const who[] = {"public", "operator", "staff", "customer", "scanner",
                                      "display", "pos"};
    json_t *out = json_array();
    for (size_t i = 0; i < http_routes_count; i++) {
        const struct route *r = &http_routes[i];
        json_t *w = json_array(), *roles = json_array();
        for (int b = 0; b < 7; b++) {
            if (r->who & (1u << b)) json_array_append_new(w, json_string(who[b]));
            if (b < 6 && (r->roles & (1u << b)))
                json_array_append_new(roles, json_string(role_names[b]));
        }
        size_t body = r->max_body ? r->max_body : BODY_DEFAULT;
        json_t *limit = body == BODY_BULK ? json_string("--max-body") : json_integer((json_int_t)body);
        json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "method", r->method,
                                             "pattern", r->pattern, "who", w, "roles", roles,
                                             "summary", r->summary, "body_limit", limit));
    }
    char *s = json_dumps(out, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(out);
    return 0;
}
