"""The typed JavaScript client (js/, the npm package @gridshare/client), without a chain: its generated
files equal a fresh generation, its declarations type-check strictly with the examples and the type
tests, and they declare exactly what the modules export (names, arities, constants' values)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from gridshare.chain import js_client
from gridshare.chain.compiler import DEPLOYABLE, enums
from gridshare.errors import GridshareError

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
MODULES = {"index": "@gridshare/client", "contracts": "@gridshare/client/contracts",
           "readings": "@gridshare/client/readings", "orders": "@gridshare/client/orders"}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


def _tsc() -> Path:
    if not TSC.exists():
        pytest.skip("typescript is not installed: run `make setup`")
    return TSC


def test_generated_files_equal_a_fresh_generation():
    for name, text in js_client.generate().items():
        assert (JS / name).read_text() == text, f"js/{name} is stale: run `make abi`"


def test_the_generated_module_holds_the_published_abis_and_the_enums():
    """Imported by its package name, as a dApp would (no ethers needed for this entry point)."""
    script = ("const m = await import('@gridshare/client/contracts');"
              "console.log(JSON.stringify({abis: m.abis, enums: m.enums, contractNames: m.contractNames}));")
    proc = subprocess.run([_node(), "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["contractNames"] == list(DEPLOYABLE)
    assert out["abis"] == {n: json.loads((ROOT / "abi" / f"{n}.json").read_text()) for n in DEPLOYABLE}
    assert out["enums"] == enums()


def test_the_manifest_type_follows_the_schema():
    schema = json.loads((ROOT / "deployments" / "manifest.schema.json").read_text())
    abis = {"MeterRegistry": [{"type": "fallback", "stateMutability": "payable"}]}

    def manifest_type(s: dict) -> str:
        text = js_client.render(abis, {"Side": {"Bid": 0, "Ask": 1}}, s)["contracts.d.mts"]
        return text[text.index("export interface Manifest"):]

    base = manifest_type(schema)
    assert "  chainId: number;\n" in base and "    TestEuro?: ManifestContract;\n" in base
    assert '    allocationKey: "dynamic-default" | "supplied";\n' in base

    changed = copy.deepcopy(schema)
    changed["properties"]["settings"]["properties"]["market"]["properties"]["tickWh"] = {"type": "integer"}
    changed["properties"]["settings"]["properties"]["market"]["required"].append("tickWh")
    changed["properties"]["contracts"]["required"].append("TestEuro")
    text = manifest_type(changed)
    assert "      tickWh: number;\n" in text and "    TestEuro: ManifestContract;\n" in text

    unknown = copy.deepcopy(schema)
    unknown["properties"]["name"] = {"oneOf": [{"type": "string"}, {"type": "null"}]}
    with pytest.raises(GridshareError, match=r"oneOf at /name is not translated"):
        manifest_type(unknown)


def test_declarations_examples_and_type_tests_check_strictly():
    """`tsc --strict` over js/*.d.mts, js/examples/*.ts and js/test/types.ts (whose @ts-expect-error
    lines fail the check if a declaration turns loose)."""
    listed = subprocess.run([str(_tsc()), "-p", "js", "--listFilesOnly"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    checked = {Path(line).resolve() for line in listed.stdout.splitlines() if line.strip()}
    ours = {*JS.glob("*.d.mts"), *JS.glob("examples/*.ts"), JS / "test" / "types.ts"}
    assert {p.resolve() for p in ours} <= checked, "js/tsconfig.json no longer includes all of them"
    assert {p.name for p in JS.glob("examples/*.ts")} >= {"attach.ts", "gateway.ts"}

    proc = subprocess.run([str(_tsc()), "-p", "js", "--noEmit", "--strict"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _runtime_exports() -> dict[str, dict[str, dict]]:
    """module -> export -> {"function": its length} or {"value": its JSON}, as node imports them."""
    script = (
        "const out = {};"
        "for (const [key, spec] of Object.entries(JSON.parse(process.argv[1]))) {"
        "  out[key] = Object.fromEntries(Object.entries(await import(spec)).map(([name, v]) =>"
        "    [name, typeof v === 'function' ? {function: v.length} : {value: v}]));"
        "}"
        "console.log(JSON.stringify(out));"
    )
    proc = subprocess.run([_node(), "--input-type=module", "-e", script, json.dumps(MODULES)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_declarations_declare_exactly_what_the_modules_export(tmp_path):
    """For each module: the same value exports, each function with as many parameters, each constant
    of exactly the type `as const` gives its value (literal, readonly aside)."""
    runtime = _runtime_exports()
    assert set(runtime["index"]) == set().union(*(runtime[m] for m in ("contracts", "readings", "orders")))
    lines = ["type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;",
             "type Writable<T> = { -readonly [K in keyof T]: Writable<T[K]> };",
             "declare function expect<T extends true>(): void;"]
    for module, exports in runtime.items():
        names = " | ".join(json.dumps(n) for n in sorted(exports))
        lines += [f'import * as {module} from {json.dumps(str(JS / (module + ".mjs")))};',
                  f"type {module}Runtime = {names};",
                  f'const {module}Undeclared: [Exclude<{module}Runtime, keyof typeof {module}>] extends [never] ? "none" '
                  f': Exclude<{module}Runtime, keyof typeof {module}> = "none";',
                  f'const {module}NotExported: [Exclude<keyof typeof {module}, {module}Runtime>] extends [never] ? "none" '
                  f': Exclude<keyof typeof {module}, {module}Runtime> = "none";']
        if module == "index":  # re-exports (`export {...} from`, in both files): checked in their modules
            continue
        for name, what in sorted(exports.items()):
            if "function" in what:
                lines.append(f'expect<Equal<Parameters<typeof {module}.{name}>["length"], {what["function"]}>>();'
                             f"  // {module}.{name}")
            else:
                lines.append(f"const {module}_{name} = {json.dumps(what['value'])} as const;")
                value = what["value"]
                # an object of many ABIs is compared key by key: as one type it is too complex for tsc (TS2859)
                parts = [f"[{json.dumps(k)}]" for k in value] if isinstance(value, dict) and len(value) > 8 else [""]
                if parts != [""]:
                    lines.append(f"expect<Equal<keyof typeof {module}.{name}, keyof typeof {module}_{name}>>();"
                                 f"  // {module}.{name}")
                for part in parts:
                    lines.append(f"expect<Equal<Writable<typeof {module}.{name}{part}>, "
                                 f"Writable<typeof {module}_{name}{part}>>>();  // {module}.{name}{part}")
    snippet = tmp_path / "declarations.mts"
    snippet.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(_tsc()), "--noEmit", "--strict", "--module", "nodenext", "--target", "es2022",
                           "--lib", "es2022,dom", "--types", "node", str(snippet)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        failing = sorted({int(n) for n in re.findall(r"declarations\.mts\((\d+),", proc.stdout)})
        where = "\n".join(lines[n - 1][-200:] for n in failing)
        pytest.fail(f"js/*.d.mts disagree with js/*.mjs:\n{proc.stdout[-3000:]}\nat:\n{where}")


def test_the_package_json_exports_what_exists():
    package = json.loads((JS / "package.json").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (package["name"], package["version"], package["type"]) == ("@gridshare/client", version, "module")
    assert package["exports"]["."] == {"types": package["types"], "default": package["main"]}
    for subpath, target in package["exports"].items():
        if subpath == "./package.json":
            continue
        assert set(MODULES.values()) >= {"@gridshare/client" + subpath.removeprefix(".")}, subpath
        code, types = Path(target["default"]).name, Path(target["types"]).name
        assert types == code.removesuffix(".mjs") + ".d.mts", subpath  # TypeScript pairs x.mjs with x.d.mts
        assert (JS / code).exists() and (JS / types).exists(), subpath
        assert {code, types} <= set(package["files"]), subpath
    for name in package["files"]:
        assert (JS / name).exists(), name


def test_compile_write_abi_writes_the_generated_files(tmp_path, monkeypatch):
    """`gridshare compile --write-abi` (make abi) writes abi/ and then the JS files from it: in a copy
    of the repository's inputs with stale JS files, they come out as committed (the compile itself is
    the cached one: this is about what the command writes)."""
    from gridshare.chain import compiler
    from gridshare.cli.app import main

    artifacts = compiler.compile_contracts()
    for folder in ("contracts/interfaces", "deployments"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "js").mkdir()
    for name in js_client.GENERATED:
        (tmp_path / "js" / name).write_text("// stale\n")
    monkeypatch.setenv("GRIDSHARE_ROOT", str(tmp_path))
    monkeypatch.setattr(compiler, "compile_contracts", lambda **_: artifacts)
    assert main(["compile", "--write-abi"]) == 0
    for name in DEPLOYABLE:
        assert (tmp_path / "abi" / f"{name}.json").read_text() == (ROOT / "abi" / f"{name}.json").read_text()
    for name in js_client.GENERATED:
        assert (tmp_path / "js" / name).read_text() == (JS / name).read_text(), name
