"""Wall time and gas of `gridshare simulate`: communities of 10, 50 and 100 households, 1 and 7 days.

Run: ``.venv/bin/python benchmarks/simulate.py [--households 10,50] [--days 1,7] [--network embedded,anvil]
[--market-intervals 4] [--write | --check]``. Each run is the packaged default scenario (Lyon, June, priority
key, the market in batches: every interval where a trade is possible, so ``--market-intervals`` does not
change it) with the household count and days replaced (rooftops: one household in five),
on a fresh chain (anvil: a throw-away node, no state file) whose clock starts at ``CLOCK``, with the
community salt ``SALT`` (meter ids and keys derive from it): the period, the calldata and so the gas
are the same on every run. Wall time is indicative (it depends on the machine).

``--write`` refreshes the rows it ran in ``benchmarks/snapshots/simulate.md`` and their gas in
``simulate.json``, keeping the others; ``--check`` compares the gas of the runs it made with
``simulate.json`` (``benchmarks/snapshot.py``). Wall times are never compared.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from gridshare.chain.network import connect, start_anvil
from gridshare.simulate.scenario import DEFAULT_SCENARIO, load_scenario
from gridshare.simulate.simulation import simulate

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "simulate.md"
PHASES = ("signing", "verify and share (relaying)", "reading back and checking", "market: orders", "market: batches",
          "market: closing and claims", "guarantees of origin", "reports: plots")
MARKET_INTERVALS = 4  # traded per day, in the snapshots
CLOCK = 2_000_000_000 // 86_400 * 86_400 + 1  # 2033-05-18 00:00:01 UTC: every chain starts here
SALT = keccak(text="bench-simulate")  # the community salt of every run (simulate draws a random one)


def scenario_for(households: int, days: int):
    base = load_scenario(DEFAULT_SCENARIO)
    h = base.households
    rooftop = dataclasses.replace(h.rooftop, count=households // 5) if h.rooftop else None
    return dataclasses.replace(
        base, name=f"{households} households, {days} day(s)",
        period=dataclasses.replace(base.period, days=days),
        households=dataclasses.replace(h, count=households, energy_poor=max(1, households // 10), rooftop=rooftop),
        plant=dataclasses.replace(base.plant, kwp=round(36 * households / 50, 1)) if base.plant else None)


def run(network: str, households: int, days: int, market_intervals: int) -> dict:
    scenario = scenario_for(households, days)
    chain = start_anvil() if network == "anvil" else connect("embedded")
    chain.travel(CLOCK)
    t0 = time.perf_counter()
    try:
        with (tempfile.TemporaryDirectory() as folder,
              mock.patch.object(sys.modules[simulate.__module__], "new_community_salt", lambda: SALT)):
            result = simulate(scenario, chain, folder, market_intervals=market_intervals)
    finally:
        chain.close()
    wall = time.perf_counter() - t0
    gas = {g["operation"]: g for g in result.gas}
    total = sum(g["total_gas"] for g in result.gas if g["operation"] != "deploy")
    share = gas["verify and share (submitAndAllocate)"]
    return {"network": network, "households": households, "days": days, "intervals": result.intervals,
            "wall_s": wall, "transactions": sum(g["transactions"] for g in result.gas),
            "gas_per_interval": total // result.intervals, "share_gas_per_interval": share["gas_per_interval"],
            "share_gas_per_reading": share["total_gas"] // (result.intervals * (households + 1)),
            "trades": len(result.trades), "phases": {p: result.timings.get(p, 0.0) for p in PHASES}}


def table(rows: list[dict]) -> Table:
    t = Table(title="gridshare simulate: wall time and gas", title_justify="left")
    for col in ("network", "households", "days", "intervals", "wall s", "transactions", "gas / interval (all)",
                "verify+share gas / interval", "verify+share gas / reading", "trades", *PHASES):
        t.add_column(col, justify="left" if col == "network" else "right")
    for r in rows:
        t.add_row(r["network"], str(r["households"]), str(r["days"]), str(r["intervals"]), f"{r['wall_s']:.1f}",
                  f"{r['transactions']:,}", f"{r['gas_per_interval']:,}", f"{r['share_gas_per_interval']:,}",
                  f"{r['share_gas_per_reading']:,}", str(r["trades"]), *(f"{v:.1f}" for v in r["phases"].values()))
    return t


HEAD = ["network", "households", "days", "intervals", "wall s", "transactions", "gas / interval (all)",
        "verify+share gas / interval", "verify+share gas / reading", "trades", *(f"{p} s" for p in PHASES), "commit"]


def markdown_row(r: dict, commit: str) -> str:
    cells = [r["network"], r["households"], r["days"], r["intervals"], f"{r['wall_s']:.1f}",
             f"{r['transactions']:,}", f"{r['gas_per_interval']:,}", f"{r['share_gas_per_interval']:,}",
             f"{r['share_gas_per_reading']:,}", r["trades"], *(f"{v:.1f}" for v in r["phases"].values()), commit]
    return "| " + " | ".join(map(str, cells)) + " |"


def markdown(rows: list[str], market_intervals: int) -> str:
    """The snapshot: ``rows`` are table lines (one per network, households and days)."""
    lines = ["# gridshare simulate: wall time and gas", "",
             "`.venv/bin/python benchmarks/simulate.py --write` (the default scenario resized; "
             f"{market_intervals} market intervals per day; 2 shared CPU cores; wall time indicative, gas exact). "
             "`--write` replaces the rows it ran and keeps the others; `commit` says which code measured a row.", "",
             "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD), *rows]
    return "\n".join(lines) + "\n"


def cases(rows: list[dict]) -> dict[str, int]:
    """The JSON snapshot: the gas columns of each run (never its wall times)."""
    pairs = []
    for r in rows:
        run_ = f"{r['network']}, {r['households']} households, {r['days']} day(s)"
        pairs += [(f"{run_}: gas per interval (all)", r["gas_per_interval"]),
                  (f"{run_}: verify+share gas per interval", r["share_gas_per_interval"]),
                  (f"{run_}: verify+share gas per reading", r["share_gas_per_reading"])]
    return snapshot.cases(pairs)


def snapshot_rows() -> dict[tuple[str, str, str], str]:
    """The table lines of the committed snapshot, by (network, households, days)."""
    if not SNAPSHOT.exists():
        return {}
    rows = {}
    for line in SNAPSHOT.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == len(HEAD) and cells[0] in ("embedded", "anvil"):
            rows[(cells[0], cells[1], cells[2])] = line
    return rows


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).parent).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", default="10,50", help="comma-separated counts (e.g. 10,50,200)")
    parser.add_argument("--days", default="1,7", help="comma-separated day counts")
    parser.add_argument("--network", default="embedded,anvil", help="embedded, anvil or both")
    parser.add_argument("--market-intervals", type=int, default=MARKET_INTERVALS)
    parser.add_argument("--runs", help="explicit runs NETWORK:HOUSEHOLDS:DAYS, comma-separated "
                        "(e.g. embedded:10:1,anvil:50:7); overrides the three lists above")
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    if (args.write or args.check) and args.market_intervals != MARKET_INTERVALS:
        parser.error(f"the snapshots are of {MARKET_INTERVALS} market intervals a day")
    console = Console(width=250)
    if args.runs:
        plan = [(n, int(h), int(d)) for n, h, d in (r.split(":") for r in args.runs.split(","))]
    else:
        plan = [(n, int(h), int(d)) for n in args.network.split(",") for h in args.households.split(",")
                for d in args.days.split(",")]
    rows = []
    commit = _commit()
    kept = snapshot_rows()
    for network, households, days in plan:
        console.print(f"{network}: {households} households, {days} day(s)...")
        rows.append(run(network, households, days, args.market_intervals))
        console.print(table(rows[-1:]))
        if args.write:  # after each run: a long plan interrupted keeps what it measured
            kept[(network, str(households), str(days))] = markdown_row(rows[-1], commit)
            order = sorted(kept, key=lambda k: (k[0] != "anvil", int(k[1]), int(k[2])))
            SNAPSHOT.write_text(markdown([kept[k] for k in order], args.market_intervals))
            snapshot.write("simulate", cases(rows[-1:]), partial=True)
    console.print(table(rows))
    # both snapshots are written after each run (above), keeping the runs not made this time
    return snapshot.finish(args, "simulate", cases(rows), lambda: console.print(f"wrote {SNAPSHOT}"), partial=True)


if __name__ == "__main__":
    sys.exit(main())
