/*
 * The table sentence: "Table <name> in schema <schema>: <size>; references
 * <tables>; personal data in <n> columns; derived from <tables>."  Clauses
 * are dropped from the end to fit the word limit, so the size stays longest.
 */
#include "describe_template.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 3 /* table names in one clause before "and N more" */
#define NCLAUSES 4

struct tparts {
    const char *name, *schema;
    size_t name_len, schema_len;
    struct dt_buf clause[NCLAUSES];
    size_t n;
};

/* An estimate is said with two significant digits: "about 3,000". */
static long long round2(long long n)
{
    long long p = 1;
    while (n / p >= 100)
        p *= 10;
    return (n + p / 2) / p * p;
}

static void size_clause(struct dt_buf *b, const struct dt_entity *e)
{
    json_t *rc = json_object_get(e->profile, "rowCount");
    const char *source = dt_str(e->profile, "rowCountSource");
    size_t ncols = json_array_size(json_object_get(e->table, "columns"));
    char num[32];
    if (json_is_number(rc) && json_number_value(rc) >= 0) {
        long long rows = (long long)(json_number_value(rc) + 0.5);
        bool exact = source && strcmp(source, "exact") == 0;
        bool atleast = source && strcmp(source, "lower_bound") == 0;
        long long shown = exact || atleast ? rows : round2(rows);
        dt_number(num, sizeof num, shown);
        dt_buf_addf(b, "%s%s row%s, ",
                    exact     ? ""
                    : atleast ? "at least "
                              : "about ",
                    num, shown == 1 ? "" : "s");
    }
    dt_number(num, sizeof num, (long long)ncols);
    dt_buf_addf(b, "%s column%s", num, ncols == 1 ? "" : "s");
}

/* Appends the k-th part from the end of fqn to set unless it is there. */
static int set_add(json_t *set, const char *fqn, int k)
{
    size_t len, i;
    const char *part = fqn ? dt_fqn_part(fqn, k, &len) : NULL;
    json_t *v;
    if (!part)
        return 0;
    json_array_foreach(set, i, v)
    {
        if (json_string_length(v) == len &&
            memcmp(json_string_value(v), part, len) == 0)
            return 0;
    }
    return json_array_append_new(set, json_stringn(part, len));
}

/* Referenced tables: found or declared foreign keys. */
static int referenced(json_t *set, const struct dt_entity *e)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(e->fk, "edges"), i, x)
    {
        const char *status = dt_str(x, "status");
        if (status &&
            (!strcmp(status, "known") || !strcmp(status, "confirmed")) &&
            set_add(set, dt_str(x, "toTable"), 1))
            return -1;
    }
    json_array_foreach(json_object_get(e->table, "tableConstraints"), i, x)
    {
        const char *type = dt_str(x, "constraintType");
        json_t *refs = json_object_get(x, "referredColumns");
        if (type && !strcmp(type, "FOREIGN_KEY") &&
            set_add(set, json_string_value(json_array_get(refs, 0)), 2))
            return -1;
    }
    return 0;
}

static int upstream(json_t *set, const struct dt_entity *e)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(e->lineage, "upstream"), i, x)
    {
        if (set_add(set, dt_str(x, "fqn"), 1))
            return -1;
    }
    return 0;
}

/* "<words> a, b and c" when the set is not empty. */
static int list_clause(struct tparts *p, const struct dt_entity *e,
                       int (*collect)(json_t *, const struct dt_entity *),
                       const char *words)
{
    json_t *set = json_array();
    if (!set || collect(set, e)) {
        json_decref(set);
        return -1;
    }
    if (json_array_size(set) > 0) {
        dt_buf_add(&p->clause[p->n], words);
        dt_list(&p->clause[p->n++], set, MAX_LISTED, "table");
    }
    json_decref(set);
    return 0;
}

static void pii_clause(struct tparts *p, const struct dt_entity *e)
{
    size_t i, n = 0;
    json_t *c;
    json_array_foreach(json_object_get(e->table, "columns"), i, c)
    {
        const char *name = dt_str(c, "name");
        n += name && dt_pii_tagged(e, name);
    }
    if (n > 0)
        dt_buf_addf(&p->clause[p->n++], "personal data in %zu column%s", n,
                    n == 1 ? "" : "s");
}

static void names(struct tparts *p, const struct dt_entity *e)
{
    const char *fqn = dt_str(e->table, "fullyQualifiedName");
    const json_t *sync = json_object_get(e->table, "catalogSync");
    p->name = dt_str(e->table, "name");
    p->name_len = p->name ? strlen(p->name) : 0;
    if (!p->name && fqn)
        p->name = dt_fqn_part(fqn, 1, &p->name_len);
    p->schema = dt_str(sync, "schema");
    p->schema_len = p->schema ? strlen(p->schema) : 0;
    if (!p->schema && fqn && dt_fqn_part(fqn, 3, &p->schema_len))
        p->schema = dt_fqn_part(fqn, 2, &p->schema_len);
}

static void render(const void *arg, size_t k, struct dt_buf *b)
{
    const struct tparts *p = arg;
    dt_buf_add(b, "Table");
    if (p->name)
        dt_buf_addf(b, " %.*s", (int)p->name_len, p->name);
    if (p->schema)
        dt_buf_addf(b, " in schema %.*s", (int)p->schema_len, p->schema);
    for (size_t i = 0; i < k; i++)
        dt_buf_addf(b, "%s%s", i == 0 ? ": " : "; ", p->clause[i].s);
}

/* See describe_template.h. */
char *dt_table_description(const struct dt_entity *e)
{
    struct tparts p = {0};
    char *out = NULL;
    names(&p, e);
    size_clause(&p.clause[p.n++], e);
    int err = list_clause(&p, e, referenced, "references ");
    if (!err)
        pii_clause(&p, e);
    err = err || list_clause(&p, e, upstream, "derived from ");
    for (size_t i = 0; i < p.n; i++)
        err = err || p.clause[i].oom;
    if (!err)
        out = dt_fit(render, &p, p.n, e->max_words);
    for (size_t i = 0; i < NCLAUSES; i++)
        free(p.clause[i].s);
    return out;
}
