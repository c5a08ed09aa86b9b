"""The market's matching engine: worked examples by hand for each design, then properties on generated books."""

import pytest
from hypothesis import given, settings, strategies as st

from gridshare.errors import GridshareError
from gridshare.domain.matching import (
    TICK,
    Clearing,
    ContinuousBook,
    Delivery,
    Fill,
    MarketRules,
    Order,
    Side,
    clear_uniform,
    settle_delivery,
)

BID, ASK = Side.BID, Side.ASK

# the worked examples' market: prices per kWh in token base units, quantities in Wh
FEED_IN, RETAIL, FEE = 60_000, 250_000, 20_000


# --------------------------------------------------------------------------------------------------
# orders, fills and rules
# --------------------------------------------------------------------------------------------------


def test_fill_money():
    fill = Fill(4, 1, "dave", "alice", 3_000, 130_000, 20_000)
    assert (fill.payment, fill.fee, fill.proceeds) == (390_000, 60_000, 330_000)
    assert Fill(4, 1, "dave", "alice", 3_000, 130_000).fee == 0  # no grid fee unless given


def test_order_side_from_its_value():
    assert Order(1, "a", "bid", 100_000, 1).side is BID
    with pytest.raises(GridshareError, match="side"):
        Order(1, "a", "buy", 100_000, 1)
    with pytest.raises(GridshareError, match="quantity of order 1"):
        Order(1, "a", BID, 100_000, 1.5)


@pytest.mark.parametrize("order, problem", [
    (Order(1, "a", BID, 100_500, 1_000), "not a multiple of the tick"),
    (Order(1, "a", ASK, 59_000, 1_000), "outside the band"),
    (Order(1, "a", BID, 251_000, 1_000), "outside the band"),
    (Order(1, "a", ASK, 100_000, 0), "must be positive"),
    (Order(1, "a", ASK, 100_000, -5), "must be positive"),
    (Order(1, "a", ASK, 100_000, 2**40), "above 1099511627775 Wh"),
])
def test_rules_reject(order, problem):
    with pytest.raises(GridshareError, match=problem):
        MarketRules(FEED_IN, RETAIL, FEE).check(order)


def test_rules_band_is_inclusive():
    rules = MarketRules(FEED_IN, RETAIL, FEE)
    rules.check(Order(1, "a", ASK, FEED_IN, 1))
    rules.check(Order(2, "a", BID, RETAIL, 1))


@pytest.mark.parametrize("feed_in, retail, fee, problem", [
    (60_500, RETAIL, FEE, "feed-in price is 60500"),
    (FEED_IN, RETAIL, 1, "grid fee is 1"),
    (FEED_IN, RETAIL, -1_000, "grid fee is negative"),
    (RETAIL, RETAIL, 0, "not below the retail price"),
    (FEED_IN, RETAIL, RETAIL - FEED_IN, "nothing could trade"),
])
def test_rules_themselves_are_checked(feed_in, retail, fee, problem):
    with pytest.raises(GridshareError, match=problem):
        MarketRules(feed_in, retail, fee)


# --------------------------------------------------------------------------------------------------
# continuous double auction: worked example
# --------------------------------------------------------------------------------------------------


def test_continuous_worked_example():
    book = ContinuousBook(FEED_IN, RETAIL, FEE)
    assert book.place(Order(1, "alice", ASK, 100_000, 3_000)) == []
    assert book.place(Order(2, "bob", ASK, 120_000, 2_000)) == []
    assert book.place(Order(3, "carol", ASK, 100_000, 1_000)) == []
    assert [o.id for o in book.asks()] == [1, 3, 2]  # price, then time

    # dave bids 130: compatible with asks up to 130 - 20 = 110, so alice (older) then carol, not bob
    fills = book.place(Order(4, "dave", BID, 130_000, 5_000))
    assert fills == [
        Fill(4, 1, "dave", "alice", 3_000, 130_000, 20_000),  # pay-as-bid: dave's own price
        Fill(4, 3, "dave", "carol", 1_000, 130_000, 20_000),
    ]
    assert [(f.payment, f.fee, f.proceeds) for f in fills] == [(390_000, 60_000, 330_000), (130_000, 20_000, 110_000)]
    assert book.bids() == [Order(4, "dave", BID, 130_000, 1_000)]  # the rest of dave's bid rests
    assert book.asks() == [Order(2, "bob", ASK, 120_000, 2_000)]
    assert (book.remaining(1), book.remaining(3), book.remaining(4)) == (0, 0, 1_000)

    # erin asks 90: dave's resting bid (130 - 20 >= 90) fills at dave's price
    assert book.place(Order(5, "erin", ASK, 90_000, 1_500)) == [Fill(4, 5, "dave", "erin", 1_000, 130_000, 20_000)]
    assert book.bids() == []
    assert book.asks() == [Order(5, "erin", ASK, 90_000, 500), Order(2, "bob", ASK, 120_000, 2_000)]

    with pytest.raises(GridshareError, match="belongs to 'bob'"):
        book.cancel(2, by="erin")
    assert book.cancel(2, by="bob") == Order(2, "bob", ASK, 120_000, 2_000)
    assert book.remaining(2) == 0
    assert book.asks() == [Order(5, "erin", ASK, 90_000, 500)]
    with pytest.raises(GridshareError, match="not in the book"):
        book.cancel(2)


def test_continuous_fee_blocks_a_trade_without_it():
    book = ContinuousBook(FEED_IN, RETAIL, FEE)
    book.place(Order(1, "alice", ASK, 100_000, 1_000))
    assert book.place(Order(2, "dave", BID, 119_000, 1_000)) == []  # 119 - 20 < 100
    assert book.place(Order(3, "erin", BID, 120_000, 400)) == [Fill(3, 1, "erin", "alice", 400, 120_000, 20_000)]


def test_continuous_time_priority_at_the_same_price():
    book = ContinuousBook(FEED_IN, RETAIL, 0)
    book.place(Order(1, "old", BID, 150_000, 1_000))
    book.place(Order(2, "new", BID, 150_000, 1_000))
    book.place(Order(3, "better", BID, 151_000, 500))
    fills = book.place(Order(4, "seller", ASK, 100_000, 1_200))
    assert [(f.bid_id, f.quantity_wh, f.price) for f in fills] == [(3, 500, 151_000), (1, 700, 150_000)]
    assert book.bids() == [Order(1, "old", BID, 150_000, 300), Order(2, "new", BID, 150_000, 1_000)]


def test_continuous_rejects_without_changing_the_book():
    book = ContinuousBook(FEED_IN, RETAIL, FEE)
    book.place(Order(5, "alice", ASK, 100_000, 1_000))
    with pytest.raises(GridshareError, match="does not increase"):
        book.place(Order(5, "dave", BID, 200_000, 1_000))
    with pytest.raises(GridshareError, match="outside the band"):
        book.place(Order(6, "dave", BID, 300_000, 1_000))
    assert book.asks() == [Order(5, "alice", ASK, 100_000, 1_000)] and book.bids() == []
    book.place(Order(6, "dave", BID, 200_000, 1_000))  # the rejected id is still free


# --------------------------------------------------------------------------------------------------
# call auction: worked example
# --------------------------------------------------------------------------------------------------


def test_uniform_worked_example():
    bids = [Order(1, "dave", BID, 200_000, 2_000), Order(2, "erin", BID, 150_000, 3_000),
            Order(3, "frank", BID, 110_000, 1_000)]
    asks = [Order(4, "alice", ASK, 80_000, 2_500), Order(5, "bob", ASK, 100_000, 2_000),
            Order(6, "carol", ASK, 140_000, 1_000)]
    # dave 2000 <- alice; erin 500 <- alice; erin 2000 <- bob; then erin 150 - 20 < carol 140: stop.
    # Clearing range, asks counted with the fee: [max(bob 120, erin 150 left out), min(erin 150,
    # carol 160)] = [150, 150]: at 150 erin, at her limit, is rationed (2,500 of 3,000 Wh); at any
    # lower price demand (dave and erin, 5,000) would exceed supply (alice and bob, 4,500)
    clearing = clear_uniform(list(reversed(bids)), asks, FEE)  # input order does not matter
    assert clearing == Clearing(150_000, [
        Fill(1, 4, "dave", "alice", 2_000, 150_000, 20_000),
        Fill(2, 4, "erin", "alice", 500, 150_000, 20_000),
        Fill(2, 5, "erin", "bob", 2_000, 150_000, 20_000),
    ])
    assert [f.payment for f in clearing.fills] == [300_000, 75_000, 300_000]
    assert [f.fee for f in clearing.fills] == [40_000, 10_000, 40_000]
    assert [f.proceeds for f in clearing.fills] == [260_000, 65_000, 260_000]
    assert [clearing.filled(o.id) for o in bids + asks] == [2_000, 2_500, 0, 2_500, 2_000, 0]
    assert [clearing.refund(b) for b in bids] == [100_000, 0, 0]  # (200 - 150) * 2
    assert 100_000 + FEE <= clearing.price <= 150_000


def test_uniform_price_is_in_the_clearing_range_not_at_the_marginal_pair():
    """Bids 10 and 8, asks 2 and 9 (1 Wh each): one trade (10 with 2); the bid at 8 and the ask at
    9 are left out, so the clearing range is [8, 9] (the marginal pair's midpoint, 6, would leave
    the bid at 8 out though willing to pay it). Its midpoint floored to the tick: 8, the bid at 8
    at its limit (rationed at the margin)."""
    bids = [Order(1, "b1", BID, 10_000, 1), Order(2, "b2", BID, 8_000, 1)]
    asks = [Order(3, "s1", ASK, 2_000, 1), Order(4, "s2", ASK, 9_000, 1)]
    clearing = clear_uniform(bids, asks)
    assert clearing == Clearing(8_000, [Fill(1, 3, "b1", "s1", 1, 8_000, 0)])
    # with a third ask at 7, the bid at 8 trades too: range [max(7, -), min(8, 9)] = [7, 8] -> 7
    clearing = clear_uniform(bids, asks + [Order(5, "s3", ASK, 7_000, 1)])
    assert clearing.price == 7_000 and [f.quantity_wh for f in clearing.fills] == [1, 1]


def test_uniform_price_is_floored_to_the_tick():
    clearing = clear_uniform([Order(1, "b", BID, 151_000, 10)], [Order(2, "s", ASK, 100_000, 10)], FEE)
    assert clearing.price == 135_000  # nothing left out: the range is [100 + 20, 151], midpoint 135.5


def test_uniform_nothing_matches():
    assert clear_uniform([Order(1, "b", BID, 119_000, 10)], [Order(2, "s", ASK, 100_000, 10)], FEE) == Clearing(None, [])
    assert clear_uniform([], [Order(2, "s", ASK, 100_000, 10)], FEE) == Clearing(None, [])
    assert Clearing(None, []).refund(Order(1, "b", BID, 119_000, 10)) == 0


@pytest.mark.parametrize("bids, asks, problem", [
    ([Order(1, "b", ASK, 100_000, 1)], [], "is an ask, passed among the bids"),
    ([Order(1, "b", BID, 100_000, 1)], [Order(1, "s", ASK, 100_000, 1)], "appears twice"),
    ([Order(1, "b", BID, 100_001, 1)], [], "tick"),
    ([], [Order(1, "s", ASK, 100_000, 0)], "must be positive"),
])
def test_uniform_rejects(bids, asks, problem):
    with pytest.raises(GridshareError, match=problem):
        clear_uniform(bids, asks, FEE)


# --------------------------------------------------------------------------------------------------
# delivery of forward sales: worked example
# --------------------------------------------------------------------------------------------------


def test_settle_delivery_worked_example():
    # the seller sold 3000 + 2000 + 1000 Wh but had 4000: the first trade in full, the second in part
    sold = [("dave", 3_000), ("erin", 2_000), ("dave", 1_000)]
    assert settle_delivery(sold, 4_000, RETAIL) == [
        ("dave", 3_000, 0),
        ("erin", 1_000, 250_000),  # 1000 Wh short at 250 per kWh
        ("dave", 0, 250_000),
    ]
    assert settle_delivery(sold, 4_000, RETAIL)[1] == Delivery("erin", 1_000, 250_000)
    with pytest.raises(GridshareError, match="outside 0..6000"):
        settle_delivery(sold, 6_001, RETAIL)


# --------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------

# a narrow band (in ticks) so that equal prices, and compatible and incompatible pairs, are all common
band = st.tuples(st.integers(0, 10), st.integers(1, 10), st.integers(0, 4)).map(
    lambda t: MarketRules(t[0] * TICK, (t[0] + t[2] + t[1]) * TICK, t[2] * TICK))


def orders(rules: MarketRules, max_quantity: int = 5_000):
    prices = st.integers(rules.feed_in // TICK, rules.retail // TICK).map(lambda t: t * TICK)
    return st.tuples(st.sampled_from([BID, ASK]), prices, st.integers(1, max_quantity), st.sampled_from("abcd"))


@st.composite
def continuous_sessions(draw):
    """Market rules and a sequence of actions: ("place", side, price, quantity, owner) or ("cancel", k)."""
    rules = draw(band)
    place = orders(rules).map(lambda o: ("place", *o))
    cancel = st.integers(0, 40).map(lambda k: ("cancel", k))
    actions = draw(st.lists(st.one_of(place, place, place, cancel), max_size=40))
    return rules, actions


def crossed(book: ContinuousBook) -> bool:
    bids, asks = book.bids(), book.asks()
    return bool(bids and asks) and bids[0].price - book.rules.grid_fee >= asks[0].price


@settings(max_examples=300, deadline=None)
@given(continuous_sessions())
def test_continuous_properties(session):
    rules, actions = session
    fee = rules.grid_fee
    book = ContinuousBook(rules.feed_in, rules.retail, fee)
    placed: dict[int, Order] = {}
    filled: dict[int, int] = {}
    cancelled: dict[int, int] = {}
    for n, action in enumerate(actions, start=1):
        if action[0] == "cancel":
            ids = [o.id for o in book.bids() + book.asks()]
            if not ids:
                continue
            order_id = ids[action[1] % len(ids)]
            before = book.remaining(order_id)
            rest = book.cancel(order_id, by=placed[order_id].owner)
            assert rest.id == order_id and rest.quantity == before > 0
            assert rest == Order(order_id, placed[order_id].owner, placed[order_id].side, placed[order_id].price, before)
            assert book.remaining(order_id) == 0
            assert order_id not in [o.id for o in book.bids() + book.asks()]
            cancelled[order_id] = before
            continue
        _, side, price, quantity, owner = action
        order = Order(n, owner, side, price, quantity)
        opposite = book.asks() if side is BID else book.bids()
        fills = book.place(order)
        placed[n] = order

        # the fills take the opposite side best first (price-time priority) ...
        assert [f.ask_id if side is BID else f.bid_id for f in fills] == [o.id for o in opposite[:len(fills)]]
        assert all(f.quantity_wh == o.quantity for f, o in zip(fills[:-1], opposite))  # all but the last in full
        for f in fills:
            bid, ask = placed[f.bid_id], placed[f.ask_id]
            assert (bid.side, ask.side) == (BID, ASK)
            assert (f.buyer, f.seller) == (bid.owner, ask.owner)
            assert bid.price - fee >= ask.price  # compatible
            assert f.price == bid.price  # pay-as-bid
            assert f.fee_per_kwh == fee and f.quantity_wh > 0
            assert f.payment == f.proceeds + f.fee
            assert f.proceeds >= f.quantity_wh * ask.price // 1000  # the seller gets at least its ask
            filled[f.bid_id] = filled.get(f.bid_id, 0) + f.quantity_wh
            filled[f.ask_id] = filled.get(f.ask_id, 0) + f.quantity_wh
        # ... and stop only when the incoming order is filled or the next one is incompatible
        left = quantity - sum(f.quantity_wh for f in fills)
        assert book.remaining(n) == left
        if left:
            assert len(fills) == len(opposite) or not (
                price - fee >= opposite[len(fills)].price if side is BID else opposite[len(fills)].price - fee >= price)
        assert not crossed(book)

        bids, asks = book.bids(), book.asks()
        assert bids == sorted(bids, key=lambda o: (-o.price, o.id))
        assert asks == sorted(asks, key=lambda o: (o.price, o.id))
        # no order filled beyond its quantity: filled + resting + cancelled == quantity
        for order_id, o in placed.items():
            assert filled.get(order_id, 0) + book.remaining(order_id) + cancelled.get(order_id, 0) == o.quantity
        assert all(o.quantity > 0 for o in bids + asks)


@st.composite
def auctions(draw, max_quantity=5_000):
    """Rules, then bids and asks with distinct ids in a random order."""
    rules = draw(band)
    drawn = draw(st.lists(orders(rules, max_quantity), max_size=16))
    ids = draw(st.permutations(range(1, len(drawn) + 1)))
    book = [Order(i, owner, side, price, q) for i, (side, price, q, owner) in zip(ids, drawn)]
    return rules.grid_fee, [o for o in book if o.side is BID], [o for o in book if o.side is ASK]


@settings(max_examples=300, deadline=None)
@given(auctions())
def test_uniform_properties(auction):
    fee, bids, asks = auction
    clearing = clear_uniform(bids, asks, fee)
    by_id = {o.id: o for o in bids + asks}
    if clearing.price is None:
        assert clearing.fills == []
    else:
        assert clearing.fills
    P = clearing.price
    for f in clearing.fills:
        bid, ask = by_id[f.bid_id], by_id[f.ask_id]
        assert (bid.side, ask.side) == (BID, ASK) and (f.buyer, f.seller) == (bid.owner, ask.owner)
        assert f.price == P and f.fee_per_kwh == fee and f.quantity_wh > 0
        assert bid.price - fee >= ask.price
        assert ask.price + fee <= P <= bid.price
        assert P % TICK == 0
    if clearing.fills:
        a, b = by_id[clearing.fills[-1].ask_id].price, by_id[clearing.fills[-1].bid_id].price
        assert a + fee <= P <= b
    # no order filled beyond its quantity; total bought == total sold
    assert all(clearing.filled(o.id) <= o.quantity for o in bids + asks)
    bought = sum(clearing.filled(o.id) for o in bids)
    sold = sum(clearing.filled(o.id) for o in asks)
    assert bought == sold == sum(f.quantity_wh for f in clearing.fills)
    # money: buyers pay what sellers receive plus fees; escrow at the bid price = payment + refund
    assert sum(f.payment for f in clearing.fills) == sum(f.proceeds for f in clearing.fills) + sum(f.fee for f in clearing.fills)
    for bid in bids:
        paid = sum(f.payment for f in clearing.fills if f.bid_id == bid.id)
        refund = clearing.refund(bid)
        assert refund >= 0
        assert bid.price * clearing.filled(bid.id) // 1000 == paid + refund
    # efficient: what is left on the two sides cannot trade
    left_bids = [o for o in bids if clearing.filled(o.id) < o.quantity]
    left_asks = [o for o in asks if clearing.filled(o.id) < o.quantity]
    if left_bids and left_asks:
        assert max(o.price for o in left_bids) - fee < min(o.price for o in left_asks)


@settings(max_examples=300, deadline=None)
@given(auctions(max_quantity=6))
def test_uniform_agrees_with_unit_by_unit_matching(auction):
    """An independent reference: split every order into 1 Wh units, pair the k-th best bid unit with
    the k-th best ask unit while compatible; same volume, same pairs, and the price is the
    midpoint of the k-double auction's range over units: [max(a_k + fee, b_k+1), min(b_k, a_k+1 + fee)]
    with k the units traded, floored to the tick."""
    fee, bids, asks = auction
    bid_units = sorted((-o.price, o.id) for o in bids for _ in range(o.quantity))
    ask_units = sorted((o.price, o.id) for o in asks for _ in range(o.quantity))
    pairs = []
    for (nb, bid_id), (a, ask_id) in zip(bid_units, ask_units):
        if -nb - fee < a:
            break
        pairs.append((bid_id, ask_id, -nb, a))
    clearing = clear_uniform(bids, asks, fee)
    units = [(f.bid_id, f.ask_id) for f in clearing.fills for _ in range(f.quantity_wh)]
    assert units == [(b, a) for b, a, _, _ in pairs]
    if pairs:
        _, _, b, a = pairs[-1]
        k = len(pairs)
        lo = max([a + fee] + [-nb for nb, _ in bid_units[k:k + 1]])
        hi = min([b] + [a + fee for a, _ in ask_units[k:k + 1]])
        assert lo <= hi
        assert clearing.price == (lo + hi) // (2 * TICK) * TICK
        # individually rational, and no order left out would trade at the price strictly
        assert all(f.price <= o.price for f in clearing.fills for o in bids if o.id == f.bid_id)
        assert all(f.price - fee >= o.price for f in clearing.fills for o in asks if o.id == f.ask_id)
        assert all(-nb <= clearing.price for nb, _ in bid_units[k:])
        assert all(a + fee >= clearing.price for a, _ in ask_units[k:])
    else:
        assert clearing.price is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 5_000)), max_size=8),
       st.integers(0, 40_000), st.integers(0, 400).map(lambda t: t * TICK))
def test_settle_delivery_conserves_energy_and_money(sold, had, retail):
    total = sum(q for _, q in sold)
    delivered = min(total, had)
    out = settle_delivery(sold, delivered, retail)
    assert [d.buyer for d in out] == [b for b, _ in sold]
    assert sum(d.energy_wh for d in out) == delivered
    assert all(0 <= d.energy_wh <= q for d, (_, q) in zip(out, sold))
    assert all(d.compensation == (q - d.energy_wh) * retail // 1000 for d, (_, q) in zip(out, sold))
    assert sum(d.compensation for d in out) == (total - delivered) * retail // 1000
    # first trades first: once a trade is short, every later trade gets nothing
    short = [k for k, (d, (_, q)) in enumerate(zip(out, sold)) if d.energy_wh < q]
    if short:
        assert all(d.energy_wh == 0 for d in out[short[0] + 1:])
