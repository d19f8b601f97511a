/* Postgres types -> OpenMetadata ColumnDataType (entity/data/table.json). */
#include "discovery.h"

#include <string.h>

struct om_type {
    const char *pg;
    const char *om;
};

static const struct om_type types[] = {{"int2", "SMALLINT"},
                                       {"int4", "INT"},
                                       {"int8", "BIGINT"},
                                       {"oid", "BIGINT"},
                                       {"numeric", "NUMERIC"},
                                       {"float4", "FLOAT"},
                                       {"float8", "DOUBLE"},
                                       {"money", "MONEY"},
                                       {"bool", "BOOLEAN"},
                                       {"varchar", "VARCHAR"},
                                       {"bpchar", "CHAR"},
                                       {"char", "CHAR"},
                                       {"name", "VARCHAR"},
                                       {"text", "TEXT"},
                                       {"citext", "TEXT"},
                                       {"date", "DATE"},
                                       {"timestamp", "TIMESTAMP"},
                                       {"timestamptz", "TIMESTAMPZ"},
                                       {"time", "TIME"},
                                       {"timetz", "TIME"},
                                       {"interval", "INTERVAL"},
                                       {"uuid", "UUID"},
                                       {"json", "JSON"},
                                       {"jsonb", "JSON"},
                                       {"bytea", "BYTEA"},
                                       {"inet", "INET"},
                                       {"cidr", "CIDR"},
                                       {"macaddr", "MACADDR"},
                                       {"macaddr8", "MACADDR"},
                                       {"xml", "XML"},
                                       {"bit", "BIT"},
                                       {"varbit", "BIT"},
                                       {"tsvector", "TSVECTOR"},
                                       {"tsquery", "TSQUERY"},
                                       {"point", "POINT"},
                                       {"polygon", "POLYGON"},
                                       {"pg_lsn", "PG_LSN"},
                                       {"pg_snapshot", "PG_SNAPSHOT"},
                                       {"txid_snapshot", "TXID_SNAPSHOT"},
                                       {"geometry", "GEOMETRY"},
                                       {"geography", "GEOGRAPHY"},
                                       {NULL, NULL}};

const char *disc_om_type(const char *typname, const char *typtype,
                         const char *typcategory)
{
    if (typcategory && typcategory[0] == 'A')
        return "ARRAY";
    if (typtype && typtype[0] == 'e')
        return "ENUM";
    if (typtype && typtype[0] == 'c')
        return "STRUCT";
    for (const struct om_type *t = types; typname && t->pg; t++)
        if (strcmp(t->pg, typname) == 0)
            return t->om;
    return "UNKNOWN";
}
