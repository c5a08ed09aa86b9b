"""The community's ``BatchAuction``: orders signed off-chain, one batch per interval settled in one
transaction that anyone may send (docs/market.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from web3.logs import DISCARD
from web3.types import RPCEndpoint

from gridshare.chain.deployment import Community
from gridshare.errors import GridshareError
from gridshare.protocol.market import Side
from gridshare.protocol.orders import BatchFill, Order, SignedOrder, batch_lists, signed_from_signature, unpack_fills
from gridshare.protocol.units import UINT256_MAX


@dataclass(frozen=True)
class Batch:
    """A settled batch: the uniform price per kWh, the Wh traded, every trade, the gas it took."""

    interval_id: int
    price: int
    quantity_wh: int
    fills: list[BatchFill]
    gas_used: int


def settle_batch(c: Community, interval_id: int, orders: list[SignedOrder], sender: str) -> Batch:
    """Sends the interval's batch: its signed orders listed as ``settleBatch`` requires
    (:func:`gridshare.protocol.orders.batch_lists`)."""
    bids, asks = batch_lists(orders)
    call = c.batch.functions.settleBatch(interval_id, b"".join(b.packed() for b in bids),
                                         b"".join(a.packed() for a in asks))
    receipt = c.transact(call, sender)
    [event] = c.batch.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
    return Batch(interval_id, event.args.price, event.args.quantityWh, unpack_fills(event.args.fills),
                 receipt["gasUsed"])


def backing(c: Community, interval_id: int, orders: list[SignedOrder]) -> dict[bytes, int]:
    """What backs each of one interval's orders now, by digest, as ``settleBatch`` caps them: a
    bid by its owner's import not yet consumed (``EnergyToken.tradeBacking``) and deposit at the
    bid's price, an ask by its owner's crypto-kWh of the interval."""
    bids = [s for s in orders if s.order.side == Side.BID]
    asks = [s for s in orders if s.order.side == Side.ASK]
    redeemable, balances = c.token.functions.tradeBacking(interval_id, [s.owner for s in bids],
                                                          [s.owner for s in asks]).call()
    out = {s.digest: wh for s, wh in zip(asks, balances)}
    for s, wh in zip(bids, redeemable):
        out[s.digest] = min(wh, c.batch.functions.claimable(s.owner).call() // max(1, s.order.price // 1000))
    return out


def deposit(c: Community, account: str, amount: int) -> int:
    """Deposits ``amount`` of ``account``'s payment token in the batch auction (what its signed bids
    spend), approving the auction first where needed; returns what it may now spend."""
    if c.payment.functions.allowance(account, c.batch.address).call() < amount:
        c.transact(c.payment.functions.approve(c.batch.address, UINT256_MAX), account)
    c.transact(c.batch.functions.deposit(amount), account)
    return c.batch.functions.claimable(account).call()


def withdraw(c: Community, account: str) -> int:
    """Withdraws what ``account`` may claim in the batch auction (its deposit left, its sales'
    proceeds); returns the amount (0: nothing to claim, nothing sent)."""
    amount = c.batch.functions.claimable(account).call()
    if amount:
        c.transact(c.batch.functions.withdraw(), account)
    return amount


def sign_with_node(c: Community, order: Order) -> SignedOrder:
    """``order`` signed by the node for an account it holds (a devnet's dev accounts:
    ``eth_signTypedData_v4``)."""
    typed = order.typed_data(c.chain.chain_id, c.batch.address)
    response = c.chain.w3.provider.make_request(RPCEndpoint("eth_signTypedData_v4"), [order.owner, json.dumps(typed)])
    if "error" in response or not response.get("result"):
        raise GridshareError(f"the node cannot sign for {order.owner}: use --keystore or GRIDSHARE_PRIVATE_KEY")
    signature = bytes.fromhex(str(response["result"]).removeprefix("0x"))
    return signed_from_signature(order, signature, c.chain.chain_id, c.batch.address)
