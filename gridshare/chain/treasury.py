"""The community treasury on a deployed community: members' votes, proposals, payouts, balances.

The chain adapter of ``CommunityVotes`` (the rule: :mod:`gridshare.domain.votes`),
``CommunityGovernor`` (OpenZeppelin Governor) and ``CommunityTreasury`` (its timelock, which holds
the payment token), for the ``gridshare treasury`` commands. Proposals and money flows are read
from events (``ProposalCreated``, the payment token's ``Transfer``), states and counts from the
governor's views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from eth_utils import keccak
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import BlockIdentifier

from gridshare.chain.deployment import DEVNETS, Community, ContractReverted
from gridshare.domain.votes import PROPOSAL_STATES, SUPPORT
from gridshare.errors import GridshareError
from gridshare.protocol.units import utc_text


@dataclass(frozen=True)
class Proposal:
    """A proposal as created (``ProposalCreated``), with its state and counts now."""

    id: int
    proposer: str
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str
    vote_start: int  # the snapshot: votes are read at this time; voting opens just after it
    vote_end: int
    state: str
    for_votes: int
    against_votes: int
    abstain_votes: int
    eta: int  # when a queued proposal may be executed (0 before it is queued)
    payout: tuple[str, int] | None  # (to, amount) when it is one payout in the payment token

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    @property
    def call_args(self) -> tuple[list[str], list[int], list[bytes], bytes]:
        """What ``queue`` and ``execute`` take."""
        return self.targets, self.values, self.calldatas, self.description_hash


@dataclass(frozen=True)
class Flow:
    """A movement of the payment token into or out of the treasury (a ``Transfer`` event)."""

    block: int
    counterparty: str  # who sent (an inflow) or received (a payout)
    amount: int


@dataclass(frozen=True)
class Balances:
    """The treasury's money, from the payment token's events, and what it is owed."""

    inflows: list[Flow]
    payouts: list[Flow]
    balance: int  # balanceOf(treasury) now: inflows - payouts
    ether: int  # wei held (ether sent to the treasury)
    fees_owed: int  # grid fees the market and the batch auction hold for the treasury (withdrawn by a proposal)

    @property
    def received(self) -> int:
        return sum(f.amount for f in self.inflows)

    @property
    def paid(self) -> int:
        return sum(f.amount for f in self.payouts)


def _block(c: Community) -> BlockIdentifier:
    """The block whose time the next transaction sees, for views that depend on time (a proposal's
    state, a proposer's votes a second ago): on a devnet its pending block (the embedded chain's is
    moved by time travel; anvil's has the time now, while its latest keeps the time of the last
    transaction, maybe minutes ago); elsewhere the latest (blocks come every few seconds)."""
    return "pending" if c.chain.network in DEVNETS else "latest"


def _send(c: Community, call, sender: str | None):
    """Send a governance call, checked first at the time it will run (:func:`_block`)."""
    sender = sender or c.chain.sender
    if c.chain.network not in DEVNETS:
        return c.transact(call, sender)
    try:
        call.call({"from": sender}, block_identifier=_block(c))
    except Exception as exc:  # noqa: BLE001 - a revert: named by its custom error
        decoded = c.errors.from_exception(exc)
        if decoded is None:
            raise
        raise ContractReverted(decoded) from None
    return c.transact(call, sender, simulated=True)


def _now(c: Community) -> int:
    return c.chain.w3.eth.get_block(_block(c))["timestamp"]


# --- votes ---------------------------------------------------------------------------------------

def registered_meters(c: Community) -> list[bytes]:
    """Every meter ever registered, in order (the registry's ``MeterRegistered`` events)."""
    logs = c.registry.events.MeterRegistered().get_logs(from_block=c.deployed_at)
    return list(dict.fromkeys(e["args"]["meterId"] for e in logs))


def sync(c: Community, meter_ids: Iterable[bytes] | None = None, sender: str | None = None
         ) -> list[tuple[bytes, int, int]]:
    """Bring each meter's weight to the rule (every registered meter by default): one ``sync``
    transaction per meter whose weight differs; returns (meter id, weight before, after) for those."""
    changed = []
    for meter_id in registered_meters(c) if meter_ids is None else meter_ids:
        before = c.votes.functions.meterWeight(meter_id).call()
        after = c.votes.functions.ruleWeight(meter_id).call()[0]  # reverts for an unknown meter
        if after != before:
            c.transact(c.votes.functions.sync(meter_id), sender)
            changed.append((meter_id, before, after))
    return changed


# --- proposals -----------------------------------------------------------------------------------

def _payout_of(c: Community, targets: list[str], values: list[int], calldatas: list[bytes]) -> tuple[str, int] | None:
    if len(targets) != 1 or targets[0] != c.payment.address or values[0] != 0:
        return None
    try:
        function, args = c.payment.decode_function_input(calldatas[0])
    except ValueError:
        return None
    return (args["to"], args["value"]) if function.fn_name == "transfer" else None


def proposals(c: Community) -> list[Proposal]:
    """Every proposal, oldest first, with its state and counts now."""
    g, block = c.governor.functions, _block(c)
    result = []
    for e in c.governor.events.ProposalCreated().get_logs(from_block=c.deployed_at):
        a = e["args"]
        pid = a["proposalId"]
        against, for_, abstain = g.proposalVotes(pid).call(block_identifier=block)
        targets, values, calldatas = list(a["targets"]), list(a["values"]), [bytes(d) for d in a["calldatas"]]
        result.append(Proposal(pid, a["proposer"], targets, values, calldatas, a["description"], a["voteStart"],
                               a["voteEnd"], PROPOSAL_STATES[g.state(pid).call(block_identifier=block)], for_,
                               against, abstain, g.proposalEta(pid).call(block_identifier=block),
                               _payout_of(c, targets, values, calldatas)))
    return result


def proposal(c: Community, proposal_id: int) -> Proposal:
    for p in proposals(c):
        if p.id == proposal_id:
            return p
    raise GridshareError(f"no proposal {proposal_id} in this community (`gridshare treasury status` lists them)")


def _propose(c: Community, targets: list[str], calldatas: list[bytes], description: str, sender: str | None) -> int:
    if not description.strip():
        raise GridshareError("a proposal needs a description (what it pays for and why)")
    sender = sender or c.chain.sender
    needed = c.governor.functions.proposalThreshold().call()
    held = c.votes.functions.getVotes(sender).call(block_identifier=_block(c))  # (the governor: a second before)
    if held < needed:
        raise GridshareError(f"{sender} holds {held:,} vote units; proposing needs {needed:,}: sync its meters first "
                             "(`gridshare treasury sync`)")
    values = [0] * len(targets)
    try:
        receipt = _send(c, c.governor.functions.propose(targets, values, calldatas, description), sender)
    except ContractReverted as exc:
        if exc.error.name == "GovernorInsufficientProposerVotes":  # it holds them, but since this second
            raise GridshareError(f"{sender}'s votes were synced a moment ago: the governor counts a proposer's votes "
                                 "as of the second before the proposal (so that none are borrowed for it); retry in "
                                 "a second") from None
        raise
    (created,) = c.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    return created["args"]["proposalId"]


def propose_payout(c: Community, to: str, amount: int, description: str, sender: str | None = None) -> int:
    """Propose that the treasury pays ``amount`` base units of the payment token to ``to``; the
    proposal's id."""
    return propose_payouts(c, [(to, amount)], description, sender)


def propose_payouts(c: Community, payouts: list[tuple[str, int]], description: str, sender: str | None = None) -> int:
    """Propose that the treasury pays each ``(to, amount)`` (base units of the payment token), all
    in one proposal; the proposal's id."""
    if not payouts or any(amount <= 0 for _, amount in payouts):
        raise GridshareError(f"payouts must be positive, not {[amount for _, amount in payouts]}")
    data = [bytes.fromhex(c.payment.encode_abi("transfer", [to, amount])[2:]) for to, amount in payouts]
    return _propose(c, [c.payment.address] * len(payouts), data, description, sender)


def _fee_holders(c: Community) -> list[Contract]:
    return [m for m in (c.market, c.batch) if m.functions.claimable(c.treasury.address).call() > 0]


def propose_fee_collection(c: Community, description: str, sender: str | None = None) -> int:
    """Propose that the treasury withdraws the grid fees the market and the batch auction hold for
    it (pull payments: only the treasury itself can withdraw them)."""
    holders = _fee_holders(c)
    if not holders:
        raise GridshareError("the market holds no grid fee for the treasury")
    data = bytes.fromhex(c.market.encode_abi("withdraw", [])[2:])
    return _propose(c, [m.address for m in holders], [data] * len(holders), description, sender)


def vote(c: Community, proposal_id: int, support: str, reason: str = "", sender: str | None = None) -> int:
    """Cast the sender's vote (``for``, ``against`` or ``abstain``); its weight, read at the snapshot."""
    if support not in SUPPORT:
        raise GridshareError(f"a vote is one of {', '.join(SUPPORT)}, not {support!r}")
    p = proposal(c, proposal_id)
    if p.state != "Active":
        opens = f" (voting opens after {utc_text(p.vote_start)})" if p.state == "Pending" else ""
        raise GridshareError(f"proposal {proposal_id} is {p.state.lower()}{opens}: votes are cast while it is active, "
                             f"until {utc_text(p.vote_end)}")
    call = (c.governor.functions.castVoteWithReason(proposal_id, SUPPORT[support], reason) if reason
            else c.governor.functions.castVote(proposal_id, SUPPORT[support]))
    receipt = _send(c, call, sender)
    (cast,) = c.governor.events.VoteCast().process_receipt(receipt, errors=DISCARD)
    return cast["args"]["weight"]


def queue(c: Community, proposal_id: int, sender: str | None = None) -> int:
    """Queue a proposal that passed in the treasury; when it may be executed."""
    p = proposal(c, proposal_id)
    if p.state != "Succeeded":
        raise GridshareError(f"proposal {proposal_id} is {p.state.lower()}: only a proposal that passed is queued")
    _send(c, c.governor.functions.queue(*p.call_args), sender)
    return c.governor.functions.proposalEta(proposal_id).call(block_identifier=_block(c))


def execute(c: Community, proposal_id: int, sender: str | None = None) -> None:
    """Execute a queued proposal once the treasury's delay has passed (anyone may)."""
    p = proposal(c, proposal_id)
    if p.state != "Queued":
        raise GridshareError(f"proposal {proposal_id} is {p.state.lower()}: only a queued proposal is executed")
    if _now(c) < p.eta:
        raise GridshareError(f"proposal {proposal_id} is queued until {utc_text(p.eta)}: execute it after")
    _send(c, c.governor.functions.execute(*p.call_args), sender)


# --- money ---------------------------------------------------------------------------------------

def donate(c: Community, amount: int, sender: str | None = None) -> None:
    """Give the treasury ``amount`` base units of the payment token (a plain transfer)."""
    if amount <= 0:
        raise GridshareError(f"a donation must be positive, not {amount}")
    sender = sender or c.chain.sender
    held = c.payment.functions.balanceOf(sender).call()
    if held < amount:
        raise GridshareError(f"{sender} holds {held:,} base units of the payment token, less than {amount:,}")
    c.transact(c.payment.functions.transfer(c.treasury.address, amount), sender)


def balances(c: Community) -> Balances:
    """What came into the treasury and what it paid, from the payment token's ``Transfer`` events."""
    transfer = c.payment.events.Transfer()
    at = c.treasury.address
    inflows = [Flow(e["blockNumber"], e["args"]["from"], e["args"]["value"])
               for e in transfer.get_logs(from_block=c.deployed_at, argument_filters={"to": at})]
    payouts = [Flow(e["blockNumber"], e["args"]["to"], e["args"]["value"])
               for e in transfer.get_logs(from_block=c.deployed_at, argument_filters={"from": at})]
    owed = sum(m.functions.claimable(at).call() for m in (c.market, c.batch))
    return Balances(inflows, payouts, c.payment.functions.balanceOf(at).call(), c.chain.w3.eth.get_balance(at), owed)
