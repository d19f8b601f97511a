/* fingerprint through a fake host: the aspect's shape, declared keys,
 * distinct estimates for partial samples, no raw value in the output,
 * a bounded size per column whatever the sample, and fingerprints that
 * fk_common reads back and matches (child column contained in parent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "fk.h"

/* Aspects of one table: `cols` [{name, type}], rows [[cell]...]. */
static json_t *aspects(const char *table, json_t *cols, json_t *rows,
                       long row_count, const char *source, json_t *cons)
{
    json_t *t =
        json_pack("{s:{s:s, s:s, s:s}, s:o}", "catalogSync", "connection", "pg",
                  "schema", "public", "table", table, "tableConstraints",
                  cons ? cons : json_array());
    json_t *sample = json_pack("{s:o, s:o}", "columns", cols, "rows", rows);
    json_t *profile =
        json_pack("{s:I, s:s, s:I, s:{}}", "rowCount", (json_int_t)row_count,
                  "rowCountSource", source, "sampleRows",
                  (json_int_t)json_array_size(rows), "columns");
    json_t *a = json_pack("{s:o, s:o, s:o}", "table", t, "sample", sample,
                          "profile", profile);
    assert_non_null(a);
    return a;
}

/* Runs the pass once; returns the fingerprint put (new reference). */
static json_t *run(json_t *asp, const char *config, int *rc)
{
    const cs_pass_desc *d = fake_host_load_pass("fingerprint");
    assert_non_null(d);
    fake_host *fh = fake_host_new(d, config);
    assert_non_null(fh);
    fake_host_drop_network(fh);
    void *st = NULL;
    int irc = d->init(fake_host_api(fh), fake_host_ctx(fh), &st);
    json_t *out = NULL;
    if (irc == CS_OK) {
        char *text = json_dumps(asp, 0);
        assert_int_equal(fake_host_set_entity(fh, "pg.db.public.t", text), 0);
        free(text);
        *rc = d->process(st, fake_host_ctx(fh));
        out = json_incref(json_object_get(fake_host_puts(fh), "fingerprint"));
        d->fini(st);
    } else {
        *rc = irc;
    }
    fake_host_free(fh);
    json_decref(asp);
    return out;
}

static json_t *col_decls(const char *spec)
{
    json_t *cols = json_loads(spec, 0, NULL);
    assert_non_null(cols);
    return cols;
}

/* customers(id int4 PK, email text, score numeric, born date, flag bool) */
static json_t *customers(size_t n, long row_count, const char *source)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        char id[24], email[64], score[32], born[48];
        snprintf(id, sizeof id, "%zu", i + 1);
        snprintf(email, sizeof email, "person%zu@secret-mail.example", i % 7);
        snprintf(score, sizeof score, "%zu.50", i % 3);
        snprintf(born, sizeof born, "19%02zu-01-0%zu", 50 + i % 40, 1 + i % 9);
        json_array_append_new(rows,
                              json_pack("[s, s, s?, s, s]", id, email,
                                        i % 4 == 0 ? NULL : score, born, "t"));
    }
    json_t *cons = json_loads(
        "[{\"constraintType\":\"PRIMARY_KEY\",\"columns\":[\"id\"]},"
        "{\"constraintType\":\"FOREIGN_KEY\",\"columns\":[\"email\"],"
        "\"referredColumns\":[\"pg.db.public.emails.address\"]}]",
        0, NULL);
    return aspects("customers",
                   col_decls("[{\"name\":\"id\",\"type\":\"int4\"},"
                             "{\"name\":\"email\",\"type\":\"text\"},"
                             "{\"name\":\"score\",\"type\":\"numeric\"},"
                             "{\"name\":\"born\",\"type\":\"date\"},"
                             "{\"name\":\"flag\",\"type\":\"bool\"}]"),
                   rows, row_count, source, cons);
}

static void assert_hex_array(const json_t *arr, size_t max, int ascending)
{
    assert_true(json_is_array(arr));
    assert_true(json_array_size(arr) <= max);
    uint64_t prev = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        uint64_t h;
        assert_int_equal(
            fk_hash_parse(json_string_value(json_array_get(arr, i)), &h), 0);
        if (ascending && i > 0)
            assert_true(h > prev);
        prev = h;
    }
}

static void test_shape(void **state)
{
    (void)state;
    int rc;
    json_t *fp = run(customers(20, 20, "exact"), NULL, &rc);
    assert_int_equal(rc, CS_OK);
    assert_non_null(fp);
    assert_int_equal(json_integer_value(json_object_get(fp, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(fp, "table")),
                        "customers");
    assert_string_equal(json_string_value(json_object_get(fp, "connection")),
                        "pg");
    assert_int_equal(json_integer_value(json_object_get(fp, "rowCount")), 20);
    assert_int_equal(json_integer_value(json_object_get(fp, "sampleRows")), 20);
    json_t *cols = json_object_get(fp, "columns");
    assert_int_equal(json_object_size(cols), 5);
    json_t *id = json_object_get(cols, "id");
    assert_string_equal(json_string_value(json_object_get(id, "typeClass")),
                        "integer");
    assert_true(json_is_true(json_object_get(id, "primaryKey")));
    assert_true(json_is_true(json_object_get(id, "unique")));
    assert_true(json_number_value(json_object_get(id, "uniqueness")) == 1.0);
    assert_int_equal(json_integer_value(json_object_get(id, "min")), 1);
    assert_int_equal(json_integer_value(json_object_get(id, "max")), 20);
    assert_int_equal(json_number_value(json_object_get(id, "distinctEstimate")),
                     20);
    assert_hex_array(json_object_get(id, "kmv"), FK_KMV_K, 1);
    assert_int_equal(json_array_size(json_object_get(id, "kmv")), 20);
    assert_hex_array(json_object_get(id, "top"), 100, 0);
    json_t *email = json_object_get(cols, "email");
    assert_false(json_is_true(json_object_get(email, "primaryKey")));
    assert_int_equal(
        json_integer_value(json_object_get(email, "sampleDistinct")), 7);
    assert_null(json_object_get(email, "min")); /* text: no range */
    json_t *score = json_object_get(cols, "score");
    assert_true(json_number_value(json_object_get(score, "nullFraction")) ==
                0.25);
    assert_int_equal(
        json_integer_value(json_object_get(score, "sampleNonNull")), 15);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(cols, "born"), "typeClass")),
                        "temporal");
    json_t *fks = json_object_get(fp, "declaredForeignKeys");
    assert_int_equal(json_array_size(fks), 1);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(fks, 0), "referredColumns"), 0)),
        "pg.db.public.emails.address");
    json_decref(fp);
}

static void test_no_raw_values(void **state)
{
    (void)state;
    int rc;
    json_t *fp = run(customers(50, 50, "exact"), NULL, &rc);
    assert_int_equal(rc, CS_OK);
    char *text = json_dumps(fp, 0);
    assert_null(strstr(text, "secret-mail"));
    assert_null(strstr(text, "person"));
    /* Numbers and dates show only their min/max (as in the profile):
     * 1.5 is neither. */
    assert_null(strstr(text, "1.5"));
    free(text);
    json_decref(fp);
}

/* A 2000-row sample of distinct text values: the column's JSON is as big
 * as a 20-row one's plus at most the full sketches. */
static void test_fixed_size_per_column(void **state)
{
    (void)state;
    json_t *rows = json_array();
    for (int i = 0; i < 2000; i++) {
        char v[64];
        snprintf(v, sizeof v, "a rather long value number %d of many", i);
        json_array_append_new(rows, json_pack("[s]", v));
    }
    int rc;
    json_t *fp =
        run(aspects("big", col_decls("[{\"name\":\"v\",\"type\":\"text\"}]"),
                    rows, 2000000, "reltuples", NULL),
            NULL, &rc);
    assert_int_equal(rc, CS_OK);
    json_t *v = json_object_get(json_object_get(fp, "columns"), "v");
    assert_int_equal(json_array_size(json_object_get(v, "kmv")), FK_KMV_K);
    assert_int_equal(json_array_size(json_object_get(v, "top")), 100);
    char *text = json_dumps(v, JSON_COMPACT);
    /* 164 hashes of 18 characters plus a few counts. */
    assert_true(strlen(text) < 164 * 19 + 400);
    free(text);
    /* All distinct in a partial sample: estimated as unique. */
    assert_true(json_number_value(json_object_get(v, "distinctEstimate")) >
                1000000);
    json_decref(fp);
}

static void test_options(void **state)
{
    (void)state;
    int rc;
    json_t *fp =
        run(customers(100, 100, "exact"), "{\"top_k\": 3, \"kmv_k\": 8}", &rc);
    assert_int_equal(rc, CS_OK);
    json_t *id = json_object_get(json_object_get(fp, "columns"), "id");
    assert_int_equal(json_array_size(json_object_get(id, "kmv")), 8);
    assert_int_equal(json_array_size(json_object_get(id, "top")), 3);
    json_decref(fp);
    fp = run(customers(5, 5, "exact"), "{\"kmv_k\": 65}", &rc);
    assert_null(fp);
    assert_int_equal(rc, CS_ERR_INVALID);
}

/* orders.customer_id (sampled, repeats) against customers.id: the two
 * fingerprints read back into fk_column records match. */
static void test_fingerprints_match(void **state)
{
    (void)state;
    int rc;
    json_t *parent = run(customers(300, 300, "exact"), NULL, &rc);
    assert_int_equal(rc, CS_OK);
    json_t *rows = json_array();
    for (int i = 0; i < 1000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%03d", 1 + (i * 7919) % 300); /* zero-padded */
        json_array_append_new(rows, json_pack("[s]", v));
    }
    json_t *child = run(
        aspects("orders",
                col_decls("[{\"name\":\"customer_id\",\"type\":\"numeric\"}]"),
                rows, 50000, "reltuples", NULL),
        NULL, &rc);
    assert_int_equal(rc, CS_OK);
    fk_column cols[2];
    char err[128];
    assert_int_equal(
        fk_column_from_json(
            json_object_get(json_object_get(parent, "columns"), "id"), 300, 300,
            &cols[0], err, sizeof err),
        0);
    assert_int_equal(
        fk_column_from_json(
            json_object_get(json_object_get(child, "columns"), "customer_id"),
            50000, 1000, &cols[1], err, sizeof err),
        0);
    assert_true(cols[0].flags & FK_COL_PK);
    assert_false(cols[1].flags & FK_COL_WHOLE);
    fk_index *ix = fk_index_build(cols, 2, NULL);
    fk_cand_list l = {0};
    assert_int_equal(fk_index_candidates(ix, &cols[1], 1, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].parent, 0);
    assert_true(l.v[0].containment == 1.0);
    fk_cand_list_free(&l);
    fk_index_free(ix);
    json_decref(parent);
    json_decref(child);
}

/* A LIMIT read of a never-analyzed table is a prefix, not the table: the
 * size is unknown and the sample is never taken for the whole column (a
 * wrongly "whole" prefix rules out parents by their range). */
static void test_lower_bound_is_not_whole(void **state)
{
    (void)state;
    int rc;
    json_t *fp = run(customers(20, 20, "lower_bound"), NULL, &rc);
    assert_int_equal(rc, CS_OK);
    assert_int_equal(json_integer_value(json_object_get(fp, "rowCount")), -1);
    fk_column col;
    char err[256];
    assert_int_equal(fk_column_from_json(
                         json_object_get(json_object_get(fp, "columns"), "id"),
                         json_number_value(json_object_get(fp, "rowCount")),
                         json_number_value(json_object_get(fp, "sampleRows")),
                         &col, err, sizeof err),
                     0);
    assert_false(col.flags & FK_COL_WHOLE);
    json_decref(fp);
    fp = run(customers(20, 20, "exact"), NULL, &rc);
    assert_int_equal(fk_column_from_json(
                         json_object_get(json_object_get(fp, "columns"), "id"),
                         json_number_value(json_object_get(fp, "rowCount")),
                         json_number_value(json_object_get(fp, "sampleRows")),
                         &col, err, sizeof err),
                     0);
    assert_true(col.flags & FK_COL_WHOLE);
    json_decref(fp);
}

static void test_declares(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("fingerprint");
    assert_non_null(d);
    assert_int_equal(d->kind, CS_PASS_ENTITY);
    int raw_sample = 0;
    for (const cs_aspect_decl *a = d->consumes; a->name; a++)
        if (strcmp(a->name, "sample") == 0)
            raw_sample = (a->flags & CS_ASPECT_RAW) != 0;
    assert_true(raw_sample);
    assert_string_equal(d->produces[0].name, "fingerprint");
    /* Persisted: not raw. */
    assert_false(d->produces[0].flags & CS_ASPECT_RAW);
}

static void test_bad_sample(void **state)
{
    (void)state;
    int rc;
    json_t *a = aspects("x", json_array(), json_array(), 0, "exact", NULL);
    json_object_del(json_object_get(a, "sample"), "columns");
    json_t *fp = run(a, NULL, &rc);
    assert_null(fp);
    assert_int_equal(rc, CS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_no_raw_values),
        cmocka_unit_test(test_fixed_size_per_column),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_fingerprints_match),
        cmocka_unit_test(test_lower_bound_is_not_whole),
        cmocka_unit_test(test_declares),
        cmocka_unit_test(test_bad_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
