/* timeutil.c — clock and RFC 3339 formatting/parsing (see timeutil.h). */
#include "util/timeutil.h"
#include "util/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *time_fmt_rfc3339(int64_t us, char *buf, size_t len)
{
    time_t secs = (time_t)(us / 1000000);
    int ms = (int)((us % 1000000) / 1000);
    if (us < 0 && us % 1000000) {
        secs -= 1;
        ms = (int)((us % 1000000 + 1000000) / 1000);
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

static int time__digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return SK_EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t time__days(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int time_parse_rfc3339(const char *s, int64_t *ret_us)
{
    int y, mo, d, h, mi, se;
    const char *p = s;
    if (time__digits(&p, 4, &y) || *p++ != '-' || time__digits(&p, 2, &mo) ||
        *p++ != '-' || time__digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return SK_EINVAL;
    p++;
    if (time__digits(&p, 2, &h) || *p++ != ':' || time__digits(&p, 2, &mi) ||
        *p++ != ':' || time__digits(&p, 2, &se))
        return SK_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 60)
        return SK_EINVAL;
    int64_t frac_us = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        int64_t scale = 100000;
        while (isdigit((unsigned char)*p)) {
            if (n < 6) frac_us += (*p - '0') * scale;
            scale /= 10;
            p++;
            n++;
        }
        if (n == 0) return SK_EINVAL;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (time__digits(&p, 2, &oh) || *p++ != ':' || time__digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            return SK_EINVAL;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return SK_EINVAL;
    }
    if (*p) return SK_EINVAL;
    int64_t secs = time__days(y, mo, d) * 86400 + h * 3600 + mi * 60 + (se > 59 ? 59 : se) - off;
    *ret_us = secs * 1000000 + frac_us;
    return 0;
}
