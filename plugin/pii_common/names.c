/* Column-name signals: the name split into folded ASCII tokens, runs of
 * tokens looked up in a keyword table in EN, FR, DE, ES and IT, then
 * negative markers (flags, counts, hashes, foreign keys) applied. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pii_internal.h"

#define MAX_TOKENS 16
#define TOKEN_LEN 32
#define MAX_RUN 5 /* longest keyword, in tokens */

enum {
    KW_NAMEISH = 1,  /* "name", "nom": strength depends on the qualifier */
    KW_NATIONAL = 2, /* "national_id": any national identifier */
};

struct keyword {
    const char *kw; /* folded; '_' separates tokens and is ignored */
    pii_entity e;
    double strength;
    const char *lang;
    int flags;
};

static const struct keyword KEYWORDS[] = {
    /* e-mail */
    {"email", PII_EMAIL, 1.0, "en", 0},
    {"email_address", PII_EMAIL, 1.0, "en", 0},
    {"mail", PII_EMAIL, 0.7, "en", 0},
    {"mail_address", PII_EMAIL, 0.9, "en", 0},
    {"courriel", PII_EMAIL, 1.0, "fr", 0},
    {"adresse_mail", PII_EMAIL, 1.0, "fr", 0},
    {"adresse_email", PII_EMAIL, 1.0, "fr", 0},
    {"emailadresse", PII_EMAIL, 1.0, "de", 0},
    {"mailadresse", PII_EMAIL, 0.9, "de", 0},
    {"correo", PII_EMAIL, 0.9, "es", 0},
    {"correo_electronico", PII_EMAIL, 1.0, "es", 0},
    {"posta_elettronica", PII_EMAIL, 1.0, "it", 0},
    {"indirizzo_email", PII_EMAIL, 1.0, "it", 0},
    {"indirizzo_mail", PII_EMAIL, 1.0, "it", 0},
    {"pec", PII_EMAIL, 0.6, "it", 0},
    /* phone */
    {"phone", PII_PHONE, 1.0, "en", 0},
    {"phone_number", PII_PHONE, 1.0, "en", 0},
    {"telephone", PII_PHONE, 1.0, "en", 0},
    {"mobile", PII_PHONE, 0.8, "en", 0},
    {"mobile_phone", PII_PHONE, 1.0, "en", 0},
    {"mobile_number", PII_PHONE, 1.0, "en", 0},
    {"cell", PII_PHONE, 0.6, "en", 0},
    {"cellphone", PII_PHONE, 1.0, "en", 0},
    {"cell_number", PII_PHONE, 0.9, "en", 0},
    {"fax", PII_PHONE, 0.8, "en", 0},
    {"msisdn", PII_PHONE, 0.9, "en", 0},
    {"tel", PII_PHONE, 0.8, "fr", 0},
    {"portable", PII_PHONE, 0.7, "fr", 0},
    {"numero_telephone", PII_PHONE, 1.0, "fr", 0},
    {"num_tel", PII_PHONE, 0.9, "fr", 0},
    {"gsm", PII_PHONE, 0.7, "fr", 0},
    {"telefon", PII_PHONE, 1.0, "de", 0},
    {"telefonnummer", PII_PHONE, 1.0, "de", 0},
    {"handy", PII_PHONE, 0.8, "de", 0},
    {"handynummer", PII_PHONE, 1.0, "de", 0},
    {"mobilnummer", PII_PHONE, 1.0, "de", 0},
    {"rufnummer", PII_PHONE, 1.0, "de", 0},
    {"festnetz", PII_PHONE, 0.8, "de", 0},
    {"telefono", PII_PHONE, 1.0, "es", 0},
    {"movil", PII_PHONE, 0.8, "es", 0},
    {"celular", PII_PHONE, 0.9, "es", 0},
    {"numero_telefono", PII_PHONE, 1.0, "es", 0},
    {"cellulare", PII_PHONE, 1.0, "it", 0},
    {"telefonino", PII_PHONE, 0.9, "it", 0},
    {"numero_di_telefono", PII_PHONE, 1.0, "it", 0},
    /* bank account */
    {"iban", PII_IBAN, 1.0, "en", 0},
    {"bank_account", PII_IBAN, 0.8, "en", 0},
    {"bank_account_number", PII_IBAN, 0.9, "en", 0},
    {"account_number", PII_IBAN, 0.6, "en", 0},
    {"rib", PII_IBAN, 0.8, "fr", 0},
    {"compte_bancaire", PII_IBAN, 0.8, "fr", 0},
    {"numero_compte", PII_IBAN, 0.6, "fr", 0},
    {"kontonummer", PII_IBAN, 0.8, "de", 0},
    {"bankverbindung", PII_IBAN, 0.7, "de", 0},
    {"cuenta", PII_IBAN, 0.6, "es", 0},
    {"numero_cuenta", PII_IBAN, 0.8, "es", 0},
    {"cuenta_bancaria", PII_IBAN, 0.8, "es", 0},
    {"conto", PII_IBAN, 0.5, "it", 0},
    {"conto_corrente", PII_IBAN, 0.7, "it", 0},
    /* payment card */
    {"card", PII_CREDIT_CARD, 0.5, "en", 0},
    {"card_number", PII_CREDIT_CARD, 1.0, "en", 0},
    {"credit_card", PII_CREDIT_CARD, 1.0, "en", 0},
    {"credit_card_number", PII_CREDIT_CARD, 1.0, "en", 0},
    {"debit_card", PII_CREDIT_CARD, 1.0, "en", 0},
    {"cc_number", PII_CREDIT_CARD, 1.0, "en", 0},
    {"cc_num", PII_CREDIT_CARD, 0.9, "en", 0},
    {"ccnum", PII_CREDIT_CARD, 0.9, "en", 0},
    {"pan", PII_CREDIT_CARD, 0.5, "en", 0},
    {"carte", PII_CREDIT_CARD, 0.5, "fr", 0},
    {"numero_carte", PII_CREDIT_CARD, 1.0, "fr", 0},
    {"carte_bancaire", PII_CREDIT_CARD, 0.9, "fr", 0},
    {"carte_credit", PII_CREDIT_CARD, 0.9, "fr", 0},
    {"karte", PII_CREDIT_CARD, 0.5, "de", 0},
    {"kartennummer", PII_CREDIT_CARD, 1.0, "de", 0},
    {"kreditkarte", PII_CREDIT_CARD, 1.0, "de", 0},
    {"kreditkartennummer", PII_CREDIT_CARD, 1.0, "de", 0},
    {"tarjeta", PII_CREDIT_CARD, 0.6, "es", 0},
    {"numero_tarjeta", PII_CREDIT_CARD, 1.0, "es", 0},
    {"tarjeta_credito", PII_CREDIT_CARD, 1.0, "es", 0},
    {"carta", PII_CREDIT_CARD, 0.5, "it", 0},
    {"numero_carta", PII_CREDIT_CARD, 1.0, "it", 0},
    {"carta_di_credito", PII_CREDIT_CARD, 1.0, "it", 0},
    /* national identifiers */
    {"ssn", PII_US_SSN, 1.0, "en", 0},
    {"social_security", PII_US_SSN, 1.0, "en", 0},
    {"social_security_number", PII_US_SSN, 1.0, "en", 0},
    {"nir", PII_FR_NIR, 1.0, "fr", 0},
    {"numero_securite_sociale", PII_FR_NIR, 1.0, "fr", 0},
    {"securite_sociale", PII_FR_NIR, 1.0, "fr", 0},
    {"num_secu", PII_FR_NIR, 0.9, "fr", 0},
    {"numero_secu", PII_FR_NIR, 0.9, "fr", 0},
    {"secu", PII_FR_NIR, 0.7, "fr", 0},
    {"insee", PII_FR_NIR, 0.7, "fr", 0},
    {"nif", PII_ES_NIF, 1.0, "es", 0},
    {"nie", PII_ES_NIF, 1.0, "es", 0},
    {"dni", PII_ES_NIF, 1.0, "es", 0},
    {"documento_identidad", PII_ES_NIF, 0.7, "es", 0},
    {"codice_fiscale", PII_IT_FISCAL_CODE, 1.0, "it", 0},
    {"cod_fisc", PII_IT_FISCAL_CODE, 0.9, "it", 0},
    {"codfisc", PII_IT_FISCAL_CODE, 0.9, "it", 0},
    {"cf", PII_IT_FISCAL_CODE, 0.6, "it", 0},
    {"fiscal_code", PII_IT_FISCAL_CODE, 1.0, "en", 0},
    {"nhs", PII_UK_NHS, 0.9, "en", 0},
    {"nhs_number", PII_UK_NHS, 1.0, "en", 0},
    {"pesel", PII_PL_PESEL, 1.0, "en", 0},
    {"steuer_id", PII_DE_TAX_ID, 1.0, "de", 0},
    {"steuer_identifikationsnummer", PII_DE_TAX_ID, 1.0, "de", 0},
    {"steueridentifikationsnummer", PII_DE_TAX_ID, 1.0, "de", 0},
    {"identifikationsnummer", PII_DE_TAX_ID, 0.7, "de", 0},
    {"steuernummer", PII_DE_TAX_ID, 0.8, "de", 0},
    {"idnr", PII_DE_TAX_ID, 0.8, "de", 0},
    {"tin", PII_DE_TAX_ID, 0.7, "en", 0},
    {"tax_id", PII_DE_TAX_ID, 0.7, "en", 0},
    {"national_id", PII_NONE, 0.6, "en", KW_NATIONAL},
    {"national_id_number", PII_NONE, 0.6, "en", KW_NATIONAL},
    {"national_identifier", PII_NONE, 0.6, "en", KW_NATIONAL},
    {"identity_number", PII_NONE, 0.6, "en", KW_NATIONAL},
    {"ausweisnummer", PII_NONE, 0.6, "de", KW_NATIONAL},
    /* network */
    {"ip", PII_IP_ADDRESS, 0.7, "en", 0},
    {"ip_address", PII_IP_ADDRESS, 1.0, "en", 0},
    {"ip_addr", PII_IP_ADDRESS, 1.0, "en", 0},
    {"ipaddr", PII_IP_ADDRESS, 1.0, "en", 0},
    {"ipv4", PII_IP_ADDRESS, 1.0, "en", 0},
    {"ipv6", PII_IP_ADDRESS, 1.0, "en", 0},
    {"remote_addr", PII_IP_ADDRESS, 0.7, "en", 0},
    {"adresse_ip", PII_IP_ADDRESS, 1.0, "fr", 0},
    {"ip_adresse", PII_IP_ADDRESS, 1.0, "de", 0},
    {"direccion_ip", PII_IP_ADDRESS, 1.0, "es", 0},
    {"indirizzo_ip", PII_IP_ADDRESS, 1.0, "it", 0},
    {"mac", PII_MAC_ADDRESS, 0.5, "en", 0},
    {"mac_address", PII_MAC_ADDRESS, 1.0, "en", 0},
    {"mac_addr", PII_MAC_ADDRESS, 1.0, "en", 0},
    {"macaddr", PII_MAC_ADDRESS, 1.0, "en", 0},
    {"hwaddr", PII_MAC_ADDRESS, 0.8, "en", 0},
    {"hardware_address", PII_MAC_ADDRESS, 0.9, "en", 0},
    {"adresse_mac", PII_MAC_ADDRESS, 1.0, "fr", 0},
    {"mac_adresse", PII_MAC_ADDRESS, 1.0, "de", 0},
    {"direccion_mac", PII_MAC_ADDRESS, 1.0, "es", 0},
    {"indirizzo_mac", PII_MAC_ADDRESS, 1.0, "it", 0},
    /* birth date */
    {"dob", PII_DATE_OF_BIRTH, 0.9, "en", 0},
    {"date_of_birth", PII_DATE_OF_BIRTH, 1.0, "en", 0},
    {"birth_date", PII_DATE_OF_BIRTH, 1.0, "en", 0},
    {"birthday", PII_DATE_OF_BIRTH, 1.0, "en", 0},
    {"birth", PII_DATE_OF_BIRTH, 0.7, "en", 0},
    {"born", PII_DATE_OF_BIRTH, 0.6, "en", 0},
    {"date_naissance", PII_DATE_OF_BIRTH, 1.0, "fr", 0},
    {"date_de_naissance", PII_DATE_OF_BIRTH, 1.0, "fr", 0},
    {"naissance", PII_DATE_OF_BIRTH, 0.8, "fr", 0},
    {"ddn", PII_DATE_OF_BIRTH, 0.7, "fr", 0},
    {"geburtsdatum", PII_DATE_OF_BIRTH, 1.0, "de", 0},
    {"geburtstag", PII_DATE_OF_BIRTH, 1.0, "de", 0},
    {"geb_datum", PII_DATE_OF_BIRTH, 0.9, "de", 0},
    {"fecha_nacimiento", PII_DATE_OF_BIRTH, 1.0, "es", 0},
    {"fecha_de_nacimiento", PII_DATE_OF_BIRTH, 1.0, "es", 0},
    {"nacimiento", PII_DATE_OF_BIRTH, 0.8, "es", 0},
    {"data_nascita", PII_DATE_OF_BIRTH, 1.0, "it", 0},
    {"data_di_nascita", PII_DATE_OF_BIRTH, 1.0, "it", 0},
    {"nascita", PII_DATE_OF_BIRTH, 0.8, "it", 0},
    /* person name */
    {"first_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"last_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"given_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"family_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"middle_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"maiden_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"full_name", PII_PERSON_NAME, 1.0, "en", 0},
    {"surname", PII_PERSON_NAME, 1.0, "en", 0},
    {"forename", PII_PERSON_NAME, 1.0, "en", 0},
    {"fname", PII_PERSON_NAME, 0.8, "en", 0},
    {"card_holder", PII_PERSON_NAME, 0.8, "en", 0},
    {"cardholder", PII_PERSON_NAME, 0.8, "en", 0},
    {"account_holder", PII_PERSON_NAME, 0.8, "en", 0},
    {"titulaire", PII_PERSON_NAME, 0.7, "fr", 0},
    {"karteninhaber", PII_PERSON_NAME, 0.8, "de", 0},
    {"kontoinhaber", PII_PERSON_NAME, 0.8, "de", 0},
    {"titular", PII_PERSON_NAME, 0.7, "es", 0},
    {"intestatario", PII_PERSON_NAME, 0.7, "it", 0},
    {"lname", PII_PERSON_NAME, 0.8, "en", 0},
    {"name", PII_PERSON_NAME, 0.3, "en", KW_NAMEISH},
    {"nom", PII_PERSON_NAME, 0.5, "fr", KW_NAMEISH},
    {"prenom", PII_PERSON_NAME, 1.0, "fr", 0},
    {"nom_famille", PII_PERSON_NAME, 1.0, "fr", 0},
    {"nom_de_famille", PII_PERSON_NAME, 1.0, "fr", 0},
    {"nom_complet", PII_PERSON_NAME, 1.0, "fr", 0},
    {"vorname", PII_PERSON_NAME, 1.0, "de", 0},
    {"nachname", PII_PERSON_NAME, 1.0, "de", 0},
    {"familienname", PII_PERSON_NAME, 1.0, "de", 0},
    {"zuname", PII_PERSON_NAME, 1.0, "de", 0},
    {"apellido", PII_PERSON_NAME, 1.0, "es", 0},
    {"apellidos", PII_PERSON_NAME, 1.0, "es", 0},
    {"nombre", PII_PERSON_NAME, 0.4, "es", KW_NAMEISH},
    {"nombre_completo", PII_PERSON_NAME, 1.0, "es", 0},
    {"cognome", PII_PERSON_NAME, 1.0, "it", 0},
    {"nome", PII_PERSON_NAME, 0.4, "it", KW_NAMEISH},
    {"nome_completo", PII_PERSON_NAME, 1.0, "it", 0},
    /* postal address */
    {"address", PII_ADDRESS, 1.0, "en", 0},
    {"addr", PII_ADDRESS, 0.7, "en", 0},
    {"street", PII_ADDRESS, 0.9, "en", 0},
    {"street_address", PII_ADDRESS, 1.0, "en", 0},
    {"street_name", PII_ADDRESS, 0.9, "en", 0},
    {"address_line", PII_ADDRESS, 1.0, "en", 0},
    {"adresse", PII_ADDRESS, 1.0, "fr", 0},
    {"rue", PII_ADDRESS, 0.8, "fr", 0},
    {"voie", PII_ADDRESS, 0.6, "fr", 0},
    {"anschrift", PII_ADDRESS, 1.0, "de", 0},
    {"strasse", PII_ADDRESS, 0.9, "de", 0},
    {"wohnadresse", PII_ADDRESS, 1.0, "de", 0},
    {"direccion", PII_ADDRESS, 1.0, "es", 0},
    {"calle", PII_ADDRESS, 0.8, "es", 0},
    {"domicilio", PII_ADDRESS, 0.8, "es", 0},
    {"indirizzo", PII_ADDRESS, 1.0, "it", 0},
    {"via", PII_ADDRESS, 0.4, "it", 0},
    /* postcode */
    {"postcode", PII_POSTCODE, 1.0, "en", 0},
    {"postal_code", PII_POSTCODE, 1.0, "en", 0},
    {"post_code", PII_POSTCODE, 1.0, "en", 0},
    {"postal", PII_POSTCODE, 0.7, "en", 0},
    {"zip", PII_POSTCODE, 0.8, "en", 0},
    {"zipcode", PII_POSTCODE, 1.0, "en", 0},
    {"zip_code", PII_POSTCODE, 1.0, "en", 0},
    {"cp", PII_POSTCODE, 0.5, "fr", 0},
    {"code_postal", PII_POSTCODE, 1.0, "fr", 0},
    {"plz", PII_POSTCODE, 1.0, "de", 0},
    {"postleitzahl", PII_POSTCODE, 1.0, "de", 0},
    {"codigo_postal", PII_POSTCODE, 1.0, "es", 0},
    {"cap", PII_POSTCODE, 0.4, "it", 0},
    {"codice_postale", PII_POSTCODE, 1.0, "it", 0},
};
#define NKEYWORDS (sizeof KEYWORDS / sizeof KEYWORDS[0])

/* Tokens that make the column something about the entity rather than the
 * entity itself: a flag, a count, a hash, a type, a timestamp... */
static const char *const NEGATIVE[] = {
    "verified",   "verification", "valid",       "validated",  "validation",
    "confirmed",  "confirmation", "flag",        "flg",        "count",
    "cnt",        "nb",           "total",       "type",       "kind",
    "status",     "hash",         "hashed",      "md5",        "sha",
    "sha1",       "sha256",       "digest",      "sent",       "opt",
    "optin",      "optout",       "enabled",     "disabled",   "consent",
    "format",     "length",       "len",         "domain",     "provider",
    "template",   "file",         "path",        "url",        "uri",
    "size",       "archive",      "bounce",      "bounced",    "bounces",
    "error",      "errors",       "visible",     "visibility", "policy",
    "pref",       "preference",   "preferences", "prefix",     "ext",
    "extension",  "country",      "city",        "lang",       "language",
    "locale",     "score",        "attempts",    "limit",      "regex",
    "pattern",    "mode",         "method",      "source",     "expiry",
    "expiration", "state",        "region",      "province",   "exp",
    "brand",      "issuer",       "bin",         "last4",      "mask",
    "masked",     "token"};
/* First tokens of a boolean. */
static const char *const BOOL_PREFIX[] = {"is",     "has",   "can",
                                          "should", "allow", "use"};
/* Tokens of a reference to another table's row. */
static const char *const REFERENCE[] = {"id",  "fk", "ref", "uuid",
                                        "key", "pk", "oid", "guid"};
/* Tokens of a point in time (the column records when, not what). */
static const char *const TEMPORAL[] = {"at", "on",        "date",    "time",
                                       "ts", "timestamp", "datetime"};
/* Qualifiers that make "name" a person's name, or something else's. */
static const char *const PERSON_QUALIFIER[] = {
    "customer",     "client",         "contact",       "person",
    "employee",     "patient",        "member",        "owner",
    "holder",       "cardholder",     "beneficiary",   "recipient",
    "sender",       "guest",          "passenger",     "student",
    "teacher",      "author",         "manager",       "buyer",
    "seller",       "staff",          "emp",           "father",
    "mother",       "spouse",         "parent",        "child",
    "user",         "kunde",          "kunden",        "cliente",
    "contacto",     "contatto",       "titulaire",     "beneficiaire",
    "personne",     "persona",        "mitarbeiter",   "dipendente",
    "empleado",     "salarie",        "inhaber",       "karteninhaber",
    "kontoinhaber", "vollstaendiger", "vollstandiger", "voller"};
static const char *const OTHER_QUALIFIER[] = {
    "product",      "company",      "table",      "file",     "column",
    "host",         "item",         "brand",      "category", "domain",
    "schema",       "database",     "db",         "service",  "app",
    "application",  "project",      "city",       "country",  "store",
    "shop",         "team",         "group",      "role",     "tag",
    "event",        "bank",         "business",   "firm",     "org",
    "organization", "organisation", "department", "dept",     "server",
    "device",       "machine",      "region",     "state",    "street",
    "track",        "album",        "artist",     "genre",    "playlist",
    "media",        "film",         "movie",      "language", "display",
    "produit",      "societe",      "entreprise", "ville",    "pays",
    "produkt",      "firma",        "stadt",      "producto", "empresa",
    "ciudad",       "prodotto",     "azienda",    "citta",    "key",
    "field",        "attribute",    "class",      "module",   "function",
    "job",          "task",         "queue",      "index",    "bucket"};

static bool in_list(const char *t, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t, list[i]) == 0)
            return true;
    return false;
}
#define IN(t, list) in_list(t, list, sizeof list / sizeof list[0])

/* ---- folding and tokens ------------------------------------------------ */

/* ASCII spelling of a two-byte UTF-8 Latin letter (U+00C0..U+017F
 * subset), lowercase; NULL when unknown. */
static const char *fold_latin(unsigned cp)
{
    static const char *const LATIN1[64] = {
        "a",  "a",  "a", "a",  "ae", "a",  "ae", "c",  "e",  "e",  "e",
        "e",  "i",  "i", "i",  "i",  "d",  "n",  "o",  "o",  "o",  "o",
        "oe", NULL, "o", "u",  "u",  "u",  "ue", "y",  "th", "ss", "a",
        "a",  "a",  "a", "ae", "a",  "ae", "c",  "e",  "e",  "e",  "e",
        "i",  "i",  "i", "i",  "d",  "n",  "o",  "o",  "o",  "o",  "oe",
        NULL, "o",  "u", "u",  "u",  "ue", "y",  "th", "y"};
    if (cp >= 0xC0 && cp <= 0xFF)
        return LATIN1[cp - 0xC0];
    if (cp == 0x152 || cp == 0x153)
        return "oe";
    return NULL;
}

struct tokens {
    char t[MAX_TOKENS][TOKEN_LEN];
    int n;
};

/* Appends one character to the current token; starts a token when
 * `split` says a boundary comes before it. */
static void push_char(struct tokens *tk, char c, bool split, int *len)
{
    if (split && *len > 0) {
        tk->n++;
        *len = 0;
    }
    if (tk->n >= MAX_TOKENS || *len >= TOKEN_LEN - 1)
        return;
    tk->t[tk->n][(*len)++] = (char)tolower((unsigned char)c);
    tk->t[tk->n][*len] = '\0';
}

enum ckind { K_SEP, K_LOWER, K_UPPER, K_DIGIT };

static enum ckind kind_of(char c)
{
    if (islower((unsigned char)c))
        return K_LOWER;
    if (isupper((unsigned char)c))
        return K_UPPER;
    if (isdigit((unsigned char)c))
        return K_DIGIT;
    return K_SEP;
}

/* Folded ASCII copy of the name: accents dropped or spelled out (é→e,
 * ß→ss, ä→ae), case kept for camelCase; other non-ASCII becomes '_'.
 * A folded uppercase letter stays uppercase for the first char. */
static void fold_name(const char *s, char *out, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 3 < max;
         p++) {
        if (*p < 0x80) {
            out[n++] = (char)*p;
            continue;
        }
        const char *f = NULL;
        bool upper = false;
        if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            unsigned cp = ((unsigned)(*p & 0x1F) << 6) | (p[1] & 0x3F);
            f = fold_latin(cp);
            upper = (cp >= 0xC0 && cp < 0xDF) || cp == 0x152;
            p++;
        }
        if (!f) {
            out[n++] = '_';
            while ((p[1] & 0xC0) == 0x80)
                p++;
            continue;
        }
        for (size_t i = 0; f[i] && n + 1 < max; i++)
            out[n++] = (char)(upper && i == 0 ? toupper(f[i]) : f[i]);
    }
    out[n] = '\0';
}

/* Tokens: split at non-alphanumerics, lower→Upper ("firstName"),
 * the last capital of a capital run before a lowercase ("IPAddress"),
 * and between letters and digits ("address2"). */
static void tokenize(const char *name, struct tokens *tk)
{
    char f[256];
    fold_name(name, f, sizeof f);
    tk->n = 0;
    int len = 0;
    enum ckind prev = K_SEP;
    for (size_t i = 0; f[i] && tk->n < MAX_TOKENS; i++) {
        enum ckind k = kind_of(f[i]);
        if (k == K_SEP) {
            if (len > 0) {
                tk->n++;
                len = 0;
            }
        } else {
            bool split = (prev == K_LOWER && k == K_UPPER) ||
                         (prev == K_UPPER && k == K_UPPER &&
                          kind_of(f[i + 1]) == K_LOWER) ||
                         (prev == K_DIGIT) != (k == K_DIGIT);
            push_char(tk, f[i], split && prev != K_SEP, &len);
        }
        prev = k;
    }
    if (len > 0 && tk->n < MAX_TOKENS)
        tk->n++;
}

/* ---- keyword lookup ---------------------------------------------------- */

/* kw without its '_' equals s. */
static bool kw_equals(const char *kw, const char *s)
{
    for (; *kw; kw++) {
        if (*kw == '_')
            continue;
        if (*kw != *s++)
            return false;
    }
    return *s == '\0';
}

static size_t kw_len(const char *kw)
{
    size_t n = 0;
    for (; *kw; kw++)
        n += *kw != '_';
    return n;
}

static const struct keyword *lookup(const char *joined)
{
    for (size_t i = 0; i < NKEYWORDS; i++)
        if (kw_equals(KEYWORDS[i].kw, joined))
            return &KEYWORDS[i];
    return NULL;
}

/* Compounds written as one token ("kundenemail", "rechnungsadresse",
 * "homephone"): the keyword ends the token, or is followed only by a
 * number word.  The longest such keyword of five letters or more. */
static const struct keyword *lookup_suffix(const char *tok)
{
    static const char *const NUMBER_WORD[] = {"",       "number", "nummer",
                                              "numero", "nr",     "no"};
    const struct keyword *best = NULL;
    size_t best_len = 0, tl = strlen(tok);
    for (size_t i = 0; i < NKEYWORDS; i++) {
        const struct keyword *k = &KEYWORDS[i];
        size_t kl = kw_len(k->kw);
        if (kl < 5 || kl >= tl || kl <= best_len || (k->flags & KW_NAMEISH))
            continue;
        for (size_t w = 0; w < sizeof NUMBER_WORD / sizeof *NUMBER_WORD; w++) {
            size_t nl = strlen(NUMBER_WORD[w]);
            if (kl + nl > tl || strcmp(tok + tl - nl, NUMBER_WORD[w]) != 0)
                continue;
            char part[TOKEN_LEN];
            memcpy(part, tok + tl - nl - kl, kl);
            part[kl] = '\0';
            if (kw_equals(k->kw, part) && kl + nl < tl) {
                best = k;
                best_len = kl;
                break;
            }
        }
    }
    return best;
}

struct hit {
    const struct keyword *k;
    int first, last; /* token range [first, last) */
    double strength;
};

/* Longest keyword run starting at token i; writes its end to *end. */
static const struct keyword *longest_run(const struct tokens *tk, int i,
                                         int *end)
{
    for (int j = i + MAX_RUN < tk->n ? i + MAX_RUN : tk->n; j > i; j--) {
        char joined[MAX_RUN * TOKEN_LEN + 1] = "";
        for (int t = i; t < j; t++)
            strcat(joined, tk->t[t]);
        const struct keyword *k = lookup(joined);
        if (k) {
            *end = j;
            return k;
        }
    }
    return NULL;
}

static int find_hits(const struct tokens *tk, struct hit *hits, int max)
{
    int n = 0;
    for (int i = 0; i < tk->n && n < max;) {
        int end = i + 1;
        const struct keyword *k = longest_run(tk, i, &end);
        double strength = k ? k->strength : 0;
        if (!k && (k = lookup_suffix(tk->t[i])))
            strength = k->strength * 0.7;
        if (k)
            hits[n++] = (struct hit){k, i, end, strength};
        i = end;
    }
    return n;
}

/* ---- negative markers and qualifiers ----------------------------------- */

/* Entities that are themselves identifiers: "_id" does not make them a
 * reference to another row ("nhs_id", "tax_id"). */
static bool is_identifier(pii_entity e)
{
    return e == PII_NONE || (e >= PII_US_SSN && e <= PII_DE_TAX_ID);
}

/* "name" alone is as often a product's or a company's; a person
 * qualifier ("customer_name", "contact_name") makes it a person's. */
static double name_strength(const struct tokens *tk, const struct hit *h)
{
    bool qualified = false;
    for (int i = 0; i < tk->n; i++)
        if ((i < h->first || i >= h->last) && IN(tk->t[i], PERSON_QUALIFIER))
            return 0.8;
    for (int i = 0; i < tk->n; i++) {
        if (i >= h->first && i < h->last)
            continue;
        if (IN(tk->t[i], OTHER_QUALIFIER))
            return 0;
        if (!isdigit((unsigned char)tk->t[i][0]))
            qualified = true;
    }
    return qualified ? h->strength * 0.7 : h->strength;
}

/* The hit's strength after the markers of the other tokens: a flag
 * ("is_email", "email_verified"), a count, a hash, a type, a timestamp
 * ("email_sent_at") or a reference ("email_id") cancels it. */
static double apply_markers(const struct tokens *tk, const struct hit *h)
{
    pii_entity e = h->k->e;
    if (h->first > 0 && IN(tk->t[0], BOOL_PREFIX))
        return 0;
    for (int i = 0; i < tk->n; i++) {
        const char *t = tk->t[i];
        if (i >= h->first && i < h->last)
            continue;
        if (IN(t, NEGATIVE) || (IN(t, REFERENCE) && !is_identifier(e)) ||
            (IN(t, TEMPORAL) && e != PII_DATE_OF_BIRTH))
            return 0;
    }
    if (h->k->flags & KW_NAMEISH)
        return name_strength(tk, h);
    return h->strength;
}

/* Keeps the strongest signal per entity. */
static void add_signal(pii_name_signal *all, int *n, pii_entity e,
                       const struct hit *h, double strength)
{
    for (int i = 0; i < *n; i++) {
        if (all[i].entity == e) {
            if (strength > all[i].strength)
                all[i] = (pii_name_signal){e, strength, h->k->kw, h->k->lang};
            return;
        }
    }
    all[(*n)++] = (pii_name_signal){e, strength, h->k->kw, h->k->lang};
}

static int by_strength(const void *a, const void *b)
{
    const pii_name_signal *x = a, *y = b;
    if (x->strength != y->strength)
        return x->strength > y->strength ? -1 : 1;
    return (int)x->entity - (int)y->entity;
}

int pii_name_signals(const char *column_name, pii_name_signal *out, int max)
{
    static const pii_entity NATIONAL[] = {PII_US_SSN,   PII_FR_NIR,
                                          PII_ES_NIF,   PII_IT_FISCAL_CODE,
                                          PII_PL_PESEL, PII_DE_TAX_ID};
    if (!column_name || !out || max <= 0)
        return 0;
    struct tokens tk;
    tokenize(column_name, &tk);
    struct hit hits[MAX_TOKENS];
    int nh = find_hits(&tk, hits, MAX_TOKENS);
    pii_name_signal all[PII_ENTITY_COUNT];
    int n = 0;
    for (int i = 0; i < nh; i++) {
        double s = apply_markers(&tk, &hits[i]);
        if (s <= 0)
            continue;
        if (!(hits[i].k->flags & KW_NATIONAL)) {
            add_signal(all, &n, hits[i].k->e, &hits[i], s);
            continue;
        }
        for (size_t k = 0; k < sizeof NATIONAL / sizeof *NATIONAL; k++)
            add_signal(all, &n, NATIONAL[k], &hits[i], s);
    }
    if (n > 1)
        qsort(all, (size_t)n, sizeof *all, by_strength);
    if (n > max)
        n = max;
    memcpy(out, all, (size_t)n * sizeof *out);
    return n;
}
