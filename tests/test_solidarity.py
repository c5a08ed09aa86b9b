"""Solidarity: crypto-kWh given to the operation's energy-poor members, once or by a pledge; counted
once in the ledger (the giver's tokens burned, the recipient's claim recorded); the contract equals
the pure rule (gridshare.domain.solidarity); every refusal by its error; attackers' order and
arguments change nothing."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from gridshare.chain import solidarity as chain_solidarity
from gridshare.chain.compiler import compile_contracts
from gridshare.chain.deployment import ALLOCATOR_ROLE, ESCROW_ROLE
from gridshare.domain.solidarity import interval_gifts, pledge_gifts
from gridshare.protocol.meters import MeterKind

from conftest import reverts


def _deploy(env, name, *args):
    artifact = compile_contracts()[name]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(*args))
    return env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


@pytest.fixture
def static(env):
    """An operation with a supplied (static) key, which leaves both a surplus and needs, its
    Solidarity, and three members: alice produces, bob and carol consume."""
    op = _deploy(env, "SelfConsumption", env.registry.address, env.token.address, 1, env.operator, 0)
    env.c.transact(env.registry.functions.grantRole(ALLOCATOR_ROLE, op.address))
    sol = _deploy(env, "Solidarity", env.registry.address, env.token.address, op.address, env.operator, 0)
    env.c.transact(env.registry.functions.grantRole(ESCROW_ROLE, sol.address))
    ms = [env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER), env.meter(env.carol, MeterKind.CONSUMER)]
    start = env.next_start()
    env.c.transact(op.functions.join([m.id for m in ms], start // 900))
    return replace(env.c, operation=op, solidarity=sol), ms, start


def _share(env, community, ms, start, exports, imports, shares):
    """One interval per entry: alice exports, bob and carol import; the static key gives them `shares`."""
    runs = []
    for m, (imp, exp) in zip(ms, ((([0] * len(exports)), exports), (imports[0], [0] * len(exports)),
                                  (imports[1], [0] * len(exports)))):
        runs += env.readings(m, start, imp, exp)
    env.at(start + 900 * len(exports))
    args = [r.as_call_arg() for r in runs]
    env.c.transact(community.operation.functions.submitAndAllocateSupplied(args, [[0, *s] for s in shares]))
    return [start // 900 + k for k in range(len(exports))]


def test_a_gift_is_burned_from_the_giver_and_claimed_by_the_recipient(env, static):
    community, ms, start = static
    [iid] = _share(env, community, ms, start, [1000], [[600], [500]], [(300, 100)])
    chain_solidarity.flag(community, env.bob)
    assert chain_solidarity.give(community, env.alice, iid, env.bob, 120) == [
        chain_solidarity.Gift(env.alice, env.bob, iid, 120)]
    account = env.token.functions.intervalAccount
    assert account(env.alice, iid).call() == [1000 - 400 - 120, 1000, 0, 0, 0]  # balance, minted
    assert account(env.bob, iid).call() == [0, 0, 600, 300, 120]  # received locally 300, claimed 120
    assert env.token.functions.redeemable(env.bob, iid).call() == 180
    assert community.operation.functions.quantities(env.bob, iid).call() == [0, 0, 0, 600, 300, 300]  # R15: sharing only


def test_gift_refusals(env, static):
    community, ms, start = static
    [iid] = _share(env, community, ms, start, [1000], [[600], [500]], [(300, 100)])
    give = community.solidarity.functions.give
    with reverts("SolidarityNotEnergyPoor", account=env.bob):
        env.c.transact(give(iid, env.bob, 10), env.alice)
    chain_solidarity.flag(community, env.bob)
    with reverts("SolidarityNothingToGive", giver=env.alice, intervalId=iid):
        env.c.transact(give(iid, env.bob, 0), env.alice)
    with reverts("EnergyTokenRedeemExceedsImport", account=env.bob, intervalId=iid, amountWh=301, redeemableWh=300):
        env.c.transact(give(iid, env.bob, 301), env.alice)  # above what bob still needs
    with reverts("ERC1155InsufficientBalance", sender=env.carol, balance=0, needed=10, tokenId=iid):
        env.c.transact(give(iid, env.bob, 10), env.carol)  # carol holds nothing of that interval
    env.c.transact(give(iid, env.bob, 300), env.alice)
    with reverts("ERC1155InsufficientBalance", sender=env.alice, balance=300, needed=301, tokenId=iid):
        env.c.transact(give(iid, env.bob, 301), env.alice)


def test_flagging_is_the_operators_and_only_members_of_the_operation(env, static):
    community, ms, start = static
    flag = community.solidarity.functions.setEnergyPoor
    with reverts("SolidarityUnauthorized", caller=env.bob):
        env.c.transact(flag(env.bob, True), env.bob)
    with reverts("SolidarityNotMember", account=env.outsider):  # a participant, not a member
        env.participant(env.outsider)
        env.c.transact(flag(env.outsider, True))
    for account in (env.bob, env.carol, env.bob):  # flagging twice changes nothing
        env.c.transact(flag(account, True))
    assert chain_solidarity.energy_poor(community) == [env.bob, env.carol]
    env.c.transact(flag(env.bob, False))
    assert chain_solidarity.energy_poor(community) == [env.carol]
    assert not community.solidarity.functions.isEnergyPoor(env.bob).call()
    events = community.solidarity.events.EnergyPoorSet().get_logs(from_block=0)
    assert [(e.args.account, e.args.energyPoor) for e in events] == [(env.bob, True), (env.carol, True), (env.bob, False)]


def test_at_most_max_recipients_are_flagged(env):
    """The deployment's operation (dynamic key) with MAX_RECIPIENTS + 1 consumer members."""
    sol = env.c.solidarity
    most = sol.functions.MAX_RECIPIENTS().call()
    accounts = [env.w3.eth.account.create().address for _ in range(most + 1)]
    ms = [env.meter(a, MeterKind.CONSUMER) for a in accounts]
    env.c.transact(env.c.operation.functions.join([m.id for m in ms], env.next_start() // 900))
    for a in accounts[:most]:
        env.c.transact(sol.functions.setEnergyPoor(a, True))
    with reverts("SolidarityTooManyRecipients", max=most):
        env.c.transact(sol.functions.setEnergyPoor(accounts[-1], True))
    env.c.transact(sol.functions.setEnergyPoor(accounts[0], False))  # a place frees
    env.c.transact(sol.functions.setEnergyPoor(accounts[-1], True))
    assert len(chain_solidarity.energy_poor(env.c)) == most


def test_a_pledge_gives_its_share_of_the_surplus_pro_rata_of_the_needs(env, static):
    community, ms, start = static
    iids = _share(env, community, ms, start, [1000, 1000, 200], [[600, 100, 900], [500, 50, 900]],
                  [(300, 100), (100, 50), (100, 100)])
    for a in (env.bob, env.carol):
        chain_solidarity.flag(community, a)
    chain_solidarity.pledge(community, env.alice, 5000)  # half of its surplus
    surpluses = [community.token.functions.ownUnspent(env.alice, i).call() for i in iids]
    needs = [{a: community.token.functions.redeemable(a, i).call() for a in (env.bob, env.carol)} for i in iids]
    gifts = chain_solidarity.distribute(community, env.alice, iids, sender=env.outsider)  # anyone sends it
    expected = [(env.alice, r, i, wh) for i, s, n in zip(iids, surpluses, needs, strict=True)
                for r, wh in pledge_gifts(s, 5000, n).items() if wh]
    assert [(g.giver, g.recipient, g.interval_id, g.wh) for g in gifts] == expected
    # interval 1: surplus 600, needs 300 + 400: 300 to give, 128 + 171 (1 Wh of rounding stays with alice)
    assert [(g.recipient, g.wh) for g in gifts if g.interval_id == iids[0]] == [(env.bob, 128), (env.carol, 171)]
    # interval 2: surplus 850, needs nothing left: nothing given; interval 3: surplus 0
    assert [g for g in gifts if g.interval_id != iids[0]] == []
    events = community.solidarity.events.PledgeDistributed().get_logs(from_block=0)
    assert [(e.args.intervalId, e.args.surplusWh, e.args.givenWh) for e in events] == [
        (iids[0], 600, 299), (iids[1], 850, 0), (iids[2], 0, 0)]
    assert community.token.functions.balanceOf(env.alice, iids[0]).call() == 600 - 299
    assert all(community.solidarity.functions.distributed(env.alice, i).call() for i in iids)


def test_distribution_refusals(env, static):
    community, ms, start = static
    [iid] = _share(env, community, ms, start, [1000], [[600], [500]], [(300, 100)])
    distribute = community.solidarity.functions.distribute
    with reverts("SolidarityInvalidShare", shareBps=10_001):
        env.c.transact(community.solidarity.functions.pledge(10_001), env.alice)
    with reverts("SolidarityNoPledge", giver=env.alice):
        env.c.transact(distribute(env.alice, [iid]))
    chain_solidarity.pledge(community, env.alice, 10_000)
    with reverts("SolidarityNotShared", intervalId=iid + 1, lastAllocated=iid):
        env.c.transact(distribute(env.alice, [iid, iid + 1]))  # all or nothing
    assert not community.solidarity.functions.distributed(env.alice, iid).call()
    env.c.transact(distribute(env.alice, [iid]))
    with reverts("SolidarityAlreadyDistributed", giver=env.alice, intervalId=iid):
        env.c.transact(distribute(env.alice, [iid]))
    chain_solidarity.pledge(community, env.alice, 0)  # withdrawn
    with reverts("SolidarityNoPledge", giver=env.alice):
        env.c.transact(distribute(env.alice, [iid]))


def test_a_front_runner_can_only_send_what_the_pledge_gives(env, static):
    """An attacker who distributes first, interval by interval or out of order, or gives dust
    before, moves exactly what the rule says from the ledger at that moment; a recipient flagged
    as giver gives nothing to itself."""
    community, ms, start = static
    iids = _share(env, community, ms, start, [1000, 1000], [[600, 600], [500, 500]], [(300, 100), (300, 100)])
    for a in (env.bob, env.carol):
        chain_solidarity.flag(community, a)
    chain_solidarity.pledge(community, env.alice, 10_000)
    chain_solidarity.give(community, env.alice, iids[1], env.carol, 1)  # dust first
    needs = {a: community.token.functions.redeemable(a, iids[1]).call() for a in (env.bob, env.carol)}
    second = chain_solidarity.distribute(community, env.alice, [iids[1]], sender=env.outsider)  # out of order
    first = chain_solidarity.distribute(community, env.alice, [iids[0]], sender=env.bob)
    # surplus 600 < needs 300 + 400: all of it, pro rata (257 + 342, 1 Wh of rounding stays)
    assert {(g.recipient, g.wh) for g in first} == {(env.bob, 257), (env.carol, 342)}
    expected = pledge_gifts(599, 10_000, needs)
    assert {(g.recipient, g.wh) for g in second} == {(r, wh) for r, wh in expected.items() if wh}
    # bob, flagged, pledging: gives nothing to itself (and holds nothing here)
    chain_solidarity.pledge(community, env.bob, 10_000)
    assert chain_solidarity.distribute(community, env.bob, iids) == []


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exports=st.integers(0, 2500), imports=st.tuples(st.integers(0, 2000), st.integers(0, 2000)),  # 10 kW meters
       fraction=st.tuples(st.floats(0, 1), st.floats(0, 1)), share=st.integers(0, 10_000))
def test_gifts_never_exceed_what_the_giver_owns_and_equal_the_rule(env, static, exports, imports, fraction, share):
    community, ms, start = static
    snapshot = env.w3.testing.snapshot()
    try:
        shares = [int(imports[k] * fraction[k]) for k in range(2)]
        if sum(shares) > exports:  # a static key shares at most the production
            shares = [0, 0]
        [iid] = _share(env, community, ms, start, [exports], [[imports[0]], [imports[1]]], [tuple(shares)])
        for a in (env.bob, env.carol):
            chain_solidarity.flag(community, a)
        chain_solidarity.pledge(community, env.alice, share) if share else None
        owned = community.token.functions.balanceOf(env.alice, iid).call()
        needs = {a: community.token.functions.redeemable(a, iid).call() for a in (env.bob, env.carol)}
        gifts = chain_solidarity.distribute(community, env.alice, [iid]) if share else []
        given_wh = sum(g.wh for g in gifts)
        assert given_wh <= owned and all(g.wh <= needs[g.recipient] for g in gifts)
        assert {g.recipient: g.wh for g in gifts} == {r: wh for r, wh in
                                                       interval_gifts({env.alice: owned}, {env.alice: share},
                                                                      needs).get(env.alice, {}).items() if wh}
        assert community.token.functions.balanceOf(env.alice, iid).call() == owned - given_wh
    finally:
        env.w3.testing.revert(snapshot)


def test_constructor_refusals(env):
    zero = "0x" + "00" * 20
    for args, bad in (((zero, env.token.address, env.c.operation.address), zero),
                      ((env.registry.address, zero, env.c.operation.address), zero),
                      ((env.registry.address, env.token.address, zero), zero)):
        with reverts("SolidarityInvalidAddress", value=bad):
            _deploy(env, "Solidarity", *args, env.operator, 0)
