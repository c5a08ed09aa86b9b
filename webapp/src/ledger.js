// The members' figures from a community's decoded events: no chain access here (chain.js reads the
// events), so the same functions run in the browser and in the tests. Every quantity is in Wh.
//
// R15 quantities (docs/protocol.md, "One Wh, one claim"): PROD and CONS from the verified readings
// (ReadingsVerified, credited to the meter's owner), AUTOPROD (given) and AUTOCONS (received) from the
// operation's settlements (SettledLocally); SURPLUS = PROD - AUTOPROD, COMPLEMENT = CONS - AUTOCONS
// (the supplier's part). Trades and claims come from the market's and the token's events.

export const FIELDS = ["prod", "autoprod", "surplus", "cons", "autocons", "complement", "bought", "sold", "claimed"];

const hexBytes = (hex) => {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
};
const uint = (bytes, from, to) => {
  let v = 0n;
  for (let i = from; i < to; i++) v = (v << 8n) | BigInt(bytes[i]);
  return v;
};
const address = (bytes, from) => {
  let s = "0x";
  for (let i = from; i < from + 20; i++) s += bytes[i].toString(16).padStart(2, "0");
  return s;
};

/** The intervals of a ReadingsVerified run: 8 bytes each, importWh then exportWh (uint32, big-endian). */
export function unpackEnergy(hex) {
  const b = hexBytes(hex);
  const out = [];
  for (let p = 0; p + 8 <= b.length; p += 8) out.push({ importWh: Number(uint(b, p, p + 4)), exportWh: Number(uint(b, p + 4, p + 8)) });
  return out;
}

/** The entries of a SettledLocally event: account (20 bytes) | givenWh (uint64) | receivedWh (uint64). */
export function unpackEntries(hex) {
  const b = hexBytes(hex);
  if (b.length % 36) throw new Error(`${b.length} bytes of SettledLocally entries is not a whole number of 36-byte entries`);
  const out = [];
  for (let p = 0; p < b.length; p += 36) out.push({ account: address(b, p), givenWh: Number(uint(b, p + 20, p + 28)), receivedWh: Number(uint(b, p + 28, p + 36)) });
  return out;
}

/** The trades of a BatchSettled event: buyer (20 bytes) | seller (20 bytes) | Wh (uint40). */
export function unpackFills(hex) {
  const b = hexBytes(hex);
  if (b.length % 45) throw new Error(`${b.length} bytes of fills is not a whole number of 45-byte fills`);
  const out = [];
  for (let p = 0; p < b.length; p += 45) out.push({ buyer: address(b, p), seller: address(b, p + 20), quantityWh: Number(uint(b, p + 40, p + 45)) });
  return out;
}

const lower = (a) => a.toLowerCase();
const num = (v) => Number(v);

/**
 * The community's ledger from its decoded events (objects `{name, args, address?}` in chain order;
 * `args` by parameter name, integers as bigint or number, bytes as 0x hex).
 * Returns {participants, meters, cells, trades, certificates, certificateClaims, redemptions, gifts}: `cells`
 * maps `${account}|${intervalStart}` to {account, start, prod, autoprod, cons, autocons, bought, sold,
 * claimed}; accounts are lower-case 0x addresses.
 */
export function buildLedger(events, intervalSeconds) {
  const seconds = num(intervalSeconds);
  const meters = new Map(); // meterId -> {meterId, owner, kind, capacityW}
  const participants = new Set();
  const cells = new Map();
  const cell = (account, start) => {
    const key = `${account}|${start}`;
    let c = cells.get(key);
    if (!c) cells.set(key, (c = { account, start, prod: 0, autoprod: 0, cons: 0, autocons: 0, bought: 0, sold: 0, claimed: 0 }));
    return c;
  };
  const orderOwners = new Map(); // market order id -> owner
  const trades = [];
  const certificates = new Map(); // id -> {id, meterId, owner, amountWh, claimedWh}
  const certificateClaims = [];
  const redemptions = [];
  const gifts = []; // Solidarity: crypto-kWh given to energy-poor members (consumed by them: their claims)
  for (const e of events) {
    const a = e.args;
    switch (e.name) {
      case "ParticipantRegistered":
        participants.add(lower(a.account));
        break;
      case "MeterRegistered":
        meters.set(a.meterId, { meterId: a.meterId, owner: lower(a.owner), kind: num(a.kind), capacityW: num(a.capacityW) });
        participants.add(lower(a.owner));
        break;
      case "ReadingsVerified": {
        const owner = meters.get(a.meterId)?.owner;
        if (owner === undefined) throw new Error(`readings of an unregistered meter ${a.meterId}`);
        unpackEnergy(a.energyWh).forEach((v, k) => {
          const c = cell(owner, num(a.firstIntervalStart) + k * seconds);
          c.prod += v.exportWh;
          c.cons += v.importWh;
        });
        break;
      }
      case "SettledLocally": {
        const start = num(a.intervalId) * seconds;
        for (const entry of unpackEntries(a.entries)) {
          const c = cell(entry.account, start);
          c.autoprod += entry.givenWh;
          c.autocons += entry.receivedWh;
        }
        break;
      }
      case "OrderPlaced":
        orderOwners.set(num(a.orderId), lower(a.owner));
        break;
      case "Traded":
        trades.push({ intervalId: num(a.intervalId), buyer: orderOwners.get(num(a.bidId)), seller: orderOwners.get(num(a.askId)),
                      quantityWh: num(a.quantityWh), price: BigInt(a.price), via: "order book" });
        break;
      case "BatchSettled":
        for (const f of unpackFills(a.fills)) trades.push({ intervalId: num(a.intervalId), ...f, price: BigInt(a.price), via: "batch" });
        break;
      case "Redeemed": {
        const r = { account: lower(a.account), intervalId: num(a.intervalId), amountWh: num(a.amountWh) };
        redemptions.push(r);
        cell(r.account, r.intervalId * seconds).claimed += r.amountWh;
        break;
      }
      case "Given":
        gifts.push({ giver: lower(a.giver), recipient: lower(a.recipient), intervalId: num(a.intervalId), amountWh: num(a.amountWh) });
        break;
      case "CertificateIssued":
        certificates.set(num(a.certificateId), { id: num(a.certificateId), meterId: a.meterId, owner: lower(a.owner), amountWh: num(a.amountWh), claimedWh: 0 });
        break;
      case "Claimed": {
        const claim = { certificateId: num(a.certificateId), holder: lower(a.holder), beneficiary: beneficiaryText(a.beneficiary),
                        amountWh: num(a.amountWh), consumptionStart: num(a.consumptionStart), consumptionEnd: num(a.consumptionEnd) };
        certificateClaims.push(claim);
        const c = certificates.get(claim.certificateId);
        if (c) c.claimedWh += claim.amountWh;
        break;
      }
      default:
        break;
    }
  }
  for (const t of trades) {
    const start = t.intervalId * seconds;
    cell(t.buyer, start).bought += t.quantityWh;
    cell(t.seller, start).sold += t.quantityWh;
    if (t.via === "batch") cell(t.buyer, start).claimed += t.quantityWh; // a batch's buyers claim at once
  }
  for (const g of gifts) cell(g.recipient, g.intervalId * seconds).claimed += g.amountWh; // a gift is consumed at once
  return { participants: [...participants].sort(), meters: [...meters.values()], cells, trades,
           certificates: [...certificates.values()], certificateClaims, redemptions, gifts };
}

/** A bytes32 beneficiary as text when it is right-padded ASCII (docs/protocol.md), else its hex. */
export function beneficiaryText(hex) {
  const b = hexBytes(hex);
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  for (let i = 0; i < end; i++) if (b[i] < 0x20 || b[i] > 0x7e) return hex;
  return String.fromCharCode(...b.slice(0, end));
}

/** The calendar day (YYYY-MM-DD) of a unix time in a time zone. */
export function dayOf(seconds, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(seconds * 1000));
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** The local time (YYYY-MM-DD HH:MM) of a unix time in a time zone. */
export function timeOf(seconds, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                                                    minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(seconds * 1000));
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
}

/**
 * One account's (or, with account null, the community's) figures summed per period: unit "month"
 * (YYYY-MM), "day" (YYYY-MM-DD) or "interval" (local start time), keeping only periods that start
 * with `within` (a month or a day; "" for all). Rows sorted by period, with surplus and complement.
 */
export function periods(ledger, account, unit, timeZone, within = "") {
  const rows = new Map();
  for (const c of ledger.cells.values()) {
    if (account !== null && c.account !== account) continue;
    const day = dayOf(c.start, timeZone);
    const key = unit === "month" ? day.slice(0, 7) : unit === "day" ? day : timeOf(c.start, timeZone);
    if (!key.startsWith(within)) continue;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { period: key, start: c.start, prod: 0, autoprod: 0, cons: 0, autocons: 0, bought: 0, sold: 0, claimed: 0 }));
    r.start = Math.min(r.start, c.start);
    for (const f of ["prod", "autoprod", "cons", "autocons", "bought", "sold", "claimed"]) r[f] += c[f];
  }
  return [...rows.values()].sort((x, y) => x.start - y.start).map((r) => ({ ...r, surplus: r.prod - r.autoprod, complement: r.cons - r.autocons }));
}

/** AUTOPROD / PROD (the share of production consumed locally) and AUTOCONS / CONS (the share of
 * consumption covered locally); null where there is nothing to divide. */
export function rates(row) {
  return { selfConsumption: row.prod ? row.autoprod / row.prod : null, coverage: row.cons ? row.autocons / row.cons : null };
}
