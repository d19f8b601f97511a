/* Manifest loading: every error class with its exact position and
 * message, ${VAR} substitution, *_file secrets, JSON input, defaults. */
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

#define SOURCE_PASS                                                            \
    "passes:\n"                                                                \
    "  - name: discovery\n"                                                    \
    "    plugin: discovery_postgres\n"                                         \
    "    kind: source\n"                                                       \
    "    outputs: [table]\n"

static char tmpdir[256];

static struct manifest *load_ok(const char *yaml)
{
    struct manifest *m = NULL;
    char err[1024] = "";
    if (manifest_load_buffer("t.yaml", yaml, strlen(yaml), &m, err,
                             sizeof err) != 0)
        fail_msg("unexpected error: %s", err);
    assert_non_null(m);
    return m;
}

static void expect_error(const char *yaml, const char *want)
{
    struct manifest *m = (struct manifest *)1;
    char err[1024] = "";
    int rc =
        manifest_load_buffer("t.yaml", yaml, strlen(yaml), &m, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_null(m);
    assert_string_equal(err, want);
}

static char *write_file(const char *name, const char *content)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cs_test_manifest_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- a complete manifest ------------------------------------------------ */

static const char *example =
    "state: ${CS_T_STATE_DSN}\n"
    "connections:\n"
    "  demo:\n"
    "    dsn: ${CS_T_DEMO_DSN}\n"
    "    statement_timeout: 30s\n"
    "  fast:\n"
    "    dsn: dbname=fast\n"
    "    statement_timeout: 250ms\n"
    "egress:\n"
    "  - 127.0.0.1:${CS_T_UNSET_PORT:-5432}\n"
    "  - \"*.Corp.example:443\"\n"
    "  - db.internal\n"
    "  - \"[0:0::1]:*\"\n"
    "  - unix:/var/run/postgresql\n"
    "schedule:\n"
    "  every: 6h\n"
    "api:\n"
    "  listen: 127.0.0.1:8089\n"
    "  tokens_file: ./tokens\n"
    "workers: 4\n"
    "plugin_dir: ../build/passes\n"
    "raw_aspects: [sample_masked]\n"
    "limits:\n"
    "  lease_seconds: 2m\n"
    "  max_attempts: 5\n"
    "  drain_timeout: 45\n"
    "passes:\n"
    "  - name: discovery\n"
    "    plugin: discovery_postgres\n"
    "    kind: source\n"
    "    outputs: [table]\n"
    "    config: {connection: demo, schemas: [bank, shop]}\n"
    "  - name: profile\n"
    "    plugin: ./custom/profile.so\n"
    "    kind: entity\n"
    "    inputs: [table]\n"
    "    outputs: [sample, profile]\n"
    "    concurrency: 8\n"
    "    config: {connection: demo, sample_percent: 10, sample_rows: 1000}\n"
    "  - name: governance_tags\n"
    "    plugin: governance_tags\n"
    "    kind: entity\n"
    "    enabled: false\n"
    "    inputs: [table, profile?]\n"
    "    outputs: [governance]\n";

static void test_full_example(void **state)
{
    char cwd[512], want[700];
    (void)state;
    setenv("CS_T_STATE_DSN", "postgresql://cs:st4te-pw@localhost/cs", 1);
    setenv("CS_T_DEMO_DSN", "host=127.0.0.1 dbname=demo password=demo-pw-9", 1);
    unsetenv("CS_T_UNSET_PORT");
    struct manifest *m = load_ok(example);
    assert_non_null(getcwd(cwd, sizeof cwd));

    assert_string_equal(m->state_dsn, "postgresql://cs:st4te-pw@localhost/cs");
    assert_string_equal(m->dir, cwd);
    assert_int_equal(m->n_connections, 2);
    assert_string_equal(m->connections[0].name, "demo");
    assert_string_equal(m->connections[0].dsn,
                        "host=127.0.0.1 dbname=demo password=demo-pw-9");
    assert_int_equal(m->connections[0].statement_timeout_ms, 30000);
    assert_int_equal(m->connections[0].pos.line, 3);
    assert_int_equal(m->connections[1].statement_timeout_ms, 250);
    assert_ptr_equal(manifest_find_connection(m, "fast"), &m->connections[1]);
    assert_null(manifest_find_connection(m, "nope"));

    assert_int_equal(m->n_egress, 5);
    assert_string_equal(m->egress[0].host, "127.0.0.1");
    assert_int_equal(m->egress[0].port, 5432);
    assert_int_equal(m->egress[0].pos.line, 10);
    assert_int_equal(m->egress[0].pos.col, 5);
    assert_string_equal(m->egress[1].host, "*.corp.example");
    assert_int_equal(m->egress[1].port, 443);
    assert_string_equal(m->egress[2].host, "db.internal");
    assert_int_equal(m->egress[2].port, 0);
    assert_string_equal(m->egress[3].host, "[::1]");
    assert_int_equal(m->egress[3].port, 0);
    assert_string_equal(m->egress[4].host, "unix:/var/run/postgresql");

    assert_int_equal(m->schedule.kind, SCHEDULE_EVERY);
    assert_int_equal(m->schedule.every_seconds, 21600);
    assert_string_equal(m->schedule.text, "6h");
    assert_string_equal(m->api_listen, "127.0.0.1:8089");
    snprintf(want, sizeof want, "%s/./tokens", cwd);
    assert_string_equal(m->api_tokens_file, want);
    snprintf(want, sizeof want, "%s/../build/passes", cwd);
    assert_string_equal(m->plugin_dir, want);
    assert_int_equal(m->workers, 4);
    assert_int_equal(m->lease_seconds, 120);
    assert_int_equal(m->max_attempts, 5);
    assert_int_equal(m->drain_timeout_seconds, 45);
    assert_int_equal(m->shutdown_timeout_seconds, 30);
    assert_true(manifest_aspect_is_raw(m, "sample"));
    assert_true(manifest_aspect_is_raw(m, "sample_masked"));
    assert_false(manifest_aspect_is_raw(m, "profile"));

    assert_int_equal(m->n_passes, 3);
    const struct mf_pass *d = &m->passes[0], *p = &m->passes[1],
                         *g = &m->passes[2];
    snprintf(want, sizeof want, "%s/../build/passes/discovery_postgres.so",
             cwd);
    assert_string_equal(d->plugin_path, want);
    assert_int_equal(d->kind, MF_KIND_SOURCE);
    assert_int_equal(d->pos.line, 28);
    assert_int_equal(d->pos.col, 5);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(d->config, "schemas"), 1)),
                        "shop");
    snprintf(want, sizeof want, "%s/./custom/profile.so", cwd);
    assert_string_equal(p->plugin_path, want);
    assert_string_equal(p->plugin, "./custom/profile.so");
    assert_int_equal(p->concurrency, 8);
    assert_true(p->enabled);
    assert_int_equal(
        json_integer_value(json_object_get(p->config, "sample_percent")), 10);
    assert_int_equal(p->n_outputs, 2);
    assert_string_equal(p->outputs[0].name, "sample");
    assert_false(g->enabled);
    assert_int_equal(g->pos_enabled.line, 43);
    assert_int_equal(g->n_inputs, 2);
    assert_false(g->inputs[0].optional);
    assert_true(g->inputs[1].optional);
    assert_string_equal(g->inputs[1].name, "profile");
    assert_int_equal(g->inputs[1].pos.line, 44);
    assert_int_equal(g->inputs[1].pos.col, 21);
    assert_ptr_equal(manifest_find_pass(m, "profile"), p);
    assert_string_equal(mf_kind_name(g->kind), "entity");

    char hex[65];
    sha256_hex(example, strlen(example), hex);
    assert_string_equal(m->sha256, hex);

    /* DSN passwords are registered for redaction */
    char red[256];
    log_redact("pw st4te-pw and demo-pw-9", red, sizeof red);
    assert_null(strstr(red, "st4te-pw"));
    assert_null(strstr(red, "demo-pw-9"));
    manifest_free(m);
}

static void test_defaults(void **state)
{
    (void)state;
    struct manifest *m = load_ok("state: dbname=cs\n" SOURCE_PASS);
    assert_int_equal(m->workers, 4);
    assert_int_equal(m->lease_seconds, 60);
    assert_int_equal(m->max_attempts, 3);
    assert_int_equal(m->drain_timeout_seconds, 60);
    assert_int_equal(m->shutdown_timeout_seconds, 30);
    assert_int_equal(m->ready_timeout_seconds, 30);
    assert_string_equal(m->plugin_dir, CS_DEFAULT_PLUGIN_DIR);
    assert_string_equal(m->passes[0].plugin_path,
                        CS_DEFAULT_PLUGIN_DIR "/discovery_postgres.so");
    assert_int_equal(m->n_raw_aspects, 1);
    assert_string_equal(m->raw_aspects[0], "sample");
    assert_int_equal(m->schedule.kind, SCHEDULE_NONE);
    assert_null(m->api_listen);
    assert_null(m->api_tokens_file);
    assert_int_equal(m->n_egress, 0);
    assert_int_equal(m->n_connections, 0);
    assert_true(m->passes[0].enabled);
    assert_int_equal(m->passes[0].concurrency, 0);
    assert_true(json_is_object(m->passes[0].config));
    assert_int_equal(json_object_size(m->passes[0].config), 0);
    manifest_free(m);

    m = load_ok("state: {dsn: 'dbname=x'}\n"
                "connections:\n  c: {dsn: dbname=y}\n"
                "schedule: {cron: '*/15 * * * *'}\n" SOURCE_PASS);
    assert_string_equal(m->state_dsn, "dbname=x");
    assert_int_equal(m->connections[0].statement_timeout_ms, 30000);
    assert_int_equal(m->schedule.kind, SCHEDULE_CRON);
    assert_string_equal(m->schedule.text, "*/15 * * * *");
    manifest_free(m);
}

static void test_json_manifest(void **state)
{
    (void)state;
    struct manifest *m = load_ok(
        "{\"state\": \"dbname=cs\", \"workers\": 2,\n"
        " \"passes\": [{\"name\": \"d\", \"plugin\": \"p\", \"kind\": "
        "\"source\",\n"
        "   \"outputs\": [\"table\"], \"enabled\": true,\n"
        "   \"config\": {\"n\": 5, \"s\": \"5\", \"b\": true, \"f\": 1.5, "
        "\"z\": null, \"l\": [1, \"x\"]}}]}\n");
    json_t *c = m->passes[0].config;
    assert_int_equal(m->workers, 2);
    assert_true(json_is_integer(json_object_get(c, "n")));
    assert_string_equal(json_string_value(json_object_get(c, "s")), "5");
    assert_true(json_is_true(json_object_get(c, "b")));
    assert_true(json_is_real(json_object_get(c, "f")));
    assert_true(json_is_null(json_object_get(c, "z")));
    assert_int_equal(json_array_size(json_object_get(c, "l")), 2);
    manifest_free(m);
}

static void test_config_scalar_types(void **state)
{
    (void)state;
    struct manifest *m =
        load_ok("state: dbname=cs\n" SOURCE_PASS "    config:\n"
                "      i: -42\n"
                "      q: \"10\"\n"
                "      t: true\n"
                "      qt: 'true'\n"
                "      n: ~\n"
                "      e:\n"
                "      r: 2.5e3\n"
                "      y: yes\n"
                "      nested: {list: [a, 1]}\n");
    json_t *c = m->passes[0].config;
    assert_int_equal(json_integer_value(json_object_get(c, "i")), -42);
    assert_string_equal(json_string_value(json_object_get(c, "q")), "10");
    assert_true(json_is_true(json_object_get(c, "t")));
    assert_string_equal(json_string_value(json_object_get(c, "qt")), "true");
    assert_true(json_is_null(json_object_get(c, "n")));
    assert_true(json_is_null(json_object_get(c, "e")));
    assert_true(json_real_value(json_object_get(c, "r")) == 2500.0);
    assert_string_equal(json_string_value(json_object_get(c, "y")), "yes");
    assert_int_equal(
        json_integer_value(json_array_get(
            json_object_get(json_object_get(c, "nested"), "list"), 1)),
        1);
    manifest_free(m);
}

/* ---- ${VAR} ------------------------------------------------------------- */

static void test_env_substitution(void **state)
{
    (void)state;
    setenv("CS_T_A", "alpha", 1);
    setenv("CS_T_EMPTY", "", 1);
    unsetenv("CS_T_NOPE");
    struct manifest *m =
        load_ok("state: dbname=${CS_T_A}\n" SOURCE_PASS "    config:\n"
                "      a: pre-${CS_T_A}-post\n"
                "      d: ${CS_T_NOPE:-fallback}\n"
                "      e: ${CS_T_EMPTY:-used-when-empty}\n"
                "      z: x${CS_T_NOPE:-}y\n"
                "      esc: $${CS_T_A} and $$5 and $x\n"
                "      n: ${CS_T_NUM:-12}\n");
    json_t *c = m->passes[0].config;
    assert_string_equal(m->state_dsn, "dbname=alpha");
    assert_string_equal(json_string_value(json_object_get(c, "a")),
                        "pre-alpha-post");
    assert_string_equal(json_string_value(json_object_get(c, "d")), "fallback");
    assert_string_equal(json_string_value(json_object_get(c, "e")),
                        "used-when-empty");
    assert_string_equal(json_string_value(json_object_get(c, "z")), "xy");
    assert_string_equal(json_string_value(json_object_get(c, "esc")),
                        "${CS_T_A} and $$5 and $x");
    /* a substituted plain scalar is typed after substitution */
    assert_int_equal(json_integer_value(json_object_get(c, "n")), 12);
    manifest_free(m);
}

static void test_env_errors(void **state)
{
    (void)state;
    unsetenv("CS_T_NOPE");
    expect_error("state: ${CS_T_NOPE}\n" SOURCE_PASS,
                 "t.yaml:1:8: state: environment variable CS_T_NOPE is not "
                 "set (write ${CS_T_NOPE:-default} to give a default)");
    expect_error("state: dbname=x\n" SOURCE_PASS "    config:\n"
                 "      k: \"a ${CS_T_NOPE\"\n",
                 "t.yaml:8:10: passes[0].config.k: unterminated \"${\" "
                 "(write \"$${\" for a literal \"${\")");
    expect_error("state: dbname=x\n" SOURCE_PASS "    config:\n"
                 "      k: ${1BAD}\n",
                 "t.yaml:8:10: passes[0].config.k: bad variable reference "
                 "\"${1BAD}\" (write ${NAME} or ${NAME:-default})");
}

/* ---- *_file ------------------------------------------------------------- */

static void test_file_secrets(void **state)
{
    char *dsn = write_file("db", "host=db password=s3cr3t-from-file\n\n");
    char *tok = write_file("api-key", "k3y-material\r\n");
    char yaml[2048], err[1024];
    struct manifest *m = NULL;
    (void)state;
    /* relative *_file paths resolve against the manifest's directory */
    snprintf(yaml, sizeof yaml,
             "state_file: %s\n" SOURCE_PASS "    config:\n"
             "      api_key_file: api-key\n"
             "      plain: 1\n",
             dsn);
    char *mpath = write_file("m.yaml", yaml);
    assert_int_equal(manifest_load(mpath, &m, err, sizeof err), 0);
    assert_string_equal(m->state_dsn, "host=db password=s3cr3t-from-file");
    json_t *c = m->passes[0].config;
    assert_string_equal(json_string_value(json_object_get(c, "api_key")),
                        "k3y-material");
    assert_null(json_object_get(c, "api_key_file"));
    manifest_free(m);

    char red[256];
    log_redact("got k3y-material and s3cr3t-from-file", red, sizeof red);
    assert_null(strstr(red, "k3y-material"));
    assert_null(strstr(red, "s3cr3t-from-file"));
    free(dsn);
    free(tok);
    free(mpath);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_error("state: dbname=x\n"
                 "connections:\n"
                 "  demo:\n"
                 "    dsn_file: /nonexistent/cs-secret\n" SOURCE_PASS,
                 "t.yaml:4:15: connections.demo.dsn_file: cannot read "
                 "/nonexistent/cs-secret: No such file or directory");
    char *f = write_file("dsn2", "dbname=x\n");
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "state: dbname=x\n"
             "connections:\n"
             "  demo:\n"
             "    dsn: dbname=y\n"
             "    dsn_file: %s\n" SOURCE_PASS,
             f);
    expect_error(yaml, "t.yaml:5:5: connections.demo.dsn: both `dsn` and "
                       "`dsn_file` are given; use one of them");
    free(f);
}

/* ---- error classes ------------------------------------------------------ */

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_error("state: dbname=x\npases: []\n",
                 "t.yaml:2:1: pases: unknown key (did you mean `passes`?)");
    expect_error("state: dbname=x\n" SOURCE_PASS "    plugn: x\n",
                 "t.yaml:7:5: passes[0].plugn: unknown key (did you mean "
                 "`plugin`?)");
    expect_error("state: dbname=x\nlimits: {lease: 5}\n" SOURCE_PASS,
                 "t.yaml:2:10: limits.lease: unknown key");
    expect_error("state: dbname=x\nstate: dbname=y\n" SOURCE_PASS,
                 "t.yaml:2:1: state: duplicate key (first given at 1:1)");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_error("state: dbname=x\nworkers: many\n" SOURCE_PASS,
                 "t.yaml:2:10: workers: expected an integer, got \"many\"");
    expect_error("state: dbname=x\nworkers: 0\n" SOURCE_PASS,
                 "t.yaml:2:10: workers: expected an integer between 1 and "
                 "256, got 0");
    expect_error("state: [a]\n" SOURCE_PASS,
                 "t.yaml:1:8: state: expected a connection string or {dsn: "
                 "...}, got a list");
    expect_error("state: dbname=x\negress: db:5432\n" SOURCE_PASS,
                 "t.yaml:2:9: egress: expected a list of \"host:port\" "
                 "rules, got \"db:5432\"");
    expect_error("state: dbname=x\n" SOURCE_PASS "    enabled: maybe\n",
                 "t.yaml:7:14: passes[0].enabled: expected true or false, "
                 "got \"maybe\"");
    expect_error("state: dbname=x\n" SOURCE_PASS "    kind: sink\n",
                 "t.yaml:7:5: passes[0].kind: duplicate key (first given at "
                 "5:5)");
    expect_error("state: dbname=x\npasses:\n  - name: d\n    plugin: p\n"
                 "    kind: sink\n",
                 "t.yaml:5:11: passes[0].kind: expected source, entity or "
                 "batch, got \"sink\"");
    expect_error("state: dbname=x\n" SOURCE_PASS "    concurrency: -1\n",
                 "t.yaml:7:18: passes[0].concurrency: expected an integer "
                 "between 0 and 100000, got -1");
    expect_error("state: dbname=x\n" SOURCE_PASS "    config: [a]\n",
                 "t.yaml:7:13: passes[0].config: expected a mapping, got a "
                 "list");
    expect_error("- a\n- b\n",
                 "t.yaml:1:1: expected a mapping at the top level, got a "
                 "list");
    expect_error("state: \"host=x bogus\"\n" SOURCE_PASS,
                 "t.yaml:1:8: state: invalid connection string: missing "
                 "\"=\" after \"bogus\" in connection info string");
}

static void test_missing_required(void **state)
{
    (void)state;
    expect_error(SOURCE_PASS, "t.yaml:1:1: state: required key is missing");
    expect_error("state: dbname=x\n",
                 "t.yaml:1:1: passes: required key is missing");
    expect_error("state: dbname=x\npasses: []\n",
                 "t.yaml:2:9: passes: at least one pass is needed");
    expect_error("state: dbname=x\npasses:\n  - name: d\n    kind: source\n",
                 "t.yaml:3:5: passes[0].plugin: required key is missing");
    expect_error("state: dbname=x\npasses:\n  - plugin: d\n    kind: source\n",
                 "t.yaml:3:5: passes[0].name: required key is missing");
    expect_error("state: dbname=x\napi: {tokens_file: t}\n" SOURCE_PASS,
                 "t.yaml:2:6: api.listen: required key is missing");
    expect_error("", "t.yaml:1:1: the manifest is empty");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error("state: dbname=x\nlimits:\n  lease_seconds: 5x\n" SOURCE_PASS,
                 "t.yaml:3:18: limits.lease_seconds: bad duration \"5x\": "
                 "unknown unit 'x' (use s, m, h or d)");
    expect_error("state: dbname=x\nschedule: {every: soon}\n" SOURCE_PASS,
                 "t.yaml:2:19: schedule.every: bad duration \"soon\": "
                 "expected a number at \"soon\" (write e.g. 90s, 6h, 1h30m)");
    expect_error(
        "state: dbname=x\nschedule:\n  cron: \"* 25 * * *\"\n" SOURCE_PASS,
        "t.yaml:3:9: schedule.cron: field 2 (hour): 25 is out of "
        "range 0-23");
    expect_error(
        "state: dbname=x\nschedule: {every: 1h, cron: '@daily'}\n" SOURCE_PASS,
        "t.yaml:2:11: schedule: give exactly one of `every` and "
        "`cron`");
    expect_error(
        "state: dbname=x\negress:\n  - db:5432\n  - db:99999\n" SOURCE_PASS,
        "t.yaml:4:5: egress[1]: egress rule \"db:99999\": port must be "
        "1..65535 or '*'");
    expect_error("state: dbname=x\negress: ['::1:80']\n" SOURCE_PASS,
                 "t.yaml:2:10: egress[0]: egress rule \"::1:80\": an IPv6 "
                 "address must be written in brackets (\"[::1]:5432\")");
    expect_error("state: dbname=x\negress: ['*']\n" SOURCE_PASS,
                 "t.yaml:2:10: egress[0]: egress rule \"*\": a rule must name "
                 "a host; '*' alone would allow everything");
    expect_error("state: dbname=x\napi: {listen: localhost}\n" SOURCE_PASS,
                 "t.yaml:2:15: api.listen: expected \"address:port\" (e.g. "
                 "\"127.0.0.1:8089\"), got \"localhost\"");
    expect_error("state: dbname=x\n" SOURCE_PASS
                 "  - name: discovery\n    plugin: x\n    kind: entity\n",
                 "t.yaml:7:11: passes[1].name: duplicate pass name "
                 "`discovery` (first defined at 3:5)");
    expect_error("state: dbname=x\n" SOURCE_PASS
                 "  - name: Profile\n    plugin: x\n    kind: entity\n",
                 "t.yaml:7:11: passes[1].name: bad pass name \"Profile\" "
                 "(use lowercase a-z, 0-9 and _, at most 64 characters)");
    /* Pass names go into metric labels of fixed-size buffers. */
    expect_error("state: dbname=x\n" SOURCE_PASS "  - name: "
                 "a12345678901234567890123456789012345678901234567890123456789"
                 "01234\n    plugin: x\n    kind: entity\n",
                 "t.yaml:7:11: passes[1].name: bad pass name "
                 "\"a12345678901234567890123456789012345678901234567890123456"
                 "78901234\" (use lowercase a-z, 0-9 and _, at most 64 "
                 "characters)");
    expect_error("state: dbname=x\n" SOURCE_PASS
                 "  - name: p\n    plugin: x\n    kind: entity\n"
                 "    inputs: [table, table]\n",
                 "t.yaml:10:21: passes[1].inputs[1]: aspect `table` is "
                 "listed twice");
    expect_error("state: dbname=x\n" SOURCE_PASS
                 "  - name: p\n    plugin: x\n    kind: entity\n"
                 "    outputs: [x?]\n",
                 "t.yaml:10:15: passes[1].outputs[0]: `?` (optional) is only "
                 "meaningful in inputs");
}

static void test_yaml_syntax_error(void **state)
{
    (void)state;
    expect_error("state: dbname=x\npasses: [a, b\nworkers: 2\n",
                 "t.yaml:3:8: YAML syntax error: did not find expected ',' "
                 "or ']' (while parsing a flow sequence at 2:9)");
    expect_error("state: dbname=x\n---\nworkers: 2\n",
                 "t.yaml:3:1: a manifest is one YAML document; a second one "
                 "starts here");
    expect_error("state: dbname=x\n  bad: 1\n",
                 "t.yaml:2:6: YAML syntax error: mapping values are not "
                 "allowed in this context");
}

static void test_load_missing_file(void **state)
{
    struct manifest *m = NULL;
    char err[512];
    (void)state;
    assert_int_equal(manifest_load("/nonexistent/m.yaml", &m, err, sizeof err),
                     -1);
    assert_null(m);
    assert_string_equal(err,
                        "/nonexistent/m.yaml: cannot open: No such file or "
                        "directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_json_manifest),
        cmocka_unit_test(test_config_scalar_types),
        cmocka_unit_test(test_env_substitution),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_file_secrets),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
