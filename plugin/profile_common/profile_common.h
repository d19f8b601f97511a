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
 *
 * The last section holds what every profile pass does around the engine
 * query: the shared options, the sampling SQL, the row count and putting
 * both aspects through the host table.
 */
#ifndef PROFILE_COMMON_H
#define PROFILE_COMMON_H

#include <catalog_sync/pass.h>
#include <jansson.h>
#include <stdbool.h>
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

/* ---- what every profile pass shares (pass.c) ---- */

/* Used only when the manifest gives no hash_key: hashes are then still
 * keyed, but comparable with every other installation that kept the
 * default, so operators are told to set their own. */
#define PROF_DEFAULT_HASH_KEY "catalog-sync default profile key; set hash_key"

/* The sampling and statistics options of a profile pass, for its
 * cs_option_decl array; `size_source` names the engine statistic that
 * min_rows_for_sampling is compared with. */
/* clang-format off */
#define PROF_OPTION_DECLS(size_source) \
    {"sample_percent", CS_OPT_NUMBER, "10", \
     "TABLESAMPLE BERNOULLI percentage; 100 = no TABLESAMPLE", 0}, \
    {"sample_rows", CS_OPT_INT, "1000", "LIMIT of the sampling query", 0}, \
    {"min_rows_for_sampling", CS_OPT_INT, "10000", \
     "tables with fewer rows (" size_source ") are read with LIMIT only", 0}, \
    {"top_k", CS_OPT_INT, "10", "most frequent values kept per column", 0}, \
    {"shapes_k", CS_OPT_INT, "5", "most frequent value shapes per column", \
     0}, \
    {"hash_key", CS_OPT_STRING, "\"" PROF_DEFAULT_HASH_KEY "\"", \
     "secret key of the top-value hashes (keep it stable to compare runs)", \
     0}
/* clang-format on */

/* The PROF_OPTION_DECLS options, validated. */
typedef struct prof_config {
    double sample_percent; /* (0, 100]; 100: never TABLESAMPLE */
    long sample_rows;      /* LIMIT of the sampling query */
    double min_rows_for_sampling;
    prof_options opts; /* top_k, shapes_k, key from hash_key */
} prof_config;

/* Reads the PROF_OPTION_DECLS options of the pass's config and registers
 * hash_key as a secret.  CS_OK, or CS_ERR_INVALID after host->set_error.
 * init() only. */
int prof_config_read(const cs_host_api *h, cs_ctx *ctx, prof_config *c);

/* The sampling query over `relation` (already quoted):
 *   SELECT * FROM <relation>[ TABLESAMPLE BERNOULLI (p)] LIMIT n
 * malloc'd, NULL on allocation failure. */
char *prof_sampling_sql(const prof_config *c, const char *relation,
                        bool sampled);

/* How the rows were read and what the engine knows of the table size. */
typedef struct prof_read {
    bool sampled;             /* TABLESAMPLE was used */
    double known_rows;        /* the engine's statistic; < 0: unknown */
    const char *known_source; /* its rowCountSource: "reltuples", "stats" */
} prof_read;

/* The table's row count and its rowCountSource (static string):
 *   "exact"       an unsampled read returned fewer than sample_rows rows;
 *   known_source  else the engine's statistic when known;
 *   "sample"      else rows x 100 / sample_percent of a sampled read;
 *   "lower_bound" else (an unsampled read stopped at the LIMIT). */
double prof_row_count(const prof_config *c, const prof_read *r, size_t nrows,
                      const char **source);

/* Computes the `profile` aspect ({rowCount, rowCountSource, sampleRows,
 * samplePercent, columns}) and, when a later pass wants it (or the host
 * cannot say), the raw `sample`, puts both and counts rows_sampled.
 * `what` names the table in the error message.  CS_OK, CS_ERR_NOMEM or
 * aspect_put's error, after host->set_error.  process() only. */
int prof_put_aspects(const cs_host_api *h, cs_ctx *ctx, const prof_config *c,
                     const prof_read *r, const prof_table *t, const char *what);

#ifdef __cplusplus
}
#endif
#endif
