/* The manifest's `llm:` section: defaults, every field's checks with the
 * field named in the error, the egress rule for the endpoint, and API keys
 * from files and the environment redacted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "manifest.h"

#define HEAD                                                                   \
    "state: dbname=cs\n"                                                       \
    "egress: [\"llm.internal:4000\", \"127.0.0.1:*\"]\n"
#define PASSES                                                                 \
    "passes:\n"                                                                \
    "  - {name: discovery, plugin: d, kind: source, outputs: [table]}\n"

static struct manifest *load(const char *yaml, char *err, size_t errlen)
{
    struct manifest *m = NULL;
    err[0] = '\0';
    manifest_load_buffer("t.yaml", yaml, strlen(yaml), &m, err, errlen);
    return m;
}

static void expect_error(const char *llm, const char *want)
{
    char yaml[2048], err[1024];
    snprintf(yaml, sizeof yaml, HEAD "%s" PASSES, llm);
    struct manifest *m = load(yaml, err, sizeof err);
    if (m)
        fail_msg("accepted:\n%s", yaml);
    assert_string_equal(err, want);
}

static void test_full_endpoint(void **state)
{
    (void)state;
    char err[1024];
    struct manifest *m =
        load(HEAD "llm:\n"
                  "  endpoints:\n"
                  "    default:\n"
                  "      url: http://llm.internal:4000/v1/\n"
                  "      api_key: sk-planted-key-0001\n"
                  "      chat_model: qwen2.5:7b-instruct\n"
                  "      fallback_model: qwen2.5-coder:32b\n"
                  "      embedding_model: nomic-embed-text\n"
                  "      dimensions: 768\n"
                  "      response_format: json_object\n"
                  "      concurrency: 16\n"
                  "      rate_per_second: 2.5\n"
                  "      timeout: 90s\n"
                  "      retries: 0\n"
                  "      max_tokens: 512\n"
                  "      circuit: {failures: 7, cooldown: 1m}\n" PASSES,
             err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    assert_int_equal(m->n_llm_endpoints, 1);
    const struct mf_llm_endpoint *e = manifest_find_llm_endpoint(m, "default");
    assert_non_null(e);
    /* The client appends /v1/...: a base written with it is accepted. */
    assert_string_equal(e->url, "http://llm.internal:4000");
    assert_string_equal(e->api_key, "sk-planted-key-0001");
    assert_string_equal(e->chat_model, "qwen2.5:7b-instruct");
    assert_string_equal(e->fallback_model, "qwen2.5-coder:32b");
    assert_string_equal(e->embedding_model, "nomic-embed-text");
    assert_int_equal(e->dimensions, 768);
    assert_int_equal(e->response_format, MF_LLM_JSON_OBJECT);
    assert_int_equal(e->concurrency, 16);
    assert_int_equal(e->burst, 16); /* = concurrency unless given */
    assert_float_equal(e->rate_per_second, 2.5, 1e-9);
    assert_int_equal(e->timeout_ms, 90000);
    assert_int_equal(e->retries, 0);
    assert_int_equal(e->max_tokens, 512);
    assert_int_equal(e->circuit_failures, 7);
    assert_int_equal(e->circuit_cooldown_ms, 60000);
    assert_null(manifest_find_llm_endpoint(m, "other"));
    /* The key given inline is a secret too. */
    char out[256];
    log_redact("key sk-planted-key-0001 here", out, sizeof out);
    assert_string_equal(out, "key *** here");
    manifest_free(m);
}

static void test_defaults_and_embedding_only(void **state)
{
    (void)state;
    char err[1024];
    struct manifest *m = load(HEAD "llm:\n"
                                   "  endpoints:\n"
                                   "    vectors:\n"
                                   "      url: http://127.0.0.1:11434\n"
                                   "      embedding_model: e\n"
                                   "      burst: 3\n" PASSES,
                              err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    const struct mf_llm_endpoint *e = &m->llm_endpoints[0];
    assert_string_equal(e->name, "vectors");
    assert_null(e->chat_model);
    assert_null(e->api_key);
    assert_int_equal(e->dimensions, 0);
    assert_int_equal(e->response_format, MF_LLM_JSON_SCHEMA);
    assert_int_equal(e->concurrency, 4);
    assert_int_equal(e->burst, 3);
    assert_float_equal(e->rate_per_second, 0, 0);
    assert_int_equal(e->timeout_ms, 60000);
    assert_int_equal(e->retries, 3);
    assert_int_equal(e->max_tokens, 0);
    assert_int_equal(e->circuit_failures, 5);
    assert_int_equal(e->circuit_cooldown_ms, 30000);
    manifest_free(m);
    /* No llm section at all. */
    m = load(HEAD PASSES, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(m->n_llm_endpoints, 0);
    manifest_free(m);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    expect_error("llm: []\n",
                 "t.yaml:3:6: llm: expected a mapping with `endpoints`, got "
                 "a list");
    expect_error("llm: {endpoint: {}}\n",
                 "t.yaml:3:7: llm.endpoint: unknown key (did you mean "
                 "`endpoints`?)");
    expect_error("llm: {endpoints: {d: {chat_model: m}}}\n",
                 "t.yaml:3:22: llm.endpoints.d.url: required key is missing");
    expect_error("llm: {endpoints: {Big: {url: \"http://127.0.0.1:1\"}}}\n",
                 "t.yaml:3:19: llm.endpoints.Big: bad endpoint name \"Big\" "
                 "(use a-z, 0-9, _)");
    expect_error("llm: {endpoints: {d: {url: \"http://127.0.0.1:1\"}}}\n",
                 "t.yaml:3:22: llm.endpoints.d: give `chat_model`, "
                 "`embedding_model` or both");
    expect_error("llm: {endpoints: {d: {url: \"ftp://127.0.0.1:1\", "
                 "chat_model: m}}}\n",
                 "t.yaml:3:28: llm.endpoints.d.url: expected an http:// or "
                 "https:// base URL without query, got \"ftp://127.0.0.1:1\"");
    expect_error("llm: {endpoints: {d: {url: \"http://127.0.0.1:1\", "
                 "chat_model: m, concurency: 2}}}\n",
                 "t.yaml:3:65: llm.endpoints.d.concurency: unknown key (did "
                 "you mean `concurrency`?)");
    expect_error("llm: {endpoints: {d: {url: \"http://127.0.0.1:1\", "
                 "chat_model: m, concurrency: 0}}}\n",
                 "t.yaml:3:78: llm.endpoints.d.concurrency: expected an "
                 "integer between 1 and 1024, got 0");
}

static void test_value_errors(void **state)
{
    (void)state;
#define EP "llm: {endpoints: {d: {url: \"http://127.0.0.1:1\", chat_model: m, "
    expect_error(EP "rate_per_second: fast}}}\n",
                 "t.yaml:3:82: llm.endpoints.d.rate_per_second: expected a "
                 "number of requests per second between 0 (unlimited) and "
                 "1000000, got \"fast\"");
    expect_error(EP "rate_per_second: -1}}}\n",
                 "t.yaml:3:82: llm.endpoints.d.rate_per_second: expected a "
                 "number of requests per second between 0 (unlimited) and "
                 "1000000, got \"-1\"");
    expect_error(EP "response_format: xml}}}\n",
                 "t.yaml:3:82: llm.endpoints.d.response_format: expected "
                 "json_schema, json_object or none, got \"xml\"");
    expect_error(EP "timeout: 0}}}\n",
                 "t.yaml:3:74: llm.endpoints.d.timeout: expected a timeout "
                 "longer than 0");
    expect_error(EP "circuit: {failures: -1}}}}\n",
                 "t.yaml:3:85: llm.endpoints.d.circuit.failures: expected an "
                 "integer between 0 and 1000, got -1");
    expect_error(EP "circuit: {cooldwn: 3s}}}}\n",
                 "t.yaml:3:75: llm.endpoints.d.circuit.cooldwn: unknown key "
                 "(did you mean `cooldown`?)");
    expect_error(EP "dimensions: 8}}}\n",
                 "t.yaml:3:77: llm.endpoints.d.dimensions: `dimensions` needs "
                 "an `embedding_model`");
    expect_error(EP "fallback_model: \"\"}}}\n",
                 "t.yaml:3:81: llm.endpoints.d.fallback_model: expected a "
                 "model name, got an empty string");
#undef EP
}

static void test_url_must_be_on_the_egress_list(void **state)
{
    (void)state;
    expect_error("llm: {endpoints: {d: {url: \"https://api.openai.com\", "
                 "chat_model: m}}}\n",
                 "t.yaml:3:28: llm.endpoints.d.url: egress refused: "
                 "api.openai.com:443 is not in the manifest's egress list "
                 "(add \"api.openai.com:443\" to `egress`)");
    /* The port is what counts: the rule names :4000. */
    expect_error("llm: {endpoints: {d: {url: \"http://llm.internal\", "
                 "chat_model: m}}}\n",
                 "t.yaml:3:28: llm.endpoints.d.url: egress refused: "
                 "llm.internal:80 is not in the manifest's egress list (add "
                 "\"llm.internal:80\" to `egress`)");
}

static void test_api_key_file_and_env(void **state)
{
    (void)state;
    char dir[] = "/tmp/cs-llm-mf-XXXXXX", path[128], yaml[1024], err[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("sk-from-a-file-0002\n", f);
    fclose(f);
    setenv("CS_TEST_LLM_KEY", "sk-from-the-env-0003", 1);
    snprintf(yaml, sizeof yaml,
             HEAD "llm:\n"
                  "  endpoints:\n"
                  "    a: {url: \"http://127.0.0.1:9\", chat_model: m,\n"
                  "        api_key_file: %s}\n"
                  "    b: {url: \"http://127.0.0.1:9\", chat_model: m,\n"
                  "        api_key: \"${CS_TEST_LLM_KEY}\"}\n" PASSES,
             path);
    struct manifest *m = load(yaml, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    assert_string_equal(manifest_find_llm_endpoint(m, "a")->api_key,
                        "sk-from-a-file-0002");
    assert_string_equal(manifest_find_llm_endpoint(m, "b")->api_key,
                        "sk-from-the-env-0003");
    char out[256];
    log_redact("sk-from-a-file-0002 sk-from-the-env-0003", out, sizeof out);
    assert_string_equal(out, "*** ***");
    manifest_free(m);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_endpoint),
        cmocka_unit_test(test_defaults_and_embedding_only),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_url_must_be_on_the_egress_list),
        cmocka_unit_test(test_api_key_file_and_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
