"""The community treasury: members' votes from their meters' verified export (the rule of
gridshare.domain.votes), proposals, quorum, the timelock and payouts; every refusal by its exact
error; properties: weights are the rule whoever syncs and in whatever order, and the treasury holds
its inflows less the payouts executed."""

from __future__ import annotations

import json
import time

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from gridshare.chain import treasury as t
from gridshare.chain.compiler import compile_contracts
from gridshare.domain import votes as rule
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.units import DAY

from conftest import SALT, SOLAR, one_line_error, raise_view, reverts

BIG_W = 40_000_000  # 10 MWh per 15-minute interval: one interval can reach the cap
AGAINST, FOR, ABSTAIN = 0, 1, 2
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
READY = 2  # TimelockController.OperationState
TEUR = 1_000_000  # base units of one test euro
ZERO = "0x" + "00" * 20
PROPOSER_ROLE, EXECUTOR_ROLE, CANCELLER_ROLE = (keccak(text=r) for r in ("PROPOSER_ROLE", "EXECUTOR_ROLE",
                                                                            "CANCELLER_ROLE"))
ON_CHAIN = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def bitmap(*states: int) -> bytes:
    """OpenZeppelin's state bitmaps (Governor and TimelockController errors): a bit per state."""
    return sum(1 << s for s in states).to_bytes(32, "big")


def produce(env, m, exports: list[int], *, to_midnight: bool = True) -> list[tuple[int, int]]:
    """A run of ``m`` exporting ``exports`` from where its readings end, then (``to_midnight``) a
    signed outage up to the next UTC midnight so that its day counts; its (start, Wh) intervals."""
    start, imported, exported = env.registry.functions.meterState(m.id).call()[:3]
    signed = env.readings(m, start, [0] * len(exports), exports, import_register_wh=imported,
                          export_register_wh=exported)
    env.submit(signed)
    end = signed[0].run.end(900)
    if to_midnight and end % DAY:
        env.outage(m, (end // DAY + 1) * DAY)
    return [(start + 900 * k, wh) for k, wh in enumerate(exports)]


def fund(env, account: str, amount: int) -> None:
    env.c.transact(env.c.payment.functions.faucet(amount), account)


def expected(env, m, intervals) -> int:
    """The rule in pure Python, for a meter whose verified intervals are ``intervals``."""
    next_start = env.registry.functions.meterState(m.id).call()[0]
    return rule.meter_weight(rule.export_in_window(intervals, next_start), env.c.votes.functions.capWh().call())


def operation_id(env, p: t.Proposal) -> bytes:
    """The treasury's id of a proposal's operation (GovernorTimelockControl's salt: the governor's
    address xor the description's hash)."""
    salt = int.from_bytes(bytes.fromhex(env.c.governor.address[2:]) + bytes(12), "big")
    salt ^= int.from_bytes(p.description_hash, "big")
    return env.c.treasury.functions.hashOperationBatch(p.targets, p.values, p.calldatas, bytes(32),
                                                       salt.to_bytes(32, "big")).call()


def cast(env, pid: int, voter: str, support: int):
    return env.c.transact(env.c.governor.functions.castVote(pid, support), voter)


def through_vote(env, pid: int, ballots: dict[str, int]) -> t.Proposal:
    """Open the vote, cast ``ballots`` (voter -> support), close it: the proposal then."""
    env.at(t.proposal(env.c, pid).vote_start + 1)
    for voter, support in ballots.items():
        cast(env, pid, voter, support)
    env.at(t.proposal(env.c, pid).vote_end + 1)
    return t.proposal(env.c, pid)


@pytest.fixture
def members(env):
    """alice: a producer with 3 MWh verified over the last year (4 votes); bob and carol:
    consumers (a vote each); all synced by an outsider: 6 votes in all, a quorum of 1.2."""
    meters = {env.alice: env.meter(env.alice, MeterKind.PRODUCER, capacity_w=BIG_W),
              env.bob: env.meter(env.bob, MeterKind.CONSUMER), env.carol: env.meter(env.carol, MeterKind.CONSUMER)}
    produce(env, meters[env.alice], [3_000_000])
    t.sync(env.c, sender=env.outsider)
    return meters


# --- deployment ----------------------------------------------------------------------------------

def test_the_deployment_wires_the_treasury_to_its_governor_and_the_market_fee(env):
    c = env.c
    treasury, governor, votes = c.treasury.functions, c.governor.functions, c.votes.functions
    g = c.manifest["settings"]["governance"]
    assert c.market.functions.operator().call() == c.treasury.address  # the grid fee's recipient
    assert c.batch.functions.claimable(c.treasury.address).call() == 0
    assert governor.timelock().call() == c.treasury.address and governor.token().call() == c.votes.address
    # the governor alone proposes and cancels, anyone executes, nobody administers but the treasury itself
    for role, holders in ((PROPOSER_ROLE, [c.governor.address]), (CANCELLER_ROLE, [c.governor.address]),
                          (EXECUTOR_ROLE, [ZERO]), (bytes(32), [c.treasury.address])):
        for account in (c.governor.address, c.treasury.address, env.operator, ZERO):
            assert treasury.hasRole(role, account).call() == (account in holders), (role, account)
    assert (votes.CLOCK_MODE().call(), governor.CLOCK_MODE().call()) == ("mode=timestamp", "mode=timestamp")
    assert governor.clock().call() == votes.clock().call() == env.w3.eth.get_block("latest")["timestamp"]
    assert (governor.votingDelay().call(), governor.votingPeriod().call(), governor.quorumNumerator().call(),
            treasury.getMinDelay().call(), votes.capWh().call(), governor.proposalThreshold().call()) == (
        g["votingDelay"], g["votingPeriod"], g["quorumPercent"], g["timelockDelay"], g["voteCapWh"],
        g["proposalThreshold"]) == (1, 300, 20, 60, 10_000_000, 1_000_000)
    assert (votes.decimals().call(), votes.BASE_WEIGHT().call(), votes.WINDOW_DAYS().call()) == (
        rule.VOTE_DECIMALS, rule.BASE_WEIGHT, rule.WINDOW_DAYS)
    assert votes.registry().call() == env.registry.address and votes.totalSupply().call() == 0


def test_construction_refuses_bad_settings(env):
    artifacts = compile_contracts()

    def construct(name, *args):
        factory = env.w3.eth.contract(abi=artifacts[name].abi, bytecode=artifacts[name].bytecode)
        return env.c.transact(factory.constructor(*args))

    with reverts("CommunityVotesInvalidRegistry", registry=ZERO):
        construct("CommunityVotes", ZERO, 1)
    with reverts("CommunityVotesInvalidCap", capWh=2**64):
        construct("CommunityVotes", env.registry.address, 2**64)
    with reverts("GovernorInvalidQuorumFraction", quorumNumerator=101, quorumDenominator=100):
        construct("CommunityGovernor", env.c.votes.address, env.c.treasury.address, 1, 300, 0, 101)
    with reverts("GovernorInvalidVotingPeriod", votingPeriod=0):
        construct("CommunityGovernor", env.c.votes.address, env.c.treasury.address, 1, 0, 0, 20)


# --- the votes: the rule -------------------------------------------------------------------------

def test_every_active_meter_votes_production_adds_up_to_the_cap(env):
    producer = env.meter(env.alice, MeterKind.PRODUCER, capacity_w=BIG_W)
    consumer = env.meter(env.bob, MeterKind.CONSUMER)
    prosumer = env.meter(env.carol, MeterKind.PROSUMER, capacity_w=BIG_W)
    second = env.meter(env.bob, MeterKind.CONSUMER)  # an account votes with each of its meters
    exported = produce(env, producer, [6_000_000, 5_000_000, 0, 1])  # 11 MWh + 1 Wh: above the cap
    produce(env, prosumer, [2_500_000, 0, 0, 0])
    votes = env.c.votes.functions
    assert votes.ruleWeight(producer.id).call()[:2] == [rule.BASE_WEIGHT + 10_000_000, 11_000_001]
    changed = t.sync(env.c, sender=env.outsider)
    assert {m for m, _, _ in changed} == {producer.id, consumer.id, prosumer.id, second.id}
    assert [votes.meterWeight(m.id).call() for m in (producer, consumer, prosumer, second)] == [
        11_000_000, 1_000_000, 3_500_000, 1_000_000] == [
        expected(env, producer, exported), rule.meter_weight(0), rule.meter_weight(2_500_000), rule.BASE_WEIGHT]
    assert [votes.getVotes(a).call() for a in (env.alice, env.bob, env.carol, env.outsider)] == [
        11_000_000, 2_000_000, 3_500_000, 0]
    assert votes.totalSupply().call() == 16_500_000
    # self-delegation came with the first weight: no transaction of the members
    assert [votes.delegates(a).call() for a in (env.alice, env.bob, env.outsider)] == [env.alice, env.bob, ZERO]
    assert t.sync(env.c, sender=env.outsider) == []  # nothing changed: nothing sent


def test_the_window_is_the_365_days_before_the_readings_reach(env):
    m = env.meter(env.alice, MeterKind.PRODUCER, capacity_w=BIG_W)
    votes = env.c.votes.functions
    env.outage(m, (m.first // DAY + 1) * DAY + DAY // 2)  # it produces at noon, whatever the time now
    intervals = produce(env, m, [2_000_000], to_midnight=False)
    assert votes.ruleWeight(m.id).call()[:2] == [rule.BASE_WEIGHT, 0]  # its day is not over: not counted yet
    day = intervals[0][0] // DAY  # the day it produced
    env.outage(m, (day + 1) * DAY)
    assert votes.ruleWeight(m.id).call() == [3_000_000, 2_000_000, day + 1] == [expected(env, m, intervals),
                                                                                 2_000_000, day + 1]
    env.outage(m, (day + 365) * DAY)  # readings up to its 365th day after: still in the window
    assert votes.ruleWeight(m.id).call() == [3_000_000, 2_000_000, day + 365]
    env.outage(m, (day + 366) * DAY)  # one more day: forgotten
    assert votes.ruleWeight(m.id).call() == [rule.BASE_WEIGHT, 0, day + 366] == [expected(env, m, intervals), 0,
                                                                                 day + 366]
    env.c.transact(votes.sync(m.id), env.bob)
    assert votes.getVotes(env.alice).call() == rule.BASE_WEIGHT


def test_a_deactivated_meter_loses_its_votes(env, members):
    votes = env.c.votes.functions
    assert votes.getVotes(env.alice).call() == 4_000_000
    env.c.transact(env.registry.functions.deactivateMeter(members[env.alice].id))
    receipt = env.c.transact(votes.sync(members[env.alice].id), env.outsider)
    (synced,) = env.c.votes.events.WeightSynced().process_receipt(receipt, errors=DISCARD)
    assert dict(synced.args) == {"meterId": members[env.alice].id, "owner": env.alice, "previousWeight": 4_000_000,
                                 "weight": 0, "exportWh": 0, "toDay": synced.args.toDay}
    assert votes.getVotes(env.alice).call() == 0 and votes.totalSupply().call() == 2_000_000


def test_sync_of_an_unknown_meter_is_refused(env):
    unknown = keccak(SALT + b"no such meter")
    with reverts("MeterRegistryUnknownMeter", meterId=unknown):
        env.c.transact(env.c.votes.functions.sync(unknown), env.outsider)
    with reverts("MeterRegistryUnknownMeter", meterId=unknown):
        raise_view(env, env.c.votes.functions.ruleWeight(unknown))


@st.composite
def readings_steps(draw):
    """A meter's life: each step an outage of up to 400 days (in intervals, so that readings end
    anywhere in a day), then 1 to 3 intervals' export (up to the capacity, 10 MWh)."""
    return [(draw(st.integers(0, 400 * 96)), draw(st.lists(st.integers(0, 10_000_000), min_size=1, max_size=3)),
             draw(st.sampled_from(["alice", "bob", "outsider"])))
            for _ in range(draw(st.integers(1, 4)))]


@ON_CHAIN
@given(steps=readings_steps())
def test_a_synced_weight_is_the_rule_in_python_after_any_readings(env, steps):
    snapshot = env.w3.testing.snapshot()
    try:
        m = env.meter(env.alice, MeterKind.PRODUCER, capacity_w=BIG_W)
        votes = env.c.votes.functions
        intervals: list[tuple[int, int]] = []
        for gap, exports, who in steps:
            env.outage(m, env.registry.functions.meterState(m.id).call()[0] + 900 * gap)
            intervals += produce(env, m, exports, to_midnight=False)
            weight = expected(env, m, intervals)
            assert votes.ruleWeight(m.id).call()[0] == weight
            env.c.transact(votes.sync(m.id), getattr(env, who))
            assert votes.meterWeight(m.id).call() == votes.getVotes(env.alice).call() == weight
            assert votes.totalSupply().call() == weight and votes.getVotes(getattr(env, who)).call() in (0, weight)
    finally:
        env.w3.testing.revert(snapshot)


# --- who can sync, and when: nobody moves a weight beyond the rule --------------------------------

@ON_CHAIN
@given(calls=st.lists(st.tuples(st.sampled_from(["alice", "bob", "both"]),
                                st.sampled_from(["alice", "bob", "outsider"]),
                                st.integers(0, 5_000_000)), min_size=1, max_size=8))
def test_syncing_first_last_often_or_for_others_changes_no_weight_beyond_the_rule(env, calls):
    """An attacker (or anyone) syncs members' meters in any order, any number of times, ahead of
    them or after readings moved: after every call each meter's weight is the rule's at that
    moment, the weight goes to its owner, and the attacker gains nothing."""
    snapshot = env.w3.testing.snapshot()
    try:
        a = env.meter(env.alice, MeterKind.PRODUCER, capacity_w=BIG_W)
        b = env.meter(env.bob, MeterKind.CONSUMER)
        votes = env.c.votes.functions
        exported: list[tuple[int, int]] = []
        synced = {a.id: 0, b.id: 0}  # each meter's rule weight when it was last synced
        for target, who, more in calls:
            if more:
                exported += produce(env, a, [more])  # readings move on between the calls
            for m in ([a, b] if target == "both" else [a] if target == "alice" else [b]):
                synced[m.id] = expected(env, m, exported if m is a else [])
                env.c.transact(votes.sync(m.id), getattr(env, who))
            assert votes.getVotes(env.outsider).call() == 0 and votes.balanceOf(env.outsider).call() == 0
            for m in (a, b):
                assert votes.meterWeight(m.id).call() == votes.getVotes(m.owner).call() == synced[m.id]
        t.sync(env.c, [a.id, b.id], env.outsider)
        assert votes.getVotes(env.alice).call() == expected(env, a, exported)
        assert votes.getVotes(env.bob).call() == rule.BASE_WEIGHT
    finally:
        env.w3.testing.revert(snapshot)


def test_a_sync_after_a_proposal_starts_does_not_change_its_counts(env, members):
    """Votes are read at the proposal's snapshot: weights synced later (up, by new production; or
    down, a meter deactivated) count from the next proposal on."""
    produce(env, members[env.alice], [5_000_000])  # verified, not synced yet
    pid = t.propose_payout(env.c, env.bob, TEUR, "a sync after the snapshot", env.alice)
    p = t.proposal(env.c, pid)
    env.at(p.vote_start + 1)
    env.c.transact(env.registry.functions.deactivateMeter(members[env.bob].id))
    t.sync(env.c, sender=env.outsider)
    votes = env.c.votes.functions
    assert (votes.getVotes(env.alice).call(), votes.getVotes(env.bob).call()) == (9_000_000, 0)
    cast(env, pid, env.alice, FOR)
    cast(env, pid, env.bob, AGAINST)
    assert env.c.governor.functions.proposalVotes(pid).call() == [1_000_000, 4_000_000, 0]  # against, for, abstain
    assert env.c.governor.functions.quorum(p.vote_start).call() == rule.quorum(6_000_000, 20) == 1_200_000


# --- votes are not transferable ------------------------------------------------------------------

def test_votes_cannot_be_transferred_approved_or_delegated(env, members):
    votes = env.c.votes.functions
    with reverts("CommunityVotesNotTransferable", **{"from": env.alice, "to": env.bob, "value": 1}):
        env.c.transact(votes.transfer(env.bob, 1), env.alice)
    with reverts("CommunityVotesNotTransferable", **{"from": env.alice, "to": env.outsider, "value": 4_000_000}):
        env.c.transact(votes.transferFrom(env.alice, env.outsider, 4_000_000), env.outsider)
    with reverts("CommunityVotesNoApprovals", owner=env.alice, spender=env.outsider, value=2**256 - 1):
        env.c.transact(votes.approve(env.outsider, 2**256 - 1), env.alice)
    with reverts("CommunityVotesNoDelegation", account=env.alice, delegatee=env.bob):
        env.c.transact(votes.delegate(env.bob), env.alice)
    # by signature too: the signer is named
    signer = Account.create()
    expiry = env.now() + 3600
    message = encode_typed_data(full_message={
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"},
                                   {"name": "verifyingContract", "type": "address"}],
                  "Delegation": [{"name": "delegatee", "type": "address"}, {"name": "nonce", "type": "uint256"},
                                 {"name": "expiry", "type": "uint256"}]},
        "primaryType": "Delegation",
        "domain": {"name": "gridshare community votes", "version": "1", "chainId": env.chain.chain_id,
                   "verifyingContract": env.c.votes.address},
        "message": {"delegatee": env.bob, "nonce": 0, "expiry": expiry}})
    sig = signer.sign_message(message)
    with reverts("CommunityVotesNoDelegation", account=signer.address, delegatee=env.bob):
        env.c.transact(votes.delegateBySig(env.bob, 0, expiry, sig.v, sig.r.to_bytes(32, "big"),
                                           sig.s.to_bytes(32, "big")), env.outsider)
    env.c.transact(votes.delegate(env.alice), env.alice)  # to oneself: nothing changes
    assert votes.getVotes(env.alice).call() == votes.balanceOf(env.alice).call() == 4_000_000
    assert votes.allowance(env.alice, env.outsider).call() == 0


# --- proposals: the lifecycle --------------------------------------------------------------------

def test_a_payout_goes_through_votes_quorum_and_the_timelock(env, members):
    c, g = env.c, env.c.governor.functions
    fund(env, env.outsider, 100 * TEUR)
    t.donate(c, 60 * TEUR, env.outsider)
    pid = t.propose_payout(c, env.carol, 25 * TEUR, "Carol's winter bill (an energy-poor member)", env.alice)
    p = t.proposal(c, pid)
    assert (pid, p.proposer, p.state, p.payout) == (1, env.alice, "Pending", (env.carol, 25 * TEUR))
    assert p.vote_end - p.vote_start == 300 and g.proposalSnapshot(pid).call() == p.vote_start
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=PENDING, expectedStates=bitmap(ACTIVE)):
        cast(env, pid, env.alice, FOR)
    env.at(p.vote_start + 1)
    (vote,) = c.governor.events.VoteCast().process_receipt(cast(env, pid, env.alice, FOR))
    assert (vote.args.voter, vote.args.support, vote.args.weight) == (env.alice, FOR, 4_000_000)
    cast(env, pid, env.bob, AGAINST)
    cast(env, pid, env.carol, ABSTAIN)
    with reverts("GovernorAlreadyCastVote", voter=env.bob):
        cast(env, pid, env.bob, FOR)
    with reverts("CommunityGovernorNoVotes", proposalId=pid, account=env.outsider, snapshot=p.vote_start):
        cast(env, pid, env.outsider, FOR)
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=ACTIVE, expectedStates=bitmap(SUCCEEDED)):
        c.transact(g.queue(*p.call_args), env.outsider)
    env.at(p.vote_end + 1)
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=SUCCEEDED, expectedStates=bitmap(ACTIVE)):
        cast(env, pid, env.outsider, FOR)
    p = t.proposal(c, pid)
    assert (p.state, p.for_votes, p.against_votes, p.abstain_votes) == ("Succeeded", 4_000_000, 1_000_000, 1_000_000)
    assert rule.passes(p.for_votes, p.against_votes, p.abstain_votes, g.quorum(p.vote_start).call())
    op = operation_id(env, p)
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=SUCCEEDED, expectedStates=bitmap(QUEUED)):
        c.transact(g.execute(*p.call_args), env.outsider)  # not queued yet
    eta = t.queue(c, pid, env.outsider)  # anyone queues
    assert eta == env.now() + 60 and c.treasury.functions.getTimestamp(op).call() == eta
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=QUEUED,
                 expectedStates=bitmap(SUCCEEDED)):
        c.transact(g.queue(*p.call_args), env.outsider)
    env.at(eta - 1)
    with reverts("TimelockUnexpectedOperationState", operationId=op, expectedStates=bitmap(READY)):
        c.transact(g.execute(*p.call_args), env.outsider)  # the timelock has not passed
    assert c.payment.functions.balanceOf(env.carol).call() == 0
    env.at(eta)
    t.execute(c, pid, env.outsider)  # anyone executes
    assert c.payment.functions.balanceOf(env.carol).call() == 25 * TEUR
    b = t.balances(c)
    assert (b.balance, b.received, b.paid) == (35 * TEUR, 60 * TEUR, 25 * TEUR)
    assert [(f.counterparty, f.amount) for f in b.payouts] == [(env.carol, 25 * TEUR)]
    assert t.proposal(c, pid).state == "Executed" and c.treasury.functions.isOperationDone(op).call()
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=EXECUTED, expectedStates=bitmap(QUEUED)):
        c.transact(g.execute(*p.call_args), env.outsider)


def test_without_quorum_a_proposal_is_defeated_and_never_executes(env, members):
    c, g = env.c, env.c.governor.functions
    fund(env, env.bob, 10 * TEUR)
    t.donate(c, 10 * TEUR, env.bob)
    pid = t.propose_payout(c, env.bob, 10 * TEUR, "a new battery for the building", env.bob)
    p = through_vote(env, pid, {env.bob: FOR})  # 1 vote of 6: below the quorum of 1.2
    assert (p.state, p.for_votes, p.against_votes) == ("Defeated", 1_000_000, 0)
    assert g.quorum(p.vote_start).call() == rule.quorum(6_000_000, 20) == 1_200_000
    assert not rule.passes(p.for_votes, p.against_votes, p.abstain_votes, 1_200_000)
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=DEFEATED,
                 expectedStates=bitmap(SUCCEEDED)):
        c.transact(g.queue(*p.call_args), env.bob)
    with reverts("GovernorUnexpectedProposalState", proposalId=pid, current=DEFEATED, expectedStates=bitmap(QUEUED)):
        c.transact(g.execute(*p.call_args), env.bob)
    assert c.payment.functions.balanceOf(c.treasury.address).call() == 10 * TEUR
    with pytest.raises(Exception, match="proposal 1 is defeated: only a proposal that passed is queued"):
        t.queue(c, pid)


def test_a_majority_against_defeats_a_proposal_that_reached_quorum(env, members):
    pid = t.propose_payout(env.c, env.bob, TEUR, "a party", env.bob)
    p = through_vote(env, pid, {env.bob: FOR, env.carol: FOR, env.alice: AGAINST})
    assert (p.state, p.for_votes, p.against_votes) == ("Defeated", 2_000_000, 4_000_000)
    pid = t.propose_payout(env.c, env.bob, TEUR, "a tie", env.bob)
    p = through_vote(env, pid, {env.bob: FOR, env.carol: AGAINST})  # for must exceed against
    assert p.state == "Defeated" and not rule.passes(1_000_000, 1_000_000, 0, 0)


def test_proposing_needs_a_vote(env, members):
    g = env.c.governor.functions
    call = g.propose([env.c.payment.address], [0], [b""], "from outside")
    with reverts("GovernorInsufficientProposerVotes", proposer=env.outsider, votes=0, threshold=rule.BASE_WEIGHT):
        env.c.transact(call, env.outsider)
    with pytest.raises(Exception, match="holds 0 vote units; proposing needs 1,000,000: sync its meters first"):
        t.propose_payout(env.c, env.outsider, TEUR, "from outside", env.outsider)


def test_only_an_executed_proposal_moves_the_treasury(env, members):
    """The treasury's roles leave no other way out: neither the deployer (the operator) nor an
    outsider can schedule, execute unscheduled calls, change the delay or the roles, or act
    through the governor."""
    c = env.c
    fund(env, env.outsider, 10 * TEUR)
    t.donate(c, 10 * TEUR, env.outsider)
    steal = c.payment.encode_abi("transfer", [env.outsider, 10 * TEUR])
    tl, g = c.treasury.functions, c.governor.functions
    for thief in (env.operator, env.outsider, env.alice):
        with reverts("AccessControlUnauthorizedAccount", account=thief, neededRole=PROPOSER_ROLE):
            c.transact(tl.schedule(c.payment.address, 0, steal, bytes(32), bytes(32), 60), thief)
        op = tl.hashOperation(c.payment.address, 0, steal, bytes(32), bytes(32)).call()
        with reverts("TimelockUnexpectedOperationState", operationId=op, expectedStates=bitmap(READY)):
            c.transact(tl.execute(c.payment.address, 0, steal, bytes(32), bytes(32)), thief)
        with reverts("TimelockUnauthorizedCaller", caller=thief):
            c.transact(tl.updateDelay(0), thief)
        with reverts("AccessControlUnauthorizedAccount", account=thief, neededRole=bytes(32)):
            c.transact(tl.grantRole(PROPOSER_ROLE, thief), thief)
        with reverts("GovernorOnlyExecutor", account=thief):
            c.transact(g.relay(c.payment.address, 0, steal), thief)
        with reverts("GovernorOnlyExecutor", account=thief):
            c.transact(g.setVotingPeriod(1), thief)
    assert c.payment.functions.balanceOf(c.treasury.address).call() == 10 * TEUR


def test_the_grid_fees_reach_the_treasury_through_a_proposal(env):
    """The market owes its grid fee to the treasury (pull payment): a proposal withdraws it."""
    c = env.c
    seller = env.meter(env.alice, MeterKind.PRODUCER, capacity_w=BIG_W)
    env.meter(env.bob, MeterKind.CONSUMER)
    env.at((env.now() // 900 + 2) * 900 + 1)
    iid = env.now() // 900 - 1  # ended, its gate still open
    env.submit(env.readings(seller, iid * 900, [0], [1000]))
    fund(env, env.bob, 10 * TEUR)
    c.transact(c.payment.functions.approve(c.market.address, 2**256 - 1), env.bob)
    c.transact(env.token.functions.setApprovalForAll(c.market.address, True), env.alice)
    c.transact(c.market.functions.placeAsk(iid, 100_000, 1000, 1, 0), env.alice)
    c.transact(c.market.functions.placeBid(iid, 150_000, 1000, 0), env.bob)
    fee = 1000 * 10  # 1 kWh at 0.01 tEUR/kWh
    assert t.balances(c).fees_owed == fee and c.market.functions.claimable(c.treasury.address).call() == fee
    with reverts("EnergyMarketNothingToClaim", account=env.outsider):  # nobody else withdraws it
        c.transact(c.market.functions.withdraw(), env.outsider)
    t.sync(c)
    pid = t.propose_fee_collection(c, "collect the grid fees", env.bob)
    p = through_vote(env, pid, {env.alice: FOR})
    assert p.state == "Succeeded" and p.targets == [c.market.address]
    env.at(t.queue(c, pid))
    t.execute(c, pid)
    b = t.balances(c)
    assert (b.balance, b.fees_owed, [(f.counterparty, f.amount) for f in b.inflows]) == (
        fee, 0, [(c.market.address, fee)])


# --- property: the treasury holds its inflows less the payouts executed ----------------------------

@ON_CHAIN
@given(actions=st.lists(st.one_of(
    st.tuples(st.just("donate"), st.integers(1, 50 * TEUR)),
    st.tuples(st.sampled_from(["pay", "defeat"]), st.integers(1, 80 * TEUR))), min_size=1, max_size=5))
def test_the_treasury_holds_its_inflows_less_the_executed_payouts(env, members, actions):
    snapshot = env.w3.testing.snapshot()
    try:
        c = env.c
        fund(env, env.outsider, 250 * TEUR)
        inflows = executed = 0
        for k, (kind, amount) in enumerate(actions):
            if kind == "donate":
                t.donate(c, amount, env.outsider)
                inflows += amount
                continue
            pid = t.propose_payout(c, env.carol, amount, f"payout {k}", env.bob)
            p = through_vote(env, pid, {env.alice: FOR if kind == "pay" else AGAINST})
            if kind == "defeat":
                assert p.state == "Defeated"
                continue
            env.at(t.queue(c, pid))
            held = c.payment.functions.balanceOf(c.treasury.address).call()
            if amount > held:  # not enough in the treasury: the execution fails, the proposal stays queued
                with reverts("ERC20InsufficientBalance", sender=c.treasury.address, balance=held, needed=amount):
                    c.transact(c.governor.functions.execute(*p.call_args), env.outsider)
                assert t.proposal(c, pid).state == "Queued"
                continue
            t.execute(c, pid, env.outsider)
            executed += amount
        b = t.balances(c)
        assert c.payment.functions.balanceOf(c.treasury.address).call() == b.balance == inflows - executed
        assert (b.received, b.paid) == (inflows, executed)
        assert c.payment.functions.balanceOf(env.carol).call() == executed
    finally:
        env.w3.testing.revert(snapshot)


# --- the command line ----------------------------------------------------------------------------

@pytest.mark.anvil
def test_a_payout_from_the_command_line(gs):
    from gridshare.chain.deployment import load
    from gridshare.chain.network import connect, default_anvil_state
    from gridshare.protocol.meters import meter_id, new_meter_key

    members = {"1": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "2": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}
    assert gs("--network", "anvil", "deploy")[0] == 0
    chain = connect("anvil", anvil_state=default_anvil_state())  # the members' meters, registered in Python
    try:
        c = load(chain)
        for who, kind in (("1", MeterKind.PRODUCER), ("2", MeterKind.CONSUMER)):
            c.transact(c.registry.functions.registerParticipant(members[who]))
            c.transact(c.registry.functions.registerMeter(meter_id(bytes(32), f"treasury-{who}"),
                                                          new_meter_key().address, members[who], int(kind), 10_000,
                                                          SOLAR, 0))
    finally:
        chain.close()
    code, out, err = gs("--network", "anvil", "--account", "3", "treasury", "sync")
    assert code == 0 and "2 meters synced; 2 votes in all" in out, err
    assert gs("--network", "anvil", "--account", "3", "market", "faucet", "100")[0] == 0
    code, out, err = gs("--network", "anvil", "--account", "3", "treasury", "donate", "40")
    assert code == 0 and "the treasury holds 40" in out, err
    code, _, err = gs("--network", "anvil", "--account", "3", "treasury", "propose-payout", members["2"], "15",
                      "--description", "a bill")
    assert "proposing needs 1,000,000: sync its meters first" in one_line_error(code, err)
    time.sleep(1)  # the governor counts a proposer's votes as of the second before (synced just now: not yet)
    code, out, err = gs("--network", "anvil", "--account", "1", "treasury", "propose-payout", members["2"], "15",
                        "--description", "Bob's winter bill")
    assert code == 0 and "proposal 1: pay 15 tEUR to " + members["2"] in out, err
    time.sleep(2)  # voting opens a second after the proposal
    for who in ("1", "2"):
        code, out, err = gs("--network", "anvil", "--account", who, "treasury", "vote", "1", "for")
        assert code == 0 and "voted for proposal 1 with 1 votes" in out, err
    code, _, err = gs("--network", "anvil", "--account", "1", "treasury", "vote", "1", "against")
    assert f"GovernorAlreadyCastVote(voter={members['1']})" in one_line_error(code, err)
    code, _, err = gs("--network", "anvil", "treasury", "vote", "7", "for")
    assert "no proposal 7 in this community" in one_line_error(code, err)
    code, _, err = gs("--network", "anvil", "treasury", "vote", "1", "maybe")
    assert "'maybe' is not one of 'against', 'for', 'abstain'" in one_line_error(code, err)
    code, _, err = gs("--network", "anvil", "treasury", "queue", "1")
    assert "proposal 1 is active: only a proposal that passed is queued" in one_line_error(code, err)
    code, out, err = gs("--network", "anvil", "--account", "2", "treasury", "propose-payout", members["2"], "5",
                        "--description", "another bill")
    assert code == 0 and "proposal 2: pay 5 tEUR" in out, err
    time.sleep(2)
    for who, support in (("1", "against"), ("2", "for")):  # a tie: for must exceed against
        assert gs("--network", "anvil", "--account", who, "treasury", "vote", "2", support)[0] == 0
    assert gs("--network", "anvil", "devnet", "advance", "--days", "0.004")[0] == 0  # 345 s: both votes over
    code, _, err = gs("--network", "anvil", "treasury", "queue", "2")
    assert "proposal 2 is defeated" in one_line_error(code, err)
    code, out, err = gs("--network", "anvil", "--account", "3", "treasury", "queue", "1")
    assert code == 0 and "proposal 1 queued: executable from" in out, err
    code, _, err = gs("--network", "anvil", "treasury", "execute", "1")
    assert "proposal 1 is queued until" in one_line_error(code, err)
    assert gs("--network", "anvil", "devnet", "advance", "--days", "0.001")[0] == 0  # 86 s: past the timelock
    code, out, err = gs("--network", "anvil", "--account", "3", "treasury", "execute", "1")
    assert code == 0 and "proposal 1 executed; the treasury holds 25 tEUR" in out, err
    code, out, err = gs("--network", "anvil", "--json", "treasury", "status")
    assert code == 0, err
    (table,) = [json.loads(line) for line in out.splitlines()]
    assert [(r["#"], r["state"], r["for"], r["against"]) for r in table["rows"]] == [(1, "Executed", 2, 0),
                                                                                     (2, "Defeated", 1, 1)]
    assert ": 25 tEUR (received 40 in 1 transfers, paid 15 in 1)" in err
