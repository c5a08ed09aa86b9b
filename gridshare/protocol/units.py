"""Units and encodings every client of the protocol shares, defined once.

- Time: unix seconds, UTC. An interval is ``[start, start + seconds)`` with ``start`` a multiple of
  the deployment's interval length; its **interval id** is ``start // seconds`` (the EnergyToken id
  of that interval, a ``uint64`` in every interface). A day number is ``timestamp // DAY``.
- Energy: Wh, integers. Money: base units of the payment token (``TOKEN_DECIMALS`` = 6 for the
  devnet's TestEuro and the default prices: 1 EUR = 1,000,000 base units).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from gridshare.errors import GridshareError

DAY = 86_400
ZERO_ADDRESS = "0x" + "00" * 20
TOKEN_DECIMALS = 6
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1


def utc_text(timestamp: int) -> str:
    """A unix time as people read it: ``2026-06-21 12:00 UTC``."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def interval_id(interval_start: int, interval_seconds: int) -> int:
    """The protocol's interval id of the interval starting at ``interval_start``."""
    return interval_start // interval_seconds


def interval_start(interval_id: int, interval_seconds: int) -> int:
    return interval_id * interval_seconds


def aligned_interval_id(timestamp: int, interval_seconds: int, what: str = "the time") -> int:
    """The id of the interval starting exactly at ``timestamp``; refuses a time inside an interval."""
    if timestamp % interval_seconds:
        raise GridshareError(f"{what} is not the start of a {interval_seconds // 60}-minute interval")
    return timestamp // interval_seconds


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of ``YYYY-MM`` and the first day of the month after."""
    try:
        year, mo = (int(x) for x in month.split("-"))
        first = date(year, mo, 1)
    except ValueError:
        raise GridshareError(f"{month!r} is not a month YYYY-MM") from None
    return first, date(year + (mo == 12), mo % 12 + 1, 1)


def to_base_units(amount: Decimal | str, decimals: int = TOKEN_DECIMALS, what: str = "amount") -> int:
    """``amount`` tokens (or tokens per kWh) as base units; refuses more decimals than the token has."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise GridshareError(f"{what} {amount!r} is not a number") from None
    if not value.is_finite():
        raise GridshareError(f"{what} {amount!r} is not a finite number")
    scaled = value.scaleb(decimals)
    if scaled < 0:
        raise GridshareError(f"{what} {amount} is negative")
    if scaled != scaled.to_integral_value():
        raise GridshareError(f"{what} {amount} has more decimals than the payment token ({decimals})")
    if scaled > UINT256_MAX:
        raise GridshareError(f"{what} {amount} is too large")
    return int(scaled)


def euros(base_units: int | float, decimals: int = TOKEN_DECIMALS) -> float:
    """Base units of the payment token as a float number of tokens, for reports and plots."""
    return base_units / 10**decimals


def from_base_units(units: int, decimals: int = TOKEN_DECIMALS) -> Decimal:
    """Base units as tokens, without trailing zeros (``150000`` -> ``0.15``)."""
    return Decimal(units).scaleb(-decimals).normalize()
