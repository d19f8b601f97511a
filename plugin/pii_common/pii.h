/*
 * PII recognition shared by the pii_tag and mask passes: entity types,
 * checksum and structure validators, whole-value recognizers (PCRE2 with
 * JIT), substring search in free text, and column-name signals in EN, FR,
 * DE, ES and IT.  Pure computation: no I/O, no logging, no global state
 * after pii_recognizers_new().
 *
 * Threads: a pii_recognizers is read-only after creation and shared by all
 * threads; each thread (or each call site) uses its own pii_scratch.
 */
#ifndef PII_COMMON_PII_H
#define PII_COMMON_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pii_entity {
    PII_NONE = 0,
    PII_EMAIL,
    PII_PHONE,
    PII_IBAN,
    PII_CREDIT_CARD,
    PII_US_SSN,
    PII_FR_NIR,
    PII_ES_NIF,         /* Spanish NIF (DNI) and NIE */
    PII_IT_FISCAL_CODE, /* codice fiscale */
    PII_UK_NHS,
    PII_PL_PESEL,
    PII_DE_TAX_ID,  /* Steuer-Identifikationsnummer */
    PII_IP_ADDRESS, /* IPv4 or IPv6 */
    PII_MAC_ADDRESS,
    PII_DATE_OF_BIRTH, /* a date column plus a name signal */
    PII_PERSON_NAME,   /* weak: name signal + value shape */
    PII_ADDRESS,       /* weak */
    PII_POSTCODE,      /* weak */
    PII_ENTITY_COUNT
} pii_entity;

/* "EMAIL", "PHONE", "IBAN", "CREDIT_CARD", "US_SSN", "FR_NIR", "ES_NIF",
 * "IT_FISCAL_CODE", "UK_NHS", "PL_PESEL", "DE_TAX_ID", "IP_ADDRESS",
 * "MAC_ADDRESS", "DATE_OF_BIRTH", "PERSON_NAME", "ADDRESS", "POSTCODE";
 * "NONE" for PII_NONE. */
const char *pii_entity_name(pii_entity e);
/* PII_NONE when unknown (case-insensitive). */
pii_entity pii_entity_from_name(const char *name);
/* The OpenMetadata tag, following OpenMetadata's own PII classification
 * (piiTagsWithRecognizers): "PII.Sensitive" for identifiers, financial
 * numbers, e-mail, IP, names; "PII.NonSensitive" for phone, date of birth,
 * address, postcode. */
const char *pii_entity_om_tag(pii_entity e);
/* True for types whose validator is a checksum (IBAN, card, NIR, NIF,
 * codice fiscale, NHS, PESEL, Steuer-ID). */
bool pii_entity_has_checksum(pii_entity e);
/* True for the heuristic types that need a name signal to be tagged
 * (DATE_OF_BIRTH, PERSON_NAME, ADDRESS, POSTCODE). */
bool pii_entity_is_weak(pii_entity e);

/* ---- validators ----------------------------------------------------------
 * Each takes the value as written in the cell (NUL-terminated; spaces,
 * dashes or dots as the format allows) and returns true only when the
 * structure and, where one exists, the checksum are right. */
bool pii_valid_email(const char *s);
/* E.164 (+ and 8-15 digits, country code known) or a national format of
 * FR, DE, ES, IT, NL, BE, UK, US with that country's length rules.
 * country (may be NULL) receives the ISO code ("FR") or "" if unknown. */
bool pii_valid_phone(const char *s, char country[3]);
bool pii_valid_iban(const char *s);        /* per-country length + mod 97 */
bool pii_valid_credit_card(const char *s); /* Luhn + issuer prefix + length */
bool pii_valid_us_ssn(const char *s);      /* area/group/serial rules */
bool pii_valid_fr_nir(const char *s);      /* 13 digits + key mod 97 */
bool pii_valid_es_nif(const char *s);      /* DNI letter / NIE */
bool pii_valid_it_fiscal_code(const char *s);
bool pii_valid_uk_nhs(const char *s); /* mod 11 */
bool pii_valid_pl_pesel(const char *s);
bool pii_valid_de_tax_id(const char *s); /* ISO 7064 mod 11,10 + digit rule */
bool pii_valid_ip(const char *s);        /* IPv4 dotted quad or IPv6 */
bool pii_valid_mac(const char *s);
/* A calendar date (ISO 8601 date or timestamp, DD/MM/YYYY, DD.MM.YYYY)
 * plausible as a birth date: year 1900 to the current year. */
bool pii_valid_birth_date(const char *s);

/* ---- recognizers --------------------------------------------------------- */

typedef struct pii_recognizers pii_recognizers;
typedef struct pii_scratch pii_scratch;

/* Compiles every recognizer (PCRE2, JIT when available).  NULL with err
 * on failure (names the recognizer and the PCRE2 message). */
pii_recognizers *pii_recognizers_new(char *err, size_t errlen);
void pii_recognizers_free(pii_recognizers *r);
/* Per-thread match state.  NULL when out of memory. */
pii_scratch *pii_scratch_new(const pii_recognizers *r);
void pii_scratch_free(pii_scratch *s);

/* What one whole cell value is: bit (1u << entity) set in `matched` when
 * the entity's pattern matches the entire value, and in `validated` when
 * its validator also accepts it (for types without a validator, a match
 * is its own validation). */
typedef struct pii_value_result {
    uint32_t matched;
    uint32_t validated;
} pii_value_result;

void pii_classify_value(const pii_recognizers *r, pii_scratch *s,
                        const char *value, size_t len, pii_value_result *out);

/* Name of the recognizer behind an entity, for evidence ("iban+mod97"). */
const char *pii_recognizer_name(pii_entity e);

/* ---- free text --------------------------------------------------------- */

typedef struct pii_span {
    size_t start; /* byte offset in the text */
    size_t len;
    pii_entity entity;
} pii_span;

/* Finds validated PII substrings (e-mail, phone, IBAN, card, SSN, NIR,
 * NIF, codice fiscale, NHS, PESEL, IP, MAC) in free text, left to right,
 * non-overlapping (longest first at the same start).  Returns how many
 * were written to out (at most max), or -1 on a matching error. */
int pii_find_spans(const pii_recognizers *r, pii_scratch *s, const char *text,
                   size_t len, pii_span *out, int max);

/* ---- column-name signals ------------------------------------------------- */

typedef struct pii_name_signal {
    pii_entity entity;
    double strength;     /* 0..1: 1 for an exact keyword ("email"), less
                            for a partial or abbreviated one ("mail") */
    const char *keyword; /* static string: the keyword that matched */
    const char *lang;    /* "en", "fr", "de", "es", "it" */
} pii_name_signal;

/* Splits a column name into tokens (snake_case, camelCase, digits,
 * accents folded to ASCII) and looks the tokens and their joins up in the
 * multilingual keyword table.  Writes the signals found, strongest first,
 * one per entity, and returns their count (at most max).  Negative
 * markers ("email_verified", "is_email", "has_phone", "_count", "_id" of
 * another table...) lower or cancel a signal. */
int pii_name_signals(const char *column_name, pii_name_signal *out, int max);

#endif
