/* card.c — card assembly under the customer's grants (see card.h). */
#include "core/card.h"
#include "core/choices.h"

#include <stdio.h>
#include <string.h>

static void card__field(char *fields, size_t len, const char *name)
{
    size_t n = strlen(fields);
    snprintf(fields + n, len - n, "%s%s", n ? " " : "", name);
}

static int card__in_dont(json_t *dont, const char *key)
{
    size_t i;
    json_t *d;
    json_array_foreach(dont, i, d) {
        const char *s = json_string_value(d);
        if (s && strcmp(s, key) == 0) return 1;
    }
    return 0;
}

json_t *card_build(const struct card_input *in, char *ret_fields, size_t len)
{
    ret_fields[0] = '\0';
    json_t *card = json_pack("{s:s, s:s, s:s, s:s, s:b}", "visit", in->visit_id, "store",
                             in->store_id, "channel", in->channel, "opened_at", in->opened_at,
                             "served", in->served);
    json_t *customer = json_object();
    if (in->name && purpose_set_has(in->granted, "recognition")) {
        json_object_set_new(customer, "name", json_string(in->name));
        card__field(ret_fields, len, "name");
    }
    json_object_set_new(card, "customer", customer);
    if (purpose_set_has(in->granted, "preferences")) {
        json_t *list = json_array();
        if (in->answers) {
            json_t *visible = answers_visible(in->choices, in->answers, in->granted);
            size_t i;
            json_t *def;
            /* in the brand's order of choices */
            json_array_foreach(in->choices, i, def) {
                const char *key = json_string_value(json_object_get(def, "key"));
                json_t *v = json_object_get(visible, key);
                /* an answer the shopper marked "never ask me this" is shown
                 * only on the don't-list, never also as an answer */
                if (!v || card__in_dont(in->dont, key)) continue;
                json_array_append_new(list, json_pack("{s:s, s:O, s:O}", "key", key, "label",
                                                      json_object_get(def, "label"), "value", v));
            }
            json_decref(visible);
        }
        json_t *dont = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(in->dont, i, d) {
            /* a choice key reads as its label: "don't ask: Wants a receipt" */
            json_t *def = choices_find(in->choices, json_string_value(d));
            json_array_append(dont, def ? json_object_get(def, "label") : d);
        }
        json_object_set_new(card, "choices", list);
        json_object_set_new(card, "dont", dont);
        if (json_array_size(list)) card__field(ret_fields, len, "choices");
        if (json_array_size(dont)) card__field(ret_fields, len, "dont");
    }
    if (purpose_set_has(in->granted, "suggestions"))
        json_object_set_new(card, "suggestions", json_array());
    return card;
}

json_t *card_from_data(json_t *data, const struct card_input *in, char *ret_fields, size_t len,
                       int *ret_recognised)
{
    struct purpose_set granted;
    purpose_set_init(&granted);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(data, "purposes"), i, p)
        purpose_set_add(&granted, json_string_value(p));
    struct card_input full = *in;
    full.name = json_string_value(json_object_get(data, "name"));
    full.choices = json_object_get(data, "choices");
    full.answers = json_object_get(data, "answers");
    full.dont = json_object_get(data, "dont");
    full.granted = &granted;
    *ret_recognised = purpose_set_has(&granted, "recognition");
    return card_build(&full, ret_fields, len);
}

static void fields_add(char *fields, size_t len, const char *what)
{
    size_t n = strlen(fields);
    if (n < len) snprintf(fields + n, len - n, "%s%s", n ? " " : "", what);
}

int card_add_suggestions(json_t *card, json_t *list, json_t *usual, char *ret_fields, size_t len)
{
    if (json_object_get(card, "suggestions") && json_array_size(list)) {
        json_object_set(card, "suggestions", list);
        fields_add(ret_fields, len, "suggestions");
    }
    if (!usual) return 0;
    json_t *choices = json_object_get(card, "choices"), *c;
    size_t i;
    json_array_foreach(choices, i, c) {
        const char *key = json_string_value(json_object_get(c, "key"));
        if (key && strcmp(key, "usual") == 0) return 0;
    }
    if (!choices) {
        choices = json_array();
        json_object_set_new(card, "choices", choices);
    }
    json_array_append_new(choices, json_pack("{s:s, s:s, s:O}", "key", "usual", "label", "The usual",
                                             "value", json_object_get(usual, "title")));
    fields_add(ret_fields, len, "usual");
    return 1;
}
