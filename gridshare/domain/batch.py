"""A batch of signed orders cleared as ``BatchAuction.settleBatch`` clears it, in pure Python: the
engine the contract is checked against (tests, simulations)."""

from __future__ import annotations

from typing import Callable

from gridshare.domain.matching import Clearing, clear_uniform
from gridshare.domain.matching import Order as EngineOrder
from gridshare.domain.matching import Side as EngineSide
from gridshare.protocol.market import Side
from gridshare.protocol.orders import SignedOrder, batch_lists

__all__ = ["batch_clearing"]


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
