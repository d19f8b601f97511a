/*
 * governance_tags: tags a table from naming conventions.
 *
 * This is also the template for third-party passes: copy this folder,
 * rename the pass, keep the shape.  A pass is one shared object that
 * exports one function, cs_pass_entry(), returning a static descriptor.
 * Everything the pass needs from the outside world (config, the entity's
 * aspects, logging, SQL, HTTP) comes from the host table given to init():
 * a pass links against jansson and libc only.
 *
 * What it does, from the table aspect alone (no I/O at all):
 *   - schema named like a layer (bronze/silver/gold, raw/staging/...)
 *       -> "<layer>_layer"
 *   - table name prefix (dim_, fact_, stg_, tmp_) -> "dimension", ...
 *   - column suffixes/prefixes (_id, _at, _ts, is_, has_) -> per-column tags
 * and writes {"tags": [...], "columns": {col: [...]}, "rules": [...]}
 * as the `governance` aspect.
 */
#include <catalog_sync/pass.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- declarations: what the host checks against the manifest ---------- */

/* Inputs.  CS_ASPECT_REQUIRED: the plan refuses a manifest where no
 * enabled upstream pass produces `table`.  A pass consuming a raw aspect
 * (flag CS_ASPECT_RAW, e.g. `sample`) would lose its network functions. */
static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};

/* Outputs.  Not raw: `governance` holds names only, never cell values. */
static const cs_aspect_decl produces[] = {{"governance", 0}, {NULL, 0}};

/* Options are data: the host validates the manifest's `config` against
 * them (types, required) and fills in these defaults before init(), so
 * the pass never parses defaults itself.  Defaults are JSON text. */
static const cs_option_decl options[] = {
    {"layers", CS_OPT_OBJECT,
     "{\"bronze\":\"bronze\",\"silver\":\"silver\",\"gold\":\"gold\","
     "\"raw\":\"bronze\",\"staging\":\"silver\",\"curated\":\"gold\","
     "\"mart\":\"gold\"}",
     "schema name -> layer; the table gets the tag <layer>_layer", 0},
    {"table_prefixes", CS_OPT_OBJECT,
     "{\"dim_\":\"dimension\",\"fact_\":\"fact\",\"stg_\":\"staging\","
     "\"tmp_\":\"temporary\"}",
     "table name prefix -> tag", 0},
    {"column_suffixes", CS_OPT_OBJECT,
     "{\"_id\":\"identifier\",\"_at\":\"timestamp\",\"_ts\":\"timestamp\"}",
     "column name suffix -> column tag", 0},
    {"column_prefixes", CS_OPT_OBJECT, "{\"is_\":\"flag\",\"has_\":\"flag\"}",
     "column name prefix -> column tag", 0},
    {NULL, 0, NULL, NULL, 0}};

/* ---- instance state ---------------------------------------------------- */

/* process() runs on several threads at once with the same state, so the
 * state is filled in init() and read-only afterwards: no locks needed. */
struct gov_state {
    const cs_host_api *host;
    json_t *layers, *table_prefixes, *column_suffixes, *column_prefixes;
};

/* fini() is called exactly once after a successful init(); when init()
 * fails the host does not call it, so init() cleans up its own partial
 * work.  Release everything init() took. */
static void gov_fini(void *state)
{
    struct gov_state *s = state;
    if (!s)
        return;
    json_decref(s->layers);
    json_decref(s->table_prefixes);
    json_decref(s->column_suffixes);
    json_decref(s->column_prefixes);
    free(s);
}

/* The config is borrowed (valid until fini), but taking references makes
 * the ownership obvious to whoever copies this file. */
static int gov_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    const json_t *cfg = host->config(ctx);
    struct gov_state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    s->layers = json_incref(json_object_get(cfg, "layers"));
    s->table_prefixes = json_incref(json_object_get(cfg, "table_prefixes"));
    s->column_suffixes = json_incref(json_object_get(cfg, "column_suffixes"));
    s->column_prefixes = json_incref(json_object_get(cfg, "column_prefixes"));
    *state = s;
    return CS_OK;
}

/* ---- the rules --------------------------------------------------------- */

static bool has_prefix(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

/* The output under construction. */
struct gov_out {
    json_t *tags;    /* ["gold_layer", "fact"] */
    json_t *columns; /* {"customer_id": ["identifier"]} */
    json_t *rules;   /* [{"tag", "target", "rule"}]: why each tag is there */
    int err;         /* sticky allocation failure */
};

/* Records one tag on the table (column == NULL) or on a column, with the
 * rule that produced it so a steward can see why. */
static void add_tag(struct gov_out *o, const char *column, const char *tag,
                    const char *rule)
{
    json_t *list = o->tags;
    if (column) {
        list = json_object_get(o->columns, column);
        if (!list) {
            list = json_array();
            if (json_object_set_new(o->columns, column, list) != 0) {
                o->err = 1;
                return;
            }
        }
    }
    json_t *r = json_pack("{s:s, s:s, s:s}", "tag", tag, "target",
                          column ? column : "table", "rule", rule);
    if (json_array_append_new(list, json_string(tag)) != 0 ||
        json_array_append_new(o->rules, r) != 0)
        o->err = 1;
}

/* Schema name -> "<layer>_layer" (case-insensitive match). */
static void layer_rule(const struct gov_state *s, const char *schema,
                       struct gov_out *o)
{
    const char *name;
    json_t *layer;
    json_object_foreach(s->layers, name, layer)
    {
        if (schema && strcasecmp(schema, name) == 0 && json_is_string(layer)) {
            char tag[128];
            snprintf(tag, sizeof tag, "%s_layer", json_string_value(layer));
            add_tag(o, NULL, tag, "layers");
            return;
        }
    }
}

/* Every prefix (or suffix) of `map` that `name` carries adds its tag. */
static void affix_rule(const json_t *map, const char *name, bool suffix,
                       const char *column, const char *rule, struct gov_out *o)
{
    const char *affix;
    json_t *tag;
    json_object_foreach((json_t *)map, affix, tag)
    {
        bool hit = suffix ? has_suffix(name, affix) : has_prefix(name, affix);
        if (hit && json_is_string(tag))
            add_tag(o, column, json_string_value(tag), rule);
    }
}

static void column_rules(const struct gov_state *s, const json_t *columns,
                         struct gov_out *o)
{
    size_t i;
    json_t *c;
    json_array_foreach(columns, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name)
            continue;
        affix_rule(s->column_suffixes, name, true, name, "column_suffixes", o);
        affix_rule(s->column_prefixes, name, false, name, "column_prefixes", o);
    }
}

/* ---- the callback ------------------------------------------------------ */

/* Called once per entity, possibly on several threads at once.  Aspects
 * from aspect_get are borrowed for this call; the aspect given to
 * aspect_put is stolen by the host, even when the call fails. */
static int gov_process(void *state, cs_ctx *ctx)
{
    const struct gov_state *s = state;
    const cs_host_api *h = s->host;
    json_t *table = h->aspect_get(ctx, "table");
    const char *name = json_string_value(json_object_get(table, "name"));
    if (!name) {
        h->set_error(ctx, "table aspect has no `name`");
        return CS_ERR_INVALID;
    }
    const char *schema = json_string_value(
        json_object_get(json_object_get(table, "databaseSchema"), "name"));

    struct gov_out o = {json_array(), json_object(), json_array(), 0};
    o.err = !o.tags || !o.columns || !o.rules;
    if (!o.err) {
        layer_rule(s, schema, &o);
        affix_rule(s->table_prefixes, name, false, NULL, "table_prefixes", &o);
        column_rules(s, json_object_get(table, "columns"), &o);
    }
    json_t *out = o.err ? NULL
                        : json_pack("{s:O, s:O, s:O}", "tags", o.tags,
                                    "columns", o.columns, "rules", o.rules);
    json_decref(o.tags);
    json_decref(o.columns);
    json_decref(o.rules);
    if (!out) {
        h->set_error(ctx, "out of memory building the governance aspect");
        return CS_ERR_NOMEM;
    }
    /* Logs carry the entity FQN and pass name automatically. */
    h->log(ctx, CS_LOG_DEBUG, "%zu table tags, %zu tagged columns",
           json_array_size(json_object_get(out, "tags")),
           json_object_size(json_object_get(out, "columns")));
    return h->aspect_put(ctx, "governance", out);
}

/* ---- the descriptor: the one thing the host looks up ------------------ */

/* CS_PASS_HEADER stamps the ABI version and struct size this pass was
 * built with; the host refuses a pass built for another ABI major before
 * it runs any of its code. */
static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "governance_tags",
    .version = "0.1.0",
    .summary = "tags tables and columns from naming conventions "
               "(layers, table prefixes, column affixes)",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = gov_init,
    .process = gov_process,
    .fini = gov_fini,
};

/* The only exported symbol (the build hides everything else). */
CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
