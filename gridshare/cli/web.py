"""`gridshare web`: the members' web app, served for the community of a running chain."""

from __future__ import annotations

import click

from gridshare import web as webapp
from gridshare.cli.context import Context, console, pass_ctx
from gridshare.errors import GridshareError


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="The port the app listens on (127.0.0.1; 0: a free one).")
@click.option("--no-build", is_flag=True, help="Serve webapp/dist as it is (default: build it first, ~1 s).")
@pass_ctx
def web(ctx: Context, port: int, no_build: bool):
    """Serve the members' web app until Ctrl-C: each member's production, consumption, local share,
    supplier complement, trades, certificates and claims per month, day and interval, and the
    operator's view (members, R15 quantities per interval, key files), read from the chain."""
    if ctx.network_name == "embedded" and not ctx.rpc_url:
        raise GridshareError("the web app reads a chain that outlives the command: run `gridshare devnet start` in "
                             "another terminal, then `gridshare --network anvil web` (or give --rpc-url URL)")
    if not no_build:
        webapp.build()
    with ctx.community(read_only=True) as community:
        rpc = community.chain.rpc_url
        if rpc is None:
            raise GridshareError("this chain has no JSON-RPC URL for the page to read: use --network anvil or --rpc-url")

        def ready(url: str) -> None:
            console.print(f"members' web app at {url} (community on chain {community.chain.chain_id}, read from "
                          f"{rpc}); Ctrl-C stops it", highlight=False)

        webapp.serve(community, rpc, port, ready)
