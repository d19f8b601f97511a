#include "hostapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpclient.h"
#include "llm.h"
#include "log.h"
#include "metrics.h"
#include "sqlconn.h"

static void set_last_error(cs_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_last_error(cs_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
    va_end(ap);
}

static bool in_mode(cs_ctx *ctx, enum ctx_mode mode, const char *fn)
{
    if (ctx && ctx->mode == mode)
        return true;
    if (ctx)
        set_last_error(ctx, "%s() is not available in this callback", fn);
    return false;
}

static bool declares_output(const struct pass_instance *pi, const char *name)
{
    const struct mf_pass *mp = pi->step->pass;
    for (size_t i = 0; i < mp->n_outputs; i++)
        if (strcmp(mp->outputs[i].name, name) == 0)
            return true;
    return false;
}

static void h_log(cs_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_eventv((enum log_level)level, ctx ? ctx->pi->name : NULL,
               ctx ? ctx->fqn : NULL, fmt, ap);
    va_end(ap);
}

static const char *h_last_error(cs_ctx *ctx)
{
    return ctx ? ctx->last_error : "";
}

static void h_set_error(cs_ctx *ctx, const char *fmt, ...)
{
    if (!ctx)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->pass_error, sizeof ctx->pass_error, fmt, ap);
    va_end(ap);
}

static const json_t *h_config(cs_ctx *ctx)
{
    return ctx ? ctx->pi->config : NULL;
}

static void h_secret_register(cs_ctx *ctx, const char *value)
{
    if (value)
        log_add_secret(value);
}

static const char *h_entity_fqn(cs_ctx *ctx)
{
    return ctx && ctx->mode == CTX_ENTITY ? ctx->fqn : NULL;
}

static json_t *h_aspect_get(cs_ctx *ctx, const char *aspect)
{
    if (!in_mode(ctx, CTX_ENTITY, "aspect_get") || !aspect)
        return NULL;
    return json_object_get(ctx->aspects, aspect);
}

static int h_aspect_put(cs_ctx *ctx, const char *aspect, json_t *value)
{
    if (!value)
        return CS_ERR_INVALID;
    if (!in_mode(ctx, CTX_ENTITY, "aspect_put")) {
        json_decref(value);
        return CS_ERR_DENIED;
    }
    if (!aspect || !declares_output(ctx->pi, aspect)) {
        set_last_error(ctx, "aspect `%s` is not a declared output of pass `%s`",
                       aspect ? aspect : "(null)", ctx->pi->name);
        json_decref(value);
        return CS_ERR_DENIED;
    }
    return json_object_set_new(ctx->aspects, aspect, value) == 0 ? CS_OK
                                                                 : CS_ERR_NOMEM;
}

static int push_item(cs_ctx *ctx, const char *fqn, enum job_op op,
                     json_t *table)
{
    if (ctx->n_items == ctx->cap_items) {
        size_t cap = ctx->cap_items ? ctx->cap_items * 2 : 64;
        struct discovered *n = realloc(ctx->items, cap * sizeof *n);
        if (!n) {
            json_decref(table);
            return CS_ERR_NOMEM;
        }
        ctx->items = n;
        ctx->cap_items = cap;
    }
    char *dup = strdup(fqn);
    if (!dup) {
        json_decref(table);
        return CS_ERR_NOMEM;
    }
    ctx->items[ctx->n_items++] = (struct discovered){
        .fqn = dup, .source = (char *)ctx->pi->name, .op = op, .entity = table};
    return CS_OK;
}

static int h_emit_entity(cs_ctx *ctx, const char *fqn, json_t *table)
{
    if (!in_mode(ctx, CTX_SOURCE, "emit_entity")) {
        json_decref(table);
        return CS_ERR_DENIED;
    }
    if (!fqn || !*fqn || !json_is_object(table)) {
        set_last_error(ctx, "emit_entity needs a FQN and a table object");
        json_decref(table);
        return CS_ERR_INVALID;
    }
    return push_item(ctx, fqn, JOB_UPSERT, table);
}

static int h_emit_deleted(cs_ctx *ctx, const char *fqn)
{
    if (!in_mode(ctx, CTX_SOURCE, "emit_deleted"))
        return CS_ERR_DENIED;
    if (!fqn || !*fqn)
        return CS_ERR_INVALID;
    return push_item(ctx, fqn, JOB_DELETE, NULL);
}

static json_t *h_watermark_get(cs_ctx *ctx)
{
    return in_mode(ctx, CTX_SOURCE, "watermark_get") ? ctx->watermark : NULL;
}

static int h_watermark_set(cs_ctx *ctx, json_t *value)
{
    if (!in_mode(ctx, CTX_SOURCE, "watermark_set")) {
        json_decref(value);
        return CS_ERR_DENIED;
    }
    json_decref(ctx->staged_watermark);
    ctx->staged_watermark = value;
    return CS_OK;
}

static size_t h_batch_count(cs_ctx *ctx)
{
    return in_mode(ctx, CTX_BATCH, "batch_count") ? ctx->n_fqns : 0;
}

static const char *h_batch_fqn(cs_ctx *ctx, size_t index)
{
    if (!in_mode(ctx, CTX_BATCH, "batch_fqn") || index >= ctx->n_fqns)
        return NULL;
    return ctx->fqns[index];
}

static json_t *h_batch_aspect(cs_ctx *ctx, size_t index, const char *aspect)
{
    if (!in_mode(ctx, CTX_BATCH, "batch_aspect") || index >= ctx->n_fqns)
        return NULL;
    json_t *v = NULL;
    queue_get_aspect(ctx->tr->state, ctx->fqns[index], aspect, &v,
                     ctx->last_error, sizeof ctx->last_error);
    return v;
}

static json_t *h_aspects_all(cs_ctx *ctx, const char *aspect)
{
    if (!in_mode(ctx, CTX_BATCH, "aspects_all"))
        return NULL;
    json_t *v = NULL;
    queue_all_aspects(ctx->tr->state, aspect, &v, ctx->last_error,
                      sizeof ctx->last_error);
    return v;
}

static int h_batch_put(cs_ctx *ctx, const char *fqn, const char *aspect,
                       json_t *value)
{
    int rc = CS_ERR_DENIED;
    if (!in_mode(ctx, CTX_BATCH, "batch_put"))
        goto out;
    if (!aspect || !declares_output(ctx->pi, aspect) ||
        manifest_aspect_is_raw(ctx->env->manifest, aspect)) {
        set_last_error(ctx, "aspect `%s` is not a declared non-raw output",
                       aspect ? aspect : "(null)");
        goto out;
    }
    rc = queue_put_aspect(ctx->tr->state, ctx->run_id, ctx->pi->name, fqn,
                          aspect, value, ctx->last_error,
                          sizeof ctx->last_error) == 0
             ? CS_OK
             : CS_ERR;
out:
    json_decref(value);
    return rc;
}

static json_t *h_state_get(cs_ctx *ctx, const char *key)
{
    json_t *v = NULL;
    if (ctx && key)
        queue_state_get(ctx->tr->state, ctx->pi->name, key, &v, ctx->last_error,
                        sizeof ctx->last_error);
    return v;
}

/* Every write the daemon makes has an audit row, pass state included. */
static int h_state_put(cs_ctx *ctx, const char *key, json_t *value)
{
    int rc = CS_ERR_INVALID;
    if (ctx && key && value) {
        PGconn *c = ctx->tr->state;
        rc = queue_state_put(c, ctx->pi->name, key, value, ctx->last_error,
                             sizeof ctx->last_error) == 0 &&
                     queue_audit(c, ctx->run_id, ctx->pi->name, ctx->fqn,
                                 "state:catalog_sync.pass_state", "state.put",
                                 key, NULL, value, NULL, ctx->last_error,
                                 sizeof ctx->last_error) == 0
                 ? CS_OK
                 : CS_ERR;
    }
    json_decref(value);
    return rc;
}

/* A pass's write outside the state store.  The row is the record a
 * steward or auditor reads, so a failure to write it is an error. */
static int h_audit(cs_ctx *ctx, const char *target, const char *action,
                   const char *field, const json_t *old_value,
                   const json_t *new_value, const json_t *evidence)
{
    if (!ctx || !action || !*action)
        return CS_ERR_INVALID;
    return queue_audit(ctx->tr->state, ctx->run_id, ctx->pi->name, ctx->fqn,
                       target, action, field, (json_t *)old_value,
                       (json_t *)new_value, (json_t *)evidence, ctx->last_error,
                       sizeof ctx->last_error) == 0
               ? CS_OK
               : CS_ERR;
}

/* The worker warns when a targeted run's source never asked for its
 * targets (a pass built before ABI 1.1 lists everything instead). */
static json_t *h_run_targets(cs_ctx *ctx)
{
    if (!ctx || ctx->mode != CTX_SOURCE)
        return NULL;
    ctx->targets_read = true;
    return ctx->targets;
}

/* Longer names would not fit the host's buffers: a cut name loses its
 * `_total` suffix and can merge two series. */
#define MAX_METRIC_NAME 100

static bool valid_metric_name(const char *name)
{
    if (!name || !*name || strlen(name) > MAX_METRIC_NAME)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

/* The label set of a pass's series; false when it does not fit (a cut
 * label set would break the whole scrape).  kind may be NULL. */
static bool pass_labels(const cs_ctx *ctx, const char *kind, char *out,
                        size_t outlen)
{
    int n = kind ? snprintf(out, outlen, "pass=\"%s\",kind=\"%s\"",
                            ctx->pi->name, kind)
                 : snprintf(out, outlen, "pass=\"%s\"", ctx->pi->name);
    return n > 0 && (size_t)n < outlen;
}

static void h_metric_add(cs_ctx *ctx, const char *name, double delta)
{
    char full[160], labels[512];
    if (!ctx || !valid_metric_name(name) || delta < 0 ||
        !pass_labels(ctx, NULL, labels, sizeof labels))
        return;
    snprintf(full, sizeof full, "catalog_sync_pass_%s_total", name);
    metrics_counter_add(ctx->env->metrics, full, labels,
                        "Counter reported by a pass", delta);
}

static void h_metric_observe(cs_ctx *ctx, const char *name, double value)
{
    char full[160], labels[512];
    if (!ctx || !valid_metric_name(name) ||
        !pass_labels(ctx, NULL, labels, sizeof labels))
        return;
    snprintf(full, sizeof full, "catalog_sync_pass_%s", name);
    metrics_observe(ctx->env->metrics, full, labels,
                    "Observation reported by a pass", value);
}

/* Raw aspects live only within one stage: wanted when a later step of the
 * same stage reads it.  Everything else is persisted, hence wanted. */
static int h_aspect_wanted(cs_ctx *ctx, const char *aspect)
{
    if (!ctx || !aspect || !manifest_aspect_is_raw(ctx->env->manifest, aspect))
        return 1;
    const struct plan *p = ctx->env->plan;
    if (!p)
        return 1;
    const struct plan_stage *st = &p->stages[ctx->pi->step->stage];
    size_t self = (size_t)(ctx->pi->step - p->steps);
    for (size_t i = self + 1; i < st->first_step + st->n_steps; i++)
        for (size_t j = 0; j < p->steps[i].n_inputs; j++)
            if (strcmp(p->steps[i].inputs[j].aspect, aspect) == 0)
                return 1;
    return 0;
}

static int h_should_stop(cs_ctx *ctx)
{
    return ctx && atomic_load(ctx->env->stopping);
}

/* Counts and logs a refused connection: the allow-list is a security
 * boundary, so every refusal must be visible to the operator. */
static void egress_refused(cs_ctx *ctx, const char *kind)
{
    char labels[512];
    if (pass_labels(ctx, kind, labels, sizeof labels))
        metrics_counter_add(ctx->env->metrics,
                            "catalog_sync_egress_refused_total", labels,
                            "Connections refused by the egress allow-list", 1);
    log_event(LOG_WARN, ctx->pi->name, ctx->fqn, "%s", ctx->last_error);
}

static bool network_allowed(cs_ctx *ctx)
{
    if (!ctx)
        return false;
    if (ctx->pi->step->no_network) {
        set_last_error(ctx,
                       "pass `%s` consumes a raw aspect and may not use the "
                       "network",
                       ctx->pi->name);
        return false;
    }
    return true;
}

static int h_sql_query(cs_ctx *ctx, const char *connection, const char *sql,
                       int nparams, const char *const *params,
                       cs_sql_result **out)
{
    if (!network_allowed(ctx))
        return CS_ERR_DENIED;
    int rc = sql_pool_query(ctx->tr->sql, connection, sql, nparams, params, out,
                            ctx->last_error, sizeof ctx->last_error);
    if (rc == CS_ERR_EGRESS)
        egress_refused(ctx, "sql");
    return rc;
}

static int h_http(cs_ctx *ctx, const cs_http_request *req,
                  cs_http_response *resp)
{
    if (!network_allowed(ctx))
        return CS_ERR_DENIED;
    if (!req || !resp || req->struct_size < offsetof(cs_http_request, body))
        return CS_ERR_INVALID;
    /* A pass built against an older, shorter request struct: copy what it
     * has and zero the rest so new fields read as defaults. */
    cs_http_request r = {0};
    memcpy(&r, req, req->struct_size < sizeof r ? req->struct_size : sizeof r);
    if (r.struct_size < offsetof(cs_http_request, max_retries) + sizeof(int))
        r.max_retries = -1;
    int rc = http_client_request(ctx->tr->http, &r, resp, NULL, ctx->last_error,
                                 sizeof ctx->last_error);
    if (rc == CS_ERR_EGRESS)
        egress_refused(ctx, "http");
    return rc;
}

static struct llm_caller llm_caller_of(cs_ctx *ctx)
{
    return (struct llm_caller){ctx->tr->http, ctx->pi->name, ctx->fqn};
}

static int h_llm_chat(cs_ctx *ctx, const cs_llm_request *req,
                      cs_llm_response *resp)
{
    if (!network_allowed(ctx))
        return CS_ERR_DENIED;
    struct llm_caller who = llm_caller_of(ctx);
    int rc = llm_chat(ctx->env->llm, &who, req, resp, ctx->last_error,
                      sizeof ctx->last_error);
    if (rc == CS_ERR_EGRESS)
        egress_refused(ctx, "llm");
    return rc;
}

static int h_llm_embed(cs_ctx *ctx, const char *endpoint, const char *model,
                       const char *const *texts, size_t n, int dimensions,
                       float **out, int *dim)
{
    if (!network_allowed(ctx))
        return CS_ERR_DENIED;
    struct llm_caller who = llm_caller_of(ctx);
    int rc =
        llm_embed(ctx->env->llm, &who, endpoint, model, texts, n, dimensions,
                  out, dim, ctx->last_error, sizeof ctx->last_error);
    if (rc == CS_ERR_EGRESS)
        egress_refused(ctx, "llm");
    return rc;
}

static const cs_host_api base_table = {
    .struct_size = sizeof(cs_host_api),
    .abi_major = CS_ABI_MAJOR,
    .abi_minor = CS_ABI_MINOR,
    .log = h_log,
    .last_error = h_last_error,
    .set_error = h_set_error,
    .config = h_config,
    .secret_register = h_secret_register,
    .entity_fqn = h_entity_fqn,
    .aspect_get = h_aspect_get,
    .aspect_put = h_aspect_put,
    .emit_entity = h_emit_entity,
    .emit_deleted = h_emit_deleted,
    .watermark_get = h_watermark_get,
    .watermark_set = h_watermark_set,
    .batch_count = h_batch_count,
    .batch_fqn = h_batch_fqn,
    .batch_aspect = h_batch_aspect,
    .aspects_all = h_aspects_all,
    .batch_put = h_batch_put,
    .state_get = h_state_get,
    .state_put = h_state_put,
    .metric_add = h_metric_add,
    .metric_observe = h_metric_observe,
    .should_stop = h_should_stop,
    .sql_query = h_sql_query,
    .sql_nrows = sql_result_nrows,
    .sql_ncols = sql_result_ncols,
    .sql_colname = sql_result_colname,
    .sql_coltype = sql_result_coltype,
    .sql_value = sql_result_value,
    .sql_free = sql_result_free,
    .http = h_http,
    .http_response_free = http_response_clear,
    .aspect_wanted = h_aspect_wanted,
    .audit = h_audit,
    .run_targets = h_run_targets,
    .llm_chat = h_llm_chat,
    .llm_response_free = llm_response_clear,
    .llm_embed = h_llm_embed,
    .llm_vectors_free = llm_vectors_free,
};

void hostapi_fill_table(struct pass_instance *pi)
{
    pi->api = base_table;
    /* A pass that sees raw values gets nothing that could carry them out
     * of the process: no network, and no persisted pass state. */
    if (pi->step->no_network) {
        pi->api.sql_query = NULL;
        pi->api.http = NULL;
        pi->api.state_put = NULL;
        pi->api.audit = NULL;
        pi->api.llm_chat = NULL;
        pi->api.llm_embed = NULL;
    }
}

void hostapi_ctx_init(struct cs_ctx *ctx, enum ctx_mode mode,
                      struct pass_instance *pi, struct thread_res *tr,
                      const struct host_env *env)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->mode = mode;
    ctx->pi = pi;
    ctx->tr = tr;
    ctx->env = env;
}

void hostapi_ctx_clear(struct cs_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_items; i++) {
        free(ctx->items[i].fqn);
        json_decref(ctx->items[i].entity);
    }
    free(ctx->items);
    ctx->items = NULL;
    ctx->n_items = ctx->cap_items = 0;
    json_decref(ctx->watermark);
    json_decref(ctx->staged_watermark);
    ctx->watermark = ctx->staged_watermark = NULL;
}

const char *hostapi_callback_error(struct cs_ctx *ctx, int rc)
{
    if (ctx->pass_error[0])
        return ctx->pass_error;
    if (ctx->last_error[0])
        return ctx->last_error;
    snprintf(ctx->pass_error, sizeof ctx->pass_error,
             "returned error %d without a message", rc);
    return ctx->pass_error;
}
