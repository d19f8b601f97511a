/*
 * pii_tag: tags PII columns from sampled values plus column names, and
 * says why.
 *
 * Reads the raw `sample` (so the host gives this pass no network or
 * persistence function), the value-free `profile`, the `table` (column
 * names, existing tags) and, when some pass produces it, the `pii_llm`
 * vote.  Writes the non-raw `pii` aspect: per column with any signal the
 * entity, score, confidence, OpenMetadata tag, status, evidence counts and
 * a one-line reason.  Counts and names only: never a sampled value.
 *
 * Every run recomputes from scratch, so an automated tag whose evidence
 * is gone is reported as withdrawn; a PII tag a person set is reported as
 * `human` and never reconsidered.
 */
#include <catalog_sync/pass.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pii_tag.h"

#define PT_VERSION "0.1.0"

static const cs_aspect_decl consumes[] = {
    {"table", CS_ASPECT_REQUIRED},
    {"sample", CS_ASPECT_REQUIRED | CS_ASPECT_RAW},
    {"profile", CS_ASPECT_REQUIRED},
    {"pii_llm", CS_ASPECT_OPTIONAL},
    {NULL, 0}};

static const cs_aspect_decl produces[] = {{"pii", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"vote", CS_OPT_STRING, "\"recognizers\"",
     "how a pii_llm vote combines: recognizers (LLM shown, never decides), "
     "both (tag only when both agree), either (tag when either says so)",
     0},
    {"thresholds", CS_OPT_OBJECT,
     "{\"EMAIL\":0.8,\"PHONE\":0.7,\"IBAN\":0.8,\"CREDIT_CARD\":0.8,"
     "\"US_SSN\":0.8,\"FR_NIR\":0.8,\"ES_NIF\":0.8,\"IT_FISCAL_CODE\":0.8,"
     "\"UK_NHS\":0.8,\"PL_PESEL\":0.8,\"DE_TAX_ID\":0.8,\"IP_ADDRESS\":0.8,"
     "\"MAC_ADDRESS\":0.8,\"DATE_OF_BIRTH\":0.6,\"PERSON_NAME\":0.6,"
     "\"ADDRESS\":0.6,\"POSTCODE\":0.6}",
     "entity -> minimum column score 0..1 (entities left out keep their "
     "default)",
     0},
    {"min_values", CS_OPT_INT, "10",
     "fewer non-null sampled values than this give a low-confidence result", 0},
    {"name_weight", CS_OPT_NUMBER, "0.2",
     "how much a column-name signal (strength 0..1) adds to the value score",
     0},
    {"entities", CS_OPT_LIST, NULL, "entity names to look for (default: all)",
     0},
    {NULL, 0, NULL, NULL, 0}};

/* Read-only after init(): process() runs on several threads at once and
 * each call brings its own pii_scratch. */
struct pt_state {
    const cs_host_api *host;
    pii_recognizers *rec;
    struct pt_config cfg;
};

static void pt_fini(void *state)
{
    struct pt_state *s = state;
    if (!s)
        return;
    pii_recognizers_free(s->rec);
    free(s);
}

static int pt_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    char err[256] = "";
    struct pt_state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    if (pt_config_load(host->config(ctx), &s->cfg, err, sizeof err) != 0) {
        host->set_error(ctx, "%s", err);
        free(s);
        return CS_ERR_INVALID;
    }
    s->rec = pii_recognizers_new(err, sizeof err);
    if (!s->rec) {
        host->set_error(ctx, "compiling the PII recognizers: %s", err);
        free(s);
        return CS_ERR;
    }
    *state = s;
    return CS_OK;
}

/* ---- one column -------------------------------------------------------- */

static bool is_human_label(const char *label)
{
    return label && (!strcmp(label, "Manual") || !strcmp(label, "Propagated") ||
                     !strcmp(label, "Derived"));
}

/* A person's PII.* tag wins over everything; an automated one is what an
 * earlier run (of this pass or another tool) concluded. */
static void read_tags(const json_t *tcol, struct pt_column *col)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(tcol, "tags"), i, t)
    {
        const char *fqn = json_string_value(json_object_get(t, "tagFQN"));
        const char *label = json_string_value(json_object_get(t, "labelType"));
        if (!fqn || strncmp(fqn, "PII.", 4) != 0)
            continue;
        if (is_human_label(label) && !col->human_tag) {
            col->human_tag = fqn;
            col->human_label = label;
        } else if (!is_human_label(label) && !col->previous &&
                   strcmp(fqn, "PII.None") != 0) {
            col->previous = fqn;
        }
    }
}

/* Only a known entity name is echoed back, so the aspect carries nothing
 * the LLM pass made up. */
static void read_llm(const json_t *llm, const char *name, struct pt_column *col)
{
    const json_t *v = json_object_get(json_object_get(llm, "columns"), name);
    if (!json_is_object(v))
        return;
    col->llm_present = true;
    const char *ent = json_string_value(json_object_get(v, "entity"));
    col->llm_entity = ent ? pii_entity_from_name(ent) : PII_NONE;
    col->llm_raw = col->llm_entity ? pii_entity_name(col->llm_entity) : NULL;
    col->llm_confidence = json_number_value(json_object_get(v, "confidence"));
}

static void read_signals(const struct pt_config *c, struct pt_column *col)
{
    pii_name_signal all[PII_ENTITY_COUNT];
    int n = pii_name_signals(col->name, all, PII_ENTITY_COUNT);
    col->nsignals = 0;
    for (int i = 0; i < n; i++)
        if (all[i].entity > PII_NONE && all[i].entity < PII_ENTITY_COUNT &&
            c->enabled[all[i].entity])
            col->signals[col->nsignals++] = all[i];
}

static void read_profile(const json_t *profile, struct pt_column *col)
{
    const json_t *p =
        json_object_get(json_object_get(profile, "columns"), col->name);
    col->type_class = json_string_value(json_object_get(p, "typeClass"));
    const json_t *d = json_object_get(p, "distinctCount");
    col->distinct = json_is_integer(d) ? (long)json_integer_value(d) : -1;
}

/* ---- the entity -------------------------------------------------------- */

struct pt_run {
    const struct pt_state *s;
    cs_ctx *ctx;
    const json_t *table, *sample, *profile, *llm;
    json_t *index; /* sample column name -> position */
    pii_scratch *scratch;
    json_t *columns; /* output */
    size_t total, tagged, candidates, human, withdrawn, values;
};

static int stop_cb(void *arg)
{
    struct pt_run *r = arg;
    return r->s->host->should_stop(r->ctx);
}

static int add_column(struct pt_run *r, const char *name, const json_t *tcol)
{
    struct pt_column col;
    memset(&col, 0, sizeof col);
    col.name = name;
    read_tags(tcol, &col);
    read_profile(r->profile, &col);
    read_signals(&r->s->cfg, &col);
    read_llm(r->llm, name, &col);
    const json_t *pos = json_object_get(r->index, name);
    if (!col.human_tag && pos &&
        pt_count_column(
            r->s->rec, r->scratch, json_object_get(r->sample, "rows"),
            (size_t)json_integer_value(pos), &col.counts, stop_cb, r) != 0)
        return CS_ERR_STOPPING;
    r->values += col.counts.values;

    struct pt_verdict v;
    pt_decide(&r->s->cfg, &col, &v);
    bool oom;
    json_t *entry = pt_column_json(&r->s->cfg, &col, &v, &oom);
    r->total++;
    if (!entry)
        return oom ? CS_ERR_NOMEM : CS_OK;
    r->tagged += v.status == PT_TAGGED;
    r->candidates += v.status == PT_CANDIDATE;
    r->human += v.status == PT_HUMAN;
    r->withdrawn += json_is_true(json_object_get(entry, "withdrawn"));
    return json_object_set_new(r->columns, name, entry) ? CS_ERR_NOMEM : CS_OK;
}

/* sample.columns[i].name -> i, so cells are found by column name. */
static json_t *sample_index(const json_t *sample)
{
    json_t *idx = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(sample, "columns"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (idx && name && json_object_set_new(idx, name, json_integer(i))) {
            json_decref(idx);
            return NULL;
        }
    }
    return idx;
}

static bool in_table(const json_t *table, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(table, "columns"), i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* The table's columns in order, then any sampled column the table aspect
 * does not list. */
static int all_columns(struct pt_run *r)
{
    int rc = CS_OK;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->table, "columns"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (name && rc == CS_OK)
            rc = add_column(r, name, c);
    }
    json_array_foreach(json_object_get(r->sample, "columns"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (name && rc == CS_OK && !in_table(r->table, name))
            rc = add_column(r, name, NULL);
    }
    return rc;
}

#ifdef PII_RECOGNIZER_VERSION
#define PT_RECOGNIZER_VERSION PII_RECOGNIZER_VERSION
#else
#define PT_RECOGNIZER_VERSION "pii_tag-" PT_VERSION
#endif

static json_t *aspect_json(struct pt_run *r)
{
    size_t clean = r->total - json_object_size(r->columns);
    return json_pack(
        "{s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:s, s:s}", "columns",
        r->columns, "summary", "columns", (json_int_t)r->total, "tagged",
        (json_int_t)r->tagged, "candidates", (json_int_t)r->candidates, "human",
        (json_int_t)r->human, "withdrawn", (json_int_t)r->withdrawn, "clean",
        (json_int_t)clean, "recognizer_version", PT_RECOGNIZER_VERSION, "vote",
        pt_vote_name(r->s->cfg.vote));
}

static int check_inputs(const cs_host_api *h, cs_ctx *ctx, struct pt_run *r)
{
    r->table = h->aspect_get(ctx, "table");
    r->sample = h->aspect_get(ctx, "sample");
    r->profile = h->aspect_get(ctx, "profile");
    r->llm = h->aspect_get(ctx, "pii_llm");
    if (!json_is_object(r->table)) {
        h->set_error(ctx, "the `table` aspect is missing");
        return CS_ERR_INVALID;
    }
    if (!json_is_array(json_object_get(r->sample, "rows"))) {
        h->set_error(ctx, "the `sample` aspect is missing or has no `rows`");
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

/* Called once per entity, possibly on several threads at once with the
 * same state: everything mutable lives in `run` on this stack. */
static int pt_process(void *state, cs_ctx *ctx)
{
    const struct pt_state *s = state;
    const cs_host_api *h = s->host;
    struct pt_run r = {.s = s, .ctx = ctx};
    int rc = check_inputs(h, ctx, &r);
    if (rc != CS_OK)
        return rc;
    r.index = sample_index(r.sample);
    r.scratch = pii_scratch_new(s->rec);
    r.columns = json_object();
    rc = r.index && r.scratch && r.columns ? all_columns(&r) : CS_ERR_NOMEM;
    json_t *out = rc == CS_OK ? aspect_json(&r) : NULL;
    pii_scratch_free(r.scratch);
    json_decref(r.index);
    json_decref(r.columns);
    if (rc == CS_OK && !out)
        rc = CS_ERR_NOMEM;
    if (rc != CS_OK) {
        h->set_error(ctx, "%s",
                     rc == CS_ERR_STOPPING ? "stopping: PII tagging cut short"
                                           : "out of memory building `pii`");
        return rc;
    }
    h->metric_add(ctx, "values_classified", (double)r.values);
    h->metric_add(ctx, "columns_tagged", (double)r.tagged);
    h->log(ctx, CS_LOG_DEBUG, "%zu of %zu columns tagged, %zu candidates",
           r.tagged, r.total, r.candidates);
    return h->aspect_put(ctx, "pii", out);
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "pii_tag",
    .version = PT_VERSION,
    .summary = "tags PII columns from sampled values (validated "
               "recognizers) and column names, with evidence and reasons",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = pt_init,
    .process = pt_process,
    .fini = pt_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
