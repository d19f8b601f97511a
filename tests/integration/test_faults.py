"""Fault injection with passes built out of tree through pkg-config: a pass
that segfaults on one entity, a pass built for another ABI major, a worker
killed mid-run, and a master stopped mid-run and restarted."""
import re
import json
import os
import signal
import time

import cslib as cs

N_TABLES = 60
state = cs.new_db("faults_state")
src = cs.new_db("faults_src")
cs.query(src, f"""create schema f;
  do $$ begin for i in 1..{N_TABLES} loop
    execute format('create table f.t%s (id int primary key)', i);
  end loop; end $$;""")
wd = cs.Workdir("faults")
test_so = cs.build_test_pass(os.path.join(wd.path, "test_pass.so"))
bad_abi_so = cs.build_test_pass(os.path.join(wd.path, "bad_abi.so"), "-DTEST_ABI_MAJOR=2")


def manifest(test_cfg, so=test_so, name="m.json", state_dsn=state):
    p = [{"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
          "outputs": ["table"], "config": {"connection": "demo", "schemas": ["f"], "full": True}},
         {"name": "faulty", "plugin": so, "kind": "entity", "inputs": ["table"],
          "outputs": ["test_out"], "config": test_cfg}]
    return cs.write_manifest(wd.file(name), cs.manifest(state_dsn, src, p))


def last_run(dsn=state):
    return cs.query(dsn, "select id, status from catalog_sync.runs order by id desc limit 1")[0]


def test_segfaulting_pass_fails_only_its_entity():
    m = manifest({"crash_on": ".f.t7"})
    p = cs.run_cli("once", "-m", m, "--report", wd.file("segv.json"), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.load(open(wd.file("segv.json")))
    failed = [f["fqn"] for f in report["failures"]]
    assert len(failed) == 1 and failed[0].endswith(".f.t7"), failed
    assert report["summary"]["done"] == N_TABLES - 1, report["summary"]
    run_id, _ = last_run()
    crashes, err = cs.query(state, """select crashes, last_error from catalog_sync.jobs
                                       where run_id = %s and fqn like '%%.f.t7'""", (run_id,))[0]
    assert crashes == 3, crashes
    assert "faulty" in err and "signal 11" in err, err
    assert "crashed the worker" in p.stderr
    # The report and the summary say why, not just which entity.
    assert "crashed the worker" in report["failures"][0]["errors"]["host"], report["failures"]
    assert "crashed the worker" in p.stdout, p.stdout


ABI_REFUSAL = re.compile(r"built for ABI 2\.\d+, host speaks 1\.\d+")


def test_abi_mismatch_is_refused_readably():
    m = manifest({}, so=bad_abi_so, name="abi.json")
    p = cs.run_cli("check", "-m", m, "--load")
    assert p.returncode == 1, p.stdout
    assert ABI_REFUSAL.search(p.stdout), p.stdout
    assert "bad_abi.so" in p.stdout and "faulty" in p.stdout, p.stdout
    p = cs.run_cli("once", "-m", m, timeout=120)
    assert p.returncode == 1
    assert ABI_REFUSAL.search(p.stderr), p.stderr[-2000:]


def test_sigkill_worker_mid_run_loses_nothing():
    st = cs.new_db("faults_kill")
    m = manifest({"sleep_ms": 50}, name="kill.json", state_dsn=st)
    log = wd.file("kill.log")
    d = cs.Daemon(m, log)
    try:
        cs.wait_for(lambda: cs.scalar(st, "select count(*) from catalog_sync.jobs where status='done'") >= 5,
                    timeout=60, what="jobs to be done")
        pids = [l.split("pid ")[1].split(")")[0] for l in d.logs().splitlines()
                if "started worker generation" in l]
        os.kill(int(pids[-1]), signal.SIGKILL)
        cs.wait_for(lambda: last_run(st)[1] == "completed", timeout=120, what="run completion")
        run_id, _ = last_run(st)
        done = cs.scalar(st, "select count(*) from catalog_sync.jobs where run_id=%s and status='done'", (run_id,))
        audited = cs.query(st, """select count(*), count(distinct entity) from catalog_sync.audit_log
                                   where run_id=%s and action='aspects.write'""", (run_id,))[0]
        assert done == N_TABLES, done
        assert audited == (N_TABLES, N_TABLES), audited
        assert "killed by signal 9" in d.logs()
    finally:
        d.stop()


def test_sigterm_master_then_resume():
    st = cs.new_db("faults_term")
    m = manifest({"sleep_ms": 60}, name="term.json", state_dsn=st)
    d = cs.Daemon(m, wd.file("term.log"))
    cs.wait_for(lambda: cs.scalar(st, "select count(*) from catalog_sync.jobs where status='done'") >= 5,
                timeout=60, what="jobs to be done")
    assert d.stop(timeout=60) == 0, d.logs()[-2000:]
    run_id, status = last_run(st)
    assert status == "processing", status
    done_before = cs.scalar(st, "select count(*) from catalog_sync.jobs where run_id=%s and status='done'", (run_id,))
    assert 0 < done_before < N_TABLES, done_before
    running = cs.scalar(st, "select count(*) from catalog_sync.jobs where status='running'")
    assert running == 0, f"{running} jobs left claimed after a clean stop"
    p = cs.run_cli("once", "-m", m, "--report", wd.file("resume.json"), timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    report = json.load(open(wd.file("resume.json")))
    assert report["summary"]["run_id"] == run_id, report["summary"]
    assert report["summary"]["done"] == N_TABLES
    audited = cs.query(st, """select count(*), count(distinct entity) from catalog_sync.audit_log
                               where run_id=%s and action='aspects.write'""", (run_id,))[0]
    assert audited == (N_TABLES, N_TABLES), audited


def test_pass_interrupted_by_drain_is_requeued():
    """A pass that returns CS_ERR_STOPPING during a drain leaves its entity
    queued for the next generation, not failed."""
    st = cs.new_db("faults_stop")
    m = manifest({"wait_for_stop": True}, name="stop.json", state_dsn=st)
    d = cs.Daemon(m, wd.file("stop.log"))
    cs.wait_for(lambda: cs.scalar(st, "select count(*) from catalog_sync.jobs where status='running'") > 0,
                timeout=60, what="jobs in flight")
    assert d.stop(timeout=60) == 0, d.logs()[-2000:]
    counts = dict(cs.query(st, "select status, count(*) from catalog_sync.jobs group by 1"))
    assert counts.get("failed", 0) == 0, counts
    assert counts.get("queued", 0) == N_TABLES, counts
    assert "interrupted by the drain" in d.logs()


def test_state_store_connections_killed_mid_run():
    """Postgres drops every connection of the daemon (a failover, a
    restart): the workers reconnect and the run completes."""
    st = cs.new_db("faults_reconnect")
    m = manifest({"sleep_ms": 40}, name="reconnect.json", state_dsn=st)
    d = cs.Daemon(m, wd.file("reconnect.log"))
    try:
        cs.wait_for(lambda: cs.scalar(st, "select count(*) from catalog_sync.jobs where status='done'") >= 5,
                    timeout=60, what="jobs to be done")
        killed = cs.scalar(cs.dsn("postgres"), """select count(pg_terminate_backend(pid)) from pg_stat_activity
                                               where datname = %s and pid <> pg_backend_pid()""",
                           (cs.dsn_db(st),))
        assert killed >= 3, killed
        cs.wait_for(lambda: last_run(st)[1] == "completed", timeout=120, what="run completion")
        run_id, _ = last_run(st)
        done = cs.scalar(st, "select count(*) from catalog_sync.jobs where run_id=%s and status='done'", (run_id,))
        assert done == N_TABLES, done
        assert "reconnected to the state store" in d.logs()
    finally:
        d.stop()


cs.main([test_segfaulting_pass_fails_only_its_entity, test_abi_mismatch_is_refused_readably,
         test_sigkill_worker_mid_run_loses_nothing, test_sigterm_master_then_resume,
         test_pass_interrupted_by_drain_is_requeued, test_state_store_connections_killed_mid_run])
