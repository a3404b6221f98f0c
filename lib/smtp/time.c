/* RFC 3339 date-times, as FUTURERELEASE's HOLDUNTIL (RFC 4865 §3) and the
 * FUTURERELEASE EHLO keyword's max-hold-datetime use them. */
#include <stdio.h>
#include <string.h>

#include "smtp_priv.h"

static int digits(const char *p, size_t n, size_t at, size_t k, int *v)
{
    if (at + k > n)
        return -1;
    int x = 0;
    for (size_t i = 0; i < k; i++) {
        if (!moxi_is_digit(p[at + i]))
            return -1;
        x = x * 10 + (p[at + i] - '0');
    }
    *v = x;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int mox_smtp_rfc3339_parse(const char *p, size_t n, int64_t *unix_s)
{
    int Y, M, D, h, m, sec;
    if (!p || !unix_s)
        return MOX_ERR_SYNTAX;
    if (n < 20 || digits(p, n, 0, 4, &Y) || p[4] != '-' || digits(p, n, 5, 2, &M) ||
        p[7] != '-' || digits(p, n, 8, 2, &D) || (p[10] != 'T' && p[10] != 't') ||
        digits(p, n, 11, 2, &h) || p[13] != ':' || digits(p, n, 14, 2, &m) || p[16] != ':' ||
        digits(p, n, 17, 2, &sec))
        return MOX_ERR_SYNTAX;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
        return MOX_ERR_SYNTAX;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return MOX_ERR_SYNTAX;
    size_t i = 19;
    if (i < n && p[i] == '.') {
        i++;
        size_t st = i;
        while (i < n && moxi_is_digit(p[i]))
            i++;
        if (i == st)
            return MOX_ERR_SYNTAX;
    }
    int off = 0;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) {
        int oh, om;
        if (digits(p, n, i + 1, 2, &oh) || i + 3 >= n || p[i + 3] != ':' ||
            digits(p, n, i + 4, 2, &om) || oh > 23 || om > 59)
            return MOX_ERR_SYNTAX;
        off = (oh * 60 + om) * (p[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return MOX_ERR_SYNTAX;
    }
    if (i != n)
        return MOX_ERR_SYNTAX;
    if (sec == 60)
        sec = 59;
    *unix_s = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - (int64_t)off * 60;
    return MOX_OK;
}

int mox_smtp_rfc3339_format(int64_t t, char *out, size_t cap)
{
    if (!out || cap == 0)
        return MOX_ERR_LIMIT;
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    if (y < 0 || y > 9999) {
        out[0] = 0;
        return MOX_ERR_LIMIT;
    }
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
                     (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60));
    if (n < 0 || (size_t)n >= cap) {
        out[0] = 0;
        return MOX_ERR_LIMIT;
    }
    return n;
}
