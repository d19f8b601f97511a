/* Egress allow-list: rule parsing, matching, URL and DSN targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "egress.h"

static struct mf_egress_rule parse_ok(const char *text)
{
    struct mf_egress_rule r = {0};
    char err[256] = "";
    if (egress_parse_rule(text, &r, err, sizeof err) != 0)
        fail_msg("rule \"%s\" refused: %s", text, err);
    return r;
}

static void assert_rule(const char *text, const char *host, int port)
{
    struct mf_egress_rule r = parse_ok(text);
    assert_string_equal(r.host, host);
    assert_int_equal(r.port, port);
    free(r.host);
}

static void assert_rule_error(const char *text, const char *why)
{
    struct mf_egress_rule r = {0};
    char err[256] = "";
    assert_int_equal(egress_parse_rule(text, &r, err, sizeof err), -1);
    assert_null(r.host);
    if (!strstr(err, why))
        fail_msg("rule \"%s\": error \"%s\" lacks \"%s\"", text, err, why);
    assert_non_null(strstr(err, "egress rule"));
}

static void test_parse_rules(void **state)
{
    (void)state;
    assert_rule("db.internal:5432", "db.internal", 5432);
    assert_rule("  API.Example.ORG  ", "api.example.org", 0);
    assert_rule("api.example.org:*", "api.example.org", 0);
    assert_rule("*.example.org:443", "*.example.org", 443);
    assert_rule("127.0.0.1:8080", "127.0.0.1", 8080);
    assert_rule("[::1]:8080", "[::1]", 8080);
    assert_rule("[0:0:0:0:0:0:0:1]", "[::1]", 0);
    assert_rule("[2001:DB8::1]:*", "[2001:db8::1]", 0);
    assert_rule("unix:/var/run/postgresql/", "unix:/var/run/postgresql", 0);
    assert_rule("example.org.:80", "example.org", 80);
}

static void test_parse_rule_errors(void **state)
{
    (void)state;
    assert_rule_error("", "empty rule");
    assert_rule_error("   ", "empty rule");
    assert_rule_error("host:0", "port must be 1..65535");
    assert_rule_error("host:65536", "port must be 1..65535");
    assert_rule_error("host:http", "port must be 1..65535");
    assert_rule_error("host:", "port must be 1..65535");
    assert_rule_error("::1", "IPv6 address must be written in brackets");
    assert_rule_error("[::1", "missing ']'");
    assert_rule_error("[nope]:80", "invalid IPv6 address");
    assert_rule_error("[::1]80", "port must be");
    assert_rule_error("*", "must name a host");
    assert_rule_error("*:443", "must name a host");
    assert_rule_error("api.*.org", "'*' is only allowed as the first label");
    assert_rule_error("a..b", "empty label");
    assert_rule_error("a b", "host may only contain");
    assert_rule_error("http://a.org", "not a URL");
    assert_rule_error("unix:relative", "absolute directory");
}

/* ---- matching ----------------------------------------------------------- */

static struct mf_egress_rule rules[8];
static size_t n_rules;

static int setup_rules(void **state)
{
    (void)state;
    const char *texts[] = {"db.internal:5432", "*.example.org:443",
                           "open.example.net", "[::1]:8080",
                           "10.0.0.7:*",       "unix:/var/run/postgresql"};
    n_rules = sizeof texts / sizeof texts[0];
    for (size_t i = 0; i < n_rules; i++)
        rules[i] = parse_ok(texts[i]);
    return 0;
}

static int free_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_rules; i++)
        free(rules[i].host);
    n_rules = 0;
    return 0;
}

static bool allowed(const char *host, int port)
{
    return egress_allowed(rules, n_rules, host, port);
}

static void test_match_exact_and_port(void **state)
{
    (void)state;
    assert_true(allowed("db.internal", 5432));
    assert_true(allowed("DB.Internal", 5432));
    assert_true(allowed("db.internal.", 5432));
    assert_false(allowed("db.internal", 5433));
    assert_false(allowed("xdb.internal", 5432));
    assert_false(allowed("db.internal.evil.com", 5432));
    assert_true(allowed("open.example.net", 1));
    assert_true(allowed("open.example.net", 65535));
    assert_true(allowed("10.0.0.7", 22));
    assert_false(allowed("10.0.0.70", 22));
    assert_false(allowed(NULL, 80));
    assert_false(allowed("", 80));
    assert_false(egress_allowed(NULL, 0, "db.internal", 5432));
}

static void test_match_wildcard(void **state)
{
    (void)state;
    assert_true(allowed("api.example.org", 443));
    assert_true(allowed("a.b.EXAMPLE.org", 443));
    assert_false(allowed("example.org", 443)); /* subdomains only */
    assert_false(allowed("badexample.org", 443));
    assert_false(allowed("api.example.org", 80));
    assert_false(allowed("api.example.org.evil.com", 443));
}

static void test_match_ipv6(void **state)
{
    (void)state;
    assert_true(allowed("[::1]", 8080));
    assert_true(allowed("::1", 8080)); /* libpq spells it unbracketed */
    assert_true(allowed("[0::0:1]", 8080));
    assert_false(allowed("[::1]", 8081));
    assert_false(allowed("[::2]", 8080));
}

static void test_match_unix(void **state)
{
    (void)state;
    assert_true(allowed("unix:/var/run/postgresql", 0));
    assert_true(allowed("unix:/var/run/postgresql/", 0));
    assert_false(allowed("unix:/tmp", 0));
    assert_false(allowed("unix:/VAR/run/postgresql", 0));
}

/* ---- URL targets -------------------------------------------------------- */

static void assert_url(const char *url, const char *host, int port)
{
    char h[256], err[256] = "";
    int p = -1;
    if (egress_url_target(url, h, sizeof h, &p, err, sizeof err) != 0)
        fail_msg("URL %s refused: %s", url, err);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void test_url_targets(void **state)
{
    (void)state;
    assert_url("http://api.example.org/x", "api.example.org", 80);
    assert_url("https://api.example.org/x?y=1", "api.example.org", 443);
    assert_url("https://api.example.org:8443/", "api.example.org", 8443);
    assert_url("http://u:pw@127.0.0.1:9/", "127.0.0.1", 9);
    assert_url("http://[::1]:8080/v1", "[::1]", 8080);
    assert_url("https://[2001:db8::1]/", "[2001:db8::1]", 443);

    char h[256], err[256] = "";
    int p;
    assert_int_equal(
        egress_url_target("not a url", h, sizeof h, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a url"));
    assert_int_equal(egress_url_target("http://u:topsecret@/x", h, sizeof h, &p,
                                       err, sizeof err),
                     -1);
    assert_null(strstr(err, "topsecret"));
}

/* ---- DSN targets -------------------------------------------------------- */

static int dsn(const char *text, char hosts[][256], int *ports, char *err)
{
    err[0] = '\0';
    return egress_dsn_targets(text, hosts, ports, 4, err, 256);
}

static void test_dsn_keyvalue(void **state)
{
    (void)state;
    char hosts[4][256], err[256];
    int ports[4];
    assert_int_equal(dsn("host=db.internal port=6432 dbname=x password=p",
                         hosts, ports, err),
                     1);
    assert_string_equal(hosts[0], "db.internal");
    assert_int_equal(ports[0], 6432);

    assert_int_equal(dsn("host=db.internal dbname=x", hosts, ports, err), 1);
    assert_int_equal(ports[0], 5432);

    /* hostaddr is what libpq connects to */
    assert_int_equal(
        dsn("host=db.internal hostaddr=10.0.0.7 port=5433", hosts, ports, err),
        1);
    assert_string_equal(hosts[0], "10.0.0.7");
    assert_int_equal(ports[0], 5433);
}

static void test_dsn_uri(void **state)
{
    (void)state;
    char hosts[4][256], err[256];
    int ports[4];
    assert_int_equal(
        dsn("postgresql://bob:pw@db.internal:6543/app", hosts, ports, err), 1);
    assert_string_equal(hosts[0], "db.internal");
    assert_int_equal(ports[0], 6543);
    assert_int_equal(dsn("postgres://[::1]/app", hosts, ports, err), 1);
    assert_string_equal(hosts[0], "[::1]");
    assert_int_equal(ports[0], 5432);
}

static void test_dsn_multi_host(void **state)
{
    (void)state;
    char hosts[4][256], err[256];
    int ports[4];
    assert_int_equal(dsn("host=a.db,b.db,c.db port=1,2,3", hosts, ports, err),
                     3);
    assert_string_equal(hosts[1], "b.db");
    assert_int_equal(ports[1], 2);
    assert_int_equal(ports[2], 3);

    assert_int_equal(dsn("host=a.db,b.db port=7000", hosts, ports, err), 2);
    assert_int_equal(ports[0], 7000);
    assert_int_equal(ports[1], 7000);

    assert_int_equal(dsn("postgresql://a.db:1,b.db:2/x", hosts, ports, err), 2);
    assert_string_equal(hosts[0], "a.db");
    assert_string_equal(hosts[1], "b.db");
    assert_int_equal(ports[1], 2);

    assert_int_equal(dsn("host=a,b port=1,2,3", hosts, ports, err), -1);
    assert_non_null(strstr(err, "port list has 3 entries for 2 hosts"));
    assert_int_equal(dsn("host=a,b,c,d,e", hosts, ports, err), -1);
    assert_non_null(strstr(err, "5 hosts"));
}

static void test_dsn_unix_socket(void **state)
{
    (void)state;
    char hosts[4][256], err[256];
    int ports[4];
    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    unsetenv("PGPORT");
    assert_int_equal(dsn("dbname=x", hosts, ports, err), 1);
    assert_string_equal(hosts[0], "unix:/var/run/postgresql");
    assert_int_equal(ports[0], 0);

    assert_int_equal(dsn("host=/tmp/pg port=5433", hosts, ports, err), 1);
    assert_string_equal(hosts[0], "unix:/tmp/pg");
    assert_int_equal(ports[0], 0);

    assert_int_equal(dsn("host=/tmp/pg,db.internal", hosts, ports, err), 2);
    assert_string_equal(hosts[0], "unix:/tmp/pg");
    assert_string_equal(hosts[1], "db.internal");
    assert_int_equal(ports[1], 5432);

    /* the socket rule allows it, nothing else does */
    struct mf_egress_rule r = parse_ok("unix:/tmp/pg");
    assert_true(egress_allowed(&r, 1, hosts[0], ports[0]));
    assert_false(egress_allowed(&r, 1, hosts[1], ports[1]));
    free(r.host);
}

static void test_dsn_environment(void **state)
{
    (void)state;
    char hosts[4][256], err[256];
    int ports[4];
    setenv("PGHOST", "env.db", 1);
    setenv("PGPORT", "6000", 1);
    assert_int_equal(dsn("dbname=x", hosts, ports, err), 1);
    assert_string_equal(hosts[0], "env.db");
    assert_int_equal(ports[0], 6000);
    assert_int_equal(dsn("host=own.db dbname=x", hosts, ports, err), 1);
    assert_string_equal(hosts[0], "own.db");
    unsetenv("PGHOST");
    unsetenv("PGPORT");
}

static void test_dsn_errors(void **state)
{
    (void)state;
    char hosts[4][256], err[256];
    int ports[4];
    assert_int_equal(dsn("host=a port=99999", hosts, ports, err), -1);
    assert_non_null(strstr(err, "invalid port"));
    assert_int_equal(dsn("host=a password=hunter2 bogus", hosts, ports, err),
                     -1);
    assert_non_null(strstr(err, "DSN"));
    assert_null(strstr(err, "hunter2"));
    assert_int_equal(dsn("nosuchkey=1", hosts, ports, err), -1);
    assert_non_null(strstr(err, "nosuchkey"));
    assert_int_equal(dsn("service=prod", hosts, ports, err), -1);
    assert_non_null(strstr(err, "service"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rules),
        cmocka_unit_test(test_parse_rule_errors),
        cmocka_unit_test_setup_teardown(test_match_exact_and_port, setup_rules,
                                        free_rules),
        cmocka_unit_test_setup_teardown(test_match_wildcard, setup_rules,
                                        free_rules),
        cmocka_unit_test_setup_teardown(test_match_ipv6, setup_rules,
                                        free_rules),
        cmocka_unit_test_setup_teardown(test_match_unix, setup_rules,
                                        free_rules),
        cmocka_unit_test(test_url_targets),
        cmocka_unit_test(test_dsn_keyvalue),
        cmocka_unit_test(test_dsn_uri),
        cmocka_unit_test(test_dsn_multi_host),
        cmocka_unit_test(test_dsn_unix_socket),
        cmocka_unit_test(test_dsn_environment),
        cmocka_unit_test(test_dsn_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
