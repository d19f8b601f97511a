/*
 * From candidates to entities: each changed table is fetched fresh (the
 * search index lags the database and holds a partial document), then
 * emitted as it is, reported deleted, or skipped because the daemon's own
 * bot made its last change.
 */
#include "dom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dom_emit_deleted(struct dom_run *run, const char *fqn)
{
    const cs_host_api *h = run->s->host;
    if (json_object_get(run->done, fqn))
        return CS_OK;
    int rc = h->emit_deleted(run->ctx, fqn);
    if (rc != CS_OK) {
        h->set_error(run->ctx, "table %s: emit_deleted: %s", fqn,
                     h->last_error(run->ctx));
        return rc;
    }
    run->deleted++;
    h->log(run->ctx, CS_LOG_DEBUG, "table %s: deleted in OpenMetadata", fqn);
    return json_object_set_new(run->done, fqn, json_true()) ? CS_ERR_NOMEM
                                                            : CS_OK;
}

static bool by_bot(const struct dom_run *run, const json_t *t)
{
    const char *who = json_string_value(json_object_get(t, "updatedBy"));
    return who && strcmp(who, run->s->bot) == 0;
}

/* Our own writes (publishing) come back as changes: not re-emitting them
 * is what keeps a publish from triggering the next run's work. */
static void skip_bot(struct dom_run *run, const char *fqn)
{
    run->skipped_bot++;
    run->s->host->log(run->ctx, CS_LOG_DEBUG,
                      "table %s: last changed by %s (this daemon), not "
                      "re-emitted",
                      fqn, run->s->bot);
}

/* What downstream passes read besides the OpenMetadata fields (the
 * Postgres source adds the same member). */
static json_t *sync_member(const struct dom_run *run, const json_t *t,
                           const json_t *parts)
{
    return json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:s?}", "source",
                     "openmetadata", "id", json_object_get(t, "id"), "service",
                     json_array_get(parts, 0), "database",
                     json_array_get(parts, 1), "schema",
                     json_array_get(parts, 2), "table",
                     json_array_get(parts, json_array_size(parts) - 1),
                     "connection", run->s->connection);
}

/* Filters and the bot rule, applied again to the fresh entity: the
 * index may have been stale, and a target comes unfiltered. */
static bool wanted(struct dom_run *run, const json_t *t, const char *fqn,
                   const json_t *parts, bool skip_bot_change)
{
    if (!parts || !dom_in_filters(run->s, parts)) {
        run->filtered++;
        return false;
    }
    if (dom_excluded(run->s, parts, fqn)) {
        run->excluded++;
        return false;
    }
    if (skip_bot_change && by_bot(run, t)) {
        skip_bot(run, fqn);
        return false;
    }
    return json_object_get(run->done, fqn) == NULL;
}

/* Emits `t` (stolen) under its own FQN, with the catalogSync member. */
static int emit_table(struct dom_run *run, json_t *t, bool skip_bot_change)
{
    const cs_host_api *h = run->s->host;
    const char *fqn =
        json_string_value(json_object_get(t, "fullyQualifiedName"));
    json_t *parts = dom_fqn_split(fqn);
    if (!wanted(run, t, fqn, parts, skip_bot_change)) {
        json_decref(parts);
        json_decref(t);
        return CS_OK;
    }
    /* json_object_set_new steals `sync`, NULL included. */
    int err = json_object_set_new(t, "catalogSync", sync_member(run, t, parts));
    json_decref(parts);
    char *key = err ? NULL : strdup(fqn); /* t is stolen by emit_entity */
    if (!key || json_object_set_new(run->done, key, json_true()) != 0) {
        free(key);
        json_decref(t);
        return CS_ERR_NOMEM;
    }
    int rc = h->emit_entity(run->ctx, key, t);
    if (rc != CS_OK)
        h->set_error(run->ctx, "table %s: emit failed: %s", key,
                     h->last_error(run->ctx));
    run->emitted += rc == CS_OK;
    free(key);
    return rc;
}

static char *entity_url(const struct dom_run *run, const char *id,
                        const char *fqn)
{
    char *enc = om_urlencode(id ? id : fqn);
    char *url = enc ? om_fmt("%s/tables/%s%s?fields=columns,tags,"
                             "tableConstraints&include=all",
                             run->s->api, id ? "" : "name/", enc)
                    : NULL;
    free(enc);
    return url;
}

static int vanished(struct dom_run *run, const char *id, const char *fqn)
{
    const cs_host_api *h = run->s->host;
    if (!fqn) {
        h->log(run->ctx, CS_LOG_WARN,
               "table id %s is gone from OpenMetadata (404) and its FQN is "
               "unknown: nothing to report deleted",
               id);
        return CS_OK;
    }
    h->log(run->ctx, CS_LOG_INFO,
           "table %s is gone from OpenMetadata (404): reported deleted", fqn);
    return dom_emit_deleted(run, fqn);
}

int dom_fetch_emit(struct dom_run *run, const char *id, const char *fqn,
                   bool skip_bot)
{
    char *url = entity_url(run, id, fqn);
    json_t *t = NULL;
    int rc = url ? dom_get_json(run, url, &t) : CS_ERR_NOMEM;
    if (rc == CS_ERR_NOT_FOUND) {
        free(url);
        return vanished(run, id, fqn);
    }
    const char *got =
        json_string_value(json_object_get(t, "fullyQualifiedName"));
    if (rc == CS_OK && (!got || !json_is_string(json_object_get(t, "id")))) {
        run->s->host->set_error(run->ctx,
                                "GET %s: the table has no id or "
                                "fullyQualifiedName",
                                url);
        rc = CS_ERR;
    }
    free(url);
    if (rc != CS_OK) {
        json_decref(t);
        return rc;
    }
    /* A rename leaves the old FQN behind in the state store. */
    if (fqn && strcmp(fqn, got) != 0)
        rc = dom_emit_deleted(run, fqn);
    if (rc == CS_OK && json_is_true(json_object_get(t, "deleted")))
        rc = dom_emit_deleted(run, got);
    else if (rc == CS_OK)
        return emit_table(run, t, skip_bot);
    json_decref(t);
    return rc;
}

static int process_one(struct dom_run *run, const char *id, const json_t *c)
{
    const char *fqn = json_string_value(json_object_get(c, "fqn"));
    json_t *parts = dom_fqn_split(fqn);
    bool excluded = !parts || dom_excluded(run->s, parts, fqn);
    json_decref(parts);
    if (excluded) {
        run->excluded++;
        return CS_OK;
    }
    if (json_is_true(json_object_get(c, "deleted")))
        return dom_emit_deleted(run, fqn);
    if (!run->emit_all && by_bot(run, c)) {
        skip_bot(run, fqn);
        return CS_OK;
    }
    return dom_fetch_emit(run, id, fqn, !run->emit_all);
}

int dom_process(struct dom_run *run)
{
    const char *id;
    json_t *c;
    json_object_foreach(run->cand, id, c)
    {
        if (run->s->host->should_stop(run->ctx))
            return CS_ERR_STOPPING;
        int rc = process_one(run, id, c);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

/* Keeps {id: updatedAt} of what was considered at or after `low`. */
static int keep_recent(json_t *seen, const json_t *from, long long low,
                       bool candidates)
{
    const char *id;
    json_t *v;
    json_object_foreach((json_t *)from, id, v)
    {
        json_t *at = candidates ? json_object_get(v, "updatedAt") : v;
        if (!json_is_integer(at) || json_integer_value(at) < low)
            continue;
        if (json_object_set(seen, id, at) != 0)
            return -1;
    }
    return 0;
}

json_t *dom_watermark(const struct dom_run *run)
{
    long long w = run->first ? 0 : run->wm;
    const char *id;
    json_t *c;
    json_object_foreach(run->cand, id, c)
    {
        long long at = json_integer_value(json_object_get(c, "updatedAt"));
        w = at > w ? at : w;
    }
    long long low = w - run->s->index_lag_ms;
    json_t *seen = json_object();
    if (!seen || keep_recent(seen, run->seen, low, false) != 0 ||
        keep_recent(seen, run->cand, low, true) != 0) {
        json_decref(seen);
        return NULL;
    }
    return json_pack("{s:I, s:o}", "updatedAt", (json_int_t)w, "seen", seen);
}
