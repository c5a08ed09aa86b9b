"""`gridshare operation ...` and `gridshare allocate`: the collective self-consumption operation."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from gridshare.chain.key_file import key_columns, key_rows
from gridshare.chain.operation import STILL_IN, join, key_name, members
from gridshare.chain.operation import allocate as run_allocation
from gridshare.cli.context import Context, console, pass_ctx, progress, show
from gridshare.cli.params import METER_ID, METER_POINT, OUTPUT_FILE, WHEN, salt_option
from gridshare.domain import perimeter
from gridshare.errors import GridshareError
from gridshare.protocol.meters import meter_id
from gridshare.protocol.readings import load_signed
from gridshare.reports.community import period as report_period
from gridshare.reports.key_file import write_key_file
from gridshare.protocol.units import aligned_interval_id, utc_text


@click.group()
def operation():
    """The collective self-consumption operation: its members."""


@operation.command("join")
@click.argument("meter_ids", nargs=-1, required=True, type=METER_ID)
@click.option("--from", "start", type=WHEN, required=True,
              help="First day (YYYY-MM-DD) or interval (YYYY-MM-DDTHH:MM) in the operation, UTC; no reading of "
                   "the meters may be verified from then on (see `meter state`).")
@click.option("--sites", type=click.Path(path_type=Path), required=True,
              help="CSV name,latitude,longitude,capacity_kw[,substation] of every member (name = meterId), kept "
                   "off-chain.")
@click.option("--zone", type=click.Choice(["urban", "peri-urban", "rural"]), default="urban", show_default=True,
              help="Perimeter: 2, 10 or 20 km between the two furthest members (members all behind one HV/LV "
                   "substation, a substation column in --sites, need no distance).")
@click.option("--exemption", help="The reference of the exemption granting a peri-urban or rural perimeter "
              "(required with those zones).")
@click.option("--capacity-rule", type=click.Choice(["default", "public", "non-interconnected"]), default="default",
              show_default=True, help="Production capacity limit: 5 MW, 10 MW or 0.5 MW.")
@pass_ctx
def operation_join(ctx: Context, meter_ids, start, sites, zone, exemption, capacity_rule):
    """Add meters (0x meterIds) to the operation from --from on (operator), after checking the
    operation's perimeter (distance and capacity) from the members' coordinates."""
    known = perimeter.load_sites(sites)
    with ctx.community() as community:
        everyone = {m.meter_id for m in members(community)} | set(meter_ids)
        missing = ["0x" + i.hex() for i in everyone if "0x" + i.hex() not in known]
        if missing:
            raise GridshareError(f"{sites} has no site for {missing[0]} ({len(missing)} members missing)")
        widest, total = perimeter.check([known["0x" + i.hex()] for i in everyone], zone=zone, capacity=capacity_rule,
                                        exemption=exemption)
        first = aligned_interval_id(start, community.interval_seconds, f"--from {utc_text(start)}")
        join(community, list(meter_ids), first)
    console.print(f"{len(meter_ids)} meters in the operation from {utc_text(start)} (perimeter {widest:.2f} km, "
                  f"{total:,.0f} kW of production)")


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
        table.add_row("0x" + m.meter_id.hex(), m.account, utc_text(m.from_interval * seconds),
                      "" if m.until_interval == STILL_IN else utc_text(m.until_interval * seconds))
    show(table, "no members yet")


@operation.command("key-file")
@click.option("--month", type=click.DateTime(["%Y-%m"]), required=True, help="The month, YYYY-MM (UTC days).")
@click.option("--out", "output", type=OUTPUT_FILE, required=True, help="The key file to write (CSV, ';').")
@click.option("--point", "points", multiple=True, type=METER_POINT,
              help="A member's meter point (PRM), repeated: its column is named by it (needs the community salt).")
@salt_option
@click.option("--tz", default="Europe/Paris", show_default=True, help="Time zone of the file's times.")
@pass_ctx
def operation_key_file(ctx: Context, month, output, points, salt, tz):
    """Write the operation's key of a month for the grid operator: per interval, each member's
    coefficient (0.1 % steps) that gives back the Wh the chain shared (docs/enedis.md)."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        raise GridshareError(f"--tz {tz!r} is not a time zone (e.g. Europe/Paris)") from None
    if points and salt is None:
        raise GridshareError("--point names columns by meter point: pass --salt HEX or set GRIDSHARE_COMMUNITY_SALT")
    start, end = report_period(month=f"{month:%Y-%m}")
    with ctx.community(read_only=True) as community:
        accounts, rows = key_rows(community, start, end)
        by_meter = {m.meter_id: m.account for m in members(community)}
        seconds = community.interval_seconds
        unknown = [p for p in points if salt is not None and meter_id(salt, p) not in by_meter]
        if unknown:
            raise GridshareError(f"meter point(s) {', '.join(unknown)} are not members of the operation (check the "
                                 "points and the salt)")
        columns = key_columns(community, accounts, {by_meter[meter_id(salt, p)]: p for p in points})
    if not rows:
        console.print(f"no interval with production in {month:%Y-%m}: nothing written")
        return
    write_key_file(output, columns, rows, interval_seconds=seconds, tz=tz)
    inexact = [r for r in rows if not r.exact]
    console.print(f"{len(rows)} intervals of {month:%Y-%m} written to {output}: {len(rows) - len(inexact)} give back "
                  "the chain's shares exactly", highlight=False)
    if inexact:
        console.print(f"{len(inexact)} were shared finer than 0.1 % (not a coefficient key): the grid operator will "
                      f"allocate up to {max(r.deviation_wh for r in inexact):,} Wh less to a member in one of them",
                      highlight=False)


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
        shown = ", ".join(f"{utc_text(i * seconds)} ({why})" for i, why in report.defaulted[:5])
        console.print(f"the default key shared {len(report.defaulted)} interval(s) instead of the operation's key: "
                      f"{shown}{' ...' if len(report.defaulted) > 5 else ''}")
    if report.incomplete:
        iid, meter = report.incomplete
        raise GridshareError(f"stopped at interval {iid}: member 0x{meter.hex()} has no run reaching it in {file} "
                             f"({report.why}); add its runs and run again")
