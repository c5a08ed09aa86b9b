"""Guarantees of origin (EN 16325): the pure-Python side - calendar, declarations, encodings.

Certificates are issued per device over whole UTC days (``day = unix time // 86400``) and expire
``expiryMonths`` calendar months after the start of their production period; ``add_months`` is the
same rule as the contract's ``CalendarMonths.add`` (a shorter month clamps the day).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum

from gridshare.errors import GridshareError
from gridshare.protocol.units import DAY


#: EECS energy source codes (fact sheet EECS-08) for the sources a community has
ENERGY_SOURCES = {
    "solar": "F01010100",
    "wind": "F01030100",
    "hydro": "F01050100",
    "biomass": "F01020100",
}


class Support(IntEnum):
    """As ``IGuaranteeOfOrigin.Support``."""

    NONE = 0
    INVESTMENT = 1
    OPERATING = 2
    INVESTMENT_AND_OPERATING = 3

    @classmethod
    def parse(cls, text: str) -> Support:
        try:
            return cls[text.strip().upper().replace("-", "_").replace("+", "_AND_")]
        except KeyError:
            raise GridshareError(f"unknown support {text!r}: use none, investment, operating or "
                                 "investment-and-operating") from None


class Status(IntEnum):
    NONE = 0
    PENDING = 1
    ISSUED = 2
    REJECTED = 3


def _fixed(text: str, size: int, what: str) -> bytes:
    raw = text.encode("ascii", errors="strict") if text.isascii() else None
    if raw is None or len(raw) > size:
        raise GridshareError(f"{what} {text!r} must be at most {size} ASCII characters")
    return raw.ljust(size, b"\0")


def text_of(raw: bytes) -> str:
    """A fixed-size field back to text."""
    return raw.rstrip(b"\0").decode("ascii", errors="replace")


@dataclass(frozen=True)
class Declaration:
    """What a producer declares about its device; the issuing body checks it."""

    energy_source: str = ENERGY_SOURCES["solar"]  # EECS code
    country: str = "FR"  # ISO 3166-1 alpha-2
    region: str = ""  # e.g. a NUTS code, FRK26 for the Rhone department
    support: Support = Support.NONE

    def as_call_arg(self) -> tuple:
        if len(self.country) != 2 or not self.country.isalpha():
            raise GridshareError(f"country {self.country!r} must be an ISO 3166-1 alpha-2 code such as FR")
        return (_fixed(self.energy_source, 12, "energy source"), _fixed(self.country.upper(), 2, "country"),
                _fixed(self.region, 6, "region"), int(self.support))


def beneficiary_id(name: str) -> bytes:
    """The on-chain beneficiary: up to 32 ASCII bytes of a reference (a contract or customer
    number, never personal data in clear)."""
    if not name.strip():
        raise GridshareError("the beneficiary is empty: name who the energy is claimed for (a contract or customer "
                             "reference, up to 32 ASCII characters)")
    return _fixed(name, 32, "beneficiary")


def day_of(moment: date | datetime | int) -> int:
    """The UTC day number of a date, datetime or unix time."""
    if isinstance(moment, int):
        return moment // DAY
    if isinstance(moment, datetime):
        return int(moment.astimezone(timezone.utc).timestamp()) // DAY
    return int(datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc).timestamp()) // DAY


def month_periods(from_day: int, to_day: int) -> list[tuple[int, int]]:
    """Days [from_day, to_day) cut at the first day of each calendar month (UTC): the periods a
    certificate may cover, in order."""
    periods = []
    first = from_day
    while first < to_day:
        d = date(1970, 1, 1) + timedelta(days=first)
        next_month = (date(d.year + (d.month == 12), d.month % 12 + 1, 1) - date(1970, 1, 1)).days
        after = min(next_month, to_day)
        periods.append((first, after))
        first = after
    return periods


def add_months(timestamp: int, months: int) -> int:
    """``timestamp`` plus whole calendar months, UTC; the day of month clamps to a shorter month."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


@dataclass(frozen=True)
class Certificate:
    """A certificate (or a request), decoded from ``GuaranteeOfOrigin.certificate(id)``."""

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
    def from_call(cls, certificate_id: int, c: tuple) -> Certificate:
        """From the ABI tuple the contract returns."""
        source, country, region, support = c[9]
        return cls(certificate_id, c[0], c[1], c[2], c[3], c[4], c[5], Status(c[6]), c[7], c[8], text_of(source),
                   text_of(country), text_of(region), support, text_of(c[10]), c[11], c[12])


@dataclass(frozen=True)
class ClaimRecord:
    certificate: Certificate
    holder: str
    amount_wh: int
    consumption_start: int
    consumption_end: int
    country: str
    transaction: str
    block: int


def period_text(start: int, end: int) -> str:
    """A day period as ``2026-06-01 .. 2026-06-30`` (inclusive end day)."""
    first = datetime.fromtimestamp(start, timezone.utc).date()
    last = datetime.fromtimestamp(end - DAY if end - start >= DAY else end, timezone.utc).date()
    return f"{first} .. {last}"


@dataclass(frozen=True)
class TimeMatchedClaim:
    """Crypto-kWh an account consumed against its verified import of the same interval, with the
    fields of a granular certificate: the producing device, the production and consumption
    interval (the same), the Wh and the beneficiary (the consuming account). ``how``: ``shared``
    (the operation's settlement gave it) or ``claimed`` (the account redeemed crypto-kWh it bought
    or was given)."""

    beneficiary: str
    device: bytes  # the producing meter's id
    producer: str  # its owner
    interval_start: int  # unix seconds: production and consumption interval
    interval_end: int
    amount_wh: int
    how: str
    transaction: str
