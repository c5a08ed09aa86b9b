"""Per-interval energy of every participant of a scenario, behind and at the meter (integer Wh).

:func:`build_profiles` turns a :class:`~gridshare.simulate.scenario.Scenario` into a
:class:`CommunityProfiles`: the interval starts and, for every participant, its consumption and
production behind the meter and what its meter reads (``import_wh``/``export_wh``). Pure and
deterministic: the same scenario (seed included) always gives the same numbers.

Participants, in this order:

* ``shared-plant`` (if the scenario has a ``[plant]``): a **producer**; its meter exports the plant's
  production and imports nothing.
* ``household-01`` .. ``household-NN`` (zero-padded to at least two digits): the first
  ``households.rooftop.count`` are **prosumers** (a private rooftop behind the meter), the others
  **consumers**; the last ``households.energy_poor`` are flagged energy-poor.

Randomness, all derived from ``scenario.seed`` with :class:`numpy.random.SeedSequence` and a stream
number, so that adding households or days leaves the other draws unchanged:

* household ``i``'s annual consumption: lognormal of mean ``households.annual_kwh`` and coefficient
  of variation ``households.annual_kwh_spread`` (stream ``[seed, 1, i]``);
* household ``i``'s consumption: :func:`gridshare.simulate.profiles.household_import_wh` (BDEW H0, local
  wall-clock time of the scenario's zone) with noise ``households.noise`` and a seed drawn from
  stream ``[seed, 2, i]``;
* clouds (stream ``[seed, 3]``): one series for the whole site, shared by every PV installation
  (they are under the same sky). Each local day ``d`` draws a cover ``c_d = level * u_d`` with ``u_d``
  uniform in [0, 1]; each interval adds a smooth noise ``e_t`` (AR(1), unit variance, correlation
  time one hour); the factor applied to clear-sky production is ``clip(1 - c_d + c_d / 2 * e_t, 0, 1)``.
  A clear day (``c_d = 0``) is exactly clear sky; ``level = 0`` disables clouds.

PV: :func:`gridshare.simulate.profiles.pv_export_wh` (pvlib clear sky on the tilted plane) times the cloud
factor, floored to whole Wh. Meter view of a prosumer: the rooftop feeds the household first,
``export = max(0, pv - load)``, ``import = max(0, load - pv)``; so for every participant and interval
``load - pv == import - export`` and import and export are never both positive.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from gridshare.simulate.profiles import household_import_wh, interval_starts, pv_export_wh
from gridshare.simulate.scenario import Scenario

__all__ = ["PLANT_NAME", "CommunityProfiles", "Participant", "Role", "build_profiles", "cloud_factors"]

Role = Literal["producer", "consumer", "prosumer"]  # MeterKind.parse(role) gives the meter kind
PLANT_NAME = "shared-plant"

_ANNUAL, _CONSUMPTION, _CLOUD = 1, 2, 3  # SeedSequence stream numbers
_CLOUD_CORRELATION_S = 3600.0


@dataclass(frozen=True)
class Participant:
    """One meter of the community and what it measures, per interval (Wh)."""

    name: str
    role: Role
    energy_poor: bool
    pv_w: int  # peak PV power behind the meter, W (0 for a consumer)
    annual_kwh: float  # drawn annual consumption (0 for the plant)
    load_wh: tuple[int, ...]  # consumption behind the meter
    pv_wh: tuple[int, ...]  # production behind the meter
    import_wh: tuple[int, ...]  # drawn from the grid (the meter's import)
    export_wh: tuple[int, ...]  # injected into the grid (the meter's export)


@dataclass(frozen=True)
class CommunityProfiles:
    scenario: Scenario
    starts: tuple[int, ...]  # unix-second interval starts
    interval_seconds: int
    cloud_factor: tuple[float, ...]  # per interval, applied to every PV's clear-sky production
    participants: tuple[Participant, ...]

    def __getitem__(self, name: str) -> Participant:
        for p in self.participants:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def households(self) -> tuple[Participant, ...]:
        """Consumers and prosumers: the consumers of the allocation."""
        return tuple(p for p in self.participants if p.role != "producer")

    @property
    def producers(self) -> tuple[Participant, ...]:
        """Producers and prosumers: every meter that may export."""
        return tuple(p for p in self.participants if p.role != "consumer")

    @property
    def energy_poor(self) -> frozenset[str]:
        return frozenset(p.name for p in self.participants if p.energy_poor)


def _seed(scenario: Scenario, *stream: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([scenario.seed, *stream])


def cloud_factors(scenario: Scenario, starts: list[int]) -> np.ndarray:
    """The factor (0..1) applied to clear-sky PV in each interval (see the module docstring)."""
    n = len(starts)
    level = scenario.cloud.level
    if level == 0 or n == 0:
        return np.ones(n)
    rng = np.random.default_rng(_seed(scenario, _CLOUD))
    cover = level * rng.uniform(0.0, 1.0, size=scenario.period.days)
    shocks = rng.standard_normal(n)
    phi = math.exp(-scenario.period.interval_seconds / _CLOUD_CORRELATION_S)
    scale = math.sqrt(1.0 - phi * phi)
    noise = np.empty(n)
    noise[0] = shocks[0]
    for t in range(1, n):
        noise[t] = phi * noise[t - 1] + scale * shocks[t]
    zone = ZoneInfo(scenario.location.timezone)
    first = scenario.period.start
    day = np.array([(_dt.datetime.fromtimestamp(s, zone).date() - first).days for s in starts])
    c = cover[day]
    return np.clip(1.0 - c + 0.5 * c * noise, 0.0, 1.0)


def _annual_kwh(scenario: Scenario, index: int) -> float:
    h = scenario.households
    if h.annual_kwh_spread == 0:
        return h.annual_kwh
    sigma = math.sqrt(math.log1p(h.annual_kwh_spread**2))
    draw = np.random.default_rng(_seed(scenario, _ANNUAL, index)).lognormal(-0.5 * sigma * sigma, sigma)
    return round(h.annual_kwh * float(draw), 1)


def build_profiles(scenario: Scenario) -> CommunityProfiles:
    """Every participant's per-interval Wh for the scenario's period (deterministic for its seed)."""
    period, site, h = scenario.period, scenario.location.site, scenario.households
    interval = period.interval_seconds
    starts = interval_starts(period.start, period.days, interval, site.tz)
    clouds = cloud_factors(scenario, starts)

    def pv(capacity_w: int, tilt: float, azimuth: float) -> np.ndarray:
        clear = np.asarray(pv_export_wh(capacity_w, starts, interval, site, tilt, azimuth), dtype=np.int64)
        return np.floor(clear * clouds).astype(np.int64)

    participants: list[Participant] = []
    zeros = (0,) * len(starts)
    if scenario.plant is not None:
        plant = scenario.plant
        plant_wh = tuple(int(v) for v in pv(plant.capacity_w, plant.tilt, plant.azimuth))
        participants.append(Participant(PLANT_NAME, "producer", False, plant.capacity_w, 0.0,
                                        zeros, plant_wh, zeros, plant_wh))

    rooftop = h.rooftop
    rooftop_wh = pv(rooftop.capacity_w, rooftop.tilt, rooftop.azimuth) if rooftop and rooftop.count else None
    width = max(2, len(str(h.count)))
    for i in range(1, h.count + 1):
        annual = _annual_kwh(scenario, i)
        noise_seed = int(_seed(scenario, _CONSUMPTION, i).generate_state(1, np.uint64)[0])
        load = np.asarray(household_import_wh(annual, starts, interval, noise_seed, h.noise, tz=site.tz),
                          dtype=np.int64)
        prosumer = rooftop_wh is not None and i <= h.rooftops
        production = rooftop_wh if prosumer and rooftop_wh is not None else np.zeros_like(load)
        net = load - production
        participants.append(Participant(
            name=f"household-{i:0{width}d}",
            role="prosumer" if prosumer else "consumer",
            energy_poor=i > h.count - h.energy_poor,
            pv_w=rooftop.capacity_w if prosumer else 0,  # type: ignore[union-attr]
            annual_kwh=annual,
            load_wh=tuple(load.tolist()),
            pv_wh=tuple(production.tolist()),
            import_wh=tuple(np.maximum(net, 0).tolist()),
            export_wh=tuple(np.maximum(-net, 0).tolist()),
        ))
    return CommunityProfiles(scenario, tuple(starts), interval, tuple(clouds.tolist()), tuple(participants))
