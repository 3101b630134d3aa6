/*
 * db.c — what every engine's driver shares (see db.h): the variadic entry
 * points, the end of a write, and the placeholder rewrite for PostgreSQL.
 */
#include "store/db.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int db_exec(struct dbc *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = c->drv->execv(c, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int db_rows(struct dbc *c, json_t **ret, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = c->drv->rowsv(c, ret, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int db_row(struct dbc *c, json_t **ret, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = c->drv->rowv(c, ret, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int db_query(struct dbc *c, struct db_cur **ret, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = c->drv->queryv(c, ret, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int db_tx_end(struct dbc *c, int rc)
{
    if (rc == 0) rc = c->drv->tx_commit(c);
    if (rc) c->drv->tx_rollback(c);
    return rc;
}

int db_is_pg(const char *s)
{
    if (!s) return 0;
    if (!strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11)) return 1;
    /* key=value pairs: a keyword, '=' (a file name may hold '=' too, but
     * not after one of these words) */
    static const char *const words[] = {"host=", "dbname=", "port=", "user=", "service=",
                                        "hostaddr="};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(s, words[i]) == s || (strstr(s, words[i]) && strstr(s, words[i])[-1] == ' '))
            return 1;
    return 0;
}

int db_read_begin(struct dbc *c)
{
    return db_exec(c,
                   c->drv->engine == DB_POSTGRES
                       ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                       : "BEGIN",
                   NULL);
}

void db_read_end(struct dbc *c) { c->drv->tx_rollback(c); }

/* `?` takes the number after the highest one so far (SQLite's rule), `?N`
 * is N; text in single quotes, double-quoted names and -- comments are
 * copied as they are. */
int db_placeholders_pg(const char *sql, char *buf, size_t len)
{
    size_t n = 0;
    int highest = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0; /* a doubled quote reopens at once: same result */
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (p[0] == '-' && p[1] == '-') {
            size_t skip = strcspn(p, "\n");
            if (n + skip >= len) return -1;
            memcpy(buf + n, p, skip);
            n += skip;
            p += skip - 1;
            continue;
        } else if (*p == '?') {
            int num = 0;
            if (p[1] >= '0' && p[1] <= '9') {
                while (p[1] >= '0' && p[1] <= '9') {
                    num = num * 10 + (*++p - '0');
                    if (num > 32766) return -1;
                }
                if (num == 0) return -1;
            } else {
                num = highest + 1;
            }
            if (num > highest) highest = num;
            int w = snprintf(buf + n, len > n ? len - n : 0, "$%d", num);
            if (w < 0 || n + (size_t)w >= len) return -1;
            n += (size_t)w;
            continue;
        }
        if (n + 1 >= len) return -1;
        buf[n++] = *p;
    }
    if (n >= len) return -1;
    buf[n] = '\0';
    return highest;
}
