"""`cmake --install` into a temporary prefix: the layout the issue promises,
a working pkg-config file, a third-party pass built with nothing but
`cc -shared $(pkg-config --cflags catalog-sync-pass)` and accepted by the
installed binary (`check --load`, then a real `once` run), and the installed
binary finding its own passes without a plugin_dir."""
import glob
import json
import os
import re
import shutil
import stat
import subprocess

import cslib as cs

if not cs.BUILD or not os.path.isfile(os.path.join(cs.BUILD, "cmake_install.cmake")):
    cs.skip(f"no CMake build tree in CS_BUILD_DIR={cs.BUILD!r}")
for tool in ("cc", "pkg-config", "cmake"):
    if not shutil.which(tool):
        cs.skip(f"{tool} is not installed")

state = cs.new_db("install_state")
src = cs.new_db("install_src")
cs.query(src, """create schema gold;
  create table gold.dim_customer (customer_id int primary key, name text, created_at timestamptz);
  insert into gold.dim_customer select g, 'n' || g, now() from generate_series(1, 10) g;
  create table gold.fact_sales (sale_id int primary key, customer_id int, amount numeric);
  insert into gold.fact_sales select g, g % 10 + 1, g from generate_series(1, 25) g;""")
wd = cs.Workdir("install")
prefix = cs.install_prefix()
BIN = os.path.join(prefix, "bin", "catalog-sync")
PASSES = os.path.join(prefix, "lib", "catalog-sync", "passes")
BUNDLED = ("discovery_postgres", "profile_postgres", "governance_tags")


def pc_dirs():
    return [d for d in glob.glob(os.path.join(prefix, "lib*", "pkgconfig")) +
            glob.glob(os.path.join(prefix, "lib", "*", "pkgconfig")) if os.path.isdir(d)]


def pkg_env():
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = ":".join(pc_dirs())
    return env


def installed(*args, **kw):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


def test_layout():
    st = os.stat(BIN)
    assert stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_IXUSR, f"{BIN} is not an executable file"
    for name in BUNDLED:
        so = os.path.join(PASSES, name + ".so")
        assert os.path.isfile(so), f"missing {so}; installed: {os.listdir(PASSES) if os.path.isdir(PASSES) else None}"
        with open(so, "rb") as f:
            assert f.read(4) == b"\x7fELF", f"{so} is not an ELF object"
    header = os.path.join(prefix, "include", "catalog_sync", "pass.h")
    assert os.path.isfile(header), header
    with open(header) as f:
        text = f.read()
    assert "cs_pass_entry" in text and "CS_ABI_MAJOR" in text, "pass.h looks wrong"
    pcs = [os.path.join(d, "catalog-sync-pass.pc") for d in pc_dirs()
           if os.path.isfile(os.path.join(d, "catalog-sync-pass.pc"))]
    assert len(pcs) == 1, f"catalog-sync-pass.pc not found (or twice) under {prefix}/lib*: {pcs}"


def test_installed_binary_runs_version():
    p = installed("version")
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"catalog-sync \d+\.\d+\.\d+\S* \(pass ABI 1\.\d+\)\n", p.stdout), repr(p.stdout)
    assert p.stdout == cs.run_cli("version").stdout, "installed and built binaries disagree"
    p = installed("check", "--help")
    assert p.returncode == 0 and "--load" in p.stdout, p.stdout


def test_pkg_config():
    env = pkg_env()
    p = subprocess.run(["pkg-config", "--cflags", "catalog-sync-pass"], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 0, p.stderr
    incs = [f[2:] for f in p.stdout.split() if f.startswith("-I")]
    want = os.path.realpath(os.path.join(prefix, "include"))
    assert any(os.path.realpath(i) == want for i in incs), f"no -I{want} in {p.stdout!r}"
    ver = subprocess.run(["pkg-config", "--modversion", "catalog-sync-pass"], capture_output=True,
                         text=True, env=env).stdout.strip()
    assert ver and ver in cs.run_cli("version").stdout, (ver, cs.run_cli("version").stdout)
    passdir = subprocess.run(["pkg-config", "--variable=passdir", "catalog-sync-pass"],
                             capture_output=True, text=True, env=env).stdout.strip()
    assert os.path.realpath(passdir) == os.path.realpath(PASSES), (passdir, PASSES)


HELLO_C = r"""
/* A third-party pass: tags each table with the number of its columns. */
#include <catalog_sync/pass.h>
#include <stdlib.h>

static const cs_aspect_decl consumes[] = {{"table", CS_ASPECT_REQUIRED}, {NULL, 0}};
static const cs_aspect_decl produces[] = {{"hello", 0}, {NULL, 0}};
static const cs_option_decl options[] = {
    {"greeting", CS_OPT_STRING, "\"hello\"", "word to write", 0},
    {NULL, 0, NULL, NULL, 0}};

struct st { const cs_host_api *host; const char *greeting; };

static int hello_init(const cs_host_api *host, cs_ctx *ctx, void **out)
{
    struct st *s = malloc(sizeof *s);
    if (!s)
        return CS_ERR_NOMEM;
    s->host = host;
    s->greeting = json_string_value(json_object_get(host->config(ctx), "greeting"));
    *out = s;
    return CS_OK;
}

static int hello_process(void *state, cs_ctx *ctx)
{
    struct st *s = state;
    json_t *table = s->host->aspect_get(ctx, "table");
    size_t ncols = json_array_size(json_object_get(table, "columns"));
    return s->host->aspect_put(ctx, "hello",
        json_pack("{s:s,s:i}", "greeting", s->greeting, "columns", (int)ncols));
}

static void hello_fini(void *state) { free(state); }

static const cs_pass_desc desc = {
    CS_PASS_HEADER, .name = "hello", .version = "7.7.7", .summary = "third-party example",
    .kind = CS_PASS_ENTITY, .consumes = consumes, .produces = produces, .options = options,
    .init = hello_init, .process = hello_process, .fini = hello_fini,
};

CS_PASS_EXPORT const cs_pass_desc *cs_pass_entry(void) { return &desc; }
"""

built = {}


def test_third_party_pass_builds_with_pkg_config():
    c = wd.file("hello.c")
    with open(c, "w") as f:
        f.write(HELLO_C)
    so = wd.file("hello.so")
    # Exactly the command the issue promises third parties.
    p = subprocess.run(f'cc -shared $(pkg-config --cflags catalog-sync-pass) -o "{so}" "{c}"',
                       shell=True, capture_output=True, text=True, env=pkg_env(), cwd=wd.path)
    assert p.returncode == 0, p.stderr
    assert os.path.isfile(so)
    syms = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True).stdout
    exported = sorted(l.split()[-1] for l in syms.splitlines() if " T " in l)
    assert exported == ["cs_pass_entry"], f"a pass should export only its entry: {exported}"
    built["so"] = so


def manifest(name, with_plugin_dir=True):
    passes = [
        {"name": "discovery", "plugin": "discovery_postgres", "kind": "source", "outputs": ["table"],
         "config": {"connection": "demo", "schemas": ["gold"]}},
        {"name": "governance", "plugin": "governance_tags", "kind": "entity",
         "inputs": ["table"], "outputs": ["governance"]},
        {"name": "hello", "plugin": "./hello.so", "kind": "entity", "inputs": ["table"],
         "outputs": ["hello"], "config": {"greeting": "bonjour"}},
    ]
    m = cs.manifest(state, src, passes)
    if with_plugin_dir:
        m["plugin_dir"] = PASSES
    else:
        del m["plugin_dir"]
    return cs.write_manifest(wd.file(name), m)


def load_lines(out):
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s+ok\s+(\S+)\s+(\S+) \(version", out, re.M)}


def test_installed_binary_loads_the_third_party_pass():
    assert "so" in built, "the pass was not built"
    path = manifest("m.json")
    p = installed("check", "-m", path, "--load")
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^\s+ok\s+hello\s+\S+ \(version 7\.7\.7, ABI 1\.\d+\)$", p.stdout, re.M), p.stdout
    ok = load_lines(p.stdout)
    assert os.path.realpath(ok["hello"]) == os.path.realpath(built["so"]), ok
    assert ok.get("discovery") == os.path.join(PASSES, "discovery_postgres.so"), ok
    doc = json.loads(installed("check", "-m", path, "--load", "--json").stdout)
    hello = [r for r in doc["plugins"] if r["pass"] == "hello"][0]
    assert hello["ok"] and [o["name"] for o in hello["options"]] == ["greeting"], hello


def test_installed_binary_runs_the_third_party_pass():
    path = manifest("m.json")
    report = wd.file("report.json")
    p = installed("once", "-m", path, "--report", report)
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.load(open(report))
    db = cs.dsn_db(src)
    ents = doc["entities"]
    assert sorted(ents) == [f"postgres.{db}.gold.dim_customer", f"postgres.{db}.gold.fact_sales"], list(ents)
    assert ents[f"postgres.{db}.gold.dim_customer"]["aspects"]["hello"] == \
        {"greeting": "bonjour", "columns": 3}, ents[f"postgres.{db}.gold.dim_customer"]["aspects"]
    assert "gold_layer" in json.dumps(ents[f"postgres.{db}.gold.fact_sales"]["aspects"]["governance"])


def test_installed_binary_finds_its_own_passes():
    # No plugin_dir: the default is the install directory of this binary
    # (docs/manifest.md), wherever the prefix is.
    path = manifest("default-dir.json", with_plugin_dir=False)
    p = installed("check", "-m", path, "--load")
    ok = load_lines(p.stdout)
    assert ok.get("discovery") and os.path.realpath(ok["discovery"]) == \
        os.path.realpath(os.path.join(PASSES, "discovery_postgres.so")), p.stdout
    assert p.returncode == 0, p.stdout


cs.main([test_layout, test_installed_binary_runs_version, test_pkg_config,
         test_third_party_pass_builds_with_pkg_config, test_installed_binary_loads_the_third_party_pass,
         test_installed_binary_runs_the_third_party_pass, test_installed_binary_finds_its_own_passes])
