/*
 * fuzz_text.c — libFuzzer harness: the short texts a client sends in paths,
 * headers and fields: a counter code typed at the till, an email, a slug, a
 * SKU, a date, a role name, an Idempotency-Key, an id or page cursor, a
 * sighting's EID and time, and free text (one line, or paragraphs). The
 * input, up to its first NUL, is one C string.
 */
#include "core/account.h"
#include "core/catalogue.h"
#include "core/choices.h"
#include "core/countercode.h"
#include "core/purpose.h"
#include "core/roles.h"
#include "util/crypto.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    uint64_t prefix;
    if (countercode_parse(s, &prefix) == 0 && prefix >> 40) __builtin_trap(); /* 40 bits */
    char email[EMAIL_MAX + 2];
    if (email_normalize(s, email, sizeof email) && strlen(email) > EMAIL_MAX) __builtin_trap();
    slug_is_valid(s);
    sku_is_valid(s);
    date_is_valid(s);
    role_bit(s);
    idem_key_is_valid(s);    /* the Idempotency-Key header */
    id_is_plausible(s);      /* a path id or a page cursor (?after=) */
    uint8_t eid[8];          /* a sighting's eid: 16 hex digits */
    if (hex_decode(s, eid, sizeof eid) == 0 && strlen(s) != 16) __builtin_trap();
    int64_t t;               /* a sighting's seen_at, a purchase's at */
    time_parse_rfc3339(s, &t);
    int one = text_is_clean(s, 200), lines = text_is_clean_lines(s, 200);
    if (one && !lines) __builtin_trap(); /* paragraphs allow all one line does */
    free(s);
    return 0;
}
