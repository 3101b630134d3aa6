/*
 * timeutil.h — wall time in microseconds and RFC 3339 UTC text.
 * Stored and served times look like 2026-11-22T20:30:00.123Z (milliseconds),
 * which sorts correctly as text.
 */
#ifndef SK_TIMEUTIL_H
#define SK_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_RFC3339_LEN 32

int64_t time_now_us(void);
/* Writes an RFC 3339 UTC time with milliseconds; returns the buffer. */
char *time_fmt_rfc3339(int64_t us, char *buf, size_t len);
/* Parses RFC 3339 (Z or ±hh:mm offset, optional fraction). 0 or SK_EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *ret_us);

#endif
