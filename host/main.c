/* catalog-sync: command-line entry point.  Parses the subcommand and its
 * options and hands over to the master, the worker or the checker. */
#include <catalog_sync/pass.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "master.h"
#include "worker.h"

static const char *usage_main =
    "usage: catalog-sync <command> [options]\n"
    "\n"
    "Discovers, profiles and enriches the tables of a data catalog with\n"
    "pass plugins listed in a manifest.\n"
    "\n"
    "commands:\n"
    "  run     -m MANIFEST   run the daemon (master + worker generation)\n"
    "  once    -m MANIFEST   one full sync, then exit (CronJob mode)\n"
    "  check   -m MANIFEST   validate the manifest and print the plan\n"
    "  version               print the version and the pass ABI\n"
    "\n"
    "`catalog-sync <command> --help` explains each command.\n"
    "Docs: docs/operator-guide.md, docs/manifest.md, docs/pass-sdk.md\n";

static const char *usage_run =
    "usage: catalog-sync run -m MANIFEST [options]\n"
    "\n"
    "Runs the daemon: the master (HTTP API, scheduler, reloads) and one\n"
    "worker generation that loads the passes.  A run starts at start-up and\n"
    "then on the manifest's schedule, or on POST /v1/runs.\n"
    "\n"
    "  -m, --manifest FILE     the manifest (YAML or JSON)\n"
    "      --no-initial-run    do not start a run at start-up\n"
    "      --log-format F      text (default) or json, one line per event\n"
    "      --log-level L       debug, info (default), warn, error\n"
    "\n"
    "signals: SIGHUP reloads the manifest (an invalid one is refused and the\n"
    "running generation keeps serving); SIGTERM/SIGINT finish the entities\n"
    "in flight and exit 0.\n";

static const char *usage_once =
    "usage: catalog-sync once -m MANIFEST [--report FILE] [options]\n"
    "\n"
    "One full sync, then exit: 0 if the run completed (entities that failed\n"
    "are listed, not fatal), 1 if it could not complete.  An unfinished run\n"
    "left by an earlier stop is resumed.\n"
    "\n"
    "  -m, --manifest FILE     the manifest (YAML or JSON)\n"
    "  -r, --report FILE       write a JSON report: run summary, failures "
    "and,\n"
    "                          per entity FQN, every non-raw aspect produced\n"
    "      --no-progress       no progress line even on a terminal\n"
    "      --log-format F      text (default) or json\n"
    "      --log-level L       debug, info (default), warn, error\n";

static const char *usage_check =
    "usage: catalog-sync check -m MANIFEST [--json] [--load]\n"
    "\n"
    "Validates the manifest and prints the resolved plan: stages, passes in\n"
    "order, each pass's inputs (and which pass produces them) and outputs.\n"
    "Plugins are not loaded unless --load is given.  Exit 0 if valid, 1 if\n"
    "not (the reason names the file:line:column and the field).\n"
    "\n"
    "  -m, --manifest FILE     the manifest (YAML or JSON)\n"
    "      --json              print the plan as JSON\n"
    "      --load              also load every plugin in a child process and\n"
    "                          check its ABI, declarations and config\n";

enum {
    OPT_LOG_FORMAT = 1000,
    OPT_LOG_LEVEL,
    OPT_NO_INITIAL_RUN,
    OPT_NO_PROGRESS,
    OPT_JSON,
    OPT_LOAD,
    OPT_GENERATION,
    OPT_CONTROL_FD,
    OPT_MANIFEST_FD
};

struct cli {
    const char *manifest;
    const char *report;
    const char *log_format;
    const char *log_level;
    bool initial_run, progress, json, load;
    int generation, control_fd, manifest_fd;
};

static int usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "catalog-sync %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see `catalog-sync %s --help`)\n", cmd);
    va_end(ap);
    return 2;
}

/* Returns -1 when parsed, else the exit status to return right away. */
static int parse_options(const char *cmd, const char *usage, int argc,
                         char **argv, struct cli *c)
{
    static const struct option opts[] = {
        {"manifest", required_argument, NULL, 'm'},
        {"report", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"no-initial-run", no_argument, NULL, OPT_NO_INITIAL_RUN},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"json", no_argument, NULL, OPT_JSON},
        {"load", no_argument, NULL, OPT_LOAD},
        {"generation", required_argument, NULL, OPT_GENERATION},
        {"control-fd", required_argument, NULL, OPT_CONTROL_FD},
        {"manifest-fd", required_argument, NULL, OPT_MANIFEST_FD},
        {NULL, 0, NULL, 0}};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":m:r:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            c->manifest = optarg;
            break;
        case 'r':
            c->report = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case OPT_LOG_FORMAT:
            c->log_format = optarg;
            break;
        case OPT_LOG_LEVEL:
            c->log_level = optarg;
            break;
        case OPT_NO_INITIAL_RUN:
            c->initial_run = false;
            break;
        case OPT_NO_PROGRESS:
            c->progress = false;
            break;
        case OPT_JSON:
            c->json = true;
            break;
        case OPT_LOAD:
            c->load = true;
            break;
        case OPT_GENERATION:
            c->generation = atoi(optarg);
            break;
        case OPT_CONTROL_FD:
            c->control_fd = atoi(optarg);
            break;
        case OPT_MANIFEST_FD:
            c->manifest_fd = atoi(optarg);
            break;
        case ':':
            return usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default:
            return usage_error(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(cmd, "unexpected argument `%s`", argv[optind]);
    if (!c->manifest)
        return usage_error(cmd, "%s", "-m MANIFEST is required");
    return -1;
}

static int setup_logging(const char *cmd, const struct cli *c, const char *role,
                         int generation)
{
    int fmt = log_parse_format(c->log_format);
    int lvl = log_parse_level(c->log_level);
    if (fmt < 0)
        return usage_error(cmd, "--log-format must be text or json, not `%s`",
                           c->log_format);
    if (lvl < 0)
        return usage_error(cmd,
                           "--log-level must be debug, info, warn or error, "
                           "not `%s`",
                           c->log_level);
    log_setup((enum log_format)fmt, (enum log_level)lvl, role, generation);
    return -1;
}

static int cmd_master(const char *cmd, int argc, char **argv, bool once)
{
    struct cli c = {.log_format = "text",
                    .log_level = "info",
                    .initial_run = true,
                    .progress = true};
    int rc = parse_options(cmd, once ? usage_once : usage_run, argc, argv, &c);
    if (rc >= 0)
        return rc;
    if ((rc = setup_logging(cmd, &c, "master", 0)) >= 0)
        return rc;
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "catalog-sync: cannot find my own executable\n");
        return 1;
    }
    self[n] = '\0';
    struct master_options o = {.manifest_path = c.manifest,
                               .self_exe = self,
                               .log_format = c.log_format,
                               .log_level = c.log_level,
                               .once = once,
                               .report_path = c.report,
                               .initial_run = c.initial_run,
                               .progress =
                                   once && c.progress && isatty(STDERR_FILENO)};
    return master_main(&o);
}

static int cmd_worker(int argc, char **argv)
{
    struct cli c = {.log_format = "text",
                    .log_level = "info",
                    .control_fd = -1,
                    .manifest_fd = -1};
    int rc = parse_options("worker", usage_main, argc, argv, &c);
    if (rc >= 0)
        return rc;
    if ((rc = setup_logging("worker", &c, "worker", c.generation)) >= 0)
        return rc;
    struct worker_options o = {.manifest_path = c.manifest,
                               .manifest_fd = c.manifest_fd,
                               .generation = c.generation,
                               .control_fd = c.control_fd};
    return worker_main(&o);
}

static int cmd_check(int argc, char **argv)
{
    struct cli c = {.log_format = "text", .log_level = "warn"};
    int rc = parse_options("check", usage_check, argc, argv, &c);
    if (rc >= 0)
        return rc;
    if ((rc = setup_logging("check", &c, "check", 0)) >= 0)
        return rc;
    return check_main(c.manifest, c.json, c.load);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("catalog-sync %s (pass ABI %d.%d)\n", CS_VERSION, CS_ABI_MAJOR,
               CS_ABI_MINOR);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_master(cmd, argc - 1, argv + 1, false);
    if (!strcmp(cmd, "once"))
        return cmd_master(cmd, argc - 1, argv + 1, true);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "worker"))
        return cmd_worker(argc - 1, argv + 1);
    fprintf(stderr,
            "catalog-sync: unknown command `%s` (see `catalog-sync "
            "--help`)\n",
            cmd);
    return 2;
}
