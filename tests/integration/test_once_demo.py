"""`catalog-sync once` over the demo database: every table profiled, the
report agrees with the database, reruns are incremental, and no planted PII
value reaches the logs, the report or the state store."""
import json
import os

import cslib as cs

state = cs.new_db("once_state")
demo = cs.new_db("once_demo")
cs.load_demo(demo)
wd = cs.Workdir("once")
passes = cs.demo_passes(extra=[
    {"name": "governance_tags", "plugin": "governance_tags", "kind": "entity",
     "inputs": ["table"], "outputs": ["governance"]}])
mpath = cs.write_manifest(wd.file("m.json"), cs.manifest(state, demo, passes))
logs = []


def once(name):
    report = wd.file(f"{name}.json")
    p = cs.run_cli("once", "-m", mpath, "--report", report, "--log-format", "json")
    logs.append(p.stderr + p.stdout)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    with open(report) as f:
        return json.load(f), p


def demo_tables():
    return cs.query(demo, """select table_schema || '.' || table_name
                               from information_schema.tables
                              where table_schema in ('bank', 'shop')
                                and table_type = 'BASE TABLE' order by 1""")


first = {}


def test_first_run_profiles_every_table():
    report, p = once("first")
    first.update(report)
    tables = [t for (t,) in demo_tables()]
    assert len(tables) >= 10, tables
    entities = report["entities"]
    assert sorted(entities) == sorted(f"demo.{cs.dsn_db(demo)}.{t}" for t in tables), \
        (sorted(entities), tables)
    assert report["summary"]["done"] == len(tables), report["summary"]
    assert report["summary"]["failed"] == 0, report["failures"]
    for fqn, e in entities.items():
        assert e["status"] == "done", (fqn, e)
        assert {"table", "profile", "governance"} <= set(e["aspects"]), (fqn, e["aspects"].keys())
        assert "sample" not in e["aspects"], "the raw sample must never be persisted"
    assert "run " in p.stdout and "completed" in p.stdout, p.stdout


def test_row_counts_match_the_database():
    for fqn, e in first["entities"].items():
        schema, table = fqn.split(".")[-2:]
        n = cs.scalar(demo, f'select count(*) from "{schema}"."{table}"')
        assert e["aspects"]["profile"]["rowCount"] == n, (fqn, e["aspects"]["profile"]["rowCount"], n)


def test_planted_null_fraction():
    db = cs.dsn_db(demo)
    prof = first["entities"][f"demo.{db}.bank.customers"]["aspects"]["profile"]
    real = cs.scalar(demo, "select avg((national_id is null)::int)::float from bank.customers")
    got = prof["columns"]["national_id"]["nullFraction"]
    assert abs(got - real) < 1e-9, (got, real)
    assert abs(real - 0.25) < 1e-9, f"demo data changed: national_id null fraction {real}"


def test_second_run_processes_nothing():
    report, _ = once("second")
    assert report["summary"]["entities"] == 0, report["summary"]


def test_altering_one_table_reprocesses_only_it():
    cs.query(demo, "alter table shop.products add column colour text")
    report, _ = once("third")
    db = cs.dsn_db(demo)
    assert list(report["entities"]) == [f"demo.{db}.shop.products"], list(report["entities"])
    cols = report["entities"][f"demo.{db}.shop.products"]["aspects"]["profile"]["columns"]
    assert "colour" in cols


def test_dropping_a_table_is_noticed():
    cs.query(demo, "drop table shop.reviews")
    report, _ = once("fourth")
    db = cs.dsn_db(demo)
    e = report["entities"].get(f"demo.{db}.shop.reviews")
    assert e is not None and e["op"] == "delete", report["entities"]
    assert report["summary"]["deleted"] == 1, report["summary"]
    left = cs.scalar(state, "select count(*) from catalog_sync.aspects where fqn = %s",
                     (f"demo.{db}.shop.reviews",))
    assert left == 0, "aspects of a deleted table must be removed"


def test_changed_passes_reprocess_every_table():
    """Another config of a pass (or another pass, or a newer version) means
    tables that did not change must meet the new plan too."""
    global mpath
    changed = cs.manifest(state, demo, cs.demo_passes(extra=[
        {"name": "governance_tags", "plugin": "governance_tags", "kind": "entity",
         "inputs": ["table"], "outputs": ["governance"],
         "config": {"table_prefixes": {"cust": "customer_data"}}}]))
    mpath = cs.write_manifest(wd.file("m2.json"), changed)
    report, p = once("fifth")
    tables = [t for (t,) in demo_tables()]
    assert report["summary"]["entities"] == len(tables), report["summary"]
    assert "every entity is discovered again" in p.stderr
    report, _ = once("sixth")
    assert report["summary"]["entities"] == 0, "the same plan again must process nothing"


def test_every_write_is_audited():
    jobs_done = cs.scalar(state, "select count(*) from catalog_sync.jobs where status = 'done'")
    audited = cs.scalar(state, """select count(*) from catalog_sync.audit_log
                                  where action in ('aspects.write', 'aspects.delete')""")
    assert jobs_done == audited, (jobs_done, audited)
    wm = cs.scalar(state, "select count(*) from catalog_sync.audit_log where action = 'watermark.commit'")
    assert wm >= 1


def test_no_planted_value_leaks():
    dumped = cs.query(state, """select coalesce(string_agg(value::text, ' '), '') from catalog_sync.aspects""")[0][0]
    dumped += cs.query(state, "select coalesce(string_agg(row_to_json(a)::text, ' '), '') from catalog_sync.audit_log a")[0][0]
    reports = "".join(open(wd.file(f)).read() for f in os.listdir(wd.path) if f.endswith(".json") and f != "m.json")
    for value in cs.PLANTED:
        for where, text in (("logs", "".join(logs)), ("state store", dumped), ("report", reports)):
            assert value not in text, f"planted value {value!r} found in the {where}"
    assert cs.scalar(demo, "select count(*) from bank.customers where email = %s", (cs.PLANTED[0],)) == 1, \
        "the canary customer is missing from the demo data"


cs.main([test_first_run_profiles_every_table, test_row_counts_match_the_database,
         test_planted_null_fraction, test_second_run_processes_nothing,
         test_altering_one_table_reprocesses_only_it, test_dropping_a_table_is_noticed,
         test_changed_passes_reprocess_every_table, test_every_write_is_audited, test_no_planted_value_leaks])
