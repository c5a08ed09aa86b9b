"""The batch engine (gridshare.domain.batch): a relayer that sends only the orders that matter gets
the price and fills of the whole batch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.domain.batch import batch_clearing, orders_that_matter
from gridshare.protocol.market import Side
from gridshare.protocol.orders import Order, SignedOrder

FEE = 10_000
OWNERS = [f"0x{k:040x}" for k in range(1, 9)]

# (owner, side, price in ticks, quantity, backing), one order per owner and side
BOOKS = st.lists(st.tuples(st.sampled_from(OWNERS), st.sampled_from([Side.BID, Side.ASK]), st.integers(40, 252),
                           st.integers(1, 400), st.one_of(st.just(0), st.integers(1, 400))),
                 max_size=14, unique_by=lambda o: (o[0], o[1]))


def _signed(book) -> tuple[list[SignedOrder], dict]:
    orders, backing = [], {}
    for k, (owner, side, price, quantity, backed) in enumerate(book):
        s = SignedOrder(Order(owner, 7, side, price * 1000, quantity), b"", b"", k.to_bytes(32, "big")[::-1])
        orders.append(s)
        backing[s.digest] = backed
    return orders, backing


def _outcome(clearing):
    return clearing.price, [(f.buyer, f.seller, f.quantity_wh) for f in clearing.fills]


@settings(max_examples=400, deadline=None)
@given(book=BOOKS, capped=st.booleans())
def test_the_orders_that_matter_clear_as_the_whole_batch(book, capped):
    orders, backing = _signed(book)
    backed = (lambda s: backing[s.digest]) if capped else None
    kept = orders_that_matter(orders, FEE, backed)
    whole = batch_clearing(orders, FEE, backed)
    if whole.price is None:
        assert kept == []
        return
    assert _outcome(batch_clearing(kept, FEE, backed)) == _outcome(whole)
    # at most the traded orders and one left out on each side
    traded = {(f.buyer, Side.BID) for f in whole.fills} | {(f.seller, Side.ASK) for f in whole.fills}
    assert traded <= {(s.owner, s.order.side) for s in kept}
    assert len(kept) <= len(traded) + 2


def test_worse_priced_orders_are_left_out_and_the_first_ones_kept():
    """Bids 10, 8, 5 and asks 2, 9, 11 (1 Wh each, no fee): bid 10 buys ask 2; bid 8 and ask 9,
    the first left out, set the range [8, 9] (price 8.5 floored to the tick: 8); bid 5 and ask 11
    change nothing and are not sent."""
    book = [(OWNERS[0], Side.BID, 10, 1, 1), (OWNERS[1], Side.BID, 8, 1, 1), (OWNERS[2], Side.BID, 5, 1, 1),
            (OWNERS[3], Side.ASK, 2, 1, 1), (OWNERS[4], Side.ASK, 9, 1, 1), (OWNERS[5], Side.ASK, 11, 1, 1)]
    orders, _ = _signed(book)
    kept = orders_that_matter(orders, 0)
    assert [(s.owner, s.order.price) for s in kept] == [(OWNERS[0], 10_000), (OWNERS[1], 8_000),
                                                        (OWNERS[3], 2_000), (OWNERS[4], 9_000)]
    assert _outcome(batch_clearing(kept, 0)) == _outcome(batch_clearing(orders, 0)) == (
        8_000, [(OWNERS[0], OWNERS[3], 1)])


def test_the_order_bounding_the_range_is_the_first_left_out_that_is_backed():
    """Bid 10 buys the only ask (2, 1 Wh). Bid 9 is backed by nothing, so bid 8, the first left out
    that could trade, bounds the range: [8, 10], price 9; without it the range would be [2, 10]."""
    book = [(OWNERS[0], Side.BID, 10, 1, 1), (OWNERS[1], Side.BID, 9, 1, 0), (OWNERS[2], Side.BID, 8, 1, 1),
            (OWNERS[3], Side.ASK, 2, 1, 1)]
    orders, backing = _signed(book)
    kept = orders_that_matter(orders, 0, lambda s: backing[s.digest])
    assert [s.owner for s in kept] == [OWNERS[0], OWNERS[2], OWNERS[3]]
    assert _outcome(batch_clearing(kept, 0)) == (9_000, [(OWNERS[0], OWNERS[3], 1)])
