"""The committed gas snapshots are well formed, agree with their markdown, and the docs quote them exactly.

Fast (no EVM): measuring again and comparing is each benchmark's ``--check`` (``make check-snapshots``;
``make test`` runs the cheap ones). Here: every ``benchmarks/snapshots/*.json`` is a flat, sorted
mapping case -> gas integer in its canonical text; every gas number in it shows in the markdown
snapshot written from the same measurement; every generated gas block of the docs
(``<!-- snapshot:NAME -->``, ``benchmarks/docs_blocks.py``) equals what the committed JSON gives.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
GAS_BENCHMARKS = {"readings", "guarantees", "self_consumption", "self_consumption_month", "market", "solidarity",
                  "treasury", "simulate"}


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


snapshot = _module("snapshot")
docs_blocks = _module("docs_blocks")
JSONS = sorted(snapshot.DIR.glob("*.json"))


def test_every_gas_benchmark_has_a_json_snapshot():
    assert {p.stem for p in JSONS} == GAS_BENCHMARKS


@pytest.mark.parametrize("path", JSONS, ids=lambda p: p.name)
def test_json_snapshot_is_flat_sorted_and_canonical(path: Path):
    text = path.read_text()
    data = json.loads(text)
    assert isinstance(data, dict) and data
    bad = {k: v for k, v in data.items() if type(v) is not int or v < 0}
    assert not bad, f"not a gas integer: {bad}"
    assert list(data) == sorted(data), "keys not sorted"
    assert text == snapshot.dumps(data), "not the canonical text (benchmarks/snapshot.py dumps)"


@pytest.mark.parametrize("path", JSONS, ids=lambda p: p.name)
def test_markdown_snapshot_shows_the_same_gas(path: Path):
    """Both files come from one measurement: a hand edit of either, or one written alone, shows here."""
    shown = {int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\d|\d", path.with_suffix(".md").read_text())}
    missing = {case: gas for case, gas in json.loads(path.read_text()).items() if gas not in shown}
    assert not missing, f"gas in {path.name} but not in {path.with_suffix('.md').name}: {missing}"


def test_docs_gas_blocks_equal_the_committed_snapshots():
    stale = docs_blocks.stale()
    assert not stale, (f"gas blocks differing from the JSON snapshots: {stale}; regenerate them with "
                       ".venv/bin/python benchmarks/docs_blocks.py (or the benchmark's --write)")


def test_design_doc_quotes_the_snapshots_in_blocks():
    design = (BENCHMARKS.parent / "docs" / "design.md").read_text()
    quoted = {m["name"] for m in docs_blocks.BLOCK.finditer(design)}
    assert {"self_consumption", "guarantees"} <= quoted


def test_a_block_is_rendered_from_the_json():
    text = "a\n<!-- snapshot:x match=\"b$\" -->\nold\n<!-- /snapshot -->\nz\n"
    gas = {"runs of 16: b": 2_000, "runs of 8: b": 1_500, "runs of 8: c": 1}
    body = docs_blocks.render("x", gas, docs_blocks.BLOCK.search(text)["match"])
    assert body.splitlines()[3:5] == ["| runs of 8: b | 1,500 |", "| runs of 16: b | 2,000 |"]
    with pytest.raises(ValueError, match="selects no case"):
        docs_blocks.render("x", gas, "nothing")


def test_check_reports_changed_new_and_missing_cases():
    committed = {"a": 100, "b": 200, "gone": 5}
    now = {"a": 100, "b": 210, "new": 7}
    assert snapshot.diff(committed, now) == [("b", 200, 210), ("gone", 5, None), ("new", None, 7)]
    assert snapshot.diff(committed, now, partial=True) == [("b", 200, 210), ("new", None, 7)]
    assert snapshot.diff(committed, dict(committed)) == []
    assert snapshot.cases([("x", 1.5), ("y", 2)]) == {"x": 2, "y": 2}
    with pytest.raises(ValueError, match="twice"):
        snapshot.cases([("x", 1), ("x", 2)])
