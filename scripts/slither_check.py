"""Run Slither on contracts/ and compare its findings with the committed triage file.

`make slither` runs it (CI too, through `make test`). Slither lives in its own pinned environment,
`.venv-slither` (requirements-slither.lock, from tools/slither.in); this script needs only the
standard library, so any Python 3.11 runs it.

How it compiles: the project's own way. Every file under contracts/ goes into one solc standard-JSON
input with the SETTINGS of gridshare/chain/compiler.py (evmVersion, optimizer runs, remappings; read
from that file, not copied), plus the outputs Slither needs (AST, source maps). Slither compiles it
with the project's compiler, the npm-solc wrapper gridshare/toolchain/solc; nothing is downloaded.
Findings only in node_modules/ (OpenZeppelin) or contracts/test/ are left out (--filter-paths).

What it checks: every finding of impact Medium or High (`--impact` to change) must be triaged in
docs/slither-triage.md, where each one is named by a stable id that survives moved lines:

    `detector` `Contract.function` `detail`

`detail` tells findings of one detector in one function apart (the expressions involved, the state
variables written after a call, the events emitted...) and may be left out to cover all of them.
A finding not in the triage file fails the check, one line each; a triage id that matches nothing
any more is reported as stale without failing. Slither's inline `slither-disable` comments are not
honoured (--show-ignored-findings): the triage file is the one place that accepts a finding.

    python scripts/slither_check.py                # check (exit 1 on a new finding)
    python scripts/slither_check.py --list         # every current finding, as triage entries
    python scripts/slither_check.py --list --new   # only the ones the triage file lacks

Slither's JSON results are cached in build/slither/, keyed by the sources, the settings, the
compiler, the wrapper and the lock file (`--no-cache` to run it anyway).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "docs" / "slither-triage.md"
SLITHER = ROOT / ".venv-slither" / "bin" / "slither"
LOCK = ROOT / "requirements-slither.lock"
WRAPPER = ROOT / "gridshare" / "toolchain" / "solc"
BUILD = ROOT / "build" / "slither"
FILTER_PATHS = "node_modules/|contracts/test/"
IMPACTS = ["Optimization", "Informational", "Low", "Medium", "High"]
# the outputs crytic-compile reads from a standard-JSON compilation (its own default selection)
OUTPUT_SELECTION = {
    "*": {
        "*": ["abi", "metadata", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode"],
        "": ["ast"],
    }
}
DETAIL_MAX = 120  # characters of one expression in an id


class CheckError(Exception):
    pass


# ---------------------------------------------------------------------------------------- slither


def compiler_settings() -> dict:
    """SETTINGS of gridshare/chain/compiler.py, read without importing it (it needs web3 and solcx)."""
    path = ROOT / "gridshare" / "chain" / "compiler.py"
    for node in ast.parse(path.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and target.id == "SETTINGS" and node.value is not None:
            return ast.literal_eval(node.value)
    raise CheckError(f"no SETTINGS literal in {path.relative_to(ROOT)}")


def standard_json_input() -> dict:
    files = sorted((ROOT / "contracts").rglob("*.sol"))
    if not files:
        raise CheckError("no Solidity sources under contracts/")
    settings = dict(compiler_settings(), outputSelection=OUTPUT_SELECTION)
    return {
        "language": "Solidity",
        "sources": {f.relative_to(ROOT).as_posix(): {"content": f.read_text()} for f in files},
        "settings": settings,
    }


def slither_version() -> str:
    match = re.search(r"^slither-analyzer==(\S+)", LOCK.read_text(), re.M) if LOCK.exists() else None
    return match.group(1) if match else "?"


def run_slither(use_cache: bool) -> tuple[list[dict], bool]:
    """Slither's detector results (its JSON `results.detectors`), and whether they came from the cache."""
    if not SLITHER.exists():
        raise CheckError(f"{SLITHER.relative_to(ROOT)} not found: run `make slither` (it installs it)")
    solc_package = ROOT / "node_modules" / "solc" / "package.json"
    if not solc_package.exists():
        raise CheckError("node_modules/solc not installed: run `make setup`")
    BUILD.mkdir(parents=True, exist_ok=True)
    source = json.dumps(standard_json_input(), sort_keys=True)
    (BUILD / "input.json").write_text(source)
    args = [
        str(BUILD / "input.json"),
        "--compile-force-framework", "solc-json",
        "--solc", str(WRAPPER),
        "--filter-paths", FILTER_PATHS,
        "--show-ignored-findings",
        "--fail-none",
        "--disable-color",
    ]
    key = hashlib.sha256(
        "\0".join([source, " ".join(args[1:]), solc_package.read_text(), WRAPPER.read_text(), LOCK.read_text()]).encode()
    ).hexdigest()
    cache = BUILD / "results.json"
    if use_cache and cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return cached["detectors"], True

    env = dict(os.environ)
    # solc-select, a dependency of crytic-compile, puts a `solc` shim in .venv-slither/bin: keep it off
    # PATH, where the wrapper looks for a native solc
    tool_bin = str(SLITHER.parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != tool_bin)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "slither.json"
        proc = subprocess.run(
            [str(SLITHER), *args, "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        result = json.loads(out.read_text()) if out.exists() else None
    if proc.returncode != 0 or not result or not result.get("success"):
        error = ((result or {}).get("error") or "").strip()
        log = error or "\n".join(proc.stderr.strip().splitlines()[-30:])
        raise CheckError(f"slither failed (exit {proc.returncode}):\n{log}")
    detectors = result.get("results", {}).get("detectors", [])
    cache.write_text(json.dumps({"key": key, "detectors": detectors}))
    return detectors, False


# --------------------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    detector: str
    where: str
    detail: str
    impact: str
    confidence: str
    location: str  # file#lines, for people only: never part of the id
    summary: str

    @property
    def id(self) -> str:
        return format_id(self.detector, self.where, self.detail or None)


def format_id(detector: str, where: str, detail: str | None) -> str:
    return f"`{detector}` `{where}`" + (f" `{detail}`" if detail else "")


def _squash(text: str) -> str:
    text = " ".join(text.replace("`", "'").split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 3] + "..."


def _qualified(element: dict) -> str:
    """Contract, Contract.function, Contract.function.variable...: the element's name and its parents'
    (a node, an expression, stands for the function it is in)."""
    names = []
    e: dict | None = element
    while e:
        if e.get("type") != "node":
            names.append(e.get("name", "?"))
        e = e.get("type_specific_fields", {}).get("parent")
    return ".".join(reversed(names))


def to_finding(result: dict) -> Finding:
    elements = result.get("elements") or []
    if not elements:
        return Finding(result["check"], "(no element)", _squash(result.get("description", "")),
                       result["impact"], result["confidence"], "", _squash(result.get("description", "")))
    primary, rest = elements[0], elements[1:]
    details: list[str] = []
    if primary.get("type") == "node":
        details.append(_squash(primary.get("name", "")))
    grouped: dict[str, list[str]] = {}
    for e in rest:
        kind = (e.get("additional_fields") or {}).get("underlying_type")
        if kind in ("external_calls", "external_calls_sending_eth"):
            continue  # the calls behind a reentrancy: its function and what it writes name it
        if kind == "variables_written":
            grouped.setdefault("writes", []).append(e["additional_fields"].get("variable_name", "?"))
        elif kind == "event":
            grouped.setdefault("emits", []).append(e.get("name", "?").split("(")[0])
        elif e.get("type") == "node":
            details.append(_squash(e.get("name", "")))
        else:
            details.append(_qualified(e))
    for verb, names in grouped.items():
        details.append(f"{verb} " + ",".join(sorted(set(names))))
    details = list(dict.fromkeys(details))  # dedupe, keep order
    mapping = primary.get("source_mapping") or {}
    lines = mapping.get("lines") or []
    location = mapping.get("filename_relative", "?") + (f"#L{lines[0]}" if lines else "")
    summary = _squash(re.sub(r"\s*\([^()]*\.sol#[\d-]+\)", "", result.get("description", "").splitlines()[0]))
    return Finding(result["check"], _qualified(primary), "; ".join(details), result["impact"],
                   result["confidence"], location, summary)


def findings_at_least(detectors: list[dict], impact: str) -> list[Finding]:
    floor = IMPACTS.index(impact)
    found = {to_finding(r) for r in detectors if r.get("impact") in IMPACTS and IMPACTS.index(r["impact"]) >= floor}
    return sorted(found, key=lambda f: (-IMPACTS.index(f.impact), f.detector, f.where, f.detail))


# ----------------------------------------------------------------------------------------- triage

ID_LINE = re.compile(r"^- `([^`]+)` `([^`]+)`(?: `([^`]+)`)?\s*$")


@dataclass
class Entry:
    detector: str
    where: str
    detail: str | None  # None: every finding of the detector at `where`
    line: int
    section: str

    def matches(self, f: Finding) -> bool:
        return (self.detector, self.where) == (f.detector, f.where) and self.detail in (None, f.detail)


def read_triage(path: Path) -> tuple[list[Entry], list[str]]:
    """The triage entries, and the problems of the file (a section with ids and no explanation)."""
    if not path.exists():
        return [], []
    entries: list[Entry] = []
    problems: list[str] = []
    section, section_line, ids, prose = "", 0, 0, []

    def close() -> None:
        text = " ".join(prose).strip()
        if ids and not text:
            problems.append(f"{path.name}:{section_line}: section '{section}' explains nothing")
        elif ids and "TODO" in text:
            problems.append(f"{path.name}:{section_line}: section '{section}' still says TODO")

    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.rstrip()
        if line.startswith("#"):
            close()
            section, section_line, ids, prose = line.lstrip("#").strip(), n, 0, []
            continue
        match = ID_LINE.match(line)
        if match:
            entries.append(Entry(match[1], match[2], match[3], n, section))
            ids += 1
        elif line.strip() and not line.startswith("<!--"):
            prose.append(line)
    close()
    return entries, problems


def render_entries(findings: list[Finding]) -> str:
    """Findings as triage sections, one per detector and contract, with a TODO for the explanation
    (the check refuses a section that still says TODO)."""
    out = []
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.detector, f.where.split(".")[0]), []).append(f)
    for (detector, contract), group in groups.items():
        out.append(f"### {detector} in {contract} ({group[0].impact})\n")
        out.extend(f"- {f.id}" for f in group)
        out.append("")
        out.extend(dict.fromkeys(f"<!-- {f.location}: {f.summary} -->" for f in group))
        out.append("\nTODO: why it is safe, or how it was fixed.\n")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impact", default="medium", choices=[i.lower() for i in IMPACTS],
                        help="lowest impact that must be triaged (default: medium)")
    parser.add_argument("--triage", type=Path, default=TRIAGE, help="the triage file (default: docs/slither-triage.md)")
    parser.add_argument("--list", action="store_true", help="print the current findings as triage entries")
    parser.add_argument("--new", action="store_true", help="with --list: only the findings not triaged")
    parser.add_argument("--no-cache", action="store_true", help="run slither even if its cached results are current")
    args = parser.parse_args(argv)
    impact = args.impact.capitalize()
    started = time.monotonic()
    try:
        detectors, cached = run_slither(use_cache=not args.no_cache)
    except CheckError as exc:
        print(f"slither_check: {exc}", file=sys.stderr)
        return 2
    findings = findings_at_least(detectors, impact)
    every = findings_at_least(detectors, IMPACTS[0])  # an entry is stale only if it matches none
    entries, problems = read_triage(args.triage)
    triaged = [f for f in findings if any(e.matches(f) for e in entries)]
    new = [f for f in findings if f not in triaged]

    if args.list:
        print(render_entries(new if args.new else findings), end="")
        return 0

    try:
        shown = args.triage.resolve().relative_to(ROOT)
    except ValueError:
        shown = args.triage
    for f in new:
        print(f"slither: new {f.impact} finding {f.id} at {f.location}: {f.summary}")
    for e in entries:
        if not any(e.matches(f) for f in every):
            print(f"slither: stale triage entry {shown}:{e.line} {format_id(e.detector, e.where, e.detail)} "
                  "matches no finding any more (remove it)")
    for p in problems:
        print(f"slither: {p}")
    seconds = time.monotonic() - started
    print(f"slither {slither_version()}: {len(findings)} finding(s) of impact {impact} or higher, "
          f"{len(triaged)} triaged in {shown}, {len(new)} new"
          f" ({'cached results' if cached else f'{seconds:.0f} s'})")
    if new or problems:
        print(f"slither: fix them, or explain them in {shown} "
              "(`python scripts/slither_check.py --list --new` prints their entries)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
