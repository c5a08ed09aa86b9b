"""`gridshare treasury ...`: the community treasury the members govern, from the command line.

Amounts are in payment tokens (``12.5`` = 12.5 tEUR); votes in votes (one vote = 1 MWh of
verified export, every active meter has one); proposals by their number (1, 2, 3...).
"""

from __future__ import annotations

import click
from rich.table import Table

from gridshare.chain import treasury as t
from gridshare.chain.deployment import Community
from gridshare.cli.context import Context, console, pass_ctx, show
from gridshare.cli.params import ADDRESS, METER_ID, TOKENS, UInt
from gridshare.domain.votes import SUPPORT, VOTE_DECIMALS
from gridshare.protocol.units import from_base_units, to_base_units, utc_text

#: a proposal's number (the governor numbers them from 1)
PROPOSAL_ID = UInt(256, 1, "a proposal number")


def _money(c: Community, units: int) -> str:
    return f"{from_base_units(units, c.payment_decimals):f}"


def _votes(units: int) -> str:
    return f"{from_base_units(units, VOTE_DECIMALS):f}"


def _symbol(c: Community) -> str:
    return c.payment.functions.symbol().call()


@click.group()
def treasury():
    """The community treasury: what the community earns, paid out by the members' votes."""


@treasury.command("status")
@pass_ctx
def treasury_status(ctx: Context):
    """The treasury's money, the governance settings, the sender's votes and every proposal."""
    with ctx.community(read_only=True) as c:
        b = t.balances(c)
        g, v = c.governor.functions, c.votes.functions
        symbol = _symbol(c)
        total = v.totalSupply().call()
        console.print(f"treasury {c.treasury.address}: {_money(c, b.balance)} {symbol} (received "
                      f"{_money(c, b.received)} in {len(b.inflows)} transfers, paid {_money(c, b.paid)} in "
                      f"{len(b.payouts)}); {b.ether / 10**18:g} ether; grid fees owed by the market: "
                      f"{_money(c, b.fees_owed)} {symbol}")
        console.print(f"votes: {_votes(total)} in all, quorum {g.quorumNumerator().call()}% of the votes at a "
                      f"proposal's start; voting opens {g.votingDelay().call():,} s after a proposal and lasts "
                      f"{g.votingPeriod().call():,} s; the treasury waits {c.treasury.functions.getMinDelay().call():,}"
                      f" s before executing; {c.chain.sender} holds {_votes(v.getVotes(c.chain.sender).call())}")
        table = Table(title="Proposals", title_justify="left")
        for col in ("#", "state", "for", "against", "abstain", "payout", "description", "vote ends", "executable"):
            table.add_column(col, justify="right" if col in ("#", "for", "against", "abstain") else "left")
        for p in t.proposals(c):
            payout = f"{_money(c, p.payout[1])} {symbol} to {p.payout[0]}" if p.payout else f"{len(p.targets)} calls"
            table.add_row(str(p.id), p.state, _votes(p.for_votes), _votes(p.against_votes), _votes(p.abstain_votes),
                          payout, p.description.splitlines()[0][:60], utc_text(p.vote_end),
                          utc_text(p.eta) if p.eta else "")
        show(table, empty="no proposal yet: `gridshare treasury propose-payout TO AMOUNT --description ...`")


@treasury.command("sync")
@click.argument("meter_ids", nargs=-1, type=METER_ID)
@pass_ctx
def treasury_sync(ctx: Context, meter_ids):
    """Bring meters' votes to the rule (default: every registered meter); anyone may."""
    with ctx.community() as c:
        changed = t.sync(c, list(meter_ids) or None)
        for meter_id, before, after in changed:
            owner = c.registry.functions.meterOwner(meter_id).call()[0]
            console.print(f"0x{meter_id.hex()}: {_votes(before)} -> {_votes(after)} votes (owner {owner})")
        console.print(f"{len(changed)} meters synced; {_votes(c.votes.functions.totalSupply().call())} votes in all")


@treasury.command("propose-payout")
@click.argument("to", type=ADDRESS)
@click.argument("amount", type=TOKENS)
@click.option("--description", required=True, help="What it pays for and why (the proposal's text).")
@pass_ctx
def treasury_propose_payout(ctx: Context, to, amount, description):
    """Propose that the treasury pays AMOUNT payment tokens to TO."""
    with ctx.community() as c:
        pid = t.propose_payout(c, to, to_base_units(amount, c.payment_decimals, "the amount"), description)
        p = t.proposal(c, pid)
        console.print(f"proposal {pid}: pay {amount} {_symbol(c)} to {to}; votes from {utc_text(p.vote_start)} "
                      f"until {utc_text(p.vote_end)}")


@treasury.command("propose-fee-collection")
@click.option("--description", required=True, help="The proposal's text.")
@pass_ctx
def treasury_propose_fee_collection(ctx: Context, description):
    """Propose that the treasury withdraws the grid fees the market holds for it."""
    with ctx.community() as c:
        owed = t.balances(c).fees_owed
        pid = t.propose_fee_collection(c, description)
        console.print(f"proposal {pid}: withdraw {_money(c, owed)} {_symbol(c)} of grid fees into the treasury")


@treasury.command("vote")
@click.argument("proposal_id", type=PROPOSAL_ID)
@click.argument("support", type=click.Choice(list(SUPPORT)))
@click.option("--reason", default="", help="Said with the vote, on-chain.")
@pass_ctx
def treasury_vote(ctx: Context, proposal_id, support, reason):
    """Vote on a proposal while it is active, with the sender's votes at its start."""
    with ctx.community() as c:
        weight = t.vote(c, proposal_id, support, reason)
        console.print(f"{c.chain.sender} voted {support} proposal {proposal_id} with {_votes(weight)} votes")


@treasury.command("queue")
@click.argument("proposal_id", type=PROPOSAL_ID)
@pass_ctx
def treasury_queue(ctx: Context, proposal_id):
    """Queue a proposal that passed in the treasury (anyone may)."""
    with ctx.community() as c:
        eta = t.queue(c, proposal_id)
        console.print(f"proposal {proposal_id} queued: executable from {utc_text(eta)}")


@treasury.command("execute")
@click.argument("proposal_id", type=PROPOSAL_ID)
@pass_ctx
def treasury_execute(ctx: Context, proposal_id):
    """Execute a queued proposal once the treasury's delay has passed (anyone may)."""
    with ctx.community() as c:
        t.execute(c, proposal_id)
        balance = c.payment.functions.balanceOf(c.treasury.address).call()
        console.print(f"proposal {proposal_id} executed; the treasury holds {_money(c, balance)} {_symbol(c)}")


@treasury.command("donate")
@click.argument("amount", type=TOKENS)
@pass_ctx
def treasury_donate(ctx: Context, amount):
    """Give AMOUNT payment tokens to the treasury."""
    with ctx.community() as c:
        t.donate(c, to_base_units(amount, c.payment_decimals, "the amount"))
        balance = c.payment.functions.balanceOf(c.treasury.address).call()
        console.print(f"{c.chain.sender} gave {amount} {_symbol(c)}; the treasury holds {_money(c, balance)}")
