"""The reports of a simulation (:mod:`gridshare.simulate.simulation`): tables, CSV files, plots, one HTML page.

Written into the simulation's output folder by :func:`write_reports`:

* ``intervals.csv`` -- the grid operator's quantities (R15: PROD, AUTOPROD, SURPLUS, CONS, AUTOCONS,
  COMPLEMENT, Wh) per participant and interval, in the scenario's local time;
* ``participants.csv`` -- per participant: kWh produced, self-consumed behind the meter, given and
  received locally, bought and sold in the market, given to and received by energy-poor households,
  from the supplier and to the grid, money paid
  and earned, certificates of origin issued, held and claimed for it, SolarReward tokens earned, what
  the treasury paid it;
* ``solidarity.csv`` -- every gift to an energy-poor household (interval, giver, recipient, Wh);
* ``orders.csv``, ``trades.csv``, ``certificates.csv``, ``gas.csv`` (transactions and gas per
  operation), ``timings.csv`` (wall time per phase);
* ``community.png`` (load, production and the local share over time), ``households.png`` (where
  each household's energy came from), ``prices.png`` (trade prices against retail and feed-in);
* ``report.html``: one page with the summary, the plots embedded and the tables.
"""

from __future__ import annotations

import base64
import csv
import html
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gridshare.domain.quantities import Totals
from gridshare.protocol.units import euros
from gridshare.simulate.result import SimulationResult

__all__ = ["interval_rows", "participant_rows", "summary_rows", "group_rows", "write_reports", "local_time"]

WEEK = 7 * 86_400


def local_time(ts: int, tz: str) -> str:
    """``YYYY-MM-DD HH:MM`` of unix time ``ts`` in time zone ``tz`` (the reports' time format)."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def interval_rows(people, starts, chain_rows, tz) -> list[dict]:
    rows = []
    for i, s in enumerate(starts):
        for p in people:
            q = chain_rows[(p.name, i)]
            prod, autoprod, cons, autocons = q.prod, q.autoprod, q.cons, q.autocons
            rows.append({"interval_start": local_time(s, tz), "unix": s, "participant": p.name, "role": p.role,
                         "PROD": prod, "AUTOPROD": autoprod, "SURPLUS": prod - autoprod,
                         "CONS": cons, "AUTOCONS": autocons, "COMPLEMENT": cons - autocons})
    return rows


def participant_rows(people, chain_rows, trades, certificates, claimed, prices, n, gifts=(), rewards=None,
                     treasury_paid=None) -> list[dict]:
    """The rows of participants.csv: energy (kWh), money (EUR) and certificates (kWh) per
    participant, from the chain's quantities (``chain_rows``: (name, interval index) ->
    :class:`~gridshare.domain.quantities.Quantities`), the trades, the certificates and the Wh claimed per
    beneficiary, the gifts to energy-poor households (``gifts``: rows of solidarity.csv) and the
    SolarReward tokens each holds (``rewards``: name -> whole tokens) and what the treasury paid it
    (``treasury_paid``: name -> EUR). What
    sharing, gifts and the market did not cover comes from the supplier at retail; what they did not
    take goes to the grid at the feed-in price."""
    rows = []
    for p in people:
        totals = sum((chain_rows[(p.name, i)] for i in range(n)), Totals())
        prod, autoprod, cons, autocons = totals.prod, totals.autoprod, totals.cons, totals.autocons
        bought = sum(t["quantity_wh"] for t in trades if t["buyer"] == p.name)
        sold = sum(t["quantity_wh"] for t in trades if t["seller"] == p.name)
        paid = sum(t["paid_eur"] for t in trades if t["buyer"] == p.name)
        earned = sum(t["seller_received_eur"] for t in trades if t["seller"] == p.name)
        pv = sum(p.profile.pv_wh)
        certified = sum(c["amount_wh"] for c in certificates if c["producer"] == p.name)
        held = sum(c["held_wh"] for c in certificates if c["producer"] == p.name)
        gave = sum(g["wh"] for g in gifts if g["giver"] == p.name)
        got = sum(g["wh"] for g in gifts if g["recipient"] == p.name)
        supplier = cons - autocons - bought - got
        grid = prod - autoprod - sold - gave
        rows.append({
            "participant": p.name, "role": p.role, "energy_poor": p.energy_poor, "account": p.account,
            "meter_id": p.hex,
            "pv_kwh": pv / 1000, "self_consumed_behind_meter_kwh": (pv - prod) / 1000,
            "exported_kwh": prod / 1000, "given_locally_kwh": autoprod / 1000,
            "imported_kwh": cons / 1000, "received_locally_kwh": autocons / 1000,
            "bought_market_kwh": bought / 1000, "sold_market_kwh": sold / 1000,
            "given_solidarity_kwh": gave / 1000, "received_solidarity_kwh": got / 1000,
            "from_supplier_kwh": supplier / 1000, "to_grid_kwh": grid / 1000,
            "paid_market_eur": round(paid, 6), "earned_market_eur": round(earned, 6),
            "supplier_cost_eur": round(euros(supplier * prices.retail / 1000), 6),
            "feed_in_revenue_eur": round(euros(grid * prices.feed_in / 1000), 6),
            "certified_kwh": certified / 1000, "certificates_held_kwh": held / 1000,
            "certificates_claimed_for_it_kwh": claimed.get(p.name, 0) / 1000,
            "solar_reward_tokens": (rewards or {}).get(p.name, 0),
            "treasury_paid_eur": (treasury_paid or {}).get(p.name, 0.0),
        })
    return rows


# --------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------


def _csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header or (list(rows[0]) if rows else ["empty"]),
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_reports(result: SimulationResult, times: dict[str, float], plots: bool) -> dict[str, Path]:
    """Every file of the module docstring, into ``result.out_dir`` (``times``: wall time per phase,
    to which plotting is added)."""
    out = result.out_dir
    files = {
        "intervals": _csv(out / "intervals.csv", result.rows),
        "participants": _csv(out / "participants.csv", result.participants),
        "trades": _csv(out / "trades.csv", result.trades, None if result.trades else
                       ["interval_start", "interval_id", "bid_id", "ask_id", "buyer", "seller", "quantity_wh",
                        "price_eur_per_kwh", "paid_eur", "grid_fee_eur", "seller_received_eur"]),
        "orders": _csv(out / "orders.csv", result.orders, ["order_id", "interval_start", "interval_id", "owner", "side",
                                                           "price_eur_per_kwh", "quantity_wh"]),
        "gas": _csv(out / "gas.csv", result.gas, ["operation", "transactions", "total_gas", "gas_per_interval"]),
        "certificates": _csv(out / "certificates.csv", result.certificates,
                             ["id", "producer", "account", "amount_wh", "from", "to", "status", "held_wh"]),
        "solidarity": _csv(out / "solidarity.csv", result.gifts,
                           ["interval_start", "interval_id", "giver", "recipient", "wh"]),
    }
    if plots:
        t0 = time.perf_counter()
        files.update(_plots(result))
        times["reports: plots"] = times.get("reports: plots", 0.0) + time.perf_counter() - t0
    result.timings = dict(times)
    files["timings"] = _csv(out / "timings.csv", [{"phase": k, "seconds": round(v, 3)}
                                                  for k, v in result.timings.items()], ["phase", "seconds"])
    files["html"] = _html(result, files)
    return files


def _plots(result: SimulationResult) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    tz = ZoneInfo(result.scenario.location.timezone)
    out = result.out_dir
    def save(fig, time_axis, path: Path) -> Path:
        """Write ``fig`` to ``path`` (with local date-times on ``time_axis``, if any) and close it."""
        if time_axis is not None:
            time_axis.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))
            time_axis.grid(alpha=0.3)
            fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    files = {}
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in result.rows:
        cell = per[r["unix"]]
        cell[0] += r["PROD"]
        cell[1] += r["CONS"]
        cell[2] += r["AUTOCONS"]
    seconds = result.scenario.period.interval_seconds
    times = [datetime.fromtimestamp(s, tz) for s in sorted(per)]
    kw = 3600 / seconds / 1000  # Wh per interval -> kW

    fig, ax = plt.subplots(figsize=(11, 4))
    ax.fill_between(times, [per[s][1] * kw for s in sorted(per)], step="post", color="#b0bec5",  # type: ignore[arg-type]
                    label="community load (grid import)")
    ax.fill_between(times, [per[s][2] * kw for s in sorted(per)], step="post", color="#2e7d32",  # type: ignore[arg-type]
                    label="shared locally")
    ax.step(times, [per[s][0] * kw for s in sorted(per)], where="post", color="#ef6c00",  # type: ignore[arg-type]
            label="production (export)")
    ax.set_ylabel("kW")
    ax.set_title(f"{result.scenario.name}: load, production and local share")
    ax.legend(loc="upper left", fontsize=8)
    files["community_png"] = save(fig, ax, out / "community.png")

    households = [r for r in result.participants if r["role"] != "producer"]
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(households) + 3), 4))
    names = [r["participant"].removeprefix("household-") for r in households]
    local = [r["received_locally_kwh"] for r in households]
    bought = [r["bought_market_kwh"] for r in households]
    supplier = [r["from_supplier_kwh"] for r in households]
    ax.bar(names, local, color="#2e7d32", label="shared locally")
    ax.bar(names, bought, bottom=local, color="#1565c0", label="bought in the market")
    ax.bar(names, supplier, bottom=[a + b for a, b in zip(local, bought)], color="#b0bec5", label="supplier")
    ax.set_ylabel("kWh")
    ax.set_xlabel("household")
    ax.set_title("Where each household's grid import came from")
    ax.tick_params(axis="x", labelsize=7, rotation=90 if len(names) > 20 else 0)
    ax.legend(fontsize=8)
    files["households_png"] = save(fig, None, out / "households.png")

    fig, ax = plt.subplots(figsize=(11, 3.5))
    prices = result.scenario.prices
    if result.trades:
        by_time = defaultdict(list)
        for t in result.trades:
            by_time[t["interval_start"]].append((t["price_eur_per_kwh"], t["quantity_wh"]))
        xs = [datetime.strptime(k, "%Y-%m-%d %H:%M").replace(tzinfo=tz) for k in by_time]
        avg = [sum(p * q for p, q in v) / sum(q for _, q in v) for v in by_time.values()]
        ax.plot(xs, avg, "o", color="#1565c0", label="trade price (quantity-weighted)")  # type: ignore[arg-type]
    ax.axhline(euros(prices.retail), color="#c62828", ls="--", lw=1, label="retail")
    ax.axhline(euros(prices.feed_in), color="#ef6c00", ls="--", lw=1, label="feed-in")
    ax.set_ylabel("EUR/kWh")
    ax.set_title("Market prices" + ("" if result.trades else " (no trade)"))
    ax.legend(fontsize=8)
    files["prices_png"] = save(fig, ax, out / "prices.png")
    return files


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "<p>none</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)

    def cell(v):
        if isinstance(v, float):
            return f"{v:,.3f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return html.escape(str(v))

    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_rows(result: SimulationResult) -> list[dict]:
    """The headline figures of a run (``figure``, ``value``): the report's first table."""
    parts = result.participants
    produced = sum(r["exported_kwh"] for r in parts)
    consumed = sum(r["imported_kwh"] for r in parts)
    local = sum(r["received_locally_kwh"] for r in parts)
    traded = sum(r["bought_market_kwh"] for r in parts)
    summary = [
        {"figure": "participants", "value": len(parts)},
        {"figure": "intervals", "value": result.intervals},
        {"figure": "production exported to the grid (kWh)", "value": round(produced, 3)},
        {"figure": "consumption imported from the grid (kWh)", "value": round(consumed, 3)},
        {"figure": "shared locally (kWh)", "value": round(local, 3)},
        {"figure": "self-consumption rate", "value": f"{local / produced:.1%}" if produced else "-"},
        {"figure": "local coverage rate", "value": f"{local / consumed:.1%}" if consumed else "-"},
        {"figure": "traded in the market (kWh)", "value": round(traded, 3)},
        {"figure": "given to energy-poor households (kWh)",
         "value": round(sum(r["received_solidarity_kwh"] for r in parts), 3)},
        {"figure": "trades", "value": len(result.trades)},
        {"figure": "certificates of origin", "value": len(result.certificates)},
        {"figure": "certified (kWh)", "value": round(sum(r["certified_kwh"] for r in parts), 3)},
        {"figure": "SolarReward earned (SUN, 1 per MWh of verified solar export)",
         "value": sum(r["solar_reward_tokens"] for r in parts)},
        *_vote_rows(result.vote),
        {"figure": "claimed for households (kWh)",
         "value": round(sum(r["certificates_claimed_for_it_kwh"] for r in parts), 3)},
        {"figure": "checks against the engines",
         "value": ", ".join(f"{k}: {v}" for k, v in result.checks.items()) + f"; {len(result.mismatches)} differ"},
    ]
    if result.offset_seconds:
        summary.append({"figure": "on-chain time shift",
                        "value": f"{result.offset_seconds // WEEK} weeks (the chain's clock was past the period)"})
    return summary


def _vote_rows(vote: dict) -> list[dict]:
    """The treasury's round, if the scenario has one: the proposal, the votes, the payout."""
    if not vote:
        return []
    cast = vote["for_votes"] + vote["against_votes"] + vote["abstain_votes"]
    return [{"figure": f"treasury proposal {vote['proposal']} (pay the energy-poor households)",
             "value": vote["state"].lower()},
            {"figure": "votes for / against / abstaining (of all votes)",
             "value": f"{vote['for_votes']:,.1f} / {vote['against_votes']:,.1f} / {vote['abstain_votes']:,.1f} "
                      f"(turnout {cast / vote['total_votes']:.0%} of {vote['total_votes']:,.1f}; quorum "
                      f"{vote['quorum_percent']} %)"}]


GROUP_COLUMNS = ["exported_kwh", "given_locally_kwh", "imported_kwh", "received_locally_kwh", "bought_market_kwh",
                 "sold_market_kwh", "given_solidarity_kwh", "received_solidarity_kwh", "from_supplier_kwh", "to_grid_kwh", "paid_market_eur", "earned_market_eur",
                 "supplier_cost_eur", "certificates_claimed_for_it_kwh", "treasury_paid_eur"]


def participant_group(r: dict) -> str:
    """A participants.csv row's group: the shared plant, households with a rooftop, the other
    households, the energy-poor ones."""
    if r["role"] == "producer":
        return "shared plant"
    if r["energy_poor"]:
        return "energy-poor households"
    return "households with a rooftop" if r["role"] == "prosumer" else "other households"


def group_rows(result: SimulationResult) -> list[dict]:
    """The participants added up by group (:func:`participant_group`; ``participants`` is how
    many; the rest are sums)."""
    group = participant_group
    groups: dict[str, dict] = {}
    for r in result.participants:
        g = groups.setdefault(group(r), {"group": group(r), "participants": 0, **dict.fromkeys(GROUP_COLUMNS, 0.0)})
        g["participants"] += 1
        for c in GROUP_COLUMNS:
            g[c] += r[c]
    return [{k: round(v, 3) if isinstance(v, float) else v for k, v in g.items()} for g in groups.values()]


def _html(result: SimulationResult, files: dict[str, Path]) -> Path:
    s = result.scenario
    parts = result.participants
    summary = summary_rows(result)
    images = []
    for key, caption in (("community_png", "Community load, production and local share"),
                         ("households_png", "Per household"), ("prices_png", "Market prices")):
        if key in files:
            data = base64.b64encode(files[key].read_bytes()).decode()
            images.append(f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                          f"<figcaption>{caption} ({files[key].name})</figcaption></figure>")
    columns = ["participant", "role", "energy_poor", "pv_kwh", "exported_kwh", "given_locally_kwh", "imported_kwh",
               "received_locally_kwh", "bought_market_kwh", "sold_market_kwh", "given_solidarity_kwh",
               "received_solidarity_kwh", "from_supplier_kwh", "to_grid_kwh", "paid_market_eur", "earned_market_eur",
               "certified_kwh", "certificates_held_kwh", "certificates_claimed_for_it_kwh", "solar_reward_tokens",
               "treasury_paid_eur"]
    timings = [{"phase": k, "seconds": round(v, 2)} for k, v in result.timings.items()]
    mismatch = ("<p class=ok>The chain's quantities and trades equal the pure engines' on the same inputs.</p>"
                if not result.mismatches else "<p class=bad>Differences: " +
                "<br>".join(html.escape(m) for m in result.mismatches[:20]) + "</p>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(s.name)} - gridshare simulation</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:1em auto;color:#222}}
table{{border-collapse:collapse;font-size:12px;margin:0.5em 0}}td,th{{border:1px solid #ccc;padding:2px 6px;
text-align:right}}th{{background:#eee}}td:first-child{{text-align:left}}img{{max-width:100%}}
.ok{{color:#2e7d32}}.bad{{color:#c62828}}</style></head><body>
<h1>{html.escape(s.name)}</h1>
<p>{s.period.start} + {s.period.days} day(s), {s.period.interval_minutes}-minute intervals, {html.escape(s.location.timezone)};
allocation key <b>{html.escape(s.allocation.key)}</b>; market <b>{html.escape(s.market.design)}</b>
({'enabled' if s.market.enabled else 'disabled'}); retail {euros(s.prices.retail):.3f}, feed-in
{euros(s.prices.feed_in):.3f}, grid fee {euros(s.prices.grid_fee):.3f} EUR/kWh.</p>
{_table(summary)}
{mismatch}
{''.join(images)}
<p>Sharing comes first and the market sells what it leaves, interval by interval. With a dynamic key
an interval is left with either a surplus (every household served) or a need (all production shared),
hardly ever both: little is traded. A static key without reallocation leaves both, and trades more.</p>
<h2>By group</h2>
{_table(group_rows(result))}
<h2>Participants</h2>
{_table(parts, columns)}
<h2>Guarantees of origin</h2>
{_table(result.certificates)}
<h2>Gas per operation</h2>
{_table(result.gas)}
<h2>Wall time per phase</h2>
{_table(timings)}
<p>Files: {', '.join(html.escape(p.name) for p in files.values())}, report.html.</p>
</body></html>
"""
    path = result.out_dir / "report.html"
    path.write_text(page)
    return path
