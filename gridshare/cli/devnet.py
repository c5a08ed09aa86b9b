"""`gridshare devnet ...`: the local anvil devnet kept between commands."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import click
from web3.types import RPCEndpoint

from gridshare.chain import deployment, network
from gridshare.cli.context import Context, console, pass_ctx
from gridshare.errors import GridshareError


@click.group()
def devnet():
    """The local anvil devnet kept between commands."""


#: The furthest the devnet's clock moves in one step: a clock past the year 9999 cannot be shown (or
#: undone but by ``devnet reset``), and no certificate or order waits longer than this.
MOST_DAYS = 3650


@devnet.command()
@click.option("--days", type=click.FloatRange(min=0, min_open=True, max=MOST_DAYS), required=True,
              help=f"How far, in days (fractions allowed; at most {MOST_DAYS}).")
@pass_ctx
def advance(ctx: Context, days):
    """Move the anvil devnet's clock forward (to test what takes time: readings, expiry)."""
    if not math.isfinite(days):  # nan passes FloatRange's comparisons
        raise click.BadParameter(f"{days!r} is not a number of days", param_hint="'--days'")
    if ctx.network_name != "anvil" or ctx.rpc_url:
        raise GridshareError("only the anvil devnet's clock can move: add --network anvil")
    with ctx.chain() as chain:
        chain.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [int(days * 86_400)])
        chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        now = chain.w3.eth.get_block("latest")["timestamp"]
    console.print(f"devnet time is now {datetime.fromtimestamp(now, timezone.utc):%Y-%m-%d %H:%M} UTC")


@devnet.command()
def reset():
    """Forget the anvil devnet's state and its manifest."""
    for path in (network.default_anvil_state(), deployment.manifest_path(network.ANVIL_CHAIN_ID)):
        if path.exists():
            path.unlink()
            console.print(f"removed {path}")
