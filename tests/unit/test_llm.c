/* The LLM client's pieces that need no server: the schema check, JSON
 * extraction from prose, the token bucket and the circuit breaker (both
 * driven by a clock the test sets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

/* A description answer as the describe pass asks for it. */
static const char *describe_schema =
    "{\"type\":\"object\",\"required\":[\"table\",\"columns\"],"
    "\"additionalProperties\":false,"
    "\"properties\":{"
    " \"table\":{\"type\":\"string\",\"maxLength\":20},"
    " \"columns\":{\"type\":\"array\",\"maxItems\":2,\"items\":{"
    "  \"type\":\"object\",\"required\":[\"name\",\"description\"],"
    "  \"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1},"
    "   \"description\":{\"type\":\"string\",\"maxLength\":10},"
    "   \"kind\":{\"enum\":[\"id\",\"text\"]},"
    "   \"score\":{\"type\":[\"integer\",\"null\"]}}}}}}";

static int check(const char *schema_text, const char *value_text, char *err,
                 size_t errlen)
{
    json_t *schema = json_loads(schema_text, 0, NULL);
    json_t *value = json_loads(value_text, JSON_DECODE_ANY, NULL);
    assert_non_null(schema);
    assert_non_null(value);
    err[0] = '\0';
    int rc = llm_schema_check(schema, value, err, errlen);
    json_decref(schema);
    json_decref(value);
    return rc;
}

static void expect_invalid(const char *value, const char *want)
{
    char err[512];
    assert_int_equal(check(describe_schema, value, err, sizeof err), -1);
    assert_string_equal(err, want);
}

/* ---- schema check -------------------------------------------------------- */

static void test_schema_accepts_a_valid_answer(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(check(describe_schema,
                           "{\"table\":\"Orders.\",\"columns\":["
                           "{\"name\":\"id\",\"description\":\"Key.\","
                           "\"kind\":\"id\",\"score\":3},"
                           "{\"name\":\"é\",\"description\":\"ééééééééé.\","
                           "\"score\":null}]}",
                           err, sizeof err),
                     0);
    assert_string_equal(err, "");
    /* An integral real is an integer, as JSON Schema says. */
    assert_int_equal(check("{\"type\":\"integer\"}", "2.0", err, sizeof err),
                     0);
}

static void test_schema_errors_name_the_path(void **state)
{
    (void)state;
    expect_invalid("[]", "$: expected object, got array");
    expect_invalid("{\"table\":\"x\"}",
                   "$: required property `columns` is missing");
    expect_invalid("{\"table\":\"x\",\"columns\":[],\"extra\":1}",
                   "$: property `extra` is not allowed");
    expect_invalid("{\"table\":\"123456789012345678901\",\"columns\":[]}",
                   "$.table: longer than 20 characters");
    expect_invalid("{\"table\":\"x\",\"columns\":[{},{},{}]}",
                   "$.columns: more than 2 items");
    expect_invalid("{\"table\":\"x\",\"columns\":[{\"name\":\"a\","
                   "\"description\":\"ok\"},{\"name\":\"b\"}]}",
                   "$.columns[1]: required property `description` is "
                   "missing");
    expect_invalid("{\"table\":\"x\",\"columns\":[{\"name\":\"\","
                   "\"description\":\"ok\"}]}",
                   "$.columns[0].name: shorter than 1 characters");
    expect_invalid("{\"table\":\"x\",\"columns\":[{\"name\":\"a\","
                   "\"description\":\"0123456789A\"}]}",
                   "$.columns[0].description: longer than 10 characters");
    expect_invalid("{\"table\":\"x\",\"columns\":[{\"name\":\"a\","
                   "\"description\":\"d\",\"kind\":\"blob\"}]}",
                   "$.columns[0].kind: not one of the 2 allowed values");
    expect_invalid("{\"table\":\"x\",\"columns\":[{\"name\":\"a\","
                   "\"description\":\"d\",\"score\":1.5}]}",
                   "$.columns[0].score: number is not one of the allowed "
                   "types");
}

static void test_schema_errors_never_quote_values(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(
        check(describe_schema,
              "{\"table\":\"planted.canary.7731@example.org\",\"columns\":[]}",
              err, sizeof err),
        -1);
    assert_null(strstr(err, "canary"));
}

static void test_schema_other_keywords(void **state)
{
    (void)state;
    char err[512];
    /* additionalProperties as a schema applies to every unknown key. */
    const char *map = "{\"type\":\"object\",\"additionalProperties\":"
                      "{\"type\":\"string\",\"maxLength\":3}}";
    assert_int_equal(
        check(map, "{\"a\":\"abc\",\"b\":\"de\"}", err, sizeof err), 0);
    assert_int_equal(check(map, "{\"a\":\"abcd\"}", err, sizeof err), -1);
    assert_string_equal(err, "$.a: longer than 3 characters");
    assert_int_equal(
        check("{\"type\":\"array\",\"minItems\":1}", "[]", err, sizeof err),
        -1);
    assert_string_equal(err, "$: fewer than 1 items");
    /* Keywords this check does not know are ignored, not refused. */
    assert_int_equal(check("{\"anyOf\":[{\"type\":\"string\"}],"
                           "\"pattern\":\"^x\"}",
                           "5", err, sizeof err),
                     0);
    assert_int_equal(check("{\"type\":\"boolean\"}", "null", err, sizeof err),
                     -1);
    assert_string_equal(err, "$: expected boolean, got null");
}

static void test_schema_deep_nesting_bounded(void **state)
{
    (void)state;
    /* {"items": {"items": ...}} 40 deep, against as deep an array. */
    char schema[2048] = "", value[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(schema, "{\"type\":\"array\",\"items\":");
    strcat(schema, "{}");
    for (int i = 0; i < 40; i++)
        strcat(schema, "}");
    for (int i = 0; i < 40; i++)
        strcat(value, "[");
    for (int i = 0; i < 40; i++)
        strcat(value, "]");
    char err[512];
    assert_int_equal(check(schema, value, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested deeper than 32 levels"));
}

/* ---- JSON in prose ------------------------------------------------------- */

static void expect_extracted(const char *content, const char *want,
                             bool want_wrapped)
{
    bool wrapped = !want_wrapped;
    json_t *j = llm_extract_json(content, &wrapped);
    if (!want) {
        assert_null(j);
        return;
    }
    assert_non_null(j);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_true(json_equal(j, w));
    assert_int_equal(wrapped, want_wrapped);
    json_decref(j);
    json_decref(w);
}

static void test_extract_plain_json(void **state)
{
    (void)state;
    expect_extracted("  {\"a\": 1}\n", "{\"a\":1}", false);
    expect_extracted("[1,2]", "[1,2]", false);
}

static void test_extract_from_fence(void **state)
{
    (void)state;
    expect_extracted("Sure! Here it is:\n```json\n{\"a\": \"}\"}\n```\nBye.",
                     "{\"a\":\"}\"}", true);
    expect_extracted("```\n{\"b\": [1]}\n```", "{\"b\":[1]}", true);
}

static void test_extract_first_object_in_prose(void **state)
{
    (void)state;
    /* Braces inside strings, an escaped quote, and a {not json} first. */
    expect_extracted("The {answer} is {\"a\": \"x\\\"}\", \"n\": {\"m\": 2}} "
                     "and {\"later\": 1}",
                     "{\"a\":\"x\\\"}\",\"n\":{\"m\":2}}", true);
    expect_extracted("no JSON here", NULL, false);
    expect_extracted("unbalanced {\"a\": 1", NULL, false);
    expect_extracted(NULL, NULL, false);
}

/* ---- token bucket -------------------------------------------------------- */

static void test_bucket_burst_then_rate(void **state)
{
    (void)state;
    struct llm_bucket b;
    llm_bucket_init(&b, 10.0, 3, 100.0);
    /* The burst goes at once ... */
    for (int i = 0; i < 3; i++)
        assert_float_equal(llm_bucket_reserve(&b, 100.0), 0.0, 1e-9);
    /* ... then callers queue 1/rate apart, in order. */
    assert_float_equal(llm_bucket_reserve(&b, 100.0), 0.1, 1e-9);
    assert_float_equal(llm_bucket_reserve(&b, 100.0), 0.2, 1e-9);
    assert_float_equal(llm_bucket_reserve(&b, 100.05), 0.25, 1e-9);
    /* After a long pause the bucket is full again, never fuller. */
    for (int i = 0; i < 3; i++)
        assert_float_equal(llm_bucket_reserve(&b, 200.0), 0.0, 1e-9);
    assert_true(llm_bucket_reserve(&b, 200.0) > 0);
}

static void test_bucket_steady_rate_over_many_calls(void **state)
{
    (void)state;
    struct llm_bucket b;
    double now = 0, last_start = 0;
    llm_bucket_init(&b, 30.0, 16, now);
    /* 316 callers arriving together: the last one starts after the
     * 300 beyond the burst, i.e. at 300 / 30 = 10 s. */
    for (int i = 0; i < 316; i++)
        last_start = now + llm_bucket_reserve(&b, now);
    assert_float_equal(last_start, 10.0, 1e-6);
}

static void test_bucket_unlimited(void **state)
{
    (void)state;
    struct llm_bucket b;
    llm_bucket_init(&b, 0, 1, 5.0);
    for (int i = 0; i < 1000; i++)
        assert_float_equal(llm_bucket_reserve(&b, 5.0), 0.0, 0);
}

/* ---- circuit breaker ----------------------------------------------------- */

static void fail_n(struct llm_circuit *c, int n, double now)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(llm_circuit_admit(c, now), LLM_ALLOW);
        llm_circuit_record(c, LLM_OUTCOME_FAIL, false, "HTTP 503", now);
    }
}

static void test_circuit_opens_after_consecutive_failures(void **state)
{
    (void)state;
    struct llm_circuit c;
    llm_circuit_init(&c, 3, 30.0);
    fail_n(&c, 2, 0);
    /* A success in between resets the count. */
    assert_int_equal(llm_circuit_admit(&c, 1), LLM_ALLOW);
    llm_circuit_record(&c, LLM_OUTCOME_OK, false, NULL, 1);
    fail_n(&c, 2, 2);
    assert_int_equal(c.state, LLM_CIRCUIT_CLOSED);
    fail_n(&c, 1, 3);
    assert_int_equal(c.state, LLM_CIRCUIT_OPEN);
    assert_float_equal(c.open_until, 33.0, 1e-9);
    assert_string_equal(c.reason, "HTTP 503");
    /* Open: every call is refused until the cooldown is over. */
    assert_int_equal(llm_circuit_admit(&c, 4), LLM_DENY);
    assert_int_equal(llm_circuit_admit(&c, 32.9), LLM_DENY);
}

static void test_circuit_half_open_probe(void **state)
{
    (void)state;
    struct llm_circuit c;
    llm_circuit_init(&c, 1, 10.0);
    fail_n(&c, 1, 0);
    /* After the cooldown exactly one probe goes; the others wait. */
    assert_int_equal(llm_circuit_admit(&c, 10), LLM_PROBE);
    assert_int_equal(c.state, LLM_CIRCUIT_HALF_OPEN);
    assert_int_equal(llm_circuit_admit(&c, 10), LLM_DENY);
    /* A failed probe opens it for another cooldown. */
    llm_circuit_record(&c, LLM_OUTCOME_FAIL, true, "connection refused", 11);
    assert_int_equal(c.state, LLM_CIRCUIT_OPEN);
    assert_float_equal(c.open_until, 21.0, 1e-9);
    assert_string_equal(c.reason, "connection refused");
    assert_int_equal(llm_circuit_admit(&c, 20), LLM_DENY);
    /* A successful probe closes it. */
    assert_int_equal(llm_circuit_admit(&c, 21), LLM_PROBE);
    llm_circuit_record(&c, LLM_OUTCOME_OK, true, NULL, 22);
    assert_int_equal(c.state, LLM_CIRCUIT_CLOSED);
    assert_int_equal(c.failures, 0);
    assert_int_equal(llm_circuit_admit(&c, 22), LLM_ALLOW);
}

static void test_circuit_probe_without_verdict(void **state)
{
    (void)state;
    struct llm_circuit c;
    llm_circuit_init(&c, 1, 10.0);
    fail_n(&c, 1, 0);
    assert_int_equal(llm_circuit_admit(&c, 10), LLM_PROBE);
    /* The probe was interrupted (worker stopping): the next call probes. */
    llm_circuit_record(&c, LLM_OUTCOME_NONE, true, NULL, 10.5);
    assert_int_equal(c.state, LLM_CIRCUIT_HALF_OPEN);
    assert_int_equal(llm_circuit_admit(&c, 10.6), LLM_PROBE);
}

static void test_circuit_late_failures_do_not_extend(void **state)
{
    (void)state;
    struct llm_circuit c;
    llm_circuit_init(&c, 2, 10.0);
    /* Four calls admitted together, all failing: the first two open it,
     * the stragglers do not push the reopening back. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(llm_circuit_admit(&c, 0), LLM_ALLOW);
    llm_circuit_record(&c, LLM_OUTCOME_FAIL, false, "timeout", 1);
    llm_circuit_record(&c, LLM_OUTCOME_FAIL, false, "timeout", 2);
    llm_circuit_record(&c, LLM_OUTCOME_FAIL, false, "timeout", 5);
    llm_circuit_record(&c, LLM_OUTCOME_FAIL, false, "HTTP 502", 6);
    assert_float_equal(c.open_until, 12.0, 1e-9);
    assert_string_equal(c.reason, "HTTP 502");
}

static void test_circuit_disabled(void **state)
{
    (void)state;
    struct llm_circuit c;
    llm_circuit_init(&c, 0, 10.0);
    fail_n(&c, 100, 0);
    assert_int_equal(c.state, LLM_CIRCUIT_CLOSED);
}

/* ---- the client without a server ---------------------------------------- */

static void test_client_without_endpoints(void **state)
{
    (void)state;
    struct llm_client *c = llm_client_new(NULL, NULL, NULL);
    assert_non_null(c);
    struct llm_caller who = {0};
    cs_llm_request req = {
        .struct_size = sizeof req, .prompt = "p", .endpoint = "main"};
    cs_llm_response resp;
    char err[256];
    assert_int_equal(llm_chat(c, &who, &req, &resp, err, sizeof err),
                     CS_ERR_NOT_FOUND);
    assert_string_equal(err, "LLM endpoint \"main\" is not defined under "
                             "the manifest's llm.endpoints");
    /* A request struct from a pass too old to have a prompt. */
    req.struct_size = offsetof(cs_llm_request, prompt);
    assert_int_equal(llm_chat(c, &who, &req, &resp, err, sizeof err),
                     CS_ERR_INVALID);
    assert_null(resp.content);
    llm_response_clear(&resp);
    llm_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_accepts_a_valid_answer),
        cmocka_unit_test(test_schema_errors_name_the_path),
        cmocka_unit_test(test_schema_errors_never_quote_values),
        cmocka_unit_test(test_schema_other_keywords),
        cmocka_unit_test(test_schema_deep_nesting_bounded),
        cmocka_unit_test(test_extract_plain_json),
        cmocka_unit_test(test_extract_from_fence),
        cmocka_unit_test(test_extract_first_object_in_prose),
        cmocka_unit_test(test_bucket_burst_then_rate),
        cmocka_unit_test(test_bucket_steady_rate_over_many_calls),
        cmocka_unit_test(test_bucket_unlimited),
        cmocka_unit_test(test_circuit_opens_after_consecutive_failures),
        cmocka_unit_test(test_circuit_half_open_probe),
        cmocka_unit_test(test_circuit_probe_without_verdict),
        cmocka_unit_test(test_circuit_late_failures_do_not_extend),
        cmocka_unit_test(test_circuit_disabled),
        cmocka_unit_test(test_client_without_endpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
