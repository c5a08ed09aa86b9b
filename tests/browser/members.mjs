// Drives the members' web app in headless Chromium (Debian's /usr/bin/chromium, no browser
// download) with playwright-core, the way a member and the operator use it, and prints what the
// pages show as one JSON object on stdout (tests/test_webapp.py compares it with the chain).
//   node tests/browser/members.mjs --url http://127.0.0.1:8080/ --account 0x.. [--tz Europe/Paris] [--shots DIR]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: args } = parseArgs({ options: { url: { type: "string" }, account: { type: "string" }, tz: { type: "string", default: "UTC" },
                                                 shots: { type: "string" } } });
if (!args.url || !args.account) {
  console.error("usage: members.mjs --url URL --account 0x.. [--tz ZONE] [--shots DIR]");
  process.exit(2);
}
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"];
const browser = await chromium.launch({ executablePath: process.env.GRIDSHARE_CHROMIUM ?? "/usr/bin/chromium", args: FLAGS });
const problems = [];

/** Every figures table of the page: {testid: {period: {field: Wh}}}, rates {testid: {period: {rate: value}}}, lists' counts. */
const scrape = (page) => page.evaluate(() => {
  const out = { tables: {}, rates: {}, lists: {}, cards: {} };
  for (const table of document.querySelectorAll("table[data-testid]")) {
    const id = table.dataset.testid;
    for (const row of table.querySelectorAll("tbody tr")) {
      for (const cell of row.querySelectorAll("td[data-field]")) ((out.tables[id] ??= {})[row.dataset.period] ??= {})[cell.dataset.field] = Number(cell.dataset.wh);
      for (const cell of row.querySelectorAll("td[data-rate]")) ((out.rates[id] ??= {})[row.dataset.period] ??= {})[cell.dataset.rate] = cell.dataset.value === "" ? null : Number(cell.dataset.value);
    }
  }
  for (const list of document.querySelectorAll("[data-count]")) {
    out.lists[list.dataset.testid] = [...list.querySelectorAll("tbody tr")].map((r) => ({ ...r.dataset }));
  }
  for (const card of document.querySelectorAll(".card[data-testid]")) out.cards[card.dataset.testid] = card.querySelector("strong").textContent;
  out.error = document.querySelector(".error")?.textContent ?? null;
  return out;
});

async function open(page, query) {
  await page.goto(`${args.url}?${new URLSearchParams({ tz: args.tz, ...query })}`);
  await page.waitForSelector("main[data-ready]", { timeout: 60_000 });
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  const result = {};

  // a member opens the app, picks its account in the list and looks at its days, then months
  await open(page, {});
  await page.selectOption("[data-testid=account]", args.account.toLowerCase());
  await page.waitForSelector("main[data-ready] [data-testid=figures]");
  result.days = await scrape(page);
  if (args.shots) { mkdirSync(args.shots, { recursive: true }); await page.screenshot({ path: join(args.shots, "webapp-member.png"), fullPage: true }); }
  await page.selectOption("[data-testid=unit]", "month");
  await page.waitForSelector("main[data-ready] [data-testid=figures]");
  result.months = await scrape(page);
  await page.selectOption("[data-testid=unit]", "interval");
  await page.waitForSelector("main[data-ready] [data-testid=figures]");
  result.intervals = await scrape(page);

  // the operator's view
  await page.selectOption("[data-testid=view]", "operator");
  await page.waitForSelector("main[data-ready] [data-testid=r15]");
  result.operator = await scrape(page);
  result.keyFileLinks = await page.$$eval("[data-testid=key-file]", (links) => links.map((a) => a.getAttribute("href")));
  if (args.shots) await page.screenshot({ path: join(args.shots, "webapp-operator.png"), fullPage: true });
  await page.selectOption("[data-testid=operator-member]", args.account.toLowerCase());
  await page.waitForSelector("main[data-ready] [data-testid=r15]");
  result.operatorMember = await scrape(page);

  // the same member on a phone
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  await open(small, { account: args.account, unit: "day" });
  result.phone = { scrollWidth: await small.evaluate(() => document.documentElement.scrollWidth), width: 390 };
  if (args.shots) await small.screenshot({ path: join(args.shots, "webapp-phone.png"), fullPage: false });
  result.problems = problems;
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}
