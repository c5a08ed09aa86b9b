"""A batch of signed orders cleared as ``BatchAuction.settleBatch`` clears it, in pure Python: the
engine the contract is checked against (tests, simulations)."""

from __future__ import annotations

from typing import Callable

from gridshare.domain.matching import Clearing, clear_uniform
from gridshare.domain.matching import Order as EngineOrder
from gridshare.domain.matching import Side as EngineSide
from gridshare.protocol.market import Side
from gridshare.protocol.orders import SignedOrder, batch_lists

__all__ = ["batch_clearing", "orders_that_matter"]


def _ranked(orders: list[SignedOrder], backed: Callable[[SignedOrder], int] | None) -> list[tuple[SignedOrder, int]]:
    """The orders in the lists' order (:func:`~gridshare.protocol.orders.batch_lists`: bids, then
    asks), each with the Wh it may trade: its quantity capped by ``backed(order)``."""
    bids, asks = batch_lists(orders)
    return [(s, s.order.quantity_wh if backed is None else min(s.order.quantity_wh, backed(s))) for s in bids + asks]


def _clear(ranked: list[tuple[SignedOrder, int]], grid_fee: int) -> Clearing:
    book = [EngineOrder(rank, s.owner, EngineSide.BID if s.order.side == Side.BID else EngineSide.ASK, s.order.price, wh)
            for rank, (s, wh) in enumerate(ranked) if wh > 0]
    return clear_uniform([o for o in book if o.side is EngineSide.BID],
                         [o for o in book if o.side is EngineSide.ASK], grid_fee)


def batch_clearing(orders: list[SignedOrder], grid_fee: int,
                   backed: Callable[[SignedOrder], int] | None = None) -> Clearing:
    """What ``settleBatch`` does with one interval's orders, in pure Python: each order capped by
    ``backed(order)`` (what backs it when the batch runs: a bid's import not yet claimed and
    deposit at its limit, an ask's crypto-kWh; default: its quantity), then
    :func:`~gridshare.domain.matching.clear_uniform` with the lists' order
    (:func:`~gridshare.protocol.orders.batch_lists`) as time priority. The fills' ``bid_id``/``ask_id``
    are ranks in that order (bids first), their buyers and sellers the owners' addresses; a
    clearing without price: the batch reverts ``BatchAuctionEmpty``."""
    return _clear(_ranked(orders, backed), grid_fee)


def orders_that_matter(orders: list[SignedOrder], grid_fee: int,
                       backed: Callable[[SignedOrder], int] | None = None) -> list[SignedOrder]:
    """The orders a batch needs to settle at the same price with the same fills as all of
    ``orders`` (``backed`` as in :func:`batch_clearing`): those that trade, and on each side the
    first one left out that may trade something (it bounds the clearing range). The others are
    priced worse than that one: the walk stops before them and the price ignores them, so sending
    them only costs their gas (~24,000 each: calldata, digest, signature). ``[]`` when nothing
    trades. In the lists' order."""
    ranked = _ranked(orders, backed)
    clearing = _clear(ranked, grid_fee)
    if clearing.price is None:
        return []
    traded = {f.bid_id for f in clearing.fills} | {f.ask_id for f in clearing.fills}
    kept, bounded = [], set()  # bounded: the sides whose first order left out is kept
    for rank, (s, wh) in enumerate(ranked):
        if rank in traded:
            kept.append(s)
        elif wh > 0 and s.order.side not in bounded:
            kept.append(s)
            bounded.add(s.order.side)
    return kept
