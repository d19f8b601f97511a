/*
 * Run schedules: fixed intervals ("6h", "1h30m") and 5-field cron
 * expressions evaluated in UTC.  Pure functions, no global state, safe
 * from any thread.
 */
#include "schedule.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- durations ---------------------------------------------------------- */

static long unit_seconds(char u)
{
    switch (u) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 3600;
    case 'd':
        return 86400;
    default:
        return 0;
    }
}

long schedule_parse_duration(const char *s, char *err, unsigned long errlen)
{
    long total = 0;
    const char *p = s;
    if (!s || !*s) {
        snprintf(err, errlen, "empty duration (write e.g. 90s, 6h, 1h30m)");
        return -1;
    }
    while (*p) {
        long n = 0;
        if (!isdigit((unsigned char)*p)) {
            snprintf(err, errlen,
                     "bad duration \"%s\": expected a number at \"%s\" "
                     "(write e.g. 90s, 6h, 1h30m)",
                     s, p);
            return -1;
        }
        while (isdigit((unsigned char)*p)) {
            if (n > (LONG_MAX - 9) / 10)
                goto overflow;
            n = n * 10 + (*p++ - '0');
        }
        long unit = unit_seconds(*p);
        if (!unit) {
            if (*p)
                snprintf(err, errlen,
                         "bad duration \"%s\": unknown unit '%c' (use s, m, "
                         "h or d)",
                         s, *p);
            else
                snprintf(err, errlen,
                         "bad duration \"%s\": missing unit after %ld (use "
                         "s, m, h or d)",
                         s, n);
            return -1;
        }
        p++;
        if (n > (LONG_MAX - total) / unit)
            goto overflow;
        total += n * unit;
    }
    if (total <= 0) {
        snprintf(err, errlen, "bad duration \"%s\": must be positive", s);
        return -1;
    }
    return total;
overflow:
    snprintf(err, errlen, "bad duration \"%s\": too large", s);
    return -1;
}

/* ---- cron parsing ------------------------------------------------------- */

struct cron_field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] stands for lo + i, or NULL */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
                                          "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec", NULL};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed",
                                         "thu", "fri", "sat", NULL};

/* Day-of-week accepts 7 for Sunday, so its range is 0-7. */
static const struct cron_field fields[5] = {
    {"minute", 0, 59, NULL},           {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},     {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, wday_names},
};

/* Reads one value (number or name) at *pp; advances *pp. */
static int parse_value(const struct cron_field *f, int idx, const char **pp,
                       int *out, char *err, unsigned long errlen)
{
    const char *p = *pp;
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        if (v < f->lo || v > f->hi) {
            snprintf(err, errlen, "field %d (%s): %ld is out of range %d-%d",
                     idx + 1, f->name, v, f->lo, f->hi);
            return -1;
        }
        *out = (int)v;
        *pp = p;
        return 0;
    }
    for (int i = 0; f->names && f->names[i]; i++) {
        if (strncasecmp(p, f->names[i], 3) == 0 &&
            !isalpha((unsigned char)p[3])) {
            *out = f->lo + i;
            *pp = p + 3;
            return 0;
        }
    }
    snprintf(err, errlen, "field %d (%s): unexpected \"%s\"", idx + 1, f->name,
             p);
    return -1;
}

static int parse_step(const struct cron_field *f, int idx, const char **pp,
                      int *step, char *err, unsigned long errlen)
{
    const char *p = *pp;
    long v = 0;
    *step = 1;
    if (*p != '/')
        return 0;
    p++;
    if (!isdigit((unsigned char)*p)) {
        snprintf(err, errlen, "field %d (%s): expected a number after '/'",
                 idx + 1, f->name);
        return -1;
    }
    while (isdigit((unsigned char)*p) && v < 1000)
        v = v * 10 + (*p++ - '0');
    if (v < 1 || v > f->hi) {
        snprintf(err, errlen, "field %d (%s): step %ld is out of range 1-%d",
                 idx + 1, f->name, v, f->hi);
        return -1;
    }
    *step = (int)v;
    *pp = p;
    return 0;
}

/* One comma-separated item: "*", "*\/n", "a", "a-b", "a-b/n", "a/n". */
static int parse_item(const struct cron_field *f, int idx, const char *item,
                      uint64_t *bits, char *err, unsigned long errlen)
{
    const char *p = item;
    int a = f->lo, b = f->hi, step;
    if (*p == '*') {
        p++;
    } else {
        if (parse_value(f, idx, &p, &a, err, errlen) < 0)
            return -1;
        b = a;
        if (*p == '-') {
            p++;
            if (parse_value(f, idx, &p, &b, err, errlen) < 0)
                return -1;
            if (b < a) {
                snprintf(err, errlen,
                         "field %d (%s): range %d-%d goes backwards", idx + 1,
                         f->name, a, b);
                return -1;
            }
        } else if (*p == '/') {
            b = f->hi; /* "a/n": from a to the end, every n */
        }
    }
    if (parse_step(f, idx, &p, &step, err, errlen) < 0)
        return -1;
    if (*p) {
        snprintf(err, errlen, "field %d (%s): unexpected \"%s\" in \"%s\"",
                 idx + 1, f->name, p, item);
        return -1;
    }
    for (int v = a; v <= b; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

static int parse_field(int idx, const char *text, uint64_t *bits, char *err,
                       unsigned long errlen)
{
    const struct cron_field *f = &fields[idx];
    char buf[128];
    *bits = 0;
    if (strlen(text) >= sizeof buf) {
        snprintf(err, errlen, "field %d (%s): too long", idx + 1, f->name);
        return -1;
    }
    strcpy(buf, text);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        if (parse_item(f, idx, item, bits, err, errlen) < 0)
            return -1;
    }
    if (!*bits || text[0] == ',' || text[strlen(text) - 1] == ',' ||
        strstr(text, ",,")) {
        snprintf(err, errlen, "field %d (%s): empty list item in \"%s\"",
                 idx + 1, f->name, text);
        return -1;
    }
    return 0;
}

static const char *expand_macro(const char *s)
{
    static const struct {
        const char *name, *expr;
    } macros[] = {
        {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (strcasecmp(s, macros[i].name) == 0)
            return macros[i].expr;
    return NULL;
}

/* Splits on blanks into at most 6 fields (6 = too many). */
static int split_fields(const char *s, char f[6][128])
{
    int n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " \t");
        if (n == 6)
            return 7;
        snprintf(f[n++], 128, "%.*s", (int)(len < 127 ? len : 127), p);
        p += len;
    }
    return n;
}

int cron_parse(const char *s, struct cron_expr *out, char *err,
               unsigned long errlen)
{
    char f[6][128];
    uint64_t bits[5];
    const char *macro = s ? expand_macro(s) : NULL;
    int n = split_fields(macro ? macro : (s ? s : ""), f);
    if (n != 5) {
        snprintf(err, errlen,
                 "expected 5 fields (minute hour day-of-month month "
                 "day-of-week), got %s%d",
                 n > 6 ? "more than " : "", n > 6 ? 6 : n);
        return -1;
    }
    for (int i = 0; i < 5; i++)
        if (parse_field(i, f[i], &bits[i], err, errlen) < 0)
            return -1;
    memset(out, 0, sizeof *out);
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    /* 7 is Sunday too */
    out->wdays = (uint8_t)((bits[4] & 0x7f) | ((bits[4] >> 7) & 1));
    /* Like Vixie cron: a field starting with '*' ("*", "*\/2") counts as
     * unrestricted for the day-of-month / day-of-week OR rule. */
    out->mday_star = f[2][0] == '*';
    out->wday_star = f[4][0] == '*';
    return 0;
}

/* ---- cron evaluation ---------------------------------------------------- */

static bool day_matches(const struct cron_expr *c, const struct tm *tm)
{
    bool dom = c->mdays >> tm->tm_mday & 1;
    bool dow = c->wdays >> tm->tm_wday & 1;
    /* Both restricted: either may match.  Otherwise both must (the '*'
     * one always does). */
    if (!c->mday_star && !c->wday_star)
        return dom || dow;
    return dom && dow;
}

time_t cron_next(const struct cron_expr *c, time_t after)
{
    struct tm tm;
    time_t t = after - (((after % 60) + 60) % 60) + 60;
    time_t limit = after + (time_t)5 * 366 * 86400;
    if (!c->minutes || !c->hours || !c->mdays || !c->months || !c->wdays)
        return (time_t)-1;
    while (t <= limit) {
        if (!gmtime_r(&t, &tm))
            return (time_t)-1;
        if (!(c->months >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!(c->hours >> tm.tm_hour & 1)) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!(c->minutes >> tm.tm_min & 1)) {
            tm.tm_min++;
        } else {
            return t;
        }
        tm.tm_sec = 0;
        t = timegm(&tm); /* normalises overflowed fields */
    }
    return (time_t)-1;
}

time_t schedule_next(const struct schedule *s, time_t after)
{
    switch (s->kind) {
    case SCHEDULE_EVERY:
        return s->every_seconds > 0 ? after + s->every_seconds : (time_t)-1;
    case SCHEDULE_CRON:
        return cron_next(&s->cron, after);
    default:
        return (time_t)-1;
    }
}
