/* fk_common's values and sketches: normalisation per type class, stable
 * keyed hashes, KMV estimates within their documented error bounds on
 * known sets, merge, and the 16-hex serialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "fk.h"
#include "profile_common.h"

/* 3 standard errors of a proportion over k items, worst case. */
#define BOUND(k) (3.0 / sqrt((double)(k)))

static const char *norm(fk_class c, const char *v)
{
    static char buf[128];
    fk_normalise(c, v, buf, sizeof buf);
    return buf;
}

static void test_normalise_numbers(void **state)
{
    (void)state;
    assert_string_equal(norm(FK_CLASS_INTEGER, "007"), "7");
    assert_string_equal(norm(FK_CLASS_INTEGER, " +12 "), "12");
    assert_string_equal(norm(FK_CLASS_INTEGER, "-0"), "0");
    assert_string_equal(norm(FK_CLASS_INTEGER, "-0042"), "-42");
    assert_string_equal(norm(FK_CLASS_DECIMAL, "5.00"), "5");
    assert_string_equal(norm(FK_CLASS_DECIMAL, "5.10"), "5.1");
    assert_string_equal(norm(FK_CLASS_DECIMAL, "-.50"), "-0.5");
    assert_string_equal(norm(FK_CLASS_DECIMAL, "0.000"), "0");
    /* Not a plain number: kept (trimmed) rather than guessed at. */
    assert_string_equal(norm(FK_CLASS_DECIMAL, "1e3"), "1e3");
    assert_string_equal(norm(FK_CLASS_INTEGER, "12a"), "12a");
}

static void test_normalise_text_uuid_time(void **state)
{
    (void)state;
    assert_string_equal(norm(FK_CLASS_TEXT, "  ABC  "), "ABC");
    assert_string_equal(
        norm(FK_CLASS_UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_string_equal(
        norm(FK_CLASS_TEXT, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_string_equal(norm(FK_CLASS_TEXT, "Hello World"), "Hello World");
    assert_string_equal(norm(FK_CLASS_TEMPORAL, "2024-01-02T03:04:05"),
                        "2024-01-02 03:04:05");
    char small[4];
    /* snprintf-like: the full length, a cut and terminated buffer. */
    assert_int_equal(fk_normalise(FK_CLASS_TEXT, "abcdef", small, sizeof small),
                     6);
    assert_string_equal(small, "abc");
}

static void test_classes(void **state)
{
    (void)state;
    assert_int_equal(fk_class_from_name("integer"), FK_CLASS_INTEGER);
    assert_int_equal(fk_class_from_name("json"), FK_CLASS_OTHER);
    assert_int_equal(fk_class_from_name(NULL), FK_CLASS_OTHER);
    assert_string_equal(fk_class_name(FK_CLASS_UUID), "uuid");
    assert_int_equal(fk_class_family(FK_CLASS_INTEGER),
                     fk_class_family(FK_CLASS_DECIMAL));
    assert_int_equal(fk_class_family(FK_CLASS_UUID), FK_FAMILY_TEXT);
    assert_int_equal(fk_class_family(FK_CLASS_BOOLEAN), FK_FAMILY_NONE);
    assert_int_not_equal(fk_class_family(FK_CLASS_TEXT),
                         fk_class_family(FK_CLASS_INTEGER));
}

static uint64_t hv(const uint8_t key[16], fk_class c, const char *v)
{
    uint64_t h;
    assert_int_equal(fk_hash_value(key, c, v, &h), 0);
    return h;
}

static void test_hash_stability(void **state)
{
    (void)state;
    uint8_t k1[16], k2[16];
    fk_key_from_string("one key", k1);
    fk_key_from_string("another key", k2);
    /* Equal after normalisation -> equal hash, across classes too. */
    assert_true(hv(k1, FK_CLASS_INTEGER, "007") ==
                hv(k1, FK_CLASS_DECIMAL, "7.00"));
    assert_true(hv(k1, FK_CLASS_TEXT, "x ") == hv(k1, FK_CLASS_TEXT, "x"));
    /* The hash is the profile's keyed SipHash of the canonical text. */
    assert_true(hv(k1, FK_CLASS_INTEGER, "007") == prof_siphash24(k1, "7", 1));
    assert_true(hv(k1, FK_CLASS_INTEGER, "7") != hv(k2, FK_CLASS_INTEGER, "7"));
    assert_true(hv(k1, FK_CLASS_INTEGER, "7") != hv(k1, FK_CLASS_INTEGER, "8"));
    /* Long values are hashed whole, not cut. */
    char a[600], b[600];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'y';
    assert_true(hv(k1, FK_CLASS_TEXT, a) != hv(k1, FK_CLASS_TEXT, b));
}

static void test_hex(void **state)
{
    (void)state;
    char hex[17];
    uint64_t back;
    fk_hash_hex(0x0123456789abcdefULL, hex);
    assert_string_equal(hex, "0123456789abcdef");
    assert_int_equal(fk_hash_parse(hex, &back), 0);
    assert_true(back == 0x0123456789abcdefULL);
    assert_int_equal(fk_hash_parse("0123456789ABCDEF", &back), 0);
    assert_int_equal(fk_hash_parse("0123", &back), -1);
    assert_int_equal(fk_hash_parse("0123456789abcdef0", &back), -1);
    assert_int_equal(fk_hash_parse("0123456789abcdeg", &back), -1);
    assert_int_equal(fk_hash_parse(NULL, &back), -1);
}

static void test_value_number(void **state)
{
    (void)state;
    double v;
    assert_int_equal(fk_value_number(FK_CLASS_INTEGER, " 42 ", &v), 0);
    assert_true(v == 42);
    assert_int_equal(fk_value_number(FK_CLASS_DECIMAL, "x", &v), -1);
    assert_int_equal(fk_value_number(FK_CLASS_TEXT, "1", &v), -1);
    assert_int_equal(fk_value_number(FK_CLASS_TEMPORAL, "1970-01-02", &v), 0);
    assert_true(v == 86400);
    assert_int_equal(fk_value_number(FK_CLASS_TEMPORAL, "2024-01-02", &v), 0);
    assert_true(v == 19724.0 * 86400);
    assert_int_equal(
        fk_value_number(FK_CLASS_TEMPORAL, "1970-01-01 02:00:00+02", &v), 0);
    assert_true(v == 0);
    assert_int_equal(
        fk_value_number(FK_CLASS_TEMPORAL, "1970-01-01T00:00:01.5", &v), 0);
    assert_true(v == 1.5);
    assert_int_equal(fk_value_number(FK_CLASS_TEMPORAL, "03:00:00", &v), 0);
    assert_true(v == 10800);
    assert_int_equal(fk_value_number(FK_CLASS_TEMPORAL, "2024-13-01", &v), -1);
}

/* Sketch of the integers lo..hi under `key`. */
static void range_sketch(const uint8_t key[16], long lo, long hi, fk_kmv *s)
{
    fk_kmv_init(s, FK_KMV_K);
    for (long i = lo; i <= hi; i++) {
        char v[24];
        snprintf(v, sizeof v, "%ld", i);
        fk_kmv_add(s, hv(key, FK_CLASS_INTEGER, v));
    }
}

static void test_kmv_basics(void **state)
{
    (void)state;
    fk_kmv s;
    fk_kmv_init(&s, 4);
    assert_int_equal(s.k, 4);
    uint64_t in[] = {50, 10, 40, 10, 30, 20, 60, 5};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        fk_kmv_add(&s, in[i]);
    assert_int_equal(s.n, 4);
    assert_true(s.h[0] == 5 && s.h[1] == 10 && s.h[2] == 20 && s.h[3] == 30);
    assert_false(fk_kmv_complete(&s));
    fk_kmv_init(&s, 1000); /* clamped */
    assert_int_equal(s.k, FK_KMV_K);
    fk_kmv_add(&s, 7);
    fk_kmv_add(&s, 7);
    assert_int_equal(s.n, 1);
    assert_true(fk_kmv_complete(&s));
    assert_true(fk_kmv_distinct(&s) == 1);
}

static void test_kmv_distinct_estimate(void **state)
{
    (void)state;
    uint8_t key[16];
    fk_key_from_string("distinct", key);
    fk_kmv s;
    range_sketch(key, 1, 100000, &s);
    double est = fk_kmv_distinct(&s);
    assert_true(fabs(est / 100000.0 - 1.0) < BOUND(FK_KMV_K));
    range_sketch(key, 1, 50, &s);
    assert_true(fk_kmv_complete(&s));
    assert_true(fk_kmv_distinct(&s) == 50);
}

static void test_containment_known_sets(void **state)
{
    (void)state;
    /* Several keys: each estimate within 3/sqrt(k), their mean within
     * 3/sqrt(k * keys). */
    double sum_ab = 0, sum_ba = 0, sum_j = 0;
    const int keys = 8;
    for (int t = 0; t < keys; t++) {
        char name[32];
        uint8_t key[16];
        snprintf(name, sizeof name, "key %d", t);
        fk_key_from_string(name, key);
        fk_kmv a, b, c, d;
        range_sketch(key, 1, 10000, &a);
        range_sketch(key, 1, 20000, &b);
        range_sketch(key, 30001, 40000, &c);
        range_sketch(key, 5001, 15000, &d);
        size_t support;
        double ab = fk_kmv_containment(&a, &b, &support);
        assert_true(fabs(ab - 1.0) <= BOUND(FK_KMV_K));
        assert_true(support > 0);
        double ba = fk_kmv_containment(&b, &a, NULL);
        assert_true(fabs(ba - 0.5) <= BOUND(FK_KMV_K));
        /* Disjoint: no shared hash at all, so exactly 0. */
        assert_true(fk_kmv_containment(&a, &c, NULL) == 0.0);
        assert_int_equal(fk_kmv_shared(&a, &c), 0);
        assert_true(fk_kmv_jaccard(&a, &c) == 0.0);
        /* |A n D| = 5000, |A u D| = 15000. */
        double j = fk_kmv_jaccard(&a, &d);
        assert_true(fabs(j - 1.0 / 3.0) <= BOUND(FK_KMV_K));
        assert_true(fk_kmv_jaccard(&a, &a) == 1.0);
        sum_ab += ab;
        sum_ba += ba;
        sum_j += j;
    }
    double tight = BOUND(FK_KMV_K * keys);
    assert_true(fabs(sum_ab / keys - 1.0) <= tight);
    assert_true(fabs(sum_ba / keys - 0.5) <= tight);
    assert_true(fabs(sum_j / keys - 1.0 / 3.0) <= tight);
}

static void test_containment_small_complete(void **state)
{
    (void)state;
    uint8_t key[16];
    fk_key_from_string("small", key);
    fk_kmv a, b;
    range_sketch(key, 1, 10, &a); /* complete */
    range_sketch(key, 1, 40, &b); /* complete */
    assert_true(fk_kmv_containment(&a, &b, NULL) == 1.0);
    assert_true(fabs(fk_kmv_containment(&b, &a, NULL) - 0.25) < 1e-12);
    assert_true(fabs(fk_kmv_jaccard(&a, &b) - 0.25) < 1e-12);
    fk_kmv empty;
    fk_kmv_init(&empty, FK_KMV_K);
    size_t support = 99;
    assert_true(fk_kmv_containment(&empty, &b, &support) == 0.0);
    assert_int_equal(support, 0);
}

/* A parent whose sample holds one key in ten: the raw overlap of a fully
 * contained child is ~0.1, the sampled estimate ~1. */
static void test_containment_sampled_parent(void **state)
{
    (void)state;
    uint8_t key[16];
    fk_key_from_string("sampled", key);
    fk_kmv child, parent;
    range_sketch(key, 1, 20000, &child);
    fk_kmv_init(&parent, FK_KMV_K);
    for (long i = 1; i <= 200000; i += 10) {
        char v[24];
        snprintf(v, sizeof v, "%ld", i);
        fk_kmv_add(&parent, hv(key, FK_CLASS_INTEGER, v));
    }
    /* Parent keys 1..200000, sample = every 10th: f = 0.1.  The child
     * holds 1..20000: all of them parent keys. */
    size_t support;
    double expected;
    double raw = fk_kmv_containment(&child, &parent, NULL);
    double est =
        fk_kmv_containment_sampled(&child, &parent, 0.1, &support, &expected);
    assert_true(raw < 0.5);
    assert_true(est >= raw);
    assert_true(est <= 1.0);
    assert_true(fabs(expected - support * 0.1) < 1e-9);
    /* Too little support to bound the estimate tightly: only check that
     * a contained child is not judged disjoint when some hash is shared. */
    if (fk_kmv_shared(&child, &parent) > 0)
        assert_true(est > 0.5);
    /* f out of range is treated as 1. */
    assert_true(fk_kmv_containment_sampled(&child, &parent, 0, NULL, NULL) ==
                raw);
}

static void test_merge(void **state)
{
    (void)state;
    uint8_t key[16];
    fk_key_from_string("merge", key);
    fk_kmv lo, hi, all, half;
    range_sketch(key, 1, 5000, &lo);
    range_sketch(key, 4001, 10000, &hi); /* overlapping */
    range_sketch(key, 1, 10000, &all);
    fk_kmv_merge(&lo, &hi);
    assert_int_equal(lo.n, all.n);
    assert_memory_equal(lo.h, all.h, all.n * sizeof all.h[0]);
    /* Into a smaller k: the k smallest. */
    fk_kmv_init(&half, 16);
    fk_kmv_merge(&half, &all);
    assert_int_equal(half.n, 16);
    assert_memory_equal(half.h, all.h, 16 * sizeof all.h[0]);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    uint8_t key[16];
    fk_key_from_string("json", key);
    fk_kmv s, back;
    range_sketch(key, 1, 1000, &s);
    json_t *arr = fk_kmv_to_json(&s);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), FK_KMV_K);
    assert_int_equal(strlen(json_string_value(json_array_get(arr, 0))), 16);
    char err[128];
    assert_int_equal(fk_kmv_from_json(arr, FK_KMV_K, &back, err, sizeof err),
                     0);
    assert_int_equal(back.n, s.n);
    assert_memory_equal(back.h, s.h, s.n * sizeof s.h[0]);
    json_array_append_new(arr, json_string("zz"));
    assert_int_equal(fk_kmv_from_json(arr, FK_KMV_K, &back, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "kmv[64]"));
    json_decref(arr);
    assert_int_equal(fk_kmv_from_json(NULL, FK_KMV_K, &back, err, sizeof err),
                     -1);
}

static void test_column_from_json(void **state)
{
    (void)state;
    json_t *col = json_loads(
        "{\"typeClass\":\"temporal\",\"nullFraction\":0.5,"
        "\"sampleNonNull\":10,\"sampleDistinct\":2,\"distinctEstimate\":2,"
        "\"uniqueness\":0.2,\"min\":\"1970-01-02\",\"max\":\"1970-01-03\","
        "\"kmv\":[\"00000000000000ff\",\"0000000000000001\"],"
        "\"primaryKey\":false,\"unique\":true}",
        0, NULL);
    assert_non_null(col);
    fk_column c;
    char err[128];
    assert_int_equal(fk_column_from_json(col, 20, 20, &c, err, sizeof err), 0);
    assert_int_equal(c.cls, FK_CLASS_TEMPORAL);
    assert_true(c.min == 86400 && c.max == 2 * 86400);
    assert_true(c.flags & FK_COL_HAS_RANGE);
    assert_true(c.flags & FK_COL_UNIQUE);
    assert_false(c.flags & FK_COL_PK);
    assert_true(c.flags & FK_COL_WHOLE);
    assert_int_equal(c.kmv.n, 2);
    assert_true(c.kmv.h[0] == 1 && c.kmv.h[1] == 255);
    assert_true(fk_column_sample_fraction(&c) == 1.0);
    json_object_set_new(col, "sampleNonNull", json_string("ten"));
    assert_int_equal(fk_column_from_json(col, 20, 20, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "sampleNonNull"));
    json_decref(col);
    assert_true(sizeof(fk_column) <= 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_numbers),
        cmocka_unit_test(test_normalise_text_uuid_time),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_hash_stability),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_value_number),
        cmocka_unit_test(test_kmv_basics),
        cmocka_unit_test(test_kmv_distinct_estimate),
        cmocka_unit_test(test_containment_known_sets),
        cmocka_unit_test(test_containment_small_complete),
        cmocka_unit_test(test_containment_sampled_parent),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_column_from_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
