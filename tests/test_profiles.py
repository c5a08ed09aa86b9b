"""Tests for gridshare.simulate.profiles: clear-sky PV and BDEW H0 household profiles for Lyon."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from gridshare.simulate.profiles import (
    LYON,
    Site,
    household_import_wh,
    interval_starts,
    pv_export_wh,
)

PARIS = "Europe/Paris"
JUNE_DAY = dt.date(2025, 6, 18)
WINTER_DAY = dt.date(2025, 1, 15)


def _local(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, ZoneInfo(PARIS))


# ----------------------------------------------------------------------------- interval_starts


def test_lyon_site_is_frozen() -> None:
    assert LYON == Site(latitude=45.764, longitude=4.8357, tz=PARIS, altitude=170)
    with pytest.raises(dataclasses.FrozenInstanceError):
        LYON.latitude = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("day", [JUNE_DAY, WINTER_DAY])
def test_interval_starts_normal_day(day: dt.date) -> None:
    starts = interval_starts(day, 1, 900, PARIS)
    assert len(starts) == 96
    assert all(s % 900 == 0 for s in starts)
    assert all(b - a == 900 for a, b in zip(starts, starts[1:]))
    first = _local(starts[0])
    assert (first.date(), first.hour, first.minute) == (day, 0, 0)
    last_end = _local(starts[-1] + 900)
    assert (last_end.date(), last_end.hour, last_end.minute) == (day + dt.timedelta(days=1), 0, 0)


def test_interval_starts_several_days_and_30_minutes() -> None:
    starts = interval_starts(JUNE_DAY, 3, 1800, PARIS)
    assert len(starts) == 3 * 48
    assert all(s % 1800 == 0 for s in starts)
    assert interval_starts(JUNE_DAY, 0, 900, PARIS) == []


def test_interval_starts_dst_days() -> None:
    assert len(interval_starts(dt.date(2025, 3, 30), 1, 900, PARIS)) == 92
    assert len(interval_starts(dt.date(2025, 10, 26), 1, 900, PARIS)) == 100


@pytest.mark.parametrize("bad", [0, -900, 700, 7200])
def test_interval_starts_rejects_bad_interval(bad: int) -> None:
    with pytest.raises(ValueError):
        interval_starts(JUNE_DAY, 1, bad, PARIS)


# ----------------------------------------------------------------------------- PV


def test_pv_zero_at_night_positive_at_noon_in_june() -> None:
    starts = interval_starts(JUNE_DAY, 1, 900, PARIS)
    pv = pv_export_wh(1000, starts, 900)
    assert len(pv) == len(starts)
    assert all(isinstance(v, int) for v in pv)
    by_hour: dict[int, list[int]] = {}
    for s, e in zip(starts, pv):
        by_hour.setdefault(_local(s).hour, []).append(e)
    for hour in (0, 1, 2, 3, 4, 23):  # sunrise ~05:55, sunset ~21:30 local in mid-June
        assert by_hour[hour] == [0, 0, 0, 0], hour
    assert min(by_hour[13] + by_hour[14]) > 150  # solar noon ~13:40 CEST: near full output


def test_pv_daily_june_energy_for_1_kwp_is_plausible() -> None:
    starts = interval_starts(JUNE_DAY, 1, 900, PARIS)
    daily_kwh = sum(pv_export_wh(1000, starts, 900)) / 1000
    assert 5.0 < daily_kwh < 9.0
    # Much less on a clear winter day.
    winter_kwh = sum(pv_export_wh(1000, interval_starts(WINTER_DAY, 1, 900, PARIS), 900)) / 1000
    assert 0.5 < winter_kwh < daily_kwh


@pytest.mark.parametrize("interval", [900, 1800])
@pytest.mark.parametrize("capacity", [1, 250, 3000, 9000])
def test_pv_never_exceeds_capacity(interval: int, capacity: int) -> None:
    starts = interval_starts(JUNE_DAY, 2, interval, PARIS)
    cap = capacity * interval // 3600
    # A very high performance ratio forces the clamp to kick in.
    for pr in (0.85, 2.0):
        pv = pv_export_wh(capacity, starts, interval, performance_ratio=pr)
        assert all(0 <= v <= cap for v in pv)
    assert max(pv_export_wh(capacity, starts, interval, performance_ratio=2.0)) == cap


def test_pv_30_minutes_consistent_with_15_minutes() -> None:
    e15 = sum(pv_export_wh(5000, interval_starts(JUNE_DAY, 1, 900, PARIS), 900))
    e30 = sum(pv_export_wh(5000, interval_starts(JUNE_DAY, 1, 1800, PARIS), 1800))
    assert abs(e15 - e30) / e15 < 0.01


def test_pv_edge_cases() -> None:
    starts = interval_starts(JUNE_DAY, 1, 900, PARIS)
    assert pv_export_wh(0, starts, 900) == [0] * 96
    assert pv_export_wh(1000, [], 900) == []
    with pytest.raises(ValueError):
        pv_export_wh(-1, starts, 900)


# ----------------------------------------------------------------------------- households


@pytest.mark.parametrize("day", [JUNE_DAY, WINTER_DAY])
def test_household_daily_energy_is_plausible(day: dt.date) -> None:
    starts = interval_starts(day, 1, 900, PARIS)
    wh = household_import_wh(3000, starts, 900, seed=1)
    assert len(wh) == 96
    assert all(isinstance(v, int) and v >= 0 for v in wh)
    assert 5.0 < sum(wh) / 1000 < 12.0
    # Quarter-hour draws stay within household range (< 3 kW average).
    assert max(wh) < 750


def test_household_annual_total_matches_annual_kwh() -> None:
    starts = interval_starts(dt.date(2025, 1, 1), 365, 900, PARIS)
    total_kwh = sum(household_import_wh(3000, starts, 900, seed=0, noise=0)) / 1000
    assert total_kwh == pytest.approx(3000, rel=0.002)


def test_household_30_minutes_matches_15_minutes_without_noise() -> None:
    q = household_import_wh(3000, interval_starts(JUNE_DAY, 1, 900, PARIS), 900, 0, noise=0)
    h = household_import_wh(3000, interval_starts(JUNE_DAY, 1, 1800, PARIS), 1800, 0, noise=0)
    assert len(h) == 48
    for i, v in enumerate(h):
        assert abs(v - (q[2 * i] + q[2 * i + 1])) <= 1


def test_household_seeded_determinism() -> None:
    starts = interval_starts(JUNE_DAY, 1, 900, PARIS)
    a = household_import_wh(3000, starts, 900, seed=42)
    b = household_import_wh(3000, starts, 900, seed=42)
    c = household_import_wh(3000, starts, 900, seed=43)
    assert a == b
    assert a != c
    base = household_import_wh(3000, starts, 900, seed=42, noise=0)
    assert base == household_import_wh(3000, starts, 900, seed=43, noise=0)
    assert base != a


def test_household_spans_new_year() -> None:
    starts = interval_starts(dt.date(2024, 12, 31), 2, 900, PARIS)
    wh = household_import_wh(3000, starts, 900, seed=7)
    assert len(wh) == 192
    assert all(v >= 0 for v in wh)


def test_household_edge_cases() -> None:
    assert household_import_wh(3000, [], 900, seed=0) == []
    starts = interval_starts(JUNE_DAY, 1, 900, PARIS)
    assert household_import_wh(0, starts, 900, seed=0) == [0] * 96
    with pytest.raises(ValueError):
        household_import_wh(-1, starts, 900, seed=0)


# ----------------------------------------------------------------------------- speed


def test_ten_meters_for_a_day_is_fast() -> None:
    day = dt.date(2023, 5, 10)  # a year no other test uses, so the demandlib build is included
    t0 = time.perf_counter()
    starts = interval_starts(day, 1, 900, PARIS)
    for i in range(10):
        pv_export_wh(1000 + 500 * i, starts, 900)
        household_import_wh(2500 + 100 * i, starts, 900, seed=i)
    assert time.perf_counter() - t0 < 5.0
