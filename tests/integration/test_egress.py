"""The egress allow-list: every SQL and HTTP connection a pass opens is
checked against the manifest's `egress`; a refused one fails that call with
a clear error, is logged (naming the pass) and counted in
catalog_sync_egress_refused_total, and no connection reaches the target.
With the target allowed, the same manifest works.  HTTP is exercised by a
small pass built out of tree in this test that GETs a configured URL."""
import http.server
import json
import os
import re
import subprocess
import threading
import time

import cslib as cs

N_TABLES = 4
state = cs.new_db("egress_state")
src = cs.new_db("egress_src")
SRC_DB = cs.dsn_db(src)
cs.query(src, f"""create schema e;
  do $$ begin for i in 1..{N_TABLES} loop
    execute format('create table e.t%s (id int primary key, v text)', i);
    execute format('insert into e.t%s select g, md5(g::text) from generate_series(1, 20) g', i);
  end loop; end $$;""")
wd = cs.Workdir("egress")
PG = f"127.0.0.1:{cs.port()}"

PROBE_C = r"""
/* Test pass: GETs config.url once per entity through the host's client. */
#include <catalog_sync/pass.h>
#include <stdlib.h>

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED}, {NULL, 0}};
static const cs_aspect_decl produces[] = {{"probe", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"url", CS_OPT_STRING, NULL, "URL to GET", CS_OPTION_REQUIRED},
    {NULL, 0, NULL, NULL, 0}};

struct st { const cs_host_api *host; const char *url; };

static int probe_init(const cs_host_api *host, cs_ctx *ctx, void **out)
{
    struct st *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    s->url = json_string_value(json_object_get(host->config(ctx), "url"));
    *out = s;
    return CS_OK;
}

static int probe_process(void *state, cs_ctx *ctx)
{
    struct st *s = state;
    cs_http_request req = {sizeof req, "GET", s->url, NULL, NULL, 0, 5000, 0};
    cs_http_response resp = {0};
    int rc = s->host->http(ctx, &req, &resp);
    if (rc != CS_OK) {
        s->host->set_error(ctx, "GET failed (%d): %s", rc, s->host->last_error(ctx));
        return rc;
    }
    long status = resp.status;
    s->host->http_response_free(&resp);
    return s->host->aspect_put(ctx, "probe", json_pack("{s:i}", "status", (int)status));
}

static void probe_fini(void *state) { free(state); }

static const cs_pass_desc desc = {
    CS_PASS_HEADER, .name = "http_probe", .version = "1", .summary = "egress test",
    .kind = CS_PASS_ENTITY, .consumes = consumes, .produces = produces,
    .options = options, .init = probe_init, .process = probe_process, .fini = probe_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void) { return &desc; }
"""


def build_probe():
    c = wd.file("http_probe.c")
    with open(c, "w") as f:
        f.write(PROBE_C)
    so = wd.file("http_probe.so")
    subprocess.run([os.path.join(cs.SRC, "tests", "passes", "build.sh"),
                    cs.install_prefix(), c, so], check=True)
    return so


class Counter(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):
        Counter.hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counter)
threading.Thread(target=server.serve_forever, daemon=True).start()
HTTP = f"127.0.0.1:{server.server_address[1]}"
probe_so = build_probe()


def passes(probe=False):
    p = [{"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
          "outputs": ["table"], "config": {"connection": "demo", "schemas": ["e"], "full": True}}]
    if probe:
        p.append({"name": "probe", "plugin": probe_so, "kind": "entity", "inputs": ["table"],
                  "outputs": ["probe"], "config": {"url": f"http://{HTTP}/ping"}})
    return p


def sessions():
    """Sessions ever opened on the source database (Postgres counts them in
    pg_stat_database; the test itself never connects there after set-up)."""
    conn_dsn = cs.dsn("postgres")
    for _ in range(20):
        rows = cs.query(conn_dsn, "select sessions from pg_stat_database where datname = %s", (SRC_DB,))
        if rows and rows[0][0] is not None:
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError("pg_stat_database.sessions is not available")


def settled_sessions():
    # Session counts are flushed when a backend ends: wait until stable.
    last = sessions()
    for _ in range(20):
        time.sleep(0.25)
        now = sessions()
        if now == last:
            return now
        last = now
    return last


def json_lines(text):
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass  # not this test's business (test_cli checks the format)
    return out


def test_refused_sql_fails_discovery_without_connecting():
    m = cs.write_manifest(wd.file("refused.json"),
                          cs.manifest(state, src, passes(), egress=["127.0.0.1:1"]))
    before = settled_sessions()
    start = time.time()
    p = cs.run_cli("once", "-m", m, "--log-format", "json", timeout=120)
    assert p.returncode == 1, (p.returncode, p.stderr[-3000:])
    expected = f'connection "demo": egress refused: {PG} is not in the manifest\'s egress list'
    events = json_lines(p.stderr)
    assert any(expected in e.get("msg", "") for e in events), p.stderr[-3000:]
    warns = [e for e in events
             if e.get("level") == "warn" and e.get("pass") == "discovery" and "egress" in e.get("msg", "")]
    assert warns, "no warn line naming pass discovery:\n" + p.stderr[-3000:]
    assert PG in warns[0]["msg"], warns[0]
    err = cs.scalar(state, "select error from catalog_sync.runs order by id desc limit 1")
    assert err and "egress refused" in err and PG in err and "discovery" in err, err
    elapsed = cs.scalar(state, """select extract(epoch from finished_at - started_at)::float
                                    from catalog_sync.runs order by id desc limit 1""")
    assert elapsed is not None and elapsed < 2.0, f"refusal took {elapsed}s"
    after = settled_sessions()
    assert after == before, f"{after - before} connection(s) reached the refused database"
    print(f"     refused run: {time.time() - start:.2f}s wall, discovery {elapsed * 1000:.0f} ms")


def test_allowed_port_works_and_connects():
    m = cs.write_manifest(wd.file("allowed.json"),
                          cs.manifest(state, src, passes(), egress=["127.0.0.1:1", PG]))
    before = settled_sessions()
    p = cs.run_cli("once", "-m", m, "--report", wd.file("allowed-report.json"), timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "egress" not in p.stderr, p.stderr[-3000:]
    report = json.load(open(wd.file("allowed-report.json")))
    assert report["summary"]["done"] == N_TABLES, report["summary"]
    after = settled_sessions()
    assert after > before, "the session counter did not move: the refusal check above proves nothing"


def test_every_host_of_a_multi_host_dsn_is_checked():
    # libpq tries hosts in order; the first is allowed, the second is not.
    multi = src.replace("host=127.0.0.1 port=", "host=127.0.0.1,127.0.0.2 port=")
    multi = re.sub(r"port=(\d+)", r"port=\1,\1", multi)
    m = cs.manifest(state, multi, passes(), egress=[PG])
    cs.write_manifest(wd.file("multi.json"), m)
    p = cs.run_cli("once", "-m", wd.file("multi.json"), timeout=120)
    assert p.returncode == 1, p.stderr[-2000:]
    assert f"egress refused: 127.0.0.2:{cs.port()}" in p.stderr, p.stderr[-2000:]


def test_unix_socket_needs_a_unix_rule():
    sock_dsn = f"host={cs.PGDIR} port={cs.port()} user=postgres dbname={SRC_DB}"
    m = cs.write_manifest(wd.file("unix.json"), cs.manifest(state, sock_dsn, passes(), egress=[PG]))
    p = cs.run_cli("once", "-m", m, timeout=120)
    assert p.returncode == 1, p.stderr[-2000:]
    assert f"egress refused: unix:{cs.PGDIR} is not in the manifest's egress list" in p.stderr, \
        p.stderr[-2000:]
    m = cs.write_manifest(wd.file("unix-ok.json"),
                          cs.manifest(state, sock_dsn, passes(), egress=[f"unix:{cs.PGDIR}/"]))
    p = cs.run_cli("once", "-m", m, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]


# ---- a daemon: refusals in /metrics, across reloads -----------------------

api_port = cs.free_port()
base = f"http://127.0.0.1:{api_port}"
OPERATOR = "egress-operator-" + os.urandom(8).hex()
with open(wd.file("tokens"), "w") as f:
    f.write(f"operator {OPERATOR} egress-test\n")
dpath = wd.file("daemon.json")
dstate = cs.new_db("egress_dstate")
daemon = None


def write_daemon_manifest(egress):
    cs.write_manifest(dpath, cs.manifest(
        dstate, src, passes(probe=True), egress=egress,
        api={"listen": f"127.0.0.1:{api_port}", "tokens_file": wd.file("tokens")}))


def refused(text, kind):
    total = None
    for line in text.splitlines():
        m = re.match(r'^catalog_sync_egress_refused_total\{(.*)\} (\S+)$', line)
        if m and dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))) == {"pass": kind[0], "kind": kind[1]}:
            total = float(m.group(2))
    return total


def metrics():
    status, text = cs.http("GET", base + "/metrics")
    assert status == 200, status
    return text


def last_run():
    return cs.query(dstate, "select id, status, error from catalog_sync.runs order by id desc limit 1")[0]


def trigger_and_wait():
    status, body = cs.http("POST", base + "/v1/runs", token=OPERATOR)
    assert status == 202 and body["created"], (status, body)
    run_id = body["run_id"]
    cs.wait_for(lambda: cs.http("GET", f"{base}/v1/runs/{run_id}", token=OPERATOR)[1]["status"] in ("completed", "failed"),
                timeout=60, what=f"run {run_id} to finish")
    return cs.http("GET", f"{base}/v1/runs/{run_id}", token=OPERATOR)[1]


def reload_and_wait(gen):
    status, body = cs.http("POST", base + "/v1/reload", token=OPERATOR)
    assert status == 202, (status, body)
    cs.wait_for(lambda: cs.http("GET", base + "/v1/status", token=OPERATOR)[1]["generation"] == gen,
                timeout=30, what=f"generation {gen}")
    cs.wait_for(lambda: cs.http("GET", base + "/readyz")[0] == 200, timeout=30, what="readiness")


def test_daemon_counts_refused_sql():
    global daemon
    write_daemon_manifest(["127.0.0.1:1"])
    daemon = cs.Daemon(dpath, wd.file("daemon.log"))  # starts a run at start-up
    cs.wait_for(lambda: last_run()[1] == "failed", timeout=60, what="the initial run to fail")
    _, _, err = last_run()
    assert "egress refused" in err and PG in err, err
    text = cs.wait_for(lambda: (t := metrics()) and (refused(t, ("discovery", "sql")) or 0) >= 1 and t,
                       timeout=15, what='catalog_sync_egress_refused_total{pass="discovery",kind="sql"}')
    assert "# TYPE catalog_sync_egress_refused_total counter" in text
    assert refused(text, ("probe", "http")) in (None, 0.0), text
    warn = [l for l in daemon.logs().splitlines() if " WARN " in l and "egress refused" in l]
    assert warn and "discovery" in warn[0] and PG in warn[0], daemon.logs()[-3000:]


def test_daemon_counts_refused_http_per_entity():
    sql_before = refused(metrics(), ("discovery", "sql"))
    write_daemon_manifest([PG])
    reload_and_wait(2)
    run = trigger_and_wait()
    assert run["status"] == "completed", run
    assert run["entities"]["failed"] == N_TABLES, run["entities"]
    assert Counter.hits == 0, f"{Counter.hits} request(s) reached the refused HTTP server"
    text = cs.wait_for(lambda: (t := metrics()) and (refused(t, ("probe", "http")) or 0) >= N_TABLES and t,
                       timeout=15, what='egress refusals of kind http')
    assert refused(text, ("probe", "http")) == N_TABLES, text
    assert refused(text, ("discovery", "sql")) == sql_before, "the sql counter was lost across the reload"
    errors = [r[0] for r in cs.query(dstate, "select last_error from catalog_sync.jobs where run_id = %s "
                                              "and status = 'failed'", (run["id"],))]
    assert len(errors) == N_TABLES, errors
    assert all(f"egress refused: {HTTP} is not in the manifest's egress list" in e for e in errors), errors
    warns = [l for l in daemon.logs().splitlines()
             if " WARN " in l and f": egress refused: {HTTP}" in l and "pass failed" not in l]
    entities = sorted(re.search(r" entity=(\S+): ", w).group(1) for w in warns)
    assert entities == sorted(f"postgres.{SRC_DB}.e.t{i}" for i in range(1, N_TABLES + 1)), warns
    assert all(" pass=probe " in w for w in warns), warns


def test_daemon_allowed_http_reaches_the_server():
    before = refused(metrics(), ("probe", "http"))
    write_daemon_manifest([PG, HTTP])
    reload_and_wait(3)
    run = trigger_and_wait()
    assert run["status"] == "completed" and run["entities"]["done"] == N_TABLES, run
    assert Counter.hits == N_TABLES, Counter.hits
    time.sleep(1.5)  # a worker snapshot reaches the master about every second
    assert refused(metrics(), ("probe", "http")) == before
    assert daemon.stop() == 0, daemon.logs()[-2000:]


try:
    cs.main([test_refused_sql_fails_discovery_without_connecting, test_allowed_port_works_and_connects,
             test_every_host_of_a_multi_host_dsn_is_checked, test_unix_socket_needs_a_unix_rule,
             test_daemon_counts_refused_sql, test_daemon_counts_refused_http_per_entity,
             test_daemon_allowed_http_reaches_the_server])
finally:
    server.shutdown()
    if daemon is not None and daemon.proc.poll() is None:
        daemon.proc.kill()
