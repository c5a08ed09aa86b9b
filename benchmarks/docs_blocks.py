"""Gas figures in the docs, generated from the JSON snapshots so that they cannot drift.

A doc quotes a snapshot in a block::

    <!-- snapshot:guarantees match="^approve" -->
    (a table of case and gas, generated)
    <!-- /snapshot -->

``match`` (optional) is a regular expression selecting the cases (``re.search``); the table lists
them in natural order (``runs of 8`` before ``runs of 16``). A benchmark's ``--write`` rewrites
the blocks of its snapshot (:func:`update`); ``tests/test_gas_snapshots.py`` fails when a block
differs from what the committed JSON gives (:func:`stale`); ``python benchmarks/docs_blocks.py``
regenerates every block from the committed JSON (after adding one; no EVM). Blocks live in
``docs/*.md`` and ``README.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
SNAPSHOTS = ROOT / "benchmarks" / "snapshots"
BLOCK = re.compile(r'^(?P<indent>[ \t]*)<!-- snapshot:(?P<name>[\w-]+)(?: match="(?P<match>[^"]*)")? -->\n'
                   r'(?P<body>.*?)(?P=indent)<!-- /snapshot -->', re.S | re.M)


def docs() -> list[Path]:
    return [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def _natural(case: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", case)]


def render(name: str, gas: dict[str, int], match: str | None, indent: str = "") -> str:
    """A block's body: the cases of the snapshot ``name`` that ``match`` selects, as a table (its lines
    indented like the block's markers, e.g. in a list item)."""
    selected = [c for c in sorted(gas, key=_natural) if re.search(match or "", c)]
    if not selected:
        raise ValueError(f'snapshot:{name} match="{match}" selects no case of {name}.json')
    rows = [f"| {c} | {gas[c]:,} |" for c in selected]
    table = [f"| case (`benchmarks/snapshots/{name}.json`) | gas |", "| --- | ---: |", *rows]
    return "\n" + "".join(f"{indent}{line}\n" for line in table) + "\n"


def _load(name: str) -> dict[str, int]:
    return json.loads((SNAPSHOTS / f"{name}.json").read_text())


def rewrite(text: str, only: str | None = None) -> str:
    """``text`` with its blocks (of the snapshot ``only``, or all) generated from the committed JSON."""
    def block(m: re.Match) -> str:
        if only is not None and m["name"] != only:
            return m[0]
        head = m[0][: m.start("body") - m.start()]
        return head + render(m["name"], _load(m["name"]), m["match"], m["indent"]) + m["indent"] + "<!-- /snapshot -->"

    return BLOCK.sub(block, text)


def update(name: str) -> list[Path]:
    """Regenerate the blocks quoting the snapshot ``name``; the docs changed."""
    changed = []
    for doc in docs():
        text = doc.read_text()
        new = rewrite(text, name)
        if new != text:
            doc.write_text(new)
            changed.append(doc)
    return changed


def stale() -> list[str]:
    """Every block (``doc: snapshot:name``) that differs from what its committed JSON gives."""
    out = []
    for doc in docs():
        for m in BLOCK.finditer(doc.read_text()):
            if m["body"] != render(m["name"], _load(m["name"]), m["match"], m["indent"]):
                out.append(f"{doc.relative_to(ROOT)}: snapshot:{m['name']}")
    return out


if __name__ == "__main__":  # regenerate every block from the committed JSON (after adding one): no EVM
    for path in docs():
        text = path.read_text()
        if (new := rewrite(text)) != text:
            path.write_text(new)
            print(f"rewrote the gas blocks of {path.relative_to(ROOT)}")
