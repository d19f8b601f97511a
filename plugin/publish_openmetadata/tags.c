/*
 * PII tags from the `pii` aspect (plugin/pii_tag).  Only columns with
 * status "tagged" and a tag are published; candidates, name-only signals,
 * human tags and withdrawn tags never become tags.
 *
 * A classification such as PII is mutually exclusive: a column holds one
 * PII.* label.  Against the fresh entity:
 *   - the same tag is there already               -> unchanged;
 *   - a label of the classification that a person set (labelType Manual,
 *     Propagated or Derived) or confirmed (state Confirmed) -> left alone;
 *   - a machine label (Automated or Generated, state Suggested) with
 *     another tag -> replaced in place (apply), never a second label;
 *   - none -> added.
 * What we send is always {tagFQN, source: Classification, labelType:
 * Automated, state: Suggested}: nothing an older server would refuse.
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Labels of one classification on a column. */
struct labels {
    long same;           /* index of a label with our tag, -1 */
    long machine;        /* index of a replaceable machine label, -1 */
    const json_t *human; /* a label a person set or confirmed, or NULL */
    json_t *old;         /* [labels of the classification], for the audit row */
};

static const char *str_or(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "?";
}

static bool same_classification(const char *a, const char *b)
{
    const char *da = strchr(a, '.'), *db = strchr(b, '.');
    size_t na = da ? (size_t)(da - a) : strlen(a);
    size_t nb = db ? (size_t)(db - b) : strlen(b);
    return na == nb && strncmp(a, b, na) == 0;
}

static bool is_machine_suggestion(const json_t *label)
{
    const char *lt = json_string_value(json_object_get(label, "labelType"));
    const char *st = json_string_value(json_object_get(label, "state"));
    return lt && st && strcmp(st, "Suggested") == 0 &&
           (strcmp(lt, "Automated") == 0 || strcmp(lt, "Generated") == 0);
}

static void scan(const json_t *tags, const char *tag, struct labels *l)
{
    *l = (struct labels){-1, -1, NULL, json_array()};
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *f = json_string_value(json_object_get(t, "tagFQN"));
        if (!f || !same_classification(f, tag))
            continue;
        json_array_append(l->old, t);
        if (strcmp(f, tag) == 0 && l->same < 0)
            l->same = (long)i;
        else if (is_machine_suggestion(t) && l->machine < 0)
            l->machine = (long)i;
        else if (!is_machine_suggestion(t) && !l->human)
            l->human = t;
    }
}

static json_t *tag_evidence(const json_t *entry)
{
    return json_pack("{s:O*, s:O*, s:O*, s:O*, s:O*, s:O*}", "entity",
                     json_object_get(entry, "entity"), "score",
                     json_object_get(entry, "score"), "confidence",
                     json_object_get(entry, "confidence"), "status",
                     json_object_get(entry, "status"), "evidence",
                     json_object_get(entry, "evidence"), "reason",
                     json_object_get(entry, "reason"));
}

struct tag_job {
    const char *field, *column, *tag;
    long index;
    const json_t *tags; /* the column's current labels, may be NULL */
    struct labels l;
    json_t *evidence;
};

/* The ops of one column: name guard, then replace our machine label in
 * place (guarded by its tagFQN) or append. */
static int apply_tag(struct pub_job *j, struct tag_job *t, json_t *state)
{
    char path[64], test[80];
    json_t *label = pub_tag_label(t->tag);
    int rc = label ? pub_patch_guard(j, t->index, t->column)
                   : pub_fail(j, CS_ERR_NOMEM, "out of memory");
    if (rc == CS_OK && t->l.machine >= 0) {
        snprintf(path, sizeof path, "/columns/%ld/tags/%ld", t->index,
                 t->l.machine);
        snprintf(test, sizeof test, "%s/tagFQN", path);
        rc = pub_patch_op(
            j, json_pack("{s:s, s:s, s:O}", "op", "test", "path", test, "value",
                         json_object_get(
                             json_array_get(t->tags, (size_t)t->l.machine),
                             "tagFQN")));
        if (rc == CS_OK)
            rc = pub_patch_op(j, json_pack("{s:s, s:s, s:O}", "op", "replace",
                                           "path", path, "value", label));
    } else if (rc == CS_OK) {
        bool list = json_is_array(t->tags);
        snprintf(path, sizeof path, "/columns/%ld/tags%s", t->index,
                 list ? "/-" : "");
        rc = pub_patch_op(
            j, json_pack("{s:s, s:s, s:o}", "op", "add", "path", path, "value",
                         list ? json_incref(label) : json_pack("[O]", label)));
    }
    if (rc == CS_OK)
        rc = pub_patch_record(j, t->field, t->l.old, label, t->evidence, "tags",
                              json_incref(state));
    json_decref(label);
    return rc;
}

/* Unchanged, left alone, already sent: CS_OK without a write. */
static bool settled(struct pub_job *j, struct tag_job *t)
{
    if (t->l.same >= 0) {
        j->unchanged++;
        return true;
    }
    if (t->l.human) {
        const json_t *h = t->l.human;
        pub_skip(j, t->field,
                 "a person set %s (labelType %s, state %s); "
                 "left alone",
                 json_string_value(json_object_get(h, "tagFQN")),
                 str_or(json_object_get(h, "labelType")),
                 str_or(json_object_get(h, "state")));
        return true;
    }
    const json_t *e = pub_state_entry(j, "tags", t->field);
    const char *prev = json_string_value(json_object_get(e, "tag"));
    if (!prev || strcmp(prev, t->tag) != 0)
        return false; /* sent once, in any mode: not again */
    const char *sid = json_string_value(json_object_get(e, "suggestion"));
    if (sid)
        pub_skip(j, t->field,
                 "suggestion %s of %s was sent earlier (open, or closed by a "
                 "steward); not sent again",
                 sid, t->tag);
    else
        pub_skip(j, t->field,
                 "%s was applied earlier and a person has removed it since; "
                 "not applied again",
                 t->tag);
    return true;
}

static int publish_tag(struct pub_job *j, struct tag_job *t)
{
    t->tags = json_object_get(pub_column(j, t->index), "tags");
    scan(t->tags, t->tag, &t->l);
    json_t *state = json_pack("{s:s, s:s}", "tag", t->tag, "mode",
                              j->s->o.apply ? "apply" : "suggest");
    int rc = !t->l.old || !state || !t->evidence
                 ? pub_fail(j, CS_ERR_NOMEM, "out of memory")
                 : CS_OK;
    if (rc == CS_OK && !settled(j, t))
        rc = j->s->o.apply ? apply_tag(j, t, state)
                           : pub_suggest(j, &(struct pub_suggestion){
                                                .field = t->field,
                                                .column = t->column,
                                                .tag = t->tag,
                                                .old = t->l.old,
                                                .evidence = t->evidence,
                                                .section = "tags",
                                                .state = state,
                                            });
    json_decref(state);
    json_decref(t->l.old);
    return rc;
}

/* apply only, and only a label this pass applied and nobody confirmed:
 * the evidence for it is gone, so it goes. */
static int withdraw_ours(struct pub_job *j, struct tag_job *t, long k)
{
    char path[64], test[80];
    snprintf(path, sizeof path, "/columns/%ld/tags/%ld", t->index, k);
    snprintf(test, sizeof test, "%s/tagFQN", path);
    json_t *label = json_array_get(t->tags, (size_t)k);
    json_t *state =
        json_pack("{s:n, s:s, s:s}", "tag", "mode", "apply", "removed", t->tag);
    int rc = state ? pub_patch_guard(j, t->index, t->column)
                   : pub_fail(j, CS_ERR_NOMEM, "out of memory");
    if (rc == CS_OK)
        rc = pub_patch_op(j, json_pack("{s:s, s:s, s:s}", "op", "test", "path",
                                       test, "value", t->tag));
    if (rc == CS_OK)
        rc = pub_patch_op(
            j, json_pack("{s:s, s:s}", "op", "remove", "path", path));
    if (rc == CS_OK)
        rc = pub_patch_record(j, t->field, label, json_null(), t->evidence,
                              "tags", state);
    else
        json_decref(state);
    return rc;
}

static int withdraw(struct pub_job *j, struct tag_job *t)
{
    const json_t *e = pub_state_entry(j, "tags", t->field);
    const char *mode = json_string_value(json_object_get(e, "mode"));
    t->tag = json_string_value(json_object_get(e, "tag"));
    if (!j->s->o.apply || !t->tag || !mode || strcmp(mode, "apply") != 0) {
        pub_skip(j, t->field, "pii_tag withdrew an earlier automated tag; %s",
                 j->s->o.apply ? "this pass did not apply it, left alone"
                               : "in suggest mode removals are left to a "
                                 "steward");
        return CS_OK;
    }
    t->tags = json_object_get(pub_column(j, t->index), "tags");
    size_t i;
    json_t *l;
    json_array_foreach(t->tags, i, l)
    {
        const char *f = json_string_value(json_object_get(l, "tagFQN"));
        if (f && strcmp(f, t->tag) == 0 && is_machine_suggestion(l))
            return withdraw_ours(j, t, (long)i);
    }
    j->unchanged++; /* already gone, or confirmed by a person */
    return CS_OK;
}

static int tag_column(struct pub_job *j, struct tag_job *t, const json_t *entry)
{
    const char *status = json_string_value(json_object_get(entry, "status"));
    const char *tag = json_string_value(json_object_get(entry, "tag"));
    bool tagged = status && strcmp(status, "tagged") == 0 && tag && *tag;
    bool withdrawn = json_is_true(json_object_get(entry, "withdrawn"));
    if (!tagged && !withdrawn) {
        if (status && strcmp(status, "candidate") == 0)
            pub_skip(j, t->field, "a PII candidate, not a tag; not published");
        return CS_OK;
    }
    if (t->index < 0) {
        pub_skip(j, t->field, "column %s is not in OpenMetadata's entity",
                 t->column);
        return CS_OK;
    }
    t->tag = tag;
    return tagged ? publish_tag(j, t) : withdraw(j, t);
}

int pub_tags(struct pub_job *j)
{
    const json_t *pii = j->h->aspect_get(j->ctx, "pii");
    const char *name;
    json_t *entry;
    int rc = CS_OK;
    json_object_foreach(json_object_get(pii, "columns"), name, entry)
    {
        char *field = om_fmt("columns.%s.tags", name);
        json_t *ev = tag_evidence(entry);
        struct tag_job t = {.field = field, .column = name, .evidence = ev};
        if (!field || !ev)
            rc = pub_fail(j, CS_ERR_NOMEM, "out of memory");
        else if (!pub_is_done(j, field)) {
            t.index = pub_column_index(j, name);
            rc = tag_column(j, &t, entry);
        }
        free(field);
        json_decref(ev);
        if (rc < 0 || rc == PUB_CONFLICT)
            break;
    }
    return rc;
}
