"""Guarantees of origin (EN 16325): the pure-Python side - calendar, declarations, encodings.

Certificates are issued per device over whole UTC days (``day = unix time // 86400``) and expire
``expiryMonths`` calendar months after the end of their production period; ``add_months`` is the
same rule as the contract's ``CalendarMonths.add`` (a shorter month clamps the day).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timezone
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
    return _fixed(name, 32, "beneficiary")


def day_of(moment: date | datetime | int) -> int:
    """The UTC day number of a date, datetime or unix time."""
    if isinstance(moment, int):
        return moment // DAY
    if isinstance(moment, datetime):
        return int(moment.astimezone(timezone.utc).timestamp()) // DAY
    return int(datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc).timestamp()) // DAY


def add_months(timestamp: int, months: int) -> int:
    """``timestamp`` plus whole calendar months, UTC; the day of month clamps to a shorter month."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())
