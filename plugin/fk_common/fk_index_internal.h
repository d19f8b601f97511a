/*
 * The candidate index's layout, shared by its builder (index.c) and its
 * queries (candidates.c).  See index.c for the memory accounting.
 */
#ifndef FK_INDEX_INTERNAL_H
#define FK_INDEX_INTERNAL_H

#include "fk.h"

struct fk_parent_sum {
    double lo, hi;   /* child values must lie within, when range_rule */
    double distinct; /* estimate, the rank order */
    double fraction; /* of its keys in its sample (0, 1] */
    uint32_t col;    /* index into cols */
    uint8_t family;  /* fk_family */
    uint8_t range_rule;
};

struct fk_index {
    const fk_column *cols;
    size_t ncols, nparents, npostings;
    unsigned bits;
    uint32_t *dir;   /* 2^bits + 1 bucket starts */
    uint32_t *prank; /* npostings: parent ranks */
    uint16_t *tag;   /* npostings */
    /* Parents in rank order: declared keys [0, ndeclared), then columns
     * only unique on their sample, each group by distinct estimate; with
     * what the pruning rules need, so a query reads a small array in order
     * instead of the records.  Postings hold ranks; within a bucket they
     * are sorted by (tag, rank). */
    struct fk_parent_sum *par; /* nparents */
    size_t ndeclared;
    fk_index_opts opts;
};

static inline size_t bucket_of(const fk_index *ix, uint64_t h)
{
    return (size_t)(h >> (64 - ix->bits));
}

static inline uint16_t tag_of(const fk_index *ix, uint64_t h)
{
    return (uint16_t)(h >> (48 - ix->bits));
}

#endif
