"""Scale check: a collective self-consumption operation of 50 meters at 15 minutes, for a month, on anvil.

Run: ``.venv/bin/python benchmarks/self_consumption_month.py [--days 30] [--write]`` (``--help``).

On a fresh anvil node (``gridshare.network.start_anvil``) it deploys a community, registers the
meters (half prosumers with rooftop PV, half households) and has them join the operation
(dynamic default key), has every meter sign its readings of the last ``--days`` whole UTC days
(pvlib clear-sky PV and demandlib BDEW H0 households, netted per interval for prosumers), then
relays them through ``gridshare.operation.allocate``: each transaction verifies
``--intervals-per-tx`` intervals of readings and shares them on-chain. Then it checks a sample of
intervals against the Python engine and prints wall times and gas.

Gas per participant-interval = a transaction's gas / (members x its intervals): verification and
sharing together, as the relayer pays them. The first day's batches are also sent as readings
alone (``MeterRegistry.submitReadings``) on a snapshot that is then reverted, which gives what the
sharing adds to them. Intervals where nothing is shared (at night) are counted apart. With
``--days`` under 30, month figures are extrapolated linearly and labelled so.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from eth_utils import keccak, to_checksum_address
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from gridshare.allocation import DynamicDefaultKey, split_pro_rata
from gridshare.deployment import deploy
from gridshare.meter import MeterKind, meter_id, new_meter_key
from gridshare.network import start_anvil
from gridshare.operation import allocate, join
from gridshare.profiles import household_import_wh, interval_starts, pv_export_wh
from gridshare.reading import series_to_readings

SNAPSHOT = Path(__file__).parent / "snapshots" / "self_consumption_month.md"
INTERVAL = 900
MONTH_DAYS = 30
CONNECTION_W = 9_000  # a household's 9 kVA connection
SAMPLE_INTERVALS = 12  # intervals checked against the engine after the run
SIGNING, RELAYING = "signing (the meters' work)", "relaying: verifying and sharing"
PER_DAY = (SIGNING, RELAYING)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console)


def _community_data(members: int, starts: list[int]):
    """Per meter: (kind, capacity W, imports, exports); even meters are prosumers."""
    rng = random.Random(4)
    data = []
    for k in range(members):
        annual = rng.randint(1_800, 5_500)  # kWh a year
        household = household_import_wh(annual, starts, INTERVAL, seed=k)
        if k % 2 == 0:
            kwp = rng.choice([3, 4.5, 6, 9])
            pv = pv_export_wh(int(kwp * 1000), starts, INTERVAL)
            imports = [max(h - p, 0) for h, p in zip(household, pv, strict=True)]
            exports = [max(p - h, 0) for h, p in zip(household, pv, strict=True)]
            data.append((MeterKind.PROSUMER, max(int(kwp * 1000), CONNECTION_W), imports, exports))
        else:
            data.append((MeterKind.CONSUMER, CONNECTION_W, household, [0] * len(starts)))
    return data


def run(days: int, members: int, per_tx: int, console: Console) -> dict:
    today = datetime.now(timezone.utc).date()
    first = today - timedelta(days=days)
    starts = interval_starts(first, days, INTERVAL, "UTC")
    timings: dict[str, float] = {}
    with start_anvil() as chain, _progress(console) as progress:
        t0 = time.monotonic()
        community = deploy(chain, interval_seconds=INTERVAL, write=False)
        registry = community.registry
        data = _community_data(members, starts)
        meters = []
        task = progress.add_task("registering meters", total=members)
        for k, (kind, capacity, imports, exports) in enumerate(data):
            owner = to_checksum_address(keccak(text=f"month-owner-{k}")[-20:])
            key = new_meter_key()
            mid = meter_id(bytes(32), f"month-{k}")
            community.transact(registry.functions.registerParticipant(owner))
            community.transact(registry.functions.registerMeter(mid, key.address, owner, int(kind), capacity,
                                                                bytes(32), 0))
            meters.append((mid, key, owner, imports, exports))
            progress.advance(task)
        join(community, [m[0] for m in meters], starts[0] // INTERVAL)
        timings[f"deploy, register and join {members} meters"] = time.monotonic() - t0

        t0 = time.monotonic()
        task = progress.add_task("meters signing readings", total=members * len(starts))
        signed = []
        chain_id = chain.chain_id  # one request, not one per reading
        for mid, key, _owner, imports, exports in meters:
            for reading in series_to_readings(mid, starts, imports, exports):
                signed.append(reading.sign(key, chain_id, registry.address))
            progress.advance(task, len(starts))
        timings[SIGNING] = time.monotonic() - t0

        # the first day's batches as readings alone, on a snapshot that is reverted
        t0 = time.monotonic()
        by_interval = {}
        for s in signed:
            by_interval.setdefault(s.reading.interval_start, []).append(s)
        day_batches = [starts[i : i + per_tx] for i in range(0, min(len(starts), 96), per_tx)]
        alone = []
        w3 = chain.w3
        snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
        task = progress.add_task("first day: readings alone", total=len(day_batches))
        for batch in day_batches:
            args = [r.as_call_arg() for start in batch for r in by_interval[start]]
            alone.append(community.transact(registry.functions.submitReadings(args))["gasUsed"])
            progress.advance(task)
        w3.provider.make_request("evm_revert", [snapshot])
        timings["first day as readings alone (reverted)"] = time.monotonic() - t0

        t0 = time.monotonic()
        task = progress.add_task("verifying and sharing", total=len(starts))
        report = allocate(community, signed, intervals_per_transaction=per_tx,
                          on_progress=lambda n: progress.advance(task, n))
        timings[RELAYING] = time.monotonic() - t0

        t0 = time.monotonic()
        checked = _check_sample(community, meters, starts)
        timings[f"checking {checked} intervals against the engine"] = time.monotonic() - t0
        last = community.operation.functions.lastAllocated().call()
    assert report.intervals == len(starts) and report.incomplete is None, report
    assert last == starts[-1] // INTERVAL
    shares = {start // INTERVAL: _shared(meters, t) > 0 for t, start in enumerate(starts)}
    return {"days": days, "members": members, "per_tx": per_tx, "first": first, "starts": starts,
            "timings": timings, "report": report, "alone": alone, "shares": shares}


def _shared(meters, t: int) -> int:
    production = sum(m[4][t] for m in meters)
    consumption = sum(m[3][t] for m in meters)
    return min(production, consumption)


def _check_sample(community, meters, starts) -> int:
    """Every member's R15 quantities in a sample of intervals equal the engine's."""
    rng = random.Random(7)
    sample = sorted(rng.sample(range(len(starts)), min(SAMPLE_INTERVALS, len(starts))))
    names = [str(j) for j in range(len(meters))]
    for t in sample:
        exports, imports = [m[4][t] for m in meters], [m[3][t] for m in meters]
        allocation = DynamicDefaultKey().allocate(dict(zip(names, exports)), dict(zip(names, imports)))
        received = [allocation.received(n) for n in names]
        given = split_pro_rata(sum(received), exports)
        iid = starts[t] // INTERVAL
        owners_seen: dict[str, list[int]] = {}
        for m, g, r in zip(meters, given, received, strict=True):
            want = owners_seen.setdefault(m[2], [0, 0, 0, 0])  # prod, autoprod, cons, autocons
            want[0] += m[4][t]
            want[1] += g
            want[2] += m[3][t]
            want[3] += r
        for owner, (prod, autoprod, cons, autocons) in owners_seen.items():
            q = community.operation.functions.quantities(owner, iid).call()
            assert (q[0], q[1], q[3], q[4]) == (prod, autoprod, cons, autocons), (iid, owner, q)
    return len(sample)


def _tables(result: dict) -> tuple[Table, Table, list[str]]:
    days, n, per_tx = result["days"], result["members"], result["per_tx"]
    report, shares = result["report"], result["shares"]
    scale = MONTH_DAYS / days
    label = "" if days == MONTH_DAYS else f" (extrapolated x{scale:g} from {days} days)"

    times = Table(title=f"Wall time, {days} days of {n} meters on anvil", title_justify="left")
    times.add_column("phase")
    times.add_column("seconds", justify="right")
    if days != MONTH_DAYS:
        times.add_column(f"a month{label}", justify="right")
    total = month = 0.0
    for phase, seconds in result["timings"].items():
        per_day = phase in PER_DAY  # the other phases do not grow with the period
        total += seconds
        month += seconds * (scale if per_day else 1)
        times.add_row(phase, f"{seconds:,.1f}",
                      *([f"{seconds * scale if per_day else seconds:,.0f}"] if days != MONTH_DAYS else []))
    times.add_row("total", f"{total:,.1f}", *([f"{month:,.0f}"] if days != MONTH_DAYS else []), style="bold")

    groups = {"intervals where production is shared": [], "intervals where nothing is shared (night)": [],
              "transactions mixing both": []}
    for ids, gas in report.batches:
        kinds = {shares[i] for i in ids}
        key = ("transactions mixing both" if len(kinds) > 1 else
               "intervals where production is shared" if kinds == {True} else
               "intervals where nothing is shared (night)")
        groups[key].append((len(ids), gas))
    gas = Table(title=f"Gas, {n} members, {per_tx} intervals per transaction{label if days != MONTH_DAYS else ''}",
                title_justify="left")
    for col in ("intervals", "count", "transactions", "gas", "gas per interval", "gas per participant-interval"):
        gas.add_column(col, justify="left" if col == "intervals" else "right")
    rows = list(groups.items()) + [("all", [(len(ids), g) for ids, g in report.batches])]
    for name, txs in rows:
        intervals = sum(k for k, _ in txs)
        used = sum(g for _, g in txs)
        if not intervals:
            continue
        gas.add_row(name, f"{intervals:,}", f"{len(txs):,}", f"{used:,}", f"{used / intervals:,.0f}",
                    f"{used / intervals / n:,.0f}", style="bold" if name == "all" else None)
    if days != MONTH_DAYS:
        used = report.gas_used * scale
        gas.add_row(f"a month{label}", f"{int(report.intervals * scale):,}", f"{int(report.transactions * scale):,}",
                    f"{used:,.0f}", "", "", style="italic")

    # what sharing adds, from the first day's batches sent alone too
    notes = []
    compact = report.batches[: len(result["alone"])]
    day_shared = [(ids, g, a) for (ids, g), a in zip(compact, result["alone"], strict=True)
                  if all(shares[i] for i in ids)]
    if day_shared:
        cells = sum(len(ids) for ids, _, _ in day_shared) * n
        added = sum(g - a for _, g, a in day_shared)
        verified = sum(a for _, _, a in day_shared)
        notes.append(f"First day, {len(day_shared)} transactions whose intervals all share production: readings "
                     f"alone {verified / cells:,.0f} gas per participant-interval, sharing adds {added / cells:,.0f}.")
    day_night = [(ids, g, a) for (ids, g), a in zip(compact, result["alone"], strict=True)
                 if not any(shares[i] for i in ids)]
    if day_night:
        cells = sum(len(ids) for ids, _, _ in day_night) * n
        added = sum(g - a for _, g, a in day_night)
        notes.append(f"First day, {len(day_night)} night transactions (nothing shared): sharing adds "
                     f"{added / cells:,.0f} gas per participant-interval (the pass over the readings and members, "
                     "the member list, lastAllocated, the IntervalAllocated event).")
    return times, gas, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=MONTH_DAYS, help="whole UTC days before today (default 30)")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--intervals-per-tx", type=int, default=4,
                        help="intervals verified and shared per transaction (default 4: about 11M gas)")
    parser.add_argument("--write", action="store_true", help=f"write the snapshot {SNAPSHOT}")
    args = parser.parse_args()
    console = Console(width=150)
    result = run(args.days, args.members, args.intervals_per_tx, console)
    times, gas, notes = _tables(result)
    console.print(times)
    console.print(gas)
    for note in notes:
        console.print(note)
    if args.write:
        _write(result, times, gas, notes)
        console.print(f"wrote {SNAPSHOT}")
    return 0


def _markdown(table: Table) -> list[str]:
    cols = [c.header for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |",
             "| " + " | ".join("---:" if c.justify == "right" else "---" for c in table.columns) + " |"]
    cells = [list(c._cells) for c in table.columns]
    for r in range(len(cells[0])):
        lines.append("| " + " | ".join(str(col[r]) for col in cells) + " |")
    return lines


def _write(result: dict, times: Table, gas: Table, notes: list[str]) -> None:
    first: date = result["first"]
    last = first + timedelta(days=result["days"] - 1)
    lines = ["# A month of collective self-consumption on anvil (snapshot)", "",
             "Written by `benchmarks/self_consumption_month.py --write` (see its docstring): "
             f"{result['members']} meters (half prosumers), 15-minute intervals, {result['days']} days "
             f"({first} to {last}, UTC), dynamic default key, {result['per_tx']} intervals per transaction, "
             "relayed by `gridshare.operation.allocate` to a local anvil node on a 2-core machine. Gas is "
             "verification and sharing together, per transaction as the relayer pays it.", "",
             f"## {times.title}", "", *_markdown(times), "", f"## {gas.title}", "", *_markdown(gas), ""]
    lines += [f"- {note}" for note in notes]
    SNAPSHOT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
