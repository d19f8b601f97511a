/* describe_template through a fake host: the golden output of a small
 * table with profile, pii and fk; a person's descriptions kept; the word
 * limit; byte-identical output for the same input; no network call; values
 * planted in the profile's min/max/topValues/shapes never in the output;
 * missing optional aspects; options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define FQN "svc.db.bank.customers"
#define CANARY "canary"

static const char *const TABLE =
    "{\"name\": \"customers\", \"fullyQualifiedName\": \"" FQN "\","
    " \"catalogSync\": {\"schema\": \"bank\", \"table\": \"customers\"},"
    " \"columns\": ["
    "  {\"name\": \"id\", \"dataType\": \"INT\", \"constraint\": "
    "\"PRIMARY_KEY\"},"
    "  {\"name\": \"email\", \"dataType\": \"VARCHAR\"},"
    "  {\"name\": \"branch_id\", \"dataType\": \"INT\"},"
    "  {\"name\": \"segment\", \"dataType\": \"INT\"},"
    "  {\"name\": \"notes\", \"dataType\": \"VARCHAR\","
    "   \"description\": \"Free text kept by the branch staff.\"}]";

/* min, max, topValues and shapes hold what a sentence must never show. */
static const char *const PROFILE =
    "{\"rowCount\": 2987, \"rowCountSource\": \"reltuples\","
    " \"sampleRows\": 1000, \"samplePercent\": 33.0, \"columns\": {"
    "  \"id\": {\"typeClass\": \"integer\", \"nullFraction\": 0.0,"
    "   \"distinctCount\": 1000, \"uniqueness\": 1.0,"
    "   \"min\": 424242, \"max\": 989898,"
    "   \"topValues\": [{\"hash\": \"" CANARY "0001\", \"count\": 1}]},"
    "  \"email\": {\"typeClass\": \"text\", \"nullFraction\": 0.1,"
    "   \"distinctCount\": 880, \"uniqueness\": 0.98,"
    "   \"shapes\": [{\"shape\": \"" CANARY "@aaaa.aa\", \"count\": 5}],"
    "   \"topValues\": [{\"hash\": \"" CANARY "0002\", \"count\": 3}]},"
    "  \"branch_id\": {\"typeClass\": \"integer\", \"nullFraction\": 0.0,"
    "   \"distinctCount\": 12, \"uniqueness\": 0.012,"
    "   \"min\": \"" CANARY "-min\", \"max\": \"" CANARY "-max\"},"
    "  \"segment\": {\"typeClass\": \"integer\", \"nullFraction\": 0.0,"
    "   \"distinctCount\": 15, \"uniqueness\": 0.015, \"min\": 313131}}}";

static const char *const PII =
    "{\"columns\": {"
    "  \"email\": {\"entity\": \"EMAIL\", \"status\": \"tagged\","
    "   \"reason\": \"" CANARY " reason\"},"
    "  \"segment\": {\"entity\": \"PHONE\", \"status\": \"candidate\"}}}";

static const char *const FK =
    "{\"edges\": [{\"fromColumns\": [\"branch_id\"], \"toTable\": "
    "\"svc.db.bank.branches\", \"toColumns\": [\"id\"], \"status\": "
    "\"confirmed\"}],"
    " \"rejected\": [{\"fromColumns\": [\"segment\"], \"toTable\": "
    "\"svc.db.bank.segments\", \"toColumns\": [\"id\"], \"status\": "
    "\"rejected\"}]}";

static const char *const GOLDEN =
    "{\"table\": {\"description\": \"Table customers in schema bank: about "
    "3,000 rows, 5 columns; references branches; personal data in 1 "
    "column.\"},"
    " \"columns\": {"
    "  \"id\": {\"description\": \"Primary key, unique and never null in the "
    "sample.\"},"
    "  \"email\": {\"description\": \"E-mail address (personal data), 10 % "
    "null and 880 distinct values in the sample.\"},"
    "  \"branch_id\": {\"description\": \"References branches.id, never null "
    "and 12 distinct values in the sample.\"},"
    "  \"segment\": {\"description\": \"Integer, never null and 15 distinct "
    "values in the sample.\"}},"
    " \"source\": \"describe_template\", \"model\": null, \"attempts\": 0,"
    " \"kept\": [\"notes\"], \"kept_table\": false}";

struct run {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct run *r, const char *config)
{
    r->d = fake_host_load_pass("describe_template");
    assert_non_null(r->d);
    r->fh = fake_host_new(r->d, config);
    assert_non_null(r->fh);
    r->st = NULL;
    assert_int_equal(
        r->d->init(fake_host_api(r->fh), fake_host_ctx(r->fh), &r->st), CS_OK);
}

static void stop(struct run *r)
{
    r->d->fini(r->st);
    fake_host_free(r->fh);
}

/* The description aspect (a new reference) of one process() call. */
static json_t *describe(struct run *r, const char *aspects)
{
    assert_int_equal(fake_host_set_entity(r->fh, FQN, aspects), 0);
    assert_int_equal(r->d->process(r->st, fake_host_ctx(r->fh)), CS_OK);
    json_t *out =
        json_incref(json_object_get(fake_host_puts(r->fh), "description"));
    assert_non_null(out);
    return out;
}

/* {"table": TABLE + extra, "profile": PROFILE[, "pii": PII, "fk": FK]} */
static char *aspects(const char *table_extra, int with_pii_fk, const char *more)
{
    char table[4096];
    snprintf(table, sizeof table, "%s%s}", TABLE, table_extra);
    size_t n = strlen(table) + strlen(PROFILE) + strlen(PII) + strlen(FK) +
               strlen(more) + 128;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "{\"table\": %s, \"profile\": %s%s%s%s%s%s}", table, PROFILE,
             with_pii_fk ? ", \"pii\": " : "", with_pii_fk ? PII : "",
             with_pii_fk ? ", \"fk\": " : "", with_pii_fk ? FK : "", more);
    return s;
}

static const char *col_desc(json_t *out, const char *name)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(out, "columns"), name), "description"));
}

static size_t words(const char *s)
{
    size_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int space = *s == ' ' || *s == '\t' || *s == '\n';
        n += !space && !in;
        in = !space;
    }
    return n;
}

/* Every description of out has at most max words and is one sentence. */
static void assert_limits(json_t *out, size_t max)
{
    const char *t = json_string_value(
        json_object_get(json_object_get(out, "table"), "description"));
    if (t) {
        assert_true(words(t) <= max);
        assert_int_equal(t[strlen(t) - 1], '.');
    }
    const char *name;
    json_t *c;
    json_object_foreach(json_object_get(out, "columns"), name, c)
    {
        const char *s = json_string_value(json_object_get(c, "description"));
        assert_non_null(s);
        assert_true(words(s) <= max);
        assert_non_null(strchr(s, '.'));
        assert_ptr_equal(strstr(s, ". "), NULL); /* one sentence */
    }
}

static void test_golden(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    char *in = aspects("", 1, "");
    json_t *out = describe(&r, in);
    json_t *want = json_loads(GOLDEN, 0, NULL);
    assert_non_null(want);
    if (!json_equal(out, want)) {
        char *got = json_dumps(out, JSON_INDENT(1));
        fprintf(stderr, "got: %s\n", got);
        free(got);
        fail();
    }
    assert_limits(out, 20);
    assert_true(fake_host_metric(r.fh, "descriptions_written") == 5);
    json_decref(want);
    json_decref(out);
    free(in);
    stop(&r);
}

static void test_deterministic_and_offline(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    char *in = aspects("", 1, "");
    json_t *a = describe(&r, in);
    json_t *b = describe(&r, in);
    char *sa = json_dumps(a, 0), *sb = json_dumps(b, 0);
    assert_non_null(sa);
    assert_string_equal(sa, sb);
    /* Nothing planted in min/max/topValues/shapes or reasons. */
    assert_null(strstr(sa, CANARY));
    assert_null(strstr(sa, "424242"));
    assert_null(strstr(sa, "989898"));
    assert_null(strstr(sa, "313131"));
    assert_int_equal(json_array_size(fake_host_http_log(r.fh)), 0);
    assert_int_equal(json_array_size(fake_host_chats(r.fh)), 0);
    assert_int_equal(json_array_size(fake_host_embeds(r.fh)), 0);
    assert_int_equal(json_array_size(fake_host_sql_log(r.fh)), 0);
    assert_int_equal(json_array_size(fake_host_audits(r.fh)), 0);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
    free(in);
    stop(&r);
}

static void test_person_written_kept(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    char *in =
        aspects(", \"description\": \"Customers, curated by finance.\"", 1, "");
    json_t *out = describe(&r, in);
    assert_null(json_object_get(out, "table"));
    assert_true(json_is_true(json_object_get(out, "kept_table")));
    json_t *kept = json_object_get(out, "kept");
    assert_int_equal(json_array_size(kept), 1);
    assert_string_equal(json_string_value(json_array_get(kept, 0)), "notes");
    assert_null(json_object_get(json_object_get(out, "columns"), "notes"));
    assert_non_null(col_desc(out, "id"));
    assert_true(fake_host_metric(r.fh, "descriptions_written") == 4);
    json_decref(out);
    free(in);
    /* A blank description is nobody's text. */
    in = aspects(", \"description\": \"  \"", 1, "");
    out = describe(&r, in);
    assert_non_null(json_object_get(out, "table"));
    assert_true(json_is_false(json_object_get(out, "kept_table")));
    json_decref(out);
    free(in);
    stop(&r);
}

static void test_word_limit(void **state)
{
    (void)state;
    struct run r;
    start(&r, "{\"max_words\": 5}");
    char *in = aspects("", 1, "");
    json_t *out = describe(&r, in);
    assert_limits(out, 5);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out, "table"), "description")),
                        "Table customers in schema bank.");
    assert_string_equal(col_desc(out, "email"),
                        "E-mail address (personal data).");
    /* "Integer, never null in the sample." is 6 words: the fact goes. */
    assert_string_equal(col_desc(out, "segment"), "Integer.");
    json_decref(out);
    free(in);
    stop(&r);
}

/* Long lists and names: clauses dropped, a long head cut at a word. */
static void test_word_limit_long(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    const char *in =
        "{\"table\": {\"name\": \"a b c d e f g h i j k l m n o p q r s t u "
        "v\","
        "  \"columns\": [{\"name\": \"x\", \"dataType\": \"INT\"}]},"
        " \"profile\": {\"rowCount\": 5, \"rowCountSource\": \"exact\"}}";
    json_t *out = describe(&r, in);
    assert_limits(out, 20);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out, "table"), "description")),
                        "Table a b c d e f g h i j k l m n o p q r s.");
    assert_string_equal(col_desc(out, "x"), "Integer.");
    json_decref(out);
    in = "{\"table\": {\"name\": \"orders\", \"fullyQualifiedName\": "
         "\"s.d.shop.orders\", \"columns\": [{\"name\": \"a\"}]},"
         " \"profile\": {\"rowCount\": 12345678, \"rowCountSource\": "
         "\"lower_bound\"},"
         " \"fk\": {\"edges\": ["
         "  {\"fromColumns\": [\"a\"], \"toTable\": \"s.d.shop.t1\", "
         "\"toColumns\": [\"id\"], \"status\": \"known\"},"
         "  {\"fromColumns\": [\"a\"], \"toTable\": \"s.d.shop.t2\", "
         "\"toColumns\": [\"id\"], \"status\": \"confirmed\"},"
         "  {\"fromColumns\": [\"a\"], \"toTable\": \"s.d.shop.t3\", "
         "\"toColumns\": [\"id\"], \"status\": \"known\"},"
         "  {\"fromColumns\": [\"a\"], \"toTable\": \"s.d.shop.t4\", "
         "\"toColumns\": [\"id\"], \"status\": \"known\"},"
         "  {\"fromColumns\": [\"a\"], \"toTable\": \"s.d.shop.t5\", "
         "\"toColumns\": [\"id\"], \"status\": \"candidate\"}]},"
         " \"lineage\": {\"upstream\": [{\"fqn\": \"s.d.raw.orders_raw\"}]}}";
    out = describe(&r, in);
    assert_limits(out, 20);
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(out, "table"), "description")),
        "Table orders in schema shop: at least 12,345,678 rows, 1 column; "
        "references t1, t2, t3 and 1 more table.");
    assert_string_equal(col_desc(out, "a"), "References t1.id.");
    json_decref(out);
    stop(&r);
}

/* No pii, no fk: names, types and the declared key still speak. */
static void test_optional_aspects_missing(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    char *in = aspects(
        ", \"tableConstraints\": [{\"constraintType\": \"FOREIGN_KEY\","
        " \"columns\": [\"branch_id\"],"
        " \"referredColumns\": [\"svc.db.bank.branches.id\"]}]",
        0, ", \"lineage\": {\"upstream\": [{\"fqn\": \"svc.db.raw.cust\"}]}");
    json_t *out = describe(&r, in);
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(out, "table"), "description")),
        "Table customers in schema bank: about 3,000 rows, 5 columns; "
        "references branches; derived from cust.");
    assert_string_equal(col_desc(out, "email"),
                        "Text, 10 % null and 880 distinct values in the "
                        "sample.");
    assert_string_equal(col_desc(out, "branch_id"),
                        "References branches.id, never null and 12 distinct "
                        "values in the sample.");
    json_decref(out);
    free(in);
    /* Without any key either: the name says identifier. */
    in = aspects("", 0, "");
    out = describe(&r, in);
    assert_string_equal(col_desc(out, "branch_id"),
                        "Identifier, never null and 12 distinct values in "
                        "the sample.");
    json_decref(out);
    free(in);
    stop(&r);
}

static void test_exact_profile(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    const char *in =
        "{\"table\": {\"name\": \"flags\", \"columns\": ["
        "  {\"name\": \"id\", \"dataType\": \"BIGINT\"},"
        "  {\"name\": \"on\", \"dataType\": \"BOOLEAN\"},"
        "  {\"name\": \"at\", \"dataType\": \"TIMESTAMP\"}]},"
        " \"profile\": {\"rowCount\": 1, \"rowCountSource\": \"exact\","
        "  \"columns\": {"
        "   \"id\": {\"nullFraction\": 0, \"distinctCount\": 1, "
        "\"uniqueness\": 1},"
        "   \"on\": {\"typeClass\": \"boolean\", \"nullFraction\": 0.004,"
        "    \"distinctCount\": 2},"
        "   \"at\": {\"nullFraction\": 1, \"distinctCount\": 0}}}}";
    json_t *out = describe(&r, in);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out, "table"), "description")),
                        "Table flags: 1 row, 3 columns.");
    assert_string_equal(col_desc(out, "id"),
                        "Identifier, never null and a single distinct value.");
    assert_string_equal(col_desc(out, "on"), "Flag, under 1 % null.");
    assert_string_equal(col_desc(out, "at"), "Timestamp, always null.");
    json_decref(out);
    stop(&r);
}

static void test_options(void **state)
{
    (void)state;
    struct run r;
    start(&r, "{\"describe_table\": false, \"describe_columns\": false}");
    char *in = aspects("", 1, "");
    json_t *out = describe(&r, in);
    assert_null(json_object_get(out, "table"));
    assert_int_equal(json_object_size(json_object_get(out, "columns")), 0);
    assert_int_equal(json_array_size(json_object_get(out, "kept")), 1);
    assert_true(fake_host_metric(r.fh, "descriptions_written") == 0);
    json_decref(out);
    free(in);
    stop(&r);
}

static void test_max_words_validated(void **state)
{
    (void)state;
    const char *bad[] = {"{\"max_words\": 4}", "{\"max_words\": 21}"};
    for (size_t i = 0; i < 2; i++) {
        const cs_pass_desc *d = fake_host_load_pass("describe_template");
        assert_non_null(d);
        fake_host *fh = fake_host_new(d, bad[i]);
        assert_non_null(fh);
        void *st = NULL;
        assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                         CS_ERR_INVALID);
        assert_non_null(strstr(fake_host_error(fh), "config.max_words"));
        assert_non_null(strstr(fake_host_error(fh), "5..20"));
        fake_host_free(fh);
    }
}

static void test_bad_table(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    assert_int_equal(
        fake_host_set_entity(r.fh, FQN, "{\"table\": [], \"profile\": {}}"), 0);
    assert_int_equal(r.d->process(r.st, fake_host_ctx(r.fh)), CS_ERR_INVALID);
    assert_non_null(strstr(fake_host_error(r.fh), FQN));
    assert_null(json_object_get(fake_host_puts(r.fh), "description"));
    stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_deterministic_and_offline),
        cmocka_unit_test(test_person_written_kept),
        cmocka_unit_test(test_word_limit),
        cmocka_unit_test(test_word_limit_long),
        cmocka_unit_test(test_optional_aspects_missing),
        cmocka_unit_test(test_exact_profile),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_max_words_validated),
        cmocka_unit_test(test_bad_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
