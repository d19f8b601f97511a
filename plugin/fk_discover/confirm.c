/*
 * Confirmation: every chosen edge is checked by the source's own engine
 * (here the Postgres path; confirm_trino.c builds the Trino one) with one
 * count query, so the decision rests on the data and not on the
 * sketches.  The query returns two counts, never a value:
 *
 *   SELECT count(*) AS checked,
 *          count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM parent p
 *                                             WHERE p.key = x.v))
 *   FROM (SELECT c.col AS v FROM child c [TABLESAMPLE SYSTEM (pct)]
 *         WHERE c.col IS NOT NULL) x
 *
 * NULL child values are no violation (they reference nothing), and NOT
 * EXISTS never matches a NULL parent key.  The statement timeout of the
 * pass is set on the session for the checks (never above the one of the
 * connection) and put back afterwards, because the host reuses the
 * connection for other passes.
 */
#include "fk_discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "name" with embedded quotes doubled; malloc'd or NULL. */
static char *quote_ident(const char *s)
{
    size_t n = strlen(s), q = 0;
    for (size_t i = 0; i < n; i++)
        q += s[i] == '"';
    char *out = malloc(n + q + 3), *w = out;
    if (!out)
        return NULL;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *w++ = '"';
        *w++ = s[i];
    }
    *w++ = '"';
    *w = '\0';
    return out;
}

/* Same class compares natively; a uuid against text compares as text. */
static bool text_compare(const fk_column *c, const fk_column *p)
{
    return c->cls != p->cls &&
           fk_class_family((fk_class)c->cls) == FK_FAMILY_TEXT;
}

char *fkd_antijoin_sql(const struct fkd_model *m, const struct fkd_edge *x,
                       double sample_pct)
{
    const fk_column *c = &m->cols[x->child], *p = &m->cols[x->parent];
    const struct fkd_table *ct = &m->tables[c->table_id];
    const struct fkd_table *pt = &m->tables[p->table_id];
    char *q[6] = {quote_ident(ct->schema),
                  quote_ident(ct->name),
                  quote_ident(m->col_names[x->child]),
                  quote_ident(pt->schema),
                  quote_ident(pt->name),
                  quote_ident(m->col_names[x->parent])};
    char *sql = NULL, sample[64] = "";
    bool ok = q[0] && q[1] && q[2] && q[3] && q[4] && q[5];
    if (sample_pct > 0)
        snprintf(sample, sizeof sample, " TABLESAMPLE SYSTEM (%.6f)",
                 sample_pct);
    const char *cast = text_compare(c, p) ? "::text" : "";
    if (ok && asprintf(&sql,
                       "SELECT count(*) AS checked, count(*) FILTER (WHERE "
                       "NOT EXISTS (SELECT 1 FROM %s.%s p WHERE p.%s%s = "
                       "x.v%s)) AS violations FROM (SELECT c.%s AS v FROM "
                       "%s.%s c%s WHERE c.%s IS NOT NULL) x",
                       q[3], q[4], q[5], cast, cast, q[2], q[0], q[1], sample,
                       q[2]) < 0)
        sql = NULL;
    for (int i = 0; i < 6; i++)
        free(q[i]);
    return sql;
}

/* One-cell query; copies the cell into out.  0 or -1. */
static int query_one(const cs_host_api *h, cs_ctx *ctx, const char *conn,
                     const char *sql, const char *param, char *out,
                     size_t outlen)
{
    cs_sql_result *r = NULL;
    const char *params[1] = {param};
    if (h->sql_query(ctx, conn, sql, param ? 1 : 0, params, &r) != CS_OK)
        return -1;
    const char *v = h->sql_nrows(r) == 1 ? h->sql_value(r, 0, 0) : NULL;
    if (v)
        snprintf(out, outlen, "%s", v);
    h->sql_free(r);
    return v ? 0 : -1;
}

static const char *const SET_TIMEOUT =
    "SELECT set_config('statement_timeout', $1, false)";

/* Sets the check timeout on `conn`; 1 when `saved` must be restored. */
static int timeout_begin(const cs_host_api *h, cs_ctx *ctx, const char *conn,
                         const struct fkd_opts *o, char *saved, size_t len)
{
    if (o->timeout_ms <= 0)
        return 0;
    if (query_one(h, ctx, conn,
                  "SELECT setting FROM pg_settings WHERE name = "
                  "'statement_timeout'",
                  NULL, saved, len) != 0) {
        h->log(ctx, CS_LOG_WARN,
               "connection %s: cannot read statement_timeout (%s); checks "
               "run with the connection's timeout",
               conn, h->last_error(ctx));
        return 0;
    }
    long long cur = atoll(saved), eff = o->timeout_ms;
    if (cur > 0 && cur < eff)
        eff = cur; /* the operator's connection limit stays a ceiling */
    char val[32], ignored[64];
    snprintf(val, sizeof val, "%lld", eff);
    if (query_one(h, ctx, conn, SET_TIMEOUT, val, ignored, sizeof ignored)) {
        h->log(ctx, CS_LOG_WARN,
               "connection %s: cannot set statement_timeout: %s", conn,
               h->last_error(ctx));
        return 0;
    }
    return 1;
}

static void timeout_end(const cs_host_api *h, cs_ctx *ctx, const char *conn,
                        const char *saved)
{
    char ignored[64];
    if (query_one(h, ctx, conn, SET_TIMEOUT, saved, ignored, sizeof ignored))
        h->log(ctx, CS_LOG_WARN,
               "connection %s: cannot restore statement_timeout: %s", conn,
               h->last_error(ctx));
}

static bool is_timeout(int rc, const char *msg)
{
    return rc == CS_ERR_TIMEOUT || (msg && strstr(msg, "statement timeout"));
}

/* What the sketches and the names said, for the reason line. */
static int describe(const struct fkd_model *m, const struct fkd_edge *x,
                    char *buf, size_t len)
{
    (void)m;
    const char *why = x->value_only ? "no name evidence, the only unique "
                                      "column holding the values"
                                    : x->name_why;
    int n = snprintf(buf, len, "%s; sketch containment %.2f over %u hashes",
                     why, x->cand.containment, x->cand.support);
    if (x->tied > 1 && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n,
                      "; evidence equal for %zu parents", x->tied);
    return n;
}

/* See fk_discover.h. */
void fkd_set_reason(const struct fkd_model *m, struct fkd_edge *x,
                    const char *tail)
{
    char head[160];
    describe(m, x, head, sizeof head);
    snprintf(x->reason, sizeof x->reason, "%s; %s", head, tail);
}

/* See fk_discover.h. */
void fkd_judge(const struct fkd_model *m, struct fkd_edge *x, const char *a,
               const char *b, const struct fkd_opts *o)
{
    char tail[160];
    if (!a || !b) {
        x->status = FKD_UNCONFIRMED;
        fkd_set_reason(m, x, "not confirmed: the anti-join gave no counts");
        return;
    }
    x->checked = atoll(a);
    x->violations = atoll(b);
    const char *how = x->sampled ? " (table sample)" : "";
    if (x->checked == 0) {
        x->status = FKD_REJECTED;
        snprintf(tail, sizeof tail, "rejected: no non-null child rows%s", how);
    } else if (x->violations > o->tolerance) {
        x->status = FKD_REJECTED;
        snprintf(tail, sizeof tail,
                 "rejected: %lld of %lld child rows have no parent%s "
                 "(tolerance %lld)",
                 x->violations, x->checked, how, o->tolerance);
    } else {
        x->status = FKD_CONFIRMED;
        snprintf(tail, sizeof tail,
                 "%lld of %lld child rows without a parent%s", x->violations,
                 x->checked, how);
    }
    fkd_set_reason(m, x, tail);
}

/* Reads the two counts of a Postgres result and decides the edge. */
static void judge(const cs_host_api *h, const struct fkd_model *m,
                  struct fkd_edge *x, cs_sql_result *r,
                  const struct fkd_opts *o)
{
    const char *a = h->sql_nrows(r) == 1 && h->sql_ncols(r) == 2
                        ? h->sql_value(r, 0, 0)
                        : NULL;
    fkd_judge(m, x, a, a ? h->sql_value(r, 0, 1) : NULL, o);
}

/* See fk_discover.h. */
void fkd_unconfirmed(const struct fkd_model *m, struct fkd_edge *x,
                     const struct fkd_opts *o, bool timeout, const char *msg)
{
    char tail[160];
    x->status = FKD_UNCONFIRMED;
    if (timeout)
        snprintf(tail, sizeof tail,
                 "not confirmed: the anti-join hit the statement timeout "
                 "(%lld ms)",
                 o->timeout_ms);
    else
        snprintf(tail, sizeof tail, "not confirmed: %.100s",
                 msg && *msg ? msg : "query failed");
    fkd_set_reason(m, x, tail);
}

/* See fk_discover.h. */
double fkd_sample_pct(const struct fkd_model *m, const struct fkd_edge *x,
                      const struct fkd_opts *o)
{
    const struct fkd_table *ct = &m->tables[m->cols[x->child].table_id];
    if (o->max_confirm_rows > 0 && ct->row_count > (double)o->max_confirm_rows)
        return 100.0 * (double)o->max_confirm_rows / ct->row_count;
    return 0;
}

/* Runs the check of one edge on `conn`. */
static int confirm_one(const struct fkd_model *m, struct fkd_edge *x,
                       const struct fkd_opts *o, const cs_host_api *h,
                       cs_ctx *ctx, const char *conn)
{
    double pct = fkd_sample_pct(m, x, o);
    x->sampled = pct > 0;
    char *sql = fkd_antijoin_sql(m, x, pct);
    if (!sql)
        return CS_ERR_NOMEM;
    cs_sql_result *r = NULL;
    int rc = h->sql_query(ctx, conn, sql, 0, NULL, &r);
    free(sql);
    if (rc == CS_ERR_STOPPING)
        return rc;
    if (rc != CS_OK) {
        const char *msg = h->last_error(ctx);
        fkd_unconfirmed(m, x, o, is_timeout(rc, msg), msg);
        return CS_OK;
    }
    judge(h, m, x, r, o);
    h->sql_free(r);
    return CS_OK;
}

static bool wants_check(const struct fkd_model *m, const struct fkd_edge *x)
{
    return x->status == FKD_PENDING &&
           m->tables[m->cols[x->child].table_id].in_scope;
}

/* The edges whose child lives on `conn`, one session timeout around. */
static int confirm_conn(const struct fkd_model *m, struct fkd_edges *e,
                        const struct fkd_opts *o, const cs_host_api *h,
                        cs_ctx *ctx, const char *conn)
{
    char saved[64] = "";
    int restore = timeout_begin(h, ctx, conn, o, saved, sizeof saved);
    int rc = CS_OK;
    for (size_t i = 0; i < e->n && rc == CS_OK; i++) {
        struct fkd_edge *x = &e->v[i];
        const struct fkd_table *ct = &m->tables[m->cols[x->child].table_id];
        const struct fkd_table *pt = &m->tables[m->cols[x->parent].table_id];
        if (!wants_check(m, x) || strcmp(ct->connection, conn) != 0)
            continue;
        if (h->should_stop(ctx)) {
            rc = CS_ERR_STOPPING;
        } else if (strcmp(pt->connection, conn) != 0) {
            x->status = FKD_UNCONFIRMED;
            fkd_set_reason(m, x,
                           "not confirmed: the parent is on another "
                           "connection");
        } else {
            rc = confirm_one(m, x, o, h, ctx, conn);
        }
    }
    if (restore)
        timeout_end(h, ctx, conn, saved);
    return rc;
}

/* Whether the engine can be reached from this pass at all. */
static bool engine_reachable(const struct fkd_opts *o, const cs_host_api *h)
{
    return o->engine == FKD_ENGINE_TRINO ? h->http != NULL
                                         : h->sql_query != NULL;
}

static void unchecked(const struct fkd_model *m, struct fkd_edge *x,
                      const struct fkd_opts *o)
{
    x->status = FKD_UNCHECKED;
    if (!o->confirm)
        fkd_set_reason(m, x, "not confirmed: confirm is off");
    else if (o->engine == FKD_ENGINE_TRINO)
        fkd_set_reason(m, x, "not confirmed: no network access");
    else
        fkd_set_reason(m, x, "not confirmed: no SQL access");
}

/* Checks the pending edges of in-scope children; see fk_discover.h. */
int fkd_confirm_all(const struct fkd_model *m, struct fkd_edges *e,
                    const struct fkd_opts *o, const cs_host_api *h, cs_ctx *ctx)
{
    for (size_t i = 0; i < e->n; i++) {
        struct fkd_edge *x = &e->v[i];
        if (!wants_check(m, x))
            continue;
        if (!o->confirm || !engine_reachable(o, h)) {
            unchecked(m, x, o);
            continue;
        }
        int rc;
        if (o->engine == FKD_ENGINE_TRINO)
            rc = h->should_stop(ctx) ? CS_ERR_STOPPING
                                     : fkd_confirm_trino(m, x, o, h, ctx);
        else
            rc = confirm_conn(m, e, o, h, ctx,
                              m->tables[m->cols[x->child].table_id].connection);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}
