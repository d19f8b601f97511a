/*
 * Metrics registry: values, exact Prometheus rendering, snapshots and
 * merging (the path worker totals take to the master), thread safety.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void test_counter_and_gauge_values(void **state)
{
    struct metrics *m = metrics_new();
    assert_non_null(m);
    metrics_counter_add(m, "jobs_total", "kind=\"a\"", "Jobs.", 2);
    metrics_counter_add(m, "jobs_total", "kind=\"a\"", NULL, 1.5);
    metrics_counter_add(m, "jobs_total", "kind=\"b\"", NULL, 1);
    metrics_counter_add(m, "jobs_total", "kind=\"b\"", NULL, -5); /* refused */
    metrics_gauge_set(m, "temp", NULL, "Temperature.", 10);
    metrics_gauge_set(m, "temp", NULL, NULL, -3.25);
    assert_true(metrics_get(m, "jobs_total", "kind=\"a\"") == 3.5);
    assert_true(metrics_get(m, "jobs_total", "kind=\"b\"") == 1);
    assert_true(metrics_get(m, "temp", NULL) == -3.25);
    assert_true(metrics_get(m, "temp", "") == -3.25);
    assert_true(metrics_get(m, "nothing", NULL) == 0);
    assert_true(metrics_get(m, "jobs_total", "kind=\"zzz\"") == 0);
    /* A name keeps its first type: a gauge write to a counter is dropped. */
    metrics_gauge_set(m, "jobs_total", "kind=\"a\"", NULL, 100);
    assert_true(metrics_get(m, "jobs_total", "kind=\"a\"") == 3.5);
    metrics_free(m);
}

static void test_histogram_count(void **state)
{
    struct metrics *m = metrics_new();
    metrics_observe(m, "lat_seconds", "p=\"x\"", "Latency.", 0.0625);
    metrics_observe(m, "lat_seconds", "p=\"x\"", NULL, 0.25);
    metrics_observe(m, "lat_seconds", "p=\"x\"", NULL, 100);
    assert_true(metrics_get(m, "lat_seconds", "p=\"x\"") == 3);
    metrics_free(m);
}

/* A small registry covering each type, labels, no labels and HELP
 * escaping; values are exact binary fractions so sums print exactly. */
static struct metrics *small_registry(void)
{
    struct metrics *m = metrics_new();
    metrics_counter_add(m, "b_total", "x=\"1\"", "B things.", 2);
    metrics_counter_add(m, "b_total", "x=\"1\"", NULL, 1.5);
    metrics_counter_add(m, "b_total", "x=\"0\"", NULL, 1);
    metrics_gauge_set(m, "a_gauge", NULL, "A \\ gauge\nline2", 7);
    metrics_observe(m, "c_seconds", "pass=\"p\"", "C time.", 0.0625);
    metrics_observe(m, "c_seconds", "pass=\"p\"", NULL, 0.25);
    metrics_observe(m, "c_seconds", "pass=\"p\"", NULL, 100);
    return m;
}

static const char small_expected[] =
    "# HELP a_gauge A \\\\ gauge\\nline2\n"
    "# TYPE a_gauge gauge\n"
    "a_gauge 7\n"
    "# HELP b_total B things.\n"
    "# TYPE b_total counter\n"
    "b_total{x=\"0\"} 1\n"
    "b_total{x=\"1\"} 3.5\n"
    "# HELP c_seconds C time.\n"
    "# TYPE c_seconds histogram\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.001\"} 0\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.005\"} 0\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.01\"} 0\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.025\"} 0\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.05\"} 0\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.1\"} 1\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.25\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"0.5\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"1\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"2.5\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"5\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"10\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"30\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"60\"} 2\n"
    "c_seconds_bucket{pass=\"p\",le=\"+Inf\"} 3\n"
    "c_seconds_sum{pass=\"p\"} 100.3125\n"
    "c_seconds_count{pass=\"p\"} 3\n";

static void test_render_exact(void **state)
{
    struct metrics *m = small_registry();
    char *text = metrics_render(m);
    assert_non_null(text);
    assert_string_equal(text, small_expected);
    free(text);
    metrics_free(m);
}

static void test_render_histogram_without_labels(void **state)
{
    struct metrics *m = metrics_new();
    metrics_observe(m, "h", NULL, "H.", 0.001); /* le is inclusive */
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "\nh_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(text, "\nh_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "\nh_sum 0.001\nh_count 1\n"));
    free(text);
    metrics_free(m);
}

static void test_empty_registry_renders_empty(void **state)
{
    struct metrics *m = metrics_new();
    char *text = metrics_render(m);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
    metrics_free(m);
}

/* The snapshot crosses a pipe as text in real life: go through text. */
static json_t *text_roundtrip(json_t *snap)
{
    char *s = json_dumps(snap, JSON_COMPACT);
    assert_non_null(s);
    json_error_t e;
    json_t *back = json_loads(s, 0, &e);
    assert_non_null(back);
    free(s);
    json_decref(snap);
    return back;
}

static void test_snapshot_merge_reproduces_render(void **state)
{
    struct metrics *m = small_registry();
    json_t *snap = text_roundtrip(metrics_snapshot(m));
    struct metrics *fresh = metrics_new();
    metrics_merge(fresh, snap);
    char *a = metrics_render(m), *b = metrics_render(fresh);
    assert_string_equal(a, b);
    assert_string_equal(b, small_expected);
    free(a);
    free(b);
    json_decref(snap);
    metrics_free(fresh);
    metrics_free(m);
}

static void test_merge_adds_counters_and_sets_gauges(void **state)
{
    struct metrics *m = small_registry();
    json_t *snap = metrics_snapshot(m);
    struct metrics *master = metrics_new();
    metrics_counter_add(master, "b_total", "x=\"1\"", "B things.", 10);
    metrics_gauge_set(master, "a_gauge", NULL, NULL, 1000);
    metrics_merge(master, snap);
    metrics_merge(master, snap);
    assert_true(metrics_get(master, "b_total", "x=\"1\"") == 10 + 2 * 3.5);
    assert_true(metrics_get(master, "b_total", "x=\"0\"") == 2);
    assert_true(metrics_get(master, "a_gauge", NULL) == 7);
    assert_true(metrics_get(master, "c_seconds", "pass=\"p\"") == 6);
    char *text = metrics_render(master);
    assert_non_null(
        strstr(text, "c_seconds_bucket{pass=\"p\",le=\"0.25\"} 4\n"));
    assert_non_null(
        strstr(text, "c_seconds_bucket{pass=\"p\",le=\"+Inf\"} 6\n"));
    assert_non_null(strstr(text, "c_seconds_sum{pass=\"p\"} 200.625\n"));
    free(text);
    json_decref(snap);
    metrics_free(master);
    metrics_free(m);
}

static void test_render_with_leaves_registry_unchanged(void **state)
{
    struct metrics *m = small_registry();
    struct metrics *w = metrics_new();
    metrics_counter_add(w, "b_total", "x=\"1\"", "B things.", 100);
    metrics_counter_add(w, "d_total", NULL, "Only in the worker.", 4);
    json_t *extra[2] = {metrics_snapshot(w), NULL};

    char *before = metrics_render(m);
    char *with = metrics_render_with(m, extra, 2);
    char *after = metrics_render(m);
    assert_non_null(with);
    assert_string_equal(before, after);
    assert_non_null(strstr(with, "\nb_total{x=\"1\"} 103.5\n"));
    assert_non_null(strstr(with, "# TYPE d_total counter\nd_total 4\n"));
    assert_null(strstr(after, "d_total"));
    assert_true(metrics_get(m, "b_total", "x=\"1\"") == 3.5);
    free(before);
    free(with);
    free(after);
    json_decref(extra[0]);
    metrics_free(w);
    metrics_free(m);
}

static void test_non_finite_values_survive_snapshot(void **state)
{
    struct metrics *m = metrics_new();
    metrics_gauge_set(m, "g_inf", NULL, "G.", INFINITY);
    metrics_gauge_set(m, "g_nan", NULL, "G.", NAN);
    json_t *snap = text_roundtrip(metrics_snapshot(m));
    struct metrics *fresh = metrics_new();
    metrics_merge(fresh, snap);
    assert_true(isinf(metrics_get(fresh, "g_inf", NULL)));
    assert_true(isnan(metrics_get(fresh, "g_nan", NULL)));
    char *text = metrics_render(fresh);
    assert_non_null(strstr(text, "\ng_inf +Inf\n"));
    assert_non_null(strstr(text, "\ng_nan NaN\n"));
    free(text);
    json_decref(snap);
    metrics_free(fresh);
    metrics_free(m);
}

static void test_malformed_snapshot_is_skipped(void **state)
{
    struct metrics *m = metrics_new();
    metrics_counter_add(m, "ok_total", NULL, "Ok.", 1);
    json_error_t e;
    json_t *bad = json_loads(
        "{\"families\": [{\"name\": \"x\", \"type\": \"bogus\", \"series\": "
        "[]},"
        " {\"name\": \"ok_total\", \"type\": \"counter\", \"help\": \"\","
        "  \"series\": [{\"labels\": \"\", \"value\": \"many\"},"
        "               {\"labels\": \"\", \"value\": 2}]},"
        " {\"name\": \"h\", \"type\": \"histogram\", \"help\": \"\","
        "  \"series\": [{\"labels\": \"\", \"buckets\": [1], \"sum\": 1,"
        "               \"count\": 1}]}]}",
        0, &e);
    assert_non_null(bad);
    metrics_merge(m, bad);
    metrics_merge(m, NULL);
    json_t *nofam = json_pack("{s:i}", "x", 1);
    metrics_merge(m, nofam);
    assert_true(metrics_get(m, "ok_total", NULL) == 3); /* the good series */
    assert_true(metrics_get(m, "h", NULL) == 0);
    json_decref(nofam);
    json_decref(bad);
    metrics_free(m);
}

static void test_escape_label(void **state)
{
    char out[64];
    metrics_escape_label("a\"b\\c\nd", out, sizeof out);
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
    /* Room for 'a' and NUL only: the escape is not split. */
    metrics_escape_label("a\"b", out, 3);
    assert_string_equal(out, "a");
    metrics_escape_label(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

/* 1000 series inserted in reverse come out sorted by label. */
static void test_many_series_sorted(void **state)
{
    struct metrics *m = metrics_new();
    char labels[32];
    for (int i = 999; i >= 0; i--) {
        snprintf(labels, sizeof labels, "i=\"%04d\"", i);
        metrics_counter_add(m, "many_total", labels, "Many.", i);
        metrics_observe(m, "many_seconds", labels, "Many.", 0.5);
    }
    char *text = metrics_render(m);
    const char *prev = strstr(text, "many_total{i=\"0000\"} 0\n");
    assert_non_null(prev);
    for (int i = 1; i < 1000; i++) {
        char line[64];
        snprintf(line, sizeof line, "many_total{i=\"%04d\"} %d\n", i, i);
        const char *at = strstr(text, line);
        assert_non_null(at);
        assert_true(at > prev);
        prev = at;
    }
    assert_true(metrics_get(m, "many_seconds", "i=\"0500\"") == 1);
    free(text);
    metrics_free(m);
}

static void *bump(void *arg)
{
    for (int i = 0; i < 10000; i++) {
        metrics_counter_add(arg, "race_total", NULL, "Race.", 1);
        metrics_observe(arg, "race_seconds", NULL, "Race.", 0.01);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    struct metrics *m = metrics_new();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, bump, m), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(metrics_get(m, "race_total", NULL) == 40000);
    assert_true(metrics_get(m, "race_seconds", NULL) == 40000);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge_values),
        cmocka_unit_test(test_histogram_count),
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_render_histogram_without_labels),
        cmocka_unit_test(test_empty_registry_renders_empty),
        cmocka_unit_test(test_snapshot_merge_reproduces_render),
        cmocka_unit_test(test_merge_adds_counters_and_sets_gauges),
        cmocka_unit_test(test_render_with_leaves_registry_unchanged),
        cmocka_unit_test(test_non_finite_values_survive_snapshot),
        cmocka_unit_test(test_malformed_snapshot_is_skipped),
        cmocka_unit_test(test_escape_label),
        cmocka_unit_test(test_many_series_sorted),
        cmocka_unit_test(test_concurrent_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
