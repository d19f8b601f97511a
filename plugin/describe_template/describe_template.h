/*
 * describe_template: internal interface between the pass (options, output),
 * the table and column sentences, and the sentence toolkit (buffers, word
 * limit, numbers, FQN parts).  Everything here is pure and thread-safe.
 */
#ifndef DESCRIBE_TEMPLATE_H
#define DESCRIBE_TEMPLATE_H

#include <catalog_sync/pass.h>
#include <stdbool.h>
#include <stddef.h>

/* The aspects one entity is described from, all borrowed; any but `table`
 * may be NULL. */
struct dt_entity {
    const json_t *table, *profile, *pii, *fk, *lineage;
    int max_words;
};

/* A growing string; `oom` is sticky and every call is a no-op after it. */
struct dt_buf {
    char *s;
    size_t len, cap;
    bool oom;
};

void dt_buf_addn(struct dt_buf *b, const char *s, size_t n);
void dt_buf_add(struct dt_buf *b, const char *s);
void dt_buf_addf(struct dt_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Renders a sentence, without its final period, from its first `nparts`
 * optional parts (the mandatory head always). */
typedef void (*dt_render_fn)(const void *arg, size_t nparts, struct dt_buf *b);

/* The sentence with the most leading parts that fits in max_words words
 * (split on whitespace); if the head alone is longer, it is cut at a word
 * boundary.  Ends with one period.  malloc'd, NULL when out of memory. */
char *dt_fit(dt_render_fn render, const void *arg, size_t nparts,
             int max_words);
size_t dt_words(const char *s);

/* "3,000"-style grouping of n into out (at least 32 bytes). */
void dt_number(char *out, size_t size, long long n);
/* The k-th dot-separated part of an FQN counted from the end (1: the
 * last; double quotes protect dots), its length in *len; NULL when the FQN
 * has fewer parts.  Borrowed from fqn. */
const char *dt_fqn_part(const char *fqn, int k, size_t *len);
/* A non-empty string member of o, else NULL. */
const char *dt_str(const json_t *o, const char *key);
/* Appends "a, b and c" (at most `max` items, then "and N more <noun>[s]")
 * of the strings of `list`. */
void dt_list(struct dt_buf *b, const json_t *list, size_t max,
             const char *noun);

/* The reference of column `name` ("branches.id"): the first known or
 * confirmed fk edge, else the first declared foreign key.  malloc'd, NULL
 * when there is none (or out of memory: *oom set). */
char *dt_column_reference(const struct dt_entity *e, const char *name,
                          bool *oom);
/* Whether the pii aspect tags column `name` (status tagged or human). */
bool dt_pii_tagged(const struct dt_entity *e, const char *name);

/* The table's sentence; malloc'd, NULL when out of memory. */
char *dt_table_description(const struct dt_entity *e);
/* The sentence of column `col` (an element of table.columns[]); malloc'd,
 * NULL when out of memory. */
char *dt_column_description(const struct dt_entity *e, const json_t *col);

#endif
