/*
 * The candidate index's layout, shared by its builder (index.c) and its
 * queries (candidates.c).  See index.c for the memory accounting.
 */
#ifndef FK_INDEX_INTERNAL_H
#define FK_INDEX_INTERNAL_H

#include "fk.h"

struct fk_index {
    const fk_column *cols;
    size_t ncols, nparents, npostings;
    unsigned bits;
    uint32_t *dir;    /* 2^bits + 1 bucket starts */
    uint32_t *parent; /* npostings */
    uint16_t *tag;    /* npostings */
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
