// A bar chart as inline SVG (no chart library, nothing fetched): per period, production and
// consumption side by side, each split into its local part (shared) and the rest (surplus, supplier).

const NS = "http://www.w3.org/2000/svg";
const el = (name, attrs, text) => {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
};

export const COLOURS = { autoprod: "#f2a900", surplus: "#ffd97a", autocons: "#2e8b57", complement: "#9fb8c8" };

/** rows: [{period, prod, autoprod, surplus, cons, autocons, complement}] (Wh); returns an <svg>. */
export function barChart(rows, { title, label = (p) => p } = {}) {
  const width = 640, height = 240, left = 48, bottom = 40, top = 24;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title ?? "chart", class: "chart" });
  const max = Math.max(1, ...rows.map((r) => Math.max(r.prod, r.cons)));
  const kwh = max / 1000;
  const step = 10 ** Math.floor(Math.log10(kwh || 1));
  const tick = [1, 2, 5, 10].map((m) => m * step).find((t) => kwh / t <= 5) ?? step * 10;
  const y = (wh) => height - bottom - (wh / max) * (height - bottom - top);
  for (let t = 0; t * 1000 <= max; t += tick) {
    svg.append(el("line", { x1: left, x2: width, y1: y(t * 1000), y2: y(t * 1000), class: "grid" }));
    svg.append(el("text", { x: left - 6, y: y(t * 1000) + 4, "text-anchor": "end", class: "axis" }, `${+t.toFixed(3)}`));
  }
  svg.append(el("text", { x: 4, y: 14, class: "axis" }, "kWh"));
  const slot = (width - left) / Math.max(rows.length, 1);
  const bar = Math.max(1, Math.min(24, slot * 0.38));
  const every = Math.ceil(rows.length / 12);
  rows.forEach((r, i) => {
    const x = left + i * slot + slot / 2;
    const stack = (x0, parts) => {
      let base = 0;
      for (const [field, wh] of parts) {
        if (wh > 0) svg.append(el("rect", { x: x0, y: y(base + wh), width: bar, height: y(base) - y(base + wh), fill: COLOURS[field] },));
        base += wh;
      }
    };
    stack(x - bar - 1, [["autoprod", r.autoprod], ["surplus", r.surplus]]);
    stack(x + 1, [["autocons", r.autocons], ["complement", r.complement]]);
    if (i % every === 0) svg.append(el("text", { x, y: height - bottom + 16, "text-anchor": "middle", class: "axis" }, label(r.period)));
  });
  return svg;
}

/** The chart's legend, as HTML. */
export function legend() {
  const names = { autoprod: "production shared", surplus: "surplus (to the grid)", autocons: "received locally", complement: "from the supplier" };
  const div = document.createElement("div");
  div.className = "legend";
  for (const [field, text] of Object.entries(names)) {
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${COLOURS[field]}"></i>${text}`;
    div.append(item);
  }
  return div;
}
