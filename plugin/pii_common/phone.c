/* Phone numbers: E.164 with a known country calling code, and the
 * national formats of FR, DE, ES, IT, NL, BE, UK and US with each
 * country's length rules (ITU-T E.164 and the national numbering plans:
 * ARCEP, BNetzA, CNMC, AGCOM, ACM, BIPT, Ofcom, NANPA). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pii_internal.h"

#define MAX_GROUPS 12

/* How the number was written. */
struct phone_shape {
    char d[24]; /* the digits, NUL-terminated, "(0)" trunk dropped */
    int n;
    bool plus;
    int groups[MAX_GROUPS];
    int ngroups;
};

/* ITU-T E.164 assigned country codes (Complement to Rec. E.164).  The
 * plan is prefix-free, so the first match is the code. */
static const char *const CC12[] = {
    "1",  "7",  "20", "27", "30", "31", "32", "33", "34", "36", "39", "40",
    "41", "43", "44", "45", "46", "47", "48", "49", "51", "52", "53", "54",
    "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
    "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
static const struct {
    short lo, hi;
} CC3[] = {{211, 213}, {216, 216}, {218, 218}, {220, 258}, {260, 269},
           {290, 291}, {297, 299}, {350, 359}, {370, 383}, {385, 387},
           {389, 389}, {420, 421}, {423, 423}, {500, 509}, {590, 599},
           {670, 670}, {672, 683}, {685, 692}, {800, 800}, {808, 808},
           {850, 850}, {852, 853}, {855, 856}, {870, 870}, {878, 878},
           {880, 883}, {886, 886}, {888, 888}, {960, 968}, {970, 977},
           {979, 979}, {992, 996}, {998, 998}};

/* Length of the country code at the start of d, 0 when unassigned. */
static int country_code_len(const char *d)
{
    for (size_t i = 0; i < sizeof CC12 / sizeof CC12[0]; i++)
        if (strncmp(d, CC12[i], strlen(CC12[i])) == 0)
            return (int)strlen(CC12[i]);
    if (!isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
        !isdigit((unsigned char)d[2]))
        return 0;
    int v = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
    for (size_t i = 0; i < sizeof CC3 / sizeof CC3[0]; i++)
        if (v >= CC3[i].lo && v <= CC3[i].hi)
            return 3;
    return 0;
}

/* ---- national significant numbers, as written after the country code */

static bool nsn_fr(const char *n, int len) /* 9 digits, 1-9 first */
{
    return len == 9 && n[0] >= '1' && n[0] <= '9';
}

/* Mobile 15x/16x/17x: 10 or 11 digits; geographic areas start 2-9 and
 * the whole number has 6 to 11 digits; other 01x are services. */
static bool nsn_de(const char *n, int len)
{
    if (n[0] == '1')
        return (n[1] == '5' || n[1] == '6' || n[1] == '7') && len >= 10 &&
               len <= 11;
    return n[0] >= '2' && n[0] <= '9' && len >= 6 && len <= 11;
}

static bool nsn_es(const char *n, int len) /* 9 digits, 6-9 first */
{
    return len == 9 && n[0] >= '6' && n[0] <= '9';
}

/* Italy dials the leading 0 of landlines even from abroad: mobiles are
 * 3xx with 9-10 digits, landlines 0 + 6..10 digits. */
static bool nsn_it(const char *n, int len)
{
    if (n[0] == '3')
        return len >= 9 && len <= 10;
    return n[0] == '0' && len >= 7 && len <= 11;
}

static bool nsn_nl(const char *n, int len) /* 9 digits */
{
    return len == 9 && n[0] >= '1' && n[0] <= '9';
}

/* 8 digits, or 9 for mobiles 45x-49x. */
static bool nsn_be(const char *n, int len)
{
    if (n[0] == '4')
        return len == 9 && n[1] >= '5';
    return len == 8 && n[0] >= '1' && n[0] <= '9';
}

/* 10 digits: 1/2 geographic, 3 non-geographic, 5/8/9 special, 7 mobile. */
static bool nsn_uk(const char *n, int len)
{
    return len == 10 && strchr("1235789", n[0]);
}

/* NANP: NXX NXX XXXX with N = 2-9. */
static bool nsn_us(const char *n, int len)
{
    return len == 10 && n[0] >= '2' && n[3] >= '2';
}

struct country {
    const char *cc;  /* calling code */
    const char *iso; /* ISO 3166 code */
    bool trunk0;     /* national form is 0 + NSN */
    bool (*nsn)(const char *, int);
};

static const struct country COUNTRIES[] = {
    {"33", "FR", true, nsn_fr},  {"49", "DE", true, nsn_de},
    {"34", "ES", false, nsn_es}, {"39", "IT", false, nsn_it},
    {"31", "NL", true, nsn_nl},  {"32", "BE", true, nsn_be},
    {"44", "GB", true, nsn_uk},  {"1", "US", false, nsn_us},
};
#define NCOUNTRIES (sizeof COUNTRIES / sizeof COUNTRIES[0])

static void set_country(char country[3], const char *iso)
{
    if (country)
        snprintf(country, 3, "%s", iso);
}

/* After "+" or "00": E.164 allows at most 15 digits; below 8 no public
 * number exists in practice.  Countries we know get their own rule. */
static bool valid_international(const char *d, int n, char country[3])
{
    if (n < 8 || n > 15)
        return false;
    int ccl = country_code_len(d);
    if (ccl == 0)
        return false;
    for (size_t i = 0; i < NCOUNTRIES; i++) {
        if ((int)strlen(COUNTRIES[i].cc) != ccl ||
            strncmp(d, COUNTRIES[i].cc, (size_t)ccl) != 0)
            continue;
        if (!COUNTRIES[i].nsn(d + ccl, n - ccl))
            return false;
        set_country(country, COUNTRIES[i].iso);
        return true;
    }
    return true;
}

/* National form in one country: trunk 0 + NSN, Spain and Italy without a
 * trunk prefix, NANP with an optional leading 1. */
static bool national_in(const struct country *c, const char *d, int n)
{
    if (c->trunk0)
        return d[0] == '0' && n > 1 && c->nsn(d + 1, n - 1);
    if (c->nsn == nsn_us && n == 11 && d[0] == '1')
        return c->nsn(d + 1, 10);
    return c->nsn(d, n);
}

/* The French write their ten digits as five pairs. */
static bool french_pairs(const struct phone_shape *sh)
{
    if (sh->ngroups != 5)
        return false;
    for (int i = 0; i < 5; i++)
        if (sh->groups[i] != 2)
            return false;
    return true;
}

static bool valid_national(const struct phone_shape *sh, char country[3])
{
    const char *iso = NULL;
    int matches = 0;
    for (size_t i = 0; i < NCOUNTRIES; i++) {
        if (national_in(&COUNTRIES[i], sh->d, sh->n)) {
            matches++;
            if (!iso)
                iso = COUNTRIES[i].iso;
        }
    }
    if (matches == 0)
        return false;
    if (matches == 1 || (strcmp(iso, "FR") == 0 && french_pairs(sh)))
        set_country(country, iso);
    return true;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '/';
}

/* Closes the current digit group. */
static void end_group(struct phone_shape *sh, int *group)
{
    if (*group > 0 && sh->ngroups < MAX_GROUPS)
        sh->groups[sh->ngroups++] = *group;
    *group = 0;
}

/* One character of the number; false when it breaks the writing rules:
 * a separator sits between digits (or a parenthesis), parentheses hold
 * 1-5 digits and do not nest. */
static bool phone_char(const char *p, const char *s, struct phone_shape *sh,
                       int *group, const char **open)
{
    char prev = p > s ? p[-1] : 0;
    if (isdigit((unsigned char)*p)) {
        if (sh->n >= (int)sizeof sh->d - 1)
            return false;
        sh->d[sh->n++] = *p;
        (*group)++;
        return true;
    }
    end_group(sh, group);
    if (is_sep(*p))
        return (isdigit((unsigned char)prev) || prev == ')') &&
               (isdigit((unsigned char)p[1]) || p[1] == '(');
    if (*p == '(') {
        *open = p;
        return isdigit((unsigned char)p[1]);
    }
    if (*p == ')') {
        if (!*open || !isdigit((unsigned char)prev) || p - *open > 6)
            return false;
        /* "+44 (0)20 ...": the bracketed trunk 0 is not dialled */
        if (sh->plus && p - *open == 2 && prev == '0')
            sh->n--;
        *open = NULL;
        return true;
    }
    return false;
}

static bool phone_parse(const char *s, struct phone_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    const char *p = s, *open = NULL;
    int group = 0;
    if (*p == '+') {
        sh->plus = true;
        p++;
    }
    for (; *p; p++) {
        if (*p == '(' && open)
            return false;
        if (!phone_char(p, s, sh, &group, &open))
            return false;
    }
    end_group(sh, &group);
    sh->d[sh->n] = '\0';
    return !open && sh->n >= 6;
}

bool pii_valid_phone(const char *s, char country[3])
{
    struct phone_shape sh;
    set_country(country, "");
    if (strlen(s) > 32 || !phone_parse(s, &sh) || pii_looks_like_date(s))
        return false;
    if (sh.plus)
        return valid_international(sh.d, sh.n, country);
    if (sh.d[0] == '0' && sh.d[1] == '0')
        return valid_international(sh.d + 2, sh.n - 2, country);
    return valid_national(&sh, country);
}
