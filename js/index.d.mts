// Types of index.mjs, the public surface of @gridshare/client.
export { abis, contractNames, enums } from "./contracts.mjs";
export type { ContractName, Hex, Manifest, ManifestContract, ManifestWith } from "./contracts.mjs";
export { DOMAIN_NAME, DOMAIN_VERSION, READINGS_TYPES, asCallArg, domainOf, readingsDigest, signRun, unpackEnergy }
  from "./readings.mjs";
export type { Integer, ReadingsDomain, Run, SignedReadingsArg, SignedRun } from "./readings.mjs";
export { ORDER_DOMAIN_NAME, ORDER_DOMAIN_VERSION, ORDER_TYPES, SIDES, ORDER_BYTES, orderDigest, orderDomainOf,
  packOrders, signOrder, unpackFills } from "./orders.mjs";
export type { Order, OrderDomain, SignedOrder } from "./orders.mjs";
