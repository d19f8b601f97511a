/*
 * The per-column plan: which columns are replaced whole, which are
 * searched for PII substrings, which are kept.  The search is the costly
 * part, so it runs only where PII can hide in text.
 */
#include "mask_internal.h"

#include <string.h>

#include "profile_common.h"

/* Text can carry an e-mail or a phone number anywhere; so can JSON, and
 * an unknown type (enum, array, domain) is treated as text to be safe. */
static int text_like(const char *type)
{
    switch (prof_type_class_of(type)) {
    case PROF_TEXT:
    case PROF_JSON:
    case PROF_OTHER:
        return 1;
    default:
        return 0;
    }
}

/* The placeholder type of a tagged column: its entity, or the generic
 * "PII" when a person tagged it without one (or with one we don't know). */
static pii_entity entity_of(const json_t *col)
{
    const char *name = json_string_value(json_object_get(col, "entity"));
    return name ? pii_entity_from_name(name) : PII_NONE;
}

/* A person's PII tag means PII, whatever the recognizers think; only
 * "PII.None" is a person saying the column is not PII, and then the
 * column is treated like an untagged one (its text is still searched). */
static int human_pii(const json_t *col, const char *status)
{
    const char *tag = json_string_value(json_object_get(col, "tag"));
    return strcmp(status, "human") == 0 &&
           !(tag && strcmp(tag, "PII.None") == 0);
}

/* Not tagged, but a clear name signal (strength >= 0.5) for an entity
 * the values did not confirm; a person's "PII.None" overrides it. */
static bool named_pii(const json_t *col, const char *status)
{
    if (strcmp(status, "human") == 0 || !json_object_get(col, "entity") ||
        json_is_null(json_object_get(col, "entity")))
        return false;
    const json_t *sig =
        json_object_get(json_object_get(col, "evidence"), "name_signal");
    return json_is_object(sig) &&
           json_number_value(json_object_get(sig, "strength")) >= 0.5;
}

void mask_plan_column(const json_t *pii_columns, const char *name,
                      const char *type, mask_col *out)
{
    memset(out, 0, sizeof *out);
    out->name = name;
    out->type = type ? type : "";
    out->entity = PII_NONE;
    const json_t *col = json_object_get(pii_columns, name);
    const char *status = json_string_value(json_object_get(col, "status"));
    /* A candidate held back only by the LLM vote (vote=both) is a column
     * the recognizers tagged: a vote deciding the catalog tag never
     * decides what leaves the process.  Nor does a checksum: values of a
     * column named like PII whose values fail validation (a national_id
     * with typos or foreign formats) are still someone's identifiers. */
    bool vote_blocked = json_is_true(json_object_get(col, "vote_blocked"));
    if (status && (strcmp(status, "tagged") == 0 || human_pii(col, status) ||
                   vote_blocked || named_pii(col, status))) {
        out->mode = MASK_WHOLE;
        out->entity = entity_of(col);
        return;
    }
    /* A candidate failed the column threshold, but the values that did
     * validate are still someone's data: search them whatever the type. */
    if (status &&
        (strcmp(status, "candidate") == 0 || strcmp(status, "name_only") == 0))
        out->mode = MASK_SPANS;
    else
        out->mode = text_like(type) ? MASK_SPANS : MASK_KEEP;
}
