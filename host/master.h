/*
 * The master: the long-lived process of `catalog-sync run` and `once`.
 * It owns the libev default loop, the manifest and plan as data, the
 * HTTP API, the scheduler and run bookkeeping, and it starts worker
 * generations with fork+exec.  It never dlopens a pass, so a plugin that
 * crashes or a manifest that does not load can never take it down.
 */
#ifndef HOST_MASTER_H
#define HOST_MASTER_H

#include <stdbool.h>

struct master_options {
    const char *manifest_path;
    const char *self_exe;   /* path to exec for workers (/proc/self/exe) */
    const char *log_format; /* passed on to workers */
    const char *log_level;
    bool once;               /* one run, then exit */
    const char *report_path; /* once: JSON report */
    bool initial_run;        /* run: start a run at start-up */
    bool progress;           /* once: progress line on stderr */
};

/* Runs until stopped.  Returns the process exit status: for `once`, 0 only
 * if the run completed. */
int master_main(const struct master_options *opts);

#endif
