// The gridshare protocol's signed readings (EIP-712 `MeterReadings`, version "2"; docs/protocol.md)
// in JavaScript with ethers v6: the types, the domain of a deployment, signing a run and its digest.
// A gateway written in JavaScript signs with this what the MeterRegistry verifies.
import { TypedDataEncoder } from "ethers";

export const DOMAIN_NAME = "gridshare";
export const DOMAIN_VERSION = "2";

// Exactly the protocol's type string:
// MeterReadings(bytes32 meterId,uint64 previousEnd,uint64 firstIntervalStart,uint32[] importWh,
//               uint32[] exportWh,uint64 importRegisterWh,uint64 exportRegisterWh)
export const READINGS_TYPES = {
  MeterReadings: [
    { name: "meterId", type: "bytes32" },
    { name: "previousEnd", type: "uint64" },
    { name: "firstIntervalStart", type: "uint64" },
    { name: "importWh", type: "uint32[]" },
    { name: "exportWh", type: "uint32[]" },
    { name: "importRegisterWh", type: "uint64" },
    { name: "exportRegisterWh", type: "uint64" },
  ],
};

// The EIP-712 domain of a deployment, from its manifest (deployments/<chainId>.json).
export function domainOf(manifest) {
  return {
    name: DOMAIN_NAME,
    version: DOMAIN_VERSION,
    chainId: BigInt(manifest.chainId),
    verifyingContract: manifest.contracts.MeterRegistry.address,
  };
}

// A run as the struct's fields: {meterId, previousEnd, firstIntervalStart, importWh: [...],
// exportWh: [...], importRegisterWh, exportRegisterWh} (integers as numbers, bigints or strings).
function message(run) {
  return {
    meterId: run.meterId,
    previousEnd: BigInt(run.previousEnd),
    firstIntervalStart: BigInt(run.firstIntervalStart),
    importWh: run.importWh.map(BigInt),
    exportWh: run.exportWh.map(BigInt),
    importRegisterWh: BigInt(run.importRegisterWh),
    exportRegisterWh: BigInt(run.exportRegisterWh),
  };
}

// The digest the meter signs (equal to MeterRegistry.readingsDigest(run)).
export function readingsDigest(manifest, run) {
  return TypedDataEncoder.hash(domainOf(manifest), READINGS_TYPES, message(run));
}

// Signs a run with an ethers Wallet (the meter's key); returns the run with its 65-byte signature
// (r || s || v, hex), as gridshare's signed-runs files hold it.
export async function signRun(wallet, manifest, run) {
  const signature = await wallet.signTypedData(domainOf(manifest), READINGS_TYPES, message(run));
  return { ...run, signature };
}

// The IMeterRegistry.SignedReadings tuple for submitReadings([...]).
export function asCallArg(signed) {
  const sig = signed.signature.startsWith("0x") ? signed.signature.slice(2) : signed.signature;
  const m = message(signed);
  return [m.meterId, m.previousEnd, m.firstIntervalStart, m.importWh, m.exportWh, m.importRegisterWh,
    m.exportRegisterWh, parseInt(sig.slice(128, 130), 16), "0x" + sig.slice(0, 64), "0x" + sig.slice(64, 128)];
}

// The (importWh, exportWh) of each interval of a ReadingsVerified event's energyWh (a 0x hex
// string): 8 bytes an interval, importWh then exportWh, each a big-endian uint32.
export function unpackEnergy(energyWh) {
  const hex = energyWh.startsWith("0x") ? energyWh.slice(2) : energyWh;
  if (hex.length % 16) throw new Error(`energyWh holds 8 bytes per interval, got ${hex.length / 2} bytes`);
  const out = [];
  for (let k = 0; k < hex.length; k += 16) {
    out.push({ importWh: BigInt("0x" + hex.slice(k, k + 8)), exportWh: BigInt("0x" + hex.slice(k + 8, k + 16)) });
  }
  return out;
}
