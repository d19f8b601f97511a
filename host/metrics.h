/*
 * Metrics: counters and fixed-bucket histograms with labels, rendered as
 * Prometheus text.  A worker keeps a registry and ships a JSON snapshot to
 * the master (metrics_snapshot); the master keeps its own registry and
 * merges the latest snapshot of each live worker plus the final snapshots
 * of exited workers (metrics_merge), so totals survive reloads.
 * All functions are thread-safe (one mutex per registry).
 */
#ifndef HOST_METRICS_H
#define HOST_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* name: prometheus metric name ("catalog_sync_entities_total"); labels:
 * already-formatted label set without braces ('pass="profile",outcome="ok"')
 * or NULL.  help is used the first time a name is seen. */
void metrics_counter_add(struct metrics *m, const char *name,
                         const char *labels, const char *help, double delta);
void metrics_gauge_set(struct metrics *m, const char *name, const char *labels,
                       const char *help, double value);
/* Histogram with buckets suited to seconds (0.001 .. 60). */
void metrics_observe(struct metrics *m, const char *name, const char *labels,
                     const char *help, double value);
/* Value of a counter or gauge series, the observation count of a histogram
 * series, 0 for an unknown one. */
double metrics_get(struct metrics *m, const char *name, const char *labels);
/* Escapes a label value (backslash, double quote, newline) into out, always
 * NUL-terminated, truncated before an escape sequence would be split. */
void metrics_escape_label(const char *in, char *out, size_t outlen);

/* New reference: the whole registry as JSON (NULL when out of memory):
 *   {"families": [{"name": "...", "type": "counter|gauge|histogram",
 *                  "help": "...",
 *                  "series": [{"labels": "a=\"b\"", "value": 1.0}, ...]}]}
 * A histogram series has "buckets" (15 per-bucket, non-cumulative counts
 * for le 0.001 .. 60 and +Inf), "sum" and "count" instead of "value".
 * Non-finite numbers are the strings "NaN", "+Inf", "-Inf". */
json_t *metrics_snapshot(struct metrics *m);
/* Adds the counters and histograms of a snapshot into `m` (gauges are
 * set). */
void metrics_merge(struct metrics *m, const json_t *snapshot);
/* Prometheus text exposition format 0.0.4. */
char *metrics_render(struct metrics *m); /* malloc'd */
/* Renders `m` plus the given extra snapshots (not merged into m). */
char *metrics_render_with(struct metrics *m, json_t *const *extra,
                          size_t n_extra);

#endif
