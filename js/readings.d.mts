// Types of readings.mjs: the EIP-712 signer of runs of meter readings (ethers v6).
import type { Signer } from "ethers";
import type { Hex, ManifestWith } from "./contracts.mjs";

/** An integer as a number, a bigint or a string (decimal, or 0x hex). */
export type Integer = number | bigint | string;

export declare const DOMAIN_NAME: "gridshare";
export declare const DOMAIN_VERSION: "2";

/** The EIP-712 type of a run: MeterReadings(bytes32 meterId,uint64 previousEnd,uint64 firstIntervalStart,
 *  uint32[] importWh,uint32[] exportWh,uint64 importRegisterWh,uint64 exportRegisterWh). */
export declare const READINGS_TYPES: {
  MeterReadings: [
    { name: "meterId"; type: "bytes32" },
    { name: "previousEnd"; type: "uint64" },
    { name: "firstIntervalStart"; type: "uint64" },
    { name: "importWh"; type: "uint32[]" },
    { name: "exportWh"; type: "uint32[]" },
    { name: "importRegisterWh"; type: "uint64" },
    { name: "exportRegisterWh"; type: "uint64" },
  ];
};

/** The EIP-712 domain of a deployment's MeterRegistry. */
export interface ReadingsDomain {
  name: typeof DOMAIN_NAME;
  version: typeof DOMAIN_VERSION;
  chainId: bigint;
  verifyingContract: string;
}

/** A run of readings: consecutive intervals of one meter from `firstIntervalStart`, continuing its
 *  verified readings (`previousEnd` is `MeterRegistry.meterState(meterId).nextIntervalStart`), with the
 *  registers at the run's end. */
export interface Run {
  /** bytes32: 0x + 64 hex digits */
  meterId: string;
  previousEnd: Integer;
  firstIntervalStart: Integer;
  importWh: readonly Integer[];
  exportWh: readonly Integer[];
  importRegisterWh: Integer;
  exportRegisterWh: Integer;
}

/** A run with its meter's 65-byte signature (r || s || v, hex), as gridshare's signed-runs files hold it. */
export type SignedRun = Run & { signature: string };

/** IMeterRegistry.SignedReadings, the tuple `submitReadings([...])` takes (ethers encodes arrays as tuples). */
export type SignedReadingsArg = [
  meterId: string,
  previousEnd: bigint,
  firstIntervalStart: bigint,
  importWh: bigint[],
  exportWh: bigint[],
  importRegisterWh: bigint,
  exportRegisterWh: bigint,
  v: number,
  r: Hex,
  s: Hex,
];

/** The EIP-712 domain of the deployment a manifest describes. */
export declare function domainOf(manifest: ManifestWith<"MeterRegistry">): ReadingsDomain;

/** The digest the meter signs: equal to `MeterRegistry.readingsDigest(run)`. */
export declare function readingsDigest(manifest: ManifestWith<"MeterRegistry">, run: Run): Hex;

/** Signs `run` with the meter's key (an ethers Wallet, or any signer of typed data); returns the run
 *  with its signature. */
export declare function signRun<R extends Run>(
  wallet: Pick<Signer, "signTypedData">,
  manifest: ManifestWith<"MeterRegistry">,
  run: R,
): Promise<R & { signature: Hex }>;

/** The IMeterRegistry.SignedReadings tuple of a signed run, for `submitReadings([...])`. */
export declare function asCallArg(signed: SignedRun): SignedReadingsArg;

/** Each interval of a ReadingsVerified event's `energyWh` (8 bytes an interval: importWh then exportWh,
 *  big-endian uint32s). Throws if its length is not a multiple of 8 bytes. */
export declare function unpackEnergy(energyWh: string): { importWh: bigint; exportWh: bigint }[];
