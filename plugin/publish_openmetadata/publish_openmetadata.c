/*
 * publish_openmetadata: the sink to OpenMetadata.
 *
 * An entity pass placed after the batch passes (fk_discover), so it sees
 * the persisted `pii`, `fk` and `description` aspects of each table.  For
 * every table it fetches the entity fresh, then sends what is new:
 * descriptions and PII tags as Suggestions (mode suggest, the default) or
 * as one guarded JSON Patch (mode apply), and confirmed foreign keys as
 * lineage edges.  A person's description or tag is never overwritten.
 * What was sent is kept in the pass state so that a second run with the
 * same inputs sends nothing; every write gets an audit row; the
 * `published` aspect says what was sent, skipped and why.
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {"pii", CS_ASPECT_OPTIONAL},
                                          {"fk", CS_ASPECT_OPTIONAL},
                                          {"description", CS_ASPECT_OPTIONAL},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"published", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"base_url", CS_OPT_STRING, NULL,
     "OpenMetadata server, e.g. http://openmetadata:8585 (API under /api/v1)",
     CS_OPTION_REQUIRED},
    {"token", CS_OPT_STRING, NULL,
     "bot JWT (write token_file: PATH or ${VAR}); else token_env is read", 0},
    {"token_env", CS_OPT_STRING, "\"OPENMETADATA_TOKEN\"",
     "environment variable holding the bot JWT when token is not given", 0},
    {"mode", CS_OPT_STRING, "\"suggest\"",
     "suggest (Suggestions a steward accepts) or apply (JSON Patch)", 0},
    {"descriptions", CS_OPT_BOOL, "true", "publish the description aspect", 0},
    {"tags", CS_OPT_BOOL, "true", "publish PII tags from the pii aspect", 0},
    {"lineage", CS_OPT_BOOL, "true",
     "publish confirmed foreign keys as lineage edges", 0},
    {"bot_name", CS_OPT_STRING, "\"catalog-sync-bot\"",
     "the OpenMetadata bot the token belongs to (checked on every write)", 0},
    {"timeout_ms", CS_OPT_INT, "30000", "timeout of one request", 0},
    {"max_retries", CS_OPT_INT, "3",
     "retries the host makes on connect errors, 429, 502, 503, 504", 0},
    {"retry_budget_ms", CS_OPT_INT, "60000",
     "time one entity may spend waiting to retry 429/5xx answers", 0},
    {"backoff_ms", CS_OPT_INT, "500",
     "first wait before retrying a 429/5xx answer (doubles, at most 8 s)", 0},
    {"auth_hold_s", CS_OPT_INT, "300",
     "after a 401/403, entities fail at once without a request this long", 0},
    {"cache_ttl_s", CS_OPT_INT, "600",
     "how long a parent table's id is reused for lineage", 0},
    {NULL, 0, NULL, NULL, 0}};

static long opt_int(const json_t *cfg, const char *name)
{
    return (long)json_integer_value(json_object_get(cfg, name));
}

static const char *opt_str(const json_t *cfg, const char *name)
{
    return json_string_value(json_object_get(cfg, name));
}

/* "<base>/api/v1" from a base URL given with or without /api/v1. */
static char *api_root(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= 7 && strncmp(base + n - 7, "/api/v1", 7) == 0)
        n -= 7;
    return om_fmt("%.*s/api/v1", (int)n, base);
}

static int check_ranges(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg)
{
    static const char *const ints[] = {"timeout_ms",      "max_retries",
                                       "retry_budget_ms", "backoff_ms",
                                       "auth_hold_s",     "cache_ttl_s"};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (opt_int(cfg, ints[i]) < 0 || opt_int(cfg, ints[i]) > 86400000) {
            h->set_error(ctx, "config.%s must be 0..86400000, got %ld", ints[i],
                         opt_int(cfg, ints[i]));
            return CS_ERR_INVALID;
        }
    const char *mode = opt_str(cfg, "mode");
    if (!mode || (strcmp(mode, "suggest") && strcmp(mode, "apply"))) {
        h->set_error(ctx, "config.mode must be suggest or apply, got %s",
                     mode ? mode : "null");
        return CS_ERR_INVALID;
    }
    const char *base = opt_str(cfg, "base_url");
    if (!base ||
        (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))) {
        h->set_error(ctx,
                     "config.base_url must start with http:// or https://");
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

static void pub_fini(void *state)
{
    struct pub_state *s = state;
    if (!s)
        return;
    free(s->o.api);
    free(s->o.auth_header);
    json_decref(s->parents);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void read_opts(const json_t *cfg, struct pub_opts *o)
{
    o->apply = strcmp(opt_str(cfg, "mode"), "apply") == 0;
    o->descriptions = json_is_true(json_object_get(cfg, "descriptions"));
    o->tags = json_is_true(json_object_get(cfg, "tags"));
    o->lineage = json_is_true(json_object_get(cfg, "lineage"));
    o->bot_name = opt_str(cfg, "bot_name");
    o->timeout_ms = opt_int(cfg, "timeout_ms");
    o->max_retries = (int)opt_int(cfg, "max_retries");
    o->retry_budget_ms = opt_int(cfg, "retry_budget_ms");
    o->backoff_ms = opt_int(cfg, "backoff_ms");
    o->auth_hold_ms = opt_int(cfg, "auth_hold_s") * 1000;
    o->cache_ttl_ms = opt_int(cfg, "cache_ttl_s") * 1000;
}

static int pub_init(const cs_host_api *h, cs_ctx *ctx, void **state)
{
    const json_t *cfg = h->config(ctx);
    int rc = check_ranges(h, ctx, cfg);
    if (rc != CS_OK)
        return rc;
    if (!CS_HOST_HAS(h, http)) {
        h->set_error(ctx, "the host gives this pass no http(): it must not "
                          "consume a raw aspect");
        return CS_ERR_DENIED;
    }
    struct pub_state *s = calloc(1, sizeof *s);
    if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        h->set_error(ctx, "out of memory for the pass state");
        return CS_ERR_NOMEM;
    }
    s->h = h;
    read_opts(cfg, &s->o);
    s->o.api = api_root(opt_str(cfg, "base_url"));
    s->parents = json_object();
    rc = !s->o.api || !s->parents
             ? CS_ERR_NOMEM
             : om_bearer_header(h, ctx, cfg, &s->o.auth_header);
    if (rc != CS_OK) {
        if (rc == CS_ERR_NOMEM)
            h->set_error(ctx, "out of memory for the pass state");
        pub_fini(s);
        return rc;
    }
    *state = s;
    return CS_OK;
}

/* ---- one entity ----------------------------------------------------- */

static int job_init(struct pub_job *j, struct pub_state *s, cs_ctx *ctx)
{
    *j = (struct pub_job){.s = s, .h = s->h, .ctx = ctx};
    j->fqn = s->h->entity_fqn(ctx);
    j->budget_ms = s->o.retry_budget_ms;
    j->ops = json_array();
    j->pending = json_array();
    j->tested = json_object();
    j->done = json_object();
    j->sent = json_array();
    j->skipped = json_array();
    j->failed = json_array();
    if (!j->ops || !j->pending || !j->tested || !j->done || !j->sent ||
        !j->skipped || !j->failed)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    return j->fqn ? CS_OK : pub_fail(j, CS_ERR, "process() without an entity");
}

static void job_free(struct pub_job *j)
{
    json_decref(j->entity);
    json_decref(j->st);
    json_decref(j->open);
    json_decref(j->ops);
    json_decref(j->pending);
    json_decref(j->tested);
    json_decref(j->done);
    json_decref(j->sent);
    json_decref(j->skipped);
    json_decref(j->failed);
}

/* One pass over the fresh entity.  What an earlier attempt wrote is in
 * j->done and the state, so a repeat after a conflict sends only the rest. */
static int attempt_once(struct pub_job *j)
{
    json_array_clear(j->skipped);
    j->unchanged = 0;
    pub_patch_reset(j);
    int rc = pub_fetch_entity(j);
    if (rc == CS_OK && j->s->o.descriptions)
        rc = pub_descriptions(j);
    if (rc == CS_OK && j->s->o.tags)
        rc = pub_tags(j);
    if (rc == CS_OK && j->s->o.apply)
        rc = pub_patch_send(j);
    if (rc == CS_OK && j->s->o.lineage)
        rc = pub_lineage(j);
    return rc;
}

/* A 409/412 (or a failed `test` op) means the entity changed under us:
 * fetch it again and redo the decisions, once. */
static int publish(struct pub_job *j)
{
    int rc = attempt_once(j);
    if (rc != PUB_CONFLICT)
        return rc;
    j->h->log(j->ctx, CS_LOG_INFO, "%s; fetching %s again and retrying once",
              j->note, j->fqn);
    rc = attempt_once(j);
    if (rc == PUB_CONFLICT)
        rc = pub_fail(j, CS_ERR,
                      "%s (again after fetching the entity anew; it keeps "
                      "changing or the patch does not apply)",
                      j->note);
    return rc;
}

static int conclude(struct pub_job *j, int rc)
{
    if (rc == PUB_GONE) {
        j->h->log(j->ctx, CS_LOG_INFO, "%s; skipped", j->note);
        j->h->metric_add(j->ctx, "entities_not_found", 1);
        return pub_report(j, "skipped", j->note);
    }
    if (rc == CS_OK && json_array_size(j->failed) > 0)
        rc = pub_fail(j, CS_ERR,
                      "%zu write(s) to OpenMetadata failed; first: "
                      "%s: %s",
                      json_array_size(j->failed),
                      json_string_value(json_object_get(
                          json_array_get(j->failed, 0), "field")),
                      json_string_value(json_object_get(
                          json_array_get(j->failed, 0), "error")));
    if (rc != CS_OK) {
        char why[sizeof j->fatal];
        memcpy(why, j->fatal, sizeof why);
        pub_report(j, "failed", why);
        pub_fail(j, rc, "%s", why); /* the report may have replaced it */
        return rc;
    }
    return pub_report(j, json_array_size(j->sent) ? "published" : "unchanged",
                      NULL);
}

static int pub_process(void *state, cs_ctx *ctx)
{
    struct pub_job j;
    int rc = job_init(&j, state, ctx);
    if (rc == CS_OK)
        rc = om_gate(&j);
    if (rc == CS_OK)
        rc = pub_state_load(&j);
    if (rc == CS_OK)
        rc = publish(&j);
    /* even after an error: what was written must not be sent again */
    char keep[sizeof j.fatal];
    memcpy(keep, j.fatal, sizeof keep);
    int saved = j.st ? pub_state_save(&j) : CS_OK;
    if (rc == CS_OK || rc == PUB_GONE)
        rc = saved == CS_OK ? rc : saved;
    else
        memcpy(j.fatal, keep, sizeof keep); /* the first error is the one */
    rc = conclude(&j, rc);
    job_free(&j);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "publish_openmetadata",
    .version = "0.1.0",
    .summary = "publishes descriptions, PII tags and FK lineage to "
               "OpenMetadata, as suggestions or guarded patches",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = pub_init,
    .process = pub_process,
    .fini = pub_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
