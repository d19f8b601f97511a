/*
 * pii_vote_llm: one zero-shot chat call per table (or per chunk of
 * columns) asking which PII entity each column holds, from names, types,
 * profile statistics and value shapes -- never values.  Internal header.
 */
#ifndef PII_VOTE_LLM_H
#define PII_VOTE_LLM_H

#include <catalog_sync/pass.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_common.h"

/* Read-only after init() but `patience`, which locks itself: process()
 * runs concurrently. */
struct pv_state {
    struct llm_patience patience; /* waiting out a down endpoint */
    bool patience_ready;
    const cs_host_api *host;
    const char *endpoint; /* borrowed from the config */
    const char *model;    /* NULL: the endpoint's chat model */
    double temperature, top_p;
    size_t max_columns;
    long timeout_ms;
    int max_tokens;
    char *system; /* owned */
    char *schema; /* owned, JSON text */
};

/* ---- prompt.c ---- */

/* The canonical entity name for `name` (case-insensitive), or NULL when
 * it is not one of the entities the pass asks about.  Pure. */
const char *pv_entity_canonical(const char *name);
/* malloc'd texts (NULL when out of memory): the system message listing
 * the entities, and the JSON Schema of the answer.  Pure. */
char *pv_system_prompt(void);
char *pv_answer_schema(void);
/* New reference: an array of one object per named column of the table
 * aspect, with only metadata, statistics and shapes (see README.md);
 * NULL when out of memory.  Never reads topValues, min or max. */
json_t *pv_column_facts(const json_t *table, const json_t *profile);
/* malloc'd user message for columns [from, from + n) of `facts`
 * (NULL when out of memory). */
char *pv_user_prompt(const json_t *table, const json_t *facts, size_t from,
                     size_t n);

/* ---- answer.c ---- */

/* Merges an answer (JSON text following pv_answer_schema) into `out`
 * ({name: {entity, confidence}}), keeping only names among columns
 * [from, from + n) of `facts`.  Returns the number of rows kept, or -1
 * with a reason in err when the answer is not JSON of that shape. */
int pv_merge_answer(const char *content, const json_t *facts, size_t from,
                    size_t n, json_t *out, char *err, size_t errlen);
/* FNV-1a 64 of the NUL-terminated s, chained from h.  Pure. */
uint64_t pv_fnv(uint64_t h, const char *s);

#endif
