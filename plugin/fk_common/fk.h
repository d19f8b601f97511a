/*
 * Foreign-key discovery building blocks shared by the `fingerprint` and
 * `fk_discover` passes (and the scale benchmark).
 *
 *  - value normalisation per type class, so that 42, "042" and 42.00 or
 *    'ABC ' and 'ABC' give one hash;
 *  - a keyed 64-bit hash of normalised values (SipHash-2-4 of
 *    profile_common, key from the same `hash_key` option semantics);
 *  - a bottom-k (KMV) sketch of distinct value hashes, k <= FK_KMV_K,
 *    with merge, 16-hex serialisation and Jaccard / containment
 *    estimators;
 *  - a fixed-size column record (fk_column, < 1 KiB) read from a
 *    `fingerprint` aspect column;
 *  - a candidate index: an inverted index hash -> parent columns, so that
 *    candidate parents of a child column are found through shared sketch
 *    hashes and never by enumerating all column pairs, then pruned by type
 *    family, uniqueness, distinct counts and value ranges.
 *
 * Estimator error.  With m child sketch hashes inside the range both
 * sketches cover, the containment estimate is a proportion over m
 * uniformly drawn distinct values: its standard error is
 * sqrt(c(1-c)/m) <= 1/(2 sqrt(m)), m <= k; the Jaccard estimate over the
 * k smallest hashes of the union likewise has error about 1/sqrt(k)
 * (k = 64: 0.125 worst case; 3/sqrt(k) = 0.375 is a safe bound).
 *
 * Samples.  Fingerprints describe samples (<= 1000 rows per table, small
 * tables whole).  A parent's sample may hold only a fraction f of its
 * keys, so the raw sketch overlap of a fully contained child is about f;
 * fk_kmv_containment_sampled() divides by f (see there) and reports the
 * support, and every candidate is only evidence: the decision belongs to
 * the SQL anti-join confirmation.
 *
 * Nothing here keeps global state.  Sketch and record functions are
 * reentrant; a built index is read-only and may be queried from several
 * threads at once, each with its own fk_cand_list.  Functions that
 * allocate report failure with NULL or -1.
 */
#ifndef FK_H
#define FK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- type classes ------------------------------------------------------ */

/* Mirrors the profile's typeClass names ("integer", "text", ...). */
typedef enum fk_class {
    FK_CLASS_OTHER = 0, /* json, binary, arrays, unknown: never a key */
    FK_CLASS_INTEGER,
    FK_CLASS_DECIMAL,
    FK_CLASS_TEXT,
    FK_CLASS_UUID,
    FK_CLASS_TEMPORAL,
    FK_CLASS_BOOLEAN /* never a key either */
} fk_class;

/* Families whose values may join: after normalisation an integer 5 and a
 * numeric 5.00 are the same text "5"; a uuid stored in a text column is
 * lowercased like a uuid column. */
typedef enum fk_family {
    FK_FAMILY_NONE = 0,
    FK_FAMILY_NUMBER, /* integer, decimal */
    FK_FAMILY_TEXT,   /* text, uuid */
    FK_FAMILY_TIME    /* temporal */
} fk_family;

/* From a profile typeClass name; NULL/unknown -> FK_CLASS_OTHER. */
fk_class fk_class_from_name(const char *type_class_name);
/* "integer", "decimal", "text", "uuid", "temporal", "boolean", "other". */
const char *fk_class_name(fk_class c);
fk_family fk_class_family(fk_class c);

/* ---- normalisation and hashing ----------------------------------------- */

/* Writes the canonical text of `value` for class `c` into out (always
 * NUL-terminated when outlen > 0) and returns its full length, as
 * snprintf does: a result >= outlen means `out` was cut.
 *   integer  -> optional '-', digits without leading zeros; "+0", "-0",
 *               "007" -> "0", "0", "7";
 *   decimal  -> integer part as above, fraction without trailing zeros,
 *               no '.' when the fraction is zero ("5.10" -> "5.1",
 *               "5.00" -> "5"); exponents are left as given;
 *   text     -> leading/trailing ASCII white space removed; text shaped
 *               like a uuid (8-4-4-4-12 hex) is lowercased;
 *   uuid     -> lowercase;
 *   temporal -> trimmed, 'T' date/time separator -> ' ', so
 *               "2024-01-02T03:04:05" == "2024-01-02 03:04:05";
 *   other    -> unchanged.
 * Inputs that do not parse as their class are returned trimmed. */
size_t fk_normalise(fk_class c, const char *value, char *out, size_t outlen);

/* Keyed hash of the normalised value.  key: 16 bytes, e.g. from
 * fk_key_from_string().  0 on success, -1 on allocation failure (values
 * longer than an internal buffer are normalised into heap memory). */
int fk_hash_value(const uint8_t key[16], fk_class c, const char *value,
                  uint64_t *out);
/* Same key derivation as the profile pass's `hash_key` option. */
void fk_key_from_string(const char *passphrase, uint8_t key[16]);

/* Numeric value of an integer/decimal text, or epoch seconds (UTC; an
 * explicit offset is applied) of a temporal text ("2024-01-02",
 * "2024-01-02 03:04:05.123+02", "03:04:05" -> seconds of day).
 * 0 on success, -1 when the text does not parse. */
int fk_value_number(fk_class c, const char *value, double *out);

/* 16 lowercase hex digits + NUL. */
void fk_hash_hex(uint64_t h, char out[17]);
/* 0, or -1 unless `hex` is exactly 16 hex digits. */
int fk_hash_parse(const char *hex, uint64_t *out);

/* ---- KMV (bottom-k) sketch --------------------------------------------- */

#define FK_KMV_K 64

/* The k smallest distinct hashes seen, ascending in h[0..n). */
typedef struct fk_kmv {
    uint64_t h[FK_KMV_K];
    uint16_t n; /* hashes held, <= k */
    uint16_t k; /* capacity in use, 1..FK_KMV_K */
} fk_kmv;

/* k is clamped to 1..FK_KMV_K. */
void fk_kmv_init(fk_kmv *s, unsigned k);
/* Adds one hash (duplicates ignored). */
void fk_kmv_add(fk_kmv *s, uint64_t h);
/* dst = bottom-k of (dst U src), dst's k. */
void fk_kmv_merge(fk_kmv *dst, const fk_kmv *src);
/* 1 when the sketch holds every distinct hash added (n < k). */
int fk_kmv_complete(const fk_kmv *s);
/* Distinct values added: n when complete, else (k-1) / (h[k-1]/2^64). */
double fk_kmv_distinct(const fk_kmv *s);
/* Number of hashes present in both sketches. */
size_t fk_kmv_shared(const fk_kmv *a, const fk_kmv *b);
/* Jaccard |A n B| / |A u B| of the sets the sketches were built from,
 * over the k smallest hashes of the union.  0 when both are empty. */
double fk_kmv_jaccard(const fk_kmv *a, const fk_kmv *b);
/* Containment |A n B| / |A| of A's set in B's set: among A's hashes not
 * above tau (the largest hash both sketches are exact up to), the share
 * present in B.  *support (may be NULL) = number of A's hashes compared;
 * 0 support gives 0. */
double fk_kmv_containment(const fk_kmv *a, const fk_kmv *b, size_t *support);
/* Containment of a child SAMPLE in the parent's FULL key set when the
 * parent sketch describes a sample holding a fraction parent_fraction
 * (0 < f <= 1) of the parent's distinct values: the raw containment
 * divided by f, capped at 1.  *expected_shared (may be NULL) = support x
 * f, the number of shared hashes a fully contained child should show;
 * below ~3 the estimate is weak and only SQL can decide. */
double fk_kmv_containment_sampled(const fk_kmv *child, const fk_kmv *parent,
                                  double parent_fraction, size_t *support,
                                  double *expected_shared);

/* Everything fk_kmv_shared and fk_kmv_containment(a, b) compute, in one
 * pass: shared = hashes in both; support = A's hashes not above tau;
 * shared_below = shared hashes not above tau (containment =
 * shared_below / support). */
typedef struct fk_kmv_overlap {
    size_t shared, support, shared_below;
} fk_kmv_overlap;
void fk_kmv_compare(const fk_kmv *a, const fk_kmv *b, fk_kmv_overlap *out);

/* JSON array of 16-hex strings, ascending.  New reference or NULL. */
json_t *fk_kmv_to_json(const fk_kmv *s);
/* Reads such an array into s (fk_kmv_init(s, k) first; hashes are
 * re-sorted and deduplicated).  0, or -1 naming the problem in err. */
int fk_kmv_from_json(const json_t *arr, unsigned k, fk_kmv *s, char *err,
                     size_t errlen);

/* ---- column record ----------------------------------------------------- */

enum {
    FK_COL_PK = 1u << 0,        /* declared primary key (single column) */
    FK_COL_UNIQUE = 1u << 1,    /* declared unique */
    FK_COL_HAS_RANGE = 1u << 2, /* min/max valid */
    FK_COL_WHOLE = 1u << 3      /* the sample is the whole table */
};

/* One column's fingerprint, fixed size, no names and no raw values: the
 * caller keeps names in a side table indexed like its fk_column array. */
typedef struct fk_column {
    fk_kmv kmv;
    double min, max;          /* numbers, temporal as epoch seconds */
    double null_fraction;     /* on the sample */
    double uniqueness;        /* sample_distinct / sample_non_null */
    double distinct_estimate; /* whole column */
    double row_count;         /* table rows (estimate), < 0 unknown */
    uint32_t sample_rows;
    uint32_t sample_non_null;
    uint32_t sample_distinct;
    uint32_t table_id; /* caller's table number (self-references) */
    uint32_t flags;    /* FK_COL_* */
    uint8_t cls;       /* fk_class */
} fk_column;

/* Reads one `fingerprint` column object ({"typeClass", "nullFraction",
 * "sampleNonNull", "sampleDistinct", "distinctEstimate", "uniqueness",
 * "min"?, "max"?, "kmv", "primaryKey", "unique"}) plus the table-level
 * rowCount / sampleRows into *out.  table_id is left 0.  0, or -1 with
 * the field and reason in err. */
int fk_column_from_json(const json_t *col, double row_count, double sample_rows,
                        fk_column *out, char *err, size_t errlen);
/* Share of the column's distinct values present in its sample, (0, 1]. */
double fk_column_sample_fraction(const fk_column *c);

/* ---- candidate index ---------------------------------------------------- */

typedef struct fk_index_opts {
    double min_uniqueness;     /* parent: sample uniqueness, default 0.9 */
    double distinct_tolerance; /* child distinct <= parent x this, 1.1 */
    double range_slack;        /* a partial parent sample's range is
                                  widened by max(this, 1/f - 1) of its
                                  width (f: fk_column_sample_fraction),
                                  default 0.05 */
    unsigned min_shared;       /* shared sketch hashes, default 1 */
    unsigned max_posting;      /* posting lists longer than this are
                                  skipped (value in too many parents, e.g.
                                  "1"), default 0 = no limit */
    unsigned max_per_hash;     /* parents taken per child hash and group
                                  (declared keys, sample-unique columns):
                                  the plausible ones of smallest distinct
                                  count that can still hold the child,
                                  default 16, 0 = no limit */
    unsigned max_candidates;   /* candidates kept per child, best first,
                                  default 32, 0 = no limit */
    unsigned gather_hashes;    /* parents are looked up through the
                                  child's this many smallest hashes (those
                                  a sampled parent's sketch is likeliest to
                                  hold; containment is then estimated on
                                  the whole sketch), default 16, 0 = all */
    unsigned max_evaluated;    /* parents whose sketches are compared in
                                  full per child, the best by what the
                                  lookups alone say (hashes met against
                                  hashes expected from the parent's sample
                                  fraction), default 64, 0 = all */
} fk_index_opts;

void fk_index_opts_default(fk_index_opts *o);

/* 1 when c may be a parent (unique-ish, joinable class, non-empty). */
int fk_column_parent_ok(const fk_column *c, const fk_index_opts *o);
/* 1 when c may be a child (joinable class, some non-null value). */
int fk_column_child_ok(const fk_column *c);

typedef struct fk_index fk_index;

/* Indexes the parent-eligible columns of cols[0..n).  cols is borrowed
 * and must outlive the index, unchanged (the index keeps a summary of each
 * parent); o may be NULL (defaults).  Memory is linear in n.  NULL on
 * allocation failure or n > UINT32_MAX. */
fk_index *fk_index_build(const fk_column *cols, size_t n,
                         const fk_index_opts *o);
void fk_index_free(fk_index *ix);
/* Bytes held by the index (not counting cols). */
size_t fk_index_memory(const fk_index *ix);
/* Parent-eligible columns indexed. */
size_t fk_index_parents(const fk_index *ix);

typedef struct fk_candidate {
    uint32_t parent;        /* index into cols */
    uint32_t shared;        /* shared sketch hashes */
    uint32_t support;       /* child hashes compared (see containment) */
    double containment;     /* fk_kmv_containment_sampled */
    double raw_containment; /* fk_kmv_containment, sample vs sample */
    double expected_shared; /* support x parent sample fraction */
    double parent_distinct; /* the parent's distinct estimate */
} fk_candidate;

/* Reusable result + scratch buffer; zero-initialise, one per thread. */
typedef struct fk_cand_list {
    fk_candidate *v;
    size_t n, cap;
    uint32_t *scratch;
    size_t scratch_cap;
} fk_cand_list;
void fk_cand_list_free(fk_cand_list *l);

#define FK_NO_SELF ((size_t)-1)

/* Candidate parents of `child` (any record; `self` = its index in cols to
 * skip, or FK_NO_SELF), after pruning: same family, parent unique-ish,
 * child distinct <= parent distinct x tolerance, child [min,max] within
 * parent [min,max] when both have ranges, shared hashes >= min_shared.
 * Work is bounded per child: each of its hashes contributes at most
 * max_per_hash plausible declared keys and as many columns only unique on
 * their sample, those of smallest distinct count (the tightest fit:
 * surrogate keys 1..n of every table share the small values, and a child
 * covering most of a parent's keys sits next to it in that order), and at
 * most max_candidates are kept.  Sorted by containment,
 * then shared hashes, then parent distinct count ascending.  Replaces
 * out->v[0..n).  0, or -1 on allocation failure. */
int fk_index_candidates(const fk_index *ix, const fk_column *child, size_t self,
                        fk_cand_list *out);

/* Every child-eligible column of the indexed array against the index,
 * on `threads` threads (0 or 1: the calling thread).  *out: malloc'd
 * array of *n pairs (free()), ordered by child.  0, or -1. */
typedef struct fk_pair {
    uint32_t child;
    fk_candidate c;
} fk_pair;
int fk_index_candidates_all(const fk_index *ix, unsigned threads, fk_pair **out,
                            size_t *n);

/* Streams the candidates of every child-eligible column of the indexed
 * array to fn(ud, thread, child, list) on `threads` threads (0 or 1: the
 * calling thread), children ordered by their smallest sketch hash so that
 * neighbours read the same postings and parent records while they are in
 * cache; nothing is kept between two calls, so memory stays that of the
 * records and the index.  fn runs on the worker threads (thread =
 * 0..threads-1) and must only touch per-thread state; the list is
 * borrowed for the call.  0, or -1 on allocation failure. */
typedef void (*fk_cand_fn)(void *ud, unsigned thread, size_t child,
                           const fk_cand_list *l);
int fk_index_candidates_each(const fk_index *ix, unsigned threads,
                             fk_cand_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
