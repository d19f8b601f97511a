/* Whole-value recognizers: one anchored PCRE2 pattern per entity, run
 * only when a one-pass character prefilter says the value could be that
 * entity, then the entity's validator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pii_internal.h"

/* Person names: 1-4 capitalised words (accents, O'Brien, Jean-Pierre,
 * McDonald, DUPONT), lowercase particles (de, van, von...) and initials
 * between them, "Smith, John" too. */
#define NAME_WORD                                                              \
    "(?:\\p{Lu}(?:\\p{Ll}+(?:\\p{Lu}\\p{Ll}+)?|\\p{Lu}+)?"                     \
    "(?:['\\x{2019}\\-]\\p{Lu}?(?:\\p{Ll}+|\\p{Lu}+))*|\\p{Lu}\\.)"
#define NAME_PARTICLE                                                          \
    "(?:de|da|di|du|del|della|der|den|des|van|von|la|le|y|e|dos|das|do|"       \
    "zu|ten|ter|bin|ibn|al)"
#define NAME_RE NAME_WORD "(?:,? (?:" NAME_PARTICLE " ){0,2}" NAME_WORD "){0,3}"

/* Postal addresses: a house number and a street word (EN, FR, DE, ES,
 * IT, PT), in either order; German compounds end in -straße, -weg... */
#define ADDR_NUM                                                               \
    "(?<![\\p{L}\\d])(?:\\d{1,5}[a-z]?|n[o\\x{b0}\\x{ba}]?\\.? ?\\d{1,5}|"     \
    "#\\d{1,5})(?![\\p{L}\\d])"
#define ADDR_WORD                                                              \
    "(?:a(?:venue|ve|v|vda|ll[e\\x{e9}]e)|b(?:oulevard|lvd|d|vd)|"             \
    "c(?:ourt|t|ircle|ir|lose|rescent|hemin|hauss[e\\x{e9}]e|ours|alle|/|"     \
    "amino|arrera|orso|ontrada)|d(?:rive|r|amm)|estrada|faubourg|gasse|"       \
    "h(?:ighway|wy)|impasse|l(?:ane|n|oop|argo)|"                              \
    "p(?:lace|l|laza|arkway|kwy|aseo|iazzale|iazza|latz)|quai|"                \
    "r(?:oad|d|ue|oute|ambla|onda|ua|ing)|"                                    \
    "s(?:treet|t|quare|q|tra(?:\\x{df}|ss)e|trada|tr)|t(?:errace|ravesia)|"    \
    "u(?:l|fer)|v(?:iale|ia|icolo)|w(?:ay|eg))"
#define ADDR_SUFFIX                                                            \
    "(?:stra(?:\\x{df}|ss)e|str\\.|weg|gasse|platz|allee|damm|ring|gatan|"     \
    "v\\x{e4}gen|veien|katu)"
/* The street word is looked for only at ASCII word starts (\\b): a tenth
 * of the positions, which keeps the pattern fast on long values. */
#define ADDR_RE                                                                \
    "(?i)(?=.*?" ADDR_NUM ")(?=.*?\\b(?:" ADDR_WORD                            \
    "(?!\\p{L})|\\p{L}+?" ADDR_SUFFIX "(?!\\p{L}))).{5,150}"

/* Postcodes: FR/DE/ES/IT/US 5 digits, BE/CH/AT/DK 4, US ZIP+4, NL
 * "1234 AB", UK, Canada, Brazil, Portugal, Poland, Sweden. */
#define POSTCODE_RE                                                            \
    "[0-9]{4,5}|[0-9]{5}-[0-9]{4}|[0-9]{4} ?[A-Z]{2}|"                         \
    "[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|[A-Z][0-9][A-Z] "                 \
    "?[0-9][A-Z][0-9]|"                                                        \
    "[0-9]{5}-[0-9]{3}|[0-9]{4}-[0-9]{3}|[0-9]{2}-[0-9]{3}|[0-9]{3} [0-9]{2}"

/* Boundaries for free text: not inside a word or a number. */
#define B "(?<![A-Za-z0-9_])"
#define E "(?![A-Za-z0-9_])"

struct recognizer {
    pii_entity e;
    const char *whole; /* anchored at both ends by the compile options */
    const char *find;  /* NULL: not searched in free text */
};

static const struct recognizer RECOGNIZERS[] = {
    {PII_EMAIL,
     "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\\-]{1,64}@[A-Za-z0-9\\-]{1,63}"
     "(?:\\.[A-Za-z0-9\\-]{1,63})+",
     "(?<![A-Za-z0-9_%+\\-])[A-Za-z0-9._%+\\-]{1,64}@[A-Za-z0-9\\-]{1,63}"
     "(?:\\.[A-Za-z0-9\\-]{1,63})+"},
    /* International, trunk-0 national, or written with separators: a bare
     * run of digits without 0 or + in front is more often an ID. */
    {PII_PHONE,
     "(?:\\+|00)[1-9][0-9 ().\\-/]{5,24}[0-9]|0[0-9 ().\\-/]{4,22}[0-9]|"
     "(?=.*[ .\\-/()])\\(?[1-9][0-9 ().\\-/]{4,22}[0-9]",
     "(?<![A-Za-z0-9_+.\\-/])(?:\\+|\\()?[0-9](?:[0-9]|[ .\\-/]\\(?(?=[0-9])|"
     "\\)[ .\\-/]?(?=[0-9])|\\((?=[0-9]))*" E},
    {PII_IBAN,
     "[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}"
     "(?: [A-Z0-9]{1,4})?)",
     B "[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}"
       "(?: [A-Z0-9]{1,4})?)" E},
    {PII_CREDIT_CARD, "[0-9]{13,19}|[0-9]{4}(?:[ \\-][0-9]{3,6}){2,4}",
     B "(?:[0-9]{13,19}|[0-9]{4}(?:[ \\-][0-9]{3,6}){2,4})" E},
    {PII_US_SSN, "[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}",
     B "[0-9]{3}([\\- ])[0-9]{2}\\1[0-9]{4}" E},
    {PII_FR_NIR,
     "[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} "
     "?[0-9]{2}",
     B "[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} "
       "?[0-9]{2}" E},
    {PII_ES_NIF, "[XYZ]?[0-9]{7,8}[\\- ]?[A-Z]",
     B "[XYZ]?[0-9]{7,8}[\\- ]?[A-Z]" E},
    {PII_IT_FISCAL_CODE,
     "[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
     "[0-9LMNPQRSTUV]{3}[A-Z]",
     B "[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
       "[0-9LMNPQRSTUV]{3}[A-Z]" E},
    {PII_UK_NHS, "[0-9]{3}([ \\-]?)[0-9]{3}\\1[0-9]{4}",
     B "[0-9]{3}([ \\-]?)[0-9]{3}\\1[0-9]{4}" E},
    {PII_PL_PESEL, "[0-9]{11}", B "[0-9]{11}" E},
    {PII_DE_TAX_ID, "[1-9][0-9]{10}|[1-9][0-9] [0-9]{3} [0-9]{3} [0-9]{3}",
     B "(?:[1-9][0-9]{10}|[1-9][0-9] [0-9]{3} [0-9]{3} [0-9]{3})" E},
    {PII_IP_ADDRESS,
     "[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|(?=[^:]*:[^:]*:)[0-9A-Fa-f:.]{2,45}",
     "(?<![0-9.])[0-9]{1,3}(?:\\.[0-9]{1,3}){3}(?![0-9]|\\.[0-9])|"
     "(?<![0-9A-Za-z_:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)"
     "[0-9A-Fa-f:]{2,39}(?:(?<=:)[0-9]{1,3}(?:\\.[0-9]{1,3}){3})?"
     "(?![0-9A-Za-z_:])"},
    {PII_MAC_ADDRESS,
     "[0-9A-Fa-f]{2}([:\\-])[0-9A-Fa-f]{2}(?:\\1[0-9A-Fa-f]{2}){4}|"
     "[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}",
     B "(?:[0-9A-Fa-f]{2}([:\\-])[0-9A-Fa-f]{2}(?:\\1[0-9A-Fa-f]{2}){4}|"
       "[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4})" E},
    {PII_DATE_OF_BIRTH,
     "[0-9]{4}([\\-/])[0-9]{2}\\1[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}"
     "[0-9:.,+\\-Z]{0,20})?|[0-9]{1,2}([/.\\-])[0-9]{1,2}\\2[0-9]{4}",
     NULL},
    {PII_PERSON_NAME, NAME_RE, NULL},
    {PII_ADDRESS, ADDR_RE, NULL},
    {PII_POSTCODE, POSTCODE_RE, NULL},
};
#define NRECOGNIZERS (sizeof RECOGNIZERS / sizeof RECOGNIZERS[0])

/* Which characters a value may hold, must hold (all of `required`, one
 * of `any`), and its length and digit-count bounds. */
struct gate {
    uint32_t allowed, required, any;
    unsigned short minlen, maxlen, mindig, maxdig;
};

static const struct gate GATES[PII_ENTITY_COUNT] = {
    [PII_EMAIL] = {PF_ALL & ~(PF_SPACE | PF_NONASCII | PF_COMMA | PF_PAREN),
                   PF_AT, 0, 6, 254, 0, 254},
    [PII_PHONE] = {PF_DIGIT | PF_SPACE | PF_DOT | PF_DASH | PF_PLUS | PF_SLASH |
                       PF_PAREN,
                   PF_DIGIT, 0, 6, 32, 6, 17},
    [PII_IBAN] = {PF_DIGIT | PF_UPPER | PF_SPACE, PF_DIGIT, PF_UPPER, 15, 42, 2,
                  34},
    [PII_CREDIT_CARD] = {PF_DIGIT | PF_SPACE | PF_DASH, PF_DIGIT, 0, 13, 23, 13,
                         19},
    [PII_US_SSN] = {PF_DIGIT | PF_SPACE | PF_DASH, PF_DIGIT, 0, 11, 11, 9, 9},
    [PII_FR_NIR] = {PF_DIGIT | PF_SPACE | PF_UPPER, PF_DIGIT, 0, 15, 21, 13,
                    15},
    [PII_ES_NIF] = {PF_DIGIT | PF_UPPER | PF_DASH | PF_SPACE, PF_DIGIT,
                    PF_UPPER, 9, 10, 7, 8},
    [PII_IT_FISCAL_CODE] = {PF_DIGIT | PF_UPPER, 0, PF_UPPER, 16, 16, 0, 7},
    [PII_UK_NHS] = {PF_DIGIT | PF_SPACE | PF_DASH, PF_DIGIT, 0, 10, 12, 10, 10},
    [PII_PL_PESEL] = {PF_DIGIT, PF_DIGIT, 0, 11, 11, 11, 11},
    [PII_DE_TAX_ID] = {PF_DIGIT | PF_SPACE, PF_DIGIT, 0, 11, 14, 11, 11},
    [PII_IP_ADDRESS] = {PF_DIGIT | PF_DOT | PF_COLON | PF_UHEX | PF_LHEX, 0,
                        PF_DOT | PF_COLON, 2, 45, 0, 45},
    [PII_MAC_ADDRESS] = {PF_DIGIT | PF_UHEX | PF_LHEX | PF_COLON | PF_DASH |
                             PF_DOT,
                         0, 0, 14, 17, 0, 12},
    [PII_DATE_OF_BIRTH] = {PF_DIGIT | PF_DASH | PF_SLASH | PF_DOT | PF_COLON |
                               PF_SPACE | PF_PLUS | PF_UOTH | PF_COMMA,
                           PF_DIGIT, 0, 8, 35, 6, 30},
    [PII_PERSON_NAME] = {PF_UPPER | PF_LOWER | PF_SPACE | PF_APOS | PF_DASH |
                             PF_DOT | PF_NONASCII | PF_COMMA,
                         0, PF_UPPER | PF_NONASCII, 2, 60, 0, 0},
    [PII_ADDRESS] = {PF_ALL & ~PF_AT, PF_DIGIT | PF_SPACE,
                     PF_UPPER | PF_LOWER | PF_NONASCII, 6, 150, 1, 150},
    [PII_POSTCODE] = {PF_DIGIT | PF_UPPER | PF_SPACE | PF_DASH, PF_DIGIT, 0, 4,
                      10, 2, 9},
};

static void init_classes(uint32_t cls[256])
{
    for (int c = 0; c < 256; c++) {
        uint32_t v = PF_OTHER;
        if (c >= '0' && c <= '9')
            v = PF_DIGIT;
        else if (c >= 'A' && c <= 'Z')
            v = c <= 'F' ? PF_UHEX : PF_UOTH;
        else if (c >= 'a' && c <= 'z')
            v = c <= 'f' ? PF_LHEX : PF_LOTH;
        else if (c >= 0x80)
            v = PF_NONASCII;
        cls[c] = v;
    }
    cls[' '] = PF_SPACE;
    cls['@'] = PF_AT;
    cls['.'] = PF_DOT;
    cls['-'] = PF_DASH;
    cls[':'] = PF_COLON;
    cls['+'] = PF_PLUS;
    cls['/'] = PF_SLASH;
    cls['('] = cls[')'] = PF_PAREN;
    cls['\''] = PF_APOS;
    cls[','] = PF_COMMA;
}

void pii_features_of(const pii_recognizers *r, const char *s, size_t len,
                     struct pii_features *f)
{
    uint32_t classes = 0;
    size_t digits = 0, at = 0, upper = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t c = r->cls[(unsigned char)s[i]];
        classes |= c;
        digits += (c == PF_DIGIT);
        at += (c == PF_AT);
        upper += (c & PF_UPPER) != 0;
    }
    f->classes = classes;
    f->ndigits = digits;
    f->nat = at;
    f->nupper = upper;
}

static bool gate_open(pii_entity e, const struct pii_features *f, size_t len)
{
    const struct gate *g = &GATES[e];
    if ((f->classes & ~g->allowed) || (f->classes & g->required) != g->required)
        return false;
    if (g->any && !(f->classes & g->any))
        return false;
    if (len < g->minlen || len > g->maxlen || f->ndigits < g->mindig ||
        f->ndigits > g->maxdig)
        return false;
    return e != PII_EMAIL || f->nat == 1;
}

int pii_match(const pii_recognizers *r, const pcre2_code *re, pii_scratch *sc,
              const char *s, size_t len, size_t offset, bool ascii)
{
    /* The JIT fast path skips PCRE2's UTF check: safe for ASCII only. */
    if (r->jit && ascii)
        return pcre2_jit_match(re, (PCRE2_SPTR)s, len, offset, 0, sc->md, NULL);
    return pcre2_match(re, (PCRE2_SPTR)s, len, offset, 0, sc->md, NULL);
}

static pcre2_code *compile_one(const char *pattern, uint32_t opts, pii_entity e,
                               const char *what, bool *jit, char *err,
                               size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   opts, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, errlen, "recognizer %s (%s): pattern offset %zu: %s",
                 pii_entity_name(e), what, (size_t)off, (char *)msg);
        return NULL;
    }
    if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
        *jit = false;
    return re;
}

pii_recognizers *pii_recognizers_new(char *err, size_t errlen)
{
    pii_recognizers *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "recognizers: out of memory");
        return NULL;
    }
    r->jit = true;
    init_classes(r->cls);
    for (size_t i = 0; i < NRECOGNIZERS; i++) {
        const struct recognizer *k = &RECOGNIZERS[i];
        r->whole[k->e] = compile_one(
            k->whole, PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, k->e,
            "whole value", &r->jit, err, errlen);
        if (!r->whole[k->e])
            goto fail;
        /* Free text is searched byte-wise: the patterns are ASCII and
         * need not reject text that is not valid UTF-8. */
        if (k->find &&
            !(r->find[k->e] = compile_one(k->find, 0, k->e, "free text",
                                          &r->jit, err, errlen)))
            goto fail;
    }
    return r;
fail:
    pii_recognizers_free(r);
    return NULL;
}

void pii_recognizers_free(pii_recognizers *r)
{
    if (!r)
        return;
    for (int e = 0; e < PII_ENTITY_COUNT; e++) {
        pcre2_code_free(r->whole[e]);
        pcre2_code_free(r->find[e]);
    }
    free(r);
}

pii_scratch *pii_scratch_new(const pii_recognizers *r)
{
    (void)r;
    pii_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->md = pcre2_match_data_create(8, NULL);
    if (!s->md) {
        free(s);
        return NULL;
    }
    return s;
}

void pii_scratch_free(pii_scratch *s)
{
    if (!s)
        return;
    pcre2_match_data_free(s->md);
    free(s->cand);
    free(s);
}

/* Validates value (not NUL-terminated) through the scratch buffer. */
static bool validate_copy(pii_entity e, pii_scratch *s, const char *value,
                          size_t len)
{
    if (len > PII_MAX_VALUE)
        return pii_entity_is_weak(e) && e != PII_DATE_OF_BIRTH;
    memcpy(s->buf, value, len);
    s->buf[len] = '\0';
    return pii_validate(e, s->buf);
}

/* Spreadsheets and French typography group numbers with U+00A0 or
 * U+202F ("06\u00a012\u00a034..."): such a value is read with plain
 * spaces.  Returns the new length, or 0 when there was none. */
static size_t normalize_spaces(pii_scratch *s, const char *v, size_t len)
{
    size_t n = 0;
    bool changed = false;
    for (size_t i = 0; i < len && len <= PII_MAX_VALUE; i++) {
        if ((unsigned char)v[i] == 0xC2 && i + 1 < len &&
            (unsigned char)v[i + 1] == 0xA0) {
            s->norm[n++] = ' ';
            i++;
            changed = true;
        } else if (i + 2 < len && memcmp(v + i, "\xE2\x80\xAF", 3) == 0) {
            s->norm[n++] = ' ';
            i += 2;
            changed = true;
        } else {
            s->norm[n++] = v[i];
        }
    }
    return changed ? n : 0;
}

void pii_classify_value(const pii_recognizers *r, pii_scratch *s,
                        const char *value, size_t len, pii_value_result *out)
{
    out->matched = out->validated = 0;
    if (!value || len == 0)
        return;
    struct pii_features f;
    pii_features_of(r, value, len, &f);
    size_t nlen;
    if ((f.classes & PF_NONASCII) && (nlen = normalize_spaces(s, value, len))) {
        value = s->norm;
        len = nlen;
        pii_features_of(r, value, len, &f);
    }
    bool ascii = !(f.classes & PF_NONASCII);
    for (int e = 1; e < PII_ENTITY_COUNT; e++) {
        if (!r->whole[e] || !gate_open((pii_entity)e, &f, len))
            continue;
        if (pii_match(r, r->whole[e], s, value, len, 0, ascii) < 0)
            continue;
        out->matched |= 1u << e;
        if (validate_copy((pii_entity)e, s, value, len))
            out->validated |= 1u << e;
    }
}
