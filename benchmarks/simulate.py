"""Wall time and gas of `gridshare simulate`: communities of 10, 50 and 200 households, 1 and 7 days.

Run: ``.venv/bin/python benchmarks/simulate.py [--households 10,50] [--days 1,7] [--network embedded,anvil]
[--market-intervals 4] [--write]``. Each run is the packaged default scenario (Lyon, June, priority key,
continuous market) with the household count and days replaced (rooftops: one household in five),
on a fresh chain (anvil: a throw-away node, no state file). ``--write`` refreshes
``benchmarks/snapshots/simulate.md``. Wall time is indicative (it depends on the machine); gas is
exact for a given scenario and seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gridshare.network import connect, start_anvil
from gridshare.scenario import DEFAULT_SCENARIO, load_scenario
from gridshare.simulation import simulate

SNAPSHOT = Path(__file__).parent / "snapshots" / "simulate.md"
PHASES = ("signing", "verify and share (relaying)", "reading back and checking", "market: orders",
          "market: closing and claims", "guarantees of origin", "reports: plots")


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
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as folder:
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


def markdown(rows: list[dict], market_intervals: int) -> str:
    head = ["network", "households", "days", "intervals", "wall s", "transactions", "gas / interval (all)",
            "verify+share gas / interval", "verify+share gas / reading", "trades", *(f"{p} s" for p in PHASES)]
    lines = ["# gridshare simulate: wall time and gas", "",
             "`.venv/bin/python benchmarks/simulate.py --write` (the default scenario resized; "
             f"{market_intervals} market intervals per day; 2 shared CPU cores; wall time indicative, gas exact).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["network"], r["households"], r["days"], r["intervals"], f"{r['wall_s']:.1f}",
                 f"{r['transactions']:,}", f"{r['gas_per_interval']:,}", f"{r['share_gas_per_interval']:,}",
                 f"{r['share_gas_per_reading']:,}", r["trades"], *(f"{v:.1f}" for v in r["phases"].values())]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", default="10,50", help="comma-separated counts (e.g. 10,50,200)")
    parser.add_argument("--days", default="1,7", help="comma-separated day counts")
    parser.add_argument("--network", default="embedded,anvil", help="embedded, anvil or both")
    parser.add_argument("--market-intervals", type=int, default=4)
    parser.add_argument("--runs", help="explicit runs NETWORK:HOUSEHOLDS:DAYS, comma-separated "
                        "(e.g. embedded:10:1,anvil:50:7); overrides the three lists above")
    parser.add_argument("--write", action="store_true", help=f"write {SNAPSHOT}")
    args = parser.parse_args()
    console = Console(width=250)
    if args.runs:
        plan = [(n, int(h), int(d)) for n, h, d in (r.split(":") for r in args.runs.split(","))]
    else:
        plan = [(n, int(h), int(d)) for n in args.network.split(",") for h in args.households.split(",")
                for d in args.days.split(",")]
    rows = []
    for network, households, days in plan:
        console.print(f"{network}: {households} households, {days} day(s)...")
        rows.append(run(network, households, days, args.market_intervals))
        console.print(table(rows[-1:]))
        if args.write:  # after each run: a long plan interrupted keeps what it measured
            SNAPSHOT.write_text(markdown(rows, args.market_intervals))
    console.print(table(rows))
    if args.write:
        console.print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    main()
