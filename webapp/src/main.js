// The members' web app: one's verified production and consumption, the local share, the supplier's
// complement, trades, certificates and claims, per month, day or interval; and the operator's view.
// Everything is read from the chain (chain.js) and computed by ledger.js. The page's state is in its
// URL (?account=0x..&view=member|operator&unit=month|day|interval&within=YYYY-MM[-DD]&tz=Area/City&member=0x..).
import { holdings, loadCommunity, treasuryOf } from "./chain.js";
import { buildLedger, dayOf, periods, rates, timeOf } from "./ledger.js";
import { barChart, legend } from "./chart.js";

const $ = (id) => document.getElementById(id);
const h = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const kwh = (wh) => (wh / 1000).toLocaleString("en", { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const pct = (rate) => (rate === null ? "–" : `${(100 * rate).toFixed(1)} %`);
const short = (a) => `${a.slice(0, 6)}…${a.slice(-4)}`;

const params = new URLSearchParams(location.search);
const state = {
  account: params.get("account")?.toLowerCase() ?? null,
  view: params.get("view") ?? "member",
  unit: params.get("unit") ?? "day",
  within: params.get("within"),
  tz: params.get("tz") ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
  member: params.get("member")?.toLowerCase() ?? null, // the operator's view of one member
};
let world; // {config, community, ledger}

function go(changes) {
  Object.assign(state, changes);
  const p = new URLSearchParams();
  for (const k of ["account", "view", "unit", "within", "tz", "member"]) if (state[k]) p.set(k, state[k]);
  history.replaceState(null, "", `?${p}`);
  render();
}

/** A table of figures: one row per period, cells carry their Wh (data-wh) for readers and tests. */
function figuresTable(rows, fields, caption, testid) {
  const names = { prod: "production", autoprod: "shared locally", surplus: "surplus", cons: "consumption", autocons: "received locally",
                  complement: "from the supplier", bought: "bought", sold: "sold", claimed: "claimed" };
  const table = h("table", { "data-testid": testid }, h("caption", {}, `${caption} (kWh)`));
  table.append(h("thead", {}, h("tr", {}, h("th", {}, "period"), ...fields.map((f) => h("th", {}, names[f])))));
  const body = h("tbody");
  for (const r of rows) body.append(h("tr", { "data-period": r.period }, h("th", {}, r.period),
    ...fields.map((f) => h("td", { "data-field": f, "data-wh": r[f] }, kwh(r[f])))));
  table.append(body);
  return h("div", { class: "scroll" }, table);
}

function ratesTable(rows, testid) {
  const table = h("table", { "data-testid": testid }, h("caption", {}, "Monthly rates"),
    h("thead", {}, h("tr", {}, h("th", {}, "month"), h("th", {}, "self-consumption"), h("th", {}, "coverage"))));
  const body = h("tbody");
  for (const r of rows) {
    const { selfConsumption, coverage } = rates(r);
    body.append(h("tr", { "data-period": r.period }, h("th", {}, r.period),
      h("td", { "data-rate": "selfConsumption", "data-value": selfConsumption ?? "" }, pct(selfConsumption)),
      h("td", { "data-rate": "coverage", "data-value": coverage ?? "" }, pct(coverage))));
  }
  table.append(body);
  return table;
}

function listTable(caption, headers, rows, testid, empty) {
  if (rows.length === 0) return h("p", { class: "note", "data-testid": testid, "data-count": 0 }, empty);
  const table = h("table", { "data-testid": testid, "data-count": rows.length }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", {}, x)))));
  const body = h("tbody");
  for (const { attrs, cells } of rows) body.append(h("tr", attrs, ...cells.map((c) => h("td", {}, c))));
  table.append(body);
  return h("div", { class: "scroll" }, table);
}

/** The unit and period pickers; returns the rows of the chosen view of `account` (null: everyone). */
function periodControls(account, container) {
  const { ledger } = world;
  const months = periods(ledger, account, "month", state.tz).map((r) => r.period);
  const days = periods(ledger, account, "day", state.tz).map((r) => r.period);
  const choices = state.unit === "interval" ? days : state.unit === "day" ? ["", ...months] : [""];
  let within = state.within ?? (state.unit === "interval" ? days.at(-1) ?? "" : "");
  if (!choices.includes(within)) within = state.unit === "interval" ? days.at(-1) ?? "" : "";
  const unit = h("select", { "data-testid": "unit" }, ...["month", "day", "interval"].map((u) => h("option", { value: u }, `per ${u}`)));
  unit.value = state.unit;
  unit.onchange = () => go({ unit: unit.value, within: null });
  const pick = h("select", { "data-testid": "within" }, ...choices.map((c) => h("option", { value: c }, c || "all")));
  pick.value = within;
  pick.onchange = () => go({ within: pick.value });
  container.append(h("div", { class: "controls" }, h("label", {}, "Show ", unit), choices.length > 1 ? h("label", {}, " of ", pick) : ""));
  return periods(ledger, account, state.unit, state.tz, within);
}

function card(label, value, testid) {
  return h("div", { class: "card", "data-testid": testid }, h("span", {}, label), h("strong", {}, value));
}

function memberView(main) {
  const { ledger, community } = world;
  const account = state.account;
  if (!account) {
    main.append(h("p", { class: "note" }, "Pick an account above (or connect a wallet) to see its energy."));
    return;
  }
  const meters = ledger.meters.filter((m) => m.owner === account);
  const kinds = ["producer", "consumer", "prosumer"];
  main.append(h("section", {}, h("h2", {}, `Account ${short(account)}`),
    h("p", { class: "note" }, meters.length
      ? `Meters: ${meters.map((m) => `${short(m.meterId)} (${kinds[m.kind]}, ${(m.capacityW / 1000).toFixed(1)} kW)`).join(", ")}. Times in ${state.tz}.`
      : "No meter registered for this account.")));
  const figures = h("section");
  const rows = periodControls(account, figures);
  const total = rows.reduce((t, r) => { for (const k in t) t[k] += r[k]; return t; },
    { prod: 0, autoprod: 0, surplus: 0, cons: 0, autocons: 0, complement: 0, bought: 0, sold: 0, claimed: 0 });
  const r = rates(total);
  figures.append(h("div", { class: "cards" },
    card("Production", `${kwh(total.prod)} kWh`, "total-prod"),
    card("Consumption", `${kwh(total.cons)} kWh`, "total-cons"),
    card("Received locally", `${kwh(total.autocons)} kWh`, "total-autocons"),
    card("Given locally", `${kwh(total.autoprod)} kWh`, "total-autoprod"),
    card("From the supplier", `${kwh(total.complement)} kWh`, "total-complement"),
    card("Self-consumption", pct(r.selfConsumption), "rate-self"),
    card("Coverage", pct(r.coverage), "rate-coverage")));
  figures.append(barChart(rows, { title: "production and consumption", label: (p) => (state.unit === "interval" ? p.slice(11) : p.slice(5)) }), legend());
  figures.append(figuresTable(rows, ["prod", "autoprod", "surplus", "cons", "autocons", "complement", "bought", "sold", "claimed"],
    `Per ${state.unit}`, "figures"));
  main.append(figures);
  main.append(h("section", {}, ratesTable(periods(ledger, account, "month", state.tz), "rates")));
  const mine = world.holdings.get(account);
  if (mine) {
    main.append(h("section", {}, h("h2", {}, "In the community"), h("div", { class: "cards" },
      card("SolarReward", `${mine.sun.toLocaleString("en")} SUN`, "sun"),
      card("Votes in the treasury", mine.votes.toLocaleString("en", { maximumFractionDigits: 3 }), "votes")),
      h("p", { class: "note" }, "One SUN per MWh of verified solar production; one vote per meter, plus its verified export " +
        "of the last 12 months in MWh (capped).")));
  }

  const money = (price) => (Number(price) / 10 ** community.payment.decimals).toFixed(4);
  const seconds = world.config.manifest.settings.intervalSeconds;
  const trades = ledger.trades.filter((t) => t.buyer === account || t.seller === account);
  main.append(h("section", {}, h("h2", {}, "Trades"), listTable(`Trades (price in ${community.payment.symbol} per kWh)`,
    ["interval", "side", "counterparty", "kWh", "price", "via"],
    trades.map((t) => ({ attrs: { "data-trade": t.intervalId, "data-wh": t.quantityWh, "data-side": t.buyer === account ? "bought" : "sold" },
      cells: [timeOf(t.intervalId * seconds, state.tz), t.buyer === account ? "bought" : "sold",
              short(t.buyer === account ? t.seller : t.buyer), kwh(t.quantityWh), money(t.price), t.via] })),
    "trades", "No trades.")));

  const gifts = ledger.gifts.filter((g) => g.giver === account || g.recipient === account);
  main.append(h("section", {}, h("h2", {}, "Solidarity"), listTable("Energy given to energy-poor neighbours, and received",
    ["interval", "given or received", "neighbour", "kWh"],
    gifts.map((g) => ({ attrs: { "data-gift": g.intervalId, "data-wh": g.amountWh, "data-side": g.giver === account ? "given" : "received" },
      cells: [timeOf(g.intervalId * seconds, state.tz), g.giver === account ? "given" : "received",
              short(g.giver === account ? g.recipient : g.giver), kwh(g.amountWh)] })),
    "gifts", "Nothing given or received.")));

  const certificates = ledger.certificates.filter((c) => c.owner === account);
  const claims = ledger.certificateClaims.filter((c) => c.holder === account);
  const redemptions = ledger.redemptions.filter((c) => c.account === account);
  main.append(h("section", {}, h("h2", {}, "Certificates and claims"),
    listTable("Guarantees of origin issued to you", ["certificate", "meter", "kWh", "claimed kWh"],
      certificates.map((c) => ({ attrs: { "data-certificate": c.id, "data-wh": c.amountWh },
        cells: [`#${c.id}`, short(c.meterId), kwh(c.amountWh), kwh(c.claimedWh)] })), "certificates", "No certificates issued to this account."),
    listTable("Certificates you claimed (cancelled) for a beneficiary", ["certificate", "beneficiary", "kWh", "consumption"],
      claims.map((c) => ({ attrs: { "data-claim": c.certificateId, "data-wh": c.amountWh },
        cells: [`#${c.certificateId}`, c.beneficiary, kwh(c.amountWh), `${dayOf(c.consumptionStart, state.tz)} – ${dayOf(c.consumptionEnd - 1, state.tz)}`] })),
      "certificate-claims", "No certificate claimed by this account."),
    listTable("Time-matched claims: crypto-kWh redeemed against your consumption", ["interval", "kWh"],
      redemptions.map((c) => ({ attrs: { "data-redeemed": c.intervalId, "data-wh": c.amountWh },
        cells: [timeOf(c.intervalId * seconds, state.tz), kwh(c.amountWh)] })), "redemptions", "No crypto-kWh redeemed by this account.")));
}

function operatorView(main) {
  const { ledger, community, config } = world;
  const seconds = config.manifest.settings.intervalSeconds;
  const until = (m) => (m.untilInterval >= 2 ** 32 - 1 ? "still in" : timeOf(m.untilInterval * seconds, state.tz));
  main.append(h("section", {}, h("h2", {}, `Operation: ${community.members.length} members`), listTable("Members", ["meter", "account", "from", "until"],
    community.members.map((m) => ({ attrs: { "data-member": m.meterId },
      cells: [short(m.meterId), m.account, timeOf(m.fromInterval * seconds, state.tz), until(m)] })), "members", "No members yet.")));
  const months = periods(ledger, null, "month", state.tz);
  const money = (units) => (Number(units) / 10 ** community.payment.decimals).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  main.append(h("section", {}, h("h2", {}, "Treasury"), h("div", { class: "cards" },
    card("Balance", `${money(world.treasury.balance)} ${community.payment.symbol}`, "treasury-balance")),
    listTable("Proposals (votes in the treasury's units: one per meter, plus MWh exported)", ["proposal", "state", "for", "against", "abstain"],
      world.treasury.proposals.map((p) => ({ attrs: { "data-proposal": p.id, "data-state": p.state },
        cells: [`#${p.id} ${p.description}`, p.state, p.for.toFixed(3), p.against.toFixed(3), p.abstain.toFixed(3)] })),
      "proposals", "No proposal yet.")));
  main.append(h("section", {}, h("h2", {}, "The community"), figuresTable(months, ["prod", "autoprod", "surplus", "cons", "autocons", "complement"],
    "Per month", "community-months"), ratesTable(months, "community-rates")));
  const days = periods(ledger, null, "day", state.tz).map((r) => r.period);
  const day = days.includes(state.within) ? state.within : days.at(-1) ?? "";
  const pick = h("select", { "data-testid": "operator-day" }, ...days.map((d) => h("option", { value: d }, d)));
  pick.value = day;
  pick.onchange = () => go({ within: pick.value });
  const accounts = [...new Set(community.members.map((m) => m.account))];
  const who = accounts.includes(state.member) ? state.member : "";
  const member = h("select", { "data-testid": "operator-member" }, h("option", { value: "" }, "every member"),
    ...accounts.map((a) => h("option", { value: a }, short(a))));
  member.value = who;
  member.onchange = () => go({ member: member.value || null });
  const intervals = periods(ledger, who || null, "interval", state.tz, day);
  const section = h("section", {}, h("h2", {}, "R15 quantities per interval"),
    h("div", { class: "controls" }, h("label", {}, "Day ", pick), " ", h("label", {}, "of ", member)));
  section.append(barChart(intervals, { title: "the community per interval", label: (p) => p.slice(11) }), legend());
  section.append(figuresTable(intervals, ["prod", "autoprod", "surplus", "cons", "autocons", "complement"],
    `Intervals of ${day}, ${who ? short(who) : "every member"}`, "r15"));
  if (config.keyFile) {
    section.append(h("p", {}, "The key file for the grid operator (coefficients per member and interval, as the chain shared): ",
      ...months.map((m) => h("a", { href: `key-file?month=${m.period}`, download: `key-${m.period}.csv`, "data-testid": "key-file" }, ` ${m.period} `))));
  }
  main.append(section);
}

function render() {
  const main = $("main");
  main.removeAttribute("data-ready");
  main.replaceChildren();
  $("view").value = state.view;
  if (state.account && !world.ledger.participants.includes(state.account) && !$("account").querySelector(`option[value="${state.account}"]`)) {
    $("account").append(h("option", { value: state.account }, `${short(state.account)} (not a participant)`));
  }
  $("account").value = state.account ?? "";
  try {
    (state.view === "operator" ? operatorView : memberView)(main);
  } catch (error) {
    main.replaceChildren(h("p", { class: "error" }, `Could not show this view: ${error.message}`));
  }
  main.setAttribute("data-ready", "true");
}

async function start() {
  const main = $("main");
  try {
    const config = await (await fetch("config.json")).json();
    const rpc = new URL(config.rpc, location.href).href;
    const community = await loadCommunity(config.manifest, rpc);
    const ledger = buildLedger(community.events, config.manifest.settings.intervalSeconds);
    // the participants but the community's contracts (the market's escrow is one)
    const contracts = new Set(Object.values(config.manifest.contracts).map((c) => c.address.toLowerCase()));
    const members = ledger.participants.filter((a) => !contracts.has(a));
    const held = await Promise.all(members.map((a) => holdings(community, config.manifest, a)));
    world = { config, community, ledger, holdings: new Map(members.map((a, i) => [a, held[i]])),
              treasury: await treasuryOf(community, config.manifest) };
    $("community").textContent = `chain ${config.manifest.chainId}${config.manifest.name ? ` · ${config.manifest.name}` : ""}`;
    $("footer").textContent = `Read from ${config.rpcLabel ?? rpc} · ${community.events.length} events · gridshare ${config.manifest.gridshare ?? ""}`;
    const select = $("account");
    select.append(h("option", { value: "" }, "pick an account"),
      ...members.map((a) => h("option", { value: a }, short(a))));
    select.onchange = () => go({ account: select.value || null });
    $("view").onchange = () => go({ view: $("view").value, within: null });
    if (window.ethereum) {
      const connect = $("connect");
      connect.hidden = false;
      connect.onclick = async () => {
        const [account] = await window.ethereum.request({ method: "eth_requestAccounts" });
        if (account) go({ account: account.toLowerCase(), view: "member" });
      };
    }
    render();
  } catch (error) {
    main.replaceChildren(h("p", { class: "error" }, `Could not read the community: ${error.message}. Is the devnet running ` +
      "(gridshare devnet start) and was the page opened through `gridshare web`?"));
    main.setAttribute("data-ready", "error");
  }
}

start();
