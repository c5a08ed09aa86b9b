"""Gas snapshots a machine reads: ``benchmarks/snapshots/<name>.json``, written or checked by each benchmark.

A snapshot is a flat JSON object, case name -> gas (an integer), keys sorted, one case a line, so
that a change's diff shows what it costs (as Uniswap v4 commits ``snapshots/``). Only gas goes
in, never wall time: gas on the embedded EVM (and on anvil) is deterministic for the benchmarks'
fixed keys, clocks and data, so two runs write the same bytes.

Each benchmark builds its cases from the measurement that also gives its markdown snapshot (for
people) and calls :func:`finish`:

- ``--write``: writes the markdown (the benchmark's callback), the JSON, and the generated gas
  blocks of the docs that quote this snapshot (``docs_blocks.py``);
- ``--check``: compares with the committed JSON and prints a table (case, committed, now, delta,
  %) of every difference, new case and missing case; exits 1 if there is any.

A benchmark run on a reduced plan (a subset of its cases, e.g. ``simulate.py --runs ...`` in CI)
passes ``partial=True``: cases it did not measure are neither checked nor, on ``--write``, dropped.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

DIR = Path(__file__).parent / "snapshots"


def path(name: str) -> Path:
    return DIR / f"{name}.json"


def cases(pairs: Iterable[tuple[str, int | float]]) -> dict[str, int]:
    """A snapshot from (case, gas) pairs: gas rounded to an integer; a case named twice is a bug."""
    out: dict[str, int] = {}
    for case, gas in pairs:
        if case in out:
            raise ValueError(f"case {case!r} measured twice")
        out[case] = round(gas)
    return out


def dumps(gas: dict[str, int]) -> str:
    """The canonical text of a snapshot: sorted keys, one a line, a final newline."""
    return json.dumps(dict(sorted(gas.items())), indent=2, ensure_ascii=False) + "\n"


def load(name: str) -> dict[str, int]:
    """The committed snapshot (empty if there is none)."""
    p = path(name)
    return json.loads(p.read_text()) if p.exists() else {}


def write(name: str, gas: dict[str, int], *, partial: bool = False) -> Path:
    """Write the snapshot; ``partial``: keep the committed cases this run did not measure."""
    DIR.mkdir(exist_ok=True)
    path(name).write_text(dumps({**load(name), **gas} if partial else gas))
    return path(name)


def diff(committed: dict[str, int], now: dict[str, int], *, partial: bool = False) -> list[tuple]:
    """(case, committed or None, now or None) for every case that differs, is new or is missing."""
    names = sorted(now.keys() | (set() if partial else committed.keys()))
    return [(c, committed.get(c), now.get(c)) for c in names if committed.get(c) != now.get(c)]


def diff_table(name: str, rows: list[tuple]) -> Table:
    t = Table(title=f"gas snapshot {path(name).relative_to(DIR.parent.parent)}: {len(rows)} case(s) differ",
              title_justify="left")
    for col in ("case", "committed", "now", "delta", "%"):
        t.add_column(col, justify="left" if col == "case" else "right")
    for case, old, new in rows:
        if old is None or new is None:
            t.add_row(case, "-" if old is None else f"{old:,}", "-" if new is None else f"{new:,}",
                      "new case" if old is None else "missing", "")
        else:
            t.add_row(case, f"{old:,}", f"{new:,}", f"{new - old:+,}", f"{(new - old) / old:+.2%}" if old else "")
    return t


def check(name: str, gas: dict[str, int], *, partial: bool = False, console: Console | None = None) -> int:
    """Compare with the committed snapshot: 0 if equal (on the cases measured when ``partial``), else 1."""
    console = console or Console(width=200)
    if not path(name).exists():
        console.print(f"no committed snapshot {path(name)}: run the benchmark with --write")
        return 1
    rows = diff(load(name), gas, partial=partial)
    if not rows:
        console.print(f"gas snapshot {name}: {len(gas)} case(s) as committed")
        return 0
    console.print(diff_table(name, rows))
    console.print(f"to accept these numbers: benchmarks/{name}.py --write (or make snapshots), and commit the diff")
    return 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true",
                      help="write the snapshots (markdown, JSON) and the docs' generated gas blocks")
    mode.add_argument("--check", action="store_true",
                      help="compare the gas measured with the committed JSON snapshot; exit 1 on any difference")


def finish(args: argparse.Namespace, name: str, gas: dict[str, int], write_markdown: Callable[[], object], *,
           partial: bool = False) -> int:
    """What a benchmark does after measuring: ``--check``, ``--write``, or nothing; its exit status."""
    if args.check:
        return check(name, gas, partial=partial)
    if args.write:
        import docs_blocks  # beside this file

        write_markdown()
        print(f"wrote {write(name, gas, partial=partial)}")
        for doc in docs_blocks.update(name):
            print(f"rewrote the gas blocks of {doc}")
    return 0
