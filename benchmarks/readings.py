"""Gas (and wall time) per verified meter-interval of runs of readings (readings v2).

Run: ``make bench`` (or ``.venv/bin/python benchmarks/readings.py [--anvil] [--write]``).
Gas is measured on the embedded EVM (cancun; the same gas schedule as anvil and mainnet) from
transaction receipts, so it is exact and repeatable; wall time is indicative only. ``--write``
refreshes the committed snapshots ``benchmarks/snapshots/readings.md`` and ``readings.json`` (gas per
batch, by case); ``--check`` compares the gas with ``readings.json`` (``benchmarks/snapshot.py``).

Shapes of a batch (``MeterRegistry.submitReadings``, no self-consumption operation):
- *one meter*: one run of a meter per transaction (a gateway uploading its day);
- *10 meters*: a run of each of 10 meters, each owned by a different participant, in one transaction
  (a community's relayer).
Runs of 1, 4, 16 and 96 intervals (a quarter-hour, an hour, four hours, a day), each meter's second
run (its state and registers exist), starting at a group of eight intervals. Kinds of reading:
*zero* (no energy: a PV meter at night), *consumer* (import: records verified import), *producer*
(export: mints crypto-kWh), *prosumer* (both in every interval).
For comparison, version 1 (one signature per interval) cost 42.8-48.7k gas per reading in batches.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from gridshare.chain.deployment import deploy
from gridshare.chain.network import connect, start_anvil
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import MeterReadings

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "readings.md"
RUNS = (1, 4, 16, 96)
SHAPES = {"one meter": 1, "10 meters": 10}
KINDS = {  # kind -> (meter kind, import Wh, export Wh)
    "zero": (MeterKind.PRODUCER, 0, 0),
    "consumer": (MeterKind.CONSUMER, 250, 0),
    "producer": (MeterKind.PRODUCER, 0, 1200),
    "prosumer": (MeterKind.PROSUMER, 150, 900),
}


#: a fixed time in the future (2033-06-21 12:00 UTC) the chain is moved to first: the readings' times,
#: and so their calldata's zero bytes and its gas, are the same whatever the day the benchmark runs
T0 = 2_002_968_000


class Bench:
    def __init__(self, chain):
        self.chain = chain
        chain.travel(max(T0, self.now()))
        self.c = deploy(chain, write=False)
        self.counter = 0

    def meters(self, n: int, kind: MeterKind, *, own_owners: bool):
        """``n`` new meters of new participants: one for all, or one each. (New participants, so
        that no run finds storage a previous run wrote.)"""
        out = []
        self.owner = Account.from_key(keccak(text=f"bench-shared-owner-{self.counter}")).address
        if not own_owners:
            self.c.transact(self.c.registry.functions.registerParticipant(self.owner))
        for _ in range(n):
            self.counter += 1
            # deterministic keys: signatures (and so calldata gas) are the same on every run
            key = Account.from_key(keccak(text=f"bench-meter-{self.counter}"))
            mid = meter_id(bytes(32), f"bench-{self.counter}")
            owner = self.owner
            if own_owners:
                owner = Account.from_key(keccak(text=f"bench-owner-{self.counter}")).address
                self.c.transact(self.c.registry.functions.registerParticipant(owner))
            self.c.transact(self.c.registry.functions.registerMeter(mid, key.address, owner, int(kind), 10_000,
                                                                    bytes(32), 0))
            out.append((mid, key))
        return out

    def submit(self, runs: list[tuple[MeterReadings, object]]) -> tuple[int, float]:
        args = [r.sign(k, self.chain.chain_id, self.c.registry.address).as_call_arg() for r, k in runs]
        self.chain.travel(max(self.now(), max(r.end(900) for r, _ in runs)))
        t = time.perf_counter()
        receipt = self.c.transact(self.c.registry.functions.submitReadings(args))
        return receipt["gasUsed"], time.perf_counter() - t

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def run(self, meters: int, kind: str, intervals: int) -> tuple[int, float]:
        mkind, imp, exp = KINDS[kind]
        ms = self.meters(meters, mkind, own_owners=meters > 1)
        # each meter's first run, one interval, declares the outage from its registration to the
        # interval before the measured run, which starts at 06:00 UTC the next day: a group of eight
        # opens there, and whatever the hour of the benchmark, only a day's run reaches a midnight
        # (the registry's per-day checkpoint of a producer's export)
        start = (self.now() // 86_400 + 1) * 86_400 + 6 * 3600
        first = [(MeterReadings(mid, self.c.registry.functions.meterState(mid).call()[0], start - 900,
                                (imp,), (exp,), imp, exp), key) for mid, key in ms]
        self.submit(first)
        batch = [(MeterReadings(mid, start, start, (imp,) * intervals, (exp,) * intervals,
                                imp * (intervals + 1), exp * (intervals + 1)), key) for mid, key in ms]
        return self.submit(batch)


def measure(chain) -> list[dict]:
    bench = Bench(chain)
    rows = []
    for shape, meters in SHAPES.items():
        for kind in KINDS:
            for intervals in RUNS:
                gas, seconds = bench.run(meters, kind, intervals)
                cells = meters * intervals
                rows.append({"shape": shape, "kind": kind, "intervals": intervals, "gas": gas,
                             "per_interval": gas / cells, "excl_base": (gas - 21_000) / cells, "seconds": seconds})
    return rows


def table(rows: list[dict], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("batch", "reading", "intervals per run", "gas per batch", "gas per meter-interval",
                "excl. 21k base", "wall time per batch"):
        t.add_column(col, justify="left" if col in ("batch", "reading") else "right")
    for r in rows:
        t.add_row(r["shape"], r["kind"], str(r["intervals"]), f"{r['gas']:,}", f"{r['per_interval']:,.0f}",
                  f"{r['excl_base']:,.0f}", f"{r['seconds'] * 1000:,.0f} ms")
    return t


def markdown(rows: list[dict]) -> str:
    lines = ["| batch | reading | intervals per run | gas per batch | gas per meter-interval | excl. 21k base |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['shape']} | {r['kind']} | {r['intervals']} | {r['gas']:,} | {r['per_interval']:,.0f} | "
                     f"{r['excl_base']:,.0f} |")
    return "\n".join(lines)


def cases(rows: list[dict]) -> dict[str, int]:
    """The JSON snapshot: gas per batch, by batch shape, reading kind and run length."""
    return snapshot.cases((f"{r['shape']}, {r['kind']}, runs of {r['intervals']}", r["gas"]) for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="also time the batches on a real anvil node")
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=160)
    with connect("embedded") as chain:
        rows = measure(chain)
    console.print(table(rows, "MeterRegistry.submitReadings on the embedded EVM (py-evm, cancun)"))
    if args.anvil:
        with start_anvil() as chain:
            anvil_rows = measure(chain)
        console.print(table(anvil_rows, "the same on anvil (wall time through web3.py)"))
        # signatures depend on the chain id and the registry's address, so calldata (zero bytes)
        # and hence gas differ by a few dozen between the two chains, never more
        worst = max(abs(a["gas"] - b["gas"]) / a["intervals"] for a, b in zip(rows, anvil_rows))
        console.print(f"largest gas difference per interval between embedded and anvil: {worst:.1f}")

    def write_markdown() -> None:
        SNAPSHOT.write_text(
            "# Gas per verified meter-interval (snapshot)\n\n"
            "Written by `benchmarks/readings.py --write` with `readings.json`; gas from receipts on the embedded EVM\n"
            "(cancun). Readings v2: a meter signs a run of intervals at once. Version 1 (a signature per interval)\n"
            "cost 42.8-48.7k gas per reading in batches of 100.\n\n" + markdown(rows) + "\n")
        console.print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "readings", cases(rows), write_markdown)


if __name__ == "__main__":
    sys.exit(main())
