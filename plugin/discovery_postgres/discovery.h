/* Internal interfaces of the discovery_postgres pass. */
#ifndef DISCOVERY_POSTGRES_H
#define DISCOVERY_POSTGRES_H

#include <catalog_sync/pass.h>
#include <stdbool.h>
#include <stdint.h>

/* What a table's JSON needs besides the catalog rows. */
struct disc_names {
    const char *service;
    const char *database;
    const char *connection;
};

/* The three catalog query results, each sorted by table oid. */
struct disc_results {
    const cs_host_api *host;
    cs_sql_result *tables, *columns, *constraints;
};

/* A cursor into the columns and constraints results. */
struct disc_cursor {
    int col_row, con_row;
};

/* catalog.c: runs the three catalog queries over `connection`.
 * Returns CS_OK or the host's error (after host->set_error). */
int disc_query_catalog(const cs_host_api *host, cs_ctx *ctx,
                       const char *connection, const char *schemas_json,
                       const char *exclude_schemas_json, bool include_views,
                       struct disc_results *out);
void disc_results_free(struct disc_results *r);

/* table.c: the OpenMetadata-shaped table of row `row` of the tables
 * result, consuming its columns and constraints at *cur.  New reference,
 * NULL on allocation failure. */
json_t *disc_build_table(const struct disc_results *r, int row,
                         struct disc_cursor *cur,
                         const struct disc_names *names);

/* typemap.c: OpenMetadata dataType of a Postgres type (typname after
 * domain resolution, typtype, typcategory). */
const char *disc_om_type(const char *typname, const char *typtype,
                         const char *typcategory);

/* fqn.c: appends `name` to the FQN `prefix` ("a.b" + "c" -> "a.b.c"),
 * quoting it as OpenMetadata does when it holds a '.' or '"'.  prefix may
 * be NULL.  malloc'd, NULL on allocation failure. */
char *disc_fqn_join(const char *prefix, const char *name);

/* hash.c: the definition hash, FNV-1a 64 over the canonical JSON text
 * (sorted keys, compact) of the table; 16 hex digits + NUL into out.
 * Returns 0 or -1 on allocation failure. */
int disc_definition_hash(const json_t *table, char out[17]);

#endif
