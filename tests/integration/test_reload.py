"""Reload under load: SIGHUP while a run is processing, with (a) a broken
manifest, (b) a pass disabled, (c) a pass whose init fails; and a .so
replaced on disk is really picked up.  In every case no entity is lost and
none is completed twice."""
import json
import os
import shutil
import signal
import time

import cslib as cs

N_TABLES = 240
state = cs.new_db("reload_state")
src = cs.new_db("reload_src")
cs.query(src, f"""create schema wide;
  do $$ begin for i in 1..{N_TABLES} loop
    execute format('create table wide.t%s (id int primary key, v text)', i);
    execute format('insert into wide.t%s select g, md5(g::text) from generate_series(1, 5) g', i);
  end loop; end $$;""")
wd = cs.Workdir("reload")
plugdir = os.path.join(wd.path, "plugins")
os.makedirs(plugdir)
test_so = os.path.join(plugdir, "test_pass.so")
cs.build_test_pass(test_so, "-DTEST_VERSION=1")
api_port = cs.free_port()
base = f"http://127.0.0.1:{api_port}"


def passes(test_cfg=None, governance=True):
    p = [{"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
          "outputs": ["table"], "config": {"connection": "demo", "schemas": ["wide"],
                                           "full": True}},
         {"name": "slow", "plugin": test_so, "kind": "entity", "inputs": ["table"],
          "outputs": ["test_out"], "config": test_cfg or {"sleep_ms": 25}},
         {"name": "governance_tags", "plugin": "governance_tags", "kind": "entity",
          "inputs": ["table"], "outputs": ["governance"], "enabled": governance}]
    return p


mpath = wd.file("m.json")


def write(p, broken=False):
    m = cs.manifest(state, src, p, api={"listen": f"127.0.0.1:{api_port}"})
    if broken:
        with open(mpath, "w") as f:
            f.write(json.dumps(m)[:-20])  # truncated JSON: a syntax error
    else:
        cs.write_manifest(mpath, m)


write(passes())
daemon = cs.Daemon(mpath, wd.file("daemon.log"), ["--no-initial-run"])


def status():
    return cs.http("GET", base + "/v1/status")[1]


def start_run():
    code, body = cs.http("POST", base + "/v1/runs", token=None)
    return code, body


def run_status(run_id):
    return cs.http("GET", f"{base}/v1/runs/{run_id}")[1]


def trigger_and_wait_processing():
    """Creates a run through the database (no operator token configured)
    and waits until its jobs are being processed."""
    run_id = cs.scalar(state, "insert into catalog_sync.runs(trigger, status, requested_by) "
                              "values ('test', 'pending', 'test') returning id")
    cs.wait_for(lambda: cs.scalar(state, "select count(*) from catalog_sync.jobs "
                                         "where run_id = %s and status = 'done'", (run_id,)) > 10,
                timeout=60, what="the run to be processing")
    return run_id


def wait_run(run_id):
    cs.wait_for(lambda: cs.scalar(state, "select status from catalog_sync.runs where id = %s",
                                  (run_id,)) in ("completed", "failed"),
                timeout=120, what=f"run {run_id} to finish")
    return cs.scalar(state, "select status from catalog_sync.runs where id = %s", (run_id,))


def assert_exactly_once(run_id):
    rows = cs.query(state, """select count(*), count(distinct fqn),
                                     count(*) filter (where status = 'done')
                                from catalog_sync.jobs where run_id = %s and stage = 1""", (run_id,))
    total, distinct, done = rows[0]
    assert total == N_TABLES and distinct == N_TABLES, (total, distinct)
    assert done == N_TABLES, f"{done}/{N_TABLES} done"
    audited = cs.query(state, """select count(*), count(distinct entity) from catalog_sync.audit_log
                                  where run_id = %s and action = 'aspects.write'""", (run_id,))[0]
    assert audited == (N_TABLES, N_TABLES), f"audit rows {audited}: an entity was completed twice or lost"


def test_daemon_becomes_ready():
    cs.wait_for(lambda: cs.http("GET", base + "/readyz")[0] == 200, timeout=60, what="/readyz")
    assert status()["generation"] == 1


def test_broken_manifest_keeps_generation():
    run_id = trigger_and_wait_processing()
    write(passes(), broken=True)
    daemon.signal(signal.SIGHUP)
    st = cs.wait_for(lambda: (s := status())["last_reload"]["result"] == "invalid" and s,
                     timeout=20, what="reload refusal in /v1/status")
    assert st["generation"] == 1, st
    assert "m.json" in st["manifest_error"], st
    _, metrics = cs.http("GET", base + "/metrics")
    assert "catalog_sync_manifest_error 1" in metrics, metrics[:2000]
    assert wait_run(run_id) == "completed"
    assert_exactly_once(run_id)


def test_disabling_a_pass_starts_a_new_generation():
    write(passes())
    run_id = trigger_and_wait_processing()
    write(passes(governance=False))
    daemon.signal(signal.SIGHUP)
    cs.wait_for(lambda: status()["generation"] == 2, timeout=30, what="generation 2")
    assert wait_run(run_id) == "completed"
    assert_exactly_once(run_id)
    # The new plan no longer runs governance_tags.
    run2 = trigger_and_wait_processing()
    assert wait_run(run2) == "completed"
    n = cs.scalar(state, """select count(*) from catalog_sync.aspects
                             where aspect = 'governance' and run_id = %s""", (run2,))
    assert n == 0, f"{n} governance aspects written after the pass was disabled"


def test_failing_init_keeps_old_generation():
    run_id = trigger_and_wait_processing()
    write(passes(test_cfg={"sleep_ms": 25, "fail_init": True}, governance=False))
    daemon.signal(signal.SIGHUP)
    st = cs.wait_for(lambda: (s := status())["last_reload"]["result"] == "failed" and s,
                     timeout=30, what="reload failure")
    assert st["generation"] == 2, st
    assert "fail_init" in st["last_reload"]["error"], st
    assert wait_run(run_id) == "completed"
    assert_exactly_once(run_id)


def test_replaced_so_is_picked_up():
    write(passes(governance=False))
    tmp = test_so + ".new"
    cs.build_test_pass(tmp, "-DTEST_VERSION=2")
    os.replace(tmp, test_so)  # what a package upgrade does
    daemon.signal(signal.SIGHUP)
    cs.wait_for(lambda: status()["generation"] == 3, timeout=30, what="generation 3")
    run_id = trigger_and_wait_processing()
    assert wait_run(run_id) == "completed"
    versions = cs.query(state, """select distinct (value->>'version')::int from catalog_sync.aspects
                                   where aspect = 'test_out' and run_id = %s""", (run_id,))
    assert versions == [(2,)], versions


def test_clean_exit_on_sigterm():
    assert daemon.stop() == 0
    assert "master exiting with status 0" in daemon.logs()


try:
    cs.main([test_daemon_becomes_ready, test_broken_manifest_keeps_generation,
             test_disabling_a_pass_starts_a_new_generation, test_failing_init_keeps_old_generation,
             test_replaced_so_is_picked_up, test_clean_exit_on_sigterm])
finally:
    if daemon.proc.poll() is None:
        daemon.proc.kill()
