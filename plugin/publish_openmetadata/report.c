/*
 * What the pass says about an entity: the `published` aspect (fields sent,
 * skipped and why, counts, suggestion ids; never a description text or a
 * sampled value), one audit row per write, metrics and the entity's error.
 */
#include "publish.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pub_fail(struct pub_job *j, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->fatal, sizeof j->fatal, fmt, ap);
    va_end(ap);
    j->h->set_error(j->ctx, "%s", j->fatal);
    return rc;
}

/* The row is what a steward or an auditor reads: a write without it is an
 * error (the host's contract), so the entity stops writing. */
int pub_audit(struct pub_job *j, const char *action, const char *field,
              const json_t *old, const json_t *new_value,
              const json_t *evidence)
{
    if (!CS_HOST_HAS(j->h, audit)) {
        j->h->log(j->ctx, CS_LOG_WARN,
                  "host without audit(): %s of %s on %s is not audited", action,
                  field, j->target);
        return CS_OK;
    }
    int rc =
        j->h->audit(j->ctx, j->target, action, field, old, new_value, evidence);
    if (rc != CS_OK)
        return pub_fail(j, rc, "cannot write the audit row of %s %s on %s: %s",
                        action, field, j->target, j->h->last_error(j->ctx));
    return CS_OK;
}

void pub_sent(struct pub_job *j, const char *field, const char *action,
              json_t *extra)
{
    json_t *e = json_pack("{s:s, s:s}", "field", field, "action", action);
    if (e && extra)
        json_object_update(e, extra);
    json_decref(extra);
    json_array_append_new(j->sent, e);
}

void pub_skip(struct pub_job *j, const char *field, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    json_array_append_new(
        j->skipped, json_pack("{s:s, s:s}", "field", field, "reason", why));
    j->h->log(j->ctx, CS_LOG_DEBUG, "%s: %s", field, why);
}

void pub_field_error(struct pub_job *j, const char *field, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    json_array_append_new(
        j->failed, json_pack("{s:s, s:s}", "field", field, "error", why));
    j->h->log(j->ctx, CS_LOG_WARN, "%s: %s", field, why);
}

void pub_check_bot(struct pub_job *j, const char *actor)
{
    const char *bot = j->s->o.bot_name;
    if (!actor || !bot || !*bot || strcmp(actor, bot) == 0)
        return;
    j->h->log(j->ctx, CS_LOG_WARN,
              "OpenMetadata recorded this write as `%s`, not config.bot_name "
              "`%s`: a discovery that skips the bot's own changes will see "
              "it as a person's edit; give the bot's token or fix bot_name",
              actor, bot);
}

static long count_action(const json_t *sent, const char *action)
{
    long n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(sent, i, e)
    {
        const char *a = json_string_value(json_object_get(e, "action"));
        n += a && strcmp(a, action) == 0;
    }
    return n;
}

static json_t *counts(const struct pub_job *j)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "suggested",
                     (json_int_t)count_action(j->sent, "suggest"), "patched",
                     (json_int_t)count_action(j->sent, "patch"), "lineage",
                     (json_int_t)count_action(j->sent, "lineage.put"),
                     "unchanged", (json_int_t)j->unchanged, "skipped",
                     (json_int_t)json_array_size(j->skipped), "errors",
                     (json_int_t)json_array_size(j->failed));
}

static void metrics(const struct pub_job *j, const json_t *c)
{
    const cs_host_api *h = j->h;
    h->metric_add(j->ctx, "suggestions_sent",
                  (double)json_integer_value(json_object_get(c, "suggested")));
    h->metric_add(j->ctx, "fields_patched",
                  (double)json_integer_value(json_object_get(c, "patched")));
    h->metric_add(j->ctx, "lineage_edges_put",
                  (double)json_integer_value(json_object_get(c, "lineage")));
    h->metric_add(j->ctx, "fields_skipped",
                  (double)json_integer_value(json_object_get(c, "skipped")));
}

int pub_report(struct pub_job *j, const char *status, const char *reason)
{
    json_t *c = counts(j);
    json_t *out =
        json_pack("{s:s, s:s, s:s*, s:o*, s:O, s:O, s:O}", "status", status,
                  "mode", j->s->o.apply ? "apply" : "suggest", "target",
                  j->id ? j->target : NULL, "counts", c, "sent", j->sent,
                  "skipped", j->skipped, "errors", j->failed);
    if (!out)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory for `published`");
    if (reason)
        json_object_set_new(out, "reason", json_string(reason));
    metrics(j, c);
    j->h->log(j->ctx, CS_LOG_INFO,
              "%s: %s, %zu sent, %ld unchanged, %zu skipped, %zu errors",
              j->fqn, status, json_array_size(j->sent), j->unchanged,
              json_array_size(j->skipped), json_array_size(j->failed));
    return j->h->aspect_put(j->ctx, "published", out);
}
