"""Gas of verifying, minting and sharing a day of the default building, per meter-interval.

Run: ``.venv/bin/python benchmarks/self_consumption.py [--write | --check]`` (``make bench`` runs it).
``--write`` refreshes ``benchmarks/snapshots/self_consumption.md`` and ``self_consumption.json`` (gas by
case); ``--check`` compares the gas with ``self_consumption.json`` (``benchmarks/snapshot.py``), on the
cases measured when ``--runs`` or ``--no-largest`` leaves some out.

The default building (``gridshare/scenarios/lyon-building.toml``): 61 meters, 50 dwellings that
only consume, 10 rooftops (prosumers, 3 kWp) and a 36 kWp plant, in one collective
self-consumption operation with the dynamic default key; a sunny June day of 96 intervals, with a
deterministic solar bell curve and household load. Each meter signs runs of ``k`` intervals on the
operation's cadence; every transaction verifies one run of every member and shares those ``k``
intervals (``SelfConsumption.submitAndAllocate``). Also measured: the same day shared with keys
the engine computes and the operator supplies (``submitAndAllocateSupplied`` through
``gridshare.chain.operation.allocate``, runs of 16): a static key, and a dynamic complete key per
producer-consumer pair (whose lists carry each member's gives too); the same day's readings alone,
each meter signing one 96-interval run relayed straight to the registry (a community without an
operation); and the largest operation allowed (``SelfConsumption.MAX_MEMBERS``) sharing one interval.

Gas per meter-interval = the day's gas / (61 x 96), transaction base costs included. Issue #11's
goal: at most 10,000 gas per meter-interval verified, minted and shared. Gas comes from the receipts
on the embedded EVM (deterministic keys and a fixed day), so the numbers are exact and repeatable.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from gridshare.chain.deployment import deploy
from gridshare.chain.network import connect
from gridshare.chain.operation import MAX_MEMBERS, EncodedCall, allocate
from gridshare.domain.allocation import AllocationKey, DynamicCompleteKey, StaticKey, per_mille
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import MeterReadings, SignedReadings

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "self_consumption.md"
DAY = 1_813_276_800  # 2027-06-18 00:00 UTC (ahead of the clock: meters are registered the day before)
GOAL = 10_000
RUNS = "8,16,24,32"  # intervals per run measured by default (and in the snapshot)
KEYED_RUNS = 16  # the operation's cadence, for the supplied keys
EIP7825_CAP = 2**24


def building(households: int = 50, rooftops: int = 10) -> list[tuple[MeterKind, int, int]]:
    """(kind, peak PV in W, mean load in W) per meter: dwellings, rooftops, then the plant."""
    return ([(MeterKind.CONSUMER, 0, 350 + 13 * (j % 9)) for j in range(households)]
            + [(MeterKind.PROSUMER, 3_000, 420 + 17 * (j % 5)) for j in range(rooftops)]
            + [(MeterKind.PRODUCER, 36_000, 0)])


def profile(peak_w: int, load_w: int, j: int, intervals: int = 96) -> tuple[list[int], list[int]]:
    """Per 15-minute interval of the day: (import, export) in Wh."""
    imports, exports = [], []
    for t in range(intervals):
        hour = t / 4
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0
        pv = peak_w * 0.8 * sun / 4
        load = load_w * (0.6 + 0.5 * math.sin(math.pi * (hour - 7) / 12) ** 2 + 0.05 * ((t * 7 + j) % 5)) / 4
        net = load - pv
        imports.append(max(0, round(net)))
        exports.append(max(0, round(-net)))
    return imports, exports


def _setup(chain, meters, allocation_key: str = "dynamic-default"):
    c = deploy(chain, write=False, allocation_key=allocation_key)
    ms = []
    for k, (kind, peak, load) in enumerate(meters):
        key = Account.from_key(keccak(text=f"bench-meter-{k}"))
        owner = Account.from_key(keccak(text=f"bench-owner-{k}")).address
        mid = meter_id(bytes(32), f"bench-{k}")
        c.transact(c.registry.functions.registerParticipant(owner))
        c.transact(c.registry.functions.registerMeter(mid, key.address, owner, int(kind), 60_000, bytes(32), 0))
        ms.append((mid, key, profile(peak, load, k)))
    return c, ms


def _runs(c, ms, k: int) -> list[list[SignedReadings]]:
    """Per transaction, every meter's run of the next k intervals (member order)."""
    out = []
    registers = {mid: (0, 0) for mid, _, _ in ms}
    # the first run declares the outage from the meter's registration to the day's start
    previous = {mid: c.registry.functions.meterState(mid).call()[0] for mid, _, _ in ms}
    for first in range(0, 96, k):
        batch = []
        for mid, key, (imports, exports) in ms:
            imp, exp = imports[first:first + k], exports[first:first + k]
            reg = (registers[mid][0] + sum(imp), registers[mid][1] + sum(exp))
            registers[mid] = reg
            run = MeterReadings(mid, previous[mid] if first == 0 else DAY + 900 * first, DAY + 900 * first, imp, exp,
                                *reg)
            batch.append(run.sign(key, c.chain.chain_id, c.registry.address))
        out.append(batch)
    return out


def _keys(ms) -> dict[str, AllocationKey]:
    """The supplied keys measured, on the default building (dwellings, rooftops, the plant):
    static, equal coefficients for the dwellings; dynamic complete, the plant's production to
    the dwellings in equal parts and each rooftop's to five dwellings of its own."""
    names = ["0x" + mid.hex() for mid, _, _ in ms]
    dwellings, rooftops, plant = names[:50], names[50:60], names[60]
    pairs = {(plant, d): k for d, k in per_mille(dict.fromkeys(dwellings, 1)).items()}
    for r, rooftop in enumerate(rooftops):
        pairs.update({(rooftop, d): 200 for d in dwellings[5 * r:5 * r + 5]})
    return {"static key (supplied)": StaticKey(per_mille(dict.fromkeys(dwellings, 1))),
            "dynamic complete key (supplied)": DynamicCompleteKey(pairs)}


def measure_day(k: int, members: bool = True, key: str | None = None) -> dict:
    """The day in runs of k intervals: shared by the operation with its own dynamic default key,
    or with the engine's ``key`` (one of :func:`_keys`, supplied by ``operation.allocate``), or
    verified alone (``members=False``)."""
    with connect("embedded") as chain:
        chain.travel(DAY - 86_400)
        c, ms = _setup(chain, building(), allocation_key="supplied" if key else "dynamic-default")
        if members:
            c.transact(c.operation.functions.join([mid for mid, _, _ in ms], DAY // 900))
        chain.travel(DAY + 86_400)
        gas, largest = 0, 0
        batches = _runs(c, ms, k)
        if key:  # the engine's shares with the batches: allocate cuts them at the same ends
            report = allocate(c, [r for b in batches for r in b], key=_keys(ms)[key])
            assert report.transactions == len(batches) and not report.defaulted
            gas, largest = report.gas_used, max(g for _, g in report.batches)
        else:
            if not members:  # whole days of each meter: 15 runs (1,440 intervals) a transaction
                runs = [r for b in batches for r in b]
                batches = [runs[i:i + 15] for i in range(0, len(runs), 15)]
            for batch in batches:
                args = [r.as_call_arg() for r in batch]
                call = (EncodedCall(c.operation, "submitAndAllocate", args) if members
                        else EncodedCall(c.registry, "submitReadings", args))
                used = c.transact(call)["gasUsed"]
                gas += used
                largest = max(largest, used)
        shared = sum(e["args"]["sharedWh"] for e in c.operation.events.IntervalAllocated().get_logs(from_block=0))
    cells = len(ms) * 96
    what = "verified, minted and shared" if members else "verified and minted (no operation)"
    return {"what": f"{what}, {key}" if key else what,
            "k": k, "transactions": len(batches), "gas": gas, "per_cell": gas / cells, "largest": largest,
            "shared_kwh": shared / 1000}


def measure_largest(n: int = MAX_MEMBERS) -> dict:
    """The most members an operation takes, verifying and sharing one interval in the worst case:
    every member a prosumer importing, exporting and receiving, in an interval opening a group of
    eight lanes (every lane slot fresh in all four figures), each meter's second run."""
    meters = [(MeterKind.PROSUMER, 3_000, 400)] * n
    with connect("embedded") as chain:
        chain.travel(DAY - 86_400)
        c, ms = _setup(chain, meters)
        t = 47  # interval 48 of the day opens a group of eight
        assert (DAY // 900 + t + 1) % 8 == 0
        c.transact(c.operation.functions.join([mid for mid, _, _ in ms], DAY // 900 + t))
        chain.travel(DAY + 86_400)
        gas = []
        for step in (t, t + 1):
            batch = []
            for j, (mid, key, _) in enumerate(ms):
                imp, exp = (300 + j % 7, 200) if j % 2 else (100, 400 + j % 5)  # both flows, every meter
                previous = c.registry.functions.meterState(mid).call()[0]
                n_ = step - t + 1
                run = MeterReadings(mid, previous, DAY + 900 * step, [imp], [exp], imp * n_, exp * n_)
                batch.append(run.sign(key, c.chain.chain_id, c.registry.address).as_call_arg())
            gas.append(c.transact(EncodedCall(c.operation, "submitAndAllocate", batch), gas=29_000_000)["gasUsed"])
    return {"members": n, "gas": gas[-1], "per_cell": gas[-1] / n}


def cases(rows: list[dict], largest: dict | None) -> dict[str, int]:
    """The JSON snapshot: each day's gas, per meter-interval and largest transaction; the largest operation."""
    pairs = []
    for r in rows:
        day = f"{r['what']}, runs of {r['k']}"
        pairs += [(f"{day}: gas for the day", r["gas"]), (f"{day}: per meter-interval", r["per_cell"]),
                  (f"{day}: largest transaction", r["largest"])]
    if largest:
        op = f"largest operation, {largest['members']} members, worst interval"
        pairs += [(f"{op}: gas", largest["gas"]), (f"{op}: per member", largest["per_cell"])]
    return snapshot.cases(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    snapshot.add_arguments(parser)
    parser.add_argument("--runs", default=RUNS, help=f"intervals per run to measure (divisors of 96; default {RUNS})")
    parser.add_argument("--no-largest", action="store_true", help="leave out the largest operation")
    args = parser.parse_args()
    partial = args.runs != RUNS or args.no_largest
    if args.write and partial:
        parser.error("--write measures every case: leave out --runs and --no-largest")
    rows = ([measure_day(int(k)) for k in args.runs.split(",")]
            + [measure_day(KEYED_RUNS, key=name) for name in ("static key (supplied)", "dynamic complete key (supplied)")]
            + [measure_day(96, members=False)])
    largest = None if args.no_largest else measure_largest()
    table = Table(title="The default building's day: 61 meters x 96 intervals (gas)", title_justify="left")
    for col in ("what", "intervals per run", "transactions", "gas for the day", "per meter-interval",
                "largest transaction", "shared kWh"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["what"], str(r["k"]), str(r["transactions"]), f"{r['gas']:,}", f"{r['per_cell']:,.0f}",
                      f"{r['largest']:,}", f"{r['shared_kwh']:,.1f}")
    Console(width=160).print(table)
    if largest:
        print(f"largest operation, worst interval: {largest['members']} members sharing one interval: "
              f"{largest['gas']:,} gas ({largest['per_cell']:,.0f} per member; EIP-7825 cap {EIP7825_CAP:,})")

    def write_markdown() -> None:
        lines = ["# Gas of verifying, minting and sharing the default building's day (snapshot)", "",
                 "Written by `benchmarks/self_consumption.py --write` with `self_consumption.json` (see its docstring).",
                 f"Goal (issue #11): at most {GOAL:,} gas per meter-interval verified, minted and shared.", "",
                 "| what | intervals per run | transactions | gas for the day | per meter-interval | largest transaction | shared kWh |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in rows:
            lines.append(f"| {r['what']} | {r['k']} | {r['transactions']} | {r['gas']:,} | {r['per_cell']:,.0f} "
                         f"| {r['largest']:,} | {r['shared_kwh']:,.1f} |")
        lines += ["", f"The largest operation ({largest['members']} members, `SelfConsumption.MAX_MEMBERS`) verifying "
                      "and sharing one interval in the worst case (every member a prosumer importing, exporting and "
                      f"receiving, every lane slot fresh): {largest['gas']:,} gas ({largest['per_cell']:,.0f} per "
                      f"member), under EIP-7825's {EIP7825_CAP:,}."]
        SNAPSHOT.write_text("\n".join(lines) + "\n")
        print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "self_consumption", cases(rows, largest), write_markdown, partial=partial)


if __name__ == "__main__":
    sys.exit(main())
