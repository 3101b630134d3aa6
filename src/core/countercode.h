/*
 * countercode.h — the short code a shopper shows at the counter.
 *
 * The code is the top 40 bits of the device's current EID, written as 8
 * characters of Crockford's base32 (0-9, A-Z without I, L, O, U) and shown as
 * "ABCD-EFGH". It is as public as the EID the device already broadcasts,
 * changes with it, and resolves through the same index for the current
 * window and its neighbours. Reading it back forgives case, spaces, dashes
 * and the look-alikes O/0 and I/L/1.
 */
#ifndef SK_COUNTERCODE_H
#define SK_COUNTERCODE_H

#include "core/eid.h"

#include <stdint.h>

#define COUNTERCODE_LEN 8
#define COUNTERCODE_DISPLAY 10 /* "ABCD-EFGH" + NUL */
/* What the device's QR code carries before the code, for a counter scanner */
#define COUNTERCODE_QR_PREFIX "SHOPKEEPER:"

uint64_t countercode_prefix(const uint8_t eid[EID_LEN]);
void countercode_format(uint64_t prefix40, char ret[COUNTERCODE_DISPLAY]);
/* 0 with the 40-bit prefix; SK_EINVAL when s is not a code. Takes a code as
 * typed (any case, dashes, spaces, look-alikes) or as the QR code carries it
 * (COUNTERCODE_QR_PREFIX first, in any case). */
int countercode_parse(const char *s, uint64_t *ret_prefix40);

#endif
