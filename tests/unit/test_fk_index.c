/* fk_common's candidate index: parents are found through shared sketch
 * hashes, and pruned by type family, uniqueness, distinct counts and
 * ranges; memory stays linear and small per column (no all-pairs). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fk.h"

static uint8_t key[16];

/* A column holding the integers lo..hi (each `dup` times in the sample),
 * read whole unless `row_count` says the table is bigger. */
static fk_column int_col(fk_class cls, long lo, long hi, int dup,
                         double row_count)
{
    fk_column c;
    memset(&c, 0, sizeof c);
    fk_kmv_init(&c.kmv, FK_KMV_K);
    for (long i = lo; i <= hi; i++) {
        char v[24];
        uint64_t h;
        snprintf(v, sizeof v, "%ld", i);
        assert_int_equal(fk_hash_value(key, cls, v, &h), 0);
        fk_kmv_add(&c.kmv, h);
    }
    double d = (double)(hi - lo + 1);
    c.cls = (uint8_t)cls;
    c.sample_distinct = (uint32_t)d;
    c.sample_non_null = (uint32_t)(d * dup);
    c.sample_rows = c.sample_non_null;
    c.uniqueness = 1.0 / dup;
    c.row_count = row_count > 0 ? row_count : d * dup;
    c.distinct_estimate = row_count > 0 ? row_count / dup : d;
    if (row_count <= 0)
        c.flags |= FK_COL_WHOLE;
    if (cls != FK_CLASS_TEXT) {
        c.min = (double)lo;
        c.max = (double)hi;
        c.flags |= FK_COL_HAS_RANGE;
    }
    return c;
}

/* Candidates of cols[child] as a list of parent numbers. */
static size_t cands(const fk_index *ix, const fk_column *cols, size_t child,
                    fk_cand_list *l)
{
    assert_int_equal(fk_index_candidates(ix, &cols[child], child, l), 0);
    return l->n;
}

static int has_parent(const fk_cand_list *l, uint32_t p)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].parent == p)
            return 1;
    return 0;
}

static void test_found_through_shared_hashes(void **state)
{
    (void)state;
    fk_column cols[3] = {
        int_col(FK_CLASS_INTEGER, 1, 1000, 1, 0),   /* parent */
        int_col(FK_CLASS_INTEGER, 1, 1000, 3, 0),   /* child, dups */
        int_col(FK_CLASS_INTEGER, 5001, 6000, 1, 0) /* unrelated key */
    };
    fk_index *ix = fk_index_build(cols, 3, NULL);
    assert_non_null(ix);
    assert_int_equal(fk_index_parents(ix), 2);
    fk_cand_list l = {0};
    assert_int_equal(cands(ix, cols, 1, &l), 1);
    assert_int_equal(l.v[0].parent, 0);
    assert_true(l.v[0].containment == 1.0);
    assert_true(l.v[0].shared == FK_KMV_K);
    /* The parent itself is skipped as its own parent; the unrelated key
     * shares nothing with anyone. */
    assert_int_equal(cands(ix, cols, 0, &l), 0);
    assert_int_equal(cands(ix, cols, 2, &l), 0);
    /* A record outside the array may be queried too. */
    fk_column ext = int_col(FK_CLASS_INTEGER, 100, 200, 2, 0);
    assert_int_equal(fk_index_candidates(ix, &ext, FK_NO_SELF, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].parent, 0);
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

static void test_type_family_pruned(void **state)
{
    (void)state;
    /* Text "1".."1000" hashes like the integers 1..1000, but a text
     * column is no parent of an integer one. */
    fk_column cols[3] = {int_col(FK_CLASS_TEXT, 1, 1000, 1, 0),
                         int_col(FK_CLASS_INTEGER, 1, 1000, 2, 0),
                         int_col(FK_CLASS_DECIMAL, 1, 1000, 1, 0)};
    fk_index *ix = fk_index_build(cols, 3, NULL);
    fk_cand_list l = {0};
    cands(ix, cols, 1, &l);
    assert_false(has_parent(&l, 0));
    /* integer and decimal are one family: 7 and 7.00 join. */
    assert_true(has_parent(&l, 2));
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

static void test_uniqueness_required(void **state)
{
    (void)state;
    fk_column cols[2] = {int_col(FK_CLASS_INTEGER, 1, 1000, 2, 0),
                         int_col(FK_CLASS_INTEGER, 1, 500, 2, 0)};
    fk_index_opts o;
    fk_index_opts_default(&o);
    assert_false(fk_column_parent_ok(&cols[0], &o));
    fk_index *ix = fk_index_build(cols, 2, &o);
    assert_int_equal(fk_index_parents(ix), 0);
    fk_cand_list l = {0};
    assert_int_equal(cands(ix, cols, 1, &l), 0);
    fk_index_free(ix);
    /* A declared key is a parent whatever its sample says. */
    cols[0].flags |= FK_COL_PK;
    ix = fk_index_build(cols, 2, &o);
    assert_int_equal(fk_index_parents(ix), 1);
    assert_int_equal(cands(ix, cols, 1, &l), 1);
    fk_cand_list_free(&l);
    fk_index_free(ix);
    /* Booleans and unknown classes are neither parents nor children. */
    fk_column b = int_col(FK_CLASS_BOOLEAN, 0, 1, 1, 0);
    assert_false(fk_column_parent_ok(&b, &o));
    assert_false(fk_column_child_ok(&b));
}

static void test_range_pruned(void **state)
{
    (void)state;
    fk_column cols[3] = {int_col(FK_CLASS_INTEGER, 1, 1000, 1, 0),
                         int_col(FK_CLASS_INTEGER, 500, 1500, 2, 0),
                         int_col(FK_CLASS_INTEGER, 1, 1000, 1, 0)};
    /* Values 500..1500 share hashes with 1..1000 but reach beyond its
     * whole-table range. */
    fk_index *ix = fk_index_build(cols, 3, NULL);
    fk_cand_list l = {0};
    assert_false(cands(ix, cols, 1, &l) > 0 && has_parent(&l, 0));
    fk_index_free(ix);
    /* A parent known only from a sample (a fifth of its keys) may have
     * keys beyond its sample's range: not pruned. */
    cols[0].flags &= ~(uint32_t)FK_COL_WHOLE;
    cols[0].row_count = 5000;
    cols[0].distinct_estimate = 5000;
    ix = fk_index_build(cols, 3, NULL);
    cands(ix, cols, 1, &l);
    assert_true(has_parent(&l, 0));
    /* The raw overlap is corrected for the parent's sample fraction. */
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].parent == 0) {
            assert_true(l.v[i].containment >= l.v[i].raw_containment);
            assert_true(l.v[i].expected_shared <= l.v[i].support * 0.2 + 1e-9);
        }
    fk_index_free(ix);
    /* A parent of unknown size (a LIMIT read of a never-analyzed table):
     * its sample is a prefix, so its range says nothing. */
    cols[0].row_count = -1;
    cols[0].distinct_estimate = 1000;
    ix = fk_index_build(cols, 3, NULL);
    cands(ix, cols, 1, &l);
    assert_true(has_parent(&l, 0));
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

static void test_distinct_pruned(void **state)
{
    (void)state;
    /* 1000 distinct child values cannot all be among 100 parent keys. */
    fk_column cols[2] = {int_col(FK_CLASS_INTEGER, 1, 100, 1, 0),
                         int_col(FK_CLASS_INTEGER, 1, 1000, 1, 0)};
    cols[1].flags &= ~(uint32_t)FK_COL_HAS_RANGE; /* only the count left */
    fk_index *ix = fk_index_build(cols, 2, NULL);
    fk_cand_list l = {0};
    cands(ix, cols, 1, &l);
    assert_false(has_parent(&l, 0));
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

static void test_sorted_by_containment(void **state)
{
    (void)state;
    fk_column cols[3] = {
        int_col(FK_CLASS_INTEGER, 1, 40, 1, 0),  /* holds the child */
        int_col(FK_CLASS_INTEGER, 11, 60, 1, 0), /* holds half of it */
        int_col(FK_CLASS_INTEGER, 1, 20, 2, 0)}; /* child: 1..20 */
    fk_index *ix = fk_index_build(cols, 3, NULL);
    fk_cand_list l = {0};
    cands(ix, cols, 2, &l);
    /* Parent 1's range (11..60) excludes 1..20: only parent 0 remains. */
    assert_int_equal(l.n, 1);
    /* The index summarises the records when built: rebuild after a
     * change. */
    cols[1].flags &= ~(uint32_t)FK_COL_HAS_RANGE;
    fk_index_free(ix);
    ix = fk_index_build(cols, 3, NULL);
    cands(ix, cols, 2, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].parent, 0);
    assert_true(l.v[0].containment == 1.0);
    assert_true(l.v[1].containment == 0.5);
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

/* Synthetic columns: parents are unique key ranges, children draw from
 * one parent each. */
static fk_column *synthetic(size_t n)
{
    fk_column *cols = malloc(n * sizeof *cols);
    assert_non_null(cols);
    for (size_t i = 0; i < n; i++) {
        long base = (long)(i / 2) * 1000;
        cols[i] =
            int_col(FK_CLASS_INTEGER, base + 1, base + 100, i % 2 ? 3 : 1, 0);
    }
    return cols;
}

static void test_memory_linear_and_small(void **state)
{
    (void)state;
    size_t n1 = 4000, n2 = 8000;
    fk_column *a = synthetic(n1), *b = synthetic(n2);
    fk_index *ia = fk_index_build(a, n1, NULL),
             *ib = fk_index_build(b, n2, NULL);
    assert_non_null(ia);
    assert_non_null(ib);
    double per_a = (double)fk_index_memory(ia) / (double)n1;
    double per_b = (double)fk_index_memory(ib) / (double)n2;
    /* Half of the columns are parents with a full sketch (64 hashes):
     * about 7 bytes per posting, nothing per child. */
    print_message("index bytes per column: %.0f (%zu), %.0f (%zu)\n", per_a, n1,
                  per_b, n2);
    assert_true(per_a <= 300 && per_b <= 300);
    assert_true(per_b <= per_a * 1.3 && per_a <= per_b * 1.3);
    assert_true(per_a + sizeof(fk_column) <= 1024);
    /* Every child finds exactly its own parent: nothing from the other
     * 3999 columns. */
    fk_pair *pairs;
    size_t np;
    assert_int_equal(fk_index_candidates_all(ia, 1, &pairs, &np), 0);
    assert_int_equal(np, n1 / 2);
    for (size_t i = 0; i < np; i++) {
        assert_int_equal(pairs[i].child % 2, 1);
        assert_int_equal(pairs[i].c.parent, pairs[i].child - 1);
    }
    /* Threads give the same pairs in the same order. */
    fk_pair *pairs2;
    size_t np2;
    assert_int_equal(fk_index_candidates_all(ia, 3, &pairs2, &np2), 0);
    assert_int_equal(np2, np);
    for (size_t i = 0; i < np; i++) {
        assert_int_equal(pairs2[i].child, pairs[i].child);
        assert_int_equal(pairs2[i].c.parent, pairs[i].c.parent);
    }
    free(pairs);
    free(pairs2);
    fk_index_free(ia);
    fk_index_free(ib);
    free(a);
    free(b);
}

static void test_max_posting(void **state)
{
    (void)state;
    /* Ten small lookup tables with keys 1..3 and a child 1..3: every
     * hash is in ten parents; max_posting 5 skips such common values. */
    fk_column cols[11];
    for (int i = 0; i < 10; i++)
        cols[i] = int_col(FK_CLASS_INTEGER, 1, 3, 1, 0);
    cols[10] = int_col(FK_CLASS_INTEGER, 1, 3, 4, 0);
    fk_index_opts o;
    fk_index_opts_default(&o);
    o.max_per_hash = 0;
    fk_index *ix = fk_index_build(cols, 11, &o);
    fk_cand_list l = {0};
    assert_int_equal(cands(ix, cols, 10, &l), 10);
    fk_index_free(ix);
    o.max_posting = 5;
    ix = fk_index_build(cols, 11, &o);
    assert_int_equal(cands(ix, cols, 10, &l), 0);
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

/* Twenty declared keys 1..100+10i all hold a child 1..100: with a bound
 * per hash the tightest ones are taken, the exact fit first. */
static void test_bounded_per_hash_tightest_first(void **state)
{
    (void)state;
    fk_column cols[21];
    for (int i = 0; i < 20; i++) {
        cols[i] = int_col(FK_CLASS_INTEGER, 1, 100 + 10 * (19 - i), 1, 0);
        cols[i].flags |= FK_COL_PK;
    }
    cols[20] = int_col(FK_CLASS_INTEGER, 1, 100, 3, 0);
    fk_index_opts o;
    fk_index_opts_default(&o);
    o.max_per_hash = 0;
    fk_index *ix = fk_index_build(cols, 21, &o);
    fk_cand_list l = {0};
    assert_int_equal(cands(ix, cols, 20, &l), 20);
    fk_index_free(ix);
    o.max_per_hash = 4;
    ix = fk_index_build(cols, 21, &o);
    assert_int_equal(cands(ix, cols, 20, &l), 4);
    /* cols[19] is 1..100, then 1..110, 1..120, 1..130. */
    for (uint32_t p = 16; p < 20; p++)
        assert_true(has_parent(&l, p));
    assert_int_equal(l.v[0].parent, 19);
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

/* Declared keys do not crowd out a column that is only unique on its
 * sample, nor the reverse: each group has its own bound. */
static void test_groups_bounded_separately(void **state)
{
    (void)state;
    fk_column cols[12];
    for (int i = 0; i < 10; i++) {
        cols[i] = int_col(FK_CLASS_INTEGER, 1, 100, 1, 0);
        cols[i].flags |= FK_COL_UNIQUE;
    }
    cols[10] = int_col(FK_CLASS_INTEGER, 1, 200, 1, 0); /* undeclared */
    cols[11] = int_col(FK_CLASS_INTEGER, 1, 100, 2, 0); /* child */
    fk_index_opts o;
    fk_index_opts_default(&o);
    o.max_per_hash = 2;
    fk_index *ix = fk_index_build(cols, 12, &o);
    fk_cand_list l = {0};
    assert_int_equal(cands(ix, cols, 11, &l), 3);
    assert_true(has_parent(&l, 10));
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

static void test_max_candidates_keeps_the_best(void **state)
{
    (void)state;
    fk_column cols[7];
    for (int i = 0; i < 6; i++) /* all hold 1..40; 1..40 fits best */
        cols[i] = int_col(FK_CLASS_INTEGER, 1, 40 + 5 * i, 1, 0);
    cols[6] = int_col(FK_CLASS_INTEGER, 1, 40, 2, 0);
    fk_index_opts o;
    fk_index_opts_default(&o);
    o.max_candidates = 2;
    fk_index *ix = fk_index_build(cols, 7, &o);
    fk_cand_list l = {0};
    assert_int_equal(cands(ix, cols, 6, &l), 2);
    assert_int_equal(l.v[0].parent, 0);
    assert_int_equal(l.v[1].parent, 1);
    fk_cand_list_free(&l);
    fk_index_free(ix);
}

/* The one-pass comparison gives what the separate estimators give. */
static void test_kmv_compare_matches_estimators(void **state)
{
    (void)state;
    for (long shift = 0; shift < 400; shift += 37) {
        fk_column a = int_col(FK_CLASS_INTEGER, 1, 300, 1, 0);
        fk_column b =
            int_col(FK_CLASS_INTEGER, 1 + shift, 200 + 2 * shift, 1, 0);
        fk_kmv_overlap o;
        size_t support;
        double c = fk_kmv_containment(&a.kmv, &b.kmv, &support);
        fk_kmv_compare(&a.kmv, &b.kmv, &o);
        assert_int_equal(o.shared, fk_kmv_shared(&a.kmv, &b.kmv));
        assert_int_equal(o.support, support);
        assert_true(
            fabs(c - (o.support ? (double)o.shared_below / (double)o.support
                                : 0)) < 1e-12);
    }
}

/* Streaming visits every child once, on any thread, with the same
 * candidates as a direct query. */
struct seen {
    const fk_index *ix;
    const fk_column *cols;
    int *visits;
    int mismatches;
};

static void check_child(void *ud, unsigned thread, size_t child,
                        const fk_cand_list *l)
{
    struct seen *s = ud;
    (void)thread;
    __atomic_add_fetch(&s->visits[child], 1, __ATOMIC_RELAXED);
    fk_cand_list direct = {0};
    fk_index_candidates(s->ix, &s->cols[child], child, &direct);
    int same = direct.n == l->n;
    for (size_t i = 0; same && i < l->n; i++)
        same = direct.v[i].parent == l->v[i].parent;
    if (!same)
        __atomic_add_fetch(&s->mismatches, 1, __ATOMIC_RELAXED);
    fk_cand_list_free(&direct);
}

static void test_stream_visits_every_child_once(void **state)
{
    (void)state;
    size_t n = 2000;
    fk_column *cols = synthetic(n);
    fk_index *ix = fk_index_build(cols, n, NULL);
    struct seen s = {ix, cols, calloc(n, sizeof(int)), 0};
    assert_int_equal(fk_index_candidates_each(ix, 3, check_child, &s), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(s.visits[i], fk_column_child_ok(&cols[i]) ? 1 : 0);
    assert_int_equal(s.mismatches, 0);
    free(s.visits);
    fk_index_free(ix);
    free(cols);
}

static int setup(void **state)
{
    (void)state;
    fk_key_from_string("index tests", key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_through_shared_hashes),
        cmocka_unit_test(test_type_family_pruned),
        cmocka_unit_test(test_uniqueness_required),
        cmocka_unit_test(test_range_pruned),
        cmocka_unit_test(test_distinct_pruned),
        cmocka_unit_test(test_sorted_by_containment),
        cmocka_unit_test(test_memory_linear_and_small),
        cmocka_unit_test(test_max_posting),
        cmocka_unit_test(test_bounded_per_hash_tightest_first),
        cmocka_unit_test(test_groups_bounded_separately),
        cmocka_unit_test(test_max_candidates_keeps_the_best),
        cmocka_unit_test(test_kmv_compare_matches_estimators),
        cmocka_unit_test(test_stream_visits_every_child_once),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
