/*
 * Canonical text of a value per type class, so that the engine's text
 * form of equal values hashes equally across columns of one family
 * (int4 "7" vs numeric "7.00", char(10) padding, uuid case).
 */
#include "fk.h"

#include <ctype.h>
#include <string.h>

/* Appends to a bounded buffer, counting what would have been written. */
struct sink {
    char *out;
    size_t cap, len;
};

static void put(struct sink *s, char c)
{
    if (s->len + 1 < s->cap)
        s->out[s->len] = c;
    s->len++;
}

static void put_n(struct sink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(s, p[i]);
}

static size_t finish(struct sink *s)
{
    if (s->cap > 0)
        s->out[s->len < s->cap ? s->len : s->cap - 1] = '\0';
    return s->len;
}

/* [*b, *e) without ASCII white space at both ends. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

static int all_digits(const char *b, const char *e)
{
    for (const char *p = b; p < e; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return 1;
}

/* sign? digits ( '.' digits? )?  with at least one digit; else 0. */
static int number_norm(struct sink *s, const char *b, const char *e)
{
    int neg = 0;
    if (b < e && (*b == '-' || *b == '+'))
        neg = *b++ == '-';
    const char *dot = memchr(b, '.', (size_t)(e - b));
    const char *ie = dot ? dot : e;
    const char *fb = dot ? dot + 1 : e;
    if ((ie == b && fb == e) || !all_digits(b, ie) || !all_digits(fb, e))
        return 0;
    while (b < ie && *b == '0')
        b++;
    const char *fe = e;
    while (fe > fb && fe[-1] == '0')
        fe--;
    if (b == ie && fe == fb) {
        put(s, '0'); /* -0, +0.000, 000 */
        return 1;
    }
    if (neg)
        put(s, '-');
    if (b == ie)
        put(s, '0');
    put_n(s, b, (size_t)(ie - b));
    if (fe > fb) {
        put(s, '.');
        put_n(s, fb, (size_t)(fe - fb));
    }
    return 1;
}

static int is_uuid_shaped(const char *b, const char *e)
{
    if (e - b != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? b[i] != '-' : !isxdigit((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

static void lower_copy(struct sink *s, const char *b, const char *e)
{
    for (const char *p = b; p < e; p++)
        put(s, (char)tolower((unsigned char)*p));
}

/* 'T' between a date and a time becomes ' ' (ISO 8601 both ways). */
static void temporal_copy(struct sink *s, const char *b, const char *e)
{
    for (const char *p = b; p < e; p++) {
        int sep = *p == 'T' && p - b == 10 && b[4] == '-' && b[7] == '-';
        put(s, sep ? ' ' : *p);
    }
}

size_t fk_normalise(fk_class c, const char *value, char *out, size_t outlen)
{
    struct sink s = {out, outlen, 0};
    const char *b = value ? value : "";
    const char *e = b + strlen(b);
    if (c == FK_CLASS_OTHER) {
        put_n(&s, b, (size_t)(e - b));
        return finish(&s);
    }
    trim(&b, &e);
    switch (c) {
    case FK_CLASS_INTEGER:
    case FK_CLASS_DECIMAL:
        if (!number_norm(&s, b, e))
            put_n(&s, b, (size_t)(e - b));
        break;
    case FK_CLASS_UUID:
        lower_copy(&s, b, e);
        break;
    case FK_CLASS_TEXT:
        if (is_uuid_shaped(b, e))
            lower_copy(&s, b, e);
        else
            put_n(&s, b, (size_t)(e - b));
        break;
    case FK_CLASS_TEMPORAL:
        temporal_copy(&s, b, e);
        break;
    default:
        put_n(&s, b, (size_t)(e - b));
    }
    return finish(&s);
}
