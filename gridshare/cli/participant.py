"""`gridshare participant ...`: the community's participants."""

from __future__ import annotations

import click

from gridshare.cli.context import Context, console, pass_ctx
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
