"""EnergyToken: minted from verified export, redeemed against verified import, moved between
participants only; figures kept in uint32 lanes, eight intervals to a slot, never past 2^32 - 1 Wh;
conservation per interval and lanes as properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from gridshare.protocol.meters import MeterKind

from conftest import reverts

MOST_W = 2**32 - 1  # the largest capacity a meter may have
MOST_WH = MOST_W * 900 // 3600  # what it carries in 15 minutes: 1,073,741,823 Wh, a quarter of a lane
LANE = 2**32 - 1  # the most an account holds per interval and figure


def interval(start: int) -> int:
    return start // 900


def start_in_lane(env, lane: int) -> int:
    """The next interval start whose id is in lane ``lane`` of its group of eight."""
    start = env.next_start()
    while interval(start) % 8 != lane:
        start += 900
    return start


def test_verified_export_is_minted_to_the_owner_exactly(env):
    m = env.meter(env.alice)
    start = env.next_start()
    env.submit(env.readings(m, start, [0, 0, 0], [0, 517, 1234]))
    balances = env.token.functions.balanceOfBatch([env.alice] * 3, [interval(start + 900 * i) for i in range(3)]).call()
    assert balances == [0, 517, 1234]


def test_verified_import_is_recorded_not_minted(env):
    m = env.meter(env.bob, MeterKind.CONSUMER)
    start = env.next_start()
    env.submit(env.readings(m, start, [321], [0]))
    assert env.token.functions.balanceOf(env.bob, interval(start)).call() == 0
    assert env.token.functions.verifiedImport(env.bob, interval(start)).call() == 321
    assert env.token.functions.redeemable(env.bob, interval(start)).call() == 321


def test_meters_of_one_owner_add_up(env):
    a, b = env.meter(env.alice, MeterKind.PROSUMER), env.meter(env.alice, MeterKind.CONSUMER)
    start = env.next_start()
    env.submit(env.readings(a, start, [5], [100]) + env.readings(b, start, [7], [0]))
    assert env.token.functions.balanceOf(env.alice, interval(start)).call() == 100
    assert env.token.functions.verifiedImport(env.alice, interval(start)).call() == 12


def test_only_the_registry_credits(env):
    with reverts("EnergyTokenUnauthorizedRegistry", caller=env.outsider):
        env.c.transact(env.token.functions.creditVerifiedEnergy(env.outsider, 1, 0, [0], [1000]), env.outsider)


def test_a_run_across_groups_of_eight_lanes_lands_in_each_interval(env):
    """Figures are kept eight intervals to a storage slot: a run starting mid-group, crossing two
    group boundaries, then a second run continuing mid-group, each interval reads back exactly."""
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = start_in_lane(env, 5)  # three lanes before a group's end
    imports = [10 + k for k in range(20)]
    exports = [1000 + 7 * k for k in range(20)]
    env.submit(env.readings(m, start, imports[:12], exports[:12]))
    env.submit(env.readings(m, start + 12 * 900, imports[12:], exports[12:], import_register_wh=sum(imports[:12]),
                            export_register_wh=sum(exports[:12])))
    for k in range(20):
        assert env.token.functions.intervalAccount(env.alice, interval(start) + k).call() == [
            exports[k], exports[k], imports[k], 0, 0]
    # the neighbours of the run are untouched
    assert env.token.functions.intervalAccount(env.alice, interval(start) - 1).call() == [0, 0, 0, 0, 0]
    assert env.token.functions.intervalAccount(env.alice, interval(start) + 20).call() == [0, 0, 0, 0, 0]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lane=st.integers(0, 7), data=st.data())
def test_two_meters_runs_add_up_in_each_interval_whatever_their_lanes(env, lane, data):
    """Meter a's runs cover 1 to 30 intervals from any lane, cut anywhere in two; meter b of the
    same owner (a consumer: an account has one exporting meter) a run over any part of them: each
    interval reads back the sums, its neighbours nothing."""
    snapshot = env.w3.testing.snapshot()
    try:
        a, b = env.meter(env.alice, MeterKind.PROSUMER), env.meter(env.alice, MeterKind.CONSUMER)
        start = start_in_lane(env, lane)
        n = data.draw(st.integers(1, 30), "intervals")
        cut = data.draw(st.integers(1, n), "a's second run from")
        lo = data.draw(st.integers(0, n - 1), "b's run from")
        hi = data.draw(st.integers(lo + 1, n), "b's run to")

        def energies(size, name):
            return data.draw(st.lists(st.integers(0, 2500), min_size=size, max_size=size), name)

        imports, exports = energies(n, "a's imports"), energies(n, "a's exports")
        b_imports, b_exports = energies(hi - lo, "b's imports"), [0] * (hi - lo)
        batch = env.readings(a, start, imports[:cut], exports[:cut])
        if cut < n:
            batch += env.readings(a, start + cut * 900, imports[cut:], exports[cut:], previous_end=start + cut * 900,
                                  import_register_wh=sum(imports[:cut]), export_register_wh=sum(exports[:cut]))
        batch += env.readings(b, start + lo * 900, b_imports, b_exports)
        env.submit(batch)
        for k in range(-1, n + 1):
            imported = (imports[k] if 0 <= k < n else 0) + (b_imports[k - lo] if lo <= k < hi else 0)
            exported = (exports[k] if 0 <= k < n else 0) + (b_exports[k - lo] if lo <= k < hi else 0)
            assert env.token.functions.intervalAccount(env.alice, interval(start) + k).call() == [
                exported, exported, imported, 0, 0], k
    finally:
        env.w3.testing.revert(snapshot)


@pytest.mark.parametrize("kind, figure", [(MeterKind.CONSUMER, 2)], ids=["import"])
def test_an_account_interval_beyond_2_to_the_32_wh_is_refused(env, kind, figure):
    """Meters of one owner at full capacity: their energy in one interval would pass 2^32 - 1 Wh
    (the lane's width); refused naming the interval, and nothing of that run is kept. (An account
    exports through one meter, below 2^32 Wh an interval: its balance passes the width only by
    transfers, see the next test.)"""
    ms = [env.meter(env.alice, kind, capacity_w=MOST_W) for _ in range(6)]
    start = start_in_lane(env, 3)
    iid = interval(start)

    def runs(m, first, second):  # a run of two intervals carrying this energy, imported or exported
        energy, none = [first, second], [0, 0]
        return env.readings(m, start, *((energy, none) if kind == MeterKind.CONSUMER else (none, energy)))

    def figures(i):
        return env.token.functions.intervalAccount(env.alice, i).call()[figure]

    for m in ms[:4]:
        env.submit(runs(m, 7, MOST_WH))
    assert figures(iid + 1) == 4 * MOST_WH == LANE - 3
    with reverts("EnergyTokenAmountOverflow", account=env.alice, intervalId=iid + 1):
        env.submit(runs(ms[4], 9, 4))  # 2^32 - 4 + 4 = 2^32
    assert (figures(iid), figures(iid + 1)) == (28, LANE - 3)  # the run's first interval not kept either
    env.submit(runs(ms[5], 9, 3))  # up to the lane's width: fine
    assert (figures(iid), figures(iid + 1)) == (37, LANE)


def test_a_transfer_beyond_2_to_the_32_wh_is_refused(env):
    """An account exports through one meter (below 2^32 Wh an interval): its balance reaches the
    lane's width only by transfers, and a transfer past it is refused."""
    producers = env.chain.accounts()[6:10] + [env.carol]
    ms = [env.meter(p, capacity_w=MOST_W) for p in producers]
    env.participant(env.alice)
    bob = env.meter(env.bob)
    start = env.next_start()
    iid = interval(start)
    for m, wh in zip(ms, [MOST_WH] * 4 + [3]):
        env.submit(env.readings(m, start, [0], [wh]))
    env.submit(env.readings(bob, start, [0], [1]))
    for p, wh in zip(producers, [MOST_WH] * 4 + [3]):
        env.c.transact(env.token.functions.safeTransferFrom(p, env.alice, iid, wh, b""), p)
    assert env.token.functions.balanceOf(env.alice, iid).call() == LANE
    with reverts("EnergyTokenAmountOverflow", account=env.alice, intervalId=iid):
        env.c.transact(env.token.functions.safeTransferFrom(env.bob, env.alice, iid, 1, b""), env.bob)
    assert env.token.functions.balanceOfBatch([env.alice, env.bob], [iid, iid]).call() == [LANE, 1]


def test_a_run_mints_in_one_event_from_the_registry_only_what_it_exports(env):
    m = env.meter(env.alice, MeterKind.PROSUMER)
    start = env.next_start()
    iid = interval(start)
    receipt = env.submit(env.readings(m, start, [1, 2, 3, 4], [0, 5, 0, 7]))
    assert env.token.events.TransferSingle().process_receipt(receipt, errors=DISCARD) == ()
    [batch] = env.token.events.TransferBatch().process_receipt(receipt, errors=DISCARD)
    assert dict(batch.args) == {"operator": env.registry.address, "from": "0x" + "00" * 20, "to": env.alice,
                                "ids": [iid + 1, iid + 3], "values": [5, 7]}
    receipt = env.submit(env.readings(m, start + 3600, [0, 9], [6, 0], import_register_wh=10, export_register_wh=12))
    [single] = env.token.events.TransferSingle().process_receipt(receipt, errors=DISCARD)
    assert dict(single.args) == {"operator": env.registry.address, "from": "0x" + "00" * 20, "to": env.alice,
                                 "id": iid + 4, "value": 6}
    receipt = env.submit(env.readings(m, start + 5400, [8], [0], import_register_wh=19, export_register_wh=18))
    assert not env.token.events.TransferSingle().process_receipt(receipt, errors=DISCARD)
    assert not env.token.events.TransferBatch().process_receipt(receipt, errors=DISCARD)
    assert env.token.functions.verifiedImport(env.alice, iid + 6).call() == 8


def test_token_needs_a_registry(env):
    from gridshare.chain.compiler import compile_contracts

    artifact = compile_contracts()["EnergyToken"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    zero = "0x" + "00" * 20
    with reverts("EnergyTokenInvalidRegistry", registry=zero):
        env.c.transact(factory.constructor(zero, ""))


def _produce_and_consume(env, produced=1000, consumed=600):
    producer = env.meter(env.alice)
    consumer = env.meter(env.bob, MeterKind.CONSUMER)
    start = env.next_start()
    env.submit(env.readings(producer, start, [0], [produced]) + env.readings(consumer, start, [consumed], [0]))
    return interval(start)


def test_participants_transfer_and_consumers_redeem(env):
    iid = _produce_and_consume(env)
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 600, b""), env.alice)
    receipt = env.c.transact(env.token.functions.redeem(env.bob, iid, 600), env.bob)
    [event] = env.token.events.Redeemed().process_receipt(receipt, errors=DISCARD)
    assert dict(event.args) == {"account": env.bob, "intervalId": iid, "amountWh": 600, "operator": env.bob}
    assert env.token.functions.balanceOf(env.bob, iid).call() == 0
    assert env.token.functions.redeemed(env.bob, iid).call() == 600
    assert env.token.functions.redeemable(env.bob, iid).call() == 0
    assert env.token.functions.balanceOf(env.alice, iid).call() == 400  # surplus stays with the producer


def test_redeeming_more_than_verified_import_is_refused(env):
    iid = _produce_and_consume(env)
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 700, b""), env.alice)
    with reverts("EnergyTokenRedeemExceedsImport", account=env.bob, intervalId=iid, amountWh=700, redeemableWh=600):
        env.c.transact(env.token.functions.redeem(env.bob, iid, 700), env.bob)
    env.c.transact(env.token.functions.redeem(env.bob, iid, 450), env.bob)
    with reverts("EnergyTokenRedeemExceedsImport", account=env.bob, intervalId=iid, amountWh=151, redeemableWh=150):
        env.c.transact(env.token.functions.redeem(env.bob, iid, 151), env.bob)


def test_a_producer_without_import_cannot_redeem(env):
    iid = _produce_and_consume(env)
    with reverts("EnergyTokenRedeemExceedsImport", account=env.alice, intervalId=iid, amountWh=1, redeemableWh=0):
        env.c.transact(env.token.functions.redeem(env.alice, iid, 1), env.alice)


def test_redeeming_tokens_not_held_is_refused(env):
    iid = _produce_and_consume(env)
    with reverts("ERC1155InsufficientBalance", sender=env.bob, balance=0, needed=10, tokenId=iid):
        env.c.transact(env.token.functions.redeem(env.bob, iid, 10), env.bob)


def test_redeeming_for_another_account_needs_its_approval(env):
    iid = _produce_and_consume(env)
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 100, b""), env.alice)
    with reverts("ERC1155MissingApprovalForAll", operator=env.carol, owner=env.bob):
        env.c.transact(env.token.functions.redeem(env.bob, iid, 100), env.carol)
    env.c.transact(env.token.functions.setApprovalForAll(env.carol, True), env.bob)
    receipt = env.c.transact(env.token.functions.redeem(env.bob, iid, 100), env.carol)
    [event] = env.token.events.Redeemed().process_receipt(receipt, errors=DISCARD)
    assert (event.args.account, event.args.operator) == (env.bob, env.carol)  # the claim is bob's, sent by carol
    assert env.token.functions.redeemed(env.bob, iid).call() == 100


def test_transfers_to_or_from_outsiders_are_refused(env):
    iid = _produce_and_consume(env)
    with reverts("EnergyTokenNotParticipant", account=env.outsider):
        env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.outsider, iid, 1, b""), env.alice)
    with reverts("EnergyTokenNotParticipant", account=env.outsider):
        env.c.transact(env.token.functions.safeBatchTransferFrom(env.alice, env.outsider, [iid], [1], b""), env.alice)
    # an outsider holds nothing to send, but a transfer from it names it too
    env.c.transact(env.token.functions.setApprovalForAll(env.alice, True), env.outsider)
    with reverts("EnergyTokenNotParticipant", account=env.outsider):
        env.c.transact(env.token.functions.safeTransferFrom(env.outsider, env.bob, iid, 0, b""), env.alice)


# --- conservation --------------------------------------------------------------------------------

energy = st.integers(min_value=0, max_value=2500)  # capacity 10 kW -> at most 2500 Wh per 15 min
day = st.lists(st.tuples(energy, energy, energy), min_size=1, max_size=4)  # per interval: 3 meters
moves = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 3000), st.booleans()),
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(series=day, actions=moves)
def test_conservation_balances_plus_redeemed_equal_verified_export(env, series, actions):
    """Per interval: sum of balances + sum of redeemed == sum of verified export, whatever the
    readings, transfers and redemptions (refused ones included)."""
    snapshot = env.w3.testing.snapshot()
    try:
        people = [env.alice, env.bob, env.carol]
        meters = [env.meter(p, MeterKind.PROSUMER) for p in people]
        start = env.next_start()
        batch = []
        for k, m in enumerate(meters):
            exports = [row[k] for row in series]
            imports = [row[(k + 1) % 3] for row in series]
            batch += env.readings(m, start, imports, exports)
        env.submit(batch)
        ids = [interval(start + 900 * i) for i in range(len(series))]
        exported = {iid: sum(series[i]) for i, iid in enumerate(ids)}

        for slot, frm, to, amount, is_redeem in actions:
            iid = ids[slot % len(ids)]
            try:
                if is_redeem:
                    env.c.transact(env.token.functions.redeem(people[frm], iid, amount), people[frm])
                else:
                    env.c.transact(env.token.functions.safeTransferFrom(people[frm], people[to], iid, amount, b""), people[frm])
            except Exception as exc:  # refused moves must change nothing
                assert getattr(exc, "error", None) is not None, exc

        for iid in ids:
            held = sum(env.token.functions.balanceOf(p, iid).call() for p in people)
            redeemed = sum(env.token.functions.redeemed(p, iid).call() for p in people)
            assert held + redeemed == exported[iid]
            for p in people:
                assert env.token.functions.redeemed(p, iid).call() <= env.token.functions.verifiedImport(p, iid).call()
    finally:
        env.w3.testing.revert(snapshot)


def test_redeem_batch_redeems_several_intervals(env):
    producer, consumer = env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER)
    start = env.next_start()
    env.submit(env.readings(producer, start, [0, 0], [500, 700]) + env.readings(consumer, start, [300, 900], [0, 0]))
    ids = [interval(start), interval(start + 900)]
    env.c.transact(env.token.functions.safeBatchTransferFrom(env.alice, env.bob, ids, [300, 700], b""), env.alice)
    receipt = env.c.transact(env.token.functions.redeemBatch(env.bob, ids, [300, 700]), env.bob)
    redeemed = env.token.events.Redeemed().process_receipt(receipt, errors=DISCARD)
    assert [(e.args.account, e.args.intervalId, e.args.amountWh) for e in redeemed] == [(env.bob, ids[0], 300),
                                                                                      (env.bob, ids[1], 700)]
    assert [env.token.functions.redeemed(env.bob, i).call() for i in ids] == [300, 700]
    assert env.token.functions.balanceOfBatch([env.bob, env.bob], ids).call() == [0, 0]


def test_redeem_batch_refusals(env):
    iid = _produce_and_consume(env)
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 600, b""), env.alice)
    with reverts("ERC1155InvalidArrayLength", idsLength=1, valuesLength=2):
        env.c.transact(env.token.functions.redeemBatch(env.bob, [iid], [1, 2]), env.bob)
    with reverts("ERC1155MissingApprovalForAll", operator=env.carol, owner=env.bob):
        env.c.transact(env.token.functions.redeemBatch(env.bob, [iid], [1]), env.carol)
    # the same interval twice: the second part goes past the verified import
    with reverts("EnergyTokenRedeemExceedsImport", account=env.bob, intervalId=iid, amountWh=200, redeemableWh=100):
        env.c.transact(env.token.functions.redeemBatch(env.bob, [iid, iid], [500, 200]), env.bob)


def test_interval_account_holds_all_figures_of_an_account_in_an_interval(env):
    a, b = env.meter(env.alice, MeterKind.PROSUMER), env.meter(env.alice, MeterKind.CONSUMER)
    start = env.next_start()
    env.submit(env.readings(a, start, [40], [300]) + env.readings(b, start, [60], [0]))
    iid = interval(start)
    env.c.transact(env.token.functions.redeem(env.alice, iid, 70), env.alice)
    # balance, minted, import, received locally, claimed (redeemed by itself)
    assert env.token.functions.intervalAccount(env.alice, iid).call() == [230, 300, 100, 0, 70]
    assert env.token.functions.verifiedExport(env.alice, iid).call() == 300
    assert env.token.functions.redeemed(env.alice, iid).call() == 70
    assert env.token.functions.redeemable(env.alice, iid).call() == 30


def test_an_account_exports_through_one_meter(env):
    """Its crypto-kWh of an interval are then that meter's production: claims on them (shared,
    sold, certified) are per meter and interval. Consumer meters are not limited."""
    m = env.meter(env.alice, MeterKind.PROSUMER)
    env.meter(env.alice, MeterKind.CONSUMER)
    for kind in (MeterKind.PRODUCER, MeterKind.PROSUMER):
        with reverts("MeterRegistryOwnerExports", owner=env.alice, meterId=m.id):
            env.meter(env.alice, kind)


def test_batch_transfer_arrays_must_match(env):
    iid = _produce_and_consume(env)
    with reverts("ERC1155InvalidArrayLength", idsLength=1, valuesLength=2):
        env.c.transact(env.token.functions.safeBatchTransferFrom(env.alice, env.bob, [iid], [1, 2], b""), env.alice)
