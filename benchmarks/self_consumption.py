"""Gas of collective self-consumption: sharing an interval, per participant, compact vs naive.

Run: ``.venv/bin/python benchmarks/self_consumption.py [--write]`` (``make bench`` runs it).
For N members (half of them prosumers with PV, all consuming) and k intervals per transaction:

- *readings only*: ``MeterRegistry.submitReadings`` of the members' readings (the cost of
  verification and crediting, issue 2's figures);
- *compact*: ``SelfConsumption.submitAndAllocate`` of the same readings: verification and sharing
  in one transaction; the sharing costs the difference, as every slot it updates was just written;
- *naive*: the readings first, then the same sharing as a separate ``EnergyToken.settleLocal``
  transaction, which updates one cold slot per participant.

Gas per participant per interval = (cost of the sharing) / (N x k). Goal (issue 4): at most 5,000.
Gas comes from receipts on the embedded EVM (deterministic keys and a fixed day).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from gridshare.deployment import ALLOCATOR_ROLE, deploy
from gridshare.meter import MeterKind, meter_id
from gridshare.network import connect
from gridshare.reading import MeterReading

SNAPSHOT = Path(__file__).parent / "snapshots" / "self_consumption.md"
START = 1_780_000_000 // 86_400 * 86_400 + 12 * 3600  # noon UTC on a fixed day
GOAL = 5_000


def _setup(chain, n: int):
    c = deploy(chain, write=False)
    ms = []
    for k in range(n):
        key = Account.from_key(keccak(text=f"sc-meter-{k}"))
        owner = Account.from_key(keccak(text=f"sc-owner-{k}")).address
        mid = meter_id(bytes(32), f"sc-{k}")
        kind = MeterKind.PROSUMER if k % 2 == 0 else MeterKind.CONSUMER
        c.transact(c.registry.functions.registerParticipant(owner))
        c.transact(c.registry.functions.registerMeter(mid, key.address, owner, int(kind), 20_000, bytes(32), 0))
        ms.append((mid, key, owner, kind))
    c.transact(c.operation.functions.join([m[0] for m in ms], START // 900))
    c.transact(c.registry.functions.grantRole(ALLOCATOR_ROLE, chain.sender))  # for the naive variant
    return c, ms


def _readings(c, ms, first: int, k: int):
    """k intervals from `first`, interval-major, with registers continuing from the warm-up."""
    args = []
    for t in range(k):
        start = START + 900 * (first + t)
        for j, (mid, key, _owner, kind) in enumerate(ms):
            imp = 150 + 37 * j % 200
            exp = (900 + 53 * j % 700) if kind == MeterKind.PROSUMER else 0
            n = first + t + 1
            reading = MeterReading(mid, start, imp, exp, imp * n, exp * n)
            args.append(reading.sign(key, c.chain.chain_id, c.registry.address).as_call_arg())
    return args


def _settlements(ms, args, k: int) -> bytes:
    """What the compact path settles, for the naive path to settle separately."""
    from gridshare.allocation import dynamic_default, split_pro_rata
    from gridshare.settlement import Entry, encode

    out = []
    n = len(ms)
    for t in range(k):
        rows = args[t * n : (t + 1) * n]
        names = [str(j) for j in range(n)]
        shares = dynamic_default({x: r[3] for x, r in zip(names, rows)}, {x: r[2] for x, r in zip(names, rows)})
        received = [shares[x] for x in names]
        given = split_pro_rata(sum(received), [r[3] for r in rows])
        entries = [Entry(m[2], g, r) for m, g, r in zip(ms, given, received, strict=True) if g or r]
        out.append((rows[0][1] // 900, entries))
    return encode(out)


def measure(n: int, k: int) -> dict:
    with connect("embedded") as chain:
        c, ms = _setup(chain, n)
        w3 = chain.w3
        warm = _readings(c, ms, 0, 1)  # every meter's first reading: its state exists afterwards
        c.transact(c.operation.functions.submitAndAllocate(warm))
        args = _readings(c, ms, 1, k)
        snap = w3.testing.snapshot()
        readings_only = c.transact(c.registry.functions.submitReadings(args))["gasUsed"]
        naive = c.transact(c.token.functions.settleLocal(_settlements(ms, args, k)))["gasUsed"]
        w3.testing.revert(snap)
        compact = c.transact(c.operation.functions.submitAndAllocate(args))["gasUsed"]
    cells = n * k
    return {"members": n, "intervals": k, "readings": readings_only, "compact": compact, "naive": naive,
            "compact_share": (compact - readings_only) / cells, "naive_share": (naive - 21_000) / cells}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write the snapshot {SNAPSHOT}")
    args = parser.parse_args()
    rows = [measure(n, k) for n in (10, 50) for k in (1, 2, 4)]
    table = Table(title="Sharing one interval among N members (gas)", title_justify="left")
    for col in ("members", "intervals per tx", "readings only", "compact: readings + sharing", "naive: sharing tx",
                "compact per participant-interval", "naive per participant-interval"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["members"]), str(r["intervals"]), f"{r['readings']:,}", f"{r['compact']:,}",
                      f"{r['naive']:,}", f"{r['compact_share']:,.0f}", f"{r['naive_share']:,.0f}")
    Console(width=160).print(table)
    if args.write:
        lines = ["# Gas of sharing in a collective self-consumption operation (snapshot)", "",
                 "Written by `benchmarks/self_consumption.py --write` (see its docstring). Goal (issue 4): at most",
                 f"{GOAL:,} gas per participant per interval for the sharing.", "",
                 "| members | intervals per tx | readings only | compact (readings + sharing) | naive sharing tx | "
                 "compact per participant-interval | naive per participant-interval |",
                 "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in rows:
            lines.append(f"| {r['members']} | {r['intervals']} | {r['readings']:,} | {r['compact']:,} | {r['naive']:,} "
                         f"| {r['compact_share']:,.0f} | {r['naive_share']:,.0f} |")
        SNAPSHOT.write_text("\n".join(lines) + "\n")
        print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
