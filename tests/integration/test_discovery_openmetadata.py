"""`catalog-sync once` with discovery_openmetadata against the fake
OpenMetadata (tests/fakes/openmetadata.py) holding the demo database's
tables (seed_demo.register_demo): the first run finds every table, a second
run finds nothing, a person's edit re-finds exactly that table while the
bot's own write does not, a deletion is reported, a search whose
query_filter the server ignores falls back to the listing and says so, a
refused token or a failing server fails the run without moving the
watermark, and no token reaches a log or the state store.  Downstream,
governance_tags and profile_postgres (through catalogSync.connection) run
on the OpenMetadata-shaped tables."""
import json
import os
import sys
import urllib.parse
import urllib.request

import cslib as cs

SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")
if not os.path.isdir(os.path.join(SHARED, "contracts", "openmetadata")):
    cs.skip(f"{os.path.join(SHARED, 'contracts', 'openmetadata')} is absent: "
            "the OpenMetadata schemas the fake validates against are needed")
sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from openmetadata import FakeOpenMetadata, schemas_dir  # noqa: E402
from seed_demo import register_demo  # noqa: E402

if schemas_dir() is None:
    cs.skip("../shared/contracts/openmetadata is absent: the fake cannot validate")

TOKEN = "om-disc-token-8c31e7"
BOT = "catalog-sync-bot"

state = cs.new_db("domd_state")
demo = cs.new_db("domd_demo")
cs.load_demo(demo)
db = cs.dsn_db(demo)
wd = cs.Workdir("discovery-om")
om = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
base = om.start()
register_demo(om, demo, service="demo_pg", database=db)
logs = []


def fqn(table):
    return f"demo_pg.{db}.{table}"


def write_token(value):
    path = wd.file(f"token-{len(logs)}")
    with open(path, "w") as f:
        f.write(value + "\n")
    return path


def manifest(token=TOKEN, **config):
    disc = {"base_url": base, "token_file": write_token(token), "bot_name": BOT,
            "services": ["demo_pg"], "index_lag_ms": 0, "page_size": 5,
            "connection": "demo", "timeout_ms": 5000, "max_retries": 1}
    disc.update(config)
    passes = [
        {"name": "discovery", "plugin": "discovery_openmetadata", "kind": "source",
         "outputs": ["table"], "config": disc},
        {"name": "governance_tags", "plugin": "governance_tags", "kind": "entity",
         "inputs": ["table"], "outputs": ["governance"]},
        {"name": "profile", "plugin": "profile_postgres", "kind": "entity",
         "inputs": ["table"], "outputs": ["sample", "profile"],
         "config": {"sample_percent": 100, "sample_rows": 1000}},
    ]
    m = cs.manifest(state, demo, passes)
    m["egress"].append(urllib.parse.urlparse(base).netloc)
    return cs.write_manifest(wd.file(f"m-{len(logs)}.json"), m)


def once(name, expect_ok=True, **kw):
    report = wd.file(f"{name}.json")
    p = cs.run_cli("once", "-m", manifest(**kw), "--report", report,
                   "--log-level", "debug")
    logs.append(p.stdout + p.stderr)
    if expect_ok:
        assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-4000:]}"
    with open(report) as f:
        return json.load(f), p.stdout + p.stderr


def registered():
    return sorted(f for f in demo_fqns() if om.table(f) is not None)


def demo_fqns():
    rows = cs.query(demo, """select table_schema || '.' || table_name
                               from information_schema.tables
                              where table_schema in ('bank', 'shop')
                                and table_type = 'BASE TABLE' order by 1""")
    return [fqn(t) for (t,) in rows]


def upserts(report):
    return sorted(f for f, e in report["entities"].items() if e["op"] == "upsert")


def deletes(report):
    return sorted(f for f, e in report["entities"].items() if e["op"] == "delete")


def bot_patch(table_fqn, ops):
    """A write made with the daemon's own token, as publishing does."""
    url = f"{base}/api/v1/tables/name/{urllib.parse.quote(table_fqn)}"
    req = urllib.request.Request(url, data=json.dumps(ops).encode(), method="PATCH")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/json-patch+json")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status


def test_first_run_finds_every_table():
    report, out = once("first")
    fqns = registered()
    assert len(fqns) >= 10 and fqns == demo_fqns(), fqns
    assert upserts(report) == fqns, (upserts(report), fqns)
    assert report["summary"]["failed"] == 0, report["failures"]
    assert "first run, listing" in out, out[-3000:]
    for f in fqns:
        e = report["entities"][f]
        t = e["aspects"]["table"]
        want = om.table(f)
        for k in ("id", "fullyQualifiedName", "name", "updatedAt", "updatedBy",
                  "version", "columns", "tableConstraints"):
            assert t.get(k) == want.get(k), (f, k, t.get(k), want.get(k))
        assert t["catalogSync"]["connection"] == "demo", t["catalogSync"]
        assert {"governance", "profile"} <= set(e["aspects"]), (f, e["aspects"].keys())
    customers = report["entities"][fqn("bank.customers")]["aspects"]
    n = cs.scalar(demo, "select count(*) from bank.customers")
    assert customers["profile"]["rowCount"] == n, (customers["profile"]["rowCount"], n)


def test_second_run_finds_nothing():
    report, out = once("second")
    assert report["entities"] == {}, sorted(report["entities"])
    assert "(search): 0 tables found" in out, out[-3000:]


def test_human_edit_refinds_exactly_that_table():
    om.human_edit(fqn("shop.orders"), [{"op": "add", "path": "/description",
                                        "value": "Orders placed in the web shop"}],
                  user="steward")
    report, _ = once("human")
    assert upserts(report) == [fqn("shop.orders")], sorted(report["entities"])
    t = report["entities"][fqn("shop.orders")]["aspects"]["table"]
    assert t["description"] == "Orders placed in the web shop", t.get("description")
    assert t["updatedBy"] == "steward", t["updatedBy"]


def test_bot_write_is_skipped_and_a_later_human_edit_is_not():
    bot_patch(fqn("bank.accounts"), [{"op": "add", "path": "/description",
                                      "value": "Bank accounts"}])
    assert om.table(fqn("bank.accounts"))["updatedBy"] == BOT
    report, out = once("bot")
    assert report["entities"] == {}, sorted(report["entities"])
    assert f"1 skipped (last changed by {BOT})" in out, out[-3000:]
    om.human_edit(fqn("bank.accounts"), [{"op": "add", "path": "/description",
                                          "value": "Current and savings accounts"}],
                  user="steward")
    report, _ = once("after_bot")
    assert upserts(report) == [fqn("bank.accounts")], sorted(report["entities"])


def test_deletion_is_reported():
    om.delete_table(fqn("shop.products"))
    report, _ = once("delete")
    assert deletes(report) == [fqn("shop.products")], report["entities"]
    assert upserts(report) == [], report["entities"]


def test_refused_token_and_server_errors_keep_the_watermark():
    om.human_edit(fqn("bank.customers"), [{"op": "add", "path": "/description",
                                           "value": "Retail customers"}],
                  user="steward")
    report, out = once("bad_token", expect_ok=False, token="not-the-token")
    assert report["run"]["status"] == "failed", report["run"]
    error = report["run"].get("error") or ""
    assert f"GET {base}/api/v1/" in error and "answered 401" in error, error
    assert "config.token" in error, error
    # The host retries a 503 once (max_retries: 1), then the run fails.
    om.fail_next(2, status=503, path_prefix="/api/v1/search")
    report, out = once("server_error", expect_ok=False)
    assert report["run"]["status"] == "failed", report["run"]
    error = report["run"].get("error") or ""
    assert "/api/v1/search/query" in error and "answered 503" in error, error
    report, _ = once("recovered")
    assert upserts(report) == [fqn("bank.customers")], sorted(report["entities"])


def test_ignored_query_filter_falls_back_to_the_listing():
    om.ignore_query_filter = True
    try:
        om.human_edit(fqn("bank.cards"), [{"op": "add", "path": "/description",
                                           "value": "Payment cards"}],
                      user="steward")
        report, out = once("ignored")
    finally:
        om.ignore_query_filter = False
    assert "OpenMetadata ignored the search query_filter" in out, out[-3000:]
    assert "listing (the search filter was ignored)" in out, out[-3000:]
    assert upserts(report) == [fqn("bank.cards")], sorted(report["entities"])


def test_requests_and_secrets():
    assert om.schema_errors == [], om.schema_errors
    reqs = om.requests
    assert reqs, "no request reached the fake"
    for r in reqs:
        if r["method"] != "GET":
            continue  # the test's own bot write
        headers = {k.lower(): v for k, v in dict(r["headers"]).items()}
        assert headers.get("authorization", "").startswith("Bearer "), r
    paths = {r["path"] for r in reqs if r["method"] == "GET"}
    assert "/api/v1/search/query" in paths and "/api/v1/tables" in paths, paths
    for text in logs:
        assert TOKEN not in text, "the token reached a log"
    n = cs.scalar(state, "select count(*) from catalog_sync.audit_log "
                  "where coalesce(new_value::text, '') || coalesce(old_value::text, '') like %s",
                  (f"%{TOKEN}%",))
    assert n == 0, "the token reached the audit log"
    n = cs.scalar(state, "select count(*) from catalog_sync.aspects where value::text like %s",
                  (f"%{TOKEN}%",))
    assert n == 0, "the token reached an aspect"


if __name__ == "__main__":
    try:
        cs.main([test_first_run_finds_every_table, test_second_run_finds_nothing,
                 test_human_edit_refinds_exactly_that_table,
                 test_bot_write_is_skipped_and_a_later_human_edit_is_not,
                 test_deletion_is_reported,
                 test_refused_token_and_server_errors_keep_the_watermark,
                 test_ignored_query_filter_falls_back_to_the_listing,
                 test_requests_and_secrets])
    finally:
        om.stop()
