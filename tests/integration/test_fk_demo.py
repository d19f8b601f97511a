"""`catalog-sync once` over the demo database with foreign-key discovery:
discovery -> profile (whole tables up to 1000 rows) -> fingerprint ->
fk_discover.  The demo declares no foreign key; every relationship its
data holds (scripts/demo-db.sql), role-named and self-referencing ones
included, must be found and confirmed, and no other edge.  A table added
later is matched against the fingerprints of the first run."""
import json

import cslib as cs

state = cs.new_db("fk_state")
demo = cs.new_db("fk_demo")
cs.load_demo(demo)
db = cs.dsn_db(demo)
wd = cs.Workdir("fk")

passes = cs.demo_passes(sample_percent=100, extra=[
    {"name": "fingerprint", "plugin": "fingerprint", "kind": "entity",
     "inputs": ["table", "sample", "profile"], "outputs": ["fingerprint"]},
    {"name": "fk_discover", "plugin": "fk_discover", "kind": "batch",
     "inputs": ["fingerprint"], "outputs": ["fk"]}])
for p in passes:
    if p["name"] == "profile":
        p["config"]["sample_rows"] = 1000
mpath = cs.write_manifest(wd.file("m.json"), cs.manifest(state, demo, passes))
logs = []

# (child table, child column) -> parent table, parent column
EXPECTED = {
    ("bank.accounts", "customer_id"): ("bank.customers", "id"),
    ("bank.accounts", "branch_id"): ("bank.branches", "id"),
    ("bank.employees", "manager_id"): ("bank.employees", "id"),
    ("bank.employees", "branch_id"): ("bank.branches", "id"),
    ("bank.cards", "account_id"): ("bank.accounts", "id"),
    ("bank.transactions", "account_id"): ("bank.accounts", "id"),
    ("bank.transactions", "counterparty_account_id"): ("bank.accounts", "id"),
    ("shop.products", "supplier_id"): ("shop.suppliers", "id"),
    ("shop.orders", "customer_id"): ("shop.customers", "id"),
    ("shop.order_items", "order_id"): ("shop.orders", "id"),
    ("shop.order_items", "product_id"): ("shop.products", "id"),
    ("shop.shipments", "order_id"): ("shop.orders", "id"),
    ("shop.shipments", "ship_via"): ("shop.carriers", "id"),
    ("shop.reviews", "product_id"): ("shop.products", "id"),
    ("shop.reviews", "customer_id"): ("shop.customers", "id"),
}


def short(fqn):
    return ".".join(fqn.split(".")[-2:])


def once(name):
    report = wd.file(f"{name}.json")
    p = cs.run_cli("once", "-m", mpath, "--report", report, "--log-format", "json")
    logs.append(p.stderr + p.stdout)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    with open(report) as f:
        return json.load(f)


def fk_aspects():
    rows = cs.query(state, "select fqn, value from catalog_sync.aspects where aspect = 'fk'")
    return {short(fqn): (v if isinstance(v, dict) else json.loads(v)) for fqn, v in rows}


def confirmed(aspects):
    """{(child, column): [(parent, column), ...]} of the confirmed edges."""
    out = {}
    for child, a in aspects.items():
        for e in a["edges"]:
            if e["status"] == "confirmed":
                key = (child, e["fromColumns"][0])
                out.setdefault(key, []).append((short(e["toTable"]), e["toColumns"][0]))
    return out


first = {}


def test_every_relationship_found():
    report = once("first")
    assert report["summary"]["failed"] == 0, report.get("failures")
    aspects = fk_aspects()
    first.update(aspects)
    found = confirmed(aspects)
    missing = {k: v for k, v in EXPECTED.items() if found.get(k) != [v]}
    rejected = {child: a.get("rejected") for child, a in aspects.items() if a.get("rejected")}
    assert not missing, f"missing or ambiguous: {missing}\nfound: {found}\nrejected: {rejected}"


def test_no_wrong_edge():
    found = confirmed(first)
    wrong = {k: v for k, v in found.items() if EXPECTED.get(k) is None or v != [EXPECTED[k]]}
    assert not wrong, f"edges the demo data does not hold: {wrong}"


def test_evidence_on_every_edge():
    for child, a in first.items():
        for e in a["edges"]:
            assert e["violations"] == 0, (child, e)
            assert e["childRowsChecked"] > 0, (child, e)
            assert e["parentUniqueness"] >= 0.95, (child, e)
            assert 0 <= e["nameScore"] <= 1 and e["reason"], (child, e)
    # role-named keys carry no table name: found with value evidence
    em = [e for e in first["bank.employees"]["edges"] if e["fromColumns"] == ["manager_id"]]
    assert em and em[0]["nameScore"] < 1, em


def test_counts_match_the_database():
    e = [e for e in first["bank.transactions"]["edges"]
         if e["fromColumns"] == ["counterparty_account_id"]][0]
    n = cs.scalar(demo, "select count(counterparty_account_id) from bank.transactions")
    assert e["childRowsChecked"] == n, (e, n)


def test_new_table_matched_against_earlier_fingerprints():
    cs.query(demo, """create table shop.returns (id integer primary key,
                          order_id integer not null, reason text);
                      insert into shop.returns
                      select g, 1 + (g * 37) % 6000, 'damaged'
                        from generate_series(1, 300) g""")
    report = once("second")
    assert list(report["entities"]) == [f"demo.{db}.shop.returns"], list(report["entities"])
    found = confirmed(fk_aspects())
    assert found.get(("shop.returns", "order_id")) == [("shop.orders", "id")], found
    # the earlier tables' edges are still there
    assert found.get(("shop.shipments", "ship_via")) == [("shop.carriers", "id")], found


def test_no_planted_value_in_fk_aspects():
    dumped = cs.query(state, """select coalesce(string_agg(value::text, ' '), '')
                                  from catalog_sync.aspects
                                 where aspect in ('fk', 'fingerprint')""")[0][0]
    for value in cs.PLANTED:
        assert value not in dumped, f"planted value {value!r} in fk/fingerprint aspects"
        assert value not in "".join(logs), f"planted value {value!r} in the logs"


cs.main([test_every_relationship_found, test_no_wrong_edge, test_evidence_on_every_edge,
         test_counts_match_the_database, test_new_table_matched_against_earlier_fingerprints,
         test_no_planted_value_in_fk_aspects])
