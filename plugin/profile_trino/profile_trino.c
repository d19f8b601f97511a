/*
 * profile_trino: samples one table through Trino and produces the same
 * raw `sample` and non-raw `profile` aspects as profile_postgres, so that
 * every later pass is engine-agnostic.
 *
 * Per table, two queries through trino_common:
 *   SHOW STATS FOR "catalog"."schema"."table"        (the row count)
 *   SELECT * FROM "catalog"."schema"."table"
 *       [TABLESAMPLE BERNOULLI (p)] LIMIT n           (the sample)
 * The catalog comes from the table's OpenMetadata FQN through the
 * `catalogs` option; the statistics are profile_common's.
 */
#include "profile_common.h"
#include "trino.h"

#include <catalog_sync/pass.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pt_state {
    const cs_host_api *host;
    trino_conf trino;
    prof_config cfg;
    long timeout_ms; /* deadline of each query */
};

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {
    {"sample", CS_ASPECT_RAW}, {"profile", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    TRINO_OPTION_DECLS,
    {"timeout_ms", CS_OPT_INT, "60000",
     "deadline of each Trino query; past it the query is cancelled and the "
     "table fails",
     0},
    PROF_OPTION_DECLS("SHOW STATS row_count"),
    {NULL, 0, NULL, NULL, 0}};

static void pt_fini(void *state)
{
    struct pt_state *s = state;
    if (!s)
        return;
    trino_conf_free(&s->trino);
    free(s);
}

static int pt_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    struct pt_state *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(ctx, "out of memory for the pass state");
        return CS_ERR_NOMEM;
    }
    s->host = host;
    s->timeout_ms = (long)json_integer_value(
        json_object_get(host->config(ctx), "timeout_ms"));
    int rc = prof_config_read(host, ctx, &s->cfg);
    if (rc == CS_OK && s->timeout_ms <= 0) {
        host->set_error(ctx, "config.timeout_ms must be > 0");
        rc = CS_ERR_INVALID;
    }
    if (rc == CS_OK)
        rc = trino_conf_init(&s->trino, host, ctx, true);
    if (rc != CS_OK) {
        free(s); /* trino_conf_init released its part */
        return rc;
    }
    *state = s;
    return CS_OK;
}

/* The table of this entity: its FQN and Trino name. */
struct target {
    const char *fqn;
    char *name; /* "catalog"."schema"."table", owned */
};

/* Names come from catalogSync (both sources write it) or else the FQN. */
static int find_target(struct pt_state *s, cs_ctx *ctx, struct target *t)
{
    const cs_host_api *h = s->host;
    const json_t *table = h->aspect_get(ctx, "table");
    const json_t *cs = json_object_get(table, "catalogSync");
    t->fqn = h->entity_fqn(ctx);
    if (!t->fqn)
        t->fqn =
            json_string_value(json_object_get(table, "fullyQualifiedName"));
    char err[512];
    t->name = trino_table_name(
        &s->trino, t->fqn, json_string_value(json_object_get(cs, "schema")),
        json_string_value(json_object_get(cs, "table")), err, sizeof err);
    if (!t->name) {
        h->set_error(ctx, "%s", err);
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

static int run(struct pt_state *s, cs_ctx *ctx, const char *sql,
               size_t max_rows, trino_result **out, trino_error *err)
{
    trino_query q = {
        .sql = sql, .timeout_ms = s->timeout_ms, .max_rows = max_rows};
    return trino_run(&s->trino, s->host, ctx, &q, out, err);
}

static long column_index(const trino_result *r, const char *name)
{
    for (size_t i = 0; i < r->ncols; i++)
        if (strcmp(r->names[i], name) == 0)
            return (long)i;
    return -1;
}

/* row_count of the summary row (column_name NULL), or -1. */
static double stats_rows(const trino_result *r)
{
    long name = column_index(r, "column_name");
    long count = column_index(r, "row_count");
    if (name < 0 || count < 0)
        return -1;
    for (size_t row = 0; row < r->nrows; row++) {
        const char *v = trino_cell(r, row, (size_t)count);
        if (!trino_cell(r, row, (size_t)name) && v)
            return strtod(v, NULL);
    }
    return -1;
}

/* The connector's row count, -1 when it has none.  A query Trino refuses
 * for another reason than a missing table (a view, a connector without
 * statistics) only loses the count; anything else fails the entity. */
static int table_size(struct pt_state *s, cs_ctx *ctx, const struct target *t,
                      double *rows)
{
    const cs_host_api *h = s->host;
    char *sql = NULL;
    if (asprintf(&sql, "SHOW STATS FOR %s", t->name) < 0) {
        h->set_error(ctx, "table %s: out of memory", t->fqn);
        return CS_ERR_NOMEM;
    }
    trino_result *r = NULL;
    trino_error err;
    int rc = run(s, ctx, sql, 0, &r, &err);
    free(sql);
    *rows = rc == CS_OK ? stats_rows(r) : -1;
    trino_result_free(r);
    if (rc != CS_OK && !(rc == CS_ERR && err.name[0])) {
        h->set_error(ctx, "table %s (%s)%s: %s", t->fqn, t->name,
                     rc == CS_ERR_NOT_FOUND ? " no longer exists in Trino" : "",
                     err.message);
        return rc;
    }
    if (rc == CS_ERR)
        h->log(ctx, CS_LOG_INFO, "table %s: no row count from Trino (%s)",
               t->fqn, err.message);
    return CS_OK;
}

/* Copies the result into a prof_table (NULL on allocation failure). */
static prof_table *to_table(const trino_result *r)
{
    prof_table *t = prof_table_new(r->ncols, (const char *const *)r->names,
                                   (const char *const *)r->types);
    for (size_t row = 0; t && r->ncols && row < r->nrows; row++) {
        if (prof_table_add_row(t, (const char *const *)r->cells +
                                      row * r->ncols) != 0) {
            prof_table_free(t);
            t = NULL;
        }
    }
    return t;
}

/* Samples the table and puts both aspects. */
static int sample_and_put(struct pt_state *s, cs_ctx *ctx,
                          const struct target *t, double known_rows)
{
    const cs_host_api *h = s->host;
    prof_read rd = {.sampled = s->cfg.sample_percent < 100 &&
                               !(known_rows >= 0 &&
                                 known_rows < s->cfg.min_rows_for_sampling),
                    .known_rows = known_rows,
                    .known_source = "stats"};
    char *sql = prof_sampling_sql(&s->cfg, t->name, rd.sampled);
    trino_result *r = NULL;
    trino_error err = {.message = "out of memory"};
    int rc = sql ? run(s, ctx, sql, (size_t)s->cfg.sample_rows, &r, &err)
                 : CS_ERR_NOMEM;
    free(sql);
    if (rc != CS_OK) {
        h->set_error(ctx, "table %s (%s)%s: sampling: %s", t->fqn, t->name,
                     rc == CS_ERR_NOT_FOUND ? " no longer exists in Trino" : "",
                     err.message);
        return rc;
    }
    h->log(ctx, CS_LOG_DEBUG, "table %s: Trino query %s returned %zu rows",
           t->fqn, r->query_id ? r->query_id : "?", r->nrows);
    prof_table *pt = to_table(r);
    trino_result_free(r);
    if (!pt) {
        h->set_error(ctx, "table %s: out of memory while profiling", t->fqn);
        return CS_ERR_NOMEM;
    }
    rc = prof_put_aspects(h, ctx, &s->cfg, &rd, pt, t->fqn);
    prof_table_free(pt);
    return rc;
}

static int pt_process(void *state, cs_ctx *ctx)
{
    struct pt_state *s = state;
    struct target t = {0};
    double known_rows = -1;
    int rc = find_target(s, ctx, &t);
    if (rc == CS_OK)
        rc = table_size(s, ctx, &t, &known_rows);
    if (rc == CS_OK)
        rc = sample_and_put(s, ctx, &t, known_rows);
    free(t.name);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "profile_trino",
    .version = "0.1.0",
    .summary = "samples a table through Trino with one TABLESAMPLE query; "
               "produces the raw sample and a value-free profile",
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
