/* fk_discover through a fake host: fingerprints built with fk_common from
 * known value sets, anti-join counts canned.  Covers choosing a parent
 * (names, values, ties), confirmation (violations, tolerance, timeout,
 * table samples), declared keys, incremental runs and the absence of raw
 * values in everything the pass writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "fk.h"

/* ---- fingerprints ------------------------------------------------------ */

static uint8_t key[16];

/* A fingerprint column for the distinct values vals[0..n), seen in `rows`
 * non-null sample rows. */
static json_t *col_values(fk_class cls, const char *const *vals, size_t n,
                          long rows, bool pk)
{
    fk_kmv s;
    fk_kmv_init(&s, FK_KMV_K);
    for (size_t i = 0; i < n; i++) {
        uint64_t h;
        assert_int_equal(fk_hash_value(key, cls, vals[i], &h), 0);
        fk_kmv_add(&s, h);
    }
    json_t *c = json_pack(
        "{s:s, s:f, s:I, s:I, s:I, s:f, s:o, s:b, s:b, s:[]}", "typeClass",
        fk_class_name(cls), "nullFraction", 0.0, "sampleNonNull",
        (json_int_t)rows, "sampleDistinct", (json_int_t)n, "distinctEstimate",
        (json_int_t)n, "uniqueness", (double)n / (double)rows, "kmv",
        fk_kmv_to_json(&s), "primaryKey", pk, "unique", false, "top");
    assert_non_null(c);
    return c;
}

/* The integers lo..hi. */
static json_t *col_ints(long lo, long hi, long rows, bool pk)
{
    size_t n = (size_t)(hi - lo + 1);
    char(*buf)[24] = malloc(n * sizeof *buf);
    const char **vals = malloc(n * sizeof *vals);
    assert_non_null(buf);
    assert_non_null(vals);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "%ld", lo + (long)i);
        vals[i] = buf[i];
    }
    json_t *c = col_values(FK_CLASS_INTEGER, vals, n, rows, pk);
    json_object_set_new(c, "min", json_integer(lo));
    json_object_set_new(c, "max", json_integer(hi));
    free(buf);
    free(vals);
    return c;
}

static json_t *table_fp(const char *schema, const char *table, long rows)
{
    json_t *t = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:{}, s:[]}",
                          "version", 1, "connection", "src", "schema", schema,
                          "table", table, "rowCount", (json_int_t)rows,
                          "sampleRows", (json_int_t)(rows < 1000 ? rows : 1000),
                          "columns", "declaredForeignKeys");
    assert_non_null(t);
    return t;
}

static void add_col(json_t *t, const char *name, json_t *col)
{
    json_object_set_new(json_object_get(t, "columns"), name, col);
}

static char *fqn_of(const char *schema, const char *table)
{
    static char buf[8][128];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 128, "pg.db.%s.%s", schema, table);
    return b;
}

/* store: {fqn: {"fingerprint": fp}} */
static void store_add(json_t *store, json_t *fp)
{
    const char *s = json_string_value(json_object_get(fp, "schema"));
    const char *t = json_string_value(json_object_get(fp, "table"));
    json_object_set_new(store, fqn_of(s, t),
                        json_pack("{s:o}", "fingerprint", fp));
}

/* ---- the pass ------------------------------------------------------------ */

struct run {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct run *r, const char *config)
{
    fk_key_from_string("test", key);
    r->d = fake_host_load_pass("fk_discover");
    assert_non_null(r->d);
    r->fh = fake_host_new(r->d, config);
    assert_non_null(r->fh);
    assert_int_equal(
        r->d->init(fake_host_api(r->fh), fake_host_ctx(r->fh), &r->st), CS_OK);
    assert_int_equal(fake_host_add_sql(r->fh, "pg_settings",
                                       "{\"columns\":[[\"setting\",\"text\"]],"
                                       "\"rows\":[[\"60000\"]]}"),
                     0);
    assert_int_equal(fake_host_add_sql(r->fh, "set_config",
                                       "{\"columns\":[[\"set_config\",\"text\"]"
                                       "],\"rows\":[[\"x\"]]}"),
                     0);
}

static void stop(struct run *r)
{
    r->d->fini(r->st);
    fake_host_free(r->fh);
}

/* Canned anti-join result for child -> parent. */
static void counts(struct run *r, const char *child, const char *ccol,
                   const char *parent, const char *pcol, long checked,
                   long violations)
{
    char cs[64], ct[64], ps[64], pt[64], needle[512], res[256];
    assert_int_equal(sscanf(child, "%63[^.].%63s", cs, ct), 2);
    assert_int_equal(sscanf(parent, "%63[^.].%63s", ps, pt), 2);
    snprintf(needle, sizeof needle,
             "FROM \"%s\".\"%s\" p WHERE p.\"%s\" = x.v)) AS violations FROM "
             "(SELECT c.\"%s\" AS v FROM \"%s\".\"%s\" c",
             ps, pt, pcol, ccol, cs, ct);
    snprintf(res, sizeof res,
             "{\"columns\":[[\"checked\",\"int8\"],[\"violations\",\"int8\"]],"
             "\"rows\":[[\"%ld\",\"%ld\"]]}",
             checked, violations);
    assert_int_equal(fake_host_add_sql(r->fh, needle, res), 0);
}

static void finish(struct run *r, json_t *store, const char *const *run_fqns)
{
    json_t *run = json_array();
    for (int i = 0; run_fqns[i]; i++)
        json_array_append_new(run, json_string(run_fqns[i]));
    assert_int_equal(fake_host_set_batch_json(r->fh, store, run), 0);
    int rc = r->d->finish(r->st, fake_host_ctx(r->fh));
    if (rc != CS_OK)
        fail_msg("finish: %d %s", rc, fake_host_error(r->fh));
}

static json_t *fk_of(struct run *r, const char *schema, const char *table)
{
    return json_object_get(
        json_object_get(fake_host_batch_puts(r->fh), fqn_of(schema, table)),
        "fk");
}

/* The edges (or rejected ones) of a child column. */
static size_t edges_of(json_t *fk, const char *list, const char *col,
                       json_t **first)
{
    size_t i, n = 0;
    json_t *e;
    *first = NULL;
    json_array_foreach(json_object_get(fk, list), i, e)
    {
        const char *c = json_string_value(
            json_array_get(json_object_get(e, "fromColumns"), 0));
        if (c && strcmp(c, col) == 0 && n++ == 0)
            *first = e;
    }
    return n;
}

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static bool sql_sent(struct run *r, const char *needle)
{
    size_t i;
    json_t *q;
    json_array_foreach(fake_host_sql_log(r->fh), i, q)
    {
        if (strstr(sval(q, "sql"), needle))
            return true;
    }
    return false;
}

/* ---- tests ------------------------------------------------------------- */

/* customers(id 1..300), accounts(id 1..500, customer_id 1..300): the
 * child's values fit both keys; the name picks customers. */
static json_t *bank_store(void)
{
    json_t *store = json_object();
    json_t *cu = table_fp("bank", "customers", 300);
    add_col(cu, "id", col_ints(1, 300, 300, true));
    store_add(store, cu);
    json_t *ac = table_fp("bank", "accounts", 500);
    add_col(ac, "id", col_ints(1, 500, 500, true));
    add_col(ac, "customer_id", col_ints(1, 300, 500, false));
    store_add(store, ac);
    return store;
}

static void test_plain_fk_confirmed(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    counts(&r, "bank.accounts", "customer_id", "bank.customers", "id", 500, 0);
    const char *run[] = {fqn_of("bank", "customers"),
                         fqn_of("bank", "accounts"), NULL};
    finish(&r, bank_store(), run);
    json_t *e, *fk = fk_of(&r, "bank", "accounts");
    assert_non_null(fk);
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.bank.customers");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(e, "toColumns"), 0)),
        "id");
    assert_string_equal(sval(e, "status"), "confirmed");
    assert_int_equal(json_integer_value(json_object_get(e, "violations")), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "childRowsChecked")),
                     500);
    assert_true(json_number_value(json_object_get(e, "nameScore")) >= 0.99);
    assert_true(json_number_value(json_object_get(e, "containment")) > 0.9);
    assert_true(json_number_value(json_object_get(e, "parentUniqueness")) >=
                0.99);
    assert_non_null(strstr(sval(e, "reason"), "0 of 500"));
    /* a primary key is nobody's child by values alone (1..300 lies in
     * accounts.id too) */
    assert_int_equal(json_array_size(json_object_get(fk, "edges")), 1);
    /* tables of the run get an aspect even without edges */
    json_t *cu = fk_of(&r, "bank", "customers");
    assert_non_null(cu);
    assert_int_equal(json_array_size(json_object_get(cu, "edges")), 0);
    /* NULL-safe anti-join with quoted names; session timeout set and put
     * back (30000 from the option, below the connection's 60000) */
    assert_true(sql_sent(&r, "NOT EXISTS"));
    assert_true(sql_sent(&r, "WHERE c.\"customer_id\" IS NOT NULL"));
    assert_false(sql_sent(&r, "TABLESAMPLE"));
    json_t *log = fake_host_sql_log(r.fh);
    size_t n = json_array_size(log);
    assert_true(n >= 4);
    json_t *set = json_array_get(log, 1), *reset = json_array_get(log, n - 1);
    assert_non_null(strstr(sval(set, "sql"), "set_config"));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(set, "params"), 0)),
        "30000");
    assert_non_null(strstr(sval(reset, "sql"), "set_config"));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(reset, "params"), 0)),
        "60000");
    assert_string_equal(sval(set, "connection"), "src");
    assert_true(fake_host_metric(r.fh, "fk_confirmed") == 1);
    stop(&r);
}

/* manager_id (1..40) fits branches.id (1..40) as well as employees.id
 * (1..400): the role name and the self-reference choose employees. */
static void test_role_named_self_reference(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = json_object();
    json_t *br = table_fp("bank", "branches", 40);
    add_col(br, "id", col_ints(1, 40, 40, true));
    store_add(store, br);
    json_t *em = table_fp("bank", "employees", 400);
    add_col(em, "id", col_ints(1, 400, 400, true));
    add_col(em, "manager_id", col_ints(1, 40, 399, false));
    add_col(em, "branch_id", col_ints(1, 40, 400, false));
    store_add(store, em);
    counts(&r, "bank.employees", "manager_id", "bank.employees", "id", 399, 0);
    counts(&r, "bank.employees", "branch_id", "bank.branches", "id", 400, 0);
    const char *run[] = {fqn_of("bank", "branches"),
                         fqn_of("bank", "employees"), NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "bank", "employees");
    assert_int_equal(edges_of(fk, "edges", "manager_id", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.bank.employees");
    assert_string_equal(sval(e, "status"), "confirmed");
    assert_int_equal(edges_of(fk, "edges", "branch_id", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.bank.branches");
    stop(&r);
}

/* Without any name evidence a column is kept when exactly one unique
 * column holds its values, and dropped when several do (quantity 1..5). */
static void test_value_evidence_alone(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = json_object();
    json_t *de = table_fp("shop", "depots", 100);
    add_col(de, "id", col_ints(7001, 7100, 100, true));
    store_add(store, de);
    json_t *ca = table_fp("shop", "carriers", 8);
    add_col(ca, "id", col_ints(1, 8, 8, true));
    store_add(store, ca);
    json_t *pa = table_fp("shop", "parcels", 900);
    add_col(pa, "id", col_ints(1, 900, 900, true));
    add_col(pa, "sender", col_ints(7001, 7050, 900, false));
    add_col(pa, "quantity", col_ints(1, 5, 900, false));
    store_add(store, pa);
    counts(&r, "shop.parcels", "sender", "shop.depots", "id", 900, 0);
    const char *run[] = {fqn_of("shop", "parcels"), NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "shop", "parcels");
    assert_int_equal(edges_of(fk, "edges", "sender", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.shop.depots");
    assert_true(json_number_value(json_object_get(e, "nameScore")) == 0);
    assert_non_null(strstr(sval(e, "reason"), "no name evidence"));
    assert_int_equal(edges_of(fk, "edges", "quantity", &e), 0);
    assert_int_equal(edges_of(fk, "rejected", "quantity", &e), 0);
    assert_false(sql_sent(&r, "\"quantity\""));
    stop(&r);
}

static void test_violations_reject(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    counts(&r, "bank.accounts", "customer_id", "bank.customers", "id", 500, 3);
    const char *run[] = {fqn_of("bank", "accounts"), NULL};
    finish(&r, bank_store(), run);
    json_t *e, *fk = fk_of(&r, "bank", "accounts");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 0);
    assert_int_equal(edges_of(fk, "rejected", "customer_id", &e), 1);
    assert_string_equal(sval(e, "status"), "rejected");
    assert_int_equal(json_integer_value(json_object_get(e, "violations")), 3);
    assert_non_null(strstr(sval(e, "reason"), "3 of 500 child rows have no "
                                              "parent"));
    stop(&r);

    /* the same counts within a tolerance of 5 */
    start(&r, "{\"tolerance\": 5}");
    counts(&r, "bank.accounts", "customer_id", "bank.customers", "id", 500, 3);
    finish(&r, bank_store(), run);
    fk = fk_of(&r, "bank", "accounts");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_string_equal(sval(e, "status"), "confirmed");
    stop(&r);
}

static void test_declared_fk_is_known(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = bank_store();
    json_t *ac = json_object_get(
        json_object_get(store, fqn_of("bank", "accounts")), "fingerprint");
    json_array_append_new(json_object_get(ac, "declaredForeignKeys"),
                          json_pack("{s:[s], s:[s]}", "columns", "customer_id",
                                    "referredColumns",
                                    "pg.db.bank.customers.id"));
    const char *run[] = {fqn_of("bank", "accounts"), NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "bank", "accounts");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_string_equal(sval(e, "status"), "known");
    assert_string_equal(sval(e, "toTable"), "pg.db.bank.customers");
    assert_non_null(strstr(sval(e, "reason"), "declared"));
    assert_false(sql_sent(&r, "NOT EXISTS")); /* nothing to discover */
    stop(&r);
}

/* Two parents holding the same keys: the name decides; when names and
 * values are equal, both are reported. */
static void test_one_parent_unless_equal(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = json_object();
    json_t *cu = table_fp("crm", "customers", 300);
    add_col(cu, "id", col_ints(1, 300, 300, true));
    store_add(store, cu);
    json_t *cl = table_fp("crm", "clients", 300);
    add_col(cl, "id", col_ints(1, 300, 300, true));
    store_add(store, cl);
    json_t * or = table_fp("crm", "orders", 700);
    add_col(or, "customer_id", col_ints(1, 250, 700, false));
    store_add(store, or);
    counts(&r, "crm.orders", "customer_id", "crm.customers", "id", 700, 0);
    counts(&r, "crm.orders", "customer_id", "crm.clients", "id", 700, 0);
    const char *run[] = {fqn_of("crm", "orders"), NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "crm", "orders");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.crm.customers");
    stop(&r);

    /* two `customers` tables in other schemas than the child's */
    start(&r, NULL);
    store = json_object();
    cu = table_fp("crm", "customers", 300);
    add_col(cu, "id", col_ints(1, 300, 300, true));
    store_add(store, cu);
    json_t *cu2 = table_fp("erp", "customers", 300);
    add_col(cu2, "id", col_ints(1, 300, 300, true));
    store_add(store, cu2);
    or = table_fp("web", "orders", 700);
    add_col(or, "customer_id", col_ints(1, 250, 700, false));
    store_add(store, or);
    counts(&r, "web.orders", "customer_id", "crm.customers", "id", 700, 0);
    counts(&r, "web.orders", "customer_id", "erp.customers", "id", 700, 0);
    const char *run2[] = {fqn_of("web", "orders"), NULL};
    finish(&r, store, run2);
    fk = fk_of(&r, "web", "orders");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 2);
    assert_non_null(strstr(sval(e, "reason"), "evidence equal for 2"));
    stop(&r);
}

/* A table of this run against a fingerprint stored by an earlier run, and
 * an older child refreshed because its parent arrived now. */
static void test_incremental(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = bank_store();
    json_t *lo = table_fp("bank", "loans", 200);
    add_col(lo, "id", col_ints(1, 200, 200, true));
    add_col(lo, "customer_id", col_ints(101, 250, 200, false));
    store_add(store, lo);
    counts(&r, "bank.loans", "customer_id", "bank.customers", "id", 200, 0);
    const char *run[] = {fqn_of("bank", "loans"), NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "bank", "loans");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.bank.customers");
    /* tables of earlier runs with nothing new are left alone */
    assert_null(fk_of(&r, "bank", "accounts"));
    assert_null(fk_of(&r, "bank", "customers"));
    assert_false(sql_sent(&r, "\"accounts\""));
    stop(&r);

    /* customers is new in this run: accounts (earlier run) is refreshed */
    start(&r, NULL);
    counts(&r, "bank.accounts", "customer_id", "bank.customers", "id", 500, 0);
    const char *run2[] = {fqn_of("bank", "customers"), NULL};
    finish(&r, bank_store(), run2);
    fk = fk_of(&r, "bank", "accounts");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_string_equal(sval(e, "status"), "confirmed");
    stop(&r);
}

static void test_timeout_not_confirmed(void **state)
{
    (void)state;
    struct run r;
    start(&r, "{\"statement_timeout_ms\": 90000}");
    assert_int_equal(
        fake_host_add_sql(r.fh, "NOT EXISTS",
                          "{\"error\": \"canceling statement due to statement "
                          "timeout\", \"status\": -3}"),
        0);
    const char *run[] = {fqn_of("bank", "accounts"), NULL};
    finish(&r, bank_store(), run);
    json_t *e, *fk = fk_of(&r, "bank", "accounts");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 0);
    assert_int_equal(edges_of(fk, "rejected", "customer_id", &e), 1);
    assert_string_equal(sval(e, "status"), "unconfirmed");
    assert_non_null(strstr(sval(e, "reason"), "statement timeout"));
    assert_true(json_is_null(json_object_get(e, "violations")));
    /* the connection's 60000 ms stay the ceiling over the option's 90000 */
    json_t *set = json_array_get(fake_host_sql_log(r.fh), 1);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(set, "params"), 0)),
        "60000");
    stop(&r);
}

static void test_large_child_is_sampled(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = bank_store();
    json_t *ac = json_object_get(
        json_object_get(store, fqn_of("bank", "accounts")), "fingerprint");
    json_object_set_new(ac, "rowCount", json_integer(5000000));
    counts(&r, "bank.accounts", "customer_id", "bank.customers", "id", 1000000,
           0);
    const char *run[] = {fqn_of("bank", "accounts"), NULL};
    finish(&r, store, run);
    assert_true(sql_sent(&r, "\"accounts\" c TABLESAMPLE SYSTEM (20.000000)"));
    json_t *e, *fk = fk_of(&r, "bank", "accounts");
    assert_int_equal(edges_of(fk, "edges", "customer_id", &e), 1);
    assert_true(json_is_true(json_object_get(e, "sampled")));
    stop(&r);
}

/* Text keys: nothing the pass writes or logs holds a value. */
static void test_no_raw_values(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    static const char *const skus[] = {"SKU-ALPHA-0001", "SKU-BRAVO-0002",
                                       "SKU-CHARLIE-0003", "SKU-DELTA-0004",
                                       "SKU-ECHO-0005"};
    json_t *store = json_object();
    json_t *pr = table_fp("shop", "products", 5);
    add_col(pr, "sku", col_values(FK_CLASS_TEXT, skus, 5, 5, true));
    store_add(store, pr);
    json_t *it = table_fp("shop", "items", 40);
    add_col(it, "product_sku", col_values(FK_CLASS_TEXT, skus, 4, 40, false));
    store_add(store, it);
    counts(&r, "shop.items", "product_sku", "shop.products", "sku", 40, 0);
    const char *run[] = {fqn_of("shop", "products"), fqn_of("shop", "items"),
                         NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "shop", "items");
    assert_int_equal(edges_of(fk, "edges", "product_sku", &e), 1);
    char *out = json_dumps(fake_host_batch_puts(r.fh), 0);
    char *sql = json_dumps(fake_host_sql_log(r.fh), 0);
    assert_non_null(out);
    assert_non_null(sql);
    for (int i = 0; i < 5; i++) {
        assert_null(strstr(out, skus[i]));
        assert_null(strstr(sql, skus[i]));
        assert_null(strstr(fake_host_logs(r.fh), skus[i]));
    }
    assert_null(strstr(out, "SKU"));
    free(out);
    free(sql);
    stop(&r);
}

/* A child with two values and a large parent sketched on a sample share
 * no sketch hash: the parent its name points at is still checked.  A name
 * that merely starts with a table's name (rental_duration) points at
 * nothing. */
static void test_name_lookup_small_child(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = json_object();
    json_t *st = table_fp("sales", "staff", 1500);
    add_col(st, "staff_id", col_ints(1, 1000, 1000, true));
    store_add(store, st);
    json_t *re = table_fp("sales", "rentals", 16000);
    add_col(re, "rental_id", col_ints(1, 1000, 1000, true));
    add_col(re, "staff_id", col_ints(1, 2, 1000, false));
    add_col(re, "rental_duration", col_ints(3, 7, 1000, false));
    store_add(store, re);
    counts(&r, "sales.rentals", "staff_id", "sales.staff", "staff_id", 16000,
           0);
    const char *run[] = {fqn_of("sales", "rentals"), NULL};
    finish(&r, store, run);
    json_t *e, *fk = fk_of(&r, "sales", "rentals");
    assert_int_equal(edges_of(fk, "edges", "staff_id", &e), 1);
    assert_string_equal(sval(e, "toTable"), "pg.db.sales.staff");
    assert_int_equal(edges_of(fk, "edges", "rental_duration", &e), 0);
    assert_false(sql_sent(&r, "\"rental_duration\""));
    stop(&r);
}

/* Nothing fingerprinted yet: nothing to do, nothing stored. */
static void test_no_fingerprints(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    assert_int_equal(fake_host_set_batch(r.fh, "{}", "[\"pg.db.a.b\"]"), 0);
    assert_int_equal(r.d->finish(r.st, fake_host_ctx(r.fh)), CS_OK);
    assert_int_equal(json_object_size(fake_host_batch_puts(r.fh)), 0);
    assert_int_equal(json_array_size(fake_host_sql_log(r.fh)), 0);
    stop(&r);
}

static void test_declaration(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("fk_discover");
    assert_non_null(d);
    assert_int_equal(d->kind, CS_PASS_BATCH);
    assert_string_equal(d->consumes[0].name, "fingerprint");
    assert_int_equal(d->consumes[0].flags, CS_ASPECT_REQUIRED);
    assert_string_equal(d->produces[0].name, "fk");
    assert_int_equal(d->produces[0].flags & CS_ASPECT_RAW, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),
        cmocka_unit_test(test_no_fingerprints),
        cmocka_unit_test(test_name_lookup_small_child),
        cmocka_unit_test(test_plain_fk_confirmed),
        cmocka_unit_test(test_role_named_self_reference),
        cmocka_unit_test(test_value_evidence_alone),
        cmocka_unit_test(test_violations_reject),
        cmocka_unit_test(test_declared_fk_is_known),
        cmocka_unit_test(test_one_parent_unless_equal),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_timeout_not_confirmed),
        cmocka_unit_test(test_large_child_is_sampled),
        cmocka_unit_test(test_no_raw_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
