"""`gridshare devnet ...`: the local anvil devnet kept between commands."""

from __future__ import annotations


import click
from web3.types import RPCEndpoint

from gridshare.chain import deployment, network
from gridshare.cli.context import Context, console, pass_ctx
from gridshare.cli.params import DAYS, LAST_TIME
from gridshare.errors import GridshareError
from gridshare.protocol.units import utc_text


@click.group()
def devnet():
    """The local anvil devnet kept between commands."""


@devnet.command()
@click.option("--days", type=DAYS, required=True, help="How far, in days (e.g. 1 or 0.25).")
@pass_ctx
def advance(ctx: Context, days):
    """Move the anvil devnet's clock forward (to test what takes time: readings, expiry)."""
    if ctx.network_name != "anvil" or ctx.rpc_url:
        raise GridshareError("only the anvil devnet's clock can move: add --network anvil")
    seconds = int(days * 86_400)
    with ctx.chain() as chain:
        before = chain.w3.eth.get_block("latest")["timestamp"]
        if before + seconds > LAST_TIME:
            raise GridshareError(f"--days {days:g} would move the devnet past the year 9999 (it is "
                                 f"{utc_text(before)}): the clock cannot move back; give fewer days")
        chain.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
        chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        now = chain.w3.eth.get_block("latest")["timestamp"]
    console.print(f"devnet time is now {utc_text(now)}")


@devnet.command()
@click.option("--port", type=click.IntRange(1024, 65535), default=8545, show_default=True,
              help="The port the devnet's JSON-RPC listens on (127.0.0.1).")
def start(port: int):
    """Run the devnet (its state in .gridshare/, or $GRIDSHARE_STATE_DIR) until Ctrl-C: a dApp or a
    wallet connects to it, and every `--network anvil` command attaches to it meanwhile."""
    state = network.default_anvil_state()

    def ready(url: str) -> None:
        manifest = deployment.manifest_path(network.ANVIL_CHAIN_ID)
        console.print(f"devnet at {url} (chain {network.ANVIL_CHAIN_ID}), state {state}", highlight=False)
        console.print(f"contracts: {manifest if manifest.exists() else 'none yet: gridshare --network anvil deploy'}; "
                      "`gridshare --network anvil ...` commands use this devnet; Ctrl-C stops it, keeping its state",
                      highlight=False)

    network.serve_devnet(state, port, ready)
    console.print("devnet stopped; its state is kept (gridshare devnet start resumes it)")


@devnet.command()
def reset():
    """Forget the anvil devnet's state and its manifest."""
    url = network.running_devnet(network.default_anvil_state())
    if url is not None:
        raise GridshareError(f"the devnet runs at {url}: stop it (Ctrl-C where `gridshare devnet start` runs) first")
    for path in (network.default_anvil_state(), deployment.manifest_path(network.ANVIL_CHAIN_ID)):
        if path.exists():
            path.unlink()
            console.print(f"removed {path}")
