"""Monthly (or daily) reports of a collective self-consumption operation.

The grid operator's quantities (Enedis R15) per participant and interval, all in Wh:

- producers: PROD (verified export), AUTOPROD (what it delivered locally: crypto-kWh it transferred
  to other participants), SURPLUS = PROD - AUTOPROD;
- consumers: CONS (verified import), AUTOCONS (local energy consumed: crypto-kWh it redeemed),
  COMPLEMENT = CONS - AUTOCONS (what the supplier provides).

The rows (:class:`gridshare.domain.quantities.Quantities`) come from
:func:`gridshare.chain.quantities.quantities`; :func:`summarize` and :func:`participants_table` need
no chain; :func:`write_report` writes CSV files and PNG plots (matplotlib, Agg backend: no display
needed; imported only when writing).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from rich.table import Table

from gridshare.domain.quantities import Quantities, Totals
from gridshare.protocol.units import month_bounds

# colours shared by the plots: local energy is green whichever side it is seen from
LOCAL = "#2e7d32"
COMPLEMENT = "#b0bec5"
PRODUCTION = "#ef6c00"
SURPLUS = "#ffcc80"
DPI = 120


# --- the pure part ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantSummary:
    account: str
    label: str
    totals: Totals

    @property
    def role(self) -> str:
        t = self.totals
        return {(True, True): "prosumer", (True, False): "producer", (False, True): "consumer"}.get(
            (t.prod > 0, t.cons > 0), "-")


@dataclass(frozen=True)
class DayTotals:
    day: date  # local calendar day in the summary's zone
    totals: Totals


@dataclass(frozen=True)
class Summary:
    participants: list[ParticipantSummary]
    community: Totals
    days: list[DayTotals]
    intervals: list[Quantities]  # the community's totals per interval (account "community")
    rows: list[Quantities] = field(repr=False)  # the input, sorted by account and interval
    tz: str = "UTC"
    labels: dict[str, str] = field(default_factory=dict, repr=False)


def short_address(account: str) -> str:
    return f"{account[:6]}..{account[-4:]}" if account.startswith("0x") and len(account) == 42 else account


def local_day(ts: int, tz: str) -> date:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).date()


def summarize(rows: Iterable[Quantities], *, names: Mapping[str, str] | None = None, tz: str = "UTC",
              start: int | None = None, end: int | None = None) -> Summary:
    """Per participant totals and rates, community totals, per-day and per-interval community series.

    ``names`` labels accounts (else a short address) and orders them (named ones first, in the
    mapping's order). Days are calendar days in ``tz``; with ``start`` / ``end`` (unix seconds,
    [start, end)) every day of the period is listed, days without data as zeros.
    """
    rows = sorted(rows, key=lambda q: (q.account, q.interval_start))
    names = dict(names or {})
    per_account: dict[str, Totals] = defaultdict(Totals)
    per_interval: dict[int, Totals] = defaultdict(Totals)
    per_day: dict[date, Totals] = defaultdict(Totals)
    community = Totals()
    for q in rows:
        per_account[q.account] += q
        per_interval[q.interval_start] += q
        per_day[local_day(q.interval_start, tz)] += q
        community += q
    order = {a: i for i, a in enumerate(names)}
    accounts = sorted(per_account, key=lambda a: (order.get(a, len(order)), a))
    labels = {a: names.get(a) or short_address(a) for a in accounts}
    participants = [ParticipantSummary(a, labels[a], per_account[a]) for a in accounts]
    if start is not None and end is not None and end > start:
        first, last = local_day(start, tz), local_day(end - 1, tz)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    else:
        days = sorted(per_day)
    return Summary(
        participants=participants,
        community=community,
        days=[DayTotals(d, per_day.get(d, Totals())) for d in days],
        intervals=[Quantities("community", s, t.prod, t.autoprod, t.cons, t.autocons)
                   for s, t in sorted(per_interval.items())],
        rows=rows,
        tz=tz,
        labels=labels,
    )


def _kwh(wh: int) -> str:
    return f"{wh / 1000:,.2f}"


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def participants_table(summary: Summary, title: str | None = None) -> Table:
    """The participants' summary as a rich table (kWh, rates as percentages), community total last."""
    table = Table(title=(title or "Collective self-consumption per participant") + " (kWh)", title_justify="left")
    columns = ("participant", "role", "produced", "delivered locally", "surplus", "self-consumption rate",
               "consumed", "covered locally", "complement", "local coverage rate")
    for col in columns:
        if col in ("participant", "role"):
            table.add_column(col, no_wrap=True)
        else:
            table.add_column(col, justify="right")

    def cells(t: Totals) -> list[str]:
        return [_kwh(t.prod), _kwh(t.autoprod), _kwh(t.surplus), _pct(t.self_consumption_rate),
                _kwh(t.cons), _kwh(t.autocons), _kwh(t.complement), _pct(t.local_coverage_rate)]

    for i, p in enumerate(summary.participants):
        table.add_row(p.label, p.role, *cells(p.totals), end_section=i == len(summary.participants) - 1)
    table.add_row("community", "", *cells(summary.community), style="bold")
    return table


def period(month: str | None = None, day: date | None = None, tz: str = "UTC") -> tuple[int, int]:
    """[start, end) in unix seconds of a month ``YYYY-MM`` or of one day, as calendar time in ``tz``."""
    zone = ZoneInfo(tz)
    if day is not None:
        first, after = day, day + timedelta(days=1)
    elif month is not None:
        first, after = month_bounds(month)
    else:
        raise ValueError("give a month or a day")
    midnight = datetime.min.time()
    return (int(datetime.combine(first, midnight, zone).timestamp()),
            int(datetime.combine(after, midnight, zone).timestamp()))


# --- outputs ---------------------------------------------------------------------------------------


def _rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


def _write_csvs(summary: Summary, folder: Path) -> list[Path]:
    paths = []
    path = folder / "participants.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account", "name", "role", "produced_kwh", "delivered_locally_kwh", "surplus_kwh",
                    "self_consumption_rate", "consumed_kwh", "covered_locally_kwh", "complement_kwh",
                    "local_coverage_rate"])
        for p in summary.participants:
            t = p.totals
            w.writerow([p.account, p.label, p.role, *(f"{v / 1000:.3f}" for v in (t.prod, t.autoprod, t.surplus)),
                        _rate(t.self_consumption_rate),
                        *(f"{v / 1000:.3f}" for v in (t.cons, t.autocons, t.complement)),
                        _rate(t.local_coverage_rate)])
    paths.append(path)

    path = folder / "intervals.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account", "name", "interval_start_utc", "interval_start", "prod_wh", "autoprod_wh", "surplus_wh",
                    "cons_wh", "autocons_wh", "complement_wh"])
        for q in summary.rows:
            when = datetime.fromtimestamp(q.interval_start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            w.writerow([q.account, summary.labels.get(q.account, short_address(q.account)), when, q.interval_start,
                        q.prod, q.autoprod, q.surplus, q.cons, q.autocons, q.complement])
    paths.append(path)

    path = folder / "days.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["day", "produced_kwh", "delivered_locally_kwh", "surplus_kwh", "consumed_kwh",
                    "covered_locally_kwh", "complement_kwh", "local_coverage_rate"])
        for d in summary.days:
            t = d.totals
            w.writerow([d.day.isoformat(), *(f"{v / 1000:.3f}" for v in (t.prod, t.autoprod, t.surplus, t.cons,
                                                                           t.autocons, t.complement)),
                        _rate(t.local_coverage_rate)])
    paths.append(path)
    return paths


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display: before pyplot is imported
    import matplotlib.pyplot as plt

    return plt


def _style(ax, title: str, ylabel: str, xlabel: str | None = None) -> None:
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _plot_days(plt, summary: Summary, path: Path, title: str) -> Path:
    days = summary.days
    x = list(range(len(days)))
    local = [d.totals.autocons / 1000 for d in days]
    complement = [d.totals.complement / 1000 for d in days]
    production = [d.totals.prod / 1000 for d in days]
    fig, ax = plt.subplots(figsize=(max(8.0, 0.32 * len(days) + 3), 5.5))
    width = 0.7 if len(days) > 1 else 0.35
    ax.bar(x, local, width, color=LOCAL, label="consumption covered locally")
    ax.bar(x, complement, width, bottom=local, color=COMPLEMENT, label="complement from the supplier")
    if len(days) > 1:
        ax.plot(x, production, color=PRODUCTION, marker="o", markersize=4, linewidth=2, label="local production")
    else:  # one day: a line across the bar
        ax.hlines(production, -0.4, 0.4, color=PRODUCTION, linewidth=2.5, label="local production")
    ax.set_xticks(x)
    if len(days) > 10:
        ax.set_xticklabels([f"{d.day.day}" for d in days])
        first, last = days[0].day, days[-1].day
        xlabel = f"day ({first:%d %b} - {last:%d %b %Y})" if first.month != last.month else f"day of {first:%B %Y}"
    else:
        ax.set_xticklabels([f"{d.day:%a %d %b %Y}" for d in days])
        xlabel = "day"
    if len(days) == 1:
        ax.set_xlim(-1, 1)
    ax.set_ylim(0, max(production + [a + b for a, b in zip(local, complement)] + [0.001]) * 1.12)
    c = summary.community
    _style(ax, f"{title}: consumption and local share per day", "energy per day (kWh)", xlabel)
    ax.set_title(ax.get_title("left"), loc="left", fontsize=12, fontweight="bold", pad=20)
    ax.text(0, 1.01, f"{_pct(c.local_coverage_rate)} of consumption covered locally, "
            f"{_pct(c.self_consumption_rate)} of production consumed locally",
            transform=ax.transAxes, fontsize=9, color="#555", va="bottom")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _plot_participants(plt, summary: Summary, path: Path, title: str) -> Path:
    people = summary.participants
    n = len(people)
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.55 * n + 1.8)))
    ys = list(range(n))[::-1]  # first participant on top
    h = 0.38
    prod_y = [y + h / 2 for y in ys]
    cons_y = [y - h / 2 for y in ys]
    t = [p.totals for p in people]
    ax.barh(prod_y, [x.autoprod / 1000 for x in t], h, color=LOCAL, label="delivered locally / covered locally")
    ax.barh(prod_y, [x.surplus / 1000 for x in t], h, left=[x.autoprod / 1000 for x in t], color=SURPLUS,
            label="surplus (production not consumed locally)")
    ax.barh(cons_y, [x.autocons / 1000 for x in t], h, color=LOCAL)
    ax.barh(cons_y, [x.complement / 1000 for x in t], h, left=[x.autocons / 1000 for x in t], color=COMPLEMENT,
            label="complement (consumption from the supplier)")
    longest = max((max(x.prod, x.cons) for x in t), default=0) / 1000
    for y, x in zip(ys, t):
        if x.prod:
            ax.text(x.prod / 1000 + longest * 0.01, y + h / 2, f"produced {_kwh(x.prod)} kWh, "
                    f"{_pct(x.self_consumption_rate)} local", va="center", fontsize=8)
        if x.cons:
            ax.text(x.cons / 1000 + longest * 0.01, y - h / 2, f"consumed {_kwh(x.cons)} kWh, "
                    f"{_pct(x.local_coverage_rate)} local", va="center", fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels([p.label for p in people])
    ax.set_xlim(0, max(longest, 0.001) * 1.45)
    ax.set_ylim(-0.8, n - 0.2)
    _style(ax, f"{title}: production and consumption per participant", "")
    ax.set_xlabel("energy (kWh)")
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _plot_intervals(plt, summary: Summary, path: Path, title: str) -> Path:
    import matplotlib.dates as mdates

    zone = ZoneInfo(summary.tz)
    series = summary.intervals
    step = (series[1].interval_start - series[0].interval_start) if len(series) > 1 else 900
    times = [datetime.fromtimestamp(q.interval_start, zone) for q in series]
    times.append(times[-1] + timedelta(seconds=step))

    def stepped(values: list[float]) -> list[float]:
        return values + values[-1:]

    load = stepped([q.cons / 1000 for q in series])
    prod = stepped([q.prod / 1000 for q in series])
    local = stepped([q.autocons / 1000 for q in series])
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.fill_between(times, 0, local, step="post", color=LOCAL, alpha=0.55, label="consumption covered locally")
    ax.fill_between(times, local, load, step="post", color=COMPLEMENT, alpha=0.5, label="complement from the supplier")
    ax.step(times, load, where="post", color="#37474f", linewidth=1.5, label="community consumption")
    ax.step(times, prod, where="post", color=PRODUCTION, linewidth=2, label="local production")
    ax.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 2), tz=zone))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    ax.set_xlim(times[0], times[-1])
    ax.set_ylim(bottom=0)
    minutes = step // 60
    _style(ax, f"{title}: community load and production per {minutes}-minute interval",
           f"energy per {minutes} min (kWh)", f"local time ({summary.tz}), {times[0]:%A %d %B %Y}")
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def write_report(summary: Summary, folder: Path | str, title: str) -> list[Path]:
    """Write the report into ``folder`` (created): ``participants.csv`` (one row per participant),
    ``intervals.csv`` (R15 quantities per participant and interval, Wh), ``days.csv``, and the plots
    ``days.png`` (per day: consumption split local / complement, production as a line),
    ``participants.png`` and, for a one-day report, ``intervals.png`` (per interval). Returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = _write_csvs(summary, folder)
    plt = _pyplot()
    paths.append(_plot_days(plt, summary, folder / "days.png", title))
    paths.append(_plot_participants(plt, summary, folder / "participants.png", title))
    if len(summary.days) == 1 and summary.intervals:
        paths.append(_plot_intervals(plt, summary, folder / "intervals.png", title))
    return paths
