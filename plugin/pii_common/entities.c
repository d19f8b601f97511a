/* Entity names, their OpenMetadata tags and their properties. */
#include <strings.h>

#include "pii.h"

struct entity_info {
    const char *name;
    const char *recognizer;
    bool sensitive; /* PII.Sensitive, else PII.NonSensitive */
    bool checksum;
    bool weak;
};

/* Sensitivity follows OpenMetadata's piiTagsWithRecognizers mapping:
 * identifiers, financial numbers, e-mail, IP, MAC and names are
 * Sensitive; phone, birth date, address and postcode are NonSensitive. */
static const struct entity_info INFO[PII_ENTITY_COUNT] = {
    [PII_NONE] = {"NONE", "none", false, false, false},
    [PII_EMAIL] = {"EMAIL", "email+rfc5321", true, false, false},
    [PII_PHONE] = {"PHONE", "phone+e164/national", false, false, false},
    [PII_IBAN] = {"IBAN", "iban+mod97", true, true, false},
    [PII_CREDIT_CARD] = {"CREDIT_CARD", "card+luhn+issuer", true, true, false},
    [PII_US_SSN] = {"US_SSN", "ssn+area/group/serial", true, false, false},
    [PII_FR_NIR] = {"FR_NIR", "nir+key97", true, true, false},
    [PII_ES_NIF] = {"ES_NIF", "nif/nie+letter23", true, true, false},
    [PII_IT_FISCAL_CODE] = {"IT_FISCAL_CODE", "codice_fiscale+check", true,
                            true, false},
    [PII_UK_NHS] = {"UK_NHS", "nhs+mod11", true, true, false},
    [PII_PL_PESEL] = {"PL_PESEL", "pesel+date+check", true, true, false},
    [PII_DE_TAX_ID] = {"DE_TAX_ID", "steuer_id+iso7064", true, true, false},
    [PII_IP_ADDRESS] = {"IP_ADDRESS", "ipv4/ipv6", true, false, false},
    [PII_MAC_ADDRESS] = {"MAC_ADDRESS", "mac", true, false, false},
    [PII_DATE_OF_BIRTH] = {"DATE_OF_BIRTH", "date+birth_range", false, false,
                           true},
    [PII_PERSON_NAME] = {"PERSON_NAME", "name_shape", true, false, true},
    [PII_ADDRESS] = {"ADDRESS", "street_shape", false, false, true},
    [PII_POSTCODE] = {"POSTCODE", "postcode_shape", false, false, true},
};

static bool in_range(pii_entity e)
{
    return (int)e >= 0 && e < PII_ENTITY_COUNT;
}

const char *pii_entity_name(pii_entity e)
{
    return in_range(e) ? INFO[e].name : "NONE";
}

pii_entity pii_entity_from_name(const char *name)
{
    if (!name)
        return PII_NONE;
    for (int e = 1; e < PII_ENTITY_COUNT; e++)
        if (strcasecmp(name, INFO[e].name) == 0)
            return (pii_entity)e;
    return PII_NONE;
}

const char *pii_entity_om_tag(pii_entity e)
{
    if (!in_range(e) || e == PII_NONE)
        return NULL;
    return INFO[e].sensitive ? "PII.Sensitive" : "PII.NonSensitive";
}

bool pii_entity_has_checksum(pii_entity e)
{
    return in_range(e) && INFO[e].checksum;
}

bool pii_entity_is_weak(pii_entity e)
{
    return in_range(e) && INFO[e].weak;
}

const char *pii_recognizer_name(pii_entity e)
{
    return in_range(e) ? INFO[e].recognizer : "none";
}
