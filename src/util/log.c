/*
 * log.c — key=value log lines (see log.h). Values with spaces, quotes or '='
 * are quoted; control characters are escaped so one event stays one line.
 * A mutex keeps lines from different threads whole.
 */
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level log__level = LOG_INFO;
static pthread_mutex_t log__mu = PTHREAD_MUTEX_INITIALIZER;
static const char *const log__names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { log__level = level; }

int log_parse_level(const char *s, enum log_level *ret)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, log__names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static void log__value(FILE *f, const char *v)
{
    if (!v) {
        fputs("-", f);
        return;
    }
    int quote = (*v == '\0') || strpbrk(v, " \"=\t\r\n") != NULL;
    if (quote) fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
    if (quote) fputc('"', f);
}

void log_kv(enum log_level level, const char *event, ...)
{
    if (level < log__level) return;
    char ts[40];
    time_fmt_rfc3339(time_now_us(), ts, sizeof ts);
    pthread_mutex_lock(&log__mu);
    fprintf(stderr, "ts=%s level=%s event=", ts, log__names[level]);
    log__value(stderr, event);
    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        fprintf(stderr, " %s=", k);
        log__value(stderr, v);
    }
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log__mu);
}
