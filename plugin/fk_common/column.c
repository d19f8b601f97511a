/*
 * fk_column records from `fingerprint` aspect columns.  Only the fields
 * candidate generation needs are kept, in a fixed-size struct, so that a
 * million columns fit in well under a gigabyte.
 */
#include "fk.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(fk_column) <= 1024, "fk_column must stay <= 1 KiB");

/* Optional non-negative number; absent -> dflt; wrong type -> -1. */
static int get_num(const json_t *obj, const char *key, double dflt, double *out,
                   char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        snprintf(err, errlen, "%s: not a number", key);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* min/max are numbers for numeric classes, text for temporal ones. */
static int get_bound(const json_t *obj, const char *key, fk_class cls,
                     double *out)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out) ? 0 : -1;
    }
    if (json_is_string(v))
        return fk_value_number(cls, json_string_value(v), out);
    return -1;
}

static uint32_t clamp_u32(double v)
{
    return v <= 0 ? 0 : v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
}

static int read_counts(const json_t *col, fk_column *o, char *err,
                       size_t errlen)
{
    double nonnull, distinct, dest, uniq, nullf;
    if (get_num(col, "sampleNonNull", 0, &nonnull, err, errlen) ||
        get_num(col, "sampleDistinct", 0, &distinct, err, errlen) ||
        get_num(col, "distinctEstimate", distinct, &dest, err, errlen) ||
        get_num(col, "uniqueness", nonnull > 0 ? distinct / nonnull : 0, &uniq,
                err, errlen) ||
        get_num(col, "nullFraction", 0, &nullf, err, errlen))
        return -1;
    o->sample_non_null = clamp_u32(nonnull);
    o->sample_distinct = clamp_u32(distinct);
    o->distinct_estimate = dest < distinct ? distinct : dest;
    o->uniqueness = uniq;
    o->null_fraction = nullf;
    return 0;
}

int fk_column_from_json(const json_t *col, double row_count, double sample_rows,
                        fk_column *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(col)) {
        snprintf(err, errlen, "column: not an object");
        return -1;
    }
    fk_class cls = fk_class_from_name(
        json_string_value(json_object_get(col, "typeClass")));
    out->cls = (uint8_t)cls;
    out->row_count = row_count;
    out->sample_rows = clamp_u32(sample_rows);
    if (read_counts(col, out, err, errlen))
        return -1;
    /* A sketch with fewer hashes than the sample's distinct values was
     * full at that size (kmv_k below FK_KMV_K); otherwise it holds every
     * distinct hash and may be read with any k above its size. */
    const json_t *kmv = json_object_get(col, "kmv");
    size_t nk = json_array_size(kmv);
    unsigned k = nk > 0 && nk < out->sample_distinct ? (unsigned)nk : FK_KMV_K;
    if (fk_kmv_from_json(kmv, k, &out->kmv, err, errlen))
        return -1;
    if (json_is_true(json_object_get(col, "primaryKey")))
        out->flags |= FK_COL_PK;
    if (json_is_true(json_object_get(col, "unique")))
        out->flags |= FK_COL_UNIQUE;
    if (get_bound(col, "min", cls, &out->min) == 0 &&
        get_bound(col, "max", cls, &out->max) == 0)
        out->flags |= FK_COL_HAS_RANGE;
    if (row_count >= 0 && sample_rows >= row_count)
        out->flags |= FK_COL_WHOLE;
    return 0;
}

double fk_column_sample_fraction(const fk_column *c)
{
    if ((c->flags & FK_COL_WHOLE) || c->sample_distinct == 0)
        return 1.0;
    double f = (double)c->sample_distinct / c->distinct_estimate;
    return f > 1.0 ? 1.0 : f < 1e-9 ? 1e-9 : f;
}
