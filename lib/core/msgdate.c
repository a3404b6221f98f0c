/* Message-ID and RFC 5322 Date generation. */
#include <stdio.h>

#include "core_priv.h"

int mox_message_id(const mox_random *r, const char *domain, mox_buf *out)
{
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    if (!domain || !*domain)
        return MOX_ERR_INVAL;
    unsigned char rnd[24];
    int rc = mox_random_fill(r, rnd, sizeof rnd);
    if (rc)
        return rc;
    char id[sizeof rnd + 1];
    for (size_t i = 0; i < sizeof rnd; i++)
        id[i] = b32[rnd[i] & 31];
    id[sizeof rnd] = 0;
    return mox_buf_appendf(out, "<%s@%s>", id, domain);
}

/* Days since 1970-01-01 to civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

int mox_rfc5322_date(int64_t unix_seconds, int tz_offset_min, char *out, size_t outsz)
{
    static const char *const days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (tz_offset_min < -1439 || tz_offset_min > 1439 || !out)
        return MOX_ERR_INVAL;
    int64_t t = unix_seconds + (int64_t)tz_offset_min * 60;
    int64_t daysn = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - daysn * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(daysn, &y, &m, &d);
    if (y < 0 || y > 9999)
        return MOX_ERR_INVAL;
    int wd = (int)(((daysn % 7) + 7) % 7);
    int off = tz_offset_min < 0 ? -tz_offset_min : tz_offset_min;
    int n = snprintf(out, outsz, "%s, %u %s %04lld %02d:%02d:%02d %c%02d%02d", days[wd], d,
                     months[m - 1], (long long)y, (int)(secs / 3600), (int)(secs / 60 % 60),
                     (int)(secs % 60), tz_offset_min < 0 ? '-' : '+', off / 60, off % 60);
    if (n < 0 || (size_t)n >= outsz)
        return MOX_ERR_INVAL;
    return n;
}
