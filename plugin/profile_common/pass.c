/*
 * What every profile pass does around its engine's sampling query, so
 * that profile_postgres and profile_trino produce the same aspects from
 * the same rows: options, the query text, the row count and the puts.
 */
#include "profile_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double num_opt(const json_t *cfg, const char *key, double dflt)
{
    json_t *v = json_object_get(cfg, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* See profile_common.h. */
int prof_config_read(const cs_host_api *h, cs_ctx *ctx, prof_config *c)
{
    const json_t *cfg = h->config(ctx);
    double top_k = num_opt(cfg, "top_k", 10);
    double shapes_k = num_opt(cfg, "shapes_k", 5);
    c->sample_percent = num_opt(cfg, "sample_percent", 10);
    c->sample_rows = (long)num_opt(cfg, "sample_rows", 1000);
    c->min_rows_for_sampling = num_opt(cfg, "min_rows_for_sampling", 10000);
    c->opts.top_k = top_k > 0 ? (size_t)top_k : 0;
    c->opts.shapes_k = shapes_k > 0 ? (size_t)shapes_k : 0;
    const char *key = json_string_value(json_object_get(cfg, "hash_key"));
    if (!key)
        key = PROF_DEFAULT_HASH_KEY;
    h->secret_register(ctx, key);
    prof_key_from_string(key, c->opts.key);
    if (c->sample_percent <= 0 || c->sample_percent > 100 ||
        c->sample_rows <= 0 || top_k < 0 || shapes_k < 0) {
        h->set_error(ctx, "config: sample_percent must be in (0, 100], "
                          "sample_rows > 0, top_k and shapes_k >= 0");
        return CS_ERR_INVALID;
    }
    return CS_OK;
}

/* See profile_common.h. */
char *prof_sampling_sql(const prof_config *c, const char *relation,
                        bool sampled)
{
    char clause[64] = "", *sql = NULL;
    if (sampled)
        snprintf(clause, sizeof clause, " TABLESAMPLE BERNOULLI (%.6g)",
                 c->sample_percent);
    if (asprintf(&sql,
                 "/* catalog-sync profile: sample */ SELECT * FROM %s%s"
                 " LIMIT %ld",
                 relation, clause, c->sample_rows) < 0)
        return NULL;
    return sql;
}

/* See profile_common.h. */
double prof_row_count(const prof_config *c, const prof_read *r, size_t nrows,
                      const char **source)
{
    if (!r->sampled && (long)nrows < c->sample_rows) {
        *source = "exact";
        return (double)nrows;
    }
    if (r->known_rows >= 0) {
        *source = r->known_source;
        return r->known_rows;
    }
    /* An unsampled read that stopped at the LIMIT of a table of unknown
     * size: it has at least that many rows, and how many more is unknown.
     * Say so, so that no later pass takes the sample for the whole table. */
    *source = r->sampled ? "sample" : "lower_bound";
    return r->sampled ? (double)nrows * 100.0 / c->sample_percent
                      : (double)nrows;
}

/* The profile aspect around its columns (stolen). */
static json_t *profile_json(const prof_config *c, const prof_read *r,
                            const prof_table *t, json_t *cols)
{
    const char *source = NULL;
    double n = prof_row_count(c, r, prof_table_nrows(t), &source);
    if (!cols)
        return NULL;
    return json_pack("{s:I, s:s, s:I, s:f, s:o}", "rowCount",
                     (json_int_t)llround(n), "rowCountSource", source,
                     "sampleRows", (json_int_t)prof_table_nrows(t),
                     "samplePercent", r->sampled ? c->sample_percent : 100.0,
                     "columns", cols);
}

/* See profile_common.h. */
int prof_put_aspects(const cs_host_api *h, cs_ctx *ctx, const prof_config *c,
                     const prof_read *r, const prof_table *t, const char *what)
{
    /* Building the raw sample is most of the pass's own cost: skip it
     * when no pass of the plan reads it. */
    bool want_sample =
        !CS_HOST_HAS(h, aspect_wanted) || h->aspect_wanted(ctx, "sample");
    json_t *cols = NULL, *sample = NULL, *profile = NULL;
    if (prof_profile_and_sample(t, &c->opts, &cols,
                                want_sample ? &sample : NULL) == 0)
        profile = profile_json(c, r, t, cols);
    if (!profile || (want_sample && !sample)) {
        json_decref(profile);
        json_decref(sample);
        h->set_error(ctx, "%s: out of memory while profiling", what);
        return CS_ERR_NOMEM;
    }
    h->metric_add(ctx, "rows_sampled", (double)prof_table_nrows(t));
    int rc = h->aspect_put(ctx, "profile", profile);
    if (rc == CS_OK && want_sample)
        rc = h->aspect_put(ctx, "sample", sample);
    else
        json_decref(sample);
    return rc;
}
