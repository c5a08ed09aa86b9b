// Builds the members' web app into webapp/dist/: one JavaScript bundle (the app, ethers and the
// published ABIs), the page and its style sheet. Nothing is fetched at run time but the page's own
// config.json (served by `gridshare web`) and the node's JSON-RPC.
//   node webapp/build.mjs
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  outfile: join(dist, "app.js"),
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) copyFileSync(join(here, file), join(dist, file));
console.log(`built ${dist}`);
