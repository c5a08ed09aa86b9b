"""Scale check: a collective self-consumption operation of 50 meters at 15 minutes, for a month, on anvil.

Run: ``.venv/bin/python benchmarks/self_consumption_month.py [--days 30] [--write | --check]`` (``--help``).
``--write`` refreshes ``benchmarks/snapshots/self_consumption_month.md`` and ``self_consumption_month.json``
(gas by group of intervals, keyed by days, members and run length); ``--check`` compares the gas with
``self_consumption_month.json`` (``benchmarks/snapshot.py``): run it with the ``--days`` it was written with.

On a fresh anvil node (``gridshare.chain.network.start_anvil``) it deploys a community, registers the
meters (half prosumers with rooftop PV, half households) and has them join the operation
(dynamic default key), has every meter sign its readings of the ``--days`` whole UTC days from
``FIRST_DAY`` (pvlib clear-sky PV and demandlib BDEW H0 households, netted per interval for prosumers)
in runs on the operation's cadence (``--run-intervals``, by default
``gridshare.protocol.gas.run_intervals_for``), moves the devnet's clock past them, then relays them through
``gridshare.chain.operation.allocate``: each transaction verifies a run of every member and shares its
intervals on-chain. Then it checks a sample of intervals against the Python engine and prints wall
times and gas.

Gas per participant-interval = a transaction's gas / (members x its intervals): verification and
sharing together, as the relayer pays them. Intervals where nothing is shared (at night) are
counted apart. With ``--days`` under 30, month figures are extrapolated linearly and labelled so.
The period is fixed (the devnet's clock is moved to the day before it) and every key derives from
its meter's number, so the gas is the same on every run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from eth_account import Account
from eth_utils import keccak, to_checksum_address
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from gridshare.chain.deployment import deploy
from gridshare.chain.network import start_anvil
from gridshare.chain.operation import allocate, join
from gridshare.domain.allocation import DynamicDefaultKey, split_pro_rata
from gridshare.protocol.gas import run_intervals_for
from gridshare.protocol.meters import MeterKind, meter_id
from gridshare.protocol.readings import series_to_readings, to_runs
from gridshare.simulate.profiles import household_import_wh, interval_starts, pv_export_wh

import snapshot  # benchmarks/snapshot.py

SNAPSHOT = Path(__file__).parent / "snapshots" / "self_consumption_month.md"
INTERVAL = 900
MONTH_DAYS = 30
FIRST_DAY = date(2033, 12, 1)  # a fixed period ahead of the clock: the same profiles and calldata every run
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


def run(days: int, members: int, per_run: int | None, console: Console) -> dict:
    first = FIRST_DAY
    starts = interval_starts(first, days, INTERVAL, "UTC")
    timings: dict[str, float] = {}
    with start_anvil() as chain, _progress(console) as progress:
        t0 = time.monotonic()
        chain.travel(starts[0] - 86_400 + 1)  # meters are registered the day before the intervals they sign
        community = deploy(chain, interval_seconds=INTERVAL, write=False)
        registry = community.registry
        data = _community_data(members, starts)
        meters = []
        task = progress.add_task("registering meters", total=members)
        for k, (kind, capacity, imports, exports) in enumerate(data):
            owner = to_checksum_address(keccak(text=f"month-owner-{k}")[-20:])
            key = Account.from_key(keccak(text=f"month-meter-{k}"))
            mid = meter_id(bytes(32), f"month-{k}")
            community.transact(registry.functions.registerParticipant(owner))
            community.transact(registry.functions.registerMeter(mid, key.address, owner, int(kind), capacity,
                                                                bytes(32), 0))
            meters.append((mid, key, owner, imports, exports))
            progress.advance(task)
        join(community, [m[0] for m in meters], starts[0] // INTERVAL)
        timings[f"deploy, register and join {members} meters"] = time.monotonic() - t0

        per_run = per_run or run_intervals_for([d[0] for d in data], INTERVAL)
        t0 = time.monotonic()
        task = progress.add_task("meters signing readings", total=members * len(starts))
        signed = []
        chain_id = chain.chain_id  # one request, not one per reading
        for mid, key, _owner, imports, exports in meters:
            previous_end = registry.functions.meterState(mid).call()[0]  # from its registration
            readings = series_to_readings(mid, starts, imports, exports)
            for r in to_runs(readings, INTERVAL, previous_end=previous_end, run_intervals=per_run):
                signed.append(r.sign(key, chain_id, registry.address))
            progress.advance(task, len(starts))
        timings[SIGNING] = time.monotonic() - t0
        chain.travel(starts[-1] + INTERVAL + 1)

        t0 = time.monotonic()
        task = progress.add_task("verifying and sharing", total=len(starts))
        report = allocate(community, signed, on_progress=lambda n: progress.advance(task, n))
        timings[RELAYING] = time.monotonic() - t0

        t0 = time.monotonic()
        checked = _check_sample(community, meters, starts)
        timings[f"checking {checked} intervals against the engine"] = time.monotonic() - t0
        last = community.operation.functions.lastAllocated().call()
    assert report.intervals == len(starts) and report.incomplete is None, report
    assert last == starts[-1] // INTERVAL
    shares = {start // INTERVAL: _shared(meters, t) > 0 for t, start in enumerate(starts)}
    return {"days": days, "members": members, "per_run": per_run, "first": first, "starts": starts,
            "timings": timings, "report": report, "shares": shares}


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


def _groups(report, shares: dict[int, bool]) -> dict[str, list[tuple[int, int]]]:
    """The transactions, (intervals, gas) each, by what their intervals share; then all of them."""
    groups = {"intervals where production is shared": [], "intervals where nothing is shared (night)": [],
              "transactions mixing both": []}
    for ids, gas in report.batches:
        kinds = {shares[i] for i in ids}
        key = ("transactions mixing both" if len(kinds) > 1 else
               "intervals where production is shared" if kinds == {True} else
               "intervals where nothing is shared (night)")
        groups[key].append((len(ids), gas))
    return {**groups, "all": [(len(ids), g) for ids, g in report.batches]}


def cases(result: dict) -> dict[str, int]:
    """The JSON snapshot: per group of transactions, its gas and its gas per participant-interval."""
    run = f"{result['days']} days of {result['members']} members, runs of {result['per_run']}"
    pairs = []
    for name, txs in _groups(result["report"], result["shares"]).items():
        intervals, used = sum(k for k, _ in txs), sum(g for _, g in txs)
        if intervals:
            pairs += [(f"{run}: {name}: gas", used),
                      (f"{run}: {name}: per participant-interval", used / intervals / result["members"])]
    return snapshot.cases(pairs)


def _tables(result: dict) -> tuple[Table, Table, list[str]]:
    days, n, per_run = result["days"], result["members"], result["per_run"]
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

    gas = Table(title=f"Gas, {n} members, runs of {per_run} intervals{label if days != MONTH_DAYS else ''}",
                title_justify="left")
    for col in ("intervals", "count", "transactions", "gas", "gas per interval", "gas per participant-interval"):
        gas.add_column(col, justify="left" if col == "intervals" else "right")
    for name, txs in _groups(report, shares).items():
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

    notes = [f"{report.transactions} transactions for {report.intervals} intervals: each verifies a run of every "
             f"member and shares its intervals ({report.gas_used / report.intervals / n:,.0f} gas per "
             "meter-interval)."]
    return times, gas, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=MONTH_DAYS, help=f"whole UTC days from {FIRST_DAY} (default 30)")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--run-intervals", type=int, default=None,
                        help="intervals per run (default: the operation's cadence, gridshare.protocol.gas.run_intervals_for)")
    snapshot.add_arguments(parser)
    args = parser.parse_args()
    console = Console(width=150)
    result = run(args.days, args.members, args.run_intervals, console)
    times, gas, notes = _tables(result)
    console.print(times)
    console.print(gas)
    for note in notes:
        console.print(note)

    def write_markdown() -> None:
        _write(result, times, gas, notes)
        console.print(f"wrote {SNAPSHOT}")

    return snapshot.finish(args, "self_consumption_month", cases(result), write_markdown)


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
             "Written by `benchmarks/self_consumption_month.py --write` with `self_consumption_month.json` "
             "(see its docstring): "
             f"{result['members']} meters (half prosumers), 15-minute intervals, {result['days']} days "
             f"({first} to {last}, UTC), dynamic default key, runs of {result['per_run']} intervals, "
             "relayed by `gridshare.chain.operation.allocate` to a local anvil node on a 2-core machine. Gas is "
             "verification and sharing together, per transaction as the relayer pays it.", "",
             f"## {times.title}", "", *_markdown(times), "", f"## {gas.title}", "", *_markdown(gas), ""]
    lines += [f"- {note}" for note in notes]
    SNAPSHOT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
