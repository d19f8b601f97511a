/* profile_postgres through a fake host: the sampling query chosen for
 * each table size, the row count and its source, identifier quoting, the
 * two aspects and the sovereignty rule on the real aspect output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static const char SAMPLE[] =
    "{\"columns\":[[\"id\",\"int4\"],[\"email\",\"text\"],"
    "[\"born\",\"date\"]],"
    "\"rows\":[[\"1\",\"planted.canary.7731@example.org\",\"1980-02-01\"],"
    "[\"2\",\"second.person@example.com\",null],"
    "[\"3\",null,\"1975-12-24\"]]}";

struct fixture {
    const cs_pass_desc *d;
    fake_host *fh;
    void *state;
};

static void start(struct fixture *f, const char *config, const char *table,
                  const char *reltuples, const char *relpages)
{
    f->d = fake_host_load_pass("profile_postgres");
    assert_non_null(f->d);
    assert_int_equal(f->d->kind, CS_PASS_ENTITY);
    f->fh = fake_host_new(f->d, config);
    assert_non_null(f->fh);
    f->state = NULL;
    assert_int_equal(
        f->d->init(fake_host_api(f->fh), fake_host_ctx(f->fh), &f->state),
        CS_OK);
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"columns\":[[\"reltuples\",\"text\"],[\"relpages\",\"text\"],"
             "[\"relkind\",\"text\"]],\"rows\":[[\"%s\",\"%s\",\"r\"]]}",
             reltuples, relpages);
    assert_int_equal(fake_host_add_sql(f->fh, "profile: size", buf), 0);
    assert_int_equal(fake_host_add_sql(f->fh, "profile: sample", SAMPLE), 0);
    snprintf(buf, sizeof buf,
             "{\"table\":{\"name\":\"x\",\"columns\":[],\"catalogSync\":"
             "{\"connection\":\"demo\",\"schema\":\"bank\",\"table\":%s}}}",
             table);
    assert_int_equal(fake_host_set_entity(f->fh, "pg.demo.bank.x", buf), 0);
}

static void stop(struct fixture *f)
{
    f->d->fini(f->state);
    fake_host_free(f->fh);
}

static int process(struct fixture *f)
{
    return f->d->process(f->state, fake_host_ctx(f->fh));
}

static const char *sample_sql(struct fixture *f)
{
    json_t *log = fake_host_sql_log(f->fh);
    assert_int_equal(json_array_size(log), 2); /* size + one sample query */
    return json_string_value(json_object_get(json_array_get(log, 1), "sql"));
}

static json_t *profile(struct fixture *f)
{
    json_t *p = json_object_get(fake_host_puts(f->fh), "profile");
    assert_non_null(p);
    return p;
}

static void test_small_table_read_whole(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL, "\"customers\"", "3", "1");
    assert_int_equal(process(&f), CS_OK);
    const char *sql = sample_sql(&f);
    assert_null(strstr(sql, "TABLESAMPLE"));
    assert_non_null(strstr(sql, "FROM \"bank\".\"customers\" LIMIT 1000"));
    json_t *p = profile(&f);
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 3);
    assert_string_equal(json_string_value(json_object_get(p, "rowCountSource")),
                        "exact");
    assert_int_equal(json_integer_value(json_object_get(p, "sampleRows")), 3);
    json_t *email = json_object_get(json_object_get(p, "columns"), "email");
    assert_true(json_real_value(json_object_get(email, "nullFraction")) ==
                1.0 / 3.0);
    assert_string_equal(json_string_value(json_object_get(email, "typeClass")),
                        "text");
    json_t *born = json_object_get(json_object_get(p, "columns"), "born");
    assert_string_equal(json_string_value(json_object_get(born, "min")),
                        "1975-12-24");
    assert_true(fake_host_metric(f.fh, "rows_sampled") == 3.0);
    stop(&f);
}

/* When no later pass reads the raw sample, the pass skips building it;
 * the profile is the same either way. */
static void test_unwanted_sample_not_built(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL, "\"customers\"", "3", "1");
    assert_int_equal(process(&f), CS_OK);
    assert_non_null(json_object_get(fake_host_puts(f.fh), "sample"));
    char *with = json_dumps(profile(&f), JSON_SORT_KEYS);
    stop(&f);

    start(&f, NULL, "\"customers\"", "3", "1");
    fake_host_set_unwanted(f.fh, "sample");
    assert_int_equal(process(&f), CS_OK);
    assert_null(json_object_get(fake_host_puts(f.fh), "sample"));
    char *without = json_dumps(profile(&f), JSON_SORT_KEYS);
    assert_string_equal(with, without);
    free(with);
    free(without);
    stop(&f);
}

static void test_large_table_sampled(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"sample_percent\":2.5,\"sample_rows\":500}", "\"big\"",
          "50000", "900");
    assert_int_equal(process(&f), CS_OK);
    assert_non_null(strstr(sample_sql(&f),
                           "FROM \"bank\".\"big\" TABLESAMPLE BERNOULLI "
                           "(2.5) LIMIT 500"));
    json_t *p = profile(&f);
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 50000);
    assert_string_equal(json_string_value(json_object_get(p, "rowCountSource")),
                        "reltuples");
    assert_true(json_number_value(json_object_get(p, "samplePercent")) == 2.5);
    stop(&f);
}

static void test_unanalyzed_estimated(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL, "\"fresh\"", "-1", "400");
    assert_int_equal(process(&f), CS_OK);
    assert_non_null(strstr(sample_sql(&f), "TABLESAMPLE BERNOULLI (10)"));
    json_t *p = profile(&f);
    /* 3 rows at 10 % */
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 30);
    assert_string_equal(json_string_value(json_object_get(p, "rowCountSource")),
                        "sample");
    stop(&f);
}

/* A never-analyzed small table read with LIMIT that came back full: the
 * count is only a lower bound, and the profile says so. */
static void test_unanalyzed_limit_read_is_lower_bound(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"sample_rows\": 3}", "\"fresh\"", "-1", "1");
    assert_int_equal(process(&f), CS_OK);
    assert_null(strstr(sample_sql(&f), "TABLESAMPLE"));
    json_t *p = profile(&f);
    assert_int_equal(json_integer_value(json_object_get(p, "rowCount")), 3);
    assert_string_equal(json_string_value(json_object_get(p, "rowCountSource")),
                        "lower_bound");
    stop(&f);
}

static void test_identifier_quoting(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL, "\"we\\\"ird\"", "3", "1");
    assert_int_equal(process(&f), CS_OK);
    assert_non_null(strstr(sample_sql(&f), "FROM \"bank\".\"we\"\"ird\""));
    /* The size query takes the names as parameters, not in its text. */
    json_t *q = json_array_get(fake_host_sql_log(f.fh), 0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(q, "params"), 1)),
        "we\"ird");
    stop(&f);
}

static void test_sovereignty(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL, "\"customers\"", "3", "1");
    assert_int_equal(process(&f), CS_OK);
    char *p = json_dumps(profile(&f), JSON_COMPACT);
    assert_null(strstr(p, "planted.canary"));
    assert_null(strstr(p, "second.person"));
    assert_non_null(strstr(p, "aaaaaaa.aaaaaa.9999@aaaaaaa.aaa"));
    free(p);
    json_t *sample = json_object_get(fake_host_puts(f.fh), "sample");
    char *s = json_dumps(sample, JSON_COMPACT);
    assert_non_null(strstr(s, "planted.canary.7731@example.org"));
    free(s);
    /* Neither is logged. */
    assert_null(strstr(fake_host_logs(f.fh), "planted"));
    stop(&f);
}

static void test_missing_table(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, NULL, "\"gone\"", "3", "1");
    fake_host_clear_sql(f.fh);
    assert_int_equal(
        fake_host_add_sql(f.fh, "profile: size",
                          "{\"columns\":[[\"a\",\"text\"]],\"rows\":[]}"),
        0);
    assert_int_equal(process(&f), CS_ERR_NOT_FOUND);
    assert_non_null(strstr(fake_host_error(f.fh), "bank.gone"));
    assert_int_equal(json_object_size(fake_host_puts(f.fh)), 0);
    stop(&f);
}

static void test_bad_config(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("profile_postgres");
    fake_host *fh = fake_host_new(d, "{\"sample_percent\":0}");
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                     CS_ERR_INVALID);
    assert_non_null(strstr(fake_host_error(fh), "sample_percent"));
    fake_host_free(fh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_table_read_whole),
        cmocka_unit_test(test_unwanted_sample_not_built),
        cmocka_unit_test(test_large_table_sampled),
        cmocka_unit_test(test_unanalyzed_estimated),
        cmocka_unit_test(test_unanalyzed_limit_read_is_lower_bound),
        cmocka_unit_test(test_identifier_quoting),
        cmocka_unit_test(test_sovereignty),
        cmocka_unit_test(test_missing_table),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
