"""`gridshare solidarity ...`: crypto-kWh given to the operation's energy-poor members."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation

import click
from rich.table import Table

from gridshare.chain import solidarity as s
from gridshare.chain.operation import members
from gridshare.cli.context import Context, console, pass_ctx, show
from gridshare.cli.params import ADDRESS, WH, WHEN, interval_of
from gridshare.errors import GridshareError
from gridshare.protocol.units import utc_text

#: intervals per distribution transaction, and days of intervals per command
PAGE = 48
MOST_DAYS = 31


def _bps(percent: str) -> int:
    try:
        bps = Decimal(percent) * 100
    except InvalidOperation:
        bps = Decimal(-1)
    if not bps.is_finite() or not 0 <= bps <= 10_000 or bps != bps.to_integral_value():
        raise GridshareError(f"share {percent!r}: give a percentage from 0 to 100 with at most 2 decimals (e.g. 10)")
    return int(bps)


@click.group()
def solidarity():
    """Energy given to the operation's energy-poor members (docs/protocol.md, "Solidarity")."""


@solidarity.command("flag")
@click.argument("account", type=ADDRESS)
@click.option("--off", is_flag=True, help="Unflag the account instead.")
@pass_ctx
def solidarity_flag(ctx: Context, account, off):
    """Flag ACCOUNT (a member of the operation) as energy-poor, or unflag it (the operator)."""
    with ctx.community() as c:
        s.flag(c, account, not off)
    console.print(f"{account} is {'no longer ' if off else ''}flagged energy-poor (public on-chain)")


@solidarity.command("pledge")
@click.argument("percent")
@pass_ctx
def solidarity_pledge(ctx: Context, percent):
    """Pledge PERCENT of the sender's surplus of each interval to the energy-poor members (0 withdraws)."""
    bps = _bps(percent)
    with ctx.community() as c:
        s.pledge(c, c.chain.sender, bps)
        sender = c.chain.sender
    console.print(f"{sender} pledges {bps / 100:g} % of its surplus" if bps else f"{sender} withdrew its pledge")


@solidarity.command("give")
@click.argument("interval")
@click.argument("recipient", type=ADDRESS)
@click.argument("wh", type=WH)
@pass_ctx
def solidarity_give(ctx: Context, interval, recipient, wh):
    """Give WH of the sender's crypto-kWh of INTERVAL (its id or start time) to the energy-poor RECIPIENT."""
    with ctx.community() as c:
        iid = interval_of(interval, c.interval_seconds)
        s.give(c, c.chain.sender, iid, recipient, wh)
        when = utc_text(iid * c.interval_seconds)
    console.print(f"gave {wh:,} Wh of {when} to {recipient}: consumed by it (its claim)")


@solidarity.command("distribute")
@click.argument("giver", type=ADDRESS)
@click.option("--from", "start", type=WHEN, required=True, help="First interval's day or time (UTC).")
@click.option("--to", "end", type=WHEN, required=True, help="End (exclusive) day or time (UTC).")
@pass_ctx
def solidarity_distribute(ctx: Context, giver, start, end):
    """Distribute GIVER's pledge for the intervals in [--from, --to) that the operation has shared and
    nobody distributed yet (anyone may send it; the gifts follow from the pledge and the ledger)."""
    with ctx.community() as c:
        seconds = c.interval_seconds
        last = c.operation.functions.lastAllocated().call()
        if c.solidarity.functions.pledgeOf(giver).call() == 0:
            raise GridshareError(f"{giver} pledged nothing: nothing to distribute")
        joined = min((m.from_interval for m in members(c)), default=last + 1)  # nothing shared before
        first, stop = max(-(-start // seconds), joined), min(end // seconds, last + 1)
        most = MOST_DAYS * 86_400 // seconds
        if stop - first > most:
            raise GridshareError(f"[--from, --to) holds {stop - first:,} shared intervals: distribute at most "
                                 f"{most:,} ({MOST_DAYS} days) at a time")
        done = c.solidarity.functions.distributed
        todo = [i for i in range(first, stop) if not done(giver, i).call()]
        if not todo:
            console.print(f"nothing to distribute: the operation has shared up to {utc_text((last + 1) * seconds)}, "
                          "and every interval of the period it shared is distributed")
            return
        gifts = []
        for k in range(0, len(todo), PAGE):
            gifts += s.distribute(c, giver, todo[k:k + PAGE])
    console.print(f"distributed {len(todo):,} intervals: {sum(g.wh for g in gifts):,} Wh given in {len(gifts):,} gifts")


@solidarity.command("list")
@pass_ctx
def solidarity_list(ctx: Context):
    """The energy-poor members, the pledges, and what each account gave and received."""
    with ctx.community(read_only=True) as c:
        poor = s.energy_poor(c)
        gifts = s.gifts(c)
        pledges = {e.args.giver: e.args.shareBps for e in c.solidarity.events.Pledged().get_logs(
            from_block=c.view.block("Solidarity"))}
    gave, got = Counter[str](), Counter[str]()
    for g in gifts:
        gave[g.giver] += g.wh
        got[g.recipient] += g.wh
    table = Table(title=f"solidarity: {len(poor)} energy-poor members, {sum(1 for v in pledges.values() if v)} pledges",
                  title_justify="left")
    for header, right in (("account", False), ("energy-poor", False), ("pledge %", True), ("gave Wh", True),
                          ("received Wh", True)):
        table.add_column(header, justify="right" if right else "left")
    for account in dict.fromkeys([*poor, *pledges, *gave, *got]):
        table.add_row(account, "yes" if account in poor else "", f"{pledges.get(account, 0) / 100:g}",
                      f"{gave[account]:,}", f"{got[account]:,}")
    show(table, empty="nobody flagged, pledged or gave yet: `gridshare solidarity flag ADDRESS` (operator)")
