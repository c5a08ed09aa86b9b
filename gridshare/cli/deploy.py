"""`gridshare compile` and `gridshare deploy`: the contracts, built and deployed."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import click

from gridshare.chain import compiler, deployment, js_client
from gridshare.chain.network import Chain
from gridshare.cli.context import Context, console, pass_ctx
from gridshare.cli.params import ADDRESS
from gridshare.errors import GridshareError
from gridshare.protocol.manifest import read_manifest
from gridshare.protocol.market import MARKET_DESIGNS
from gridshare.protocol.units import to_base_units


@click.command("compile")
@click.option("--write-abi", is_flag=True, help="Write abi/<ContractName>.json, and the JavaScript client's "
              "js/contracts.mjs and js/contracts.d.mts generated from them.")
def compile_cmd(write_abi):
    """Compile the contracts with the pinned solc."""
    artifacts = compiler.compile_contracts(use_cache=False)
    for name, a in artifacts.items():
        console.print(f"{name}: {len(a.bytecode) // 2 - 1:,} bytes of creation code")
    if write_abi:
        for path in [*compiler.write_abis(artifacts), *js_client.write()]:
            console.print(f"wrote {path.relative_to(compiler.project_root())}")


@click.command()
@click.option("--interval", "interval_seconds", type=click.Choice(["900", "1800"]), default="900", show_default=True,
              help="Metering interval in seconds.")
@click.option("--expiry-months", type=click.IntRange(1, 255), default=12, show_default=True,
              help="Guarantees of origin expire this many months after the start of their production period.")
@click.option("--issuing-body", type=ADDRESS, help="Account that issues guarantees of origin [default on "
              "embedded/anvil: the deployer; elsewhere required, and not the deployer].")
@click.option("--issuer-is-operator", is_flag=True, help="Accept the deployer (the operator, who requests "
              "certificates) as the issuing body off devnets.")
@click.option("--admin-delay", type=click.IntRange(0, 2**48 - 1), default=None,
              help="Seconds between the two steps of an admin transfer [default: 0 on embedded/anvil, 2 days "
                   "elsewhere].")
@click.option("--key", "allocation_key", type=click.Choice(deployment.KEY_MODES), default="dynamic-default",
              show_default=True, help="The self-consumption operation's allocation key.")
@click.option("--market", "market_design", type=click.Choice(MARKET_DESIGNS), default="continuous",
              show_default=True, help="Market design: continuous pay-as-bid, or a call auction at gate closure.")
@click.option("--payment-token", type=ADDRESS, help="The market's ERC-20 [default on embedded/anvil: a new TestEuro].")
@click.option("--prices", default="0.252,0.04,0.01", show_default=True,
              help="Retail, feed-in and grid fee per kWh, in payment tokens (6 decimals assumed for TestEuro).")
@click.option("--gate-closure", "gate_closure_delay", type=click.IntRange(min=0), default=None,
              help="Seconds after an interval's end until its orders close [default: one interval].")
@click.option("--min-order", "min_order_wh", type=click.IntRange(1, 2**40 - 1),
              default=deployment.DEFAULT_MIN_ORDER_WH, show_default=True,
              help="The market's smallest order, in Wh (dust orders cost every clearing).")
@click.option("--governance", metavar="DELAY,PERIOD,QUORUM,TIMELOCK,CAP", default=None,
              help="The treasury's governance: seconds before a vote opens, seconds of voting, quorum in percent "
                   "of the votes, seconds a passed proposal waits in the treasury, Wh of yearly export a meter's "
                   "vote counts at most [default: 86400,604800,20,172800,10000000; on embedded/anvil "
                   "1,300,20,60,10000000].")
@click.option("--force", is_flag=True, help="Deploy even though the chain has a community already: its manifest "
              "is replaced, a copy kept as <chainId>.json.<time>.bak.")
@pass_ctx
def deploy(ctx: Context, interval_seconds, expiry_months, issuing_body, issuer_is_operator, admin_delay,
           allocation_key, market_design, payment_token, prices, gate_closure_delay, min_order_wh, governance,
           force):
    """Deploy the community's contracts; write deployments/<chainId>.json."""
    retail, feed_in, fee = _prices(prices)
    settings = _governance(governance)
    with ctx.chain() as chain:
        backup = _keep_manifest(chain, force)
        try:
            community = deployment.deploy(chain, interval_seconds=int(interval_seconds), expiry_months=expiry_months,
                                          issuing_body=issuing_body, allocation_key=allocation_key,
                                          market_design=market_design, payment_token=payment_token,
                                          retail_price=retail, feed_in_price=feed_in, grid_fee=fee,
                                          gate_closure_delay=gate_closure_delay, min_order_wh=min_order_wh,
                                          admin_delay=admin_delay, governance=settings,
                                          issuer_is_operator=issuer_is_operator)
        except BaseException:
            if backup is not None:  # refused or failed: the manifest was not replaced, its copy is not needed
                backup.unlink()
            raise
        for name, c in community.manifest["contracts"].items():
            console.print(f"{name:<17} {c['address']}  (block {c['blockNumber']})")
        path = deployment.manifest_path(chain.chain_id)
        root = compiler.project_root()
        console.print(f"manifest: {path.relative_to(root) if path.is_relative_to(root) else path}")
        if backup is not None:
            console.print(f"the previous manifest is kept as {backup}", highlight=False)
        if chain.network == "embedded":
            console.print("[yellow]note:[/] the embedded chain ends with this command; use --network anvil to keep it")


def _keep_manifest(chain: Chain, force: bool) -> Path | None:
    """Before a deployment over an existing manifest: refuse if its community is on the chain
    (replacing the manifest would make that community unreachable from the command line) unless
    ``force``; then copy it aside. The copy's path, or None when there was nothing to keep."""
    path = deployment.manifest_path(chain.chain_id)
    if chain.network == "embedded" or not path.exists():  # the embedded chain's community ends with its command
        return None
    try:
        registry = read_manifest(path).address("MeterRegistry")
        live = bool(chain.w3.eth.get_code(chain.w3.to_checksum_address(registry)))
    except (GridshareError, ValueError):
        registry, live = None, False  # a damaged manifest: nothing reachable to lose, but keep a copy
    if live and not force:
        raise GridshareError(f"chain {chain.chain_id} has a community already ({path}, MeterRegistry {registry}): a "
                             "new deployment would make it unreachable from the command line; pass --force to "
                             "deploy anyway (the manifest is kept as a .bak copy), or `gridshare devnet reset` first")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    shutil.copy2(path, backup)
    return backup


def _governance(text: str | None) -> deployment.Governance | None:
    """--governance "delay,period,quorum,timelock,cap" as whole numbers (None: the defaults)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 5 or not all(p.isdigit() for p in parts):
        raise GridshareError(f"--governance {text!r}: give five whole numbers DELAY,PERIOD,QUORUM,TIMELOCK,CAP, e.g. "
                             "86400,604800,20,172800,10000000")
    delay, period, quorum, timelock, cap = (int(p) for p in parts)
    return deployment.Governance(voting_delay=delay, voting_period=period, quorum_percent=quorum,
                                 timelock_delay=timelock, vote_cap_wh=cap)


def _prices(text: str) -> tuple[int, int, int]:
    """--prices "retail,feed-in,fee" in tokens per kWh, as base units of a 6-decimal token."""
    try:
        values = [to_base_units(v) for v in text.split(",")]
    except GridshareError:
        values = []
    if len(values) != 3:
        raise GridshareError(f"--prices {text!r}: give retail,feed-in,grid-fee per kWh, e.g. 0.252,0.04,0.01")
    return values[0], values[1], values[2]
