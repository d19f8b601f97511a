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
 *
 * Within a bucket the postings are sorted by (tag, parent rank), the rank
 * ordering parents by distinct estimate, so a query reads one hash's
 * parents from the smallest that can hold the child upwards and stops
 * after a bounded number: the work per child does not grow with the
 * number of key columns sharing its values.  A parent's summary (rank
 * order, what pruning needs) costs 40 bytes.
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
    o->max_per_hash = 16;
    o->max_candidates = 32;
    o->gather_hashes = 16;
    o->max_evaluated = 64;
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

struct by_distinct {
    double d;
    uint32_t col;
    int undeclared;
};

/* Declared keys first, then columns only unique on their sample; each
 * group by distinct estimate. */
static int cmp_distinct(const void *a, const void *b)
{
    const struct by_distinct *x = a, *y = b;
    if (x->undeclared != y->undeclared)
        return x->undeclared - y->undeclared;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* The values a child must lie within to fit under parent p.  A partial
 * parent sample misses keys beyond its extremes; when it is a prefix (a
 * LIMIT read) it may span only a share f of the key range, so the range
 * is widened by (1/f - 1) of its width, at least by `slack` of it.  A
 * parent of unknown size (a prefix read of a never-analyzed table) may
 * hold keys far beyond what its sample shows: no range rule at all. */
static void summarise(const fk_index *ix, uint32_t col,
                      struct fk_parent_sum *out)
{
    const fk_column *p = &ix->cols[col];
    out->col = col;
    out->distinct = p->distinct_estimate;
    out->fraction = fk_column_sample_fraction(p);
    out->family = (uint8_t)fk_class_family((fk_class)p->cls);
    out->range_rule = (p->flags & FK_COL_HAS_RANGE) &&
                      ((p->flags & FK_COL_WHOLE) || p->row_count >= 0);
    double widen = 0;
    if (out->range_rule && !(p->flags & FK_COL_WHOLE)) {
        double grow = 1.0 / fk_column_sample_fraction(p) - 1.0;
        double slack = ix->opts.range_slack;
        widen = (grow > slack ? grow : slack) * (p->max - p->min);
    }
    out->lo = p->min - widen;
    out->hi = p->max + widen;
}

/* The parent summaries in rank order (declared keys first), and each column's
 * rank (UINT32_MAX for non-parents) in rank_of for the build.  -1 on allocation
 * failure. */
static int rank_parents(fk_index *ix, uint32_t *rank_of)
{
    struct by_distinct *v = malloc((ix->nparents + 1) * sizeof *v);
    ix->par = malloc((ix->nparents + 1) * sizeof *ix->par);
    if (!v || !ix->par) {
        free(v);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < ix->ncols; i++) {
        rank_of[i] = UINT32_MAX;
        const fk_column *c = &ix->cols[i];
        if (!fk_column_parent_ok(c, &ix->opts))
            continue;
        int undeclared = !(c->flags & (FK_COL_PK | FK_COL_UNIQUE));
        ix->ndeclared += (size_t)!undeclared;
        v[n++] =
            (struct by_distinct){c->distinct_estimate, (uint32_t)i, undeclared};
    }
    qsort(v, n, sizeof *v, cmp_distinct);
    for (size_t r = 0; r < n; r++) {
        rank_of[v[r].col] = (uint32_t)r;
        summarise(ix, v[r].col, &ix->par[r]);
    }
    free(v);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Counts per bucket, turned into bucket ends; filling then walks each end
 * down to its bucket's start (no second cursor array).  Each posting is a
 * (tag << 32 | rank) key, then every bucket is sorted. */
static void fill(fk_index *ix, const uint32_t *rank_of, uint64_t *key)
{
    size_t nb = (size_t)1 << ix->bits;
    for (size_t i = 0; i < ix->ncols; i++) {
        const fk_column *c = &ix->cols[i];
        if (rank_of[i] != UINT32_MAX)
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
        if (rank_of[i] == UINT32_MAX)
            continue;
        for (size_t j = 0; j < c->kmv.n; j++) {
            uint32_t at = --ix->dir[bucket_of(ix, c->kmv.h[j])];
            key[at] = (uint64_t)tag_of(ix, c->kmv.h[j]) << 32 | rank_of[i];
        }
    }
    for (size_t b = 0; b < nb; b++)
        if (ix->dir[b + 1] - ix->dir[b] > 1)
            qsort(key + ix->dir[b], ix->dir[b + 1] - ix->dir[b], sizeof *key,
                  cmp_u64);
    for (size_t p = 0; p < ix->npostings; p++) {
        ix->tag[p] = (uint16_t)(key[p] >> 32);
        ix->prank[p] = (uint32_t)key[p];
    }
}

/* Sizes the arrays; -1 on allocation failure or too many postings. */
static int allocate(fk_index *ix)
{
    for (size_t i = 0; i < ix->ncols; i++)
        if (fk_column_parent_ok(&ix->cols[i], &ix->opts)) {
            ix->nparents++;
            ix->npostings += ix->cols[i].kmv.n;
        }
    ix->bits = bits_for(ix->npostings);
    size_t nb = (size_t)1 << ix->bits;
    ix->dir = calloc(nb + 1, sizeof *ix->dir);
    ix->prank = malloc((ix->npostings + 1) * sizeof *ix->prank);
    ix->tag = malloc((ix->npostings + 1) * sizeof *ix->tag);
    return ix->npostings >= UINT32_MAX || !ix->dir || !ix->prank || !ix->tag
               ? -1
               : 0;
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
    uint32_t *rank_of = NULL;
    uint64_t *key = NULL;
    int rc = allocate(ix);
    if (rc == 0) {
        rank_of = malloc((n + 1) * sizeof *rank_of);
        key = malloc((ix->npostings + 1) * sizeof *key);
        rc = rank_of && key ? rank_parents(ix, rank_of) : -1;
    }
    if (rc == 0)
        fill(ix, rank_of, key);
    free(rank_of);
    free(key);
    if (rc != 0) {
        fk_index_free(ix);
        return NULL;
    }
    return ix;
}

void fk_index_free(fk_index *ix)
{
    if (!ix)
        return;
    free(ix->dir);
    free(ix->prank);
    free(ix->tag);
    free(ix->par);
    free(ix);
}

size_t fk_index_memory(const fk_index *ix)
{
    return sizeof *ix + (((size_t)1 << ix->bits) + 1) * sizeof *ix->dir +
           (ix->npostings + 1) * (sizeof *ix->prank + sizeof *ix->tag) +
           (ix->nparents + 1) * sizeof *ix->par;
}

size_t fk_index_parents(const fk_index *ix)
{
    return ix->nparents;
}
