"""Realistic per-interval energy profiles (integer Wh) for simulating a local energy community.

Everything here is computed offline and is pure: the same arguments always give the same
output, nothing touches a chain, a network or the file system (apart from the data files that
ship inside pvlib and demandlib).

* :func:`pv_export_wh` -- clear-sky photovoltaic production (pvlib, Ineichen clear sky with the
  Linke turbidity climatology bundled with pvlib, isotropic transposition onto a tilted plane).
* :func:`household_import_wh` -- household consumption following the BDEW H0 standard load
  profile (demandlib), scaled to an annual consumption, with seeded multiplicative noise.
* :func:`interval_starts` -- the unix-second starts of the metering intervals covering local
  calendar days.

Integer rounding rules:

* PV energy is **floored** to whole Wh and then clamped to ``[0, capacity_w * interval_seconds
  // 3600]``, so a plant never reports more than its peak capacity could deliver.
* Household energy is **rounded to the nearest** whole Wh (ties to even, ``numpy.rint``) and is
  never negative.

Units: the demandlib "scaled power profile" holds the *mean power in kW* of each quarter hour
(its 35,040 values for a common year sum to 4 x the annual kWh), so the energy of one quarter
hour is ``value_kW * 0.25 h``; this module converts accordingly.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "LYON",
    "Site",
    "household_import_wh",
    "interval_starts",
    "pv_export_wh",
]

_QUARTER_HOUR = 900  # seconds, the resolution of the BDEW profiles


@dataclass(frozen=True)
class Site:
    """A geographic location: latitude/longitude in degrees, IANA time zone, altitude in m."""

    latitude: float
    longitude: float
    tz: str
    altitude: float = 0.0


LYON = Site(latitude=45.764, longitude=4.8357, tz="Europe/Paris", altitude=170)
"""Lyon, France (Place Bellecour area)."""


def _check_interval(interval_seconds: int) -> None:
    if (
        not isinstance(interval_seconds, (int, np.integer))
        or interval_seconds <= 0
        or 3600 % interval_seconds
    ):
        raise ValueError(
            f"interval_seconds must be a positive divisor of 3600, got {interval_seconds!r}"
        )


def interval_starts(day: _dt.date, days: int, interval_seconds: int, tz: str) -> list[int]:
    """Unix-second starts of every interval covering ``days`` local calendar days from ``day``.

    The first start is local midnight of ``day`` in ``tz``, the last interval ends at local
    midnight of ``day + days``. Because ``interval_seconds`` divides 3600 and the zone's UTC
    offset is a whole number of hours (true for Europe/Paris), every start is a multiple of
    ``interval_seconds``. A normal day at 900 s has 96 intervals; daylight-saving change days
    have 92 (spring) or 100 (autumn).

    Raises ``ValueError`` for a bad interval, negative ``days`` or a zone whose offset would break
    the alignment.
    """
    _check_interval(interval_seconds)
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    zone = ZoneInfo(tz)
    first = _dt.datetime.combine(day, _dt.time(0), tzinfo=zone)
    last = _dt.datetime.combine(day + _dt.timedelta(days=days), _dt.time(0), tzinfo=zone)
    start, end = int(first.timestamp()), int(last.timestamp())
    if start % interval_seconds or end % interval_seconds:
        raise ValueError(
            f"local midnight in {tz} is not aligned to {interval_seconds} s in UTC"
        )
    return list(range(start, end, interval_seconds))


# ----------------------------------------------------------------------------- photovoltaics


@functools.lru_cache(maxsize=64)
def _poa_mean(
    site: Site, starts: tuple[int, ...], interval_seconds: int, tilt: float, azimuth: float
) -> np.ndarray:
    """Mean clear-sky plane-of-array irradiance (W/m^2) over each interval (read-only array).

    Each interval is split into sub-intervals of at most 5 minutes; the irradiance is evaluated
    at each sub-interval's midpoint and averaged.
    """
    import pvlib

    n_sub = max(1, interval_seconds // 300)
    offsets = (np.arange(n_sub) + 0.5) * (interval_seconds / n_sub)
    sample_s = (np.asarray(starts, dtype=np.float64)[:, None] + offsets[None, :]).ravel()
    times = pd.DatetimeIndex(pd.to_datetime(sample_s, unit="s", utc=True)).tz_convert(site.tz)

    location = pvlib.location.Location(
        site.latitude, site.longitude, tz=site.tz, altitude=site.altitude
    )
    solpos = location.get_solarposition(times)
    clearsky = location.get_clearsky(times, solar_position=solpos)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=tilt,
        surface_azimuth=azimuth,
        solar_zenith=solpos["apparent_zenith"],
        solar_azimuth=solpos["azimuth"],
        dni=clearsky["dni"],
        ghi=clearsky["ghi"],
        dhi=clearsky["dhi"],
    )["poa_global"].to_numpy(dtype=np.float64)
    poa = np.nan_to_num(poa, nan=0.0, posinf=0.0, neginf=0.0)
    # The sun below the horizon produces nothing, whatever the transposition model says.
    poa[solpos["apparent_elevation"].to_numpy() <= 0.0] = 0.0
    poa = np.clip(poa, 0.0, None).reshape(len(starts), n_sub).mean(axis=1)
    poa.setflags(write=False)
    return poa


def pv_export_wh(
    capacity_w: int,
    starts: list[int],
    interval_seconds: int,
    site: Site = LYON,
    tilt: float = 30,
    azimuth: float = 180,
    performance_ratio: float = 0.85,
) -> list[int]:
    """Clear-sky energy (Wh) produced by a PV plant of ``capacity_w`` peak watts in each interval.

    ``starts`` are unix-second interval starts (see :func:`interval_starts`). The plane-of-array
    irradiance comes from pvlib's clear-sky GHI/DNI/DHI transposed with
    ``pvlib.irradiance.get_total_irradiance`` (isotropic sky) onto a plane of ``tilt`` degrees
    facing ``azimuth`` (180 = south), averaged over 5-minute (or shorter) sub-samples of each
    interval. Power is ``capacity_w * POA / 1000 * performance_ratio``; the energy is the mean
    power times the interval length, **floored** to whole Wh and clamped to
    ``[0, capacity_w * interval_seconds // 3600]``. Zero at night.
    """
    _check_interval(interval_seconds)
    if capacity_w < 0:
        raise ValueError(f"capacity_w must be >= 0, got {capacity_w}")
    if performance_ratio < 0:
        raise ValueError(f"performance_ratio must be >= 0, got {performance_ratio}")
    if len(starts) == 0:
        return []
    poa = _poa_mean(site, tuple(int(s) for s in starts), interval_seconds, float(tilt), float(azimuth))
    energy = capacity_w * (poa / 1000.0) * performance_ratio * (interval_seconds / 3600.0)
    cap = int(capacity_w) * interval_seconds // 3600
    return [int(v) for v in np.clip(np.floor(energy), 0, cap).astype(np.int64)]


# ----------------------------------------------------------------------------- households


def _french_holidays(year: int) -> list[_dt.date]:
    """French public holidays of ``year`` (treated like Sundays by the BDEW profiles)."""
    from dateutil.easter import easter

    e = easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [e + _dt.timedelta(days=n) for n in (1, 39, 50)]  # Easter/Whit Monday, Ascension
    return sorted([_dt.date(year, m, d) for m, d in fixed] + moving)


@functools.lru_cache(maxsize=8)
def _h0_kw(year: int, dynamic: bool) -> np.ndarray:
    """BDEW H0 mean power (kW) per local quarter hour of ``year`` for 1 kWh/year (read-only).

    Index 0 is local 00:00-00:15 on 1 January. With ``dynamic`` the BDEW dynamisation factor
    (seasonal smoothing) is applied and the profile renormalised to exactly 1 kWh/year.
    """
    from demandlib import bdew

    slp = bdew.ElecSlp(year, holidays=_french_holidays(year))
    column = "h0_dyn" if dynamic else "h0"
    profile = slp.get_profiles(column)[column].to_numpy(dtype=np.float64)
    kw = profile / profile.sum() * 4.0  # kWh per quarter hour -> mean kW over the quarter hour
    kw.setflags(write=False)
    return kw


def household_import_wh(
    annual_kwh: float,
    starts: list[int],
    interval_seconds: int,
    seed: int,
    noise: float = 0.15,
    *,
    tz: str = LYON.tz,
    dynamic: bool = True,
) -> list[int]:
    """Energy (Wh) drawn by a household consuming ``annual_kwh`` per year, in each interval.

    Follows the BDEW H0 standard load profile from demandlib (French public holidays counted as
    Sundays) for the local year of each start, scaled so a full year sums to ``annual_kwh``.
    The profile's quarter hours are read in local wall-clock time of ``tz``, and each interval's
    energy integrates the piecewise-constant quarter-hour power, so 15- and 30-minute intervals
    (or any divisor of 3600) are handled. ``dynamic=True`` (default) uses the BDEW dynamised H0
    (more in winter, less in summer); ``dynamic=False`` the static H0.

    Each interval is then multiplied by an independent lognormal factor of mean 1 and
    coefficient of variation ``noise``, drawn from ``numpy.random.default_rng(seed)`` in the
    order of ``starts`` (``noise=0`` disables it). The result is **rounded to the nearest** Wh
    (ties to even) and is never negative. Same arguments -> same output.
    """
    _check_interval(interval_seconds)
    if annual_kwh < 0:
        raise ValueError(f"annual_kwh must be >= 0, got {annual_kwh}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    n = len(starts)
    if n == 0:
        return []

    # Sub-samples whose length divides both the interval and a quarter hour, so each lies
    # within a single quarter hour; evaluate at sub-sample midpoints.
    step = math.gcd(interval_seconds, _QUARTER_HOUR)
    n_sub = interval_seconds // step
    offsets = (np.arange(n_sub) + 0.5) * step
    sample_s = (np.asarray(starts, dtype=np.float64)[:, None] + offsets[None, :]).ravel()
    local = pd.DatetimeIndex(pd.to_datetime(sample_s, unit="s", utc=True)).tz_convert(tz)
    naive = local.tz_localize(None)
    years = naive.year.to_numpy()

    kw = np.empty(len(naive), dtype=np.float64)
    for year in np.unique(years):
        mask = years == year
        since_new_year = naive[mask] - pd.Timestamp(int(year), 1, 1)
        pos = (since_new_year.total_seconds().to_numpy() // _QUARTER_HOUR).astype(np.int64)
        kw[mask] = _h0_kw(int(year), bool(dynamic))[pos]

    # kW x step seconds -> kWh; x 1000 -> Wh; scaled to the annual consumption.
    wh = (kw * (step / 3600.0) * 1000.0 * float(annual_kwh)).reshape(n, n_sub).sum(axis=1)

    if noise > 0:
        sigma = math.sqrt(math.log1p(noise * noise))
        factors = np.random.default_rng(seed).lognormal(-0.5 * sigma * sigma, sigma, size=n)
        wh = wh * factors
    return [int(v) for v in np.clip(np.rint(wh), 0, None).astype(np.int64)]
