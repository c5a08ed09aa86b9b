"""BatchAuction: orders signed off-chain, an interval's batch cleared and settled in one
transaction; the contract equals the engine; every refusal by its exact error (issue #14)."""

from __future__ import annotations

import itertools

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridshare.chain import batch as client
from gridshare.chain import market as chain_market
from gridshare.domain.batch import batch_clearing
from gridshare.errors import GridshareError
from gridshare.protocol.market import Side
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.orders import Order, SignedOrder, batch_lists, unpack_fills

from conftest import reverts

FEE = 10_000
FUNDS = 10**9
_fresh = itertools.count(3)


class Members:
    """Three prosumers with their own keys (orders are signed off-chain), funded in the batch auction."""

    def __init__(self, env):
        self.env, self.c = env, env.c
        self.keys = [Account.create() for _ in range(3)]
        self.meters = {}
        for k in self.keys:
            self.c.chain.w3.eth.send_transaction({"from": env.operator, "to": k.address, "value": 10**18})
            self.meters[k.address] = env.meter(k.address, MeterKind.PROSUMER, capacity_w=1_000_000)
            self.send(k, self.c.payment.functions.faucet(FUNDS))
            self.send(k, self.c.payment.functions.approve(self.c.batch.address, 2**256 - 1))
            self.send(k, self.c.batch.functions.deposit(FUNDS // 2))
        env.at((env.now() // 900 + 2) * 900 + 1)

    def send(self, key, call):
        """A transaction from a member's own key (not one of the node's accounts)."""
        w3 = self.c.chain.w3
        tx = call.build_transaction({"from": key.address, "nonce": w3.eth.get_transaction_count(key.address),
                                     "gas": 3_000_000})
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction))
        assert receipt["status"] == 1
        return receipt

    def interval(self, flows) -> int:
        """A fresh interval where member k imported and exported ``flows[k]`` (verified readings)."""
        iid = self.env.now() // 900 + next(_fresh)
        for key, (imported, exported) in zip(self.keys, flows):
            meter = self.meters[key.address]
            _, import_register, export_register = self.env.registry.functions.meterState(meter.id).call()[:3]
            self.env.submit(self.env.readings(meter, iid * 900, [imported], [exported],
                                              import_register_wh=import_register, export_register_wh=export_register))
        return iid

    def order(self, k, iid, side, price, q, salt=0) -> SignedOrder:
        key = self.keys[k]
        return Order(key.address, iid, side, price, q, salt).sign(key, self.c.chain.chain_id, self.c.batch.address)

    def close(self, iid):
        self.env.at((iid + 2) * 900)  # gate closure

    def claimable(self, k):
        who = k if isinstance(k, str) else self.keys[k].address
        return self.c.batch.functions.claimable(who).call()

    def claimed(self, k, iid):
        return self.c.token.functions.intervalAccount(self.keys[k].address, iid).call()[4]

    def balance(self, k, iid):
        return self.c.token.functions.balanceOf(self.keys[k].address, iid).call()


@pytest.fixture
def m(env):
    return Members(env)


def assert_solvent(m):
    owed = sum(m.claimable(k) for k in range(3)) + m.claimable(m.c.treasury.address)  # the grid fee's recipient
    assert m.c.payment.functions.balanceOf(m.c.batch.address).call() == owed


def send(m, iid, bids, asks, sender=None):
    return m.c.transact(m.c.batch.functions.settleBatch(iid, b"".join(b.packed() for b in bids),
                                                        b"".join(a.packed() for a in asks)), sender or m.env.carol)


def test_a_batch_clears_at_one_price_and_moves_the_energy_into_the_buyers_claims(env, m):
    iid = m.interval([(0, 1000), (600, 0), (500, 0)])  # member 0 exports 1,000 Wh; 1 and 2 import
    orders = [m.order(0, iid, Side.ASK, 60_000, 1000), m.order(1, iid, Side.BID, 150_000, 600),
              m.order(2, iid, Side.BID, 120_000, 500)]
    with reverts("BatchAuctionTradingOpen", intervalId=iid, gateClosure=(iid + 2) * 900):
        client.settle_batch(m.c, iid, orders, env.carol)
    m.close(iid)
    before = [m.claimable(k) for k in range(3)]
    batch = client.settle_batch(m.c, iid, orders, env.carol)  # anyone sends it
    # 600 to member 1, 400 to member 2; member 2's 100 Wh left out bound the range: [120, 120]
    assert (batch.price, batch.quantity_wh) == (120_000, 1000)
    a = [k.address for k in m.keys]
    assert [(f.buyer, f.seller, f.quantity_wh) for f in batch.fills] == [(a[1], a[0], 600), (a[2], a[0], 400)]
    assert m.claimable(1) == before[1] - 600 * 120 and m.claimable(2) == before[2] - 400 * 120
    assert m.claimable(0) == before[0] + 1000 * (120 - 10) and m.claimable(env.c.treasury.address) == 1000 * 10
    assert m.balance(0, iid) == 0  # sold: burned from the seller
    assert (m.claimed(1, iid), m.claimed(2, iid)) == (600, 400)  # claimed against their import at once
    assert env.token.functions.redeemable(a[1], iid).call() == 0
    assert m.c.batch.functions.batchSettled(iid).call()
    assert_solvent(m)
    with reverts("BatchAuctionSettled", intervalId=iid):
        client.settle_batch(m.c, iid, orders, env.carol)  # one batch per interval: no replay


def test_each_order_trades_only_what_backs_it_when_the_batch_runs(env, m):
    iid = m.interval([(0, 300), (200, 0), (5000, 0)])
    m.send(m.keys[2], m.c.batch.functions.withdraw())
    m.send(m.keys[2], m.c.batch.functions.deposit(150 * 100))  # member 2's money pays 100 Wh at 150
    orders = [m.order(0, iid, Side.ASK, 60_000, 1000),  # holds 300 Wh
              m.order(1, iid, Side.BID, 200_000, 1000),  # imported 200 Wh
              m.order(2, iid, Side.BID, 150_000, 1000)]
    m.close(iid)
    batch = client.settle_batch(m.c, iid, orders, env.carol)
    assert [f.quantity_wh for f in batch.fills] == [200, 100]
    assert batch.price == (150 + (60 + 10)) // 2 * 1000  # nothing left out: [a_k + fee, b_k]
    assert m.claimable(2) == 150 * 100 - 100 * 110
    assert_solvent(m)


def test_a_tampered_order_or_one_signed_by_another_is_refused(env, m):
    iid = m.interval([(0, 500), (500, 0), (0, 0)])
    ask = m.order(0, iid, Side.ASK, 60_000, 500)
    bid = m.order(1, iid, Side.BID, 100_000, 500)
    cheaper = SignedOrder(Order(bid.owner, iid, Side.BID, 60_000, 500, bid.order.salt), bid.r, bid.vs, bid.digest)
    m.close(iid)
    with reverts("BatchAuctionBadSignature", side=0, index=0):  # its signature recovers to another address
        send(m, iid, [cheaper], [ask])
    forged = Order(bid.owner, iid, Side.BID, 60_000, 500, 1).typed_data(m.c.chain.chain_id, m.c.batch.address)
    signed = Account.sign_typed_data(m.keys[2].key, full_message=forged)  # member 2 signs for member 1
    from gridshare.protocol.orders import _compact
    as_member_1 = SignedOrder(Order(bid.owner, iid, Side.BID, 60_000, 500, 1), signed.r.to_bytes(32, "big"),
                              _compact(signed.s, signed.v), b"")
    with reverts("BatchAuctionBadSignature", side=0, index=0):
        send(m, iid, [as_member_1], [ask])
    assert not m.c.batch.functions.batchSettled(iid).call()  # nothing recorded: the real batch still can
    assert client.settle_batch(m.c, iid, [ask, bid], env.carol).quantity_wh == 500


def test_every_refusal_of_a_batch_names_its_cause(env, m):
    iid = m.interval([(0, 500), (500, 0), (500, 0)])
    ask = m.order(0, iid, Side.ASK, 60_000, 500)
    b1, b2 = m.order(1, iid, Side.BID, 100_000, 300), m.order(2, iid, Side.BID, 90_000, 300)
    m.close(iid)
    with reverts("BatchAuctionBadSignature", side=1, index=0):  # a bid sent as an ask: its owner signed a bid
        send(m, iid, [b1], [b2])
    with reverts("BatchAuctionMalformed", side=0, length=2 * 109 - 1):
        m.c.transact(m.c.batch.functions.settleBatch(iid, (b1.packed() + b2.packed())[:-1], ask.packed()), env.carol)
    with reverts("BatchAuctionMalformed", side=1, length=110):
        m.c.transact(m.c.batch.functions.settleBatch(iid, b1.packed(), ask.packed() + b"\0"), env.carol)
    # refusals of a later order of a list, on either side
    a2 = m.order(1, iid, Side.ASK, 70_000, 100)
    with reverts("BatchAuctionUnsorted", side=1, index=1):
        send(m, iid, [b1], [a2, ask])
    with reverts("BatchAuctionBadSignature", side=1, index=1):
        send(m, iid, [b1], [ask, SignedOrder(a2.order, a2.r, b1.vs, a2.digest)])
    with reverts("BatchAuctionDuplicateOwner", side=1, index=1, owner=ask.owner):
        send(m, iid, [b1], [ask, m.order(0, iid, Side.ASK, 70_000, 100)])
    with reverts("EnergyMarketPriceOutsideBand", price=39_000, feedIn=40_000, retail=252_000):
        send(m, iid, [b1], [ask, m.order(1, iid, Side.ASK, 39_000, 100)])
    with reverts("BatchAuctionUnsorted", side=0, index=1):
        send(m, iid, [b2, b1], [ask])
    with reverts("BatchAuctionUnsorted", side=0, index=1):  # the same order twice
        send(m, iid, [b1, b1], [ask])
    twins = sorted([b2, m.order(0, iid, Side.BID, 90_000, 100)], key=lambda s: s.digest)
    with reverts("BatchAuctionUnsorted", side=0, index=2):  # equal prices: by digest ascending
        send(m, iid, [b1, twins[1], twins[0]], [ask])
    with reverts("BatchAuctionDuplicateOwner", side=0, index=2, owner=b1.owner):
        send(m, iid, [b1, b2, m.order(1, iid, Side.BID, 80_000, 100)], [ask])
    bad = SignedOrder(b1.order, b"\0" * 32, b1.vs, b1.digest)
    with reverts("BatchAuctionBadSignature", side=0, index=0):
        send(m, iid, [bad], [ask])
    for terms, error, args in (
        ((100_500, 300), "EnergyMarketPriceOffTick", {"price": 100_500, "tick": 1000}),
        ((300_000, 300), "EnergyMarketPriceOutsideBand", {"price": 300_000, "feedIn": 40_000, "retail": 252_000}),
        ((100_000, 0), "EnergyMarketInvalidQuantity", {"quantityWh": 0}),
    ):
        with reverts(error, **args):
            send(m, iid, [m.order(1, iid, Side.BID, *terms)], [ask])
    with pytest.raises(GridshareError, match="quantityWh must fit 40 bits"):  # cannot be sent
        m.order(1, iid, Side.BID, 100_000, 2**40).packed()
    with reverts("BatchAuctionInvalidInterval", intervalId=2**32):
        send(m, 2**32, [b1], [ask])
    with reverts("BatchAuctionEmpty", intervalId=iid):
        send(m, iid, [m.order(1, iid, Side.BID, 50_000, 300)], [ask])  # 50 < 60 + fee: nothing crosses
    env.at((iid + 2) * 900 + 86_400)
    with reverts("BatchAuctionExpired", intervalId=iid, deadline=(iid + 2) * 900 + 86_400):
        send(m, iid, [b1], [ask])
    with reverts("BatchAuctionNothingToClaim", account=env.carol):
        m.c.transact(m.c.batch.functions.withdraw(), env.carol)


def test_the_minimum_order_and_the_token_side_are_enforced(env, m):
    from gridshare.chain.compiler import compile_contracts
    artifact = compile_contracts()["BatchAuction"]
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with reverts("BatchAuctionInvalidMarket", market="0x" + "00" * 20):
        m.c.transact(factory.constructor("0x" + "00" * 20))
    # a market with the default minimum order (10 Wh): its batch auction refuses 9 Wh, on either side
    market_artifact = compile_contracts()["EnergyMarket"]
    market = env.w3.eth.contract(abi=market_artifact.abi, bytecode=market_artifact.bytecode)
    market = market(m.c.transact(market.constructor(env.registry.address, env.c.payment.address, 1, 40_000, 252_000,
                                                    10_000, env.operator, 900, 86_400, 10))["contractAddress"])
    batch = factory(m.c.transact(factory.constructor(market.address))["contractAddress"])
    assert batch.functions.ORDER_BYTES().call() == 109
    iid = m.interval([(0, 500), (500, 0), (0, 0)])
    m.close(iid)

    def order(k, side, price, q):  # signed for this batch auction
        return Order(m.keys[k].address, iid, side, price, q).sign(m.keys[k], m.c.chain.chain_id, batch.address)

    bid, ask = order(1, Side.BID, 100_000, 10), order(0, Side.ASK, 60_000, 10)
    with reverts("EnergyMarketOrderTooSmall", quantityWh=9, minimumWh=10):
        m.c.transact(batch.functions.settleBatch(iid, bid.packed(), order(0, Side.ASK, 60_000, 9).packed()))
    with reverts("EnergyMarketOrderTooSmall", quantityWh=9, minimumWh=10):
        m.c.transact(batch.functions.settleBatch(iid, order(1, Side.BID, 100_000, 9).packed(), ask.packed()))
    with reverts("EnergyTokenUnauthorizedEscrow", caller=env.carol):
        m.c.transact(env.token.functions.tradeToClaims(1, [], [], [], []), env.carol)
    env.c.transact(env.registry.functions.grantRole(env.token.functions.ESCROW_ROLE().call(), env.carol))
    with reverts("ERC1155InvalidArrayLength", idsLength=1, valuesLength=0):
        m.c.transact(env.token.functions.tradeToClaims(1, [env.alice], [], [], []), env.carol)
    with reverts("ERC1155InvalidArrayLength", idsLength=2, valuesLength=1):  # the buyers' lists
        m.c.transact(env.token.functions.tradeToClaims(1, [], [], [env.alice, env.carol], [5]), env.carol)
    iid = m.interval([(0, 500), (500, 0), (0, 0)])
    m.close(iid)
    with reverts("EnergyTokenUnbalancedTrade", intervalId=iid, soldWh=0, boughtWh=100):
        m.c.transact(env.token.functions.tradeToClaims(iid, [], [], [m.keys[1].address], [100]), env.carol)
    with reverts("EnergyTokenRedeemExceedsImport", account=m.keys[1].address, intervalId=iid, amountWh=600,
                 redeemableWh=500):
        m.c.transact(env.token.functions.tradeToClaims(iid, [m.keys[0].address], [500], [m.keys[1].address], [600]),
                     env.carol)
    seller, buyer = m.keys[0].address, m.keys[1].address
    with reverts("ERC1155InsufficientBalance", sender=seller, balance=500, needed=501, tokenId=iid):
        m.c.transact(env.token.functions.tradeToClaims(iid, [seller], [501], [buyer], [501]), env.carol)
    # the same seller twice: the second is refused with what the first left
    with reverts("ERC1155InsufficientBalance", sender=seller, balance=200, needed=301, tokenId=iid):
        m.c.transact(env.token.functions.tradeToClaims(iid, [seller, seller], [300, 301], [buyer], [601]), env.carol)
    # the same buyer twice: the second is refused with what the first left
    with reverts("EnergyTokenRedeemExceedsImport", account=buyer, intervalId=iid, amountWh=201, redeemableWh=200):
        m.c.transact(env.token.functions.tradeToClaims(iid, [seller], [500], [buyer, buyer], [300, 201]), env.carol)
    # what backs a batch, read in one call, is each account's views
    accounts = [*(k.address for k in m.keys), env.carol]
    assert env.token.functions.tradeBacking(iid, accounts, accounts[::-1]).call() == [
        [env.token.functions.redeemable(a, iid).call() for a in accounts],
        [env.token.functions.balanceOf(a, iid).call() for a in accounts[::-1]]]
    assert env.token.functions.tradeBacking(iid, [buyer], [seller]).call() == [[500], [500]]


def test_batch_lists_refuses_two_orders_of_one_owner_or_two_intervals(env, m):
    iid = 99
    a, b = m.order(1, iid, Side.BID, 100_000, 300), m.order(1, iid, Side.BID, 90_000, 300)
    with pytest.raises(Exception, match="two bids in this batch"):
        batch_lists([a, b])
    with pytest.raises(Exception, match="one interval"):
        batch_lists([a, m.order(2, iid + 1, Side.BID, 90_000, 300)])


# --- the contract equals the engine --------------------------------------------------------------

ORDERS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from([Side.BID, Side.ASK]), st.integers(40, 252),
                            st.integers(1, 1500)), min_size=2, max_size=6,
                  unique_by=lambda o: (o[0], o[1]))
FLOWS = st.lists(st.tuples(st.integers(0, 1200), st.integers(0, 1200)), min_size=3, max_size=3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=ORDERS, flows=FLOWS)
def test_the_batch_equals_the_engine_on_the_orders_as_backed(env, m, orders, flows):
    iid = m.interval(flows)
    signed = [m.order(k, iid, side, price * 1000, q) for k, side, price, q in orders]
    m.close(iid)
    bids, asks = batch_lists(signed)
    # the engine: batch order as time priority, each order capped by what backs it now
    keys = [key.address for key in m.keys]

    def backed(s):
        k = keys.index(s.owner)
        if s.order.side == Side.BID:
            return min(flows[k][0], m.claimable(k) // (s.order.price // 1000))
        return m.balance(k, iid)

    clearing = batch_clearing(signed, FEE, backed)
    before = [m.claimable(k) for k in range(3)]
    if clearing.price is None:
        with reverts("BatchAuctionEmpty", intervalId=iid):
            send(m, iid, bids, asks)
        return
    batch = client.settle_batch(m.c, iid, signed, env.carol)
    assert batch.price == clearing.price
    assert [(f.buyer, f.seller, f.quantity_wh) for f in batch.fills] == [(f.buyer, f.seller, f.quantity_wh)
                                                                         for f in clearing.fills]
    for k, key in enumerate(m.keys):
        bought = sum(f.quantity_wh for f in clearing.fills if f.buyer == key.address)
        sold = sum(f.quantity_wh for f in clearing.fills if f.seller == key.address)
        assert m.claimable(k) == before[k] - bought * clearing.price // 1000 + sold * (clearing.price - FEE) // 1000
        assert m.claimed(k, iid) == bought and m.balance(k, iid) == flows[k][1] - sold
    assert_solvent(m)


def test_fills_decode():
    a, b = "0x" + "11" * 20, "0x" + "22" * 20
    data = bytes.fromhex("11" * 20 + "22" * 20) + (1234).to_bytes(5, "big")
    [f] = unpack_fills(data)
    assert (f.buyer.lower(), f.seller.lower(), f.quantity_wh) == (a, b, 1234)


def test_energy_bought_beyond_ones_import_is_sold_on_in_the_intervals_batch(env, m):
    """The settlement rule for unredeemable positions (docs/market.md): a buyer holding more of an
    interval's crypto-kWh than its import can consume sells the rest in that interval's batch,
    here to a neighbour still short; acquired energy leaves first."""
    iid = m.interval([(0, 1000), (300, 0), (500, 0)])
    market, token = m.c.market.functions, m.c.token.functions
    for k in (0, 1):
        m.send(m.keys[k], m.c.payment.functions.approve(m.c.market.address, 2**256 - 1))
        m.send(m.keys[k], token.setApprovalForAll(m.c.market.address, True))
    m.send(m.keys[0], market.placeAsk(iid, 60_000, 1000, 1, 0))  # energy-backed, rests
    m.send(m.keys[1], market.placeBid(iid, 100_000, 800, 0))  # takes 800 Wh at once: its import is 300
    buyer = m.keys[1].address
    m.send(m.keys[1], token.redeem(buyer, iid, 300))
    assert (m.balance(1, iid), token.redeemable(buyer, iid).call()) == (500, 0)  # 500 Wh it cannot consume
    assert chain_market.unredeemable(m.c, buyer, iid) == 500
    m.close(iid)
    batch = client.settle_batch(m.c, iid, [m.order(1, iid, Side.ASK, 40_000, 500),  # at the feed-in price
                                           m.order(2, iid, Side.BID, 100_000, 500)], env.carol)
    assert batch.quantity_wh == 500 and batch.price == (50 + 100) // 2 * 1000
    assert m.balance(1, iid) == 0 and m.claimed(2, iid) == 500
    assert token.ownUnspent(buyer, iid).call() == 0
    assert_solvent(m)
