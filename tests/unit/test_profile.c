/* profile_common: shapes, SipHash, per-column statistics and the
 * sovereignty rule of the non-raw profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile_common.h"

static void assert_shape(const char *value, const char *expected)
{
    char out[PROF_SHAPE_BUF];
    prof_shape(value, out, sizeof out);
    assert_string_equal(out, expected);
}

static void test_shapes_ascii(void **state)
{
    (void)state;
    assert_shape("john.doe@example.com", "aaaa.aaa@aaaaaaa.aaa");
    assert_shape("+33 6 12 34 56 78", "+99 9 99 99 99 99");
    assert_shape("FR76 3000", "AA99 9999");
    assert_shape("", "");
}

static void test_shapes_utf8(void **state)
{
    (void)state;
    assert_shape("Zo\xC3\xAB \xC3\x85kesson", "Aaa Aaaaaaa"); /* Zoë Åkesson */
    assert_shape("\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
                 "Aaaaaa");                          /* Москва */
    assert_shape("\xCE\xA9\xCE\xBC\xCE\xAD", "Aaa"); /* Ωμέ */
    assert_shape("\xE2\x82\xAC"
                 "12",
                 "\xE2\x82\xAC"
                 "99"); /* €12 kept € */
    assert_shape("a\xFF"
                 "b",
                 "a?a");                      /* invalid byte */
    assert_shape("\xC3\xA9t\xC3\xA9", "aaa"); /* été */
}

static void test_shapes_truncated(void **state)
{
    (void)state;
    char in[64];
    memset(in, 'x', 40);
    in[40] = '\0';
    char expected[64];
    memset(expected, 'a', 32);
    strcpy(expected + 32, "\xE2\x80\xA6");
    assert_shape(in, expected);
    /* Exactly 32 characters: no ellipsis. */
    in[32] = '\0';
    expected[32] = '\0';
    assert_shape(in, expected);
    /* A small output buffer is cut on a character boundary. */
    char small[4];
    prof_shape("\xC3\xA9\xC3\xA9\xE2\x82\xAC", small, sizeof small);
    assert_string_equal(small, "aa");
}

/* Test vectors of the SipHash paper's reference implementation: key
 * 00 01 .. 0f, message 00 01 .. (len-1). */
static void test_siphash_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    assert_true(prof_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    assert_true(prof_siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
    assert_true(prof_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
    assert_true(prof_siphash24(key, msg, 63) == 0x958a324ceb064572ULL);
}

static void test_key_derivation(void **state)
{
    (void)state;
    uint8_t a[16], b[16], c[16];
    prof_key_from_string("secret one", a);
    prof_key_from_string("secret one", b);
    prof_key_from_string("secret two", c);
    assert_memory_equal(a, b, 16);
    assert_memory_not_equal(a, c, 16);
}

static void test_type_classes(void **state)
{
    (void)state;
    assert_int_equal(prof_type_class_of("int4"), PROF_INTEGER);
    assert_int_equal(prof_type_class_of("numeric"), PROF_DECIMAL);
    assert_int_equal(prof_type_class_of("decimal(10,2)"), PROF_DECIMAL);
    assert_int_equal(prof_type_class_of("timestamptz"), PROF_TEMPORAL);
    assert_int_equal(prof_type_class_of("timestamp(3) with time zone"),
                     PROF_TEMPORAL);
    assert_int_equal(prof_type_class_of("varchar(20)"), PROF_TEXT);
    assert_int_equal(prof_type_class_of("bpchar"), PROF_TEXT);
    assert_int_equal(prof_type_class_of("_int4"), PROF_OTHER);
    assert_int_equal(prof_type_class_of("jsonb"), PROF_JSON);
    assert_int_equal(prof_type_class_of("bool"), PROF_BOOLEAN);
    assert_int_equal(prof_type_class_of("inet"), PROF_OTHER);
    assert_int_equal(prof_type_class_of(NULL), PROF_OTHER);
    assert_false(prof_type_class_has_range(PROF_TEXT));
    assert_true(prof_type_class_has_range(PROF_TEMPORAL));
}

/* A hand-built sample: 8 rows, nulls where the comments say. */
static const char *const names[] = {"id",        "email",  "amount",
                                    "booked_on", "active", "city"};
static const char *const types[] = {"int4", "text", "numeric",
                                    "date", "bool", "varchar"};
static const char *const rows[8][6] = {
    {"1", "alice.martin@example.org", "10.5", "2024-01-03", "t", "Paris"},
    {"2", "bob.dupont@example.org", "-3", "2023-12-31", "f", "Lyon"},
    {"3", NULL, "1000", "2024-02-10", "t", "Paris"},
    {"4", "carol.weiss@example.net", NULL, NULL, "t", "Paris"},
    {"5", "dieter.zoe@example.de", "2.25", "2024-01-15", NULL, "Berlin"},
    {"6", NULL, "99", "2024-03-01", "f", "Lyon"},
    {"7", "alice.martin@example.org", "7", "2024-01-20", "t", "Paris"},
    {"8", "eve.sorensen@example.dk", "8", "2024-01-21", "t", NULL},
};

static prof_table *build_table(void)
{
    prof_table *t = prof_table_new(6, names, types);
    assert_non_null(t);
    for (int r = 0; r < 8; r++)
        assert_int_equal(prof_table_add_row(t, rows[r]), 0);
    return t;
}

static const prof_options opts = {
    .top_k = 3, .shapes_k = 2, .key = "0123456789abcdef"};

static void test_table_accessors(void **state)
{
    (void)state;
    prof_table *t = build_table();
    assert_int_equal(prof_table_nrows(t), 8);
    assert_int_equal(prof_table_ncols(t), 6);
    assert_string_equal(prof_table_colname(t, 1), "email");
    assert_string_equal(prof_table_coltype(t, 3), "date");
    assert_null(prof_table_cell(t, 2, 1));
    assert_null(prof_table_cell(t, 7, 5));
    prof_table_free(t);
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return json_number_value(v);
}

static void test_profile_counts(void **state)
{
    (void)state;
    prof_table *t = build_table();
    json_t *cols = prof_profile_columns(t, &opts);
    assert_non_null(cols);
    json_t *email = json_object_get(cols, "email");
    assert_int_equal((int)num(email, "nullCount"), 2);
    assert_true(num(email, "nullFraction") == 0.25);
    assert_int_equal((int)num(email, "distinctCount"), 5);
    assert_true(num(email, "uniqueness") == 5.0 / 6.0);
    assert_string_equal(json_string_value(json_object_get(email, "typeClass")),
                        "text");
    json_t *top = json_object_get(email, "topValues");
    assert_int_equal(json_array_size(top), 3); /* top_k */
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(top, 0), "count")),
        2); /* alice twice */
    assert_int_equal(strlen(json_string_value(
                         json_object_get(json_array_get(top, 0), "hash"))),
                     16);
    json_t *shapes = json_object_get(email, "shapes");
    assert_int_equal(json_array_size(shapes), 2); /* shapes_k */

    json_t *city = json_object_get(cols, "city");
    assert_int_equal((int)num(city, "nullCount"), 1);
    assert_true(num(city, "avgLength") == (5 + 4 + 5 + 5 + 6 + 4 + 5) / 7.0);
    json_decref(cols);
    prof_table_free(t);
}

static void test_profile_ranges(void **state)
{
    (void)state;
    prof_table *t = build_table();
    json_t *cols = prof_profile_columns(t, &opts);
    json_t *amount = json_object_get(cols, "amount");
    /* Numeric order, not text order ("-3" < "10.5" < "1000"). */
    assert_true(num(amount, "min") == -3.0);
    assert_true(num(amount, "max") == 1000.0);
    json_t *id = json_object_get(cols, "id");
    assert_int_equal(json_integer_value(json_object_get(id, "max")), 8);
    json_t *day = json_object_get(cols, "booked_on");
    assert_string_equal(json_string_value(json_object_get(day, "min")),
                        "2023-12-31");
    assert_string_equal(json_string_value(json_object_get(day, "max")),
                        "2024-03-01");
    /* Withheld for text-like and boolean columns. */
    const char *no_range[] = {"email", "city", "active"};
    for (int i = 0; i < 3; i++) {
        json_t *c = json_object_get(cols, no_range[i]);
        assert_null(json_object_get(c, "min"));
        assert_null(json_object_get(c, "max"));
    }
    json_decref(cols);
    prof_table_free(t);
}

/* The sovereignty rule: no text cell value anywhere in the dump. */
static void test_profile_holds_no_text_value(void **state)
{
    (void)state;
    prof_table *t = build_table();
    json_t *cols = prof_profile_columns(t, &opts);
    char *dump = json_dumps(cols, JSON_COMPACT);
    assert_non_null(dump);
    for (int r = 0; r < 8; r++) {
        for (int c = 0; c < 6; c++) {
            prof_type_class cls = prof_type_class_of(types[c]);
            if (rows[r][c] == NULL || prof_type_class_has_range(cls))
                continue;
            if (strlen(rows[r][c]) < 3)
                continue; /* "t"/"f" appear inside any key */
            if (strstr(dump, rows[r][c]) != NULL)
                fail_msg("profile holds text value '%s'", rows[r][c]);
        }
    }
    free(dump);
    json_decref(cols);
    prof_table_free(t);
}

/* Same value, same key -> same hash; another key -> another hash. */
static void test_hashes_keyed(void **state)
{
    (void)state;
    prof_table *t = build_table();
    prof_options other = opts;
    other.key[0] ^= 1;
    json_t *a = prof_profile_columns(t, &opts);
    json_t *b = prof_profile_columns(t, &opts);
    json_t *c = prof_profile_columns(t, &other);
    const char *path[] = {"email", "topValues"};
    json_t *ha = json_object_get(json_object_get(a, path[0]), path[1]);
    json_t *hb = json_object_get(json_object_get(b, path[0]), path[1]);
    json_t *hc = json_object_get(json_object_get(c, path[0]), path[1]);
    assert_true(json_equal(ha, hb));
    assert_false(json_equal(ha, hc));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    prof_table_free(t);
}

static void test_sample_json(void **state)
{
    (void)state;
    prof_table *t = build_table();
    json_t *s = prof_sample_json(t, 2);
    assert_non_null(s);
    assert_int_equal(json_array_size(json_object_get(s, "rows")), 8);
    assert_int_equal(json_array_size(json_object_get(s, "columns")), 6);
    json_t *row2 = json_array_get(json_object_get(s, "rows"), 2);
    assert_true(json_is_null(json_array_get(row2, 1)));
    json_t *st = json_object_get(json_object_get(s, "columnsStats"), "email");
    json_t *top0 = json_array_get(json_object_get(st, "topValues"), 0);
    assert_string_equal(json_string_value(json_object_get(top0, "value")),
                        "alice.martin@example.org");
    /* The raw sample has min/max for text too (byte order). */
    assert_string_equal(json_string_value(json_object_get(st, "min")),
                        "alice.martin@example.org");
    json_t *amount =
        json_object_get(json_object_get(s, "columnsStats"), "amount");
    assert_string_equal(json_string_value(json_object_get(amount, "max")),
                        "1000");
    json_decref(s);
    prof_table_free(t);
}

/* Computing both aspects in one pass gives exactly what the two separate
 * calls give. */
static void test_profile_and_sample_together(void **state)
{
    (void)state;
    prof_table *t = build_table();
    json_t *cols = NULL, *smp = NULL;
    assert_int_equal(prof_profile_and_sample(t, &opts, &cols, &smp), 0);
    json_t *cols1 = prof_profile_columns(t, &opts);
    json_t *smp1 = prof_sample_json(t, opts.top_k);
    assert_true(json_equal(cols, cols1));
    assert_true(json_equal(smp, smp1));
    json_t *only = NULL;
    assert_int_equal(prof_profile_and_sample(t, &opts, &only, NULL), 0);
    assert_true(json_equal(only, cols1));
    json_decref(cols);
    json_decref(smp);
    json_decref(cols1);
    json_decref(smp1);
    json_decref(only);
    prof_table_free(t);
}

static void test_empty_table(void **state)
{
    (void)state;
    prof_table *t = prof_table_new(6, names, types);
    json_t *cols = prof_profile_columns(t, &opts);
    json_t *email = json_object_get(cols, "email");
    assert_true(num(email, "nullFraction") == 0.0);
    assert_true(num(email, "uniqueness") == 0.0);
    assert_null(json_object_get(json_object_get(cols, "id"), "min"));
    json_decref(cols);
    prof_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_ascii),
        cmocka_unit_test(test_shapes_utf8),
        cmocka_unit_test(test_shapes_truncated),
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_key_derivation),
        cmocka_unit_test(test_type_classes),
        cmocka_unit_test(test_table_accessors),
        cmocka_unit_test(test_profile_counts),
        cmocka_unit_test(test_profile_ranges),
        cmocka_unit_test(test_profile_holds_no_text_value),
        cmocka_unit_test(test_hashes_keyed),
        cmocka_unit_test(test_sample_json),
        cmocka_unit_test(test_profile_and_sample_together),
        cmocka_unit_test(test_empty_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
