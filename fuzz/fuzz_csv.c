/*
 * fuzz_csv.c — libFuzzer harness: a CSV import body (POST
 * /v1/brands/{brand}/items/import, `shopkeeper import`) through the CSV
 * reader, each record turned into an item the way the import maps a header
 * to fields, and through the price and date parsers the purchase import uses.
 * The reader must always advance, end, or refuse with a line number.
 */
#include "core/catalogue.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv c;
    csv_init(&c, (const char *)data, size);
    json_t *header = NULL, *rec;
    size_t line = 0, last_off = 0, records = 0;
    int r;
    while ((r = csv_next(&c, &rec, &line)) == 1) {
        size_t off = csv_offset(&c, (const char *)data);
        if (off <= last_off || off > size) __builtin_trap(); /* always advances, within the input */
        last_off = off;
        if (!header) {
            header = rec;
            continue;
        }
        json_t *item = json_object();
        for (size_t i = 0; i < json_array_size(header) && i < json_array_size(rec); i++) {
            const char *k = json_string_value(json_array_get(header, i));
            json_t *v = json_array_get(rec, i);
            if (k && !json_is_null(v)) json_object_set(item, k, v);
            int64_t cents;
            if (json_is_string(v)) {
                price_from_text(json_string_value(v), &cents);
                date_is_valid(json_string_value(v));
                sku_is_valid(json_string_value(v));
            }
        }
        char err[256];
        json_t *out = NULL;
        if (item_normalize(item, "", &out, err, sizeof err) == 0) json_decref(out);
        json_decref(item);
        json_decref(rec);
        if (++records > 100000) break;
    }
    json_decref(header);
    return 0;
}
