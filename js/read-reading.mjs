#!/usr/bin/env node
// Read the on-chain effect of a meter's verified runs of readings, using only the published ABIs
// (abi/*.json) and a deployment manifest (deployments/<chainId>.json): the integration proof
// that a dApp needs nothing from the Python toolkit.
//
//   node js/read-reading.mjs --rpc http://127.0.0.1:8545 --manifest deployments/31337.json \
//        --meter 0x<meterId> [--abi-dir abi]
//
// Prints one JSON object on stdout (every integer as a decimal string). Any failure: one line on
// stderr and exit code 1.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Contract, FetchRequest, JsonRpcProvider, Network, decodeBytes32String, isError } from "ethers";
import { unpackEnergy } from "./readings.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_ABI_DIR = path.resolve(HERE, "..", "abi");
const METER_KINDS = ["PRODUCER", "CONSUMER", "PROSUMER"]; // IMeterRegistry.MeterKind
const RPC_TIMEOUT_MS = 15_000;

class CliError extends Error {}

function usage() {
  return "usage: node js/read-reading.mjs --rpc URL --manifest deployments/<chainId>.json --meter 0x<meterId> [--abi-dir abi]";
}

function readJson(file, what) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`${what} ${file} not found or unreadable (${err.code ?? err.message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${what} ${file} is not valid JSON (${err.message})`);
  }
}

function loadAbi(abiDir, name) {
  const abi = readJson(path.join(abiDir, `${name}.json`), `ABI`);
  if (!Array.isArray(abi)) throw new CliError(`ABI ${path.join(abiDir, name + ".json")} is not a bare ABI array`);
  return abi;
}

function loadManifest(file) {
  const manifest = readJson(file, "manifest");
  for (const name of ["MeterRegistry", "EnergyToken"]) {
    if (!manifest?.contracts?.[name]?.address) throw new CliError(`manifest ${file} has no contracts.${name}.address`);
  }
  if (manifest.chainId == null) throw new CliError(`manifest ${file} has no chainId`);
  if (!manifest.settings?.intervalSeconds) throw new CliError(`manifest ${file} has no settings.intervalSeconds`);
  return manifest;
}

function parseMeterId(text) {
  const hex = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new CliError(`--meter must be a 32-byte meter id (0x + 64 hex digits), got ${JSON.stringify(text)}`);
  return "0x" + hex.toLowerCase();
}

// One readable line for an error raised by ethers or by us.
function describe(err, ctx) {
  if (err instanceof CliError) return err.message;
  if (isError(err, "CALL_EXCEPTION")) {
    if (err.revert) {
      const args = err.revert.args.map((a) => String(a)).join(", ");
      const hint = err.revert.name === "MeterRegistryUnknownMeter" ? `: meter ${ctx.meterId} is not registered in MeterRegistry ${ctx.registry}` : "";
      return `the contract reverted with ${err.revert.name}(${args})${hint}`;
    }
    return `a contract call reverted${err.shortMessage ? ": " + err.shortMessage : ""}`;
  }
  if (isError(err, "TIMEOUT")) return `no answer from ${ctx.rpc} within ${RPC_TIMEOUT_MS / 1000} s`;
  const cause = err?.cause?.code ?? err?.error?.code ?? err?.code;
  if (ctx.rpc && !ctx.connected) return `cannot reach RPC ${ctx.rpc} (${cause ?? err.shortMessage ?? err.message})`;
  return String(err?.shortMessage ?? err?.message ?? err).split("\n")[0];
}

// JSON with every bigint as a decimal string.
const bigintsAsStrings = (_key, value) => (typeof value === "bigint" ? value.toString() : value);

async function main(ctx) {
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        rpc: { type: "string" },
        manifest: { type: "string" },
        meter: { type: "string" },
        "abi-dir": { type: "string" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new CliError(`${err.message}; ${usage()}`);
  }
  for (const required of ["rpc", "manifest", "meter"]) {
    if (!args[required]) throw new CliError(`missing --${required}; ${usage()}`);
  }
  ctx.rpc = args.rpc;
  const meterId = (ctx.meterId = parseMeterId(args.meter));
  const manifest = loadManifest(args.manifest);
  const abiDir = args["abi-dir"] ? path.resolve(args["abi-dir"]) : DEFAULT_ABI_DIR;
  const registryAbi = loadAbi(abiDir, "MeterRegistry");
  const tokenAbi = loadAbi(abiDir, "EnergyToken");

  // A static network: ethers would otherwise retry network detection forever on a dead URL.
  const request = new FetchRequest(args.rpc);
  request.timeout = RPC_TIMEOUT_MS;
  const provider = new JsonRpcProvider(request, Network.from(BigInt(manifest.chainId)), {
    staticNetwork: Network.from(BigInt(manifest.chainId)),
  });
  try {
    const chainId = BigInt(await provider.send("eth_chainId", []));
    ctx.connected = true;
    if (chainId !== BigInt(manifest.chainId)) {
      throw new CliError(`${args.rpc} is chain ${chainId} but ${args.manifest} is for chain ${manifest.chainId}`);
    }

    const registryEntry = manifest.contracts.MeterRegistry;
    const registryAddress = (ctx.registry = registryEntry.address);
    if ((await provider.getCode(registryAddress)) === "0x") {
      throw new CliError(`no contract at MeterRegistry ${registryAddress} on chain ${chainId} (a reset devnet? deploy again)`);
    }
    const registry = new Contract(registryAddress, registryAbi, provider);
    const token = new Contract(manifest.contracts.EnergyToken.address, tokenAbi, provider);
    const intervalSeconds = BigInt(manifest.settings.intervalSeconds);

    const [domain, info, state] = await Promise.all([
      registry.eip712Domain(),
      registry.meter(meterId),
      registry.meterState(meterId),
    ]);

    const fromBlock = Number(registryEntry.blockNumber ?? 0);
    // one ReadingsVerified per verified run: its k-th interval starts at firstIntervalStart + k * intervalSeconds
    const events = await registry.queryFilter(registry.filters.ReadingsVerified(meterId), fromBlock, "latest");
    const owner = info.owner;
    const intervals = events.flatMap((ev) =>
      unpackEnergy(ev.args.energyWh).map(({ importWh, exportWh }, k) => ({ ev, importWh, exportWh,
        intervalStart: ev.args.firstIntervalStart + BigInt(k) * intervalSeconds })));
    const readings = await Promise.all(
      intervals.map(async ({ ev, importWh, exportWh, intervalStart }) => {
        const intervalId = intervalStart / intervalSeconds;
        const [balance, verifiedImport] = await Promise.all([
          token.balanceOf(owner, intervalId),
          token.verifiedImport(owner, intervalId),
        ]);
        return {
          intervalStart,
          intervalId,
          importWh,
          exportWh,
          blockNumber: BigInt(ev.blockNumber),
          transactionHash: ev.transactionHash,
          owner,
          balanceOf: balance,
          verifiedImport,
        };
      }),
    );
    let technologyLabel = null;
    try {
      technologyLabel = decodeBytes32String(info.technology);
    } catch {
      // not a short string: the hex is still printed
    }
    const result = {
      chainId,
      network: manifest.name ?? null,
      registry: registryAddress,
      energyToken: token.target,
      intervalSeconds,
      domain: {
        fields: domain.fields,
        name: domain.name,
        version: domain.version,
        chainId: domain.chainId,
        verifyingContract: domain.verifyingContract,
        salt: domain.salt,
        extensions: [...domain.extensions],
      },
      meterId,
      meter: {
        signer: info.signer,
        owner: info.owner,
        kind: info.kind,
        kindName: METER_KINDS[Number(info.kind)] ?? null,
        active: info.active,
        capacityW: info.capacityW,
        technology: info.technology,
        technologyLabel,
        commissioningDate: info.commissioningDate,
        registeredAt: info.registeredAt,
      },
      state: {
        nextIntervalStart: state.nextIntervalStart,
        importRegisterWh: state.importRegisterWh,
        exportRegisterWh: state.exportRegisterWh,
        verifiedExportWh: state.verifiedExportWh,
        registersKnown: state.registersKnown,
      },
      readings,
    };
    process.stdout.write(JSON.stringify(result, bigintsAsStrings, 2) + "\n");
  } finally {
    provider.destroy();
  }
}

const ctx = { rpc: null, connected: false, meterId: null, registry: null };
try {
  await main(ctx);
} catch (err) {
  process.stderr.write(`error: ${describe(err, ctx)}\n`);
  process.exitCode = 1;
}
