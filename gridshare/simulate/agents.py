"""Zero-intelligence trading agents for market simulations: random prices, seeded (pure Python).

Each interval, every producer offers its expected surplus and every consumer bids for its expected
need, at a price drawn uniformly on the tick (see :mod:`gridshare.domain.matching` for units):

* a producer asks a price in ``[feed_in, retail]`` - never less than the grid would pay it;
* a consumer bids a price in ``[feed_in + grid_fee, retail - TICK]`` - strictly below retail (else
  its supplier is as good) and high enough that a seller at the feed-in price could accept it net of
  the grid fee.

The randomness comes from a ``random.Random`` the caller seeds, so the same seed gives the same
orders. No web3 here.
"""

from __future__ import annotations

import operator
import random
from typing import Mapping, NamedTuple

from gridshare.domain.matching import TICK, MarketRules, Side
from gridshare.errors import GridshareError

__all__ = ["Intent", "orders_for_interval"]


class Intent(NamedTuple):
    """An order before the market numbers it: ``Order(order_id, *intent)`` makes it an order."""

    owner: str
    side: Side
    price: int  # per kWh, on the tick
    quantity: int  # Wh, positive


def _price(rng: random.Random, low: int, high: int) -> int:
    """A price drawn uniformly among the multiples of TICK in ``[low, high]`` (both on the tick)."""
    return rng.randrange(low // TICK, high // TICK + 1) * TICK


def _amounts(amounts: Mapping[str, int], what: str) -> list[tuple[str, int]]:
    """The positive ``(participant, Wh)`` entries, sorted by participant; negatives are an error."""
    out = []
    for name in sorted(amounts):
        value = amounts[name]
        try:
            if isinstance(value, bool):
                raise TypeError
            wh = operator.index(value)  # numpy integers accepted
        except TypeError:
            raise GridshareError(f"{what} of {name!r} must be an integer number of Wh, got {value!r}") from None
        if wh < 0:
            raise GridshareError(f"{what} of {name!r} is negative: {wh} Wh")
        if wh:
            out.append((name, wh))
    return out


def orders_for_interval(
    rng: random.Random,
    surpluses: Mapping[str, int],
    needs: Mapping[str, int],
    rules: MarketRules,
) -> list[Intent]:
    """One interval's orders: an ask per producer with a surplus, a bid per consumer with a need.

    ``surpluses``: producer -> expected surplus (Wh); ``needs``: consumer -> expected need (Wh); a
    participant may be in both. Zero amounts give no order. Producers (by name) draw their ask
    prices in ``[feed_in, retail]``, then consumers (by name) their bid prices in
    ``[feed_in + grid_fee, retail - TICK]``; then the list is shuffled into a random arrival order
    (time priority matters in a continuous book). Every draw comes from ``rng``, so
    ``random.Random(seed)`` makes the result reproducible. Amounts below the market's minimum order
    (``rules.min_order_wh``) give no order either. Number the intents in list order to
    place them: ``[Order(first_id + k, *intent) for k, intent in enumerate(intents)]``.

    Raises GridshareError for an amount that is negative or not an integer. (The bid range is never
    empty: :class:`MarketRules` requires ``grid_fee < retail - feed_in``.)
    """
    intents = [Intent(name, Side.ASK, _price(rng, rules.feed_in, rules.retail), wh)
               for name, wh in _amounts(surpluses, "surplus") if wh >= rules.min_order_wh]
    low, high = rules.feed_in + rules.grid_fee, rules.retail - TICK  # never empty: see MarketRules
    intents += [Intent(name, Side.BID, _price(rng, low, high), wh) for name, wh in _amounts(needs, "need")
                if wh >= rules.min_order_wh]
    rng.shuffle(intents)
    return intents
