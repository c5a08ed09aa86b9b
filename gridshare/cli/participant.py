"""`gridshare participant ...`: the community's participants."""

from __future__ import annotations

import click
from rich.table import Table

from gridshare.chain import ledger
from gridshare.cli.context import Context, console, pass_ctx, show
from gridshare.cli.params import ADDRESS


@click.group()
def participant():
    """Participants of the community."""


@participant.command("add")
@click.argument("address", type=ADDRESS)
@pass_ctx
def participant_add(ctx: Context, address):
    """Admit ADDRESS as a participant (operator only)."""
    with ctx.community() as community:
        community.transact(community.registry.functions.registerParticipant(address))
    console.print(f"participant {address} registered")


@participant.command("list")
@pass_ctx
def participant_list(ctx: Context):
    """Every participant, in the order admitted, with its meters (from the registry's events)."""
    with ctx.community(read_only=True) as community:
        admitted = ledger.participants(community)
        meters = ledger.meters(community)
        contracts = {c["address"]: name for name, c in community.manifest["contracts"].items()}
    table = Table(title=f"{len(admitted)} participants", title_justify="left")
    for header in ("account", "meters", "kinds"):
        table.add_column(header)
    for account in admitted:
        own = [m for m in meters.values() if m.owner == account]
        kinds = ", ".join(sorted({m.kind.name.lower() for m in own}))
        table.add_row(account, str(len(own)), kinds or (f"the {contracts[account]} (holds escrows)" if account in contracts
                                                          else "-"))
    show(table, empty="no participant yet: `gridshare participant add ADDRESS` (operator)")
