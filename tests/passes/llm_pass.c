/*
 * An entity pass for the LLM client's integration tests, built out of tree
 * (tests/passes/build.sh): per entity one llm_chat (a description of the
 * table and its columns, following a JSON schema) and/or one llm_embed
 * (one text per column), through the host.  Its output `llm_out` records
 * what came back, so the test can check it in the state store.
 */
#include <catalog_sync/pass.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT_MAX 8192

struct state {
    const cs_host_api *host;
    char *schema; /* JSON text of config.schema */
};

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"llm_out", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"endpoint", CS_OPT_STRING, NULL, "llm.endpoints name (NULL: default)", 0},
    {"chat", CS_OPT_BOOL, "true", "call llm_chat once per entity", 0},
    {"embed", CS_OPT_BOOL, "true", "call llm_embed once per entity", 0},
    {"model", CS_OPT_STRING, NULL, "chat model (NULL: the endpoint's)", 0},
    {"dimensions", CS_OPT_INT, "0", "embedding size (0: the endpoint's)", 0},
    {"schema", CS_OPT_OBJECT,
     "{\"type\":\"object\",\"required\":[\"table\",\"columns\"],"
     "\"additionalProperties\":false,\"properties\":{"
     "\"table\":{\"type\":\"object\",\"required\":[\"description\"],"
     "\"properties\":{\"description\":{\"type\":\"string\",\"maxLength\":"
     "200}}},"
     "\"columns\":{\"type\":\"object\",\"additionalProperties\":{"
     "\"type\":\"object\",\"required\":[\"description\"],\"properties\":{"
     "\"description\":{\"type\":\"string\",\"maxLength\":200}}}}}}",
     "the JSON schema of the answer", 0},
    {NULL, 0, NULL, NULL, 0}};

static int llm_init(const cs_host_api *host, cs_ctx *ctx, void **out)
{
    if (!CS_HOST_HAS(host, llm_chat) || !CS_HOST_HAS(host, llm_embed)) {
        host->set_error(ctx, "the host has no LLM client (ABI 1.2 needed)");
        return CS_ERR;
    }
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    s->schema =
        json_dumps(json_object_get(host->config(ctx), "schema"), JSON_COMPACT);
    if (!s->schema) {
        free(s);
        return CS_ERR_NOMEM;
    }
    *out = s;
    return CS_OK;
}

static const char *opt_string(struct state *s, cs_ctx *ctx, const char *key)
{
    return json_string_value(json_object_get(s->host->config(ctx), key));
}

/* "Table: <fqn>\nColumns:\n- <name> (<type>)\n..." */
static void build_prompt(const json_t *table, const char *fqn, char *out,
                         size_t len)
{
    size_t used = (size_t)snprintf(out, len, "Table: %s\nColumns:\n", fqn);
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(table, "columns"), i, col)
    {
        if (used >= len)
            break;
        used += (size_t)snprintf(
            out + used, len - used, "- %s (%s)\n",
            json_string_value(json_object_get(col, "name")),
            json_string_value(json_object_get(col, "dataType")));
    }
}

static int do_chat(struct state *s, cs_ctx *ctx, const char *prompt,
                   json_t *out)
{
    cs_llm_request req = {.struct_size = sizeof req,
                          .endpoint = opt_string(s, ctx, "endpoint"),
                          .model = opt_string(s, ctx, "model"),
                          .system = "You describe database tables.",
                          .prompt = prompt,
                          .json_schema = s->schema,
                          .temperature = 0.0,
                          .top_p = 1.0};
    cs_llm_response resp;
    int rc = s->host->llm_chat(ctx, &req, &resp);
    json_object_set_new(out, "chat_attempts", json_integer(resp.attempts));
    if (rc != CS_OK) {
        s->host->set_error(ctx, "llm_chat (%d): %s", rc,
                           s->host->last_error(ctx));
        return rc;
    }
    json_object_set_new(out, "answer", json_loads(resp.content, 0, NULL));
    json_object_set_new(out, "model", json_string(resp.model));
    json_object_set_new(out, "prompt_tokens", json_integer(resp.prompt_tokens));
    s->host->llm_response_free(&resp);
    return CS_OK;
}

static int do_embed(struct state *s, cs_ctx *ctx, const json_t *table,
                    json_t *out)
{
    const char *texts[64];
    size_t n = 0, i;
    json_t *col;
    json_array_foreach(json_object_get(table, "columns"), i, col)
    {
        if (n < 64)
            texts[n++] = json_string_value(json_object_get(col, "name"));
    }
    float *vec = NULL;
    int dim = 0;
    int want = (int)json_integer_value(
        json_object_get(s->host->config(ctx), "dimensions"));
    int rc = s->host->llm_embed(ctx, opt_string(s, ctx, "endpoint"), NULL,
                                texts, n, want, &vec, &dim);
    if (rc != CS_OK) {
        s->host->set_error(ctx, "llm_embed (%d): %s", rc,
                           s->host->last_error(ctx));
        return rc;
    }
    json_t *norms = json_array();
    for (size_t k = 0; k < n; k++) {
        double sum = 0;
        for (int j = 0; j < dim; j++)
            sum += (double)vec[k * (size_t)dim + (size_t)j] *
                   vec[k * (size_t)dim + (size_t)j];
        json_array_append_new(norms, json_real(sqrt(sum)));
    }
    /* The first two numbers of every vector, so a test can tell whether
     * they came back in the order of the texts. */
    json_t *heads = json_array();
    for (size_t k = 0; k < n && dim >= 2; k++)
        json_array_append_new(heads, json_pack("[f,f]", vec[k * (size_t)dim],
                                               vec[k * (size_t)dim + 1]));
    json_object_set_new(out, "dim", json_integer(dim));
    json_object_set_new(out, "norms", norms);
    json_object_set_new(out, "heads", heads);
    s->host->llm_vectors_free(vec);
    return CS_OK;
}

static int llm_process(void *state, cs_ctx *ctx)
{
    struct state *s = state;
    const json_t *cfg = s->host->config(ctx);
    json_t *table = s->host->aspect_get(ctx, "table");
    const char *fqn = s->host->entity_fqn(ctx);
    char prompt[PROMPT_MAX];
    json_t *out = json_object();
    int rc = out ? CS_OK : CS_ERR_NOMEM;
    build_prompt(table, fqn, prompt, sizeof prompt);
    if (rc == CS_OK && json_is_true(json_object_get(cfg, "chat")))
        rc = do_chat(s, ctx, prompt, out);
    if (rc == CS_OK && json_is_true(json_object_get(cfg, "embed")))
        rc = do_embed(s, ctx, table, out);
    if (rc != CS_OK) {
        json_decref(out);
        return rc;
    }
    return s->host->aspect_put(ctx, "llm_out", out);
}

static void llm_fini(void *state)
{
    struct state *s = state;
    if (s)
        free(s->schema);
    free(s);
}

static const cs_pass_desc desc = {CS_PASS_HEADER,
                                  "llm_probe",
                                  "1",
                                  "calls the host's LLM client per entity",
                                  CS_PASS_ENTITY,
                                  consumes,
                                  produces,
                                  options,
                                  llm_init,
                                  NULL,
                                  llm_process,
                                  NULL,
                                  llm_fini};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
