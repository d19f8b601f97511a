/* pii_tag through a fake host: what gets tagged and what must not (flags
 * named like PII, years named like card codes, IBANs failing mod 97, one
 * SSN among 50 values), human tags, the LLM vote, low confidence on few
 * values, thresholds, no sampled value in the output, and process() on
 * four threads at once with one state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "fake_host.h"

/* ---- building an entity: table, sample, profile (+ pii_llm) ----------- */

struct ent {
    json_t *tcols;  /* table.columns */
    json_t *scols;  /* sample.columns */
    json_t *values; /* per column: [cell|null, ...] */
    json_t *pcols;  /* profile.columns */
    json_t *llm;    /* pii_llm.columns, or NULL */
};

static void ent_init(struct ent *e)
{
    e->tcols = json_array();
    e->scols = json_array();
    e->values = json_array();
    e->pcols = json_object();
    e->llm = NULL;
}

static void ent_free(struct ent *e)
{
    json_decref(e->tcols);
    json_decref(e->scols);
    json_decref(e->values);
    json_decref(e->pcols);
    json_decref(e->llm);
}

static size_t distinct(const json_t *vals)
{
    size_t n = 0, i, j;
    for (i = 0; i < json_array_size(vals); i++) {
        const json_t *v = json_array_get(vals, i);
        if (json_is_null(v))
            continue;
        for (j = 0; j < i; j++)
            if (json_equal(json_array_get(vals, j), (json_t *)v))
                break;
        n += j == i;
    }
    return n;
}

/* A column with its values (json array of strings/nulls, stolen), profile
 * typeClass and table tags (JSON text or NULL). */
static void ent_col(struct ent *e, const char *name, const char *type_class,
                    json_t *vals, const char *tags)
{
    json_t *tc = json_pack("{s:s}", "name", name);
    if (tags)
        json_object_set_new(tc, "tags", json_loads(tags, 0, NULL));
    json_array_append_new(e->tcols, tc);
    json_array_append_new(e->scols,
                          json_pack("{s:s, s:s}", "name", name, "type", "x"));
    json_object_set_new(e->pcols, name,
                        json_pack("{s:s, s:I}", "typeClass", type_class,
                                  "distinctCount", (json_int_t)distinct(vals)));
    json_array_append_new(e->values, vals);
}

static void ent_llm(struct ent *e, const char *column, const char *entity,
                    double confidence)
{
    if (!e->llm)
        e->llm = json_object();
    json_object_set_new(e->llm, column,
                        json_pack("{s:o, s:f}", "entity",
                                  entity ? json_string(entity) : json_null(),
                                  "confidence", confidence));
}

/* The aspects object for fake_host_set_entity (JSON text, free()). */
static char *ent_dump(const struct ent *e)
{
    size_t nrows = 0;
    for (size_t c = 0; c < json_array_size(e->values); c++)
        if (json_array_size(json_array_get(e->values, c)) > nrows)
            nrows = json_array_size(json_array_get(e->values, c));
    json_t *rows = json_array();
    for (size_t r = 0; r < nrows; r++) {
        json_t *row = json_array();
        for (size_t c = 0; c < json_array_size(e->values); c++) {
            json_t *v = json_array_get(json_array_get(e->values, c), r);
            json_array_append(row, v ? v : json_null());
        }
        json_array_append_new(rows, row);
    }
    json_t *all =
        json_pack("{s:{s:s, s:O}, s:{s:O, s:o, s:{}}, s:{s:I, s:O}}", "table",
                  "name", "t", "columns", e->tcols, "sample", "columns",
                  e->scols, "rows", rows, "columnsStats", "profile",
                  "sampleRows", (json_int_t)nrows, "columns", e->pcols);
    assert_non_null(all);
    if (e->llm)
        json_object_set_new(all, "pii_llm",
                            json_pack("{s:O}", "columns", e->llm));
    char *text = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    assert_non_null(text);
    return text;
}

/* ---- value generators --------------------------------------------------- */

static json_t *emails(int n)
{
    json_t *a = json_array();
    char buf[64];
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "canary.person%d@example.org", i);
        json_array_append_new(a, json_string(buf));
    }
    return a;
}

/* A German IBAN with a correct (or deliberately wrong) mod-97 key. */
static void de_iban(int i, int valid, char out[32])
{
    char bban[19];
    snprintf(bban, sizeof bban, "370400440532%06u",
             (unsigned)(13000 + i * 7) % 1000000u);
    /* BBAN + "DE00" as digits (D=13, E=14), mod 97. */
    char num[40];
    snprintf(num, sizeof num, "%s131400", bban);
    int rem = 0;
    for (const char *p = num; *p; p++)
        rem = (rem * 10 + (*p - '0')) % 97;
    int check = 98 - rem;
    if (!valid)
        check = check == 98 ? 2 : check + 1;
    snprintf(out, 32, "DE%02d%s", check, bban);
}

static json_t *ibans(int nvalid, int ninvalid)
{
    json_t *a = json_array();
    char buf[32];
    for (int i = 0; i < nvalid + ninvalid; i++) {
        de_iban(i, i < nvalid, buf);
        json_array_append_new(a, json_string(buf));
    }
    return a;
}

/* "from", "from+1", ... as text. */
static json_t *numbered(int from, int n)
{
    json_t *a = json_array();
    char buf[64];
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%d", from + i);
        json_array_append_new(a, json_string(buf));
    }
    return a;
}

static json_t *flags01(int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(i % 3 ? "1" : "0"));
    return a;
}

static json_t *words(const char *const *list, int n)
{
    json_t *a = json_array();
    int k = 0;
    while (list[k])
        k++;
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(list[i % k]));
    return a;
}

static const char *const CITIES[] = {
    "Marseille",  "Toulouse", "Bordeaux", "Grenoble", "Montpellier",
    "Strasbourg", "Nantes",   "Rennes",   "Dijon",    "Angers",
    "Limoges",    "Besancon", "Orleans",  "Poitiers", NULL};
static const char *const SURNAMES[] = {
    "Dupont",  "Lefebvre",  "Moreau",   "Fournier", "Girard",
    "Bonnet",  "Lambert",   "Fontaine", "Rousseau", "Vincent",
    "Mercier", "Blanchard", "Guerin",   "Boyer",    NULL};
static const char *const HANDLES[] = {"zq7kx", "pl0mw", "vv3rt",
                                      "kk9sd", "bn2qa", NULL};

/* ---- running the pass ---------------------------------------------------- */

struct fx {
    const cs_pass_desc *d;
    fake_host *fh;
    void *state;
    char *aspects;
};

static void run(struct fx *f, const char *config, struct ent *e)
{
    f->d = fake_host_load_pass("pii_tag");
    assert_non_null(f->d);
    assert_int_equal(f->d->kind, CS_PASS_ENTITY);
    f->fh = fake_host_new(f->d, config);
    assert_non_null(f->fh);
    fake_host_drop_network(f->fh);
    f->state = NULL;
    int rc = f->d->init(fake_host_api(f->fh), fake_host_ctx(f->fh), &f->state);
    if (rc != CS_OK)
        fail_msg("init: %s", fake_host_error(f->fh));
    f->aspects = ent_dump(e);
    assert_int_equal(fake_host_set_entity(f->fh, "pg.demo.s.t", f->aspects), 0);
    rc = f->d->process(f->state, fake_host_ctx(f->fh));
    if (rc != CS_OK)
        fail_msg("process: %s", fake_host_error(f->fh));
}

static void done(struct fx *f, struct ent *e)
{
    f->d->fini(f->state);
    fake_host_free(f->fh);
    free(f->aspects);
    ent_free(e);
}

static json_t *pii(struct fx *f)
{
    json_t *p = json_object_get(fake_host_puts(f->fh), "pii");
    assert_non_null(p);
    return p;
}

static json_t *column(struct fx *f, const char *name)
{
    return json_object_get(json_object_get(pii(f), "columns"), name);
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t ev(const json_t *col, const char *key)
{
    return json_integer_value(
        json_object_get(json_object_get(col, "evidence"), key));
}

/* Every sampled cell of 4+ characters must be absent from the output. */
static void assert_no_raw_value(struct fx *f, const struct ent *e)
{
    char *out = json_dumps(pii(f), JSON_COMPACT);
    assert_non_null(out);
    size_t c, r;
    json_t *vals, *v;
    json_array_foreach(e->values, c, vals)
    {
        json_array_foreach(vals, r, v)
        {
            const char *s = json_string_value(v);
            if (s && strlen(s) >= 4 && strstr(out, s))
                fail_msg("sampled value of column %zu found in the output", c);
        }
    }
    free(out);
}

/* ---- tests ------------------------------------------------------------- */

static void test_email_tagged_with_evidence(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    json_t *v = emails(48);
    json_array_append_new(v, json_string("n/a"));
    json_array_append_new(v, json_null());
    json_array_append_new(v, json_string("unknown"));
    ent_col(&e, "email", "text", v, NULL);
    ent_col(&e, "id", "integer", numbered(1, 51), NULL);
    run(&f, NULL, &e);
    json_t *c = column(&f, "email");
    assert_non_null(c);
    assert_string_equal(str(c, "status"), "tagged");
    assert_string_equal(str(c, "entity"), "EMAIL");
    assert_string_equal(str(c, "tag"), "PII.Sensitive");
    assert_string_equal(str(c, "confidence"), "high");
    assert_int_equal(ev(c, "values_seen"), 50);
    assert_int_equal(ev(c, "validated"), 48);
    assert_true(ev(c, "matched") >= 48);
    assert_non_null(
        json_object_get(json_object_get(c, "evidence"), "name_signal"));
    assert_non_null(strstr(str(c, "reason"), "48 of 50"));
    /* sequential ids carry no signal: counted as clean, not listed */
    assert_null(column(&f, "id"));
    json_t *sum = json_object_get(pii(&f), "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "tagged")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "columns")), 2);
    assert_int_equal(json_integer_value(json_object_get(sum, "clean")), 1);
    assert_no_raw_value(&f, &e);
    done(&f, &e);
}

static void assert_not_tagged(struct fx *f, const char *name)
{
    json_t *c = column(f, name);
    if (!c)
        return; /* no signal at all is also fine */
    assert_string_not_equal(str(c, "status"), "tagged");
    assert_string_not_equal(str(c, "status"), "name_only");
    assert_true(json_is_null(json_object_get(c, "tag")));
}

static void test_flag_named_email_not_tagged(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    ent_col(&e, "email_verified", "integer", flags01(50), NULL);
    ent_col(&e, "email", "boolean", numbered(0, 0), NULL);
    ent_col(&e, "has_email", "text",
            words((const char *const[]){"yes", "no", NULL}, 30), NULL);
    ent_col(&e, "phone", "integer", flags01(40), NULL);
    run(&f, NULL, &e);
    assert_not_tagged(&f, "email_verified");
    assert_not_tagged(&f, "email");
    assert_not_tagged(&f, "has_email");
    assert_not_tagged(&f, "phone");
    /* a name the values contradict is explained, not silently dropped */
    json_t *c = column(&f, "phone");
    assert_non_null(c);
    assert_string_equal(str(c, "status"), "none");
    assert_non_null(strstr(str(c, "reason"), "flags"));
    c = column(&f, "email");
    assert_non_null(c);
    assert_string_equal(str(c, "status"), "none");
    assert_non_null(strstr(str(c, "reason"), "boolean"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(pii(&f), "summary"), "tagged")),
                     0);
    done(&f, &e);
}

static void test_years_named_like_codes_not_tagged(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    ent_col(&e, "expiry_code", "integer", numbered(1990, 50), NULL);
    ent_col(&e, "cvv_year", "text", numbered(2000, 30), NULL);
    ent_col(&e, "card_code", "text", numbered(1975, 40), NULL);
    /* `cp` (code postal) would make 4-digit values postcodes */
    ent_col(&e, "cp", "integer", numbered(1980, 45), NULL);
    run(&f, NULL, &e);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(pii(&f), "summary"), "tagged")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(pii(&f), "summary"), "candidates")),
                     0);
    json_t *c = column(&f, "cp");
    assert_non_null(c);
    assert_non_null(strstr(str(c, "reason"), "years"));
    done(&f, &e);
}

static void test_iban_failing_mod97_shows_counts(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    /* 25 of 50 + the name bonus 0.2 = 0.7, below 0.8 */
    ent_col(&e, "iban", "text", ibans(25, 25), NULL);
    ent_col(&e, "good_iban", "text", ibans(50, 0), NULL);
    run(&f, NULL, &e);
    json_t *c = column(&f, "iban");
    assert_non_null(c);
    assert_string_not_equal(str(c, "status"), "tagged");
    assert_true(json_is_null(json_object_get(c, "tag")));
    assert_string_equal(str(c, "entity"), "IBAN");
    assert_int_equal(ev(c, "values_seen"), 50);
    assert_int_equal(ev(c, "matched"), 50);
    assert_int_equal(ev(c, "validated"), 25);
    assert_non_null(strstr(str(c, "reason"), "25 of 50"));
    json_t *g = column(&f, "good_iban");
    assert_string_equal(str(g, "status"), "tagged");
    assert_string_equal(str(g, "tag"), "PII.Sensitive");
    assert_no_raw_value(&f, &e);
    done(&f, &e);
}

static void test_thresholds_option(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    ent_col(&e, "iban", "text", ibans(30, 20), NULL);
    ent_col(&e, "email", "text", emails(50), NULL);
    run(&f, "{\"thresholds\":{\"IBAN\":0.5,\"EMAIL\":1.0}}", &e);
    assert_string_equal(str(column(&f, "iban"), "status"), "tagged");
    /* EMAIL: 50/50 + name bonus reaches 1.0; the other defaults stay */
    assert_string_equal(str(column(&f, "email"), "status"), "tagged");
    done(&f, &e);

    ent_init(&e);
    ent_col(&e, "contact", "text", emails(45), NULL);
    json_t *extra = words((const char *const[]){"none", NULL}, 5);
    json_array_extend(json_array_get(e.values, 0), extra);
    json_decref(extra);
    run(&f, "{\"thresholds\":{\"EMAIL\":0.95}}", &e);
    /* 45 of 50 = 0.9, no name bonus: below 0.95 */
    assert_string_not_equal(str(column(&f, "contact"), "status"), "tagged");
    done(&f, &e);
}

static void test_one_ssn_in_fifty_is_a_candidate(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    json_t *v = words(
        (const char *const[]){"pending", "resolved", "open", "waiting", NULL},
        49);
    json_array_insert_new(v, 17, json_string("536-22-8731"));
    ent_col(&e, "notes", "text", v, NULL);
    run(&f, NULL, &e);
    json_t *c = column(&f, "notes");
    assert_non_null(c);
    assert_string_equal(str(c, "status"), "candidate");
    assert_string_equal(str(c, "entity"), "US_SSN");
    assert_true(json_is_null(json_object_get(c, "tag")));
    assert_string_equal(str(c, "confidence"), "low");
    assert_int_equal(ev(c, "values_seen"), 50);
    assert_int_equal(ev(c, "validated"), 1);
    assert_non_null(strstr(str(c, "reason"), "1 of 50"));
    assert_no_raw_value(&f, &e);
    done(&f, &e);
}

static const char *const STREETS[] = {
    "12 rue des Lilas",    "4 avenue Jean Jaures", "33 boulevard Voltaire",
    "7 chemin des Vignes", "18 place Bellecour",   NULL};
static const char *const BIRTHS[] = {"1984-03-12", "1990-11-02", "1975-01-30",
                                     "1968-07-21", "2001-05-05", NULL};
static const char *const ZIPS[] = {"75011", "69002", "31000",
                                   "13008", "44000", NULL};

/* Person names, addresses, postcodes and birth dates are shapes, not
 * checksums: the same values are tagged only under a PII-like name. */
static void test_weak_types_need_a_name(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    ent_col(&e, "label", "text", words(CITIES, 50), NULL);
    ent_col(&e, "nom", "text", words(SURNAMES, 50), NULL);
    ent_col(&e, "lastName", "text", words(SURNAMES, 50), NULL);
    ent_col(&e, "adresse", "text", words(STREETS, 50), NULL);
    ent_col(&e, "location_note", "text", words(STREETS, 50), NULL);
    ent_col(&e, "date_naissance", "temporal", words(BIRTHS, 50), NULL);
    ent_col(&e, "created_on", "temporal", words(BIRTHS, 50), NULL);
    ent_col(&e, "zip", "text", words(ZIPS, 50), NULL);
    ent_col(&e, "qty", "text", words(ZIPS, 50), NULL);
    /* `name` of a genre: capitalized words under an ambiguous name */
    ent_col(&e, "name", "text", words(CITIES, 50), NULL);
    run(&f, NULL, &e);
    json_t *amb = column(&f, "name");
    assert_non_null(amb);
    assert_string_equal(str(amb, "status"), "none");
    assert_non_null(strstr(str(amb, "reason"), "ambiguous"));
    assert_null(column(&f, "label"));
    assert_not_tagged(&f, "location_note");
    assert_not_tagged(&f, "created_on");
    assert_not_tagged(&f, "qty");
    const char *names[] = {"nom", "lastName", "adresse", "date_naissance",
                           "zip"};
    const char *ents[] = {"PERSON_NAME", "PERSON_NAME", "ADDRESS",
                          "DATE_OF_BIRTH", "POSTCODE"};
    const char *tags[] = {"PII.Sensitive", "PII.Sensitive", "PII.NonSensitive",
                          "PII.NonSensitive", "PII.NonSensitive"};
    for (int i = 0; i < 5; i++) {
        json_t *c = column(&f, names[i]);
        if (!c)
            fail_msg("column %s not listed", names[i]);
        assert_string_equal(str(c, "status"), "tagged");
        assert_string_equal(str(c, "entity"), ents[i]);
        assert_string_equal(str(c, "tag"), tags[i]);
        assert_non_null(
            json_object_get(json_object_get(c, "evidence"), "name_signal"));
        assert_non_null(strstr(str(c, "reason"), "heuristic"));
    }
    assert_no_raw_value(&f, &e);
    done(&f, &e);
}

static void test_human_tag_left_alone(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    ent_col(&e, "email", "text", emails(50),
            "[{\"tagFQN\":\"PII.NonSensitive\",\"labelType\":\"Manual\","
            "\"state\":\"Confirmed\",\"source\":\"Classification\"}]");
    ent_col(&e, "backup_email", "text", emails(50),
            "[{\"tagFQN\":\"PII.Sensitive\",\"labelType\":\"Automated\"}]");
    ent_col(&e, "comment", "text", words(HANDLES, 50),
            "[{\"tagFQN\":\"PII.Sensitive\",\"labelType\":\"Automated\"}]");
    run(&f, NULL, &e);
    json_t *c = column(&f, "email");
    assert_string_equal(str(c, "status"), "human");
    assert_string_equal(str(c, "tag"), "PII.NonSensitive");
    assert_null(json_object_get(c, "entity"));
    /* an automated tag is re-evaluated: kept when supported ... */
    c = column(&f, "backup_email");
    assert_string_equal(str(c, "status"), "tagged");
    assert_string_equal(str(c, "previous"), "PII.Sensitive");
    assert_true(json_is_false(json_object_get(c, "withdrawn")));
    /* ... withdrawn when not */
    c = column(&f, "comment");
    assert_non_null(c);
    assert_string_equal(str(c, "status"), "none");
    assert_true(json_is_true(json_object_get(c, "withdrawn")));
    assert_non_null(strstr(str(c, "reason"), "withdraws"));
    json_t *sum = json_object_get(pii(&f), "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "human")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "withdrawn")), 1);
    done(&f, &e);
}

/* email: recognizers EMAIL, LLM EMAIL; backup: recognizers EMAIL, LLM
 * null; handle: recognizers nothing, LLM PERSON_NAME. */
static void vote_entity(struct ent *e)
{
    ent_init(e);
    ent_col(e, "email", "text", emails(50), NULL);
    ent_col(e, "backup", "text", emails(50), NULL);
    ent_col(e, "handle", "text", words(HANDLES, 50), NULL);
    ent_llm(e, "email", "EMAIL", 0.95);
    ent_llm(e, "backup", NULL, 0.7);
    ent_llm(e, "handle", "PERSON_NAME", 0.9);
}

static void test_vote_recognizers(void **unused)
{
    struct ent e;
    struct fx f;
    vote_entity(&e);
    run(&f, NULL, &e);
    assert_string_equal(str(column(&f, "email"), "status"), "tagged");
    assert_string_equal(str(column(&f, "backup"), "status"), "tagged");
    json_t *h = column(&f, "handle");
    assert_non_null(h); /* the LLM vote is shown ... */
    assert_string_equal(str(h, "status"), "none"); /* ... but not used */
    json_t *llm = json_object_get(json_object_get(h, "evidence"), "llm");
    assert_string_equal(str(llm, "entity"), "PERSON_NAME");
    llm = json_object_get(json_object_get(column(&f, "backup"), "evidence"),
                          "llm");
    assert_true(json_is_object(llm));
    assert_true(json_is_null(json_object_get(llm, "entity")));
    assert_string_equal(str(pii(&f), "vote"), "recognizers");
    done(&f, &e);
}

static void test_vote_both(void **unused)
{
    struct ent e;
    struct fx f;
    vote_entity(&e);
    run(&f, "{\"vote\":\"both\"}", &e);
    assert_string_equal(str(column(&f, "email"), "status"), "tagged");
    json_t *b = column(&f, "backup");
    assert_string_equal(str(b, "status"), "candidate");
    assert_true(json_is_null(json_object_get(b, "tag")));
    assert_non_null(strstr(str(b, "reason"), "vote=both"));
    assert_true(json_is_true(json_object_get(b, "vote_blocked")));
    assert_null(json_object_get(column(&f, "email"), "vote_blocked"));
    assert_string_not_equal(str(column(&f, "handle"), "status"), "tagged");
    done(&f, &e);
}

static void test_vote_either(void **unused)
{
    struct ent e;
    struct fx f;
    vote_entity(&e);
    run(&f, "{\"vote\":\"either\"}", &e);
    json_t *c = column(&f, "email");
    assert_string_equal(str(c, "status"), "tagged");
    assert_string_equal(str(c, "confidence"), "high");
    assert_string_equal(str(column(&f, "backup"), "status"), "tagged");
    json_t *h = column(&f, "handle");
    assert_string_equal(str(h, "status"), "tagged");
    assert_string_equal(str(h, "entity"), "PERSON_NAME");
    assert_string_equal(str(h, "confidence"), "low");
    assert_non_null(strstr(str(h, "reason"), "LLM vote alone"));
    assert_no_raw_value(&f, &e);
    done(&f, &e);
}

static void test_few_values_low_confidence(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    json_t *v = emails(5);
    for (int i = 0; i < 20; i++)
        json_array_append_new(v, json_null());
    ent_col(&e, "email", "text", v, NULL);
    ent_col(&e, "courriel", "text", numbered(0, 0), NULL);
    /* one SSN in 25 rows; the value also reads as a phone number: the
     * column name decides between equal shares */
    json_t *one = json_array();
    json_array_append_new(one, json_string("536-22-8731"));
    ent_col(&e, "ssn", "text", one, NULL);
    run(&f, NULL, &e);
    json_t *ssn = column(&f, "ssn");
    assert_string_equal(str(ssn, "status"), "tagged");
    assert_string_equal(str(ssn, "entity"), "US_SSN");
    assert_string_equal(str(ssn, "confidence"), "low");
    json_t *c = column(&f, "email");
    assert_string_equal(str(c, "status"), "tagged");
    assert_string_equal(str(c, "confidence"), "low");
    assert_int_equal(ev(c, "values_seen"), 5);
    assert_non_null(strstr(str(c, "reason"), "min_values"));
    /* no value at all: the name alone is reported, never tagged */
    c = column(&f, "courriel");
    assert_non_null(c);
    assert_string_equal(str(c, "status"), "name_only");
    assert_string_equal(str(c, "entity"), "EMAIL");
    assert_string_equal(str(c, "confidence"), "low");
    assert_true(json_is_null(json_object_get(c, "tag")));
    done(&f, &e);
}

static void test_bad_options_refused(void **unused)
{
    const cs_pass_desc *d = fake_host_load_pass("pii_tag");
    assert_non_null(d);
    const char *bad[] = {"{\"vote\":\"majority\"}",
                         "{\"thresholds\":{\"EMAILS\":0.5}}",
                         "{\"thresholds\":{\"EMAIL\":1.5}}",
                         "{\"entities\":[\"EMAIL\",\"FAX\"]}",
                         "{\"name_weight\":2}",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        fake_host *fh = fake_host_new(d, bad[i]);
        assert_non_null(fh);
        void *st = NULL;
        assert_int_not_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                             CS_OK);
        assert_true(strlen(fake_host_error(fh)) > 0);
        fake_host_free(fh);
    }
}

static void test_entities_option(void **unused)
{
    struct ent e;
    struct fx f;
    ent_init(&e);
    ent_col(&e, "email", "text", emails(50), NULL);
    ent_col(&e, "iban", "text", ibans(50, 0), NULL);
    run(&f, "{\"entities\":[\"IBAN\"]}", &e);
    assert_null(column(&f, "email"));
    assert_string_equal(str(column(&f, "iban"), "status"), "tagged");
    done(&f, &e);
}

/* ---- four threads, one state -------------------------------------------- */

#define NTHREADS 4

struct worker {
    const cs_pass_desc *d;
    void *state;
    fake_host *fh;
    char *expected; /* the single-threaded output */
    int mismatches;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 25; i++) {
        if (w->d->process(w->state, fake_host_ctx(w->fh)) != CS_OK) {
            w->mismatches++;
            continue;
        }
        char *out = json_dumps(json_object_get(fake_host_puts(w->fh), "pii"),
                               JSON_SORT_KEYS | JSON_COMPACT);
        if (!out || strcmp(out, w->expected) != 0)
            w->mismatches++;
        free(out);
    }
    return NULL;
}

static void test_concurrent_process(void **unused)
{
    const cs_pass_desc *d = fake_host_load_pass("pii_tag");
    assert_non_null(d);
    struct worker w[NTHREADS];
    void *state = NULL;
    for (int t = 0; t < NTHREADS; t++) {
        struct ent e;
        ent_init(&e);
        ent_col(&e, t % 2 ? "email" : "iban", "text",
                t % 2 ? emails(40 + t) : ibans(40 + t, t), NULL);
        ent_col(&e, "nom", "text", words(SURNAMES, 40 + t), NULL);
        w[t] = (struct worker){.d = d, .fh = fake_host_new(d, NULL)};
        assert_non_null(w[t].fh);
        fake_host_drop_network(w[t].fh);
        if (t == 0)
            assert_int_equal(
                d->init(fake_host_api(w[0].fh), fake_host_ctx(w[0].fh), &state),
                CS_OK);
        w[t].state = state;
        char *text = ent_dump(&e);
        char fqn[32];
        snprintf(fqn, sizeof fqn, "pg.demo.s.t%d", t);
        assert_int_equal(fake_host_set_entity(w[t].fh, fqn, text), 0);
        free(text);
        ent_free(&e);
        assert_int_equal(d->process(state, fake_host_ctx(w[t].fh)), CS_OK);
        w[t].expected =
            json_dumps(json_object_get(fake_host_puts(w[t].fh), "pii"),
                       JSON_SORT_KEYS | JSON_COMPACT);
        assert_non_null(w[t].expected);
    }
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    /* the entities differ, so a mixed-up state would show */
    assert_string_not_equal(w[0].expected, w[1].expected);
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(w[t].mismatches, 0);
        free(w[t].expected);
    }
    d->fini(state);
    for (int t = 0; t < NTHREADS; t++)
        fake_host_free(w[t].fh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_tagged_with_evidence),
        cmocka_unit_test(test_flag_named_email_not_tagged),
        cmocka_unit_test(test_years_named_like_codes_not_tagged),
        cmocka_unit_test(test_iban_failing_mod97_shows_counts),
        cmocka_unit_test(test_thresholds_option),
        cmocka_unit_test(test_one_ssn_in_fifty_is_a_candidate),
        cmocka_unit_test(test_weak_types_need_a_name),
        cmocka_unit_test(test_human_tag_left_alone),
        cmocka_unit_test(test_vote_recognizers),
        cmocka_unit_test(test_vote_both),
        cmocka_unit_test(test_vote_either),
        cmocka_unit_test(test_few_values_low_confidence),
        cmocka_unit_test(test_bad_options_refused),
        cmocka_unit_test(test_entities_option),
        cmocka_unit_test(test_concurrent_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
