/*
 * The fingerprint pass's pieces: per-column statistics over the sample
 * (colstats.c) and the table-level aspect around them (fingerprint.c).
 */
#ifndef FINGERPRINT_INTERNAL_H
#define FINGERPRINT_INTERNAL_H

#include "fk.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct fp_options {
    uint8_t key[16]; /* value hash key (hash_key option) */
    size_t top_k;    /* hashes of the most frequent values kept */
    unsigned kmv_k;  /* bottom-k sketch size, 1..FK_KMV_K */
};

/* What the table knows about one column besides its sample. */
struct fp_declared {
    double row_count; /* whole table, < 0 unknown */
    int whole;        /* the sample is the whole table */
    int primary_key;  /* the table's only primary-key column */
    int unique;       /* a one-column UNIQUE or PRIMARY KEY */
};

/* The fingerprint of column `col` of the raw sample's `rows` (array of
 * arrays of strings/nulls) with engine type `engine_type`.  New
 * reference, or NULL on allocation failure.  Holds no cell value except
 * the min/max of temporal columns (as the profile does). */
json_t *fp_column_json(const json_t *rows, size_t col, const char *engine_type,
                       const struct fp_declared *decl,
                       const struct fp_options *o);

/* Distinct-count estimate of a whole column from a sample of n non-null
 * values with d distinct, f1 of them seen once, in a column of N non-null
 * values (Haas & Stokes' Duj1, as Postgres ANALYZE).  Within [d, N]. */
double fp_distinct_estimate(double n, double d, double f1, double N);

#endif
