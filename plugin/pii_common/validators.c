/* Structure and checksum validators of the strong PII types.  Each takes
 * the value as written in the cell and answers only from the value. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "pii_internal.h"

int pii_digits(const char *s, const char *seps, char *out, size_t max)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (n == max)
                return -1;
            out[n++] = *s;
        } else if (!seps || !strchr(seps, *s)) {
            return -1;
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* Digits written in groups: every separator is the same single character
 * from `seps`, between two digits, and no group is shorter than
 * min_group.  Catches "4111--1111" and "4 1 1 1" shapes. */
static bool grouped_digits(const char *s, const char *seps, int min_group)
{
    char sep = 0;
    int group = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            group++;
            continue;
        }
        if (!strchr(seps, *p) || group < min_group || (sep && *p != sep))
            return false;
        sep = *p;
        group = 0;
    }
    return group >= min_group || (group > 0 && !sep);
}

/* ---- e-mail ---------------------------------------------------------- */

/* RFC 5322 atext plus the dot of dot-atom. */
static bool local_char(unsigned char c)
{
    return isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~-.", c);
}

/* RFC 5321 4.5.3.1.1: local part at most 64 octets; dot-atom: no leading,
 * trailing or doubled dot. */
static bool valid_local_part(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!local_char((unsigned char)s[i]) ||
            (s[i] == '.' && s[i + 1] == '.'))
            return false;
    return true;
}

/* RFC 1035 labels: 1-63 letters, digits, hyphens, no hyphen at either
 * end; at least two labels; the last (TLD) is two or more letters or an
 * IDNA "xn--" label; the whole domain at most 253 octets. */
static bool valid_domain(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            unsigned char c = (unsigned char)s[i];
            if (!isalnum(c) && c != '-')
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || s[start] == '-' || s[i - 1] == '-')
            return false;
        labels++;
        if (i == n) {
            if (len >= 4 && strncasecmp(s + start, "xn--", 4) == 0)
                break;
            for (size_t k = start; k < i; k++)
                if (!isalpha((unsigned char)s[k]))
                    return false;
            if (len < 2)
                return false;
        }
        start = i + 1;
    }
    return labels >= 2;
}

bool pii_valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@'))
        return false;
    size_t total = strlen(s);
    if (total > 254) /* RFC 5321 4.5.3.1.3 path limit less the brackets */
        return false;
    return valid_local_part(s, (size_t)(at - s)) &&
           valid_domain(at + 1, total - (size_t)(at - s) - 1);
}

/* ---- IBAN ------------------------------------------------------------ */

/* IBAN lengths from the SWIFT IBAN registry (all SEPA countries and the
 * other registered ones). */
static const struct {
    char cc[3];
    unsigned char len;
} IBAN_LEN[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20},
    {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28},
    {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
    {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
    {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
    {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18},
    {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
    {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23},
    {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
    {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

static int iban_length(const char *cc)
{
    for (size_t i = 0; i < sizeof IBAN_LEN / sizeof IBAN_LEN[0]; i++)
        if (cc[0] == IBAN_LEN[i].cc[0] && cc[1] == IBAN_LEN[i].cc[1])
            return IBAN_LEN[i].len;
    return 0;
}

/* Electronic form: spaces dropped, uppercase letters and digits only.
 * Spaces are accepted only as the 4-character print grouping. */
static int iban_compact(const char *s, char *out, size_t max)
{
    size_t n = 0, group = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ') {
            if (group != 4)
                return -1;
            group = 0;
            continue;
        }
        if (!isdigit((unsigned char)*p) && !(*p >= 'A' && *p <= 'Z'))
            return -1;
        if (n == max)
            return -1;
        out[n++] = *p;
        group++;
    }
    out[n] = '\0';
    return (int)n;
}

/* ISO 13616: move the first four characters to the end, letters to
 * 10..35, and the number mod 97 must be 1 (computed piecewise). */
static bool iban_mod97(const char *iban, size_t n)
{
    unsigned r = 0;
    for (size_t i = 0; i < n; i++) {
        char c = iban[(i + 4) % n];
        if (isdigit((unsigned char)c))
            r = (r * 10 + (unsigned)(c - '0')) % 97;
        else
            r = (r * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    return r == 1;
}

bool pii_valid_iban(const char *s)
{
    char b[40];
    int n = iban_compact(s, b, sizeof b - 1);
    if (n < 15 || !isupper((unsigned char)b[0]) ||
        !isupper((unsigned char)b[1]) || !isdigit((unsigned char)b[2]) ||
        !isdigit((unsigned char)b[3]))
        return false;
    /* Check digits 00, 01 and 99 can never come out of the computation. */
    if ((b[2] == '0' && b[3] <= '1') || (b[2] == '9' && b[3] == '9'))
        return false;
    return n == iban_length(b) && iban_mod97(b, (size_t)n);
}

/* ---- payment card ---------------------------------------------------- */

/* ISO/IEC 7812-1 Annex B: the Luhn mod-10 check over all digits. */
static bool luhn(const char *d, int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static int prefix_num(const char *d, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

/* Issuer identification ranges and their PAN lengths, as published by
 * the networks (Visa, Mastercard, Amex, Discover, JCB, Diners, Maestro,
 * UnionPay, Mir). */
static const struct {
    int digits, lo, hi, minlen, maxlen;
} CARD_RANGES[] = {
    {1, 4, 4, 13, 19},       /* Visa: 13, 16, 19 checked below */
    {2, 51, 55, 16, 16},     /* Mastercard */
    {4, 2221, 2720, 16, 16}, /* Mastercard 2-series */
    {2, 34, 34, 15, 15},     /* American Express */
    {2, 37, 37, 15, 15},     /* American Express */
    {4, 6011, 6011, 16, 19}, /* Discover */
    {3, 644, 649, 16, 19},   /* Discover */
    {2, 65, 65, 16, 19},     /* Discover */
    {4, 3528, 3589, 16, 19}, /* JCB */
    {3, 300, 305, 14, 19},   /* Diners Club */
    {4, 3095, 3095, 14, 19}, /* Diners Club */
    {2, 36, 36, 14, 19},     /* Diners Club International */
    {2, 38, 39, 16, 19},     /* Diners Club */
    {4, 5018, 5018, 13, 19}, /* Maestro */
    {4, 5020, 5020, 13, 19}, /* Maestro */
    {4, 5038, 5038, 13, 19}, /* Maestro */
    {4, 5893, 5893, 13, 19}, /* Maestro */
    {4, 6304, 6304, 13, 19}, /* Maestro */
    {4, 6759, 6759, 13, 19}, /* Maestro UK */
    {4, 6761, 6763, 13, 19}, /* Maestro */
    {2, 62, 62, 16, 19},     /* UnionPay */
    {4, 2200, 2204, 16, 19}, /* Mir */
};

static bool card_issuer_ok(const char *d, int n)
{
    if (d[0] == '4') /* Visa issues 13, 16 and 19 digits only */
        return n == 13 || n == 16 || n == 19;
    for (size_t i = 1; i < sizeof CARD_RANGES / sizeof CARD_RANGES[0]; i++) {
        int p = prefix_num(d, CARD_RANGES[i].digits);
        if (p >= CARD_RANGES[i].lo && p <= CARD_RANGES[i].hi &&
            n >= CARD_RANGES[i].minlen && n <= CARD_RANGES[i].maxlen)
            return true;
    }
    return false;
}

bool pii_valid_credit_card(const char *s)
{
    char d[24];
    if (!grouped_digits(s, " -", 3))
        return false;
    int n = pii_digits(s, " -", d, 19);
    return n >= 13 && card_issuer_ok(d, n) && luhn(d, n);
}

/* ---- US SSN ---------------------------------------------------------- */

/* SSA rules: area 000, 666 and 900-999 are never issued, group 00 and
 * serial 0000 neither; 078-05-1120 and 219-09-9999 were voided after
 * appearing in advertising. */
bool pii_valid_us_ssn(const char *s)
{
    char d[12];
    size_t len = strlen(s);
    if (len == 11) {
        if (s[3] != s[6] || (s[3] != '-' && s[3] != ' '))
            return false;
    } else if (len != 9) {
        return false;
    }
    if (pii_digits(s, len == 11 ? "- " : "", d, 9) != 9)
        return false;
    int area = prefix_num(d, 3), group = prefix_num(d + 3, 2);
    int serial = prefix_num(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    return strcmp(d, "078051120") != 0 && strcmp(d, "219099999") != 0;
}

/* ---- FR NIR ---------------------------------------------------------- */

/* INSEE NIR: sex (1 or 2), year, month (01-12; 20-42 and 50-99 are the
 * conventional months of people whose birth month is unknown),
 * department (2A/2B for Corsica), commune, order, then a two-digit key
 * = 97 - (13-digit number mod 97), where 2A counts as 19 and 2B as 18. */
bool pii_valid_fr_nir(const char *s)
{
    char c[16];
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ')
            continue;
        if (n == 15 || !(isdigit((unsigned char)*p) || *p == 'A' || *p == 'B'))
            return false;
        c[n++] = *p;
    }
    if (n != 15 || (c[0] != '1' && c[0] != '2'))
        return false;
    for (size_t i = 0; i < 15; i++)
        if (!isdigit((unsigned char)c[i]) && !(i == 6 && c[5] == '2'))
            return false;
    int month = prefix_num(c + 3, 2);
    if (!((month >= 1 && month <= 12) || (month >= 20 && month <= 42) ||
          month >= 50))
        return false;
    if (prefix_num(c + 10, 3) == 0) /* order numbers start at 001 */
        return false;
    unsigned long long num = 0;
    for (size_t i = 0; i < 13; i++) {
        if (i == 5 && (c[6] == 'A' || c[6] == 'B')) {
            num = num * 100 + (c[6] == 'A' ? 19 : 18);
            i++;
            continue;
        }
        num = num * 10 + (unsigned)(c[i] - '0');
    }
    int key = prefix_num(c + 13, 2);
    return key == (int)(97 - num % 97);
}

/* ---- ES NIF / NIE ---------------------------------------------------- */

/* Ministerio del Interior: the control letter is
 * "TRWAGMYFPDXBNJZSQVHLCKE"[number mod 23]; an NIE's X, Y, Z count as
 * 0, 1, 2 in front of its seven digits.  A dash or space may precede the
 * letter. */
bool pii_valid_es_nif(const char *s)
{
    static const char LETTERS[] = "TRWAGMYFPDXBNJZSQVHLCKE";
    char d[10];
    size_t n = 0;
    const char *p = s;
    if (*p == 'X' || *p == 'Y' || *p == 'Z')
        d[n++] = (char)('0' + (*p++ - 'X'));
    while (isdigit((unsigned char)*p) && n < 8)
        d[n++] = *p++;
    if (n != 8)
        return false;
    if (*p == '-' || *p == ' ')
        p++;
    if (!*p || p[1] || !isupper((unsigned char)*p))
        return false;
    d[8] = '\0';
    unsigned long v = strtoul(d, NULL, 10);
    return LETTERS[v % 23] == *p;
}

/* ---- IT codice fiscale ----------------------------------------------- */

/* DM 23/12/1976: positions 7-8, 10-11 and 13-15 are digits, or letters
 * LMNPQRSTUV when omocodia replaced them. */
static bool cf_digit_slot(char c)
{
    return isdigit((unsigned char)c) || (c && strchr("LMNPQRSTUV", c));
}

static int cf_slot_value(char c)
{
    return isdigit((unsigned char)c)
               ? c - '0'
               : (int)(strchr("LMNPQRSTUV", c) - "LMNPQRSTUV");
}

/* Odd (1-based) positions go through this table, even ones count 0-9
 * for digits and 0-25 for letters; the sum mod 26 is the check letter. */
static int cf_odd_value(char c)
{
    static const int ODD[26] = {1,  0,  5,  7,  9,  13, 15, 17, 19,
                                21, 2,  4,  18, 20, 11, 3,  6,  8,
                                12, 14, 16, 10, 22, 25, 24, 23};
    return ODD[isdigit((unsigned char)c) ? c - '0' : c - 'A'];
}

static bool cf_shape(const char *s)
{
    static const int DIGIT_POS[] = {6, 7, 9, 10, 12, 13, 14};
    for (int i = 0; i < 16; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
            return false;
    for (int i = 0; i < 6; i++)
        if (!isupper((unsigned char)s[i]))
            return false;
    for (size_t i = 0; i < 7; i++)
        if (!cf_digit_slot(s[DIGIT_POS[i]]))
            return false;
    if (!strchr("ABCDEHLMPRST", s[8]) || !isupper((unsigned char)s[11]) ||
        !isupper((unsigned char)s[15]))
        return false;
    /* day of month, +40 for women */
    int day = cf_slot_value(s[9]) * 10 + cf_slot_value(s[10]);
    return (day >= 1 && day <= 31) || (day >= 41 && day <= 71);
}

bool pii_valid_it_fiscal_code(const char *s)
{
    if (strlen(s) != 16 || !cf_shape(s))
        return false;
    int sum = 0;
    for (int i = 0; i < 15; i++) {
        char c = s[i];
        if (i % 2 == 0)
            sum += cf_odd_value(c);
        else
            sum += isdigit((unsigned char)c) ? c - '0' : c - 'A';
    }
    return s[15] == 'A' + sum % 26;
}

/* ---- UK NHS number --------------------------------------------------- */

/* NHS Data Dictionary: weights 10..2 on the first nine digits, check =
 * 11 - (sum mod 11), 11 becomes 0 and 10 means the number is invalid.
 * Written 3-3-4 with spaces or dashes, or as ten digits. */
bool pii_valid_uk_nhs(const char *s)
{
    char d[12];
    size_t len = strlen(s);
    if (len == 12 &&
        !((s[3] == ' ' && s[7] == ' ') || (s[3] == '-' && s[7] == '-')))
        return false;
    if ((len != 10 && len != 12) || pii_digits(s, " -", d, 10) != 10)
        return false;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (d[i] - '0') * (10 - i);
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    return check != 10 && check == d[9] - '0';
}

/* ---- PL PESEL -------------------------------------------------------- */

/* Ustawa o ewidencji ludności: YYMMDD where the month carries the
 * century (+80 for 1800s, +0 1900s, +20 2000s, +40 2100s, +60 2200s),
 * then a serial and a check digit with weights 1,3,7,9,1,3,7,9,1,3. */
bool pii_valid_pl_pesel(const char *s)
{
    static const int W[10] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
    char d[12];
    if (strlen(s) != 11 || pii_digits(s, "", d, 11) != 11)
        return false;
    int yy = prefix_num(d, 2), mm = prefix_num(d + 2, 2);
    int dd = prefix_num(d + 4, 2);
    static const int CENTURY[5] = {1900, 2000, 2100, 2200, 1800};
    int year = CENTURY[(mm / 20) % 5] + yy;
    if (!pii_real_date(year, mm % 20, dd))
        return false;
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += W[i] * (d[i] - '0');
    return (10 - sum % 10) % 10 == d[10] - '0';
}

/* ---- DE Steuer-Identifikationsnummer --------------------------------- */

/* Since 2016 (BZSt): in the first ten digits exactly one digit occurs
 * twice or three times, every other digit at most once, and a triple may
 * not stand three in a row. */
static bool de_tax_digit_rule(const char *d)
{
    int count[10] = {0}, repeated = 0;
    for (int i = 0; i < 10; i++)
        count[d[i] - '0']++;
    for (int k = 0; k < 10; k++) {
        if (count[k] > 3)
            return false;
        if (count[k] >= 2)
            repeated++;
    }
    if (repeated != 1)
        return false;
    for (int i = 0; i + 2 < 10; i++)
        if (d[i] == d[i + 1] && d[i] == d[i + 2])
            return false;
    return true;
}

/* ISO 7064 MOD 11,10 check digit over the first ten digits. */
static int iso7064_mod11_10(const char *d, int n)
{
    int product = 10;
    for (int i = 0; i < n; i++) {
        int sum = (d[i] - '0' + product) % 10;
        if (sum == 0)
            sum = 10;
        product = (sum * 2) % 11;
    }
    int check = 11 - product;
    return check == 10 ? 0 : check;
}

bool pii_valid_de_tax_id(const char *s)
{
    char d[12];
    if (pii_digits(s, " ", d, 11) != 11 || d[0] == '0')
        return false;
    return de_tax_digit_rule(d) && iso7064_mod11_10(d, 10) == d[10] - '0';
}

/* ---- IP and MAC ------------------------------------------------------ */

/* Dotted quad, each part 0-255 without leading zeros (RFC 6943 warns
 * that "010" is octal to some parsers: not a canonical address). */
static bool valid_ipv4(const char *s)
{
    int parts = 0;
    const char *p = s;
    while (parts < 4) {
        int v = 0, n = 0;
        while (isdigit((unsigned char)p[n]) && n < 4)
            v = v * 10 + (p[n++] - '0');
        if (n == 0 || n > 3 || v > 255 || (n > 1 && p[0] == '0'))
            return false;
        p += n;
        parts++;
        if (parts < 4 && *p++ != '.')
            return false;
    }
    return *p == '\0';
}

bool pii_valid_ip(const char *s)
{
    if (valid_ipv4(s))
        return true;
    struct in6_addr a6;
    return strchr(s, ':') && inet_pton(AF_INET6, s, &a6) == 1;
}

/* IEEE 802 MAC-48: six hex pairs joined by ':' or '-' (one kind), or
 * three dot-separated groups of four hex digits (Cisco). */
bool pii_valid_mac(const char *s)
{
    size_t len = strlen(s);
    if (len == 17) {
        char sep = s[2];
        if (sep != ':' && sep != '-')
            return false;
        for (size_t i = 0; i < 17; i++)
            if (i % 3 == 2 ? s[i] != sep : !isxdigit((unsigned char)s[i]))
                return false;
        return true;
    }
    if (len == 14) {
        for (size_t i = 0; i < 14; i++)
            if (i % 5 == 4 ? s[i] != '.' : !isxdigit((unsigned char)s[i]))
                return false;
        return true;
    }
    return false;
}

bool pii_validate(pii_entity e, const char *s)
{
    switch (e) {
    case PII_EMAIL:
        return pii_valid_email(s);
    case PII_PHONE:
        return pii_valid_phone(s, NULL);
    case PII_IBAN:
        return pii_valid_iban(s);
    case PII_CREDIT_CARD:
        return pii_valid_credit_card(s);
    case PII_US_SSN:
        return pii_valid_us_ssn(s);
    case PII_FR_NIR:
        return pii_valid_fr_nir(s);
    case PII_ES_NIF:
        return pii_valid_es_nif(s);
    case PII_IT_FISCAL_CODE:
        return pii_valid_it_fiscal_code(s);
    case PII_UK_NHS:
        return pii_valid_uk_nhs(s);
    case PII_PL_PESEL:
        return pii_valid_pl_pesel(s);
    case PII_DE_TAX_ID:
        return pii_valid_de_tax_id(s);
    case PII_IP_ADDRESS:
        return pii_valid_ip(s);
    case PII_MAC_ADDRESS:
        return pii_valid_mac(s);
    case PII_DATE_OF_BIRTH:
        return pii_valid_birth_date(s);
    default:
        return true; /* weak shapes: the match is the validation */
    }
}
