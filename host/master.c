#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "control.h"
#include "log.h"
#include "master_internal.h"
#include "metrics.h"
#include "queue.h"
#include "state.h"

#define MAX_RESTART_DELAY 60.0
/* How often the master looks for webhook targets left pending. */
#define TARGETS_CHECK_SECONDS 5.0

static void spawn_current(struct master *m);
static void arm_schedule(struct master *m);

/* ---- manifest bytes --------------------------------------------------- */

static int read_file(const char *path, char **data, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *grown = realloc(buf, cap *= 2);
        if (!grown)
            free(buf);
        buf = grown;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* Loads and plans the manifest file; on success the caller owns all three
 * outputs. */
static int load_config(const char *path, char **bytes, size_t *len,
                       struct manifest **man, struct plan **plan, char *err,
                       size_t errlen)
{
    *man = NULL;
    *plan = NULL;
    if (read_file(path, bytes, len, err, errlen) != 0)
        return -1;
    if (manifest_load_buffer(path, *bytes, *len, man, err, errlen) == 0 &&
        plan_build(*man, plan, err, errlen) == 0)
        return 0;
    manifest_free(*man);
    free(*bytes);
    *man = NULL;
    *bytes = NULL;
    return -1;
}

/* The worker reads the exact bytes the master validated from a memfd, so
 * an edit to the file between check and exec cannot slip through. */
static int manifest_memfd(const char *bytes, size_t len)
{
    int fd = memfd_create("catalog-sync-manifest", 0);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, bytes + off, len - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

PGconn *master_db(struct master *m)
{
    if (m->db && PQstatus(m->db) != CONNECTION_OK) {
        PQreset(m->db);
        if (PQstatus(m->db) == CONNECTION_OK)
            log_info("reconnected to the state store");
    }
    return m->db;
}

/* ---- worker processes ---------------------------------------------------- */

void master_owner_prefix(const struct worker_proc *wp, char *out, size_t outlen)
{
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(out, outlen, "%s:%d:%d", host, (int)wp->pid, wp->generation);
}

static void worker_free(struct worker_proc *wp)
{
    struct master *m = wp->m;
    for (struct worker_proc **p = &m->workers; *p; p = &(*p)->next)
        if (*p == wp) {
            *p = wp->next;
            break;
        }
    if (m->current == wp)
        m->current = NULL;
    if (m->pending == wp)
        m->pending = NULL;
    ev_io_stop(m->loop, &wp->io);
    ev_child_stop(m->loop, &wp->child);
    ev_timer_stop(m->loop, &wp->timer);
    if (wp->fd >= 0)
        close(wp->fd);
    json_decref(wp->metrics);
    plan_free(wp->plan);
    manifest_free(wp->man);
    free(wp);
}

static void exec_worker(struct master *m, int gen, int ctl_fd, int man_fd)
{
    char gen_s[16], ctl_s[16], man_s[16];
    snprintf(gen_s, sizeof gen_s, "%d", gen);
    snprintf(ctl_s, sizeof ctl_s, "%d", ctl_fd);
    snprintf(man_s, sizeof man_s, "%d", man_fd);
    fcntl(ctl_fd, F_SETFD, 0);
    fcntl(man_fd, F_SETFD, 0);
    char *argv[] = {"catalog-sync",
                    "worker",
                    "-m",
                    (char *)m->o.manifest_path,
                    "--generation",
                    gen_s,
                    "--control-fd",
                    ctl_s,
                    "--manifest-fd",
                    man_s,
                    "--log-format",
                    (char *)m->o.log_format,
                    "--log-level",
                    (char *)m->o.log_level,
                    NULL};
    execv(m->o.self_exe, argv);
    fprintf(stderr, "catalog-sync: cannot exec worker %s: %s\n", m->o.self_exe,
            strerror(errno));
    _exit(127);
}

static void on_control(struct ev_loop *loop, ev_io *w, int revents);
static void on_child(struct ev_loop *loop, ev_child *w, int revents);
static void start_targeted_run(struct master *m);
static void on_worker_timer(struct ev_loop *loop, ev_timer *w, int revents);

static struct worker_proc *spawn_worker(struct master *m, const char *bytes,
                                        size_t len, int gen, char *err,
                                        size_t errlen)
{
    struct worker_proc *wp = calloc(1, sizeof *wp);
    int fds[2] = {-1, -1}, man_fd = -1;
    if (!wp ||
        manifest_load_buffer(m->o.manifest_path, bytes, len, &wp->man, err,
                             errlen) != 0 ||
        plan_build(wp->man, &wp->plan, err, errlen) != 0)
        goto fail;
    if (control_pair(fds) != 0 || (man_fd = manifest_memfd(bytes, len)) < 0) {
        snprintf(err, errlen, "cannot create worker channels: %s",
                 strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        close(fds[0]);
        exec_worker(m, gen, fds[1], man_fd);
    }
    close(fds[1]);
    close(man_fd);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    wp->m = m;
    wp->pid = pid;
    wp->generation = gen;
    wp->fd = fds[0];
    wp->state = WP_STARTING;
    wp->started_at = ev_now(m->loop);
    ev_io_init(&wp->io, on_control, wp->fd, EV_READ);
    ev_child_init(&wp->child, on_child, pid, 0);
    ev_timer_init(&wp->timer, on_worker_timer, wp->man->ready_timeout_seconds,
                  0);
    ev_io_start(m->loop, &wp->io);
    ev_child_start(m->loop, &wp->child);
    ev_timer_start(m->loop, &wp->timer);
    wp->next = m->workers;
    m->workers = wp;
    log_info("started worker generation %d (pid %d)", gen, (int)pid);
    return wp;
fail:
    if (fds[0] >= 0) {
        close(fds[0]);
        close(fds[1]);
    }
    if (man_fd >= 0)
        close(man_fd);
    if (wp) {
        plan_free(wp->plan);
        manifest_free(wp->man);
        free(wp);
    }
    return NULL;
}

static void drain_worker(struct master *m, struct worker_proc *wp,
                         double timeout)
{
    if (wp->state == WP_STARTING) {
        kill(wp->pid, SIGKILL);
        return;
    }
    wp->state = WP_DRAINING;
    if (control_send(wp->fd, "drain", NULL) != 0)
        kill(wp->pid, SIGTERM);
    /* The loop's clock may be stale after a slow state-store call; the
     * drain deadline must count from now. */
    ev_now_update(m->loop);
    ev_timer_stop(m->loop, &wp->timer);
    ev_timer_set(&wp->timer, timeout, 0);
    ev_timer_start(m->loop, &wp->timer);
}

void master_wake_workers(struct master *m)
{
    for (struct worker_proc *wp = m->workers; wp; wp = wp->next)
        if (wp->state == WP_READY)
            control_send(wp->fd, "wake", NULL);
}

/* ---- generations ------------------------------------------------------- */

static void count_reload(struct master *m, const char *result,
                         const char *error)
{
    char labels[64];
    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    metrics_counter_add(m->metrics, "catalog_sync_reloads_total", labels,
                        "Manifest reloads, by result", 1);
    snprintf(m->reload_result, sizeof m->reload_result, "%s", result);
    snprintf(m->reload_error, sizeof m->reload_error, "%s", error ? error : "");
    m->reload_at = ev_now(m->loop);
    metrics_gauge_set(m->metrics, "catalog_sync_manifest_error", NULL,
                      "1 when the last reload was refused", error ? 1 : 0);
}

/* A reload's new generation said ready: it becomes the serving one and
 * the old one drains (nginx order: never a moment with nobody serving). */
static void promote_pending(struct master *m, struct worker_proc *wp)
{
    struct worker_proc *old = m->current;
    m->pending = NULL;
    m->current = wp;
    free(m->man_bytes);
    m->man_bytes = m->pending_bytes;
    m->man_len = m->pending_len;
    m->pending_bytes = NULL;
    manifest_free(m->man);
    plan_free(m->plan);
    m->man = NULL;
    m->plan = NULL;
    char err[1024];
    /* The serving config is the one the new worker runs. */
    if (manifest_load_buffer(m->o.manifest_path, m->man_bytes, m->man_len,
                             &m->man, err, sizeof err) != 0 ||
        plan_build(m->man, &m->plan, err, sizeof err) != 0)
        log_error("reloaded manifest no longer loads: %s", err);
    m->generation = wp->generation;
    count_reload(m, "ok", NULL);
    log_info("generation %d serves; draining generation %d", wp->generation,
             old ? old->generation : 0);
    if (old)
        drain_worker(m, old, m->man ? m->man->drain_timeout_seconds : 60);
    arm_schedule(m); /* the schedule may have changed */
}

static void on_ready(struct master *m, struct worker_proc *wp)
{
    wp->state = WP_READY;
    ev_timer_stop(m->loop, &wp->timer);
    metrics_gauge_set(m->metrics, "catalog_sync_generation", NULL,
                      "Generation of the serving worker", wp->generation);
    if (wp == m->pending)
        promote_pending(m, wp);
    else
        log_info("worker generation %d (pid %d) ready", wp->generation,
                 (int)wp->pid);
    if (m->stopping)
        drain_worker(m, wp, m->man->shutdown_timeout_seconds);
}

static const char *pass_name_of_step(const struct worker_proc *wp, int step)
{
    if (wp->plan && step >= 0 && (size_t)step < wp->plan->n_steps)
        return wp->plan->steps[step].pass->name;
    return "?";
}

/* A worker reported, from its crash handler, which entity and pass were
 * running on the thread that crashed: count the crash against that job
 * only, so one poison entity cannot fail its innocent neighbours. */
static void on_crash(struct master *m, struct worker_proc *wp,
                     const char *payload)
{
    long long job = 0;
    int step = -1, sig = 0;
    if (sscanf(payload, "%lld %d %d", &job, &step, &sig) != 3 || job <= 0)
        return;
    wp->crash_reported = true;
    char reason[512], err[512];
    snprintf(reason, sizeof reason,
             "pass `%s` crashed the worker (signal %d, %s)",
             pass_name_of_step(wp, step), sig, strsignal(sig));
    log_error("generation %d: %s while processing job %lld", wp->generation,
              reason, job);
    if (queue_record_crash(master_db(m), job, wp->man->max_attempts, reason,
                           err, sizeof err) != 0)
        log_error("cannot record the crash of job %lld: %s", job, err);
}

static void handle_message(struct master *m, struct worker_proc *wp,
                           const char *verb, const char *payload)
{
    if (strcmp(verb, "ready") == 0)
        on_ready(m, wp);
    else if (strcmp(verb, "error") == 0)
        snprintf(wp->error, sizeof wp->error, "%s", payload);
    else if (strcmp(verb, "crash") == 0)
        on_crash(m, wp, payload);
    else if (strcmp(verb, "run-done") == 0 && m->o.once &&
             atoll(payload) == m->once_run)
        master_once_check(m); /* no need to wait for the next tick */
    else if (strcmp(verb, "run-done") == 0 && !m->o.once)
        start_targeted_run(m); /* targets that waited for that run */
    else if (strcmp(verb, "metrics") == 0) {
        json_t *snap = json_loads(payload, 0, NULL);
        if (snap) {
            json_decref(wp->metrics);
            wp->metrics = snap;
        }
    }
}

static void on_control(struct ev_loop *loop, ev_io *w, int revents)
{
    struct worker_proc *wp =
        (struct worker_proc *)((char *)w - offsetof(struct worker_proc, io));
    static char buf[CONTROL_MAX_MESSAGE];
    const char *payload;
    for (;;) {
        long n = control_recv(wp->fd, buf, sizeof buf, &payload);
        if (n > 0) {
            handle_message(wp->m, wp, buf, payload);
            continue;
        }
        if (n == 0) /* the worker closed its end; its exit follows */
            ev_io_stop(loop, w);
        break;
    }
}

static void describe_exit(int status, char *out, size_t outlen)
{
    if (WIFEXITED(status))
        snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, outlen, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, outlen, "stopped (status %d)", status);
}

static void schedule_restart(struct master *m)
{
    double delay = 1.0;
    for (int i = 1; i < m->consecutive_failures && delay < MAX_RESTART_DELAY;
         i++)
        delay *= 2;
    if (delay > MAX_RESTART_DELAY)
        delay = MAX_RESTART_DELAY;
    log_warn("restarting worker generation %d in %.0f s", m->generation, delay);
    ev_timer_set(&m->restart_timer, delay, 0);
    ev_timer_start(m->loop, &m->restart_timer);
}

static void current_exited(struct master *m, struct worker_proc *wp,
                           const char *how)
{
    bool never_ready = wp->state == WP_STARTING;
    m->current = NULL;
    if (m->stopping)
        return;
    /* A worker that served a while before dying starts the backoff over;
     * one that keeps dying right away waits longer each time. */
    /* A crash blamed on one entity is progress, not a broken deployment:
     * that entity fails after max_attempts, so restart promptly. */
    if (!never_ready && (wp->crash_reported ||
                         ev_now(m->loop) - wp->started_at > MAX_RESTART_DELAY))
        m->consecutive_failures = 0;
    m->consecutive_failures++;
    metrics_counter_add(m->metrics, "catalog_sync_worker_restarts_total", NULL,
                        "Worker processes restarted after a crash or a "
                        "failed start",
                        1);
    log_error("worker generation %d (pid %d) %s%s%s", wp->generation,
              (int)wp->pid, how, wp->error[0] ? ": " : "", wp->error);
    /* `once` has nobody to wait for it: give up instead of backing off
     * forever, and say why. */
    if (m->o.once && ((never_ready && m->consecutive_failures >= 3) ||
                      m->consecutive_failures >= 8)) {
        fprintf(stderr, "catalog-sync: the worker cannot start: %s\n",
                wp->error[0] ? wp->error : how);
        master_begin_stop(m, 1);
        return;
    }
    schedule_restart(m);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
    struct worker_proc *wp =
        (struct worker_proc *)((char *)w - offsetof(struct worker_proc, child));
    struct master *m = wp->m;
    char how[128], err[512], owner[192];
    describe_exit(w->rstatus, how, sizeof how);
    /* Drain anything the worker said last (its error, final metrics). */
    on_control(loop, &wp->io, EV_READ);
    if (wp->metrics)
        metrics_merge(m->metrics, wp->metrics);
    master_owner_prefix(wp, owner, sizeof owner);
    if (m->db && queue_release_owner(master_db(m), owner, err, sizeof err) != 0)
        log_error("returning the jobs of pid %d to the queue: %s", (int)wp->pid,
                  err);
    if (wp == m->pending) {
        char why[1200];
        snprintf(why, sizeof why, "new generation %d %s%s%s", wp->generation,
                 how, wp->error[0] ? ": " : "", wp->error);
        log_error("reload failed, generation %d keeps serving: %s",
                  m->generation, why);
        count_reload(m, "failed", why);
        free(m->pending_bytes);
        m->pending_bytes = NULL;
    } else if (wp == m->current) {
        current_exited(m, wp, how);
    } else {
        log_info("worker generation %d (pid %d) %s", wp->generation,
                 (int)wp->pid, how);
    }
    worker_free(wp);
    if (m->stopping && !m->workers)
        ev_break(loop, EVBREAK_ALL);
}

static void on_worker_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct worker_proc *wp =
        (struct worker_proc *)((char *)w - offsetof(struct worker_proc, timer));
    if (wp->state == WP_STARTING)
        snprintf(wp->error, sizeof wp->error,
                 "did not report ready within %d s",
                 wp->man->ready_timeout_seconds);
    else
        log_warn("worker generation %d (pid %d) did not drain in time; "
                 "killing it (its jobs return to the queue)",
                 wp->generation, (int)wp->pid);
    kill(wp->pid, SIGKILL);
}

static void spawn_current(struct master *m)
{
    char err[1024];
    struct worker_proc *wp = spawn_worker(m, m->man_bytes, m->man_len,
                                          m->generation, err, sizeof err);
    if (!wp) {
        log_error("cannot start worker generation %d: %s", m->generation, err);
        m->consecutive_failures++;
        schedule_restart(m);
        return;
    }
    m->current = wp;
}

static void on_restart_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct master *m =
        (struct master *)((char *)w - offsetof(struct master, restart_timer));
    if (!m->stopping && !m->current)
        spawn_current(m);
}

/* ---- reload, stop, schedule --------------------------------------------- */

int master_reload(struct master *m, char *err, size_t errlen)
{
    if (m->pending) {
        snprintf(err, errlen, "a reload is already in progress (generation %d)",
                 m->pending->generation);
        return -1;
    }
    char *bytes;
    size_t len;
    struct manifest *man;
    struct plan *plan;
    if (load_config(m->o.manifest_path, &bytes, &len, &man, &plan, err,
                    errlen) != 0) {
        log_error("reload refused, generation %d keeps serving: %s",
                  m->generation, err);
        count_reload(m, "invalid", err);
        return -1;
    }
    if (m->api && man->api_tokens_file &&
        api_reload_tokens(m->api, man->api_tokens_file, err, errlen) != 0)
        log_error("API tokens not reloaded, the previous ones stay: %s", err);
    plan_free(plan);
    manifest_free(man);
    struct worker_proc *wp =
        spawn_worker(m, bytes, len, m->generation + 1, err, errlen);
    if (!wp) {
        free(bytes);
        count_reload(m, "failed", err);
        return -1;
    }
    /* The bytes become the serving config once the new worker is ready;
     * until then keep both so a failed start changes nothing. */
    m->pending_bytes = bytes;
    m->pending_len = len;
    m->pending = wp;
    log_info("reloading %s: starting generation %d", m->o.manifest_path,
             wp->generation);
    return 0;
}

void master_begin_stop(struct master *m, int exit_status)
{
    if (m->stopping)
        return;
    m->stopping = 1;
    m->exit_status = exit_status;
    ev_timer_stop(m->loop, &m->sched_timer);
    ev_timer_stop(m->loop, &m->targets_timer);
    ev_timer_stop(m->loop, &m->restart_timer);
    ev_timer_stop(m->loop, &m->progress_timer);
    for (struct worker_proc *wp = m->workers; wp; wp = wp->next)
        drain_worker(m, wp, m->man ? m->man->shutdown_timeout_seconds : 30);
    if (!m->workers)
        ev_break(m->loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct master *m = w->data;
    if (w->signum == SIGHUP) {
        char err[2048];
        log_info("SIGHUP: re-reading %s", m->o.manifest_path);
        master_reload(m, err, sizeof err);
        return;
    }
    log_info("%s: finishing entities in flight, then exiting",
             strsignal(w->signum));
    master_begin_stop(m, m->o.once ? 1 : 0);
}

static void arm_schedule(struct master *m)
{
    ev_timer_stop(m->loop, &m->sched_timer);
    if (m->o.once || !m->man || m->man->schedule.kind == SCHEDULE_NONE)
        return;
    time_t now = time(NULL);
    time_t next = schedule_next(&m->man->schedule, now);
    if (next == (time_t)-1)
        return;
    ev_timer_set(&m->sched_timer, (double)(next - now), 0);
    ev_timer_start(m->loop, &m->sched_timer);
}

static void create_run(struct master *m, const char *trigger)
{
    int64_t id;
    bool created;
    char err[1024];
    if (queue_create_run(master_db(m), trigger, trigger, m->generation, &id,
                         &created, err, sizeof err) != 0) {
        log_error("cannot create a %s run: %s", trigger, err);
        return;
    }
    if (created)
        log_info("run %lld created (%s)", (long long)id, trigger);
    else
        log_info("%s run skipped: run %lld is still active", trigger,
                 (long long)id);
    master_wake_workers(m);
}

static void on_schedule(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct master *m = w->data;
    create_run(m, "schedule");
    arm_schedule(m);
}

/* Webhook targets that arrived while a run was active stay pending (they
 * are rows, so a restart keeps them): start a targeted run for them once
 * nothing is active.  Called when a worker reports a finished run and on
 * a timer, which also covers runs finished by another replica's worker. */
static void start_targeted_run(struct master *m)
{
    bool created = false;
    char err[1024];
    if (!m->db || m->stopping)
        return;
    if (queue_create_targeted_run(master_db(m), "webhook:openmetadata",
                                  m->generation, NULL, &created, err,
                                  sizeof err) != 0) {
        /* Every few seconds while the store is down: say it once. */
        if (!m->targets_failing)
            log_error("cannot look for pending webhook targets: %s", err);
        m->targets_failing = true;
        return;
    }
    m->targets_failing = false;
    if (created) {
        log_info("run created for pending webhook targets");
        master_wake_workers(m);
    }
}

static void on_targets_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    start_targeted_run(w->data);
}

/* ---- start-up ----------------------------------------------------------- */

static int master_setup(struct master *m, char *err, size_t errlen)
{
    if (load_config(m->o.manifest_path, &m->man_bytes, &m->man_len, &m->man,
                    &m->plan, err, errlen) != 0)
        return -1;
    m->db =
        state_connect(m->man->state_dsn, "catalog-sync master", err, errlen);
    if (!m->db || state_migrate(m->db, err, errlen) < 0)
        return -1;
    m->metrics = metrics_new();
    if (!m->metrics) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    metrics_gauge_set(m->metrics, "catalog_sync_manifest_error", NULL,
                      "1 when the last reload was refused", 0);
    if (!m->o.once && m->man->api_listen &&
        master_api_start(m, err, errlen) != 0)
        return -1;
    return 0;
}

static void init_watchers(struct master *m)
{
    ev_signal_init(&m->sig_hup, on_signal, SIGHUP);
    ev_signal_init(&m->sig_term, on_signal, SIGTERM);
    ev_signal_init(&m->sig_int, on_signal, SIGINT);
    m->sig_hup.data = m->sig_term.data = m->sig_int.data = m;
    ev_signal_start(m->loop, &m->sig_hup);
    ev_signal_start(m->loop, &m->sig_term);
    ev_signal_start(m->loop, &m->sig_int);
    ev_timer_init(&m->restart_timer, on_restart_timer, 1, 0);
    ev_timer_init(&m->sched_timer, on_schedule, 1, 0);
    m->sched_timer.data = m;
    ev_timer_init(&m->targets_timer, on_targets_timer, TARGETS_CHECK_SECONDS,
                  TARGETS_CHECK_SECONDS);
    m->targets_timer.data = m;
    signal(SIGPIPE, SIG_IGN);
}

static void master_cleanup(struct master *m)
{
    while (m->workers)
        worker_free(m->workers);
    if (m->api)
        api_stop(m->api);
    if (m->db)
        PQfinish(m->db);
    metrics_free(m->metrics);
    plan_free(m->plan);
    manifest_free(m->man);
    free(m->man_bytes);
    free(m->pending_bytes);
}

int master_main(const struct master_options *opts)
{
    struct master m = {.o = *opts};
    char err[2048];
    m.loop = ev_default_loop(EVFLAG_AUTO);
    m.generation = 1;
    if (!m.loop) {
        fprintf(stderr, "catalog-sync: cannot initialise the event loop\n");
        return 1;
    }
    if (master_setup(&m, err, sizeof err) != 0) {
        fprintf(stderr, "catalog-sync: %s\n", err);
        master_cleanup(&m);
        return 1;
    }
    init_watchers(&m);
    spawn_current(&m);
    if (m.o.once) {
        if (master_once_start(&m, err, sizeof err) != 0) {
            fprintf(stderr, "catalog-sync: %s\n", err);
            master_begin_stop(&m, 1);
        }
    } else {
        if (m.o.initial_run)
            create_run(&m, "startup");
        arm_schedule(&m);
        ev_timer_start(m.loop, &m.targets_timer);
    }
    ev_run(m.loop, 0);
    int status = m.exit_status;
    master_cleanup(&m);
    log_info("master exiting with status %d", status);
    return status;
}
