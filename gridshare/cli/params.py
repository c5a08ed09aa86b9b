"""Click parameter types of the domain: addresses, meter ids, times, days, token amounts.

Each refuses a bad value in one line that says what is expected, before any chain is reached.
"""

from __future__ import annotations

import math
import os
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from eth_utils import is_address, is_checksum_address, to_checksum_address

from gridshare.errors import GridshareError
from gridshare.protocol.meters import meter_id, parse_salt
from gridshare.protocol.units import aligned_interval_id

#: the last second a date can show (the end of the year 9999): later times are refused
LAST_TIME = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp())


def shown(value: object, limit: int = 24) -> str:
    """A value as the user gave it, shortened if very long (a 91-digit number is named by its size)."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    if text.isdigit():
        return f"{text[:6]}...{text[-3:]} ({len(text)} digits)"
    return repr(text[:limit] + "...")


class UInt(click.ParamType):
    """An integer from ``minimum`` to 2**bits - 1 (the Solidity type it becomes), refused before any
    chain is reached: an id or a quantity out of range is a typo, never a transaction."""

    name = "integer"

    def __init__(self, bits: int, minimum: int = 0, what: str = "an integer"):
        self.maximum = 2**bits - 1
        self.minimum = minimum
        self.what = what

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip().replace("_", "")
            if not text.isdigit() or not text.isascii():
                self.fail(f"{shown(value)} is not {self.what} (a whole number, {self.minimum:,} or more)", param, ctx)
            number = int(text)
        if not self.minimum <= number <= self.maximum:
            top = f"{self.maximum:,}" if self.maximum < 2**64 else f"2^{self.maximum.bit_length()} - 1"
            self.fail(f"{shown(value)} is out of range: {self.what} is {self.minimum:,} to {top}", param, ctx)
        return number


#: a certificate or request id (uint256, from 1)
CERTIFICATE_ID = UInt(256, 1, "a certificate id")
#: a market order id (uint64, from 1)
ORDER_ID = UInt(64, 1, "an order id")
#: an energy in Wh (uint64, from 1): what certificates and orders count
WH = UInt(64, 1, "an energy in Wh")


class Days(click.ParamType):
    """A finite, positive number of days, at most ``maximum`` (a devnet clock moves forward only:
    a typo such as 1e12 would strand it in a year no date can show)."""

    name = "days"

    def __init__(self, maximum: float = 36_500):
        self.maximum = maximum

    def convert(self, value, param, ctx):
        try:
            days = float(value)
        except (TypeError, ValueError):
            days = math.nan
        if not math.isfinite(days) or days <= 0:
            self.fail(f"{shown(value)} is not a positive number of days (e.g. 1 or 0.5)", param, ctx)
        if days > self.maximum:
            self.fail(f"{shown(value)} days is more than {self.maximum:,.0f} days (100 years): the devnet's clock "
                      "cannot move back, so a typo here is not allowed", param, ctx)
        return days


class Address(click.ParamType):
    """An Ethereum address; a mixed-case one must carry a valid EIP-55 checksum (a typo is refused)."""

    name = "address"

    def convert(self, value, param, ctx):
        text = str(value)
        if not is_address(text):
            self.fail(f"{text!r} is not an Ethereum address", param, ctx)
        body = text.removeprefix("0x")
        if body != body.lower() and body != body.upper() and not is_checksum_address(text):
            self.fail(f"{text!r} has a wrong EIP-55 checksum (a typo?); check it, or write it in lower case",
                      param, ctx)
        return to_checksum_address(text)


class MeterId(click.ParamType):
    """A meterId: 0x + 64 hex digits."""

    name = "meter_id"

    def convert(self, value, param, ctx):
        if isinstance(value, bytes):
            return value
        try:
            raw = bytes.fromhex(str(value).removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            self.fail(f"{value!r} is not a meterId (0x + 64 hex digits); `gridshare meter id` gives it", param, ctx)
        return raw


class When(click.ParamType):
    """A moment as unix seconds: a date YYYY-MM-DD (its start) or a time YYYY-MM-DDTHH:MM, UTC unless
    an offset is given."""

    name = "time"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM (UTC)", param, ctx)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = int(when.timestamp())
        if not 0 <= seconds <= LAST_TIME:
            self.fail(f"{shown(value)} is before 1970 or after 9999 (UTC)", param, ctx)
        return seconds


class Day(click.ParamType):
    """A calendar date YYYY-MM-DD; with ``past``, not after today (UTC): a date that has happened."""

    name = "date"

    def __init__(self, past: bool = False):
        self.past = past

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            day = value
        else:
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                self.fail(f"{shown(value)} is not a date YYYY-MM-DD", param, ctx)
        today = datetime.now(timezone.utc).date()
        if self.past and day > today:
            self.fail(f"{day} is in the future (today is {today} UTC): give the date it happened", param, ctx)
        return day


class Tokens(click.ParamType):
    """A non-negative amount of tokens (or of tokens per kWh) as a Decimal; converted to base units
    with :func:`gridshare.protocol.units.to_base_units` once the token's decimals are known."""

    name = "amount"

    def convert(self, value, param, ctx):
        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            self.fail(f"{value!r} is not a non-negative number of tokens", param, ctx)
        return amount


class LocalPrice(click.ParamType):
    """A price per kWh in currency units (e.g. ``0.15``): finite, at least 0, below 1,000."""

    name = "price"

    def convert(self, value, param, ctx):
        try:
            price = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{value!r} is not a price per kWh (e.g. 0.15)", param, ctx)
        if not price.is_finite() or not 0 <= price < 1000:
            self.fail(f"{value!r} is not a price per kWh between 0 and 1,000 (e.g. 0.15)", param, ctx)
        return price


class MeterPoint(click.ParamType):
    """A meter point number (PRM/PDL: 14 digits; an EAN-18; other grids' codes): 6 to 34 digits or
    capital letters, no spaces. Its salted hash is the meterId, so a typo would silently name
    another meter: anything else is refused."""

    name = "meter_point"
    PATTERN = re.compile(r"[0-9A-Z]{6,34}")

    def convert(self, value, param, ctx):
        text = str(value)
        if not self.PATTERN.fullmatch(text) or not any(ch.isdigit() for ch in text):
            self.fail(f"{shown(value)} is not a meter point number: 6 to 34 digits or capital letters, no spaces "
                      "(a PRM/PDL is 14 digits, e.g. 30001234567890)", param, ctx)
        return text


class OutputFile(click.ParamType):
    """A file to write: refused at once if it is a folder or cannot be created, before any work."""

    name = "file"

    def convert(self, value, param, ctx):
        path = Path(value)
        if path.is_dir():
            self.fail(f"{str(path)!r} is a folder: name a file", param, ctx)
        problem = _unwritable(path.parent)
        if problem or (path.exists() and not os.access(path, os.W_OK)):
            self.fail(f"cannot write {str(path)!r}: {problem or 'permission denied'}; choose another path",
                      param, ctx)
        return path


class OutputFolder(click.ParamType):
    """A folder to write into (created if missing): refused at once if it is a file or cannot be
    created, before any work."""

    name = "folder"

    def convert(self, value, param, ctx):
        path = Path(value)
        if path.exists() and not path.is_dir():
            self.fail(f"{str(path)!r} is a file, not a folder: name a folder (it is created if missing)",
                      param, ctx)
        problem = _unwritable(path)
        if problem:
            self.fail(f"cannot write into {str(path)!r}: {problem}; choose another folder", param, ctx)
        return path


def _unwritable(folder: Path) -> str | None:
    """Why files cannot be created in ``folder`` (or the folders leading to it), or None."""
    folder = Path(os.path.abspath(folder))
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"permission denied in {existing}"
    return None


ADDRESS = Address()
METER_ID = MeterId()
WHEN = When()
DAY = Day()
PAST_DAY = Day(past=True)
TOKENS = Tokens()
LOCAL_PRICE = LocalPrice()
DAYS = Days()
METER_POINT = MeterPoint()
OUTPUT_FILE = OutputFile()
OUTPUT_FOLDER = OutputFolder()


class Salt(click.ParamType):
    """A community salt: 32 bytes hex."""

    name = "salt"

    def convert(self, value, param, ctx):
        if isinstance(value, bytes):
            return value
        try:
            return parse_salt(str(value))
        except GridshareError as exc:
            self.fail(str(exc), param, ctx)


SALT = Salt()

#: the ``--salt`` option of the commands that turn a meter point number into its meterId
salt_option = click.option("--salt", type=SALT, envvar="GRIDSHARE_COMMUNITY_SALT",
                           help="Community salt, 32 bytes hex (or GRIDSHARE_COMMUNITY_SALT).")


def meter_of(meter: str, salt: bytes | None) -> bytes:
    """A meter given as its 0x meterId, or as its meter point number with the community salt."""
    if meter.startswith("0x") and len(meter) == 66:
        return METER_ID.convert(meter, None, None)
    try:
        if meter.startswith("0x"):  # a meterId with a typo: refused, not hashed as a meter point
            return METER_ID.convert(meter, None, None)
        point = METER_POINT.convert(meter, None, None)
    except click.BadParameter as exc:
        raise GridshareError(exc.message + ("" if meter.startswith("0x") else "; or give its 0x meterId")) from None
    if salt is None:
        raise GridshareError("the community salt is needed for a meter point number: pass --salt HEX or set "
                             "GRIDSHARE_COMMUNITY_SALT (or give the 0x meterId)")
    return meter_id(salt, point)


def interval_of(text: str, interval_seconds: int) -> int:
    """An interval given as its id or as its start time (``2026-06-21T12:00``, UTC unless an offset
    is given); an id is one whose start a date can show."""
    last = LAST_TIME // interval_seconds
    if text.strip().isdigit():
        iid = int(text)
        if iid > last:
            raise GridshareError(f"interval {shown(text)} is out of range: an interval id is at most {last:,} "
                                 "(or give a start time like 2026-06-21T12:00)")
        return iid
    try:
        start = WHEN.convert(text, None, None)
    except click.BadParameter:
        raise GridshareError(f"interval {shown(text)} is neither an interval id nor a start time like "
                             "2026-06-21T12:00") from None
    return aligned_interval_id(start, interval_seconds, text)
