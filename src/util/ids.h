/*
 * ids.h — opaque identifiers and bearer tokens.
 *
 * An id is "<prefix>_<12 hex: ms since epoch><4 hex: per-process counter>
 * <12 hex: random>": unique, roughly time-ordered (so "after" cursors page in
 * creation order), and opaque to clients. A token is "sk_" followed by 256
 * random bits in base64url; only its SHA-256 (token_hash) is ever stored.
 */
#ifndef SK_IDS_H
#define SK_IDS_H

#include <stddef.h>
#include <stdint.h>

#define ID_MAX 48
#define TOKEN_MAX 64
#define TOKEN_HASH_MAX 65

int id_new(const char *prefix, char ret[ID_MAX]);
/* An id made by id_new with a 3-letter prefix, in 14 bytes (for tables of
 * millions of entries); SK_EINVAL when s is not such an id. */
#define ID_PACKED 14
int id_pack(const char *s, uint8_t ret[ID_PACKED]);
void id_unpack(const char *prefix, const uint8_t packed[ID_PACKED], char ret[ID_MAX]);
int token_new(char ret[TOKEN_MAX]);
void token_hash(const char *token, char ret[TOKEN_HASH_MAX]);
/* 1 if s looks like an id or slug we could have issued: [A-Za-z0-9_-]{1,64}. */
int id_is_plausible(const char *s);

#endif
