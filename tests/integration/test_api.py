"""The master's HTTP API on a running daemon: health and readiness, metrics
after a run, status, run control with bearer tokens and roles, reload (which
also re-reads the tokens file), request size limit, JSON errors, and tokens
kept out of the daemon log."""
import http.client
import json
import os
import re
import socket
import time

import cslib as cs

N_TABLES = 60
state = cs.new_db("api_state")
src = cs.new_db("api_src")
cs.query(src, f"""create schema app;
  do $$ begin for i in 1..{N_TABLES} loop
    execute format('create table app.t%s (id int primary key, name text, amount numeric)', i);
    execute format('insert into app.t%s select g, md5(g::text), g * 1.5 from generate_series(1, 50) g', i);
  end loop; end $$;""")
wd = cs.Workdir("api")
api_port = cs.free_port()
base = f"http://127.0.0.1:{api_port}"

VIEWER = "viewer-tok-" + os.urandom(8).hex()
OPERATOR = "operator-tok-" + os.urandom(8).hex()
OPERATOR2 = "second-operator-" + os.urandom(8).hex()
tokens_path = wd.file("tokens")


def write_tokens(lines):
    with open(tokens_path, "w") as f:
        f.write("# role token name\n" + "".join(l + "\n" for l in lines))
    os.chmod(tokens_path, 0o600)


write_tokens([f"viewer {VIEWER} grafana", f"operator {OPERATOR} ci-pipeline"])
passes = [
    {"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
     "outputs": ["table"], "config": {"connection": "demo", "schemas": ["app"], "full": True}},
    {"name": "profile", "plugin": "profile_postgres", "kind": "entity",
     "inputs": ["table"], "outputs": ["sample", "profile"],
     "config": {"sample_percent": 100, "sample_rows": 1000}},
]
mpath = cs.write_manifest(wd.file("m.json"), cs.manifest(
    state, src, passes, api={"listen": f"127.0.0.1:{api_port}", "tokens_file": tokens_path}))
daemon = cs.Daemon(mpath, wd.file("daemon.log"), ["--no-initial-run", "--log-level", "debug"])


def request(method, path, token=None, body=None, headers=None, timeout=10):
    """Returns (status, headers dict with lower-case names, parsed body)."""
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=timeout)
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        raw = r.read().decode()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    parsed = json.loads(raw) if "json" in hdrs.get("content-type", "") and raw else raw
    return r.status, hdrs, parsed


def get(path, token=VIEWER):
    return request("GET", path, token)


created = {}


def test_healthz_and_readyz():
    status, hdrs, body = cs.wait_for(lambda: (r := request("GET", "/healthz")) and r,
                                     timeout=30, what="/healthz to answer")
    assert status == 200 and body == {"status": "ok"}, (status, body)
    assert hdrs.get("cache-control") == "no-store", hdrs
    cs.wait_for(lambda: request("GET", "/readyz")[0] == 200, timeout=60, what="/readyz 200")
    status, _, body = request("GET", "/readyz")
    assert body == {"status": "ready", "generation": 1}, body


def test_status_needs_a_valid_token():
    status, hdrs, body = request("GET", "/v1/status")
    assert status == 401 and hdrs.get("www-authenticate") == "Bearer", (status, hdrs)
    assert body == {"error": "missing or invalid API token"}, body
    status, _, body = request("GET", "/v1/status", token="not-a-real-token-at-all")
    assert status == 401 and "error" in body, (status, body)
    status, _, st = get("/v1/status")
    assert status == 200, (status, st)
    assert st["generation"] == 1, st
    assert len(st["workers"]) == 1 and st["workers"][0]["state"] == "ready", st["workers"]
    assert st["workers"][0]["generation"] == 1, st["workers"]
    import hashlib
    with open(mpath, "rb") as f:
        assert st["manifest"]["sha256"] == hashlib.sha256(f.read()).hexdigest(), st["manifest"]
    assert st["active_run"] is None and st["manifest_error"] is None, st
    assert st["last_reload"]["result"] == "none", st["last_reload"]
    assert st["state_store_ok"] is True, st


def test_post_runs_needs_the_operator_role():
    status, hdrs, body = request("POST", "/v1/runs")
    assert status == 401 and hdrs.get("www-authenticate") == "Bearer", (status, body)
    status, _, body = request("POST", "/v1/runs", token=VIEWER)
    assert status == 403 and body == {"error": "this needs the operator role"}, (status, body)
    runs = cs.scalar(state, "select count(*) from catalog_sync.runs")
    assert runs == 0, f"{runs} runs created by refused requests"


def test_post_runs_creates_one_run_at_a_time():
    status, _, body = request("POST", "/v1/runs", token=OPERATOR)
    assert status == 202, (status, body)
    assert body["created"] is True and isinstance(body["run_id"], int), body
    created["id"] = body["run_id"]
    status, _, again = request("POST", "/v1/runs", token=OPERATOR)
    assert status == 200, (status, again)
    assert again == {"run_id": created["id"], "created": False}, again
    row = cs.query(state, "select trigger, requested_by from catalog_sync.runs where id = %s",
                   (created["id"],))
    assert row == [("api", "ci-pipeline")], row
    assert cs.scalar(state, "select count(*) from catalog_sync.runs") == 1


def test_runs_are_listed_and_complete():
    status, _, body = get("/v1/runs")
    assert status == 200, (status, body)
    assert [r["id"] for r in body["runs"]] == [created["id"]], body
    assert body["runs"][0]["trigger"] == "api" and body["runs"][0]["requested_by"] == "ci-pipeline"

    def completed():
        s, _, r = get(f"/v1/runs/{created['id']}")
        return s == 200 and r["status"] in ("completed", "failed") and r

    run = cs.wait_for(completed, timeout=90, what=f"run {created['id']} to finish")
    assert run["status"] == "completed", run
    assert run["id"] == created["id"] and run["generation"] == 1, run
    assert run["entities"]["total"] == N_TABLES, run["entities"]
    assert run["entities"]["done"] == N_TABLES and run["entities"]["failed"] == 0, run["entities"]
    assert run["finished_at"] is not None and run["finished_at"] >= run["started_at"], run
    status, _, st = get("/v1/status")
    assert st["active_run"] is None, st


def test_bad_run_ids():
    status, _, body = get("/v1/runs/999999")
    assert status == 404 and body == {"error": "no run 999999"}, (status, body)
    for bad in ("abc", "0", "-3", "1x"):
        status, _, body = get(f"/v1/runs/{bad}")
        assert status == 400 and "error" in body, (bad, status, body)
    status, _, body = get("/v1/runs?limit=0")
    assert status == 400 and "error" in body, (status, body)
    status, _, body = get("/v1/runs?limit=1")
    assert status == 200 and len(body["runs"]) == 1, body


def test_unknown_path_and_method():
    status, hdrs, body = get("/v1/nothing-here")
    assert status == 404 and "error" in body, (status, body)
    assert hdrs.get("content-type", "").startswith("application/json"), hdrs
    status, hdrs, body = request("DELETE", "/v1/runs", token=OPERATOR)
    assert status == 405 and "error" in body, (status, body)
    assert "GET" in hdrs.get("allow", "") and "POST" in hdrs.get("allow", ""), hdrs


def metric(text, name, labels=None):
    """Sum of the samples of `name` whose labels include `labels`."""
    total, found = 0.0, False
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in (labels or {}).items()):
            total += float(m.group(3))
            found = True
    return total if found else None


def test_metrics_after_a_run():
    def scrape():
        status, hdrs, text = request("GET", "/metrics")
        assert status == 200 and hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs
        return text

    # Workers send their metrics to the master about once a second.
    text = cs.wait_for(lambda: (t := scrape()) and
                       (metric(t, "catalog_sync_entities_total", {"outcome": "ok"}) or 0) >= N_TABLES and t,
                       timeout=15, what="entity counters in /metrics")
    assert "# TYPE catalog_sync_generation gauge" in text, text[:3000]
    assert metric(text, "catalog_sync_generation") == 1, text[:3000]
    assert "# TYPE catalog_sync_entities_total counter" in text
    prof = metric(text, "catalog_sync_entities_total", {"outcome": "ok", "pass": "profile"})
    assert prof == N_TABLES, f"profile ok = {prof}\n" + text[:3000]
    assert metric(text, "catalog_sync_runs_total", {"status": "completed"}) == 1, text[:3000]
    assert metric(text, "catalog_sync_pass_duration_seconds_count", {"pass": "profile"}) == N_TABLES
    assert metric(text, "catalog_sync_manifest_error") == 0


def test_reload_starts_generation_2_and_rereads_tokens():
    write_tokens([f"operator {OPERATOR} ci-pipeline", f"operator {OPERATOR2} second"])
    status, _, body = request("POST", "/v1/reload", token=VIEWER)
    assert status == 403, (status, body)
    status, _, body = request("POST", "/v1/reload", token=OPERATOR)
    assert status == 202, (status, body)
    assert body == {"accepted": True, "generation": 2}, body

    def gen2():
        s, _, st = get("/v1/status", token=OPERATOR)
        return s == 200 and st["generation"] == 2 and st["last_reload"]["result"] == "ok" and st

    st = cs.wait_for(gen2, timeout=30, what="generation 2 in /v1/status")
    assert [w["generation"] for w in st["workers"] if w["state"] == "ready"] == [2], st["workers"]
    status, _, _ = get("/v1/status", token=VIEWER)
    assert status == 401, "a token removed from the tokens file still works after reload"
    status, _, body = get("/v1/status", token=OPERATOR2)
    assert status == 200, "a token added to the tokens file is not accepted after reload"
    status, _, body = get("/readyz", token=None)
    assert status == 200 and body["generation"] == 2, body
    # The reload swapped the token table while that request was in flight:
    # its log line must still name the caller correctly.
    time.sleep(0.2)
    lines = [l for l in daemon.logs().splitlines() if "api: POST /v1/reload -> 202" in l]
    assert lines and lines[0].endswith("(caller ci-pipeline)"), lines


def test_reload_refuses_an_invalid_manifest():
    with open(mpath) as f:
        good = f.read()
    m = json.loads(good)
    m["workers"] = "many"
    with open(mpath, "w") as f:
        json.dump(m, f)
    try:
        status, _, body = request("POST", "/v1/reload", token=OPERATOR)
        assert status == 422, (status, body)
        assert body["error"].startswith(mpath + ":") and "workers: expected an integer" in body["error"], body
        _, _, st = get("/v1/status", token=OPERATOR)
        assert st["generation"] == 2 and st["last_reload"]["result"] == "invalid", st
        assert st["manifest_error"] == body["error"], st
    finally:
        with open(mpath, "w") as f:
            f.write(good)


def raw_post(headers, body_chunks):
    """Sends a POST by hand and returns the reply's head: the server may
    answer (and stop reading) before the whole body is sent."""
    with socket.create_connection(("127.0.0.1", api_port), timeout=10) as s:
        s.sendall(("POST /v1/runs HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {OPERATOR2}\r\n{headers}\r\n").encode())
        try:
            for chunk in body_chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return s.recv(4096).decode(errors="replace")
        except ConnectionResetError:
            return "(connection reset)"


def test_body_over_one_mib_is_refused():
    # Declared and sent: refused on the declared length.
    reply = raw_post(f"Content-Length: {1024 * 1024 + 1}\r\n",
                     [b"x" * 65536] * 16 + [b"x"])
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    assert '"error"' in reply, reply
    # Declared but never sent: refused on the header alone.
    reply = raw_post(f"Content-Length: {50 * 1024 * 1024}\r\n", [])
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    # No length declared (chunked): refused once the limit is crossed.
    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    reply = raw_post("Transfer-Encoding: chunked\r\n", [chunk] * 17 + [b"0\r\n\r\n"])
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    # A body under the limit is fine (and ignored).
    status, _, body = request("POST", "/v1/runs", token=OPERATOR2, body=b"{}" + b" " * 1000,
                              headers={"Content-Type": "application/json"})
    assert status == 202 and body["created"] is True, (status, body)
    s2 = cs.wait_for(lambda: get(f"/v1/runs/{body['run_id']}", token=OPERATOR2)[2]["status"]
                     in ("completed", "failed") and True, timeout=90, what="the second run")
    assert s2
    assert cs.scalar(state, "select count(*) from catalog_sync.runs") == 2, \
        "a refused request triggered a run"
    assert request("GET", "/healthz")[0] == 200


def test_tokens_never_reach_the_log():
    # A token in the query string is still a secret.
    get(f"/v1/status?access_token={OPERATOR}", token=OPERATOR2)
    time.sleep(0.3)
    with open(daemon.log_path, "rb") as f:
        raw = f.read()
    logs = raw.decode("utf-8", errors="replace")
    assert "api: " in logs, "no API request was logged at debug level"
    for t in (VIEWER, OPERATOR, OPERATOR2):
        assert t not in logs, f"token {t[:10]}... found in the daemon log"
    assert "ci-pipeline" in logs, "the caller's token name should be logged instead"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"the daemon log is not UTF-8 text ({e}): "
                             f"{raw[max(0, e.start - 120):e.start + 20]!r}")


def test_clean_exit():
    assert daemon.stop() == 0, daemon.logs()[-2000:]


try:
    cs.main([test_healthz_and_readyz, test_status_needs_a_valid_token,
             test_post_runs_needs_the_operator_role, test_post_runs_creates_one_run_at_a_time,
             test_runs_are_listed_and_complete, test_bad_run_ids, test_unknown_path_and_method,
             test_metrics_after_a_run, test_reload_starts_generation_2_and_rereads_tokens,
             test_reload_refuses_an_invalid_manifest, test_body_over_one_mib_is_refused,
             test_tokens_never_reach_the_log, test_clean_exit])
finally:
    if daemon.proc.poll() is None:
        daemon.proc.kill()
