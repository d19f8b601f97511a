/*
 * One column's fingerprint from the raw sample: the values are hashed
 * once (normalised for their type class), the sorted hashes give the
 * distinct count, the singletons, the top values and the KMV sketch in
 * one pass, and only hashes and counts leave this file.
 */
#include "fingerprint_internal.h"
#include "profile_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Non-null values of the column, hashed. */
struct hashed {
    uint64_t *h;
    size_t n, rows;
    double chars; /* total UTF-8 length, for avgLength */
    double minv, maxv;
    const char *min_text, *max_text; /* borrowed, temporal only */
    int has_range;
};

static void range_add(struct hashed *hs, fk_class cls, const char *v)
{
    double d;
    if (fk_value_number(cls, v, &d) != 0)
        return;
    if (!hs->has_range || d < hs->minv) {
        hs->minv = d;
        hs->min_text = v;
    }
    if (!hs->has_range || d > hs->maxv) {
        hs->maxv = d;
        hs->max_text = v;
    }
    hs->has_range = 1;
}

static int hash_column(const json_t *rows, size_t col, fk_class cls,
                       const struct fp_options *o, struct hashed *hs)
{
    memset(hs, 0, sizeof *hs);
    hs->rows = json_array_size(rows);
    hs->h = malloc((hs->rows ? hs->rows : 1) * sizeof *hs->h);
    if (!hs->h)
        return -1;
    for (size_t r = 0; r < hs->rows; r++) {
        const char *v =
            json_string_value(json_array_get(json_array_get(rows, r), col));
        if (v == NULL)
            continue;
        if (fk_hash_value(o->key, cls, v, &hs->h[hs->n]) != 0)
            return -1;
        hs->n++;
        hs->chars += (double)prof_utf8_length(v);
        if (cls == FK_CLASS_INTEGER || cls == FK_CLASS_DECIMAL ||
            cls == FK_CLASS_TEMPORAL)
            range_add(hs, cls, v);
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* One distinct hash and how often the sample holds it. */
struct run {
    uint64_t h;
    size_t count;
};

static int cmp_run(const void *a, const void *b)
{
    const struct run *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->h > y->h) - (x->h < y->h);
}

/* Distinct hashes of the sorted array, ascending, with their counts. */
static struct run *runs_of(const uint64_t *h, size_t n, size_t *nruns)
{
    struct run *r = malloc((n ? n : 1) * sizeof *r);
    size_t k = 0;
    for (size_t i = 0; r && i < n; i++) {
        if (k > 0 && r[k - 1].h == h[i])
            r[k - 1].count++;
        else
            r[k++] = (struct run){h[i], 1};
    }
    *nruns = k;
    return r;
}

static json_t *hex_array(const struct run *r, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        char hex[17];
        fk_hash_hex(r[i].h, hex);
        if (json_array_append_new(arr, json_string(hex)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* "kmv" (runs ascending) and "top" (runs re-sorted by count). */
static int put_sketches(json_t *c, struct run *r, size_t nruns,
                        const struct fp_options *o)
{
    size_t nk = nruns < o->kmv_k ? nruns : o->kmv_k;
    if (json_object_set_new(c, "kmv", hex_array(r, nk)) != 0)
        return -1;
    qsort(r, nruns, sizeof *r, cmp_run);
    size_t nt = nruns < o->top_k ? nruns : o->top_k;
    return json_object_set_new(c, "top", hex_array(r, nt));
}

static json_t *bound_json(fk_class cls, double v, const char *text)
{
    if (cls == FK_CLASS_TEMPORAL)
        return prof_json_string(text);
    if (cls == FK_CLASS_INTEGER && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static int put_range(json_t *c, fk_class cls, const struct hashed *hs)
{
    if (!hs->has_range)
        return 0;
    json_t *mn = bound_json(cls, hs->minv, hs->min_text);
    json_t *mx = bound_json(cls, hs->maxv, hs->max_text);
    if (!mn || !mx) {
        json_decref(mn);
        json_decref(mx);
        return -1;
    }
    return json_object_set_new(c, "min", mn) ||
           json_object_set_new(c, "max", mx);
}

double fp_distinct_estimate(double n, double d, double f1, double N)
{
    if (n <= 0)
        return 0;
    if (N <= n)
        return d;
    double denom = n - f1 + f1 * n / N;
    double est = denom > 0 ? n * d / denom : N;
    return est < d ? d : est > N ? N : est;
}

/* Counts, estimates and flags (no sketch). */
static json_t *counts_json(const struct hashed *hs, size_t nruns, size_t f1,
                           fk_class cls, const struct fp_declared *decl)
{
    double n = (double)hs->n, d = (double)nruns;
    double nullf = hs->rows ? 1.0 - n / (double)hs->rows : 0.0;
    double N = decl->row_count >= 0 ? decl->row_count * (1.0 - nullf) : n;
    double est;
    if (decl->whole)
        est = d;
    else if (decl->unique)
        est = N > d ? N : d; /* declared unique: every non-null differs */
    else
        est = fp_distinct_estimate(n, d, (double)f1, N);
    return json_pack("{s:s, s:f, s:I, s:I, s:f, s:f, s:f, s:b, s:b}",
                     "typeClass", fk_class_name(cls), "nullFraction", nullf,
                     "sampleNonNull", (json_int_t)hs->n, "sampleDistinct",
                     (json_int_t)nruns, "distinctEstimate", round(est),
                     "uniqueness", n > 0 ? d / n : 0.0, "avgLength",
                     n > 0 ? hs->chars / n : 0.0, "primaryKey",
                     decl->primary_key, "unique", decl->unique);
}

static size_t singletons(const struct run *r, size_t n)
{
    size_t f1 = 0;
    for (size_t i = 0; i < n; i++)
        f1 += r[i].count == 1;
    return f1;
}

json_t *fp_column_json(const json_t *rows, size_t col, const char *engine_type,
                       const struct fp_declared *decl,
                       const struct fp_options *o)
{
    fk_class cls = fk_class_from_name(
        prof_type_class_name(prof_type_class_of(engine_type)));
    struct hashed hs;
    struct run *r = NULL;
    size_t nruns = 0;
    json_t *c = NULL;
    if (hash_column(rows, col, cls, o, &hs) == 0) {
        qsort(hs.h, hs.n, sizeof *hs.h, cmp_u64);
        r = runs_of(hs.h, hs.n, &nruns);
    }
    if (r)
        c = counts_json(&hs, nruns, singletons(r, nruns), cls, decl);
    if (c && (put_range(c, cls, &hs) || put_sketches(c, r, nruns, o))) {
        json_decref(c);
        c = NULL;
    }
    free(r);
    free(hs.h);
    return c;
}
