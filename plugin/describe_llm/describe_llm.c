/*
 * describe_llm: short factual descriptions of a table and its columns,
 * written by the operator's own LLM through the host's client.
 *
 * One prompt per table (per max_columns columns of a wide one) with the
 * schema, a profile summary, at most five rows of the *masked* sample,
 * the FK edges and the upstream tables, asking for JSON that follows a
 * schema.  Each description is checked (word limit, no echoed
 * placeholder, more than the name restated); a weak answer (invalid,
 * rejected texts, low confidence) is asked again once of the fallback
 * model.  A description a person wrote is never replaced: such a column
 * is not even asked for.  The `description` aspect records the model,
 * a hash of the prompts and every attempt, for the audit log.
 */
#include "describe_llm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {"profile", CS_ASPECT_REQUIRED},
                                          {"sample_masked", CS_ASPECT_REQUIRED},
                                          {"pii", CS_ASPECT_OPTIONAL},
                                          {"fk", CS_ASPECT_OPTIONAL},
                                          {"lineage", CS_ASPECT_OPTIONAL},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"description", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"endpoint", CS_OPT_STRING, "\"default\"",
     "endpoint under the manifest's llm.endpoints", 0},
    {"model", CS_OPT_STRING, "\"\"",
     "chat model; empty: the endpoint's chat_model", 0},
    {"fallback_model", CS_OPT_STRING, "\"@fallback\"",
     "model asked once more after a weak answer; \"@fallback\": the "
     "endpoint's fallback_model; empty: no second attempt",
     0},
    {"language", CS_OPT_STRING, "\"English\"",
     "language the descriptions are written in", 0},
    {"max_words", CS_OPT_INT, "20", "longest description, in words (3..20)", 0},
    {"sample_rows", CS_OPT_INT, "5",
     "masked sample rows shown to the model (0..5)", 0},
    {"max_columns", CS_OPT_INT, "60",
     "columns per prompt; wider tables take several prompts", 0},
    {"describe_table", CS_OPT_BOOL, "true", "describe the table", 0},
    {"describe_columns", CS_OPT_BOOL, "true", "describe the columns", 0},
    {"temperature", CS_OPT_NUMBER, "0", "sampling temperature (0..2)", 0},
    {"top_p", CS_OPT_NUMBER, "1", "nucleus sampling (0..1]", 0},
    {"max_tokens", CS_OPT_INT, "0",
     "answer length limit; 0: about 40 tokens a description", 0},
    {"timeout_ms", CS_OPT_INT, "0",
     "timeout of one HTTP attempt; 0: the endpoint's", 0},
    {"unavailable_wait_ms", CS_OPT_INT, "60000",
     "how long an entity waits for an unavailable endpoint before its "
     "description is recorded missing",
     0},
    {NULL, 0, NULL, NULL, 0}};

int dl_fail(struct dl_job *j, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *opt_str(const json_t *cfg, const char *name)
{
    const char *s = json_string_value(json_object_get(cfg, name));
    return s && *s ? s : NULL;
}

static long opt_int(const json_t *cfg, const char *name)
{
    return (long)json_integer_value(json_object_get(cfg, name));
}

struct range {
    const char *name;
    double lo, hi;
};

static int check_ranges(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg)
{
    static const struct range r[] = {
        {"max_words", 3, DL_MAX_WORDS}, {"sample_rows", 0, DL_MAX_ROWS},
        {"max_columns", 1, 500},        {"temperature", 0, 2},
        {"top_p", 0.000001, 1},         {"max_tokens", 0, 1000000},
        {"timeout_ms", 0, 3600000},     {"unavailable_wait_ms", 0, 3600000}};
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        double v = json_number_value(json_object_get(cfg, r[i].name));
        if (v < r[i].lo || v > r[i].hi) {
            h->set_error(ctx, "config.%s must be %g..%g, got %g", r[i].name,
                         r[i].lo, r[i].hi, v);
            return CS_ERR_INVALID;
        }
    }
    return CS_OK;
}

static void read_opts(const json_t *cfg, struct dl_opts *o)
{
    o->endpoint = opt_str(cfg, "endpoint");
    if (!o->endpoint)
        o->endpoint = "default";
    o->model = opt_str(cfg, "model");
    o->fallback = opt_str(cfg, "fallback_model");
    o->language = opt_str(cfg, "language");
    if (!o->language)
        o->language = "English";
    o->temperature = json_number_value(json_object_get(cfg, "temperature"));
    o->top_p = json_number_value(json_object_get(cfg, "top_p"));
    o->max_words = opt_int(cfg, "max_words");
    o->sample_rows = opt_int(cfg, "sample_rows");
    o->max_columns = opt_int(cfg, "max_columns");
    o->max_tokens = opt_int(cfg, "max_tokens");
    o->timeout_ms = opt_int(cfg, "timeout_ms");
    o->unavailable_wait_ms = opt_int(cfg, "unavailable_wait_ms");
    o->describe_table = json_is_true(json_object_get(cfg, "describe_table"));
    o->describe_columns =
        json_is_true(json_object_get(cfg, "describe_columns"));
}

static void dl_fini(void *state)
{
    struct dl_state *s = state;
    if (!s)
        return;
    llm_patience_destroy(&s->patience);
    free(s);
}

static int dl_init(const cs_host_api *h, cs_ctx *ctx, void **state)
{
    if (!CS_HOST_HAS(h, llm_chat) || !CS_HOST_HAS(h, llm_response_free)) {
        h->set_error(ctx, "describe_llm needs a host with llm_chat (ABI 1.2 "
                          "or later) and a pass that reads no raw aspect");
        return CS_ERR_INVALID;
    }
    const json_t *cfg = h->config(ctx);
    int rc = check_ranges(h, ctx, cfg);
    if (rc != CS_OK)
        return rc;
    struct dl_state *s = calloc(1, sizeof *s);
    if (s)
        read_opts(cfg, &s->o);
    if (!s || llm_patience_init(&s->patience, s->o.unavailable_wait_ms) != 0) {
        free(s);
        h->set_error(ctx, "out of memory for the pass state");
        return CS_ERR_NOMEM;
    }
    s->h = h;
    *state = s;
    return CS_OK;
}

static int describe_all(struct dl_job *j)
{
    size_t n = json_array_size(j->ask), step = (size_t)j->s->o.max_columns;
    if (n == 0 && !j->ask_table)
        return CS_OK;
    for (size_t first = 0; first < n || (first == 0 && j->ask_table);
         first += step) {
        size_t m = n - first < step ? n - first : step;
        int rc = dl_describe_chunk(j, first, m, first == 0 && j->ask_table);
        if (rc != CS_OK)
            return rc;
        if (n == 0)
            break;
    }
    return CS_OK;
}

static json_t *aspect(struct dl_job *j)
{
    json_t *d = json_pack(
        "{s:s, s:O, s:O, s:O, s:s?, s:s, s:O, s:I}", "source", "describe_llm",
        "columns", j->out_columns, "kept", j->kept, "rejected", j->rejected,
        "model", j->used_model[0] ? j->used_model : NULL, "prompt_hash",
        j->prompt_hash, "attempts", j->attempts, "max_words",
        (json_int_t)j->s->o.max_words);
    if (d && j->table_text)
        json_object_set_new(d, "table",
                            json_pack("{s:s}", "description", j->table_text));
    return d;
}

static int run(struct dl_job *j, struct sha256_ctx *hc)
{
    if (!j->table || !j->profile || !j->masked)
        return dl_fail(j, CS_ERR_INVALID,
                       "%s lacks the table, profile or sample_masked aspect",
                       j->fqn);
    j->out_columns = json_object();
    j->rejected = json_object();
    j->attempts = json_array();
    if (!j->out_columns || !j->rejected || !j->attempts)
        return dl_fail(j, CS_ERR_NOMEM, "out of memory");
    int rc = dl_choose(j);
    sha256_init(hc);
    j->hash_ctx = hc;
    if (rc == CS_OK)
        rc = describe_all(j);
    unsigned char dg[SHA256_LEN];
    sha256_final(hc, dg);
    for (int i = 0; i < SHA256_LEN; i++)
        snprintf(j->prompt_hash + 2 * i, 3, "%02x", dg[i]);
    if (rc != CS_OK)
        return rc;
    json_t *d = aspect(j);
    if (!d)
        return dl_fail(j, CS_ERR_NOMEM, "out of memory");
    j->h->metric_add(j->ctx, "llm_descriptions",
                     (double)json_object_size(j->out_columns) +
                         (j->table_text ? 1 : 0));
    j->h->metric_add(j->ctx, "llm_rejected",
                     (double)json_object_size(j->rejected));
    return j->h->aspect_put(j->ctx, "description", d);
}

static int dl_process(void *state, cs_ctx *ctx)
{
    struct dl_state *s = state;
    const cs_host_api *h = s->h;
    struct dl_job j = {.s = s, .h = h, .ctx = ctx};
    j.fqn = h->entity_fqn(ctx) ? h->entity_fqn(ctx) : "the entity";
    j.table = h->aspect_get(ctx, "table");
    j.profile = h->aspect_get(ctx, "profile");
    j.masked = h->aspect_get(ctx, "sample_masked");
    j.pii = h->aspect_get(ctx, "pii");
    j.fk = h->aspect_get(ctx, "fk");
    j.lineage = h->aspect_get(ctx, "lineage");
    struct sha256_ctx hc;
    int rc = run(&j, &hc);
    if (rc != CS_OK) {
        h->set_error(ctx, "%s", j.err);
        h->metric_add(ctx, "llm_missing", 1);
    }
    json_decref(j.ask);
    json_decref(j.kept);
    json_decref(j.out_columns);
    json_decref(j.rejected);
    json_decref(j.attempts);
    free(j.table_text);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "describe_llm",
    .version = "0.1.0",
    .summary = "short factual table and column descriptions from the "
               "operator's LLM, from masked samples only",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = dl_init,
    .process = dl_process,
    .fini = dl_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
