// @gridshare/client: the published contracts (ABIs, enums) and the EIP-712 signers of readings and
// orders. Types: index.d.mts. Without ethers (viem, or ABIs only): import "@gridshare/client/contracts".
export { abis, contractNames, enums } from "./contracts.mjs";
export { DOMAIN_NAME, DOMAIN_VERSION, READINGS_TYPES, asCallArg, domainOf, readingsDigest, signRun, unpackEnergy }
  from "./readings.mjs";
export { ORDER_DOMAIN_NAME, ORDER_DOMAIN_VERSION, ORDER_TYPES, SIDES, ORDER_BYTES, orderDigest, orderDomainOf,
  packOrders, signOrder, unpackFills } from "./orders.mjs";
