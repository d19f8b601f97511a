"""Registers a Postgres database's tables in the fake OpenMetadata, the way
OpenMetadata's own Postgres ingestion would: one CreateTable per table, FQN
<service>.<database>.<schema>.<table>, column types mapped to the dataType
enum, primary keys and unique constraints as tableConstraints and column
constraints.  Foreign keys are left out on purpose: finding them is
catalog-sync's job.

    register_demo(om, dsn, service="demo_pg", database="demo")

Only the catalog is read (information_schema, plus format_type and the
comments from pg_catalog); never a row of data.
"""
import psycopg2

# udt_name -> OpenMetadata ColumnDataType (same table as discovery_postgres).
TYPES = {
    "int2": "SMALLINT", "int4": "INT", "int8": "BIGINT", "oid": "BIGINT",
    "numeric": "NUMERIC", "float4": "FLOAT", "float8": "DOUBLE", "money": "MONEY",
    "bool": "BOOLEAN", "varchar": "VARCHAR", "bpchar": "CHAR", "char": "CHAR",
    "name": "VARCHAR", "text": "TEXT", "citext": "TEXT", "date": "DATE",
    "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPZ", "time": "TIME", "timetz": "TIME",
    "interval": "INTERVAL", "uuid": "UUID", "json": "JSON", "jsonb": "JSON", "bytea": "BYTEA",
    "inet": "INET", "cidr": "CIDR", "macaddr": "MACADDR", "macaddr8": "MACADDR", "xml": "XML",
    "bit": "BIT", "varbit": "BIT", "tsvector": "TSVECTOR", "tsquery": "TSQUERY",
    "point": "POINT", "polygon": "POLYGON", "pg_lsn": "PG_LSN",
}

_TABLES = """
select t.table_schema, t.table_name, t.table_type,
       obj_description(format('%%I.%%I', t.table_schema, t.table_name)::regclass, 'pg_class')
  from information_schema.tables t
 where t.table_schema = any(%s) and t.table_type = any(%s)
 order by 1, 2"""

_COLUMNS = """
select c.table_schema, c.table_name, c.column_name, c.ordinal_position, c.data_type,
       c.udt_name, c.character_maximum_length, c.numeric_precision, c.numeric_scale,
       c.is_nullable = 'YES',
       (select format_type(a.atttypid, a.atttypmod) from pg_attribute a
         where a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass
           and a.attname = c.column_name),
       col_description(format('%%I.%%I', c.table_schema, c.table_name)::regclass,
                       c.ordinal_position::int)
  from information_schema.columns c
 where c.table_schema = any(%s)
 order by c.table_schema, c.table_name, c.ordinal_position"""

_KEYS = """
select tc.table_schema, tc.table_name, tc.constraint_name, tc.constraint_type,
       array_agg(k.column_name::text order by k.ordinal_position)
  from information_schema.table_constraints tc
  join information_schema.key_column_usage k
    on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name
   and k.table_schema = tc.table_schema and k.table_name = tc.table_name
 where tc.table_schema = any(%s) and tc.constraint_type in ('PRIMARY KEY', 'UNIQUE')
 group by 1, 2, 3, 4
 order by 1, 2, 4, 3"""


def column_type(data_type, udt_name, length, precision, scale):
    """The dataType-related members of an OpenMetadata column."""
    if data_type == "ARRAY":
        return {"dataType": "ARRAY", "arrayDataType": TYPES.get(udt_name.lstrip("_"), "UNKNOWN")}
    if data_type == "USER-DEFINED" and udt_name not in TYPES:
        return {"dataType": "ENUM"}
    out = {"dataType": TYPES.get(udt_name, "UNKNOWN")}
    if out["dataType"] in ("VARCHAR", "CHAR"):
        out["dataLength"] = length or 1  # OpenMetadata requires one; unbounded -> 1
    if udt_name == "numeric" and precision is not None:
        out.update(precision=precision, scale=scale or 0)
    return out


def _column(row, keys, descriptions):
    (_, _, name, pos, data_type, udt, length, prec, scale, nullable, display, comment) = row
    col = {"name": name, "dataTypeDisplay": display, "ordinalPosition": pos}
    col.update(column_type(data_type, udt, length, prec, scale))
    single = {kind for kind, cols in keys if cols == [name]}
    col["constraint"] = ("PRIMARY_KEY" if "PRIMARY KEY" in single else
                         "UNIQUE" if "UNIQUE" in single else
                         "NULL" if nullable else "NOT_NULL")
    if descriptions and comment:
        col["description"] = comment
    return col


def read_catalog(pg_dsn, schemas, include_views=False):
    """{(schema, table): (table_type, comment, [column rows], [(kind, [cols])])}."""
    kinds = ["BASE TABLE", "VIEW"] if include_views else ["BASE TABLE"]
    conn = psycopg2.connect(pg_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(_TABLES, (list(schemas), kinds))
            out = {(s, t): (kind, comment, [], []) for s, t, kind, comment in cur.fetchall()}
            cur.execute(_COLUMNS, (list(schemas),))
            for row in cur.fetchall():
                if (row[0], row[1]) in out:
                    out[(row[0], row[1])][2].append(row)
            cur.execute(_KEYS, (list(schemas),))
            for s, t, _, kind, cols in cur.fetchall():
                if (s, t) in out:
                    out[(s, t)][3].append((kind, list(cols)))
    finally:
        conn.close()
    return out


def create_tables(catalog, service, database, descriptions=False):
    """CreateTable bodies for what read_catalog() returned."""
    out = []
    for (schema, table), (kind, comment, rows, keys) in sorted(catalog.items()):
        body = {"name": table, "databaseSchema": f"{service}.{database}.{schema}",
                "tableType": "View" if kind == "VIEW" else "Regular",
                "columns": [_column(r, keys, descriptions) for r in rows]}
        constraints = [{"constraintType": "PRIMARY_KEY" if k == "PRIMARY KEY" else "UNIQUE",
                        "columns": cols} for k, cols in keys]
        if constraints:
            body["tableConstraints"] = constraints
        if descriptions and comment:
            body["description"] = comment
        out.append(body)
    return out


def register_demo(om, pg_dsn, service="demo_pg", database="demo", schemas=("bank", "shop"),
                  descriptions=False, include_views=False):
    """Registers every table of `schemas` in the fake `om`; returns the Tables.

    descriptions=True also copies table and column comments into the
    descriptions (as OpenMetadata's ingestion does); by default the tables
    arrive undescribed, which is the state catalog-sync exists to fix."""
    catalog = read_catalog(pg_dsn, schemas, include_views)
    return [om.put_table(b) for b in create_tables(catalog, service, database, descriptions)]
