/*
 * fk_discover: implicit foreign keys from value fingerprints.
 *
 * A batch pass.  finish() reads the `fingerprint` of every table the state
 * store knows (earlier runs included, so a new table is matched against
 * all of them without profiling them again), indexes the parent-eligible
 * columns by sketch hash (fk_common), chooses at most one parent per
 * child column unless the evidence is equal (choose.c), confirms each
 * choice with an anti-join count on the source (confirm.c, or through
 * Trino with engine: trino, confirm_trino.c) and stores one
 * `fk` aspect per child table (emit.c).
 *
 * Which tables get a fresh aspect: every table of this run, and every
 * older table that gained a candidate parent in this run.  Only names,
 * counts and scores are stored; the SQL returns counts only.
 */
#include "fk_discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cs_aspect_decl consumes[] = {{"fingerprint", CS_ASPECT_REQUIRED},
                                          {NULL, 0}};
static const cs_aspect_decl produces[] = {{"fk", 0}, {NULL, 0}};

static const cs_option_decl options[] = {
    {"engine", CS_OPT_STRING, "\"postgres\"",
     "where the anti-joins run: postgres (the table's connection) or trino "
     "(trino_url, tables named through `catalogs`)",
     0},
    TRINO_OPTION_DECLS,
    {"tolerance", CS_OPT_INT, "0",
     "child rows without a parent still accepted as a foreign key", 0},
    {"confirm", CS_OPT_BOOL, "true",
     "check every candidate with an anti-join on the source", 0},
    {"max_confirm_rows", CS_OPT_INT, "1000000",
     "children with more rows are checked on a TABLESAMPLE of this size", 0},
    {"statement_timeout_ms", CS_OPT_INT, "30000",
     "timeout of one check (never above the connection's); 0: the "
     "connection's (Trino: no deadline of ours)",
     0},
    {"min_containment", CS_OPT_NUMBER, "0.5",
     "least sketch containment of a candidate with name evidence", 0},
    {"min_value_containment", CS_OPT_NUMBER, "0.9",
     "least sketch containment of a candidate without name evidence", 0},
    {"min_parent_uniqueness", CS_OPT_NUMBER, "0.95",
     "least sample uniqueness of an undeclared parent key", 0},
    {"distinct_tolerance", CS_OPT_NUMBER, "4",
     "candidate pruning: child distinct estimate <= parent's x this", 0},
    {"range_slack", CS_OPT_NUMBER, "10",
     "candidate pruning: a partly sampled parent's range is widened by this "
     "multiple of its width (a prefix sample spans only part of the keys)",
     0},
    {NULL, 0, NULL, NULL, 0}};

struct fkd_state {
    const cs_host_api *h;
    struct fkd_opts o;
    trino_conf trino; /* engine trino only */
};

static double num_opt(const json_t *cfg, const char *name)
{
    return json_number_value(json_object_get(cfg, name));
}

/* engine: postgres (nothing more to read) or trino (its options). */
static int read_engine(struct fkd_state *s, const cs_host_api *h, cs_ctx *ctx,
                       const json_t *cfg)
{
    const char *engine = json_string_value(json_object_get(cfg, "engine"));
    if (!engine || strcmp(engine, "postgres") == 0)
        return CS_OK;
    if (strcmp(engine, "trino") != 0) {
        h->set_error(ctx, "config.engine must be postgres or trino, not %s",
                     engine);
        return CS_ERR_INVALID;
    }
    int rc = trino_conf_init(&s->trino, h, ctx, true);
    if (rc == CS_OK) {
        s->o.engine = FKD_ENGINE_TRINO;
        s->o.trino = &s->trino;
    }
    return rc;
}

static int fkd_init(const cs_host_api *h, cs_ctx *ctx, void **state)
{
    const json_t *cfg = h->config(ctx);
    struct fkd_state *s = calloc(1, sizeof *s);
    if (!s) {
        h->set_error(ctx, "out of memory for the pass state");
        return CS_ERR_NOMEM;
    }
    s->h = h;
    s->o = (struct fkd_opts){
        .tolerance = json_integer_value(json_object_get(cfg, "tolerance")),
        .confirm = json_is_true(json_object_get(cfg, "confirm")),
        .max_confirm_rows =
            json_integer_value(json_object_get(cfg, "max_confirm_rows")),
        .timeout_ms =
            json_integer_value(json_object_get(cfg, "statement_timeout_ms")),
        .min_containment = num_opt(cfg, "min_containment"),
        .min_value_containment = num_opt(cfg, "min_value_containment"),
        .min_parent_uniqueness = num_opt(cfg, "min_parent_uniqueness"),
        .distinct_tolerance = num_opt(cfg, "distinct_tolerance"),
        .range_slack = num_opt(cfg, "range_slack")};
    if (s->o.tolerance < 0 || s->o.max_confirm_rows < 0 ||
        s->o.timeout_ms < 0) {
        h->set_error(ctx, "tolerance, max_confirm_rows and "
                          "statement_timeout_ms must not be negative");
        free(s);
        return CS_ERR_INVALID;
    }
    int rc = read_engine(s, h, ctx, cfg);
    if (rc != CS_OK) {
        free(s);
        return rc;
    }
    *state = s;
    return CS_OK;
}

static void fkd_fini(void *state)
{
    struct fkd_state *s = state;
    if (!s)
        return;
    trino_conf_free(&s->trino);
    free(s);
}

/* An older child table whose chosen parent is new gets a fresh aspect. */
static void mark_scope(struct fkd_model *m, const struct fkd_edges *e)
{
    for (size_t i = 0; i < e->n; i++) {
        const fk_column *p = &m->cols[e->v[i].parent];
        if (m->tables[p->table_id].in_run)
            m->tables[m->cols[e->v[i].child].table_id].in_scope = true;
    }
}

static void count_outcomes(const struct fkd_edges *e, size_t n[5])
{
    memset(n, 0, 5 * sizeof n[0]);
    for (size_t i = 0; i < e->n; i++)
        n[e->v[i].status]++;
}

/* Index, choice, confirmation and output over a built model. */
static int discover(struct fkd_state *s, cs_ctx *ctx, struct fkd_model *m)
{
    const cs_host_api *h = s->h;
    fk_index_opts io;
    fk_index_opts_default(&io);
    io.min_uniqueness = s->o.min_parent_uniqueness;
    /* Samples of the profile pass may be a table's first rows, so a
     * partly sampled table's range and distinct estimate are loose; the
     * anti-join decides, these bounds only keep the candidate list short. */
    io.distinct_tolerance = s->o.distinct_tolerance;
    io.range_slack = s->o.range_slack;
    fk_index *ix = fk_index_build(m->cols, m->ncols, &io);
    struct fkd_edges e = {0};
    size_t ncand = 0, nput = 0, n[5];
    if (!ix || fkd_choose(m, ix, &s->o, &e, &ncand) != 0) {
        fk_index_free(ix);
        fkd_edges_free(&e);
        h->set_error(ctx, "out of memory indexing %zu columns", m->ncols);
        return CS_ERR_NOMEM;
    }
    fk_index_free(ix);
    mark_scope(m, &e);
    int rc = fkd_confirm_all(m, &e, &s->o, h, ctx);
    if (rc == CS_OK)
        rc = fkd_emit_all(m, &e, h, ctx, &nput);
    count_outcomes(&e, n);
    h->metric_add(ctx, "fk_candidates", (double)ncand);
    h->metric_add(ctx, "fk_confirmed", (double)n[FKD_CONFIRMED]);
    h->metric_add(ctx, "fk_rejected", (double)n[FKD_REJECTED]);
    h->metric_add(ctx, "fk_unconfirmed", (double)n[FKD_UNCONFIRMED]);
    h->log(ctx, CS_LOG_INFO,
           "fk_discover: %zu tables, %zu columns, %zu candidates, %zu "
           "chosen: %zu confirmed, %zu rejected, %zu unconfirmed; %zu fk "
           "aspects stored",
           m->ntables, m->ncols, ncand, e.n, n[FKD_CONFIRMED], n[FKD_REJECTED],
           n[FKD_UNCONFIRMED], nput);
    fkd_edges_free(&e);
    return rc;
}

static int fkd_finish(void *state, cs_ctx *ctx)
{
    struct fkd_state *s = state;
    const cs_host_api *h = s->h;
    json_t *all = h->aspects_all(ctx, "fingerprint");
    if (!all) {
        const char *why = h->last_error(ctx);
        if (why && *why) {
            h->set_error(ctx, "reading every fingerprint: %s", why);
            return CS_ERR;
        }
        all = json_object(); /* nothing fingerprinted yet */
    }
    if (!json_is_object(all)) {
        json_decref(all);
        h->set_error(ctx, "reading every fingerprint: not a JSON object");
        return CS_ERR;
    }
    struct fkd_model m;
    char err[256];
    if (fkd_model_build(&m, all, s->o.engine == FKD_ENGINE_POSTGRES, h, ctx,
                        err, sizeof err) != 0) {
        fkd_model_free(&m);
        h->set_error(ctx, "%s", err);
        return CS_ERR_NOMEM;
    }
    int rc = discover(s, ctx, &m);
    fkd_model_free(&m);
    return rc;
}

static const cs_pass_desc desc = {
    CS_PASS_HEADER,
    .name = "fk_discover",
    .version = "0.1.0",
    .summary = "finds undeclared foreign keys from value fingerprints and "
               "confirms them with an anti-join on the source",
    .kind = CS_PASS_BATCH,
    .consumes = consumes,
    .produces = produces,
    .options = options,
    .init = fkd_init,
    .finish = fkd_finish,
    .fini = fkd_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void)
{
    return &desc;
}
