/*
 * Internals of the mask pass: the per-table placeholder map, free-text
 * masking and the per-column plan.  Nothing here logs or keeps global
 * state; every object belongs to one process() call (one thread).
 */
#ifndef MASK_INTERNAL_H
#define MASK_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pii.h"

/* Longest placeholder text, NUL included: "<IT_FISCAL_CODE_4294967295>". */
#define MASK_PLACEHOLDER_MAX 48

/* ---- placeholder map (placeholder.c) ------------------------------------
 * Raw value -> index, one numbering per placeholder type, so that the same
 * value gets the same placeholder everywhere in one table.  Lives for one
 * process() call: never persisted, never logged.  PII_NONE stands for the
 * generic type "PII" (a person's tag without an entity, or a cell that
 * could not be scanned). */
typedef struct mask_map mask_map;

/* NULL when out of memory. */
mask_map *mask_map_new(void);
/* Wipes the stored values before freeing them. */
void mask_map_free(mask_map *m);
/* Writes the placeholder of `value` (len bytes) as `type` into out
 * (MASK_PLACEHOLDER_MAX bytes), e.g. "<EMAIL_2>".  Values are compared
 * after a per-type normalisation (case of e-mails, separators inside
 * numbers), so "4539 1488 0343 6467" and "4539148803436467" agree.
 * Returns the placeholder length, or -1 when out of memory. */
int mask_map_placeholder(mask_map *m, pii_entity type, const char *value,
                         size_t len, char *out);
/* The placeholder label of a type: "EMAIL", ..., "PII" for PII_NONE. */
const char *mask_type_label(pii_entity type);
/* {"EMAIL": distinct values, ...} for the types used; NULL on NOMEM. */
json_t *mask_map_counts(const mask_map *m);

/* ---- free text (spans.c) ------------------------------------------------ */

/* Replaces each validated PII substring of `text` with its placeholder.
 * Returns 1 with *out (malloc'd, NUL-terminated, owned by the caller) when
 * something was replaced, 0 when the text holds no PII (*out NULL), -1
 * when out of memory, -2 when the recognizers failed on this text (the
 * caller must not keep the text as it is). *nspans counts replacements. */
int mask_text(const pii_recognizers *r, pii_scratch *s, mask_map *m,
              const char *text, size_t len, char **out, size_t *nspans);

/* ---- column plan (columns.c) -------------------------------------------- */

typedef enum mask_mode {
    MASK_KEEP = 0, /* non-PII, not text: values stay */
    MASK_SPANS,    /* free text or a PII candidate: substrings masked */
    MASK_WHOLE     /* a PII column: every value replaced */
} mask_mode;

typedef struct mask_col {
    const char *name; /* borrowed from the sample aspect */
    const char *type; /* engine type, borrowed; "" when absent */
    mask_mode mode;
    pii_entity entity;      /* placeholder type of MASK_WHOLE */
    size_t cells_masked;    /* row cells changed */
    size_t spans;           /* substrings replaced in row cells */
    size_t unscanned_cells; /* cells the recognizers failed on */
} mask_col;

/* Decides how column `name` of engine type `type` is masked from the pii
 * aspect's `columns` object (may be NULL: then only the type decides).
 * Columns whose status is "tagged" or "human" (but for a person's
 * "PII.None") are masked whole; a
 * "candidate" or "name_only" column, and any text-like column, gets a
 * substring search; other columns are kept. */
void mask_plan_column(const json_t *pii_columns, const char *name,
                      const char *type, mask_col *out);

#endif
