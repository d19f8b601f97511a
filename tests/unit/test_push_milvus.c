/* push_milvus through a fake host with canned Milvus answers and canned
 * embeddings: the texts (names, types, descriptions, PII tags, foreign
 * keys, and nothing else of the aspects), record ids, the create and
 * upsert bodies, Milvus errors as HTTP 200 with a non-zero code, unchanged
 * texts not sent again, stale records deleted, one audit row per write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define FQN "svc.db.bank.customers"
#define TOKEN "root:milvus-secret-42"
#define OK_HAS_NO "{\"code\":0,\"data\":{\"has\":false}}"
#define OK_EMPTY "{\"code\":0,\"data\":{}}"
#define OK_UPSERT "{\"code\":0,\"data\":{\"upsertCount\":1}}"

/* Members the pass must never read: anything there that reached a text
 * or a request would be a leak of the kind sampled values could take. */
#define CANARY "canary"

static const char *const TABLE =
    "{\"name\": \"customers\", \"fullyQualifiedName\": \"" FQN "\","
    " \"description\": \"Retail banking customers\","
    " \"databaseSchema\": {\"name\": \"bank\"},"
    " \"sampleData\": {\"columns\": [\"email\"],"
    "                  \"rows\": [[\"canary-sample@example.org\"]]},"
    " \"columns\": ["
    "  {\"name\": \"id\", \"dataType\": \"INT\", \"dataTypeDisplay\": "
    "\"integer\", \"constraint\": \"PRIMARY_KEY\","
    "   \"fullyQualifiedName\": \"" FQN ".id\"},"
    "  {\"name\": \"email\", \"dataType\": \"VARCHAR\", \"dataTypeDisplay\": "
    "\"varchar(120)\", \"constraint\": \"NOT_NULL\","
    "   \"profile\": {\"topValues\": [\"canary-top@example.org\"]}},"
    "  {\"name\": \"branch_id\", \"dataType\": \"INT\", \"dataTypeDisplay\": "
    "\"integer\", \"description\": \"Home branch\"}],"
    " \"tableConstraints\": [{\"constraintType\": \"FOREIGN_KEY\","
    "   \"columns\": [\"branch_id\"],"
    "   \"referredColumns\": [\"svc.db.bank.branches.id\"]}]}";

static const char *const DESCRIPTION =
    "{\"table\": {\"description\": \"Customers of the bank.\"},"
    " \"columns\": {\"email\": {\"description\": \"Contact e-mail "
    "address.\"}},"
    " \"source\": \"describe_llm\", \"model\": \"canary-model\"}";

static const char *const PII =
    "{\"columns\": {"
    "  \"email\": {\"entity\": \"EMAIL\", \"tag\": \"PII.Sensitive\","
    "   \"status\": \"tagged\", \"score\": 1.0,"
    "   \"evidence\": {\"values_seen\": 50, \"example\": "
    "\"canary-evidence@example.org\"},"
    "   \"reason\": \"canary reason\"},"
    "  \"id\": {\"entity\": \"PHONE\", \"tag\": null, \"status\": "
    "\"candidate\"}},"
    " \"summary\": {\"columns\": 3}}";

static const char *const FK =
    "{\"edges\": ["
    "  {\"fromColumns\": [\"branch_id\"], \"toTable\": "
    "\"svc.db.bank.branches\","
    "   \"toColumns\": [\"id\"], \"status\": \"confirmed\", \"reason\": "
    "\"canary\"},"
    "  {\"fromColumns\": [\"email\"], \"toTable\": \"svc.db.crm.contacts\","
    "   \"toColumns\": [\"email\"], \"status\": \"confirmed\"}],"
    " \"rejected\": [{\"fromColumns\": [\"id\"], \"toTable\": "
    "\"svc.db.x.y\", \"toColumns\": [\"z\"], \"status\": \"rejected\"}]}";

static const char *const EMAIL_TEXT =
    "column email of table bank.customers\n"
    "fqn: svc.db.bank.customers.email\n"
    "type: varchar(120)\n"
    "key: not null\n"
    "description: Contact e-mail address.\n"
    "table description: Customers of the bank.\n"
    "pii: PII.Sensitive (EMAIL)\n"
    "references: svc.db.crm.contacts.email\n";

static const char *const TABLE_TEXT =
    "table bank.customers\n"
    "fqn: svc.db.bank.customers\n"
    "description: Customers of the bank.\n"
    "pii: email PII.Sensitive (EMAIL)\n"
    "foreign keys: branch_id -> svc.db.bank.branches.id; email -> "
    "svc.db.crm.contacts.email\n"
    "columns: id integer primary key, email varchar(120), branch_id integer";

struct t {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct t *t, const char *extra_config)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"url\": \"http://milvus.test:19530/\", \"token\": \"" TOKEN
             "\"%s%s}",
             extra_config ? ", " : "", extra_config ? extra_config : "");
    t->d = fake_host_load_pass("push_milvus");
    assert_non_null(t->d);
    t->fh = fake_host_new(t->d, cfg);
    assert_non_null(t->fh);
    t->st = NULL;
    assert_int_equal(
        t->d->init(fake_host_api(t->fh), fake_host_ctx(t->fh), &t->st), CS_OK);
}

static void stop(struct t *t)
{
    assert_null(strstr(fake_host_logs(t->fh), TOKEN));
    assert_null(strstr(fake_host_error(t->fh), TOKEN));
    t->d->fini(t->st);
    fake_host_free(t->fh);
}

static void set_entity(struct t *t, const char *table, const char *desc,
                       const char *pii, const char *fk)
{
    char *a = NULL;
    size_t n = strlen(table) + (desc ? strlen(desc) : 0) +
               (pii ? strlen(pii) : 0) + (fk ? strlen(fk) : 0) + 128;
    a = malloc(n);
    assert_non_null(a);
    snprintf(a, n, "{\"table\": %s%s%s%s%s%s%s}", table,
             desc ? ", \"description\": " : "", desc ? desc : "",
             pii ? ", \"pii\": " : "", pii ? pii : "", fk ? ", \"fk\": " : "",
             fk ? fk : "");
    assert_int_equal(fake_host_set_entity(t->fh, FQN, a), 0);
    free(a);
}

static int process(struct t *t)
{
    return t->d->process(t->st, fake_host_ctx(t->fh));
}

/* The answers of a first push into a missing collection. */
static void canned_first_push(struct t *t)
{
    fake_host_add_http(t->fh, "POST", "/collections/has", 200, OK_HAS_NO);
    fake_host_add_http(t->fh, "POST", "/collections/create", 200, OK_EMPTY);
    fake_host_add_http(t->fh, "POST", "/entities/upsert", 200, OK_UPSERT);
}

static json_t *body_of(struct t *t, const char *needle, size_t nth)
{
    size_t i, seen = 0;
    json_t *r;
    json_array_foreach(fake_host_http_log(t->fh), i, r)
    {
        const char *url = json_string_value(json_object_get(r, "url"));
        if (!strstr(url, needle) || seen++ != nth)
            continue;
        json_t *b =
            json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
        assert_non_null(b);
        return b;
    }
    return NULL;
}

static size_t count_calls(struct t *t, const char *needle)
{
    size_t i, n = 0;
    json_t *r;
    json_array_foreach(fake_host_http_log(t->fh), i, r)
    {
        n += strstr(json_string_value(json_object_get(r, "url")), needle) != 0;
    }
    return n;
}

static json_t *row_of(json_t *upsert, const char *id)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(upsert, "data"), i, row)
    {
        if (!strcmp(json_string_value(json_object_get(row, "id")), id))
            return row;
    }
    return NULL;
}

static const char *field(json_t *row, const char *name)
{
    const char *s = json_string_value(json_object_get(row, name));
    assert_non_null(s);
    return s;
}

/* Nothing the pass sent anywhere (Milvus, the embedding endpoint, the
 * aspect, the audit rows, the state) holds a canary. */
static void assert_no_canary(struct t *t)
{
    json_t *all = json_pack("[O,O,O,O,O]", fake_host_http_log(t->fh),
                            fake_host_embeds(t->fh), fake_host_puts(t->fh),
                            fake_host_audits(t->fh), fake_host_state(t->fh));
    char *dump = json_dumps(all, 0);
    assert_non_null(dump);
    assert_null(strstr(dump, CANARY));
    assert_null(strstr(fake_host_logs(t->fh), CANARY));
    free(dump);
    json_decref(all);
}

static void test_texts_from_names_only(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, DESCRIPTION, PII, FK);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    json_t *up = body_of(&t, "/entities/upsert", 0);
    assert_non_null(up);
    assert_int_equal(json_array_size(json_object_get(up, "data")), 4);
    json_t *email = row_of(up, FQN ".email");
    assert_non_null(email);
    assert_string_equal(field(email, "text"), EMAIL_TEXT);
    assert_string_equal(field(email, "kind"), "column");
    assert_string_equal(field(email, "table_fqn"), FQN);
    assert_string_equal(field(email, "pii"), "PII.Sensitive");
    assert_string_equal(field(email, "fk_targets"),
                        "svc.db.crm.contacts.email");
    assert_string_equal(field(email, "data_type"), "varchar(120)");
    json_t *table = row_of(up, FQN);
    assert_non_null(table);
    assert_string_equal(field(table, "text"), TABLE_TEXT);
    assert_string_equal(field(table, "kind"), "table");
    assert_string_equal(field(table, "fk_targets"),
                        "svc.db.bank.branches,svc.db.crm.contacts");
    /* the catalog's description when there is none of ours */
    json_t *branch = row_of(up, FQN ".branch_id");
    assert_non_null(
        strstr(field(branch, "text"), "description: Home branch\n"));
    assert_non_null(
        strstr(field(branch, "text"), "references: svc.db.bank.branches.id"));
    /* a candidate is not a tag */
    assert_null(strstr(field(row_of(up, FQN ".id"), "text"), "pii:"));
    assert_string_equal(field(row_of(up, FQN ".id"), "pii"), "");
    /* every row has its vector, of the endpoint's dimension */
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(up, "data"), i, row)
    {
        assert_int_equal(json_array_size(json_object_get(row, "embedding")), 4);
    }
    /* what was embedded is exactly the texts sent */
    json_t *emb = json_array_get(fake_host_embeds(t.fh), 0);
    assert_string_equal(json_string_value(json_object_get(emb, "endpoint")),
                        "default");
    assert_int_equal(json_array_size(json_object_get(emb, "texts")), 4);
    assert_no_canary(&t);
    json_decref(up);
    stop(&t);
}

static void test_create_body_and_auth(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "\"collection\": \"cat_meta\", \"db_name\": \"search\"");
    set_entity(&t, TABLE, NULL, NULL, NULL);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    json_t *r = json_array_get(fake_host_http_log(t.fh), 0);
    assert_string_equal(json_string_value(json_object_get(r, "url")),
                        "http://milvus.test:19530/v2/vectordb/collections/has");
    char *headers = json_dumps(json_object_get(r, "headers"), 0);
    assert_non_null(strstr(headers, "Authorization: Bearer " TOKEN));
    free(headers);
    json_t *c = body_of(&t, "/collections/create", 0);
    assert_string_equal(field(c, "collectionName"), "cat_meta");
    assert_string_equal(field(c, "dbName"), "search");
    json_t *schema = json_object_get(c, "schema");
    assert_true(json_is_false(json_object_get(schema, "enableDynamicField")));
    assert_true(json_is_false(json_object_get(schema, "autoID")));
    json_t *fields = json_object_get(schema, "fields");
    assert_int_equal(json_array_size(fields), 10);
    json_t *id = json_array_get(fields, 0);
    assert_string_equal(field(id, "fieldName"), "id");
    assert_true(json_is_true(json_object_get(id, "isPrimary")));
    json_t *vec = json_array_get(fields, 9);
    assert_string_equal(field(vec, "dataType"), "FloatVector");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(vec, "elementTypeParams"), "dim")),
                     4);
    json_t *idx = json_array_get(json_object_get(c, "indexParams"), 0);
    assert_string_equal(field(idx, "indexType"), "AUTOINDEX");
    assert_string_equal(field(idx, "metricType"), "COSINE");
    assert_string_equal(field(idx, "fieldName"), "embedding");
    json_t *up = body_of(&t, "/entities/upsert", 0);
    assert_string_equal(field(up, "dbName"), "search");
    json_decref(c);
    json_decref(up);
    stop(&t);
}

static void test_record_ids(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    /* a 600-byte table name: the id is cut and ends with the FQN's hash */
    char name[601], table[2048], fqn[700];
    memset(name, 'x', 600);
    name[600] = '\0';
    snprintf(fqn, sizeof fqn, "svc.db.s.%s", name);
    snprintf(table, sizeof table,
             "{\"table\": {\"name\": \"%s\", \"columns\": [{\"name\": "
             "\"a.b\", \"dataType\": \"INT\"}]}}",
             name);
    assert_int_equal(fake_host_set_entity(t.fh, fqn, table), 0);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    json_t *up = body_of(&t, "/entities/upsert", 0);
    json_t *data = json_object_get(up, "data");
    assert_int_equal(json_array_size(data), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *id = field(json_array_get(data, i), "id");
        assert_true(strlen(id) <= 512);
        const char *hash = strrchr(id, '#');
        assert_non_null(hash);
        assert_int_equal(strlen(hash), 17);
        assert_int_equal(strncmp(id, fqn, 100), 0);
        /* the full FQN is kept in its own field */
        assert_true(strlen(field(json_array_get(data, i), "fqn")) > 600);
    }
    assert_string_not_equal(field(json_array_get(data, 0), "id"),
                            field(json_array_get(data, 1), "id"));
    /* a column name with a dot is quoted as in the catalog */
    char want[800];
    snprintf(want, sizeof want, "%s.\"a.b\"", fqn);
    assert_string_equal(field(json_array_get(data, 1), "fqn"), want);
    /* the same FQN always gives the same id */
    json_t *aspect = json_object_get(fake_host_puts(t.fh), "embedding");
    json_t *recs = json_object_get(aspect, "records");
    assert_string_equal(field(json_array_get(recs, 0), "id"),
                        field(json_array_get(data, 0), "id"));
    json_decref(up);
    stop(&t);
}

static void test_milvus_code_fails_entity(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, NULL, PII, NULL);
    fake_host_add_http(t.fh, "POST", "/collections/has", 200, OK_HAS_NO);
    fake_host_add_http(t.fh, "POST", "/collections/create", 200, OK_EMPTY);
    fake_host_add_http(t.fh, "POST", "/entities/upsert", 200,
                       "{\"code\":1100,\"message\":\"the dim (3) of field "
                       "data(embedding) is not equal to schema dim (4)\"}");
    assert_int_not_equal(process(&t), CS_OK);
    const char *err = fake_host_error(t.fh);
    assert_non_null(strstr(err, "code 1100"));
    assert_non_null(strstr(err, "entities/upsert"));
    assert_non_null(strstr(err, "is not equal to schema dim"));
    json_t *aspect = json_object_get(fake_host_puts(t.fh), "embedding");
    assert_string_equal(field(aspect, "status"), "failed");
    /* the collection was created (audited), nothing was upserted */
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 1);
    assert_string_equal(
        field(json_array_get(fake_host_audits(t.fh), 0), "action"), "create");
    /* nothing is recorded as sent: the next run sends everything again */
    fake_host_next_run(t.fh, 1);
    fake_host_add_http(t.fh, "POST", "/entities/upsert", 200,
                       "{\"code\":200,\"data\":{}}"); /* 2.3-era success */
    assert_int_equal(process(&t), CS_OK);
    json_t *up = body_of(&t, "/entities/upsert", 0);
    assert_int_equal(json_array_size(json_object_get(up, "data")), 4);
    /* the collection is known by now: no has/create again */
    assert_int_equal(count_calls(&t, "/collections/"), 0);
    json_decref(up);
    stop(&t);
}

static void test_http_errors(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, NULL, NULL, NULL);
    fake_host_add_http(t.fh, "POST", "/collections/has", 401,
                       "{\"code\":1800,\"message\":\"user hasn't "
                       "authenticated\"}");
    assert_int_equal(process(&t), CS_ERR_DENIED);
    assert_non_null(strstr(fake_host_error(t.fh), "credentials"));
    assert_non_null(strstr(fake_host_error(t.fh), "1800"));
    /* no answer at all (connection refused after the host's retries) */
    assert_int_equal(process(&t), CS_ERR_UNAVAILABLE);
    assert_non_null(strstr(fake_host_error(t.fh), "collections/has"));
    /* not an envelope */
    fake_host_add_http(t.fh, "POST", "/collections/has", 200, "<html>");
    assert_int_equal(process(&t), CS_ERR);
    assert_non_null(strstr(fake_host_error(t.fh), "envelope"));
    stop(&t);
}

static void test_unchanged_texts_not_sent(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, DESCRIPTION, PII, FK);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    json_t *state = json_object_get(fake_host_state(t.fh), "table:" FQN);
    assert_non_null(state);
    assert_int_equal(
        json_object_size(json_object_get(json_object_get(state, "collections"),
                                         "catalog_metadata")),
        4);
    /* the same inputs again: no embedding, no request, no write */
    fake_host_next_run(t.fh, 1);
    set_entity(&t, TABLE, DESCRIPTION, PII, FK);
    assert_int_equal(process(&t), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 0);
    assert_int_equal(json_array_size(fake_host_embeds(t.fh)), 0);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    json_t *aspect = json_object_get(fake_host_puts(t.fh), "embedding");
    assert_string_equal(field(aspect, "status"), "unchanged");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(aspect, "counts"), "unchanged")),
                     4);
    assert_int_equal(json_integer_value(json_object_get(aspect, "dimension")),
                     4);
    /* one column description changes: only that column goes out */
    fake_host_next_run(t.fh, 1);
    set_entity(&t, TABLE,
               "{\"columns\": {\"email\": {\"description\": \"Where we write "
               "to.\"}}, \"table\": {\"description\": \"Customers of the "
               "bank.\"}}",
               PII, FK);
    fake_host_add_http(t.fh, "POST", "/entities/upsert", 200, OK_UPSERT);
    assert_int_equal(process(&t), CS_OK);
    json_t *up = body_of(&t, "/entities/upsert", 0);
    assert_int_equal(json_array_size(json_object_get(up, "data")), 1);
    assert_non_null(row_of(up, FQN ".email"));
    json_t *emb = json_array_get(fake_host_embeds(t.fh), 0);
    assert_int_equal(json_array_size(json_object_get(emb, "texts")), 1);
    json_decref(up);
    stop(&t);
}

static void test_audit_rows(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "\"upsert_batch\": 3, \"embed_batch\": 2");
    set_entity(&t, TABLE, NULL, NULL, NULL);
    canned_first_push(&t);
    fake_host_add_http(t.fh, "POST", "/entities/upsert", 200, OK_UPSERT);
    assert_int_equal(process(&t), CS_OK);
    /* 4 records: upserts of 3 and 1, embeddings of 2, 1 and 1 */
    assert_int_equal(count_calls(&t, "/entities/upsert"), 2);
    json_t *embeds = fake_host_embeds(t.fh);
    assert_int_equal(json_array_size(embeds), 3);
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(embeds, 0), "texts")),
        2);
    json_t *audits = fake_host_audits(t.fh);
    assert_int_equal(json_array_size(audits), 3);
    json_t *create = json_array_get(audits, 0);
    assert_string_equal(field(create, "target"), "milvus:catalog_metadata");
    assert_string_equal(field(create, "action"), "create");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(create, "new"), "dimension")),
                     4);
    size_t total = 0;
    for (size_t i = 1; i < 3; i++) {
        json_t *a = json_array_get(audits, i);
        assert_string_equal(field(a, "target"), "milvus:catalog_metadata");
        assert_string_equal(field(a, "action"), "upsert");
        json_t *ids = json_object_get(json_object_get(a, "new"), "ids");
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(a, "new"), "count")),
                         json_array_size(ids));
        total += json_array_size(ids);
    }
    assert_int_equal(total, 4);
    stop(&t);
}

static void test_existing_collection_checked(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, NULL, NULL, NULL);
    fake_host_add_http(t.fh, "POST", "/collections/has", 200,
                       "{\"code\":0,\"data\":{\"has\":true}}");
    fake_host_add_http(
        t.fh, "POST", "/collections/describe", 200,
        "{\"code\":0,\"data\":{\"fields\":["
        "{\"name\":\"id\"},{\"name\":\"kind\"},{\"name\":\"fqn\"},"
        "{\"name\":\"table_fqn\"},{\"name\":\"name\"},{\"name\":\"data_type\"},"
        "{\"name\":\"pii\"},{\"name\":\"text\"},{\"name\":\"fk_targets\"},"
        "{\"name\":\"embedding\",\"type\":\"FloatVector\",\"params\":"
        "[{\"key\":\"dim\",\"value\":\"768\"}]}]}}");
    assert_int_equal(process(&t), CS_ERR_INVALID);
    assert_non_null(strstr(fake_host_error(t.fh), "dimension 768"));
    assert_int_equal(count_calls(&t, "/collections/create"), 0);
    assert_int_equal(count_calls(&t, "/entities/upsert"), 0);
    /* a collection of someone else's */
    fake_host_add_http(t.fh, "POST", "/collections/has", 200,
                       "{\"code\":0,\"data\":{\"has\":true}}");
    fake_host_add_http(t.fh, "POST", "/collections/describe", 200,
                       "{\"code\":0,\"data\":{\"fields\":[{\"name\":\"id\"},"
                       "{\"name\":\"vector\"}]}}");
    assert_int_equal(process(&t), CS_ERR_INVALID);
    assert_non_null(strstr(fake_host_error(t.fh), "no field `kind`"));
    stop(&t);
}

static void test_dropped_collection_recreated(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, NULL, NULL, NULL);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    /* dropped behind our back: code 100, created again, upserted */
    fake_host_next_run(t.fh, 1);
    json_object_clear(fake_host_state(t.fh));
    fake_host_add_http(t.fh, "POST", "/entities/upsert", 200,
                       "{\"code\":100,\"message\":\"collection not found\"}");
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    assert_int_equal(count_calls(&t, "/collections/create"), 1);
    assert_int_equal(count_calls(&t, "/entities/upsert"), 2);
    stop(&t);
}

static void test_stale_columns_deleted(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, NULL);
    set_entity(&t, TABLE, NULL, NULL, NULL);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    /* the column email is dropped from the table */
    fake_host_next_run(t.fh, 1);
    assert_int_equal(
        fake_host_set_entity(
            t.fh, FQN,
            "{\"table\": {\"name\": \"customers\", \"columns\": ["
            "{\"name\": \"id\", \"dataType\": \"INT\", \"dataTypeDisplay\": "
            "\"integer\", \"constraint\": \"PRIMARY_KEY\","
            " \"fullyQualifiedName\": \"" FQN ".id\"}]}}"),
        0);
    fake_host_add_http(t.fh, "POST", "/entities/upsert", 200, OK_UPSERT);
    fake_host_add_http(t.fh, "POST", "/entities/delete", 200, OK_EMPTY);
    assert_int_equal(process(&t), CS_OK);
    json_t *del = body_of(&t, "/entities/delete", 0);
    assert_non_null(del);
    assert_string_equal(field(del, "filter"),
                        "id in [\"" FQN ".email\",\"" FQN ".branch_id\"]");
    json_t *audits = fake_host_audits(t.fh);
    json_t *last = json_array_get(audits, json_array_size(audits) - 1);
    assert_string_equal(field(last, "action"), "delete");
    json_t *ids = json_object_get(
        json_object_get(fake_host_state(t.fh), "table:" FQN), "collections");
    assert_int_equal(json_object_size(json_object_get(ids, "catalog_metadata")),
                     2);
    json_decref(del);
    stop(&t);
}

static void test_column_collection(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "\"column_collection\": \"catalog_columns\"");
    set_entity(&t, TABLE, NULL, NULL, NULL);
    canned_first_push(&t);
    canned_first_push(&t);
    assert_int_equal(process(&t), CS_OK);
    json_t *a = body_of(&t, "/entities/upsert", 0);
    json_t *b = body_of(&t, "/entities/upsert", 1);
    assert_string_equal(field(a, "collectionName"), "catalog_metadata");
    assert_int_equal(json_array_size(json_object_get(a, "data")), 1);
    assert_string_equal(field(b, "collectionName"), "catalog_columns");
    assert_int_equal(json_array_size(json_object_get(b, "data")), 3);
    json_decref(a);
    json_decref(b);
    stop(&t);
}

static void test_embedding_down(void **unused)
{
    (void)unused;
    struct t t;
    start(&t, "\"llm_endpoint\": \"embedder\"");
    set_entity(&t, TABLE, NULL, NULL, NULL);
    fake_host_set_embed_dim(t.fh, 0);
    assert_int_equal(process(&t), CS_ERR_UNAVAILABLE);
    assert_non_null(strstr(fake_host_error(t.fh), "LLM endpoint `embedder`"));
    assert_non_null(strstr(fake_host_error(t.fh), "embeddings are down"));
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 0);
    assert_int_equal(json_object_size(fake_host_state(t.fh)), 0);
    stop(&t);
}

static void expect_init_error(const char *config, int rc, const char *needle)
{
    const cs_pass_desc *d = fake_host_load_pass("push_milvus");
    assert_non_null(d);
    fake_host *fh = fake_host_new(d, config);
    assert_non_null(fh);
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), rc);
    if (!strstr(fake_host_error(fh), needle))
        fail_msg("error \"%s\" lacks \"%s\"", fake_host_error(fh), needle);
    fake_host_free(fh);
}

static void test_bad_options(void **unused)
{
    (void)unused;
    expect_init_error("{\"url\": \"milvus:19530\"}", CS_ERR_INVALID,
                      "config.url");
    expect_init_error("{\"url\": \"http://m:1\", \"collection\": \"1abc\"}",
                      CS_ERR_INVALID, "config.collection");
    expect_init_error(
        "{\"url\": \"http://m:1\", \"column_collection\": \"a-b\"}",
        CS_ERR_INVALID, "config.column_collection");
    expect_init_error("{\"url\": \"http://m:1\", \"metric_type\": \"DOT\"}",
                      CS_ERR_INVALID, "config.metric_type");
    expect_init_error("{\"url\": \"http://m:1\", \"upsert_batch\": 0}",
                      CS_ERR_INVALID, "config.upsert_batch");
    expect_init_error("{\"url\": \"http://m:1\", \"max_text_bytes\": 70000}",
                      CS_ERR_INVALID, "config.max_text_bytes");
    expect_init_error("{\"url\": \"http://m:1\", \"token\": \"a\\nb\"}",
                      CS_ERR_INVALID, "line break");
}

static void test_no_token_no_header(void **unused)
{
    (void)unused;
    const cs_pass_desc *d = fake_host_load_pass("push_milvus");
    unsetenv("PM_TEST_TOKEN");
    fake_host *fh =
        fake_host_new(d, "{\"url\": \"http://m:1/v2/vectordb\", \"token_env\": "
                         "\"PM_TEST_TOKEN\"}");
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), CS_OK);
    assert_int_equal(fake_host_set_entity(fh, FQN,
                                          "{\"table\": {\"columns\": "
                                          "[]}}"),
                     0);
    fake_host_add_http(fh, "POST", "/collections/has", 200, OK_HAS_NO);
    fake_host_add_http(fh, "POST", "/collections/create", 200, OK_EMPTY);
    fake_host_add_http(fh, "POST", "/entities/upsert", 200, OK_UPSERT);
    assert_int_equal(d->process(st, fake_host_ctx(fh)), CS_OK);
    json_t *r = json_array_get(fake_host_http_log(fh), 0);
    assert_string_equal(json_string_value(json_object_get(r, "url")),
                        "http://m:1/v2/vectordb/collections/has");
    char *headers = json_dumps(json_object_get(r, "headers"), 0);
    assert_null(strstr(headers, "Authorization"));
    free(headers);
    d->fini(st);
    fake_host_free(fh);
}

static void test_no_llm_in_host(void **unused)
{
    (void)unused;
    const cs_pass_desc *d = fake_host_load_pass("push_milvus");
    fake_host *fh = fake_host_new(d, "{\"url\": \"http://m:1\"}");
    cs_host_api api = *fake_host_api(fh);
    api.struct_size = offsetof(cs_host_api, llm_chat); /* an ABI 1.1 host */
    void *st = NULL;
    assert_int_equal(d->init(&api, fake_host_ctx(fh), &st), CS_ERR_DENIED);
    assert_non_null(strstr(fake_host_error(fh), "llm_embed"));
    fake_host_free(fh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts_from_names_only),
        cmocka_unit_test(test_create_body_and_auth),
        cmocka_unit_test(test_record_ids),
        cmocka_unit_test(test_milvus_code_fails_entity),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_unchanged_texts_not_sent),
        cmocka_unit_test(test_audit_rows),
        cmocka_unit_test(test_existing_collection_checked),
        cmocka_unit_test(test_dropped_collection_recreated),
        cmocka_unit_test(test_stale_columns_deleted),
        cmocka_unit_test(test_column_collection),
        cmocka_unit_test(test_embedding_down),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_no_token_no_header),
        cmocka_unit_test(test_no_llm_in_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
