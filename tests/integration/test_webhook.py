"""OpenMetadata webhook deliveries on a running daemon (`catalog-sync run`).

Part 1, the host on its own, with a source pass built out of tree
(tests/passes/target_source.c) that turns the run's targets into entities:
the route answers 404 until `webhooks` is in the manifest (enabled by a
SIGHUP reload); a signed ChangeEvent becomes a 'webhook' run with exactly
one entity job; a wrong signature, a body replayed under a signature made
with another secret, a missing signature and malformed bodies are refused
(401/401/401/400) and counted in /metrics; the bot's own events and other
entity types are ignored; a delete event makes a delete job; an event
arriving while a run is active waits as a pending target, survives a
restart of the daemon and then gets its own run; no targeted run commits a
watermark; the secret never reaches the log.

Part 2, against the fake OpenMetadata (tests/fakes/openmetadata.py) with
the real source pass discovery_openmetadata: the same checks through the
fake's own signed deliveries.  It runs when both exist and
../shared/contracts is present; otherwise it says why it did not run.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import cslib as cs

SECRET = "om-webhook-" + os.urandom(12).hex()
BOT = "catalog-sync-bot"
state = cs.new_db("webhook_state")
wd = cs.Workdir("webhook")
api_port = cs.free_port()
PATH = "/v1/webhooks/openmetadata"
URL = f"http://127.0.0.1:{api_port}{PATH}"

secret_path = wd.file("om-webhook-secret")
with open(secret_path, "w") as f:
    f.write(SECRET + "\n")
os.chmod(secret_path, 0o600)


def build_target_source():
    out = wd.file("target_source.so")
    subprocess.run([os.path.join(cs.SRC, "tests", "passes", "build.sh"),
                    cs.install_prefix(),
                    os.path.join(cs.SRC, "tests", "passes", "target_source.c"), out],
                   check=True)
    return out


source_so = build_target_source()


def write_manifest(webhook=True, sleep_ms=0):
    passes = [
        {"name": "discovery", "plugin": source_so, "kind": "source",
         "outputs": ["table"], "config": {"sleep_ms": sleep_ms}},
        # A second source: a targeted run must not call it.
        {"name": "other", "plugin": source_so, "kind": "source",
         "outputs": ["table"], "config": {"always": ["svc.db.other.never"]}},
        {"name": "governance", "plugin": "governance_tags", "kind": "entity",
         "inputs": ["table"], "outputs": ["governance"]},
    ]
    top = {"api": {"listen": f"127.0.0.1:{api_port}"}}
    if webhook:
        top["webhooks"] = {"openmetadata": {"secret_file": secret_path,
                                            "source": "discovery", "bot_name": BOT}}
    return cs.write_manifest(wd.file("m.json"), cs.manifest(state, state, passes, **top))


mpath = write_manifest(webhook=False)
daemon = cs.Daemon(mpath, wd.file("daemon.log"), ["--no-initial-run", "--log-level", "debug"])

# ---- helpers -------------------------------------------------------------


def change_event(event_type, fqn, entity_id, user="admin", entity_type="table"):
    """A ChangeEvent (type/changeEvent.json) as OpenMetadata posts it."""
    return json.dumps({
        "id": str(uuid.uuid4()), "eventType": event_type, "entityType": entity_type,
        "entityId": entity_id, "entityFullyQualifiedName": fqn, "userName": user,
        "timestamp": int(time.time() * 1000), "previousVersion": 0.1,
        "currentVersion": 0.2}).encode()


def sign(secret, body):
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(mac).decode()


def post(body, signature=None, port=None):
    """POSTs raw bytes to the webhook route: (status, parsed JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port or api_port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-OM-Signature"] = signature
    try:
        conn.request("POST", PATH, body=body, headers=headers)
        r = conn.getresponse()
        raw = r.read().decode()
    finally:
        conn.close()
    return r.status, (json.loads(raw) if raw else None)


def get(path):
    return cs.http("GET", f"http://127.0.0.1:{api_port}{path}")


def metric(text, name, labels):
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r'^(\w+)\{([^}]*)\} (\S+)$', line)
        if m and m.group(1) == name and ",".join(sorted(m.group(2).split(","))) == want:
            return float(m.group(3))
    return 0.0


def webhook_runs():
    return cs.query(state, "select id, status from catalog_sync.runs "
                           "where trigger = 'webhook' order by id")


def wait_run_done(run_id, timeout=60):
    def done():
        st = cs.scalar(state, "select status from catalog_sync.runs where id = %s", (run_id,))
        assert st != "failed", cs.scalar(state, "select error from catalog_sync.runs where id = %s",
                                         (run_id,))
        return st == "completed"
    cs.wait_for(done, timeout=timeout, what=f"run {run_id} to complete")


def run_jobs(run_id):
    """{fqn: op} over the run's entity jobs."""
    rows = cs.query(state, "select distinct fqn, op from catalog_sync.jobs where run_id = %s",
                    (run_id,))
    return dict(rows)


def wait_generation(gen):
    def ok():
        s, st = get("/v1/status")
        return s == 200 and st["generation"] == gen and st["last_reload"]["result"] == "ok"
    cs.wait_for(ok, timeout=60, what=f"generation {gen} serving")


def reload(**kw):
    write_manifest(**kw)
    gen = get("/v1/status")[1]["generation"]
    daemon.signal(signal.SIGHUP)
    wait_generation(gen + 1)


counted = {"accepted": 0, "ignored": 0, "bad_signature": 0, "malformed": 0}

# ---- part 1: the host with a test source -----------------------------------


def test_route_is_404_until_enabled():
    cs.wait_for(lambda: get("/readyz")[0] == 200, timeout=60, what="/readyz 200")
    body = change_event("entityUpdated", "svc.db.s.t0", str(uuid.uuid4()))
    status, reply = post(body, sign(SECRET, body))
    assert status == 404, (status, reply)
    assert "webhooks: {openmetadata: {secret_file:" in reply["error"], reply
    reload(webhook=True)


def test_signed_event_runs_exactly_that_table():
    eid = str(uuid.uuid4())
    body = change_event("entityUpdated", "svc.db.sales.orders", eid, user="steward")
    status, reply = post(body, sign(SECRET, body))
    assert status == 202, (status, reply)
    counted["accepted"] += 1
    assert reply["status"] == "accepted" and reply["event"] == "updated", reply
    assert reply["entity_id"] == eid and reply["run_created"] is True, reply
    wait_run_done(reply["run_id"])
    assert run_jobs(reply["run_id"]) == {"svc.db.sales.orders": "upsert"}, run_jobs(reply["run_id"])
    table = cs.scalar(state, "select entity::text from catalog_sync.jobs where run_id = %s "
                             "limit 1", (reply["run_id"],))
    assert json.loads(table)["id"] == eid, table
    # The table went through the rest of the plan like any other.
    assert cs.scalar(state, "select count(*) from catalog_sync.aspects where "
                            "fqn = 'svc.db.sales.orders' and aspect = 'governance'") == 1
    actions = [r[0] for r in cs.query(
        state, "select action from catalog_sync.audit_log where entity = "
               "'svc.db.sales.orders' and target = 'state:catalog_sync.run_targets' order by id")]
    assert actions == ["run_target.add", "run_target.assign"], actions


def test_refused_deliveries():
    body = change_event("entityUpdated", "svc.db.sales.orders", str(uuid.uuid4()))
    # A signature made with another secret.
    status, reply = post(body, sign("not-the-" + SECRET, body))
    assert status == 401 and "does not match" in reply["error"], (status, reply)
    # A captured delivery replayed with its body changed.
    tampered = body.replace(b"svc.db.sales.orders", b"svc.db.sales.refunds")
    status, reply = post(tampered, sign(SECRET, body))
    assert status == 401, (status, reply)
    # No signature at all, and a bearer-style attempt.
    status, reply = post(body)
    assert status == 401 and reply["error"] == "missing X-OM-Signature header", reply
    counted["bad_signature"] += 3
    # Signed but not a ChangeEvent.
    junk = b'{"id": "' + str(uuid.uuid4()).encode() + b'", "eventType":'
    status, reply = post(junk, sign(SECRET, junk))
    assert status == 400 and reply["error"].startswith("malformed ChangeEvent: body is not JSON"), reply
    event = json.loads(body)
    del event["entityId"]
    partial = json.dumps(event).encode()
    status, reply = post(partial, sign(SECRET, partial))
    assert status == 400 and "field `entityId` is required" in reply["error"], reply
    counted["malformed"] += 2
    # Nothing of it reached the state store.
    assert cs.scalar(state, "select count(*) from catalog_sync.run_targets where "
                            "fqn = 'svc.db.sales.refunds'") == 0
    assert cs.scalar(state, "select count(*) from catalog_sync.run_targets where run_id "
                            "is null") == 0


def test_ignored_events():
    before = len(webhook_runs())
    for body in (change_event("entityUpdated", "svc.db.sales.orders", str(uuid.uuid4()), user=BOT),
                 change_event("entityUpdated", "svc.dash", str(uuid.uuid4()), entity_type="dashboard"),
                 change_event("entityNoChange", "svc.db.sales.orders", str(uuid.uuid4()))):
        status, reply = post(body, sign(SECRET, body))
        assert status == 200 and reply["status"] == "ignored", (status, reply)
        counted["ignored"] += 1
    assert "catalog-sync-bot" in reply["reason"] or "eventType" in reply["reason"], reply
    time.sleep(0.5)
    assert len(webhook_runs()) == before, webhook_runs()


def test_delete_event_makes_a_delete_job():
    body = change_event("entitySoftDeleted", "svc.db.sales.orders", str(uuid.uuid4()))
    status, reply = post(body, sign(SECRET, body))
    assert status == 202 and reply["event"] == "deleted", (status, reply)
    counted["accepted"] += 1
    wait_run_done(reply["run_id"])
    assert run_jobs(reply["run_id"]) == {"svc.db.sales.orders": "delete"}
    assert cs.scalar(state, "select count(*) from catalog_sync.aspects where "
                            "fqn = 'svc.db.sales.orders'") == 0


def test_event_during_a_run_waits_and_survives_a_restart():
    global daemon
    reload(webhook=True, sleep_ms=2500)
    first = change_event("entityCreated", "svc.db.sales.first", str(uuid.uuid4()))
    status, reply = post(first, sign(SECRET, first))
    assert status == 202 and reply["run_created"], reply
    run1 = reply["run_id"]
    cs.wait_for(lambda: cs.scalar(state, "select status from catalog_sync.runs where id = %s",
                                  (run1,)) == "discovering", timeout=30, what="run 1 discovering")
    second_id = str(uuid.uuid4())
    second = change_event("entityUpdated", "svc.db.sales.second", second_id)
    status, reply = post(second, sign(SECRET, second))
    assert status == 202 and reply["run_created"] is False and reply["run_id"] == run1, reply
    counted["accepted"] += 2
    # The daemon stops while run 1 is busy: the second target is a row.
    assert daemon.stop() == 0, daemon.logs()[-3000:]
    assert cs.scalar(state, "select count(*) from catalog_sync.run_targets where "
                            "entity_id = %s and run_id is null", (second_id,)) == 1
    daemon = cs.Daemon(mpath, wd.file("daemon2.log"), ["--no-initial-run", "--log-level", "debug"])
    wait_run_done(run1, timeout=90)
    assert run_jobs(run1) == {"svc.db.sales.first": "upsert"}, run_jobs(run1)

    def second_run():
        rows = cs.query(state, "select run_id from catalog_sync.run_targets "
                               "where entity_id = %s and run_id is not null", (second_id,))
        return rows and rows[0][0]
    run2 = cs.wait_for(second_run, timeout=60, what="a run for the waiting target")
    assert run2 > run1
    wait_run_done(run2, timeout=90)
    assert run_jobs(run2) == {"svc.db.sales.second": "upsert"}, run_jobs(run2)
    # The restarted master counts from zero.
    for k in counted:
        counted[k] = 0


def test_metrics_count_every_result():
    body = change_event("entityUpdated", "svc.db.sales.orders", str(uuid.uuid4()), user=BOT)
    post(body, sign(SECRET, body))
    post(body, sign("wrong-secret-0123456789", body))
    post(b"[]", sign(SECRET, b"[]"))
    counted.update(ignored=counted["ignored"] + 1, bad_signature=counted["bad_signature"] + 1,
                   malformed=counted["malformed"] + 1)
    status, text = get("/metrics")
    assert status == 200
    assert "# TYPE catalog_sync_webhook_events_total counter" in text, text[:2000]
    for result, n in counted.items():
        got = metric(text, "catalog_sync_webhook_events_total", {"result": result})
        assert got == n, f"{result}: {got} != {n}\n" + text[:3000]


def test_no_watermark_and_no_secret_in_logs():
    assert cs.scalar(state, "select count(*) from catalog_sync.watermarks") == 0, \
        cs.query(state, "select * from catalog_sync.watermarks")
    logs = daemon.logs()
    with open(wd.file("daemon.log"), errors="replace") as f:
        logs += f.read()
    assert "the staged watermark is ignored" in logs, logs[-3000:]
    assert SECRET not in logs, "the webhook secret reached the log"
    assert "webhook: delivery refused: signature does not match" in logs


def test_clean_exit():
    assert daemon.stop() == 0, daemon.logs()[-2000:]


# ---- part 2: discovery_openmetadata against the fake OpenMetadata ----------

FAKES = os.path.join(cs.SRC, "tests", "fakes")
OM_PASS = os.path.join(cs.PASS_DIR, "discovery_openmetadata.so")


def part2_missing():
    if not os.path.exists(os.path.join(FAKES, "openmetadata.py")):
        return "tests/fakes/openmetadata.py is absent"
    if not os.path.exists(OM_PASS):
        return f"{OM_PASS} is not built"
    sys.path.insert(0, FAKES)
    from openmetadata import schemas_dir
    if not schemas_dir():
        return "../shared/contracts/openmetadata is absent"
    return None


def part2_tests():
    from openmetadata import FakeOpenMetadata, schemas_dir
    token = "om-test-token-" + os.urandom(8).hex()
    om = FakeOpenMetadata(schemas=schemas_dir(), token=token, bot=BOT)
    base = om.start()
    om_port = int(base.rsplit(":", 1)[1].split("/")[0])
    st = cs.new_db("webhook_om_state")
    port2 = cs.free_port()
    url = f"http://127.0.0.1:{port2}{PATH}"
    token_path = wd.file("om-token")
    with open(token_path, "w") as f:
        f.write(token + "\n")
    passes = [
        {"name": "discovery", "plugin": "discovery_openmetadata", "kind": "source",
         "outputs": ["table"],
         "config": {"base_url": base, "token_file": token_path, "bot_name": BOT}},
        {"name": "governance", "plugin": "governance_tags", "kind": "entity",
         "inputs": ["table"], "outputs": ["governance"]},
    ]
    m = cs.manifest(st, st, passes, api={"listen": f"127.0.0.1:{port2}"},
                    webhooks={"openmetadata": {"secret_file": secret_path,
                                               "source": "discovery", "bot_name": BOT}})
    m["egress"].append(f"127.0.0.1:{om_port}")
    mp = cs.write_manifest(wd.file("m-om.json"), m)
    d = cs.Daemon(mp, wd.file("daemon-om.log"), ["--no-initial-run"])

    def create(name):
        return om.put_table({"name": name, "databaseSchema": "svc.db.sales",
                             "columns": [{"name": "id", "dataType": "INT"},
                                         {"name": "customer_id", "dataType": "INT"}]})

    def jobs_of(run_id):
        return dict(cs.query(st, "select distinct fqn, op from catalog_sync.jobs "
                                 "where run_id = %s", (run_id,)))

    def done(run_id):
        cs.wait_for(lambda: cs.scalar(st, "select status from catalog_sync.runs where id = %s",
                                      (run_id,)) in ("completed", "failed"),
                    timeout=60, what=f"run {run_id}")
        return cs.scalar(st, "select status from catalog_sync.runs where id = %s", (run_id,))

    def test_om_signed_event_runs_one_table():
        cs.wait_for(lambda: cs.http("GET", f"http://127.0.0.1:{port2}/readyz")[0] == 200,
                    timeout=60, what="/readyz")
        create("orders")
        create("customers")
        status, body = om.send_change_event(url, SECRET, "entityUpdated", "svc.db.sales.orders",
                                            user_name="steward")
        reply = json.loads(body) if isinstance(body, (bytes, str)) else body
        assert status == 202, (status, reply)
        assert done(reply["run_id"]) == "completed", cs.query(st, "select error from catalog_sync.runs")
        assert jobs_of(reply["run_id"]) == {"svc.db.sales.orders": "upsert"}
        # The pass fetched that table, and only it: no listing, no search.
        entity = json.loads(cs.scalar(st, "select entity::text from catalog_sync.jobs "
                                          "where run_id = %s limit 1", (reply["run_id"],)))
        assert entity["id"] == om.table("svc.db.sales.orders")["id"], entity
        paths = [r["path"] for r in om.requests]
        assert any(p.startswith("/api/v1/tables/") for p in paths), paths
        assert not any(p.startswith("/api/v1/search") or p == "/api/v1/tables"
                       for p in paths), paths
        assert om.schema_errors == [], om.schema_errors

    def test_om_refused_and_ignored():
        raw = om.change_event("entityUpdated", "svc.db.sales.orders")
        assert post(raw, om.sign("wrong-" + SECRET, raw), port=port2)[0] == 401
        assert post(raw, "sha256=" + hashlib.sha256(raw).hexdigest(), port=port2)[0] == 401
        assert post(b'{"eventType": 1}', om.sign(SECRET, b'{"eventType": 1}'), port=port2)[0] == 400
        status, body = om.send_change_event(url, SECRET, "entityUpdated", "svc.db.sales.orders",
                                            user_name=BOT)
        assert status == 200, (status, body)
        text = cs.http("GET", f"http://127.0.0.1:{port2}/metrics")[1]
        assert metric(text, "catalog_sync_webhook_events_total", {"result": "bad_signature"}) == 2
        assert metric(text, "catalog_sync_webhook_events_total", {"result": "malformed"}) == 1
        assert metric(text, "catalog_sync_webhook_events_total", {"result": "ignored"}) == 1

    def test_om_delete_event():
        om.delete_table("svc.db.sales.customers")
        status, body = om.send_change_event(url, SECRET, "entitySoftDeleted",
                                            "svc.db.sales.customers")
        reply = json.loads(body) if isinstance(body, (bytes, str)) else body
        assert status == 202, (status, reply)
        assert done(reply["run_id"]) == "completed"
        assert jobs_of(reply["run_id"]) == {"svc.db.sales.customers": "delete"}
        assert cs.scalar(st, "select count(*) from catalog_sync.watermarks") == 0

    def test_om_clean_exit():
        try:
            assert d.stop() == 0, d.logs()[-2000:]
            assert SECRET not in d.logs() and token not in d.logs()
        finally:
            om.stop()

    return [test_om_signed_event_runs_one_table, test_om_refused_and_ignored,
            test_om_delete_event, test_om_clean_exit]


tests = [test_route_is_404_until_enabled, test_signed_event_runs_exactly_that_table,
         test_refused_deliveries, test_ignored_events, test_delete_event_makes_a_delete_job,
         test_event_during_a_run_waits_and_survives_a_restart, test_metrics_count_every_result,
         test_no_watermark_and_no_secret_in_logs, test_clean_exit]
why_not = part2_missing()
if why_not:
    print(f"note: part 2 (discovery_openmetadata + fake OpenMetadata) not run: {why_not}")
else:
    tests += part2_tests()
try:
    cs.main(tests)
finally:
    if daemon.proc.poll() is None:
        daemon.proc.kill()
