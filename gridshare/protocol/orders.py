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

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import to_checksum_address

from gridshare.errors import GridshareError
from gridshare.protocol import eip712
from gridshare.protocol.market import Side

#: the bytes of one packed order in ``settleBatch``'s lists (``BatchAuction.ORDER_BYTES``)
ORDER_BYTES = 109
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
        return eip712.typed_data(DOMAIN_NAME, DOMAIN_VERSION, chain_id, batch_auction, "Order", ORDER_TYPE, {
            "owner": self.owner, "intervalId": self.interval_id, "side": int(self.side), "price": self.price,
            "quantityWh": self.quantity_wh, "salt": self.salt})

    def as_struct(self) -> tuple:
        """The ``IBatchAuction.Order`` tuple (``BatchAuction.orderDigest(intervalId, order)``)."""
        return (self.owner, int(self.side), self.price, self.quantity_wh, self.salt)

    def digest(self, chain_id: int, batch_auction: str) -> bytes:
        """What is signed (``BatchAuction.orderDigest``); also the batch's tie-break among equal prices."""
        return eip712.digest(self.typed_data(chain_id, batch_auction))

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

    def packed(self) -> bytes:
        """The order as ``settleBatch`` lists it (:data:`ORDER_BYTES`): owner (20 bytes), price
        (uint96), quantityWh (uint40), salt (uint64), r (32), vs (32); the side is the list's."""
        o = self.order
        for name, value, bits in (("price", o.price, 96), ("quantityWh", o.quantity_wh, 40), ("salt", o.salt, 64)):
            if not 0 <= value < 1 << bits:
                raise GridshareError(f"an order's {name} must fit {bits} bits to be sent in a batch, got {value}")
        return (bytes.fromhex(o.owner.removeprefix("0x")) + o.price.to_bytes(12, "big") + o.quantity_wh.to_bytes(5, "big")
                + o.salt.to_bytes(8, "big") + self.r + self.vs)

    @property
    def owner(self) -> str:
        return self.order.owner

    def signer(self) -> str:
        """The address the signature recovers to (the owner's, if the order is genuine)."""
        vs = int.from_bytes(self.vs, "big")
        v, s = 27 + (vs >> 255), vs & ((1 << 255) - 1)
        try:
            signature = keys.Signature(vrs=(v - 27, int.from_bytes(self.r, "big"), s))
            return signature.recover_public_key_from_msg_hash(self.digest).to_checksum_address()
        except (BadSignature, ValidationError, ValueError):  # a malformed signature recovers to nobody
            return ""


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


# --------------------------------------------------------------------------------------------------
# files of signed orders: a JSON list, one object per order (integers as JSON numbers, bytes as 0x hex)
# --------------------------------------------------------------------------------------------------

ORDER_KEYS = ("owner", "intervalId", "side", "price", "quantityWh", "salt", "r", "vs")


def signed_from_signature(order: Order, signature: bytes, chain_id: int, batch_auction: str) -> SignedOrder:
    """A signed order from a 65-byte ``r || s || v`` signature (e.g. a node's ``eth_signTypedData_v4``)."""
    if len(signature) != 65:
        raise GridshareError(f"a signature is 65 bytes, got {len(signature)}")
    v = signature[64] if signature[64] >= 27 else signature[64] + 27
    s = int.from_bytes(signature[32:64], "big")
    return SignedOrder(order, signature[:32], _compact(s, v), order.digest(chain_id, batch_auction))


def order_to_row(s: SignedOrder) -> dict:
    o = s.order
    return {"owner": o.owner, "intervalId": o.interval_id, "side": Side(o.side).name.lower(), "price": o.price,
            "quantityWh": o.quantity_wh, "salt": o.salt, "r": "0x" + s.r.hex(), "vs": "0x" + s.vs.hex()}


def save_orders(path: Path, orders: list[SignedOrder]) -> None:
    """Writes the orders as a JSON list (the file ``gridshare market batch`` reads)."""
    path.write_text(json.dumps([order_to_row(s) for s in orders], indent=1) + "\n")


def load_orders(path: Path, chain_id: int, batch_auction: str) -> list[SignedOrder]:
    """Signed orders from a JSON file of :data:`ORDER_KEYS` objects; each signature checked here (a
    forged or damaged row is refused in one line naming it)."""
    if not path.exists():
        raise GridshareError(f"{path} not found")
    try:
        rows = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GridshareError(f"{path} is not JSON: {exc}") from None
    if not isinstance(rows, list):
        raise GridshareError(f"{path}: a JSON list of signed orders is expected")
    out = []
    for n, row in enumerate(rows, 1):
        missing = [k for k in ORDER_KEYS if not isinstance(row, dict) or k not in row]
        if missing:
            raise GridshareError(f"{path}, order {n}: missing {', '.join(missing)}")
        try:
            side = Side[str(row["side"]).upper()] if not isinstance(row["side"], int) else Side(row["side"])
            order = Order(to_checksum_address(row["owner"]), int(row["intervalId"]), side, int(row["price"]),
                          int(row["quantityWh"]), int(row["salt"]))
            r, vs = bytes.fromhex(row["r"].removeprefix("0x")), bytes.fromhex(row["vs"].removeprefix("0x"))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise GridshareError(f"{path}, order {n}: {exc}") from None
        signed = SignedOrder(order, r, vs, order.digest(chain_id, batch_auction))
        if signed.signer() != order.owner:
            raise GridshareError(f"{path}, order {n}: not signed by its owner {order.owner} for this chain's "
                                 f"BatchAuction {batch_auction}")
        out.append(signed)
    return out
