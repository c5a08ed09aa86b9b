"""Peer-to-peer energy market of one delivery interval: order book, matching and settlement (pure Python).

Members of the community trade the energy of one delivery interval among themselves. This module is
the reference the market contract is checked against: the same integer arithmetic, the same order of
matching, the same fills, so a simulation or a test can compare results exactly. Two designs:

* :class:`ContinuousBook` - continuous double auction, **pay-as-bid**, price-time priority: an
  incoming order trades at once with the best compatible resting orders, every fill at the bid's
  price; what is left rests in the book.
* :func:`clear_uniform` - call auction, **pay-as-clear**: the interval's bids and asks are matched
  in one go and every matched buyer pays one uniform price ``P``.

Units (everything is an integer):

* quantities in **Wh**, positive;
* prices in payment-token base units **per kWh**, a multiple of :data:`TICK` (1000), so a price is
  also an integer amount per Wh; an order's price lies in the band ``[feed_in, retail]`` (inclusive):
  no seller takes less than the feed-in tariff, no buyer pays more than the supplier's retail price;
* ``grid_fee`` per kWh, a multiple of :data:`TICK`, possibly 0: the network charge the seller pays
  out of each payment.

Money for ``q`` Wh at ``p`` per kWh is ``q * p // 1000``, exact because ``p`` is a multiple of 1000.
For a :class:`Fill` of ``q`` Wh at price ``p`` with grid fee ``f``: the buyer pays
``payment = q * p // 1000``, the fee is ``q * f // 1000`` and the seller receives
``proceeds = payment - fee``, so payments always equal proceeds plus fees.

A bid and an ask are **compatible** when ``bid.price - grid_fee >= ask.price``: what the seller would
receive per kWh, net of the fee, is at least its asking price. Time priority is by order id: ids
increase with arrival, so between two orders at the same price the smaller id trades first.

:class:`MarketRules` checks an order the way the contract does (it reverts in the same cases, with
the same problem named). :func:`settle_delivery` settles one seller's forward sales of an interval
once its delivery is known: energy goes to the first trades first, the shortfall is compensated at
the retail price out of the seller's collateral. No web3 here.
"""

from __future__ import annotations

import bisect
import operator
from dataclasses import dataclass, replace
from enum import Enum
from typing import NamedTuple, Sequence

from gridshare.errors import GridshareError

__all__ = [
    "TICK",
    "Side",
    "Order",
    "Fill",
    "MarketRules",
    "ContinuousBook",
    "Clearing",
    "clear_uniform",
    "Delivery",
    "settle_delivery",
]

TICK = 1000
"""Price step, in payment-token base units per kWh: prices and the grid fee are multiples of it
(one base unit per Wh), which keeps ``q * price // 1000`` exact."""

_MAX_WH = 2**40 - 1  # the contract stores quantities in 40 bits


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------


def _integer(value: object, what: str) -> int:
    """``value`` as a Python int (numpy integers accepted), or a GridshareError naming ``what``."""
    if isinstance(value, bool):
        raise GridshareError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise GridshareError(f"{what} must be an integer, got {value!r}") from None


def _on_tick(value: int, what: str) -> None:
    if value % TICK:
        raise GridshareError(f"{what} is {value}, not a multiple of the tick ({TICK} per kWh)")


def _grid_fee(value: object) -> int:
    fee = _integer(value, "grid fee (per kWh)")
    if fee < 0:
        raise GridshareError(f"grid fee is negative: {fee}")
    _on_tick(fee, "grid fee")
    return fee


def _money(quantity_wh: int, price_per_kwh: int) -> int:
    """Token base units for ``quantity_wh`` Wh at ``price_per_kwh``: ``q * p // 1000``."""
    return quantity_wh * price_per_kwh // 1000


def _compatible(bid: Order, ask: Order, grid_fee: int) -> bool:
    """A bid and an ask can trade: ``bid.price - grid_fee >= ask.price``."""
    return bid.price - grid_fee >= ask.price


def _bid_key(order: Order) -> tuple[int, int]:
    """Bids best first: price high to low, then older (smaller id) first."""
    return (-order.price, order.id)


def _ask_key(order: Order) -> tuple[int, int]:
    """Asks best first: price low to high, then older (smaller id) first."""
    return (order.price, order.id)


# --------------------------------------------------------------------------------------------------
# orders and fills
# --------------------------------------------------------------------------------------------------


class Side(Enum):
    """Which side of the book an order is on: a bid buys, an ask sells."""

    BID = "bid"
    ASK = "ask"


@dataclass(frozen=True)
class Order:
    """A limit order: ``quantity`` Wh at ``price`` per kWh (the most a buyer pays, the least a seller takes).

    ``id`` orders arrivals (smaller is older: time priority). ``side`` accepts a :class:`Side` or
    its value (``"bid"``, ``"ask"``). Construction checks types only; whether the order is
    acceptable in a market (tick, band, positive quantity) is :meth:`MarketRules.check`'s business.
    """

    id: int
    owner: str
    side: Side
    price: int  # per kWh
    quantity: int  # Wh

    def __post_init__(self) -> None:
        order_id = _integer(self.id, "order id")
        if order_id < 0:
            raise GridshareError(f"order id is negative: {order_id}")
        try:
            side = Side(self.side)
        except ValueError:
            raise GridshareError(f"order {order_id}: side must be 'bid' or 'ask', got {self.side!r}") from None
        object.__setattr__(self, "id", order_id)
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "price", _integer(self.price, f"price of order {order_id} (per kWh)"))
        object.__setattr__(self, "quantity", _integer(self.quantity, f"quantity of order {order_id} (Wh)"))


@dataclass(frozen=True)
class Fill:
    """A trade: ``quantity_wh`` Wh from ``seller`` (ask ``ask_id``) to ``buyer`` (bid ``bid_id``).

    ``price`` is what the buyer pays per kWh; ``fee_per_kwh`` is the market's grid fee (0 when
    omitted). The seller receives the payment net of the fee.
    """

    bid_id: int
    ask_id: int
    buyer: str
    seller: str
    quantity_wh: int
    price: int  # per kWh, paid by the buyer
    fee_per_kwh: int = 0  # the grid fee, paid by the seller

    @property
    def payment(self) -> int:
        """Paid by the buyer: ``quantity_wh * price // 1000``."""
        return _money(self.quantity_wh, self.price)

    @property
    def fee(self) -> int:
        """Grid fee, out of the payment: ``quantity_wh * fee_per_kwh // 1000``."""
        return _money(self.quantity_wh, self.fee_per_kwh)

    @property
    def proceeds(self) -> int:
        """Received by the seller: ``payment - fee``."""
        return self.payment - self.fee


@dataclass(frozen=True)
class MarketRules:
    """A market's price band ``[feed_in, retail]`` and grid fee, all per kWh and multiples of :data:`TICK`.

    Requires, as the contract's constructor does, ``0 <= feed_in < retail`` and
    ``0 <= grid_fee < retail - feed_in``: some bid and ask can always trade, and a bid strictly
    below retail, ``feed_in + grid_fee <= price <= retail - TICK``, always exists.
    """

    feed_in: int
    retail: int
    grid_fee: int = 0
    min_order_wh: int = 1  # the deployment's minimum order size

    def __post_init__(self) -> None:
        feed_in = _integer(self.feed_in, "feed-in price (per kWh)")
        retail = _integer(self.retail, "retail price (per kWh)")
        if feed_in < 0:
            raise GridshareError(f"feed-in price is negative: {feed_in}")
        _on_tick(feed_in, "feed-in price")
        _on_tick(retail, "retail price")
        if feed_in >= retail:
            raise GridshareError(f"feed-in price {feed_in} is not below the retail price {retail}")
        grid_fee = _grid_fee(self.grid_fee)
        if grid_fee >= retail - feed_in:
            raise GridshareError(
                f"grid fee {grid_fee} is not below retail minus feed-in ({retail - feed_in}): nothing could trade")
        object.__setattr__(self, "feed_in", feed_in)
        object.__setattr__(self, "retail", retail)
        object.__setattr__(self, "grid_fee", grid_fee)
        min_order = _integer(self.min_order_wh, "minimum order (Wh)")
        if not 1 <= min_order <= _MAX_WH:
            raise GridshareError(f"minimum order is {min_order} Wh; it must be 1 to {_MAX_WH} Wh")
        object.__setattr__(self, "min_order_wh", min_order)

    def check(self, order: Order) -> None:
        """Raise GridshareError naming the problem if the market rejects ``order`` (the contract reverts).

        In this order: price not a multiple of :data:`TICK`; price outside ``[feed_in, retail]``;
        quantity not positive (or above ``2**40 - 1`` Wh, the contract's storage limit); quantity below
        the minimum order.
        """
        _on_tick(order.price, f"price of order {order.id}")
        if not self.feed_in <= order.price <= self.retail:
            raise GridshareError(
                f"price of order {order.id} is {order.price}, outside the band "
                f"[{self.feed_in}, {self.retail}] (feed-in, retail)")
        if order.quantity <= 0:
            raise GridshareError(f"quantity of order {order.id} is {order.quantity} Wh; it must be positive")
        if order.quantity > _MAX_WH:
            raise GridshareError(f"quantity of order {order.id} is {order.quantity} Wh, above {_MAX_WH} Wh")
        if order.quantity < self.min_order_wh:
            raise GridshareError(f"quantity of order {order.id} is {order.quantity} Wh, below the market's minimum "
                                 f"order of {self.min_order_wh} Wh")


# --------------------------------------------------------------------------------------------------
# continuous double auction (pay-as-bid)
# --------------------------------------------------------------------------------------------------


class ContinuousBook:
    """One interval's continuous order book: pay-as-bid, price-time priority.

    :meth:`place` checks the order (:meth:`MarketRules.check`, and ids must increase with arrival),
    then matches it against the opposite side, best first, while the pair is compatible
    (``bid.price - grid_fee >= ask.price``) and the incoming order has quantity left:

    * an incoming bid ``B`` takes the asks by price low to high, then id; every fill is at
      ``B.price`` (the buyer pays its own bid);
    * an incoming ask takes the bids by price high to low, then id; every fill is at that resting
      bid's price.

    Each fill is ``min`` of the two remaining quantities; a fully filled resting order leaves the
    book; what is left of the incoming order rests. So the book is never crossed: after every
    :meth:`place`, ``best bid - grid_fee < best ask``.
    """

    def __init__(self, feed_in: int, retail: int, grid_fee: int = 0) -> None:
        self.rules = MarketRules(feed_in, retail, grid_fee)
        self._bids: list[Order] = []  # best first, see _bid_key
        self._asks: list[Order] = []  # best first, see _ask_key
        self._resting: dict[int, Order] = {}  # id -> order, quantity = what remains
        self._last_id = -1

    def place(self, order: Order) -> list[Fill]:
        """Match ``order`` against the book, rest what is left; the fills in the order they happened."""
        self.rules.check(order)
        if order.id <= self._last_id:
            raise GridshareError(f"order id {order.id} does not increase: the last placed order was {self._last_id}")
        self._last_id = order.id
        fee = self.rules.grid_fee
        incoming = order.side is Side.BID
        opposite = self._asks if incoming else self._bids
        left = order.quantity
        fills: list[Fill] = []
        while left and opposite:
            best = opposite[0]
            bid, ask = (order, best) if incoming else (best, order)
            if not _compatible(bid, ask, fee):
                break
            q = min(left, best.quantity)
            fills.append(Fill(bid.id, ask.id, bid.owner, ask.owner, q, bid.price, fee))
            left -= q
            if q == best.quantity:
                opposite.pop(0)
                del self._resting[best.id]
            else:
                rest = replace(best, quantity=best.quantity - q)
                opposite[0] = rest  # same price and id: the position is unchanged
                self._resting[best.id] = rest
        if left:
            rest = replace(order, quantity=left)
            if incoming:
                bisect.insort(self._bids, rest, key=_bid_key)
            else:
                bisect.insort(self._asks, rest, key=_ask_key)
            self._resting[order.id] = rest
        return fills

    def cancel(self, order_id: int, by: str | None = None) -> Order:
        """Remove a resting order; returns what remained of it (``quantity`` = the unfilled Wh).

        Raises GridshareError if no such order rests in the book (unknown, filled or cancelled), or
        if ``by`` is given and is not the order's owner (the contract lets only the owner cancel).
        """
        rest = self._resting.get(order_id)
        if rest is None:
            raise GridshareError(f"order {order_id} is not in the book (unknown, filled or cancelled)")
        if by is not None and by != rest.owner:
            raise GridshareError(f"order {order_id} belongs to {rest.owner!r}; {by!r} cannot cancel it")
        del self._resting[order_id]
        (self._bids if rest.side is Side.BID else self._asks).remove(rest)
        return rest

    def remaining(self, order_id: int) -> int:
        """Wh still resting for ``order_id``; 0 when it is not in the book (filled, cancelled, unknown)."""
        rest = self._resting.get(order_id)
        return rest.quantity if rest else 0

    def bids(self) -> list[Order]:
        """Resting bids, best first (price high to low, then id); ``quantity`` is what remains."""
        return list(self._bids)

    def asks(self) -> list[Order]:
        """Resting asks, best first (price low to high, then id); ``quantity`` is what remains."""
        return list(self._asks)


# --------------------------------------------------------------------------------------------------
# call auction (pay-as-clear)
# --------------------------------------------------------------------------------------------------


class Clearing(NamedTuple):
    """A call auction's result: the uniform price per kWh (None when nothing matched) and the fills."""

    price: int | None
    fills: list[Fill]

    def filled(self, order_id: int) -> int:
        """Wh traded by an order (bid or ask) in this clearing."""
        return sum(f.quantity_wh for f in self.fills if order_id in (f.bid_id, f.ask_id))

    def refund(self, bid: Order) -> int:
        """What a matched buyer gets back of the escrow at its own price: ``(bid.price - P) * filled // 1000``.

        A buyer escrows ``bid.price * quantity // 1000`` and pays ``P * filled // 1000``; this is the
        difference on the filled part only (0 when nothing matched). The escrow of the unfilled
        part, ``bid.price * (quantity - filled) // 1000``, is returned with the unfilled order.
        """
        if bid.side is not Side.BID:
            raise GridshareError(f"order {bid.id} is an ask; only bids are refunded")
        if self.price is None:
            return 0
        return _money(self.filled(bid.id), bid.price - self.price)


def clear_uniform(bids: Sequence[Order], asks: Sequence[Order], grid_fee: int = 0) -> Clearing:
    """Clear a call auction: match bids and asks, every matched buyer pays one uniform price ``P``.

    Bids are sorted best first (price high to low, then id), asks too (price low to high, then id).
    With a pointer on each, while both sides have an order and the pair is compatible
    (``bid.price - grid_fee >= ask.price``): trade ``q = min`` of the two remaining quantities,
    record the pair, and move past whichever order is exhausted (both if both).

    Nothing matched: ``Clearing(None, [])``. Otherwise the price is that of the **k-double auction**
    with k = 1/2 (Satterthwaite & Williams 1989; Rustichini, Satterthwaite & Williams 1994): with
    asks counted at what the buyer pays, ``a + grid_fee``, let ``b_k``, ``a_k`` be the prices of the
    last matched bid and ask (the marginal pair) and ``b_k+1``, ``a_k+1`` those of the first orders
    left out on each side (where the walk stopped: possibly the marginal order itself, partly
    filled; none if a side ran out). Every price of the **clearing range**

        [max(a_k, b_k+1), min(b_k, a_k+1)]

    clears the book: demand equals supply there, but for orders priced exactly at the price (the
    margin). The price is its midpoint floored to the tick::

        P = ((lo // 1000 + hi // 1000) // 2) * 1000

    So every matched buyer pays at most its bid and every matched seller receives ``P - grid_fee``,
    at least its ask (individually rational); every order that would trade at ``P`` strictly
    (a bid above it, an ask below ``P - grid_fee``) trades in full, and an order priced exactly
    at ``P`` may trade in part or not at all (rationing at the margin, by price then time
    priority). This is the pay-as-clear rule of gsy-e's two-sided market (the first price at
    which cumulative supply meets cumulative demand) with the range's midpoint instead of an end;
    the midpoint of the marginal pair alone, the rule before, could leave out a bid willing to
    pay the price (bids 10 and 8, asks 2 and 9: 6, where the range is [8, 9]). Every fill is at
    ``P``, in the order the pairs were matched; see :meth:`Clearing.refund` for what a buyer gets
    back.

    Orders must be on the right side, have distinct ids, prices on the tick and positive
    quantities (GridshareError otherwise); the price band is the caller's (:meth:`MarketRules.check`).
    """
    fee = _grid_fee(grid_fee)
    seen: set[int] = set()
    for side, orders in ((Side.BID, bids), (Side.ASK, asks)):
        for order in orders:
            if order.side is not side:
                article = "a" if order.side is Side.BID else "an"
                raise GridshareError(f"order {order.id} is {article} {order.side.value}, passed among the {side.value}s")
            if order.id in seen:
                raise GridshareError(f"order id {order.id} appears twice")
            seen.add(order.id)
            _on_tick(order.price, f"price of order {order.id}")
            if order.quantity <= 0:
                raise GridshareError(f"quantity of order {order.id} is {order.quantity} Wh; it must be positive")
    bids = sorted(bids, key=_bid_key)
    asks = sorted(asks, key=_ask_key)
    pairs: list[tuple[Order, Order, int]] = []
    i = j = 0
    bid_left = bids[0].quantity if bids else 0
    ask_left = asks[0].quantity if asks else 0
    while i < len(bids) and j < len(asks) and _compatible(bids[i], asks[j], fee):
        q = min(bid_left, ask_left)
        pairs.append((bids[i], asks[j], q))
        bid_left -= q
        ask_left -= q
        if bid_left == 0:
            i += 1
            bid_left = bids[i].quantity if i < len(bids) else 0
        if ask_left == 0:
            j += 1
            ask_left = asks[j].quantity if j < len(asks) else 0
    if not pairs:
        return Clearing(None, [])
    lo, hi = pairs[-1][1].price + fee, pairs[-1][0].price  # the marginal ask (as the buyer pays it) and bid
    if i < len(bids):  # the first bid left out, or the marginal one's unfilled part
        lo = max(lo, bids[i].price)
    if j < len(asks):
        hi = min(hi, asks[j].price + fee)
    price = ((lo // TICK + hi // TICK) // 2) * TICK
    return Clearing(price, [Fill(bid.id, ask.id, bid.owner, ask.owner, q, price, fee) for bid, ask, q in pairs])


# --------------------------------------------------------------------------------------------------
# delivery of forward sales
# --------------------------------------------------------------------------------------------------


class Delivery(NamedTuple):
    """What one forward sale turned into: Wh delivered and money compensating the shortfall."""

    buyer: str
    energy_wh: int
    compensation: int  # token base units, from the seller's collateral


def settle_delivery(sold: Sequence[tuple[str, int]], delivered_wh: int, retail: int) -> list[Delivery]:
    """Settle one seller's forward (collateral-backed) sales of one interval against its delivery.

    ``sold`` is the list of ``(buyer, quantity_wh)`` in the order the trades happened;
    ``delivered_wh`` is what the seller delivers, ``min(total sold, what it had)``, so at most the
    total sold. Energy goes to the first trades first: trade ``k`` gets
    ``given_k = min(q_k, left)`` Wh, ``left`` being what earlier trades left of ``delivered_wh``,
    and the shortfall is compensated at the retail price, ``(q_k - given_k) * retail // 1000``
    (what the buyer pays its supplier instead). One :class:`Delivery` ``(buyer, energy_wh,
    compensation)`` per entry of ``sold``, in order; the energy sums to ``delivered_wh`` and the
    compensation to ``(total sold - delivered_wh) * retail // 1000``.
    """
    retail = _integer(retail, "retail price (per kWh)")
    if retail < 0:
        raise GridshareError(f"retail price is negative: {retail}")
    _on_tick(retail, "retail price")
    quantities = []
    for buyer, quantity in sold:
        q = _integer(quantity, f"quantity sold to {buyer!r} (Wh)")
        if q < 0:
            raise GridshareError(f"quantity sold to {buyer!r} is negative: {q} Wh")
        quantities.append(q)
    left = _integer(delivered_wh, "delivered energy (Wh)")
    if not 0 <= left <= sum(quantities):
        raise GridshareError(f"delivered energy {left} Wh is outside 0..{sum(quantities)} (the total sold)")
    out: list[Delivery] = []
    for (buyer, _), q in zip(sold, quantities):
        given = min(q, left)
        left -= given
        out.append(Delivery(buyer, given, _money(q - given, retail)))
    return out
