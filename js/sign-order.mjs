#!/usr/bin/env node
// Sign a market order for an interval's batch with the owner's key, as a dApp or a member's
// wallet would:
//
//   GRIDSHARE_ACCOUNT_KEY=0x<private key> node js/sign-order.mjs --manifest deployments/31337.json --order order.json
//
// order.json holds {intervalId, side: "bid"|"ask", price (per kWh, base units), quantityWh, salt}
// (owner: the key's address unless given). Prints the signed order ({..., r, vs}, a row of the
// files `gridshare market batch` reads) and its digest as one JSON object; any failure: one line
// on stderr, exit code 1.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Wallet } from "ethers";
import { orderDigest, signOrder } from "./orders.mjs";

try {
  const { values: args } = parseArgs({ options: { manifest: { type: "string" }, order: { type: "string" } } });
  if (!args.manifest || !args.order) throw new Error("usage: node js/sign-order.mjs --manifest FILE --order FILE");
  const key = process.env.GRIDSHARE_ACCOUNT_KEY;
  if (!key) throw new Error("set GRIDSHARE_ACCOUNT_KEY to the owner's private key (0x + 64 hex digits)");
  const manifest = JSON.parse(readFileSync(args.manifest, "utf8"));
  const wallet = new Wallet(key);
  const order = { owner: wallet.address, ...JSON.parse(readFileSync(args.order, "utf8")) };
  const signed = await signOrder(wallet, manifest, order);
  const out = { ...signed, intervalId: Number(signed.intervalId), price: Number(signed.price),
    quantityWh: Number(signed.quantityWh), salt: Number(signed.salt) };
  process.stdout.write(JSON.stringify({ ...out, digest: orderDigest(manifest, order) }) + "\n");
} catch (err) {
  process.stderr.write(`error: ${String(err?.shortMessage ?? err?.message ?? err).split("\n")[0]}\n`);
  process.exitCode = 1;
}
