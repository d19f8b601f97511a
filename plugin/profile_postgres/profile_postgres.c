/*
 * profile_postgres: samples one Postgres table with a single query and
 * produces the raw `sample` aspect and the non-raw `profile` aspect.
 *
 * Per table: one cheap catalog query (pg_class.reltuples, relkind) and one
 * sampling query `SELECT * FROM "s"."t" TABLESAMPLE BERNOULLI(p) LIMIT n`.
 * Every statistic is computed in C over the sample by profile_common, so
 * the cost beyond the two queries is a few microseconds per cell.
 */
#include "profile_common.h"

#include <catalog_sync/pass.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct prof_state {
    const cs_host_api *host;
    char *connection; /* NULL: the table aspect's catalogSync.connection */
    prof_config cfg;  /* sampling and statistics options (profile_common) */
};

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {
    {"sample", CS_ASPECT_RAW}, {"profile", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"connection", CS_OPT_STRING, NULL,
     "connection to sample through; default: the one that discovered the "
     "table (catalogSync.connection)",
     0},
    PROF_OPTION_DECLS("reltuples"),
    {NULL, 0, NULL, NULL, 0}};

static void pp_fini(void *state)
{
    struct prof_state *s = state;
    if (!s)
        return;
    free(s->connection);
    free(s);
}

static int pp_init(const cs_host_api *host, cs_ctx *ctx, void **state)
{
    const json_t *cfg = host->config(ctx);
    struct prof_state *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    const char *conn = json_string_value(json_object_get(cfg, "connection"));
    s->connection = conn ? strdup(conn) : NULL;
    int rc = prof_config_read(host, ctx, &s->cfg);
    if (rc == CS_OK && conn && !s->connection) {
        host->set_error(ctx, "out of memory reading the config");
        rc = CS_ERR_NOMEM;
    }
    if (rc != CS_OK) {
        pp_fini(s);
        return rc;
    }
    *state = s;
    return CS_OK;
}

/* "name" with embedded double quotes doubled, as SQL wants. */
static char *quote_ident(const char *name)
{
    size_t n = strlen(name);
    char *q = malloc(2 * n + 3);
    if (!q)
        return NULL;
    size_t o = 0;
    q[o++] = '"';
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            q[o++] = '"';
        q[o++] = *p;
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

/* What one table needs: where it is and how big the catalog says it is. */
struct target {
    const char *connection, *schema, *table;
    double reltuples; /* < 0: unknown (never analyzed) */
    long relpages;
    char relkind;
};

/* A partitioned table's own reltuples is meaningless: sum its leaves. */
static const char catalog_sql[] =
    "/* catalog-sync profile: size */ "
    "SELECT CASE WHEN c.relkind = 'p' THEN"
    "  (SELECT CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples)"
    "   ELSE -1 END FROM pg_catalog.pg_partition_tree(c.oid) pt"
    "   JOIN pg_catalog.pg_class l ON l.oid = pt.relid WHERE pt.isleaf)"
    "  ELSE c.reltuples END::float8::text,"
    " c.relpages::text, c.relkind::text"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = $1 AND c.relname = $2";

static int fetch_size(struct prof_state *s, cs_ctx *ctx, struct target *t)
{
    const cs_host_api *h = s->host;
    const char *params[2] = {t->schema, t->table};
    cs_sql_result *r = NULL;
    int rc = h->sql_query(ctx, t->connection, catalog_sql, 2, params, &r);
    if (rc != CS_OK) {
        h->set_error(ctx, "connection %s: size of %s.%s: %s", t->connection,
                     t->schema, t->table, h->last_error(ctx));
        return rc;
    }
    if (h->sql_nrows(r) != 1) {
        h->sql_free(r);
        h->set_error(ctx, "connection %s: table %s.%s no longer exists",
                     t->connection, t->schema, t->table);
        return CS_ERR_NOT_FOUND;
    }
    const char *tuples = h->sql_value(r, 0, 0), *kind = h->sql_value(r, 0, 2);
    t->reltuples = tuples ? strtod(tuples, NULL) : -1;
    t->relpages = atol(h->sql_value(r, 0, 1) ? h->sql_value(r, 0, 1) : "0");
    t->relkind = kind ? kind[0] : 'r';
    h->sql_free(r);
    return CS_OK;
}

/* TABLESAMPLE only where it pays: not on views, not at 100 %, not on
 * tables known to be small (BERNOULLI would return too few rows), and not
 * on never-analyzed tables of under 100 pages (probably small too). */
static int use_tablesample(const struct prof_state *s, const struct target *t)
{
    if (s->cfg.sample_percent >= 100 || t->relkind == 'v')
        return 0;
    if (t->reltuples >= 0)
        return t->reltuples >= s->cfg.min_rows_for_sampling;
    return t->relpages >= 100;
}

static char *sampling_sql(const struct prof_state *s, const struct target *t,
                          int sampled)
{
    char *qs = quote_ident(t->schema), *qt = quote_ident(t->table);
    char *rel = NULL, *sql = NULL;
    if (qs && qt && asprintf(&rel, "%s.%s", qs, qt) < 0)
        rel = NULL;
    if (rel)
        sql = prof_sampling_sql(&s->cfg, rel, sampled);
    free(qs);
    free(qt);
    free(rel);
    return sql;
}

/* Copies the result into a prof_table (NULL on allocation failure). */
static prof_table *to_table(const cs_host_api *h, const cs_sql_result *r)
{
    int nc = h->sql_ncols(r), nr = h->sql_nrows(r);
    const char **names = calloc(nc ? nc : 1, sizeof *names);
    const char **types = calloc(nc ? nc : 1, sizeof *types);
    const char **cells = calloc(nc ? nc : 1, sizeof *cells);
    prof_table *t = NULL;
    if (names && types && cells) {
        for (int c = 0; c < nc; c++) {
            names[c] = h->sql_colname(r, c);
            types[c] = h->sql_coltype(r, c);
        }
        t = prof_table_new((size_t)nc, names, types);
    }
    for (int row = 0; t && row < nr; row++) {
        for (int c = 0; c < nc; c++)
            cells[c] = h->sql_value(r, row, c);
        if (prof_table_add_row(t, cells) != 0) {
            prof_table_free(t);
            t = NULL;
        }
    }
    free(names);
    free(types);
    free(cells);
    return t;
}

/* Reads catalogSync.{connection,schema,table} of the table aspect. */
static int find_target(struct prof_state *s, cs_ctx *ctx, struct target *t)
{
    const cs_host_api *h = s->host;
    json_t *table = h->aspect_get(ctx, "table");
    json_t *cs = json_object_get(table, "catalogSync");
    memset(t, 0, sizeof *t);
    t->schema = json_string_value(json_object_get(cs, "schema"));
    t->table = json_string_value(json_object_get(cs, "table"));
    t->connection = s->connection
                        ? s->connection
                        : json_string_value(json_object_get(cs, "connection"));
    if (!t->schema || !t->table || !t->connection) {
        h->set_error(ctx, "table aspect: catalogSync.schema, .table and "
                          ".connection (or the `connection` option) are "
                          "required");
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

/* Runs the sampling query and computes both aspects from its rows. */
static int sample_and_put(struct prof_state *s, cs_ctx *ctx,
                          const struct target *t)
{
    const cs_host_api *h = s->host;
    int sampled = use_tablesample(s, t);
    char *sql = sampling_sql(s, t, sampled);
    cs_sql_result *r = NULL;
    int rc =
        sql ? h->sql_query(ctx, t->connection, sql, 0, NULL, &r) : CS_ERR_NOMEM;
    free(sql);
    if (rc != CS_OK) {
        h->set_error(ctx, "connection %s: sampling %s.%s: %s", t->connection,
                     t->schema, t->table, h->last_error(ctx));
        return rc;
    }
    prof_table *pt = to_table(h, r);
    h->sql_free(r);
    char what[256];
    snprintf(what, sizeof what, "%s.%s", t->schema, t->table);
    if (!pt) {
        h->set_error(ctx, "%s: out of memory while profiling", what);
        return CS_ERR_NOMEM;
    }
    prof_read rd = {.sampled = sampled != 0,
                    .known_rows = t->reltuples,
                    .known_source = "reltuples"};
    rc = prof_put_aspects(h, ctx, &s->cfg, &rd, pt, what);
    prof_table_free(pt);
    return rc;
}

static int pp_process(void *state, cs_ctx *ctx)
{
    struct prof_state *s = state;
    struct target t;
    int rc = find_target(s, ctx, &t);
    if (rc == CS_OK)
        rc = fetch_size(s, ctx, &t);
    if (rc == CS_OK)
        rc = sample_and_put(s, ctx, &t);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "profile_postgres",
    .version = "0.1.0",
    .summary = "samples a Postgres table with one TABLESAMPLE query; "
               "produces the raw sample and a value-free profile",
    .kind = CS_PASS_ENTITY,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = pp_init,
    .process = pp_process,
    .fini = pp_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
