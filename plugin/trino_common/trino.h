/*
 * A Trino client for passes, over the host's http() service.
 *
 * One query is one trino_run(): POST /v1/statement, then GET nextUri until
 * it is absent, collecting `columns` and `data`.  502/503/504 answers are
 * retried here (a few times, 50-100 ms apart; the host is told not to
 * retry them so the waits stay bounded by the query's deadline).  On the
 * deadline, on host->should_stop() and on the row cap the query is
 * cancelled with DELETE nextUri.
 *
 * Cells are kept as text, converted from Trino's JSON encoding the way
 * profile_common reads Postgres text (see trino_cell_text), so the result
 * copies straight into a prof_table.
 *
 * Error messages name the query, the Trino errorName and its message, and
 * never a row value: messages of errors that may quote data have their
 * quoted parts replaced (see trino_error_message).
 *
 * Also here: the options every Trino pass shares (TRINO_OPTION_DECLS, read
 * by trino_conf_init), OpenMetadata FQN -> Trino name mapping through the
 * `catalogs` option, and identifier quoting.
 *
 * Thread safety: a trino_conf is read-only after trino_conf_init and may
 * be shared by concurrent process() calls; results belong to the caller.
 */
#ifndef TRINO_COMMON_TRINO_H
#define TRINO_COMMON_TRINO_H

#include <catalog_sync/pass.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The options of every pass that queries Trino, for its cs_option_decl
 * array (followed by the pass's own and the terminator). */
/* clang-format off */
#define TRINO_OPTION_DECLS \
    {"trino_url", CS_OPT_STRING, NULL, \
     "Trino coordinator, e.g. http://trino:8080 (on the egress list)", 0}, \
    {"trino_user", CS_OPT_STRING, "\"catalog-sync\"", \
     "X-Trino-User of every query", 0}, \
    {"trino_token", CS_OPT_STRING, NULL, \
     "bearer token (write trino_token_file: PATH or ${VAR}); else " \
     "trino_token_env is read", 0}, \
    {"trino_token_env", CS_OPT_STRING, "\"TRINO_TOKEN\"", \
     "environment variable holding the bearer token when trino_token is " \
     "not given; unset: no Authorization header", 0}, \
    {"catalogs", CS_OPT_OBJECT, "{}", \
     "Trino catalog of each OpenMetadata \"service.database\" (or " \
     "\"service\")", 0}
/* clang-format on */

/* The shared options, validated.  Owned by the pass state. */
typedef struct trino_conf {
    char *url;        /* base URL without trailing '/' */
    char *user;       /* the header line "X-Trino-User: <name>" */
    char *auth;       /* "Authorization: Bearer ..." or NULL */
    json_t *catalogs; /* {"service.database" | "service": catalog} */
} trino_conf;

/* Reads the TRINO_OPTION_DECLS options of the pass's config and registers
 * the token as a secret.  `need_url`: a missing trino_url is an error.
 * CS_OK, or an error after host->set_error (nothing to free then).
 * init() only (main thread). */
int trino_conf_init(trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
                    bool need_url);
/* Frees what trino_conf_init took; safe on a zeroed conf. */
void trino_conf_free(trino_conf *c);

/* One statement.  Strings are borrowed for the call. */
typedef struct trino_query {
    const char *sql;     /* no trailing ';' */
    const char *catalog; /* X-Trino-Catalog, or NULL */
    const char *schema;  /* X-Trino-Schema, or NULL */
    long timeout_ms;     /* deadline of the whole query; 0: none */
    size_t max_rows;     /* row cap; 0: none */
} trino_query;

/* A query's result: ncols named, typed columns and nrows rows of text
 * cells (NULL = SQL NULL).  Free with trino_result_free. */
typedef struct trino_result {
    char *query_id;
    size_t ncols, nrows;
    char **names, **types; /* ncols each */
    char **cells;          /* row-major, nrows * ncols */
    size_t cap;            /* rows allocated */
    bool truncated;        /* the row cap was hit; the query was cancelled */
} trino_result;

/* Why a query failed: the status trino_run returned, Trino's errorName
 * ("" for transport or HTTP failures) and a message naming the query and
 * the reason, without any row value. */
typedef struct trino_error {
    int status;
    char name[64];
    char message[512];
} trino_error;

/* Runs q through h->http.  CS_OK with *out set (free it), or:
 * CS_ERR_NOT_FOUND (TABLE_NOT_FOUND, SCHEMA_NOT_FOUND, CATALOG_NOT_FOUND),
 * CS_ERR_TIMEOUT (the deadline passed, or Trino's EXCEEDED_TIME_LIMIT),
 * CS_ERR_STOPPING (the worker drains), CS_ERR_UNAVAILABLE (502/503/504
 * after the retries, or the host's transport failure), CS_ERR_EGRESS
 * (trino_url is not on the egress list), CS_ERR_NOMEM,
 * CS_ERR_DENIED (the host table has no http: a raw-aspect consumer),
 * CS_ERR (any other Trino error or HTTP status), with *err filled.  A
 * query cut short by timeout or stop is cancelled (DELETE nextUri).
 * Any pool thread; blocks at most about timeout_ms. */
int trino_run(const trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
              const trino_query *q, trino_result **out, trino_error *err);
void trino_result_free(trino_result *r);
/* Borrowed cell text, NULL for SQL NULL. */
const char *trino_cell(const trino_result *r, size_t row, size_t col);

/* ---- values (values.c) ---- */

/* The text of a JSON-encoded Trino value, as engines print it: NULL for
 * null (*out = NULL, returns 0), strings unchanged, integers in decimal,
 * other numbers in the shortest form that reads back to the same double,
 * booleans "true"/"false", arrays and objects (ARRAY, MAP, ROW) as
 * compact JSON.  *out is malloc'd.  0, or -1 on allocation failure. */
int trino_cell_text(const json_t *v, char **out);

/* The text of a Trino error for a message: errorName and message, cut to
 * fit; for errors that may quote data (anything but names-only errors
 * such as TABLE_NOT_FOUND or SYNTAX_ERROR) every quoted part is replaced
 * by '…'.  Writes into buf (always NUL-terminated). */
void trino_error_message(const json_t *error, char *buf, size_t len);

/* ---- names (names.c) ---- */

/* "name" with embedded '"' doubled.  malloc'd, NULL on allocation
 * failure. */
char *trino_quote_ident(const char *name);
/* The unquoted parts of an OpenMetadata FQN (a part holding '.' is
 * written "a.b", with '"' doubled inside).  New JSON array of strings, or
 * NULL when the FQN is malformed or on allocation failure. */
json_t *trino_fqn_split(const char *fqn);
/* The Trino catalog of a table FQN, from the `catalogs` option: the key
 * "service.database" (as the FQN writes them), else "service".  Borrowed
 * from c; NULL when neither key is mapped or the FQN is malformed. */
const char *trino_catalog_of(const trino_conf *c, const char *fqn);
/* "catalog"."schema"."table" of a table: the catalog from the FQN's
 * mapping, schema and table as given or else the FQN's third and last
 * parts.  malloc'd; NULL with errbuf naming the FQN and the `catalogs`
 * option when it is unmapped (or "out of memory"). */
char *trino_table_name(const trino_conf *c, const char *fqn, const char *schema,
                       const char *table, char *errbuf, size_t errlen);

#endif
