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


def batch_clearing(orders: list[SignedOrder], grid_fee: int,
                   backed: Callable[[SignedOrder], int] | None = None) -> Clearing:
    """What ``settleBatch`` does with one interval's orders, in pure Python: each order capped by
    ``backed(order)`` (what backs it when the batch runs: a bid's import not yet claimed and
    deposit at its limit, an ask's crypto-kWh; default: its quantity), then
    :func:`~gridshare.domain.matching.clear_uniform` with the lists' order (:func:`~gridshare.protocol.orders.batch_lists`)
    as time priority. The fills' ``bid_id``/``ask_id`` are ranks in that order (bids first), their
    buyers and sellers the owners' addresses; a clearing without price: the batch reverts
    ``BatchAuctionEmpty``."""
    book = []
    bids, asks = batch_lists(orders)
    for rank, s in enumerate(bids + asks):
        quantity = min(s.order.quantity_wh, s.order.quantity_wh if backed is None else backed(s))
        if quantity > 0:
            side = EngineSide.BID if s.order.side == Side.BID else EngineSide.ASK
            book.append(EngineOrder(rank, s.owner, side, s.order.price, quantity))
    return clear_uniform([o for o in book if o.side is EngineSide.BID],
                         [o for o in book if o.side is EngineSide.ASK], grid_fee)


def orders_that_matter(orders: list[SignedOrder], grid_fee: int,
                       backed: Callable[[SignedOrder], int] | None = None) -> list[SignedOrder]:
    """The orders a batch needs to settle at the same price with the same fills as all of
    ``orders`` (``backed`` as in :func:`batch_clearing`): those that trade, and on each side the
    first one left out (it bounds the clearing range). The others are priced worse than the
    first one left out: the walk stops before them and the price ignores them, so sending them
    only costs their gas (~24,000 each: calldata, digest, signature). ``[]`` when nothing trades.
    In the lists' order."""
    clearing = batch_clearing(orders, grid_fee, backed)
    if clearing.price is None:
        return []
    traded = {f.bid_id for f in clearing.fills} | {f.ask_id for f in clearing.fills}
    bids, asks = batch_lists(orders)
    kept = []
    rank = 0
    for side in (bids, asks):
        first_left_out = True
        for s in side:
            if rank in traded:
                kept.append(s)
            elif first_left_out and (backed is None or min(s.order.quantity_wh, backed(s)) > 0):
                kept.append(s)
                first_left_out = False
            rank += 1
    return kept
