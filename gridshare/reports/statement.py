"""Statements, as CSV and HTML: the guarantees of origin cancelled for one beneficiary
(:func:`write`: each line cites the certificate's data - device, source, technology, country,
production period, issue date, issuing body, support - and the transaction of the claim that
proves it), and an account's time-matched consumption (:func:`write_matched`: granular claims).
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

from gridshare.protocol.guarantees import ClaimRecord, Support, TimeMatchedClaim, period_text
from gridshare.reports.pages import write_csv, write_page

COLUMNS = [
    "certificate", "amount_kwh", "consumption_period", "consumption_country", "device", "energy_source",
    "technology", "production_country", "region", "capacity_kw", "commissioned", "production_period",
    "issued", "issuing_body", "support", "holder", "transaction", "block",
]


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d") if ts else ""


def rows(claims: list[ClaimRecord]) -> list[dict[str, str]]:
    out = []
    for c in claims:
        cert = c.certificate
        out.append({
            "certificate": str(cert.id),
            "amount_kwh": f"{c.amount_wh / 1000:.3f}",
            "consumption_period": period_text(c.consumption_start, c.consumption_end),
            "consumption_country": c.country,
            "device": "0x" + cert.meter_id.hex(),
            "energy_source": cert.energy_source,
            "technology": cert.technology,
            "production_country": cert.country,
            "region": cert.region,
            "capacity_kw": f"{cert.capacity_w / 1000:g}",
            "commissioned": _date(cert.commissioning_date),
            "production_period": period_text(cert.production_start, cert.production_end),
            "issued": _date(cert.issue_date),
            "issuing_body": cert.issuing_body,
            "support": Support(cert.support).name.lower().replace("_", " "),
            "holder": c.holder,
            "transaction": c.transaction,
            "block": str(c.block),
        })
    return out


def write(beneficiary: str, claims: list[ClaimRecord], folder: Path, *, chain_id: int, contract: str) -> tuple[Path, Path]:
    """Write ``statement-<beneficiary>.csv`` and ``.html`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "statement-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in beneficiary)
    table = rows(claims)
    total = sum(c.amount_wh for c in claims) / 1000
    e = html.escape
    intro = f"""<h1>Disclosure statement: guarantees of origin</h1>
<p>Beneficiary: <strong>{e(beneficiary)}</strong></p>
<p class="total">{total:,.3f} kWh of renewable electricity cancelled in {len(claims)} claim(s).</p>
<p>Each claim is the <code>Claimed</code> event of the GuaranteeOfOrigin contract <code>{e(contract)}</code>
on chain {chain_id}, in the transaction shown (EN 16325 cancellation).</p>"""
    return (write_csv(folder / f"{stem}.csv", COLUMNS, table),
            write_page(folder / f"{stem}.html", f"Guarantees of origin - {beneficiary}", intro, COLUMNS, table))


MATCHED_COLUMNS = ["beneficiary", "device", "producer", "production_interval", "consumption_interval",
                   "amount_kwh", "how", "transaction"]


def matched_rows(claims: list[TimeMatchedClaim]) -> list[dict[str, str]]:
    """Time-matched claims as rows with a granular certificate's fields (EnergyTag-style: device,
    production and consumption interval, energy, beneficiary)."""
    def interval(c: TimeMatchedClaim) -> str:
        start = datetime.fromtimestamp(c.interval_start, timezone.utc)
        end = datetime.fromtimestamp(c.interval_end, timezone.utc)
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC"

    return [{"beneficiary": c.beneficiary, "device": "0x" + c.device.hex(), "producer": c.producer,
             "production_interval": interval(c), "consumption_interval": interval(c),
             "amount_kwh": f"{c.amount_wh / 1000:.3f}", "how": c.how, "transaction": c.transaction}
            for c in claims]


def write_matched(account: str, claims: list[TimeMatchedClaim], folder: Path, *, chain_id: int,
                  token: str) -> tuple[Path, Path]:
    """Write ``statement-matched-<account>.csv`` and ``.html``: the account's time-matched claims."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"statement-matched-{account}"
    table = matched_rows(claims)
    shared = sum(c.amount_wh for c in claims if c.how == "shared") / 1000
    claimed = sum(c.amount_wh for c in claims if c.how == "claimed") / 1000
    e = html.escape
    intro = f"""<h1>Statement: time-matched local consumption</h1>
<p>Beneficiary: <strong>{e(account)}</strong></p>
<p class="total">{shared + claimed:,.3f} kWh consumed in the interval it was produced: {shared:,.3f} kWh
shared by the operation, {claimed:,.3f} kWh of crypto-kWh it acquired and claimed.</p>
<p>Each line is a granular claim: the device that produced the energy, the 15-minute interval of
production and of consumption (the same), and the transaction that settled or redeemed it on
chain {chain_id} (EnergyToken <code>{e(token)}</code>). These are not EN 16325 cancellations; the
guarantees of origin claimed for this beneficiary are in its disclosure statement.</p>"""
    return (write_csv(folder / f"{stem}.csv", MATCHED_COLUMNS, table),
            write_page(folder / f"{stem}.html", f"Time-matched consumption - {account}", intro, MATCHED_COLUMNS, table))
