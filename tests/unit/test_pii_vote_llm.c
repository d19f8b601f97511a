/* pii_vote_llm through a fake host with canned chat answers: what the
 * prompt holds (names, types, statistics, shapes) and never holds (planted
 * top values, hashes, min and max), the request settings and schema, the
 * answer turned into pii_llm, errors naming the table, chunking, and a
 * table without columns. */
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
#include "pii.h"

#define FQN "svc.db.bank.customers"

/* Everything the pass must never read out of the profile starts with
 * this; none of it may reach a prompt, a log or the aspect. */
#define PLANT "planted"
#define PLANT_HASH "feedfacecafebeef"

/* Test JSON is written with single quotes (no apostrophes inside). */
static json_t *J(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON at %d: %s\n%s", e.position, e.text, s);
    free(s);
    return v;
}

static char *S(const char *text)
{
    json_t *v = J(text);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

/* Statistics of every profiled column, with values planted where a
 * profile may hold them (top values, min, max). */
static const char *const STATS =
    "{'nullFraction':0.25,'uniqueness':0.97,'avgLength':17.5,"
    " 'topValues':[{'hash':'" PLANT_HASH "','value':'" PLANT
    "-top@example.org','count':3}],"
    " 'min':'" PLANT "-min-Alice','max':'" PLANT "-max-Zed',"
    " 'shapes':[{'shape':'?','count':40},{'shape':'99','count':2}]}";

/* name, table dataType, profile dataType, typeClass, main shape */
static const char *const COLUMNS[][5] = {
    {"email", "VARCHAR", "varchar", "text", "aaaa.aaaa@aaaa.aa"},
    {"id", "INT", "int4", "integer", "9999"},
    {"birth", "DATE", "date", "temporal", "9999-99-99"},
    {"note", "TEXT", "text", "text", "Aaa aaa"},
    {"iban", "VARCHAR", "varchar", "text", "AA99 9999"},
};

/* New reference: the table and profile aspects of a five-column table. */
static json_t *five(void)
{
    json_t *a = J("{'table':{'name':'customers','fullyQualifiedName':'" FQN
                  "','description':'Customers of the bank','columns':[]},"
                  " 'profile':{'rowCount':100,'columns':{}}}");
    json_t *cols = json_object_get(json_object_get(a, "table"), "columns");
    json_t *profs = json_object_get(json_object_get(a, "profile"), "columns");
    for (size_t i = 0; i < sizeof COLUMNS / sizeof COLUMNS[0]; i++) {
        const char *const *c = COLUMNS[i];
        json_t *col = json_pack("{s:s, s:s}", "name", c[0], "dataType", c[1]);
        if (i == 0)
            json_object_set_new(col, "description",
                                json_string("Contact mail"));
        json_array_append_new(cols, col);
        json_t *p = J(STATS);
        json_object_set_new(p, "dataType", json_string(c[2]));
        json_object_set_new(p, "typeClass", json_string(c[3]));
        json_object_set_new(json_array_get(json_object_get(p, "shapes"), 0),
                            "shape", json_string(c[4]));
        json_object_set_new(profs, c[0], p);
    }
    return a;
}

struct t {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct t *t, const char *config)
{
    t->d = fake_host_load_pass("pii_vote_llm");
    assert_non_null(t->d);
    t->fh = fake_host_new(t->d, config);
    assert_non_null(t->fh);
    t->st = NULL;
    assert_int_equal(
        t->d->init(fake_host_api(t->fh), fake_host_ctx(t->fh), &t->st), CS_OK);
}

static void stop(struct t *t)
{
    /* Nothing planted ever reaches a log line or an error. */
    assert_null(strstr(fake_host_logs(t->fh), PLANT));
    assert_null(strstr(fake_host_error(t->fh), PLANT));
    t->d->fini(t->st);
    fake_host_free(t->fh);
}

/* Runs process() on `aspects` (stolen). */
static int run(struct t *t, json_t *aspects)
{
    char *a = json_dumps(aspects, JSON_COMPACT);
    json_decref(aspects);
    assert_non_null(a);
    assert_int_equal(fake_host_set_entity(t->fh, FQN, a), 0);
    free(a);
    return t->d->process(t->st, fake_host_ctx(t->fh));
}

static void add_chat(struct t *t, const char *answer, const char *model)
{
    char *a = S(answer);
    assert_int_equal(fake_host_add_chat(t->fh, CS_OK, a, model), 0);
    free(a);
}

static const char *chat_str(struct t *t, size_t i, const char *key)
{
    return json_string_value(
        json_object_get(json_array_get(fake_host_chats(t->fh), i), key));
}

/* The schema's entity enum: every pii_common entity name, then null. */
static void check_schema(const char *text)
{
    json_t *schema = json_loads(text, 0, NULL);
    assert_non_null(schema);
    json_t *row = json_object_get(
        json_object_get(json_object_get(schema, "properties"), "columns"),
        "items");
    json_t *ent = json_object_get(json_object_get(row, "properties"), "entity");
    json_t *names = json_object_get(ent, "enum");
    assert_int_equal(json_array_size(names), PII_ENTITY_COUNT);
    for (int e = 1; e < PII_ENTITY_COUNT; e++)
        assert_string_equal(json_string_value(json_array_get(names, e - 1)),
                            pii_entity_name((pii_entity)e));
    assert_true(json_is_null(json_array_get(names, PII_ENTITY_COUNT - 1)));
    json_decref(schema);
}

static void test_prompt_has_shapes_never_values(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    add_chat(&t, "{'columns':[]}", NULL);
    assert_int_equal(run(&t, five()), CS_OK);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 1);
    json_t *call = json_array_get(fake_host_chats(t.fh), 0);
    const char *prompt = chat_str(&t, 0, "prompt");
    const char *system = chat_str(&t, 0, "system");
    assert_non_null(prompt);
    assert_non_null(system);
    for (const char *const *w =
             (const char *const[]){
                 "Table: customers", "\"name\":\"email\"", "\"name\":\"iban\"",
                 "\"type\":\"VARCHAR\"", "\"typeClass\":\"temporal\"",
                 "\"shape\":\"aaaa.aaaa@aaaa.aa\"", "\"shape\":\"AA99 9999\"",
                 "\"count\":40", "\"nullFraction\"", "\"uniqueness\"",
                 "\"avgLength\"", "Contact mail", NULL};
         *w; w++)
        if (!strstr(prompt, *w))
            fail_msg("`%s` missing from the prompt:\n%s", *w, prompt);
    assert_null(strstr(prompt, PLANT));
    assert_null(strstr(prompt, PLANT_HASH));
    assert_null(strstr(prompt, "topValues"));
    assert_null(strstr(system, PLANT));
    assert_non_null(strstr(system, "null when not PII"));
    assert_non_null(strstr(system, "DATE_OF_BIRTH"));
    assert_true(json_real_value(json_object_get(call, "temperature")) == 0.0);
    assert_true(json_real_value(json_object_get(call, "top_p")) == 1.0);
    assert_string_equal(chat_str(&t, 0, "endpoint"), "default");
    assert_true(json_is_null(json_object_get(call, "model")));
    check_schema(chat_str(&t, 0, "json_schema"));
    stop(&t);
}

static void test_answer_becomes_pii_llm(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"endpoint\": \"local\", \"model\": \"m-1\"}");
    add_chat(&t,
             "{'columns':["
             " {'name':'email','entity':'EMAIL','confidence':0.9},"
             " {'name':'ghost','entity':'EMAIL','confidence':0.9},"
             " {'name':'note','entity':'SHOE_SIZE','confidence':0.5},"
             " {'name':'iban','entity':'iban','confidence':1.7},"
             " {'name':'id','entity':null,'confidence':-0.2}]}",
             "m-1-as-served");
    assert_int_equal(run(&t, five()), CS_OK);
    assert_string_equal(chat_str(&t, 0, "endpoint"), "local");
    assert_string_equal(chat_str(&t, 0, "model"), "m-1");
    json_t *out = json_object_get(fake_host_puts(t.fh), "pii_llm");
    assert_non_null(out);
    json_t *want = J("{'email':{'entity':'EMAIL','confidence':0.9},"
                     " 'note':{'entity':null,'confidence':0.5},"
                     " 'iban':{'entity':'IBAN','confidence':1.0},"
                     " 'id':{'entity':null,'confidence':0.0}}");
    if (!json_equal(json_object_get(out, "columns"), want))
        fail_msg("pii_llm.columns: %s",
                 json_dumps(json_object_get(out, "columns"), JSON_COMPACT));
    json_decref(want);
    assert_string_equal(json_string_value(json_object_get(out, "model")),
                        "m-1-as-served");
    assert_int_equal(json_integer_value(json_object_get(out, "attempts")), 1);
    const char *hash = json_string_value(json_object_get(out, "prompt_hash"));
    assert_non_null(hash);
    assert_int_equal(strlen(hash), 16);
    assert_int_equal(strspn(hash, "0123456789abcdef"), 16);
    assert_true(fake_host_metric(t.fh, "pii_votes") == 4.0);
    assert_true(fake_host_metric(t.fh, "pii_vote_calls") == 1.0);
    stop(&t);
}

/* Each failure is the entity's error, names the table, and puts nothing. */
static void expect_failure(int status, const char *content, int want)
{
    struct t t;
    start(&t, NULL);
    if (content)
        assert_int_equal(fake_host_add_chat(t.fh, status, content, NULL), 0);
    else
        assert_int_equal(fake_host_add_chat(t.fh, status, NULL, NULL), 0);
    assert_int_equal(run(&t, five()), want);
    if (!strstr(fake_host_error(t.fh), FQN))
        fail_msg("error without the table: %s", fake_host_error(t.fh));
    assert_null(json_object_get(fake_host_puts(t.fh), "pii_llm"));
    stop(&t);
}

static void test_errors_name_the_table(void **state)
{
    (void)state;
    expect_failure(CS_ERR_INVALID, NULL, CS_ERR_INVALID);
    /* An answer the host let through that is not of the schema's shape. */
    expect_failure(CS_OK, "[1, 2]", CS_ERR_INVALID);
}

/* An outage is not the entity's failure: the vote is advice.  The pass
 * waits (unavailable_wait_ms), tries again, then records the vote as
 * missing with the reason; the next table, the endpoint now known down,
 * is not kept waiting. */
static void test_outage_leaves_the_vote_missing(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"unavailable_wait_ms\": 200}");
    assert_int_equal(run(&t, five()), CS_OK);
    json_t *out = json_object_get(fake_host_puts(t.fh), "pii_llm");
    assert_non_null(out);
    assert_int_equal(json_object_size(json_object_get(out, "columns")), 0);
    const char *why = json_string_value(json_object_get(out, "missing"));
    assert_non_null(why);
    assert_non_null(strstr(why, "unavailable"));
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 2);
    assert_true(fake_host_metric(t.fh, "pii_vote_missing") == 1.0);
    json_array_clear(fake_host_chats(t.fh));
    assert_int_equal(run(&t, five()), CS_OK);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 1);
    /* Back: a good answer clears the mark and has no `missing`. */
    add_chat(&t,
             "{'columns':[{'name':'email','entity':'EMAIL',"
             "'confidence':1}]}",
             NULL);
    assert_int_equal(run(&t, five()), CS_OK);
    out = json_object_get(fake_host_puts(t.fh), "pii_llm");
    assert_null(json_object_get(out, "missing"));
    stop(&t);
}

static void test_chunks(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"max_columns\": 2}");
    add_chat(&t,
             "{'columns':[{'name':'email','entity':'EMAIL','confidence':1},"
             " {'name':'iban','entity':'IBAN','confidence':1}]}",
             NULL);
    add_chat(&t,
             "{'columns':[{'name':'birth','entity':'DATE_OF_BIRTH',"
             "'confidence':0.7},{'name':'note','entity':null,'confidence':1}]}",
             NULL);
    add_chat(&t, "{'columns':[{'name':'iban','entity':'IBAN','confidence':1}]}",
             NULL);
    assert_int_equal(run(&t, five()), CS_OK);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 3);
    const char *const chunk[3][2] = {
        {"email", "id"}, {"birth", "note"}, {"iban", NULL}};
    for (size_t i = 0; i < 3; i++) {
        const char *p = chat_str(&t, i, "prompt");
        for (size_t k = 0; k < 2 && chunk[i][k]; k++) {
            char needle[64];
            snprintf(needle, sizeof needle, "\"name\":\"%s\"", chunk[i][k]);
            assert_non_null(strstr(p, needle));
        }
        assert_int_equal(strstr(p, "\"name\":\"iban\"") != NULL, i == 2);
    }
    /* The first answer's `iban` row was not shown in that call: dropped,
     * and the third call's answer is the one kept. */
    json_t *want = J("{'email':{'entity':'EMAIL','confidence':1.0},"
                     " 'birth':{'entity':'DATE_OF_BIRTH','confidence':0.7},"
                     " 'note':{'entity':null,'confidence':1.0},"
                     " 'iban':{'entity':'IBAN','confidence':1.0}}");
    json_t *out = json_object_get(fake_host_puts(t.fh), "pii_llm");
    assert_true(json_equal(json_object_get(out, "columns"), want));
    json_decref(want);
    assert_int_equal(json_integer_value(json_object_get(out, "attempts")), 3);
    assert_true(fake_host_metric(t.fh, "pii_vote_calls") == 3.0);
    assert_true(fake_host_metric(t.fh, "pii_votes") == 4.0);
    stop(&t);
}

static void test_no_columns_no_call(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    assert_int_equal(
        run(&t, J("{'table':{'name':'empty','columns':[]},'profile':{}}")),
        CS_OK);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 0);
    json_t *out = json_object_get(fake_host_puts(t.fh), "pii_llm");
    assert_true(json_is_object(json_object_get(out, "columns")));
    assert_int_equal(json_object_size(json_object_get(out, "columns")), 0);
    assert_true(fake_host_metric(t.fh, "pii_vote_calls") == 0.0);
    stop(&t);
}

static void expect_init_error(const char *config, bool drop, const char *want)
{
    const cs_pass_desc *d = fake_host_load_pass("pii_vote_llm");
    assert_non_null(d);
    fake_host *fh = fake_host_new(d, config);
    assert_non_null(fh);
    if (drop)
        fake_host_drop_network(fh);
    void *st = NULL;
    assert_int_not_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                         CS_OK);
    if (!strstr(fake_host_error(fh), want))
        fail_msg("init error `%s` lacks `%s`", fake_host_error(fh), want);
    fake_host_free(fh);
}

static void test_init_errors(void **state)
{
    (void)state;
    expect_init_error(NULL, true, "llm_chat");
    expect_init_error("{\"max_columns\": 0}", false, "max_columns");
    expect_init_error("{\"top_p\": 0}", false, "top_p");
    expect_init_error("{\"temperature\": 3}", false, "temperature");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_has_shapes_never_values),
        cmocka_unit_test(test_answer_becomes_pii_llm),
        cmocka_unit_test(test_errors_name_the_table),
        cmocka_unit_test(test_outage_leaves_the_vote_missing),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_no_columns_no_call),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
