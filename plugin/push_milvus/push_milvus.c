/*
 * push_milvus: tables and columns into Milvus for NL-to-SQL retrieval.
 *
 * An entity pass placed late in the pipeline (after the batch stage of
 * fk_discover when the plan has it).  For every table it builds one
 * record for the table and one per column, each with a text made of
 * names, data types, descriptions, tags, PII tags and foreign keys (never
 * a sampled value), embeds the texts through the host's LLM client
 * (host->llm_embed) and upserts them into a Milvus collection through the
 * REST API v2, creating the collection with a declared schema and an
 * AUTOINDEX on first use.  Record ids are the FQNs, so a re-run upserts
 * instead of duplicating; a record whose text did not change since the
 * last push (pass state: a hash per record id) is neither embedded nor
 * sent again.  Every write gets an audit row; the `embedding` aspect
 * lists ids, hashes and counts.
 */
#include "push_milvus.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {"description", CS_ASPECT_OPTIONAL},
                                          {"pii", CS_ASPECT_OPTIONAL},
                                          {"fk", CS_ASPECT_OPTIONAL},
                                          {NULL, 0}};
/* Not raw: ids, hashes and counts only. */
static const cs_aspect_decl produces[] = {{"embedding", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"url", CS_OPT_STRING, NULL,
     "Milvus server, e.g. http://milvus:19530 (API under /v2/vectordb)",
     CS_OPTION_REQUIRED},
    {"token", CS_OPT_STRING, NULL,
     "user:password or API key (write token_file: PATH or ${VAR}); else "
     "token_env is read; none: no Authorization header",
     0},
    {"token_env", CS_OPT_STRING, "\"MILVUS_TOKEN\"",
     "environment variable holding the token when token is not given", 0},
    {"db_name", CS_OPT_STRING, "\"\"",
     "Milvus database; empty: the server's default", 0},
    {"collection", CS_OPT_STRING, "\"catalog_metadata\"",
     "collection of the table records (and of the columns by default)", 0},
    {"column_collection", CS_OPT_STRING, "\"\"",
     "collection of the column records; empty: `collection`", 0},
    {"llm_endpoint", CS_OPT_STRING, "\"default\"",
     "endpoint under the manifest's llm.endpoints that embeds the texts", 0},
    {"embedding_model", CS_OPT_STRING, "\"\"",
     "embedding model; empty: the endpoint's embedding_model", 0},
    {"dimensions", CS_OPT_INT, "0",
     "vector dimension to ask for; 0: the endpoint's dimensions", 0},
    {"metric_type", CS_OPT_STRING, "\"COSINE\"",
     "metric of the vector index: COSINE, IP or L2", 0},
    {"embed_batch", CS_OPT_INT, "32", "texts per embedding request", 0},
    {"upsert_batch", CS_OPT_INT, "100", "rows per entities/upsert request", 0},
    {"max_text_bytes", CS_OPT_INT, "4000",
     "longest text embedded for one record (256..65535 bytes)", 0},
    {"delete_stale", CS_OPT_BOOL, "true",
     "delete the records of columns a table no longer has", 0},
    {"timeout_ms", CS_OPT_INT, "30000", "timeout of one Milvus request", 0},
    {"max_retries", CS_OPT_INT, "3",
     "retries the host makes on connect errors, 429, 502, 503, 504", 0},
    {NULL, 0, NULL, NULL, 0}};

static long opt_int(const json_t *cfg, const char *name)
{
    return (long)json_integer_value(json_object_get(cfg, name));
}

/* The option's string, NULL when empty. */
static const char *opt_str(const json_t *cfg, const char *name)
{
    const char *s = json_string_value(json_object_get(cfg, name));
    return s && *s ? s : NULL;
}

struct range {
    const char *name;
    long lo, hi;
};

static int check_ints(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg)
{
    static const struct range r[] = {
        {"dimensions", 0, 65536},     {"embed_batch", 1, 2048},
        {"upsert_batch", 1, 10000},   {"max_text_bytes", 256, PM_TEXT_MAX},
        {"timeout_ms", 0, 86400000L}, {"max_retries", -1, 20}};
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        long v = opt_int(cfg, r[i].name);
        if (v < r[i].lo || v > r[i].hi) {
            h->set_error(ctx, "config.%s must be %ld..%ld, got %ld", r[i].name,
                         r[i].lo, r[i].hi, v);
            return CS_ERR_INVALID;
        }
    }
    return CS_OK;
}

/* Milvus's rule: a letter or `_`, then letters, digits, `_`; 255 at most. */
static bool collection_name_ok(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_') || strlen(s) > 255)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static int check_names(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg)
{
    static const char *const colls[] = {"collection", "column_collection"};
    for (size_t i = 0; i < 2; i++) {
        const char *c = opt_str(cfg, colls[i]);
        if ((c || i == 0) && !collection_name_ok(c)) {
            h->set_error(ctx,
                         "config.%s must start with a letter or _ and hold "
                         "only letters, digits and _ (at most 255), got %s",
                         colls[i], c ? c : "an empty name");
            return CS_ERR_INVALID;
        }
    }
    const char *m = opt_str(cfg, "metric_type");
    if (!m || (strcmp(m, "COSINE") && strcmp(m, "IP") && strcmp(m, "L2"))) {
        h->set_error(ctx, "config.metric_type must be COSINE, IP or L2, got %s",
                     m ? m : "an empty name");
        return CS_ERR_INVALID;
    }
    const char *url = opt_str(cfg, "url");
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        h->set_error(ctx, "config.url must start with http:// or https://");
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

/* What the pass needs of the host: network, LLM, audit and state. */
static int check_host(const cs_host_api *h, cs_ctx *ctx)
{
    if (!CS_HOST_HAS(h, http) || !h->state_put || !CS_HOST_HAS(h, audit)) {
        h->set_error(ctx, "the host gives this pass no http(), state_put() or "
                          "audit(): it must not consume a raw aspect");
        return CS_ERR_DENIED;
    }
    if (!CS_HOST_HAS(h, llm_embed) || !CS_HOST_HAS(h, llm_vectors_free)) {
        h->set_error(ctx, "the host has no llm_embed() (ABI 1.2): upgrade "
                          "catalog-sync, or do not consume a raw aspect");
        return CS_ERR_DENIED;
    }
    return CS_OK;
}

/* "<url>/v2/vectordb" from a URL given with or without that path. */
static char *api_root(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= 12 && strncmp(url + n - 12, "/v2/vectordb", 12) == 0)
        n -= 12;
    return pm_fmt("%.*s/v2/vectordb", (int)n, url);
}

/* config.token (or token_file, or ${VAR}), else $token_env, else none:
 * a Milvus without authentication.  Registered as a secret first. */
static int load_token(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg,
                      struct pm_opts *o)
{
    const char *env = opt_str(cfg, "token_env");
    const char *tok = opt_str(cfg, "token");
    if (!tok && env)
        tok = getenv(env);
    if (!tok || !*tok)
        return CS_OK;
    if (strpbrk(tok, "\r\n")) {
        h->set_error(ctx, "the Milvus token holds a line break");
        return CS_ERR_INVALID;
    }
    h->secret_register(ctx, tok);
    o->auth_header = pm_fmt("Authorization: Bearer %s", tok);
    if (!o->auth_header) {
        h->set_error(ctx, "out of memory for the pass state");
        return CS_ERR_NOMEM;
    }
    return CS_OK;
}

static void read_opts(const json_t *cfg, struct pm_opts *o)
{
    o->db_name = opt_str(cfg, "db_name");
    o->collection = opt_str(cfg, "collection");
    o->column_collection = opt_str(cfg, "column_collection");
    o->endpoint = opt_str(cfg, "llm_endpoint");
    o->model = opt_str(cfg, "embedding_model");
    o->metric = opt_str(cfg, "metric_type");
    o->dimensions = (int)opt_int(cfg, "dimensions");
    o->embed_batch = opt_int(cfg, "embed_batch");
    o->upsert_batch = opt_int(cfg, "upsert_batch");
    o->max_text_bytes = opt_int(cfg, "max_text_bytes");
    o->timeout_ms = opt_int(cfg, "timeout_ms");
    o->max_retries = (int)opt_int(cfg, "max_retries");
    o->delete_stale = json_is_true(json_object_get(cfg, "delete_stale"));
    if (!o->endpoint)
        o->endpoint = "default";
}

static void pm_fini(void *state)
{
    struct pm_state *s = state;
    if (!s)
        return;
    free(s->o.api);
    free(s->o.auth_header);
    json_decref(s->ready);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int pm_init(const cs_host_api *h, cs_ctx *ctx, void **state)
{
    const json_t *cfg = h->config(ctx);
    int rc = check_host(h, ctx);
    if (rc == CS_OK)
        rc = check_ints(h, ctx, cfg);
    if (rc == CS_OK)
        rc = check_names(h, ctx, cfg);
    if (rc != CS_OK)
        return rc;
    struct pm_state *s = calloc(1, sizeof *s);
    if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        h->set_error(ctx, "out of memory for the pass state");
        return CS_ERR_NOMEM;
    }
    s->h = h;
    read_opts(cfg, &s->o);
    s->o.api = api_root(opt_str(cfg, "url"));
    s->ready = json_object();
    rc = !s->o.api || !s->ready ? CS_ERR_NOMEM : load_token(h, ctx, cfg, &s->o);
    if (rc != CS_OK) {
        if (rc == CS_ERR_NOMEM)
            h->set_error(ctx, "out of memory for the pass state");
        pm_fini(s);
        return rc;
    }
    *state = s;
    return CS_OK;
}

static int pm_process(void *state, cs_ctx *ctx)
{
    struct pm_state *s = state;
    struct pm_job j = {.s = s, .h = s->h, .ctx = ctx};
    j.fqn = s->h->entity_fqn(ctx);
    const json_t *table = s->h->aspect_get(ctx, "table");
    int rc = table ? pm_build_records(&j, table,
                                      s->h->aspect_get(ctx, "description"),
                                      s->h->aspect_get(ctx, "pii"),
                                      s->h->aspect_get(ctx, "fk"))
                   : pm_fail(&j, CS_ERR_INVALID, "%s has no `table` aspect",
                             j.fqn ? j.fqn : "the entity");
    if (rc == CS_OK)
        rc = pm_push(&j);
    if (rc != CS_OK)
        s->h->set_error(ctx, "%s", j.err);
    pm_records_free(&j);
    json_decref(j.prev);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "push_milvus",
    .version = "0.1.0",
    .summary = "embeds table and column texts and upserts them into Milvus",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = pm_init,
    .process = pm_process,
    .fini = pm_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
