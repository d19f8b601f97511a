/* PII inside free text: every strong recognizer searched unanchored,
 * each candidate validated (shortened at its separators when the whole
 * run does not validate), then overlaps resolved left to right. */
#include <stdlib.h>
#include <string.h>

#include "pii_internal.h"

/* The free-text entities, in the order that breaks ties between two
 * candidates of the same place and length. */
static const pii_entity SPAN_ENTITIES[] = {
    PII_EMAIL,          PII_IBAN,      PII_CREDIT_CARD, PII_FR_NIR,
    PII_IT_FISCAL_CODE, PII_ES_NIF,    PII_US_SSN,      PII_UK_NHS,
    PII_PL_PESEL,       PII_DE_TAX_ID, PII_MAC_ADDRESS, PII_IP_ADDRESS,
    PII_PHONE};
#define NSPAN (sizeof SPAN_ENTITIES / sizeof SPAN_ENTITIES[0])

static int priority(pii_entity e)
{
    for (size_t i = 0; i < NSPAN; i++)
        if (SPAN_ENTITIES[i] == e)
            return (int)i;
    return (int)NSPAN;
}

/* Whole values gate phones on how they are written; free text does the
 * same: "+", "00" or a trunk 0 in front, or separators inside. */
static bool phone_written_as_phone(const char *s)
{
    if (s[0] == '+' || s[0] == '0' || s[0] == '(')
        return true;
    return strpbrk(s, " .-/()") != NULL;
}

static bool span_valid(pii_entity e, const char *s)
{
    if (e == PII_PHONE && !phone_written_as_phone(s))
        return false;
    return pii_validate(e, s);
}

static bool cuttable(pii_entity e)
{
    return e == PII_PHONE || e == PII_CREDIT_CARD || e == PII_IBAN;
}

/* Length of the longest validating prefix of text[start..end) that ends
 * before a separator (or the whole run); 0 when none validates. */
static size_t validate_run(pii_entity e, pii_scratch *s, const char *text,
                           size_t start, size_t end)
{
    size_t len = end - start;
    if (len > PII_MAX_VALUE)
        return 0;
    memcpy(s->buf, text + start, len);
    s->buf[len] = '\0';
    if (span_valid(e, s->buf))
        return len;
    if (!cuttable(e))
        return 0;
    for (size_t cut = len - 1; cut > 6; cut--) {
        if (strchr(" .-/", s->buf[cut]) && s->buf[cut - 1] != ' ') {
            s->buf[cut] = '\0';
            if (span_valid(e, s->buf))
                return cut;
        }
    }
    return 0;
}

static bool add_candidate(pii_scratch *s, size_t start, size_t len,
                          pii_entity e)
{
    if (s->ncand == s->capcand) {
        size_t cap = s->capcand ? s->capcand * 2 : 16;
        pii_span *n = realloc(s->cand, cap * sizeof *n);
        if (!n)
            return false;
        s->cand = n;
        s->capcand = cap;
    }
    s->cand[s->ncand++] = (pii_span){start, len, e};
    return true;
}

/* Cheap test that the text could hold entity e at all. */
static bool worth_searching(pii_entity e, const struct pii_features *f)
{
    switch (e) {
    case PII_EMAIL:
        return f->nat > 0;
    case PII_IP_ADDRESS:
        return (f->classes & (PF_DOT | PF_COLON)) != 0;
    case PII_MAC_ADDRESS:
        return f->ndigits + f->nupper >= 2;
    case PII_IT_FISCAL_CODE:
        return f->nupper >= 9;
    case PII_ES_NIF:
        return f->ndigits >= 7 && f->nupper >= 1;
    case PII_IBAN:
        return f->ndigits >= 4 && f->nupper >= 2;
    default:
        return f->ndigits >= 6;
    }
}

/* A phone search restarting inside a longer run of digit groups
 * ("1234 5698 7654 33" of a mistyped IBAN) finds a bare digit group
 * after a digit group: the tail of one number, not a phone, unless it
 * starts the way phones do ("2023 06 12 34 56 78"). */
static bool inside_number(pii_entity e, const char *text, size_t start)
{
    if (e != PII_PHONE || start < 2 || strchr("+0(", text[start]))
        return false;
    return strchr(" .-/", text[start - 1]) && text[start - 2] >= '0' &&
           text[start - 2] <= '9';
}

/* All validated candidates of one entity; -1 on a matching error. */
static int search_entity(const pii_recognizers *r, pii_scratch *s, pii_entity e,
                         const char *text, size_t len)
{
    size_t off = 0;
    while (off < len) {
        int rc = pii_match(r, r->find[e], s, text, len, off, true);
        if (rc == PCRE2_ERROR_NOMATCH)
            return 0;
        if (rc < 0)
            return -1;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        size_t start = ov[0], end = ov[1];
        size_t vlen = inside_number(e, text, start)
                          ? 0
                          : validate_run(e, s, text, start, end);
        if (vlen && !add_candidate(s, start, vlen, e))
            return -1;
        off = vlen ? start + vlen : start + 1;
    }
    return 0;
}

static int by_place(const void *a, const void *b)
{
    const pii_span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return priority(x->entity) - priority(y->entity);
}

int pii_find_spans(const pii_recognizers *r, pii_scratch *s, const char *text,
                   size_t len, pii_span *out, int max)
{
    if (!text || max <= 0)
        return 0;
    struct pii_features f;
    pii_features_of(r, text, len, &f);
    s->ncand = 0;
    for (size_t i = 0; i < NSPAN; i++) {
        pii_entity e = SPAN_ENTITIES[i];
        if (r->find[e] && worth_searching(e, &f) &&
            search_entity(r, s, e, text, len) < 0)
            return -1;
    }
    if (s->ncand > 1)
        qsort(s->cand, s->ncand, sizeof *s->cand, by_place);
    int n = 0;
    size_t last_end = 0;
    for (size_t i = 0; i < s->ncand && n < max; i++) {
        if (s->cand[i].start < last_end)
            continue;
        out[n++] = s->cand[i];
        last_end = s->cand[i].start + s->cand[i].len;
    }
    return n;
}
