/*
 * Candidate index: parents' sketch hashes -> parent columns.
 *
 * Layout (compressed sparse rows, no per-entry pointers): the top `bits`
 * bits of a hash pick a bucket; dir[b]..dir[b+1] are the bucket's
 * postings, each a parent number plus a 16-bit tag (the next 16 hash
 * bits) that filters out other hashes of the bucket.  About four
 * postings per bucket, so one posting costs 4 + 2 + ~1 bytes: a parent
 * with a full sketch of 64 hashes costs ~450 bytes, a child nothing.
 * A tag match is only a hint; shared hashes and containment are then
 * computed exactly from the two records.
 */
#include "fk_index_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fk_index_opts_default(fk_index_opts *o)
{
    o->min_uniqueness = 0.9;
    o->distinct_tolerance = 1.1;
    o->range_slack = 0.05;
    o->min_shared = 1;
    o->max_posting = 0;
}

int fk_column_child_ok(const fk_column *c)
{
    return fk_class_family((fk_class)c->cls) != FK_FAMILY_NONE &&
           c->sample_non_null > 0 && c->kmv.n > 0;
}

int fk_column_parent_ok(const fk_column *c, const fk_index_opts *o)
{
    if (!fk_column_child_ok(c))
        return 0;
    return (c->flags & (FK_COL_PK | FK_COL_UNIQUE)) ||
           c->uniqueness >= o->min_uniqueness;
}

/* Enough bits for ~4 postings per bucket, at least 1, at most 32. */
static unsigned bits_for(size_t npostings)
{
    unsigned b = 1;
    while (b < 32 && ((size_t)1 << b) * 4 < npostings)
        b++;
    return b;
}

/* Counts per bucket, turned into bucket ends; filling then walks each
 * end down to its bucket's start (no second cursor array). */
static void fill(fk_index *ix)
{
    size_t nb = (size_t)1 << ix->bits;
    for (size_t i = 0; i < ix->ncols; i++) {
        const fk_column *c = &ix->cols[i];
        if (fk_column_parent_ok(c, &ix->opts))
            for (size_t j = 0; j < c->kmv.n; j++)
                ix->dir[bucket_of(ix, c->kmv.h[j])]++;
    }
    uint32_t sum = 0;
    for (size_t b = 0; b <= nb; b++) {
        sum += ix->dir[b];
        ix->dir[b] = sum;
    }
    for (size_t i = ix->ncols; i-- > 0;) {
        const fk_column *c = &ix->cols[i];
        if (!fk_column_parent_ok(c, &ix->opts))
            continue;
        for (size_t j = 0; j < c->kmv.n; j++) {
            uint32_t at = --ix->dir[bucket_of(ix, c->kmv.h[j])];
            ix->parent[at] = (uint32_t)i;
            ix->tag[at] = tag_of(ix, c->kmv.h[j]);
        }
    }
}

fk_index *fk_index_build(const fk_column *cols, size_t n,
                         const fk_index_opts *o)
{
    if (n > UINT32_MAX)
        return NULL;
    fk_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->cols = cols;
    ix->ncols = n;
    if (o)
        ix->opts = *o;
    else
        fk_index_opts_default(&ix->opts);
    for (size_t i = 0; i < n; i++)
        if (fk_column_parent_ok(&cols[i], &ix->opts)) {
            ix->nparents++;
            ix->npostings += cols[i].kmv.n;
        }
    ix->bits = bits_for(ix->npostings);
    size_t nb = (size_t)1 << ix->bits;
    ix->dir = calloc(nb + 1, sizeof *ix->dir);
    ix->parent = malloc((ix->npostings + 1) * sizeof *ix->parent);
    ix->tag = malloc((ix->npostings + 1) * sizeof *ix->tag);
    if (ix->npostings >= UINT32_MAX || !ix->dir || !ix->parent || !ix->tag) {
        fk_index_free(ix);
        return NULL;
    }
    fill(ix);
    return ix;
}

void fk_index_free(fk_index *ix)
{
    if (!ix)
        return;
    free(ix->dir);
    free(ix->parent);
    free(ix->tag);
    free(ix);
}

size_t fk_index_memory(const fk_index *ix)
{
    return sizeof *ix + (((size_t)1 << ix->bits) + 1) * sizeof *ix->dir +
           (ix->npostings + 1) * (sizeof *ix->parent + sizeof *ix->tag);
}

size_t fk_index_parents(const fk_index *ix)
{
    return ix->nparents;
}
