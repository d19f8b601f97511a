/*
 * OpenMetadata webhook deliveries (see webhook.h).  Every string taken
 * from a request and put into a reason is reduced to printable ASCII and
 * cut short first: reasons reach log lines and replies, and a crafted
 * body must not forge either.
 */
#include "webhook.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"

#define SIG_PREFIX "sha256="
/* Base64 of 32 bytes: 44 characters with one '=' of padding. */
#define SIG_B64_LEN 44

/* Public, see webhook.h. */
size_t base64_encode(const unsigned char *in, size_t n, char *out,
                     size_t outlen)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4;
    if (outlen < need + 1) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* Compares got[0..got_len) with the 44 expected characters, touching all
 * of them whatever the input, so timing tells nothing about where a
 * forged signature first differs. */
static bool same_signature(const char *want, const char *got, size_t got_len)
{
    unsigned diff = got_len != SIG_B64_LEN;
    for (size_t i = 0; i < SIG_B64_LEN; i++)
        diff |=
            (unsigned char)want[i] ^ (unsigned char)(i < got_len ? got[i] : 0);
    return diff == 0;
}

static bool is_hex_digest(const char *s)
{
    return strlen(s) == 2 * SHA256_LEN &&
           strspn(s, "0123456789abcdefABCDEF") == 2 * SHA256_LEN;
}

/* Public, see webhook.h. */
int webhook_check_signature(const char *secret, const char *body,
                            size_t body_len, const char *header, char *why,
                            size_t whylen)
{
    if (!header || !*header) {
        snprintf(why, whylen, "missing " WEBHOOK_SIGNATURE_HEADER " header");
        return -1;
    }
    if (strncmp(header, SIG_PREFIX, strlen(SIG_PREFIX)) != 0) {
        snprintf(why, whylen,
                 WEBHOOK_SIGNATURE_HEADER
                 " must be \"" SIG_PREFIX
                 "<Base64 of HMAC-SHA256 of the body>\"");
        return -1;
    }
    const char *got = header + strlen(SIG_PREFIX);
    unsigned char mac[SHA256_LEN];
    char want[SIG_B64_LEN + 1];
    hmac_sha256(secret, strlen(secret), body, body_len, mac);
    base64_encode(mac, sizeof mac, want, sizeof want);
    bool ok = same_signature(want, got, strlen(got));
    explicit_bzero(mac, sizeof mac);
    explicit_bzero(want, sizeof want);
    if (ok)
        return 0;
    if (is_hex_digest(got))
        snprintf(why, whylen,
                 "signature is hex; OpenMetadata signs with Base64 (" SIG_PREFIX
                 "<Base64 of HMAC-SHA256 of the body>)");
    else
        snprintf(why, whylen,
                 "signature does not match the body (wrong secret, or the "
                 "body was changed)");
    return -1;
}

/* ---- ChangeEvent ---------------------------------------------------------
 */

/* Copies s into out keeping printable ASCII only (others become '?'). */
static void printable(char *out, size_t outlen, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < outlen; s++)
        out[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    out[o] = '\0';
}

/* 8-4-4-4-12 hex digits, the shape of basic.json#/definitions/uuid.  Ids
 * end up in URLs the source pass builds, so nothing else gets through. */
static bool is_uuid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < 5; g++) {
        size_t n = strspn(s, "0123456789abcdefABCDEF");
        if (n != (size_t)groups[g])
            return false;
        s += n;
        if (g < 4 && *s++ != '-')
            return false;
    }
    return *s == '\0';
}

/* A string member: -1 malformed (why set), 0 absent (*out NULL) when
 * optional, 1 present. */
static int get_str(json_t *o, const char *key, bool required, const char **out,
                   char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        snprintf(why, whylen, "field `%s` is required", key);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(why, whylen, "field `%s` must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

static int get_uuid(json_t *o, const char *key, char *out, size_t outlen,
                    char *why, size_t whylen)
{
    const char *s;
    if (get_str(o, key, true, &s, why, whylen) < 0)
        return -1;
    if (!is_uuid(s)) {
        snprintf(why, whylen, "field `%s` must be a UUID", key);
        return -1;
    }
    snprintf(out, outlen, "%s", s);
    return 0;
}

/* An optional string copied into out; longer than out is malformed. */
static int get_opt(json_t *o, const char *key, char *out, size_t outlen,
                   char *why, size_t whylen)
{
    const char *s;
    int rc = get_str(o, key, false, &s, why, whylen);
    out[0] = '\0';
    if (rc <= 0)
        return rc;
    if (strlen(s) >= outlen) {
        snprintf(why, whylen, "field `%s` is longer than %zu bytes", key,
                 outlen - 1);
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* The required and optional members we read, with their types. */
static int read_fields(json_t *o, struct webhook_event *ev,
                       const char **event_type, const char **entity_type,
                       char *why, size_t whylen)
{
    json_t *ts = json_object_get(o, "timestamp");
    if (get_uuid(o, "id", ev->id, sizeof ev->id, why, whylen) < 0 ||
        get_str(o, "eventType", true, event_type, why, whylen) < 0 ||
        get_str(o, "entityType", true, entity_type, why, whylen) < 0 ||
        get_uuid(o, "entityId", ev->entity_id, sizeof ev->entity_id, why,
                 whylen) < 0)
        return -1;
    if (!ts) {
        snprintf(why, whylen, "field `timestamp` is required");
        return -1;
    }
    if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
        snprintf(why, whylen,
                 "field `timestamp` must be a non-negative integer (epoch "
                 "milliseconds)");
        return -1;
    }
    ev->timestamp_ms = (int64_t)json_integer_value(ts);
    return get_opt(o, "entityFullyQualifiedName", ev->fqn, sizeof ev->fqn, why,
                   whylen) < 0 ||
                   get_opt(o, "userName", ev->user_name, sizeof ev->user_name,
                           why, whylen) < 0
               ? -1
               : 0;
}

/* eventType -> what the source pass is asked to do, NULL when nothing. */
static const char *map_event(const char *event_type)
{
    static const char *const map[][2] = {
        {"entityCreated", "created"},       {"entityUpdated", "updated"},
        {"entityFieldsChanged", "updated"}, {"entityRestored", "updated"},
        {"entityDeleted", "deleted"},       {"entitySoftDeleted", "deleted"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(event_type, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* Valid events that ask for nothing: other entity types, event types that
 * do not change a table, and the daemon's own writes. */
static enum webhook_verdict
triage(json_t *o, const char *event_type, const char *entity_type,
       const char *bot_name, struct webhook_event *ev, char *why, size_t whylen)
{
    char shown[80];
    if (strcmp(entity_type, "table") != 0) {
        printable(shown, sizeof shown, entity_type);
        snprintf(why, whylen,
                 "entityType \"%s\": only table events are acted on", shown);
        return WEBHOOK_IGNORED;
    }
    ev->event = map_event(event_type);
    if (!ev->event) {
        printable(shown, sizeof shown, event_type);
        snprintf(why, whylen, "eventType \"%s\" does not change a table",
                 shown);
        return WEBHOOK_IGNORED;
    }
    const char *imp = json_string_value(json_object_get(o, "impersonatedBy"));
    bool by_bot = bot_name && *bot_name &&
                  (strcmp(ev->user_name, bot_name) == 0 ||
                   (imp && strcmp(imp, bot_name) == 0));
    if (by_bot) {
        printable(shown, sizeof shown, bot_name);
        snprintf(why, whylen,
                 "made by catalog-sync's own user \"%s\" "
                 "(webhooks.openmetadata.bot_name)",
                 shown);
        return WEBHOOK_IGNORED;
    }
    snprintf(ev->event_type, sizeof ev->event_type, "%s", event_type);
    return WEBHOOK_ACCEPTED;
}

/* Public, see webhook.h. */
enum webhook_verdict webhook_read_event(const char *body, size_t len,
                                        const char *bot_name,
                                        struct webhook_event *ev, char *why,
                                        size_t whylen)
{
    json_error_t je;
    memset(ev, 0, sizeof *ev);
    json_t *o =
        json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!o) {
        char text[160]; /* jansson quotes the text near the error */
        printable(text, sizeof text, je.text);
        snprintf(why, whylen, "body is not JSON: %s (line %d, column %d)", text,
                 je.line, je.column);
        return WEBHOOK_MALFORMED;
    }
    enum webhook_verdict v = WEBHOOK_MALFORMED;
    const char *event_type = NULL, *entity_type = NULL;
    if (!json_is_object(o))
        snprintf(why, whylen, "body must be a JSON object (one ChangeEvent)");
    else if (read_fields(o, ev, &event_type, &entity_type, why, whylen) == 0)
        v = triage(o, event_type, entity_type, bot_name, ev, why, whylen);
    json_decref(o);
    return v;
}
