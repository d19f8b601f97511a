"""Foreign-key discovery end to end on Chinook ($CS_SHARED_DIR/datasets,
default ../shared next to the source tree): the database is loaded, its
declared foreign keys are read from pg_catalog as ground truth and then
dropped, the tables are ANALYZEd (as autovacuum would soon do), and
`catalog-sync once` runs discovery_postgres, profile_postgres
(sample_percent 100, sample_rows 1000), fingerprint and fk_discover.  The
confirmed edges of the `fk` aspects must reach recall >= 0.95 and
precision >= 0.9 against the dropped keys, and both role-named keys
(employee.reports_to, a self-reference, and customer.support_rep_id, both
to employee.employee_id) must be among them.  Skipped (77) when the
dataset or the passes are not there.

Pagila and Northwind, and the baselines, are measured by
tests/bench/bench_fk.py (scripts/bench-fk.sh), not here."""
import os
import sys

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "fk"))
import fkeval  # noqa: E402

RECALL = 0.95
PRECISION = 0.9
SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")
ROLE_NAMED = [("public.employee", ("reports_to",), "public.employee", ("employee_id",)),
              ("public.customer", ("support_rep_id",), "public.employee", ("employee_id",))]
EVIDENCE = ("containment", "violations", "nameScore", "parentUniqueness", "reason")

for so in ("fingerprint.so", "fk_discover.so"):
    if not os.path.exists(os.path.join(cs.PASS_DIR, so)):
        cs.skip(f"{so} is not built in {cs.PASS_DIR!r}")
SPEC = fkeval.datasets()["chinook"]
FILES, MISSING = fkeval.dataset_files(SHARED, SPEC)
if MISSING:
    cs.skip(f"Chinook not found: {', '.join(MISSING)} (set CS_SHARED_DIR)")

wd = cs.Workdir("fk-accuracy")
FK_PASSES = [
    {"name": "fingerprint", "plugin": "fingerprint", "kind": "entity",
     "inputs": ["table", "sample", "profile"], "outputs": ["fingerprint"]},
    {"name": "fk_discover", "plugin": "fk_discover", "kind": "batch",
     "inputs": ["fingerprint"], "outputs": ["fk"]},
]


def run_once(source):
    """`once` with a fresh state store; returns (edges, fingerprints)."""
    state = cs.new_db("fkacc_state")
    passes = cs.demo_passes(schemas=[SPEC["schema"]], extra=[dict(p) for p in FK_PASSES])
    passes[1]["config"]["sample_rows"] = 1000
    mpath = cs.write_manifest(wd.file("chinook.json"), cs.manifest(state, source, passes))
    p = cs.run_cli("once", "-m", mpath, "--log-format", "text", "--no-progress", timeout=120)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    failed = cs.query(state, "SELECT fqn, last_error FROM catalog_sync.jobs WHERE status = 'failed'")
    assert not failed, f"failed jobs: {failed[:5]}"
    return fkeval.read_edges(cs.query, state), fkeval.read_fingerprints(cs.query, state)


source = cs.new_db("fkacc_chinook")
fkeval.load_dataset(cs, wd, source, SPEC, FILES)
every, truth = fkeval.declared(cs.query, source, SPEC["schema"])
empty = {e: n for e, n in every.items() if e not in truth}
fkeval.drop_foreign_keys(cs.query, source, SPEC["schema"])
edges, fingerprints = run_once(source)
result = fkeval.evaluate("chinook", cs.query, source, truth, empty, edges, SPEC.get("undeclared", {}))
print("chinook:")
fkeval.report(result, fps=fingerprints)


def test_ground_truth_is_chinook():
    """The dataset is the one the targets were set on: 11 declared keys,
    all with data, the two role-named ones among them."""
    assert len(truth) == 11, f"expected 11 declared foreign keys with data, got {len(truth)}"
    for edge in ROLE_NAMED:
        assert edge in truth, f"{fkeval.fmt(edge)} is not declared in this Chinook"


def test_every_table_has_a_fingerprint():
    tables = {e[0] for e in truth} | {e[2] for e in truth}
    assert tables <= set(fingerprints), f"no fingerprint for {sorted(tables - set(fingerprints))}"


def test_recall():
    c = result.counts()
    assert c["recall"] >= RECALL, \
        f"recall {c['recall']:.3f} < {RECALL}; missed: {[fkeval.short(e) for e, _ in result.misses]}"


def test_precision():
    c = result.counts()
    assert c["emitted"] > 0, "no confirmed edge at all"
    assert c["precision"] >= PRECISION, \
        f"precision {c['precision']:.3f} < {PRECISION}; false positives: " + \
        str([f"{fkeval.short(e)} [{note}]" for e, _, note in result.false_pos])


def test_role_named_keys_found():
    found = {e for e, _ in result.found}
    missed = [fkeval.short(e) for e in ROLE_NAMED if e not in found]
    assert not missed, f"role-named keys not found: {missed}"


def test_no_known_edges_after_dropping():
    """Nothing is declared any more, so nothing may be reported as known."""
    assert not result.known, [fkeval.short(e) for e, _ in result.known]


def test_edges_carry_evidence():
    lacking = [(fkeval.short(e), [k for k in EVIDENCE if k not in x])
               for e, s, x in edges if s == "confirmed" and any(k not in x for k in EVIDENCE)]
    assert not lacking, f"edges without evidence fields: {lacking[:5]}"
    bad = [fkeval.short(e) for e, s, x in edges if s == "confirmed" and x.get("violations") not in (0, None)]
    assert not bad, f"confirmed edges with violations at the default tolerance 0: {bad}"


def test_never_analyzed_tables():
    """Right after a load, before autovacuum: row counts are unknown to the
    profile and its LIMIT reads are prefixes of the tables.  A prefix must
    not be taken for a whole table (whose range would rule parents out)."""
    fresh = cs.new_db("fkacc_fresh")
    fkeval.load_dataset(cs, wd, fresh, SPEC, FILES, analyze=False)
    all_fresh, truth_fresh = fkeval.declared(cs.query, fresh, SPEC["schema"])
    empty_fresh = {e: n for e, n in all_fresh.items() if e not in truth_fresh}
    fkeval.drop_foreign_keys(cs.query, fresh, SPEC["schema"])
    got, _ = run_once(fresh)
    r = fkeval.evaluate("chinook", cs.query, fresh, truth_fresh, empty_fresh, got,
                        SPEC.get("undeclared", {}))
    c = r.counts()
    assert c["recall"] >= RECALL and c["precision"] >= PRECISION, \
        f"never analyzed: recall {c['recall']:.3f}, precision {c['precision']:.3f}; " \
        f"missed: {[fkeval.short(e) for e, _ in r.misses]}"


cs.main([test_ground_truth_is_chinook, test_every_table_has_a_fingerprint, test_recall,
         test_precision, test_role_named_keys_found, test_no_known_edges_after_dropping,
         test_edges_carry_evidence, test_never_analyzed_tables])
