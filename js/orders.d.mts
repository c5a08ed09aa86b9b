// Types of orders.mjs: market orders signed off-chain for the community's BatchAuction (ethers v6).
import type { Signer } from "ethers";
import type { Hex, ManifestWith } from "./contracts.mjs";
import type { Integer } from "./readings.mjs";

export declare const ORDER_DOMAIN_NAME: "gridshare BatchAuction";
export declare const ORDER_DOMAIN_VERSION: "1";
/** An order's side as the contract numbers it (IBatchAuction.Side). */
export declare const SIDES: { bid: 0; ask: 1 };

/** The EIP-712 type of an order:
 *  Order(address owner,uint256 intervalId,uint8 side,uint256 price,uint256 quantityWh,uint256 salt). */
export declare const ORDER_TYPES: {
  Order: [
    { name: "owner"; type: "address" },
    { name: "intervalId"; type: "uint256" },
    { name: "side"; type: "uint8" },
    { name: "price"; type: "uint256" },
    { name: "quantityWh"; type: "uint256" },
    { name: "salt"; type: "uint256" },
  ];
};

/** The EIP-712 domain of a deployment's BatchAuction. */
export interface OrderDomain {
  name: typeof ORDER_DOMAIN_NAME;
  version: typeof ORDER_DOMAIN_VERSION;
  chainId: bigint;
  verifyingContract: string;
}

/** A market order for one interval: `price` per kWh in payment-token base units. A side other than
 *  these throws. */
export interface Order {
  owner: string;
  intervalId: Integer;
  side: "bid" | "ask" | 0 | 1 | 0n | 1n;
  price: Integer;
  quantityWh: Integer;
  salt: Integer;
}

/** An order with its owner's compact (EIP-2098) signature, as gridshare's files of signed orders hold it. */
export type SignedOrder = Order & { r: string; vs: string };

/** The bytes of one packed order in `settleBatch`'s lists (`BatchAuction.ORDER_BYTES`). */
export declare const ORDER_BYTES: 109;

/** The EIP-712 domain of the BatchAuction of the deployment a manifest describes. */
export declare function orderDomainOf(manifest: ManifestWith<"BatchAuction">): OrderDomain;

/** The digest the owner signs: equal to `BatchAuction.orderDigest(intervalId, order)`. */
export declare function orderDigest(manifest: ManifestWith<"BatchAuction">, order: Order): Hex;

/** Signs `order` with its owner's key (an ethers Wallet; a different owner throws); returns it with
 *  `side` as "bid" or "ask" and the signature's `r` and `vs`. */
export declare function signOrder<O extends Order>(
  wallet: Pick<Signer, "signTypedData"> & { readonly address: string },
  manifest: ManifestWith<"BatchAuction">,
  order: O,
): Promise<Omit<O, "side"> & { side: "bid" | "ask"; r: Hex; vs: Hex }>;

/** One side's list for `settleBatch(intervalId, bids, asks)`: the signed orders (in the batch's order)
 *  packed back to back, `ORDER_BYTES` each (owner, price uint96, quantityWh uint40, salt uint64, r, vs).
 *  Throws if a field does not fit. */
export declare function packOrders(signedOrders: readonly SignedOrder[]): Hex;

/** The trades of a BatchSettled event's `fills` (45 bytes a trade: buyer, seller, uint40 Wh). Throws if
 *  its length is not a multiple of 45 bytes. */
export declare function unpackFills(fills: string): { buyer: Hex; seller: Hex; quantityWh: bigint }[];
