/*
 * OpenMetadata webhook deliveries without a server: HMAC-SHA256 against
 * RFC 4231, Base64 against RFC 4648, incremental SHA-256, the signature
 * check (good, wrong, missing, no prefix, hex instead of Base64), reading
 * ChangeEvents (field errors, ignored events, the eventType mapping, the
 * bot's own events) and the manifest's `webhooks` section.
 */
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
#include "sha256.h"
#include "webhook.h"

/* ---- HMAC-SHA256, Base64, SHA-256 ---------------------------------------- */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_hmac(const void *key, size_t key_len, const void *data,
                       size_t len, const char *want_hex)
{
    unsigned char mac[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    hmac_sha256(key, key_len, data, len, mac);
    hex_of(mac, sizeof mac, hex);
    /* RFC 4231 case 5 lists only the first 128 bits. */
    assert_memory_equal(hex, want_hex, strlen(want_hex));
}

static void test_hmac_rfc4231(void **state)
{
    unsigned char k[131], d[50];
    const char *t7 = "This is a test using a larger than block-size key and a "
                     "larger than block-size data. The key needs to be hashed "
                     "before being used by the HMAC algorithm.";
    memset(k, 0x0b, 20);
    check_hmac(k, 20, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cf"
               "f7");
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec38"
               "43");
    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    check_hmac(k, 20, d, 50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565"
               "fe");
    for (int i = 0; i < 25; i++)
        k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    check_hmac(k, 25, d, 50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff4672966"
               "5b");
    memset(k, 0x0c, 20);
    check_hmac(k, 20, "Test With Truncation", 20,
               "a3b6167473100ee06e0c796c2955552b");
    memset(k, 0xaa, 131);
    check_hmac(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
               54,
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f"
               "54");
    check_hmac(k, 131, t7, strlen(t7),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35"
               "e2");
}

static void test_base64_rfc4648(void **state)
{
    static const char *const in[] = {"",     "f",     "fo",    "foo",
                                     "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char buf[16];
    for (size_t i = 0; i < 7; i++) {
        size_t n = base64_encode((const unsigned char *)in[i], strlen(in[i]),
                                 buf, sizeof buf);
        assert_string_equal(buf, out[i]);
        assert_int_equal(n, strlen(out[i]));
    }
    /* The high bit and the last two alphabet characters. */
    const unsigned char hi[] = {0xfb, 0xff, 0xbf};
    base64_encode(hi, 3, buf, sizeof buf);
    assert_string_equal(buf, "+/+/");
    /* Too small an output: nothing, not a cut string. */
    assert_int_equal(base64_encode((const unsigned char *)"foobar", 6, buf, 8),
                     0);
    assert_string_equal(buf, "");
}

/* Fed in uneven pieces, the digest equals the one-shot digest. */
static void test_sha256_incremental(void **state)
{
    char data[300], want[65], got[65];
    unsigned char d[SHA256_LEN];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + 3);
    sha256_hex(data, sizeof data, want);
    static const size_t pieces[] = {1, 62, 64, 3, 100, 70};
    struct sha256_ctx c;
    sha256_init(&c);
    size_t off = 0;
    for (size_t i = 0; i < 6; off += pieces[i++])
        sha256_update(&c, data + off, pieces[i]);
    assert_int_equal(off, sizeof data);
    sha256_final(&c, d);
    hex_of(d, sizeof d, got);
    assert_string_equal(got, want);
}

/* ---- the signature -------------------------------------------------------
 */

#define SECRET "om-webhook-secret-0123456789"
#define BODY                                                                   \
    "{\"id\":\"8e7f2a4c-1b3d-4e5f-9a0b-1c2d3e4f5a6b\",\"eventType\":"          \
    "\"entityUpdated\"}"
/* Computed independently (Python's hmac and base64 modules). */
#define GOOD_SIG "sha256=BZAZBdUphqdkQozj41KAk9W4iGC4hSNJ8i4J63Olnxw="
#define HEX_SIG                                                                \
    "sha256=05901905d52986a764428ce3e3528093d5b88860b8852349f22e09eb73a59f1c"

static int check_sig(const char *secret, const char *body, const char *header,
                     char *why)
{
    return webhook_check_signature(secret, body, strlen(body), header, why,
                                   256);
}

static void test_signature_good(void **state)
{
    char why[256] = "";
    assert_int_equal(check_sig(SECRET, BODY, GOOD_SIG, why), 0);
}

static void test_signature_bad(void **state)
{
    char why[256];
    /* Another secret, a changed body, a changed or cut signature. */
    assert_int_equal(
        check_sig("another-secret-0123456789", BODY, GOOD_SIG, why), -1);
    assert_string_equal(why, "signature does not match the body (wrong "
                             "secret, or the body was changed)");
    assert_int_equal(check_sig(SECRET, BODY " ", GOOD_SIG, why), -1);
    assert_int_equal(
        check_sig(SECRET, BODY,
                  "sha256=BZAZBdUphqdkQozj41KAk9W4iGC4hSNJ8i4J63Olnxx=", why),
        -1);
    assert_int_equal(
        check_sig(SECRET, BODY,
                  "sha256=BZAZBdUphqdkQozj41KAk9W4iGC4hSNJ8i4J63Olnxw", why),
        -1);
    assert_int_equal(
        check_sig(SECRET, BODY, GOOD_SIG "BZAZBdUphqdkQozj41KAk9W4", why), -1);
    assert_int_equal(check_sig(SECRET, BODY, "sha256=", why), -1);
    assert_null(strstr(why, SECRET));
}

static void test_signature_missing_or_misshapen(void **state)
{
    char why[256];
    assert_int_equal(check_sig(SECRET, BODY, NULL, why), -1);
    assert_string_equal(why, "missing X-OM-Signature header");
    assert_int_equal(check_sig(SECRET, BODY, "", why), -1);
    assert_string_equal(why, "missing X-OM-Signature header");
    /* The right value without its "sha256=" prefix. */
    assert_int_equal(
        check_sig(SECRET, BODY,
                  "BZAZBdUphqdkQozj41KAk9W4iGC4hSNJ8i4J63Olnxw=", why),
        -1);
    assert_string_equal(why, "X-OM-Signature must be \"sha256=<Base64 of "
                             "HMAC-SHA256 of the body>\"");
    /* The right MAC, hex-encoded as many other systems do. */
    assert_int_equal(check_sig(SECRET, BODY, HEX_SIG, why), -1);
    assert_string_equal(why, "signature is hex; OpenMetadata signs with Base64 "
                             "(sha256=<Base64 of HMAC-SHA256 of the body>)");
}

/* A body with a NUL byte is signed over all its bytes, not up to the NUL. */
static void test_signature_covers_every_byte(void **state)
{
    const char body[] = "{\"a\":1}\0tail";
    unsigned char mac[SHA256_LEN];
    char header[64] = "sha256=", why[256];
    hmac_sha256(SECRET, strlen(SECRET), body, sizeof body - 1, mac);
    base64_encode(mac, sizeof mac, header + 7, sizeof header - 7);
    assert_int_equal(webhook_check_signature(SECRET, body, sizeof body - 1,
                                             header, why, sizeof why),
                     0);
    assert_int_equal(
        webhook_check_signature(SECRET, body, 7, header, why, sizeof why), -1);
}

/* ---- ChangeEvents --------------------------------------------------------
 */

#define EVENT_ID "\"id\":\"8e7f2a4c-1b3d-4e5f-9a0b-1c2d3e4f5a6b\""
#define ENTITY_ID "\"entityId\":\"0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e\""

static enum webhook_verdict read_event(const char *body, const char *bot,
                                       struct webhook_event *ev, char *why)
{
    return webhook_read_event(body, strlen(body), bot, ev, why, 512);
}

/* A ChangeEvent for a table with the given eventType and extra members. */
static char *event_json(const char *event_type, const char *extra)
{
    char *s = NULL;
    assert_true(asprintf(&s,
                         "{" EVENT_ID ",\"eventType\":\"%s\",\"entityType\":"
                         "\"table\"," ENTITY_ID ",\"timestamp\":1716000000123%s"
                         "}",
                         event_type, extra) > 0);
    return s;
}

static void test_event_accepted_fields(void **state)
{
    struct webhook_event ev;
    char why[512];
    char *body = event_json("entityUpdated",
                            ",\"entityFullyQualifiedName\":\"svc.db.sch.t\","
                            "\"userName\":\"steward\",\"currentVersion\":0.2,"
                            "\"changeDescription\":{\"fieldsAdded\":[]}");
    assert_int_equal(read_event(body, "catalog-sync-bot", &ev, why),
                     WEBHOOK_ACCEPTED);
    assert_string_equal(ev.id, "8e7f2a4c-1b3d-4e5f-9a0b-1c2d3e4f5a6b");
    assert_string_equal(ev.entity_id, "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e");
    assert_string_equal(ev.fqn, "svc.db.sch.t");
    assert_string_equal(ev.user_name, "steward");
    assert_string_equal(ev.event_type, "entityUpdated");
    assert_string_equal(ev.event, "updated");
    assert_true(ev.timestamp_ms == 1716000000123LL);
    free(body);
    /* Only the five required members: fqn and user stay empty. */
    body = event_json("entityCreated", "");
    assert_int_equal(read_event(body, NULL, &ev, why), WEBHOOK_ACCEPTED);
    assert_string_equal(ev.fqn, "");
    assert_string_equal(ev.user_name, "");
    assert_string_equal(ev.event, "created");
    free(body);
}

static void test_event_type_mapping(void **state)
{
    static const char *const map[][2] = {
        {"entityCreated", "created"},       {"entityUpdated", "updated"},
        {"entityFieldsChanged", "updated"}, {"entityRestored", "updated"},
        {"entityDeleted", "deleted"},       {"entitySoftDeleted", "deleted"}};
    struct webhook_event ev;
    char why[512];
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char *body = event_json(map[i][0], "");
        assert_int_equal(read_event(body, NULL, &ev, why), WEBHOOK_ACCEPTED);
        assert_string_equal(ev.event, map[i][1]);
        free(body);
    }
    static const char *const ignored[] = {"entityNoChange", "threadCreated",
                                          "suggestionAccepted", "userLogin",
                                          "somethingNew"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        char *body = event_json(ignored[i], ""), want[128];
        assert_int_equal(read_event(body, NULL, &ev, why), WEBHOOK_IGNORED);
        snprintf(want, sizeof want, "eventType \"%s\" does not change a table",
                 ignored[i]);
        assert_string_equal(why, want);
        free(body);
    }
}

static void test_event_ignored(void **state)
{
    struct webhook_event ev;
    char why[512];
    const char *dashboard =
        "{" EVENT_ID ",\"eventType\":\"entityUpdated\",\"entityType\":"
        "\"dashboard\"," ENTITY_ID ",\"timestamp\":1}";
    assert_int_equal(read_event(dashboard, NULL, &ev, why), WEBHOOK_IGNORED);
    assert_string_equal(why,
                        "entityType \"dashboard\": only table events are acted "
                        "on");
    /* Our own writes come back as events by the bot. */
    char *body =
        event_json("entityUpdated", ",\"userName\":\"catalog-sync-bot\"");
    assert_int_equal(read_event(body, "catalog-sync-bot", &ev, why),
                     WEBHOOK_IGNORED);
    assert_string_equal(why, "made by catalog-sync's own user "
                             "\"catalog-sync-bot\" "
                             "(webhooks.openmetadata.bot_name)");
    /* Without a bot name configured, nobody is the bot. */
    assert_int_equal(read_event(body, NULL, &ev, why), WEBHOOK_ACCEPTED);
    assert_int_equal(read_event(body, "", &ev, why), WEBHOOK_ACCEPTED);
    free(body);
    body =
        event_json("entityUpdated", ",\"userName\":\"admin\","
                                    "\"impersonatedBy\":\"catalog-sync-bot\"");
    assert_int_equal(read_event(body, "catalog-sync-bot", &ev, why),
                     WEBHOOK_IGNORED);
    free(body);
    /* A person whose name only starts like the bot's is a person. */
    body = event_json("entityUpdated", ",\"userName\":\"catalog-sync-bot2\"");
    assert_int_equal(read_event(body, "catalog-sync-bot", &ev, why),
                     WEBHOOK_ACCEPTED);
    free(body);
}

static void expect_malformed(const char *body, const char *want)
{
    struct webhook_event ev;
    char why[512];
    assert_int_equal(read_event(body, NULL, &ev, why), WEBHOOK_MALFORMED);
    if (strncmp(why, want, strlen(want)) != 0)
        fail_msg("reason \"%s\" does not start with \"%s\"", why, want);
}

static void test_event_malformed(void **state)
{
    expect_malformed("", "body is not JSON: ");
    expect_malformed("{\"id\":", "body is not JSON: ");
    expect_malformed("[1,2]", "body must be a JSON object (one ChangeEvent)");
    expect_malformed("\"table\"",
                     "body must be a JSON object (one ChangeEvent)");
    expect_malformed("{\"eventType\":\"entityUpdated\"}",
                     "field `id` is required");
    expect_malformed("{" EVENT_ID ",\"entityType\":\"table\"," ENTITY_ID
                     ",\"timestamp\":1}",
                     "field `eventType` is required");
    expect_malformed("{" EVENT_ID ",\"eventType\":\"entityUpdated\"," ENTITY_ID
                     ",\"timestamp\":1}",
                     "field `entityType` is required");
    expect_malformed("{" EVENT_ID ",\"eventType\":\"entityUpdated\","
                     "\"entityType\":\"table\",\"timestamp\":1}",
                     "field `entityId` is required");
    expect_malformed("{" EVENT_ID ",\"eventType\":\"entityUpdated\","
                     "\"entityType\":\"table\"," ENTITY_ID "}",
                     "field `timestamp` is required");
    expect_malformed("{" EVENT_ID ",\"eventType\":7,\"entityType\":\"table\","
                     "" ENTITY_ID ",\"timestamp\":1}",
                     "field `eventType` must be a string");
    expect_malformed("{\"id\":\"not-a-uuid\",\"eventType\":\"entityUpdated\","
                     "\"entityType\":\"table\"," ENTITY_ID ",\"timestamp\":1}",
                     "field `id` must be a UUID");
    expect_malformed("{" EVENT_ID ",\"eventType\":\"entityUpdated\","
                     "\"entityType\":\"table\",\"entityId\":\"../../admin\","
                     "\"timestamp\":1}",
                     "field `entityId` must be a UUID");
    expect_malformed("{" EVENT_ID ",\"eventType\":\"entityUpdated\","
                     "\"entityType\":\"table\"," ENTITY_ID
                     ",\"timestamp\":\"yesterday\"}",
                     "field `timestamp` must be a non-negative integer");
    expect_malformed("{" EVENT_ID ",\"eventType\":\"entityUpdated\","
                     "\"entityType\":\"table\"," ENTITY_ID
                     ",\"timestamp\":1,\"userName\":[\"x\"]}",
                     "field `userName` must be a string");
    expect_malformed("{" EVENT_ID "," EVENT_ID ",\"eventType\":\"x\"}",
                     "body is not JSON: duplicate object key");
}

/* Text quoted from the request reaches logs: control bytes never do. */
static void test_event_reason_is_printable(void **state)
{
    struct webhook_event ev;
    char why[512];
    const char *body =
        "{" EVENT_ID ",\"eventType\":\"a\\nforged line\\u0007\","
        "\"entityType\":\"table\"," ENTITY_ID ",\"timestamp\":1}";
    assert_int_equal(read_event(body, NULL, &ev, why), WEBHOOK_IGNORED);
    assert_string_equal(why, "eventType \"a?forged line?\" does not change a "
                             "table");
    const char bad[] = "{\"a\":\x01}";
    assert_int_equal(read_event(bad, NULL, &ev, why), WEBHOOK_MALFORMED);
    for (const char *p = why; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
}

/* ---- the manifest's `webhooks` section ----------------------------------
 */

#define PASSES                                                                 \
    "state: \"dbname=x\"\n"                                                    \
    "passes:\n"                                                                \
    "  - name: discovery\n"                                                    \
    "    plugin: discovery_openmetadata\n"                                     \
    "    kind: source\n"                                                       \
    "    outputs: [table]\n"                                                   \
    "  - name: off\n"                                                          \
    "    plugin: discovery_postgres\n"                                         \
    "    kind: source\n"                                                       \
    "    enabled: false\n"                                                     \
    "    outputs: [table]\n"                                                   \
    "  - name: tags\n"                                                         \
    "    plugin: governance_tags\n"                                            \
    "    kind: entity\n"                                                       \
    "    inputs: [table]\n"                                                    \
    "    outputs: [governance]\n"

static int load(const char *yaml, struct manifest **m, char *err)
{
    return manifest_load_buffer("t.yaml", yaml, strlen(yaml), m, err, 1024);
}

static void test_manifest_webhook_from_env(void **state)
{
    struct manifest *m = NULL;
    char err[1024] = "", line[256];
    setenv("CS_T_OM_WEBHOOK_SECRET", "env-secret-abcdefghijkl", 1);
    const char *yaml = PASSES "webhooks:\n"
                              "  openmetadata:\n"
                              "    secret: ${CS_T_OM_WEBHOOK_SECRET}\n"
                              "    source: discovery\n"
                              "    bot_name: catalog-sync-bot\n";
    if (load(yaml, &m, err) != 0)
        fail_msg("%s", err);
    assert_non_null(m->webhook_om);
    assert_string_equal(m->webhook_om->secret, "env-secret-abcdefghijkl");
    assert_string_equal(m->webhook_om->source, "discovery");
    assert_string_equal(m->webhook_om->bot_name, "catalog-sync-bot");
    /* A secret from the environment is redacted like one from a file. */
    log_redact("key env-secret-abcdefghijkl here", line, sizeof line);
    assert_string_equal(line, "key *** here");
    manifest_free(m);
    /* No section: no webhook. */
    assert_int_equal(load(PASSES, &m, err), 0);
    assert_null(m->webhook_om);
    manifest_free(m);
}

static void test_manifest_webhook_secret_file(void **state)
{
    char path[] = "/tmp/cs_test_webhook_XXXXXX", *yaml = NULL, err[1024] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-secret-0123456789\n", 23), 23);
    close(fd);
    assert_true(asprintf(&yaml,
                         PASSES "webhooks:\n"
                                "  openmetadata: {secret_file: %s, source: "
                                "discovery}\n",
                         path) > 0);
    struct manifest *m = NULL;
    if (load(yaml, &m, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(m->webhook_om->secret, "file-secret-0123456789");
    assert_null(m->webhook_om->bot_name);
    manifest_free(m);
    free(yaml);
    unlink(path);
}

static void expect_manifest_error(const char *webhooks, const char *want)
{
    char *yaml = NULL, err[1024] = "";
    struct manifest *m = NULL;
    assert_true(asprintf(&yaml, PASSES "%s", webhooks) > 0);
    assert_int_equal(load(yaml, &m, err), -1);
    assert_null(m);
    assert_string_equal(err, want);
    free(yaml);
}

static void test_manifest_webhook_errors(void **state)
{
    expect_manifest_error(
        "webhooks:\n  openmetadata: {secret: abcdefghijklmnopq, source: "
        "tags}\n",
        "t.yaml:18:53: webhooks.openmetadata.source: `tags` is not an "
        "enabled source pass (enabled sources: discovery)");
    expect_manifest_error(
        "webhooks:\n  openmetadata: {secret: abcdefghijklmnopq, source: "
        "off}\n",
        "t.yaml:18:53: webhooks.openmetadata.source: `off` is not an enabled "
        "source pass (enabled sources: discovery)");
    expect_manifest_error(
        "webhooks:\n  openmetadata: {secret: abcdefghijklmnopq}"
        "\n",
        "t.yaml:18:17: webhooks.openmetadata.source: "
        "required key is missing");
    expect_manifest_error("webhooks:\n  openmetadata: {source: discovery}\n",
                          "t.yaml:18:17: webhooks.openmetadata.secret: "
                          "required key is missing");
    expect_manifest_error("webhooks:\n  openmetadata: {secret: short, source: "
                          "discovery}\n",
                          "t.yaml:18:26: webhooks.openmetadata.secret: the "
                          "secret must be at least 16 characters");
    expect_manifest_error("webhooks:\n  openmetadta: {}\n",
                          "t.yaml:18:3: webhooks.openmetadta: unknown key (did "
                          "you mean `openmetadata`?)");
    expect_manifest_error(
        "webhooks:\n  openmetadata: {secret: abcdefghijklmnopq, source: "
        "discovery, bot_nme: x}\n",
        "t.yaml:18:64: webhooks.openmetadata.bot_nme: unknown key (did you "
        "mean `bot_name`?)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_sha256_incremental),
        cmocka_unit_test(test_signature_good),
        cmocka_unit_test(test_signature_bad),
        cmocka_unit_test(test_signature_missing_or_misshapen),
        cmocka_unit_test(test_signature_covers_every_byte),
        cmocka_unit_test(test_event_accepted_fields),
        cmocka_unit_test(test_event_type_mapping),
        cmocka_unit_test(test_event_ignored),
        cmocka_unit_test(test_event_malformed),
        cmocka_unit_test(test_event_reason_is_printable),
        cmocka_unit_test(test_manifest_webhook_from_env),
        cmocka_unit_test(test_manifest_webhook_secret_file),
        cmocka_unit_test(test_manifest_webhook_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
