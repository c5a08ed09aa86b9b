// A gateway with ethers and @gridshare/client: signs the meter's next run of readings with the meter's
// key and relays it to the MeterRegistry (anyone may relay; here a relayer key pays the gas).
//
//   node_modules/.bin/tsc -p js --noEmit false --outDir build/js-examples
//   GRIDSHARE_METER_KEY=0x<key> GRIDSHARE_RELAYER_KEY=0x<key> \
//     node build/js-examples/examples/gateway.js --rpc URL --manifest deployments/31337.json --run run.json
//
// run.json: {meterId, importWh: [...], exportWh: [...], importRegisterWh, exportRegisterWh} and, after
// an outage, firstIntervalStart; the run continues the meter's verified readings (previousEnd is read
// from the chain). Prints {digest, signature, transactionHash}.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Contract, Interface, JsonRpcProvider, Wallet, isError } from "ethers";
import { abis, asCallArg, readingsDigest, signRun, type Manifest, type Run } from "@gridshare/client";

function key(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} to a private key (0x + 64 hex digits)`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rpc: { type: "string" }, manifest: { type: "string" }, run: { type: "string" } } });
  if (!values.rpc || !values.manifest || !values.run) {
    throw new Error("usage: gateway.js --rpc URL --manifest deployments/<chainId>.json --run run.json");
  }
  const manifest: Manifest = JSON.parse(readFileSync(values.manifest, "utf8"));
  const readings: Omit<Run, "previousEnd" | "firstIntervalStart"> & { firstIntervalStart?: Run["firstIntervalStart"] } =
    JSON.parse(readFileSync(values.run, "utf8"));
  const provider = new JsonRpcProvider(values.rpc, undefined, { staticNetwork: true });
  try {
    const relayer = new Wallet(key("GRIDSHARE_RELAYER_KEY"), provider);
    const registry = new Contract(manifest.contracts.MeterRegistry.address, abis.MeterRegistry, relayer);
    const { nextIntervalStart } = await registry.meterState(readings.meterId);
    const run: Run = { ...readings, previousEnd: nextIntervalStart, firstIntervalStart: readings.firstIntervalStart ?? nextIntervalStart };
    const signed = await signRun(new Wallet(key("GRIDSHARE_METER_KEY")), manifest, run);
    const tx = await registry.submitReadings([asCallArg(signed)]);
    const receipt = await tx.wait();
    if (receipt?.status !== 1) throw new Error(`submitReadings failed in ${tx.hash}`);
    process.stdout.write(JSON.stringify({ digest: readingsDigest(manifest, run), signature: signed.signature, transactionHash: tx.hash }) + "\n");
  } finally {
    provider.destroy();
  }
}

// One line; a revert by the registry's custom error, decoded with its published ABI (ethers decodes a
// call's revert, not that of a transaction's gas estimate).
const registryErrors = new Interface(abis.MeterRegistry);
function describe(err: unknown): string {
  if (isError(err, "CALL_EXCEPTION") && err.data) {
    const revert = registryErrors.parseError(err.data);
    if (revert) return `the registry reverted with ${revert.name}(${revert.args.join(", ")})`;
  }
  const e = err as { shortMessage?: string; message?: string };
  return e.shortMessage ?? e.message ?? String(err);
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${describe(err).split("\n")[0]}\n`);
  process.exitCode = 1;
});
