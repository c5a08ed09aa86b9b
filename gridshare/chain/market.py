"""The community's EnergyMarket from Python: orders, books, trades, settlement and claims.

Prices are payment-token base units per kWh (multiples of :data:`gridshare.domain.matching.TICK`),
quantities Wh. :func:`place` takes care of what an order needs first: the payment token's
allowance for a bid or a forward ask, the market's approval over the seller's tokens for an ask,
and the insertion hint (the last open order at least as good), so a placement costs no search.
The same rules, without a chain, are in :mod:`gridshare.domain.matching`.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.logs import DISCARD

from gridshare.chain.deployment import Community, ContractReverted
from gridshare.errors import GridshareError
from gridshare.protocol.market import AuctionStage, Backing, Side
from gridshare.protocol.units import UINT256_MAX as MAX_UINT

__all__ = [
    "Backing",
    "BookOrder",
    "Closed",
    "Placed",
    "Side",
    "Trade",
    "book",
    "cancel",
    "claim",
    "close_interval",
    "hint",
    "place",
    "prepare",
    "trades",
    "unredeemable",
]

#: refusals that :func:`place` fixes itself (approvals) or explains (funds)
_FUNDING = {"ERC20InsufficientAllowance", "ERC20InsufficientBalance", "ERC1155MissingApprovalForAll"}


@dataclass(frozen=True)
class BookOrder:
    id: int
    owner: str
    side: Side
    backing: Backing
    interval_id: int
    price: int  # per kWh
    remaining_wh: int

    @classmethod
    def from_view(cls, view) -> BookOrder:
        oid, owner, side, backing, interval_id, price, remaining = view
        return cls(oid, owner, Side(side), Backing(backing), interval_id, price, remaining)


@dataclass(frozen=True)
class Trade:
    interval_id: int
    bid_id: int
    ask_id: int
    quantity_wh: int
    price: int  # what the buyer pays per kWh; the seller gets it less the grid fee
    block: int


@dataclass(frozen=True)
class Placed:
    order_id: int
    trades: list[Trade]
    gas_used: int


def book(c: Community, interval_id: int, side: Side) -> list[BookOrder]:
    """The open orders of one side of an interval's book, best first."""
    return [BookOrder.from_view(v) for v in c.market.functions.book(interval_id, int(side)).call()]


def hint(orders: list[BookOrder], side: Side, price: int) -> int:
    """The id of the last order of ``orders`` (one side of a book, best first) that a new order at
    ``price`` rests behind, 0 if it would be the best."""
    after = 0
    for o in orders:
        if (o.price >= price) if side == Side.BID else (o.price <= price):
            after = o.id
        else:
            break
    return after


def _trades_of(c: Community, receipt) -> list[Trade]:
    return [Trade(e.args.intervalId, e.args.bidId, e.args.askId, e.args.quantityWh, e.args.price, e.blockNumber)
            for e in c.market.events.Traded().process_receipt(receipt, errors=DISCARD)]


def _ensure_allowance(c: Community, account: str, needed: int) -> None:
    missing = needed - c.market.functions.claimable(account).call()
    if missing <= 0:
        return
    balance = c.payment.functions.balanceOf(account).call()
    if balance < missing:
        symbol = c.payment.functions.symbol().call()
        raise GridshareError(
            f"{account} needs {missing} more {symbol} base units for this order and holds {balance}"
            + (": get test euros with `gridshare market faucet`" if symbol == "tEUR" else "")
        )
    if c.payment.functions.allowance(account, c.market.address).call() < missing:
        c.transact(c.payment.functions.approve(c.market.address, MAX_UINT), account)


def _ensure_token_approval(c: Community, account: str) -> None:
    if not c.token.functions.isApprovedForAll(account, c.market.address).call():
        c.transact(c.token.functions.setApprovalForAll(c.market.address, True), account)


def prepare(c: Community, account: str, *, bids: bool, asks: bool) -> None:
    """What ``account``'s orders need once: the market's allowance over its payment token (bids,
    forward asks) and its approval over its crypto-kWh (asks). Done only where missing."""
    if bids and c.payment.functions.allowance(account, c.market.address).call() == 0:
        c.transact(c.payment.functions.approve(c.market.address, MAX_UINT), account)
    if asks:
        _ensure_token_approval(c, account)


def place(c: Community, account: str, side: Side, interval_id: int, price: int, quantity_wh: int,
          backing: Backing | None = None, *, after: int | None = None, prepared: bool = False,
          gas: int | None = None) -> Placed:
    """Places an order for ``account`` (approving what it needs first) and returns its id, the
    trades it made at once (continuous design) and the gas of the placement itself. An ask is
    backed by ``Backing.ENERGY`` (default) or ``Backing.COLLATERAL`` (a forward sale).

    A client placing many orders (an agent, the simulation) keeps its own view of the book and
    passes ``after``, the insertion hint (:func:`hint`; default: the book is read), and
    ``prepared=True`` once :func:`prepare` made the approvals and the account holds the funds: the
    order is then sent without checks first (a refusal is still named, from a replay), with a gas
    cap ``gas``."""
    backing = Backing.PAYMENT if side == Side.BID else (Backing.ENERGY if backing is None else backing)
    if after is None:
        after = hint(book(c, interval_id, side), side, price)
    if side == Side.BID:
        call = c.market.functions.placeBid(interval_id, price, quantity_wh, after)
    else:
        call = c.market.functions.placeAsk(interval_id, price, quantity_wh, int(backing), after)
    refusal = None
    if not prepared:
        refusal = c.simulate(call, account)  # the contract's own reasons first (price, band, gate...)
        if refusal is not None and refusal.name not in _FUNDING:
            raise ContractReverted(refusal)
        if side == Side.BID:
            _ensure_allowance(c, account, quantity_wh * price // 1000)
        else:
            if backing == Backing.COLLATERAL:
                _ensure_allowance(c, account, quantity_wh * c.market.functions.prices().call()[1] // 1000)
            _ensure_token_approval(c, account)  # settlement of a forward sale pulls the tokens too
    receipt = c.transact(call, account, gas, simulated=refusal is None)
    [event] = c.market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
    return Placed(event.args.orderId, _trades_of(c, receipt), receipt["gasUsed"])


def cancel(c: Community, account: str, order_id: int) -> int:
    """Cancels what is left of the order; returns the Wh cancelled."""
    receipt = c.transact(c.market.functions.cancel(order_id), account)
    [event] = c.market.events.OrderCancelled().process_receipt(receipt, errors=DISCARD)
    return event.args.remainingWh


def trades(c: Community, interval_id: int | None = None, from_block: int = 0) -> list[Trade]:
    """Every trade of the market (or of one interval), oldest first, from its events."""
    argument_filters = {} if interval_id is None else {"intervalId": interval_id}
    logs = c.market.events.Traded().get_logs(from_block=from_block, argument_filters=argument_filters)
    return [Trade(e.args.intervalId, e.args.bidId, e.args.askId, e.args.quantityWh, e.args.price, e.blockNumber)
            for e in logs]


@dataclass(frozen=True)
class Closed:
    """What :func:`close_interval` did."""

    cleared: bool  # ran the call auction
    settled: list[str]  # sellers whose forward sales it settled
    expired: list[int]  # orders it refunded


#: Orders one ``clear`` call walks, and deliveries one ``settle`` call hands out: each page stays
#: far below a 30M-gas block (a fill that records a forward delivery costs ~70k gas, a delivery ~30k).
CLEAR_PAGE = 250
SETTLE_PAGE = 500
EXPIRE_PAGE = 200  # orders refunded per ``expire`` call (~40-60k gas each)


def close_interval(c: Community, interval_id: int, sender: str, sellers: list[str] | None = None) -> Closed:
    """Everything an interval needs once its gate closed: clears the call auction (if the design
    has one and nobody cleared it; page by page, resuming a clearing someone else started),
    settles the forward sales of ``sellers`` (default: the sender; only the seller itself may start
    before the settlement deadline), page by page, and expires the orders left open. Each step is
    skipped when already done, so running it twice, or after a crash, is harmless."""
    m = c.market.functions
    now = c.chain.w3.eth.get_block("latest")["timestamp"]
    closes = m.gateClosure(interval_id).call()
    if now < closes:
        raise GridshareError(f"interval {interval_id} still trades until its gate closes at unix {closes}")
    cleared = False
    if m.design().call() == 1:
        stage = AuctionStage(m.auctionStage(interval_id).call())
        if stage == AuctionStage.OPEN and now >= m.settlementDeadline(interval_id).call():
            stage = AuctionStage.CLEARED  # void: nobody cleared it in time, its orders expire
        while stage != AuctionStage.CLEARED:
            c.transact(m.clear(interval_id, CLEAR_PAGE), sender)
            stage = AuctionStage(m.auctionStage(interval_id).call())
            cleared = True
    settled = []
    for seller in sellers if sellers is not None else [sender]:
        sold, done = m.forwardSale(interval_id, seller).call()[:2]
        if sold and not done:
            while not done:
                c.transact(m.settle(interval_id, seller, SETTLE_PAGE), sender)
                done = m.forwardSale(interval_id, seller).call()[1]
            settled.append(seller)
    open_ids = [o.id for side in Side for o in book(c, interval_id, side)]
    for first in range(0, len(open_ids), EXPIRE_PAGE):
        c.transact(m.expire(open_ids[first:first + EXPIRE_PAGE]), sender)
    return Closed(cleared, settled, open_ids)


def unredeemable(c: Community, account: str, interval_id: int) -> int:
    """Wh of the interval ``account`` holds beyond what its verified import can still consume
    (what the settlement rule has it sell in the interval's batch, docs/market.md)."""
    balance = c.token.functions.balanceOf(account, interval_id).call()
    return max(0, balance - c.token.functions.redeemable(account, interval_id).call())


def claim(c: Community, account: str, interval_ids: list[int] | None = None, *,
          money: bool = True) -> tuple[int, dict[int, int]]:
    """Pays out ``account``'s claimable money (unless ``money=False``) and tokens (of
    ``interval_ids``, default: every interval it placed orders in). Returns (money, {interval id:
    Wh}) paid out: (0, {}) when there was nothing to claim."""
    m = c.market.functions
    if interval_ids is None:
        placed = c.market.events.OrderPlaced().get_logs(from_block=c.deployed_at, argument_filters={"owner": account})
        interval_ids = sorted({e.args.intervalId for e in placed})
    energy = {i: m.claimableEnergy(account, i).call() for i in interval_ids}
    energy = {i: wh for i, wh in energy.items() if wh}
    paid = m.claimable(account).call() if money else 0
    if paid:
        c.transact(m.withdraw(), account)
    if energy:
        c.transact(m.claimEnergy(list(energy)), account)
    return paid, energy
