"""EnergyMarket: trades, escrow, settlement and refunds; every refusal by its exact error."""

from __future__ import annotations

import itertools

import pytest
from web3.logs import DISCARD

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridshare.chain.compiler import compile_contracts
from gridshare.chain.deployment import DEFAULT_MIN_ORDER_WH, ESCROW_ROLE
from gridshare.domain.matching import ContinuousBook, MarketRules, Order, Side, clear_uniform
from gridshare.errors import GridshareError
from gridshare.protocol.meters import MeterKind

from conftest import raise_view, reverts

BID, ASK = 0, 1
PAYMENT, ENERGY, COLLATERAL = 0, 1, 2
FEED_IN, RETAIL, FEE = 40_000, 252_000, 10_000  # the deployment defaults, per kWh
FUNDS = 1_000_000_000  # 1,000 tEUR


class Trader:
    """Deals with one market on the embedded chain: funds, approvals, orders."""

    def __init__(self, env, market, meters):
        self.env, self.m = env, market
        self.meters = meters  # each trader's meter, shared by the markets of a test
        self.intervals = []  # that property tests traded in

    def join(self, *accounts):
        for a in accounts:
            self.env.participant(a)
            c = self.env.c
            c.transact(c.payment.functions.faucet(FUNDS), a)
            c.transact(c.payment.functions.approve(self.m.address, 2**256 - 1), a)
            c.transact(self.env.token.functions.setApprovalForAll(self.m.address, True), a)

    def produce(self, account, interval_id, export_wh, import_wh=0):
        """A verified reading of `account`'s meter for the interval (tokens minted to it); the
        intervals since its last reading are an outage its meter declares."""
        self.env.submit(self.env.readings(self.meters[account], interval_id * 900, [import_wh], [export_wh]))

    def bid(self, account, iid, price, q, hint=0):
        return self._place(self.m.functions.placeBid(iid, price, q, hint), account)

    def ask(self, account, iid, price, q, backing=ENERGY, hint=0):
        return self._place(self.m.functions.placeAsk(iid, price, q, backing, hint), account)

    def _place(self, call, account):
        receipt = self.env.c.transact(call, account)
        placed = self.m.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
        trades = [(t.args.bidId, t.args.askId, t.args.quantityWh, t.args.price)
                  for t in self.m.events.Traded().process_receipt(receipt, errors=DISCARD)]
        return placed[0].args.orderId, trades

    def remaining(self, order_id):
        return self.m.functions.order(order_id).call()[6]

    def claimable(self, account):
        return self.m.functions.claimable(account).call()

    def energy(self, account, iid):
        return self.m.functions.claimableEnergy(account, iid).call()

    def book(self, iid, side):
        return [(o[0], o[5], o[6]) for o in self.m.functions.book(iid, side).call()]


def open_interval(env) -> int:
    """The interval that ended last: readings can be verified and its gate is still open."""
    return env.now() // 900 - 1


@pytest.fixture(scope="module")
def auction(env):
    """A second market on the same community, with the call-auction design."""
    artifact = compile_contracts()["EnergyMarket"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(env.registry.address, env.c.payment.address, 1, FEED_IN, RETAIL,
                                                 FEE, env.operator, 900, 86_400, 1))
    market = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    env.c.transact(env.registry.functions.registerParticipant(market.address))
    env.c.transact(env.registry.functions.grantRole(ESCROW_ROLE, market.address))
    return market


@pytest.fixture
def meters(env):
    """A meter for each trader, registered now; then the clock just past the next interval's
    start, so that the interval that ended last (see open_interval) comes after every meter's
    registration and its gate stays open for the test."""
    ms = {a: env.meter(a, MeterKind.PROSUMER, capacity_w=1_000_000) for a in (env.alice, env.bob, env.carol)}
    env.at((env.now() // 900 + 2) * 900 + 1)
    return ms


@pytest.fixture
def t(env, meters):
    trader = Trader(env, env.c.market, meters)
    trader.join(env.alice, env.bob, env.carol)
    return trader


@pytest.fixture
def a(env, auction, meters):
    trader = Trader(env, auction, meters)
    trader.join(env.alice, env.bob, env.carol)
    return trader


def all_orders(trader):
    """Every order the market ever numbered (taker orders filled at once included)."""
    m, orders, k = trader.m, [], 1
    last = m.functions.order  # ids are contiguous from 1; past the last one, order() reverts
    while True:
        try:
            orders.append(last(k).call())
        except Exception:
            return orders
        k += 1


def assert_solvent(trader, accounts, iids, sellers=()):
    """The market holds exactly what it owes: in money, claimable balances, open bids, collateral of
    open forward asks and of unsettled forward sales; in tokens, open energy asks and claims."""
    env, m = trader.env, trader.m
    orders = all_orders(trader)
    owed = sum(trader.claimable(x) for x in {*accounts, m.functions.operator().call()})  # the fee's recipient
    owed += sum(r * price // 1000 for _, _, _, backing, _, price, r in orders if backing == PAYMENT)
    owed += sum(r * RETAIL // 1000 for _, _, _, backing, _, _, r in orders if backing == COLLATERAL)
    iids = [iids] if isinstance(iids, int) else iids
    for iid in iids:
        for seller in sellers:
            sold, settled = m.functions.forwardSale(iid, seller).call()[:2]
            owed += 0 if settled else sold * RETAIL // 1000
    assert env.c.payment.functions.balanceOf(m.address).call() == owed
    for iid in iids:
        escrow = sum(r for _, _, _, backing, i, _, r in orders if backing == ENERGY and i == iid)
        claims = sum(trader.energy(x, iid) for x in accounts)
        assert env.token.functions.balanceOf(m.address, iid).call() == escrow + claims


# --- continuous, pay-as-bid ---------------------------------------------------------------------

def test_a_bid_takes_a_verified_ask_at_its_own_price_and_gets_the_tokens_at_once(env, t):
    iid = open_interval(env)
    t.produce(env.alice, iid, 1000)
    ask, trades = t.ask(env.alice, iid, 100_000, 1000)
    assert trades == [] and env.token.functions.balanceOf(env.c.market.address, iid).call() == 1000
    bid, trades = t.bid(env.bob, iid, 150_000, 600)
    assert trades == [(bid, ask, 600, 150_000)]  # pay-as-bid: the bid's price
    assert t.remaining(ask) == 400 and t.remaining(bid) == 0
    assert t.claimable(env.alice) == 600 * 140  # 0.15 - 0.01 grid fee, per Wh
    assert t.claimable(env.c.treasury.address) == 600 * 10  # the grid fee: the community's treasury
    assert env.token.functions.balanceOf(env.bob, iid).call() == 600 and t.energy(env.bob, iid) == 0
    assert_solvent(t, [env.alice, env.bob, env.carol], iid)
    before = env.c.payment.functions.balanceOf(env.alice).call()
    env.c.transact(env.c.market.functions.withdraw(), env.alice)
    assert env.c.payment.functions.balanceOf(env.alice).call() == before + 84_000
    assert_solvent(t, [env.alice, env.bob, env.carol], iid)


def test_a_deposit_pays_for_orders_without_a_transfer_each(env, t):
    iid = open_interval(env)
    env.c.transact(env.c.market.functions.deposit(50_000), env.bob)
    assert t.claimable(env.bob) == 50_000
    held = env.c.payment.functions.balanceOf(env.bob).call()
    t.bid(env.bob, iid, 100_000, 300)  # locks 30,000 of the deposit
    assert t.claimable(env.bob) == 20_000 and env.c.payment.functions.balanceOf(env.bob).call() == held
    t.bid(env.bob, iid, 100_000, 300)  # 20,000 from the deposit, 10,000 by transferFrom
    assert t.claimable(env.bob) == 0 and env.c.payment.functions.balanceOf(env.bob).call() == held - 10_000
    assert_solvent(t, [env.alice, env.bob, env.carol], iid)


def test_price_then_time_priority_and_a_taker_ask_trades_at_each_bids_price(env, t):
    iid = open_interval(env)
    b1, _ = t.bid(env.bob, iid, 120_000, 100)
    b2, _ = t.bid(env.carol, iid, 130_000, 100)
    b3, _ = t.bid(env.bob, iid, 120_000, 100)  # same price as b1, later
    assert [o[0] for o in t.book(iid, BID)] == [b2, b1, b3]
    t.produce(env.alice, iid, 1000)
    ask, trades = t.ask(env.alice, iid, 100_000, 250)
    assert trades == [(b2, ask, 100, 130_000), (b1, ask, 100, 120_000), (b3, ask, 50, 120_000)]
    assert t.book(iid, BID) == [(b3, 120_000, 50)]
    assert t.claimable(env.alice) == 100 * 120 + 100 * 110 + 50 * 110
    assert t.energy(env.bob, iid) == 150 and t.energy(env.carol, iid) == 100
    assert_solvent(t, [env.alice, env.bob, env.carol], iid)


def test_orders_that_do_not_cross_rest_sorted_and_the_fee_is_part_of_crossing(env, t):
    iid = open_interval(env)
    t.produce(env.alice, iid, 1000)
    a1, _ = t.ask(env.alice, iid, 100_000, 300)
    a2, _ = t.ask(env.alice, iid, 90_000, 300)
    bid, trades = t.bid(env.bob, iid, 99_000, 100)  # 99 - 10 fee < 90: no trade
    assert trades == []
    assert [o[0] for o in t.book(iid, ASK)] == [a2, a1] and t.book(iid, BID) == [(bid, 99_000, 100)]
    # a hint pointing ahead of the right place still works; a stale one only costs gas
    a3, _ = t.ask(env.alice, iid, 95_000, 100, hint=a2)
    a4, _ = t.ask(env.alice, iid, 95_000, 100, hint=a1)
    assert [o[0] for o in t.book(iid, ASK)] == [a2, a3, a4, a1]


def test_cancel_refunds_once_and_unlinks(env, t):
    iid = open_interval(env)
    b1, _ = t.bid(env.bob, iid, 120_000, 100)
    b2, _ = t.bid(env.bob, iid, 110_000, 100)
    b3, _ = t.bid(env.bob, iid, 100_000, 100)
    env.c.transact(env.c.market.functions.cancel(b2), env.bob)
    assert t.claimable(env.bob) == 100 * 110 and [o[0] for o in t.book(iid, BID)] == [b1, b3]
    env.c.transact(env.c.market.functions.cancel(b1), env.bob)  # the head
    env.c.transact(env.c.market.functions.cancel(b3), env.bob)  # the last one
    assert t.book(iid, BID) == [] and t.claimable(env.bob) == 100 * (120 + 110 + 100)
    with reverts("EnergyMarketOrderClosed", orderId=b2):
        env.c.transact(env.c.market.functions.cancel(b2), env.bob)
    # a new bid draws on the claimable balance before the allowance
    spent = env.c.payment.functions.balanceOf(env.bob).call()
    t.bid(env.bob, iid, 100_000, 100)
    assert env.c.payment.functions.balanceOf(env.bob).call() == spent
    assert t.claimable(env.bob) == 100 * (120 + 110)
    assert_solvent(t, [env.alice, env.bob, env.carol], iid)


def test_cancelling_an_energy_ask_gives_the_tokens_back_at_once_still_ones_own(env, t):
    iid = open_interval(env)
    t.produce(env.alice, iid, 500)
    ask, _ = t.ask(env.alice, iid, 100_000, 500)
    assert env.token.functions.ownUnspent(env.alice, iid).call() == 0
    receipt = env.c.transact(env.c.market.functions.cancel(ask), env.alice)
    [back] = env.token.events.TransferSingle().process_receipt(receipt, errors=DISCARD)
    assert (back.args.operator, back.args["from"], back.args.to, back.args.value) == (
        env.c.market.address, env.c.market.address, env.alice, 500)
    assert t.energy(env.alice, iid) == 0  # nothing to claim: returned
    assert env.token.functions.balanceOf(env.alice, iid).call() == 500
    assert env.token.functions.ownUnspent(env.alice, iid).call() == 500  # certifiable again


def test_cancel_refusals(env, t):
    iid = open_interval(env)
    bid, _ = t.bid(env.bob, iid, 120_000, 100)
    with reverts("EnergyMarketNotOrderOwner", orderId=bid, owner=env.bob):
        env.c.transact(env.c.market.functions.cancel(bid), env.carol)
    with reverts("EnergyMarketUnknownOrder", orderId=999):
        env.c.transact(env.c.market.functions.cancel(999), env.carol)
    closes = env.c.market.functions.gateClosure(iid).call()
    env.w3.testing.timeTravel(closes)
    with reverts("EnergyMarketGateClosed", intervalId=iid, gateClosure=closes):
        env.c.transact(env.c.market.functions.cancel(bid), env.bob)


def test_placement_refusals(env, t):
    iid = open_interval(env)
    m = env.c.market.functions
    with reverts("EnergyMarketNotParticipant", account=env.outsider):
        env.c.transact(m.placeBid(iid, 100_000, 1, 0), env.outsider)
    with reverts("EnergyMarketPriceOffTick", price=100_001, tick=1000):
        env.c.transact(m.placeBid(iid, 100_001, 1, 0), env.bob)
    with reverts("EnergyMarketPriceOutsideBand", price=39_000, feedIn=FEED_IN, retail=RETAIL):
        env.c.transact(m.placeBid(iid, 39_000, 1, 0), env.bob)
    with reverts("EnergyMarketPriceOutsideBand", price=253_000, feedIn=FEED_IN, retail=RETAIL):
        env.c.transact(m.placeAsk(iid, 253_000, 1, COLLATERAL, 0), env.bob)
    with reverts("EnergyMarketInvalidQuantity", quantityWh=0):
        env.c.transact(m.placeBid(iid, 100_000, 0, 0), env.bob)
    with reverts("EnergyMarketInvalidQuantity", quantityWh=2**40):
        env.c.transact(m.placeBid(iid, 100_000, 2**40, 0), env.bob)
    with reverts("EnergyMarketInvalidBacking", side=ASK, backing=PAYMENT):
        env.c.transact(m.placeAsk(iid, 100_000, 1, PAYMENT, 0), env.bob)
    with reverts("EnergyMarketInvalidInterval", intervalId=2**32):  # interval ids are below 2^32
        env.c.transact(m.placeBid(2**32, 100_000, 1, 0), env.bob)
    with reverts("EnergyMarketInvalidInterval", intervalId=2**256 - 1):
        env.c.transact(m.placeAsk(2**256 - 1, 100_000, 1, COLLATERAL, 0), env.bob)
    past = iid - 2
    with reverts("EnergyMarketGateClosed", intervalId=past, gateClosure=(past + 1) * 900 + 900):
        env.c.transact(m.placeBid(past, 100_000, 1, 0), env.bob)
    # escrow refusals come from the tokens themselves
    with reverts("ERC1155InsufficientBalance", sender=env.bob, balance=0, needed=5, tokenId=iid):
        env.c.transact(m.placeAsk(iid, 100_000, 5, ENERGY, 0), env.bob)
    env.c.transact(env.token.functions.setApprovalForAll(env.c.market.address, False), env.bob)
    with reverts("ERC1155MissingApprovalForAll", operator=env.c.market.address, owner=env.bob):
        env.c.transact(m.placeAsk(iid, 100_000, 5, ENERGY, 0), env.bob)
    env.c.transact(env.c.payment.functions.approve(env.c.market.address, 0), env.bob)
    with reverts("ERC20InsufficientAllowance", spender=env.c.market.address, allowance=0, needed=100):
        env.c.transact(m.placeBid(iid, 100_000, 1, 0), env.bob)


def test_expiry_refunds_what_is_left_once_trading_closed_and_only_once(env, t):
    iid = open_interval(env)
    t.produce(env.alice, iid, 300)
    ask, _ = t.ask(env.alice, iid, 200_000, 300)
    bid, _ = t.bid(env.bob, iid, 150_000, 100)
    with reverts("EnergyMarketTradingOpen", intervalId=iid, gateClosure=(iid + 2) * 900):
        env.c.transact(env.c.market.functions.expire([bid]), env.carol)
    env.w3.testing.timeTravel((iid + 2) * 900)
    env.c.transact(env.c.market.functions.expire([bid, ask]), env.carol)  # anyone
    assert t.claimable(env.bob) == 100 * 150 and t.energy(env.alice, iid) == 0
    assert env.token.functions.balanceOf(env.alice, iid).call() == 300  # returned as it was
    with reverts("EnergyMarketOrderClosed", orderId=bid):
        env.c.transact(env.c.market.functions.expire([bid]), env.carol)
    assert_solvent(t, [env.alice, env.bob, env.carol], iid)


# --- forward sales: collateral, settlement, compensation ----------------------------------------

def test_a_forward_sale_delivers_what_was_produced_and_compensates_the_rest_at_retail(env, t):
    iid = env.now() // 900 + 1  # the next interval: nothing produced yet
    ask, _ = t.ask(env.alice, iid, 100_000, 1000, COLLATERAL)
    assert t.claimable(env.alice) == 0
    b1, _ = t.bid(env.bob, iid, 120_000, 600)
    b2, _ = t.bid(env.carol, iid, 110_000, 400)
    assert t.claimable(env.alice) == 600 * 110 + 400 * 100  # paid at the trade
    assert env.c.market.functions.forwardSale(iid, env.alice).call() == [1000, False, 0, 0]
    assert env.c.market.functions.deliveries(iid, env.alice).call() == [(env.bob, 600), (env.carol, 400)]
    with reverts("EnergyMarketTradingOpen", intervalId=iid, gateClosure=(iid + 2) * 900):
        env.c.transact(env.c.market.functions.settle(iid, env.alice, 100), env.alice)
    env.w3.testing.timeTravel((iid + 1) * 900 + 60)
    t.produce(env.alice, iid, 700)  # delivered 700 of the 1000 sold
    env.w3.testing.timeTravel((iid + 2) * 900)
    deadline = (iid + 2) * 900 + 86_400
    with reverts("EnergyMarketSettlementReserved", intervalId=iid, seller=env.alice, deadline=deadline):
        env.c.transact(env.c.market.functions.settle(iid, env.alice, 100), env.bob)
    assert_solvent(t, [env.alice, env.bob, env.carol], iid, sellers=[env.alice])
    env.c.transact(env.c.market.functions.settle(iid, env.alice, 100), env.alice)
    # first trades first: bob gets his 600, carol 100 and 300 Wh at the retail price
    assert t.energy(env.bob, iid) == 600 and t.energy(env.carol, iid) == 100
    assert t.claimable(env.carol) == 300 * 252
    assert t.claimable(env.alice) == 600 * 110 + 400 * 100 + 700 * 252  # collateral of what it delivered
    assert_solvent(t, [env.alice, env.bob, env.carol], iid, sellers=[env.alice])
    with reverts("EnergyMarketAlreadySettled", intervalId=iid, seller=env.alice):
        env.c.transact(env.c.market.functions.settle(iid, env.alice, 100), env.alice)
    with reverts("EnergyMarketNothingToSettle", intervalId=iid, seller=env.bob):
        env.c.transact(env.c.market.functions.settle(iid, env.bob, 100), env.bob)


def test_after_the_deadline_anyone_settles_and_an_unapproved_seller_delivers_nothing(env, t):
    iid = env.now() // 900 + 1
    t.ask(env.alice, iid, 100_000, 500, COLLATERAL)
    t.bid(env.bob, iid, 120_000, 500)
    env.w3.testing.timeTravel((iid + 1) * 900 + 60)
    t.produce(env.alice, iid, 500)
    env.c.transact(env.token.functions.setApprovalForAll(env.c.market.address, False), env.alice)
    env.w3.testing.timeTravel((iid + 2) * 900 + 86_400)
    env.c.transact(env.c.market.functions.settle(iid, env.alice, 100), env.carol)
    assert t.energy(env.bob, iid) == 0 and t.claimable(env.bob) == 500 * 252
    assert env.token.functions.balanceOf(env.alice, iid).call() == 500


def test_a_forward_ask_taking_bids_records_deliveries_to_each_buyer(env, t):
    iid = env.now() // 900 + 1
    t.bid(env.bob, iid, 120_000, 200)
    t.bid(env.carol, iid, 130_000, 200)
    ask, trades = t.ask(env.alice, iid, 100_000, 300, COLLATERAL)
    assert [q for _, _, q, _ in trades] == [200, 100]
    assert env.c.market.functions.deliveries(iid, env.alice).call() == [(env.carol, 200), (env.bob, 100)]
    assert t.claimable(env.alice) == 200 * 120 + 100 * 110


# --- call auction, pay-as-clear -----------------------------------------------------------------

def test_the_auction_clears_at_one_price_refunds_bidders_and_expires_the_rest(env, a):
    iid = open_interval(env)
    a.produce(env.alice, iid, 1000)
    a1, trades = a.ask(env.alice, iid, 60_000, 400)
    a2, _ = a.ask(env.alice, iid, 80_000, 400)
    b1, _ = a.bid(env.bob, iid, 150_000, 300)
    b2, trades2 = a.bid(env.carol, iid, 100_000, 300)
    b3, _ = a.bid(env.bob, iid, 50_000, 300)
    assert trades == trades2 == []  # orders rest until gate closure
    with reverts("EnergyMarketTradingOpen", intervalId=iid, gateClosure=(iid + 2) * 900):
        env.c.transact(a.m.functions.clear(iid, 100), env.carol)
    env.w3.testing.timeTravel((iid + 2) * 900)
    receipt = env.c.transact(a.m.functions.clear(iid, 100), env.carol)  # anyone
    trades = [(x.args.bidId, x.args.askId, x.args.quantityWh, x.args.price)
              for x in a.m.events.Traded().process_receipt(receipt, errors=DISCARD)]
    # b1 300 @150 with a1; b2 100 with a1, then 200 with a2 @80: 100 - 10 >= 80; b3 stops.
    # Clearing range, asks with the fee: [max(a2 90, b3 50), min(b2 100, a2's rest 90)] = [90, 90]:
    # a2 sells 200 of its 400 at its limit (rationed at the margin)
    assert trades == [(b1, a1, 300, 90_000), (b2, a1, 100, 90_000), (b2, a2, 200, 90_000)]
    assert a.m.functions.auction(iid).call() == [True, 90_000]
    assert a.claimable(env.bob) == 300 * (150 - 90)
    assert a.claimable(env.carol) == 300 * (100 - 90)
    assert a.claimable(env.alice) == 600 * 80
    assert a.energy(env.bob, iid) == 300 and a.energy(env.carol, iid) == 300
    assert a.remaining(a2) == 200 and a.remaining(b3) == 300
    assert_solvent(a, [env.alice, env.bob, env.carol], iid)
    with reverts("EnergyMarketAlreadyCleared", intervalId=iid):
        env.c.transact(a.m.functions.clear(iid, 100), env.carol)
    env.c.transact(a.m.functions.expire([a2, b3]), env.carol)  # cleared: the rest expires at once
    # 200 never offered + 200 returned as they were: all still alice's own production
    assert env.token.functions.balanceOf(env.alice, iid).call() == 400
    assert env.token.functions.ownUnspent(env.alice, iid).call() == 400
    assert_solvent(a, [env.alice, env.bob, env.carol], iid)


def test_an_auction_nobody_cleared_is_void_after_the_deadline(env, a):
    iid = open_interval(env)
    bid, _ = a.bid(env.bob, iid, 150_000, 300)
    deadline = (iid + 2) * 900 + 86_400
    env.w3.testing.timeTravel(deadline)
    with reverts("EnergyMarketAuctionExpired", intervalId=iid, deadline=deadline):
        env.c.transact(a.m.functions.clear(iid, 100), env.carol)
    env.c.transact(a.m.functions.expire([bid]), env.carol)
    assert a.claimable(env.bob) == 300 * 150


def test_design_specific_calls_are_refused_on_the_other_design(env, t):
    with reverts("EnergyMarketWrongDesign", design=0):
        env.c.transact(env.c.market.functions.clear(open_interval(env), 100), env.carol)


# --- the contract equals the engine (gridshare.domain.matching) -----------------------------------------

BOOKS = st.lists(
    st.tuples(st.sampled_from([BID, ASK]), st.integers(40, 252), st.integers(1, 3000), st.integers(0, 2)),
    min_size=1, max_size=8,
)
_fresh = itertools.count(1)


def fresh_interval(env) -> int:
    """An interval no earlier example used, its gate open."""
    return env.now() // 900 + next(_fresh)


PROPERTY = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _place_all(env, trader, iid, orders):
    """Places the generated orders (asks forward, so any interval works); yields (engine order, trades)."""
    people = [env.alice, env.bob, env.carol]
    for side, price_wh, q, who in orders:
        price = price_wh * 1000
        if side == BID:
            oid, trades = trader.bid(people[who], iid, price, q)
        else:
            oid, trades = trader.ask(people[who], iid, price, q, COLLATERAL)
        yield Order(oid, people[who], Side.BID if side == BID else Side.ASK, price, q), trades


@PROPERTY
@given(orders=BOOKS)
def test_the_continuous_market_equals_the_engine(env, t, orders):
    iid = fresh_interval(env)
    t.intervals.append(iid)
    engine = ContinuousBook(FEED_IN, RETAIL, FEE)
    for order, trades in _place_all(env, t, iid, orders):
        assert trades == [(f.bid_id, f.ask_id, f.quantity_wh, f.price) for f in engine.place(order)]
    assert t.book(iid, BID) == [(o.id, o.price, o.quantity) for o in engine.bids()]
    assert t.book(iid, ASK) == [(o.id, o.price, o.quantity) for o in engine.asks()]
    assert_solvent(t, [env.alice, env.bob, env.carol], t.intervals, sellers=[env.alice, env.bob, env.carol])


def clear_in_pages(env, trader, iid, page, sellers=()):
    """Clears the auction ``page`` steps at a time, the market solvent after every page; returns
    the trades of every page, in order."""
    trades, done = [], False
    while not done:
        receipt = env.c.transact(trader.m.functions.clear(iid, page), env.carol)
        done = trader.m.functions.auctionStage(iid).call() == 3
        trades += [(x.args.bidId, x.args.askId, x.args.quantityWh, x.args.price)
                   for x in trader.m.events.Traded().process_receipt(receipt, errors=DISCARD)]
        assert_solvent(trader, [env.alice, env.bob, env.carol], trader.intervals, sellers=sellers)
    return trades


@PROPERTY
@given(orders=BOOKS, page=st.sampled_from([1, 2, 3, 100]))
def test_the_call_auction_equals_the_engine_whatever_its_pages(env, a, orders, page):
    iid = fresh_interval(env)
    a.intervals.append(iid)
    placed = list(_place_all(env, a, iid, orders))
    assert all(trades == [] for _, trades in placed)
    env.w3.testing.timeTravel((iid + 2) * 900)
    people = [env.alice, env.bob, env.carol]
    trades = clear_in_pages(env, a, iid, page, sellers=people)
    clearing = clear_uniform([o for o, _ in placed if o.side == Side.BID], [o for o, _ in placed if o.side == Side.ASK],
                             FEE)
    assert trades == [(f.bid_id, f.ask_id, f.quantity_wh, f.price) for f in clearing.fills]
    assert a.m.functions.auction(iid).call() == [True, clearing.price or 0]
    for order, _ in placed:
        assert a.remaining(order.id) == order.quantity - clearing.filled(order.id)
    assert_solvent(a, people, a.intervals, sellers=people)


def test_a_paged_clearing_holds_its_orders_until_done_even_past_the_deadline(env, a):
    iid = open_interval(env)
    a.produce(env.alice, iid, 1000)
    asks = [a.ask(env.alice, iid, 60_000 + 1000 * k, 100)[0] for k in range(3)]
    fwd, _ = a.ask(env.carol, iid, 59_000, 100, COLLATERAL)  # the best ask: a forward sale
    bids = [a.bid(env.bob, iid, 150_000 - 1000 * k, 100)[0] for k in range(3)]
    env.w3.testing.timeTravel((iid + 2) * 900)
    with reverts("EnergyMarketInvalidPage", maxSteps=0):
        env.c.transact(a.m.functions.clear(iid, 0), env.carol)
    receipt = env.c.transact(a.m.functions.clear(iid, 2), env.carol)  # two steps of the price walk
    assert a.m.events.AuctionCleared().process_receipt(receipt, errors=DISCARD) == ()
    assert a.m.functions.auctionStage(iid).call() == 1  # Pricing
    assert a.m.functions.auction(iid).call() == [False, 0]
    with reverts("EnergyMarketClearing", intervalId=iid):
        env.c.transact(a.m.functions.expire([bids[2]]), env.carol)
    with reverts("EnergyMarketGateClosed", intervalId=iid, gateClosure=(iid + 2) * 900):
        a.bid(env.carol, iid, 200_000, 100)  # nobody joins a book being cleared
    receipt = env.c.transact(a.m.functions.clear(iid, 2), env.alice)  # the walk's 3rd step, then one fill
    assert len(a.m.events.Traded().process_receipt(receipt, errors=DISCARD)) == 1
    assert a.m.functions.auctionStage(iid).call() == 2  # Filling
    price = a.m.functions.auction(iid).call()[1]
    assert price == ((61 + 10) + (62 + 10)) // 2 * 1000  # [a_k + fee, the ask left out + fee]
    env.w3.testing.timeTravel((iid + 2) * 900 + 86_400)  # past the deadline: a started clearing goes on
    with reverts("EnergyMarketClearing", intervalId=iid):
        env.c.transact(a.m.functions.settle(iid, env.carol, 10), env.carol)
    receipt = env.c.transact(a.m.functions.clear(iid, 100), env.bob)
    [cleared] = a.m.events.AuctionCleared().process_receipt(receipt, errors=DISCARD)
    assert (cleared.args.price, cleared.args.quantityWh) == (price, 300)  # the volume of every page
    assert a.m.functions.auctionStage(iid).call() == 3
    assert [a.remaining(o) for o in [fwd, *asks, *bids]] == [0, 0, 0, 100, 0, 0, 0]
    with reverts("EnergyMarketAlreadyCleared", intervalId=iid):
        env.c.transact(a.m.functions.clear(iid, 1), env.carol)
    env.c.transact(a.m.functions.expire([asks[2]]), env.carol)
    env.c.transact(a.m.functions.settle(iid, env.carol, 10), env.bob)  # carol produced nothing
    # bob: his three bids' refunds to the price, and carol's 100 Wh undelivered at the retail price
    assert a.claimable(env.bob) == 100 * (79 + 78 + 77) + 100 * 252
    assert_solvent(a, [env.alice, env.bob, env.carol], iid, sellers=[env.carol])


def test_a_forward_settlement_is_paged_and_anyone_may_continue_what_the_seller_started(env, t):
    iid = env.now() // 900 + 1
    t.ask(env.alice, iid, 100_000, 1000, COLLATERAL)
    for buyer, q in ((env.bob, 300), (env.carol, 300), (env.bob, 400)):
        t.bid(buyer, iid, 120_000, q)
    env.w3.testing.timeTravel((iid + 1) * 900 + 60)
    t.produce(env.alice, iid, 500)
    env.w3.testing.timeTravel((iid + 2) * 900)
    with reverts("EnergyMarketInvalidPage", maxSteps=0):
        env.c.transact(env.c.market.functions.settle(iid, env.alice, 0), env.alice)
    receipt = env.c.transact(env.c.market.functions.settle(iid, env.alice, 1), env.alice)
    assert env.c.market.events.ForwardSettled().process_receipt(receipt, errors=DISCARD) == ()
    assert env.c.market.functions.forwardSale(iid, env.alice).call() == [1000, False, 500, 1]  # 1 of 3 deliveries
    assert t.energy(env.bob, iid) == 300 and t.energy(env.carol, iid) == 0
    # mid-settlement the market holds the collateral of the 500 Wh not delivered, and 200 Wh to give
    m, pay = env.c.market, env.c.payment.functions
    owed = sum(t.claimable(x) for x in (env.alice, env.bob, env.carol, env.c.treasury.address))
    assert pay.balanceOf(m.address).call() == owed + 500 * 252
    assert env.token.functions.balanceOf(m.address, iid).call() == 300 + 200
    receipt = env.c.transact(env.c.market.functions.settle(iid, env.alice, 5), env.carol)  # before the deadline
    [settled] = env.c.market.events.ForwardSettled().process_receipt(receipt, errors=DISCARD)
    assert (settled.args.soldWh, settled.args.deliveredWh) == (1000, 500)
    assert t.energy(env.bob, iid) == 300 and t.energy(env.carol, iid) == 200
    assert t.claimable(env.carol) == 100 * 252 and t.claimable(env.bob) == 400 * 252
    with reverts("EnergyMarketAlreadySettled", intervalId=iid, seller=env.alice):
        env.c.transact(env.c.market.functions.settle(iid, env.alice, 1), env.alice)
    assert_solvent(t, [env.alice, env.bob, env.carol], iid, sellers=[env.alice])


# --- payouts, hooks, reentrancy -----------------------------------------------------------------

def test_nothing_to_claim(env, t):
    with reverts("EnergyMarketNothingToClaim", account=env.carol):
        env.c.transact(env.c.market.functions.withdraw(), env.carol)
    with reverts("EnergyMarketNothingToClaim", account=env.carol):
        env.c.transact(env.c.market.functions.claimEnergy([open_interval(env)]), env.carol)


def test_the_market_refuses_tokens_it_did_not_pull(env, t):
    iid = open_interval(env)
    t.produce(env.alice, iid, 10)
    with reverts("EnergyMarketUnexpectedTokens", token=env.token.address, operator=env.alice):
        env.c.transact(env.token.functions.safeTransferFrom(env.alice, env.c.market.address, iid, 1, b""), env.alice)
    with reverts("EnergyMarketUnexpectedTokens", token=env.token.address, operator=env.alice):
        env.c.transact(env.token.functions.safeBatchTransferFrom(env.alice, env.c.market.address, [iid], [1], b""),
                       env.alice)


def _attacker(env):
    artifact = compile_contracts()["ReentrantParticipant"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    attacker = env.w3.eth.contract(address=env.c.transact(factory.constructor(env.c.market.address))["contractAddress"],
                                   abi=artifact.abi)
    env.participant(attacker.address)
    env.c.transact(env.c.payment.functions.transfer(attacker.address, 1_000_000), env.bob)
    env.c.transact(attacker.functions.approve(env.c.payment.address, 2**256 - 1), env.bob)
    return attacker


def test_reentrancy_through_the_token_hook_fails_when_claiming(env, t):
    attacker = _attacker(env)
    iid = open_interval(env)
    env.c.transact(attacker.functions.bid(iid, 120_000, 100), env.bob)  # rests
    t.produce(env.alice, iid, 100)
    t.ask(env.alice, iid, 100_000, 100)  # takes it: the attacker's tokens wait to be claimed
    assert t.energy(attacker.address, iid) == 100
    with reverts("ReentrancyGuardReentrantCall"):
        env.c.transact(attacker.functions.claimEnergy([iid]), env.bob)
    assert t.energy(attacker.address, iid) == 100  # nothing paid twice, nothing lost
    assert_solvent(t, [env.alice, env.bob, env.carol, attacker.address], iid)


def test_reentrancy_through_the_token_hook_fails_when_taking(env, t):
    attacker = _attacker(env)
    iid = open_interval(env)
    t.produce(env.alice, iid, 100)
    ask, _ = t.ask(env.alice, iid, 100_000, 100)
    with reverts("ReentrancyGuardReentrantCall"):  # the tokens pushed to the taker call back
        env.c.transact(attacker.functions.bid(iid, 120_000, 100), env.bob)
    assert t.remaining(ask) == 100  # the whole bid undone


# --- deployment ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prices", "error"),
    [
        ((40_000, 252_000, 212_000), dict(feedIn=40_000, retail=252_000, gridFee=212_000)),
        ((252_000, 40_000, 0), dict(feedIn=252_000, retail=40_000, gridFee=0)),
        ((40_500, 252_000, 0), dict(feedIn=40_500, retail=252_000, gridFee=0)),
    ],
)
def test_constructor_refuses_inconsistent_prices(env, prices, error):
    artifact = compile_contracts()["EnergyMarket"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with reverts("EnergyMarketInvalidPrices", **error):
        env.c.transact(factory.constructor(env.registry.address, env.c.payment.address, 0, *prices, env.operator,
                                           900, 86_400, 1))


def test_orders_below_the_minimum_order_are_refused(env, t):
    """A market deployed with a 10 Wh minimum (the default): 9 Wh refused, naming both, on either
    side; 10 Wh rests. The engine's rules refuse the same order."""
    artifact = compile_contracts()["EnergyMarket"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = env.c.transact(factory.constructor(env.registry.address, env.c.payment.address, 0, FEED_IN, RETAIL,
                                                 FEE, env.operator, 900, 86_400, DEFAULT_MIN_ORDER_WH))
    market = env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    assert market.functions.minOrderWh().call() == DEFAULT_MIN_ORDER_WH == 10
    iid = open_interval(env)
    env.c.transact(env.c.payment.functions.approve(market.address, 10**12), env.bob)
    with reverts("EnergyMarketOrderTooSmall", quantityWh=9, minimumWh=10):
        env.c.transact(market.functions.placeBid(iid, 100_000, 9, 0), env.bob)
    with reverts("EnergyMarketOrderTooSmall", quantityWh=1, minimumWh=10):
        env.c.transact(market.functions.placeAsk(iid, 100_000, 1, COLLATERAL, 0), env.bob)
    env.c.transact(market.functions.placeBid(iid, 100_000, 10, 0), env.bob)
    assert [o[6] for o in market.functions.book(iid, 0).call()] == [10]  # the bid rests: 10 Wh
    rules = MarketRules(FEED_IN, RETAIL, FEE, DEFAULT_MIN_ORDER_WH)
    with pytest.raises(GridshareError, match="9 Wh, below the market's minimum order of 10 Wh"):
        rules.check(Order(1, "bob", Side.BID, 100_000, 9))


def test_constructor_refuses_a_zero_address_and_a_bad_schedule(env):
    artifact = compile_contracts()["EnergyMarket"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    zero = "0x" + "00" * 20
    with reverts("EnergyMarketInvalidAddress", value=zero):
        env.c.transact(factory.constructor(env.registry.address, zero, 0, FEED_IN, RETAIL, FEE, env.operator, 900, 1, 1))
    with reverts("EnergyMarketInvalidAddress", value=zero):
        env.c.transact(factory.constructor(env.registry.address, env.c.payment.address, 0, FEED_IN, RETAIL, FEE, zero,
                                           900, 1, 1))
    with reverts("EnergyMarketInvalidSchedule", gateClosureDelay=900, settlementWindow=0):
        env.c.transact(factory.constructor(env.registry.address, env.c.payment.address, 0, FEED_IN, RETAIL, FEE,
                                           env.operator, 900, 0, 1))
    for minimum in (0, 2**40):
        with reverts("EnergyMarketInvalidMinimum", minimumWh=minimum):
            env.c.transact(factory.constructor(env.registry.address, env.c.payment.address, 0, FEED_IN, RETAIL, FEE,
                                               env.operator, 900, 1, minimum))


def test_order_view_of_an_unknown_order(env):
    with reverts("EnergyMarketUnknownOrder", orderId=0):
        raise_view(env, env.c.market.functions.order(0))


def test_the_test_euro_faucet_is_capped(env):
    with reverts("TestEuroFaucetLimit", requested=10_000_000_001, limit=10_000_000_000):
        env.c.transact(env.c.payment.functions.faucet(10_000_000_001), env.bob)
    assert env.c.payment.functions.symbol().call() == "tEUR" and env.c.payment.functions.decimals().call() == 6
