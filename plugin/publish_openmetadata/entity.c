/*
 * The fresh Table entity and the per-entity pass state.
 *
 * Decisions are always taken on the entity as OpenMetadata holds it now
 * (column indexes, current descriptions and tags), never on the `table`
 * aspect, which may be hours old or come from another source.  The pass
 * state (host->state_get/state_put, key "table:<fqn>") remembers what this
 * pass suggested, applied and put, as value hashes and suggestion ids:
 *
 *   {"v": 1,
 *    "fields": {"columns.email.description": {"hash", "mode", "suggestion"?,
 *                                             "ours": [hash, ...]}},
 *    "tags":   {"columns.email.tags": {"tag", "mode", "suggestion"?}},
 *    "lineage": {"<edge key>": {"hash", "from"}}}
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pub_hash(const char *s, char out[17])
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int check_entity(struct pub_job *j, const char *url)
{
    const char *id = json_string_value(json_object_get(j->entity, "id"));
    if (!id || !*id || strlen(id) > 64 ||
        !json_is_array(json_object_get(j->entity, "columns")))
        return pub_fail(j, CS_ERR,
                        "GET %s: the answer is not a Table entity (no id or "
                        "no columns)",
                        url);
    j->id = id;
    snprintf(j->target, sizeof j->target, "openmetadata:table/%s", id);
    return CS_OK;
}

int pub_fetch_entity(struct pub_job *j)
{
    char *enc = om_urlencode(j->fqn);
    char *url =
        enc ? om_fmt("%s/tables/name/%s?fields=columns,tags", j->s->o.api, enc)
            : NULL;
    free(enc);
    if (!url)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    json_decref(j->entity);
    j->entity = NULL;
    j->id = NULL;
    struct om_resp r;
    int rc = om_call(j, "GET", url, NULL, NULL, &r);
    if (rc == CS_OK && r.status == 404) {
        snprintf(j->note, sizeof j->note,
                 "table %s is not in OpenMetadata (GET %s returned 404)",
                 j->fqn, url);
        rc = PUB_GONE;
    } else if (rc == CS_OK && (r.status != 200 || !json_is_object(r.json))) {
        rc = pub_fail(j, CS_ERR, "GET %s returned %ld%s%s", url, r.status,
                      *om_message(&r) ? ": " : "", om_message(&r));
    } else if (rc == CS_OK) {
        j->entity = json_incref(r.json);
        rc = check_entity(j, url);
    }
    om_resp_clear(&r);
    free(url);
    return rc;
}

json_t *pub_column(const struct pub_job *j, long index)
{
    return json_array_get(json_object_get(j->entity, "columns"), (size_t)index);
}

long pub_column_index(const struct pub_job *j, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j->entity, "columns"), i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0)
            return (long)i;
    }
    return -1;
}

json_t *pub_state_entry(const struct pub_job *j, const char *section,
                        const char *key)
{
    json_t *e = json_object_get(json_object_get(j->st, section), key);
    return json_is_object(e) ? e : NULL;
}

int pub_state_set(struct pub_job *j, const char *section, const char *key,
                  json_t *value)
{
    json_t *sec = json_object_get(j->st, section);
    if (!json_is_object(sec)) {
        sec = json_object();
        if (json_object_set_new(j->st, section, sec) != 0)
            sec = NULL;
    }
    if (!sec)
        json_decref(value);
    /* json_object_set_new steals value even when it fails */
    if (!sec || !value || json_object_set_new(sec, key, value) != 0)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    j->st_dirty = true;
    return CS_OK;
}

static char *state_key(const struct pub_job *j)
{
    return om_fmt("table:%s", j->fqn);
}

int pub_state_load(struct pub_job *j)
{
    char *key = state_key(j);
    if (!key)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    json_t *v = j->h->state_get(j->ctx, key);
    free(key);
    if (v && !json_is_object(v)) {
        j->h->log(j->ctx, CS_LOG_WARN,
                  "pass state of %s is not an object; starting afresh", j->fqn);
        json_decref(v);
        v = NULL;
    }
    j->st = v ? v : json_pack("{s:i}", "v", 1);
    return j->st ? CS_OK : pub_fail(j, CS_ERR_NOMEM, "out of memory");
}

/* Without the state a later run would send everything again, so failing
 * to write it fails the entity. */
int pub_state_save(struct pub_job *j)
{
    if (!j->st_dirty)
        return CS_OK;
    if (!CS_HOST_HAS(j->h, state_put))
        return pub_fail(j, CS_ERR_DENIED,
                        "cannot record what was published for %s: the host "
                        "gives this pass no state_put",
                        j->fqn);
    char *key = state_key(j);
    if (!key)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    int rc = j->h->state_put(j->ctx, key, json_incref(j->st));
    free(key);
    if (rc != CS_OK)
        return pub_fail(j, rc, "cannot record what was published for %s: %s",
                        j->fqn, j->h->last_error(j->ctx));
    j->st_dirty = false;
    return CS_OK;
}

/* OpenMetadata's entityLink pattern: segments of [^:<>|] where a single
 * ':' is followed by another such character; "::" separates segments. */
bool pub_link_safe(const char *s)
{
    if (!s || !*s || *s == ':')
        return false;
    for (const char *p = s; *p; p++) {
        if (strchr("<>|", *p))
            return false;
        if (*p == ':' && (p[1] == '\0' || strchr(":<>|", p[1])))
            return false;
    }
    return true;
}

void pub_done(struct pub_job *j, const char *field)
{
    json_object_set_new(j->done, field, json_true());
}

bool pub_is_done(const struct pub_job *j, const char *field)
{
    return json_object_get(j->done, field) != NULL;
}
