/*
 * The `fk` aspect of one child table:
 *   {"edges": [...], "rejected": [...]}
 * `edges` holds the declared foreign keys (status "known") and the
 * discovered ones the source confirmed (status "confirmed"; "candidate"
 * when confirmation is off).  `rejected` keeps the chosen candidates the
 * check refused or could not run, with the reason, for review.  Names,
 * counts and scores only: no cell value ever reaches this aspect.
 */
#include "fk_discover.h"

#include <math.h>
#include <string.h>

static json_t *round4(double x)
{
    return json_real(round(x * 10000.0) / 10000.0);
}

static json_t *count_or_null(long long n)
{
    return n >= 0 ? json_integer(n) : json_null();
}

static const char *status_name(enum fkd_status s)
{
    switch (s) {
    case FKD_CONFIRMED:
        return "confirmed";
    case FKD_REJECTED:
        return "rejected";
    case FKD_UNCONFIRMED:
        return "unconfirmed";
    case FKD_UNCHECKED:
        return "candidate";
    default:
        return "pending";
    }
}

static json_t *edge_json(const struct fkd_model *m, const struct fkd_edge *x)
{
    const fk_column *p = &m->cols[x->parent];
    double pu = p->flags & (FK_COL_PK | FK_COL_UNIQUE) ? 1.0 : p->uniqueness;
    return json_pack(
        "{s:[s], s:s, s:[s], s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:s}",
        "fromColumns", m->col_names[x->child], "toTable",
        m->tables[p->table_id].fqn, "toColumns", m->col_names[x->parent],
        "status", status_name(x->status), "containment",
        round4(x->cand.containment), "violations", count_or_null(x->violations),
        "childRowsChecked", count_or_null(x->checked), "sampled", x->sampled,
        "nameScore", round4(x->name_score), "parentUniqueness", round4(pu),
        "coverage", round4(x->coverage), "reason", x->reason);
}

/* "svc.db.schema.table.col" -> table FQN and column. */
static json_t *known_json(const json_t *fk)
{
    json_t *from = json_object_get(fk, "columns");
    json_t *refs = json_object_get(fk, "referredColumns");
    json_t *to = json_array();
    char table[1024] = "";
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        const char *s = json_string_value(r);
        const char *dot = s ? strrchr(s, '.') : NULL;
        if (!dot || !to)
            continue;
        json_array_append_new(to, json_string(dot + 1));
        if (!table[0])
            snprintf(table, sizeof table, "%.*s", (int)(dot - s), s);
    }
    if (!to || !json_is_array(from) || !table[0]) {
        json_decref(to);
        return NULL;
    }
    return json_pack("{s:O, s:s, s:o, s:s, s:n, s:n, s:n, s:s}", "fromColumns",
                     from, "toTable", table, "toColumns", to, "status", "known",
                     "containment", "violations", "childRowsChecked", "reason",
                     "declared in the source");
}

static int add_known(const struct fkd_table *t, json_t *edges)
{
    size_t i;
    json_t *fk;
    json_array_foreach(t->declared, i, fk)
    {
        json_t *e = known_json(fk);
        if (e && json_array_append_new(edges, e) != 0)
            return -1;
    }
    return 0;
}

static int add_found(const struct fkd_model *m, size_t ti,
                     const struct fkd_edges *e, json_t *edges, json_t *rejected)
{
    for (size_t i = 0; i < e->n; i++) {
        const struct fkd_edge *x = &e->v[i];
        if (m->cols[x->child].table_id != ti || x->status == FKD_PENDING)
            continue;
        bool good = x->status == FKD_CONFIRMED || x->status == FKD_UNCHECKED;
        json_t *j = edge_json(m, x);
        if (!j || json_array_append_new(good ? edges : rejected, j) != 0)
            return -1;
    }
    return 0;
}

/* The aspect of table ti, or NULL on allocation failure. */
static json_t *table_aspect(const struct fkd_model *m, size_t ti,
                            const struct fkd_edges *e)
{
    json_t *edges = json_array(), *rejected = json_array();
    if (!edges || !rejected || add_known(&m->tables[ti], edges) != 0 ||
        add_found(m, ti, e, edges, rejected) != 0) {
        json_decref(edges);
        json_decref(rejected);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "edges", edges, "rejected", rejected);
}

/* Puts the aspects; see fk_discover.h.  A table of the run always gets
 * one (possibly empty: an earlier run's edges must not linger), another
 * table only when it has something to say. */
int fkd_emit_all(const struct fkd_model *m, const struct fkd_edges *e,
                 const cs_host_api *h, cs_ctx *ctx, size_t *n_put)
{
    *n_put = 0;
    for (size_t t = 0; t < m->ntables; t++) {
        if (!m->tables[t].in_scope)
            continue;
        json_t *a = table_aspect(m, t, e);
        if (!a) {
            h->set_error(ctx, "%s: out of memory building the fk aspect",
                         m->tables[t].fqn);
            return CS_ERR_NOMEM;
        }
        if (!m->tables[t].in_run &&
            json_array_size(json_object_get(a, "edges")) == 0) {
            json_decref(a);
            continue;
        }
        int rc = h->batch_put(ctx, m->tables[t].fqn, "fk", a);
        if (rc != CS_OK) {
            h->set_error(ctx, "%s: storing the fk aspect: %s", m->tables[t].fqn,
                         h->last_error(ctx));
            return rc;
        }
        (*n_put)++;
    }
    return CS_OK;
}
