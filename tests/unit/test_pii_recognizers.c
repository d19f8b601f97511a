/* Whole-value classification, free-text spans and throughput of the
 * pii_common recognizers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pii.h"

#define BIT(e) (1u << (e))
/* Entities that stand on their own (not the weak, name-signal ones). */
#define STRONG                                                                 \
    (((1u << PII_ENTITY_COUNT) - 1) & ~BIT(PII_NONE) &                         \
     ~BIT(PII_DATE_OF_BIRTH) & ~BIT(PII_PERSON_NAME) & ~BIT(PII_ADDRESS) &     \
     ~BIT(PII_POSTCODE))

struct fixture {
    pii_recognizers *r;
    pii_scratch *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256] = "";
    assert_non_null(f);
    f->r = pii_recognizers_new(err, sizeof err);
    if (!f->r)
        fail_msg("recognizers: %s", err);
    f->s = pii_scratch_new(f->r);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pii_scratch_free(f->s);
    pii_recognizers_free(f->r);
    free(f);
    return 0;
}

static pii_value_result classify(struct fixture *f, const char *v)
{
    pii_value_result res;
    pii_classify_value(f->r, f->s, v, strlen(v), &res);
    return res;
}

/* The value validates as `e` and as no other strong entity. */
static void expect_only(struct fixture *f, const char *v, pii_entity e)
{
    pii_value_result res = classify(f, v);
    if (!(res.validated & BIT(e)))
        fail_msg("\"%s\": not validated as %s (matched %#x validated %#x)", v,
                 pii_entity_name(e), res.matched, res.validated);
    if (res.validated & STRONG & ~BIT(e))
        fail_msg("\"%s\": validated as more than %s (%#x)", v,
                 pii_entity_name(e), res.validated);
}

static void expect_no_strong(struct fixture *f, const char *v)
{
    pii_value_result res = classify(f, v);
    if (res.validated & STRONG)
        fail_msg("\"%s\": validated as strong PII (%#x)", v, res.validated);
}

static void test_strong_values(void **state)
{
    struct fixture *f = *state;
    expect_only(f, "john.doe@example.com", PII_EMAIL);
    expect_only(f, "+33 6 12 34 56 78", PII_PHONE);
    expect_only(f, "06 12 34 56 78", PII_PHONE);
    expect_only(f, "(202) 555-0123", PII_PHONE);
    expect_only(f,
                "06\xc2\xa0"
                "12\xc2\xa0"
                "34\xc2\xa0"
                "56\xc2\xa0"
                "78",
                PII_PHONE);
    expect_only(f,
                "FR14\xe2\x80\xaf"
                "2004 1010 0505 0001 3M02 606",
                PII_IBAN);
    expect_only(f, "GB82 WEST 1234 5698 7654 32", PII_IBAN);
    expect_only(f, "DE89370400440532013000", PII_IBAN);
    expect_only(f, "4111111111111111", PII_CREDIT_CARD);
    expect_only(f, "4111 1111 1111 1111", PII_CREDIT_CARD);
    expect_only(f, "378282246310005", PII_CREDIT_CARD);
    expect_only(f, "123-45-6789", PII_US_SSN);
    expect_only(f, "2 55 08 14 168 025 38", PII_FR_NIR);
    expect_only(f, "12345678Z", PII_ES_NIF);
    expect_only(f, "X1234567L", PII_ES_NIF);
    expect_only(f, "RSSMRA85T10A562S", PII_IT_FISCAL_CODE);
    expect_only(f, "9434765919", PII_UK_NHS);
    expect_only(f, "44051401359", PII_PL_PESEL);
    expect_only(f, "65929970489", PII_DE_TAX_ID);
    expect_only(f, "192.168.1.1", PII_IP_ADDRESS);
    expect_only(f, "2001:db8::1", PII_IP_ADDRESS);
    expect_only(f, "00:1A:2B:3C:4D:5E", PII_MAC_ADDRESS);
    /* "943 476 5919" is both an NHS number and a NANP phone number. */
    pii_value_result res = classify(f, "943 476 5919");
    assert_true(res.validated & BIT(PII_UK_NHS));
    assert_true(res.validated & BIT(PII_PHONE));
}

static void test_matched_but_not_validated(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *v;
        pii_entity e;
    } cases[] = {
        {"GB82 WEST 1234 5698 7654 33", PII_IBAN}, /* fails mod 97 */
        {"DE00370400440532013000", PII_IBAN},
        {"4111111111111112", PII_CREDIT_CARD}, /* fails Luhn */
        {"123456789015", PII_NONE},            /* too short for a card */
        {"000-12-3456", PII_US_SSN},
        {"1 85 05 78 006 084 36", PII_FR_NIR},
        {"12345678A", PII_ES_NIF},
        {"RSSMRA85T10A562T", PII_IT_FISCAL_CODE},
        {"9434765918", PII_UK_NHS}, /* spaced, it would be a NANP phone */
        {"256.1.1.1", PII_IP_ADDRESS},
        {"2999-01-01", PII_DATE_OF_BIRTH},
        {"1985-02-30", PII_DATE_OF_BIRTH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pii_value_result r = classify(f, cases[i].v);
        if (cases[i].e != PII_NONE && !(r.matched & BIT(cases[i].e)))
            fail_msg("\"%s\": %s pattern should match", cases[i].v,
                     pii_entity_name(cases[i].e));
        if (r.validated & BIT(cases[i].e) & ~BIT(PII_NONE))
            fail_msg("\"%s\": should not validate as %s", cases[i].v,
                     pii_entity_name(cases[i].e));
        if (r.validated & STRONG)
            fail_msg("\"%s\": validated as strong PII (%#x)", cases[i].v,
                     r.validated);
    }
}

/* What other tools tag by mistake: years, short codes, flags, ids, order
 * numbers, words, numbers. */
static void test_tricky_negatives(void **state)
{
    struct fixture *f = *state;
    static const char *const values[] = {
        "1987",
        "2024",
        "123",
        "4567",
        "0",
        "1",
        "true",
        "false",
        "t",
        "f",
        "yes",
        "N/A",
        "",
        " ",
        "42",
        "3.14",
        "-12.5",
        "1e10",
        "0.0.0",
        "ORD-2024-0001",
        "INV/2023/0042",
        "123456789015",
        "9000000000001231",
        "12345678",
        "123456789", /* bare 9 digits: no SSN without dashes */
        "612345678",
        "2025550123", /* bare digits: no phone without 0/+ */
        "email",
        "Please email me at your convenience",
        "e-mail",
        "phone number",
        "GB82 WEST 1234 5698 7654 33",
        "AB12CD34EF56GH78",
        "1.2.3",
        "v1.2.3",
        "12:30",
        "12:30:45",
        "2024-01-15",
        "15/01/2024",
        "550e8400-e29b-41d4-a716-446655440000",
        "deadbeef",
        "#ff0000",
        NULL};
    for (const char *const *v = values; *v; v++)
        expect_no_strong(f, *v);
    char id[32];
    for (int i = 0; i <= 200000; i += 7) {
        snprintf(id, sizeof id, "%d", i);
        expect_no_strong(f, id);
    }
    /* years are not birth dates on their own, nor are 0/1 */
    assert_false(classify(f, "1987").validated & BIT(PII_DATE_OF_BIRTH));
    assert_int_equal(classify(f, "0").matched, 0);
    assert_int_equal(classify(f, "1").matched, 0);
}

static void test_weak_shapes(void **state)
{
    struct fixture *f = *state;
    static const char *const names[] = {"Jean Dupont",
                                        "Jean-Pierre Dupont",
                                        "O'Brien",
                                        "María José García",
                                        "Ludwig van Beethoven",
                                        "DUPONT Jean",
                                        "J. R. Smith",
                                        "Smith, John",
                                        "Zoë Ångström",
                                        NULL};
    static const char *const addresses[] = {"12 rue de la Paix",
                                            "221B Baker Street",
                                            "Hauptstraße 5",
                                            "Obere Str. 57",
                                            "Calle Mayor 5",
                                            "C/ Araquil, 67",
                                            "Via Roma 10",
                                            "1600 Pennsylvania Ave NW",
                                            "Theodor-Heuss-Straße 34",
                                            "47 MySakila Drive",
                                            "Piazza Navona 5",
                                            NULL};
    static const char *const postcodes[] = {
        "75001", "1012 AB", "SW1A 1AA", "90210-1234", "1000", "H3G 1A4", NULL};
    for (const char *const *v = names; *v; v++)
        if (!(classify(f, *v).validated & BIT(PII_PERSON_NAME)))
            fail_msg("\"%s\": should have the person-name shape", *v);
    for (const char *const *v = addresses; *v; v++)
        if (!(classify(f, *v).validated & BIT(PII_ADDRESS)))
            fail_msg("\"%s\": should have the address shape", *v);
    for (const char *const *v = postcodes; *v; v++)
        if (!(classify(f, *v).validated & BIT(PII_POSTCODE)))
            fail_msg("\"%s\": should have the postcode shape", *v);
    static const char *const not_names[] = {"hello world", "ACME123",
                                            "john smith", "a", NULL};
    for (const char *const *v = not_names; *v; v++)
        if (classify(f, *v).matched & BIT(PII_PERSON_NAME))
            fail_msg("\"%s\": should not have the person-name shape", *v);
    static const char *const not_addresses[] = {"rue de la Paix", "12 apples",
                                                "Order 12 shipped", NULL};
    for (const char *const *v = not_addresses; *v; v++)
        if (classify(f, *v).matched & BIT(PII_ADDRESS))
            fail_msg("\"%s\": should not have the address shape", *v);
    assert_true(classify(f, "1985-05-14").validated & BIT(PII_DATE_OF_BIRTH));
    assert_true(classify(f, "14/05/1985").validated & BIT(PII_DATE_OF_BIRTH));
}

static void test_value_edges(void **state)
{
    struct fixture *f = *state;
    pii_value_result r;
    /* the length counts, not the terminator */
    const char *v = "john.doe@example.comXYZ";
    pii_classify_value(f->r, f->s, v, 20, &r);
    assert_true(r.validated & BIT(PII_EMAIL));
    pii_classify_value(f->r, f->s, NULL, 0, &r);
    assert_int_equal(r.matched, 0);
    /* invalid UTF-8 and long values are handled, not crashed on */
    r = classify(f, "\xff\xfe Dupont");
    assert_int_equal(r.validated & STRONG, 0);
    r = classify(f, "Jos\xc3");
    assert_int_equal(r.matched & BIT(PII_PERSON_NAME), 0);
    char big[2048];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[100] = '@';
    r = classify(f, big);
    assert_int_equal(r.validated, 0);
}

struct expected_span {
    const char *text;
    pii_entity e;
};

static void expect_spans(struct fixture *f, const char *text,
                         const struct expected_span *want, int nwant)
{
    pii_span got[16];
    int n = pii_find_spans(f->r, f->s, text, strlen(text), got, 16);
    if (n != nwant) {
        for (int i = 0; i < n; i++)
            print_message("got %s \"%.*s\"\n", pii_entity_name(got[i].entity),
                          (int)got[i].len, text + got[i].start);
        fail_msg("\"%s\": %d spans, expected %d", text, n, nwant);
    }
    for (int i = 0; i < n; i++) {
        size_t wl = strlen(want[i].text);
        if (got[i].entity != want[i].e || got[i].len != wl ||
            memcmp(text + got[i].start, want[i].text, wl) != 0)
            fail_msg("\"%s\": span %d is %s \"%.*s\", expected %s \"%s\"", text,
                     i, pii_entity_name(got[i].entity), (int)got[i].len,
                     text + got[i].start, pii_entity_name(want[i].e),
                     want[i].text);
    }
}

static void test_spans(void **state)
{
    struct fixture *f = *state;
    const struct expected_span mixed[] = {
        {"jean@exemple.fr", PII_EMAIL},
        {"+33 6 12 34 56 78", PII_PHONE},
        {"FR76 3000 6000 0112 3456 7890 189", PII_IBAN},
        {"4111 1111 1111 1111", PII_CREDIT_CARD},
    };
    expect_spans(f,
                 "Contact jean@exemple.fr or +33 6 12 34 56 78, IBAN FR76 "
                 "3000 6000 0112 3456 7890 189; card 4111 1111 1111 1111 on "
                 "2024-01-05.",
                 mixed, 4);
    const struct expected_span ids[] = {
        {"123-45-6789", PII_US_SSN},
        {"943 476 5919", PII_UK_NHS}, /* NHS wins over the NANP reading */
        {"RSSMRA85T10A562S", PII_IT_FISCAL_CODE},
        {"X1234567L", PII_ES_NIF},
        {"44051401359", PII_PL_PESEL},
    };
    expect_spans(f,
                 "ssn 123-45-6789, nhs 943 476 5919, cf RSSMRA85T10A562S, "
                 "nie X1234567L, pesel 44051401359.",
                 ids, 5);
    const struct expected_span net[] = {
        {"192.168.1.10", PII_IP_ADDRESS},
        {"00:1A:2B:3C:4D:5E", PII_MAC_ADDRESS},
        {"2001:db8::1", PII_IP_ADDRESS},
    };
    expect_spans(f,
                 "login from 192.168.1.10:8080 (mac 00:1A:2B:3C:4D:5E) "
                 "then [2001:db8::1]",
                 net, 3);
    /* a year after the phone number is not part of it */
    const struct expected_span phone[] = {{"06 12 34 56 78", PII_PHONE}};
    expect_spans(f, "call 06 12 34 56 78 2024 please", phone, 1);
    expect_spans(f, "12/05/2023 06 12 34 56 78", phone, 1);
    const struct expected_span mail[] = {{"a.b@example.com", PII_EMAIL}};
    expect_spans(f, "<a.b@example.com>.", mail, 1);
}

static void test_spans_negatives(void **state)
{
    struct fixture *f = *state;
    static const char *const texts[] = {
        "Please email me about order 123456789015 from 2019-2023.",
        "The email field is optional; phone too.",
        "Invoice 2024-00042 of 12/05/2023, total 1234.56 EUR, 3 items",
        "card 4111 1111 1111 1112 declined",
        "IBAN GB82 WEST 1234 5698 7654 33 is wrong",
        "version 1.2.3 released at 12:30:45",
        "",
        NULL};
    for (const char *const *t = texts; *t; t++) {
        pii_span got[8];
        int n = pii_find_spans(f->r, f->s, *t, strlen(*t), got, 8);
        if (n != 0)
            fail_msg("\"%s\": %d spans, first %s \"%.*s\"", *t, n,
                     pii_entity_name(got[0].entity), (int)got[0].len,
                     *t + got[0].start);
    }
    /* at most max spans */
    const char *many = "a@example.com b@example.com c@example.com";
    pii_span got[2];
    assert_int_equal(pii_find_spans(f->r, f->s, many, strlen(many), got, 2), 2);
}

/* Throughput on short mixed values: printed for docs/benchmarks.md, not
 * asserted (machines and sanitizer builds differ). */
static void test_throughput(void **state)
{
    struct fixture *f = *state;
    static const char *const values[] = {"john.doe@example.com",
                                         "42",
                                         "Paris",
                                         "2024-01-15",
                                         "4111111111111111",
                                         "+33 6 12 34 56 78",
                                         "DE89370400440532013000",
                                         "true",
                                         "1987",
                                         "Jean Dupont",
                                         "12 rue de la Paix",
                                         "75001",
                                         "192.168.1.1",
                                         "ORD-2024-0001",
                                         "pending",
                                         "3.14",
                                         "123-45-6789",
                                         "hello world",
                                         "N/A",
                                         "0"};
    enum { NV = sizeof values / sizeof values[0], N = 1000000 };
    size_t lens[NV];
    for (int i = 0; i < NV; i++)
        lens[i] = strlen(values[i]);
    struct timespec a, b;
    uint32_t seen = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++) {
        pii_value_result r;
        pii_classify_value(f->r, f->s, values[i % NV], lens[i % NV], &r);
        seen |= r.validated;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs =
        (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    print_message("pii_classify_value: %d short mixed values in %.3f s = "
                  "%.0f values/s on one core\n",
                  N, secs, N / secs);
    assert_true(seen & BIT(PII_EMAIL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strong_values),
        cmocka_unit_test(test_matched_but_not_validated),
        cmocka_unit_test(test_tricky_negatives),
        cmocka_unit_test(test_weak_shapes),
        cmocka_unit_test(test_value_edges),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_spans_negatives),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
