/*
 * Internals of the fk_discover pass, shared by its source files.
 *
 *   model.c    fingerprints of every known table -> one fk_column array
 *              (fk_common records) plus the names the records leave out;
 *   names.c    name evidence between a child column and a parent column;
 *   choose.c   candidates from the fk_common index, scored, at most one
 *              parent per child column unless the evidence is equal;
 *   confirm.c  the NULL-safe anti-join count through the source engine
 *              (Postgres connection), the reasons and the verdict;
 *   confirm_trino.c  the same count through Trino (engine: trino);
 *   emit.c     the `fk` aspect of each child table.
 *
 * Everything runs inside finish() on one thread; nothing here is shared.
 */
#ifndef FK_DISCOVER_H
#define FK_DISCOVER_H

#include <catalog_sync/pass.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fk.h"
#include "trino.h"

/* Where the anti-joins run. */
enum fkd_engine {
    FKD_ENGINE_POSTGRES = 0, /* the fingerprint's connection */
    FKD_ENGINE_TRINO         /* trino_common, names from `catalogs` */
};

/* Validated options (see the declarations in fk_discover.c). */
struct fkd_opts {
    enum fkd_engine engine;
    const trino_conf *trino;      /* engine trino: the client options */
    long long tolerance;          /* violations allowed */
    bool confirm;                 /* run the anti-join */
    long long max_confirm_rows;   /* above: TABLESAMPLE the child */
    long long timeout_ms;         /* statement timeout of one check, 0: none */
    double min_containment;       /* sketch estimate, name evidence present */
    double min_value_containment; /* sketch estimate, values alone */
    double min_parent_uniqueness; /* parent sample uniqueness */
    double distinct_tolerance;    /* fk_index_opts, see fk.h */
    double range_slack;           /* fk_index_opts, see fk.h */
};

struct fkd_table {
    const char *fqn; /* borrowed from the model's fingerprints */
    const char *connection, *schema, *name;
    const json_t *declared; /* declaredForeignKeys or NULL */
    double row_count;
    size_t first_col, ncols; /* into the model's column arrays */
    bool in_run;             /* an entity of this run */
    bool in_scope;           /* gets a (refreshed) fk aspect */
};

struct fkd_model {
    json_t *all; /* {fqn: fingerprint}, owned */
    struct fkd_table *tables;
    size_t ntables;
    fk_column *cols;        /* fk_common records, table_id = table index */
    const char **col_names; /* borrowed from `all` */
    size_t ncols;
};

enum fkd_status {
    FKD_PENDING = 0, /* chosen, not checked yet */
    FKD_CONFIRMED,   /* violations <= tolerance */
    FKD_REJECTED,    /* violations > tolerance */
    FKD_UNCONFIRMED, /* the check failed (timeout, error, no connection) */
    FKD_UNCHECKED    /* confirm = false */
};

struct fkd_edge {
    uint32_t child, parent; /* column indexes */
    fk_candidate cand;
    double name_score;
    const char *name_why; /* static text from fkd_name_score */
    bool same_schema;
    bool declared_key; /* the parent is a declared primary key / unique */
    double coverage;   /* child distinct / parent distinct, <= 1 */
    bool value_only;   /* chosen without name evidence */
    size_t tied;       /* parents with equal evidence (1: this one alone) */
    enum fkd_status status;
    long long checked, violations; /* -1 unknown */
    bool sampled;                  /* checked on a TABLESAMPLE */
    char reason[320];
};

struct fkd_edges {
    struct fkd_edge *v;
    size_t n, cap;
};

/* ---- model.c ---- */

/* Builds the model from `all` ({fqn: fingerprint}, stolen) and marks the
 * run's tables.  need_connection: a fingerprint without `connection` is
 * skipped (the Postgres engine needs one; Trino names tables by FQN).
 * 0, or -1 with the entity and reason in err. */
int fkd_model_build(struct fkd_model *m, json_t *all, bool need_connection,
                    const cs_host_api *h, cs_ctx *ctx, char *err,
                    size_t errlen);
void fkd_model_free(struct fkd_model *m);
/* Table index of an FQN, or (size_t)-1. */
size_t fkd_model_table(const struct fkd_model *m, const char *fqn);
/* Index of column `name` of table t, or (size_t)-1. */
size_t fkd_model_column(const struct fkd_model *m, size_t t, const char *name);
/* 1 when column c alone is the child side of a declared foreign key. */
int fkd_model_declared_child(const struct fkd_model *m, size_t c);

/* ---- names.c ---- */

/* Name evidence that child column `child_col` refers to `parent_col` of
 * `parent_table` (self: the child's own table), in [0, 1]:
 *   1.0  named after the parent table (branch_id -> branches) or the same
 *        key-like name on both sides (customer_id = customer_id);
 *   0.8  the parent table's name ends the child's name before its key
 *        word (counterparty_account_id -> accounts, not rental_duration
 *        -> rentals);
 *   0.6  a role word for what the parent table holds (manager_id,
 *        reports_to, support_rep_id -> employees; ship_via -> carriers),
 *        or a hierarchy word on a self-reference (parent_id);
 *   0    nothing.
 * *why (may be NULL) gets a short static description. */
double fkd_name_score(const char *child_col, const char *parent_table,
                      const char *parent_col, bool self, const char **why);

#define FKD_KEY_LEN 64
/* Table keys (fkd_table_key form) the child column's name points at:
 * every run of words ending its stem (counterparty_account_id ->
 * "counterpartyaccount", "account"), plus the person or carrier tables a
 * role word stands for.  *self_role: a hierarchy word (parent, manager).
 * Returns the number of keys written, at most max. */
size_t fkd_name_keys(const char *child_col, char (*keys)[FKD_KEY_LEN],
                     size_t max, bool *self_role);
/* A table's name as a key: words glued, the last one singular
 * ("order_items" -> "orderitem"). */
void fkd_table_key(const char *table, char *out, size_t outlen);

/* ---- choose.c ---- */

/* Candidates of every child column, scored; the chosen edges are appended
 * to out (status FKD_PENDING).  0, or -1 on allocation failure. */
int fkd_choose(const struct fkd_model *m, const fk_index *ix,
               const struct fkd_opts *o, struct fkd_edges *out,
               size_t *n_candidates);
int fkd_edges_push(struct fkd_edges *e, const struct fkd_edge *x);
void fkd_edges_free(struct fkd_edges *e);

/* ---- confirm.c ---- */

/* Checks every edge of an in-scope child table through the child's
 * connection.  Returns CS_OK, or CS_ERR_STOPPING when the worker drains. */
int fkd_confirm_all(const struct fkd_model *m, struct fkd_edges *e,
                    const struct fkd_opts *o, const cs_host_api *h,
                    cs_ctx *ctx);
/* The anti-join text for one edge (malloc'd, NULL on allocation failure):
 * sample_pct > 0 adds TABLESAMPLE SYSTEM (sample_pct) on the child. */
char *fkd_antijoin_sql(const struct fkd_model *m, const struct fkd_edge *x,
                       double sample_pct);
/* The TABLESAMPLE percentage that checks about max_confirm_rows rows of
 * the edge's child, or 0 to read it whole. */
double fkd_sample_pct(const struct fkd_model *m, const struct fkd_edge *x,
                      const struct fkd_opts *o);
/* x->reason = what chose the edge, then `tail`. */
void fkd_set_reason(const struct fkd_model *m, struct fkd_edge *x,
                    const char *tail);
/* Decides the edge from the two counts (text; NULL: the query gave
 * none). */
void fkd_judge(const struct fkd_model *m, struct fkd_edge *x,
               const char *checked, const char *violations,
               const struct fkd_opts *o);
/* Records a failed check: a timeout or the engine's message. */
void fkd_unconfirmed(const struct fkd_model *m, struct fkd_edge *x,
                     const struct fkd_opts *o, bool timeout, const char *msg);

/* ---- confirm_trino.c ---- */

/* The Trino anti-join for one edge between the quoted three-part names
 * `child` and `parent` (malloc'd, NULL on allocation failure):
 * sample_pct > 0 adds TABLESAMPLE BERNOULLI (sample_pct) on the child. */
char *fkd_antijoin_trino_sql(const struct fkd_model *m,
                             const struct fkd_edge *x, const char *child,
                             const char *parent, double sample_pct);
/* Checks one pending edge through Trino.  CS_OK (the edge is decided or
 * unconfirmed), CS_ERR_STOPPING or CS_ERR_NOMEM. */
int fkd_confirm_trino(const struct fkd_model *m, struct fkd_edge *x,
                      const struct fkd_opts *o, const cs_host_api *h,
                      cs_ctx *ctx);

/* ---- emit.c ---- */

/* Puts one `fk` aspect per in-scope table.  CS_OK or the first error. */
int fkd_emit_all(const struct fkd_model *m, const struct fkd_edges *e,
                 const cs_host_api *h, cs_ctx *ctx, size_t *n_put);

#endif
