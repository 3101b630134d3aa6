/*
 * fuzz_json.c — libFuzzer harness: a JSON body through the validation each
 * route runs on it, in process. The first byte picks the validator (the
 * brand's choices, a shopper's answers and don't-list against real choices,
 * a catalogue item, a purchase, a staff member's roles); the rest is the
 * body as a client would send it. Any crash, leak or sanitizer report is a
 * finding; a refusal (SK_EINVAL with a message) is the expected answer.
 */
#include "core/catalogue.h"
#include "core/choices.h"
#include "core/roles.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char demo_choices[] =
    "[{\"key\":\"usual\",\"label\":\"Regular order\",\"kind\":\"choice\","
    "\"options\":[\"Tall Drip\",\"Flat White\"]},"
    "{\"key\":\"cream\",\"label\":\"Room for cream\",\"kind\":\"yesno\"},"
    "{\"key\":\"cup\",\"label\":\"Name on the cup\",\"kind\":\"text\"},"
    "{\"key\":\"authors\",\"label\":\"Authors\",\"kind\":\"text\",\"purpose\":\"suggestions\"}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned which = data[0] % 5;
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!in) return 0;
    char err[256];
    json_t *out = NULL;
    switch (which) {
    case 0: /* PUT /v1/brands/{brand}/choices */
        if (choices_validate(json_is_object(in) ? json_object_get(in, "choices") : in, &out, err,
                             sizeof err) == 0) {
            /* what was accepted validates again, unchanged */
            json_t *again = NULL;
            if (choices_validate(out, &again, err, sizeof err) != 0 || !json_equal(out, again))
                __builtin_trap();
            json_decref(again);
        }
        break;
    case 1: { /* PUT /v1/me/brands/{brand}/preferences */
        json_t *defs = json_loads(demo_choices, 0, NULL), *norm = NULL, *dont = NULL;
        if (defs && choices_validate(defs, &norm, err, sizeof err) == 0 && json_is_object(in))
            if (answers_validate(norm, json_object_get(in, "answers"),
                                 json_object_get(in, "dont"), &dont, err, sizeof err) == 0)
                json_decref(dont);
        json_decref(norm);
        json_decref(defs);
        break;
    }
    case 2: /* PUT /v1/brands/{brand}/items/{sku} */
        if (item_normalize(in, "", &out, err, sizeof err) == 0 &&
            !json_is_string(json_object_get(out, "title")))
            __builtin_trap();
        break;
    case 3: /* POST /v1/brands/{brand}/purchases */
        if (purchase_normalize(in, 1764000000000000LL, &out, err, sizeof err) == 0 &&
            !json_is_array(json_object_get(out, "lines")))
            __builtin_trap();
        break;
    case 4: /* POST and PATCH /v1/brands/{brand}/staff: roles and stores */
        if (json_is_object(in) && grants_normalize(in, &out, err, sizeof err) == 0) {
            struct staff_grant g[GRANTS_MAX];
            size_t n = grants_from_json(out, g);
            if (n != json_array_size(out)) __builtin_trap();
        }
        break;
    }
    json_decref(out);
    json_decref(in);
    return 0;
}
