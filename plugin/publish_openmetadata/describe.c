/*
 * Descriptions from the `description` aspect:
 *
 *   {"table": {"description": "..."},
 *    "columns": {"<name>": {"description": "..."}},
 *    "source": "describe_llm" | "describe_template", "model": "...", ...}
 *
 * A description is sent only when the entity's current one is empty or is
 * one this pass wrote (its hash is in the state's "ours"): a person's text
 * is never overwritten and gets no competing suggestion either.  A value
 * sent once in a mode is not sent again in that mode, so a rejected
 * suggestion or a person's removal of an applied text stands (switching
 * the mode does not re-send a value either: a suggestion a steward has
 * not decided yet stays theirs to decide).
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OURS 8

enum verdict { V_SEND, V_UNCHANGED, V_SKIP };

static bool in_list(const json_t *list, const char *hash)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s && strcmp(s, hash) == 0)
            return true;
    }
    return false;
}

static enum verdict verdict(const struct pub_job *j, const char *cur,
                            const char *value, const json_t *fst, char *why,
                            size_t n)
{
    char hv[17], hc[17];
    pub_hash(value, hv);
    if (cur && strcmp(cur, value) == 0)
        return V_UNCHANGED;
    if (cur && *cur) {
        pub_hash(cur, hc);
        if (!in_list(json_object_get(fst, "ours"), hc)) {
            snprintf(why, n,
                     "a person wrote the current description; left "
                     "alone");
            return V_SKIP;
        }
    }
    const char *last = json_string_value(json_object_get(fst, "hash"));
    if (!last || strcmp(last, hv) != 0)
        return V_SEND; /* a value sent once, in any mode, is not sent again */
    const char *sid = json_string_value(json_object_get(fst, "suggestion"));
    if (sid)
        snprintf(why, n,
                 "suggestion %s with this value was sent earlier (open, or "
                 "closed by a steward); not sent again",
                 sid);
    else
        snprintf(why, n,
                 "this value was applied earlier and a person has "
                 "changed or removed it since; not applied again");
    return V_SKIP;
}

/* The field's next state: this hash, the mode, the hashes we wrote. */
static json_t *next_state(const struct pub_job *j, const json_t *fst,
                          const char *hash)
{
    json_t *ours = json_array();
    json_t *old = json_object_get(fst, "ours");
    size_t n = json_array_size(old);
    for (size_t i = n > MAX_OURS - 1 ? n - (MAX_OURS - 1) : 0; i < n; i++) {
        const char *h = json_string_value(json_array_get(old, i));
        if (h && strcmp(h, hash) != 0)
            json_array_append_new(ours, json_string(h));
    }
    json_array_append_new(ours, json_string(hash));
    return json_pack("{s:s, s:s, s:o}", "hash", hash, "mode",
                     j->s->o.apply ? "apply" : "suggest", "ours", ours);
}

struct desc {
    const char *field, *column; /* column NULL: the table */
    long index;
    const char *value;
    const json_t *evidence;
};

static int apply_one(struct pub_job *j, const struct desc *d, const json_t *old,
                     json_t *state)
{
    char path[48];
    int rc = CS_OK;
    if (d->column) {
        rc = pub_patch_guard(j, d->index, d->column);
        snprintf(path, sizeof path, "/columns/%ld/description", d->index);
    } else {
        snprintf(path, sizeof path, "/description");
    }
    json_t *nv = json_string(d->value);
    if (rc == CS_OK)
        rc = pub_patch_op(j, json_pack("{s:s, s:s, s:O}", "op", "add", "path",
                                       path, "value", nv));
    if (rc == CS_OK)
        rc = pub_patch_record(j, d->field, old, nv, d->evidence, "fields",
                              json_incref(state));
    json_decref(nv);
    return rc;
}

static int publish_one(struct pub_job *j, const struct desc *d)
{
    if (pub_is_done(j, d->field))
        return CS_OK;
    const json_t *holder = d->column ? pub_column(j, d->index) : j->entity;
    const char *cur = json_string_value(json_object_get(holder, "description"));
    const json_t *fst = pub_state_entry(j, "fields", d->field);
    char why[256];
    enum verdict v = verdict(j, cur, d->value, fst, why, sizeof why);
    if (v == V_UNCHANGED)
        j->unchanged++;
    if (v == V_SKIP)
        pub_skip(j, d->field, "%s", why);
    if (v != V_SEND)
        return CS_OK;
    char hv[17];
    pub_hash(d->value, hv);
    json_t *state = next_state(j, fst, hv);
    json_t *old = cur && *cur ? json_string(cur) : json_null();
    int rc = !state || !old  ? pub_fail(j, CS_ERR_NOMEM, "out of memory")
             : j->s->o.apply ? apply_one(j, d, old, state)
                             : pub_suggest(j, &(struct pub_suggestion){
                                                  .field = d->field,
                                                  .column = d->column,
                                                  .description = d->value,
                                                  .old = old,
                                                  .evidence = d->evidence,
                                                  .section = "fields",
                                                  .state = state,
                                              });
    json_decref(state);
    json_decref(old);
    return rc;
}

static int publish_column(struct pub_job *j, const char *name, const json_t *c,
                          const json_t *evidence)
{
    const char *value = json_string_value(json_object_get(c, "description"));
    char *field = om_fmt("columns.%s.description", name);
    if (!field)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    int rc = CS_OK;
    long index = pub_column_index(j, name);
    if (!value || !*value)
        pub_skip(j, field, "the description aspect has no text for it");
    else if (index < 0)
        pub_skip(j, field, "column %s is not in OpenMetadata's entity", name);
    else
        rc =
            publish_one(j, &(struct desc){field, name, index, value, evidence});
    free(field);
    return rc;
}

/* Only the two producers the pass knows: another shape is refused whole
 * rather than half understood. */
static bool known_source(const json_t *d)
{
    const char *src = json_string_value(json_object_get(d, "source"));
    return src && (strcmp(src, "describe_llm") == 0 ||
                   strcmp(src, "describe_template") == 0);
}

int pub_descriptions(struct pub_job *j)
{
    const json_t *d = j->h->aspect_get(j->ctx, "description");
    if (!d)
        return CS_OK;
    if (!json_is_object(d) || !known_source(d)) {
        pub_skip(j, "description",
                 "the description aspect is not {table, columns, source: "
                 "describe_llm|describe_template}; nothing of it published");
        return CS_OK;
    }
    json_t *ev =
        json_pack("{s:O?, s:O?}", "source", json_object_get(d, "source"),
                  "model", json_object_get(d, "model"));
    const char *tv = json_string_value(
        json_object_get(json_object_get(d, "table"), "description"));
    int rc = ev ? CS_OK : pub_fail(j, CS_ERR_NOMEM, "out of memory");
    if (rc == CS_OK && tv && *tv)
        rc = publish_one(j, &(struct desc){"description", NULL, -1, tv, ev});
    const char *name;
    json_t *c;
    json_object_foreach(json_object_get(d, "columns"), name, c)
    {
        if (rc < 0 || rc == PUB_CONFLICT)
            break;
        rc = publish_column(j, name, c, ev);
    }
    json_decref(ev);
    return rc;
}
