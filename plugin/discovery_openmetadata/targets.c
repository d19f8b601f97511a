/*
 * Targeted runs: a catalog webhook named the tables that changed, so only
 * those are fetched.  The watermark is left alone: the next full run
 * still lists everything changed since it.
 */
#include "dom.h"

#include <string.h>

/* A deletion is reported only for a table the filters would have let in. */
static int target_deleted(struct dom_run *run, const char *fqn)
{
    json_t *parts = dom_fqn_split(fqn);
    bool wanted = parts && dom_in_filters(run->s, parts) &&
                  !dom_excluded(run->s, parts, fqn);
    json_decref(parts);
    if (!wanted) {
        run->filtered++;
        return CS_OK;
    }
    return dom_emit_deleted(run, fqn);
}

static int one_target(struct dom_run *run, size_t i, const json_t *t)
{
    const cs_host_api *h = run->s->host;
    const char *id = json_string_value(json_object_get(t, "id"));
    const char *fqn = json_string_value(json_object_get(t, "fqn"));
    const char *event = json_string_value(json_object_get(t, "event"));
    if ((!id || !*id) && (!fqn || !*fqn)) {
        h->log(run->ctx, CS_LOG_WARN,
               "run target %zu has neither an id nor a fqn: ignored", i);
        return CS_OK;
    }
    run->found++;
    if (event && strcmp(event, "deleted") == 0 && fqn && *fqn)
        return target_deleted(run, fqn);
    /* Without a FQN a deletion is resolved by the fetch: a soft-deleted
     * table still answers (include=all) and says deleted. */
    return dom_fetch_emit(run, id && *id ? id : NULL, fqn && *fqn ? fqn : NULL,
                          true);
}

int dom_targets(struct dom_run *run, const json_t *targets)
{
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        if (run->s->host->should_stop(run->ctx))
            return CS_ERR_STOPPING;
        int rc = one_target(run, i, t);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}
