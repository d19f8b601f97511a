/*
 * Requests to Milvus REST v2: POST <url>/v2/vectordb/<category>/<action>
 * with a JSON body, through host->http (egress list, connection reuse,
 * the host's retries of connect errors, 429, 502, 503, 504).  Milvus
 * answers application errors with HTTP 200 and a non-zero `code` (success
 * is 0, or 200 from 2.3/2.4-era servers), so every answer is read as an
 * envelope and anything else than success is an error naming the action,
 * the collection, the code and Milvus's message.
 */
#include "push_milvus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message of Milvus, or of the HTTP layer when the body is no envelope. */
static const char *envelope_message(const json_t *env)
{
    const char *m = json_string_value(json_object_get(env, "message"));
    return m && *m ? m : "no message";
}

static int http_error(struct pm_job *j, const char *what, long status,
                      const json_t *env)
{
    long code = (long)json_integer_value(json_object_get(env, "code"));
    if (status == 401 || status == 403)
        return pm_fail(j, CS_ERR_DENIED,
                       "Milvus refused the credentials on %s: HTTP %ld (code "
                       "%ld: %s); check config.token (token_file, or the "
                       "token_env variable)",
                       what, status, code, envelope_message(env));
    if (env)
        return pm_fail(j, CS_ERR_UNAVAILABLE,
                       "Milvus %s returned HTTP %ld (code %ld: %s)", what,
                       status, code, envelope_message(env));
    return pm_fail(j, CS_ERR_UNAVAILABLE,
                   "Milvus %s returned HTTP %ld with a body that is not JSON",
                   what, status);
}

/* Reads one answer: CS_OK with *data, or an error. */
static int read_answer(struct pm_job *j, const char *what,
                       const cs_http_response *resp, json_t **data, long *code)
{
    json_t *env =
        resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    if (!json_is_object(env)) {
        json_decref(env);
        env = NULL;
    }
    int rc = CS_OK;
    json_t *c = json_object_get(env, "code");
    if (code)
        *code = json_is_integer(c) ? (long)json_integer_value(c) : -1;
    if (resp->status != 200)
        rc = http_error(j, what, resp->status, env);
    else if (!env || !json_is_integer(c))
        rc = pm_fail(j, CS_ERR,
                     "Milvus %s: the answer is not a REST v2 envelope (no "
                     "integer `code`); is config.url a Milvus server?",
                     what);
    else if (json_integer_value(c) != 0 && json_integer_value(c) != 200)
        rc = pm_fail(j, CS_ERR, "Milvus %s failed with code %lld: %s", what,
                     (long long)json_integer_value(c), envelope_message(env));
    if (rc == CS_OK) {
        json_t *d = json_object_get(env, "data");
        *data = d ? json_incref(d) : json_null();
    }
    json_decref(env);
    return rc;
}

/* One request.  *data is a new reference the caller releases (NULL on
 * error).  The entity's pool thread.  CS_OK, or the host's status of the
 * HTTP call, CS_ERR_DENIED (401/403), CS_ERR_UNAVAILABLE (another HTTP
 * status), CS_ERR (a non-zero code, no envelope), with j->err set. */
int pm_call(struct pm_job *j, const char *action, const char *collection,
            const json_t *body, json_t **data, long *code)
{
    const struct pm_opts *o = &j->s->o;
    char what[384];
    snprintf(what, sizeof what, "%s on collection `%s`", action, collection);
    *data = NULL;
    if (code)
        *code = -1;
    char *url = pm_fmt("%s/%s", o->api, action);
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!url || !text) {
        free(url);
        free(text);
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for Milvus %s", what);
    }
    const char *headers[] = {"Content-Type: application/json",
                             "Accept: application/json", o->auth_header, NULL};
    cs_http_request req = {.struct_size = sizeof req,
                           .method = "POST",
                           .url = url,
                           .headers = headers,
                           .body = text,
                           .body_len = strlen(text),
                           .timeout_ms = o->timeout_ms,
                           .max_retries = o->max_retries};
    cs_http_response resp = {0};
    int rc = j->h->http(j->ctx, &req, &resp);
    if (rc != CS_OK) {
        rc = pm_fail(j, rc, "Milvus %s: %s", what, j->h->last_error(j->ctx));
    } else {
        rc = read_answer(j, what, &resp, data, code);
        j->h->http_response_free(&resp);
    }
    free(url);
    free(text);
    return rc;
}

static json_t *varchar(const char *name, int max_length, bool primary)
{
    return json_pack("{s:s, s:s, s:b, s:{s:i}}", "fieldName", name, "dataType",
                     "VarChar", "isPrimary", primary, "elementTypeParams",
                     "max_length", max_length);
}

/* The declared schema: every field non-nullable, no dynamic field, so
 * Milvus itself refuses a row that lacks one or carries anything else. */
/* New reference, NULL when out of memory.  Pure. */
json_t *pm_create_body(const struct pm_opts *o, const char *collection, int dim)
{
    json_t *fields = json_pack(
        "[o,o,o,o,o,o,o,o,o,{s:s, s:s, s:{s:i}}]",
        varchar("id", PM_ID_MAX, true), varchar("kind", PM_KIND_MAX, false),
        varchar("fqn", PM_FQN_MAX, false),
        varchar("table_fqn", PM_FQN_MAX, false),
        varchar("name", PM_NAME_MAX, false),
        varchar("data_type", PM_TYPE_MAX, false),
        varchar("pii", PM_PII_MAX, false),
        varchar("fk_targets", PM_FK_MAX, false),
        varchar("text", PM_TEXT_MAX, false), "fieldName", "embedding",
        "dataType", "FloatVector", "elementTypeParams", "dim", dim);
    json_t *body = json_pack(
        "{s:s, s:s, s:{s:b, s:b, s:o}, s:[{s:s, s:s, s:s, s:s}]}",
        "collectionName", collection, "description",
        "catalog-sync: tables and columns for NL-to-SQL retrieval", "schema",
        "autoID", 0, "enableDynamicField", 0, "fields", fields, "indexParams",
        "fieldName", "embedding", "indexName", "embedding_idx", "metricType",
        o->metric, "indexType", "AUTOINDEX");
    if (body && o->db_name)
        json_object_set_new(body, "dbName", json_string(o->db_name));
    return body;
}

static json_t *name_body(const struct pm_opts *o, const char *collection)
{
    json_t *b = json_pack("{s:s}", "collectionName", collection);
    if (b && o->db_name)
        json_object_set_new(b, "dbName", json_string(o->db_name));
    return b;
}

static const json_t *field_named(const json_t *data, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(data, "fields"), i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && !strcmp(n, name))
            return f;
    }
    return NULL;
}

/* The `dim` type parameter of a described field, -1 if none. */
static long field_dim(const json_t *field)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(field, "params"), i, p)
    {
        const char *k = json_string_value(json_object_get(p, "key"));
        const char *v = json_string_value(json_object_get(p, "value"));
        if (k && v && !strcmp(k, "dim"))
            return atol(v);
    }
    return -1;
}

/* An existing collection must have our fields and our dimension. */
static int check_described(struct pm_job *j, const char *collection,
                           const json_t *data)
{
    static const char *const ours[] = {
        "id",  "kind", "fqn",        "table_fqn", "name", "data_type",
        "pii", "text", "fk_targets", "embedding", NULL};
    for (const char *const *want = ours; *want; want++)
        if (!field_named(data, *want))
            return pm_fail(j, CS_ERR_INVALID,
                           "Milvus collection `%s` exists but has no field "
                           "`%s`: it was not created by push_milvus; set "
                           "config.collection to another name",
                           collection, *want);
    long dim = field_dim(field_named(data, "embedding"));
    if (dim != j->dim)
        return pm_fail(j, CS_ERR_INVALID,
                       "Milvus collection `%s` holds vectors of dimension %ld "
                       "but the embedding endpoint gives %d; use a new "
                       "collection for another embedding model",
                       collection, dim, j->dim);
    return CS_OK;
}

static int create(struct pm_job *j, const char *collection)
{
    const struct pm_opts *o = &j->s->o;
    json_t *body = pm_create_body(o, collection, j->dim), *data = NULL;
    if (!body)
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for collections/create");
    int rc = pm_call(j, "collections/create", collection, body, &data, NULL);
    json_decref(data);
    if (rc == CS_OK) {
        char target[300];
        snprintf(target, sizeof target, "milvus:%s", collection);
        json_t *rec = json_pack("{s:s, s:i, s:s, s:s}", "collection",
                                collection, "dimension", j->dim, "metricType",
                                o->metric, "indexType", "AUTOINDEX");
        if (!rec || j->h->audit(j->ctx, target, "create", NULL, NULL, rec,
                                json_object_get(body, "schema")) != CS_OK)
            rc = pm_fail(j, CS_ERR,
                         "created Milvus collection `%s` but could not write "
                         "its audit row: %s",
                         collection, j->h->last_error(j->ctx));
        json_decref(rec);
        j->h->log(j->ctx, CS_LOG_INFO,
                  "created Milvus collection %s (dimension %d, %s)", collection,
                  j->dim, o->metric);
    }
    json_decref(body);
    return rc;
}

/* has -> describe (check) or create; the lock is held throughout so that
 * two threads never create the same collection. */
static int check_or_create(struct pm_job *j, const char *collection)
{
    json_t *body = name_body(&j->s->o, collection), *data = NULL;
    if (!body)
        return pm_fail(j, CS_ERR_NOMEM, "out of memory for collections/has");
    int rc = pm_call(j, "collections/has", collection, body, &data, NULL);
    bool has = json_is_true(json_object_get(data, "has"));
    json_decref(data);
    data = NULL;
    if (rc == CS_OK && has) {
        rc = pm_call(j, "collections/describe", collection, body, &data, NULL);
        if (rc == CS_OK)
            rc = check_described(j, collection, data);
        json_decref(data);
    } else if (rc == CS_OK) {
        rc = create(j, collection);
    }
    json_decref(body);
    return rc;
}

/* Takes s->lock for the whole check, so the first caller of a
 * collection does has/describe/create while the others wait.  CS_OK, or
 * pm_call's errors, CS_ERR_INVALID (another dimension, a foreign
 * collection), CS_ERR (no audit row), with j->err set. */
int pm_ensure_collection(struct pm_job *j, const char *collection)
{
    struct pm_state *s = j->s;
    pthread_mutex_lock(&s->lock);
    json_t *known = json_object_get(s->ready, collection);
    int rc = CS_OK;
    if (known && json_integer_value(known) != j->dim)
        rc = pm_fail(j, CS_ERR_INVALID,
                     "Milvus collection `%s` holds vectors of dimension %lld "
                     "but the embedding endpoint gave %d",
                     collection, (long long)json_integer_value(known), j->dim);
    else if (!known) {
        rc = check_or_create(j, collection);
        if (rc == CS_OK &&
            json_object_set_new(s->ready, collection, json_integer(j->dim)))
            rc = pm_fail(j, CS_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Any pool thread; takes s->lock. */
void pm_forget_collection(struct pm_state *s, const char *collection)
{
    pthread_mutex_lock(&s->lock);
    json_object_del(s->ready, collection);
    pthread_mutex_unlock(&s->lock);
}
