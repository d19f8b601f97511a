/*
 * Suggestions (mode `suggest`): POST /api/v1/suggestions, which a steward
 * accepts or rejects in OpenMetadata's UI.  Before the first POST of an
 * entity the open suggestions of the table are listed once
 * (GET /api/v1/suggestions?entityFQN=<fqn>&status=Open), so that one
 * already open with the same value -- from an earlier run whose state was
 * lost, or another replica -- is adopted instead of duplicated.
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_PAGE 100
#define OPEN_MAX_PAGES 50

json_t *pub_tag_label(const char *tag_fqn)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "tagFQN", tag_fqn, "source",
                     "Classification", "labelType", "Automated", "state",
                     "Suggested");
}

static char *entity_link(const struct pub_job *j, const char *column)
{
    return column ? om_fmt("<#E::table::%s::columns::%s>", j->fqn, column)
                  : om_fmt("<#E::table::%s>", j->fqn);
}

static char *open_url(const struct pub_job *j, const char *after)
{
    char *fqn = om_urlencode(j->fqn);
    char *aft = after ? om_urlencode(after) : NULL;
    char *url = fqn && (!after || aft)
                    ? om_fmt("%s/suggestions?entityFQN=%s&status=Open&"
                             "limit=%d%s%s",
                             j->s->o.api, fqn, OPEN_PAGE, aft ? "&after=" : "",
                             aft ? aft : "")
                    : NULL;
    free(fqn);
    free(aft);
    return url;
}

/* Appends one page to j->open; *after becomes the next cursor (owned). */
static int open_page(struct pub_job *j, char **after)
{
    char *url = open_url(j, *after);
    if (!url)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    struct om_resp r;
    int rc = om_call(j, "GET", url, NULL, NULL, &r);
    free(*after);
    *after = NULL;
    if (rc == CS_OK && (r.status != 200 || !json_is_object(r.json)))
        rc = pub_fail(j, CS_ERR,
                      "GET %s returned %ld%s%s (the open suggestions are "
                      "needed to avoid duplicates)",
                      url, r.status, *om_message(&r) ? ": " : "",
                      om_message(&r));
    if (rc == CS_OK) {
        json_array_extend(j->open, json_object_get(r.json, "data"));
        const char *next = json_string_value(
            json_object_get(json_object_get(r.json, "paging"), "after"));
        *after = next && *next ? strdup(next) : NULL;
    }
    om_resp_clear(&r);
    free(url);
    return rc;
}

static int load_open(struct pub_job *j)
{
    if (j->open)
        return CS_OK;
    if (!(j->open = json_array()))
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    char *after = NULL;
    int rc = CS_OK;
    for (int page = 0; rc == CS_OK && page < OPEN_MAX_PAGES; page++) {
        rc = open_page(j, &after);
        if (!after)
            break;
    }
    free(after);
    return rc;
}

static bool has_tag(const json_t *labels, const char *tag)
{
    size_t i;
    json_t *l;
    json_array_foreach(labels, i, l)
    {
        const char *t = json_string_value(json_object_get(l, "tagFQN"));
        if (t && strcmp(t, tag) == 0)
            return true;
    }
    return false;
}

/* The id of an open suggestion with the same target and value, or NULL. */
static const char *find_open(const struct pub_job *j, const char *link,
                             const struct pub_suggestion *sg)
{
    size_t i;
    json_t *o;
    json_array_foreach(j->open, i, o)
    {
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *l = json_string_value(json_object_get(o, "entityLink"));
        const char *d = json_string_value(json_object_get(o, "description"));
        if (!type || !l || strcmp(l, link) != 0)
            continue;
        if (sg->description
                ? strcmp(type, "SuggestDescription") == 0 && d &&
                      strcmp(d, sg->description) == 0
                : strcmp(type, "SuggestTagLabel") == 0 &&
                      has_tag(json_object_get(o, "tagLabels"), sg->tag))
            return json_string_value(json_object_get(o, "id"));
    }
    return NULL;
}

static int remember(struct pub_job *j, const struct pub_suggestion *sg,
                    const char *id)
{
    json_t *v = json_deep_copy(sg->state);
    if (v && json_object_set_new(v, "suggestion", json_string(id)) != 0) {
        json_decref(v);
        v = NULL;
    }
    int rc = pub_state_set(j, sg->section, sg->field, v);
    if (rc == CS_OK)
        pub_done(j, sg->field);
    return rc;
}

static json_t *suggestion_body(const struct pub_suggestion *sg,
                               const char *link)
{
    if (sg->description)
        return json_pack("{s:s, s:s, s:s}", "type", "SuggestDescription",
                         "entityLink", link, "description", sg->description);
    return json_pack("{s:s, s:s, s:[o]}", "type", "SuggestTagLabel",
                     "entityLink", link, "tagLabels", pub_tag_label(sg->tag));
}

/* After a 201: state first (so a failed audit row cannot make the next
 * run send it again), then the audit row and the report. */
static int created(struct pub_job *j, const struct pub_suggestion *sg,
                   json_t *body, const json_t *answer)
{
    const char *id = json_string_value(json_object_get(answer, "id"));
    if (!id || !*id) {
        pub_field_error(j, sg->field,
                        "POST /suggestions answered without a suggestion id");
        return CS_OK;
    }
    pub_check_bot(j, json_string_value(json_object_get(
                         json_object_get(answer, "createdBy"), "name")));
    int rc = remember(j, sg, id);
    json_t *added = json_deep_copy(answer);
    json_array_append_new(j->open, added ? added : json_object());
    json_t *nv = json_pack("{s:s, s:O*, s:O*}", "suggestion", id, "description",
                           json_object_get(body, "description"), "tagLabels",
                           json_object_get(body, "tagLabels"));
    if (rc == CS_OK)
        rc = pub_audit(j, "suggest", sg->field, sg->old, nv, sg->evidence);
    json_decref(nv);
    if (rc == CS_OK)
        pub_sent(j, sg->field, "suggest",
                 json_pack("{s:s, s:s*}", "suggestion", id, "tag", sg->tag));
    return rc;
}

static int post(struct pub_job *j, const struct pub_suggestion *sg,
                const char *link)
{
    json_t *body = suggestion_body(sg, link);
    char *url = om_fmt("%s/suggestions", j->s->o.api);
    struct om_resp r = {0};
    int rc = body && url ? om_call(j, "POST", url, "application/json", body, &r)
                         : pub_fail(j, CS_ERR_NOMEM, "out of memory");
    if (rc == CS_OK && (r.status == 200 || r.status == 201))
        rc = created(j, sg, body, r.json);
    else if (rc == CS_OK && (r.status == 409 || r.status == 412))
        rc = PUB_CONFLICT;
    else if (rc == CS_OK)
        pub_field_error(j, sg->field, "POST %s for %s returned %ld%s%s", url,
                        link, r.status, *om_message(&r) ? ": " : "",
                        om_message(&r));
    om_resp_clear(&r);
    json_decref(body);
    free(url);
    return rc;
}

int pub_suggest(struct pub_job *j, const struct pub_suggestion *sg)
{
    if (!pub_link_safe(j->fqn) || (sg->column && !pub_link_safe(sg->column))) {
        pub_skip(j, sg->field,
                 "the name cannot be written in an entityLink (it holds "
                 "'<', '>', '|' or '::'); no suggestion");
        return CS_OK;
    }
    char *link = entity_link(j, sg->column);
    int rc = link ? load_open(j) : pub_fail(j, CS_ERR_NOMEM, "out of memory");
    const char *id = rc == CS_OK ? find_open(j, link, sg) : NULL;
    if (id) {
        rc = remember(j, sg, id);
        pub_skip(j, sg->field,
                 "suggestion %s with this value is already open; not "
                 "duplicated",
                 id);
    } else if (rc == CS_OK) {
        rc = post(j, sg, link);
    }
    free(link);
    return rc;
}
