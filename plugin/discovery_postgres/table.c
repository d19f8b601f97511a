/*
 * One OpenMetadata-shaped table from the catalog rows: the table row, its
 * column rows and its constraint rows (found with cursors, the results
 * being sorted by table oid).
 */
#include "discovery.h"

#include <stdlib.h>
#include <string.h>

/* Result column indexes, in the order of the SELECT lists in catalog.c. */
enum { T_OID, T_SCHEMA, T_NAME, T_KIND, T_DESC, T_DB };
enum {
    C_OID,
    C_NUM,
    C_NAME,
    C_FORMAT,
    C_TYPNAME,
    C_TYPTYPE,
    C_TYPCAT,
    C_NOTNULL,
    C_DESC,
    C_TYPMOD,
    C_ELEM
};
enum { K_OID, K_TYPE, K_NAME, K_COLS, K_FSCHEMA, K_FTABLE, K_FCOLS };

static long long oid_at(const cs_host_api *h, const cs_sql_result *r, int row)
{
    const char *v = h->sql_value(r, row, 0);
    return v ? strtoll(v, NULL, 10) : -1;
}

/* Advances *cursor past rows of tables before `oid` (created between two
 * catalog queries) and returns whether the row at *cursor belongs to it. */
static int at_table(const cs_host_api *h, const cs_sql_result *r, int *cursor,
                    long long oid)
{
    int n = h->sql_nrows(r);
    while (*cursor < n && oid_at(h, r, *cursor) < oid)
        (*cursor)++;
    return *cursor < n && oid_at(h, r, *cursor) == oid;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

static const char *constraint_type(const char *contype)
{
    switch (contype ? contype[0] : 0) {
    case 'p':
        return "PRIMARY_KEY";
    case 'u':
        return "UNIQUE";
    default:
        return "FOREIGN_KEY";
    }
}

/* Parent columns of a foreign key as FQNs
 * <service>.<db>.<schema>.<table>.<col>. */
static json_t *referred_columns(const struct disc_names *names,
                                const char *schema, const char *table,
                                json_t *cols)
{
    char *db = disc_fqn_join(names->service, names->database);
    char *sc = db ? disc_fqn_join(db, schema) : NULL;
    char *tb = sc ? disc_fqn_join(sc, table) : NULL;
    json_t *out = tb ? json_array() : NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        char *f = out ? disc_fqn_join(tb, json_string_value(c)) : NULL;
        if (!f || json_array_append_new(out, json_string(f)) != 0) {
            json_decref(out);
            out = NULL;
        }
        free(f);
    }
    free(db);
    free(sc);
    free(tb);
    return out;
}

static json_t *one_constraint(const struct disc_results *r, int row,
                              const struct disc_names *names)
{
    const cs_host_api *h = r->host;
    const char *type =
        constraint_type(h->sql_value(r->constraints, row, K_TYPE));
    const char *cols = h->sql_value(r->constraints, row, K_COLS);
    json_t *c = json_pack("{s:s, s:o}", "constraintType", type, "columns",
                          cols ? json_loads(cols, 0, NULL) : json_array());
    if (!c || strcmp(type, "FOREIGN_KEY") != 0)
        return c;
    const char *fcols = h->sql_value(r->constraints, row, K_FCOLS);
    json_t *fc = fcols ? json_loads(fcols, 0, NULL) : json_array();
    json_t *ref =
        referred_columns(names, h->sql_value(r->constraints, row, K_FSCHEMA),
                         h->sql_value(r->constraints, row, K_FTABLE), fc);
    json_decref(fc);
    if (!ref || json_object_set_new(c, "referredColumns", ref) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *build_constraints(const struct disc_results *r, long long oid,
                                 struct disc_cursor *cur,
                                 const struct disc_names *names)
{
    json_t *arr = json_array();
    while (arr && at_table(r->host, r->constraints, &cur->con_row, oid)) {
        if (json_array_append_new(
                arr, one_constraint(r, cur->con_row, names)) != 0) {
            json_decref(arr);
            return NULL;
        }
        cur->con_row++;
    }
    return arr;
}

/* PRIMARY_KEY / UNIQUE when a one-column constraint covers `col`, else
 * NOT_NULL / NULL, as OpenMetadata's column `constraint`. */
static const char *column_constraint(const json_t *constraints, const char *col,
                                     int notnull)
{
    const char *best = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(constraints, i, c)
    {
        json_t *cols = json_object_get(c, "columns");
        const char *type =
            json_string_value(json_object_get(c, "constraintType"));
        if (json_array_size(cols) != 1 ||
            strcmp(json_string_value(json_array_get(cols, 0)), col) != 0)
            continue;
        if (strcmp(type, "PRIMARY_KEY") == 0)
            return type;
        if (strcmp(type, "UNIQUE") == 0)
            best = type;
    }
    return best ? best : notnull ? "NOT_NULL" : "NULL";
}

/* Length, precision and scale from the type modifier, where OpenMetadata
 * has a field for them.  OpenMetadata requires a length for CHAR and
 * VARCHAR; an unbounded one is reported as 1, as its own ingestion does. */
static int type_details(json_t *col, const char *om, const char *typname,
                        long typmod)
{
    int err = 0;
    if (strcmp(om, "VARCHAR") == 0 || strcmp(om, "CHAR") == 0)
        err = json_object_set_new(col, "dataLength",
                                  json_integer(typmod >= 4 ? typmod - 4 : 1));
    if (strcmp(typname, "numeric") == 0 && typmod >= 4) {
        long p = ((typmod - 4) >> 16) & 0xffff, s = (typmod - 4) & 0xffff;
        err = err || json_object_set_new(col, "precision", json_integer(p)) ||
              json_object_set_new(col, "scale", json_integer(s));
    }
    return err;
}

static json_t *one_column(const struct disc_results *r, int row,
                          const char *table_fqn, const json_t *constraints)
{
    const cs_host_api *h = r->host;
    const cs_sql_result *c = r->columns;
    const char *name = h->sql_value(c, row, C_NAME);
    const char *typname = h->sql_value(c, row, C_TYPNAME);
    const char *om = disc_om_type(typname, h->sql_value(c, row, C_TYPTYPE),
                                  h->sql_value(c, row, C_TYPCAT));
    const char *notnull = h->sql_value(c, row, C_NOTNULL);
    char *fqn = disc_fqn_join(table_fqn, name);
    json_t *col =
        fqn ? json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "name", name,
                        "fullyQualifiedName", fqn, "dataType", om,
                        "dataTypeDisplay", h->sql_value(c, row, C_FORMAT),
                        "ordinalPosition", atoi(h->sql_value(c, row, C_NUM)),
                        "constraint",
                        column_constraint(constraints, name,
                                          notnull && notnull[0] == 't'))
            : NULL;
    free(fqn);
    const char *elem = h->sql_value(c, row, C_ELEM);
    const char *typmod = h->sql_value(c, row, C_TYPMOD);
    if (!col || set_str(col, "description", h->sql_value(c, row, C_DESC)) ||
        (strcmp(om, "ARRAY") == 0 && elem &&
         set_str(col, "arrayDataType", disc_om_type(elem, "b", "X"))) ||
        type_details(col, om, typname ? typname : "",
                     typmod ? atol(typmod) : -1)) {
        json_decref(col);
        return NULL;
    }
    return col;
}

static json_t *build_columns(const struct disc_results *r, long long oid,
                             struct disc_cursor *cur, const char *table_fqn,
                             const json_t *constraints)
{
    json_t *arr = json_array();
    while (arr && at_table(r->host, r->columns, &cur->col_row, oid)) {
        if (json_array_append_new(arr, one_column(r, cur->col_row, table_fqn,
                                                  constraints)) != 0) {
            json_decref(arr);
            return NULL;
        }
        cur->col_row++;
    }
    return arr;
}

static const char *table_type(const char *relkind)
{
    switch (relkind ? relkind[0] : 'r') {
    case 'p':
        return "Partitioned";
    case 'v':
        return "View";
    case 'm':
        return "MaterializedView";
    default:
        return "Regular";
    }
}

/* The table's own fields plus its parents (schema, database, service). */
static json_t *table_shell(const struct disc_names *names, const char *schema,
                           const char *name, const char *fqn,
                           const char *relkind)
{
    char *db_fqn = disc_fqn_join(names->service, names->database);
    char *schema_fqn = db_fqn ? disc_fqn_join(db_fqn, schema) : NULL;
    json_t *t =
        schema_fqn
            ? json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s},"
                        " s:{s:s}, s:s}",
                        "name", name, "fullyQualifiedName", fqn, "tableType",
                        table_type(relkind), "databaseSchema", "name", schema,
                        "fullyQualifiedName", schema_fqn, "database", "name",
                        names->database, "fullyQualifiedName", db_fqn,
                        "service", "name", names->service, "serviceType",
                        "Postgres")
            : NULL;
    free(db_fqn);
    free(schema_fqn);
    return t;
}

json_t *disc_build_table(const struct disc_results *r, int row,
                         struct disc_cursor *cur,
                         const struct disc_names *names)
{
    const cs_host_api *h = r->host;
    long long oid = oid_at(h, r->tables, row);
    const char *schema = h->sql_value(r->tables, row, T_SCHEMA);
    const char *name = h->sql_value(r->tables, row, T_NAME);
    char *db_fqn = disc_fqn_join(names->service, names->database);
    char *schema_fqn = db_fqn ? disc_fqn_join(db_fqn, schema) : NULL;
    char *fqn = schema_fqn ? disc_fqn_join(schema_fqn, name) : NULL;
    json_t *t = fqn ? table_shell(names, schema, name, fqn,
                                  h->sql_value(r->tables, row, T_KIND))
                    : NULL;
    json_t *cons = build_constraints(r, oid, cur, names);
    json_t *cols = cons && t ? build_columns(r, oid, cur, fqn, cons) : NULL;
    /* json_object_set (not _new) so that cols and cons are released
     * exactly once below, whichever step failed. */
    int err = !t || !cons || !cols ||
              set_str(t, "description", h->sql_value(r->tables, row, T_DESC)) ||
              json_object_set(t, "columns", cols) ||
              json_object_set(t, "tableConstraints", cons);
    json_decref(cols);
    json_decref(cons);
    if (err) {
        json_decref(t);
        t = NULL;
    }
    free(db_fqn);
    free(schema_fqn);
    free(fqn);
    return t;
}
