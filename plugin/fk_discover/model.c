/* Every known fingerprint as one array of fk_common column records. */
#include "fk_discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FQNs in byte order, so the output does not depend on the store's. */
static const char **sorted_fqns(json_t *all, size_t *n)
{
    const char **keys = malloc((json_object_size(all) + 1) * sizeof *keys);
    if (!keys)
        return NULL;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) keys[i++] = k;
    qsort(keys, i, sizeof *keys, cmp_str);
    *n = i;
    return keys;
}

static const char *str_field(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* Reads the table-level fields; 0, or -1 naming the missing field. */
static int table_from_fp(struct fkd_table *t, const char *fqn, const json_t *fp,
                         bool need_connection, char *err, size_t errlen)
{
    static const char *const need[] = {"connection", "schema", "table", NULL};
    for (int i = need_connection ? 0 : 1; need[i]; i++) {
        if (!str_field(fp, need[i])) {
            snprintf(err, errlen, "fingerprint of %s: no string `%s`", fqn,
                     need[i]);
            return -1;
        }
    }
    if (!json_is_object(json_object_get(fp, "columns"))) {
        snprintf(err, errlen, "fingerprint of %s: no object `columns`", fqn);
        return -1;
    }
    *t = (struct fkd_table){.fqn = fqn,
                            .connection = str_field(fp, "connection"),
                            .schema = str_field(fp, "schema"),
                            .name = str_field(fp, "table")};
    json_t *rc = json_object_get(fp, "rowCount");
    t->row_count = json_is_number(rc) ? json_number_value(rc) : -1.0;
    json_t *d = json_object_get(fp, "declaredForeignKeys");
    t->declared = json_is_array(d) ? d : NULL;
    return 0;
}

/* Appends the records of one table's columns; a column that does not
 * read is left out (logged): it simply takes part in no edge. */
static int add_columns(struct fkd_model *m, size_t ti, const json_t *fp,
                       const cs_host_api *h, cs_ctx *ctx)
{
    struct fkd_table *t = &m->tables[ti];
    json_t *cols = json_object_get(fp, "columns");
    json_t *sr = json_object_get(fp, "sampleRows");
    double sample_rows = json_is_number(sr) ? json_number_value(sr) : -1.0;
    t->first_col = m->ncols;
    const char *name;
    json_t *c;
    json_object_foreach(cols, name, c)
    {
        char err[256];
        fk_column *rec = &m->cols[m->ncols];
        if (fk_column_from_json(c, t->row_count, sample_rows, rec, err,
                                sizeof err) != 0) {
            h->log(ctx, CS_LOG_WARN, "fingerprint of %s, column %s: %s", t->fqn,
                   name, err);
            continue;
        }
        rec->table_id = (uint32_t)ti;
        m->col_names[m->ncols++] = name;
    }
    t->ncols = m->ncols - t->first_col;
    return 0;
}

static size_t count_columns(json_t *all)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) n +=
        json_object_size(json_object_get(v, "columns"));
    return n;
}

static void mark_run(struct fkd_model *m, const cs_host_api *h, cs_ctx *ctx)
{
    size_t n = h->batch_count(ctx);
    for (size_t i = 0; i < n; i++) {
        const char *fqn = h->batch_fqn(ctx, i);
        size_t t = fqn ? fkd_model_table(m, fqn) : (size_t)-1;
        if (t != (size_t)-1)
            m->tables[t].in_run = m->tables[t].in_scope = true;
    }
}

/* Builds the model; see fk_discover.h.  A table whose fingerprint lacks
 * its identity fields is skipped with a warning, not fatal: one broken
 * aspect must not stop discovery for every other table. */
int fkd_model_build(struct fkd_model *m, json_t *all, bool need_connection,
                    const cs_host_api *h, cs_ctx *ctx, char *err, size_t errlen)
{
    *m = (struct fkd_model){.all = all};
    size_t nfqn = 0, ncols = count_columns(all);
    const char **fqns = sorted_fqns(all, &nfqn);
    m->tables = calloc(nfqn + 1, sizeof *m->tables);
    m->cols = calloc(ncols + 1, sizeof *m->cols);
    m->col_names = calloc(ncols + 1, sizeof *m->col_names);
    if (!fqns || !m->tables || !m->cols || !m->col_names) {
        free(fqns);
        snprintf(err, errlen, "out of memory for %zu fingerprinted columns",
                 ncols);
        return -1;
    }
    for (size_t i = 0; i < nfqn; i++) {
        json_t *fp = json_object_get(all, fqns[i]);
        char why[256];
        if (table_from_fp(&m->tables[m->ntables], fqns[i], fp, need_connection,
                          why, sizeof why) != 0) {
            h->log(ctx, CS_LOG_WARN, "%s (table skipped)", why);
            continue;
        }
        add_columns(m, m->ntables++, fp, h, ctx);
    }
    free(fqns);
    mark_run(m, h, ctx);
    return 0;
}

void fkd_model_free(struct fkd_model *m)
{
    free(m->tables);
    free(m->cols);
    free(m->col_names);
    json_decref(m->all);
    *m = (struct fkd_model){0};
}

size_t fkd_model_table(const struct fkd_model *m, const char *fqn)
{
    size_t lo = 0, hi = m->ntables;
    while (lo < hi) { /* tables are sorted by FQN */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->tables[mid].fqn, fqn);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t)-1;
}

size_t fkd_model_column(const struct fkd_model *m, size_t t, const char *name)
{
    const struct fkd_table *tb = &m->tables[t];
    for (size_t i = tb->first_col; i < tb->first_col + tb->ncols; i++)
        if (strcmp(m->col_names[i], name) == 0)
            return i;
    return (size_t)-1;
}

int fkd_model_declared_child(const struct fkd_model *m, size_t c)
{
    const struct fkd_table *t = &m->tables[m->cols[c].table_id];
    size_t i;
    json_t *fk;
    json_array_foreach(t->declared, i, fk)
    {
        json_t *cols = json_object_get(fk, "columns");
        if (json_array_size(cols) == 1 &&
            json_is_string(json_array_get(cols, 0)) &&
            strcmp(json_string_value(json_array_get(cols, 0)),
                   m->col_names[c]) == 0)
            return 1;
    }
    return 0;
}
