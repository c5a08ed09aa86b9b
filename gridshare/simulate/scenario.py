"""Scenario files for ``gridshare simulate``: a community to simulate, in TOML, validated with clear errors.

A scenario describes a local energy community (households, their rooftops, a shared plant), where
and when it is simulated, how its production is shared and traded and at what prices.
:func:`load_scenario` reads one into frozen dataclasses; :data:`DEFAULT_SCENARIO` is the packaged
default (a 50-dwelling building in Lyon, ``gridshare/scenarios/lyon-building.toml``, whose comments
document every field too). Profiles are computed from a scenario by
:mod:`gridshare.simulate.community`.

Every problem raises :class:`~gridshare.errors.GridshareError` with one line naming the file, the
field's dotted path, the problem and what is expected::

    scenario.toml: households.count: expected a positive integer, got -3
    scenario.toml: households.cont: unknown key, did you mean "count"?
    scenario.toml: prices.retail: expected a multiple of 0.001 EUR/kWh, got 0.2516

Unknown keys are errors (a typo never silently falls back to a default). The fields, with their
defaults where they are optional:

Top level

* ``name`` -- a label for reports (non-empty string).
* ``seed`` -- integer >= 0; every random draw (households' annual consumption, consumption noise,
  clouds) derives from it: the same seed gives the same profiles.

``[location]``

* ``latitude`` -- degrees north, -90 to 90; ``longitude`` -- degrees east, -180 to 180.
* ``timezone`` -- IANA time zone (``"Europe/Paris"``): local days, and the wall-clock time the
  household profiles follow.
* ``altitude`` -- metres above sea level, -500 to 9000 (default 0); used by the clear-sky model.

``[period]``

* ``start`` -- the first local day, a TOML date (``2026-06-15``) or an ISO date string.
* ``days`` -- number of local days simulated, 1 to 366.
* ``interval_minutes`` -- the metering interval, 15 or 30 (the protocol's ``intervalSeconds`` 900
  or 1800).

``[households]`` -- the dwellings, numbered 1..count (named ``household-01``...)

* ``count`` -- number of households, 1 to 10000.
* ``annual_kwh`` -- mean annual consumption of a household, kWh (> 0, at most 100000).
* ``annual_kwh_spread`` -- relative spread of the annual consumption between households: each
  household's annual kWh is drawn (seeded per household) from a lognormal distribution of mean
  ``annual_kwh`` and coefficient of variation ``annual_kwh_spread``, 0 to 1 (default 0: all equal).
* ``noise`` -- coefficient of variation of the seeded per-interval noise on consumption, 0 to 1
  (default 0.15).
* ``energy_poor`` -- number of energy-poor households, 0 to ``count`` (default 0): the last
  ``energy_poor`` households.

``[households.rooftop]`` (optional: no private PV) -- private rooftop PV, behind the household's meter

* ``count`` -- number of households with a rooftop, 0 to ``households.count``: the first ``count``.
* ``kwp`` -- peak power of each rooftop, kWp (> 0, at most 5000).
* ``tilt`` -- panel tilt, degrees from horizontal, 0 to 90 (default 30).
* ``azimuth`` -- panel orientation, degrees clockwise from north, 0 to 360 (default 180: south).

``[plant]`` (optional: no shared plant) -- a shared PV plant with its own producer meter

* ``kwp``, ``tilt``, ``azimuth`` -- as for rooftops.

A community needs production: a ``[plant]``, or rooftops with ``count`` >= 1.

``[allocation]`` -- how each interval's production is shared among the households (gridshare.domain.allocation)

* ``key`` -- ``"dynamic-default"`` (pro rata of consumption), ``"static"`` (equal fixed coefficients,
  floored to 0.1 %) or ``"priority"`` (energy-poor households first, then the others, each group
  served by the ``inner`` key). ``"dynamic-simple"`` and ``"dynamic-complete"`` need coefficients the
  operator sends per interval, which a scenario does not hold: they are refused.
* ``reallocate`` -- with a static key (``key = "static"`` or ``inner = "static"``), pass unused shares
  on to households with unmet demand (default false).
* ``inner`` -- with ``key = "priority"``: ``"dynamic-default"`` (default) or ``"static"``.

``[market]`` -- the peer-to-peer market

* ``design`` -- ``"continuous"`` (two-sided pay-as-bid, matched as orders arrive), ``"auction"``
  (one uniform clearing price per interval, pay-as-clear, one transaction per order) or ``"batch"``
  (the same clearing, orders signed off-chain and every interval's batch settled in one
  transaction: ``BatchAuction``; every interval where a trade is possible is traded, whatever
  ``--market-intervals`` says).
* ``enabled`` -- true or false.
* ``role`` -- ``"after-sharing"`` (default: the market trades what the allocation key left) or
  ``"instead-of-sharing"`` (a street trading peer to peer, as the Brooklyn Microgrid did: the
  operation shares nothing, its key giving every consumer 0, so every Wh exported and imported
  meets in the market; needs ``enabled = true``) or ``"both"`` (sharing, then the market on every
  interval where a trade is possible, whatever ``--market-intervals`` says: the market only sells
  what sharing left, so sharing and market together differ from "after-sharing" by the intervals
  traded).

``[prices]`` -- EUR per kWh in the file, kept as integer base units of the 6-decimal test euro per kWh

* ``retail`` -- what a household pays its supplier (> 0, at most 10).
* ``feed_in`` -- what the grid pays for surplus (>= 0, below ``retail``).
* ``grid_fee`` -- the network fee on locally traded energy (>= 0, below ``retail - feed_in``).

Each price is a multiple of the tick 0.001 EUR/kWh (1000 base units).

``[solidarity]`` (optional: nothing given)

* ``share`` -- the share of its surplus each producer (the plant and the rooftops) pledges to the
  energy-poor households (``households.energy_poor``, flagged by the operator), 0 to 1 in steps of
  0.0001: each interval once shared, the ``Solidarity`` contract gives that share of what the
  producer still holds, at most what the energy-poor households still need, pro rata of their needs
  (gridshare.domain.solidarity). With a dynamic key sharing leaves a surplus only where no member
  needs more: pledges give where a static key, or the market's role "instead-of-sharing", leaves
  needs. Needs ``households.energy_poor`` >= 1.

``[treasury]`` (optional: no vote)

* ``donation`` -- EUR the operator gives the community's treasury at the end of the period (0 to
  10,000); the members then vote on paying it out to the energy-poor households in equal parts:
  every meter's weight synced (``CommunityVotes``: one vote plus its verified export), a proposal,
  every participant voting (70 % for, 20 % against, 10 % abstaining, drawn from the seed), then
  queued and executed if it passed. Needs ``households.energy_poor`` >= 1.

``[cloud]`` (optional: clear sky)

* ``level`` -- cloudiness of the seeded cloud noise on PV, 0 (clear sky every day) to 1 (days range
  from clear to overcast); see :mod:`gridshare.simulate.community`.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import tomllib
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Collection, Literal, Mapping, Sequence, overload

from gridshare.domain.allocation import ALLOCATION_KEYS, AllocationKey, DynamicDefaultKey, PriorityKey, StaticKey, per_mille
from gridshare.domain.matching import TICK
from gridshare.errors import GridshareError
from gridshare.protocol.market import MARKET_DESIGNS
from gridshare.protocol.units import TOKEN_DECIMALS, from_base_units
from gridshare.simulate.profiles import Site, interval_starts

__all__ = [
    "ALLOCATION_KEYS",
    "DEFAULT_SCENARIO",
    "MARKET_DESIGNS",
    "SCENARIO_MARKET_DESIGNS",
    "PRICE_DECIMALS",
    "PRICE_TICK",
    "AllocationSettings",
    "Cloud",
    "Households",
    "Location",
    "Market",
    "Period",
    "Plant",
    "Prices",
    "Rooftop",
    "Scenario",
    "load_scenario",
    "parse_scenario",
]

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "lyon-building.toml"
"""The packaged default scenario: a 50-dwelling building in Lyon, one week in June 2026."""

_OPERATOR_KEYS = ("dynamic-simple", "dynamic-complete")  # known keys, but coefficients come per interval
INNER_KEYS = ("dynamic-default", "static")
INTERVAL_MINUTES = (15, 30)

PRICE_DECIMALS = TOKEN_DECIMALS
"""Decimals of the (test) euro payment token: 1 EUR = 10**6 base units."""
PRICE_TICK = TICK
"""Prices are multiples of 1000 base units per kWh, i.e. 0.001 EUR/kWh."""


# --------------------------------------------------------------------------------------------------
# the scenario
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    latitude: float  # degrees north
    longitude: float  # degrees east
    timezone: str  # IANA time zone
    altitude: float = 0.0  # metres

    @property
    def site(self) -> Site:
        """The location as :class:`gridshare.simulate.profiles.Site`."""
        return Site(self.latitude, self.longitude, self.timezone, self.altitude)


@dataclass(frozen=True)
class Period:
    start: _dt.date  # first local day
    days: int
    interval_minutes: int  # 15 or 30

    @property
    def interval_seconds(self) -> int:
        return self.interval_minutes * 60

    @property
    def end(self) -> _dt.date:
        """The local day after the last one simulated."""
        return self.start + _dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Rooftop:
    """Private rooftop PV on each of the first ``count`` households."""

    count: int
    kwp: float
    tilt: float = 30.0
    azimuth: float = 180.0

    @property
    def capacity_w(self) -> int:
        """Peak power of one rooftop, W."""
        return round(self.kwp * 1000)


@dataclass(frozen=True)
class Households:
    count: int
    annual_kwh: float  # mean
    annual_kwh_spread: float = 0.0  # coefficient of variation between households
    noise: float = 0.15  # coefficient of variation per interval
    energy_poor: int = 0  # the last ``energy_poor`` households
    rooftop: Rooftop | None = None

    @property
    def rooftops(self) -> int:
        """Number of households with a private rooftop."""
        return self.rooftop.count if self.rooftop else 0


@dataclass(frozen=True)
class Plant:
    """The shared PV plant."""

    kwp: float
    tilt: float = 30.0
    azimuth: float = 180.0

    @property
    def capacity_w(self) -> int:
        return round(self.kwp * 1000)


@dataclass(frozen=True)
class AllocationSettings:
    key: Literal["dynamic-default", "static", "priority"]
    reallocate: bool = False  # for a static key (key or inner)
    inner: Literal["dynamic-default", "static"] = "dynamic-default"  # for the priority key

    @property
    def deployment_key(self) -> str:
        """The ``SelfConsumption`` contract's key: ``dynamic-default`` on-chain, else ``supplied``
        (shares computed off-chain by :meth:`build` and sent with the readings)."""
        return "dynamic-default" if self.key == "dynamic-default" else "supplied"

    def build(self, consumers: Sequence[str], energy_poor: Collection[str] = ()) -> AllocationKey:
        """The :mod:`gridshare.domain.allocation` key for these consumers (static: equal coefficients)."""

        def simple(kind: str, group: Sequence[str]) -> AllocationKey:
            if kind == "static":
                return StaticKey(per_mille(dict.fromkeys(group, 1)), reallocate=self.reallocate)
            return DynamicDefaultKey()

        if self.key != "priority":
            return simple(self.key, consumers)
        first = [c for c in consumers if c in energy_poor]
        rest = [c for c in consumers if c not in energy_poor]
        groups = [g for g in (first, rest) if g]
        return PriorityKey(groups, [simple(self.inner, g) for g in groups])


MARKET_ROLES = ("after-sharing", "instead-of-sharing", "both")
#: a scenario's market designs: the EnergyMarket's (orders on-chain), or its BatchAuction's
SCENARIO_MARKET_DESIGNS = (*MARKET_DESIGNS, "batch")


@dataclass(frozen=True)
class Market:
    #: continuous, auction: each order a transaction to the EnergyMarket; batch: orders signed
    #: off-chain, one BatchAuction.settleBatch per interval
    design: Literal["continuous", "auction", "batch"]
    enabled: bool
    #: after-sharing: the market trades what the allocation key left, on the sampled intervals;
    #: instead-of-sharing: nothing is shared (the operation's key gives every consumer 0), every Wh
    #: exported and imported meets in the market; both: sharing, and the market on every interval
    role: Literal["after-sharing", "instead-of-sharing", "both"] = "after-sharing"


@dataclass(frozen=True)
class Prices:
    """Prices per kWh in base units of the 6-decimal test euro (1 EUR = 1_000_000)."""

    retail: int
    feed_in: int
    grid_fee: int

    @staticmethod
    def eur(base_units: int) -> str:
        """Base units as EUR, in plain notation (``252000`` -> ``"0.252"``)."""
        return format(from_base_units(base_units, PRICE_DECIMALS), "f")


@dataclass(frozen=True)
class Solidarity:
    share_bps: int = 0  # of each producer's surplus pledged to the energy-poor households, basis points


@dataclass(frozen=True)
class TreasurySettings:
    donation: int = 0  # base units of the 6-decimal test euro the operator gives the treasury


@dataclass(frozen=True)
class Cloud:
    level: float = 0.0  # 0 = clear sky


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    location: Location
    period: Period
    households: Households
    plant: Plant | None
    allocation: AllocationSettings
    market: Market
    prices: Prices
    cloud: Cloud = Cloud()
    solidarity: Solidarity = Solidarity()
    treasury: TreasurySettings = TreasurySettings()


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file; raises GridshareError with one line naming the field."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GridshareError(f"{source}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GridshareError(f"{source}: cannot read the scenario file: {exc}") from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source: str = "scenario.toml") -> Scenario:
    """Validate a scenario given as TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise GridshareError(f"{source}: not valid TOML: {exc}") from None
    return _Reader(source).scenario(data)


_MISSING: Any = object()


def _show(value: object) -> str:
    """A value as the scenario file would spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal) and not value.is_finite():
        return {"NaN": "nan", "-NaN": "-nan", "Infinity": "inf", "-Infinity": "-inf"}.get(str(value), str(value))
    return str(value)


def _choices(names: Sequence[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


class _Reader:
    """Walks the parsed TOML, checking each field; every failure is one GridshareError line."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> GridshareError:
        return GridshareError(f"{self.source}: {path}: {problem}")

    # ------------------------------------------------------------------ structure

    def table(self, data: Mapping[str, Any], path: str, known: Sequence[str]) -> dict[str, Any]:
        """``data`` checked to be a table holding only ``known`` keys."""
        for key in data:
            if key not in known:
                where = f"{path}.{key}" if path else key
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f'did you mean "{close[0]}"?' if close else f"expected one of {', '.join(known)}"
                raise self.fail(where, f"unknown key, {hint}")
        return dict(data)

    @overload
    def sub(self, data: Mapping[str, Any], path: str, key: str, known: Sequence[str],
            optional: Literal[False] = False) -> dict[str, Any]: ...

    @overload
    def sub(self, data: Mapping[str, Any], path: str, key: str, known: Sequence[str],
            optional: bool) -> dict[str, Any] | None: ...

    def sub(self, data: Mapping[str, Any], path: str, key: str, known: Sequence[str],
            optional: bool = False) -> dict[str, Any] | None:
        where = f"{path}.{key}" if path else key
        value = data.get(key, _MISSING)
        if value is _MISSING:
            if optional:
                return None
            raise self.fail(where, f"missing, expected a table [{where}] with {', '.join(known)}")
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a table [{where}], got {_show(value)}")
        return self.table(value, where, known)

    def get(self, data: Mapping[str, Any], path: str, key: str, expected: str, default: Any) -> tuple[str, Any]:
        where = f"{path}.{key}" if path else key
        value = data.get(key, _MISSING)
        if value is _MISSING and default is _MISSING:
            raise self.fail(where, f"missing, expected {expected}")
        return where, value

    # ------------------------------------------------------------------ values

    def integer(self, data, path, key, lo: int, hi: int, expected: str, default: Any = _MISSING) -> int:
        where, value = self.get(data, path, key, expected, default)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(where, f"expected {expected}, got {_show(value)}")
        return value

    def decimal(self, data, path, key, lo: Decimal, hi: Decimal, expected: str, default: Any = _MISSING,
                lo_open: bool = False) -> Decimal:
        where, value = self.get(data, path, key, expected, default)
        if value is _MISSING:
            return Decimal(str(default))
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.fail(where, f"expected {expected}, got {_show(value)}")
        number = Decimal(value)
        if not number.is_finite() or number > hi or number < lo or (lo_open and number == lo):
            raise self.fail(where, f"expected {expected}, got {_show(value)}")
        return number

    def number(self, data, path, key, lo: float, hi: float, expected: str, default: Any = _MISSING,
               lo_open: bool = False) -> float:
        return float(self.decimal(data, path, key, Decimal(str(lo)), Decimal(str(hi)), expected, default, lo_open))

    def string(self, data, path, key, expected: str, default: Any = _MISSING) -> str:
        where, value = self.get(data, path, key, expected, default)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected {expected}, got {_show(value)}")
        return value

    def choice(self, data, path, key, names: Sequence[str], default: Any = _MISSING,
               refused: Mapping[str, str] | None = None) -> str:
        expected = _choices(names)
        where, value = self.get(data, path, key, expected, default)
        if value is _MISSING:
            return default
        if isinstance(value, str) and refused and value in refused:
            raise self.fail(where, f"{_show(value)} {refused[value]}; expected {expected}")
        if not isinstance(value, str) or value not in names:
            raise self.fail(where, f"expected {expected}, got {_show(value)}")
        return value

    def boolean(self, data, path, key, default: Any = _MISSING) -> bool:
        where, value = self.get(data, path, key, "true or false", default)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {_show(value)}")
        return value

    def date(self, data, path, key) -> _dt.date:
        expected = "a date such as 2026-06-15"
        where, value = self.get(data, path, key, expected, _MISSING)
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            return value
        raise self.fail(where, f"expected {expected}, got {_show(value)}")

    def price(self, data, path, key, lo: Decimal, hi: Decimal, expected: str, lo_open: bool = False) -> int:
        where = f"{path}.{key}"
        eur = self.decimal(data, path, key, lo, hi, expected, lo_open=lo_open)
        base = eur.scaleb(PRICE_DECIMALS)
        if base != base.to_integral_value() or int(base) % PRICE_TICK:
            raise self.fail(where, f"expected a multiple of 0.001 EUR/kWh, got {_show(data[key])}")
        return int(base)

    # ------------------------------------------------------------------ the scenario

    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        top = self.table(data, "", ("name", "seed", "location", "period", "households", "plant",
                                     "allocation", "market", "prices", "cloud", "solidarity", "treasury"))
        name = self.string(top, "", "name", "a non-empty string")
        seed = self.integer(top, "", "seed", 0, 2**63 - 1, "an integer >= 0")
        location = self.location(top)
        period = self.period(top, location)
        households = self.households(top)
        plant = self.plant(top)
        if plant is None and households.rooftops == 0:
            raise self.fail("plant", "missing, expected a shared plant [plant] or households.rooftop.count >= 1 "
                                     "(a community needs production)")
        return Scenario(name=name, seed=seed, location=location, period=period, households=households,
                        plant=plant, allocation=self.allocation(top), market=self.market(top),
                        prices=self.prices(top), cloud=self.cloud(top), solidarity=self.solidarity(top, households),
                        treasury=self.treasury(top, households))

    def location(self, top) -> Location:
        t = self.sub(top, "", "location", ("latitude", "longitude", "timezone", "altitude"))
        latitude = self.number(t, "location", "latitude", -90, 90, "a number of degrees from -90 to 90")
        longitude = self.number(t, "location", "longitude", -180, 180, "a number of degrees from -180 to 180")
        expected = 'an IANA time zone such as "Europe/Paris"'
        timezone = self.string(t, "location", "timezone", expected)
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise self.fail("location.timezone", f"expected {expected}, got {_show(timezone)}") from None
        altitude = self.number(t, "location", "altitude", -500, 9000, "a number of metres from -500 to 9000",
                               default=0.0)
        return Location(latitude, longitude, timezone, altitude)

    def period(self, top, location: Location) -> Period:
        t = self.sub(top, "", "period", ("start", "days", "interval_minutes"))
        start = self.date(t, "period", "start")
        days = self.integer(t, "period", "days", 1, 366, "an integer from 1 to 366")
        minutes = self.integer(t, "period", "interval_minutes", 15, 30, "15 or 30")
        if minutes not in INTERVAL_MINUTES:
            raise self.fail("period.interval_minutes", f"expected 15 or 30, got {minutes}")
        try:
            interval_starts(start, days, minutes * 60, location.timezone)
        except (ValueError, OverflowError):
            raise self.fail("location.timezone", f"expected a zone whose local midnight falls on a {minutes}-minute "
                                                 f"boundary in UTC, got {_show(location.timezone)}") from None
        return Period(start, days, minutes)

    def households(self, top) -> Households:
        t = self.sub(top, "", "households", ("count", "annual_kwh", "annual_kwh_spread", "noise", "energy_poor",
                                             "rooftop"))
        count = self.integer(t, "households", "count", 1, 10_000, "a positive integer (at most 10000)")
        annual = self.number(t, "households", "annual_kwh", 0, 100_000, "a number of kWh above 0 (at most 100000)",
                             lo_open=True)
        spread = self.number(t, "households", "annual_kwh_spread", 0, 1, "a number from 0 to 1", default=0.0)
        noise = self.number(t, "households", "noise", 0, 1, "a number from 0 to 1", default=0.15)
        poor = self.integer(t, "households", "energy_poor", 0, count,
                            f"an integer from 0 to households.count ({count})", default=0)
        rooftop = None
        r = self.sub(t, "households", "rooftop", ("count", "kwp", "tilt", "azimuth"), optional=True)
        if r is not None:
            path = "households.rooftop"
            rooftop = Rooftop(
                count=self.integer(r, path, "count", 0, count, f"an integer from 0 to households.count ({count})"),
                **self.panels(r, path),
            )
        return Households(count, annual, spread, noise, poor, rooftop)

    def panels(self, t, path) -> dict[str, float]:
        return {
            "kwp": self.number(t, path, "kwp", 0, 5000, "a number of kWp above 0 (at most 5000)", lo_open=True),
            "tilt": self.number(t, path, "tilt", 0, 90, "a number of degrees from 0 to 90", default=30.0),
            "azimuth": self.number(t, path, "azimuth", 0, 360, "a number of degrees from 0 to 360 (180 = south)",
                                   default=180.0),
        }

    def plant(self, top) -> Plant | None:
        t = self.sub(top, "", "plant", ("kwp", "tilt", "azimuth"), optional=True)
        return None if t is None else Plant(**self.panels(t, "plant"))

    def allocation(self, top) -> AllocationSettings:
        t = self.sub(top, "", "allocation", ("key", "reallocate", "inner"))
        refused = dict.fromkeys(_OPERATOR_KEYS, "needs coefficients the operator sends per interval, "
                                                "which a scenario does not hold")
        key = self.choice(t, "allocation", "key", ALLOCATION_KEYS, refused=refused)
        inner = self.choice(t, "allocation", "inner", INNER_KEYS, default="dynamic-default")
        if "inner" in t and key != "priority":
            raise self.fail("allocation.inner", f'only applies to key "priority", not {_show(key)}; expected no inner')
        reallocate = self.boolean(t, "allocation", "reallocate", default=False)
        if "reallocate" in t and "static" not in (key, inner if key == "priority" else None):
            raise self.fail("allocation.reallocate", 'only applies to a static key; expected key = "static" '
                                                     'or inner = "static"')
        return AllocationSettings(key, reallocate, inner)  # type: ignore[arg-type]

    def market(self, top) -> Market:
        t = self.sub(top, "", "market", ("design", "enabled", "role"))
        design = self.choice(t, "market", "design", SCENARIO_MARKET_DESIGNS)
        enabled = self.boolean(t, "market", "enabled")
        role = self.choice(t, "market", "role", MARKET_ROLES, default="after-sharing")
        if role == "instead-of-sharing" and not enabled:
            raise self.fail("market.role", 'is "instead-of-sharing" but the market is not enabled: nothing would be '
                                           'shared nor traded; expected enabled = true')
        return Market(design, enabled, role)  # type: ignore[arg-type]

    def prices(self, top) -> Prices:
        t = self.sub(top, "", "prices", ("retail", "feed_in", "grid_fee"))
        retail = self.price(t, "prices", "retail", Decimal(0), Decimal(10), "a price in EUR/kWh above 0 (at most 10)",
                            lo_open=True)
        feed_in = self.price(t, "prices", "feed_in", Decimal(0), Decimal(10), "a price in EUR/kWh >= 0")
        if feed_in >= retail:
            raise self.fail("prices.feed_in", f"expected less than prices.retail ({Prices.eur(retail)}), "
                                              f"got {_show(t['feed_in'])}")
        grid_fee = self.price(t, "prices", "grid_fee", Decimal(0), Decimal(10), "a price in EUR/kWh >= 0")
        if grid_fee >= retail - feed_in:
            raise self.fail("prices.grid_fee", f"expected less than prices.retail - prices.feed_in "
                                               f"({Prices.eur(retail - feed_in)}), got {_show(t['grid_fee'])}")
        return Prices(retail, feed_in, grid_fee)

    def solidarity(self, top, households: Households) -> Solidarity:
        t = self.sub(top, "", "solidarity", ("share",), optional=True)
        if t is None:
            return Solidarity()
        bps = self.decimal(t, "solidarity", "share", Decimal(0), Decimal(1), "a share of the surplus from 0 to 1") * 10_000
        if bps != bps.to_integral_value():
            raise self.fail("solidarity.share", f"expected steps of 0.0001 (a basis point), got {_show(t['share'])}")
        if bps and households.energy_poor == 0:
            raise self.fail("solidarity.share", "is above 0 but no household is energy-poor: expected "
                                                "households.energy_poor >= 1")
        return Solidarity(int(bps))

    def treasury(self, top, households: Households) -> TreasurySettings:
        t = self.sub(top, "", "treasury", ("donation",), optional=True)
        if t is None:
            return TreasurySettings()
        eur = self.decimal(t, "treasury", "donation", Decimal(0), Decimal(10_000), "an amount in EUR from 0 to 10000")
        base = eur.scaleb(PRICE_DECIMALS)
        if base != base.to_integral_value():
            raise self.fail("treasury.donation", f"expected at most {PRICE_DECIMALS} decimals, got {_show(t['donation'])}")
        donation = int(base)
        if donation and households.energy_poor == 0:
            raise self.fail("treasury.donation", "is above 0 but no household is energy-poor (the payout's recipients): "
                                                 "expected households.energy_poor >= 1")
        return TreasurySettings(donation)

    def cloud(self, top) -> Cloud:
        t = self.sub(top, "", "cloud", ("level",), optional=True)
        if t is None:
            return Cloud()
        return Cloud(self.number(t, "cloud", "level", 0, 1, "a number from 0 (clear sky) to 1"))
