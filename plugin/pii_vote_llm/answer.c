/* Reading the model's answer: only rows naming a column it was shown are
 * kept, an entity it was not offered becomes null, and the confidence is
 * clamped, so that pii_tag reads a well-formed vote whatever came back. */
#include "pii_vote_llm.h"

#include <stdio.h>
#include <string.h>

uint64_t pv_fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int shown(const json_t *facts, size_t from, size_t n, const char *name)
{
    for (size_t i = from; i < from + n; i++) {
        const char *c = json_string_value(
            json_object_get(json_array_get(facts, i), "name"));
        if (c && strcmp(c, name) == 0)
            return 1;
    }
    return 0;
}

static json_t *vote_of(const json_t *row)
{
    const char *ent =
        pv_entity_canonical(json_string_value(json_object_get(row, "entity")));
    double conf = json_number_value(json_object_get(row, "confidence"));
    if (!(conf >= 0)) /* also NaN */
        conf = 0;
    if (conf > 1)
        conf = 1;
    return json_pack("{s:s?, s:f}", "entity", ent, "confidence", conf);
}

int pv_merge_answer(const char *content, const json_t *facts, size_t from,
                    size_t n, json_t *out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loads(content ? content : "", JSON_DECODE_ANY, &je);
    const json_t *rows = json_object_get(doc, "columns"), *row;
    if (!json_is_array(rows)) {
        snprintf(err, errlen,
                 "the answer is not an object with a `columns` "
                 "array");
        json_decref(doc);
        return -1;
    }
    int kept = 0;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        if (!name || !shown(facts, from, n, name) || json_object_get(out, name))
            continue;
        json_t *vote = vote_of(row);
        if (!vote || json_object_set_new(out, name, vote) != 0) {
            snprintf(err, errlen, "out of memory");
            json_decref(doc);
            return -1;
        }
        kept++;
    }
    json_decref(doc);
    return kept;
}
