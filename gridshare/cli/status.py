"""`gridshare status`: where things stand, in one table: the chain, its clock, the community and
what waits for someone."""

from __future__ import annotations


import click
from rich.table import Table

from gridshare.chain import certificates, deployment
from gridshare.chain.operation import key_name, members
from gridshare.cli.context import Context, pass_ctx, show
from gridshare.protocol.guarantees import Status
from gridshare.protocol.units import utc_text

#: requests beyond these many are not read one by one (a public chain may hold thousands)
MOST_READ = 500


@click.command()
@pass_ctx
def status(ctx: Context):
    """The chain, its clock, the community's manifest and contracts, the operation's members and
    progress, the certificate requests waiting for the issuing body. Sends nothing."""
    with ctx.community(read_only=True) as c:
        w3 = c.chain.w3
        now = w3.eth.get_block("latest")["timestamp"]
        ms = members(c)
        last = c.operation.functions.lastAllocated().call()
        count = c.guarantees.functions.certificateCount().call()
        first = max(1, count - MOST_READ + 1)
        pending = [i for i in range(first, count + 1) if certificates.read(c, i).status == Status.PENDING]
        waiting = ", ".join(map(str, pending)) or "none"
        if count > MOST_READ:
            waiting += f" (among the last {MOST_READ} requests)"
        rows = [
            ("network", f"{c.chain.network} (chain {c.chain.chain_id})"),
            ("chain time", f"{utc_text(now)} (block {w3.eth.block_number:,})"),
            ("manifest", f"{deployment.manifest_path(c.chain.chain_id)} (gridshare {c.manifest.get('gridshare', '?')})"),
            ("MeterRegistry", c.registry.address),
            ("operator", c.manifest["settings"]["operator"]),
            ("issuing body", c.manifest["settings"]["issuingBody"]),
            ("operation", f"{len(ms)} members, key {key_name(c)}"),
            ("shared until", utc_text((last + 1) * c.interval_seconds) if last else "nothing shared yet"),
            ("certificates", f"{count:,} requested or issued"),
            ("waiting for approval", waiting),
            ("sender", c.chain.sender),
        ]
    table = Table(title="gridshare status", title_justify="left")
    table.add_column("what")
    table.add_column("value")
    for row in rows:
        table.add_row(*row)
    show(table)
