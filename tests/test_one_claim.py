"""One Wh, one claim: sharing, trade, certificates and consumers' claims draw on the same
crypto-kWh, so that per meter and interval shared + sold + certified + surplus = verified export.
Each case was measured against the previous design (the issue's numbers) and is refused or
counted right now, by its exact custom error."""

from __future__ import annotations

from datetime import date, timedelta

from web3.logs import DISCARD

from gridshare.chain import market
from gridshare.chain.compiler import compile_contracts
from gridshare.chain.deployment import ESCROW_ROLE
from gridshare.chain.operation import allocate, join
from gridshare.protocol.guarantees import DAY, Declaration, Status
from gridshare.protocol.market import Side
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.settlement import Entry, encode

from conftest import raise_view, reverts, second_allocator

DECL = Declaration().as_call_arg()
ZERO = "0x" + "00" * 20
NOTHING_UNSPENT = b"nothing unspent".ljust(32, b"\0")


def _day_start(env) -> int:
    """A UTC day from which a whole day of readings fits in one calendar month, after every meter
    registered so far."""
    day = env.now() // DAY + 1
    first = date(1970, 1, 1) + timedelta(days=day)
    if first.day > 27:  # the next month's first day
        day = (date(first.year + (first.month == 12), first.month % 12 + 1, 1) - date(1970, 1, 1)).days
    return day


def _a_day(env, m, exports: list[int], imports: list[int] | None = None, day: int | None = None) -> int:
    """`m` exports (imports) these Wh in the first intervals of a UTC day, then nothing to the next
    day's first interval (so the day is final); returns the day."""
    day = _day_start(env) if day is None else day
    n = 96 + 1
    exp = exports + [0] * (n - len(exports))
    imp = (imports or []) + [0] * (n - len(imports or []))
    env.submit(env.readings(m, day * DAY, imp, exp))
    return day


def _request(env, m, day: int, days: int = 1) -> int:
    receipt = env.c.transact(env.c.guarantees.functions.requestCertification(m.id, day, day + days, DECL), m.owner)
    [event] = env.c.guarantees.events.CertificationRequested().process_receipt(receipt, errors=DISCARD)
    return event.args.certificateId


def _approve(env, cid: int):
    return env.c.transact(env.c.guarantees.functions.approve([cid]))


# --- certificates convert the producer's unspent crypto-kWh ----------------------------------------


def test_a_certificate_takes_only_what_was_neither_sold_nor_consumed(env):
    """The issue's case: 1,000 Wh produced, 600 sold and consumed by a neighbour, then a
    certificate of the day: it certifies the 400 Wh left, not 1,000 (2,000 Wh claimed for 1,000)."""
    producer = env.meter(env.alice)
    consumer = env.meter(env.bob, MeterKind.CONSUMER)
    day = _day_start(env)
    _a_day(env, producer, [1000], day=day)
    _a_day(env, consumer, [], [600], day=day)
    iid = day * DAY // 900
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 600, b""), env.alice)
    env.c.transact(env.token.functions.redeem(env.bob, iid, 600), env.bob)
    cid = _request(env, producer, day)
    assert env.c.guarantees.functions.certificate(cid).call()[1] == 1000  # requested: the verified export
    receipt = _approve(env, cid)
    assert env.c.guarantees.functions.certificate(cid).call()[1] == 400  # issued: what was unspent
    assert env.c.guarantees.functions.balanceOf(env.alice, cid).call() == 400
    # the burn is an ERC-1155 burn of the crypto-kWh, operator: the certificates
    [burn] = [e for e in env.token.events.TransferSingle().process_receipt(receipt, errors=DISCARD)
              if e.address == env.token.address]
    assert (burn.args.operator, burn.args["from"], burn.args.to, burn.args.id, burn.args.value) == (
        env.c.guarantees.address, env.alice, ZERO, iid, 400)
    # sold + certified + surplus = verified export; nothing is left to sell twice
    assert env.token.functions.intervalAccount(env.alice, iid).call() == [0, 1000, 0, 0, 0]
    assert env.token.functions.intervalAccount(env.bob, iid).call() == [0, 0, 600, 0, 600]


def test_crypto_kwh_bought_are_not_certified_as_ones_own_production(env):
    """A producer holding tokens of another producer's interval certifies at most its own
    production of that interval left unspent (balance - acquired per interval)."""
    a, b = env.meter(env.alice), env.meter(env.bob)
    day = _day_start(env)
    _a_day(env, a, [100], day=day)
    _a_day(env, b, [50], day=day)
    iid = day * DAY // 900
    env.c.transact(env.token.functions.safeTransferFrom(env.bob, env.alice, iid, 50, b""), env.bob)
    cid = _request(env, a, day)
    _approve(env, cid)
    assert env.c.guarantees.functions.certificate(cid).call()[1] == 100
    assert env.token.functions.balanceOf(env.alice, iid).call() == 50  # b's Wh stay sellable by alice


def _own(env, account, iid) -> int:
    return env.token.functions.ownUnspent(account, iid).call()


def test_crypto_kwh_sold_and_bought_back_are_not_certified_again(env):
    """alice sells 300 of her 1,000 Wh to bob and buys 300 of carol's: 700 of her own are left
    (the 300 she holds of carol's are carol's sale). Bought first and sold on: still 1,000 of
    her own, what left was what she had acquired."""
    a, c = env.meter(env.alice), env.meter(env.carol)
    env.meter(env.bob, MeterKind.CONSUMER)
    day = _day_start(env)
    _a_day(env, a, [1000, 1000], day=day)
    _a_day(env, c, [300, 300], day=day)
    iid = day * DAY // 900
    move = env.token.functions.safeTransferFrom
    env.c.transact(move(env.alice, env.bob, iid, 300, b""), env.alice)
    env.c.transact(move(env.carol, env.alice, iid, 300, b""), env.carol)
    assert env.token.functions.balanceOf(env.alice, iid).call() == 1000 and _own(env, env.alice, iid) == 700
    env.c.transact(move(env.carol, env.alice, iid + 1, 300, b""), env.carol)
    env.c.transact(move(env.alice, env.bob, iid + 1, 300, b""), env.alice)
    assert _own(env, env.alice, iid + 1) == 1000
    cid = _request(env, a, day)
    _approve(env, cid)
    assert env.c.guarantees.functions.certificate(cid).call()[1] == 700 + 1000
    assert env.token.functions.balanceOf(env.alice, iid).call() == 300  # carol's: hers to sell or claim


def test_what_a_producer_redeems_is_taken_from_what_it_bought_first(env):
    """A prosumer buys 200 Wh of a neighbour's and claims 250 against its own import of the same
    interval: 200 bought + 50 of its own production, so 950 of its 1,000 Wh are left to certify."""
    a, b = env.meter(env.alice, MeterKind.PROSUMER), env.meter(env.bob)
    day = _day_start(env)
    _a_day(env, a, [1000], [250], day=day)
    _a_day(env, b, [200], day=day)
    iid = day * DAY // 900
    env.c.transact(env.token.functions.safeTransferFrom(env.bob, env.alice, iid, 200, b""), env.bob)
    env.c.transact(env.token.functions.redeem(env.alice, iid, 250), env.alice)
    assert _own(env, env.alice, iid) == 950
    cid = _request(env, a, day)
    _approve(env, cid)
    assert env.c.guarantees.functions.certificate(cid).call()[1] == 950


def test_an_asks_escrow_returns_tokens_as_they_were_and_launders_nothing(env):
    """An ask's unsold energy comes back as it left: alice's own stays certifiable; crypto-kWh
    bob bought and offered come back bought, not his own production (he produced nothing)."""
    a, b = env.meter(env.alice), env.meter(env.bob, MeterKind.PROSUMER)
    env.at((env.now() // 900 + 2) * 900 + 1)  # the interval that ends next comes after both meters
    iid = env.now() // 900
    env.at((iid + 1) * 900 + 1)
    env.submit(env.readings(a, iid * 900, [0], [1000]))
    env.submit(env.readings(b, iid * 900, [400], [0]))
    for who in (env.alice, env.bob):
        env.c.transact(env.token.functions.setApprovalForAll(env.c.market.address, True), who)
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 400, b""), env.alice)
    assert (_own(env, env.alice, iid), _own(env, env.bob, iid)) == (600, 0)
    place, cancel = env.c.market.functions.placeAsk, env.c.market.functions.cancel
    for who, wh in ((env.alice, 600), (env.bob, 400)):
        receipt = env.c.transact(place(iid, 100_000, wh, market.Backing.ENERGY, 0), who)
        [placed] = env.c.market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
        env.c.transact(cancel(placed.args.orderId), who)
    assert (_own(env, env.alice, iid), _own(env, env.bob, iid)) == (600, 0)
    assert env.token.functions.balanceOf(env.bob, iid).call() == 400


def test_only_a_market_holds_crypto_kwh_in_escrow(env):
    m = env.meter(env.alice)
    day = _a_day(env, m, [100])
    iid = day * DAY // 900
    env.c.transact(env.token.functions.setApprovalForAll(env.bob, True), env.alice)
    with reverts("EnergyTokenUnauthorizedEscrow", caller=env.bob):
        env.c.transact(env.token.functions.escrow(env.alice, iid, 100), env.bob)
    with reverts("EnergyTokenUnauthorizedEscrow", caller=env.alice):
        env.c.transact(env.token.functions.release(env.alice, iid, 100), env.alice)


def test_a_request_whose_energy_was_all_spent_is_rejected_at_approval_and_its_days_freed(env):
    producer = env.meter(env.alice)
    consumer = env.meter(env.bob, MeterKind.CONSUMER)
    day = _day_start(env)
    _a_day(env, producer, [300], day=day)
    _a_day(env, consumer, [], [300], day=day)
    iid = day * DAY // 900
    cid = _request(env, producer, day)
    env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.bob, iid, 300, b""), env.alice)  # after it
    receipt = _approve(env, cid)
    [rejected] = env.c.guarantees.events.CertificationRejected().process_receipt(receipt, errors=DISCARD)
    assert (rejected.args.certificateId, rejected.args.reason) == (cid, NOTHING_UNSPENT)
    assert env.c.guarantees.functions.certificate(cid).call()[6] == Status.REJECTED
    assert not env.c.guarantees.functions.isDayTaken(producer.id, day).call()
    assert env.c.guarantees.functions.NOTHING_UNSPENT().call() == NOTHING_UNSPENT


def test_a_certificates_period_lies_within_one_calendar_month(env):
    m = env.meter(env.alice)
    day = _day_start(env)
    first = date(1970, 1, 1) + timedelta(days=day)
    last_of_month = (date(first.year + (first.month == 12), first.month % 12 + 1, 1) - date(1970, 1, 1)).days - 1
    env.w3.testing.timeTravel((last_of_month + 2) * DAY + 3600)
    env.submit(env.readings(m, day * DAY, [0] * ((last_of_month - day + 2) * 96 + 1),
                            [10] * ((last_of_month - day + 2) * 96 + 1)))
    g = env.c.guarantees.functions
    with reverts("GuaranteeOfOriginPeriodAcrossMonths", fromDay=last_of_month, toDay=last_of_month + 2):
        env.c.transact(g.requestCertification(m.id, last_of_month, last_of_month + 2, DECL), env.alice)
    with reverts("GuaranteeOfOriginPeriodAcrossMonths", fromDay=day, toDay=last_of_month + 2):
        env.c.transact(g.requestCertification(m.id, day, last_of_month + 2, DECL), env.alice)
    cid = _request(env, m, day, last_of_month + 1 - day)  # to the month's end: fine
    _approve(env, cid)
    assert g.certificate(cid).call()[1] == 10 * 96 * (last_of_month + 1 - day)


def test_only_the_certifier_burns_crypto_kwh_into_certificates(env):
    with reverts("EnergyTokenUnauthorizedCertifier", caller=env.outsider):
        env.c.transact(env.token.functions.certify(env.alice, 0, 1, 1), env.outsider)


def test_a_day_can_be_certified_whatever_day_the_next_reading_comes(env):
    """verifiedExportBetween(D1, D2) needs no reading on D2: the run that comes later, starting
    with the meter's signed outage over D2, makes the totals final (a gateway offline on the 1st
    does not block the previous month)."""
    m = env.meter(env.alice)
    d1 = _day_start(env)
    env.w3.testing.timeTravel((d1 + 4) * DAY)
    env.submit(env.readings(m, d1 * DAY, [0] * 96, [5] * 96))  # D1, ending at D2's start
    view = env.registry.functions.verifiedExportBetween
    with reverts("MeterRegistryNoCheckpoint", meterId=m.id, day=d1 + 2, nextIntervalStart=(d1 + 1) * DAY):
        raise_view(env, view(m.id, d1 + 1, d1 + 2))
    # nothing on D2 (offline); the next run, two days later, declares the outage first
    env.submit(env.readings(m, (d1 + 3) * DAY, [0], [7], previous_end=(d1 + 1) * DAY, export_register_wh=480))
    assert (view(m.id, d1, d1 + 1).call(), view(m.id, d1 + 1, d1 + 2).call(), view(m.id, d1, d1 + 3).call()) == (
        480, 0, 480)
    cid = _request(env, m, d1)
    _approve(env, cid)
    assert env.c.guarantees.functions.certificate(cid).call()[1] == 480


# --- settleLocal moves only the calling operation's members' tokens -------------------------------


def _verified(env, ms, exports_imports):
    """Runs of one interval each from the next start: [(exports, imports)] per meter."""
    start = env.next_start()
    runs = []
    for m, (exp, imp) in zip(ms, exports_imports):
        runs += env.readings(m, start, [imp], [exp])
    return start // 900, runs


def test_a_rogue_allocator_cannot_settle_the_markets_escrow(env):
    """The issue's case: an ALLOCATOR_ROLE holder burning an ask's escrow (whose refund could then
    never be claimed)."""
    producer, consumer = env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER)
    iid, runs = _verified(env, [producer, consumer], [(500, 0), (0, 400)])
    env.submit(runs)
    market.place(env.c, env.alice, Side.ASK, iid, 100_000, 500)
    assert env.token.functions.balanceOf(env.c.market.address, iid).call() == 500
    rogue = second_allocator(env)
    entries = encode([(iid, [Entry(env.c.market.address, 400, 0), Entry(env.bob, 0, 400)])])
    with reverts("EnergyTokenNotSettleable", account=env.c.market.address, intervalId=iid, operation=rogue.address):
        env.c.transact(rogue.functions.verifyAndSettle([], entries))
    # an allocator with the role but no contract (an EOA) settles nobody either
    env.c.transact(env.registry.functions.grantRole(env.registry.functions.ALLOCATOR_ROLE().call(), env.carol))
    with reverts("EnergyTokenNotSettleable", account=env.c.market.address, intervalId=iid, operation=env.carol):
        env.c.transact(env.token.functions.settleLocal(entries), env.carol)


def test_an_allocator_settles_only_meters_bound_to_it_verified_in_the_same_transaction(env):
    producer, consumer = env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER)
    iid, runs = _verified(env, [producer, consumer], [(500, 0), (0, 400)])
    rogue = second_allocator(env)
    entries = encode([(iid, [Entry(env.alice, 400, 0), Entry(env.bob, 0, 400)])])
    env.at(max(s.run.end(900) for s in runs))
    args = [s.as_call_arg() for s in runs]
    # relaying unbound meters' runs (anyone may) gives no right to settle them
    with reverts("EnergyTokenNotSettleable", account=env.alice, intervalId=iid, operation=rogue.address):
        env.c.transact(rogue.functions.verifyAndSettle(args, entries))
    # bound to it from the next interval: still not this one
    env.c.transact(rogue.functions.bind([producer.id, consumer.id], iid + 1))
    with reverts("EnergyTokenNotSettleable", account=env.alice, intervalId=iid, operation=rogue.address):
        env.c.transact(rogue.functions.verifyAndSettle(args, entries))
    env.submit(runs)  # verified now, by a relayer
    nxt, later = _verified(env, [producer, consumer], [(500, 0), (0, 400)])
    later = [env.sign(producer, env.run(producer, nxt * 900, [0], [500], previous_end=iid * 900 + 900,
                                        export_register_wh=500)),
             env.sign(consumer, env.run(consumer, nxt * 900, [400], [0], previous_end=iid * 900 + 900,
                                        import_register_wh=400))]
    env.at(nxt * 900 + 900)
    # in the transaction that verifies the bound interval: that interval only, not the earlier one
    old = encode([(iid, [Entry(env.alice, 100, 0), Entry(env.bob, 0, 0)])])
    with reverts("EnergyTokenNotSettleable", account=env.alice, intervalId=iid, operation=rogue.address):
        env.c.transact(rogue.functions.verifyAndSettle([s.as_call_arg() for s in later], old))
    now = encode([(nxt, [Entry(env.alice, 400, 0), Entry(env.bob, 0, 400)])])
    env.c.transact(rogue.functions.verifyAndSettle([s.as_call_arg() for s in later], now))
    assert env.token.functions.intervalAccount(env.bob, nxt).call() == [0, 0, 400, 400, 0]
    # afterwards, in another transaction, nothing of it
    with reverts("EnergyTokenNotSettleable", account=env.alice, intervalId=nxt, operation=rogue.address):
        env.c.transact(rogue.functions.verifyAndSettle([], encode([(nxt, [Entry(env.alice, 100, 0),
                                                                              Entry(env.bob, 0, 0)])])))


def test_a_claim_waits_for_the_operations_settlement_of_the_same_transaction(env):
    consumer = env.meter(env.bob, MeterKind.CONSUMER)
    rogue = second_allocator(env)
    start = env.next_start()
    env.c.transact(rogue.functions.bind([consumer.id], start // 900))
    runs = env.readings(consumer, start, [400], [0])
    env.at(start + 900)
    env.c.transact(env.token.functions.setApprovalForAll(rogue.address, True), env.bob)
    with reverts("EnergyTokenSettlementPending", account=env.bob, intervalId=start // 900):
        env.c.transact(rogue.functions.verifyAndRedeem([s.as_call_arg() for s in runs], env.bob, start // 900, 1))



def test_a_trade_into_claims_waits_for_the_operations_settlement_of_the_same_transaction(env):
    """The batch auction's path (EnergyToken.tradeToClaims) refuses as redeem does."""
    consumer = env.meter(env.bob, MeterKind.CONSUMER)
    rogue = second_allocator(env)
    env.c.transact(env.registry.functions.grantRole(env.token.functions.ESCROW_ROLE().call(), rogue.address))
    start = env.next_start()
    env.c.transact(rogue.functions.bind([consumer.id], start // 900))
    runs = env.readings(consumer, start, [400], [0])
    env.at(start + 900)
    with reverts("EnergyTokenSettlementPending", account=env.bob, intervalId=start // 900):
        env.c.transact(rogue.functions.verifyAndTrade([s.as_call_arg() for s in runs], start // 900, [env.bob], [1]))

# --- R15 from sharing alone -------------------------------------------------------------------------


def test_r15_quantities_are_the_operations_sharing_alone(env):
    """The issue's case: an unmatched market ask turned a producer's R15 (PROD 1000, AUTOPROD
    800, SURPLUS 200) into (1000, 1000, 0); a redeemed purchase counted as AUTOCONS."""
    producer, consumer = env.meter(env.alice), env.meter(env.bob, MeterKind.CONSUMER)
    buyer = env.meter(env.carol, MeterKind.CONSUMER)
    start = env.next_start()
    iid = start // 900
    join(env.c, [producer.id, consumer.id], iid)
    report = allocate(env.c, env.readings(producer, start, [0], [1000]) + env.readings(consumer, start, [800], [0]))
    assert report.intervals == 1
    env.submit(env.readings(buyer, start, [150], [0]))
    q = env.c.operation.functions.quantities
    assert q(env.alice, iid).call() == [1000, 800, 200, 0, 0, 0]
    assert q(env.bob, iid).call() == [0, 0, 0, 800, 800, 0]
    placed = market.place(env.c, env.alice, Side.ASK, iid, 100_000, 200)  # the surplus, in escrow
    assert q(env.alice, iid).call() == [1000, 800, 200, 0, 0, 0]
    env.c.transact(env.c.payment.functions.faucet(1_000_000), env.carol)
    bid = market.place(env.c, env.carol, Side.BID, iid, 120_000, 150)  # bought (grid fee 10,000) by a non-member...
    assert bid.trades and placed.order_id
    market.claim(env.c, env.carol, [iid])
    env.c.transact(env.token.functions.redeem(env.carol, iid, 150), env.carol)  # ...and consumed
    assert q(env.alice, iid).call() == [1000, 800, 200, 0, 0, 0]
    assert q(env.carol, iid).call() == [0, 0, 0, 150, 0, 150]  # a claim, not AUTOCONS
    assert env.token.functions.intervalAccount(env.carol, iid).call() == [0, 0, 150, 0, 150]


# --- roles a deployment can trust -------------------------------------------------------------------


def test_admin_transfer_is_two_step_with_a_delay(env):
    artifact = compile_contracts()["MeterRegistry"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(900, env.operator, 2 * DAY))
    registry = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi).functions
    admin = registry.DEFAULT_ADMIN_ROLE().call()
    assert registry.defaultAdmin().call() == env.operator and registry.defaultAdminDelay().call() == 2 * DAY
    with reverts("AccessControlEnforcedDefaultAdminRules"):
        env.c.transact(registry.grantRole(admin, env.carol))
    receipt = env.c.transact(registry.beginDefaultAdminTransfer(env.carol))
    schedule = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"] + 2 * DAY
    assert registry.pendingDefaultAdmin().call() == [env.carol, schedule]
    with reverts("AccessControlEnforcedDefaultAdminDelay", schedule=schedule):
        env.c.transact(registry.acceptDefaultAdminTransfer(), env.carol)
    env.at(schedule + 1)
    env.c.transact(registry.acceptDefaultAdminTransfer(), env.carol)
    assert registry.defaultAdmin().call() == env.carol
    assert registry.hasRole(admin, env.carol).call() and not registry.hasRole(admin, env.operator).call()


# --- time-matched claims -----------------------------------------------------------------------------


def test_time_matched_claims_name_the_device_and_the_interval(env, tmp_path):
    """A member's share (attributed to the producers that gave it) and a non-member's purchase it
    redeemed (attributed to the seller): granular claims, device by device."""
    from gridshare.chain.claims import time_matched_claims
    from gridshare.reports.statement import MATCHED_COLUMNS, write_matched

    plant, roof = env.meter(env.alice), env.meter(env.outsider, MeterKind.PROSUMER)
    flat, buyer = env.meter(env.bob, MeterKind.CONSUMER), env.meter(env.carol, MeterKind.CONSUMER)
    start = env.next_start()
    iid = start // 900
    join(env.c, [plant.id, roof.id, flat.id], iid)
    allocate(env.c, env.readings(plant, start, [0], [600]) + env.readings(roof, start, [0], [200])
             + env.readings(flat, start, [400], [0]))
    env.submit(env.readings(buyer, start, [100], [0]))
    market.place(env.c, env.alice, Side.ASK, iid, 100_000, 100)
    env.c.transact(env.c.payment.functions.faucet(1_000_000), env.carol)
    market.place(env.c, env.carol, Side.BID, iid, 120_000, 100)
    market.claim(env.c, env.carol, [iid])
    env.c.transact(env.token.functions.redeem(env.carol, iid, 100), env.carol)
    shared = [(c.device, c.producer, c.amount_wh, c.how, c.interval_start) for c in time_matched_claims(env.c, env.bob)]
    # 400 Wh shared, given pro rata of export: 300 by the plant, 100 by the rooftop
    assert shared == [(plant.id, env.alice, 300, "shared", start), (roof.id, env.outsider, 100, "shared", start)]
    bought = time_matched_claims(env.c, env.carol)
    assert [(c.device, c.producer, c.amount_wh, c.how) for c in bought] == [(plant.id, env.alice, 100, "claimed")]
    csv_path, html_path = write_matched(env.carol, bought, tmp_path, chain_id=env.chain.chain_id,
                                        token=env.token.address)
    header = csv_path.read_text().splitlines()[0].split(",")
    assert header == MATCHED_COLUMNS and "0.100" in html_path.read_text()


def test_an_escrow_moves_only_between_participants_and_only_what_is_held(env):
    """`escrow` and `release` keep the token's rules: participants only, never more than held."""
    m = env.meter(env.alice)
    day = _a_day(env, m, [100])
    iid = day * DAY // 900
    escrow = env.bob  # an account given the role, as a market is
    env.participant(escrow)
    env.c.transact(env.registry.functions.grantRole(ESCROW_ROLE, escrow))
    env.c.transact(env.token.functions.setApprovalForAll(escrow, True), env.alice)
    with reverts("ERC1155InsufficientBalance", sender=env.alice, balance=100, needed=101, tokenId=iid):
        env.c.transact(env.token.functions.escrow(env.alice, iid, 101), escrow)
    env.c.transact(env.token.functions.escrow(env.alice, iid, 100), escrow)
    with reverts("EnergyTokenNotParticipant", account=env.outsider):
        env.c.transact(env.token.functions.release(env.outsider, iid, 100), escrow)
    with reverts("ERC1155InsufficientBalance", sender=escrow, balance=100, needed=101, tokenId=iid):
        env.c.transact(env.token.functions.release(env.alice, iid, 101), escrow)
    env.c.transact(env.token.functions.release(env.alice, iid, 100), escrow)
    assert env.token.functions.ownUnspent(env.alice, iid).call() == 100
