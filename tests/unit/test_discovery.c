/* discovery_postgres through a fake host with canned catalog rows: the
 * table shape, the definition-hash watermark (unchanged tables are not
 * emitted, changed ones are, vanished ones are reported deleted),
 * exclusions and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static const char TABLES_COLS[] =
    "[[\"oid\",\"text\"],[\"nspname\",\"name\"],[\"relname\",\"name\"],"
    "[\"relkind\",\"text\"],[\"description\",\"text\"],"
    "[\"current_database\",\"name\"]]";

static const char TABLES_ROWS[] =
    "[[\"16384\",\"bank\",\"customers\",\"r\",\"Bank customers\",\"demo\"],"
    " [\"16390\",\"bank\",\"accounts\",\"p\",null,\"demo\"],"
    " [\"16400\",\"shop\",\"tmp_x\",\"r\",null,\"demo\"]]";

static const char COLUMNS_COLS[] =
    "[[\"attrelid\",\"text\"],[\"attnum\",\"text\"],[\"attname\",\"name\"],"
    "[\"format_type\",\"text\"],[\"typname\",\"name\"],[\"typtype\",\"text\"],"
    "[\"typcategory\",\"text\"],[\"attnotnull\",\"text\"],"
    "[\"description\",\"text\"],[\"atttypmod\",\"text\"],[\"elem\",\"name\"]]";

/* %s: the comment of accounts.balance, to simulate a change. */
static const char COLUMNS_ROWS_FMT[] =
    "[[\"16384\",\"1\",\"id\",\"integer\",\"int4\",\"b\",\"N\",\"true\","
    "null,\"-1\",null],"
    " [\"16384\",\"2\",\"email\",\"character varying(120)\",\"varchar\","
    "\"b\",\"S\",\"false\",\"contact e-mail\",\"124\",null],"
    " [\"16390\",\"1\",\"id\",\"bigint\",\"int8\",\"b\",\"N\",\"true\",null,"
    "\"-1\",null],"
    " [\"16390\",\"2\",\"customer_id\",\"integer\",\"int4\",\"b\",\"N\","
    "\"true\",null,\"-1\",null],"
    " [\"16390\",\"3\",\"balance\",\"numeric(12,2)\",\"numeric\",\"b\","
    "\"N\",\"false\",%s,\"786438\",null],"
    " [\"16390\",\"4\",\"tags\",\"text[]\",\"_text\",\"b\",\"A\",\"false\","
    "null,\"-1\",\"text\"],"
    " [\"16400\",\"1\",\"x\",\"text\",\"text\",\"b\",\"S\",\"false\",null,"
    "\"-1\",null]]";

static const char CONS_COLS[] =
    "[[\"conrelid\",\"text\"],[\"contype\",\"text\"],[\"conname\",\"name\"],"
    "[\"cols\",\"text\"],[\"fnsp\",\"name\"],[\"frel\",\"name\"],"
    "[\"fcols\",\"text\"]]";

static const char CONS_ROWS[] =
    "[[\"16384\",\"p\",\"customers_pkey\",\"[\\\"id\\\"]\",null,null,null],"
    " [\"16390\",\"f\",\"accounts_customer_fk\",\"[\\\"customer_id\\\"]\","
    "\"bank\",\"customers\",\"[\\\"id\\\"]\"],"
    " [\"16390\",\"p\",\"accounts_pkey\",\"[\\\"id\\\"]\",null,null,null]]";

static const cs_pass_desc *pass(void)
{
    const cs_pass_desc *d = fake_host_load_pass("discovery_postgres");
    assert_non_null(d);
    assert_int_equal(d->kind, CS_PASS_SOURCE);
    return d;
}

static void canned(fake_host *fh, const char *tables_rows,
                   const char *balance_comment)
{
    char buf[8192];
    fake_host_clear_sql(fh);
    snprintf(buf, sizeof buf, "{\"columns\":%s,\"rows\":%s}", TABLES_COLS,
             tables_rows);
    assert_int_equal(fake_host_add_sql(fh, "discovery: tables", buf), 0);
    char rows[4096];
    snprintf(rows, sizeof rows, COLUMNS_ROWS_FMT, balance_comment);
    snprintf(buf, sizeof buf, "{\"columns\":%s,\"rows\":%s}", COLUMNS_COLS,
             rows);
    assert_int_equal(fake_host_add_sql(fh, "discovery: columns", buf), 0);
    snprintf(buf, sizeof buf, "{\"columns\":%s,\"rows\":%s}", CONS_COLS,
             CONS_ROWS);
    assert_int_equal(fake_host_add_sql(fh, "discovery: constraints", buf), 0);
}

struct fixture {
    const cs_pass_desc *d;
    fake_host *fh;
    void *state;
};

static void start(struct fixture *f, const char *config)
{
    f->d = pass();
    f->fh = fake_host_new(f->d, config);
    assert_non_null(f->fh);
    f->state = NULL;
    assert_int_equal(
        f->d->init(fake_host_api(f->fh), fake_host_ctx(f->fh), &f->state),
        CS_OK);
}

static void stop(struct fixture *f)
{
    f->d->fini(f->state);
    fake_host_free(f->fh);
}

static int discover(struct fixture *f)
{
    return f->d->discover(f->state, fake_host_ctx(f->fh));
}

#define ACCOUNTS "pg.demo.bank.accounts"
#define CUSTOMERS "pg.demo.bank.customers"
#define TMP "pg.demo.shop.tmp_x"

static json_t *column(json_t *table, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(table, "columns"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return c;
    }
    fail_msg("no column %s", name);
    return NULL;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_table_shape(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"connection\":\"demo\",\"service\":\"pg\"}");
    canned(f.fh, TABLES_ROWS, "null");
    assert_int_equal(discover(&f), CS_OK);
    json_t *em = fake_host_emitted(f.fh);
    assert_int_equal(json_object_size(em), 3);
    /* Three catalog queries, not one per table. */
    assert_int_equal(json_array_size(fake_host_sql_log(f.fh)), 3);

    json_t *cu = json_object_get(em, CUSTOMERS);
    assert_non_null(cu);
    assert_string_equal(str(cu, "name"), "customers");
    assert_string_equal(str(cu, "tableType"), "Regular");
    assert_string_equal(str(cu, "description"), "Bank customers");
    assert_string_equal(
        str(json_object_get(cu, "databaseSchema"), "fullyQualifiedName"),
        "pg.demo.bank");
    assert_string_equal(str(json_object_get(cu, "database"), "name"), "demo");
    json_t *email = column(cu, "email");
    assert_string_equal(str(email, "dataType"), "VARCHAR");
    assert_string_equal(str(email, "dataTypeDisplay"),
                        "character varying(120)");
    assert_int_equal(json_integer_value(json_object_get(email, "dataLength")),
                     120);
    assert_string_equal(str(email, "constraint"), "NULL");
    assert_string_equal(str(email, "description"), "contact e-mail");
    assert_string_equal(str(column(cu, "id"), "constraint"), "PRIMARY_KEY");
    json_t *cs = json_object_get(cu, "catalogSync");
    assert_string_equal(str(cs, "connection"), "demo");
    assert_string_equal(str(cs, "schema"), "bank");
    assert_string_equal(str(cs, "table"), "customers");
    assert_int_equal(strlen(str(cs, "definitionHash")), 16);

    json_t *ac = json_object_get(em, ACCOUNTS);
    assert_string_equal(str(ac, "tableType"), "Partitioned");
    assert_null(json_object_get(ac, "description"));
    json_t *bal = column(ac, "balance");
    assert_string_equal(str(bal, "dataType"), "NUMERIC");
    assert_int_equal(json_integer_value(json_object_get(bal, "precision")), 12);
    assert_int_equal(json_integer_value(json_object_get(bal, "scale")), 2);
    assert_string_equal(str(column(ac, "tags"), "dataType"), "ARRAY");
    assert_string_equal(str(column(ac, "tags"), "arrayDataType"), "TEXT");
    assert_string_equal(str(column(ac, "customer_id"), "constraint"),
                        "NOT_NULL");
    assert_int_equal(json_integer_value(json_object_get(column(ac, "tags"),
                                                        "ordinalPosition")),
                     4);
    json_t *cons = json_object_get(ac, "tableConstraints");
    assert_int_equal(json_array_size(cons), 2);
    json_t *fk = json_array_get(cons, 0);
    assert_string_equal(str(fk, "constraintType"), "FOREIGN_KEY");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(fk, "columns"), 0)),
        "customer_id");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(fk, "referredColumns"), 0)),
                        "pg.demo.bank.customers.id");

    json_t *wm = json_object_get(fake_host_watermark(f.fh), "tables");
    assert_int_equal(json_object_size(wm), 3);
    assert_string_equal(json_string_value(json_object_get(wm, CUSTOMERS)),
                        str(cs, "definitionHash"));
    assert_non_null(
        strstr(fake_host_logs(f.fh), "3 tables, 3 new/changed, 0 deleted"));
    stop(&f);
}

static void test_incremental(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"connection\":\"demo\",\"service\":\"pg\"}");
    canned(f.fh, TABLES_ROWS, "null");
    assert_int_equal(discover(&f), CS_OK);
    fake_host_next_run(f.fh, 1);

    /* Nothing changed: nothing emitted, nothing deleted. */
    assert_int_equal(discover(&f), CS_OK);
    assert_int_equal(json_object_size(fake_host_emitted(f.fh)), 0);
    assert_int_equal(json_array_size(fake_host_deleted(f.fh)), 0);
    assert_int_equal(
        json_object_size(json_object_get(fake_host_watermark(f.fh), "tables")),
        3);
    fake_host_next_run(f.fh, 1);

    /* A column comment changes and tmp_x is dropped. */
    canned(f.fh,
           "[[\"16384\",\"bank\",\"customers\",\"r\",\"Bank customers\","
           "\"demo\"],[\"16390\",\"bank\",\"accounts\",\"p\",null,\"demo\"]]",
           "\"balance in EUR\"");
    assert_int_equal(discover(&f), CS_OK);
    json_t *em = fake_host_emitted(f.fh);
    assert_int_equal(json_object_size(em), 1);
    assert_non_null(json_object_get(em, ACCOUNTS));
    json_t *del = fake_host_deleted(f.fh);
    assert_int_equal(json_array_size(del), 1);
    assert_string_equal(json_string_value(json_array_get(del, 0)), TMP);
    json_t *wm = json_object_get(fake_host_watermark(f.fh), "tables");
    assert_int_equal(json_object_size(wm), 2);
    assert_null(json_object_get(wm, TMP));
    assert_non_null(
        strstr(fake_host_logs(f.fh), "2 tables, 1 new/changed, 1 deleted"));
    stop(&f);
}

static void test_full_and_exclude(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"connection\":\"demo\",\"service\":\"pg\",\"full\":true,"
              "\"exclude_tables\":[\"tmp_*\", \"bank.acc%\"]}");
    canned(f.fh, TABLES_ROWS, "null");
    assert_int_equal(discover(&f), CS_OK);
    fake_host_next_run(f.fh, 1);
    assert_int_equal(discover(&f), CS_OK);
    /* full: the unchanged table is emitted again; excluded ones never. */
    json_t *em = fake_host_emitted(f.fh);
    assert_int_equal(json_object_size(em), 1);
    assert_non_null(json_object_get(em, CUSTOMERS));
    stop(&f);
}

static void test_defaults_and_params(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"connection\":\"demo\",\"schemas\":[\"bank\"]}");
    canned(f.fh, TABLES_ROWS, "null");
    assert_int_equal(discover(&f), CS_OK);
    /* Default service name "postgres". */
    assert_non_null(json_object_get(fake_host_emitted(f.fh),
                                    "postgres.demo.bank.customers"));
    json_t *q = json_array_get(fake_host_sql_log(f.fh), 0);
    assert_string_equal(str(q, "connection"), "demo");
    json_t *params = json_object_get(q, "params");
    assert_string_equal(json_string_value(json_array_get(params, 0)),
                        "[\"bank\"]");
    assert_string_equal(json_string_value(json_array_get(params, 1)),
                        "[\"catalog_sync\"]");
    assert_string_equal(json_string_value(json_array_get(params, 2)), "rp");
    stop(&f);
}

static void test_quoted_fqn(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"connection\":\"demo\",\"service\":\"pg\"}");
    canned(f.fh, "[[\"16384\",\"bank\",\"odd.name\",\"r\",null,\"demo\"]]",
           "null");
    assert_int_equal(discover(&f), CS_OK);
    json_t *t =
        json_object_get(fake_host_emitted(f.fh), "pg.demo.bank.\"odd.name\"");
    assert_non_null(t);
    /* Columns of the other tables (skipped by the cursors) did not leak. */
    assert_int_equal(json_array_size(json_object_get(t, "columns")), 2);
    stop(&f);
}

static void test_sql_error(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, "{\"connection\":\"demo\"}");
    assert_int_equal(fake_host_add_sql(f.fh, "discovery: tables",
                                       "{\"error\":\"permission denied\"}"),
                     0);
    assert_int_not_equal(discover(&f), CS_OK);
    assert_non_null(strstr(fake_host_error(f.fh), "connection demo"));
    assert_non_null(strstr(fake_host_error(f.fh), "permission denied"));
    assert_null(fake_host_watermark(f.fh)); /* not advanced */
    stop(&f);
}

static void test_connection_required(void **state)
{
    (void)state;
    /* The declared option is required: the (fake) host refuses the config. */
    assert_null(fake_host_new(pass(), "{}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_shape),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_full_and_exclude),
        cmocka_unit_test(test_defaults_and_params),
        cmocka_unit_test(test_quoted_fqn),
        cmocka_unit_test(test_sql_error),
        cmocka_unit_test(test_connection_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
