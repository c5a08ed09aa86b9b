"""Click parameter types of the domain: addresses, meter ids, times, days, token amounts.

Each refuses a bad value in one line that says what is expected, before any chain is reached.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

import click
from eth_utils import is_address, is_checksum_address, to_checksum_address

from gridshare.errors import GridshareError
from gridshare.protocol.meters import meter_id, parse_salt



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
        return int(when.timestamp())


class Day(click.ParamType):
    """A calendar date YYYY-MM-DD."""

    name = "date"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date YYYY-MM-DD", param, ctx)


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


ADDRESS = Address()
METER_ID = MeterId()
WHEN = When()
DAY = Day()
TOKENS = Tokens()
LOCAL_PRICE = LocalPrice()


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
    if salt is None:
        raise GridshareError("the community salt is needed for a meter point number: pass --salt HEX or set "
                             "GRIDSHARE_COMMUNITY_SALT (or give the 0x meterId)")
    return meter_id(salt, meter)
