/* profile_trino through a fake host with canned Trino pages: the queries
 * (SHOW STATS, then the sample with or without TABLESAMPLE), the row
 * count sources, both table shapes (discovery_postgres, OpenMetadata),
 * failures naming the table, and a profile equal to what profile_common
 * computes from the same rows, without raw values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "profile_common.h"

#define BASE "http://trino.test:8080"
#define CANARY "planted.canary.7731@example.org"

struct f {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct f *f, const char *config)
{
    f->d = fake_host_load_pass("profile_trino");
    assert_non_null(f->d);
    f->fh = fake_host_new(f->d, config);
    assert_non_null(f->fh);
    f->st = NULL;
    int rc = f->d->init(fake_host_api(f->fh), fake_host_ctx(f->fh), &f->st);
    if (rc != CS_OK)
        fail_msg("init: %s", fake_host_error(f->fh));
}

static void stop(struct f *f)
{
    f->d->fini(f->st);
    fake_host_free(f->fh);
}

#define CONFIG                                                                 \
    "{\"trino_url\": \"" BASE "\", \"catalogs\": {\"demo_pg.demo\": \"pg\"}}"

/* discovery_postgres's shape of bank.customers. */
static void pg_entity(struct f *f)
{
    assert_int_equal(
        fake_host_set_entity(
            f->fh, "demo_pg.demo.bank.customers",
            "{\"table\": {\"name\": \"customers\", \"fullyQualifiedName\": "
            "\"demo_pg.demo.bank.customers\", \"columns\": [], "
            "\"catalogSync\": {\"connection\": \"demo\", \"schema\": "
            "\"bank\", \"table\": \"customers\"}}}"),
        0);
}

/* One query answered in two pages: queued, then everything. */
static void answer(struct f *f, const char *id, const char *rest)
{
    char post[256], needle[64], last[4096];
    snprintf(post, sizeof post,
             "{\"id\":\"%s\",\"nextUri\":\"" BASE
             "/v1/statement/queued/%s/y/1\",\"stats\":{\"state\":\"QUEUED\"}}",
             id, id);
    snprintf(needle, sizeof needle, "/queued/%s/y/1", id);
    snprintf(last, sizeof last, "{\"id\":\"%s\",%s}", id, rest);
    assert_int_equal(
        fake_host_add_http(f->fh, "POST", "/v1/statement", 200, post), 0);
    assert_int_equal(fake_host_add_http(f->fh, "GET", needle, 200, last), 0);
}

/* SHOW STATS with the summary row's row_count (JSON text: "3.0", "null"). */
static void stats(struct f *f, const char *row_count)
{
    char rest[1024];
    snprintf(rest, sizeof rest,
             "\"columns\":[{\"name\":\"column_name\",\"type\":\"varchar\"},"
             "{\"name\":\"data_size\",\"type\":\"double\"},"
             "{\"name\":\"distinct_values_count\",\"type\":\"double\"},"
             "{\"name\":\"nulls_fraction\",\"type\":\"double\"},"
             "{\"name\":\"row_count\",\"type\":\"double\"},"
             "{\"name\":\"low_value\",\"type\":\"varchar\"},"
             "{\"name\":\"high_value\",\"type\":\"varchar\"}],"
             "\"data\":[[\"id\",null,3.0,0.0,null,\"1\",\"3\"],"
             "[null,null,null,null,%s,null,null]]",
             row_count);
    answer(f, "qstats", rest);
}

#define SAMPLE_COLS                                                            \
    "\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},"                     \
    "{\"name\":\"email\",\"type\":\"varchar(40)\"},"                           \
    "{\"name\":\"balance\",\"type\":\"decimal(12,2)\"},"                       \
    "{\"name\":\"born\",\"type\":\"date\"},"                                   \
    "{\"name\":\"opened\",\"type\":\"timestamp(6) with time zone\"},"          \
    "{\"name\":\"active\",\"type\":\"boolean\"},"                              \
    "{\"name\":\"score\",\"type\":\"double\"}]"

#define SAMPLE_DATA                                                            \
    "\"data\":[[1,\"a.b@x.org\",\"12.50\",\"1990-01-02\","                     \
    "\"2020-01-01 10:00:00.000000 UTC\",true,1.5],"                            \
    "[2,null,\"-3.00\",null,\"2021-06-30 23:59:59.999999 UTC\",false,null],"   \
    "[3,\"" CANARY "\",\"0.10\",\"2001-12-31\","                               \
    "\"2019-02-03 04:05:06.000000 UTC\",true,0.1]]"

static void sample(struct f *f)
{
    answer(f, "qsample", SAMPLE_COLS "," SAMPLE_DATA);
}

/* What profile_common makes of the same rows, as engines print them. */
static json_t *expected_columns(void)
{
    static const char *const names[] = {"id",     "email",  "balance", "born",
                                        "opened", "active", "score"};
    static const char *const types[] = {"integer",
                                        "varchar(40)",
                                        "decimal(12,2)",
                                        "date",
                                        "timestamp(6) with time zone",
                                        "boolean",
                                        "double"};
    static const char *const rows[3][7] = {
        {"1", "a.b@x.org", "12.50", "1990-01-02",
         "2020-01-01 10:00:00.000000 UTC", "true", "1.5"},
        {"2", NULL, "-3.00", NULL, "2021-06-30 23:59:59.999999 UTC", "false",
         NULL},
        {"3", CANARY, "0.10", "2001-12-31", "2019-02-03 04:05:06.000000 UTC",
         "true", "0.1"}};
    prof_table *t = prof_table_new(7, names, types);
    assert_non_null(t);
    for (int r = 0; r < 3; r++)
        assert_int_equal(prof_table_add_row(t, rows[r]), 0);
    prof_options o = {.top_k = 10, .shapes_k = 5};
    prof_key_from_string(PROF_DEFAULT_HASH_KEY, o.key);
    json_t *cols = prof_profile_columns(t, &o);
    prof_table_free(t);
    assert_non_null(cols);
    return cols;
}

static const char *post_body(struct f *f, size_t nth)
{
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(fake_host_http_log(f->fh), i, e)
    {
        const char *m = json_string_value(json_object_get(e, "method"));
        if (strcmp(m, "POST") == 0 && k++ == nth)
            return json_string_value(json_object_get(e, "body"));
    }
    return "";
}

static json_t *put(struct f *f, const char *aspect)
{
    return json_object_get(fake_host_puts(f->fh), aspect);
}

static void process_ok(struct f *f)
{
    int rc = f->d->process(f->st, fake_host_ctx(f->fh));
    if (rc != CS_OK)
        fail_msg("process: %d %s", rc, fake_host_error(f->fh));
}

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void test_small_table_equals_profile_common(void **state)
{
    (void)state;
    struct f f;
    start(&f, CONFIG);
    pg_entity(&f);
    stats(&f, "3.0");
    sample(&f);
    process_ok(&f);
    assert_string_equal(post_body(&f, 0),
                        "SHOW STATS FOR \"pg\".\"bank\".\"customers\"");
    assert_string_equal(post_body(&f, 1),
                        "/* catalog-sync profile: sample */ SELECT * FROM "
                        "\"pg\".\"bank\".\"customers\" LIMIT 1000");
    json_t *p = put(&f, "profile");
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 3);
    assert_string_equal(sval(p, "rowCountSource"), "exact");
    assert_int_equal(json_integer_value(json_object_get(p, "sampleRows")), 3);
    assert_true(json_real_value(json_object_get(p, "samplePercent")) == 100.0);
    json_t *want = expected_columns();
    if (!json_equal(json_object_get(p, "columns"), want)) {
        char *a = json_dumps(json_object_get(p, "columns"), JSON_SORT_KEYS);
        char *b = json_dumps(want, JSON_SORT_KEYS);
        fail_msg("profile columns differ:\n%s\n%s", a, b);
    }
    json_decref(want);
    json_t *cols = json_object_get(p, "columns");
    assert_string_equal(sval(json_object_get(cols, "balance"), "typeClass"),
                        "decimal");
    assert_string_equal(sval(json_object_get(cols, "opened"), "typeClass"),
                        "temporal");
    assert_string_equal(sval(json_object_get(cols, "active"), "typeClass"),
                        "boolean");
    /* the raw sample has the values, nothing else does */
    char *s = json_dumps(put(&f, "sample"), 0);
    char *pr = json_dumps(p, 0);
    assert_non_null(strstr(s, CANARY));
    assert_null(strstr(pr, "planted"));
    assert_null(strstr(fake_host_logs(f.fh), "planted"));
    assert_null(strstr(fake_host_error(f.fh), "planted"));
    free(s);
    free(pr);
    assert_true(fake_host_metric(f.fh, "rows_sampled") == 3);
    stop(&f);
}

static void test_large_table_is_sampled(void **state)
{
    (void)state;
    struct f f;
    start(&f, CONFIG);
    pg_entity(&f);
    stats(&f, "50000.0");
    sample(&f);
    process_ok(&f);
    assert_non_null(strstr(post_body(&f, 1),
                           "FROM \"pg\".\"bank\".\"customers\" TABLESAMPLE "
                           "BERNOULLI (10) LIMIT 1000"));
    json_t *p = put(&f, "profile");
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 50000);
    assert_string_equal(sval(p, "rowCountSource"), "stats");
    assert_true(json_real_value(json_object_get(p, "samplePercent")) == 10.0);
    stop(&f);
}

/* Without a row count (never analyzed, or SHOW STATS refused) the table
 * is sampled, and the count is scaled from the sample. */
static void test_unknown_size_is_sampled(void **state)
{
    (void)state;
    struct f f;
    start(&f, CONFIG);
    pg_entity(&f);
    stats(&f, "null");
    sample(&f);
    process_ok(&f);
    assert_non_null(strstr(post_body(&f, 1), "TABLESAMPLE BERNOULLI (10)"));
    json_t *p = put(&f, "profile");
    assert_string_equal(sval(p, "rowCountSource"), "sample");
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 30);

    fake_host_next_run(f.fh, 0);
    pg_entity(&f);
    answer(&f, "qstats",
           "\"error\":{\"message\":\"SHOW STATS not supported\","
           "\"errorName\":\"NOT_SUPPORTED\"}");
    sample(&f);
    process_ok(&f);
    assert_string_equal(sval(put(&f, "profile"), "rowCountSource"), "sample");
    assert_non_null(strstr(fake_host_logs(f.fh), "no row count from Trino"));
    stop(&f);
}

/* 100 %: never TABLESAMPLE; a read that fills the LIMIT of a table of
 * unknown size is a lower bound. */
static void test_full_read_lower_bound(void **state)
{
    (void)state;
    struct f f;
    start(&f, "{\"trino_url\": \"" BASE "\", \"catalogs\": {\"demo_pg\": "
              "\"pg\"}, \"sample_percent\": 100, \"sample_rows\": 3}");
    pg_entity(&f);
    stats(&f, "null");
    sample(&f);
    process_ok(&f);
    assert_null(strstr(post_body(&f, 1), "TABLESAMPLE"));
    assert_non_null(strstr(post_body(&f, 1), "LIMIT 3"));
    assert_string_equal(sval(put(&f, "profile"), "rowCountSource"),
                        "lower_bound");
    stop(&f);
}

static void test_table_gone_fails_the_entity(void **state)
{
    (void)state;
    struct f f;
    start(&f, CONFIG);
    pg_entity(&f);
    answer(&f, "qstats",
           "\"error\":{\"message\":\"line 1:16: Table 'pg.bank.customers' "
           "does not exist\",\"errorName\":\"TABLE_NOT_FOUND\"}");
    assert_int_equal(f.d->process(f.st, fake_host_ctx(f.fh)), CS_ERR_NOT_FOUND);
    const char *e = fake_host_error(f.fh);
    assert_non_null(strstr(e, "demo_pg.demo.bank.customers"));
    assert_non_null(strstr(e, "no longer exists in Trino"));
    assert_non_null(strstr(e, "TABLE_NOT_FOUND"));
    assert_null(put(&f, "profile"));
    stop(&f);
}

/* OpenMetadata's shape: no catalogSync, names from the FQN. */
static void test_openmetadata_table(void **state)
{
    (void)state;
    struct f f;
    start(&f, "{\"trino_url\": \"" BASE "\", \"catalogs\": {\"om_pg\": "
              "\"lake\"}}");
    assert_int_equal(
        fake_host_set_entity(
            f.fh, "om_pg.demo.shop.\"order.items\"",
            "{\"table\": {\"name\": \"order.items\", \"fullyQualifiedName\": "
            "\"om_pg.demo.shop.\\\"order.items\\\"\", \"columns\": "
            "[{\"name\": \"id\", \"dataType\": \"INT\"}]}}"),
        0);
    stats(&f, "3.0");
    sample(&f);
    process_ok(&f);
    assert_string_equal(post_body(&f, 0),
                        "SHOW STATS FOR \"lake\".\"shop\".\"order.items\"");
    assert_non_null(put(&f, "profile"));
    stop(&f);
}

static void test_unmapped_catalog(void **state)
{
    (void)state;
    struct f f;
    start(&f, "{\"trino_url\": \"" BASE "\", \"catalogs\": {\"x\": \"y\"}}");
    pg_entity(&f);
    assert_int_equal(f.d->process(f.st, fake_host_ctx(f.fh)), CS_ERR_INVALID);
    assert_non_null(
        strstr(fake_host_error(f.fh), "demo_pg.demo.bank.customers"));
    assert_non_null(strstr(fake_host_error(f.fh), "`catalogs`"));
    assert_int_equal(json_array_size(fake_host_http_log(f.fh)), 0);
    stop(&f);
}

static void test_unwanted_sample_is_skipped(void **state)
{
    (void)state;
    struct f f;
    start(&f, CONFIG);
    fake_host_set_unwanted(f.fh, "sample");
    pg_entity(&f);
    stats(&f, "3.0");
    sample(&f);
    process_ok(&f);
    assert_non_null(put(&f, "profile"));
    assert_null(put(&f, "sample"));
    stop(&f);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{}", "trino_url"},
        {"{\"trino_url\": \"" BASE "\", \"sample_percent\": 0}",
         "sample_percent"},
        {"{\"trino_url\": \"" BASE "\", \"timeout_ms\": 0}", "timeout_ms"}};
    const cs_pass_desc *d = fake_host_load_pass("profile_trino");
    assert_non_null(d);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_host *fh = fake_host_new(d, bad[i][0]);
        void *st = NULL;
        assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                         CS_ERR_INVALID);
        assert_non_null(strstr(fake_host_error(fh), bad[i][1]));
        fake_host_free(fh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_table_equals_profile_common),
        cmocka_unit_test(test_large_table_is_sampled),
        cmocka_unit_test(test_unknown_size_is_sampled),
        cmocka_unit_test(test_full_read_lower_bound),
        cmocka_unit_test(test_table_gone_fails_the_entity),
        cmocka_unit_test(test_openmetadata_table),
        cmocka_unit_test(test_unmapped_catalog),
        cmocka_unit_test(test_unwanted_sample_is_skipped),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
