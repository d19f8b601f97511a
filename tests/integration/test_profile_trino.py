"""profile_trino (and fk_discover with engine: trino) through the fake Trino
coordinator (tests/fakes/fake_trino.py) over the demo database.

discovery_postgres with `service: demo_pg` names the tables
demo_pg.<db>.bank.<table>; `catalogs` maps demo_pg.<db> to the fake's
catalog demo_pg.  The profiles must equal profile_postgres's on the same
database (100 % sample), the Trino user header must reach the coordinator,
a 503 burst must be survived, a query past its deadline must be cancelled
(DELETE) with the table failed and a reason, a vanished table must fail
alone, the foreign keys must be confirmed through Trino, and no planted
value may leak.
"""
import json
import os
import sys
import time

import cslib as cs

FAKES = os.path.join(cs.SRC, "tests", "fakes")
USER = "it-profile-trino"
TABLES = ["bank.branches", "bank.employees", "bank.customers"]
# The big ones stay out: every page of the fake holds 3 rows.
EXCLUDED = ["bank.accounts", "bank.cards", "bank.transactions"]


sys.path.insert(0, FAKES)
from fake_trino import FakeTrino  # noqa: E402
demo = cs.new_db("ptr_demo")
cs.load_demo(demo)
db = cs.dsn_db(demo)
wd = cs.Workdir("profile-trino")
tr = FakeTrino(catalogs={"demo_pg": demo}, page_rows=3)
base = tr.start()
logs = []
reports = []


def discovery(exclude=()):
    return {"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
            "outputs": ["table"],
            "config": {"connection": "demo", "service": "demo_pg", "schemas": ["bank"],
                       "exclude_tables": EXCLUDED + list(exclude)}}


def trino_options(**extra):
    opts = {"trino_url": base, "trino_user": USER,
            "catalogs": {f"demo_pg.{db}": "demo_pg"}}
    opts.update(extra)
    return opts


def profile_trino(**extra):
    cfg = trino_options(sample_percent=100, sample_rows=100000)
    cfg.update(extra)
    return {"name": "profile", "plugin": "profile_trino", "kind": "entity",
            "inputs": ["table"], "outputs": ["sample", "profile"], "config": cfg}


def profile_postgres():
    return {"name": "profile", "plugin": "profile_postgres", "kind": "entity",
            "inputs": ["table"], "outputs": ["sample", "profile"],
            "config": {"sample_percent": 100, "sample_rows": 100000}}


def once(name, passes):
    """A run on a fresh state database; returns the report."""
    state = cs.new_db("ptr_state")
    m = cs.manifest(state, demo, passes)
    m["egress"].append(base.split("://", 1)[1])
    mpath = cs.write_manifest(wd.file(f"{name}.json"), m)
    report = wd.file(f"{name}-report.json")
    p = cs.run_cli("once", "-m", mpath, "--report", report, "--log-format", "json")
    logs.append(p.stderr + p.stdout)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    with open(report) as f:
        out = json.load(f)
    reports.append(json.dumps(out))
    return out, state


def fqn(table):
    return f"demo_pg.{db}.{table}"


def profiles(report):
    return {fqn: e["aspects"]["profile"] for fqn, e in report["entities"].items()
            if "profile" in e.get("aspects", {})}


def failures(report):
    return {f["fqn"]: f["errors"] for f in report.get("failures", [])}


by_postgres = {}


def test_profiles_equal_profile_postgres():
    pg, _ = once("postgres", [discovery(), profile_postgres()])
    assert pg["summary"]["failed"] == 0, pg.get("failures")
    by_postgres.update(profiles(pg))
    assert sorted(by_postgres) == sorted(fqn(t) for t in TABLES), sorted(by_postgres)
    tr.queries.clear()
    report, _ = once("trino", [discovery(), profile_trino()])
    assert report["summary"]["failed"] == 0, report.get("failures")
    got = profiles(report)
    assert sorted(got) == sorted(by_postgres), sorted(got)
    for name, want in by_postgres.items():
        have = got[name]
        assert (have["rowCount"], have["rowCountSource"]) == \
            (want["rowCount"], want["rowCountSource"]), (name, have["rowCount"], want["rowCount"])
        assert set(have["columns"]) == set(want["columns"]), (name, set(have["columns"]))
        for col, w in want["columns"].items():
            h = have["columns"][col]
            for k in ("typeClass", "nullCount", "nullFraction", "distinctCount", "uniqueness"):
                assert h[k] == w[k], (name, col, k, h[k], w[k], h["dataType"], w["dataType"])
            if w["typeClass"] in ("text", "integer"):  # same text on both engines
                assert h["topValues"] == w["topValues"], (name, col)
                assert h["avgLength"] == w["avgLength"], (name, col)
    # what the coordinator saw: who we are, and one SHOW STATS and one
    # sample per table, on the mapped catalog
    assert tr.queries, "no query reached the fake Trino"
    for q in tr.queries:
        assert q["user"] == USER and q["headers"].get("X-Trino-User") == USER, q
        assert q["source"] == "catalog-sync", q
    sqls = [q["sql"] for q in tr.queries]
    for t in TABLES:
        s, n = t.split(".")
        rel = f'"demo_pg"."{s}"."{n}"'
        assert f"SHOW STATS FOR {rel}" in sqls, sqls
        assert f"/* catalog-sync profile: sample */ SELECT * FROM {rel} LIMIT 100000" in sqls, sqls


def test_503_burst_is_survived():
    tr.fail_next(4, 503)
    report, _ = once("burst", [discovery(), profile_trino()])
    assert report["summary"]["failed"] == 0, report.get("failures")
    assert sorted(profiles(report)) == sorted(fqn(t) for t in TABLES)
    assert sum(1 for r in tr.requests if r["status"] == 503) >= 4


def test_slow_query_is_cancelled():
    cancelled_before = len(tr.cancelled)
    tr.slow_seconds = 5
    try:
        start = time.time()
        report, _ = once("slow", [discovery(exclude=["bank.employees", "bank.customers"]),
                                  profile_trino(timeout_ms=1000)])
        took = time.time() - start
    finally:
        tr.slow_seconds = 0
    failed = failures(report)
    assert list(failed) == [fqn("bank.branches")], failed
    why = json.dumps(failed)
    assert "deadline of 1000 ms" in why and "cancelled" in why, why
    assert len(tr.cancelled) > cancelled_before, "no DELETE reached the fake"
    assert any(r["method"] == "DELETE" for r in tr.requests)
    assert took < 30, f"the run took {took:.0f}s: the deadline did not bound it"


def test_vanished_table_fails_alone():
    tr.fail_query_matching = ("branches", "TABLE_NOT_FOUND")
    try:
        report, _ = once("gone", [discovery(), profile_trino()])
    finally:
        tr.fail_query_matching = None
    failed = failures(report)
    assert list(failed) == [fqn("bank.branches")], failed
    why = json.dumps(failed)
    assert "no longer exists in Trino" in why and "TABLE_NOT_FOUND" in why, why
    assert sorted(profiles(report)) == sorted(fqn(t) for t in TABLES if t != "bank.branches")


def test_foreign_keys_confirmed_through_trino():
    tr.queries.clear()
    passes = [discovery(), profile_trino(sample_rows=1000),
              {"name": "fingerprint", "plugin": "fingerprint", "kind": "entity",
               "inputs": ["table", "sample", "profile"], "outputs": ["fingerprint"]},
              {"name": "fk_discover", "plugin": "fk_discover", "kind": "batch",
               "inputs": ["fingerprint"], "outputs": ["fk"],
               "config": {**trino_options(), "engine": "trino",
                          "statement_timeout_ms": 20000}}]
    report, state = once("fk", passes)
    assert report["summary"]["failed"] == 0, report.get("failures")
    rows = cs.query(state, "select fqn, value from catalog_sync.aspects where aspect = 'fk'")
    edges = {}
    for name, v in rows:
        v = v if isinstance(v, dict) else json.loads(v)
        for e in v["edges"]:
            edges[(name.split(".")[-1], e["fromColumns"][0])] = (e["toTable"], e["status"], e)
    want = {("employees", "branch_id"): fqn("bank.branches"),
            ("employees", "manager_id"): fqn("bank.employees")}
    for k, parent in want.items():
        assert k in edges, (k, sorted(edges))
        assert edges[k][:2] == (parent, "confirmed"), edges[k]
    n = cs.scalar(demo, "select count(manager_id) from bank.employees")
    assert edges[("employees", "manager_id")][2]["childRowsChecked"] == n
    checks = [q["sql"] for q in tr.queries if "count_if" in q["sql"]]
    assert checks and all("NOT EXISTS" in s for s in checks), checks


def test_no_planted_value_leaks():
    text = "".join(logs) + "".join(reports)
    for value in cs.PLANTED:
        assert value not in text, f"planted value {value!r} in the logs or a report"
    assert cs.scalar(demo, "select count(*) from bank.customers where email = %s",
                     (cs.PLANTED[0],)) == 1, "the canary customer is missing from the demo data"


try:
    cs.main([test_profiles_equal_profile_postgres, test_503_burst_is_survived,
             test_slow_query_is_cancelled, test_vanished_table_fails_alone,
             test_foreign_keys_confirmed_through_trino, test_no_planted_value_leaks])
finally:
    tr.stop()
