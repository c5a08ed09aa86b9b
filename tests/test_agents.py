"""Zero-intelligence agents: reproducible from a seed, prices on the tick and inside the band."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from gridshare.domain.matching import TICK, ContinuousBook, MarketRules, Order, Side
from gridshare.errors import GridshareError
from gridshare.simulate.agents import Intent, orders_for_interval

RULES = MarketRules(60_000, 250_000, 20_000)
SURPLUSES = {f"producer-{k}": 1_000 + 250 * k for k in range(12)}
NEEDS = {f"consumer-{k}": 800 + 100 * k for k in range(12)}


def test_same_seed_same_orders():
    first = orders_for_interval(random.Random(7), SURPLUSES, NEEDS, RULES)
    again = orders_for_interval(random.Random(7), SURPLUSES, NEEDS, RULES)
    assert first == again
    # the mappings' order does not matter, only their content
    assert orders_for_interval(random.Random(7), dict(reversed(SURPLUSES.items())),
                               dict(reversed(NEEDS.items())), RULES) == first


def test_different_seed_different_orders():
    assert orders_for_interval(random.Random(7), SURPLUSES, NEEDS, RULES) != \
        orders_for_interval(random.Random(8), SURPLUSES, NEEDS, RULES)


def test_one_order_per_positive_amount():
    intents = orders_for_interval(random.Random(1), {"p": 1_500, "idle": 0}, {"c": 700, "away": 0, "p": 300}, RULES)
    assert sorted((i.owner, i.side.value, i.quantity) for i in intents) == [
        ("c", "bid", 700), ("p", "ask", 1_500), ("p", "bid", 300)]
    assert orders_for_interval(random.Random(1), {"p": 0}, {"c": 0}, RULES) == []


def test_intents_become_orders():
    intents = orders_for_interval(random.Random(3), SURPLUSES, NEEDS, RULES)
    book = ContinuousBook(RULES.feed_in, RULES.retail, RULES.grid_fee)
    for k, intent in enumerate(intents, start=1):
        book.place(Order(k, *intent))  # every intent passes the market's rules


def test_bad_input():
    with pytest.raises(GridshareError, match="negative"):
        orders_for_interval(random.Random(1), {"p": -1}, {}, RULES)
    with pytest.raises(GridshareError, match="integer"):
        orders_for_interval(random.Random(1), {}, {"c": 1.5}, RULES)


def test_narrowest_market_bids_one_tick_below_retail():
    narrow = MarketRules(100_000, 121_000, 20_000)  # bids in [120, 120]
    assert {i.price for i in orders_for_interval(random.Random(1), {}, NEEDS, narrow)} == {120_000}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 50), st.integers(1, 50), st.integers(0, 10),
       st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10_000), max_size=6),
       st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10_000), max_size=6))
def test_prices_in_the_band_on_the_tick(seed, feed_in, width, fee, surpluses, needs):
    rules = MarketRules(feed_in * TICK, (feed_in + width + fee) * TICK, fee * TICK)
    intents = orders_for_interval(random.Random(seed), surpluses, needs, rules)
    assert all(isinstance(i, Intent) for i in intents)
    assert sorted((i.owner, i.quantity) for i in intents if i.side is Side.ASK) == \
        sorted((k, v) for k, v in surpluses.items() if v)
    assert sorted((i.owner, i.quantity) for i in intents if i.side is Side.BID) == \
        sorted((k, v) for k, v in needs.items() if v)
    for i in intents:
        assert i.price % TICK == 0
        assert rules.feed_in <= i.price <= rules.retail
        if i.side is Side.BID:
            assert rules.feed_in + rules.grid_fee <= i.price < rules.retail
            assert i.price <= rules.retail - TICK
