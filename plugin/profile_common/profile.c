/*
 * Per-column statistics over a prof_table and their two renderings: the
 * non-raw profile (hashes, counts, shapes, numeric/temporal ranges only)
 * and the raw sample (readable values).  One pass over each column.
 */
#include "profile_common.h"

#include "counter.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct col_stats {
    prof_type_class cls;
    size_t nulls, nonnull;
    double total_chars;
    struct counter values; /* borrowed cell pointers */
    struct counter shapes; /* owned shape strings */
    const char *min, *max; /* by the class's order */
    double minv, maxv;
};

static int is_numeric(prof_type_class c)
{
    return c == PROF_INTEGER || c == PROF_DECIMAL;
}

/* Numbers compare as numbers (NaN and unparsable text are skipped), the
 * rest by bytes, which orders ISO dates and timestamps correctly. */
static void update_range(struct col_stats *s, const char *v)
{
    if (is_numeric(s->cls)) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || isnan(d))
            return;
        if (!s->min || d < s->minv) {
            s->min = v;
            s->minv = d;
        }
        if (!s->max || d > s->maxv) {
            s->max = v;
            s->maxv = d;
        }
        return;
    }
    if (!s->min || strcmp(v, s->min) < 0)
        s->min = v;
    if (!s->max || strcmp(v, s->max) > 0)
        s->max = v;
}

static int stats_add(struct col_stats *s, const char *v, int want_shapes)
{
    if (v == NULL) {
        s->nulls++;
        return 0;
    }
    s->nonnull++;
    s->total_chars += (double)prof_utf8_length(v);
    update_range(s, v);
    if (counter_add(&s->values, v) != 0)
        return -1;
    if (!want_shapes)
        return 0;
    char shape[PROF_SHAPE_BUF];
    prof_shape(v, shape, sizeof shape);
    return counter_add(&s->shapes, shape);
}

static void stats_free(struct col_stats *s)
{
    counter_free(&s->values);
    counter_free(&s->shapes);
}

/* Fills *s for column `col`; returns 0 or -1 (allocation failure). */
static int stats_compute(const prof_table *t, size_t col, int want_shapes,
                         struct col_stats *s)
{
    memset(s, 0, sizeof *s);
    s->cls = prof_type_class_of(prof_table_coltype(t, col));
    size_t n = prof_table_nrows(t);
    if (counter_init(&s->values, n, 0) != 0 ||
        counter_init(&s->shapes, want_shapes ? 16 : 1, 1) != 0) {
        stats_free(s);
        return -1;
    }
    for (size_t r = 0; r < n; r++) {
        if (stats_add(s, prof_table_cell(t, r, col), want_shapes) != 0) {
            stats_free(s);
            return -1;
        }
    }
    return 0;
}

/* min/max as JSON: integers and finite decimals as numbers, everything
 * else (temporal text, huge or infinite numbers) as the cell text. */
static json_t *range_value(prof_type_class cls, const char *v)
{
    char *end;
    errno = 0;
    if (cls == PROF_INTEGER) {
        long long i = strtoll(v, &end, 10);
        if (errno == 0 && *end == '\0' && end != v)
            return json_integer(i);
    } else if (cls == PROF_DECIMAL) {
        double d = strtod(v, &end);
        if (errno == 0 && *end == '\0' && end != v && isfinite(d))
            return json_real(d);
    }
    return prof_json_string(v);
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *hashed_top(const struct col_stats *s, size_t k,
                          const uint8_t key[16])
{
    size_t n;
    struct vcount **v = counter_top(&s->values, k, &n);
    json_t *arr = json_array();
    if (n == SIZE_MAX || !arr) {
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char hex[17];
        uint64_t h = prof_siphash24(key, v[i]->value, strlen(v[i]->value));
        snprintf(hex, sizeof hex, "%016" PRIx64, h);
        json_t *e = json_pack("{s:s, s:I}", "hash", hex, "count",
                              (json_int_t)v[i]->count);
        if (json_array_append_new(arr, e) != 0) {
            free(v);
            json_decref(arr);
            return NULL;
        }
    }
    free(v);
    return arr;
}

/* [{<label>: value, count}] of the k most frequent entries of c. */
static json_t *readable_top(const struct counter *c, size_t k,
                            const char *label)
{
    size_t n;
    struct vcount **v = counter_top(c, k, &n);
    json_t *arr = json_array();
    if (n == SIZE_MAX || !arr) {
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object();
        if (set_new(e, label, prof_json_string(v[i]->value)) != 0 ||
            set_new(e, "count", json_integer((json_int_t)v[i]->count)) != 0 ||
            json_array_append_new(arr, e) != 0) {
            free(v);
            json_decref(arr);
            return NULL;
        }
    }
    free(v);
    return arr;
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static json_t *profile_column(const prof_table *t, size_t col,
                              const struct col_stats *s, const prof_options *o)
{
    size_t rows = s->nulls + s->nonnull;
    json_t *c = json_object();
    int err = !c;
    err =
        err || set_new(c, "dataType", json_string(prof_table_coltype(t, col)));
    err = err ||
          set_new(c, "typeClass", json_string(prof_type_class_name(s->cls)));
    err = err || set_new(c, "nullCount", json_integer((json_int_t)s->nulls));
    err = err || set_new(c, "nullFraction", json_real(ratio(s->nulls, rows)));
    err = err ||
          set_new(c, "distinctCount", json_integer((json_int_t)s->values.used));
    err = err || set_new(c, "uniqueness",
                         json_real(ratio(s->values.used, s->nonnull)));
    err = err || set_new(c, "topValues", hashed_top(s, o->top_k, o->key));
    /* The sovereignty rule: a range is shown only for numbers and time. */
    if (prof_type_class_has_range(s->cls) && s->min) {
        err = err || set_new(c, "min", range_value(s->cls, s->min));
        err = err || set_new(c, "max", range_value(s->cls, s->max));
    }
    err = err ||
          set_new(c, "avgLength",
                  json_real(s->nonnull ? s->total_chars / s->nonnull : 0.0));
    err = err ||
          set_new(c, "shapes", readable_top(&s->shapes, o->shapes_k, "shape"));
    if (err) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *sample_stats(const struct col_stats *s, size_t top_k)
{
    json_t *c = json_object();
    int err =
        !c || set_new(c, "topValues", readable_top(&s->values, top_k, "value"));
    if (!err && s->min) {
        err = set_new(c, "min", prof_json_string(s->min)) ||
              set_new(c, "max", prof_json_string(s->max));
    }
    if (err) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *sample_columns(const prof_table *t)
{
    json_t *arr = json_array();
    for (size_t c = 0; arr && c < prof_table_ncols(t); c++) {
        json_t *e = json_pack("{s:s, s:s}", "name", prof_table_colname(t, c),
                              "type", prof_table_coltype(t, c));
        if (json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *sample_rows(const prof_table *t)
{
    json_t *rows = json_array();
    for (size_t r = 0; rows && r < prof_table_nrows(t); r++) {
        json_t *row = json_array();
        for (size_t c = 0; row && c < prof_table_ncols(t); c++) {
            const char *v = prof_table_cell(t, r, c);
            if (json_array_append_new(row, v ? prof_json_string(v)
                                             : json_null()) != 0) {
                json_decref(row);
                row = NULL;
            }
        }
        if (json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

/* One column's statistics feed both aspects, computed once. */
static int add_column(const prof_table *t, size_t col, const prof_options *o,
                      json_t *cols, json_t *stats)
{
    struct col_stats s;
    if (stats_compute(t, col, cols != NULL, &s) != 0)
        return -1;
    const char *name = prof_table_colname(t, col);
    int err = cols && set_new(cols, name, profile_column(t, col, &s, o)) != 0;
    err =
        err || (stats && set_new(stats, name, sample_stats(&s, o->top_k)) != 0);
    stats_free(&s);
    return err ? -1 : 0;
}

static json_t *sample_of(const prof_table *t, json_t *stats)
{
    json_t *out = json_object();
    if (!out || set_new(out, "columns", sample_columns(t)) ||
        set_new(out, "rows", sample_rows(t)) ||
        json_object_set(out, "columnsStats", stats) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int prof_profile_and_sample(const prof_table *t, const prof_options *o,
                            json_t **columns, json_t **sample)
{
    json_t *cols = columns ? json_object() : NULL;
    json_t *stats = sample ? json_object() : NULL;
    int err = (columns && !cols) || (sample && !stats);
    for (size_t col = 0; !err && col < prof_table_ncols(t); col++)
        err = add_column(t, col, o, cols, stats) != 0;
    json_t *smp = !err && sample ? sample_of(t, stats) : NULL;
    json_decref(stats);
    if (err || (sample && !smp)) {
        json_decref(cols);
        json_decref(smp);
        return -1;
    }
    if (columns)
        *columns = cols;
    if (sample)
        *sample = smp;
    return 0;
}

json_t *prof_profile_columns(const prof_table *t, const prof_options *o)
{
    json_t *cols = NULL;
    return prof_profile_and_sample(t, o, &cols, NULL) == 0 ? cols : NULL;
}

json_t *prof_sample_json(const prof_table *t, size_t top_k)
{
    prof_options o = {.top_k = top_k};
    json_t *smp = NULL;
    return prof_profile_and_sample(t, &o, NULL, &smp) == 0 ? smp : NULL;
}
