/*
 * Engine type names -> coarse type classes.  The class decides what the
 * non-raw profile may show (min/max only for numbers and time), so an
 * unknown type must land in a class that shows nothing readable.
 */
#include "profile_common.h"

#include <ctype.h>
#include <string.h>

struct type_name {
    const char *name;
    prof_type_class cls;
};

/* Exact names (Postgres typname and Trino base names). */
static const struct type_name exact[] = {{"int2", PROF_INTEGER},
                                         {"int4", PROF_INTEGER},
                                         {"int8", PROF_INTEGER},
                                         {"smallint", PROF_INTEGER},
                                         {"integer", PROF_INTEGER},
                                         {"int", PROF_INTEGER},
                                         {"bigint", PROF_INTEGER},
                                         {"tinyint", PROF_INTEGER},
                                         {"oid", PROF_INTEGER},
                                         {"numeric", PROF_DECIMAL},
                                         {"decimal", PROF_DECIMAL},
                                         {"float4", PROF_DECIMAL},
                                         {"float8", PROF_DECIMAL},
                                         {"real", PROF_DECIMAL},
                                         {"double", PROF_DECIMAL},
                                         {"double precision", PROF_DECIMAL},
                                         {"bool", PROF_BOOLEAN},
                                         {"boolean", PROF_BOOLEAN},
                                         {"date", PROF_TEMPORAL},
                                         {"time", PROF_TEMPORAL},
                                         {"timetz", PROF_TEMPORAL},
                                         {"timestamp", PROF_TEMPORAL},
                                         {"timestamptz", PROF_TEMPORAL},
                                         {"uuid", PROF_UUID},
                                         {"json", PROF_JSON},
                                         {"jsonb", PROF_JSON},
                                         {"bytea", PROF_BINARY},
                                         {"varbinary", PROF_BINARY},
                                         {"text", PROF_TEXT},
                                         {"varchar", PROF_TEXT},
                                         {"bpchar", PROF_TEXT},
                                         {"char", PROF_TEXT},
                                         {"name", PROF_TEXT},
                                         {"citext", PROF_TEXT},
                                         {"character varying", PROF_TEXT},
                                         {"character", PROF_TEXT},
                                         {NULL, PROF_OTHER}};

/* Parameterised names: compare the part before '(' or ' '. */
static prof_type_class by_base_name(const char *t)
{
    size_t n = strcspn(t, "( ");
    for (const struct type_name *e = exact; e->name; e++)
        if (strlen(e->name) == n && strncmp(e->name, t, n) == 0)
            return e->cls;
    return PROF_OTHER;
}

prof_type_class prof_type_class_of(const char *engine_type)
{
    if (engine_type == NULL || engine_type[0] == '\0')
        return PROF_OTHER;
    char low[64];
    size_t i = 0;
    for (; engine_type[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)engine_type[i]);
    low[i] = '\0';
    /* Postgres array types are "_elem"; Trino's are "array(...)". */
    if (low[0] == '_' || strncmp(low, "array", 5) == 0)
        return PROF_OTHER;
    for (const struct type_name *e = exact; e->name; e++)
        if (strcmp(e->name, low) == 0)
            return e->cls;
    return by_base_name(low);
}

const char *prof_type_class_name(prof_type_class c)
{
    static const char *const names[] = {"text",    "integer",  "decimal",
                                        "boolean", "temporal", "uuid",
                                        "json",    "binary",   "other"};
    if ((unsigned)c > PROF_OTHER)
        return "other";
    return names[c];
}

int prof_type_class_has_range(prof_type_class c)
{
    return c == PROF_INTEGER || c == PROF_DECIMAL || c == PROF_TEMPORAL;
}
