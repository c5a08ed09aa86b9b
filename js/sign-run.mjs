#!/usr/bin/env node
// Sign a run of meter readings with a meter key, as a gateway written in JavaScript would:
//
//   GRIDSHARE_METER_KEY=0x<private key> node js/sign-run.mjs --manifest deployments/31337.json --run run.json
//
// run.json holds {meterId, previousEnd, firstIntervalStart, importWh: [...], exportWh: [...],
// importRegisterWh, exportRegisterWh}. Prints the signed run (with "signature") and its digest as
// one JSON object; any failure: one line on stderr, exit code 1.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Wallet } from "ethers";
import { readingsDigest, signRun } from "./readings.mjs";

try {
  const { values: args } = parseArgs({ options: { manifest: { type: "string" }, run: { type: "string" } } });
  if (!args.manifest || !args.run) throw new Error("usage: node js/sign-run.mjs --manifest FILE --run FILE");
  const key = process.env.GRIDSHARE_METER_KEY;
  if (!key) throw new Error("set GRIDSHARE_METER_KEY to the meter's private key (0x + 64 hex digits)");
  const manifest = JSON.parse(readFileSync(args.manifest, "utf8"));
  const run = JSON.parse(readFileSync(args.run, "utf8"));
  const signed = await signRun(new Wallet(key), manifest, run);
  process.stdout.write(JSON.stringify({ ...signed, digest: readingsDigest(manifest, run) }) + "\n");
} catch (err) {
  process.stderr.write(`error: ${String(err?.shortMessage ?? err?.message ?? err).split("\n")[0]}\n`);
  process.exitCode = 1;
}
