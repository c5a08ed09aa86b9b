"""Market orders signed off-chain: the EIP-712 ``Order`` of ``BatchAuction`` (domain "gridshare
BatchAuction", version "1"), signing, and the order a batch lists them in.

A member signs
``Order(address owner,uint256 intervalId,uint8 side,uint256 price,uint256 quantityWh,uint256 salt)``
for the community's ``BatchAuction`` (its address is the domain's ``verifyingContract``): ``side``
0 a bid, 1 an ask (``IEnergyMarket.Side``); ``price`` per kWh in payment-token base units, on the
market's tick (1,000) and within its band; ``quantityWh`` at least the market's minimum order;
``salt`` any number that tells two otherwise equal orders apart. The signature travels in the
compact form of EIP-2098 (``r``, ``vs``). Whoever holds signed orders may send an interval's batch
once its gate closed (:func:`gridshare.chain.batch.settle_batch`); docs/protocol.md is the reference.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from gridshare.errors import GridshareError
from gridshare.protocol.market import Side

DOMAIN_NAME = "gridshare BatchAuction"
DOMAIN_VERSION = "1"
ORDER_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "intervalId", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "price", "type": "uint256"},
    {"name": "quantityWh", "type": "uint256"},
    {"name": "salt", "type": "uint256"},
]


@dataclass(frozen=True)
class Order:
    """An order of ``owner`` for one interval's batch, unsigned."""

    owner: str
    interval_id: int
    side: Side
    price: int  # per kWh
    quantity_wh: int
    salt: int = 0

    def typed_data(self, chain_id: int, batch_auction: str) -> dict:
        """The full EIP-712 message its owner signs for the ``BatchAuction`` at ``batch_auction``."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Order": ORDER_TYPE,
            },
            "primaryType": "Order",
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
                       "verifyingContract": batch_auction},
            "message": {"owner": self.owner, "intervalId": self.interval_id, "side": int(self.side), "price": self.price,
                        "quantityWh": self.quantity_wh, "salt": self.salt},
        }

    def digest(self, chain_id: int, batch_auction: str) -> bytes:
        """What is signed (``BatchAuction.orderDigest``); also the batch's tie-break among equal prices."""
        signable = encode_typed_data(full_message=self.typed_data(chain_id, batch_auction))
        return keccak(b"\x19" + signable.version + signable.header + signable.body)

    def sign(self, key, chain_id: int, batch_auction: str) -> SignedOrder:
        """Signed with ``eth_account`` (``key``: a private key or a LocalAccount, the owner's)."""
        key = getattr(key, "key", key)
        if Account.from_key(key).address.lower() != self.owner.lower():
            raise GridshareError(f"this key is not {self.owner}'s: an order is signed by its owner")
        signed = Account.sign_typed_data(key, full_message=self.typed_data(chain_id, batch_auction))
        return SignedOrder(self, signed.r.to_bytes(32, "big"), _compact(signed.s, signed.v),
                           self.digest(chain_id, batch_auction))


def new_order(owner: str, interval_id: int, side: Side, price: int, quantity_wh: int) -> Order:
    """An order with a random salt (two orders of the same terms stay apart)."""
    return Order(owner, interval_id, Side(side), price, quantity_wh, secrets.randbits(64))


def _compact(s: int, v: int) -> bytes:
    """EIP-2098: ``vs`` = the parity of ``v`` in the top bit of ``s``."""
    if v not in (27, 28):
        raise GridshareError(f"a signature's v is 27 or 28, got {v}")
    return ((v - 27) << 255 | s).to_bytes(32, "big")


@dataclass(frozen=True)
class SignedOrder:
    order: Order
    r: bytes
    vs: bytes
    digest: bytes

    def as_call_arg(self) -> tuple:
        """The ``IBatchAuction.SignedOrder`` tuple."""
        o = self.order
        return (o.owner, int(o.side), o.price, o.quantity_wh, o.salt, self.r, self.vs)

    @property
    def owner(self) -> str:
        return self.order.owner


def batch_lists(orders: list[SignedOrder]) -> tuple[list[SignedOrder], list[SignedOrder]]:
    """The bids and asks of one interval's batch in the order ``settleBatch`` requires: best price
    first (bids descending, asks ascending), equal prices by digest ascending. Refuses two orders
    of one owner on one side, and orders of several intervals."""
    if len({s.order.interval_id for s in orders}) > 1:
        raise GridshareError("a batch holds the orders of one interval")
    seen: set[tuple[str, Side]] = set()
    for s in orders:
        key = (s.owner.lower(), s.order.side)
        if key in seen:
            raise GridshareError(f"{s.owner} has two {s.order.side.name.lower()}s in this batch: one per side")
        seen.add(key)
    bids = sorted((s for s in orders if s.order.side == Side.BID), key=lambda s: (-s.order.price, s.digest))
    asks = sorted((s for s in orders if s.order.side == Side.ASK), key=lambda s: (s.order.price, s.digest))
    return bids, asks


@dataclass(frozen=True)
class BatchFill:
    """One trade of a settled batch (``BatchSettled.fills``)."""

    buyer: str
    seller: str
    quantity_wh: int


FILL_BYTES = 45  # buyer (20), seller (20), Wh (uint40, big-endian)


def unpack_fills(data: bytes) -> list[BatchFill]:
    """``BatchSettled``'s ``fills``: 45 bytes per trade, in the order the walk matched them."""
    if len(data) % FILL_BYTES:
        raise GridshareError(f"fills are {FILL_BYTES} bytes each, got {len(data)} bytes")
    return [BatchFill(to_checksum_address(data[k:k + 20]), to_checksum_address(data[k + 20:k + 40]),
                      int.from_bytes(data[k + 40:k + 45], "big"))
            for k in range(0, len(data), FILL_BYTES)]
