/*
 * The catalog queries: three per run whatever the number of tables
 * (tables, columns, constraints), each ordered by table oid so that
 * table.c can walk them together with cursors instead of one query per
 * table.  Parameters: $1 schemas to include (JSON array, [] = all),
 * $2 schemas to exclude (JSON array), $3 relkinds ("rp" or "rpvm").
 */
#include "discovery.h"

#include <string.h>

#define TABLES_CTE                                                             \
    "WITH t AS ("                                                              \
    " SELECT c.oid, n.nspname, c.relname, c.relkind"                           \
    " FROM pg_catalog.pg_class c"                                              \
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                \
    " WHERE strpos($3, c.relkind::text) > 0 AND NOT c.relispartition"          \
    "  AND n.nspname NOT IN ('pg_catalog', 'information_schema')"              \
    "  AND n.nspname NOT LIKE 'pg\\_%'"                                        \
    "  AND ($1::jsonb = '[]'::jsonb"                                           \
    "       OR n.nspname IN (SELECT jsonb_array_elements_text($1::jsonb)))"    \
    "  AND n.nspname NOT IN (SELECT jsonb_array_elements_text($2::jsonb)))"

/* Columns of the tables result, in this order (table.c reads by index). */
static const char tables_sql[] =
    "/* catalog-sync discovery: tables */ " TABLES_CTE
    " SELECT t.oid::text, t.nspname, t.relname, t.relkind::text,"
    "  d.description, current_database()"
    " FROM t LEFT JOIN pg_catalog.pg_description d"
    "  ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_class'::regclass"
    "  AND d.objsubid = 0"
    " ORDER BY t.oid";

/* Domains resolve to their base type; arrays name their element type. */
static const char columns_sql[] =
    "/* catalog-sync discovery: columns */ " TABLES_CTE
    " SELECT a.attrelid::text, a.attnum::text, a.attname,"
    "  pg_catalog.format_type(a.atttypid, a.atttypmod),"
    "  coalesce(bt.typname, ty.typname), coalesce(bt.typtype, "
    "ty.typtype)::text,"
    "  coalesce(bt.typcategory, ty.typcategory)::text, a.attnotnull::text,"
    "  d.description, a.atttypmod::text, et.typname"
    " FROM t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid"
    " JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"
    " LEFT JOIN pg_catalog.pg_type bt"
    "  ON ty.typtype = 'd' AND bt.oid = ty.typbasetype"
    " LEFT JOIN pg_catalog.pg_type et"
    "  ON et.oid = coalesce(bt.typelem, ty.typelem)"
    "  AND coalesce(bt.typcategory, ty.typcategory) = 'A'"
    " LEFT JOIN pg_catalog.pg_description d"
    "  ON d.objoid = a.attrelid AND d.classoid = "
    "'pg_catalog.pg_class'::regclass"
    "  AND d.objsubid = a.attnum"
    " WHERE a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attrelid, a.attnum";

#define KEY_NAMES(keys, rel)                                                   \
    "(SELECT json_agg(a.attname ORDER BY k.o)"                                 \
    "  FROM unnest(" keys ") WITH ORDINALITY AS k(n, o)"                       \
    "  JOIN pg_catalog.pg_attribute a"                                         \
    "   ON a.attrelid = " rel " AND a.attnum = k.n)::text"

static const char constraints_sql[] =
    "/* catalog-sync discovery: constraints */ " TABLES_CTE
    " SELECT con.conrelid::text, con.contype::text, con.conname,"
    "  " KEY_NAMES(
        "con.conkey",
        "con.conrelid") ","
                        "  fn.nspname, fc.relname,"
                        "  " KEY_NAMES(
                            "con.confkey",
                            "con.confrelid") " FROM t JOIN "
                                             "pg_catalog.pg_constraint con ON "
                                             "con.conrelid = t.oid"
                                             " LEFT JOIN pg_catalog.pg_class "
                                             "fc ON fc.oid = con.confrelid"
                                             " LEFT JOIN "
                                             "pg_catalog.pg_namespace fn ON "
                                             "fn.oid = fc.relnamespace"
                                             " WHERE con.contype IN ('p', 'u', "
                                             "'f')"
                                             " ORDER BY con.conrelid, "
                                             "con.contype, con.conname";

static int run(const cs_host_api *host, cs_ctx *ctx, const char *connection,
               const char *what, const char *sql, const char *const *params,
               cs_sql_result **out)
{
    int rc = host->sql_query(ctx, connection, sql, 3, params, out);
    if (rc != CS_OK)
        host->set_error(ctx, "connection %s: catalog query (%s) failed: %s",
                        connection, what, host->last_error(ctx));
    return rc;
}

int disc_query_catalog(const cs_host_api *host, cs_ctx *ctx,
                       const char *connection, const char *schemas_json,
                       const char *exclude_schemas_json, bool include_views,
                       struct disc_results *out)
{
    const char *params[3] = {schemas_json, exclude_schemas_json,
                             include_views ? "rpvm" : "rp"};
    memset(out, 0, sizeof *out);
    out->host = host;
    int rc =
        run(host, ctx, connection, "tables", tables_sql, params, &out->tables);
    if (rc == CS_OK)
        rc = run(host, ctx, connection, "columns", columns_sql, params,
                 &out->columns);
    if (rc == CS_OK)
        rc = run(host, ctx, connection, "constraints", constraints_sql, params,
                 &out->constraints);
    if (rc != CS_OK)
        disc_results_free(out);
    return rc;
}

void disc_results_free(struct disc_results *r)
{
    if (r->tables)
        r->host->sql_free(r->tables);
    if (r->columns)
        r->host->sql_free(r->columns);
    if (r->constraints)
        r->host->sql_free(r->constraints);
    r->tables = r->columns = r->constraints = NULL;
}
