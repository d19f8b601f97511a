/*
 * What describe_llm asks: the columns without a person's description,
 * and one prompt per chunk of them.  The context holds the schema, a
 * profile summary, at most sample_rows rows of the *masked* sample, the
 * FK edges and the upstream tables; values come only from `sample_masked`
 * (placeholders instead of PII), never from `profile` (whose min/max are
 * raw for dates and numbers) nor from a raw aspect.
 */
#include "describe_llm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SYSTEM[] =
    "You write descriptions for a data catalog. Each description is one "
    "short, factual sentence that tells an analyst what a table or column "
    "holds. Use only the facts you are given; do not invent business "
    "rules. Values like <EMAIL_1> or <PERSON_NAME_2> are placeholders for "
    "masked personal data: never repeat a placeholder, say what kind of "
    "data the column holds instead. Answer with JSON only.";

/* Every property the host's checker and the servers' grammars support:
 * type, required, properties, items, maxLength, enum. */
static const char SCHEMA[] =
    "{\"type\":\"object\",\"required\":[\"table\",\"columns\","
    "\"confidence\"],\"properties\":{\"table\":{\"type\":\"string\","
    "\"maxLength\":300},\"columns\":{\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"required\":[\"name\",\"description\"],"
    "\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":300},"
    "\"description\":{\"type\":\"string\",\"maxLength\":300}}}},"
    "\"confidence\":{\"type\":\"string\",\"enum\":[\"high\",\"low\"]}}}";

const char *dl_system(void)
{
    return SYSTEM;
}

const char *dl_schema(void)
{
    return SCHEMA;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* A description somebody already wrote: it is kept, never replaced. */
static bool described(const json_t *o)
{
    const char *d = str(o, "description");
    for (; d && *d; d++)
        if (*d != ' ' && *d != '\t' && *d != '\n' && *d != '\r')
            return true;
    return false;
}

int dl_choose(struct dl_job *j)
{
    j->ask = json_array();
    j->kept = json_array();
    if (!j->ask || !j->kept)
        return dl_fail(j, CS_ERR_NOMEM, "out of memory");
    j->ask_table = j->s->o.describe_table;
    if (j->ask_table && described(j->table)) {
        j->ask_table = false;
        json_array_append_new(j->kept, json_string("table"));
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j->table, "columns"), i, c)
    {
        const char *name = str(c, "name");
        if (!name)
            continue;
        if (described(c))
            json_array_append_new(j->kept, json_string(name));
        else if (j->s->o.describe_columns)
            json_array_append_new(j->ask, json_string(name));
    }
    return CS_OK;
}

/* Short name: "schema.table" from the table aspect. */
static void short_name(const json_t *t, char *buf, size_t n)
{
    const json_t *cs = json_object_get(t, "catalogSync");
    const char *schema = str(cs, "schema");
    const char *name = str(t, "name");
    if (!name)
        name = str(t, "fullyQualifiedName");
    if (schema)
        snprintf(buf, n, "%s.%s", schema, name ? name : "?");
    else
        snprintf(buf, n, "%s", name ? name : "?");
}

static bool in_list(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *x = json_string_value(v);
        if (x && strcmp(x, s) == 0)
            return true;
    }
    return false;
}

static bool primary_key(const json_t *t, const json_t *col, const char *name)
{
    const char *con = str(col, "constraint");
    if (con && strcmp(con, "PRIMARY_KEY") == 0)
        return true;
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(t, "tableConstraints"), i, tc)
    {
        const char *type = str(tc, "constraintType");
        if (type && strcmp(type, "PRIMARY_KEY") == 0 &&
            in_list(json_object_get(tc, "columns"), name))
            return true;
    }
    return false;
}

/* "bank.accounts.id" for an edge whose single child column is `name`. */
static json_t *references_of(const json_t *fk, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(fk, "edges"), i, e)
    {
        const json_t *from = json_object_get(e, "fromColumns");
        const char *to = str(e, "toTable");
        if (!to || !in_list(from, name))
            continue;
        const char *tc = json_string_value(
            json_array_get(json_object_get(e, "toColumns"), 0));
        return json_sprintf("%s.%s", to, tc ? tc : "?");
    }
    return NULL;
}

static const char *pii_entity(const json_t *pii, const char *name)
{
    const json_t *c = json_object_get(json_object_get(pii, "columns"), name);
    const char *status = str(c, "status");
    if (!status ||
        !(strcmp(status, "tagged") == 0 || strcmp(status, "human") == 0))
        return NULL;
    const char *e = str(c, "entity");
    return e ? e : "PII";
}

static double round2(double x)
{
    return round(x * 100.0) / 100.0;
}

/* Cuts a masked cell (free text can be long) on a UTF-8 boundary. */
static json_t *cell(const json_t *v)
{
    if (!json_is_string(v))
        return json_deep_copy(v);
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n <= DL_CELL_CHARS)
        return json_string(s);
    n = DL_CELL_CHARS;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return json_sprintf("%.*s...", (int)n, s);
}

/* Masked top values and range of a column, from sample_masked. */
static void add_masked_stats(json_t *o, const json_t *stats)
{
    const json_t *top = json_object_get(stats, "topValues");
    json_t *vals = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(top, i, t)
    {
        if (i >= 3)
            break;
        json_array_append_new(vals, cell(json_object_get(t, "value")));
    }
    if (json_array_size(vals) > 0)
        json_object_set_new(o, "frequentValues", vals);
    else
        json_decref(vals);
    const json_t *mn = json_object_get(stats, "min");
    const json_t *mx = json_object_get(stats, "max");
    if (mn && mx && !json_is_null(mn)) {
        json_object_set_new(o, "min", cell(mn));
        json_object_set_new(o, "max", cell(mx));
    }
}

static json_t *column_context(const struct dl_job *j, const json_t *col,
                              const char *name)
{
    const json_t *p =
        json_object_get(json_object_get(j->profile, "columns"), name);
    const char *type = str(col, "dataType");
    json_t *o = json_pack("{s:s, s:s?}", "name", name, "type",
                          type ? type : str(p, "dataType"));
    if (!o)
        return NULL;
    if (primary_key(j->table, col, name))
        json_object_set_new(o, "primaryKey", json_true());
    if (json_is_number(json_object_get(p, "nullFraction")))
        json_object_set_new(o, "nullFraction",
                            json_real(round2(json_number_value(
                                json_object_get(p, "nullFraction")))));
    if (json_is_integer(json_object_get(p, "distinctCount")))
        json_object_set(o, "distinctInSample",
                        json_object_get(p, "distinctCount"));
    const char *e = pii_entity(j->pii, name);
    if (e)
        json_object_set_new(o, "personalData", json_string(e));
    json_t *ref = references_of(j->fk, name);
    if (ref)
        json_object_set_new(o, "references", ref);
    add_masked_stats(
        o, json_object_get(json_object_get(j->masked, "columnsStats"), name));
    return o;
}

/* The masked rows, restricted to `names` (in the sample's order). */
static json_t *rows_context(const struct dl_job *j, const json_t *names)
{
    const json_t *cols = json_object_get(j->masked, "columns");
    json_t *header = json_array(), *rows = json_array();
    size_t keep[512], nk = 0, i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        const char *n = str(c, "name");
        if (n && in_list(names, n) && nk < sizeof keep / sizeof *keep) {
            keep[nk++] = i;
            json_array_append_new(header, json_string(n));
        }
    }
    size_t r;
    json_t *row;
    json_array_foreach(json_object_get(j->masked, "rows"), r, row)
    {
        if ((long)r >= j->s->o.sample_rows)
            break;
        json_t *out = json_array();
        for (size_t k = 0; k < nk; k++)
            json_array_append_new(out, cell(json_array_get(row, keep[k])));
        json_array_append_new(rows, out);
    }
    return json_pack("{s:o, s:o}", "header", header, "rows", rows);
}

static json_t *table_refs(const json_t *fk)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(fk, "edges"), i, e)
    {
        const char *to = str(e, "toTable");
        if (to && !in_list(out, to))
            json_array_append_new(out, json_string(to));
    }
    return out;
}

static json_t *upstream(const json_t *lineage)
{
    json_t *out = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(lineage, "upstream"), i, u)
    {
        const char *f =
            json_is_string(u) ? json_string_value(u) : str(u, "fqn");
        if (f)
            json_array_append_new(out, json_string(f));
    }
    return out;
}

static const json_t *table_column(const json_t *t, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(t, "columns"), i, c)
    {
        const char *n = str(c, "name");
        if (n && strcmp(n, name) == 0)
            return c;
    }
    return NULL;
}

static json_t *context(const struct dl_job *j, size_t first, size_t n,
                       bool with_table)
{
    char name[512];
    short_name(j->table, name, sizeof name);
    json_t *names = json_array(), *cols = json_array();
    for (size_t k = first; k < first + n; k++) {
        const char *c = json_string_value(json_array_get(j->ask, k));
        json_array_append_new(names, json_string(c));
        json_array_append_new(cols,
                              column_context(j, table_column(j->table, c), c));
    }
    json_t *ctx = json_pack(
        "{s:s, s:O?, s:o, s:o, s:o, s:o, s:o}", "table", name, "rowCount",
        json_object_get(j->profile, "rowCount"), "describe", names, "columns",
        cols, "sampleRows", rows_context(j, names), "references",
        table_refs(j->fk), "upstreamTables", upstream(j->lineage));
    if (ctx && with_table)
        json_object_set_new(ctx, "describeTable", json_true());
    if (ctx && described(j->table))
        json_object_set_new(ctx, "tableDescriptionByAPerson",
                            json_string(str(j->table, "description")));
    return ctx;
}

char *dl_prompt(const struct dl_job *j, size_t first, size_t n, bool with_table)
{
    json_t *ctx = context(j, first, n, with_table);
    char *facts =
        ctx ? json_dumps(ctx, JSON_COMPACT | JSON_REAL_PRECISION(4)) : NULL;
    json_decref(ctx);
    if (!facts)
        return NULL;
    char name[512];
    short_name(j->table, name, sizeof name);
    const struct dl_opts *o = &j->s->o;
    char *out = NULL;
    int len = asprintf(
        &out,
        "Table: %s\n"
        "Write, in %s, one factual sentence of at most %ld words %sfor "
        "each column listed in \"describe\" (answer \"columns\" with "
        "name and description). Say what the data is, from the facts "
        "below; do not just restate the column name and never repeat a "
        "placeholder such as <EMAIL_1>. Set \"confidence\" to \"low\" "
        "when the facts are not enough.%s\n"
        "Facts (JSON):\n%s\n",
        name, o->language, o->max_words,
        with_table ? "for the table (answer \"table\") and " : "",
        with_table ? "" : " Answer \"table\" with an empty string.", facts);
    free(facts);
    return len < 0 ? NULL : out;
}
