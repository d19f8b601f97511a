/*
 * Confirmation through Trino (engine: trino), for tables that came from
 * OpenMetadata: the same two counts as the Postgres path, in Trino SQL,
 * on the tables' catalogs from the `catalogs` option:
 *
 *   SELECT count(*) AS checked, count_if(x.orphan) AS violations
 *   FROM (SELECT NOT EXISTS (SELECT 1 FROM "cat"."s"."parent" p
 *                            WHERE p."key" = c."col") AS orphan
 *         FROM "cat"."s"."child" c [TABLESAMPLE BERNOULLI (pct)]
 *         WHERE c."col" IS NOT NULL) x
 *
 * The correlated NOT EXISTS sits in the projection, where Trino
 * decorrelates it, rather than in the aggregate's argument.  Trino joins
 * across catalogs, so parent and child need not share one.  The deadline
 * of the query is statement_timeout_ms: past it the query is cancelled.
 */
#include "fk_discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same class compares natively; a uuid against text compares as text. */
static bool text_compare(const fk_column *c, const fk_column *p)
{
    return c->cls != p->cls &&
           fk_class_family((fk_class)c->cls) == FK_FAMILY_TEXT;
}

/* `alias."col"`, cast to varchar when compared as text (malloc'd). */
static char *operand(const char *alias, const char *col, bool as_text)
{
    char *q = trino_quote_ident(col), *out = NULL;
    if (q && asprintf(&out, as_text ? "CAST(%s.%s AS varchar)" : "%s.%s", alias,
                      q) < 0)
        out = NULL;
    free(q);
    return out;
}

/* See fk_discover.h. */
char *fkd_antijoin_trino_sql(const struct fkd_model *m,
                             const struct fkd_edge *x, const char *child,
                             const char *parent, double sample_pct)
{
    const fk_column *c = &m->cols[x->child], *p = &m->cols[x->parent];
    bool as_text = text_compare(c, p);
    char *pk = operand("p", m->col_names[x->parent], as_text);
    char *cv = operand("c", m->col_names[x->child], as_text);
    char *cc = operand("c", m->col_names[x->child], false);
    char *sql = NULL, sample[64] = "";
    if (sample_pct > 0)
        snprintf(sample, sizeof sample, " TABLESAMPLE BERNOULLI (%.6f)",
                 sample_pct);
    if (pk && cv && cc &&
        asprintf(&sql,
                 "SELECT count(*) AS checked, count_if(x.orphan) AS "
                 "violations FROM (SELECT NOT EXISTS (SELECT 1 FROM %s p "
                 "WHERE %s = %s) AS orphan FROM %s c%s WHERE %s IS NOT "
                 "NULL) x",
                 parent, pk, cv, child, sample, cc) < 0)
        sql = NULL;
    free(pk);
    free(cv);
    free(cc);
    return sql;
}

/* The FQN of the edge that `catalogs` does not map, or NULL. */
static const char *unmapped(const struct fkd_model *m, const struct fkd_edge *x,
                            const trino_conf *c)
{
    const char *fqn[2] = {m->tables[m->cols[x->child].table_id].fqn,
                          m->tables[m->cols[x->parent].table_id].fqn};
    for (int i = 0; i < 2; i++)
        if (!trino_catalog_of(c, fqn[i]))
            return fqn[i];
    return NULL;
}

/* Trino names of both tables, or an unconfirmed edge saying which FQN
 * has no catalog (short: a reason keeps 100 characters of it).  1 when
 * both are known. */
static int names_of(const struct fkd_model *m, struct fkd_edge *x,
                    const struct fkd_opts *o, char **child, char **parent)
{
    const struct fkd_table *ct = &m->tables[m->cols[x->child].table_id];
    const struct fkd_table *pt = &m->tables[m->cols[x->parent].table_id];
    const char *missing = unmapped(m, x, o->trino);
    char err[256] = "out of memory";
    *child = *parent = NULL;
    if (missing)
        snprintf(err, sizeof err, "`catalogs` maps no Trino catalog for %s",
                 missing);
    else if ((*child = trino_table_name(o->trino, ct->fqn, ct->schema, ct->name,
                                        err, sizeof err)))
        *parent = trino_table_name(o->trino, pt->fqn, pt->schema, pt->name, err,
                                   sizeof err);
    if (*child && *parent)
        return 1;
    free(*child);
    *child = NULL;
    fkd_unconfirmed(m, x, o, false, err);
    return 0;
}

static void judge_result(const struct fkd_model *m, struct fkd_edge *x,
                         const struct fkd_opts *o, const trino_result *r)
{
    bool shaped = r->nrows == 1 && r->ncols == 2;
    fkd_judge(m, x, shaped ? trino_cell(r, 0, 0) : NULL,
              shaped ? trino_cell(r, 0, 1) : NULL, o);
}

/* See fk_discover.h. */
int fkd_confirm_trino(const struct fkd_model *m, struct fkd_edge *x,
                      const struct fkd_opts *o, const cs_host_api *h,
                      cs_ctx *ctx)
{
    char *child = NULL, *parent = NULL;
    if (!names_of(m, x, o, &child, &parent))
        return CS_OK;
    double pct = fkd_sample_pct(m, x, o);
    x->sampled = pct > 0;
    char *sql = fkd_antijoin_trino_sql(m, x, child, parent, pct);
    free(child);
    free(parent);
    if (!sql)
        return CS_ERR_NOMEM;
    trino_query q = {
        .sql = sql, .timeout_ms = (long)o->timeout_ms, .max_rows = 10};
    trino_result *r = NULL;
    trino_error err;
    int rc = trino_run(o->trino, h, ctx, &q, &r, &err);
    free(sql);
    if (rc == CS_ERR_STOPPING || rc == CS_ERR_NOMEM)
        return rc;
    if (rc != CS_OK)
        fkd_unconfirmed(m, x, o, rc == CS_ERR_TIMEOUT, err.message);
    else
        judge_result(m, x, o, r);
    trino_result_free(r);
    return CS_OK;
}
