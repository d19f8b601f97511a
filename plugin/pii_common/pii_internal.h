/* Helpers shared by the files of pii_common; not part of its API. */
#ifndef PII_COMMON_INTERNAL_H
#define PII_COMMON_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "pii.h"

/* Longest cell value the strong recognizers look at: every strong type
 * is far shorter, so longer values skip straight to the weak shapes. */
#define PII_MAX_VALUE 256

/* Copies the digits of s into out (NUL-terminated, at most max digits),
 * skipping the characters of `seps`.  Returns the digit count, or -1 when
 * s holds any other character or too many digits. */
int pii_digits(const char *s, const char *seps, char *out, size_t max);

/* True when y-m-d is a real Gregorian calendar date. */
bool pii_real_date(int y, int m, int d);
/* True when s is a calendar date in one of the accepted written forms,
 * whatever the year (phone numbers must not swallow dates). */
bool pii_looks_like_date(const char *s);

struct pii_recognizers {
    pcre2_code *whole[PII_ENTITY_COUNT]; /* anchored, whole value */
    pcre2_code *find[PII_ENTITY_COUNT];  /* unanchored, free text */
    bool jit;                            /* every pattern JIT-compiled */
    uint32_t cls[256];                   /* byte -> PF_* class bit */
};

/* Character classes of the prefilter. */
enum {
    PF_DIGIT = 1u << 0,
    PF_UHEX = 1u << 1, /* A-F */
    PF_UOTH = 1u << 2, /* G-Z */
    PF_LHEX = 1u << 3, /* a-f */
    PF_LOTH = 1u << 4, /* g-z */
    PF_SPACE = 1u << 5,
    PF_AT = 1u << 6,
    PF_DOT = 1u << 7,
    PF_DASH = 1u << 8,
    PF_COLON = 1u << 9,
    PF_PLUS = 1u << 10,
    PF_SLASH = 1u << 11,
    PF_PAREN = 1u << 12,
    PF_APOS = 1u << 13,
    PF_NONASCII = 1u << 14,
    PF_COMMA = 1u << 15,
    PF_OTHER = 1u << 16,
    PF_UPPER = PF_UHEX | PF_UOTH,
    PF_LOWER = PF_LHEX | PF_LOTH,
    PF_ALL = (1u << 17) - 1,
};

/* One pass over a value: which classes occur, and a few counts. */
struct pii_features {
    uint32_t classes;
    size_t ndigits, nat, nupper;
};
void pii_features_of(const pii_recognizers *r, const char *s, size_t len,
                     struct pii_features *f);
/* Runs a compiled pattern on s[0..len) from offset; pcre2 return code. */
int pii_match(const pii_recognizers *r, const pcre2_code *re, pii_scratch *sc,
              const char *s, size_t len, size_t offset, bool ascii);

struct pii_scratch {
    pcre2_match_data *md;
    char buf[PII_MAX_VALUE + 1];
    char norm[PII_MAX_VALUE + 1]; /* value with no-break spaces as ' ' */
    pii_span *cand; /* free-text candidates before overlap removal */
    size_t ncand, capcand;
};

/* Runs the validator of entity e on the NUL-terminated s. */
bool pii_validate(pii_entity e, const char *s);

#endif
