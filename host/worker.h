/*
 * A worker generation: the process that loads the passes of one manifest
 * and does the work.  Started by the master with fork+exec
 * (`catalog-sync worker ...`), it loads and initialises every pass, says
 * "ready" on the control socket, then runs a pool of threads that claim
 * runs and jobs from the state store.  On "drain" (or SIGTERM, or the
 * master's end of the socket closing) it stops claiming, finishes the
 * entities in flight, returns claimed-but-unstarted jobs to the queue,
 * calls every pass's fini() and exits 0.
 */
#ifndef HOST_WORKER_H
#define HOST_WORKER_H

struct worker_options {
    const char *manifest_path;
    int manifest_fd; /* >= 0: read the manifest bytes the master validated
                        from this fd (path is then for messages and
                        relative paths); -1: read the file */
    int generation;
    int control_fd; /* -1: standalone (tests) */
};

/* Runs the worker until drained.  Returns the process exit status. */
int worker_main(const struct worker_options *opts);

#endif
