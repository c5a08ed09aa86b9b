// Type tests of @gridshare/client, checked by `tsc -p js` (tests/test_js_types.py): every `expect<...>`
// must hold and every `@ts-expect-error` line must be an error, so a declaration gone loose (any,
// number or string where a literal is declared) or wrong fails the check. Nothing here runs.
import type { TypedDataField } from "ethers";
import type {
  Abi, ContractFunctionArgs, ContractFunctionName, ContractFunctionReturnType, DecodeEventLogReturnType,
  TypedDataDefinition,
} from "viem";
import {
  ORDER_TYPES, READINGS_TYPES, SIDES, abis, contractNames, domainOf, enums, orderDomainOf, signOrder, signRun, unpackEnergy,
  type ContractName, type Hex, type Manifest, type Run,
} from "@gridshare/client";
import { abis as abisWithoutEthers } from "@gridshare/client/contracts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
declare function expect<T extends true>(): void;
declare const manifest: Manifest;

// the ABIs: each an abitype Abi, literal, so viem knows every function, argument and result
const everyAbi: { [N in ContractName]: Abi } = abis;
expect<Equal<ContractName, keyof typeof abis>>();
expect<Equal<ContractName, (typeof contractNames)[number]>>();
expect<Equal<typeof abisWithoutEthers, typeof abis>>();
type Registry = typeof abis.MeterRegistry;
expect<Equal<ContractFunctionArgs<Registry, "view", "meterState">, readonly [Hex]>>();
expect<Equal<ContractFunctionReturnType<Registry, "view", "meterState">["nextIntervalStart"], bigint>>();
expect<Equal<ContractFunctionReturnType<Registry, "view", "meter">["owner"], Hex>>();
expect<Equal<DecodeEventLogReturnType<Registry, "ReadingsVerified">["args"]["energyWh"], Hex>>();
expect<Equal<"submitReadings" extends ContractFunctionName<Registry, "nonpayable"> ? true : false, true>>();
// @ts-expect-error: not a function of the registry
expect<Equal<"noSuchFunction" extends ContractFunctionName<Registry> ? true : false, true>>();
// @ts-expect-error: balanceOf is the token's
expect<Equal<"balanceOf" extends ContractFunctionName<Registry> ? true : false, true>>();

// the enums: literal values, one name per member
expect<Equal<(typeof enums.Side)["Bid"], (typeof SIDES)["bid"]>>();
expect<Equal<(typeof enums.Side)["Ask"], (typeof SIDES)["ask"]>>();
expect<Equal<number extends (typeof enums.MeterKind)["Producer"] ? true : false, false>>();
// @ts-expect-error: not a member
enums.MeterKind.Battery;

// the manifest: addresses are hex, TestEuro is on devnets only, a whole manifest serves every signer
expect<Equal<Manifest["contracts"]["MeterRegistry"]["address"], Hex>>();
expect<Equal<Manifest["settings"]["market"]["design"], "continuous" | "auction">>();
// @ts-expect-error: possibly undefined
manifest.contracts.TestEuro.address;
expect<Equal<ReturnType<typeof domainOf>["version"], "2">>();
orderDomainOf(manifest);
// @ts-expect-error: the readings domain needs the registry's address
domainOf({ chainId: 1, contracts: { BatchAuction: { address: "0x" } } });

// the EIP-712 types: literal for viem's typed data, plain arrays for ethers' signTypedData
const ethersTypes: Record<string, TypedDataField[]> = READINGS_TYPES;
const ethersOrderTypes: Record<string, TypedDataField[]> = ORDER_TYPES;
const viemRun: TypedDataDefinition<typeof READINGS_TYPES, "MeterReadings"> = {
  types: READINGS_TYPES, primaryType: "MeterReadings",
  message: { meterId: "0x00", previousEnd: 0n, firstIntervalStart: 0n, importWh: [1], exportWh: [2],
             importRegisterWh: 1n, exportRegisterWh: 2n },
};
const viemWrongRun: TypedDataDefinition<typeof READINGS_TYPES, "MeterReadings"> = {
  types: READINGS_TYPES, primaryType: "MeterReadings",
  // @ts-expect-error: importWh is uint32[]
  message: { meterId: "0x00", previousEnd: 0n, firstIntervalStart: 0n, importWh: ["x"], exportWh: [2],
             importRegisterWh: 1n, exportRegisterWh: 2n },
};

// the signers: the caller's fields kept, the signature added
declare const wallet: Parameters<typeof signOrder>[0];
declare const run: Run & { note: string };
async function signatures(): Promise<void> {
  const signed = await signRun(wallet, manifest, run);
  expect<Equal<typeof signed.signature, Hex>>();
  expect<Equal<typeof signed.note, string>>();
  const order = await signOrder(wallet, manifest, { owner: "0x", intervalId: 1, side: "bid", price: 1, quantityWh: 1, salt: 1 });
  expect<Equal<typeof order.side, "bid" | "ask">>();
  // @ts-expect-error: a side is bid or ask
  await signOrder(wallet, manifest, { owner: "0x", intervalId: 1, side: "buy", price: 1, quantityWh: 1, salt: 1 });
  expect<Equal<ReturnType<typeof unpackEnergy>[number]["exportWh"], bigint>>();
}

export { everyAbi, ethersTypes, ethersOrderTypes, viemRun, viemWrongRun, signatures };
