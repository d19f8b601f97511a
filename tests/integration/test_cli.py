"""The command line: --help on every command, usage errors (exit 2, one
line on stderr), `version`, `check` (text and JSON plan, manifest and plan
errors with file:line:column and the field, `--load` against the real
plugins), environment substitution and `*_file` secrets, and secrets kept
out of the logs of a debug `once` run in both log formats."""
import json
import os
import re

import cslib as cs

state = cs.new_db("cli_state")
demo = cs.new_db("cli_demo")
cs.query(demo, """create schema bank;
  create table bank.customers (id int primary key, email text, note text);
  insert into bank.customers select g, 'c' || g || '@example.org', null from generate_series(1, 20) g;
  create table bank.accounts (id int primary key, customer_id int, balance numeric);
  insert into bank.accounts select g, g % 20 + 1, g * 10.5 from generate_series(1, 30) g;
  create schema shop;
  create table shop.orders (id int primary key, total numeric, placed_at timestamptz default now());
  insert into shop.orders(id, total) select g, g from generate_series(1, 10) g;""")
wd = cs.Workdir("cli")
CANARY = "s3cr3t-canary-xyz"
STATE_CANARY = "st4te-canary-qq9"


def write_yaml(name, text):
    path = wd.file(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check(*args, **kw):
    return cs.run_cli("check", *args, timeout=60, **kw)


def one_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{text}"
    return lines[0]


# ---- help, usage errors, version ------------------------------------------

def test_help_of_every_command():
    p = cs.run_cli("--help")
    assert p.returncode == 0, p.stderr
    for cmd in ("run", "once", "check", "version"):
        assert re.search(rf"^\s+{cmd}\b", p.stdout, re.M), f"`{cmd}` missing from --help:\n{p.stdout}"
    expected = {
        "run": ["-m, --manifest", "--no-initial-run", "--log-format", "--log-level", "SIGHUP"],
        "once": ["-m, --manifest", "--report", "--no-progress", "--log-format", "--log-level"],
        "check": ["-m, --manifest", "--json", "--load"],
    }
    for cmd, options in expected.items():
        p = cs.run_cli(cmd, "--help")
        assert p.returncode == 0, (cmd, p.returncode, p.stderr)
        assert p.stdout.startswith(f"usage: catalog-sync {cmd} "), p.stdout
        for opt in options:
            assert opt in p.stdout, f"`{cmd} --help` does not mention {opt}:\n{p.stdout}"
        assert p.stderr == "", p.stderr


def test_usage_errors_exit_2_with_one_line():
    cases = [
        (["frobnicate"], "unknown command `frobnicate`"),
        (["run", "--bogus", "-m", "x.yaml"], "catalog-sync run: unknown option --bogus"),
        (["once", "-m", "x.yaml", "-z"], "catalog-sync once: unknown option -z"),
        (["check", "--bogus"], "catalog-sync check: unknown option --bogus"),
        (["run"], "catalog-sync run: -m MANIFEST is required"),
        (["once", "--report", "r.json"], "catalog-sync once: -m MANIFEST is required"),
        (["check", "--json"], "catalog-sync check: -m MANIFEST is required"),
        (["check", "-m"], "catalog-sync check: -m needs a value"),
        (["check", "-m", "x.yaml", "extra"], "catalog-sync check: unexpected argument `extra`"),
        (["check", "-m", "x.yaml", "--log-format", "xml"],
         "catalog-sync check: --log-format must be text or json, not `xml`"),
        (["once", "-m", "x.yaml", "--log-level", "loud"],
         "catalog-sync once: --log-level must be debug, info, warn or error, not `loud`"),
    ]
    for args, reason in cases:
        p = cs.run_cli(*args, timeout=30)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        line = one_line(p.stderr)
        assert reason in line, (args, line)
        assert p.stdout == "", (args, p.stdout)
    p = cs.run_cli(timeout=30)
    assert p.returncode == 2 and "usage: catalog-sync" in p.stderr, (p.returncode, p.stderr)


def test_version():
    p = cs.run_cli("version")
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"catalog-sync \d+\.\d+\.\d+\S* \(pass ABI 1\.\d+\)\n", p.stdout), repr(p.stdout)


# ---- check: the plan -------------------------------------------------------

def gov_pass():
    return {"name": "gov", "plugin": "governance_tags", "kind": "entity",
            "inputs": ["table"], "outputs": ["governance"]}


def valid_manifest(name="valid.json", **top):
    m = cs.manifest(state, demo, cs.demo_passes(extra=[gov_pass()]), **top)
    return cs.write_manifest(wd.file(name), m)


def test_check_prints_the_plan_in_order():
    path = valid_manifest()
    p = check("-m", path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith(f"{path}: valid (sha256 "), out
    order = ["stage 1: source", "1. discovery (source", "out: table",
             "stage 2: entity", "2. profile (entity", "in:  table <- discovery",
             "out: sample [raw]", "out: profile",
             "frees `sample` after this pass",
             "3. gov (entity", "in:  table <- discovery", "out: governance"]
    pos = 0
    for item in order:
        at = out.find(item, pos)
        assert at >= 0, f"{item!r} missing or out of order after offset {pos}:\n{out}"
        pos = at + len(item)
    assert "plugins:" not in out, "plain check must not load plugins"


def test_check_json_plan():
    path = valid_manifest()
    p = check("-m", path, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["valid"] is True, doc
    assert [s["kind"] for s in doc["stages"]] == ["source", "entity"], doc["stages"]
    names = [[ps["name"] for ps in s["passes"]] for s in doc["stages"]]
    assert names == [["discovery"], ["profile", "gov"]], names
    gov = doc["stages"][1]["passes"][1]
    assert gov["inputs"] == [
        {"aspect": "table", "optional": False, "from": "discovery", "raw": False}], gov["inputs"]
    assert gov["plugin_path"] == os.path.join(cs.PASS_DIR, "governance_tags.so"), gov
    prof = doc["stages"][1]["passes"][0]
    assert prof["outputs"] == ["sample", "profile"] and prof["free_after"] == ["sample"], prof
    with open(path, "rb") as f:
        import hashlib
        assert doc["sha256"] == hashlib.sha256(f.read()).hexdigest(), doc["sha256"]


# ---- check: errors ---------------------------------------------------------

DISCOVERY_YAML = """\
  - name: discovery
    plugin: discovery_postgres
    kind: source
    outputs: [table]
"""


def assert_check_error(name, text, expected):
    path = write_yaml(name, text)
    p = check("-m", path)
    assert p.returncode == 1, (name, p.returncode, p.stdout, p.stderr)
    line = one_line(p.stderr)
    expected = f"{path}:" + expected.replace("{path}", path)
    assert line == f"catalog-sync check: {expected}", f"{name}:\n got {line}\nwant {expected}"
    pj = check("-m", path, "--json")
    assert pj.returncode == 1, pj.stdout
    doc = json.loads(pj.stdout)
    assert doc["valid"] is False and doc["error"] == expected, doc


def test_wrong_type_names_position_and_field():
    assert_check_error("type.yaml", f"state: \"{state}\"\nworkers: many\npasses:\n{DISCOVERY_YAML}",
                       '2:10: workers: expected an integer, got "many"')
    assert_check_error("limits.yaml",
                       f"state: \"{state}\"\nlimits:\n  lease_seconds: 5x\npasses:\n{DISCOVERY_YAML}",
                       "3:18: limits.lease_seconds: bad duration \"5x\": unknown unit 'x' (use s, m, h or d)")


def test_unknown_key_suggests_the_known_one():
    assert_check_error("unknown.yaml", f"state: \"{state}\"\npases: []\npasses:\n{DISCOVERY_YAML}",
                       "2:1: pases: unknown key (did you mean `passes`?)")
    assert_check_error("unknown_pass_key.yaml",
                       f"state: \"{state}\"\npasses:\n{DISCOVERY_YAML}    enabeld: true\n",
                       "7:5: passes[0].enabeld: unknown key (did you mean `enabled`?)")


def test_missing_required_key():
    assert_check_error("missing.yaml",
                       f"state: \"{state}\"\npasses:\n  - name: discovery\n    kind: source\n    outputs: [table]\n",
                       "3:5: passes[0].plugin: required key is missing")


def test_disabled_producer_names_both_passes():
    text = f"""state: "{state}"
passes:
{DISCOVERY_YAML}  - name: profile
    plugin: profile_postgres
    kind: entity
    enabled: false
    inputs: [table]
    outputs: [sample, profile]
  - name: describe
    plugin: governance_tags
    kind: entity
    inputs: [table, profile]
    outputs: [governance]
"""
    assert_check_error("disabled.yaml", text,
                       "16:21: passes[2].inputs[1]: pass `describe` requires aspect `profile`, "
                       "produced by pass `profile` which is disabled ({path}:10:14)")


def test_cycle_is_reported_with_the_chain():
    text = f"""state: "{state}"
passes:
{DISCOVERY_YAML}  - name: a
    plugin: x
    kind: entity
    inputs: [table, y]
    outputs: [x]
  - name: b
    plugin: x
    kind: entity
    inputs: [x]
    outputs: [y]
"""
    assert_check_error("cycle.yaml", text,
                       "10:21: passes[1].inputs[1]: dependency cycle: "
                       "`a` needs `y` from `b`, `b` needs `x` from `a`")


def test_unset_environment_variable():
    os.environ.pop("CS_IT_UNSET_VAR", None)
    assert_check_error("env.yaml", f"state: ${{CS_IT_UNSET_VAR}}\npasses:\n{DISCOVERY_YAML}",
                       "1:8: state: environment variable CS_IT_UNSET_VAR is not set "
                       "(write ${CS_IT_UNSET_VAR:-default} to give a default)")


def test_file_secrets_errors_never_echo_the_value():
    secret = wd.file("workers.txt")
    with open(secret, "w") as f:
        f.write("sekrit-workers-value\n")
    path = write_yaml("wfile.yaml", f"state: \"{state}\"\nworkers_file: workers.txt\npasses:\n{DISCOVERY_YAML}")
    p = check("-m", path)
    assert p.returncode == 1
    assert "2:15: workers: expected an integer, got the contents of a *_file" in p.stderr, p.stderr
    assert "sekrit" not in p.stderr + p.stdout, p.stderr
    assert_check_error("nofile.yaml", f"state:\n  dsn_file: nothere.dsn\npasses:\n{DISCOVERY_YAML}",
                       f"2:13: state.dsn_file: cannot read {wd.file('nothere.dsn')}: No such file or directory")


def test_missing_manifest_file():
    p = check("-m", wd.file("absent.yaml"))
    assert p.returncode == 1, p.returncode
    line = one_line(p.stderr)
    assert wd.file("absent.yaml") in line and "No such file or directory" in line, line


# ---- check --load ----------------------------------------------------------

def test_check_load_lists_every_plugin():
    path = valid_manifest("load.json")
    p = check("-m", path, "--load")
    assert p.returncode == 0, p.stdout + p.stderr
    for name, plugin in (("discovery", "discovery_postgres"), ("profile", "profile_postgres"),
                         ("gov", "governance_tags")):
        so = re.escape(os.path.join(cs.PASS_DIR, plugin + ".so"))
        assert re.search(rf"^\s+ok\s+{name}\s+{so} \(version \d+\.\d+\.\d+\S*, ABI 1\.\d+\)$",
                         p.stdout, re.M), f"no ok line for {name}:\n{p.stdout}"
    assert "FAIL" not in p.stdout
    # The options each pass declares, so the operator can write its config.
    assert re.search(r"^\s+config\.sample_percent: number, default 10$", p.stdout, re.M), p.stdout
    assert re.search(r"^\s+config\.connection: string, required$", p.stdout, re.M), p.stdout
    doc = json.loads(check("-m", path, "--load", "--json").stdout)
    assert [r["pass"] for r in doc["plugins"]] == ["discovery", "profile", "gov"], doc["plugins"]
    assert all(r["ok"] and re.fullmatch(r"1\.\d+", r["abi"]) for r in doc["plugins"]), doc["plugins"]
    opts = {o["name"] for o in doc["plugins"][1]["options"]}
    assert {"sample_percent", "sample_rows"} <= opts, opts


def test_check_load_refuses_undeclared_output():
    m = cs.manifest(state, demo, cs.demo_passes())
    m["passes"][1]["outputs"] = ["profile"]
    path = cs.write_manifest(wd.file("outputs.json"), m)
    assert check("-m", path).returncode == 0, "without --load the manifest is valid"
    p = check("-m", path, "--load")
    assert p.returncode == 1, p.stdout
    fail = [l for l in p.stdout.splitlines() if "FAIL" in l]
    assert len(fail) == 1, p.stdout
    assert "pass `profile`" in fail[0] and "`sample`" in fail[0], fail[0]
    assert "profile_postgres.so" in fail[0], fail[0]
    assert re.search(r"^\s+ok\s+discovery\s", p.stdout, re.M), p.stdout


def test_check_load_refuses_unknown_config_key():
    m = cs.manifest(state, demo, cs.demo_passes())
    m["passes"][1]["config"]["sampel_rows"] = 10
    path = cs.write_manifest(wd.file("config.json"), m)
    p = check("-m", path, "--load")
    assert p.returncode == 1, p.stdout
    fail = [l for l in p.stdout.splitlines() if "FAIL" in l]
    assert len(fail) == 1 and "pass `profile`" in fail[0] and "sampel_rows" in fail[0], p.stdout
    # Like every manifest error, it says where: file:line:column and field.
    assert re.search(r"config\.json:\d+:\d+: passes\[1\]\.config: pass `profile`: "
                     r"config\.sampel_rows is not an option", fail[0]), fail[0]
    doc = json.loads(check("-m", path, "--load", "--json").stdout)
    assert doc["valid"] is False
    bad = [r for r in doc["plugins"] if not r["ok"]]
    assert [r["pass"] for r in bad] == ["profile"] and "sampel_rows" in bad[0]["error"], bad


def test_check_load_refuses_wrong_kind():
    m = cs.manifest(state, demo, cs.demo_passes(extra=[gov_pass()]))
    m["passes"][2]["kind"] = "batch"
    path = cs.write_manifest(wd.file("kind.json"), m)
    p = check("-m", path, "--load")
    assert p.returncode == 1, p.stdout
    fail = [l for l in p.stdout.splitlines() if "FAIL" in l]
    assert len(fail) == 1 and "pass `gov`" in fail[0], p.stdout
    assert "batch" in fail[0] and "entity" in fail[0], fail[0]


# ---- env substitution, *_file secrets, redaction in logs ------------------

def secret_manifest(name, dbname=None):
    """State DSN read from a file (with a password, ignored by trust auth),
    the demo connection's DSN from an environment variable (with another)."""
    with open(wd.file("state.dsn"), "w") as f:
        f.write(f"{state} password={STATE_CANARY}\n")
    demo_dsn = demo if dbname is None else demo.replace(f"dbname={cs.dsn_db(demo)}", f"dbname={dbname}")
    text = f"""state:
  dsn_file: state.dsn
connections:
  demo:
    dsn: "${{CS_IT_DEMO_DSN}} password=${{CS_IT_DEMO_PASSWORD}}"
egress: ["127.0.0.1:${{CS_IT_PORT:-1}}"]
workers: ${{CS_IT_WORKERS:-2}}
plugin_dir: {cs.PASS_DIR}
passes:
  - name: discovery
    plugin: discovery_postgres
    kind: source
    outputs: [table]
    config: {{connection: demo, service: demo, schemas: [bank, shop]}}
  - name: profile
    plugin: profile_postgres
    kind: entity
    inputs: [table]
    outputs: [sample, profile]
"""
    env = {"CS_IT_DEMO_DSN": demo_dsn, "CS_IT_DEMO_PASSWORD": CANARY,
           "CS_IT_PORT": str(cs.port()), "CS_IT_WORKERS": ""}
    return write_yaml(name, text), env


def assert_no_secret(text, where):
    for s in (CANARY, STATE_CANARY):
        assert s not in text, f"secret {s!r} found in {where}:\n" + \
            "\n".join(l for l in text.splitlines() if s in l)[:2000]


def test_once_with_dsn_file_and_env_keeps_secrets_out_of_text_logs():
    path, env = secret_manifest("secret.yaml")
    assert check("-m", path, env=env).returncode == 0
    p = cs.run_cli("once", "-m", path, "--report", wd.file("secret-report.json"),
                   "--log-level", "debug", "--log-format", "text", env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert_no_secret(p.stdout + p.stderr, "the text logs")
    report = json.load(open(wd.file("secret-report.json")))
    assert report["summary"]["done"] == 3 and report["summary"]["failed"] == 0, report["summary"]
    assert_no_secret(json.dumps(report), "the report")
    for line in p.stderr.splitlines():
        assert re.match(r"^\d{4}-\d\d-\d\dT\S+ (DEBUG|INFO |WARN |ERROR) ", line), \
            f"not a text log line: {line!r}"


def test_once_json_logs_parse_and_keep_secrets_out():
    path, env = secret_manifest("secret.yaml")
    cs.query(demo, "alter table shop.orders add column coupon text")  # one entity to redo
    p = cs.run_cli("once", "-m", path, "--log-level", "debug", "--log-format", "json", env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert_no_secret(p.stdout + p.stderr, "the json logs")
    lines = p.stderr.splitlines()
    assert lines, "no log line at all"
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            raise AssertionError(f"a --log-format json line is not JSON: {line!r}")
        assert {"ts", "level", "msg"} <= set(ev), ev
        assert ev["level"] in ("debug", "info", "warn", "error"), ev


def test_failed_connection_error_redacts_the_password():
    path, env = secret_manifest("secret-bad.yaml", dbname="cli_no_such_db")
    for fmt in ("text", "json"):
        p = cs.run_cli("once", "-m", path, "--log-level", "debug", "--log-format", fmt, env=env)
        assert p.returncode == 1, (fmt, p.returncode, p.stderr[-2000:])
        out = p.stdout + p.stderr
        assert 'database "cli_no_such_db" does not exist' in out, out[-2000:]
        assert_no_secret(out, f"the {fmt} logs of a failed connection")
    errors = cs.query(state, "select coalesce(string_agg(error, ' '), '') from catalog_sync.runs")[0][0]
    assert "cli_no_such_db" in errors, errors
    assert_no_secret(errors, "catalog_sync.runs.error")


cs.main([test_help_of_every_command, test_usage_errors_exit_2_with_one_line, test_version,
         test_check_prints_the_plan_in_order, test_check_json_plan,
         test_wrong_type_names_position_and_field, test_unknown_key_suggests_the_known_one,
         test_missing_required_key, test_disabled_producer_names_both_passes,
         test_cycle_is_reported_with_the_chain, test_unset_environment_variable,
         test_file_secrets_errors_never_echo_the_value, test_missing_manifest_file,
         test_check_load_lists_every_plugin, test_check_load_refuses_undeclared_output,
         test_check_load_refuses_unknown_config_key, test_check_load_refuses_wrong_kind,
         test_once_with_dsn_file_and_env_keeps_secrets_out_of_text_logs,
         test_once_json_logs_parse_and_keep_secrets_out,
         test_failed_connection_error_redacts_the_password])
