"""Gas (and wall time) per verified reading, for batches of 1, 10 and 100.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/readings.py [--anvil] [--write]``).
Gas is measured on the embedded EVM (cancun; the same gas schedule as anvil and mainnet) from
transaction receipts, so it is exact and repeatable; wall time is indicative only. ``--write``
refreshes the committed snapshot ``benchmarks/snapshots/readings.md``.

Shapes of a batch:
- *one meter, consecutive intervals*: a meter or gateway uploading its backlog (the registry reads
  and writes the meter's state once per run);
- *one interval, distinct meters*: a community's relayer uploading the latest interval of every
  meter, each owned by a different participant.
Kinds of reading: *zero* (no energy: a PV meter at night), *consumer* (import: records verified
import), *producer* (export: mints crypto-kWh).
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

from gridshare.deployment import deploy
from gridshare.meter import MeterKind, meter_id
from gridshare.network import connect, start_anvil
from gridshare.reading import MeterReading

SNAPSHOT = Path(__file__).parent / "snapshots" / "readings.md"
SIZES = (1, 10, 100)
KINDS = {  # kind -> (meter kind, import Wh, export Wh)
    "zero": (MeterKind.PRODUCER, 0, 0),
    "consumer": (MeterKind.CONSUMER, 250, 0),
    "producer": (MeterKind.PRODUCER, 0, 1200),
}


class Bench:
    def __init__(self, chain):
        self.chain = chain
        self.c = deploy(chain, write=False)
        self.counter = 0
        # a fixed past day: interval starts (and so calldata) are the same on every run
        self.first = 1_780_000_000 // 900 * 900

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

    def submit(self, readings: list[tuple[MeterReading, object]]) -> tuple[int, float]:
        args = [r.sign(k, self.chain.chain_id, self.c.registry.address).as_call_arg() for r, k in readings]
        t = time.perf_counter()
        receipt = self.c.transact(self.c.registry.functions.submitReadings(args))
        return receipt["gasUsed"], time.perf_counter() - t

    def run(self, shape: str, kind: str, size: int) -> tuple[int, float]:
        mkind, imp, exp = KINDS[kind]
        first = self.first
        if shape == "one meter":
            [(mid, key)] = self.meters(1, mkind, own_owners=False)
            self.submit([(MeterReading(mid, first, imp, exp, imp, exp), key)])  # warm-up: state exists
            batch = [(MeterReading(mid, first + 900 * (i + 1), imp, exp, imp * (i + 2), exp * (i + 2)), key)
                     for i in range(size)]
        else:
            ms = self.meters(size, mkind, own_owners=True)
            self.submit([(MeterReading(mid, first, imp, exp, imp, exp), key) for mid, key in ms])
            batch = [(MeterReading(mid, first + 900, imp, exp, 2 * imp, 2 * exp), key) for mid, key in ms]
        gas, seconds = self.submit(batch)
        return gas, seconds


def measure(chain) -> list[dict]:
    bench = Bench(chain)
    rows = []
    for shape in ("one meter", "distinct meters"):
        for kind in KINDS:
            for size in SIZES:
                gas, seconds = bench.run(shape, kind, size)
                rows.append({"shape": shape, "kind": kind, "size": size, "gas": gas,
                             "per_reading": gas / size, "excl_base": (gas - 21_000) / size, "seconds": seconds})
    return rows


def table(rows: list[dict], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("batch shape", "reading", "batch size", "gas per batch", "gas per reading", "per reading excl. 21k base",
                "wall time per batch"):
        t.add_column(col, justify="left" if col in ("batch shape", "reading") else "right")
    for r in rows:
        t.add_row(r["shape"], r["kind"], str(r["size"]), f"{r['gas']:,}", f"{r['per_reading']:,.0f}",
                  f"{r['excl_base']:,.0f}", f"{r['seconds'] * 1000:,.0f} ms")
    return t


def markdown(rows: list[dict]) -> str:
    lines = ["| batch shape | reading | batch size | gas per batch | gas per reading | excl. 21k base |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['shape']} | {r['kind']} | {r['size']} | {r['gas']:,} | {r['per_reading']:,.0f} | "
                     f"{r['excl_base']:,.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="also time the batches on a real anvil node")
    parser.add_argument("--write", action="store_true", help=f"write the snapshot {SNAPSHOT}")
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
        worst = max(abs(a["gas"] - b["gas"]) / a["size"] for a, b in zip(rows, anvil_rows))
        console.print(f"largest gas difference per reading between embedded and anvil: {worst:.1f}")
    if args.write:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(
            "# Gas per verified reading (snapshot)\n\n"
            "Written by `benchmarks/readings.py --write`; gas from receipts on the embedded EVM (cancun).\n"
            "Goal (issue 2): at most 15,000 gas per reading in batches of 100.\n\n" + markdown(rows) + "\n")
        console.print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
