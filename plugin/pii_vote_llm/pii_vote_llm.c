/*
 * pii_vote_llm: a zero-shot LLM vote on the PII entity of every column.
 *
 * Per table, one host->llm_chat call (one per chunk of `max_columns`
 * columns) shows the model the column names, data types, descriptions,
 * profile statistics and value shapes, and asks for JSON following a
 * schema: [{name, entity, confidence}].  The answer becomes the `pii_llm`
 * aspect that pii_tag's `vote` option combines with its recognizers.
 *
 * The pass consumes no raw aspect, and from `profile` it copies only
 * named statistics and shapes: topValues, min and max (values, or hashes
 * of values) never reach a prompt.
 */
#include "pii_vote_llm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cs_aspect_decl consumes[] = {
    {"table", CS_ASPECT_REQUIRED}, {"profile", CS_ASPECT_REQUIRED}, {NULL, 0}};

/* Not raw: entity names and confidences only. */
static const cs_aspect_decl produces[] = {{"pii_llm", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"endpoint", CS_OPT_STRING, "\"default\"",
     "a name under the manifest's llm.endpoints", 0},
    {"model", CS_OPT_STRING, "null", "chat model; null: the endpoint's", 0},
    {"temperature", CS_OPT_NUMBER, "0", "sampling temperature (0..2)", 0},
    {"top_p", CS_OPT_NUMBER, "1", "nucleus sampling (0..1]", 0},
    {"max_columns", CS_OPT_INT, "200",
     "columns per call; larger tables are sent in chunks", 0},
    {"max_tokens", CS_OPT_INT, "0", "answer token limit; 0: the endpoint's", 0},
    {"timeout_ms", CS_OPT_INT, "0", "per call; 0: the endpoint's", 0},
    {"unavailable_wait_ms", CS_OPT_INT, "60000",
     "how long a table waits for an unavailable endpoint before its vote "
     "is recorded missing",
     0},
    {NULL, 0, NULL, NULL, 0}};

static void pv_fini(void *state)
{
    struct pv_state *s = state;
    if (!s)
        return;
    free(s->system);
    free(s->schema);
    if (s->patience_ready)
        llm_patience_destroy(&s->patience);
    free(s);
}

/* Ranges the host's type check cannot express; message names the option. */
static int read_config(struct pv_state *s, const json_t *cfg, char *err,
                       size_t errlen)
{
    json_int_t maxc = json_integer_value(json_object_get(cfg, "max_columns"));
    json_int_t tmo = json_integer_value(json_object_get(cfg, "timeout_ms"));
    json_int_t tok = json_integer_value(json_object_get(cfg, "max_tokens"));
    json_int_t wait =
        json_integer_value(json_object_get(cfg, "unavailable_wait_ms"));
    s->endpoint = json_string_value(json_object_get(cfg, "endpoint"));
    s->model = json_string_value(json_object_get(cfg, "model"));
    s->temperature = json_number_value(json_object_get(cfg, "temperature"));
    s->top_p = json_is_number(json_object_get(cfg, "top_p"))
                   ? json_number_value(json_object_get(cfg, "top_p"))
                   : 1.0;
    if (!(s->temperature >= 0 && s->temperature <= 2))
        snprintf(err, errlen, "option temperature must be within 0..2");
    else if (!(s->top_p > 0 && s->top_p <= 1))
        snprintf(err, errlen, "option top_p must be within (0, 1]");
    else if (maxc < 1 || maxc > 100000)
        snprintf(err, errlen, "option max_columns must be within 1..100000");
    else if (tmo < 0)
        snprintf(err, errlen, "option timeout_ms must not be negative");
    else if (tok < 0 || tok > 1000000)
        snprintf(err, errlen, "option max_tokens must be within 0..1000000");
    else if (wait < 0 || wait > 3600000)
        snprintf(err, errlen,
                 "option unavailable_wait_ms must be within 0..3600000");
    else if (llm_patience_init(&s->patience, (long)wait) != 0)
        snprintf(err, errlen, "cannot create a mutex");
    else {
        s->patience_ready = true;
        s->max_columns = (size_t)maxc;
        s->timeout_ms = (long)tmo;
        s->max_tokens = (int)tok;
        return 0;
    }
    return -1;
}

/* Main thread, once.  CS_OK with *state owned by the pass (freed by
 * fini), or an error after set_error with nothing left allocated. */
static int pv_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    char err[160];
    if (!CS_HOST_HAS(host, llm_chat) || !CS_HOST_HAS(host, llm_response_free)) {
        host->set_error(ctx, "pii_vote_llm needs a host with llm_chat (ABI "
                             "1.2 or later, and no raw input)");
        return CS_ERR_INVALID;
    }
    struct pv_state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    if (read_config(s, host->config(ctx), err, sizeof err) != 0) {
        host->set_error(ctx, "%s", err);
        pv_fini(s);
        return CS_ERR_INVALID;
    }
    if (!(s->system = pv_system_prompt()) ||
        !(s->schema = pv_answer_schema())) {
        host->set_error(ctx, "out of memory");
        pv_fini(s);
        return CS_ERR_NOMEM;
    }
    *state = s;
    return CS_OK;
}

/* What one table's calls gather. */
struct vote_run {
    struct pv_state *s;
    cs_ctx *ctx;
    const json_t *table;
    json_t *facts;     /* owned */
    json_t *columns;   /* owned until put */
    char *model;       /* owned: the first answer's */
    char missing[600]; /* why the vote is missing (an outage), or "" */
    uint64_t hash;
    int attempts, calls;
};

static const char *status_name(int rc)
{
    switch (rc) {
    case CS_ERR_UNAVAILABLE:
        return "unavailable";
    case CS_ERR_TIMEOUT:
        return "timed out";
    case CS_ERR_INVALID:
        return "invalid answer";
    case CS_ERR_STOPPING:
        return "stopping";
    default:
        return "failed";
    }
}

/* One call for columns [from, from + n).  CS_OK, or the error after
 * set_error naming the table. */
static int vote_chunk(struct vote_run *r, size_t from, size_t n)
{
    const cs_host_api *h = r->s->host;
    const char *fqn = h->entity_fqn(r->ctx);
    char *prompt = pv_user_prompt(r->table, r->facts, from, n);
    if (!prompt) {
        h->set_error(r->ctx, "table %s: out of memory", fqn);
        return CS_ERR_NOMEM;
    }
    r->hash = pv_fnv(pv_fnv(r->hash, r->s->system), prompt);
    cs_llm_request req = {.struct_size = sizeof req,
                          .endpoint = r->s->endpoint,
                          .model = r->s->model,
                          .system = r->s->system,
                          .prompt = prompt,
                          .json_schema = r->s->schema,
                          .temperature = r->s->temperature,
                          .top_p = r->s->top_p,
                          .max_tokens = r->s->max_tokens,
                          .timeout_ms = r->s->timeout_ms};
    cs_llm_response resp;
    memset(&resp, 0, sizeof resp);
    int rc = llm_chat_patiently(h, r->ctx, &r->s->patience, &req, &resp);
    free(prompt);
    r->calls++;
    if (llm_outage(rc))
        snprintf(r->missing, sizeof r->missing, "LLM vote %s: %s",
                 status_name(rc), h->last_error(r->ctx));
    if (rc != CS_OK) {
        h->set_error(r->ctx, "table %s: LLM vote %s: %s", fqn, status_name(rc),
                     h->last_error(r->ctx));
        return rc;
    }
    r->attempts += resp.attempts;
    if (!r->model && resp.model && !(r->model = strdup(resp.model))) {
        h->llm_response_free(&resp);
        h->set_error(r->ctx, "table %s: out of memory", fqn);
        return CS_ERR_NOMEM;
    }
    char why[200];
    int kept = pv_merge_answer(resp.content, r->facts, from, n, r->columns, why,
                               sizeof why);
    h->llm_response_free(&resp);
    if (kept < 0) {
        h->set_error(r->ctx, "table %s: LLM vote invalid answer: %s", fqn, why);
        return CS_ERR_INVALID;
    }
    h->log(r->ctx, CS_LOG_DEBUG, "pii vote: %d of %zu columns answered", kept,
           n);
    return CS_OK;
}

static int put_vote(struct vote_run *r)
{
    const cs_host_api *h = r->s->host;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, r->hash);
    json_t *out = json_pack("{s:O, s:s?, s:s?, s:i}", "columns", r->columns,
                            "model", r->model, "prompt_hash",
                            r->calls ? hex : NULL, "attempts", r->attempts);
    if (out && r->missing[0] &&
        json_object_set_new(out, "missing", json_string(r->missing)) != 0) {
        json_decref(out);
        out = NULL;
    }
    if (!out) {
        h->set_error(r->ctx, "table %s: out of memory", h->entity_fqn(r->ctx));
        return CS_ERR_NOMEM;
    }
    size_t voted = json_object_size(r->columns);
    int rc = h->aspect_put(r->ctx, "pii_llm", out);
    if (rc != CS_OK)
        return rc;
    h->metric_add(r->ctx, "pii_votes", (double)voted);
    h->log(r->ctx, CS_LOG_INFO, "pii vote: %zu of %zu columns in %d call(s)",
           voted, json_array_size(r->facts), r->calls);
    return CS_OK;
}

/* Pool thread, concurrent with other entities.  CS_OK after putting
 * pii_llm, or the llm_chat error (set_error names the table). */
static int pv_process(void *state, cs_ctx *ctx)
{
    struct pv_state *s = state;
    const cs_host_api *h = s->host;
    struct vote_run r = {.s = s,
                         .ctx = ctx,
                         .table = h->aspect_get(ctx, "table"),
                         .hash = 0xcbf29ce484222325ULL}; /* FNV offset */
    r.facts = pv_column_facts(r.table, h->aspect_get(ctx, "profile"));
    r.columns = json_object();
    int rc = CS_OK;
    if (!r.facts || !r.columns) {
        h->set_error(ctx, "table %s: out of memory", h->entity_fqn(ctx));
        rc = CS_ERR_NOMEM;
    }
    size_t total = json_array_size(r.facts);
    for (size_t from = 0; rc == CS_OK && from < total; from += s->max_columns) {
        size_t n =
            total - from < s->max_columns ? total - from : s->max_columns;
        /* A drain puts the entity back in the queue: no half vote. */
        rc = from > 0 && h->should_stop(ctx) ? CS_ERR_STOPPING
                                             : vote_chunk(&r, from, n);
    }
    if (r.calls)
        h->metric_add(ctx, "pii_vote_calls", (double)r.calls);
    /* The vote is advice: an endpoint that stayed down leaves it missing,
     * with the reason, and the table goes on to pii_tag (which then has
     * no vote for the columns not answered). */
    if (llm_outage(rc)) {
        h->log(ctx, CS_LOG_WARN, "pii vote missing for %s: %s",
               h->entity_fqn(ctx), r.missing);
        h->metric_add(ctx, "pii_vote_missing", 1);
        rc = CS_OK;
    }
    if (rc == CS_OK)
        rc = put_vote(&r);
    json_decref(r.facts);
    json_decref(r.columns);
    free(r.model);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "pii_vote_llm",
    .version = "0.1.0",
    .summary = "zero-shot LLM vote on each column's PII entity, from "
               "metadata and value shapes only",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = pv_init,
    .process = pv_process,
    .fini = pv_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
