/* describe_llm through a fake host with canned chat answers: what the
 * prompt holds (masked rows, profile summary, FK edges, never a value of
 * `profile` nor a column a person described), the checks on an answer,
 * the fallback model, the record of attempts, and an unavailable
 * endpoint. */
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

#define FQN "svc.db.bank.customers"

/* Values that only `profile` holds (its raw min/max and a stray value):
 * the prompt must never carry them. */
#define PROFILE_CANARY "1961-04-12"
#define PROFILE_CANARY2 "canary-top@example.org"

static const char *const ENTITY =
    "{\"table\": {\"name\": \"customers\", \"fullyQualifiedName\": \"" FQN
    "\", \"catalogSync\": {\"schema\": \"bank\"},"
    " \"columns\": ["
    "  {\"name\": \"id\", \"dataType\": \"INT\", \"constraint\": "
    "\"PRIMARY_KEY\"},"
    "  {\"name\": \"email\", \"dataType\": \"VARCHAR\"},"
    "  {\"name\": \"branch_id\", \"dataType\": \"INT\"},"
    "  {\"name\": \"born\", \"dataType\": \"DATE\"},"
    "  {\"name\": \"segment\", \"dataType\": \"VARCHAR\", \"description\": "
    "\"Marketing segment, set by the CRM team\"}]},"
    " \"profile\": {\"rowCount\": 3000, \"columns\": {"
    "  \"id\": {\"dataType\": \"int4\", \"nullFraction\": 0, "
    "\"distinctCount\": 50, \"min\": 1, \"max\": 3000},"
    "  \"email\": {\"nullFraction\": 0.1, \"topValues\": [{\"hash\": \"ab\", "
    "\"value\": \"" PROFILE_CANARY2 "\"}]},"
    "  \"born\": {\"min\": \"" PROFILE_CANARY "\", \"max\": \"2001-02-03\"}}},"
    " \"sample_masked\": {\"columns\": [{\"name\": \"id\"}, {\"name\": "
    "\"email\"}, {\"name\": \"branch_id\"}, {\"name\": \"born\"}, "
    "{\"name\": \"segment\"}],"
    "  \"rows\": [[1, \"<EMAIL_1>\", 3, \"<DATE_OF_BIRTH_1>\", \"gold\"],"
    "            [2, \"<EMAIL_2>\", 4, \"<DATE_OF_BIRTH_2>\", \"silver\"],"
    "            [3, null, 3, \"<DATE_OF_BIRTH_3>\", \"gold\"],"
    "            [4, \"<EMAIL_3>\", 3, \"<DATE_OF_BIRTH_4>\", \"gold\"],"
    "            [5, \"<EMAIL_4>\", 5, \"<DATE_OF_BIRTH_5>\", \"gold\"],"
    "            [6, \"<EMAIL_5>\", 5, \"<DATE_OF_BIRTH_6>\", \"bronze\"]],"
    "  \"columnsStats\": {\"born\": {\"min\": \"<DATE_OF_BIRTH_1>\", "
    "\"max\": \"<DATE_OF_BIRTH_2>\"}}},"
    " \"pii\": {\"columns\": {\"email\": {\"status\": \"tagged\", "
    "\"entity\": \"EMAIL\"}, \"born\": {\"status\": \"tagged\", \"entity\": "
    "\"DATE_OF_BIRTH\"}}},"
    " \"fk\": {\"edges\": [{\"fromColumns\": [\"branch_id\"], \"toTable\": "
    "\"svc.db.bank.branches\", \"toColumns\": [\"id\"], \"status\": "
    "\"confirmed\"}]}}";

static const char *const GOOD =
    "{\"table\": \"Retail customers of the bank, one row per person.\","
    " \"confidence\": \"high\", \"columns\": ["
    "  {\"name\": \"id\", \"description\": \"Unique customer number.\"},"
    "  {\"name\": \"email\", \"description\": \"Contact e-mail address, "
    "sometimes empty.\"},"
    "  {\"name\": \"branch_id\", \"description\": \"Home branch of the "
    "customer, see branches.\"},"
    "  {\"name\": \"born\", \"description\": \"Date of birth.\"},"
    "  {\"name\": \"segment\", \"description\": \"Overwrites a person's "
    "text.\"}]}";

struct t {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct t *t, const char *config)
{
    t->d = fake_host_load_pass("describe_llm");
    assert_non_null(t->d);
    t->fh = fake_host_new(t->d, config ? config : "{}");
    assert_non_null(t->fh);
    t->st = NULL;
    assert_int_equal(
        t->d->init(fake_host_api(t->fh), fake_host_ctx(t->fh), &t->st), CS_OK);
    assert_int_equal(fake_host_set_entity(t->fh, FQN, ENTITY), 0);
}

static void stop(struct t *t)
{
    t->d->fini(t->st);
    fake_host_free(t->fh);
}

static int process(struct t *t)
{
    return t->d->process(t->st, fake_host_ctx(t->fh));
}

static json_t *out(struct t *t)
{
    return json_object_get(fake_host_puts(t->fh), "description");
}

static const char *col_text(struct t *t, const char *name)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(out(t), "columns"), name),
        "description"));
}

static const char *prompt(struct t *t, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(fake_host_chats(t->fh), i), "prompt"));
}

static void test_good_answer(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    fake_host_add_chat(t.fh, CS_OK, GOOD, "small-7b");
    assert_int_equal(process(&t), CS_OK);
    json_t *d = out(&t);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "source")),
                        "describe_llm");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "table"), "description")),
                        "Retail customers of the bank, one row per person.");
    assert_string_equal(col_text(&t, "email"),
                        "Contact e-mail address, sometimes empty.");
    assert_string_equal(json_string_value(json_object_get(d, "model")),
                        "small-7b");
    /* A person's description is kept: not asked, not in the output. */
    assert_null(col_text(&t, "segment"));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(d, "kept"), 0)),
        "segment");
    assert_int_equal(
        strlen(json_string_value(json_object_get(d, "prompt_hash"))), 64);
    json_t *a = json_array_get(json_object_get(d, "attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "outcome")), "ok");
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 1);
    stop(&t);
}

static void test_prompt_contents(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    fake_host_add_chat(t.fh, CS_OK, GOOD, NULL);
    assert_int_equal(process(&t), CS_OK);
    const char *p = prompt(&t, 0);
    assert_non_null(p);
    assert_non_null(strstr(p, "Table: bank.customers"));
    assert_non_null(strstr(p, "<EMAIL_1>"));               /* masked rows */
    assert_non_null(strstr(p, "svc.db.bank.branches.id")); /* FK edge */
    assert_non_null(strstr(p, "\"personalData\":\"EMAIL\""));
    assert_non_null(strstr(p, "\"rowCount\":3000"));
    assert_non_null(strstr(p, "\"primaryKey\":true"));
    assert_non_null(strstr(p, "at most 20 words"));
    /* Five rows at most: the sixth row's placeholder is absent. */
    assert_null(strstr(p, "<EMAIL_5>"));
    assert_null(strstr(p, PROFILE_CANARY));
    assert_null(strstr(p, PROFILE_CANARY2));
    assert_null(strstr(p, "2001-02-03"));
    /* The person-described column is context, not a question. */
    assert_null(strstr(p, "\"describe\":[\"id\",\"email\",\"branch_id\","
                          "\"born\",\"segment\"]"));
    assert_non_null(
        strstr(p, "\"describe\":[\"id\",\"email\",\"branch_id\",\"born\"]"));
    json_t *c = json_array_get(fake_host_chats(t.fh), 0);
    assert_non_null(json_string_value(json_object_get(c, "json_schema")));
    assert_true(json_number_value(json_object_get(c, "top_p")) > 0.99);
    stop(&t);
}

static void test_bad_texts_go_to_the_fallback(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    fake_host_add_chat(
        t.fh, CS_OK,
        "{\"table\": \"Customers.\", \"confidence\": \"high\", \"columns\": ["
        " {\"name\": \"id\", \"description\": \"Unique customer number.\"},"
        " {\"name\": \"email\", \"description\": \"Holds <EMAIL_1> and "
        "others.\"},"
        " {\"name\": \"branch_id\", \"description\": \"one two three four "
        "five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty twentyone\"},"
        " {\"name\": \"born\", \"description\": \"Birth date of the "
        "customer.\"}]}",
        "small-7b");
    fake_host_add_chat(
        t.fh, CS_OK,
        "{\"table\": \"Retail customers of the bank.\", \"confidence\": "
        "\"high\", \"columns\": ["
        " {\"name\": \"email\", \"description\": \"Contact e-mail "
        "address.\"},"
        " {\"name\": \"branch_id\", \"description\": \"Branch\"},"
        " {\"name\": \"born\", \"description\": \"Customer birth "
        "date.\"}]}",
        "coder-32b");
    assert_int_equal(process(&t), CS_OK);
    json_t *d = out(&t);
    assert_string_equal(col_text(&t, "id"), "Unique customer number.");
    assert_string_equal(col_text(&t, "email"), "Contact e-mail address.");
    /* The fallback's text wins when both passed. */
    assert_string_equal(col_text(&t, "born"), "Customer birth date.");
    /* Too long first, a bare name second: no description, with why. */
    assert_null(col_text(&t, "branch_id"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "rejected"), "branch_id")),
                        "only restates the name");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "table"), "description")),
                        "Retail customers of the bank.");
    json_t *c1 = json_array_get(fake_host_chats(t.fh), 1);
    assert_string_equal(json_string_value(json_object_get(c1, "model")),
                        "@fallback");
    json_t *at = json_object_get(d, "attempts");
    assert_int_equal(json_array_size(at), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(at, 0), "outcome")),
        "rejected");
    assert_string_equal(json_string_value(json_object_get(d, "model")),
                        "coder-32b");
    stop(&t);
}

static void test_low_confidence_and_garbage(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "{\"fallback_model\": \"big\"}");
    fake_host_add_chat(t.fh, CS_OK, "Sure! Here it is: not JSON", NULL);
    fake_host_add_chat(t.fh, CS_OK,
                       "{\"table\": \"Retail customers of the bank.\", "
                       "\"confidence\": \"low\", \"columns\": []}",
                       NULL);
    assert_int_equal(process(&t), CS_OK);
    json_t *at = json_object_get(out(&t), "attempts");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(at, 0), "outcome")),
        "invalid_json");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(at, 1), "outcome")),
        "rejected");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(fake_host_chats(t.fh), 1), "model")),
                        "big");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out(&t), "rejected"), "email")),
                        "not answered");
    stop(&t);
}

static void test_unavailable(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "{\"unavailable_wait_ms\": 300}");
    /* No canned answer: every call is CS_ERR_UNAVAILABLE. */
    assert_int_equal(process(&t), CS_ERR_UNAVAILABLE);
    assert_null(out(&t));
    assert_non_null(strstr(fake_host_error(t.fh), FQN));
    assert_non_null(strstr(fake_host_error(t.fh), "unavailable"));
    size_t waited_calls = json_array_size(fake_host_chats(t.fh));
    assert_true(waited_calls >= 2); /* it waited and tried again */
    /* The endpoint is now known down: the next entity tries once. */
    assert_int_equal(fake_host_set_entity(t.fh, FQN, ENTITY), 0);
    json_array_clear(fake_host_chats(t.fh));
    assert_int_equal(process(&t), CS_ERR_UNAVAILABLE);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 1);
    /* Back up: the next call succeeds and clears the mark. */
    fake_host_add_chat(t.fh, CS_OK, GOOD, NULL);
    assert_int_equal(process(&t), CS_OK);
    assert_non_null(out(&t));
    stop(&t);
}

static void test_nothing_to_ask(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "{\"describe_columns\": false, \"describe_table\": false}");
    assert_int_equal(process(&t), CS_OK);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 0);
    assert_int_equal(json_object_size(json_object_get(out(&t), "columns")), 0);
    stop(&t);
}

static void test_wide_table_in_chunks(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "{\"max_columns\": 2}");
    for (int i = 0; i < 2; i++)
        fake_host_add_chat(t.fh, CS_OK, GOOD, NULL);
    assert_int_equal(process(&t), CS_OK);
    assert_int_equal(json_array_size(fake_host_chats(t.fh)), 2);
    assert_non_null(strstr(prompt(&t, 1), "\"describe\":[\"branch_id\","
                                          "\"born\"]"));
    assert_non_null(col_text(&t, "id"));
    assert_non_null(col_text(&t, "born"));
    stop(&t);
}

static void test_bad_config(void **unused)
{
    (void)unused;
    const cs_pass_desc *d = fake_host_load_pass("describe_llm");
    fake_host *fh = fake_host_new(d, "{\"max_words\": 40}");
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                     CS_ERR_INVALID);
    assert_non_null(strstr(fake_host_error(fh), "max_words"));
    fake_host_free(fh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_answer),
        cmocka_unit_test(test_prompt_contents),
        cmocka_unit_test(test_bad_texts_go_to_the_fallback),
        cmocka_unit_test(test_low_confidence_and_garbage),
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_nothing_to_ask),
        cmocka_unit_test(test_wide_table_in_chunks),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
