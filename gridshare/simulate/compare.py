"""One community under several market designs, side by side (``gridshare compare``).

Each design is the same scenario and seed with another ``[market]`` (:data:`DESIGNS`), simulated
end to end on a fresh embedded chain (:func:`gridshare.simulate.simulation.simulate`, every check
included). Per design, from the run's own rows:

* **self-consumption rate**: the local energy consumed (received by sharing + bought in the market)
  over the verified export; **coverage rate**: the same over the verified import;
* **bill per member of each group** (the groups of the simulation's report): supplier cost + market
  purchases - market sales - feed-in revenue, in EUR over the period (local sharing is priced by the
  operation apart, docs/allocation.md: not in it);
* **kWh traded** in the market, **trades**, the **gas** of the run's transactions but the one-off
  setup (deployment, registrations, the market's test euros and approvals: :data:`SETUP`);
* the chain's **cost per household per year**: that gas x gas price x the chain token's price, per
  household, scaled from the simulated days to 365.

The market's role is a scenario field (``[market] role``): after sharing, it trades what the
allocation key left; instead of sharing (a street trading peer to peer), nothing is shared and
every Wh exported and imported meets in the market. On-chain orders (a transaction each) trade
``market_intervals`` intervals a day; batch auctions (orders signed off-chain, a transaction an
interval) trade every interval where a trade is possible.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from gridshare.chain.network import connect
from gridshare.simulate.report import group_rows, participant_group
from gridshare.simulate.scenario import Market, Scenario
from gridshare.simulate.simulation import DEFAULT_MARKET_INTERVALS, simulate

#: the designs compared by default: name -> the scenario's [market]
DESIGNS: dict[str, Market] = {
    "sharing only": Market("continuous", False),
    "continuous market after sharing": Market("continuous", True),
    "call auction after sharing": Market("auction", True),
    "continuous market instead of sharing": Market("continuous", True, "instead-of-sharing"),
    "batch auction after sharing": Market("batch", True),
    "batch auction instead of sharing": Market("batch", True, "instead-of-sharing"),
}
GWEI = Decimal(10) ** -9
#: gas.csv operations done once per community, not per day: left out of the yearly cost
SETUP = ("deploy", "register participants and meters", "market setup (test euros, approvals)")


@dataclass(frozen=True)
class ChainPrices:
    """What the chain costs: ``gas_price_gwei`` per gas, ``token_eur`` per ETH (or the chain's token)."""

    gas_price_gwei: Decimal
    token_eur: Decimal

    def eur(self, gas: int) -> Decimal:
        return Decimal(gas) * self.gas_price_gwei * GWEI * self.token_eur


def design_row(name: str, result, prices: ChainPrices) -> dict:
    """One design's figures (see the module docstring) from its simulation result."""
    parts = result.participants
    exported = sum(r["exported_kwh"] for r in parts)
    imported = sum(r["imported_kwh"] for r in parts)
    local = sum(r["received_locally_kwh"] + r["bought_market_kwh"] for r in parts)
    traded = sum(r["bought_market_kwh"] for r in parts)
    gas = sum(g["total_gas"] for g in result.gas if g["operation"] not in SETUP)
    households = sum(1 for r in parts if r["role"] != "producer")
    days = result.scenario.period.days
    row = {
        "design": name,
        "self_consumption_pct": round(100 * local / exported, 1) if exported else None,
        "coverage_pct": round(100 * local / imported, 1) if imported else None,
        "traded_kwh": round(traded, 3),
        "trades": len(result.trades),
        "gas": gas,
        "chain_eur_per_household_year": round(float(prices.eur(gas) / households * 365 / days), 2) if households else None,
    }
    for g in group_rows(result):
        bill = g["supplier_cost_eur"] + g["paid_market_eur"] - g["earned_market_eur"]
        bill -= sum(r["feed_in_revenue_eur"] for r in parts if participant_group(r) == g["group"])
        row[f"bill_eur_per_member: {g['group']}"] = round(bill / g["participants"], 2)
    return row


def compare(scenario: Scenario, out_dir: Path, prices: ChainPrices, progress=None, *,
            designs: dict[str, Market] | None = None, market_intervals: int = DEFAULT_MARKET_INTERVALS,
            plots: bool = True) -> tuple[list[dict], dict[str, Path]]:
    """Simulate ``scenario`` under each design (its reports in ``out_dir/<design>/``); returns the
    rows, one per design, and the files written (CSV, Markdown, plots)."""
    rows = []
    for name, market in (designs or DESIGNS).items():
        chain = connect("embedded")
        try:
            result = simulate(replace(scenario, market=market), chain, out_dir / _slug(name), progress,
                              market_intervals=market_intervals, plots=False)
        finally:
            chain.close()
        rows.append(design_row(name, result, prices))
    return rows, write(rows, out_dir, prices, plots)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write(rows: list[dict], out_dir: Path, prices: ChainPrices, plots: bool) -> dict[str, Path]:
    """``comparison.csv``, ``comparison.md`` and, with ``plots``, ``rates.png``, ``bills.png`` and
    ``chain.png`` (the chain's cost per household and year, with the kWh traded)."""
    import csv

    out_dir.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(c for r in rows for c in r))
    files = {"csv": out_dir / "comparison.csv", "md": out_dir / "comparison.md"}
    with files["csv"].open("w", newline="") as f:
        writer = csv.DictWriter(f, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"Chain cost at {prices.gas_price_gwei} gwei and {prices.token_eur} EUR per token.", "",
             "| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join("" if r.get(c) is None else f"{r[c]:,}" if isinstance(r.get(c), (int, float))
                                else str(r[c]) for c in columns) + " |" for r in rows]
    files["md"].write_text("\n".join(lines) + "\n")
    if plots:
        files.update(_plots(rows, out_dir, prices))
    return files


def _plots(rows: list[dict], out_dir: Path, prices: ChainPrices) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [textwrap.fill(r["design"], 18) for r in rows]
    files = {}
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38
    for k, (key, label) in enumerate((("self_consumption_pct", "self-consumption"), ("coverage_pct", "coverage"))):
        ax.bar([i + (k - 0.5) * width for i in range(len(rows))], [r[key] or 0 for r in rows], width, label=label)
    ax.set_xticks(range(len(rows)), names, fontsize=8)
    ax.set_ylabel("%")
    ax.set_title("Local energy consumed, by market design")
    ax.legend()
    fig.tight_layout()
    files["rates_png"] = out_dir / "rates.png"
    fig.savefig(files["rates_png"], dpi=110)
    plt.close(fig)

    groups = [c for c in dict.fromkeys(c for r in rows for c in r) if c.startswith("bill_eur_per_member: ")]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(groups))
    for k, g in enumerate(groups):
        ax.bar([i + (k - (len(groups) - 1) / 2) * width for i in range(len(rows))], [r.get(g) or 0 for r in rows],
               width, label=g.split(": ", 1)[1])
    ax.set_xticks(range(len(rows)), names, fontsize=8)
    ax.set_ylabel("EUR per member over the period")
    ax.set_title("Energy bill (supplier + market - sales - feed-in), by group and design")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend(fontsize=8)
    fig.tight_layout()
    files["bills_png"] = out_dir / "bills.png"
    fig.savefig(files["bills_png"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    cost = [r["chain_eur_per_household_year"] or 0 for r in rows]
    bars = ax.bar(range(len(rows)), cost, color="tab:gray")
    ax.bar_label(bars, [f"{r['traded_kwh']:,} kWh traded" for r in rows], fontsize=7)
    ax.set_xticks(range(len(rows)), names, fontsize=8)
    ax.set_ylabel("EUR per household and year")
    ax.set_title(f"The chain's cost (gas at {prices.gas_price_gwei} gwei, {prices.token_eur} EUR per token)")
    fig.tight_layout()
    files["chain_png"] = out_dir / "chain.png"
    fig.savefig(files["chain_png"], dpi=110)
    plt.close(fig)
    return files
