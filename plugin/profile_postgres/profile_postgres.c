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
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used only when the manifest gives no hash_key: hashes are then still
 * keyed, but comparable with every other installation that kept the
 * default, so operators are told to set their own. */
#define DEFAULT_HASH_KEY "catalog-sync default profile key; set hash_key"

struct prof_state {
    const cs_host_api *host;
    char *connection; /* NULL: the table aspect's catalogSync.connection */
    double sample_percent;
    long sample_rows;
    double min_rows_for_sampling;
    prof_options opts;
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
    {"sample_percent", CS_OPT_NUMBER, "10",
     "TABLESAMPLE BERNOULLI percentage; 100 = no TABLESAMPLE", 0},
    {"sample_rows", CS_OPT_INT, "1000", "LIMIT of the sampling query", 0},
    {"min_rows_for_sampling", CS_OPT_INT, "10000",
     "tables with fewer rows (reltuples) are read with LIMIT only", 0},
    {"top_k", CS_OPT_INT, "10", "most frequent values kept per column", 0},
    {"shapes_k", CS_OPT_INT, "5", "most frequent value shapes per column", 0},
    {"hash_key", CS_OPT_STRING, "\"" DEFAULT_HASH_KEY "\"",
     "secret key of the top-value hashes (keep it stable to compare runs)", 0},
    {NULL, 0, NULL, NULL, 0}};

static void pp_fini(void *state)
{
    struct prof_state *s = state;
    if (!s)
        return;
    free(s->connection);
    free(s);
}

static double num_opt(const json_t *cfg, const char *key, double dflt)
{
    json_t *v = json_object_get(cfg, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
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
    s->sample_percent = num_opt(cfg, "sample_percent", 10);
    s->sample_rows = (long)num_opt(cfg, "sample_rows", 1000);
    s->min_rows_for_sampling = num_opt(cfg, "min_rows_for_sampling", 10000);
    s->opts.top_k = (size_t)num_opt(cfg, "top_k", 10);
    s->opts.shapes_k = (size_t)num_opt(cfg, "shapes_k", 5);
    const char *key = json_string_value(json_object_get(cfg, "hash_key"));
    if (!key)
        key = DEFAULT_HASH_KEY;
    host->secret_register(ctx, key);
    prof_key_from_string(key, s->opts.key);
    if ((conn && !s->connection) || s->sample_percent <= 0 ||
        s->sample_percent > 100 || s->sample_rows <= 0 ||
        num_opt(cfg, "top_k", 10) < 0 || num_opt(cfg, "shapes_k", 5) < 0) {
        host->set_error(ctx, "config: sample_percent must be in (0, 100], "
                             "sample_rows > 0, top_k and shapes_k >= 0");
        pp_fini(s);
        return CS_ERR_INVALID;
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
    if (s->sample_percent >= 100 || t->relkind == 'v')
        return 0;
    if (t->reltuples >= 0)
        return t->reltuples >= s->min_rows_for_sampling;
    return t->relpages >= 100;
}

static char *sampling_sql(const struct prof_state *s, const struct target *t,
                          int sampled)
{
    char *qs = quote_ident(t->schema), *qt = quote_ident(t->table);
    char *sql = NULL;
    if (qs && qt) {
        char clause[64] = "";
        if (sampled)
            snprintf(clause, sizeof clause, " TABLESAMPLE BERNOULLI (%.6g)",
                     s->sample_percent);
        if (asprintf(&sql,
                     "/* catalog-sync profile: sample */ SELECT * FROM %s.%s%s"
                     " LIMIT %ld",
                     qs, qt, clause, s->sample_rows) < 0)
            sql = NULL;
    }
    free(qs);
    free(qt);
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

/* Row count and its source: the whole table read -> exact; else the
 * catalog's reltuples when analyzed; else scaled from the sample (a lower
 * bound when an unsampled read stopped at the LIMIT). */
static json_t *row_count(const struct prof_state *s, const struct target *t,
                         int sampled, size_t nrows, const char **source)
{
    if (!sampled && (long)nrows < s->sample_rows) {
        *source = "exact";
        return json_integer((json_int_t)nrows);
    }
    if (t->reltuples >= 0) {
        *source = "reltuples";
        return json_integer((json_int_t)llround(t->reltuples));
    }
    /* An unsampled read that stopped at the LIMIT of a never-analyzed
     * table: the table has at least that many rows, and how many more is
     * unknown.  Say so, so that no later pass takes the sample for the
     * whole table. */
    *source = sampled ? "sample" : "lower_bound";
    double est =
        sampled ? (double)nrows * 100.0 / s->sample_percent : (double)nrows;
    return json_integer((json_int_t)llround(est));
}

/* The profile aspect around its columns (stolen). */
static json_t *profile_json(const struct prof_state *s, const struct target *t,
                            const prof_table *pt, int sampled, json_t *cols)
{
    const char *source = NULL;
    json_t *count = row_count(s, t, sampled, prof_table_nrows(pt), &source);
    if (!count || !cols) {
        json_decref(count);
        json_decref(cols);
        return NULL;
    }
    return json_pack("{s:o, s:s, s:I, s:f, s:o}", "rowCount", count,
                     "rowCountSource", source, "sampleRows",
                     (json_int_t)prof_table_nrows(pt), "samplePercent",
                     sampled ? s->sample_percent : 100.0, "columns", cols);
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
    /* Building the raw sample is most of the pass's own cost: skip it
     * when no pass of the plan reads it. */
    bool want_sample =
        !CS_HOST_HAS(h, aspect_wanted) || h->aspect_wanted(ctx, "sample");
    json_t *cols = NULL, *sample = NULL, *profile = NULL;
    if (pt && prof_profile_and_sample(pt, &s->opts, &cols,
                                      want_sample ? &sample : NULL) == 0)
        profile = profile_json(s, t, pt, sampled, cols);
    size_t nrows = pt ? prof_table_nrows(pt) : 0;
    prof_table_free(pt);
    if (!profile || (want_sample && !sample)) {
        json_decref(profile);
        json_decref(sample);
        h->set_error(ctx, "%s.%s: out of memory while profiling", t->schema,
                     t->table);
        return CS_ERR_NOMEM;
    }
    h->metric_add(ctx, "rows_sampled", (double)nrows);
    rc = h->aspect_put(ctx, "profile", profile);
    if (rc == CS_OK && want_sample)
        rc = h->aspect_put(ctx, "sample", sample);
    else
        json_decref(sample);
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
