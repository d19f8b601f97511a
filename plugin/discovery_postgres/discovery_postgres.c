/*
 * discovery_postgres: the source pass that lists the tables of a Postgres
 * database from its catalog and emits the new and changed ones.
 *
 * The watermark is {"tables": {fqn: definition hash}}: a table is emitted
 * when its hash differs from the committed one (or on `full: true`), and
 * an FQN of the watermark that is gone is reported deleted.  Three catalog
 * queries per run, whatever the number of tables.
 */
#include "discovery.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct disc_state {
    const cs_host_api *host;
    char *connection;
    char *service;
    char *schemas_json;         /* JSON array text for the query */
    char *exclude_schemas_json; /* idem */
    json_t *exclude_tables;     /* array of glob patterns (own reference) */
    bool include_views;
    bool full;
};

static const cs_aspect_decl produces[] = {{"table", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"connection", CS_OPT_STRING, NULL,
     "name of the Postgres connection (manifest `connections`) to list",
     CS_OPTION_REQUIRED},
    {"service", CS_OPT_STRING, "\"postgres\"",
     "first component of every FQN (the catalog's database service)", 0},
    {"schemas", CS_OPT_LIST, "[]",
     "schemas to list; empty = every non-system schema", 0},
    {"exclude_schemas", CS_OPT_LIST, "[\"catalog_sync\"]",
     "schemas never listed (the daemon's own state by default)", 0},
    {"exclude_tables", CS_OPT_LIST, "[]",
     "glob patterns (`*`, `?`, `%` = `*`) on `table` or `schema.table`", 0},
    {"include_views", CS_OPT_BOOL, "false",
     "also list views and materialized views", 0},
    {"full", CS_OPT_BOOL, "false",
     "emit every table, changed or not (the watermark is still updated)", 0},
    {NULL, 0, NULL, NULL, 0}};

static void disc_fini(void *state)
{
    struct disc_state *s = state;
    if (!s)
        return;
    free(s->connection);
    free(s->service);
    free(s->schemas_json);
    free(s->exclude_schemas_json);
    json_decref(s->exclude_tables);
    free(s);
}

static char *dup_string(const json_t *cfg, const char *key)
{
    const char *v = json_string_value(json_object_get(cfg, key));
    return v ? strdup(v) : NULL;
}

static char *dump_list(const json_t *cfg, const char *key)
{
    json_t *v = json_object_get(cfg, key);
    return json_dumps(v ? v : json_array(), JSON_COMPACT);
}

static int disc_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    const json_t *cfg = host->config(ctx);
    struct disc_state *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    s->connection = dup_string(cfg, "connection");
    s->service = dup_string(cfg, "service");
    s->schemas_json = dump_list(cfg, "schemas");
    s->exclude_schemas_json = dump_list(cfg, "exclude_schemas");
    s->exclude_tables = json_incref(json_object_get(cfg, "exclude_tables"));
    s->include_views = json_is_true(json_object_get(cfg, "include_views"));
    s->full = json_is_true(json_object_get(cfg, "full"));
    if (!s->connection || !s->service || !s->schemas_json ||
        !s->exclude_schemas_json) {
        host->set_error(ctx, "config: `connection` and `service` must be "
                             "strings (or out of memory)");
        disc_fini(s);
        return CS_ERR_INVALID;
    }
    *state = s;
    return CS_OK;
}

/* Globs on `table` and `schema.table`; '%' is accepted for '*' so that
 * SQL LIKE habits work too. */
static bool excluded(const struct disc_state *s, const char *schema,
                     const char *table)
{
    char qualified[512], pat[256];
    snprintf(qualified, sizeof qualified, "%s.%s", schema, table);
    size_t i;
    json_t *p;
    json_array_foreach(s->exclude_tables, i, p)
    {
        const char *v = json_string_value(p);
        if (!v)
            continue;
        snprintf(pat, sizeof pat, "%s", v);
        for (char *c = pat; *c; c++)
            if (*c == '%')
                *c = '*';
        if (fnmatch(pat, table, 0) == 0 || fnmatch(pat, qualified, 0) == 0)
            return true;
    }
    return false;
}

struct disc_run {
    struct disc_state *s;
    cs_ctx *ctx;
    const json_t *old_tables; /* borrowed from the watermark, may be NULL */
    json_t *new_tables;
    size_t total, changed, deleted;
};

/* Adds catalogSync and emits `t` (stolen) unless its hash is unchanged. */
static int consider(struct disc_run *run, json_t *t, const char *schema,
                    const char *table)
{
    const cs_host_api *h = run->s->host;
    const char *fqn =
        json_string_value(json_object_get(t, "fullyQualifiedName"));
    char hash[17];
    if (disc_definition_hash(t, hash) != 0 ||
        json_object_set_new(run->new_tables, fqn, json_string(hash)) != 0) {
        json_decref(t);
        return CS_ERR_NOMEM;
    }
    run->total++;
    const char *old = json_string_value(json_object_get(run->old_tables, fqn));
    if (!run->s->full && old && strcmp(old, hash) == 0) {
        json_decref(t);
        return CS_OK;
    }
    json_t *cs =
        json_pack("{s:s, s:s, s:s, s:s}", "connection", run->s->connection,
                  "schema", schema, "table", table, "definitionHash", hash);
    if (!cs || json_object_set_new(t, "catalogSync", cs) != 0) {
        json_decref(t);
        return CS_ERR_NOMEM;
    }
    char *key = strdup(fqn); /* t is stolen by emit_entity */
    int rc = key ? h->emit_entity(run->ctx, key, t) : CS_ERR_NOMEM;
    if (!key)
        json_decref(t);
    if (rc != CS_OK)
        h->set_error(run->ctx, "table %s: emit failed: %s", key ? key : fqn,
                     h->last_error(run->ctx));
    free(key);
    run->changed += rc == CS_OK;
    return rc;
}

static int walk_tables(struct disc_run *run, const struct disc_results *r)
{
    const cs_host_api *h = run->s->host;
    struct disc_cursor cur = {0, 0};
    int n = h->sql_nrows(r->tables);
    const char *db = n > 0 ? h->sql_value(r->tables, 0, 5) : "";
    struct disc_names names = {run->s->service, db, run->s->connection};
    for (int row = 0; row < n; row++) {
        const char *schema = h->sql_value(r->tables, row, 1);
        const char *table = h->sql_value(r->tables, row, 2);
        if (excluded(run->s, schema, table))
            continue;
        if (h->should_stop(run->ctx))
            return CS_ERR_STOPPING;
        json_t *t = disc_build_table(r, row, &cur, &names);
        if (!t) {
            h->set_error(run->ctx, "table %s.%s: out of memory", schema, table);
            return CS_ERR_NOMEM;
        }
        int rc = consider(run, t, schema, table);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

static int report_deleted(struct disc_run *run)
{
    const char *fqn;
    json_t *v;
    json_object_foreach((json_t *)run->old_tables, fqn, v)
    {
        if (json_object_get(run->new_tables, fqn))
            continue;
        int rc = run->s->host->emit_deleted(run->ctx, fqn);
        if (rc != CS_OK) {
            run->s->host->set_error(run->ctx, "table %s: emit_deleted: %s", fqn,
                                    run->s->host->last_error(run->ctx));
            return rc;
        }
        run->deleted++;
    }
    return CS_OK;
}

static int disc_discover(void *state, cs_ctx *ctx)
{
    struct disc_state *s = state;
    const cs_host_api *h = s->host;
    struct disc_results r;
    int rc = disc_query_catalog(h, ctx, s->connection, s->schemas_json,
                                s->exclude_schemas_json, s->include_views, &r);
    if (rc != CS_OK)
        return rc;
    struct disc_run run = {s, ctx, NULL, json_object(), 0, 0, 0};
    run.old_tables = json_object_get(h->watermark_get(ctx), "tables");
    rc = run.new_tables ? walk_tables(&run, &r) : CS_ERR_NOMEM;
    disc_results_free(&r);
    if (rc == CS_OK)
        rc = report_deleted(&run);
    if (rc != CS_OK) {
        json_decref(run.new_tables);
        return rc;
    }
    h->metric_add(ctx, "tables_listed", (double)run.total);
    h->metric_add(ctx, "tables_emitted", (double)run.changed);
    h->metric_add(ctx, "tables_deleted", (double)run.deleted);
    h->log(ctx, CS_LOG_INFO,
           "connection %s: %zu tables, %zu new/changed, %zu deleted",
           s->connection, run.total, run.changed, run.deleted);
    return h->watermark_set(ctx, json_pack("{s:o}", "tables", run.new_tables));
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "discovery_postgres",
    .version = "0.1.0",
    .summary = "lists tables, columns, keys and comments of a Postgres "
               "database; emits the new and changed ones",
    .kind = CS_PASS_SOURCE,
    .consumes = NULL,
    .produces = produces,
    .options = options,
    .init = disc_init,
    .discover = disc_discover,
    .fini = disc_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
