/* A recording cs_host_api for pass unit tests; see fake_host.h. */
#include "fake_host.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cs_ctx {
    fake_host *fh;
};

struct cs_sql_result {
    json_t *columns; /* [[name, type], ...] */
    json_t *rows;    /* [[cell|null, ...], ...] */
};

struct fake_host {
    cs_host_api api;
    struct cs_ctx ctx;
    json_t *config;
    json_t *sql;    /* [[needle, result], ...] */
    json_t *entity; /* {aspect: value} */
    char *fqn;
    json_t *committed, *staged;
    json_t *emitted, *deleted, *puts, *sql_log, *metrics;
    char *logs;
    size_t logs_len;
    char error[512];
    char last_error[512];
    json_t *unwanted;    /* aspects aspect_wanted() answers 0 for */
    json_t *batch_store; /* {fqn: {aspect: value}}: the "state store" */
    json_t *batch_run;   /* [fqn, ...]: the run's entities */
    json_t *batch_puts;  /* {fqn: {aspect: value}} recorded by batch_put */
    json_t *http;        /* [[method, needle, status, body], ...] */
    json_t *http_log;    /* [{method, url, headers, body}] */
    json_t *audits;      /* [{target, action, field, old, new, evidence}] */
    json_t *targets;     /* run_targets() answer, or NULL */
    json_t *state;       /* {key: value}: state_get/state_put */
    json_t *embeds;      /* [{endpoint, model, texts, dimensions}] */
    int embed_dim;       /* llm_embed's vector size; 0: it fails */
    json_t *chats;       /* [[status, content, model], ...] canned answers */
    json_t *chat_log;    /* [{endpoint, model, system, prompt, ...}] */
};

const cs_pass_desc *fake_host_load_pass(const char *name)
{
    const char *dir = getenv("CS_PASS_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", dir ? dir : "passes", name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "fake_host: %s: %s\n", path, dlerror());
        return NULL;
    }
    cs_pass_entry_fn entry = (cs_pass_entry_fn)dlsym(h, CS_PASS_ENTRY_SYMBOL);
    if (!entry) {
        fprintf(stderr, "fake_host: %s: no %s\n", path, CS_PASS_ENTRY_SYMBOL);
        return NULL;
    }
    return entry();
}

static void append_log(fake_host *fh, const char *line)
{
    size_t n = strlen(line);
    char *p = realloc(fh->logs, fh->logs_len + n + 2);
    if (!p)
        return;
    fh->logs = p;
    memcpy(p + fh->logs_len, line, n);
    fh->logs_len += n;
    p[fh->logs_len++] = '\n';
    p[fh->logs_len] = '\0';
}

static void f_log(cs_ctx *ctx, int level, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (getenv("FAKE_HOST_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", level, line);
    append_log(ctx->fh, line);
}

static const char *f_last_error(cs_ctx *ctx)
{
    return ctx->fh->last_error;
}

static void f_set_error(cs_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->fh->error, sizeof ctx->fh->error, fmt, ap);
    va_end(ap);
}

static const json_t *f_config(cs_ctx *ctx)
{
    return ctx->fh->config;
}

static void f_secret_register(cs_ctx *ctx, const char *value)
{
    (void)ctx;
    (void)value;
}

static const char *f_entity_fqn(cs_ctx *ctx)
{
    return ctx->fh->fqn;
}

static json_t *f_aspect_get(cs_ctx *ctx, const char *aspect)
{
    return json_object_get(ctx->fh->entity, aspect);
}

static int f_aspect_put(cs_ctx *ctx, const char *aspect, json_t *value)
{
    if (!value)
        return CS_ERR_INVALID;
    return json_object_set_new(ctx->fh->puts, aspect, value) ? CS_ERR_NOMEM
                                                             : CS_OK;
}

static int f_emit_entity(cs_ctx *ctx, const char *fqn, json_t *table)
{
    if (!fqn || !table) {
        json_decref(table);
        return CS_ERR_INVALID;
    }
    return json_object_set_new(ctx->fh->emitted, fqn, table) ? CS_ERR_NOMEM
                                                             : CS_OK;
}

static int f_emit_deleted(cs_ctx *ctx, const char *fqn)
{
    return json_array_append_new(ctx->fh->deleted, json_string(fqn))
               ? CS_ERR_NOMEM
               : CS_OK;
}

static json_t *f_watermark_get(cs_ctx *ctx)
{
    return ctx->fh->committed;
}

static int f_watermark_set(cs_ctx *ctx, json_t *value)
{
    json_decref(ctx->fh->staged);
    ctx->fh->staged = value;
    return CS_OK;
}

static void f_metric_add(cs_ctx *ctx, const char *name, double delta)
{
    json_t *m = json_object_get(ctx->fh->metrics, name);
    double v = (m ? json_number_value(m) : 0.0) + delta;
    json_object_set_new(ctx->fh->metrics, name, json_real(v));
}

static void f_metric_observe(cs_ctx *ctx, const char *name, double value)
{
    f_metric_add(ctx, name, value);
}

static int f_should_stop(cs_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static json_t *log_params(int nparams, const char *const *params)
{
    json_t *p = json_array();
    for (int i = 0; i < nparams; i++)
        json_array_append_new(p,
                              params[i] ? json_string(params[i]) : json_null());
    return p;
}

static int f_sql_query(cs_ctx *ctx, const char *connection, const char *sql,
                       int nparams, const char *const *params,
                       cs_sql_result **out)
{
    fake_host *fh = ctx->fh;
    json_array_append_new(fh->sql_log,
                          json_pack("{s:s, s:s, s:o}", "connection",
                                    connection ? connection : "", "sql", sql,
                                    "params", log_params(nparams, params)));
    size_t i;
    json_t *e;
    json_array_foreach(fh->sql, i, e)
    {
        if (!strstr(sql, json_string_value(json_array_get(e, 0))))
            continue;
        json_t *res = json_array_get(e, 1);
        json_t *err = json_object_get(res, "error");
        if (err) {
            snprintf(fh->last_error, sizeof fh->last_error, "%s",
                     json_string_value(err));
            json_t *st = json_object_get(res, "status");
            return st ? (int)json_integer_value(st) : CS_ERR;
        }
        struct cs_sql_result *r = malloc(sizeof *r);
        if (!r)
            return CS_ERR_NOMEM;
        r->columns = json_incref(json_object_get(res, "columns"));
        r->rows = json_incref(json_object_get(res, "rows"));
        *out = r;
        return CS_OK;
    }
    snprintf(fh->last_error, sizeof fh->last_error,
             "fake_host: no canned result for: %.200s", sql);
    return CS_ERR;
}

static int f_sql_nrows(const cs_sql_result *r)
{
    return (int)json_array_size(r->rows);
}

static int f_sql_ncols(const cs_sql_result *r)
{
    return (int)json_array_size(r->columns);
}

static const char *f_sql_colname(const cs_sql_result *r, int col)
{
    return json_string_value(
        json_array_get(json_array_get(r->columns, col), 0));
}

static const char *f_sql_coltype(const cs_sql_result *r, int col)
{
    return json_string_value(
        json_array_get(json_array_get(r->columns, col), 1));
}

/* Cells may be written as numbers or booleans in tests; libpq gives text. */
static const char *f_sql_value(const cs_sql_result *r, int row, int col)
{
    json_t *v = json_array_get(json_array_get(r->rows, row), col);
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_true(v))
        return "t";
    if (json_is_false(v))
        return "f";
    if (json_is_integer(v)) {
        static __thread char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return json_string_value(v);
}

static void f_sql_free(cs_sql_result *r)
{
    if (!r)
        return;
    json_decref(r->columns);
    json_decref(r->rows);
    free(r);
}

static int f_aspect_wanted(cs_ctx *ctx, const char *aspect)
{
    json_t *u = ctx->fh->unwanted;
    size_t i;
    json_t *v;
    json_array_foreach(u, i, v)
    {
        if (strcmp(json_string_value(v), aspect) == 0)
            return 0;
    }
    return 1;
}

/* ---- batch functions: backed by batch_store / batch_run ---------------- */

static size_t f_batch_count(cs_ctx *ctx)
{
    return json_array_size(ctx->fh->batch_run);
}

static const char *f_batch_fqn(cs_ctx *ctx, size_t index)
{
    return json_string_value(json_array_get(ctx->fh->batch_run, index));
}

static json_t *f_batch_aspect(cs_ctx *ctx, size_t index, const char *aspect)
{
    const char *fqn = f_batch_fqn(ctx, index);
    if (!fqn || !aspect)
        return NULL;
    json_t *e = json_object_get(ctx->fh->batch_store, fqn);
    return json_incref(json_object_get(e, aspect));
}

static json_t *f_aspects_all(cs_ctx *ctx, const char *aspect)
{
    json_t *out = json_object();
    const char *fqn;
    json_t *e;
    if (!out || !aspect)
        return out;
    json_object_foreach(ctx->fh->batch_store, fqn, e)
    {
        json_t *v = json_object_get(e, aspect);
        if (v && json_object_set(out, fqn, v) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static int f_batch_put(cs_ctx *ctx, const char *fqn, const char *aspect,
                       json_t *value)
{
    fake_host *fh = ctx->fh;
    if (!fqn || !aspect || !value) {
        json_decref(value);
        return CS_ERR_INVALID;
    }
    json_t *e = json_object_get(fh->batch_puts, fqn);
    if (!e) {
        e = json_object();
        if (!e || json_object_set_new(fh->batch_puts, fqn, e) != 0) {
            json_decref(value);
            return CS_ERR_NOMEM;
        }
    }
    return json_object_set_new(e, aspect, value) ? CS_ERR_NOMEM : CS_OK;
}

static json_t *request_headers(const cs_http_request *req)
{
    json_t *h = json_array();
    for (const char *const *p = req->headers; p && *p; p++)
        json_array_append_new(h, json_string(*p));
    return h;
}

/* The first unused canned answer whose method matches and whose needle is
 * in the URL answers, once. */
static int f_http(cs_ctx *ctx, const cs_http_request *req,
                  cs_http_response *resp)
{
    fake_host *fh = ctx->fh;
    if (!req || !req->method || !req->url || !resp)
        return CS_ERR_INVALID;
    json_array_append_new(
        fh->http_log,
        json_pack("{s:s,s:s,s:o,s:s#}", "method", req->method, "url", req->url,
                  "headers", request_headers(req), "body",
                  req->body ? req->body : "", req->body ? req->body_len : 0));
    size_t i;
    json_t *e;
    json_array_foreach(fh->http, i, e)
    {
        if (strcmp(json_string_value(json_array_get(e, 0)), req->method) ||
            !strstr(req->url, json_string_value(json_array_get(e, 1))))
            continue;
        memset(resp, 0, sizeof *resp);
        resp->status = (long)json_integer_value(json_array_get(e, 2));
        const char *body = json_string_value(json_array_get(e, 3));
        resp->body = strdup(body);
        resp->body_len = strlen(body);
        resp->content_type = strdup("application/json");
        json_array_remove(fh->http, i);
        return resp->body && resp->content_type ? CS_OK : CS_ERR_NOMEM;
    }
    snprintf(fh->last_error, sizeof fh->last_error,
             "fake_host: no canned HTTP answer for %s %s", req->method,
             req->url);
    return CS_ERR_UNAVAILABLE;
}

static void f_http_response_free(cs_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->content_type);
    free(resp->retry_after);
    memset(resp, 0, sizeof *resp);
}

static int f_audit(cs_ctx *ctx, const char *target, const char *action,
                   const char *field, const json_t *old_value,
                   const json_t *new_value, const json_t *evidence)
{
    if (!action)
        return CS_ERR_INVALID;
    json_t *row = json_pack("{s:s?,s:s,s:s?}", "target", target, "action",
                            action, "field", field);
    json_object_set_new(row, "old", json_deep_copy(old_value));
    json_object_set_new(row, "new", json_deep_copy(new_value));
    json_object_set_new(row, "evidence", json_deep_copy(evidence));
    return json_array_append_new(ctx->fh->audits, row) ? CS_ERR_NOMEM : CS_OK;
}

static json_t *f_run_targets(cs_ctx *ctx)
{
    return ctx->fh->targets;
}

static json_t *f_state_get(cs_ctx *ctx, const char *key)
{
    json_t *v = json_object_get(ctx->fh->state, key);
    return v ? json_deep_copy(v) : NULL;
}

static int f_state_put(cs_ctx *ctx, const char *key, json_t *value)
{
    if (!key || !value) {
        json_decref(value);
        return CS_ERR_INVALID;
    }
    return json_object_set_new(ctx->fh->state, key, value) ? CS_ERR_NOMEM
                                                           : CS_OK;
}

/* A vector per text that depends only on the text and the dimension. */
static int f_llm_embed(cs_ctx *ctx, const char *endpoint, const char *model,
                       const char *const *texts, size_t n, int dimensions,
                       float **out, int *dim)
{
    fake_host *fh = ctx->fh;
    json_t *t = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(t, json_string(texts[i]));
    json_array_append_new(fh->embeds,
                          json_pack("{s:s?,s:s?,s:o,s:i}", "endpoint", endpoint,
                                    "model", model, "texts", t, "dimensions",
                                    dimensions));
    int d = dimensions > 0 ? dimensions : fh->embed_dim;
    if (fh->embed_dim <= 0) {
        snprintf(fh->last_error, sizeof fh->last_error,
                 "fake_host: embeddings are down");
        return CS_ERR_UNAVAILABLE;
    }
    float *v = n ? malloc(n * (size_t)d * sizeof *v) : NULL;
    if (n && !v)
        return CS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned h = 2166136261u;
        for (const char *p = texts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        for (int k = 0; k < d; k++)
            v[i * (size_t)d + (size_t)k] =
                (float)((h >> (k % 24)) & 0xff) / 255.0f - 0.5f;
    }
    *out = v;
    *dim = d;
    return CS_OK;
}

/* The next canned chat answer, spent by this call: a status other than
 * CS_OK fails the call with it; no answer left fails with
 * CS_ERR_UNAVAILABLE, like an endpoint that went away. */
static int f_llm_chat(cs_ctx *ctx, const cs_llm_request *req,
                      cs_llm_response *resp)
{
    fake_host *fh = ctx->fh;
    memset(resp, 0, sizeof *resp);
    json_array_append_new(
        fh->chat_log,
        json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:f,s:f,s:i}", "endpoint",
                  req->endpoint, "model", req->model, "system", req->system,
                  "prompt", req->prompt, "json_schema", req->json_schema,
                  "temperature", req->temperature, "top_p", req->top_p,
                  "max_tokens", req->max_tokens));
    json_t *a = json_array_get(fh->chats, 0);
    if (!a) {
        snprintf(fh->last_error, sizeof fh->last_error,
                 "fake_host: LLM endpoint %s is unavailable (no canned "
                 "answer left)",
                 req->endpoint ? req->endpoint : "default");
        return CS_ERR_UNAVAILABLE;
    }
    int status = (int)json_integer_value(json_array_get(a, 0));
    const char *content = json_string_value(json_array_get(a, 1));
    const char *model = json_string_value(json_array_get(a, 2));
    if (status != CS_OK) {
        snprintf(fh->last_error, sizeof fh->last_error,
                 "fake_host: canned chat failure %d", status);
    } else {
        resp->content = strdup(content ? content : "");
        resp->model =
            strdup(model ? model : (req->model ? req->model : "fake-model"));
        resp->finish_reason = strdup("stop");
        resp->prompt_tokens = (long)strlen(req->prompt ? req->prompt : "") / 4;
        resp->completion_tokens = (long)strlen(resp->content) / 4;
        resp->attempts = 1;
    }
    json_array_remove(fh->chats, 0);
    return status;
}

static void f_llm_response_free(cs_llm_response *resp)
{
    if (!resp)
        return;
    free(resp->content);
    free(resp->model);
    free(resp->finish_reason);
    memset(resp, 0, sizeof *resp);
}

static void f_llm_vectors_free(float *vectors)
{
    free(vectors);
}

static void fill_api(cs_host_api *a)
{
    *a = (cs_host_api){
        .struct_size = sizeof(cs_host_api),
        .abi_major = CS_ABI_MAJOR,
        .abi_minor = CS_ABI_MINOR,
        .log = f_log,
        .last_error = f_last_error,
        .set_error = f_set_error,
        .config = f_config,
        .secret_register = f_secret_register,
        .entity_fqn = f_entity_fqn,
        .aspect_get = f_aspect_get,
        .aspect_put = f_aspect_put,
        .emit_entity = f_emit_entity,
        .emit_deleted = f_emit_deleted,
        .watermark_get = f_watermark_get,
        .watermark_set = f_watermark_set,
        .metric_add = f_metric_add,
        .metric_observe = f_metric_observe,
        .should_stop = f_should_stop,
        .sql_query = f_sql_query,
        .sql_nrows = f_sql_nrows,
        .sql_ncols = f_sql_ncols,
        .sql_colname = f_sql_colname,
        .sql_coltype = f_sql_coltype,
        .sql_value = f_sql_value,
        .sql_free = f_sql_free,
        .aspect_wanted = f_aspect_wanted,
        .batch_count = f_batch_count,
        .batch_fqn = f_batch_fqn,
        .batch_aspect = f_batch_aspect,
        .aspects_all = f_aspects_all,
        .batch_put = f_batch_put,
        .state_get = f_state_get,
        .state_put = f_state_put,
        .http = f_http,
        .http_response_free = f_http_response_free,
        .audit = f_audit,
        .run_targets = f_run_targets,
        .llm_chat = f_llm_chat,
        .llm_response_free = f_llm_response_free,
        .llm_embed = f_llm_embed,
        .llm_vectors_free = f_llm_vectors_free,
    };
}

/* Completes `cfg` with the declared defaults; -1 if a required option is
 * missing or a default is not JSON. */
static int apply_defaults(const cs_option_decl *opts, json_t *cfg)
{
    for (const cs_option_decl *o = opts; o && o->name; o++) {
        if (json_object_get(cfg, o->name))
            continue;
        if (o->flags & CS_OPTION_REQUIRED) {
            fprintf(stderr, "fake_host: option %s is required\n", o->name);
            return -1;
        }
        if (!o->default_json)
            continue;
        json_t *v = json_loads(o->default_json, JSON_DECODE_ANY, NULL);
        if (!v || json_object_set_new(cfg, o->name, v) != 0) {
            fprintf(stderr, "fake_host: option %s: bad default\n", o->name);
            return -1;
        }
    }
    return 0;
}

fake_host *fake_host_new(const cs_pass_desc *desc, const char *config)
{
    fake_host *fh = calloc(1, sizeof *fh);
    if (!fh)
        return NULL;
    fill_api(&fh->api);
    fh->ctx.fh = fh;
    fh->config = config ? json_loads(config, 0, NULL) : json_object();
    fh->sql = json_array();
    fh->entity = json_object();
    fh->emitted = json_object();
    fh->deleted = json_array();
    fh->puts = json_object();
    fh->sql_log = json_array();
    fh->metrics = json_object();
    fh->batch_store = json_object();
    fh->batch_run = json_array();
    fh->batch_puts = json_object();
    fh->http = json_array();
    fh->http_log = json_array();
    fh->audits = json_array();
    fh->state = json_object();
    fh->embeds = json_array();
    fh->embed_dim = 4;
    fh->chats = json_array();
    fh->chat_log = json_array();
    if (!fh->chats || !fh->chat_log || !fh->embeds || !fh->http ||
        !fh->http_log || !fh->audits || !fh->state || !fh->batch_store ||
        !fh->batch_run || !fh->batch_puts || !fh->config || !fh->sql ||
        !fh->entity || !fh->emitted || !fh->deleted || !fh->puts ||
        !fh->sql_log || !fh->metrics ||
        apply_defaults(desc ? desc->options : NULL, fh->config) != 0) {
        fake_host_free(fh);
        return NULL;
    }
    return fh;
}

void fake_host_free(fake_host *fh)
{
    if (!fh)
        return;
    json_decref(fh->config);
    json_decref(fh->unwanted);
    json_decref(fh->sql);
    json_decref(fh->entity);
    json_decref(fh->committed);
    json_decref(fh->staged);
    json_decref(fh->emitted);
    json_decref(fh->deleted);
    json_decref(fh->puts);
    json_decref(fh->sql_log);
    json_decref(fh->metrics);
    json_decref(fh->batch_store);
    json_decref(fh->batch_run);
    json_decref(fh->batch_puts);
    json_decref(fh->http);
    json_decref(fh->http_log);
    json_decref(fh->audits);
    json_decref(fh->targets);
    json_decref(fh->state);
    json_decref(fh->embeds);
    json_decref(fh->chats);
    json_decref(fh->chat_log);
    free(fh->fqn);
    free(fh->logs);
    free(fh);
}

const cs_host_api *fake_host_api(fake_host *fh)
{
    return &fh->api;
}

cs_ctx *fake_host_ctx(fake_host *fh)
{
    return &fh->ctx;
}

int fake_host_add_sql(fake_host *fh, const char *needle, const char *result)
{
    json_t *r = json_loads(result, 0, NULL);
    if (!r)
        return -1;
    return json_array_append_new(fh->sql, json_pack("[s,o]", needle, r));
}

void fake_host_clear_sql(fake_host *fh)
{
    json_array_clear(fh->sql);
}

void fake_host_set_unwanted(fake_host *fh, const char *aspect)
{
    if (!fh->unwanted)
        fh->unwanted = json_array();
    json_array_append_new(fh->unwanted, json_string(aspect));
}

void fake_host_drop_network(fake_host *fh)
{
    fh->api.sql_query = NULL;
    fh->api.http = NULL;
    fh->api.state_put = NULL;
    fh->api.audit = NULL;
    fh->api.llm_chat = NULL;
    fh->api.llm_embed = NULL;
}

int fake_host_add_http(fake_host *fh, const char *method, const char *needle,
                       long status, const char *body)
{
    return json_array_append_new(fh->http, json_pack("[s,s,I,s]", method,
                                                     needle, (json_int_t)status,
                                                     body ? body : ""));
}

json_t *fake_host_http_log(fake_host *fh)
{
    return fh->http_log;
}

json_t *fake_host_audits(fake_host *fh)
{
    return fh->audits;
}

json_t *fake_host_state(fake_host *fh)
{
    return fh->state;
}

void fake_host_set_embed_dim(fake_host *fh, int dim)
{
    fh->embed_dim = dim;
}

int fake_host_add_chat(fake_host *fh, int status, const char *content,
                       const char *model)
{
    return json_array_append_new(
        fh->chats, json_pack("[i,s?,s?]", status, content, model));
}

json_t *fake_host_chats(fake_host *fh)
{
    return fh->chat_log;
}

json_t *fake_host_embeds(fake_host *fh)
{
    return fh->embeds;
}

int fake_host_set_targets(fake_host *fh, const char *targets)
{
    json_t *t = targets ? json_loads(targets, 0, NULL) : NULL;
    if (targets && !json_is_array(t)) {
        json_decref(t);
        return -1;
    }
    json_decref(fh->targets);
    fh->targets = t;
    return 0;
}

int fake_host_set_entity(fake_host *fh, const char *fqn, const char *aspects)
{
    json_t *a = aspects ? json_loads(aspects, 0, NULL) : json_object();
    char *f = strdup(fqn);
    if (!a || !f) {
        json_decref(a);
        free(f);
        return -1;
    }
    json_decref(fh->entity);
    fh->entity = a;
    free(fh->fqn);
    fh->fqn = f;
    json_object_clear(fh->puts);
    return 0;
}

int fake_host_set_batch(fake_host *fh, const char *store, const char *run)
{
    json_t *s = store ? json_loads(store, 0, NULL) : json_object();
    json_t *r = run ? json_loads(run, 0, NULL) : json_array();
    if (!json_is_object(s) || !json_is_array(r)) {
        json_decref(s);
        json_decref(r);
        return -1;
    }
    json_decref(fh->batch_store);
    json_decref(fh->batch_run);
    fh->batch_store = s;
    fh->batch_run = r;
    json_object_clear(fh->batch_puts);
    return 0;
}

int fake_host_set_batch_json(fake_host *fh, json_t *store, json_t *run)
{
    if (!json_is_object(store) || !json_is_array(run)) {
        json_decref(store);
        json_decref(run);
        return -1;
    }
    json_decref(fh->batch_store);
    json_decref(fh->batch_run);
    fh->batch_store = store;
    fh->batch_run = run;
    json_object_clear(fh->batch_puts);
    return 0;
}

json_t *fake_host_batch_puts(fake_host *fh)
{
    return fh->batch_puts;
}

int fake_host_set_watermark(fake_host *fh, const char *watermark)
{
    json_decref(fh->committed);
    fh->committed = watermark ? json_loads(watermark, 0, NULL) : NULL;
    return watermark && !fh->committed ? -1 : 0;
}

json_t *fake_host_emitted(fake_host *fh)
{
    return fh->emitted;
}

json_t *fake_host_deleted(fake_host *fh)
{
    return fh->deleted;
}

json_t *fake_host_watermark(fake_host *fh)
{
    return fh->staged;
}

json_t *fake_host_puts(fake_host *fh)
{
    return fh->puts;
}

json_t *fake_host_sql_log(fake_host *fh)
{
    return fh->sql_log;
}

const char *fake_host_logs(fake_host *fh)
{
    return fh->logs ? fh->logs : "";
}

const char *fake_host_error(fake_host *fh)
{
    return fh->error;
}

double fake_host_metric(fake_host *fh, const char *name)
{
    return json_number_value(json_object_get(fh->metrics, name));
}

void fake_host_next_run(fake_host *fh, int commit)
{
    if (commit && fh->staged) {
        json_decref(fh->committed);
        fh->committed = fh->staged;
        fh->staged = NULL;
    }
    json_object_clear(fh->emitted);
    json_array_clear(fh->deleted);
    json_object_clear(fh->puts);
    json_object_clear(fh->batch_puts);
    json_array_clear(fh->sql_log);
    json_array_clear(fh->http_log);
    json_array_clear(fh->audits);
    json_array_clear(fh->embeds);
    json_array_clear(fh->chat_log);
    free(fh->logs);
    fh->logs = NULL;
    fh->logs_len = 0;
}
