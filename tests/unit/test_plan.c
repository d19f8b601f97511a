/* Plan building: order, stages, producers, the messages of every plan
 * error (with manifest positions) and the raw-aspect rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest.h"
#include "plan.h"

#define HEAD                                                                   \
    "state: dbname=cs\n"                                                       \
    "plugin_dir: /p\n"                                                         \
    "passes:\n"                                                                \
    "  - name: discovery\n"                                                    \
    "    plugin: discovery_postgres\n"                                         \
    "    kind: source\n"                                                       \
    "    outputs: [table]\n"

/* A pass entry on 5 lines: name, plugin, kind, inputs, outputs. */
#define PASS(name, kind, in, out)                                              \
    "  - name: " name "\n"                                                     \
    "    plugin: " name "\n"                                                   \
    "    kind: " kind "\n"                                                     \
    "    inputs: [" in "]\n"                                                   \
    "    outputs: [" out "]\n"

static struct manifest *manifest(const char *yaml)
{
    struct manifest *m = NULL;
    char err[1024] = "";
    if (manifest_load_buffer("p.yaml", yaml, strlen(yaml), &m, err,
                             sizeof err) != 0)
        fail_msg("manifest error: %s", err);
    return m;
}

static struct plan *plan_ok(struct manifest *m)
{
    struct plan *p = NULL;
    char err[1024] = "";
    if (plan_build(m, &p, err, sizeof err) != 0)
        fail_msg("plan error: %s", err);
    assert_non_null(p);
    return p;
}

static void expect_plan_error(const char *yaml, const char *want)
{
    struct manifest *m = manifest(yaml);
    struct plan *p = (struct plan *)1;
    char err[1024] = "";
    assert_int_equal(plan_build(m, &p, err, sizeof err), -1);
    assert_null(p);
    assert_string_equal(err, want);
    manifest_free(m);
}

static const char *step_name(const struct plan *p, size_t i)
{
    return p->steps[i].pass->name;
}

/* The demo pipeline, written out of order on purpose: `describe` comes
 * first in the file but needs what `profile` and `mask` produce. */
static const char *pipeline = HEAD PASS(
    "describe", "entity", "table, sample_masked?, profile",
    "description") PASS("profile", "entity", "table", "sample, profile")
    PASS("mask", "entity", "table, sample", "sample_masked")
        PASS("fk", "batch", "profile", "fk")
            PASS("publish", "entity", "description, fk, lineage?", "published");

static void test_pipeline_order_and_stages(void **state)
{
    (void)state;
    struct manifest *m = manifest(pipeline);
    struct plan *p = plan_ok(m);
    const char *order[] = {"discovery", "profile", "mask",
                           "describe",  "fk",      "publish"};
    assert_int_equal(p->n_steps, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(step_name(p, i), order[i]);

    assert_int_equal(p->n_stages, 4);
    assert_int_equal(p->stages[0].kind, STAGE_SOURCE);
    assert_int_equal(p->stages[0].n_steps, 1);
    assert_int_equal(p->stages[1].kind, STAGE_ENTITY);
    assert_int_equal(p->stages[1].first_step, 1);
    assert_int_equal(p->stages[1].n_steps, 3);
    assert_int_equal(p->stages[2].kind, STAGE_BATCH);
    assert_int_equal(p->stages[2].first_step, 4);
    assert_int_equal(p->stages[3].kind, STAGE_ENTITY);
    assert_int_equal(p->steps[5].stage, 3);

    /* where each input comes from */
    const struct plan_step *d = &p->steps[plan_find_step(p, "describe")];
    assert_int_equal(d->n_inputs, 3);
    assert_int_equal(d->inputs[0].producer, 0);
    assert_int_equal(d->inputs[1].producer, plan_find_step(p, "mask"));
    assert_true(d->inputs[1].optional);
    assert_int_equal(d->inputs[2].producer, plan_find_step(p, "profile"));
    const struct plan_step *pub = &p->steps[5];
    assert_int_equal(pub->inputs[1].producer, 4);
    assert_int_equal(pub->inputs[2].producer, -1); /* lineage?: nobody */
    assert_int_equal(plan_find_step(p, "nope"), -1);

    /* raw: only `mask` reads `sample`; it frees it */
    for (size_t i = 0; i < p->n_steps; i++)
        assert_int_equal(p->steps[i].no_network,
                         !strcmp(step_name(p, i), "mask"));
    const struct plan_step *mask = &p->steps[2];
    assert_true(mask->inputs[1].raw);
    assert_int_equal(mask->n_free_after, 1);
    assert_string_equal(mask->free_after[0], "sample");
    assert_int_equal(p->steps[1].n_free_after, 0);
    plan_free(p);
    manifest_free(m);
}

static void test_free_after(void **state)
{
    (void)state;
    /* nobody reads `sample`: the producer frees it; `scratch` (declared
     * raw) is read by two passes: the later one frees it */
    struct manifest *m = manifest("raw_aspects: [scratch]\n" HEAD PASS(
        "profile", "entity", "table",
        "sample, profile, scratch") PASS("a", "entity", "scratch", "x")
                                      PASS("b", "entity", "scratch?, x", "y"));
    struct plan *p = plan_ok(m);
    int prof = plan_find_step(p, "profile"), b = plan_find_step(p, "b");
    assert_int_equal(p->steps[prof].n_free_after, 1);
    assert_string_equal(p->steps[prof].free_after[0], "sample");
    assert_int_equal(p->steps[b].n_free_after, 1);
    assert_string_equal(p->steps[b].free_after[0], "scratch");
    assert_int_equal(p->steps[plan_find_step(p, "a")].n_free_after, 0);
    /* an optional raw input makes a pass network-free too */
    assert_true(p->steps[b].no_network);
    assert_true(p->steps[plan_find_step(p, "a")].no_network);
    assert_false(p->steps[prof].no_network);
    plan_free(p);
    manifest_free(m);
}

static void test_consecutive_batches_and_sources(void **state)
{
    (void)state;
    struct manifest *m = manifest(
        HEAD PASS("src2", "source", "", "table, lineage")
            PASS("b1", "batch", "table", "x") PASS("b2", "batch", "x", "y")
                PASS("e", "entity", "table, lineage", "z"));
    struct plan *p = plan_ok(m);
    assert_int_equal(p->n_stages, 4);
    assert_int_equal(p->stages[0].n_steps, 2); /* both sources */
    assert_int_equal(p->stages[1].kind, STAGE_BATCH);
    assert_int_equal(p->stages[2].kind, STAGE_BATCH);
    assert_int_equal(p->stages[3].kind, STAGE_ENTITY);
    /* `table` comes from the first source */
    assert_int_equal(p->steps[4].inputs[0].producer, 0);
    assert_int_equal(p->steps[4].inputs[1].producer, 1);
    plan_free(p);
    manifest_free(m);
}

/* Line numbers: HEAD is lines 1-7; the n-th PASS (1-based) starts at line
 * 8 + 5(n-1), its inputs line is 3 further down. */
static void test_missing_producer(void **state)
{
    (void)state;
    expect_plan_error(
        HEAD PASS("describe", "entity", "table, profile", "description"),
        "p.yaml:11:21: passes[1].inputs[1]: pass `describe` "
        "requires aspect `profile`, which no pass produces "
        "(write `profile?` if it is optional)");
}

static void test_disabled_dependency(void **state)
{
    (void)state;
    expect_plan_error(
        HEAD PASS("profile", "entity", "table",
                  "profile") "    enabled: false\n" PASS("describe", "entity",
                                                         "table, profile", "d"),
        "p.yaml:17:21: passes[2].inputs[1]: pass `describe` "
        "requires aspect `profile`, produced by pass `profile` "
        "which is disabled (p.yaml:13:14)");
    /* an optional input may point at a disabled pass */
    struct manifest *m = manifest(HEAD PASS(
        "profile", "entity", "table",
        "profile") "    enabled: false\n" PASS("describe", "entity",
                                               "table, profile?", "d"));
    struct plan *p = plan_ok(m);
    assert_int_equal(p->n_steps, 2);
    assert_int_equal(p->steps[1].inputs[1].producer, -1);
    plan_free(p);
    manifest_free(m);
}

static void test_cycle(void **state)
{
    (void)state;
    expect_plan_error(HEAD PASS("a", "entity", "table, y", "x")
                          PASS("b", "entity", "x", "z")
                              PASS("c", "entity", "z", "y"),
                      "p.yaml:11:21: passes[1].inputs[1]: dependency cycle: "
                      "`a` needs `y` from `c`, `c` needs `z` from `b`, `b` "
                      "needs `x` from `a`");
    expect_plan_error(HEAD PASS("self", "entity", "table, x", "x"),
                      "p.yaml:11:21: passes[1].inputs[1]: dependency cycle: "
                      "`self` needs `x` from `self`");
}

static void test_duplicate_producer(void **state)
{
    (void)state;
    expect_plan_error(HEAD PASS("p1", "entity", "table", "profile")
                          PASS("p2", "entity", "table", "profile"),
                      "p.yaml:17:15: passes[2].outputs[0]: aspect `profile` "
                      "is produced by two passes: `p1` (p.yaml:8:5) and "
                      "`p2`; disable one of them");
}

static void test_raw_rules(void **state)
{
    (void)state;
    /* an entity pass after a batch barrier cannot see `sample` */
    expect_plan_error(HEAD PASS("profile", "entity", "table", "sample")
                          PASS("fk", "batch", "table", "fk")
                              PASS("late", "entity", "fk, sample", "x"),
                      "p.yaml:21:18: passes[3].inputs[1]: pass `late` "
                      "consumes raw aspect `sample` produced by `profile` "
                      "across the barrier of batch pass `fk`; raw aspects "
                      "are never persisted, so they are only available "
                      "within the stage that produced them");
    /* nor can a batch pass */
    expect_plan_error(HEAD PASS("profile", "entity", "table", "sample")
                          PASS("fk", "batch", "sample", "fk"),
                      "p.yaml:16:14: passes[2].inputs[0]: pass `fk` consumes "
                      "raw aspect `sample` produced by `profile` in an "
                      "earlier stage (a batch pass only sees persisted "
                      "aspects); raw aspects are never persisted, so they "
                      "are only available within the stage that produced "
                      "them");
}

static void test_shape_rules(void **state)
{
    (void)state;
    expect_plan_error(HEAD PASS("src2", "source", "table", "table"),
                      "p.yaml:11:13: passes[1].inputs: source pass `src2` "
                      "cannot have inputs (sources start the run; they "
                      "consume nothing)");
    expect_plan_error(HEAD PASS("src2", "source", "", "lineage"),
                      "p.yaml:12:14: passes[1].outputs: source pass `src2` "
                      "must list `table` in its outputs");
    expect_plan_error(HEAD PASS("e", "entity", "", "profile, table"),
                      "p.yaml:12:24: passes[1].outputs[1]: only source passes "
                      "produce `table`; `e` has kind entity");
    expect_plan_error(
        "state: dbname=x\npasses:\n" PASS("e", "entity", "", "profile"),
        "p.yaml:3:5: passes: no enabled source pass: a plan "
        "needs at least one pass with kind: source");
}

static char *print_text(const struct plan *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plan_print_text(p, f);
    fclose(f);
    return buf;
}

static void test_outputs(void **state)
{
    (void)state;
    const char *yaml = HEAD PASS("profile", "entity", "table",
                                 "sample, profile")
        PASS("mask", "entity", "sample, lineage?",
             "sample_masked") "    concurrency: 3\n" PASS("off", "entity",
                                                          "table",
                                                          "q") "    enabled: "
                                                               "false\n";
    struct manifest *m = manifest(yaml);
    struct plan *p = plan_ok(m);
    char *text = print_text(p);
    assert_non_null(strstr(text, "stage 1: source\n"
                                 "  1. discovery (source, plugin "
                                 "/p/discovery_postgres.so)\n"
                                 "      out: table\n"
                                 "stage 2: entity\n"));
    assert_non_null(strstr(text, "  3. mask (entity, plugin /p/mask.so, "
                                 "concurrency 3)\n"
                                 "      in:  sample <- profile [raw]\n"
                                 "      in:  lineage? (optional, none)\n"
                                 "      out: sample_masked\n"
                                 "      no network (consumes raw `sample`)\n"
                                 "      frees `sample` after this pass\n"));
    assert_non_null(strstr(text, "disabled: off\n"));
    free(text);

    json_t *j = plan_to_json(p);
    assert_non_null(j);
    json_t *stages = json_object_get(j, "stages");
    assert_int_equal(json_array_size(stages), 2);
    json_t *st = json_array_get(stages, 1);
    assert_string_equal(json_string_value(json_object_get(st, "kind")),
                        "entity");
    json_t *mask = json_array_get(json_object_get(st, "passes"), 1);
    assert_string_equal(json_string_value(json_object_get(mask, "name")),
                        "mask");
    assert_string_equal(json_string_value(json_object_get(mask, "kind")),
                        "entity");
    assert_true(json_is_true(json_object_get(mask, "no_network")));
    assert_int_equal(json_integer_value(json_object_get(mask, "concurrency")),
                     3);
    json_t *in0 = json_array_get(json_object_get(mask, "inputs"), 0);
    assert_string_equal(json_string_value(json_object_get(in0, "from")),
                        "profile");
    json_t *in1 = json_array_get(json_object_get(mask, "inputs"), 1);
    assert_true(json_is_null(json_object_get(in1, "from")));
    assert_true(json_is_true(json_object_get(in1, "optional")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(mask, "outputs"), 0)),
        "sample_masked");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "disabled"), 0)),
        "off");
    json_decref(j);
    plan_free(p);
    manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_order_and_stages),
        cmocka_unit_test(test_free_after),
        cmocka_unit_test(test_consecutive_batches_and_sources),
        cmocka_unit_test(test_missing_producer),
        cmocka_unit_test(test_disabled_dependency),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_duplicate_producer),
        cmocka_unit_test(test_raw_rules),
        cmocka_unit_test(test_shape_rules),
        cmocka_unit_test(test_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
