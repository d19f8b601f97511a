/* The PII validators of pii_common against valid and invalid examples
 * from the public specifications (SWIFT IBAN registry, card networks' test
 * numbers, SSA, INSEE, Agencia Tributaria, Agenzia delle Entrate, NHS
 * Data Dictionary, PESEL act, BZSt, RFC 5321, ITU-T E.164). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pii.h"

typedef bool (*validator)(const char *);

/* Every `good` must validate and every `bad` must not; names the value. */
static void check(const char *what, validator fn, const char *const *good,
                  const char *const *bad)
{
    for (; good && *good; good++)
        if (!fn(*good))
            fail_msg("%s: \"%s\" should be valid", what, *good);
    for (; bad && *bad; bad++)
        if (fn(*bad))
            fail_msg("%s: \"%s\" should be invalid", what, *bad);
}

static void test_email(void **state)
{
    (void)state;
    static const char *const good[] = {
        "john.doe@example.com", "a+b@sub.example.co.uk",   "x_y-z@ex-ample.org",
        "o'brien@example.ie",   "user@xn--80ak6aa92e.com", NULL};
    static const char *const bad[] = {
        "john..doe@example.com", ".john@example.com", "john.@example.com",
        "john@example", "john@example.c", "john@-example.com",
        "john@example-.com", "a@b@c.com", "john doe@example.com",
        "@example.com", "john@", "john@exam_ple.com", "john@example..com",
        "john@example.c0m", "email", "",
        /* 65-character local part (RFC 5321 limit is 64) */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "@example.com",
        NULL};
    check("email", pii_valid_email, good, bad);
    assert_true(pii_valid_email("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaaaaaaaaaaaaa@example.com"));
}

static void expect_phone(const char *s, const char *country)
{
    char cc[3] = "??";
    if (!pii_valid_phone(s, cc))
        fail_msg("phone: \"%s\" should be valid", s);
    if (strcmp(cc, country) != 0)
        fail_msg("phone: \"%s\" country \"%s\", expected \"%s\"", s, cc,
                 country);
}

static void test_phone_international(void **state)
{
    (void)state;
    expect_phone("+33 6 12 34 56 78", "FR");
    expect_phone("+33 (0)6 12 34 56 78", "FR");
    expect_phone("0033 6 12 34 56 78", "FR");
    expect_phone("+49 30 12345678", "DE");
    expect_phone("+49 151 23456789", "DE");
    expect_phone("+34 612 345 678", "ES");
    expect_phone("+39 312 345 6789", "IT");
    expect_phone("+39 06 1234 5678", "IT");
    expect_phone("+31 20 123 4567", "NL");
    expect_phone("+32 2 123 45 67", "BE");
    expect_phone("+32 470 12 34 56", "BE");
    expect_phone("+44 20 7946 0958", "GB");
    expect_phone("+44 (0)20 7946 0958", "GB");
    expect_phone("+44 7700 900123", "GB");
    expect_phone("+1 202 555 0123", "US");
    expect_phone("+1-202-555-0123", "US");
    expect_phone("+41 44 668 18 00", ""); /* CH: known code, no own rule */
    expect_phone("+81 3-1234-5678", "");
    static const char *const bad[] = {
        "+33 6 12 34 56 7",        /* FR: 8 digits after +33 */
        "+33 6 12 34 56 78 9",     /* FR: 10 */
        "+33 0 12 34 56 78",       /* FR: 0 after the country code */
        "+49 1234 5678",           /* DE: 012x is not a mobile range */
        "+49 151 234",             /* DE: mobile too short */
        "+34 512 345 678",         /* ES: 5xx is not a subscriber range */
        "+34 612 345 67",          /* ES: 8 digits */
        "+39 512 345 678",         /* IT: neither 0 nor 3 */
        "+31 20 123 456",          /* NL: 8 digits */
        "+32 2 123 45 678",        /* BE: 9 digits outside 04xx */
        "+32 470 12 34 5",         /* BE: mobile with 8 digits */
        "+44 20 7946 095",         /* UK: 9 digits */
        "+1 102 555 0123",         /* NANP: area code starts 2-9 */
        "+1 202 155 0123",         /* NANP: exchange starts 2-9 */
        "+999 123 456 789",        /* unassigned country code */
        "+28 1234 5678",           /* unassigned country code */
        "+41 1234 5678 9012 3456", /* over 15 digits */
        "+41 123",                 /* under 8 digits */
        NULL};
    for (const char *const *b = bad; *b; b++)
        if (pii_valid_phone(*b, NULL))
            fail_msg("phone: \"%s\" should be invalid", *b);
}

static void test_phone_national(void **state)
{
    (void)state;
    expect_phone("06 12 34 56 78", "FR"); /* French pairs */
    expect_phone("01.23.45.67.89", "FR");
    expect_phone("612 345 678", "ES");
    expect_phone("91 123 45 67", "ES");
    expect_phone("(202) 555-0123", "US");
    expect_phone("202-555-0123", "US");
    expect_phone("1-800-555-0199", "US");
    expect_phone("312 345 6789", "");  /* IT mobile or US: ambiguous */
    expect_phone("020 123 4567", "");  /* NL, DE or IT */
    expect_phone("0470 12 34 56", ""); /* BE mobile, also FR/NL/DE */
    expect_phone("030/12345678", "");  /* DE, also IT */
    expect_phone("07700 900123", "");  /* UK mobile, also DE */
    expect_phone("02 1234 5678", "");  /* IT Milan, also DE */
    static const char *const bad[] = {
        "0 12 34",              /* too short for any country */
        "06 12 34 56 78 90 12", /* too long for any country */
        "(102) 555-0123",       /* NANP area code 1xx */
        "512 345 678",          /* ES would need 6-9 first */
        "12/05/1987",           /* a date */
        "14.05.1985",           /* a date */
        "1985-05-14",           /* a date */
        "06--12-34-56-78",      /* doubled separator */
        "06 12 34 56 78a",      /* a letter */
        "((06)) 12 34 56 78",   /* nested parentheses */
        "06 12 34 (56 78",      /* unbalanced */
        "-06 12 34 56 78",      /* leading separator */
        "",
        NULL};
    for (const char *const *b = bad; *b; b++)
        if (pii_valid_phone(*b, NULL))
            fail_msg("phone: \"%s\" should be invalid", *b);
}

static void test_iban(void **state)
{
    (void)state;
    /* Examples of the SWIFT IBAN registry and the ECBS. */
    static const char *const good[] = {"GB82 WEST 1234 5698 7654 32",
                                       "GB82WEST12345698765432",
                                       "DE89 3704 0044 0532 0130 00",
                                       "DE89370400440532013000",
                                       "FR14 2004 1010 0505 0001 3M02 606",
                                       "NL91ABNA0417164300",
                                       "BE68539007547034",
                                       "ES9121000418450200051332",
                                       "IT60X0542811101000000123456",
                                       "CH9300762011623852957",
                                       "NO9386011117947",
                                       "PL61109010140000071219812874",
                                       "AT611904300234573201",
                                       NULL};
    static const char *const bad[] = {
        "GB82 WEST 1234 5698 7654 33", /* mod 97 */
        "GB83WEST12345698765432",      /* check digits */
        "GB82WEST1234569876543",       /* GB is 22 long */
        "DE89 3704 0044 0532 0130 0",  /* DE is 22 long */
        "XX82WEST12345698765432",      /* no such country */
        "gb82west12345698765432",      /* lowercase */
        "GB82 WES T123 4569 8765 432", /* not the 4-group print form */
        "GB82  WEST 1234 5698 7654 32",
        "DE00370400440532013000",
        "DE99370400440532013000",
        "GB82-WEST-1234-5698-7654-32",
        "",
        NULL};
    check("iban", pii_valid_iban, good, bad);
}

static void test_credit_card(void **state)
{
    (void)state;
    /* The networks' published test numbers. */
    static const char *const good[] = {
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4222222222222", /* Visa, 13 digits */
        "5500005555555559",
        "5555555555554444",
        "2223003122003222", /* Mastercard 2-series */
        "378282246310005",
        "3782 822463 10005", /* Amex 4-6-5 */
        "6011111111111117",  /* Discover */
        "3530111333300000",  /* JCB */
        "30569309025904",    /* Diners, 14 digits */
        "4000000000001232", /* prefix 4, 16 digits, Luhn: structurally a card */
        NULL};
    static const char *const bad[] = {
        "4111111111111112",    /* Luhn */
        "1234567812345670",    /* Luhn-valid, no issuer starts with 1 */
        "9000000000001231",    /* Luhn-valid, no issuer starts with 9 */
        "123456789015",        /* Luhn-valid order number, 12 digits */
        "411111111111116",     /* Luhn-valid Visa with 15 digits */
        "3782822463100052",    /* Luhn-valid Amex with 16 digits */
        "4111 1111-1111 1111", /* mixed separators */
        "4111  1111 1111 1111",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        "0000000000000000",
        "",
        NULL};
    check("card", pii_valid_credit_card, good, bad);
}

static void test_us_ssn(void **state)
{
    (void)state;
    static const char *const good[] = {"123-45-6789", "123456789",
                                       "123 45 6789", "899-99-9999", NULL};
    static const char *const bad[] = {"000-12-3456",
                                      "666-12-3456",
                                      "900-12-3456",
                                      "999-12-3456",
                                      "123-00-4567",
                                      "123-45-0000",
                                      "078-05-1120",
                                      "219-09-9999",
                                      "123-45-678",
                                      "123-456789",
                                      "123 45-6789",
                                      "12a-45-6789",
                                      "",
                                      NULL};
    check("ssn", pii_valid_us_ssn, good, bad);
}

static void test_fr_nir(void **state)
{
    (void)state;
    static const char *const good[] = {
        "2 55 08 14 168 025 38", /* INSEE's published example */
        "255081416802538",
        "1 85 05 78 006 084 91",
        "1 85 05 2A 006 084 35", /* Corsica: 2A counts as 19 */
        "1 85 05 2B 006 084 62", /* 2B counts as 18 */
        NULL};
    static const char *const bad[] = {
        /* often quoted with key 36, but 97 - (1850578006084 mod 97) = 91 */
        "1 85 05 78 006 084 36", "3 85 05 78 006 084 88", /* sex must be 1 or 2
                                                           */
        "1 85 13 78 006 084 25", /* month 13 (key right) */
        "1 85 05 78 006 000 78", /* order 000 (key right) */
        "1 85 05 78 006 084 9",  "1 85 05 2C 006 084 35", "", NULL};
    check("nir", pii_valid_fr_nir, good, bad);
}

static void test_es_nif(void **state)
{
    (void)state;
    static const char *const good[] = {"12345678Z", "12345678-Z", "X1234567L",
                                       "Y1234567X", "Z1234567R",  "00000000T",
                                       NULL};
    static const char *const bad[] = {"12345678A", "1234567Z",   "12345678z",
                                      "X1234567A", "X12345678L", "A1234567L",
                                      "123456789", "",           NULL};
    check("nif", pii_valid_es_nif, good, bad);
}

static void test_it_fiscal_code(void **state)
{
    (void)state;
    static const char *const good[] = {
        "RSSMRA85T10A562S",
        "RSSMRA85T10A56NH", /* omocodia: the last 2 of the place written N */
        NULL};
    static const char *const bad[] = {
        "RSSMRA85T10A562T", /* check character */
        "RSSMRA85Z10A562S", /* Z is no month letter */
        "RSSMRA85T32A562S", /* day 32 */
        "RSSMRA85T10A562",  "rssmra85t10a562s", "RSSMR185T10A562S", "", NULL};
    check("codice fiscale", pii_valid_it_fiscal_code, good, bad);
}

static void test_uk_nhs(void **state)
{
    (void)state;
    static const char *const good[] = {"943 476 5919", "9434765919",
                                       "943-476-5919", NULL};
    static const char *const bad[] = {
        "943 476 5918", /* check digit */
        "1000000010",   /* the check would be 10: never issued */
        "943 4765919",  "943 476-5919", "94347659190", "943476591", "", NULL};
    check("nhs", pii_valid_uk_nhs, good, bad);
}

static void test_pl_pesel(void **state)
{
    (void)state;
    static const char *const good[] = {"44051401359",
                                       "02270803624", /* 2002-07-08 */
                                       NULL};
    static const char *const bad[] = {
        "44051401358", /* check digit */
        "44023001356", /* 30 February (check digit right) */
        "4405140135",  "440514013590", "4405140135a", "", NULL};
    check("pesel", pii_valid_pl_pesel, good, bad);
}

static void test_de_tax_id(void **state)
{
    (void)state;
    static const char *const good[] = {
        "65929970489", "65 929 970 489",
        "11213456783", /* a digit three times, not all adjacent */
        "11234567890", /* a digit twice */
        NULL};
    static const char *const bad[] = {
        "65929970488", /* check digit */
        "05929970489", /* leading zero */
        "12345678903", /* no digit repeated (check right) */
        "11123456786", /* three in a row (check right) */
        "11223456785", /* two digits repeated (check right) */
        "6592997048",  "", NULL};
    check("steuer-id", pii_valid_de_tax_id, good, bad);
}

static void test_ip(void **state)
{
    (void)state;
    static const char *const good[] = {
        "192.168.1.1",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8::1",
        "::1",
        "fe80::1ff:fe23:4567:890a",
        "::ffff:192.0.2.1",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
        NULL};
    static const char *const bad[] = {"256.1.1.1", "192.168.01.1",
                                      "1.2.3",     "1.2.3.4.5",
                                      "1.2.3.",    "2001:db8:::1",
                                      "12:30",     "gggg::1",
                                      "1.2.3.4 ",  "",
                                      NULL};
    check("ip", pii_valid_ip, good, bad);
}

static void test_mac(void **state)
{
    (void)state;
    static const char *const good[] = {"00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e",
                                       "001a.2b3c.4d5e", NULL};
    static const char *const bad[] = {"00:1A:2B:3C:4D",
                                      "00:1A-2B:3C:4D:5E",
                                      "00:1G:2B:3C:4D:5E",
                                      "001a2b3c4d5e",
                                      "001a.2b3c.4d5",
                                      "00:1A:2B:3C:4D:5E:6F",
                                      "",
                                      NULL};
    check("mac", pii_valid_mac, good, bad);
}

static void test_birth_date(void **state)
{
    (void)state;
    static const char *const good[] = {
        "1985-05-14",
        "1985-05-14T10:20:30Z",
        "1985-05-14 00:00:00+02:00",
        "1985-05-14T10:20:30.123456",
        "14/05/1985",
        "14.05.1985",
        "14-05-1985",
        "05/14/1985", /* US order when unambiguous */
        "29/02/2000",
        "1900-01-01",
        NULL};
    static const char *const bad[] = {"1899-12-31",
                                      "2999-01-01",
                                      "1985-02-30",
                                      "31/04/1985",
                                      "13/13/1985",
                                      "1985-13-01",
                                      "29/02/1900",
                                      "14-05-85",
                                      "hello",
                                      "1985",
                                      "1985-05-14T25:00",
                                      "14.05.1985 x",
                                      "05.14.1985",
                                      "",
                                      NULL};
    check("birth date", pii_valid_birth_date, good, bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_phone_international),
        cmocka_unit_test(test_phone_national),
        cmocka_unit_test(test_iban),
        cmocka_unit_test(test_credit_card),
        cmocka_unit_test(test_us_ssn),
        cmocka_unit_test(test_fr_nir),
        cmocka_unit_test(test_es_nif),
        cmocka_unit_test(test_it_fiscal_code),
        cmocka_unit_test(test_uk_nhs),
        cmocka_unit_test(test_pl_pesel),
        cmocka_unit_test(test_de_tax_id),
        cmocka_unit_test(test_ip),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_birth_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
