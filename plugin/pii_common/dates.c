/* Calendar dates as written in cells, for the birth-date recognizer and
 * to keep dates out of the phone recognizer. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "pii_internal.h"

bool pii_real_date(int y, int m, int d)
{
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= DAYS[m - 1] + (m == 2 && leap);
}

/* Reads 1..max digits (at least min) into *v; returns the count or 0. */
static int read_num(const char *s, int min, int max, int *v)
{
    int n = 0;
    *v = 0;
    while (n < max && isdigit((unsigned char)s[n]))
        *v = *v * 10 + (s[n++] - '0');
    return n >= min && !isdigit((unsigned char)s[n]) ? n : 0;
}

/* ISO 8601 time part after the date: [T ]HH:MM[:SS[.fff]][Z|±HH[:MM]]. */
static bool iso_time_tail(const char *p)
{
    int h, mi, sec, n;
    if (*p == '\0')
        return true;
    if (*p != 'T' && *p != ' ')
        return false;
    p++;
    if (!(n = read_num(p, 2, 2, &h)) || h > 23 || p[2] != ':' ||
        !(n = read_num(p + 3, 2, 2, &mi)) || mi > 59)
        return false;
    p += 5;
    if (*p == ':') {
        if (!read_num(p + 1, 2, 2, &sec) || sec > 60)
            return false;
        p += 3;
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return false;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (*p == 'Z')
        return p[1] == '\0';
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (!read_num(p + 1, 2, 2, &oh) || oh > 14)
            return false;
        p += 3;
        if (*p == ':')
            p++;
        if (*p && (!read_num(p, 2, 2, &om) || om > 59 || p[2]))
            return false;
        return true;
    }
    return *p == '\0';
}

/* Y-M-D (ISO 8601, also with '/') with an optional time; sets y/m/d. */
static bool parse_ymd(const char *s, int *y, int *m, int *d)
{
    char sep = s[4];
    if (!read_num(s, 4, 4, y) || (sep != '-' && sep != '/'))
        return false;
    int nm = read_num(s + 5, 2, 2, m);
    if (!nm || s[7] != sep || !read_num(s + 8, 2, 2, d))
        return false;
    return iso_time_tail(s + 10);
}

/* D/M/Y, D.M.Y, D-M-Y or M/D/Y (US, slash only) with a four-digit year:
 * the day-first reading is tried first, the month-first one only when
 * the day-first reading is impossible. */
static bool parse_dmy(const char *s, int *y, int *m, int *d)
{
    int a, b, na, nb;
    if (!(na = read_num(s, 1, 2, &a)))
        return false;
    char sep = s[na];
    if (sep != '/' && sep != '.' && sep != '-')
        return false;
    if (!(nb = read_num(s + na + 1, 1, 2, &b)) || s[na + 1 + nb] != sep)
        return false;
    const char *ys = s + na + nb + 2;
    if (read_num(ys, 4, 4, y) != 4 || ys[4] != '\0')
        return false;
    if (pii_real_date(*y, b, a)) {
        *d = a;
        *m = b;
        return true;
    }
    *d = b;
    *m = a;
    return sep == '/' && pii_real_date(*y, a, b);
}

static bool parse_date(const char *s, int *y, int *m, int *d)
{
    if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]))
        return parse_ymd(s, y, m, d) && pii_real_date(*y, *m, *d);
    return parse_dmy(s, y, m, d);
}

bool pii_looks_like_date(const char *s)
{
    int y, m, d;
    return parse_date(s, &y, &m, &d);
}

static int current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm))
        return 9999;
    return tm.tm_year + 1900;
}

bool pii_valid_birth_date(const char *s)
{
    int y, m, d;
    if (!parse_date(s, &y, &m, &d))
        return false;
    return y >= 1900 && y <= current_year();
}
