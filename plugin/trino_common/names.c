/*
 * From an OpenMetadata table FQN (service.database.schema.table) to the
 * Trino name "catalog"."schema"."table".  OpenMetadata knows services and
 * databases, Trino knows catalogs: the operator says which catalog serves
 * which service or database in the `catalogs` option.
 */
#include "trino.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See trino.h. */
char *trino_quote_ident(const char *name)
{
    size_t n = strlen(name), q = 0;
    for (size_t i = 0; i < n; i++)
        q += name[i] == '"';
    char *out = malloc(n + q + 3), *w = out;
    if (!out)
        return NULL;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"')
            *w++ = '"';
        *w++ = name[i];
    }
    *w++ = '"';
    *w = '\0';
    return out;
}

/* Where the part starting at p ends (at '.' or '\0'); NULL if a quoted
 * part is not closed or is followed by anything but '.' or the end. */
static const char *part_end(const char *p)
{
    if (*p != '"')
        return p + strcspn(p, ".");
    for (p++; *p; p++) {
        if (*p == '"' && p[1] == '"')
            p++; /* a doubled quote */
        else if (*p == '"')
            return p[1] == '.' || p[1] == '\0' ? p + 1 : NULL;
    }
    return NULL;
}

/* The unquoted text of the part [b, e). */
static json_t *part_value(const char *b, const char *e)
{
    if (e == b)
        return NULL;
    if (*b != '"')
        return json_stringn(b, (size_t)(e - b));
    char *buf = malloc((size_t)(e - b)), *o = buf;
    if (!buf)
        return NULL;
    for (const char *p = b + 1; p < e - 1; p++) {
        *o++ = *p;
        if (*p == '"')
            p++; /* keep one of a doubled quote */
    }
    json_t *v = o > buf ? json_stringn(buf, (size_t)(o - buf)) : NULL;
    free(buf);
    return v;
}

/* See trino.h. */
json_t *trino_fqn_split(const char *fqn)
{
    json_t *parts = fqn && *fqn ? json_array() : NULL;
    for (const char *p = fqn; parts;) {
        const char *e = part_end(p);
        json_t *v = e ? part_value(p, e) : NULL;
        if (!v || json_array_append_new(parts, v) != 0) {
            json_decref(parts);
            return NULL;
        }
        if (*e == '\0')
            break;
        p = e + 1;
    }
    return parts;
}

/* The length of the FQN's first `n` parts as written (quotes kept). */
static size_t prefix_len(const char *fqn, int n)
{
    const char *p = fqn;
    for (int i = 0; i < n; i++) {
        const char *e = part_end(p);
        if (!e)
            return 0;
        if (i == n - 1 || *e == '\0')
            return (size_t)(e - fqn);
        p = e + 1;
    }
    return 0;
}

static const char *lookup(const json_t *map, const char *key, size_t n)
{
    if (n == 0)
        return NULL;
    char *k = strndup(key, n);
    const char *v = k ? json_string_value(json_object_get(map, k)) : NULL;
    free(k);
    return v;
}

/* See trino.h.  A database-level key wins over its service's key, so one
 * service may spread over several catalogs. */
const char *trino_catalog_of(const trino_conf *c, const char *fqn)
{
    json_t *parts = trino_fqn_split(fqn);
    size_t nparts = json_array_size(parts);
    json_decref(parts);
    if (nparts < 2 || !c->catalogs)
        return NULL;
    const char *cat = lookup(c->catalogs, fqn, prefix_len(fqn, 2));
    return cat ? cat : lookup(c->catalogs, fqn, prefix_len(fqn, 1));
}

static char *join3(const char *cat, const char *schema, const char *table)
{
    char *q[3] = {trino_quote_ident(cat), trino_quote_ident(schema),
                  trino_quote_ident(table)};
    char *out = NULL;
    if (q[0] && q[1] && q[2] &&
        asprintf(&out, "%s.%s.%s", q[0], q[1], q[2]) < 0)
        out = NULL;
    for (int i = 0; i < 3; i++)
        free(q[i]);
    return out;
}

/* See trino.h. */
char *trino_table_name(const trino_conf *c, const char *fqn, const char *schema,
                       const char *table, char *errbuf, size_t errlen)
{
    json_t *parts = trino_fqn_split(fqn);
    size_t n = json_array_size(parts);
    const char *cat = trino_catalog_of(c, fqn);
    if (!schema && n >= 4)
        schema = json_string_value(json_array_get(parts, 2));
    if (!table && n >= 3)
        table = json_string_value(json_array_get(parts, n - 1));
    char *out = NULL;
    if (!cat)
        snprintf(errbuf, errlen,
                 "table %s: no Trino catalog for it in the option `catalogs` "
                 "(add its \"service.database\" or \"service\" as a key)",
                 fqn ? fqn : "(no FQN)");
    else if (!schema || !table)
        snprintf(errbuf, errlen,
                 "table %s: the FQN is not service.database.schema.table", fqn);
    else if (!(out = join3(cat, schema, table)))
        snprintf(errbuf, errlen, "table %s: out of memory", fqn);
    json_decref(parts);
    return out;
}
