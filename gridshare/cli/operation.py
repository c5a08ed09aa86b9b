"""`gridshare operation ...` and `gridshare allocate`: the collective self-consumption operation."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from rich.table import Table

from gridshare.chain.operation import STILL_IN, join, key_name, members
from gridshare.chain.operation import allocate as run_allocation
from gridshare.cli.context import Context, console, pass_ctx, progress
from gridshare.cli.params import METER_ID, WHEN
from gridshare.domain import perimeter
from gridshare.errors import GridshareError
from gridshare.protocol.readings import load_signed
from gridshare.protocol.units import aligned_interval_id


@click.group()
def operation():
    """The collective self-consumption operation: its members."""


@operation.command("join")
@click.argument("meter_ids", nargs=-1, required=True, type=METER_ID)
@click.option("--from", "start", type=WHEN, required=True,
              help="First day (YYYY-MM-DD) or interval (YYYY-MM-DDTHH:MM) in the operation, UTC; no reading of "
                   "the meters may be verified from then on (see `meter state`).")
@click.option("--sites", type=click.Path(path_type=Path), required=True,
              help="CSV name,latitude,longitude,capacity_kw of every member (name = meterId), kept off-chain.")
@click.option("--zone", type=click.Choice(["urban", "peri-urban", "rural"]), default="urban", show_default=True,
              help="Perimeter: 2, 10 or 20 km between the two furthest members.")
@click.option("--capacity-rule", type=click.Choice(["default", "public", "non-interconnected"]), default="default",
              show_default=True, help="Production capacity limit: 5 MW, 10 MW or 0.5 MW.")
@pass_ctx
def operation_join(ctx: Context, meter_ids, start, sites, zone, capacity_rule):
    """Add meters (0x meterIds) to the operation from --from on (operator), after checking the
    operation's perimeter (distance and capacity) from the members' coordinates."""
    known = perimeter.load_sites(sites)
    with ctx.community() as community:
        everyone = {m.meter_id for m in members(community)} | set(meter_ids)
        missing = ["0x" + i.hex() for i in everyone if "0x" + i.hex() not in known]
        if missing:
            raise GridshareError(f"{sites} has no site for {missing[0]} ({len(missing)} members missing)")
        widest, total = perimeter.check([known["0x" + i.hex()] for i in everyone], zone=zone, capacity=capacity_rule)
        first = aligned_interval_id(start, community.interval_seconds, f"--from {_utc(start)}")
        join(community, list(meter_ids), first)
    console.print(f"{len(meter_ids)} meters in the operation from {_utc(start)} (perimeter {widest:.2f} km, "
                  f"{total:,.0f} kW of production)")


def _utc(t: int) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@operation.command("members")
@pass_ctx
def operation_members(ctx: Context):
    """The operation's meters, their owners and membership intervals."""
    with ctx.community(read_only=True) as community:
        ms, key = members(community), key_name(community)
        seconds = community.interval_seconds
    table = Table(title=f"Self-consumption operation (key: {key})", title_justify="left")
    for col in ("meter", "owner", "from (UTC)", "until (UTC)"):
        table.add_column(col)
    for m in ms:
        table.add_row("0x" + m.meter_id.hex(), m.account, _utc(m.from_interval * seconds),
                      "" if m.until_interval == STILL_IN else _utc(m.until_interval * seconds))
    console.print(table if ms else "no members yet")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--max-gas", type=click.IntRange(100_000, 2**24), default=16_000_000, show_default=True,
              help="Plan each transaction's worst-case gas under this (whole runs: one batch if the runs are longer).")
@pass_ctx
def allocate(ctx: Context, file: Path, max_gas: int):
    """Verify the members' signed runs in FILE and share their intervals in the operation.

    The members' runs are verified and shared in the same transactions. Idempotent and resumable:
    intervals already shared are skipped; it stops at the first interval a member's runs do not
    reach, and names the meter.
    """
    signed = load_signed(file)
    with ctx.community() as community, progress("sharing intervals") as bar:
        seconds = community.interval_seconds
        task = bar.add_task("allocate", total=len({t for s in signed for t in s.run.interval_starts(seconds)}))
        report = run_allocation(community, signed, max_gas=max_gas, on_progress=lambda n: bar.advance(task, n))
    console.print(f"{report.intervals} intervals shared in {report.transactions} transactions, "
                  f"{report.already_allocated} already shared")
    if report.defaulted:
        shown = ", ".join(f"{_utc(i * seconds)} ({why})" for i, why in report.defaulted[:5])
        console.print(f"the default key shared {len(report.defaulted)} interval(s) instead of the operation's key: "
                      f"{shown}{' ...' if len(report.defaulted) > 5 else ''}")
    if report.incomplete:
        iid, meter = report.incomplete
        raise GridshareError(f"stopped at interval {iid}: member 0x{meter.hex()} has no run reaching it in {file} "
                             f"({report.why}); add its runs and run again")
