"""Guarantees of origin on a deployed community: monthly batch issuance, listings, claims.

The chain adapter for :mod:`gridshare.protocol.guarantees` (the pure rules) and the ``gridshare go`` commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from web3.logs import DISCARD

from gridshare.chain.deployment import Community
from gridshare.chain.ledger import meters
from gridshare.chain.revert import CustomError
from gridshare.protocol.guarantees import Certificate, ClaimRecord, Declaration, day_of, text_of
from gridshare.protocol.meters import MeterKind
from gridshare.protocol.units import DAY, ZERO_ADDRESS, month_bounds


def read(community: Community, certificate_id: int) -> Certificate:
    """Certificate (or request) ``certificate_id`` as the contract holds it."""
    return Certificate.from_call(certificate_id, community.guarantees.functions.certificate(certificate_id).call())


@dataclass
class Issuance:
    """What :func:`issue` did."""

    requested: list[int] = field(default_factory=list)  # certificate ids requested now
    issued: list[int] = field(default_factory=list)  # of which approved now
    skipped: list[tuple[bytes, CustomError]] = field(default_factory=list)  # refused, with the reason


def month_days(month: str) -> tuple[int, int]:
    """UTC day numbers [first, next month's first) of ``YYYY-MM``."""
    first, after = month_bounds(month)
    return day_of(first), day_of(after)


def issue(
    community: Community,
    producers: Iterable[tuple[bytes, str | None]],
    from_day: int,
    to_day: int,
    declaration: Declaration,
    *,
    approve: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> Issuance:
    """Request certification of each producer's verified export over days [from_day, to_day)
    (``producers``: (meter id, the account that requests: its owner, or None for the sender)) and,
    as the issuing body, approve the requests. A meter the contract refuses (a day already taken:
    a rerun requests nothing twice; the period not verified to its end; nothing to certify) is
    ``skipped`` with its reason."""
    result = Issuance()
    g = community.guarantees
    for meter_id, requester in producers:
        call = g.functions.requestCertification(meter_id, from_day, to_day, declaration.as_call_arg())
        if (refused := community.simulate(call, requester)) is not None:
            result.skipped.append((meter_id, refused))
        else:
            receipt = community.transact(call, requester, simulated=True)
            [event] = g.events.CertificationRequested().process_receipt(receipt, errors=DISCARD)
            result.requested.append(event.args.certificateId)
        if on_progress:
            on_progress(1)
    if approve:
        result.issued = approve_requests(community, result.requested)
    return result


#: Days of production approved in one transaction: approving burns the producer's crypto-kWh of
#: each interval (about 75,000 gas a day), so a batch of 120 days stays near 9M gas.
APPROVAL_DAYS = 120


def approve_requests(community: Community, certificate_ids: list[int]) -> list[int]:
    """The issuing body approves pending requests, batched to about :data:`APPROVAL_DAYS` days of
    production a transaction. Approval issues each from the producer's crypto-kWh still unspent;
    a request whose energy was all spent since is rejected ("nothing unspent"). Returns the ids
    issued."""
    g = community.guarantees
    issued: list[int] = []

    def send(batch: list[int]) -> None:
        receipt = community.transact(g.functions.approve(batch))
        issued.extend(e.args.certificateId for e in g.events.CertificateIssued().process_receipt(receipt, errors=DISCARD))

    batch: list[int] = []
    days = 0
    for cid in certificate_ids:
        c = read(community, cid)
        span = (c.production_end - c.production_start) // DAY
        if batch and days + span > APPROVAL_DAYS:
            send(batch)
            batch, days = [], 0
        batch.append(cid)
        days += span
    if batch:
        send(batch)
    return issued


def issue_month(community: Community, month: str, declaration: Declaration, *, approve: bool = True,
                on_progress: Callable[[int], None] | None = None) -> Issuance:
    """:func:`issue` for every producer of the community over the whole month ``YYYY-MM``, requested
    by the sender (the operator)."""
    from_day, to_day = month_days(month)
    producers = [(m.meter_id, None) for m in meters(community).values()
                 if m.kind in (MeterKind.PRODUCER, MeterKind.PROSUMER)]
    return issue(community, producers, from_day, to_day, declaration, approve=approve, on_progress=on_progress)


def claim(community: Community, holder: str, certificate_id: int, amount_wh: int, beneficiary: bytes,
          consumption_start: int, consumption_end: int, country: str) -> None:
    """``holder`` cancels ``amount_wh`` of a certificate for ``beneficiary`` (a 32-byte reference:
    :func:`gridshare.protocol.guarantees.beneficiary_id`) and a consumption period."""
    community.transact(community.guarantees.functions.claim(
        holder, certificate_id, amount_wh, beneficiary, consumption_start, consumption_end, country.upper().encode()),
        holder)


def holdings(community: Community) -> dict[int, dict[str, int]]:
    """Current holders of every certificate: {certificate id: {holder: Wh}}, from transfer events."""
    g = community.guarantees
    start = community.view.block("GuaranteeOfOrigin")
    touched: dict[int, set[str]] = {}
    for e in g.events.TransferSingle().get_logs(from_block=start):
        touched.setdefault(e.args.id, set()).add(e.args.to)
    for e in g.events.TransferBatch().get_logs(from_block=start):
        for cid in e.args.ids:
            touched.setdefault(cid, set()).add(e.args.to)
    result = {}
    for cid, holders in touched.items():
        holders.discard(ZERO_ADDRESS)
        ordered = sorted(holders)
        balances = g.functions.balanceOfBatch(ordered, [cid] * len(ordered)).call()
        result[cid] = {h: b for h, b in zip(ordered, balances, strict=True) if b}
    return result


def claims_for(community: Community, beneficiary: bytes) -> list[ClaimRecord]:
    """Every claim (cancellation) made for ``beneficiary``, with the transaction proving it."""
    g = community.guarantees
    start = community.view.block("GuaranteeOfOrigin")
    records = []
    cache: dict[int, Certificate] = {}
    for e in g.events.Claimed().get_logs(from_block=start, argument_filters={"beneficiary": beneficiary}):
        a = e.args
        if a.certificateId not in cache:
            cache[a.certificateId] = read(community, a.certificateId)
        records.append(ClaimRecord(cache[a.certificateId], a.holder, a.amountWh, a.consumptionStart,
                                   a.consumptionEnd, text_of(a.country), "0x" + bytes(e.transactionHash).hex(),
                                   e.blockNumber))
    return records
