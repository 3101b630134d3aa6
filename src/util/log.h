/*
 * log.h — structured log lines on stderr, one event per line:
 *   ts=2026-11-22T20:30:00.123Z level=info event=http.request method=GET ...
 * Callers pass key/value string pairs ending with NULL. Never pass a secret:
 * tokens, passwords, keys and request bodies have no place in a log line.
 */
#ifndef SK_LOG_H
#define SK_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level level);
int log_parse_level(const char *s, enum log_level *ret);
void log_kv(enum log_level level, const char *event, ...);

#endif
