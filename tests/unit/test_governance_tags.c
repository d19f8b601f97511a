/* governance_tags through a fake host: layer, table prefix and column
 * affix rules, configurable maps, and the rule trail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static json_t *run(const char *config, const char *table)
{
    const cs_pass_desc *d = fake_host_load_pass("governance_tags");
    assert_non_null(d);
    fake_host *fh = fake_host_new(d, config);
    assert_non_null(fh);
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), CS_OK);
    char aspects[2048];
    snprintf(aspects, sizeof aspects, "{\"table\":%s}", table);
    assert_int_equal(fake_host_set_entity(fh, "pg.db.s.t", aspects), 0);
    assert_int_equal(d->process(st, fake_host_ctx(fh)), CS_OK);
    json_t *out =
        json_incref(json_object_get(fake_host_puts(fh), "governance"));
    assert_non_null(out);
    d->fini(st);
    fake_host_free(fh);
    return out;
}

static int has(json_t *arr, const char *tag)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), tag) == 0)
            return 1;
    }
    return 0;
}

static void test_default_rules(void **state)
{
    (void)state;
    json_t *g =
        run(NULL, "{\"name\":\"fact_sales\",\"databaseSchema\":{\"name\":"
                  "\"Mart\"},\"columns\":[{\"name\":\"customer_id\"},"
                  "{\"name\":\"booked_at\"},{\"name\":\"is_refund\"},"
                  "{\"name\":\"amount\"}]}");
    json_t *tags = json_object_get(g, "tags");
    assert_true(has(tags, "gold_layer")); /* mart -> gold, any case */
    assert_true(has(tags, "fact"));
    assert_int_equal(json_array_size(tags), 2);
    json_t *cols = json_object_get(g, "columns");
    assert_true(has(json_object_get(cols, "customer_id"), "identifier"));
    assert_true(has(json_object_get(cols, "booked_at"), "timestamp"));
    assert_true(has(json_object_get(cols, "is_refund"), "flag"));
    assert_null(json_object_get(cols, "amount"));
    /* One rule entry per tag, naming the rule. */
    json_t *rules = json_object_get(g, "rules");
    assert_int_equal(json_array_size(rules), 5);
    json_t *r0 = json_array_get(rules, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "rule")),
                        "layers");
    assert_string_equal(json_string_value(json_object_get(r0, "target")),
                        "table");
    json_decref(g);
}

static void test_no_match(void **state)
{
    (void)state;
    json_t *g = run(NULL, "{\"name\":\"customers\",\"databaseSchema\":"
                          "{\"name\":\"bank\"},\"columns\":[{\"name\":"
                          "\"id\"}]}");
    assert_int_equal(json_array_size(json_object_get(g, "tags")), 0);
    /* "id" alone is not "<x>_id". */
    assert_int_equal(json_object_size(json_object_get(g, "columns")), 0);
    json_decref(g);
}

static void test_configured_maps(void **state)
{
    (void)state;
    json_t *g = run("{\"layers\":{\"lake\":\"bronze\"},"
                    "\"table_prefixes\":{\"agg_\":\"aggregate\"}}",
                    "{\"name\":\"agg_daily\",\"databaseSchema\":{\"name\":"
                    "\"lake\"},\"columns\":[]}");
    json_t *tags = json_object_get(g, "tags");
    assert_true(has(tags, "bronze_layer"));
    assert_true(has(tags, "aggregate"));
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_rules),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_configured_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
