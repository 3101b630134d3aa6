/* account.c — account field rules (see account.h). */
#include "core/account.h"

#include <ctype.h>
#include <string.h>

int email_normalize(const char *s, char *ret, size_t len)
{
    size_t n = strlen(s);
    if (n < 3 || n > EMAIL_MAX || n >= len) return 0;
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || !at[1] || !strchr(at + 1, '.')) return 0;
    if (at[strlen(at) - 1] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) return 0;
    }
    for (size_t i = 0; i < n; i++) ret[i] = (char)tolower((unsigned char)s[i]);
    ret[n] = '\0';
    return 1;
}

int role_is_valid(const char *name)
{
    static const char *const roles[] = {"admin", "manager", "counter", "agent", "team_manager",
                                        "comms"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(name, roles[i]) == 0) return 1;
    return 0;
}
