/* h_system.c — health and the list of purposes. */
#include "http/handlers.h"
#include "core/purpose.h"

#ifndef SHOPKEEPER_VERSION
#define SHOPKEEPER_VERSION "dev"
#endif

void h_healthz(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    resp_json(resp, 200,
              json_pack("{s:s, s:s, s:s}", "status", "ok", "version", SHOPKEEPER_VERSION,
                        "store", app->st->ops->name));
}

void h_purposes(struct app *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    (void)req;
    json_t *items = json_array();
    for (int i = 0; i < PURPOSE_FIXED_COUNT; i++)
        json_array_append_new(items, json_pack("{s:s, s:s}", "name", purpose_names[i],
                                               "explanation", purpose_explain(purpose_names[i])));
    json_array_append_new(items, json_pack("{s:s, s:s}", "name", "partner:<brand>",
                                           "explanation", purpose_explain("partner:x")));
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
}
