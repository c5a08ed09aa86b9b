// Market orders signed off-chain for the community's BatchAuction (docs/protocol.md, "Signed
// orders"): the EIP-712 domain and type, the digest, signing with an ethers Wallet, the compact
// (EIP-2098) signature the contract takes, and the decoder of BatchSettled's packed fills.
import { Signature, TypedDataEncoder, getAddress } from "ethers";

export const ORDER_DOMAIN_NAME = "gridshare BatchAuction";
export const ORDER_DOMAIN_VERSION = "1";
export const SIDES = { bid: 0, ask: 1 };
// Order(address owner,uint256 intervalId,uint8 side,uint256 price,uint256 quantityWh,uint256 salt)
export const ORDER_TYPES = {
  Order: [
    { name: "owner", type: "address" },
    { name: "intervalId", type: "uint256" },
    { name: "side", type: "uint8" },
    { name: "price", type: "uint256" },
    { name: "quantityWh", type: "uint256" },
    { name: "salt", type: "uint256" },
  ],
};

// The EIP-712 domain of a deployment's BatchAuction, from its manifest.
export function orderDomainOf(manifest) {
  return {
    name: ORDER_DOMAIN_NAME,
    version: ORDER_DOMAIN_VERSION,
    chainId: BigInt(manifest.chainId),
    verifyingContract: manifest.contracts.BatchAuction.address,
  };
}

// An order as the struct's fields: {owner, intervalId, side ("bid", "ask" or 0, 1), price (per kWh,
// payment-token base units), quantityWh, salt} (integers as numbers, bigints or strings).
function message(order) {
  const side = typeof order.side === "string" ? SIDES[order.side] : Number(order.side);
  if (side !== 0 && side !== 1) throw new Error(`side must be "bid" or "ask", got ${order.side}`);
  return {
    owner: getAddress(order.owner),
    intervalId: BigInt(order.intervalId),
    side,
    price: BigInt(order.price),
    quantityWh: BigInt(order.quantityWh),
    salt: BigInt(order.salt),
  };
}

// The digest the owner signs (equal to BatchAuction.orderDigest(intervalId, order)).
export function orderDigest(manifest, order) {
  return TypedDataEncoder.hash(orderDomainOf(manifest), ORDER_TYPES, message(order));
}

// Signs an order with the owner's ethers Wallet; returns it with {r, vs}, as gridshare's files of
// signed orders hold it (`gridshare market batch` reads them).
export async function signOrder(wallet, manifest, order) {
  const m = message(order);
  if (m.owner !== getAddress(wallet.address)) throw new Error(`this key is not ${m.owner}'s: an order is signed by its owner`);
  const sig = Signature.from(await wallet.signTypedData(orderDomainOf(manifest), ORDER_TYPES, m));
  return { ...order, side: m.side === 0 ? "bid" : "ask", r: sig.r, vs: sig.yParityAndS };
}

// The bytes of one packed order in settleBatch's lists (BatchAuction.ORDER_BYTES).
export const ORDER_BYTES = 109;

// One side's list for settleBatch(intervalId, bids, asks), as 0x hex: the signed orders (already in
// the batch's order) packed back to back, ORDER_BYTES each: owner (20 bytes), price (uint96),
// quantityWh (uint40), salt (uint64), r (32), vs (32); the side is the list's.
export function packOrders(signedOrders) {
  let hex = "0x";
  for (const signed of signedOrders) {
    const m = message(signed);
    const field = (name, value, bytes) => {
      if (value < 0n || value >= 1n << BigInt(8 * bytes)) throw new Error(`an order's ${name} must fit ${8 * bytes} bits to be sent in a batch, got ${value}`);
      return value.toString(16).padStart(2 * bytes, "0");
    };
    const word = (h) => { const x = h.startsWith("0x") ? h.slice(2) : h; if (x.length !== 64) throw new Error(`r and vs are 32 bytes, got ${h}`); return x; };
    hex += m.owner.slice(2).toLowerCase() + field("price", m.price, 12) + field("quantityWh", m.quantityWh, 5)
      + field("salt", m.salt, 8) + word(signed.r) + word(signed.vs);
  }
  return hex;
}

// BatchSettled's fills (a 0x hex string): 45 bytes a trade, buyer (20), seller (20), Wh (uint40).
export function unpackFills(fills) {
  const hex = fills.startsWith("0x") ? fills.slice(2) : fills;
  if (hex.length % 90 !== 0) throw new Error(`fills are 45 bytes each, got ${hex.length / 2} bytes`);
  const out = [];
  for (let k = 0; k < hex.length; k += 90) {
    out.push({ buyer: getAddress("0x" + hex.slice(k, k + 40)), seller: getAddress("0x" + hex.slice(k + 40, k + 80)),
      quantityWh: BigInt("0x" + hex.slice(k + 80, k + 90)) });
  }
  return out;
}
