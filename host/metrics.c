/*
 * Metrics registry: families (name, type, help) holding series keyed by
 * their label string.  Lookups go through two small open-addressing hash
 * maps (family by name, series by "name\x1flabels") so hot paths stay O(1);
 * rendering sorts families and series once, O(n log n), for stable output
 * that diffs well and that tests can compare byte for byte.
 *
 * Snapshots are plain JSON so a worker can ship its registry to the master
 * over the control pipe; the master merges them (see metrics.h).
 */
#include "metrics.h"

#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

/* Seconds-scaled bounds; the +Inf bucket is implicit (index N_BOUNDS). */
static const double bucket_bounds[] = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define N_BOUNDS (sizeof bucket_bounds / sizeof bucket_bounds[0])
#define N_BUCKETS (N_BOUNDS + 1)

struct series {
    char *labels; /* "" when the series has no labels */
    double value; /* counter / gauge */
    double sum;   /* histogram */
    uint64_t count;
    uint64_t buckets[N_BUCKETS]; /* per bucket, not cumulative */
};

struct family {
    char *name;
    char *help;
    enum metric_type type;
    struct series **series;
    size_t n_series, cap_series;
};

/* String-keyed open-addressing map; keys are owned by the map. */
struct smap {
    char **keys;
    void **vals;
    size_t cap, n;
};

struct metrics {
    pthread_mutex_t mu;
    struct smap families; /* name -> struct family * */
    struct smap series;   /* name "\x1f" labels -> struct series * */
    struct family **fams; /* insertion order; sorted when rendering */
    size_t n_fams, cap_fams;
};

static const char *type_name(enum metric_type t)
{
    return t == MT_COUNTER ? "counter" : t == MT_GAUGE ? "gauge" : "histogram";
}

static int parse_type(const char *s, enum metric_type *t)
{
    if (!s)
        return -1;
    if (!strcmp(s, "counter"))
        *t = MT_COUNTER;
    else if (!strcmp(s, "gauge"))
        *t = MT_GAUGE;
    else if (!strcmp(s, "histogram"))
        *t = MT_HISTOGRAM;
    else
        return -1;
    return 0;
}

/* ---- hash map ------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t smap_slot(const struct smap *m, const char *key)
{
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void *smap_get(const struct smap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = smap_slot(m, key);
    return m->keys[i] ? m->vals[i] : NULL;
}

static int smap_grow(struct smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct smap g = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(void *)),
                     cap, m->n};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = smap_slot(&g, m->keys[i]);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    *m = g;
    return 0;
}

/* Inserts a key known to be absent; copies it. */
static int smap_put(struct smap *m, const char *key, void *val)
{
    if ((m->n + 1) * 10 > m->cap * 7 && smap_grow(m) < 0)
        return -1;
    char *k = strdup(key);
    if (!k)
        return -1;
    size_t i = smap_slot(m, key);
    m->keys[i] = k;
    m->vals[i] = val;
    m->n++;
    return 0;
}

static void smap_free(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- registry ------------------------------------------------------------ */

/* Public, see metrics.h. */
struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->mu, NULL)) {
        free(m);
        return NULL;
    }
    return m;
}

static void family_free(struct family *f)
{
    for (size_t i = 0; i < f->n_series; i++) {
        free(f->series[i]->labels);
        free(f->series[i]);
    }
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

/* Public, see metrics.h.  No other thread may use `m` any more. */
void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_fams; i++)
        family_free(m->fams[i]);
    free(m->fams);
    smap_free(&m->families);
    smap_free(&m->series);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static struct family *family_create(struct metrics *m, const char *name,
                                    enum metric_type type, const char *help)
{
    if (m->n_fams == m->cap_fams) {
        size_t cap = m->cap_fams ? m->cap_fams * 2 : 16;
        struct family **fams = realloc(m->fams, cap * sizeof *fams);
        if (!fams)
            return NULL;
        m->fams = fams;
        m->cap_fams = cap;
    }
    struct family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->type = type;
    if (!f->name || !f->help || smap_put(&m->families, name, f) < 0) {
        family_free(f);
        return NULL;
    }
    m->fams[m->n_fams++] = f;
    return f;
}

/* The family `name`, created with `type` if new; NULL (logged) when it
 * exists with another type or memory runs out. */
static struct family *family_get(struct metrics *m, const char *name,
                                 enum metric_type type, const char *help)
{
    struct family *f = smap_get(&m->families, name);
    if (!f)
        f = family_create(m, name, type, help);
    if (!f) {
        log_warn("metrics: cannot record %s: out of memory", name);
        return NULL;
    }
    if (f->type != type) {
        log_warn("metrics: %s is a %s, not a %s; sample dropped", name,
                 type_name(f->type), type_name(type));
        return NULL;
    }
    return f;
}

static char *series_key(const char *name, const char *labels)
{
    char *key = NULL;
    if (asprintf(&key, "%s\x1f%s", name, labels) < 0)
        return NULL;
    return key;
}

static struct series *series_create(struct metrics *m, struct family *f,
                                    const char *key, const char *labels)
{
    if (f->n_series == f->cap_series) {
        size_t cap = f->cap_series ? f->cap_series * 2 : 8;
        struct series **s = realloc(f->series, cap * sizeof *s);
        if (!s)
            return NULL;
        f->series = s;
        f->cap_series = cap;
    }
    struct series *s = calloc(1, sizeof *s);
    if (!s || !(s->labels = strdup(labels)) ||
        smap_put(&m->series, key, s) < 0) {
        if (s)
            free(s->labels);
        free(s);
        return NULL;
    }
    f->series[f->n_series++] = s;
    return s;
}

/* Finds or creates the series; caller holds the lock. */
static struct series *series_get(struct metrics *m, const char *name,
                                 const char *labels, enum metric_type type,
                                 const char *help)
{
    struct family *f = family_get(m, name, type, help);
    if (!f)
        return NULL;
    if (!labels)
        labels = "";
    char *key = series_key(name, labels);
    if (!key)
        return NULL;
    struct series *s = smap_get(&m->series, key);
    if (!s)
        s = series_create(m, f, key, labels);
    free(key);
    if (!s)
        log_warn("metrics: cannot record %s{%s}: out of memory", name, labels);
    return s;
}

/* Public, see metrics.h.  Negative deltas are refused (counters only go
 * up; a decreasing total would look like a process restart). */
void metrics_counter_add(struct metrics *m, const char *name,
                         const char *labels, const char *help, double delta)
{
    if (!m || !name)
        return;
    if (!(delta >= 0)) {
        log_warn("metrics: counter %s: refused delta %g", name, delta);
        return;
    }
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, name, labels, MT_COUNTER, help);
    if (s)
        s->value += delta;
    pthread_mutex_unlock(&m->mu);
}

/* Public, see metrics.h. */
void metrics_gauge_set(struct metrics *m, const char *name, const char *labels,
                       const char *help, double value)
{
    if (!m || !name)
        return;
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, name, labels, MT_GAUGE, help);
    if (s)
        s->value = value;
    pthread_mutex_unlock(&m->mu);
}

static size_t bucket_index(double v)
{
    for (size_t i = 0; i < N_BOUNDS; i++)
        if (v <= bucket_bounds[i])
            return i;
    return N_BOUNDS; /* +Inf, also NaN */
}

/* Public, see metrics.h. */
void metrics_observe(struct metrics *m, const char *name, const char *labels,
                     const char *help, double value)
{
    if (!m || !name)
        return;
    pthread_mutex_lock(&m->mu);
    struct series *s = series_get(m, name, labels, MT_HISTOGRAM, help);
    if (s) {
        s->buckets[bucket_index(value)]++;
        s->count++;
        s->sum += value;
    }
    pthread_mutex_unlock(&m->mu);
}

/* Public, see metrics.h.  Histograms answer their observation count;
 * unknown series answer 0. */
double metrics_get(struct metrics *m, const char *name, const char *labels)
{
    if (!m || !name)
        return 0;
    double v = 0;
    pthread_mutex_lock(&m->mu);
    struct family *f = smap_get(&m->families, name);
    char *key = f ? series_key(name, labels ? labels : "") : NULL;
    struct series *s = key ? smap_get(&m->series, key) : NULL;
    if (s)
        v = f->type == MT_HISTOGRAM ? (double)s->count : s->value;
    free(key);
    pthread_mutex_unlock(&m->mu);
    return v;
}

/* Public, see metrics.h. */
void metrics_escape_label(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (!outlen)
        return;
    for (; in && *in; in++) {
        const char *rep = *in == '\\'   ? "\\\\"
                          : *in == '"'  ? "\\\""
                          : *in == '\n' ? "\\n"
                                        : NULL;
        size_t need = rep ? 2 : 1;
        if (o + need >= outlen)
            break; /* never split an escape sequence */
        if (rep) {
            out[o++] = rep[0];
            out[o++] = rep[1];
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

/* ---- snapshots ----------------------------------------------------------- */

/* JSON has no NaN/Inf, so non-finite values travel as strings. */
static json_t *num_to_json(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "+Inf" : "-Inf");
    return json_real(v);
}

static int json_to_num(const json_t *j, double *v)
{
    const char *s = json_string_value(j);
    if (json_is_number(j))
        *v = json_number_value(j);
    else if (s && !strcmp(s, "NaN"))
        *v = NAN;
    else if (s && !strcmp(s, "+Inf"))
        *v = INFINITY;
    else if (s && !strcmp(s, "-Inf"))
        *v = -INFINITY;
    else
        return -1;
    return 0;
}

static json_t *series_to_json(const struct family *f, const struct series *s)
{
    if (f->type != MT_HISTOGRAM)
        return json_pack("{s:s, s:o}", "labels", s->labels, "value",
                         num_to_json(s->value));
    json_t *b = json_array();
    for (size_t i = 0; b && i < N_BUCKETS; i++)
        if (json_array_append_new(b, json_integer((json_int_t)s->buckets[i])))
            break;
    if (!b || json_array_size(b) != N_BUCKETS) {
        json_decref(b);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:o, s:I}", "labels", s->labels, "buckets", b,
                     "sum", num_to_json(s->sum), "count", (json_int_t)s->count);
}

static json_t *family_to_json(const struct family *f)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < f->n_series; i++)
        if (json_array_append_new(arr, series_to_json(f, f->series[i])))
            goto fail;
    return json_pack("{s:s, s:s, s:s, s:o}", "name", f->name, "type",
                     type_name(f->type), "help", f->help, "series", arr);
fail:
    json_decref(arr);
    return NULL;
}

/* Caller holds the lock. */
static json_t *snapshot_locked(struct metrics *m)
{
    json_t *fams = json_array();
    for (size_t i = 0; fams && i < m->n_fams; i++)
        if (json_array_append_new(fams, family_to_json(m->fams[i]))) {
            json_decref(fams);
            return NULL;
        }
    return json_pack("{s:o}", "families", fams);
}

/* Public, see metrics.h.  NULL when memory runs out. */
json_t *metrics_snapshot(struct metrics *m)
{
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->mu);
    json_t *snap = snapshot_locked(m);
    pthread_mutex_unlock(&m->mu);
    return snap;
}

static int merge_histogram(struct series *s, const json_t *js)
{
    const json_t *b = json_object_get(js, "buckets");
    const json_t *cnt = json_object_get(js, "count");
    double sum;
    if (json_array_size(b) != N_BUCKETS || !json_is_integer(cnt) ||
        json_to_num(json_object_get(js, "sum"), &sum) < 0)
        return -1;
    if (json_integer_value(cnt) < 0)
        return -1;
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (!json_is_integer(json_array_get(b, i)) ||
            json_integer_value(json_array_get(b, i)) < 0)
            return -1;
    for (size_t i = 0; i < N_BUCKETS; i++)
        s->buckets[i] += (uint64_t)json_integer_value(json_array_get(b, i));
    s->count += (uint64_t)json_integer_value(cnt);
    s->sum += sum;
    return 0;
}

/* Merges one series of a snapshot; caller holds the lock. */
static int merge_series(struct metrics *m, const char *name,
                        enum metric_type type, const char *help,
                        const json_t *js)
{
    const char *labels = json_string_value(json_object_get(js, "labels"));
    double v;
    if (!labels)
        return -1;
    if (type != MT_HISTOGRAM &&
        json_to_num(json_object_get(js, "value"), &v) < 0)
        return -1;
    struct series *s = series_get(m, name, labels, type, help);
    if (!s)
        return 0; /* already logged: type clash or out of memory */
    if (type == MT_HISTOGRAM)
        return merge_histogram(s, js);
    if (type == MT_COUNTER)
        s->value += v;
    else
        s->value = v;
    return 0;
}

static void merge_family(struct metrics *m, const json_t *jf, size_t idx)
{
    const char *name = json_string_value(json_object_get(jf, "name"));
    const char *help = json_string_value(json_object_get(jf, "help"));
    const json_t *series = json_object_get(jf, "series");
    enum metric_type type;
    if (!name ||
        parse_type(json_string_value(json_object_get(jf, "type")), &type) ||
        !json_is_array(series)) {
        log_warn("metrics: snapshot families[%zu]: expected name, type "
                 "(counter, gauge or histogram) and series; skipped",
                 idx);
        return;
    }
    size_t i;
    const json_t *js;
    json_array_foreach(series, i, js)
    {
        if (merge_series(m, name, type, help, js) < 0)
            log_warn("metrics: snapshot %s series[%zu]: malformed; skipped",
                     name, i);
    }
}

/* Public, see metrics.h.  Malformed parts are logged and skipped. */
void metrics_merge(struct metrics *m, const json_t *snapshot)
{
    const json_t *fams = json_object_get(snapshot, "families");
    if (!m || !snapshot)
        return;
    if (!json_is_array(fams)) {
        log_warn("metrics: snapshot without a \"families\" array; ignored");
        return;
    }
    size_t i;
    const json_t *jf;
    pthread_mutex_lock(&m->mu);
    json_array_foreach(fams, i, jf) merge_family(m, jf, i);
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ----------------------------------------------------------- */

/* Shortest text that reads back as the same double, Prometheus spelling
 * for the non-finite ones. */
static void fmt_num(double v, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(out, 40, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, 40, "%.17g", v);
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(struct family *const *)a)->name,
                  (*(struct family *const *)b)->name);
}

static int cmp_series(const void *a, const void *b)
{
    return strcmp((*(struct series *const *)a)->labels,
                  (*(struct series *const *)b)->labels);
}

/* HELP text escaping per the exposition format: backslash and newline. */
static void put_help(FILE *out, const char *help)
{
    for (; *help; help++) {
        if (*help == '\\')
            fputs("\\\\", out);
        else if (*help == '\n')
            fputs("\\n", out);
        else
            fputc(*help, out);
    }
}

static void put_sample(FILE *out, const char *name, const char *suffix,
                       const char *labels, const char *le, double v)
{
    char num[40];
    fmt_num(v, num);
    fprintf(out, "%s%s", name, suffix);
    if (*labels || le)
        fprintf(out, "{%s%s%s%s%s}", labels, *labels && le ? "," : "",
                le ? "le=\"" : "", le ? le : "", le ? "\"" : "");
    fprintf(out, " %s\n", num);
}

static void put_histogram(FILE *out, const char *name, const struct series *s)
{
    uint64_t cum = 0;
    char le[40];
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += s->buckets[i];
        if (i < N_BOUNDS)
            fmt_num(bucket_bounds[i], le);
        else
            strcpy(le, "+Inf");
        put_sample(out, name, "_bucket", s->labels, le, (double)cum);
    }
    put_sample(out, name, "_sum", s->labels, NULL, s->sum);
    put_sample(out, name, "_count", s->labels, NULL, (double)s->count);
}

static void put_family(FILE *out, struct family *f)
{
    if (!f->n_series)
        return;
    qsort(f->series, f->n_series, sizeof *f->series, cmp_series);
    fprintf(out, "# HELP %s ", f->name);
    put_help(out, f->help);
    fprintf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
    for (size_t i = 0; i < f->n_series; i++) {
        if (f->type == MT_HISTOGRAM)
            put_histogram(out, f->name, f->series[i]);
        else
            put_sample(out, f->name, "", f->series[i]->labels, NULL,
                       f->series[i]->value);
    }
}

/* Caller holds the lock.  Sorting reorders only the arrays, never the
 * maps, so the registry stays valid. */
static char *render_locked(struct metrics *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    if (m->n_fams)
        qsort(m->fams, m->n_fams, sizeof *m->fams, cmp_family);
    for (size_t i = 0; i < m->n_fams; i++)
        put_family(out, m->fams[i]);
    bool failed = ferror(out) != 0;
    if (fclose(out) != 0 || failed) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Public, see metrics.h.  NULL when memory runs out. */
char *metrics_render(struct metrics *m)
{
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->mu);
    char *text = render_locked(m);
    pthread_mutex_unlock(&m->mu);
    return text;
}

/* Public, see metrics.h.  Works on a scratch registry built from a
 * snapshot of `m`, so `m` is never changed and its lock is held only for
 * the copy. */
char *metrics_render_with(struct metrics *m, json_t *const *extra,
                          size_t n_extra)
{
    json_t *own = metrics_snapshot(m);
    struct metrics *tmp = own ? metrics_new() : NULL;
    char *text = NULL;
    if (tmp) {
        metrics_merge(tmp, own);
        for (size_t i = 0; i < n_extra; i++)
            if (extra[i])
                metrics_merge(tmp, extra[i]);
        text = render_locked(tmp);
    }
    metrics_free(tmp);
    json_decref(own);
    return text;
}
