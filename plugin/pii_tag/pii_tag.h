/*
 * pii_tag internals: the configuration, what the sample says about one
 * column, the decision taken for it, and the JSON that explains it.
 *
 * Everything here is pure computation over borrowed inputs, safe to run
 * on several threads at once as long as each thread has its own
 * pii_scratch (the recognizers and the configuration are read-only).
 */
#ifndef PII_TAG_H
#define PII_TAG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pii.h"

/* How a pii_llm vote combines with the recognizers. */
enum pt_vote {
    PT_VOTE_RECOGNIZERS = 0, /* LLM shown in evidence, never decides */
    PT_VOTE_BOTH,            /* tag only when both name the same entity */
    PT_VOTE_EITHER           /* tag when either says so */
};

/* The validated `config` of the pass, read-only after init(). */
struct pt_config {
    enum pt_vote vote;
    double threshold[PII_ENTITY_COUNT];
    bool enabled[PII_ENTITY_COUNT];
    long min_values;
    double name_weight;
};

/* Fills `c` from the host-validated config object (defaults filled in)
 * over the built-in defaults.  Returns 0, or -1 with a message naming the
 * option and the reason in err. */
int pt_config_load(const json_t *cfg, struct pt_config *c, char *err,
                   size_t errlen);
const char *pt_vote_name(enum pt_vote v);

/* Counts over the non-null sampled values of one column. */
struct pt_counts {
    size_t values; /* non-null values seen */
    size_t matched[PII_ENTITY_COUNT];
    size_t validated[PII_ENTITY_COUNT];
    bool flag_like; /* every value is 0..9 or a boolean word */
    bool year_like; /* every value is a 4-digit year 1900..2100 */
};

/* Classifies cell `col` of every row of the sample's `rows` array (JSON
 * strings are values; nulls and anything else are skipped).  Returns 0,
 * or -1 when `should_stop` (may be NULL), asked every 4096 rows, says to
 * stop. */
int pt_count_column(const pii_recognizers *r, pii_scratch *s,
                    const json_t *rows, size_t col, struct pt_counts *out,
                    int (*should_stop)(void *), void *stop_arg);

/* Everything known about one column before the decision. */
struct pt_column {
    const char *name;
    const char *type_class; /* profile typeClass, NULL when unknown */
    long distinct;          /* profile distinctCount, -1 when unknown */
    struct pt_counts counts;
    pii_name_signal signals[PII_ENTITY_COUNT];
    int nsignals;
    const char *human_tag;   /* PII.* tag set by a person, else NULL */
    const char *human_label; /* its labelType */
    const char *previous;    /* PII.* tag set by automation, else NULL */
    bool llm_present;        /* pii_llm has an entry for this column */
    pii_entity llm_entity;   /* PII_NONE for a null or unknown vote */
    const char *llm_raw;     /* the vote's entity string as given, or NULL */
    double llm_confidence;
};

enum pt_status { PT_NONE = 0, PT_TAGGED, PT_CANDIDATE, PT_NAME_ONLY, PT_HUMAN };

/* Why the decision came out as it did; picks the reason's wording. */
enum pt_why {
    PT_WHY_CLEAN = 0,         /* nothing at all: left out of the aspect */
    PT_WHY_VALUES,            /* tagged from values (+ name) */
    PT_WHY_LLM_ONLY,          /* tagged from the LLM vote alone (either) */
    PT_WHY_VOTE_BLOCKED,      /* recognizers would tag, LLM disagrees (both) */
    PT_WHY_MINORITY,          /* a minority of values validate: candidate */
    PT_WHY_BELOW,             /* evidence below the threshold */
    PT_WHY_NAME_NO_VALUES,    /* name signal, no value sampled */
    PT_WHY_NAME_CONTRADICTED, /* name signal, values are flags/years */
    PT_WHY_AMBIGUOUS_NAME     /* weak type, name signal below 0.5 */
};

struct pt_verdict {
    enum pt_status status;
    enum pt_why why;
    pii_entity entity; /* the entity reported, PII_NONE if none */
    double score;      /* validated share + name bonus, 0..1 */
    bool low;          /* confidence "low" */
    bool few_values;   /* fewer non-null values than min_values */
    bool name_ignored; /* values contradict the name: bonus not applied */
    const pii_name_signal *signal; /* name signal of `entity`, or NULL */
};

/* Decides one column.  Never fails. */
void pt_decide(const struct pt_config *c, const struct pt_column *col,
               struct pt_verdict *v);

/* The column's entry of the `pii` aspect (new reference), or NULL when
 * the column carries no signal at all (a clean column) or on allocation
 * failure (*oom set).  Holds counts and names only, never a value. */
json_t *pt_column_json(const struct pt_config *c, const struct pt_column *col,
                       const struct pt_verdict *v, bool *oom);

#endif
