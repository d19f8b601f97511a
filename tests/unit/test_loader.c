/* The loader: ABI acceptance, loading real .so files of every refused
 * shape, declaration checks against the manifest and config validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "manifest.h"

#ifndef CS_TEST_PLUGIN_DIR
#error "CS_TEST_PLUGIN_DIR must name the directory of the test plugins"
#endif

#define MIN_SIZE (offsetof(cs_pass_desc, kind) + sizeof(cs_pass_kind))

static const char *plugin(const char *variant)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s.so", CS_TEST_PLUGIN_DIR, variant);
    return path;
}

/* Reads an int exported by an already loaded plugin. */
static int plugin_counter(const char *variant, const char *symbol)
{
    void *h = dlopen(plugin(variant), RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    int *v = dlsym(h, symbol);
    assert_non_null(v);
    int value = *v;
    dlclose(h); /* drops only the reference RTLD_NOLOAD added */
    return value;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

/* ---- loader_check_abi ---------------------------------------------------- */

static int check_abi(uint32_t major, uint32_t minor, uint32_t size, char *err,
                     size_t errlen)
{
    cs_pass_desc d = {
        .abi_major = major, .abi_minor = minor, .struct_size = size};
    err[0] = '\0';
    return loader_check_abi("x", "/lib/x.so", &d, err, errlen);
}

static void test_abi_accepts_same_major_and_lower_or_equal_minor(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(
        check_abi(CS_ABI_MAJOR, CS_ABI_MINOR, sizeof(cs_pass_desc), err, 512),
        0);
    assert_string_equal(err, "");
    if (CS_ABI_MINOR > 0)
        assert_int_equal(check_abi(CS_ABI_MAJOR, CS_ABI_MINOR - 1,
                                   sizeof(cs_pass_desc), err, 512),
                         0);
    /* The smallest descriptor the host can use is accepted... */
    assert_int_equal(check_abi(CS_ABI_MAJOR, 0, MIN_SIZE, err, 512), 0);
    /* ...and a larger one from a newer build of the same minor too. */
    assert_int_equal(
        check_abi(CS_ABI_MAJOR, 0, sizeof(cs_pass_desc) + 64, err, 512), 0);
}

static void test_abi_refuses_higher_major(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(
        check_abi(CS_ABI_MAJOR + 1, 0, sizeof(cs_pass_desc), err, 512), -1);
    char want[256];
    snprintf(want, sizeof want,
             "pass `x` (/lib/x.so): built for ABI %d.0, host speaks %d.%d",
             CS_ABI_MAJOR + 1, CS_ABI_MAJOR, CS_ABI_MINOR);
    assert_string_equal(err, want);
}

static void test_abi_refuses_lower_major(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(
        check_abi(CS_ABI_MAJOR - 1, 9, sizeof(cs_pass_desc), err, 512), -1);
    char want[256];
    snprintf(want, sizeof want,
             "pass `x` (/lib/x.so): built for ABI %d.9, host speaks %d.%d",
             CS_ABI_MAJOR - 1, CS_ABI_MAJOR, CS_ABI_MINOR);
    assert_string_equal(err, want);
}

static void test_abi_refuses_higher_minor_with_hint(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(check_abi(CS_ABI_MAJOR, CS_ABI_MINOR + 1,
                               sizeof(cs_pass_desc), err, 512),
                     -1);
    char want[256];
    snprintf(want, sizeof want,
             "pass `x` (/lib/x.so): built for ABI %d.%d, host speaks %d.%d "
             "(rebuild the pass against this host's headers)",
             CS_ABI_MAJOR, CS_ABI_MINOR + 1, CS_ABI_MAJOR, CS_ABI_MINOR);
    assert_string_equal(err, want);
}

static void test_abi_refuses_too_small_struct(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(check_abi(CS_ABI_MAJOR, 0, MIN_SIZE - 1, err, 512), -1);
    char want[256];
    snprintf(want, sizeof want,
             "pass `x` (/lib/x.so): descriptor struct_size %zu is smaller "
             "than the ABI %d.0 minimum %zu",
             MIN_SIZE - 1, CS_ABI_MAJOR, MIN_SIZE);
    assert_string_equal(err, want);
    assert_int_equal(check_abi(CS_ABI_MAJOR, 0, 0, err, 512), -1);
    assert_contains(err, "struct_size 0 is smaller");
}

/* ---- loader_open ----------------------------------------------------------
 */

static void test_open_missing_file(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024];
    assert_int_equal(
        loader_open("ghost", "/nonexistent/dir/ghost.so", &lp, err, sizeof err),
        -1);
    const char *want = "pass `ghost`: cannot load /nonexistent/dir/ghost.so: ";
    assert_memory_equal(err, want, strlen(want));
    /* dlerror's own text follows; it names the file and the cause. */
    assert_contains(err + strlen(want), "/nonexistent/dir/ghost.so");
    assert_contains(err + strlen(want), "No such file");
    assert_null(lp.handle);
}

static void test_open_not_a_pass(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024], want[1200];
    const char *path = plugin("no_entry");
    assert_int_equal(loader_open("np", path, &lp, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "pass `np` (%s): no `cs_pass_entry` symbol: not a catalog-sync "
             "pass",
             path);
    assert_string_equal(err, want);
    assert_null(lp.handle);
}

static void test_open_entry_returns_null(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024], want[1200];
    const char *path = plugin("null_entry");
    assert_int_equal(loader_open("nul", path, &lp, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "pass `nul` (%s): cs_pass_entry() returned NULL", path);
    assert_string_equal(err, want);
    assert_int_equal(plugin_counter("null_entry", "tp_entry_calls"), 1);
}

static void test_open_valid_copies_descriptor(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024] = "";
    assert_int_equal(
        loader_open("probe", plugin("valid"), &lp, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_non_null(lp.handle);
    assert_int_equal(lp.desc.abi_major, CS_ABI_MAJOR);
    assert_int_equal(lp.desc.struct_size, sizeof(cs_pass_desc));
    assert_string_equal(lp.desc.name, "probe");
    assert_string_equal(lp.desc.version, "1.2.3");
    assert_int_equal(lp.desc.kind, CS_PASS_ENTITY);
    assert_string_equal(lp.desc.consumes[1].name, "hint");
    assert_string_equal(lp.desc.produces[0].name, "probe");
    assert_string_equal(lp.desc.options[0].name, "depth");
    assert_non_null(lp.desc.init);
    assert_non_null(lp.desc.process);
    assert_non_null(lp.desc.fini);
    assert_null(lp.desc.discover);
    /* A copy, not the plugin's own object. */
    cs_pass_entry_fn entry;
    *(void **)&entry = dlsym(lp.handle, CS_PASS_ENTRY_SYMBOL);
    assert_non_null(entry);
    assert_ptr_not_equal(entry(), &lp.desc);
    /* Loading runs the entry point only, never init(). */
    assert_int_equal(plugin_counter("valid", "tp_init_calls"), 0);
}

/* An older minor's descriptor is shorter: whatever lies past its
 * struct_size in the plugin's memory must not reach the host's copy. */
static void test_open_short_descriptor_zero_fills(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024] = "";
    assert_int_equal(
        loader_open("probe", plugin("short"), &lp, err, sizeof err), 0);
    assert_int_equal(lp.desc.struct_size, offsetof(cs_pass_desc, options));
    assert_string_equal(lp.desc.name, "probe");
    assert_string_equal(lp.desc.produces[0].name, "probe");
    assert_null(lp.desc.options);
    assert_null(lp.desc.init);
    assert_null(lp.desc.discover);
    assert_null(lp.desc.process);
    assert_null(lp.desc.finish);
    assert_null(lp.desc.fini);
    /* The plugin's object does hold values there (so the test can fail). */
    cs_pass_entry_fn entry;
    *(void **)&entry = dlsym(lp.handle, CS_PASS_ENTRY_SYMBOL);
    const cs_pass_desc *orig = entry();
    assert_non_null(orig->options);
    assert_non_null(orig->init);
}

static void test_open_bumped_major_never_runs_init(void **state)
{
    (void)state;
    char marker[] = "/tmp/cs-loader-marker-XXXXXX";
    int fd = mkstemp(marker);
    assert_true(fd >= 0);
    close(fd);
    unlink(marker);
    setenv("CS_TEST_INIT_MARKER", marker, 1);

    struct loaded_plugin lp;
    char err[1024], want[1200];
    const char *path = plugin("abi2");
    assert_int_equal(loader_open("fut", path, &lp, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "pass `fut` (%s): built for ABI 2.0, host speaks %d.%d", path,
             CS_ABI_MAJOR, CS_ABI_MINOR);
    assert_string_equal(err, want);
    assert_null(lp.handle);
    assert_null(lp.desc.init);
    assert_int_equal(plugin_counter("abi2", "tp_entry_calls"), 1);
    assert_int_equal(plugin_counter("abi2", "tp_init_calls"), 0);
    assert_int_equal(access(marker, F_OK), -1);

    /* The marker does appear when init() runs: the check above can fail. */
    struct loaded_plugin ok;
    assert_int_equal(
        loader_open("probe", plugin("valid"), &ok, err, sizeof err), 0);
    void *st = (void *)1;
    assert_int_equal(ok.desc.init(NULL, NULL, &st), CS_OK);
    assert_int_equal(access(marker, F_OK), 0);
    assert_int_equal(plugin_counter("valid", "tp_init_calls"), 1);
    unlink(marker);
    unsetenv("CS_TEST_INIT_MARKER");
}

/* The header of a future major is all the loader may read: this plugin's
 * descriptor ends at an inaccessible page right after it. */
static void test_open_bumped_major_reads_header_only(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024];
    assert_int_equal(
        loader_open("fut", plugin("abi2_guarded"), &lp, err, sizeof err), -1);
    assert_contains(err, "built for ABI 2.0, host speaks");
    assert_int_equal(plugin_counter("abi2_guarded", "tp_entry_calls"), 1);
}

static void test_open_minor_ahead(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024];
    assert_int_equal(
        loader_open("new", plugin("minor_ahead"), &lp, err, sizeof err), -1);
    assert_contains(err, "(rebuild the pass against this host's headers)");
    assert_contains(err, plugin("minor_ahead"));
}

static void test_open_descriptor_without_name(void **state)
{
    (void)state;
    struct loaded_plugin lp;
    char err[1024], want[1200];
    const char *path = plugin("no_name");
    assert_int_equal(loader_open("anon", path, &lp, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "pass `anon` (%s): descriptor lacks a name or a produces list",
             path);
    assert_string_equal(err, want);
}

/* ---- loader_check_declarations ------------------------------------------- */

#define MANIFEST                                                               \
    "state: dbname=cs\n"                                                       \
    "plugin_dir: /p\n"                                                         \
    "raw_aspects: [cells]\n"                                                   \
    "passes:\n"                                                                \
    "  - name: src\n"                                                          \
    "    plugin: src\n"                                                        \
    "    kind: source\n"                                                       \
    "    outputs: [table]\n"                                                   \
    "  - name: probe\n"                                                        \
    "    plugin: probe\n"                                                      \
    "    kind: entity\n"                                                       \
    "    inputs: [%s]\n"                                                       \
    "    outputs: [%s]\n"

static struct manifest *load_manifest(const char *inputs, const char *outputs)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, MANIFEST, inputs, outputs);
    struct manifest *m = NULL;
    char err[1024] = "";
    if (manifest_load_buffer("t.yaml", yaml, strlen(yaml), &m, err,
                             sizeof err) != 0)
        fail_msg("manifest error: %s", err);
    return m;
}

static const cs_aspect_decl d_consumes[] = {
    {"table", CS_ASPECT_REQUIRED}, {"hint", CS_ASPECT_OPTIONAL}, {NULL, 0}};
static const cs_aspect_decl d_produces[] = {{"probe", 0}, {NULL, 0}};

static int probe_process(void *state, cs_ctx *ctx)
{
    (void)state;
    (void)ctx;
    return CS_OK;
}

static cs_pass_desc entity_desc(void)
{
    return (cs_pass_desc){CS_PASS_HEADER,         .name = "probe",
                          .kind = CS_PASS_ENTITY, .consumes = d_consumes,
                          .produces = d_produces, .process = probe_process};
}

/* Checks the manifest built from inputs/outputs against d; want NULL means
 * accepted, else the exact message after "pass `probe` (/p/probe.so): ". */
static void expect_decl(const char *inputs, const char *outputs,
                        const cs_pass_desc *d, const char *want)
{
    struct manifest *m = load_manifest(inputs, outputs);
    const struct mf_pass *mp = manifest_find_pass(m, "probe");
    assert_non_null(mp);
    char err[1024] = "";
    int rc = loader_check_declarations(m, mp, d, err, sizeof err);
    if (!want) {
        if (rc != 0)
            fail_msg("refused: %s", err);
    } else {
        char full[1024];
        snprintf(full, sizeof full, "pass `probe` (%s): %s", mp->plugin_path,
                 want);
        assert_int_equal(rc, -1);
        assert_string_equal(err, full);
    }
    manifest_free(m);
}

static void test_decl_matching_accepted(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    expect_decl("table, hint?", "probe", &d, NULL);
    /* An optional input may be left out of the manifest. */
    expect_decl("table", "probe", &d, NULL);
}

static void test_decl_kind_mismatch(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    d.kind = CS_PASS_BATCH;
    expect_decl("table", "probe", &d,
                "the plugin's kind is batch but the manifest says kind: "
                "entity");
    d.kind = (cs_pass_kind)42;
    expect_decl("table", "probe", &d,
                "the plugin's kind is unknown but the manifest says kind: "
                "entity");
}

/* A pass without the callback of its kind is refused at load, so
 * `check --load` catches it before a worker would. */
static void test_decl_missing_callback(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    d.process = NULL;
    expect_decl("table", "probe", &d,
                "kind entity needs a process() callback, which the plugin "
                "does not provide");
}

static void test_decl_input_not_consumed(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    expect_decl("table, extra", "probe", &d,
                "manifest input `extra` is not consumed by the plugin (remove "
                "it from inputs)");
}

static void test_decl_required_input_missing(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    expect_decl("hint?", "probe", &d,
                "the plugin requires input `table`, which the manifest's "
                "inputs do not list");
}

static void test_decl_optional_mismatch(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    expect_decl("table, hint", "probe", &d,
                "input `hint` is optional in the plugin but written as "
                "required in the manifest (write `hint?`)");
    expect_decl("table?", "probe", &d,
                "input `table` is required in the plugin but written as "
                "optional in the manifest (write `table`)");
}

static void test_decl_output_mismatch(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    expect_decl("table", "probe, other", &d,
                "manifest output `other` is not produced by the plugin");
    static const cs_aspect_decl two[] = {{"probe", 0}, {"more", 0}, {NULL, 0}};
    d.produces = two;
    expect_decl("table", "probe", &d,
                "the plugin produces `more`, which the manifest's outputs do "
                "not list");
}

static void test_decl_raw_mismatch(void **state)
{
    (void)state;
    cs_pass_desc d = entity_desc();
    /* `cells` is raw in the manifest (raw_aspects), not in the plugin. */
    static const cs_aspect_decl cells[] = {{"cells", 0}, {NULL, 0}};
    d.produces = cells;
    expect_decl("table", "cells", &d,
                "the plugin declares `cells` as not raw but the manifest "
                "treats it as raw (see raw_aspects)");
    /* `probe` is raw in the plugin, not in the manifest. */
    static const cs_aspect_decl rawprobe[] = {{"probe", CS_ASPECT_RAW},
                                              {NULL, 0}};
    d.produces = rawprobe;
    expect_decl("table", "probe", &d,
                "the plugin declares `probe` as raw but the manifest treats "
                "it as not raw (see raw_aspects)");
    /* `sample` is raw by default on both sides. */
    static const cs_aspect_decl sample[] = {{"sample", CS_ASPECT_RAW},
                                            {NULL, 0}};
    d.produces = sample;
    expect_decl("table", "sample", &d, NULL);
}

/* ---- loader_validate_config ---------------------------------------------- */

static const cs_option_decl opts[] = {
    {"name", CS_OPT_STRING, NULL, "a name", 0},
    {"limit", CS_OPT_INT, "100", "rows", 0},
    {"ratio", CS_OPT_NUMBER, "0.5", "share", 0},
    {"on", CS_OPT_BOOL, "true", "switch", 0},
    {"tags", CS_OPT_LIST, "[\"a\"]", "tags", 0},
    {"map", CS_OPT_OBJECT, NULL, "mapping", 0},
    {NULL, 0, NULL, NULL, 0}};

static int validate(const cs_option_decl *o, const char *config_json,
                    json_t **out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *config = json_loads(config_json, 0, &je);
    if (!config)
        fail_msg("bad test JSON: %s", je.text);
    *out = NULL;
    err[0] = '\0';
    int rc = loader_validate_config("p", o, config, out, err, errlen);
    json_decref(config);
    return rc;
}

static void expect_config_error(const cs_option_decl *o, const char *config,
                                const char *want)
{
    json_t *out;
    char err[1024];
    assert_int_equal(validate(o, config, &out, err, sizeof err), -1);
    assert_null(out);
    assert_string_equal(err, want);
}

static void test_config_defaults_filled(void **state)
{
    (void)state;
    json_t *out;
    char err[1024];
    assert_int_equal(validate(opts, "{\"name\": \"n\", \"limit\": 7}", &out,
                              err, sizeof err),
                     0);
    assert_string_equal(err, "");
    assert_string_equal(json_string_value(json_object_get(out, "name")), "n");
    assert_int_equal(json_integer_value(json_object_get(out, "limit")), 7);
    assert_true(json_real_value(json_object_get(out, "ratio")) == 0.5);
    assert_true(json_is_true(json_object_get(out, "on")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(out, "tags"), 0)),
        "a");
    /* No default, not given: absent. */
    assert_null(json_object_get(out, "map"));
    assert_int_equal(json_object_size(out), 5);
    json_decref(out);
}

static void test_config_input_not_modified(void **state)
{
    (void)state;
    json_t *config = json_object();
    json_t *out = NULL;
    char err[256];
    assert_int_equal(
        loader_validate_config("p", opts, config, &out, err, sizeof err), 0);
    assert_int_equal(json_object_size(config), 0);
    assert_ptr_not_equal(out, config);
    assert_int_equal(json_integer_value(json_object_get(out, "limit")), 100);
    json_decref(out);
    json_decref(config);
}

static void test_config_unknown_key(void **state)
{
    (void)state;
    expect_config_error(opts, "{\"limit\": 1, \"limt\": 2}",
                        "pass `p`: config.limt is not an option of this pass "
                        "(`catalog-sync check --load` lists them)");
    /* A pass without options accepts only an empty config. */
    expect_config_error(NULL, "{\"x\": 1}",
                        "pass `p`: config.x is not an option of this pass "
                        "(`catalog-sync check --load` lists them)");
    json_t *out;
    char err[256];
    assert_int_equal(validate(NULL, "{}", &out, err, sizeof err), 0);
    assert_int_equal(json_object_size(out), 0);
    json_decref(out);
}

static void test_config_wrong_types(void **state)
{
    (void)state;
    expect_config_error(opts, "{\"name\": 3}",
                        "pass `p`: config.name must be a string");
    expect_config_error(opts, "{\"limit\": 1.5}",
                        "pass `p`: config.limit must be an integer");
    expect_config_error(opts, "{\"limit\": \"7\"}",
                        "pass `p`: config.limit must be an integer");
    expect_config_error(opts, "{\"ratio\": \"x\"}",
                        "pass `p`: config.ratio must be a number");
    expect_config_error(opts, "{\"on\": 1}",
                        "pass `p`: config.on must be a boolean");
    expect_config_error(opts, "{\"tags\": {}}",
                        "pass `p`: config.tags must be a list");
    expect_config_error(opts, "{\"map\": []}",
                        "pass `p`: config.map must be a mapping");
    /* An integer is a number. */
    json_t *out;
    char err[256];
    assert_int_equal(validate(opts, "{\"ratio\": 2}", &out, err, sizeof err),
                     0);
    json_decref(out);
}

static void test_config_required_missing(void **state)
{
    (void)state;
    static const cs_option_decl req[] = {
        {"dsn", CS_OPT_STRING, NULL, "where to connect", CS_OPTION_REQUIRED},
        {NULL, 0, NULL, NULL, 0}};
    expect_config_error(req, "{}",
                        "pass `p`: config.dsn is required (where to connect)");
    static const cs_option_decl nohelp[] = {
        {"dsn", CS_OPT_STRING, NULL, NULL, CS_OPTION_REQUIRED},
        {NULL, 0, NULL, NULL, 0}};
    expect_config_error(nohelp, "{}",
                        "pass `p`: config.dsn is required (no help)");
    /* A required option with a default is satisfied by the default. */
    static const cs_option_decl withdef[] = {
        {"dsn", CS_OPT_STRING, "\"x\"", NULL, CS_OPTION_REQUIRED},
        {NULL, 0, NULL, NULL, 0}};
    json_t *out;
    char err[256];
    assert_int_equal(validate(withdef, "{}", &out, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "dsn")), "x");
    json_decref(out);
}

static void test_config_invalid_default(void **state)
{
    (void)state;
    static const cs_option_decl bad[] = {{"n", CS_OPT_INT, "{oops", "n", 0},
                                         {NULL, 0, NULL, NULL, 0}};
    json_t *out;
    char err[512];
    assert_int_equal(validate(bad, "{}", &out, err, sizeof err), -1);
    assert_null(out);
    const char *want =
        "pass `p`: option `n` has an invalid default in the plugin: ";
    assert_memory_equal(err, want, strlen(want));
    assert_true(strlen(err) > strlen(want)); /* jansson's reason follows */
    /* A given value means the default is never parsed. */
    assert_int_equal(validate(bad, "{\"n\": 1}", &out, err, sizeof err), 0);
    json_decref(out);
}

/* A default of the wrong type is the plugin's mistake, not the
 * operator's: the message must not send them looking for a config key
 * they never wrote. */
static void test_config_default_of_wrong_type(void **state)
{
    (void)state;
    static const cs_option_decl bad[] = {
        {"limit", CS_OPT_INT, "\"ten\"", "rows", 0}, {NULL, 0, NULL, NULL, 0}};
    expect_config_error(bad, "{}",
                        "pass `p`: option `limit` has an invalid default in "
                        "the plugin: expected an integer");
    /* Given in the config, the value is checked as usual. */
    expect_config_error(bad, "{\"limit\": \"x\"}",
                        "pass `p`: config.limit must be an integer");
}

static void test_config_null_allowed(void **state)
{
    (void)state;
    json_t *out;
    char err[256];
    assert_int_equal(validate(opts, "{\"limit\": null, \"name\": null}", &out,
                              err, sizeof err),
                     0);
    /* An explicit null is kept, not replaced by the default. */
    assert_true(json_is_null(json_object_get(out, "limit")));
    assert_true(json_is_null(json_object_get(out, "name")));
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_accepts_same_major_and_lower_or_equal_minor),
        cmocka_unit_test(test_abi_refuses_higher_major),
        cmocka_unit_test(test_abi_refuses_lower_major),
        cmocka_unit_test(test_abi_refuses_higher_minor_with_hint),
        cmocka_unit_test(test_abi_refuses_too_small_struct),
        cmocka_unit_test(test_open_missing_file),
        cmocka_unit_test(test_open_not_a_pass),
        cmocka_unit_test(test_open_entry_returns_null),
        cmocka_unit_test(test_open_valid_copies_descriptor),
        cmocka_unit_test(test_open_short_descriptor_zero_fills),
        cmocka_unit_test(test_open_bumped_major_never_runs_init),
        cmocka_unit_test(test_open_bumped_major_reads_header_only),
        cmocka_unit_test(test_open_minor_ahead),
        cmocka_unit_test(test_open_descriptor_without_name),
        cmocka_unit_test(test_decl_matching_accepted),
        cmocka_unit_test(test_decl_kind_mismatch),
        cmocka_unit_test(test_decl_missing_callback),
        cmocka_unit_test(test_decl_input_not_consumed),
        cmocka_unit_test(test_decl_required_input_missing),
        cmocka_unit_test(test_decl_optional_mismatch),
        cmocka_unit_test(test_decl_output_mismatch),
        cmocka_unit_test(test_decl_raw_mismatch),
        cmocka_unit_test(test_config_defaults_filled),
        cmocka_unit_test(test_config_input_not_modified),
        cmocka_unit_test(test_config_unknown_key),
        cmocka_unit_test(test_config_wrong_types),
        cmocka_unit_test(test_config_required_missing),
        cmocka_unit_test(test_config_invalid_default),
        cmocka_unit_test(test_config_default_of_wrong_type),
        cmocka_unit_test(test_config_null_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
