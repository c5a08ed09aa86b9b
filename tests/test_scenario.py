"""Tests for gridshare.simulate.scenario (scenario files) and gridshare.simulate.community (their profiles)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json

import pytest

from gridshare.domain.allocation import DynamicDefaultKey, PriorityKey, StaticKey
from gridshare.errors import GridshareError
from gridshare.simulate.community import PLANT_NAME, build_profiles
from gridshare.simulate.profiles import pv_export_wh
from gridshare.simulate.scenario import DEFAULT_SCENARIO, Prices, Scenario, load_scenario, parse_scenario

SHORT_SCENARIO = DEFAULT_SCENARIO.with_name("short.toml")

# A valid scenario as Python data; each bad-input test changes one field of a copy.
BASE = {
    "name": "test",
    "seed": 1,
    "location": {"latitude": 45.764, "longitude": 4.8357, "timezone": "Europe/Paris", "altitude": 170},
    "period": {"start": dt.date(2026, 6, 21), "days": 1, "interval_minutes": 15},
    "households": {
        "count": 4,
        "annual_kwh": 3000,
        "annual_kwh_spread": 0.3,
        "energy_poor": 1,
        "rooftop": {"count": 1, "kwp": 3},
    },
    "plant": {"kwp": 6, "tilt": 30, "azimuth": 180},
    "allocation": {"key": "dynamic-default"},
    "market": {"design": "continuous", "enabled": True},
    "prices": {"retail": 0.252, "feed_in": 0.04, "grid_fee": 0.01},
    "cloud": {"level": 0.5},
}
DELETE = object()


class Raw(str):
    """TOML text written as is (nan, a datetime)."""


def _value(v: object) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return repr(v)


def _toml(data: dict, prefix: str = "") -> str:
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            name = f"{prefix}.{k}" if prefix else k
            lines += ["", f"[{name}]", _toml(v, name)]
    return "\n".join(lines)


def _with(path: str, value: object) -> dict:
    data = copy.deepcopy(BASE)
    *tables, key = path.split(".")
    t = data
    for name in tables:
        t = t[name]
    if value is DELETE:
        del t[key]
    else:
        t[key] = value
    return data


def _error(data: dict) -> str:
    with pytest.raises(GridshareError) as info:
        parse_scenario(_toml(data), "scenario.toml")
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------


def test_default_scenario_is_the_lyon_building() -> None:
    s = load_scenario(DEFAULT_SCENARIO)
    assert (s.location.latitude, s.location.longitude, s.location.timezone) == (45.764, 4.8357, "Europe/Paris")
    assert (s.period.start, s.period.days, s.period.interval_seconds) == (dt.date(2026, 6, 15), 7, 900)
    assert (s.households.count, s.households.energy_poor) == (50, 5)
    assert s.households.rooftop is not None
    assert (s.households.rooftops, s.households.rooftop.capacity_w) == (10, 3000)
    assert s.plant is not None and s.plant.capacity_w == 36_000
    assert s.allocation.key == "priority" and s.allocation.deployment_key == "supplied"
    assert (s.market.design, s.market.enabled) == ("batch", True)
    assert s.prices == Prices(retail=252_000, feed_in=40_000, grid_fee=10_000)


def test_short_scenario_loads() -> None:
    s = load_scenario(SHORT_SCENARIO)
    assert (s.households.count, s.households.rooftops, s.period.days) == (4, 1, 1)
    assert s.allocation.deployment_key == "dynamic-default"


def test_scenario_is_frozen() -> None:
    s = load_scenario(SHORT_SCENARIO)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 3  # type: ignore[misc]


def test_base_test_data_is_valid() -> None:
    s = parse_scenario(_toml(BASE))
    assert s.households.annual_kwh == 3000.0 and s.cloud.level == 0.5


def test_optional_fields_take_their_defaults() -> None:
    data = copy.deepcopy(BASE)
    for table, key in [("location", "altitude"), ("households", "annual_kwh_spread"),
                       ("households", "energy_poor"), ("plant", "tilt"), ("plant", "azimuth")]:
        del data[table][key]
    del data["cloud"]
    del data["households"]["rooftop"]
    s = parse_scenario(_toml(data))
    assert s.location.altitude == 0.0
    assert (s.households.annual_kwh_spread, s.households.noise, s.households.energy_poor) == (0.0, 0.15, 0)
    assert s.households.rooftop is None and s.households.rooftops == 0
    assert s.plant is not None and (s.plant.tilt, s.plant.azimuth) == (30.0, 180.0)
    assert s.cloud.level == 0.0
    assert (s.allocation.reallocate, s.allocation.inner) == (False, "dynamic-default")


def test_dates_may_be_iso_strings() -> None:
    assert parse_scenario(_toml(_with("period.start", "2026-06-21"))).period.start == dt.date(2026, 6, 21)


def test_prices_are_base_units_of_a_six_decimal_euro() -> None:
    s = parse_scenario(_toml(_with("prices", {"retail": 0.3, "feed_in": 0, "grid_fee": 0.001})))
    assert s.prices == Prices(300_000, 0, 1_000)
    assert [Prices.eur(p) for p in (252_000, 40_000, 0, 10_000_000)] == ["0.252", "0.04", "0", "10"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # missing fields and tables
        ("name", DELETE, "name: missing, expected a non-empty string"),
        ("households.count", DELETE, "households.count: missing, expected a positive integer (at most 10000)"),
        ("period.days", DELETE, "period.days: missing, expected an integer from 1 to 366"),
        ("prices.retail", DELETE, "prices.retail: missing, expected a price in EUR/kWh above 0 (at most 10)"),
        ("location", DELETE,
         "location: missing, expected a table [location] with latitude, longitude, timezone, altitude"),
        ("market.enabled", DELETE, "market.enabled: missing, expected true or false"),
        # wrong types
        ("households.count", "fifty", 'households.count: expected a positive integer (at most 10000), got "fifty"'),
        ("households.count", 4.0, "households.count: expected a positive integer (at most 10000), got 4.0"),
        ("seed", True, "seed: expected an integer >= 0, got true"),
        ("location.latitude", "45.7", 'location.latitude: expected a number of degrees from -90 to 90, got "45.7"'),
        ("location.latitude", Raw("nan"), "location.latitude: expected a number of degrees from -90 to 90, got nan"),
        ("market.enabled", "yes", 'market.enabled: expected true or false, got "yes"'),
        ("period.start", Raw("2026-06-21T00:00:00"),
         "period.start: expected a date such as 2026-06-15, got 2026-06-21T00:00:00"),
        ("period.start", "21/06/2026", 'period.start: expected a date such as 2026-06-15, got "21/06/2026"'),
        ("plant", 36, "plant: expected a table [plant], got 36"),
        # out of range
        ("households.count", -3, "households.count: expected a positive integer (at most 10000), got -3"),
        ("households.count", 0, "households.count: expected a positive integer (at most 10000), got 0"),
        ("households.annual_kwh", 0, "households.annual_kwh: expected a number of kWh above 0 (at most 100000), got 0"),
        ("households.annual_kwh_spread", 1.5, "households.annual_kwh_spread: expected a number from 0 to 1, got 1.5"),
        ("location.latitude", 95, "location.latitude: expected a number of degrees from -90 to 90, got 95"),
        ("period.days", 0, "period.days: expected an integer from 1 to 366, got 0"),
        ("plant.tilt", 95, "plant.tilt: expected a number of degrees from 0 to 90, got 95"),
        ("plant.kwp", -36, "plant.kwp: expected a number of kWp above 0 (at most 5000), got -36"),
        ("cloud.level", 2, "cloud.level: expected a number from 0 (clear sky) to 1, got 2"),
        ("seed", -1, "seed: expected an integer >= 0, got -1"),
        # unknown keys, with a suggestion when one is close
        ("households.cont", 4, 'households.cont: unknown key, did you mean "count"?'),
        ("plants", {"kwp": 36}, 'plants: unknown key, did you mean "plant"?'),
        ("prices.feedin", 0.04, 'prices.feedin: unknown key, did you mean "feed_in"?'),
        ("households.rooftop.kWp", 3, 'households.rooftop.kWp: unknown key, did you mean "kwp"?'),
        ("plant.colour", "blue", "plant.colour: unknown key, expected one of kwp, tilt, azimuth"),
        # time zone and interval
        ("location.timezone", "Europe/Lyon",
         'location.timezone: expected an IANA time zone such as "Europe/Paris", got "Europe/Lyon"'),
        ("location.timezone", "", 'location.timezone: expected an IANA time zone such as "Europe/Paris", got ""'),
        ("period.interval_minutes", 20, "period.interval_minutes: expected 15 or 30, got 20"),
        ("period.interval_minutes", 60, "period.interval_minutes: expected 15 or 30, got 60"),
        # counts bounded by households.count
        ("households.energy_poor", 5,
         "households.energy_poor: expected an integer from 0 to households.count (4), got 5"),
        ("households.rooftop.count", 9,
         "households.rooftop.count: expected an integer from 0 to households.count (4), got 9"),
        # allocation and market
        ("allocation.key", "dynamic",
         'allocation.key: expected "dynamic-default", "static" or "priority", got "dynamic"'),
        ("allocation.key", "dynamic-simple",
         'allocation.key: "dynamic-simple" needs coefficients the operator sends per interval, which a scenario '
         'does not hold; expected "dynamic-default", "static" or "priority"'),
        ("allocation.reallocate", True,
         'allocation.reallocate: only applies to a static key; expected key = "static" or inner = "static"'),
        ("allocation.inner", "static", 'allocation.inner: only applies to key "priority", not "dynamic-default"; '
                                       'expected no inner'),
        ("market.design", "pay-as-bid", 'market.design: expected "continuous", "auction" or "batch", got "pay-as-bid"'),
        # prices
        ("prices.retail", 0.2516, "prices.retail: expected a multiple of 0.001 EUR/kWh, got 0.2516"),
        ("prices.grid_fee", 0.0105, "prices.grid_fee: expected a multiple of 0.001 EUR/kWh, got 0.0105"),
        ("prices.feed_in", 0.252, "prices.feed_in: expected less than prices.retail (0.252), got 0.252"),
        ("prices.feed_in", 0.3, "prices.feed_in: expected less than prices.retail (0.252), got 0.3"),
        ("prices.feed_in", -0.04, "prices.feed_in: expected a price in EUR/kWh >= 0, got -0.04"),
        ("prices.grid_fee", -0.01, "prices.grid_fee: expected a price in EUR/kWh >= 0, got -0.01"),
        ("prices.grid_fee", 0.212,
         "prices.grid_fee: expected less than prices.retail - prices.feed_in (0.212), got 0.212"),
        ("prices.retail", 0, "prices.retail: expected a price in EUR/kWh above 0 (at most 10), got 0"),
    ],
)
def test_bad_field_is_refused_with_one_line_naming_it(path: str, value: object, message: str) -> None:
    assert _error(_with(path, value)) == f"scenario.toml: {message}"


def test_reallocate_applies_to_a_static_key() -> None:
    data = _with("allocation", {"key": "static", "reallocate": True})
    assert parse_scenario(_toml(data)).allocation.reallocate is True
    data = _with("allocation", {"key": "priority", "inner": "static", "reallocate": True})
    assert parse_scenario(_toml(data)).allocation.inner == "static"
    data = _with("allocation", {"key": "priority", "reallocate": True})
    assert _error(data) == ('scenario.toml: allocation.reallocate: only applies to a static key; '
                            'expected key = "static" or inner = "static"')


def test_a_community_without_production_is_refused() -> None:
    data = _with("plant", DELETE)
    data["households"]["rooftop"]["count"] = 0
    assert _error(data) == ("scenario.toml: plant: missing, expected a shared plant [plant] or "
                            "households.rooftop.count >= 1 (a community needs production)")


def test_a_zone_whose_midnight_is_off_the_interval_grid_is_refused() -> None:
    data = _with("location.timezone", "Asia/Kathmandu")  # UTC+05:45: on the 15-minute grid, not on 30
    assert parse_scenario(_toml(data)).location.timezone == "Asia/Kathmandu"
    data["period"]["interval_minutes"] = 30
    assert _error(data) == ("scenario.toml: location.timezone: expected a zone whose local midnight falls on a "
                            '30-minute boundary in UTC, got "Asia/Kathmandu"')


def test_invalid_toml_is_one_line() -> None:
    with pytest.raises(GridshareError) as info:
        parse_scenario("seed = 1\nseed = 2\n", "scenario.toml")
    assert str(info.value) == "scenario.toml: not valid TOML: Cannot overwrite a value (at line 2, column 9)"


def test_errors_name_the_file_as_given(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_toml(_with("households.count", -3)), encoding="utf-8")
    with pytest.raises(GridshareError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: households.count: expected a positive integer (at most 10000), got -3"
    with pytest.raises(GridshareError) as info:
        load_scenario(tmp_path / "absent.toml")
    assert str(info.value) == f"{tmp_path / 'absent.toml'}: no such scenario file"


def test_allocation_settings_build_the_keys() -> None:
    s = parse_scenario(_toml(BASE))
    names = ["a", "b", "c"]
    assert isinstance(s.allocation.build(names), DynamicDefaultKey)
    static = dataclasses.replace(s.allocation, key="static", reallocate=True).build(names)
    assert isinstance(static, StaticKey) and static.reallocate
    assert dict(static.coefficients) == dict.fromkeys(names, 333)
    priority = dataclasses.replace(s.allocation, key="priority").build(names, energy_poor={"c"})
    assert isinstance(priority, PriorityKey) and priority.groups == (("c",), ("a", "b"))
    # energy-poor first: with 3 Wh for 3 x 3 Wh of demand, "c" is served fully
    assert priority.allocate({"p": 3}, {"a": 3, "b": 3, "c": 3}).shares == {"a": 0, "b": 0, "c": 3}


# --------------------------------------------------------------------------------------------------
# profiles
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short() -> Scenario:
    return load_scenario(SHORT_SCENARIO)


@pytest.fixture(scope="module")
def default_profiles():
    return build_profiles(load_scenario(DEFAULT_SCENARIO))


def test_participants_roles_and_flags(short: Scenario) -> None:
    profiles = build_profiles(short)
    assert [(p.name, p.role, p.energy_poor) for p in profiles.participants] == [
        (PLANT_NAME, "producer", False),
        ("household-01", "prosumer", False),
        ("household-02", "consumer", False),
        ("household-03", "consumer", False),
        ("household-04", "consumer", True),
    ]
    assert len(profiles.starts) == 96 and profiles.interval_seconds == 900
    assert profiles[PLANT_NAME].pv_w == 6000 and profiles["household-01"].pv_w == 3000
    assert profiles.energy_poor == {"household-04"}
    assert [p.name for p in profiles.households] == ["household-01", "household-02", "household-03", "household-04"]
    assert [p.name for p in profiles.producers] == [PLANT_NAME, "household-01"]


def test_same_seed_same_profiles(short: Scenario) -> None:
    assert build_profiles(short) == build_profiles(load_scenario(SHORT_SCENARIO))


def test_different_seed_different_profiles(short: Scenario) -> None:
    a, b = build_profiles(short), build_profiles(dataclasses.replace(short, seed=short.seed + 1))
    assert a.cloud_factor != b.cloud_factor
    assert a[PLANT_NAME].export_wh != b[PLANT_NAME].export_wh
    for name in ("household-02", "household-03", "household-04"):
        assert a[name].import_wh != b[name].import_wh
        assert a[name].annual_kwh != b[name].annual_kwh


def test_households_keep_their_draws_when_the_community_grows(short: Scenario) -> None:
    bigger = dataclasses.replace(short, households=dataclasses.replace(short.households, count=6))
    a, b = build_profiles(short), build_profiles(bigger)
    for name in ("household-01", "household-02", "household-03"):
        assert a[name] == b[name]


def test_clear_sky_without_clouds(short: Scenario) -> None:
    profiles = build_profiles(dataclasses.replace(short, cloud=dataclasses.replace(short.cloud, level=0.0)))
    assert set(profiles.cloud_factor) == {1.0}
    clear = pv_export_wh(6000, list(profiles.starts), 900, short.location.site, 30, 180)
    assert list(profiles[PLANT_NAME].export_wh) == clear


def test_clouds_reduce_production_within_bounds(short: Scenario) -> None:
    profiles = build_profiles(short)
    assert all(0.0 <= f <= 1.0 for f in profiles.cloud_factor)
    clear = pv_export_wh(6000, list(profiles.starts), 900, short.location.site, 30, 180)
    assert all(0 <= c <= k for c, k in zip(profiles[PLANT_NAME].export_wh, clear))
    assert sum(profiles[PLANT_NAME].export_wh) < sum(clear)


def test_default_profiles_shape_and_integers(default_profiles) -> None:
    assert len(default_profiles.starts) == 7 * 96
    assert len(default_profiles.participants) == 51
    assert sum(p.role == "prosumer" for p in default_profiles.participants) == 10
    assert sum(p.energy_poor for p in default_profiles.participants) == 5
    for p in default_profiles.participants:
        for series in (p.load_wh, p.pv_wh, p.import_wh, p.export_wh):
            assert len(series) == 672 and all(type(v) is int and v >= 0 for v in series)
    # a 36 kWp plant never delivers above 9 kWh in a quarter hour; a June week produces
    plant = default_profiles[PLANT_NAME]
    assert max(plant.export_wh) <= 9000 and sum(plant.export_wh) > 7 * 36 * 2 * 1000


def test_meter_view_invariants(default_profiles) -> None:
    for p in default_profiles.participants:
        for load, pv, imp, exp in zip(p.load_wh, p.pv_wh, p.import_wh, p.export_wh):
            assert not (imp > 0 and exp > 0), p.name
            assert load - pv == imp - exp, p.name
        if p.role == "consumer":
            assert p.import_wh == p.load_wh and set(p.export_wh) == {0}
        if p.role == "producer":
            assert p.export_wh == p.pv_wh and set(p.import_wh) == {0}


def test_annual_consumption_spreads_around_the_mean(default_profiles) -> None:
    annual = [p.annual_kwh for p in default_profiles.households]
    assert len(set(annual)) == 50
    assert 2800 * 0.85 < sum(annual) / 50 < 2800 * 1.15


@pytest.mark.parametrize("path", sorted(DEFAULT_SCENARIO.parent.glob("*.toml")), ids=lambda p: p.name)
def test_every_packaged_scenario_loads_and_builds_profiles(path):
    scenario = load_scenario(path)
    profiles = build_profiles(scenario)
    assert len(profiles.participants) == scenario.households.count + (scenario.plant is not None)
    assert len(profiles.starts) == scenario.period.days * 24 * 60 // scenario.period.interval_minutes


def test_solidarity_share_is_a_basis_point_share_of_the_surplus_and_needs_energy_poor_households() -> None:
    data = copy.deepcopy(BASE)
    data["households"]["energy_poor"] = 1
    data["solidarity"] = {"share": 0.25}
    assert parse_scenario(_toml(data)).solidarity.share_bps == 2500
    assert parse_scenario(_toml(BASE)).solidarity.share_bps == 0  # optional: nothing given
    for share, message in ((1.5, "expected a share of the surplus from 0 to 1, got 1.5"),
                           (0.00001, "expected steps of 0.0001 (a basis point), got 0.00001")):
        data["solidarity"]["share"] = share
        assert _error(data) == f"scenario.toml: solidarity.share: {message}"
    data["solidarity"]["share"] = 0.5
    data["households"]["energy_poor"] = 0
    assert _error(data) == ("scenario.toml: solidarity.share: is above 0 but no household is energy-poor: expected "
                            "households.energy_poor >= 1")


def test_treasury_donation_is_euros_for_energy_poor_households() -> None:
    data = copy.deepcopy(BASE)
    data["households"]["energy_poor"] = 1
    data["treasury"] = {"donation": 100}
    assert parse_scenario(_toml(data)).treasury.donation == 100_000_000  # test-euro base units
    assert parse_scenario(_toml(BASE)).treasury.donation == 0  # optional: no vote
    data["treasury"]["donation"] = 20_000
    assert _error(data) == "scenario.toml: treasury.donation: expected an amount in EUR from 0 to 10000, got 20000"
    data["treasury"]["donation"] = 50
    data["households"]["energy_poor"] = 0
    assert _error(data) == ("scenario.toml: treasury.donation: is above 0 but no household is energy-poor (the "
                            "payout's recipients): expected households.energy_poor >= 1")
