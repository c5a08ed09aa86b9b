// A dApp attaching to a community with viem and @gridshare/client: a meter's info and state, and the
// energy and token balances of its latest verified intervals. Every call is typed from the ABI
// (`abis.MeterRegistry` is typed as const): a wrong function name, argument or field does not compile.
//
//   node_modules/.bin/tsc -p js --noEmit false --outDir build/js-examples
//   node build/js-examples/examples/attach.js --rpc http://127.0.0.1:8545 --manifest deployments/31337.json --meter 0x<meterId>
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { BaseError, ContractFunctionRevertedError, createPublicClient, http } from "viem";
import { abis, enums, unpackEnergy, type Hex, type Manifest } from "@gridshare/client";

const bytes32 = (text: string): Hex => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new Error(`--meter must be 0x + 64 hex digits, got ${JSON.stringify(text)}`);
  return text as Hex;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rpc: { type: "string" }, manifest: { type: "string" }, meter: { type: "string" } } });
  if (!values.rpc || !values.manifest || !values.meter) {
    throw new Error("usage: attach.js --rpc URL --manifest deployments/<chainId>.json --meter 0x<meterId>");
  }
  const manifest: Manifest = JSON.parse(readFileSync(values.manifest, "utf8"));
  const meterId = bytes32(values.meter);
  const client = createPublicClient({ transport: http(values.rpc) });
  const registry = { address: manifest.contracts.MeterRegistry.address, abi: abis.MeterRegistry } as const;
  const token = { address: manifest.contracts.EnergyToken.address, abi: abis.EnergyToken } as const;

  const [info, state] = await Promise.all([
    client.readContract({ ...registry, functionName: "meter", args: [meterId] }),
    client.readContract({ ...registry, functionName: "meterState", args: [meterId] }),
  ]);
  const kindName = Object.entries(enums.MeterKind).find(([, value]) => value === info.kind)?.[0] ?? null;

  // one ReadingsVerified per verified run: its k-th interval starts at firstIntervalStart + k * intervalSeconds
  const runs = await client.getContractEvents({
    ...registry, eventName: "ReadingsVerified", args: { meterId },
    fromBlock: BigInt(manifest.contracts.MeterRegistry.blockNumber), strict: true,
  });
  const latest = runs.at(-1);
  const intervalSeconds = BigInt(manifest.settings.intervalSeconds);
  const intervals = latest === undefined ? [] : await Promise.all(
    unpackEnergy(latest.args.energyWh).map(async ({ importWh, exportWh }, k) => {
      const intervalStart = latest.args.firstIntervalStart + BigInt(k) * intervalSeconds;
      const intervalId = intervalStart / intervalSeconds;
      const [balanceOf, verifiedImport] = await Promise.all([
        client.readContract({ ...token, functionName: "balanceOf", args: [info.owner, intervalId] }),
        client.readContract({ ...token, functionName: "verifiedImport", args: [info.owner, intervalId] }),
      ]);
      return { intervalStart, intervalId, importWh, exportWh, balanceOf, verifiedImport };
    }));

  const out = { meterId, owner: info.owner, kind: kindName, active: info.active, state, runs: runs.length, latest: intervals };
  process.stdout.write(JSON.stringify(out, (_key, value) => (typeof value === "bigint" ? value.toString() : value)) + "\n");
}

// One line: a revert by its custom error's name (every published ABI decodes every error of the deployment).
function describe(err: unknown): string {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data) {
      return `the contract reverted with ${revert.data.errorName}(${(revert.data.args ?? []).join(", ")})`;
    }
    return err.shortMessage;
  }
  return err instanceof Error ? err.message : String(err);
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${describe(err).split("\n")[0]}\n`);
  process.exitCode = 1;
});
