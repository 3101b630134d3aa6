/* countercode.c — counter codes (see countercode.h). */
#include "core/countercode.h"
#include "util/err.h"

#include <ctype.h>
#include <strings.h>

static const char cc__alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

uint64_t countercode_prefix(const uint8_t eid[EID_LEN])
{
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) v = v << 8 | eid[i];
    return v;
}

void countercode_format(uint64_t prefix40, char ret[COUNTERCODE_DISPLAY])
{
    int o = 0;
    for (int i = 0; i < COUNTERCODE_LEN; i++) {
        if (i == 4) ret[o++] = '-';
        ret[o++] = cc__alphabet[(prefix40 >> (35 - 5 * i)) & 31];
    }
    ret[o] = '\0';
}

static int cc__value(int c)
{
    c = toupper(c);
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    for (int i = 0; i < 32; i++)
        if (cc__alphabet[i] == c) return i;
    return -1;
}

int countercode_parse(const char *s, uint64_t *ret_prefix40)
{
    uint64_t v = 0;
    int n = 0;
    size_t pre = sizeof COUNTERCODE_QR_PREFIX - 1;
    if (strncasecmp(s, COUNTERCODE_QR_PREFIX, pre) == 0) s += pre;
    for (; *s; s++) {
        if (*s == '-' || *s == ' ') continue;
        int d = cc__value((unsigned char)*s);
        if (d < 0 || n == COUNTERCODE_LEN) return SK_EINVAL;
        v = v << 5 | (uint64_t)d;
        n++;
    }
    if (n != COUNTERCODE_LEN) return SK_EINVAL;
    *ret_prefix40 = v;
    return 0;
}
