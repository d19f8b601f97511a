/* mask through a fake host: whole PII columns and PII inside free text
 * replaced by consistent typed placeholders, NULLs and non-PII values
 * kept, statistics masked the same way, and no raw value anywhere in the
 * output or the logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

/* What one process() call left behind. */
struct result {
    int rc;
    json_t *out;  /* sample_masked, or NULL */
    char *dumped; /* out as JSON text */
    char *logs;
    char *error;
    double masked_metric;
};

static struct result run(const char *aspects)
{
    struct result res = {0};
    const cs_pass_desc *d = fake_host_load_pass("mask");
    assert_non_null(d);
    fake_host *fh = fake_host_new(d, NULL);
    assert_non_null(fh);
    /* As for any raw consumer: no SQL, no HTTP. */
    fake_host_drop_network(fh);
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), CS_OK);
    assert_int_equal(fake_host_set_entity(fh, "pg.db.s.t", aspects), 0);
    res.rc = d->process(st, fake_host_ctx(fh));
    res.out = json_incref(json_object_get(fake_host_puts(fh), "sample_masked"));
    res.dumped = res.out ? json_dumps(res.out, JSON_SORT_KEYS) : NULL;
    res.logs = strdup(fake_host_logs(fh) ? fake_host_logs(fh) : "");
    res.error = strdup(fake_host_error(fh) ? fake_host_error(fh) : "");
    res.masked_metric = fake_host_metric(fh, "masked_cells");
    d->fini(st);
    fake_host_free(fh);
    return res;
}

static void result_free(struct result *r)
{
    json_decref(r->out);
    free(r->dumped);
    free(r->logs);
    free(r->error);
}

/* Cell (row, col) of the masked rows, as text ("null" for null). */
static const char *cell(const struct result *r, size_t row, size_t col)
{
    json_t *v = json_array_get(
        json_array_get(json_object_get(r->out, "rows"), row), col);
    assert_non_null(v);
    return json_is_null(v) ? "null" : json_string_value(v);
}

static json_t *stats(const struct result *r, const char *col)
{
    json_t *s = json_object_get(json_object_get(r->out, "columnsStats"), col);
    assert_non_null(s);
    return s;
}

static const char *top_value(const struct result *r, const char *col, size_t i)
{
    json_t *tv = json_array_get(json_object_get(stats(r, col), "topValues"), i);
    assert_non_null(tv);
    return json_string_value(json_object_get(tv, "value"));
}

static void assert_absent(const struct result *r, const char *raw)
{
    if (r->dumped && strstr(r->dumped, raw))
        fail_msg("raw value %s found in sample_masked: %s", raw, r->dumped);
    if (strstr(r->logs, raw))
        fail_msg("raw value %s found in the logs", raw);
    if (strstr(r->error, raw))
        fail_msg("raw value %s found in the error", raw);
}

/* A customer table: email tagged, a free-text comment, a number column. */
static const char *CUSTOMERS =
    "{\"sample\":{\"columns\":[{\"name\":\"id\",\"type\":\"int4\"},"
    "{\"name\":\"email\",\"type\":\"text\"},"
    "{\"name\":\"comment\",\"type\":\"text\"},"
    "{\"name\":\"amount\",\"type\":\"numeric\"}],"
    "\"rows\":[[\"1\",\"alice.martin@example.org\","
    "\"Contact me at bob.smith@example.com please\",\"10.5\"],"
    "[\"2\",\"bob.smith@example.com\",null,\"3\"],"
    "[\"3\",\"alice.martin@example.org\",\"Great product\",null],"
    "[\"4\",null,\"write to ALICE.MARTIN@example.org today\",\"7\"]],"
    "\"columnsStats\":{"
    "\"email\":{\"topValues\":[{\"value\":\"alice.martin@example.org\","
    "\"count\":2},{\"value\":\"bob.smith@example.com\",\"count\":1}],"
    "\"min\":\"alice.martin@example.org\",\"max\":\"bob.smith@example.com\"},"
    "\"comment\":{\"topValues\":[{\"value\":\"Contact me at "
    "bob.smith@example.com please\",\"count\":1},{\"value\":\"Great "
    "product\",\"count\":1}],\"min\":\"Contact me at bob.smith@example.com "
    "please\",\"max\":\"write to ALICE.MARTIN@example.org today\"},"
    "\"amount\":{\"topValues\":[{\"value\":\"10.5\",\"count\":1}],"
    "\"min\":\"3\",\"max\":\"10.5\"}}},"
    "\"pii\":{\"columns\":{"
    "\"id\":{\"status\":\"none\"},"
    "\"email\":{\"entity\":\"EMAIL\",\"status\":\"tagged\","
    "\"tag\":\"PII.Sensitive\",\"confidence\":\"high\"},"
    "\"comment\":{\"status\":\"none\"},"
    "\"amount\":{\"status\":\"none\"}}}}";

static void test_pii_column_replaced_consistently(void **state)
{
    (void)state;
    struct result r = run(CUSTOMERS);
    assert_int_equal(r.rc, CS_OK);
    assert_non_null(r.out);
    assert_string_equal(cell(&r, 0, 1), "<EMAIL_1>");
    assert_string_equal(cell(&r, 1, 1), "<EMAIL_2>");
    /* Same value twice, same placeholder. */
    assert_string_equal(cell(&r, 2, 1), "<EMAIL_1>");
    json_t *col = json_array_get(json_object_get(r.out, "columns"), 1);
    assert_true(json_is_true(json_object_get(col, "masked")));
    assert_string_equal(json_string_value(json_object_get(col, "entity")),
                        "EMAIL");
    assert_string_equal(json_string_value(json_object_get(col, "type")),
                        "text");
    result_free(&r);
}

static void test_email_inside_free_text(void **state)
{
    (void)state;
    struct result r = run(CUSTOMERS);
    /* The address of the email column, met first there, keeps its
     * placeholder inside the comment; the rest of the text stays. */
    assert_string_equal(cell(&r, 0, 2), "Contact me at <EMAIL_2> please");
    /* Another case of the same address is the same address. */
    assert_string_equal(cell(&r, 3, 2), "write to <EMAIL_1> today");
    assert_string_equal(cell(&r, 2, 2), "Great product");
    json_t *col = json_array_get(json_object_get(r.out, "columns"), 2);
    assert_true(json_is_false(json_object_get(col, "masked")));
    assert_true(json_is_null(json_object_get(col, "entity")));
    assert_int_equal(json_integer_value(json_object_get(col, "maskedCells")),
                     2);
    result_free(&r);
}

static void test_nulls_and_non_pii_kept(void **state)
{
    (void)state;
    struct result r = run(CUSTOMERS);
    assert_string_equal(cell(&r, 3, 1), "null");
    assert_string_equal(cell(&r, 1, 2), "null");
    assert_string_equal(cell(&r, 2, 3), "null");
    for (size_t i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "%zu", i + 1);
        assert_string_equal(cell(&r, i, 0), id);
    }
    assert_string_equal(cell(&r, 0, 3), "10.5");
    assert_string_equal(cell(&r, 1, 3), "3");
    assert_int_equal(json_array_size(json_object_get(r.out, "rows")), 4);
    /* 3 email cells + 2 comments. */
    assert_int_equal(json_integer_value(json_object_get(r.out, "masked_cells")),
                     5);
    assert_true(r.masked_metric == 5.0);
    json_t *ph = json_object_get(r.out, "placeholders");
    assert_int_equal(json_object_size(ph), 1);
    assert_int_equal(json_integer_value(json_object_get(ph, "EMAIL")), 2);
    result_free(&r);
}

static void test_stats_masked(void **state)
{
    (void)state;
    struct result r = run(CUSTOMERS);
    assert_string_equal(top_value(&r, "email", 0), "<EMAIL_1>");
    assert_string_equal(top_value(&r, "email", 1), "<EMAIL_2>");
    json_t *tv0 =
        json_array_get(json_object_get(stats(&r, "email"), "topValues"), 0);
    assert_int_equal(json_integer_value(json_object_get(tv0, "count")), 2);
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "email"), "min")),
        "<EMAIL_1>");
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "email"), "max")),
        "<EMAIL_2>");
    assert_string_equal(top_value(&r, "comment", 0),
                        "Contact me at <EMAIL_2> please");
    assert_string_equal(top_value(&r, "comment", 1), "Great product");
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "comment"), "max")),
        "write to <EMAIL_1> today");
    /* Numbers keep their range. */
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "amount"), "min")), "3");
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "amount"), "max")), "10.5");
    assert_string_equal(top_value(&r, "amount", 0), "10.5");
    result_free(&r);
}

static void test_no_raw_value_in_output(void **state)
{
    (void)state;
    struct result r = run(CUSTOMERS);
    assert_non_null(r.dumped);
    const char *raw[] = {"alice.martin@example.org",
                         "bob.smith@example.com",
                         "ALICE.MARTIN@example.org",
                         "alice.martin",
                         "bob.smith",
                         "@example"};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
        assert_absent(&r, raw[i]);
    result_free(&r);
}

/* A bank table: IBAN and card tagged, a phone candidate, a person's tag
 * without an entity, and a note quoting the card. */
static const char *BANK =
    "{\"sample\":{\"columns\":[{\"name\":\"iban\",\"type\":\"varchar\"},"
    "{\"name\":\"card_number\",\"type\":\"varchar\"},"
    "{\"name\":\"contact\",\"type\":\"int8\"},"
    "{\"name\":\"secret\",\"type\":\"int4\"},"
    "{\"name\":\"note\",\"type\":\"text\"}],"
    "\"rows\":["
    "[\"FR7630006000011234567890189\",\"4539148803436467\",\"42\","
    "\"1234\",\"card 4539148803436467 blocked\"],"
    "[\"DE89370400440532013000\",\"5555555555554444\","
    "\"4111111111111111\",null,\"iban DE89370400440532013000 closed\"],"
    "[\"FR7630006000011234567890189\",null,null,\"1234\",null]],"
    "\"columnsStats\":{\"secret\":{\"topValues\":[{\"value\":\"1234\","
    "\"count\":2}],\"min\":\"1234\",\"max\":\"1234\"},"
    "\"card_number\":{\"topValues\":[{\"value\":\"4539148803436467\","
    "\"count\":1}],\"min\":\"4539148803436467\","
    "\"max\":\"5555555555554444\"},\"extra\":{\"min\":\"x\"}}},"
    "\"pii\":{\"columns\":{"
    "\"iban\":{\"entity\":\"IBAN\",\"status\":\"tagged\"},"
    "\"card_number\":{\"entity\":\"CREDIT_CARD\",\"status\":\"tagged\","
    "\"confidence\":\"low\"},"
    "\"contact\":{\"entity\":\"CREDIT_CARD\",\"status\":\"candidate\"},"
    "\"secret\":{\"status\":\"human\",\"tag\":\"PII.Sensitive\"}}}}";

static void test_bank_columns(void **state)
{
    (void)state;
    struct result r = run(BANK);
    assert_int_equal(r.rc, CS_OK);
    assert_string_equal(cell(&r, 0, 0), "<IBAN_1>");
    assert_string_equal(cell(&r, 1, 0), "<IBAN_2>");
    assert_string_equal(cell(&r, 2, 0), "<IBAN_1>");
    assert_string_equal(cell(&r, 0, 1), "<CREDIT_CARD_1>");
    assert_string_equal(cell(&r, 1, 1), "<CREDIT_CARD_2>");
    assert_string_equal(cell(&r, 2, 1), "null");
    /* The card quoted in a note is the card of the card column. */
    assert_string_equal(cell(&r, 0, 4), "card <CREDIT_CARD_1> blocked");
    assert_string_equal(cell(&r, 1, 4), "iban <IBAN_2> closed");
    /* A candidate column of a number type: the validated value goes, the
     * rest stays. */
    assert_string_equal(cell(&r, 0, 2), "42");
    assert_string_equal(cell(&r, 1, 2), "<CREDIT_CARD_3>");
    json_t *cand = json_array_get(json_object_get(r.out, "columns"), 2);
    assert_true(json_is_false(json_object_get(cand, "masked")));
    json_t *ph = json_object_get(r.out, "placeholders");
    assert_int_equal(json_integer_value(json_object_get(ph, "IBAN")), 2);
    assert_int_equal(json_integer_value(json_object_get(ph, "CREDIT_CARD")), 3);
    /* min/max of a PII column are placeholders too. */
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "card_number"), "max")),
        "<CREDIT_CARD_2>");
    /* Statistics of columns the sample does not have are not carried. */
    assert_null(
        json_object_get(json_object_get(r.out, "columnsStats"), "extra"));
    result_free(&r);
}

static void test_human_tag_without_entity(void **state)
{
    (void)state;
    struct result r = run(BANK);
    assert_string_equal(cell(&r, 0, 3), "<PII_1>");
    assert_string_equal(cell(&r, 1, 3), "null");
    assert_string_equal(cell(&r, 2, 3), "<PII_1>");
    json_t *col = json_array_get(json_object_get(r.out, "columns"), 3);
    assert_true(json_is_true(json_object_get(col, "masked")));
    assert_string_equal(json_string_value(json_object_get(col, "entity")),
                        "PII");
    assert_string_equal(top_value(&r, "secret", 0), "<PII_1>");
    assert_string_equal(
        json_string_value(json_object_get(stats(&r, "secret"), "min")),
        "<PII_1>");
    const char *raw[] = {"FR7630006000011234567890189",
                         "DE89370400440532013000",
                         "4539148803436467",
                         "5555555555554444",
                         "4111111111111111",
                         "1234"};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
        assert_absent(&r, raw[i]);
    result_free(&r);
}

/* A person's "PII.None" says the column is not PII: its values stay, but
 * an e-mail inside its text is still masked. */
static void test_human_pii_none(void **state)
{
    (void)state;
    struct result r =
        run("{\"sample\":{\"columns\":[{\"name\":\"label\",\"type\":"
            "\"text\"}],\"rows\":[[\"Blue\"],[\"ask erin.fox@example.org\"]]},"
            "\"pii\":{\"columns\":{\"label\":{\"status\":\"human\","
            "\"tag\":\"PII.None\",\"labelType\":\"Manual\"}}}}");
    assert_int_equal(r.rc, CS_OK);
    assert_string_equal(cell(&r, 0, 0), "Blue");
    assert_string_equal(cell(&r, 1, 0), "ask <EMAIL_1>");
    json_t *col = json_array_get(json_object_get(r.out, "columns"), 0);
    assert_true(json_is_false(json_object_get(col, "masked")));
    result_free(&r);
}

/* vote=both held a recognizer tag back (status candidate, vote_blocked):
 * the names are still masked whole, since span search cannot find a
 * person's name inside a cell. */
static void test_vote_blocked_column_masked_whole(void **state)
{
    (void)state;
    struct result r =
        run("{\"sample\":{\"columns\":[{\"name\":\"first_name\",\"type\":"
            "\"text\"}],\"rows\":[[\"Camille\"],[\"Jürgen\"],[null]]},"
            "\"pii\":{\"columns\":{\"first_name\":{\"status\":\"candidate\","
            "\"entity\":\"PERSON_NAME\",\"vote_blocked\":true}}}}");
    assert_int_equal(r.rc, CS_OK);
    assert_string_equal(cell(&r, 0, 0), "<PERSON_NAME_1>");
    assert_string_equal(cell(&r, 1, 0), "<PERSON_NAME_2>");
    assert_string_equal(cell(&r, 2, 0), "null");
    assert_absent(&r, "Camille");
    assert_absent(&r, "Jürgen");
    result_free(&r);
}

/* Values that fail every checksum in a column named like a national
 * identifier are masked whole all the same. */
static void test_named_pii_masked_whole(void **state)
{
    (void)state;
    struct result r =
        run("{\"sample\":{\"columns\":[{\"name\":\"national_id\",\"type\":"
            "\"text\"},{\"name\":\"note\",\"type\":\"text\"}],\"rows\":"
            "[[\"QQ123456C\",\"QQ123456C\"],[\"ES12345678Z\",null]]},"
            "\"pii\":{\"columns\":{\"national_id\":{\"status\":\"none\","
            "\"entity\":\"FR_NIR\",\"evidence\":{\"name_signal\":{"
            "\"keyword\":\"national_id\",\"strength\":0.6}}},"
            "\"note\":{\"status\":\"none\",\"entity\":\"FR_NIR\","
            "\"evidence\":{\"name_signal\":null}}}}}");
    assert_int_equal(r.rc, CS_OK);
    assert_string_equal(cell(&r, 0, 0), "<FR_NIR_1>");
    assert_string_equal(cell(&r, 1, 0), "<FR_NIR_2>");
    /* No name signal: only the search for validated spans applies. */
    assert_string_equal(cell(&r, 0, 1), "QQ123456C");
    result_free(&r);
}

static void test_non_text_cells_of_a_pii_column(void **state)
{
    (void)state;
    struct result r =
        run("{\"sample\":{\"columns\":[{\"name\":\"card\",\"type\":"
            "\"int8\"}],\"rows\":[[4539148803436467],[4539148803436467]]},"
            "\"pii\":{\"columns\":{\"card\":{\"entity\":\"CREDIT_CARD\","
            "\"status\":\"tagged\"}}}}");
    assert_int_equal(r.rc, CS_OK);
    assert_string_equal(cell(&r, 0, 0), "<CREDIT_CARD_1>");
    assert_string_equal(cell(&r, 1, 0), "<CREDIT_CARD_1>");
    assert_absent(&r, "4539148803436467");
    /* No columnsStats in the sample: an empty object in the output. */
    assert_int_equal(json_object_size(json_object_get(r.out, "columnsStats")),
                     0);
    result_free(&r);
}

/* Many distinct values (the map grows) and a text with more PII
 * substrings than one search batch. */
static void test_many_values(void **state)
{
    (void)state;
    size_t cap = 64 * 1024, n = 0;
    char *a = malloc(cap);
    assert_non_null(a);
    n += (size_t)snprintf(a + n, cap - n,
                          "{\"pii\":{\"columns\":{\"email\":{\"entity\":"
                          "\"EMAIL\",\"status\":\"tagged\"}}},\"sample\":"
                          "{\"columns\":[{\"name\":\"email\",\"type\":"
                          "\"text\"},{\"name\":\"note\",\"type\":"
                          "\"text\"}],\"rows\":[");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(a + n, cap - n, "%s[\"user%d@example.org\",null]",
                              i ? "," : "", i % 150);
    n += (size_t)snprintf(a + n, cap - n, ",[null,\"");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(a + n, cap - n, "to user%d@example.org; ", i);
    snprintf(a + n, cap - n, "end\"]]}}");
    struct result r = run(a);
    free(a);
    assert_int_equal(r.rc, CS_OK);
    for (size_t i = 0; i < 300; i++) {
        char want[32];
        snprintf(want, sizeof want, "<EMAIL_%zu>", i % 150 + 1);
        assert_string_equal(cell(&r, i, 0), want);
    }
    char text[2048];
    size_t k = 0;
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "to <EMAIL_%d>; ",
                              i + 1);
    snprintf(text + k, sizeof text - k, "end");
    assert_string_equal(cell(&r, 300, 1), text);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(r.out, "placeholders"), "EMAIL")),
                     150);
    assert_absent(&r, "@example.org");
    result_free(&r);
}

static void test_empty_sample(void **state)
{
    (void)state;
    struct result r = run("{\"sample\":{\"columns\":[],\"rows\":[],"
                          "\"columnsStats\":{}},\"pii\":{\"columns\":{}}}");
    assert_int_equal(r.rc, CS_OK);
    assert_non_null(r.out);
    assert_int_equal(json_array_size(json_object_get(r.out, "columns")), 0);
    assert_int_equal(json_array_size(json_object_get(r.out, "rows")), 0);
    assert_int_equal(json_object_size(json_object_get(r.out, "placeholders")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(r.out, "masked_cells")),
                     0);
    result_free(&r);
}

static void test_columns_missing_from_pii(void **state)
{
    (void)state;
    /* pii knows none of these columns: text is still searched, a number
     * column is kept, and a short row is padded with null. */
    struct result r =
        run("{\"sample\":{\"columns\":[{\"name\":\"msg\",\"type\":\"text\"},"
            "{\"name\":\"n\",\"type\":\"int4\"},{\"name\":\"tags\",\"type\":"
            "\"_text\"}],\"rows\":[[\"mail carol.white@example.net now\","
            "\"7\",\"{one, carol.white@example.net}\"],[\"no pii here\"]]},"
            "\"pii\":{}}");
    assert_int_equal(r.rc, CS_OK);
    assert_string_equal(cell(&r, 0, 0), "mail <EMAIL_1> now");
    assert_string_equal(cell(&r, 0, 1), "7");
    /* An array type is not known to be safe: searched as text. */
    assert_string_equal(cell(&r, 0, 2), "{one, <EMAIL_1>}");
    assert_string_equal(cell(&r, 1, 0), "no pii here");
    assert_string_equal(cell(&r, 1, 1), "null");
    assert_int_equal(
        json_array_size(json_array_get(json_object_get(r.out, "rows"), 1)), 3);
    assert_absent(&r, "carol.white");
    result_free(&r);
}

static void test_missing_pii_aspect_refused(void **state)
{
    (void)state;
    struct result r =
        run("{\"sample\":{\"columns\":[{\"name\":\"email\",\"type\":"
            "\"text\"}],\"rows\":[[\"dave.jones@example.org\"]]}}");
    assert_int_equal(r.rc, CS_ERR_INVALID);
    assert_null(r.out);
    assert_non_null(strstr(r.error, "pii"));
    result_free(&r);

    r = run("{\"pii\":{\"columns\":{}}}");
    assert_int_equal(r.rc, CS_ERR_INVALID);
    assert_null(r.out);
    assert_non_null(strstr(r.error, "sample"));
    result_free(&r);
}

static void test_declaration(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("mask");
    assert_non_null(d);
    assert_int_equal(d->kind, CS_PASS_ENTITY);
    assert_string_equal(d->consumes[0].name, "sample");
    assert_true(d->consumes[0].flags & CS_ASPECT_RAW);
    assert_string_equal(d->consumes[1].name, "pii");
    assert_false(d->consumes[1].flags & CS_ASPECT_OPTIONAL);
    assert_string_equal(d->produces[0].name, "sample_masked");
    /* The masked sample must be persistable, hence not raw. */
    assert_false(d->produces[0].flags & CS_ASPECT_RAW);
    assert_null(d->produces[1].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pii_column_replaced_consistently),
        cmocka_unit_test(test_email_inside_free_text),
        cmocka_unit_test(test_nulls_and_non_pii_kept),
        cmocka_unit_test(test_stats_masked),
        cmocka_unit_test(test_no_raw_value_in_output),
        cmocka_unit_test(test_bank_columns),
        cmocka_unit_test(test_human_tag_without_entity),
        cmocka_unit_test(test_human_pii_none),
        cmocka_unit_test(test_vote_blocked_column_masked_whole),
        cmocka_unit_test(test_named_pii_masked_whole),
        cmocka_unit_test(test_non_text_cells_of_a_pii_column),
        cmocka_unit_test(test_many_values),
        cmocka_unit_test(test_empty_sample),
        cmocka_unit_test(test_columns_missing_from_pii),
        cmocka_unit_test(test_missing_pii_aspect_refused),
        cmocka_unit_test(test_declaration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
