/*
 * account.h — rules for account fields shared by the API and the CLI.
 */
#ifndef SK_ACCOUNT_H
#define SK_ACCOUNT_H

#include <stddef.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX 200
#define NAME_MAX_CHARS 100
#define EMAIL_MAX 254

/* one-time password links: a forgotten password's reset, a staff invitation */
#define PWLINK_RESET_TTL_S (30 * 60)
#define PWLINK_INVITE_TTL_S (7 * 24 * 3600)

/* 1 if s looks like an email address; its lower-cased form goes to ret. */
int email_normalize(const char *s, char *ret, size_t len);
/* 1 if name is a staff role: admin, manager, counter, agent, team_manager,
 * comms. */
int role_is_valid(const char *name);

#endif
