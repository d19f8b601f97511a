/* Column-name signals of pii_common: tokenization, keywords in EN, FR,
 * DE, ES and IT, abbreviations, and the markers that cancel a signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pii.h"

/* The strength of the signal for `e` in `name`, 0 when there is none. */
static double strength_of(const char *name, pii_entity e)
{
    pii_name_signal s[PII_ENTITY_COUNT];
    int n = pii_name_signals(name, s, PII_ENTITY_COUNT);
    for (int i = 0; i < n; i++)
        if (s[i].entity == e)
            return s[i].strength;
    return 0;
}

/* `name` signals `e` first, with at least `min` strength. */
static void expect_signal(const char *name, pii_entity e, double min)
{
    pii_name_signal s[PII_ENTITY_COUNT];
    int n = pii_name_signals(name, s, PII_ENTITY_COUNT);
    if (n == 0 || s[0].entity != e || s[0].strength < min)
        fail_msg("\"%s\": expected %s >= %.2f first, got %s %.2f (%d "
                 "signals)",
                 name, pii_entity_name(e), min,
                 n ? pii_entity_name(s[0].entity) : "nothing",
                 n ? s[0].strength : 0.0, n);
}

static void expect_none(const char *name)
{
    pii_name_signal s[PII_ENTITY_COUNT];
    int n = pii_name_signals(name, s, PII_ENTITY_COUNT);
    if (n != 0)
        fail_msg("\"%s\": expected no signal, got %s %.2f (keyword %s)", name,
                 pii_entity_name(s[0].entity), s[0].strength, s[0].keyword);
}

static void test_tokenization(void **state)
{
    (void)state;
    static const char *const emails[] = {
        "email",        "e_mail",        "E-Mail",         "eMail",
        "EmailAddress", "EMAIL_ADDRESS", "customer_email", "contactEmail",
        "email2",       "Email Address", "work.email",     NULL};
    for (const char *const *n = emails; *n; n++)
        expect_signal(*n, PII_EMAIL, 0.99);
    expect_signal("IPAddress", PII_IP_ADDRESS, 0.99);
    expect_signal("ZIPCode", PII_POSTCODE, 0.99);
    expect_signal("DateOfBirth", PII_DATE_OF_BIRTH, 0.99);
    expect_signal("address_line_2", PII_ADDRESS, 0.99);
    expect_signal("ship_address", PII_ADDRESS, 0.99);
    /* "email_address" is an e-mail, not a postal address */
    assert_true(strength_of("email_address", PII_ADDRESS) == 0);
    assert_true(strength_of("ip_address", PII_ADDRESS) == 0);
}

static void test_languages(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        pii_entity e;
        const char *lang;
    } cases[] = {
        /* EN */
        {"phone_number", PII_PHONE, "en"},
        {"dob", PII_DATE_OF_BIRTH, "en"},
        {"ssn", PII_US_SSN, "en"},
        {"SocialSecurityNumber", PII_US_SSN, "en"},
        {"iban", PII_IBAN, "en"},
        {"card_number", PII_CREDIT_CARD, "en"},
        {"ccNumber", PII_CREDIT_CARD, "en"},
        {"mac_address", PII_MAC_ADDRESS, "en"},
        {"nhs_number", PII_UK_NHS, "en"},
        {"pesel", PII_PL_PESEL, "en"},
        {"first_name", PII_PERSON_NAME, "en"},
        {"LastName", PII_PERSON_NAME, "en"},
        {"surname", PII_PERSON_NAME, "en"},
        {"postal_code", PII_POSTCODE, "en"},
        {"zip", PII_POSTCODE, "en"},
        /* FR */
        {"courriel", PII_EMAIL, "fr"},
        {"adresse_mail", PII_EMAIL, "fr"},
        {"tel_portable", PII_PHONE, "fr"},
        {"prénom", PII_PERSON_NAME, "fr"},
        {"date_de_naissance", PII_DATE_OF_BIRTH, "fr"},
        {"numero_securite_sociale", PII_FR_NIR, "fr"},
        {"NumeroSécuritéSociale", PII_FR_NIR, "fr"},
        {"nir", PII_FR_NIR, "fr"},
        {"code_postal", PII_POSTCODE, "fr"},
        {"adresse", PII_ADDRESS, "fr"},
        {"rib", PII_IBAN, "fr"},
        /* DE */
        {"Telefonnummer", PII_PHONE, "de"},
        {"Handynummer", PII_PHONE, "de"},
        {"handy", PII_PHONE, "de"},
        {"Vorname", PII_PERSON_NAME, "de"},
        {"Nachname", PII_PERSON_NAME, "de"},
        {"Geburtsdatum", PII_DATE_OF_BIRTH, "de"},
        {"Anschrift", PII_ADDRESS, "de"},
        {"Straße", PII_ADDRESS, "de"},
        {"PLZ", PII_POSTCODE, "de"},
        {"Postleitzahl", PII_POSTCODE, "de"},
        {"Steuer_ID", PII_DE_TAX_ID, "de"},
        {"SteuerID", PII_DE_TAX_ID, "de"},
        {"IdNr", PII_DE_TAX_ID, "de"},
        {"Kontonummer", PII_IBAN, "de"},
        /* ES */
        {"teléfono", PII_PHONE, "es"},
        {"móvil", PII_PHONE, "es"},
        {"apellido", PII_PERSON_NAME, "es"},
        {"dirección", PII_ADDRESS, "es"},
        {"codigo_postal", PII_POSTCODE, "es"},
        {"fecha_nacimiento", PII_DATE_OF_BIRTH, "es"},
        {"dni", PII_ES_NIF, "es"},
        {"nie", PII_ES_NIF, "es"},
        {"correo_electronico", PII_EMAIL, "es"},
        /* IT */
        {"cellulare", PII_PHONE, "it"},
        {"cognome", PII_PERSON_NAME, "it"},
        {"indirizzo", PII_ADDRESS, "it"},
        {"data_nascita", PII_DATE_OF_BIRTH, "it"},
        {"codice_fiscale", PII_IT_FISCAL_CODE, "it"},
        {"CodiceFiscale", PII_IT_FISCAL_CODE, "it"},
        {"posta_elettronica", PII_EMAIL, "it"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pii_name_signal s[4];
        int n = pii_name_signals(cases[i].name, s, 4);
        if (n < 1 || s[0].entity != cases[i].e ||
            strcmp(s[0].lang, cases[i].lang) != 0 || s[0].strength < 0.5)
            fail_msg("\"%s\": expected %s (%s), got %s %.2f (%s)",
                     cases[i].name, pii_entity_name(cases[i].e), cases[i].lang,
                     n ? pii_entity_name(s[0].entity) : "nothing",
                     n ? s[0].strength : 0.0, n ? s[0].lang : "-");
        assert_non_null(s[0].keyword);
    }
}

static void test_abbreviations_are_weaker(void **state)
{
    (void)state;
    assert_true(strength_of("mail", PII_EMAIL) <
                strength_of("email", PII_EMAIL));
    assert_true(strength_of("tel", PII_PHONE) <
                strength_of("telephone", PII_PHONE));
    assert_true(strength_of("cf", PII_IT_FISCAL_CODE) <
                strength_of("codice_fiscale", PII_IT_FISCAL_CODE));
    assert_true(strength_of("card", PII_CREDIT_CARD) <
                strength_of("card_number", PII_CREDIT_CARD));
    /* compounds written as one word count, less than a clean keyword */
    assert_true(strength_of("kundenemail", PII_EMAIL) > 0);
    assert_true(strength_of("kundenemail", PII_EMAIL) <
                strength_of("kunden_email", PII_EMAIL));
    assert_true(strength_of("rechnungsadresse", PII_ADDRESS) > 0);
    assert_true(strength_of("homephone", PII_PHONE) > 0);
}

static void test_person_name_qualifiers(void **state)
{
    (void)state;
    double alone = strength_of("name", PII_PERSON_NAME);
    assert_true(alone > 0 && alone < 0.5);
    assert_true(strength_of("customer_name", PII_PERSON_NAME) >= 0.8);
    assert_true(strength_of("ContactName", PII_PERSON_NAME) >= 0.8);
    assert_true(strength_of("first_name", PII_PERSON_NAME) >= 0.99);
    assert_true(strength_of("ship_name", PII_PERSON_NAME) < alone);
    expect_none("product_name");
    expect_none("CompanyName");
    expect_none("table_name");
    expect_none("file_name");
    expect_signal("street_name", PII_ADDRESS, 0.8);
    /* German compounds: the holder or the full name of a person. */
    assert_true(strength_of("karteninhaberName", PII_PERSON_NAME) >= 0.5);
    assert_true(strength_of("vollstaendigerName", PII_PERSON_NAME) >= 0.5);
}

static void test_negative_markers(void **state)
{
    (void)state;
    static const char *const names[] = {"email_verified",
                                        "emailVerified",
                                        "is_email",
                                        "has_phone",
                                        "is_mobile",
                                        "phone_count",
                                        "email_count",
                                        "nb_telephone",
                                        "zip_file",
                                        "email_id",
                                        "address_id",
                                        "email_hash",
                                        "email_type",
                                        "phone_status",
                                        "email_sent_at",
                                        "card_type",
                                        "card_expiry",
                                        "email_opt_in",
                                        "phone_ext",
                                        "address_country",
                                        "name_id",
                                        "mac_hash",
                                        "ip_count",
                                        "email_domain",
                                        "createdAt",
                                        "id",
                                        "amount",
                                        "order_number",
                                        "year",
                                        "code",
                                        "",
                                        NULL};
    for (const char *const *n = names; *n; n++)
        expect_none(*n);
    /* "_id" of an identifier type is the identifier itself */
    expect_signal("nhs_id", PII_UK_NHS, 0.8);
    expect_signal("tax_id", PII_DE_TAX_ID, 0.6);
    /* a birth date may well be "_at" or "_on" */
    expect_signal("born_on", PII_DATE_OF_BIRTH, 0.5);
    expect_signal("birth_date", PII_DATE_OF_BIRTH, 0.99);
}

static void test_national_id_and_order(void **state)
{
    (void)state;
    pii_name_signal s[PII_ENTITY_COUNT];
    int n = pii_name_signals("national_id", s, PII_ENTITY_COUNT);
    assert_int_equal(n, 6);
    bool nir = false, ssn = false;
    for (int i = 0; i < n; i++) {
        nir |= s[i].entity == PII_FR_NIR;
        ssn |= s[i].entity == PII_US_SSN;
        assert_string_equal(s[i].keyword, "national_id");
    }
    assert_true(nir && ssn);
    /* at most max */
    assert_int_equal(pii_name_signals("national_id", s, 2), 2);
    /* strongest first, one per entity */
    n = pii_name_signals("mail_or_phone", s, PII_ENTITY_COUNT);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].entity, PII_PHONE);
    assert_int_equal(s[1].entity, PII_EMAIL);
    assert_true(s[0].strength >= s[1].strength);
    n = pii_name_signals("tel_portable", s, PII_ENTITY_COUNT);
    assert_int_equal(n, 1);
    assert_int_equal(pii_name_signals(NULL, s, 4), 0);
    assert_int_equal(pii_name_signals("email", s, 0), 0);
}

static void test_entity_table(void **state)
{
    (void)state;
    for (int e = 1; e < PII_ENTITY_COUNT; e++) {
        const char *name = pii_entity_name((pii_entity)e);
        assert_int_equal(pii_entity_from_name(name), e);
        assert_non_null(pii_entity_om_tag((pii_entity)e));
        assert_non_null(pii_recognizer_name((pii_entity)e));
    }
    assert_string_equal(pii_entity_name(PII_NONE), "NONE");
    assert_int_equal(pii_entity_from_name("iban"), PII_IBAN);
    assert_int_equal(pii_entity_from_name("nonsense"), PII_NONE);
    assert_int_equal(pii_entity_from_name(NULL), PII_NONE);
    /* OpenMetadata's own split */
    assert_string_equal(pii_entity_om_tag(PII_EMAIL), "PII.Sensitive");
    assert_string_equal(pii_entity_om_tag(PII_CREDIT_CARD), "PII.Sensitive");
    assert_string_equal(pii_entity_om_tag(PII_PERSON_NAME), "PII.Sensitive");
    assert_string_equal(pii_entity_om_tag(PII_MAC_ADDRESS), "PII.Sensitive");
    assert_string_equal(pii_entity_om_tag(PII_PHONE), "PII.NonSensitive");
    assert_string_equal(pii_entity_om_tag(PII_DATE_OF_BIRTH),
                        "PII.NonSensitive");
    assert_string_equal(pii_entity_om_tag(PII_ADDRESS), "PII.NonSensitive");
    assert_string_equal(pii_entity_om_tag(PII_POSTCODE), "PII.NonSensitive");
    assert_true(pii_entity_has_checksum(PII_IBAN));
    assert_true(pii_entity_has_checksum(PII_DE_TAX_ID));
    assert_false(pii_entity_has_checksum(PII_EMAIL));
    assert_false(pii_entity_has_checksum(PII_US_SSN));
    assert_true(pii_entity_is_weak(PII_POSTCODE));
    assert_true(pii_entity_is_weak(PII_DATE_OF_BIRTH));
    assert_false(pii_entity_is_weak(PII_PHONE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenization),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_abbreviations_are_weaker),
        cmocka_unit_test(test_person_name_qualifiers),
        cmocka_unit_test(test_negative_markers),
        cmocka_unit_test(test_national_id_and_order),
        cmocka_unit_test(test_entity_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
