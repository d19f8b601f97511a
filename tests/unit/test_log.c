/* Logging: line formats, level filter, redaction, one line per event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"

/* A failed assertion longjmps out of a test mid-capture: give stderr
 * back so that cmocka's report is visible. */
static int restore_stderr(void **state)
{
    (void)state;
    stderr_capture_abort();
    return 0;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", text, pattern);
}

/* Logs one message through the text format and returns the output. */
static char *text_of(const char *msg)
{
    log_setup(LOG_FORMAT_TEXT, LOG_DEBUG, "cli", 0);
    stderr_capture_begin();
    log_info("%s", msg);
    return stderr_capture_end();
}

/* ---- formats ------------------------------------------------------------ */

static void test_text_format(void **state)
{
    (void)state;
    log_setup(LOG_FORMAT_TEXT, LOG_INFO, "master", 2);
    stderr_capture_begin();
    log_event(LOG_INFO, "profile", "demo.shop.public.orders", "hello %d", 5);
    char *out = stderr_capture_end();
    char pattern[256];
    snprintf(
        pattern, sizeof pattern,
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
        "INFO  master\\[%d\\] gen=2 pass=profile "
        "entity=demo\\.shop\\.public\\.orders: hello 5\n$",
        (int)getpid());
    assert_matches(out, pattern);
    free(out);
}

static void test_text_omits_absent_fields(void **state)
{
    (void)state;
    log_setup(LOG_FORMAT_TEXT, LOG_DEBUG, "cli", 0);
    stderr_capture_begin();
    log_error("boom");
    log_debug("dbg");
    char *out = stderr_capture_end();
    char pattern[128];
    snprintf(pattern, sizeof pattern, "Z ERROR cli\\[%d\\]: boom\n",
             (int)getpid());
    assert_matches(out, pattern);
    assert_matches(out, "Z DEBUG cli\\[[0-9]+\\]: dbg\n$");
    assert_null(strstr(out, "gen="));
    assert_null(strstr(out, "pass="));
    free(out);
}

static void test_level_filter(void **state)
{
    (void)state;
    log_setup(LOG_FORMAT_TEXT, LOG_WARN, "worker", 1);
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    stderr_capture_begin();
    log_debug("not me");
    log_info("nor me");
    log_warn("me");
    log_error("and me");
    char *out = stderr_capture_end();
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, "not me"));
    assert_null(strstr(out, "nor me"));
    assert_non_null(strstr(out, "WARN  worker"));
    assert_non_null(strstr(out, ": and me"));
    free(out);
}

static void test_json_format(void **state)
{
    (void)state;
    const char *tricky = "quote \" backslash \\ newline \n tab \t ctl \x01 "
                         "utf8 \xc3\xa9";
    log_setup(LOG_FORMAT_JSON, LOG_INFO, "worker", 3);
    stderr_capture_begin();
    log_event(LOG_WARN, "profile", "db.s.t", "%s", tricky);
    log_info("plain");
    char *out = stderr_capture_end();
    assert_int_equal(count_lines(out), 2);

    json_error_t jerr;
    json_t *o = json_loadb(out, strcspn(out, "\n"), 0, &jerr);
    if (!o)
        fail_msg("not JSON: %s (%s)", out, jerr.text);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), tricky);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "role")),
                        "worker");
    assert_string_equal(json_string_value(json_object_get(o, "pass")),
                        "profile");
    assert_string_equal(json_string_value(json_object_get(o, "entity")),
                        "db.s.t");
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(o, "generation")), 3);
    assert_non_null(json_string_value(json_object_get(o, "ts")));
    json_decref(o);

    o = json_loads(strchr(out, '\n') + 1, 0, &jerr);
    assert_non_null(o);
    assert_null(json_object_get(o, "pass"));
    assert_null(json_object_get(o, "entity"));
    json_decref(o);
    free(out);
}

static void test_json_invalid_utf8_stays_json(void **state)
{
    (void)state;
    log_setup(LOG_FORMAT_JSON, LOG_INFO, "worker", 0);
    stderr_capture_begin();
    log_info("bad \xff\xfe bytes");
    char *out = stderr_capture_end();
    json_t *o = json_loads(out, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "bad ?? bytes");
    assert_null(json_object_get(o, "generation"));
    json_decref(o);
    free(out);
}

static void test_one_line_per_event(void **state)
{
    (void)state;
    char *out = text_of("first\nsecond\r\nthird");
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "first\\nsecond\\r\\nthird\n"));
    free(out);
}

static void test_long_message_truncated(void **state)
{
    (void)state;
    size_t n = 20000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    char *out = text_of(big);
    assert_int_equal(count_lines(out), 1);
    assert_true(strlen(out) < 8192 + 200);
    assert_true(strlen(out) > 8000);
    assert_non_null(strstr(out, "...[truncated]\n"));
    free(out);
    free(big);
}

/* ---- redaction ---------------------------------------------------------- */

static void assert_redacts(const char *in, const char *expected)
{
    char out[512];
    log_redact(in, out, sizeof out);
    assert_string_equal(out, expected);
}

static void test_redact_dsn_password(void **state)
{
    (void)state;
    assert_redacts("host=db password=hunter2 user=x",
                   "host=db password=*** user=x");
    assert_redacts("host=db password='a b \\' c' user=x",
                   "host=db password=*** user=x");
    assert_redacts("host=db password = spaced user=x",
                   "host=db password = *** user=x");
    assert_redacts("postgresql://db/x?user=a&password=pw&sslmode=off",
                   "postgresql://db/x?user=a&password=***&sslmode=off");
    assert_redacts("{\"password\": \"s e c\"}", "{\"password\": ***}");
    assert_redacts("password authentication failed for user \"bob\"",
                   "password authentication failed for user \"bob\"");
}

static void test_redact_url_userinfo(void **state)
{
    (void)state;
    assert_redacts("postgresql://bob:pa55@db:5432/x",
                   "postgresql://bob:***@db:5432/x");
    assert_redacts("see https://u:p@ss@h.example/a and http://h/",
                   "see https://u:***@h.example/a and http://h/");
    assert_redacts("https://user@host/path", "https://user@host/path");
    assert_redacts("http://host:8080/a@b", "http://host:8080/a@b");
}

static void test_redact_bearer(void **state)
{
    (void)state;
    assert_redacts("Authorization: Bearer abc.def-ghi",
                   "Authorization: Bearer ***");
    assert_redacts("header authorization: bearer xyz, next",
                   "header authorization: bearer ***, next");
    assert_redacts("Authorization: Basic dXNlcjpwYXNz",
                   "Authorization: Basic ***");
}

static void test_redact_secrets(void **state)
{
    (void)state;
    log_add_secret("s3cr3t-token");
    log_add_secret("s3cr3t-token-longer");
    log_add_secret("abc"); /* too short: ignored */
    assert_redacts("a s3cr3t-token-longer b s3cr3t-token c abc",
                   "a *** b *** c abc");

    log_setup(LOG_FORMAT_TEXT, LOG_INFO, "cli", 0);
    stderr_capture_begin();
    log_event(LOG_INFO, "p", "e", "token=%s dsn=%s url=%s", "s3cr3t-token",
              "host=h password=hunter2", "https://me:pw@x.example/");
    char *out = stderr_capture_end();
    assert_null(strstr(out, "s3cr3t"));
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, ":pw@"));
    assert_non_null(strstr(out, "token=*** dsn=host=h password=*** "
                                "url=https://me:***@x.example/"));
    free(out);
}

static void test_redact_truncates_output(void **state)
{
    (void)state;
    char out[8];
    log_redact("0123456789", out, sizeof out);
    assert_string_equal(out, "0123456");
    log_redact(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

/* ---- threads ------------------------------------------------------------ */

static void *log_many(void *arg)
{
    for (int i = 0; i < 300; i++)
        log_event(LOG_INFO, "threads", NULL, "thread %ld line %d %s",
                  (long)(intptr_t)arg, i,
                  "padding padding padding padding padding padding");
    return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
    (void)state;
    log_setup(LOG_FORMAT_TEXT, LOG_INFO, "worker", 0);
    stderr_capture_begin();
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *out = stderr_capture_end();
    assert_int_equal(count_lines(out), 1200);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9T:.-]+Z INFO  worker\\[[0-9]+\\] "
                             "pass=threads: thread [0-3] line [0-9]+ "
                             "(padding ?){6}$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (regexec(&re, line, 0, NULL, 0) != 0)
            fail_msg("interleaved line: %s", line);
    regfree(&re);
    free(out);
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(log_parse_format("text"), LOG_FORMAT_TEXT);
    assert_int_equal(log_parse_format("json"), LOG_FORMAT_JSON);
    assert_int_equal(log_parse_format("xml"), -1);
    assert_int_equal(log_parse_level("debug"), LOG_DEBUG);
    assert_int_equal(log_parse_level("info"), LOG_INFO);
    assert_int_equal(log_parse_level("warn"), LOG_WARN);
    assert_int_equal(log_parse_level("error"), LOG_ERROR);
    assert_int_equal(log_parse_level("loud"), -1);
    assert_int_equal(log_parse_level(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_text_format, restore_stderr),
        cmocka_unit_test_teardown(test_text_omits_absent_fields,
                                  restore_stderr),
        cmocka_unit_test_teardown(test_level_filter, restore_stderr),
        cmocka_unit_test_teardown(test_json_format, restore_stderr),
        cmocka_unit_test_teardown(test_json_invalid_utf8_stays_json,
                                  restore_stderr),
        cmocka_unit_test_teardown(test_one_line_per_event, restore_stderr),
        cmocka_unit_test_teardown(test_long_message_truncated, restore_stderr),
        cmocka_unit_test_teardown(test_redact_dsn_password, restore_stderr),
        cmocka_unit_test_teardown(test_redact_url_userinfo, restore_stderr),
        cmocka_unit_test_teardown(test_redact_bearer, restore_stderr),
        cmocka_unit_test_teardown(test_redact_secrets, restore_stderr),
        cmocka_unit_test_teardown(test_redact_truncates_output, restore_stderr),
        cmocka_unit_test_teardown(test_threads_do_not_interleave,
                                  restore_stderr),
        cmocka_unit_test_teardown(test_parse, restore_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
