"""Members' monthly statements at the operation's local price: one CSV of every member, and a
readable page per member (:class:`gridshare.domain.billing.MemberMonth` computes the amounts)."""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path

from gridshare.domain.billing import MemberMonth
from gridshare.reports.pages import write_csv, write_page

COLUMNS = ["member", "account", "received_locally_kwh", "given_locally_kwh", "from_supplier_kwh",
           "to_grid_kwh", "gifts_given_kwh", "gifts_received_kwh", "local_price_per_kwh", "owes", "earns", "balance"]


def _kwh(wh: int) -> str:
    return f"{Decimal(wh) / 1000:.3f}"


def rows(months: list[MemberMonth]) -> list[dict[str, str]]:
    return [{
        "member": m.label,
        "account": m.account,
        "received_locally_kwh": _kwh(m.totals.autocons),
        "given_locally_kwh": _kwh(m.totals.autoprod),
        "from_supplier_kwh": _kwh(m.totals.complement),
        "to_grid_kwh": _kwh(m.totals.surplus),
        "gifts_given_kwh": _kwh(m.gifts_given_wh),
        "gifts_received_kwh": _kwh(m.gifts_received_wh),
        "local_price_per_kwh": str(m.price_per_kwh),
        "owes": str(m.owes),
        "earns": str(m.earns),
        "balance": str(m.balance),
    } for m in months]


def _gifts(m: MemberMonth, row: dict[str, str]) -> str:
    """The statement's sentence on solidarity, if the member gave or received."""
    parts = []
    if m.gifts_given_wh:
        parts.append(f"gave {row['gifts_given_kwh']} kWh to energy-poor neighbours")
    if m.gifts_received_wh:
        parts.append(f"received {row['gifts_received_kwh']} kWh from neighbours' gifts")
    return f"<p>Solidarity: the member {' and '.join(parts)} (free of charge).</p>\n" if parts else ""


def write_bills(months: list[MemberMonth], folder: Path, *, month: str, currency: str = "EUR") -> list[Path]:
    """``bills-<month>.csv`` (every member) and ``bill-<month>-<member>.html`` per member, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    table = rows(months)
    paths = [write_csv(folder / f"bills-{month}.csv", COLUMNS, table)]
    e = html.escape
    for m, row in zip(months, table):
        stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in m.label)
        verb = "is paid" if m.balance >= 0 else "pays"
        intro = f"""<h1>Local energy, {e(month)}</h1>
<p>Member <strong>{e(m.label)}</strong> (<code>{e(m.account)}</code>), at the operation's local price of
{e(str(m.price_per_kwh))} {e(currency)}/kWh.</p>
<p>Received locally {e(row["received_locally_kwh"])} kWh ({e(row["owes"])} {e(currency)}); gave
{e(row["given_locally_kwh"])} kWh ({e(row["earns"])} {e(currency)}). Its supplier delivered the other
{e(row["from_supplier_kwh"])} kWh it consumed (billed by that supplier); {e(row["to_grid_kwh"])} kWh of its
production went to the grid.</p>
{_gifts(m, row)}<p class="total">The member {verb} {e(str(abs(m.balance)))} {e(currency)}.</p>
<p>Quantities: the grid operator's R15 figures (AUTOCONS, AUTOPROD, COMPLEMENT, SURPLUS) from the
operation's verified readings and settlements on-chain.</p>"""
        paths.append(write_page(folder / f"bill-{month}-{stem}.html", f"Local energy {month} - {m.label}", intro,
                                COLUMNS, [row]))
    return paths
