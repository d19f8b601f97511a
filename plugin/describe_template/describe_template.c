/*
 * describe_template: one factual sentence per table and per column from
 * names, types, profile counts, PII tags, foreign keys and lineage, with
 * no network and no model.  The same aspects give the same description,
 * byte for byte.  A description a person wrote in the catalog is never
 * replaced: the table or column is left out and listed as kept.
 */
#include "describe_template.h"

#include <ctype.h>
#include <stdlib.h>

#define MIN_WORDS 5
#define MAX_WORDS 20

static const cs_aspect_decl consumes[] = {
    {"table", CS_ASPECT_REQUIRED},   {"profile", CS_ASPECT_REQUIRED},
    {"pii", CS_ASPECT_OPTIONAL},     {"fk", CS_ASPECT_OPTIONAL},
    {"lineage", CS_ASPECT_OPTIONAL}, {NULL, 0}};
static const cs_aspect_decl produces[] = {{"description", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"describe_table", CS_OPT_BOOL, "true", "write the table's description", 0},
    {"describe_columns", CS_OPT_BOOL, "true", "write a description per column",
     0},
    {"max_words", CS_OPT_INT, "20", "words per description, 5..20", 0},
    {NULL, 0, NULL, NULL, 0}};

struct dt_state {
    const cs_host_api *host;
    bool describe_table, describe_columns;
    int max_words;
};

static int dt_init(const cs_host_api *host, cs_ctx *ctx, void **out)
{
    const json_t *cfg = host->config(ctx);
    json_int_t words = json_integer_value(json_object_get(cfg, "max_words"));
    if (words < MIN_WORDS || words > MAX_WORDS) {
        host->set_error(ctx, "config.max_words must be %d..%d, got %lld",
                        MIN_WORDS, MAX_WORDS, (long long)words);
        return CS_ERR_INVALID;
    }
    struct dt_state *s = malloc(sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    s->describe_table = json_is_true(json_object_get(cfg, "describe_table"));
    s->describe_columns =
        json_is_true(json_object_get(cfg, "describe_columns"));
    s->max_words = (int)words;
    *out = s;
    return CS_OK;
}

static void dt_fini(void *state)
{
    free(state);
}

/* Whether a person wrote something: any non-blank description. */
static bool written(const json_t *o)
{
    const char *s = json_string_value(json_object_get(o, "description"));
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return true;
    return false;
}

/* {"description": text} (text stolen, freed here); NULL when out of
 * memory. */
static json_t *entry(char *text)
{
    json_t *o = text ? json_pack("{s:s}", "description", text) : NULL;
    free(text);
    return o;
}

/* Fills columns and kept; returns the number written or -1. */
static long describe_columns(const struct dt_state *s,
                             const struct dt_entity *e, json_t *columns,
                             json_t *kept)
{
    long n = 0;
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(e->table, "columns"), i, col)
    {
        const char *name = dt_str(col, "name");
        if (!name || json_object_get(columns, name))
            continue;
        if (written(col)) {
            if (json_array_append_new(kept, json_string(name)))
                return -1;
            continue;
        }
        if (!s->describe_columns)
            continue;
        if (json_object_set_new(columns, name,
                                entry(dt_column_description(e, col))))
            return -1;
        n++;
    }
    return n;
}

/* The aspect, table first; NULL when out of memory. */
static json_t *build(const struct dt_state *s, const struct dt_entity *e,
                     long *written_n)
{
    bool kept_table = written(e->table);
    bool table = s->describe_table && !kept_table;
    json_t *t = table ? entry(dt_table_description(e)) : NULL;
    if (table && !t)
        return NULL;
    /* json_pack steals every "o", NULL and on failure included. */
    json_t *out = json_pack("{s:o*, s:o, s:s, s:n, s:i, s:o, s:b}", "table", t,
                            "columns", json_object(), "source",
                            "describe_template", "model", "attempts", 0, "kept",
                            json_array(), "kept_table", kept_table);
    json_t *cols = json_object_get(out, "columns");
    json_t *kept = json_object_get(out, "kept");
    long n = out ? describe_columns(s, e, cols, kept) : -1;
    if (n < 0) {
        json_decref(out);
        return NULL;
    }
    *written_n = n + table;
    return out;
}

static int dt_process(void *state, cs_ctx *ctx)
{
    const struct dt_state *s = state;
    const cs_host_api *h = s->host;
    struct dt_entity e = {
        h->aspect_get(ctx, "table"),   h->aspect_get(ctx, "profile"),
        h->aspect_get(ctx, "pii"),     h->aspect_get(ctx, "fk"),
        h->aspect_get(ctx, "lineage"), s->max_words};
    if (!json_is_object(e.table)) {
        h->set_error(ctx, "%s: the table aspect is missing or not an object",
                     h->entity_fqn(ctx));
        return CS_ERR_INVALID;
    }
    long n = 0;
    json_t *out = build(s, &e, &n);
    if (!out) {
        h->set_error(ctx, "%s: out of memory building the description",
                     h->entity_fqn(ctx));
        return CS_ERR_NOMEM;
    }
    h->metric_add(ctx, "descriptions_written", (double)n);
    h->log(ctx, CS_LOG_DEBUG, "%ld descriptions written, %zu kept", n,
           json_array_size(json_object_get(out, "kept")));
    return h->aspect_put(ctx, "description", out);
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "describe_template",
    .version = "0.1.0",
    .summary = "factual descriptions from schema, profile counts, PII and "
               "keys, without a model",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = dt_init,
    .process = dt_process,
    .fini = dt_fini,
};

/* The pass's descriptor; static, any thread. */
CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
