"""`gridshare balances` and `gridshare report`: what the ledger holds, for people."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from gridshare.chain import ledger
from gridshare.chain.owners import owners
from gridshare.chain.operation import defaulted_intervals
from gridshare.chain.quantities import quantities
from gridshare.chain.solidarity import gifts as solidarity_gifts
from gridshare.cli.context import Context, console, pass_ctx, show
from gridshare.cli.params import ADDRESS, LOCAL_PRICE, OUTPUT_FOLDER, WHEN, salt_option
from gridshare.domain.billing import MemberMonth
from gridshare.domain.reconcile import reconcile
from gridshare.errors import GridshareError
from gridshare.protocol.meters import meter_id
from gridshare.protocol.repartition import read_repartition
from gridshare.reports import community as report
from gridshare.reports.bills import write_bills
from gridshare.reports.reconcile import reconciliation_table, write_reconciliation


@click.command()
@click.option("--account", "accounts", type=ADDRESS, multiple=True, help="Only this participant (repeatable).")
@click.option("--from", "start", type=WHEN, help="Only intervals starting at or after this day or time (UTC).")
@click.option("--to", "end", type=WHEN, help="Only intervals starting before this day or time (UTC).")
@pass_ctx
def balances(ctx: Context, accounts, start, end):
    """Crypto-kWh per participant and interval: held, verified import, redeemed; with each
    participant's totals."""
    if start is not None and end is not None and end <= start:
        raise GridshareError("--to must come after --from")
    with ctx.community(read_only=True) as community:
        rows = ledger.positions(community, list(accounts) or None)
        seconds = community.interval_seconds
    rows = [p for p in rows if (start is None or p.interval_id * seconds >= start)
            and (end is None or p.interval_id * seconds < end)]
    table = Table(title="crypto-kWh per participant and interval (Wh)", title_justify="left")
    for col in ("participant", "interval (UTC)", "interval id", "held", "verified import", "redeemed"):
        table.add_column(col, justify="left" if col in ("participant", "interval (UTC)") else "right")
    for p in rows:
        when = datetime.fromtimestamp(p.interval_id * seconds, timezone.utc).strftime("%Y-%m-%d %H:%M")
        table.add_row(p.account, when, str(p.interval_id), f"{p.balance_wh:,}", f"{p.import_wh:,}", f"{p.redeemed_wh:,}")
    show(table, "no verified energy in that period" if start or end else "no verified energy yet")
    if rows:
        totals = Table(title="totals per participant (Wh)", title_justify="left")
        for col in ("participant", "intervals", "held", "verified import", "redeemed"):
            totals.add_column(col, justify="left" if col == "participant" else "right")
        for account in dict.fromkeys(p.account for p in rows):
            mine = [p for p in rows if p.account == account]
            totals.add_row(account, f"{len(mine):,}", *(f"{sum(getattr(p, f) for p in mine):,}"
                                                     for f in ("balance_wh", "import_wh", "redeemed_wh")))
        show(totals)


@click.command("report")
@click.option("--month", type=click.DateTime(["%Y-%m"]), required=True, help="The month to report, YYYY-MM.")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="Only this day of the month (adds a per-interval plot).")
@click.option("--out", "folder", type=OUTPUT_FOLDER, default=Path("reports"), show_default=True,
              help="Write into OUT/YYYY-MM (or OUT/YYYY-MM-DD with --day).")
@click.option("--tz", default="UTC", show_default=True, help="Time zone of the calendar days, e.g. Europe/Paris.")
@click.option("--local-price", type=LOCAL_PRICE, help="The operation's local price per kWh (e.g. 0.15): also "
              "write each member's statement, what it owes and earns at that price.")
@click.option("--reconcile", "repartition", type=click.Path(path_type=Path),
              help="The operation's results as the grid operator sent them (CSV, docs/enedis.md): compare them "
                   "with the chain's, per member and month (members by meter point, with the community salt).")
@salt_option
@pass_ctx
def report_cmd(ctx: Context, month, day, folder, tz, local_price, repartition, salt):
    """Collective self-consumption report: R15 quantities per participant and interval, rates, CSV and plots;
    with --local-price, the members' monthly statements; with --reconcile, the differences with the
    grid operator's figures (use --tz Europe/Paris for Enedis's months)."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise GridshareError(f"--tz {tz!r} is not a time zone (e.g. UTC, Europe/Paris)") from None
    if day is not None and (day.year, day.month) != (month.year, month.month):
        raise GridshareError(f"--day {day:%Y-%m-%d} is not in --month {month:%Y-%m}")
    start, end = report.period(month=f"{month:%Y-%m}", day=day.date() if day else None, tz=tz)
    label = f"{day:%d %B %Y}" if day else f"{month:%B %Y}"
    shared = None
    if repartition is not None:
        if salt is None:
            raise GridshareError("--reconcile matches members by meter point: pass --salt HEX or set "
                                 "GRIDSHARE_COMMUNITY_SALT")
        shared = [s for s in read_repartition(repartition) if start <= s.start < end]
    with ctx.community(read_only=True) as community:
        rows = quantities(community, start, end)
        defaulted = defaulted_intervals(community, start, end)
        gave, got = Counter[str](), Counter[str]()  # Solidarity's gifts of the period's intervals
        for g in solidarity_gifts(community):
            if start <= g.interval_id * community.interval_seconds < end:
                gave[g.giver] += g.wh
                got[g.recipient] += g.wh
        seconds = community.interval_seconds
        members = owners(community, {p: meter_id(salt, p) for p in sorted({s.prm for s in shared})}) if shared else {}
    name = f"{day:%Y-%m-%d}" if day else f"{month:%Y-%m}"
    if shared is not None:
        if not shared:
            raise GridshareError(f"{repartition} has no value in {label} ({tz}); check --month and --tz")
        diffs = reconcile(shared, rows, members, tz)
        path = write_reconciliation(diffs, folder / name / f"reconcile-{name}.csv")
        show(reconciliation_table(diffs, f"Grid operator against chain, {label}"))
        off = sum(1 for d in diffs if d.difference_wh or d.steps_differing)
        console.print(f"{off} of {len(diffs)} member-quantities differ; wrote {path}", highlight=False)
    if not rows:
        console.print(f"no verified energy in {label} ({tz})")
        return
    summary = report.summarize(rows, tz=tz, start=start, end=end)
    title = f"Collective self-consumption, {label}"
    paths = report.write_report(summary, folder / name, title)
    show(report.participants_table(summary, title))
    if defaulted:
        shown = ", ".join(f"{datetime.fromtimestamp(i * seconds, timezone.utc):%Y-%m-%d %H:%M} UTC ({why})"
                          for i, why in defaulted[:5])
        console.print(f"the default key (pro rata of consumption) shared {len(defaulted)} interval(s) instead of the "
                      f"operation's key, as the grid operator does: {shown}{' ...' if len(defaulted) > 5 else ''}",
                      highlight=False)
    if local_price is not None:
        months = [MemberMonth(p.account, p.label, p.totals, local_price, gave.get(p.account, 0), got.get(p.account, 0))
                  for p in summary.participants]
        paths += write_bills(months, folder / name, month=name)
        show(_bills_table(months, f"At the local price of {local_price}/kWh"))
    console.print("wrote " + ", ".join(str(p) for p in paths), highlight=False)


def _bills_table(months: list[MemberMonth], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("member", "received kWh", "owes", "given kWh", "earns", "balance"):
        table.add_column(col, justify="left" if col == "member" else "right")
    for m in months:
        table.add_row(m.label, f"{m.totals.autocons / 1000:,.3f}", f"{m.owes:,.2f}", f"{m.totals.autoprod / 1000:,.3f}",
                      f"{m.earns:,.2f}", f"{m.balance:+,.2f}")
    return table
