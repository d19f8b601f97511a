/*
 * The checks an answer passes before any of it becomes a description:
 * valid JSON of the asked shape, at most max_words words, no echoed
 * placeholder (<EMAIL_1>: a masked value must not come back as text),
 * and more than the column's (or table's) name restated.  Each
 * description is judged on its own, so one bad column does not cost the
 * others.
 */
#include "describe_llm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t dl_words(const char *s)
{
    size_t n = 0;
    bool in = false;
    for (; s && *s; s++) {
        bool sp = isspace((unsigned char)*s);
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

/* `<` UPPER [UPPER_]* `_` digits `>`: mask's placeholder syntax. */
static bool has_placeholder(const char *s)
{
    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        const char *q = p + 1;
        if (!isupper((unsigned char)*q))
            continue;
        while (isupper((unsigned char)*q) || *q == '_')
            q++;
        if (q[-1] != '_' || !isdigit((unsigned char)*q))
            continue;
        while (isdigit((unsigned char)*q))
            q++;
        if (*q == '>')
            return true;
    }
    return false;
}

static bool stopword(const char *w)
{
    static const char *const stop[] = {
        "the",    "a",     "an",       "of",      "for",    "this",  "that",
        "is",     "are",   "in",       "its",     "it",     "and",   "or",
        "to",     "s",     "by",       "with",    "column", "field", "value",
        "values", "table", "record",   "records", "row",    "rows",  "data",
        "stores", "holds", "contains", "each",    "per"};
    for (size_t i = 0; i < sizeof stop / sizeof *stop; i++)
        if (strcmp(w, stop[i]) == 0)
            return true;
    return false;
}

/* Lower-case alphanumeric words of s (camelCase split), plural "s"
 * dropped, appended to `out` as strings. */
static void words_of(const char *s, json_t *out)
{
    char w[128];
    size_t n = 0;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        bool boundary = !isalnum(c) ||
                        (isupper(c) && n > 0 && islower((unsigned char)p[-1]));
        if ((boundary || n + 1 >= sizeof w) && n > 0) {
            w[n] = '\0';
            if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's')
                w[n - 1] = '\0';
            json_array_append_new(out, json_string(w));
            n = 0;
        }
        if (!c)
            break;
        if (isalnum(c))
            w[n++] = (char)tolower(c);
    }
}

static bool contains(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* True when every word of `text` that says something is a word of the
 * names: "Customer email." for customers.email adds nothing. */
static bool restates(const char *text, const char *name, const char *table)
{
    json_t *tw = json_array(), *nw = json_array();
    words_of(text, tw);
    words_of(name, nw);
    if (table)
        words_of(table, nw);
    bool only_names = true;
    size_t i;
    json_t *v;
    json_array_foreach(tw, i, v)
    {
        const char *w = json_string_value(v);
        if (!stopword(w) && !contains(nw, w)) {
            only_names = false;
            break;
        }
    }
    json_decref(tw);
    json_decref(nw);
    return only_names;
}

const char *dl_reject_reason(const char *text, const char *name,
                             const char *table_name, long max_words, char *buf,
                             size_t buflen)
{
    size_t n = dl_words(text);
    if (n == 0)
        return "empty";
    if ((long)n > max_words) {
        snprintf(buf, buflen, "%zu words, more than %ld", n, max_words);
        return buf;
    }
    if (has_placeholder(text))
        return "repeats a masked-value placeholder";
    if (restates(text, name, table_name))
        return "only restates the name";
    return NULL;
}

void dl_verdict_clear(struct dl_verdict *v)
{
    json_decref(v->columns);
    json_decref(v->bad);
    free(v->table);
    memset(v, 0, sizeof *v);
}

static void judge(struct dl_verdict *v, const char *key, const char *text,
                  const char *name, const char *table, long max_words)
{
    char buf[96];
    const char *why =
        text ? dl_reject_reason(text, name, table, max_words, buf, sizeof buf)
             : "not answered";
    if (why)
        json_object_set_new(v->bad, key, json_string(why));
    else if (strcmp(key, "table") == 0 && !v->table)
        v->table = strdup(text);
    else if (strcmp(key, "table") != 0)
        json_object_set_new(v->columns, key, json_string(text));
}

/* The answer's text for column `name` (first row that names it). */
static const char *answered(const json_t *cols, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0)
            return json_string_value(json_object_get(c, "description"));
    }
    return NULL;
}

bool dl_check(const struct dl_job *j, const char *content, size_t first,
              size_t n, bool with_table, struct dl_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->columns = json_object();
    v->bad = json_object();
    json_t *doc = json_loads(content ? content : "", 0, NULL);
    const json_t *cols = json_object_get(doc, "columns");
    if (!json_is_object(doc) || !json_is_array(cols)) {
        json_object_set_new(v->bad, "*",
                            json_string("the answer is not the JSON object "
                                        "asked for"));
        json_decref(doc);
        return false;
    }
    const char *conf = json_string_value(json_object_get(doc, "confidence"));
    v->low = conf && strcmp(conf, "low") == 0;
    const char *tname = json_string_value(json_object_get(j->table, "name"));
    long max = j->s->o.max_words;
    if (with_table)
        judge(v, "table", json_string_value(json_object_get(doc, "table")),
              tname ? tname : "", NULL, max);
    for (size_t k = first; k < first + n; k++) {
        const char *c = json_string_value(json_array_get(j->ask, k));
        judge(v, c, answered(cols, c), c, tname, max);
    }
    json_decref(doc);
    return true;
}
