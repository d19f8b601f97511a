/*
 * Profile computation shared by the profile passes (Postgres, Trino).
 *
 * A pass copies the rows of its one sampling query into a prof_table (a
 * generic in-memory table of strings, NULL = SQL NULL) and asks for two
 * JSON documents:
 *   - prof_profile_json(): the non-raw `profile` columns.  By design it
 *     holds no cell value of a text-like column: only counts, keyed
 *     SipHash-2-4 hashes of values, value shapes ("Aaaa.aaaa@aaaa.aa"),
 *     average lengths, and min/max of numeric and temporal columns.
 *   - prof_sample_json(): the raw `sample` aspect (rows plus readable top
 *     values and min/max of every column).
 *
 * Nothing here does I/O or keeps global state, so every function is safe
 * to call from several threads on distinct tables.  Functions that
 * allocate return NULL (or -1) on allocation failure.
 */
#ifndef PROFILE_COMMON_H
#define PROFILE_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Coarse class of an engine type; decides what may be shown. */
typedef enum prof_type_class {
    PROF_TEXT = 0,
    PROF_INTEGER,
    PROF_DECIMAL,
    PROF_BOOLEAN,
    PROF_TEMPORAL,
    PROF_UUID,
    PROF_JSON,
    PROF_BINARY,
    PROF_OTHER
} prof_type_class;

/* Classifies a Postgres typname ("int4", "timestamptz", "_text") or a
 * Trino type ("varchar(10)", "decimal(10,2)", "timestamp(3) with time
 * zone").  NULL or unknown names give PROF_OTHER. */
prof_type_class prof_type_class_of(const char *engine_type);
/* "text", "integer", ... (static string). */
const char *prof_type_class_name(prof_type_class c);
/* True for the classes whose min/max may appear in the non-raw profile. */
int prof_type_class_has_range(prof_type_class c);

/* SipHash-2-4 (Aumasson & Bernstein) of `len` bytes under a 128-bit key. */
uint64_t prof_siphash24(const uint8_t key[16], const void *data, size_t len);
/* Derives a 128-bit key from a passphrase (deterministic). */
void prof_key_from_string(const char *passphrase, uint8_t key[16]);

/* Writes the shape of the NUL-terminated UTF-8 `value` into `out` (always
 * NUL-terminated when outlen > 0): A-Z -> 'A', a-z -> 'a', 0-9 -> '9',
 * other characters kept, non-ASCII letters -> 'A'/'a', invalid UTF-8 bytes
 * -> '?'.  Shapes longer than PROF_SHAPE_MAX characters are cut and end
 * with "…".  outlen of PROF_SHAPE_BUF is always enough. */
#define PROF_SHAPE_MAX 32
#define PROF_SHAPE_BUF (PROF_SHAPE_MAX * 4 + 4)
void prof_shape(const char *value, char *out, size_t outlen);

/* Number of characters (UTF-8 code points) of a NUL-terminated string. */
size_t prof_utf8_length(const char *s);

/* The sample: ncols named, typed columns and rows of cell strings. */
typedef struct prof_table prof_table;

/* Copies names and engine types.  Returns NULL on allocation failure. */
prof_table *prof_table_new(size_t ncols, const char *const *names,
                           const char *const *types);
/* Appends one row, copying the `ncols` cells (NULL = SQL NULL).
 * Returns 0, or -1 on allocation failure (the table is unchanged). */
int prof_table_add_row(prof_table *t, const char *const *cells);
size_t prof_table_ncols(const prof_table *t);
size_t prof_table_nrows(const prof_table *t);
const char *prof_table_colname(const prof_table *t, size_t col);
const char *prof_table_coltype(const prof_table *t, size_t col);
/* Borrowed cell text, NULL for SQL NULL. */
const char *prof_table_cell(const prof_table *t, size_t row, size_t col);
void prof_table_free(prof_table *t);

typedef struct prof_options {
    size_t top_k;    /* most frequent values kept per column */
    size_t shapes_k; /* most frequent shapes kept per column */
    uint8_t key[16]; /* SipHash key of the value hashes */
} prof_options;

/* The `columns` object of the profile aspect:
 *   {name: {dataType, typeClass, nullCount, nullFraction, distinctCount,
 *           uniqueness, topValues: [{hash, count}], min?, max?, avgLength,
 *           shapes: [{shape, count}]}}
 * New reference, NULL on allocation failure. */
json_t *prof_profile_columns(const prof_table *t, const prof_options *o);

/* The raw `sample` aspect:
 *   {columns: [{name, type}], rows: [[cell|null, ...]],
 *    columnsStats: {name: {topValues: [{value, count}], min?, max?}}}
 * New reference, NULL on allocation failure. */
json_t *prof_sample_json(const prof_table *t, size_t top_k);

/* Both at once, each column's statistics computed once: *columns as
 * prof_profile_columns, *sample as prof_sample_json (with o->top_k).
 * Either pointer may be NULL to skip that document.  0, or -1 on
 * allocation failure (nothing returned). */
int prof_profile_and_sample(const prof_table *t, const prof_options *o,
                            json_t **columns, json_t **sample);

/* A JSON string of `s`, with invalid UTF-8 bytes replaced by '?'. */
json_t *prof_json_string(const char *s);

#ifdef __cplusplus
}
#endif
#endif
