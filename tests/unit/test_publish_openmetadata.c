/* publish_openmetadata through a fake host with canned OpenMetadata
 * answers: suggestion bodies, guarded JSON Patch ops and their indexes,
 * replacing our own PII label, leaving a person's label and description
 * alone, idempotent second runs, lineage bodies, 401/404/409/5xx handling,
 * and one audit row per write. */
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

#define FQN "svc.db.s.customers"
#define ID "11111111-1111-1111-1111-111111111111"
#define PARENT_ID "22222222-2222-2222-2222-222222222222"
#define TOKEN "tok-secret-123"
#define LABEL(tag)                                                             \
    "{'tagFQN':'" tag "','source':'Classification','labelType':'Automated',"   \
    "'state':'Suggested'}"

/* Test JSON is written with single quotes; this turns them into double
 * quotes (the texts below hold no apostrophe). */
static json_t *J(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON at %d: %s\n%s", e.position, e.text, s);
    free(s);
    return v;
}

static char *S(const char *text)
{
    json_t *v = J(text);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

struct t {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct t *t, const char *extra_config)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"base_url\": \"http://om.test:8585/\", \"token\": \"" TOKEN
             "\", \"backoff_ms\": 5%s%s}",
             extra_config ? ", " : "", extra_config ? extra_config : "");
    t->d = fake_host_load_pass("publish_openmetadata");
    assert_non_null(t->d);
    t->fh = fake_host_new(t->d, cfg);
    assert_non_null(t->fh);
    t->st = NULL;
    assert_int_equal(
        t->d->init(fake_host_api(t->fh), fake_host_ctx(t->fh), &t->st), CS_OK);
}

static void stop(struct t *t)
{
    /* the token never reaches a log line */
    assert_null(strstr(fake_host_logs(t->fh), TOKEN));
    t->d->fini(t->st);
    fake_host_free(t->fh);
}

static void answer(struct t *t, const char *method, const char *needle,
                   long status, const char *body)
{
    char *b = body && *body ? S(body) : strdup("");
    assert_int_equal(fake_host_add_http(t->fh, method, needle, status, b), 0);
    free(b);
}

static int process(struct t *t, const char *aspects)
{
    json_t *a = J(aspects);
    json_object_set_new(a, "table", J("{'fullyQualifiedName':'" FQN "'}"));
    char *s = json_dumps(a, JSON_COMPACT);
    assert_int_equal(fake_host_set_entity(t->fh, FQN, s), 0);
    free(s);
    json_decref(a);
    return t->d->process(t->st, fake_host_ctx(t->fh));
}

static json_t *request(struct t *t, size_t i)
{
    return json_array_get(fake_host_http_log(t->fh), i);
}

static const char *req_str(struct t *t, size_t i, const char *key)
{
    return json_string_value(json_object_get(request(t, i), key));
}

/* The body of request i, parsed (new reference). */
static json_t *req_body(struct t *t, size_t i)
{
    json_t *b = json_loads(req_str(t, i, "body"), 0, NULL);
    assert_non_null(b);
    return b;
}

static void assert_json(json_t *got, const char *expected)
{
    json_t *want = J(expected);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
        fail_msg("JSON differs\ngot:  %s\nwant: %s", g, w);
    }
    json_decref(want);
}

static bool has_header(struct t *t, size_t i, const char *header)
{
    size_t k;
    json_t *h;
    json_array_foreach(json_object_get(request(t, i), "headers"), k, h)
    {
        if (strcmp(json_string_value(h), header) == 0)
            return true;
    }
    return false;
}

static json_t *published(struct t *t)
{
    json_t *p = json_object_get(fake_host_puts(t->fh), "published");
    assert_non_null(p);
    return p;
}

static long count(struct t *t, const char *name)
{
    return (long)json_integer_value(
        json_object_get(json_object_get(published(t), "counts"), name));
}

/* The reason given for skipping `field`, or NULL. */
static const char *skip_reason(struct t *t, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(published(t), "skipped"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0)
            return json_string_value(json_object_get(e, "reason"));
    }
    return NULL;
}

static json_t *audit(struct t *t, size_t i)
{
    return json_array_get(fake_host_audits(t->fh), i);
}

static const char *audit_str(struct t *t, size_t i, const char *key)
{
    return json_string_value(json_object_get(audit(t, i), key));
}

/* ---- fixtures ----------------------------------------------------------- */

/* The entity as OpenMetadata returns it: email at index 2, full_name
 * without a tags member. */
static const char *entity_plain =
    "{'id':'" ID "','name':'customers','fullyQualifiedName':'" FQN "',"
    "'columns':["
    "{'name':'id','dataType':'INT','fullyQualifiedName':'" FQN ".id',"
    "'tags':[]},"
    "{'name':'full_name','dataType':'VARCHAR','fullyQualifiedName':'" FQN
    ".full_name'},"
    "{'name':'email','dataType':'VARCHAR','fullyQualifiedName':'" FQN
    ".email','tags':[]},"
    "{'name':'branch_id','dataType':'INT','fullyQualifiedName':'" FQN
    ".branch_id','tags':[]}],"
    "'tags':[]}";

static const char *pii_email =
    "'pii':{'columns':{"
    "'email':{'entity':'EMAIL','score':1.0,'confidence':'high',"
    "'tag':'PII.Sensitive','status':'tagged','evidence':{'values_seen':50,"
    "'matched':50,'validated':50,'recognizer':'email'},"
    "'reason':'50 of 50 sampled values validate as EMAIL'},"
    "'notes':{'entity':'US_SSN','status':'candidate','tag':null,"
    "'reason':'1 of 50'}}}";

static const char *descriptions =
    "'description':{'table':{'description':'Customers of the bank.'},"
    "'columns':{'email':{'description':'Contact e-mail address.'}},"
    "'source':'describe_template','model':null}";

static char *aspects(const char *a, const char *b)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "{%s%s%s}", a ? a : "", a && b ? "," : "",
             b ? b : "");
    return buf;
}

static const char *no_open = "{'data':[],'paging':{'total':0}}";

/* ---- suggest mode ------------------------------------------------------- */

static void suggest_first_run(struct t *t)
{
    answer(t, "GET", "/api/v1/tables/name/" FQN "?fields=columns,tags", 200,
           entity_plain);
    answer(t, "GET", "/api/v1/suggestions?", 200, no_open);
    answer(t, "POST", "/api/v1/suggestions", 201,
           "{'id':'s-1','createdBy':{'name':'catalog-sync-bot'}}");
    answer(t, "POST", "/api/v1/suggestions", 201, "{'id':'s-2'}");
    answer(t, "POST", "/api/v1/suggestions", 201, "{'id':'s-3'}");
    assert_int_equal(process(t, aspects(pii_email, descriptions)), CS_OK);
}

static void test_suggest_bodies(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    suggest_first_run(&t);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 5);
    assert_string_equal(req_str(&t, 0, "url"),
                        "http://om.test:8585/api/v1/tables/name/" FQN
                        "?fields=columns,tags");
    assert_true(has_header(&t, 0, "Authorization: Bearer " TOKEN));
    assert_string_equal(req_str(&t, 1, "url"),
                        "http://om.test:8585/api/v1/suggestions?entityFQN=" FQN
                        "&status=Open&limit=100");
    assert_string_equal(req_str(&t, 2, "method"), "POST");
    assert_true(has_header(&t, 2, "Content-Type: application/json"));
    json_t *b = req_body(&t, 2);
    assert_json(b, "{'type':'SuggestDescription','entityLink':'<#E::table::" FQN
                   ">','description':'Customers of the bank.'}");
    json_decref(b);
    b = req_body(&t, 3);
    assert_json(b, "{'type':'SuggestDescription','entityLink':'<#E::table::" FQN
                   "::columns::email>','description':'Contact e-mail "
                   "address.'}");
    json_decref(b);
    b = req_body(&t, 4);
    assert_json(b,
                "{'type':'SuggestTagLabel','entityLink':'<#E::table::" FQN
                "::columns::email>','tagLabels':[" LABEL("PII.Sensitive") "]}");
    json_decref(b);
    /* the candidate is not a tag */
    assert_non_null(strstr(skip_reason(&t, "columns.notes.tags"), "candidate"));
    assert_int_equal(count(&t, "suggested"), 3);
    assert_string_equal(
        json_string_value(json_object_get(published(&t), "status")),
        "published");
    /* no description text in the published aspect */
    char *p = json_dumps(published(&t), 0);
    assert_null(strstr(p, "Contact e-mail"));
    free(p);
    stop(&t);
}

static void test_suggest_audit_rows(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    suggest_first_run(&t);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(audit_str(&t, i, "target"),
                            "openmetadata:table/" ID);
        assert_string_equal(audit_str(&t, i, "action"), "suggest");
    }
    assert_string_equal(audit_str(&t, 0, "field"), "description");
    assert_string_equal(audit_str(&t, 1, "field"), "columns.email.description");
    assert_string_equal(audit_str(&t, 2, "field"), "columns.email.tags");
    assert_json(
        json_object_get(audit(&t, 2), "new"),
        "{'suggestion':'s-3','tagLabels':[" LABEL("PII.Sensitive") "]}");
    assert_json(json_object_get(audit(&t, 2), "old"), "[]");
    json_t *ev = json_object_get(audit(&t, 2), "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "entity")),
                        "EMAIL");
    assert_json(json_object_get(audit(&t, 0), "evidence"),
                "{'source':'describe_template','model':null}");
    stop(&t);
}

static void test_suggest_second_run_sends_nothing(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    suggest_first_run(&t);
    fake_host_next_run(t.fh, 1);
    /* nobody acted on the suggestions yet */
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    assert_int_equal(process(&t, aspects(pii_email, descriptions)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    assert_non_null(
        strstr(skip_reason(&t, "columns.email.tags"), "suggestion s-3"));
    assert_string_equal(
        json_string_value(json_object_get(published(&t), "status")),
        "unchanged");
    /* a new value for the same field is a new suggestion */
    fake_host_next_run(t.fh, 1);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/suggestions?", 200, no_open);
    answer(&t, "POST", "/suggestions", 201, "{'id':'s-4'}");
    assert_int_equal(
        process(&t, aspects("'description':{'table':{'description':'Bank "
                            "customers, one row each.'},"
                            "'source':'describe_llm','model':'m1'}",
                            NULL)),
        CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 3);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 1);
    stop(&t);
}

static void test_open_suggestion_not_duplicated(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/suggestions?", 200,
           "{'data':[{'id':'open-7','type':'SuggestTagLabel','entityLink':"
           "'<#E::table::" FQN "::columns::email>','tagLabels':[" LABEL(
               "PII.Sensitive") "],'status':'Open'}],'paging':{'total':1}}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 2);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    assert_non_null(strstr(skip_reason(&t, "columns.email.tags"), "open-7"));
    /* adopted: the next run does not even list */
    json_t *st = json_object_get(fake_host_state(t.fh), "table:" FQN);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(st, "tags"), "columns.email.tags"),
            "suggestion")),
        "open-7");
    stop(&t);
}

/* A person's description and tag get no suggestion either. */
static const char *entity_human =
    "{'id':'" ID "','fullyQualifiedName':'" FQN "',"
    "'description':'Written by a steward.','columns':["
    "{'name':'id','dataType':'INT'},"
    "{'name':'full_name','dataType':'VARCHAR','tags':[{'tagFQN':"
    "'PII.NonSensitive','source':'Classification','labelType':'Automated',"
    "'state':'Confirmed'}]},"
    "{'name':'email','dataType':'VARCHAR','description':'Mail, checked by "
    "hand.','tags':[{'tagFQN':'PII.NonSensitive','source':'Classification',"
    "'labelType':'Manual','state':'Confirmed'}]}]}";

static const char *pii_both =
    "'pii':{'columns':{"
    "'email':{'entity':'EMAIL','tag':'PII.Sensitive','status':'tagged'},"
    "'full_name':{'entity':'PERSON_NAME','tag':'PII.Sensitive',"
    "'status':'tagged'}}}";

static void human_work_left_alone(const char *mode)
{
    struct t t;
    start(&t, mode);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_human);
    assert_int_equal(process(&t, aspects(pii_both, descriptions)), CS_OK);
    /* only the GET: no suggestion list, no POST, no PATCH */
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    assert_non_null(strstr(skip_reason(&t, "description"), "a person wrote"));
    assert_non_null(
        strstr(skip_reason(&t, "columns.email.description"), "a person"));
    assert_non_null(strstr(skip_reason(&t, "columns.email.tags"),
                           "a person set PII.NonSensitive (labelType Manual"));
    /* a machine label a person confirmed is a person's decision too */
    assert_non_null(
        strstr(skip_reason(&t, "columns.full_name.tags"), "state Confirmed"));
    stop(&t);
}

static void test_human_work_left_alone_suggest(void **state)
{
    (void)state;
    human_work_left_alone(NULL);
}

static void test_human_work_left_alone_apply(void **state)
{
    (void)state;
    human_work_left_alone("\"mode\": \"apply\"");
}

/* ---- apply mode --------------------------------------------------------- */

static void test_apply_patch_ops(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"mode\": \"apply\"");
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "PATCH", "/api/v1/tables/" ID, 200,
           "{'id':'" ID "','updatedBy':'catalog-sync-bot'}");
    assert_int_equal(process(&t, aspects(pii_both, descriptions)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 2);
    assert_string_equal(req_str(&t, 1, "method"), "PATCH");
    assert_string_equal(req_str(&t, 1, "url"),
                        "http://om.test:8585/api/v1/tables/" ID);
    assert_true(has_header(&t, 1, "Content-Type: application/json-patch+json"));
    json_t *ops = req_body(&t, 1);
    assert_json(
        ops,
        "[{'op':'add','path':'/description','value':'Customers of the "
        "bank.'},"
        "{'op':'test','path':'/columns/2/name','value':'email'},"
        "{'op':'add','path':'/columns/2/description','value':"
        "'Contact e-mail address.'},"
        "{'op':'add','path':'/columns/2/tags/-','value':" LABEL(
            "PII.Sensitive") "},"
                             "{'op':'test','path':'/columns/1/"
                             "name','value':'full_name'},"
                             "{'op':'add','path':'/columns/1/"
                             "tags','value':[" LABEL("PII.Sensitive") "]}]");
    json_decref(ops);
    /* one audit row per field written */
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 4);
    assert_string_equal(audit_str(&t, 0, "action"), "patch");
    assert_string_equal(audit_str(&t, 0, "field"), "description");
    assert_true(json_is_null(json_object_get(audit(&t, 0), "old")));
    assert_string_equal(json_string_value(json_object_get(audit(&t, 0), "new")),
                        "Customers of the bank.");
    assert_string_equal(audit_str(&t, 3, "field"), "columns.full_name.tags");
    assert_int_equal(count(&t, "patched"), 4);
    stop(&t);
}

/* The entity after our patch, then after a person changed it. */
static const char *entity_applied =
    "{'id':'" ID "','fullyQualifiedName':'" FQN "',"
    "'description':'Customers of the bank.','columns':["
    "{'name':'id','dataType':'INT'},"
    "{'name':'full_name','dataType':'VARCHAR','tags':[" LABEL(
        "PII.Sensitive") "]},"
                         "{'name':'email','dataType':'VARCHAR','description':'"
                         "Contact e-mail "
                         "address.','tags':[" LABEL("PII.Sensitive") "]}]}";

static const char *entity_edited =
    "{'id':'" ID "','fullyQualifiedName':'" FQN "',"
    "'description':'Customers, edited by a person.','columns':["
    "{'name':'id','dataType':'INT'},"
    "{'name':'full_name','dataType':'VARCHAR','tags':[]},"
    "{'name':'email','dataType':'VARCHAR','tags':[" LABEL(
        "PII.Sensitive") "]}]}";

static void test_apply_second_run_and_human_edits(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"mode\": \"apply\"");
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "PATCH", "/tables/" ID, 200, "{'id':'" ID "'}");
    assert_int_equal(process(&t, aspects(pii_both, descriptions)), CS_OK);
    fake_host_next_run(t.fh, 1);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_applied);
    assert_int_equal(process(&t, aspects(pii_both, descriptions)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    assert_int_equal(count(&t, "unchanged"), 4);
    /* a person rewrote the table description, cleared the column's and
     * removed the full_name tag: none of it is written back */
    fake_host_next_run(t.fh, 1);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_edited);
    assert_int_equal(process(&t, aspects(pii_both, descriptions)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_non_null(strstr(skip_reason(&t, "description"), "a person wrote"));
    assert_non_null(strstr(skip_reason(&t, "columns.email.description"),
                           "applied earlier"));
    assert_non_null(
        strstr(skip_reason(&t, "columns.full_name.tags"), "removed it"));
    stop(&t);
}

static void test_apply_replaces_own_pii_label(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"mode\": \"apply\"");
    answer(&t, "GET", "/tables/name/" FQN, 200,
           "{'id':'" ID "','columns':[{'name':'id','dataType':'INT'},"
           "{'name':'email','dataType':'VARCHAR','tags':[{'tagFQN':'Tier."
           "Tier1','source':'Classification','labelType':'Manual','state':"
           "'Confirmed'}," LABEL("PII.NonSensitive") "]}]}");
    answer(&t, "PATCH", "/tables/" ID, 200, "{'id':'" ID "'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_OK);
    json_t *ops = req_body(&t, 1);
    assert_json(ops,
                "[{'op':'test','path':'/columns/1/name','value':'email'},"
                "{'op':'test','path':'/columns/1/tags/1/tagFQN','value':"
                "'PII.NonSensitive'},"
                "{'op':'replace','path':'/columns/1/tags/1','value':" LABEL(
                    "PII.Sensitive") "}]");
    json_decref(ops);
    assert_json(json_object_get(audit(&t, 0), "old"),
                "[" LABEL("PII.NonSensitive") "]");
    stop(&t);
}

static void test_apply_removes_own_withdrawn_tag(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"mode\": \"apply\"");
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "PATCH", "/tables/" ID, 200, "{'id':'" ID "'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_OK);
    fake_host_next_run(t.fh, 1);
    /* the evidence is gone: pii_tag withdraws the tag we applied */
    answer(&t, "GET", "/tables/name/" FQN, 200,
           "{'id':'" ID "','columns':[{'name':'id','dataType':'INT'},"
           "{'name':'email','dataType':'VARCHAR','tags':[" LABEL(
               "PII.Sensitive") "]}]}");
    answer(&t, "PATCH", "/tables/" ID, 200, "{'id':'" ID "'}");
    assert_int_equal(
        process(&t,
                "{'pii':{'columns':{'email':{'status':'none','tag':null,"
                "'withdrawn':true,'previous':" LABEL("PII.Sensitive") "}}}}"),
        CS_OK);
    json_t *ops = req_body(&t, 1);
    assert_json(ops, "[{'op':'test','path':'/columns/1/name','value':'email'},"
                     "{'op':'test','path':'/columns/1/tags/0/tagFQN','value':"
                     "'PII.Sensitive'},"
                     "{'op':'remove','path':'/columns/1/tags/0'}]");
    json_decref(ops);
    assert_true(json_is_null(json_object_get(audit(&t, 0), "new")));
    stop(&t);
}

static void test_apply_conflict_refetch_retry_once(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"mode\": \"apply\"");
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "PATCH", "/tables/" ID, 409,
           "{'code':409,'message':'version conflict'}");
    /* meanwhile a column was dropped: email moved to index 1 */
    answer(&t, "GET", "/tables/name/" FQN, 200,
           "{'id':'" ID "','columns':[{'name':'id','dataType':'INT'},"
           "{'name':'email','dataType':'VARCHAR','tags':[]}]}");
    answer(&t, "PATCH", "/tables/" ID, 200, "{'id':'" ID "'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 4);
    json_t *ops = req_body(&t, 3);
    assert_json(ops, "[{'op':'test','path':'/columns/1/name','value':'email'},"
                     "{'op':'add','path':'/columns/1/tags/-','value':" LABEL(
                         "PII.Sensitive") "}]");
    json_decref(ops);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 1);
    stop(&t);
}

static void test_apply_conflict_twice_fails(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"mode\": \"apply\"");
    for (int i = 0; i < 2; i++) {
        answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
        answer(&t, "PATCH", "/tables/" ID, 412,
               "{'code':412,'message':'precondition failed'}");
    }
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_ERR);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 4);
    assert_non_null(strstr(fake_host_error(t.fh), "returned 412"));
    assert_non_null(strstr(fake_host_error(t.fh), "again"));
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    assert_string_equal(
        json_string_value(json_object_get(published(&t), "status")), "failed");
    stop(&t);
}

/* ---- lineage ------------------------------------------------------------ */

static const char *fk_edges =
    "'fk':{'edges':["
    "{'fromColumns':['branch_id'],'toTable':'svc.db.s.branches',"
    "'toColumns':['id'],'status':'confirmed','containment':1.0,"
    "'violations':0,'childRowsChecked':399,'sampled':false,'nameScore':1.0,"
    "'parentUniqueness':1.0,'reason':'named after the parent table; 0 of 399 "
    "child rows without a parent'},"
    "{'fromColumns':['id'],'toTable':'svc.db.s.people','toColumns':['id'],"
    "'status':'known','reason':'declared in the source'},"
    "{'fromColumns':['branch_id'],'toTable':'" FQN "','toColumns':['id'],"
    "'status':'confirmed','containment':1.0,'violations':0}],"
    "'rejected':[{'fromColumns':['email'],'toTable':'svc.db.s.x',"
    "'toColumns':['id'],'status':'rejected'}]}";

static void test_lineage_body(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/tables/name/svc.db.s.branches?fields=columns", 200,
           "{'id':'" PARENT_ID "','columns':[{'name':'id','dataType':'INT',"
           "'fullyQualifiedName':'svc.db.s.branches.id'}]}");
    answer(&t, "PUT", "/api/v1/lineage", 200, "{}");
    assert_int_equal(process(&t, aspects(fk_edges, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 3);
    json_t *b = req_body(&t, 2);
    assert_json(
        b, "{'edge':{'fromEntity':{'id':'" PARENT_ID "','type':'table'},"
           "'toEntity':{'id':'" ID "','type':'table'},"
           "'description':'Implicit foreign key found by catalog-sync from "
           "svc.db.s.branches to " FQN ": branch_id -> id (sketch containment "
           "1.00, 0 violations in 399 child rows checked, name score 1.00)',"
           "'lineageDetails':{'columnsLineage':[{'fromColumns':["
           "'svc.db.s.branches.id'],'toColumn':'" FQN ".branch_id'}],"
           "'description':'named after the parent table; 0 of 399 child rows "
           "without a parent'}}}");
    json_decref(b);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 1);
    assert_string_equal(audit_str(&t, 0, "action"), "lineage.put");
    assert_string_equal(audit_str(&t, 0, "target"), "openmetadata:table/" ID);
    assert_string_equal(audit_str(&t, 0, "field"), "lineage.svc.db.s.branches");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(audit(&t, 0), "evidence"), 0),
            "status")),
        "confirmed");
    assert_int_equal(count(&t, "lineage"), 1);
    assert_non_null(
        strstr(skip_reason(&t, "lineage." FQN), "within the table"));
    /* second run: same edge, nothing sent (the parent id is cached) */
    fake_host_next_run(t.fh, 1);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    assert_int_equal(process(&t, aspects(fk_edges, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    stop(&t);
}

static void test_lineage_missing_parent_skipped(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/tables/name/svc.db.s.branches", 404,
           "{'code':404,'message':'table not found'}");
    assert_int_equal(process(&t, aspects(fk_edges, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 2);
    assert_non_null(strstr(skip_reason(&t, "lineage.svc.db.s.branches"),
                           "not in OpenMetadata"));
    stop(&t);
}

/* OpenMetadata keeps one edge per pair of tables and a PUT replaces it:
 * two foreign keys to the same parent go out in one edge. */
static void test_lineage_two_keys_one_edge(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/tables/name/svc.db.s.people", 200,
           "{'id':'" PARENT_ID "','columns':[{'name':'id',"
           "'fullyQualifiedName':'svc.db.s.people.id'}]}");
    answer(&t, "PUT", "/lineage", 200, "{}");
    assert_int_equal(
        process(&t, "{'fk':{'edges':["
                    "{'fromColumns':['id'],'toTable':'svc.db.s.people',"
                    "'toColumns':['id'],'status':'confirmed','containment':1.0,"
                    "'violations':0,'childRowsChecked':10,'nameScore':1.0,"
                    "'reason':'same key name'},"
                    "{'fromColumns':['branch_id'],'toTable':'svc.db.s.people',"
                    "'toColumns':['id'],'status':'confirmed','containment':0.9,"
                    "'violations':0,'childRowsChecked':8,'nameScore':0.6,"
                    "'reason':'role name'}]}}"),
        CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 3);
    json_t *b = req_body(&t, 2);
    json_t *d = json_object_get(json_object_get(b, "edge"), "lineageDetails");
    assert_json(json_object_get(d, "columnsLineage"),
                "[{'fromColumns':['svc.db.s.people.id'],'toColumn':'" FQN
                ".id'},{'fromColumns':['svc.db.s.people.id'],'toColumn':'" FQN
                ".branch_id'}]");
    assert_string_equal(json_string_value(json_object_get(d, "description")),
                        "same key name; role name");
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(b, "edge"), "description")),
                           "Implicit foreign keys found by catalog-sync from "
                           "svc.db.s.people to " FQN ": id -> id (sketch "
                           "containment 1.00, 0 violations in 10 child rows "
                           "checked, name score 1.00); branch_id -> id"));
    json_decref(b);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 1);
    stop(&t);
}

/* A value suggested earlier is not applied when the mode changes: the
 * steward has it in front of them. */
static void test_mode_switch_does_not_resend(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/suggestions?", 200, no_open);
    answer(&t, "POST", "/suggestions", 201, "{'id':'s-1'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_OK);
    json_t *saved = json_deep_copy(fake_host_state(t.fh));
    stop(&t);
    start(&t, "\"mode\": \"apply\"");
    json_object_update(fake_host_state(t.fh), saved);
    json_decref(saved);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_non_null(strstr(skip_reason(&t, "columns.email.tags"), "s-1"));
    stop(&t);
}

/* ---- HTTP outcomes ------------------------------------------------------ */

static void test_401_stops_every_entity(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 401,
           "{'code':401,'message':'Token has expired'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_ERR_DENIED);
    const char *err = fake_host_error(t.fh);
    assert_non_null(
        strstr(err, "GET http://om.test:8585/api/v1/tables/name/" FQN));
    assert_non_null(strstr(err, "returned 401"));
    assert_non_null(strstr(err, "token"));
    assert_null(strstr(err, TOKEN));
    char first[1024];
    snprintf(first, sizeof first, "%s", err);
    assert_string_equal(
        json_string_value(json_object_get(published(&t), "status")), "failed");
    /* the next entity fails at once, without a request, same message */
    fake_host_next_run(t.fh, 0);
    answer(&t, "GET", "/tables/name/", 200, entity_plain);
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_ERR_DENIED);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 0);
    assert_string_equal(fake_host_error(t.fh), first);
    stop(&t);
}

static void test_403_on_write_stops(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/suggestions?", 200, no_open);
    answer(&t, "POST", "/suggestions", 403,
           "{'code':403,'message':'Principal is not allowed'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_ERR_DENIED);
    assert_non_null(strstr(fake_host_error(t.fh),
                           "POST http://om.test:8585/api/v1/suggestions "
                           "returned 403"));
    stop(&t);
}

static void test_404_skips_entity(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 404,
           "{'code':404,'message':'table instance for " FQN " not found'}");
    assert_int_equal(process(&t, aspects(pii_email, descriptions)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    json_t *p = published(&t);
    assert_string_equal(json_string_value(json_object_get(p, "status")),
                        "skipped");
    assert_non_null(strstr(json_string_value(json_object_get(p, "reason")),
                           "not in OpenMetadata"));
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 0);
    assert_int_equal(json_object_size(fake_host_state(t.fh)), 0);
    stop(&t);
}

static void test_5xx_retried_within_budget(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 500, "{'code':500}");
    answer(&t, "GET", "/tables/name/" FQN, 503, "");
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "PUT", "/lineage", 500, "{'code':500}");
    answer(&t, "GET", "/tables/name/svc.db.s.branches", 200,
           "{'id':'" PARENT_ID "','columns':[{'name':'id',"
           "'fullyQualifiedName':'svc.db.s.branches.id'}]}");
    answer(&t, "PUT", "/lineage", 200, "{}");
    assert_int_equal(process(&t, aspects(fk_edges, NULL)), CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 6);
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 1);
    stop(&t);
}

static void test_5xx_budget_spent_fails(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"retry_budget_ms\": 12");
    for (int i = 0; i < 5; i++)
        answer(&t, "GET", "/tables/name/" FQN, 500,
               "{'code':500,'message':'boom'}");
    assert_int_equal(process(&t, aspects(pii_email, NULL)), CS_ERR_UNAVAILABLE);
    /* 5 ms, then 10 ms would exceed the 12 ms budget */
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 2);
    assert_non_null(strstr(fake_host_error(t.fh), "returned 500: boom"));
    assert_non_null(strstr(fake_host_error(t.fh), "retry budget"));
    stop(&t);
}

static void test_bad_suggestion_fails_entity_not_others(void **state)
{
    (void)state;
    struct t t;
    start(&t, NULL);
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    answer(&t, "GET", "/suggestions?", 200, no_open);
    answer(&t, "POST", "/suggestions", 400,
           "{'code':400,'message':'entityLink invalid'}");
    answer(&t, "POST", "/suggestions", 201, "{'id':'s-2'}");
    answer(&t, "POST", "/suggestions", 201, "{'id':'s-3'}");
    assert_int_equal(process(&t, aspects(pii_email, descriptions)), CS_ERR);
    assert_non_null(strstr(fake_host_error(t.fh), "description: POST"));
    assert_non_null(strstr(fake_host_error(t.fh), "entityLink invalid"));
    /* the other two went out, with their audit rows */
    assert_int_equal(json_array_size(fake_host_audits(t.fh)), 2);
    assert_int_equal(count(&t, "errors"), 1);
    stop(&t);
}

/* ---- options ------------------------------------------------------------ */

static void test_token_from_env_and_missing(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("publish_openmetadata");
    assert_non_null(d);
    unsetenv("PUB_TEST_TOKEN");
    fake_host *fh = fake_host_new(d, "{\"base_url\": \"http://om:8585\", "
                                     "\"token_env\": \"PUB_TEST_TOKEN\"}");
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                     CS_ERR_INVALID);
    assert_non_null(strstr(fake_host_error(fh), "PUB_TEST_TOKEN"));
    setenv("PUB_TEST_TOKEN", "env-token-456", 1);
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), CS_OK);
    fake_host_add_http(fh, "GET", "/tables/name/", 404, "{}");
    fake_host_set_entity(fh, FQN, "{\"table\": {}}");
    assert_int_equal(d->process(st, fake_host_ctx(fh)), CS_OK);
    json_t *hdrs =
        json_object_get(json_array_get(fake_host_http_log(fh), 0), "headers");
    assert_string_equal(json_string_value(json_array_get(hdrs, 0)),
                        "Authorization: Bearer env-token-456");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(fake_host_http_log(fh), 0), "url")),
                        "http://om:8585/api/v1/tables/name/" FQN
                        "?fields=columns,tags");
    d->fini(st);
    unsetenv("PUB_TEST_TOKEN");
    fake_host_free(fh);
}

static void test_bad_options(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("publish_openmetadata");
    static const char *const cfgs[][2] = {
        {"{\"base_url\": \"http://om\", \"token\": \"t\", \"mode\": "
         "\"push\"}",
         "config.mode must be suggest or apply"},
        {"{\"base_url\": \"om:8585\", \"token\": \"t\"}",
         "config.base_url must start with http"},
        {"{\"base_url\": \"http://om\", \"token\": \"t\", \"backoff_ms\": -1}",
         "config.backoff_ms must be"},
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        fake_host *fh = fake_host_new(d, cfgs[i][0]);
        void *st = NULL;
        assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                         CS_ERR_INVALID);
        assert_non_null(strstr(fake_host_error(fh), cfgs[i][1]));
        fake_host_free(fh);
    }
}

static void test_switches_and_unknown_description_source(void **state)
{
    (void)state;
    struct t t;
    start(&t, "\"tags\": false, \"lineage\": false");
    answer(&t, "GET", "/tables/name/" FQN, 200, entity_plain);
    assert_int_equal(
        process(&t,
                aspects(pii_email, "'description':{'table':{'description':'x'},"
                                   "'source':'someone_else'}")),
        CS_OK);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    assert_non_null(strstr(skip_reason(&t, "description"),
                           "describe_llm|describe_template"));
    assert_null(skip_reason(&t, "columns.notes.tags")); /* tags: false */
    stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suggest_bodies),
        cmocka_unit_test(test_suggest_audit_rows),
        cmocka_unit_test(test_suggest_second_run_sends_nothing),
        cmocka_unit_test(test_open_suggestion_not_duplicated),
        cmocka_unit_test(test_human_work_left_alone_suggest),
        cmocka_unit_test(test_human_work_left_alone_apply),
        cmocka_unit_test(test_apply_patch_ops),
        cmocka_unit_test(test_apply_second_run_and_human_edits),
        cmocka_unit_test(test_apply_replaces_own_pii_label),
        cmocka_unit_test(test_apply_removes_own_withdrawn_tag),
        cmocka_unit_test(test_apply_conflict_refetch_retry_once),
        cmocka_unit_test(test_apply_conflict_twice_fails),
        cmocka_unit_test(test_lineage_body),
        cmocka_unit_test(test_lineage_missing_parent_skipped),
        cmocka_unit_test(test_lineage_two_keys_one_edge),
        cmocka_unit_test(test_mode_switch_does_not_resend),
        cmocka_unit_test(test_401_stops_every_entity),
        cmocka_unit_test(test_403_on_write_stops),
        cmocka_unit_test(test_404_skips_entity),
        cmocka_unit_test(test_5xx_retried_within_budget),
        cmocka_unit_test(test_5xx_budget_spent_fails),
        cmocka_unit_test(test_bad_suggestion_fails_entity_not_others),
        cmocka_unit_test(test_token_from_env_and_missing),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_switches_and_unknown_description_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
