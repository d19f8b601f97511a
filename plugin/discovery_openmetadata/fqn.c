/*
 * OpenMetadata FQNs and the service/database/schema filters: parsing the
 * options, checking a table against them, and the same filters as a
 * search query_filter.
 */
#include "dom.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One part starting at *p: a quoted part ends at its closing quote ("" is
 * an escaped quote), a plain one at the next dot. */
static json_t *next_part(const char **p)
{
    const char *s = *p;
    size_t n = strlen(s);
    char *buf = malloc(n + 1), *o = buf;
    if (!buf)
        return NULL;
    if (*s == '"') {
        for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
            if (*s == '"')
                s++; /* the first of a doubled quote */
            *o++ = *s;
        }
        if (*s != '"' || (s[1] != '.' && s[1] != '\0')) {
            free(buf);
            return NULL;
        }
        s++;
    } else {
        while (*s && *s != '.')
            *o++ = *s++;
    }
    *o = '\0';
    *p = s;
    json_t *j = o > buf ? json_string(buf) : NULL;
    free(buf);
    return j;
}

json_t *dom_fqn_split(const char *fqn)
{
    json_t *parts = fqn && *fqn ? json_array() : NULL;
    const char *p = fqn;
    while (parts) {
        json_t *part = next_part(&p);
        if (!part || json_array_append_new(parts, part) != 0) {
            json_decref(parts);
            return NULL;
        }
        if (*p == '\0')
            break;
        p++; /* the dot */
        if (*p == '\0') {
            json_decref(parts);
            return NULL;
        }
    }
    return parts;
}

static const char *const level_name[DOM_LEVELS] = {"service", "database",
                                                   "schema"};

int dom_filters_parse(struct dom_state *s, cs_ctx *ctx, const char *key,
                      int level)
{
    const cs_host_api *h = s->host;
    json_t *list = json_object_get(s->host->config(ctx), key);
    s->filters[level] = json_array();
    if (!s->filters[level])
        return CS_ERR_NOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        json_t *parts = dom_fqn_split(json_string_value(v));
        if (!parts || json_array_size(parts) > (size_t)level + 1) {
            json_decref(parts);
            h->set_error(ctx,
                         "config.%s[%zu]: expected a %s name or a dotted "
                         "path of at most %d parts ending at the %s (e.g. "
                         "%s)",
                         key, i, level_name[level], level + 1,
                         level_name[level],
                         level == DOM_SCHEMA ? "\"bank\" or \"pg.demo.bank\""
                         : level == DOM_DATABASE ? "\"demo\" or \"pg.demo\""
                                                 : "\"pg\"");
            return CS_ERR_INVALID;
        }
        if (json_array_append_new(s->filters[level], parts) != 0)
            return CS_ERR_NOMEM;
    }
    return CS_OK;
}

/* An entry of k parts names the last k components of the table's path
 * down to `level` (service = 0).  Case-insensitive, as the search index
 * compares names: both checks must agree or every run would fall back. */
static bool entry_matches(const json_t *entry, const json_t *parts, int level)
{
    size_t k = json_array_size(entry);
    for (size_t i = 0; i < k; i++) {
        const char *want = json_string_value(json_array_get(entry, i));
        const char *got =
            json_string_value(json_array_get(parts, (size_t)level + 1 - k + i));
        if (!got || strcasecmp(want, got) != 0)
            return false;
    }
    return true;
}

bool dom_in_filters(const struct dom_state *s, const json_t *parts)
{
    if (json_array_size(parts) < DOM_LEVELS + 1)
        return false;
    for (int level = 0; level < DOM_LEVELS; level++) {
        const json_t *list = s->filters[level];
        bool any = json_array_size(list) == 0;
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) any =
            any || entry_matches(e, parts, level);
        if (!any)
            return false;
    }
    return true;
}

/* Case-insensitive like the search index's prefix exclusions. */
static bool glob_matches(const char *glob, const char *text)
{
    char pat[512];
    snprintf(pat, sizeof pat, "%s", glob);
    for (char *c = pat; *c; c++)
        if (*c == '%')
            *c = '*';
    return fnmatch(pat, text, FNM_CASEFOLD) == 0;
}

bool dom_excluded(const struct dom_state *s, const json_t *parts,
                  const char *fqn)
{
    size_t n = json_array_size(parts);
    const char *table = json_string_value(json_array_get(parts, n - 1));
    const char *schema = json_string_value(json_array_get(parts, n - 2));
    char qualified[1024];
    snprintf(qualified, sizeof qualified, "%s.%s", schema ? schema : "",
             table ? table : "");
    size_t i;
    json_t *g;
    json_array_foreach(s->exclude, i, g)
    {
        const char *glob = json_string_value(g);
        if (glob && ((table && glob_matches(glob, table)) ||
                     glob_matches(glob, qualified) || glob_matches(glob, fqn)))
            return true;
    }
    return false;
}

/* ---- the query_filter ------------------------------------------------- */

static const char *const level_field[DOM_LEVELS] = {
    "service.name", "database.name", "databaseSchema.name"};

/* {"term": {field: part}} for each part of an entry, in a bool filter
 * when there are several. */
static json_t *entry_query(const json_t *entry, int level)
{
    size_t k = json_array_size(entry);
    json_t *terms = json_array();
    for (size_t i = 0; terms && i < k; i++) {
        json_t *t = json_pack("{s:{s:O}}", "term",
                              level_field[(size_t)level + 1 - k + i],
                              json_array_get(entry, i));
        if (!t || json_array_append_new(terms, t) != 0) {
            json_decref(terms);
            return NULL;
        }
    }
    if (k == 1) {
        json_t *only = json_incref(json_array_get(terms, 0));
        json_decref(terms);
        return only;
    }
    return terms ? json_pack("{s:{s:o}}", "bool", "filter", terms) : NULL;
}

/* One clause per level: the entry itself, or a bool should of entries. */
static json_t *level_query(const json_t *list, int level)
{
    if (json_array_size(list) == 1)
        return entry_query(json_array_get(list, 0), level);
    json_t *should = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (should && json_array_append_new(should, entry_query(e, level))) {
            json_decref(should);
            should = NULL;
        }
    }
    return should ? json_pack("{s:{s:o, s:i}}", "bool", "should", should,
                              "minimum_should_match", 1)
                  : NULL;
}

/* The prefix of a glob that is only `prefix*` (or `prefix%`) on the table
 * name, else NULL: other globs have no exact search equivalent and are
 * applied here only.  malloc'd. */
static char *plain_prefix(const char *glob)
{
    size_t n = glob ? strlen(glob) : 0;
    if (n < 2 || (glob[n - 1] != '*' && glob[n - 1] != '%'))
        return NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (strchr("*?[]%\\.", glob[i]))
            return NULL;
    return strndup(glob, n - 1);
}

/* must_not prefix clauses on name.keyword for the plain-prefix globs. */
static json_t *exclusions(const struct dom_state *s)
{
    json_t *out = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(s->exclude, i, g)
    {
        char *prefix = plain_prefix(json_string_value(g));
        if (out && prefix &&
            json_array_append_new(out, json_pack("{s:{s:s}}", "prefix",
                                                 "name.keyword", prefix))) {
            json_decref(out);
            out = NULL;
        }
        free(prefix);
    }
    return out;
}

/* {"bool": {"filter": [...], "must_not": [...]}}, both stolen. */
static json_t *bool_query(json_t *filter, json_t * not )
{
    json_t *b = filter && not ? json_pack("{s:O}", "filter", filter) : NULL;
    if (b && json_array_size(not ) > 0 &&
        json_object_set(b, "must_not", not ) != 0) {
        json_decref(b);
        b = NULL;
    }
    json_decref(filter);
    json_decref(not );
    return b ? json_pack("{s:{s:o}}", "query", "bool", b) : NULL;
}

char *dom_query_filter(const struct dom_state *s, long long window)
{
    json_t *filter = json_pack("[{s:{s:{s:I}}}]", "range", "updatedAt", "gte",
                               (json_int_t)window);
    for (int level = 0; filter && level < DOM_LEVELS; level++) {
        if (json_array_size(s->filters[level]) == 0)
            continue;
        if (json_array_append_new(filter,
                                  level_query(s->filters[level], level))) {
            json_decref(filter);
            filter = NULL;
        }
    }
    json_t *q = bool_query(filter, exclusions(s));
    char *text = q ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(q);
    return text;
}
