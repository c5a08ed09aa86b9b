"""Guarantees of origin on a deployed community: monthly batch issuance, listings, claims.

The chain adapter for :mod:`gridshare.protocol.guarantees` (the pure rules) and the ``gridshare go`` commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from web3.logs import DISCARD

from gridshare.chain.deployment import Community
from gridshare.protocol.guarantees import DAY, Declaration, Status, day_of, text_of
from gridshare.chain.ledger import meters
from gridshare.protocol.meters import MeterKind
from gridshare.chain.revert import CustomError
from gridshare.protocol.units import month_bounds


@dataclass(frozen=True)
class CertificateView:
    id: int
    meter_id: bytes
    amount_wh: int
    production_start: int
    production_end: int
    issue_date: int
    expires_at: int
    status: Status
    revoked: bool
    issuing_body: str
    energy_source: str
    country: str
    region: str
    support: int
    technology: str
    capacity_w: int
    commissioning_date: int

    @classmethod
    def read(cls, community: Community, certificate_id: int) -> CertificateView:
        c = community.guarantees.functions.certificate(certificate_id).call()
        source, country, region, support = c[9]
        return cls(certificate_id, c[0], c[1], c[2], c[3], c[4], c[5], Status(c[6]), c[7], c[8], text_of(source),
                   text_of(country), text_of(region), support, text_of(c[10]), c[11], c[12])


@dataclass
class MonthIssuance:
    requested: list[int]
    issued: list[int]
    skipped: list[tuple[bytes, CustomError]]


def month_days(month: str) -> tuple[int, int]:
    """UTC day numbers [first, next month's first) of ``YYYY-MM``."""
    first, after = month_bounds(month)
    return day_of(first), day_of(after)


def issue_month(
    community: Community,
    month: str,
    declaration: Declaration,
    *,
    approve: bool = True,
    batch_size: int = 50,
    on_progress: Callable[[int], None] | None = None,
) -> MonthIssuance:
    """Request (and, as the issuing body, approve) certificates for every active producer of the
    community over the whole month. A producer that cannot be certified (a day already taken, the
    month not verified to its end, no production) is skipped with the contract's reason."""
    from_day, to_day = month_days(month)
    result = MonthIssuance([], [], [])
    producers = [m for m in meters(community).values() if m.kind in (MeterKind.PRODUCER, MeterKind.PROSUMER)]
    g = community.guarantees
    for m in producers:
        call = g.functions.requestCertification(m.meter_id, from_day, to_day, declaration.as_call_arg())
        refused = community.simulate(call)
        if refused is not None:
            result.skipped.append((m.meter_id, refused))
        else:
            receipt = community.transact(call, simulated=True)
            [event] = g.events.CertificationRequested().process_receipt(receipt, errors=DISCARD)
            result.requested.append(event.args.certificateId)
        if on_progress:
            on_progress(1)
    if approve:
        for k in range(0, len(result.requested), batch_size):
            batch = result.requested[k : k + batch_size]
            community.transact(g.functions.approve(batch))
            result.issued += batch
    return result


def holdings(community: Community) -> dict[int, dict[str, int]]:
    """Current holders of every certificate: {certificate id: {holder: Wh}}, from transfer events."""
    g = community.guarantees
    start = community.manifest["contracts"]["GuaranteeOfOrigin"]["blockNumber"]
    touched: dict[int, set[str]] = {}
    for e in g.events.TransferSingle().get_logs(from_block=start):
        touched.setdefault(e.args.id, set()).add(e.args.to)
    for e in g.events.TransferBatch().get_logs(from_block=start):
        for cid in e.args.ids:
            touched.setdefault(cid, set()).add(e.args.to)
    result = {}
    for cid, holders in touched.items():
        holders.discard("0x" + "00" * 20)
        ordered = sorted(holders)
        balances = g.functions.balanceOfBatch(ordered, [cid] * len(ordered)).call()
        result[cid] = {h: b for h, b in zip(ordered, balances, strict=True) if b}
    return result


@dataclass(frozen=True)
class ClaimRecord:
    certificate: CertificateView
    holder: str
    amount_wh: int
    consumption_start: int
    consumption_end: int
    country: str
    transaction: str
    block: int


def claims_for(community: Community, beneficiary: bytes) -> list[ClaimRecord]:
    """Every claim (cancellation) made for ``beneficiary``, with the transaction proving it."""
    g = community.guarantees
    start = community.manifest["contracts"]["GuaranteeOfOrigin"]["blockNumber"]
    records = []
    cache: dict[int, CertificateView] = {}
    for e in g.events.Claimed().get_logs(from_block=start, argument_filters={"beneficiary": beneficiary}):
        a = e.args
        if a.certificateId not in cache:
            cache[a.certificateId] = CertificateView.read(community, a.certificateId)
        records.append(ClaimRecord(cache[a.certificateId], a.holder, a.amountWh, a.consumptionStart,
                                   a.consumptionEnd, text_of(a.country), "0x" + bytes(e.transactionHash).hex(),
                                   e.blockNumber))
    return records


def period_text(start: int, end: int) -> str:
    """A day period as ``2026-06-01 .. 2026-06-30`` (inclusive end day)."""
    from datetime import datetime, timezone

    first = datetime.fromtimestamp(start, timezone.utc).date()
    last = datetime.fromtimestamp(end - DAY if end - start >= DAY else end, timezone.utc).date()
    return f"{first} .. {last}"
