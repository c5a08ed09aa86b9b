"""`gridshare go ...`: guarantees of origin from the command line."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from rich.table import Table
from web3.logs import DISCARD

from gridshare.chain import certificates
from gridshare.chain.certificates import claims_for, holdings, issue_month
from gridshare.chain.claims import time_matched_claims
from gridshare.chain.ledger import meters
from gridshare.cli.context import Context, console, err_console, pass_ctx, progress, show
from gridshare.cli.params import ADDRESS, CERTIFICATE_ID, DAY, OUTPUT_FOLDER, WH, meter_of, salt_option
from gridshare.errors import GridshareError
from gridshare.protocol.guarantees import ENERGY_SOURCES, period_text, Declaration, Support, beneficiary_id, day_of
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.units import DAY as SECONDS_PER_DAY
from gridshare.protocol.units import month_bounds
from gridshare.reports import statement


def _declaration_options(f):
    f = click.option("--support", default="none", show_default=True,
                     help="Support received: none, investment, operating, investment-and-operating.")(f)
    f = click.option("--region", default="", help="Region code (up to 6 characters, e.g. the NUTS code FRK26).")(f)
    f = click.option("--country", default="FR", show_default=True, help="ISO 3166-1 alpha-2 country of the device.")(f)
    f = click.option("--source", default="solar", show_default=True,
                     help=f"Energy source: {', '.join(ENERGY_SOURCES)} or an EECS code.")(f)
    return f


def _declaration(source: str, country: str, region: str, support: str) -> Declaration:
    return Declaration(ENERGY_SOURCES.get(source, source), country.upper(), region, Support.parse(support))


def _existing(c, *certificate_ids: int) -> None:
    """Refuse ids of certificates that do not exist (the contract would name another error)."""
    count = c.guarantees.functions.certificateCount().call()
    for cid in certificate_ids:
        if cid > count:
            raise GridshareError(f"certificate {cid} does not exist: the community has {count} certificates and "
                                 "requests (see `gridshare go list`)")


def _ids(community, receipt, event) -> list[int]:
    return [e.args.certificateId for e in event().process_receipt(receipt, errors=DISCARD)]


@click.group()
def go():
    """Guarantees of origin (EN 16325) from verified production."""


@go.command("request")
@click.argument("meter")
@click.option("--from", "from_date", type=DAY, required=True, help="First day of production, YYYY-MM-DD (UTC).")
@click.option("--to", "to_date", type=DAY, required=True, help="Day after the last day of production, YYYY-MM-DD (UTC).")
@salt_option
@_declaration_options
@pass_ctx
def go_request(ctx: Context, meter, from_date, to_date, salt, source, country, region, support):
    """Request certification of METER (its 0x meterId, or its meter point with --salt) over [--from, --to)."""
    mid = meter_of(meter, salt)
    decl = _declaration(source, country, region, support).as_call_arg()
    from_day, to_day = day_of(from_date), day_of(to_date)
    with ctx.community() as c:
        call = c.guarantees.functions.requestCertification(mid, from_day, to_day, decl)
        [cid] = _ids(c, c.transact(call), c.guarantees.events.CertificationRequested)
        view = certificates.read(c, cid)
    console.print(f"request {cid}: {view.amount_wh / 1000:,.3f} kWh from 0x{mid.hex()[:12]}.. over "
                  f"{period_text(view.production_start, view.production_end)}, pending approval")


@go.command("issue-month")
@click.argument("month")
@click.option("--request-only", is_flag=True, help="Only request; the issuing body approves later.")
@_declaration_options
@pass_ctx
def go_issue_month(ctx: Context, month, request_only, source, country, region, support):
    """Certify MONTH (YYYY-MM) for every producer of the community, in one go."""
    month_bounds(month)  # a bad month: one line, before connecting
    decl = _declaration(source, country, region, support)
    decl.as_call_arg()  # validates before connecting
    with ctx.community() as c:
        total = sum(1 for m in meters(c).values() if m.kind != MeterKind.CONSUMER)
        with progress("certifying producers") as bar:
            task = bar.add_task("go", total=total)
            result = issue_month(c, month, decl, approve=not request_only, on_progress=lambda n: bar.advance(task, n))
        amounts = {cid: certificates.read(c, cid).amount_wh for cid in result.requested}
    verb = "requested" if request_only else "issued"
    console.print(f"{month}: {len(result.requested)} certificates {verb}, "
                  f"{sum(amounts.values()) / 1000:,.3f} kWh; {len(result.skipped)} producers skipped")
    for mid, error in result.skipped:
        err_console.print(f"skipped 0x{mid.hex()[:12]}..: {error}", highlight=False)
    if not result.requested:
        raise GridshareError(f"nothing certified in {month}: certificates cover whole UTC days of a producer's "
                             "readings after its registration, verified to the day's end (gridshare --network anvil "
                             "meter state 0xMETER says where they end); pick a month with such days")


@go.command("approve")
@click.argument("ids", nargs=-1, type=CERTIFICATE_ID, required=True)
@pass_ctx
def go_approve(ctx: Context, ids):
    """Approve pending requests IDS (issuing body): mints the certificates."""
    with ctx.community() as c:
        _existing(c, *ids)
        c.transact(c.guarantees.functions.approve(list(ids)))
    console.print(f"issued {', '.join(map(str, ids))}")


def _reason(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 32:
        raise GridshareError(f"--reason is {len(raw)} bytes; at most 32")
    return raw.ljust(32, b"\0")


@go.command("reject")
@click.argument("certificate_id", type=CERTIFICATE_ID)
@click.option("--reason", required=True, help="Up to 32 bytes.")
@pass_ctx
def go_reject(ctx: Context, certificate_id, reason):
    """Reject a pending request (issuing body); its days may be requested again."""
    reason = _reason(reason)
    with ctx.community() as c:
        _existing(c, certificate_id)
        c.transact(c.guarantees.functions.reject(certificate_id, reason))
    console.print(f"request {certificate_id} rejected")


@go.command("revoke")
@click.argument("certificate_id", type=CERTIFICATE_ID)
@click.option("--reason", required=True, help="Up to 32 bytes.")
@pass_ctx
def go_revoke(ctx: Context, certificate_id, reason):
    """Revoke a certificate (issuing body): it can no longer move or be claimed."""
    reason = _reason(reason)
    with ctx.community() as c:
        _existing(c, certificate_id)
        c.transact(c.guarantees.functions.revoke(certificate_id, reason))
    console.print(f"certificate {certificate_id} revoked")


@go.command("transfer")
@click.argument("certificate_id", type=CERTIFICATE_ID)
@click.argument("amount_wh", type=WH)
@click.argument("to", type=ADDRESS)
@pass_ctx
def go_transfer(ctx: Context, certificate_id, amount_wh, to):
    """Transfer AMOUNT_WH of a certificate to TO (from --account)."""
    with ctx.community() as c:
        _existing(c, certificate_id)
        c.transact(c.guarantees.functions.safeTransferFrom(c.chain.sender, to, certificate_id, amount_wh, b""))
    console.print(f"{amount_wh:,} Wh of certificate {certificate_id} -> {to}")


@go.command("claim")
@click.argument("certificate_id", type=CERTIFICATE_ID)
@click.argument("amount_wh", type=WH)
@click.option("--beneficiary", required=True, help="Who the energy is claimed for (a reference, up to 32 ASCII bytes).")
@click.option("--from", "from_date", type=DAY, required=True, help="Consumption period start, YYYY-MM-DD.")
@click.option("--to", "to_date", type=DAY, required=True, help="Consumption period end (exclusive), YYYY-MM-DD.")
@click.option("--country", default="FR", show_default=True, help="Country of consumption.")
@pass_ctx
def go_claim(ctx: Context, certificate_id, amount_wh, beneficiary, from_date, to_date, country):
    """Claim (cancel) AMOUNT_WH of a certificate held by --account for a beneficiary."""
    if len(country) != 2:
        raise GridshareError(f"--country {country!r} must be an ISO 3166-1 alpha-2 code such as FR")
    start, end = day_of(from_date) * SECONDS_PER_DAY, day_of(to_date) * SECONDS_PER_DAY
    who = beneficiary_id(beneficiary)
    with ctx.community() as c:
        _existing(c, certificate_id)
        certificates.claim(c, c.chain.sender, certificate_id, amount_wh, who, start, end, country)
    console.print(f"claimed {amount_wh:,} Wh of certificate {certificate_id} for {beneficiary}")


@go.command("list")
@click.option("--holder", type=ADDRESS, help="Only certificates this account holds.")
@pass_ctx
def go_list(ctx: Context, holder):
    """Certificates with their data, status and holders."""
    with ctx.community(read_only=True) as c:
        count = c.guarantees.functions.certificateCount().call()
        views = [certificates.read(c, i) for i in range(1, count + 1)]
        held = holdings(c)
    table = Table(title="Guarantees of origin", title_justify="left")
    for col in ("id", "device", "production", "kWh", "status", "issued", "expires", "holders (kWh)"):
        table.add_column(col, justify="right" if col in ("id", "kWh") else "left")
    for v in views:
        holders = held.get(v.id, {})
        if holder and holder not in holders:
            continue
        status = "revoked" if v.revoked else v.status.name.lower()
        if v.status.name == "ISSUED" and not v.revoked and v.expires_at <= datetime.now(timezone.utc).timestamp():
            status = "expired"
        table.add_row(str(v.id), "0x" + v.meter_id.hex()[:10] + "..", period_text(v.production_start, v.production_end),
                      f"{v.amount_wh / 1000:,.3f}", status,
                      datetime.fromtimestamp(v.issue_date, timezone.utc).strftime("%Y-%m-%d") if v.issue_date else "",
                      datetime.fromtimestamp(v.expires_at, timezone.utc).strftime("%Y-%m-%d"),
                      ", ".join(f"{a[:8]}..: {w / 1000:,.3f}" for a, w in holders.items()))
    show(table, "no certificates yet")


@go.command("statement")
@click.argument("beneficiary")
@click.option("--out", "folder", type=OUTPUT_FOLDER, default=Path("reports"), show_default=True)
@pass_ctx
def go_statement(ctx: Context, beneficiary, folder):
    """Disclosure statement for BENEFICIARY: its cancelled certificates as CSV and HTML."""
    with ctx.community(read_only=True) as c:
        claims = claims_for(c, beneficiary_id(beneficiary))
        paths = statement.write(beneficiary, claims, folder, chain_id=c.chain.chain_id,
                                contract=c.guarantees.address)
    total = sum(x.amount_wh for x in claims) / 1000
    console.print(f"{beneficiary}: {len(claims)} claims, {total:,.3f} kWh -> {paths[0]}, {paths[1]}")


@go.command("matched")
@click.argument("account", type=ADDRESS)
@click.option("--out", "folder", type=OUTPUT_FOLDER, default=Path("reports"), show_default=True)
@pass_ctx
def go_matched(ctx: Context, account, folder):
    """Time-matched statement for ACCOUNT: the Wh it consumed in the interval they were produced
    (shared by the operation, or crypto-kWh it bought and redeemed), by producing device."""
    with ctx.community(read_only=True) as c:
        matched = time_matched_claims(c, account)
        paths = statement.write_matched(account, matched, folder, chain_id=c.chain.chain_id, token=c.token.address)
    total = sum(x.amount_wh for x in matched) / 1000
    console.print(f"{account}: {len(matched)} time-matched claims, {total:,.3f} kWh -> {paths[0]}, {paths[1]}")
