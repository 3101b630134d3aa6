/* ids.c — ids and tokens (see ids.h). */
#include "util/ids.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_uint ids__counter;

int id_new(const char *prefix, char ret[ID_MAX])
{
    uint8_t rnd[6];
    char rhex[13];
    if (crypto_random(rnd, sizeof rnd)) return SK_ECRYPTO;
    hex_encode(rnd, sizeof rnd, rhex);
    unsigned long long ms = (unsigned long long)(time_now_us() / 1000);
    unsigned c = atomic_fetch_add(&ids__counter, 1) & 0xffffu;
    snprintf(ret, ID_MAX, "%s_%012llx%04x%s", prefix, ms & 0xffffffffffffULL, c, rhex);
    return 0;
}

int id_pack(const char *s, uint8_t ret[ID_PACKED])
{
    if (strlen(s) != 4 + 2 * ID_PACKED || s[3] != '_') return SK_EINVAL;
    return hex_decode(s + 4, ret, ID_PACKED) ? SK_EINVAL : 0;
}

void id_unpack(const char *prefix, const uint8_t packed[ID_PACKED], char ret[ID_MAX])
{
    char hex[2 * ID_PACKED + 1];
    hex_encode(packed, ID_PACKED, hex);
    snprintf(ret, ID_MAX, "%.3s_%s", prefix, hex);
}

int token_new(char ret[TOKEN_MAX])
{
    uint8_t rnd[32];
    char b64[48];
    if (crypto_random(rnd, sizeof rnd)) return SK_ECRYPTO;
    b64url_encode(rnd, sizeof rnd, b64);
    snprintf(ret, TOKEN_MAX, "sk_%s", b64);
    return 0;
}

void token_hash(const char *token, char ret[TOKEN_HASH_MAX])
{
    uint8_t h[32];
    crypto_sha256(token, strlen(token), h);
    hex_encode(h, sizeof h, ret);
}

int id_is_plausible(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
