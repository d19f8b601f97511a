/*
 * Value hashes (keyed SipHash of the normalised text), their 16-hex text
 * form, and the numeric view of numbers and times used for range pruning.
 */
#include "fk.h"
#include "profile_common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int fk_hash_value(const uint8_t key[16], fk_class c, const char *value,
                  uint64_t *out)
{
    char buf[256];
    size_t n = fk_normalise(c, value, buf, sizeof buf);
    if (n < sizeof buf) {
        *out = prof_siphash24(key, buf, n);
        return 0;
    }
    /* Long values (text keys are rarely this long) go through the heap
     * rather than being cut, which would merge distinct values. */
    char *big = malloc(n + 1);
    if (!big)
        return -1;
    fk_normalise(c, value, big, n + 1);
    *out = prof_siphash24(key, big, n);
    free(big);
    return 0;
}

void fk_key_from_string(const char *passphrase, uint8_t key[16])
{
    prof_key_from_string(passphrase, key);
}

void fk_hash_hex(uint64_t h, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[h & 15];
        h >>= 4;
    }
    out[16] = '\0';
}

int fk_hash_parse(const char *hex, uint64_t *out)
{
    uint64_t h = 0;
    if (hex == NULL)
        return -1;
    for (int i = 0; i < 16; i++) {
        int c = (unsigned char)hex[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        h = h << 4 | (uint64_t)d;
    }
    if (hex[16] != '\0')
        return -1;
    *out = h;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static double days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (double)(era * 146097 + doe - 719468);
}

/* Reads exactly `n` digits; -1 if any is missing. */
static long digits_n(const char **p, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

/* "HH:MM[:SS[.frac]]" -> seconds; -1 when malformed. */
static double parse_time(const char **p)
{
    long hh = digits_n(p, 2);
    if (hh < 0 || *(*p)++ != ':')
        return -1;
    long mm = digits_n(p, 2);
    if (mm < 0)
        return -1;
    double ss = 0;
    if (**p == ':') {
        char *end;
        (*p)++;
        ss = strtod(*p, &end);
        if (end == *p)
            return -1;
        *p = end;
    }
    return (double)hh * 3600 + (double)mm * 60 + ss;
}

/* "", "Z", "+02", "-05:30", "+0530" -> seconds east of UTC; 1 if bad. */
static int parse_offset(const char *p, double *off)
{
    *off = 0;
    while (*p == ' ')
        p++;
    if (*p == '\0' || strcmp(p, "Z") == 0)
        return 0;
    if (*p != '+' && *p != '-')
        return 1;
    int sign = *p++ == '-' ? -1 : 1;
    long hh = digits_n(&p, 2), mm = 0;
    if (hh < 0)
        return 1;
    if (*p == ':')
        p++;
    if (*p && (mm = digits_n(&p, 2)) < 0)
        return 1;
    *off = sign * ((double)hh * 3600 + (double)mm * 60);
    return *p != '\0';
}

static int temporal_number(const char *s, double *out)
{
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    double secs = 0, off;
    if (p[0] && p[1] && p[2] == ':') { /* a time of day */
        if ((secs = parse_time(&p)) < 0 || parse_offset(p, &off))
            return -1;
        *out = secs - off;
        return 0;
    }
    int neg = *p == '-';
    p += neg;
    long y = digits_n(&p, 4);
    if (y < 0 || *p++ != '-')
        return -1;
    long m = digits_n(&p, 2);
    if (m < 1 || m > 12 || *p++ != '-')
        return -1;
    long d = digits_n(&p, 2);
    if (d < 1 || d > 31)
        return -1;
    if (*p == ' ' || *p == 'T') {
        p++;
        if ((secs = parse_time(&p)) < 0)
            return -1;
    }
    if (parse_offset(p, &off))
        return -1;
    *out = days_from_civil(neg ? -y : y, m, d) * 86400.0 + secs - off;
    return 0;
}

int fk_value_number(fk_class c, const char *value, double *out)
{
    if (value == NULL)
        return -1;
    if (c == FK_CLASS_TEMPORAL)
        return temporal_number(value, out);
    if (c != FK_CLASS_INTEGER && c != FK_CLASS_DECIMAL)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == value || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}
